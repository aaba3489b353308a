"""`make install DESTDIR=... PREFIX=...`: every file in its place, etc/tessera.service as a
sandboxed systemd unit (every directive of the deployment's checklist, `systemd-analyze verify`
clean, `systemd-analyze security` exposure low), and the man pages found by `man` where they were
installed, rendering without a warning from groff or mandoc and naming every setting and option
the code accepts."""
import filecmp
import glob
import os
import re
import shutil
import subprocess

import pytest

from tessera_harness import BIN, REPO, make_tempdir, t

BUILD = os.path.dirname(os.path.abspath(BIN))
PLUGIN = os.path.join(BUILD, "tessera_mosquitto.so")

# directive -> the value it must have ("" for an empty one, None: present with any value)
REQUIRED = {
    "User": "tessera",
    "Group": "tessera",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ReadWritePaths": "/var/lib/tessera",
    "StateDirectory": "tessera",
    "WorkingDirectory": "/var/lib/tessera",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "SystemCallFilter": "@system-service",
    "SystemCallArchitectures": "native",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "Restart": "on-failure",
    "LimitNOFILE": None,
}


def make_install(destdir, prefix):
    """Runs make install for the build under test (BUILD: the directory of $TESSERA_BIN, so an
    ASan run installs its own build) and checks it built nothing: it only copies."""
    before = os.stat(BIN).st_mtime_ns
    p = subprocess.run(["make", "--no-print-directory", "install", "BUILD=" + BUILD,
                        "DESTDIR=" + destdir, "PREFIX=" + prefix], cwd=REPO,
                       capture_output=True, text=True, timeout=t(120))
    assert p.returncode == 0, p.stdout + p.stderr
    assert os.stat(BIN).st_mtime_ns == before, "make install rebuilt the binary under test"
    return p


