"""Enrolling a fleet (issue 22 §4), black box: enrollment tokens made with the CLI, devices that
register themselves at POST /register (RFC 7591) with their own public key and manage their
registration at /register/ID (RFC 7592), and `tessera device provision`.
docs/security.md rows 107-111 (docs/enrollment.md)."""
import json
import os
import stat
import subprocess
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scim_client import ADMIN_CLIENTS, Scim, err, ok, op
from tessera_harness import INACTIVE, b64url_encode, http_timeout, run_cli, sign_jwt, t

SCOPE = "mqtt:pub:devices/${clientid}/# mqtt:sub:devices/${clientid}/cmd/#"


def device_key():
    """A new ES256 key: (private PEM, public JWK with its kid)."""
    k = ec.generate_private_key(ec.SECP256R1())
    nums = k.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "kid": uuid.uuid4().hex[:8], "alg": "ES256",
           "use": "sig", "x": b64url_encode(nums.x.to_bytes(32, "big")),
           "y": b64url_encode(nums.y.to_bytes(32, "big"))}
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode("ascii")
    return pem, jwk


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new(name="enroll")
    s.init()
    for c in ADMIN_CLIENTS:
        c = dict(c)
        s.add_client(c.pop("client_id"), **c)
    return s.start()


def enrollment(srv, *extra, uses=100, expires="1h", scope=SCOPE):
    args = ["enrollment", "add", "--max-uses", str(uses), "--expires", expires]
    if scope is not None:
        args += ["--scope", scope]
    return srv.cli(args + list(extra)).json()


