"""The flows' half of the test harness (tests/tessera_harness.py gathers all): users, a browser
without a browser (UserAgent), PKCE, OpenID Connect checks and one identity provider for all."""
import hashlib
import html.parser
import secrets
import socket
import threading
import time
import urllib.parse

import pytest
import requests

from harness_daemon import (Server, ServerFactory, VSCHAR, auth_parts, b64url_decode,
                            b64url_encode, cli_ok, http_timeout, jwt_parts, post_form, verify_jwt)

# ================================================================ users, browsers, PKCE, OIDC
# The authorization code flow without a browser: a UserAgent keeps its own cookie jar (so tests
# can drop, swap or inspect cookies, and so __Host- cookies of an https issuer still work over
# the test's plain http), reads the login and consent forms with the stdlib's html.parser, posts
# them as a browser would, and never follows a redirect that leaves the server (the client's
# redirect_uri): the code is read from that Location header.


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def pkce_challenge(verifier):
    """The S256 code_challenge of verifier (RFC 7636 §4.2)."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


class PKCE:
    """A verifier (43..128 unreserved chars) and its S256 challenge."""

    def __init__(self, verifier=None, length=64):
        if verifier is None:
            verifier = "".join(secrets.choice(UNRESERVED) for _ in range(length))
        self.verifier = verifier
        self.challenge = pkce_challenge(verifier)

    def params(self):
        return [("code_challenge", self.challenge), ("code_challenge_method", "S256")]


def token_key(text):
    """The key a code, refresh token or device code is stored under (lib/grant.c): for one of 51
    characters, the time at its start (6 bytes) then 26 bytes of the SHA-256 of its text; for
    one made before schema version 6 (43 characters), the SHA-256."""
    sha = hashlib.sha256(text.encode("ascii")).digest()
    return b64url_decode(text[:8]) + sha[:26] if len(text) == 51 else sha


def at_hash(access_token):
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token."""
    d = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url_encode(d[:16])


def auth_request(client_id, redirect_uri=None, scope="openid", state=None, nonce=None,
                 pkce=None, extra=(), response_type="code"):
    """The parameters of an authorization request as a list of pairs (None values left out).
    pkce: a PKCE (its challenge + S256 are added), or False for none at all."""
    pairs = []
    if response_type is not None:
        pairs.append(("response_type", response_type))
    if client_id is not None:
        pairs.append(("client_id", client_id))
    if redirect_uri is not None:
        pairs.append(("redirect_uri", redirect_uri))
    if scope is not None:
        pairs.append(("scope", scope))
    if state is not None:
        pairs.append(("state", state))
    if nonce is not None:
        pairs.append(("nonce", nonce))
    if pkce:
        pairs += pkce.params()
    return pairs + list(extra)


class Form:
    def __init__(self, attrs):
        self.action = attrs.get("action")
        self.method = (attrs.get("method") or "get").lower()
        self.fields = []      # (name, value, type) of inputs, textareas and selects
        self.buttons = []     # (name, value) of submit buttons / inputs

    def field(self, name):
        vals = [v for n, v, _t in self.fields if n == name]
        assert len(vals) == 1, "form %r has %d fields named %r" % (self.action, len(vals), name)
        return vals[0]

    def has(self, name):
        return any(n == name for n, _v, _t in self.fields)

    def type_of(self, name):
        return [tp for n, _v, tp in self.fields if n == name][0]

    def data(self, overrides=None, drop=(), button=None):
        """The pairs a browser would submit: every named field (hidden ones included) with
        overrides replacing values (a key not among the fields is added), drop removing fields,
        and the button (name, value) appended."""
        overrides = dict(overrides or {})
        out = []
        for n, v, _tp in self.fields:
            if n in drop:
                continue
            if n in overrides:
                v = overrides.pop(n)
            out.append((n, v))
        out += [(k, v) for k, v in overrides.items() if k not in drop]
        if button is not None:
            out.append(button)
        return out


