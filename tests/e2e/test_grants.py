"""`tessera grant list|scope|revoke`: what an administrator sees of a user's grants and how a
change reaches tokens already issued (at /introspect at once) and the next refresh."""
import time

import pytest

from tessera_harness import (INACTIVE, idp_user, jwt_parts, redirect_params, refresh_login,
                             token_error, token_ok)

CB = "https://rp.example/cb"
SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
         "mqtt:sub:cmd/dev42")
RT_GRANTS = ["authorization_code", "refresh_token"]
GRANT_KEYS = {"id", "client_id", "user_id", "username", "scope", "created_at", "updated_at",
              "revoked_at", "active"}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        dict(client_id="app", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="App"),
        dict(client_id="app2", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="App 2"),
        dict(client_id="rs", scope="introspect"),
    ], name="grants")


def login(srv, cid="app", scope=None, user=None):
    user = user or idp_user(srv)
    u = user[0]
    scope = scope or "openid mqtt:sub:home/%s/# mqtt:pub:home/%s/cmd" % (u, u)
    lg, user = refresh_login(srv, srv.clients[cid], CB, scope=scope, user=user)
    return lg.tokens, user


def intro(srv, tok):
    return srv.introspection(srv.clients["rs"], tok)


def gid_of(tokens):
    return str(jwt_parts(tokens["access_token"])[1]["gid"])


def grant_of(srv, tokens, user):
    rows = [g for g in srv.grants(user=user[0]) if str(g["id"]) == gid_of(tokens)]
    assert len(rows) == 1, rows
    return rows[0]


def words(s):
    return set(s.split())


# ---------------------------------------------------------------- list


def test_grant_list_shows_the_users_grant_with_every_field(srv):
    before = int(time.time())
    tokens, (u, _pw, uid) = login(srv)
    rows = srv.grants(user=u)
    assert len(rows) == 1, rows
    g = rows[0]
    assert set(g) >= GRANT_KEYS, g
    assert str(g["id"]) == gid_of(tokens)
    assert g["client_id"] == "app" and g["username"] == u and str(g["user_id"]) == str(uid)
    assert words(g["scope"]) == words(tokens["scope"])
    assert isinstance(g["created_at"], int) and before - 5 <= g["created_at"] <= time.time() + 5
    assert isinstance(g["updated_at"], int) and g["updated_at"] >= g["created_at"]
    assert g["revoked_at"] is None and g["active"] is True


def test_grant_list_filters_by_user_and_by_client(srv):
    user = idp_user(srv)
    a, _ = login(srv, "app", user=user)
    b, _ = login(srv, "app2", user=user)
    other, _ = login(srv, "app")
    mine = srv.grants(user=user[0])
    assert {str(g["id"]) for g in mine} == {gid_of(a), gid_of(b)}
    assert all(g["username"] == user[0] for g in mine)
    only = srv.grants(user=user[0], client="app2")
    assert [str(g["id"]) for g in only] == [gid_of(b)]
    by_client = srv.grants(client="app")
    ids = {str(g["id"]) for g in by_client}
    assert {gid_of(a), gid_of(other)} <= ids and gid_of(b) not in ids
    assert all(g["client_id"] == "app" for g in by_client)
    everything = {str(g["id"]) for g in srv.grants()}
    assert {gid_of(a), gid_of(b), gid_of(other)} <= everything


def test_grant_list_user_filter_is_case_insensitive(srv):
    tokens, (u, _pw, _id) = login(srv)
    rows = srv.grants(user=u.upper())
    assert [str(g["id"]) for g in rows] == [gid_of(tokens)]


def test_grant_list_for_a_user_without_grants_is_empty(srv):
    u, _pw, _id = idp_user(srv)
    assert srv.grants(user=u) == []


def test_grant_list_shows_a_reuse_revoked_grant_as_revoked(srv):
    tokens, user = login(srv)
    token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))
    assert token_error(srv.refresh(srv.clients["app"], tokens["refresh_token"])) == \
        "invalid_grant"
    g = grant_of(srv, tokens, user)
    assert g["active"] is False and isinstance(g["revoked_at"], int)


# ---------------------------------------------------------------- scope


def test_grant_scope_narrows_issued_access_tokens_at_once_and_the_next_refresh(srv):
    tokens, user = login(srv)
    u = user[0]
    g = grant_of(srv, tokens, user)
    new = "openid mqtt:sub:home/%s/kitchen/#" % u
    out = srv.cli(["grant", "scope", str(g["id"]), new]).json()
    assert str(out["id"]) == str(g["id"]) and words(out["scope"]) == words(new)
    assert out["active"] is True and out["updated_at"] >= g["updated_at"]
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == words(new), d
    d = intro(srv, tokens["refresh_token"])
    assert d["active"] is True and words(d["scope"]) == words(new), d
    body = token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))
    assert words(body["scope"]) == words(new)
    assert words(jwt_parts(body["access_token"])[1]["scope"]) == words(new)
    assert words(grant_of(srv, tokens, user)["scope"]) == words(new)


def test_grant_scope_narrowing_by_mqtt_intersection_at_introspect(srv):
    tokens, user = login(srv)
    u = user[0]
    g = grant_of(srv, tokens, user)
    srv.cli(["grant", "scope", str(g["id"]), "mqtt:sub:home/%s/a/# mqtt:pub:home/%s/cmd"
             % (u, u)]).json()
    d = intro(srv, tokens["access_token"])
    # openid left the grant; the access token's mqtt:sub:home/u/# shrinks to the intersection
    assert words(d["scope"]) == {"mqtt:sub:home/%s/a/#" % u, "mqtt:pub:home/%s/cmd" % u}, d


