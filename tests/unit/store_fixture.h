/* store_fixture.h - what the store's unit suites (test_store*.c) share: a fresh directory
 * per test (mkdtemp), records to add, and a raw connection of our own that reads what is really
 * stored, as a second party would. Included by one test file per binary; functions are static
 * inline so that each file takes only what it uses. */
#ifndef TESSERA_STORE_FIXTURE_H
#define TESSERA_STORE_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"

static char dir[64];

static char db[128];

static inline void setup(void)
{
	strcpy(dir, "/tmp/tessera-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
}

static inline void teardown(void)
{
	char p[PATH_MAX + 256];
	struct dirent *d;
	DIR *dh = opendir(dir);

	if (!dh)
		return;
	while ((d = readdir(dh))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
			unlink(p);
		}
	}
	closedir(dh);
	rmdir(dir);
}

static inline store *open_db(void)
{
	store *s = NULL;

	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
	ck_assert_ptr_nonnull(s);
	return s;
}

static inline void fill_hash(unsigned char h[32], unsigned char seed)
{
	int i;

	for (i = 0; i < 32; i++)
		h[i] = (unsigned char)(seed + i * 7);
}

static inline struct client client_of(const char *id)
{
	struct client c = {
		.client_id = (char *)id,
		.name = "Sensor gateway",
		.is_public = 0,
		.redirect_uris = "https://a.example/cb https://b.example/cb",
		.grant_types = "client_credentials refresh_token",
		.scope = "mqtt:pub:sensors/${clientid}/# mqtt:sub:cmd/${clientid}",
		.refresh_rotation = 0,
		.refresh_grace = 30,
		.refresh_idle_ttl = 86400,
		.grant_lifetime = 2592000,
		.active = 1,
		.created_at = 1700000000,
		.updated_at = 1700000001,
	};

	fill_hash(c.secret_hash, 1);
	return c;
}

static inline struct user user_of(const char *name)
{
	struct user u = {
		.username = (char *)name,
		.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		.email = "alice@example.org",
		.name = "Alice Liddell",
		.scope = "mqtt:pubsub:home/${username}/#",
		.active = 1,
		.created_at = 1700000100,
		.updated_at = 1700000200,
	};

	return u;
}

struct seen {
	int n;
	int stop_at;               /* return non-zero on this call (1-based), 0: never */
	char names[8][64];
	store *s;
};

static inline struct key_row key_of(const char *kid, int64_t created)
{
	struct key_row k = {
		.kid = (char *)kid,
		.alg = "ES256",
		.pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
			"-----END PRIVATE KEY-----\n",
		.created_at = created,
	};

	return k;
}

/* One value of SQL (an integer) read through a raw connection of our own, as a second party. */
static inline int64_t sql_int(const char *sql)
{
	sqlite3 *raw;
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(raw, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
			sqlite3_errmsg(raw));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	return v;
}

/* A client "app", a user "alice" and her active grant for it. */
struct fixture {
	int64_t user_id, grant_id;
};

static inline struct fixture add_fixture(store *s)
{
	struct client c = client_of("app");
	struct user u = user_of("alice");
	struct grant g = {.client_id = "app", .scope = "openid mqtt:sub:a/#", .created_at = 100};
	struct fixture f;

	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	g.user_id = u.id;
	ck_assert_int_eq(store_grant_add(s, &g), TS_OK);
	f.user_id = u.id;
	f.grant_id = g.id;
	return f;
}

static inline struct code code_of(unsigned char seed, struct fixture f)
{
	struct code c = {
		.client_id = "app",
		.user_id = f.user_id,
		.grant_id = f.grant_id,
		.redirect_uri = "https://a.example/cb",
		.redirect_given = 1,
		.challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.scope = "openid mqtt:sub:a/#",
		.nonce = "n-0S6_WzA2Mj",
		.auth_time = 990,
		.created_at = 1000,
		.expires_at = 1060,
	};

	fill_hash(c.hash, seed);
	return c;
}

struct grants_seen {
	int n;
	int stop_at;               /* return non-zero on this call (1-based), 0: never */
	int64_t id[16];
	store *s;                  /* set: fn revokes each grant and lists again (re-entry) */
	int inner;
};

static inline int grant_cb(const struct grant *g, void *arg)
{
	struct grants_seen *x = arg;

	if (x->n < 16)
		x->id[x->n] = g->id;
	x->n++;
	return x->stop_at && x->n == x->stop_at;
}

/* Lists grants as fn sees them: their ids, in order, into x (cleared first). */
static inline ts_err list_grants(store *s, const char *user, const char *client, struct grants_seen *x)
{
	memset(x, 0, sizeof(*x));
	return store_grant_each(s, user, client, grant_cb, x);
}

#endif
