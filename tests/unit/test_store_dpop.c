/* test_store_dpop.c - the single-use records of DPoP proofs (lib/store_dpop.c, schema 014):
 * a jti is refused while its record lives, on another connection (another process) and after
 * the store is reopened (a restart); an expired record no longer refuses, and purge drops it.
 * docs/security.md row 98. */
#include <check.h>

#include "store.h"
#include "store_fixture.h"

START_TEST(test_jti_single_use)
{
	unsigned char a[32], b[32];
	store *s = open_db(), *t;

	fill_hash(a, 1);
	fill_hash(b, 2);
	ck_assert_int_eq(store_dpop_jti_use(s, a, 160, 100), TS_OK);
	ck_assert_int_eq(store_dpop_jti_use(s, a, 170, 110), TS_CONFLICT);
	ck_assert_int_eq(store_dpop_jti_use(s, b, 170, 110), TS_OK);
	/* another connection sees it, and so does the store opened again */
	t = open_db();
	ck_assert_int_eq(store_dpop_jti_use(t, a, 170, 159), TS_CONFLICT);
	store_close(t);
	store_close(s);
	s = open_db();
	ck_assert_int_eq(store_dpop_jti_use(s, a, 170, 159), TS_CONFLICT);
	/* once expired (and before a purge) the record is replaced, not a refusal for ever */
	ck_assert_int_eq(store_dpop_jti_use(s, a, 230, 160), TS_OK);
	ck_assert_int_eq(store_dpop_jti_use(s, a, 240, 200), TS_CONFLICT);
	ck_assert_int_eq(store_dpop_purge(s, 170), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM dpop_proofs"), 1);
	ck_assert_int_eq(store_dpop_purge(s, 230), TS_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM dpop_proofs"), 0);
	ck_assert_int_eq(store_dpop_jti_use(s, NULL, 1, 1), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

static Suite *store_dpop_suite(void)
{
	Suite *s = suite_create("store_dpop");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_jti_single_use);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_dpop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
