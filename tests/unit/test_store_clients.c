/* test_store_clients.c - clients in the store: round trips, conflicts, listing,
 * refresh settings, record numbers.
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
#include <sqlite3.h>

#include "store.h"
#include "store_fixture.h"

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


/* A client id made only of digits would be user N's sub: the schema refuses it whoever inserts
 * (docs/security.md row 78). */
START_TEST(client_id_digits_refused)
{
	static const char *const ok[] = {"1a", "a1", "0x1", "-1", "1 ", "app"};
	struct client c = client_of("1"), *got = NULL;
	store *s = open_db();
	size_t i;

	ck_assert_int_eq(store_client_add(s, &c), TS_INVALID_REQUEST);
	c.client_id = "0012345678901234567890";
	ck_assert_int_eq(store_client_add(s, &c), TS_INVALID_REQUEST);
	ck_assert_int_eq(store_client_get(s, "1", &got), TS_NOT_FOUND);
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		c.client_id = (char *)ok[i];
		ck_assert_msg(store_client_add(s, &c) == TS_OK, "%s refused", ok[i]);
	}
	store_close(s);
}
END_TEST

/* Schema 012: how a client authenticates is stored with what it registered, and only a
 * client_secret_basic client keeps a secret, whatever the writer hands the store. */
START_TEST(client_auth_methods)
{
	struct client in = client_of("dev-1"), *c = NULL;
	unsigned char zero[32] = {0};
	store *s = open_db();
	sqlite3 *raw;
	sqlite3_stmt *st;

	in.auth_method = "private_key_jwt";
	in.jwks = "{\"keys\":[{\"kty\":\"EC\"}]}";
	in.cert_bound = 1;
	in.dpop_bound = 1; /* fill_hash gave it a secret hash: a private_key_jwt client keeps none */
	ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	ck_assert_int_eq(store_client_get(s, "dev-1", &c), TS_OK);
	ck_assert_str_eq(c->auth_method, "private_key_jwt");
	ck_assert_str_eq(c->jwks, in.jwks);
	ck_assert_ptr_null(c->jwks_uri);
	ck_assert_ptr_null(c->tls_san);
	ck_assert_int_eq(c->is_public, 0);
	ck_assert_int_eq(c->cert_bound, 1);
	ck_assert_int_eq(c->dpop_bound, 1);
	ck_assert_mem_eq(c->secret_hash, zero, 32);
	store_client_free(c);

	/* turned into a secret client by a full update, and back: the secret goes with the method */
	in.auth_method = "client_secret_basic";
	in.jwks = NULL;
	ck_assert_int_eq(store_client_put(s, &in, 1), TS_OK);
	ck_assert_int_eq(store_client_get(s, "dev-1", &c), TS_OK);
	ck_assert_mem_eq(c->secret_hash, in.secret_hash, 32);
	store_client_free(c);
	in.auth_method = "tls_client_auth";
	in.tls_san = "dns:dev-1.example";
	ck_assert_int_eq(store_client_put(s, &in, 0), TS_OK);
	ck_assert_int_eq(store_client_get(s, "dev-1", &c), TS_OK);
	ck_assert_str_eq(c->auth_method, "tls_client_auth");
	ck_assert_str_eq(c->tls_san, "dns:dev-1.example");
	ck_assert_mem_eq(c->secret_hash, zero, 32);
	store_client_free(c);

	/* a second party writing a secret beside another method is refused by the schema */
	store_close(s);
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "UPDATE clients SET is_public = 0, secret_hash = "
	                 "zeroblob(32) WHERE client_id = 'dev-1'", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_CONSTRAINT);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "UPDATE clients SET auth_method = 'password' "
	                 "WHERE client_id = 'dev-1'", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_CONSTRAINT);
	sqlite3_finalize(st);
	sqlite3_close(raw);
}
END_TEST

/* Schema 018: the clients' version moves with every write to a client and with nothing else,
 * so that the daemon's client cache survives the writes of its hot paths. */
START_TEST(clients_version_moves_with_clients_only)
{
	struct client in = client_of("gw-9");
	struct user u = user_of("vera");
	store *s = open_db();
	int64_t v0, v1, v2, v3, v4, v5;

	ck_assert_int_eq(store_clients_version(s, &v0), TS_OK);
	ck_assert_int_eq(store_client_add(s, &in), TS_OK);
	ck_assert_int_eq(store_clients_version(s, &v1), TS_OK);
	ck_assert_int_gt(v1, v0);
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	ck_assert_int_eq(store_clients_version(s, &v2), TS_OK);
	ck_assert_int_eq(v2, v1);
	ck_assert_int_eq(store_client_set_active(s, "gw-9", 0, 1700000100), TS_OK);
	ck_assert_int_eq(store_clients_version(s, &v3), TS_OK);
	ck_assert_int_gt(v3, v2);
	in.scope = "mqtt:sub:x";
	ck_assert_int_eq(store_client_put(s, &in, 0), TS_OK);
	ck_assert_int_eq(store_clients_version(s, &v4), TS_OK);
	ck_assert_int_gt(v4, v3);
	ck_assert_int_eq(store_client_remove(s, "gw-9"), TS_OK);
	ck_assert_int_eq(store_clients_version(s, &v5), TS_OK);
	ck_assert_int_gt(v5, v4);
	store_close(s);
}
END_TEST

static Suite *store_clients_suite(void)
{
	Suite *s = suite_create("store_clients");
	TCase *rec = tcase_create("records");

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, client_round_trip);
	tcase_add_test(rec, client_conflict);
	tcase_add_test(rec, client_set_active_and_remove);
	tcase_add_test(rec, client_each_in_order);
	tcase_add_test(rec, client_each_reentrant);
	tcase_add_test(rec, secret_hash_is_what_is_stored);
	tcase_add_test(rec, client_refresh_settings);
	tcase_add_test(rec, client_records);
	tcase_add_test(rec, client_id_digits_refused);
	tcase_add_test(rec, client_auth_methods);
	tcase_add_test(rec, clients_version_moves_with_clients_only);
	suite_add_tcase(s, rec);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_clients_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
