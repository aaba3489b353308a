"""OpenID Connect: the ID token, /userinfo, prompt / max_age / login_hint / id_token_hint,
discovery, and forged JWTs wherever one is accepted (rows 34, 35, 36)."""
import json
import time

import pytest

from tessera_harness import (PKCE, ConnectionTrap, Page, UserAgent, auth_request,  # noqa: F401
                             code_flow, forge_hs256, forge_none, idp, idp_user,
                             is_login_page, jwt_parts, public_pem, redirect_params, sign_jwt,
                             signing_key_from_db, verify_id_token)

WEB_CB = "http://127.0.0.1:9/cb"
CONF_CB = "https://rp.example/cb"
DOCS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]


def flow(idp, scope="openid", client="web", cb=WEB_CB, user=None, **kw):
    u, pw, uid = user or idp_user(idp)
    lg = code_flow(idp, idp.clients[client], u, pw, redirect_uri=cb, scope=scope, **kw)
    lg.user = (u, pw, uid)
    return lg


def www_auth_error(r):
    h = r.headers.get("WWW-Authenticate", "")
    assert h.lower().startswith("bearer"), h
    return h


def assert_invalid_token(r):
    assert r.status_code == 401, (r.status_code, r.text[:300])
    h = www_auth_error(r)
    assert 'error="invalid_token"' in h, h


# ---------------------------------------------------------------- the ID token


def test_id_token_claims(idp):
    before = int(time.time())
    lg = flow(idp, scope="openid profile", nonce="n-0S6_WzA2Mj")
    t = lg.tokens
    claims = verify_id_token(idp, t["id_token"], "web", nonce="n-0S6_WzA2Mj",
                             access_token=t["access_token"])
    u, _pw, uid = lg.user
    assert claims["sub"] == str(uid)
    assert claims["sub"] == jwt_parts(t["access_token"])[1]["sub"]
    assert before - 2 <= claims["auth_time"] <= int(time.time()) + 1
    assert claims["iat"] >= before - 2


def test_id_token_without_nonce_has_none(idp):
    lg = flow(idp)
    verify_id_token(idp, lg.tokens["id_token"], "web", nonce=None,
                    access_token=lg.tokens["access_token"])


def test_id_token_for_confidential_client(idp):
    lg = flow(idp, client="conf", cb=CONF_CB, nonce="abc")
    claims = verify_id_token(idp, lg.tokens["id_token"], "conf", nonce="abc",
                             access_token=lg.tokens["access_token"])
    assert claims["aud"] in ("conf", ["conf"])


def test_nonce_is_byte_exact(idp):
    nonce = "ñ✓ \"'<>&" + "x" * 200
    lg = flow(idp, nonce=nonce)
    verify_id_token(idp, lg.tokens["id_token"], "web", nonce=nonce)


def test_sub_is_stable_across_logins_and_distinct_between_users(idp):
    u = idp_user(idp)
    a = flow(idp, user=u)
    b = flow(idp, user=u)
    c = flow(idp)
    sa, sb, sc = (jwt_parts(x.tokens["id_token"])[1]["sub"] for x in (a, b, c))
    assert sa == sb != sc


# ---------------------------------------------------------------- /userinfo


def test_userinfo_openid_only(idp):
    lg = flow(idp)
    r = idp.userinfo(lg.access_token)
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json"
    u, _pw, uid = lg.user
    assert r.json() == {"sub": str(uid), "preferred_username": u}


def test_userinfo_profile_and_email(idp):
    u, pw, uid = idp_user(idp, email="someone@example.com", name="Ünï Çödé")
    lg = flow(idp, scope="openid profile email", user=(u, pw, uid))
    body = idp.userinfo(lg.access_token).json()
    assert body["sub"] == str(uid) and body["preferred_username"] == u
    assert body["name"] == "Ünï Çödé"
    assert body["email"] == "someone@example.com"
    assert body["email_verified"] is False


def test_userinfo_email_without_profile_has_no_name(idp):
    lg = flow(idp, scope="openid email")
    body = idp.userinfo(lg.access_token).json()
    assert "email" in body and "name" not in body, body


@pytest.mark.parametrize("method,where", [("GET", "header"), ("POST", "header"),
                                          ("POST", "body")])
def test_userinfo_methods(idp, method, where):
    lg = flow(idp)
    r = idp.userinfo(lg.access_token, method=method, where=where)
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == str(lg.user[2])


def test_userinfo_header_and_body_at_once_is_invalid_request(idp):
    lg = flow(idp)
    r = idp.userinfo(lg.access_token, method="POST", where="both")
    assert r.status_code == 400, r.text
    assert "invalid_request" in (r.text + r.headers.get("WWW-Authenticate", ""))


def test_userinfo_without_token_is_401(idp):
    r = idp.get("/userinfo")
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_row36_id_token_at_userinfo_is_401(idp):
    lg = flow(idp)
    assert_invalid_token(idp.userinfo(lg.tokens["id_token"]))


