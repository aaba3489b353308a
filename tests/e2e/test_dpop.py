"""DPoP (RFC 9449, issue 22 §3), black box: proofs at /token, DPoP-bound access tokens (cnf.jkt,
token_type DPoP) at /introspect, /userinfo and /scim/v2, public clients' refresh tokens bound to
their key, clients registered dpop_bound, and server nonces. Proofs are made by
tests/dpop_proof.py with python3-cryptography. docs/security.md rows 96-101."""
import time

import pytest
import requests

from dpop_proof import DPoPKey, b64u
from scim_client import ADMIN_CLIENTS
from tessera_harness import Client, code_flow, http_timeout, idp_user, jwt_parts, post_form

CB = "https://rp.example/cb"
SCOPE = "mqtt:pub:d/${clientid}/up"


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new(name="dpop")
    s.init()
    for c in ADMIN_CLIENTS:
        c = dict(c)
        s.add_client(c.pop("client_id"), **c)
    s.add_client("dev", scope=SCOPE)
    s.add_client("refdev", scope=SCOPE, extra=["--token-format", "reference"])
    s.add_client("app", public=True, grants=["authorization_code", "refresh_token"],
                 redirect_uris=[CB], scope="openid profile")
    return s.start()


def token_with(srv, client, proof=None, headers=None, **kw):
    h = dict(headers or {})
    if proof is not None:
        h["DPoP"] = proof
    return srv.token(client, headers=h, **kw)


def cc_proof(srv, key, **kw):
    return key.proof("POST", srv.url("/token"), **kw)


def bound_token(srv, client="dev", key=None):
    key = key or DPoPKey()
    r = token_with(srv, srv.clients[client], cc_proof(srv, key))
    assert r.status_code == 200, r.text
    return r.json()["access_token"], key


def refused(r, error="invalid_dpop_proof", status=400):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["error"] == error, r.text
    return r


# ---------------------------------------------------------------- row 96: the proof and what it binds


def test_row96_client_credentials_with_a_proof_gets_a_dpop_bound_token(srv):
    """docs/security.md row 96: token_type DPoP, cnf.jkt the RFC 7638 thumbprint of the key, in
    the JWT and in the introspection answer (RFC 9449 §6)."""
    for alg in ("ES256", "RS256"):
        key = DPoPKey(alg)
        r = token_with(srv, srv.clients["dev"], cc_proof(srv, key))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "DPoP", body
        _h, claims = jwt_parts(body["access_token"])
        assert claims["cnf"] == {"jkt": key.jkt()}, claims
        d = srv.introspection(srv.clients["admin"], body["access_token"])
        assert d["active"] is True and d["token_type"] == "DPoP", d
        assert d["cnf"] == {"jkt": key.jkt()}, d
    # without a proof nothing changes: a bearer token without cnf
    r = srv.token(srv.clients["dev"])
    assert r.json()["token_type"] == "Bearer" and "cnf" not in jwt_parts(r.json()["access_token"])[1]


def test_row96_reference_tokens_carry_the_binding_too(srv):
    """docs/security.md row 96: a reference token's recorded claims hold cnf.jkt."""
    key = DPoPKey()
    tok, _ = bound_token(srv, "refdev", key)
    assert tok.startswith("at_"), tok
    d = srv.introspection(srv.clients["admin"], tok)
    assert d["active"] is True and d["token_type"] == "DPoP" and d["cnf"] == {"jkt": key.jkt()}, d


def test_row96_alg_none_hmac_typ_private_key_and_missing_jwk_are_refused(srv):
    """docs/security.md row 96: never alg none or HMAC, typ dpop+jwt only, a public jwk only."""
    key, dev = DPoPKey(), srv.clients["dev"]
    bad = [
        cc_proof(srv, key, alg="none"),
        cc_proof(srv, key, alg="HS256"),
        cc_proof(srv, key, typ="JWT"),
        cc_proof(srv, key, typ="at+jwt"),
        cc_proof(srv, key, jwk=key.jwk(private=True)),
        cc_proof(srv, key, jwk={}),
        cc_proof(srv, key, alg="RS256"),  # an EC key does not make RS256 signatures
        cc_proof(srv, key, header_extra={"jku": "https://evil.example/jwks"}),
        "not a jwt", "a.b.c",
    ]
    for proof in bad:
        r = refused(token_with(srv, dev, proof))
        assert "cnf" not in r.text
    # an RSA private key, too
    rkey = DPoPKey("RS256")
    refused(token_with(srv, dev, cc_proof(srv, rkey, jwk=rkey.jwk(private=True))))


