"""GET /changes: the change feed brokers keep open (server-sent events). Black box: the events
that the CLI (another process), SCIM and /revoke cause, who may read them, resuming with
Last-Event-ID, the heartbeat, and long-lived feeds next to ordinary requests
(docs/security.md row 82)."""
import base64
import json
import os
import socket
import time

import pytest
import requests

from scim_client import Scim, op
from tessera_harness import (db_write, http_timeout, idp_user, jwt_parts, refresh_login, t)

CB = "https://rp.example/cb"
SCOPE = "openid mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"
RT_GRANTS = ["authorization_code", "refresh_token"]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        dict(client_id="app", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="App"),
        dict(client_id="dev", grants=["client_credentials"], scope="mqtt:pub:d/# mqtt:sub:d/#"),
        dict(client_id="rs", scope="introspect"),
        dict(client_id="plain", grants=["client_credentials"], scope="mqtt:sub:x"),
        dict(client_id="admin", grants=["client_credentials"], scope="scim"),
    ], name="changes")


class Feed:
    """One open GET /changes over a socket of its own (chunked decoding here, so that a wait
    that times out loses nothing), read event by event with a bound on every wait."""

    def __init__(self, srv, client, last_event_id=None, auth=True):
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
        h = ["GET /changes HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
        if auth:
            h.append("Authorization: Basic " + base64.b64encode(
                ("%s:%s" % (client.id, client.secret)).encode()).decode())
        if last_event_id is not None:
            h.append("Last-Event-ID: %s" % last_event_id)
        self.sock.sendall(("\r\n".join(h) + "\r\n\r\n").encode())
        self.raw = b""
        self.text = b""
        self.comments = []
        self.eof = False
        while b"\r\n\r\n" not in self.raw:
            self._recv(time.monotonic() + t(5))
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in
                        (ln.partition(":") for ln in lines[1:])}
        if self.status != 200:
            self.body = self.raw

    def _recv(self, deadline):
        """More bytes into self.raw before deadline: False when none came."""
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        if not data:
            self.eof = True
            return False
        self.raw += data
        return True

    def _dechunk(self):
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                self.eof = True
                return
            if len(rest) < n + 2:
                return
            self.text += rest[:n]
            self.raw = rest[n + 2:]

    def next(self, timeout):
        """The next event as a dict (id, event, data parsed), or None when none came in time;
        comment lines (heartbeats) are collected in self.comments."""
        deadline = time.monotonic() + timeout
        while True:
            self._dechunk()
            while b"\n\n" in self.text or self.text.startswith(b":"):
                if self.text.startswith(b":") and b"\n" in self.text:
                    line, self.text = self.text.split(b"\n", 1)
                    self.comments.append(line.decode())
                    if self.text.startswith(b"\n"):
                        self.text = self.text[1:]
                    continue
                if b"\n\n" not in self.text:
                    break
                block, self.text = self.text.split(b"\n\n", 1)
                ev = {}
                for line in block.decode().split("\n"):
                    if line.startswith(":"):
                        self.comments.append(line)
                        continue
                    k, _, v = line.partition(": ")
                    ev[k] = int(v) if k == "id" else v
                if ev:
                    if "data" in ev:
                        ev["data"] = json.loads(ev["data"])
                    return ev
            if self.eof:
                raise EOFError("the feed ended")
            if not self._recv(deadline):
                if self.eof:
                    raise EOFError("the feed ended")
                return None

    def until(self, pred, timeout=None):
        """Events until one matching pred (returned with those before it), within timeout."""
        timeout = t(5) if timeout is None else timeout
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            ev = self.next(deadline - time.monotonic())
            if ev is None:
                break
            seen.append(ev)
            if pred(ev):
                return ev, seen
        raise AssertionError("no matching event within %.1f s; saw %r" % (timeout, seen))

    def close(self):
        self.sock.close()


@pytest.fixture
def feed(srv):
    opened = []

    def make(client=None, **kw):
        f = Feed(srv, client or srv.clients["rs"], **kw)
        opened.append(f)
        return f
    yield make
    for f in opened:
        f.close()


def ready(f):
    assert f.status == 200, f.body
    assert f.headers["content-type"] == "text/event-stream"
    assert "no-store" in f.headers["cache-control"]
    ev = f.next(t(5))
    assert ev and ev["event"] == "ready", ev
    return ev


def user_grant(srv):
    user = idp_user(srv)
    u = user[0]
    lg, user = refresh_login(srv, srv.clients["app"], CB,
                             scope="openid mqtt:sub:home/%s/# mqtt:pub:home/%s/cmd" % (u, u),
                             user=user)
    return lg.tokens, user, jwt_parts(lg.tokens["access_token"])[1]["gid"]


# ---------------------------------------------------------------- who may read it


