/* test_pkce.c - PKCE S256 against RFC 7636 Appendix B, verifier and challenge syntax. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "b64.h"
#include "pkce.h"

/* RFC 7636 Appendix B. */
static const char rfc_verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_challenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

static const char unreserved[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/* A verifier of n characters cycling through the unreserved set, in a malloc'd buffer. */
static char *make_verifier(size_t n)
{
	char *v = malloc(n + 1);
	size_t i;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < n; i++)
		v[i] = unreserved[i % (sizeof unreserved - 1)];
	v[n] = '\0';
	return v;
}

/* BASE64URL(SHA256(v)), computed here independently of pkce.c. */
static void make_challenge(const char *v, char out[B64URL_LEN(32)])
{
	unsigned char d[32];

	SHA256((const unsigned char *)v, strlen(v), d);
	ck_assert_uint_eq(b64url_encode(d, sizeof d, out), 43);
}

START_TEST(test_rfc7636_appendix_b)
{
	/* The verifier is BASE64URL of these 32 octets; the challenge that of their hash. */
	static const unsigned char octets[32] = {
		116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
		22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121
	};
	char enc[B64URL_LEN(32)], ch[B64URL_LEN(32)];

	b64url_encode(octets, sizeof octets, enc);
	ck_assert_str_eq(enc, rfc_verifier);
	make_challenge(rfc_verifier, ch);
	ck_assert_str_eq(ch, rfc_challenge);

	ck_assert_int_eq(pkce_verifier_valid(rfc_verifier), 1);
	ck_assert_int_eq(pkce_challenge_valid(rfc_challenge), 1);
	ck_assert_int_eq(pkce_check(rfc_challenge, rfc_verifier), TS_OK);
}
END_TEST

START_TEST(test_verifier_lengths)
{
	static const size_t bad[] = { 0, 1, 42, 129, 200, 4096 };
	static const size_t good[] = { 43, 44, 64, 127, 128 };
	char ch[B64URL_LEN(32)];
	char *v;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = make_verifier(bad[i]);
		ck_assert_msg(!pkce_verifier_valid(v), "length %zu accepted", bad[i]);
		/* Even with the matching challenge the check refuses it. */
		make_challenge(v, ch);
		ck_assert_int_eq(pkce_check(ch, v), TS_INVALID_GRANT);
		free(v);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = make_verifier(good[i]);
		ck_assert_msg(pkce_verifier_valid(v), "length %zu rejected", good[i]);
		make_challenge(v, ch);
		ck_assert_int_eq(pkce_check(ch, v), TS_OK);
		free(v);
	}
}
END_TEST

START_TEST(test_verifier_alphabet)
{
	static const char *const outside[] = {
		" ", "+", "/", "=", "%", "!", "*", "\t", "\n", "\"", "\x7f", "\xc3\xa9", "\xff",
	};
	char ch[B64URL_LEN(32)];
	char *v;
	size_t i, len;
	int c;

	/* Every unreserved character is accepted in every position class. */
	for (i = 0; i + 1 < sizeof unreserved; i++) {
		v = make_verifier(43);
		v[0] = v[21] = v[42] = unreserved[i];
		ck_assert_msg(pkce_verifier_valid(v), "'%c' rejected", unreserved[i]);
		free(v);
	}
	/* Nothing else in the byte range is. */
	for (c = 1; c < 256; c++) {
		if (strchr(unreserved, c))
			continue;
		v = make_verifier(64);
		v[30] = (char)c;
		ck_assert_msg(!pkce_verifier_valid(v), "byte 0x%02x accepted", c);
		free(v);
	}
	/* Outside characters at the start, the middle and the end, also with a matching challenge. */
	for (i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		len = strlen(outside[i]);
		v = make_verifier(50);
		memcpy(v, outside[i], len);
		ck_assert(!pkce_verifier_valid(v));
		make_challenge(v, ch);
		ck_assert_int_eq(pkce_check(ch, v), TS_INVALID_GRANT);
		memcpy(v, unreserved, len);
		memcpy(v + 50 - len, outside[i], len);
		ck_assert(!pkce_verifier_valid(v));
		make_challenge(v, ch);
		ck_assert_int_eq(pkce_check(ch, v), TS_INVALID_GRANT);
		free(v);
	}
	/* A UTF-8 verifier of 43 characters but more bytes. */
	ck_assert(!pkce_verifier_valid("\xc3\xa9\xc3\xa9\xc3\xa9" "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"));
}
END_TEST

