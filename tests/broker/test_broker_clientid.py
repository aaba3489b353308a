"""The MQTT client id is the token's (plugin_opt_client_id_rule, docs/security.md row 66): a token
may connect only with the client ids of its own OAuth client (and, for a user's token, its user),
so no other token holder can take a device's session over, throw the device off, or complete its
in-flight messages."""
import re

import pytest

from mosquitto_harness import CB, NOT_AUTHORIZED_V311, NOT_AUTHORIZED_V5, broker_opts
from tessera_harness import ServerFactory, code_flow, jwt_parts

CLIENTS = [
    {"client_id": "dev1", "scope": "mqtt:pubsub:devices/dev1/#"},
    {"client_id": "dev2", "scope": "mqtt:pubsub:devices/dev2/#"},
    {"client_id": "ops", "scope": "mqtt:pub:devices/#"},
    {"client_id": "app", "grants": ["authorization_code"], "redirect_uris": [CB], "name": "App",
     "scope": "openid mqtt:pubsub:home/${username}/#"},
]


@pytest.fixture(scope="module")
def tessera():
    f = ServerFactory("clientid")
    s = f.start(clients=CLIENTS, name="tessera-clientid")
    yield s
    f.close()


def user_token(s, name):
    s.add_user(name, "correct horse battery", scope="mqtt:pubsub:home/${username}/#")
    login = code_flow(s, s.clients["app"], name, "correct horse battery", redirect_uri=CB,
                      scope="openid mqtt:pubsub:home/%s/#" % name)
    return login.access_token


@pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
def test_another_clients_token_cannot_take_a_device_session_over(tessera, broker_factory,
                                                                 clients, v5):
    s = tessera
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-takeover")
    dev1 = b.connect(s.access_token(s.clients["dev1"]), client_id="dev1", clean=False, v5=v5)
    clients.append(dev1)
    assert dev1.subscribe("devices/dev1/cmd/#", qos=2) == [2]
    tok2 = s.access_token(s.clients["dev2"])

    # dev2's token (valid, active) with dev1's client id and a persistent session: refused
    rc = b.connect_rc(tok2, client_id="dev1", clean=False, v5=v5)
    assert rc == (NOT_AUTHORIZED_V5 if v5 else NOT_AUTHORIZED_V311), rc
    assert re.search(r"tessera: refused dev1: the client id is not the token's "
                     r"\(plugin_opt_client_id_rule strict\): the token of client dev2 may use "
                     r"dev2\b", b.log()), b.log()[-3000:]
    # dev1 was not thrown off and still gets its commands, exactly once
    ops = b.connect(s.access_token(s.clients["ops"]))
    clients.append(ops)
    ops.publish("devices/dev1/cmd/reboot", b"now", qos=1)
    assert dev1.wait_messages(1)[0][:2] == ("devices/dev1/cmd/reboot", b"now")
    assert dev1.connected and dev1.disconnects == []
    # nor can a user's token, or an empty client id (mosquitto would make one up)
    assert b.connect_rc(user_token(s, "mallory-%d" % v5), client_id="dev1", clean=False,
                        v5=v5) in (NOT_AUTHORIZED_V311, NOT_AUTHORIZED_V5)
    assert b.connect_rc(tok2, client_id="", v5=v5) in (NOT_AUTHORIZED_V311, NOT_AUTHORIZED_V5)
    assert dev1.connected
    # dev1's own next token takes its own session back (session present)
    again = b.connect(s.access_token(s.clients["dev1"]), client_id="dev1", clean=False, v5=v5)
    clients.append(again)
    assert again.session_present == [True]
    assert dev1.wait_disconnect(within=5) is not None


def test_a_users_client_ids_are_that_users(tessera, broker_factory, clients):
    s = tessera
    b = broker_factory.start(broker_opts(s, mode="url"), name="mosq-users")
    alice, bob = user_token(s, "alice"), user_token(s, "bob")
    a_sub, b_sub = jwt_parts(alice)[1]["sub"], jwt_parts(bob)[1]["sub"]
    assert a_sub != b_sub
    phone = b.connect(alice, client_id="app:%s:phone" % a_sub, clean=False)
    clients.append(phone)
    assert phone.subscribe("home/alice/#") == [1]
    # alice's ids: app:<her sub> and app:<her sub>:<anything>
    tablet = b.connect(alice, client_id="app:%s:tablet" % a_sub)
    clients.append(tablet)
    assert b.connect_rc(alice, client_id="app:%s" % a_sub) == 0
    # bob (same app), the app's name alone, another client's token: not alice's
    for tok, cid in ((bob, "app:%s:phone" % a_sub), (bob, "app:%s" % a_sub), (alice, "app"),
                     (alice, "app:%s:x" % b_sub), (alice, "app:%sx" % a_sub),
                     (s.access_token(s.clients["dev1"]), "app:%s:phone" % a_sub)):
        assert b.connect_rc(tok, client_id=cid, clean=False) == NOT_AUTHORIZED_V311, cid
    assert phone.connected and tablet.connected
    assert b.connect_rc(bob, client_id="app:%s:phone" % b_sub) == 0


def test_prefix_rule_gives_a_client_its_own_suffixes_only(tessera, broker_factory, clients):
    s = tessera
    b = broker_factory.start(broker_opts(s, mode="url", client_id_rule="prefix"),
                             name="mosq-prefix")
    tok1 = s.access_token(s.clients["dev1"])
    first = b.connect(tok1, client_id="dev1:sensor-a")
    second = b.connect(tok1, client_id="dev1:sensor-b")
    clients.extend([first, second])
    assert first.connected and second.connected
    assert b.connect_rc(tok1, client_id="dev1") == 0
    # <client_id>:<number> is the client's users' (strict and prefix alike); another client's
    # token gets none of dev1's
    assert b.connect_rc(tok1, client_id="dev1:7") == NOT_AUTHORIZED_V311
    assert b.connect_rc(tok1, client_id="dev1x") == NOT_AUTHORIZED_V311
    tok2 = s.access_token(s.clients["dev2"])
    assert b.connect_rc(tok2, client_id="dev1:sensor-a") == NOT_AUTHORIZED_V311
    assert first.connected


def test_rule_any_is_mosquittos_default_and_says_so(tessera, broker_factory, clients):
    # the old behaviour, for brokers that bind ids by other means: any id, with a warning
    s = tessera
    b = broker_factory.start(broker_opts(s, mode="url", client_id_rule="any"), name="mosq-any")
    assert "plugin_opt_client_id_rule any: any token may connect with any client id" in b.log()
    dev1 = b.connect(s.access_token(s.clients["dev1"]), client_id="dev1")
    clients.append(dev1)
    other = b.connect(s.access_token(s.clients["dev2"]), client_id="dev1")
    clients.append(other)
    assert dev1.wait_disconnect(within=5) is not None
