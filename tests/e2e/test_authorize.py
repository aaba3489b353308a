"""GET/POST /authorize: redirect URI rules, error redirects, state and iss, PKCE at the front
channel, consent memory, prompt=none and the MQTT scope a user flow grants (rows 1, 3, 5, 10, 11,
15, 16, 38)."""
import time

import pytest

from tessera_harness import (B64URL, PKCE, Page, UserAgent, auth_request, idp,  # noqa: F401
                             idp_user, is_consent_page, is_login_page, jwt_parts, location_of,
                             redirect_params, redirect_target, wait_for)

WEB_CB = "http://127.0.0.1:9/cb"
CONF_CB = "https://rp.example/cb"
IDP_USER_SCOPE_ALL = "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd"


def fresh(idp):
    return UserAgent(idp)


def logged_in(idp, scope="openid", client="web", cb=WEB_CB, **user_kw):
    """A UserAgent with a session (and consent for scope at client) + its user."""
    u, pw, uid = idp_user(idp, **user_kw)
    a = UserAgent(idp)
    r = a.run(auth_request(client, cb, scope=scope, pkce=PKCE()), username=u, password=pw)
    assert "code" in redirect_params(r), r.headers
    return a, u, pw, uid


@pytest.fixture(scope="module")
def web_agent(idp):
    """A session whose user approved "openid" for web (tests only ask for openid with it)."""
    return logged_in(idp)[0]


@pytest.fixture(scope="module")
def conf_agent(idp):
    return logged_in(idp, client="conf", cb=CONF_CB)[0]


def assert_error_page(r):
    """An HTML error page, never a redirect (rows 10 and 11)."""
    assert r.status_code == 400, (r.status_code, r.headers.get("Location"), r.text[:300])
    assert "Location" not in r.headers, r.headers
    assert r.headers.get("Content-Type", "").replace(" ", "").lower() == "text/html;charset=utf-8"
    assert "code=" not in r.text


def assert_error_redirect(idp, r, error, cb, state=None):
    q = redirect_params(r)
    assert redirect_target(r) == cb, location_of(r)
    assert q.get("error") == error, q
    assert q.get("error_description"), q
    assert "code" not in q, q
    assert q.get("iss") == idp.issuer, q
    if state is None:
        assert "state" not in q, q
    else:
        assert q.get("state") == state, q
    return q


# ---------------------------------------------------------------- the happy path


def test_code_is_43_char_base64url_with_state_and_iss(idp):
    u, pw, _ = idp_user(idp)
    r = fresh(idp).run(auth_request("web", WEB_CB, state="xyz", pkce=PKCE()),
                       username=u, password=pw)
    q = redirect_params(r)
    assert redirect_target(r) == WEB_CB
    assert len(q["code"]) == 51 and B64URL.match(q["code"]), q
    assert q["state"] == "xyz"
    assert q["iss"] == idp.issuer
    assert set(q) == {"code", "state", "iss"}, q


def test_authorize_accepts_a_form_post(idp):
    u, pw, _ = idp_user(idp)
    r = fresh(idp).run(auth_request("web", WEB_CB, state="p", pkce=PKCE()), username=u,
                       password=pw, method="POST")
    q = redirect_params(r)
    assert q.get("code") and q["state"] == "p", q


def test_codes_are_distinct(idp, web_agent):
    a = web_agent
    codes = set()
    for _ in range(20):
        q = redirect_params(a.authorize(auth_request("web", WEB_CB, pkce=PKCE())))
        codes.add(q["code"])
    assert len(codes) == 20


def test_missing_redirect_uri_with_one_registered_uses_it(idp):
    u, pw, _ = idp_user(idp)
    r = fresh(idp).run(auth_request("web", None, pkce=PKCE()), username=u, password=pw)
    assert redirect_target(r) == WEB_CB
    assert redirect_params(r).get("code")


def test_registered_query_is_kept_and_code_appended_with_ampersand(idp):
    u, pw, _ = idp_user(idp)
    cb = "https://rp.example/cb?foo=bar"
    r = fresh(idp).run(auth_request("query", cb, state="s", pkce=PKCE()), username=u, password=pw)
    loc = location_of(r)
    assert loc.startswith(cb + "&"), loc
    q = redirect_params(r)
    assert q["foo"] == "bar" and q["code"] and q["state"] == "s" and q["iss"] == idp.issuer