def test_changes_refuses_a_caller_without_client_authentication(srv):
    r = requests.get(srv.url("/changes"), timeout=http_timeout())
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_changes_refuses_a_wrong_secret(srv):
    r = requests.get(srv.url("/changes"), auth=("rs", "not-the-secret"), timeout=http_timeout())
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"


def test_changes_refuses_a_client_not_allowed_to_introspect(srv):
    c = srv.clients["plain"]
    r = requests.get(srv.url("/changes"), auth=(c.id, c.secret), timeout=http_timeout())
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "access_denied"


def test_changes_refuses_a_disabled_client_and_other_methods(srv):
    srv.add_client("rs-off", scope="introspect")
    c = srv.clients["rs-off"]
    assert srv.cli(["client", "disable", "rs-off"]).rc == 0
    r = requests.get(srv.url("/changes"), auth=(c.id, c.secret), timeout=http_timeout())
    assert r.status_code == 401, r.text
    rs = srv.clients["rs"]
    r = requests.post(srv.url("/changes"), auth=(rs.id, rs.secret), timeout=http_timeout())
    assert r.status_code == 405 and r.headers.get("Allow") == "GET", r.text


# ---------------------------------------------------------------- what it carries


def test_cli_grant_scope_and_revoke_reach_an_open_feed(srv, feed):
    tokens, (u, _pw, uid), gid = user_grant(srv)
    f = feed()
    ready(f)
    narrow = "mqtt:sub:home/%s/#" % u
    assert srv.cli(["grant", "scope", str(gid), narrow]).rc == 0
    ev, _ = f.until(lambda e: e["event"] == "grant" and e["data"]["grant"] == gid)
    assert ev["data"] == {"grant": gid, "client_id": "app", "sub": str(uid), "scope": narrow,
                          "revoked": False}
    assert srv.cli(["grant", "revoke", str(gid)]).rc == 0
    ev2, _ = f.until(lambda e: e["event"] == "grant" and e["data"]["grant"] == gid)
    assert ev2["data"]["revoked"] is True and ev2["id"] > ev["id"]


def test_cli_client_disable_reaches_an_open_feed(srv, feed):
    srv.add_client("dev-cli", grants=["client_credentials"], scope="mqtt:pub:c/#")
    f = feed()
    ready(f)
    assert srv.cli(["client", "disable", "dev-cli"]).rc == 0
    ev, _ = f.until(lambda e: e["event"] == "client" and e["data"]["client_id"] == "dev-cli")
    assert ev["data"]["revoked"] is True


def test_scim_grant_patch_delete_and_client_disable_reach_an_open_feed(srv, feed):
    api = Scim(srv)
    _tokens, (u, _pw, _uid), gid = user_grant(srv)
    f = feed()
    ready(f)
    narrow = "mqtt:pub:home/%s/cmd" % u
    r = api.patch("/Grants/%d" % gid, op("replace", "scope", narrow))
    assert r.status_code == 200, r.text
    ev, _ = f.until(lambda e: e["event"] == "grant" and e["data"]["grant"] == gid)
    assert ev["data"]["scope"] == narrow and ev["data"]["revoked"] is False
    r = api.delete("/Grants/%d" % gid)
    assert r.status_code == 204, r.text
    ev, _ = f.until(lambda e: e["event"] == "grant" and e["data"]["grant"] == gid)
    assert ev["data"]["revoked"] is True
    srv.add_client("dev-scim", grants=["client_credentials"], scope="mqtt:pub:s/# mqtt:sub:s/#")
    r = api.patch("/Clients/dev-scim", op("replace", "scope", "mqtt:sub:s/#"))
    assert r.status_code == 200, r.text
    ev, _ = f.until(lambda e: e["event"] == "client" and e["data"]["client_id"] == "dev-scim")
    assert ev["data"]["scope"] == "mqtt:sub:s/#" and ev["data"]["revoked"] is False
    r = api.patch("/Clients/dev-scim", op("replace", "active", False))
    assert r.status_code == 200, r.text
    ev, _ = f.until(lambda e: e["event"] == "client" and e["data"]["client_id"] == "dev-scim")
    assert ev["data"]["revoked"] is True


def test_revoke_endpoint_sends_the_tokens_jti(srv, feed):
    f = feed()
    ready(f)
    tok = srv.access_token(srv.clients["dev"])
    jti = jwt_parts(tok)[1]["jti"]
    r = srv.revoke(srv.clients["rs"], tok)
    assert r.status_code == 200, r.text
    ev, _ = f.until(lambda e: e["event"] == "token")
    assert ev["data"] == {"jti": jti, "revoked": True}


