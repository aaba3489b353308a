"""Rights that follow the directory (issue 19 items 1-4 and 11, issue 21 §1): what a token or a
grant yields is decided by what the client, the user and the user's groups allow now, by the
client record that issued it, and by the authorization each refresh token came from.

Black box: users, groups and clients change over SCIM or the CLI, tokens are judged at
/introspect, /token (refresh) and /userinfo. Every test makes its own users and, where it changes
one, its own client, so that tests never depend on each other."""
import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, T_GROUP, T_USER, Scim, ok, op
from tessera_harness import (INACTIVE, PKCE, UserAgent, auth_request, code_flow, jwt_parts,
                             new_username, redirect_params, token_error, token_ok, wait_for)

CB = "https://rp.example/cb"
WEB_CB = "http://127.0.0.1:9/cb"
PW = "correct horse battery staple"
HOME = "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"
APP_SCOPE = "openid profile email " + HOME + " mqtt:sub:garden/# mqtt:sub:cmd/dev42"
RT_GRANTS = ["authorization_code", "refresh_token"]
CLIENTS = ADMIN_CLIENTS + [
    dict(client_id="app", grants=RT_GRANTS, redirect_uris=[CB], scope=APP_SCOPE, name="App"),
    dict(client_id="other", grants=RT_GRANTS, redirect_uris=[CB], scope="openid", name="Other"),
    dict(client_id="web", public=True, grants=["authorization_code"], redirect_uris=[WEB_CB],
         scope="openid " + HOME, name="Web"),
]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=CLIENTS, name="rights")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def words(s):
    return set((s or "").split())


def intro(srv, tok):
    return srv.introspection(srv.clients["admin"], tok)


def user(api, prefix="r", scope=HOME, name=None, email=None):
    """A new SCIM user with a password: (SCIM resource, userName)."""
    n = name or new_username(prefix)
    attrs = {T_USER: {"scope": scope}}
    if email:
        attrs["emails"] = [{"value": email, "primary": True}]
    u = api.create_user(n, password=PW, schemas=[CORE_USER, T_USER], displayName="User " + n,
                        name={"formatted": "User " + n}, **attrs)
    return u, n


def login(srv, name, scope, client="app", cb=CB):
    """The code flow for user name with client: the token answer (with a refresh token for app)."""
    return code_flow(srv, srv.clients[client], name, PW, redirect_uri=cb, scope=scope).tokens


def refresh(srv, tokens, scope=None, client="app"):
    return srv.refresh(srv.clients[client], tokens["refresh_token"], scope=scope)


def gid_of(tokens):
    return jwt_parts(tokens["access_token"])[1]["gid"]


def own_client(srv, scope, grants=RT_GRANTS, public=False):
    """A client of this test alone (added with the CLI while the server runs)."""
    cid = new_username("c")
    redirect = [WEB_CB if public else CB] if "authorization_code" in grants else []
    return srv.add_client(cid, scope=scope, grants=grants, public=public, redirect_uris=redirect)


def seen(srv, client, scope=None):
    """Waits until the daemon sees client (added or changed by the CLI): a client-credentials
    token for it is issued. Returns that token's answer."""
    def attempt():
        r = srv.token(client, scope=scope)
        return r.json() if r.status_code == 200 else None
    body = wait_for(attempt, within=2.0)
    assert body, "the daemon did not see client %s" % client.id
    return body


# ---------------------------------------------------------------- issue 19 item 1