def test_registered_query_kept_on_error_redirects_too(idp):
    r = fresh(idp).authorize(auth_request("query", "https://rp.example/cb?foo=bar",
                                          response_type="token", pkce=PKCE()))
    assert location_of(r).startswith("https://rp.example/cb?foo=bar&"), location_of(r)
    assert redirect_params(r)["error"] == "unsupported_response_type"


# ---------------------------------------------------------------- row 16: state, iss

STATE_384 = ("".join(chr(0x21 + (i * 7) % 94) for i in range(380)) + " &=+")
STATE_UNICODE = "état ✓ 日本語 🙂 \u00a0 ÿ &x=1#frag%41+"


@pytest.mark.parametrize("state", [STATE_384, STATE_UNICODE], ids=["384-chars", "unicode"])
def test_row16_state_comes_back_byte_exact_through_login_and_consent(idp, state):
    assert len(STATE_384) == 384
    u, pw, _ = idp_user(idp)
    r = fresh(idp).run(auth_request("web", WEB_CB, state=state, pkce=PKCE()), username=u,
                       password=pw)
    q = redirect_params(r)
    assert q.get("code")
    assert q["state"].encode("utf-8") == state.encode("utf-8"), (q["state"], state)


@pytest.mark.parametrize("state", [STATE_384, STATE_UNICODE], ids=["384-chars", "unicode"])
def test_row16_state_byte_exact_on_error_redirects(idp, state):
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state=state, pkce=False))
    q = assert_error_redirect(idp, r, "invalid_request", WEB_CB, state=state)
    assert q["state"].encode("utf-8") == state.encode("utf-8")


def test_row16_no_state_sent_none_returned(idp):
    a, _u, _pw, _ = logged_in(idp)
    q = redirect_params(a.authorize(auth_request("web", WEB_CB, pkce=PKCE())))
    assert q.get("code") and "state" not in q, q
    q = redirect_params(a.authorize(auth_request("web", WEB_CB, pkce=False)))
    assert q.get("error") and "state" not in q, q


def test_empty_state_is_not_invented(idp):
    a, _u, _pw, _ = logged_in(idp)
    q = redirect_params(a.authorize(auth_request("web", WEB_CB, state="", pkce=PKCE())))
    assert q.get("state", "") == "", q


def test_iss_on_every_authorization_response(idp):
    a, _u, _pw, _ = logged_in(idp)
    ok = redirect_params(a.authorize(auth_request("web", WEB_CB, pkce=PKCE())))
    bad = redirect_params(a.authorize(auth_request("web", WEB_CB, response_type="token",
                                                   pkce=PKCE())))
    denied = redirect_params(a.authorize(auth_request("web", WEB_CB, scope="openid email",
                                                      pkce=PKCE(), extra=[("prompt", "none")])))
    for q in (ok, bad, denied):
        assert q.get("iss") == idp.issuer, q
    assert denied.get("error") == "consent_required", denied


# ---------------------------------------------------------------- rows 10 and 11: error pages

ROW10_VARIANTS = [
    CONF_CB + "/x", CONF_CB + "?a=1", "https://RP.example/cb", "https://rp.example/CB",
    "HTTPS://rp.example/cb", CONF_CB + "/", "https://rp.example:8443/cb", CONF_CB + "#f",
    "http://rp.example/cb", "https://rp.example/cb/../cb", "https://rp.example/c%62",
    "https://rp.example./cb", "https://rp.example/cb ", "https://evil.example/cb",
    "https://rp.example@evil.example/cb", "https://rp.example/cb\x00", "",
]


@pytest.mark.parametrize("uri", ROW10_VARIANTS)
def test_row10_unregistered_redirect_uri_gets_an_error_page(idp, conf_agent, uri):
    a = conf_agent
    r = a.authorize(auth_request("conf", uri, state="s", pkce=PKCE()))
    assert_error_page(r)
    # even a request that is wrong in other ways never redirects there
    r = a.authorize(auth_request("conf", uri, response_type="token", pkce=False))
    assert_error_page(r)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9/cb/x", "http://127.0.0.1:9/cb?a=1",
                                 "http://localhost:9/cb", "https://127.0.0.1:9/cb",
                                 "http://127.0.0.2:9/cb", "http://127.0.0.1:9/CB",
                                 "http://127.0.0.1:9/cb#f", "http://[::1]:9/cb"])
