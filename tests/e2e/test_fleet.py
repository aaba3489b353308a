"""Several nodes over one database behave as one (issue 23, "Several nodes behave as one";
docs/nodes.md; docs/security.md rows 120-126).

Two daemons, A and B, on different ports over one database (ServerFactory.peer: the same SQLite
file here, the harness's PostgreSQL database under `make test-pg`), with one issuer as behind a
load balancer. What one node issues, the other honours; what one node changes, the other sees
within a second; the guessing limits count once for both; forms and device polls cross nodes;
signing keys are created once and published everywhere before they sign; and one node killed
with SIGKILL under write load leaves the other answering and nothing acknowledged lost."""
import argparse
import os
import random
import signal
import sys
import threading
import time

import pytest

from scim_client import Scim, op
from tessera_harness import (PKCE, INACTIVE, Client, Page, UserAgent, auth_request, cli_ok,
                             device_path, free_port, http_timeout, idp_user, is_login_page,
                             jwt_parts, random_user_code, redirect_params, refresh_login,
                             session_from, t, token_error, verify_jwt, wait_for)
from harness_daemon import db_is_pg, psql

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "crash"))

from crash_test import CrashRun  # noqa: E402
from crashload import CB as CRASH_CB, PW as CRASH_PW, SCOPE as CRASH_SCOPE, Model, Worker  # noqa: E402,E501

CB = "http://127.0.0.1:9/cb"
# what "within a second" allows on a loaded machine: the claim, and the slack for scheduling
WITHIN = 1.0 + t(0.5)

CLIENTS = [
    dict(client_id="web", public=True, grants=["authorization_code", "refresh_token"],
         redirect_uris=[CB], scope="openid mqtt:sub:#"),
    dict(client_id="dev", scope="telemetry"),
    dict(client_id="rs", scope="introspect"),
    dict(client_id="admin", scope="scim"),
    dict(client_id="tv", public=True, grants=["device_code"], scope="mqtt:sub:#"),
]


def pair(factory, name):
    """A started, and B over A's database started too."""
    a = factory.start(clients=CLIENTS, name=name + "-a")
    b = factory.peer(a, name=name + "-b").start()
    return a, b


@pytest.fixture(scope="module")
def fleet(server_factory):
    return pair(server_factory, "fleet")


def wrong(c):
    return Client(c.id, c.secret[:-1] + ("A" if c.secret[-1] != "A" else "B"))


# ---------------------------------------------------------------- tokens and changes


def test_token_issued_on_a_introspects_on_b_and_revoked_on_b_is_inactive_on_a(fleet):
    """docs/security.md row 125."""
    a, b = fleet
    dev, rs = a.clients["dev"], a.clients["rs"]
    tok = a.access_token(dev)
    got = b.introspection(rs, tok)
    assert got["active"] is True and got["client_id"] == "dev", got
    assert b.revoke(dev, tok).status_code == 200
    assert a.introspection(rs, tok) == INACTIVE


def test_client_disabled_through_a_is_refused_by_b_within_a_second(fleet):
    """Through A's SCIM API; B refuses the client's token requests and its tokens within a
    second (its client cache drops on the change). docs/security.md row 125."""
    a, b = fleet
    a.add_client("dev-off", scope="telemetry")
    dev, rs = a.clients["dev-off"], a.clients["rs"]
    tok = b.access_token(dev)          # B knows (and caches) the client
    assert b.is_active(rs, tok) is True
    r = Scim(a).patch("/Clients/dev-off", op("replace", "active", False))
    assert r.status_code == 200, r.text
    t0 = time.monotonic()
    refused = wait_for(lambda: b.token(dev).status_code == 401, within=WITHIN, step=0.02,
                       stretch=False)
    took = time.monotonic() - t0
    assert refused, "B still issues tokens to a client disabled on A %.2f s later" % took
    assert b.introspection(rs, tok) == INACTIVE


