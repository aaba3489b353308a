#!/usr/bin/env python3
"""`make crash-test`: kill the daemon with SIGKILL under a write-heavy load and check that it
lost nothing it acknowledged (issue 9, "Crash safety and load").

Each round starts build/tessera on the same database, runs WORKERS threads that each write as
fast as they can (authorization codes redeemed with PKCE, refresh-token rotations, access and
refresh token revocations, SCIM user creations, PATCHes and DELETEs), kills the daemon with
SIGKILL at a random moment (seeded), and then checks:

- PRAGMA integrity_check and foreign_key_check are clean;
- every acknowledged answer (HTTP 200/201/204 received) holds: a redeemed code stays used and a
  replay of it is refused; each refresh-token chain has exactly one unused refresh token in the
  database (never two successors, never none), the one acknowledged last, and it introspects
  active; every rotated-away token stays spent, introspects inactive and is refused at /token;
  revoked access tokens stay in the revocation list and inactive, revoked refresh tokens keep
  their grant revoked; acknowledged SCIM users exist with the acknowledged attributes, deleted
  ones stay gone;
- a write in flight when the daemon died (no answer) is all or nothing: the old refresh token or
  its successor, never both and never none; a code used with tokens or unused; a user created
  completely or not at all. The test reads which from the database and carries on from there.

Checks that use the HTTP API (introspection, replays) cover what the round touched plus a random
sample of older items; the database checks cover everything every round.

Usage: crash_test.py [--rounds N] [--seed S] [--workers W]. Exits 1 on any violation.
"""
import argparse
import os
import random
import shutil
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402

from crashload import CB, PW, SCOPE, Chain, Model, Worker  # noqa: E402
from scim_client import SCIM_JSON  # noqa: E402
from tessera_harness import (Server, free_port, jwt_parts, make_tempdir,  # noqa: E402
                             sanitizer_problems, token_key)

HTTP_TIMEOUT = 10     # as the harness's requests
SAMPLE = 25          # older items checked over HTTP each round


