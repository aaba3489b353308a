"""Shared harness for Tessera's end-to-end and interop tests.

Runs the real binary ($TESSERA_BIN, default build/tessera): `init`, `client add` through the CLI,
then `serve` on a free loopback port. Every subprocess and HTTP call has a timeout; a server's
stderr goes to a file that is shown when a test fails, and at teardown each server must exit 0 on
SIGTERM with no AddressSanitizer / LeakSanitizer / UBSan report in its stderr.

Set TESSERA_ASAN=1 (the Makefile's `asan` target does) to stretch every timeout for a slow build.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TESSERA_BIN") or os.path.join(REPO, "build", "tessera")
# the one switch for sanitizer builds (docs/testing.md, "The suite's own rules")
SANITIZERS = bool(os.environ.get("TESSERA_ASAN"))
SLOW = 3.0 if SANITIZERS else 1.0
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
VSCHAR = re.compile(r"^[\x20-\x7e]+$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")

# Servers alive right now, so that a failing test can show their stderr.
LIVE_SERVERS = []


def t(seconds):
    """A timeout in seconds, stretched for sanitizer builds."""
    return seconds * SLOW


def http_timeout():
    return t(10)


def sanitizer_problems(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def b64url_decode(s):
    if isinstance(s, str):
        s = s.encode("ascii")
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def b64url_encode(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------- CLI


class CliResult:
    def __init__(self, args, rc, stdout, stderr):
        self.args, self.rc, self.stdout, self.stderr = args, rc, stdout, stderr

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            raise AssertionError("CLI %r printed non-JSON stdout %r (stderr %r): %s"
                                 % (self.args, self.stdout, self.stderr, e))

    def __repr__(self):
        return "CliResult(args=%r, rc=%r, stdout=%r, stderr=%r)" % (
            self.args, self.rc, self.stdout, self.stderr)


def run_cli(args, db=None, input=None, cwd=None, timeout=None, env=None):
    """Runs `tessera ARGS [--db DB]` and returns a CliResult; fails on a sanitizer report."""
    argv = [BIN] + list(args)
    if db is not None:
        argv += ["--db", str(db)]
    try:
        p = subprocess.run(argv, input=input, capture_output=True, text=True, cwd=cwd,
                           timeout=timeout or t(30), env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError("CLI %r did not finish within its timeout" % (argv,))
    bad = sanitizer_problems(p.stderr)
    assert not bad, "sanitizer report from %r:\n%s" % (argv, p.stderr)
    return CliResult(argv, p.returncode, p.stdout, p.stderr)


def cli_ok(args, db=None, input=None, cwd=None):
    """Runs the CLI, asserts exit 0, returns the parsed JSON it printed."""
    r = run_cli(args, db=db, input=input, cwd=cwd)
    assert r.rc == 0, "expected exit 0: %r" % (r,)
    return r.json()


# ---------------------------------------------------------------- clients and HTTP


def form_quote(s):
    """application/x-www-form-urlencoded encoding of one value (RFC 6749 §2.3.1, appendix B)."""
    return urllib.parse.quote_plus(s, safe="")


class Client:
    def __init__(self, client_id, secret=None):
        self.id = client_id
        self.secret = secret

    def basic(self):
        raw = "%s:%s" % (form_quote(self.id), form_quote(self.secret or ""))
        return "Basic " + base64.b64encode(raw.encode("utf-8")).decode("ascii")

    def __repr__(self):
        return "Client(%r)" % (self.id,)


def post_form(url, data, headers=None, timeout=None, verify=True):
    """POST an urlencoded body: data is a list of (k, v) pairs, a dict, or a raw str/bytes body.
    verify: as for requests (a CA file for a server with a test certificate)."""
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if headers:
        h.update(headers)
    if isinstance(data, dict):
        data = list(data.items())
    if isinstance(data, list):
        data = urllib.parse.urlencode(data)
    return requests.post(url, data=data, headers=h, timeout=timeout or http_timeout(),
                         allow_redirects=False, verify=verify)


def auth_parts(client, auth):
    """Headers and body pairs that authenticate client with method auth (basic|post|none)."""
    if client is None or auth == "none":
        return {}, []
    if auth == "basic":
        return {"Authorization": client.basic()}, []
    if auth == "post":
        return {}, [("client_id", client.id), ("client_secret", client.secret or "")]
    raise ValueError(auth)


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): float}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$', line)
        assert m, "not a Prometheus sample line: %r" % (line,)
        labels = {}
        if m.group(3):
            for lm in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[lm.group(1)] = lm.group(2)
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


# ---------------------------------------------------------------- JWT helpers


def jwt_parts(token):
    """The unverified (header, claims) of a compact JWS."""
    h, p, _s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def verify_jwt(token, jwks, algs=("ES256",)):
    """Verifies token against a JWKS dict with authlib.jose; returns the claims dict."""
    from authlib.jose import JsonWebKey, JsonWebToken
    keyset = JsonWebKey.import_key_set(jwks)
    claims = JsonWebToken(list(algs)).decode(token, keyset)
    return dict(claims)


def signing_key_from_db(db, kid):
    """(alg, pem) of the signing key kid, read straight from the database."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=t(5))
    try:
        row = con.execute("SELECT alg, pem FROM signing_keys WHERE kid = ?", (kid,)).fetchone()
    finally:
        con.close()
    assert row, "no signing key %r in %s" % (kid, db)
    pem = row[1]
    if isinstance(pem, bytes):
        pem = pem.decode("ascii")
    return row[0], pem


def sign_jwt(pem, kid, claims, alg="ES256", typ="at+jwt", extra_header=None):
    """A compact JWS of claims signed with the private key pem (as the daemon would)."""
    from authlib.jose import JsonWebKey, JsonWebSignature
    key = JsonWebKey.import_key(pem, {"kty": "EC" if alg.startswith("ES") else "RSA"})
    header = {"alg": alg, "kid": kid}
    if typ:
        header["typ"] = typ
    if extra_header:
        header.update(extra_header)
    payload = json.dumps(claims).encode("utf-8")
    out = JsonWebSignature([alg]).serialize_compact(header, payload, key).decode("ascii")
    if alg == "ES256":
        # the low-s form, as the daemon signs and the verifiers demand (lib/jwt.c)
        n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        h, p, sig = out.split(".")
        raw = b64url_decode(sig)
        r, s_ = raw[:32], int.from_bytes(raw[32:], "big")
        if s_ > n // 2:
            out = "%s.%s.%s" % (h, p, b64url_encode(r + (n - s_).to_bytes(32, "big")))
    return out


