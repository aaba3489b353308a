"""POST /token with grant_type=client_credentials: auth methods, scopes, the JWT, errors."""
import base64
import json
import time
import urllib.parse

import pytest
import requests

from tessera_harness import (B64URL, VSCHAR, Client, b64url_decode, b64url_encode, http_timeout,
                             jwt_parts, verify_jwt)

SENSOR_SCOPE = "mqtt:pubsub:home/${clientid}/# mqtt:sub:broadcast/+ telemetry"
ROW38_SCOPE = "mqtt:pub:dev/${clientid}/# mqtt:sub:public/#"
ROW38_IDS = ["a/b", "dev/#", "+", "#", "x/+/y", "$SYS", "a b"]
WEIRD_ID = "dev:1 %"


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new()
    s.init()
    s.add_client("sensor-1", scope=SENSOR_SCOPE)
    s.add_client(WEIRD_ID, scope="mqtt:pub:x/#")
    s.add_client("all-sub", scope="mqtt:sub:#")
    s.add_client("pub-only", scope="mqtt:pub:x/y")
    s.add_client("noscope")
    s.add_client("code-only", grants=["authorization_code"],
                 redirect_uris=["https://app.example/cb"])
    s.add_client("off-1", scope="mqtt:pub:x/#")
    s.cli(["client", "disable", "off-1"])
    s.add_client("pub-app", public=True, grants=["authorization_code"],
                 redirect_uris=["https://app.example/cb"])
    s.add_client("plain", scope=ROW38_SCOPE)
    for cid in ROW38_IDS:
        s.add_client(cid, scope=ROW38_SCOPE)
    return s.start()


def scopes(s):
    return set(s.split())


def error_of(r):
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", r.headers
    return r.json()["error"]


# ---------------------------------------------------------------- happy paths

