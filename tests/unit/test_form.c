/* Unit tests for lib/form: urlencoded forms, Basic credentials, UTF-8. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "form.h"
#include "secret.h"

static struct form *parse(const char *s, ts_err want)
{
	struct form *f = NULL;
	const char *why = NULL;
	ts_err rc = form_parse(s, strlen(s), &f, &why);

	ck_assert_int_eq(rc, want);
	if (want != TS_OK) {
		ck_assert_ptr_null(f);
		ck_assert_ptr_nonnull(why);
	}
	return f;
}

START_TEST(test_parse_basic)
{
	struct form *f = parse("grant_type=client_credentials&scope=mqtt%3Apub%3Aa%2F%23+x&e=&flag",
	                       TS_OK);

	ck_assert_uint_eq(f->n, 4);
	ck_assert_str_eq(form_get(f, "grant_type"), "client_credentials");
	ck_assert_str_eq(form_get(f, "scope"), "mqtt:pub:a/# x");
	ck_assert_str_eq(form_get(f, "e"), "");
	ck_assert_str_eq(form_get(f, "flag"), "");
	ck_assert_ptr_null(form_get(f, "missing"));
	form_free(f);
}
END_TEST

START_TEST(test_parse_empty_segments)
{
	struct form *f = parse("&&a=1&&", TS_OK);

	ck_assert_uint_eq(f->n, 1);
	ck_assert_str_eq(form_get(f, "a"), "1");
	form_free(f);
	f = parse("", TS_OK);
	ck_assert_uint_eq(f->n, 0);
	form_free(f);
}
END_TEST

START_TEST(test_parse_rejects)
{
	parse("scope=a&scope=b", TS_INVALID_REQUEST);        /* repeated (RFC 6749 §3.1) */
	parse("x=1&x=1", TS_INVALID_REQUEST);
	parse("a=%zz", TS_INVALID_REQUEST);                   /* bad escape */
	parse("a=%4", TS_INVALID_REQUEST);
	parse("a=%", TS_INVALID_REQUEST);
	parse("a=b%00c", TS_INVALID_REQUEST);                 /* NUL */
	parse("a=%FF", TS_INVALID_REQUEST);                   /* invalid UTF-8 */
	parse("a=%C0%AF", TS_INVALID_REQUEST);                /* overlong */
	parse("a=%ED%A0%80", TS_INVALID_REQUEST);             /* surrogate */
	parse("%FF=1", TS_INVALID_REQUEST);
}
END_TEST

START_TEST(test_parse_repeats)
{
	struct form *f = NULL;
	const char *why;
	const char *body = "a=1&scope=x&b=2&scope=y&a=3";

	ck_assert_int_eq(form_parse_repeats(body, strlen(body), &f, &why), TS_OK);
	ck_assert_uint_eq(f->n, 3);
	ck_assert_str_eq(f->repeated, "scope");   /* the first repetition met */
	ck_assert_str_eq(form_get(f, "a"), "1");  /* first value kept */
	ck_assert_str_eq(form_get(f, "scope"), "x");
	form_free(f);
	ck_assert_int_eq(form_parse_repeats("a=1&b=2", 7, &f, &why), TS_OK);
	ck_assert_ptr_null(f->repeated);
	form_free(f);
	/* everything else is still refused */
	ck_assert_int_eq(form_parse_repeats("a=%00", 5, &f, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_parse_too_many)
{
	char buf[FORM_MAX_PAIRS * 8 + 16];
	size_t o = 0;
	int i;

	for (i = 0; i <= FORM_MAX_PAIRS; i++)
		o += (size_t)sprintf(buf + o, "k%d=1&", i);
	parse(buf, TS_INVALID_REQUEST);
}
END_TEST

START_TEST(test_parse_binary_length)
{
	/* the length given is what counts, not a NUL in the buffer */
	struct form *f = NULL;
	const char *why;

	ck_assert_int_eq(form_parse("a=1\0&b=2", 8, &f, &why), TS_INVALID_REQUEST);
	ck_assert_int_eq(form_parse("a=1&b=2", 3, &f, &why), TS_OK);
	ck_assert_uint_eq(f->n, 1);
	form_free(f);
	form_free(NULL);
}
END_TEST

START_TEST(test_utf8)
{
	ck_assert(form_utf8_valid((const unsigned char *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	ck_assert(!form_utf8_valid((const unsigned char *)"\xc3", 1));
	ck_assert(!form_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!form_utf8_valid((const unsigned char *)"\xe0\x80\x80", 3));     /* overlong */
	ck_assert(!form_utf8_valid((const unsigned char *)"\x80", 1));
}
END_TEST

static void basic(const char *header, ts_err want, const char *id, const char *secret)
{
	char *i = NULL, *s = NULL;

	ck_assert_int_eq(form_basic_auth(header, &i, &s), want);
	if (want == TS_OK) {
		ck_assert_str_eq(i, id);
		ck_assert_str_eq(s, secret);
	} else {
		ck_assert_ptr_null(i);
		ck_assert_ptr_null(s);
	}
	free(i);
	secret_free(s);
}

START_TEST(test_basic)
{
	basic("Basic ZGV2MTpzM2NyZXQ=", TS_OK, "dev1", "s3cret");           /* dev1:s3cret */
	basic("basic   ZGV2MTpzM2NyZXQ=  ", TS_OK, "dev1", "s3cret");
	/* RFC 6749 §2.3.1: both parts are form-urlencoded: "dev%3A1:a%2Bb+c" */
	basic("Basic ZGV2JTNBMTphJTJCYitj", TS_OK, "dev:1", "a+b c");
	basic("Basic ZGV2MTo=", TS_OK, "dev1", "");                          /* empty secret */
	basic(NULL, TS_NOT_FOUND, NULL, NULL);
	basic("Bearer abc", TS_NOT_FOUND, NULL, NULL);
	basic("Basicx", TS_NOT_FOUND, NULL, NULL);
	basic("Basic", TS_NOT_FOUND, NULL, NULL);
	basic("Basic ", TS_INVALID_CLIENT, NULL, NULL);
	basic("Basic !!!!", TS_INVALID_CLIENT, NULL, NULL);                  /* broken base64 */
	basic("Basic ZGV2MQ==", TS_INVALID_CLIENT, NULL, NULL);              /* no colon */
	basic("Basic OnNlY3JldA==", TS_INVALID_CLIENT, NULL, NULL);          /* empty id */
	basic("Basic ZGV2MTolMDA=", TS_INVALID_CLIENT, NULL, NULL);          /* %00 in secret */
	basic("Basic ZGV2MTol", TS_INVALID_CLIENT, NULL, NULL);              /* "dev1:%" */
}
END_TEST

START_TEST(test_basic_overlong)
{
	char *h = malloc(4000), *i, *s;

	strcpy(h, "Basic ");
	memset(h + 6, 'Q', 3000);
	h[3006] = '\0';
	ck_assert_int_eq(form_basic_auth(h, &i, &s), TS_INVALID_CLIENT);
	free(h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("form");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_parse_basic);
	tcase_add_test(t, test_parse_empty_segments);
	tcase_add_test(t, test_parse_rejects);
	tcase_add_test(t, test_parse_repeats);
	tcase_add_test(t, test_parse_too_many);
	tcase_add_test(t, test_parse_binary_length);
	tcase_add_test(t, test_utf8);
	tcase_add_test(t, test_basic);
	tcase_add_test(t, test_basic_overlong);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
