"""The SCIM 2.0 API (issue 7, RFC 7643/7644) end to end, part two: Groups, Clients and Grants with
their effects on logins and tokens, users' tokens, the discovery documents, and hostile input
(part one, test_scim.py: authentication, media types, Users, ETags). Each test makes its own
users, groups and clients, so tests do not depend on each other."""
import urllib.parse

import pytest

from scim_cases import (ADMIN_CLIENTS, CB, CLIENT_ID_RE, CORE_GROUP, CORE_USER, Client, ENTERPRISE,
                        INACTIVE, PW, RESOURCE_TYPE, SCHEMA, SCIM_CONFIG, SPC, Scim, T_CLIENT,
                        T_GRANT, T_GROUP, T_USER, api, check_list, check_meta, err, etag_matches,
                        intro, jwt_parts, login, login_refused, no_5xx, ok, op, patch_body, qs,
                        simple_user, srv, subset, token_error, token_ok, uname, wait_for, words)  # noqa: F401 (srv, api: fixtures)


# ================================================================ Groups


def user_groups(api, uid):
    return api.user(uid).get("groups", [])


def test_groups_crud_members_and_the_users_groups(srv, api):
    a, b = simple_user(api, "ga"), simple_user(api, "gb")
    name = "Team " + uname()
    r = api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": name,
                             "externalId": "grp-ext", "members": [{"value": a["id"]}]})
    g = ok(r, 201)
    assert r.headers.get("Location") == srv.url("/scim/v2/Groups/" + g["id"])
    check_meta(srv, g, "Group", "Groups")
    etag_matches(r, g)
    assert g["schemas"][0] == CORE_GROUP or CORE_GROUP in g["schemas"], g
    assert g["displayName"] == name and g["externalId"] == "grp-ext", g
    assert g["members"] == [{"value": a["id"], "display": a["userName"], "type": "User",
                             "$ref": srv.url("/scim/v2/Users/" + a["id"])}], g
    ga = api.user(a["id"])
    assert ga["groups"] == [{"value": g["id"], "display": name, "type": "direct",
                             "$ref": srv.url("/scim/v2/Groups/" + g["id"])}], ga
    assert ga["meta"]["version"] != a["meta"]["version"]    # the user's ETag changed
    # add b
    g2 = ok(api.patch("/Groups/" + g["id"], op("add", "members", [{"value": b["id"]}])))
    assert sorted(m["value"] for m in g2["members"]) == sorted([a["id"], b["id"]]), g2
    assert g2["meta"]["version"] != g["meta"]["version"]
    assert [x["value"] for x in user_groups(api, b["id"])] == [g["id"]]
    # adding a member twice keeps one
    g3 = ok(api.patch("/Groups/" + g["id"], op("add", "members", [{"value": b["id"]}])))
    assert sorted(m["value"] for m in g3["members"]) == sorted([a["id"], b["id"]]), g3
    # remove a through a value filter
    before_a = api.user(a["id"])["meta"]["version"]
    g4 = ok(api.patch("/Groups/" + g["id"], op("remove", 'members[value eq "%s"]' % a["id"])))
    assert [m["value"] for m in g4["members"]] == [b["id"]], g4
    ua = api.user(a["id"])
    assert ua.get("groups", []) == [] and ua["meta"]["version"] != before_a, ua
    # rename: the user's groups show the new name
    g5 = ok(api.patch("/Groups/" + g["id"], op("replace", "displayName", "Renamed " + name)))
    assert g5["displayName"] == "Renamed " + name
    assert user_groups(api, b["id"])[0]["display"] == "Renamed " + name
    # PUT replaces members
    g6 = ok(api.put("/Groups/" + g["id"], {"schemas": [CORE_GROUP], "displayName": "P",
                                           "members": [{"value": a["id"]}]}))
    assert [m["value"] for m in g6["members"]] == [a["id"]] and "externalId" not in g6, g6
    assert user_groups(api, b["id"]) == []
    # list by member
    lst = api.list("/Groups", filter='members.value eq "%s"' % a["id"])
    assert [x["id"] for x in lst["Resources"]] == [g["id"]], lst
    # delete
    r = api.delete("/Groups/" + g["id"])
    assert r.status_code == 204 and r.content == b""
    err(api.get("/Groups/" + g["id"]), 404)
    assert user_groups(api, a["id"]) == []