class PageParser(html.parser.HTMLParser):
    """Forms, every URL-bearing attribute, scripts and the visible text of a page."""

    URL_ATTRS = {"src", "href", "action", "formaction", "data", "poster", "srcset", "background",
                 "cite", "manifest", "ping"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.urls = []        # (tag, attr, value)
        self.tags = []        # (tag, attrs dict)
        self.text = []
        self._form = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {}
        for k, v in attrs:
            a[k] = v if v is not None else ""
        self.tags.append((tag, a))
        for k, v in a.items():
            if k in self.URL_ATTRS:
                self.urls.append((tag, k, v))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.urls.append((tag, "http-equiv", a.get("content", "")))
        if tag == "form":
            self._form = Form(a)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            tp = (a.get("type") or "text").lower()
            if tp in ("submit", "image"):
                if "name" in a:
                    self._form.buttons.append((a["name"], a.get("value", "")))
            elif "name" in a and tp not in ("reset", "button"):
                self._form.fields.append((a["name"], a.get("value", ""), tp))
        elif tag == "button":
            tp = (a.get("type") or "submit").lower()
            if tp == "submit" and "name" in a:
                self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and "name" in a:
            self._textarea = [a["name"], ""]
        elif tag == "select" and "name" in a:
            self._form.fields.append((a["name"], "", "select"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], self._textarea[1], "textarea"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        self.text.append(data)


class Page:
    """A parsed HTML response."""

    def __init__(self, r):
        self.r = r
        self.html = r.text
        p = PageParser()
        p.feed(self.html)
        p.close()
        self.forms = p.forms
        self.urls = p.urls
        self.tags = p.tags
        self.text = " ".join(" ".join(p.text).split())

    def form(self, action_suffix):
        """The one form whose action path ends with action_suffix (e.g. "/login")."""
        fs = [f for f in self.forms
              if urllib.parse.urlsplit(f.action or "").path.endswith(action_suffix)]
        assert len(fs) == 1, "expected one form posting to %s, found %r in:\n%s" % (
            action_suffix, [f.action for f in self.forms], self.html[:2000])
        return fs[0]

    def has_form(self, action_suffix):
        return any(urllib.parse.urlsplit(f.action or "").path.endswith(action_suffix)
                   for f in self.forms)


def set_cookie_headers(r):
    """Every Set-Cookie header of r, raw (requests folds repeated headers into one)."""
    try:
        return list(r.raw.headers.getlist("Set-Cookie"))
    except AttributeError:
        v = r.headers.get("Set-Cookie")
        return [v] if v else []


def parse_set_cookie(raw):
    """(name, value, {lower-case attribute: value or True})."""
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def is_303(r):
    return r.status_code == 303


def location_of(r):
    loc = r.headers.get("Location")
    assert loc is not None, "no Location in %s reply: %s" % (r.status_code, r.text[:500])
    # http.client decodes header bytes as latin-1: a correct server only sends ASCII here
    assert VSCHAR.match(loc), "Location is not plain printable ASCII: %r" % (loc,)
    return loc


def redirect_params(r, status=303):
    """The query of a redirect to the client as a dict (each key once, values decoded as UTF-8,
    byte-exact), after checking the status and that there is no fragment."""
    assert r.status_code == status, "expected a %d redirect, got %s %r: %s" % (
        status, r.status_code, r.headers.get("Location"), r.text[:500])
    loc = location_of(r)
    parts = urllib.parse.urlsplit(loc)
    assert parts.fragment == "" and "#" not in loc, "fragment in %r" % (loc,)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, encoding="utf-8",
                                   errors="strict")
    keys = [k for k, _v in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, "repeated parameters %r in %r" % (dup, loc)
    return dict(pairs)


def redirect_target(r):
    """scheme://host[:port]/path of the Location (without query)."""
    p = urllib.parse.urlsplit(location_of(r))
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))


