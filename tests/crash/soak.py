#!/usr/bin/env python3
"""`make soak`: SOAK_SECONDS (600) of mixed load with garbage mixed in, then SIGTERM under load
(issue 9, "Crash safety and load").

The load, all at once for the whole run:
- wrk (tests/crash/soak.lua): well-formed requests to every endpoint (client credentials,
  introspection, revocation, device authorization, userinfo, JWKS, discovery, metrics, SCIM
  lists and creations, the login page) and garbage that is still HTTP (malformed bodies, wrong
  content types, huge headers and cookies, bad tokens, chunked bodies, unknown paths/methods);
- the crash test's writers (tests/crash/crash_test.py): codes redeemed with PKCE, refresh-token
  rotations, revocations and SCIM user writes, each acknowledged answer remembered;
- raw sockets: random bytes, broken request lines, truncated heads and bodies, lying
  Content-Lengths, pipelined requests, NULs;
- slowloris: connections that send their request head a byte every second or two.

Checks: the daemon never dies; no answer is a 5xx other than 503 (the only 5xx allowed: the
connection cap or a locked database, both "try again"); its RSS (VmRSS of /proc/PID/status,
sampled every second) grows less than 5% from the end of the warm-up (the first quarter, at
least two connection timeouts, after a warm-up that fills the daemon's bounded caches) to the
end; at the end SIGTERM under load stops it with exit 0, and on restart every
acknowledged write holds (the crash test's checks: integrity_check, refresh-token chains,
revocations, codes, SCIM users).

Usage: soak.py [--seconds N] [--seed S]. Exits 1 on any failure.
"""
import argparse
import base64
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402

import crash_test  # noqa: E402
from crash_test import CrashRun  # noqa: E402
from crashload import CB, PW, SCOPE, Worker  # noqa: E402
from tessera_harness import BIN, code_flow  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOWED_5XX = {503}
# libmicrohttpd itself answers a request line of HTTP/9.9 with 505 HTTP Version Not Supported
# (RFC 9110 §15.6.6), the right answer there: counted apart, allowed for that request alone
BAD_VERSION = re.compile(rb"^[A-Z]+ \S+ HTTP/(?!1\.[01]\r)")
RSS_LIMIT = 0.05
CONN_TIMEOUT = 10


def basic(client):
    return base64.b64encode(("%s:%s" % (client.id, client.secret)).encode()).decode()


def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


class Garbage(threading.Thread):
    """Raw sockets with broken HTTP; each answer's status (if any) is tallied."""

    def __init__(self, soak, seed):
        super().__init__(daemon=True)
        self.soak, self.rng = soak, random.Random(seed)
        self.counts = {}
        self.sent = 0
        self.unexpected = []

    def payloads(self):
        r = self.rng
        rb = bytes(r.randrange(256) for _ in range(r.randrange(1, 4096)))
        host = b"Host: 127.0.0.1\r\n"
        return [
            rb,
            b"GET / HTTP/1.1\r\n" + rb,
            b"GET /jwks HTTP/9.9\r\n" + host + b"\r\n",
            b"GET /jwks\r\n\r\n",
            b"GET /jw\x00ks HTTP/1.1\r\n" + host + b"\r\n",
            b"POST /token HTTP/1.1\r\n" + host + b"Content-Length: 100\r\n\r\ngrant_type=cl",
            b"POST /token HTTP/1.1\r\n" + host + b"Content-Length: 999999999999\r\n\r\nx",
            b"POST /token HTTP/1.1\r\n" + host + b"Content-Length: -5\r\n\r\n",
            b"POST /token HTTP/1.1\r\n" + host + b"Content-Length: 5\r\nContent-Length: 7\r\n"
            b"\r\nabcdefg",
            b"POST /token HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /healthz HTTP/1.1\r\n" + host + b"X: " + b"a" * 20000 + b"\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n" * 3 +
            b"GET /jwks HTTP/1.1\r\n" + host + b"\r\n" + b"GET /nope HTTP/1.1\r\n" + host +
            b"Connection: close\r\n\r\n",
            b"GET /authorize?" + b"a=%" * 3000 + b" HTTP/1.1\r\n" + host + b"\r\n",
            b"PUT /scim/v2/Users/1 HTTP/1.1\r\n" + host + b"Content-Type: application/scim+json"
            b"\r\nAuthorization: Bearer x\r\nContent-Length: 10\r\n\r\n{\"\xff\xfe\x00",
            b"G" * 9000,
            b"\r\n\r\n\r\n",
        ]

    def one(self, payload):
        """Sends payload; returns what came back within a second of quiet (None: hung up)."""
        s = socket.create_connection(("127.0.0.1", self.soak.srv.port), timeout=5)
        data = b""
        try:
            s.sendall(payload)
            if self.rng.random() < 0.3:
                return None        # hang up at once
            s.shutdown(socket.SHUT_WR)
            s.settimeout(1)
            while len(data) < 65536:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass                   # a keep-alive connection the daemon leaves open
        finally:
            s.close()
        return data

    def run(self):
        while not self.soak.stopping.is_set():
            payload = self.rng.choice(self.payloads())
            try:
                data = self.one(payload)
            except OSError:
                data = None
            self.sent += 1
            if data:
                for m in re.finditer(rb"HTTP/1\.[01] (\d{3})", data):
                    st = int(m.group(1))
                    if st == 505 and BAD_VERSION.search(payload):
                        st = "505 (HTTP/9.9)"
                    self.counts[st] = self.counts.get(st, 0) + 1
                    if st in range(500, 600) and st not in ALLOWED_5XX and \
                            len(self.unexpected) < 5:
                        self.unexpected.append((payload[:80], data[:300]))
            time.sleep(0.01)


