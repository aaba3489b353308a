/* Unit tests for lib/grant: the scope a user gets through a client, what a grant yields now,
 * scope lists, grant records, grant tokens and their keys, refresh token rotation with its grace
 * answer, what a refresh token's chain yields, an admin's change of a grant's scope, whether an
 * access token is still good, and a code's redemption. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
#include "client.h"
#include "grant.h"
#include "secret.h"

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

/* What grant scope g yields for user name (own scope mine, groups' group) through a client allowed
 * client_allowed (NULL user: a client's grant); want NULL: nothing. */
static void yields_now(const char *g, const char *client_allowed, const char *name,
                       const char *mine, const char *group, const char *want)
{
	struct grant gr = {.client_id = "app", .scope = (char *)g};
	struct client c = {.client_id = "app", .scope = (char *)client_allowed};
	struct user u = {.username = (char *)name, .scope = (char *)mine, .group_scope = (char *)group};
	char *out = NULL;
	ts_err rc = grant_scope_now(&gr, &c, name ? &u : NULL, &out);

	if (!want) {
		ck_assert_int_eq(rc, TS_INVALID_SCOPE);
		ck_assert_ptr_null(out);
	} else {
		ck_assert_int_eq(rc, TS_OK);
		ck_assert_str_eq(out, want);
	}
	free(out);
}

START_TEST(test_scope_now)
{
	const char *client = "openid email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd "
	                     "mqtt:sub:garden/#";
	const char *g = "openid email mqtt:sub:home/dave/# mqtt:pub:home/dave/cmd mqtt:sub:garden/#";

	/* unchanged: all of it */
	yields_now(g, client, "dave", "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd",
	           "mqtt:sub:garden/#", g);
	/* out of the group: the group's part goes */
	yields_now(g, client, "dave", "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd",
	           "", "openid email mqtt:sub:home/dave/# mqtt:pub:home/dave/cmd");
	/* the user's own scope narrowed */
	yields_now(g, client, "dave", "mqtt:sub:home/${username}/kitchen/#", "mqtt:sub:garden/#",
	           "openid email mqtt:sub:home/dave/kitchen/# mqtt:sub:garden/#");
	/* the client narrowed (OpenID Connect scopes need only the client) */
	yields_now(g, "openid mqtt:sub:home/${username}/#", "dave",
	           "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd", "",
	           "openid mqtt:sub:home/dave/#");
	/* renamed: what was filled in for dave is not dave.old's, and would not be any new dave's */
	yields_now(g, client, "dave.old", "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd",
	           "mqtt:sub:garden/#", "openid email mqtt:sub:garden/#");
	yields_now("mqtt:sub:home/dave/#", client, "dave.old", "mqtt:sub:home/${username}/#", "",
	           NULL);
	/* nothing left, and an empty grant is nothing */
	yields_now("mqtt:sub:garden/#", client, "dave", "", "", NULL);
	yields_now("", client, "dave", "mqtt:sub:#", "", NULL);
	/* a client's own grant: the client alone, ${clientid} filled in */
	yields_now("mqtt:pub:dev/app/x mqtt:sub:y", "mqtt:pub:dev/${clientid}/#", NULL, NULL, NULL,
	           "mqtt:pub:dev/app/x");
}
END_TEST

START_TEST(test_scope_narrow)
{
	char *out = NULL;

	ck_assert_int_eq(grant_scope_narrow("openid mqtt:sub:a/#", "mqtt:sub:a/b openid", &out), TS_OK);
	ck_assert_str_eq(out, "openid mqtt:sub:a/b");
	free(out);
	/* "" is nothing on either side, never "everything" */
	ck_assert_int_eq(grant_scope_narrow("", "openid", &out), TS_INVALID_SCOPE);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(grant_scope_narrow("openid", "", &out), TS_INVALID_SCOPE);
	ck_assert_int_eq(grant_scope_narrow("mqtt:pub:a", "mqtt:sub:a", &out), TS_INVALID_SCOPE);
}
END_TEST

