"""The largest access token Tessera issues is one the broker plugin accepts (issue 19 item 12):
Tessera refuses to make a token over 4096 bytes, and the plugin takes it both ways, checked
locally against the JWKS and through /introspect. The tokens are made large with
mqtt_claim = emqx, whose acl claim repeats every filter."""
from mosquitto_harness import broker_opts, roundtrip_ok

TOKEN_ACCESS_MAX = 4096
FILTERS = ["mqtt:pubsub:" + ("big/%03d/" % i).ljust(19, "y") for i in range(32)]


def largest_token(srv, client):
    """The longest token client gets by asking for more and more of its filters."""
    best = None
    for n in range(1, len(FILTERS) + 1):
        r = srv.token(client, scope=" ".join(FILTERS[:n]))
        if r.status_code != 200:
            assert r.json()["error"] == "invalid_scope", r.text
            break
        best = r.json()["access_token"]
    return best


def test_the_largest_token_tessera_issues_is_accepted_by_the_plugin(fresh_factory,
                                                                    broker_factory):
    s = fresh_factory.start(config={"tokens": {"mqtt_claim": "emqx"}}, clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "big", "scope": " ".join(FILTERS)},
    ], name="tessera-size")
    tok = largest_token(s, s.clients["big"])
    assert tok and TOKEN_ACCESS_MAX - 200 < len(tok) <= TOKEN_ACCESS_MAX, len(tok or "")
    topic = FILTERS[0].split(":", 2)[2]
    local = broker_factory.start(broker_opts(s, mode="url"), name="mosq-size-jwks")
    assert roundtrip_ok(local, tok, topic)
    intro = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"]),
                                 name="mosq-size-intro")
    assert roundtrip_ok(intro, tok, topic)
