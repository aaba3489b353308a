"""SCIM 2.0 lists (issue 7, RFC 7644 §3.4.2 and §3.4.3): filters with every operator, sorting,
pagination, attributes/excludedAttributes, and POST /Users/.search.

The module's server holds exactly the 40 users made once by the fixture (through SCIM POST,
with varied attributes) and three groups; the tests only read, so every expected answer is
computed here from the same data (the `people` list)."""
import pytest

from scim_client import (ADMIN_CLIENTS, CORE_GROUP, CORE_USER, ENTERPRISE, SCIM_CONFIG, SEARCH,
                         Scim, check_list, err, ok, qs)

N = 40
FAMILY = ["Aalto", "Baker", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen",
          "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Nielsen", "Olsen", "Petrov",
          "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz",
          "Zhang", "Abbott", "Bianchi", "Cohen", "Dietrich", "Evans", "Ferrari", "Gruber",
          "Horvat", "Ito", "Jovanovic", "Keller", "Lehmann", "Meyer", "Novak"]
DEPT_URN = ENTERPRISE + ":department"


def person(i):
    """The attributes of user i (userName user00..user39)."""
    name = "user%02d" % i
    dom = "x.example" if i % 2 == 0 else "y.example"
    d = {
        "schemas": [CORE_USER, ENTERPRISE],
        "userName": name,
        "displayName": "Person %d" % i,
        "name": {"familyName": FAMILY[i], "givenName": "G%02d" % (39 - i)},
        # the work address sorts differently from the userName (by family name)
        "emails": [{"value": "%s.%d@%s" % (FAMILY[i].lower(), i, dom), "type": "work",
                    "primary": True}],
        "active": i % 5 != 0,
        "externalId": "Ext-%d" % i,
        "userType": "even" if i % 2 == 0 else "odd",
        ENTERPRISE: {"employeeNumber": str(1000 + i),
                     "department": "DeptA" if i < 20 else "DeptB"},
    }
    if i % 3 == 0:
        d["emails"].append({"value": "home%d@x.example" % i, "type": "home"})
    if i % 4 == 0:
        d["title"] = "Engineer"
    elif i % 4 == 1:
        d["title"] = "Manager"
    if i < 10:
        d["nickName"] = "nick%d" % i
    return d


PEOPLE = [person(i) for i in range(N)]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=ADMIN_CLIENTS, name="scim-lists")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


@pytest.fixture(scope="module")
def people(api):
    """The 40 users, made in order (so creation order is user00..user39): (person, resource)."""
    out = []
    for p in PEOPLE:
        out.append((p, ok(api.post("/Users", p), 201)))
    return out


