"""private_key_jwt client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9), black
box: clients registered with public keys (tessera client add --auth-method private_key_jwt
--jwks-file / --jwks-uri) authenticate at /token, /device_authorization, /introspect and /revoke
with a client_assertion they signed; every refusal is a plain invalid_client.
docs/security.md rows 90-95."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tessera_harness import PKI, cli_ok, run_cli

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "device_code"  # the CLI's name of the grant


def b64(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return b64(n.to_bytes(size, "big"))


class Key:
    """A device's key pair: its public JWK and signing."""

    def __init__(self, alg, kid=None):
        self.alg = alg
        self.kid = kid if kid is not None else "k-" + uuid.uuid4().hex[:8]
        if alg == "ES256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            pub = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256", "x": uint(pub.x, 32), "y": uint(pub.y, 32)}
        elif alg in ("RS256", "PS256"):
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pub = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "n": uint(pub.n), "e": uint(pub.e)}
        else:
            self.priv = ed25519.Ed25519PrivateKey.generate()
            raw = self.priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
        if self.kid:
            self.jwk["kid"] = self.kid
        self.jwk["alg"] = alg

    def sign(self, data):
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if self.alg == "RS256":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self.alg == "PS256":
            return self.priv.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                    salt_length=32), hashes.SHA256())
        return self.priv.sign(data)

    def private_jwk(self):
        """The JWK with its private part (what a careless admin might register)."""
        j = dict(self.jwk)
        if self.alg == "ES256":
            j["d"] = uint(self.priv.private_numbers().private_value, 32)
        elif self.alg == "EdDSA":
            j["d"] = b64(self.priv.private_bytes(serialization.Encoding.Raw,
                                                 serialization.PrivateFormat.Raw,
                                                 serialization.NoEncryption()))
        else:
            j["d"] = uint(self.priv.private_numbers().d)
        return j


def jws(header, claims, signer=None, sig=None):
    h = b64(json.dumps(header))
    p = b64(json.dumps(claims))
    data = ("%s.%s" % (h, p)).encode()
    if sig is None:
        sig = signer(data) if signer else b""
    return "%s.%s.%s" % (h, p, b64(sig) if sig else "")


def claims_for(client_id, aud, **over):
    now = int(time.time())
    c = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
         "jti": uuid.uuid4().hex}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def assertion(key, client_id, aud, header=None, **over):
    h = {"alg": key.alg, "kid": key.kid} if key.kid else {"alg": key.alg}
    h.update(header or {})
    h = {k: v for k, v in h.items() if v is not None}
    return jws(h, claims_for(client_id, aud, **over), key.sign)


def write_jwks(d, name, jwks):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(jwks, f)
    return path


def register(srv, client_id, keys=None, jwks_uri=None, grants=("client_credentials",),
             scope="telemetry"):
    args = ["client", "add", client_id, "--auth-method", "private_key_jwt", "--scope", scope]
    for g in grants:
        args += ["--grant", g]
    if keys is not None:
        args += ["--jwks-file", write_jwks(srv.dir, client_id + ".jwks",
                                           {"keys": [k.jwk for k in keys]})]
    if jwks_uri:
        args += ["--jwks-uri", jwks_uri]
    out = cli_ok(args, db=srv.db)
    assert out.get("client_id") == client_id and "client_secret" not in out, out
    return out


KEYS = {}


def fresh(srv, key):
    """A new client registered with key, on the running daemon: each refusal test fails its
    own client, so that none reaches the guessing limit for client authentication (10 failures
    per client and address answer 429)."""
    cid = "x-" + uuid.uuid4().hex[:10]
    register(srv, cid, [key])
    return cid


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new()
    s.init()
    for alg in ("ES256", "RS256", "PS256", "EdDSA"):
        KEYS[alg] = Key(alg)
        register(s, "dev-" + alg.lower(), [KEYS[alg]])
    KEYS["nokid"] = Key("ES256", kid="")
    register(s, "dev-nokid", [KEYS["nokid"]])
    KEYS["dev"] = Key("ES256")
    register(s, "dev", [KEYS["dev"]], grants=("client_credentials", DEVICE_GRANT),
             scope="telemetry introspect")
    s.add_client("secret-app", scope="telemetry")
    return s.start()


