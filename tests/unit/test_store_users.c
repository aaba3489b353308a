/* test_store_users.c - users in the store: round trips, case-insensitive names,
 * passwords, listing.
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


/* Every spelling of a name is that name (docs/security.md row 77): the one user's key is taken
 * whatever the spelling, and every look-up by name reaches the one user. */
START_TEST(user_name_key_unique)
{
	static const char *const same[] = {
		"ALICE", "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85", /* ａｌｉｃｅ */
		"\xef\xbc\xa1lice", "\xe2\x84\xaa", /* (the Kelvin sign: "k", for the user below) */
	};
	struct user in = user_of("alice"), k = user_of("k"), other, *u = NULL;
	store *s = open_db();
	size_t i;

	ck_assert_int_eq(store_user_add(s, &in), TS_OK);
	ck_assert_int_eq(store_user_add(s, &k), TS_OK);
	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		other = user_of(same[i]);
		ck_assert_msg(store_user_add(s, &other) == TS_CONFLICT, "same[%zu] added", i);
		ck_assert_int_eq(store_user_get(s, same[i], &u), TS_OK);
		ck_assert_int_eq(u->id, i < 3 ? in.id : k.id);
		store_user_free(u);
	}
	/* look-ups by a spelling the writes refuse reach the user too */
	ck_assert_int_eq(store_user_get(s, "alice\xe2\x80\x8b", &u), TS_OK);
	ck_assert_int_eq(u->id, in.id);
	store_user_free(u);
	ck_assert_int_eq(store_user_get(s, " alice\xe3\x80\x80", &u), TS_OK);
	ck_assert_int_eq(u->id, in.id);
	store_user_free(u);
	ck_assert_int_eq(store_user_get(s, "\xd0\xb0lice", &u), TS_NOT_FOUND); /* Cyrillic а */
	ck_assert_int_eq(store_user_get(s, "alice\xff", &u), TS_NOT_FOUND);
	ck_assert_int_eq(store_user_get(s, "  ", &u), TS_NOT_FOUND);
	/* what the writes refuse: invisible characters, controls, untrimmed names */
	other = user_of("alice\xe2\x80\x8b");
	ck_assert_int_eq(store_user_add(s, &other), TS_INVALID_REQUEST);
	other = user_of("alice ");
	ck_assert_int_eq(store_user_add(s, &other), TS_INVALID_REQUEST);
	other = user_of("al\x01ice");
	ck_assert_int_eq(store_user_add(s, &other), TS_INVALID_REQUEST);
	/* a rename onto a taken key (SCIM PUT, PATCH) */
	k.username = "\xef\xbc\xa1LICE";
	ck_assert_int_eq(store_user_put(s, &k, 0), TS_CONFLICT);
	k.username = "K2";
	ck_assert_int_eq(store_user_put(s, &k, 0), TS_OK);
	ck_assert_int_eq(store_user_get(s, "k2", &u), TS_OK);
	ck_assert_str_eq(u->username, "K2");
	store_user_free(u);
	ck_assert_int_eq(store_user_get(s, "\xe2\x84\xaa", &u), TS_NOT_FOUND); /* the old key went */
	/* the by-name writes take any spelling */
	ck_assert_int_eq(store_user_set_active(s, "\xef\xbc\xa1LICE", 0, 5), TS_OK);
	ck_assert_int_eq(store_user_get_id(s, in.id, &u), TS_OK);
	ck_assert_int_eq(u->active, 0);
	store_user_free(u);
	ck_assert_int_eq(store_user_remove(s, "ALICE\xe2\x80\x8d"), TS_OK);
	ck_assert_int_eq(store_user_get_id(s, in.id, &u), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

static Suite *store_users_suite(void)
{
	Suite *s = suite_create("store_users");
	TCase *rec = tcase_create("records");

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, user_round_trip);
	tcase_add_test(rec, user_case_insensitive);
	tcase_add_test(rec, user_set_password_and_remove);
	tcase_add_test(rec, user_each_in_order);
	tcase_add_test(rec, user_get_by_id);
	tcase_add_test(rec, user_name_key_unique);
	suite_add_tcase(s, rec);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_users_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
