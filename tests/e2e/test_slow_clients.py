"""Slow clients (issue 19 item 10; docs/security.md row 39): a request must arrive within
request_header_timeout (its head, from its first byte) and request_body_timeout (its body),
however steadily it trickles, and one client address may hold at most
max_connections_per_address connections, so that one client's sockets cannot starve everyone at
max_connections. Reverse proxies (proxy_addresses, loopback by default) are not capped per
address. All over raw sockets, from the loopback addresses 127.0.0.x as different clients."""
import socket
import time

import pytest

from tessera_harness import t, wait_for

HEAD_TIMEOUT = 2
BODY_TIMEOUT = 2
# the watcher looks twice a second: a deadline is noticed within half a second of passing
SLACK = 1.5


def connect(srv, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(t(10))
    s.connect(("127.0.0.1", srv.port))
    return s


def request(sock, path="/healthz"):
    """One keep-alive GET on sock: the status, or None when the daemon closed it unanswered."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except ConnectionResetError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length:")]
    while length and len(body) < length[0]:
        body += sock.recv(4096)
    return int(head.split(b" ")[1])


def closed_unanswered(sock, within):
    """True when the daemon closes sock within `within` seconds having sent nothing."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def closes(sock, within):
    """True when the daemon closes sock within `within` seconds (whatever it sent first)."""
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            sock.settimeout(max(end - time.monotonic(), 0.01))
            if sock.recv(4096) == b"":
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        pass
    return False


def trickle(sock, data, every, limit):
    """Sends data a byte every `every` seconds until the daemon closes the connection; returns
    (seconds from the first byte to the close, what the daemon sent), or (None, ...) when it is
    still open after `limit` seconds."""
    start = time.monotonic()
    got = b""
    i = 0
    sock.settimeout(every)
    while time.monotonic() - start < limit:
        if i < len(data):
            try:
                sock.sendall(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start, got
            i += 1
        try:
            chunk = sock.recv(4096)
            if not chunk:
                return time.monotonic() - start, got
            got += chunk
        except socket.timeout:
            pass
        except ConnectionResetError:
            return time.monotonic() - start, got
    return None, got


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config={"server": {
        "request_header_timeout": HEAD_TIMEOUT, "request_body_timeout": BODY_TIMEOUT,
        "connection_timeout": 30}})


def test_a_trickled_request_head_is_closed_at_request_header_timeout(srv):
    """One byte every 0.4 s keeps the connection from ever being idle for connection_timeout (30);
    the whole head must still arrive within request_header_timeout of its first byte."""
    s = connect(srv)
    try:
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
        took, got = trickle(s, head, 0.4, t(HEAD_TIMEOUT + 8))
    finally:
        s.close()
    assert took is not None, "a trickled head was still open %.0f s later" % t(HEAD_TIMEOUT + 8)
    assert HEAD_TIMEOUT - 0.5 <= took <= t(HEAD_TIMEOUT + SLACK), took
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:100]
    assert wait_for(lambda: "request_header_timeout" in srv.stderr(), 2)
    assert srv.get("/healthz").status_code == 200


def test_a_trickled_request_body_is_closed_at_request_body_timeout(srv):
    s = connect(srv)
    try:
        s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n")
        took, got = trickle(s, b"a" * 200, 0.4, t(BODY_TIMEOUT + 8))
    finally:
        s.close()
    assert took is not None, "a trickled body was still open %.0f s later" % t(BODY_TIMEOUT + 8)
    assert BODY_TIMEOUT - 0.5 <= took <= t(BODY_TIMEOUT + SLACK), took
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:100]
    assert wait_for(lambda: "request_body_timeout" in srv.stderr(), 2)


def test_an_idle_keep_alive_connection_outlives_the_request_deadlines(srv):
    """The head's clock starts with the request's first byte, not when the connection falls
    idle: a keep-alive connection silent for longer than both deadlines is still served."""
    s = connect(srv)
    try:
        assert request(s) == 200
        assert not closed_unanswered(s, HEAD_TIMEOUT + BODY_TIMEOUT + 1)
        assert request(s) == 200
        # and a request sent whole at the end of a long silence is served at once
        assert request(s) == 200
    finally:
        s.close()


