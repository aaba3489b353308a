/* Unit tests for lib/grant: the scope a user gets through a client, scope lists, grant records,
 * grant tokens and their keys, refresh token rotation with its grace answer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
#include "grant.h"

static void user_scope(const char *requested, const char *client_allowed, const char *user_allowed,
                       const char *username, ts_err want, const char *granted)
{
	struct client c = {0};
	struct user u = {0};
	char *g = NULL, *bad = NULL;

	c.client_id = "app";
	c.scope = (char *)client_allowed;
	u.username = (char *)username;
	u.scope = (char *)user_allowed;
	ck_assert_int_eq(grant_user_scope(requested, &c, &u, &g, &bad), want);
	if (want == TS_OK)
		ck_assert_str_eq(g, granted);
	free(g);
	free(bad);
}

START_TEST(test_user_scope)
{
	const char *client = "openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd";
	const char *user = "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd";

	/* OIDC scopes need only the client; MQTT needs both, ${username} filled */
	user_scope("openid mqtt:sub:#", client, user, "alice", TS_OK, "openid mqtt:sub:home/alice/#");
	user_scope(NULL, client, user, "bob", TS_OK,
	           "openid profile email mqtt:sub:home/bob/# mqtt:pub:home/bob/cmd");
	/* the user may not have it: only the OIDC part is left */
	user_scope("openid mqtt:sub:#", client, "", "alice", TS_OK, "openid");
	/* nothing left at all */
	user_scope("mqtt:sub:#", client, "", "alice", TS_INVALID_SCOPE, NULL);
	/* a non-OIDC plain scope needs both too */
	user_scope("introspect", "introspect", "", "alice", TS_INVALID_SCOPE, NULL);
	user_scope("introspect", "introspect", "introspect", "alice", TS_OK, "introspect");
	/* a username that would widen a filter is never substituted */
	user_scope("mqtt:sub:#", client, user, "a/+", TS_INVALID_SCOPE, NULL);
	user_scope("openid mqtt:sub:#", client, user, "#", TS_OK, "openid");
	/* malformed request */
	user_scope("mqtt:sub:a/#/b", client, user, "alice", TS_INVALID_SCOPE, NULL);
}
END_TEST

START_TEST(test_lists)
{
	char *u = grant_scope_union("a b", "b c a d");

	ck_assert_str_eq(u, "a b c d");
	free(u);
	u = grant_scope_union("", "x");
	ck_assert_str_eq(u, "x");
	free(u);
	ck_assert(grant_scope_covered("a c", "a b c"));
	ck_assert(grant_scope_covered("", "a"));
	ck_assert(!grant_scope_covered("a d", "a b c"));
	ck_assert(!grant_scope_covered("a", ""));
}
END_TEST

