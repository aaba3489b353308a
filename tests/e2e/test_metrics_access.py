"""Who may read /metrics (issue 19 item 14): [server] metrics = loopback (the default: only
connections from 127.0.0.1 or ::1 that carry no forwarding header, since a reverse proxy on the
same host connects from loopback too), off (404 for everyone), or token (a bearer token read from
metrics_token_file). The daemon sees 127.0.0.2 as another, non-loopback client."""
import os
import subprocess

import requests

from tessera_harness import BIN, http_timeout, session_from, t

TOKEN = "9f" * 32


def get_metrics(srv, source="127.0.0.1", headers=None):
    with session_from(source) as s:
        return s.get(srv.url("/metrics"), headers=headers or {}, timeout=http_timeout())


def test_by_default_metrics_are_served_to_loopback_only(server_factory):
    srv = server_factory.start(name="loopback")
    r = get_metrics(srv)
    assert r.status_code == 200 and "tessera_http_requests_total" in r.text, r.text[:200]
    r = get_metrics(srv, "127.0.0.2")
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json()["error"] == "access_denied"
    assert "tessera_" not in r.text
    # what a reverse proxy passes on from a client says so: refused, even over loopback
    for h in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"},
              {"X-Real-IP": "203.0.113.9"}):
        r = get_metrics(srv, headers=h)
        assert r.status_code == 403, (h, r.status_code)


def test_metrics_off_is_404_for_everyone(server_factory):
    srv = server_factory.start(config={"server": {"metrics": "off"}}, name="off")
    for source in ("127.0.0.1", "127.0.0.2"):
        r = get_metrics(srv, source)
        assert r.status_code == 404, (source, r.status_code, r.text)
        assert "tessera_" not in r.text
    assert srv.get("/healthz").status_code == 200


def test_metrics_token_needs_the_bearer_token_from_anywhere(server_factory, tdir):
    path = os.path.join(tdir, "metrics.token")
    with open(path, "w") as f:
        f.write(TOKEN + "\n")
    srv = server_factory.start(config={"server": {"metrics": "token", "metrics_token_file": path}},
                               name="token")
    for source in ("127.0.0.1", "127.0.0.2"):
        r = get_metrics(srv, source)
        assert r.status_code == 401, (source, r.status_code)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
        for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "0", "Bearer " + TOKEN.upper(),
                      "Basic " + TOKEN, TOKEN, "Bearer"):
            r = get_metrics(srv, source, {"Authorization": wrong})
            assert r.status_code == 401, (source, wrong, r.status_code)
        r = get_metrics(srv, source, {"Authorization": "Bearer " + TOKEN})
        assert r.status_code == 200 and "tessera_http_requests_total" in r.text, r.text[:200]


def test_metrics_token_without_a_good_token_file_does_not_start(tdir):
    short = os.path.join(tdir, "short.token")
    with open(short, "w") as f:
        f.write("abc\n")
    cases = [({"metrics": "token"}, "metrics_token_file"),
             ({"metrics": "token", "metrics_token_file": short}, "at least 32"),
             ({"metrics": "token", "metrics_token_file": os.path.join(tdir, "none")},
              "cannot be read")]
    for i, (server, said) in enumerate(cases):
        conf = os.path.join(tdir, "t%d.conf" % i)
        with open(conf, "w") as f:
            f.write("[server]\n" + "".join("%s = %s\n" % kv for kv in server.items()))
        p = subprocess.run([BIN, "serve", "--config", conf, "--db", os.path.join(tdir, "t.db"),
                            "--listen", "127.0.0.1:1"], capture_output=True, text=True,
                           timeout=t(20))
        assert p.returncode == 1, (server, p.returncode, p.stderr)
        assert said in p.stderr, (server, p.stderr)
        assert "listening" not in p.stderr


def test_metrics_with_a_nul_after_the_path_is_not_served(server_factory):
    """/metrics%00x was cut to /metrics (item 14): it no longer reaches the endpoint at all."""
    srv = server_factory.start(name="nul")
    r = requests.get(srv.url("/metrics%00x"), timeout=http_timeout())
    assert r.status_code == 400 and "tessera_" not in r.text, (r.status_code, r.text[:200])