def test_row10_loopback_redirect_uri_only_the_port_may_differ(idp, uri):
    r = fresh(idp).authorize(auth_request("web", uri, pkce=PKCE()))
    assert_error_page(r)


@pytest.mark.parametrize("port", [9, 1, 5555, 65535])
def test_loopback_redirect_uri_matches_any_port(idp, web_agent, port):
    a = web_agent
    cb = "http://127.0.0.1:%d/cb" % port
    r = a.authorize(auth_request("web", cb, state="s", pkce=PKCE()))
    assert redirect_target(r) == cb, location_of(r)
    assert redirect_params(r).get("code")


def test_ipv6_loopback_redirect_uri_matches_any_port(idp):
    u, pw, _ = idp_user(idp)
    cb = "http://[::1]:43123/cb"
    r = fresh(idp).run(auth_request("v6", cb, pkce=PKCE()), username=u, password=pw)
    assert redirect_target(r) == cb, location_of(r)
    assert redirect_params(r).get("code")


def test_non_loopback_redirect_uri_port_must_match(idp):
    r = fresh(idp).authorize(auth_request("conf", "https://rp.example:443/cb", pkce=PKCE()))
    assert_error_page(r)


@pytest.mark.parametrize("params", [
    [("client_id", "nobody")],
    [],
    [("client_id", "")],
    [("client_id", "web' OR 1=1--")],
], ids=["unknown", "missing", "empty", "sql"])
def test_row11_unknown_or_missing_client_gets_an_error_page(idp, params):
    r = fresh(idp).authorize([("response_type", "code"), ("redirect_uri", WEB_CB),
                              ("state", "s")] + PKCE().params() + params)
    assert_error_page(r)


def test_row11_no_redirect_uri_with_two_registered_gets_an_error_page(idp):
    r = fresh(idp).authorize(auth_request("two", None, pkce=PKCE()))
    assert_error_page(r)
    for cb in ("https://two.example/a", "https://two.example/b"):
        r = fresh(idp).authorize(auth_request("two", cb, response_type="token", pkce=PKCE()))
        assert redirect_target(r) == cb and redirect_params(r)["error"] == \
            "unsupported_response_type"


def test_row11_disabled_client_gets_an_error_page(idp):
    idp.add_client("off-web", public=True, grants=["authorization_code"],
                   redirect_uris=[WEB_CB], scope="openid")
    idp.cli(["client", "disable", "off-web"])

    def ask():
        return fresh(idp).authorize(auth_request("off-web", WEB_CB, pkce=PKCE()))
    # the daemon notices a change by another process within 100 ms (it polls data_version)
    assert wait_for(lambda: ask().status_code == 400, within=1.0)
    assert_error_page(ask())


# ---------------------------------------------------------------- redirected errors


@pytest.mark.parametrize("rt", ["token", "id_token", "code id_token", "code token", "CODE",
                                "code ", ""])
def test_response_type_other_than_code_is_unsupported(idp, rt):
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state="s", response_type=rt,
                                          pkce=PKCE()))
    assert_error_redirect(idp, r, "unsupported_response_type", WEB_CB, state="s")


def test_missing_response_type_is_an_error_redirect(idp):
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state="s", response_type=None,
                                          pkce=PKCE()))
    q = redirect_params(r)
    assert q.get("error") in ("invalid_request", "unsupported_response_type"), q
    assert "code" not in q and q["state"] == "s" and q["iss"] == idp.issuer


def test_client_without_authorization_code_grant_is_unauthorized(idp):
    r = fresh(idp).authorize(auth_request("cc-only", "https://cc.example/cb", state="s",
                                          pkce=PKCE()))
    assert_error_redirect(idp, r, "unauthorized_client", "https://cc.example/cb", state="s")


def test_row5_public_client_without_challenge_is_invalid_request(idp):
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state="s", pkce=False))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")
    # also with a session: never a code
    a, _u, _pw, _ = logged_in(idp)
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=False))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")


def test_row1_confidential_client_without_challenge_gets_no_code(idp):
    # PKCE is required of every client, so no code without a challenge exists to downgrade
    a, _u, _pw, _ = logged_in(idp, client="conf", cb=CONF_CB)
    r = a.authorize(auth_request("conf", CONF_CB, state="s", pkce=False))
    assert_error_redirect(idp, r, "invalid_request", CONF_CB, state="s")


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512", ""],
                         ids=["plain", "missing", "lowercase", "S512", "empty"])
