/* test_device_jobs.c - lib/device's writer jobs that issue, decide and redeem device
 * authorizations (RFC 8628) against a real store in a temporary directory. User codes, scopes
 * and polls are in test_device.c.
 *
 * The jobs are run the way writer.c runs them: inside a transaction, each in a savepoint of its
 * own that is rolled back when the job returns an error. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "grant.h"
#include "writer.h"

static char dir[64];
static char db[128];
static store *s;
static int64_t alice, bob;

#define T0 1700000000

static void setup(void)
{
	struct client c = {0};
	struct user u = {0};

	strcpy(dir, "/tmp/tessera-device-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
	c.name = c.redirect_uris = "";
	c.grant_types = "urn:ietf:params:oauth:grant-type:device_code refresh_token";
	c.scope = "openid mqtt:pub:home/${username}/#";
	c.is_public = 1;
	c.refresh_rotation = 1;
	c.active = 1;
	c.created_at = c.updated_at = T0;
	c.client_id = "tv";
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	c.client_id = "other";
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	u.username = "alice";
	u.scope = "mqtt:pub:home/${username}/#";
	u.active = 1;
	u.created_at = u.updated_at = T0;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	alice = u.id;
	u.username = "bob";
	u.id = 0;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	bob = u.id;
	ck_assert_int_ne(alice, bob);
}

static void teardown(void)
{
	char p[PATH_MAX + 256];
	struct dirent *d;
	DIR *dh;

	store_close(s);
	s = NULL;
	if (!(dh = opendir(dir)))
		return;
	while ((d = readdir(dh))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, d->d_name);
			unlink(p);
		}
	}
	closedir(dh);
	rmdir(dir);
}

/* Runs fn as writer.c does: in a transaction, in a savepoint undone when fn fails. */
static ts_err job(ts_err (*fn)(store *, void *), void *arg)
{
	ts_err rc;

	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_savepoint(s), TS_OK);
	rc = fn(s, arg);
	store_savepoint_end(s, rc != TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	return rc;
}

static int b64url(const char *t)
{
	for (; *t; t++)
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
		      *t == '-' || *t == '_'))
			return 0;
	return 1;
}

/* Issues an authorization for client_id; its text, hash and user code into the arguments. */
static void issue(const char *client_id, const char *scope, int64_t now, int64_t ttl,
                  char text[SECRET_TOKEN_LEN], unsigned char hash[32], char user_code[9])
{
	struct device_issue j = {0};

	j.client_id = client_id;
	j.scope = scope;
	j.now = now;
	j.ttl = ttl;
	j.interval = 5;
	ck_assert_int_eq(job(device_issue, &j), TS_OK);
	memcpy(text, j.text, SECRET_TOKEN_LEN);
	memcpy(user_code, j.user_code, 9);
	grant_token_hash(j.text, hash);
}

static ts_err decide(const char *user_code, const char *client_id, int64_t user_id,
                     const char *granted, int allow, int64_t now)
{
	struct device_decision j = {0};

	j.user_code = user_code;
	j.client_id = client_id;
	j.granted = granted;
	j.user_id = user_id;
	j.auth_time = now - 30;
	j.now = now;
	j.allow = allow;
	return job(device_decide, &j);
}

static struct device *row(const unsigned char hash[32])
{
	struct device *d = NULL;

	ck_assert_int_eq(store_device_get(s, hash, &d), TS_OK);
	ck_assert_ptr_nonnull(d);
	return d;
}