def test_group_display_name_is_not_unique(api):
    name = "Same " + uname()
    g1, g2 = api.create_group(name), api.create_group(name)
    assert g1["id"] != g2["id"]


def test_group_patch_remove_all_members(api):
    a, b = simple_user(api), simple_user(api)
    g = api.create_group("all " + uname(), members=[a["id"], b["id"]])
    res = ok(api.patch("/Groups/" + g["id"], op("remove", "members")))
    assert res.get("members", []) == [], res
    assert user_groups(api, a["id"]) == [] and user_groups(api, b["id"]) == []


def test_group_patch_add_unknown_member_is_invalid_value_and_atomic(api):
    a = simple_user(api)
    g = api.create_group("atomic " + uname(), members=[a["id"]])
    err(api.patch("/Groups/" + g["id"], op("replace", "displayName", "changed"),
                  op("add", "members", [{"value": "999999999"}])), 400, "invalidValue")
    assert api.group(g["id"]) == g


def test_deleting_a_user_removes_it_from_groups(api):
    a, b = simple_user(api), simple_user(api)
    g = api.create_group("del " + uname(), members=[a["id"], b["id"]])
    assert api.delete("/Users/" + a["id"]).status_code == 204
    assert [m["value"] for m in api.group(g["id"])["members"]] == [b["id"]]


def test_group_scope_adds_to_the_users_allowed_scope(srv, api):
    name = uname("gs")
    u = api.create_user(name, password=PW, schemas=[CORE_USER, T_USER],
                        **{T_USER: {"scope": "mqtt:sub:u/${username}/#"}})
    want = "openid mqtt:sub:u/%s/# mqtt:pub:g/#" % name
    assert words(login(srv, name, scope=want)["scope"]) == {"openid", "mqtt:sub:u/%s/#" % name}
    g = api.create_group("pub " + name, members=[u["id"]], scope="mqtt:pub:g/#")
    assert g[T_GROUP]["scope"] == "mqtt:pub:g/#", g
    tokens = login(srv, name, scope=want)
    assert words(tokens["scope"]) == {"openid", "mqtt:sub:u/%s/#" % name, "mqtt:pub:g/#"}, \
        tokens
    assert words(jwt_parts(tokens["access_token"])[1]["scope"]) == words(tokens["scope"])
    # a narrower group scope, then out of the group
    ok(api.patch("/Groups/" + g["id"], op("replace", T_GROUP + ":scope", "mqtt:pub:g/a/#")))
    assert "mqtt:pub:g/a/#" in words(login(srv, name, scope="openid mqtt:pub:g/a/#")["scope"])
    ok(api.patch("/Groups/" + g["id"], op("remove", 'members[value eq "%s"]' % u["id"])))
    assert words(login(srv, name, scope=want)["scope"]) == {"openid", "mqtt:sub:u/%s/#" % name}


def test_group_bad_scope_is_invalid_value(api):
    err(api.post("/Groups", {"schemas": [CORE_GROUP, T_GROUP], "displayName": "bad",
                             T_GROUP: {"scope": "mqtt:pub:#/x"}}), 400, "invalidValue")


# ================================================================ Clients


def new_client(api, **attrs):
    body = {"schemas": [T_CLIENT], "clientName": "Client " + uname()}
    body.update(attrs)
    r = api.post("/Clients", body)
    res = ok(r, 201)
    return r, res


def test_client_post_secret_once_client_credentials_work_and_never_shown_again(srv, api):
    r, c = new_client(api, scope="mqtt:pub:a/# mqtt:sub:b/#")
    assert CLIENT_ID_RE.match(c["id"]), c
    assert r.headers.get("Location") == srv.url("/scim/v2/Clients/" + c["id"])
    check_meta(srv, c, "Client", "Clients")
    etag_matches(r, c)
    assert c["grantTypes"] == ["client_credentials"], c
    assert c["public"] is False and c["active"] is True, c
    assert c["refreshTokenRotation"] is True, c
    secret = c.get("clientSecret")
    assert isinstance(secret, str) and len(secret) >= 16, c
    body = token_ok(srv.token(Client(c["id"], secret), scope="mqtt:pub:a/#"))
    assert body["scope"] == "mqtt:pub:a/#"
    for rr in (api.get("/Clients/" + c["id"]), api.get("/Clients"),
               api.get("/Clients" + qs(filter='clientName eq "%s"' % c["clientName"])),
               api.get("/Clients/%s%s" % (c["id"], qs(attributes="clientSecret")))):
        assert rr.status_code == 200, rr.text
        assert secret not in rr.text and "clientSecret" not in rr.text, rr.text
    g = ok(api.get("/Clients/" + c["id"]))
    assert "generateSecret" not in g
    expect = {k: v for k, v in c.items() if k != "clientSecret"}
    assert g == expect