@pytest.mark.parametrize("auth", ["basic", "post"])
def test_client_credentials_issues_bearer_token(srv, auth):
    r = srv.token(srv.clients["sensor-1"], auth=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2
    assert body["scope"]


def test_row24_client_credentials_returns_no_refresh_token(srv):
    for auth in ("basic", "post"):
        body = srv.token(srv.clients["sensor-1"], auth=auth).json()
        assert "refresh_token" not in body, body
        assert "id_token" not in body, body


def test_basic_credentials_are_form_urlencoded_before_base64(srv):
    c = srv.clients[WEIRD_ID]
    # "dev:1 %" -> "dev%3A1+%25": the colon inside the id must not split it.
    raw = "%s:%s" % (urllib.parse.quote_plus(c.id), urllib.parse.quote_plus(c.secret))
    assert raw.startswith("dev%3A1+%25:")
    r = srv.token(None, headers={"Authorization": "Basic " +
                                 base64.b64encode(raw.encode()).decode()})
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["client_id"] == WEIRD_ID


def test_basic_credentials_accept_percent20_for_space(srv):
    c = srv.clients[WEIRD_ID]
    raw = "%s:%s" % (urllib.parse.quote(c.id, safe=""), urllib.parse.quote(c.secret, safe=""))
    assert "%20" in raw
    r = srv.token(None, headers={"Authorization": "Basic " +
                                 base64.b64encode(raw.encode()).decode()})
    assert r.status_code == 200, r.text


def test_post_auth_with_special_client_id(srv):
    r = srv.token(srv.clients[WEIRD_ID], auth="post")
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["sub"] == WEIRD_ID


def test_unencoded_colon_in_basic_id_is_not_that_client(srv):
    c = srv.clients[WEIRD_ID]
    raw = "%s:%s" % (c.id, c.secret)  # "dev:1 %:secret" splits at the first colon
    r = srv.token(None, headers={"Authorization": "Basic " +
                                 base64.b64encode(raw.encode()).decode()})
    assert r.status_code in (400, 401), r.text
    assert r.status_code != 200


def test_access_token_is_es256_at_jwt_with_required_claims(srv):
    before = int(time.time())
    r = srv.token(srv.clients["sensor-1"], scope="mqtt:pub:home/sensor-1/temp")
    after = int(time.time())
    body = r.json()
    tok = body["access_token"]
    header, _ = jwt_parts(tok)
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    jwks = srv.jwks()
    assert header["kid"] in [k["kid"] for k in jwks["keys"]]
    claims = verify_jwt(tok, jwks)
    assert claims["iss"] == srv.issuer
    assert claims["sub"] == "sensor-1"
    assert claims["client_id"] == "sensor-1"
    assert claims["aud"] in ("mqtt", ["mqtt"])
    assert claims["scope"] == body["scope"] == "mqtt:pub:home/sensor-1/temp"
    assert before - 5 <= claims["iat"] <= after + 5
    assert claims["exp"] - claims["iat"] == 3600
    # the jti: 96 random bits (issue 21 §4: short tokens), then "." and the client record
    rand, _dot, record = claims["jti"].partition(".")
    assert isinstance(claims["jti"], str) and B64URL.match(rand) and record.isdigit()
    assert len(b64url_decode(rand)) >= 12


def test_tampered_token_fails_jwks_verification(srv):
    """Guards the verification helper: a changed payload must not verify."""
    tok = srv.access_token(srv.clients["sensor-1"])
    h, p, s = tok.split(".")
    claims = jwt_parts(tok)[1]
    claims["scope"] = "mqtt:pubsub:#"
    forged = "%s.%s.%s" % (h, b64url_encode(json.dumps(claims)), s)
    with pytest.raises(Exception):
        verify_jwt(forged, srv.jwks())


# ---------------------------------------------------------------- scopes

def test_no_scope_grants_everything_allowed_with_clientid_filled(srv):
    body = srv.token(srv.clients["sensor-1"]).json()
    assert scopes(body["scope"]) == {"mqtt:pubsub:home/sensor-1/#", "mqtt:sub:broadcast/+",
                                     "telemetry"}
    assert "${" not in body["scope"]


def test_empty_scope_parameter_is_like_no_scope_or_invalid(srv):
    r = srv.token(srv.clients["sensor-1"], scope="")
    if r.status_code == 200:
        assert "mqtt:pubsub:home/sensor-1/#" in scopes(r.json()["scope"])
    else:
        assert r.status_code == 400 and error_of(r) in ("invalid_scope", "invalid_request")


@pytest.mark.parametrize("requested,granted", [
    ("mqtt:sub:#", {"mqtt:sub:home/sensor-1/#", "mqtt:sub:broadcast/+"}),
    ("mqtt:pub:#", {"mqtt:pub:home/sensor-1/#"}),
    ("mqtt:pub:home/sensor-1/temp", {"mqtt:pub:home/sensor-1/temp"}),
    ("mqtt:sub:home/+/temp", {"mqtt:sub:home/sensor-1/temp"}),
    ("mqtt:pubsub:home/sensor-1/a", {"mqtt:pubsub:home/sensor-1/a"}),
    ("mqtt:sub:broadcast/news", {"mqtt:sub:broadcast/news"}),
    ("telemetry", {"telemetry"}),
    ("telemetry mqtt:pub:home/other/x", {"telemetry"}),
    ("mqtt:sub:broadcast/+ mqtt:sub:broadcast/x", {"mqtt:sub:broadcast/+"}),
])
def test_scope_is_intersection_with_allowed_filters(srv, requested, granted):
    r = srv.token(srv.clients["sensor-1"], scope=requested)
    assert r.status_code == 200, r.text
    body = r.json()
    assert scopes(body["scope"]) == granted
    assert jwt_parts(body["access_token"])[1]["scope"] == body["scope"]


def test_multilevel_wildcard_also_grants_its_parent_level(srv):
    # MQTT: "a/#" matches "a" too, so home/sensor-1/# allows publishing to home/sensor-1.
    r = srv.token(srv.clients["sensor-1"], scope="mqtt:pub:home/sensor-1")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "mqtt:pub:home/sensor-1"


def test_pubsub_request_narrows_to_pub_only_allowance(srv):
    body = srv.token(srv.clients["pub-only"], scope="mqtt:pubsub:x/#").json()
    assert scopes(body["scope"]) == {"mqtt:pub:x/y"}


@pytest.mark.parametrize("requested", [
    "mqtt:pub:home/other/temp",
    "mqtt:pub:broadcast/x",
    "unknownplain",
    "introspect",
    "mqtt:sub:home/sensor-1x/#",
])
def test_nothing_granted_is_invalid_scope(srv, requested):
    r = srv.token(srv.clients["sensor-1"], scope=requested)
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_scope"


@pytest.mark.parametrize("bad", ["mqtt:pub:a/#/b", "mqtt:sub:a#", "mqtt:frob:a", "mqtt:pub:",
                                 "mqtt:sub:a/b+"])
def test_malformed_scope_is_invalid_scope_naming_it(srv, bad):
    r = srv.token(srv.clients["sensor-1"], scope="telemetry " + bad)
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_scope"
    assert bad in r.json().get("error_description", ""), r.json()


def test_wildcard_first_level_never_reaches_dollar_topics(srv):
    r = srv.token(srv.clients["all-sub"], scope="mqtt:sub:$SYS/#")
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_scope"
    ok = srv.token(srv.clients["all-sub"], scope="mqtt:sub:+/x")
    assert ok.status_code == 200 and ok.json()["scope"] == "mqtt:sub:+/x"


def test_client_without_allowed_scope_gets_invalid_scope_when_asking(srv):
    r = srv.token(srv.clients["noscope"], scope="mqtt:sub:a")
    assert r.status_code == 400 and error_of(r) == "invalid_scope"


# ---------------------------------------------------------------- row 38

def test_row38_placeholder_control_client_gets_its_own_branch(srv):
    body = srv.token(srv.clients["plain"]).json()
    assert scopes(body["scope"]) == {"mqtt:pub:dev/plain/#", "mqtt:sub:public/#"}


@pytest.mark.parametrize("cid", ROW38_IDS)
def test_row38_client_id_with_wildcards_never_widens_clientid_scope(srv, cid):
    # "a b" too: substituted, it would split into "mqtt:pub:dev/a" and "b/#".
    c = srv.clients[cid]
    r = srv.token(c)
    assert r.status_code == 200, r.text
    body = r.json()
    assert scopes(body["scope"]) == {"mqtt:sub:public/#"}, body
    assert jwt_parts(body["access_token"])[1]["scope"] == "mqtt:sub:public/#"
    for req in ("mqtt:pub:dev/#", "mqtt:pub:dev/%s/#" % cid, "mqtt:pub:dev/a/b/x",
                "mqtt:pub:dev/other/x"):
        r2 = srv.token(c, scope=req)
        if r2.status_code == 200:
            raise AssertionError("client %r was granted %r for %r" % (cid, r2.json()["scope"],
                                                                       req))
        assert r2.status_code == 400 and error_of(r2) == "invalid_scope", r2.text


# ---------------------------------------------------------------- grant type errors

def test_unauthorized_client_for_grant_not_allowed(srv):
    r = srv.token(srv.clients["code-only"])
    assert r.status_code == 400, r.text
    assert error_of(r) == "unauthorized_client"


def test_public_client_cannot_use_client_credentials(srv):
    r = srv.token(None, extra=[("client_id", "pub-app")])
    assert r.status_code in (400, 401), r.text
    assert error_of(r) in ("unauthorized_client", "invalid_client")


@pytest.mark.parametrize("gt", ["password", "implicit", "urn:x:unknown", "CLIENT_CREDENTIALS"])
def test_unknown_grant_type_is_unsupported_grant_type(srv, gt):
    r = srv.token(srv.clients["sensor-1"], grant_type=gt)
    assert r.status_code == 400, r.text
    assert error_of(r) == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(srv):
    r = srv.token(srv.clients["sensor-1"], grant_type=None)
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_request"


# ---------------------------------------------------------------- row 19

def assert_no_store(r):
    assert "no-store" in r.headers.get("Cache-Control", ""), (r.status_code, dict(r.headers))
    assert r.headers.get("Pragma", "") == "no-cache", (r.status_code, dict(r.headers))
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
        (r.status_code, dict(r.headers))


def test_row19_token_success_and_errors_are_no_store_json(srv):
    c = srv.clients["sensor-1"]
    assert_no_store(srv.token(c))
    assert_no_store(srv.token(c, scope="mqtt:pub:a/#/b"))
    assert_no_store(srv.token(c, grant_type="nope"))
    assert_no_store(srv.token(Client("sensor-1", "wrong")))
    assert_no_store(srv.token(None))


# ---------------------------------------------------------------- row 20

def assert_invalid_client(r, basic=True):
    assert r.status_code == 401, (r.status_code, r.text)
    assert error_of(r) == "invalid_client"
    if basic:
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), dict(r.headers)
        assert 'realm="tessera"' in r.headers["WWW-Authenticate"]


