"""The broker enforces certificate-bound tokens (RFC 8705 §3, issue 22 §2): on a mosquitto TLS
listener with require_certificate true, a token whose cnf.x5t#S256 names a client certificate is
accepted only from a connection presenting that certificate; paho clients present the right and
the wrong certificate (both of the CA mosquitto trusts, so that only the plugin can tell them
apart). A token copied off one device is refused on another's connection, with a log line.
docs/security.md row 106."""
import json
import os
import shutil

import pytest
import requests

from mosquitto_harness import broker_opts
from harness_mtls import ClientPKI, x5t_s256
from tessera_harness import PKI, ServerFactory, http_timeout, make_tempdir
from test_broker_reauth import js, node  # noqa: F401  (fixtures: MQTT.js over TLS)

NOT_AUTHORIZED = 5   # MQTT 3.1.1 CONNACK


@pytest.fixture(scope="module")
def certs():
    d = make_tempdir("mq-mtls")
    pki = PKI(d)
    c = ClientPKI(d, pki)
    c.device_a = c.issued("device-a", "/CN=device-a", san="DNS:device-a.example")
    c.device_b = c.issued("device-b", "/CN=device-b", san="DNS:device-b.example")
    yield c
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def msrv(certs):
    """A Tessera over TLS asking for client certificates."""
    f = ServerFactory("mq-mtls")
    s = f.new(config={"server": {"tls_client_certificates": "request",
                                 "tls_client_ca": certs.pki.ca}},
              flags="listen", name="tessera-mtls", tls=certs.pki.ec, ca=certs.pki.ca)
    s.init()
    cc = ["--grant", "client_credentials"]
    s.add_client("dev-a", scope="mqtt:pub:sensors/dev-a/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-san",
                             "dns:device-a.example"])
    s.add_client("ref-a", scope="mqtt:pub:sensors/ref-a/#",
                 extra=cc + ["--auth-method", "tls_client_auth", "--tls-san",
                             "dns:device-a.example", "--token-format", "reference"])
    s.add_client("plain", scope="mqtt:pub:sensors/plain/#", extra=cc)
    s.add_client("pair", scope="mqtt:pub:sensors/pair/#", extra=cc + ["--cert-bound"])
    s.add_client("broker", scope="introspect")
    s.start()
    yield s
    f.close()


def cert_token(srv, client_id, cert):
    r = requests.post(srv.url("/token"), data={"grant_type": "client_credentials",
                                               "client_id": client_id},
                      cert=cert, verify=srv.verify, timeout=http_timeout())
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def secret_token(srv, client, cert):
    """A token of a client with a secret, from a connection presenting cert."""
    r = requests.post(srv.url("/token"), data={"grant_type": "client_credentials"},
                      headers={"Authorization": client.basic()}, cert=cert, verify=srv.verify,
                      timeout=http_timeout())
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def mtls_broker(broker_factory, msrv, certs, introspect=False):
    """A mosquitto with a TLS listener requiring client certificates of the test CA, trusting
    msrv's keys (a JWKS file) and, with introspect, its /introspect over https."""
    path = os.path.join(certs.dir, "jwks-%d.json" % os.getpid())
    with open(path, "w") as f:
        json.dump(msrv.jwks(), f)
    opts = broker_opts(msrv, mode="file", jwks_file=path,
                       introspect=msrv.clients["broker"] if introspect else None)
    if introspect:
        opts.append(("ca_file", certs.pki.ca))
    return broker_factory.start(opts, tls=certs.pki.ec,
                                extra_conf="cafile %s\nrequire_certificate true"
                                % certs.pki.ca)


