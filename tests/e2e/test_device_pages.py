"""The device authorization grant (RFC 8628), part two: the /device verification pages (the entry
page, GET /device?user_code=, the confirmation page and the decision). docs/security.md rows 13,
14, 28 and 29."""
import urllib.parse

import pytest

from device_cases import (HOSTILE, Page, TV_NAME, UserAgent, c, check_device_page, device_decide,
                          device_flow, device_open, device_path, is_device_confirmation,
                          location_of, normalize_user_code, poll_error, random_user_code, short,
                          srv, token_ok, user, user_code_spellings, words)  # noqa: F401 (srv, short: fixtures)


# ---------------------------------------------------------------- the entry page


def test_row13_entry_page_has_the_user_code_form(srv):
    a = UserAgent(srv)
    r = a.get("/device")
    page = check_device_page(r, 200)
    f = page.form("/device")
    assert f.method == "post"
    assert urllib.parse.urlsplit(f.action).path == "/device"
    assert f.has("user_code") and f.type_of("user_code") == "text"
    assert f.type_of("csrf") == "hidden" and len(f.field("csrf")) >= 22
    assert not [b for b in f.buttons if b[0] == "decision"], f.buttons
    assert a.cookies.get("tessera_csrf"), a.cookies


def entry_post(a, typed, overrides=None, drop=()):
    r = a.get("/device")
    assert r.status_code == 200, r.status_code
    o = {"user_code": typed}
    o.update(overrides or {})
    f = Page(r).form("/device")
    btn = f.buttons[0] if f.buttons else None
    return a.post("/device", f.data(o, drop, btn))


def location_user_code(r):
    loc = urllib.parse.urlsplit(urllib.parse.urljoin("http://x/", location_of(r)))
    assert loc.path == "/device", location_of(r)
    q = urllib.parse.parse_qsl(loc.query, keep_blank_values=True)
    assert [k for k, _v in q] == ["user_code"], q
    return q[0][1]


@pytest.mark.parametrize("how", ["as-shown", "lower", "no-dash", "spaces", "mixed"])
def test_entry_post_redirects_303_to_the_normalised_code(srv, how):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    typed = {"as-shown": code, "lower": code.lower(), "no-dash": code.replace("-", ""),
             "spaces": " %s %s " % (code[:4].lower(), code[5:].lower()),
             "mixed": code[:4].lower() + code[5:]}[how]
    a = UserAgent(srv)
    r = entry_post(a, typed)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == code
    r2 = a.follow(r)
    check_device_page(r2, 200)
    assert Page(r2).has_form("/login"), r2.text[:500]


def test_entry_post_sends_a_malformed_code_along_as_typed(srv):
    a = UserAgent(srv)
    r = entry_post(a, "hello 42")
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == "hello 42"
    check_device_page(a.follow(r), 400, "unknown code")


@pytest.mark.parametrize("how", ["missing", "wrong", "no-cookie"])
def test_row14_entry_post_csrf_failure_is_403(srv, how):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    a = UserAgent(srv)
    if how == "missing":
        r = entry_post(a, code, drop=("csrf",))
    elif how == "wrong":
        r = entry_post(a, code, overrides={"csrf": "A" * 43})
    else:
        f = Page(a.get("/device")).form("/device")
        a.cookies.pop("tessera_csrf", None)
        r = a.post("/device", f.data({"user_code": code}))
    check_device_page(r, 403)


# ---------------------------------------------------------------- GET /device?user_code=


@pytest.mark.parametrize("typed", ["random", "hello", "BCDF-GHJ", "AEIO-UAEI", "BCDF-GHJK1",
                                   "BCDF_GHJK", "BCDF-GHJK-L", "0000-0000"])
def test_unknown_or_malformed_code_is_a_400_unknown_code_page(srv, typed):
    if typed == "random":
        typed = random_user_code()
    check_device_page(UserAgent(srv).get(device_path(typed)), 400, "unknown code")


@pytest.mark.parametrize("typed", ["<script>alert(1)</script>", HOSTILE,
                                   "BCDF<script>GHJK", "wdjb-<b>mjht</b>"])
def test_row29_script_in_user_code_is_escaped(srv, typed):
    a = UserAgent(srv)
    for r in (a.get(device_path(typed)), a.follow(entry_post(a, typed))):
        page = check_device_page(r, 400, "unknown code")
        assert "<script>" not in r.text and "<img src=x" not in r.text and "<b>" not in r.text
        assert not [tg for tg, _a in page.tags if tg in ("script", "img", "b")]


