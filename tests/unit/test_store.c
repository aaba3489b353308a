/* test_store.c - the SQLite store: round trips, conflicts, keys, revocations, migrations, locking.
 *
 * Each test gets a fresh directory from mkdtemp. A few tests open the database file with SQLite
 * directly, as a second party would: to hold a lock, and to see what is really stored. */
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
#include <sqlite3.h>

#include "store.h"
#include "schema.h" /* the embedded migrations: to build a version-1 database by hand */

static char dir[64];
static char db[128];

static void setup(void)
{
	strcpy(dir, "/tmp/tessera-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
}

static void teardown(void)
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

static store *open_db(void)
{
	store *s = NULL;

	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
	ck_assert_ptr_nonnull(s);
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_hash(unsigned char h[32], unsigned char seed)
{
	int i;

	for (i = 0; i < 32; i++)
		h[i] = (unsigned char)(seed + i * 7);
}

static struct client client_of(const char *id)
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

static struct user user_of(const char *name)
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

/* --- opening, migrations, file mode --- */

START_TEST(open_creates_file_0600)
{
	struct stat st;
	char wal[PATH_MAX + 8];
	store *s = open_db();

	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	ck_assert_int_eq(stat(wal, &st), 0); /* WAL mode */
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	store_close(s);
}
END_TEST

START_TEST(open_0600_whatever_the_umask)
{
	struct stat st;
	store *s;

	umask(0);
	s = open_db();
	ck_assert_int_eq(stat(db, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	store_close(s);
}
END_TEST

START_TEST(migrations_idempotent)
{
	store *s = open_db();
	store *s2;

	ck_assert_int_ge(store_schema_latest(), 1);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_client_add(s, &(struct client){.client_id = "keep", .is_public = 1,
			.active = 1}), TS_OK);
	store_close(s);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	s2 = open_db(); /* a second connection at the same time */
	ck_assert_int_eq(store_schema_version(s2), store_schema_latest());
	store_close(s2);
	store_close(s);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	{
		struct client *c = NULL;

		ck_assert_int_eq(store_client_get(s, "keep", &c), TS_OK); /* data survived */
		store_client_free(c);
	}
	store_close(s);
}
END_TEST

/* Several processes opening (creating, migrating) one new database at the same moment all
 * succeed; repeated on fresh files since a race shows only some of the time. */
START_TEST(concurrent_first_open)
{
	enum { ROUNDS = 30, N = 6 };
	char path[160];
	pid_t pid[N];
	int r, i, status;
	store *s;

	for (r = 0; r < ROUNDS; r++) {
		snprintf(path, sizeof(path), "%s/c%d.db", dir, r);
		for (i = 0; i < N; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				store *c = NULL;
				ts_err e = store_open(path, 10000, 1, &c);

				if (e == TS_OK)
					e = store_revoke_jti(c, "jti-from-child", 2000000000);
				if (e == TS_OK && store_schema_version(c) != store_schema_latest())
					e = TS_ERR_COUNT;
				store_close(c);
				_exit(e == TS_OK ? 0 : 10 + (int)e);
			}
		}
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					"round %d child %d: status %d", r, i, status);
		}
		ck_assert_int_eq(store_open(path, 1000, 1, &s), TS_OK);
		ck_assert_int_eq(store_schema_version(s), store_schema_latest());
		store_close(s);
	}
}
END_TEST