def test_row106_a_bound_token_connects_only_with_its_certificate(msrv, broker_factory, clients,
                                                                 certs):
    """docs/security.md row 106: the token of dev-a (bound to device-a's certificate) connects
    and publishes over device-a's certificate; over device-b's, or on the listener without
    certificates, CONNACK not authorized and a log line naming the client."""
    token = cert_token(msrv, "dev-a", certs.device_a)
    b = mtls_broker(broker_factory, msrv, certs)
    dev = b.connect(token, tls_ca=certs.pki.ca, tls_cert=certs.device_a)
    clients.append(dev)
    dev.publish("sensors/dev-a/temp", b"20", qos=1)
    dev.close()
    assert b.connect_rc(token, tls_ca=certs.pki.ca, tls_cert=certs.device_b) == NOT_AUTHORIZED
    assert "refused dev-a" in b.log() and "presented another one" in b.log(), b.log()[-2000:]
    assert b.connect_rc(token) == NOT_AUTHORIZED            # no certificate at all
    assert "presented none" in b.log(), b.log()[-2000:]


def test_row106_unbound_tokens_behave_as_before(msrv, broker_factory, clients, certs):
    """docs/security.md row 106: a token without cnf connects with any certificate, and
    without one."""
    token = msrv.access_token(msrv.clients["plain"])
    b = mtls_broker(broker_factory, msrv, certs)
    for kw in ({"tls_ca": certs.pki.ca, "tls_cert": certs.device_b}, {}):
        c = b.connect(token, **kw)
        clients.append(c)
        c.publish("sensors/plain/x", b"1", qos=1)
        c.close()


def test_row106_a_bound_reference_token_through_introspection(msrv, broker_factory, clients,
                                                              certs):
    """docs/security.md row 106: a reference token, judged by introspection, carries its
    binding in the answer's cnf: accepted over its certificate, refused over another."""
    token = cert_token(msrv, "ref-a", certs.device_a)
    assert "." not in token
    b = mtls_broker(broker_factory, msrv, certs, introspect=True)
    c = b.connect(token, client_id="ref-a", tls_ca=certs.pki.ca, tls_cert=certs.device_a)
    clients.append(c)
    c.close()
    assert b.connect_rc(token, client_id="ref-a", tls_ca=certs.pki.ca,
                        tls_cert=certs.device_b) == NOT_AUTHORIZED
    assert "refused ref-a: the token is bound" in b.log(), b.log()[-2000:]


def test_row106_the_thumbprint_is_of_the_certificate_presented(msrv, certs):
    """The token's cnf is the x5t#S256 of device-a's certificate, which the plugin computes
    from mosquitto_client_certificate() the same way."""
    token = cert_token(msrv, "dev-a", certs.device_a)
    r = msrv.introspect(msrv.clients["broker"], token)
    assert r.json()["cnf"] == {"x5t#S256": x5t_s256(certs.device_a[0])}, r.text



def test_row106_mqtt5_reauthentication_checks_the_binding_too(msrv, broker_factory, certs, js):
    """docs/security.md row 106: MQTT 5 with OAUTH2-JWT over device-a's certificate, for a
    --cert-bound client that has a secret (so it gets tokens over either device's
    connection): a token bound to device-a's certificate connects and re-authenticates; a
    re-authentication with the same client's token bound to device-b's certificate is refused
    and the connection closed."""
    c_pair = msrv.clients["pair"]
    first = secret_token(msrv, c_pair, certs.device_a)
    again = secret_token(msrv, c_pair, certs.device_a)
    other = secret_token(msrv, c_pair, certs.device_b)
    b = mtls_broker(broker_factory, msrv, certs)
    c = js(b, "pair", first, tls=(certs.pki.ca, certs.device_a))
    ack = c.packet("connack")
    assert ack and ack["reasonCode"] == 0, (c.events, b.log()[-2000:])
    n = len(c.events)
    c.send(cmd="reauth", token=again)
    ok = c.packet("auth", after=n)
    assert ok and ok["reasonCode"] == 0, (c.events, b.log()[-2000:])
    c.send(cmd="reauth", token=other)
    assert c.closed(), c.events
    assert "refused pair: the token is bound" in b.log(), b.log()[-2000:]
    assert "pair: re-authentication refused" in b.log(), b.log()[-2000:]
