"""The device authorization grant (RFC 8628) between two standard pieces of software: openid-client
(npm, the device: discovery, initiateDeviceAuthorization, pollDeviceAuthorizationGrant,
refreshTokenGrant) and headless Chromium (Debian's, driven by playwright-core from device_flow.mjs,
the person), in one node process with the device polling while the person acts.

Run 1 (allow): the device asks for "openid profile mqtt:pub:sensors/dana/# mqtt:sub:cmd/dana/#"
(client_secret_basic); Chromium loads verification_uri_qr, whose screenshot jsqr must read back
as verification_uri_complete; then opens verification_uri_complete, signs in, reads the
confirmation page (client name, user code, scopes in words), presses Allow and sees "Device
connected"; the library's poll returns the tokens, which are checked against /jwks here, and the
library refreshes them.
Run 2 (deny): the device asks again (client_secret_post); the person opens verification_uri,
types the user code in lower case without the dash, and presses Deny; the library's poll must
fail with access_denied.

The library's every request is recorded, so the polling intervals (tessera `device_interval = 1`)
and the absence of slow_down are judged here too.

Needs chromium and tests/interop/node_modules: run `make deps` (as root) first. Without
them every test here fails saying so; nothing is skipped.
"""
import json
import os
import subprocess
import time
import urllib.parse

import pytest

import browser_deps
from browser_deps import CHROMIUM, NODE
from tessera_harness import jwt_parts, t, verify_id_token, verify_jwt

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "device_flow.mjs")
NODE_PACKAGES = ("playwright-core", "openid-client", "jsqr", "pngjs")

USERNAME = "dana"
PASSWORD = "correct horse battery staple"
CLIENT_ID = "sensor-hub"
CLIENT_NAME = "Kitchen sensor hub"
CLIENT_SCOPE = "openid profile mqtt:pub:sensors/${username}/# mqtt:sub:cmd/${username}/#"
USER_SCOPE = "mqtt:pub:sensors/${username}/# mqtt:sub:cmd/${username}/#"
ALLOW_SCOPE = ["openid", "profile", "mqtt:pub:sensors/dana/#", "mqtt:sub:cmd/dana/#"]
DENY_SCOPE = ["mqtt:pub:sensors/dana/#"]
# The confirmation page puts each scope in words, as the consent page does.
SCOPE_WORDS = {
    "openid": "sign you in",
    "profile": "your name and username",
    "mqtt:pub:sensors/dana/#": "publish to sensors/dana/#",
    "mqtt:sub:cmd/dana/#": "receive messages on cmd/dana/#",
}
INTERVAL = 1            # [tokens] device_interval
SETTLE_PENDING = 2      # authorization_pending answers the device gets before the person decides
USER_CODE_ALPHABET = set("BCDFGHJKLMNPQRSTVWXZ")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Flow:
    """Everything the node run produced, for the tests to judge."""


@pytest.fixture(scope="module")
def flow(server_factory, tmp_path_factory):
    browser_deps.check("the device flow test", NODE_PACKAGES)
    f = Flow()
    f.out = tmp_path_factory.mktemp("device")
    srv = server_factory.new(config={"tokens": {"device_interval": INTERVAL}})
    srv.init()
    f.client = srv.add_client(CLIENT_ID, name=CLIENT_NAME, grants=["device_code", "refresh_token"],
                              scope=CLIENT_SCOPE)
    assert f.client.secret, "a confidential client has a secret"
    f.rs = srv.add_client("broker", grants=["client_credentials"], scope="introspect")
    f.user = srv.add_user(USERNAME, PASSWORD, scope=USER_SCOPE, name="Dana D")  # CLI user add
    srv.start()
    f.srv = srv
    cfg = {"chromium": CHROMIUM, "issuer": srv.issuer, "client_id": CLIENT_ID,
           "client_secret": f.client.secret, "username": USERNAME, "password": PASSWORD,
           "allow_scope": " ".join(ALLOW_SCOPE), "deny_scope": " ".join(DENY_SCOPE),
           "settle_pending": SETTLE_PENDING, "out_dir": str(f.out)}
    cfg_path = f.out / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    f.started = time.time()
    try:
        p = subprocess.run([NODE, SCRIPT, str(cfg_path)], cwd=HERE, capture_output=True,
                           text=True, timeout=t(240))
    except subprocess.TimeoutExpired:
        pytest.fail("device_flow.mjs did not finish within %ds" % t(240))
    f.node = p
    result = f.out / "result.json"
    assert result.exists(), ("device_flow.mjs wrote no report (exit %d)\nstdout:\n%s\n"
                             "stderr:\n%s" % (p.returncode, p.stdout, p.stderr[-4000:]))
    f.report = json.loads(result.read_text())
    yield f