def test_row20_wrong_basic_secret_is_401_invalid_client_with_www_authenticate(srv):
    c = srv.clients["sensor-1"]
    assert_invalid_client(srv.token(Client(c.id, c.secret[:-1] + ("A" if c.secret[-1] != "A"
                                                                     else "B"))))
    assert_invalid_client(srv.token(Client(c.id, "")))
    assert_invalid_client(srv.token(Client(c.id, c.secret + "x")))


def test_row20_unknown_client_is_401(srv):
    assert_invalid_client(srv.token(Client("nobody-here", "x" * 43)))


def test_row20_missing_credentials_is_401(srv):
    assert_invalid_client(srv.token(None))


def test_row20_wrong_post_secret_is_401(srv):
    c = srv.clients["sensor-1"]
    assert_invalid_client(srv.token(Client(c.id, "wrong"), auth="post"), basic=False)
    assert_invalid_client(srv.token(None, extra=[("client_id", c.id)]), basic=False)


def test_row20_basic_and_body_secret_together_is_invalid_request(srv):
    c = srv.clients["sensor-1"]
    r = srv.token(c, extra=[("client_id", c.id), ("client_secret", c.secret)])
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_request"
    r = srv.token(c, extra=[("client_secret", c.secret)])
    assert r.status_code == 400, r.text
    assert error_of(r) == "invalid_request"


