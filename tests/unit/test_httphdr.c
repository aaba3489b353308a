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

/* The verdict on a request whose header fields are the NULL-terminated name, value pairs. */
static const char *framing(int http10, const char *const *fields)
{
	struct httphdr_framing f = {0};

	for (; *fields; fields += 2)
		httphdr_framing_field(&f, fields[0], fields[1]);
	return httphdr_framing_check(&f, http10);
}

/* RFC 9112 §6.1, §6.3 and RFC 9110 §5.1, §8.6 (issue 19 item 13): the framing a proxy in front
 * could read otherwise is refused. */
START_TEST(test_framing_refused)
{
	static const char *const cases[][8] = {
		{"Content-Length", "5", "Content-Length", "50", NULL},
		{"Content-Length", "5", "content-length", "6", NULL},
		{"Content-Length", "5x", NULL},
		{"Content-Length", "", NULL},
		{"Content-Length", "-1", NULL},
		{"Content-Length", "5", "Content-Length", "+5", NULL},
		{"Content-Length", "40", "Transfer-Encoding", "chunked", NULL},
		{"Transfer-Encoding", "chunked", "Content-Length", "0", NULL},
		{"Transfer-Encoding ", "chunked", NULL},      /* "Transfer-Encoding : chunked" */
		{" Transfer-Encoding", "chunked", NULL},
		{"Transfer Encoding", "chunked", NULL},
		{"", "x", NULL},
		{"X-A", "a\rb", NULL},                         /* a bare CR */
		{"X-A", "a\001b", NULL},
		{"X-A", "a\177", NULL},
		{"Transfer-Encoding", "chunked, identity", NULL},
		{"Transfer-Encoding", "identity", NULL},
		{"Transfer-Encoding", "gzip", NULL},
		{"Transfer-Encoding", "gzip, chunked", NULL},
		{"Transfer-Encoding", "chunked, chunked", NULL},
		{"Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked", NULL},
		{"Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked", NULL},
		{"Transfer-Encoding", "chunked ", NULL},
		{"Transfer-Encoding", ",chunked", NULL},
		{"Transfer-Encoding", "chunked;x=1", NULL},
		{"Transfer-Encoding", "", NULL},
		{"Transfer-Encoding", "\"chunked\"", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(framing(0, cases[i]) != NULL, "accepted case %zu: %s: %s", i,
		              cases[i][0], cases[i][1]);
	/* HTTP/1.0 has no Transfer-Encoding (RFC 9112 §6.1) */
	ck_assert_ptr_nonnull(framing(1, (const char *const[]){"Transfer-Encoding", "chunked",
	                                                          NULL}));
	/* the reasons say which */
	ck_assert_str_eq(framing(0, cases[0]), "Content-Length repeated with different values");
	ck_assert_str_eq(framing(0, cases[6]), "both Content-Length and Transfer-Encoding");
	ck_assert_str_eq(framing(0, cases[8]), "malformed header field name");
	ck_assert_str_eq(framing(0, cases[15]), "Transfer-Encoding must end with chunked");
	ck_assert_str_eq(framing(0, cases[18]),
	                 "unsupported transfer coding: only chunked is accepted");
}
END_TEST

START_TEST(test_framing_accepted)
{
	static const char *const cases[][10] = {
		{NULL},
		{"Host", "x", "Content-Length", "5", NULL},
		{"Content-Length", "5", "Content-Length", "5", NULL},     /* the same value twice */
		{"Content-Length", "5", "Content-Length", "005", NULL},
		{"Content-Length", "0", "Content-Length", "000", NULL},
		{"Transfer-Encoding", "chunked", NULL},
		{"transfer-encoding", "Chunked", NULL},
		{"X-Tab", "a\tb", "X-High", "caf\xc3\xa9", "X-Empty", "", NULL},
		{"!#$%&'*+-.^_`|~09azAZ", "tchars", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(framing(0, cases[i]) == NULL, "refused case %zu: %s", i,
		              framing(0, cases[i]));
	ck_assert_ptr_null(framing(1, (const char *const[]){"Content-Length", "3", NULL}));
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
	tcase_add_test(tc, test_framing_refused);
	tcase_add_test(tc, test_framing_accepted);
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
