"""Several authorization servers behind one broker (issue 21 §3): plugin_opt_issuer with its
options, and plugin_opt_issuer_N with the same options ending in _N, each an issuer with its own
keys, audience and introspection; a token's iss chooses the issuer whose keys verify it
(docs/broker.md, "Several issuers").

Black box: two Tessera daemons (and a third the broker does not trust), one mosquitto, paho
clients; forged tokens are signed with the daemons' own keys read from their databases."""
import re
import time

from mosquitto_harness import NOT_AUTHORIZED_V311, broker_opts, roundtrip_ok
from tessera_harness import jwt_parts, sign_jwt, signing_key_from_db


def two_issuers(fresh_factory, broker_factory):
    """Tessera A (introspected) and B (JWT only, its own audience) behind one broker."""
    a = fresh_factory.start(clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "dev-a", "scope": "mqtt:pubsub:site-a/#"},
    ], name="tessera-a")
    b = fresh_factory.start(config="[tokens]\naudience = mqtt-b\n", clients=[
        {"client_id": "dev-b", "scope": "mqtt:pubsub:site-b/#"},
        {"client_id": "dev-a", "scope": "mqtt:pubsub:site-b/shared"},
    ], name="tessera-b")
    opts = broker_opts(a, mode="url", introspect=a.clients["broker"], cache_seconds=2)
    opts += [("issuer_2", b.issuer), ("jwks_url_2", b.url("/jwks")), ("audience_2", "mqtt-b")]
    broker = broker_factory.start(opts, name="mosq-two")
    return a, b, broker


def test_each_issuers_tokens_work_with_their_own_rights(fresh_factory, broker_factory,
                                                        clients):
    # docs/security.md row (issue 21 §3)
    a, b, broker = two_issuers(fresh_factory, broker_factory)
    log = broker.log()
    assert "tessera: tokens of %s, keys from %s, introspection at" % (a.issuer, a.url("/jwks")) \
        in log, log
    assert "tessera: tokens of %s, keys from %s (issuer 2: plugin_opt_*_2)" % (
        b.issuer, b.url("/jwks")) in log, log
    tok_a = a.access_token(a.clients["dev-a"])
    tok_b = b.access_token(b.clients["dev-b"])
    assert jwt_parts(tok_b)[1]["aud"] == "mqtt-b"
    assert roundtrip_ok(broker, tok_a, "site-a/x")
    assert roundtrip_ok(broker, tok_b, "site-b/x")
    # each its own rights: neither reaches the other's site
    ca = broker.connect(tok_a)
    cb = broker.connect(tok_b)
    clients.extend([ca, cb])
    assert ca.subscribe("site-b/#") == [0x80]
    assert cb.subscribe("site-a/#") == [0x80]
    # a client id that exists at both: each token carries its own issuer's rights
    tok_a2 = b.access_token(b.clients["dev-a"])
    assert not roundtrip_ok(broker, tok_a2, "site-a/x")
    assert roundtrip_ok(broker, tok_a2, "site-b/shared")
    # issuer A introspects, B does not: only A's tokens were asked about
    assert "POST /introspect" not in open(b.stderr_path).read()


def test_a_token_of_an_unknown_issuer_is_refused_and_logged(fresh_factory, broker_factory):
    # docs/security.md row (issue 21 §3)
    a, b, broker = two_issuers(fresh_factory, broker_factory)
    c = fresh_factory.start(clients=[{"client_id": "dev-c", "scope": "mqtt:pubsub:site-a/#"}],
                            name="tessera-c")
    tok_c = c.access_token(c.clients["dev-c"])
    assert broker.connect_rc(tok_c) == NOT_AUTHORIZED_V311
    assert re.search(r"tessera: refused dev-c: the token's issuer \"%s\" is not trusted"
                     % re.escape(c.issuer), broker.log()), broker.log()[-3000:]

    # an issuer that would break the log is named cleaned and cut short (it is never verified:
    # no key is tried for an issuer nobody configured)
    alg, pem = signing_key_from_db(a.db, a.kid)
    claims = dict(jwt_parts(a.access_token(a.clients["dev-a"]))[1])
    claims["iss"] = "https://evil.example/\n12:00:00: tessera: forged line" + "x" * 400
    forged = sign_jwt(pem, a.kid, claims, alg=alg)
    assert broker.connect_rc(forged, client_id="dev-a") == NOT_AUTHORIZED_V311
    log = broker.log()
    m = re.search(r"tessera: refused dev-a: the token's issuer \"(https://evil\.example/\?12:00:"
                  r"00: tessera: forged linex+\.\.\.)\" is not trusted", log)
    assert m, log[-3000:]
    assert len(m.group(1)) == 128, len(m.group(1))
    assert not re.search(r"^12:00:00: tessera: forged", log, re.M)
    assert broker.running()


def test_a_token_of_one_issuer_signed_with_anothers_key_is_refused(fresh_factory,
                                                                   broker_factory):
    # docs/security.md row (issue 21 §3): B's key never vouches for a token that says it is A's
    a, b, broker = two_issuers(fresh_factory, broker_factory)
    claims = dict(jwt_parts(a.access_token(a.clients["dev-a"]))[1])
    # (the client record after the jti's "." is kept: without it the token is not the client's)
    record = claims["jti"][claims["jti"].index("."):] if "." in claims["jti"] else ""
    claims["jti"] = "forged-%d%s" % (time.time_ns(), record)
    alg_a, pem_a = signing_key_from_db(a.db, a.kid)
    alg_b, pem_b = signing_key_from_db(b.db, b.kid)
    # the way of forging works: signed with A's own key the same claims pass
    assert roundtrip_ok(broker, sign_jwt(pem_a, a.kid, claims, alg=alg_a), "site-a/ok")
    before = broker.log().count("invalid or expired token")
    # A's claims signed with B's key, named by B's kid, or by A's
    claims["jti"] = "forged-b-%d%s" % (time.time_ns(), record)
    assert broker.connect_rc(sign_jwt(pem_b, b.kid, claims, alg=alg_b)) == NOT_AUTHORIZED_V311
    assert broker.connect_rc(sign_jwt(pem_b, a.kid, claims, alg=alg_b)) == NOT_AUTHORIZED_V311
    # and the other way round: B's audience, claims of B signed with A's key
    claims_b = dict(jwt_parts(b.access_token(b.clients["dev-b"]))[1])
    assert broker.connect_rc(sign_jwt(pem_a, a.kid, claims_b, alg=alg_a)) == \
        NOT_AUTHORIZED_V311
    assert broker.log().count("invalid or expired token") == before + 3, broker.log()[-3000:]
