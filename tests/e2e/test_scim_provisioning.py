"""SCIM provisioning as two real identity providers drive it, replayed against Tessera (issue 7):

- Microsoft Entra ID, with the request shapes of "Tutorial: Develop and plan provisioning for a
  SCIM endpoint in Microsoft Entra ID" (filter by userName, POST with the enterprise extension,
  PATCH with "Replace"/"Add" and booleans sent as strings, the manager by its extension path,
  groups with the Microsoft group schema URN, members added and removed with "$ref": null);
- Okta, with the shapes of the "SCIM 2.0 protocol reference" on developer.okta.com (paged
  filters, POST with a password, PUT of the full profile, PATCH without a path, group rename
  with the id in the value, members removed through members[value eq "..."]).

Each sequence is one test class whose steps run in order and share state; every step checks
the status and the fields that matter, and the sequences end with what the provisioning is for:
the user can (or, deactivated, cannot) sign in and get tokens."""
import pytest

from scim_client import (ADMIN_CLIENTS, CORE_GROUP, CORE_USER, ENTERPRISE, PATCH_OP,
                         SCIM_CONFIG, Scim, check_list, check_meta, err, etag_matches, ok, qs)
from tessera_harness import (INACTIVE, PKCE, Page, UserAgent, auth_request, code_flow,
                             token_error, token_ok)

CB = "https://rp.example/cb"
APP_SCOPE = "openid profile email"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, name="scim-prov", clients=ADMIN_CLIENTS + [
        dict(client_id="app", grants=["authorization_code", "refresh_token"],
             redirect_uris=[CB], scope=APP_SCOPE, name="App")])


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def patch(*ops):
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def login(srv, user, password):
    return code_flow(srv, srv.clients["app"], user, password, redirect_uri=CB,
                     scope="openid profile email").tokens


def login_refused(srv, user, password):
    r = UserAgent(srv).run(auth_request("app", CB, scope="openid", pkce=PKCE()),
                           username=user, password=password)
    return r.status_code == 401 and Page(r).has_form("/login")


def intro(srv, tok):
    return srv.introspection(srv.clients["admin"], tok)


# ================================================================ Microsoft Entra ID

ENTRA = {}   # state shared by the steps, in order


