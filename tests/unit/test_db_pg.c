/* Unit tests for lib/db_pg.c, the database seam on PostgreSQL (run by `make test-pg`, which sets
 * TESSERA_PG to a URI that may create databases and TESSERA_PG_DIR to its throwaway cluster):
 * prepare, bind and step; the SQLSTATEs mapped to ts_err; transactions and the writers' lock;
 * the data version through LISTEN/NOTIFY; and the reconnection after the server went away
 * (docs/security.md rows 112-116). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "db.h"
#include "store.h"

static char uri[512];            /* this suite's own database */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "test_db_pg: %s is not set: run it through `make test-pg`\n", name);
		exit(1);
	}
	return v;
}

/* The suite's database, made once on the server TESSERA_PG names, with a table of every type,
 * a table that refers to it, and a trigger that refuses a value. */
/* (outside the tests, where Check's asserts cannot report) */
#define need(x) do { if (!(x)) { fprintf(stderr, "test_db_pg: %s failed\n", #x); exit(1); } } \
	while (0)

static void make_database(void)
{
	const char *base = env("TESSERA_PG");
	const char *q = strchr(base, '?');
	const char *slash = strstr(base, "://");
	char sql[128], name[64];
	db *d;

	slash = strchr(slash + 3, '/');
	need(slash);
	snprintf(name, sizeof name, "unit_db_pg_%d", (int)getpid());
	snprintf(uri, sizeof uri, "%.*s/%s%s", (int)(slash - base), base, name, q ? q : "");
	need(db_open(base, 2000, 2, &d) == TS_OK);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
	need(db_exec(d, sql) == TS_OK);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	need(db_exec(d, sql) == TS_OK);
	db_close(d);
	need(db_open(uri, 2000, 2, &d) == TS_OK);
	need(db_exec(d,
		"CREATE TABLE t (k text PRIMARY KEY, i bigint, r float8, b bytea); "
		"CREATE TABLE child (k text REFERENCES t (k)); "
		"CREATE FUNCTION no_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"RAISE EXCEPTION 'bad is refused'; END $$; "
		"CREATE TRIGGER no_bad BEFORE INSERT ON t FOR EACH ROW WHEN (NEW.k = 'bad') "
		"EXECUTE FUNCTION no_bad(); "
		"CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"PERFORM pg_notify('tessera_data', ''); RETURN NULL; END $$; "
		"CREATE TRIGGER note AFTER INSERT OR UPDATE OR DELETE ON t "
		"FOR EACH STATEMENT EXECUTE FUNCTION note()") == TS_OK);
	db_close(d);
}

static db *open_db(int busy_ms)
{
	db *d;

	ck_assert_int_eq(db_open(uri, busy_ms, 2, &d), TS_OK);
	ck_assert_int_eq(db_exec(d, "DELETE FROM child; DELETE FROM t"), TS_OK);
	return d;
}

#define PEND 8 /* deferred commands kept at once (PEND_MAX of lib/db_pg_priv.h) */

static const struct db_sql q_add = {"INSERT INTO t (k, i, r, b) VALUES (?1, ?2, ?3, ?4)", NULL, 0};
static const struct db_sql q_get = {"SELECT k, i, r, b FROM t WHERE k = ?1", NULL, 0};
static const struct db_sql q_child = {"INSERT INTO child (k) VALUES (?1)", NULL, 0};
static const struct db_sql q_count = {"SELECT count(*) FROM t", NULL, 0};

static ts_err run(db *d, const struct db_sql *q, const struct db_val *v, size_t n)
{
	db_stmt *st;
	ts_err e;
	int row;

	if ((e = db_prepare(d, q, &st)))
		return e;
	if (!(e = db_bind(st, v, n)))
		do
			e = db_step(st, &row);
		while (!e && row);
	db_done(st);
	return e;
}