@pytest.mark.parametrize("tok", ["garbage", "a.b.c", "", "x" * 5000])
def test_userinfo_garbage_is_401(idp, tok):
    if tok == "":
        r = idp.get("/userinfo", headers={"Authorization": "Bearer "})
        assert r.status_code in (400, 401), r.status_code
        return
    assert_invalid_token(idp.userinfo(tok))


def test_userinfo_revoked_token_is_401(idp):
    lg = flow(idp)
    r = idp.revoke(idp.clients["rs"], lg.access_token)
    assert r.status_code == 200
    assert_invalid_token(idp.userinfo(lg.access_token))


def test_userinfo_removed_user_is_401(idp):
    lg = flow(idp)
    idp.cli(["user", "rm", lg.user[0]])
    assert_invalid_token(idp.userinfo(lg.access_token))


def test_userinfo_without_openid_scope_is_403_insufficient_scope(idp):
    lg = flow(idp, scope="mqtt:sub:home/#")
    r = idp.userinfo(lg.access_token)
    assert r.status_code == 403, r.text
    # RFC 6750 §3: the resource server MUST include WWW-Authenticate, naming the scope it lacks
    www = r.headers.get("WWW-Authenticate", "")
    assert www.startswith("Bearer ") and 'error="insufficient_scope"' in www, www
    assert 'scope="openid"' in www, www


def claims_like(idp, lg, **over):
    c = dict(jwt_parts(lg.access_token)[1])
    c.update(over)
    return c


def test_userinfo_expired_token_is_401(idp):
    lg = flow(idp)
    header = jwt_parts(lg.access_token)[0]
    alg, pem = signing_key_from_db(idp.db, header["kid"])
    now = int(time.time())
    forged = sign_jwt(pem, header["kid"], claims_like(idp, lg, iat=now - 7200, exp=now - 3600,
                                                      jti="e" * 22), alg=alg)
    assert_invalid_token(idp.userinfo(forged))
    # control: the same key and claims, not expired, is accepted
    ok = sign_jwt(pem, header["kid"], claims_like(idp, lg, jti="f" * 22), alg=alg)
    assert idp.userinfo(ok).status_code == 200


def test_userinfo_client_credentials_token_gives_no_user(idp):
    tok = idp.access_token(idp.clients["rs"])
    r = idp.userinfo(tok)
    assert r.status_code in (401, 403), r.text


# ---------------------------------------------------------------- rows 34 and 35


def test_row34_alg_none_and_hs256_refused_at_userinfo(idp):
    lg = flow(idp)
    header, claims = jwt_parts(lg.access_token)
    _alg, pem = signing_key_from_db(idp.db, header["kid"])
    for forged in (forge_none(claims, header["kid"]),
                   forge_none(claims, header["kid"]).rstrip("."),
                   forge_hs256(claims, header["kid"], public_pem(pem)),
                   forge_hs256(claims, header["kid"], json.dumps(
                       [k for k in idp.jwks()["keys"] if k["kid"] == header["kid"]][0]).encode())):
        assert_invalid_token(idp.userinfo(forged))


def test_row34_forged_id_token_hint_logs_nobody_in(idp):
    lg = flow(idp)
    header, claims = jwt_parts(lg.tokens["id_token"])
    _alg, pem = signing_key_from_db(idp.db, header["kid"])
    for forged in (forge_none(claims, header["kid"], typ="JWT"),
                   forge_hs256(claims, header["kid"], public_pem(pem), typ="JWT")):
        r = UserAgent(idp).authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                                  extra=[("prompt", "none"),
                                                         ("id_token_hint", forged)]))
        q = redirect_params(r)
        assert "code" not in q and q.get("error") in ("login_required", "invalid_request"), q


@pytest.mark.parametrize("kid", ["../../dev/null", "' OR 1=1--", "K" * 10240, "unknown-kid",
                                 "", "\u00e9"])
def test_row35_hostile_kid_refused_at_userinfo_never_500(idp, kid):
    lg = flow(idp)
    header, claims = jwt_parts(lg.access_token)
    _alg, pem = signing_key_from_db(idp.db, header["kid"])
    forged = sign_jwt(pem, kid, claims)
    if len(forged) < 4000:
        assert_invalid_token(idp.userinfo(forged))
        return
    # a request head over the connection's buffer (6 KiB) is refused before any parsing: 431
    r = idp.userinfo(forged)
    assert r.status_code == 431, (r.status_code, r.text[:300])
    # in the body of a POST the 10 KB kid reaches the JWT code, and is refused there
    assert_invalid_token(idp.userinfo(forged, method="POST", where="body"))


@pytest.mark.parametrize("extra", ["jku", "x5u", "jwk"])
def test_row35_key_url_headers_fetch_nothing(idp, extra):
    lg = flow(idp)
    header, claims = jwt_parts(lg.access_token)
    _alg, pem = signing_key_from_db(idp.db, header["kid"])
    trap = ConnectionTrap()
    try:
        if extra == "jwk":
            from authlib.jose import JsonWebKey
            own = JsonWebKey.generate_key("EC", "P-256", is_private=True)
            h = {"jwk": json.loads(own.as_json(is_private=False))}
            forged = sign_jwt(own.as_pem(is_private=True), "attacker", claims,
                              extra_header=h)
            assert_invalid_token(idp.userinfo(forged))
        else:
            for kid in ("attacker", header["kid"]):
                forged = sign_jwt(pem, kid, claims, extra_header={extra: trap.url})
                r = idp.userinfo(forged)
                if kid == "attacker":
                    assert_invalid_token(r)
                else:
                    assert r.status_code in (200, 401), r.status_code
            time.sleep(0.3)
        assert trap.hits == 0, "the daemon fetched %s" % extra
    finally:
        trap.close()


