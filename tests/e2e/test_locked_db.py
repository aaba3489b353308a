"""A database locked by someone else (a backup, the CLI, an operator's sqlite3 shell) gives
bounded 503s, never a hang, and the daemon recovers by itself (issue 9, "Crash safety and load").

The lock is a second connection on the same file holding BEGIN EXCLUSIVE (in WAL mode that keeps
writers out while readers go on). Every request that writes (code redemption, refresh-token
rotation, revocation, device authorization, SCIM POST, the /authorize and /login pages) must
answer 503 temporarily_unavailable with Retry-After within the bound: the writer waits
busy_timeout_ms for the lock, and a request that queued behind a batch that was already waiting
waits for that batch and its own, so 2 x busy_timeout_ms plus slack (3 s: the test machine is
shared). Requests that only read keep working at once. After the lock is released the same requests succeed, with no restart:
the code and the refresh token that got a 503 were not used up by it."""
import os
import sqlite3
import subprocess
import threading
import time

import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, ERROR, SCIM_JSON, Scim
from tessera_harness import (PKCE, UserAgent, auth_request, code_flow, idp_user, is_login_page,
                             new_username, redirect_params, run_cli, t, token_ok)

# SQLite's own locks (a second connection holding the file, the sqlite3 shell, its backup API); on
# PostgreSQL the same bound is tests/unit/test_db_pg.c's test_write_lock
pytestmark = pytest.mark.sqlite_only("SQLite's file locks and its shell")

CB = "https://rp.example/cb"
BUSY_MS = 1000
BOUND = t(2 * BUSY_MS / 1000.0 + 3.0)      # the longest any answer may take while locked
READ_BOUND = t(BUSY_MS / 1000.0 / 2)       # reads must not wait for the lock at all
CLIENTS = ADMIN_CLIENTS + [
    dict(client_id="app", grants=["authorization_code", "refresh_token"], redirect_uris=[CB],
         scope="openid profile", name="App"),
    dict(client_id="tv", grants=["device_code"], scope="openid", name="TV"),
]
CONFIG = {"database": {"busy_timeout_ms": BUSY_MS}}


class Lock:
    """BEGIN EXCLUSIVE on the daemon's database from another connection (python's sqlite3)."""

    def __init__(self, db):
        self.con = sqlite3.connect(db, timeout=t(5), isolation_level=None)
        mode = self.con.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal", mode
        self.con.execute("BEGIN EXCLUSIVE")
        # a write of its own, as a backup or CLI transaction would have pending
        self.con.execute("UPDATE clients SET name = name WHERE client_id = 'app'")

    def release(self):
        self.con.execute("ROLLBACK")
        self.con.close()


@pytest.fixture
def srv(fresh_factory):
    return fresh_factory.start(config=CONFIG, clients=CLIENTS, name="locked")