START_TEST(newer_schema_refused)
{
	sqlite3 *raw;
	store *s = open_db();

	store_close(s);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	s = (store *)1;
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(open_bad_arguments)
{
	store *s = (store *)1;

	ck_assert_int_eq(store_open(db, 1000, 3, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(store_open("/nonexistent-dir/x/t.db", 1000, 1, &s), TS_SERVER_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(store_open(NULL, 1000, 1, &s), TS_SERVER_ERROR);
}
END_TEST

START_TEST(memory_database)
{
	store *s = NULL;
	struct client *c = NULL;

	ck_assert_int_eq(store_open(":memory:", 100, 0, &s), TS_OK);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_client_add(s, &(struct client){.client_id = "m", .is_public = 1}), TS_OK);
	ck_assert_int_eq(store_client_get(s, "m", &c), TS_OK);
	store_client_free(c);
	store_close(s);
}
END_TEST

START_TEST(free_null_is_fine)
{
	store_close(NULL);
	store_client_free(NULL);
	store_user_free(NULL);
	store_key_free(NULL);
	store_grant_free(NULL);
	store_code_free(NULL);
	store_rollback(NULL);
	ck_assert_int_eq(store_schema_version(NULL), -1);
}
END_TEST

/* --- clients --- */

START_TEST(client_round_trip)
{
	struct client in = client_of("gw-1"), pub = {0}, *c = NULL;
	unsigned char zero[32] = {0};
	store *s = open_db();

	ck_assert_int_eq(store_client_get(s, "gw-1", &c), TS_NOT_FOUND);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	ck_assert_int_eq(store_client_get(s, "gw-1", &c), TS_OK);
	ck_assert_str_eq(c->client_id, "gw-1");
	ck_assert_str_eq(c->name, in.name);
	ck_assert_int_eq(c->is_public, 0);
	ck_assert_mem_eq(c->secret_hash, in.secret_hash, 32);
	ck_assert_str_eq(c->redirect_uris, in.redirect_uris);
	ck_assert_str_eq(c->grant_types, in.grant_types);
	ck_assert_str_eq(c->scope, in.scope);
	ck_assert_int_eq(c->refresh_rotation, 0);
	ck_assert_int_eq(c->refresh_grace, 30);
	ck_assert_int_eq(c->refresh_idle_ttl, 86400);
	ck_assert_int_eq(c->grant_lifetime, 2592000);
	ck_assert_int_eq(c->active, 1);
	ck_assert_int_eq(c->created_at, 1700000000);
	ck_assert_int_eq(c->updated_at, 1700000001);
	store_client_free(c);

	/* public client, strings left NULL: read back as "" and a zero hash */
	pub.client_id = "app";
	pub.is_public = 1;
	pub.refresh_rotation = 1;
	pub.active = 1;
	fill_hash(pub.secret_hash, 9); /* ignored for a public client */
	ck_assert_int_eq(store_client_add(s, &pub), TS_OK);
	ck_assert_int_eq(store_client_get(s, "app", &c), TS_OK);
	ck_assert_int_eq(c->is_public, 1);
	ck_assert_mem_eq(c->secret_hash, zero, 32);
	ck_assert_str_eq(c->name, "");
	ck_assert_str_eq(c->redirect_uris, "");
	ck_assert_str_eq(c->grant_types, "");
	ck_assert_str_eq(c->scope, "");
	ck_assert_int_eq(c->refresh_rotation, 1);
	ck_assert_int_eq(c->refresh_idle_ttl, 0);  /* 0: the global setting */
	ck_assert_int_eq(c->grant_lifetime, 0);
	store_client_free(c);

	/* ids are exact: no case folding, no pattern matching */
	ck_assert_int_eq(store_client_get(s, "GW-1", &c), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_get(s, "gw-%", &c), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

START_TEST(client_conflict)
{
	struct client in = client_of("dup"), other = client_of("dup"), *c = NULL;
	store *s = open_db();

	ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	other.name = "someone else";
	ck_assert_int_eq(store_client_add(s, &other), TS_CONFLICT);
	ck_assert_int_eq(store_client_get(s, "dup", &c), TS_OK);
	ck_assert_str_eq(c->name, "Sensor gateway"); /* the first one is untouched */
	store_client_free(c);
	/* the statement is usable again after a failure */
	other.client_id = "dup2";
	ck_assert_int_eq(store_client_add(s, &other), TS_OK);
	store_close(s);
}
END_TEST

START_TEST(client_set_active_and_remove)
{
	struct client in = client_of("c1"), *c = NULL;
	store *s = open_db();

	ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	ck_assert_int_eq(store_client_set_active(s, "c1", 0, 1800000000), TS_OK);
	ck_assert_int_eq(store_client_get(s, "c1", &c), TS_OK);
	ck_assert_int_eq(c->active, 0);
	ck_assert_int_eq(c->updated_at, 1800000000);
	ck_assert_int_eq(c->created_at, 1700000000);
	store_client_free(c);
	ck_assert_int_eq(store_client_set_active(s, "c1", 1, 1800000005), TS_OK);
	ck_assert_int_eq(store_client_get(s, "c1", &c), TS_OK);
	ck_assert_int_eq(c->active, 1);
	store_client_free(c);
	ck_assert_int_eq(store_client_set_active(s, "nope", 0, 1), TS_NOT_FOUND);

	ck_assert_int_eq(store_client_remove(s, "nope"), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_remove(s, "c1"), TS_OK);
	ck_assert_int_eq(store_client_get(s, "c1", &c), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_remove(s, "c1"), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_add(s, &in), TS_OK); /* the id is free again */
	store_close(s);
}
END_TEST

struct seen {
	int n;
	int stop_at;               /* return non-zero on this call (1-based), 0: never */
	char names[8][64];
	store *s;
};

static int client_cb(const struct client *c, void *arg)
{
	struct seen *x = arg;

	if (x->n < 8)
		snprintf(x->names[x->n], sizeof(x->names[0]), "%s", c->client_id);
	x->n++;
	return x->stop_at && x->n == x->stop_at;
}

START_TEST(client_each_in_order)
{
	const char *ids[] = {"m", "b", "z", "a"};
	struct seen x = {0};
	size_t i;
	store *s = open_db();

	ck_assert_int_eq(store_client_each(s, client_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 0);
	for (i = 0; i < 4; i++) {
		struct client c = client_of(ids[i]);

		ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	}
	ck_assert_int_eq(store_client_each(s, client_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	ck_assert_str_eq(x.names[0], "a");
	ck_assert_str_eq(x.names[1], "b");
	ck_assert_str_eq(x.names[2], "m");
	ck_assert_str_eq(x.names[3], "z");

	/* fn stops the walk: non-zero comes back as TS_SERVER_ERROR */
	memset(&x, 0, sizeof(x));
	x.stop_at = 2;
	ck_assert_int_eq(store_client_each(s, client_cb, &x), TS_SERVER_ERROR);
	ck_assert_int_eq(x.n, 2);
	/* and the next walk starts from the beginning */
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_client_each(s, client_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	store_close(s);
}
END_TEST

static int inner_cb(const struct client *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* fn calls back into the store: a get, a nested each, an update */
static int reentrant_cb(const struct client *c, void *arg)
{
	struct seen *x = arg;
	struct client *again = NULL;
	int inner = 0;

	x->n++;
	if (store_client_get(x->s, c->client_id, &again) != TS_OK || strcmp(again->client_id,
			c->client_id) != 0) {
		store_client_free(again);
		return 1;
	}
	store_client_free(again);
	if (store_client_each(x->s, inner_cb, &inner) != TS_OK || inner != 3)
		return 1;
	if (store_client_set_active(x->s, c->client_id, 0, 42) != TS_OK)
		return 1;
	return 0;
}

START_TEST(client_each_reentrant)
{
	struct seen x = {0};
	struct client *c = NULL;
	const char *ids[] = {"one", "two", "three"};
	size_t i;
	store *s = open_db();

	for (i = 0; i < 3; i++) {
		struct client in = client_of(ids[i]);

		ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	}
	x.s = s;
	ck_assert_int_eq(store_client_each(s, reentrant_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(store_client_get(s, ids[i], &c), TS_OK);
		ck_assert_int_eq(c->active, 0);
		ck_assert_int_eq(c->updated_at, 42);
		store_client_free(c);
	}
	store_close(s);
}
END_TEST

/* --- users --- */

START_TEST(user_round_trip)
{
	struct user in = user_of("alice"), bare = {0}, *u = NULL;
	store *s = open_db();

	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	ck_assert_int_gt(in.id, 0);
	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_OK);
	ck_assert_int_eq(u->id, in.id);
	ck_assert_str_eq(u->username, "alice");
	ck_assert_str_eq(u->password_hash, in.password_hash);
	ck_assert_str_eq(u->email, in.email);
	ck_assert_str_eq(u->name, in.name);
	ck_assert_str_eq(u->scope, in.scope);
	ck_assert_int_eq(u->active, 1);
	ck_assert_int_eq(u->created_at, 1700000100);
	ck_assert_int_eq(u->updated_at, 1700000200);
	store_user_free(u);

	/* optional fields stay NULL, scope reads back as "" */
	bare.username = "bob";
	ck_assert_int_eq(store_user_add(s, &bare), TS_OK);
	ck_assert_int_gt(bare.id, in.id);
	ck_assert_int_eq(store_user_get(s, "bob", &u), TS_OK);
	ck_assert_ptr_null(u->password_hash);
	ck_assert_ptr_null(u->email);
	ck_assert_ptr_null(u->name);
	ck_assert_str_eq(u->scope, "");
	ck_assert_int_eq(u->active, 0);
	store_user_free(u);
	store_close(s);
}
END_TEST

START_TEST(user_case_insensitive)
{
	struct user in = user_of("Alice"), dup = user_of("aLICE"), *u = NULL;
	store *s = open_db();

	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	ck_assert_int_eq(store_user_add(s, &dup), TS_CONFLICT);
	ck_assert_int_eq(store_user_get(s, "ALICE", &u), TS_OK);
	ck_assert_str_eq(u->username, "Alice"); /* stored as given */
	ck_assert_int_eq(u->id, in.id);
	store_user_free(u);
	ck_assert_int_eq(store_user_set_password(s, "alice", "$argon2id$new", 1800000000), TS_OK);
	ck_assert_int_eq(store_user_get(s, "aLiCe", &u), TS_OK);
	ck_assert_str_eq(u->password_hash, "$argon2id$new");
	store_user_free(u);
	ck_assert_int_eq(store_user_remove(s, "ALICE"), TS_OK);
	ck_assert_int_eq(store_user_get(s, "Alice", &u), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

START_TEST(user_set_password_and_remove)
{
	struct user in = user_of("carol"), *u = NULL;
	int64_t first;
	store *s = open_db();

	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	first = in.id;
	ck_assert_int_eq(store_user_set_password(s, "carol", "$argon2id$v=19$other", 1800000000),
			TS_OK);
	ck_assert_int_eq(store_user_get(s, "carol", &u), TS_OK);
	ck_assert_str_eq(u->password_hash, "$argon2id$v=19$other");
	ck_assert_int_eq(u->updated_at, 1800000000);
	ck_assert_int_eq(u->created_at, 1700000100);
	store_user_free(u);
	/* NULL clears it */
	ck_assert_int_eq(store_user_set_password(s, "carol", NULL, 1800000001), TS_OK);
	ck_assert_int_eq(store_user_get(s, "carol", &u), TS_OK);
	ck_assert_ptr_null(u->password_hash);
	store_user_free(u);
	ck_assert_int_eq(store_user_set_password(s, "nobody", "x", 1), TS_NOT_FOUND);

	ck_assert_int_eq(store_user_remove(s, "nobody"), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_remove(s, "carol"), TS_OK);
	ck_assert_int_eq(store_user_remove(s, "carol"), TS_NOT_FOUND);
	/* a new user of the same name gets a new id: old tokens' subject never names them */
	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	ck_assert_int_gt(in.id, first);
	store_close(s);
}
END_TEST

static int user_cb(const struct user *u, void *arg)
{
	struct seen *x = arg;

	if (x->n < 8)
		snprintf(x->names[x->n], sizeof(x->names[0]), "%s", u->username);
	x->n++;
	return x->stop_at && x->n == x->stop_at;
}

START_TEST(user_each_in_order)
{
	const char *names[] = {"dave", "Bob", "alice", "Carol"};
	struct seen x = {0};
	size_t i;
	store *s = open_db();

	for (i = 0; i < 4; i++) {
		struct user u = user_of(names[i]);

		ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	}
	ck_assert_int_eq(store_user_each(s, user_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 4);
	ck_assert_str_eq(x.names[0], "alice");
	ck_assert_str_eq(x.names[1], "Bob");
	ck_assert_str_eq(x.names[2], "Carol");
	ck_assert_str_eq(x.names[3], "dave");
	memset(&x, 0, sizeof(x));
	x.stop_at = 1;
	ck_assert_int_eq(store_user_each(s, user_cb, &x), TS_SERVER_ERROR);
	ck_assert_int_eq(x.n, 1);
	store_close(s);
}
END_TEST

/* --- signing keys --- */

static struct key_row key_of(const char *kid, int64_t created)
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

struct keys_seen {
	int n;
	char kid[8][32];
	int64_t retired[8];
};

static int key_cb(const struct key_row *k, void *arg)
{
	struct keys_seen *x = arg;

	if (x->n < 8) {
		snprintf(x->kid[x->n], sizeof(x->kid[0]), "%s", k->kid);
		x->retired[x->n] = k->retired_at;
	}
	x->n++;
	return 0;
}

START_TEST(key_rotation)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_current(s, &k), TS_NOT_FOUND);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(store_key_add(s, &k1), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k1");
	ck_assert_str_eq(k->alg, "ES256");
	ck_assert_str_eq(k->pem, k1.pem);
	ck_assert_int_eq(k->created_at, 100);
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);

	k2.alg = "RS256";
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k2");
	ck_assert_str_eq(k->alg, "RS256");
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);

	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_str_eq(x.kid[0], "k2"); /* newest first */
	ck_assert_int_eq(x.retired[0], 0);
	ck_assert_str_eq(x.kid[1], "k1");
	ck_assert_int_eq(x.retired[1], 200); /* retired when k2 was created */
	store_close(s);
}
END_TEST

START_TEST(key_conflict_rolls_back)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), again = key_of("k1", 300);
	struct key_row *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_add(s, &k1), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK);
	ck_assert_int_eq(store_key_add(s, &again), TS_CONFLICT);
	/* k2 was not retired by the failed add */
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k2");
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	/* and the connection is usable: no transaction left open */
	again.kid = "k3";
	ck_assert_int_eq(store_key_add(s, &again), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k3");
	store_key_free(k);
	store_close(s);
}
END_TEST

START_TEST(key_prune)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), k3 = key_of("k3", 300);
	struct key_row *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_add(s, &k1), TS_OK); /* retired at 200 */
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK); /* retired at 300 */
	ck_assert_int_eq(store_key_add(s, &k3), TS_OK); /* current */
	ck_assert_int_eq(store_key_prune(s, 200), TS_OK); /* "before": 200 is kept */
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 3);
	ck_assert_int_eq(store_key_prune(s, 201), TS_OK);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_str_eq(x.kid[0], "k3");
	ck_assert_str_eq(x.kid[1], "k2");
	/* the signing key is never pruned */
	ck_assert_int_eq(store_key_prune(s, INT64_MAX), TS_OK);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k3");
	store_key_free(k);
	store_close(s);
}
END_TEST

/* --- revocations --- */

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

/* --- locking --- */

START_TEST(locked_database_unavailable)
{
	struct client c = client_of("late"), *got = NULL;
	struct key_row k = key_of("k1", 100);
	sqlite3 *raw;
	store *s = NULL;
	double t0, dt;
	int r;

	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_OK);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	t0 = now_s();
	ck_assert_int_eq(store_client_add(s, &c), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt >= 0.15 && dt < 2.0, "client_add waited %.3f s", dt);

	t0 = now_s();
	ck_assert_int_eq(store_key_add(s, &k), TS_UNAVAILABLE);
	ck_assert_int_eq(store_revoke_jti(s, "j", 10), TS_UNAVAILABLE);
	ck_assert_int_eq(store_user_set_password(s, "x", "y", 1), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt < 2.0, "three writes waited %.3f s", dt);

	/* WAL: readers are not blocked by the writer */
	ck_assert_int_eq(store_client_get(s, "late", &got), TS_NOT_FOUND);
	ck_assert_int_eq(store_is_revoked(s, "j", &r), TS_OK);

	/* once the lock is gone everything works, nothing is left half done */
	ck_assert_int_eq(sqlite3_exec(raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);
	ck_assert_int_eq(store_client_get(s, "late", &got), TS_OK);
	store_client_free(got);
	sqlite3_close(raw);
	store_close(s);
}
END_TEST

START_TEST(locked_new_database_open_unavailable)
{
	sqlite3 *raw;
	store *s = (store *)1;
	double t0, dt;

	/* a rollback-journal database held exclusively: nobody may even read it */
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "BEGIN EXCLUSIVE; "
			"CREATE TABLE other (x);", NULL, NULL, NULL), SQLITE_OK);
	t0 = now_s();
	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_ptr_null(s);
	ck_assert_msg(dt >= 0.15 && dt < 2.0, "open waited %.3f s", dt);
	sqlite3_close(raw);

	ck_assert_int_eq(store_open(db, 200, 1, &s), TS_OK);
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	store_close(s);
}
END_TEST

/* --- odd strings and what is really stored --- */

START_TEST(odd_strings_verbatim)
{
	static const char *const odd[] = {
		"x'); DROP TABLE clients; --",
		"\"quoted\" 'single' `back` \\ %_ * ? [a] ; -- /* */",
		"Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80 \xe2\x80\xae!dlrow \xef\xbb\xbf",
		"tab\tnew\nline\rcr \x01\x1f\x7f",
		"a_b",
	};
	struct client *c = NULL;
	struct user *u = NULL;
	struct key_row *k = NULL;
	char name[32];
	size_t i;
	int r;
	store *s = open_db();

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct client in = client_of(odd[i]);
		struct user ui = user_of(odd[i]);
		struct key_row ki = key_of(odd[i], 100 + (int64_t)i);

		in.name = in.redirect_uris = in.grant_types = in.scope = (char *)odd[i];
		ck_assert_int_eq(store_client_add(s, &in), TS_OK);
		ck_assert_int_eq(store_client_get(s, odd[i], &c), TS_OK);
		ck_assert_str_eq(c->client_id, odd[i]);
		ck_assert_str_eq(c->name, odd[i]);
		ck_assert_str_eq(c->redirect_uris, odd[i]);
		ck_assert_str_eq(c->grant_types, odd[i]);
		ck_assert_str_eq(c->scope, odd[i]);
		store_client_free(c);

		ui.password_hash = ui.email = ui.name = ui.scope = (char *)odd[i];
		ck_assert_int_eq(store_user_add(s, &ui), TS_OK);
		ck_assert_int_eq(store_user_get(s, odd[i], &u), TS_OK);
		ck_assert_str_eq(u->username, odd[i]);
		ck_assert_str_eq(u->password_hash, odd[i]);
		ck_assert_str_eq(u->email, odd[i]);
		ck_assert_str_eq(u->name, odd[i]);
		ck_assert_str_eq(u->scope, odd[i]);
		store_user_free(u);

		ki.alg = ki.pem = (char *)odd[i];
		ck_assert_int_eq(store_key_add(s, &ki), TS_OK);
		ck_assert_int_eq(store_key_current(s, &k), TS_OK);
		ck_assert_str_eq(k->kid, odd[i]);
		ck_assert_str_eq(k->alg, odd[i]);
		ck_assert_str_eq(k->pem, odd[i]);
		store_key_free(k);

		ck_assert_int_eq(store_revoke_jti(s, odd[i], 100), TS_OK);
		ck_assert_int_eq(store_is_revoked(s, odd[i], &r), TS_OK);
		ck_assert_int_eq(r, 1);
	}
	/* nothing was interpreted as SQL or as a pattern */
	ck_assert_int_eq(store_client_get(s, "axb", &c), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_get(s, "axb", &u), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_get(s, "A_B", &u), TS_OK); /* but ASCII case still folds */
	store_user_free(u);
	ck_assert_int_eq(store_is_revoked(s, "a%", &r), TS_OK);
	ck_assert_int_eq(r, 0);
	/* every table is still there */
	for (i = 0; i < 3; i++) {
		struct client in = client_of(name);

		snprintf(name, sizeof(name), "plain-%zu", i);
		ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	}
	store_close(s);
}
END_TEST

