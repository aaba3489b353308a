"""A person in a real browser: headless Chromium (Debian's, driven by playwright-core from
browser_flow.mjs) goes through Tessera's authorization code flow, which authlib (a real client
library) started and finishes:

authlib builds the authorization URL (PKCE S256, state, nonce) -> the browser sees the login page,
mistypes the password once, signs in, reads the consent page, presses Allow, and lands on the
client's redirect URI (a tiny HTTP server of this test) -> authlib redeems the code with the PKCE
verifier, the ID token is verified against /jwks and /userinfo answers.

Along the way the browser records every request, response header, console message and CSP
violation, and screenshots of each page (under pytest's tmp dir), and the tests below judge them:
docs/security.md row 13 (framing and referrer headers, nothing loaded from elsewhere), row 12
(303 after login), the pages' form fields and wording.

Needs chromium and tests/interop/node_modules: run `make deps` (as root) first. Without
them every test here fails saying so; nothing is skipped.
"""
import hashlib
import http.server
import json
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

import browser_deps
from browser_deps import CHROMIUM, NODE
from tessera_harness import b64url_encode, free_port, http_timeout, jwt_parts, t

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "browser_flow.mjs")

USERNAME = "alice"
PASSWORD = "correct horse battery staple"
CLIENT_ID = "web"
CLIENT_NAME = "Web app"
CLIENT_SCOPE = ("openid profile email mqtt:sub:home/${username}/# "
                "mqtt:pub:home/${username}/cmd")
USER_SCOPE = "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"
REQUESTED = ["openid", "profile", "email", "mqtt:sub:home/alice/#", "mqtt:pub:home/alice/cmd"]
# How the consent page must put each requested scope in words (as in the README: "publish to
# sensors/kitchen/#", "receive messages on cmd/dev42", "your email address", "your name and
# username", "sign you in").
SCOPE_WORDS = {
    "openid": "sign you in",
    "profile": "your name and username",
    "email": "your email address",
    "mqtt:sub:home/alice/#": "receive messages on home/alice/#",
    "mqtt:pub:home/alice/cmd": "publish to home/alice/cmd",
}
SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "referrer-policy",
                    "cache-control", "x-content-type-options", "content-type")


# ---------------------------------------------------------------- the client's redirect URI


class Catcher:
    """The client's redirect URI: a loopback HTTP server that records each request's path."""

    def __init__(self):
        self.paths = []
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                catcher.paths.append(self.path)
                body = (b"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                        b"<title>Signed in</title></head><body><p>You can close this window."
                        b"</p></body></html>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=t(10))


def add_user(srv, username, password, email=None, name=None, scope=None):
    """`tessera user add` through the CLI (the harness has no helper for users)."""
    args = ["user", "add", username, "--password-stdin"]
    if email is not None:
        args += ["--email", email]
    if name is not None:
        args += ["--name", name]
    if scope is not None:
        args += ["--scope", scope]
    r = srv.cli(args, input=password + "\n")
    assert r.rc == 0, "user add failed: %r" % (r,)
    return r


def origin(url):
    p = urllib.parse.urlsplit(url)
    return "%s://%s" % (p.scheme, p.netloc)


# ---------------------------------------------------------------- the whole flow, once


class Flow:
    """Everything one run of the browser flow produced, for the tests to judge."""


@pytest.fixture(scope="module")
def flow(server_factory, tmp_path_factory):
    browser_deps.check("the browser test", ("playwright-core",))
    saved = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the test server is plain http on loopback
    catcher = Catcher()
    try:
        f = Flow()
        f.catcher = catcher
        f.redirect_uri = catcher.origin + "/cb"
        f.out = tmp_path_factory.mktemp("browser")
        srv = server_factory.new()
        srv.init()
        srv.add_client(CLIENT_ID, public=True, name=CLIENT_NAME, grants=["authorization_code"],
                       redirect_uris=[f.redirect_uri], scope=CLIENT_SCOPE)
        add_user(srv, USERNAME, PASSWORD, email="a@example.com", name="Alice A", scope=USER_SCOPE)
        srv.start()
        f.srv = srv
        r = requests.get(srv.url("/.well-known/openid-configuration"), timeout=http_timeout())
        assert r.status_code == 200, r.text
        f.meta = r.json()

        f.verifier = secrets.token_urlsafe(48)
        f.nonce = secrets.token_urlsafe(16)
        f.session = OAuth2Session(CLIENT_ID, None, token_endpoint_auth_method="none",
                                  redirect_uri=f.redirect_uri, scope=" ".join(REQUESTED),
                                  code_challenge_method="S256")
        auth_ep = f.meta.get("authorization_endpoint") or srv.url("/authorize")
        f.authorize_url, f.state = f.session.create_authorization_url(
            auth_ep, code_verifier=f.verifier, nonce=f.nonce)
        f.error_url = srv.url("/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": "no-such-client",
            "redirect_uri": f.redirect_uri, "scope": "openid", "state": "s1",
            "code_challenge": b64url_encode(hashlib.sha256(b"x" * 43).digest()),
            "code_challenge_method": "S256"}))

        cfg = {"chromium": CHROMIUM, "error_url": f.error_url, "authorize_url": f.authorize_url,
               "redirect_uri": f.redirect_uri, "username": USERNAME, "password": PASSWORD,
               "wrong_password": PASSWORD + "!", "out_dir": str(f.out)}
        cfg_path = f.out / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        try:
            p = subprocess.run([NODE, SCRIPT, str(cfg_path)], cwd=HERE, capture_output=True,
                               text=True, timeout=t(180))
        except subprocess.TimeoutExpired:
            pytest.fail("browser_flow.mjs did not finish within %ds" % t(180))
        f.node = p
        result = f.out / "result.json"
        assert result.exists(), ("browser_flow.mjs wrote no report (exit %d)\nstdout:\n%s\n"
                                 "stderr:\n%s" % (p.returncode, p.stdout, p.stderr[-4000:]))
        f.report = json.loads(result.read_text())
        yield f
    finally:
        catcher.close()
        if saved is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = saved