def test_row96_a_proof_signed_by_another_key_than_its_jwk_is_refused(srv):
    """docs/security.md row 96: the signature must verify with the proof's own jwk."""
    key, other = DPoPKey(), DPoPKey()
    refused(token_with(srv, srv.clients["dev"], cc_proof(srv, key, signer=other)))


def test_row96_two_dpop_headers_are_refused(srv):
    """docs/security.md row 96: one DPoP header per request (RFC 9449 §4.3 check 1)."""
    key = DPoPKey()
    import http.client
    body = "grant_type=client_credentials"
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=http_timeout())
    conn.putrequest("POST", "/token")
    conn.putheader("Authorization", srv.clients["dev"].basic())
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("DPoP", cc_proof(srv, key))
    conn.putheader("DPoP", cc_proof(srv, key))
    conn.endheaders(body.encode())
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    assert resp.status == 400 and "invalid_dpop_proof" in text, (resp.status, text)


# ---------------------------------------------------------------- row 97: bound to its request


def test_row97_a_proof_for_another_url_or_method_is_refused(srv):
    """docs/security.md row 97: htm and htu compared as RFC 9449 §4.3 says."""
    key, dev = DPoPKey(), srv.clients["dev"]
    for proof in (key.proof("GET", srv.url("/token")),
                  key.proof("post", srv.url("/token")),
                  key.proof("POST", srv.url("/userinfo")),
                  key.proof("POST", srv.url("/token/")),
                  key.proof("POST", "http://127.0.0.2:%d/token" % srv.port),
                  key.proof("POST", "https://127.0.0.1:%d/token" % srv.port),
                  key.proof("POST", "/token")):
        refused(token_with(srv, dev, proof))
    # what RFC 9449 §4.3 ignores: a query and fragment; the scheme's and host's case
    for htu in (srv.url("/token") + "?x=1#f", srv.url("/token").replace("http://", "HTTP://")):
        r = token_with(srv, dev, key.proof("POST", htu))
        assert r.status_code == 200, (htu, r.text)


def test_row97_expired_or_future_iat_is_refused(srv):
    """docs/security.md row 97: iat within dpop_proof_max_age (60 s) in the past, 10 s ahead."""
    key, dev, now = DPoPKey(), srv.clients["dev"], int(time.time())
    for iat in (now - 120, now + 120, 0):
        refused(token_with(srv, dev, cc_proof(srv, key, iat=iat)))
    refused(token_with(srv, dev, cc_proof(srv, key, claims_extra={"iat": str(now)})))
    for claim in ("jti", "htm", "htu", "iat"):
        refused(token_with(srv, dev, cc_proof(srv, key, drop=[claim])))
    assert token_with(srv, dev, cc_proof(srv, key, iat=now - 30)).status_code == 200


# ---------------------------------------------------------------- row 98: single use


def test_row98_a_replayed_proof_is_refused_even_after_a_restart(server_factory):
    """docs/security.md row 98: a proof's jti is used once with its key; the record is in the
    database, so a restarted daemon refuses the replay too."""
    s = server_factory.new(name="dpop-replay")
    s.init()
    dev = s.add_client("dev", scope=SCOPE)
    s.start()
    key = DPoPKey()
    proof = cc_proof(s, key)
    assert token_with(s, dev, proof).status_code == 200
    r = refused(token_with(s, dev, proof))
    assert "used already" in r.json()["error_description"], r.text
    # a proof whose grant failed is used up too: a replay is never a second chance
    spent = cc_proof(s, key)
    refused(token_with(s, dev, spent, scope="mqtt:pub:elsewhere"), "invalid_scope")
    refused(token_with(s, dev, spent))
    s.stop()
    s.start()
    refused(token_with(s, dev, proof))
    # the same jti with another key is another proof
    jti = jwt_parts(proof)[1]["jti"]
    assert token_with(s, dev, cc_proof(s, DPoPKey(), jti=jti)).status_code == 200


# ---------------------------------------------------------------- row 99: at the resources


