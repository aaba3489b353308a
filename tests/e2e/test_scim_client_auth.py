"""SCIM Clients and how they authenticate (issue 22): tokenEndpointAuthMethod, jwks, jwksUri,
the certificate names and the binding flags, read and written by POST, PUT and PATCH, with the
checks the CLI makes (lib/client_methods.c); a private_key_jwt client made through SCIM
authenticates with an assertion and has no secret. docs/security.md rows 90 and 93."""
import json

import pytest

from scim_cases import (T_CLIENT, Client, api, err, ok, op, srv, token_error,  # noqa: F401
                        token_ok, uname)
from test_private_key_jwt import ASSERTION_TYPE, Key, assertion


def body(**attrs):
    b = {"schemas": [T_CLIENT], "clientName": "Client " + uname()}
    b.update(attrs)
    return b


def jwks_text(*keys):
    return json.dumps({"keys": [k.jwk for k in keys]})


def assertion_token(srv, key, cid):
    return srv.post("/token", [("grant_type", "client_credentials"),
                               ("client_assertion_type", ASSERTION_TYPE),
                               ("client_assertion", assertion(key, cid, srv.issuer))])


def test_private_key_jwt_client_by_scim_has_no_secret_and_authenticates(srv, api):
    """docs/security.md row 90: no secret made, shown or stored; the assertion works."""
    k = Key("ES256")
    c = ok(api.post("/Clients", body(tokenEndpointAuthMethod="private_key_jwt",
                                     jwks=jwks_text(k), scope="telemetry")), 201)
    assert "clientSecret" not in c, c
    assert c["tokenEndpointAuthMethod"] == "private_key_jwt" and c["public"] is False, c
    assert json.loads(c["jwks"]) == {"keys": [k.jwk]}, c
    assert c["tlsClientCertificateBoundAccessTokens"] is False, c
    assert c["dpopBoundAccessTokens"] is False, c
    token_ok(assertion_token(srv, k, c["id"]))
    assert token_error(srv.token(Client(c["id"], "")), 401) == "invalid_client"
    g = ok(api.get("/Clients/" + c["id"]))
    assert g == c, (g, c)


def test_defaults_shown_for_secret_and_public_clients(api):
    c = ok(api.post("/Clients", body()), 201)
    assert c["tokenEndpointAuthMethod"] == "client_secret_basic" and "jwks" not in c, c
    p = ok(api.post("/Clients", body(public=True, grantTypes=["authorization_code"],
                                     redirectUris=["https://app.example/cb"])), 201)
    assert p["tokenEndpointAuthMethod"] == "none", p


def test_patch_secret_client_to_private_key_jwt_and_back(srv, api):
    """The secret stops working when the client moves to keys (it is not kept), and a new one
    is made (and shown once) when it moves back."""
    c = ok(api.post("/Clients", body(scope="telemetry")), 201)
    cl = Client(c["id"], c["clientSecret"])
    token_ok(srv.token(cl))
    k = Key("EdDSA")
    res = ok(api.patch("/Clients/" + c["id"], op("replace", "tokenEndpointAuthMethod", "private_key_jwt"),
                       op("add", "jwks", jwks_text(k))))
    assert res["tokenEndpointAuthMethod"] == "private_key_jwt" and "clientSecret" not in res, res
    assert token_error(srv.token(cl), 401) == "invalid_client"
    token_ok(assertion_token(srv, k, c["id"]))
    # rotate the key by PATCH: the old one stops working
    k2 = Key("ES256")
    ok(api.patch("/Clients/" + c["id"], op("replace", "jwks", jwks_text(k2))))
    assert token_error(assertion_token(srv, k, c["id"]), 401) == "invalid_client"
    token_ok(assertion_token(srv, k2, c["id"]))
    # and back to a secret: a new one, shown once
    res = ok(api.patch("/Clients/" + c["id"], op("replace", "tokenEndpointAuthMethod", "client_secret_basic"),
                       op("remove", "jwks")))
    assert res.get("clientSecret") and res["clientSecret"] != c["clientSecret"], res
    token_ok(srv.token(Client(c["id"], res["clientSecret"])))
    assert token_error(assertion_token(srv, k2, c["id"]), 401) == "invalid_client"


def test_generate_secret_refused_for_private_key_jwt(api):
    c = ok(api.post("/Clients", body(tokenEndpointAuthMethod="private_key_jwt",
                                     jwksUri="https://keys.example/d.json")), 201)
    assert c["jwksUri"] == "https://keys.example/d.json", c
    err(api.patch("/Clients/" + c["id"], op("replace", "generateSecret", True)), 400,
        "invalidValue")


def test_method_to_or_from_none_is_immutable(api):
    """A confidential client does not become public by its method (public is immutable)."""
    c = ok(api.post("/Clients", body()), 201)
    e = err(api.patch("/Clients/" + c["id"], op("replace", "tokenEndpointAuthMethod", "none")),
            400, "invalidValue")
    assert "public" in e["detail"], e
    e = err(api.patch("/Clients/" + c["id"], op("replace", "tokenEndpointAuthMethod", "none"),
                      op("replace", "public", True)), 400, "mutability")
    assert ok(api.get("/Clients/" + c["id"]))["tokenEndpointAuthMethod"] == "client_secret_basic"


