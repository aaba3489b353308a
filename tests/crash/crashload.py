"""The write load of the crash test and the soak (tests/crash/crash_test.py, soak.py): worker
threads that write through the daemon's HTTP API and remember what it acknowledged.

Each worker has its own user (so its own grant with the client "app") and its own SCIM users,
and does, at random: an authorization code flow with PKCE and the code redeemed (a new
refresh-token chain), a rotation of one of its chains, a revocation of an access token or (more
rarely) of a refresh token, which revokes its grant and so all its chains, and a SCIM user
creation, PATCH or DELETE. Before each write it records the request as pending; when the answer
comes it moves it into the Model; a request that gets no answer stays pending, for the checks to
resolve from the database after the restart.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

from scim_client import CORE_USER, PATCH_OP  # noqa: E402
from tessera_harness import PKCE, UserAgent, auth_request, jwt_parts, redirect_params  # noqa: E402

CB = "https://rp.example/cb"
SCOPE = "openid"
PW = "crash test password"


class Violation(Exception):
    pass


class Chain:
    """One refresh-token chain: started by a code redemption, moved on by rotations."""

    def __init__(self, wid, gid, code, rt, at, rnd, verifier=None):
        self.wid, self.gid, self.code = wid, gid, code
        self.verifier = verifier   # the code's PKCE verifier
        self.current = rt          # None when the successor exists but was never answered
        self.spent = []            # acknowledged as rotated away
        self.ats = [at] if at else []
        self.touched = rnd

    def __repr__(self):
        return "Chain(worker %d, grant %s, current %s)" % (
            self.wid, self.gid, self.current[:8] + "…" if self.current else "unknown")


class Model:
    """What the daemon acknowledged, shared by the workers (each touches only its own items)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.chains = []
        self.dead_gids = set()     # grants acknowledged revoked
        self.revoked_ats = {}      # jti -> (token, exp)
        self.scim = {}             # id -> dict(userName, displayName) or None when deleted
        self.scim_names = {}       # userName -> id
        self.pending = {}          # worker -> ("kind", details...) sent, not yet answered
        self.acks = {"code": 0, "rotate": 0, "revoke_at": 0, "revoke_rt": 0, "scim": 0}

    def live(self, wid=None):
        return [c for c in self.chains if c.gid not in self.dead_gids and
                (wid is None or c.wid == wid)]


class Unanswered(Exception):
    """The request got no HTTP answer (the daemon died)."""