class TestEntraId:
    user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    email = "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"

    def test_01_get_user_by_query_finds_nothing(self, api):
        r = api.get("/Users" + qs(filter='userName eq "Test_User_dfeef4c5-5681-4387-b016-'
                                         'bdf221e82081"'))
        body = check_list(ok(r))
        assert body["totalResults"] == 0 and body["Resources"] == [], body
        assert body["startIndex"] == 1, body

    def test_02_create_user(self, srv, api):
        body = {
            "schemas": [CORE_USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": self.user_name,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": self.email}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": [],
        }
        r = api.post("/Users", body)
        res = ok(r, 201)
        check_meta(srv, res, "User", "Users")
        etag_matches(r, res)
        assert res["userName"] == self.user_name and res["active"] is True, res
        assert res["externalId"] == body["externalId"], res
        assert res["emails"] == body["emails"], res
        assert res["name"] == body["name"], res
        assert r.headers["Location"] == res["meta"]["location"]
        ENTRA["id"] = res["id"]

    def test_03_get_user_and_by_query(self, api):
        res = ok(api.get("/Users/" + ENTRA["id"]))
        assert res["userName"] == self.user_name
        body = check_list(ok(api.get("/Users" + qs(filter='userName eq "%s"' % self.user_name))))
        assert body["totalResults"] == 1 and body["Resources"][0]["id"] == ENTRA["id"], body
        assert body["Resources"][0] == res
        body = check_list(ok(api.get("/Users" + qs(filter='userName eq "non-existent user"'))))
        assert body["totalResults"] == 0, body

    def test_04_duplicate_create_is_409(self, api):
        err(api.post("/Users", {"schemas": [CORE_USER], "userName": self.user_name.lower()}),
            409, "uniqueness")

    def test_05_patch_multi_valued_and_sub_attributes(self, api):
        r = api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}))
        res = ok(r)
        etag_matches(r, res)
        assert [e["value"] for e in res["emails"]] == ["updatedEmail@microsoft.com"], res
        assert res["emails"][0]["type"] == "work" and res["emails"][0]["primary"] is True
        assert res["name"]["familyName"] == "updatedFamilyName", res
        assert res["name"]["givenName"] == "givenName", res

    def test_06_patch_single_valued_user_name(self, api):
        new = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Replace", "path": "userName", "value": new})))
        assert res["userName"] == new
        ENTRA["userName"] = new

    def test_07_add_attributes_with_add_and_no_path(self, api):
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Add", "path": "displayName", "value": "Entra Person"},
            {"op": "Add", "path": ENTERPRISE + ":department", "value": "Tour Operations"},
            {"op": "Add", "value": {"title": "Guide", "nickName": "EP"}})))
        assert res["displayName"] == "Entra Person" and res["title"] == "Guide", res
        assert res[ENTERPRISE]["department"] == "Tour Operations", res

    def test_08_manager_by_extension_path_with_a_string_value(self, api):
        boss = ok(api.post("/Users", {"schemas": [CORE_USER, ENTERPRISE],
                                      "userName": "Test_Manager_2819c223",
                                      "externalId": "2819c223-7f76-453a-919d-413861904646"}),
                  201)
        ENTRA["boss"] = boss["id"]
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Add", "path": ENTERPRISE + ":manager", "value": boss["id"]})))
        assert res[ENTERPRISE]["manager"]["value"] == boss["id"], res
        assert res[ENTERPRISE]["department"] == "Tour Operations", res

    def test_09_remove_manager(self, api):
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Remove", "path": ENTERPRISE + ":manager"})))
        assert "manager" not in res.get(ENTERPRISE, {}), res
        assert res[ENTERPRISE]["department"] == "Tour Operations", res

    def test_10_give_a_password_and_sign_in(self, srv, api):
        # not an Entra request: Entra provisions federated users; Tessera's own login needs one
        ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "replace", "path": "password", "value": "entra pw 1"})))
        tokens = login(srv, ENTRA["userName"], "entra pw 1")
        ENTRA["tokens"] = tokens
        info = srv.userinfo(tokens["access_token"]).json()
        assert info.get("email") == "updatedEmail@microsoft.com", info
        assert info.get("name") == "Entra Person", info

    def test_11_disable_user_with_a_string_boolean(self, srv, api):
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Replace", "path": "active", "value": "False"})))
        assert res["active"] is False, res
        assert intro(srv, ENTRA["tokens"]["access_token"]) == INACTIVE
        assert token_error(srv.refresh(srv.clients["app"], ENTRA["tokens"]["refresh_token"])) \
            == "invalid_grant"
        assert login_refused(srv, ENTRA["userName"], "entra pw 1")
        body = check_list(ok(api.get("/Users" + qs(filter='userName eq "%s"'
                                                   % ENTRA["userName"]))))
        assert body["Resources"][0]["active"] is False, body

    def test_12_enable_user_with_a_value_object_of_string_booleans(self, srv, api):
        res = ok(api.request("PATCH", "/Users/" + ENTRA["id"], patch(
            {"op": "Replace", "value": {"active": "True"}})))
        assert res["active"] is True, res
        assert intro(srv, ENTRA["tokens"]["access_token"])["active"] is True
        token_ok(srv.refresh(srv.clients["app"], ENTRA["tokens"]["refresh_token"]))
        login(srv, ENTRA["userName"], "entra pw 1")

    def test_13_get_group_by_display_name_finds_nothing(self, api):
        body = check_list(ok(api.get("/Groups" + qs(excludedAttributes="members",
                                                    filter='displayName eq "displayName"'))))
        assert body["totalResults"] == 0, body

    def test_14_create_group_with_the_microsoft_schema(self, srv, api):
        body = {"schemas": [CORE_GROUP, MS_GROUP],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}}
        r = api.post("/Groups", body)
        if r.status_code != 201:
            # let the later steps run on a group made without the Microsoft URN, then fail
            ENTRA["group"] = ok(api.post("/Groups", dict(body, schemas=[CORE_GROUP])), 201)["id"]
            pytest.fail("Entra's POST /Groups (schemas with the Microsoft group URN) refused: "
                        "%s %s" % (r.status_code, r.text[:400]))
        res = ok(r, 201)
        check_meta(srv, res, "Group", "Groups")
        assert res["displayName"] == "displayName", res
        assert res["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", res
        assert res.get("members", []) == [], res
        ENTRA["group"] = res["id"]

    def test_15_get_group_excluding_members_and_by_display_name(self, api):
        res = ok(api.get("/Groups/%s%s" % (ENTRA["group"], qs(excludedAttributes="members"))))
        assert res["displayName"] == "displayName" and "members" not in res, res
        body = check_list(ok(api.get("/Groups" + qs(excludedAttributes="members",
                                                    filter='displayName eq "displayName"'))))
        assert [g["id"] for g in body["Resources"]] == [ENTRA["group"]], body

    def test_16_rename_group(self, api):
        new = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
        res = ok(api.request("PATCH", "/Groups/" + ENTRA["group"], patch(
            {"op": "Replace", "path": "displayName", "value": new})))
        assert res["displayName"] == new
        ENTRA["groupName"] = new

    def test_17_add_members(self, srv, api):
        res = ok(api.request("PATCH", "/Groups/" + ENTRA["group"], patch(
            {"op": "Add", "path": "members",
             "value": [{"$ref": None, "value": ENTRA["id"]}]})))
        assert [m["value"] for m in res["members"]] == [ENTRA["id"]], res
        res = ok(api.request("PATCH", "/Groups/" + ENTRA["group"], patch(
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ENTRA["boss"]}]})))
        assert sorted(m["value"] for m in res["members"]) == sorted([ENTRA["id"],
                                                                     ENTRA["boss"]]), res
        u = ok(api.get("/Users/" + ENTRA["id"]))
        assert [(g["value"], g["display"]) for g in u["groups"]] == \
            [(ENTRA["group"], ENTRA["groupName"])], u

    def test_18_remove_members_by_value(self, api):
        res = ok(api.request("PATCH", "/Groups/" + ENTRA["group"], patch(
            {"op": "Remove", "path": "members",
             "value": [{"$ref": None, "value": ENTRA["boss"]}]})))
        assert [m["value"] for m in res["members"]] == [ENTRA["id"]], res
        assert ok(api.get("/Users/" + ENTRA["boss"])).get("groups", []) == []

    def test_19_delete_group(self, api):
        r = api.delete("/Groups/" + ENTRA["group"])
        assert r.status_code == 204, r.text
        err(api.get("/Groups/" + ENTRA["group"]), 404)
        assert ok(api.get("/Users/" + ENTRA["id"])).get("groups", []) == []

    def test_20_delete_user(self, srv, api):
        tokens = login(srv, ENTRA["userName"], "entra pw 1")
        r = api.delete("/Users/" + ENTRA["id"])
        assert r.status_code == 204 and r.content == b"", r.text
        err(api.get("/Users/" + ENTRA["id"]), 404)
        assert intro(srv, tokens["access_token"]) == INACTIVE
        assert login_refused(srv, ENTRA["userName"], "entra pw 1")
        body = check_list(ok(api.get("/Users" + qs(filter='userName eq "%s"'
                                                   % ENTRA["userName"]))))
        assert body["totalResults"] == 0