@pytest.fixture(scope="module")
def groups(api, people):
    ids = [r["id"] for _p, r in people]
    g1 = ok(api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Readers",
                                 "members": [{"value": ids[1]}, {"value": ids[2]}]}), 201)
    g2 = ok(api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Writers",
                                 "members": [{"value": ids[2]}]}), 201)
    g3 = ok(api.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Empty"}), 201)
    return g1, g2, g3


def names(body):
    return [r["userName"] for r in body["Resources"]]


def users_where(pred):
    return [p["userName"] for p in PEOPLE if pred(p)]


def filtered(api, f, **kw):
    """userNames of GET /Users?filter=f (count 1000), in the answer's order."""
    body = api.list("/Users", filter=f, count=1000, **kw)
    assert body["totalResults"] == len(body["Resources"]), body
    return names(body)


def work(p):
    return p["emails"][0]["value"]


# ================================================================ filters

FILTERS = [
    ('userName eq "user07"', lambda p: p["userName"] == "user07"),
    ('userName ne "user07"', lambda p: p["userName"] != "user07"),
    ('userName co "3"', lambda p: "3" in p["userName"]),
    ('userName sw "user1"', lambda p: p["userName"].startswith("user1")),
    ('userName ew "5"', lambda p: p["userName"].endswith("5")),
    ('userName gt "user35"', lambda p: p["userName"] > "user35"),
    ('userName ge "user35"', lambda p: p["userName"] >= "user35"),
    ('userName lt "user03"', lambda p: p["userName"] < "user03"),
    ('userName le "user03"', lambda p: p["userName"] <= "user03"),
    ("nickName pr", lambda p: "nickName" in p),
    ("title pr", lambda p: "title" in p),
    ("not (title pr)", lambda p: "title" not in p),
    ("active eq false", lambda p: not p["active"]),
    ("active eq true", lambda p: p["active"]),
    ("active ne true", lambda p: not p["active"]),
    ('title eq "Engineer" and active eq true', lambda p: p.get("title") == "Engineer"
     and p["active"]),
    ('userName eq "user01" or userName eq "user02"',
     lambda p: p["userName"] in ("user01", "user02")),
    ('(title eq "Engineer" or title eq "Manager") and userName sw "user1"',
     lambda p: p.get("title") in ("Engineer", "Manager") and p["userName"].startswith("user1")),
    ('title eq "Engineer" or title eq "Manager" and userName sw "user1"',
     lambda p: p.get("title") == "Engineer" or (p.get("title") == "Manager"
                                               and p["userName"].startswith("user1"))),
    ('not (userName sw "user1" or userName sw "user2") and active eq true',
     lambda p: not p["userName"].startswith(("user1", "user2")) and p["active"]),
    ('name.familyName eq "Jensen"', lambda p: p["name"]["familyName"] == "Jensen"),
    ('name.familyName sw "j"', lambda p: p["name"]["familyName"].lower().startswith("j")),
    ('emails.value co "@y"', lambda p: "@y" in work(p)),
    ('emails[type eq "work" and value co "@x"]', lambda p: "@x" in work(p)),
    ('emails[type eq "home"]', lambda p: len(p["emails"]) > 1),
    ('emails[type eq "home" and value ew "9@x.example"]',
     lambda p: len(p["emails"]) > 1 and p["emails"][1]["value"].endswith("9@x.example")),
    ('emails.type eq "home"', lambda p: len(p["emails"]) > 1),
    # Entra ID's look-up by email, beyond the RFC's grammar
    ('emails[type eq "work"].value co "@x"', lambda p: "@x" in work(p)),
    ('emails[type eq "home"].value pr', lambda p: len(p["emails"]) > 1),
    ('externalId eq "Ext-3"', lambda p: p["externalId"] == "Ext-3"),
    ('externalId eq "ext-3"', lambda p: False),                     # caseExact
    ('externalId sw "EXT"', lambda p: False),
    ('userType eq "even"', lambda p: p["userType"] == "even"),
    (DEPT_URN + ' eq "DeptA"', lambda p: p[ENTERPRISE]["department"] == "DeptA"),
    (ENTERPRISE + ':employeeNumber gt "1030"',
     lambda p: p[ENTERPRISE]["employeeNumber"] > "1030"),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user09"',
     lambda p: p["userName"] == "user09"),
    ('userName eq "a\' OR 1=1--"', lambda p: False),
    ('userName eq "user07" and userName eq "user08"', lambda p: False),
    ('displayName eq "Person 12"', lambda p: p["displayName"] == "Person 12"),
]


@pytest.mark.parametrize("f,pred", FILTERS, ids=[f for f, _ in FILTERS])
def test_filter(api, people, f, pred):
    assert filtered(api, f) == users_where(pred)


CASE_VARIANTS = [
    ('USERNAME eq "user07"', ["user07"]),
    ('userName EQ "user07"', ["user07"]),
    ('username Eq "USER07"', ["user07"]),
    ('userName SW "USER3"', ["user%02d" % i for i in range(30, 40)]),
    ('NAME.FAMILYNAME eq "jensen"', ["user09"]),
    ('EMAILS[TYPE EQ "work" AND VALUE CO "jensen"]', ["user09"]),
    ('title PR AND NOT (active EQ true)', ["user00", "user05", "user20", "user25"]),
    ('Active eq false', ["user%02d" % i for i in range(0, 40, 5)]),
]


