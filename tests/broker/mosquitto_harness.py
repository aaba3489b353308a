"""A real mosquitto with the Tessera plugin, and paho-mqtt clients, for tests/broker.

Broker: /usr/sbin/mosquitto ($MOSQUITTO) run as the current user with its own config on a free
loopback port (per_listener_settings false, allow_anonymous false, persistence false, log to
stderr, which goes to a file shown when a test fails), the plugin $TESSERA_PLUGIN (default: next
to $TESSERA_BIN, i.e. build/tessera_mosquitto.so) and the given plugin_opt_* options. At teardown
it must exit 0 on SIGTERM with no sanitizer report about the plugin.

Under TESSERA_ASAN=1 the plugin is built with AddressSanitizer + UBSan and mosquitto is not: the
broker then runs with LD_PRELOAD = libasan (+ libubsan when the plugin needs it) and
fast_unwind_on_malloc=0 (mosquitto has no frame pointers). mosquitto leaks a little of its own on
some exit paths (e.g. a plugin that fails to start), so a leak report counts only when its stack
mentions the plugin (tessera_mosquitto.so, broker/*.c, lib/common/*.c) or an <unknown module>: the
plugin and the libraries only it uses (libcurl, jansson) are dlclose()d before LeakSanitizer runs,
so their frames lose their names. (Preloading the plugin to keep it mapped was tried: then
libp11-kit's destructor deadlocks in freelocale() at exit.) Any other sanitizer report (an ASan
error, a UBSan "runtime error:") always fails the test.

Clients: paho-mqtt 1.6.1 (Debian's python3-paho-mqtt), MQTT 3.1.1 by default or 5, with
loop_start() and every wait bounded (t() from tessera_harness). A client's id is, unless given,
the one its token may use under the plugin's default plugin_opt_client_id_rule strict
(token_client_id): so two connections with one client's own token share an id, and the second
takes the first one's session over, as mosquitto does for any id.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from tessera_harness import (BIN, SANITIZERS, SLOW, free_port, jwt_parts, make_tempdir,
                             stop_process, t)

MOSQUITTO = os.environ.get("MOSQUITTO") or "/usr/sbin/mosquitto"
PLUGIN = os.environ.get("TESSERA_PLUGIN") or os.path.join(os.path.dirname(os.path.abspath(BIN)),
                                                          "tessera_mosquitto.so")
ASAN = SANITIZERS

# Brokers alive right now, so that a failing test can show their logs.
LIVE_BROKERS = []

# The redirect URI of the code-flow clients the tests register.
CB = "https://app.example/cb"

# MQTT reason codes docs/broker.md names.
NOT_AUTHORIZED_V311 = 5          # CONNACK return code
NOT_AUTHORIZED_V5 = 0x87         # CONNACK / SUBACK reason
SUBACK_FAILURE_V311 = 0x80


def plugin_problem():
    """Why the plugin cannot be used (None when it is there)."""
    if not os.path.exists(PLUGIN):
        return "plugin %s does not exist: run `make` first (or set TESSERA_PLUGIN)" % PLUGIN
    if not os.path.exists(MOSQUITTO):
        return "%s does not exist: apt-get install mosquitto" % MOSQUITTO
    return None


def _gcc_file(name):
    try:
        p = subprocess.run(["gcc", "-print-file-name=%s" % name], capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = p.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _needs(lib_path, soname_prefix):
    try:
        p = subprocess.run(["ldd", lib_path], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return soname_prefix in p.stdout


def sanitizer_env(plugin=PLUGIN):
    """The environment additions that let a non-sanitized mosquitto load an ASan plugin."""
    if not ASAN:
        return {}
    pre = []
    asan = _gcc_file("libasan.so")
    assert asan, "TESSERA_ASAN=1 but `gcc -print-file-name=libasan.so` finds no libasan"
    pre.append(asan)
    if _needs(plugin, "libubsan"):
        ubsan = _gcc_file("libubsan.so")
        if ubsan:
            pre.append(ubsan)
    return {
        "LD_PRELOAD": ":".join(pre),
        "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=0:abort_on_error=0:fast_unwind_on_malloc=0",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }


# ---------------------------------------------------------------- sanitizer reports

_PLUGIN_FRAME = re.compile(r"tessera_mosquitto\.so|\bbroker/[a-z_]+\.c|"
                           r"\blib/(?:[a-z_]+/)?[a-z_]+\.c|"
                           r"<unknown module>")


def plugin_sanitizer_reports(text):
    """The sanitizer findings in a mosquitto log that concern the plugin: every non-leak report
    (ASan error, UBSan `runtime error:`), and each LeakSanitizer leak whose stack mentions the
    plugin. mosquitto's own leaks (if any) are left out."""
    out = []
    for m in re.finditer(r"^.*runtime error:.*$", text, re.M):
        out.append(m.group(0))
    for m in re.finditer(r"^==\d+==ERROR: AddressSanitizer: .*$", text, re.M):
        out.append(m.group(0))
    if "LeakSanitizer" in text:
        blocks = re.split(r"\n\s*\n", text[text.index("LeakSanitizer"):])
        for b in blocks:
            b = b.strip()
            if b.startswith(("Direct leak", "Indirect leak")) and _PLUGIN_FRAME.search(b):
                out.append(b)
    return out


