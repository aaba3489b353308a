"""Tokens refreshed over MQTT (docs/broker.md, "Tokens over MQTT"; issue 21 §2): a POST /token
body published to $CONTROL/tessera/v1/token is forwarded to Tessera and its answer published to
that client only, on $CONTROL/tessera/v1/token/response or the MQTT 5 response topic with the
correlation data; refresh-only sessions (username tessera-refresh) and their limits; Tessera
down. Black box: a real mosquitto with the plugin, paho clients, tokens from a real Tessera."""
import json
import socket
import threading
import time
import urllib.parse
import uuid

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mosquitto_harness import (CB, NOT_AUTHORIZED_V311, NOT_AUTHORIZED_V5, SUBACK_FAILURE_V311,
                               broker_opts)
from tessera_harness import code_flow, free_port, new_username, t

TOKEN_TOPIC = "$CONTROL/tessera/v1/token"
RESPONSE_TOPIC = "$CONTROL/tessera/v1/token/response"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def rt_clients(srv):
    """Two code-flow clients with refresh tokens: rotating (default) and not."""
    out = {}
    for cid, extra in (("rt-rot", ()), ("rt-fixed", ("--refresh-rotation", "off"))):
        if cid not in srv.clients:
            srv.add_client(cid, grants=["authorization_code", "refresh_token"],
                           redirect_uris=[CB], name=cid,
                           scope="openid mqtt:pubsub:home/${username}/#", extra=extra)
        out[cid] = srv.clients[cid]
    return out


def login(srv, client):
    """A new user's tokens from the code flow with client: (tokens dict, username)."""
    u = new_username("rt")
    srv.add_user(u, PASSWORD, scope="mqtt:pubsub:home/${username}/#")
    lg = code_flow(srv, client, u, PASSWORD, redirect_uri=CB,
                   scope="openid mqtt:pubsub:home/%s/#" % u)
    assert "refresh_token" in lg.tokens, lg.tokens
    return lg.tokens, u


def refresh_body(client, refresh_token):
    return urllib.parse.urlencode([("grant_type", "refresh_token"),
                                   ("refresh_token", refresh_token),
                                   ("client_id", client.id),
                                   ("client_secret", client.secret)]).encode("ascii")


def user_client_id(tokens, client, suffix):
    from tessera_harness import jwt_parts
    return "%s:%s:%s" % (client.id, jwt_parts(tokens["access_token"])[1]["sub"], suffix)


def record_props(mc):
    """Makes MqttClient mc also keep each message's MQTT 5 properties (mc.props, in order)."""
    mc.props = []
    orig = mc._on_message

    def on_message(c, u, msg):
        with mc.cond:
            mc.props.append(getattr(msg, "properties", None))
        orig(c, u, msg)
    mc.c.on_message = on_message
    return mc


def publish_v5(mc, topic, payload, response_topic=None, correlation=None, qos=1):
    props = Properties(PacketTypes.PUBLISH)
    if response_topic is not None:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    info = mc.c.publish(topic, payload, qos=qos, properties=props)
    assert info.rc == 0
    if qos:
        assert mc.wait(lambda: info.mid in mc.pubacks, 5), "no PUBACK"


def answers(mc, n, within=10):
    """The first n messages mc got (asserting they came), payloads parsed as JSON."""
    got = mc.wait_messages(n, within=within)
    assert len(got) >= n, "%d of %d answers within %.1f s: %r" % (len(got), n, t(within), got)
    return [(topic, json.loads(payload), qos) for topic, payload, qos in got[:n]]


def refresh_session(broker, suffix=None, v5=False):
    """A refresh-only session (username tessera-refresh, any password)."""
    cid = "tessera-refresh-" + (suffix or uuid.uuid4().hex[:10])
    return broker.connect("anything", username="tessera-refresh", client_id=cid, v5=v5)


class Watchers:
    """A client allowed everything that can be read (mqtt:sub:#) subscribed to `#` and to the
    response topic, refused `$CONTROL/#`: it never gets an answer. fence() publishes a marker it
    sees, so that anything sent before it has arrived."""

    def __init__(self, srv, broker, clients):
        self.w = broker.connect(srv.access_token(srv.clients["sub-all"]))
        clients.append(self.w)
        assert self.w.subscribe("#") == [1]
        assert self.w.subscribe("$CONTROL/#") == [SUBACK_FAILURE_V311]
        assert self.w.subscribe("$CONTROL/tessera/#") == [SUBACK_FAILURE_V311]
        assert self.w.subscribe("$CONTROL/+/v1/token/response") == [SUBACK_FAILURE_V311]
        assert self.w.subscribe(RESPONSE_TOPIC) == [1]     # allowed, and gets nothing
        self.pub = broker.connect(srv.access_token(srv.clients["pub-all"]))
        clients.append(self.pub)

    def nothing_but_fences(self):
        w = self.w
        marker = uuid.uuid4().hex.encode()
        self.pub.publish("fence/x", marker, qos=1)
        assert w.wait(lambda: any(p == marker for _t, p, _q in w.messages), 5), "no fence"
        with w.cond:
            others = [m for m in w.messages if not m[0].startswith("fence/")]
        assert not others, "a watcher saw %r" % (others,)