# ---------------------------------------------------------------- prompt, max_age, hints


def test_prompt_login_shows_the_login_page_and_renews_auth_time(idp):
    lg = flow(idp)
    a = lg.agent
    first = jwt_parts(lg.tokens["id_token"])[1]["auth_time"]
    time.sleep(1.1)
    p = PKCE()
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=p, extra=[("prompt", "login")]))
    assert is_login_page(r), (r.status_code, r.headers.get("Location"))
    u, pw, _ = lg.user
    r = a.run(auth_request("web", WEB_CB, state="s", pkce=p, extra=[("prompt", "login")]),
              username=u, password=pw)
    q = redirect_params(r)
    assert q.get("code") and q["state"] == "s", q
    t = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB).json()
    assert jwt_parts(t["id_token"])[1]["auth_time"] > first


def test_max_age_exceeded_asks_to_log_in_again(idp):
    lg = flow(idp)
    time.sleep(2.1)
    p = PKCE()
    r = lg.agent.authorize(auth_request("web", WEB_CB, pkce=p, extra=[("max_age", "1")]))
    assert is_login_page(r), (r.status_code, r.headers.get("Location"))
    u, pw, _ = lg.user
    r = lg.agent.run(auth_request("web", WEB_CB, pkce=p, extra=[("max_age", "1")]),
                     username=u, password=pw)
    q = redirect_params(r)
    assert q.get("code"), q
    t = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB).json()
    c = verify_id_token(idp, t["id_token"], "web")
    assert c["iat"] - c["auth_time"] <= 2, c


def test_max_age_not_exceeded_gives_the_code(idp):
    lg = flow(idp)
    p = PKCE()
    r = lg.agent.authorize(auth_request("web", WEB_CB, pkce=p, extra=[("max_age", "10000")]))
    q = redirect_params(r)
    assert q.get("code")
    t = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB).json()
    assert "auth_time" in jwt_parts(t["id_token"])[1]


def test_id_token_hint_of_the_logged_in_user_with_prompt_none(idp):
    lg = flow(idp)
    p = PKCE()
    r = lg.agent.authorize(auth_request("web", WEB_CB, pkce=p, extra=[
        ("prompt", "none"), ("id_token_hint", lg.tokens["id_token"])]))
    q = redirect_params(r)
    assert q.get("code"), q
    t = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB).json()
    assert jwt_parts(t["id_token"])[1]["sub"] == jwt_parts(lg.tokens["id_token"])[1]["sub"]


def test_id_token_hint_of_another_user_asks_to_log_in(idp):
    me = flow(idp)
    other = flow(idp)
    r = me.agent.authorize(auth_request("web", WEB_CB, pkce=PKCE(), extra=[
        ("id_token_hint", other.tokens["id_token"])]))
    assert is_login_page(r), (r.status_code, r.headers.get("Location"))
    r = me.agent.authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(), extra=[
        ("prompt", "none"), ("id_token_hint", other.tokens["id_token"])]))
    q = redirect_params(r)
    assert "code" not in q and q.get("error") == "login_required", q


def test_login_hint_is_accepted_and_escaped(idp):
    u, pw, _ = idp_user(idp)
    a = UserAgent(idp)
    r = a.authorize(auth_request("web", WEB_CB, pkce=PKCE(), extra=[("login_hint", u)]))
    assert is_login_page(r)
    f = Page(r).form("/login")
    assert f.field("username") in ("", u)
    r = a.run(auth_request("web", WEB_CB, pkce=PKCE(), extra=[("login_hint", u)]),
              username=u, password=pw)
    assert redirect_params(r).get("code")


# ---------------------------------------------------------------- discovery


@pytest.mark.parametrize("path", DOCS)
def test_discovery_lists_the_code_flow_and_oidc(idp, path):
    d = idp.get(path).json()
    assert d["authorization_endpoint"] == idp.issuer + "/authorize"
    assert d["response_types_supported"] == ["code"]
    assert d["response_modes_supported"] == ["query"]
    assert "authorization_code" in d["grant_types_supported"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert "none" in d["token_endpoint_auth_methods_supported"]
    assert d["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "email"} <= set(d["scopes_supported"])
    if path.endswith("openid-configuration"):
        assert d["userinfo_endpoint"] == idp.issuer + "/userinfo"
        assert d["subject_types_supported"] == ["public"]
        assert d["id_token_signing_alg_values_supported"] == ["ES256"]
        assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "email",
                "email_verified", "preferred_username"} <= set(d["claims_supported"])
        assert {"none", "login", "consent"} <= set(d["prompt_values_supported"])
