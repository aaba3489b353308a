"""SCIM answers that SQLite and PostgreSQL would give differently without an error, unless the SQL
handles them (issue 23; the "divergences that give no error" of the scale-out notes): an
ends-with filter (PostgreSQL's substr with a negative start is the whole string, so the filter
would select everyone), case-insensitive comparison (ASCII letters only, as SQLite's NOCASE,
whatever the database's collation folds), the place of missing values in a sort (SQLite puts NULLs
first ascending, PostgreSQL last), and the text ETags hash (the JSON of a user's groups and a
group's members: spaces and order). `make test` runs these on SQLite, `make test-pg` on
PostgreSQL, where the ETag test also starts a SQLite twin and compares the two.
docs/security.md rows 117 (filters select the same on both engines), 118 (sortBy orders the same)
and 119 (a resource's ETag is the same on both)."""
import os

import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, SCIM_CONFIG, Scim, ok, op

PG = os.environ.get("TESSERA_PG")  # make test-pg (tests/harness_daemon.py)

PEOPLE = [
    # userName, displayName, title (None: none), email
    ("alice", "Alice Liddell", "Engineer", "alice@b.example"),
    ("Beatrice", "Beatrice Portinari", None, "bea@a.example"),
    ("bob", "Bob", "engineer", "bob@b.example.org"),
    ("ice", "Émile Zola", None, "ice@c.example"),
    ("carol", "Carol", "Manager", "carol@b.example"),
    ("dave", "Dave", None, None),
]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=ADMIN_CLIENTS, name="scim-engines")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


@pytest.fixture(scope="module")
def people(api):
    """userName -> id, the users made in PEOPLE's order."""
    ids = {}
    for name, display, title, email in PEOPLE:
        attrs = {"displayName": display}
        if title:
            attrs["title"] = title
        if email:
            attrs["emails"] = [{"value": email, "type": "work", "primary": True}]
        ids[name] = api.create_user(name, **attrs)["id"]
    return ids


def names(api, people, **params):
    body = api.list("/Users", count=100, **params)
    return [r["userName"] for r in body.get("Resources", [])]


@pytest.mark.parametrize("flt, want", [
    ('userName ew "ice"', ["alice", "Beatrice", "ice"]),
    ('userName ew "ICE"', ["alice", "Beatrice", "ice"]),
    ('userName ew "xalice"', []),
    ('userName ew "e"', ["alice", "Beatrice", "ice", "dave"]),
    ('not (userName ew "ice")', ["bob", "carol", "dave"]),
    ('emails.value ew "@B.EXAMPLE"', ["alice", "carol"]),
    ('emails ew ".org"', ["bob"]),
    ('title ew "NEER"', ["alice", "bob"]),
    ('displayName ew "ZOLA"', ["ice"]),
])
def test_row117_ends_with_selects_only_what_ends_so(api, people, flt, want):
    """docs/security.md row 117: an ends-with filter selects the values that end with the string,
    never every resource (substr(x, -n) is x itself on PostgreSQL)."""
    assert names(api, people, filter=flt) == want


@pytest.mark.parametrize("flt, want", [
    ('displayName eq "alice liddell"', ["alice"]),
    ('displayName eq "émile zola"', []),
    ('displayName eq "Émile Zola"', ["ice"]),
    ('displayName co "MILE"', ["ice"]),
    ('displayName sw "é"', []),
    ('displayName gt "Dave"', ["ice"]),
    ('userName sw "B"', ["Beatrice", "bob"]),
])
def test_row117_case_insensitive_means_ascii_letters(api, people, flt, want):
    """docs/security.md row 117: case-insensitive comparisons fold ASCII letters only, on both
    engines (a PostgreSQL collation that folds É to é must not widen a filter), and order by
    bytes ("É" sorts after every ASCII letter)."""
    assert names(api, people, filter=flt) == want


