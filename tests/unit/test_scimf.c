/* test_scimf.c - SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2): parse and print
 * (lib/scim/scim_filter_lex.c, _parse.c, _print.c); matching is tested in
 * test_scim_filter_match.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_filter.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(s) ((s) ? (s) : "(null)")

/* ---- filters that parse, with their canonical form ---- */

static const struct {
	const char *in, *out;
} ok_rows[] = {
	/* RFC 7644 §3.4.2.2, every example filter */
	{"userName eq \"bjensen\"", "username eq \"bjensen\""},
	{"name.familyName co \"O'Malley\"", "name.familyname co \"O'Malley\""},
	{"userName sw \"J\"", "username sw \"J\""},
	{"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
	 "urn:ietf:params:scim:schemas:core:2.0:user:username sw \"J\""},
	{"title pr", "title pr"},
	{"meta.lastModified gt \"2011-05-13T04:42:34Z\"", "meta.lastmodified gt \"2011-05-13T04:42:34Z\""},
	{"meta.lastModified ge \"2011-05-13T04:42:34Z\"", "meta.lastmodified ge \"2011-05-13T04:42:34Z\""},
	{"meta.lastModified lt \"2011-05-13T04:42:34Z\"", "meta.lastmodified lt \"2011-05-13T04:42:34Z\""},
	{"meta.lastModified le \"2011-05-13T04:42:34Z\"", "meta.lastmodified le \"2011-05-13T04:42:34Z\""},
	{"title pr and userType eq \"Employee\"", "(title pr and usertype eq \"Employee\")"},
	{"title pr or userType eq \"Intern\"", "(title pr or usertype eq \"Intern\")"},
	{"schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
	 "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\""},
	{"userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
	 "(usertype eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\"))"},
	{"userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")",
	 "(usertype ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\"))"},
	{"userType eq \"Employee\" and (emails.type eq \"work\")",
	 "(usertype eq \"Employee\" and emails.type eq \"work\")"},
	{"userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
	 "(usertype eq \"Employee\" and emails[(type eq \"work\" and value co \"@example.com\")])"},
	{"emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]",
	 "(emails[(type eq \"work\" and value co \"@example.com\")] or "
	 "ims[(type eq \"xmpp\" and value co \"@foo.com\")])"},
	/* precedence: and binds tighter than or; chains stay n-ary */
	{"a eq 1 or b eq 2 and c eq 3", "(a eq 1 or (b eq 2 and c eq 3))"},
	{"a eq 1 and b eq 2 or c eq 3", "((a eq 1 and b eq 2) or c eq 3)"},
	{"a pr and b pr and c pr", "(a pr and b pr and c pr)"},
	{"a pr or b pr or c pr and d pr", "(a pr or b pr or (c pr and d pr))"},
	{"(a pr or b pr) and c pr", "((a pr or b pr) and c pr)"},
	{"not (a pr) and b pr", "(not (a pr) and b pr)"},
	{"not (not (a pr))", "not (not (a pr))"},
	/* case-insensitive keywords and operators, extra spaces */
	{"title PR AND userType Eq \"Employee\"", "(title pr and usertype eq \"Employee\")"},
	{"  active   EQ   True  ", "active eq true"},
	{"active ne FALSE", "active ne false"},
	{"manager eq NULL", "manager eq null"},
	{"NOT(a pr)", "not (a pr)"},
	{"( a pr )Or( b pr )", "(a pr or b pr)"},
	{"emails[ type eq \"work\" ]", "emails[type eq \"work\"]"},
	{"a pr\tand\tb pr", "(a pr and b pr)"},
	/* strings holding syntax, escapes and UTF-8 */
	{"a eq \"x\\\"y\"", "a eq \"x\\\"y\""},
	{"a eq \"])( and or\"", "a eq \"])( and or\""},
	{"emails[value eq \"]\"]", "emails[value eq \"]\"]"},
	{"a eq \"a' OR 1=1--\"", "a eq \"a' OR 1=1--\""},
	{"a eq \"\\u00e9\\/\\\\\\n\"", "a eq \"\xc3\xa9/\\\\\\u000a\""},
	{"a eq \"\\ud83d\\ude00\"", "a eq \"\xf0\x9f\x98\x80\""},
	{"a eq \"caf\xc3\xa9\"", "a eq \"caf\xc3\xa9\""},
	{"a eq \"\"", "a eq \"\""},
	/* numbers */
	{"age gt 30", "age gt 30"},
	{"x lt -1.5e3", "x lt -1.5e3"},
	{"x eq 0", "x eq 0"},
	/* attributes that look like keywords */
	{"not eq 1", "not eq 1"},
	{"and pr or or pr", "(and pr or or pr)"},
	/* Entra ID / Okta shapes */
	/* (Entra ID's look-up by email: a comparison of the value path's sub-attribute) */
	{"emails[type eq \"work\"].value eq \"a@b.c\"",
	 "emails[(type eq \"work\" and value eq \"a@b.c\")]"},
	{"EMAILS[type eq \"work\"].Value pr", "emails[(type eq \"work\" and value pr)]"},
	{"emails[type eq \"work\" or primary eq true].value sw \"a\" and userName pr",
	 "(emails[((type eq \"work\" or primary eq true) and value sw \"a\")] and username pr)"},
	{"userName eq \"test.user@example.com\"", "username eq \"test.user@example.com\""},
	{"externalId eq \"2f8a5d2c-0d0c-4c33-9c5b-6b3d7b0e2f11\"",
	 "externalid eq \"2f8a5d2c-0d0c-4c33-9c5b-6b3d7b0e2f11\""},
	{"displayName eq \"Group\"", "displayname eq \"Group\""},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
	 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber eq \"701984\""},
	{"urn:tessera:params:scim:schemas:2.0:Client:clientId eq \"dev-1\"",
	 "urn:tessera:params:scim:schemas:2.0:client:clientid eq \"dev-1\""},
	{"members[value eq \"2819c223\"]", "members[value eq \"2819c223\"]"},
};

