"""POST /token grant_type=refresh_token: rotation, reuse detection (row 17), the grace period,
non-rotating clients, racing refreshes, idle expiry and grant lifetime, scope narrowing and
client binding (row 18), disabled or removed users and clients, and refresh token introspection.
Every answer is checked for Cache-Control: no-store (token_ok / token_error)."""
import threading
import time

import pytest

from tessera_harness import (INACTIVE, VSCHAR, Client, idp_user, jwt_parts, refresh_login,
                             t, token_error, token_ok, verify_jwt, wait_inactive)

CB = "https://rp.example/cb"
PCB = "http://127.0.0.1:9/cb"
SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
         "mqtt:sub:cmd/dev42")
RT_GRANTS = ["authorization_code", "refresh_token"]
GRACE = 2
IDLE = 3
LIFETIME = 3


def conf(cid, *extra):
    return dict(client_id=cid, grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE,
                name="Client " + cid, extra=list(extra))


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        conf("rot"),
        conf("b"),
        dict(client_id="pub", public=True, grants=RT_GRANTS, redirect_uris=[PCB], scope=SCOPE,
             name="Public app"),
        conf("grace", "--refresh-grace", str(GRACE)),
        conf("stable", "--refresh-rotation", "off"),
        conf("idle", "--refresh-idle", str(IDLE)),
        conf("stable-idle", "--refresh-rotation", "off", "--refresh-idle", str(IDLE)),
        conf("short-grant", "--grant-lifetime", str(LIFETIME)),
        dict(client_id="code-only", grants=["authorization_code"], redirect_uris=[CB],
             scope=SCOPE),
        conf("to-disable"),
        conf("to-remove"),
        dict(client_id="rs", scope="introspect"),
    ], name="refresh")


def start(srv, cid="rot", scope=None, user=None):
    """A fresh user signs in with client cid; returns (token answer, (user, pw, id), scope)."""
    user = user or idp_user(srv)
    u = user[0]
    scope = scope or "openid mqtt:sub:home/%s/# mqtt:pub:home/%s/cmd" % (u, u)
    cb = PCB if srv.clients[cid].secret is None else CB
    login, user = refresh_login(srv, srv.clients[cid], cb, scope=scope, user=user)
    assert set(login.tokens["scope"].split()) == set(scope.split()), login.tokens
    return login.tokens, user, scope


def rs(srv):
    return srv.clients["rs"]


def intro(srv, token):
    return srv.introspection(rs(srv), token)


def active(srv, token):
    return intro(srv, token).get("active") is True


def refresh_ok(srv, cid, rt, **kw):
    return token_ok(srv.refresh(srv.clients[cid], rt, **kw))


def refresh_err(srv, cid, rt, status=400, **kw):
    return token_error(srv.refresh(srv.clients[cid], rt, **kw), status)


# ---------------------------------------------------------------- rotation


def test_refresh_rotates_the_token_and_issues_a_new_access_token(srv):
    first, (u, _pw, uid), scope = start(srv)
    body = refresh_ok(srv, "rot", first["refresh_token"])
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert set(body["scope"].split()) == set(scope.split())
    rt = body["refresh_token"]
    assert isinstance(rt, str) and len(rt) >= 22 and VSCHAR.match(rt)
    assert rt != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    claims = verify_jwt(body["access_token"], srv.jwks())
    assert jwt_parts(body["access_token"])[0]["typ"] == "at+jwt"
    assert claims["client_id"] == "rot" and claims["iss"] == srv.issuer
    assert set(claims["scope"].split()) == set(scope.split())
    assert abs(claims["iat"] - time.time()) < 60


def test_access_token_from_refresh_keeps_gid_username_and_sub(srv):
    first, (u, _pw, uid), _scope = start(srv)
    old = verify_jwt(first["access_token"], srv.jwks())
    new = verify_jwt(refresh_ok(srv, "rot", first["refresh_token"])["access_token"], srv.jwks())
    assert str(new["gid"]) == str(old["gid"])
    assert new["username"] == old["username"] == u
    assert new["sub"] == old["sub"] == str(uid)
    assert new["jti"] != old["jti"]