def test_tls_fields_round_trip(api):
    c = ok(api.post("/Clients", body(tokenEndpointAuthMethod="tls_client_auth",
                                     tlsClientAuthSan="dns:dev1.example",
                                     tlsClientCertificateBoundAccessTokens=True,
                                     dpopBoundAccessTokens=True)), 201)
    assert c["tlsClientAuthSan"] == "dns:dev1.example" and "clientSecret" not in c, c
    assert c["tlsClientCertificateBoundAccessTokens"] is True, c
    assert c["dpopBoundAccessTokens"] is True, c
    res = ok(api.patch("/Clients/" + c["id"], op("remove", "tlsClientAuthSan"),
                       op("add", "tlsClientAuthSubjectDn", "CN=dev1,O=Example"),
                       op("replace", "dpopBoundAccessTokens", False)))
    assert res["tlsClientAuthSubjectDn"] == "CN=dev1,O=Example" and "tlsClientAuthSan" not in res
    assert res["dpopBoundAccessTokens"] is False, res
    lst = api.list("/Clients", filter='tlsClientAuthSubjectDn eq "CN=dev1,O=Example"')
    assert [x["id"] for x in lst["Resources"]] == [c["id"]], lst


def test_client_secret_post_is_a_secret_client(srv, api):
    """tokenEndpointAuthMethod client_secret_post is accepted as client_secret_basic: a secret
    is made and returned once, and it works in the body."""
    c = ok(api.post("/Clients", body(tokenEndpointAuthMethod="client_secret_post",
                                     grantTypes=["client_credentials"], scope="telemetry")), 201)
    assert c["tokenEndpointAuthMethod"] == "client_secret_basic" and c["clientSecret"], c
    token_ok(srv.post("/token", [("grant_type", "client_credentials"), ("client_id", c["id"]),
                                 ("client_secret", c["clientSecret"])]))


def test_token_binding_is_the_two_booleans_in_one_attribute(api):
    """The contract's tokenBinding: none, mtls, dpop or mtls dpop, read beside the two booleans;
    a request that changes it sets them, one that changes them changes it; both changed to
    different bindings in one request is invalidValue."""
    c = ok(api.post("/Clients", body(tokenBinding="dpop")), 201)
    assert c["tokenBinding"] == "dpop" and c["dpopBoundAccessTokens"] is True, c
    assert c["tlsClientCertificateBoundAccessTokens"] is False, c
    cid = c["id"]
    res = ok(api.patch("/Clients/" + cid, op("replace", "tokenBinding", "mtls")))
    assert res["tlsClientCertificateBoundAccessTokens"] is True, res
    assert res["dpopBoundAccessTokens"] is False and res["tokenBinding"] == "mtls", res
    res = ok(api.patch("/Clients/" + cid, op("replace", "dpopBoundAccessTokens", True)))
    assert res["tokenBinding"] == "mtls dpop", res
    # a GET's answer sent back with one of the two changed: that one wins
    cur = ok(api.get("/Clients/" + cid))
    for k in ("id", "meta", "clientSecret"):
        cur.pop(k, None)
    cur["tokenBinding"] = "none"
    res = ok(api.put("/Clients/" + cid, cur))
    assert res["tlsClientCertificateBoundAccessTokens"] is False, res
    assert res["dpopBoundAccessTokens"] is False and res["tokenBinding"] == "none", res
    cur.update(tokenBinding="none", tlsClientCertificateBoundAccessTokens=False,
               dpopBoundAccessTokens=True)
    res = ok(api.put("/Clients/" + cid, cur))
    assert res["tokenBinding"] == "dpop", res
    err(api.post("/Clients", body(tokenBinding="mtls", dpopBoundAccessTokens=True)), 400,
        "invalidValue")
    for bad in ("both", "MTLS", 1):
        err(api.patch("/Clients/" + cid, op("replace", "tokenBinding", bad)), 400,
            "invalidValue")
    assert ok(api.get("/Clients/" + cid))["tokenBinding"] == "dpop"


@pytest.mark.parametrize("attrs", [
    {"tokenEndpointAuthMethod": "client_secret_jwt"},
    {"tokenEndpointAuthMethod": "private_key_jwt"},
    {"tokenEndpointAuthMethod": "private_key_jwt", "jwks": "{\"keys\": []}"},
    {"tokenEndpointAuthMethod": "private_key_jwt", "jwks": "not json"},
    {"tokenEndpointAuthMethod": "private_key_jwt", "jwksUri": "http://keys.example/d.json"},
    {"tokenEndpointAuthMethod": "private_key_jwt", "jwksUri": "https://keys.example/d.json",
     "jwks": "{}"},
    {"tokenEndpointAuthMethod": "client_secret_basic", "jwksUri": "https://keys.example/d"},
    {"tokenEndpointAuthMethod": "none", "public": False},
    {"tokenEndpointAuthMethod": "tls_client_auth"},
    {"tokenEndpointAuthMethod": "tls_client_auth", "tlsClientAuthSan": "host.example"},
    {"tokenEndpointAuthMethod": "tls_client_auth", "tlsClientAuthSan": "dns:a",
     "tlsClientAuthSubjectDn": "CN=a"},
    {"tlsClientAuthSubjectDn": "CN=a"},
], ids=["unknown-method", "no-keys", "empty-set", "not-json", "http-uri", "both", "keys-with-secret",
        "none-not-public", "tls-no-name", "san-no-type", "tls-two-names", "dn-without-tls"])
def test_bad_auth_attributes_are_invalid_value(api, attrs):
    err(api.post("/Clients", body(**attrs)), 400, "invalidValue")


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_private_jwk_refused(api, alg):
    """docs/security.md row 93: a JWK with a private part, or a symmetric key, is refused."""
    jwks = json.dumps({"keys": [Key(alg).private_jwk()]})
    r = api.post("/Clients", body(tokenEndpointAuthMethod="private_key_jwt", jwks=jwks))
    e = err(r, 400, "invalidValue")
    assert "private" in e.get("detail", ""), e
    oct_set = json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}]})
    err(api.post("/Clients", body(tokenEndpointAuthMethod="private_key_jwt", jwks=oct_set)), 400,
        "invalidValue")
