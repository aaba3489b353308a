/* test_store_faults.c - failure injection on the store path, as curl's torture tests do: opening,
 * records and the hot path's reads here; the writer jobs (codes, refresh tokens, device
 * authorizations), SCIM and a writer batch in test_store_faults_jobs.c; the driver, shared, in
 * store_faults_fixture.c.
 *
 * Each operation of the hot and admin paths (opening and migrating, clients, users, grants and
 * an admin's change of their scope, codes, refresh checks and rotation, introspection,
 * revocation, consent, keys, device authorizations, SCIM writes and lists, a writer batch) is
 * run again and again on a fresh copy of one template database, the Nth call of one kind failing
 * (N = 1, 2, ... until a run meets no failure): our own allocations, SQLite's, Jansson's, and SQLite's file opens, reads, writes,
 * full disk, syncs and locks (fault_inject.c); then again with every call from the Nth on
 * failing (lasting failures: the error paths meet failures too). The read paths run on a fresh
 * connection and on one whose statements are prepared. Every run must then
 * - answer TS_OK, or an error only when a failure was injected, and only TS_SERVER_ERROR or
 *   TS_UNAVAILABLE (an out-of-memory never passes for "not found" or a refusal);
 * - leave no transaction open and no lock held (another connection can take the write lock, the
 *   store can begin a transaction, the writer commits the next job);
 * - leave the data whole: all of the operation on TS_OK, none of it otherwise (a failed rotation
 *   leaves the old refresh token current and no successor; a failed redemption, the code
 *   unused);
 * - leak nothing (LeakSanitizer, under `make asan` or with CK_FORK=no and detect_leaks=1).
 * Calls past the 40th are sampled (every ~12%; lasting failures past the 10th, every ~30%) to
 * keep the run short. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store_faults_fixture.h"

/* --- opening --- */

static ts_err run_open(store *s, void *arg)
{
	struct ctx *x = arg;

	(void)s;
	return store_open(work, 0, 2, &x->opened);
}

/* A failed open leaves nothing half-done: the next one migrates to the end. */
static void check_open(struct ctx *x, sqlite3 *db, ts_err rc)
{
	store *again = NULL;

	(void)db;
	if (rc != TS_OK) {
		ck_assert_ptr_null(x->opened);
		ck_assert_int_eq(store_open(work, 0, 2, &again), TS_OK);
	} else {
		ck_assert_ptr_nonnull(x->opened);
	}
	ck_assert_int_eq(store_schema_version(again ? again : x->opened), store_schema_latest());
	store_close(again);
	store_close(x->opened);
	x->opened = NULL;
}

static const struct op op_open_new = {
	"open+migrate", OP_NO_STORE | OP_EMPTY, 0, NULL, run_open, check_open, NULL,
};

/* the daemon's per-thread open of a database already migrated */
static void check_open_existing(struct ctx *x, sqlite3 *db, ts_err rc)
{
	check_open(x, db, rc);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM clients", NULL), 1);
}

static const struct op op_open = {
	"open", OP_NO_STORE, 0, NULL, run_open, check_open_existing, NULL,
};

/* --- clients and users --- */

static ts_err run_client_add(store *s, void *arg)
{
	struct client c = app_client("new");

	(void)arg;
	return store_client_add(s, &c);
}

static void check_client_add(struct ctx *x, sqlite3 *db, ts_err rc)
{
	struct client *c = NULL;

	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM clients WHERE client_id = 'new'", NULL),
	                 rc == TS_OK);
	ck_assert_int_eq(store_client_get(x->s, "new", &c), rc == TS_OK ? TS_OK : TS_NOT_FOUND);
	if (c) {
		ck_assert_str_eq(c->grant_types, "authorization_code refresh_token device_code");
		ck_assert_int_eq(c->secret_hash[31], 0x5a);
	}
	store_client_free(c);
}

static const struct op op_client_add = {
	"client add", 0, 0, NULL, run_client_add, check_client_add, NULL,
};

static ts_err run_client_get(store *s, void *arg)
{
	struct ctx *x = arg;

	return store_client_get(s, "app", &x->c);
}

