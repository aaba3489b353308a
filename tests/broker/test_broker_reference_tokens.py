"""Reference access tokens at the broker (issue 21 §4): a password that is no JWT is judged by
introspection; with no introspection configured it is refused with a log line. A modem whose
MQTT password field holds 64 characters connects. docs/security.md row 85."""
import time

from mosquitto_harness import NOT_AUTHORIZED_V311, SUBACK_FAILURE_V311, broker_opts
from tessera_harness import t

CACHE = 2


def start(fresh_factory):
    return fresh_factory.start(clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "modem", "scope": "mqtt:pubsub:ref/modem",
         "extra": ["--token-format", "reference"]},
    ], name="tessera-ref")


def test_a_reference_token_connects_with_introspection_and_is_revoked_live(
        fresh_factory, broker_factory, clients):
    s = start(fresh_factory)
    b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                         cache_seconds=CACHE), name="mosq-ref")
    tok = s.access_token(s.clients["modem"])
    assert len(tok) <= 64 and "." not in tok, tok
    c = b.connect(tok, username="modem", client_id="modem")
    clients.append(c)
    assert c.subscribe("ref/modem") == [1]
    assert c.subscribe("ref/other") == [SUBACK_FAILURE_V311]
    c.publish("ref/modem", b"hi", qos=1)
    assert c.wait_messages(1, within=3)
    # the client id must be the token's client's
    assert b.connect_rc(tok, username="modem", client_id="someone-else") == NOT_AUTHORIZED_V311
    # a token that was never issued is refused
    assert b.connect_rc("at_" + "A" * 43, username="modem",
                        client_id="modem") == NOT_AUTHORIZED_V311
    # revoked at Tessera: the live session ends within the cache time
    assert s.revoke(s.clients["modem"], tok).status_code == 200
    revoked_at = time.time()
    got = c.wait_disconnect(until=revoked_at + t(CACHE + 3))
    assert got is not None, "session still connected %.1f s after revocation" % (
        time.time() - revoked_at)
    assert b.connect_rc(tok, username="modem", client_id="modem") == NOT_AUTHORIZED_V311


def test_a_reference_token_is_refused_without_introspection(fresh_factory, broker_factory):
    s = start(fresh_factory)
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-ref-nointro")
    tok = s.access_token(s.clients["modem"])
    assert b.connect_rc(tok, username="modem", client_id="modem") == NOT_AUTHORIZED_V311
    assert "no issuer has introspection" in b.log(), b.log()[-2000:]
