"""Topic rights at the broker: PUBLISH, SUBSCRIBE and delivery against the token's mqtt:* scopes
(docs/broker.md, "Clients")."""
from mosquitto_harness import NOT_AUTHORIZED_V5, SUBACK_FAILURE_V311


def tok(srv, cid):
    return srv.access_token(srv.clients[cid])


def payloads(msgs):
    return [(topic, p) for topic, p, _q in msgs]


def test_device_publishes_own_topics_and_a_foreign_topic_is_not_delivered(srv, url_broker,
                                                                          clients):
    # reader: mqtt:sub:sensors/+/temp; dev1: mqtt:pub:sensors/dev1/#
    sub = url_broker.connect(tok(srv, "reader"))
    clients.append(sub)
    assert sub.subscribe("sensors/+/temp", qos=1) == [1]
    dev = url_broker.connect(tok(srv, "dev1"))
    clients.append(dev)

    dev.publish("sensors/dev1/temp", b"q0-a", qos=0)
    dev.publish("sensors/dev1/temp", b"q1-a", qos=1)
    # not covered by mqtt:pub:sensors/dev1/#: dropped (QoS 0 silently; QoS 1 still PUBACKed
    # in MQTT 3.1.1, which publish() asserts)
    dev.publish("sensors/dev2/temp", b"forbidden-q0", qos=0)
    dev.publish("sensors/dev2/temp", b"forbidden-q1", qos=1)
    # control messages after the forbidden ones: once they are in, the others would be too
    dev.publish("sensors/dev1/temp", b"q0-b", qos=0)
    dev.publish("sensors/dev1/temp", b"q1-b", qos=1)

    got = sub.wait_messages(4, within=5)
    assert payloads(got) == [("sensors/dev1/temp", b"q0-a"), ("sensors/dev1/temp", b"q1-a"),
                             ("sensors/dev1/temp", b"q0-b"), ("sensors/dev1/temp", b"q1-b")], got
    assert dev.connected and sub.connected


def test_subscribe_coverage_mqtt311(srv, url_broker, clients):
    # mqtt:sub:sensors/+/temp covers sensors/dev1/temp and sensors/+/temp, not sensors/# or #
    c = url_broker.connect(tok(srv, "reader"))
    clients.append(c)
    assert c.subscribe("sensors/dev1/temp", qos=1) == [1]
    assert c.subscribe("sensors/+/temp", qos=0) == [0]
    assert c.subscribe("sensors/#", qos=1) == [SUBACK_FAILURE_V311]
    assert c.subscribe("#", qos=1) == [SUBACK_FAILURE_V311]
    assert c.subscribe("sensors/dev1/+", qos=1) == [SUBACK_FAILURE_V311]
    assert c.subscribe("+/dev1/temp", qos=1) == [SUBACK_FAILURE_V311]
    # a subscription the token does not cover gets nothing, the one it covers still works
    pub = url_broker.connect(tok(srv, "pub-all"))
    clients.append(pub)
    pub.publish("sensors/dev1/humidity", b"h", qos=1)
    pub.publish("sensors/dev1/temp", b"t", qos=1)
    got = c.wait_messages(1, within=5)
    # the humidity reading went first: had it been delivered, it would be here by now (both
    # granted subscriptions match sensors/dev1/temp, which may come once or twice)
    assert got and all(m[:2] == ("sensors/dev1/temp", b"t") for m in got), got
    assert c.connected


def test_subscribe_coverage_mqtt5_reason_0x87(srv, url_broker, clients):
    c = url_broker.connect(tok(srv, "reader"), v5=True)
    clients.append(c)
    assert c.subscribe("sensors/dev1/temp", qos=1) == [1]
    assert c.subscribe("sensors/+/temp", qos=1) == [1]
    assert c.subscribe("sensors/#", qos=1) == [NOT_AUTHORIZED_V5]
    assert c.subscribe("#", qos=1) == [NOT_AUTHORIZED_V5]
    pub = url_broker.connect(tok(srv, "dev1"), v5=True)
    clients.append(pub)
    pub.publish("sensors/dev1/temp", b"v5", qos=1)
    got = c.wait_messages(1, within=5)
    assert got and got[0][:2] == ("sensors/dev1/temp", b"v5"), got


def test_pubsub_scope_on_one_topic_works_both_ways_and_nowhere_else(srv, url_broker, clients):
    # chat-a and chat-b: mqtt:pubsub:chat/room1; chat-watch: mqtt:sub:chat/#
    a = url_broker.connect(tok(srv, "chat-a"))
    b = url_broker.connect(tok(srv, "chat-b"))
    w = url_broker.connect(tok(srv, "chat-watch"))
    clients.extend([a, b, w])
    for c in (a, b):
        assert c.subscribe("chat/room1", qos=1) == [1]
        assert c.subscribe("chat/room2", qos=1) == [SUBACK_FAILURE_V311]
        assert c.subscribe("chat/+", qos=1) == [SUBACK_FAILURE_V311]
    assert w.subscribe("chat/#", qos=1) == [1]

    a.publish("chat/room2", b"a-forbidden", qos=1)     # pub not allowed there
    a.publish("chat/room1", b"from-a", qos=1)
    b.publish("chat/room2", b"b-forbidden", qos=0)
    b.publish("chat/room1", b"from-b", qos=1)

    want = [("chat/room1", b"from-a"), ("chat/room1", b"from-b")]
    assert payloads(b.wait_messages(2)) == want
    assert payloads(a.wait_messages(2)) == want
    assert payloads(w.wait_messages(2)) == want


