"""MQTT over TLS at the broker (issue 21 §5): etc/mosquitto.conf keeps plain MQTT on loopback and
serves devices on a TLS listener, because the MQTT password is a bearer token. These tests run
the plugin behind a real mosquitto TLS listener, and the sample configuration itself."""
import os
import re
import shutil
import socket
import ssl

import pytest

from mosquitto_harness import PLUGIN, broker_opts
from tessera_harness import PKI, REPO, make_tempdir

SAMPLE = os.path.join(REPO, "etc", "mosquitto.conf")


@pytest.fixture(scope="module")
def pki():
    d = make_tempdir("mq-pki")
    yield PKI(d)
    shutil.rmtree(d, ignore_errors=True)


def tok(srv, cid):
    return srv.access_token(srv.clients[cid])


def test_a_device_works_over_tls_1_3_with_its_token(srv, broker_factory, clients, pki):
    b = broker_factory.start(broker_opts(srv), tls=pki.ec)
    token = tok(srv, "dev1")
    watcher = b.connect(tok(srv, "reader"), tls_ca=pki.ca)
    clients.append(watcher)
    assert watcher.subscribe("sensors/+/temp") == [1]
    dev = b.connect(token, tls_ca=pki.ca)
    clients.append(dev)
    assert dev.c.socket().version() == "TLSv1.3"
    dev.publish("sensors/dev1/temp", b"21.5", qos=1)
    assert ("sensors/dev1/temp", b"21.5", 1) in watcher.wait_messages(1)
    # the plugin's rules are the same on this listener: a foreign token is refused
    assert b.connect_rc("x" + token[1:], tls_ca=pki.ca) != 0


def test_plain_mqtt_to_the_tls_listener_gets_no_connack(srv, broker_factory, pki):
    b = broker_factory.start(broker_opts(srv), tls=pki.ec)
    # an MQTT 3.1.1 CONNECT, client id "x", sent in clear to the TLS port
    connect = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 1]) + b"x"
    with socket.create_connection(("127.0.0.1", b.tls_port), timeout=5) as s:
        s.sendall(connect)
        try:
            got = s.recv(16)
        except (ConnectionResetError, socket.timeout):
            got = b""
    assert not got.startswith(bytes([0x20])), got     # no CONNACK
    # and TLS older than 1.2 is refused
    ctx = ssl.create_default_context(cafile=pki.ca)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", b.tls_port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="localhost").do_handshake()


def test_the_sample_configuration_serves_tls_and_keeps_plain_mqtt_on_loopback(
        srv, broker_factory, clients, pki):
    with open(SAMPLE) as f:
        sample = f.read()
    live = [ln.split("#")[0].strip() for ln in sample.splitlines()]
    live = [ln for ln in live if ln]
    assert "listener 1883 127.0.0.1" in live, live
    tls = live.index("listener 8883")
    assert {ln.split()[0] for ln in live[tls + 1:tls + 4]} == {"certfile", "keyfile",
                                                              "tls_version"}, live
    assert "tls_version tlsv1.2" in live
    # the sample itself, with this machine's paths and ports, runs and takes a token over TLS
    conf = sample.replace("{", "{{").replace("}", "}}")
    conf = conf.replace("listener 1883 127.0.0.1", "listener {port} 127.0.0.1")
    conf = conf.replace("listener 8883", "listener {tls_port} 127.0.0.1")
    conf = conf.replace("/etc/mosquitto/certs/server.pem", pki.ec[0])
    conf = conf.replace("/etc/mosquitto/certs/server.key", pki.ec[1])
    conf = conf.replace("/usr/local/lib/tessera/tessera_mosquitto.so", PLUGIN)
    conf = re.sub(r"http://127\.0\.0\.1:8080", srv.base, conf)
    conf += "\nlog_dest stderr\npersistence false\n"
    b = broker_factory.start([], conf=conf)
    dev = b.connect(tok(srv, "dev1"), tls_ca=pki.ca)
    clients.append(dev)
    assert dev.c.socket().version() == "TLSv1.3"
    dev.publish("sensors/dev1/temp", b"1", qos=1)
    # the plain listener is bound to loopback only (the sample's own words, checked above)
    plain = b.connect(tok(srv, "reader"))
    clients.append(plain)