def public_pem(pem):
    from authlib.jose import JsonWebKey
    key = JsonWebKey.import_key(pem, {"kty": "EC"})
    out = key.as_pem(is_private=False)
    return out if isinstance(out, bytes) else out.encode("ascii")


def forge_none(claims, kid, typ="at+jwt"):
    h = b64url_encode(json.dumps({"alg": "none", "typ": typ, "kid": kid}))
    p = b64url_encode(json.dumps(claims))
    return "%s.%s." % (h, p)


def forge_hs256(claims, kid, secret, typ="at+jwt"):
    h = b64url_encode(json.dumps({"alg": "HS256", "typ": typ, "kid": kid}))
    p = b64url_encode(json.dumps(claims))
    sig = hmac.new(secret, ("%s.%s" % (h, p)).encode("ascii"), hashlib.sha256).digest()
    return "%s.%s.%s" % (h, p, b64url_encode(sig))


# ---------------------------------------------------------------- the daemon


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def config_text(config):
    if config is None or isinstance(config, str):
        return config
    lines = []
    for section, kv in config.items():
        lines.append("[%s]" % section)
        for k, v in kv.items():
            lines.append("%s = %s" % (k, v))
        lines.append("")
    return "\n".join(lines)


def stop_process(owner, sig, live):
    """Stops owner.proc (a Popen, or None) with sig, waiting a bounded time and killing it if it
    hangs; keeps the exit code (or "hung after SIG (killed)") in owner.rc, drops owner from the
    list live, and returns owner.rc."""
    if owner.proc is None:
        return owner.rc
    if owner.proc.poll() is None:
        owner.proc.send_signal(sig)
        try:
            owner.proc.wait(timeout=t(10))
        except subprocess.TimeoutExpired:
            owner.proc.kill()
            owner.proc.wait(timeout=t(10))
            owner.rc = "hung after %s (killed)" % signal.Signals(sig).name
    if owner.rc is None:
        owner.rc = owner.proc.returncode
    if owner in live:
        live.remove(owner)
    return owner.rc


class Server:
    """One tessera daemon in its own directory. Add clients (CLI) before or after start().
    tls=(cert file, key file) serves https (--tls-cert, --tls-key); ca is then the CA file the
    harness's HTTP calls verify the server's certificate with."""

    def __init__(self, workdir, config=None, flags=True, name="srv", tls=None, ca=None):
        self.dir = str(workdir)
        self.name = name
        self.db = os.path.join(self.dir, "tessera.db")
        self.config = config_text(config)
        self.config_path = None
        self.flags = flags
        self.tls = tls
        self.tls_flags = True   # False: the config file names the files (tls_cert, tls_key)
        self.verify = ca if tls and ca else True
        self.proc = None
        self.port = None
        self.rc = None
        self.starts = 0
        self.stderr_path = None
        self.kid = None
        self.clients = {}
        if self.config is not None:
            self.config_path = os.path.join(self.dir, "tessera.conf")
            with open(self.config_path, "w") as f:
                f.write(self.config)

    # -- setup through the CLI
    def init(self):
        out = cli_ok(["init"], db=self.db)
        self.kid = out.get("kid")
        return out

    def cli(self, args, input=None):
        return run_cli(args, db=self.db, input=input)

    def add_client(self, client_id, scope=None, grants=(), public=False, name=None,
                   redirect_uris=(), extra=()):
        args = ["client", "add", client_id]
        if public:
            args.append("--public")
        if name is not None:
            args += ["--name", name]
        for u in redirect_uris:
            args += ["--redirect-uri", u]
        for g in grants:
            args += ["--grant", g]
        if scope is not None:
            args += ["--scope", scope]
        args += list(extra)
        out = cli_ok(args, db=self.db)
        assert out.get("client_id") == client_id, out
        c = Client(client_id, out.get("client_secret"))
        self.clients[client_id] = c
        return c

    # -- process
    @property
    def base(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    @property
    def issuer(self):
        return self.base

    def url(self, path):
        return self.base + path

    def start(self, extra_args=(), port=None):
        """Starts serve. flags=True passes --listen and --issuer, "listen" only --listen, False
        neither (then give the port the config listens on)."""
        if not os.path.exists(self.db):
            self.init()
        last = None
        for _attempt in range(1 if port else 3):
            self.port = port or free_port()
            self.starts += 1
            self.stderr_path = os.path.join(self.dir, "%s-%d.stderr" % (self.name, self.starts))
            args = [BIN, "serve", "--db", self.db]
            if self.flags in (True, "listen"):
                args += ["--listen", "127.0.0.1:%d" % self.port]
            if self.flags is True:
                args += ["--issuer", self.issuer]
            if self.config_path:
                args += ["--config", self.config_path]
            if self.tls and self.tls_flags:
                args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
            args += list(extra_args)
            self.args = args
            with open(self.stderr_path, "wb") as err, \
                    open(os.path.join(self.dir, "%s.stdout" % self.name), "ab") as out:
                self.proc = subprocess.Popen(args, stdout=out, stderr=err, cwd=self.dir)
            self.rc = None
            LIVE_SERVERS.append(self)
            if self._wait_healthy():
                return self
            last = self.stderr()
            self.proc.kill()
            self.proc.wait(timeout=t(10))
            LIVE_SERVERS.remove(self)
            if "in use" not in last.lower() and "bind" not in last.lower():
                break
        raise AssertionError("tessera serve did not become healthy: %r\nstderr:\n%s"
                             % (self.args, last))

    def _wait_healthy(self):
        deadline = time.monotonic() + t(10)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            # the start-up line is written once the daemon listens (tests read it): wait for it
            # first, so that one /healthz, not a stream of them, holds a connection at the start
            if "tessera: listening on" not in self.stderr():
                time.sleep(0.02)
                continue
            try:
                r = requests.get(self.url("/healthz"), timeout=1, verify=self.verify)
                if r.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def stderr(self):
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        """Sends sig and waits (bounded); returns the exit code (killing it if it hangs)."""
        return stop_process(self, sig, LIVE_SERVERS)

    def problems(self):
        """What was wrong with how this server ended (after stop())."""
        out = []
        if self.rc != 0:
            out.append("%s exited with %r" % (self.name, self.rc))
        bad = sanitizer_problems(self.stderr())
        if bad:
            out.append("%s stderr has sanitizer output %r" % (self.name, bad))
        return out

    # -- HTTP helpers
    def get(self, path, **kw):
        kw.setdefault("timeout", http_timeout())
        kw.setdefault("allow_redirects", False)
        kw.setdefault("verify", self.verify)
        return requests.get(self.url(path), **kw)

    def post(self, path, data, headers=None):
        return post_form(self.url(path), data, headers=headers, verify=self.verify)

    def token(self, client, scope=None, auth="basic", grant_type="client_credentials",
              extra=(), headers=None):
        h, body = auth_parts(client, auth)
        if headers:
            h.update(headers)
        pairs = []
        if grant_type is not None:
            pairs.append(("grant_type", grant_type))
        if scope is not None:
            pairs.append(("scope", scope))
        return self.post("/token", pairs + body + list(extra), headers=h)

    def access_token(self, client, scope=None, auth="basic"):
        r = self.token(client, scope=scope, auth=auth)
        assert r.status_code == 200, "token for %r: %s %s" % (client, r.status_code, r.text)
        return r.json()["access_token"]

    def introspect(self, caller, token, hint=None, auth="basic", extra=()):
        h, body = auth_parts(caller, auth)
        pairs = [] if token is None else [("token", token)]
        if hint is not None:
            pairs.append(("token_type_hint", hint))
        return self.post("/introspect", pairs + body + list(extra), headers=h)

    def is_active(self, caller, token, hint=None):
        r = self.introspect(caller, token, hint=hint)
        assert r.status_code == 200, "introspect: %s %s" % (r.status_code, r.text)
        return r.json().get("active")

    def revoke(self, caller, token, hint=None, auth="basic"):
        h, body = auth_parts(caller, auth)
        pairs = [] if token is None else [("token", token)]
        if hint is not None:
            pairs.append(("token_type_hint", hint))
        return self.post("/revoke", pairs + body, headers=h)

    def jwks(self):
        r = self.get("/jwks")
        assert r.status_code == 200, r.text
        return r.json()

    def metrics(self):
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return parse_metrics(r.text)


def all_at_once(n, fn):
    """Runs fn(i) in n threads released together; returns the results in order (exceptions are
    results too, asserted by the caller in the main thread)."""
    out = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        try:
            gate.wait(timeout=t(20))
            out[i] = fn(i)
        except Exception as e:      # collected, asserted by the caller
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=t(60))
    assert not any(th.is_alive() for th in threads), "a call never finished"
    return out


