"""DPoP (RFC 9449) between Tessera and two standard npm libraries, run by dpop_flow.mjs on the
locked Node.js: openid-client (discovery, getDPoPHandle on a random ES256 key,
clientCredentialsGrant, fetchProtectedResource on /scim/v2) and jose (proofs made by hand,
calculateJwkThumbprint, the access token verified against /jwks). Once with server nonces off and
once with `dpop_nonce = 1`, where both libraries must follow use_dpop_nonce and DPoP-Nonce.
docs/security.md rows 96, 99 and 101.

Needs tests/interop/node_modules: run `make deps` (as root) first; without it the tests fail
saying so, nothing is skipped."""
import json
import os
import subprocess

import pytest

import browser_deps
from browser_deps import NODE
from tessera_harness import jwt_parts, t

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "dpop_flow.mjs")


def run_flow(server_factory, tmp_path, config=None):
    browser_deps.check("the DPoP interop test", ("openid-client", "jose"))
    srv = server_factory.new(name="dpop-interop", config=config)
    srv.init()
    c = srv.add_client("dpop-admin", scope="scim")
    srv.start()
    cfg = {"issuer": srv.issuer, "client_id": c.id, "client_secret": c.secret,
           "report": str(tmp_path / "report.json")}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    p = subprocess.run([NODE, SCRIPT, str(tmp_path / "config.json")], cwd=HERE,
                       capture_output=True, text=True, timeout=t(120))
    path = tmp_path / "report.json"
    assert path.exists(), ("dpop_flow.mjs wrote no report (exit %d)\n%s\n%s"
                           % (p.returncode, p.stdout, p.stderr[-3000:]))
    report = json.loads(path.read_text())
    assert report["error"] is None and report["steps"] == ["openid-client", "jose"], (
        "dpop_flow.mjs failed: %s\nserver stderr (tail):\n%s"
        % (json.dumps(report, indent=1)[-4000:], srv.stderr()[-3000:]))
    return report


def judge(report):
    assert report["dpop_signing_alg_values_supported"] == ["ES256", "RS256"], report
    oc = report["openid_client"]
    assert oc["token_type"].lower() == "dpop", oc
    assert jwt_parts(oc["access_token"])[1]["cnf"] == {"jkt": oc["jkt"]}, oc
    assert oc["scim"]["status"] == 200, oc["scim"]
    assert oc["as_bearer"]["status"] == 401, oc["as_bearer"]
    assert oc["as_bearer"]["www_authenticate"].startswith("DPoP "), oc["as_bearer"]
    j = report["jose"]
    assert j["token"]["status"] == 200 and j["token"]["body"]["token_type"] == "DPoP", j
    assert j["verified"] == {"cnf": {"jkt": j["jkt"]}, "typ": "at+jwt"}, j
    assert j["scim"]["status"] == 200, j["scim"]
    for refusal in ("replayed", "other_key"):
        a = j[refusal]
        assert a["status"] == 401, (refusal, a)
        assert 'error="invalid_dpop_proof"' in a["www_authenticate"], (refusal, a)


def test_row99_openid_client_and_jose_do_dpop_with_tessera(server_factory, tmp_path):
    """docs/security.md rows 96 and 99: tokens bound to each library's key, used at /scim/v2
    with their proofs; a replayed proof or another key's is refused."""
    report = run_flow(server_factory, tmp_path)
    judge(report)
    assert not report.get("jose_nonce_asked"), report


def test_row101_both_libraries_follow_server_nonces(server_factory, tmp_path):
    """docs/security.md row 101: with dpop_nonce = 1 both libraries get use_dpop_nonce with a
    DPoP-Nonce header and succeed with it."""
    report = run_flow(server_factory, tmp_path, config={"tokens": {"dpop_nonce": 1}})
    judge(report)
    assert report.get("jose_nonce_asked") is True, report