def need(flow, *pages):
    """The recorded pages, or a failure telling where and why the browser stopped."""
    rep = flow.report
    missing = [p for p in pages if p not in rep["pages"]]
    if missing or (rep["error"] and not pages):
        e = rep["error"] or {}
        pytest.fail("the browser never got to %s: it stopped at step %r: %s\nat %s\npage text:\n%s"
                    "\nscreenshot: %s\nnode stderr:\n%s"
                    % (", ".join(missing) or "the end", e.get("step"), e.get("message"),
                       e.get("url"), e.get("text"), rep["screenshots"].get("failure"),
                       flow.node.stderr[-3000:]), pytrace=False)
    return [rep["pages"][p] for p in pages]


def finished(flow):
    need(flow, "error", "login", "login_error", "consent")
    if flow.report["error"] or not flow.report["finalUrl"]:
        need(flow)
    return flow.report["finalUrl"]


# ---------------------------------------------------------------- the pages


def check_security_headers(page, what):
    h = page.get("headers") or {}
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (what, csp)
    assert directives.get("default-src") == "default-src 'none'", (what, csp)
    assert "'self'" in directives.get("style-src", ""), (what, csp)
    assert "'unsafe-inline'" not in csp, (what, csp)
    assert h.get("x-frame-options", "").upper() == "DENY", (what, h)
    assert h.get("referrer-policy", "").lower() == "no-referrer", (what, h)
    assert "no-store" in h.get("cache-control", ""), (what, h)
    assert h.get("x-content-type-options", "").lower() == "nosniff", (what, h)
    assert h.get("content-type", "").replace(" ", "").lower() == "text/html;charset=utf-8", \
        (what, h)


def check_plain_page(page, what):
    """What every page must be: readable on a phone, styled from /static/style.css only,
    no script, no inline style, escaped and in UTF-8."""
    assert page["charset"].upper() == "UTF-8", (what, page["charset"])
    assert page["lang"], "%s: <html> has no lang" % what
    assert page["title"].strip(), "%s: empty <title>" % what
    assert page["viewport"] and "width=device-width" in page["viewport"], (what, page["viewport"])
    assert page["scripts"] == 0, "%s has %d <script> elements" % (what, page["scripts"])
    assert page["inlineStyles"] == 0, "%s has inline style (CSP forbids it)" % what
    hrefs = [s["href"] for s in page["stylesheets"]]
    assert len(hrefs) == 1 and hrefs[0].endswith("/static/style.css"), (what, hrefs)
    assert origin(hrefs[0]) == origin(page["url"]), (what, hrefs)
    assert page["stylesheets"][0]["rules"] > 0, "%s: style.css loaded no rules" % what
    # the sheet applied: the default <body> background is transparent
    assert page["bodyBackground"] not in ("rgba(0, 0, 0, 0)", "transparent"), (what, page)
    assert "{{" not in page["text"] and "}}" not in page["text"], \
        "%s shows template syntax:\n%s" % (what, page["text"])


def test_error_page_for_unknown_client_is_a_page_not_a_redirect(flow):
    (page,) = need(flow, "error")
    assert page["status"] == 400, page
    assert page["url"] == flow.error_url, "the error page redirected: %r" % page["url"]
    assert not any("state=s1" in p for p in flow.catcher.paths), flow.catcher.paths
    check_security_headers(page, "error page")
    check_plain_page(page, "error page")
    assert page["h1"], page
    assert page["links"] == [], "the error page links elsewhere: %r" % page["links"]
    assert page["forms"] == [], page["forms"]


