"""Reference access tokens (issue 21 §4): per client, `--token-format reference` (CLI) gives
opaque access tokens of at most 64 characters, stored hashed with their claims, that /introspect
answers like the JWTs (the scope the token allows now), /revoke revokes and /userinfo takes.
docs/security.md row 85."""
import pytest

from scim_client import ADMIN_CLIENTS, CORE_USER, T_CLIENT, T_USER, Scim, err, ok, op
from tessera_harness import (INACTIVE, Client, b64url_decode, code_flow, jwt_parts, new_username,
                             run_cli)

CB = "https://rp.example/cb"
PW = "correct horse battery staple"
SCOPE = "mqtt:pub:m/${clientid}/up mqtt:sub:m/${clientid}/cmd"


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new(name="reftok")
    s.init()
    for c in ADMIN_CLIENTS:
        c = dict(c)
        s.add_client(c.pop("client_id"), **c)
    s.add_client("modem", scope=SCOPE, extra=["--token-format", "reference"])
    s.add_client("jwtdev", scope=SCOPE)
    s.add_client("app", grants=["authorization_code"], redirect_uris=[CB],
                 scope="openid profile", extra=["--token-format", "reference"])
    return s.start()


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


def intro(srv, tok):
    return srv.introspection(srv.clients["admin"], tok)


def test_a_reference_client_gets_a_short_opaque_token_that_introspects_like_a_jwt(srv):
    tok = srv.access_token(srv.clients["modem"])
    assert len(tok) <= 64 and "." not in tok, tok
    # at_ and 32 random bytes: a bearer secret of 256 bits (docs/security.md row 22)
    assert tok.startswith("at_") and len(b64url_decode(tok[3:])) * 8 >= 128, tok
    assert srv.access_token(srv.clients["modem"]) != tok
    d = intro(srv, tok)
    assert d["active"] is True and d["token_type"] == "Bearer", d
    assert d["client_id"] == d["sub"] == "modem" and d["iss"] == srv.issuer, d
    assert d["aud"] == "mqtt" and d["exp"] > d["iat"] and d["jti"], d
    assert set(d["scope"].split()) == {"mqtt:pub:m/modem/up", "mqtt:sub:m/modem/cmd"}, d
    # the same fields as a JWT of a client of the default format gets
    assert set(intro(srv, srv.access_token(srv.clients["jwtdev"]))) == set(d)
    # and a token of another shape, or one never issued, is not active
    assert intro(srv, "at_" + "A" * 43) == INACTIVE
    assert intro(srv, tok[:-1]) == INACTIVE


def test_a_revoked_reference_token_is_inactive(srv):
    tok = srv.access_token(srv.clients["modem"])
    other = srv.access_token(srv.clients["modem"])
    assert tok != other
    r = srv.revoke(srv.clients["modem"], tok)
    assert r.status_code == 200, r.text
    assert intro(srv, tok) == INACTIVE
    assert intro(srv, other)["active"] is True


def test_a_reference_token_narrows_with_its_client(srv, api):
    cid = new_username("ref")
    c = srv.add_client(cid, scope="mqtt:pub:a/# mqtt:sub:b/#",
                       extra=["--token-format", "reference"])
    tok = srv.access_token(c)
    assert len(tok) <= 64 and intro(srv, tok)["active"] is True
    ok(api.patch("/Clients/" + cid, op("replace", "scope", "mqtt:sub:b/#")))
    d = intro(srv, tok)
    assert d["active"] is True and d["scope"] == "mqtt:sub:b/#", d
    # the format is kept by a SCIM change: the next token is a reference token too
    assert "." not in srv.access_token(c)
    ok(api.patch("/Clients/" + cid, op("replace", "scope", "mqtt:sub:c/#")))
    assert intro(srv, tok) == INACTIVE


def test_userinfo_takes_a_reference_token(srv, api):
    n = new_username("ru")
    api.create_user(n, password=PW, schemas=[CORE_USER, T_USER], displayName="User " + n,
                    name={"formatted": "User " + n}, **{T_USER: {"scope": ""}})
    tokens = code_flow(srv, srv.clients["app"], n, PW, redirect_uri=CB,
                       scope="openid profile").tokens
    tok = tokens["access_token"]
    assert len(tok) <= 64 and "." not in tok, tok
    assert jwt_parts(tokens["id_token"])[1]["sub"]
    r = srv.userinfo(tok)
    assert r.status_code == 200, r.text
    assert r.json()["preferred_username"] == n and r.json()["name"] == "User " + n, r.json()
    assert intro(srv, tok)["username"] == n
    assert srv.revoke(srv.clients["app"], tok).status_code == 200
    assert srv.userinfo(tok).status_code == 401


def test_the_cli_sets_and_shows_the_format_and_refuses_another(srv):
    assert srv.cli(["client", "show", "modem"]).json()["token_format"] == "reference"
    assert srv.cli(["client", "show", "jwtdev"]).json()["token_format"] == "jwt"
    r = run_cli(["client", "add", "bad-format", "--token-format", "opaque"], db=srv.db)
    assert r.rc == 2 and "--token-format takes jwt or reference" in r.stderr, r
    assert srv.cli(["client", "show", "bad-format"]).rc != 0


def test_scim_sets_the_format_and_refuses_another(srv, api):
    body = {"schemas": [T_CLIENT], "clientName": "Modem", "grantTypes": ["client_credentials"],
            "scope": "mqtt:pub:x/#", "accessTokenFormat": "reference"}
    made = ok(api.post("/Clients", body), 201)
    assert made["accessTokenFormat"] == "reference", made
    c = Client(made["id"], made["clientSecret"])
    tok = srv.access_token(c)
    assert len(tok) <= 64 and "." not in tok and intro(srv, tok)["active"] is True
    got = ok(api.patch("/Clients/" + made["id"], op("replace", "accessTokenFormat", "jwt")))
    assert got["accessTokenFormat"] == "jwt"
    assert jwt_parts(srv.access_token(c))[1]["client_id"] == made["id"]
    # the token issued as a reference stays valid
    assert intro(srv, tok)["active"] is True
    for bad in ("opaque", "JWT", 1):
        e = err(api.patch("/Clients/" + made["id"], op("replace", "accessTokenFormat", bad)),
                400, "invalidValue")
        assert "accessTokenFormat" in e.get("detail", ""), e
    e = err(api.post("/Clients", dict(body, accessTokenFormat="opaque")), 400, "invalidValue")
    assert "accessTokenFormat" in e.get("detail", ""), e
    assert ok(api.get("/Clients/" + made["id"]))["accessTokenFormat"] == "jwt"
    schema = ok(api.get("/Schemas/" + T_CLIENT))
    attr = [a for a in schema["attributes"] if a["name"] == "accessTokenFormat"]
    assert attr and attr[0]["canonicalValues"] == ["jwt", "reference"], attr
