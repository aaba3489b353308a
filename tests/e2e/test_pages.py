"""The login and consent pages: headers (row 13), CSRF (row 14), 303 after login (row 12),
escaping, cookies, the consent page's words, and login throttling (per user and per address)."""
import time
import urllib.parse

import pytest

from tessera_harness import (PKCE, Page, UserAgent, auth_request, html_security_problems,  # noqa: F401
                             idp, idp_user, is_consent_page, is_login_page, location_of, parse_set_cookie,
                             redirect_params, set_cookie_headers)

WEB_CB = "http://127.0.0.1:9/cb"
CONF_CB = "https://rp.example/cb"


def check_html_headers(r):
    """Row 13 and the README's header list (Pages) for every HTML page, nothing loaded from
    elsewhere (html_security_problems), and its one stylesheet our own."""
    bad = html_security_problems(r)
    assert not bad, bad
    csp = r.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0].lower(): d.split()[1:] for d in csp.split(";") if d.split()}
    assert directives.get("style-src") == ["'self'"], directives
    sheets = [a.get("href") for tag, a in Page(r).tags
              if tag == "link" and "stylesheet" in a.get("rel", "")]
    assert sheets in ([], ["/static/style.css"]), sheets


def check_page(r, status):
    assert r.status_code == status, (r.status_code, r.headers.get("Location"), r.text[:500])
    check_html_headers(r)


def login_page(srv, client="web", cb=WEB_CB, scope="openid", extra=(), state="st",
               agent=None):
    a = agent or UserAgent(srv)
    r = a.authorize(auth_request(client, cb, scope=scope, state=state, pkce=PKCE(),
                                 extra=extra))
    assert is_login_page(r), (r.status_code, r.headers.get("Location"), r.text[:500])
    return a, r


def cookie_attrs(r, name):
    for raw in set_cookie_headers(r):
        n, v, attrs = parse_set_cookie(raw)
        if n == name:
            return v, attrs
    return None, None


# ---------------------------------------------------------------- row 13: headers


def test_row13_login_page_headers_and_nothing_from_elsewhere(idp):
    _a, r = login_page(idp)
    check_page(r, 200)


def test_row13_consent_page_headers(idp):
    u, pw, _ = idp_user(idp)
    r = UserAgent(idp).run(auth_request("web", WEB_CB, pkce=PKCE()), username=u, password=pw,
                           decision=None)
    assert is_consent_page(r)
    check_page(r, 200)


@pytest.mark.parametrize("params", [
    [("client_id", "nobody"), ("redirect_uri", WEB_CB)],
    [("client_id", "web"), ("redirect_uri", "https://evil.example/cb")]],
    ids=["unknown-client", "bad-redirect-uri"])
def test_row13_error_page_headers(idp, params):
    r = UserAgent(idp).authorize([("response_type", "code")] + params + PKCE().params())
    check_page(r, 400)
    assert "Location" not in r.headers


def test_row13_csrf_failure_page_headers(idp):
    a, r = login_page(idp)
    r = a.login(r, "nobody", "x", overrides={"csrf": "wrong"})
    check_page(r, 403)


def test_stylesheet_is_served_as_css(idp):
    r = idp.get("/static/style.css")
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "text/css"
    assert "<" not in r.text


# ---------------------------------------------------------------- the login form


def test_login_form_fields_and_carried_request(idp):
    p = PKCE()
    params = auth_request("web", WEB_CB, scope="openid profile", state="st", nonce="nn",
                          pkce=p, extra=[("max_age", "600")])
    a = UserAgent(idp)
    r = a.authorize(params)
    assert is_login_page(r)
    f = Page(r).form("/login")
    assert f.method == "post"
    assert urllib.parse.urlsplit(f.action).path == "/login"
    assert f.has("username") and f.type_of("username") in ("text", "email")
    assert f.type_of("password") == "password" and f.field("password") == ""
    assert f.type_of("csrf") == "hidden" and len(f.field("csrf")) >= 22
    carried = {n: v for n, v, tp in f.fields if tp == "hidden" and n != "csrf"}
    for k, v in params:
        assert carried.get(k) == v, (k, v, carried)
    assert a.cookies.get("tessera_csrf"), a.cookies


