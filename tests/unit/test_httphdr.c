/* test_httphdr.c - cookies in a Cookie header and entity tags in If-Match lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "httphdr.h"

/* Checks that the cookie called name in header is want (NULL: absent). */
static void assert_cookie(const char *header, const char *name, const char *want)
{
	size_t n = 0;
	const char *v = httphdr_cookie(header, name, &n);

	if (!want) {
		ck_assert_msg(v == NULL, "cookie %s in \"%s\": got \"%.*s\", want none", name,
			      header ? header : "(null)", v ? (int)n : 0, v ? v : "");
		return;
	}
	ck_assert_msg(v != NULL, "cookie %s in \"%s\": none, want \"%s\"", name, header, want);
	ck_assert_msg(n == strlen(want) && memcmp(v, want, n) == 0,
		      "cookie %s in \"%s\": \"%.*s\", want \"%s\"", name, header, (int)n, v, want);
	ck_assert_msg(v >= header && v + n <= header + strlen(header), "not inside the header");
}

START_TEST(test_cookie_found)
{
	assert_cookie("tessera_session=abc", "tessera_session", "abc");
	assert_cookie("a=1; tessera_csrf=xyz; b=2", "tessera_csrf", "xyz");
	assert_cookie("a=1;b=2", "b", "2");
	assert_cookie("  a = 1 \t;\tb=2", "a", "1");
	assert_cookie("a=\"quoted\"", "a", "quoted");
	assert_cookie("a=\"", "a", "\"");
	assert_cookie("a=", "a", "");
	assert_cookie("a=x=y", "a", "x=y");
	assert_cookie("__Host-tessera_session=v1; tessera_session=v2", "__Host-tessera_session", "v1");
	assert_cookie("__Host-tessera_session=v1; tessera_session=v2", "tessera_session", "v2");
}
END_TEST

START_TEST(test_cookie_first_of_repeated)
{
	/* RFC 6265 §5.4: the more specific cookie comes first; the first one wins */
	assert_cookie("s=first; s=second", "s", "first");
	assert_cookie("flag; s=1", "s", "1");
}
END_TEST

START_TEST(test_cookie_absent)
{
	assert_cookie(NULL, "s", NULL);
	assert_cookie("", "s", NULL);
	assert_cookie(";;;", "s", NULL);
	assert_cookie("s", "s", NULL);                 /* no '=' */
	assert_cookie("S=1", "s", NULL);               /* names are case-sensitive */
	assert_cookie("xs=1; sx=2", "s", NULL);        /* no prefix or suffix match */
	assert_cookie("a=s=1", "s", NULL);             /* inside a value */
	assert_cookie("tessera_session=1", "__Host-tessera_session", NULL);
}
END_TEST

START_TEST(test_etag_listed)
{
	const char *v = "W/\"3694e05e\"";

	ck_assert_int_eq(httphdr_etag_listed("W/\"3694e05e\"", v), 1);
	ck_assert_int_eq(httphdr_etag_listed("\"3694e05e\"", v), 1);     /* weak comparison */
	ck_assert_int_eq(httphdr_etag_listed("*", v), 1);
	ck_assert_int_eq(httphdr_etag_listed("  * ", v), 1);
	ck_assert_int_eq(httphdr_etag_listed("W/\"1\", W/\"3694e05e\"", v), 1);
	ck_assert_int_eq(httphdr_etag_listed("W/\"1\",W/\"3694e05e\" ,", v), 1);
	ck_assert_int_eq(httphdr_etag_listed("\"a,b\", \"3694e05e\"", v), 1); /* comma inside */
	ck_assert_int_eq(httphdr_etag_listed("W/\"3694e05e\"", "\"3694e05e\""), 1);
}
END_TEST

START_TEST(test_etag_not_listed)
{
	const char *v = "W/\"3694e05e\"";

	ck_assert_int_eq(httphdr_etag_listed(NULL, v), 0);
	ck_assert_int_eq(httphdr_etag_listed("", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("W/\"0\"", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("W/\"3694e05e0\"", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("W/\"3694e05\"", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("3694e05e", v), 0);          /* no quotes */
	ck_assert_int_eq(httphdr_etag_listed("w/\"3694e05e\"", v), 0);    /* W/ is case-sensitive */
	ck_assert_int_eq(httphdr_etag_listed("W/\"3694e05e\"x", v), 0);   /* junk after the tag */
	ck_assert_int_eq(httphdr_etag_listed("**", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("*x, \"1\"", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("\"a, W/\"3694e05e\"", v), 0); /* inside a tag */
	ck_assert_int_eq(httphdr_etag_listed("\"a, *", v), 0);               /* unclosed quote */
	ck_assert_int_eq(httphdr_etag_listed("W/\"a, W/\"3694e05e", v), 0);
	ck_assert_int_eq(httphdr_etag_listed("*", "not a tag"), 0);
	ck_assert_int_eq(httphdr_etag_listed("*", NULL), 0);
}
END_TEST

static Suite *httphdr_suite(void)
{
	Suite *s = suite_create("httphdr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cookie_found);
	tcase_add_test(tc, test_cookie_first_of_repeated);
	tcase_add_test(tc, test_cookie_absent);
	tcase_add_test(tc, test_etag_listed);
	tcase_add_test(tc, test_etag_not_listed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(httphdr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