START_TEST(issue_records)
{
	struct device_issue j = {0};
	struct device *d = NULL, *d2 = NULL;
	unsigned char hash[32];
	char norm[9];

	j.client_id = "tv";
	j.scope = "openid mqtt:pub:home/bob/temp";
	j.now = T0 + 10;
	j.ttl = 600;
	j.interval = 7;
	ck_assert_int_eq(job(device_issue, &j), TS_OK);
	ck_assert_uint_eq(strlen(j.text), GRANT_TOKEN_LEN - 1);
	ck_assert(b64url(j.text));
	ck_assert_uint_eq(strlen(j.user_code), 8);
	ck_assert_int_eq(device_user_code_normalize(j.user_code, norm), 0);
	ck_assert_str_eq(norm, j.user_code);

	grant_token_hash(j.text, hash);
	ck_assert_int_eq(store_device_get(s, hash, &d), TS_OK);
	ck_assert_mem_eq(d->hash, hash, 32);
	ck_assert_str_eq(d->user_code, j.user_code);
	ck_assert_str_eq(d->client_id, "tv");
	ck_assert_ptr_nonnull(d->scope);
	ck_assert_str_eq(d->scope, "openid mqtt:pub:home/bob/temp");
	ck_assert_int_eq(d->created_at, T0 + 10);
	ck_assert_int_eq(d->expires_at, T0 + 610);
	ck_assert_int_eq(d->interval, 7);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	ck_assert_int_eq(d->auth_time, 0);

	ck_assert_int_eq(store_device_by_user_code(s, j.user_code, &d2), TS_OK);
	ck_assert_mem_eq(d2->hash, hash, 32);
	ck_assert_str_eq(d2->client_id, "tv");
	ck_assert_int_eq(d2->status, DEVICE_PENDING);
	store_device_free(d);
	store_device_free(d2);

	/* only the hash is stored: the text itself is no key */
	d = (struct device *)1;
	ck_assert_int_eq(store_device_get(s, (const unsigned char *)j.text, &d), TS_NOT_FOUND);
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(issue_no_scope_and_fresh_codes)
{
	enum { N = 50 };
	char text[N][SECRET_TOKEN_LEN], uc[N][9];
	unsigned char hash[N][32];
	struct device *d;
	int i, k;

	for (i = 0; i < N; i++)
		issue(i % 2 ? "tv" : "other", NULL, T0, 600, text[i], hash[i], uc[i]);
	for (i = 0; i < N; i++) {
		d = row(hash[i]);
		ck_assert_ptr_null(d->scope);   /* NULL stays NULL: everything allowed */
		ck_assert_str_eq(d->client_id, i % 2 ? "tv" : "other");
		ck_assert_str_eq(d->user_code, uc[i]);
		store_device_free(d);
		for (k = 0; k < i; k++) {
			ck_assert_str_ne(text[i], text[k]);
			ck_assert_str_ne(uc[i], uc[k]);
		}
	}
}
END_TEST

START_TEST(issue_unknown_client)
{
	struct device_issue j = {0};
	static const char zero[SECRET_TOKEN_LEN];

	j.client_id = "nobody";
	j.now = T0;
	j.ttl = 600;
	j.interval = 5;
	ck_assert_int_ne(job(device_issue, &j), TS_OK);
	ck_assert_mem_eq(j.text, zero, SECRET_TOKEN_LEN); /* the device code was wiped */
}
END_TEST

START_TEST(decide_allow)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid mqtt:pub:home/#", T0, 600, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid mqtt:pub:home/alice/#", 1, T0 + 60), TS_OK);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_int_eq(d->user_id, alice);
	ck_assert_int_gt(d->grant_id, 0);
	ck_assert_ptr_nonnull(d->granted);
	ck_assert_str_eq(d->granted, "openid mqtt:pub:home/alice/#");
	ck_assert_int_eq(d->auth_time, T0 + 30);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_OK);
	ck_assert_int_eq(g->id, d->grant_id);
	ck_assert_str_eq(g->scope, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(g->client_id, "tv");
	ck_assert_int_eq(g->user_id, alice);
	ck_assert_int_eq(g->revoked_at, 0);
	store_grant_free(g);
	g = NULL;

	/* a second decision, either way, is refused and changes nothing */
	ck_assert_int_eq(decide(uc, "tv", bob, "openid", 1, T0 + 70), TS_CONFLICT);
	ck_assert_int_eq(decide(uc, "tv", alice, NULL, 0, T0 + 80), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, bob, "tv", &g), TS_NOT_FOUND); /* rolled back */
	store_device_free(d);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_int_eq(d->user_id, alice);
	ck_assert_str_eq(d->granted, "openid mqtt:pub:home/alice/#");
	store_device_free(d);
}
END_TEST