def test_refresh_over_mqtt_v311_answer_to_that_client_only(srv, url_broker, clients,
                                                           rt_clients):
    """docs/broker.md "Tokens over MQTT": a v3.1.1 token session refreshes; the answer is
    Tessera's token response, on the response topic, to that client only."""
    c = rt_clients["rt-fixed"]
    tokens, user = login(srv, c)
    w = Watchers(srv, url_broker, clients)
    dev = url_broker.connect(tokens["access_token"],
                             client_id=user_client_id(tokens, c, "dev"))
    clients.append(dev)
    dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
    [(topic, ans, qos)] = answers(dev, 1)
    assert topic == RESPONSE_TOPIC and qos == 0
    assert ans["token_type"].lower() == "bearer" and ans["refresh_token"] == \
        tokens["refresh_token"], ans   # non-rotating: the same refresh token again
    assert ans["access_token"] != tokens["access_token"]
    # the new token works at the broker
    dev2 = url_broker.connect(ans["access_token"], client_id=user_client_id(tokens, c, "new"))
    clients.append(dev2)
    w.nothing_but_fences()
    # nothing of it in the broker's log
    log = url_broker.log()
    assert tokens["refresh_token"] not in log and c.secret not in log
    assert ans["access_token"] not in log


def test_refresh_over_mqtt_v5_response_topic_and_correlation_data(srv, url_broker, clients,
                                                                  rt_clients):
    c = rt_clients["rt-fixed"]
    tokens, user = login(srv, c)
    w = Watchers(srv, url_broker, clients)
    dev = record_props(url_broker.client(tokens["access_token"], v5=True,
                                         client_id=user_client_id(tokens, c, "v5")))
    assert dev.connect() == 0
    clients.append(dev)
    corr = b"\x00\x01req-" + uuid.uuid4().bytes
    reply = "home/%s/token-replies" % user
    publish_v5(dev, TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), reply, corr)
    # and one without a response topic: the default one
    publish_v5(dev, TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]))
    got = answers(dev, 2)
    by_topic = {topic: (ans, props) for (topic, ans, _q), props in zip(got, dev.props)}
    assert set(by_topic) == {reply, RESPONSE_TOPIC}, got
    ans, props = by_topic[reply]
    assert "access_token" in ans
    assert props.CorrelationData == corr
    assert props.ContentType == "application/json"
    assert not hasattr(by_topic[RESPONSE_TOPIC][1], "CorrelationData")
    w.nothing_but_fences()


def test_rotating_refresh_token_rotates_and_the_old_one_is_then_invalid_grant(
        srv, url_broker, clients, rt_clients):
    c = rt_clients["rt-rot"]
    tokens, _user = login(srv, c)
    dev = refresh_session(url_broker)
    clients.append(dev)
    dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
    [(_t, first, _q)] = answers(dev, 1)
    assert first["refresh_token"] != tokens["refresh_token"], first
    dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
    [_a, (_t2, second, _q2)] = answers(dev, 2)
    assert second["error"] == "invalid_grant", second
    # the reuse revoked the grant: the new refresh token is dead too
    assert "revoked" in second["error_description"], second
    # Tessera's answer goes out unchanged, byte for byte: the same as its /token says
    direct = srv.post("/token", [("grant_type", "refresh_token"),
                                 ("refresh_token", first["refresh_token"]),
                                 ("client_id", c.id), ("client_secret", c.secret)])
    assert direct.status_code == 400 and direct.json()["error"] == "invalid_grant"
    dev.publish(TOKEN_TOPIC, refresh_body(c, first["refresh_token"]), qos=1)
    answers(dev, 3)
    assert dev.messages[2][1] == direct.content, (dev.messages[2], direct.content)


def test_refresh_only_session_may_do_nothing_else(srv, url_broker, clients, rt_clients):
    """A tessera-refresh session may only publish token requests and subscribe to the response
    topic: every other publish and subscribe is refused (docs/broker.md)."""
    w = Watchers(srv, url_broker, clients)
    for v5 in (False, True):
        dev = refresh_session(url_broker, v5=v5)
        clients.append(dev)
        bad = NOT_AUTHORIZED_V5 if v5 else SUBACK_FAILURE_V311
        for f in ("#", "fence/#", "home/+/x", "$CONTROL/#", TOKEN_TOPIC, "$SYS/#"):
            assert dev.subscribe(f) == [bad], f
        assert dev.subscribe(RESPONSE_TOPIC) == [1]
        for topic in ("fence/x", "home/a/b", RESPONSE_TOPIC, "$CONTROL/dynamic-security/v1"):
            dev.publish(topic, b"from a refresh session", qos=1)
        w.nothing_but_fences()
        assert dev.connected


