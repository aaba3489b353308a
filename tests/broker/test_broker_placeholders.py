"""Placeholders a broker fills in from the CONNECT packet never reach a token (docs/security.md
row 8): EMQX 4 expands %u and %c in the acl claim's topics (EMQX 5 ${username}, ${clientid}),
and the client chooses its username and client id, so a filter holding one would be a topic of
the client's choosing. Neither a granted filter nor a value filled into one may hold '%' (or
"${"), and the plugin grants nothing on such a filter."""
import json
import time
import uuid

import pytest

from mosquitto_harness import CB, SUBACK_FAILURE_V311, broker_opts
from tessera_harness import (PKCE, UserAgent, auth_request, code_flow, jwt_parts,
                             redirect_params, sign_jwt, signing_key_from_db)

ALLOWED = "openid mqtt:sub:home/${username}/#"


@pytest.mark.parametrize("claim", ["emqx-legacy", "emqx"])
def test_a_user_named_like_a_placeholder_gets_no_filter_with_it(fresh_factory, claim):
    s = fresh_factory.start(config={"tokens": {"mqtt_claim": claim}}, clients=[
        {"client_id": "app", "grants": ["authorization_code"], "redirect_uris": [CB],
         "scope": ALLOWED},
    ], name="tessera-ph")
    for name in ("%u", "%c", "50%"):
        s.add_user(name, "correct horse battery", scope="mqtt:sub:home/${username}/#")
        # asks for all of home/: the user's own level would be filled in, but it is no level
        login = code_flow(s, s.clients["app"], name, "correct horse battery", redirect_uri=CB,
                          scope="openid mqtt:sub:home/#")
        claims = jwt_parts(login.access_token)[1]
        assert claims["scope"] == "openid", claims
        assert "%" not in json.dumps(claims["acl"]), claims["acl"]
    # a user with a plain name keeps the filter, in the scope and in the acl claim
    s.add_user("alice", "correct horse battery", scope="mqtt:sub:home/${username}/#")
    login = code_flow(s, s.clients["app"], "alice", "correct horse battery", redirect_uri=CB,
                      scope="openid mqtt:sub:home/#")
    claims = jwt_parts(login.access_token)[1]
    assert claims["scope"] == "openid mqtt:sub:home/alice/#", claims
    assert "home/alice/#" in json.dumps(claims["acl"]), claims["acl"]
    # nor can a client ask for one outright
    r = UserAgent(s).run(auth_request(s.clients["app"].id, CB, scope="openid mqtt:sub:home/%u/#",
                                      state="s", pkce=PKCE()),
                         username="alice", password="correct horse battery")
    assert redirect_params(r).get("error") == "invalid_scope", (r.status_code, r.headers)


def test_plugin_grants_nothing_on_a_filter_with_a_placeholder(srv, url_broker, clients):
    alg, pem = signing_key_from_db(srv.db, srv.kid)
    now = int(time.time())
    tok = sign_jwt(pem, srv.kid, {"iss": srv.issuer, "sub": "ph", "aud": "mqtt",
                                  "client_id": "ph",
                                  "scope": "mqtt:sub:home/%u/# mqtt:sub:dev/%c mqtt:sub:ok/#",
                                  "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex},
                   alg=alg)
    c = url_broker.connect(tok)
    clients.append(c)
    assert c.subscribe("home/%u/#") == [SUBACK_FAILURE_V311]
    assert c.subscribe("dev/%c") == [SUBACK_FAILURE_V311]
    assert c.subscribe("ok/x") == [1]