def test_login_page_has_the_form_a_password_manager_expects(flow):
    (page,) = need(flow, "login")
    assert page["status"] == 200, page
    check_security_headers(page, "login page")
    check_plain_page(page, "login page")
    assert CLIENT_NAME in page["text"], "the login page does not name the client:\n" + page["text"]
    forms = [f for f in page["forms"] if f["action"] == "/login"]
    assert len(forms) == 1 and forms[0]["method"] == "post", page["forms"]
    fields = {(e["name"] or e["tag"]): e for e in forms[0]["fields"]}
    user, pw = fields.get("username"), fields.get("password")
    assert user and user["autocomplete"] == "username" and user["type"] == "text", fields
    assert pw and pw["autocomplete"] == "current-password" and pw["type"] == "password", fields
    assert user["labels"] and pw["labels"], "username/password need a <label>: %r" % fields
    assert fields.get("csrf") and fields["csrf"]["type"] == "hidden" and fields["csrf"]["value"]
    submits = [e for e in forms[0]["fields"] if e["type"] == "submit"]
    assert len(submits) == 1 and submits[0]["text"], forms[0]["fields"]
    # the authorization request rides along as hidden fields
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flow.authorize_url).query))
    hidden = {e["name"]: e["value"] for e in forms[0]["fields"] if e["type"] == "hidden"}
    for k in ("client_id", "redirect_uri", "state", "code_challenge", "nonce"):
        assert hidden.get(k) == q[k], "hidden field %s: %r != %r" % (k, hidden.get(k), q[k])


def test_wrong_password_shows_the_login_page_again_with_an_error(flow):
    (page,) = need(flow, "login_error")
    assert page["status"] == 401, page
    check_security_headers(page, "login page after a wrong password")
    check_plain_page(page, "login page after a wrong password")
    assert page["alerts"] and page["alerts"][0], "no role=alert message:\n" + page["text"]
    assert any(f["action"] == "/login" for f in page["forms"]), page["forms"]
    assert PASSWORD not in page["text"]


def test_login_post_answers_303_and_sets_httponly_lax_cookies(flow):
    finished(flow)
    posts = [r for r in flow.report["responses"]
             if r["method"] == "POST" and urllib.parse.urlsplit(r["url"]).path == "/login"]
    assert [r["status"] for r in posts] == [401, 303], posts
    loc = posts[1]["headers"].get("location", "")
    assert urllib.parse.urlsplit(urllib.parse.urljoin(posts[1]["url"], loc)).path == \
        "/authorize", loc
    cookies = {c["name"]: c for c in flow.report["cookies"]}
    for name in ("tessera_session", "tessera_csrf"):
        assert name in cookies, "cookie %s missing: %r" % (name, cookies)
        c = cookies[name]
        assert c["httpOnly"] and c["sameSite"] == "Lax" and c["path"] == "/", c


def test_consent_page_names_the_client_the_user_and_each_scope_in_words(flow):
    (page,) = need(flow, "consent")
    assert page["status"] == 200, page
    assert urllib.parse.urlsplit(page["url"]).path == "/authorize", page["url"]
    check_security_headers(page, "consent page")
    check_plain_page(page, "consent page")
    assert CLIENT_NAME in page["text"] and USERNAME in page["text"], page["text"]
    items = [i.lower() for i in page["listItems"]]
    assert len(items) == len(REQUESTED), items
    for scope, words in SCOPE_WORDS.items():
        assert any(words in i for i in items), "%s not shown as %r: %r" % (scope, words, items)
    forms = [f for f in page["forms"] if f["action"] == "/consent"]
    assert len(forms) == 1 and forms[0]["method"] == "post", page["forms"]
    buttons = {e["value"]: e for e in forms[0]["fields"]
               if e["type"] == "submit" and e["name"] == "decision"}
    assert set(buttons) == {"allow", "deny"}, forms[0]["fields"]
    hidden = {e["name"]: e["value"] for e in forms[0]["fields"] if e["type"] == "hidden"}
    assert hidden.get("csrf"), hidden
    assert hidden.get("state") == flow.state, hidden


def test_pages_load_nothing_from_elsewhere(flow):
    finished(flow)
    own = origin(flow.srv.base)
    reqs = flow.report["requests"]
    assert reqs, "no requests recorded"
    for r in reqs:
        o = origin(r["url"])
        if o == own:
            continue
        # the one way out is the navigation to the client's redirect URI at the end
        assert o == flow.catcher.origin and r["navigation"] and r["url"].startswith(
            flow.redirect_uri), "request to elsewhere: %r" % r
    css = [r for r in flow.report["responses"] if r["url"] == own + "/static/style.css"]
    assert css and all(r["status"] in (200, 304) for r in css), css
    assert css[0]["headers"]["content-type"].startswith("text/css"), css[0]
    assert not flow.report["failed"], flow.report["failed"]