START_TEST(secret_hash_is_what_is_stored)
{
	struct client conf = client_of("conf"), pub = client_of("pub");
	sqlite3 *raw;
	sqlite3_stmt *st;
	store *s = open_db();

	fill_hash(conf.secret_hash, 0xa0);
	pub.is_public = 1;
	fill_hash(pub.secret_hash, 0x55);
	ck_assert_int_eq(store_client_add(s, &conf), TS_OK);
	ck_assert_int_eq(store_client_add(s, &pub), TS_OK);
	store_close(s);

	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT typeof(secret_hash), length(secret_hash), "
			"secret_hash FROM clients WHERE client_id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, "conf", -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "blob");
	ck_assert_int_eq(sqlite3_column_int(st, 1), 32);
	ck_assert_int_eq(sqlite3_column_bytes(st, 2), 32);
	ck_assert_mem_eq(sqlite3_column_blob(st, 2), conf.secret_hash, 32);
	sqlite3_reset(st);
	/* a public client stores no hash at all, whatever the struct held */
	sqlite3_bind_text(st, 1, "pub", -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "null");
	sqlite3_finalize(st);

	/* the hash is in no other column */
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT count(*) FROM clients WHERE "
			"instr(client_id || name || redirect_uris || grant_types || scope, ?1) > 0",
			-1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, conf.secret_hash, 32, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
}
END_TEST

