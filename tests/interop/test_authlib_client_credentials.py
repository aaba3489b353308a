"""authlib (a real OAuth 2.0 client library) against the daemon: discovery, client credentials
with client_secret_basic and client_secret_post, JWT checks against the published JWKS, and
RFC 7662 introspection / RFC 7009 revocation through authlib's client."""
import os
import time

import pytest
import requests

from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tessera_harness import http_timeout, jwt_parts

SCOPE = "mqtt:pub:plant/${clientid}/# mqtt:sub:plant/+/cmd"


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        {"client_id": "device-7", "scope": SCOPE},
        {"client_id": "broker", "scope": "introspect"},
    ])


@pytest.fixture(scope="module")
def meta(srv):
    r = requests.get(srv.url("/.well-known/openid-configuration"), timeout=http_timeout())
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def keyset(meta):
    r = requests.get(meta["jwks_uri"], timeout=http_timeout())
    assert r.status_code == 200
    return JsonWebKey.import_key_set(r.json())


def test_discovery_metadata_passes_authlib_rfc8414_validation(srv, meta, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server is plain http
    m = AuthorizationServerMetadata(meta)
    for check in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                  "scopes_supported", "response_types_supported", "grant_types_supported",
                  "token_endpoint_auth_methods_supported", "revocation_endpoint",
                  "revocation_endpoint_auth_methods_supported", "introspection_endpoint",
                  "introspection_endpoint_auth_methods_supported",
                  "code_challenge_methods_supported"):
        getattr(m, "validate_" + check)()
    assert m.issuer == srv.issuer


def session(srv, meta, method):
    c = srv.clients["device-7"]
    s = OAuth2Session(c.id, c.secret, token_endpoint_auth_method=method,
                      revocation_endpoint_auth_method=method,
                      scope="mqtt:pub:plant/device-7/temp mqtt:sub:plant/+/cmd")
    s.metadata["token_endpoint"] = meta["token_endpoint"]
    return s


def verify(token, keyset, srv):
    claims = JsonWebToken(["ES256"]).decode(
        token, keyset,
        claims_options={"iss": {"essential": True, "value": srv.issuer},
                        "aud": {"essential": True, "value": "mqtt"},
                        "exp": {"essential": True},
                        "sub": {"essential": True, "value": "device-7"}})
    claims.validate(leeway=5)
    return claims


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_credentials_token_verifies_against_jwks(srv, meta, keyset, method):
    with session(srv, meta, method) as s:
        token = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                              timeout=http_timeout())
    assert token["token_type"] == "Bearer"
    assert "refresh_token" not in token
    assert set(token["scope"].split()) == {"mqtt:pub:plant/device-7/temp",
                                           "mqtt:sub:plant/+/cmd"}
    at = token["access_token"]
    header = jwt_parts(at)[0]
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    assert header["kid"] in [k.as_dict()["kid"] for k in keyset.keys]
    claims = verify(at, keyset, srv)
    assert claims["client_id"] == "device-7"
    assert claims["scope"] == token["scope"]
    now = time.time()
    assert now - 60 < claims["iat"] <= now + 5
    assert claims["exp"] == claims["iat"] + token["expires_in"]
    assert token["expires_at"] and abs(token["expires_at"] - claims["exp"]) <= 5


def test_authlib_rejects_tampered_token(srv, meta, keyset):
    with session(srv, meta, "client_secret_basic") as s:
        at = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                           timeout=http_timeout())["access_token"]
    h, p, sig = at.split(".")
    bad = "%s.%s.%s" % (h, p, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB"))
    with pytest.raises(Exception):
        verify(bad, keyset, srv)


def test_authlib_wrong_secret_raises_invalid_client(srv, meta):
    from authlib.integrations.base_client import OAuthError
    with OAuth2Session("device-7", "wrong", token_endpoint_auth_method="client_secret_basic") as s:
        with pytest.raises(OAuthError) as ei:
            s.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                          timeout=http_timeout())
    assert ei.value.error == "invalid_client"


def test_authlib_invalid_scope_error(srv, meta):
    from authlib.integrations.base_client import OAuthError
    c = srv.clients["device-7"]
    with OAuth2Session(c.id, c.secret, scope="mqtt:pub:plant/other/#") as s:
        with pytest.raises(OAuthError) as ei:
            s.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                          timeout=http_timeout())
    assert ei.value.error == "invalid_scope"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_introspect_and_revoke(srv, meta, method):
    with session(srv, meta, "client_secret_basic") as dev:
        at = dev.fetch_token(meta["token_endpoint"], grant_type="client_credentials",
                             timeout=http_timeout())["access_token"]
    b = srv.clients["broker"]
    with OAuth2Session(b.id, b.secret, revocation_endpoint_auth_method=method) as broker:
        r = broker.introspect_token(meta["introspection_endpoint"], token=at,
                                    token_type_hint="access_token", timeout=http_timeout())
        assert r.status_code == 200, r.text
        assert "no-store" in r.headers.get("Cache-Control", "")
        d = r.json()
        assert d["active"] is True
        assert d["client_id"] == "device-7" and d["iss"] == srv.issuer
        assert d["token_type"] == "Bearer"
        r = broker.revoke_token(meta["revocation_endpoint"], token=at, timeout=http_timeout())
        assert r.status_code == 200, r.text
        r = broker.introspect_token(meta["introspection_endpoint"], token=at,
                                    timeout=http_timeout())
        assert r.json() == {"active": False}


def test_authlib_session_refetches_client_credentials_token_when_expired(srv, meta):
    """authlib's ensure_active_token path for client_credentials (no refresh token)."""
    c = srv.clients["device-7"]
    with OAuth2Session(c.id, c.secret, token_endpoint=meta["token_endpoint"],
                       grant_type="client_credentials") as s:
        first = s.fetch_token(timeout=http_timeout())
        s.token["expires_at"] = int(time.time()) - 10  # pretend it expired
        assert s.ensure_active_token(s.token)
        second = s.token
    assert first["access_token"] != second["access_token"]