class Ready:
    """What the writes need, made before the lock: a code to redeem, a refresh token to rotate,
    an access token to revoke, the SCIM admin token, a browser with a session, a user."""

    def __init__(self, srv):
        self.srv = srv
        self.app = srv.clients["app"]
        self.user = idp_user(srv, scope="")
        login = code_flow(srv, self.app, self.user[0], self.user[1], redirect_uri=CB,
                          scope="openid")
        self.agent = login.agent
        self.refresh = login.tokens["refresh_token"]
        self.access = login.tokens["access_token"]
        self.pkce = PKCE()
        r = self.agent.run(auth_request("app", CB, scope="openid", pkce=self.pkce))
        self.code = redirect_params(r)["code"]
        self.scim = Scim(srv)
        self.new_user = new_username("locked")

    # each write: a function making the request, and the statuses that mean it worked
    def writes(self):
        srv = self.srv
        return {
            "code redemption": (lambda: srv.redeem(self.app, self.code, self.pkce.verifier, CB),
                                (200,)),
            "rotation": (lambda: srv.refresh(self.app, self.refresh), (200,)),
            "revocation": (lambda: srv.revoke(self.app, self.access), (200,)),
            "device authorization": (lambda: srv.device_authorization(
                srv.clients["tv"], scope="openid"), (200,)),
            "SCIM POST": (lambda: self.scim.post("/Users", {"schemas": [CORE_USER],
                                                            "userName": self.new_user}), (201,)),
            "authorize": (lambda: self.agent.authorize(auth_request(
                "app", CB, scope="openid", pkce=PKCE())), (303,)),
            "login": (self.login, (303,)),
        }

    def login(self):
        """A sign-in on a fresh browser: writes a session."""
        agent = UserAgent(self.srv)
        r = agent.authorize(auth_request("app", CB, scope="openid", pkce=PKCE()))
        assert is_login_page(r), (r.status_code, r.text[:300])
        return agent.login(r, self.user[0], self.user[1])

    def reads(self):
        srv = self.srv
        admin = srv.clients["admin"]
        return {
            "introspection": (lambda: srv.introspect(admin, self.access), 200),
            "SCIM GET": (lambda: self.scim.get("/Users"), 200),
            "client credentials": (lambda: srv.token(admin, scope="scim"), 200),
            "userinfo": (lambda: srv.userinfo(self.access), 200),
            "JWKS": (lambda: srv.get("/jwks"), 200),
            "discovery": (lambda: srv.get("/.well-known/openid-configuration"), 200),
        }


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def check_503(name, r, took):
    assert took <= BOUND, "%s took %.2f s while locked (bound %.2f s)" % (name, took, BOUND)
    assert r.status_code == 503, "%s while locked: %s %s" % (name, r.status_code, r.text[:300])
    ra = r.headers.get("Retry-After", "")
    assert ra.isdigit() and 0 < int(ra) <= 10, "%s: Retry-After %r" % (name, ra)
    ctype = r.headers.get("Content-Type", "").split(";")[0].strip()
    if name.startswith("SCIM"):
        assert ctype == SCIM_JSON, (name, r.headers)
        body = r.json()
        assert body.get("schemas") == [ERROR] and body.get("status") == "503", body
    elif name in ("authorize", "login"):
        assert ctype == "text/html", (name, r.headers)
    else:
        assert ctype == "application/json", (name, r.headers)
        assert r.json().get("error") == "temporarily_unavailable", (name, r.text)
        assert r.headers.get("Cache-Control") == "no-store", (name, r.headers)


def in_threads(calls):
    """Runs every {name: fn} at once; returns {name: (response or exception, seconds)}."""
    out = {}

    def one(name, fn):
        t0 = time.monotonic()
        try:
            out[name] = (fn(), time.monotonic() - t0)
        except Exception as e:  # a timeout: reported by the caller as a hang
            out[name] = (e, time.monotonic() - t0)

    ths = [threading.Thread(target=one, args=kv) for kv in calls.items()]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=t(30))
    assert not any(th.is_alive() for th in ths), "a request hung"
    return out


def test_writes_get_bounded_503_reads_go_on_and_all_recovers(srv):
    ready = Ready(srv)
    pid = srv.proc.pid
    lock = Lock(srv.db)
    try:
        # all the writes at once: some queue behind a batch already waiting for the lock
        res = in_threads({k: fn for k, (fn, _ok) in ready.writes().items()})
        for name, (r, took) in res.items():
            assert not isinstance(r, Exception), "%s: %r after %.2f s" % (name, r, took)
            check_503(name, r, took)
        for name, (fn, status) in ready.reads().items():
            r, took = timed(fn)
            assert r.status_code == status, "%s while locked: %s %s" % (
                name, r.status_code, r.text[:300])
            assert took <= READ_BOUND, "%s took %.2f s while locked" % (name, took)
    finally:
        lock.release()
    assert srv.proc.poll() is None and srv.proc.pid == pid
    for name, (fn, ok) in ready.writes().items():
        r, took = timed(fn)
        assert r.status_code in ok, "%s after the lock: %s %s" % (name, r.status_code,
                                                                  r.text[:300])
        assert took < t(2), "%s after the lock took %.2f s" % (name, took)
    # the 503s used nothing up: the same code and refresh token worked above (a spent token
    # would have been refused as a reuse), and now the rotated-away token is spent
    assert srv.is_active(srv.clients["admin"], ready.refresh) is False