class CrashRun:
    """The rounds: start, load, SIGKILL, restart, check; every violation in self.violations."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.model = Model()
        self.dir = make_tempdir("crash")
        config = {"database": {"synchronous": args.synchronous}}
        config.update(getattr(args, "config", {}))
        self.srv = Server(self.dir, config=config, name="crash")
        self.port = free_port()
        self.round = 0
        self.killed = threading.Event()
        self.violations = []
        self.pause = 0           # seconds each worker waits between its steps

    # -- setup
    def setup(self):
        self.srv.init()
        self.app = self.srv.add_client("app", grants=["authorization_code", "refresh_token"],
                                       redirect_uris=[CB], scope=SCOPE, name="Crash app")
        self.admin = self.srv.add_client("admin", grants=["client_credentials"],
                                         scope="scim introspect")
        self.users = []
        for w in range(self.args.workers):
            name = "crash-user-%d" % w
            self.srv.add_user(name, PW, scope="")
            self.users.append(name)

    def start(self):
        self.srv.start(port=self.port)
        r = self.srv.token(self.admin, scope="scim introspect")
        assert r.status_code == 200, r.text
        self.admin_token = r.json()["access_token"]

    def scim(self, method, path, body=None, params=None):
        h = {"Authorization": "Bearer " + self.admin_token, "Accept": SCIM_JSON}
        kw = {}
        if body is not None:
            h["Content-Type"] = SCIM_JSON
            kw["json"] = body
        return requests.request(method, self.srv.url("/scim/v2" + path), headers=h,
                                params=params, timeout=HTTP_TIMEOUT, **kw)

    # -- one round
    def load_and_kill(self):
        self.killed.clear()
        workers = [Worker(w, self, random.Random(self.rng.random()))
                   for w in range(self.args.workers)]
        kill_at = self.rng.uniform(self.args.min_kill, self.args.max_kill)
        t0 = time.monotonic()
        for w in workers:
            w.start()
        time.sleep(kill_at)
        self.killed.set()
        self.srv.stop(signal.SIGKILL)
        for w in workers:
            w.join(timeout=3 * HTTP_TIMEOUT)
            if w.is_alive():
                self.violations.append("worker %d hung after the kill" % w.wid)
            self.violations.extend(w.errors)
        return kill_at, time.monotonic() - t0, sum(w.n for w in workers)

    def sanitizers(self):
        """Each daemon of the round (the killed one and the one checked) ran clean."""
        for n in (self.srv.starts - 1, self.srv.starts):
            path = os.path.join(self.dir, "crash-%d.stderr" % n)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                if sanitizer_problems(text):
                    self.fail("sanitizer report in %s:\n%s" % (path, text[-3000:]))

    def fail(self, msg):
        self.violations.append("round %d: %s" % (self.round, msg))

    def db(self):
        return sqlite3.connect(self.srv.db, timeout=5)

    def integrity(self):
        con = self.db()
        try:
            res = con.execute("PRAGMA integrity_check").fetchall()
            if res != [("ok",)]:
                self.fail("integrity_check: %r" % (res[:10],))
            fk = con.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                self.fail("foreign_key_check: %r" % (fk[:10],))
        finally:
            con.close()

    def snapshot(self):
        con = self.db()
        try:
            snap = {
                "refresh": {bytes(h): (g, used, exp) for h, g, used, exp in con.execute(
                    "SELECT token_hash, grant_id, used_at, expires_at FROM refresh_tokens")},
                "grants": dict(con.execute("SELECT id, revoked_at FROM grants")),
                "revocations": {j for (j,) in con.execute("SELECT jti FROM revocations")},
                "codes": {bytes(h): (g, used) for h, g, used in con.execute(
                    "SELECT code_hash, grant_id, used_at FROM codes")},
            }
        finally:
            con.close()
        return snap

    def resolve_pending(self, snap):
        """Writes in flight at the kill: all or nothing; adopts what the database says."""
        m = self.model
        committed = 0
        with m.lock:
            pending = list(m.pending.values())
        for p in pending:
            kind = p[0]
            if kind == "redeem":
                _k, wid, code, verifier = p
                row = snap["codes"].get(token_key(code))
                if row and row[1] is not None:
                    # redeemed: a chain with a refresh token nobody saw
                    committed += 1
                    c = Chain(wid, row[0], code, None, None, self.round, verifier)
                    m.chains.append(c)
            elif kind == "rotate":
                c = p[1]
                row = snap["refresh"].get(token_key(c.current))
                if row is None:
                    self.fail("%r: the refresh token of a rotation in flight is gone" % c)
                elif row[1] is not None:
                    committed += 1
                    c.spent.append(c.current)
                    c.current = None
                c.touched = self.round
            elif kind == "revoke_at":
                _k, c, at = p
                claims = jwt_parts(at)[1]
                if claims["jti"] in snap["revocations"]:
                    committed += 1
                    m.revoked_ats[claims["jti"]] = (at, claims["exp"])
                c.touched = self.round
            elif kind == "revoke_rt":
                c = p[1]
                if snap["grants"].get(c.gid) is not None:
                    committed += 1
                    m.dead_gids.add(c.gid)
                c.touched = self.round
            elif kind == "scim_create":
                _k, name, display, wid = p
                r = self.scim("GET", "/Users", params={"filter": 'userName eq "%s"' % name})
                found = r.json().get("Resources", []) if r.status_code == 200 else None
                if found is None:
                    self.fail("SCIM list: %s %s" % (r.status_code, r.text[:200]))
                elif found:
                    committed += 1
                    u = found[0]
                    if u.get("displayName") != display:
                        self.fail("user %s created in flight is partial: %r" % (name, u))
                    m.scim[u["id"]] = {"userName": name, "displayName": display, "wid": wid}
                    m.scim_names[name] = u["id"]
            elif kind == "scim_patch":
                _k, uid, new = p
                r = self.scim("GET", "/Users/" + uid)
                if r.status_code == 200 and r.json().get("displayName") == new:
                    committed += 1
                    m.scim[uid]["displayName"] = new
            elif kind == "scim_delete":
                uid = p[1]
                r = self.scim("GET", "/Users/" + uid)
                if r.status_code == 404:
                    committed += 1
                    m.scim[uid] = None
        n = len(m.pending)
        m.pending = {}
        return n, committed

    def check_db(self, snap):
        """Every acknowledged write, straight from the database, for every item so far."""
        m = self.model
        now = time.time()
        unused = {}
        for h, (g, used, exp) in snap["refresh"].items():
            if used is None and exp > now:
                unused.setdefault(g, set()).add(h)
        per_gid = {}
        for c in m.chains:
            per_gid.setdefault(c.gid, []).append(c)
            if c.code is not None:
                row = snap["codes"].get(token_key(c.code))
                if row is not None and row[1] is None:
                    self.fail("%r: its redeemed code is unused again" % c)
            for old in c.spent:
                row = snap["refresh"].get(token_key(old))
                if row is None or row[1] is None:
                    self.fail("%r: a rotated-away refresh token is %s" % (
                        c, "gone" if row is None else "unused again"))
        for gid, chains in per_gid.items():
            revoked = snap["grants"].get(gid, "missing")
            if gid in m.dead_gids:
                if revoked is None or revoked == "missing":
                    self.fail("grant %s acknowledged revoked is %s" % (
                        gid, "live again" if revoked is None else "missing"))
                continue
            if revoked is not None:
                self.fail("live grant %s is %s" % (gid, "missing" if revoked == "missing"
                                                   else "revoked"))
                continue
            have = unused.get(gid, set())
            if len(have) != len(chains):
                self.fail("grant %s: %d chains but %d unused refresh tokens" % (
                    gid, len(chains), len(have)))
            for c in chains:
                if c.current is not None and token_key(c.current) not in have:
                    self.fail("%r: its acknowledged refresh token is not the unused one" % c)
        for jti, (_at, exp) in m.revoked_ats.items():
            if exp > now + 5 and jti not in snap["revocations"]:
                self.fail("revoked access token %s is out of the revocation list" % jti)

    def introspect(self, token):
        r = self.srv.introspect(self.admin, token)
        if r.status_code != 200:
            self.fail("introspect answered %s %s" % (r.status_code, r.text[:200]))
            return None
        return r.json().get("active")

    def check_http(self):
        """Introspection of what this round touched and of a sample of the rest; two replays."""
        m = self.model
        touched = [c for c in m.chains if c.touched == self.round]
        older = [c for c in m.chains if c.touched != self.round]
        chains = touched + self.rng.sample(older, min(SAMPLE, len(older)))
        n = 0
        for c in chains:
            live = c.gid not in m.dead_gids
            if c.current is not None:
                n += 1
                if self.introspect(c.current) is not live:
                    self.fail("%r: current refresh token introspects %s" % (
                        c, "inactive" if live else "active"))
            for old in c.spent[-3:]:
                n += 1
                if self.introspect(old) is not False:
                    self.fail("%r: a rotated-away refresh token is active" % c)
            for at in c.ats[-3:]:
                n += 1
                want = live and jwt_parts(at)[1]["jti"] not in m.revoked_ats
                if self.introspect(at) is not want:
                    self.fail("%r: access token introspects %s, acknowledged %s" % (
                        c, not want, want))
        revoked = list(m.revoked_ats.values())
        for at, _exp in self.rng.sample(revoked, min(SAMPLE, len(revoked))):
            n += 1
            if self.introspect(at) is not False:
                self.fail("a revoked access token is active again")
        n += self.replay_code() + self.replay_refresh()
        return n

    def replay_code(self):
        """A code acknowledged redeemed is refused, and its grant revoked: replayed by its own
        client with its verifier (RFC 6749 §4.1.2; a request that fails those checks changes
        nothing)."""
        m = self.model
        cands = [c for c in m.chains if c.code and c.verifier and c.gid not in m.dead_gids]
        if not cands:
            return 0
        c = self.rng.choice(cands)
        r = self.srv.redeem(self.app, c.code, c.verifier, CB)
        if r.status_code != 400 or r.json().get("error") != "invalid_grant":
            self.fail("%r: replayed code answered %s %s" % (c, r.status_code, r.text[:200]))
        m.dead_gids.add(c.gid)
        c.touched = self.round
        return 1

    def replay_refresh(self):
        """A rotated-away refresh token is refused at /token (reuse: the grant is revoked)."""
        m = self.model
        cands = [c for c in m.chains if c.spent and c.gid not in m.dead_gids]
        if not cands:
            return 0
        c = self.rng.choice(cands)
        r = self.srv.refresh(self.app, self.rng.choice(c.spent))
        if r.status_code != 400 or r.json().get("error") != "invalid_grant":
            self.fail("%r: replayed refresh token answered %s %s" % (
                c, r.status_code, r.text[:200]))
        m.dead_gids.add(c.gid)
        c.touched = self.round
        return 1

    def check_scim(self):
        m = self.model
        seen = {}
        start = 1
        while True:
            r = self.scim("GET", "/Users", params={"filter": 'userName sw "crash-"',
                                                   "startIndex": start, "count": 500})
            if r.status_code != 200:
                self.fail("SCIM list: %s %s" % (r.status_code, r.text[:200]))
                return
            body = r.json()
            for u in body.get("Resources", []):
                seen[u["id"]] = u
            start += body["itemsPerPage"]
            if not body["itemsPerPage"] or start > body["totalResults"]:
                break
        for uid, want in list(m.scim.items()):
            got = seen.get(uid)
            if want is None:
                if got is not None:
                    self.fail("SCIM user %s acknowledged deleted is back" % uid)
            elif got is None:
                self.fail("SCIM user %s (%s) acknowledged is gone" % (uid, want["userName"]))
            elif (got.get("userName"), got.get("displayName")) != (want["userName"],
                                                                  want["displayName"]):
                self.fail("SCIM user %s is %r, acknowledged %r" % (
                    uid, (got.get("userName"), got.get("displayName")),
                    (want["userName"], want["displayName"])))
        extra = [u["userName"] for i, u in seen.items()
                 if i not in m.scim and not u["userName"].startswith("crash-user-")]
        if extra:
            self.fail("SCIM users nobody created: %r" % extra[:5])

    def one_round(self):
        self.round += 1
        before = len(self.violations)
        acks0 = dict(self.model.acks)
        self.start()
        kill_at, took, ops = self.load_and_kill()
        self.integrity()
        snap = self.snapshot()
        self.start()
        inflight, committed = self.resolve_pending(snap)
        self.check_db(snap)
        probes = self.check_http()
        self.check_scim()
        acks = {k: v - acks0[k] for k, v in self.model.acks.items()}
        rc = self.srv.stop(signal.SIGTERM)   # the checked daemon ends cleanly (and LSan runs)
        if rc != 0:
            self.fail("the restarted daemon ended with %r on SIGTERM" % (rc,))
        self.sanitizers()
        live = len(self.model.live())
        print("round %2d/%d: killed after %.2f s; acknowledged %d codes, %d rotations, "
              "%d+%d revocations, %d SCIM writes; in flight %d (%d committed); "
              "%d chains (%d live), %d probes: %s"
              % (self.round, self.args.rounds, kill_at, acks["code"], acks["rotate"],
                 acks["revoke_at"], acks["revoke_rt"], acks["scim"], inflight, committed,
                 len(self.model.chains), live, probes,
                 "ok" if len(self.violations) == before else "VIOLATIONS"), flush=True)
        new = self.violations[before:]
        for v in new[:20]:
            print("    " + v[:400], flush=True)
        if len(new) > 20:
            print("    ... and %d more" % (len(new) - 20), flush=True)

    def run(self):
        t0 = time.monotonic()
        self.setup()
        try:
            for _ in range(self.args.rounds):
                self.one_round()
        finally:
            if self.srv.proc is not None and self.srv.proc.poll() is None:
                self.srv.stop(signal.SIGKILL)
        took = time.monotonic() - t0
        if self.violations:
            print("crash test FAILED (seed %d): %d violations; database kept in %s"
                  % (self.args.seed, len(self.violations), self.dir))
            return 1
        print("crash test passed: %d rounds, seed %d, %.1f s" % (self.args.rounds,
                                                                self.args.seed, took))
        shutil.rmtree(self.dir, ignore_errors=True)
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 50)))
    p.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 1)))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--min-kill", type=float, default=0.4)
    p.add_argument("--max-kill", type=float, default=1.4)
    p.add_argument("--synchronous", default="full", help="the daemon's [database] synchronous")
    sys.exit(CrashRun(p.parse_args()).run())


if __name__ == "__main__":
    main()
