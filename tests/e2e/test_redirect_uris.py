"""Redirect URI registration (docs/security.md row 74): every path that stores one -- the CLI's
`client add --redirect-uri`, SCIM Clients POST, PUT and PATCH -- refuses URIs with CR/LF, other
controls, DEL, U+2028/U+2029 or any other non-ASCII character, javascript:/data:/vbscript:/file:
URIs, fragments (RFC 6749 §3.1.2) and anything not an absolute URI, each with a clear error;
native apps' private-use schemes (RFC 8252 §7.1) and loopback URIs stay allowed. A bad URI
stored before these rules is never redirected to: /authorize shows its error page."""
import urllib.parse

import pytest

from scim_client import ADMIN_CLIENTS, SCIM_CONFIG, T_CLIENT, Scim, err, ok, op
from tessera_harness import PKCE, auth_request, db_write, new_username, run_cli, t, wait_for

BAD = [
    ("crlf", "https://rp.example/cb\r\nSet-Cookie: a=1"),
    ("lf", "https://rp.example/cb\nx"),
    ("tab", "https://rp.example/\tcb"),
    ("nul-like-control", "https://rp.example/\x01cb"),
    ("del", "https://rp.example/cb\x7f"),
    ("u2028", "https://rp.example/cb\u2028x"),
    ("u2029", "https://rp.example/cb\u2029"),
    ("non-ascii", "https://rp.example/caf\u00e9"),
    ("fullwidth-host", "https://\uff52p.example/cb"),
    ("javascript", "javascript:alert(document.domain)//"),
    ("javascript-slashes", "JavaScript://rp.example/%0aalert(1)"),
    ("data", "data:text/html,<script>alert(1)</script>"),
    ("vbscript", "vbscript:msgbox(1)"),
    ("file", "file:///etc/passwd"),
    ("fragment", "https://rp.example/cb#x"),
    ("empty-fragment", "https://rp.example/cb#"),
    ("relative", "/cb"),
    ("scheme-relative", "//rp.example/cb"),
    ("no-host", "https:///cb"),
    ("quote", 'https://rp.example/"><b>'),
    ("bad-percent", "https://rp.example/%zz"),
]
GOOD = ["com.example.app:/oauth2redirect/example-provider", "com.example.app://cb",
        "http://127.0.0.1:8080/cb", "http://[::1]/cb", "https://rp.example/cb?x=%2F"]
CB = "https://rp.example/cb"


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(config=SCIM_CONFIG, clients=ADMIN_CLIENTS, name="redirects")


@pytest.fixture(scope="module")
def api(srv):
    return Scim(srv)


@pytest.mark.parametrize("uri", [u for _n, u in BAD], ids=[n for n, _u in BAD])
def test_row74_cli_refuses_bad_redirect_uris(srv, uri):
    """docs/security.md row 74: `client add --redirect-uri` exits 1 with the reason on stderr
    and stores nothing."""
    cid = new_username("cli")
    r = run_cli(["client", "add", cid, "--public", "--redirect-uri", uri], db=srv.db)
    assert r.rc == 1, r
    assert "invalid redirect URI: " in r.stderr and r.stdout == "", r
    assert run_cli(["client", "show", cid], db=srv.db).rc == 1


@pytest.mark.parametrize("uri", GOOD)
def test_row74_cli_keeps_native_and_loopback_uris(srv, uri):
    """docs/security.md row 74: RFC 8252's private-use schemes and loopback URIs stay allowed."""
    cid = new_username("cli")
    r = run_cli(["client", "add", cid, "--public", "--redirect-uri", uri], db=srv.db)
    assert r.rc == 0, r
    assert run_cli(["client", "show", cid], db=srv.db).json()["redirect_uris"] == [uri]


def new_client(api, uris):
    return ok(api.post("/Clients", {"schemas": [T_CLIENT], "clientName": new_username("c"),
                                    "public": True, "grantTypes": ["authorization_code"],
                                    "redirectUris": uris}), 201)


@pytest.mark.parametrize("uri", [u for _n, u in BAD], ids=[n for n, _u in BAD])
def test_row74_scim_refuses_bad_redirect_uris(api, uri):
    """docs/security.md row 74: SCIM POST, PUT and PATCH (add and replace) answer 400
    invalidValue naming redirectUris, and the client keeps its URIs."""
    body = {"schemas": [T_CLIENT], "clientName": new_username("c"), "public": True,
            "grantTypes": ["authorization_code"], "redirectUris": [CB, uri]}
    e = err(api.post("/Clients", body), 400, "invalidValue")
    assert "redirectUris" in e.get("detail", ""), e
    c = new_client(api, [CB])
    path = "/Clients/" + c["id"]
    put = {k: v for k, v in c.items() if k != "meta"}
    put["redirectUris"] = [uri]
    err(api.put(path, put), 400, "invalidValue")
    err(api.patch(path, op("add", "redirectUris", [uri])), 400, "invalidValue")
    err(api.patch(path, op("replace", "redirectUris", [uri])), 400, "invalidValue")
    err(api.patch(path, op("replace", value={"redirectUris": [uri]})), 400, "invalidValue")
    assert ok(api.get(path))["redirectUris"] == [CB]


def test_row74_scim_keeps_native_and_loopback_uris(api):
    """docs/security.md row 74."""
    c = new_client(api, GOOD)
    assert c["redirectUris"] == GOOD, c
    ok(api.patch("/Clients/" + c["id"], op("replace", "redirectUris", GOOD[:2])))


def store_uris_directly(srv, client_id, uris):
    """What a database written before these rules may hold: the URIs set behind Tessera's back."""
    n = db_write(srv.db, "UPDATE clients SET redirect_uris = ? WHERE client_id = ?",
                 " ".join(uris), client_id)
    assert n == 1


def authorize(srv, client_id, redirect_uri):
    path = "/authorize?" + "&".join(
        "%s=%s" % (k, urllib.parse.quote(v, safe=""))
        for k, v in auth_request(client_id, redirect_uri, pkce=PKCE()))
    return srv.get(path)


def is_error_page(r):
    return (r.status_code == 400 and "Location" not in r.headers and
            r.headers.get("Content-Type", "").startswith("text/html"))


@pytest.mark.parametrize("uri", ["javascript:alert(document.cookie)//",
                                 "https://rp.example/cb\r\nSet-Cookie: a=1",
                                 "https://rp.example/cb\u2028", "data:text/html,x"],
                         ids=["javascript", "crlf", "u2028", "data"])
def test_row74_stored_bad_uri_is_never_redirected_to(srv, uri):
    """docs/security.md row 74: a client whose only URI breaks the rules (stored before them)
    gets the error page at /authorize, whether the request names the URI or not; its good URI
    next to it still works."""
    cid = new_username("old")
    srv.add_client(cid, public=True, grants=["authorization_code"], redirect_uris=[CB],
                   scope="openid")
    assert authorize(srv, cid, None).status_code == 200  # the login page
    store_uris_directly(srv, cid, [uri])
    # the daemon notices the change to its database (within 0.1 s, README)
    assert wait_for(lambda: authorize(srv, cid, None).status_code == 400, within=5)
    for given in (None, uri):
        r = authorize(srv, cid, given)
        assert is_error_page(r), (given, r.status_code, r.headers, r.text[:300])
        assert "Invalid redirect URI" in r.text, r.text[:500]
    # with a good URI beside it, that one is used and the bad one is still refused
    store_uris_directly(srv, cid, [uri, CB])
    assert wait_for(lambda: authorize(srv, cid, CB).status_code == 200, within=5)
    assert is_error_page(authorize(srv, cid, uri))
