/* store_faults_fixture.c - the driver of the fault suites (test_store_faults.c,
 * test_store_faults_jobs.c; see test_store_faults.c for what every run must hold): the template
 * database, one run of an operation with a failure armed, and the torture loop over every kind
 * and call. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "grant.h"
#include "b64.h"
#include "secret.h"
#include "store_faults_fixture.h"

char dir[PATH_MAX];
char tmpl[PATH_MAX + 16], work[PATH_MAX + 16];

/* --- files and SQL --- */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	ck_assert_int_ge(in, 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

static void remove_db(const char *path)
{
	char p[PATH_MAX + 32];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

/* One integer from sql, with blob ?1 bound when hash is not NULL. */
int64_t sql_int(sqlite3 *db, const char *sql, const unsigned char *hash)
{
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (hash)
		ck_assert_int_eq(sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC), SQLITE_OK);
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row: %s", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t sql_hash(sqlite3 *db, const char *sql, const char *text)
{
	unsigned char h[32];

	grant_token_hash(text, h);
	return sql_int(db, sql, h);
}

void sql_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no row: %s", sql);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* How many refresh tokens the work database holds now (another connection). */
int64_t refresh_count(void)
{
	sqlite3 *db;
	int64_t n;

	ck_assert_int_eq(sqlite3_open_v2(work, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	n = sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL);
	sqlite3_close(db);
	return n;
}

/* --- the template: one of everything the operations work on --- */

struct client app_client(const char *id)
{
	struct client c = {
		.client_id = (char *)id,
		.name = "App",
		.redirect_uris = "https://a.example/cb",
		.grant_types = "authorization_code refresh_token device_code",
		.scope = "openid mqtt:sub:a/# mqtt:pub:a/#",
		.refresh_rotation = 1,
		.refresh_idle_ttl = 3600,
		.active = 1,
		.created_at = NOW - 1000,
		.updated_at = NOW - 1000,
	};

	memset(c.secret_hash, 0x5a, sizeof c.secret_hash);
	return c;
}

/* The template's client "app" as the token endpoint has it once authenticated: the first client
 * added, record 1 (make_template checks). */
const struct client *app(void)
{
	static struct client c;

	c = app_client("app");
	c.record = 1;
	return &c;
}

struct user user_named(const char *name, const char *email)
{
	struct user u = {
		.username = (char *)name,
		.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		.email = (char *)email,
		.name = "Someone",
		.scope = "mqtt:sub:a/# mqtt:pub:a/#",
		.active = 1,
		.created_at = NOW - 900,
		.updated_at = NOW - 900,
	};

	return u;
}

static void add_device(store *s, const char *text, const char *user_code)
{
	struct device d = {
		.client_id = "app", .scope = "mqtt:sub:a/#", .created_at = NOW - 10,
		.expires_at = NOW + 600, .interval = 5,
	};

	grant_token_hash(text, d.hash);
	strcpy(d.user_code, user_code);
	ck_assert_int_eq(store_device_add(s, &d), TS_OK);
}

void add_refresh_scoped(store *s, const char *text, int64_t grant_id, int64_t used_at,
                               const char *scope)
{
	struct refresh r = {
		.grant_id = grant_id, .created_at = NOW - 200, .expires_at = NOW + 3600,
		.used_at = used_at, .scope = (char *)scope,
	};

	grant_token_hash(text, r.hash);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
}

void add_refresh(store *s, const char *text, int64_t grant_id, int64_t used_at)
{
	add_refresh_scoped(s, text, grant_id, used_at, NULL);
}

/* A code of alice's grant (1) with VERIFIER's challenge, good for a minute. */
void add_code(store *s, const char *text)
{
	struct code c = {
		.client_id = "app", .user_id = 1, .grant_id = 1, .redirect_uri = "https://a.example/cb",
		.redirect_given = 1, .scope = "mqtt:sub:a/#", .auth_time = NOW - 20,
		.created_at = NOW - 20, .expires_at = NOW + 40,
	};
	unsigned char h[32];
	char challenge[64];

	secret_sha256(VERIFIER, strlen(VERIFIER), h);
	b64url_encode(h, 32, challenge);
	c.challenge = challenge;
	grant_token_hash(text, c.hash);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
}

static void make_template(void)
{
	struct client c = app_client("app");
	struct user alice = user_named("alice", "alice@example.org");
	struct user bob = user_named("bob", "bob@example.org");
	struct grant g1 = {.client_id = "app", .scope = "mqtt:sub:a/#", .created_at = NOW - 500};
	struct grant g2 = {.client_id = "app", .scope = "mqtt:sub:a/#", .created_at = NOW - 500};
	struct group staff = {.display_name = "staff", .scope = "mqtt:sub:staff/#",
	                      .created_at = NOW - 800, .updated_at = NOW - 800};
	struct key_row key1 = {.kid = "k1", .alg = "ES256", .pem = "-----BEGIN PRIVATE KEY-----",
	                       .created_at = NOW - 1000};
	struct client *stored = NULL;
	unsigned char secret[32];
	store *s;
	int64_t one = 1;

	ck_assert_int_eq(store_open(tmpl, 0, 2, &s), TS_OK);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_client_get(s, "app", &stored), TS_OK);
	ck_assert_int_eq(stored->record, app()->record);
	store_client_free(stored);
	ck_assert_int_eq(store_user_add(s, &alice), TS_OK);
	ck_assert_int_eq(store_user_add(s, &bob), TS_OK);
	ck_assert_int_eq(alice.id, 1);
	ck_assert_int_eq(bob.id, 2);
	ck_assert_int_eq(store_group_add(s, &staff), TS_OK);
	ck_assert_int_eq(store_group_set_members(s, staff.id, &one, 1, NOW - 800), TS_OK);
	g1.user_id = alice.id;
	g2.user_id = bob.id;
	ck_assert_int_eq(store_grant_add(s, &g1), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g2), TS_OK);
	ck_assert_int_eq(g1.id, 1);
	ck_assert_int_eq(g2.id, 2);

	add_code(s, CODE_TEXT);

	add_refresh_scoped(s, RT_TEXT, g1.id, 0, "mqtt:sub:a/#");
	add_refresh(s, RT_USED_TEXT, g2.id, NOW - 100);
	add_device(s, DEV_PENDING, "BCDFGHJK");
	add_device(s, DEV_APPROVED, "BCDFGHJL");
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJL", DEVICE_APPROVED, alice.id, g1.id,
	                                     "mqtt:sub:a/#", NOW - 5, NOW - 5), TS_OK);
	ck_assert_int_eq(store_secret(s, "refresh-successor", secret), TS_OK);
	ck_assert_int_eq(store_key_add(s, &key1), TS_OK);
	store_close(s); /* the last connection: the WAL is checkpointed into the file and removed */
}