static void check_client_get(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)db;
	if (rc != TS_OK) {
		ck_assert_ptr_null(x->c);
		return;
	}
	ck_assert_str_eq(x->c->client_id, "app");
	ck_assert_str_eq(x->c->name, "App");
	ck_assert_str_eq(x->c->redirect_uris, "https://a.example/cb");
	ck_assert_str_eq(x->c->scope, "openid mqtt:sub:a/# mqtt:pub:a/#");
	ck_assert_int_eq(x->c->secret_hash[0], 0x5a);
	ck_assert_int_eq(x->c->refresh_idle_ttl, 3600);
	ck_assert_ptr_null(x->c->external_id);
}

static void free_client(struct ctx *x)
{
	store_client_free(x->c);
}

static const struct op op_client_get = {
	"client get", 0, 0, NULL, run_client_get, check_client_get, free_client,
};

static ts_err run_user_add(store *s, void *arg)
{
	struct user u = user_named("carol", "carol@example.org");

	(void)arg;
	return store_user_add(s, &u);
}

static void check_user_add(struct ctx *x, sqlite3 *db, ts_err rc)
{
	struct user *u = NULL;

	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM users WHERE username = 'carol'", NULL),
	                 rc == TS_OK);
	ck_assert_int_eq(store_user_get(x->s, "Carol", &u), rc == TS_OK ? TS_OK : TS_NOT_FOUND);
	if (u) {
		ck_assert_str_eq(u->email, "carol@example.org");
		ck_assert_ptr_nonnull(strstr(u->attrs, "carol@example.org"));
	}
	store_user_free(u);
}

static const struct op op_user_add = {
	"user add", 0, 0, NULL, run_user_add, check_user_add, NULL,
};

static ts_err run_user_get(store *s, void *arg)
{
	struct ctx *x = arg;

	return store_user_get(s, "alice", &x->u);
}

static void check_user_get(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)db;
	if (rc != TS_OK) {
		ck_assert_ptr_null(x->u);
		return;
	}
	ck_assert_int_eq(x->u->id, 1);
	ck_assert_str_eq(x->u->username, "alice");
	ck_assert_str_eq(x->u->email, "alice@example.org");
	ck_assert_str_eq(x->u->group_scope, "mqtt:sub:staff/#");
	ck_assert_ptr_nonnull(strstr(x->u->groups, "\"staff\""));
	ck_assert_ptr_nonnull(x->u->password_hash);
}

static const struct op op_user_get = {
	"user get", 0, 0, NULL, run_user_get, check_user_get, free_user,
};

/* --- grants --- */

static ts_err run_grant_add(store *s, void *arg)
{
	struct ctx *x = arg;
	/* (a client-only grant: the user's one is unique) */
	struct grant g = {.client_id = "app", .scope = "mqtt:pub:a/#", .created_at = NOW};
	ts_err rc = store_grant_add(s, &g);

	x->gid = g.id;
	return rc;
}

static void check_grant_add(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants", NULL), rc == TS_OK ? 3 : 2);
	if (rc == TS_OK)
		ck_assert_int_eq(sql_int(db, "SELECT max(id) FROM grants", NULL), x->gid);
}

static const struct op op_grant_add = {
	"grant add", 0, 0, NULL, run_grant_add, check_grant_add, NULL,
};

/* grant_record widening alice's grant: find, then update */
static ts_err run_grant_record(store *s, void *arg)
{
	struct ctx *x = arg;

	return grant_record(s, "app", 1, "mqtt:pub:a/#", NOW, &x->gid);
}

static void check_grant_record(struct ctx *x, sqlite3 *db, ts_err rc)
{
	check_widened(db, rc == TS_OK);
	if (rc == TS_OK)
		ck_assert_int_eq(x->gid, 1);
}

static const struct op op_grant_record = {
	"grant record", 0, 0, NULL, run_grant_record, check_grant_record, NULL,
};

static ts_err run_grant_revoke(store *s, void *arg)
{
	(void)arg;
	return store_grant_revoke(s, 1, NOW);
}

static void check_grant_revoke(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants WHERE revoked_at = "
	                         "1700000000", NULL), rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM grants WHERE revoked_at IS NULL", NULL),
	                 rc == TS_OK ? 1 : 2);
}

static const struct op op_grant_revoke = {
	"grant revoke", 0, 0, NULL, run_grant_revoke, check_grant_revoke, NULL,
};

static ts_err run_revoke_jti(store *s, void *arg)
{
	(void)arg;
	return store_revoke_jti(s, "jti-1", NOW + 300);
}

static void check_revoke_jti(struct ctx *x, sqlite3 *db, ts_err rc)
{
	int revoked = -1;

	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM revocations WHERE jti = 'jti-1'", NULL),
	                 rc == TS_OK);
	ck_assert_int_eq(store_is_revoked(x->s, "jti-1", &revoked), TS_OK);
	ck_assert_int_eq(revoked, rc == TS_OK);
}

