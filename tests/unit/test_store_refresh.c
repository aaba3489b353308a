/* test_store_refresh.c - refresh tokens in the store: chains, rotation, grace, races.
 *
 * Each test gets a fresh directory (store_fixture.h). A few tests open the database file
 * with SQLite directly, as a second party would: to hold a lock, and to see what is really
 * stored. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_fixture.h"

static int count_scopes(const unsigned char hash[32], const char *scope, void *arg)
{
	(void)hash;
	ck_assert_str_eq(scope, "mqtt:sub:a/x");
	++*(int *)arg;
	return 0;
}

static int stop_scopes(const unsigned char hash[32], const char *scope, void *arg)
{
	(void)hash;
	(void)scope;
	(void)arg;
	return 1;
}

START_TEST(refresh_add)
{
	struct fixture f;
	struct refresh r = {.created_at = 10, .expires_at = 20}, used = {.created_at = 1,
		.expires_at = 2, .used_at = 3};
	store *s = open_db();

	f = add_fixture(s);
	fill_hash(r.hash, 40);
	fill_hash(used.hash, 41);
	r.grant_id = used.grant_id = f.grant_id;
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_CONFLICT);
	ck_assert_int_eq(store_refresh_add(s, &used), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL AND "
			"created_at = 10 AND expires_at = 20 AND length(token_hash) = 32"), 1);
	ck_assert_int_eq(sql_int("SELECT used_at FROM refresh_tokens WHERE created_at = 1"), 3);
	r.grant_id = f.grant_id + 100;
	fill_hash(r.hash, 42);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

/* A refresh token's chain scope: kept, inherited by its successor, listed and replaced for an
 * admin's change of its grant; and the reads the token paths use. */
START_TEST(refresh_chain_scope)
{
	struct fixture f;
	struct refresh a = {.created_at = 10, .expires_at = 20, .scope = "mqtt:sub:a/x"};
	struct refresh legacy = {.created_at = 10, .expires_at = 20};
	struct refresh next = {.created_at = 11, .expires_at = 30}, out = {0};
	struct user *u = NULL;
	struct code c, *got = NULL;
	unsigned char unknown[32];
	int n = 0;
	store *s = open_db();

	f = add_fixture(s);
	a.grant_id = legacy.grant_id = f.grant_id;
	fill_hash(a.hash, 70);
	fill_hash(legacy.hash, 71);
	fill_hash(next.hash, 72);
	fill_hash(unknown, 73);
	ck_assert_int_eq(store_refresh_add(s, &a), TS_OK);
	ck_assert_int_eq(store_refresh_add(s, &legacy), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, a.hash, &out), TS_OK);
	ck_assert_str_eq(out.scope, "mqtt:sub:a/x");
	store_refresh_clear(&out);
	ck_assert_ptr_null(out.scope);
	ck_assert_int_eq(store_refresh_get(s, legacy.hash, &out), TS_OK);
	ck_assert_ptr_null(out.scope);
	/* the successor takes its grant and scope from its predecessor's row */
	ck_assert_int_eq(store_refresh_use(s, a.hash, 11, 11000), TS_OK);
	ck_assert_int_eq(store_refresh_add_successor(s, &next, a.hash), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, next.hash, &out), TS_OK);
	ck_assert_int_eq(out.grant_id, f.grant_id);
	ck_assert_int_eq(out.created_at, 11);
	ck_assert_int_eq(out.expires_at, 30);
	ck_assert_int_eq(out.used_at, 0);
	ck_assert_str_eq(out.scope, "mqtt:sub:a/x");
	store_refresh_clear(&out);
	fill_hash(next.hash, 74);
	ck_assert_int_eq(store_refresh_add_successor(s, &next, unknown), TS_NOT_FOUND);
	/* listed: the current ones that keep a scope (not a, used; not legacy, none) */
	ck_assert_int_eq(store_refresh_scopes(s, f.grant_id, count_scopes, &n), TS_OK);
	ck_assert_int_eq(n, 1);
	fill_hash(next.hash, 72);
	ck_assert_int_eq(store_refresh_set_scope(s, next.hash, "mqtt:sub:a/x/y"), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, next.hash, &out), TS_OK);
	ck_assert_str_eq(out.scope, "mqtt:sub:a/x/y");
	store_refresh_clear(&out);
	ck_assert_int_eq(store_refresh_set_scope(s, unknown, "x"), TS_NOT_FOUND);
	ck_assert_int_eq(store_refresh_scopes(s, f.grant_id, stop_scopes, &n), TS_SERVER_ERROR);
	/* a user's rights only */
	ck_assert_int_eq(store_user_rights(s, f.user_id, &u), TS_OK);
	ck_assert_int_eq(u->id, f.user_id);
	ck_assert_str_eq(u->username, "alice");
	ck_assert_str_eq(u->scope, "mqtt:pubsub:home/${username}/#");
	ck_assert_str_eq(u->group_scope, "");
	ck_assert_int_eq(u->active, 1);
	ck_assert_ptr_null(u->password_hash);
	ck_assert_ptr_null(u->attrs);
	store_user_free(u);
	ck_assert_int_eq(store_user_rights(s, f.user_id + 1, &u), TS_NOT_FOUND);
	/* a code read without being used */
	c = code_of(80, f);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_code_get(s, c.hash, &got), TS_OK);
	ck_assert_int_eq(got->used_at, 0);
	ck_assert_str_eq(got->client_id, "app");
	store_code_free(got);
	ck_assert_int_eq(store_code_get(s, unknown, &got), TS_NOT_FOUND);
	ck_assert_ptr_null(got);
	store_close(s);
}
END_TEST

