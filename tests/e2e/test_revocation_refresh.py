"""POST /revoke (RFC 7009) and /introspect with refresh tokens and user access tokens: revoking a
refresh token revokes its grant (row 33), hints are only hints (row 32), another client's token
stays active unless the caller holds introspect, and every answer says Cache-Control: no-store."""
import pytest

from tessera_harness import (INACTIVE, Client, refresh_login, token_error, token_ok,
                             wait_inactive)

CB = "https://rp.example/cb"
PCB = "http://127.0.0.1:9/cb"
SCOPE = "openid profile mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"
RT_GRANTS = ["authorization_code", "refresh_token"]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        dict(client_id="a", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="A"),
        dict(client_id="b", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="B"),
        dict(client_id="pub", public=True, grants=RT_GRANTS, redirect_uris=[PCB], scope=SCOPE,
             name="Public"),
        dict(client_id="rs", scope="introspect"),
    ], name="revoke-refresh")


def login(srv, cid="a"):
    cb = PCB if srv.clients[cid].secret is None else CB
    lg, user = refresh_login(srv, srv.clients[cid], cb, scope="openid mqtt:sub:home/#")
    return lg.tokens, user


def rs(srv):
    return srv.clients["rs"]


def intro(srv, tok, hint=None):
    return srv.introspection(rs(srv), tok, hint=hint)


def revoked_ok(r):
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.content == b""
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers


def revoke_public(srv, cid, token, hint=None):
    """A public client revokes with its client_id in the body (no secret)."""
    pairs = [("token", token), ("client_id", cid)]
    if hint is not None:
        pairs.append(("token_type_hint", hint))
    return srv.post("/revoke", pairs)


# ---------------------------------------------------------------- row 33


def test_row33_revoking_a_refresh_token_revokes_the_whole_grant(srv):
    first, _user = login(srv)
    second = token_ok(srv.refresh(srv.clients["a"], first["refresh_token"]))
    revoked_ok(srv.revoke(srv.clients["a"], second["refresh_token"]))
    for tok in (second["refresh_token"], second["access_token"], first["access_token"]):
        assert intro(srv, tok) == INACTIVE, tok[:12]
    assert token_error(srv.refresh(srv.clients["a"], second["refresh_token"])) == "invalid_grant"
    assert srv.userinfo(first["access_token"]).status_code == 401


def test_row33_revoking_a_refresh_token_leaves_other_grants_alone(srv):
    first, _user = login(srv)
    other, _user2 = login(srv)
    revoked_ok(srv.revoke(srv.clients["a"], first["refresh_token"]))
    assert intro(srv, other["refresh_token"])["active"] is True
    assert intro(srv, other["access_token"])["active"] is True
    token_ok(srv.refresh(srv.clients["a"], other["refresh_token"]))


def test_row33_revoking_a_user_access_token_revokes_only_that_token(srv):
    first, _user = login(srv)
    second = token_ok(srv.refresh(srv.clients["a"], first["refresh_token"]))
    revoked_ok(srv.revoke(srv.clients["a"], first["access_token"]))
    assert intro(srv, first["access_token"]) == INACTIVE
    assert intro(srv, second["access_token"])["active"] is True
    assert intro(srv, second["refresh_token"])["active"] is True
    third = token_ok(srv.refresh(srv.clients["a"], second["refresh_token"]))
    assert intro(srv, third["access_token"])["active"] is True


def test_row33_revoking_a_refresh_token_twice_is_200_both_times(srv):
    first, _user = login(srv)
    for _ in range(2):
        revoked_ok(srv.revoke(srv.clients["a"], first["refresh_token"]))
    assert intro(srv, first["refresh_token"]) == INACTIVE


@pytest.mark.parametrize("garbage", ["garbage", "A" * 43, "x" * 4000, "a.b.c"])
def test_row33_revoking_garbage_is_200(srv, garbage):
    revoked_ok(srv.revoke(srv.clients["a"], garbage))


def test_row33_other_clients_refresh_token_stays_active_without_introspect_right(srv):
    first, _user = login(srv)
    for auth in ("basic", "post"):
        revoked_ok(srv.revoke(srv.clients["b"], first["refresh_token"], auth=auth))
    revoked_ok(srv.revoke(srv.clients["b"], first["access_token"]))
    revoked_ok(revoke_public(srv, "pub", first["refresh_token"]))
    assert intro(srv, first["refresh_token"])["active"] is True
    assert intro(srv, first["access_token"])["active"] is True
    token_ok(srv.refresh(srv.clients["a"], first["refresh_token"]))


