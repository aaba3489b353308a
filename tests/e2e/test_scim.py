"""The SCIM 2.0 API (issue 7, RFC 7643/7644) end to end: authentication, media types, Users,
Groups, Clients and Grants with their effects on logins and tokens, ETags, every scimType of
docs/scim.md, the discovery documents, and hostile input.

One server for the module (SCIM_CONFIG raises max_body so that 100 KB values reach the SCIM
layer); each test makes its own users (unique names), groups and clients, so tests do not
depend on each other. Changes made through SCIM act at once (the daemon makes them itself)."""
import time
import urllib.parse

import pytest

from scim_client import (ADMIN_CLIENTS, CLIENT_ID_RE, CORE_GROUP, CORE_USER, ENTERPRISE,
                         ETAG_RE, PATCH_OP, RESOURCE_TYPE, SCHEMA, SCIM_CONFIG, SCIM_JSON, SPC,
                         T_CLIENT, T_GRANT, T_GROUP, T_USER, Scim, check_list, check_meta, err,
                         etag_matches, media_type, no_5xx, ok, op, patch_body, qs)
from tessera_harness import (INACTIVE, Client, Page, UserAgent, auth_request, code_flow,
                             jwt_parts, new_username, PKCE, sign_jwt, signing_key_from_db,
                             token_error, token_ok, wait_for)

CB = "https://rp.example/cb"
APP_SCOPE = "openid profile email mqtt:sub:u/${username}/# mqtt:pub:g/#"
PW = "correct horse battery staple"
CLIENTS = ADMIN_CLIENTS + [
    dict(client_id="admin-off", grants=["client_credentials"], scope="scim"),
    dict(client_id="app", grants=["authorization_code", "refresh_token"], redirect_uris=[CB],
         scope=APP_SCOPE, name="App"),
]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=CLIENTS, name="scim")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def uname(prefix="s"):
    return new_username(prefix)


def words(s):
    return set((s or "").split())


def intro(srv, tok):
    return srv.introspection(srv.clients["admin"], tok)


def login(srv, user, password=PW, scope="openid profile email"):
    """The code flow with the client app for user: the token answer."""
    return code_flow(srv, srv.clients["app"], user, password, redirect_uri=CB,
                     scope=scope).tokens


def login_refused(srv, user, password=PW):
    """True when the login page refuses user/password (401 and the login form again)."""
    r = UserAgent(srv).run(auth_request("app", CB, scope="openid", pkce=PKCE()),
                           username=user, password=password)
    return r.status_code == 401 and Page(r).has_form("/login")


