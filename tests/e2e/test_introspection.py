"""POST /introspect (RFC 7662): who may call it, and exactly {"active": false} for bad tokens."""
import json
import socket
import threading
import time

import pytest
import requests

from tessera_harness import (Client, b64url_encode, forge_hs256, forge_none, http_timeout,
                             jwt_parts, public_pem, sign_jwt, signing_key_from_db, t)

INACTIVE = {"active": False}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        {"client_id": "rs", "scope": "introspect"},
        {"client_id": "dev-a", "scope": "mqtt:pub:a/# telemetry"},
        {"client_id": "dev-b", "scope": "mqtt:pub:b/#"},
        {"client_id": "paused", "scope": "mqtt:pub:p/#"},
        {"client_id": "gone", "scope": "mqtt:pub:g/#"},
    ])


@pytest.fixture(scope="module")
def key(srv):
    """(kid, pem) of the daemon's signing key, read from its database."""
    tok = srv.access_token(srv.clients["dev-a"])
    kid = jwt_parts(tok)[0]["kid"]
    alg, pem = signing_key_from_db(srv.db, kid)
    assert alg == "ES256"
    return kid, pem


def claims_for(srv, client_id="dev-a", **over):
    """The claims the daemon gives client_id's own tokens, with its client record as a token it
    issued shows it (after the "." of its jti)."""
    now = int(time.time())
    jti = jwt_parts(srv.access_token(srv.clients[client_id]))[1]["jti"]
    record = jti[jti.index("."):] if "." in jti else ""
    c = {"iss": srv.issuer, "sub": client_id, "aud": "mqtt", "client_id": client_id,
         "scope": "mqtt:pub:a/x", "iat": now - 10, "exp": now + 600,
         "jti": b64url_encode(bytes(range(16)) + str(time.monotonic_ns()).encode()) + record}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def assert_inactive(srv, token, caller=None):
    r = srv.introspect(caller or srv.clients["rs"], token)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json() == INACTIVE, r.text
    assert "no-store" in r.headers.get("Cache-Control", "")


def assert_active(srv, token, caller=None):
    r = srv.introspect(caller or srv.clients["rs"], token)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json().get("active") is True, r.text
    return r.json()


# ---------------------------------------------------------------- row 30

def test_row30_no_client_authentication_is_401(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    r = srv.introspect(None, tok)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"


def test_row30_wrong_secret_is_401(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    for auth in ("basic", "post"):
        r = srv.introspect(Client("rs", "not-the-secret"), tok, auth=auth)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_client"


def test_row30_client_without_introspect_right_is_403_access_denied(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    for caller in (srv.clients["dev-a"], srv.clients["dev-b"]):
        r = srv.introspect(caller, tok)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "access_denied"
        assert "active" not in r.json()


def test_row30_get_is_405(srv):
    r = requests.get(srv.url("/introspect"), headers={"Authorization": srv.clients["rs"].basic()},
                     timeout=http_timeout())
    assert r.status_code == 405
    assert "POST" in r.headers.get("Allow", "")


def test_missing_token_is_invalid_request(srv):
    r = srv.introspect(srv.clients["rs"], None)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_active_token_has_rfc7662_fields(srv, auth):
    body = srv.token(srv.clients["dev-a"], scope="mqtt:pub:a/b telemetry").json()
    tok = body["access_token"]
    claims = jwt_parts(tok)[1]
    r = srv.introspect(srv.clients["rs"], tok, auth=auth)
    assert r.status_code == 200
    d = r.json()
    assert d["active"] is True
    assert set(d["scope"].split()) == {"mqtt:pub:a/b", "telemetry"}
    assert d["client_id"] == "dev-a"
    assert d["sub"] == "dev-a"
    assert d["exp"] == claims["exp"] and d["iat"] == claims["iat"]
    assert d["iss"] == srv.issuer
    assert d["aud"] in ("mqtt", ["mqtt"])
    assert d["jti"] == claims["jti"]
    assert d["token_type"] == "Bearer"
    assert "username" not in d


def test_row19_introspect_replies_are_no_store_json(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    for r in (srv.introspect(srv.clients["rs"], tok),
              srv.introspect(srv.clients["rs"], "garbage"),
              srv.introspect(None, tok),
              srv.introspect(srv.clients["dev-b"], tok),
              srv.introspect(srv.clients["rs"], None)):
        assert "no-store" in r.headers.get("Cache-Control", ""), (r.status_code, r.headers)
        assert r.headers.get("Pragma") == "no-cache", (r.status_code, r.headers)
        assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"


# ---------------------------------------------------------------- row 31

def test_self_signed_valid_token_is_active_control(srv, key):
    """Control for the forged-token tests below: the same signing path gives an active token."""
    kid, pem = key
    tok = sign_jwt(pem, kid, claims_for(srv))
    d = assert_active(srv, tok)
    assert d["client_id"] == "dev-a"


def test_row31_expired_token_is_inactive(srv, key):
    kid, pem = key
    now = int(time.time())
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, iat=now - 7200, exp=now - 600)))
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, iat=now - 7200, exp=now - 3600)))