@pytest.mark.parametrize("f,want", CASE_VARIANTS, ids=[f for f, _ in CASE_VARIANTS])
def test_filter_attribute_names_operators_and_case_insensitive_values(api, people, f, want):
    assert filtered(api, f) == want


def test_filter_on_meta_last_modified_and_created(api, people):
    first = people[0][1]["meta"]["created"]
    assert filtered(api, 'meta.lastModified gt "2000-01-01T00:00:00Z"') == users_where(
        lambda p: True)
    assert filtered(api, 'meta.lastModified gt "2999-01-01T00:00:00Z"') == []
    assert filtered(api, 'meta.created ge "%s"' % first) == users_where(lambda p: True)
    assert filtered(api, 'meta.created lt "2000-01-01T00:00:00Z"') == []


def test_filter_by_id(api, people):
    p, r = people[17]
    assert filtered(api, 'id eq "%s"' % r["id"]) == [p["userName"]]


@pytest.mark.parametrize("f", [
    'userName xx "a"', '(userName eq "a"', 'userName eq "a")', "active gt true",
    'nosuch eq "a"', 'password eq "x"', 'userName eq', 'userName eq "a" and', '"a" eq userName',
    'userName eq "unterminated', 'emails[type eq "work"', 'name.nosuch eq "a"',
    'userName pr "x"', "userName eq a", "", "   ", 'userName eq "a" or or userName eq "b"',
    'urn:nope:attr eq "a"', "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("])
def test_invalid_filters_are_400_invalid_filter(api, people, f):
    err(api.get("/Users" + qs(filter=f)), 400, "invalidFilter")


def test_invalid_filter_on_groups_and_search(api, groups):
    err(api.get("/Groups" + qs(filter='displayName xx "a"')), 400, "invalidFilter")
    err(api.post("/Users/.search", {"schemas": [SEARCH], "filter": "active gt true"}), 400,
        "invalidFilter")


def test_sql_injection_in_filter_value_is_an_empty_list(api, people):
    body = api.list("/Users", filter="userName eq \"a' OR 1=1--\"")
    assert body["totalResults"] == 0 and body["Resources"] == [], body
    body = api.list("/Users", filter="userName eq \"x' UNION SELECT 1,2,3 --\"")
    assert body["totalResults"] == 0, body


def test_group_filters(api, people, groups):
    g1, g2, g3 = groups
    ids = [r["id"] for _p, r in people]
    body = api.list("/Groups", filter='displayName eq "readers"')
    assert [g["id"] for g in body["Resources"]] == [g1["id"]], body
    body = api.list("/Groups", filter='members.value eq "%s"' % ids[2])
    assert [g["id"] for g in body["Resources"]] == [g1["id"], g2["id"]], body
    body = api.list("/Groups", filter="members pr")
    assert [g["id"] for g in body["Resources"]] == [g1["id"], g2["id"]], body
    body = api.list("/Groups", filter='members[value eq "%s"]' % ids[1])
    assert [g["id"] for g in body["Resources"]] == [g1["id"]], body
    body = api.list("/Groups", sortBy="displayName", sortOrder="descending")
    assert [g["displayName"] for g in body["Resources"]] == ["Writers", "Readers", "Empty"]
    # the users' groups attribute can be filtered too
    assert filtered(api, 'groups.value eq "%s"' % g1["id"]) == ["user01", "user02"]


# ================================================================ sorting


SORTS = [
    ("userName", lambda p: p["userName"]),
    ("name.familyName", lambda p: p["name"]["familyName"].lower()),
    ("name.givenName", lambda p: p["name"]["givenName"].lower()),
    ("emails", lambda p: work(p)),
    (ENTERPRISE + ":employeeNumber", lambda p: p[ENTERPRISE]["employeeNumber"]),
    ("USERNAME", lambda p: p["userName"]),
]


@pytest.mark.parametrize("by,key", SORTS, ids=[s for s, _ in SORTS])
@pytest.mark.parametrize("order", [None, "ascending", "descending"])
def test_sort(api, people, by, key, order):
    want = [p["userName"] for p in sorted(PEOPLE, key=key,
                                          reverse=bool(order) and order.lower() == "descending")]
    body = api.list("/Users", sortBy=by, sortOrder=order)
    assert names(body) == want, (by, order)