START_TEST(schema_shape)
{
	static const char *const checks[] = {
		"SELECT count(*) = 5 FROM sqlite_schema WHERE type = 'table' AND name IN "
			"('clients', 'users', 'signing_keys', 'revocations', 'grants')",
		"SELECT count(*) = 1 FROM pragma_index_list('revocations') WHERE name = 'revocations_exp'",
		"SELECT count(*) = 2 FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'grants' "
			"AND name IN ('grants_client', 'grants_user')",
		"SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_schema WHERE name = 'revocations'",
		"SELECT count(*) = 2 FROM pragma_foreign_key_list('grants') WHERE on_delete = 'CASCADE'",
		/* 002 */
		"SELECT count(*) = 4 FROM sqlite_schema WHERE type = 'table' AND name IN "
			"('codes', 'sessions', 'consents', 'refresh_tokens') "
			"AND sql LIKE '%STRICT, WITHOUT ROWID'",
		"SELECT count(*) = 1 FROM pragma_index_list('grants') WHERE name = 'grants_active' "
			"AND \"unique\" = 1 AND partial = 1",
		"SELECT count(*) = 1 FROM pragma_index_list('sessions') WHERE name = 'sessions_expires'",
		"SELECT count(*) = 1 FROM pragma_index_list('refresh_tokens') "
			"WHERE name = 'refresh_tokens_grant'",
		"SELECT count(*) = 3 FROM pragma_foreign_key_list('codes') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 1 FROM pragma_foreign_key_list('sessions') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 2 FROM pragma_foreign_key_list('consents') WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 1 FROM pragma_foreign_key_list('refresh_tokens') "
			"WHERE on_delete = 'CASCADE' AND \"table\" = 'grants'",
		"SELECT count(*) = 3 FROM pragma_index_xinfo('consents') WHERE key = 1 AND name IN "
			"('user_id', 'client_id', 'scope_token')",
		/* 003 */
		"SELECT count(*) = 2 FROM pragma_table_info('clients') WHERE name IN "
			"('refresh_idle_ttl', 'grant_lifetime') AND type = 'INTEGER' AND \"notnull\" = 1 "
			"AND dflt_value = '0'",
		"SELECT count(*) = 1 FROM pragma_table_info('refresh_tokens') WHERE name = 'grace_used' "
			"AND type = 'INTEGER' AND \"notnull\" = 1 AND dflt_value = '0'",
		"SELECT count(*) = 1 FROM sqlite_schema WHERE type = 'table' AND name = 'secrets' "
			"AND sql LIKE '%STRICT, WITHOUT ROWID'",
		"SELECT count(*) = 1 FROM pragma_index_xinfo('sqlite_autoindex_secrets_1') "
			"WHERE key = 1 AND name = 'name'",
	};
	sqlite3 *raw;
	sqlite3_stmt *st;
	size_t i;
	store *s = open_db();

	store_close(s);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		ck_assert_int_eq(sqlite3_prepare_v2(raw, checks[i], -1, &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_msg(sqlite3_column_int(st, 0) == 1, "failed: %s", checks[i]);
		sqlite3_finalize(st);
	}
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(raw);
}
END_TEST

/* Grants are not in the store's API yet; they are written directly here to prove that the store's
 * connection enforces foreign keys: removing a client or user removes its grants. */
START_TEST(foreign_keys_cascade)
{
	struct client c = client_of("c");
	struct user u = user_of("u");
	sqlite3 *raw;
	sqlite3_stmt *st;
	char sql[256];
	store *s = open_db();

	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO grants (client_id, user_id, scope, created_at, "
			"updated_at) VALUES ('c', %lld, 'openid', 1, 1), ('c', NULL, '', 1, 1)",
			(long long)u.id);
	ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);

	ck_assert_int_eq(store_user_remove(s, "u"), TS_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT count(*) FROM grants", -1, &st, NULL),
			SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 1); /* the client-only grant */
	sqlite3_reset(st);
	ck_assert_int_eq(store_client_remove(s, "c"), TS_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	store_close(s);
}
END_TEST

/* --- authorization: grants, codes, sessions, consents, refresh tokens --- */

/* One value of SQL (an integer) read through a raw connection of our own, as a second party. */
static int64_t sql_int(const char *sql)
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

static struct fixture add_fixture(store *s)
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

static struct code code_of(unsigned char seed, struct fixture f)
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

START_TEST(user_get_by_id)
{
	struct user in = user_of("dora"), *u = NULL;
	store *s = open_db();

	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	ck_assert_int_eq(store_user_get_id(s, in.id, &u), TS_OK);
	ck_assert_int_eq(u->id, in.id);
	ck_assert_str_eq(u->username, "dora");
	ck_assert_str_eq(u->email, in.email);
	ck_assert_str_eq(u->scope, in.scope);
	store_user_free(u);
	u = (struct user *)1;
	ck_assert_int_eq(store_user_get_id(s, in.id + 1, &u), TS_NOT_FOUND);
	ck_assert_ptr_null(u);
	ck_assert_int_eq(store_user_get_id(s, 0, &u), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_remove(s, "dora"), TS_OK);
	ck_assert_int_eq(store_user_get_id(s, in.id, &u), TS_NOT_FOUND);
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

/* Writes between store_begin and store_rollback leave nothing; between begin and commit they land
 * together; a function that fails inside undoes only its own part. */
START_TEST(transactions)
{
	struct fixture f;
	struct code c, *got = NULL;
	struct refresh r = {.created_at = 1, .expires_at = 100};
	struct key_row k = key_of("k-tx", 100), *kr = NULL;
	char *scope = NULL;
	store *s = open_db();

	store_rollback(s); /* none open: fine */
	ck_assert_int_eq(store_commit(s), TS_SERVER_ERROR); /* none open */
	f = add_fixture(s);
	c = code_of(1, f);
	fill_hash(r.hash, 50);
	r.grant_id = f.grant_id;

	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_SERVER_ERROR); /* no nesting */
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);   /* opens a transaction of its own */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid email", 1), TS_OK);
	/* visible inside */
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_OK);
	store_code_free(got);
	store_rollback(s);
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 0);
	ck_assert_int_eq(store_key_current(s, &kr), TS_NOT_FOUND);
	ck_assert_int_eq(store_consent_get(s, f.user_id, "app", &scope), TS_OK);
	ck_assert_str_eq(scope, "");
	free(scope);
	store_rollback(s); /* twice: fine */

	/* commit: all of it lands; a failing call inside does not spoil the rest */
	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_consent_add(s, f.user_id, "ghost", "a b", 1), TS_NOT_FOUND);
	ck_assert_int_eq(store_key_add(s, &k), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k), TS_CONFLICT); /* its savepoint is undone */
	ck_assert_int_eq(store_refresh_add(s, &r), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 0); /* not yet, outside */
	ck_assert_int_eq(store_commit(s), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 0);
	ck_assert_int_eq(store_key_current(s, &kr), TS_OK);
	ck_assert_str_eq(kr->kid, "k-tx");
	ck_assert_int_eq(kr->retired_at, 0);
	store_key_free(kr);
	ck_assert_int_eq(store_code_take(s, c.hash, 1001, &got), TS_OK);
	store_code_free(got);
	/* and without store_begin every call still commits on its own */
	ck_assert_int_eq(store_consent_add(s, f.user_id, "app", "openid", 1), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM consents"), 1);
	store_close(s);
}
END_TEST

/* Readers that never all stop at once: each of two threads holds a read transaction for 2 ms,
 * ends it and starts the next at once, on its own connection, so that at every moment some read
 * that began a while ago is still open (sixteen busy workers, in the daemon). */
struct reading {
	volatile int stop;
	long reads;
};

static void *keep_reading(void *arg)
{
	struct reading *rd = arg;
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c, "SELECT count(*) FROM clients", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(c);
		return NULL;
	}
	while (!rd->stop) {
		sqlite3_exec(c, "BEGIN", NULL, NULL, NULL);
		sqlite3_step(st);
		sqlite3_reset(st);
		usleep(2000);
		sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
		__atomic_add_fetch(&rd->reads, 1, __ATOMIC_RELAXED);
	}
	sqlite3_finalize(st);
	sqlite3_close(c);
	return NULL;
}

/* The writer's WAL starts again from its beginning every checkpoint_pages frames even though
 * reads never stop (RESTART checkpoints): with SQLite's own PASSIVE one the WAL grew by the whole
 * of every write, since the moment with no read open never came. */
START_TEST(writer_wal_stays_bounded_under_constant_reads)
{
	struct reading rd = {0, 0};
	pthread_t th[2];
	char wal[160], jti[64];
	struct stat st;
	store *s = NULL;
	int i, j;

	ck_assert_int_eq(store_open(db, 1000, 0, &s), TS_OK);
	store_tune_writer(s, 200);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, keep_reading, &rd), 0);
	while (__atomic_load_n(&rd.reads, __ATOMIC_RELAXED) < 4)
		usleep(1000);
	for (i = 0; i < 150; i++) {
		ck_assert_int_eq(store_begin(s), TS_OK);
		for (j = 0; j < 400; j++) {
			snprintf(jti, sizeof jti, "jti-%06d-%06d-padding-to-make-the-rows-wider", i, j);
			ck_assert_int_eq(store_revoke_jti(s, jti, 2000000000), TS_OK);
		}
		ck_assert_int_eq(store_commit(s), TS_OK);
	}
	rd.stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	snprintf(wal, sizeof wal, "%s-wal", db);
	ck_assert_int_eq(stat(wal, &st), 0);
	/* 60,000 rows of ~100 bytes and their index: 3,600 frames written (a 15 MB WAL with SQLite's
	 * own checkpoints); here the WAL holds one checkpoint's worth (200 frames) and the
	 * transaction that went past it, twice that when a busy machine made a checkpoint's wait
	 * for the readers run out */
	ck_assert_msg(st.st_size < 1200 * 4120, "WAL of %lld bytes after %ld reads",
	              (long long)st.st_size, rd.reads);
	store_close(s);
}
END_TEST

/* store_begin takes the write lock: another connection's writes wait, then give up. */
START_TEST(begin_holds_write_lock)
{
	struct fixture f;
	struct code c;
	store *s = open_db(), *s2 = NULL;
	double t0, dt;

	f = add_fixture(s);
	c = code_of(1, f);
	ck_assert_int_eq(store_open(db, 200, 1, &s2), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_OK);
	t0 = now_s();
	ck_assert_int_eq(store_code_add(s2, &c), TS_UNAVAILABLE);
	ck_assert_int_eq(store_begin(s2), TS_UNAVAILABLE);
	dt = now_s() - t0;
	ck_assert_msg(dt >= 0.3 && dt < 3.0, "waited %.3f s", dt);
	ck_assert_int_eq(store_code_add(s, &c), TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	c = code_of(2, f);
	ck_assert_int_eq(store_code_add(s2, &c), TS_OK);
	store_close(s2);
	store_close(s);
}
END_TEST

/* A database written by a build that knew only 001 is upgraded in place, keeping its rows. */
START_TEST(migrate_from_version_1)
{
	sqlite3 *raw;
	store *s = NULL;
	struct client *c = NULL;
	struct user *u = NULL;
	struct grant *g = NULL;
	struct code code;
	struct fixture f;
	int r;

	ck_assert_int_ge(schema_sql_count, 2);
	ck_assert_int_eq(schema_sql_count, store_schema_latest());
	ck_assert_str_eq(schema_sql_names[0], "001_init.sql");
	ck_assert_str_eq(schema_sql_names[1], "002_authz.sql");
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[0], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 1;"
			"INSERT INTO clients (client_id, is_public, scope, created_at, updated_at) "
			"VALUES ('old-app', 1, 'openid', 1, 2);"
			"INSERT INTO users (username, scope, created_at, updated_at) "
			"VALUES ('olduser', 'mqtt:sub:#', 3, 4);"
			/* two active grants of one user for one client: only possible before 002 */
			"INSERT INTO grants (client_id, user_id, scope, created_at, updated_at) VALUES "
			"('old-app', 1, 'a', 10, 11), ('old-app', 1, 'b', 20, 21), "
			"('old-app', NULL, 'c', 30, 31), ('old-app', NULL, 'd', 40, 41);"
			"INSERT INTO revocations (jti, exp) VALUES ('old-jti', 2000000000);",
			NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("PRAGMA user_version"), 1);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("PRAGMA user_version"), store_schema_latest());
	ck_assert_int_eq(store_client_get(s, "old-app", &c), TS_OK);
	ck_assert_str_eq(c->scope, "openid");
	ck_assert_int_eq(c->updated_at, 2);
	store_client_free(c);
	ck_assert_int_eq(store_user_get_id(s, 1, &u), TS_OK);
	ck_assert_str_eq(u->username, "olduser");
	store_user_free(u);
	ck_assert_int_eq(store_is_revoked(s, "old-jti", &r), TS_OK);
	ck_assert_int_eq(r, 1);
	/* the newest of the duplicates stays active, the older one is revoked */
	ck_assert_int_eq(store_grant_find(s, 1, "old-app", &g), TS_OK);
	ck_assert_int_eq(g->id, 2);
	ck_assert_str_eq(g->scope, "b");
	store_grant_free(g);
	ck_assert_int_eq(store_grant_get(s, 1, &g), TS_OK);
	ck_assert_int_eq(g->revoked_at, 11);
	store_grant_free(g);
	/* client-only grants untouched */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants WHERE user_id IS NULL AND "
			"revoked_at IS NULL"), 2);
	/* the new tables work */
	f.user_id = 1;
	f.grant_id = 2;
	code = code_of(9, f);
	code.client_id = "old-app";
	ck_assert_int_eq(store_code_add(s, &code), TS_OK);
	ck_assert_int_eq(store_consent_add(s, 1, "old-app", "openid", 5), TS_OK);
	store_close(s);

	/* opening again changes nothing */
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM grants"), 4);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM codes"), 1);
	store_close(s);
}
END_TEST