def token_with(srv, a, client_id=None, extra=(), headers=None):
    data = [("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a)]
    if client_id:
        data.append(("client_id", client_id))
    return srv.post("/token", data + list(extra), headers=headers)


def works(srv, key, cid):
    """The positive control of a refusal test: the same client with a right assertion."""
    r = token_with(srv, assertion(key, cid, srv.issuer))
    assert r.status_code == 200, r.text


def refused(r):
    assert r.status_code == 401, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == "invalid_client", body
    # no detail that helps an attacker: one description for every failure
    assert body.get("error_description", "client authentication failed") == \
        "client authentication failed", body
    return body


# ---------------------------------------------------------------- success

@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_token_with_each_alg(srv, alg):
    """docs/security.md row 91: ES256, RS256, PS256 and EdDSA assertions, aud the issuer."""
    cid = "dev-" + alg.lower()
    r = token_with(srv, assertion(KEYS[alg], cid, srv.issuer))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


def test_token_ed25519_alg_name(srv):
    """RFC 9864's fully-specified "Ed25519" (openid-client's name for it) works like EdDSA."""
    k = KEYS["EdDSA"]
    a = jws({"alg": "Ed25519", "kid": k.kid}, claims_for("dev-eddsa", srv.issuer), k.sign)
    r = token_with(srv, a)
    assert r.status_code == 200, r.text


def test_token_aud_token_endpoint_and_array_and_client_id(srv):
    """aud the token endpoint URL, or an array holding it; client_id sent and equal."""
    k = KEYS["ES256"]
    r = token_with(srv, assertion(k, "dev-es256", srv.url("/token")))
    assert r.status_code == 200, r.text
    r = token_with(srv, assertion(k, "dev-es256", ["https://x.example", srv.issuer]),
                   client_id="dev-es256")
    assert r.status_code == 200, r.text


def test_token_without_kid_tries_each_key(srv):
    r = token_with(srv, assertion(KEYS["nokid"], "dev-nokid", srv.issuer))
    assert r.status_code == 200, r.text


def test_device_introspect_revoke(srv):
    """The three other endpoints of client authentication take the assertion too."""
    k = KEYS["dev"]

    def auth():
        return [("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion(k, "dev", srv.issuer))]
    r = srv.post("/device_authorization", [("scope", "telemetry")] + auth())
    assert r.status_code == 200, r.text
    assert r.json()["device_code"]
    r = srv.post("/token", [("grant_type", "client_credentials")] + auth())
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    r = srv.post("/introspect", [("token", tok)] + auth())
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    r = srv.post("/revoke", [("token", tok)] + auth())
    assert r.status_code == 200, r.text
    r = srv.post("/introspect", [("token", tok)] + auth())
    assert r.status_code == 200 and r.json()["active"] is False, r.text


# ---------------------------------------------------------------- refusals

def test_replay_refused(srv):
    """docs/security.md row 92: a jti is used once."""
    k = KEYS["ES256"]
    cid = fresh(srv, k)
    a = assertion(k, cid, srv.issuer)
    assert token_with(srv, a).status_code == 200
    refused(token_with(srv, a))
    # the same jti in a new assertion too; another client may use it
    j = uuid.uuid4().hex
    assert token_with(srv, assertion(k, cid, srv.issuer, jti=j)).status_code == 200
    refused(token_with(srv, assertion(k, cid, srv.issuer, jti=j)))
    assert token_with(srv, assertion(k, fresh(srv, k), srv.issuer, jti=j)).status_code == 200


def test_replay_refused_after_restart(fresh_factory):
    """docs/security.md row 92: the jti record survives a restart of the daemon."""
    s = fresh_factory.new()
    s.init()
    k = Key("ES256")
    register(s, "dev", [k])
    s.start()
    a = assertion(k, "dev", s.issuer)
    assert token_with(s, a).status_code == 200
    s.stop()
    s.start(port=s.port)
    refused(token_with(s, a))
    assert token_with(s, assertion(k, "dev", s.issuer)).status_code == 200


@pytest.mark.parametrize("case", [
    "wrong_aud", "aud_other_endpoint", "expired", "exp_too_far", "no_exp", "missing_jti",
    "iss_not_sub", "sub_other_client", "client_id_differs", "nbf_future", "iat_future"])
def test_claim_refusals(srv, case):
    """docs/security.md row 92: each claim rule alone."""
    k, now = KEYS["ES256"], int(time.time())
    cid = fresh(srv, k)
    over = {
        "wrong_aud": {"aud": "https://other.example"},
        "aud_other_endpoint": {"aud": srv.url("/introspect")},
        "expired": {"exp": now - 120, "iat": now - 180},
        "exp_too_far": {"exp": now + 3600},
        "no_exp": {"exp": None},
        "missing_jti": {"jti": None},
        "iss_not_sub": {"iss": "someone-else"},
        "sub_other_client": {"sub": "dev-es256"},
        "client_id_differs": {},
        "nbf_future": {"nbf": now + 600},
        "iat_future": {"iat": now + 600},
    }[case]
    aud = over.pop("aud", srv.issuer)
    a = assertion(k, cid, aud, **over)
    refused(token_with(srv, a, client_id="dev-es256" if case == "client_id_differs" else None))
    works(srv, k, cid)


def test_alg_none_refused(srv):
    """docs/security.md row 91: alg none, with and without the registered kid."""
    k = KEYS["ES256"]
    cid = fresh(srv, k)
    for h in ({"alg": "none"}, {"alg": "none", "kid": k.kid}):
        refused(token_with(srv, jws(h, claims_for(cid, srv.issuer))))
    assert token_with(srv, assertion(k, cid, srv.issuer)).status_code == 200


def test_hmac_with_public_key_refused(srv):
    """docs/security.md row 91: the classic confusion, HS256 keyed with the public key in
    every form a confused verifier might use (the JWK's JSON, the JWK Set, x, the PEM)."""
    k = KEYS["ES256"]
    pem = k.priv.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    secrets = [json.dumps(k.jwk).encode(), json.dumps({"keys": [k.jwk]}).encode(),
               k.jwk["x"].encode(), pem]
    for secret in secrets:
        cid = fresh(srv, k)
        for h in ({"alg": "HS256", "kid": k.kid}, {"alg": "HS256"}):
            a = jws(h, claims_for(cid, srv.issuer),
                    lambda d: hmac.new(secret, d, hashlib.sha256).digest())
            refused(token_with(srv, a))
        works(srv, k, cid)


def test_wrong_key_refused(srv):
    """docs/security.md row 91: signed by a key not registered (its kid, the registered kid, no
    kid), and by another client's key."""
    other = Key("ES256")
    cid = fresh(srv, KEYS["ES256"])
    refused(token_with(srv, assertion(other, cid, srv.issuer)))
    refused(token_with(srv, assertion(other, cid, srv.issuer, header={"kid": KEYS["ES256"].kid})))
    refused(token_with(srv, assertion(other, cid, srv.issuer, header={"kid": None})))
    refused(token_with(srv, assertion(KEYS["RS256"], cid, srv.issuer)))
    works(srv, KEYS["ES256"], cid)


def test_unknown_kid_refused(srv):
    k = KEYS["ES256"]
    cid = fresh(srv, k)
    refused(token_with(srv, assertion(k, cid, srv.issuer, header={"kid": "nope"})))
    works(srv, k, cid)


def test_alg_not_fitting_key_refused(srv):
    """docs/security.md row 91: the header's alg must be the key's: an RS256 assertion from
    the RS256 client with PS256 in its header, an ES256 one called EdDSA."""
    k = KEYS["RS256"]
    cid = fresh(srv, k)
    refused(token_with(srv, jws({"alg": "PS256", "kid": k.kid}, claims_for(cid, srv.issuer),
                                k.sign)))
    k = KEYS["ES256"]
    cid = fresh(srv, k)
    refused(token_with(srv, jws({"alg": "EdDSA", "kid": k.kid}, claims_for(cid, srv.issuer),
                                k.sign)))
    works(srv, k, cid)


def test_unknown_client_and_secret_client_refused(srv):
    k = KEYS["ES256"]
    refused(token_with(srv, assertion(k, "nobody", srv.issuer)))
    refused(token_with(srv, assertion(k, "secret-app", srv.issuer)))
    works(srv, k, fresh(srv, k))


def test_private_key_jwt_client_cannot_use_a_secret(srv):
    """docs/security.md row 90: nothing secret about the device is stored: no secret works."""
    r = srv.post("/token", [("grant_type", "client_credentials"), ("client_id", "dev-es256"),
                            ("client_secret", "")])
    assert r.status_code == 401, r.text
    r = srv.post("/token", [("grant_type", "client_credentials")],
                 headers={"Authorization": "Basic " + b64("dev-es256:")})
    assert r.status_code == 401, r.text
    works(srv, KEYS["ES256"], "dev-es256")


def test_two_methods_at_once_refused(srv):
    """An assertion with Basic or a client_secret is invalid_request (RFC 6749 §2.3)."""
    a = assertion(KEYS["ES256"], "dev-es256", srv.issuer)
    sec = srv.clients["secret-app"]
    r = token_with(srv, a, headers={"Authorization": sec.basic()})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    r = token_with(srv, a, extra=[("client_secret", "x")])
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    r = srv.post("/token", [("grant_type", "client_credentials"), ("client_assertion", a)])
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    r = srv.post("/token", [("grant_type", "client_credentials"),
                            ("client_assertion_type", "urn:x"), ("client_assertion", a)])
    refused(r)
    assert token_with(srv, a).status_code == 200  # the same assertion, alone


def test_garbage_assertions_refused(srv):
    cid = fresh(srv, KEYS["ES256"])
    for a in ("", "x", "a.b.c", "..", "e30.e30.", "e30." + b64('{"sub":"%s"}' % cid) + ".AA",
              "x" * 20000):
        r = token_with(srv, a)
        assert r.status_code in (400, 401), (a[:30], r.text)
        assert r.json()["error"] in ("invalid_client", "invalid_request"), r.text
    works(srv, KEYS["ES256"], cid)


# ---------------------------------------------------------------- registration

def test_registration_refuses_private_and_symmetric_keys(srv, tdir):
    """docs/security.md row 93: a JWK Set with a private part, a symmetric key, an unknown kty,
    or no keys is refused; the client is not created."""
    bad = [
        {"keys": [Key("ES256").private_jwk()]},
        {"keys": [Key("RS256").private_jwk()]},
        {"keys": [Key("EdDSA").private_jwk()]},
        {"keys": [{"kty": "oct", "k": b64(b"0123456789abcdef0123456789abcdef")}]},
        {"keys": [{"kty": "XYZ", "x": "AA"}]},
        {"keys": []},
        {"nokeys": True},
    ]
    for i, jwks in enumerate(bad):
        path = write_jwks(tdir, "bad%d.jwks" % i, jwks)
        r = run_cli(["client", "add", "bad-%d" % i, "--auth-method", "private_key_jwt",
                     "--grant", "client_credentials", "--jwks-file", path], db=srv.db)
        assert r.rc != 0, (jwks, r)
        assert run_cli(["client", "show", "bad-%d" % i], db=srv.db).rc != 0
    r = run_cli(["client", "add", "bad-uri", "--auth-method", "private_key_jwt",
                 "--jwks-uri", "http://device.example/jwks"], db=srv.db)
    assert r.rc != 0, r


# ---------------------------------------------------------------- jwks_uri

class _JwksHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.hits += 1
        body = json.dumps(self.server.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def jwks_server(tdir):
    pki = PKI(tdir)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pki.ec)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.hits = 0
    httpd.jwks = {"keys": []}
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    httpd.url = "https://localhost:%d/jwks.json" % httpd.server_address[1]
    httpd.ca = pki.ca
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_jwks_uri_fetched_cached_and_refetched_on_new_kid(fresh_factory, jwks_server):
    """docs/security.md row 94: the set is fetched over https, cached (one fetch for many
    assertions), fetched again for a kid it lacks (key rotation)."""
    k1, k2 = Key("ES256"), Key("EdDSA")
    jwks_server.jwks = {"keys": [k1.jwk]}
    s = fresh_factory.new(config={"server": {"jwks_ca_file": jwks_server.ca}})
    s.init()
    register(s, "dev", jwks_uri=jwks_server.url)
    s.start()
    for _ in range(3):
        assert token_with(s, assertion(k1, "dev", s.issuer)).status_code == 200
    assert jwks_server.hits == 1
    jwks_server.jwks = {"keys": [k1.jwk, k2.jwk]}
    r = token_with(s, assertion(k2, "dev", s.issuer))
    assert r.status_code == 200, r.text
    assert jwks_server.hits == 2
    # an unknown kid again right away: refused without another fetch (at most one in 30 s)
    refused(token_with(s, assertion(Key("ES256"), "dev", s.issuer)))
    assert jwks_server.hits == 2


def test_jwks_uri_unreachable_is_invalid_client(fresh_factory, jwks_server):
    """docs/security.md row 94: a fetch that fails (here: a certificate the daemon does not
    trust) is invalid_client, and the daemon keeps answering."""
    k = Key("ES256")
    jwks_server.jwks = {"keys": [k.jwk]}
    s = fresh_factory.new(config={"server": {"jwks_ca_file": "/etc/ssl/certs/ca-certificates.crt"}})
    s.init()
    register(s, "dev", jwks_uri=jwks_server.url)
    s.start()
    a = assertion(k, "dev", s.issuer)
    refused(token_with(s, a))
    assert jwks_server.hits == 0
    assert s.get("/healthz").status_code == 200
    # the control: trusting the test CA, the same assertion works
    s.stop()
    with open(s.config_path, "w") as f:
        f.write("[server]\njwks_ca_file = %s\n" % jwks_server.ca)
    s.start(port=s.port)
    assert token_with(s, a).status_code == 200
    assert jwks_server.hits == 1