/* A database in a new directory (*dir) with client "app" (public) and user "alice" (*uid). */
static store *fixture(char dir[32], int64_t *uid)
{
	struct client c = {0};
	struct user u = {0};
	char db[64];
	store *s;

	strcpy(dir, "/tmp/tessera-grant-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 500, 1, &s), TS_OK);
	c.client_id = "app";
	c.name = c.redirect_uris = "";
	c.grant_types = "authorization_code refresh_token";
	c.scope = "openid";
	c.is_public = 1;
	c.active = 1;
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	u.username = "alice";
	u.scope = "";
	u.active = 1;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	*uid = u.id;
	return s;
}

static void fixture_end(store *s, const char *dir)
{
	char cmd[64];

	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time at the start of a grant token's text. */
static int64_t token_ms(const char *text)
{
	unsigned char b[64];
	int64_t ms = 0;
	int i;

	ck_assert_int_eq(b64url_decode(text, strlen(text), b), 38);
	for (i = 0; i < 6; i++)
		ms = ms << 8 | b[i];
	return ms;
}

START_TEST(test_token_keys)
{
	char a[GRANT_TOKEN_LEN], b[GRANT_TOKEN_LEN], legacy[SECRET_TOKEN_LEN];
	unsigned char ka[32], kb[32], sha[32], time[8];
	int64_t before = ms_now(), t;
	int i;

	/* 51 base64url characters: the time it was made, then 32 random bytes */
	ck_assert_int_eq(grant_token_new(a), TS_OK);
	ck_assert_uint_eq(strlen(a), GRANT_TOKEN_LEN - 1);
	ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	                  strlen(a));
	t = token_ms(a);
	ck_assert(t >= before && t <= ms_now());
	/* its key: that time, then the start of the text's SHA-256 */
	grant_token_hash(a, ka);
	secret_sha256(a, strlen(a), sha);
	ck_assert_int_eq(b64url_decode(a, 8, time), 6);
	ck_assert_mem_eq(ka, time, 6);
	ck_assert_mem_eq(ka + 6, sha, 26);
	/* a token made later has a key that sorts after (so rows written together sit together),
	 * and no two are alike */
	usleep(2000);
	ck_assert_int_eq(grant_token_new(b), TS_OK);
	grant_token_hash(b, kb);
	ck_assert_int_lt(memcmp(ka, kb, 32), 0);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(grant_token_new(b), TS_OK);
		ck_assert_str_ne(a, b);
		ck_assert_int_eq(memcmp(b + 8, a + 8, GRANT_TOKEN_LEN - 9) != 0, 1);
	}
	/* a token made before schema version 6 (43 characters) keeps its key, the SHA-256 */
	ck_assert_int_eq(secret_random(legacy, 32), TS_OK);
	grant_token_hash(legacy, ka);
	secret_sha256(legacy, strlen(legacy), sha);
	ck_assert_mem_eq(ka, sha, 32);
	/* so does any other text, of a grant token's length or not */
	memset(b, '*', GRANT_TOKEN_LEN - 1);
	b[GRANT_TOKEN_LEN - 1] = '\0';
	grant_token_hash(b, ka);
	secret_sha256(b, strlen(b), sha);
	ck_assert_mem_eq(ka, sha, 32);
	grant_token_hash("", ka);
	secret_sha256("", 0, sha);
	ck_assert_mem_eq(ka, sha, 32);
	/* what introspection and revocation take for a refresh token */
	ck_assert(grant_token_sized(a));
	ck_assert(grant_token_sized(legacy));
	ck_assert(!grant_token_sized(""));
	ck_assert(!grant_token_sized("abc"));
	a[GRANT_TOKEN_LEN - 2] = '\0';
	ck_assert(!grant_token_sized(a));
}
END_TEST

/* A refresh of app's token text at now (rotating, with a grace period of 60 s), as the token
 * endpoint runs it: the checks, then the writer's part when it has one. */
static void refresh(store *s, const char *text, int64_t now, struct refresh_req *q)
{
	memset(q, 0, sizeof *q);
	q->text = text;
	q->client_id = "app";
	q->rotate = 1;
	q->grace = 60;
	q->idle_ttl = 3600;
	q->now = now;
	ck_assert_int_eq(grant_refresh_check(s, q), TS_OK);
	if (!q->error)
		ck_assert_int_eq(grant_refresh_commit(s, q), TS_OK);
}

static void refresh_end(struct refresh_req *q)
{
	free(q->scope_out);
	store_grant_free(q->grant);
	store_user_free(q->user);
}

START_TEST(test_rotation_keeps_its_successor)
{
	char dir[32], first[GRANT_TOKEN_LEN], next[GRANT_TOKEN_LEN];
	unsigned char key[32];
	struct refresh_req q;
	struct refresh row;
	int64_t uid, gid, before;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &gid), TS_OK);
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, first), TS_OK);
	ck_assert_uint_eq(strlen(first), GRANT_TOKEN_LEN - 1);
	/* rotation: a new grant token, made at the time the used-up row keeps */
	before = ms_now();
	refresh(s, first, 20, &q);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_uint_eq(strlen(q.next), GRANT_TOKEN_LEN - 1);
	ck_assert_str_ne(q.next, first);
	memcpy(next, q.next, sizeof next);
	refresh_end(&q);
	grant_token_hash(first, key);
	ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
	ck_assert_int_eq(row.used_at, 20);
	ck_assert(row.successor_ms >= before && row.successor_ms <= ms_now());
	ck_assert_int_eq(token_ms(next), row.successor_ms);
	grant_token_hash(next, key);
	ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
	ck_assert_int_eq(row.used_at, 0);
	/* the used-up token again within the grace period: the same successor, however much later */
	usleep(2000);
	refresh(s, first, 30, &q);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_str_eq(q.next, next);
	refresh_end(&q);
	/* a third time is reuse: the grant goes, the successor with it */
	refresh(s, first, 31, &q);
	ck_assert_int_eq(q.error, TS_INVALID_GRANT);
	refresh_end(&q);
	refresh(s, next, 32, &q);
	ck_assert_int_eq(q.error, TS_INVALID_GRANT);
	refresh_end(&q);
	fixture_end(s, dir);
}
END_TEST