def call(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except requests.RequestException as e:
        raise Unanswered(str(e))


class Worker(threading.Thread):
    def __init__(self, wid, run, rng):
        super().__init__(daemon=True)
        self.wid, self.run_, self.rng = wid, run, rng
        self.srv, self.m = run.srv, run.model
        self.agent = None
        self.errors = []
        self.n = 0

    def run(self):
        # the worker's own live chains (with a known refresh token) and SCIM users, kept here
        # so that a step costs the same however long the run
        with self.m.lock:
            self.live = [c for c in self.m.live(self.wid) if c.current]
            self.users = [i for i, v in self.m.scim.items()
                          if v is not None and v["wid"] == self.wid]
        try:
            self.agent = UserAgent(self.srv)
            while True:
                self.step()
                self.n += 1
        except Unanswered:
            if not self.run_.killed.is_set():
                self.errors.append("worker %d: no answer before the kill" % self.wid)
        except Violation as e:
            self.errors.append("worker %d: %s" % (self.wid, e))
        except Exception as e:  # an assertion of the harness (e.g. no redirect): a violation
            if not self.run_.killed.is_set():
                self.errors.append("worker %d: %s: %s" % (self.wid, type(e).__name__, e))

    def unexpected(self, what, r):
        raise Violation("%s answered %s %s" % (what, r.status_code, r.text[:300]))

    def step(self):
        x = self.rng.random()
        live = self.live
        if self.run_.pause:
            time.sleep(self.run_.pause)
        if x < 0.30 or not live:
            self.new_chain()
        elif x < 0.65:
            self.rotate(self.rng.choice(live))
        elif x < 0.75:
            self.revoke_at(self.rng.choice(live))
        elif x < 0.765:
            self.revoke_rt(self.rng.choice(live))
        else:
            self.scim_write()

    def new_chain(self):
        pkce = PKCE()
        params = auth_request("app", CB, scope=SCOPE, pkce=pkce)
        u = self.run_.users[self.wid]
        r = call(self.agent.run, params, username=u, password=PW)
        code = redirect_params(r).get("code")
        if not code:
            self.unexpected("authorize", r)
        with self.m.lock:
            self.m.pending[self.wid] = ("redeem", self.wid, code, pkce.verifier)
        r = call(self.srv.redeem, self.run_.app, code, pkce.verifier, CB)
        if r.status_code != 200:
            self.unexpected("code redemption", r)
        tok = r.json()
        gid = jwt_parts(tok["access_token"])[1]["gid"]
        with self.m.lock:
            del self.m.pending[self.wid]
            c = Chain(self.wid, gid, code, tok["refresh_token"], tok["access_token"],
                      self.run_.round, pkce.verifier)
            self.m.chains.append(c)
            self.m.acks["code"] += 1
        self.live.append(c)

    def rotate(self, c):
        with self.m.lock:
            self.m.pending[self.wid] = ("rotate", c)
        r = call(self.srv.refresh, self.run_.app, c.current)
        if r.status_code != 200:
            self.unexpected("rotation", r)
        tok = r.json()
        with self.m.lock:
            del self.m.pending[self.wid]
            c.spent.append(c.current)
            c.current = tok["refresh_token"]
            c.ats.append(tok["access_token"])
            c.touched = self.run_.round
            self.m.acks["rotate"] += 1

    def revoke_at(self, c):
        at = c.ats[-1]
        claims = jwt_parts(at)[1]
        if claims["jti"] in self.m.revoked_ats:
            return
        with self.m.lock:
            self.m.pending[self.wid] = ("revoke_at", c, at)
        r = call(self.srv.revoke, self.run_.app, at, hint="access_token")
        if r.status_code != 200:
            self.unexpected("revocation", r)
        with self.m.lock:
            del self.m.pending[self.wid]
            self.m.revoked_ats[claims["jti"]] = (at, claims["exp"])
            c.touched = self.run_.round
            self.m.acks["revoke_at"] += 1

    def revoke_rt(self, c):
        with self.m.lock:
            self.m.pending[self.wid] = ("revoke_rt", c)
        r = call(self.srv.revoke, self.run_.app, c.current, hint="refresh_token")
        if r.status_code != 200:
            self.unexpected("revocation", r)
        with self.m.lock:
            del self.m.pending[self.wid]
            self.m.dead_gids.add(c.gid)
            c.touched = self.run_.round
            self.m.acks["revoke_rt"] += 1
        # one live grant per user and client: every live chain of this worker had it
        self.live = [x for x in self.live if x.gid != c.gid]

    def scim_write(self):
        mine = self.users
        x = self.rng.random()
        if x < 0.6 or not mine:
            self.n += 1
            name = "crash-%d-%d-%d" % (self.wid, self.run_.round, self.n)
            body = {"schemas": [CORE_USER], "userName": name, "displayName": "D " + name,
                    "active": True}
            with self.m.lock:
                self.m.pending[self.wid] = ("scim_create", name, body["displayName"], self.wid)
            r = call(self.run_.scim, "POST", "/Users", body)
            if r.status_code != 201:
                self.unexpected("SCIM POST", r)
            uid = r.json()["id"]
            with self.m.lock:
                del self.m.pending[self.wid]
                self.m.scim[uid] = {"userName": name, "displayName": body["displayName"],
                                    "wid": self.wid}
                self.m.scim_names[name] = uid
                self.m.acks["scim"] += 1
            mine.append(uid)
        elif x < 0.9:
            uid = self.rng.choice(mine)
            new = "P%d %s" % (self.rng.randrange(10 ** 6), self.m.scim[uid]["userName"])
            with self.m.lock:
                self.m.pending[self.wid] = ("scim_patch", uid, new)
            r = call(self.run_.scim, "PATCH", "/Users/" + uid, {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": new}]})
            if r.status_code not in (200, 204):
                self.unexpected("SCIM PATCH", r)
            with self.m.lock:
                del self.m.pending[self.wid]
                self.m.scim[uid]["displayName"] = new
                self.m.acks["scim"] += 1
        else:
            uid = self.rng.choice(mine)
            with self.m.lock:
                self.m.pending[self.wid] = ("scim_delete", uid)
            r = call(self.run_.scim, "DELETE", "/Users/" + uid)
            if r.status_code != 204:
                self.unexpected("SCIM DELETE", r)
            with self.m.lock:
                del self.m.pending[self.wid]
                self.m.scim[uid] = None
                self.m.acks["scim"] += 1
            mine.remove(uid)