@pytest.mark.parametrize("header", [
    "Basic !!!not-base64!!!",
    "Basic ",
    "Basic",
    "Basic Zm9v",                 # "foo": no colon
    "Basic " + "A" * 5,            # bad padding
    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
    "Basic " + base64.b64encode(b"%zz:%zz").decode(),
    "Basic " + "QUFB" * 3000,
    "Bearer abc",
    "basic " + base64.b64encode(b"nobody:x").decode(),
])
def test_row20_broken_basic_header_is_401_never_500(srv, header):
    r = srv.token(None, headers={"Authorization": header})
    if len(header) > 6000:
        # over the connection's buffer for the request head (6 KiB): refused before parsing
        assert r.status_code == 431, (r.status_code, r.text[:300])
        return
    assert r.status_code in (400, 401), (r.status_code, r.text)
    assert r.json()["error"] in ("invalid_client", "invalid_request")
    if r.status_code == 401:
        assert r.json()["error"] == "invalid_client"


def test_disabled_client_is_401_invalid_client(srv):
    assert_invalid_client(srv.token(srv.clients["off-1"]))
    assert_invalid_client(srv.token(srv.clients["off-1"], auth="post"), basic=False)


# ---------------------------------------------------------------- row 22

def test_row22_thousand_tokens_distinct_vschar_at_least_128_bits(srv):
    """A JWT access token cannot be guessed: its ES256 signature (64 bytes, with a fresh random
    nonce each time) takes the signing key to make, far more than 128 bits of work; the jti, an
    identifier inside it, has 96 random bits (short tokens, issue 21 §4; 1,000 distinct here).
    Codes, refresh tokens, device codes and reference tokens carry 128 random bits or more
    (test_code_redemption.py, test_device.py, test_reference_tokens.py)."""
    c = srv.clients["sensor-1"]
    tokens, jtis, sigs = set(), set(), set()
    with requests.Session() as sess:
        for _ in range(1000):
            r = sess.post(srv.url("/token"), data={"grant_type": "client_credentials",
                                                   "scope": "telemetry"},
                          headers={"Authorization": c.basic()}, timeout=http_timeout())
            assert r.status_code == 200, r.text
            tok = r.json()["access_token"]
            assert VSCHAR.match(tok), tok
            tokens.add(tok)
            sig = b64url_decode(tok.rsplit(".", 1)[1])
            assert len(sig) * 8 == 512, tok     # r || s of P-256
            sigs.add(sig)
            jti = jwt_parts(tok)[1]["jti"]
            # the token (signed) is the secret; its jti, an identifier, has 96 random bits
            # before "." and the client record (issue 21 §4)
            rand = jti.partition(".")[0]
            assert B64URL.match(rand), jti
            assert len(b64url_decode(rand)) * 8 >= 96, jti
            jtis.add(jti)
    assert len(tokens) == 1000
    assert len(jtis) == 1000
    assert len(sigs) == 1000
    # The jti bytes look random: over 1000 x 12 bytes nearly every byte value shows up.
    seen = set()
    for j in jtis:
        seen.update(b64url_decode(j.partition(".")[0]))
    assert len(seen) > 250


