"""OpenID Connect RP-Initiated Logout 1.0 at /logout (docs/security.md row 80): discovery's
end_session_endpoint; the confirmation page and its CSRF token; post_logout_redirect_uri only
when registered for the client of client_id or of the id_token_hint (never an open redirect);
state passed through; an id_token_hint of the signed-in user (even expired) ends the session at
once, another user's asks; the session cookie cleared with its own attributes and the session
really gone; refresh tokens left alone. Registration through the CLI and SCIM."""
import time
import urllib.parse

import pytest

from scim_client import ADMIN_CLIENTS, SCIM_CONFIG, T_CLIENT, Scim, err, ok
from tessera_harness import (PKCE, Page, UserAgent, auth_request, code_flow, forge_none,
                             html_security_problems, is_login_page, jwt_parts, new_username,
                             parse_set_cookie, redirect_params, set_cookie_headers, sign_jwt,
                             signing_key_from_db, token_ok)

CB = "https://rp.example/cb"
BYE = "https://rp.example/bye"
OTHER_BYE = "https://other.example/bye"
PW = "correct horse battery"
COOKIE = "tessera_session"


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new(config=SCIM_CONFIG, name="logout")
    s.init()
    for c in ADMIN_CLIENTS:
        c = dict(c)
        s.add_client(c.pop("client_id"), **c)
    s.add_client("app", grants=["authorization_code", "refresh_token"], redirect_uris=[CB],
                 scope="openid profile", name="The App",
                 extra=["--post-logout-redirect-uri", BYE,
                        "--post-logout-redirect-uri", BYE + "?x=1"])
    s.add_client("other", grants=["authorization_code"], redirect_uris=["https://other.example/cb"],
                 scope="openid", name="Other", extra=["--post-logout-redirect-uri", OTHER_BYE])
    return s.start()


def user(srv):
    name = new_username("l")
    return name, srv.add_user(name, PW)["id"]


def signed_in(srv, name, client="app", cb=CB):
    """(agent, tokens): a browser signed in as name, with the tokens of its code flow."""
    agent = UserAgent(srv)
    login = code_flow(srv, srv.clients[client], name, PW, redirect_uri=cb, scope="openid",
                      agent=agent)
    assert COOKIE in agent.cookies
    return agent, login.tokens


def session_alive(srv, cookie_value):
    """Whether /authorize with this session cookie value (sent by a fresh browser) skips the
    login page."""
    a = UserAgent(srv)
    a.cookies[COOKIE] = cookie_value
    r = a.authorize(auth_request("app", CB, scope="openid", pkce=PKCE()))
    if is_login_page(r):
        return False
    assert r.status_code == 303, (r.status_code, r.text[:300])
    return True


def logout(agent, params, method="GET"):
    if method == "GET":
        return agent.get("/logout?" + urllib.parse.urlencode(params))
    return agent.post("/logout", params)


def check_page(r, status):
    assert r.status_code == status, (r.status_code, r.headers.get("Location"), r.text[:500])
    assert "Location" not in r.headers, r.headers
    bad = html_security_problems(r)
    assert not bad, bad


def is_confirm_page(r):
    return r.status_code == 200 and Page(r).has_form("/logout")


def cleared_cookie(r):
    """The attributes of r's Set-Cookie clearing the session cookie (asserting there is one)."""
    for raw in set_cookie_headers(r):
        n, v, attrs = parse_set_cookie(raw)
        if n == COOKIE:
            assert v == "" and attrs.get("max-age") == "0", raw
            return attrs
    raise AssertionError("no Set-Cookie for %s: %r" % (COOKIE, set_cookie_headers(r)))


def id_token_for(srv, claims_from, **changes):
    """An ID token signed with the server's current key: the claims of claims_from, changed."""
    header, claims = jwt_parts(claims_from)
    claims.update(changes)
    alg, pem = signing_key_from_db(srv.db, header["kid"])
    return sign_jwt(pem, header["kid"], claims, alg=alg, typ="JWT")


# ---------------------------------------------------------------- discovery

@pytest.mark.parametrize("path", ["/.well-known/openid-configuration",
                                  "/.well-known/oauth-authorization-server"])
