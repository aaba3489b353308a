"""The connection cap (issue 8): beyond [server] max_connections the daemon still accepts a margin
of connections, and answers each request on them 503 temporarily_unavailable with Retry-After and
Connection: close, instead of leaving the client with a refused or silent connection; the
connections under the cap keep working, and once some close, new ones are served again."""
import json
import signal
import socket
import time

from tessera_harness import t, wait_for

CAP = 20


def request(sock, path="/healthz"):
    """Sends one keep-alive GET on sock and reads the answer: (status, headers, body)."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before an answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=t(10))
    return s


def test_connections_over_the_cap_are_answered_503_and_closed(server_factory):
    srv = server_factory.start(config={"server": {"max_connections": CAP}})
    held = []
    try:
        for _ in range(CAP):
            s = connect(srv)
            status, _, _ = request(s)
            assert status == 200
            held.append(s)
        over = [connect(srv) for _ in range(5)]
        for s in over:
            status, headers, body = request(s)
            assert status == 503, (status, headers, body)
            assert headers.get("retry-after") == "1", headers
            assert headers.get("connection", "").lower() == "close", headers
            assert json.loads(body)["error"] == "temporarily_unavailable"
            s.settimeout(t(10))
            assert s.recv(1) == b""           # the daemon closed it
            s.close()
        # the held connections are still served, again and again (keep-alive)
        for s in held:
            for _ in range(2):
                assert request(s)[0] == 200
        # one leaves: a newcomer is served
        held.pop().close()
        for _ in range(50):
            s = connect(srv)
            status = request(s)[0]
            if status == 200:
                held.append(s)
                break
            s.close()
        assert status == 200
    finally:
        for s in held:
            s.close()


def test_request_heads_up_to_about_5_kib_are_read_and_larger_ones_are_431(server_factory):
    """Each connection's buffer holds the request line and headers (6 KiB): bearer tokens and
    cookies fit; a 20 KB header is refused with 431, not a crash."""
    srv = server_factory.start()
    for size, want in ((4500, 200), (20000, 431)):
        s = connect(srv)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
            assert int(s.recv(100).split(b" ")[1]) == want
        finally:
            s.close()


def test_request_heads_near_the_buffer_size_get_an_answer(server_factory):
    """A head that fits the 6 KiB but leaves too little room for a page gets a bare 431, not a
    connection closed with nothing sent (docs/security.md row 73). libmicrohttpd 0.9.75 still
    closes unanswered the heads of about 5,890 to 6,015 bytes, which leave it no room even
    for that (docs/testing.md, "Known gaps")."""
    srv = server_factory.start()
    for size in range(5500, 5830, 24):
        s = connect(srv)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
            head = s.recv(100)
            assert head.split(b" ")[1:2] in ([b"200"], [b"400"], [b"431"]), (size, head)
        finally:
            s.close()


def test_a_connection_arriving_during_shutdown_is_closed_at_once(fresh_factory):
    """README: on SIGTERM the daemon finishes the requests in flight, and a connection that
    arrives meanwhile is closed at once, unanswered (issue 19 item 17). An idle keep-alive
    connection keeps the daemon in that phase (it waits up to a second for it to go), long enough
    to connect during it."""
    srv = fresh_factory.start(name="shutdown")
    idle = connect(srv)
    try:
        assert request(idle)[0] == 200
        srv.send_signal(signal.SIGTERM)
        assert wait_for(lambda: "tessera: stopping" in srv.stderr(), 5), srv.stderr()
        late = connect(srv)
        start = time.monotonic()
        try:
            late.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            late.settimeout(t(5))
            try:
                got = late.recv(4096)
            except ConnectionResetError:
                got = b""
            took = time.monotonic() - start
            still_running = srv.proc.poll() is None
        finally:
            late.close()
        assert got == b"", "a connection during shutdown was answered: %r" % got[:100]
        assert took < t(0.5), "closed only after %.2f s" % took
        assert still_running, "the daemon had already exited: the test proved nothing"
    finally:
        idle.close()
    assert srv.stop() == 0
