/* test_secret.c - SHA-256 against FIPS 180-2's vectors (with and without secret_init), random
 * tokens, constant-time comparison, wiping. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

/* FIPS 180-2, Appendix B: "abc", the two-block message, and a million 'a's. */
static const char abc_hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char two_hex[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char million_hex[] =
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
static const char empty_hex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void check_digest(const void *data, size_t n, const char *want)
{
	unsigned char d[32];
	char hex[65];
	size_t i;

	secret_sha256(data, n, d);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(hex, want);
}

static void check_vectors(void)
{
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);

	ck_assert_ptr_nonnull(million);
	memset(million, 'a', 1000000);
	check_digest("abc", 3, abc_hex);
	check_digest(two, strlen(two), two_hex);
	check_digest(million, 1000000, million_hex);
	check_digest("", 0, empty_hex);
	free(million);
}

/* The fallback (a process that never called secret_init, like the broker plugin), then the
 * fetched algorithm: the same digests. */
START_TEST(test_sha256_vectors)
{
	check_vectors();
	secret_init();
	check_vectors();
	secret_init(); /* a second call is harmless */
	check_vectors();
}
END_TEST

START_TEST(test_random)
{
	char a[SECRET_TOKEN_LEN], b[SECRET_TOKEN_LEN];
	unsigned char raw[32];
	size_t i;

	ck_assert_int_eq(secret_random(a, 32), TS_OK);
	ck_assert_int_eq(secret_random(b, 32), TS_OK);
	ck_assert_uint_eq(strlen(a), SECRET_TOKEN_LEN - 1);
	ck_assert_str_ne(a, b);
	for (i = 0; a[i]; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
		                 a[i]) != NULL);
	ck_assert_int_eq(secret_random(a, 0), TS_SERVER_ERROR);
	ck_assert_int_eq(secret_random(a, 65), TS_SERVER_ERROR);
	ck_assert_int_eq(secret_bytes(raw, sizeof raw), TS_OK);
	ck_assert_int_eq(secret_bytes(raw, 1025), TS_SERVER_ERROR);
}
END_TEST

START_TEST(test_equal_and_wipe)
{
	char s[] = "a secret";
	char *d = strdup("another secret");

	ck_assert_int_eq(secret_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(secret_equal("abcd", "abce", 4), 0);
	ck_assert_int_eq(secret_equal("abcd", "xbcd", 4), 0);
	secret_wipe(s, sizeof s);
	for (size_t i = 0; i < sizeof s; i++)
		ck_assert_int_eq(s[i], 0);
	secret_wipe(NULL, 4);
	secret_free(d);
	secret_free(NULL);
}
END_TEST

static Suite *secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_equal_and_wipe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secret_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