START_TEST(test_of_client)
{
	struct grant g = {.client_id = "tmpc", .client_record = 3};
	struct client c = {.client_id = "tmpc", .record = 3};

	ck_assert(grant_of_client(&g, &c));
	c.record = 4;   /* removed and added again under the same id */
	ck_assert(!grant_of_client(&g, &c));
	c.record = 3;
	c.client_id = "other";
	ck_assert(!grant_of_client(&g, &c));
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
	c.scope = "openid email mqtt:sub:h/${username}/# mqtt:pub:h/${username}/# mqtt:sub:cmd";
	c.is_public = 1;
	c.active = 1;
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	u.username = "alice";
	u.scope = "mqtt:sub:h/${username}/# mqtt:pub:h/${username}/# mqtt:sub:cmd";
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
	struct client *c = NULL;

	ck_assert_int_eq(store_client_get(s, "app", &c), TS_OK);
	memset(q, 0, sizeof *q);
	q->text = text;
	q->client = c;
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
	store_client_free((struct client *)q->client);
	grant_refresh_done(q);
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
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, NULL, first), TS_OK);
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

/* docs/security.md row 100: a refresh token bound to a DPoP key needs a proof by that key, and a
 * refusal changes nothing (no rotation, no reuse revocation); its successor keeps the binding. */
START_TEST(test_refresh_bound_to_a_dpop_key)
{
	static const char jkt[] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
	char dir[32], first[GRANT_TOKEN_LEN], next[GRANT_TOKEN_LEN];
	const char *keys[] = { NULL, "another-key-thumbprint" };
	unsigned char key[32];
	struct refresh_req q;
	struct refresh row = {0};
	int64_t uid, gid;
	size_t i;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &gid), TS_OK);
	ck_assert_int_eq(grant_refresh_issue_bound(s, gid, 10, 3600, NULL, jkt, first), TS_OK);
	grant_token_hash(first, key);
	for (i = 0; i < 2; i++) {
		memset(&q, 0, sizeof q);
		ck_assert_int_eq(store_client_get(s, "app", (struct client **)&q.client), TS_OK);
		q.text = first;
		q.rotate = 1;
		q.idle_ttl = 3600;
		q.now = 20;
		q.dpop_jkt = keys[i];
		ck_assert_int_eq(grant_refresh_check(s, &q), TS_OK);
		ck_assert_int_eq(q.error, TS_INVALID_GRANT);
		ck_assert_ptr_nonnull(strstr(q.why, "DPoP"));
		refresh_end(&q);
		ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
		ck_assert_int_eq(row.used_at, 0);
		ck_assert_str_eq(row.dpop_jkt, jkt);
		store_refresh_clear(&row);
	}
	memset(&q, 0, sizeof q);
	ck_assert_int_eq(store_client_get(s, "app", (struct client **)&q.client), TS_OK);
	q.text = first;
	q.rotate = 1;
	q.idle_ttl = 3600;
	q.now = 20;
	q.dpop_jkt = jkt;
	ck_assert_int_eq(grant_refresh_check(s, &q), TS_OK);
	ck_assert_int_eq(q.error, TS_OK);
	ck_assert_int_eq(grant_refresh_commit(s, &q), TS_OK);
	memcpy(next, q.next, sizeof next);
	refresh_end(&q);
	grant_token_hash(next, key);
	ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
	ck_assert_str_eq(row.dpop_jkt, jkt);
	store_refresh_clear(&row);
	/* the successor still needs the key */
	refresh(s, next, 30, &q);
	ck_assert_int_eq(q.error, TS_INVALID_GRANT);
	refresh_end(&q);
	/* an unbound token takes no proof */
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, NULL, first), TS_OK);
	grant_token_hash(first, key);
	ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
	ck_assert_ptr_null(row.dpop_jkt);
	store_refresh_clear(&row);
	refresh(s, first, 30, &q);
	ck_assert_int_eq(q.error, TS_OK);
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
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, NULL, first), TS_OK);
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

/* A current refresh token of grant gid whose chain yields at most scope (NULL: the whole grant);
 * its text in text. */
static void chain(store *s, int64_t gid, const char *scope, char text[GRANT_TOKEN_LEN])
{
	ck_assert_int_eq(grant_refresh_issue(s, gid, 10, 3600, scope, text), TS_OK);
}

