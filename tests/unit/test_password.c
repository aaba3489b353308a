/* test_password.c - Argon2id hashing and verification. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <argon2.h>

#include "password.h"
#include "slowdown.h"

static const char good_prefix[] = "$argon2id$v=19$m=19456,t=2,p=1$";

START_TEST(hash_then_verify)
{
	char *h = NULL;

	ck_assert_int_eq(password_hash("correct horse battery staple", &h), TS_OK);
	ck_assert_ptr_nonnull(h);
	ck_assert_msg(strncmp(h, good_prefix, strlen(good_prefix)) == 0, "unexpected encoding %s", h);
	ck_assert_int_eq(password_verify(h, "correct horse battery staple"), TS_OK);
	free(h);
}
END_TEST

START_TEST(wrong_password_denied)
{
	char *h = NULL;

	ck_assert_int_eq(password_hash("correct horse battery staple", &h), TS_OK);
	ck_assert_int_eq(password_verify(h, "Correct horse battery staple"), TS_ACCESS_DENIED);
	ck_assert_int_eq(password_verify(h, "correct horse battery stapl"), TS_ACCESS_DENIED);
	ck_assert_int_eq(password_verify(h, "correct horse battery staple "), TS_ACCESS_DENIED);
	ck_assert_int_eq(password_verify(h, ""), TS_ACCESS_DENIED);
	ck_assert_int_eq(password_verify(h, NULL), TS_ACCESS_DENIED);
	free(h);
}
END_TEST

START_TEST(same_password_two_hashes_differ)
{
	char *a = NULL, *b = NULL;

	ck_assert_int_eq(password_hash("hunter2", &a), TS_OK);
	ck_assert_int_eq(password_hash("hunter2", &b), TS_OK);
	ck_assert_str_ne(a, b);
	/* the salts (the field after the parameters) differ, not only the tags */
	ck_assert_msg(strncmp(a, b, strlen(good_prefix) + 22) != 0, "same salt twice");
	ck_assert_int_eq(password_verify(a, "hunter2"), TS_OK);
	ck_assert_int_eq(password_verify(b, "hunter2"), TS_OK);
	free(a);
	free(b);
}
END_TEST

