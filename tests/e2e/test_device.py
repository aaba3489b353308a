"""The device authorization grant (RFC 8628, as the README describes it): POST
/device_authorization, the QR code, the /device verification pages, polling /token with the
device_code grant, and the user code lock-outs. docs/security.md rows 13, 14, 19, 22, 23, 25-29
and 40.

Servers answer interval 1 s (device_interval) so that the polling tests stay short; every test
makes its own users (and, where state could leak, its own device authorizations or server)."""
import ctypes
import ctypes.util
import glob
import re
import time
import urllib.parse

import pytest
import requests

from tessera_harness import (B64URL, DEVICE_FIELDS, DEVICE_GRANT, INACTIVE, VSCHAR, Client,
                             Page, UserAgent, b64url_decode, check_device_page, device_decide,
                             device_flow, device_open, device_path, form_quote, get_from,
                             http_timeout, idp_user, is_device_confirmation, jwt_parts,
                             location_of, normalize_user_code, poll_error, random_user_code,
                             t, token_error, token_key, token_ok, user_code_spellings,
                             verify_id_token, verify_jwt, wait_inactive)

# the polling interval: 1 s, 3 s under the sanitizers, where one request may take longer than
# the daemon's 0.5 s tolerance for polls that come too fast
INTERVAL = max(1, int(round(t(1))))
TOLERANCE = 0.5
TTL = 300
SHORT_TTL = max(2, int(round(t(2))))
CB = "https://rp.example/cb"
TV_SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/# "
            "mqtt:sub:cmd/dev42 mqtt:pub:sensors/#")
USER_SCOPE = ("mqtt:sub:home/${username}/# mqtt:pub:home/${username}/# "
              "mqtt:pub:sensors/kitchen/#")
DEV_GRANTS = ["device_code", "refresh_token"]
TV_NAME = "Living room TV"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;\''
# no limits worth speaking of: tests on the shared servers type wrong codes on purpose
NO_LOCKOUT = {"user_code_attempts": 1000000, "user_code_attempts_total": 100000000}


def device_clients():
    return [
        dict(client_id="tv", grants=DEV_GRANTS, scope=TV_SCOPE, name=TV_NAME),
        dict(client_id="tv2", grants=["device_code"], scope=TV_SCOPE, name="Kitchen display"),
        dict(client_id="pub", public=True, grants=DEV_GRANTS, scope=TV_SCOPE, name="Public box"),
        dict(client_id="stable", grants=DEV_GRANTS, scope=TV_SCOPE, name="Stable box",
             extra=["--refresh-rotation", "off"]),
        dict(client_id="code-only", grants=["authorization_code"], redirect_uris=[CB],
             scope=TV_SCOPE, name="Code only"),
        dict(client_id="cc-only", grants=["client_credentials"], scope="mqtt:pub:sensors/#"),
        dict(client_id="rs", scope="introspect"),
    ]


def tokens_config(**kw):
    d = {"device_interval": INTERVAL}
    d.update(kw)
    return {"tokens": d}


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=tokens_config(device_code_ttl=TTL, **NO_LOCKOUT),
                                clients=device_clients(), name="device")


@pytest.fixture(scope="module")
def short(server_factory):
    """Device codes that expire after SHORT_TTL seconds."""
    return server_factory.start(config=tokens_config(device_code_ttl=SHORT_TTL, **NO_LOCKOUT),
                                clients=device_clients(), name="device-short")


def user(s, scope=USER_SCOPE):
    return idp_user(s, prefix="d", scope=scope)


def c(s, cid):
    return s.clients[cid]


def intro(s, tok):
    return s.introspection(c(s, "rs"), tok)


def words(scope):
    return set(scope.split())


def approved(s, cid="tv", scope=None, u=None):
    """A device authorization of cid approved by a new user, redeemed by one poll: (DeviceLogin,
    token answer)."""
    lg = device_flow(s, c(s, cid), user=u or user(s), scope=scope)
    check_device_page(lg.page, 200, "device connected")
    return lg, token_ok(s.device_poll(c(s, cid), lg.device_code))