/* The successor's secret is the one committed: a first rotation whose transaction (which created
 * the secret) was rolled back leaves nothing behind that the next rotation would use. */
START_TEST(test_rotation_after_a_rollback)
{
	char dir[32], first[GRANT_TOKEN_LEN];
	unsigned char secret[32], mac[32], body[64];
	unsigned len = sizeof mac;
	struct refresh_req q;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &gid), TS_OK);
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, first), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_OK);
	refresh(s, first, 20, &q);
	ck_assert_int_eq(q.error, TS_OK);
	refresh_end(&q);
	store_rollback(s);
	refresh(s, first, 21, &q);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_int_eq(store_secret(s, "refresh-successor", secret), TS_OK);
	HMAC(EVP_sha256(), secret, sizeof secret, (const unsigned char *)first, strlen(first), mac,
	     &len);
	ck_assert_int_eq(b64url_decode(q.next, strlen(q.next), body), 38);
	ck_assert_mem_eq(body + 6, mac, 32);
	refresh_end(&q);
	fixture_end(s, dir);
}
END_TEST

/* Refresh tokens from before schema version 6: 43 characters, under their SHA-256. One still
 * current rotates into a grant token; one rotated before the upgrade (successor_ms NULL) gets its
 * old successor, the HMAC alone, as its grace answer. */
START_TEST(test_rotation_of_older_tokens)
{
	char dir[32], old[SECRET_TOKEN_LEN], rotated[SECRET_TOKEN_LEN], succ[SECRET_TOKEN_LEN];
	unsigned char secret[32], mac[32];
	unsigned len = sizeof mac;
	struct refresh r = {0};
	struct refresh_req q;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &gid), TS_OK);
	r.grant_id = gid;
	r.created_at = 10;
	r.expires_at = 3610;
	ck_assert_int_eq(secret_random(old, 32), TS_OK);
	secret_sha256(old, strlen(old), r.hash);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	refresh(s, old, 20, &q);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_uint_eq(strlen(q.next), GRANT_TOKEN_LEN - 1);
	refresh_end(&q);

	/* rotated at 15 by a Tessera before version 6: used_at set, no successor_ms */
	ck_assert_int_eq(secret_random(rotated, 32), TS_OK);
	secret_sha256(rotated, strlen(rotated), r.hash);
	r.used_at = 15;
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(store_secret(s, "refresh-successor", secret), TS_OK);
	HMAC(EVP_sha256(), secret, sizeof secret, (const unsigned char *)rotated, strlen(rotated),
	     mac, &len);
	b64url_encode(mac, sizeof mac, succ);
	secret_sha256(succ, strlen(succ), r.hash);
	r.used_at = 0;
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	refresh(s, rotated, 30, &q);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_str_eq(q.next, succ);
	refresh_end(&q);
	fixture_end(s, dir);
}
END_TEST

START_TEST(test_record_widens_one_grant)
{
	char dir[32];
	struct grant *g = NULL;
	int64_t id1, id2, uid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &id1), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", uid, "openid mqtt:sub:a", 20, &id2), TS_OK);
	ck_assert_int_eq(id1, id2);
	ck_assert_int_eq(store_grant_get(s, id1, &g), TS_OK);
	ck_assert_str_eq(g->scope, "openid mqtt:sub:a");
	store_grant_free(g);
	/* after a revocation a new grant starts */
	ck_assert_int_eq(store_grant_revoke(s, id1, 30), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 40, &id2), TS_OK);
	ck_assert_int_ne(id1, id2);
	fixture_end(s, dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("grant");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_user_scope);
	tcase_add_test(t, test_lists);
	tcase_add_test(t, test_record_widens_one_grant);
	tcase_add_test(t, test_token_keys);
	tcase_add_test(t, test_rotation_keeps_its_successor);
	tcase_add_test(t, test_rotation_of_older_tokens);
	tcase_add_test(t, test_rotation_after_a_rollback);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