/* --- refresh tokens, grant listing, server secrets (schema 003) --- */

static int ttl_cb(const struct client *c, void *arg)
{
	struct seen *x = arg;

	if (x->n < 8)
		snprintf(x->names[x->n], sizeof(x->names[0]), "%s %d %d", c->client_id,
				c->refresh_idle_ttl, c->grant_lifetime);
	x->n++;
	return 0;
}

/* The two client settings of 003 are written by add and read by get and each, per client. */
START_TEST(client_refresh_settings)
{
	struct client a = client_of("a"), b = client_of("b"), bad = client_of("bad"), *c = NULL;
	struct seen x = {0};
	store *s = open_db();

	a.refresh_idle_ttl = 1;
	a.grant_lifetime = INT32_MAX;
	b.refresh_idle_ttl = 3600;
	b.grant_lifetime = 0;
	ck_assert_int_eq(store_client_add(s, &a), TS_OK);
	ck_assert_int_eq(store_client_add(s, &b), TS_OK);
	ck_assert_int_eq(store_client_get(s, "a", &c), TS_OK);
	ck_assert_int_eq(c->refresh_idle_ttl, 1);
	ck_assert_int_eq(c->grant_lifetime, INT32_MAX);
	store_client_free(c);
	ck_assert_int_eq(store_client_each(s, ttl_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_str_eq(x.names[0], "a 1 2147483647");
	ck_assert_str_eq(x.names[1], "b 3600 0");
	ck_assert_int_eq(sql_int("SELECT refresh_idle_ttl * 1000 + grant_lifetime FROM clients "
			"WHERE client_id = 'b'"), 3600000);
	/* negative durations are refused by the schema */
	bad.refresh_idle_ttl = -1;
	ck_assert_int_eq(store_client_add(s, &bad), TS_SERVER_ERROR);
	bad.refresh_idle_ttl = 0;
	bad.grant_lifetime = -5;
	ck_assert_int_eq(store_client_add(s, &bad), TS_SERVER_ERROR);
	ck_assert_int_eq(store_client_get(s, "bad", &c), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

/* Every client added is a new record: the next number, never one handed out before, even for the
 * id of a client removed (tokens of the old one must not pass for the new one's). */
START_TEST(client_records)
{
	struct client a = client_of("a"), b = client_of("b"), c = client_of("c");
	struct grant g = {.client_id = "b", .scope = "openid", .created_at = 5};
	struct client *got = NULL;
	struct grant *gr = NULL;
	store *s = open_db();

	a.record = b.record = 77; /* ignored: the store numbers them */
	ck_assert_int_eq(store_client_add(s, &a), TS_OK);
	ck_assert_int_eq(store_client_add(s, &b), TS_OK);
	ck_assert_int_eq(store_client_get(s, "a", &got), TS_OK);
	ck_assert_int_eq(got->record, 1);
	store_client_free(got);
	ck_assert_int_eq(store_client_get(s, "b", &got), TS_OK);
	ck_assert_int_eq(got->record, 2);
	store_client_free(got);
	/* a failed add takes no number */
	ck_assert_int_eq(store_client_add(s, &a), TS_CONFLICT);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(store_client_get(s, "c", &got), TS_OK);
	ck_assert_int_eq(got->record, 3);
	store_client_free(got);
	/* a grant keeps the record of its client */
	ck_assert_int_eq(store_grant_add(s, &g), TS_OK);
	ck_assert_int_eq(store_grant_get(s, g.id, &gr), TS_OK);
	ck_assert_int_eq(gr->client_record, 2);
	store_grant_free(gr);
	/* removed and added again: another record (and inside a caller's transaction too) */
	ck_assert_int_eq(store_client_remove(s, "b"), TS_OK);
	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_client_add(s, &b), TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	ck_assert_int_eq(store_client_get(s, "b", &got), TS_OK);
	ck_assert_int_eq(got->record, 4);
	store_client_free(got);
	/* a SCIM PUT keeps the record */
	ck_assert_int_eq(store_client_put(s, &b, 0), TS_OK);
	ck_assert_int_eq(store_client_get(s, "b", &got), TS_OK);
	ck_assert_int_eq(got->record, 4);
	store_client_free(got);
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

struct grants_seen {
	int n;
	int stop_at;               /* return non-zero on this call (1-based), 0: never */
	int64_t id[16];
	store *s;                  /* set: fn revokes each grant and lists again (re-entry) */
	int inner;
};

static int grant_cb(const struct grant *g, void *arg)
{
	struct grants_seen *x = arg;

	if (x->n < 16)
		x->id[x->n] = g->id;
	x->n++;
	return x->stop_at && x->n == x->stop_at;
}

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

/* Lists grants as fn sees them: their ids, in order, into x (cleared first). */
static ts_err list_grants(store *s, const char *user, const char *client, struct grants_seen *x)
{
	memset(x, 0, sizeof(*x));
	return store_grant_each(s, user, client, grant_cb, x);
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

START_TEST(secret_stable)
{
	unsigned char a[32], a2[32], b[32], zero[32] = {0};
	store *s = open_db(), *s2;

	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 0);
	ck_assert_int_eq(store_secret(s, "refresh-successor", a), TS_OK);
	ck_assert_mem_ne(a, zero, 32);
	ck_assert_int_eq(store_secret(s, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	/* another name, another value */
	ck_assert_int_eq(store_secret(s, "csrf", b), TS_OK);
	ck_assert_mem_ne(a, b, 32);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets WHERE typeof(value) = 'blob' AND "
			"length(value) = 32"), 2);
	/* another connection, and after closing: the same */
	s2 = open_db();
	memset(a2, 0, sizeof(a2));
	ck_assert_int_eq(store_secret(s2, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	store_close(s2);
	store_close(s);
	s = open_db();
	memset(a2, 0, sizeof(a2));
	ck_assert_int_eq(store_secret(s, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	ck_assert_int_eq(store_secret(s, "csrf", a2), TS_OK);
	ck_assert_mem_eq(b, a2, 32);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 2);
	/* names are exact */
	ck_assert_int_eq(store_secret(s, "CSRF", a2), TS_OK);
	ck_assert_mem_ne(b, a2, 32);
	ck_assert_int_eq(store_secret(s, NULL, a2), TS_SERVER_ERROR);
	ck_assert_int_eq(store_secret(s, "", a2), TS_SERVER_ERROR); /* the schema's CHECK */
	ck_assert_int_eq(store_secret(NULL, "x", a2), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

/* Processes asking for a new secret at the same moment all get the one value stored. */
START_TEST(secret_race_processes)
{
	enum { ROUNDS = 20, N = 4 };
	unsigned char v[N][32], mine[32];
	char name[32];
	int fds[N][2], r, i, status;
	pid_t pid[N];
	store *s = open_db();

	store_close(s);
	for (r = 0; r < ROUNDS; r++) {
		snprintf(name, sizeof(name), "race-%d", r);
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(pipe(fds[i]), 0);
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				store *cs = NULL;
				unsigned char out[32];
				ts_err e = store_open(db, 10000, 1, &cs);

				close(fds[i][0]);
				if (e == TS_OK)
					e = store_secret(cs, name, out);
				store_close(cs);
				if (e == TS_OK && write(fds[i][1], out, 32) != 32)
					e = TS_ERR_COUNT;
				_exit((int)e);
			}
			close(fds[i][1]);
		}
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					"round %d child %d: status %d", r, i, status);
			ck_assert_int_eq(read(fds[i][0], v[i], 32), 32);
			close(fds[i][0]);
		}
		s = open_db();
		ck_assert_int_eq(store_secret(s, name, mine), TS_OK);
		store_close(s);
		for (i = 0; i < N; i++)
			ck_assert_msg(memcmp(v[i], mine, 32) == 0, "round %d child %d", r, i);
	}
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), ROUNDS);
}
END_TEST

/* A database written by a build that knew 001 and 002 is upgraded in place, keeping its rows;
 * the new columns read as their defaults. */
START_TEST(migrate_from_version_2)
{
	sqlite3 *raw;
	store *s = NULL;
	struct client *c = NULL;
	struct refresh out;
	struct grants_seen x;
	sqlite3_stmt *st;
	unsigned char h[32], v[32];

	ck_assert_int_ge(schema_sql_count, 3);
	ck_assert_str_eq(schema_sql_names[2], "003_refresh.sql");
	fill_hash(h, 90);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[0], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, schema_sql[1], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 2;"
			"INSERT INTO clients (client_id, is_public, scope, refresh_grace, created_at, "
			"updated_at) VALUES ('old-app', 1, 'openid', 15, 1, 2);"
			"INSERT INTO users (username, scope, created_at, updated_at) "
			"VALUES ('OldUser', 'mqtt:sub:#', 3, 4);"
			"INSERT INTO grants (client_id, user_id, scope, created_at, updated_at) "
			"VALUES ('old-app', 1, 'openid', 10, 11);", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "INSERT INTO refresh_tokens (token_hash, grant_id, "
			"created_at, expires_at, used_at) VALUES (?1, 1, 20, 30, 25)", -1, &st, NULL),
			SQLITE_OK);
	sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("PRAGMA user_version"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'secrets'"), 0);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("PRAGMA user_version"), store_schema_latest());
	ck_assert_int_eq(store_client_get(s, "old-app", &c), TS_OK);
	ck_assert_str_eq(c->scope, "openid");
	ck_assert_int_eq(c->refresh_grace, 15);
	ck_assert_int_eq(c->refresh_idle_ttl, 0);
	ck_assert_int_eq(c->grant_lifetime, 0);
	ck_assert_int_eq(c->updated_at, 2);
	store_client_free(c);
	ck_assert_int_eq(store_refresh_get(s, h, &out), TS_OK);
	ck_assert_int_eq(out.grant_id, 1);
	ck_assert_int_eq(out.expires_at, 30);
	ck_assert_int_eq(out.used_at, 25);
	ck_assert_int_eq(out.grace_used, 0);
	ck_assert_int_eq(list_grants(s, "olduser", "old-app", &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(x.id[0], 1);
	/* the new parts work */
	ck_assert_int_eq(store_refresh_grace(s, h), TS_OK);
	ck_assert_int_eq(store_refresh_use(s, h, 26, 26000), TS_CONFLICT);
	ck_assert_int_eq(store_secret(s, "refresh-successor", v), TS_OK);
	store_close(s);

	/* opening again changes nothing */
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("SELECT count(*) FROM refresh_tokens WHERE grace_used = 1"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 1);
	store_close(s);
}
END_TEST

/* --- device authorizations (schema 004) --- */

/* A pending device authorization of client "app" (add_fixture), created at 1000 and expiring at
 * 1600; the user code is "BCDFGHJK" with its last letter replaced by letter. */
static struct device device_of(unsigned char seed, char letter)
{
	struct device d = {
		.user_code = "BCDFGHJK",
		.client_id = "app",
		.scope = "openid mqtt:sub:a/#",
		.created_at = 1000,
		.expires_at = 1600,
		.interval = 5,
		/* ignored by add: a new authorization is pending, with nothing approved */
		.status = DEVICE_REDEEMED,
		.user_id = 12345,
		.grant_id = 678,
		.granted = "mqtt:pub:#",
		.auth_time = 999,
	};

	fill_hash(d.hash, seed);
	d.user_code[7] = letter;
	return d;
}

static int device_status_of(store *s, const unsigned char hash[32])
{
	struct device *d = NULL;
	int st;

	ck_assert_int_eq(store_device_get(s, hash, &d), TS_OK);
	st = d->status;
	store_device_free(d);
	return st;
}

START_TEST(device_round_trip)
{
	struct fixture f;
	struct device in, bare, *d = NULL, *d2 = NULL;
	unsigned char unknown[32];
	store *s = open_db();

	f = add_fixture(s);
	(void)f;
	in = device_of(1, 'K');
	ck_assert_int_eq(store_device_add(s, &in), TS_OK);

	ck_assert_int_eq(store_device_get(s, in.hash, &d), TS_OK);
	ck_assert_ptr_nonnull(d);
	ck_assert_mem_eq(d->hash, in.hash, 32);
	ck_assert_str_eq(d->user_code, "BCDFGHJK");
	ck_assert_str_eq(d->client_id, "app");
	ck_assert_str_eq(d->scope, "openid mqtt:sub:a/#");
	ck_assert_int_eq(d->created_at, 1000);
	ck_assert_int_eq(d->expires_at, 1600);
	ck_assert_int_eq(d->interval, 5);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	ck_assert_int_eq(d->auth_time, 0);

	/* the same row by its user code */
	ck_assert_int_eq(store_device_by_user_code(s, "BCDFGHJK", &d2), TS_OK);
	ck_assert_ptr_nonnull(d2);
	ck_assert_mem_eq(d2->hash, d->hash, 32);
	ck_assert_str_eq(d2->user_code, d->user_code);
	ck_assert_str_eq(d2->client_id, d->client_id);
	ck_assert_str_eq(d2->scope, d->scope);
	ck_assert_int_eq(d2->created_at, d->created_at);
	ck_assert_int_eq(d2->expires_at, d->expires_at);
	ck_assert_int_eq(d2->interval, d->interval);
	ck_assert_int_eq(d2->status, d->status);
	ck_assert_ptr_null(d2->granted);
	store_device_free(d2);
	store_device_free(d);

	/* unknown: TS_NOT_FOUND and *out NULL; the user code is matched exactly */
	fill_hash(unknown, 77);
	d = (struct device *)1;
	ck_assert_int_eq(store_device_get(s, unknown, &d), TS_NOT_FOUND);
	ck_assert_ptr_null(d);
	d = (struct device *)1;
	ck_assert_int_eq(store_device_by_user_code(s, "bcdfghjk", &d), TS_NOT_FOUND);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(store_device_by_user_code(s, "BCDFGHJ", &d), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_by_user_code(s, "BCDF-GHJK", &d), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_by_user_code(s, "", &d), TS_NOT_FOUND);

	/* no scope requested: NULL comes back NULL, not "" */
	bare = device_of(2, 'L');
	bare.scope = NULL;
	ck_assert_int_eq(store_device_add(s, &bare), TS_OK);
	ck_assert_int_eq(store_device_by_user_code(s, "BCDFGHJL", &d), TS_OK);
	ck_assert_ptr_null(d->scope);
	ck_assert_mem_eq(d->hash, bare.hash, 32);
	store_device_free(d);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes WHERE scope IS NULL"), 1);
	/* an empty scope stays "" */
	bare = device_of(3, 'M');
	bare.scope = "";
	ck_assert_int_eq(store_device_add(s, &bare), TS_OK);
	ck_assert_int_eq(store_device_get(s, bare.hash, &d), TS_OK);
	ck_assert_str_eq(d->scope, "");
	store_device_free(d);

	/* it must hang off an existing client; the user code must be 8 characters */
	bare = device_of(4, 'N');
	bare.client_id = "ghost";
	ck_assert_int_eq(store_device_add(s, &bare), TS_NOT_FOUND);
	bare = device_of(4, 'N');
	strcpy(bare.user_code, "BCDFGHJ");
	ck_assert_int_eq(store_device_add(s, &bare), TS_SERVER_ERROR);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 3);
	/* only the device code's hash is stored, as a 32-byte blob */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes WHERE typeof(device_hash) = "
			"'blob' AND length(device_hash) = 32"), 3);

	/* bad arguments */
	ck_assert_int_eq(store_device_add(NULL, &in), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_add(s, NULL), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_get(s, NULL, &d), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_get(s, in.hash, NULL), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_by_user_code(s, NULL, &d), TS_SERVER_ERROR);
	store_device_free(NULL);
	store_close(s);
}
END_TEST

START_TEST(device_add_conflict)
{
	struct device a, b, *d = NULL;
	store *s = open_db();

	add_fixture(s);
	a = device_of(1, 'K');
	ck_assert_int_eq(store_device_add(s, &a), TS_OK);
	/* the same user code under another device code */
	b = device_of(2, 'K');
	ck_assert_int_eq(store_device_add(s, &b), TS_CONFLICT);
	/* the same device code under another user code */
	b = device_of(1, 'L');
	ck_assert_int_eq(store_device_add(s, &b), TS_CONFLICT);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 1);
	/* taken even once expired and decided, until purged */
	ck_assert_int_eq(store_device_decide(s, a.user_code, DEVICE_DENIED, 0, 0, NULL, 0, 1001),
			TS_OK);
	b = device_of(3, 'K');
	b.created_at = 5000;
	b.expires_at = 5600;
	ck_assert_int_eq(store_device_add(s, &b), TS_CONFLICT);
	ck_assert_int_eq(store_devices_purge(s, 5000), TS_OK);
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);
	ck_assert_int_eq(store_device_by_user_code(s, "BCDFGHJK", &d), TS_OK);
	ck_assert_mem_eq(d->hash, b.hash, 32);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	store_close(s);
}
END_TEST

