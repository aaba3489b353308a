/* test_store_devices.c - device authorizations in the store (schema 004).
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
#include "schema.h" /* the embedded migrations: to build an old database by hand */
#include "store_fixture.h"

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
		/* 12, and polled_ms (schema 017) */
		"SELECT count(*) = 13 FROM pragma_table_info('device_codes')",
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

static Suite *store_devices_suite(void)
{
	Suite *s = suite_create("store_devices");
	TCase *dev = tcase_create("device");

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
	SRunner *sr = srunner_create(store_devices_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