@pytest.fixture(scope="module")
def user_login(srv):
    """A user's DPoP-bound access token (code flow of the public client "app"), its key and the
    refresh token."""
    key = DPoPKey()
    u = idp_user(srv)
    login = code_flow(srv, srv.clients["app"], u[0], u[1], redirect_uri=CB,
                      scope="openid profile", redeem=False)
    r = post_form(srv.url("/token"), [("grant_type", "authorization_code"), ("code", login.code),
                                      ("redirect_uri", CB), ("code_verifier", login.pkce.verifier),
                                      ("client_id", "app")],
                  headers={"DPoP": cc_proof(srv, key)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP" and body.get("refresh_token"), body
    return body, key


def userinfo(srv, token, scheme="DPoP", proof=None):
    h = {"Authorization": "%s %s" % (scheme, token)}
    if proof is not None:
        h["DPoP"] = proof
    return requests.get(srv.url("/userinfo"), headers=h, timeout=http_timeout())


def challenge(r):
    assert r.status_code == 401, (r.status_code, r.text)
    w = r.headers.get("WWW-Authenticate", "")
    assert w.startswith("DPoP ") and 'algs="ES256 RS256"' in w, w
    return w


def test_row99_userinfo_takes_a_bound_token_with_a_matching_proof(srv, user_login):
    """docs/security.md row 99: Authorization: DPoP and a proof whose ath is the token's hash."""
    body, key = user_login
    tok = body["access_token"]
    r = userinfo(srv, tok, proof=key.proof("GET", srv.url("/userinfo"), access_token=tok))
    assert r.status_code == 200, r.text
    assert r.json()["sub"], r.text
    r = requests.post(srv.url("/userinfo"), timeout=http_timeout(),
                      headers={"Authorization": "DPoP " + tok,
                               "DPoP": key.proof("POST", srv.url("/userinfo"), access_token=tok)})
    assert r.status_code == 200, r.text


def test_row99_userinfo_refusals_answer_a_dpop_challenge(srv, user_login):
    """docs/security.md row 99: no proof, no or a wrong ath, a proof by another key, for another
    URL, replayed; each a 401 with WWW-Authenticate: DPoP (RFC 9449 §7.1)."""
    body, key = user_login
    tok, url = body["access_token"], srv.url("/userinfo")
    w = challenge(userinfo(srv, tok))
    assert 'error="invalid_dpop_proof"' in w, w
    w = challenge(userinfo(srv, tok, proof=key.proof("GET", url)))
    assert 'error="invalid_dpop_proof"' in w, w
    w = challenge(userinfo(srv, tok, proof=key.proof("GET", url, access_token=tok + "x")))
    assert 'error="invalid_dpop_proof"' in w, w
    w = challenge(userinfo(srv, tok, proof=DPoPKey().proof("GET", url, access_token=tok)))
    assert 'error="invalid_dpop_proof"' in w, w
    w = challenge(userinfo(srv, tok, proof=key.proof("POST", url, access_token=tok)))
    assert 'error="invalid_dpop_proof"' in w, w
    w = challenge(userinfo(srv, tok, proof=key.proof("GET", srv.url("/token"), access_token=tok)))
    proof = key.proof("GET", url, access_token=tok)
    assert userinfo(srv, tok, proof=proof).status_code == 200
    w = challenge(userinfo(srv, tok, proof=proof))
    assert 'error="invalid_dpop_proof"' in w, w


def test_row99_a_bound_token_presented_as_bearer_is_refused(srv, user_login):
    """docs/security.md row 99: a DPoP-bound token is not a bearer token (RFC 9449 §7.2), in the
    header (even with a good proof) or in the body."""
    body, key = user_login
    tok, url = body["access_token"], srv.url("/userinfo")
    w = challenge(userinfo(srv, tok, scheme="Bearer"))
    assert 'error="invalid_token"' in w, w
    challenge(userinfo(srv, tok, scheme="Bearer", proof=key.proof("GET", url, access_token=tok)))
    r = post_form(url, [("access_token", tok)])
    challenge(r)


def test_row99_the_dpop_scheme_with_an_unbound_token_is_refused(srv):
    """docs/security.md row 99: Authorization: DPoP is for bound tokens only."""
    tok = srv.access_token(srv.clients["admin"])
    key = DPoPKey()
    r = requests.get(srv.url("/scim/v2/Users"), timeout=http_timeout(),
                     headers={"Authorization": "DPoP " + tok,
                              "DPoP": key.proof("GET", srv.url("/scim/v2/Users"),
                                                access_token=tok)})
    w = challenge(r)
    assert 'error="invalid_token"' in w, w


def test_row99_scim_takes_a_bound_token_with_its_proof_only(srv):
    """docs/security.md row 99: /scim/v2 as /userinfo: DPoP with a matching proof, never as
    Bearer; the proof's htu is the resource's URL without its query."""
    tok, key = bound_token(srv, "admin")
    url = srv.url("/scim/v2/Users")
    r = requests.get(url + "?count=1", timeout=http_timeout(),
                     headers={"Authorization": "DPoP " + tok,
                              "DPoP": key.proof("GET", url, access_token=tok)})
    assert r.status_code == 200, r.text
    r = requests.get(url, timeout=http_timeout(), headers={"Authorization": "Bearer " + tok})
    challenge(r)
    assert r.headers["Content-Type"].startswith("application/scim+json"), r.headers
    r = requests.get(url, timeout=http_timeout(),
                     headers={"Authorization": "DPoP " + tok,
                              "DPoP": key.proof("GET", srv.url("/scim/v2/Groups"),
                                                access_token=tok)})
    challenge(r)


# ---------------------------------------------------------------- row 100: refresh tokens and clients


def test_row100_a_public_clients_refresh_token_is_bound_to_its_key(srv, user_login):
    """docs/security.md row 100: a refresh without a proof or with another key is invalid_grant
    (and revokes nothing); with the key, the new tokens are bound again."""
    body, key = user_login
    app, rt = srv.clients["app"], body["refresh_token"]

    def refresh(proof):
        return post_form(srv.url("/token"), [("grant_type", "refresh_token"),
                                             ("refresh_token", rt), ("client_id", "app")],
                         headers={"DPoP": proof} if proof else {})
    r = refused(refresh(None), "invalid_grant")
    assert "DPoP" in r.json()["error_description"], r.text
    refused(refresh(cc_proof(srv, DPoPKey())), "invalid_grant")
    refused(refresh(cc_proof(srv, DPoPKey("RS256"))), "invalid_grant")
    assert srv.introspection(srv.clients["admin"], body["access_token"])["active"] is True
    r = refresh(cc_proof(srv, key))
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["token_type"] == "DPoP" and jwt_parts(new["access_token"])[1]["cnf"]["jkt"] == key.jkt()
    # the successor (a public client's rotate) keeps the binding
    assert new["refresh_token"] != rt
    rt = new["refresh_token"]
    refused(refresh(cc_proof(srv, DPoPKey())), "invalid_grant")
    r = refresh(cc_proof(srv, key))
    assert r.status_code == 200, r.text
    del app


def test_row100_a_dpop_bound_client_must_send_a_proof(srv):
    """docs/security.md row 100: a client registered --dpop-bound (dpop_bound_access_tokens) gets
    no token without a proof."""
    run = srv.cli(["client", "add", "bounddev", "--scope", SCOPE, "--dpop-bound"])
    assert run.rc == 0, run
    c = srv.clients["bounddev"] = Client("bounddev", run.json()["client_secret"])
    r = refused(srv.token(c))
    assert "DPoP" in r.json()["error_description"], r.text
    r = token_with(srv, c, cc_proof(srv, DPoPKey()))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text


def test_row100_only_dpop_bound_public_clients_may_keep_their_refresh_token(srv):
    """docs/security.md row 100: non-rotating refresh for a public client only with --dpop-bound;
    its bound refresh token then stays the same, and still needs the key."""
    base = ["--public", "--grant", "authorization_code", "--grant", "refresh_token",
            "--redirect-uri", CB, "--scope", "openid", "--refresh-rotation", "off"]
    run = srv.cli(["client", "add", "pubnorot"] + base)
    assert run.rc != 0 and "DPoP" in run.stderr + run.stdout, run
    run = srv.cli(["client", "add", "pubkeep"] + base + ["--dpop-bound"])
    assert run.rc == 0, run
    key = DPoPKey()
    u = idp_user(srv)
    login = code_flow(srv, Client("pubkeep"), u[0], u[1], redirect_uri=CB,
                      scope="openid", redeem=False)
    r = post_form(srv.url("/token"), [("grant_type", "authorization_code"), ("code", login.code),
                                      ("redirect_uri", CB), ("code_verifier", login.pkce.verifier),
                                      ("client_id", "pubkeep")],
                  headers={"DPoP": cc_proof(srv, key)})
    assert r.status_code == 200, r.text
    rt = r.json()["refresh_token"]
    for _ in range(2):
        r = post_form(srv.url("/token"), [("grant_type", "refresh_token"), ("refresh_token", rt),
                                          ("client_id", "pubkeep")],
                      headers={"DPoP": cc_proof(srv, key)})
        assert r.status_code == 200 and r.json()["refresh_token"] == rt, r.text
    r = post_form(srv.url("/token"), [("grant_type", "refresh_token"), ("refresh_token", rt),
                                      ("client_id", "pubkeep")],
                  headers={"DPoP": cc_proof(srv, DPoPKey())})
    refused(r, "invalid_grant")


def test_row100_discovery_lists_the_proof_algorithms(srv):
    """docs/security.md row 100: dpop_signing_alg_values_supported (RFC 9449 §5.1), no none."""
    d = srv.get("/.well-known/openid-configuration").json()
    assert d["dpop_signing_alg_values_supported"] == ["ES256", "RS256"], d
    assert srv.get("/.well-known/oauth-authorization-server").json()[
        "dpop_signing_alg_values_supported"] == ["ES256", "RS256"]


# ---------------------------------------------------------------- row 101: server nonces


def test_row101_nonces_are_required_when_configured_and_any_process_accepts_them(server_factory):
    """docs/security.md row 101: dpop_nonce = 1: a proof without a nonce (or with a made-up one)
    is use_dpop_nonce with a DPoP-Nonce header; the nonce works, also on a second process sharing
    the database and after a restart (derived from the database's secret and the time)."""
    s = server_factory.new(name="dpop-nonce", config={"tokens": {"dpop_nonce": 1}})
    s.init()
    dev = s.add_client("dev", scope=SCOPE)
    adm = s.add_client("adm", scope="scim")
    s.start()
    key = DPoPKey()
    r = refused(token_with(s, dev, cc_proof(s, key)), "use_dpop_nonce")
    nonce = r.headers.get("DPoP-Nonce")
    assert nonce and len(nonce) == 32, r.headers
    r = refused(token_with(s, dev, cc_proof(s, key, nonce=b64u(b"x" * 24))), "use_dpop_nonce")
    assert len(r.headers.get("DPoP-Nonce", "")) == 32, r.headers
    r = token_with(s, dev, cc_proof(s, key, nonce=nonce))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    # (the nonce of now: the same unless its 5-minute slot ended meanwhile)
    assert len(r.headers.get("DPoP-Nonce", "")) == 32, r.headers
    # a bad proof is told it is bad, not sent for a nonce
    refused(token_with(s, dev, key.proof("GET", s.url("/token"), nonce=nonce)))
    # another process on the same database accepts it
    t = server_factory.new(name="dpop-nonce-2", config={"tokens": {"dpop_nonce": 1}})
    t.dir, t.db = s.dir, s.db
    t.start()
    r = token_with(t, dev, key.proof("POST", t.url("/token"), nonce=nonce))
    assert r.status_code == 200, r.text
    t.stop()
    s.stop()
    s.start()
    r = token_with(s, dev, cc_proof(s, key, nonce=nonce))
    assert r.status_code == 200, r.text
    # and at a resource: the nonce is asked for with a 401 DPoP challenge
    r = token_with(s, adm, cc_proof(s, key, nonce=nonce))
    assert r.status_code == 200, r.text
    tok, url = r.json()["access_token"], s.url("/scim/v2/Users")
    r = requests.get(url, timeout=http_timeout(), headers={
        "Authorization": "DPoP " + tok, "DPoP": key.proof("GET", url, access_token=tok)})
    w = challenge(r)
    assert 'error="use_dpop_nonce"' in w and len(r.headers.get("DPoP-Nonce", "")) == 32, r.headers
    r = requests.get(url, timeout=http_timeout(), headers={
        "Authorization": "DPoP " + tok,
        "DPoP": key.proof("GET", url, access_token=tok, nonce=nonce)})
    assert r.status_code == 200, r.text


def test_row101_without_the_setting_no_nonce_is_asked(srv):
    """docs/security.md row 101: nonces are off by default: no DPoP-Nonce header."""
    r = token_with(srv, srv.clients["dev"], cc_proof(srv, DPoPKey()))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    assert "DPoP-Nonce" not in r.headers, r.headers
