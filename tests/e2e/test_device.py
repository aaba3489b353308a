"""The device authorization grant (RFC 8628, as the README describes it), part one: discovery,
POST /device_authorization and the QR code; the /device pages are in test_device_pages.py,
polling /token and the user code lock-outs in test_device_polling.py. docs/security.md rows 19,
22 and 23."""
import ctypes.util
import glob
import re
import time
import urllib.parse

import pytest
import requests

from device_cases import (B64URL, Client, DEVICE_FIELDS, DEVICE_GRANT, INTERVAL, NO_LOCKOUT, Page,
                          TTL, TV_SCOPE, UserAgent, VSCHAR, approved, b64url_decode, c,
                          check_device_page, device_clients, device_decide, device_flow,
                          device_open, http_timeout, is_device_confirmation, normalize_user_code,
                          raw_post, short, srv, token_error, token_key, token_ok, tokens_config,
                          unknown_code, user, user_code_spellings)  # noqa: F401 (srv, short: fixtures)


# ---------------------------------------------------------------- discovery


@pytest.mark.parametrize("doc", ["/.well-known/openid-configuration",
                                 "/.well-known/oauth-authorization-server"])
def test_discovery_lists_the_device_endpoint_and_grant(srv, doc):
    r = srv.get(doc)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["device_authorization_endpoint"] == srv.issuer + "/device_authorization", d
    assert DEVICE_GRANT in d["grant_types_supported"], d


# ---------------------------------------------------------------- POST /device_authorization


