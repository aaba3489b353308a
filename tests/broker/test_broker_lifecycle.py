"""What changes while the broker runs: a key rotation at Tessera (JWKS-URL mode picks the new kid
up without a restart) and tokens expiring under live sessions (docs/broker.md, "Where the keys
come from" and "Clients")."""
import time
import uuid

from mosquitto_harness import NOT_AUTHORIZED_V311, broker_opts, roundtrip_ok
from tessera_harness import cli_ok, jwt_parts, sign_jwt, signing_key_from_db, t, wait_for


def test_key_rotation_is_picked_up_in_url_mode_without_restart(fresh_factory, broker_factory,
                                                               clients):
    s = fresh_factory.start(clients=[{"client_id": "dev", "scope": "mqtt:pubsub:rot/#"},
                                     {"client_id": "dev-live", "scope": "mqtt:pubsub:rot/#"}],
                            name="tessera-rot")
    dev = s.clients["dev"]
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-rot")
    old_tok = s.access_token(dev)
    assert jwt_parts(old_tok)[0]["kid"] == s.kid
    live = b.connect(s.access_token(s.clients["dev-live"]))    # its own client id: dev-live
    clients.append(live)

    new_kid = cli_ok(["key", "rotate"], db=s.db)["kid"]
    assert new_kid != s.kid
    assert wait_for(lambda: new_kid in [k["kid"] for k in s.jwks()["keys"]], within=5), \
        "/jwks does not list %s" % new_kid
    new_tok = wait_for(lambda: next((x for x in [s.access_token(dev)]
                                     if jwt_parts(x)[0]["kid"] == new_kid), None),
                       within=5, step=0.1)
    assert new_tok, "Tessera does not sign with the rotated key %s" % new_kid

    # the broker started with only the old key: the unknown kid makes it fetch /jwks again
    assert roundtrip_ok(b, new_tok, "rot/a"), "token with the new kid refused after rotation"
    assert b.proc.pid and b.running() and b.starts == 1
    # the old key is still published: its tokens still work, the live session too
    assert roundtrip_ok(b, old_tok, "rot/b")
    assert live.connected


def test_session_is_disconnected_when_its_token_expires(fresh_factory, broker_factory,
                                                        clients):
    # Tessera issuing 3-second tokens, and a hand-signed token that expires in 4 s
    s = fresh_factory.start(config={"tokens": {"access_token_ttl": 3}},
                            clients=[{"client_id": "dev", "scope": "mqtt:pubsub:exp/#"}],
                            name="tessera-ttl3")
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-exp")
    alg, pem = signing_key_from_db(s.db, s.kid)
    short = s.access_token(s.clients["dev"])
    short_exp = jwt_parts(short)[1]["exp"]
    assert short_exp - time.time() <= 4, jwt_parts(short)
    now = int(time.time())

    def hand_signed(client_id, exp):
        # each its own client: its own client id at the broker (plugin_opt_client_id_rule)
        return sign_jwt(pem, s.kid, {"iss": s.issuer, "sub": client_id, "aud": "mqtt",
                                     "client_id": client_id, "scope": "mqtt:pubsub:exp/#",
                                     "iat": now, "exp": exp, "jti": uuid.uuid4().hex}, alg=alg)
    signed = hand_signed("dev-4s", now + 4)
    long_lived = hand_signed("dev-long", now + 600)
    another = hand_signed("dev-other", now + 600)
    a = b.connect(short)
    c = b.connect(signed)
    keep = b.connect(long_lived)
    clients.extend([a, c, keep])
    assert keep.subscribe("exp/#") == [1]

    for cl, exp in ((a, short_exp), (c, now + 4)):
        got = cl.wait_disconnect(until=exp + t(3))
        assert got is not None, "session still connected %.1f s after its token's exp" % (
            time.time() - exp)
        when, rc = got
        assert rc != 0, "disconnect rc %r: the client did not ask to leave" % rc
        assert when >= exp - 1, "disconnected %.1f s before exp" % (exp - when)
        assert when <= exp + t(3), "disconnected %.1f s after exp" % (when - exp)

    # the expired token is refused at CONNECT; the long-lived session is untouched
    assert b.connect_rc(short) == NOT_AUTHORIZED_V311
    assert b.connect_rc(signed) == NOT_AUTHORIZED_V311
    assert keep.connected
    w = b.connect(another)
    clients.append(w)
    w.publish("exp/x", b"still here", qos=1)
    assert keep.wait_messages(1)[0][:2] == ("exp/x", b"still here")


def jwks_fetches(srv):
    return sum(v for (name, labels), v in srv.metrics().items()
               if name == "tessera_http_requests_total" and ("endpoint", "/jwks") in labels)


def test_unknown_kids_refetch_the_jwks_at_most_once_a_minute(srv, broker_factory):
    # a flood of tokens naming kids nobody has must not turn into a flood of /jwks requests
    before = jwks_fetches(srv)
    b = broker_factory.start(broker_opts(srv, mode="url"), name="mosq-kids")
    assert wait_for(lambda: jwks_fetches(srv) == before + 1, within=2), \
        "broker start: %d /jwks requests (want 1)" % (jwks_fetches(srv) - before)
    after_start = before + 1
    _alg, pem = signing_key_from_db(srv.db, srv.kid)
    now = int(time.time())
    for i in range(5):
        forged = sign_jwt(pem, "unknown-%d-%s" % (i, uuid.uuid4().hex[:6]),
                          {"iss": srv.issuer, "sub": "x", "aud": "mqtt", "client_id": "x",
                           "scope": "mqtt:pub:#", "iat": now, "exp": now + 60,
                           "jti": uuid.uuid4().hex})
        assert b.connect_rc(forged) == NOT_AUTHORIZED_V311
    time.sleep(0.2)      # let a (wrong) late fetch reach the metrics
    assert jwks_fetches(srv) - after_start <= 1, \
        "%d /jwks requests for 5 unknown kids" % (jwks_fetches(srv) - after_start)
    # the known key still works
    assert b.connect_rc(srv.access_token(srv.clients["dev1"])) == 0