def test_grant_revoked_and_user_disabled_through_a_reach_b_within_a_second(fleet):
    """docs/security.md row 125."""
    a, b = fleet
    web, rs = a.clients["web"], a.clients["rs"]
    login, (name, _pw, _uid) = refresh_login(a, web, CB, scope="openid mqtt:sub:#")
    tok, rt = login.tokens["access_token"], login.tokens["refresh_token"]
    assert b.is_active(rs, tok) is True
    gid = jwt_parts(tok)[1]["gid"]
    assert Scim(a).delete("/Grants/%d" % gid).status_code == 204
    assert wait_for(lambda: b.introspection(rs, tok) == INACTIVE, within=WITHIN, step=0.02,
                    stretch=False)
    assert token_error(b.refresh(web, rt)) == "invalid_grant"
    # a user disabled through A: B refuses the user's refresh token
    login, (name, _pw, uid) = refresh_login(a, web, CB, scope="openid")
    rt = login.tokens["refresh_token"]
    r = Scim(a).patch("/Users/%s" % uid, op("replace", "active", False))
    assert r.status_code == 200, r.text
    assert wait_for(lambda: b.refresh(web, rt).status_code == 400, within=WITHIN, step=0.02,
                    stretch=False)


def test_refresh_token_reuse_across_nodes_is_detected(fleet):
    """Rotated on A, the old refresh token replayed on B: reuse, the grant revoked everywhere.
    docs/security.md row 125."""
    a, b = fleet
    web, rs = a.clients["web"], a.clients["rs"]
    login, _user = refresh_login(a, web, CB)
    old = login.tokens["refresh_token"]
    r = a.refresh(web, old)
    assert r.status_code == 200, r.text
    new = r.json()["refresh_token"]
    assert token_error(b.refresh(web, old)) == "invalid_grant"
    assert a.introspection(rs, new) == INACTIVE
    assert token_error(a.refresh(web, new)) == "invalid_grant"


# ---------------------------------------------------------------- forms and limits


def test_login_form_from_a_posted_to_b(fleet):
    """The CSRF key is the store's: B takes the form A served. docs/security.md row 120."""
    a, b = fleet
    name, pw, _uid = idp_user(a)
    agent = UserAgent(a)
    r = agent.authorize(auth_request("web", CB, scope="openid", state="s", pkce=PKCE()))
    assert is_login_page(r), (r.status_code, r.text[:300])
    f = Page(r).form("/login")
    on_b = UserAgent(b)
    on_b.cookies = dict(agent.cookies)
    r = on_b.post("/login", f.data({"username": name, "password": pw}))
    assert r.status_code == 303, (r.status_code, r.text[:300])
    # the session B made serves A's consent page, whose form B takes: a code
    agent.cookies = dict(on_b.cookies)
    r = agent.follow(r)
    assert r.status_code == 200 and Page(r).has_form("/consent"), (r.status_code, r.text[:300])
    f = Page(r).form("/consent")
    on_b.cookies = dict(agent.cookies)
    r = on_b.post("/consent", f.data(None, (), ("decision", "allow")))
    assert "code" in redirect_params(r), (r.status_code, r.headers.get("Location"))


def login_attempt(srv, form, username, password):
    url, f, cookies = form
    agent = UserAgent(srv)
    agent.cookies = dict(cookies)
    return agent.post(url, f.data({"username": username, "password": password}))


def test_login_limit_is_shared_not_multiplied(fresh_factory):
    """Five wrong passwords for one user in all, alternating between A and B, then both answer
    429: two nodes do not make ten. docs/security.md row 121."""
    a, b = pair(fresh_factory, "login-limit")
    name, _pw, _uid = idp_user(a)
    agent = UserAgent(a)
    r = agent.authorize(auth_request("web", CB, scope="openid", state="s", pkce=PKCE()))
    form = ("/login", Page(r).form("/login"), agent.cookies)
    codes = [login_attempt((a, b)[i % 2], form, name, "wrong %d" % i).status_code
             for i in range(5)]
    assert codes == [401] * 5, codes
    assert login_attempt(b, form, name, "wrong").status_code == 429
    assert login_attempt(a, form, name, "wrong").status_code == 429


def test_user_code_limit_is_shared_not_multiplied(fresh_factory):
    """Five wrong user codes from one address in all, across A and B, then 429 on both.
    docs/security.md row 121."""
    a, b = pair(fresh_factory, "code-limit")

    def look(srv):
        with session_from("127.0.0.3") as s:
            return s.get(srv.url(device_path(random_user_code())), timeout=http_timeout(),
                         allow_redirects=False)
    codes = [look((a, b)[i % 2]).status_code for i in range(5)]
    assert codes == [400] * 5, codes
    assert look(a).status_code == 429
    assert look(b).status_code == 429


def test_client_secret_limit_is_shared(fresh_factory):
    """Ten wrong secrets for one client from one address in all, across A and B, then 429 on
    both; the right secret still gets in. docs/security.md row 121."""
    a, b = pair(fresh_factory, "secret-limit")
    dev = a.clients["dev"]
    codes = [(a, b)[i % 2].token(wrong(dev)).status_code for i in range(10)]
    assert codes == [401] * 10, codes
    assert a.token(wrong(dev)).status_code == 429
    assert b.token(wrong(dev)).status_code == 429
    assert b.token(dev).status_code == 200


