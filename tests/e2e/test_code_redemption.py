"""POST /token grant_type=authorization_code: PKCE, single use, binding to client and
redirect_uri, lifetime, and what a redemption returns (rows 2, 4, 6, 7, 8, 9, 15, 22)."""
import hashlib
import time

import pytest

from tessera_harness import (B64URL, PKCE, UNRESERVED, VSCHAR, UserAgent, auth_request,  # noqa: F401
                             b64url_encode, idp, idp_user, jwt_parts,
                             redirect_params, verify_jwt)

WEB_CB = "http://127.0.0.1:9/cb"
CONF_CB = "https://rp.example/cb"


def get_code(idp, client="web", cb=WEB_CB, scope="openid", pkce=None, agent=None,
             send_redirect_uri=True, user=None):
    """(agent, code, pkce, user) after a login + consent as a new user."""
    pkce = pkce or PKCE()
    u, pw, uid = user or idp_user(idp)
    a = agent or UserAgent(idp)
    r = a.run(auth_request(client, cb if send_redirect_uri else None, scope=scope, pkce=pkce),
              username=u, password=pw)
    q = redirect_params(r)
    assert "code" in q, q
    return a, q["code"], pkce, (u, pw, uid)


def err(r, status=400):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    return r.json()["error"]


def introspect_active(idp, token):
    return idp.is_active(idp.clients["rs"], token)


# ---------------------------------------------------------------- success


def test_public_client_redeems_with_client_id_and_verifier(idp):
    _a, code, p, (u, _pw, uid) = get_code(idp, scope="openid profile")
    r = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)
    assert r.status_code == 200, r.text
    assert r.headers.get("Cache-Control") == "no-store"
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert set(body["scope"].split()) == {"openid", "profile"}
    assert body["id_token"].count(".") == 2
    assert "refresh_token" not in body, body   # web lacks the refresh_token grant
    header, claims = jwt_parts(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    claims = verify_jwt(body["access_token"], idp.jwks())
    assert claims["sub"] == str(uid)
    assert claims["username"] == u
    assert claims["client_id"] == "web"
    assert isinstance(claims["gid"], (int, str)) and str(claims["gid"])
    assert set(claims["scope"].split()) == {"openid", "profile"}
    assert claims["iss"] == idp.issuer
    assert claims["aud"] in ("mqtt", ["mqtt"])
    assert len(claims["jti"]) >= 16     # 96 random bits (issue 21 §4)


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_client_gets_a_refresh_token(idp, auth):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB)
    r = idp.redeem(idp.clients["conf"], code, p.verifier, CONF_CB, auth=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body.get("refresh_token"), str) and len(body["refresh_token"]) >= 22
    assert VSCHAR.match(body["refresh_token"])
    assert body["id_token"]


def test_no_openid_no_id_token(idp):
    _a, code, p, (u, _pw, _uid) = get_code(idp, scope="mqtt:sub:home/#")
    r = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "id_token" not in body, body
    assert body["scope"] == "mqtt:sub:home/%s/#" % u


def test_user_token_introspects_active_with_username(idp):
    _a, code, p, (u, _pw, uid) = get_code(idp)
    tok = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB).json()["access_token"]
    r = idp.introspect(idp.clients["rs"], tok)
    body = r.json()
    assert body["active"] is True, body
    assert body["username"] == u and body["sub"] == str(uid) and body["client_id"] == "web"


def test_removed_user_tokens_become_inactive(idp):
    _a, code, p, (u, _pw, _uid) = get_code(idp)
    tok = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB).json()["access_token"]
    assert introspect_active(idp, tok) is True
    idp.cli(["user", "rm", u])
    r = idp.introspect(idp.clients["rs"], tok)
    assert r.json() == {"active": False}


def test_redirect_uri_not_sent_at_authorize_need_not_be_sent_at_token(idp):
    _a, code, p, _user = get_code(idp, send_redirect_uri=False)
    r = idp.redeem(idp.clients["web"], code, p.verifier, None)
    assert r.status_code == 200, r.text


def test_loopback_port_used_at_authorize_is_the_one_to_send(idp):
    cb = "http://127.0.0.1:40001/cb"
    _a, code, p, _user = get_code(idp, cb=cb)
    assert err(idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)) == "invalid_grant"
    _a, code, p, _user = get_code(idp, cb=cb)
    r = idp.redeem(idp.clients["web"], code, p.verifier, cb)
    assert r.status_code == 200, r.text