def stopped(flow, what):
    e = flow.report["error"] or {}
    pytest.fail("the run never got to %s: it stopped in run %r at step %r: %s\nat %s\npage text:\n"
                "%s\nscreenshots: %s\nnode stderr:\n%s\nserver stderr (tail):\n%s"
                % (what, e.get("run"), e.get("step"), e.get("message"), e.get("url"),
                   e.get("text"), json.dumps(flow.report["screenshots"], indent=1),
                   flow.node.stderr[-3000:], flow.srv.stderr()[-3000:]), pytrace=False)


def run_of(flow, name, *pages):
    """The recorded run (with the pages asked for), or a failure telling where it stopped."""
    run = flow.report["runs"].get(name)
    if run is None:
        stopped(flow, "run " + name)
    missing = [p for p in pages if p not in run["pages"]]
    if missing:
        stopped(flow, "the %s page(s) of run %s" % (", ".join(missing), name))
    return run


def poll_result(flow, name):
    run = run_of(flow, name)
    if "poll" not in run:
        stopped(flow, "the end of the poll of run " + name)
    return run["poll"]


def tokens_of(flow):
    poll = poll_result(flow, "allow")
    assert poll["ok"], ("openid-client's pollDeviceAuthorizationGrant failed: %r\npolls: %s\n"
                        "server stderr (tail):\n%s"
                        % (poll.get("error"), json.dumps(polls(flow, "allow"), indent=1),
                           flow.srv.stderr()[-3000:]))
    return poll["tokens"]


def polls(flow, name):
    return [h for h in flow.report["http"] if h["run"] == name and h["path"] == "/token"
            and h["grant_type"] == DEVICE_GRANT]


def norm(user_code):
    """A user code as the verification page compares them: case, spaces and dashes ignored."""
    return "".join(user_code.split()).replace("-", "").upper()


def words(s):
    return set(s.split())


def page_text(page):
    return " ".join(page["text"].split())


# ---------------------------------------------------------------- discovery and the request


def test_the_library_discovers_the_device_authorization_endpoint(flow):
    meta = flow.report["metadata"]
    if meta is None:
        stopped(flow, "discovery")
    assert meta["issuer"] == flow.srv.issuer, meta
    assert meta.get("device_authorization_endpoint") == flow.srv.issuer + "/device_authorization", \
        meta
    assert DEVICE_GRANT in meta.get("grant_types_supported", []), meta


def test_device_authorization_answer_as_the_contract_says(flow):
    for name, auth in (("allow", "basic"), ("deny", "post")):
        run = run_of(flow, name)
        da = run.get("device_authorization")
        if da is None:
            stopped(flow, "the device authorization of run " + name)
        code = da["user_code"]
        assert len(code) == 9 and code[4] == "-", da
        assert set(code.replace("-", "")) <= USER_CODE_ALPHABET, da
        assert len(da["device_code"]) == 51, da
        iss = flow.srv.issuer
        assert da["verification_uri"] == iss + "/device", da
        assert da["verification_uri_complete"] == iss + "/device?user_code=" + code, da
        assert da["verification_uri_qr"] == iss + "/device/qr?user_code=" + code, da
        assert da["interval"] == INTERVAL and da["expires_in"] == 600, da
        calls = [h for h in flow.report["http"] if h["path"] == "/device_authorization"
                 and h["run"] == name]
        assert len(calls) == 1, calls
        assert calls[0]["status"] == 200 and calls[0]["auth"] == auth, calls
        assert "no-store" in (calls[0]["cache_control"] or ""), calls
    assert run_of(flow, "allow")["device_authorization"]["user_code"] != \
        run_of(flow, "deny")["device_authorization"]["user_code"]


# ---------------------------------------------------------------- the QR code


def test_jsqr_reads_the_qr_code_as_verification_uri_complete(flow):
    run = run_of(flow, "allow")
    qr = run.get("qr")
    if not qr:
        stopped(flow, "the QR code (no verification_uri_qr, or the browser stopped)")
    assert qr["status"] == 200, qr
    assert qr["headers"].get("content-type", "").startswith("image/svg+xml"), qr["headers"]
    assert qr["root"]["tag"] == "svg" and qr["root"]["scripts"] == 0, qr["root"]
    assert qr["decoded"] is not None, ("jsqr found no QR code in the screenshot %s (%r)"
                                       % (flow.report["screenshots"].get("allow-qr"), qr))
    assert qr["decoded"] == run["device_authorization"]["verification_uri_complete"], qr


# ---------------------------------------------------------------- the person's pages


