"""The daemon on PostgreSQL when the database is busy or gone (make test-pg; skipped on SQLite):
a write waiting past busy_timeout_ms on the writers' advisory lock (another node's transaction)
is a bounded 503, and with the server stopped every request that needs it is a 503 until the
server is back, when the daemon answers again by itself, without a restart."""
import os
import subprocess
import time

import pytest

from tessera_harness import PG, REPO, db_is_pg, t, wait_for

pytestmark = pytest.mark.skipif(not PG, reason="PostgreSQL's own (make test-pg)")

# lib/db_pg.c's WRITE_LOCK: every write transaction of every node takes it
# (depcheck: optional psql: these tests run under make test-pg only, whose list names it)
WRITE_LOCK = 7165636549


def cluster(what):
    d = os.environ.get("TESSERA_PG_DIR")
    assert d, "TESSERA_PG_DIR is not set: run through make test-pg"
    subprocess.run(["sh", os.path.join(REPO, "tools", "pg-cluster.sh"), what, d], check=True,
                   timeout=t(60), stdout=subprocess.DEVNULL)


def start(fresh_factory, threads=0, more=0):
    s = fresh_factory.start(config={"database": {"busy_timeout_ms": 300},
                                    "server": {"threads": threads}},
                            clients=[{"client_id": "rs", "scope": "introspect"},
                                     {"client_id": "dev", "scope": "x"}] +
                            [{"client_id": "dev-%d" % i, "scope": "x"} for i in range(more)])
    assert db_is_pg(s.db)
    return s, s.clients["dev"], s.clients["rs"]


def test_row114_a_write_waiting_on_another_nodes_transaction_is_a_bounded_503(fresh_factory):
    """docs/security.md row 114: one writer at a time over every node sharing the database."""
    s, dev, rs = start(fresh_factory)
    tok = s.access_token(dev)
    other = subprocess.Popen(["psql", "-X", "-qAt", "-d", s.db], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        other.stdin.write("BEGIN; SELECT 'held' FROM (SELECT pg_advisory_xact_lock(%d)) l;\n"
                          % WRITE_LOCK)
        other.stdin.flush()
        assert other.stdout.readline().strip() == "held"
        start_at = time.monotonic()
        r = s.revoke(dev, tok)
        took = time.monotonic() - start_at
        assert r.status_code == 503, (r.status_code, r.text)
        assert r.json()["error"] == "temporarily_unavailable"
        assert 0.2 <= took < t(3), took
        assert s.get("/healthz").status_code == 200
    finally:
        other.stdin.write("ROLLBACK;\n")
        other.stdin.close()
        other.wait(timeout=t(10))
    r = s.revoke(dev, tok)
    assert r.status_code == 200, r.text
    assert s.introspect(rs, tok).json() == {"active": False}


def test_row116_postgresql_stopped_is_503_and_the_daemon_recovers_by_itself(fresh_factory):
    """docs/security.md row 116: no hang, no 500, no restart."""
    s, dev, rs = start(fresh_factory, threads=2, more=8)
    tok = s.access_token(dev)
    cluster("restart-stop")
    try:
        r = s.revoke(dev, tok)
        assert r.status_code == 503, (r.status_code, r.text)
        assert r.json()["error"] == "temporarily_unavailable"
        r = s.introspect(rs, tok)
        assert r.status_code == 503, (r.status_code, r.text)
        assert s.get("/healthz").status_code in (200, 503)
    finally:
        cluster("restart-start")
    # the server is back (pg_ctl -w): every read is answered at once, also on the daemon's
    # connections that were idle through the outage and that the server ended meanwhile; the
    # writer's connection recovers by itself too
    answers = [s.token(s.clients["dev-%d" % i]).status_code for i in range(8)]
    assert answers == [200] * 8, answers   # clients not cached yet: each reads the store
    assert wait_for(lambda: s.revoke(dev, tok).status_code == 200, within=t(10))
    assert s.introspect(rs, tok).json() == {"active": False}
    assert s.token(dev).status_code == 200
    assert s.proc.poll() is None


def test_row116_connections_idle_through_a_restart_answer_at_once(fresh_factory):
    """docs/security.md row 116: a daemon whose connections sat idle while PostgreSQL restarted
    (the server ended them) answers its next requests at once, without a 503 on each thread's
    first use of a dead connection."""
    s = fresh_factory.start(clients=[{"client_id": "w%d" % i, "scope": "x"} for i in range(30)] +
                            [{"client_id": "n%d" % i, "scope": "x"} for i in range(10)])
    for i in range(30):  # a connection on every worker thread
        assert s.token(s.clients["w%d" % i]).status_code == 200
    cluster("restart-stop")
    cluster("restart-start")
    answers = [s.token(s.clients["n%d" % i]).status_code for i in range(10)]  # uncached: reads
    assert answers == [200] * 10, answers