# ---------------------------------------------------------------- config: claims, ttl, audience

@pytest.fixture(scope="module")
def emqx_srv(server_factory):
    return server_factory.start(
        config={"tokens": {"mqtt_claim": "emqx", "audience": "broker-1", "access_token_ttl": 120}},
        clients=[{"client_id": "em1", "scope": "mqtt:pub:a/b mqtt:sub:c/# mqtt:pubsub:d/+ telemetry"}],
        name="emqx")


@pytest.fixture(scope="module")
def legacy_srv(server_factory):
    return server_factory.start(
        config={"tokens": {"mqtt_claim": "emqx-legacy"}},
        clients=[{"client_id": "em2", "scope": "mqtt:pub:a/b mqtt:sub:c/# mqtt:pubsub:d/+"}],
        name="legacy")


def test_config_audience_and_ttl(emqx_srv):
    body = emqx_srv.token(emqx_srv.clients["em1"]).json()
    assert body["expires_in"] == 120
    claims = verify_jwt(body["access_token"], emqx_srv.jwks())
    assert claims["aud"] in ("broker-1", ["broker-1"])
    assert claims["exp"] - claims["iat"] == 120


def allow_rules(acl):
    """The allow rules of an EMQX acl array; anything else may only be deny rules after them
    (EMQX evaluates rules in order, so a closing deny-all must not shadow an allow)."""
    allows, seen_deny = set(), False
    for a in acl:
        assert set(a) == {"permission", "action", "topic"}, a
        assert a["action"] in ("publish", "subscribe", "all"), a
        if a["permission"] == "allow":
            assert not seen_deny, "allow rule after a deny rule: %r" % (acl,)
            allows.add((a["action"], a["topic"]))
        else:
            assert a["permission"] == "deny", a
            seen_deny = True
    return allows