# ---------------------------------------------------------------- the broker


class Broker:
    """One mosquitto in its own directory. opts: a list of (name, value) plugin options (without
    the plugin_opt_ prefix; a value None leaves the option out), written in order."""

    def __init__(self, workdir, opts, name="mosq", plugin=None, extra_conf="", tls=None,
                 conf=None):
        self.dir = str(workdir)
        self.tls = tls              # (certificate, key): a second listener, MQTT over TLS
        self.tls_port = None
        self.conf = conf            # a whole configuration (format fields port, tls_port)
        self.name = name
        self.opts = list(opts.items()) if isinstance(opts, dict) else list(opts)
        self.plugin = plugin or PLUGIN
        self.extra_conf = extra_conf
        self.proc = None
        self.port = None
        self.rc = None
        self.starts = 0
        self.log_path = None
        self.conf_path = None
        self.expect_failure = False

    def conf_text(self):
        if self.conf is not None:
            text = self.conf.format(port=self.port, tls_port=self.tls_port)
            if os.getuid() == 0:
                text += "\nuser %s\n" % pwd.getpwuid(os.getuid()).pw_name
            return text
        lines = [
            "per_listener_settings false",
            "listener %d 127.0.0.1" % self.port,
            "allow_anonymous false",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %H:%M:%S",
        ]
        if self.tls:
            # what etc/mosquitto.conf shows: TLS 1.2 at least, 1.3 whenever the client has it
            lines += ["listener %d 127.0.0.1" % self.tls_port, "certfile %s" % self.tls[0],
                      "keyfile %s" % self.tls[1], "tls_version tlsv1.2"]
        if os.getuid() == 0:
            # as root mosquitto would switch to the user "mosquitto", who cannot read our files
            lines.append("user %s" % pwd.getpwuid(os.getuid()).pw_name)
        lines.append("plugin %s" % self.plugin)
        for k, v in self.opts:
            if v is not None:
                lines.append("plugin_opt_%s %s" % (k, v))
        if self.extra_conf:
            lines.append(self.extra_conf)
        return "\n".join(lines) + "\n"

    def _spawn(self):
        self.starts += 1
        self.conf_path = os.path.join(self.dir, "%s-%d.conf" % (self.name, self.starts))
        with open(self.conf_path, "w") as f:
            f.write(self.conf_text())
        self.log_path = os.path.join(self.dir, "%s-%d.log" % (self.name, self.starts))
        env = dict(os.environ)
        env.update(sanitizer_env(self.plugin))
        self.args = [MOSQUITTO, "-c", self.conf_path]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir, env=env)
        self.rc = None
        LIVE_BROKERS.append(self)

    def start(self):
        """Starts mosquitto and waits until its port accepts connections (retrying on another
        port if this one was taken meanwhile)."""
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            self.tls_port = free_port() if self.tls or self.conf else None
            self._spawn()
            if self._wait_listening():
                return self
            last = self.log()
            self._reap()
            if "in use" not in last.lower():
                break
        self.expect_failure = True      # reported here, not again at teardown
        raise AssertionError("mosquitto did not start listening: %r (exit %r)\nlog:\n%s"
                             % (self.args, self.rc, last[-4000:]))

    def start_expecting_exit(self, within=5.0):
        """Starts mosquitto with a configuration it must refuse: returns its exit code once it
        has exited (asserting that it does within `within` s, stretched)."""
        self.expect_failure = True
        self.port = free_port()
        self._spawn()
        try:
            self.proc.wait(timeout=t(within))
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("mosquitto still runs %.1f s after start with a bad "
                                 "configuration\nconf:\n%s\nlog:\n%s"
                                 % (t(within), self.conf_text(), self.log()[-4000:]))
        self._reap()
        return self.rc

    def _wait_listening(self):
        deadline = time.monotonic() + t(10)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                for port in (self.port, self.tls_port):
                    if port:
                        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def _reap(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=t(10))
        if self.rc is None and self.proc is not None:
            self.rc = self.proc.returncode
        if self in LIVE_BROKERS:
            LIVE_BROKERS.remove(self)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        """Sends sig and waits (bounded); returns the exit code (killing it if it hangs)."""
        return stop_process(self, sig, LIVE_BROKERS)

    def problems(self):
        """What was wrong with how this broker ended (after stop())."""
        out = []
        if self.rc != 0 and not self.expect_failure:
            out.append("%s exited with %r" % (self.name, self.rc))
        reports = plugin_sanitizer_reports(self.log())
        if reports:
            out.append("%s: %d sanitizer report(s) about the plugin:\n%s"
                       % (self.name, len(reports), "\n\n".join(r[:3000] for r in reports)))
        return out

    # -- clients
    def client(self, token=None, username="user", client_id=None, v5=False, will=None,
               clean=True, tls_ca=None, tls_cert=None):
        return MqttClient(self, token=token, username=username, client_id=client_id, v5=v5,
                          will=will, clean=clean, tls_ca=tls_ca, tls_cert=tls_cert)

    def connect(self, token=None, username="user", client_id=None, v5=False, within=10,
                will=None, clean=True, tls_ca=None, tls_cert=None):
        """A connected client (asserting CONNACK success)."""
        c = self.client(token, username=username, client_id=client_id, v5=v5, will=will,
                        clean=clean, tls_ca=tls_ca, tls_cert=tls_cert)
        rc = c.connect(within=within)
        if rc != 0:
            c.close()
            raise AssertionError("CONNECT refused with %r (want 0)\nbroker log tail:\n%s"
                                 % (rc, self.log()[-2000:]))
        return c

    def connect_rc(self, token=None, username="user", client_id=None, v5=False, within=10,
                   clean=True, tls_ca=None, tls_cert=None):
        """The CONNACK code a client gets (then closes it)."""
        c = self.client(token, username=username, client_id=client_id, v5=v5, clean=clean,
                        tls_ca=tls_ca, tls_cert=tls_cert)
        try:
            return c.connect(within=within)
        finally:
            c.close()


