"""Answers that are always sent, and tokens every consumer takes (issue 19 item 12).

A POST /authorize with a 6 KB state was closed with no response while the log said 303: the
Location did not fit in the connection's memory next to the request's head. /token issued a
40 KB token (120 scopes) that /introspect, /userinfo and the broker refused. Now parameters and
scopes have limits refused up front with a clear error (RFC 6749 §4.1.2.1 at /authorize: a
redirect once the client and redirect URI are known, a page when the answer could not carry
the parameter back), an answer too large to send becomes a 400 that is sent, and no access
token is longer than 4096 bytes, which /introspect, /userinfo (in an Authorization header)
and the broker plugin all accept."""
import urllib.parse

import pytest
import requests

from dpop_proof import DPoPKey
from tessera_harness import (PKCE, Page, UserAgent, auth_request, code_flow, http_timeout,
                             idp_user, jwt_parts, post_form, redirect_params, token_error,
                             token_ok)

CB = "http://127.0.0.1:9/cb"
FILTERS_120 = " ".join("mqtt:pubsub:plant/%03d/line/+/station/+/sensor/#" % i for i in range(120))
SCOPE_33 = " ".join("mqtt:sub:s/%d" % i for i in range(33))
# 32 scopes of 1,023 bytes in all: the most a request may ask for and a grant may hold
SCOPE_MAX = " ".join(("mqtt:pubsub:t%03d/" % i).ljust(31, "x") for i in range(32))
TOKEN_ACCESS_MAX = 4096


def big_filters(n, width=90):
    return " ".join(("mqtt:pubsub:big/%03d/" % i).ljust(width, "y") for i in range(n))


@pytest.fixture(scope="module")
def srv(server_factory):
    s = server_factory.new()
    s.init()
    s.add_client("web", public=True, grants=["authorization_code"], name="Web",
                 redirect_uris=[CB], scope="openid profile " + SCOPE_MAX)
    s.add_client("dev-max", scope=SCOPE_MAX)
    s.add_client("dev-120", scope=FILTERS_120)
    s.add_client("dev-dev", public=True, grants=["device_code"], scope="mqtt:sub:#")
    s.add_client("rs", scope="introspect")
    return s.start()


@pytest.fixture(scope="module")
def user(srv):
    return idp_user(srv, scope="openid profile " + SCOPE_MAX)


@pytest.fixture(scope="module")
def agent(srv, user):
    """A browser logged in to srv that has consented to web's openid scope."""
    login = code_flow(srv, srv.clients["web"], user[0], user[1], redirect_uri=CB, scope="openid",
                      redeem=False)
    return login.agent


def authorize(agent, method="POST", **kw):
    kw.setdefault("scope", "openid")
    return agent.authorize(auth_request("web", CB, pkce=PKCE(), **kw), method=method)


# ---------------------------------------------------------------- /authorize


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_state_of_6_kb_gets_a_page_not_a_closed_connection(srv, agent, method):
    """The review's case (POST); a GET that long is refused by the request line's limit or by
    the state's, but always with an answer."""
    r = authorize(agent, method, state="s" * 6000)
    assert r.status_code in (400, 414, 431), (r.status_code, r.text[:300])
    assert "Location" not in r.headers
    if r.status_code == 400:
        assert "state is too long" in Page(r).text, Page(r).text[:400]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_state_of_512_bytes_comes_back_and_513_is_refused_on_a_page(srv, agent, method):
    # the worst a state can be encoded in a URL: every byte %-escaped
    state = ("é€" * 103)[:204] + "&" * 2
    state = state + "x" * (512 - len(state.encode("utf-8")))
    assert len(state.encode("utf-8")) == 512
    q = redirect_params(authorize(agent, method, state=state))
    assert q["state"] == state and "code" in q, q.keys()
    r = authorize(agent, method, state=state + "x")
    assert r.status_code == 400 and "Location" not in r.headers, (r.status_code, r.headers)
    assert "state is too long (at most 512 bytes)" in Page(r).text


def test_a_512_byte_state_survives_the_whole_login(srv, user):
    """After the login page the request comes back as a GET /authorize query carrying state,
    nonce and scope, and its answer carries the state again: all within one connection's
    memory."""
    state = "é" * 256
    login = code_flow(srv, srv.clients["web"], user[0], user[1], redirect_uri=CB,
                      scope="openid " + " ".join(SCOPE_MAX.split()[:8]), state=state,
                      nonce="n" * 512, agent=UserAgent(srv))
    assert login.tokens["access_token"]


