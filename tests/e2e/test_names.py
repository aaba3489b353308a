"""One account per userName however it is spelt, and no client id that is a user's number
(issue 19 item 14), black box: the CLI, SCIM and the login page.

- docs/security.md row 77: userNames are compared NFKC case-folded, trimmed and without
  invisible characters (`alice`, `ＡＬＩＣＥ`, `alice ` are one name): a second spelling of a
  taken name is refused (SCIM 409 uniqueness, the CLI exits 1), names with invisible or control
  characters are refused (SCIM 400 invalidValue, the CLI exits 1), names are stored trimmed, and
  every spelling typed on the login page reaches the one account. (The login throttle counting
  per user across spellings: tests/e2e/test_throttles.py.)
- docs/security.md row 78: a client id made only of digits is refused, since a client's own
  tokens carry sub = its id and a user's tokens sub = the user's number.
The migration of databases that already hold such names or clients: tests/unit/test_store_names.c.
"""
import os

import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, SCIM_CONFIG, Scim, err, ok, op
from tessera_harness import (PKCE, Page, UserAgent, auth_request, cli_ok, code_flow, jwt_parts,
                             new_username, run_cli)

CB = "https://rp.example/cb"
PW = "correct horse battery staple"
CLIENTS = ADMIN_CLIENTS + [
    dict(client_id="app", public=True, grants=["authorization_code"], redirect_uris=[CB],
         scope="openid"),
]
# invisible: zero-width space, non-joiner, joiner, word joiner, BOM, soft hyphen, right-to-left
# override, left-to-right isolate, pop directional isolate, variation selector-16, RLM
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066",
             "\u2069", "\ufe0f", "\u200f"]
CONTROL = ["\x01", "\x1b", "\x7f", "\u0085", "\u2028"]


def fullwidth(s):
    """s with its printable ASCII in the fullwidth forms (U+FF01..U+FF5E): `ａｌｉｃｅ`."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=CLIENTS, name="names")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


@pytest.fixture
def db(tdir):
    p = os.path.join(tdir, "names.db")
    cli_ok(["init"], db=p)
    return p


def user_body(name, password=PW):
    body = {"schemas": [CORE_USER], "userName": name}
    if password:
        body["password"] = password
    return body


# ---------------------------------------------------------------- SCIM (row 77)

def test_scim_create_refuses_another_spelling_of_a_taken_name(api):
    name = new_username("sp")
    ok(api.post("/Users", user_body(name)), 201)
    for other in (fullwidth(name), fullwidth(name.upper()), name + "\u3000", "\u00a0" + name,
                  name.upper() + " "):
        body = err(api.post("/Users", user_body(other)), 409, "uniqueness")
        assert "already taken" in body["detail"], body
    assert api.list("/Users", filter='userName eq "%s"' % name)["totalResults"] == 1


def test_scim_rename_onto_another_spelling_of_a_taken_name_is_refused(api):
    a, b = new_username("ra"), new_username("rb")
    ok(api.post("/Users", user_body(a)), 201)
    bid = ok(api.post("/Users", user_body(b)), 201)["id"]
    err(api.put("/Users/%s" % bid, user_body(fullwidth(a))), 409, "uniqueness")
    err(api.patch("/Users/%s" % bid, op("replace", "userName", a + "\u3000")), 409, "uniqueness")
    assert api.user(bid)["userName"] == b
    # a rename to a free name, and back to its own name in another spelling, are fine
    assert ok(api.patch("/Users/%s" % bid, op("replace", "userName", fullwidth(b))))[
        "userName"] == fullwidth(b)


def test_scim_refuses_invisible_and_control_characters_in_user_names(api):
    for c in INVISIBLE + CONTROL:
        name = new_username("iv")
        body = err(api.post("/Users", user_body(name[:3] + c + name[3:], None)), 400,
                   "invalidValue")
        assert "userName" in body["detail"], body
    for c in INVISIBLE[:3]:
        err(api.post("/Users", user_body(new_username("iv") + c, None)), 400, "invalidValue")
    uid = ok(api.post("/Users", user_body(new_username("iv"), None)), 201)["id"]
    err(api.patch("/Users/%s" % uid, op("replace", "userName", "x\u200by")), 400, "invalidValue")
    err(api.put("/Users/%s" % uid, user_body("\u202eevil", None)), 400, "invalidValue")


def test_scim_stores_user_names_trimmed(api):
    name = new_username("tr")
    res = ok(api.post("/Users", user_body(" \u3000%s\u00a0 " % name)), 201)
    assert res["userName"] == name
    assert api.user(res["id"])["userName"] == name


# ---------------------------------------------------------------- the CLI (rows 77, 78)

def test_cli_user_add_refuses_another_spelling_of_a_taken_name(db):
    cli_ok(["user", "add", "alice"], db=db)
    for other in (fullwidth("alice"), fullwidth("ALICE"), "alice\u3000"):
        r = run_cli(["user", "add", other], db=db)
        assert r.rc == 1, r
        assert "is taken" in r.stderr, r
    assert [u["username"] for u in cli_ok(["user", "list"], db=db)] == ["alice"]


def test_cli_user_add_refuses_invisible_and_control_characters(db):
    for c in INVISIBLE + CONTROL:
        r = run_cli(["user", "add", "bo" + c + "b"], db=db)
        assert r.rc == 1, (repr(c), r)
        assert "invalid username" in r.stderr, r
    assert cli_ok(["user", "list"], db=db) == []


def test_cli_user_commands_reach_the_user_by_any_spelling(db):
    uid = cli_ok(["user", "add", " carol "], db=db)["id"]
    assert cli_ok(["user", "show", "carol"], db=db)["username"] == "carol"
    assert cli_ok(["user", "show", fullwidth("CAROL")], db=db)["id"] == uid
    assert cli_ok(["user", "disable", "carol\u200b"], db=db)["active"] is False
    cli_ok(["user", "rm", fullwidth("Carol")], db=db)
    assert cli_ok(["user", "list"], db=db) == []


def test_cli_client_add_refuses_ids_made_only_of_digits(db):
    for cid in ("1", "007", "12345678901234567890"):
        r = run_cli(["client", "add", cid], db=db)
        assert r.rc == 1, r
        assert "digits" in r.stderr, r
        assert run_cli(["client", "show", cid], db=db).rc == 1
    for cid in ("1a", "a1", "1.0"):
        assert cli_ok(["client", "add", cid], db=db)["client_id"] == cid


# ---------------------------------------------------------------- the login page (row 77)

def test_login_by_another_spelling_reaches_the_one_account(srv, api):
    name = new_username("lg")
    uid = ok(api.post("/Users", user_body(name)), 201)["id"]
    for typed in (name, fullwidth(name.upper()), name + "\u200b", " %s\u3000" % name):
        tokens = code_flow(srv, srv.clients["app"], typed, PW, redirect_uri=CB).tokens
        _, claims = jwt_parts(tokens["id_token"])
        assert claims["sub"] == uid, (typed, claims)
    # another letter is another name, even one that looks the same (Cyrillic а)
    r = UserAgent(srv).run(auth_request("app", CB, scope="openid", pkce=PKCE()),
                           username=name[:-1] + "\u0430", password=PW)
    assert r.status_code == 401 and Page(r).has_form("/login"), r.status_code
