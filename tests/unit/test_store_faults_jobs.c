/* test_store_faults_jobs.c - failure injection on the store's writer jobs (code redemption,
 * refresh rotation and reuse, an admin's change of a grant's scope, device authorizations), SCIM
 * writes and lists, and a writer batch. What every run must hold is said in test_store_faults.c;
 * the driver is store_faults_fixture.c. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "scim_patch.h"
#include "scim_res.h"
#include "scim_sql.h"
#include "store_faults_fixture.h"
#include <pthread.h>
#include <unistd.h>

static void redeem_of(struct redeem *rd, const char *text)
{
	grant_token_hash(text, rd->hash);
	rd->client = app();
	rd->redirect_uri = "https://a.example/cb";
	rd->verifier = VERIFIER;
	rd->now = NOW;
	rd->refresh_ttl = 3600;
	rd->want_refresh = 1;
}

static void before_redeem(struct ctx *x)
{
	x->base = refresh_count();
	redeem_of(&x->rd, CODE_TEXT);
}

static void check_redeem(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM codes WHERE code_hash = ?1 AND "
	                          "used_at IS NOT NULL", CODE_TEXT), rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL),
	                 x->base + (rc == TS_OK));
	if (rc != TS_OK)
		return;
	ck_assert_msg(x->rd.why == NULL, "refused: %s", x->rd.why);
	ck_assert_int_eq(x->rd.user->id, 1);
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 "
	                          "AND used_at IS NULL AND grant_id = 1", x->rd.refresh), 1);
}

static void after_redeem(struct ctx *x)
{
	store_code_free(x->rd.code);
	store_user_free(x->rd.user);
	free(x->rd.scope);
}

/* on a writer that has redeemed a code already (its statements prepared, as in the daemon) */
static void before_redeem_warm(struct ctx *x)
{
	struct redeem rd = {0};

	add_code(x->s, "code-text-0002");
	redeem_of(&rd, "code-text-0002");
	ck_assert_int_eq(writer_run(x->w, grant_code_redeem, &rd), TS_OK);
	ck_assert_ptr_null(rd.why);
	store_code_free(rd.code);
	store_user_free(rd.user);
	free(rd.scope);
	before_redeem(x);
}

static const struct op op_code_redeem_warm = {
	"code redeem warm", OP_WRITER, offsetof(struct ctx, rd), before_redeem_warm,
	grant_code_redeem, check_redeem, after_redeem,
};

static const struct op op_code_redeem = {
	"code redeem", OP_WRITER, offsetof(struct ctx, rd), before_redeem, grant_code_redeem, check_redeem, after_redeem,
};

/* --- refresh tokens --- */

static void before_refresh(struct ctx *x, const char *text)
{
	x->q.text = text;
	x->q.client = app();
	x->q.rotate = 1;
	x->q.idle_ttl = 3600;
	x->q.now = NOW;
	ck_assert_int_eq(grant_refresh_check(x->s, &x->q), TS_OK);
	ck_assert_int_eq(x->q.error, TS_OK);
}

static void before_rotate(struct ctx *x)
{
	x->base = refresh_count();
	before_refresh(x, RT_TEXT);
}

/* on a writer that has rotated another token already */
static void before_rotate_warm(struct ctx *x)
{
	struct refresh_req q = {
		.text = "refresh-text-0003", .client = app(), .rotate = 1, .idle_ttl = 3600,
		.now = NOW,
	};

	add_refresh(x->s, q.text, 1, 0);
	ck_assert_int_eq(grant_refresh_check(x->s, &q), TS_OK);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_int_eq(writer_run(x->w, grant_refresh_commit, &q), TS_OK);
	grant_refresh_done(&q);
	before_rotate(x);
}