def test_row29_spellings_of_a_code_are_the_same_code(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="openid mqtt:pub:home/#")
    code = body["user_code"]
    # not logged in: every spelling finds the code (the login page, never "unknown code")
    for sp in user_code_spellings(code):
        r = UserAgent(srv).get(device_path(sp))
        check_device_page(r, 200)
        f = Page(r).form("/login")
        assert normalize_user_code(f.field("user_code")) == code, (sp, f.field("user_code"))
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = device_open(a, code.replace("-", "").lower(), u, pw)
    assert is_device_confirmation(r), (r.status_code, r.text[:500])
    pages = {}
    for sp in user_code_spellings(code):
        rr = a.get(device_path(sp))
        assert is_device_confirmation(rr), (sp, rr.status_code, rr.text[:300])
        assert code in Page(rr).text, (sp, Page(rr).text[:500])
        pages[sp] = rr
    # approving from the page of a lower-case spelling approves the code
    done = device_decide(a, pages[code.lower()], "allow")
    check_device_page(done, 200, "device connected")
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert words(tokens["scope"]) == {"openid", "mqtt:pub:home/%s/#" % u}
    for sp in user_code_spellings(code):
        check_device_page(a.get(device_path(sp)), 400, "already used")


def test_not_logged_in_gives_the_login_page_and_login_returns_303_to_the_code(srv):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = a.get(device_path(code.lower()))
    page = check_device_page(r, 200)
    f = page.form("/login")
    assert f.method == "post" and urllib.parse.urlsplit(f.action).path == "/login"
    assert f.has("username") and f.type_of("password") == "password"
    assert f.type_of("csrf") == "hidden"
    assert f.type_of("user_code") == "hidden"
    assert normalize_user_code(f.field("user_code")) == code
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == code
    assert a.cookies.get("tessera_session")
    r = a.follow(r)
    check_device_page(r, 200)
    assert is_device_confirmation(r)


def test_login_with_a_wrong_password_from_the_device_page_keeps_the_code(srv):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = a.login(a.get(device_path(code)), u, pw + "x")
    check_device_page(r, 401)
    assert normalize_user_code(Page(r).form("/login").field("user_code")) == code
    r = a.login(r, u, pw)
    assert r.status_code == 303 and location_user_code(r) == code


# ---------------------------------------------------------------- the confirmation page