def test_sub_only_token_cannot_publish_and_pub_only_token_cannot_subscribe(srv, url_broker,
                                                                           clients):
    w = url_broker.connect(tok(srv, "chat-watch"))      # mqtt:sub:chat/#
    p = url_broker.connect(tok(srv, "chat-pub"))        # mqtt:pub:chat/#
    clients.extend([w, p])
    assert p.subscribe("chat/room1", qos=1) == [SUBACK_FAILURE_V311]
    assert w.subscribe("chat/#", qos=1) == [1]
    w.publish("chat/room1", b"from-reader", qos=1)      # sub does not give pub
    p.publish("chat/room1", b"from-writer", qos=1)
    got = w.wait_messages(1)
    assert payloads(got) == [("chat/room1", b"from-writer")], got
    assert p.messages == []


def test_hash_scope_does_not_cover_dollar_topics(srv, url_broker, clients):
    # mqtt:sub:# : everything but $-topics (MQTT 5 §4.7.2)
    c = url_broker.connect(tok(srv, "sub-all"))
    clients.append(c)
    assert c.subscribe("$SYS/#", qos=0) == [SUBACK_FAILURE_V311]
    assert c.subscribe("$SYS/broker/uptime", qos=0) == [SUBACK_FAILURE_V311]
    assert c.subscribe("+/broker/uptime", qos=0) == [0]
    assert c.subscribe("#", qos=1) == [1]
    assert c.subscribe("anything/at/all", qos=1) == [1]
    assert c.connected


def test_explicit_dollar_scope_covers_its_dollar_topics(srv, url_broker, clients):
    # mqtt:sub:$SYS/broker/# names the $-topic itself: allowed, and the retained
    # $SYS/broker/version that mosquitto publishes at start is delivered
    c = url_broker.connect(tok(srv, "sys-reader"))
    clients.append(c)
    assert c.subscribe("$SYS/#", qos=0) == [SUBACK_FAILURE_V311]
    assert c.subscribe("#", qos=0) == [SUBACK_FAILURE_V311]
    assert c.subscribe("$SYS/broker/version", qos=0) == [0]
    got = c.wait_messages(1, within=5)
    assert got and got[0][0] == "$SYS/broker/version" and b"mosquitto" in got[0][1], got


def test_client_id_takeover_uses_the_new_tokens_rights(srv, url_broker, clients):
    # the same client id connects again with another token of the same client (narrower):
    # mosquitto drops the first connection, and the second one has exactly its own token's
    # rights (sub-all: mqtt:sub:#)
    wide = srv.access_token(srv.clients["sub-all"])
    narrow = srv.access_token(srv.clients["sub-all"], scope="mqtt:sub:sensors/+/temp")
    first = url_broker.connect(wide)
    clients.append(first)
    assert first.subscribe("chat/room1") == [1]
    second = url_broker.connect(narrow)
    clients.append(second)
    assert first.client_id == second.client_id == "sub-all"
    assert first.wait_disconnect(within=5) is not None, "first connection not taken over"
    assert second.subscribe("chat/room1") == [SUBACK_FAILURE_V311]
    assert second.subscribe("sensors/+/temp") == [1]
    pub = url_broker.connect(tok(srv, "pub-all"))
    clients.append(pub)
    pub.publish("chat/room1", b"not for reader", qos=1)
    pub.publish("sensors/d/temp", b"for reader", qos=1)
    got = second.wait_messages(1)
    assert payloads(got) == [("sensors/d/temp", b"for reader")], got
    assert second.connected


def test_will_is_delivered_only_on_a_topic_the_token_may_publish(srv, url_broker, clients):
    # dev1: mqtt:pub:sensors/dev1/#. A will is a publish too: on a foreign topic it must not
    # come out (the broker may refuse the CONNECT, or drop the will)
    sub = url_broker.connect(tok(srv, "reader"))
    clients.append(sub)
    assert sub.subscribe("sensors/+/temp") == [1]
    bad = url_broker.client(tok(srv, "dev1"), will=("sensors/dev2/temp", b"forged will", 1))
    clients.append(bad)
    rc = bad.connect()
    if rc == 0:
        bad.drop()
        assert bad.wait_disconnect(within=5) is not None
    good = url_broker.connect(tok(srv, "dev1"), will=("sensors/dev1/temp", b"real will", 1))
    clients.append(good)
    good.drop()
    got = sub.wait_messages(1, within=5)
    assert payloads(got) == [("sensors/dev1/temp", b"real will")], got