/* --- the driver --- */

/* A job that writes: the writer still commits after a failure. */
static ts_err job_probe(store *s, void *arg)
{
	(void)arg;
	return store_revoke_jti(s, "probe", NOW + 60);
}

/* One run of op with the nth call of kind k failing; returns whether it failed. */
static int run_once(const struct op *op, enum fault_kind k, long n, int persist)
{
	struct ctx x;
	sqlite3 *db;
	void *arg;
	ts_err rc;
	int fired;

	memset(&x, 0, sizeof x);
	x.kind = k;
	x.n = n;
	x.persist = persist;
	remove_db(work);
	if (!(op->flags & OP_EMPTY))
		copy_file(tmpl, work);
	if (!(op->flags & OP_NO_STORE))
		ck_assert_int_eq(store_open(work, 0, 2, &x.s), TS_OK);
	if (op->flags & OP_WRITER)
		ck_assert_int_eq(writer_start(work, 0, 2, &x.w), TS_OK);
	if (op->before)
		op->before(&x);
	if (op->flags & OP_WARM) {
		store *s = x.s;

		ck_assert_int_eq(op->run(x.s, (char *)&x + op->arg), TS_OK);
		if (op->after)
			op->after(&x);
		memset(&x, 0, sizeof x);
		x.s = s;
		x.kind = k;
		x.n = n;
		x.persist = persist;
		if (op->before)
			op->before(&x);
	}

	fault_arm(k, n, persist);
	arg = (char *)&x + op->arg;
	rc = (op->flags & OP_WRITER) ? writer_run(x.w, op->run, arg) : op->run(x.s, arg);
	fired = fault_disarm();

	ck_assert_msg(rc == TS_OK || fired, "%s: error %d with no failure injected", op->name, rc);
	ck_assert_msg(rc == TS_OK || rc == TS_SERVER_ERROR || rc == TS_UNAVAILABLE,
	              "%s: %s call %ld%s failing gave error %d", op->name, fault_kind_name(k), n,
	              persist ? " and on" : "", rc);
	/* no lock left: another connection takes the write lock at once */
	ck_assert_int_eq(sqlite3_open_v2(work, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL) == SQLITE_OK,
	              "%s: %s call %ld%s failing left the database locked", op->name,
	              fault_kind_name(k), n, persist ? " and on" : "");
	op->check(&x, db, rc);
	/* a failed write, full disk or sync must not have damaged the file (failed allocations and
	 * reads write nothing) */
	if (fired && (k == FAULT_IO_WRITE || k == FAULT_IO_FULL || k == FAULT_IO_SYNC)) {
		char ok[16];

		sql_text(db, "PRAGMA quick_check", ok, sizeof ok);
		ck_assert_str_eq(ok, "ok");
	}
	sqlite3_close(db);
	/* and the connection that failed goes on working */
	if (x.s) {
		ck_assert_int_eq(store_begin(x.s), TS_OK);
		ck_assert_int_eq(store_commit(x.s), TS_OK);
	}
	if (x.w)
		ck_assert_int_eq(writer_run(x.w, job_probe, NULL), TS_OK);
	if (op->after)
		op->after(&x);
	writer_stop(x.w);
	store_close(x.s);
	return fired;
}