def test_row28_confirmation_page_shows_client_code_scopes_user_and_grants_nothing(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="openid profile email mqtt:sub:home/# mqtt:pub:sensors/#")
    code = body["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = device_open(a, code, u, pw)
    page = check_device_page(r, 200)
    assert is_device_confirmation(r)
    text = page.text
    low = text.lower()
    for w in (TV_NAME.lower(), code.lower(), u.lower(), "sign you in", "your name and username",
              "your email address", "receive messages on home/%s/#" % u.lower(),
              "publish to sensors/kitchen/#"):
        assert w in low, (w, text)
    assert code in text                      # shown as XXXX-XXXX
    assert "${username}" not in text
    assert "cmd/dev42" not in text           # not asked for
    f = page.form("/device")
    assert f.method == "post" and urllib.parse.urlsplit(f.action).path == "/device"
    assert f.type_of("user_code") == "hidden" and normalize_user_code(f.field("user_code")) == code
    assert f.type_of("csrf") == "hidden" and len(f.field("csrf")) >= 22
    # showing it (twice) granted nothing
    assert is_device_confirmation(a.get(device_path(code)))
    assert poll_error(srv, tv, body["device_code"]) == "authorization_pending"
    assert srv.grants(user=u) == []


def test_confirmation_page_escapes_the_client_name(srv):
    srv.add_client("evil-tv", grants=["device_code"], scope="openid", name=HOSTILE)
    # a client never looked up before is read from the store: no wait
    lg = device_flow(srv, c(srv, "evil-tv"), user=user(srv), decision=None)
    r = lg.page
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    assert HOSTILE in Page(r).text


@pytest.mark.parametrize("how", ["missing", "wrong", "other-session", "no-session"])
def test_row14_decision_without_the_right_csrf_is_403_and_grants_nothing(srv, how):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    a, r = lg.agent, lg.page
    if how == "missing":
        r2 = device_decide(a, r, "allow", drop=("csrf",))
    elif how == "wrong":
        r2 = device_decide(a, r, "allow", overrides={"csrf": "A" * 43})
    elif how == "other-session":
        v, vpw, _ = user(srv)
        b = UserAgent(srv)
        rb = device_open(b, lg.user_code, v, vpw)
        assert is_device_confirmation(rb)
        r2 = device_decide(a, r, "allow",
                           overrides={"csrf": Page(rb).form("/device").field("csrf")})
    else:
        a.cookies.pop("tessera_session")
        r2 = device_decide(a, r, "allow")
    check_device_page(r2, 403)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    assert srv.grants(user=lg.user[0]) == []
    # the code is untouched: the person can still approve it properly
    b = UserAgent(srv)
    rb = device_open(b, lg.user_code, lg.user[0], lg.user[1])
    assert is_device_confirmation(rb)
    check_device_page(device_decide(b, rb, "allow"), 200, "device connected")
    token_ok(srv.device_poll(tv, lg.device_code))


@pytest.mark.parametrize("decision", ["maybe", "", "ALLOW"])
def test_decision_other_than_allow_or_deny_is_400_and_the_code_stays_pending(srv, decision):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    r2 = device_decide(lg.agent, lg.page, decision)
    check_device_page(r2, 400)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    assert is_device_confirmation(lg.agent.get(device_path(lg.user_code)))
    assert srv.grants(user=lg.user[0]) == []


def test_deny_shows_access_denied_and_the_device_gets_access_denied(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    confirmation = lg.page
    r = device_decide(lg.agent, confirmation, "deny")
    check_device_page(r, 200, "access denied")
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "request denied")
    # a later allow changes nothing
    check_device_page(device_decide(lg.agent, confirmation, "allow"), 400)
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    assert srv.grants(user=lg.user[0]) == []


def test_allow_shows_device_connected_and_the_code_is_used(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    confirmation = lg.page
    r = device_decide(lg.agent, confirmation, "allow")
    check_device_page(r, 200, "device connected")
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "already used")
    check_device_page(device_decide(lg.agent, confirmation, "allow"), 400, "already used")
    check_device_page(device_decide(lg.agent, confirmation, "deny"), 400, "already used")
    token_ok(srv.device_poll(tv, lg.device_code))
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "already used")


def test_user_who_may_have_nothing_of_the_request_gets_400_and_the_code_stays_pending(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="mqtt:sub:cmd/dev42")   # the client may; this user not
    u, pw, _ = user(srv)
    a = UserAgent(srv)
    r = device_open(a, body["user_code"], u, pw)
    if is_device_confirmation(r):
        check_device_page(device_decide(a, r, "allow"), 400)
    else:
        check_device_page(r, 400)
    assert poll_error(srv, tv, body["device_code"]) == "authorization_pending"
    assert srv.grants(user=u) == []
    # someone who may approves it
    v = user(srv, scope="mqtt:sub:cmd/#")
    b = UserAgent(srv)
    rb = device_open(b, body["user_code"], v[0], v[1])
    assert is_device_confirmation(rb)
    check_device_page(device_decide(b, rb, "allow"), 200, "device connected")
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert tokens["scope"] == "mqtt:sub:cmd/dev42"


def test_row13_every_device_page_sends_the_security_headers(srv):
    """The headers on each page the flow shows (the tests above check them too, one page each)."""
    tv = c(srv, "tv")
    a = UserAgent(srv)
    check_device_page(a.get("/device"), 200)
    check_device_page(a.get(device_path(random_user_code())), 400)
    body = srv.device_start(tv)
    r = a.get(device_path(body["user_code"]))
    check_device_page(r, 200)                         # login page
    u, pw, _ = user(srv)
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    r = a.follow(r)
    check_device_page(r, 200)                         # confirmation page
    check_device_page(device_decide(a, r, "allow", drop=("csrf",)), 403)
    check_device_page(device_decide(a, r, "bogus"), 400)
    check_device_page(device_decide(a, r, "allow"), 200)
    check_device_page(a.get(device_path(body["user_code"])), 400)
    body = srv.device_start(tv)
    r = a.get(device_path(body["user_code"]))
    check_device_page(device_decide(a, r, "deny"), 200)
    check_device_page(a.get(device_path(body["user_code"])), 400)