/* Approving again for the same user and client widens the one grant they have. */
START_TEST(decide_widens_grant)
{
	char text[SECRET_TOKEN_LEN], uc[9], uc2[9];
	unsigned char hash[32], hash2[32];
	struct device *d, *d2;
	struct grant *g = NULL;

	issue("tv", NULL, T0, 600, text, hash, uc);
	issue("tv", NULL, T0, 600, text, hash2, uc2);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 10), TS_OK);
	ck_assert_int_eq(decide(uc2, "tv", alice, "mqtt:pub:home/alice/x", 1, T0 + 20), TS_OK);
	d = row(hash);
	d2 = row(hash2);
	ck_assert_int_eq(d->grant_id, d2->grant_id);
	ck_assert_str_eq(d2->granted, "mqtt:pub:home/alice/x");
	ck_assert_int_eq(store_grant_get(s, d->grant_id, &g), TS_OK);
	ck_assert_str_eq(g->scope, "openid mqtt:pub:home/alice/x");
	store_grant_free(g);
	store_device_free(d);
	store_device_free(d2);
}
END_TEST

START_TEST(decide_deny)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid", T0, 600, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 60), TS_OK);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	store_device_free(d);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND); /* no grant */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 61), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	store_device_free(d);
}
END_TEST

START_TEST(decide_expired_or_unknown)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid", T0, 600, text, hash, uc);
	/* at expires_at it is over: refused, and the grant it would have made is undone */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 600), TS_CONFLICT);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 601), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	/* a user code nobody was given */
	ck_assert_int_eq(decide(strcmp(uc, "BBBBBBBB") ? "BBBBBBBB" : "CCCCCCCC", "tv", alice,
	                        "openid", 1, T0 + 10), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	/* just before expiry it still works */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 599), TS_OK);
}
END_TEST

/* The client client_id as the token endpoint has it once authenticated, or one of that name
 * that the store does not know; store_client_free. */
static struct client *client_named(const char *client_id)
{
	struct client *c = NULL;

	if (store_client_get(s, client_id, &c) == TS_NOT_FOUND) {
		c = calloc(1, sizeof *c);
		ck_assert_ptr_nonnull(c);
		c->client_id = strdup(client_id);
		c->scope = strdup("openid");
	}
	ck_assert_ptr_nonnull(c);
	return c;
}

/* A redemption job on hash by client_id at now; the caller frees with redeem_free. */
static void redeem(struct device_redeem *j, const unsigned char hash[32], const char *client_id,
                   int64_t now, int want_refresh)
{
	memset(j, 0, sizeof *j);
	memcpy(j->hash, hash, 32);
	j->client = client_named(client_id);
	j->now = now;
	j->refresh_ttl = 86400;
	j->want_refresh = want_refresh;
	j->why = "untouched";
	ck_assert_int_eq(job(device_redeem, j), TS_OK);
}

static void redeem_free(struct device_redeem *j)
{
	store_device_free(j->d);
	store_user_free(j->user);
	store_client_free((struct client *)j->client);
	free(j->scope);
	j->d = NULL;
	j->user = NULL;
	j->client = NULL;
	j->scope = NULL;
}

/* A refusal: error want, a reason, no refresh token. */
static void refused_redeem(const unsigned char hash[32], const char *client_id, int64_t now,
                           ts_err want)
{
	struct device_redeem j;

	redeem(&j, hash, client_id, now, 1);
	ck_assert_int_eq(j.error, want);
	ck_assert_ptr_nonnull(j.why);
	ck_assert_str_ne(j.why, "untouched");
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
}

/* An approved authorization of alice's for "tv"; its hash and grant id. */
static int64_t approved(unsigned char hash[32], int64_t expires_in)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	struct device *d;
	int64_t gid;

	issue("tv", "openid mqtt:pub:home/#", T0, expires_in, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid mqtt:pub:home/alice/#", 1, T0 + 5), TS_OK);
	d = row(hash);
	gid = d->grant_id;
	store_device_free(d);
	return gid;
}