def test_device_poll_too_soon_on_the_other_node_is_slow_down(fleet):
    """The last poll is the database's: polled on A, polled again at once on B, slow_down.
    docs/security.md row 122."""
    a, b = fleet
    tv = a.clients["tv"]
    dc = a.device_start(tv)["device_code"]
    assert token_error(a.device_poll(tv, dc)) == "authorization_pending"
    assert token_error(b.device_poll(tv, dc)) == "slow_down"
    assert token_error(a.device_poll(tv, dc)) == "slow_down"


# ---------------------------------------------------------------- signing keys


def test_two_nodes_starting_on_an_empty_database_make_one_key(fresh_factory):
    """Started together on a database no `tessera init` made, several times over: one signing
    key each time, and both sign with it. docs/security.md row 124."""
    for round_ in range(3):
        a = fresh_factory.new(name="empty-%d-a" % round_)
        b = fresh_factory.peer(a, name="empty-%d-b" % round_)
        started, ports = [None, None], [free_port(), free_port()]
        a.port = ports[0]       # B's issuer is A's address, known before either starts

        def go(i, s):
            try:
                s.start(init=False, port=ports[i])
                started[i] = True
            except Exception as e:      # asserted below, in the main thread
                started[i] = e
        threads = [threading.Thread(target=go, args=(i, s)) for i, s in enumerate((a, b))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=t(30))
        assert started == [True, True], started
        keys = cli_ok(["key", "list"], db=a.db)
        assert len(keys) == 1, keys
        a.add_client("dev", scope="x")
        kids = {jwt_parts(s.access_token(a.clients["dev"]))[0]["kid"] for s in (a, b)}
        assert kids == {keys[0]["kid"]}, (kids, keys)
        a.stop()
        b.stop()


def test_a_rotated_key_is_in_the_other_nodes_jwks_before_it_signs(fresh_factory):
    """After `tessera key rotate`, every token A signs verifies against the /jwks B served
    right after it: the new key is published on every node before any signs with it. Three
    rotations. docs/security.md row 124."""
    a, b = pair(fresh_factory, "rotation")
    dev = a.clients["dev"]
    for _ in range(3):
        new = cli_ok(["key", "rotate"], db=a.db)["kid"]
        deadline = time.monotonic() + t(3)
        while True:
            tok = a.access_token(dev)
            jwks = b.jwks()
            kid = jwt_parts(tok)[0]["kid"]
            assert kid in [k["kid"] for k in jwks["keys"]], \
                "A signed with %s, not yet in B's /jwks" % kid
            verify_jwt(tok, jwks)
            if kid == new:
                break
            assert time.monotonic() < deadline, "A never signed with the new key %s" % new
    # and B signs with it too (from its own next look, within 100 ms), verifying with A's /jwks
    tok = wait_for(lambda: (lambda tk: tk if jwt_parts(tk)[0]["kid"] == new else None)(
        b.access_token(dev)), within=1.0, step=0.02)
    assert tok, "B does not sign with the new key %s" % new
    verify_jwt(tok, a.jwks())


# ---------------------------------------------------------------- one node killed under load