# ---------------------------------------------------------------- a test PKI


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=t(30))
    assert p.returncode == 0, "openssl %r: %s" % (args, p.stderr)


class PKI:
    """A test CA and server certificates for 127.0.0.1 and localhost, in the directory d (made
    with the openssl command): ca, ec and rsa (each a (certificate, key) pair), other.key
    (a key of no certificate) and encrypted.key (the EC key under the passphrase "secret")."""

    def __init__(self, d):
        self.dir = d
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=Tessera test CA", cwd=d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        self.ca = self.path("ca.pem")
        self.ec = self.server("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        self.rsa = self.server("rsa", ["-newkey", "rsa:2048"])
        # a key of no certificate here, and the EC key encrypted
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", "other.key", cwd=d)
        openssl("pkey", "-in", "ec.key", "-aes256", "-passout", "pass:secret",
                "-out", "encrypted.key", cwd=d)

    def path(self, name):
        return os.path.join(self.dir, name)

    def server(self, name, newkey):
        openssl("req", *newkey, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=localhost", cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out",
                name + ".pem", cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")


def make_tempdir(prefix):
    """A private temp dir (not pytest's shared basetemp, which a concurrent pytest run may
    prune while this one still uses it)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix)[:40]
    return tempfile.mkdtemp(prefix="tessera-%s-" % safe)


class ServerFactory:
    """Makes servers in fresh temp dirs; close() stops them all and reports how they ended.
    The dirs are removed when everything ended cleanly, else kept for a look."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.servers = []
        self.dirs = []

    def new(self, config=None, flags=True, name="srv", tls=None, ca=None):
        d = make_tempdir(self.prefix)
        self.dirs.append(d)
        s = Server(d, config=config, flags=flags, name=name, tls=tls, ca=ca)
        self.servers.append(s)
        return s

    def start(self, config=None, clients=(), flags=True, name="srv"):
        """New server with clients (dicts of add_client kwargs incl. client_id), started."""
        s = self.new(config=config, flags=flags, name=name)
        s.init()
        for c in clients:
            c = dict(c)
            s.add_client(c.pop("client_id"), **c)
        return s.start()

    def close(self):
        problems = []
        for s in self.servers:
            if s.proc is None:
                continue
            s.stop()
            for p in s.problems():
                problems.append("%s\n--- stderr (tail, %s) ---\n%s"
                                % (p, s.stderr_path, s.stderr()[-4000:]))
        assert not problems, "\n\n".join(problems)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server_factory(request):
    f = ServerFactory(request.module.__name__.split(".")[-1])
    yield f
    f.close()


@pytest.fixture
def fresh_factory(request):
    f = ServerFactory(request.node.name)
    yield f
    f.close()


@pytest.fixture
def tdir(request):
    """A private temp dir (a str), removed afterwards."""
    d = make_tempdir(request.node.name)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def failure_sections():
    """What a failed test's report shows: the tail of each live daemon's stderr."""
    return [("tessera %s stderr (tail, %s)" % (s.name, s.stderr_path), s.stderr()[-3000:])
            for s in list(LIVE_SERVERS)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        rep.sections.extend(failure_sections())


def pytest_configure(config):
    if not os.path.exists(BIN):
        raise pytest.UsageError("TESSERA_BIN %s does not exist: run `make` first" % BIN)
    # an exception (a failed assertion) escaping a thread fails the test instead of being a
    # warning; tests still collect what their threads see and assert in the main thread
    config.addinivalue_line("filterwarnings",
                            "error::pytest.PytestUnhandledThreadExceptionWarning")


# ================================================================ users, browsers, PKCE, OIDC
# The authorization code flow without a browser: a UserAgent keeps its own cookie jar (so tests
# can drop, swap or inspect cookies, and so __Host- cookies of an https issuer still work over
# the test's plain http), reads the login and consent forms with the stdlib's html.parser, posts
# them as a browser would, and never follows a redirect that leaves the server (the client's
# redirect_uri): the code is read from that Location header.

import html.parser  # noqa: E402
import secrets  # noqa: E402

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def pkce_challenge(verifier):
    """The S256 code_challenge of verifier (RFC 7636 §4.2)."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


class PKCE:
    """A verifier (43..128 unreserved chars) and its S256 challenge."""

    def __init__(self, verifier=None, length=64):
        if verifier is None:
            verifier = "".join(secrets.choice(UNRESERVED) for _ in range(length))
        self.verifier = verifier
        self.challenge = pkce_challenge(verifier)

    def params(self):
        return [("code_challenge", self.challenge), ("code_challenge_method", "S256")]


def token_key(text):
    """The key a code, refresh token or device code is stored under (lib/grant.c): for one of 51
    characters, the time at its start (6 bytes) then 26 bytes of the SHA-256 of its text; for
    one made before schema version 6 (43 characters), the SHA-256."""
    sha = hashlib.sha256(text.encode("ascii")).digest()
    return b64url_decode(text[:8]) + sha[:26] if len(text) == 51 else sha


def at_hash(access_token):
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token."""
    d = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url_encode(d[:16])


def auth_request(client_id, redirect_uri=None, scope="openid", state=None, nonce=None,
                 pkce=None, extra=(), response_type="code"):
    """The parameters of an authorization request as a list of pairs (None values left out).
    pkce: a PKCE (its challenge + S256 are added), or False for none at all."""
    pairs = []
    if response_type is not None:
        pairs.append(("response_type", response_type))
    if client_id is not None:
        pairs.append(("client_id", client_id))
    if redirect_uri is not None:
        pairs.append(("redirect_uri", redirect_uri))
    if scope is not None:
        pairs.append(("scope", scope))
    if state is not None:
        pairs.append(("state", state))
    if nonce is not None:
        pairs.append(("nonce", nonce))
    if pkce:
        pairs += pkce.params()
    return pairs + list(extra)


class Form:
    def __init__(self, attrs):
        self.action = attrs.get("action")
        self.method = (attrs.get("method") or "get").lower()
        self.fields = []      # (name, value, type) of inputs, textareas and selects
        self.buttons = []     # (name, value) of submit buttons / inputs

    def field(self, name):
        vals = [v for n, v, _t in self.fields if n == name]
        assert len(vals) == 1, "form %r has %d fields named %r" % (self.action, len(vals), name)
        return vals[0]

    def has(self, name):
        return any(n == name for n, _v, _t in self.fields)

    def type_of(self, name):
        return [tp for n, _v, tp in self.fields if n == name][0]

    def data(self, overrides=None, drop=(), button=None):
        """The pairs a browser would submit: every named field (hidden ones included) with
        overrides replacing values (a key not among the fields is added), drop removing fields,
        and the button (name, value) appended."""
        overrides = dict(overrides or {})
        out = []
        for n, v, _tp in self.fields:
            if n in drop:
                continue
            if n in overrides:
                v = overrides.pop(n)
            out.append((n, v))
        out += [(k, v) for k, v in overrides.items() if k not in drop]
        if button is not None:
            out.append(button)
        return out


class PageParser(html.parser.HTMLParser):
    """Forms, every URL-bearing attribute, scripts and the visible text of a page."""

    URL_ATTRS = {"src", "href", "action", "formaction", "data", "poster", "srcset", "background",
                 "cite", "manifest", "ping"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.urls = []        # (tag, attr, value)
        self.tags = []        # (tag, attrs dict)
        self.text = []
        self._form = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {}
        for k, v in attrs:
            a[k] = v if v is not None else ""
        self.tags.append((tag, a))
        for k, v in a.items():
            if k in self.URL_ATTRS:
                self.urls.append((tag, k, v))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.urls.append((tag, "http-equiv", a.get("content", "")))
        if tag == "form":
            self._form = Form(a)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            tp = (a.get("type") or "text").lower()
            if tp in ("submit", "image"):
                if "name" in a:
                    self._form.buttons.append((a["name"], a.get("value", "")))
            elif "name" in a and tp not in ("reset", "button"):
                self._form.fields.append((a["name"], a.get("value", ""), tp))
        elif tag == "button":
            tp = (a.get("type") or "submit").lower()
            if tp == "submit" and "name" in a:
                self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and "name" in a:
            self._textarea = [a["name"], ""]
        elif tag == "select" and "name" in a:
            self._form.fields.append((a["name"], "", "select"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], self._textarea[1], "textarea"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        self.text.append(data)


class Page:
    """A parsed HTML response."""

    def __init__(self, r):
        self.r = r
        self.html = r.text
        p = PageParser()
        p.feed(self.html)
        p.close()
        self.forms = p.forms
        self.urls = p.urls
        self.tags = p.tags
        self.text = " ".join(" ".join(p.text).split())

    def form(self, action_suffix):
        """The one form whose action path ends with action_suffix (e.g. "/login")."""
        fs = [f for f in self.forms
              if urllib.parse.urlsplit(f.action or "").path.endswith(action_suffix)]
        assert len(fs) == 1, "expected one form posting to %s, found %r in:\n%s" % (
            action_suffix, [f.action for f in self.forms], self.html[:2000])
        return fs[0]

    def has_form(self, action_suffix):
        return any(urllib.parse.urlsplit(f.action or "").path.endswith(action_suffix)
                   for f in self.forms)


def set_cookie_headers(r):
    """Every Set-Cookie header of r, raw (requests folds repeated headers into one)."""
    try:
        return list(r.raw.headers.getlist("Set-Cookie"))
    except AttributeError:
        v = r.headers.get("Set-Cookie")
        return [v] if v else []


def parse_set_cookie(raw):
    """(name, value, {lower-case attribute: value or True})."""
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def is_303(r):
    return r.status_code == 303


def location_of(r):
    loc = r.headers.get("Location")
    assert loc is not None, "no Location in %s reply: %s" % (r.status_code, r.text[:500])
    # http.client decodes header bytes as latin-1: a correct server only sends ASCII here
    assert VSCHAR.match(loc), "Location is not plain printable ASCII: %r" % (loc,)
    return loc


def redirect_params(r, status=303):
    """The query of a redirect to the client as a dict (each key once, values decoded as UTF-8,
    byte-exact), after checking the status and that there is no fragment."""
    assert r.status_code == status, "expected a %d redirect, got %s %r: %s" % (
        status, r.status_code, r.headers.get("Location"), r.text[:500])
    loc = location_of(r)
    parts = urllib.parse.urlsplit(loc)
    assert parts.fragment == "" and "#" not in loc, "fragment in %r" % (loc,)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, encoding="utf-8",
                                   errors="strict")
    keys = [k for k, _v in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, "repeated parameters %r in %r" % (dup, loc)
    return dict(pairs)


def redirect_target(r):
    """scheme://host[:port]/path of the Location (without query)."""
    p = urllib.parse.urlsplit(location_of(r))
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))


class UserAgent:
    """A browser talking to one server: its own cookies, forms filled from the pages."""

    def __init__(self, srv):
        self.srv = srv
        self.cookies = {}
        self.set_cookies = []     # every parsed Set-Cookie seen: (name, value, attrs)
        self.history = []

    def _url(self, url):
        return urllib.parse.urljoin(self.srv.base + "/", url)

    def is_local(self, url):
        p = urllib.parse.urlsplit(self._url(url))
        b = urllib.parse.urlsplit(self.srv.base)
        return (p.scheme, p.netloc) == (b.scheme, b.netloc)

    def request(self, method, url, data=None, headers=None, send_cookies=True):
        h = {}
        if send_cookies and self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if data is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            if not isinstance(data, (str, bytes)):
                data = urllib.parse.urlencode(list(data.items()) if isinstance(data, dict)
                                              else data)
        h.update(headers or {})
        r = requests.request(method, self._url(url), data=data, headers=h,
                             allow_redirects=False, timeout=http_timeout(),
                             verify=self.srv.verify)
        self.history.append(r)
        for raw in set_cookie_headers(r):
            name, value, attrs = parse_set_cookie(raw)
            self.set_cookies.append((name, value, attrs))
            if attrs.get("max-age") in ("0", "-1") or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, data, **kw):
        return self.request("POST", url, data=data, **kw)

    def authorize(self, params, method="GET"):
        """GET (or POST) /authorize with params: pairs, a dict or a raw query string."""
        if isinstance(params, dict):
            params = list(params.items())
        if method == "GET":
            q = params if isinstance(params, str) else urllib.parse.urlencode(params)
            return self.get("/authorize?" + q)
        return self.post("/authorize", params)

    def follow(self, r):
        """Follows r's redirect when it stays on the server."""
        loc = location_of(r)
        assert self.is_local(loc), "redirect leaves the server: %r" % (loc,)
        return self.get(loc)

    def submit(self, r, action, overrides=None, drop=(), button=None):
        page = Page(r)
        f = page.form(action)
        assert f.method == "post", "form %s uses method %r" % (action, f.method)
        return self.post(urllib.parse.urljoin(r.url, f.action), f.data(overrides, drop, button))

    def login(self, r, username, password, overrides=None, drop=()):
        """Fills and posts the login form of page r."""
        o = {"username": username, "password": password}
        o.update(overrides or {})
        page = Page(r)
        f = page.form("/login")
        btn = f.buttons[0] if f.buttons else None
        return self.post(urllib.parse.urljoin(r.url, f.action), f.data(o, drop, btn))

    def consent(self, r, decision="allow", overrides=None, drop=()):
        """Presses the allow/deny button of the consent page r."""
        page = Page(r)
        f = page.form("/consent")
        assert ("decision", decision) in f.buttons, "no %s button: %r" % (decision, f.buttons)
        return self.post(urllib.parse.urljoin(r.url, f.action),
                         f.data(overrides, drop, ("decision", decision)))

    def run(self, params, username=None, password=None, decision="allow", method="GET",
            max_steps=8):
        """Drives /authorize until the reply leaves the server (returned, not followed) or a page
        the arguments do not answer (returned): logs in when given a username, answers the
        consent page when given a decision."""
        r = self.authorize(params, method=method)
        for _ in range(max_steps):
            if r.status_code in (301, 302, 303, 307, 308):
                if not self.is_local(location_of(r)):
                    return r
                r = self.follow(r)
                continue
            if r.status_code != 200 or "html" not in r.headers.get("Content-Type", ""):
                return r
            page = Page(r)
            if page.has_form("/login") and username is not None:
                r = self.login(r, username, password)
                username = None     # only once: a second login page is returned to the test
                continue
            if page.has_form("/consent") and decision is not None:
                r = self.consent(r, decision)
                decision = None
                continue
            return r
        raise AssertionError("no end after %d steps: %s %s" % (max_steps, r.status_code,
                                                              r.headers.get("Location")))


def is_login_page(r):
    return r.status_code == 200 and Page(r).has_form("/login")


def is_consent_page(r):
    return r.status_code == 200 and Page(r).has_form("/consent")


def new_username(prefix="u"):
    return "%s%s" % (prefix, secrets.token_hex(5))


def _add_user(self, username, password="correct horse", scope=None, email=None, name=None):
    """`tessera user add` through the CLI; returns the printed JSON (with "id")."""
    args = ["user", "add", username, "--password-stdin"]
    if scope is not None:
        args += ["--scope", scope]
    if email is not None:
        args += ["--email", email]
    if name is not None:
        args += ["--name", name]
    out = cli_ok(args, db=self.db, input=password + "\n")
    assert out.get("username") == username and isinstance(out.get("id"), int), out
    return out


def _redeem(self, client, code, verifier=None, redirect_uri=None, auth=None, extra=()):
    """POST /token grant_type=authorization_code. auth defaults to "none" (client_id in the
    body) for a client without a secret, "basic" otherwise; None values are left out."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    pairs = [("grant_type", "authorization_code")]
    if code is not None:
        pairs.append(("code", code))
    if redirect_uri is not None:
        pairs.append(("redirect_uri", redirect_uri))
    if verifier is not None:
        pairs.append(("code_verifier", verifier))
    return self.post("/token", pairs + body + list(extra), headers=h)


def _userinfo(self, token, method="GET", where="header", extra_headers=None):
    h = dict(extra_headers or {})
    data = None
    if where in ("header", "both"):
        h["Authorization"] = "Bearer " + token
    if where in ("body", "both"):
        data = [("access_token", token)]
    if method == "GET":
        return self.get("/userinfo", headers=h)
    return post_form(self.url("/userinfo"), data or [], headers=h)


Server.add_user = _add_user
Server.redeem = _redeem
Server.userinfo = _userinfo


class Login:
    """One finished authorization: the agent, the code, the token response."""

    def __init__(self, agent, params, redirect, code, pkce, tokens=None):
        self.agent, self.params, self.redirect = agent, params, redirect
        self.code, self.pkce, self.tokens = code, pkce, tokens

    @property
    def access_token(self):
        return self.tokens["access_token"]


def code_flow(srv, client, username, password, redirect_uri=None, scope="openid", nonce=None,
              state=None, extra=(), agent=None, redeem=True, send_redirect_uri=True):
    """The whole flow as a test prerequisite: authorize, log in, allow, read the code, redeem it.
    Asserts every step; returns a Login."""
    agent = agent or UserAgent(srv)
    pkce = PKCE()
    params = auth_request(client.id, redirect_uri if send_redirect_uri else None, scope=scope,
                          state=state, nonce=nonce, pkce=pkce, extra=extra)
    r = agent.run(params, username=username, password=password)
    q = redirect_params(r)
    assert "code" in q, "no code: %r" % (q,)
    tokens = None
    if redeem:
        tr = srv.redeem(client, q["code"], pkce.verifier,
                        redirect_uri if send_redirect_uri else None)
        assert tr.status_code == 200, "redeem: %s %s" % (tr.status_code, tr.text)
        tokens = tr.json()
    return Login(agent, params, r, q["code"], pkce, tokens)


_MISSING = object()


def verify_id_token(srv, id_token, client_id, nonce=_MISSING, access_token=None, now=None):
    """Checks an ID token as an RP must (OIDC Core §3.1.3.7) and returns its claims."""
    header, _ = jwt_parts(id_token)
    assert header.get("alg") == "ES256", header
    assert header.get("typ") == "JWT", header
    jwks = srv.jwks()
    assert header.get("kid") in [k["kid"] for k in jwks["keys"]], header
    claims = verify_jwt(id_token, jwks)
    now = now or time.time()
    assert claims["iss"] == srv.issuer, claims
    assert claims["aud"] == client_id or claims["aud"] == [client_id], claims
    assert claims["azp"] == client_id, claims
    assert isinstance(claims["sub"], str) and claims["sub"], claims
    for k in ("exp", "iat", "auth_time"):
        assert isinstance(claims[k], int), (k, claims)
    assert claims["exp"] > now - 5 and claims["exp"] > claims["iat"], claims
    assert abs(claims["iat"] - now) < 120, claims
    assert claims["auth_time"] <= claims["iat"] + 1, claims
    if nonce is not _MISSING:
        if nonce is None:
            assert "nonce" not in claims, claims
        else:
            assert claims.get("nonce") == nonce, claims
    if access_token is not None:
        assert claims.get("at_hash") == at_hash(access_token), claims
    return claims


class ConnectionTrap:
    """A loopback listener that counts connections: proves a URL is never fetched."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = False
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/keys" % self.port

    def _loop(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            c.close()

    def close(self):
        self._stop = True
        self._th.join(timeout=2)
        self.sock.close()


# ---------------------------------------------------------------- one identity provider for all

# The clients of the shared server (tests/e2e/test_{authorize,code_redemption,pages,oidc,
# conformance}.py): each test makes its own users (new_username()), so sessions, consents and
# grants never collide; wrong passwords (which feed the per-address throttle) stay on servers of
# their own.
IDP_WEB_SCOPE = ("openid profile email mqtt:sub:home/${username}/# "
                 "mqtt:pub:home/${username}/cmd")
IDP_CONF_SCOPE = ("openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
                  "mqtt:pub:sensors/kitchen/# mqtt:sub:cmd/dev42 mqtt:pub:dev/${clientid}/#")
IDP_USER_SCOPE = ("mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
                  "mqtt:pub:sensors/kitchen/# mqtt:sub:cmd/dev42 mqtt:pub:dev/#")
IDP_CLIENTS = [
    dict(client_id="web", public=True, grants=["authorization_code"], name="Web app",
         redirect_uris=["http://127.0.0.1:9/cb"], scope=IDP_WEB_SCOPE),
    dict(client_id="conf", grants=["authorization_code", "refresh_token"], name="Conformance RP",
         redirect_uris=["https://rp.example/cb"], scope=IDP_CONF_SCOPE),
    dict(client_id="other", grants=["authorization_code"], name="Other RP",
         redirect_uris=["https://other.example/cb"], scope="openid profile email"),
    dict(client_id="two", grants=["authorization_code"], name="Two URIs",
         redirect_uris=["https://two.example/a", "https://two.example/b"], scope="openid"),
    dict(client_id="query", grants=["authorization_code"], name="Query URI",
         redirect_uris=["https://rp.example/cb?foo=bar"], scope="openid"),
    dict(client_id="cc-only", grants=["client_credentials"], name="No code",
         redirect_uris=["https://cc.example/cb"], scope="openid mqtt:sub:x/#"),
    dict(client_id="v6", public=True, grants=["authorization_code"], name="IPv6 app",
         redirect_uris=["http://[::1]:8080/cb"], scope="openid"),
    dict(client_id="rs", scope="introspect"),
]

_SHARED = {}


def _shared_idp_acquire():
    if "idp" not in _SHARED:
        f = ServerFactory("idp")
        s = f.start(clients=IDP_CLIENTS, name="idp")
        _SHARED["idp"] = [f, s, 0]
    _SHARED["idp"][2] += 1
    return _SHARED["idp"][1]


def _shared_idp_release():
    entry = _SHARED["idp"]
    entry[2] -= 1
    if entry[2] == 0:
        del _SHARED["idp"]
        entry[0].close()


@pytest.fixture(scope="session")
def idp():
    """One daemon with IDP_CLIENTS shared by every module that imports this fixture (each import
    holds a reference; the last one to finish stops it and checks how it ended)."""
    s = _shared_idp_acquire()
    yield s
    _shared_idp_release()


def idp_user(srv, prefix="u", scope=IDP_USER_SCOPE, email=None, name=None,
             password="correct horse battery"):
    """A fresh user on srv: (username, password, id)."""
    u = new_username(prefix)
    out = srv.add_user(u, password, scope=scope, email=email or u + "@example.com",
                       name=name or "User " + u)
    return u, password, out["id"]


# ================================================================ refresh tokens and grants
# Helpers for tests/e2e/test_{refresh,grants,revocation_refresh}.py and
# tests/interop/test_authlib_refresh.py.

INACTIVE = {"active": False}


def _refresh(self, client, refresh_token, scope=None, auth=None, extra=(), session=None):
    """POST /token grant_type=refresh_token. auth defaults to "none" (client_id in the body) for
    a client without a secret, "basic" otherwise; None values are left out. session: an optional
    requests.Session to reuse one connection."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    pairs = [("grant_type", "refresh_token")]
    if refresh_token is not None:
        pairs.append(("refresh_token", refresh_token))
    if scope is not None:
        pairs.append(("scope", scope))
    data = urllib.parse.urlencode(pairs + body + list(extra))
    h["Content-Type"] = "application/x-www-form-urlencoded"
    if session is not None:
        return session.post(self.url("/token"), data=data, headers=h, timeout=http_timeout(),
                            allow_redirects=False, verify=self.verify)
    return self.post("/token", data, headers=h)


def _grants(self, user=None, client=None):
    """`tessera grant list [--user U] [--client C]` -> the parsed JSON array."""
    args = ["grant", "list"]
    if user is not None:
        args += ["--user", user]
    if client is not None:
        args += ["--client", client]
    out = cli_ok(args, db=self.db)
    assert isinstance(out, list), out
    return out


def _introspection(self, caller, token, hint=None):
    """The parsed /introspect answer (asserting 200 and Cache-Control: no-store)."""
    r = self.introspect(caller, token, hint=hint)
    assert r.status_code == 200, "introspect: %s %s" % (r.status_code, r.text)
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
    return r.json()


Server.refresh = _refresh
Server.grants = _grants
Server.introspection = _introspection


def token_ok(r):
    """The JSON of a successful /token answer, after checking status, type and no-store."""
    assert r.status_code == 200, "expected 200: %s %s" % (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
        r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    return r.json()


def token_error(r, status=400):
    """The "error" of a failed /token (or /revoke, /introspect) answer, after checking status,
    JSON and no-store; never a 5xx."""
    assert r.status_code < 500, "server error %s: %s" % (r.status_code, r.text)
    assert r.status_code == status, "expected %s: %s %s" % (status, r.status_code, r.text)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", \
        r.headers
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    body = r.json()
    assert isinstance(body.get("error"), str), body
    return body["error"]


def wait_for(pred, within=2.0, step=0.05, stretch=True):
    """Polls pred() until it is true (returns its value) or within seconds pass (returns its last
    value): the way a test waits for something to happen, instead of a fixed sleep. within is
    stretched under the sanitizers (t()), unless stretch=False: a bound that is the claim itself
    (the caller adds its own t() slack)."""
    deadline = time.monotonic() + (t(within) if stretch else within)
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_inactive(srv, caller, token, within=2.0):
    """True once /introspect answers exactly {"active": false} for token (polled up to within s:
    the daemon's caches notice CLI changes within 0.1 s)."""
    return wait_for(lambda: srv.introspection(caller, token) == INACTIVE, within)


def refresh_login(srv, client, redirect_uri, scope="openid", user=None, agent=None):
    """A user (a new one unless user=(name, password, id)) signs in through the code flow with
    client; returns (Login, (name, password, id)). The token answer must hold a refresh token."""
    user = user or idp_user(srv)
    login = code_flow(srv, client, user[0], user[1], redirect_uri=redirect_uri, scope=scope,
                      agent=agent)
    assert isinstance(login.tokens.get("refresh_token"), str), login.tokens
    return login, user


# ================================================================ device authorization (RFC 8628)
# Helpers for tests/e2e/test_device.py: POST /device_authorization, polling /token with the
# device_code grant, and a browser (UserAgent) on the /device verification pages. User codes are
# XXXX-XXXX of DEVICE_ALPHABET; a person may type them in any case, with spaces or dashes.

import requests.adapters  # noqa: E402

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
DEVICE_FIELDS = ("device_code", "user_code", "verification_uri", "verification_uri_complete",
                 "verification_uri_qr", "expires_in", "interval")


def _device_client_auth(client, auth):
    """Headers and body pairs for client: auth None is "basic" for a client with a secret and
    client_id alone in the body ("none") for a public one."""
    if auth is None:
        auth = "basic" if client is not None and client.secret else "none"
    h, body = auth_parts(client, auth)
    if auth == "none" and client is not None:
        body = [("client_id", client.id)]
    return h, body


def _device_authorization(self, client, scope=None, auth=None, extra=()):
    """POST /device_authorization (scope None: left out)."""
    h, body = _device_client_auth(client, auth)
    pairs = [] if scope is None else [("scope", scope)]
    return self.post("/device_authorization", pairs + body + list(extra), headers=h)


def _device_start(self, client, scope=None, auth=None):
    """A device authorization that must succeed: its JSON (status, JSON type, no-store and the
    fields checked)."""
    r = self.device_authorization(client, scope=scope, auth=auth)
    body = token_ok(r)
    for k in DEVICE_FIELDS:
        assert k in body, (k, body)
    assert USER_CODE_RE.match(body["user_code"]), body
    return body


def _device_poll(self, client, device_code, auth=None, extra=()):
    """POST /token grant_type=device_code (device_code None: left out)."""
    h, body = _device_client_auth(client, auth)
    pairs = [("grant_type", DEVICE_GRANT)]
    if device_code is not None:
        pairs.append(("device_code", device_code))
    return self.post("/token", pairs + body + list(extra), headers=h)


Server.device_authorization = _device_authorization
Server.device_start = _device_start
Server.device_poll = _device_poll


def poll_error(srv, client, device_code, **kw):
    """The error of a poll that must fail (HTTP 400, JSON, no-store)."""
    return token_error(srv.device_poll(client, device_code, **kw), 400)


def normalize_user_code(typed):
    """XXXX-XXXX of a typed code (case, spaces and dashes ignored); None when not 8 letters of
    the alphabet."""
    s = "".join(ch for ch in typed if ch not in " -").upper()
    if len(s) != 8 or any(ch not in DEVICE_ALPHABET for ch in s):
        return None
    return s[:4] + "-" + s[4:]


def random_user_code():
    """A well-formed user code (almost certainly issued to nobody)."""
    s = "".join(secrets.choice(DEVICE_ALPHABET) for _ in range(8))
    return s[:4] + "-" + s[4:]


def user_code_spellings(code):
    """Ways a person may type the XXXX-XXXX code: lower case with the dash, without it, with
    spaces, mixed case."""
    raw = code.replace("-", "")
    mixed = "".join(ch.lower() if i % 2 else ch for i, ch in enumerate(code))
    return [code.lower(), raw, raw.lower(), " %s %s " % (raw[:4].lower(), raw[4:].lower()),
            mixed, "%s - %s" % (raw[:4], raw[4:])]


def device_path(user_code):
    return "/device?" + urllib.parse.urlencode([("user_code", user_code)])


def html_security_problems(r):
    """Row 13 for a device page: what is wrong with r's headers (an empty list when nothing)."""
    h = r.headers
    out = []
    if h.get("Content-Type", "").replace(" ", "").lower() != "text/html;charset=utf-8":
        out.append("Content-Type %r" % h.get("Content-Type"))
    csp = h.get("Content-Security-Policy", "")
    directives = {}
    for d in csp.split(";"):
        parts = d.split()
        if parts:
            directives[parts[0].lower()] = parts[1:]
    if directives.get("frame-ancestors") != ["'none'"]:
        out.append("CSP frame-ancestors in %r" % csp)
    if directives.get("default-src") != ["'none'"]:
        out.append("CSP default-src in %r" % csp)
    for k, v in directives.items():
        for src in v:
            if not (src in ("'none'", "'self'") or (k == "img-src" and src == "data:")):
                out.append("CSP %s allows %s" % (k, src))
    if h.get("X-Frame-Options", "").upper() != "DENY":
        out.append("X-Frame-Options %r" % h.get("X-Frame-Options"))
    if h.get("Referrer-Policy", "").lower() != "no-referrer":
        out.append("Referrer-Policy %r" % h.get("Referrer-Policy"))
    if "no-store" not in h.get("Cache-Control", ""):
        out.append("Cache-Control %r" % h.get("Cache-Control"))
    if h.get("X-Content-Type-Options", "").lower() != "nosniff":
        out.append("X-Content-Type-Options %r" % h.get("X-Content-Type-Options"))
    page = Page(r)
    for tag, attr, v in page.urls:
        p = urllib.parse.urlsplit(v)
        if tag == "form" and attr == "action":
            if p.netloc or p.scheme or not v.startswith("/"):
                out.append("form action %r" % v)
            continue
        if tag == "a" and attr == "href":
            continue
        if tag == "link" and attr == "href" and v.startswith("data:"):
            continue
        if p.scheme or p.netloc or v.startswith("//"):
            out.append("%s %s=%r loads from elsewhere" % (tag, attr, v))
    bad_tags = [tg for tg, _a in page.tags if tg in ("script", "iframe", "object", "embed")]
    if bad_tags:
        out.append("tags %r" % bad_tags)
    return out


def check_device_page(r, status, words=None):
    """An HTML page with status, row 13's headers, nothing loaded from elsewhere, no Location;
    words (lower case) must be in its text. Returns the Page."""
    assert r.status_code == status, "expected %s: %s %r %s" % (
        status, r.status_code, r.headers.get("Location"), r.text[:600])
    bad = html_security_problems(r)
    assert not bad, "%s page: %r" % (status, bad)
    if status != 303:
        assert "Location" not in r.headers, r.headers
    page = Page(r)
    if words is not None:
        assert words.lower() in page.text.lower(), (words, page.text[:800])
    return page


def is_device_confirmation(r):
    """The confirmation page: 200 and a form posting to /device with allow and deny buttons."""
    if r.status_code != 200 or "html" not in r.headers.get("Content-Type", ""):
        return False
    page = Page(r)
    if not page.has_form("/device"):
        return False
    f = page.form("/device")
    return ("decision", "allow") in f.buttons and ("decision", "deny") in f.buttons


def device_open(agent, user_code, username=None, password=None, max_steps=4):
    """The browser opens /device?user_code=… (verification_uri_complete): logs in once when a
    login page comes and a username is given, follows redirects on the server, and returns the
    first other answer (the confirmation page when all is well)."""
    r = agent.get(device_path(user_code))
    for _ in range(max_steps):
        if r.status_code in (301, 302, 303, 307, 308) and agent.is_local(location_of(r)):
            r = agent.follow(r)
            continue
        if username is not None and r.status_code == 200 and Page(r).has_form("/login"):
            r = agent.login(r, username, password)
            username = None
            continue
        return r
    raise AssertionError("no end after %d steps: %s %r" % (max_steps, r.status_code,
                                                           r.headers.get("Location")))


def device_decide(agent, r, decision="allow", overrides=None, drop=()):
    """Presses the allow/deny button of the confirmation page r (the form posting to /device)."""
    f = Page(r).form("/device")
    assert f.method == "post", f.method
    if decision in ("allow", "deny"):
        assert ("decision", decision) in f.buttons, "no %s button: %r" % (decision, f.buttons)
    button = None if decision is None else ("decision", decision)
    return agent.post(urllib.parse.urljoin(r.url, f.action), f.data(overrides, drop, button))


class DeviceLogin:
    """One device authorization approved (or denied) by a person: the /device_authorization
    answer, the browser, the user (name, password, id) and the page the decision led to."""

    def __init__(self, auth, agent, user, page, login_started, login_done):
        self.auth, self.agent, self.user, self.page = auth, agent, user, page
        self.login_started, self.login_done = login_started, login_done

    @property
    def device_code(self):
        return self.auth["device_code"]

    @property
    def user_code(self):
        return self.auth["user_code"]


def device_flow(srv, client, user=None, scope=None, decision="allow", agent=None,
                typed=None):
    """A device authorization for client, opened by user (a new idp_user when None) in a browser
    (agent, a new one when None), who logs in when needed and presses decision. typed: how the
    person types the code (default: the code as shown). Asserts the confirmation page and a 200
    after the decision; returns a DeviceLogin."""
    user = user or idp_user(srv)
    auth = srv.device_start(client, scope=scope)
    agent = agent or UserAgent(srv)
    started = time.time()
    r = device_open(agent, typed or auth["user_code"], user[0], user[1])
    done = time.time()
    assert is_device_confirmation(r), (r.status_code, r.headers.get("Location"), r.text[:800])
    page = r
    if decision is not None:
        page = device_decide(agent, r, decision)
        assert page.status_code == 200, (page.status_code, page.text[:600])
    return DeviceLogin(auth, agent, user, page, started, done)


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, address, **kw):
        self._source = address
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._source, 0)
        return super().init_poolmanager(*args, **kw)


def session_from(address):
    """A requests.Session whose connections come from the loopback address (e.g. 127.0.0.2),
    so that the daemon sees another client address."""
    s = requests.Session()
    s.mount("http://", _SourceAddressAdapter(address))
    return s


def get_from(srv, address, path):
    """GET path on srv from the client address `address` (no cookies, no redirects followed)."""
    with session_from(address) as s:
        return s.get(srv.url(path), timeout=http_timeout(), allow_redirects=False)