def test_csrf_cookie_attributes_and_set_only_when_absent(idp):
    a = UserAgent(idp)
    _a, r = login_page(idp, agent=a)
    v, attrs = cookie_attrs(r, "tessera_csrf")
    assert v, set_cookie_headers(r)
    assert attrs.get("httponly") is True, attrs
    assert str(attrs.get("samesite", "")).lower() == "lax", attrs
    assert attrs.get("path") == "/", attrs
    assert "domain" not in attrs, attrs
    _a, r2 = login_page(idp, agent=a)
    v2, _ = cookie_attrs(r2, "tessera_csrf")
    assert v2 is None, "tessera_csrf set again although the browser sent it"
    assert a.cookies["tessera_csrf"] == v


def test_row12_successful_login_is_303_back_to_the_same_request(idp):
    u, pw, _ = idp_user(idp)
    params = auth_request("web", WEB_CB, scope="openid profile", state="s t&u",
                          nonce="n", pkce=PKCE(), extra=[("extra", "foobar")])
    a = UserAgent(idp)
    r = a.authorize(params)
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])    # never 307 (nor 308)
    loc = urllib.parse.urlsplit(urllib.parse.urljoin(idp.base + "/", location_of(r)))
    assert loc.path == "/authorize"
    assert (loc.scheme, loc.netloc) == ("http", "127.0.0.1:%d" % idp.port)
    got = urllib.parse.parse_qsl(loc.query, keep_blank_values=True)
    want = [(k, v) for k, v in params if k != "extra"]
    assert sorted(x for x in got if x[0] != "extra") == sorted(want), (got, want)
    v, attrs = cookie_attrs(r, "tessera_session")
    assert v and len(v) >= 22, set_cookie_headers(r)
    assert attrs.get("httponly") is True and attrs.get("path") == "/", attrs
    assert str(attrs.get("samesite", "")).lower() == "lax", attrs
    assert "secure" not in attrs     # http issuer
    assert is_consent_page(a.follow(r))


def test_wrong_password_gives_401_login_page_with_message(throttled):
    s = throttled
    u, pw, _ = idp_user(s, scope="")
    a, r = login_page(s)
    first = Page(r).text
    r = a.login(r, u, pw + "x")
    check_page(r, 401)
    assert Page(r).text != first, "no error message on the 401 page"
    assert is_login_page_any(r)
    assert cookie_attrs(r, "tessera_session") == (None, None)
    assert "tessera_session" not in a.cookies
    # the request is still carried: a retry with the right password completes it
    r = a.login(r, u, pw)
    assert r.status_code == 303, r.status_code


def is_login_page_any(r):
    return Page(r).has_form("/login")


def test_unknown_user_gives_the_same_401_page(throttled):
    a, r = login_page(throttled)
    r = a.login(r, "no-such-user-" + str(time.time()), "x")
    check_page(r, 401)
    assert is_login_page_any(r)


# ---------------------------------------------------------------- row 14: CSRF


@pytest.mark.parametrize("how", ["missing", "wrong", "no-cookie", "other-browser"])
def test_row14_login_csrf_failure_is_403_and_logs_nobody_in(idp, how):
    u, pw, _ = idp_user(idp)
    a, r = login_page(idp)
    if how == "missing":
        r2 = a.login(r, u, pw, drop=("csrf",))
    elif how == "wrong":
        r2 = a.login(r, u, pw, overrides={"csrf": "A" * 43})
    elif how == "no-cookie":
        a.cookies.pop("tessera_csrf", None)
        r2 = a.login(r, u, pw)
    else:
        b, rb = login_page(idp)
        r2 = a.login(r, u, pw, overrides={"csrf": Page(rb).form("/login").field("csrf")})
    assert r2.status_code == 403, (r2.status_code, r2.headers.get("Location"))
    assert "Location" not in r2.headers
    assert cookie_attrs(r2, "tessera_session") == (None, None)
    assert "tessera_session" not in a.cookies
    r3 = a.authorize(auth_request("web", WEB_CB, pkce=PKCE()))
    assert is_login_page(r3), "logged in despite the CSRF failure"