/* The scope of the refresh token text's row ("NULL" for none). */
static void chain_is(store *s, const char *text, const char *want)
{
	struct refresh row = {0};
	unsigned char key[32];

	grant_token_hash(text, key);
	ck_assert_int_eq(store_refresh_get(s, key, &row), TS_OK);
	ck_assert_str_eq(row.scope ? row.scope : "NULL", want);
	store_refresh_clear(&row);
}

/* A refresh of text asking for scope (NULL: all): its error, and what it yields in out. */
static ts_err refreshed_to(store *s, const char *text, const char *scope, char *out, size_t n)
{
	struct refresh_req q;
	ts_err e;

	refresh(s, text, 100, &q);
	if (scope) {   /* again, narrowing (the token rotated: its successor) */
		char next[GRANT_TOKEN_LEN];

		ck_assert_int_eq(q.error, TS_OK);
		memcpy(next, q.next, sizeof next);
		refresh_end(&q);
		memset(&q, 0, sizeof q);
		ck_assert_int_eq(store_client_get(s, "app", (struct client **)&q.client), TS_OK);
		q.text = next;
		q.scope = scope;
		q.rotate = 1;
		q.idle_ttl = 3600;
		q.now = 101;
		ck_assert_int_eq(grant_refresh_check(s, &q), TS_OK);
	}
	e = q.error;
	snprintf(out, n, "%s", e ? "" : q.scope_out);
	refresh_end(&q);
	return e;
}

START_TEST(test_refresh_yields_its_own_authorization)
{
	char dir[32], a[GRANT_TOKEN_LEN], b[GRANT_TOKEN_LEN], old[GRANT_TOKEN_LEN], got[256];
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	/* two authorizations of one grant: A the user's home, B only a part of it, and a token
	 * from before chains kept a scope */
	ck_assert_int_eq(grant_record(s, "app", uid, "mqtt:pub:h/alice/#", 10, &gid), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", uid, "mqtt:sub:h/alice/g/#", 10, &gid), TS_OK);
	chain(s, gid, "mqtt:pub:h/alice/#", a);
	chain(s, gid, "mqtt:sub:h/alice/g/#", b);
	chain(s, gid, NULL, old);
	ck_assert_int_eq(refreshed_to(s, b, NULL, got, sizeof got), TS_OK);
	ck_assert_str_eq(got, "mqtt:sub:h/alice/g/#");
	ck_assert_int_eq(refreshed_to(s, a, NULL, got, sizeof got), TS_OK);
	ck_assert_str_eq(got, "mqtt:pub:h/alice/#");
	ck_assert_int_eq(refreshed_to(s, old, NULL, got, sizeof got), TS_OK);
	ck_assert_str_eq(got, "mqtt:pub:h/alice/# mqtt:sub:h/alice/g/#");
	fixture_end(s, dir);
}
END_TEST

START_TEST(test_refresh_narrowing_and_nothing_left)
{
	char dir[32], a[GRANT_TOKEN_LEN], b[GRANT_TOKEN_LEN], got[256];
	struct user *u = NULL;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid mqtt:sub:h/alice/#", 10, &gid), TS_OK);
	chain(s, gid, "openid mqtt:sub:h/alice/#", a);
	chain(s, gid, "mqtt:sub:h/alice/#", b);
	/* a narrower request within the chain; a wider one is invalid_scope */
	ck_assert_int_eq(refreshed_to(s, a, "mqtt:sub:h/alice/x", got, sizeof got), TS_OK);
	ck_assert_str_eq(got, "mqtt:sub:h/alice/x");
	ck_assert_int_eq(refreshed_to(s, b, "openid", got, sizeof got), TS_INVALID_SCOPE);
	/* the user's scope taken away: only openid is left of A, nothing of B */
	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_OK);
	free(u->scope);
	u->scope = strdup("");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	store_user_free(u);
	chain(s, gid, "openid mqtt:sub:h/alice/#", a);
	chain(s, gid, "mqtt:sub:h/alice/#", b);
	ck_assert_int_eq(refreshed_to(s, a, NULL, got, sizeof got), TS_OK);
	ck_assert_str_eq(got, "openid");
	ck_assert_int_eq(refreshed_to(s, b, NULL, got, sizeof got), TS_INVALID_GRANT);
	fixture_end(s, dir);
}
END_TEST