def test_row31_not_yet_valid_nbf_is_inactive(srv, key):
    kid, pem = key
    now = int(time.time())
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, nbf=now + 600, exp=now + 1200)))


def test_row31_iat_in_the_future_is_inactive(srv, key):
    kid, pem = key
    now = int(time.time())
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, iat=now + 600, exp=now + 1200)))


def test_row31_revoked_token_is_inactive(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    assert_active(srv, tok)
    r = srv.revoke(srv.clients["dev-a"], tok)
    assert r.status_code == 200, r.text
    assert_inactive(srv, tok)


def test_foreign_issuer_is_inactive(srv, key):
    kid, pem = key
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, iss="http://evil.example")))
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv, iss=srv.issuer + "/")))


def test_missing_exp_is_inactive(srv, key):
    kid, pem = key
    c = claims_for(srv)
    del c["exp"]
    assert_inactive(srv, sign_jwt(pem, kid, c))


def test_bad_signature_is_inactive(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    h, p, s = tok.split(".")
    flipped = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
    assert_inactive(srv, "%s.%s.%s" % (h, p, flipped))
    # signature of another token on this payload
    other = srv.access_token(srv.clients["dev-b"])
    assert_inactive(srv, "%s.%s.%s" % (h, p, other.split(".")[2]))
    # payload changed under the original signature
    claims = jwt_parts(tok)[1]
    claims["scope"] = "mqtt:pub:#"
    assert_inactive(srv, "%s.%s.%s" % (h, b64url_encode(json.dumps(claims)), s))


@pytest.mark.parametrize("garbage", [
    "x", "a.b.c", "...", "eyJ.eyJ.eyJ", "not a token at all", "A" * 20000,
    "eyJhbGciOiJFUzI1NiJ9.e30.", b64url_encode("{}") + "." + b64url_encode("[]") + ".AAAA",
], ids=lambda v: v[:16] if len(v) < 64 else "20KB")
def test_garbage_token_is_inactive(srv, garbage):
    assert_inactive(srv, garbage)


# ---------------------------------------------------------------- row 32

@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "foo", "id_token", ""])
def test_row32_token_type_hint_is_only_a_hint(srv, hint):
    tok = srv.access_token(srv.clients["dev-a"])
    r = srv.introspect(srv.clients["rs"], tok, hint=hint)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is True


# ---------------------------------------------------------------- row 34 / 35

def test_row34_alg_none_is_inactive(srv, key):
    kid, _pem = key
    c = claims_for(srv)
    assert_inactive(srv, forge_none(c, kid))
    assert_inactive(srv, forge_none(c, kid) + "AAAA")
    h = b64url_encode(json.dumps({"alg": "None", "typ": "at+jwt", "kid": kid}))
    assert_inactive(srv, "%s.%s." % (h, b64url_encode(json.dumps(c))))


