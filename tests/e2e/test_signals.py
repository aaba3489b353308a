"""Clean shutdown on SIGTERM/SIGINT, SIGHUP as a reload, and what the request log holds (never a
secret)."""
import re
import signal
import socket
import time

import pytest

from tessera_harness import Client, cli_ok, jwt_parts, sanitizer_problems, t, wait_for


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_daemon_with_exit_0(fresh_factory, sig):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    assert s.token(s.clients["dev"]).status_code == 200
    start = time.monotonic()
    rc = s.stop(sig)
    assert rc == 0, "exit %r after %s\n%s" % (rc, sig, s.stderr())
    assert time.monotonic() - start < t(5)
    assert not sanitizer_problems(s.stderr()), s.stderr()
    # The port is free again.
    probe = socket.socket()
    try:
        with pytest.raises(OSError):
            probe.settimeout(1)
            probe.connect(("127.0.0.1", s.port))
    finally:
        probe.close()


def test_sighup_reloads_keys_and_never_stops_the_daemon(fresh_factory):
    """SIGHUP (`systemctl reload`, or the terminal it ran in closing) used to stop the daemon,
    its default action. Now it re-reads the signing keys and clients at once and goes on."""
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    dev = s.clients["dev"]
    c = socket.create_connection(("127.0.0.1", s.port), timeout=t(5))
    try:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        new_kid = cli_ok(["key", "rotate"], db=s.db)["kid"]
        for _ in range(3):
            s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "tessera: SIGHUP: signing keys and clients re-read" in
                        s.stderr(), within=5), s.stderr()
        assert s.proc.poll() is None, s.stderr()
        # the key rotated before the signal is published, and signs from its time on (half a
        # second after the rotation, so that every node publishes it first: docs/nodes.md)
        assert new_kid in [k["kid"] for k in s.jwks()["keys"]]
        assert wait_for(lambda: jwt_parts(s.access_token(dev))[0]["kid"] == new_kid,
                        within=1.0, step=0.02)
        # a connection open across the signals still works
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        c.close()
    assert s.stop() == 0, s.stderr()
    assert not sanitizer_problems(s.stderr()), s.stderr()


def test_sigterm_with_idle_keepalive_connection_exits_0(fresh_factory):
    s = fresh_factory.start()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=t(5))
    try:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        assert s.stop() == 0, s.stderr()
    finally:
        c.close()


def test_sigterm_finishes_in_flight_request(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    dev = s.clients["dev"]
    body = b"grant_type=client_credentials"
    c = socket.create_connection(("127.0.0.1", s.port), timeout=t(5))
    try:
        # a first request answered: the daemon has taken the connection in (a connection it
        # had not yet accepted at SIGTERM would be closed unanswered, test_connections.py)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        c.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Authorization: " + dev.basic().encode() + b"\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        s.send_signal(signal.SIGTERM)
        # the rest of the body arrives once the daemon is stopping
        assert wait_for(lambda: "tessera: stopping" in s.stderr(), within=5), s.stderr()
        c.sendall(body[10:])
        c.settimeout(t(5))
        data = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        c.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert b"access_token" in data
    assert s.stop() == 0


def test_log_lines_have_method_path_status_and_client_never_secrets(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "logdev", "scope": "mqtt:pub:a/#"},
                                     {"client_id": "logrs", "scope": "introspect"}])
    dev, rs = s.clients["logdev"], s.clients["logrs"]
    tok_basic = s.access_token(dev)
    tok_post = s.access_token(dev, auth="post")
    assert s.introspect(rs, tok_basic).json()["active"] is True
    assert s.introspect(rs, tok_post, auth="post").json()["active"] is True
    assert s.token(Client("logdev", "wrong-secret-value-123")).status_code == 401
    assert s.token(Client("logdev", "wrong-post-secret-456"), auth="post").status_code == 401
    assert s.revoke(dev, tok_post).status_code == 200
    assert s.get("/nope").status_code == 404
    assert s.stop() == 0
    log = s.stderr()
    for secret in (dev.secret, rs.secret, tok_basic, tok_post, "wrong-secret-value-123",
                   "wrong-post-secret-456", tok_basic.split(".")[2], tok_post.split(".")[2]):
        assert secret not in log, "secret in log: %r" % secret[:20]
    lines = log.splitlines()

    def has(pattern):
        return any(re.search(pattern, l) for l in lines)

    assert has(r"\bPOST\s+/token\s+200\b.*\blogdev\b"), log
    assert has(r"\bPOST\s+/token\s+401\b"), log
    assert has(r"\bPOST\s+/introspect\s+200\b.*\blogrs\b"), log
    assert has(r"\bPOST\s+/revoke\s+200\b.*\blogdev\b"), log
    assert has(r"\bGET\s+/nope\s+404\b"), log
    # a duration on each request line
    req = [l for l in lines if re.search(r"\b(GET|POST)\s+/", l)]
    assert req and all(re.search(r"\d+(\.\d+)?\s*(ms|us|µs|s)\b", l) for l in req), req


def test_log_never_holds_query_string_secrets(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "q", "scope": "x"}])
    c = s.clients["q"]
    s.get("/healthz?client_secret=" + c.secret)
    s.get("/token?client_secret=" + c.secret)
    assert s.stop() == 0
    assert c.secret not in s.stderr()


def test_sigterm_during_a_burst_of_writes_loses_no_answered_one(fresh_factory):
    """Device authorizations wait for their commit without holding a worker (the connection is
    suspended): SIGTERM in the middle of a burst must still end cleanly, and every device code
    that was answered must be in the database after a restart."""
    import threading

    import requests

    s = fresh_factory.start(clients=[{"client_id": "tv", "grants": ["device_code"],
                                      "scope": "mqtt:sub:x/#"}], name="burst")
    tv = s.clients["tv"]
    answered, wrong, lock, stop = [], [], threading.Lock(), threading.Event()

    def burst():
        # what a thread sees is collected and asserted in the main thread (pytest only warns
        # about an assertion failing in a thread)
        with requests.Session() as h:
            while not stop.is_set():
                try:
                    r = h.post(s.url("/device_authorization"), data={"scope": "mqtt:sub:x/#"},
                               auth=(tv.id, tv.secret), timeout=t(5))
                except requests.RequestException:
                    return      # the daemon closed the connection as it stopped
                with lock:
                    if r.status_code == 200:
                        answered.append(r.json()["device_code"])
                    elif r.status_code != 503:
                        wrong.append((r.status_code, r.text[:200]))

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for th in threads:
        th.start()
    # SIGTERM in the middle of the burst: once more than 20 answers have come back
    assert wait_for(lambda: len(answered) > 20, within=10), (len(answered), wrong)
    rc = s.stop()
    stop.set()
    for th in threads:
        th.join(t(10))
    assert not any(th.is_alive() for th in threads), "a request never finished"
    assert not wrong, wrong     # every answer was 200 or 503
    assert rc == 0, s.stderr()
    assert not sanitizer_problems(s.stderr()), s.stderr()
    assert len(answered) > 20, len(answered)
    s.start()
    for code in answered:
        r = s.token(tv, grant_type="urn:ietf:params:oauth:grant-type:device_code",
                    extra=[("device_code", code)])
        assert r.status_code == 400 and r.json()["error"] == "authorization_pending", r.text