def test_refresh_only_session_three_requests_then_closed(srv, url_broker, clients, rt_clients):
    c = rt_clients["rt-fixed"]
    tokens, _user = login(srv, c)
    dev = refresh_session(url_broker)
    clients.append(dev)
    for i in range(3):
        dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
        assert answers(dev, i + 1)[i][1].get("access_token"), dev.messages
    dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
    fourth = answers(dev, 4)[3][1]
    assert fourth["error"] == "invalid_request" and "at most 3" in fourth["error_description"]
    assert dev.wait_disconnect(within=5), "the session was not closed after the 4th request"
    assert "more than 3 token requests" in url_broker.log()


def test_refresh_only_session_closed_after_30_s_idle(url_broker, clients):
    dev = refresh_session(url_broker)
    clients.append(dev)
    start = time.time()
    gone = dev.wait_disconnect(until=start + 30 + t(5))
    assert gone, "still connected after 35 s idle"
    assert gone[0] - start >= 29, "closed after %.1f s" % (gone[0] - start)
    assert "idle for 30 s" in url_broker.log()


def test_refresh_only_client_ids_are_reserved(srv, url_broker):
    # a refresh-only session needs an id beginning tessera-refresh (so it can never take a
    # device's session over); a token session may not use one
    assert url_broker.connect_rc("x", username="tessera-refresh", client_id="dev1") == \
        NOT_AUTHORIZED_V311
    assert url_broker.connect_rc("x", username="tessera-refresh", client_id="") == \
        NOT_AUTHORIZED_V311
    assert url_broker.connect_rc(srv.access_token(srv.clients["dev1"]),
                                 client_id="tessera-refresh-dev1") == NOT_AUTHORIZED_V311
    assert url_broker.connect_rc("x", username="tessera-refresh",
                                 client_id="tessera-refresh-ok") == 0


def test_token_session_may_use_only_the_token_topic_under_control(srv, url_broker, clients):
    # a token with every right (mqtt:pub:#) still publishes nothing but token requests under
    # $CONTROL/, and only the plugin publishes answers
    w = Watchers(srv, url_broker, clients)
    for topic in (RESPONSE_TOPIC, "$CONTROL/tessera/v1/other", "$CONTROL/dynamic-security/v1"):
        w.pub.publish(topic, b'{"access_token":"forged"}', qos=1)
    w.nothing_but_fences()


def test_bad_requests_get_an_answer_too(url_broker, clients):
    dev = refresh_session(url_broker, v5=True)
    clients.append(dev)
    dev.publish(TOKEN_TOPIC, b"", qos=1)
    dev.publish(TOKEN_TOPIC, b"x" * 8193, qos=1)
    got = answers(dev, 2)
    assert [a["error"] for _t, a, _q in got] == ["invalid_request"] * 2, got
    assert "empty" in got[0][1]["error_description"]
    assert "8192" in got[1][1]["error_description"]


class Blackhole:
    """A TCP port that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.th = threading.Thread(target=self._accept, daemon=True)
        self.th.start()

    def _accept(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_tessera_unreachable_or_silent_gives_temporarily_unavailable(srv, broker_factory,
                                                                     clients, rt_clients):
    c = rt_clients["rt-fixed"]
    tokens, _user = login(srv, c)
    hole = Blackhole()
    try:
        for name, url, within in (("closed", "http://127.0.0.1:%d/token" % free_port(), 5),
                                  ("silent", "http://127.0.0.1:%d/token" % hole.port, 12)):
            b = broker_factory.start(broker_opts(srv) + [("token_url", url)], name=name)
            dev = refresh_session(b)
            clients.append(dev)
            start = time.monotonic()
            dev.publish(TOKEN_TOPIC, refresh_body(c, tokens["refresh_token"]), qos=1)
            [(_t, ans, _q)] = answers(dev, 1, within=within)
            assert ans["error"] == "temporarily_unavailable", ans
            if name == "silent":   # the answer comes after the 5 s timeout, not before
                assert time.monotonic() - start >= 4.5
    finally:
        hole.close()


def test_token_url_none_turns_it_off(srv, broker_factory, clients):
    b = broker_factory.start(broker_opts(srv) + [("token_url", "none")], name="off")
    assert b.connect_rc("x", username="tessera-refresh", client_id="tessera-refresh-1") == \
        NOT_AUTHORIZED_V311
    assert "refresh-only sessions are off" in b.log()
