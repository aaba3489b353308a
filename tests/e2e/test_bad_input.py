"""Hostile and malformed input: rows 15, 39 and 40, content types, 404 and 405."""
import base64
import socket
import time
import urllib.parse

import pytest
import requests

from tessera_harness import http_timeout, t

SQL = ["' OR '1'='1", "'; DROP TABLE clients;--", '" OR 1=1--', "\\", "%", "1; SELECT * FROM signing_keys"]
RAW_BAD = ["%00", "a%00b", "%FF", "%C3%28", "%ED%A0%80", "%F8%88%80%80%80", "%zz", "%4", "a%"]
BIG = "A" * 100000


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(
        config={"server": {"max_body": 262144, "connection_timeout": 2}},
        clients=[{"client_id": "dev", "scope": "mqtt:pub:a/#"},
                 {"client_id": "rs", "scope": "introspect"}])


def raw_post(srv, path, body, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return requests.post(srv.url(path), data=body, headers=h, timeout=http_timeout())


def enc(pairs):
    return urllib.parse.urlencode(pairs)


def assert_clear_4xx(r, allow_inactive=False):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if allow_inactive and r.status_code == 200:
        assert r.json().get("active") in (False, True), r.text[:300]
        return
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code != 413:
        assert r.json()["error"], r.text[:300]


# ---------------------------------------------------------------- row 15

def test_row15_repeated_scope_at_token_is_invalid_request(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", "grant_type=client_credentials&scope=mqtt%3Apub%3Aa%2Fb&scope=mqtt%3Apub%3Aa%2Fc",
                 {"Authorization": c.basic()})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_row15_repeated_identical_grant_type_is_invalid_request(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", "grant_type=client_credentials&grant_type=client_credentials",
                 {"Authorization": c.basic()})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_row15_repeated_client_id_is_invalid_request(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", enc([("grant_type", "client_credentials"), ("client_id", c.id),
                                     ("client_id", c.id), ("client_secret", c.secret)]))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_row15_repeated_empty_parameter_is_invalid_request(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", "grant_type=client_credentials&scope=&scope=",
                 {"Authorization": c.basic()})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_row15_repeated_token_at_introspect_and_revoke_is_invalid_request(srv):
    tok = srv.access_token(srv.clients["dev"])
    for path in ("/introspect", "/revoke"):
        r = raw_post(srv, path, enc([("token", tok), ("token", tok)]),
                     {"Authorization": srv.clients["rs"].basic()})
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"] == "invalid_request"
    assert srv.is_active(srv.clients["rs"], tok) is True


def test_row15_unknown_parameter_is_ignored(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", "grant_type=client_credentials&extra=foobar",
                 {"Authorization": c.basic()})
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    r = raw_post(srv, "/introspect", enc([("token", tok), ("extra", "foobar")]),
                 {"Authorization": srv.clients["rs"].basic()})
    assert r.status_code == 200 and r.json()["active"] is True


# ---------------------------------------------------------------- row 39

def test_row39_body_over_max_body_is_413(srv):
    c = srv.clients["dev"]
    body = "grant_type=client_credentials&pad=" + "A" * 262144
    r = raw_post(srv, "/token", body, {"Authorization": c.basic()})
    assert r.status_code == 413, (r.status_code, r.text[:200])
    assert srv.get("/healthz").status_code == 200


def test_row39_body_just_under_max_body_is_accepted(srv):
    c = srv.clients["dev"]
    head = "grant_type=client_credentials&pad="
    r = raw_post(srv, "/token", head + "A" * (262144 - len(head) - 10), {"Authorization": c.basic()})
    assert r.status_code == 200, (r.status_code, r.text[:200])


def test_row39_chunked_body_over_limit_is_413(srv):
    c = srv.clients["dev"]

    def gen():
        yield b"grant_type=client_credentials&pad="
        for _ in range(40):
            yield b"A" * 10000

    try:
        r = requests.post(srv.url("/token"), data=gen(), timeout=http_timeout(),
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Authorization": c.basic()})
    except requests.ConnectionError:
        pytest.fail("connection dropped instead of a 413 reply")
    assert r.status_code == 413, (r.status_code, r.text[:200])


def test_row39_default_max_body_is_65536(fresh_factory):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "x"}])
    c = s.clients["dev"]
    head = "grant_type=client_credentials&pad="
    r = raw_post(s, "/token", head + "A" * (65536 - len(head) + 1), {"Authorization": c.basic()})
    assert r.status_code == 413, (r.status_code, r.text[:200])
    r = raw_post(s, "/token", head + "A" * (65536 - len(head) - 100), {"Authorization": c.basic()})
    assert r.status_code == 200, (r.status_code, r.text[:200])