static const struct op op_revoke_jti = {
	"token revoke", 0, 0, NULL, run_revoke_jti, check_revoke_jti, NULL,
};

/* --- codes --- */

static ts_err run_code_add(store *s, void *arg)
{
	struct code c = {
		.client_id = "app", .user_id = 1, .grant_id = 1, .redirect_uri = "https://a.example/cb",
		.challenge = "x", .scope = "mqtt:sub:a/#", .nonce = "n-1", .created_at = NOW,
		.expires_at = NOW + 60,
	};

	(void)arg;
	grant_token_hash("code-new", c.hash);
	return store_code_add(s, &c);
}

static void check_code_add(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_hash(db, "SELECT count(*) FROM codes WHERE code_hash = ?1", "code-new"),
	                 rc == TS_OK);
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM codes", NULL), rc == TS_OK ? 2 : 1);
}

static const struct op op_code_add = {
	"code add", 0, 0, NULL, run_code_add, check_code_add, NULL,
};

/* --- more of the hot path: a code taken outside the writer, a refresh check, introspection,
 * consent; and of the admin path: key rotation, group members --- */

static ts_err run_code_take(store *s, void *arg)
{
	struct ctx *x = arg;
	unsigned char h[32];

	grant_token_hash(CODE_TEXT, h);
	return store_code_take(s, h, NOW, &x->code);
}

/* on its own (autocommit), a take that failed leaves the code unused */
static void check_code_take(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_msg(sql_hash(db, "SELECT count(*) FROM codes WHERE code_hash = ?1 AND used_at IS "
	                       "NOT NULL", CODE_TEXT) == (rc == TS_OK),
	              "%s call %ld%s failing: code take answered %d", fault_kind_name(x->kind), x->n, ON(x),
	              rc);
	if (rc == TS_OK) {
		ck_assert_int_eq(strlen(x->code->challenge), 43);
		ck_assert_str_eq(x->code->redirect_uri, "https://a.example/cb");
		ck_assert_int_eq(x->code->grant_id, 1);
	} else {
		ck_assert_ptr_null(x->code);
	}
}

static void free_code(struct ctx *x)
{
	store_code_free(x->code);
}

static const struct op op_code_take = {
	"code take", 0, 0, NULL, run_code_take, check_code_take, free_code,
};

/* a non-rotating client narrowing the scope: the idle expiry slides (a write) */
static ts_err run_refresh_check(store *s, void *arg)
{
	struct ctx *x = arg;

	x->q.text = RT_TEXT;
	x->q.client = app();
	x->q.scope = "mqtt:sub:a/x";
	x->q.idle_ttl = 100000;
	x->q.now = NOW;
	return grant_refresh_check(s, &x->q);
}

static void check_refresh_check(struct ctx *x, sqlite3 *db, ts_err rc)
{
	ck_assert_msg(rc != TS_OK || x->q.error == TS_OK, "%s call %ld%s failing: refused (%s)",
	              fault_kind_name(x->kind), x->n, ON(x), x->q.why);
	ck_assert_int_eq(sql_hash(db, "SELECT expires_at FROM refresh_tokens WHERE token_hash = ?1",
	                          RT_TEXT), rc == TS_OK ? NOW + 100000 : NOW + 3600);
	if (rc != TS_OK)
		return;
	ck_assert_str_eq(x->q.scope_out, "mqtt:sub:a/x");
	ck_assert_str_eq(x->q.next, RT_TEXT);
}

static const struct op op_refresh_check = {
	"refresh check", 0, 0, NULL, run_refresh_check, check_refresh_check, after_refresh,
};

static void before_active(struct ctx *x)
{
	x->claims = json_pack("{s:s, s:s, s:s, s:i}", "jti", "jti-9", "client_id", "app", "scope",
	                      "mqtt:sub:a/# mqtt:pub:a/#", "gid", 1);
	ck_assert_ptr_nonnull(x->claims);
}

static ts_err run_active(store *s, void *arg)
{
	struct ctx *x = arg;

	return grant_token_active(s, x->claims, &x->active, &x->scope, NULL);
}