def test_group_removal_narrows_introspection_refresh_and_refresh_introspection(srv, api):
    u, n = user(api)
    g = api.create_group("garden " + n, members=[u["id"]], scope="mqtt:sub:garden/#")
    tokens = login(srv, n, "openid mqtt:sub:home/%s/# mqtt:sub:garden/#" % n)
    assert words(tokens["scope"]) == {"openid", "mqtt:sub:home/%s/#" % n, "mqtt:sub:garden/#"}
    ok(api.patch("/Groups/" + g["id"], op("remove", 'members[value eq "%s"]' % u["id"])))
    left = {"openid", "mqtt:sub:home/%s/#" % n}
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == left, d
    d = intro(srv, tokens["refresh_token"])
    assert d["active"] is True and words(d["scope"]) == left, d
    assert token_error(refresh(srv, tokens, scope="mqtt:sub:garden/#")) == "invalid_scope"
    body = token_ok(refresh(srv, tokens))
    assert words(body["scope"]) == left, body
    assert words(jwt_parts(body["access_token"])[1]["scope"]) == left


def test_user_scope_narrowed_over_scim_narrows_issued_tokens(srv, api):
    u, n = user(api)
    tokens = login(srv, n, "openid mqtt:sub:home/%s/# mqtt:pub:home/%s/cmd" % (n, n))
    ok(api.patch("/Users/" + u["id"], op("replace", T_USER + ":scope",
                                          "mqtt:sub:home/${username}/kitchen/#")))
    left = {"openid", "mqtt:sub:home/%s/kitchen/#" % n}
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == left, d
    body = token_ok(refresh(srv, tokens))
    assert words(body["scope"]) == left, body


def test_client_scope_narrowed_narrows_user_tokens_and_userinfo(srv, api):
    c = own_client(srv, APP_SCOPE)
    _u, n = user(api, email="x@example.com")
    tokens = login(srv, n, "openid email mqtt:sub:home/%s/#" % n, client=c.id)
    info = srv.userinfo(tokens["access_token"])
    assert info.status_code == 200 and info.json().get("email") == "x@example.com", info.text
    ok(api.patch("/Clients/" + c.id, op("replace", "scope",
                                        "openid mqtt:sub:home/${username}/kitchen/#")))
    left = {"openid", "mqtt:sub:home/%s/kitchen/#" % n}
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == left, d
    info = srv.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    assert "email" not in info.json(), info.json()
    body = token_ok(refresh(srv, tokens, client=c.id))
    assert words(body["scope"]) == left, body


def test_nothing_left_is_inactive_and_invalid_grant_until_the_right_comes_back(srv, api):
    u, n = user(api, scope="")
    g = api.create_group("only " + n, members=[u["id"]], scope="mqtt:sub:garden/#")
    tokens = login(srv, n, "mqtt:sub:garden/#")
    assert tokens["scope"] == "mqtt:sub:garden/#"
    ok(api.patch("/Groups/" + g["id"], op("remove", 'members[value eq "%s"]' % u["id"])))
    assert intro(srv, tokens["access_token"]) == INACTIVE
    assert intro(srv, tokens["refresh_token"]) == INACTIVE
    assert token_error(refresh(srv, tokens)) == "invalid_grant"
    # the grant is not revoked: rights given back are yielded again
    ok(api.patch("/Groups/" + g["id"], op("add", "members", [{"value": u["id"]}])))
    assert intro(srv, tokens["access_token"])["active"] is True
    assert token_ok(refresh(srv, tokens))["scope"] == "mqtt:sub:garden/#"


def test_group_scope_narrowed_reaches_introspection_and_refresh(srv, api):
    u, n = user(api, scope="")
    g = api.create_group("pub " + n, members=[u["id"]], scope="mqtt:sub:garden/#")
    tokens = login(srv, n, "openid mqtt:sub:garden/#")
    ok(api.patch("/Groups/" + g["id"], op("replace", T_GROUP + ":scope", "mqtt:sub:garden/a/#")))
    d = intro(srv, tokens["access_token"])
    assert words(d["scope"]) == {"openid", "mqtt:sub:garden/a/#"}, d
    assert words(token_ok(refresh(srv, tokens))["scope"]) == {"openid", "mqtt:sub:garden/a/#"}


# ---------------------------------------------------------------- issue 19 item 2