class UserAgent:
    """A browser talking to one server: its own cookies, forms filled from the pages."""

    def __init__(self, srv):
        self.srv = srv
        self.cookies = {}
        self.set_cookies = []     # every parsed Set-Cookie seen: (name, value, attrs)
        self.history = []

    def _url(self, url):
        return urllib.parse.urljoin(self.srv.base + "/", url)

    def is_local(self, url):
        p = urllib.parse.urlsplit(self._url(url))
        b = urllib.parse.urlsplit(self.srv.base)
        return (p.scheme, p.netloc) == (b.scheme, b.netloc)

    def request(self, method, url, data=None, headers=None, send_cookies=True):
        h = {}
        if send_cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if data is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            if not isinstance(data, (str, bytes)):
                data = urllib.parse.urlencode(list(data.items()) if isinstance(data, dict)
                                              else data)
        h.update(headers or {})
        r = requests.request(method, self._url(url), data=data, headers=h,
                             allow_redirects=False, timeout=http_timeout(),
                             verify=self.srv.verify)
        self.history.append(r)
        for raw in set_cookie_headers(r):
            name, value, attrs = parse_set_cookie(raw)
            self.set_cookies.append((name, value, attrs))
            if attrs.get("max-age") in ("0", "-1") or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, data, **kw):
        return self.request("POST", url, data=data, **kw)

    def authorize(self, params, method="GET"):
        """GET (or POST) /authorize with params: pairs, a dict or a raw query string."""
        if isinstance(params, dict):
            params = list(params.items())
        if method == "GET":
            q = params if isinstance(params, str) else urllib.parse.urlencode(params)
            return self.get("/authorize?" + q)
        return self.post("/authorize", params)

    def follow(self, r):
        """Follows r's redirect when it stays on the server."""
        loc = location_of(r)
        assert self.is_local(loc), "redirect leaves the server: %r" % (loc,)
        return self.get(loc)

    def submit(self, r, action, overrides=None, drop=(), button=None):
        page = Page(r)
        f = page.form(action)
        assert f.method == "post", "form %s uses method %r" % (action, f.method)
        return self.post(urllib.parse.urljoin(r.url, f.action), f.data(overrides, drop, button))

    def login(self, r, username, password, overrides=None, drop=()):
        """Fills and posts the login form of page r."""
        o = {"username": username, "password": password}
        o.update(overrides or {})
        page = Page(r)
        f = page.form("/login")
        btn = f.buttons[0] if f.buttons else None
        return self.post(urllib.parse.urljoin(r.url, f.action), f.data(o, drop, btn))

    def consent(self, r, decision="allow", overrides=None, drop=()):
        """Presses the allow/deny button of the consent page r."""
        page = Page(r)
        f = page.form("/consent")
        assert ("decision", decision) in f.buttons, "no %s button: %r" % (decision, f.buttons)
        return self.post(urllib.parse.urljoin(r.url, f.action),
                         f.data(overrides, drop, ("decision", decision)))

    def run(self, params, username=None, password=None, decision="allow", method="GET",
            max_steps=8):
        """Drives /authorize until the reply leaves the server (returned, not followed) or a page
        the arguments do not answer (returned): logs in when given a username, answers the
        consent page when given a decision."""
        r = self.authorize(params, method=method)
        for _ in range(max_steps):
            if r.status_code in (301, 302, 303, 307, 308):
                if not self.is_local(location_of(r)):
                    return r
                r = self.follow(r)
                continue
            if r.status_code != 200 or "html" not in r.headers.get("Content-Type", ""):
                return r
            page = Page(r)
            if page.has_form("/login") and username is not None:
                r = self.login(r, username, password)
                username = None     # only once: a second login page is returned to the test
                continue
            if page.has_form("/consent") and decision is not None:
                r = self.consent(r, decision)
                decision = None
                continue
            return r
        raise AssertionError("no end after %d steps: %s %s" % (max_steps, r.status_code,
                                                              r.headers.get("Location")))


def is_login_page(r):
    return r.status_code == 200 and Page(r).has_form("/login")


def is_consent_page(r):
    return r.status_code == 200 and Page(r).has_form("/consent")


