"""Fixtures for the broker tests: a real mosquitto with build/tessera_mosquitto.so, tokens from a
real Tessera (see tests/tessera_harness.py and tests/broker/mosquitto_harness.py)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from tessera_harness import (  # noqa: E402,F401  (fixtures and hooks pytest picks up)
    failure_sections,
    ServerFactory,
    fresh_factory,
    pytest_collection_modifyitems,
    pytest_configure,
    tdir,
)
from mosquitto_harness import (  # noqa: E402
    CB,
    LIVE_BROKERS,
    BrokerFactory,
    broker_opts,
    plugin_problem,
)

# The shared Tessera's clients (client credentials; the scopes are what the tokens carry).
SHARED_CLIENTS = [
    dict(client_id="dev1", scope="mqtt:pub:sensors/dev1/#"),
    dict(client_id="reader", scope="mqtt:sub:sensors/+/temp"),
    dict(client_id="chat-a", scope="mqtt:pubsub:chat/room1"),
    dict(client_id="chat-b", scope="mqtt:pubsub:chat/room1"),
    dict(client_id="chat-watch", scope="mqtt:sub:chat/#"),
    dict(client_id="chat-pub", scope="mqtt:pub:chat/#"),
    dict(client_id="sub-all", scope="mqtt:sub:#"),
    dict(client_id="pub-all", scope="mqtt:pub:#"),
    dict(client_id="sys-reader", scope="mqtt:sub:$SYS/broker/#"),
    dict(client_id="broker", scope="introspect"),
    dict(client_id="app", grants=["authorization_code"], redirect_uris=[CB], name="App",
         scope="openid mqtt:sub:home/${username}/#"),
]


@pytest.fixture(scope="session")
def plugin():
    why = plugin_problem()
    if why:
        pytest.fail(why, pytrace=False)


@pytest.fixture(scope="session")
def srv():
    """One Tessera for the tests that do not stop, rotate or reconfigure it."""
    f = ServerFactory("broker")
    s = f.start(clients=SHARED_CLIENTS, name="tessera")
    yield s
    f.close()


@pytest.fixture(scope="session")
def url_broker(plugin, srv):
    """One mosquitto trusting srv through its /jwks (plugin_opt_jwks_url), audience mqtt."""
    f = BrokerFactory("url")
    b = f.start(broker_opts(srv, mode="url"), name="mosq-url")
    yield b
    f.close()


@pytest.fixture
def broker_factory(request, plugin):
    f = BrokerFactory(request.node.name)
    yield f
    f.close()


@pytest.fixture
def clients():
    """A list to put MqttClients in: all closed at teardown."""
    out = []
    yield out
    for c in out:
        c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        rep.sections.extend(failure_sections())
        for b in list(LIVE_BROKERS):
            rep.sections.append(("mosquitto %s log (tail, %s)" % (b.name, b.log_path),
                                 b.log()[-4000:]))