# ================================================================ Okta

OKTA = {}


class TestOkta:
    user_name = "test.user@okta.local"
    password = "1mz050nq"

    def test_01_get_user_by_filter_paged(self, api):
        r = api.get("/Users?filter=userName%20eq%20%22test.user%40okta.local%22"
                    "&startIndex=1&count=100")
        body = check_list(ok(r))
        assert body["totalResults"] == 0 and body["startIndex"] == 1, body
        assert body["Resources"] == [], body

    def test_02_create_user_with_password(self, srv, api):
        body = {
            "schemas": [CORE_USER],
            "userName": self.user_name,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": self.user_name, "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": self.password,
            "active": True,
        }
        r = api.post("/Users", body)
        res = ok(r, 201)
        check_meta(srv, res, "User", "Users")
        etag_matches(r, res)
        assert res["userName"] == self.user_name and res["active"] is True, res
        assert res["name"] == body["name"] and res["emails"] == body["emails"], res
        assert res["displayName"] == "Test User" and res["locale"] == "en-US", res
        assert res["externalId"] == "00ujl29u0le5T6Aj10h7", res
        assert res.get("groups", []) == [] and "password" not in res, res
        OKTA["id"] = res["id"]
        OKTA["user"] = res

    def test_03_get_user(self, api):
        r = api.get("/Users/" + OKTA["id"])
        assert ok(r) == OKTA["user"]
        etag_matches(r)
        body = check_list(ok(api.get("/Users?filter=userName%20eq%20%22test.user%40okta.local"
                                     "%22&startIndex=1&count=100")))
        assert body["totalResults"] == 1 and body["Resources"][0]["id"] == OKTA["id"], body

    def test_04_the_user_signs_in(self, srv):
        tokens = login(srv, self.user_name, self.password)
        info = srv.userinfo(tokens["access_token"]).json()
        assert info.get("email") == self.user_name and info.get("name") == "Test User", info
        OKTA["tokens"] = tokens

    def test_05_put_full_profile(self, srv, api):
        body = {
            "schemas": [CORE_USER],
            "id": OKTA["id"],
            "userName": self.user_name,
            "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
            "emails": [{"primary": True, "value": self.user_name, "type": "work"}],
            "displayName": "Another User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "active": True,
            "meta": {"resourceType": "User"},
        }
        r = api.put("/Users/" + OKTA["id"], body)
        res = ok(r)
        etag_matches(r, res)
        assert res["id"] == OKTA["id"] and res["displayName"] == "Another User", res
        assert res["name"]["givenName"] == "Another" and res["name"]["familyName"] == "User"
        assert res["meta"]["version"] != OKTA["user"]["meta"]["version"]
        # the password was not in the PUT: it is kept
        login(srv, self.user_name, self.password)
        info = srv.userinfo(login(srv, self.user_name, self.password)["access_token"]).json()
        assert info.get("name") == "Another User", info

    def test_06_get_groups_paged(self, api):
        body = check_list(ok(api.get("/Groups?startIndex=1&count=100")))
        assert body["startIndex"] == 1, body
        OKTA["groups_before"] = body["totalResults"]

    def test_07_create_group_with_members(self, srv, api):
        r = api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2",
                                 "members": [{"value": OKTA["id"],
                                              "display": self.user_name}]})
        res = ok(r, 201)
        check_meta(srv, res, "Group", "Groups")
        assert res["displayName"] == "Test SCIMv2", res
        assert [(m["value"], m["display"]) for m in res["members"]] == \
            [(OKTA["id"], self.user_name)], res
        OKTA["group"] = res["id"]
        body = check_list(ok(api.get("/Groups?startIndex=1&count=100")))
        assert body["totalResults"] == OKTA["groups_before"] + 1

    def test_08_get_group(self, api):
        res = ok(api.get("/Groups/" + OKTA["group"]))
        assert res["displayName"] == "Test SCIMv2"
        u = ok(api.get("/Users/" + OKTA["id"]))
        assert [g["value"] for g in u["groups"]] == [OKTA["group"]], u

    def test_09_rename_group_with_id_in_the_value(self, api):
        res = ok(api.request("PATCH", "/Groups/" + OKTA["group"], patch(
            {"op": "replace", "value": {"id": OKTA["group"], "displayName": "Test SCIMv2 new"}})))
        assert res["id"] == OKTA["group"] and res["displayName"] == "Test SCIMv2 new", res
        assert [m["value"] for m in res["members"]] == [OKTA["id"]], res

    def test_10_members_remove_and_add(self, api):
        other = ok(api.post("/Users", {"schemas": [CORE_USER], "userName": "other@okta.local",
                                       "active": True}), 201)
        OKTA["other"] = other["id"]
        res = ok(api.request("PATCH", "/Groups/" + OKTA["group"], patch(
            {"op": "add", "path": "members",
             "value": [{"value": other["id"], "display": "other@okta.local"}]})))
        assert sorted(m["value"] for m in res["members"]) == sorted([OKTA["id"], other["id"]])
        res = ok(api.request("PATCH", "/Groups/" + OKTA["group"], patch(
            {"op": "remove", "path": 'members[value eq "%s"]' % OKTA["id"]})))
        assert [m["value"] for m in res["members"]] == [other["id"]], res
        assert ok(api.get("/Users/" + OKTA["id"])).get("groups", []) == []

    def test_11_deactivate_user_with_a_value_object(self, srv, api):
        res = ok(api.request("PATCH", "/Users/" + OKTA["id"], patch(
            {"op": "replace", "value": {"active": False}})))
        assert res["active"] is False, res
        assert intro(srv, OKTA["tokens"]["access_token"]) == INACTIVE
        assert token_error(srv.refresh(srv.clients["app"], OKTA["tokens"]["refresh_token"])) \
            == "invalid_grant"
        assert login_refused(srv, self.user_name, self.password)

    def test_12_reactivate_user(self, srv, api):
        res = ok(api.request("PATCH", "/Users/" + OKTA["id"], patch(
            {"op": "replace", "value": {"active": True}})))
        assert res["active"] is True
        assert intro(srv, OKTA["tokens"]["access_token"])["active"] is True
        login(srv, self.user_name, self.password)

    def test_13_delete_group(self, api):
        r = api.delete("/Groups/" + OKTA["group"])
        assert r.status_code == 204, r.text
        err(api.get("/Groups/" + OKTA["group"]), 404)
        assert ok(api.get("/Users/" + OKTA["other"])).get("groups", []) == []

    def test_14_deactivate_for_good(self, srv, api):
        tokens = login(srv, self.user_name, self.password)
        res = ok(api.request("PATCH", "/Users/" + OKTA["id"], patch(
            {"op": "replace", "value": {"active": False}})))
        assert res["active"] is False
        assert intro(srv, tokens["access_token"]) == INACTIVE
        assert login_refused(srv, self.user_name, self.password)