def new_username(prefix="u"):
    return "%s%s" % (prefix, secrets.token_hex(5))


def _add_user(self, username, password="correct horse", scope=None, email=None, name=None):
    """`tessera user add` through the CLI; returns the printed JSON (with "id")."""
    args = ["user", "add", username, "--password-stdin"]
    if scope is not None:
        args += ["--scope", scope]
    if email is not None:
        args += ["--email", email]
    if name is not None:
        args += ["--name", name]
    out = cli_ok(args, db=self.db, input=password + "\n")
    assert out.get("username") == username and isinstance(out.get("id"), int), out
    return out


def _redeem(self, client, code, verifier=None, redirect_uri=None, auth=None, extra=()):
    """POST /token grant_type=authorization_code. auth defaults to "none" (client_id in the
    body) for a client without a secret, "basic" otherwise; None values are left out."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    pairs = [("grant_type", "authorization_code")]
    if code is not None:
        pairs.append(("code", code))
    if redirect_uri is not None:
        pairs.append(("redirect_uri", redirect_uri))
    if verifier is not None:
        pairs.append(("code_verifier", verifier))
    return self.post("/token", pairs + body + list(extra), headers=h)


def _userinfo(self, token, method="GET", where="header", extra_headers=None):
    h = dict(extra_headers or {})
    data = None
    if where in ("header", "both"):
        h["Authorization"] = "Bearer " + token
    if where in ("body", "both"):
        data = [("access_token", token)]
    if method == "GET":
        return self.get("/userinfo", headers=h)
    return post_form(self.url("/userinfo"), data or [], headers=h)


Server.add_user = _add_user
Server.redeem = _redeem
Server.userinfo = _userinfo


class Login:
    """One finished authorization: the agent, the code, the token response."""

    def __init__(self, agent, params, redirect, code, pkce, tokens=None):
        self.agent, self.params, self.redirect = agent, params, redirect
        self.code, self.pkce, self.tokens = code, pkce, tokens

    @property
    def access_token(self):
        return self.tokens["access_token"]


def code_flow(srv, client, username, password, redirect_uri=None, scope="openid", nonce=None,
              state=None, extra=(), agent=None, redeem=True, send_redirect_uri=True):
    """The whole flow as a test prerequisite: authorize, log in, allow, read the code, redeem it.
    Asserts every step; returns a Login."""
    agent = agent or UserAgent(srv)
    pkce = PKCE()
    params = auth_request(client.id, redirect_uri if send_redirect_uri else None, scope=scope,
                          state=state, nonce=nonce, pkce=pkce, extra=extra)
    r = agent.run(params, username=username, password=password)
    q = redirect_params(r)
    assert "code" in q, "no code: %r" % (q,)
    tokens = None
    if redeem:
        tr = srv.redeem(client, q["code"], pkce.verifier,
                        redirect_uri if send_redirect_uri else None)
        assert tr.status_code == 200, "redeem: %s %s" % (tr.status_code, tr.text)
        tokens = tr.json()
    return Login(agent, params, r, q["code"], pkce, tokens)


_MISSING = object()


def verify_id_token(srv, id_token, client_id, nonce=_MISSING, access_token=None, now=None):
    """Checks an ID token as an RP must (OIDC Core §3.1.3.7) and returns its claims."""
    header, _ = jwt_parts(id_token)
    assert header.get("alg") == "ES256", header
    assert header.get("typ") == "JWT", header
    jwks = srv.jwks()
    assert header.get("kid") in [k["kid"] for k in jwks["keys"]], header
    claims = verify_jwt(id_token, jwks)
    now = now or time.time()
    assert claims["iss"] == srv.issuer, claims
    assert claims["aud"] == client_id or claims["aud"] == [client_id], claims
    assert claims["azp"] == client_id, claims
    assert isinstance(claims["sub"], str) and claims["sub"], claims
    for k in ("exp", "iat", "auth_time"):
        assert isinstance(claims[k], int), (k, claims)
    assert claims["exp"] > now - 5 and claims["exp"] > claims["iat"], claims
    assert abs(claims["iat"] - now) < 120, claims
    assert claims["auth_time"] <= claims["iat"] + 1, claims
    if nonce is not _MISSING:
        if nonce is None:
            assert "nonce" not in claims, claims
        else:
            assert claims.get("nonce") == nonce, claims
    if access_token is not None:
        assert claims.get("at_hash") == at_hash(access_token), claims
    return claims


class ConnectionTrap:
    """A loopback listener that counts connections: proves a URL is never fetched."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = False
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/keys" % self.port

    def _loop(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            c.close()

    def close(self):
        self._stop = True
        self._th.join(timeout=2)
        self.sock.close()


# ---------------------------------------------------------------- one identity provider for all

# The clients of the shared server (tests/e2e/test_{authorize,code_redemption,pages,oidc,
# conformance}.py): each test makes its own users (new_username()), so sessions, consents and
# grants never collide; wrong passwords (which feed the per-address throttle) stay on servers of
# their own.
IDP_WEB_SCOPE = ("openid profile email mqtt:sub:home/${username}/# "
                 "mqtt:pub:home/${username}/cmd")
IDP_CONF_SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
                  "mqtt:pub:sensors/kitchen/# mqtt:sub:cmd/dev42 mqtt:pub:dev/${clientid}/#")