START_TEST(device_decide)
{
	struct fixture f;
	struct device a, b, c, *d = NULL;
	store *s = open_db();

	f = add_fixture(s);
	a = device_of(1, 'K');
	b = device_of(2, 'L');
	c = device_of(3, 'M');
	ck_assert_int_eq(store_device_add(s, &a), TS_OK);
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);
	ck_assert_int_eq(store_device_add(s, &c), TS_OK);

	/* approval: the approval's columns are set */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJK", DEVICE_APPROVED, f.user_id, f.grant_id,
			"mqtt:sub:a/#", 1010, 1020), TS_OK);
	ck_assert_int_eq(store_device_get(s, a.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_int_eq(d->user_id, f.user_id);
	ck_assert_int_eq(d->grant_id, f.grant_id);
	ck_assert_str_eq(d->granted, "mqtt:sub:a/#");
	ck_assert_int_eq(d->auth_time, 1010);
	ck_assert_str_eq(d->scope, "openid mqtt:sub:a/#"); /* the request is kept */
	ck_assert_int_eq(d->expires_at, 1600);
	store_device_free(d);

	/* decided once: approving or denying again is TS_CONFLICT and changes nothing */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJK", DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1030, 1040), TS_CONFLICT);
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJK", DEVICE_DENIED, 0, 0, NULL, 0, 1040),
			TS_CONFLICT);
	ck_assert_int_eq(store_device_get(s, a.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_str_eq(d->granted, "mqtt:sub:a/#");
	ck_assert_int_eq(d->auth_time, 1010);
	store_device_free(d);

	/* denial: status 2, and the approval's columns stay empty whatever is passed */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJL", DEVICE_DENIED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_OK);
	ck_assert_int_eq(store_device_get(s, b.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	ck_assert_int_eq(d->auth_time, 0);
	store_device_free(d);
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJL", DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_CONFLICT);
	ck_assert_int_eq(device_status_of(s, b.hash), DEVICE_DENIED);

	/* expired (expires_at <= now): TS_CONFLICT, and it stays pending */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJM", DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1600), TS_CONFLICT);
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJM", DEVICE_DENIED, 0, 0, NULL, 0, 9999),
			TS_CONFLICT);
	ck_assert_int_eq(store_device_get(s, c.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_ptr_null(d->granted);
	store_device_free(d);
	/* one second before: still in time */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJM", DEVICE_APPROVED, f.user_id, f.grant_id,
			"", 1010, 1599), TS_OK);
	ck_assert_int_eq(store_device_get(s, c.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_str_eq(d->granted, ""); /* approved with nothing: "" rather than NULL */
	store_device_free(d);

	/* unknown user code */
	ck_assert_int_eq(store_device_decide(s, "ZZZZZZZZ", DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_decide(s, "bcdfghjk", DEVICE_DENIED, 0, 0, NULL, 0, 1020),
			TS_NOT_FOUND);
	/* an approval naming a user or grant that is gone: TS_NOT_FOUND (foreign key), still pending */
	c = device_of(4, 'N');
	ck_assert_int_eq(store_device_add(s, &c), TS_OK);
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJN", DEVICE_APPROVED, f.user_id,
			f.grant_id + 100, "openid", 1010, 1020), TS_NOT_FOUND);
	ck_assert_int_eq(device_status_of(s, c.hash), DEVICE_PENDING);

	/* only approve or deny; bad arguments */
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJN", DEVICE_PENDING, 0, 0, NULL, 0, 1020),
			TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_decide(s, "BCDFGHJN", DEVICE_REDEEMED, f.user_id,
			f.grant_id, "openid", 1010, 1020), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_decide(s, NULL, DEVICE_DENIED, 0, 0, NULL, 0, 1020),
			TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_decide(NULL, "BCDFGHJN", DEVICE_DENIED, 0, 0, NULL, 0, 1020),
			TS_SERVER_ERROR);
	ck_assert_int_eq(device_status_of(s, c.hash), DEVICE_PENDING);
	store_close(s);
}
END_TEST

START_TEST(device_redeem)
{
	struct fixture f;
	struct device a, b, *d = NULL;
	unsigned char unknown[32];
	store *s = open_db();

	f = add_fixture(s);
	a = device_of(1, 'K');
	b = device_of(2, 'L');
	ck_assert_int_eq(store_device_add(s, &a), TS_OK);
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);

	/* pending: not yet */
	ck_assert_int_eq(store_device_redeem(s, a.hash), TS_CONFLICT);
	ck_assert_int_eq(device_status_of(s, a.hash), DEVICE_PENDING);

	/* approved: once, then TS_CONFLICT */
	ck_assert_int_eq(store_device_decide(s, a.user_code, DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_OK);
	ck_assert_int_eq(store_device_redeem(s, a.hash), TS_OK);
	ck_assert_int_eq(store_device_redeem(s, a.hash), TS_CONFLICT);
	ck_assert_int_eq(store_device_get(s, a.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_REDEEMED);
	/* the approval stays readable */
	ck_assert_int_eq(d->user_id, f.user_id);
	ck_assert_int_eq(d->grant_id, f.grant_id);
	ck_assert_str_eq(d->granted, "openid");
	ck_assert_int_eq(d->auth_time, 1010);
	store_device_free(d);
	/* nor can it be decided again */
	ck_assert_int_eq(store_device_decide(s, a.user_code, DEVICE_APPROVED, f.user_id,
			f.grant_id, "openid", 1010, 1030), TS_CONFLICT);
	ck_assert_int_eq(device_status_of(s, a.hash), DEVICE_REDEEMED);

	/* denied: never */
	ck_assert_int_eq(store_device_decide(s, b.user_code, DEVICE_DENIED, 0, 0, NULL, 0, 1020),
			TS_OK);
	ck_assert_int_eq(store_device_redeem(s, b.hash), TS_CONFLICT);
	ck_assert_int_eq(device_status_of(s, b.hash), DEVICE_DENIED);

	/* unknown */
	fill_hash(unknown, 77);
	ck_assert_int_eq(store_device_redeem(s, unknown), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_redeem(s, NULL), TS_SERVER_ERROR);
	ck_assert_int_eq(store_device_redeem(NULL, a.hash), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

START_TEST(devices_purge)
{
	struct fixture f;
	struct device a, b, c, *d = NULL;
	store *s = open_db();

	f = add_fixture(s);
	a = device_of(1, 'K');      /* expires 1600, stays pending */
	b = device_of(2, 'L');      /* expires 1600, approved and redeemed */
	c = device_of(3, 'M');
	c.expires_at = 2000;
	ck_assert_int_eq(store_device_add(s, &a), TS_OK);
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);
	ck_assert_int_eq(store_device_add(s, &c), TS_OK);
	ck_assert_int_eq(store_device_decide(s, b.user_code, DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_OK);
	ck_assert_int_eq(store_device_redeem(s, b.hash), TS_OK);

	ck_assert_int_eq(store_devices_purge(s, 1600), TS_OK); /* "before now": 1600 stays */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 3);
	ck_assert_int_eq(store_devices_purge(s, 1601), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 1);
	ck_assert_int_eq(store_device_get(s, a.hash, &d), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_get(s, b.hash, &d), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_by_user_code(s, b.user_code, &d), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_redeem(s, b.hash), TS_NOT_FOUND);
	ck_assert_int_eq(store_device_get(s, c.hash, &d), TS_OK);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	ck_assert_int_eq(store_devices_purge(s, 1601), TS_OK); /* nothing to do: fine */
	ck_assert_int_eq(store_devices_purge(s, 2001), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 0);
	ck_assert_int_eq(store_devices_purge(NULL, 1), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

/* Removing the client removes its authorizations; removing a user (and with her, her grant)
 * removes those she approved, and leaves the pending ones. */
START_TEST(device_cascade)
{
	struct fixture f;
	struct device a, b, *d = NULL;
	struct client other = client_of("other");
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_client_add(s, &other), TS_OK);
	a = device_of(1, 'K');
	b = device_of(2, 'L');
	ck_assert_int_eq(store_device_add(s, &a), TS_OK);
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);
	ck_assert_int_eq(store_device_decide(s, a.user_code, DEVICE_APPROVED, f.user_id, f.grant_id,
			"openid", 1010, 1020), TS_OK);
	b = device_of(3, 'M');
	b.client_id = "other";
	ck_assert_int_eq(store_device_add(s, &b), TS_OK);

	ck_assert_int_eq(store_user_remove(s, "alice"), TS_OK);
	ck_assert_int_eq(store_device_get(s, a.hash, &d), TS_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 2);

	ck_assert_int_eq(store_client_remove(s, "app"), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 1);
	ck_assert_int_eq(store_device_get(s, b.hash, &d), TS_OK);
	ck_assert_str_eq(d->client_id, "other");
	store_device_free(d);
	ck_assert_int_eq(store_client_remove(s, "other"), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes"), 0);
	store_close(s);
}
END_TEST

START_TEST(device_schema)
{
	static const char *const checks[] = {
		"SELECT count(*) = 1 FROM sqlite_schema WHERE type = 'table' AND name = 'device_codes' "
			"AND sql LIKE '%STRICT, WITHOUT ROWID'",
		"SELECT count(*) = 1 FROM pragma_index_list('device_codes') "
			"WHERE name = 'device_codes_expires'",
		"SELECT count(*) = 1 FROM pragma_index_list('device_codes') WHERE \"unique\" = 1 "
			"AND origin = 'u'",
		"SELECT count(*) = 3 FROM pragma_foreign_key_list('device_codes') "
			"WHERE on_delete = 'CASCADE'",
		"SELECT count(*) = 12 FROM pragma_table_info('device_codes')",
	};
	size_t i;
	store *s = open_db();

	store_close(s);
	ck_assert_int_ge(schema_sql_count, 4);
	ck_assert_str_eq(schema_sql_names[3], "004_device.sql");
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		ck_assert_msg(sql_int(checks[i]) == 1, "failed: %s", checks[i]);
}
END_TEST

/* A version-3 database (made by hand from the first three migrations) gains device_codes and
 * keeps its rows. */
START_TEST(migrate_from_version_3)
{
	sqlite3 *raw;
	struct device in, *d = NULL;
	struct client *c = NULL;
	store *s;
	int i;

	ck_assert_int_ge(schema_sql_count, 4);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(sqlite3_exec(raw, schema_sql[i], NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 3;"
			"INSERT INTO clients (client_id, is_public, scope, created_at, updated_at) "
			"VALUES ('app', 1, 'openid', 1, 2);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'device_codes'"),
			0);

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(sql_int("PRAGMA user_version"), store_schema_latest());
	ck_assert_int_eq(store_client_get(s, "app", &c), TS_OK);
	ck_assert_str_eq(c->scope, "openid");
	store_client_free(c);
	in = device_of(1, 'K');
	ck_assert_int_eq(store_device_add(s, &in), TS_OK);
	ck_assert_int_eq(store_device_by_user_code(s, "BCDFGHJK", &d), TS_OK);
	store_device_free(d);
	store_close(s);
}
END_TEST

enum { RACE_DEVICES = 200 };

struct device_racer {
	int approve;               /* 1: approves every code (and then redeems), 0: denies */
	int64_t user_id, grant_id;
	ts_err decided[RACE_DEVICES], redeemed[RACE_DEVICES];
	pthread_barrier_t *bar;
	int open_err;
};

static void device_race_code(int i, struct device *d)
{
	fill_hash(d->hash, 0);
	d->hash[0] = 0xde;
	d->hash[1] = (unsigned char)i;
	snprintf(d->user_code, sizeof(d->user_code), "BCDF%04d", i);
}

/* One thread, one connection: decides every code, waits for the other, then redeems each. */
static void *device_racer_run(void *arg)
{
	struct device_racer *r = arg;
	struct device d;
	store *s = NULL;
	int i;

	r->open_err = store_open(db, 10000, 1, &s);
	pthread_barrier_wait(r->bar);
	for (i = 0; i < RACE_DEVICES && !r->open_err; i++) {
		device_race_code(i, &d);
		r->decided[i] = store_device_decide(s, d.user_code,
				r->approve ? DEVICE_APPROVED : DEVICE_DENIED, r->user_id, r->grant_id,
				"openid", 1010, 1020);
	}
	pthread_barrier_wait(r->bar);
	for (i = 0; i < RACE_DEVICES && !r->open_err; i++) {
		device_race_code(i, &d);
		r->redeemed[i] = store_device_redeem(s, d.hash);
	}
	store_close(s);
	return NULL;
}

/* Two connections (threads) decide the same codes at once, one approving and one denying:
 * exactly one decision lands for each, and the row holds it; then both redeem every code at
 * once: exactly one TS_OK for each approved code, none for the denied ones. */
START_TEST(device_decide_redeem_race)
{
	struct device_racer r[2] = {{.approve = 1}, {.approve = 0}};
	pthread_barrier_t bar;
	pthread_t th[2];
	struct fixture f;
	int i, t, approved = 0;
	store *s = open_db();

	f = add_fixture(s);
	ck_assert_int_eq(store_begin(s), TS_OK);
	for (i = 0; i < RACE_DEVICES; i++) {
		struct device d = device_of(0, 'K');

		device_race_code(i, &d);
		ck_assert_int_eq(store_device_add(s, &d), TS_OK);
	}
	ck_assert_int_eq(store_commit(s), TS_OK);

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
	for (t = 0; t < 2; t++) {
		r[t].bar = &bar;
		r[t].user_id = f.user_id;
		r[t].grant_id = f.grant_id;
		ck_assert_int_eq(pthread_create(&th[t], NULL, device_racer_run, &r[t]), 0);
	}
	for (t = 0; t < 2; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&bar);
	ck_assert_int_eq(r[0].open_err, TS_OK);
	ck_assert_int_eq(r[1].open_err, TS_OK);
	for (i = 0; i < RACE_DEVICES; i++) {
		struct device d;
		int w = r[0].decided[i] == TS_OK ? 0 : 1;

		ck_assert_msg((r[0].decided[i] == TS_OK && r[1].decided[i] == TS_CONFLICT) ||
				(r[0].decided[i] == TS_CONFLICT && r[1].decided[i] == TS_OK),
				"code %d decided: %d and %d", i, r[0].decided[i], r[1].decided[i]);
		device_race_code(i, &d);
		if (w == 0) {
			approved++;
			ck_assert_msg((r[0].redeemed[i] == TS_OK && r[1].redeemed[i] == TS_CONFLICT) ||
					(r[0].redeemed[i] == TS_CONFLICT &&
					r[1].redeemed[i] == TS_OK), "code %d redeemed: %d and %d", i,
					r[0].redeemed[i], r[1].redeemed[i]);
			ck_assert_int_eq(device_status_of(s, d.hash), DEVICE_REDEEMED);
		} else {
			ck_assert_int_eq(r[0].redeemed[i], TS_CONFLICT);
			ck_assert_int_eq(r[1].redeemed[i], TS_CONFLICT);
			ck_assert_int_eq(device_status_of(s, d.hash), DEVICE_DENIED);
		}
	}
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes WHERE status = 3"), approved);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM device_codes WHERE status = 2"),
			RACE_DEVICES - approved);
	store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *open = tcase_create("open");
	TCase *rec = tcase_create("records");
	TCase *lock = tcase_create("locking");
	TCase *dev = tcase_create("device");

	tcase_add_checked_fixture(open, setup, teardown);
	tcase_set_timeout(open, 30); /* concurrent_first_open forks 180 processes */
	tcase_add_test(open, open_creates_file_0600);
	tcase_add_test(open, open_0600_whatever_the_umask);
	tcase_add_test(open, migrations_idempotent);
	tcase_add_test(open, concurrent_first_open);
	tcase_add_test(open, newer_schema_refused);
	tcase_add_test(open, open_bad_arguments);
	tcase_add_test(open, memory_database);
	tcase_add_test(open, free_null_is_fine);
	tcase_add_test(open, schema_shape);
	suite_add_tcase(s, open);

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, client_round_trip);
	tcase_add_test(rec, client_conflict);
	tcase_add_test(rec, client_set_active_and_remove);
	tcase_add_test(rec, client_each_in_order);
	tcase_add_test(rec, client_each_reentrant);
	tcase_add_test(rec, user_round_trip);
	tcase_add_test(rec, user_case_insensitive);
	tcase_add_test(rec, user_set_password_and_remove);
	tcase_add_test(rec, user_each_in_order);
	tcase_add_test(rec, key_rotation);
	tcase_add_test(rec, key_conflict_rolls_back);
	tcase_add_test(rec, key_prune);
	tcase_add_test(rec, revocation);
	tcase_add_test(rec, odd_strings_verbatim);
	tcase_add_test(rec, secret_hash_is_what_is_stored);
	tcase_add_test(rec, foreign_keys_cascade);
	tcase_add_test(rec, user_get_by_id);
	tcase_add_test(rec, grant_round_trip);
	tcase_add_test(rec, grant_one_active_per_user_and_client);
	tcase_add_test(rec, code_round_trip_and_take);
	tcase_add_test(rec, codes_purge);
	tcase_add_test(rec, session_round_trip_and_expiry);
	tcase_add_test(rec, consent_idempotent_and_ordered);
	tcase_add_test(rec, refresh_add);
	tcase_add_test(rec, authz_cascade);
	tcase_add_test(rec, transactions);
	tcase_add_test(rec, migrate_from_version_1);
	tcase_add_test(rec, client_refresh_settings);
	tcase_add_test(rec, refresh_get_use_grace_touch);
	tcase_add_test(rec, client_records);
	tcase_add_test(rec, refresh_chain_scope);
	tcase_add_test(rec, refresh_writes_in_transaction);
	tcase_add_test(rec, grant_each_filters);
	tcase_add_test(rec, grant_each_stop_and_reentry);
	tcase_add_test(rec, secret_stable);
	tcase_add_test(rec, migrate_from_version_2);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(lock, setup, teardown);
	tcase_set_timeout(lock, 30);
	tcase_add_test(lock, locked_database_unavailable);
	tcase_add_test(lock, locked_new_database_open_unavailable);
	tcase_add_test(lock, begin_holds_write_lock);
	tcase_add_test(lock, writer_wal_stays_bounded_under_constant_reads);
	tcase_add_test(lock, code_take_race);
	tcase_add_test(lock, code_take_race_processes);
	tcase_add_test(lock, refresh_use_race);
	tcase_add_test(lock, refresh_grace_race);
	tcase_add_test(lock, secret_race_processes);
	suite_add_tcase(s, lock);

	tcase_add_checked_fixture(dev, setup, teardown);
	tcase_set_timeout(dev, 30); /* device_decide_redeem_race */
	tcase_add_test(dev, device_round_trip);
	tcase_add_test(dev, device_add_conflict);
	tcase_add_test(dev, device_decide);
	tcase_add_test(dev, device_redeem);
	tcase_add_test(dev, devices_purge);
	tcase_add_test(dev, device_cascade);
	tcase_add_test(dev, device_schema);
	tcase_add_test(dev, migrate_from_version_3);
	tcase_add_test(dev, device_decide_redeem_race);
	suite_add_tcase(s, dev);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