@pytest.mark.parametrize("how", ["missing", "wrong", "other-session"])
def test_row14_consent_csrf_failure_is_403_and_grants_nothing(idp, how):
    u, pw, _ = idp_user(idp)
    a = UserAgent(idp)
    r = a.run(auth_request("web", WEB_CB, scope="openid email", state="s", pkce=PKCE()),
              username=u, password=pw, decision=None)
    assert is_consent_page(r)
    if how == "missing":
        r2 = a.consent(r, "allow", drop=("csrf",))
    elif how == "wrong":
        r2 = a.consent(r, "allow", overrides={"csrf": "A" * 43})
    else:
        u2, pw2, _ = idp_user(idp)
        b = UserAgent(idp)
        rb = b.run(auth_request("web", WEB_CB, scope="openid email", pkce=PKCE()),
                   username=u2, password=pw2, decision=None)
        r2 = a.consent(r, "allow", overrides={"csrf": Page(rb).form("/consent").field("csrf")})
    assert r2.status_code == 403, (r2.status_code, r2.headers.get("Location"))
    assert "code=" not in (r2.headers.get("Location") or "")
    check_html_headers(r2)
    # nothing was remembered either
    r3 = a.authorize(auth_request("web", WEB_CB, scope="openid email", pkce=PKCE(),
                                  extra=[("prompt", "none")]))
    assert redirect_params(r3).get("error") == "consent_required"


def test_row14_consent_post_without_session_grants_nothing(idp):
    u, pw, _ = idp_user(idp)
    a = UserAgent(idp)
    r = a.run(auth_request("web", WEB_CB, pkce=PKCE()), username=u, password=pw, decision=None)
    assert is_consent_page(r)
    a.cookies.pop("tessera_session")
    r2 = a.consent(r, "allow")
    assert 400 <= r2.status_code < 500, r2.status_code
    assert "code=" not in (r2.headers.get("Location") or "")


# ---------------------------------------------------------------- the consent page


def test_consent_page_names_client_and_scopes_in_words(idp):
    u, pw, _ = idp_user(idp)
    scope = "openid profile email mqtt:pub:sensors/kitchen/# mqtt:sub:cmd/dev42"
    r = UserAgent(idp).run(auth_request("conf", CONF_CB, scope=scope, pkce=PKCE()),
                           username=u, password=pw, decision=None)
    assert is_consent_page(r)
    text = Page(r).text.lower()
    for words in ("conformance rp", "publish to sensors/kitchen/#",
                  "receive messages on cmd/dev42", "your email address",
                  "your name and username", "sign you in"):
        assert words in text, (words, text)
    f = Page(r).form("/consent")
    assert f.method == "post"
    assert ("decision", "allow") in f.buttons and ("decision", "deny") in f.buttons
    assert f.type_of("csrf") == "hidden"


def test_consent_page_shows_the_filled_in_topic(idp):
    u, pw, _ = idp_user(idp)
    r = UserAgent(idp).run(auth_request("web", WEB_CB, scope="mqtt:sub:home/#", pkce=PKCE()),
                           username=u, password=pw, decision=None)
    assert is_consent_page(r)
    text = Page(r).text
    assert "home/%s/#" % u in text, text
    assert "${username}" not in text


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;\''


def test_values_are_html_escaped_on_the_login_page(idp):
    a, r = login_page(idp, state=HOSTILE, extra=[("login_hint", HOSTILE), ("nonce", HOSTILE)])
    assert "<script>alert(1)" not in r.text
    assert "<img src=x" not in r.text
    page = Page(r)
    assert not [tg for tg, _a in page.tags if tg in ("script", "img")]
    f = page.form("/login")
    assert f.field("state") == HOSTILE     # round-trips exactly through the escaping


def test_client_name_is_html_escaped_on_the_consent_page(idp):
    idp.add_client("evil-name", public=True, grants=["authorization_code"], name=HOSTILE,
                   redirect_uris=[WEB_CB], scope="openid")
    # a client never looked up before is read from the store: no wait
    u, pw, _ = idp_user(idp)
    r = UserAgent(idp).run(auth_request("evil-name", WEB_CB, pkce=PKCE()), username=u,
                           password=pw, decision=None)
    assert is_consent_page(r)
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    assert HOSTILE in Page(r).text