def test_lock_held_past_the_bound_keeps_answering(srv):
    """While a lock outlasts several busy timeouts, each write is answered within the bound;
    the first write after the release succeeds."""
    ready = Ready(srv)
    rotate = ready.writes()["rotation"][0]
    lock = Lock(srv.db)
    held_until = time.monotonic() + t(3 * BUSY_MS / 1000.0)
    answers = []
    try:
        while time.monotonic() < held_until:
            r, took = timed(rotate)
            check_503("rotation", r, took)
            answers.append(took)
    finally:
        lock.release()
    assert len(answers) >= 2, answers
    token_ok(rotate())


def test_fresh_daemon_reads_while_locked(fresh_factory):
    """The worker threads open their own connections on first use: that works under a lock."""
    srv = fresh_factory.start(config=CONFIG, clients=CLIENTS, name="locked-fresh")
    lock = Lock(srv.db)
    try:
        admin = srv.clients["admin"]
        for _ in range(20):     # spread over many worker threads
            r, took = timed(lambda: srv.token(admin, scope="scim introspect"))
            assert r.status_code == 200 and took <= READ_BOUND, (r.status_code, took, r.text)
        tok = r.json()["access_token"]
        r, took = timed(lambda: srv.introspect(admin, tok))
        assert r.json().get("active") is True and took <= READ_BOUND, (took, r.text)
    finally:
        lock.release()


def test_cli_waits_bounded_and_daemon_writes_during_cli_lock(srv):
    """The tessera CLI meets the lock with a clear error after its busy timeout; an sqlite3
    shell holding a write transaction makes the daemon answer 503 only while it holds it."""
    lock = Lock(srv.db)
    try:
        t0 = time.monotonic()
        r = run_cli(["client", "add", "late", "--grant", "client_credentials"], db=srv.db)
        took = time.monotonic() - t0
    finally:
        lock.release()
    assert r.rc != 0 and "locked" in r.stderr, r
    assert took <= t(10), took
    assert run_cli(["client", "add", "late", "--grant", "client_credentials"], db=srv.db).rc == 0

    ready = Ready(srv)
    shell = subprocess.Popen(["sqlite3", srv.db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    shell.stdin.write(".timeout 5000\nBEGIN IMMEDIATE;\n"
                      "UPDATE clients SET name = name WHERE client_id = 'app';\n"
                      "SELECT 'locked';\n")
    shell.stdin.flush()
    assert shell.stdout.readline().strip() == "locked"
    try:
        r, took = timed(ready.writes()["device authorization"][0])
        check_503("device authorization", r, took)
    finally:
        shell.stdin.write("COMMIT;\n.quit\n")
        shell.stdin.close()
        assert shell.wait(timeout=t(10)) == 0, shell.stderr.read()
    r = ready.writes()["device authorization"][0]()
    assert r.status_code == 200, r.text


def test_backup_while_writing(srv, tdir):
    """sqlite3's .backup (the backup API) of the live database: the daemon's writes go on, and
    the copy is whole."""
    ready = Ready(srv)
    out = os.path.join(tdir, "backup.db")
    stop = threading.Event()
    statuses = []

    def write():
        # statuses and exceptions are collected, asserted in the main thread
        while not stop.is_set():
            try:
                statuses.append(srv.device_authorization(srv.clients["tv"], scope="openid")
                                .status_code)
            except Exception as e:  # noqa: BLE001 - a timeout or a reset, reported below
                statuses.append(repr(e))
                return

    th = threading.Thread(target=write)
    th.start()
    try:
        for _ in range(3):
            p = subprocess.run(["sqlite3", srv.db, ".timeout 5000", ".backup '%s'" % out],
                               capture_output=True, text=True, timeout=t(30))
            assert p.returncode == 0, p.stderr
    finally:
        stop.set()
        th.join(timeout=t(30))
    assert not th.is_alive(), "a device authorization never finished"
    assert statuses and set(statuses) == {200}, statuses
    con = sqlite3.connect(out)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("SELECT count(*) FROM clients").fetchone()[0] == len(CLIENTS)
    finally:
        con.close()
    token_ok(ready.writes()["rotation"][0]())