def test_client_external_id_round_trips_and_the_client_keeps_working(fresh_factory):
    """On a server of its own: a client with an externalId, used again and again at /token
    (through the daemon's client cache) while SCIM changes invalidate that cache."""
    s = fresh_factory.start(config=SCIM_CONFIG, clients=ADMIN_CLIENTS, name="scim-ext")
    a = Scim(s)
    _r, c = new_client(a, scope="mqtt:pub:a/#", externalId="c-ext")
    assert c["externalId"] == "c-ext", c
    cl = Client(c["id"], c["clientSecret"])
    for i in range(5):
        token_ok(s.token(cl))
        ok(a.patch("/Clients/" + c["id"], op("replace", "clientName", "n%d" % i)))
        token_ok(s.token(cl))
    g = ok(a.get("/Clients/" + c["id"]))
    assert g["externalId"] == "c-ext" and g["clientName"] == "n4", g
    lst = a.list("/Clients", filter='externalId eq "c-ext"')
    assert [x["id"] for x in lst["Resources"]] == [c["id"]], lst
    assert a.list("/Clients", filter='externalId eq "C-EXT"')["totalResults"] == 0


def test_cli_clients_show_up(api):
    a = ok(api.get("/Clients/admin"))
    assert a["id"] == "admin" and words(a["scope"]) == {"scim", "introspect"}, a
    assert a["grantTypes"] == ["client_credentials"] and "clientSecret" not in a, a
    app = ok(api.get("/Clients/app"))
    assert app["redirectUris"] == [CB] and app["clientName"] == "App", app


@pytest.mark.parametrize("how", ["patch-value", "patch-path", "put"])
def test_generate_secret_returns_a_new_one_and_the_old_stops_working(srv, api, how):
    _r, c = new_client(api, scope="mqtt:pub:a/#")
    old = c["clientSecret"]
    token_ok(srv.token(Client(c["id"], old)))
    if how == "patch-value":
        r = api.patch("/Clients/" + c["id"], op("replace", value={"generateSecret": True}))
    elif how == "patch-path":
        r = api.patch("/Clients/" + c["id"], op("replace", "generateSecret", True))
    else:
        body = {k: v for k, v in c.items() if k not in ("clientSecret", "meta")}
        body["generateSecret"] = True
        r = api.put("/Clients/" + c["id"], body)
    res = ok(r)
    new = res.get("clientSecret")
    assert isinstance(new, str) and new != old, res
    assert "generateSecret" not in res
    assert token_error(srv.token(Client(c["id"], old)), 401) == "invalid_client"
    token_ok(srv.token(Client(c["id"], new)))
    assert "clientSecret" not in ok(api.get("/Clients/" + c["id"]))


def test_patch_without_generate_secret_returns_no_secret(api):
    _r, c = new_client(api)
    res = ok(api.patch("/Clients/" + c["id"], op("replace", "clientName", "Renamed")))
    assert res["clientName"] == "Renamed" and "clientSecret" not in res


def test_public_client_defaults_and_no_secret(api):
    r, c = new_client(api, public=True, redirectUris=[CB])
    assert c["public"] is True and c["grantTypes"] == ["authorization_code"], c
    assert "clientSecret" not in c


@pytest.mark.parametrize("how", ["put", "patch"])
def test_public_is_immutable(api, how):
    _r, c = new_client(api)
    if how == "put":
        body = {k: v for k, v in c.items() if k not in ("clientSecret", "meta")}
        body["public"] = True
        body["grantTypes"] = ["authorization_code"]
        body["redirectUris"] = [CB]
        r = api.put("/Clients/" + c["id"], body)
    else:
        r = api.patch("/Clients/" + c["id"], op("replace", "public", True))
    err(r, 400, "mutability")
    # the same value is fine for PUT
    body = {k: v for k, v in c.items() if k not in ("clientSecret", "meta")}
    ok(api.put("/Clients/" + c["id"], body))