static void check_rotate(struct ctx *x, sqlite3 *db, ts_err rc)
{
	/* TS_OK: the old one used, its successor current; otherwise the old one still current and
	 * no successor */
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 "
	                          "AND used_at IS NULL", RT_TEXT), rc != TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL),
	                 x->base + (rc == TS_OK));
	if (rc == TS_OK) {
		ck_assert_int_eq(x->q.error, TS_OK);
		ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 "
		                          "AND used_at IS NULL", x->q.next), 1);
	}
}

static const struct op op_rotate_warm = {
	"refresh rotate warm", OP_WRITER, offsetof(struct ctx, q), before_rotate_warm,
	grant_refresh_commit, check_rotate, after_refresh,
};

static const struct op op_rotate = {
	"refresh rotate", OP_WRITER, offsetof(struct ctx, q), before_rotate, grant_refresh_commit, check_rotate,
	after_refresh,
};

/* a rotated token presented again: its grant is revoked */
static void before_reuse(struct ctx *x)
{
	before_refresh(x, RT_USED_TEXT);
}

static void check_reuse(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants WHERE id = 2 AND revoked_at IS NOT "
	                         "NULL", NULL), rc == TS_OK);
	if (rc == TS_OK)
		ck_assert_int_eq(x->q.error, TS_INVALID_GRANT);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL), 2);
}

static const struct op op_reuse = {
	"refresh reuse", OP_WRITER, offsetof(struct ctx, q), before_reuse, grant_refresh_commit, check_reuse, after_refresh,
};

/* an admin's change of alice's grant: its scope and its refresh tokens' chains, all or none */
#define RT_CHAIN "refresh-text-0005"
#define RT_LEGACY "refresh-text-0006"

static void before_set_scope(struct ctx *x)
{
	add_refresh_scoped(x->s, RT_CHAIN, 1, 0, "mqtt:sub:a/y/#");
	add_refresh(x->s, RT_LEGACY, 1, 0);
}

static ts_err run_set_scope(store *s, void *arg)
{
	(void)arg;
	return grant_set_scope(s, 1, "mqtt:sub:a/x mqtt:pub:b/#", NOW);
}

static void check_set_scope(struct ctx *x, sqlite3 *db, ts_err rc)
{
	char scope[64];

	(void)x;
	sql_text(db, "SELECT scope FROM grants WHERE id = 1", scope, sizeof scope);
	ck_assert_str_eq(scope, rc == TS_OK ? "mqtt:sub:a/x mqtt:pub:b/#" : "mqtt:sub:a/#");
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 AND "
	                          "scope = 'mqtt:sub:a/x mqtt:pub:b/#'", RT_TEXT), rc == TS_OK);
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 AND "
	                          "scope = 'mqtt:sub:a/#'", RT_TEXT), rc != TS_OK);
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 AND "
	                          "scope = 'mqtt:pub:b/#'", RT_CHAIN), rc == TS_OK);
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 AND "
	                          "scope = 'mqtt:sub:a/y/#'", RT_CHAIN), rc != TS_OK);
	/* a token from before chains kept a scope follows the grant's as it is */
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = ?1 AND "
	                          "scope IS NULL", RT_LEGACY), 1);
}

static const struct op op_set_scope = {
	"grant set scope", OP_WRITER, 0, before_set_scope, run_set_scope, check_set_scope, NULL,
};

/* --- device authorizations --- */

static void before_issue(struct ctx *x)
{
	x->di.client_id = "app";
	x->di.scope = "mqtt:sub:a/#";
	x->di.now = NOW;
	x->di.ttl = 600;
	x->di.interval = 5;
}

static void check_issue(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM device_codes", NULL), rc == TS_OK ? 3 : 2);
	if (rc == TS_OK) {
		ck_assert_int_eq(strlen(x->di.user_code), DEVICE_USER_CODE_LEN);
		ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM device_codes WHERE device_hash = ?1 "
		                          "AND status = 0", x->di.text), 1);
	}
}

static const struct op op_device_issue = {
	"device issue", OP_WRITER, offsetof(struct ctx, di), before_issue, device_issue, check_issue, NULL,
};

