"""Introspection mode (plugin_opt_introspect_url): revocation at Tessera reaches live sessions and
new CONNECTs within the cache time, the broker fails closed when Tessera is down or cannot answer,
and never takes "could not answer" for "inactive" (docs/broker.md, "Introspection")."""
import re
import time

from mosquitto_harness import CB, NOT_AUTHORIZED_V311, FakeIntrospection, broker_opts
from tessera_harness import cli_ok, code_flow, jwt_parts, t, wait_for

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
    # prefix: dev-b's token may also connect as dev-b:<suffix>, a second connection of its own
    b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                         cache_seconds=CACHE, client_id_rule="prefix"),
                             name="mosq-intro")

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
    assert b.connect_rc(tok_a, username="dev-a", client_id="dev-a") == NOT_AUTHORIZED_V311
    assert b.connect_rc(tok_u, username="alice") == NOT_AUTHORIZED_V311
    # and the log says Tessera answered "inactive" (not that it could not answer)
    log = b.log()
    assert re.search(r"tessera: refused dev-a: Tessera says the token is not active", log), log
    assert "could not answer" not in log, log

    # the token nobody revoked keeps its session and still connects
    assert sess_b.connected
    b2 = b.connect(tok_b, username="dev-b2", client_id="dev-b:second")
    clients.append(b2)
    b2.publish("intro/b", b"still good", qos=1)
    assert sess_b.wait_messages(1)[0][:2] == ("intro/b", b"still good")

    # Tessera down: a token the broker never saw cannot be checked -> refused (fail closed), as
    # "could not answer": closed without a CONNACK, which a client retries like a network error,
    # not "not authorized", which says its token is bad
    assert s.stop() == 0
    started = time.monotonic()
    assert b.connect_rc(tok_c, username="dev-c", client_id="dev-c", within=15) == \
        "closed without CONNACK"
    assert time.monotonic() - started < t(8), "CONNECT took %.1f s" % (time.monotonic() - started)
    # (the watcher may have found Tessera gone first: then the CONNECT is refused without
    # trying, naming the same failure)
    assert re.search(r"tessera: refused dev-c: Tessera could not answer whether the token is "
                     r"active: (holding off after the last failure: )?cannot connect", b.log()), \
        b.log()[-2000:]
    assert b.running()


def test_tessera_not_answering_is_not_taken_for_inactive(fresh_factory, broker_factory,
                                                         clients):
    # docs/security.md row 68 (the plugin's half). A 429 from /introspect (the broker's client
    # being limited: by Tessera, or a proxy in front of it) says nothing about the token: the
    # CONNECT is refused as "Tessera could not answer" (closed without a CONNACK, logged so),
    # never as an inactive token; Retry-After is honoured; connected clients stay connected on
    # their last answer; and once Tessera answers again, so does the broker.
    s = fresh_factory.start(clients=[
        {"client_id": "broker", "scope": "introspect"},
        {"client_id": "dev-a", "scope": "mqtt:pubsub:lim/a"},
        {"client_id": "dev-b", "scope": "mqtt:pubsub:lim/b"},
        {"client_id": "dev-c", "scope": "mqtt:pubsub:lim/c"},
    ], name="tessera-limited")
    fake = FakeIntrospection(s.url("/introspect"))
    try:
        b = broker_factory.start(broker_opts(s, mode="url", introspect=s.clients["broker"],
                                             introspect_url=fake.url, cache_seconds=3),
                                 name="mosq-limited")
        tok_a, tok_b, tok_c = (s.access_token(s.clients[c]) for c in ("dev-a", "dev-b", "dev-c"))
        live = b.connect(tok_a, client_id="dev-a")
        clients.append(live)
        assert live.subscribe("lim/a") == [1]
        assert fake.count(tok_a, 200) == 1

        # (tok_a's cached answer is good for 3 s: the watcher asks next after this CONNECT)
        fake.fail(429, {"Retry-After": "3"})
        assert b.connect_rc(tok_b, client_id="dev-b") == "closed without CONNACK"
        assert fake.count(tok_b, 429) == 1
        log = b.log()
        assert re.search(r"tessera: refused dev-b: Tessera could not answer whether the token is "
                         r"active: too many requests.*\(HTTP 429\); not asking again for 3 s",
                         log), log[-3000:]
        assert "refused dev-b: Tessera says the token is not active" not in log, log[-3000:]
        assert "invalid, expired or revoked" not in log, log[-3000:]

        # Retry-After: within it, a CONNECT is refused at once without asking
        asked = fake.count()
        assert b.connect_rc(tok_c, client_id="dev-c") == "closed without CONNACK"
        assert fake.count() == asked
        assert re.search(r"tessera: refused dev-c: .*holding off after the last failure: too "
                         r"many requests.*\(HTTP 429\)", b.log()), b.log()[-3000:]

        # the live session is asked about again once the wait is over, gets a 429, and stays
        # (its last answer stands), with a log line saying so
        assert fake.wait_count(1, tok_a, 429, within=3 + 3 + 2) >= 1, fake.requests
        assert wait_for(lambda: re.search(r"tessera: Tessera could not answer \d+ introspection "
                                          r"request\(s\) about connected clients \(last: too "
                                          r"many requests", b.log()), within=3), b.log()[-3000:]
        assert live.connected
        live.publish("lim/a", b"still here", qos=1)
        assert live.wait_messages(1)[0][:2] == ("lim/a", b"still here")

        # Tessera answers again: so does the broker (after the wait it was asked for)
        fake.forward()
        assert wait_for(lambda: b.connect_rc(tok_b, client_id="dev-b") == 0, within=3 + 2,
                        step=0.3), \
            b.log()[-3000:]
        assert live.connected
    finally:
        fake.close()