START_TEST(test_refresh_of_another_client_record)
{
	char dir[32], a[GRANT_TOKEN_LEN], got[256];
	struct refresh_req q = {.rotate = 1, .idle_ttl = 3600, .now = 100};
	struct client *c = NULL;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 10, &gid), TS_OK);
	chain(s, gid, "openid", a);
	/* presented by another record of "app" (as if removed and added again while a row of the
	 * old one stayed): refused */
	ck_assert_int_eq(store_client_get(s, "app", &c), TS_OK);
	c->record++;
	q.text = a;
	q.client = c;
	ck_assert_int_eq(grant_refresh_check(s, &q), TS_OK);
	ck_assert_int_eq(q.error, TS_INVALID_GRANT);
	ck_assert_str_eq(q.why, "the refresh token was issued to another client");
	grant_refresh_done(&q);
	/* removed and added again for real: the grant and its tokens went with the old record */
	ck_assert_int_eq(store_client_remove(s, "app"), TS_OK);
	ck_assert_int_eq(store_client_add(s, c), TS_OK);
	store_client_free(c);
	ck_assert_int_eq(refreshed_to(s, a, NULL, got, sizeof got), TS_INVALID_GRANT);
	fixture_end(s, dir);
}
END_TEST

START_TEST(test_set_scope_follows_on_every_chain)
{
	char dir[32], a[GRANT_TOKEN_LEN], b[GRANT_TOKEN_LEN], old[GRANT_TOKEN_LEN], got[256];
	struct grant *g = NULL;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(grant_record(s, "app", uid, "mqtt:pub:h/alice/# mqtt:sub:h/alice/g/#", 10,
	                              &gid), TS_OK);
	chain(s, gid, "mqtt:pub:h/alice/#", a);
	chain(s, gid, "mqtt:sub:h/alice/g/#", b);
	chain(s, gid, NULL, old);
	/* widened: what is added reaches every chain */
	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(grant_set_scope(s, gid, "mqtt:pub:h/alice/# mqtt:sub:h/alice/g/# "
	                                 "mqtt:sub:cmd", 20), TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	chain_is(s, a, "mqtt:pub:h/alice/# mqtt:sub:cmd");
	chain_is(s, b, "mqtt:sub:h/alice/g/# mqtt:sub:cmd");
	chain_is(s, old, "NULL");
	ck_assert_int_eq(store_grant_get(s, gid, &g), TS_OK);
	ck_assert_str_eq(g->scope, "mqtt:pub:h/alice/# mqtt:sub:h/alice/g/# mqtt:sub:cmd");
	ck_assert_int_eq(g->updated_at, 20);
	store_grant_free(g);
	/* narrowed: every chain narrowed to it, none widened */
	ck_assert_int_eq(grant_set_scope(s, gid, "mqtt:pub:h/alice/a/# mqtt:sub:h/alice/g/x", 30),
	                 TS_OK);
	chain_is(s, a, "mqtt:pub:h/alice/a/#");
	chain_is(s, b, "mqtt:sub:h/alice/g/x");
	chain_is(s, old, "NULL");
	/* a narrowing that leaves a chain nothing: it yields nothing from then on */
	ck_assert_int_eq(grant_set_scope(s, gid, "mqtt:sub:h/alice/g/x", 35), TS_OK);
	chain_is(s, a, "");
	chain_is(s, b, "mqtt:sub:h/alice/g/x");
	ck_assert_int_eq(refreshed_to(s, a, NULL, got, sizeof got), TS_INVALID_GRANT);
	/* filters the old scope did not cover (a topic is no wildcard: g/x does not cover g/x/y)
	 * are added to every chain, the one left nothing too */
	ck_assert_int_eq(grant_set_scope(s, gid, "mqtt:pub:h/alice/z mqtt:sub:h/alice/g/x/y", 40),
	                 TS_OK);
	chain_is(s, a, "mqtt:pub:h/alice/z mqtt:sub:h/alice/g/x/y");
	chain_is(s, b, "mqtt:pub:h/alice/z mqtt:sub:h/alice/g/x/y");
	/* a grant that does not exist */
	ck_assert_int_eq(grant_set_scope(s, gid + 100, "openid", 50), TS_NOT_FOUND);
	fixture_end(s, dir);
}
END_TEST

/* grant_token_active on claims (a JSON text): active or not, and the scope and username now. */
static void token_now(store *s, const char *claims, int want, const char *scope,
                      const char *username)
{
	json_t *j = json_loads(claims, 0, NULL);
	char *sc = NULL, *un = NULL;
	int active = -1;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(grant_token_active(s, j, &active, &sc, &un), TS_OK);
	ck_assert_int_eq(active, want);
	if (want) {
		ck_assert_str_eq(sc, scope);
		ck_assert_str_eq(un ? un : "NULL", username);
	} else {
		ck_assert_ptr_null(sc);
		ck_assert_ptr_null(un);
	}
	free(sc);
	free(un);
	json_decref(j);
}

START_TEST(test_token_active_now)
{
	char dir[32], claims[512];
	struct client dev = {.client_id = "dev", .name = "", .redirect_uris = "",
	                     .grant_types = "client_credentials",
	                     .scope = "mqtt:pub:d/${clientid}/# mqtt:sub:fw/#", .active = 1};
	struct client *c = NULL;
	struct user *u = NULL;
	int64_t uid, gid, rec;
	store *s = fixture(dir, &uid);

	client_cache_invalidate();
	ck_assert_int_eq(store_client_add(s, &dev), TS_OK);
	ck_assert_int_eq(store_client_get(s, "dev", &c), TS_OK);
	rec = c->record;
	ck_assert_int_gt(rec, 0);
	store_client_free(c);
	/* a client's own token: of its record, narrowed to what the client may have now */
	snprintf(claims, sizeof claims, "{\"jti\":\"j1\",\"client_id\":\"dev\",\"crec\":%lld,"
	         "\"scope\":\"mqtt:pub:d/dev/# mqtt:sub:fw/#\"}", (long long)rec);
	token_now(s, claims, 1, "mqtt:pub:d/dev/# mqtt:sub:fw/#", "NULL");
	token_now(s, "{\"jti\":\"j1\",\"client_id\":\"dev\",\"scope\":\"mqtt:sub:fw/#\"}", 0, NULL,
	          NULL);
	snprintf(claims, sizeof claims, "{\"jti\":\"j1\",\"client_id\":\"dev\",\"crec\":%lld,"
	         "\"scope\":\"mqtt:sub:fw/#\"}", (long long)rec - 1);
	token_now(s, claims, 0, NULL, NULL);
	ck_assert_int_eq(store_client_get(s, "dev", &c), TS_OK);
	free(c->scope);
	c->scope = strdup("mqtt:pub:d/${clientid}/status");
	ck_assert_int_eq(store_client_put(s, c, 0), TS_OK);
	store_client_free(c);
	client_cache_invalidate();
	snprintf(claims, sizeof claims, "{\"jti\":\"j1\",\"client_id\":\"dev\",\"crec\":%lld,"
	         "\"scope\":\"mqtt:pub:d/dev/# mqtt:sub:fw/#\"}", (long long)rec);
	token_now(s, claims, 1, "mqtt:pub:d/dev/status", "NULL");
	snprintf(claims, sizeof claims, "{\"jti\":\"j1\",\"client_id\":\"dev\",\"crec\":%lld,"
	         "\"scope\":\"mqtt:sub:fw/#\"}", (long long)rec);
	token_now(s, claims, 0, NULL, NULL);
	/* a user's token: narrowed to its grant now, with the user's name now */
	ck_assert_int_eq(grant_record(s, "app", uid, "openid mqtt:sub:h/alice/#", 10, &gid), TS_OK);
	snprintf(claims, sizeof claims, "{\"jti\":\"j2\",\"client_id\":\"app\",\"gid\":%lld,"
	         "\"scope\":\"openid mqtt:sub:h/alice/#\"}", (long long)gid);
	token_now(s, claims, 1, "openid mqtt:sub:h/alice/#", "alice");
	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_OK);
	free(u->username);
	u->username = strdup("alice.old");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	store_user_free(u);
	token_now(s, claims, 1, "openid", "alice.old");
	snprintf(claims, sizeof claims, "{\"jti\":\"j3\",\"client_id\":\"app\",\"gid\":%lld,"
	         "\"scope\":\"mqtt:sub:h/alice/#\"}", (long long)gid);
	token_now(s, claims, 0, NULL, NULL);
	client_cache_invalidate();
	fixture_end(s, dir);
}
END_TEST