def test_grant_scope_with_nothing_left_makes_issued_access_tokens_inactive(srv):
    tokens, user = login(srv)
    u = user[0]
    narrow = token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"],
                                  scope="mqtt:pub:home/%s/cmd" % u))
    g = grant_of(srv, tokens, user)
    srv.cli(["grant", "scope", str(g["id"]), "openid"]).json()
    assert intro(srv, narrow["access_token"]) == INACTIVE
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and d["scope"] == "openid", d


def test_grant_scope_widened_is_issued_at_the_next_refresh_but_not_to_old_tokens(srv):
    tokens, user = login(srv, scope="openid")
    u = user[0]
    g = grant_of(srv, tokens, user)
    wide = "openid mqtt:sub:cmd/dev42 mqtt:pub:home/%s/cmd" % u
    srv.cli(["grant", "scope", str(g["id"]), wide]).json()
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and d["scope"] == "openid", d
    body = token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))
    assert words(body["scope"]) == words(wide)
    assert words(intro(srv, body["access_token"])["scope"]) == words(wide)
    # the widened grant scope is also what a narrowing refresh is checked against
    body = token_ok(srv.refresh(srv.clients["app"], body["refresh_token"],
                                scope="mqtt:sub:cmd/dev42"))
    assert body["scope"] == "mqtt:sub:cmd/dev42"


def test_grant_scope_narrowed_then_refresh_asking_for_the_old_scope_is_invalid_scope(srv):
    tokens, user = login(srv)
    u = user[0]
    g = grant_of(srv, tokens, user)
    srv.cli(["grant", "scope", str(g["id"]), "openid"]).json()
    r = srv.refresh(srv.clients["app"], tokens["refresh_token"],
                    scope="mqtt:sub:home/%s/#" % u)
    assert token_error(r) == "invalid_scope"


def test_grant_scope_unknown_id_exits_1(srv):
    r = srv.cli(["grant", "scope", "987654321", "openid"])
    assert r.rc == 1, r
    assert r.stderr.strip()


@pytest.mark.parametrize("bad", ["mqtt:pub:a/#/b", 'mqtt:sub:a"b', "mqtt:sub:a\\b"])
def test_grant_scope_malformed_token_exits_1_and_changes_nothing(srv, bad):
    tokens, user = login(srv)
    g = grant_of(srv, tokens, user)
    r = srv.cli(["grant", "scope", str(g["id"]), "openid " + bad])
    assert r.rc == 1, r
    assert words(grant_of(srv, tokens, user)["scope"]) == words(g["scope"])
    d = intro(srv, tokens["access_token"])
    assert words(d["scope"]) == words(tokens["scope"])


# ---------------------------------------------------------------- revoke


def test_grant_revoke_makes_every_token_of_the_grant_inactive_at_once(srv):
    tokens, user = login(srv)
    second = token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))
    other, _ = login(srv, "app2", user=user)   # the same user's grant for another client
    g = grant_of(srv, tokens, user)
    before = int(time.time())
    out = srv.cli(["grant", "revoke", str(g["id"])]).json()
    assert str(out["id"]) == str(g["id"]) and out["active"] is False
    assert isinstance(out["revoked_at"], int) and before - 5 <= out["revoked_at"] <= time.time() + 5
    for tok in (tokens["access_token"], second["access_token"], second["refresh_token"]):
        assert intro(srv, tok) == INACTIVE, tok[:12]
    assert token_error(srv.refresh(srv.clients["app"], second["refresh_token"])) == \
        "invalid_grant"
    assert srv.userinfo(second["access_token"]).status_code == 401
    assert intro(srv, other["access_token"])["active"] is True
    token_ok(srv.refresh(srv.clients["app2"], other["refresh_token"]))
    assert grant_of(srv, tokens, user)["active"] is False


def test_grant_revoke_unknown_id_exits_1(srv):
    r = srv.cli(["grant", "revoke", "987654321"])
    assert r.rc == 1, r


def test_grant_cli_usage_errors_exit_2(srv):
    for args in (["grant"], ["grant", "frobnicate"], ["grant", "scope", "1"],
                 ["grant", "list", "--bogus", "x"]):
        r = srv.cli(args)
        assert r.rc == 2, r


def test_new_login_after_grant_revoke_makes_a_new_grant(srv):
    tokens, user = login(srv)
    g = grant_of(srv, tokens, user)
    srv.cli(["grant", "revoke", str(g["id"])]).json()
    agent_tokens, _ = login(srv, user=user)
    assert gid_of(agent_tokens) != str(g["id"])
    assert intro(srv, agent_tokens["access_token"])["active"] is True


def test_row6_code_reuse_revokes_the_refreshed_tokens_too(srv):
    from tessera_harness import PKCE, UserAgent, auth_request
    u, pw, _uid = idp_user(srv)
    p = PKCE()
    r = UserAgent(srv).run(auth_request("app", CB, scope="openid", pkce=p), username=u,
                           password=pw)
    code = redirect_params(r)["code"]
    first = token_ok(srv.redeem(srv.clients["app"], code, p.verifier, CB))
    second = token_ok(srv.refresh(srv.clients["app"], first["refresh_token"]))
    assert token_error(srv.redeem(srv.clients["app"], code, p.verifier, CB)) == "invalid_grant"
    for tok in (second["access_token"], second["refresh_token"], first["access_token"]):
        assert intro(srv, tok) == INACTIVE
