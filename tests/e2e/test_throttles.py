"""The guessing limits, black box (docs/security.md rows 21, 25 and 77; issue 19 items 7, 9, 14,
17).

- Client secrets: 10 wrong ones per client id and address are answered 401, then 429 with
  Retry-After (1 s, doubling to 60 s); only wrong secrets are slowed: the right one always gets
  in, and the same client from another address is not slowed at all.
- Logins: 5 wrong passwords per user (whatever spelling of the name was typed), then 429 (1 s
  doubling to 60 s); 20 failures per address, then 429 (1 s doubling to 5 min).
- User codes: 5 wrong per address, then 429 for 60 s (doubling to an hour); 100 wrong from all
  addresses together, then every look-up waits 10 s (doubling to 5 minutes).
- Each check reserves its attempt: attempts sent all at once get exactly the free ones through.
The doubling up to each cap needs simulated time: tests/unit/test_throttle.c
(test_daemon_policies) walks every one of these limits to its cap."""
import urllib.parse

import requests

from tessera_harness import (PKCE, Client, Page, UserAgent, all_at_once, auth_request,
                             device_path, http_timeout, idp_user, is_login_page,
                             random_user_code, session_from, wait_for)

CB = "http://127.0.0.1:9/cb"


def wrong(c):
    return Client(c.id, c.secret[:-1] + ("A" if c.secret[-1] != "A" else "B"))


def web_server(factory, name, **kw):
    return factory.start(clients=[
        dict(client_id="web", public=True, grants=["authorization_code"], redirect_uris=[CB],
             scope="openid"),
        dict(client_id="dev", scope="telemetry"),
        dict(client_id="broker", scope="introspect"),
        dict(client_id="tv", public=True, grants=["device_code"], scope="mqtt:sub:#"),
    ], name=name, **kw)


def login_form(srv):
    """(url, form pairs, headers) to post a login attempt as a browser would."""
    a = UserAgent(srv)
    r = a.authorize(auth_request("web", CB, scope="openid", state="st", pkce=PKCE()))
    assert is_login_page(r), (r.status_code, r.text[:300])
    f = Page(r).form("/login")
    h = {"Cookie": "; ".join("%s=%s" % kv for kv in a.cookies.items()),
         "Content-Type": "application/x-www-form-urlencoded"}
    return urllib.parse.urljoin(r.url, f.action), f, h


def post_login(srv, form, username, password, source="127.0.0.1"):
    url, f, h = form
    data = urllib.parse.urlencode(f.data({"username": username, "password": password}))
    with session_from(source) as s:
        return s.post(url, data=data, headers=h, allow_redirects=False, timeout=http_timeout())


def retry_after(r):
    assert r.status_code == 429, (r.status_code, r.text[:300])
    return int(r.headers["Retry-After"])


# ---------------------------------------------------------------- client secrets (item 7)


def test_wrong_secrets_at_introspect_do_not_lock_the_broker_out(fresh_factory):
    """The review's case: eleven wrong-secret /introspect calls with the broker's client id, from
    the broker's address (or from anyone behind the documented reverse proxy, which is the same
    address to the daemon), locked the broker out. Now only the wrong secrets wait."""
    s = web_server(fresh_factory, "introspect-lock")
    broker, dev = s.clients["broker"], s.clients["dev"]
    tok = s.access_token(dev)
    codes = [s.introspect(wrong(broker), tok).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429], codes
    for _ in range(3):
        r = s.introspect(broker, tok)
        assert r.status_code == 200 and r.json()["active"] is True, (r.status_code, r.text)
    assert s.introspect(wrong(broker), tok).status_code == 429


def test_the_same_client_from_another_address_is_not_slowed(fresh_factory):
    s = web_server(fresh_factory, "other-address")
    dev = s.clients["dev"]
    for _ in range(10):
        assert s.token(wrong(dev)).status_code == 401
    assert retry_after(s.token(wrong(dev))) == 1
    h = {"Authorization": wrong(dev).basic(), "Content-Type": "application/x-www-form-urlencoded"}
    with session_from("127.0.0.2") as other:
        codes = [other.post(s.url("/token"), data="grant_type=client_credentials", headers=h,
                            timeout=http_timeout()).status_code for _ in range(11)]
    # its own count: ten free there too
    assert codes == [401] * 10 + [429], codes
    assert s.token(dev).status_code == 200


def test_client_secret_defaults_ten_free_then_one_second(fresh_factory):
    s = web_server(fresh_factory, "secret-defaults")
    dev = s.clients["dev"]
    assert [s.token(wrong(dev)).status_code for _ in range(10)] == [401] * 10
    r = s.token(wrong(dev))
    assert retry_after(r) == 1 and r.json()["error"] == "too_many_requests"


# ---------------------------------------------------------------- races (item 9)