@pytest.mark.parametrize("attrs", [
    {"public": True, "grantTypes": ["client_credentials"]},
    {"public": True, "grantTypes": ["authorization_code"], "redirectUris": [CB],
     "refreshTokenRotation": False},
    {"redirectUris": ["relative/cb"], "grantTypes": ["authorization_code"]},
    {"redirectUris": ["https://rp.example/cb#frag"], "grantTypes": ["authorization_code"]},
    {"redirectUris": ["not a uri"], "grantTypes": ["authorization_code"]},
    {"redirectUris": [42], "grantTypes": ["authorization_code"]},
    {"scope": "mqtt:pub:a/#/b"},
    {"scope": 'openid "x'},
    {"grantTypes": ["password"]},
    {"grantTypes": ["implicit"]},
    {"refreshGraceSeconds": -1},
    {"refreshIdleSeconds": "10"},
    {"grantLifetimeSeconds": 1.5},
    {"active": "maybe"},
], ids=["public-cc", "public-no-rotation", "relative-uri", "fragment", "not-uri",
        "uris-not-strings", "scope", "scope-quote", "grant-password", "grant-implicit",
        "grace-negative", "idle-string", "lifetime-float", "active-word"])
def test_bad_client_attributes_are_invalid_value(api, attrs):
    body = {"schemas": [T_CLIENT], "clientName": "bad " + uname()}
    body.update(attrs)
    err(api.post("/Clients", body), 400, "invalidValue")
    lst = api.list("/Clients", filter='clientName eq "%s"' % body["clientName"])
    assert lst["totalResults"] == 0, lst


def test_client_inactive_refuses_client_credentials_and_kills_tokens_then_active_again(srv, api):
    _r, c = new_client(api, scope="mqtt:pub:a/#")
    cl = Client(c["id"], c["clientSecret"])
    tok = token_ok(srv.token(cl))["access_token"]
    assert intro(srv, tok)["active"] is True
    res = ok(api.patch("/Clients/" + c["id"], op("replace", "active", False)))
    assert res["active"] is False
    assert wait_for(lambda: intro(srv, tok) == INACTIVE), intro(srv, tok)
    assert token_error(srv.token(cl), 401) == "invalid_client"
    ok(api.patch("/Clients/" + c["id"], op("replace", "active", True)))
    assert wait_for(lambda: srv.token(cl).status_code == 200)


def test_client_delete_204_tokens_inactive_then_404(srv, api):
    _r, c = new_client(api, scope="mqtt:pub:a/#")
    cl = Client(c["id"], c["clientSecret"])
    tok = token_ok(srv.token(cl))["access_token"]
    r = api.delete("/Clients/" + c["id"])
    assert r.status_code == 204 and r.content == b""
    assert wait_for(lambda: intro(srv, tok) == INACTIVE), intro(srv, tok)
    assert token_error(srv.token(cl), 401) == "invalid_client"
    err(api.get("/Clients/" + c["id"]), 404)
    err(api.delete("/Clients/" + c["id"]), 404)


def test_client_with_every_attribute_round_trips(srv, api):
    attrs = {"redirectUris": [CB, "http://127.0.0.1:8080/cb"],
             "grantTypes": ["authorization_code", "refresh_token",
                            "urn:ietf:params:oauth:grant-type:device_code"],
             "scope": "openid mqtt:sub:home/${username}/#", "refreshTokenRotation": False,
             "refreshGraceSeconds": 30, "refreshIdleSeconds": 3600,
             "grantLifetimeSeconds": 86400}
    _r, c = new_client(api, **attrs)
    subset(attrs, c)
    assert c["public"] is False
    subset(attrs, ok(api.get("/Clients/" + c["id"])))
    # PUT without optional attributes: back to the defaults
    res = ok(api.put("/Clients/" + c["id"], {"schemas": [T_CLIENT], "clientName": "bare"}))
    assert res["grantTypes"] == ["client_credentials"] and res["refreshTokenRotation"] is True, \
        res
    assert res.get("redirectUris", []) == [], res


# ================================================================ Grants


