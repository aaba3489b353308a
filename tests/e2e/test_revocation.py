"""POST /revoke (RFC 7009) for access tokens: row 33 and friends."""
import pytest
import requests

from tessera_harness import Client, http_timeout, jwt_parts

INACTIVE = {"active": False}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        {"client_id": "rs", "scope": "introspect"},
        {"client_id": "dev-a", "scope": "mqtt:pub:a/#"},
        {"client_id": "dev-b", "scope": "mqtt:pub:b/#"},
    ])


def test_revoke_own_access_token_makes_it_inactive_at_once(srv):
    a = srv.clients["dev-a"]
    tok = srv.access_token(a)
    assert srv.is_active(srv.clients["rs"], tok) is True
    r = srv.revoke(a, tok)
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert srv.introspect(srv.clients["rs"], tok).json() == INACTIVE


def test_revoke_with_post_auth(srv):
    a = srv.clients["dev-a"]
    tok = srv.access_token(a)
    r = srv.revoke(a, tok, auth="post")
    assert r.status_code == 200, r.text
    assert srv.introspect(srv.clients["rs"], tok).json() == INACTIVE


def test_revoke_only_that_token(srv):
    a = srv.clients["dev-a"]
    t1, t2 = srv.access_token(a), srv.access_token(a)
    assert srv.revoke(a, t1).status_code == 200
    assert srv.introspect(srv.clients["rs"], t1).json() == INACTIVE
    assert srv.is_active(srv.clients["rs"], t2) is True
    assert srv.token(a).status_code == 200  # the client itself keeps working


def test_revoke_is_idempotent(srv):
    a = srv.clients["dev-a"]
    tok = srv.access_token(a)
    for _ in range(3):
        r = srv.revoke(a, tok)
        assert r.status_code == 200 and r.content == b""
    assert srv.introspect(srv.clients["rs"], tok).json() == INACTIVE


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "x" * 5000, "eyJhbGciOiJub25lIn0.e30."])
def test_row33_revoke_garbage_is_200(srv, garbage):
    r = srv.revoke(srv.clients["dev-a"], garbage)
    assert r.status_code == 200, r.text
    assert r.content == b""


def test_row33_other_clients_token_stays_active_without_introspect_right(srv):
    tok_b = srv.access_token(srv.clients["dev-b"])
    r = srv.revoke(srv.clients["dev-a"], tok_b)
    assert r.status_code < 500, r.text
    assert srv.is_active(srv.clients["rs"], tok_b) is True
    assert jwt_parts(tok_b)[1]["client_id"] == "dev-b"


def test_row33_client_with_introspect_may_revoke_any_token(srv):
    tok_b = srv.access_token(srv.clients["dev-b"])
    r = srv.revoke(srv.clients["rs"], tok_b)
    assert r.status_code == 200, r.text
    assert srv.introspect(srv.clients["rs"], tok_b).json() == INACTIVE


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", "foo", ""])
def test_row32_revoke_with_wrong_or_unknown_hint_still_revokes(srv, hint):
    a = srv.clients["dev-a"]
    tok = srv.access_token(a)
    r = srv.revoke(a, tok, hint=hint)
    assert r.status_code == 200, r.text
    assert srv.introspect(srv.clients["rs"], tok).json() == INACTIVE


def test_revoke_without_client_auth_is_401_and_token_stays_active(srv):
    tok = srv.access_token(srv.clients["dev-a"])
    r = srv.revoke(None, tok)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    r = srv.revoke(Client("dev-a", "wrong"), tok)
    assert r.status_code == 401, r.text
    assert srv.is_active(srv.clients["rs"], tok) is True


def test_revoke_missing_token_is_invalid_request(srv):
    r = srv.revoke(srv.clients["dev-a"], None)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_revoke_get_is_405(srv):
    r = requests.get(srv.url("/revoke"), timeout=http_timeout())
    assert r.status_code == 405
    assert "POST" in r.headers.get("Allow", "")


def test_revoked_token_stays_revoked_after_restart(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "rs", "scope": "introspect"},
                                     {"client_id": "d", "scope": "x"}])
    tok = s.access_token(s.clients["d"])
    assert s.revoke(s.clients["d"], tok).status_code == 200
    assert s.stop() == 0
    s.start()
    assert s.introspect(s.clients["rs"], tok).json() == INACTIVE