def test_id_token_on_refresh_is_optional_but_names_the_same_user(srv):
    first, (_u, _pw, uid), _scope = start(srv)
    body = refresh_ok(srv, "rot", first["refresh_token"])
    if "id_token" in body:
        claims = verify_jwt(body["id_token"], srv.jwks())
        assert claims["sub"] == str(uid) and claims["iss"] == srv.issuer
        assert claims["aud"] in ("rot", ["rot"])


def test_rotated_refresh_token_is_inactive_and_its_successor_active(srv):
    first, (u, _pw, uid), _scope = start(srv)
    rt2 = refresh_ok(srv, "rot", first["refresh_token"])["refresh_token"]
    assert intro(srv, first["refresh_token"]) == INACTIVE
    assert active(srv, rt2)
    # the access token of the code redemption stays valid after a normal rotation
    assert active(srv, first["access_token"])


def test_refresh_chain_of_rotations_keeps_working(srv):
    first, _user, _scope = start(srv)
    rt, seen = first["refresh_token"], {first["refresh_token"]}
    for _ in range(10):
        rt = refresh_ok(srv, "rot", rt)["refresh_token"]
        assert rt not in seen
        seen.add(rt)


# ---------------------------------------------------------------- row 17: reuse


def test_row17_reuse_is_invalid_grant_and_revokes_successor_and_access_tokens(srv):
    first, _user, _scope = start(srv)
    second = refresh_ok(srv, "rot", first["refresh_token"])
    assert active(srv, second["refresh_token"]) and active(srv, second["access_token"])
    assert refresh_err(srv, "rot", first["refresh_token"]) == "invalid_grant"
    for tok in (second["refresh_token"], second["access_token"], first["access_token"],
                first["refresh_token"]):
        assert intro(srv, tok) == INACTIVE, tok[:12]
    assert refresh_err(srv, "rot", second["refresh_token"]) == "invalid_grant"
    assert srv.userinfo(second["access_token"]).status_code == 401