def test_a_hundred_wrong_passwords_at_once_get_exactly_five_checks(fresh_factory):
    """100 concurrent wrong passwords for one username got 20 Argon2 checks (one per worker
    thread, each checking before any had recorded its failure). A check answers 401; a refused
    attempt 429 without one."""
    s = web_server(fresh_factory, "login-race")
    u, pw, _ = idp_user(s, scope="")
    form = login_form(s)
    got = all_at_once(100, lambda i: post_login(s, form, u, "wrong%d" % i).status_code)
    assert all(isinstance(g, int) for g in got), [g for g in got if not isinstance(g, int)][:3]
    assert got.count(401) == 5 and got.count(429) == 95, sorted(set(got))
    # the right password is refused during the wait too, and gets in after it
    r = post_login(s, form, u, pw)
    wait = retry_after(r)
    assert wait_for(lambda: post_login(s, form, u, pw).status_code == 303, wait + 2)


def test_wrong_user_codes_at_once_get_exactly_the_free_ones(fresh_factory):
    s = web_server(fresh_factory, "code-race")

    def look(i):
        return requests.get(s.url(device_path(random_user_code())), timeout=http_timeout(),
                            allow_redirects=False).status_code
    got = all_at_once(50, look)
    assert all(isinstance(g, int) for g in got), [g for g in got if not isinstance(g, int)][:3]
    assert got.count(400) == 5 and got.count(429) == 45, sorted(set(got))


def test_wrong_secrets_at_once_get_exactly_ten_401s(fresh_factory):
    s = web_server(fresh_factory, "secret-race")
    bad = wrong(s.clients["dev"])
    got = all_at_once(60, lambda i: s.token(bad).status_code)
    assert all(isinstance(g, int) for g in got), [g for g in got if not isinstance(g, int)][:3]
    assert got.count(401) == 10 and got.count(429) == 50, sorted(set(got))


# ---------------------------------------------------------------- the default lock-outs (item 17)


def test_login_default_lockout_per_username_is_five_free_then_one_second_doubling(fresh_factory):
    s = web_server(fresh_factory, "login-defaults")
    u, pw, _ = idp_user(s, scope="")
    form = login_form(s)
    assert [post_login(s, form, u, "w%d" % i).status_code for i in range(5)] == [401] * 5
    r = post_login(s, form, u, "w5")
    assert retry_after(r) == 1
    assert "Try again in 1 seconds" in Page(r).text
    # after the wait, one attempt (wrong again), then twice as long
    assert wait_for(lambda: post_login(s, form, u, "w6").status_code == 401, 2)
    assert retry_after(post_login(s, form, u, "w7")) == 2


def test_login_lockout_counts_per_user_whatever_the_spelling(fresh_factory):
    """docs/security.md row 77: the failures typed under five spellings of one name (case,
    fullwidth forms, an invisible character, white space around it) are one user's five; the
    sixth, under the plain name, waits. The counter went by the name as typed, ASCII-lowercased."""
    s = web_server(fresh_factory, "login-spellings")
    u, pw, _ = idp_user(s, scope="")
    form = login_form(s)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in u)
    spellings = [u.upper(), wide, u + "\u200b", " %s\u3000" % u, "\u00a0" + wide.upper()]
    assert [post_login(s, form, n, "w%d" % i).status_code
            for i, n in enumerate(spellings)] == [401] * 5
    assert retry_after(post_login(s, form, u, "w5")) == 1
    assert retry_after(post_login(s, form, wide, pw)) >= 1
    # and after the wait, any spelling signs in to the one account
    assert wait_for(lambda: post_login(s, form, wide, pw).status_code == 303, 3)


def test_login_default_lockout_per_address_is_twenty_free(fresh_factory):
    s = web_server(fresh_factory, "login-addr-defaults")
    form = login_form(s)
    codes = [post_login(s, form, "nobody%d" % i, "w", "127.0.0.2").status_code for i in range(20)]
    assert codes == [401] * 20, codes
    assert retry_after(post_login(s, form, "nobody-20", "w", "127.0.0.2")) == 1
    # that address only
    assert post_login(s, form, "nobody-21", "w", "127.0.0.3").status_code == 401


def test_user_code_default_lockouts_sixty_seconds_per_address_ten_in_all(fresh_factory):
    s = web_server(fresh_factory, "code-defaults")

    def look(source):
        with session_from(source) as ss:
            return ss.get(s.url(device_path(random_user_code())), timeout=http_timeout(),
                          allow_redirects=False)
    # per address: 5 wrong codes, then 60 s
    assert [look("127.0.0.2").status_code for _ in range(5)] == [400] * 5
    assert retry_after(look("127.0.0.2")) == 60
    # in all: 100 wrong codes from 20 addresses (5 each, under their own limit), then everyone
    # waits 10 s, from an address that has guessed nothing
    codes = [look("127.0.0.%d" % (10 + i // 5)).status_code for i in range(95)]
    assert codes == [400] * 95, codes
    assert retry_after(look("127.0.0.40")) == 10
    assert retry_after(look("127.0.0.1")) == 10
