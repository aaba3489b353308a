"""The connection cap (issue 8): beyond [server] max_connections the daemon still accepts a margin
of connections, and answers each request on them 503 temporarily_unavailable with Retry-After and
Connection: close, instead of leaving the client with a refused or silent connection; the
connections under the cap keep working, and once some close, new ones are served again."""
import json
import socket

from tessera_harness import t

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