START_TEST(redeem_with_refresh)
{
	struct device_redeem j;
	struct refresh rt = {0};
	unsigned char hash[32], rh[32];
	struct device *d;
	int64_t gid = approved(hash, 600);

	redeem(&j, hash, "tv", T0 + 20, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_ptr_null(j.why);
	ck_assert_ptr_nonnull(j.d);
	ck_assert_ptr_nonnull(j.user);
	ck_assert_int_eq(j.user->id, alice);
	ck_assert_str_eq(j.user->username, "alice");
	ck_assert_int_eq(j.d->grant_id, gid);
	ck_assert_str_eq(j.d->granted, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(j.d->client_id, "tv");
	ck_assert_uint_eq(strlen(j.refresh), GRANT_TOKEN_LEN - 1);
	ck_assert(b64url(j.refresh));
	grant_token_hash(j.refresh, rh);
	ck_assert_int_eq(store_refresh_get(s, rh, &rt), TS_OK);
	ck_assert_int_eq(rt.grant_id, gid);
	ck_assert_int_eq(rt.created_at, T0 + 20);
	ck_assert_int_eq(rt.expires_at, T0 + 20 + 86400);
	ck_assert_int_eq(rt.used_at, 0);
	/* its chain yields at most what was approved; the access token what is allowed of it now */
	ck_assert_str_eq(rt.scope, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(j.scope, "openid mqtt:pub:home/alice/#");
	store_refresh_clear(&rt);
	redeem_free(&j);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_REDEEMED);
	store_device_free(d);

	/* once only */
	refused_redeem(hash, "tv", T0 + 25, TS_INVALID_GRANT);
	/* and still invalid_grant, not expired_token, once it has expired */
	refused_redeem(hash, "tv", T0 + 700, TS_INVALID_GRANT);
}
END_TEST

/* The user's rights narrowed between approval and redemption: the access token gets what is
 * allowed now, the refresh token's chain still keeps what was approved (narrowed at each use). */
START_TEST(redeem_narrowed_to_rights_now)
{
	struct device_redeem j;
	struct user *u = NULL;
	unsigned char hash[32];

	approved(hash, 600);
	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_OK);
	free(u->scope);
	u->scope = strdup("");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	store_user_free(u);
	redeem(&j, hash, "tv", T0 + 20, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_str_eq(j.scope, "openid");
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_without_refresh)
{
	struct device_redeem j;
	unsigned char hash[32];
	struct device *d;

	approved(hash, 600);
	redeem(&j, hash, "tv", T0 + 20, 0);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_ptr_null(j.why);
	ck_assert_ptr_nonnull(j.user);
	ck_assert_int_eq(j.user->id, alice);
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_REDEEMED);
	store_device_free(d);
	refused_redeem(hash, "tv", T0 + 21, TS_INVALID_GRANT);
}
END_TEST

START_TEST(redeem_pending_and_denied)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;

	issue("tv", NULL, T0, 600, text, hash, uc);
	refused_redeem(hash, "tv", T0 + 5, TS_AUTHORIZATION_PENDING);
	refused_redeem(hash, "other", T0 + 5, TS_INVALID_GRANT);
	refused_redeem(hash, "tv", T0 + 600, TS_EXPIRED_TOKEN);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 15, TS_ACCESS_DENIED);
	refused_redeem(hash, "tv", T0 + 16, TS_ACCESS_DENIED);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	store_device_free(d);
}
END_TEST

