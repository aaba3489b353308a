/* test_b64.c - base64 and base64url against RFC 4648 §10 and malformed input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

static const struct {
	const char *plain, *std, *url;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

#define NVEC (sizeof rfc4648 / sizeof rfc4648[0])

/* Decodes with a buffer of exactly the documented minimum size, so ASan sees any overrun. */
static long url_decode_exact(const char *in, unsigned char **out)
{
	size_t n = strlen(in);

	*out = malloc(n * 3 / 4 + 1);
	ck_assert_ptr_nonnull(*out);
	return b64url_decode(in, n, *out);
}

static long std_decode_exact(const char *in, unsigned char **out)
{
	size_t n = strlen(in);

	*out = malloc(n * 3 / 4 + 1);
	ck_assert_ptr_nonnull(*out);
	return b64_decode(in, n, *out);
}

static void assert_url_invalid(const char *in)
{
	unsigned char *out;
	long n = url_decode_exact(in, &out);

	ck_assert_msg(n == -1, "b64url_decode(\"%s\") gave %ld, want -1", in, n);
	free(out);
}

static void assert_std_invalid(const char *in)
{
	unsigned char *out;
	long n = std_decode_exact(in, &out);

	ck_assert_msg(n == -1, "b64_decode(\"%s\") gave %ld, want -1", in, n);
	free(out);
}

START_TEST(test_url_encode_rfc4648)
{
	size_t i, n;
	char *out;

	for (i = 0; i < NVEC; i++) {
		n = strlen(rfc4648[i].plain);
		out = malloc(B64URL_LEN(n));
		ck_assert_ptr_nonnull(out);
		ck_assert_uint_eq(b64url_encode(rfc4648[i].plain, n, out), strlen(rfc4648[i].url));
		ck_assert_str_eq(out, rfc4648[i].url);
		free(out);
	}
}
END_TEST

START_TEST(test_url_decode_rfc4648)
{
	unsigned char *out;
	size_t i;
	long n;

	for (i = 0; i < NVEC; i++) {
		n = url_decode_exact(rfc4648[i].url, &out);
		ck_assert_int_eq(n, (long)strlen(rfc4648[i].plain));
		ck_assert_mem_eq(out, rfc4648[i].plain, (size_t)n);
		free(out);
	}
}
END_TEST

START_TEST(test_std_decode_rfc4648)
{
	unsigned char *out;
	size_t i;
	long n;

	for (i = 0; i < NVEC; i++) {
		n = std_decode_exact(rfc4648[i].std, &out);
		ck_assert_int_eq(n, (long)strlen(rfc4648[i].plain));
		ck_assert_mem_eq(out, rfc4648[i].plain, (size_t)n);
		free(out);
	}
}
END_TEST

/* The two alphabets differ only in characters 62 and 63. */
START_TEST(test_alphabets_62_63)
{
	static const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
	unsigned char *out;
	char enc[B64URL_LEN(3)];

	ck_assert_uint_eq(b64url_encode(bytes, 3, enc), 4);
	ck_assert_str_eq(enc, "-_-_");
	ck_assert_int_eq(url_decode_exact("-_-_", &out), 3);
	ck_assert_mem_eq(out, bytes, 3);
	free(out);
	ck_assert_int_eq(std_decode_exact("+/+/", &out), 3);
	ck_assert_mem_eq(out, bytes, 3);
	free(out);
	ck_assert_uint_eq(b64url_encode(bytes, 2, enc), 3);
	ck_assert_str_eq(enc, "-_8");
	ck_assert_int_eq(std_decode_exact("+/8=", &out), 2);
	ck_assert_mem_eq(out, bytes, 2);
	free(out);
	/* each alphabet refuses the other's characters */
	assert_url_invalid("+/+/");
	assert_std_invalid("-_-_");
}
END_TEST

