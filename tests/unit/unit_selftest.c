/* unit_selftest: a Check suite whose one check passes and leaks, for tools/unit-selftest.sh,
 * which expects tools/unit.sh to count it as failed (docs/testing.md, "The suite's own rules").
 *
 * Built with the sanitizers (make asan), the leak is real: LeakSanitizer reports it after
 * Check's clean summary line and exits 1, as it does for a leaking suite run with CK_FORK=no.
 * Built without them, nothing would notice the leak, so the program itself exits 1 after the
 * clean summary, which is what unit.sh sees in that case. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept;

START_TEST(test_passes_and_leaks)
{
	kept = malloc(4096);
	ck_assert_ptr_nonnull(kept);
	memset(kept, 1, 4096);
	kept = NULL;            /* the only pointer to the block is gone: a leak */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("unit_selftest");
	TCase *tc = tcase_create("leak");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_passes_and_leaks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);   /* the leak stays in this process */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		return EXIT_FAILURE;
#ifndef __SANITIZE_ADDRESS__
	fputs("unit_selftest: no LeakSanitizer in this build: exiting 1 after a clean summary, as "
	      "it would\n", stderr);
	return EXIT_FAILURE;
#else
	return EXIT_SUCCESS;    /* LeakSanitizer turns this into 1 at exit */
#endif
}