/* A code of app's for alice (grant gid) with the challenge of verifier; its text in text. */
static void code(store *s, int64_t uid, int64_t gid, const char *verifier,
                 char text[GRANT_TOKEN_LEN])
{
	unsigned char h[32];
	char challenge[64];
	struct code c = {
		.client_id = "app", .user_id = uid, .grant_id = gid, .redirect_uri = "https://a/cb",
		.redirect_given = 1, .scope = "openid", .auth_time = 5, .created_at = 5,
		.expires_at = 65,
	};

	secret_sha256(verifier, strlen(verifier), h);
	b64url_encode(h, 32, challenge);
	c.challenge = challenge;
	ck_assert_int_eq(grant_code_issue(s, &c, text), TS_OK);
}

/* A redemption of text by client with redirect uri and verifier at 10: its why ("" when good). */
static void redeem(store *s, const char *text, const struct client *client, const char *uri,
                   const char *verifier, const char *want)
{
	struct redeem rd = {.client = client, .redirect_uri = uri, .verifier = verifier, .now = 10,
	                    .refresh_ttl = 3600, .want_refresh = 1};

	grant_token_hash(text, rd.hash);
	ck_assert_int_eq(grant_code_redeem(s, &rd), TS_OK);
	ck_assert_str_eq(rd.why ? rd.why : "", want);
	if (!rd.why)
		ck_assert_str_eq(rd.scope, "openid");
	store_code_free(rd.code);
	store_user_free(rd.user);
	free(rd.scope);
}

