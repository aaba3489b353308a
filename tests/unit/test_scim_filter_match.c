/* test_scim_filter_match.c - SCIM filters evaluated in memory against JSON resources (scimf_match,
 * lib/scim/scim_filter_match.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_filter.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(s) ((s) ? (s) : "(null)")

static const char *const users_json[] = {
	/* 0: bjensen, RFC 7643 §8.2 shaped */
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\","
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
	" \"id\": \"2819c223\", \"userName\": \"bjensen@example.com\", \"externalId\": \"bj\","
	" \"name\": {\"familyName\": \"Jensen\", \"givenName\": \"Barbara\"},"
	" \"title\": \"Tour Guide\", \"userType\": \"Employee\", \"active\": true, \"age\": 34,"
	" \"emails\": [{\"value\": \"bjensen@example.com\", \"type\": \"work\", \"primary\": true},"
	"  {\"value\": \"babs@jensen.org\", \"type\": \"home\"}],"
	" \"ims\": [{\"value\": \"someaimhandle\", \"type\": \"aim\"}],"
	" \"meta\": {\"lastModified\": \"2011-05-13T04:42:34Z\"},"
	" \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
	"  {\"employeeNumber\": \"701984\", \"manager\": {\"value\": \"26118915\"}}}",
	/* 1: an intern with few attributes */
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
	" \"userName\": \"O'Malley\", \"userType\": \"Intern\", \"title\": \"\", \"active\": false,"
	" \"age\": 19.5, \"emails\": [], \"nickName\": null,"
	" \"ims\": [{\"value\": \"om@foo.com\", \"type\": \"xmpp\"}],"
	" \"meta\": {\"lastModified\": \"2015-01-01T00:00:00Z\"}}",
};

static const struct {
	const char *filter;
	int user, match;
} match_rows[] = {
	{"userName eq \"bjensen@example.com\"", 0, 1},
	{"USERNAME eq \"BJENSEN@EXAMPLE.COM\"", 0, 1},
	{"userName eq \"bjensen\"", 0, 0},
	{"userName sw \"bj\"", 0, 1},
	{"userName ew \"EXAMPLE.com\"", 0, 1},
	{"userName co \"sen@ex\"", 0, 1},
	{"userName ne \"x\"", 0, 1},
	{"userName ne \"bjensen@example.com\"", 0, 0},
	{"name.familyName co \"O'Malley\"", 0, 0},
	{"userName co \"'mal\"", 1, 1},
	{"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"B\"", 0, 1},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"", 0, 1},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915\"", 0, 1},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr", 1, 0},
	{"urn:example:params:other:userName pr", 0, 0},
	{"title pr", 0, 1},
	{"title pr", 1, 0},
	{"nickName pr", 1, 0},
	{"emails pr", 1, 0},
	{"emails pr", 0, 1},
	{"name pr", 0, 1},
	{"nickName eq null", 1, 1},
	{"missing eq null", 1, 1},
	{"title eq null", 0, 0},
	{"title ne null", 0, 1},
	{"meta.lastModified gt \"2011-05-13T04:42:34Z\"", 0, 0},
	{"meta.lastModified ge \"2011-05-13T04:42:34Z\"", 0, 1},
	{"meta.lastModified gt \"2011-05-13T04:42:34Z\"", 1, 1},
	{"meta.lastModified lt \"2012-01-01\"", 0, 1},
	{"meta.lastModified le \"2011-05-13T04:42:33Z\"", 0, 0},
	{"title pr and userType eq \"Employee\"", 0, 1},
	{"title pr and userType eq \"Employee\"", 1, 0},
	{"title pr or userType eq \"Intern\"", 1, 1},
	{"userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")", 0, 1},
	{"userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")", 1, 1},
	{"userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")", 0, 0},
	{"userType eq \"Employee\" and (emails.type eq \"work\")", 0, 1},
	{"emails.value eq \"babs@jensen.org\"", 0, 1},
	{"emails.value eq \"nobody@jensen.org\"", 0, 0},
	{"emails[type eq \"work\" and value co \"@example.com\"]", 0, 1},
	{"emails[type eq \"home\" and value co \"@example.com\"]", 0, 0},
	{"emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]", 1, 1},
	{"emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]", 0, 1},
	{"emails[primary eq true]", 0, 1},
	{"emails[not (primary eq true)]", 0, 1},
	{"emails[primary eq true]", 1, 0},
	{"name[givenName sw \"bar\"]", 0, 1},
	{"active eq true", 0, 1},
	{"active eq true", 1, 0},
	{"active ne true", 1, 1},
	{"active eq \"true\"", 0, 0},
	{"age gt 30", 0, 1},
	{"age gt 30", 1, 0},
	{"age ge 34", 0, 1},
	{"age lt 34.5", 0, 1},
	{"age eq 19.5", 1, 1},
	{"age lt 20", 1, 1},
	{"age eq \"34\"", 0, 0},
	{"a eq 1 or b eq 2 and c eq 3", 0, 0},
	{"userName eq \"a' OR 1=1--\"", 0, 0},
	{"not (userName pr)", 0, 0},
	{"schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"", 0, 1},
	{"schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"", 1, 0},
};

START_TEST(test_match)
{
	json_error_t jerr;
	json_t *u = json_loads(users_json[match_rows[_i].user], JSON_REJECT_DUPLICATES, &jerr);
	struct scimf_node *n = NULL;
	const char *why = NULL;

	ck_assert_msg(u != NULL, "%s", jerr.text);
	ck_assert_msg(scimf_parse(match_rows[_i].filter, &n, &why) == TS_OK, "%s: %s",
		      match_rows[_i].filter, S(why));
	ck_assert_msg(scimf_match(n, u, 0) == match_rows[_i].match, "%s on user %d",
		      match_rows[_i].filter, match_rows[_i].user);
	scimf_free(n);
	json_decref(u);
}
END_TEST

START_TEST(test_match_case_exact)
{
	json_t *u = json_loads(users_json[0], 0, NULL);
	struct scimf_node *n = NULL;

	ck_assert_int_eq(scimf_parse("userName eq \"BJensen@example.com\"", &n, NULL), TS_OK);
	ck_assert_int_eq(scimf_match(n, u, 0), 1);
	ck_assert_int_eq(scimf_match(n, u, 1), 0);
	scimf_free(n);
	ck_assert_int_eq(scimf_parse("userName eq \"bjensen@example.com\"", &n, NULL), TS_OK);
	ck_assert_int_eq(scimf_match(n, u, 1), 1);
	scimf_free(n);
	ck_assert_int_eq(scimf_parse("title gt \"tour\"", &n, NULL), TS_OK);
	ck_assert_int_eq(scimf_match(n, u, 0), 1);  /* "tour guide" > "tour" */
	ck_assert_int_eq(scimf_match(n, u, 1), 0);  /* 'T' < 't' */
	scimf_free(n);
	ck_assert_int_eq(scimf_match(NULL, u, 0), 0);
	json_decref(u);
}
END_TEST

static Suite *scim_filter_match_suite(void)
{
	Suite *s = suite_create("scim_filter_match");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_match, 0, N(match_rows));
	tcase_add_test(tc, test_match_case_exact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_filter_match_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