def test_verification_uri_complete_shows_the_login_page(flow):
    run = run_of(flow, "allow", "login")
    page = run["pages"]["login"]
    assert page["status"] == 200, page
    forms = [f for f in page["forms"] if f["action"] == "/login"]
    assert len(forms) == 1 and forms[0]["method"] == "post", page["forms"]
    fields = {e["name"]: e for e in forms[0]["fields"] if e["name"]}
    assert {"username", "password", "csrf"} <= set(fields), fields
    assert fields["user_code"]["type"] == "hidden", fields
    # the code rides along (in any spelling the verification page accepts)
    assert norm(fields["user_code"]["value"]) == norm(run["device_authorization"]["user_code"]), \
        fields


def test_confirmation_page_names_the_client_the_code_the_user_and_the_scopes(flow):
    run = run_of(flow, "allow", "confirm")
    page = run["pages"]["confirm"]
    assert page["status"] == 200, page
    assert urllib.parse.urlsplit(page["url"]).path == "/device", page["url"]
    text = page_text(page)
    assert CLIENT_NAME in text, "the confirmation page does not name the client:\n" + text
    assert run["device_authorization"]["user_code"] in text, \
        "the confirmation page does not show the user code:\n" + text
    assert USERNAME in text, "the confirmation page does not name the user:\n" + text
    lower = text.lower()
    for tok, w in SCOPE_WORDS.items():
        assert w in lower, "scope %s is not on the page as %r:\n%s" % (tok, w, text)
    assert page["scripts"] == 0, page
    forms = [f for f in page["forms"] if f["action"] == "/device"]
    assert len(forms) == 1 and forms[0]["method"] == "post", page["forms"]
    fields = forms[0]["fields"]
    hidden = {e["name"]: e["value"] for e in fields if e["type"] == "hidden"}
    assert norm(hidden.get("user_code", "")) == norm(run["device_authorization"]["user_code"]), \
        hidden
    assert hidden.get("csrf"), hidden
    decisions = sorted(e["value"] for e in fields if e["name"] == "decision")
    assert decisions == ["allow", "deny"], fields
    for h in ("content-security-policy", "x-frame-options", "referrer-policy"):
        assert h in page["headers"], (h, page["headers"])
    assert "no-store" in page["headers"].get("cache-control", ""), page["headers"]


def test_allow_shows_device_connected(flow):
    run = run_of(flow, "allow", "connected")
    page = run["pages"]["connected"]
    assert page["status"] == 200, page
    assert "device connected" in page_text(page).lower(), page["text"]


def test_entry_page_takes_the_code_in_lower_case_without_the_dash(flow):
    run = run_of(flow, "deny", "entry", "confirm")
    entry = run["pages"]["entry"]
    assert entry["status"] == 200, entry
    forms = [f for f in entry["forms"] if f["action"] == "/device"]
    assert len(forms) == 1 and forms[0]["method"] == "post", entry["forms"]
    names = [e["name"] for e in forms[0]["fields"]]
    assert "user_code" in names and "csrf" in names and "decision" not in names, forms[0]
    code = run["device_authorization"]["user_code"]
    assert run["typed"] == code.replace("-", "").lower(), run["typed"]
    confirm = run["pages"]["confirm"]
    assert confirm["status"] == 200, confirm
    landed = urllib.parse.parse_qs(urllib.parse.urlsplit(confirm["url"]).query).get("user_code")
    assert landed == [code], \
        "the entry form did not land on /device?user_code=%s: %s" % (code, confirm["url"])
    assert code in page_text(confirm), confirm["text"]
    assert CLIENT_NAME in page_text(confirm), confirm["text"]


def test_deny_shows_access_denied_and_the_library_gets_access_denied(flow):
    run = run_of(flow, "deny", "denied")
    page = run["pages"]["denied"]
    assert page["status"] == 200, page
    assert "access denied" in page_text(page).lower(), page["text"]
    poll = poll_result(flow, "deny")
    assert not poll["ok"], "the library got tokens after Deny: %r" % poll
    e = poll["error"]
    assert e["error"] == "access_denied", e
    assert e["name"] == "ResponseBodyError" and e["status"] == 400, e
    last = polls(flow, "deny")[-1]
    assert last["status"] == 400 and last["error"] == "access_denied", last
    assert not [g for g in flow.srv.grants(user=USERNAME)
                if words(g["scope"]) == set(DENY_SCOPE)], flow.srv.grants(user=USERNAME)


# ---------------------------------------------------------------- the tokens


def test_library_receives_tokens_for_the_user_and_the_requested_scopes(flow):
    tok = tokens_of(flow)
    assert tok["token_type"] == "bearer", tok       # the library lower-cases it
    assert words(tok["scope"]) == set(ALLOW_SCOPE), tok["scope"]
    assert isinstance(tok["expires_in"], int) and tok["expires_in"] > 0, tok
    assert tok["refresh_token"], "the client is allowed refresh_token: %r" % tok
    jwks = flow.srv.jwks()
    header, _ = jwt_parts(tok["access_token"])
    assert header["alg"] == "ES256" and header.get("typ") == "at+jwt", header
    at = verify_jwt(tok["access_token"], jwks)
    assert at["iss"] == flow.srv.issuer, at
    assert at["client_id"] == CLIENT_ID, at
    assert at["username"] == USERNAME and str(at["sub"]) == str(flow.user["id"]), at
    assert words(at["scope"]) == set(ALLOW_SCOPE), at
    assert at["exp"] > time.time(), at
    assert flow.srv.introspection(flow.rs, tok["access_token"])["active"] is True