def test_sort_with_filter_and_pages(api, people):
    want = [p["userName"] for p in sorted(PEOPLE, key=lambda p: p["name"]["familyName"].lower(),
                                          reverse=True) if p["active"]]
    got = []
    for start in (1, 11, 21, 31):
        body = api.list("/Users", filter="active eq true", sortBy="name.familyName",
                        sortOrder="descending", startIndex=start, count=10)
        assert body["totalResults"] == len(want) and body["startIndex"] == start, body
        got += names(body)
    assert got == want


def test_without_sort_by_the_order_is_creation(api, people):
    assert names(api.list("/Users")) == [p["userName"] for p in PEOPLE]


def test_sort_order_without_sort_by_is_ignored_or_refused_but_not_5xx(api, people):
    r = api.get("/Users" + qs(sortOrder="descending"))
    assert r.status_code in (200, 400), r.text


# ================================================================ pagination


@pytest.mark.parametrize("start,count,want_start,want", [
    (1, 10, 1, range(0, 10)),
    (11, 10, 11, range(10, 20)),
    (35, 10, 35, range(34, 40)),
    (40, 5, 40, range(39, 40)),
    (41, 5, 41, []),
    (1000, 5, 1000, []),
    (0, 3, 1, range(0, 3)),
    (-7, 3, 1, range(0, 3)),
    (1, 0, 1, []),
    (5, -3, 5, []),
    (1, 5000, 1, range(0, 40)),
    (None, None, 1, range(0, 40)),
    (None, 2, 1, range(0, 2)),
    (39, None, 39, range(38, 40)),
])
def test_pagination(api, people, start, count, want_start, want):
    body = api.list("/Users", startIndex=start, count=count)
    assert body["totalResults"] == N, body
    assert body["startIndex"] == want_start, body
    assert body["itemsPerPage"] == len(list(want)), body
    assert names(body) == ["user%02d" % i for i in want]


@pytest.mark.parametrize("param,value", [("startIndex", "abc"), ("count", "ten"),
                                         ("startIndex", "1.5"), ("count", "2e3"),
                                         ("startIndex", "0x10"), ("count", "-")])
def test_non_numeric_paging_is_invalid_value(api, people, param, value):
    err(api.get("/Users" + qs(**{param: value})), 400, "invalidValue")


def test_count_above_1000_is_clamped(api, people):
    body = api.list("/Users", count=1001)
    assert body["itemsPerPage"] == N and body["totalResults"] == N
    body = api.list("/Users", count=2147483648)
    assert body["itemsPerPage"] == N


def test_total_results_with_filter_and_pages(api, people):
    want = users_where(lambda p: p["userType"] == "odd")
    body = api.list("/Users", filter='userType eq "odd"', startIndex=3, count=4)
    assert body["totalResults"] == len(want) == 20, body
    assert names(body) == want[2:6]


# ================================================================ attributes


def test_attributes_on_a_list(api, people):
    body = api.list("/Users", attributes="userName", count=5)
    for r in body["Resources"]:
        assert set(r) == {"schemas", "id", "userName"}, r
    body = api.list("/Users", attributes="name.familyName,emails.value", count=5)
    for (p, _), r in zip(people, body["Resources"]):
        assert set(r) == {"schemas", "id", "name", "emails"}, r
        assert r["name"] == {"familyName": p["name"]["familyName"]}, r
        assert r["emails"] == [{"value": e["value"]} for e in p["emails"]], r


def test_attributes_are_case_insensitive_and_take_extension_urns(api, people):
    body = api.list("/Users", attributes="USERNAME," + DEPT_URN, count=3)
    for (p, _), r in zip(people, body["Resources"]):
        assert set(r) == {"schemas", "id", "userName", ENTERPRISE}, r
        assert r[ENTERPRISE] == {"department": p[ENTERPRISE]["department"]}, r


