/* test_store_enroll.c - enrollment tokens and registrations in the store (schema 016): a
 * registration takes one use of its token in the same transaction as the client it adds, never
 * more than max_uses, never with a revoked or expired token, and nothing is written when it is
 * refused (docs/security.md row 107). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_enroll.h"
#include "store_fixture.h"

static void add_token(store *s, const char *id, int64_t max_uses, int64_t expires_at)
{
	struct enrollment e = {
		.id = (char *)id, .name = "", .max_uses = max_uses, .expires_at = expires_at,
		.created_at = 100,
		.t = {"client_credentials", "mqtt:pub:d/${clientid}/#", "private_key_jwt", 0},
	};

	memset(e.hash, 7, sizeof e.hash);
	ck_assert_int_eq(store_enrollment_add(s, &e), TS_OK);
}

static ts_err reg(store *s, const char *eid, const char *cid, int64_t now)
{
	struct client c = {
		.client_id = (char *)cid, .name = "", .redirect_uris = "",
		.post_logout_redirect_uris = "", .grant_types = "client_credentials",
		.scope = "mqtt:pub:d/x/#", .refresh_rotation = 1, .active = 1,
		.created_at = now, .updated_at = now,
	};
	struct registration g = {
		.client_id = (char *)cid, .enrollment_id = (char *)eid, .created_at = now,
		.t = {"client_credentials", "mqtt:pub:d/${clientid}/#", "private_key_jwt", 1},
	};

	memset(g.hash, 9, sizeof g.hash);
	return store_register(s, &c, &g, now);
}

static int64_t uses_of(store *s, const char *id)
{
	struct enrollment *e = NULL;
	int64_t n;

	ck_assert_int_eq(store_enrollment_get(s, id, &e), TS_OK);
	n = e->uses;
	store_enrollment_free(e);
	return n;
}

START_TEST(test_register_takes_a_use)
{
	store *s = open_db();
	struct registration *g = NULL;
	struct client *c = NULL;

	add_token(s, "en-000000000001", 2, 1000);
	ck_assert_int_eq(reg(s, "en-000000000001", "dev-a", 500), TS_OK);
	ck_assert_int_eq(uses_of(s, "en-000000000001"), 1);
	ck_assert_int_eq(store_registration_get(s, "dev-a", &g), TS_OK);
	ck_assert_str_eq(g->enrollment_id, "en-000000000001");
	ck_assert_str_eq(g->t.scope, "mqtt:pub:d/${clientid}/#");
	ck_assert_int_eq(g->t.token_reference, 1);
	ck_assert_int_eq(g->hash[0], 9);
	store_registration_free(g);
	ck_assert_int_eq(store_client_get(s, "dev-a", &c), TS_OK);
	store_client_free(c);
	/* the id taken: nothing written, the use given back */
	ck_assert_int_eq(reg(s, "en-000000000001", "dev-a", 500), TS_CONFLICT);
	ck_assert_int_eq(uses_of(s, "en-000000000001"), 1);
	ck_assert_int_eq(reg(s, "en-000000000001", "dev-b", 500), TS_OK);
	/* used up */
	ck_assert_int_eq(reg(s, "en-000000000001", "dev-c", 500), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_get(s, "dev-c", &c), TS_NOT_FOUND);
	ck_assert_int_eq(uses_of(s, "en-000000000001"), 2);
	/* removing the client removes its registration */
	ck_assert_int_eq(store_client_remove(s, "dev-a"), TS_OK);
	ck_assert_int_eq(store_registration_get(s, "dev-a", &g), TS_NOT_FOUND);
	store_close(s);
}
END_TEST

START_TEST(test_expired_revoked_unknown)
{
	store *s = open_db();
	struct enrollment *e = NULL;
	struct client *c = NULL;

	add_token(s, "en-000000000002", 5, 1000);
	ck_assert_int_eq(reg(s, "en-000000000002", "dev-e", 1000), TS_NOT_FOUND); /* expired */
	ck_assert_int_eq(reg(s, "en-000000000002", "dev-e", 999), TS_OK);
	ck_assert_int_eq(store_enrollment_revoke(s, "en-000000000002", 600), TS_OK);
	ck_assert_int_eq(store_enrollment_revoke(s, "en-000000000002", 700), TS_OK);
	ck_assert_int_eq(store_enrollment_get(s, "en-000000000002", &e), TS_OK);
	ck_assert_int_eq(e->revoked_at, 600); /* the first revocation stays */
	store_enrollment_free(e);
	ck_assert_int_eq(reg(s, "en-000000000002", "dev-f", 500), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_get(s, "dev-f", &c), TS_NOT_FOUND);
	ck_assert_int_eq(reg(s, "en-nosuchtoken0", "dev-g", 500), TS_NOT_FOUND);
	ck_assert_int_eq(store_enrollment_revoke(s, "en-nosuchtoken0", 1), TS_NOT_FOUND);
	/* removing the token keeps the clients it registered */
	ck_assert_int_eq(store_enrollment_remove(s, "en-000000000002"), TS_OK);
	ck_assert_int_eq(store_enrollment_get(s, "en-000000000002", &e), TS_NOT_FOUND);
	ck_assert_int_eq(store_client_get(s, "dev-e", &c), TS_OK);
	store_client_free(c);
	store_close(s);
}
END_TEST

static int count(const struct enrollment *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_each_and_hash_only)
{
	store *s = open_db();
	int n = 0;

	add_token(s, "en-000000000003", 1, 1000);
	add_token(s, "en-000000000004", 1, 1000);
	ck_assert_int_eq(store_enrollment_each(s, count, &n), TS_OK);
	ck_assert_int_eq(n, 2);
	store_close(s);
}
END_TEST

static Suite *store_enroll_suite(void)
{
	Suite *s = suite_create("store_enroll");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_register_takes_a_use);
	tcase_add_test(tc, test_expired_revoked_unknown);
	tcase_add_test(tc, test_each_and_hash_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_enroll_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