def test_id_token_is_present_and_valid(flow):
    tok = tokens_of(flow)
    assert tok["id_token"], "openid was granted but there is no id_token: %r" % tok
    claims = verify_id_token(flow.srv, tok["id_token"], CLIENT_ID, nonce=None,
                             access_token=tok["access_token"])
    assert str(claims["sub"]) == str(flow.user["id"]), claims
    # auth_time is the login in Chromium during this run
    assert flow.started - 5 <= claims["auth_time"] <= time.time() + 5, claims
    # the library validated it too (claims() and the signature: enableNonRepudiationChecks)
    assert tok["id_token_claims"]["sub"] == claims["sub"], tok["id_token_claims"]


def test_the_grant_is_recorded_with_what_was_asked(flow):
    tok = tokens_of(flow)
    gid = str(jwt_parts(tok["access_token"])[1].get("gid"))
    rows = [g for g in flow.srv.grants(user=USERNAME, client=CLIENT_ID) if str(g["id"]) == gid]
    assert len(rows) == 1, flow.srv.grants(user=USERNAME)
    assert words(rows[0]["scope"]) == set(ALLOW_SCOPE) and rows[0]["active"] is True, rows[0]


def test_library_refreshes_the_device_grant_tokens(flow):
    tokens_of(flow)
    run = run_of(flow, "allow")
    ref = run.get("refresh")
    assert ref, "no refresh was tried: %r" % run.keys()
    assert ref["ok"], "openid-client's refreshTokenGrant failed: %r" % ref
    at = verify_jwt(ref["tokens"]["access_token"], flow.srv.jwks())
    assert at["client_id"] == CLIENT_ID and words(at["scope"]) == set(ALLOW_SCOPE), at
    assert at["username"] == USERNAME, at


# ---------------------------------------------------------------- the polling


def check_polling(flow, name, final):
    run = run_of(flow, name)
    if "decided" not in run:
        stopped(flow, "the person's decision in run " + name)
    ps = polls(flow, name)
    da = run["device_authorization"]
    assert ps, "the library never polled in run %s" % name
    answers = [(p["status"], p["error"]) for p in ps]
    for p in ps:
        assert p["status"] is not None, "a poll got no answer: %r" % p
        assert "no-store" in (p["cache_control"] or ""), p
        assert "json" in (p["content_type"] or ""), p
    assert [p["error"] for p in ps[:-1]] == ["authorization_pending"] * (len(ps) - 1), \
        ("every poll before the decision must be authorization_pending (the library waited the "
         "interval each time; slow_down means the server counted wrong): %s\n%s"
         % (answers, json.dumps(ps, indent=1)))
    assert len(ps) - 1 >= SETTLE_PENDING and run["pending_before_decision"] >= SETTLE_PENDING, \
        answers
    assert final(ps[-1]), answers
    # the library waited the interval before the first poll and between polls (a slow_down
    # would have added 5 s; none came)
    interval_ms = da["interval"] * 1000
    assert ps[0]["at"] - da["answered"] >= interval_ms - 50, (da["answered"], ps[0])
    gaps = [round(b["at"] - a["at"]) for a, b in zip(ps, ps[1:])]
    assert all(g >= interval_ms - 50 for g in gaps), gaps
    # ...and not much longer: the device learnt of the decision within about one interval
    assert ps[-1]["at"] - run["decided"] <= interval_ms + t(3) * 1000, (run["decided"], ps[-1])
    assert all(p["auth"] == run["auth"].replace("client_secret_", "") for p in ps), ps


def test_library_polls_at_the_interval_and_gets_pending_then_tokens(flow):
    tokens_of(flow)
    check_polling(flow, "allow", lambda p: p["status"] == 200 and p.get("tokens"))


def test_library_polls_at_the_interval_and_gets_pending_then_access_denied(flow):
    poll_result(flow, "deny")
    check_polling(flow, "deny", lambda p: p["status"] == 400 and p["error"] == "access_denied")


def test_node_run_finished_cleanly(flow):
    if flow.report["error"]:
        stopped(flow, "the end")
    assert flow.node.returncode == 0, (flow.node.returncode, flow.node.stderr[-3000:])
    v = flow.report["versions"]
    assert v["openid-client"] and v["openid-client"].startswith("6."), v