@pytest.mark.parametrize("param, value, error", [
    ("nonce", "n" * 513, "invalid_request"),
    ("login_hint", "h" * 256, "invalid_request"),
    ("scope", SCOPE_33, "invalid_scope"),
    ("scope", "openid " + "mqtt:sub:" + "a" * 1020, "invalid_scope"),
], ids=["nonce", "login_hint", "33-scopes", "1025-bytes"])
def test_oversized_parameters_are_redirected_with_an_error(srv, agent, param, value, error):
    kw = {param: value} if param in ("nonce", "scope") else {"extra": [(param, value)]}
    q = redirect_params(authorize(agent, **kw))
    assert q.get("error") == error, q
    assert "code" not in q
    assert "too" in q.get("error_description", ""), q


def test_a_granted_scope_over_the_limits_is_refused_before_any_code(srv, user):
    """Asking for nothing grants everything allowed: the client's 32 scopes plus openid and
    profile are 34, over the limit, refused at /authorize, not after a code was issued."""
    r = UserAgent(srv).run(auth_request("web", CB, scope=None, pkce=PKCE()), username=user[0],
                           password=user[1])
    q = redirect_params(r)
    assert q.get("error") == "invalid_scope" and "code" not in q, q


def test_an_answer_too_large_for_the_connection_is_a_400_that_is_sent(srv, agent):
    """Whatever makes the answer's head too large (here a request head of 4.5 KB next to a
    redirect carrying a 500-byte state), it is replaced by an error that fits."""
    data = urllib.parse.urlencode(auth_request("web", CB, state="%" * 500, scope="openid",
                                               pkce=PKCE()))
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "Cookie": "; ".join("%s=%s" % kv for kv in agent.cookies.items()),
         "X-Padding": "p" * 4300}
    r = requests.post(srv.url("/authorize"), data=data, headers=h, allow_redirects=False,
                      timeout=http_timeout())
    assert r.status_code == 400, (r.status_code, r.headers)
    assert "too large to send" in Page(r).text
    # the same request without the padding is answered as usual
    del h["X-Padding"]
    r = requests.post(srv.url("/authorize"), data=data, headers=h, allow_redirects=False,
                      timeout=http_timeout())
    assert "code" in redirect_params(r)


# ---------------------------------------------------------------- /token, /device_authorization


def test_a_client_allowed_120_filters_gets_invalid_scope_not_a_40_kb_token(srv):
    r = srv.token(srv.clients["dev-120"])
    assert token_error(r) == "invalid_scope"
    assert "too large" in r.json()["error_description"]
    # a part of it is fine
    body = token_ok(srv.token(srv.clients["dev-120"], scope="mqtt:sub:plant/001/line/1/#"))
    assert len(body["access_token"]) < TOKEN_ACCESS_MAX


def test_requests_over_the_scope_limits_are_invalid_scope(srv):
    r = srv.token(srv.clients["dev-max"], scope=SCOPE_33)
    assert token_error(r) == "invalid_scope"
    assert "at most 32 scopes and 1024 bytes" in r.json()["error_description"]
    r = srv.device_authorization(srv.clients["dev-dev"], scope=SCOPE_33)
    assert token_error(r) == "invalid_scope"


def test_a_token_at_the_scope_limits_is_accepted_by_introspection(srv):
    body = token_ok(srv.token(srv.clients["dev-max"]))
    assert set(body["scope"].split()) == set(SCOPE_MAX.split())
    assert len(body["access_token"]) <= TOKEN_ACCESS_MAX
    assert srv.is_active(srv.clients["rs"], body["access_token"]) is True


# ---------------------------------------------------------------- EMQX's acl claim


@pytest.fixture(scope="module")
def emqx(server_factory):
    s = server_factory.new(config={"tokens": {"mqtt_claim": "emqx"}}, name="emqx")
    s.init()
    s.add_client("web", public=True, grants=["authorization_code", "refresh_token"], name="Web",
                 redirect_uris=[CB], scope="openid " + big_filters(32, 31))
    s.add_client("dev", scope=big_filters(32, 31))
    s.add_client("rs", scope="introspect")
    return s.start()


def test_emqx_acl_over_the_token_limit_is_invalid_scope_at_token(emqx):
    r = emqx.token(emqx.clients["dev"])
    assert token_error(r) == "invalid_scope"
    assert "access token would be too large" in r.json()["error_description"]