/* approving widens alice's grant and records the decision: both or neither */
static void before_decide(struct ctx *x)
{
	x->dd.user_code = "BCDFGHJK";
	x->dd.client_id = "app";
	x->dd.granted = "mqtt:pub:a/#";
	x->dd.user_id = 1;
	x->dd.auth_time = NOW - 3;
	x->dd.now = NOW;
	x->dd.allow = 1;
}

static void check_decide(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_hash(db, "SELECT status FROM device_codes WHERE device_hash = ?1",
	                          DEV_PENDING), rc == TS_OK ? DEVICE_APPROVED : DEVICE_PENDING);
	check_widened(db, rc == TS_OK);
}

static const struct op op_device_decide = {
	"device decide", OP_WRITER, offsetof(struct ctx, dd), before_decide, device_decide, check_decide, NULL,
};

static void before_device_redeem(struct ctx *x)
{
	grant_token_hash(DEV_APPROVED, x->dr.hash);
	x->dr.client = app();
	x->dr.now = NOW;
	x->dr.refresh_ttl = 3600;
	x->dr.want_refresh = 1;
}

static void check_device_redeem(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_int_eq(sql_hash(db, "SELECT status FROM device_codes WHERE device_hash = ?1",
	                          DEV_APPROVED), rc == TS_OK ? DEVICE_REDEEMED : DEVICE_APPROVED);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL),
	                 rc == TS_OK ? 3 : 2);
	if (rc == TS_OK) {
		ck_assert_int_eq(x->dr.error, TS_OK);
		ck_assert_int_eq(x->dr.user->id, 1);
		ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM refresh_tokens WHERE token_hash = "
		                          "?1", x->dr.refresh), 1);
	}
}

static void after_device_redeem(struct ctx *x)
{
	store_device_free(x->dr.d);
	store_user_free(x->dr.user);
	free(x->dr.scope);
}

static const struct op op_device_redeem = {
	"device redeem", OP_WRITER, offsetof(struct ctx, dr), before_device_redeem, device_redeem, check_device_redeem,
	after_device_redeem,
};

/* --- SCIM --- */

static void before_put(struct ctx *x)
{
	ck_assert_int_eq(store_user_get(x->s, "bob", &x->u), TS_OK);
}

static ts_err run_user_put(store *s, void *arg)
{
	struct ctx *x = arg;
	struct user u = *x->u;

	u.email = "bob@new.example";
	u.name = "Robert";
	u.attrs = "{\"title\":\"Builder\"}";
	u.updated_at = NOW;
	return store_user_put(s, &u, 0);
}

static void check_user_put(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE id = 2 AND email = "
	                         "'bob@new.example' AND name = 'Robert' AND attrs LIKE '%Builder%' "
	                         "AND updated_at = 1700000000", NULL), rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE id = 2 AND email = "
	                         "'bob@example.org' AND name = 'Someone'", NULL), rc != TS_OK);
}

static const struct op op_user_put = {
	"scim user put", 0, 0, before_put, run_user_put, check_user_put, free_user,
};

static ts_err run_user_remove(store *s, void *arg)
{
	(void)arg;
	return store_user_remove_id(s, 2);
}

static void check_user_remove(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE id = 2", NULL), rc != TS_OK);
	/* bob's grant and refresh token go with him, or stay with him */
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants WHERE id = 2", NULL), rc != TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM refresh_tokens", NULL),
	                 rc == TS_OK ? 1 : 2);
}

static const struct op op_user_remove = {
	"scim user delete", 0, 0, NULL, run_user_remove, check_user_remove, NULL,
};

static int list_cb(const struct user *u, void *arg)
{
	struct ctx *x = arg;

	if (x->listed++ == 0)
		snprintf(x->first, sizeof x->first, "%s", u->username);
	return 0;
}

/* the first page of one of two active users: a page and a count */
static ts_err run_user_list(store *s, void *arg)
{
	struct ctx *x = arg;
	struct scim_bind b = {.type = SCIM_BIND_INT, .i = 1};
	struct store_list q = {.where = "r.active = ?1", .binds = &b, .nbinds = 1, .limit = 1};

	return store_scim_users(s, &q, &x->total, list_cb, x);
}