def test_row80_discovery_lists_end_session_endpoint(srv, path):
    d = srv.get(path).json()
    assert d["end_session_endpoint"] == srv.issuer + "/logout", d


def test_row80_logout_is_get_and_post_only(srv):
    r = UserAgent(srv).request("PUT", "/logout", data="")
    assert r.status_code == 405 and "POST" in r.headers.get("Allow", ""), r.headers


# ---------------------------------------------------------------- confirmation

def test_row80_without_hint_the_user_is_asked_then_signed_out(srv):
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    state = "st \u00e9 &x=1/\u2603"
    r = logout(agent, [("client_id", "app"), ("post_logout_redirect_uri", BYE), ("state", state)])
    check_page(r, 200)
    assert is_confirm_page(r), r.text[:500]
    page = Page(r)
    assert "The App" in page.text and name in page.text, page.text
    f = page.form("/logout")
    assert f.method == "post" and f.has("csrf"), f.fields
    assert ("decision", "logout") in f.buttons, f.buttons
    assert not any(parse_set_cookie(c)[0] == COOKIE for c in set_cookie_headers(r))
    assert session_alive(srv, old), "the session ended before the user said so"
    r = agent.submit(r, "/logout", button=("decision", "logout"))
    q = redirect_params(r)
    assert urllib.parse.urlsplit(r.headers["Location"])._replace(query="").geturl() == BYE
    assert q == {"state": state}, q
    attrs = cleared_cookie(r)
    assert attrs.get("path") == "/" and attrs.get("httponly") is True, attrs
    assert attrs.get("samesite", "").lower() == "lax", attrs
    assert not session_alive(srv, old), "the session is still there"
    assert is_login_page(agent.authorize(auth_request("app", CB, scope="openid", pkce=PKCE())))


def test_row80_signed_out_page_without_redirect_uri(srv):
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [])
    assert is_confirm_page(r)
    r = agent.submit(r, "/logout", button=("decision", "logout"))
    check_page(r, 200)
    assert "signed out" in Page(r).text.lower(), Page(r).text
    cleared_cookie(r)
    assert not session_alive(srv, old)


def test_row80_stay_signed_in_keeps_the_session(srv):
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("client_id", "app"), ("post_logout_redirect_uri", BYE), ("state", "s")])
    r = agent.submit(r, "/logout", button=("decision", "stay"))
    assert redirect_params(r) == {"state": "s"}
    assert not any(parse_set_cookie(c)[0] == COOKIE for c in set_cookie_headers(r))
    assert session_alive(srv, old)


def test_row80_post_request_is_answered_like_get(srv):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("client_id", "app")], method="POST")
    assert is_confirm_page(r)
    assert session_alive(srv, old)
    r = logout(agent, [("id_token_hint", tokens["id_token"]),
                       ("post_logout_redirect_uri", BYE + "?x=1"), ("state", "p")],
               method="POST")
    assert redirect_params(r) == {"x": "1", "state": "p"}
    assert not session_alive(srv, old)


# ---------------------------------------------------------------- CSRF and other sites

@pytest.mark.parametrize("how", ["missing", "wrong", "other-session"])
def test_row80_confirmation_without_its_csrf_token_ends_nothing(srv, how):
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("client_id", "app"), ("post_logout_redirect_uri", BYE)])
    f = Page(r).form("/logout")
    if how == "missing":
        data = f.data(drop=("csrf",), button=("decision", "logout"))
    elif how == "wrong":
        data = f.data({"csrf": "A" * 43}, button=("decision", "logout"))
    else:
        other, _t = signed_in(srv, user(srv)[0])
        token = Page(logout(other, [("client_id", "app")])).form("/logout").field("csrf")
        data = f.data({"csrf": token}, button=("decision", "logout"))
    r = agent.post("/logout", data)
    check_page(r, 403)
    assert not set_cookie_headers(r) or all(parse_set_cookie(c)[0] != COOKIE
                                            for c in set_cookie_headers(r))
    assert session_alive(srv, old)