def raw_post(s, path, body, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return requests.post(s.url(path), data=body, headers=h, timeout=http_timeout(),
                         allow_redirects=False)


def unknown_code(real):
    """A well-formed user code that is not `real`."""
    while True:
        x = random_user_code()
        if x != normalize_user_code(real):
            return x


def sleep_until(deadline):
    d = deadline - time.monotonic()
    if d > 0:
        time.sleep(d)


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


# ---------------------------------------------------------------- the entry page


def test_row13_entry_page_has_the_user_code_form(srv):
    a = UserAgent(srv)
    r = a.get("/device")
    page = check_device_page(r, 200)
    f = page.form("/device")
    assert f.method == "post"
    assert urllib.parse.urlsplit(f.action).path == "/device"
    assert f.has("user_code") and f.type_of("user_code") == "text"
    assert f.type_of("csrf") == "hidden" and len(f.field("csrf")) >= 22
    assert not [b for b in f.buttons if b[0] == "decision"], f.buttons
    assert a.cookies.get("tessera_csrf"), a.cookies


def entry_post(a, typed, overrides=None, drop=()):
    r = a.get("/device")
    assert r.status_code == 200, r.status_code
    o = {"user_code": typed}
    o.update(overrides or {})
    f = Page(r).form("/device")
    btn = f.buttons[0] if f.buttons else None
    return a.post("/device", f.data(o, drop, btn))


def location_user_code(r):
    loc = urllib.parse.urlsplit(urllib.parse.urljoin("http://x/", location_of(r)))
    assert loc.path == "/device", location_of(r)
    q = urllib.parse.parse_qsl(loc.query, keep_blank_values=True)
    assert [k for k, _v in q] == ["user_code"], q
    return q[0][1]


@pytest.mark.parametrize("how", ["as-shown", "lower", "no-dash", "spaces", "mixed"])
def test_entry_post_redirects_303_to_the_normalised_code(srv, how):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    typed = {"as-shown": code, "lower": code.lower(), "no-dash": code.replace("-", ""),
             "spaces": " %s %s " % (code[:4].lower(), code[5:].lower()),
             "mixed": code[:4].lower() + code[5:]}[how]
    a = UserAgent(srv)
    r = entry_post(a, typed)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == code
    r2 = a.follow(r)
    check_device_page(r2, 200)
    assert Page(r2).has_form("/login"), r2.text[:500]


def test_entry_post_sends_a_malformed_code_along_as_typed(srv):
    a = UserAgent(srv)
    r = entry_post(a, "hello 42")
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == "hello 42"
    check_device_page(a.follow(r), 400, "unknown code")


@pytest.mark.parametrize("how", ["missing", "wrong", "no-cookie"])
def test_row14_entry_post_csrf_failure_is_403(srv, how):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    a = UserAgent(srv)
    if how == "missing":
        r = entry_post(a, code, drop=("csrf",))
    elif how == "wrong":
        r = entry_post(a, code, overrides={"csrf": "A" * 43})
    else:
        f = Page(a.get("/device")).form("/device")
        a.cookies.pop("tessera_csrf", None)
        r = a.post("/device", f.data({"user_code": code}))
    check_device_page(r, 403)


# ---------------------------------------------------------------- GET /device?user_code=


@pytest.mark.parametrize("typed", ["random", "hello", "BCDF-GHJ", "AEIO-UAEI", "BCDF-GHJK1",
                                   "BCDF_GHJK", "BCDF-GHJK-L", "0000-0000"])
def test_unknown_or_malformed_code_is_a_400_unknown_code_page(srv, typed):
    if typed == "random":
        typed = random_user_code()
    check_device_page(UserAgent(srv).get(device_path(typed)), 400, "unknown code")


@pytest.mark.parametrize("typed", ["<script>alert(1)</script>", HOSTILE,
                                   "BCDF<script>GHJK", "wdjb-<b>mjht</b>"])
def test_row29_script_in_user_code_is_escaped(srv, typed):
    a = UserAgent(srv)
    for r in (a.get(device_path(typed)), a.follow(entry_post(a, typed))):
        page = check_device_page(r, 400, "unknown code")
        assert "<script>" not in r.text and "<img src=x" not in r.text and "<b>" not in r.text
        assert not [tg for tg, _a in page.tags if tg in ("script", "img", "b")]


def test_row29_spellings_of_a_code_are_the_same_code(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="openid mqtt:pub:home/#")
    code = body["user_code"]
    # not logged in: every spelling finds the code (the login page, never "unknown code")
    for sp in user_code_spellings(code):
        r = UserAgent(srv).get(device_path(sp))
        check_device_page(r, 200)
        f = Page(r).form("/login")
        assert normalize_user_code(f.field("user_code")) == code, (sp, f.field("user_code"))
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = device_open(a, code.replace("-", "").lower(), u, pw)
    assert is_device_confirmation(r), (r.status_code, r.text[:500])
    pages = {}
    for sp in user_code_spellings(code):
        rr = a.get(device_path(sp))
        assert is_device_confirmation(rr), (sp, rr.status_code, rr.text[:300])
        assert code in Page(rr).text, (sp, Page(rr).text[:500])
        pages[sp] = rr
    # approving from the page of a lower-case spelling approves the code
    done = device_decide(a, pages[code.lower()], "allow")
    check_device_page(done, 200, "device connected")
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert words(tokens["scope"]) == {"openid", "mqtt:pub:home/%s/#" % u}
    for sp in user_code_spellings(code):
        check_device_page(a.get(device_path(sp)), 400, "already used")


def test_not_logged_in_gives_the_login_page_and_login_returns_303_to_the_code(srv):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = a.get(device_path(code.lower()))
    page = check_device_page(r, 200)
    f = page.form("/login")
    assert f.method == "post" and urllib.parse.urlsplit(f.action).path == "/login"
    assert f.has("username") and f.type_of("password") == "password"
    assert f.type_of("csrf") == "hidden"
    assert f.type_of("user_code") == "hidden"
    assert normalize_user_code(f.field("user_code")) == code
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    assert location_user_code(r) == code
    assert a.cookies.get("tessera_session")
    r = a.follow(r)
    check_device_page(r, 200)
    assert is_device_confirmation(r)


def test_login_with_a_wrong_password_from_the_device_page_keeps_the_code(srv):
    code = srv.device_start(c(srv, "tv"))["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = a.login(a.get(device_path(code)), u, pw + "x")
    check_device_page(r, 401)
    assert normalize_user_code(Page(r).form("/login").field("user_code")) == code
    r = a.login(r, u, pw)
    assert r.status_code == 303 and location_user_code(r) == code


# ---------------------------------------------------------------- the confirmation page


def test_row28_confirmation_page_shows_client_code_scopes_user_and_grants_nothing(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="openid profile email mqtt:sub:home/# mqtt:pub:sensors/#")
    code = body["user_code"]
    u, pw, _uid = user(srv)
    a = UserAgent(srv)
    r = device_open(a, code, u, pw)
    page = check_device_page(r, 200)
    assert is_device_confirmation(r)
    text = page.text
    low = text.lower()
    for w in (TV_NAME.lower(), code.lower(), u.lower(), "sign you in", "your name and username",
              "your email address", "receive messages on home/%s/#" % u.lower(),
              "publish to sensors/kitchen/#"):
        assert w in low, (w, text)
    assert code in text                      # shown as XXXX-XXXX
    assert "${username}" not in text
    assert "cmd/dev42" not in text           # not asked for
    f = page.form("/device")
    assert f.method == "post" and urllib.parse.urlsplit(f.action).path == "/device"
    assert f.type_of("user_code") == "hidden" and normalize_user_code(f.field("user_code")) == code
    assert f.type_of("csrf") == "hidden" and len(f.field("csrf")) >= 22
    # showing it (twice) granted nothing
    assert is_device_confirmation(a.get(device_path(code)))
    assert poll_error(srv, tv, body["device_code"]) == "authorization_pending"
    assert srv.grants(user=u) == []


def test_confirmation_page_escapes_the_client_name(srv):
    srv.add_client("evil-tv", grants=["device_code"], scope="openid", name=HOSTILE)
    # a client never looked up before is read from the store: no wait
    lg = device_flow(srv, c(srv, "evil-tv"), user=user(srv), decision=None)
    r = lg.page
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    assert HOSTILE in Page(r).text


@pytest.mark.parametrize("how", ["missing", "wrong", "other-session", "no-session"])
def test_row14_decision_without_the_right_csrf_is_403_and_grants_nothing(srv, how):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    a, r = lg.agent, lg.page
    if how == "missing":
        r2 = device_decide(a, r, "allow", drop=("csrf",))
    elif how == "wrong":
        r2 = device_decide(a, r, "allow", overrides={"csrf": "A" * 43})
    elif how == "other-session":
        v, vpw, _ = user(srv)
        b = UserAgent(srv)
        rb = device_open(b, lg.user_code, v, vpw)
        assert is_device_confirmation(rb)
        r2 = device_decide(a, r, "allow",
                           overrides={"csrf": Page(rb).form("/device").field("csrf")})
    else:
        a.cookies.pop("tessera_session")
        r2 = device_decide(a, r, "allow")
    check_device_page(r2, 403)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    assert srv.grants(user=lg.user[0]) == []
    # the code is untouched: the person can still approve it properly
    b = UserAgent(srv)
    rb = device_open(b, lg.user_code, lg.user[0], lg.user[1])
    assert is_device_confirmation(rb)
    check_device_page(device_decide(b, rb, "allow"), 200, "device connected")
    token_ok(srv.device_poll(tv, lg.device_code))


@pytest.mark.parametrize("decision", ["maybe", "", "ALLOW"])
def test_decision_other_than_allow_or_deny_is_400_and_the_code_stays_pending(srv, decision):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    r2 = device_decide(lg.agent, lg.page, decision)
    check_device_page(r2, 400)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    assert is_device_confirmation(lg.agent.get(device_path(lg.user_code)))
    assert srv.grants(user=lg.user[0]) == []


def test_deny_shows_access_denied_and_the_device_gets_access_denied(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    confirmation = lg.page
    r = device_decide(lg.agent, confirmation, "deny")
    check_device_page(r, 200, "access denied")
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "request denied")
    # a later allow changes nothing
    check_device_page(device_decide(lg.agent, confirmation, "allow"), 400)
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    assert srv.grants(user=lg.user[0]) == []


def test_allow_shows_device_connected_and_the_code_is_used(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    confirmation = lg.page
    r = device_decide(lg.agent, confirmation, "allow")
    check_device_page(r, 200, "device connected")
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "already used")
    check_device_page(device_decide(lg.agent, confirmation, "allow"), 400, "already used")
    check_device_page(device_decide(lg.agent, confirmation, "deny"), 400, "already used")
    token_ok(srv.device_poll(tv, lg.device_code))
    check_device_page(lg.agent.get(device_path(lg.user_code)), 400, "already used")


def test_user_who_may_have_nothing_of_the_request_gets_400_and_the_code_stays_pending(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv, scope="mqtt:sub:cmd/dev42")   # the client may; this user not
    u, pw, _ = user(srv)
    a = UserAgent(srv)
    r = device_open(a, body["user_code"], u, pw)
    if is_device_confirmation(r):
        check_device_page(device_decide(a, r, "allow"), 400)
    else:
        check_device_page(r, 400)
    assert poll_error(srv, tv, body["device_code"]) == "authorization_pending"
    assert srv.grants(user=u) == []
    # someone who may approves it
    v = user(srv, scope="mqtt:sub:cmd/#")
    b = UserAgent(srv)
    rb = device_open(b, body["user_code"], v[0], v[1])
    assert is_device_confirmation(rb)
    check_device_page(device_decide(b, rb, "allow"), 200, "device connected")
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert tokens["scope"] == "mqtt:sub:cmd/dev42"


def test_row13_every_device_page_sends_the_security_headers(srv):
    """The headers on each page the flow shows (the tests above check them too, one page each)."""
    tv = c(srv, "tv")
    a = UserAgent(srv)
    check_device_page(a.get("/device"), 200)
    check_device_page(a.get(device_path(random_user_code())), 400)
    body = srv.device_start(tv)
    r = a.get(device_path(body["user_code"]))
    check_device_page(r, 200)                         # login page
    u, pw, _ = user(srv)
    r = a.login(r, u, pw)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    r = a.follow(r)
    check_device_page(r, 200)                         # confirmation page
    check_device_page(device_decide(a, r, "allow", drop=("csrf",)), 403)
    check_device_page(device_decide(a, r, "bogus"), 400)
    check_device_page(device_decide(a, r, "allow"), 200)
    check_device_page(a.get(device_path(body["user_code"])), 400)
    body = srv.device_start(tv)
    r = a.get(device_path(body["user_code"]))
    check_device_page(device_decide(a, r, "deny"), 200)
    check_device_page(a.get(device_path(body["user_code"])), 400)


# ---------------------------------------------------------------- polling: errors


@pytest.mark.parametrize("dc", ["random", "garbage", "A" * 43, "x" * 3000, "a.b.c"])
def test_row26_unknown_device_code_is_invalid_grant(srv, dc):
    if dc == "random":
        import secrets
        dc = secrets.token_urlsafe(32)
    assert poll_error(srv, c(srv, "tv"), dc) == "invalid_grant"


def test_row26_other_clients_device_code_is_invalid_grant(srv):
    tv = c(srv, "tv")
    body = srv.device_start(tv)
    for other, auth in (("tv2", "basic"), ("tv2", "post"), ("pub", None), ("stable", "basic")):
        assert poll_error(srv, c(srv, other), body["device_code"], auth=auth) == \
            "invalid_grant", other
    # and once approved, still only its own client gets the tokens
    u, pw, _ = user(srv)
    a = UserAgent(srv)
    r = device_open(a, body["user_code"], u, pw)
    check_device_page(device_decide(a, r, "allow"), 200)
    assert poll_error(srv, c(srv, "tv2"), body["device_code"]) == "invalid_grant"
    assert poll_error(srv, c(srv, "pub"), body["device_code"]) == "invalid_grant"
    tokens = token_ok(srv.device_poll(tv, body["device_code"]))
    assert verify_jwt(tokens["access_token"], srv.jwks())["client_id"] == "tv"


def test_missing_device_code_is_invalid_request(srv):
    assert poll_error(srv, c(srv, "tv"), None) == "invalid_request"
    assert poll_error(srv, c(srv, "pub"), None) == "invalid_request"


def test_repeated_device_code_is_invalid_request(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc, extra=[("device_code", dc)]) == "invalid_request"


@pytest.mark.parametrize("cid", ["code-only", "cc-only"])
def test_polling_client_without_the_device_grant_is_unauthorized_client(srv, cid):
    dc = srv.device_start(c(srv, "tv"))["device_code"]
    assert poll_error(srv, c(srv, cid), dc) == "unauthorized_client"


def test_polling_with_bad_client_authentication_is_invalid_client(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    r = srv.device_poll(Client("tv", "wrong-" + tv.secret), dc, auth="basic")
    assert token_error(r, 401) == "invalid_client"
    assert r.headers.get("WWW-Authenticate")
    assert token_error(srv.device_poll(Client("tv"), dc, auth="none"), 401) == "invalid_client"
    # nothing used up
    assert poll_error(srv, tv, dc) == "authorization_pending"


# ---------------------------------------------------------------- polling: timing (row 27)


def test_row27_pending_polls_at_the_interval_are_authorization_pending(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc) == "authorization_pending"      # the first poll: never slow
    time.sleep(INTERVAL - 0.3)                                     # within the 0.5 s tolerance
    assert poll_error(srv, tv, dc) == "authorization_pending"
    time.sleep(INTERVAL + 0.1)
    assert poll_error(srv, tv, dc) == "authorization_pending"


def test_row27_polling_faster_than_the_interval_is_slow_down_and_the_interval_grows(srv):
    tv = c(srv, "tv")
    dc = srv.device_start(tv)["device_code"]
    other = srv.device_start(tv)["device_code"]
    assert poll_error(srv, tv, dc) == "authorization_pending"
    assert poll_error(srv, tv, dc) == "slow_down"
    # the interval is now INTERVAL + 5: a poll 1.5 s later (more than the old interval) is still
    # too fast (and grows it again)
    time.sleep(INTERVAL + 0.5)
    assert poll_error(srv, tv, dc) == "slow_down"
    # other device codes keep their own interval
    assert poll_error(srv, tv, other) == "authorization_pending"


def test_row27_slow_down_adds_exactly_5_seconds_to_the_interval(srv):
    """Two codes slowed down at about the same time (interval now INTERVAL + 5): one polled
    well inside the new interval is slow_down again, the other polled just after it is
    pending. (About 6 s of sleep, the longest wait of this file.)"""
    tv = c(srv, "tv")
    a = srv.device_start(tv)["device_code"]
    b = srv.device_start(tv)["device_code"]
    for dc in (a, b):
        assert poll_error(srv, tv, dc) == "authorization_pending"
    assert poll_error(srv, tv, a) == "slow_down"
    ta = time.monotonic()
    assert poll_error(srv, tv, b) == "slow_down"
    tb = time.monotonic()
    grown = INTERVAL + 5
    # well inside the grown interval, even with the tolerance and a slow request
    sleep_until(tb + grown - TOLERANCE - t(1.1))
    assert poll_error(srv, tv, b) == "slow_down"
    sleep_until(ta + grown + 0.1)
    assert poll_error(srv, tv, a) == "authorization_pending"


def test_an_approved_code_is_answered_at_once_even_right_after_a_poll(srv):
    """slow_down is a kind of authorization_pending (RFC 8628 §3.5): a decided code is not."""
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    token_ok(srv.device_poll(tv, lg.device_code))


def test_a_denied_code_is_access_denied_at_once_even_right_after_a_poll(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), decision=None)
    assert poll_error(srv, tv, lg.device_code) == "authorization_pending"
    check_device_page(device_decide(lg.agent, lg.page, "deny"), 200)
    assert poll_error(srv, tv, lg.device_code) == "access_denied"
    assert poll_error(srv, tv, lg.device_code) == "access_denied"


def test_row27_expired_code_is_expired_token_and_the_expired_page(short):
    s = short
    tv = c(s, "tv")
    pending = s.device_start(tv)
    assert pending["expires_in"] == SHORT_TTL
    lg = device_flow(s, tv, user=user(s), decision=None)        # opened, not decided
    ok = device_flow(s, tv, user=lg.user, agent=lg.agent)         # approved, not redeemed
    deadline = time.monotonic() + SHORT_TTL + 0.4                 # all three have expired then
    check_device_page(ok.page, 200, "device connected")
    assert poll_error(s, tv, pending["device_code"]) == "authorization_pending"
    sleep_until(deadline)
    for dc in (pending["device_code"], lg.device_code, ok.device_code):
        assert poll_error(s, tv, dc) == "expired_token"
    assert poll_error(s, tv, pending["device_code"]) == "expired_token"   # not slow_down
    a = lg.agent
    check_device_page(a.get(device_path(pending["user_code"])), 400, "code expired")
    check_device_page(a.get(device_path(lg.user_code)), 400, "code expired")
    check_device_page(device_decide(a, lg.page, "allow"), 400, "code expired")
    assert poll_error(s, tv, lg.device_code) == "expired_token"


def test_row27_second_poll_after_success_is_invalid_grant(srv):
    tv = c(srv, "tv")
    lg, tokens = approved(srv)
    assert poll_error(srv, tv, lg.device_code) == "invalid_grant"
    time.sleep(INTERVAL + 0.1)
    assert poll_error(srv, tv, lg.device_code) == "invalid_grant"
    # the tokens stay good
    assert intro(srv, tokens["access_token"])["active"] is True


# ---------------------------------------------------------------- polling: success


def test_success_access_token_claims(srv):
    u = user(srv)
    lg, tokens = approved(srv, scope="openid profile mqtt:pub:sensors/#", u=u)
    assert tokens["token_type"] == "Bearer"
    assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0
    granted = {"openid", "profile", "mqtt:pub:sensors/kitchen/#"}
    assert words(tokens["scope"]) == granted
    header, _ = jwt_parts(tokens["access_token"])
    assert header["typ"] == "at+jwt"
    claims = verify_jwt(tokens["access_token"], srv.jwks())
    assert claims["sub"] == str(u[2])
    assert claims["client_id"] == "tv"
    assert claims["username"] == u[0]
    assert words(claims["scope"]) == granted
    assert claims["iss"] == srv.issuer
    assert abs(claims["iat"] - time.time()) < 60 and claims["exp"] > time.time()
    assert str(claims.get("gid", "")), claims
    d = intro(srv, tokens["access_token"])
    assert d["active"] is True and d["client_id"] == "tv" and d["username"] == u[0]
    assert words(d["scope"]) == granted


def test_success_with_openid_has_an_id_token_with_auth_time_at_hash_and_no_nonce(srv):
    tv = c(srv, "tv")
    lg = device_flow(srv, tv, user=user(srv), scope="openid email", decision=None)
    time.sleep(1.2)          # approve a while after logging in: auth_time is the login's time
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    tokens = token_ok(srv.device_poll(tv, lg.device_code))
    claims = verify_id_token(srv, tokens["id_token"], "tv", nonce=None,
                             access_token=tokens["access_token"])
    assert claims["sub"] == str(lg.user[2])
    assert int(lg.login_started) - 1 <= claims["auth_time"] <= lg.login_done, \
        (claims["auth_time"], lg.login_started, lg.login_done)


def test_success_without_openid_has_no_id_token(srv):
    _lg, tokens = approved(srv, scope="mqtt:pub:home/#")
    assert "id_token" not in tokens, tokens


def test_refresh_token_only_for_a_client_with_the_refresh_grant(srv):
    _lg, tokens = approved(srv, cid="tv")
    assert isinstance(tokens.get("refresh_token"), str) and len(tokens["refresh_token"]) >= 22
    _lg, tokens = approved(srv, cid="tv2")
    assert "refresh_token" not in tokens, tokens
    assert tokens["access_token"]


def test_refresh_token_from_a_device_grant_works_and_rotates(srv):
    tv = c(srv, "tv")
    _lg, tokens = approved(srv, scope="openid mqtt:pub:home/#")
    rt = tokens["refresh_token"]
    d = intro(srv, rt)
    assert d["active"] is True and d["token_type"] == "refresh_token" and d["client_id"] == "tv"
    body = token_ok(srv.refresh(tv, rt))
    assert body["refresh_token"] != rt
    assert words(body["scope"]) == words(tokens["scope"])
    assert intro(srv, rt) == INACTIVE
    token_ok(srv.refresh(tv, body["refresh_token"]))


def test_refresh_rotation_off_client_keeps_its_device_refresh_token(srv):
    st = c(srv, "stable")
    _lg, tokens = approved(srv, cid="stable")
    rt = tokens["refresh_token"]
    for _ in range(3):
        body = token_ok(srv.refresh(st, rt))
        assert body["refresh_token"] == rt
    assert intro(srv, rt)["active"] is True


def test_public_client_device_flow_with_client_id_only(srv):
    pub = c(srv, "pub")
    lg, tokens = approved(srv, cid="pub", scope="openid mqtt:pub:home/#")
    assert verify_jwt(tokens["access_token"], srv.jwks())["client_id"] == "pub"
    body = token_ok(srv.refresh(pub, tokens["refresh_token"]))
    assert body["refresh_token"] != tokens["refresh_token"]
    assert poll_error(srv, pub, lg.device_code) == "invalid_grant"


def test_username_placeholder_is_filled_in(srv):
    u = user(srv)
    lg = device_flow(srv, c(srv, "tv"), user=u, scope="mqtt:pub:home/#", decision=None)
    text = Page(lg.page).text
    assert "home/%s/#" % u[0] in text and "${username}" not in text, text
    check_device_page(device_decide(lg.agent, lg.page, "allow"), 200)
    tokens = token_ok(srv.device_poll(c(srv, "tv"), lg.device_code))
    assert tokens["scope"] == "mqtt:pub:home/%s/#" % u[0]
    assert verify_jwt(tokens["access_token"], srv.jwks())["scope"] == tokens["scope"]


def test_granted_scope_is_request_and_client_and_user(srv):
    u = user(srv)
    _lg, tokens = approved(srv, scope="openid mqtt:sub:cmd/dev42 mqtt:pub:sensors/# "
                           "mqtt:sub:home/#", u=u)
    assert words(tokens["scope"]) == {"openid", "mqtt:pub:sensors/kitchen/#",
                                      "mqtt:sub:home/%s/#" % u[0]}, tokens["scope"]


def test_no_scope_requested_grants_what_client_and_user_both_allow(srv):
    u = user(srv)
    _lg, tokens = approved(srv, scope=None, u=u)
    assert words(tokens["scope"]) == {
        "openid", "profile", "email", "mqtt:sub:home/%s/#" % u[0],
        "mqtt:pub:home/%s/#" % u[0], "mqtt:pub:sensors/kitchen/#"}, tokens["scope"]


def test_grant_revoke_makes_the_device_tokens_inactive(srv):
    tv = c(srv, "tv")
    u = user(srv)
    _lg, tokens = approved(srv, scope="openid mqtt:pub:home/#", u=u)
    rows = srv.grants(user=u[0])
    assert len(rows) == 1 and rows[0]["client_id"] == "tv", rows
    assert words(rows[0]["scope"]) == words(tokens["scope"])
    assert str(rows[0]["id"]) == str(jwt_parts(tokens["access_token"])[1]["gid"])
    out = srv.cli(["grant", "revoke", str(rows[0]["id"])])
    assert out.rc == 0, out
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        assert wait_inactive(srv, c(srv, "rs"), tok), tok[:12]
    assert token_error(srv.refresh(tv, tokens["refresh_token"])) == "invalid_grant"


def test_revoking_the_refresh_token_revokes_the_device_grant(srv):
    tv = c(srv, "tv")
    _lg, tokens = approved(srv)
    r = srv.revoke(tv, tokens["refresh_token"])
    assert r.status_code == 200, r.text
    assert wait_inactive(srv, c(srv, "rs"), tokens["access_token"])
    assert intro(srv, tokens["refresh_token"]) == INACTIVE


def test_disabled_user_makes_the_device_tokens_inactive(srv):
    u = user(srv)
    _lg, tokens = approved(srv, u=u)
    assert srv.cli(["user", "disable", u[0]]).rc == 0
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        assert wait_inactive(srv, c(srv, "rs"), tok), tok[:12]


# ---------------------------------------------------------------- brute force (row 25)


def lockout_server(factory, name, **tokens):
    return factory.start(config=tokens_config(**tokens), clients=device_clients(), name=name)


def test_row25_wrong_codes_from_one_address_lock_it_out_even_for_the_right_code(fresh_factory):
    s = lockout_server(fresh_factory, "lockout-addr", user_code_attempts=3)
    tv = c(s, "tv")
    body = s.device_start(tv)
    code = body["user_code"]
    u, pw, _ = user(s)
    a = UserAgent(s)
    confirmation = device_open(a, code, u, pw)        # right codes never count
    assert is_device_confirmation(confirmation)
    assert is_device_confirmation(a.get(device_path(code.lower())))
    entry = a.get("/device")
    for wrong in (unknown_code(code), "hello", unknown_code(code)):
        check_device_page(a.get(device_path(wrong)), 400, "unknown code")
    # locked out: the right code, in any spelling, on every look-up
    check_device_page(a.get(device_path(code)), 429)
    check_device_page(a.get(device_path(code.replace("-", "").lower())), 429)
    check_device_page(device_decide(a, confirmation, "allow"), 429)
    f = Page(entry).form("/device")
    r = a.post("/device", f.data({"user_code": code}))
    if r.status_code == 303:        # the entry form only forwards to the look-up
        r = a.follow(r)
    check_device_page(r, 429)
    assert poll_error(s, tv, body["device_code"]) == "authorization_pending"
    assert s.grants(user=u) == []
    # another address is not locked out
    r = get_from(s, "127.0.0.2", device_path(code))
    check_device_page(r, 200)
    assert Page(r).has_form("/login")


def test_row25_wrong_codes_from_all_addresses_together_lock_everyone_out(fresh_factory):
    s = lockout_server(fresh_factory, "lockout-total", user_code_attempts=1000,
                       user_code_attempts_total=3)
    tv = c(s, "tv")
    body = s.device_start(tv)
    code = body["user_code"]
    check_device_page(get_from(s, "127.0.0.1", device_path(code)), 200)
    for addr in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        check_device_page(get_from(s, addr, device_path(unknown_code(code))), 400,
                          "unknown code")
    for addr in ("127.0.0.1", "127.0.0.2", "127.0.0.5"):
        check_device_page(get_from(s, addr, device_path(code)), 429)
    assert poll_error(s, tv, body["device_code"]) == "authorization_pending"


def test_row25_expired_used_and_denied_codes_do_not_count(fresh_factory):
    ttl = max(3, int(round(t(3))))
    s = lockout_server(fresh_factory, "lockout-nocount", user_code_attempts=2,
                       device_code_ttl=ttl)
    tv = c(s, "tv")
    start = time.monotonic()
    expiring = s.device_start(tv)
    u = user(s)
    a = UserAgent(s)
    used = device_flow(s, tv, user=u, agent=a)
    check_device_page(used.page, 200, "device connected")
    redeemed = device_flow(s, tv, user=u, agent=a)
    token_ok(s.device_poll(tv, redeemed.device_code))
    denied = device_flow(s, tv, user=u, agent=a, decision="deny")
    for _ in range(3):
        check_device_page(a.get(device_path(used.user_code)), 400, "already used")
        check_device_page(a.get(device_path(redeemed.user_code)), 400, "already used")
        check_device_page(a.get(device_path(denied.user_code)), 400, "request denied")
    sleep_until(start + ttl + 0.4)
    for _ in range(3):
        check_device_page(a.get(device_path(expiring["user_code"])), 400, "code expired")
    fresh = s.device_start(tv)
    assert is_device_confirmation(a.get(device_path(fresh["user_code"])))
    # the control: wrong codes do count on this server
    for _ in range(2):
        check_device_page(a.get(device_path(unknown_code(fresh["user_code"]))), 400)
    check_device_page(a.get(device_path(fresh["user_code"])), 429)


# ---------------------------------------------------------------- hostile input (row 40)

RAW_BAD = ["%00", "BCDF%00GHJK", "%FF%FE", "%C3%28", "%ED%A0%80", "BCDF-GHJ%FF"]
BIG = "A" * 100000


def assert_json_4xx(r, errors):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code != 413:
        assert r.json()["error"] in errors, r.text[:300]


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG"])
def test_row40_bad_scope_at_device_authorization_is_a_clear_4xx(srv, raw):
    value = form_quote("mqtt:pub:" + BIG) if raw == "BIG" else raw
    r = raw_post(srv, "/device_authorization", "scope=" + value,
                 {"Authorization": c(srv, "tv").basic()})
    assert_json_4xx(r, ("invalid_request", "invalid_scope"))


def test_row40_raw_bytes_at_device_authorization_are_a_clear_4xx(srv):
    for body in (b"scope=\xff\xfe", b"scope=open\x00id", b"client_id=p\x00ub"):
        r = raw_post(srv, "/device_authorization", body,
                     {"Authorization": c(srv, "tv").basic()} if b"client_id" not in body
                     else None)
        assert_json_4xx(r, ("invalid_request", "invalid_scope", "invalid_client"))


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG"])
def test_row40_bad_device_code_at_token_is_a_clear_4xx(srv, raw):
    value = BIG if raw == "BIG" else raw
    r = raw_post(srv, "/token", "grant_type=" + form_quote(DEVICE_GRANT) + "&device_code="
                 + value, {"Authorization": c(srv, "tv").basic()})
    assert_json_4xx(r, ("invalid_request", "invalid_grant"))
    if raw != "BIG":
        assert r.json()["error"] == "invalid_request", r.text[:300]


def assert_page_4xx(r):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


@pytest.mark.parametrize("raw", RAW_BAD + ["BIG", "SQL"])
def test_row40_bad_user_code_on_the_pages_is_a_clear_4xx(srv, raw):
    value = {"BIG": BIG, "SQL": form_quote("' OR '1'='1")}.get(raw, raw)
    a = UserAgent(srv)
    for path in ("/device?user_code=", "/device/qr?user_code="):
        assert_page_4xx(a.get(path + value))
    # the entry form
    csrf = Page(a.get("/device")).form("/device").field("csrf")
    r = a.post("/device", "user_code=" + value + "&csrf=" + form_quote(csrf))
    if r.status_code == 303:
        assert len(location_of(r)) < 200000
        r = a.follow(r)
    assert_page_4xx(r)
    # the decision form of a logged-in person
    lg = device_flow(srv, c(srv, "tv"), user=user(srv), agent=UserAgent(srv), decision=None)
    f = Page(lg.page).form("/device")
    r = lg.agent.post("/device", "user_code=" + value + "&csrf=" + form_quote(f.field("csrf"))
                      + "&decision=allow")
    assert_page_4xx(r)
    assert poll_error(srv, c(srv, "tv"), lg.device_code) == "authorization_pending"
    assert srv.get("/healthz").status_code == 200