def test_mqtt_claim_emqx_acl_array(emqx_srv):
    tok = emqx_srv.access_token(emqx_srv.clients["em1"])
    acl = verify_jwt(tok, emqx_srv.jwks())["acl"]
    assert isinstance(acl, list)
    assert allow_rules(acl) == {("publish", "a/b"), ("subscribe", "c/#"), ("all", "d/+")}


def test_mqtt_claim_emqx_acl_follows_granted_scope(emqx_srv):
    tok = emqx_srv.access_token(emqx_srv.clients["em1"], scope="mqtt:sub:c/x")
    acl = verify_jwt(tok, emqx_srv.jwks())["acl"]
    assert allow_rules(acl) == {("subscribe", "c/x")}


def test_mqtt_claim_emqx_legacy_acl_object(legacy_srv):
    tok = legacy_srv.access_token(legacy_srv.clients["em2"])
    acl = verify_jwt(tok, legacy_srv.jwks())["acl"]
    assert isinstance(acl, dict)
    assert acl == {"pub": ["a/b"], "sub": ["c/#"], "all": ["d/+"]}


def test_mqtt_claim_none_has_no_acl(srv):
    tok = srv.access_token(srv.clients["sensor-1"])
    assert "acl" not in jwt_parts(tok)[1]


def wrong(c):
    return Client(c.id, c.secret[:-1] + ("A" if c.secret[-1] != "A" else "B"))


def test_row21_wrong_client_secrets_are_throttled_and_the_right_one_still_gets_in(fresh_factory):
    """docs/security.md row 21; issue 19 item 7: only wrong secrets are slowed. A client with its
    right secret is answered as usual during its id's lock-out, which someone else's wrong
    secrets may have caused (at its address, or behind the same reverse proxy)."""
    s = fresh_factory.start(clients=[dict(client_id="dev-a", grants=["client_credentials"], scope="telemetry"),
                                     dict(client_id="dev-b", grants=["client_credentials"], scope="telemetry")],
                            name="secret-throttle")
    a, b = s.clients["dev-a"], s.clients["dev-b"]
    for i in range(10):
        assert_invalid_client(s.token(wrong(a)))
    r = s.token(wrong(a))
    assert r.status_code == 429, (r.status_code, r.text)
    assert error_of(r) == "too_many_requests"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Retry-After"] == "1", r.headers
    # during the wait the right secret gets its token, by either method
    r = s.token(a)
    assert r.status_code == 200 and "access_token" in r.json(), (r.status_code, r.text)
    assert s.token(a, auth="post").status_code == 200
    # and a wrong one is still refused, whatever the method
    r = s.token(wrong(a), auth="post")
    assert r.status_code == 429, (r.status_code, r.text)
    # another client at the same address is not slowed down
    for _ in range(3):
        assert s.token(b).status_code == 200
    time.sleep(int(s.token(wrong(a)).headers["Retry-After"]) + 0.2)
    # after the wait one wrong secret is tried (401), and the success before did not wipe the
    # count: the next one waits twice as long
    assert_invalid_client(s.token(wrong(a)))
    r = s.token(wrong(a))
    assert r.status_code == 429 and r.headers["Retry-After"] == "2", (r.status_code, r.headers)


def test_row21_secret_throttle_waits_grow(fresh_factory):
    s = fresh_factory.start(clients=[dict(client_id="dev-c", grants=["client_credentials"], scope="telemetry")],
                            name="secret-throttle-grow")
    c = s.clients["dev-c"]
    for i in range(10):
        assert_invalid_client(s.token(wrong(c)))
    waits = []
    for _ in range(2):
        r = s.token(wrong(c))
        assert r.status_code == 429, r.text
        waits.append(int(r.headers["Retry-After"]))
        time.sleep(waits[-1] + 0.1)
        assert_invalid_client(s.token(wrong(c)))  # allowed again, and wrong again
    r = s.token(wrong(c))
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 2 * waits[0], (waits, r.headers["Retry-After"])