def test_row3_challenge_method_other_than_s256_is_invalid_request(idp, web_agent, method):
    p = PKCE()
    extra = [("code_challenge", p.challenge if method != "plain" else p.verifier)]
    if method is not None:
        extra.append(("code_challenge_method", method))
    a = web_agent
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=False, extra=extra))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")


@pytest.mark.parametrize("challenge", [
    None, "", PKCE().challenge[:42], PKCE().challenge + "A", PKCE().challenge[:42] + "=",
    PKCE().challenge[:42] + "+", PKCE().challenge[:42] + "/", "A" * 128,
    PKCE().challenge[:42] + "\u00e9"],
    ids=["missing", "empty", "42", "44", "padding", "plus", "slash", "128", "non-ascii"])
def test_malformed_code_challenge_is_invalid_request(idp, challenge):
    extra = [("code_challenge_method", "S256")]
    if challenge is not None:
        extra.append(("code_challenge", challenge))
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state="s", pkce=False, extra=extra))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")


@pytest.mark.parametrize("name", ["scope", "state", "code_challenge", "code_challenge_method",
                                  "response_type", "nonce", "prompt", "max_age"])
def test_row15_repeated_parameter_is_invalid_request(idp, web_agent, name):
    a = web_agent
    p = PKCE()
    base = {"response_type": "code", "client_id": "web", "redirect_uri": WEB_CB,
            "scope": "openid", "state": "s", "nonce": "n", "prompt": "consent", "max_age": "100",
            **dict(p.params())}
    pairs = list(base.items()) + [(name, base[name])]
    r = a.authorize(pairs)
    q = redirect_params(r)
    assert q.get("error") == "invalid_request" and "code" not in q, q
    assert q.get("iss") == idp.issuer


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_row15_repeated_client_or_redirect_uri_never_gives_a_code(idp, web_agent, name):
    a = web_agent
    base = auth_request("web", WEB_CB, state="s", pkce=PKCE())
    pairs = base + [(name, dict(base)[name])]
    r = a.authorize(pairs)
    if r.status_code == 400:
        assert_error_page(r)
    else:
        assert redirect_params(r).get("error") == "invalid_request"


def test_row15_unknown_parameters_are_ignored(idp, web_agent):
    a = web_agent
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                 extra=[("extra", "foobar"), ("display", "page"),
                                        ("ui_locales", "fr"), ("acr_values", "1 2"),
                                        ("claims_locales", "de"), ("x", "1")]))
    q = redirect_params(r)
    assert q.get("code") and q["state"] == "s", q


@pytest.mark.parametrize("prompt", ["none login", "none consent", "login none"])
def test_prompt_none_with_another_value_is_invalid_request(idp, web_agent, prompt):
    a = web_agent
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                 extra=[("prompt", prompt)]))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")


@pytest.mark.parametrize("max_age", ["-1", "abc", "1.5", "", "99999999999999999999999", " 5", "+5", "5 ", "0x10"])
def test_bad_max_age_is_invalid_request(idp, web_agent, max_age):
    a = web_agent
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                 extra=[("max_age", max_age)]))
    assert_error_redirect(idp, r, "invalid_request", WEB_CB, state="s")


def test_prompt_none_without_session_is_login_required(idp):
    r = fresh(idp).authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                          extra=[("prompt", "none")]))
    assert_error_redirect(idp, r, "login_required", WEB_CB, state="s")


def test_prompt_none_with_session_but_no_consent_is_consent_required(idp):
    a, _u, _pw, _ = logged_in(idp, scope="openid")
    r = a.authorize(auth_request("web", WEB_CB, scope="openid email", state="s", pkce=PKCE(),
                                 extra=[("prompt", "none")]))
    assert_error_redirect(idp, r, "consent_required", WEB_CB, state="s")


def test_prompt_none_with_session_and_consent_gives_the_code_at_once(idp):
    a, _u, _pw, _ = logged_in(idp, scope="openid email")
    r = a.authorize(auth_request("web", WEB_CB, scope="openid email", state="s", pkce=PKCE(),
                                 extra=[("prompt", "none")]))
    q = redirect_params(r)
    assert q.get("code") and q["state"] == "s", q


def test_prompt_none_never_shows_a_page_to_a_user_who_must_log_in_again(idp):
    a, _u, _pw, _ = logged_in(idp)
    time.sleep(2.1)
    r = a.authorize(auth_request("web", WEB_CB, state="s", pkce=PKCE(),
                                 extra=[("prompt", "none"), ("max_age", "1")]))
    assert_error_redirect(idp, r, "login_required", WEB_CB, state="s")