START_TEST(test_parse_ok)
{
	struct scimf_node *n = NULL;
	const char *why = "x";
	char *s;
	ts_err e = scimf_parse(ok_rows[_i].in, &n, &why);

	ck_assert_msg(e == TS_OK, "%s: %d %s", ok_rows[_i].in, e, S(why));
	ck_assert_ptr_null(why);
	s = scimf_print(n);
	ck_assert_str_eq(s, ok_rows[_i].out);
	/* the canonical form parses to itself */
	scimf_free(n);
	n = NULL;
	ck_assert_int_eq(scimf_parse(s, &n, NULL), TS_OK);
	{
		char *s2 = scimf_print(n);

		ck_assert_str_eq(s2, s);
		free(s2);
	}
	free(s);
	scimf_free(n);
}
END_TEST

/* ---- filters that do not parse ---- */

static const char *const bad_rows[] = {
	"",
	"   ",
	"userName xx \"a\"",
	"userName equals \"a\"",
	"userName eq",
	"userName eq ",
	"userName",
	"userName ",
	"(userName eq \"a\"",
	"userName eq \"a\")",
	"((a pr)",
	"(a pr))",
	"()",
	"title pr \"x\"",
	"title pr true",
	"userName eq \"a\" garbage",
	"userName eq \"a\" and",
	"userName eq \"a\" or ",
	"and",
	"a pr and or b pr",
	"emails[type[value eq 1]]",
	"emails[type eq \"work\"",
	"emails]",
	"emails[]",
	"emails[type eq \"work\"].value",
	"emails[type eq \"work\"].value xx \"x\"",
	"emails[type eq \"work\"].1value eq \"x\"",
	"emails[type eq \"work\"]. value eq \"x\"",
	"emails[type eq \"work\"].value.x eq \"x\"",
	"emails[type eq \"work\"].value[x pr]",
	"name.givenName[x pr]",
	"emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq \"w\"]",
	"emails[type.x eq \"w\"]",
	"a eq \"abc",
	"a eq \"ab\\q\"",
	"a eq \"ab\\u12\"",
	"a eq \"\\ud83d\"",
	"a eq \"\\ude00\"",
	"a eq \"\\u0000\"",
	"a eq \"\xff\"",
	"a eq \"\xc0\xaf\"",
	"a eq \"\xed\xa0\x80\"",
	"a eq \"\xf4\x90\x80\x80\"",
	"a eq \"\xc3\"",
	"a eq \"tab\there\"",
	"a eq \"nl\nhere\"",
	"a eq 'x'",
	"a eq x",
	"a eq 01",
	"a eq 1.",
	"a eq -",
	"a eq 1e",
	"a eq \"x\"and b pr",
	"a eq 1and b pr",
	"a eq truex",
	"a gt true",
	"a lt null",
	"a co 1",
	"a sw true",
	"1a eq 1",
	"a..b eq 1",
	"a.b.c eq 1",
	"a.1 eq 1",
	"_a eq 1",
	"urn:ietf:params:scim:schemas:core:2.0:User",
	"urn:ietf:params:scim:schemas:core:2.0:User eq \"x\"",
	"urn:ietf:params:scim:schemas:core:2.0:User: eq \"x\"",
	"urn:x eq 1",
	"http://example.com:a eq 1",
	"not a pr",
	"userName eq\"a\"",
	"userName\"a\"",
	"a pr;",
	"[x eq 1]",
};