def test_row22_codes_and_tokens_distinct_and_long(idp):
    a, code, p, user = get_code(idp)
    codes, tokens = [code], []
    tokens.append(idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB).json()["access_token"])
    for _ in range(15):
        p = PKCE()
        q = redirect_params(a.authorize(auth_request("web", WEB_CB, pkce=p)))
        codes.append(q["code"])
        r = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB)
        tokens.append(r.json()["access_token"])
    assert len(set(codes)) == len(codes) and len(set(tokens)) == len(tokens)
    for c in codes:
        assert len(c) == 51 and B64URL.match(c)
        assert len(set(c[8:])) > 10


# ---------------------------------------------------------------- rows 2 and 4: PKCE


def test_row2_missing_verifier_is_invalid_grant(idp):
    _a, code, _p, _user = get_code(idp)
    assert err(idp.redeem(idp.clients["web"], code, None, WEB_CB)) == "invalid_grant"


@pytest.mark.parametrize("wrong", ["other", "challenge", "prefix"])
def test_row2_wrong_verifier_is_invalid_grant(idp, wrong):
    _a, code, p, _user = get_code(idp)
    v = {"other": PKCE().verifier, "challenge": p.challenge,
         "prefix": p.verifier[:-1] + ("A" if p.verifier[-1] != "A" else "B")}[wrong]
    assert err(idp.redeem(idp.clients["web"], code, v, WEB_CB)) == "invalid_grant"


@pytest.mark.parametrize("verifier", [
    "a" * 42, "b" * 129, "c" * 42 + "!", "d" * 50 + " ", "e" * 50 + "+", "f" * 50 + "/",
    "g" * 50 + "=", "h" * 50 + "\u00e9", "i" * 50 + "%"],
    ids=["42", "129", "bang", "space", "plus", "slash", "equals", "non-ascii", "percent"])
def test_row4_verifier_outside_rfc7636_syntax_is_rejected_even_when_it_hashes_right(idp, verifier):
    p = PKCE.__new__(PKCE)
    p.verifier = verifier
    p.challenge = b64url_encode(hashlib.sha256(verifier.encode("utf-8")).digest())
    _a, code, p, _user = get_code(idp, pkce=p)
    r = idp.redeem(idp.clients["web"], code, verifier, WEB_CB)
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_grant", "invalid_request"), r.text


@pytest.mark.parametrize("n", [43, 128])
def test_row4_verifier_at_the_length_limits_works(idp, n):
    p = PKCE("".join(UNRESERVED[i % len(UNRESERVED)] for i in range(n)))
    _a, code, p, _user = get_code(idp, pkce=p)
    r = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- row 6: code reuse


def test_row6_second_redemption_fails_and_revokes_the_first_tokens(idp):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB, scope="openid")
    first = idp.redeem(idp.clients["conf"], code, p.verifier, CONF_CB)
    assert first.status_code == 200, first.text
    at, rt = first.json()["access_token"], first.json()["refresh_token"]
    assert introspect_active(idp, at) is True
    again = idp.redeem(idp.clients["conf"], code, p.verifier, CONF_CB)
    assert err(again) == "invalid_grant"
    for tok in (at, rt):
        r = idp.introspect(idp.clients["rs"], tok)
        assert r.json() == {"active": False}, (tok[:10], r.text)
    assert idp.userinfo(at).status_code == 401


def test_row6_public_client_code_reuse_revokes_too(idp):
    _a, code, p, _user = get_code(idp)
    at = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB).json()["access_token"]
    assert err(idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)) == "invalid_grant"
    assert introspect_active(idp, at) is False


# ---------------------------------------------------------------- rows 7 and 9: binding


def test_row7_other_client_with_valid_credentials_cannot_redeem(idp):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB)
    other = idp.clients["other"]
    for auth in ("basic", "post"):
        r = idp.redeem(other, code, p.verifier, CONF_CB, auth=auth)
        assert err(r) == "invalid_grant"
    # and a public client presenting a confidential client's code
    r = idp.redeem(idp.clients["web"], code, p.verifier, CONF_CB, auth="none")
    assert err(r) == "invalid_grant"