def test_row118_sort_puts_missing_values_first_ascending_last_descending(api, people):
    """docs/security.md row 118: users without the sorted attribute come first ascending and last
    descending (SQLite's NULL order), ties in the order of creation."""
    up = names(api, people, sortBy="title")
    assert up == ["Beatrice", "ice", "dave", "alice", "bob", "carol"], up
    down = names(api, people, sortBy="title", sortOrder="descending")
    assert down == ["carol", "alice", "bob", "Beatrice", "ice", "dave"], down
    up = names(api, people, sortBy="emails")
    assert up == ["dave", "alice", "Beatrice", "bob", "carol", "ice"], up
    down = names(api, people, sortBy="emails.value", sortOrder="descending")
    assert down == ["ice", "carol", "bob", "Beatrice", "alice", "dave"], down


def test_row118_paging_a_sort_with_missing_values_sees_each_user_once(api, people):
    """docs/security.md row 118: pages of a sort with ties and missing values are stable."""
    seen = []
    for start in range(1, 7, 2):
        body = api.list("/Users", sortBy="title", startIndex=start, count=2)
        seen += [r["userName"] for r in body["Resources"]]
    assert seen == names(api, people, sortBy="title")


def strip(v):
    """v without meta and $ref (which name the daemon's address)."""
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in ("meta", "$ref")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def make_twins(apis):
    """On each api in turn, step by step (close in time): two groups and a user in both (added
    to the second group first), names and values with characters JSON escapes; returns, for each
    api, the user's and the groups' resources, read back."""
    g1 = [a.create_group('Readers "quoted" \\ back/slash ünïcødé ☃') for a in apis]
    g2 = [a.create_group("Writers <&> 'single'") for a in apis]
    u = [a.create_user("twin", displayName='Twin "T" ☃',
                       emails=[{"value": 'a"b\\c@x.example', "primary": True}]) for a in apis]
    for gs in (g2, g1):
        for a, g, x in zip(apis, gs, u):
            ok(a.patch("/Groups/%s" % g["id"], op("add", "members", [{"value": x["id"]}])))
    return [(a.user(x["id"]), a.group(y["id"]), a.group(z["id"]))
            for a, x, y, z in zip(apis, u, g1, g2)]


@pytest.mark.skipif(not PG, reason="compares with PostgreSQL: make test-pg")
def test_row119_etags_are_the_same_on_sqlite_and_postgresql(srv, server_factory):
    """docs/security.md row 119: the same resources made the same way on a SQLite daemon and on a
    PostgreSQL one carry the same ETags (the hashed JSON texts of a user's groups and a group's
    members are byte for byte SQLite's, members in the same order): an If-Match taken from one
    node, or before a move between engines, is not refused for nothing. The daemons' clocks
    decide meta.created and meta.lastModified, which the ETag covers: a pair made across a second
    boundary is made again (at most 5 times)."""
    twin = server_factory.new(config=SCIM_CONFIG, name="sqlite-twin")
    twin.db = os.path.join(twin.dir, "tessera.db")
    twin.init()
    for c in ADMIN_CLIENTS:
        c = dict(c)
        twin.add_client(c.pop("client_id"), **c)
    twin.start()
    fresh = server_factory.start(config=SCIM_CONFIG, clients=ADMIN_CLIENTS, name="pg-twin")
    assert fresh.db.startswith("postgres") and not twin.db.startswith("postgres")
    apis = [Scim(twin), Scim(fresh)]
    for _attempt in range(5):
        lite, pg = make_twins(apis)
        times = [(r["meta"]["created"], r["meta"]["lastModified"]) for r in lite + pg]
        if times[:3] == times[3:]:
            break
        for a, made in zip(apis, (lite, pg)):  # made across a second: again, from nothing
            for r in made:
                path = "/%s/%s" % ("Users" if "userName" in r else "Groups", r["id"])
                assert a.delete(path).status_code == 204
    else:
        pytest.fail("five pairs made across a second boundary: %r" % times)
    for a, b in zip(lite, pg):
        assert strip(a) == strip(b)
        assert a["meta"]["version"] == b["meta"]["version"], (a, b)
    assert [m["value"] for m in lite[0]["groups"]] == [m["value"] for m in pg[0]["groups"]]
    # and an If-Match taken from one engine's answer is good on the other
    r = apis[1].put("/Users/%s" % pg[0]["id"], {"schemas": [CORE_USER], "userName": "twin",
                                               "displayName": "changed"},
                   headers={"If-Match": lite[0]["meta"]["version"]})
    ok(r)