/* Every kind of failure at every call (sampled past 40) until a run meets none; then lasting
 * failures from every call on (sampled past 10). */
void torture(const struct op *op)
{
	long n, persisted = 0, failed[FAULT_KIND_COUNT] = {0};
	int k;

	for (k = 0; k < FAULT_KIND_COUNT; k++) {
		for (n = 1; run_once(op, (enum fault_kind)k, n, 0); n += n < 40 ? 1 : n / 8) {
			failed[k]++;
			ck_assert_msg(n < 1000000, "%s: no end to %s calls", op->name,
			              fault_kind_name((enum fault_kind)k));
		}
		/* then every call from the nth on failing (a full disk, memory that stays short):
		 * the error paths meet failures too (not a lock that stays taken: SQLite waits
		 * for it, and test_store's locking tests cover that) */
		for (n = 1; k != FAULT_IO_LOCK && run_once(op, (enum fault_kind)k, n, 1);
		     n += n < 10 ? 1 : n / 3)
			persisted++;
	}
	printf("%-18s failures injected:", op->name);
	for (k = 0; k < FAULT_KIND_COUNT; k++)
		printf(" %s %ld", fault_kind_name((enum fault_kind)k), failed[k]);
	printf(", lasting %ld\n", persisted);
	fflush(stdout);
}

void free_user(struct ctx *x)
{
	store_user_free(x->u);
}

void check_widened(sqlite3 *db, int widened)
{
	char scope[64];

	sql_text(db, "SELECT scope FROM grants WHERE id = 1", scope, sizeof scope);
	ck_assert_str_eq(scope, widened ? "mqtt:sub:a/# mqtt:pub:a/#" : "mqtt:sub:a/#");
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants", NULL), 2);
}

void after_refresh(struct ctx *x)
{
	grant_refresh_done(&x->q);
}

static void suite_setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir, sizeof dir, "%s/tessera-faults-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(tmpl, sizeof tmpl, "%s/template.db", dir);
	snprintf(work, sizeof work, "%s/w.db", dir);
	make_template();
}

static void suite_teardown(void)
{
	remove_db(work);
	remove_db(tmpl);
	rmdir(dir);
}

/* One fixture per case, so that CK_RUN_CASE=jobs (say) runs one alone. */
TCase *torture_case(Suite *s, const char *name)
{
	TCase *t = tcase_create(name);

	tcase_add_unchecked_fixture(t, suite_setup, suite_teardown);
	tcase_set_timeout(t, 300);
	suite_add_tcase(s, t);
	return t;
}


int store_faults_run(const char *prog, Suite *s)
{
	SRunner *sr;
	int failed;

	/* before SQLite's first use */
	if (fault_setup() != 0) {
		fprintf(stderr, "%s: SQLite refused the failing allocator or VFS\n", prog);
		return EXIT_FAILURE;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