/* introspection: active with the grant's scope now, or an error (never "inactive") */
static void check_active(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)db;
	if (rc != TS_OK) {
		ck_assert_ptr_null(x->scope);
		ck_assert_int_eq(x->active, 0);
		return;
	}
	ck_assert_msg(x->active == 1, "%s call %ld%s failing: an active token answered inactive",
	              fault_kind_name(x->kind), x->n, ON(x));
	ck_assert_str_eq(x->scope, "mqtt:sub:a/#");
}

static void after_active(struct ctx *x)
{
	json_decref(x->claims);
	free(x->scope);
}

static const struct op op_active = {
	"token active", 0, 0, before_active, run_active, check_active, after_active,
};

static ts_err run_consent(store *s, void *arg)
{
	(void)arg;
	return store_consent_add(s, 1, "app", "openid mqtt:sub:a/#", NOW);
}

static void check_consent(struct ctx *x, sqlite3 *db, ts_err rc)
{
	(void)x;
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM consents", NULL), rc == TS_OK ? 2 : 0);
}

static const struct op op_consent = {
	"consent add", 0, 0, NULL, run_consent, check_consent, NULL,
};

static ts_err run_key_add(store *s, void *arg)
{
	struct key_row k = {.kid = "k2", .alg = "ES256", .pem = "-----BEGIN PRIVATE KEY-----",
	                    .created_at = NOW};

	(void)arg;
	return store_key_add(s, &k);
}

/* the new key signs and the old one is retired, or the old one still signs */
static void check_key_add(struct ctx *x, sqlite3 *db, ts_err rc)
{
	char kid[8];

	(void)x;
	sql_text(db, "SELECT kid FROM signing_keys WHERE retired_at IS NULL", kid, sizeof kid);
	ck_assert_str_eq(kid, rc == TS_OK ? "k2" : "k1");
	ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM signing_keys", NULL), rc == TS_OK ? 2 : 1);
}

static const struct op op_key_add = {
	"key rotate", 0, 0, NULL, run_key_add, check_key_add, NULL,
};

/* --- the read paths again on a connection that has run them once (statements prepared) --- */

static const struct op op_client_get_warm = {
	"client get warm", OP_WARM, 0, NULL, run_client_get, check_client_get, free_client,
};
static const struct op op_user_get_warm = {
	"user get warm", OP_WARM, 0, NULL, run_user_get, check_user_get, free_user,
};
static const struct op op_active_warm = {
	"token active warm", OP_WARM, 0, before_active, run_active, check_active, after_active,
};

/* --- the tests --- */

TORTURE(open_new, op_open_new)
TORTURE(open_existing, op_open)
TORTURE(client_add, op_client_add)
TORTURE(client_get, op_client_get)
TORTURE(user_add, op_user_add)
TORTURE(user_get, op_user_get)
TORTURE(grant_add, op_grant_add)
TORTURE(grant_record_widen, op_grant_record)
TORTURE(grant_revoke, op_grant_revoke)
TORTURE(token_revoke, op_revoke_jti)
TORTURE(code_add, op_code_add)
TORTURE(code_take, op_code_take)
TORTURE(refresh_check, op_refresh_check)
TORTURE(token_active, op_active)
TORTURE(consent_add, op_consent)
TORTURE(key_rotate, op_key_add)
TORTURE(client_get_warm, op_client_get_warm)
TORTURE(user_get_warm, op_user_get_warm)
TORTURE(token_active_warm, op_active_warm)

static Suite *faults_suite(void)
{
	Suite *s = suite_create("store_faults");
	TCase *open = torture_case(s, "open"), *rec = torture_case(s, "records");

	tcase_add_test(open, open_new);
	tcase_add_test(open, open_existing);
	tcase_add_test(rec, client_add);
	tcase_add_test(rec, client_get);
	tcase_add_test(rec, user_add);
	tcase_add_test(rec, user_get);
	tcase_add_test(rec, grant_add);
	tcase_add_test(rec, grant_record_widen);
	tcase_add_test(rec, grant_revoke);
	tcase_add_test(rec, token_revoke);
	tcase_add_test(rec, code_add);
	tcase_add_test(rec, code_take);
	tcase_add_test(rec, refresh_check);
	tcase_add_test(rec, token_active);
	tcase_add_test(rec, consent_add);
	tcase_add_test(rec, key_rotate);
	tcase_add_test(rec, client_get_warm);
	tcase_add_test(rec, user_get_warm);
	tcase_add_test(rec, token_active_warm);
	return s;
}

int main(void)
{
	return store_faults_run("test_store_faults", faults_suite());
}
