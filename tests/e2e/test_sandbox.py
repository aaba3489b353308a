"""The system call filter of etc/tessera.service admits every system call the daemon makes.

systemd cannot run here (it is not PID 1 in a CI container), so the filter is checked the other
way round: the daemon runs under strace, unprivileged as it runs under the unit, through a
workload that touches every subsystem (https, client credentials, introspection, revocation,
the code flow with a login and Argon2id, refresh, a SCIM write, a device authorization, a key
rotation picked up live, metrics, SIGTERM), and every system call it made after its execve must
be in the unit's SystemCallFilter (@system-service minus the ~ groups, expanded by
`systemd-analyze syscall-filter`)."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import requests

from tessera_harness import (BIN, PKCE, REPO, Page, Server, UserAgent, auth_request, code_flow,
                             db_is_pg, free_port, make_tempdir, run_cli, sanitizer_problems, t)

UNIT = os.path.join(REPO, "etc", "tessera.service")
UNPRIVILEGED = 65534   # nobody: when the tests run as root, the daemon must not be


def group_calls(group, seen=None):
    """The system calls of a systemd syscall group, nested groups expanded."""
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    p = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", group],
                       capture_output=True, text=True, timeout=t(30))
    assert p.returncode == 0, p.stderr
    out = set()
    for line in p.stdout.splitlines()[1:]:
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        out |= group_calls(name, seen) if name.startswith("@") else {name}
    return out


def unit_allowed():
    """What the unit's SystemCallFilter= lines allow (an allow list, then ~ deny lists)."""
    allowed, denied = set(), set()
    with open(UNIT) as f:
        for line in f:
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            deny = value.startswith("~")
            for item in value.lstrip("~").split():
                calls = group_calls(item) if item.startswith("@") else {item}
                (denied if deny else allowed).update(calls)
    assert allowed, "no SystemCallFilter allow list in %s" % UNIT
    return allowed - denied


def traced_calls(log, binary):
    """The names of the system calls in an `strace -f` log after binary's execve."""
    calls, started = set(), False
    call = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
    with open(log) as f:
        for line in f:
            if not started:
                started = ('execve("%s"' % binary) in line and line.rstrip().endswith("= 0")
                continue
            m = call.match(line)
            if m and "resumed>" not in line.split("(", 1)[0] and m.group(1) != "exited":
                calls.add(m.group(1))
    assert started, "no successful execve of %s in %s" % (binary, log)
    return calls


def daemon_pids(strace_pid):
    """The children of strace: the traced daemon (setpriv execs it in place)."""
    out = []
    task = "/proc/%d/task" % strace_pid
    for tid in os.listdir(task) if os.path.isdir(task) else []:
        try:
            with open(os.path.join(task, tid, "children")) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


@pytest.fixture
def workdir():
    d = make_tempdir("sandbox")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_every_system_call_of_the_daemon_is_in_the_units_filter(workdir):
    assert shutil.which("strace"), "strace is needed (make deps installs it)"
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True,
                       timeout=t(30))
    assert p.returncode == 0, p.stderr
    s = Server(workdir, name="traced", tls=(cert, key), ca=cert)
    s.init()
    dev = s.add_client("dev-1", scope="mqtt:pub:dev/${clientid}/#")
    adm = s.add_client("adm", scope="scim introspect")
    web = s.add_client("web", grants=["authorization_code", "refresh_token"],
                       redirect_uris=["https://app.example/cb"], scope="openid")
    tv = s.add_client("tv", public=True, grants=["device_code"], scope="mqtt:sub:tv/#")
    s.add_user("alice", "correct horse", scope="mqtt:sub:tv/#")
    s.port = free_port()
    log = os.path.join(workdir, "strace.log")
    argv = [BIN, "serve", "--db", s.db, "--listen", "127.0.0.1:%d" % s.port,
            "--tls-cert", cert, "--tls-key", key]
    if os.geteuid() == 0:
        # as under the unit: not root (SQLite, for one, gives its files to the database's
        # owner with fchown only when it runs as root)
        for root, dirs, files in os.walk(workdir):
            for n in dirs + files + ["."]:
                os.chown(os.path.join(root, n), UNPRIVILEGED, UNPRIVILEGED)
        argv = ["setpriv", "--reuid=%d" % UNPRIVILEGED, "--regid=%d" % UNPRIVILEGED,
                "--clear-groups", "--"] + argv
    env = dict(os.environ)
    # LeakSanitizer cannot work under ptrace (the other tests check leaks in an ASan run)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    with open(os.path.join(workdir, "serve.stderr"), "wb") as err:
        s.proc = subprocess.Popen(["strace", "-f", "-qq", "-o", log] + argv, stderr=err,
                                  stdout=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + t(20)
        while True:
            try:
                if s.get("/healthz").status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert s.proc.poll() is None and time.monotonic() < deadline, \
                open(os.path.join(workdir, "serve.stderr")).read()
            time.sleep(0.1)
        token = s.access_token(dev)
        assert s.is_active(adm, token) is True
        assert s.revoke(adm, token).status_code == 200
        login = code_flow(s, web, "alice", "correct horse",
                          redirect_uri="https://app.example/cb")
        assert s.refresh(web, login.tokens["refresh_token"]).status_code == 200
        bad = UserAgent(s).run(auth_request("web", "https://app.example/cb", pkce=PKCE()),
                               username="alice", password="wrong")
        # a wrong password: the login page again, 401
        assert bad.status_code == 401 and Page(bad).has_form("/login"), bad.status_code
        scim = s.access_token(adm, scope="scim")
        r = requests.post(s.url("/scim/v2/Users"), verify=s.verify, timeout=t(10),
                          json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                "userName": "bob"},
                          headers={"Authorization": "Bearer " + scim,
                                   "Content-Type": "application/scim+json"})
        assert r.status_code == 201, r.text
        assert s.device_authorization(tv).status_code == 200
        rot = run_cli(["key", "rotate"], db=s.db)
        assert rot.rc == 0, rot
        new_kid = rot.json()["kid"]
        deadline = time.monotonic() + t(10)
        while new_kid not in [k["kid"] for k in s.jwks()["keys"]]:
            assert time.monotonic() < deadline, "the rotated key was not picked up"
            time.sleep(0.2)
        assert s.get("/metrics").status_code == 200
    finally:
        # SIGTERM to the daemon itself (strace's child), as systemd would send it
        for pid in daemon_pids(s.proc.pid):
            os.kill(pid, signal.SIGTERM)
        try:
            rc = s.proc.wait(timeout=t(30))
        except subprocess.TimeoutExpired:
            s.proc.kill()
            rc = s.proc.wait(timeout=t(10))
    with open(os.path.join(workdir, "serve.stderr")) as f:
        err = f.read()
    assert rc == 0 and not sanitizer_problems(err), err
    used = traced_calls(log, BIN)
    # (a sanity check of the trace: SQLite's commits, or the connection to PostgreSQL)
    db_calls = {"connect"} if db_is_pg(s.db) else {"fdatasync", "pwrite64"}
    assert {"accept4", "epoll_wait"} | db_calls <= used, sorted(used)
    outside = sorted(used - unit_allowed())
    assert not outside, "system calls the unit's filter refuses: %r" % (outside,)