def test_row33_client_with_introspect_may_revoke_any_refresh_token(srv):
    first, _user = login(srv)
    revoked_ok(srv.revoke(rs(srv), first["refresh_token"]))
    for tok in (first["refresh_token"], first["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert token_error(srv.refresh(srv.clients["a"], first["refresh_token"])) == "invalid_grant"


def test_row33_public_client_revokes_its_refresh_token_with_client_id(srv):
    first, _user = login(srv, "pub")
    revoked_ok(revoke_public(srv, "pub", first["refresh_token"]))
    for tok in (first["refresh_token"], first["access_token"]):
        assert intro(srv, tok) == INACTIVE
    assert token_error(srv.refresh(srv.clients["pub"], first["refresh_token"])) == \
        "invalid_grant"


def test_revoking_a_rotated_predecessor_does_not_crash_and_never_revives(srv):
    first, _user = login(srv)
    second = token_ok(srv.refresh(srv.clients["a"], first["refresh_token"]))
    r = srv.revoke(srv.clients["a"], first["refresh_token"])
    revoked_ok(r)
    assert intro(srv, first["refresh_token"]) == INACTIVE
    # RFC 7009 lets the server revoke the grant here or keep it; either way nothing 5xx and a
    # revoked successor must not come back
    if intro(srv, second["refresh_token"]) == INACTIVE:
        assert token_error(srv.refresh(srv.clients["a"], second["refresh_token"])) == \
            "invalid_grant"


def test_revoke_without_client_auth_is_401_and_refresh_token_stays_active(srv):
    first, _user = login(srv)
    r = srv.revoke(None, first["refresh_token"])
    assert token_error(r, 401) == "invalid_client"
    r = srv.revoke(Client("a", "wrong"), first["refresh_token"])
    assert token_error(r, 401) == "invalid_client"
    assert intro(srv, first["refresh_token"])["active"] is True


# ---------------------------------------------------------------- row 32: hints


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "foo", ""])
def test_row32_revoke_refresh_token_with_any_hint(srv, hint):
    first, _user = login(srv)
    revoked_ok(srv.revoke(srv.clients["a"], first["refresh_token"], hint=hint))
    assert intro(srv, first["refresh_token"]) == INACTIVE
    assert intro(srv, first["access_token"]) == INACTIVE


@pytest.mark.parametrize("hint", ["refresh_token", "foo"])
def test_row32_revoke_user_access_token_with_wrong_hint(srv, hint):
    first, _user = login(srv)
    revoked_ok(srv.revoke(srv.clients["a"], first["access_token"], hint=hint))
    assert intro(srv, first["access_token"]) == INACTIVE
    assert intro(srv, first["refresh_token"])["active"] is True


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "foo", ""])
def test_row32_introspect_refresh_token_with_any_hint(srv, hint):
    first, (u, _pw, _id) = login(srv)
    d = intro(srv, first["refresh_token"], hint=hint)
    assert d["active"] is True and d["token_type"] == "refresh_token" and d["username"] == u
    d = intro(srv, first["access_token"], hint=hint)
    assert d["active"] is True and d["token_type"] == "Bearer"


# ---------------------------------------------------------------- row 31 with refresh tokens


def test_row31_used_up_revoked_and_foreign_refresh_tokens_introspect_exactly_inactive(srv):
    first, _user = login(srv)
    second = token_ok(srv.refresh(srv.clients["a"], first["refresh_token"]))
    assert intro(srv, first["refresh_token"]) == INACTIVE            # used up by rotation
    revoked_ok(srv.revoke(srv.clients["a"], second["refresh_token"]))
    assert intro(srv, second["refresh_token"]) == INACTIVE           # revoked
    assert intro(srv, "A" * 43) == INACTIVE                          # never issued


def test_refresh_token_of_a_removed_user_introspects_inactive(srv):
    first, (u, _pw, _id) = login(srv)
    assert srv.cli(["user", "rm", u]).rc == 0
    assert wait_inactive(srv, rs(srv), first["refresh_token"])


def test_introspecting_a_refresh_token_needs_the_introspect_right(srv):
    first, _user = login(srv)
    r = srv.introspect(srv.clients["a"], first["refresh_token"])
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.headers.get("Cache-Control") == "no-store"
    assert intro(srv, first["refresh_token"])["active"] is True