START_TEST(test_wrong_verifier)
{
	char v[sizeof rfc_verifier];
	char ch[B64URL_LEN(32)];
	size_t i;

	/* Every single-character change of the RFC verifier fails. */
	for (i = 0; i < sizeof rfc_verifier - 1; i++) {
		memcpy(v, rfc_verifier, sizeof v);
		v[i] = v[i] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(pkce_check(rfc_challenge, v), TS_INVALID_GRANT);
	}
	/* Prefix and extension of the right verifier. */
	ck_assert_int_eq(pkce_check(rfc_challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX"),
			 TS_INVALID_GRANT);
	ck_assert_int_eq(pkce_check(rfc_challenge, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkk"),
			 TS_INVALID_GRANT);
	/* The challenge of another verifier. */
	make_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", ch);
	ck_assert_int_eq(pkce_check(ch, rfc_verifier), TS_INVALID_GRANT);
	/* Case matters in the challenge. */
	ck_assert_int_eq(pkce_check("e9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", rfc_verifier),
			 TS_INVALID_GRANT);
	/* "plain": the verifier sent as its own challenge is no proof. */
	ck_assert_int_eq(pkce_challenge_valid(rfc_verifier), 1);
	ck_assert_int_eq(pkce_check(rfc_verifier, rfc_verifier), TS_INVALID_GRANT);
	/* The challenge sent back as verifier is refused too. */
	ck_assert_int_eq(pkce_check(rfc_challenge, rfc_challenge), TS_INVALID_GRANT);
}
END_TEST

START_TEST(test_challenge_syntax)
{
	static const char *const bad[] = {
		"",
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",    /* 42 */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA",  /* 44 */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=",  /* padded */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=",   /* '=' in place of a character */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",   /* standard alphabet '+' */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM",   /* standard alphabet '/' */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",   /* stray bits in the last character */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cP",
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c_",
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c.",   /* verifier-only characters */
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c~",
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c ",
		" E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c",
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSs\xc3\xa9-cM",
	};
	char g[44];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(!pkce_challenge_valid(bad[i]), "\"%s\" accepted", bad[i]);
		ck_assert_int_eq(pkce_check(bad[i], rfc_verifier), TS_INVALID_GRANT);
	}
	ck_assert(pkce_challenge_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	/* 43 characters encode 258 bits: the last one must have its two low bits clear. */
	memset(g, '_', 42);
	g[43] = '\0';
	g[42] = 'w';                    /* 110000 */
	ck_assert(pkce_challenge_valid(g));
	g[42] = '_';                    /* 111111 */
	ck_assert(!pkce_challenge_valid(g));
	memset(g, '-', 42);
	g[42] = '-';                    /* 111110 */
	ck_assert(!pkce_challenge_valid(g));
	g[42] = 'A';
	ck_assert(pkce_challenge_valid(g));
	g[42] = '8';                    /* 111100 */
	ck_assert(pkce_challenge_valid(g));
	g[42] = '9';                    /* 111101 */
	ck_assert(!pkce_challenge_valid(g));
}
END_TEST

START_TEST(test_nulls)
{
	ck_assert_int_eq(pkce_verifier_valid(NULL), 0);
	ck_assert_int_eq(pkce_challenge_valid(NULL), 0);
	ck_assert_int_eq(pkce_check(NULL, rfc_verifier), TS_INVALID_GRANT);
	ck_assert_int_eq(pkce_check(rfc_challenge, NULL), TS_INVALID_GRANT);
	ck_assert_int_eq(pkce_check(NULL, NULL), TS_INVALID_GRANT);
	ck_assert_int_eq(pkce_check("", ""), TS_INVALID_GRANT);
	ck_assert_int_eq(pkce_check(rfc_challenge, ""), TS_INVALID_GRANT);
}
END_TEST

static Suite *pkce_suite(void)
{
	Suite *s = suite_create("pkce");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc7636_appendix_b);
	tcase_add_test(tc, test_verifier_lengths);
	tcase_add_test(tc, test_verifier_alphabet);
	tcase_add_test(tc, test_wrong_verifier);
	tcase_add_test(tc, test_challenge_syntax);
	tcase_add_test(tc, test_nulls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pkce_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
