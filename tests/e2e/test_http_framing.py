"""HTTP framing and request targets (issue 19 items 13 and 14; RFC 9112 §6.1, §6.3, RFC 9110
§5.1, §8.6): a request whose body a proxy in front could frame differently is refused with 400
and its connection closed before the body is read, so nothing can be smuggled after it; a NUL in
the path, raw or as %00, is refused instead of cutting the path short. Raw sockets throughout:
no HTTP library sends these."""
import json
import socket
import time

import pytest

from tessera_harness import t

FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
# a request that, if the daemon read the body as the other framing says, would be run second
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(srv, data, wait=None):
    """Sends data on a new connection and reads until the daemon closes it or `wait` seconds pass:
    (everything received, closed: bool, seconds taken)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    got, closed = b"", False
    start = time.monotonic()
    try:
        s.sendall(data)
        s.settimeout(wait or t(3))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    finally:
        s.close()
    return got, closed, time.monotonic() - start


def answers(got):
    """The (status, headers, body) of each answer in got."""
    out = []
    while got:
        head, sep, rest = got.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(headers.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), headers, rest[:n]))
        got = rest[n:]
    return out


def assert_refused(srv, data, why):
    got, closed, took = exchange(srv, data)
    a = answers(got)
    assert len(a) == 1, "expected one answer then the end, got %r" % (got[:600],)
    status, headers, body = a[0]
    assert status == 400, (status, body)
    assert json.loads(body) == {"error": "invalid_request", "error_description": why}, body
    assert headers.get("connection", "").lower() == "close", headers
    assert closed, "the connection stayed open after the refusal"
    assert took < t(2), "took %.1f s: the refusal must not wait for a body" % took


def post(extra_headers, body=b""):
    return b"POST /token HTTP/1.1\r\nHost: x\r\n" + FORM + extra_headers + b"\r\n" + body


def test_duplicate_content_length_with_different_values_is_400(srv_plain):
    assert_refused(srv_plain, post(b"Content-Length: 5\r\nContent-Length: 50\r\n",
                                   b"abcde" + SMUGGLED),
                   "Content-Length repeated with different values")


def test_duplicate_content_length_with_the_same_value_frames_one_body(srv_plain):
    """RFC 9110 §8.6 lets a recipient take repeated identical values as one."""
    got, _closed, _ = exchange(srv_plain, post(b"Content-Length: 5\r\nContent-Length: 005\r\n",
                                               b"abcde"), wait=1)
    a = answers(got)
    assert len(a) == 1 and a[0][0] == 401, got[:300]   # a form without a client: no framing error


def test_content_length_with_transfer_encoding_is_400_and_nothing_is_smuggled(srv_plain):
    """The review's case: served as chunked, the rest of the Content-Length body ran as a second
    request. Now one answer, 400, and the connection closes."""
    body = b"0\r\n\r\n" + SMUGGLED
    assert_refused(srv_plain, post(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n"
                                   % len(body), body),
                   "both Content-Length and Transfer-Encoding")


def test_transfer_encoding_with_a_space_before_the_colon_is_400(srv_plain):
    """RFC 9112 §5.1: whitespace between a field name and the colon is a 400. libmicrohttpd keeps
    the space in the name, so the field was silently ignored and Content-Length used."""
    assert_refused(srv_plain, post(b"Transfer-Encoding : chunked\r\nContent-Length: 5\r\n",
                                   b"0\r\n\r\n"), "malformed header field name")


@pytest.mark.parametrize("te, why", [
    (b"chunked, identity", "Transfer-Encoding must end with chunked"),
    (b"identity", "Transfer-Encoding must end with chunked"),
    (b"gzip, chunked", "unsupported transfer coding: only chunked is accepted"),
    (b"chunked, chunked", "chunked applied more than once"),
    (b"chunked ", "Transfer-Encoding must be exactly chunked"),
], ids=["chunked-identity", "identity", "gzip-chunked", "chunked-twice", "trailing-space"])
def test_transfer_encoding_other_than_chunked_is_400_at_once(srv_plain, te, why):
    """`chunked, identity` waited 30 s for a body framed by nothing (RFC 9112 §6.1: chunked must
    be the final coding, else 400 and close)."""
    assert_refused(srv_plain, post(b"Transfer-Encoding: " + te + b"\r\n",
                                   b"3\r\nabc\r\n0\r\n\r\n"), why)


def test_two_transfer_encoding_fields_are_400(srv_plain):
    assert_refused(srv_plain, post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                   b"0\r\n\r\n"), "Transfer-Encoding repeated")


def test_transfer_encoding_in_http_1_0_is_400(srv_plain):
    assert_refused(srv_plain, b"POST /token HTTP/1.0\r\n" + FORM +
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   "Transfer-Encoding in an HTTP/1.0 request")


def test_a_bare_cr_in_a_field_value_is_400(srv_plain):
    assert_refused(srv_plain, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
                   "control character in a header field")


def test_plain_chunked_bodies_still_work(srv_plain):
    body = b"grant_type=client_credentials"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    got, _closed, _ = exchange(srv_plain, post(b"Transfer-Encoding: chunked\r\n", chunked) +
                               SMUGGLED, wait=1)
    a = answers(got)
    # the form is read (no client: 401), and the pipelined request after it is served too
    assert [x[0] for x in a] == [401, 200], got[:600]


@pytest.mark.parametrize("target", [b"/metrics%00x", b"/healthz%00", b"/token%00/x",
                                    b"/metrics\x00x", b"/healthz\x00?a=1"],
                         ids=["pct-metrics", "pct-end", "pct-middle", "raw-metrics", "raw-query"])
def test_a_nul_in_the_path_is_400(srv_plain, target):
    """/metrics%00x served /metrics: libmicrohttpd decodes the path in place and cuts it at the
    NUL. A raw NUL did the same."""
    assert_refused(srv_plain, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                   "NUL in the request target")


def test_a_percent_zero_elsewhere_is_fine(srv_plain):
    """%00 in the query is the form parser's to judge (invalid_request where a parameter is
    read); %000 spelled with another digit is no NUL."""
    got, _c, _ = exchange(srv_plain, b"GET /healthz?x=%00 HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
    assert answers(got)[0][0] == 200, got[:300]
    got, _c, _ = exchange(srv_plain, b"GET /healthz%01 HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
    assert answers(got)[0][0] == 404, got[:300]


@pytest.fixture(scope="module")
def srv_plain(server_factory):
    return server_factory.start()