class FleetCrash(CrashRun):
    """The crash test's load, kill and checks (tests/crash/crash_test.py) with two nodes: the
    load on A, A killed with SIGKILL, B answering all along; the checks through B."""

    def __init__(self, a, b):
        self.args = argparse.Namespace(seed=int(os.environ.get("SEED", 7)), workers=4,
                                       min_kill=0.4, max_kill=1.2, rounds=1)
        self.rng = random.Random(self.args.seed)
        self.model = Model()
        self.srv, self.other = a, b
        self.round = 1
        self.killed = threading.Event()
        self.violations = []
        self.pause = 0

    # the crash test reads the SQLite file itself; on PostgreSQL (make test-pg) the same facts
    # come through psql
    def integrity(self):
        if not db_is_pg(self.srv.db):
            return super().integrity()
        # PostgreSQL checks its own pages and every foreign key at each statement: what is left to
        # see is that no token outlived the grant it hangs from
        for table in ("refresh_tokens", "codes"):
            orphans = psql(self.srv.db, "SELECT count(*) FROM %s t LEFT JOIN grants g ON "
                           "g.id = t.grant_id WHERE g.id IS NULL" % table)
            if orphans != [["0"]]:
                self.fail("%s: rows without their grant: %r" % (table, orphans))

    def snapshot(self):
        if not db_is_pg(self.srv.db):
            return super().snapshot()

        def num(v):
            return None if v == "" else int(v)

        def rows(sql):
            return psql(self.srv.db, sql)
        return {
            "refresh": {bytes.fromhex(h): (num(g), num(used), num(exp)) for h, g, used, exp in rows(
                "SELECT encode(token_hash, 'hex'), grant_id, used_at, expires_at "
                "FROM refresh_tokens")},
            "grants": {int(i): num(r) for i, r in rows("SELECT id, revoked_at FROM grants")},
            "revocations": {j for (j,) in rows("SELECT jti FROM revocations")},
            "codes": {bytes.fromhex(h): (num(g), num(used)) for h, g, used in rows(
                "SELECT encode(code_hash, 'hex'), grant_id, used_at FROM codes")},
        }

    def setup(self):
        self.app = self.srv.add_client("app", grants=["authorization_code", "refresh_token"],
                                       redirect_uris=[CRASH_CB], scope=CRASH_SCOPE,
                                       name="Crash app")
        self.admin = self.srv.add_client("admin", grants=["client_credentials"],
                                         scope="scim introspect")
        self.dev = self.srv.add_client("dev", scope="telemetry")
        self.users = []
        for w in range(self.args.workers):
            name = "crash-user-%d" % w
            self.srv.add_user(name, CRASH_PW, scope="")
            self.users.append(name)
        r = self.srv.token(self.admin, scope="scim introspect")
        assert r.status_code == 200, r.text
        self.admin_token = r.json()["access_token"]

    def load_and_kill(self):
        """The crash test's, the kill at a random moment once the load has had some writes
        acknowledged (however slow the machine), rather than after a random time."""
        self.killed.clear()
        workers = [Worker(w, self, random.Random(self.rng.random()))
                   for w in range(self.args.workers)]
        for w in workers:
            w.start()
        acked = wait_for(lambda: sum(self.model.acks.values()) >= 12, within=30)
        time.sleep(self.rng.uniform(0, 0.3))    # where in the next writes the kill falls
        self.killed.set()
        self.srv.stop(signal.SIGKILL)
        self.srv.proc = None                     # killed on purpose: not a failed exit
        for w in workers:
            w.join(timeout=t(30))
            if w.is_alive():
                self.violations.append("worker %d hung after the kill" % w.wid)
            self.violations.extend(w.errors)
        return acked, sum(w.n for w in workers)


def test_one_node_killed_under_write_load_the_other_answers_and_nothing_is_lost(fresh_factory):
    """docs/security.md row 126."""
    a = fresh_factory.new(name="crash-a")
    a.init()
    a.start()
    b = fresh_factory.peer(a, name="crash-b").start()
    run = FleetCrash(a, b)
    run.setup()
    # B answers all along, writes included: a token, introspected active, revoked (a write),
    # introspected inactive, over and over until told to stop
    stop, answers, failures = threading.Event(), [], []

    def probe():
        while not stop.is_set():
            try:
                r = b.token(run.dev)
                tok = r.json()["access_token"] if r.status_code == 200 else None
                ok = (tok is not None and b.is_active(run.admin, tok) is True and
                      b.revoke(run.dev, tok).status_code == 200 and
                      b.is_active(run.admin, tok) is False)
            except Exception as e:      # collected, asserted in the main thread
                ok, r = False, e
            (answers if ok else failures).append((time.monotonic(), r))
    prober = threading.Thread(target=probe)
    prober.start()
    try:
        acked, ops = run.load_and_kill()
        killed = time.monotonic()
        wait_for(lambda: any(at > killed + 0.5 for at, _r in answers), within=5)
    finally:
        stop.set()
        prober.join(timeout=t(30))
    assert not failures, failures[:3]
    assert any(at > killed + 0.5 for at, _r in answers), "B stopped answering after A died"
    assert acked and ops > 0, "no write acknowledged before the kill"
    run.integrity()
    snap = run.snapshot()
    run.srv = b                      # the checks through the node that lived
    run.resolve_pending(snap)
    run.check_db(snap)
    run.check_http()
    run.check_scim()
    assert not run.violations, run.violations[:20]
    # A comes back on its port and agrees
    a.start(port=a.port)
    run.srv = a
    run.check_http()
    assert not run.violations, run.violations[:20]