def grant_login(srv, api, scope=None):
    """A new SCIM user logs in with app: (user, tokens, grant id)."""
    u = simple_user(api, "gr", schemas=[CORE_USER, T_USER],
                    **{T_USER: {"scope": "mqtt:sub:u/${username}/#"}})
    n = u["userName"]
    tokens = login(srv, n, scope=scope or "openid mqtt:sub:u/%s/#" % n)
    assert "refresh_token" in tokens, tokens
    gid = str(jwt_parts(tokens["access_token"])[1]["gid"])
    return u, tokens, gid


def test_grants_list_filters_and_get_one(srv, api):
    u, tokens, gid = grant_login(srv, api)
    n = u["userName"]
    lst = api.list("/Grants", filter='userName eq "%s"' % n)
    assert lst["totalResults"] == 1, lst
    g = lst["Resources"][0]
    assert g["id"] == gid and g["clientId"] == "app" and g["userName"] == n, g
    assert g["userId"] == u["id"], g
    assert words(g["scope"]) == words(tokens["scope"]), g
    assert T_GRANT in g["schemas"], g
    check_meta(srv, g, "Grant", "Grants")
    lst = api.list("/Grants", filter='userName eq "%s"' % n.upper())
    assert [x["id"] for x in lst["Resources"]] == [gid], lst
    lst = api.list("/Grants", filter='clientId eq "app"', count=1000)
    assert gid in [x["id"] for x in lst["Resources"]], lst
    assert all(x["clientId"] == "app" for x in lst["Resources"]), lst
    lst = api.list("/Grants", filter='clientId eq "app" and userName eq "%s"' % n)
    assert [x["id"] for x in lst["Resources"]] == [gid]
    assert api.list("/Grants", filter='clientId eq "admin" and userName eq "%s"'
                    % n)["totalResults"] == 0
    r = api.get("/Grants/" + gid)
    one = ok(r)
    etag_matches(r, one)
    assert one == g


def test_grant_patch_scope_narrows_introspection(srv, api):
    u, tokens, gid = grant_login(srv, api)
    n = u["userName"]
    narrow = "mqtt:sub:u/%s/a/#" % n
    r = api.patch("/Grants/" + gid, op("replace", "scope", narrow))
    g = ok(r)
    etag_matches(r, g)
    assert words(g["scope"]) == {narrow}, g
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and words(d["scope"]) == {narrow}, d
    # without a path
    g = ok(api.patch("/Grants/" + gid, op("replace", value={"scope": "openid " + narrow})))
    assert words(g["scope"]) == {"openid", narrow}, g
    body = token_ok(srv.refresh(srv.clients["app"], tokens["refresh_token"]))
    assert words(body["scope"]) == {"openid", narrow}, body
    # nothing of the token left: inactive
    ok(api.patch("/Grants/" + gid, op("replace", "scope", "profile")))
    assert intro(srv, body["access_token"]) == INACTIVE


@pytest.mark.parametrize("bad,scim_type", [
    (op("replace", "scope", "mqtt:sub:u/${username}/#"), "invalidValue"),
    (op("replace", "scope", "mqtt:sub:a/#/b"), "invalidValue"),
    (op("replace", "scope", 5), "invalidValue"),
    (op("replace", "clientId", "admin"), "mutability"),
    (op("replace", "userName", "someone"), "mutability"),
    (op("replace", "userId", "1"), "mutability"),
    (op("replace", "id", "1"), "mutability"),
])
def test_grant_patch_errors(srv, api, bad, scim_type):
    _u, tokens, gid = grant_login(srv, api)
    before = ok(api.get("/Grants/" + gid))
    err(api.patch("/Grants/" + gid, bad), 400, scim_type)
    assert ok(api.get("/Grants/" + gid)) == before


def test_grant_delete_revokes_then_404(srv, api):
    u, tokens, gid = grant_login(srv, api)
    r = api.delete("/Grants/" + gid)
    assert r.status_code == 204 and r.content == b""
    assert intro(srv, tokens["access_token"]) == INACTIVE
    assert intro(srv, tokens["refresh_token"]) == INACTIVE
    assert token_error(srv.refresh(srv.clients["app"], tokens["refresh_token"])) == \
        "invalid_grant"
    err(api.get("/Grants/" + gid), 404)
    assert api.list("/Grants", filter='userName eq "%s"' % u["userName"])["totalResults"] == 0