def test_pages_render_under_their_csp_without_violations_or_errors(flow):
    finished(flow)
    assert flow.report["cspViolations"] == [], flow.report["cspViolations"]
    assert flow.report["pageErrors"] == [], flow.report["pageErrors"]
    # Chromium notes a document's own 4xx status ("Failed to load resource: ... status of 401")
    # on the console; that one is expected on the error and failed-login pages, nothing else is
    status_of = {}
    for r in flow.report["responses"]:
        if r["navigation"]:
            status_of.setdefault(r["url"], set()).add(r["status"])
    errors = []
    for m in flow.report["console"]:
        if m["type"] not in ("error", "warning"):
            continue
        own = re.match(r"^Failed to load resource: the server responded with a status of (\d+)",
                       m["text"])
        if own and int(own.group(1)) in status_of.get(m["page"], ()):
            continue
        errors.append(m)
    assert errors == [], errors


def test_screenshots_of_every_page_at_desktop_and_phone_width(flow):
    finished(flow)
    shots = flow.report["screenshots"]
    for name in ("error", "login", "login-phone", "login-error", "consent", "consent-phone",
                 "consent-dark"):
        assert name in shots, (name, shots)
        with open(shots[name], "rb") as f:
            data = f.read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, (name, len(data))
    for name in ("login", "consent", "error"):
        assert not flow.report["pages"][name]["textOverflow"], "%s scrolls sideways" % name


# ---------------------------------------------------------------- the client finishes


def test_redirect_carries_code_state_and_iss_and_authlib_redeems_it(flow):
    final = finished(flow)
    assert final.startswith(flow.redirect_uri + "?"), final
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(final).query)
    assert set(q) == {"code", "state", "iss"}, q
    assert q["state"] == [flow.state] and q["iss"] == [flow.srv.issuer], q
    code = q["code"][0]
    assert len(code) == 51 and all(c.isalnum() or c in "-_" for c in code), code
    assert any(p.startswith("/cb?") and "code=" in p for p in flow.catcher.paths), \
        flow.catcher.paths

    meta = flow.meta
    tok = flow.session.fetch_token(meta["token_endpoint"], authorization_response=final,
                                   code_verifier=flow.verifier, timeout=http_timeout())
    assert tok["token_type"] == "Bearer", tok
    assert set(tok["scope"].split()) == set(REQUESTED), tok["scope"]
    assert "refresh_token" not in tok, "the client has no refresh_token grant: %r" % tok

    r = requests.get(meta["jwks_uri"], timeout=http_timeout())
    assert r.status_code == 200, r.text
    keyset = JsonWebKey.import_key_set(r.json())

    header = jwt_parts(tok["id_token"])[0]
    assert header["alg"] == "ES256" and header["typ"] == "JWT" and header.get("kid"), header
    idt = JsonWebToken(["ES256"]).decode(
        tok["id_token"], keyset, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": flow.srv.issuer},
                        "aud": {"essential": True, "value": CLIENT_ID}},
        claims_params={"nonce": flow.nonce, "client_id": CLIENT_ID,
                       "access_token": tok["access_token"]})
    idt.validate(leeway=5)
    assert idt["nonce"] == flow.nonce and idt["azp"] == CLIENT_ID, dict(idt)
    assert idt.get("at_hash"), "no at_hash: %r" % dict(idt)
    now = time.time()
    assert now - 120 <= idt["auth_time"] <= now + 5, dict(idt)
    assert idt["sub"].isdigit(), dict(idt)

    at = JsonWebToken(["ES256"]).decode(tok["access_token"], keyset)
    at.validate(leeway=5)
    assert jwt_parts(tok["access_token"])[0]["typ"] == "at+jwt"
    assert at["sub"] == idt["sub"] and at["username"] == USERNAME, dict(at)
    assert at["client_id"] == CLIENT_ID and set(at["scope"].split()) == set(REQUESTED), dict(at)

    r = flow.session.get(meta.get("userinfo_endpoint") or flow.srv.url("/userinfo"),
                         timeout=http_timeout())
    assert r.status_code == 200, (r.status_code, r.headers, r.text)
    info = r.json()
    assert info["sub"] == idt["sub"] and info["preferred_username"] == USERNAME, info
    assert info["name"] == "Alice A" and info["email"] == "a@example.com", info
    assert info["email_verified"] is False, info