START_TEST(garbage_encoding_denied)
{
	static const char *const junk[] = {
		"", "garbage", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$",
		"$argon2id$v=19$m=-1,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNo",
		"$argon2id$v=19$m= 19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNo",
		"$2b$12$abcdefghijklmnopqrstuuAbCdEfGhIjKlMnOpQrStUvWxYz01234",
	};
	char *h = NULL, *t;
	size_t i, n;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ck_assert_msg(password_verify(junk[i], "pw") == TS_ACCESS_DENIED, "accepted %s", junk[i]);
	ck_assert_int_eq(password_verify(NULL, "pw"), TS_ACCESS_DENIED);

	ck_assert_int_eq(password_hash("pw", &h), TS_OK);
	n = strlen(h);
	t = strdup(h);
	ck_assert_ptr_nonnull(t);
	/* truncated tag */
	t[n - 4] = '\0';
	ck_assert_int_eq(password_verify(t, "pw"), TS_ACCESS_DENIED);
	/* one character of the tag changed */
	strcpy(t, h);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(password_verify(t, "pw"), TS_ACCESS_DENIED);
	/* one character of the salt changed */
	strcpy(t, h);
	t[strlen(good_prefix) + 1] = t[strlen(good_prefix) + 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(password_verify(t, "pw"), TS_ACCESS_DENIED);
	free(t);
	/* trailing junk */
	t = malloc(n + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, h, n);
	memcpy(t + n, "x", 2);
	ck_assert_int_eq(password_verify(t, "pw"), TS_ACCESS_DENIED);
	free(t);
	free(h);
}
END_TEST

START_TEST(other_argon2_variants_denied)
{
	static const unsigned char salt[16] = "0123456789abcdef";
	char enc[256];

	/* Argon2i and Argon2d hashes of the right password are not Argon2id hashes */
	ck_assert_int_eq(argon2i_hash_encoded(2, 1024, 1, "pw", 2, salt, sizeof(salt), 32,
			enc, sizeof(enc)), ARGON2_OK);
	ck_assert_int_eq(password_verify(enc, "pw"), TS_ACCESS_DENIED);
	ck_assert_int_eq(argon2d_hash_encoded(2, 1024, 1, "pw", 2, salt, sizeof(salt), 32,
			enc, sizeof(enc)), ARGON2_OK);
	ck_assert_int_eq(password_verify(enc, "pw"), TS_ACCESS_DENIED);
}
END_TEST

START_TEST(parameters_come_from_the_string)
{
	static const unsigned char salt[16] = "0123456789abcdef";
	char enc[256];

	/* a hash made with other (here cheaper) costs still verifies */
	ck_assert_int_eq(argon2id_hash_encoded(1, 1024, 2, "pw", 2, salt, sizeof(salt), 32,
			enc, sizeof(enc)), ARGON2_OK);
	ck_assert_int_eq(password_verify(enc, "pw"), TS_OK);
	ck_assert_int_eq(password_verify(enc, "pW"), TS_ACCESS_DENIED);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(excessive_cost_denied)
{
	double t0 = now_s();

	/* 4 GiB or 1000 passes: refused before any work is done */
	ck_assert_int_eq(password_verify("$argon2id$v=19$m=4194304,t=2,p=1$"
			"MDEyMzQ1Njc4OWFiY2RlZg$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "pw"),
			TS_ACCESS_DENIED);
	ck_assert_int_eq(password_verify("$argon2id$v=19$m=19456,t=1000,p=1$"
			"MDEyMzQ1Njc4OWFiY2RlZg$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "pw"),
			TS_ACCESS_DENIED);
	ck_assert_msg(now_s() - t0 < slow(0.5), "took %.2f s", now_s() - t0);
}
END_TEST

START_TEST(empty_and_overlong_refused)
{
	char pw[1026];
	char *h = (char *)1;

	ck_assert_int_eq(password_hash("", &h), TS_INVALID_REQUEST);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(password_hash(NULL, &h), TS_INVALID_REQUEST);
	ck_assert_ptr_null(h);

	memset(pw, 'a', sizeof(pw));
	pw[1025] = '\0'; /* 1025 bytes */
	ck_assert_int_eq(password_hash(pw, &h), TS_INVALID_REQUEST);
	ck_assert_ptr_null(h);

	pw[1024] = '\0'; /* 1024 bytes: the longest allowed */
	ck_assert_int_eq(password_hash(pw, &h), TS_OK);
	ck_assert_int_eq(password_verify(h, pw), TS_OK);
	pw[1024] = 'a';
	ck_assert_int_eq(password_verify(h, pw), TS_ACCESS_DENIED);
	free(h);
}
END_TEST

START_TEST(utf8_password)
{
	/* "pässwörd 🔑" precomposed vs. decomposed: different bytes, different passwords */
	const char *nfc = "p\xc3\xa4ssw\xc3\xb6rd \xf0\x9f\x94\x91";
	const char *nfd = "pa\xcc\x88ssw\xc3\xb6rd \xf0\x9f\x94\x91";
	char *h = NULL;

	ck_assert_int_eq(password_hash(nfc, &h), TS_OK);
	ck_assert_int_eq(password_verify(h, nfc), TS_OK);
	ck_assert_int_eq(password_verify(h, nfd), TS_ACCESS_DENIED);
	free(h);
}
END_TEST

static Suite *password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hash_then_verify);
	tcase_add_test(tc, wrong_password_denied);
	tcase_add_test(tc, same_password_two_hashes_differ);
	tcase_add_test(tc, garbage_encoding_denied);
	tcase_add_test(tc, other_argon2_variants_denied);
	tcase_add_test(tc, parameters_come_from_the_string);
	tcase_add_test(tc, excessive_cost_denied);
	tcase_add_test(tc, empty_and_overlong_refused);
	tcase_add_test(tc, utf8_password);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(password_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