static int64_t count(db *d)
{
	db_stmt *st;
	int row;
	int64_t n;

	ck_assert_int_eq(db_prepare(d, &q_count, &st), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_int_eq(row, 1);
	n = db_int(st, 0);
	db_done(st);
	return n;
}

static ts_err add(db *d, const char *k)
{
	struct db_val v[] = {DB_T(k), DB_I(1), DB_R(0.5), DB_B("x", 1)};

	return run(d, &q_add, v, 4);
}

/* The server process of d's session, and its end through another connection (by), as a server
 * restart or a network cut would end it. */
static struct db_val session_of(db *d)
{
	static const struct db_sql pid = {"SELECT pg_backend_pid()", NULL, 0};
	struct db_val v;
	db_stmt *st;
	int row;

	ck_assert_int_eq(db_prepare(d, &pid, &st), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	v = DB_I(db_int(st, 0));
	db_done(st);
	return v;
}

static void end_session(db *by, struct db_val pid)
{
	static const struct db_sql kill = {"SELECT pg_terminate_backend(?1::integer)", NULL, 0};

	ck_assert_int_eq(run(by, &kill, &pid, 1), TS_OK);
}

START_TEST(test_values)
{
	static const unsigned char blob[] = {0, 1, 0x5c, 0xff, 'x', 0};
	db *d = open_db(2000);
	struct db_val v[] = {DB_TN("key-and-more", 3), DB_I(-9007199254740993LL), DB_R(2.25),
	                     DB_B(blob, sizeof blob)};
	struct db_val k = DB_T("key");
	struct db_val nulls[] = {DB_T("n"), DB_I0(0), DB_NUL, DB_B(NULL, 0)};
	db_stmt *st;
	int row;

	ck_assert_int_eq(run(d, &q_add, v, 4), TS_OK);
	ck_assert_int_eq(db_changes(d), 1);
	ck_assert_int_eq(db_prepare(d, &q_get, &st), TS_OK);
	ck_assert_int_eq(db_bind(st, &k, 1), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_int_eq(db_type(st, 0), DB_TEXT);
	ck_assert_str_eq(db_text(st, 0), "key");
	ck_assert_int_eq(db_bytes(st, 0), 3);
	ck_assert_int_eq(db_type(st, 1), DB_INT);
	ck_assert(db_int(st, 1) == -9007199254740993LL);
	ck_assert_int_eq(db_type(st, 2), DB_REAL);
	ck_assert_int_eq(db_type(st, 3), DB_BLOB);
	ck_assert_ptr_nonnull(db_blob(st, 3));
	ck_assert_int_eq(db_bytes(st, 3), sizeof blob);
	ck_assert_mem_eq(db_blob(st, 3), blob, sizeof blob);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_int_eq(row, 0);
	db_done(st);
	/* NULLs: DB_I0(0), DB_NUL, a NULL blob */
	ck_assert_int_eq(run(d, &q_add, nulls, 4), TS_OK);
	k = DB_T("n");
	ck_assert_int_eq(db_prepare(d, &q_get, &st), TS_OK);
	ck_assert_int_eq(db_bind(st, &k, 1), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_int_eq(db_type(st, 1), DB_NULL);
	ck_assert_int_eq(db_int(st, 1), 0);
	ck_assert_int_eq(db_type(st, 2), DB_NULL);
	ck_assert_int_eq(db_type(st, 3), DB_NULL);
	ck_assert_ptr_null(db_text(st, 3));
	db_done(st);
	db_close(d);
}
END_TEST

/* ?N become $N, but not inside quoted text; the pg text replaces the portable one. */
START_TEST(test_dialect)
{
	static const struct db_sql q = {"SELECT 'no ?1 here', ?1 || 'x'", NULL, 0};
	static const struct db_sql both = {"SELECT max(1, 2)", "SELECT GREATEST(1, 2)", 0};
	db *d = open_db(2000);
	struct db_val v = DB_T("a");
	db_stmt *st;
	int row;

	ck_assert_int_eq(db_dialect_of(d), DB_PG);
	ck_assert_int_eq(db_prepare(d, &q, &st), TS_OK);
	ck_assert_int_eq(db_bind(st, &v, 1), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_str_eq(db_text(st, 0), "no ?1 here");
	ck_assert_str_eq(db_text(st, 1), "ax");
	db_done(st);
	ck_assert_int_eq(db_prepare(d, &both, &st), TS_OK);
	ck_assert_int_eq(db_step(st, &row), TS_OK);
	ck_assert_int_eq(db_int(st, 0), 2);
	db_done(st);
	db_close(d);
}
END_TEST

/* docs/security.md row 113: the SQLSTATEs the store acts on. */
START_TEST(test_errors)
{
	static const struct db_sql bad = {"SELEKT 1", NULL, 0};
	db *d = open_db(2000);
	struct db_val k = DB_T("nobody");
	db_stmt *st;

	ck_assert_int_eq(add(d, "a"), TS_OK);
	ck_assert_int_eq(add(d, "a"), TS_CONFLICT);                 /* 23505 */
	ck_assert_int_eq(run(d, &q_child, &k, 1), TS_NOT_FOUND);    /* 23503 */
	ck_assert_int_eq(add(d, "bad"), TS_INVALID_REQUEST);        /* a trigger's RAISE */
	ck_assert_int_eq(db_prepare(d, &bad, &st), TS_SERVER_ERROR);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(db_errmsg(d), "syntax"));
	ck_assert_int_eq(count(d), 1);
	db_close(d);
}
END_TEST

START_TEST(test_transaction)
{
	db *d = open_db(2000);

	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(db_begin(d), TS_OK);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(add(d, "a"), TS_OK);
	ck_assert_int_eq(db_rollback(d), TS_OK);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(count(d), 0);
	/* a failed job inside a savepoint is undone alone, and the transaction goes on */
	ck_assert_int_eq(db_begin(d), TS_OK);
	ck_assert_int_eq(add(d, "a"), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 0), TS_OK);
	ck_assert_int_eq(add(d, "b"), TS_OK);
	ck_assert_int_eq(add(d, "a"), TS_CONFLICT);
	ck_assert_int_eq(db_rollback_to(d, 0), TS_OK);
	ck_assert_int_eq(db_release(d, 0), TS_OK);
	ck_assert_int_eq(db_commit(d), TS_OK);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(count(d), 1);
	ck_assert_int_eq(db_rollback(d), TS_OK); /* none open: nothing */
	db_close(d);
}
END_TEST

/* SAVEPOINT and RELEASE wait for the next statement and go with it (one round trip): what they
 * mean is unchanged. A savepoint sent with a statement that fails still exists to roll back to;
 * a nested savepoint released (deferred) is undone by rolling back to the outer one; more
 * deferred commands than are kept at once are sent by themselves; and a connection lost while
 * commands wait answers TS_UNAVAILABLE at the next statement, then recovers after the rollback. */
START_TEST(test_deferred_savepoints)
{
	db *d = open_db(2000), *b = open_db(2000);
	struct db_val pid;
	int i;

	ck_assert_int_eq(db_begin(d), TS_OK);
	ck_assert_int_eq(add(d, "a"), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 0), TS_OK);
	ck_assert_int_eq(add(d, "a"), TS_CONFLICT);        /* sent with the SAVEPOINT, and fails */
	ck_assert_int_eq(db_rollback_to(d, 0), TS_OK);     /* the savepoint is there */
	ck_assert_int_eq(db_release(d, 0), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 0), TS_OK);
	ck_assert_int_eq(add(d, "b"), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 1), TS_OK);
	ck_assert_int_eq(add(d, "c"), TS_OK);
	ck_assert_int_eq(db_release(d, 1), TS_OK);
	ck_assert_int_eq(db_rollback_to(d, 0), TS_OK);     /* b and the released c undone */
	ck_assert_int_eq(db_release(d, 0), TS_OK);
	for (i = 0; i < 3 * PEND; i++)                     /* more than are kept: sent alone */
		ck_assert_int_eq(i % 2 ? db_release(d, 1) : db_savepoint(d, 1), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 0), TS_OK);
	ck_assert_int_eq(add(d, "d"), TS_OK);
	ck_assert_int_eq(db_release(d, 0), TS_OK);
	ck_assert_int_eq(db_commit(d), TS_OK);             /* sent with the last RELEASE */
	ck_assert_int_eq(count(d), 2);                     /* a and d */

	pid = session_of(d);
	ck_assert_int_eq(db_begin(d), TS_OK);
	ck_assert_int_eq(db_savepoint(d, 0), TS_OK);
	end_session(b, pid);
	ck_assert_int_eq(add(d, "e"), TS_UNAVAILABLE);
	ck_assert_int_eq(db_rollback(d), TS_OK);
	ck_assert_int_eq(add(d, "f"), TS_OK);              /* a new connection */
	ck_assert_int_eq(count(b), 3);
	db_close(d);
	db_close(b);
}
END_TEST