def register(srv, token, body, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(srv.url("/register"), data=data, headers=headers,
                         timeout=http_timeout())


def metadata(jwk=None, **kw):
    md = {"client_name": "sensor", "jwks": {"keys": [jwk or device_key()[1]]}}
    md.update(kw)
    return md


def manage(srv, method, client_id, token, body=None):
    headers = {"Authorization": "Bearer " + token} if token is not None else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(method, srv.url("/register/" + client_id), headers=headers,
                            data=None if body is None else json.dumps(body),
                            timeout=http_timeout())


def uses(srv, eid):
    return srv.cli(["enrollment", "show", eid]).json()["uses"]


def assert_error(r, status, error):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["error"] == error, r.text
    assert r.headers["Cache-Control"] == "no-store"


def assertion_token(srv, client_id, pem, kid, scope=None):
    """POST /token with client credentials and a private_key_jwt assertion (RFC 7523 §2.2)
    signed by the device's key."""
    now = int(time.time())
    jws = sign_jwt(pem, kid, {"iss": client_id, "sub": client_id, "aud": srv.url("/token"),
                              "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}, typ=None)
    data = [("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", jws)]
    if scope is not None:
        data.append(("scope", scope))
    return srv.post("/token", data)


# ------------------------------------------------------------------ enrollment tokens (row 107)


def test_row107_enrollment_token_is_shown_once_and_kept_only_as_a_hash(srv):
    """docs/security.md row 107: 256 random bits, printed once; lists never show it; the database
    holds only its SHA-256."""
    e = enrollment(srv, "--name", "line 3")
    eid, token = e["id"], e["enrollment_token"]
    assert token.startswith(eid + ".")
    secret = token[len(eid) + 1:]
    assert len(secret) == 43 and len(b64url_encode(b"x" * 32)) == 43
    assert enrollment(srv)["enrollment_token"] != token
    listed = srv.cli(["enrollment", "list"]).json()
    mine = [x for x in listed if x["id"] == eid]
    assert mine and mine[0]["name"] == "line 3" and mine[0]["state"] == "active", listed
    assert mine[0]["auth_method"] == "private_key_jwt" and mine[0]["uses"] == 0
    assert secret not in json.dumps(listed)
    assert secret not in srv.cli(["enrollment", "show", eid]).stdout
    r = register(srv, token, metadata())
    assert r.status_code == 201, r.text
    rat = r.json()["registration_access_token"]
    for name in os.listdir(srv.dir):
        if name.startswith("tessera.db"):
            with open(os.path.join(srv.dir, name), "rb") as f:
                raw = f.read()
            assert secret.encode() not in raw and rat.encode() not in raw, name


def test_row107_template_never_allows_a_shared_secret_or_a_bad_value(srv):
    """docs/security.md row 107: a template's method is private_key_jwt or
    self_signed_tls_client_auth; other values, unknown grants, bad scopes, missing limits are
    refused by the CLI."""
    for extra in (["--auth-method", "client_secret_basic"], ["--auth-method", "none"],
                  ["--auth-method", "client_secret_post"], ["--auth-method", "tls_client_auth"],
                  ["--grant", "password"], ["--scope", "mqtt:pub:a/#/b"], ["--scope", ""]):
        r = srv.cli(["enrollment", "add", "--max-uses", "5", "--expires", "1d", "--scope",
                     SCOPE] + extra)
        assert r.rc != 0 and not r.stdout.strip(), (extra, r)
    for extra in (["--max-uses", "0", "--expires", "1d"], ["--max-uses", "5", "--expires", "0"],
                  ["--max-uses", "5", "--expires", "3x"], ["--max-uses", "5"],
                  ["--expires", "1d"], ["--max-uses", "-3", "--expires", "1d"]):
        r = srv.cli(["enrollment", "add", "--scope", SCOPE] + extra)
        assert r.rc == 2 and not r.stdout.strip(), (extra, r)
    e = enrollment(srv, "--auth-method", "self_signed_tls_client_auth", "--token-format",
                   "reference", "--grant", "client_credentials", "--grant", "refresh_token")
    shown = srv.cli(["enrollment", "show", e["id"]]).json()
    assert shown["auth_method"] == "self_signed_tls_client_auth"
    assert shown["token_format"] == "reference"
    assert shown["grant_types"] == ["client_credentials", "refresh_token"]


def test_row107_template_file(srv, tdir):
    path = os.path.join(tdir, "template.json")
    with open(path, "w") as f:
        json.dump({"grant_types": ["client_credentials",
                                   "urn:ietf:params:oauth:grant-type:device_code"],
                   "scope": SCOPE, "token_endpoint_auth_method": "private_key_jwt",
                   "token_format": "jwt"}, f)
    e = srv.cli(["enrollment", "add", "--template", path, "--max-uses", "10000", "--expires",
                 "30d"]).json()
    shown = srv.cli(["enrollment", "show", e["id"]]).json()
    assert shown["grant_types"] == ["client_credentials", "device_code"]
    assert shown["scope"] == SCOPE and shown["max_uses"] == 10000
    assert 30 * 86400 - 60 <= shown["expires_at"] - shown["created_at"] <= 30 * 86400
    with open(path, "w") as f:
        json.dump({"token_endpoint_auth_method": "client_secret_basic", "scope": SCOPE}, f)
    r = srv.cli(["enrollment", "add", "--template", path, "--max-uses", "1", "--expires", "1d"])
    assert r.rc == 1 and "never a shared secret" in r.stderr, r


def test_row107_used_up_token_is_invalid_token_and_registers_nothing_more(srv):
    """docs/security.md row 107: after max_uses registrations the token is 401 invalid_token."""
    e = enrollment(srv, uses=2)
    ids = set()
    for _ in range(2):
        r = register(srv, e["enrollment_token"], metadata())
        assert r.status_code == 201, r.text
        ids.add(r.json()["client_id"])
    assert len(ids) == 2
    r = register(srv, e["enrollment_token"], metadata())
    assert_error(r, 401, "invalid_token")
    assert "invalid_token" in r.headers["WWW-Authenticate"]
    assert "used up" in r.json()["error_description"]
    shown = srv.cli(["enrollment", "show", e["id"]]).json()
    assert shown["uses"] == 2 and shown["state"] == "used up", shown


def test_row107_racing_registrations_never_exceed_max_uses(srv):
    from tessera_harness import all_at_once
    e = enrollment(srv, uses=3)
    codes = all_at_once(8, lambda i: register(srv, e["enrollment_token"], metadata()).status_code)
    assert sorted(codes) == [201] * 3 + [401] * 5, codes
    assert uses(srv, e["id"]) == 3


def test_row107_expired_token_is_invalid_token(srv):
    """docs/security.md row 107."""
    e = enrollment(srv, expires="1s")
    deadline = time.monotonic() + t(10)
    while time.time() < e["expires_at"] + 1:  # the token's own expiry, then the next second
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = register(srv, e["enrollment_token"], metadata())
    assert_error(r, 401, "invalid_token")
    assert "expired" in r.json()["error_description"]
    assert srv.cli(["enrollment", "show", e["id"]]).json()["state"] == "expired"


def test_row107_revoked_token_is_invalid_token_at_once(srv):
    """docs/security.md row 107: `tessera enrollment revoke` takes effect on the running daemon."""
    e = enrollment(srv)
    assert register(srv, e["enrollment_token"], metadata()).status_code == 201
    shown = srv.cli(["enrollment", "revoke", e["id"]]).json()
    assert shown["state"] == "revoked" and shown["revoked_at"] > 0
    r = register(srv, e["enrollment_token"], metadata())
    assert_error(r, 401, "invalid_token")
    assert "revoked" in r.json()["error_description"]
    assert srv.cli(["enrollment", "revoke", "en-000000000000"]).rc == 1


def test_row107_missing_unknown_or_forged_token_is_invalid_token(srv):
    e = enrollment(srv)
    tok = e["enrollment_token"]
    forged = tok[:-1] + ("A" if tok[-1] != "A" else "B")
    other_id = "en-" + ("0" * 12) + tok[len(e["id"]):]
    for bad in (None, "", "garbage", forged, other_id, tok + "x", tok.upper(),
                "' OR 1=1--", "x" * 1000):
        r = register(srv, bad, metadata())
        assert_error(r, 401, "invalid_token")
    r = requests.post(srv.url("/register"), data=json.dumps(metadata()),
                      headers={"Content-Type": "application/json", "Authorization": "Basic " + tok},
                      timeout=http_timeout())
    assert_error(r, 401, "invalid_token")
    assert uses(srv, e["id"]) == 0


# ------------------------------------------------------------------ registration (row 108)


def test_row108_a_device_registers_itself_and_gets_its_own_client_id(srv):
    """docs/security.md row 108: 201 with the registered metadata, a random client id chosen by
    Tessera, client_id_issued_at, a registration access token and URI, and no secret."""
    e = enrollment(srv)
    _, jwk = device_key()
    before = int(time.time())
    r = register(srv, e["enrollment_token"], metadata(jwk, client_name="Sensor 17",
                                                       client_id="chosen-by-me"))
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    d = r.json()
    cid = d["client_id"]
    assert cid != "chosen-by-me" and not cid.isdigit() and len(cid) >= 20, cid
    assert before - 1 <= d["client_id_issued_at"] <= time.time() + 1
    assert d["client_name"] == "Sensor 17"
    assert d["token_endpoint_auth_method"] == "private_key_jwt"
    assert d["grant_types"] == ["client_credentials"]
    assert d["jwks"] == {"keys": [jwk]}
    assert d["registration_client_uri"] == srv.url("/register/" + cid)
    assert len(d["registration_access_token"]) >= 43
    assert "client_secret" not in d and "client_secret" not in r.text
    # ${clientid} is the client id Tessera chose
    assert set(d["scope"].split()) == {"mqtt:pub:devices/%s/#" % cid,
                                       "mqtt:sub:devices/%s/cmd/#" % cid}, d
    shown = srv.cli(["client", "show", cid]).json()
    assert shown["client_id"] == cid
    assert "secret" not in json.dumps(shown).lower() or "client_secret" not in shown
    other = register(srv, e["enrollment_token"], metadata()).json()["client_id"]
    assert other != cid
    assert uses(srv, e["id"]) == 2


def test_row108_a_registered_device_gets_tokens_with_its_own_key_only(srv):
    """docs/security.md row 108, end to end: a device registered through an enrollment token
    gets an access token with a private_key_jwt assertion signed by its own key, for its own
    topics only; another key, or the device's key once its registration is deleted, gets
    nothing."""
    e = enrollment(srv)
    pem, jwk = device_key()
    d = register(srv, e["enrollment_token"], metadata(jwk)).json()
    cid = d["client_id"]
    r = assertion_token(srv, cid, pem, jwk["kid"])
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    d2 = srv.introspect(srv.clients["admin"], tok).json()
    assert d2["active"] is True and d2["sub"] == d2["client_id"] == cid, d2
    assert set(d2["scope"].split()) == {"mqtt:pub:devices/%s/#" % cid,
                                        "mqtt:sub:devices/%s/cmd/#" % cid}, d2
    r = assertion_token(srv, cid, pem, jwk["kid"], scope="mqtt:pub:#")
    assert r.status_code == 200 and r.json()["scope"] == "mqtt:pub:devices/%s/#" % cid, r.text
    assert_error(assertion_token(srv, cid, pem, jwk["kid"], scope="scim"), 400, "invalid_scope")
    other_pem, _ = device_key()
    assert_error(assertion_token(srv, cid, other_pem, jwk["kid"]), 401, "invalid_client")
    assert manage(srv, "DELETE", cid, d["registration_access_token"]).status_code == 204
    assert_error(assertion_token(srv, cid, pem, jwk["kid"]), 401, "invalid_client")
    assert srv.introspect(srv.clients["admin"], tok).json() == INACTIVE


def test_row108_scope_is_narrowed_to_the_template(srv):
    """docs/security.md row 108: RFC 7591 §2 lets the server register less than asked: a wider
    scope is narrowed to the template's (with ${clientid} filled in) and the answer says what was
    registered; nothing of it allowed is invalid_client_metadata."""
    e = enrollment(srv)
    r = register(srv, e["enrollment_token"], metadata(scope="mqtt:pub:# mqtt:sub:# scim introspect"))
    assert r.status_code == 201, r.text
    cid = r.json()["client_id"]
    assert set(r.json()["scope"].split()) == {"mqtt:pub:devices/%s/#" % cid,
                                              "mqtt:sub:devices/%s/cmd/#" % cid}, r.text
    # narrower than the template: kept as asked
    r = register(srv, e["enrollment_token"], metadata(scope="mqtt:pub:devices/+/temp"))
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == "mqtt:pub:devices/%s/temp" % r.json()["client_id"]
    n = uses(srv, e["id"])
    for wide in ("scim", "mqtt:pub:other/#", "introspect openid", "mqtt:sub:devices/x/#"):
        r = register(srv, e["enrollment_token"], metadata(scope=wide))
        assert_error(r, 400, "invalid_client_metadata")
    assert uses(srv, e["id"]) == n


def test_row108_grant_types_and_method_beyond_the_template_are_refused(srv):
    """docs/security.md row 108: grant types and the auth method must be allowed by the template;
    a shared secret is never registered."""
    e = enrollment(srv)
    for md in (metadata(grant_types=["client_credentials", "refresh_token"]),
               metadata(grant_types=["authorization_code"], redirect_uris=["https://a.example/cb"]),
               metadata(grant_types=["urn:ietf:params:oauth:grant-type:device_code"]),
               metadata(grant_types=["password"]),
               metadata(grant_types=["implicit"]),
               metadata(token_endpoint_auth_method="client_secret_basic"),
               metadata(token_endpoint_auth_method="client_secret_post"),
               metadata(token_endpoint_auth_method="none"),
               metadata(token_endpoint_auth_method="tls_client_auth"),
               metadata(token_endpoint_auth_method="self_signed_tls_client_auth")):
        r = register(srv, e["enrollment_token"], md)
        assert_error(r, 400, "invalid_client_metadata")
        assert "client_secret" not in r.text.replace("client_secret_", "")
    assert uses(srv, e["id"]) == 0
    wide = enrollment(srv, "--grant", "client_credentials", "--grant", "device_code",
                      "--grant", "refresh_token")
    r = register(srv, wide["enrollment_token"], metadata(
        grant_types=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]))
    assert r.status_code == 201, r.text
    assert r.json()["grant_types"] == ["urn:ietf:params:oauth:grant-type:device_code",
                                       "refresh_token"]


BAD_METADATA = [
    ("jwks", {"keys": []}),
    ("jwks", {"keys": "x"}),
    ("jwks", []),
    ("jwks", {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
    ("jwks", {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "private"}]}),
    ("jwks", {"keys": [{"kty": "RSA", "n": "a", "e": "AQAB", "p": "x"}]}),
    ("jwks", {"keys": [{"kty": "EC"}] * 11}),
    ("jwks", {"keys": [{"crv": "P-256"}]}),
    ("jwks_uri", "http://keys.example/jwks"),
    ("jwks_uri", "https://keys.example/jwks#frag"),
    ("jwks_uri", 7),
    ("client_name", 7),
    ("client_name", ""),
    ("client_name", "a\nb"),
    ("client_name", "x" * 201),
    ("scope", 7),
    ("scope", ""),
    ("scope", ["mqtt:pub:a"]),
    ("scope", "mqtt:pub:a/#/b"),
    ("scope", " ".join("mqtt:pub:devices/${clientid}/%d" % i for i in range(40))),
    ("grant_types", "client_credentials"),
    ("grant_types", []),
    ("grant_types", [7]),
    ("token_endpoint_auth_method", 7),
    ("response_types", ["token"]),
    ("response_types", ["code"]),
    ("response_types", "code"),
    ("client_uri", 7),
    ("logo_uri", {"a": 1}),
    ("contacts", "a@b.example"),
    ("contacts", [7]),
    ("token_endpoint_auth_signing_alg", "HS256"),
    ("token_endpoint_auth_signing_alg", "none"),
    ("tls_client_certificate_bound_access_tokens", "yes"),
    ("dpop_bound_access_tokens", 1),
]


def test_row109_malformed_metadata_is_invalid_client_metadata(srv):
    """docs/security.md row 109: every malformed metadata value is 400 invalid_client_metadata
    (RFC 7591 §3.2.2), registers nothing and uses nothing up."""
    e = enrollment(srv, uses=1000)
    for i, (name, value) in enumerate(BAD_METADATA):
        if i % 20 == 19:  # within the limit of registrations per token (row 110)
            assert uses(srv, e["id"]) == 0
            e = enrollment(srv, uses=1000)
        md = metadata()
        md[name] = value
        if name == "jwks_uri":
            del md["jwks"]
        r = register(srv, e["enrollment_token"], md)
        assert r.status_code == 400, (name, value, r.status_code, r.text)
        assert r.json()["error"] == "invalid_client_metadata", (name, value, r.text)
    md = metadata(jwks_uri="https://keys.example/jwks")
    assert_error(register(srv, e["enrollment_token"], md), 400, "invalid_client_metadata")
    md = metadata()
    del md["jwks"]
    assert_error(register(srv, e["enrollment_token"], md), 400, "invalid_client_metadata")
    assert uses(srv, e["id"]) == 0
    # unknown fields are ignored (RFC 7591 §2), nulls count as absent
    r = register(srv, e["enrollment_token"], metadata(x_vendor={"a": 1}, logo_uri=None))
    assert r.status_code == 201, r.text
    assert "x_vendor" not in r.json()


def test_row109_bad_redirect_uris_are_invalid_redirect_uri(srv):
    """docs/security.md row 109."""
    e = enrollment(srv, "--grant", "authorization_code", uses=1000)
    for uris in (None, [], "https://a.example/cb", [7], ["https://a.example/cb#f"],
                 ["javascript:alert(1)"], ["relative/path"], ["https://a.example/\ncb"],
                 ["https://a.example/%zz"], ["https://a.example/cb"] * 11):
        md = metadata(grant_types=["authorization_code"])
        if uris is not None:
            md["redirect_uris"] = uris
        assert_error(register(srv, e["enrollment_token"], md), 400, "invalid_redirect_uri")
    r = register(srv, e["enrollment_token"], metadata(grant_types=["authorization_code"],
                 redirect_uris=["https://a.example/cb"], response_types=["code"]))
    assert r.status_code == 201, r.text
    assert r.json()["redirect_uris"] == ["https://a.example/cb"]
    assert r.json()["response_types"] == ["code"]


def test_row109_a_body_that_is_not_json_is_refused_clearly(srv):
    """docs/security.md row 109: never a 5xx."""
    e = enrollment(srv)
    tok = e["enrollment_token"]
    assert register(srv, tok, "not json").status_code == 400
    assert register(srv, tok, "[1, 2]").json()["error"] == "invalid_request"
    assert register(srv, tok, '{"a": 1, "a": 2}').status_code == 400
    assert register(srv, tok, b'{"client_name": "\xff"}').status_code == 400
    assert register(srv, tok, "{}", content_type="application/x-www-form-urlencoded"
                    ).status_code == 415
    assert register(srv, tok, "\0" * 100).status_code == 400
    r = requests.get(srv.url("/register"), timeout=http_timeout())
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert uses(srv, e["id"]) == 0


# ------------------------------------------------------------------ rate limit (row 110)


def test_row110_registrations_are_limited_per_enrollment_token(fresh_factory):
    """docs/security.md row 110: past a burst, a token's registrations get 429 with Retry-After;
    refused ones count too; another token is not held back."""
    s = fresh_factory.new(name="limits")
    s.init()
    s.start()
    a = enrollment(s, uses=1000)
    b = enrollment(s, uses=1000)
    codes = []
    for i in range(40):
        md = metadata() if i % 2 else {"jwks": 7}
        r = register(s, a["enrollment_token"], md)
        codes.append(r.status_code)
        if r.status_code == 429:
            break
    assert codes[-1] == 429, codes
    assert 25 <= len(codes) - 1 <= 35 and set(codes[:-1]) <= {201, 400}, codes
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"] == "too_many_requests"
    assert register(s, b["enrollment_token"], metadata()).status_code == 201
    # the refused one registered nothing
    assert uses(s, a["id"]) == codes.count(201)
    # and it passes: the wait is bounded, the token works again after it
    deadline = time.monotonic() + t(10)
    while True:
        r = register(s, a["enrollment_token"], metadata())
        if r.status_code == 201:
            break
        assert r.status_code == 429 and time.monotonic() < deadline, r.text
        time.sleep(0.1)


# ------------------------------------------------------------------ RFC 7592 (row 111)


def test_row111_registration_is_read_updated_and_deleted_with_its_own_token_only(srv):
    """docs/security.md row 111: GET/PUT/DELETE /register/ID need that registration's access
    token (401 otherwise, also for an unknown client); PUT replaces the metadata within the
    template; DELETE removes the client."""
    e = enrollment(srv, "--grant", "client_credentials", "--grant", "refresh_token")
    a = register(srv, e["enrollment_token"], metadata(client_name="a")).json()
    b = register(srv, e["enrollment_token"], metadata(client_name="b")).json()
    cid, rat = a["client_id"], a["registration_access_token"]
    for tok in (None, "", "wrong", b["registration_access_token"], e["enrollment_token"],
                rat[:-1]):
        for method in ("GET", "PUT", "DELETE"):
            body = {"client_id": cid, "jwks": a["jwks"]} if method == "PUT" else None
            r = manage(srv, method, cid, tok, body)
            assert_error(r, 401, "invalid_token")
    assert manage(srv, "GET", "dev-nosuchclient0000", rat).status_code == 401
    r = manage(srv, "GET", cid, rat)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["client_id"] == cid and got["client_name"] == "a"
    assert got["registration_client_uri"] == srv.url("/register/" + cid)
    assert "registration_access_token" not in got
    assert got["jwks"] == a["jwks"] and got["scope"] == a["scope"]
    # update: the whole metadata again; a new key, a narrower scope
    _, jwk2 = device_key()
    r = manage(srv, "PUT", cid, rat, {"client_id": cid, "client_name": "a2",
                                      "jwks": {"keys": [jwk2]},
                                      "scope": "mqtt:pub:devices/%s/#" % cid})
    assert r.status_code == 200, r.text
    assert r.json()["jwks"] == {"keys": [jwk2]} and r.json()["client_name"] == "a2"
    assert r.json()["scope"] == "mqtt:pub:devices/%s/#" % cid
    assert manage(srv, "GET", cid, rat).json()["client_name"] == "a2"
    # the other client is untouched
    assert manage(srv, "GET", b["client_id"], b["registration_access_token"]).json()[
        "client_name"] == "b"
    # delete
    r = manage(srv, "DELETE", cid, rat)
    assert r.status_code == 204, r.text
    assert manage(srv, "GET", cid, rat).status_code == 401
    assert srv.cli(["client", "show", cid]).rc == 1


def test_row111_an_update_cannot_go_beyond_the_template(srv):
    """docs/security.md row 111: PUT is checked against the template the client registered under,
    even once its enrollment token is revoked."""
    e = enrollment(srv)
    a = register(srv, e["enrollment_token"], metadata()).json()
    cid, rat = a["client_id"], a["registration_access_token"]
    srv.cli(["enrollment", "revoke", e["id"]])
    base = {"client_id": cid, "jwks": a["jwks"]}
    for extra, error in (({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
                         ({"token_endpoint_auth_method": "client_secret_basic"},
                          "invalid_client_metadata"),
                         ({"scope": "scim"}, "invalid_client_metadata"),
                         ({"jwks": {"keys": [{"kty": "oct", "k": "eA"}]}},
                          "invalid_client_metadata"),
                         ({"client_id": "dev-someoneelse0000"}, "invalid_request"),
                         ({"client_id": None}, "invalid_request"),
                         ({"registration_access_token": rat}, "invalid_request"),
                         ({"client_secret": "x"}, "invalid_request"),
                         ({"client_id_issued_at": 1}, "invalid_request")):
        body = dict(base)
        body.update(extra)
        if body.get("client_id") is None:
            del body["client_id"]
        assert_error(manage(srv, "PUT", cid, rat, body), 400, error)
    r = manage(srv, "PUT", cid, rat, dict(base, scope="mqtt:pub:# mqtt:sub:#"))
    assert r.status_code == 200, r.text
    assert set(r.json()["scope"].split()) == {"mqtt:pub:devices/%s/#" % cid,
                                              "mqtt:sub:devices/%s/cmd/#" % cid}
    assert manage(srv, "GET", cid, rat).json()["token_endpoint_auth_method"] == "private_key_jwt"


def test_row111_registration_endpoint_in_discovery(srv):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        d = srv.get(path).json()
        assert d["registration_endpoint"] == srv.url("/register"), d


# ------------------------------------------------------------------ provisioning (row 111)


def provision(srv, tdir, *args):
    return run_cli(["device", "provision"] + list(args) + ["--db", srv.db], cwd=tdir)


def test_row111_provision_writes_a_json_file_0600_and_registers_the_device(srv, tdir):
    """docs/security.md row 111: directly in the database, with --broker-ca."""
    ca = os.path.join(tdir, "ca.pem")
    with open(ca, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    os.umask(0o022)
    r = provision(srv, tdir, "sensor-json-1", "--format", "json", "--broker-ca", ca,
                  "--scope", SCOPE, "--issuer", srv.issuer)
    assert r.rc == 0, r
    out = r.json()
    path = os.path.join(tdir, out["file"])
    assert out["client_id"] == "sensor-json-1" and out["file"] == "sensor-json-1.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        d = json.load(f)
    assert d["client_id"] == "sensor-json-1" and d["issuer"] == srv.issuer
    assert d["token_endpoint"] == srv.url("/token")
    assert d["token_endpoint_auth_method"] == "private_key_jwt" and d["alg"] == "ES256"
    assert d["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert d["broker_ca_pem"].startswith("-----BEGIN CERTIFICATE-----")
    key = serialization.load_pem_private_key(d["private_key_pem"].encode(), None)
    assert isinstance(key.curve, ec.SECP256R1)
    shown = srv.cli(["client", "show", "sensor-json-1"]).json()
    assert shown["client_id"] == "sensor-json-1"
    # Tessera keeps the public key only
    assert shown["auth_method"] == "private_key_jwt", shown
    assert "PRIVATE KEY" not in json.dumps(shown) and '"d"' not in json.dumps(shown)
    assert [k["kid"] for k in shown["jwks"]["keys"]] == [d["kid"]], shown
    assert provision(srv, tdir, "sensor-json-1", "--format", "json").rc == 1  # taken
    # an existing file is rewritten 0600
    other = os.path.join(tdir, "o.json")
    with open(other, "w") as f:
        f.write("x")
    os.chmod(other, 0o644)
    assert provision(srv, tdir, "sensor-json-2", "--format", "json", "--out", other).rc == 0
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o600


def test_row111_provision_c_header_compiles(srv, tdir):
    """docs/security.md row 111: the C header is valid C, with the credentials in it."""
    ca = os.path.join(tdir, "ca.pem")
    with open(ca, "w") as f:
        f.write('-----BEGIN CERTIFICATE-----\n"quoted" \\ back ??= tri\n-----END CERTIFICATE-----\n')
    hdr = os.path.join(tdir, "dev.h")
    r = provision(srv, tdir, "sensor-h-1", "--format", "c-header", "--out", hdr,
                  "--broker-ca", ca, "--scope", SCOPE, "--issuer", srv.issuer)
    assert r.rc == 0, r
    assert stat.S_IMODE(os.stat(hdr).st_mode) == 0o600
    prog = os.path.join(tdir, "main.c")
    with open(prog, "w") as f:
        f.write('#include <stdio.h>\n#include "dev.h"\n#include "dev.h"\n'
                'int main(void) {\n'
                '  printf("%s\\n%s\\n%s\\n%s\\n", TESSERA_CLIENT_ID, TESSERA_ISSUER,\n'
                '         TESSERA_TOKEN_ENDPOINT, TESSERA_KEY_ID);\n'
                '  fputs(tessera_private_key_pem, stdout);\n'
                '  fputs(tessera_broker_ca_pem, stdout);\n  return 0;\n}\n')
    exe = os.path.join(tdir, "main")
    cc = subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
                         "-Wno-overlength-strings", "-o", exe, prog],
                        capture_output=True, text=True, cwd=tdir, timeout=t(60))
    assert cc.returncode == 0, cc.stderr
    run = subprocess.run([exe], capture_output=True, text=True, timeout=t(10))
    lines = run.stdout.split("\n")
    assert lines[:3] == ["sensor-h-1", srv.issuer, srv.url("/token")], run.stdout
    assert "-----BEGIN PRIVATE KEY-----" in run.stdout
    with open(ca) as f:
        assert run.stdout.endswith(f.read())
    pem = run.stdout[run.stdout.index("-----BEGIN PRIVATE KEY-----"):
                     run.stdout.index("-----END PRIVATE KEY-----") + 26]
    serialization.load_pem_private_key(pem.encode(), None)


def test_row111_provision_through_an_enrollment_token(srv, tdir):
    """docs/security.md row 111: over HTTP, the client id is Tessera's, the name the device's."""
    e = enrollment(srv)
    r = provision(srv, tdir, "sensor-http-1", "--format", "json", "--enrollment-token",
                  e["enrollment_token"], "--url", srv.base)
    assert r.rc == 0, r
    path = os.path.join(tdir, r.json()["file"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        d = json.load(f)
    assert d["client_id"].startswith("dev-") and d["issuer"] == srv.issuer
    assert d["token_endpoint"] == srv.url("/token")
    got = manage(srv, "GET", d["client_id"], d["registration_access_token"]).json()
    assert got["client_name"] == "sensor-http-1"
    assert d["registration_client_uri"] == srv.url("/register/" + d["client_id"])
    assert uses(srv, e["id"]) == 1
    srv.cli(["enrollment", "revoke", e["id"]])
    r = provision(srv, tdir, "sensor-http-2", "--format", "json", "--enrollment-token",
                  e["enrollment_token"], "--url", srv.base)
    assert r.rc == 1 and "invalid_token" in r.stderr, r
    assert not os.path.exists(os.path.join(tdir, "sensor-http-2.json"))
    # the provisioned device gets a token with the key in its file
    r = assertion_token(srv, d["client_id"], d["private_key_pem"], d["kid"])
    assert r.status_code == 200, r.text


def test_provision_usage_errors(srv, tdir):
    for args in (["x"], ["x", "--format", "pem"], ["--format", "json"],
                 ["x", "--format", "json", "--url", "http://a"],
                 ["../x", "--format", "json"], ["x", "--format", "json", "--grant", "password"]):
        r = provision(srv, tdir, *args)
        assert r.rc == 2, (args, r)
    assert os.listdir(tdir) == []


# ------------------------------------------------------------------ SCIM (row 107)


def test_row107_enrollment_tokens_over_scim(srv):
    """docs/security.md row 107: the same tokens through SCIM: made with the secret shown once,
    listed and read without it, deactivated for good, deleted; only the scim scope may."""
    api = Scim(srv)
    body = {"schemas": ["urn:tessera:params:scim:schemas:2.0:EnrollmentToken"],
            "displayName": "line 4", "scope": SCOPE, "maxUses": 5, "expiresIn": 3600,
            "grantTypes": ["client_credentials"]}
    r = api.post("/EnrollmentTokens", body)
    made = ok(r, 201)
    assert r.headers["Location"] == made["meta"]["location"]
    tok, eid = made["enrollmentToken"], made["id"]
    assert tok.startswith(eid + ".") and made["active"] is True and made["maxUses"] == 5
    assert made["tokenEndpointAuthMethod"] == "private_key_jwt"
    assert made["meta"]["location"].endswith("/EnrollmentTokens/" + eid)
    secret = tok[len(eid) + 1:]
    got = ok(api.get("/EnrollmentTokens/" + eid))
    assert got["displayName"] == "line 4" and secret not in json.dumps(got)
    listed = ok(api.get("/EnrollmentTokens"))
    assert eid in [x["id"] for x in listed["Resources"]]
    assert secret not in json.dumps(listed)
    assert srv.cli(["enrollment", "show", eid]).json()["max_uses"] == 5
    assert register(srv, tok, metadata()).status_code == 201
    assert ok(api.get("/EnrollmentTokens/" + eid))["uses"] == 1
    # a template with a shared secret, or without its limits, is refused
    for bad in ({"tokenEndpointAuthMethod": "client_secret_basic"}, {"maxUses": 0},
                {"expiresIn": None}, {"scope": 7}, {"grantTypes": ["password"]}):
        b = dict(body)
        b.update(bad)
        b = {k: v for k, v in b.items() if v is not None}
        err(api.post("/EnrollmentTokens", b), 400, "invalidValue")
    # deactivated: revoked for good
    err(api.patch("/EnrollmentTokens/" + eid, op("replace", "displayName", "x")), 400,
        "invalidValue")
    got = ok(api.patch("/EnrollmentTokens/" + eid, op("replace", "active", False)))
    assert got["active"] is False and got["revokedAt"]
    assert register(srv, tok, metadata()).status_code == 401
    err(api.patch("/EnrollmentTokens/" + eid, op("replace", "active", True)), 400, "mutability")
    assert srv.cli(["enrollment", "show", eid]).json()["state"] == "revoked"
    # deleted
    assert api.delete("/EnrollmentTokens/" + eid).status_code == 204
    err(api.get("/EnrollmentTokens/" + eid), 404)
    err(api.delete("/EnrollmentTokens/" + eid), 404)
    assert srv.cli(["enrollment", "show", eid]).rc == 1
    # the scim scope is needed
    noscim = srv.access_token(srv.clients["noscim"], scope="introspect")
    err(Scim(srv, token=noscim).get("/EnrollmentTokens"), 403)
    err(Scim(srv, token="garbage").post("/EnrollmentTokens", body), 401)
