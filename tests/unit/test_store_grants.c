/* test_store_grants.c - grants in the store and what hangs from them: codes,
 * consents, revoked tokens, browser sessions, listing.
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

START_TEST(revocation)
{
	int r = -1;
	store *s = open_db();

	ck_assert_int_eq(store_is_revoked(s, "jti-1", &r), TS_OK);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(store_revoke_jti(s, "jti-1", 1000), TS_OK);
	ck_assert_int_eq(store_is_revoked(s, "jti-1", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(store_revoke_jti(s, "jti-1", 1000), TS_OK); /* idempotent */
	ck_assert_int_eq(store_revoke_jti(s, "jti-1", 500), TS_OK);  /* an earlier exp: kept 1000 */
	ck_assert_int_eq(store_is_revoked(s, "jti-1", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(store_is_revoked(s, "jti-2", &r), TS_OK);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(store_revoke_jti(s, "jti-2", 2000), TS_OK);

	ck_assert_int_eq(store_revocations_purge(s, 1000), TS_OK); /* exp < now only */
	ck_assert_int_eq(store_is_revoked(s, "jti-1", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(store_revocations_purge(s, 1001), TS_OK);
	ck_assert_int_eq(store_is_revoked(s, "jti-1", &r), TS_OK);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(store_is_revoked(s, "jti-2", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(store_revocations_purge(s, 1001), TS_OK); /* nothing left to purge: fine */
	store_close(s);
}
END_TEST

START_TEST(grant_round_trip)
{
	struct client c = client_of("app");
	struct user u = user_of("alice");
	struct grant in = {.client_id = "app", .scope = "openid profile", .created_at = 500};
	struct grant solo = {.client_id = "app", .scope = "mqtt:pub:x", .created_at = 600};
	struct grant *g = NULL;
	char sql[128];
	store *s = open_db();

	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	in.user_id = u.id;
	in.updated_at = 7; /* ignored: taken from created_at */
	ck_assert_int_eq(store_grant_find(s, u.id, "app", &g), TS_NOT_FOUND);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(store_grant_add(s, &in), TS_OK);
	ck_assert_int_gt(in.id, 0);
	ck_assert_int_eq(store_grant_get(s, in.id, &g), TS_OK);
	ck_assert_int_eq(g->id, in.id);
	ck_assert_str_eq(g->client_id, "app");
	ck_assert_int_eq(g->user_id, u.id);
	ck_assert_str_eq(g->scope, "openid profile");
	ck_assert_int_eq(g->created_at, 500);
	ck_assert_int_eq(g->updated_at, 500);
	ck_assert_int_eq(g->revoked_at, 0);
	store_grant_free(g);
	ck_assert_int_eq(store_grant_find(s, u.id, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, in.id);
	store_grant_free(g);
	ck_assert_int_eq(store_grant_find(s, u.id, "other", &g), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_find(s, u.id + 1, "app", &g), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_get(s, in.id + 100, &g), TS_NOT_FOUND);
	ck_assert_ptr_null(g);

	/* a client-only grant: user_id 0 in the struct, NULL in the row */
	ck_assert_int_eq(store_grant_find(s, 0, "app", &g), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_add(s, &solo), TS_OK);
	snprintf(sql, sizeof(sql), "SELECT user_id IS NULL FROM grants WHERE id = %lld",
			(long long)solo.id);
	ck_assert_int_eq(sql_int(sql), 1);
	ck_assert_int_eq(store_grant_find(s, 0, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, solo.id);
	ck_assert_int_eq(g->user_id, 0);
	ck_assert_str_eq(g->scope, "mqtt:pub:x");
	store_grant_free(g);
	/* and the user's grant is still the one found for the user */
	ck_assert_int_eq(store_grant_find(s, u.id, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, in.id);
	store_grant_free(g);

	/* scope changes */
	ck_assert_int_eq(store_grant_set_scope(s, in.id, "openid", 700), TS_OK);
	ck_assert_int_eq(store_grant_get(s, in.id, &g), TS_OK);
	ck_assert_str_eq(g->scope, "openid");
	ck_assert_int_eq(g->updated_at, 700);
	ck_assert_int_eq(g->created_at, 500);
	store_grant_free(g);
	ck_assert_int_eq(store_grant_set_scope(s, in.id + 100, "x", 700), TS_NOT_FOUND);

	/* revoke: idempotent, keeps the first time; a revoked grant is not found as active */
	ck_assert_int_eq(store_grant_revoke(s, in.id, 800), TS_OK);
	ck_assert_int_eq(store_grant_revoke(s, in.id, 900), TS_OK);
	ck_assert_int_eq(store_grant_get(s, in.id, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 800);
	ck_assert_int_eq(g->updated_at, 800);
	store_grant_free(g);
	ck_assert_int_eq(store_grant_find(s, u.id, "app", &g), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_revoke(s, in.id + 100, 800), TS_NOT_FOUND);
	/* a grant for a client or user that does not exist */
	in.client_id = "ghost";
	ck_assert_int_eq(store_grant_add(s, &in), TS_NOT_FOUND);
	in.client_id = "app";
	in.user_id = u.id + 100;
	ck_assert_int_eq(store_grant_add(s, &in), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

START_TEST(grant_one_active_per_user_and_client)
{
	struct fixture f;
	struct client other = client_of("other");
	struct grant g2 = {.client_id = "app", .scope = "b", .created_at = 200};
	struct grant solo1 = {.client_id = "app", .created_at = 300};
	struct grant solo2 = {.client_id = "app", .created_at = 301};
	struct grant *g = NULL;
	store *s = open_db();

	f = add_fixture(s);
	g2.user_id = f.user_id;
	ck_assert_int_eq(store_grant_add(s, &g2), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, f.user_id, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, f.grant_id); /* the first one is untouched */
	store_grant_free(g);
	/* another client is another pair */
	ck_assert_int_eq(store_client_add(s, &other), TS_OK);
	g2.client_id = "other";
	ck_assert_int_eq(store_grant_add(s, &g2), TS_OK);
	/* after revoking, a new active grant is allowed; the old one stays as a record */
	g2.client_id = "app";
	ck_assert_int_eq(store_grant_revoke(s, f.grant_id, 250), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g2), TS_OK);
	ck_assert_int_ne(g2.id, f.grant_id);
	ck_assert_int_eq(store_grant_find(s, f.user_id, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, g2.id);
	ck_assert_str_eq(g->scope, "b");
	store_grant_free(g);
	ck_assert_int_eq(store_grant_get(s, f.grant_id, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 250);
	store_grant_free(g);
	/* client-only grants are not limited; find gives the newest active */
	ck_assert_int_eq(store_grant_add(s, &solo1), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &solo2), TS_OK);
	ck_assert_int_eq(store_grant_find(s, 0, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, solo2.id);
	store_grant_free(g);
	ck_assert_int_eq(store_grant_revoke(s, solo2.id, 400), TS_OK);
	ck_assert_int_eq(store_grant_find(s, 0, "app", &g), TS_OK);
	ck_assert_int_eq(g->id, solo1.id);
	store_grant_free(g);
	store_close(s);
}
END_TEST

START_TEST(code_round_trip_and_take)
{
	struct fixture f;
	struct code in, bare, *c = NULL;
	unsigned char unknown[32];
	store *s = open_db();

	f = add_fixture(s);
	in = code_of(1, f);
	ck_assert_int_eq(store_code_add(s, &in), TS_OK);
	ck_assert_int_eq(store_code_add(s, &in), TS_CONFLICT); /* same hash */

	/* first take: TS_OK and the row, now marked used */
	ck_assert_int_eq(store_code_take(s, in.hash, 1010, &c), TS_OK);
	ck_assert_ptr_nonnull(c);
	ck_assert_mem_eq(c->hash, in.hash, 32);
	ck_assert_str_eq(c->client_id, "app");
	ck_assert_int_eq(c->user_id, f.user_id);
	ck_assert_int_eq(c->grant_id, f.grant_id);
	ck_assert_str_eq(c->redirect_uri, in.redirect_uri);
	ck_assert_int_eq(c->redirect_given, 1);
	ck_assert_str_eq(c->challenge, in.challenge);
	ck_assert_str_eq(c->scope, in.scope);
	ck_assert_str_eq(c->nonce, in.nonce);
	ck_assert_int_eq(c->auth_time, 990);
	ck_assert_int_eq(c->created_at, 1000);
	ck_assert_int_eq(c->expires_at, 1060);
	ck_assert_int_eq(c->used_at, 1010);
	store_code_free(c);

	/* second take: TS_CONFLICT, still with the row and the first use's time */
	c = NULL;
	ck_assert_int_eq(store_code_take(s, in.hash, 1020, &c), TS_CONFLICT);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->used_at, 1010);
	ck_assert_int_eq(c->grant_id, f.grant_id);
	store_code_free(c);

	/* unknown code */
	fill_hash(unknown, 77);
	c = (struct code *)1;
	ck_assert_int_eq(store_code_take(s, unknown, 1010, &c), TS_NOT_FOUND);
	ck_assert_ptr_null(c);

	/* no nonce, no redirect_uri given: NULL and 0 come back */
	bare = code_of(2, f);
	bare.nonce = NULL;
	bare.redirect_given = 0;
	ck_assert_int_eq(store_code_add(s, &bare), TS_OK);
	ck_assert_int_eq(store_code_take(s, bare.hash, 1001, &c), TS_OK);
	ck_assert_ptr_null(c->nonce);
	ck_assert_int_eq(c->redirect_given, 0);
	store_code_free(c);

	/* a code must hang off an existing grant, client and user */
	bare = code_of(3, f);
	bare.grant_id = f.grant_id + 100;
	ck_assert_int_eq(store_code_add(s, &bare), TS_NOT_FOUND);
	bare = code_of(3, f);
	bare.client_id = "ghost";
	ck_assert_int_eq(store_code_add(s, &bare), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 2);
	/* only the hash is stored, as a 32-byte blob */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes WHERE typeof(code_hash) = 'blob' "
			"AND length(code_hash) = 32"), 2);
	store_close(s);
}
END_TEST

enum { RACE_CODES = 300 };

struct racer {
	int64_t now;
	ts_err res[RACE_CODES];
	int64_t used_at[RACE_CODES];
	pthread_barrier_t *bar;
	int open_err;
};

static void code_hash_of(int i, unsigned char h[32])
{
	memset(h, 0, 32);
	h[0] = 0xc0;
	h[1] = (unsigned char)(i >> 8);
	h[2] = (unsigned char)i;
}

/* One thread, one connection: takes every code as fast as it can. */
static void *racer_run(void *arg)
{
	struct racer *r = arg;
	unsigned char h[32];
	store *s = NULL;
	int i;

	r->open_err = store_open(db, 10000, 1, &s);
	pthread_barrier_wait(r->bar);
	if (r->open_err)
		return NULL;
	for (i = 0; i < RACE_CODES; i++) {
		struct code *c = NULL;

		code_hash_of(i, h);
		r->res[i] = store_code_take(s, h, r->now, &c);
		r->used_at[i] = c ? c->used_at : -1;
		store_code_free(c);
	}
	store_close(s);
	return NULL;
}

/* Two connections (threads) redeem the same codes at once: exactly one wins each. */
START_TEST(code_take_race)
{
	struct racer r[2] = {{.now = 5001}, {.now = 5002}};
	pthread_barrier_t bar;
	pthread_t th[2];
	struct fixture f;
	int i, t, wins[2] = {0, 0};
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_begin(s), TS_OK);
	for (i = 0; i < RACE_CODES; i++) {
		struct code c = code_of(0, f);

		code_hash_of(i, c.hash);
		ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	}
	ck_assert_int_eq(store_commit(s), TS_OK);

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
	for (t = 0; t < 2; t++) {
		r[t].bar = &bar;
		ck_assert_int_eq(pthread_create(&th[t], NULL, racer_run, &r[t]), 0);
	}
	for (t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	ck_assert_int_eq(r[0].open_err, TS_OK);
	ck_assert_int_eq(r[1].open_err, TS_OK);
	for (i = 0; i < RACE_CODES; i++) {
		int w = r[0].res[i] == TS_OK ? 0 : 1;

		ck_assert_msg((r[0].res[i] == TS_OK && r[1].res[i] == TS_CONFLICT) ||
				(r[0].res[i] == TS_CONFLICT && r[1].res[i] == TS_OK),
				"code %d: %d and %d", i, r[0].res[i], r[1].res[i]);
		wins[w]++;
		/* both saw the winner's time */
		ck_assert_int_eq(r[0].used_at[i], r[w].now);
		ck_assert_int_eq(r[1].used_at[i], r[w].now);
	}
	ck_assert_int_eq(wins[0] + wins[1], RACE_CODES);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes WHERE used_at IS NULL"), 0);
	store_close(s);
}
END_TEST

/* The same between two processes, on a single code, many times. */
START_TEST(code_take_race_processes)
{
	enum { ROUNDS = 40 };
	struct fixture f;
	pid_t pid[2];
	int r, i, status, ok, conflict;
	store *s = open_db();

	f = add_fixture(s);
	for (r = 0; r < ROUNDS; r++) {
		struct code c = code_of((unsigned char)(100 + r), f);

		ck_assert_int_eq(store_code_add(s, &c), TS_OK);
		for (i = 0; i < 2; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				store *cs = NULL;
				struct code *got = NULL;
				ts_err e = store_open(db, 10000, 1, &cs);

				if (e == TS_OK)
					e = store_code_take(cs, c.hash, 6000, &got);
				store_code_free(got);
				store_close(cs);
				_exit((int)e);
			}
		}
		ok = conflict = 0;
		for (i = 0; i < 2; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert(WIFEXITED(status));
			ok += WEXITSTATUS(status) == TS_OK;
			conflict += WEXITSTATUS(status) == TS_CONFLICT;
		}
		ck_assert_msg(ok == 1 && conflict == 1, "round %d: %d ok, %d conflict", r, ok,
				conflict);
	}
	store_close(s);
}
END_TEST

START_TEST(codes_purge)
{
	struct fixture f;
	struct code a, b, *c = NULL;
	store *s = open_db();

	f = add_fixture(s);
	a = code_of(1, f);
	b = code_of(2, f);
	b.expires_at = 2000;
	ck_assert_int_eq(store_code_add(s, &a), TS_OK); /* expires 1060 */
	ck_assert_int_eq(store_code_add(s, &b), TS_OK);
	ck_assert_int_eq(store_codes_purge(s, 1060), TS_OK); /* "before now": 1060 stays */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 2);
	ck_assert_int_eq(store_codes_purge(s, 1061), TS_OK);
	ck_assert_int_eq(store_code_take(s, a.hash, 1061, &c), TS_NOT_FOUND);
	ck_assert_int_eq(store_code_take(s, b.hash, 1061, &c), TS_OK);
	store_code_free(c);
	ck_assert_int_eq(store_codes_purge(s, 1061), TS_OK); /* nothing to do: fine */
	ck_assert_int_eq(store_codes_purge(s, 5000), TS_OK); /* used ones go too */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 0);
	store_close(s);
}
END_TEST

START_TEST(session_round_trip_and_expiry)
{
	struct fixture f;
	struct session in = {.auth_time = 100, .created_at = 101, .expires_at = 200}, out;
	struct session other = {.auth_time = 1, .created_at = 1, .expires_at = 500};
	store *s = open_db();

	f = add_fixture(s);
	fill_hash(in.hash, 10);
	fill_hash(other.hash, 11);
	in.user_id = other.user_id = f.user_id;
	ck_assert_int_eq(store_session_get(s, in.hash, 150, &out), TS_NOT_FOUND);
	ck_assert_int_eq(store_session_add(s, &in), TS_OK);
	ck_assert_int_eq(store_session_add(s, &in), TS_CONFLICT);
	ck_assert_int_eq(store_session_add(s, &other), TS_OK);
	memset(&out, 0xff, sizeof(out));
	ck_assert_int_eq(store_session_get(s, in.hash, 150, &out), TS_OK);
	ck_assert_mem_eq(out.hash, in.hash, 32);
	ck_assert_int_eq(out.user_id, f.user_id);
	ck_assert_int_eq(out.auth_time, 100);
	ck_assert_int_eq(out.created_at, 101);
	ck_assert_int_eq(out.expires_at, 200);
	/* expired at expires_at, though still stored until purged */
	ck_assert_int_eq(store_session_get(s, in.hash, 199, &out), TS_OK);
	ck_assert_int_eq(store_session_get(s, in.hash, 200, &out), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 2);
	ck_assert_int_eq(store_sessions_purge(s, 199), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 2);
	ck_assert_int_eq(store_sessions_purge(s, 200), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 1);
	ck_assert_int_eq(store_session_get(s, in.hash, 150, &out), TS_NOT_FOUND);
	/* remove (logout) */
	ck_assert_int_eq(store_session_get(s, other.hash, 300, &out), TS_OK);
	ck_assert_int_eq(store_session_remove(s, other.hash), TS_OK);
	ck_assert_int_eq(store_session_get(s, other.hash, 300, &out), TS_NOT_FOUND);
	ck_assert_int_eq(store_session_remove(s, other.hash), TS_NOT_FOUND);
	/* a session of a user who does not exist */
	other.user_id = f.user_id + 100;
	ck_assert_int_eq(store_session_add(s, &other), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

START_TEST(consent_idempotent_and_ordered)
{
	struct fixture f;
	struct client other = client_of("other");
	char *scope = NULL;
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_client_add(s, &other), TS_OK);
	ck_assert_int_eq(store_consent_get(s, f.user_id, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "");
	free(scope);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid mqtt:sub:a/# profile", 10),
			TS_OK);
	ck_assert_int_eq(store_consent_get(s, f.user_id, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "mqtt:sub:a/# openid profile");
	free(scope);
	/* again, with repeats and extra spaces, plus one new token: only that one is added */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app",
			"  profile  openid openid email ", 20), TS_OK);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "", 30), TS_OK);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "   ", 30), TS_OK);
	ck_assert_int_eq(store_consent_get(s, f.user_id, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "email mqtt:sub:a/# openid profile");
	free(scope);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 4);
	/* the first approval's time is kept */
	ck_assert_int_eq(sql_int("SELECT created_at FROM consents WHERE scope_token = 'openid'"),
			10);
	/* per client and per user */
	ck_assert_int_eq(store_consent_get(s, f.user_id, "other", &scope), TS_OK);
	ck_assert_str_eq(scope, "");
	free(scope);
	ck_assert_int_eq(store_consent_get(s, f.user_id + 1, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "");
	free(scope);
	/* unknown user or client: nothing recorded, not even partly */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "ghost", "a b", 40), TS_NOT_FOUND);
	ck_assert_int_eq(store_consent_add(s, f.user_id + 100, "app", "a b", 40), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 4);
	/* many tokens (the result grows past any first buffer) */
	{
		char big[4096] = "", tok[32];
		int i;

		for (i = 0; i < 200; i++) {
			snprintf(tok, sizeof(tok), "mqtt:pub:t/%03d ", i);
			strcat(big, tok);
		}
		ck_assert_int_eq(store_consent_add(s, f.user_id, "other", big, 50), TS_OK);
		ck_assert_int_eq(store_consent_get(s, f.user_id, "other", &scope), TS_OK);
		big[strlen(big) - 1] = '\0';
		ck_assert_str_eq(scope, big);
		free(scope);
	}
	store_close(s);
}
END_TEST

/* Everything hanging off a user or a client goes with it, through its grants too. */
START_TEST(authz_cascade)
{
	struct fixture f;
	struct user bob = user_of("bob");
	struct grant solo = {.client_id = "app", .created_at = 1};
	struct session se = {.expires_at = 100};
	struct refresh r = {.expires_at = 100}, r2 = {.expires_at = 100};
	struct code c;
	static const char *const tables[] = {"grants", "codes", "sessions", "consents",
		"refresh_tokens"};
	char sql[96];
	size_t i;
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_user_add(s, &bob), TS_OK);
	c = code_of(1, f);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	fill_hash(se.hash, 2);
	se.user_id = f.user_id;
	ck_assert_int_eq(store_session_add(s, &se), TS_OK);
	fill_hash(se.hash, 3);
	se.user_id = bob.id;
	ck_assert_int_eq(store_session_add(s, &se), TS_OK);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid", 1), TS_OK);
	ck_assert_int_eq(store_consent_add(s, bob.id, "app", "openid", 1), TS_OK);
	fill_hash(r.hash, 4);
	r.grant_id = f.grant_id;
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &solo), TS_OK);
	fill_hash(r2.hash, 5);
	r2.grant_id = solo.id;
	ck_assert_int_eq(store_refresh_add(s, &r2), TS_OK);

	/* removing alice: her grant, code, session, consent and refresh token go */
	ck_assert_int_eq(store_user_remove(s, "alice"), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants"), 1);      /* the client-only one */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 1);    /* bob's */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 1);    /* bob's */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 1);

	/* removing the client: everything else but bob's session */
	ck_assert_int_eq(store_client_remove(s, "app"), TS_OK);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		ck_assert_msg(sql_int(sql) == (strcmp(tables[i], "sessions") == 0), "%s", tables[i]);
	}
	ck_assert_int_eq(store_user_remove(s, "bob"), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 0);
	store_close(s);
}
END_TEST