def test_grant_post_and_put_are_405(srv, api):
    _u, _tokens, gid = grant_login(srv, api)
    for r in (api.post("/Grants", {"schemas": [T_GRANT], "clientId": "app", "scope": "openid"}),
              api.put("/Grants/" + gid, {"schemas": [T_GRANT], "scope": "openid"})):
        err(r, 405)
        assert r.headers.get("Allow"), r.headers


# ================================================================ users' tokens


@pytest.mark.parametrize("how", ["patch", "put"])
def test_deactivating_a_user_makes_tokens_inactive_at_once_and_reactivating_restores(
        srv, api, how):
    u, tokens, _gid = grant_login(srv, api)
    n = u["userName"]
    at, rt = tokens["access_token"], tokens["refresh_token"]
    assert intro(srv, at)["active"] is True

    def set_active(v):
        if how == "patch":
            return ok(api.patch("/Users/" + u["id"], op("replace", "active", v)))
        body = {k: v2 for k, v2 in api.user(u["id"]).items() if k not in ("meta", "groups")}
        body["active"] = v
        return ok(api.put("/Users/" + u["id"], body))

    assert set_active(False)["active"] is False
    assert intro(srv, at) == INACTIVE
    assert token_error(srv.refresh(srv.clients["app"], rt)) == "invalid_grant"
    assert login_refused(srv, n)
    assert set_active(True)["active"] is True
    assert intro(srv, at)["active"] is True
    token_ok(srv.refresh(srv.clients["app"], rt))
    login(srv, n)


def test_deleting_a_user_makes_its_tokens_inactive(srv, api):
    u, tokens, gid = grant_login(srv, api)
    assert api.delete("/Users/" + u["id"]).status_code == 204
    assert intro(srv, tokens["access_token"]) == INACTIVE
    assert intro(srv, tokens["refresh_token"]) == INACTIVE
    err(api.get("/Grants/" + gid), 404)
    assert login_refused(srv, u["userName"])


# ================================================================ discovery


def test_service_provider_config(api):
    r = api.get("/ServiceProviderConfig")
    d = ok(r)
    assert SPC in d["schemas"], d
    assert d["patch"]["supported"] is True
    assert d["bulk"]["supported"] is False
    assert d["filter"]["supported"] is True and d["filter"]["maxResults"] == 1000
    assert d["changePassword"]["supported"] is False
    assert d["sort"]["supported"] is True
    assert d["etag"]["supported"] is True
    schemes = d["authenticationSchemes"]
    assert isinstance(schemes, list) and len(schemes) >= 1, d
    assert schemes[0]["type"] == "oauthbearertoken", schemes
    assert schemes[0]["name"] == "OAuth Bearer Token", schemes
    assert isinstance(schemes[0].get("description"), str), schemes


def _resources(d):
    """The entries of a discovery answer (a ListResponse, or a bare array)."""
    if isinstance(d, list):
        return d
    check_list(d)
    return d["Resources"]


def test_resource_types(api):
    types = {t["name"]: t for t in _resources(ok(api.get("/ResourceTypes")))}
    assert set(types) == {"User", "Group", "Client", "Grant"}, types
    want = {"User": ("/Users", CORE_USER), "Group": ("/Groups", CORE_GROUP),
            "Client": ("/Clients", T_CLIENT), "Grant": ("/Grants", T_GRANT)}
    for name, (endpoint, schema) in want.items():
        t = types[name]
        assert t["endpoint"] == endpoint and t["schema"] == schema, t
        assert RESOURCE_TYPE in t.get("schemas", [RESOURCE_TYPE]), t
    ext = {e["schema"]: e for e in types["User"]["schemaExtensions"]}
    assert set(ext) == {ENTERPRISE, T_USER}, ext
    assert all(e["required"] is False for e in ext.values()), ext
    assert [e["schema"] for e in types["Group"]["schemaExtensions"]] == [T_GROUP]
    one = ok(api.get("/ResourceTypes/User"))
    assert one["name"] == "User" and one["endpoint"] == "/Users", one
    err(api.get("/ResourceTypes/Nope"), 404)


def _walk(attrs, where):
    for a in attrs:
        assert isinstance(a.get("name"), str) and a["name"], (where, a)
        assert a.get("type") in ("string", "boolean", "decimal", "integer", "dateTime",
                                 "binary", "reference", "complex"), (where, a)
        assert a.get("mutability") in ("readOnly", "readWrite", "immutable", "writeOnly"), \
            (where, a)
        if a["type"] == "complex":
            _walk(a.get("subAttributes", []), where + "." + a["name"])