def test_row34_hs256_signed_with_our_public_key_is_inactive(srv, key):
    kid, pem = key
    pub = public_pem(pem)
    c = claims_for(srv)
    jwk = [k for k in srv.jwks()["keys"] if k["kid"] == kid][0]
    for secret in (pub, pub.strip(), pub.strip() + b"\n", json.dumps(jwk).encode(),
                   jwk["x"].encode()):
        assert_inactive(srv, forge_hs256(c, kid, secret))


@pytest.mark.parametrize("kid", ["../../dev/null", "' OR 1=1--", "K" * 10240, "unknown-kid", "",
                                 "/etc/passwd", "%00"],
                         ids=lambda v: v[:16] if len(v) < 64 else "10KB")
def test_row35_odd_kid_is_refused_never_500(srv, key, kid):
    _kid, pem = key
    tok = sign_jwt(pem, kid, claims_for(srv))
    r = srv.introspect(srv.clients["rs"], tok)
    assert r.status_code in (200, 413), r.text
    if r.status_code == 200:
        assert r.json() == INACTIVE


def test_row35_kid_number_instead_of_string_is_inactive(srv, key):
    _kid, pem = key
    tok = sign_jwt(pem, 12345, claims_for(srv))
    assert_inactive(srv, tok)


class _Listener:
    """A TCP listener that records whether anyone connected (for jku/x5u fetch checks)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.hits += 1
                c.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stop = True
        self.th.join(timeout=5)
        self.sock.close()


@pytest.mark.parametrize("hdr", ["jku", "x5u", "jwk"])
def test_row35_jku_x5u_jwk_headers_refused_and_fetch_nothing(srv, key, hdr):
    kid, pem = key
    lst = _Listener()
    try:
        url = "http://127.0.0.1:%d/jwks" % lst.port
        value = url
        if hdr == "jwk":
            value = [k for k in srv.jwks()["keys"] if k["kid"] == kid][0]
        tok = sign_jwt(pem, kid, claims_for(srv), extra_header={hdr: value})
        assert_inactive(srv, tok)
        time.sleep(0.3)
        assert lst.hits == 0, "the daemon connected to the %s URL" % hdr
    finally:
        lst.close()


def test_token_signed_by_unknown_key_is_inactive(srv):
    from authlib.jose import JsonWebKey
    other = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    pem = other.as_pem(is_private=True)
    kid = jwt_parts(srv.access_token(srv.clients["dev-a"]))[0]["kid"]
    assert_inactive(srv, sign_jwt(pem, kid, claims_for(srv)))
    assert_inactive(srv, sign_jwt(pem, "attacker-kid", claims_for(srv)))


# ---------------------------------------------------------------- client state

def wait_inactive(srv, tok, limit=3.0):
    deadline = time.monotonic() + t(limit)
    while True:
        d = srv.introspect(srv.clients["rs"], tok).json()
        if d == INACTIVE or time.monotonic() > deadline:
            return d
        time.sleep(0.1)


def test_disabled_client_token_is_inactive(srv):
    tok = srv.access_token(srv.clients["paused"])
    assert_active(srv, tok)
    r = srv.cli(["client", "disable", "paused"])
    assert r.rc == 0, r
    assert wait_inactive(srv, tok) == INACTIVE
    r = srv.token(srv.clients["paused"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_removed_client_token_is_inactive(srv):
    tok = srv.access_token(srv.clients["gone"])
    assert_active(srv, tok)
    r = srv.cli(["client", "rm", "gone"])
    assert r.rc == 0, r
    assert wait_inactive(srv, tok) == INACTIVE
    r = srv.token(srv.clients["gone"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_introspect_caller_that_is_disabled_is_401(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "rs2", "scope": "introspect"},
                                     {"client_id": "d", "scope": "x"}])
    tok = s.access_token(s.clients["d"])
    assert s.is_active(s.clients["rs2"], tok) is True
    assert s.cli(["client", "disable", "rs2"]).rc == 0
    deadline = time.monotonic() + t(3)
    while True:
        r = s.introspect(s.clients["rs2"], tok)
        if r.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