def test_excluded_attributes_on_a_list(api, people):
    body = api.list("/Users", excludedAttributes="emails,name,meta," + ENTERPRISE, count=5)
    for r in body["Resources"]:
        assert "emails" not in r and "name" not in r and "meta" not in r, r
        assert ENTERPRISE not in r, r
        assert "userName" in r and "displayName" in r and "id" in r and "schemas" in r, r


def test_id_and_schemas_always_returned(api, people):
    body = api.list("/Users", excludedAttributes="id,schemas,userName", count=2)
    for r in body["Resources"]:
        assert "id" in r and "schemas" in r, r
        assert "userName" not in r, r


def test_attributes_on_single_get(api, people):
    p, res = people[3]
    got = ok(api.get("/Users/%s%s" % (res["id"], qs(attributes="userName,title"))))
    assert set(got) == {"schemas", "id", "userName"}, got
    assert got["id"] == res["id"] and got["userName"] == p["userName"], got
    got = ok(api.get("/Users/%s%s" % (res["id"], qs(excludedAttributes="emails"))))
    want = {k: v for k, v in res.items() if k != "emails"}
    assert got == want


def test_attributes_on_write_answers(api, people):
    r = api.post("/Users" + qs(attributes="userName"),
                 {"schemas": [CORE_USER], "userName": "attrs-on-post", "title": "x"})
    res = ok(r, 201)
    try:
        assert set(res) == {"schemas", "id", "userName"}, res
        r = api.patch("/Users/%s%s" % (res["id"], qs(excludedAttributes="title")),
                      {"op": "replace", "path": "title", "value": "y"})
        res2 = ok(r)
        assert "title" not in res2 and res2["userName"] == "attrs-on-post", res2
    finally:
        assert api.delete("/Users/" + res["id"]).status_code == 204


# ================================================================ .search


def test_search_like_get(api, people):
    body = ok(api.post("/Users/.search", {
        "schemas": [SEARCH], "filter": 'userName sw "user2"', "startIndex": 2, "count": 3,
        "sortBy": "name.familyName", "sortOrder": "descending",
        "attributes": ["userName", "name.familyName"]}))
    check_list(body)
    want = [p for p in sorted(PEOPLE, key=lambda p: p["name"]["familyName"].lower(),
                              reverse=True) if p["userName"].startswith("user2")]
    assert body["totalResults"] == len(want) == 10, body
    assert body["startIndex"] == 2 and body["itemsPerPage"] == 3, body
    assert names(body) == [p["userName"] for p in want[1:4]]
    for r in body["Resources"]:
        assert set(r) == {"schemas", "id", "userName", "name"}, r


def test_search_excluded_attributes_and_defaults(api, people):
    body = ok(api.post("/Users/.search", {"schemas": [SEARCH],
                                          "excludedAttributes": ["emails"]}))
    check_list(body)
    assert body["totalResults"] == N and body["startIndex"] == 1
    assert names(body) == [p["userName"] for p in PEOPLE]
    assert all("emails" not in r for r in body["Resources"])


def test_search_on_groups(api, groups):
    body = ok(api.post("/Groups/.search", {"schemas": [SEARCH],
                                           "filter": 'displayName sw "W"'}))
    check_list(body)
    assert [g["displayName"] for g in body["Resources"]] == ["Writers"]


@pytest.mark.parametrize("bad,scim_type", [
    ({"filter": 'userName eq "x"'}, "invalidSyntax"),                   # no schemas
    ({"schemas": [CORE_USER], "filter": 'userName eq "x"'}, "invalidSyntax"),
    ({"schemas": [SEARCH], "startIndex": "one"}, "invalidValue"),
    ({"schemas": [SEARCH], "count": "ten"}, "invalidValue"),
    ({"schemas": [SEARCH], "filter": 5}, "invalidValue"),           # a wrong type
    ({"schemas": [SEARCH], "filter": "userName eq"}, "invalidFilter"),
])
def test_search_errors(api, people, bad, scim_type):
    err(api.post("/Users/.search", bad), 400, scim_type)