def test_state_on_consent_form_round_trips(idp):
    u, pw, _ = idp_user(idp)
    a = UserAgent(idp)
    r = a.run(auth_request("web", WEB_CB, state=HOSTILE, pkce=PKCE()), username=u, password=pw,
              decision=None)
    assert "<script>alert(1)" not in r.text
    r = a.consent(r, "allow")
    assert redirect_params(r)["state"] == HOSTILE


# ---------------------------------------------------------------- https issuer cookies


def test_https_issuer_uses_host_prefixed_secure_cookies(fresh_factory):
    s = fresh_factory.new(flags="listen", name="https-issuer")
    s.init()
    s.add_client("web", public=True, grants=["authorization_code"], redirect_uris=[WEB_CB],
                 scope="openid")
    u, pw, _ = idp_user(s, scope="")
    s.start(extra_args=["--issuer", "https://auth.example"])
    a = UserAgent(s)
    r = a.authorize(auth_request("web", WEB_CB, pkce=PKCE()))
    assert is_login_page(r)
    v, attrs = cookie_attrs(r, "__Host-tessera_csrf")
    assert v, set_cookie_headers(r)
    assert attrs.get("secure") is True and attrs.get("path") == "/" and "domain" not in attrs
    assert cookie_attrs(r, "tessera_csrf") == (None, None)
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    v, attrs = cookie_attrs(r, "__Host-tessera_session")
    assert v, set_cookie_headers(r)
    assert attrs.get("secure") is True and attrs.get("httponly") is True
    assert attrs.get("path") == "/" and "domain" not in attrs
    assert cookie_attrs(r, "tessera_session") == (None, None)
    # the iss of the code redirect is the https issuer
    r = a.authorize(auth_request("web", WEB_CB, pkce=PKCE()))
    if is_consent_page(r):
        r = a.consent(r, "allow")
    assert redirect_params(r)["iss"] == "https://auth.example"


# ---------------------------------------------------------------- throttling (own servers)

@pytest.fixture(scope="module")
def throttled(server_factory):
    return server_factory.start(
        clients=[dict(client_id="web", public=True, grants=["authorization_code"],
                      redirect_uris=[WEB_CB], scope="openid")],
        name="throttle")


def test_row21_login_throttled_per_user_and_right_password_refused_during_the_wait(throttled):
    s = throttled
    u, pw, _ = idp_user(s, scope="")
    v, vpw, _ = idp_user(s, scope="")
    a, r = login_page(s)
    for i in range(5):
        r = a.login(r, u, "wrong%d" % i)
        assert r.status_code == 401, (i, r.status_code)
    r = a.login(r, u, "wrong-6")
    check_page(r, 429)
    # the right password during the wait is refused too
    _b, rb = login_page(s)
    rb = _b.login(rb, u, pw)
    assert rb.status_code == 429, rb.status_code
    assert "tessera_session" not in _b.cookies
    # another user is not affected
    c, rc = login_page(s)
    rc = c.login(rc, v, vpw)
    assert rc.status_code == 303, rc.status_code


def test_row21_login_throttle_per_username_is_case_insensitive(throttled):
    s = throttled
    u, pw, _ = idp_user(s, scope="")
    a, r = login_page(s)
    for i in range(5):
        r = a.login(r, u.upper() if i % 2 else u, "wrong%d" % i)
        assert r.status_code == 401, (i, r.status_code)
    r = a.login(r, u.upper(), pw)
    assert r.status_code == 429, r.status_code


def test_row21_login_throttled_per_client_address(fresh_factory):
    s = fresh_factory.start(
        clients=[dict(client_id="web", public=True, grants=["authorization_code"],
                      redirect_uris=[WEB_CB], scope="openid")], name="ip-throttle")
    u, pw, _ = idp_user(s, scope="")
    a, r = login_page(s)
    for i in range(20):
        r = a.login(r, "nobody%d" % i, "wrong")
        assert r.status_code == 401, (i, r.status_code)
    r = a.login(r, "nobody-21", "wrong")
    check_page(r, 429)
    b, rb = login_page(s)
    rb = b.login(rb, u, pw)
    assert rb.status_code == 429, "the right password from that address during the wait"