def unit_directives(path):
    """{key: [values]} of the [Service] section (and the others), comments skipped."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


@pytest.fixture(scope="module")
def usr():
    d = make_tempdir("install-usr")
    make_install(d, "/usr")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_every_file_lands(usr):
    want = {
        "usr/bin/tessera": 0o755,
        "usr/lib/tessera/tessera_mosquitto.so": 0o644,
        "usr/lib/systemd/system/tessera.service": 0o644,
        "usr/lib/sysusers.d/tessera.conf": 0o644,
        "etc/tessera/tessera.conf": 0o644,
        "etc/tessera/tessera.conf.sample": 0o644,
        "etc/tessera/mosquitto.conf.sample": 0o644,
        "usr/share/doc/tessera/README.md": 0o644,
        "usr/share/man/man8/tessera.8": 0o644,
        "usr/share/man/man5/tessera.conf.5": 0o644,
    }
    docs = glob.glob(os.path.join(REPO, "docs", "*.md")) + \
        glob.glob(os.path.join(REPO, "docs", "img", "*.png")) + \
        [os.path.join(REPO, "docs", "tessera.8"), os.path.join(REPO, "docs", "tessera.conf.5")]
    assert len(docs) > 8, docs
    for d in docs:
        want["usr/share/doc/tessera/" + os.path.relpath(d, REPO)] = 0o644
    got = {}
    for root, _dirs, files in os.walk(usr):
        for f in files:
            p = os.path.join(root, f)
            got[os.path.relpath(p, usr)] = os.stat(p).st_mode & 0o777
    assert got == want
    assert filecmp.cmp(os.path.join(usr, "usr/bin/tessera"), BIN, shallow=False)
    assert filecmp.cmp(os.path.join(usr, "usr/lib/tessera/tessera_mosquitto.so"), PLUGIN,
                       shallow=False)
    assert filecmp.cmp(os.path.join(usr, "etc/tessera/tessera.conf"),
                       os.path.join(REPO, "etc/tessera.conf"), shallow=False)
    for rel in ("usr/share/man/man8/tessera.8", "usr/share/man/man5/tessera.conf.5"):
        assert filecmp.cmp(os.path.join(usr, rel),
                           os.path.join(REPO, "docs", os.path.basename(rel)), shallow=False)
    with open(os.path.join(usr, "usr/lib/sysusers.d/tessera.conf")) as f:
        users = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert users and users[0][:2] == ["u", "tessera"] and users[0][-1] == "/var/lib/tessera"


def test_installed_binary_runs_with_the_installed_config(usr, tdir):
    """The installed tessera.conf is valid as shipped (every setting parses)."""
    db = os.path.join(tdir, "tessera.db")
    p = subprocess.run([os.path.join(usr, "usr/bin/tessera"), "init", "--config",
                        os.path.join(usr, "etc/tessera/tessera.conf"), "--db", db],
                       capture_output=True, text=True, timeout=t(30))
    assert p.returncode == 0, p.stderr
    assert '"kid"' in p.stdout, p.stdout


def test_unit_has_every_sandboxing_directive(usr):
    d = unit_directives(os.path.join(usr, "usr/lib/systemd/system/tessera.service"))
    missing = {k: (v, d.get(k)) for k, v in REQUIRED.items()
               if k not in d or (v is not None and v not in d[k])}
    assert not missing, missing
    assert d["ExecStart"] == ["/usr/bin/tessera serve --config /etc/tessera/tessera.conf"], d
    # `systemctl reload` sends SIGHUP, which the daemon takes as "re-read keys and clients"
    # (test_signals.py checks that it never stops it)
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"], d
    # enough open files for the default connection cap (10000 + 25% answered 503 + files)
    assert int(d["LimitNOFILE"][0]) >= 10000 + 2500 + 256, d["LimitNOFILE"]
    # nothing widens what the lines above narrow
    for k in ("ReadWritePaths", "CapabilityBoundingSet", "AmbientCapabilities",
              "RestrictAddressFamilies"):
        assert len(d[k]) == 1, (k, d[k])
    assert all(v.startswith("~") for v in d["SystemCallFilter"][1:]), d["SystemCallFilter"]


def analyze(usr, d):
    """The installed unit with ExecStart pointing at the installed binary (systemd-analyze
    checks that the command exists), written into the directory d."""
    with open(os.path.join(usr, "usr/lib/systemd/system/tessera.service")) as f:
        text = f.read().replace("ExecStart=/usr/bin/tessera",
                                "ExecStart=" + os.path.join(usr, "usr/bin/tessera"))
    path = os.path.join(d, "tessera.service")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_systemd_analyze_verify_is_clean(usr, tdir):
    path = analyze(usr, tdir)
    # verify runs `man` for the unit's man: links: they must name the installed pages
    env = dict(os.environ, MANPATH=os.path.join(usr, "usr/share/man"))
    p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                       timeout=t(60), env=env)
    assert p.returncode == 0 and p.stderr.strip() == "" and p.stdout.strip() == "", \
        (p.returncode, p.stdout, p.stderr)


def test_systemd_analyze_security_exposure_is_low(usr, tdir):
    path = analyze(usr, tdir)
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", path],
                       capture_output=True, text=True, timeout=t(60))
    assert p.returncode == 0, p.stderr
    m = re.search(r"Overall exposure level for tessera\.service: ([0-9.]+) (\w+)", p.stdout)
    assert m, p.stdout[-2000:]
    # 0 is a service that can do nothing, 10 one unprotected; "OK" is below 2.0
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK", p.stdout[-3000:]


def test_prefix_and_existing_config(tdir):
    conf = os.path.join(tdir, "etc/tessera/tessera.conf")
    os.makedirs(os.path.dirname(conf))
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 0.0.0.0:9000\n")
    make_install(tdir, "/usr/local")
    with open(conf) as f:
        assert f.read() == "[server]\nlisten = 0.0.0.0:9000\n", "an existing config was replaced"
    assert os.access(os.path.join(tdir, "usr/local/bin/tessera"), os.X_OK)
    unit = unit_directives(os.path.join(tdir, "usr/lib/systemd/system/tessera.service"))
    assert unit["ExecStart"] == [
        "/usr/local/bin/tessera serve --config /etc/tessera/tessera.conf"], unit
    assert unit["Documentation"] == [
        "man:tessera(8) man:tessera.conf(5) file:///usr/local/share/doc/tessera/README.md"], unit
    assert os.path.exists(os.path.join(tdir, "usr/local/share/doc/tessera/README.md"))
    assert os.path.exists(os.path.join(tdir, "usr/local/share/man/man8/tessera.8"))
    with open(os.path.join(tdir, "etc/tessera/mosquitto.conf.sample")) as f:
        plugin = [line.split()[1] for line in f if line.startswith("plugin ")]
    assert plugin == ["/usr/local/lib/tessera/tessera_mosquitto.so"], plugin
    assert os.path.exists(plugin[0].replace("/usr/local", tdir + "/usr/local", 1))


# ---------------------------------------------------------------- the man pages

MAN_ENV = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80", LC_ALL="C.UTF-8")


def man(*args):
    p = subprocess.run(["man"] + list(args), capture_output=True, text=True, env=MAN_ENV,
                       timeout=t(60))
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p


@pytest.mark.parametrize("section,name,heading", [
    ("8", "tessera", "TESSERA(8)"), ("5", "tessera.conf", "TESSERA.CONF(5)")])
def test_man_finds_each_page_where_it_was_installed(usr, section, name, heading):
    """`man tessera` and `man tessera.conf` with the installed tree as the manual path."""
    p = man("--warnings", "-M", os.path.join(usr, "usr/share/man"), section, name)
    assert p.stderr == "", p.stderr
    assert p.stdout.splitlines()[0].split()[0] == heading, p.stdout[:200]
    assert "SYNOPSIS" in p.stdout or "DESCRIPTION" in p.stdout, p.stdout[:400]


@pytest.mark.parametrize("page", ["tessera.8", "tessera.conf.5"])
def test_man_pages_render_without_warnings(usr, page):
    path = glob.glob(os.path.join(usr, "usr/share/man/man*", page))
    assert len(path) == 1, path
    p = man("--warnings=all", "-l", path[0])
    assert p.stderr == "" and len(p.stdout) > 2000, (p.stderr, len(p.stdout))
    g = subprocess.run(["groff", "-mandoc", "-ww", "-z", path[0]], capture_output=True,
                       text=True, timeout=t(60))
    assert g.returncode == 0 and g.stderr == "", g.stderr
    # mandoc's linter knows mdoc's rules better than groff (the style level aside)
    m = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", path[0]], capture_output=True,
                       text=True, timeout=t(60))
    assert m.returncode == 0 and m.stdout + m.stderr == "", m.stdout + m.stderr


def test_man_pages_name_every_setting_and_option():
    """Every key of lib/config.c's table is an item of tessera.conf(5), listed in the sample
    etc/tessera.conf, and every option server/cli*.c and server/main.c accept is in tessera(8)."""
    with open(os.path.join(REPO, "lib/config.c")) as f:
        keys = re.findall(r'\{"(server|database|tokens)", "(\w+)"', f.read())
    assert len(keys) >= 23, keys
    with open(os.path.join(REPO, "docs/tessera.conf.5")) as f:
        conf5 = f.read()
    with open(os.path.join(REPO, "etc/tessera.conf")) as f:
        sample = f.read()
    missing = [k for _s, k in keys if not re.search(r"^\.It .*\bCm %s\b" % k, conf5, re.M)]
    assert not missing, "not in docs/tessera.conf.5: %s" % missing
    missing = [k for _s, k in keys if not re.search(r"^#?%s = " % k, sample, re.M)]
    assert not missing, "not in etc/tessera.conf: %s" % missing
    code = ""
    srcs = sorted(glob.glob(os.path.join(REPO, "server/cli*.c"))) + ["server/main.c"]
    assert os.path.join(REPO, "server/cli_client.c") in srcs, srcs
    for src in srcs:
        with open(os.path.join(REPO, src)) as f:
            code += f.read()
    options = set(re.findall(r'"(--[a-z-]+)"', code))
    assert {"--public", "--scope", "--tls-cert", "--password-stdin", "--user"} <= options
    with open(os.path.join(REPO, "docs/tessera.8")) as f:
        page8 = f.read().replace("\\-", "-")
    missing = sorted(o for o in options if not re.search(r"Fl %s\b" % re.escape(o[1:]), page8))
    assert not missing, "not in docs/tessera.8: %s" % missing
    words = set(re.findall(r'strcmp\((?:sub|argv\[1\]), "(\w+)"\)', code))
    words |= {"serve", "init", "client", "user", "key", "grant"}
    missing = sorted(w for w in words if not re.search(r"\bCm (?:\w+ )?%s\b" % w, page8))
    assert not missing, "commands not in docs/tessera.8: %s" % missing
