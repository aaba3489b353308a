"""Persistent sessions (clean session 0 / clean start 0 with a session expiry): what is published
to a device while it is offline waits in its session, and is delivered when it comes back, under
the rights of the token it comes back with (docs/security.md row 67)."""
import time

import pytest

from mosquitto_harness import broker_opts
from tessera_harness import wait_for

CLIENTS = [
    {"client_id": "dev1", "scope": "mqtt:sub:devices/dev1/cmd/#"},
    {"client_id": "ops", "scope": "mqtt:pub:devices/#"},
]


def offline(b, dev):
    """Disconnects dev and waits until mosquitto has seen it go."""
    line = "Client %s disconnected." % dev.client_id
    seen = b.log().count(line)
    dev.close()
    assert wait_for(lambda: b.log().count(line) > seen, within=5), b.log()[-2000:]


@pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
def test_commands_queued_while_offline_are_delivered_on_reconnect(fresh_factory, broker_factory,
                                                                  clients, v5):
    s = fresh_factory.start(clients=CLIENTS, name="tessera-sessions")
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-sessions")
    ops = b.connect(s.access_token(s.clients["ops"]))
    clients.append(ops)
    dev = b.connect(s.access_token(s.clients["dev1"]), clean=False, v5=v5)
    assert dev.subscribe("devices/dev1/cmd/#", qos=1) == [1]
    offline(b, dev)

    # commands while dev1 is away: at once, and after the plugin's once-a-second sweep has
    # forgotten the connection (the old plugin then refused them: no live session). The sweep
    # cannot be seen from outside; 1.5 s is past it, whatever the load: it runs in the first
    # turn of mosquitto's loop in a new second, and the loop turns at least once a second
    ops.publish("devices/dev1/cmd/a", b"1", qos=1)
    time.sleep(1.5)
    ops.publish("devices/dev1/cmd/b", b"2", qos=1)
    ops.publish("devices/dev1/cmd/a", b"3", qos=1)

    back = b.connect(s.access_token(s.clients["dev1"]), clean=False, v5=v5)
    clients.append(back)
    assert back.session_present == [True]
    got = back.wait_messages(3, within=5)
    assert [(m[0], m[1], m[2]) for m in got] == [("devices/dev1/cmd/a", b"1", 1),
                                                  ("devices/dev1/cmd/b", b"2", 1),
                                                  ("devices/dev1/cmd/a", b"3", 1)], got

    # and under the rights of the token it comes back with: a narrower one gets what it may
    # receive, the rest is dropped (b was queued first: had it passed, it would come first)
    offline(b, back)
    time.sleep(1.5)
    ops.publish("devices/dev1/cmd/b", b"not for a narrow token", qos=1)
    ops.publish("devices/dev1/cmd/a", b"4", qos=1)
    narrow = b.connect(s.access_token(s.clients["dev1"], scope="mqtt:sub:devices/dev1/cmd/a"),
                       clean=False, v5=v5)
    clients.append(narrow)
    assert narrow.session_present == [True]
    got = narrow.wait_messages(1, within=5)
    assert [(m[0], m[1]) for m in got] == [("devices/dev1/cmd/a", b"4")], got
    # the subscription it inherited still only brings what the token allows
    ops.publish("devices/dev1/cmd/b", b"live b", qos=1)
    ops.publish("devices/dev1/cmd/a", b"live a", qos=1)
    got = narrow.wait_messages(2, within=5)
    assert [(m[0], m[1]) for m in got] == [("devices/dev1/cmd/a", b"4"),
                                           ("devices/dev1/cmd/a", b"live a")], got
