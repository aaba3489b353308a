"""The device authorization grant (RFC 8628), part three: polling /token with the device_code
grant (errors, timing, success), the user code lock-outs and hostile input. docs/security.md rows
25-27 and 40."""
import time

import pytest

from device_cases import (Client, DEVICE_GRANT, INACTIVE, INTERVAL, Page, SHORT_TTL, TOLERANCE,
                          UserAgent, approved, c, check_device_page, device_clients, device_decide,
                          device_flow, device_open, device_path, form_quote, get_from, intro,
                          is_device_confirmation, jwt_parts, location_of, poll_error, raw_post,
                          short, sleep_until, srv, t, token_error, token_ok, tokens_config,
                          unknown_code, user, verify_id_token, verify_jwt, wait_inactive, words)  # noqa: F401 (srv, short: fixtures)


# ---------------------------------------------------------------- polling: errors


@pytest.mark.parametrize("dc", ["random", "garbage", "A" * 43, "x" * 3000, "a.b.c"])
def test_row26_unknown_device_code_is_invalid_grant(srv, dc):
    if dc == "random":
        import secrets
        dc = secrets.token_urlsafe(32)
    assert poll_error(srv, c(srv, "tv"), dc) == "invalid_grant"


def test_row26_other_clients_device_code_is_invalid_grant(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv)
    for other, auth in (("tv2", "basic"), ("tv2", "post"), ("pub", None), ("stable", "basic")):
        assert poll_error(srv, c(srv, other), body["device_code"], auth=auth) == \
            "invalid_grant", other
    # and once approved, still only its own client gets the tokens
    u, pw, _ = user(srv)
    a = UserAgent(srv)
    r = device_open(a, body["user_code"], u, pw)
    check_device_page(device_decide(a, r, "allow"), 200)
    assert poll_error(srv, c(srv, "tv2"), body["device_code"]) == "invalid_grant"
    assert poll_error(srv, c(srv, "pub"), body["device_code"]) == "invalid_grant"
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert verify_jwt(tokens["access_token"], srv.jwks())["client_id"] == "tv"


def test_missing_device_code_is_invalid_request(srv):
    assert poll_error(srv, c(srv, "tv"), None) == "invalid_request"
    assert poll_error(srv, c(srv, "pub"), None) == "invalid_request"


def test_repeated_device_code_is_invalid_request(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc, extra=[("device_code", dc)]) == "invalid_request"


@pytest.mark.parametrize("cid", ["code-only", "cc-only"])
def test_polling_client_without_the_device_grant_is_unauthorized_client(srv, cid):
    dc = srv.device_start(c(srv, "tv"))["device_code"]
    assert poll_error(srv, c(srv, cid), dc) == "unauthorized_client"