def test_row80_request_from_another_site_only_asks(srv):
    """A page elsewhere posting to /logout (a top-level form POST; were the Lax cookie sent)
    or linking to it gets the confirmation page, never a silent sign-out."""
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    h = {"Origin": "https://evil.example", "Referer": "https://evil.example/x"}
    for method in ("GET", "POST"):
        data = [("client_id", "app"), ("post_logout_redirect_uri", BYE), ("state", "e")]
        if method == "GET":
            r = agent.get("/logout?" + urllib.parse.urlencode(data), headers=h)
        else:
            r = agent.post("/logout", data, headers=h)
        assert is_confirm_page(r), (method, r.status_code, r.text[:300])
    r = agent.get("/logout?decision=logout&client_id=app", headers=h)
    assert is_confirm_page(r), "a GET with decision=logout must still ask"
    assert session_alive(srv, old)


# ---------------------------------------------------------------- id_token_hint

def test_row80_hint_of_the_signed_in_user_ends_the_session_at_once(srv):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("id_token_hint", tokens["id_token"]),
                       ("post_logout_redirect_uri", BYE), ("state", "abc")])
    assert redirect_params(r) == {"state": "abc"}
    cleared_cookie(r)
    assert not session_alive(srv, old)


def test_row80_expired_hint_of_the_user_is_still_a_hint(srv):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    now = int(time.time())
    expired = id_token_for(srv, tokens["id_token"], iat=now - 7200, exp=now - 3600)
    r = logout(agent, [("id_token_hint", expired), ("post_logout_redirect_uri", BYE)])
    assert r.status_code == 303 and r.headers["Location"] == BYE, (r.status_code, r.text[:300])
    assert not session_alive(srv, old)


def test_row80_hint_of_another_user_asks(srv):
    alice, _ = user(srv)
    bob, _ = user(srv)
    agent, _tokens = signed_in(srv, alice)
    _bob_agent, bob_tokens = signed_in(srv, bob)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("id_token_hint", bob_tokens["id_token"]),
                       ("post_logout_redirect_uri", BYE)])
    assert is_confirm_page(r), (r.status_code, r.headers.get("Location"))
    assert alice in Page(r).text
    assert session_alive(srv, old)


@pytest.mark.parametrize("how", ["alg-none", "other-issuer", "garbage", "access-token"])
def test_row80_hint_not_ours_is_an_error_page(srv, how):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    header, claims = jwt_parts(tokens["id_token"])
    hint = {"alg-none": lambda: forge_none(claims, header["kid"], typ="JWT"),
            "other-issuer": lambda: id_token_for(srv, tokens["id_token"],
                                                 iss="https://evil.example"),
            "garbage": lambda: "a.b.c",
            "access-token": lambda: tokens["access_token"]}[how]()
    r = logout(agent, [("id_token_hint", hint), ("post_logout_redirect_uri", BYE)])
    check_page(r, 400)
    assert session_alive(srv, old)


def test_row80_client_id_must_agree_with_the_hint(srv):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    r = logout(agent, [("id_token_hint", tokens["id_token"]), ("client_id", "other"),
                       ("post_logout_redirect_uri", OTHER_BYE)])
    check_page(r, 400)
    assert session_alive(srv, old)
    r = logout(agent, [("id_token_hint", tokens["id_token"]), ("client_id", "app"),
                       ("post_logout_redirect_uri", BYE)])
    assert r.status_code == 303 and r.headers["Location"] == BYE
    assert not session_alive(srv, old)


# ---------------------------------------------------------------- post_logout_redirect_uri

@pytest.mark.parametrize("params", [
    [("client_id", "app"), ("post_logout_redirect_uri", BYE + "/x")],
    [("client_id", "app"), ("post_logout_redirect_uri", BYE + "?x=2")],
    [("client_id", "app"), ("post_logout_redirect_uri", "https://RP.example/bye")],
    [("client_id", "app"), ("post_logout_redirect_uri", "https://evil.example/")],
    [("client_id", "app"), ("post_logout_redirect_uri", CB)],           # a redirect_uri only
    [("client_id", "app"), ("post_logout_redirect_uri", OTHER_BYE)],    # another client's
    [("client_id", "nobody"), ("post_logout_redirect_uri", BYE)],
    [("post_logout_redirect_uri", BYE)],                                # no client named
    [("client_id", "app"), ("post_logout_redirect_uri", BYE), ("client_id", "other")],
], ids=["path", "query", "case", "elsewhere", "redirect-uri", "other-client", "unknown-client",
        "no-client", "repeated"])