START_TEST(test_redeem_checks_before_the_code_is_used)
{
	const char *v = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", *w = "x123456789abcdefghij"
	                "klmnopqrstuvwxyzABCDEFGH";
	struct client other = {.client_id = "other", .scope = "openid"};
	char dir[32], text[GRANT_TOKEN_LEN];
	struct client *app = NULL;
	struct grant *g = NULL;
	int64_t uid, gid;
	store *s = fixture(dir, &uid);

	ck_assert_int_eq(store_client_get(s, "app", &app), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", uid, "openid", 5, &gid), TS_OK);
	code(s, uid, gid, v, text);
	/* another client, a wrong verifier, none, another redirect URI: refused, nothing burnt */
	redeem(s, text, &other, "https://a/cb", v, "the code was issued to another client");
	redeem(s, text, app, "https://a/cb", w, "code_verifier does not match the code_challenge");
	redeem(s, text, app, "https://a/cb", NULL, "code_verifier does not match the code_challenge");
	redeem(s, text, app, "https://a/cb/x", v, "redirect_uri differs from the authorization request");
	redeem(s, text, app, "https://a/cb", v, "");
	/* used: the others still change nothing; its own client again revokes the grant */
	redeem(s, text, &other, "https://a/cb", v, "the code was issued to another client");
	redeem(s, text, app, "https://a/cb", w, "code_verifier does not match the code_challenge");
	ck_assert_int_eq(store_grant_get(s, gid, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 0);
	store_grant_free(g);
	redeem(s, text, app, "https://a/cb", v,
	       "the code was already used; the tokens it gave are revoked");
	ck_assert_int_eq(store_grant_get(s, gid, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 10);
	store_grant_free(g);
	redeem(s, "unknown", app, "https://a/cb", v, "unknown code");
	store_client_free(app);
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
	tcase_add_test(t, test_scope_now);
	tcase_add_test(t, test_scope_narrow);
	tcase_add_test(t, test_of_client);
	tcase_add_test(t, test_refresh_yields_its_own_authorization);
	tcase_add_test(t, test_refresh_narrowing_and_nothing_left);
	tcase_add_test(t, test_refresh_of_another_client_record);
	tcase_add_test(t, test_set_scope_follows_on_every_chain);
	tcase_add_test(t, test_token_active_now);
	tcase_add_test(t, test_redeem_checks_before_the_code_is_used);
	tcase_add_test(t, test_refresh_bound_to_a_dpop_key);
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