IDP_USER_SCOPE = ("mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
                  "mqtt:pub:sensors/kitchen/# mqtt:sub:cmd/dev42 mqtt:pub:dev/#")
IDP_CLIENTS = [
    dict(client_id="web", public=True, grants=["authorization_code"], name="Web app",
         redirect_uris=["http://127.0.0.1:9/cb"], scope=IDP_WEB_SCOPE),
    dict(client_id="conf", grants=["authorization_code", "refresh_token"], name="Conformance RP",
         redirect_uris=["https://rp.example/cb"], scope=IDP_CONF_SCOPE),
    dict(client_id="other", grants=["authorization_code"], name="Other RP",
         redirect_uris=["https://other.example/cb"], scope="openid profile email"),
    dict(client_id="two", grants=["authorization_code"], name="Two URIs",
         redirect_uris=["https://two.example/a", "https://two.example/b"], scope="openid"),
    dict(client_id="query", grants=["authorization_code"], name="Query URI",
         redirect_uris=["https://rp.example/cb?foo=bar"], scope="openid"),
    dict(client_id="cc-only", grants=["client_credentials"], name="No code",
         redirect_uris=["https://cc.example/cb"], scope="openid mqtt:sub:x/#"),
    dict(client_id="v6", public=True, grants=["authorization_code"], name="IPv6 app",
         redirect_uris=["http://[::1]:8080/cb"], scope="openid"),
    dict(client_id="rs", scope="introspect"),
]

_SHARED = {}


def _shared_idp_acquire():
    if "idp" not in _SHARED:
        f = ServerFactory("idp")
        s = f.start(clients=IDP_CLIENTS, name="idp")
        _SHARED["idp"] = [f, s, 0]
    _SHARED["idp"][2] += 1
    return _SHARED["idp"][1]


def _shared_idp_release():
    entry = _SHARED["idp"]
    entry[2] -= 1
    if entry[2] == 0:
        del _SHARED["idp"]
        entry[0].close()


@pytest.fixture(scope="session")
def idp():
    """One daemon with IDP_CLIENTS shared by every module that imports this fixture (each import
    holds a reference; the last one to finish stops it and checks how it ended)."""
    s = _shared_idp_acquire()
    yield s
    _shared_idp_release()


def idp_user(srv, prefix="u", scope=IDP_USER_SCOPE, email=None, name=None,
             password="correct horse battery"):
    """A fresh user on srv: (username, password, id)."""
    u = new_username(prefix)
    out = srv.add_user(u, password, scope=scope, email=email or u + "@example.com",
                       name=name or "User " + u)
    return u, password, out["id"]