/* Refusals of an approved code (another client, expiry) do not use it up. */
START_TEST(redeem_other_client_then_own)
{
	struct device_redeem j;
	unsigned char hash[32];

	approved(hash, 600);
	refused_redeem(hash, "other", T0 + 20, TS_INVALID_GRANT);
	refused_redeem(hash, "nobody", T0 + 20, TS_INVALID_GRANT);
	redeem(&j, hash, "tv", T0 + 21, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_uint_eq(strlen(j.refresh), GRANT_TOKEN_LEN - 1);
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_expired)
{
	unsigned char hash[32];
	struct device *d;

	approved(hash, 60);
	refused_redeem(hash, "tv", T0 + 60, TS_EXPIRED_TOKEN);
	refused_redeem(hash, "tv", T0 + 6000, TS_EXPIRED_TOKEN);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	store_device_free(d);
}
END_TEST

START_TEST(redeem_revoked_grant)
{
	unsigned char hash[32];
	struct device *d;
	int64_t gid = approved(hash, 600);

	ck_assert_int_eq(store_grant_revoke(s, gid, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 20, TS_INVALID_GRANT);
	d = row(hash);
	ck_assert_int_ne(d->status, DEVICE_REDEEMED);
	store_device_free(d);
}
END_TEST

START_TEST(redeem_disabled_user)
{
	struct device_redeem j;
	unsigned char hash[32];

	approved(hash, 600);
	ck_assert_int_eq(store_user_set_active(s, "alice", 0, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 20, TS_INVALID_GRANT);
	/* enabled again, the code still works */
	ck_assert_int_eq(store_user_set_active(s, "alice", 1, T0 + 30), TS_OK);
	redeem(&j, hash, "tv", T0 + 40, 0);
	ck_assert_int_eq(j.error, TS_OK);
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_unknown)
{
	struct device_redeem j;
	unsigned char hash[32];

	memset(hash, 0x5a, sizeof hash);
	redeem(&j, hash, "tv", T0, 1);
	ck_assert_int_eq(j.error, TS_INVALID_GRANT);
	ck_assert_ptr_nonnull(j.why);
	ck_assert_ptr_null(j.d);
	ck_assert_ptr_null(j.user);
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
}
END_TEST

/* Writer jobs through a real writer on a second connection (the daemon's way). */
START_TEST(through_writer)
{
	writer *w = NULL;
	struct device_issue is = {0};
	struct device_decision de = {0};
	struct device_redeem rd = {0};

	ck_assert_int_eq(writer_start(db, 1000, 1, &w), TS_OK);
	is.client_id = "tv";
	is.now = T0;
	is.ttl = 600;
	is.interval = 5;
	ck_assert_int_eq(writer_run(w, device_issue, &is), TS_OK);
	de.user_code = is.user_code;
	de.client_id = "tv";
	de.granted = "openid";
	de.user_id = bob;
	de.auth_time = de.now = T0 + 1;
	de.allow = 1;
	ck_assert_int_eq(writer_run(w, device_decide, &de), TS_OK);
	ck_assert_int_eq(writer_run(w, device_decide, &de), TS_CONFLICT);
	grant_token_hash(is.text, rd.hash);
	rd.client = client_named("tv");
	rd.now = T0 + 2;
	rd.refresh_ttl = 100;
	rd.want_refresh = 1;
	ck_assert_int_eq(writer_run(w, device_redeem, &rd), TS_OK);
	ck_assert_int_eq(rd.error, TS_OK);
	ck_assert_int_eq(rd.user->id, bob);
	ck_assert_uint_eq(strlen(rd.refresh), GRANT_TOKEN_LEN - 1);
	ck_assert_str_eq(rd.scope, "openid");
	redeem_free(&rd);
	writer_stop(w);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("device_jobs");
	TCase *jobs = tcase_create("jobs");

	tcase_add_checked_fixture(jobs, setup, teardown);
	tcase_add_test(jobs, issue_records);
	tcase_add_test(jobs, issue_no_scope_and_fresh_codes);
	tcase_add_test(jobs, issue_unknown_client);
	tcase_add_test(jobs, decide_allow);
	tcase_add_test(jobs, decide_widens_grant);
	tcase_add_test(jobs, decide_deny);
	tcase_add_test(jobs, decide_expired_or_unknown);
	tcase_add_test(jobs, redeem_with_refresh);
	tcase_add_test(jobs, redeem_narrowed_to_rights_now);
	tcase_add_test(jobs, redeem_without_refresh);
	tcase_add_test(jobs, redeem_pending_and_denied);
	tcase_add_test(jobs, redeem_other_client_then_own);
	tcase_add_test(jobs, redeem_expired);
	tcase_add_test(jobs, redeem_revoked_grant);
	tcase_add_test(jobs, redeem_disabled_user);
	tcase_add_test(jobs, redeem_unknown);
	tcase_add_test(jobs, through_writer);
	tcase_set_timeout(jobs, 30);
	suite_add_tcase(su, jobs);
	return su;
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