def read_reply(sock, limit):
    sock.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                break
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    return data


def test_row39_declared_content_length_over_limit_is_413_without_waiting_for_body(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    try:
        s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 1000000000\r\n\r\ngrant_type=client_credentials")
        data = read_reply(s, t(1.5))  # under connection_timeout=2: must not be the timeout
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 413") or data.startswith(b"HTTP/1.0 413"), data[:200]


def test_row39_slow_client_is_closed_after_connection_timeout(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    try:
        s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 100\r\n\r\ngrant_")
        start = time.monotonic()
        # Others are served while this connection hangs.
        assert srv.get("/healthz").status_code == 200
        s.settimeout(t(2 + 6))
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
        except ConnectionResetError:
            pass
        except socket.timeout:
            pytest.fail("slow connection still open %.1f s later (connection_timeout=2)"
                        % (time.monotonic() - start))
        took = time.monotonic() - start
    finally:
        s.close()
    assert took >= 1.0, "closed after %.2f s, before connection_timeout" % took
    assert took <= t(2 + 5), took
    assert srv.get("/healthz").status_code == 200


def test_row39_slow_header_client_is_closed_too(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=t(5))
    try:
        s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        start = time.monotonic()
        s.settimeout(t(8))
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            pytest.fail("connection with partial headers still open")
        took = time.monotonic() - start
    finally:
        s.close()
    assert 1.0 <= took <= t(7), took


# ---------------------------------------------------------------- row 40

TOKEN_FIELDS = ["grant_type", "scope", "client_id", "client_secret"]
INTROSPECT_FIELDS = ["token", "token_type_hint", "client_id", "client_secret"]


def token_body(srv, field, raw_value):
    """A post-auth /token body with field's value replaced by raw_value (already encoded)."""
    c = srv.clients["dev"]
    vals = {"grant_type": "client_credentials", "scope": "mqtt:pub:a/b", "client_id": c.id,
            "client_secret": c.secret}
    parts = []
    for k, v in vals.items():
        parts.append("%s=%s" % (k, raw_value if k == field else urllib.parse.quote_plus(v)))
    return "&".join(parts)


def introspect_body(srv, field, raw_value, tok):
    c = srv.clients["rs"]
    vals = {"token": tok, "token_type_hint": "access_token", "client_id": c.id,
            "client_secret": c.secret}
    parts = []
    for k, v in vals.items():
        parts.append("%s=%s" % (k, raw_value if k == field else urllib.parse.quote_plus(v)))
    return "&".join(parts)


@pytest.fixture(scope="module")
def live_token(srv):
    return srv.access_token(srv.clients["dev"])


def test_row40_controls_are_accepted(srv, live_token):
    """The bodies below differ from these only in one field."""
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", token_body(srv, "scope", "mqtt%3Apub%3Aa%2Fb"))
    assert r.status_code == 200, r.text
    r = raw_post(srv, "/introspect", introspect_body(srv, "token_type_hint", "access_token",
                                                     live_token))
    assert r.status_code == 200 and r.json()["active"] is True
    assert c


@pytest.mark.parametrize("field", TOKEN_FIELDS)
@pytest.mark.parametrize("value", SQL + [BIG], ids=lambda v: v[:12] if len(v) < 50 else "100KB")
def test_row40_token_sql_and_huge_values_are_clear_4xx(srv, field, value):
    r = raw_post(srv, "/token", token_body(srv, field, urllib.parse.quote_plus(value)))
    assert_clear_4xx(r)
    assert r.json()["error"] in ("invalid_request", "invalid_client", "invalid_scope",
                                 "unsupported_grant_type"), r.text[:300]


@pytest.mark.parametrize("field", TOKEN_FIELDS)
@pytest.mark.parametrize("raw", RAW_BAD)
def test_row40_token_nul_bad_utf8_bad_percent_are_invalid_request(srv, field, raw):
    r = raw_post(srv, "/token", token_body(srv, field, raw))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("field", INTROSPECT_FIELDS)
@pytest.mark.parametrize("value", SQL + [BIG], ids=lambda v: v[:12] if len(v) < 50 else "100KB")
def test_row40_introspect_sql_and_huge_values_never_5xx(srv, live_token, field, value):
    r = raw_post(srv, "/introspect", introspect_body(srv, field, urllib.parse.quote_plus(value),
                                                     live_token))
    if field == "token":
        assert r.status_code == 200, r.text[:300]
        assert r.json() == {"active": False}
    elif field == "token_type_hint":
        assert r.status_code == 200, r.text[:300]
        assert r.json()["active"] is True
    else:
        assert_clear_4xx(r)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text[:300]


@pytest.mark.parametrize("field", INTROSPECT_FIELDS)
@pytest.mark.parametrize("raw", RAW_BAD)
def test_row40_introspect_nul_bad_utf8_bad_percent_are_invalid_request(srv, live_token, field,
                                                                       raw):
    r = raw_post(srv, "/introspect", introspect_body(srv, field, raw, live_token))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("part", ["id", "secret"])
@pytest.mark.parametrize("value", SQL + ["\x00", "a\x00b", "%00", "%FF", "%zz", "A" * 20000],
                         ids=lambda v: repr(v[:12]))
def test_row40_basic_header_fields_are_clear_4xx(srv, part, value):
    c = srv.clients["dev"]
    if part == "id":
        raw = value.encode("utf-8") + b":" + c.secret.encode()
    else:
        raw = urllib.parse.quote_plus(c.id).encode() + b":" + value.encode("utf-8")
    hdr = "Basic " + base64.b64encode(raw).decode()
    r = raw_post(srv, "/token", "grant_type=client_credentials", {"Authorization": hdr})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code in (400, 401):
        assert r.json()["error"] in ("invalid_client", "invalid_request")


def test_row40_raw_invalid_utf8_bytes_in_body_are_invalid_request(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", b"grant_type=client_credentials&scope=\xff\xfe",
                 {"Authorization": c.basic()})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    r = raw_post(srv, "/token", b"grant_type=client_credentials&scope=a\x00b",
                 {"Authorization": c.basic()})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_row40_server_survives_everything(srv):
    assert srv.get("/healthz").json() == {"status": "ok"}
    assert srv.token(srv.clients["dev"]).status_code == 200


# ---------------------------------------------------------------- content type

@pytest.mark.parametrize("ctype,body", [
    ("application/json", '{"grant_type":"client_credentials"}'),
    ("text/plain", "grant_type=client_credentials"),
    ("multipart/form-data; boundary=XyZ",
     "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ--\r\n"),
    (None, "grant_type=client_credentials"),
])
def test_wrong_content_type_at_token_is_invalid_request(srv, ctype, body):
    c = srv.clients["dev"]
    h = {"Authorization": c.basic()}
    if ctype:
        h["Content-Type"] = ctype
    req = requests.Request("POST", srv.url("/token"), data=body, headers=h).prepare()
    if ctype is None:
        req.headers.pop("Content-Type", None)
    with requests.Session() as sess:
        r = sess.send(req, timeout=http_timeout())
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"] == "invalid_request"
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_wrong_content_type_at_introspect_is_invalid_request(srv, live_token):
    r = requests.post(srv.url("/introspect"), json={"token": live_token},
                      headers={"Authorization": srv.clients["rs"].basic()},
                      timeout=http_timeout())
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_form_content_type_with_charset_is_accepted(srv):
    c = srv.clients["dev"]
    r = raw_post(srv, "/token", "grant_type=client_credentials",
                 {"Authorization": c.basic(),
                  "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- 404 / 405

@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"), ("POST", "/nope"), ("GET", "/TOKEN"), ("GET", "/../../etc/passwd"),
    ("GET", "/jwks/extra"), ("GET", "/%01"), ("GET", "/.well-known/"),
])
def test_unknown_path_is_404_not_found(srv, method, path):
    r = requests.request(method, srv.base + path, timeout=http_timeout())
    assert r.status_code == 404, (r.status_code, r.text)
    assert r.json()["error"] == "not_found"


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/token", "POST"), ("PUT", "/token", "POST"), ("DELETE", "/introspect", "POST"),
    ("GET", "/revoke", "POST"), ("POST", "/jwks", "GET"), ("DELETE", "/jwks", "GET"),
    ("POST", "/healthz", "GET"), ("PUT", "/metrics", "GET"),
    ("POST", "/.well-known/oauth-authorization-server", "GET"),
])
def test_wrong_method_is_405_with_allow(srv, method, path, allow):
    r = requests.request(method, srv.url(path), timeout=http_timeout())
    assert r.status_code == 405, (r.status_code, r.text)
    assert allow in [m.strip() for m in r.headers.get("Allow", "").split(",")], r.headers


def test_get_token_with_query_credentials_is_405_and_issues_nothing(srv):
    c = srv.clients["dev"]
    r = requests.get(srv.url("/token"), params={"grant_type": "client_credentials",
                                                "client_id": c.id, "client_secret": c.secret},
                     timeout=http_timeout())
    assert r.status_code == 405
    assert "access_token" not in r.text


def test_query_string_on_jwks_is_fine(srv):
    assert srv.get("/jwks?x=1").status_code == 200
