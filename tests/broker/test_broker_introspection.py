"""Introspection mode (plugin_opt_introspect_url): revocation at Tessera reaches live sessions and
new CONNECTs within the cache time, and the broker fails closed when Tessera is down
(docs/broker.md, "Introspection")."""
import time

from mosquitto_harness import CB, NOT_AUTHORIZED_V311, broker_opts
from tessera_harness import cli_ok, code_flow, jwt_parts, t

CACHE = 2


def test_revoked_tokens_lose_their_sessions_and_tessera_down_fails_closed(
        fresh_factory, broker_factory, clients):
    s = fresh_factory.start(clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "dev-a", "scope": "mqtt:pubsub:intro/a"},
        {"client_id": "dev-b", "scope": "mqtt:pubsub:intro/b"},
        {"client_id": "dev-c", "scope": "mqtt:pubsub:intro/c"},
        {"client_id": "app", "grants": ["authorization_code"], "redirect_uris": [CB],
         "scope": "openid mqtt:sub:home/${username}/#"},
    ], name="tessera-intro")
    b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                         cache_seconds=CACHE), name="mosq-intro")

    tok_a = s.access_token(s.clients["dev-a"])
    tok_b = s.access_token(s.clients["dev-b"])
    tok_c = s.access_token(s.clients["dev-c"])          # never shown to the broker before the end
    s.add_user("alice", "correct horse battery", scope="mqtt:sub:home/${username}/#")
    login = code_flow(s, s.clients["app"], "alice", "correct horse battery", redirect_uri=CB,
                      scope="openid mqtt:sub:home/alice/#")
    tok_u = login.access_token
    gid = jwt_parts(tok_u)[1]["gid"]

    sess_a = b.connect(tok_a, username="dev-a")
    sess_b = b.connect(tok_b, username="dev-b")
    sess_u = b.connect(tok_u, username="alice")
    clients.extend([sess_a, sess_b, sess_u])
    assert sess_b.subscribe("intro/b") == [1]
    assert sess_u.subscribe("home/alice/#") == [1]

    # revoke a's token at /revoke (by its own client) and alice's grant with the CLI
    r = s.revoke(s.clients["dev-a"], tok_a)
    assert r.status_code == 200, (r.status_code, r.text)
    cli_ok(["grant", "revoke", str(gid)], db=s.db)
    revoked_at = time.time()

    for name, sess in (("revoked by /revoke", sess_a), ("grant revoked", sess_u)):
        got = sess.wait_disconnect(until=revoked_at + t(CACHE + 3))
        assert got is not None, "%s: session still connected %.1f s after revocation" % (
            name, time.time() - revoked_at)
        assert got[1] != 0, (name, got)
        assert got[0] - revoked_at <= t(CACHE + 3), (name, got[0] - revoked_at)

    # any answer cached before the revocation has expired by now: CONNECT is refused
    wait = revoked_at + CACHE + 0.3 - time.time()
    if wait > 0:
        time.sleep(wait)
    assert b.connect_rc(tok_a, username="dev-a") == NOT_AUTHORIZED_V311
    assert b.connect_rc(tok_u, username="alice") == NOT_AUTHORIZED_V311

    # the token nobody revoked keeps its session and still connects
    assert sess_b.connected
    b2 = b.connect(tok_b, username="dev-b2")
    clients.append(b2)
    b2.publish("intro/b", b"still good", qos=1)
    assert sess_b.wait_messages(1)[0][:2] == ("intro/b", b"still good")

    # Tessera down: a token the broker never saw cannot be checked -> refused (fail closed)
    assert s.stop() == 0
    started = time.monotonic()
    assert b.connect_rc(tok_c, username="dev-c", within=15) == NOT_AUTHORIZED_V311
    assert time.monotonic() - started < t(8), "CONNECT took %.1f s" % (time.monotonic() - started)
    assert b.running()
