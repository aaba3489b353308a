"""The `tessera` CLI: every command, its JSON output, its exit codes, and no secret ever shown."""
import base64
import os
import re

import pytest

from tessera_harness import run_cli, cli_ok

CLIENT_KEYS = {"client_id", "name", "public", "redirect_uris", "grant_types", "scope",
               "refresh_rotation", "refresh_grace", "active", "created_at"}


@pytest.fixture
def db(tdir):
    p = os.path.join(tdir, "cli.db")
    out = cli_ok(["init"], db=p)
    return p


def assert_no_secret_fields(obj, secrets=()):
    text = repr(obj)
    for s in secrets:
        assert s not in text, "secret leaked in %r" % (obj,)

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                kl = k.lower()
                if not isinstance(v, bool):
                    assert "secret" not in kl and "hash" not in kl and "password" not in kl \
                        and kl != "pem", "field %r in %r" % (k, obj)
                walk(v)
        elif isinstance(o, str):
            assert not o.startswith("$argon2") and not re.fullmatch(r"[0-9a-fA-F]{64}", o), obj
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(obj)


def assert_one_error_line(r):
    assert r.stdout.strip() == "", "stdout on error: %r" % (r,)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "expected one stderr line: %r" % (r,)


# ---------------------------------------------------------------- init

def test_init_prints_db_schema_version_and_kid(tdir):
    p = os.path.join(tdir, "x.db")
    out = cli_ok(["init"], db=p)
    assert out["db"] == p
    assert isinstance(out["schema_version"], int) and out["schema_version"] >= 1
    assert isinstance(out["kid"], str) and out["kid"]
    assert os.path.exists(p)


def test_init_is_idempotent_and_keeps_the_key(tdir):
    p = os.path.join(tdir, "x.db")
    a = cli_ok(["init"], db=p)
    c = cli_ok(["client", "add", "keepme"], db=p)
    b = cli_ok(["init"], db=p)
    assert a["kid"] == b["kid"]
    assert a["schema_version"] == b["schema_version"]
    keys = cli_ok(["key", "list"], db=p)
    assert len(keys) == 1
    assert cli_ok(["client", "show", "keepme"], db=p)["client_id"] == "keepme"
    assert c["client_secret"]


def test_init_without_db_flag_uses_tessera_db_in_cwd(tdir):
    r = run_cli(["init"], cwd=tdir)
    assert r.rc == 0, r
    assert os.path.exists(os.path.join(tdir, "tessera.db"))


# ---------------------------------------------------------------- client add

def test_client_add_confidential_prints_id_and_256_bit_base64url_secret(db):
    out = cli_ok(["client", "add", "dev1"], db=db)
    assert set(out) == {"client_id", "client_secret"}
    assert out["client_id"] == "dev1"
    s = out["client_secret"]
    assert len(s) == 43 and re.fullmatch(r"[A-Za-z0-9_-]{43}", s), s
    assert len(base64.urlsafe_b64decode(s + "=")) == 32


def test_client_secrets_are_distinct(db):
    secrets = {cli_ok(["client", "add", "c%d" % i], db=db)["client_secret"] for i in range(5)}
    assert len(secrets) == 5


def test_client_add_public_has_no_secret_key_and_defaults_to_authorization_code(db):
    out = cli_ok(["client", "add", "app1", "--public", "--redirect-uri",
                  "http://127.0.0.1:9/cb"], db=db)
    assert out == {"client_id": "app1"}
    show = cli_ok(["client", "show", "app1"], db=db)
    assert show["public"] is True
    assert show["grant_types"] == ["authorization_code"]


def test_client_add_confidential_defaults_to_client_credentials(db):
    cli_ok(["client", "add", "dev2"], db=db)
    show = cli_ok(["client", "show", "dev2"], db=db)
    assert show["public"] is False
    assert show["grant_types"] == ["client_credentials"]
    assert show["active"] is True


def test_client_add_all_options_are_shown_back(db):
    out = cli_ok(["client", "add", "full", "--name", "Full Client",
                  "--redirect-uri", "https://a.example/cb", "--redirect-uri", "https://b.example/cb",
                  "--grant", "authorization_code", "--grant", "refresh_token",
                  "--scope", "mqtt:pub:dev/${clientid}/# openid",
                  "--refresh-rotation", "off", "--refresh-grace", "30"], db=db)
    secret = out["client_secret"]
    show = cli_ok(["client", "show", "full"], db=db)
    assert set(show) >= CLIENT_KEYS, show
    assert show["client_id"] == "full"
    assert show["name"] == "Full Client"
    assert show["public"] is False
    assert show["redirect_uris"] == ["https://a.example/cb", "https://b.example/cb"]
    assert sorted(show["grant_types"]) == ["authorization_code", "refresh_token"]
    assert show["scope"] == "mqtt:pub:dev/${clientid}/# openid"
    assert show["refresh_rotation"] is False
    assert show["refresh_grace"] == 30
    assert show["active"] is True
    assert isinstance(show["created_at"], int) and show["created_at"] > 1600000000
    assert_no_secret_fields(show, [secret])