def test_schemas(api):
    schemas = {s["id"]: s for s in _resources(ok(api.get("/Schemas")))}
    assert {CORE_USER, CORE_GROUP, ENTERPRISE, T_USER, T_GROUP, T_CLIENT, T_GRANT} <= \
        set(schemas), list(schemas)
    for sid, s in schemas.items():
        assert isinstance(s.get("attributes"), list) and s["attributes"], sid
        _walk(s["attributes"], sid)
    r = api.get("/Schemas/" + CORE_USER)
    user = ok(r)
    assert user["id"] == CORE_USER and SCHEMA in user.get("schemas", [SCHEMA]), user
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["required"] is True and attrs["userName"]["uniqueness"] == "server"
    assert attrs["password"]["mutability"] == "writeOnly"
    assert attrs["password"]["returned"] == "never"
    assert attrs["groups"]["mutability"] == "readOnly"
    assert attrs["emails"]["multiValued"] is True and attrs["emails"]["type"] == "complex"
    client = ok(api.get("/Schemas/" + T_CLIENT))
    cattrs = {a["name"]: a for a in client["attributes"]}
    assert cattrs["public"]["mutability"] == "immutable", cattrs["public"]
    err(api.get("/Schemas/urn:nope"), 404)


# ================================================================ hostile input

HOSTILE = {
    "sql": "x'; DROP TABLE users; --",
    "sql2": 'a" OR "1"="1',
    "nul": "a\u0000b",
    "fmt": "%s%n%x%p",
    "unicode": "\u00fcn\u00ef\u00a9\u00f8d\u00e9 \u2603 \U0001f600",
    "100k": "y" * 102400,
}
USER_FIELDS = ["userName", "displayName", "name.givenName", "emails.value", "externalId",
               "title", "enterprise.department", "manager.value", "addresses.streetAddress"]


def _with_field(base, field, value):
    body = dict(base)
    if field == "userName":
        body["userName"] = base["userName"] + value
    elif field == "name.givenName":
        body["name"] = {"givenName": value}
    elif field == "emails.value":
        body["emails"] = [{"value": value, "type": "work"}]
    elif field == "enterprise.department":
        body["schemas"] = [CORE_USER, ENTERPRISE]
        body[ENTERPRISE] = {"department": value}
    elif field == "manager.value":
        body["schemas"] = [CORE_USER, ENTERPRISE]
        body[ENTERPRISE] = {"manager": {"value": value}}
    elif field == "addresses.streetAddress":
        body["addresses"] = [{"streetAddress": value, "type": "work"}]
    else:
        body[field] = value
    return body


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", USER_FIELDS)
def test_hostile_values_in_user_fields_are_never_5xx(api, field, kind):
    value = HOSTILE[kind]
    base = {"schemas": [CORE_USER], "userName": uname("h")}
    body = _with_field(base, field, value)
    r = no_5xx(api.post("/Users", body))
    if kind == "100k":
        err(r, 400, "invalidValue")
        return
    assert r.status_code in (201, 400), r.text[:500]
    if r.status_code == 400:     # refusing such a value is fine, as a SCIM error
        err(r, 400, r.json().get("scimType"))
        assert r.json().get("scimType") in ("invalidValue", "invalidSyntax"), r.text[:500]
        return
    res = r.json()
    got = ok(api.get("/Users/" + res["id"]))
    assert got == res
    if field == "userName":
        assert got["userName"] == body["userName"]
        if kind == "nul":
            return
        assert [x["id"] for x in api.list("/Users", filter='userName eq "%s"' % (
            body["userName"].replace("\\", "\\\\").replace('"', '\\"')))["Resources"]] == \
            [res["id"]]
    elif field == "displayName" or field == "title" or field == "externalId":
        assert got[field] == value


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_values_in_patch_put_groups_and_clients_are_never_5xx(api, kind):
    value = HOSTILE[kind]
    u = simple_user(api)
    rs = [api.patch("/Users/" + u["id"], op("replace", "displayName", value)),
          api.patch("/Users/" + u["id"], op("replace", value, "x")),
          api.patch("/Users/" + u["id"], op("remove", 'emails[value eq "%s"]'
                                            % value.replace('"', '\\"'))),
          api.put("/Users/" + u["id"], {"schemas": [CORE_USER], "userName": u["userName"],
                                        "nickName": value}),
          api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": value}),
          api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "g",
                               "members": [{"value": value}]}),
          api.post("/Clients", {"schemas": [T_CLIENT], "clientName": value}),
          api.post("/Clients", {"schemas": [T_CLIENT], "scope": value}),
          api.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:"
                                                  "SearchRequest"],
                                      "filter": 'userName eq "%s"' % value.replace('"', '\\"')}),
          ]
    for r in rs:
        no_5xx(r)
        assert r.status_code < 500
        if kind == "100k" and r.request.method in ("POST", "PUT") and \
                "/.search" not in r.request.url:
            err(r, 400, "invalidValue")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_values_in_urls_and_query_parameters_are_never_5xx(api, kind):
    value = HOSTILE[kind][:20000]
    q = urllib.parse.quote(value, safe="")
    for path in ("/Users/" + q, "/Groups/" + q, "/Clients/" + q, "/Grants/" + q,
                 "/Schemas/" + q, "/ResourceTypes/" + q,
                 "/Users" + qs(filter='userName eq "%s"' % value.replace('"', '\\"')),
                 "/Users" + qs(filter=value), "/Users" + qs(sortBy=value),
                 "/Users" + qs(attributes=value), "/Users" + qs(excludedAttributes=value),
                 "/Users" + qs(sortOrder=value), "/Users" + qs(startIndex=value),
                 "/Users" + qs(count=value)):
        r = no_5xx(api.get(path))
        assert 200 <= r.status_code < 500, (path[:80], r.status_code)
        if path.startswith(("/Users/", "/Groups/", "/Clients/", "/Grants/")) and \
                "?" not in path:
            assert r.status_code in (400, 404, 414), (path[:80], r.status_code, r.text[:300])