static void check_user_list(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)db;
	if (rc != TS_OK)
		return;
	ck_assert_int_eq(x->total, 2);
	ck_assert_int_eq(x->listed, 1);
	ck_assert_str_eq(x->first, "alice");
}

static const struct op op_user_list = {
	"scim user list", 0, 0, NULL, run_user_list, check_user_list, NULL,
};

static ts_err run_members(store *s, void *arg)
{
	static const int64_t ids[2] = {2, 1};

	(void)arg;
	return store_group_set_members(s, 1, ids, 2, NOW);
}

static void check_members(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM group_members", NULL), rc == TS_OK ? 2 : 1);
	ck_assert_int_eq(sql_int(db, "SELECT updated_at FROM groups WHERE id = 1", NULL),
	                 rc == TS_OK ? NOW : NOW - 800);
}

static const struct op op_members = {
	"scim group members", 0, 0, NULL, run_members, check_members, NULL,
};

/* --- SCIM writes from the JSON a client sent, as server/scim_write.c makes them: normalised,
 * (patched,) turned into a record and stored; Jansson's allocations fail too --- */

static void before_scim_create(struct ctx *x)
{
	x->body = json_loads("{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"], "
	                     "\"userName\": \"dave\", \"displayName\": \"Dave\", \"externalId\": "
	                     "\"ext-1\", \"title\": \"Engineer\", \"emails\": [{\"value\": "
	                     "\"dave@example.org\", \"type\": \"work\", \"primary\": true}]}", 0, NULL);
	ck_assert_ptr_nonnull(x->body);
}

/* the record of the normalised resource n, stored: added, or put over x->u */
static ts_err scim_store(store *s, struct ctx *x, const json_t *n, struct scim_error *e)
{
	struct user u = {0};
	ts_err rc = scim_user_from(n, &u, e);

	if (rc == TS_OK) {
		u.created_at = x->u ? x->u->created_at : NOW;
		u.updated_at = NOW;
		if (x->u) {
			u.id = x->u->id;
			rc = store_user_put(s, &u, 0);
		} else {
			rc = store_user_add(s, &u);
		}
	}
	scim_user_clear(&u);
	return rc;
}

static ts_err run_scim_create(store *s, void *arg)
{
	struct ctx *x = arg;
	struct scim_error e = {0};
	json_t *n = NULL;
	ts_err rc = scim_normalize(scim_rtype(SCIM_R_USER), x->body, &n, &e);

	if (rc == TS_OK)
		rc = scim_store(s, x, n, &e);
	json_decref(n);
	scim_error_clear(&e);
	return rc;
}

static void check_scim_create(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE username = 'dave' AND email = "
	                         "'dave@example.org' AND name = 'Dave' AND external_id = 'ext-1' AND "
	                         "attrs LIKE '%Engineer%'", NULL), rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users", NULL), rc == TS_OK ? 3 : 2);
}

static void after_scim(struct ctx *x)
{
	json_decref(x->body);
	json_decref(x->cur);
	store_user_free(x->u);
}

static const struct op op_scim_create = {
	"scim user create", 0, 0, before_scim_create, run_scim_create, check_scim_create,
	after_scim,
};

/* The current resource is built before the failures are armed: scim_user_json parses the text
 * it writes, and Jansson 2.14's parser, when its string buffer cannot grow, drops the character
 * (load.c: lex_save ignores strbuffer_append_byte's failure) and goes on, so that json_loads under
 * memory pressure can give a value with a shortened string rather than NULL. That is Jansson's,
 * out of lib/'s reach; the patch, normalisation and record that follow are lib/'s. */