def test_row17_reuse_of_an_older_ancestor_revokes_the_grant_too(srv):
    first, _user, _scope = start(srv)
    rt2 = refresh_ok(srv, "rot", first["refresh_token"])["refresh_token"]
    third = refresh_ok(srv, "rot", rt2)
    assert refresh_err(srv, "rot", first["refresh_token"]) == "invalid_grant"
    for tok in (third["refresh_token"], third["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert refresh_err(srv, "rot", third["refresh_token"]) == "invalid_grant"


def test_row17_public_client_rotates_and_reuse_revokes(srv):
    first, _user, _scope = start(srv, "pub")
    second = refresh_ok(srv, "pub", first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert refresh_err(srv, "pub", first["refresh_token"]) == "invalid_grant"
    for tok in (second["refresh_token"], second["access_token"], first["access_token"]):
        assert intro(srv, tok) == INACTIVE


def test_row17_reuse_revocation_survives_a_new_login_of_another_grant(srv):
    """Revoking one grant on reuse leaves the same user's other grant alone."""
    user = idp_user(srv)
    a, _u, _s = start(srv, user=user)
    b, _u, _s = start(srv, "b", user=user)
    refresh_ok(srv, "rot", a["refresh_token"])
    assert refresh_err(srv, "rot", a["refresh_token"]) == "invalid_grant"
    assert active(srv, b["refresh_token"]) and active(srv, b["access_token"])
    refresh_ok(srv, "b", b["refresh_token"])


# ---------------------------------------------------------------- grace period


def test_grace_previous_token_once_more_gets_the_same_new_refresh_token(srv):
    first, _user, _scope = start(srv, "grace")
    second = refresh_ok(srv, "grace", first["refresh_token"])
    again = refresh_ok(srv, "grace", first["refresh_token"])
    assert again["refresh_token"] == second["refresh_token"]
    assert again["access_token"] not in (second["access_token"], first["access_token"])
    for tok in (second["refresh_token"], second["access_token"], again["access_token"]):
        assert active(srv, tok)
    third = refresh_ok(srv, "grace", second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_grace_third_use_of_the_previous_token_is_reuse(srv):
    first, _user, _scope = start(srv, "grace")
    second = refresh_ok(srv, "grace", first["refresh_token"])
    again = refresh_ok(srv, "grace", first["refresh_token"])
    assert again["refresh_token"] == second["refresh_token"]
    assert refresh_err(srv, "grace", first["refresh_token"]) == "invalid_grant"
    for tok in (second["refresh_token"], second["access_token"], again["access_token"],
                first["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert refresh_err(srv, "grace", second["refresh_token"]) == "invalid_grant"


def test_grace_previous_token_after_the_grace_period_is_reuse(srv):
    first, _user, _scope = start(srv, "grace")
    second = refresh_ok(srv, "grace", first["refresh_token"])
    time.sleep(GRACE + 1.2)
    assert refresh_err(srv, "grace", first["refresh_token"]) == "invalid_grant"
    for tok in (second["refresh_token"], second["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert refresh_err(srv, "grace", second["refresh_token"]) == "invalid_grant"


def test_grace_previous_token_after_the_successor_was_used_is_reuse(srv):
    first, _user, _scope = start(srv, "grace")
    second = refresh_ok(srv, "grace", first["refresh_token"])
    third = refresh_ok(srv, "grace", second["refresh_token"])
    assert refresh_err(srv, "grace", first["refresh_token"]) == "invalid_grant"
    for tok in (third["refresh_token"], third["access_token"], second["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert refresh_err(srv, "grace", third["refresh_token"]) == "invalid_grant"


def test_no_grace_by_default_immediate_second_use_is_reuse(srv):
    first, _user, _scope = start(srv)
    second = refresh_ok(srv, "rot", first["refresh_token"])
    assert refresh_err(srv, "rot", first["refresh_token"]) == "invalid_grant"
    assert intro(srv, second["refresh_token"]) == INACTIVE


# ---------------------------------------------------------------- non-rotating clients


def test_non_rotating_client_keeps_one_refresh_token_over_1000_refreshes(srv):
    import requests
    first, _user, _scope = start(srv, "stable")
    rt = first["refresh_token"]
    c = srv.clients["stable"]
    ats = set()
    with requests.Session() as s:
        for i in range(1000):
            r = srv.refresh(c, rt, session=s)
            assert r.status_code == 200, (i, r.status_code, r.text)
            assert r.headers.get("Cache-Control") == "no-store"
            body = r.json()
            assert body["refresh_token"] == rt, i
            ats.add(body["access_token"])
    assert len(ats) == 1000
    assert active(srv, rt)
    assert active(srv, body["access_token"])


def test_non_rotating_token_is_never_treated_as_reuse(srv):
    first, _user, _scope = start(srv, "stable")
    rt = first["refresh_token"]
    a = refresh_ok(srv, "stable", rt)
    b = refresh_ok(srv, "stable", rt)
    assert a["refresh_token"] == b["refresh_token"] == rt
    for tok in (a["access_token"], b["access_token"], first["access_token"], rt):
        assert active(srv, tok)


def test_public_client_cannot_be_non_rotating(srv):
    r = srv.cli(["client", "add", "pub-stable", "--public", "--grant", "authorization_code",
                 "--grant", "refresh_token", "--redirect-uri", PCB, "--refresh-rotation", "off"])
    assert r.rc == 1, r
    assert r.stderr.strip() and r.stdout.strip() == "", r
    assert srv.cli(["client", "show", "pub-stable"]).rc == 1
    ok = srv.cli(["client", "add", "pub-rot", "--public", "--grant", "authorization_code",
                  "--grant", "refresh_token", "--redirect-uri", PCB, "--refresh-rotation", "on"])
    assert ok.rc == 0, ok


def test_client_show_prints_the_refresh_settings(srv):
    rows = {cid: srv.cli(["client", "show", cid]).json()
            for cid in ("rot", "grace", "stable", "idle", "short-grant")}
    assert rows["rot"]["refresh_rotation"] is True
    assert rows["rot"]["refresh_grace"] == 0
    assert rows["rot"]["refresh_idle_ttl"] == 0
    assert rows["rot"]["grant_lifetime"] == 0
    assert rows["grace"]["refresh_grace"] == GRACE
    assert rows["stable"]["refresh_rotation"] is False
    assert rows["idle"]["refresh_idle_ttl"] == IDLE
    assert rows["short-grant"]["grant_lifetime"] == LIFETIME


# ---------------------------------------------------------------- racing refreshes


def race(srv, cid, rt, n=8):
    barrier = threading.Barrier(n)
    out = [None] * n

    def go(i):
        try:
            barrier.wait(timeout=t(10))
            out[i] = srv.refresh(srv.clients[cid], rt)
        except Exception as e:  # noqa: BLE001 - reported below
            out[i] = e

    ths = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=t(30))
    for r in out:
        assert not isinstance(r, Exception) and r is not None, r
        assert r.status_code < 500, (r.status_code, r.text)
        assert r.status_code in (200, 400), (r.status_code, r.text)
        assert r.headers.get("Cache-Control") == "no-store"
        if r.status_code == 400:
            assert r.json()["error"] == "invalid_grant", r.text
    return [r.json() for r in out if r.status_code == 200]


@pytest.mark.parametrize("round_", range(4))
def test_racing_refreshes_with_one_token_give_at_most_one_successor(srv, round_):
    """Exactly one of eight refreshes racing with one token wins (none winning would lose the
    device its grant for nothing); the others are reuse (docs/security.md row 17)."""
    first, _user, _scope = start(srv)
    wins = race(srv, "rot", first["refresh_token"])
    assert len(wins) == 1, [w["refresh_token"][:8] for w in wins]
    news = {w["refresh_token"] for w in wins}
    assert sum(1 for rt in news if active(srv, rt)) <= 1


def test_racing_refreshes_on_a_grace_client_never_give_two_different_successors(srv):
    first, _user, _scope = start(srv, "grace")
    wins = race(srv, "grace", first["refresh_token"])
    news = {w["refresh_token"] for w in wins}
    # one successor, given again to one more racer within the grace; the third use is reuse
    assert len(news) == 1, news
    assert sum(1 for rt in news if active(srv, rt)) <= 1


# ---------------------------------------------------------------- scope (row 18)


def test_refresh_with_a_narrower_scope_gets_exactly_that_scope(srv):
    first, (u, _pw, _id), _scope = start(srv)
    want = "mqtt:pub:home/%s/cmd" % u
    body = refresh_ok(srv, "rot", first["refresh_token"], scope=want)
    assert body["scope"] == want
    claims = verify_jwt(body["access_token"], srv.jwks())
    assert claims["scope"] == want
    assert intro(srv, body["access_token"])["scope"] == want


def test_refresh_scope_mqtt_filter_is_narrowed_by_intersection(srv):
    first, (u, _pw, _id), _scope = start(srv)
    body = refresh_ok(srv, "rot", first["refresh_token"], scope="mqtt:sub:#")
    assert body["scope"] == "mqtt:sub:home/%s/#" % u
    body = refresh_ok(srv, "rot", body["refresh_token"], scope="mqtt:sub:home/+/kitchen")
    assert body["scope"] == "mqtt:sub:home/%s/kitchen" % u


def test_narrowed_refresh_leaves_the_grant_scope_whole(srv):
    first, (u, _pw, _id), scope = start(srv)
    narrow = refresh_ok(srv, "rot", first["refresh_token"], scope="openid")
    assert narrow["scope"] == "openid"
    whole = refresh_ok(srv, "rot", narrow["refresh_token"])
    assert set(whole["scope"].split()) == set(scope.split())
    assert set(intro(srv, whole["refresh_token"])["scope"].split()) == set(scope.split())


@pytest.mark.parametrize("extra", ["profile", "mqtt:sub:cmd/dev42", "mqtt:pub:elsewhere/x",
                                   "introspect"])
def test_row18_refresh_asking_for_more_scope_is_invalid_scope(srv, extra):
    first, (u, _pw, _id), _scope = start(srv)
    r = srv.refresh(srv.clients["rot"], first["refresh_token"],
                    scope="openid mqtt:sub:home/%s/# %s" % (u, extra))
    assert token_error(r) == "invalid_scope"
    r = srv.refresh(srv.clients["rot"], first["refresh_token"], scope=extra)
    assert token_error(r) == "invalid_scope"


def test_invalid_scope_does_not_use_up_the_refresh_token(srv):
    first, _user, scope = start(srv)
    assert refresh_err(srv, "rot", first["refresh_token"], scope="profile") == "invalid_scope"
    body = refresh_ok(srv, "rot", first["refresh_token"])
    assert set(body["scope"].split()) == set(scope.split())
    assert active(srv, first["access_token"])


def test_malformed_scope_on_refresh_is_invalid_scope(srv):
    first, _user, _scope = start(srv)
    for bad in ("mqtt:pub:a/#/b", 'mqtt:sub:a"b'):
        assert refresh_err(srv, "rot", first["refresh_token"], scope=bad) == "invalid_scope"


# ---------------------------------------------------------------- binding to the client (row 18)


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_row18_other_clients_refresh_token_is_invalid_grant(srv, auth):
    first, _user, _scope = start(srv)
    assert refresh_err(srv, "b", first["refresh_token"], auth=auth) == "invalid_grant"
    # presented by a public client with only its client_id
    assert refresh_err(srv, "pub", first["refresh_token"]) == "invalid_grant"
    # the owner's token was not used up by the other client's attempt
    body = refresh_ok(srv, "rot", first["refresh_token"])
    assert active(srv, body["refresh_token"])


def test_row18_public_clients_token_presented_by_a_confidential_client(srv):
    first, _user, _scope = start(srv, "pub")
    assert refresh_err(srv, "rot", first["refresh_token"]) == "invalid_grant"
    refresh_ok(srv, "pub", first["refresh_token"])


def test_unknown_client_id_presenting_a_public_clients_token_is_invalid_client(srv):
    first, _user, _scope = start(srv, "pub")
    r = srv.refresh(Client("pub-other-nobody"), first["refresh_token"], auth="none")
    assert token_error(r, 401) == "invalid_client"
    refresh_ok(srv, "pub", first["refresh_token"])


def test_client_without_the_refresh_token_grant_is_unauthorized_client(srv):
    first, _user, _scope = start(srv)
    for rt in (first["refresh_token"], "garbage-token-" + "x" * 30):
        assert refresh_err(srv, "code-only", rt) == "unauthorized_client"
    refresh_ok(srv, "rot", first["refresh_token"])


# ---------------------------------------------------------------- request errors


@pytest.mark.parametrize("rt", ["garbage", "A" * 43, "x" * 3000, "a.b.c"])
def test_unknown_refresh_token_is_invalid_grant(srv, rt):
    assert refresh_err(srv, "rot", rt) == "invalid_grant"


def test_access_token_as_refresh_token_is_invalid_grant(srv):
    first, _user, _scope = start(srv)
    assert refresh_err(srv, "rot", first["access_token"]) == "invalid_grant"
    refresh_ok(srv, "rot", first["refresh_token"])


def test_missing_refresh_token_is_invalid_request(srv):
    assert refresh_err(srv, "rot", None) == "invalid_request"
    assert refresh_err(srv, "pub", None) == "invalid_request"


def test_repeated_refresh_token_parameter_is_invalid_request(srv):
    first, _user, _scope = start(srv)
    rt = first["refresh_token"]
    assert refresh_err(srv, "rot", rt, extra=[("refresh_token", rt)]) == "invalid_request"
    refresh_ok(srv, "rot", rt)


def test_confidential_client_must_authenticate_and_a_failed_attempt_uses_nothing(srv):
    first, _user, _scope = start(srv)
    rt = first["refresh_token"]
    rot = srv.clients["rot"]
    r = srv.refresh(rot, rt, auth="none")
    assert token_error(r, 401) == "invalid_client"
    r = srv.refresh(Client("rot", "wrong-" + rot.secret), rt, auth="basic")
    assert token_error(r, 401) == "invalid_client"
    assert "WWW-Authenticate" in r.headers
    r = srv.refresh(Client("rot", "wrong"), rt, auth="post")
    assert token_error(r, 401) == "invalid_client"
    body = refresh_ok(srv, "rot", rt)
    assert active(srv, body["refresh_token"]) and active(srv, first["access_token"])


# ---------------------------------------------------------------- users and clients going away


def test_removed_user_cannot_refresh_and_the_grant_tokens_are_inactive(srv):
    first, (u, _pw, _id), _scope = start(srv)
    second = refresh_ok(srv, "rot", first["refresh_token"])
    assert srv.cli(["user", "rm", u]).rc == 0
    for tok in (second["refresh_token"], second["access_token"], first["access_token"]):
        assert wait_inactive(srv, rs(srv), tok), tok[:12]
    assert refresh_err(srv, "rot", second["refresh_token"]) == "invalid_grant"


def test_disabled_user_tokens_are_inactive_and_come_back_when_enabled(srv):
    first, (u, _pw, _id), _scope = start(srv, "stable")
    out = srv.cli(["user", "disable", u])
    assert out.rc == 0 and out.json()["active"] is False
    for tok in (first["refresh_token"], first["access_token"]):
        assert wait_inactive(srv, rs(srv), tok), tok[:12]
    assert refresh_err(srv, "stable", first["refresh_token"]) == "invalid_grant"
    assert srv.userinfo(first["access_token"]).status_code == 401
    # enabled again, the grant was never revoked: its tokens are good again
    assert srv.cli(["user", "enable", u]).json()["active"] is True
    assert refresh_ok(srv, "stable", first["refresh_token"])["refresh_token"] == \
        first["refresh_token"]
    assert active(srv, first["access_token"])


def test_disabled_client_cannot_refresh_and_its_tokens_are_inactive(srv):
    first, _user, _scope = start(srv, "to-disable")
    assert srv.cli(["client", "disable", "to-disable"]).rc == 0
    for tok in (first["refresh_token"], first["access_token"]):
        assert wait_inactive(srv, rs(srv), tok), tok[:12]
    r = srv.refresh(srv.clients["to-disable"], first["refresh_token"])
    # a disabled client fails client authentication, as at every endpoint: never a token
    assert token_error(r, 401) == "invalid_client"


def test_removed_client_cannot_refresh_and_its_tokens_are_inactive(srv):
    first, _user, _scope = start(srv, "to-remove")
    assert srv.cli(["client", "rm", "to-remove"]).rc == 0
    for tok in (first["refresh_token"], first["access_token"]):
        assert wait_inactive(srv, rs(srv), tok), tok[:12]
    r = srv.refresh(srv.clients["to-remove"], first["refresh_token"])
    assert token_error(r, r.status_code) in ("invalid_grant", "invalid_client")
    assert r.status_code in (400, 401)


# ---------------------------------------------------------------- introspection of refresh tokens


def test_refresh_token_introspection_fields(srv):
    first, (u, _pw, uid), scope = start(srv)
    now = time.time()
    d = intro(srv, first["refresh_token"])
    for k in ("active", "token_type", "client_id", "scope", "sub", "username", "exp", "iat",
              "iss"):
        assert k in d, (k, d)
    assert d["active"] is True and d["token_type"] == "refresh_token"
    assert d["client_id"] == "rot" and d["sub"] == str(uid) and d["username"] == u
    assert set(d["scope"].split()) == set(scope.split())
    assert d["iss"] == srv.issuer
    assert isinstance(d["exp"], int) and isinstance(d["iat"], int)
    assert abs(d["iat"] - now) < 60
    # default idle timeout: 30 days from the last use
    assert 2592000 - 120 <= d["exp"] - now <= 2592000 + 5, d
    assert first["refresh_token"] not in str(d)


def test_refresh_token_introspection_after_rotation_describes_the_successor(srv):
    first, (u, _pw, uid), scope = start(srv)
    rt2 = refresh_ok(srv, "rot", first["refresh_token"], scope="openid")["refresh_token"]
    d = intro(srv, rt2)
    assert d["active"] is True and d["token_type"] == "refresh_token"
    assert set(d["scope"].split()) == set(scope.split())   # the grant's scope, not the request's
    assert d["username"] == u and d["sub"] == str(uid)


# ---------------------------------------------------------------- idle timeout and grant lifetime


def idle_check(s, cid):
    """The refresh token's idle timeout slides with each use; unused for longer -> invalid_grant
    and inactive at /introspect."""
    first, _user, _scope = start(s, cid)
    rt = first["refresh_token"]
    # expiry times are whole seconds: a gap of IDLE - 1.9 s is inside the timeout whichever way
    # the daemon rounds, and three such gaps add up to more than IDLE
    for _ in range(3):
        time.sleep(IDLE - 1.9)
        body = refresh_ok(s, cid, rt)
        rt = body["refresh_token"]
    d = s.introspection(s.clients["rs"], rt)
    assert d["active"] is True and d["exp"] <= time.time() + IDLE + 1, d
    time.sleep(IDLE + 1.2)
    assert s.introspection(s.clients["rs"], rt) == INACTIVE
    assert token_error(s.refresh(s.clients[cid], rt)) == "invalid_grant"


def test_idle_timeout_per_client_applies_to_the_refresh_token_from_the_code(srv):
    first, _user, _scope = start(srv, "idle")
    d = intro(srv, first["refresh_token"])
    assert d["active"] is True and d["exp"] <= time.time() + IDLE + 1, d
    time.sleep(IDLE + 1.2)
    assert intro(srv, first["refresh_token"]) == INACTIVE
    assert refresh_err(srv, "idle", first["refresh_token"]) == "invalid_grant"


def test_idle_refresh_token_expires_per_client_setting(srv):
    idle_check(srv, "idle")


def test_idle_non_rotating_refresh_token_expires_per_client_setting(srv):
    idle_check(srv, "stable-idle")


@pytest.fixture(scope="module")
def short_idle(server_factory):
    # [tokens] refresh_token_ttl is the global idle timeout (default 30 days)
    return server_factory.start(
        config={"tokens": {"refresh_token_ttl": IDLE}},
        clients=[conf("rot"), dict(client_id="rs", scope="introspect")],
        name="short-idle")


def test_idle_refresh_token_expires_per_config(short_idle):
    idle_check(short_idle, "rot")


def lifetime_check(s, cid):
    """A grant older than its lifetime can no longer be refreshed, even with a fresh token."""
    first, _user, _scope = start(s, cid)
    time.sleep(LIFETIME * 0.5)
    rt = refresh_ok(s, cid, first["refresh_token"])["refresh_token"]
    time.sleep(LIFETIME * 0.5 + 1.2)
    assert token_error(s.refresh(s.clients[cid], rt)) == "invalid_grant"
    # no longer usable, so exactly inactive at /introspect (row 31)
    assert s.introspection(s.clients["rs"], rt) == INACTIVE


def test_grant_lifetime_per_client_setting(srv):
    lifetime_check(srv, "short-grant")


@pytest.fixture(scope="module")
def short_grants(server_factory):
    return server_factory.start(
        config={"tokens": {"grant_lifetime": LIFETIME}},
        clients=[conf("rot"), dict(client_id="rs", scope="introspect")],
        name="short-grants")


def test_grant_lifetime_per_config(short_grants):
    lifetime_check(short_grants, "rot")


def test_concurrent_rotation_chains_over_keep_alive_connections_never_lose_a_token(srv):
    """Rotations answer after their commit without holding a worker (the connection waits,
    suspended): many chains at once, each on its own keep-alive connection, must each get a new
    refresh token in every answer, and every token's successor must be the one that works."""
    import requests

    c = srv.clients["rot"]
    chains = [start(srv)[0]["refresh_token"] for _ in range(12)]
    problems = []

    def go(i):
        # problems (exceptions included) are collected, asserted in the main thread
        try:
            chain(i)
        except Exception as e:  # noqa: BLE001 - a timeout or a reset, reported below
            problems.append((i, repr(e)))

    def chain(i):
        rt = chains[i]
        with requests.Session() as h:
            for n in range(120):
                r = h.post(srv.url("/token"), auth=(c.id, c.secret), timeout=t(10),
                           data={"grant_type": "refresh_token", "refresh_token": rt})
                body = r.json() if r.headers.get("Content-Type", "").startswith(
                    "application/json") else {}
                if r.status_code != 200 or not body.get("refresh_token") or \
                        body["refresh_token"] == rt:
                    problems.append((i, n, r.status_code, r.text[:200]))
                    return
                rt = body["refresh_token"]
        chains[i] = rt

    ths = [threading.Thread(target=go, args=(i,)) for i in range(len(chains))]
    for th in ths:
        th.start()
    for th in ths:
        th.join(t(60))
    assert not any(th.is_alive() for th in ths), "a chain never finished"
    assert not problems, problems
    for rt in chains:
        assert active(srv, rt)