def test_a_feed_ends_when_its_reader_loses_the_right(srv, feed):
    # the broker's own client disabled, or its scope narrowed to no `introspect`: it gets that
    # event, and then the stream ends (and a new one is refused)
    for i, how in enumerate((["client", "disable"], None)):
        cid = "rs-lose-%d" % i
        srv.add_client(cid, scope="introspect")
        f = feed(srv.clients[cid])
        ready(f)
        if how:
            assert srv.cli(how + [cid]).rc == 0
        else:
            r = Scim(srv).patch("/Clients/" + cid, op("replace", "scope", "mqtt:sub:x"))
            assert r.status_code == 200, r.text
        ev, _ = f.until(lambda e: e["event"] == "client" and e["data"]["client_id"] == cid)
        with pytest.raises(EOFError):
            f.next(t(5))
        c = srv.clients[cid]
        r = requests.get(srv.url("/changes"), auth=(c.id, c.secret), timeout=http_timeout())
        assert r.status_code in (401, 403), r.text


# ---------------------------------------------------------------- resuming


def test_last_event_id_resumes_after_the_last_change_seen(srv, feed):
    f = feed()
    start = ready(f)["id"]
    for i in range(3):
        srv.add_client("resume-%d" % i, grants=["client_credentials"], scope="mqtt:sub:r")
        assert srv.cli(["client", "disable", "resume-%d" % i]).rc == 0
    evs = [f.until(lambda e, i=i: e["event"] == "client" and
                   e["data"]["client_id"] == "resume-%d" % i)[0] for i in range(3)]
    f.close()
    # the broker saw the first; the other two happened while it was away
    g = feed(last_event_id=evs[0]["id"])
    first = ready(g)
    assert first["id"] == evs[0]["id"] and first["data"]["from"] == evs[0]["id"]
    got = [g.next(t(5)) for _ in range(2)]
    assert [e["id"] for e in got] == [e["id"] for e in evs[1:]]
    assert [e["data"] for e in got] == [e["data"] for e in evs[1:]]
    assert start < evs[0]["id"] < evs[1]["id"] < evs[2]["id"]


def test_last_event_id_older_than_what_is_kept_gets_a_reset(srv, feed):
    srv.add_client("purged", grants=["client_credentials"], scope="mqtt:sub:p")
    assert srv.cli(["client", "disable", "purged"]).rc == 0
    assert srv.cli(["client", "enable", "purged"]).rc == 0
    f = feed()
    last = ready(f)["id"]
    # the hourly purge, as if an hour had passed: every row up to the last is gone
    db_write(srv.db, "DELETE FROM changes WHERE id <= ?", last)
    g = feed(last_event_id=last - 2)
    assert g.status == 200
    ev = g.next(t(5))
    assert ev["event"] == "reset" and ev["id"] == last, ev
    # the id it is resumed from is still fine: nothing after it was lost
    h = feed(last_event_id=last)
    assert ready(h)["id"] == last


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "99999999999"])
def test_a_malformed_or_future_last_event_id_gets_a_reset(srv, feed, bad):
    f = feed(last_event_id=bad)
    assert f.status == 200
    ev = f.next(t(5))
    assert ev["event"] == "reset", ev
    assert isinstance(ev["data"]["reason"], str) and ev["data"]["reason"]


# ---------------------------------------------------------------- long-lived


def test_heartbeat_comes_within_fifteen_seconds(srv, feed):
    f = feed()
    ready(f)
    deadline = time.monotonic() + t(20)
    while not f.comments and time.monotonic() < deadline:
        f.next(deadline - time.monotonic())
    assert f.comments and f.comments[0].startswith(": keep-alive"), f.comments


def test_a_feed_outlives_connection_timeout(fresh_factory):
    s = fresh_factory.start(config={"server": {"connection_timeout": 1}}, clients=[
        dict(client_id="rs", scope="introspect")])
    f = Feed(s, s.clients["rs"])
    try:
        ready(f)
        # idle for three times connection_timeout: an ordinary connection would be closed
        assert f.next(3.0) is None
        s.add_client("late", grants=["client_credentials"], scope="mqtt:sub:l")
        assert s.cli(["client", "disable", "late"]).rc == 0
        ev, _ = f.until(lambda e: e["event"] == "client")
        assert ev["data"]["client_id"] == "late"
    finally:
        f.close()


def test_open_feeds_hold_no_worker_threads(srv, feed):
    # more feeds than the daemon has worker threads (one per core): each one waits suspended
    feeds = [feed() for _ in range(2 * (os.cpu_count() or 1) + 8)]
    for f in feeds:
        ready(f)
    r = requests.get(srv.url("/healthz"), timeout=t(5))
    assert r.status_code == 200
    srv.add_client("many", grants=["client_credentials"], scope="mqtt:sub:m")
    assert srv.cli(["client", "disable", "many"]).rc == 0
    for f in feeds:
        ev, _ = f.until(lambda e: e["event"] == "client" and e["data"]["client_id"] == "many")