def test_row7_confidential_client_redeeming_a_public_clients_code_fails(idp):
    _a, code, p, _user = get_code(idp)
    assert err(idp.redeem(idp.clients["conf"], code, p.verifier, WEB_CB)) == "invalid_grant"


@pytest.mark.parametrize("uri", [CONF_CB + "/", CONF_CB + "?a=1", "https://other.example/cb",
                                 "https://RP.example/cb", ""])
def test_row9_redirect_uri_different_from_authorize_is_invalid_grant(idp, uri):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB)
    assert err(idp.redeem(idp.clients["conf"], code, p.verifier, uri)) == "invalid_grant"


def test_row9_redirect_uri_sent_at_authorize_is_required_at_token(idp):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB)
    r = idp.redeem(idp.clients["conf"], code, p.verifier, None)
    assert err(r) in ("invalid_grant", "invalid_request")


# ---------------------------------------------------------------- other failures


def test_unknown_code_is_invalid_grant(idp):
    for code in (PKCE().challenge, "x", "A" * 43):
        assert err(idp.redeem(idp.clients["web"], code, PKCE().verifier, WEB_CB)) == \
            "invalid_grant"


def test_missing_code_is_invalid_request(idp):
    assert err(idp.redeem(idp.clients["web"], None, PKCE().verifier, WEB_CB)) == \
        "invalid_request"


def test_confidential_client_must_authenticate(idp):
    _a, code, p, _user = get_code(idp, client="conf", cb=CONF_CB)
    conf = idp.clients["conf"]
    r = idp.redeem(conf, code, p.verifier, CONF_CB, auth="none")
    assert err(r, 401) == "invalid_client"
    bad = type(conf)(conf.id, "wrong-" + conf.secret)
    r = idp.redeem(bad, code, p.verifier, CONF_CB, auth="basic")
    assert err(r, 401) == "invalid_client"
    assert "WWW-Authenticate" in r.headers


def test_public_client_unknown_client_id_is_invalid_client(idp):
    _a, code, p, _user = get_code(idp)
    r = idp.redeem(type(idp.clients["web"])("nobody"), code, p.verifier, WEB_CB, auth="none")
    assert err(r, 401) == "invalid_client"


@pytest.mark.parametrize("name", ["code", "code_verifier", "redirect_uri"])
def test_row15_repeated_parameter_at_token_is_invalid_request(idp, name):
    _a, code, p, _user = get_code(idp)
    vals = {"code": code, "code_verifier": p.verifier, "redirect_uri": WEB_CB}
    r = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB, extra=[(name, vals[name])])
    assert err(r) == "invalid_request"


def test_row15_unknown_parameter_at_token_is_ignored(idp):
    _a, code, p, _user = get_code(idp)
    r = idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB, extra=[("extra", "foobar")])
    assert r.status_code == 200, r.text


def test_code_of_a_removed_user_is_useless(idp):
    _a, code, p, (u, _pw, _uid) = get_code(idp)
    idp.cli(["user", "rm", u])
    assert err(idp.redeem(idp.clients["web"], code, p.verifier, WEB_CB)) == "invalid_grant"


# ---------------------------------------------------------------- row 8: lifetime

@pytest.fixture(scope="module")
def short_codes(server_factory):
    # [tokens] code_ttl shortens the 60 s code lifetime so the test need not wait a minute
    return server_factory.start(
        config={"tokens": {"code_ttl": 2}},
        clients=[dict(client_id="web", public=True, grants=["authorization_code"],
                      redirect_uris=[WEB_CB], scope="openid")],
        name="short-codes")


def test_row8_expired_code_is_invalid_grant(short_codes):
    s = short_codes
    u, pw, _ = idp_user(s, scope="")
    _a, code, p, _user = get_code(s, user=(u, pw, None))
    time.sleep(3.2)
    assert err(s.redeem(s.clients["web"], code, p.verifier, WEB_CB)) == "invalid_grant"


def test_row8_code_within_its_lifetime_works(short_codes):
    s = short_codes
    u, pw, _ = idp_user(s, scope="")
    _a, code, p, _user = get_code(s, user=(u, pw, None))
    r = s.redeem(s.clients["web"], code, p.verifier, WEB_CB)
    assert r.status_code == 200, r.text