def test_a_head_sent_slowly_but_within_the_deadline_is_served(srv):
    s = connect(srv)
    try:
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(head[:10])
        time.sleep(HEAD_TIMEOUT / 2.0)
        s.sendall(head[10:])
        s.settimeout(t(5))
        assert s.recv(12) == b"HTTP/1.1 200"
    finally:
        s.close()


def test_one_address_holds_at_most_max_connections_per_address(fresh_factory):
    srv = fresh_factory.start(config={"server": {"max_connections_per_address": 5}})
    held, others = [], []
    try:
        for _ in range(5):
            s = connect(srv, "127.0.0.2")
            assert request(s) == 200
            held.append(s)
        # the sixth from that address is closed at once, before it costs anything more
        extra = connect(srv, "127.0.0.2")
        assert closed_unanswered(extra, t(2)), "the 6th connection from 127.0.0.2 stayed open"
        extra.close()
        assert wait_for(lambda: "over max_connections_per_address (5), the last from 127.0.0.2"
                        in srv.stderr(), 2)
        # other addresses are not affected, and the five held keep being served
        for _ in range(5):
            s = connect(srv, "127.0.0.3")
            assert request(s) == 200
            others.append(s)
        for s in held:
            assert request(s) == 200
        # once one of the five goes, the address may open another
        held.pop().close()

        def newcomer_served():
            s = connect(srv, "127.0.0.2")
            if request(s) == 200:
                held.append(s)
                return True
            s.close()
            return False
        assert wait_for(newcomer_served, 3)
    finally:
        for s in held + others:
            s.close()


def test_proxy_addresses_are_not_capped_per_address(fresh_factory):
    """127.0.0.1 is a proxy address by default: it may hold more than the per-address cap (the
    proxy limits each client itself); with proxy_addresses empty it is capped like any client."""
    srv = fresh_factory.start(config={"server": {"max_connections_per_address": 3}})
    held = []
    try:
        for _ in range(10):
            s = connect(srv, "127.0.0.1")
            assert request(s) == 200
            held.append(s)
    finally:
        for s in held:
            s.close()
    srv2 = fresh_factory.start(config={"server": {"max_connections_per_address": 3,
                                                  "proxy_addresses": ""}}, name="noproxy")
    held = []

    def one_more_served():
        # (the harness's own start-up requests came from 127.0.0.1 too: under load the daemon may
        # count one of them a moment after it closed, so a refusal is tried again)
        s = connect(srv2, "127.0.0.1")
        if request(s) == 200:
            held.append(s)
            return True
        s.close()
        return False
    try:
        for _ in range(3):
            assert wait_for(one_more_served, 3)
        extra = connect(srv2, "127.0.0.1")
        assert closed_unanswered(extra, t(2))
        extra.close()
    finally:
        for s in held:
            s.close()


def test_one_client_with_many_slow_sockets_does_not_starve_others(fresh_factory):
    """The review's attack: one address opens more trickling connections than max_connections.
    It gets its own share only, the daemon closes each trickle at the deadline, and another
    client is answered 200 throughout, not 503."""
    srv = fresh_factory.start(config={"server": {
        "max_connections": 20, "max_connections_per_address": 8,
        "request_header_timeout": HEAD_TIMEOUT}})
    slow = []
    try:
        for _ in range(40):
            try:
                slow.append(connect(srv, "127.0.0.2"))
            except OSError:
                pass
        for s in slow:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
            except OSError:
                pass
        deadline = time.monotonic() + t(HEAD_TIMEOUT + 2)
        while time.monotonic() < deadline:
            for s in slow:
                try:
                    s.sendall(b"X")
                except OSError:
                    pass
            c = connect(srv, "127.0.0.3")
            try:
                assert request(c) == 200
            finally:
                c.close()
            time.sleep(0.3)
        # every slow socket has been closed by now: over the cap at once, the rest at the deadline
        open_ones = [s for s in slow if not closes(s, t(SLACK))]
        assert not open_ones, "%d trickling connections still open" % len(open_ones)
    finally:
        for s in slow:
            s.close()