def test_renamed_users_old_device_never_reaches_the_new_users_topics(srv, api):
    name = new_username("dave")
    old, _ = user(api, name=name)
    tokens = login(srv, name, "openid mqtt:sub:home/%s/# mqtt:pub:home/%s/cmd" % (name, name))
    assert "mqtt:sub:home/%s/#" % name in words(tokens["scope"])
    ok(api.patch("/Users/" + old["id"], op("replace", "userName", name + ".old")))
    new, _ = user(api, name=name)
    assert new["id"] != old["id"]
    # the old device: nothing of home/<name>/... any more, and never under the new user's name
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == {"openid"}, d
    assert d.get("username") == name + ".old" and d["sub"] == old["id"], d
    body = token_ok(refresh(srv, tokens))
    assert words(body["scope"]) == {"openid"}, body
    claims = jwt_parts(body["access_token"])[1]
    assert claims["username"] == name + ".old" and claims["sub"] == old["id"], claims
    assert words(intro(srv, body["refresh_token"])["scope"]) == {"openid"}
    # the new user gets their own topics
    mine = login(srv, name, "mqtt:sub:home/%s/#" % name)
    assert mine["scope"] == "mqtt:sub:home/%s/#" % name
    assert jwt_parts(mine["access_token"])[1]["sub"] == new["id"]


def test_renamed_user_without_other_scope_is_refused_a_refresh(srv, api):
    name = new_username("dave")
    old, _ = user(api, name=name)
    tokens = login(srv, name, "mqtt:sub:home/%s/#" % name)
    ok(api.patch("/Users/" + old["id"], op("replace", "userName", name + ".old")))
    user(api, name=name)
    assert intro(srv, tokens["access_token"]) == INACTIVE
    assert token_error(refresh(srv, tokens)) == "invalid_grant"


# ---------------------------------------------------------------- issue 19 item 3


def test_reused_client_id_does_not_revive_client_credentials_tokens(srv):
    c = own_client(srv, "mqtt:pub:a/# mqtt:sub:b/#", grants=["client_credentials"])
    old = seen(srv, c)["access_token"]
    assert intro(srv, old)["active"] is True
    assert srv.cli(["client", "rm", c.id]).rc == 0
    assert wait_for(lambda: intro(srv, old) == INACTIVE)
    again = srv.add_client(c.id, scope="mqtt:pub:a/# mqtt:sub:b/# mqtt:sub:c/#",
                           grants=["client_credentials"])
    fresh = seen(srv, again)["access_token"]
    assert intro(srv, fresh)["active"] is True
    assert intro(srv, old) == INACTIVE


def test_reused_client_id_does_not_revive_user_tokens_or_refresh_tokens(srv, api):
    c = own_client(srv, APP_SCOPE)
    _u, n = user(api)
    tokens = login(srv, n, "openid mqtt:sub:home/%s/#" % n, client=c.id)
    assert srv.cli(["client", "rm", c.id]).rc == 0
    again = srv.add_client(c.id, scope=APP_SCOPE, grants=RT_GRANTS, redirect_uris=[CB])
    seen_new = login(srv, n, "openid", client=c.id)   # the daemon knows the new record
    assert intro(srv, seen_new["access_token"])["active"] is True
    assert intro(srv, tokens["access_token"]) == INACTIVE
    assert intro(srv, tokens["refresh_token"]) == INACTIVE
    assert token_error(srv.refresh(again, tokens["refresh_token"])) == "invalid_grant"
    assert srv.userinfo(tokens["access_token"]).status_code == 401


# ---------------------------------------------------------------- issue 19 item 4