class BrokerFactory:
    """Makes brokers in fresh temp dirs; close() stops them all and reports how they ended. The
    dirs are removed when everything ended cleanly, else kept for a look."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.brokers = []
        self.dirs = []
        self.clients = []

    def new(self, opts, name="mosq", **kw):
        d = make_tempdir("mq-" + self.prefix)
        self.dirs.append(d)
        b = Broker(d, opts, name=name, **kw)
        self.brokers.append(b)
        return b

    def start(self, opts, name="mosq", **kw):
        return self.new(opts, name=name, **kw).start()

    def close(self):
        problems = []
        for b in self.brokers:
            if b.proc is None:
                continue
            b.stop()
            for p in b.problems():
                problems.append("%s\n--- log (tail, %s) ---\n%s"
                                % (p, b.log_path, b.log()[-4000:]))
        assert not problems, "\n\n".join(problems)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def broker_opts(srv, mode="url", audience="mqtt", jwks_file=None, introspect=None,
                cache_seconds=None, client_id_rule=None, introspect_url=None, feed=None):
    """plugin options for a broker trusting Tessera server srv: mode "url" (plugin_opt_jwks_url
    = srv /jwks) or "file" (jwks_file, a path); introspect: a harness Client allowed
    `introspect` (then plugin_opt_introspect_url, srv's /introspect unless introspect_url is
    given, and its credentials are set)."""
    opts = [("issuer", srv.issuer)]
    if audience is not None:
        opts.append(("audience", audience))
    if mode == "url":
        opts.append(("jwks_url", srv.url("/jwks")))
    elif mode == "file":
        opts.append(("jwks_file", jwks_file))
    if introspect is not None:
        opts += [("introspect_url", introspect_url or srv.url("/introspect")),
                 ("introspect_client_id", introspect.id),
                 ("introspect_client_secret", introspect.secret)]
    if cache_seconds is not None:
        opts.append(("cache_seconds", cache_seconds))
    if client_id_rule is not None:
        opts.append(("client_id_rule", client_id_rule))
    if feed is not None:
        opts.append(("feed", feed))
    return opts


# ---------------------------------------------------------------- a stand-in /introspect


class FakeIntrospection:
    """An HTTP endpoint to give the plugin as plugin_opt_introspect_url: it forwards each POST to
    a real Tessera's /introspect (mode None), or answers every request with a canned status and
    headers instead (fail(status, headers)). It records, per request, the token asked about and
    the status answered (requests, under cond)."""

    def __init__(self, upstream):
        import http.server
        import urllib.error
        import urllib.parse
        import urllib.request

        fake = self
        self.upstream = upstream
        self.mode = None                # None: forward; else (status, headers dict)
        self.requests = []              # (token, status)
        self.cond = threading.Condition()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = urllib.parse.parse_qs(body.decode("ascii", "replace")).get(
                    "token", [""])[0]
                with fake.cond:
                    mode = fake.mode
                if mode is None:
                    req = urllib.request.Request(fake.upstream, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() in ("authorization",
                                                                           "content-type",
                                                                           "accept")})
                    try:
                        with urllib.request.urlopen(req, timeout=5) as r:
                            status, headers, out = r.status, {}, r.read()
                    except urllib.error.HTTPError as e:
                        status, headers, out = e.code, {}, e.read()
                else:
                    status, headers = mode
                    out = b'{"error":"stand-in"}'
                # recorded before the answer goes out: the broker may act on it at once
                with fake.cond:
                    fake.requests.append((token, status))
                    fake.cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/introspect" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def fail(self, status, headers=None):
        with self.cond:
            self.mode = (status, dict(headers or {}))

    def forward(self):
        with self.cond:
            self.mode = None

    def count(self, token=None, status=None):
        """How many requests (about token, answered with status, when given) came so far."""
        with self.cond:
            return sum(1 for tk, st in self.requests
                       if (token is None or tk == token) and (status is None or st == status))

    def wait_count(self, n, token=None, status=None, within=5):
        """Waits until count(token, status) >= n (within seconds, stretched); returns it."""
        deadline = time.monotonic() + t(within)
        with self.cond:
            while True:
                c = sum(1 for tk, st in self.requests
                        if (token is None or tk == token) and (status is None or st == status))
                left = deadline - time.monotonic()
                if c >= n or left <= 0:
                    return c
                self.cond.wait(min(left, 0.2))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(t(5))


# ---------------------------------------------------------------- MQTT clients


def token_client_id(token, suffix=None):
    """The MQTT client id the plugin's strict rule (its default) lets token use: a client's own
    token (no username claim) its client_id; a user's token <client_id>:<sub>, or with suffix
    <client_id>:<sub>:<suffix>. None when token is no JWT with a client_id."""
    try:
        claims = jwt_parts(token)[1]
    except (AttributeError, ValueError, TypeError):
        return None
    client = claims.get("client_id") if isinstance(claims, dict) else None
    if not isinstance(client, str):
        return None
    if "username" not in claims:
        return client
    return "%s:%s" % (client, claims.get("sub")) + (":%s" % suffix if suffix else "")


def _code(rc):
    """An int of a paho rc / ReasonCodes."""
    if isinstance(rc, int):
        return rc
    v = getattr(rc, "value", None)
    return int(v) if v is not None else int(rc)


class MqttClient:
    """A paho client whose callbacks record everything, with bounded waits. Never reconnects
    on its own. clean False asks for a persistent session (MQTT 3.1.1 clean session 0; MQTT 5
    clean start 0 with a session expiry of an hour)."""

    def __init__(self, broker, token=None, username="user", client_id=None, v5=False,
                 will=None, clean=True, tls_ca=None, tls_cert=None):
        self.broker = broker
        # tls_ca: connect to the broker's TLS listener, trusting that CA
        self.port = broker.tls_port if tls_ca else broker.port
        self.v5 = v5
        self.client_id = client_id if client_id is not None else (
            token_client_id(token, uuid.uuid4().hex[:8]) or "c-" + uuid.uuid4().hex[:12])
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.clean = clean
        kw = {} if v5 else {"clean_session": clean}
        self.c = mqtt.Client(client_id=self.client_id, protocol=proto,
                             reconnect_on_failure=False, **kw)
        if username is not None:
            self.c.username_pw_set(username, token)
        if will is not None:
            self.c.will_set(*will)     # (topic, payload, qos)
        if tls_ca:
            # tls_cert: the (certificate, key) files of a client certificate to present
            self.c.tls_set(ca_certs=tls_ca, certfile=tls_cert[0] if tls_cert else None,
                           keyfile=tls_cert[1] if tls_cert else None)
        self.cond = threading.Condition()
        self.connacks = []          # CONNACK codes
        self.session_present = []   # the CONNACKs' session-present flags
        self.disconnects = []       # (time.time(), rc)
        self.messages = []          # (topic, payload bytes, qos)
        self.subacks = {}           # mid -> [codes]
        self.pubacks = set()        # mids
        self.started = False
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_publish = self._on_publish

    # callbacks (paho's thread)
    def _on_connect(self, _c, _u, flags, rc, _props=None):
        with self.cond:
            self.connacks.append(_code(rc))
            self.session_present.append(bool(flags.get("session present")))
            self.cond.notify_all()

    def _on_disconnect(self, _c, _u, rc, _props=None):
        with self.cond:
            self.disconnects.append((time.time(), _code(rc)))
            self.cond.notify_all()

    def _on_message(self, _c, _u, msg):
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload), msg.qos))
            self.cond.notify_all()

    def _on_subscribe(self, _c, _u, mid, granted, _props=None):
        with self.cond:
            self.subacks[mid] = [_code(g) for g in granted]
            self.cond.notify_all()

    def _on_publish(self, _c, _u, mid):
        with self.cond:
            self.pubacks.add(mid)
            self.cond.notify_all()

    def wait(self, pred, within=None, until=None):
        """Waits until pred() holds, for within seconds (stretched by t()) or until the wall
        clock time `until` (not stretched); returns pred()'s last value."""
        if until is not None:
            deadline = time.monotonic() + (until - time.time())
        else:
            deadline = time.monotonic() + t(within)
        with self.cond:
            while True:
                v = pred()
                left = deadline - time.monotonic()
                if v or left <= 0:
                    return v
                self.cond.wait(min(left, 0.2))

    # actions
    def connect(self, within=10):
        """Connects; returns the CONNACK code (0 accepted), or "no CONNACK" / "closed" when the
        broker closed the connection without one."""
        if self.v5:
            from paho.mqtt.properties import Properties
            from paho.mqtt.packettypes import PacketTypes
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 0 if self.clean else 3600
            self.c.connect("127.0.0.1", self.port, keepalive=30,
                           clean_start=self.clean, properties=props)
        else:
            self.c.connect("127.0.0.1", self.port, keepalive=30)
        self.c.loop_start()
        self.started = True
        self.wait(lambda: self.connacks or self.disconnects, within)
        with self.cond:
            if self.connacks:
                return self.connacks[0]
            return "closed without CONNACK" if self.disconnects else "no CONNACK"

    @property
    def connected(self):
        with self.cond:
            return bool(self.connacks) and self.connacks[0] == 0 and not self.disconnects

    def subscribe(self, topic_filter, qos=1, within=5):
        """Subscribes; returns the SUBACK codes (a list of ints)."""
        rc, mid = self.c.subscribe(topic_filter, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, "subscribe(%r) rc %r" % (topic_filter, rc)
        got = self.wait(lambda: self.subacks.get(mid), within)
        assert got is not None, "no SUBACK for %r within %.1f s" % (topic_filter, t(within))
        return got

    def publish(self, topic, payload, qos=0, within=5):
        """Publishes; for QoS 1 waits for the PUBACK (asserting it comes)."""
        info = self.c.publish(topic, payload, qos=qos)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, "publish(%r) rc %r" % (topic, info.rc)
        if qos > 0:
            ok = self.wait(lambda: info.mid in self.pubacks, within)
            assert ok, "no PUBACK for %r (QoS %d) within %.1f s" % (topic, qos, t(within))
        return info

    def wait_messages(self, n, within=5):
        """Waits until at least n messages arrived; returns them all (a copy)."""
        self.wait(lambda: len(self.messages) >= n, within)
        with self.cond:
            return list(self.messages)

    def wait_disconnect(self, within=None, until=None):
        """The first (time, rc) disconnect, or None if none came within `within` s (stretched)
        or by the wall-clock time `until`."""
        self.wait(lambda: self.disconnects, within, until)
        with self.cond:
            return self.disconnects[0] if self.disconnects else None

    def drop(self):
        """Closes the TCP connection without DISCONNECT (so that the broker sends the will)."""
        sock = self.c.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        """Disconnects and stops the network thread (bounded)."""
        if not self.started:
            return
        self.started = False
        try:
            self.c.disconnect()
        except Exception:  # noqa: BLE001  (already closed)
            pass
        th = threading.Thread(target=self.c.loop_stop, daemon=True)
        th.start()
        th.join(t(5))

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def roundtrip_ok(broker, token, topic, v5=False):
    """True when a client with token may subscribe to topic and gets its own publish back (the
    token is accepted and has pubsub rights there)."""
    c = broker.client(token, v5=v5)
    try:
        if c.connect() != 0:
            return False
        if c.subscribe(topic)[0] >= 0x80:
            return False
        c.publish(topic, b"ping", qos=1)
        return bool(c.wait_messages(1, within=3))
    finally:
        c.close()


__all__ = ["ASAN", "Broker", "CB", "BrokerFactory", "FakeIntrospection", "LIVE_BROKERS",
           "MOSQUITTO", "MqttClient", "NOT_AUTHORIZED_V311", "NOT_AUTHORIZED_V5", "PLUGIN", "SLOW",
           "SUBACK_FAILURE_V311", "broker_opts", "plugin_problem", "plugin_sanitizer_reports",
           "roundtrip_ok", "sanitizer_env", "token_client_id"]