START_TEST(test_parse_bad)
{
	struct scimf_node *n = (struct scimf_node *)1;
	const char *why = NULL;
	ts_err e = scimf_parse(bad_rows[_i], &n, &why);

	ck_assert_msg(e == TS_INVALID_REQUEST, "%s: %d", bad_rows[_i], e);
	ck_assert_ptr_null(n);
	ck_assert_ptr_nonnull(why);
	ck_assert(strlen(why) > 0);
}
END_TEST

START_TEST(test_parse_null)
{
	struct scimf_node *n = NULL;
	const char *why = NULL;

	ck_assert_int_eq(scimf_parse(NULL, &n, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(why);
	scimf_free(NULL);
	scimf_path_free(NULL);
	ck_assert_ptr_null(scimf_print(NULL));
	ck_assert_int_eq(scimf_match(NULL, NULL, 0), 0);
}
END_TEST

/* ---- limits ---- */

static char *repeat(const char *head, int n, const char *mid, const char *tail, int m)
{
	size_t len = strlen(head) * (size_t)n + strlen(mid) + strlen(tail) * (size_t)m + 1;
	char *s = malloc(len), *p = s;
	int i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		p = stpcpy(p, head);
	p = stpcpy(p, mid);
	for (i = 0; i < m; i++)
		p = stpcpy(p, tail);
	return s;
}

START_TEST(test_limits)
{
	struct scimf_node *n = NULL;
	const char *why = NULL;
	char *s;

	/* nesting: 32 levels parse, 33 do not, nor 100000 (no stack overflow) */
	s = repeat("(", 32, "a pr", ")", 32);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("(", 33, "a pr", ")", 33);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	ck_assert_str_eq(why, "filter nested too deeply");
	free(s);
	s = repeat("not (", 32, "a pr", ")", 32);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("not (", 33, "a pr", ")", 33);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	free(s);
	s = repeat("(", 4000, "", "", 0);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	free(s);
	s = repeat("not (", 800, "", "", 0);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	free(s);
	s = repeat("(", 31, "e[a pr]", ")", 31); /* the bracket is the 32nd level */
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("(", 32, "e[a pr]", ")", 32);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	free(s);
	/* the canonical form nests deeper than the text: "a or b and c" prints as
	 * "(a or (b and c))"; it must stay within the limit to parse again (the fixed point
	 * that tests/fuzz/fuzz_scim_filter.c checks) */
	s = repeat("not (", 31, "a pr or b pr and c pr", ")", 31);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	free(s);
	s = scimf_print(n);
	scimf_free(n);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("not (", 32, "a pr or b pr and c pr", ")", 32);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	ck_assert_str_eq(why, "filter nested too deeply");
	ck_assert_ptr_null(n);
	free(s);
	s = repeat("a pr or b pr and (", 16, "c pr", ")", 16); /* 16 levels, printed 32 */
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("a pr or b pr and (", 17, "c pr", ")", 17);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	ck_assert_str_eq(why, "filter nested too deeply");
	free(s);
	/* length: 4096 bytes parse, 4097 do not */
	s = repeat("a pr and ", 454, "abcd pr", "", 0);
	ck_assert_uint_eq(strlen(s), 4093);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	ck_assert_uint_eq(n->nkids, 455);
	scimf_free(n);
	free(s);
	s = repeat("a pr and ", 454, "abcdefg pr", "", 0);
	ck_assert_uint_eq(strlen(s), 4096);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_OK);
	scimf_free(n);
	free(s);
	s = repeat("a pr and ", 454, "abcdefgh pr", "", 0);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	ck_assert_str_eq(why, "filter too long");
	free(s);
	s = repeat("x", 100000, "", "", 0);
	ck_assert_int_eq(scimf_parse(s, &n, &why), TS_INVALID_REQUEST);
	free(s);
}
END_TEST

/* ---- the tree itself ---- */

START_TEST(test_tree)
{
	struct scimf_node *n = NULL, *k;

	ck_assert_int_eq(scimf_parse("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName "
				     "Co \"O\\\"Ma\\u006Cley\"", &n, NULL), TS_OK);
	ck_assert_int_eq(n->kind, SCIMF_CMP);
	ck_assert_int_eq(n->op, SCIMF_CO);
	ck_assert_str_eq(n->attr.urn, "urn:ietf:params:scim:schemas:core:2.0:User");
	ck_assert_str_eq(n->attr.urn_lc, "urn:ietf:params:scim:schemas:core:2.0:user");
	ck_assert_str_eq(n->attr.name, "name");
	ck_assert_str_eq(n->attr.sub, "familyName");
	ck_assert_str_eq(n->attr.sub_lc, "familyname");
	ck_assert_int_eq(n->value.type, SCIMF_V_STRING);
	ck_assert_str_eq(n->value.str, "O\"Malley");
	ck_assert_uint_eq(n->value.len, 8);
	scimf_free(n);

	ck_assert_int_eq(scimf_parse("emails[type eq \"work\"] and age ge 21 and x lt 2.5", &n, NULL),
			 TS_OK);
	ck_assert_int_eq(n->kind, SCIMF_AND);
	ck_assert_uint_eq(n->nkids, 3);
	k = n->kids[0];
	ck_assert_int_eq(k->kind, SCIMF_VALUEPATH);
	ck_assert_str_eq(k->attr.name, "emails");
	ck_assert_ptr_null(k->attr.sub);
	ck_assert_ptr_null(k->attr.urn);
	ck_assert_uint_eq(k->nkids, 1);
	ck_assert_int_eq(k->kids[0]->kind, SCIMF_CMP);
	ck_assert_str_eq(k->kids[0]->attr.name, "type");
	k = n->kids[1];
	ck_assert_int_eq(k->value.type, SCIMF_V_NUMBER);
	ck_assert(k->value.is_int);
	ck_assert_int_eq(k->value.i, 21);
	ck_assert_str_eq(k->value.str, "21");
	k = n->kids[2];
	ck_assert(!k->value.is_int);
	ck_assert(k->value.d == 2.5);
	ck_assert_str_eq(k->value.str, "2.5");
	scimf_free(n);

	ck_assert_int_eq(scimf_parse("x eq 99999999999999999999", &n, NULL), TS_OK);
	ck_assert(!n->value.is_int);
	scimf_free(n);
}
END_TEST

/* ---- PATCH paths ---- */

static const struct {
	const char *in;
	const char *urn, *name, *sub, *filter;
} path_rows[] = {
	{"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]", NULL, "members", NULL,
	 "value eq \"2819c223-7f76-453a-919d-413861904646\""},
	{"emails[type eq \"work\"]", NULL, "emails", NULL, "type eq \"work\""},
	{"addresses[type eq \"work\"].streetAddress", NULL, "addresses", "streetAddress",
	 "type eq \"work\""},
	{"emails[type eq \"work\"].value", NULL, "emails", "value", "type eq \"work\""},
	{"name.familyName", NULL, "name", "familyName", NULL},
	{"members", NULL, "members", NULL, NULL},
	{"userName", NULL, "userName", NULL, NULL},
	{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
	 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", NULL, NULL},
	{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
	 "urn:ietf:params:scim:schemas:core:2.0:User", "name", "givenName", NULL},
	{"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\" and primary eq true].value",
	 "urn:ietf:params:scim:schemas:core:2.0:User", "emails", "value",
	 "(type eq \"work\" and primary eq true)"},
	{"emails[value eq \"a].b\"]", NULL, "emails", NULL, "value eq \"a].b\""},
	{"emails[not (type eq \"home\")]", NULL, "emails", NULL, "not (type eq \"home\")"},
};

START_TEST(test_path_ok)
{
	struct scimf_path *p = NULL;
	const char *why = "x";
	ts_err e = scimf_parse_path(path_rows[_i].in, &p, &why);

	ck_assert_msg(e == TS_OK, "%s: %d %s", path_rows[_i].in, e, S(why));
	ck_assert_ptr_null(why);
	ck_assert_str_eq(S(p->attr.urn), S(path_rows[_i].urn));
	ck_assert_str_eq(p->attr.name, path_rows[_i].name);
	ck_assert_str_eq(S(p->attr.sub), S(path_rows[_i].sub));
	if (path_rows[_i].filter) {
		char *s = scimf_print(p->filter);

		ck_assert_str_eq(s, path_rows[_i].filter);
		free(s);
	} else {
		ck_assert_ptr_null(p->filter);
	}
	scimf_path_free(p);
}
END_TEST

static const char *const path_bad_rows[] = {
	"",
	"emails[",
	"emails[type eq \"work\"",
	"emails]",
	"[x eq 1]",
	"a..b",
	"a.b.c",
	"a.",
	".a",
	"emails[]",
	"emails[type eq \"work\"].",
	"emails[type eq \"work\"]x",
	"emails[type eq \"work\"].value.x",
	"emails[type eq \"work\"][value pr]",
	"emails[type[value eq 1]]",
	"emails[type eq \"work\"]]",
	"name.givenName[x pr]",
	"urn:ietf:params:scim:schemas:core:2.0:User",
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
	"urn:ietf:params:scim:schemas:core:2.0:User:",
	" userName",
	"userName ",
	"user name",
	"emails[type xx \"work\"]",
	"emails[type eq \"wo\rk\"]",
};

START_TEST(test_path_bad)
{
	struct scimf_path *p = (struct scimf_path *)1;
	const char *why = NULL;
	ts_err e = scimf_parse_path(path_bad_rows[_i], &p, &why);

	ck_assert_msg(e == TS_INVALID_REQUEST, "%s: %d", path_bad_rows[_i], e);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_path_limits)
{
	struct scimf_path *p = NULL;
	const char *why = NULL;
	char *s, *t;

	/* "emails[" is the first level, then 31 parentheses: 32 in all */
	s = repeat("(", 31, "a pr", ")", 31);
	t = malloc(strlen(s) + 16);
	strcat(strcat(strcpy(t, "emails["), s), "]");
	ck_assert_int_eq(scimf_parse_path(t, &p, NULL), TS_OK);
	scimf_path_free(p);
	free(s);
	free(t);
	s = repeat("(", 32, "a pr", ")", 32);
	t = malloc(strlen(s) + 16);
	strcat(strcat(strcpy(t, "emails["), s), "]");
	ck_assert_int_eq(scimf_parse_path(t, &p, NULL), TS_INVALID_REQUEST);
	free(s);
	free(t);
	/* the value filter's canonical form counts: "emails[(a pr or (b pr and c pr))]" */
	s = repeat("not (", 30, "a pr or b pr and c pr", ")", 30);
	t = malloc(strlen(s) + 16);
	strcat(strcat(strcpy(t, "emails["), s), "]");
	ck_assert_int_eq(scimf_parse_path(t, &p, NULL), TS_OK);
	scimf_path_free(p);
	free(s);
	free(t);
	s = repeat("not (", 31, "a pr or b pr and c pr", ")", 31);
	t = malloc(strlen(s) + 16);
	strcat(strcat(strcpy(t, "emails["), s), "]");
	ck_assert_int_eq(scimf_parse_path(t, &p, &why), TS_INVALID_REQUEST);
	ck_assert_str_eq(why, "filter nested too deeply");
	ck_assert_ptr_null(p);
	free(s);
	free(t);
	s = repeat("a", 4097, "", "", 0);
	ck_assert_int_eq(scimf_parse_path(s, &p, NULL), TS_INVALID_REQUEST);
	free(s);
	ck_assert_int_eq(scimf_parse_path(NULL, &p, NULL), TS_INVALID_REQUEST);
}
END_TEST

static Suite *scimf_suite(void)
{
	Suite *s = suite_create("scimf");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_parse_ok, 0, N(ok_rows));
	tcase_add_loop_test(tc, test_parse_bad, 0, N(bad_rows));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_tree);
	tcase_add_loop_test(tc, test_path_ok, 0, N(path_rows));
	tcase_add_loop_test(tc, test_path_bad, 0, N(path_bad_rows));
	tcase_add_test(tc, test_path_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scimf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