def test_client_add_bad_scope_exits_1_naming_the_token(db):
    r = run_cli(["client", "add", "bad", "--scope", "mqtt:sub:ok/# mqtt:pub:a/#/b"], db=db)
    assert r.rc == 1, r
    assert "mqtt:pub:a/#/b" in r.stderr, r
    assert_one_error_line(r)
    assert run_cli(["client", "show", "bad"], db=db).rc == 1


def test_client_add_duplicate_id_exits_1(db):
    first = cli_ok(["client", "add", "dup"], db=db)
    r = run_cli(["client", "add", "dup"], db=db)
    assert r.rc == 1, r
    assert_one_error_line(r)
    assert first["client_secret"] not in r.stderr


def test_client_list_is_an_array_of_client_objects_without_secrets(db):
    s1 = cli_ok(["client", "add", "l1"], db=db)["client_secret"]
    s2 = cli_ok(["client", "add", "l2", "--scope", "introspect"], db=db)["client_secret"]
    r = run_cli(["client", "list"], db=db)
    assert r.rc == 0, r
    lst = r.json()
    assert isinstance(lst, list)
    ids = [c["client_id"] for c in lst]
    assert "l1" in ids and "l2" in ids
    for c in lst:
        assert set(c) >= CLIENT_KEYS
    assert s1 not in r.stdout and s2 not in r.stdout
    assert_no_secret_fields(lst)


def test_client_list_on_empty_db_is_empty_array(db):
    assert cli_ok(["client", "list"], db=db) == []


def test_client_show_unknown_exits_1(db):
    r = run_cli(["client", "show", "nobody"], db=db)
    assert r.rc == 1, r
    assert_one_error_line(r)


def test_client_rm_prints_removed_and_client_is_gone(db):
    cli_ok(["client", "add", "gone"], db=db)
    assert cli_ok(["client", "rm", "gone"], db=db) == {"removed": "gone"}
    assert run_cli(["client", "show", "gone"], db=db).rc == 1
    r = run_cli(["client", "rm", "gone"], db=db)
    assert r.rc == 1, r
    assert_one_error_line(r)


def test_client_disable_and_enable_print_the_client_object(db):
    secret = cli_ok(["client", "add", "toggle"], db=db)["client_secret"]
    d = cli_ok(["client", "disable", "toggle"], db=db)
    assert d["client_id"] == "toggle" and d["active"] is False
    assert cli_ok(["client", "show", "toggle"], db=db)["active"] is False
    e = cli_ok(["client", "enable", "toggle"], db=db)
    assert e["client_id"] == "toggle" and e["active"] is True
    assert_no_secret_fields(d, [secret])
    assert_no_secret_fields(e, [secret])


def test_client_disable_unknown_exits_1(db):
    assert run_cli(["client", "disable", "nobody"], db=db).rc == 1
    assert run_cli(["client", "enable", "nobody"], db=db).rc == 1


def test_client_id_with_special_characters_round_trips(db):
    cid = "dev:1 %/+#"
    out = cli_ok(["client", "add", cid], db=db)
    assert out["client_id"] == cid
    assert cli_ok(["client", "show", cid], db=db)["client_id"] == cid


# ---------------------------------------------------------------- users

def test_user_add_reads_password_from_stdin_and_never_prints_it(db):
    pw = "correct horse battery staple 42"
    r = run_cli(["user", "add", "alice", "--password-stdin", "--scope", "mqtt:sub:home/${username}/#",
                 "--email", "alice@example.org", "--name", "Alice A."], db=db, input=pw + "\n")
    assert r.rc == 0, r
    out = r.json()
    assert isinstance(out["id"], int)
    assert out["username"] == "alice"
    assert pw not in r.stdout and pw not in r.stderr
    assert_no_secret_fields(out)
    show = cli_ok(["user", "show", "alice"], db=db)
    assert show["username"] == "alice"
    assert show["id"] == out["id"]
    assert show.get("email") == "alice@example.org"
    assert show.get("name") == "Alice A."
    assert show.get("scope") == "mqtt:sub:home/${username}/#"
    assert_no_secret_fields(show)
    assert "$argon2" not in repr(show)