START_TEST(refresh_get_use_grace_touch)
{
	struct fixture f;
	struct refresh r = {.created_at = 10, .expires_at = 20}, out;
	unsigned char unknown[32];
	store *s = open_db();

	f = add_fixture(s);
	fill_hash(r.hash, 60);
	fill_hash(unknown, 61);
	r.grant_id = f.grant_id;
	r.grace_used = 1; /* not written by add: a new token has its grace */
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	memset(&out, 0xff, sizeof(out));
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_mem_eq(out.hash, r.hash, 32);
	ck_assert_int_eq(out.grant_id, f.grant_id);
	ck_assert_int_eq(out.created_at, 10);
	ck_assert_int_eq(out.expires_at, 20);
	ck_assert_int_eq(out.used_at, 0);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(out.successor_ms, 0);
	ck_assert_int_eq(store_refresh_get(s, unknown, &out), TS_NOT_FOUND);

	/* touch: a current token's expiry slides, either way */
	ck_assert_int_eq(store_refresh_touch(s, r.hash, 500), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.expires_at, 500);
	ck_assert_int_eq(store_refresh_touch(s, r.hash, 400), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.expires_at, 400);
	ck_assert_int_eq(out.used_at, 0);
	ck_assert_int_eq(store_refresh_touch(s, unknown, 500), TS_NOT_FOUND);

	/* use: once, keeping the first time and its successor's */
	ck_assert_int_eq(store_refresh_use(s, r.hash, 100, 100123), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.used_at, 100);
	ck_assert_int_eq(out.successor_ms, 100123);
	ck_assert_int_eq(out.expires_at, 400);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(store_refresh_use(s, r.hash, 101, 101000), TS_CONFLICT);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.used_at, 100);
	ck_assert_int_eq(out.successor_ms, 100123);
	ck_assert_int_eq(store_refresh_use(s, unknown, 100, 100000), TS_NOT_FOUND);

	/* a used token no longer slides */
	ck_assert_int_eq(store_refresh_touch(s, r.hash, 900), TS_CONFLICT);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.expires_at, 400);

	/* grace: once */
	ck_assert_int_eq(store_refresh_grace(s, r.hash), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_OK);
	ck_assert_int_eq(out.grace_used, 1);
	ck_assert_int_eq(out.used_at, 100);
	ck_assert_int_eq(store_refresh_grace(s, r.hash), TS_CONFLICT);
	ck_assert_int_eq(store_refresh_grace(s, unknown), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens WHERE grace_used = 1"), 1);

	/* a token whose grant went: gone with it */
	ck_assert_int_eq(store_client_remove(s, "app"), TS_OK);
	ck_assert_int_eq(store_refresh_get(s, r.hash, &out), TS_NOT_FOUND);
	ck_assert_int_eq(store_refresh_use(s, r.hash, 100, 100000), TS_NOT_FOUND);
	ck_assert_int_eq(store_refresh_grace(s, r.hash), TS_NOT_FOUND);
	ck_assert_int_eq(store_refresh_touch(s, r.hash, 1), TS_NOT_FOUND);
	ck_assert_int_eq(store_refresh_use(NULL, r.hash, 1, 1000), TS_SERVER_ERROR);
	ck_assert_int_eq(store_refresh_grace(s, NULL), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

/* The writer's way: every new write inside one transaction, each job in a savepoint; a rolled
 * back job or transaction leaves nothing behind. */
START_TEST(refresh_writes_in_transaction)
{
	struct fixture f;
	struct refresh a = {.created_at = 1, .expires_at = 50}, b = {.created_at = 1, .expires_at = 50};
	struct refresh out;
	unsigned char v1[32], v2[32];
	store *s = open_db();

	f = add_fixture(s);
	fill_hash(a.hash, 70);
	fill_hash(b.hash, 71);
	a.grant_id = b.grant_id = f.grant_id;
	ck_assert_int_eq(store_refresh_add(s, &a), TS_OK);
	ck_assert_int_eq(store_refresh_add(s, &b), TS_OK);

	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_savepoint(s), TS_OK);
	ck_assert_int_eq(store_refresh_use(s, a.hash, 5, 5000), TS_OK);
	ck_assert_int_eq(store_refresh_grace(s, a.hash), TS_OK);
	ck_assert_int_eq(store_refresh_touch(s, b.hash, 99), TS_OK);
	ck_assert_int_eq(store_secret(s, "job", v1), TS_OK);
	store_savepoint_end(s, 1); /* this job fails: undone */
	ck_assert_int_eq(store_savepoint(s), TS_OK);
	ck_assert_int_eq(store_refresh_use(s, a.hash, 6, 6000), TS_OK); /* as if never used */
	ck_assert_int_eq(store_refresh_use(s, a.hash, 7, 7000), TS_CONFLICT);
	ck_assert_int_eq(store_refresh_get(s, a.hash, &out), TS_OK);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(store_secret(s, "job", v2), TS_OK);
	store_savepoint_end(s, 0);
	/* nothing is visible outside before the commit */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens WHERE used_at IS NOT NULL"),
			0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 0);
	ck_assert_int_eq(store_commit(s), TS_OK);
	ck_assert_int_eq(sql_int("SELECT used_at FROM refresh_tokens WHERE used_at IS NOT NULL"),
			6);
	ck_assert_int_eq(sql_int("SELECT max(expires_at) FROM refresh_tokens"), 50);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 1);
	ck_assert_int_eq(store_secret(s, "job", v1), TS_OK);
	ck_assert_mem_eq(v1, v2, 32);

	/* a whole transaction rolled back */
	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_refresh_touch(s, b.hash, 77), TS_OK);
	ck_assert_int_eq(store_refresh_use(s, b.hash, 8, 8000), TS_OK);
	ck_assert_int_eq(store_refresh_grace(s, b.hash), TS_OK);
	ck_assert_int_eq(store_secret(s, "gone", v1), TS_OK);
	store_rollback(s);
	ck_assert_int_eq(store_refresh_get(s, b.hash, &out), TS_OK);
	ck_assert_int_eq(out.used_at, 0);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(out.expires_at, 50);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets WHERE name = 'gone'"), 0);
	store_close(s);
}
END_TEST