def test_polling_with_bad_client_authentication_is_invalid_client(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    r = srv.device_poll(Client("tv", "wrong-" + tv.secret), dc, auth="basic")
    assert token_error(r, 401) == "invalid_client"
    assert r.headers.get("WWW-Authenticate")
    assert token_error(srv.device_poll(Client("tv"), dc, auth="none"), 401) == "invalid_client"
    # nothing used up
    assert poll_error(srv, tv, dc) == "authorization_pending"


# ---------------------------------------------------------------- polling: timing (row 27)


def test_row27_pending_polls_at_the_interval_are_authorization_pending(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc) == "authorization_pending"      # the first poll: never slow
    time.sleep(INTERVAL - 0.3)                                     # within the 0.5 s tolerance
    assert poll_error(srv, tv, dc) == "authorization_pending"
    time.sleep(INTERVAL + 0.1)
    assert poll_error(srv, tv, dc) == "authorization_pending"


def test_row27_polling_faster_than_the_interval_is_slow_down_and_the_interval_grows(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    other = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc) == "authorization_pending"
    assert poll_error(srv, tv, dc) == "slow_down"
    # the interval is now INTERVAL + 5: a poll 1.5 s later (more than the old interval) is still
    # too fast (and grows it again)
    time.sleep(INTERVAL + 0.5)
    assert poll_error(srv, tv, dc) == "slow_down"
    # other device codes keep their own interval
    assert poll_error(srv, tv, other) == "authorization_pending"


def test_row27_slow_down_adds_exactly_5_seconds_to_the_interval(srv):
    """Two codes slowed down at about the same time (interval now INTERVAL + 5): one polled
    well inside the new interval is slow_down again, the other polled just after it is
    pending. (About 6 s of sleep, the longest wait of this file.)"""
    tv = c(srv, "tv")
    a = srv.device_start(tv)["device_code"]
    b = srv.device_start(tv)["device_code"]
    for dc in (a, b):
        assert poll_error(srv, tv, dc) == "authorization_pending"
    assert poll_error(srv, tv, a) == "slow_down"
    ta = time.monotonic()
    assert poll_error(srv, tv, b) == "slow_down"
    tb = time.monotonic()
    grown = INTERVAL + 5
    # well inside the grown interval, even with the tolerance and a slow request
    sleep_until(tb + grown - TOLERANCE - t(1.1))
    assert poll_error(srv, tv, b) == "slow_down"
    sleep_until(ta + grown + 0.1)
    assert poll_error(srv, tv, a) == "authorization_pending"


def test_an_approved_code_is_answered_at_once_even_right_after_a_poll(srv):
    """slow_down is a kind of authorization_pending (RFC 8628 §3.5): a decided code is not."""
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    token_ok(srv.device_poll(tv, lg.device_code))


def test_a_denied_code_is_access_denied_at_once_even_right_after_a_poll(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    check_device_page(device_decide(lg.agent, lg.page, "deny"), 200)
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    assert poll_error(srv, tv, lg.device_code) == "access_denied"


def test_row27_expired_code_is_expired_token_and_the_expired_page(short):
    s = short
    tv = c(s, "tv")
    pending = s.device_start(tv)
    assert pending["expires_in"] == SHORT_TTL
    lg = device_flow(s, tv, user=user(s), decision=None)        # opened, not decided
    ok = device_flow(s, tv, user=lg.user, agent=lg.agent)         # approved, not redeemed
    deadline = time.monotonic() + SHORT_TTL + 0.4                 # all three have expired then
    check_device_page(ok.page, 200, "device connected")
    assert poll_error(s, tv, pending["device_code"]) == "authorization_pending"
    sleep_until(deadline)
    for dc in (pending["device_code"], lg.device_code, ok.device_code):
        assert poll_error(s, tv, dc) == "expired_token"
    assert poll_error(s, tv, pending["device_code"]) == "expired_token"   # not slow_down
    a = lg.agent
    check_device_page(a.get(device_path(pending["user_code"])), 400, "code expired")
    check_device_page(a.get(device_path(lg.user_code)), 400, "code expired")
    check_device_page(device_decide(a, lg.page, "allow"), 400, "code expired")
    assert poll_error(s, tv, lg.device_code) == "expired_token"


def test_row27_second_poll_after_success_is_invalid_grant(srv):
    tv = c(srv, "tv")
    lg, tokens = approved(srv)
    assert poll_error(srv, tv, lg.device_code) == "invalid_grant"
    time.sleep(INTERVAL + 0.1)
    assert poll_error(srv, tv, lg.device_code) == "invalid_grant"
    # the tokens stay good
    assert intro(srv, tokens["access_token"])["active"] is True


# ---------------------------------------------------------------- polling: success


def test_success_access_token_claims(srv):
    u = user(srv)
    lg, tokens = approved(srv, scope="openid profile mqtt:pub:sensors/#", u=u)
    assert tokens["token_type"] == "Bearer"
    assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0
    granted = {"openid", "profile", "mqtt:pub:sensors/kitchen/#"}
    assert words(tokens["scope"]) == granted
    header, _ = jwt_parts(tokens["access_token"])
    assert header["typ"] == "at+jwt"
    claims = verify_jwt(tokens["access_token"], srv.jwks())
    assert claims["sub"] == str(u[2])
    assert claims["client_id"] == "tv"
    assert claims["username"] == u[0]
    assert words(claims["scope"]) == granted
    assert claims["iss"] == srv.issuer
    assert abs(claims["iat"] - time.time()) < 60 and claims["exp"] > time.time()
    assert str(claims.get("gid", "")), claims
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and d["client_id"] == "tv" and d["username"] == u[0]
    assert words(d["scope"]) == granted


def test_success_with_openid_has_an_id_token_with_auth_time_at_hash_and_no_nonce(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), scope="openid email", decision=None)
    time.sleep(1.2)          # approve a while after logging in: auth_time is the login's time
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    tokens = token_ok(srv.device_poll(tv, lg.device_code))
    claims = verify_id_token(srv, tokens["id_token"], "tv", nonce=None,
                             access_token=tokens["access_token"])
    assert claims["sub"] == str(lg.user[2])
    assert int(lg.login_started) - 1 <= claims["auth_time"] <= lg.login_done, \
        (claims["auth_time"], lg.login_started, lg.login_done)


def test_success_without_openid_has_no_id_token(srv):
    _lg, tokens = approved(srv, scope="mqtt:pub:home/#")
    assert "id_token" not in tokens, tokens


def test_refresh_token_only_for_a_client_with_the_refresh_grant(srv):
    _lg, tokens = approved(srv, cid="tv")
    assert isinstance(tokens.get("refresh_token"), str) and len(tokens["refresh_token"]) >= 22
    _lg, tokens = approved(srv, cid="tv2")
    assert "refresh_token" not in tokens, tokens
    assert tokens["access_token"]


def test_refresh_token_from_a_device_grant_works_and_rotates(srv):
    tv = c(srv, "tv")
    _lg, tokens = approved(srv, scope="openid mqtt:pub:home/#")
    rt = tokens["refresh_token"]
    d = intro(srv, rt)
    assert d["active"] is True and d["token_type"] == "refresh_token" and d["client_id"] == "tv"
    body = token_ok(srv.refresh(tv, rt))
    assert body["refresh_token"] != rt
    assert words(body["scope"]) == words(tokens["scope"])
    assert intro(srv, rt) == INACTIVE
    token_ok(srv.refresh(tv, body["refresh_token"]))


def test_refresh_rotation_off_client_keeps_its_device_refresh_token(srv):
    st = c(srv, "stable")
    _lg, tokens = approved(srv, cid="stable")
    rt = tokens["refresh_token"]
    for _ in range(3):
        body = token_ok(srv.refresh(st, rt))
        assert body["refresh_token"] == rt
    assert intro(srv, rt)["active"] is True


def test_public_client_device_flow_with_client_id_only(srv):
    pub = c(srv, "pub")
    lg, tokens = approved(srv, cid="pub", scope="openid mqtt:pub:home/#")
    assert verify_jwt(tokens["access_token"], srv.jwks())["client_id"] == "pub"
    body = token_ok(srv.refresh(pub, tokens["refresh_token"]))
    assert body["refresh_token"] != tokens["refresh_token"]
    assert poll_error(srv, pub, lg.device_code) == "invalid_grant"


def test_username_placeholder_is_filled_in(srv):
    u = user(srv)
    lg = device_flow(srv, c(srv, "tv"), user=u, scope="mqtt:pub:home/#", decision=None)
    text = Page(lg.page).text
    assert "home/%s/#" % u[0] in text and "${username}" not in text, text
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    tokens = token_ok(srv.device_poll(c(srv, "tv"), lg.device_code))
    assert tokens["scope"] == "mqtt:pub:home/%s/#" % u[0]
    assert verify_jwt(tokens["access_token"], srv.jwks())["scope"] == tokens["scope"]


def test_granted_scope_is_request_and_client_and_user(srv):
    u = user(srv)
    _lg, tokens = approved(srv, scope="openid mqtt:sub:cmd/dev42 mqtt:pub:sensors/# "
                           "mqtt:sub:home/#", u=u)
    assert words(tokens["scope"]) == {"openid", "mqtt:pub:sensors/kitchen/#",
                                      "mqtt:sub:home/%s/#" % u[0]}, tokens["scope"]


def test_no_scope_requested_grants_what_client_and_user_both_allow(srv):
    u = user(srv)
    _lg, tokens = approved(srv, scope=None, u=u)
    assert words(tokens["scope"]) == {
        "openid", "profile", "email", "mqtt:sub:home/%s/#" % u[0],
        "mqtt:pub:home/%s/#" % u[0], "mqtt:pub:sensors/kitchen/#"}, tokens["scope"]


def test_grant_revoke_makes_the_device_tokens_inactive(srv):
    tv = c(srv, "tv")
    u = user(srv)
    _lg, tokens = approved(srv, scope="openid mqtt:pub:home/#", u=u)
    rows = srv.grants(user=u[0])
    assert len(rows) == 1 and rows[0]["client_id"] == "tv", rows
    assert words(rows[0]["scope"]) == words(tokens["scope"])
    assert str(rows[0]["id"]) == str(jwt_parts(tokens["access_token"])[1]["gid"])
    out = srv.cli(["grant", "revoke", str(rows[0]["id"])])
    assert out.rc == 0, out
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        assert wait_inactive(srv, c(srv, "rs"), tok), tok[:12]
    assert token_error(srv.refresh(tv, tokens["refresh_token"])) == "invalid_grant"


def test_revoking_the_refresh_token_revokes_the_device_grant(srv):
    tv = c(srv, "tv")
    _lg, tokens = approved(srv)
    r = srv.revoke(tv, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert wait_inactive(srv, c(srv, "rs"), tokens["access_token"])
    assert intro(srv, tokens["refresh_token"]) == INACTIVE


def test_disabled_user_makes_the_device_tokens_inactive(srv):
    u = user(srv)
    _lg, tokens = approved(srv, u=u)
    assert srv.cli(["user", "disable", u[0]]).rc == 0
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        assert wait_inactive(srv, c(srv, "rs"), tok), tok[:12]


# ---------------------------------------------------------------- brute force (row 25)


def lockout_server(factory, name, **tokens):
    return factory.start(config=tokens_config(**tokens), clients=device_clients(), name=name)


def test_row25_wrong_codes_from_one_address_lock_it_out_even_for_the_right_code(fresh_factory):
    s = lockout_server(fresh_factory, "lockout-addr", user_code_attempts=3)
    tv = c(s, "tv")
    body = s.device_start(tv)
    code = body["user_code"]
    u, pw, _ = user(s)
    a = UserAgent(s)
    confirmation = device_open(a, code, u, pw)        # right codes never count
    assert is_device_confirmation(confirmation)
    assert is_device_confirmation(a.get(device_path(code.lower())))
    entry = a.get("/device")
    for wrong in (unknown_code(code), "hello", unknown_code(code)):
        check_device_page(a.get(device_path(wrong)), 400, "unknown code")
    # locked out: the right code, in any spelling, on every look-up
    check_device_page(a.get(device_path(code)), 429)
    check_device_page(a.get(device_path(code.replace("-", "").lower())), 429)
    check_device_page(device_decide(a, confirmation, "allow"), 429)
    f = Page(entry).form("/device")
    r = a.post("/device", f.data({"user_code": code}))
    if r.status_code == 303:        # the entry form only forwards to the look-up
        r = a.follow(r)
    check_device_page(r, 429)
    assert poll_error(s, tv, body["device_code"]) == "authorization_pending"
    assert s.grants(user=u) == []
    # another address is not locked out
    r = get_from(s, "127.0.0.2", device_path(code))
    check_device_page(r, 200)
    assert Page(r).has_form("/login")


def test_row25_wrong_codes_from_all_addresses_together_lock_everyone_out(fresh_factory):
    s = lockout_server(fresh_factory, "lockout-total", user_code_attempts=1000,
                       user_code_attempts_total=3)
    tv = c(s, "tv")
    body = s.device_start(tv)
    code = body["user_code"]
    check_device_page(get_from(s, "127.0.0.1", device_path(code)), 200)
    for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        check_device_page(get_from(s, addr, device_path(unknown_code(code))), 400,
                          "unknown code")
    for addr in ("127.0.0.1", "127.0.0.2", "127.0.0.5"):
        check_device_page(get_from(s, addr, device_path(code)), 429)
    assert poll_error(s, tv, body["device_code"]) == "authorization_pending"


def test_row25_expired_used_and_denied_codes_do_not_count(fresh_factory):
    ttl = max(3, int(round(t(3))))
    s = lockout_server(fresh_factory, "lockout-nocount", user_code_attempts=2,
                       device_code_ttl=ttl)
    tv = c(s, "tv")
    start = time.monotonic()
    expiring = s.device_start(tv)
    u = user(s)
    a = UserAgent(s)
    used = device_flow(s, tv, user=u, agent=a)
    check_device_page(used.page, 200, "device connected")
    redeemed = device_flow(s, tv, user=u, agent=a)
    token_ok(s.device_poll(tv, redeemed.device_code))
    denied = device_flow(s, tv, user=u, agent=a, decision="deny")
    for _ in range(3):
        check_device_page(a.get(device_path(used.user_code)), 400, "already used")
        check_device_page(a.get(device_path(redeemed.user_code)), 400, "already used")
        check_device_page(a.get(device_path(denied.user_code)), 400, "request denied")
    sleep_until(start + ttl + 0.4)
    for _ in range(3):
        check_device_page(a.get(device_path(expiring["user_code"])), 400, "code expired")
    fresh = s.device_start(tv)
    assert is_device_confirmation(a.get(device_path(fresh["user_code"])))
    # the control: wrong codes do count on this server
    for _ in range(2):
        check_device_page(a.get(device_path(unknown_code(fresh["user_code"]))), 400)
    check_device_page(a.get(device_path(fresh["user_code"])), 429)


# ---------------------------------------------------------------- hostile input (row 40)

RAW_BAD = ["%00", "BCDF%00GHJK", "%FF%FE", "%C3%28", "%ED%A0%80", "BCDF-GHJ%FF"]
BIG = "A" * 100000


def assert_json_4xx(r, errors):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code != 413:
        assert r.json()["error"] in errors, r.text[:300]


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG"])
def test_row40_bad_scope_at_device_authorization_is_a_clear_4xx(srv, raw):
    value = form_quote("mqtt:pub:" + BIG) if raw == "BIG" else raw
    r = raw_post(srv, "/device_authorization", "scope=" + value,
                 {"Authorization": c(srv, "tv").basic()})
    assert_json_4xx(r, ("invalid_request", "invalid_scope"))


def test_row40_raw_bytes_at_device_authorization_are_a_clear_4xx(srv):
    for body in (b"scope=\xff\xfe", b"scope=open\x00id", b"client_id=p\x00ub"):
        r = raw_post(srv, "/device_authorization", body,
                     {"Authorization": c(srv, "tv").basic()} if b"client_id" not in body
                     else None)
        assert_json_4xx(r, ("invalid_request", "invalid_scope", "invalid_client"))


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG"])
def test_row40_bad_device_code_at_token_is_a_clear_4xx(srv, raw):
    value = BIG if raw == "BIG" else raw
    r = raw_post(srv, "/token", "grant_type=" + form_quote(DEVICE_GRANT) + "&device_code="
                 + value, {"Authorization": c(srv, "tv").basic()})
    assert_json_4xx(r, ("invalid_request", "invalid_grant"))
    if raw != "BIG":
        assert r.json()["error"] == "invalid_request", r.text[:300]


def assert_page_4xx(r):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG", "SQL"])
def test_row40_bad_user_code_on_the_pages_is_a_clear_4xx(srv, raw):
    value = {"BIG": BIG, "SQL": form_quote("' OR '1'='1")}.get(raw, raw)
    a = UserAgent(srv)
    for path in ("/device?user_code=", "/device/qr?user_code="):
        assert_page_4xx(a.get(path + value))
    # the entry form
    csrf = Page(a.get("/device")).form("/device").field("csrf")
    r = a.post("/device", "user_code=" + value + "&csrf=" + form_quote(csrf))
    if r.status_code == 303:
        assert len(location_of(r)) < 200000
        r = a.follow(r)
    assert_page_4xx(r)
    # the decision form of a logged-in person
    lg = device_flow(srv, c(srv, "tv"), user=user(srv), agent=UserAgent(srv), decision=None)
    f = Page(lg.page).form("/device")
    r = lg.agent.post("/device", "user_code=" + value + "&csrf=" + form_quote(f.field("csrf"))
                      + "&decision=allow")
    assert_page_4xx(r)
    assert poll_error(srv, c(srv, "tv"), lg.device_code) == "authorization_pending"
    assert srv.get("/healthz").status_code == 200