class Slowloris(threading.Thread):
    """A few connections that trickle their request head, a byte every second or two."""

    def __init__(self, soak, n=16):
        super().__init__(daemon=True)
        self.soak, self.n = soak, n
        self.opened = 0

    def run(self):
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 200
        socks = []
        while not self.soak.stopping.is_set():
            while len(socks) < self.n:
                try:
                    socks.append([socket.create_connection(("127.0.0.1", self.soak.srv.port),
                                                           timeout=2), 0])
                    self.opened += 1
                except OSError:
                    break
            for entry in list(socks):
                s, i = entry
                try:
                    s.send(head[i % len(head):i % len(head) + 1])
                    entry[1] = i + 1
                except OSError:
                    s.close()
                    socks.remove(entry)
            time.sleep(1.5)
        for s, _i in socks:
            s.close()


class Soak(CrashRun):
    def __init__(self, args):
        args.workers, args.synchronous = 4, "full"
        # connections the garbage leaves half open are closed after this many idle seconds
        # (default 30): the warm-up lasts two of them, so they have turned over before the
        # RSS is measured
        args.config = {"server": {"connection_timeout": CONN_TIMEOUT}}
        super().__init__(args)
        self.stopping = threading.Event()
        self.rss = []     # (seconds since start, VmRSS KiB, {RssAnon/RssFile/RssShmem: KiB})

    def setup(self):
        super().setup()
        # a database larger than the daemon's SQLite page caches (256 KiB a connection), as in
        # use: the caches fill in the warm-up (prime()), not in the measured part of the run
        p = subprocess.run([self.args.seed_bin, self.srv.db, str(self.args.users)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        self.dev = self.srv.add_client("dev", grants=["client_credentials"], scope="openid")
        self.broker = self.srv.add_client("broker", grants=["client_credentials"],
                                          scope="introspect")
        self.tv = self.srv.add_client("tv", grants=["device_code"], scope="openid")
        # the warm-up's token source: access tokens of the kind the crash test's writers get
        # (a user's, with its grant; scope openid), from a refresh token that does not rotate
        self.primer = self.srv.add_client("apq", grants=["authorization_code", "refresh_token"],
                                          redirect_uris=[CB], scope=SCOPE,
                                          extra=["--refresh-rotation", "off"])
        self.srv.add_user("primer-user", PW, scope="")

    def prime(self):
        """The warm-up fills the daemon's bounded caches before the RSS is measured: every
        worker thread's connection reads the whole users table (a filter no index answers), so
        that each SQLite page cache is full, and wrk verifies some 30,000 distinct access tokens
        (tests/crash/prime.lua), which fills the token cache with tokens like the writers' (a
        user's, as large as theirs: filled with smaller client-credentials tokens, the cache grew
        by megabytes during the run as the writers' revocations replaced them)."""
        h = {"Authorization": "Bearer " + self.admin_token}
        url = self.srv.url('/scim/v2/Users?count=1&filter=displayName%20co%20%22%7E%7E%22')

        def scan():
            for _ in range(8):
                r = requests.get(url, headers=h, timeout=60)
                assert r.status_code == 200, r.text

        ths = [threading.Thread(target=scan) for _ in range(32)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        login = code_flow(self.srv, self.primer, "primer-user", PW, redirect_uri=CB,
                          scope=SCOPE)
        env = dict(os.environ, SOAK_PRIMER=basic(self.primer), SOAK_BROKER=basic(self.broker),
                   SOAK_REFRESH=login.tokens["refresh_token"])
        p = subprocess.run(["wrk", "-t2", "-c16", "-d%ds" % self.args.prime_seconds,
                            "-s", os.path.join(HERE, "prime.lua"), self.srv.base],
                           capture_output=True, text=True, env=env, timeout=120)
        m = re.search(r"(\d+) requests in", p.stdout)
        assert p.returncode == 0 and m, p.stdout + p.stderr
        print("warm-up: %d requests of prime.lua (half of them introspections)" % int(m.group(1)))

    def heap(self):
        """malloc's in-use and kept-free bytes, from /metrics (KiB): a growing RSS whose in-use
        part is flat is the allocator holding freed memory, not live data."""
        try:
            text = requests.get(self.srv.url("/metrics"), timeout=5).text
        except requests.RequestException:
            return {}
        return {k: int(v) // 1024 for k, v in
                re.findall(r"^tessera_malloc_(in_use|free)_bytes (\d+)$", text, re.M)}

    def sample_rss(self, t0):
        pid = self.srv.proc.pid
        while not self.stopping.is_set():
            try:
                with open("/proc/%d/status" % pid) as f:
                    text = f.read()
                kb = int(re.search(r"VmRSS:\s+(\d+)", text).group(1))
                parts = {k: int(v) for k, v in re.findall(r"(Rss\w+):\s+(\d+)", text)}
                parts["fds"] = len(os.listdir("/proc/%d/fd" % pid))
                parts.update(self.heap())
                self.rss.append((time.monotonic() - t0, kb, parts))
            except (OSError, AttributeError):
                pass
            time.sleep(1)

    def wrk(self, seconds):
        access = self.srv.access_token(self.dev)
        env = dict(os.environ, SOAK_DEV=basic(self.dev), SOAK_BROKER=basic(self.broker),
                   SOAK_TV=basic(self.tv), SOAK_ADMIN_TOKEN=self.admin_token,
                   SOAK_ACCESS=access, SOAK_DELAY_MS=str(self.args.delay_ms))
        return subprocess.Popen(
            ["wrk", "-t2", "-c%d" % self.args.connections, "-d%ds" % (seconds + 60),
             "--timeout", "10s", "-s", os.path.join(HERE, "soak.lua"), self.srv.base],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def soak(self):
        secs = self.args.seconds
        warm = max(2.0 * CONN_TIMEOUT, secs / 4.0)
        self.round = 1
        self.start()
        self.prime()
        t0 = time.monotonic()
        sampler = threading.Thread(target=self.sample_rss, args=(t0,), daemon=True)
        sampler.start()
        wrk = self.wrk(secs)
        workers = [Worker(w, self, random.Random(self.rng.random()))
                   for w in range(self.args.workers)]
        garbage = [Garbage(self, self.rng.random()) for _ in range(2)]
        slow = Slowloris(self)
        for th in workers + garbage + [slow]:
            th.start()
        while time.monotonic() - t0 < secs:
            time.sleep(1)
            if self.srv.proc.poll() is not None:
                self.fail("the daemon died under load: exit %r" % self.srv.proc.returncode)
                break
            if wrk.poll() is not None:
                self.fail("wrk ended early: %s" % wrk.stderr.read()[-500:])
                break
        # SIGTERM under load: wrk, the writers and the garbage keep going while it stops
        self.killed.set()
        alive = self.srv.proc.poll() is None
        rc = self.srv.stop(signal.SIGTERM)
        if alive and rc != 0:
            self.fail("SIGTERM under load: the daemon ended with %r" % (rc,))
        self.stopping.set()
        wrk.send_signal(signal.SIGINT)
        try:
            out, err = wrk.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            wrk.kill()
            out, err = wrk.communicate()
        for th in workers + garbage + [slow]:
            th.join(timeout=30)
            if th.is_alive():
                self.fail("a load thread hung")
        for w in workers:
            self.violations.extend(w.errors)
        sampler.join(timeout=5)
        self.sanitizers()
        return warm, out, err, workers, garbage, slow

    def report_statuses(self, out, err, garbage):
        wrk_counts = {}
        for m in re.finditer(r"^STATUS (\d+) (\d+)$", out, re.M):
            wrk_counts[int(m.group(1))] = wrk_counts.get(int(m.group(1)), 0) + int(m.group(2))
        raw = {}
        for g in garbage:
            for k, v in g.counts.items():
                raw[k] = raw.get(k, 0) + v
        for name, counts in (("wrk", wrk_counts), ("raw sockets", raw)):
            total = sum(counts.values())
            print("%s: %d answers: %s" % (name, total, ", ".join(
                "%s x%d" % (k, v) for k, v in sorted(counts.items(), key=str))))
            bad = {k: v for k, v in counts.items()
                   if isinstance(k, int) and k >= 500 and k not in ALLOWED_5XX}
            if bad:
                self.fail("%s: unexpected 5xx %r" % (name, bad))
        if not wrk_counts:
            self.fail("wrk reported no answers: %s %s" % (out[-500:], err[-500:]))
        for line in err.splitlines():
            if line.startswith("UNEXPECTED"):
                print("  " + line[:300])
        for g in garbage:
            for payload, data in g.unexpected:
                print("  raw %r -> %r" % (payload, data))
        lat = re.search(r"^LATENCY .*$", out, re.M)
        errs = re.search(r"^ERRORS .*$", out, re.M)
        print("wrk %s; socket %s" % (lat.group(0) if lat else "?", errs.group(0) if errs else "?"))

    def report_rss(self, warm):
        after = [kb for t, kb, _p in self.rss if t >= warm]
        if len(after) < 5:
            self.fail("too few RSS samples after the warm-up: %d" % len(after))
            return
        base = statistics.median(after[:5])
        end = statistics.median(after[-5:])
        growth = (end - base) / base
        first = self.rss[0][1] if self.rss else 0
        print("RSS: %.1f MB at start, %.1f MB after the %.0f s warm-up, %.1f MB at the end "
              "(max %.1f MB): %+.2f%% after the warm-up (limit %d%%)"
              % (first / 1024, base / 1024, warm, end / 1024, max(after) / 1024,
                 growth * 100, RSS_LIMIT * 100))
        step = max(1, len(self.rss) // 10)
        print("RSS samples (s: MB anon+file+shmem; malloc in use/free MB; open fds): " +
              ", ".join("%.0f: %.1f (%.1f+%.1f+%.1f; %.1f/%.1f; %d)"
                        % (t, kb / 1024, p.get("RssAnon", 0) / 1024, p.get("RssFile", 0) / 1024,
                           p.get("RssShmem", 0) / 1024, p.get("in_use", 0) / 1024,
                           p.get("free", 0) / 1024, p.get("fds", 0))
                        for t, kb, p in self.rss[::step]))
        if growth >= RSS_LIMIT:
            self.fail("RSS grew %.2f%% after the warm-up" % (growth * 100))

    def run(self):
        t0 = time.monotonic()
        self.setup()
        try:
            warm, out, err, workers, garbage, slow = self.soak()
            print("soak: %d s; writers: %d codes, %d rotations, %d+%d revocations, %d SCIM "
                  "writes acknowledged; %d raw garbage requests; %d slow connections"
                  % (self.args.seconds, self.model.acks["code"], self.model.acks["rotate"],
                     self.model.acks["revoke_at"], self.model.acks["revoke_rt"],
                     self.model.acks["scim"], sum(g.sent for g in garbage), slow.opened))
            self.report_statuses(out, err, garbage)
            self.report_rss(warm)
            # after SIGTERM: restart and check every acknowledged write (over HTTP: what was in
            # flight and a sample of the rest; in the database: everything)
            self.round += 1
            self.integrity()
            snap = self.snapshot()
            self.start()
            inflight, committed = self.resolve_pending(snap)
            self.check_db(snap)
            probes = self.check_http()
            self.check_scim()
            rc = self.srv.stop(signal.SIGTERM)
            if rc != 0:
                self.fail("the restarted daemon ended with %r" % (rc,))
            self.sanitizers()
            print("after SIGTERM and restart: %d writes in flight (%d committed), %d chains, "
                  "%d SCIM users, %d probes checked"
                  % (inflight, committed, len(self.model.chains),
                     sum(1 for v in self.model.scim.values() if v), probes))
        finally:
            if self.srv.proc is not None and self.srv.proc.poll() is None:
                self.srv.stop(signal.SIGKILL)
        for v in self.violations:
            print("  " + v[:600])
        if self.violations:
            print("soak FAILED: %d problems; database kept in %s" % (len(self.violations),
                                                                    self.dir))
            return 1
        print("soak passed: %.0f s in all" % (time.monotonic() - t0))
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    p.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 1)))
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--delay-ms", type=int, default=2,
                   help="each wrk connection's pause between requests (0: flat out)")
    p.add_argument("--prime-seconds", type=int, default=8,
                   help="how long wrk verifies fresh tokens in the warm-up")
    p.add_argument("--users", type=int, default=20000, help="users seeded before the run")
    p.add_argument("--seed-bin", default=os.path.join(os.path.dirname(BIN),
                                                      "tessera_seed"),
                   help="tests/bench/seed.c built (make build/tessera_seed)")
    args = p.parse_args()
    args.rounds = 1
    sys.exit(Soak(args).run())


if __name__ == "__main__":
    crash_test.SAMPLE = 200
    main()