static int grant_count_cb(const struct grant *g, void *arg)
{
	(void)g;
	(*(int *)arg)++;
	return 0;
}

static int grant_reentrant_cb(const struct grant *g, void *arg)
{
	struct grants_seen *x = arg;
	int n = 0;

	x->n++;
	if (store_grant_each(x->s, "alice", NULL, grant_count_cb, &n) != TS_OK)
		return 1;
	x->inner += n;
	return store_grant_revoke(x->s, g->id, 999) != TS_OK;
}

START_TEST(grant_each_filters)
{
	struct client other = client_of("other");
	struct user bob = user_of("Bob");
	struct grant *got = NULL;
	struct grant g[6] = {
		{.client_id = "app", .scope = "a1", .created_at = 10},     /* alice (fixture) */
		{.client_id = "other", .scope = "a2", .created_at = 11},   /* alice */
		{.client_id = "app", .scope = "b1", .created_at = 12},     /* bob */
		{.client_id = "app", .scope = "c1", .created_at = 13},     /* client only */
		{.client_id = "other", .scope = "c2", .created_at = 14},   /* client only */
		{.client_id = "app", .scope = "a3", .created_at = 15},     /* alice, after a revoke */
	};
	struct grants_seen x;
	struct fixture f;
	int i;
	store *s = open_db();

	ck_assert_int_eq(list_grants(s, NULL, NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	f = add_fixture(s);
	ck_assert_int_eq(store_client_add(s, &other), TS_OK);
	ck_assert_int_eq(store_user_add(s, &bob), TS_OK);
	ck_assert_int_eq(store_grant_get(s, f.grant_id, &got), TS_OK);
	g[0].id = f.grant_id;
	store_grant_free(got);
	g[1].user_id = g[5].user_id = f.user_id;
	g[2].user_id = bob.id;
	ck_assert_int_eq(store_grant_add(s, &g[1]), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g[2]), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g[3]), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g[4]), TS_OK);
	ck_assert_int_eq(store_grant_revoke(s, g[0].id, 20), TS_OK);
	ck_assert_int_eq(store_grant_add(s, &g[5]), TS_OK);

	/* none: all of them, revoked and client-only ones too, by id */
	ck_assert_int_eq(list_grants(s, NULL, NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 6);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(x.id[i], g[i].id);
	/* user, whatever the case of the name */
	ck_assert_int_eq(list_grants(s, "ALICE", NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 3);
	ck_assert_int_eq(x.id[0], g[0].id);
	ck_assert_int_eq(x.id[1], g[1].id);
	ck_assert_int_eq(x.id[2], g[5].id);
	ck_assert_int_eq(list_grants(s, "bob", NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(x.id[0], g[2].id);
	/* client: the user grants and the client-only ones */
	ck_assert_int_eq(list_grants(s, NULL, "other", &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_int_eq(x.id[0], g[1].id);
	ck_assert_int_eq(x.id[1], g[4].id);
	ck_assert_int_eq(list_grants(s, NULL, "app", &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	/* both */
	ck_assert_int_eq(list_grants(s, "Alice", "app", &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_int_eq(x.id[0], g[0].id);
	ck_assert_int_eq(x.id[1], g[5].id);
	ck_assert_int_eq(list_grants(s, "bob", "other", &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	/* unknown user or client: empty, not an error; client ids are exact, names no patterns */
	ck_assert_int_eq(list_grants(s, "carol", NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	ck_assert_int_eq(list_grants(s, "carol", "app", &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	ck_assert_int_eq(list_grants(s, NULL, "APP", &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	ck_assert_int_eq(list_grants(s, "al%", NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	ck_assert_int_eq(list_grants(s, "", "", &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	/* the record fn sees */
	ck_assert_int_eq(store_grant_each(s, "bob", "app", grant_count_cb, &x.inner), TS_OK);
	ck_assert_int_eq(x.inner, 1);
	ck_assert_int_eq(store_grant_each(NULL, NULL, NULL, grant_cb, &x), TS_SERVER_ERROR);
	ck_assert_int_eq(store_grant_each(s, NULL, NULL, NULL, &x), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

struct grant_want {
	struct grant want;
	int seen, differs;
};

/* Compares the grant of want's id, field by field, with the one wanted. */
static int grant_fields_cb(const struct grant *g, void *arg)
{
	struct grant_want *x = arg;
	const struct grant *w = &x->want;

	if (g->id != w->id)
		return 0;
	x->seen++;
	x->differs = strcmp(g->client_id, w->client_id) != 0 || g->user_id != w->user_id ||
		strcmp(g->scope, w->scope) != 0 || g->created_at != w->created_at ||
		g->updated_at != w->updated_at || g->revoked_at != w->revoked_at;
	return 0;
}

START_TEST(grant_each_stop_and_reentry)
{
	struct grant more[3] = {
		{.client_id = "app", .scope = "x", .created_at = 1},
		{.client_id = "app", .scope = "y", .created_at = 2},
		{.client_id = "app", .scope = "z", .created_at = 3},
	};
	struct grant_want w = {0};
	struct grants_seen x;
	struct fixture f;
	int i;
	store *s = open_db();

	f = add_fixture(s);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(store_grant_add(s, &more[i]), TS_OK);
	/* every field reaches fn: a client-only grant, revoked, and the fixture's user grant */
	ck_assert_int_eq(store_grant_revoke(s, more[1].id, 55), TS_OK);
	w.want = more[1];
	w.want.updated_at = w.want.revoked_at = 55;
	ck_assert_int_eq(store_grant_each(s, NULL, "app", grant_fields_cb, &w), TS_OK);
	ck_assert_int_eq(w.seen, 1);
	ck_assert_int_eq(w.differs, 0);
	w.want.revoked_at = 0;
	w.seen = 0;
	ck_assert_int_eq(store_grant_each(s, NULL, NULL, grant_fields_cb, &w), TS_OK);
	ck_assert_int_eq(w.seen, 1);
	ck_assert_int_eq(w.differs, 1); /* (the check can fail) */
	memset(&w, 0, sizeof(w));
	w.want = (struct grant){.id = f.grant_id, .client_id = "app", .user_id = f.user_id,
		.scope = "openid mqtt:sub:a/#", .created_at = 100, .updated_at = 100};
	ck_assert_int_eq(store_grant_each(s, "alice", "app", grant_fields_cb, &w), TS_OK);
	ck_assert_int_eq(w.seen, 1);
	ck_assert_int_eq(w.differs, 0);
	ck_assert_int_eq(list_grants(s, NULL, NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	ck_assert_int_eq(x.id[0], f.grant_id);
	ck_assert_int_eq(x.id[2], more[1].id);
	/* fn stops the walk: non-zero comes back as TS_SERVER_ERROR, the next walk starts over */
	memset(&x, 0, sizeof(x));
	x.stop_at = 2;
	ck_assert_int_eq(store_grant_each(s, NULL, NULL, grant_cb, &x), TS_SERVER_ERROR);
	ck_assert_int_eq(x.n, 2);
	ck_assert_int_eq(list_grants(s, NULL, NULL, &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	/* fn lists again (the same filter) and writes */
	memset(&x, 0, sizeof(x));
	x.s = s;
	ck_assert_int_eq(store_grant_each(s, "alice", NULL, grant_reentrant_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(x.inner, 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants WHERE revoked_at = 999"), 1);
	store_close(s);
}
END_TEST

static Suite *store_grants_suite(void)
{
	Suite *s = suite_create("store_grants");
	TCase *rec = tcase_create("records");
	TCase *lock = tcase_create("locking");

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, revocation);
	tcase_add_test(rec, grant_round_trip);
	tcase_add_test(rec, grant_one_active_per_user_and_client);
	tcase_add_test(rec, code_round_trip_and_take);
	tcase_add_test(rec, codes_purge);
	tcase_add_test(rec, session_round_trip_and_expiry);
	tcase_add_test(rec, consent_idempotent_and_ordered);
	tcase_add_test(rec, authz_cascade);
	tcase_add_test(rec, grant_each_filters);
	tcase_add_test(rec, grant_each_stop_and_reentry);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(lock, setup, teardown);
	tcase_set_timeout(lock, 30);
	tcase_add_test(lock, code_take_race);
	tcase_add_test(lock, code_take_race_processes);
	suite_add_tcase(s, lock);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_grants_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
