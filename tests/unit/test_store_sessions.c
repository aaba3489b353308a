/* test_store_sessions.c - browser sessions end with their user's credentials (schema 008): a
 * password change, a disable or a removal deletes every session of that user, whichever store
 * function writes it, and store_session_get never returns a session of a disabled user
 * (docs/security.md row 79). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[64];
static char db[128];
static store *s;

static void setup(void)
{
	strcpy(dir, "/tmp/tessera-sessions-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
}

static void teardown(void)
{
	char p[PATH_MAX];
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	size_t i;

	store_close(s);
	s = NULL;
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int64_t add_user(const char *name)
{
	struct user u = {
		.username = (char *)name,
		.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		.scope = "",
		.active = 1,
		.created_at = 100,
		.updated_at = 100,
	};

	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	return u.id;
}

/* A session of user id, its hash made from seed. */
static struct session add_session(int64_t id, unsigned char seed)
{
	struct session se = {.user_id = id, .auth_time = 100, .created_at = 100,
	                     .expires_at = 4000000000};

	memset(se.hash, seed, sizeof se.hash);
	ck_assert_int_eq(store_session_add(s, &se), TS_OK);
	return se;
}

static int alive(const struct session *se)
{
	struct session out;
	ts_err rc = store_session_get(s, se->hash, 200, &out);

	ck_assert(rc == TS_OK || rc == TS_NOT_FOUND);
	return rc == TS_OK;
}

START_TEST(password_change_ends_the_users_sessions)
{
	int64_t a = add_user("alice"), b = add_user("bob");
	struct session a1 = add_session(a, 1), a2 = add_session(a, 2), b1 = add_session(b, 3);

	ck_assert(alive(&a1) && alive(&a2) && alive(&b1));
	ck_assert_int_eq(store_user_set_password(s, "alice", "$argon2id$new", 300), TS_OK);
	ck_assert(!alive(&a1));
	ck_assert(!alive(&a2));
	ck_assert(alive(&b1));
	/* a session made after the change is good */
	a1 = add_session(a, 4);
	ck_assert(alive(&a1));
}
END_TEST

START_TEST(disable_ends_the_users_sessions_for_good)
{
	int64_t a = add_user("alice"), b = add_user("bob");
	struct session a1 = add_session(a, 1), b1 = add_session(b, 3);

	ck_assert_int_eq(store_user_set_active(s, "alice", 0, 300), TS_OK);
	ck_assert(!alive(&a1));
	ck_assert(alive(&b1));
	ck_assert_int_eq(store_user_set_active(s, "alice", 1, 301), TS_OK);
	ck_assert(!alive(&a1));
}
END_TEST

START_TEST(a_disabled_users_session_is_refused)
{
	int64_t a = add_user("alice");
	struct session a1;

	ck_assert_int_eq(store_user_set_active(s, "alice", 0, 300), TS_OK);
	a1 = add_session(a, 1); /* written after the disable: the lookup itself refuses it */
	ck_assert(!alive(&a1));
	ck_assert_int_eq(store_user_set_active(s, "alice", 1, 301), TS_OK);
	ck_assert(alive(&a1));
}
END_TEST

START_TEST(removal_ends_the_users_sessions)
{
	int64_t a = add_user("alice"), b = add_user("bob");
	struct session a1 = add_session(a, 1), b1 = add_session(b, 2);

	ck_assert_int_eq(store_user_remove(s, "alice"), TS_OK);
	ck_assert(!alive(&a1));
	ck_assert(alive(&b1));
	ck_assert_int_eq(store_user_remove_id(s, b), TS_OK);
	ck_assert(!alive(&b1));
}
END_TEST

/* SCIM writes the whole user: a new password or active false end the sessions, the rest not */
START_TEST(full_update_ends_sessions_only_for_password_or_disable)
{
	int64_t a = add_user("alice");
	struct session a1 = add_session(a, 1);
	struct user *u = NULL;

	ck_assert_int_eq(store_user_get_id(s, a, &u), TS_OK);
	free(u->name);
	u->name = strdup("Alice L.");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	ck_assert(alive(&a1));
	ck_assert_int_eq(store_user_put(s, u, 1), TS_OK); /* the same hash again: no change */
	ck_assert(alive(&a1));
	free(u->password_hash);
	u->password_hash = strdup("$argon2id$other");
	ck_assert_int_eq(store_user_put(s, u, 1), TS_OK);
	ck_assert(!alive(&a1));
	a1 = add_session(a, 2);
	u->active = 0;
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	ck_assert(!alive(&a1));
	store_user_free(u);
}
END_TEST

static Suite *sessions_suite(void)
{
	Suite *su = suite_create("store_sessions");
	TCase *tc = tcase_create("sessions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, password_change_ends_the_users_sessions);
	tcase_add_test(tc, disable_ends_the_users_sessions_for_good);
	tcase_add_test(tc, a_disabled_users_session_is_refused);
	tcase_add_test(tc, removal_ends_the_users_sessions);
	tcase_add_test(tc, full_update_ends_sessions_only_for_password_or_disable);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(sessions_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