def test_device_authorization_answer_fields_and_formats(srv):
    r = srv.device_authorization(c(srv, "tv"), scope="openid mqtt:pub:home/#")
    body = token_ok(r)      # 200, application/json, Cache-Control: no-store (row 19)
    assert set(body) >= set(DEVICE_FIELDS), body
    dc, uc = body["device_code"], body["user_code"]
    assert isinstance(dc, str) and len(dc) == 51 and B64URL.match(dc), dc
    assert len(b64url_decode(dc)) == 38   # the time it was made (6 bytes), 32 random bytes
    assert re.match(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$", uc), uc
    assert body["verification_uri"] == srv.issuer + "/device"
    assert body["verification_uri_complete"] == srv.issuer + "/device?user_code=" + uc
    assert body["verification_uri_qr"] == srv.issuer + "/device/qr?user_code=" + uc
    assert body["expires_in"] == TTL and isinstance(body["expires_in"], int)
    assert body["interval"] == INTERVAL and isinstance(body["interval"], int)


def test_device_authorization_defaults_are_600_seconds_and_interval_5(fresh_factory):
    s = fresh_factory.start(clients=[dict(client_id="tv", grants=["device_code"],
                                          scope=TV_SCOPE)], name="device-defaults")
    body = s.device_start(c(s, "tv"))
    assert body["expires_in"] == 600 and body["interval"] == 5, body


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_device_authorization_confidential_client_basic_or_post(srv, auth):
    body = token_ok(srv.device_authorization(c(srv, "tv"), auth=auth))
    assert len(body["device_code"]) == 51


def test_device_authorization_public_client_sends_client_id_only(srv):
    body = token_ok(srv.device_authorization(c(srv, "pub")))
    assert len(body["device_code"]) == 51


def test_device_authorization_without_scope_is_fine(srv):
    token_ok(srv.device_authorization(c(srv, "tv"), scope=None))


@pytest.mark.parametrize("how", ["basic-wrong-secret", "post-wrong-secret", "unknown-client",
                                 "confidential-without-secret", "unknown-public"])
def test_device_authorization_bad_client_authentication_is_invalid_client(srv, how):
    tv = c(srv, "tv")
    if how == "basic-wrong-secret":
        r = srv.device_authorization(Client("tv", "wrong-" + tv.secret), auth="basic")
    elif how == "post-wrong-secret":
        r = srv.device_authorization(Client("tv", "wrong"), auth="post")
    elif how == "unknown-client":
        r = srv.device_authorization(Client("nobody", "secret"), auth="basic")
    elif how == "confidential-without-secret":
        r = srv.device_authorization(Client("tv"), auth="none")
    else:
        r = srv.device_authorization(Client("no-such-public"), auth="none")
    assert token_error(r, 401) == "invalid_client"
    assert r.headers.get("WWW-Authenticate"), r.headers


@pytest.mark.parametrize("cid", ["code-only", "cc-only"])
def test_device_authorization_client_without_device_grant_is_unauthorized_client(srv, cid):
    assert token_error(srv.device_authorization(c(srv, cid))) == "unauthorized_client"


@pytest.mark.parametrize("scope", ["mqtt:pub:a/#/b", 'mqtt:sub:a"b', "mqtt:sub:a\\b",
                                   "openid mqtt:pub:sensors/#/x", "mqtt:pub:"])
def test_device_authorization_malformed_scope_is_invalid_scope(srv, scope):
    assert token_error(srv.device_authorization(c(srv, "tv"), scope=scope)) == "invalid_scope"


@pytest.mark.parametrize("scope", ["introspect", "scim", "mqtt:pub:elsewhere/x",
                                   "mqtt:sub:sensors/x", "nonsense"])
def test_device_authorization_scope_the_client_can_never_get_is_invalid_scope(srv, scope):
    assert token_error(srv.device_authorization(c(srv, "tv"), scope=scope)) == "invalid_scope"


def test_device_authorization_partly_impossible_scope_never_grants_the_impossible_part(srv):
    """Refused at once (invalid_scope), or, as elsewhere, the impossible token is left out."""
    r = srv.device_authorization(c(srv, "tv"), scope="openid mqtt:pub:elsewhere/x")
    if r.status_code != 200:
        assert token_error(r) == "invalid_scope"
        return
    body = token_ok(r)
    u, pw, _ = user(srv)
    a = UserAgent(srv)
    rr = device_open(a, body["user_code"], u, pw)
    assert is_device_confirmation(rr)
    assert "elsewhere" not in Page(rr).text
    check_device_page(device_decide(a, rr, "allow"), 200)
    assert token_ok(srv.device_poll(c(srv, "tv"), body["device_code"]))["scope"] == "openid"


@pytest.mark.parametrize("body", [
    "scope=openid&scope=openid",
    "scope=openid&scope=profile",
    "client_id=pub&client_id=pub",
], ids=["same-scope-twice", "two-scopes", "client-id-twice"])
def test_device_authorization_repeated_parameter_is_invalid_request(srv, body):
    h = {}
    if "client_id" not in body:
        h["Authorization"] = c(srv, "tv").basic()
    r = raw_post(srv, "/device_authorization", body, h)
    assert token_error(r) == "invalid_request"


def test_device_authorization_get_is_405(srv):
    r = srv.get("/device_authorization", headers={"Authorization": c(srv, "tv").basic()})
    assert r.status_code == 405, (r.status_code, r.text[:300])


def test_row22_issued_device_codes_and_user_codes_are_distinct(srv):
    tv = c(srv, "tv")
    dcs, ucs = set(), set()
    n = 200
    with requests.Session() as sess:
        for i in range(n):
            r = sess.post(srv.url("/device_authorization"), data="scope=openid",
                          headers={"Authorization": tv.basic(),
                                   "Content-Type": "application/x-www-form-urlencoded"},
                          timeout=http_timeout())
            assert r.status_code == 200, (i, r.status_code, r.text)
            body = r.json()
            dc, uc = body["device_code"], body["user_code"]
            assert len(dc) == 51 and B64URL.match(dc) and VSCHAR.match(dc), dc
            assert len(b64url_decode(dc)) * 8 >= 128
            assert normalize_user_code(uc) == uc, uc
            dcs.add(dc)
            ucs.add(uc)
    assert len(dcs) == n and len(ucs) == n
    # the letters are spread over the whole alphabet (no constant positions)
    for pos in (0, 3, 5, 8):
        assert len({u[pos] for u in ucs}) >= 10, pos


def db_bytes(db):
    out = {}
    for p in [db] + glob.glob(db + "-*"):
        with open(p, "rb") as f:
            out[p] = f.read()
    return out


def encodings(raw):
    import base64
    return [raw, raw.hex().encode(), raw.hex().upper().encode(),
            base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(raw).rstrip(b"=")]


@pytest.mark.sqlite_only("reads the bytes of the SQLite file and its WAL")
def test_row23_device_codes_are_not_stored_in_clear(fresh_factory):
    s = fresh_factory.start(config=tokens_config(**NO_LOCKOUT), clients=device_clients(),
                            name="device-db")
    pending = [s.device_start(c(s, "tv"))["device_code"] for _ in range(3)]
    lg, tokens = approved(s)
    denied = device_flow(s, c(s, "tv"), decision="deny").device_code
    codes = pending + [lg.device_code, denied]
    files = db_bytes(s.db)
    for dc in codes:
        raw = b64url_decode(dc)
        for form in [dc.encode()] + encodings(raw):
            for p, data in files.items():
                assert form not in data, "device code %s... in clear in %s" % (dc[:8], p)
    # the control: the device authorizations were recorded before the answers, under their key
    # (the time at the code's start, then 26 bytes of the SHA-256 of its text)
    for dc in pending:
        assert any(token_key(dc) in data for data in files.values()), \
            "no key of device code %s... in the database or its WAL" % dc[:8]
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        for data in files.values():
            assert tok.encode() not in data
    s.stop()
    files = db_bytes(s.db)
    for dc in codes:
        for data in files.values():
            assert dc.encode() not in data and b64url_decode(dc) not in data


# ---------------------------------------------------------------- GET /device/qr


def qr_get(s, typed):
    return s.get("/device/qr?" + urllib.parse.urlencode([("user_code", typed)]))


def assert_svg(r):
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "image/svg+xml", r.headers
    body = r.text.lstrip()
    if body.startswith("<?xml"):
        body = body[body.index("?>") + 2:].lstrip()
    assert body.startswith("<svg"), r.text[:200]
    low = r.text.lower()
    assert "<script" not in low and "http://" not in low.replace("http://www.w3.org/", ""), \
        r.text[:500]
    return r.text


def _path_edges(d, tx, ty):
    """The straight edges of an SVG path made of M/L/H/V/Z commands (absolute or relative)."""
    toks = re.findall(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", d)
    edges = []
    x = y = sx = sy = 0.0
    cmd = None
    i = 0

    def close():
        if (x, y) != (sx, sy):
            edges.append(((x, y), (sx, sy)))

    while i < len(toks):
        tk = toks[i]
        if tk.isalpha():
            cmd = tk
            i += 1
            if cmd in "Zz":
                close()
                x, y = sx, sy
            elif cmd not in "MmLlHhVv":
                raise AssertionError("unsupported SVG path command %r" % cmd)
            continue
        if cmd in "Mm":
            close()
            nx, ny = float(toks[i]), float(toks[i + 1])
            i += 2
            if cmd == "m":
                nx, ny = nx + x, ny + y
            x, y = sx, sy = nx, ny
            cmd = "L" if cmd == "M" else "l"
            continue
        if cmd in "Ll":
            nx, ny = float(toks[i]), float(toks[i + 1])
            i += 2
            if cmd == "l":
                nx, ny = nx + x, ny + y
        elif cmd in "Hh":
            nx, ny = float(toks[i]) + (x if cmd == "h" else 0), y
            i += 1
        elif cmd in "Vv":
            nx, ny = x, float(toks[i]) + (y if cmd == "v" else 0)
            i += 1
        else:
            raise AssertionError("SVG path data without a command: %r" % d[:80])
        edges.append(((x, y), (nx, ny)))
        x, y = nx, ny
    close()
    return [((a + tx, b + ty), (c_ + tx, d_ + ty)) for (a, b), (c_, d_) in edges]


def svg_modules(svg):
    """(width, height, set of dark (x, y) cells) of an SVG drawn in modules: the viewBox gives
    the grid, every <path> not filled white is dark (non-zero rule)."""
    m = re.search(r'viewBox\s*=\s*"([^"]+)"', svg)
    assert m, "no viewBox: %r" % svg[:300]
    minx, miny, w, h = [float(v) for v in re.split(r"[\s,]+", m.group(1).strip())]
    edges = []
    for tag in re.findall(r"<path\b[^>]*>", svg):
        fill = re.search(r'\bfill\s*=\s*"([^"]*)"', tag)
        if fill and fill.group(1).strip().lower() in ("#fff", "#ffffff", "white", "none"):
            continue
        d = re.search(r'\bd\s*=\s*"([^"]*)"', tag)
        if not d:
            continue
        tx = ty = 0.0
        tr = re.search(r'transform\s*=\s*"\s*translate\(\s*([-\d.]+)[\s,]*([-\d.]*)\s*\)\s*"',
                       tag)
        if tr:
            tx, ty = float(tr.group(1)), float(tr.group(2) or 0)
        edges += _path_edges(d.group(1), tx, ty)
    assert edges, "no dark path in %r" % svg[:300]
    W, H = int(round(w)), int(round(h))
    dark = set()
    for j in range(H):
        yc = miny + j + 0.5
        xs = []
        for (x0, y0), (x1, y1) in edges:
            if y0 != y1 and min(y0, y1) <= yc < max(y0, y1):
                xs.append((x0 + (yc - y0) * (x1 - x0) / (y1 - y0), 1 if y1 > y0 else -1))
        for i in range(W):
            xc = minx + i + 0.5
            if sum(dr for xi, dr in xs if xi > xc) != 0:
                dark.add((i, j))
    return W, H, dark


class _QRcode(ctypes.Structure):
    _fields_ = [("version", ctypes.c_int), ("width", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.c_ubyte))]


def qrencode_candidates(text):
    """The module sets libqrencode draws for text at level M (8-bit, and string mode with an
    8-bit hint), each with a 4-module quiet zone: [(width, dark cells)]; [] without the library."""
    lib = None
    for name in ("libqrencode.so.4", ctypes.util.find_library("qrencode")):
        if name:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                pass
    if lib is None:
        return []
    lib.QRcode_encodeString8bit.restype = ctypes.POINTER(_QRcode)
    lib.QRcode_encodeString8bit.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.QRcode_encodeString.restype = ctypes.POINTER(_QRcode)
    lib.QRcode_encodeString.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_int]
    lib.QRcode_free.argtypes = [ctypes.POINTER(_QRcode)]
    out = []
    for q in (lib.QRcode_encodeString8bit(text.encode(), 0, 1),
              lib.QRcode_encodeString(text.encode(), 0, 1, 2, 1)):
        if not q:
            continue
        w = q.contents.width
        data = q.contents.data
        out.append((w + 8, {(x + 4, y + 4) for y in range(w) for x in range(w)
                            if data[y * w + x] & 1}))
        lib.QRcode_free(q)
    return out


