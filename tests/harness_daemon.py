"""The daemon's half of the test harness (tests/tessera_harness.py gathers all): the CLI, clients
and HTTP, JWT helpers, a Server started from the real binary with its factory fixtures and
pytest hooks, and a test PKI.

Runs the real binary ($TESSERA_BIN, default build/tessera): `init`, `client add` through the CLI,
then `serve` on a free loopback port. Every subprocess and HTTP call has a timeout; a server's
stderr goes to a file that is shown when a test fails, and at teardown each server must exit 0 on
SIGTERM with no AddressSanitizer / LeakSanitizer / UBSan report in its stderr.

Set TESSERA_ASAN=1 (the Makefile's `asan` target does) to stretch every timeout for a slow build.

Set TESSERA_PG to a PostgreSQL URI that may create databases (`make test-pg` does, on a throwaway
cluster): every Server then gets a database of its own on it (new_database) instead of a file,
and tests marked sqlite_only (what is SQLite's by nature: its file, its locks) are skipped.
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

# PostgreSQL: the URI of a database that may create others (docs/postgresql.md, make test-pg)
PG = os.environ.get("TESSERA_PG")
PG_DATABASES = [0]


def psql(uri, sql, *args):
    """(depcheck: optional psql, under make test-pg only, whose list names postgresql-client)
    Runs one statement through psql (-v values :'1'...) and returns its rows (tab-separated)."""
    argv = ["psql", "-X", "-qAt", "-F", "\x1f", "-0", "-v", "ON_ERROR_STOP=1", "-d", uri]
    for i, a in enumerate(args, 1):
        argv += ["-v", "%d=%s" % (i, a)]
    p = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=t(30))
    assert p.returncode == 0, "psql: %s" % p.stderr
    return [rec.split("\x1f") for rec in p.stdout.split("\0") if rec]


def pg_uri(base, dbname):
    """base (a postgresql:// URI) naming the database dbname instead."""
    u = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def new_database(path):
    """The database a test's daemon uses: the file path on SQLite; on PostgreSQL (TESSERA_PG) a
    new empty database (a copy of template0, ~25 ms), whose URI is returned."""
    if not PG:
        return path
    PG_DATABASES[0] += 1
    name = "t%d_%d" % (os.getpid(), PG_DATABASES[0])
    psql(PG, "CREATE DATABASE %s TEMPLATE template0 STRATEGY FILE_COPY" % name)
    return pg_uri(PG, name)


def db_rows(db, sql, *args):
    """The rows of a query (parameters ?) on db, a file or a PostgreSQL URI, read outside the daemon."""
    if db_is_pg(db):
        q = sql
        for i in range(len(args)):
            q = q.replace("?", ":'%d'" % (i + 1), 1)
        return [tuple(r) for r in psql(db, q, *args)]
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=t(5))
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def db_write(db, sql, *args):
    """Runs one writing statement (parameters ?) on db, a file or a PostgreSQL URI, behind the
    daemon's back; returns the rows it changed."""
    if db_is_pg(db):
        q = sql
        for i in range(len(args)):
            q = q.replace("?", ":'%d'" % (i + 1), 1)
        rows = psql(db, "WITH w AS (%s RETURNING 1) SELECT count(*) FROM w" % q, *args)
        return int(rows[0][0])
    con = sqlite3.connect(db, timeout=t(10), isolation_level=None)
    try:
        return con.execute(sql, args).rowcount
    finally:
        con.close()


def db_is_pg(db):
    return str(db).startswith(("postgresql://", "postgres://"))


sqlite_only = pytest.mark.sqlite_only


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
    rows = db_rows(db, "SELECT alg, pem FROM signing_keys WHERE kid = ?", kid)
    row = rows[0] if rows else None
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

    def __init__(self, workdir, config=None, flags=True, name="srv", tls=None, ca=None, db=None):
        self.dir = str(workdir)
        self.name = name
        # db: another server's database (a second node over it: ServerFactory.peer)
        self.db = db or new_database(os.path.join(self.dir, "tessera.db"))
        self.inited = db is not None
        self.peer_of = None
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
        self.inited = True
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
        # the nodes of one deployment share one issuer (the first node's address here)
        return self.peer_of.issuer if self.peer_of is not None else self.base

    def url(self, path):
        return self.base + path

    def start(self, extra_args=(), port=None, init=True):
        """Starts serve. flags=True passes --listen and --issuer, "listen" only --listen, False
        neither (then give the port the config listens on). init=False: serve makes the
        database itself when there is none (no `tessera init` first)."""
        if init and self.peer_of is None and not (self.inited if PG else os.path.exists(self.db)):
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

    def peer(self, srv, name=None, config=None):
        """A second node over srv's database (the same file, or whatever the harness gives srv:
        docs/nodes.md): its own directory, port, issuer and stderr, srv's configuration unless
        config is given, srv's clients known. Not started: call start()."""
        d = make_tempdir(self.prefix)
        self.dirs.append(d)
        s = Server(d, config=srv.config if config is None else config, flags=srv.flags,
                   name=name or srv.name + "-peer", tls=srv.tls,
                   ca=srv.verify if srv.verify is not True else None, db=srv.db)
        s.peer_of = srv
        s.kid = srv.kid
        s.clients = srv.clients
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


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL (TESSERA_PG), skips the tests marked sqlite_only, with their reason."""
    if not PG:
        return
    for item in items:
        m = item.get_closest_marker("sqlite_only")
        if m:
            why = m.args[0] if m.args else m.kwargs.get("reason", "SQLite's by nature")
            item.add_marker(pytest.mark.skip(reason="SQLite only: " + why))


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
    config.addinivalue_line("markers", "sqlite_only(reason): SQLite's by nature (its file, "
                            "its locks): skipped on PostgreSQL (TESSERA_PG)")
    config.addinivalue_line("filterwarnings",
                            "error::pytest.PytestUnhandledThreadExceptionWarning")
