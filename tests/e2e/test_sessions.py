"""A user's browser sessions end when the user's password changes, when the user is disabled and
when the user is removed, whichever way that happens: the CLI (`tessera user passwd`, `disable`,
`rm`) or SCIM (PUT or PATCH of the password, `active` false by PUT or PATCH, DELETE). The next
/authorize with the old session cookie shows the login page again (docs/security.md row 79).

Black box: a browser (UserAgent) signs in through the code flow, the user is changed from the
outside, and the same browser comes back."""
import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, SCIM_CONFIG, Scim, ok
from tessera_harness import (PKCE, UserAgent, auth_request, code_flow, is_login_page,
                             new_username, redirect_params)

CB = "https://rp.example/cb"
PW = "correct horse battery"


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, name="sessions", clients=ADMIN_CLIENTS + [
        dict(client_id="app", grants=["authorization_code"], redirect_uris=[CB],
             scope="openid profile", name="App")])


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def again(agent):
    """The same browser asks /authorize again (the consent is remembered): the reply."""
    return agent.authorize(auth_request("app", CB, scope="openid", pkce=PKCE()))


def assert_signed_in(agent):
    r = again(agent)
    assert "code" in redirect_params(r), "the session should still hold"


def assert_signed_out(agent):
    r = again(agent)
    assert is_login_page(r), "the old session still signs in: %s %s" % (
        r.status_code, r.headers.get("Location"))


def signed_in(srv, username):
    """A browser signed in as username (consent given), still signed in on a second visit."""
    agent = UserAgent(srv)
    code_flow(srv, srv.clients["app"], username, PW, redirect_uri=CB, agent=agent, redeem=False)
    assert_signed_in(agent)
    return agent


def cli_user(srv):
    name = new_username("s")
    srv.add_user(name, PW)
    return name


def scim_user(api):
    name = new_username("s")
    return name, api.create_user(name, password=PW)["id"]


# ---------------------------------------------------------------- the CLI

def test_row79_cli_password_change_ends_sessions(srv):
    name = cli_user(srv)
    agent = signed_in(srv, name)
    other = signed_in(srv, name)          # a second browser of the same user
    out = srv.cli(["user", "passwd", name], input="a new passphrase\n")
    assert out.rc == 0, out
    assert_signed_out(agent)
    assert_signed_out(other)


def test_row79_cli_disable_ends_sessions_and_enable_does_not_revive_them(srv):
    name = cli_user(srv)
    agent = signed_in(srv, name)
    assert srv.cli(["user", "disable", name]).rc == 0
    assert_signed_out(agent)
    assert srv.cli(["user", "enable", name]).rc == 0
    assert_signed_out(agent)


def test_row79_cli_remove_ends_sessions(srv):
    name = cli_user(srv)
    agent = signed_in(srv, name)
    assert srv.cli(["user", "rm", name]).rc == 0
    srv.add_user(name, PW)                # the same name again is another user
    assert_signed_out(agent)


def test_row79_other_users_sessions_stay(srv):
    name, bystander = cli_user(srv), cli_user(srv)
    agent = signed_in(srv, bystander)
    out = srv.cli(["user", "passwd", name], input="a new passphrase\n")
    assert out.rc == 0, out
    assert srv.cli(["user", "disable", name]).rc == 0
    assert_signed_in(agent)


# ---------------------------------------------------------------- SCIM

def test_row79_scim_put_password_ends_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    ok(api.put("/Users/%s" % uid, {"schemas": [CORE_USER], "userName": name,
                                   "password": "a new passphrase"}))
    assert_signed_out(agent)


def test_row79_scim_put_without_password_keeps_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    ok(api.put("/Users/%s" % uid, {"schemas": [CORE_USER], "userName": name,
                                   "displayName": "Renamed"}))
    assert_signed_in(agent)


def test_row79_scim_patch_password_ends_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    ok(api.patch("/Users/%s" % uid, {"op": "replace", "path": "password",
                                     "value": "a new passphrase"}))
    assert_signed_out(agent)


def test_row79_scim_patch_active_false_ends_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    ok(api.patch("/Users/%s" % uid, {"op": "replace", "path": "active", "value": False}))
    assert_signed_out(agent)
    ok(api.patch("/Users/%s" % uid, {"op": "replace", "path": "active", "value": True}))
    assert_signed_out(agent)


def test_row79_scim_put_active_false_ends_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    ok(api.put("/Users/%s" % uid, {"schemas": [CORE_USER], "userName": name,
                                   "active": False}))
    assert_signed_out(agent)


def test_row79_scim_delete_ends_sessions(srv, api):
    name, uid = scim_user(api)
    agent = signed_in(srv, name)
    r = api.delete("/Users/%s" % uid)
    assert r.status_code == 204, r.text
    api.create_user(name, password=PW)    # the same name again is another user
    assert_signed_out(agent)
