"""Refresh tokens, grants and the device authorization grant (RFC 8628) for the tests (the last
part of the harness; tests/tessera_harness.py gathers all)."""
import re
import secrets
import time
import urllib.parse

import requests
import requests.adapters

from harness_daemon import (Server, auth_parts, cli_ok, http_timeout, t)

from harness_flows import (Page, UserAgent, code_flow, idp_user, location_of)

# ================================================================ refresh tokens and grants
# Helpers for tests/e2e/test_{refresh,grants,revocation_refresh}.py and
# tests/interop/test_authlib_refresh.py.

INACTIVE = {"active": False}


def _refresh(self, client, refresh_token, scope=None, auth=None, extra=(), session=None):
    """POST /token grant_type=refresh_token. auth defaults to "none" (client_id in the body) for
    a client without a secret, "basic" otherwise; None values are left out. session: an optional
    requests.Session to reuse one connection."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    pairs = [("grant_type", "refresh_token")]
    if refresh_token is not None:
        pairs.append(("refresh_token", refresh_token))
    if scope is not None:
        pairs.append(("scope", scope))
    data = urllib.parse.urlencode(pairs + body + list(extra))
    h["Content-Type"] = "application/x-www-form-urlencoded"
    if session is not None:
        return session.post(self.url("/token"), data=data, headers=h, timeout=http_timeout(),
                            allow_redirects=False, verify=self.verify)
    return self.post("/token", data, headers=h)


def _grants(self, user=None, client=None):
    """`tessera grant list [--user U] [--client C]` -> the parsed JSON array."""
    args = ["grant", "list"]
    if user is not None:
        args += ["--user", user]
    if client is not None:
        args += ["--client", client]
    out = cli_ok(args, db=self.db)
    assert isinstance(out, list), out
    return out


def _introspection(self, caller, token, hint=None):
    """The parsed /introspect answer (asserting 200 and Cache-Control: no-store)."""
    r = self.introspect(caller, token, hint=hint)
    assert r.status_code == 200, "introspect: %s %s" % (r.status_code, r.text)
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
    return r.json()


Server.refresh = _refresh
Server.grants = _grants
Server.introspection = _introspection


def token_ok(r):
    """The JSON of a successful /token answer, after checking status, type and no-store."""
    assert r.status_code == 200, "expected 200: %s %s" % (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
        r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    return r.json()


def token_error(r, status=400):
    """The "error" of a failed /token (or /revoke, /introspect) answer, after checking status,
    JSON and no-store; never a 5xx."""
    assert r.status_code < 500, "server error %s: %s" % (r.status_code, r.text)
    assert r.status_code == status, "expected %s: %s %s" % (status, r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
        r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    body = r.json()
    assert isinstance(body.get("error"), str), body
    return body["error"]


def wait_for(pred, within=2.0, step=0.05, stretch=True):
    """Polls pred() until it is true (returns its value) or within seconds pass (returns its last
    value): the way a test waits for something to happen, instead of a fixed sleep. within is
    stretched under the sanitizers (t()), unless stretch=False: a bound that is the claim itself
    (the caller adds its own t() slack)."""
    deadline = time.monotonic() + (t(within) if stretch else within)
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_inactive(srv, caller, token, within=2.0):
    """True once /introspect answers exactly {"active": false} for token (polled up to within s:
    the daemon's caches notice CLI changes within 0.1 s)."""
    return wait_for(lambda: srv.introspection(caller, token) == INACTIVE, within)


def refresh_login(srv, client, redirect_uri, scope="openid", user=None, agent=None):
    """A user (a new one unless user=(name, password, id)) signs in through the code flow with
    client; returns (Login, (name, password, id)). The token answer must hold a refresh token."""
    user = user or idp_user(srv)
    login = code_flow(srv, client, user[0], user[1], redirect_uri=redirect_uri, scope=scope,
                      agent=agent)
    assert isinstance(login.tokens.get("refresh_token"), str), login.tokens
    return login, user


# ================================================================ device authorization (RFC 8628)
# Helpers for tests/e2e/test_device.py: POST /device_authorization, polling /token with the
# device_code grant, and a browser (UserAgent) on the /device verification pages. User codes are
# XXXX-XXXX of DEVICE_ALPHABET; a person may type them in any case, with spaces or dashes.


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
DEVICE_FIELDS = ("device_code", "user_code", "verification_uri", "verification_uri_complete",
                 "verification_uri_qr", "expires_in", "interval")


def _device_client_auth(client, auth):
    """Headers and body pairs for client: auth None is "basic" for a client with a secret and
    client_id alone in the body ("none") for a public one."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    return h, body


def _device_authorization(self, client, scope=None, auth=None, extra=()):
    """POST /device_authorization (scope None: left out)."""
    h, body = _device_client_auth(client, auth)
    pairs = [] if scope is None else [("scope", scope)]
    return self.post("/device_authorization", pairs + body + list(extra), headers=h)


def _device_start(self, client, scope=None, auth=None):
    """A device authorization that must succeed: its JSON (status, JSON type, no-store and the
    fields checked)."""
    r = self.device_authorization(client, scope=scope, auth=auth)
    body = token_ok(r)
    for k in DEVICE_FIELDS:
        assert k in body, (k, body)
    assert USER_CODE_RE.match(body["user_code"]), body
    return body


def _device_poll(self, client, device_code, auth=None, extra=()):
    """POST /token grant_type=device_code (device_code None: left out)."""
    h, body = _device_client_auth(client, auth)
    pairs = [("grant_type", DEVICE_GRANT)]
    if device_code is not None:
        pairs.append(("device_code", device_code))
    return self.post("/token", pairs + body + list(extra), headers=h)


Server.device_authorization = _device_authorization
Server.device_start = _device_start
Server.device_poll = _device_poll


def poll_error(srv, client, device_code, **kw):
    """The error of a poll that must fail (HTTP 400, JSON, no-store)."""
    return token_error(srv.device_poll(client, device_code, **kw), 400)


def normalize_user_code(typed):
    """XXXX-XXXX of a typed code (case, spaces and dashes ignored); None when not 8 letters of
    the alphabet."""
    s = "".join(ch for ch in typed if ch not in " -").upper()
    if len(s) != 8 or any(ch not in DEVICE_ALPHABET for ch in s):
        return None
    return s[:4] + "-" + s[4:]


def random_user_code():
    """A well-formed user code (almost certainly issued to nobody)."""
    s = "".join(secrets.choice(DEVICE_ALPHABET) for _ in range(8))
    return s[:4] + "-" + s[4:]


def user_code_spellings(code):
    """Ways a person may type the XXXX-XXXX code: lower case with the dash, without it, with
    spaces, mixed case."""
    raw = code.replace("-", "")
    mixed = "".join(ch.lower() if i % 2 else ch for i, ch in enumerate(code))
    return [code.lower(), raw, raw.lower(), " %s %s " % (raw[:4].lower(), raw[4:].lower()),
            mixed, "%s - %s" % (raw[:4], raw[4:])]


def device_path(user_code):
    return "/device?" + urllib.parse.urlencode([("user_code", user_code)])


def html_security_problems(r):
    """Row 13 for a device page: what is wrong with r's headers (an empty list when nothing)."""
    h = r.headers
    out = []
    if h.get("Content-Type", "").replace(" ", "").lower() != "text/html;charset=utf-8":
        out.append("Content-Type %r" % h.get("Content-Type"))
    csp = h.get("Content-Security-Policy", "")
    directives = {}
    for d in csp.split(";"):
        parts = d.split()
        if parts:
            directives[parts[0].lower()] = parts[1:]
    if directives.get("frame-ancestors") != ["'none'"]:
        out.append("CSP frame-ancestors in %r" % csp)
    if directives.get("default-src") != ["'none'"]:
        out.append("CSP default-src in %r" % csp)
    for k, v in directives.items():
        for src in v:
            if not (src in ("'none'", "'self'") or (k == "img-src" and src == "data:")):
                out.append("CSP %s allows %s" % (k, src))
    if h.get("X-Frame-Options", "").upper() != "DENY":
        out.append("X-Frame-Options %r" % h.get("X-Frame-Options"))
    if h.get("Referrer-Policy", "").lower() != "no-referrer":
        out.append("Referrer-Policy %r" % h.get("Referrer-Policy"))
    if "no-store" not in h.get("Cache-Control", ""):
        out.append("Cache-Control %r" % h.get("Cache-Control"))
    if h.get("X-Content-Type-Options", "").lower() != "nosniff":
        out.append("X-Content-Type-Options %r" % h.get("X-Content-Type-Options"))
    page = Page(r)
    for tag, attr, v in page.urls:
        p = urllib.parse.urlsplit(v)
        if tag == "form" and attr == "action":
            if p.netloc or p.scheme or not v.startswith("/"):
                out.append("form action %r" % v)
            continue
        if tag == "a" and attr == "href":
            continue
        if tag == "link" and attr == "href" and v.startswith("data:"):
            continue
        if p.scheme or p.netloc or v.startswith("//"):
            out.append("%s %s=%r loads from elsewhere" % (tag, attr, v))
    bad_tags = [tg for tg, _a in page.tags if tg in ("script", "iframe", "object", "embed")]
    if bad_tags:
        out.append("tags %r" % bad_tags)
    return out


def check_device_page(r, status, words=None):
    """An HTML page with status, row 13's headers, nothing loaded from elsewhere, no Location;
    words (lower case) must be in its text. Returns the Page."""
    assert r.status_code == status, "expected %s: %s %r %s" % (
        status, r.status_code, r.headers.get("Location"), r.text[:600])
    bad = html_security_problems(r)
    assert not bad, "%s page: %r" % (status, bad)
    if status != 303:
        assert "Location" not in r.headers, r.headers
    page = Page(r)
    if words is not None:
        assert words.lower() in page.text.lower(), (words, page.text[:800])
    return page


def is_device_confirmation(r):
    """The confirmation page: 200 and a form posting to /device with allow and deny buttons."""
    if r.status_code != 200 or "html" not in r.headers.get("Content-Type", ""):
        return False
    page = Page(r)
    if not page.has_form("/device"):
        return False
    f = page.form("/device")
    return ("decision", "allow") in f.buttons and ("decision", "deny") in f.buttons


def device_open(agent, user_code, username=None, password=None, max_steps=4):
    """The browser opens /device?user_code=… (verification_uri_complete): logs in once when a
    login page comes and a username is given, follows redirects on the server, and returns the
    first other answer (the confirmation page when all is well)."""
    r = agent.get(device_path(user_code))
    for _ in range(max_steps):
        if r.status_code in (301, 302, 303, 307, 308) and agent.is_local(location_of(r)):
            r = agent.follow(r)
            continue
        if username is not None and r.status_code == 200 and Page(r).has_form("/login"):
            r = agent.login(r, username, password)
            username = None
            continue
        return r
    raise AssertionError("no end after %d steps: %s %r" % (max_steps, r.status_code,
                                                           r.headers.get("Location")))


def device_decide(agent, r, decision="allow", overrides=None, drop=()):
    """Presses the allow/deny button of the confirmation page r (the form posting to /device)."""
    f = Page(r).form("/device")
    assert f.method == "post", f.method
    if decision in ("allow", "deny"):
        assert ("decision", decision) in f.buttons, "no %s button: %r" % (decision, f.buttons)
    button = None if decision is None else ("decision", decision)
    return agent.post(urllib.parse.urljoin(r.url, f.action), f.data(overrides, drop, button))


class DeviceLogin:
    """One device authorization approved (or denied) by a person: the /device_authorization
    answer, the browser, the user (name, password, id) and the page the decision led to."""

    def __init__(self, auth, agent, user, page, login_started, login_done):
        self.auth, self.agent, self.user, self.page = auth, agent, user, page
        self.login_started, self.login_done = login_started, login_done

    @property
    def device_code(self):
        return self.auth["device_code"]

    @property
    def user_code(self):
        return self.auth["user_code"]


def device_flow(srv, client, user=None, scope=None, decision="allow", agent=None,
                typed=None):
    """A device authorization for client, opened by user (a new idp_user when None) in a browser
    (agent, a new one when None), who logs in when needed and presses decision. typed: how the
    person types the code (default: the code as shown). Asserts the confirmation page and a 200
    after the decision; returns a DeviceLogin."""
    user = user or idp_user(srv)
    auth = srv.device_start(client, scope=scope)
    agent = agent or UserAgent(srv)
    started = time.time()
    r = device_open(agent, typed or auth["user_code"], user[0], user[1])
    done = time.time()
    assert is_device_confirmation(r), (r.status_code, r.headers.get("Location"), r.text[:800])
    page = r
    if decision is not None:
        page = device_decide(agent, r, decision)
        assert page.status_code == 200, (page.status_code, page.text[:600])
    return DeviceLogin(auth, agent, user, page, started, done)


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, address, **kw):
        self._source = address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._source, 0)
        return super().init_poolmanager(*args, **kw)


def session_from(address):
    """A requests.Session whose connections come from the loopback address (e.g. 127.0.0.2),
    so that the daemon sees another client address."""
    s = requests.Session()
    s.mount("http://", _SourceAddressAdapter(address))
    return s


def get_from(srv, address, path):
    """GET path on srv from the client address `address` (no cookies, no redirects followed)."""
    with session_from(address) as s:
        return s.get(srv.url(path), timeout=http_timeout(), allow_redirects=False)