def subset(want, got, where="$"):
    """Every member of want is in got with an equal value (recursively; lists element-wise)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), (where, want, got)
        for k, v in want.items():
            assert k in got, (where + "." + k, got)
            subset(v, got[k], where + "." + k)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, want, got)
        for i, (a, b) in enumerate(zip(want, got)):
            subset(a, b, "%s[%d]" % (where, i))
    else:
        assert want == got, (where, want, got)


def user_body(name, password=PW, manager=None):
    """Every User attribute docs/scim.md lists, with values in the style of RFC 7643 §8.2."""
    body = {
        "schemas": [CORE_USER, ENTERPRISE, T_USER],
        "userName": name,
        "externalId": "Ext-" + name,
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                 "givenName": "Barbara", "middleName": "Jane", "honorificPrefix": "Ms.",
                 "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": True,
        "password": password,
        "emails": [{"value": name + "@home.example", "type": "home"},
                   {"value": name + "@work.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "tel:+1-201-555-0123", "type": "work"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F",
                    "type": "photo"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                       "locality": "Hollywood", "region": "CA", "postalCode": "91608",
                       "country": "US", "primary": True}],
        "entitlements": [{"value": "vpn"}],
        "roles": [{"value": "student"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130",
                     "organization": "Universal Studios", "division": "Theme Park",
                     "department": "Tour Operations"},
        T_USER: {"scope": "mqtt:sub:u/${username}/#"},
    }
    if manager is not None:
        body[ENTERPRISE]["manager"] = {"value": manager}   # displayName is readOnly
    return body


def simple_user(api, prefix="s", password=PW, **attrs):
    """A new user (userName, a work email, a password): its SCIM representation."""
    name = uname(prefix)
    a = {"password": password, "displayName": "User " + name,
         "emails": [{"value": name + "@work.example", "type": "work", "primary": True}]}
    a.update(attrs)
    return api.create_user(name, **a)


# ================================================================ authentication

ENDPOINTS = ["/Users", "/Groups", "/Clients", "/Grants", "/ServiceProviderConfig",
             "/ResourceTypes", "/Schemas", "/Users/1", "/Nope"]


def assert_401(r):
    err(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_token_is_401_with_www_authenticate_everywhere(api, path):
    assert_401(api.get(path, token=None))


@pytest.mark.parametrize("auth", ["Bearer", "Bearer ", "Bearer garbage", "Bearer a.b.c",
                                  "Basic YWRtaW46eA==", "bearer", "Token abc"])
def test_malformed_or_bad_authorization_is_401(api, auth):
    assert_401(api.get("/Users", token=None, headers={"Authorization": auth}))


def test_tampered_token_is_401(api):
    h, p, s = api.token.split(".")
    bad = "%s.%s.%s" % (h, p, ("A" if s[0] != "A" else "B") + s[1:])
    assert_401(api.get("/Users", token=bad))


def test_expired_token_signed_by_the_server_key_is_401(srv, api):
    header, claims = jwt_parts(api.token)
    alg, pem = signing_key_from_db(srv.db, header["kid"])
    now = int(time.time())
    claims = dict(claims, iat=now - 3600, exp=now - 60)
    if "nbf" in claims:
        claims["nbf"] = now - 3600
    old = sign_jwt(pem, header["kid"], claims, alg=alg, typ=header.get("typ"))
    assert_401(api.get("/Users", token=old))
    ok(api.get("/Users"))   # the real one still works


def test_revoked_token_is_401(srv, api):
    tok = srv.access_token(srv.clients["admin"], scope="scim")
    ok(api.get("/ServiceProviderConfig", token=tok))
    r = srv.revoke(srv.clients["admin"], tok)
    assert r.status_code == 200, r.text
    assert_401(api.get("/Users", token=tok))


@pytest.mark.parametrize("path", ["/Users", "/ServiceProviderConfig", "/Schemas", "/Clients"])
def test_token_without_scim_scope_is_403_insufficient_scope(srv, api, path):
    tok = srv.access_token(srv.clients["noscim"], scope="introspect")
    r = api.get(path, token=tok)
    err(r, 403)
    w = r.headers.get("WWW-Authenticate", "")
    assert w.startswith("Bearer") and 'error="insufficient_scope"' in w and 'scope="scim"' in w, w


def test_admin_client_token_asked_without_scim_is_403(srv, api):
    tok = srv.access_token(srv.clients["admin"], scope="introspect")
    err(api.get("/Users", token=tok), 403)


def test_disabled_admin_client_token_is_401(srv, api):
    tok = srv.access_token(srv.clients["admin-off"], scope="scim")
    ok(api.get("/Users", token=tok))
    assert srv.cli(["client", "disable", "admin-off"]).rc == 0
    assert wait_for(lambda: api.get("/Users", token=tok).status_code == 401), \
        api.get("/Users", token=tok).text
    assert_401(api.get("/Users", token=tok))


# ================================================================ media types and bodies


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml",
                                   "application/x-www-form-urlencoded", "multipart/form-data",
                                   "application/jsonx"])
def test_unsupported_request_media_type_is_415(api, ctype):
    body = {"schemas": [CORE_USER], "userName": uname()}
    err(api.post("/Users", body, ctype=ctype), 415)
    assert api.find_user(body["userName"]) is None
    u = simple_user(api)
    err(api.put("/Users/" + u["id"], dict(body, userName=u["userName"]), ctype=ctype), 415)
    err(api.request("PATCH", "/Users/" + u["id"], patch_body(op("replace", "title", "x")),
                    ctype=ctype), 415)


@pytest.mark.parametrize("ctype", ["application/scim+json", "application/json",
                                   "application/json; charset=utf-8",
                                   "application/scim+json;charset=UTF-8",
                                   "Application/SCIM+JSON"])
def test_accepted_request_media_types(api, ctype):
    r = api.post("/Users", {"schemas": [CORE_USER], "userName": uname()}, ctype=ctype)
    ok(r, 201)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'"a string"', b"42", b"null",
                                 b'{"schemas": ["' + CORE_USER.encode() + b'"], "userName": '])
def test_body_not_a_json_object_is_invalid_syntax(api, raw):
    err(api.post("/Users", data=raw), 400, "invalidSyntax")
    u = simple_user(api)
    err(api.put("/Users/" + u["id"], data=raw), 400, "invalidSyntax")
    err(api.request("PATCH", "/Users/" + u["id"], data=raw), 400, "invalidSyntax")


def test_invalid_utf8_body_is_invalid_syntax(api):
    raw = b'{"schemas": ["' + CORE_USER.encode() + b'"], "userName": "x\xff\xfe\xc3"}'
    err(api.post("/Users", data=raw), 400, "invalidSyntax")


def test_body_over_max_body_is_413(srv, api):
    body = {"schemas": [CORE_USER], "userName": uname(), "displayName": "x" * 300000}
    r = api.post("/Users", body)
    assert r.status_code == 413, (r.status_code, r.text[:300])
    assert srv.get("/healthz").status_code == 200


def test_answers_are_application_scim_json(api):
    for path in ("/Users", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Nope"):
        r = api.get(path)
        assert media_type(r) == SCIM_JSON, (path, r.headers)


# ================================================================ Users


def test_post_user_201_location_etag_meta_and_every_attribute(srv, api):
    boss = simple_user(api, "boss")
    name = uname("full")
    body = user_body(name, manager=boss["id"])
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
    r = api.post("/Users", body)
    res = ok(r, 201)
    assert isinstance(res["id"], str) and res["id"].isdigit(), res
    assert CORE_USER in res["schemas"], res
    assert r.headers.get("Location") == srv.url("/scim/v2/Users/" + res["id"]), r.headers
    m = check_meta(srv, res, "User", "Users")
    assert m["created"] >= before, m
    etag_matches(r, res)
    assert "password" not in res, res
    want = {k: v for k, v in body.items() if k not in ("password", "schemas")}
    subset(want, res)
    assert set(res["schemas"]) >= {CORE_USER, ENTERPRISE, T_USER}, res
    assert res.get("groups", []) == [], res
    # GET gives the same representation and ETag
    g = api.get("/Users/" + res["id"])
    assert ok(g) == res
    assert g.headers.get("ETag") == r.headers.get("ETag")


def test_post_user_defaults_active_true_and_minimal_body(api):
    res = api.create_user(uname())
    assert res["active"] is True, res
    assert "password" not in res


def test_password_is_never_returned_anywhere(api):
    u = simple_user(api, password="sekrit-value-123")
    for r in (api.get("/Users/" + u["id"]),
              api.get("/Users" + qs(filter='userName eq "%s"' % u["userName"])),
              api.get("/Users" + qs(filter='userName eq "%s"' % u["userName"],
                                    attributes="password,userName")),
              api.get("/Users/%s%s" % (u["id"], qs(attributes="password"))),
              api.patch("/Users/" + u["id"], op("replace", "title", "x"))):
        assert r.status_code == 200, r.text
        assert "sekrit" not in r.text and '"password"' not in r.text, r.text


def test_scim_password_logs_in_and_claims_come_from_primary_email_and_display_name(srv, api):
    name = uname("login")
    api.create_user(name, password=PW, displayName="Babs Jensen",
                    emails=[{"value": name + "@home.example", "type": "home"},
                            {"value": name + "@work.example", "type": "work",
                             "primary": True}])
    tokens = login(srv, name)
    info = srv.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    d = info.json()
    assert d.get("email") == name + "@work.example", d
    assert d.get("name") == "Babs Jensen", d


def test_first_email_is_the_email_claim_without_primary(srv, api):
    name = uname("first")
    api.create_user(name, password=PW, emails=[{"value": name + "@one.example"},
                                               {"value": name + "@two.example"}])
    d = srv.userinfo(login(srv, name)["access_token"]).json()
    assert d.get("email") == name + "@one.example", d


def test_cli_users_show_up_with_email_and_display_name(srv, api):
    name = uname("cli")
    out = srv.add_user(name, PW, email=name + "@cli.example", name="Cli Person")
    res = api.find_user(name)
    assert res is not None and res["id"] == str(out["id"]), res
    assert res["emails"] == [{"value": name + "@cli.example", "primary": True}], res
    assert res["displayName"] == "Cli Person", res
    assert res["active"] is True


def test_get_unknown_user_is_404(api):
    for path in ("/Users/999999999", "/Users/abc", "/Users/0", "/Users/-1", "/Groups/999999",
                 "/Clients/nosuchclientid000000000", "/Grants/999999"):
        err(api.get(path), 404)


def test_unknown_endpoint_is_404(api):
    for path in ("/Nope", "/users2", "/Users/1/extra", "/Users/.searchx"):
        err(api.get(path), 404)


@pytest.mark.parametrize("method,path", [("PATCH", "/Users"), ("PUT", "/Users"),
                                          ("DELETE", "/Users"), ("POST", "/Users/{uid}"),
                                          ("DELETE", "/ServiceProviderConfig"),
                                          ("POST", "/Schemas"), ("PUT", "/ResourceTypes")])
def test_method_not_allowed_is_405_with_allow(api, method, path):
    u = simple_user(api)
    r = api.request(method, path.replace("{uid}", u["id"]),
                    {"schemas": [CORE_USER], "userName": uname()})
    err(r, 405)
    assert r.headers.get("Allow"), r.headers
    assert method not in [m.strip() for m in r.headers["Allow"].split(",")], r.headers


# ---------------------------------------------------------------- PUT


def test_put_replaces_clears_absent_keeps_password_ignores_readonly_and_id(srv, api):
    name = uname("put")
    orig = api.create_user(name, **{k: v for k, v in user_body(name).items()
                                    if k != "userName"})
    g = api.create_group("put-group " + name, members=[orig["id"]])
    orig = api.user(orig["id"])
    body = {"schemas": [CORE_USER], "id": "987654321", "userName": name,
            "displayName": "Replaced",
            "meta": {"created": "2000-01-01T00:00:00Z", "version": 'W/"0"'},
            "groups": [{"value": "424242"}]}
    r = api.put("/Users/" + orig["id"], body)
    res = ok(r)
    etag_matches(r, res)
    assert res["id"] == orig["id"], res
    assert res["displayName"] == "Replaced"
    for k in ("title", "nickName", "name", "emails", "phoneNumbers", "addresses", "externalId",
              "x509Certificates", "roles", "entitlements", ENTERPRISE, T_USER, "password"):
        assert k not in res, (k, res)
    assert res["active"] is True, res   # default
    assert res["meta"]["created"] == orig["meta"]["created"], res["meta"]
    assert res["meta"]["version"] != orig["meta"]["version"]
    assert [x["value"] for x in res["groups"]] == [g["id"]], res   # readOnly: not from the body
    assert ok(api.get("/Users/" + orig["id"])) == res
    login(srv, name)   # the password was kept


def test_put_password_changes_it(srv, api):
    u = simple_user(api, "pw")
    body = {"schemas": [CORE_USER], "userName": u["userName"], "password": "new password 42"}
    ok(api.put("/Users/" + u["id"], body))
    login(srv, u["userName"], "new password 42")
    assert login_refused(srv, u["userName"], PW)


def test_patch_password_changes_it(srv, api):
    u = simple_user(api, "pw")
    res = ok(api.patch("/Users/" + u["id"], op("replace", "password", "patched pw 43")))
    assert "password" not in res
    login(srv, u["userName"], "patched pw 43")


def test_put_without_user_name_is_invalid_value(api):
    u = simple_user(api)
    err(api.put("/Users/" + u["id"], {"schemas": [CORE_USER], "displayName": "x"}), 400,
        "invalidValue")
    assert api.user(u["id"]) == u


def test_put_unknown_user_is_404(api):
    err(api.put("/Users/999999999", {"schemas": [CORE_USER], "userName": uname()}), 404)


# ---------------------------------------------------------------- PATCH


def patched(api, u, *ops):
    r = api.patch("/Users/" + u["id"], *ops)
    res = ok(r)
    etag_matches(r, res)
    return res


def test_patch_add_replace_remove_with_paths_and_filters(api):
    u = simple_user(api, "patch", title="Boss", nickName="nick")
    uid = u["id"]
    work = u["emails"][0]["value"]
    # add to a multi-valued attribute appends
    res = patched(api, u, op("add", "emails", [{"value": "h@home.example", "type": "home"}]))
    assert [e["value"] for e in res["emails"]] == [work, "h@home.example"], res
    assert res["meta"]["version"] != u["meta"]["version"]
    # replace a sub-attribute of a complex attribute (created if absent)
    res = patched(api, u, op("replace", "name.givenName", "Barbara"))
    assert res["name"]["givenName"] == "Barbara", res
    # replace without a path: the value's members
    res = patched(api, u, op("replace", value={"displayName": "Babs", "nickName": "B"}))
    assert res["displayName"] == "Babs" and res["nickName"] == "B", res
    # add without a path
    res = patched(api, u, op("add", value={"title": "Guide", "name": {"familyName": "Jensen"}}))
    assert res["title"] == "Guide", res
    assert res["name"] == {"givenName": "Barbara", "familyName": "Jensen"}, res
    # remove a simple attribute
    res = patched(api, u, op("remove", "title"))
    assert "title" not in res, res
    # replace through a value filter
    res = patched(api, u, op("replace", 'emails[type eq "work"].value', "new@work.example"))
    assert {(e.get("type"), e["value"]) for e in res["emails"]} == \
        {("work", "new@work.example"), ("home", "h@home.example")}, res
    # remove through a value filter
    res = patched(api, u, op("remove", 'emails[type eq "home"]'))
    assert [e["value"] for e in res["emails"]] == ["new@work.example"], res
    # remove a sub-attribute
    res = patched(api, u, op("remove", "name.givenName"))
    assert res["name"] == {"familyName": "Jensen"}, res
    # extension attributes by their full path
    res = patched(api, u, op("add", ENTERPRISE + ":department", "Sales"))
    assert res[ENTERPRISE]["department"] == "Sales", res
    assert ENTERPRISE in res["schemas"], res
    res = patched(api, u, op("replace", T_USER + ":scope", "mqtt:sub:u/${username}/x"))
    assert res[T_USER]["scope"] == "mqtt:sub:u/${username}/x", res
    assert ok(api.get("/Users/" + uid)) == res


@pytest.mark.parametrize("name", ["Add", "ADD", "Replace", "rEpLaCe", "Remove", "REMOVE"])
def test_patch_op_names_are_case_insensitive(api, name):
    u = simple_user(api, title="T")
    if name.lower() == "remove":
        res = patched(api, u, op(name, "title"))
        assert "title" not in res
    else:
        res = patched(api, u, op(name, "title", "New"))
        assert res["title"] == "New"


def test_patch_paths_are_case_insensitive(api):
    u = simple_user(api)
    res = patched(api, u, op("replace", "NAME.GIVENNAME", "Ann"),
                  op("replace", "DisplayName", "Ann X"),
                  op("replace", 'EMAILS[TYPE eq "work"].VALUE', "ann@work.example"))
    assert res["name"]["givenName"] == "Ann" and res["displayName"] == "Ann X", res
    assert res["emails"][0]["value"] == "ann@work.example", res


def test_patch_several_operations_apply_in_order(api):
    u = simple_user(api)
    res = patched(api, u, op("add", "title", "A"), op("replace", "title", "B"),
                  op("add", "nickName", "N"), op("remove", "nickName"))
    assert res["title"] == "B" and "nickName" not in res, res


@pytest.mark.parametrize("bad,scim_type", [
    (op("remove", "nosuchattr"), "invalidPath"),
    (op("replace", 'emails[value co "nowhere"].value', "x@y.example"), "noTarget"),
    (op("replace", "active", 42), "invalidValue"),
    (op("replace", "id", "1"), "mutability"),
    ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
])
def test_patch_failure_is_atomic(api, bad, scim_type):
    u = simple_user(api, title="Before")
    r0 = api.get("/Users/" + u["id"])
    before = ok(r0)
    r = api.patch("/Users/" + u["id"], op("replace", "title", "After"),
                  op("add", "emails", [{"value": "more@x.example", "type": "other"}]), bad)
    err(r, 400, scim_type)
    r1 = api.get("/Users/" + u["id"])
    assert ok(r1) == before
    assert r1.headers.get("ETag") == r0.headers.get("ETag")


def test_patch_unknown_user_is_404(api):
    err(api.patch("/Users/999999999", op("replace", "title", "x")), 404)


# ---------------------------------------------------------------- DELETE


def test_delete_user_204_then_404(api):
    u = simple_user(api)
    r = api.delete("/Users/" + u["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    err(api.get("/Users/" + u["id"]), 404)
    err(api.delete("/Users/" + u["id"]), 404)
    err(api.put("/Users/" + u["id"], {"schemas": [CORE_USER], "userName": u["userName"]}), 404)
    err(api.patch("/Users/" + u["id"], op("replace", "title", "x")), 404)
    assert api.find_user(u["userName"]) is None


def test_deleted_user_name_can_be_used_again(api):
    u = simple_user(api)
    assert api.delete("/Users/" + u["id"]).status_code == 204
    again = api.create_user(u["userName"])
    assert again["id"] != u["id"]


# ---------------------------------------------------------------- uniqueness


def test_duplicate_user_name_is_409_uniqueness_in_any_case(api):
    u = simple_user(api, "Dup")
    n = u["userName"]
    for variant in (n, n.upper(), n.lower(), n[0].swapcase() + n[1:]):
        err(api.post("/Users", {"schemas": [CORE_USER], "userName": variant}), 409,
            "uniqueness")
    other = simple_user(api)
    err(api.put("/Users/" + other["id"], {"schemas": [CORE_USER], "userName": n.upper()}),
        409, "uniqueness")
    err(api.patch("/Users/" + other["id"], op("replace", "userName", n.lower())), 409,
        "uniqueness")
    assert api.user(other["id"]) == other


def test_user_may_change_the_case_of_its_own_name(api):
    u = simple_user(api, "case")
    res = patched(api, u, op("replace", "userName", u["userName"].upper()))
    assert res["userName"] == u["userName"].upper()


# ---------------------------------------------------------------- every scimType


def _scim_type_cases():
    big = "x" * 65537
    return [
        ("invalidFilter-operator", "GET", "/Users" + qs(filter='userName xx "a"'), None,
         400, "invalidFilter"),
        ("invalidFilter-parens", "GET", "/Users" + qs(filter='(userName eq "a"'), None,
         400, "invalidFilter"),
        ("invalidFilter-bool-gt", "GET", "/Users" + qs(filter="active gt true"), None,
         400, "invalidFilter"),
        ("invalidFilter-unknown", "GET", "/Users" + qs(filter='nosuch eq "a"'), None,
         400, "invalidFilter"),
        ("invalidFilter-password", "GET", "/Users" + qs(filter='password eq "a"'), None,
         400, "invalidFilter"),
        ("invalidPath-unparsable", "PATCH", "/Users/{uid}",
         patch_body(op("replace", 'emails[type eq "work"', "x")), 400, "invalidPath"),
        ("invalidPath-unknown", "PATCH", "/Users/{uid}",
         patch_body(op("replace", "nosuch", "x")), 400, "invalidPath"),
        ("invalidPath-unknown-sub", "PATCH", "/Users/{uid}",
         patch_body(op("replace", "name.nosuch", "x")), 400, "invalidPath"),
        ("invalidPath-other-urn", "PATCH", "/Users/{uid}",
         patch_body(op("replace", CORE_GROUP + ":displayName", "x")), 400, "invalidPath"),
        ("noTarget-remove-filter", "PATCH", "/Users/{uid}",
         patch_body(op("remove", 'emails[type eq "fax"]')), 400, "noTarget"),
        # (a filter of eq comparisons matching nothing creates the element instead: Entra ID)
        ("noTarget-replace-filter", "PATCH", "/Users/{uid}",
         patch_body(op("replace", 'emails[value co "nowhere"].value', "a@b.example")), 400,
         "noTarget"),
        ("noTarget-remove-no-path", "PATCH", "/Users/{uid}", patch_body(op("remove")), 400,
         "noTarget"),
        ("invalidValue-no-userName", "POST", "/Users",
         {"schemas": [CORE_USER], "displayName": "x"}, 400, "invalidValue"),
        ("invalidValue-userName-number", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": 42}, 400, "invalidValue"),
        ("invalidValue-userName-empty", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": ""}, 400, "invalidValue"),
        ("invalidValue-active-word", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": "{new}", "active": "yes"}, 400, "invalidValue"),
        ("invalidValue-name-string", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": "{new}", "name": "Plain"}, 400, "invalidValue"),
        ("invalidValue-emails-number", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": "{new}", "emails": [{"value": 5}]}, 400,
         "invalidValue"),
        ("invalidValue-scope", "POST", "/Users",
         {"schemas": [CORE_USER, T_USER], "userName": "{new}",
          T_USER: {"scope": "mqtt:pub:a/#/b"}}, 400, "invalidValue"),
        ("invalidValue-scope-quote", "PATCH", "/Users/{uid}",
         patch_body(op("replace", T_USER + ":scope", 'mqtt:sub:a"b')), 400, "invalidValue"),
        ("invalidValue-patch-type", "PATCH", "/Users/{uid}",
         patch_body(op("replace", "active", 42)), 400, "invalidValue"),
        ("invalidValue-too-long", "POST", "/Users",
         {"schemas": [CORE_USER], "userName": "{new}", "displayName": big}, 400,
         "invalidValue"),
        ("invalidValue-member-unknown", "POST", "/Groups",
         {"schemas": [CORE_GROUP], "displayName": "g", "members": [{"value": "999999999"}]},
         400, "invalidValue"),
        ("invalidValue-member-type-group", "POST", "/Groups",
         {"schemas": [CORE_GROUP], "displayName": "g",
          "members": [{"value": "{uid}", "type": "Group"}]}, 400, "invalidValue"),
        ("invalidValue-group-no-displayName", "POST", "/Groups", {"schemas": [CORE_GROUP]},
         400, "invalidValue"),
        ("invalidValue-startIndex", "GET", "/Users" + qs(startIndex="abc"), None, 400,
         "invalidValue"),
        ("invalidValue-count", "GET", "/Users" + qs(count="ten"), None, 400, "invalidValue"),
        ("invalidSyntax-not-json", "POST", "/Users", b"{nope", 400, "invalidSyntax"),
        ("invalidSyntax-array", "POST", "/Users", b"[1]", 400, "invalidSyntax"),
        ("invalidSyntax-no-schemas", "POST", "/Users", {"userName": "{new}"}, 400,
         "invalidSyntax"),
        ("invalidSyntax-wrong-schemas", "POST", "/Users",
         {"schemas": [CORE_GROUP], "userName": "{new}"}, 400, "invalidSyntax"),
        ("invalidSyntax-schemas-not-list", "POST", "/Users",
         {"schemas": CORE_USER, "userName": "{new}"}, 400, "invalidSyntax"),
        ("invalidSyntax-patch-no-operations", "PATCH", "/Users/{uid}",
         {"schemas": [PATCH_OP]}, 400, "invalidSyntax"),
        ("invalidSyntax-patch-operations-not-list", "PATCH", "/Users/{uid}",
         {"schemas": [PATCH_OP], "Operations": {"op": "add"}}, 400, "invalidSyntax"),
        ("invalidSyntax-patch-unknown-op", "PATCH", "/Users/{uid}",
         patch_body({"op": "move", "path": "title", "value": "x"}), 400, "invalidSyntax"),
        ("invalidSyntax-patch-no-op", "PATCH", "/Users/{uid}",
         patch_body({"path": "title", "value": "x"}), 400, "invalidSyntax"),
        ("invalidSyntax-patch-wrong-schema", "PATCH", "/Users/{uid}",
         {"schemas": [CORE_USER], "Operations": [op("replace", "title", "x")]}, 400,
         "invalidSyntax"),
        ("mutability-id", "PATCH", "/Users/{uid}", patch_body(op("replace", "id", "12345")),
         400, "mutability"),
        ("mutability-meta", "PATCH", "/Users/{uid}",
         patch_body(op("replace", "meta", {"created": "2000-01-01T00:00:00Z"})), 400,
         "mutability"),
        ("mutability-groups", "PATCH", "/Users/{uid}",
         patch_body(op("add", "groups", [{"value": "1"}])), 400, "mutability"),
        ("uniqueness", "POST", "/Users", {"schemas": [CORE_USER], "userName": "{UNAME}"},
         409, "uniqueness"),
    ]


def _fill(x, ctx):
    if isinstance(x, str):
        return (x.replace("{uid}", ctx["uid"]).replace("{new}", ctx["new"])
                .replace("{UNAME}", ctx["uname"].upper()))
    if isinstance(x, dict):
        return {_fill(k, ctx): _fill(v, ctx) for k, v in x.items()}
    if isinstance(x, list):
        return [_fill(v, ctx) for v in x]
    return x


@pytest.mark.parametrize("case", _scim_type_cases(), ids=lambda c: c[0])
def test_every_scim_type_of_the_contract(api, case):
    _name, method, path, body, status, scim_type = case
    u = simple_user(api, "st", emails=[{"value": "st@work.example", "type": "work"}])
    ctx = {"uid": u["id"], "new": uname("new"), "uname": u["userName"]}
    path = _fill(path, ctx)
    if isinstance(body, bytes):
        r = api.request(method, path, data=body)
    elif body is None:
        r = api.request(method, path)
    else:
        r = api.request(method, path, _fill(body, ctx))
    err(r, status, scim_type)
    assert api.user(u["id"]) == u   # nothing changed
    assert api.find_user(ctx["new"]) is None


# ================================================================ ETags


def test_etag_changes_with_every_change_and_only_then(api):
    u = simple_user(api)
    r1 = api.get("/Users/" + u["id"])
    r2 = api.get("/Users/" + u["id"])
    assert r1.headers["ETag"] == r2.headers["ETag"] == u["meta"]["version"]
    assert ETAG_RE.match(r1.headers["ETag"])
    res = patched(api, u, op("replace", "title", "x"))
    assert res["meta"]["version"] != u["meta"]["version"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_if_match_is_412_and_current_proceeds(api, method):
    u = simple_user(api)
    stale = u["meta"]["version"]
    cur = patched(api, u, op("replace", "title", "changed"))["meta"]["version"]
    assert cur != stale

    def send(tag):
        h = {"If-Match": tag}
        if method == "PUT":
            return api.put("/Users/" + u["id"], {"schemas": [CORE_USER],
                                                 "userName": u["userName"],
                                                 "title": "put"}, headers=h)
        if method == "PATCH":
            return api.patch("/Users/" + u["id"], op("replace", "title", "patched"), headers=h)
        return api.delete("/Users/" + u["id"], headers=h)

    for tag in (stale, 'W/"0"', '"%s"' % cur[3:-1] + "x"):
        err(send(tag), 412)
    assert api.user(u["id"])["meta"]["version"] == cur   # untouched
    r = send('W/"00"' + ", " + cur)
    assert r.status_code == (204 if method == "DELETE" else 200), r.text
    if method != "DELETE":
        etag_matches(r)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_star_proceeds(api, method):
    u = simple_user(api)
    h = {"If-Match": "*"}
    if method == "PUT":
        r = api.put("/Users/" + u["id"], {"schemas": [CORE_USER], "userName": u["userName"]},
                    headers=h)
    elif method == "PATCH":
        r = api.patch("/Users/" + u["id"], op("replace", "title", "x"), headers=h)
    else:
        r = api.delete("/Users/" + u["id"], headers=h)
    assert r.status_code == (204 if method == "DELETE" else 200), r.text


def test_if_none_match_current_is_304_without_body(api):
    u = simple_user(api)
    cur = u["meta"]["version"]
    for tag in (cur, "*", 'W/"1", ' + cur):
        r = api.get("/Users/" + u["id"], headers={"If-None-Match": tag})
        assert r.status_code == 304, (tag, r.status_code, r.text)
        assert r.content == b""
    r = api.get("/Users/" + u["id"], headers={"If-None-Match": 'W/"0"'})
    assert ok(r) == u
    patched(api, u, op("replace", "title", "x"))
    r = api.get("/Users/" + u["id"], headers={"If-None-Match": cur})
    assert r.status_code == 200 and r.json()["title"] == "x"


def test_if_match_on_groups_too(api):
    g = api.create_group("etag group " + uname())
    err(api.patch("/Groups/" + g["id"], op("replace", "displayName", "x"),
                  headers={"If-Match": 'W/"0"'}), 412)
    r = api.patch("/Groups/" + g["id"], op("replace", "displayName", "y"),
                  headers={"If-Match": g["meta"]["version"]})
    assert ok(r)["displayName"] == "y"
    etag_matches(r)


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