def test_user_list_passwd_and_rm(db):
    cli_ok(["user", "add", "bob", "--password-stdin"], db=db, input="first-password\n")
    cli_ok(["user", "add", "carol", "--password-stdin"], db=db, input="other-password\n")
    r = run_cli(["user", "list"], db=db)
    assert r.rc == 0, r
    users = r.json()
    assert isinstance(users, list)
    assert {"bob", "carol"} <= {u["username"] for u in users}
    assert "$argon2" not in r.stdout
    assert "first-password" not in r.stdout and "other-password" not in r.stdout
    assert_no_secret_fields(users)
    r = run_cli(["user", "passwd", "bob"], db=db, input="second-password\n")
    assert r.rc == 0, r
    assert "second-password" not in r.stdout + r.stderr
    rm = run_cli(["user", "rm", "bob"], db=db)
    assert rm.rc == 0, rm
    assert run_cli(["user", "show", "bob"], db=db).rc == 1
    assert run_cli(["user", "rm", "bob"], db=db).rc == 1
    assert run_cli(["user", "passwd", "bob"], db=db, input="x-password\n").rc == 1


def test_user_add_duplicate_exits_1(db):
    cli_ok(["user", "add", "dave", "--password-stdin"], db=db, input="pw-one-two-three\n")
    r = run_cli(["user", "add", "dave", "--password-stdin"], db=db, input="pw-one-two-three\n")
    assert r.rc == 1, r
    assert_one_error_line(r)


def test_user_names_are_unique_case_insensitively(db):
    cli_ok(["user", "add", "erin", "--password-stdin"], db=db, input="pw-one-two-three\n")
    r = run_cli(["user", "add", "ERIN", "--password-stdin"], db=db, input="pw-one-two-three\n")
    assert r.rc == 1, r


def test_user_show_unknown_exits_1(db):
    r = run_cli(["user", "show", "nobody"], db=db)
    assert r.rc == 1, r
    assert_one_error_line(r)


# ---------------------------------------------------------------- keys

def test_key_rotate_and_list_newest_first_with_one_signing_key(db):
    before = cli_ok(["key", "list"], db=db)
    assert len(before) == 1 and before[0]["signing"] is True and before[0]["retired_at"] is None
    rot = cli_ok(["key", "rotate"], db=db)
    assert set(rot) >= {"kid", "alg"}
    assert rot["alg"] == "ES256"
    assert rot["kid"] != before[0]["kid"]
    keys = cli_ok(["key", "list"], db=db)
    assert [k["kid"] for k in keys] == [rot["kid"], before[0]["kid"]]
    for k in keys:
        assert set(k) >= {"kid", "alg", "created_at", "retired_at", "signing"}
        assert "pem" not in k and "d" not in k and "PRIVATE" not in repr(k)
    assert keys[0]["signing"] is True and keys[0]["retired_at"] is None
    assert keys[1]["signing"] is False and isinstance(keys[1]["retired_at"], int)
    assert keys[0]["created_at"] >= keys[1]["created_at"]


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["client"],
    ["client", "frobnicate"],
    ["client", "add"],
    ["client", "add", "x", "--no-such-flag"],
    ["client", "show"],
    ["user"],
    ["user", "show"],
    ["key"],
    ["key", "explode"],
    ["init", "--bogus"],
    ["serve", "--bogus"],
], ids=lambda a: "_".join(a) or "no_args")
def test_usage_error_exits_2_with_one_stderr_line(db, args):
    r = run_cli(args + ["--db", db])
    assert r.rc == 2, r
    assert r.stderr.strip(), r
    assert r.stdout.strip() == "", r


def test_missing_flag_value_is_a_usage_error(db):
    r = run_cli(["client", "add", "x", "--db"])
    assert r.rc == 2, r


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_row112_a_postgresql_uris_password_is_never_shown(tdir, scheme):
    """docs/security.md row 112: a --db URI naming PostgreSQL (here one that cannot be reached)
    is tried as PostgreSQL, not created as a file, and its password is shown as ***."""
    uri = "%s://tessera:s3cret-pw@/tessera?host=%s/nowhere&connect_timeout=2" % (scheme, tdir)
    r = run_cli(["init"], db=uri, cwd=tdir)
    assert r.rc == 1, r
    assert "s3cret-pw" not in r.stdout + r.stderr, r
    assert "tessera:***@" in r.stderr, r
    assert os.listdir(tdir) == [], os.listdir(tdir)