# ---------------------------------------------------------------- consent


def test_consent_deny_is_access_denied(idp):
    u, pw, _ = idp_user(idp)
    a = fresh(idp)
    r = a.run(auth_request("web", WEB_CB, state="s", pkce=PKCE()), username=u, password=pw,
              decision="deny")
    assert_error_redirect(idp, r, "access_denied", WEB_CB, state="s")
    # a denial is not remembered as an approval
    r = a.authorize(auth_request("web", WEB_CB, pkce=PKCE()))
    assert is_consent_page(r), (r.status_code, r.headers.get("Location"))


def test_consent_remembered_then_asked_again_for_a_new_scope(idp):
    u, pw, _ = idp_user(idp)
    a = fresh(idp)
    first = a.authorize(auth_request("web", WEB_CB, scope="openid profile", pkce=PKCE()))
    assert is_login_page(first)
    r = a.run(auth_request("web", WEB_CB, scope="openid profile", pkce=PKCE()), username=u,
              password=pw)
    assert redirect_params(r).get("code")
    assert any(is_consent_page(x) for x in a.history), "no consent page was shown"
    # the same request again: the code at once, no page
    r = a.authorize(auth_request("web", WEB_CB, scope="openid profile", state="2", pkce=PKCE()))
    q = redirect_params(r)
    assert q.get("code") and q["state"] == "2", q
    # a subset too
    assert redirect_params(a.authorize(auth_request("web", WEB_CB, scope="profile openid",
                                                    pkce=PKCE()))).get("code")
    # a new scope: asked again
    r = a.authorize(auth_request("web", WEB_CB, scope="openid profile email", pkce=PKCE()))
    assert is_consent_page(r), (r.status_code, r.headers.get("Location"))
    assert "email" in Page(r).text.lower()


def test_consent_is_per_client(idp):
    a, _u, _pw, _ = logged_in(idp, scope="openid")
    r = a.authorize(auth_request("other", "https://other.example/cb", scope="openid",
                                 pkce=PKCE()))
    assert is_consent_page(r), (r.status_code, r.headers.get("Location"))


def test_prompt_consent_asks_again(idp):
    a, _u, _pw, _ = logged_in(idp, scope="openid")
    r = a.authorize(auth_request("web", WEB_CB, scope="openid", pkce=PKCE(),
                                 extra=[("prompt", "consent")]))
    assert is_consent_page(r), (r.status_code, r.headers.get("Location"))
    r = a.consent(r, "allow")
    assert redirect_params(r).get("code")


def test_consent_allow_redirect_is_303(idp):
    u, pw, _ = idp_user(idp)
    a = fresh(idp)
    r = a.run(auth_request("web", WEB_CB, pkce=PKCE()), username=u, password=pw, decision=None)
    assert is_consent_page(r)
    r = a.consent(r, "allow")
    assert r.status_code == 303, r.status_code


# ---------------------------------------------------------------- scope of user flows


def granted(idp, client, cb, scope, user_scope, username=None):
    """Runs the flow for a new user and returns the error or the granted scope (token and claim
    checked equal)."""
    if username is None:
        u, pw, _ = idp_user(idp, scope=user_scope)
    else:
        u, pw = username, "pw for " + username
        idp.add_user(u, pw, scope=user_scope, email="x@example.com", name="X")
    p = PKCE()
    r = fresh(idp).run(auth_request(client, cb, scope=scope, pkce=p), username=u, password=pw)
    q = redirect_params(r)
    if "error" in q:
        return ("error", q["error"])
    c = idp.clients[client]
    tr = idp.redeem(c, q["code"], p.verifier, cb)
    assert tr.status_code == 200, tr.text
    body = tr.json()
    claims = jwt_parts(body["access_token"])[1]
    assert set(claims["scope"].split()) == set(body["scope"].split()), (claims, body)
    assert claims["username"] == u
    return set(body["scope"].split())


def test_mqtt_scope_is_intersected_with_client_and_user_and_username_filled(idp):
    got = granted(idp, "web", WEB_CB, "openid mqtt:sub:home/#", IDP_USER_SCOPE_ALL)
    assert isinstance(got, set), got
    u = [x for x in got if x.startswith("mqtt:")]
    assert len(u) == 1 and u[0].startswith("mqtt:sub:home/") and u[0].endswith("/#"), got
    assert "${" not in u[0]