enum { RACE_TOKENS = 300 };

struct refresh_racer {
	int grace;                 /* 0: store_refresh_use, 1: store_refresh_grace */
	int64_t now;
	ts_err res[RACE_TOKENS];
	pthread_barrier_t *bar;
	int open_err;
};

static void token_hash_of(int i, unsigned char h[32])
{
	memset(h, 0, 32);
	h[0] = 0x7e;
	h[1] = (unsigned char)(i >> 8);
	h[2] = (unsigned char)i;
}

static void *refresh_racer_run(void *arg)
{
	struct refresh_racer *r = arg;
	unsigned char h[32];
	store *s = NULL;
	int i;

	r->open_err = store_open(db, 10000, 1, &s);
	pthread_barrier_wait(r->bar);
	if (r->open_err)
		return NULL;
	for (i = 0; i < RACE_TOKENS; i++) {
		token_hash_of(i, h);
		r->res[i] = r->grace ? store_refresh_grace(s, h) : store_refresh_use(s, h, r->now, r->now * 1000);
	}
	store_close(s);
	return NULL;
}

/* Two connections (threads) spend the same tokens at once: exactly one TS_OK for each. */
static void refresh_race(int grace)
{
	struct refresh_racer r[2] = {{.grace = grace, .now = 7001}, {.grace = grace, .now = 7002}};
	pthread_barrier_t bar;
	pthread_t th[2];
	struct fixture f;
	int i, t, wins[2] = {0, 0};
	char sql[128];
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_begin(s), TS_OK);
	for (i = 0; i < RACE_TOKENS; i++) {
		struct refresh rt = {.grant_id = f.grant_id, .created_at = 1, .expires_at = 9999};

		token_hash_of(i, rt.hash);
		rt.used_at = grace ? 5000 : 0; /* grace is used on rotated tokens */
		ck_assert_int_eq(store_refresh_add(s, &rt), TS_OK);
	}
	ck_assert_int_eq(store_commit(s), TS_OK);

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
	for (t = 0; t < 2; t++) {
		r[t].bar = &bar;
		ck_assert_int_eq(pthread_create(&th[t], NULL, refresh_racer_run, &r[t]), 0);
	}
	for (t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	ck_assert_int_eq(r[0].open_err, TS_OK);
	ck_assert_int_eq(r[1].open_err, TS_OK);
	for (i = 0; i < RACE_TOKENS; i++) {
		unsigned char h[32];
		struct refresh out;
		int w = r[0].res[i] == TS_OK ? 0 : 1;

		ck_assert_msg((r[0].res[i] == TS_OK && r[1].res[i] == TS_CONFLICT) ||
				(r[0].res[i] == TS_CONFLICT && r[1].res[i] == TS_OK),
				"token %d: %d and %d", i, r[0].res[i], r[1].res[i]);
		wins[w]++;
		token_hash_of(i, h);
		ck_assert_int_eq(store_refresh_get(s, h, &out), TS_OK);
		if (grace) {
			ck_assert_int_eq(out.grace_used, 1);
			ck_assert_int_eq(out.used_at, 5000);
		} else {
			ck_assert_int_eq(out.used_at, r[w].now); /* the winner's time */
			ck_assert_int_eq(out.grace_used, 0);
		}
	}
	ck_assert_int_eq(wins[0] + wins[1], RACE_TOKENS);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM refresh_tokens WHERE %s",
			grace ? "grace_used = 0" : "used_at IS NULL");
	ck_assert_int_eq(sql_int(sql), 0);
	store_close(s);
}

START_TEST(refresh_use_race)
{
	refresh_race(0);
}
END_TEST

START_TEST(refresh_grace_race)
{
	refresh_race(1);
}
END_TEST

static Suite *store_refresh_suite(void)
{
	Suite *s = suite_create("store_refresh");
	TCase *rec = tcase_create("records");
	TCase *lock = tcase_create("locking");

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, refresh_add);
	tcase_add_test(rec, refresh_get_use_grace_touch);
	tcase_add_test(rec, refresh_chain_scope);
	tcase_add_test(rec, refresh_writes_in_transaction);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(lock, setup, teardown);
	tcase_set_timeout(lock, 30);
	tcase_add_test(lock, refresh_use_race);
	tcase_add_test(lock, refresh_grace_race);
	suite_add_tcase(s, lock);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_refresh_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
