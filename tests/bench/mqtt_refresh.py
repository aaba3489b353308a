"""mqtt_refresh.py [--clients N] [--seconds S] - token refreshes over MQTT through one mosquitto
(docs/broker.md "Tokens over MQTT", docs/performance.md).

Starts a Tessera (a code-flow client with non-rotating refresh tokens, one user signed in once)
and a mosquitto with the plugin (tests/tessera_harness.py, tests/broker/mosquitto_harness.py;
TESSERA_BIN and TESSERA_PLUGIN as for the broker tests), then N paho clients (MQTT 3.1.1, each
its own connection with the user's token) each publish a refresh request to
$CONTROL/tessera/v1/token and wait for its answer, in a loop, for S seconds. Prints the answers
per second and their latency (publish to answer): p50, p99, max. Every answer must carry an
access token."""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "broker"))

import paho.mqtt.client as mqtt  # noqa: E402

from mosquitto_harness import CB, BrokerFactory, broker_opts  # noqa: E402
from tessera_harness import ServerFactory, code_flow, jwt_parts  # noqa: E402

TOKEN_TOPIC = "$CONTROL/tessera/v1/token"


class Refresher(threading.Thread):
    def __init__(self, port, client_id, access_token, body, until):
        super().__init__(daemon=True)
        self.body, self.until = body, until
        self.lat, self.bad = [], 0
        self.cond = threading.Condition()
        self.answer = None
        self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
        self.c.username_pw_set("bench", access_token)
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port, keepalive=60)
        self.c.loop_start()

    def _on_message(self, _c, _u, msg):
        with self.cond:
            self.answer = msg.payload
            self.cond.notify_all()

    def run(self):
        while time.monotonic() < self.until:
            with self.cond:
                self.answer = None
            start = time.monotonic()
            self.c.publish(TOKEN_TOPIC, self.body, qos=0)
            with self.cond:
                if not self.cond.wait_for(lambda: self.answer is not None, timeout=10):
                    self.bad += 1
                    continue
                ans = self.answer
            self.lat.append(time.monotonic() - start)
            if "access_token" not in json.loads(ans):
                self.bad += 1

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    sf, bf = ServerFactory("bench-refresh"), BrokerFactory("bench-refresh")
    try:
        srv = sf.start(clients=[dict(client_id="bench-rt",
                                     grants=["authorization_code", "refresh_token"],
                                     redirect_uris=[CB], name="bench",
                                     scope="openid mqtt:pubsub:home/${username}/#",
                                     extra=("--refresh-rotation", "off"))], name="tessera")
        srv.add_user("bench", "correct horse battery", scope="mqtt:pubsub:home/${username}/#")
        c = srv.clients["bench-rt"]
        tokens = code_flow(srv, c, "bench", "correct horse battery", redirect_uri=CB,
                           scope="openid mqtt:pubsub:home/bench/#").tokens
        sub = jwt_parts(tokens["access_token"])[1]["sub"]
        body = urllib.parse.urlencode([("grant_type", "refresh_token"),
                                       ("refresh_token", tokens["refresh_token"]),
                                       ("client_id", c.id), ("client_secret", c.secret)])
        b = bf.start(broker_opts(srv), name="mosq")
        until = time.monotonic() + 1 + a.seconds
        rs = [Refresher(b.port, "bench-rt:%s:%d" % (sub, i), tokens["access_token"],
                        body.encode(), until) for i in range(a.clients)]
        start = time.monotonic()
        for r in rs:
            r.start()
        for r in rs:
            r.join()
        took = time.monotonic() - start
        for r in rs:
            r.close()
        lat = sorted(x for r in rs for x in r.lat)
        bad = sum(r.bad for r in rs)
        if not lat:
            print("no answers", file=sys.stderr)
            return 1

        def pct(p):
            return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000
        print("%d clients, %.1f s: %d refreshes over MQTT, %.0f/s; latency p50 %.1f ms, p99 %.1f "
              "ms, max %.1f ms; %d without an access token or answer"
              % (a.clients, took, len(lat), len(lat) / took, pct(0.5), pct(0.99), lat[-1] * 1000,
                 bad))
        return 1 if bad else 0
    finally:
        bf.close()
        sf.close()


if __name__ == "__main__":
    sys.exit(main())
