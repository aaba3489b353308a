"""authlib's OAuth2Session against the daemon's refresh_token grant: the code flow with PKCE driven
by authlib (the browser part by the harness's UserAgent), then refreshes with client_secret_basic
for a confidential client and client_id only for a public one; authlib's update_token hook must
see each rotated refresh token, and its automatic refresh of an expired token must work."""
import time
import urllib.parse

import pytest

from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tessera_harness import (INACTIVE, UserAgent, http_timeout, idp_user, jwt_parts,
                             location_of)

CB = "https://rp.example/cb"
PCB = "http://127.0.0.1:9/cb"
SCOPE = "openid profile mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"
RT_GRANTS = ["authorization_code", "refresh_token"]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory.start(clients=[
        dict(client_id="rp", grants=RT_GRANTS, redirect_uris=[CB], scope=SCOPE, name="RP"),
        dict(client_id="spa", public=True, grants=RT_GRANTS, redirect_uris=[PCB], scope=SCOPE,
             name="SPA"),
        dict(client_id="rs", scope="introspect"),
    ], name="authlib-refresh")


@pytest.fixture(scope="module")
def meta(srv):
    r = srv.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    return r.json()


@pytest.fixture(autouse=True)
def insecure_ok(monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server is plain http


class Recorder:
    """authlib's update_token hook, and every /token request the session sent."""

    def __init__(self):
        self.updates = []     # (token dict copy, kwargs)
        self.requests = []    # requests.PreparedRequest

    def hook(self, token, refresh_token=None, access_token=None):
        self.updates.append((dict(token), {"refresh_token": refresh_token,
                                           "access_token": access_token}))

    def on_response(self, r, *args, **kwargs):
        if r.request.url.endswith("/token"):
            self.requests.append(r.request)


def signed_in_session(srv, meta, cid, method):
    """An OAuth2Session for cid that went through the code flow (authlib builds the authorization
    URL and redeems the code; a harness UserAgent logs a new user in)."""
    c = srv.clients[cid]
    cb = CB if c.secret else PCB
    rec = Recorder()
    s = OAuth2Session(c.id, c.secret, token_endpoint_auth_method=method, redirect_uri=cb,
                      scope="openid mqtt:sub:home/#", code_challenge_method="S256",
                      token_endpoint=meta["token_endpoint"], update_token=rec.hook)
    s.hooks["response"].append(rec.on_response)
    verifier = generate_token(64)
    uri, _state = s.create_authorization_url(meta["authorization_endpoint"],
                                             code_verifier=verifier)
    u, pw, uid = idp_user(srv)
    r = UserAgent(srv).run(urllib.parse.urlsplit(uri).query, username=u, password=pw)
    token = s.fetch_token(meta["token_endpoint"], authorization_response=location_of(r),
                          code_verifier=verifier, timeout=http_timeout())
    assert token.get("refresh_token"), token
    assert set(token["scope"].split()) == {"openid", "mqtt:sub:home/%s/#" % u}
    s.scope = None      # refresh for the whole grant unless a test asks for less
    rec.requests.clear()
    return s, rec, (u, pw, uid)


def intro(srv, tok):
    return srv.introspection(srv.clients["rs"], tok)


def sent_form(req):
    body = req.body.decode() if isinstance(req.body, bytes) else (req.body or "")
    return dict(urllib.parse.parse_qsl(body))


def test_authlib_refresh_confidential_client_secret_basic_sees_rotated_token(srv, meta):
    s, rec, (u, _pw, uid) = signed_in_session(srv, meta, "rp", "client_secret_basic")
    with s:
        old = dict(s.token)
        new = s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    assert len(rec.updates) == 1
    seen, kw = rec.updates[0]
    assert seen["refresh_token"] == new["refresh_token"]
    assert kw["refresh_token"] == old["refresh_token"]
    req = rec.requests[-1]
    assert req.headers["Authorization"].startswith("Basic ")
    form = sent_form(req)
    assert form["grant_type"] == "refresh_token" and "client_secret" not in form
    claims = jwt_parts(new["access_token"])[1]
    assert claims["sub"] == str(uid) and claims["username"] == u and claims["client_id"] == "rp"
    assert intro(srv, new["refresh_token"])["active"] is True
    assert intro(srv, old["refresh_token"]) == INACTIVE


def test_authlib_refresh_public_client_sends_only_client_id(srv, meta):
    s, rec, _user = signed_in_session(srv, meta, "spa", "none")
    with s:
        old = dict(s.token)
        new = s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
        newer = s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
    assert len({old["refresh_token"], new["refresh_token"], newer["refresh_token"]}) == 3
    assert [u[0]["refresh_token"] for u in rec.updates] == [new["refresh_token"],
                                                           newer["refresh_token"]]
    assert [u[1]["refresh_token"] for u in rec.updates] == [old["refresh_token"],
                                                           new["refresh_token"]]
    for req in rec.requests:
        assert "Authorization" not in req.headers
        form = sent_form(req)
        assert form["client_id"] == "spa" and "client_secret" not in form
    assert intro(srv, newer["access_token"])["active"] is True


@pytest.mark.parametrize("cid,method", [("rp", "client_secret_basic"), ("spa", "none")])
def test_authlib_refreshes_an_expired_token_by_itself_before_a_request(srv, meta, cid, method):
    s, rec, (u, _pw, _uid) = signed_in_session(srv, meta, cid, method)
    with s:
        old = dict(s.token)
        s.token["expires_at"] = int(time.time()) - 10
        r = s.get(srv.url("/userinfo"), timeout=http_timeout())
        assert r.status_code == 200, r.text
        assert r.json()["preferred_username"] == u
        assert len(rec.updates) == 1
        assert s.token["refresh_token"] != old["refresh_token"]
        assert rec.updates[0][0]["refresh_token"] == s.token["refresh_token"]
        assert r.request.headers["Authorization"] == "Bearer " + s.token["access_token"]


def test_authlib_narrower_scope_on_refresh(srv, meta):
    s, _rec, (u, _pw, _uid) = signed_in_session(srv, meta, "rp", "client_secret_basic")
    with s:
        new = s.refresh_token(meta["token_endpoint"], scope="openid", timeout=http_timeout())
        assert new["scope"] == "openid"
        whole = s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
    assert set(whole["scope"].split()) == {"openid", "mqtt:sub:home/%s/#" % u}


def test_authlib_reusing_a_rotated_token_raises_invalid_grant_and_ends_the_grant(srv, meta):
    s, _rec, _user = signed_in_session(srv, meta, "rp", "client_secret_basic")
    with s:
        old = dict(s.token)
        new = s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
        with pytest.raises(OAuthError) as ei:
            s.refresh_token(meta["token_endpoint"], refresh_token=old["refresh_token"],
                            timeout=http_timeout())
    assert ei.value.error == "invalid_grant"
    assert intro(srv, new["refresh_token"]) == INACTIVE
    assert intro(srv, new["access_token"]) == INACTIVE


def test_authlib_revokes_the_refresh_token_and_the_session_tokens_die(srv, meta):
    s, _rec, _user = signed_in_session(srv, meta, "rp", "client_secret_basic")
    with s:
        tok = dict(s.token)
        r = s.revoke_token(meta["revocation_endpoint"], token=tok["refresh_token"],
                           token_type_hint="refresh_token", timeout=http_timeout())
        assert r.status_code == 200, r.text
        with pytest.raises(OAuthError) as ei:
            s.refresh_token(meta["token_endpoint"], timeout=http_timeout())
    assert ei.value.error == "invalid_grant"
    assert intro(srv, tok["access_token"]) == INACTIVE