static void before_scim_patch(struct ctx *x)
{
	ck_assert_int_eq(store_user_get(x->s, "bob", &x->u), TS_OK);
	x->cur = scim_user_json(x->u, "https://h.example/scim/v2");
	ck_assert_ptr_nonnull(x->cur);
	x->body = json_loads("{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], "
	                     "\"Operations\": [{\"op\": \"Replace\", \"path\": \"displayName\", "
	                     "\"value\": \"Bobby\"}, {\"op\": \"add\", \"path\": \"emails\", "
	                     "\"value\": [{\"value\": \"bob@work.example\", \"type\": \"work\"}]}]}",
	                     0, NULL);
	ck_assert_ptr_nonnull(x->body);
}

static ts_err run_scim_patch(store *s, void *arg)
{
	struct ctx *x = arg;
	const struct scim_rtype *t = scim_rtype(SCIM_R_USER);
	struct scim_error e = {0};
	json_t *patched = NULL, *n = NULL;
	ts_err rc = scim_patch(t, x->cur, x->body, &patched, &e);

	if (rc == TS_OK)
		rc = scim_normalize(t, patched, &n, &e);
	if (rc == TS_OK)
		rc = scim_store(s, x, n, &e);
	json_decref(patched);
	json_decref(n);
	scim_error_clear(&e);
	return rc;
}

static void check_scim_patch(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE id = 2 AND name = 'Bobby' AND "
	                         "attrs LIKE '%bob@work.example%' AND attrs LIKE '%bob@example.org%'",
	                         NULL), rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE id = 2 AND name = 'Someone'",
	                         NULL), rc != TS_OK);
}

static const struct op op_scim_patch = {
	"scim user patch", 0, 0, before_scim_patch, run_scim_patch, check_scim_patch, after_scim,
};

static const struct op op_user_list_warm = {
	"scim list warm", OP_WARM, 0, NULL, run_user_list, check_user_list, NULL,
};

/* --- the writer: a batch of three jobs, the middle one failing by itself --- */

static ts_err job_revoke(store *s, void *arg)
{
	return store_revoke_jti(s, arg, NOW + 300);
}

static ts_err job_revoke_then_fail(store *s, void *arg)
{
	ts_err rc = store_revoke_jti(s, arg, NOW + 300);

	return rc == TS_OK ? TS_INVALID_GRANT : rc;
}

/* Holds the writer until the three jobs are handed over, so that they make one batch. */
static ts_err job_hold(store *s, void *arg)
{
	struct ctx *x = arg;

	(void)s;
	atomic_store(&x->started, 1);
	while (atomic_load(&x->queued) < 3)
		usleep(100);
	usleep(2000); /* the last one between counting itself and queueing */
	return TS_OK;
}

struct submit {
	struct ctx *x;
	writer_fn fn;
	const char *jti;
	int i;
};

static void *submit_main(void *arg)
{
	struct submit *sb = arg;

	if (sb->i >= 0)
		atomic_fetch_add(&sb->x->queued, 1);
	if (sb->i >= 0)
		sb->x->job_rc[sb->i] = writer_run(sb->x->w, sb->fn, (void *)sb->jti);
	else
		writer_run(sb->x->w, sb->fn, sb->x);
	if (sb->i < 0)
		atomic_store(&sb->x->held, 1);
	return NULL;
}

/* The failure is armed across the holding job's batch and the three jobs' one. */
static ts_err run_batch(store *s, void *arg)
{
	struct ctx *x = arg;
	struct submit hold = {x, job_hold, NULL, -1};
	struct submit jobs[3] = {
		{x, job_revoke, "a", 0}, {x, job_revoke_then_fail, "b", 1}, {x, job_revoke, "c", 2},
	};
	pthread_t th[4];
	int i;

	/* (no Check call here: its own allocations would fail while a failure is armed) */
	(void)s;
	if (pthread_create(&th[3], NULL, submit_main, &hold) != 0)
		abort();
	/* (a failure may stop the holding job's batch before the job starts) */
	while (!atomic_load(&x->started) && !atomic_load(&x->held))
		usleep(100);
	for (i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, submit_main, &jobs[i]) != 0)
			abort();
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	return x->job_rc[0] ? x->job_rc[0] : x->job_rc[2];
}