def test_mqtt_scope_limited_by_what_the_user_is_allowed(idp):
    # client allows home/${username}/#, the user only home/${username}/status
    u, pw, _ = idp_user(idp, scope="mqtt:sub:home/${username}/status")
    p = PKCE()
    r = fresh(idp).run(auth_request("web", WEB_CB, scope="openid mqtt:sub:home/# "
                                    "mqtt:pub:home/%s/cmd" % u, pkce=p), username=u, password=pw)
    q = redirect_params(r)
    tr = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB)
    assert tr.status_code == 200, tr.text
    assert set(tr.json()["scope"].split()) == {"openid", "mqtt:sub:home/%s/status" % u}


def test_mqtt_scope_limited_by_what_the_client_is_allowed(idp):
    # the user may publish anywhere under dev/, the client only dev/${clientid}/#
    u, pw, _ = idp_user(idp, scope="mqtt:pub:dev/# mqtt:sub:#")
    p = PKCE()
    r = fresh(idp).run(auth_request("conf", CONF_CB, scope="mqtt:pub:dev/# mqtt:sub:cmd/#",
                                    pkce=p), username=u, password=pw)
    q = redirect_params(r)
    tr = idp.redeem(idp.clients["conf"], q["code"], p.verifier, CONF_CB)
    assert tr.status_code == 200, tr.text
    assert set(tr.json()["scope"].split()) == {"mqtt:pub:dev/conf/#", "mqtt:sub:cmd/dev42"}


def test_user_flow_mqtt_exact_scope_granted_as_asked(idp):
    u, pw, _ = idp_user(idp)
    p = PKCE()
    want = "openid mqtt:sub:home/%s/temp mqtt:pub:home/%s/cmd" % (u, u)
    r = fresh(idp).run(auth_request("web", WEB_CB, scope=want, pkce=p), username=u, password=pw)
    tr = idp.redeem(idp.clients["web"], redirect_params(r)["code"], p.verifier, WEB_CB)
    assert set(tr.json()["scope"].split()) == set(want.split()), tr.text


def test_mqtt_scope_of_another_user_is_invalid_scope(idp):
    a, u, _pw, _ = logged_in(idp)
    r = a.authorize(auth_request("web", WEB_CB, scope="mqtt:pub:home/bob/cmd", state="s",
                                 pkce=PKCE()))
    assert_error_redirect(idp, r, "invalid_scope", WEB_CB, state="s")


def test_user_without_mqtt_rights_gets_only_oidc_scopes(idp):
    u, pw, _ = idp_user(idp, scope="")
    p = PKCE()
    r = fresh(idp).run(auth_request("web", WEB_CB, scope="openid mqtt:sub:home/#", pkce=p),
                       username=u, password=pw)
    q = redirect_params(r)
    assert "code" in q, q
    tr = idp.redeem(idp.clients["web"], q["code"], p.verifier, WEB_CB)
    assert tr.json()["scope"] == "openid", tr.text
    a = fresh(idp)
    r = a.run(auth_request("web", WEB_CB, scope="mqtt:sub:home/#", state="s", pkce=PKCE()),
              username=u, password=pw)
    assert_error_redirect(idp, r, "invalid_scope", WEB_CB, state="s")


@pytest.mark.parametrize("scope", ["mqtt:pub:elsewhere/#", "mqtt:pub:a/#/b", "introspect",
                                   "scim", "nonsense"])
def test_scope_the_client_may_not_have_is_invalid_scope(idp, scope):
    a, _u, _pw, _ = logged_in(idp)
    r = a.authorize(auth_request("web", WEB_CB, scope=scope, state="s", pkce=PKCE()))
    if r.status_code == 200:        # a server may only decide after consent
        r = a.consent(r, "allow")
    assert_error_redirect(idp, r, "invalid_scope", WEB_CB, state="s")


@pytest.mark.parametrize("name", ["a/b", "+", "#", "x+y", "$SYS", "c/#"])
def test_row38_username_with_topic_characters_never_widens(idp, name):
    got = granted(idp, "web", WEB_CB, "openid mqtt:sub:home/# mqtt:pub:home/#",
                  "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd", username=name)
    if isinstance(got, set):
        assert got == {"openid"}, got
    else:
        assert got == ("error", "invalid_scope"), got