/* docs/security.md row 114: one writer at a time over every connection (and so every node): a
 * second write transaction waits for the first, and gives up with TS_UNAVAILABLE after its
 * busy timeout (lock_timeout); a read goes on meanwhile. */
START_TEST(test_write_lock)
{
	db *a = open_db(2000), *b = open_db(200);
	struct timespec t0, t1;
	long ms;

	ck_assert_int_eq(db_begin(a), TS_OK);
	ck_assert_int_eq(add(a, "a"), TS_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(db_begin(b), TS_UNAVAILABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 150);
	ck_assert_int_eq(db_in_transaction(b), 0);
	ck_assert_int_eq(count(b), 0);       /* reads are not blocked, and see no uncommitted row */
	ck_assert_int_eq(db_commit(a), TS_OK);
	ck_assert_int_eq(db_begin(b), TS_OK);
	ck_assert_int_eq(count(b), 1);
	ck_assert_int_eq(db_commit(b), TS_OK);
	db_close(a);
	db_close(b);
}
END_TEST

/* Polls d's data version until it differs from v, for up to 5 s. */
static int64_t version_moves(db *d, int64_t v)
{
	int64_t now = v;
	int i;

	for (i = 0; i < 500 && now == v; i++) {
		ck_assert_int_eq(db_data_version(d, &now), TS_OK);
		if (now == v)
			usleep(10000);
	}
	return now;
}

/* docs/security.md row 115: another connection's committed write moves the data version. */
START_TEST(test_data_version)
{
	db *a = open_db(2000), *b = open_db(2000);
	int64_t v0, v1;

	ck_assert_int_eq(db_data_version(a, &v0), TS_OK);
	ck_assert_int_eq(add(b, "a"), TS_OK);
	v1 = version_moves(a, v0);
	ck_assert(v1 != v0);
	/* nothing written: it stays */
	usleep(100000);
	ck_assert_int_eq(db_data_version(a, &v0), TS_OK);
	ck_assert(v0 == v1);
	db_close(a);
	db_close(b);
}
END_TEST

static void cluster(const char *what)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "sh tools/pg-cluster.sh %s '%s' >/dev/null", what,
	         env("TESSERA_PG_DIR"));
	ck_assert_int_eq(system(cmd), 0);
}