def test_qr_is_an_svg_of_verification_uri_complete(srv):
    body = srv.device_start(c(srv, "tv"))
    r = srv.get(urllib.parse.urlsplit(body["verification_uri_qr"]).path + "?"
                + urllib.parse.urlsplit(body["verification_uri_qr"]).query)
    svg = assert_svg(r)
    W, H, dark = svg_modules(svg)
    assert W == H and (W - 8 - 17) % 4 == 0 and 21 <= W - 8 <= 177, (W, H)
    # the 4-module quiet zone is light
    for (x, y) in dark:
        assert 4 <= x < W - 4 and 4 <= y < H - 4, ("dark module in the quiet zone", x, y)
    # the finder patterns are where a QR code has them
    for (fx, fy) in ((4, 4), (W - 11, 4), (4, H - 11)):
        assert (fx, fy) in dark and (fx + 6, fy + 6) in dark and (fx + 3, fy + 3) in dark
        assert (fx + 1, fy + 1) not in dark
    cands = qrencode_candidates(body["verification_uri_complete"])
    if cands:
        assert any(cw == W and cd == dark for cw, cd in cands), \
            "the SVG is not the level-M QR code of %r" % body["verification_uri_complete"]


def test_qr_is_the_same_for_every_spelling_of_a_code(srv):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    want = assert_svg(qr_get(srv, code))
    for sp in user_code_spellings(code):
        assert assert_svg(qr_get(srv, sp)) == want, sp


def test_qr_does_not_say_whether_the_code_exists(srv):
    real = srv.device_start(c(srv, "tv"))["user_code"]
    a, b = assert_svg(qr_get(srv, real)), assert_svg(qr_get(srv, unknown_code(real)))
    assert a != b


@pytest.mark.parametrize("q", ["", "?user_code=", "?user_code=hello", "?user_code=BCDF-GHJ",
                               "?user_code=AEIO-UAEI", "?user_code=BCDF-GHJK1",
                               "?user_code=%3Cscript%3Ealert(1)%3C%2Fscript%3E"],
                         ids=["missing", "empty", "word", "short", "vowels", "long", "script"])
def test_qr_missing_or_malformed_code_is_a_400_page(srv, q):
    r = srv.get("/device/qr" + q)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "text/html", r.headers
    assert "<script>alert(1)" not in r.text
