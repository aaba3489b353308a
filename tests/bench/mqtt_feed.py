"""mqtt_feed.py [--sessions N] [--rounds R] - how long a change of rights takes to reach a live
MQTT session through Tessera's change feed (docs/broker.md "The change feed").

Starts a Tessera and a mosquitto with the plugin in introspection mode with
plugin_opt_cache_seconds 300 (tests/tessera_harness.py, tests/broker/mosquitto_harness.py;
TESSERA_BIN and TESSERA_PLUGIN as for the broker tests), opens N idle sessions of a device (raw
MQTT 3.1.1 CONNECTs with keep-alive 0, one socket each), then R times: a user signs in (a new
grant), connects (raw MQTT too), and `tessera grant revoke` (even rounds) or `tessera grant scope`
narrowing it (odd rounds) runs; the time from starting the CLI to the session's disconnect, or
to the broker's log line saying its rights changed (the moment they are enforced), is
recorded. Prints p50, p99 and max of each kind."""
import argparse
import os
import re
import resource
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "broker"))

from mosquitto_harness import CB, BrokerFactory, broker_opts  # noqa: E402
from tessera_harness import BIN, ServerFactory, code_flow, jwt_parts  # noqa: E402


def utf8(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def remaining(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def raw_session(port, client_id, token):
    """An MQTT 3.1.1 session that never speaks again (keep-alive 0): its socket."""
    var = utf8("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 0)
    payload = utf8(client_id) + utf8("bench") + utf8(token)
    body = var + payload
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(bytes([0x10]) + remaining(len(body)) + body)
    ack = s.recv(4)
    if len(ack) != 4 or ack[0] != 0x20 or ack[3] != 0:
        raise RuntimeError("CONNACK %r for %s" % (ack, client_id))
    return s


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # mosquitto inherits it
    sf, bf = ServerFactory("bench-feed"), BrokerFactory("bench-feed")
    socks = []
    try:
        srv = sf.start(clients=[
            dict(client_id="broker", scope="introspect"),
            dict(client_id="bulk", grants=["client_credentials"], scope="mqtt:pubsub:bulk/#"),
            dict(client_id="app", grants=["authorization_code"], redirect_uris=[CB],
                 scope="openid mqtt:pubsub:home/${username}/#")], name="tessera")
        srv.add_user("bench", "correct horse battery", scope="mqtt:pubsub:home/${username}/#")
        b = bf.start(broker_opts(srv, introspect=srv.clients["broker"], cache_seconds=300,
                                 client_id_rule="any"), name="mosq")
        bulk = srv.access_token(srv.clients["bulk"])
        t0 = time.monotonic()
        for i in range(a.sessions):
            socks.append(raw_session(b.port, "bulk-%d" % i, bulk))
        print("%d idle sessions connected in %.1f s" % (a.sessions, time.monotonic() - t0))
        revoke, scope = [], []
        for r in range(a.rounds):
            tok = code_flow(srv, srv.clients["app"], "bench", "correct horse battery",
                            redirect_uri=CB, scope="mqtt:pubsub:home/bench/#").access_token
            gid = jwt_parts(tok)[1]["gid"]
            cid = "round-%d" % r
            # a raw session too (paho's select() cannot take the descriptors past 1024 that
            # the idle sessions hold): the broker closing it ends the blocking recv
            sess = raw_session(b.port, cid, tok)
            sess.settimeout(None)
            gone = threading.Event()
            threading.Thread(target=lambda s=sess, g=gone: (s.recv(1), g.set()),
                             daemon=True).start()
            pat = re.compile(r"tessera: rights of %s changed" % cid)
            if r % 2 == 0:
                start = time.monotonic()
                subprocess.run([BIN, "grant", "revoke", str(gid), "--db", srv.db], check=True,
                               stdout=subprocess.DEVNULL)
                if gone.wait(30):
                    revoke.append(time.monotonic() - start)
            else:
                start = time.monotonic()
                subprocess.run([BIN, "grant", "scope", str(gid), "mqtt:sub:home/bench/x",
                                "--db", srv.db], check=True, stdout=subprocess.DEVNULL)
                while time.monotonic() - start < 30 and not pat.search(b.log()):
                    time.sleep(0.002)
                if pat.search(b.log()):
                    scope.append(time.monotonic() - start)
                cli = subprocess.run([BIN, "grant", "revoke", str(gid), "--db", srv.db],
                                     stdout=subprocess.DEVNULL)
                assert cli.returncode == 0
                gone.wait(30)
            sess.close()
        for name, xs in (("grant revoke -> disconnected", revoke),
                         ("grant scope -> narrowed rights enforced", scope)):
            if xs:
                print("%-42s n=%d p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                      % (name, len(xs), pct(xs, 0.5), pct(xs, 0.99), max(xs) * 1000))
            else:
                print("%-42s none measured" % name)
        print("(%d other live sessions on one mosquitto, plugin_opt_cache_seconds 300, from the "
              "CLI's start; %d cores shared by everything)" % (a.sessions, os.cpu_count() or 1))
        return 0 if len(revoke) + len(scope) == a.rounds else 1
    finally:
        for s in socks:
            s.close()
        bf.close()
        sf.close()


if __name__ == "__main__":
    sys.exit(main())