@pytest.mark.parametrize("path", ["nickName", "title", "name.givenName", "externalId",
                                  ENTERPRISE + ":department", 'emails[type eq "work"].value'])
def test_strings_over_65536_bytes_are_invalid_value(api, path):
    u = simple_user(api)
    err(api.patch("/Users/" + u["id"], op("replace", path, "\u00e9" * 32768 + "x")), 400,
        "invalidValue")
    assert api.user(u["id"]) == u


def test_client_only_grants_have_no_user_name(srv, api):
    srv.access_token(srv.clients["noscim"], scope="introspect")
    for g in api.list("/Grants", count=1000)["Resources"]:
        assert ("userId" in g) == ("userName" in g), g
        assert isinstance(g["clientId"], str) and g["clientId"], g


def test_sql_injection_filter_value_is_an_empty_list(api):
    simple_user(api)
    lst = api.list("/Users", filter="userName eq \"a' OR 1=1--\"")
    assert lst["totalResults"] == 0 and lst["Resources"] == [], lst
    lst = api.list("/Users", filter="userName eq \"x\\\" OR 1=1--\"")
    assert lst["totalResults"] == 0, lst


def test_server_still_healthy_after_the_hostile_tests(srv, api):
    assert srv.get("/healthz").status_code == 200
    ok(api.get("/Users" + qs(count=1)))


def test_replace_through_an_eq_filter_matching_nothing_adds_the_element(api):
    """Entra ID replaces emails[type eq "work"].value on users that have no work email yet: the
    element is made from the filter's comparisons and the value (RFC 7644 says noTarget; every
    Entra-provisioned user would fail)."""
    u = ok(api.post("/Users", {"schemas": [CORE_USER], "userName": uname(),
                               "emails": [{"value": "h@x.example", "type": "home"}]}), 201)
    res = ok(api.request("PATCH", "/Users/" + u["id"], patch_body(
        op("replace", 'emails[type eq "work"].value', "w@x.example"))))
    assert sorted((e["type"], e["value"]) for e in res["emails"]) == [
        ("home", "h@x.example"), ("work", "w@x.example")], res


def test_a_single_redirect_uri_counts_as_a_list_of_one(api):
    c = ok(api.post("/Clients", {"schemas": [T_CLIENT], "clientName": "one " + uname(),
                                 "grantTypes": ["authorization_code"],
                                 "redirectUris": "https://rp.example/cb"}), 201)
    assert c["redirectUris"] == ["https://rp.example/cb"], c