/* docs/security.md row 116: the server stopped, every call answers TS_UNAVAILABLE (a
 * transaction in progress is lost, and says so until rolled back); started again, the same
 * connection works again by itself, and its data version has moved (what was notified
 * meanwhile is lost, so the caches start over). */
START_TEST(test_reconnect)
{
	db *d = open_db(2000);
	int64_t v0, v1;
	db_stmt *st;
	int row;

	ck_assert_int_eq(add(d, "a"), TS_OK);
	ck_assert_int_eq(count(d), 1);
	ck_assert_int_eq(db_data_version(d, &v0), TS_OK);
	ck_assert_int_eq(db_begin(d), TS_OK);
	ck_assert_int_eq(add(d, "b"), TS_OK);
	cluster("restart-stop");
	ck_assert_int_eq(add(d, "c"), TS_UNAVAILABLE);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(db_commit(d), TS_UNAVAILABLE);
	ck_assert_int_eq(db_rollback(d), TS_OK);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(db_prepare(d, &q_count, &st), TS_OK);   /* (prepared before) */
	ck_assert_int_eq(db_step(st, &row), TS_UNAVAILABLE);
	db_done(st);
	ck_assert_int_eq(db_data_version(d, &v1), TS_UNAVAILABLE);
	ck_assert_int_eq(db_begin(d), TS_UNAVAILABLE);
	cluster("restart-start");
	ck_assert_int_eq(count(d), 1);            /* "b" was never committed */
	ck_assert_int_eq(add(d, "c"), TS_OK);
	ck_assert_int_eq(db_data_version(d, &v1), TS_OK);
	ck_assert(v1 != v0);
	db_close(d);
}
END_TEST

/* docs/security.md row 114: the connection lost during COMMIT is resolved by asking the server
 * (txid_status) on a new connection: here the server ended the session before COMMIT
 * arrived, so the transaction aborted, and COMMIT says so (TS_UNAVAILABLE) rather than OK. */
START_TEST(test_commit_lost)
{
	db *a = open_db(2000), *b = open_db(2000);
	struct db_val pid = session_of(a);

	ck_assert_int_eq(db_begin(a), TS_OK);
	ck_assert_int_eq(add(a, "a"), TS_OK);
	end_session(b, pid);
	ck_assert_int_eq(db_commit(a), TS_UNAVAILABLE);
	ck_assert_int_eq(db_rollback(a), TS_OK);
	ck_assert_int_eq(count(a), 0);
	ck_assert_int_eq(count(b), 0);
	db_close(a);
	db_close(b);
}
END_TEST

/* A whole store on PostgreSQL: migrated once (a second open finds it done), and a lost update
 * cannot happen between two stores' transactions. */
START_TEST(test_store)
{
	store *s1, *s2;
	int revoked = 0;

	ck_assert_int_eq(store_open(uri, 2000, 2, &s1), TS_OK);
	ck_assert_int_eq(store_schema_version(s1), store_schema_latest());
	ck_assert_int_eq(store_open(uri, 2000, 2, &s2), TS_OK);
	ck_assert_int_eq(store_schema_version(s2), store_schema_latest());
	ck_assert_int_eq(store_revoke_jti(s1, "j1", 4000000000LL), TS_OK);
	ck_assert_int_eq(store_revoke_jti(s2, "j1", 4000000001LL), TS_OK); /* GREATEST */
	ck_assert_int_eq(store_is_revoked(s1, "j1", &revoked), TS_OK);
	ck_assert_int_eq(revoked, 1);
	store_close(s1);
	store_close(s2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("db_pg");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_dialect);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_transaction);
	tcase_add_test(tc, test_deferred_savepoints);
	tcase_add_test(tc, test_write_lock);
	tcase_add_test(tc, test_data_version);
	tcase_add_test(tc, test_commit_lost);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_reconnect);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;
	SRunner *sr = srunner_create(suite());

	make_database();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