def test_userinfo_answers_only_what_the_grant_still_has(srv, api):
    _u, n = user(api, email="u@example.com")
    tokens = login(srv, n, "openid profile email")
    info = srv.userinfo(tokens["access_token"]).json()
    assert info.get("email") == "u@example.com" and info.get("name"), info
    srv.cli(["grant", "scope", str(gid_of(tokens)), "openid"]).json()
    r = srv.userinfo(tokens["access_token"])
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"sub", "preferred_username"}, r.json()
    srv.cli(["grant", "scope", str(gid_of(tokens)), "profile email"]).json()
    r = srv.userinfo(tokens["access_token"])
    assert r.status_code == 403, r.text
    assert "insufficient_scope" in r.text + r.headers.get("WWW-Authenticate", ""), r.text


# ---------------------------------------------------------------- issue 19 item 11


def code_for(srv, name, client="app", cb=CB, scope="openid"):
    p = PKCE()
    r = UserAgent(srv).run(auth_request(client, cb, scope=scope, pkce=p), username=name,
                           password=PW)
    return redirect_params(r)["code"], p


def test_another_clients_attempt_does_not_burn_the_code(srv, api):
    _u, n = user(api)
    code, p = code_for(srv, n)
    # a public client, and a confidential one with its own good secret
    assert token_error(srv.redeem(srv.clients["web"], code, p.verifier, CB, auth="none")) == \
        "invalid_grant"
    assert token_error(srv.redeem(srv.clients["other"], code, p.verifier, CB)) == \
        "invalid_grant"
    body = token_ok(srv.redeem(srv.clients["app"], code, p.verifier, CB))
    assert intro(srv, body["access_token"])["active"] is True


@pytest.mark.parametrize("wrong", ["verifier", "no verifier", "redirect_uri"])
def test_a_failed_binding_check_does_not_burn_the_code(srv, api, wrong):
    _u, n = user(api)
    code, p = code_for(srv, n)
    verifier = {"verifier": PKCE().verifier, "no verifier": None}.get(wrong, p.verifier)
    uri = CB + "/other" if wrong == "redirect_uri" else CB
    assert token_error(srv.redeem(srv.clients["app"], code, verifier, uri)) == "invalid_grant"
    body = token_ok(srv.redeem(srv.clients["app"], code, p.verifier, CB))
    assert intro(srv, body["access_token"])["active"] is True


def test_a_second_use_by_the_right_client_still_revokes(srv, api):
    _u, n = user(api)
    code, p = code_for(srv, n)
    body = token_ok(srv.redeem(srv.clients["app"], code, p.verifier, CB))
    # others presenting the used code change nothing
    assert token_error(srv.redeem(srv.clients["web"], code, p.verifier, CB, auth="none")) == \
        "invalid_grant"
    assert token_error(srv.redeem(srv.clients["app"], code, PKCE().verifier, CB)) == \
        "invalid_grant"
    assert intro(srv, body["access_token"])["active"] is True
    # the right client again: RFC 6749 §4.1.2, everything from the code is revoked
    assert token_error(srv.redeem(srv.clients["app"], code, p.verifier, CB)) == "invalid_grant"
    for tok in (body["access_token"], body["refresh_token"]):
        assert intro(srv, tok) == INACTIVE


# ---------------------------------------------------------------- issue 21 §1


def test_client_credentials_token_narrowed_with_its_client(srv, api):
    c = own_client(srv, "mqtt:pub:devices/${clientid}/# mqtt:sub:fw/# mqtt:sub:cmd/#",
                   grants=["client_credentials"])
    tok = seen(srv, c)["access_token"]
    d = intro(srv, tok)
    assert words(d["scope"]) == {"mqtt:pub:devices/%s/#" % c.id, "mqtt:sub:fw/#",
                                 "mqtt:sub:cmd/#"}, d
    ok(api.patch("/Clients/" + c.id, op("replace", "scope",
                                        "mqtt:pub:devices/${clientid}/status mqtt:sub:cmd/#")))
    d = intro(srv, tok)
    assert d["active"] is True, d
    assert words(d["scope"]) == {"mqtt:pub:devices/%s/status" % c.id, "mqtt:sub:cmd/#"}, d
    ok(api.patch("/Clients/" + c.id, op("replace", "scope", "mqtt:sub:other/#")))
    assert intro(srv, tok) == INACTIVE