/* Each job's answer tells the truth about its write: TS_OK exactly when it is in the database. */
static void check_batch(struct ctx *x, sqlite3 *db, ts_err rc)
{
	static const char *const q[3] = {
		"SELECT count(*) FROM revocations WHERE jti = 'a'",
		"SELECT count(*) FROM revocations WHERE jti = 'b'",
		"SELECT count(*) FROM revocations WHERE jti = 'c'",
	};
	int i;

	(void)rc;
	for (i = 0; i < 3; i++) {
		ts_err e = x->job_rc[i];

		ck_assert_msg(e == TS_OK || e == TS_SERVER_ERROR || e == TS_UNAVAILABLE ||
		              (i == 1 && e == TS_INVALID_GRANT), "job %d: error %d", i, e);
		ck_assert_msg(sql_int(db, q[i], NULL) == (e == TS_OK),
		              "%s call %ld%s failing: job %d answered %d but its write is %s",
		              fault_kind_name(x->kind), x->n, ON(x), i, e,
		              e == TS_OK ? "lost" : "in the database");
	}
	ck_assert_int_ne(x->job_rc[1], TS_OK);
}

/* The writer is started here rather than run through (OP_WRITER): run_batch hands it the jobs. */
static void before_batch(struct ctx *x)
{
	ck_assert_int_eq(writer_start(work, 0, 2, &x->w), TS_OK);
}

static const struct op op_batch = {
	"writer batch", 0, 0, before_batch, run_batch, check_batch, NULL,
};


/* --- the tests --- */

TORTURE(grant_set_scope_chains, op_set_scope)
TORTURE(code_redeem, op_code_redeem)
TORTURE(refresh_rotate, op_rotate)
TORTURE(refresh_reuse_revokes, op_reuse)
TORTURE(device_issue_job, op_device_issue)
TORTURE(device_decide_job, op_device_decide)
TORTURE(device_redeem_job, op_device_redeem)
TORTURE(code_redeem_warm, op_code_redeem_warm)
TORTURE(refresh_rotate_warm, op_rotate_warm)
TORTURE(scim_user_put, op_user_put)
TORTURE(scim_user_delete, op_user_remove)
TORTURE(scim_user_list, op_user_list)
TORTURE(scim_group_members, op_members)
TORTURE(scim_user_create_json, op_scim_create)
TORTURE(scim_user_patch_json, op_scim_patch)
TORTURE(scim_user_list_warm, op_user_list_warm)
TORTURE(writer_batch, op_batch)

static Suite *faults_jobs_suite(void)
{
	Suite *s = suite_create("store_faults_jobs");
	TCase *jobs = torture_case(s, "jobs"), *scim = torture_case(s, "scim");
	TCase *wr = torture_case(s, "writer");

	tcase_add_test(jobs, grant_set_scope_chains);
	tcase_add_test(jobs, code_redeem);
	tcase_add_test(jobs, refresh_rotate);
	tcase_add_test(jobs, refresh_reuse_revokes);
	tcase_add_test(jobs, device_issue_job);
	tcase_add_test(jobs, device_decide_job);
	tcase_add_test(jobs, device_redeem_job);
	tcase_add_test(jobs, code_redeem_warm);
	tcase_add_test(jobs, refresh_rotate_warm);
	tcase_add_test(scim, scim_user_put);
	tcase_add_test(scim, scim_user_delete);
	tcase_add_test(scim, scim_user_list);
	tcase_add_test(scim, scim_group_members);
	tcase_add_test(scim, scim_user_create_json);
	tcase_add_test(scim, scim_user_patch_json);
	tcase_add_test(scim, scim_user_list_warm);
	tcase_add_test(wr, writer_batch);
	return s;
}

int main(void)
{
	return store_faults_run("test_store_faults_jobs", faults_jobs_suite());
}
