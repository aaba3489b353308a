/* test_store_names.c - migration 009 on a database made by the previous schema (008): users
 * whose names are one name keep one account, the oldest active, the others disabled; clients
 * whose id is a number are disabled (docs/security.md rows 77 and 78). Nothing is deleted.
 *
 * The old database is made by hand from the embedded migrations 001..008, as the other
 * migration tests (test_store.c) do. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "schema.h" /* the embedded migrations: to build an old database by hand */
#include "store_fixture.h"

/* A database at version 8 holding rows: rows (SQL) run after the schema. */
static void make_version_8(const char *rows)
{
	sqlite3 *raw;
	int i;

	ck_assert_int_ge(schema_sql_count, 9);
	ck_assert_str_eq(schema_sql_names[8], "009_names.sql");
	ck_assert_int_eq(sqlite3_open(db, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 8; i++)
		ck_assert_msg(sqlite3_exec(raw, schema_sql[i], NULL, NULL, NULL) == SQLITE_OK,
		              "%s: %s", schema_sql_names[i], sqlite3_errmsg(raw));
	ck_assert_msg(sqlite3_exec(raw, "PRAGMA user_version = 8;", NULL, NULL, NULL) == SQLITE_OK,
	              "%s", sqlite3_errmsg(raw));
	ck_assert_msg(sqlite3_exec(raw, rows, NULL, NULL, NULL) == SQLITE_OK, "%s",
	              sqlite3_errmsg(raw));
	sqlite3_close(raw);
	ck_assert_int_eq(sql_int("PRAGMA user_version"), 8);
}

static int user_active(int64_t id)
{
	char q[80];

	snprintf(q, sizeof q, "SELECT active FROM users WHERE id = %lld", (long long)id);
	return (int)sql_int(q);
}

static int64_t found(store *s, const char *name)
{
	struct user *u = NULL;
	int64_t id;

	if (store_user_get(s, name, &u) != TS_OK)
		return 0;
	id = u->id;
	store_user_free(u);
	return id;
}

/* Five spellings of alice made under 008, ids in the order made: the oldest active one keeps the
 * name (a disabled older one does not), the others are disabled with no key; every spelling
 * then reaches it, and its key is taken for new users. */
START_TEST(migrate_names_from_version_8)
{
	struct user add = {.username = "\xef\xbd\x81lice", .active = 1}, *u = NULL;
	store *s;

	make_version_8(
		"INSERT INTO users (id, username, scope, active, created_at, updated_at) VALUES "
		"(1, 'alice ', '', 0, 10, 10),"                           /* oldest, disabled */
		"(2, 'Alice', '', 1, 20, 20),"                            /* oldest active: keeps it */
		"(3, '\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85', '', 1, 30, 30),"
		"(4, 'alice\xe2\x80\x8b', '', 1, 25, 25),"
		"(5, 'bob', '', 1, 40, 40),"
		"(6, 'carol\xe2\x80\x8b', '', 1, 50, 50),"                /* alone: keeps its name */
		"(7, '   ', '', 1, 60, 60);"                               /* no key at all */
		"INSERT INTO sessions (id_hash, user_id, auth_time, created_at, expires_at) "
		"VALUES (zeroblob(32), 3, 1, 1, 4000000000);");
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(user_active(4), 0);
	ck_assert_int_eq(user_active(2), 1);
	ck_assert_int_eq(user_active(1), 0);
	ck_assert_int_eq(user_active(3), 0);
	ck_assert_int_eq(user_active(5), 1);
	ck_assert_int_eq(user_active(6), 1);
	ck_assert_int_eq(user_active(7), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM users"), 7); /* nothing deleted */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM users WHERE name_key IS NULL"), 4);
	/* the names are kept as they were */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM users WHERE id = 1 AND username = 'alice '"),
	                 1);
	/* disabling ended the disabled user's browser session (008's trigger) */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 0);
	ck_assert_int_eq(found(s, "alice"), 2);
	ck_assert_int_eq(found(s, "ALICE "), 2);
	ck_assert_int_eq(found(s, "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85"), 2);
	ck_assert_int_eq(found(s, "carol"), 6);
	ck_assert_int_eq(found(s, "Bob"), 5);
	ck_assert_int_eq(store_user_add(s, &add), TS_CONFLICT);
	/* a disabled duplicate comes back only under a free name: its name is taken */
	ck_assert_int_eq(store_user_get_id(s, 3, &u), TS_OK);
	u->active = 1;
	ck_assert_int_eq(store_user_put(s, u, 0), TS_CONFLICT);
	free(u->username);
	u->username = strdup("alice2");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	ck_assert_int_eq(found(s, "ALICE2"), 3);
	store_user_free(u);
	store_close(s);

	/* opening again changes nothing */
	s = open_db();
	ck_assert_int_eq(user_active(2), 1);
	ck_assert_int_eq(user_active(3), 1);
	ck_assert_int_eq(user_active(4), 0);
	store_close(s);
}
END_TEST

/* Clients whose id is a number are disabled, not deleted; others are untouched. */
START_TEST(migrate_digit_clients_from_version_8)
{
	struct client *c = NULL, add = {.client_id = "2", .is_public = 1, .active = 1};
	store *s;

	make_version_8(
		"INSERT INTO clients (client_id, is_public, scope, active, created_at, updated_at) "
		"VALUES ('1', 1, '', 1, 1, 2), ('007', 1, '', 1, 1, 2), ('1a', 1, '', 1, 1, 2), "
		"('app', 1, '', 1, 1, 2), ('42', 1, '', 0, 1, 2);");
	s = open_db();
	ck_assert_int_eq(store_client_get(s, "1", &c), TS_OK);
	ck_assert_int_eq(c->active, 0);
	ck_assert_int_gt(c->updated_at, 2);
	store_client_free(c);
	ck_assert_int_eq(store_client_get(s, "007", &c), TS_OK);
	ck_assert_int_eq(c->active, 0);
	store_client_free(c);
	ck_assert_int_eq(store_client_get(s, "42", &c), TS_OK);
	ck_assert_int_eq(c->updated_at, 2); /* was disabled already: untouched */
	store_client_free(c);
	ck_assert_int_eq(store_client_get(s, "1a", &c), TS_OK);
	ck_assert_int_eq(c->active, 1);
	store_client_free(c);
	ck_assert_int_eq(store_client_get(s, "app", &c), TS_OK);
	ck_assert_int_eq(c->active, 1);
	store_client_free(c);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM clients"), 5);
	ck_assert_int_eq(store_client_add(s, &add), TS_INVALID_REQUEST);
	store_close(s);
}
END_TEST

static Suite *store_names_suite(void)
{
	Suite *s = suite_create("store_names");
	TCase *t = tcase_create("migration 009");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, migrate_names_from_version_8);
	tcase_add_test(t, migrate_digit_clients_from_version_8);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_names_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
