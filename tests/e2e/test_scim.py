"""The SCIM 2.0 API (issue 7, RFC 7643/7644) end to end, part one: authentication, media types,
Users (create, PUT, PATCH, DELETE, uniqueness, every scimType of docs/scim.md) and ETags; Groups,
Clients, Grants, discovery and hostile input are in test_scim_resources.py. Each test makes its
own users (unique names), so tests do not depend on each other. Changes made through SCIM act at
once (the daemon makes them itself)."""
import time

import pytest

from scim_cases import (CORE_GROUP, CORE_USER, ENTERPRISE, ETAG_RE, PATCH_OP, PW, SCIM_JSON,
                        T_USER, api, check_meta, err, etag_matches, jwt_parts, login,
                        login_refused, media_type, ok, op, patch_body, qs, sign_jwt,
                        signing_key_from_db, simple_user, srv, subset, uname, user_body, wait_for)  # noqa: F401 (srv, api: fixtures)


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