def test_row80_unregistered_post_logout_redirect_uri_is_an_error_page(srv, params):
    name, _uid = user(srv)
    agent, _tokens = signed_in(srv, name)
    old = agent.cookies[COOKIE]
    for method in ("GET", "POST"):
        r = logout(agent, params + [("state", "s")], method=method)
        check_page(r, 400)
    assert session_alive(srv, old)


def test_row80_not_signed_in_goes_straight_back(srv):
    r = UserAgent(srv).get("/logout?" + urllib.parse.urlencode(
        [("client_id", "app"), ("post_logout_redirect_uri", BYE), ("state", "z")]))
    assert redirect_params(r) == {"state": "z"}
    r = UserAgent(srv).get("/logout")
    check_page(r, 200)


def test_row80_refresh_tokens_survive_logout(srv):
    name, _uid = user(srv)
    agent, tokens = signed_in(srv, name)
    r = logout(agent, [("id_token_hint", tokens["id_token"])])
    check_page(r, 200)
    cleared_cookie(r)
    token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))


# ---------------------------------------------------------------- registration

def test_row80_cli_registers_and_shows_post_logout_redirect_uris(srv):
    out = srv.cli(["client", "show", "app"]).json()
    assert out["post_logout_redirect_uris"] == [BYE, BYE + "?x=1"], out
    for bad in ("/relative", "https://a.example/#f", "no scheme"):
        r = srv.cli(["client", "add", new_username("c"), "--post-logout-redirect-uri", bad])
        assert r.rc == 2 and "post-logout" in r.stderr, r


def test_row80_scim_post_logout_redirect_uris(srv):
    api = Scim(srv)
    cname = new_username("sc")
    body = {"schemas": [T_CLIENT], "clientName": cname, "grantTypes": ["authorization_code"],
            "redirectUris": [CB], "scope": "openid",
            "postLogoutRedirectUris": ["https://s.example/bye"]}
    made = ok(api.post("/Clients", body), 201)
    cid = made["id"]
    assert made["postLogoutRedirectUris"] == ["https://s.example/bye"], made
    listed = ok(api.get("/Clients?filter=" + urllib.parse.quote('clientName eq "%s"' % cname)))
    assert listed["Resources"][0]["postLogoutRedirectUris"] == ["https://s.example/bye"]
    schema = ok(api.get("/Schemas/" + T_CLIENT))
    assert "postLogoutRedirectUris" in [a["name"] for a in schema["attributes"]], schema
    r = api.patch("/Clients/" + cid, {"op": "add", "path": "postLogoutRedirectUris",
                                      "value": ["https://s.example/bye2"]})
    assert ok(r)["postLogoutRedirectUris"] == ["https://s.example/bye",
                                               "https://s.example/bye2"]
    body["postLogoutRedirectUris"] = ["https://s.example/only"]
    assert ok(api.put("/Clients/" + cid, body))["postLogoutRedirectUris"] == \
        ["https://s.example/only"]
    # registered over SCIM: /logout takes it, and not the one PUT replaced
    r = UserAgent(srv).get("/logout?" + urllib.parse.urlencode(
        [("client_id", cid), ("post_logout_redirect_uri", "https://s.example/only")]))
    assert r.status_code == 303 and r.headers["Location"] == "https://s.example/only"
    r = UserAgent(srv).get("/logout?" + urllib.parse.urlencode(
        [("client_id", cid), ("post_logout_redirect_uri", "https://s.example/bye")]))
    check_page(r, 400)
    for bad in ("relative/path", "https://a.example/#frag"):
        body["postLogoutRedirectUris"] = [bad]
        err(api.put("/Clients/" + cid, body), 400, "invalidValue")