def two_authorizations(srv, api):
    """One user, one client, two authorizations: A with pubsub on the user's home, B later with
    only the garden sensors under it. Returns (name, client, A's tokens, B's tokens)."""
    _u, n = user(api, scope="mqtt:pubsub:home/${username}/# mqtt:sub:cmd/dev42")
    c = own_client(srv, "openid mqtt:pubsub:home/${username}/# mqtt:sub:cmd/dev42")
    a = login(srv, n, "mqtt:pubsub:home/%s/#" % n, client=c.id)
    b = login(srv, n, "mqtt:sub:home/+/garden/#", client=c.id)
    assert b["scope"] == "mqtt:sub:home/%s/garden/#" % n
    assert gid_of(a) == gid_of(b)
    return n, c, a, b


def test_refresh_yields_no_more_than_its_own_authorization(srv, api):
    n, c, a, b = two_authorizations(srv, api)
    garden = "mqtt:sub:home/%s/garden/#" % n
    body = token_ok(srv.refresh(c, b["refresh_token"]))
    assert body["scope"] == garden, body
    assert words(intro(srv, body["refresh_token"])["scope"]) == {garden}
    assert token_error(srv.refresh(c, body["refresh_token"],
                                   scope="mqtt:pub:home/%s/#" % n)) == "invalid_scope"
    # A keeps what it was authorized
    assert token_ok(srv.refresh(c, a["refresh_token"]))["scope"] == "mqtt:pubsub:home/%s/#" % n


def test_admin_widening_reaches_every_refresh_token_and_narrowing_widens_none(srv, api):
    n, c, a, b = two_authorizations(srv, api)
    gid = str(gid_of(a))
    home, garden = "mqtt:pubsub:home/%s/#" % n, "mqtt:sub:home/%s/garden/#" % n
    grant = [g for g in srv.grants(user=n) if str(g["id"]) == gid][0]
    # widened: what the admin adds, every refresh token of the grant gets
    srv.cli(["grant", "scope", gid, grant["scope"] + " mqtt:sub:cmd/dev42"]).json()
    a = token_ok(srv.refresh(c, a["refresh_token"]))
    b = token_ok(srv.refresh(c, b["refresh_token"]))
    assert words(a["scope"]) == {home, "mqtt:sub:cmd/dev42"}, a
    assert words(b["scope"]) == {garden, "mqtt:sub:cmd/dev42"}, b
    # narrowed: each gets less, none more (B does not get the rest of home)
    srv.cli(["grant", "scope", gid, "mqtt:sub:home/%s/#" % n]).json()
    a = token_ok(srv.refresh(c, a["refresh_token"]))
    b = token_ok(srv.refresh(c, b["refresh_token"]))
    assert a["scope"] == "mqtt:sub:home/%s/#" % n, a
    assert b["scope"] == garden, b
    # a new authorization widens the grant again, but not what the narrowed tokens get
    login(srv, n, home, client=c.id)
    a = token_ok(srv.refresh(c, a["refresh_token"]))
    assert a["scope"] == "mqtt:sub:home/%s/#" % n, a


def test_admin_widening_over_scim_reaches_refresh_tokens(srv, api):
    n, c, a, b = two_authorizations(srv, api)
    gid = str(gid_of(a))
    cur = ok(api.get("/Grants/" + gid))["scope"]
    ok(api.patch("/Grants/" + gid, op("replace", "scope", cur + " mqtt:sub:cmd/dev42")))
    b = token_ok(srv.refresh(c, b["refresh_token"]))
    assert words(b["scope"]) == {"mqtt:sub:home/%s/garden/#" % n, "mqtt:sub:cmd/dev42"}, b