def test_emqx_acl_over_the_token_limit_is_refused_at_authorize(emqx):
    u, pw, _ = idp_user(emqx, scope="openid " + big_filters(32, 31))
    r = UserAgent(emqx).run(auth_request("web", CB, scope=None, pkce=PKCE()), username=u,
                            password=pw)
    q = redirect_params(r)
    assert q.get("error") == "invalid_scope" and "code" not in q, q


def longest_consented(srv, u, pw):
    """The longest scope of big_filters(32, 31) that /authorize still gives a code for."""
    filters = big_filters(32, 31).split()
    best = None
    for n in range(1, len(filters)):
        scope = "openid " + " ".join(filters[:n])
        r = UserAgent(srv).run(auth_request("web", CB, scope=scope, pkce=PKCE()), username=u,
                               password=pw)
        if "code" not in redirect_params(r):
            break
        best = scope
    assert best and best != "openid " + " ".join(filters)
    return best


def test_the_longest_tokens_work_at_userinfo_and_introspect(emqx):
    """The largest user token the daemon makes, in an Authorization header at /userinfo (in the
    connection's 6 KiB request head) and at /introspect. /authorize keeps room for a binding
    (cnf) the redemption may add, so an unbound token stops short of the limit by that much."""
    u, pw, _ = idp_user(emqx, scope="openid " + big_filters(32, 31))
    best = longest_consented(emqx, u, pw)
    login = code_flow(emqx, emqx.clients["web"], u, pw, redirect_uri=CB, scope=best)
    tok = login.access_token
    assert TOKEN_ACCESS_MAX - 400 < len(tok) <= TOKEN_ACCESS_MAX, len(tok)
    r = emqx.userinfo(tok)
    assert r.status_code == 200, (r.status_code, r.text)
    assert emqx.is_active(emqx.clients["rs"], tok) is True


def test_the_longest_consented_scope_redeemed_with_dpop_still_gets_its_token(emqx):
    """A code redeemed with a DPoP proof gets a token carrying cnf.jkt: the scope consented to at
    /authorize left room for it, so the redemption of the longest one is not invalid_scope
    after the code was spent."""
    u, pw, _ = idp_user(emqx, scope="openid " + big_filters(32, 31))
    best = longest_consented(emqx, u, pw)
    login = code_flow(emqx, emqx.clients["web"], u, pw, redirect_uri=CB, scope=best,
                      redeem=False)
    key = DPoPKey()
    r = post_form(emqx.url("/token"), [("grant_type", "authorization_code"), ("code", login.code),
                                       ("redirect_uri", CB), ("code_verifier", login.pkce.verifier),
                                       ("client_id", "web")],
                  headers={"DPoP": key.proof("POST", emqx.url("/token"))})
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    assert len(tok) <= TOKEN_ACCESS_MAX and r.json()["token_type"] == "DPoP", len(tok)
    assert jwt_parts(tok)[1]["cnf"]["jkt"], jwt_parts(tok)[1]


def test_a_refresh_whose_token_would_be_too_large_keeps_the_refresh_token(fresh_factory):
    """A grant made when its token fitted (here: before mqtt_claim = emqx was turned on) is
    refused at refresh with invalid_scope before the rotation is written: the refresh token
    still works once the token fits again."""
    filters = " ".join(big_filters(31, 31).split())
    s = fresh_factory.new(config={"tokens": {"mqtt_claim": "none"}}, name="refresh")
    s.init()
    web = s.add_client("web", public=True, grants=["authorization_code", "refresh_token"],
                       name="Web", redirect_uris=[CB], scope="openid " + filters)
    s.start()
    u, pw, _ = idp_user(s, scope="openid " + filters)
    login = code_flow(s, web, u, pw, redirect_uri=CB, scope="openid " + filters)
    rt = login.tokens["refresh_token"]

    def restart(claim):
        s.stop()
        with open(s.config_path, "w") as f:
            f.write("[tokens]\nmqtt_claim = %s\n" % claim)
        s.start()
    restart("emqx")
    r = s.refresh(web, rt)
    assert token_error(r) == "invalid_scope"
    assert "too large" in r.json()["error_description"]
    restart("none")
    body = token_ok(s.refresh(web, rt))
    assert body["refresh_token"] != rt and body["access_token"]