START_TEST(test_url_invalid)
{
	unsigned char out[8];

	assert_url_invalid("Zg==");     /* padding is not base64url */
	assert_url_invalid("Zm8=");
	assert_url_invalid("Zg=");
	assert_url_invalid("Zm9vY");    /* 5 characters cannot encode whole bytes */
	assert_url_invalid("Z");
	assert_url_invalid("Zm9v!");
	assert_url_invalid("Zm 9v");
	assert_url_invalid("Zm9v\n");
	assert_url_invalid(" Zm9v");
	assert_url_invalid("Zm9.");
	assert_url_invalid("Zm9\xc3\xa9");
	assert_url_invalid("Zh");       /* non-zero unused bits: only "Zg" encodes "f" */
	assert_url_invalid("Zm9");      /* only "Zm8" encodes "fo" */
	/* an embedded NUL within the given length is not a character of the alphabet */
	ck_assert_int_eq(b64url_decode("Zg\0A", 4, out), -1);
}
END_TEST

START_TEST(test_std_invalid)
{
	assert_std_invalid("Zg");       /* padding is required */
	assert_std_invalid("Zm8");
	assert_std_invalid("Zg=");
	assert_std_invalid("Zg===");
	assert_std_invalid("Z===");
	assert_std_invalid("====");
	assert_std_invalid("=Zg=");
	assert_std_invalid("Z=g=");
	assert_std_invalid("Zg=a");
	assert_std_invalid("Zg==Zg==");  /* padding only at the very end */
	assert_std_invalid("Zm9vYg= =");
	assert_std_invalid("Zm9v\r\n");
	assert_std_invalid("Zm 9v");
	assert_std_invalid("Zm9v!A==");
	assert_std_invalid("Zh==");      /* non-canonical: unused bits set */
	assert_std_invalid("Zm9=");
}
END_TEST

/* Every length from 0 to 200 round-trips, with buffers of exactly the documented sizes. */
START_TEST(test_round_trip_lengths)
{
	unsigned char in[200], *dec;
	char *enc;
	size_t n, len;
	long dn;

	for (n = 0; n < sizeof in; n++)
		in[n] = (unsigned char)(n * 151 + 7);
	for (n = 0; n <= sizeof in; n++) {
		enc = malloc(B64URL_LEN(n));
		ck_assert_ptr_nonnull(enc);
		len = b64url_encode(in, n, enc);
		ck_assert_uint_eq(len, (n * 4 + 2) / 3);
		ck_assert_uint_eq(strlen(enc), len);
		ck_assert_ptr_null(strchr(enc, '='));
		dec = malloc(len * 3 / 4 + 1);
		ck_assert_ptr_nonnull(dec);
		dn = b64url_decode(enc, len, dec);
		ck_assert_int_eq(dn, (long)n);
		ck_assert_mem_eq(dec, in, n);
		free(dec);
		free(enc);
	}
}
END_TEST

/* The decoded text is NUL-terminated within the documented buffer, for callers like HTTP Basic. */
START_TEST(test_decode_nul_terminates)
{
	unsigned char out[16];

	memset(out, 'x', sizeof out);
	ck_assert_int_eq(b64_decode("dXNlcjpwYXNz", 12, out), 9);
	ck_assert_str_eq((char *)out, "user:pass");
	memset(out, 'x', sizeof out);
	ck_assert_int_eq(b64url_decode("Zm8", 3, out), 2);
	ck_assert_str_eq((char *)out, "fo");
}
END_TEST

static Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_url_encode_rfc4648);
	tcase_add_test(tc, test_url_decode_rfc4648);
	tcase_add_test(tc, test_std_decode_rfc4648);
	tcase_add_test(tc, test_alphabets_62_63);
	tcase_add_test(tc, test_url_invalid);
	tcase_add_test(tc, test_std_invalid);
	tcase_add_test(tc, test_round_trip_lengths);
	tcase_add_test(tc, test_decode_nul_terminates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(b64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
