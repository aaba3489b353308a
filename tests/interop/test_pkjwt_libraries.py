"""private_key_jwt with real client software: openid-client's PrivateKeyJwt client
authentication and jose-made assertions (npm, tests/interop/private_key_jwt.mjs, on the locked
Node), and authlib's PrivateKeyJWT (python3-authlib). docs/security.md rows 91 and 92."""
import json
import os
import subprocess
import time

import pytest

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from browser_deps import DEPS_HINT, NODE
from tessera_harness import b64url_encode, cli_ok, t

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "private_key_jwt.mjs")
NODE_PACKAGES = ("openid-client", "oauth4webapi", "jose")
ALGS = ("ES256", "RS256", "PS256", "EdDSA")
DEVICE_GRANT = "device_code"  # the CLI's name of the grant


def node_deps():
    missing = [NODE] if not os.access(NODE, os.X_OK) else []
    missing += [p for p in NODE_PACKAGES
                if not os.path.isdir(os.path.join(HERE, "node_modules", p))]
    if missing:
        pytest.fail("the private_key_jwt interop test needs %s: %s"
                    % (", ".join(missing), DEPS_HINT), pytrace=False)


def node(mode, cfg_path):
    try:
        p = subprocess.run([NODE, SCRIPT, mode, str(cfg_path)], cwd=HERE, capture_output=True,
                           text=True, timeout=t(120))
    except subprocess.TimeoutExpired:
        pytest.fail("private_key_jwt.mjs %s did not finish within %ds" % (mode, t(120)))
    assert p.returncode == 0, (mode, p.stdout, p.stderr[-4000:])


def register(srv, client_id, jwk, grants=("client_credentials",), scope="telemetry"):
    path = os.path.join(srv.dir, client_id + ".jwks")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)
    args = ["client", "add", client_id, "--auth-method", "private_key_jwt", "--jwks-file", path,
            "--scope", scope]
    for g in grants:
        args += ["--grant", g]
    out = cli_ok(args, db=srv.db)
    assert "client_secret" not in out, out


@pytest.fixture(scope="module")
def npm_run(server_factory, tmp_path_factory):
    node_deps()
    out = tmp_path_factory.mktemp("pkjwt")
    srv = server_factory.new()
    srv.init()
    cfg_path = out / "config.json"
    cfg_path.write_text(json.dumps({"out_dir": str(out)}))
    node("keys", cfg_path)
    keys = json.loads((out / "keys.json").read_text())
    for alg in ALGS:
        pub = keys[alg]["public"]
        assert "d" not in pub, pub
        register(srv, "oc-" + alg.lower(), pub, grants=("client_credentials", DEVICE_GRANT),
                 scope="telemetry introspect")
        register(srv, "jose-" + alg.lower(), pub)
    srv.start()
    cfg_path.write_text(json.dumps({"out_dir": str(out), "issuer": srv.issuer}))
    node("run", cfg_path)
    return json.loads((out / "result.json").read_text())


@pytest.mark.parametrize("alg", ALGS)
def test_openid_client_private_key_jwt(npm_run, alg):
    """openid-client's PrivateKeyJwt (aud the issuer, exp 60 s ahead, nbf, a random jti) at
    /token, /introspect, /revoke and /device_authorization."""
    r = npm_run["openid_client"][alg]
    assert "error" not in r, r
    steps = r["steps"]
    for name in ("client_credentials", "introspect", "revoke", "introspect_after_revoke",
                 "device_authorization"):
        assert steps[name]["ok"], (name, steps[name], npm_run["versions"])
    assert steps["client_credentials"]["value"]["token_type"].lower() == "bearer"
    assert steps["introspect"]["value"] is True
    assert steps["introspect_after_revoke"]["value"] is False
    assert steps["device_authorization"]["value"] == "string"


@pytest.mark.parametrize("alg", ALGS)
def test_jose_assertion_then_replay(npm_run, alg):
    """jose's SignJWT (typ JWT, aud the token endpoint URL): accepted once, its replay
    refused."""
    r = npm_run["jose"][alg]
    assert "error" not in r, r
    assert r["first"]["status"] == 200, r
    assert r["replay"]["status"] == 401 and r["replay"]["error"] == "invalid_client", r


class ShortPrivateKeyJWT(PrivateKeyJWT):
    """authlib's PrivateKeyJWT with a 60 s assertion: its default lifetime (1 hour) is beyond
    what Tessera accepts (5 minutes, docs/client-auth.md). The claims are made afresh for each
    request (authlib keeps a claims dict it is given, jti included, across requests)."""
    alg = "ES256"

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def test_authlib_private_key_jwt(server_factory):
    srv = server_factory.new()
    srv.init()
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(pub.x.to_bytes(32, "big")),
           "y": b64url_encode(pub.y.to_bytes(32, "big"))}
    register(srv, "authlib-dev", jwk)
    srv.start()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    token_endpoint = srv.url("/token")
    s = OAuth2Session("authlib-dev", pem, token_endpoint_auth_method=ShortPrivateKeyJWT(
        token_endpoint), scope="telemetry")
    for _ in range(2):  # a fresh jti each time
        tok = s.fetch_token(token_endpoint, grant_type="client_credentials")
        assert tok["token_type"].lower() == "bearer", tok
    # authlib's default: exp an hour ahead, refused (at most 5 minutes)
    s = OAuth2Session("authlib-dev", pem, token_endpoint_auth_method=PrivateKeyJWT(
        token_endpoint, alg="ES256"), scope="telemetry")
    with pytest.raises(Exception) as e:
        s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert "invalid_client" in str(e.value)
