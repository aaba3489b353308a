/* test_scim_sql.c - SCIM filters compiled to SQL (lib/scim/scim_sql.c): every refusal, and the
 * main check: on a real database (every migration applied by store_open) with ~30 varied users,
 * groups, clients and grants, the rows each filter selects are exactly the resources scimf_match
 * accepts on their JSON representation. The exact SQL text, sortBy and index use are in
 * test_scim_sql_text.c; the database in scim_sql_fixture.c. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "scim_sql_fixture.h"
#include "scim_sql_corpus.h"

/* ---- the main check: SQL agrees with scimf_match ---- */

START_TEST(test_agree)
{
	char want[512], got[512];
	struct scim_sql q;
	struct scimf_node *n = compile(agree[_i].t, agree[_i].f, &q);

	sql_ids(&sets[agree[_i].t], agree[_i].f, &q, got, sizeof got);
	match_ids(&sets[agree[_i].t], n, agree[_i].ce, want, sizeof want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: SQL [%s] scimf_match [%s]\n%s", agree[_i].f,
		      got, want, q.where);
	if (agree[_i].ids)
		ck_assert_msg(strcmp(got, agree[_i].ids) == 0, "%s: [%s] expected [%s]",
			      agree[_i].f, got, agree[_i].ids);
	scim_sql_free(&q);
	scimf_free(n);
}
END_TEST

START_TEST(test_case_exact)
{
	char got[512];

	select_ids(exact[_i].t, exact[_i].f, got, sizeof got);
	ck_assert_msg(strcmp(got, exact[_i].ids) == 0, "%s: [%s] expected [%s]", exact[_i].f, got,
		      exact[_i].ids);
}
END_TEST

/* Extension attributes without their URN are the same as with it; the core URN is optional. */
START_TEST(test_urn_optional)
{
	static const char *const pairs[][2] = {
		{"department eq \"tour operations\"", ENT "department eq \"tour operations\""},
		{"department pr", ENT "department pr"},
		{"manager.displayName co \"smith\"", ENT "manager.displayName co \"smith\""},
		{"manager[displayName eq \"boss\"]", ENT "manager[displayName eq \"boss\"]"},
		{"employeeNumber lt \"5\"", ENT "employeeNumber lt \"5\""},
		{"scope co \"openid\"", TUS "scope co \"openid\""},
		{"not (scope pr)", "not (" TUS "scope pr)"},
		{"title pr", SCIM_CORE_USER ":title pr"},
		{"emails.type eq \"work\"", SCIM_CORE_USER ":emails.type eq \"work\""},
	};
	char a[512], b[512];
	int i;

	for (i = 0; i < N(pairs); i++) {
		select_ids(U, pairs[i][0], a, sizeof a);
		select_ids(U, pairs[i][1], b, sizeof b);
		ck_assert_msg(strcmp(a, b) == 0, "%s [%s] vs [%s]", pairs[i][0], a, b);
		ck_assert_msg(a[0] != '\0' || i == 4, "%s selects nothing", pairs[i][0]);
	}
	select_ids(U, "department eq \"tour operations\"", a, sizeof a);
	ck_assert_str_eq(a, "1");
	select_ids(G, "scope pr", a, sizeof a);
	ck_assert_str_eq(a, "1,3");
}
END_TEST

/* ---- refusals ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f;
} refused[] = {
	{U, "foo eq \"x\""},
	{U, "password eq \"secret\""},
	{U, "password pr"},
	{U, "active gt 1"},
	{U, "active le \"x\""},
	{U, "active eq 1"},
	{U, "active eq \"true\""},
	{U, "title eq 42"},
	{U, "title eq true"},
	{U, "title gt 1.5"},
	{U, "emails.primary eq \"true\""},
	{U, "emails.primary lt 1"},
	{U, "emails[primary ge 0]"},
	{U, "meta.created gt \"yesterday\""},
	{U, "meta.created gt \"2011-02-30T00:00:00Z\""},
	{U, "meta.created gt \"2011-05-13 04:42:34Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34\""},
	{U, "meta.created gt \"2011-05-13T24:00:00Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34+2:00\""},
	{U, "meta.created gt \"2011-05-13T04:42:34.Z\""},
	{U, "meta.created eq 1305261754"},
	{U, "meta.created co \"2011\""},
	{U, "meta.lastModified sw \"2011-05-13T04:42:34Z\""},
	{U, "meta.resourceType eq \"User\""},
	{U, "meta.location pr"},
	{U, "meta.version eq \"W/1\""},
	{U, "meta eq \"x\""},
	{U, "meta pr"},
	{U, "name eq \"Barbara\""},
	{U, "name gt \"a\""},
	{U, "groups.type eq \"direct\""},
	{U, "groups[type eq \"direct\"]"},
	{U, "title[value eq \"x\"]"},
	{U, "userName[value eq \"x\"]"},
	{U, "emails[foo eq \"x\"]"},
	{U, "emails.foo eq \"x\""},
	{U, "title.value eq \"x\""},
	{U, SCIM_ENTERPRISE_USER ":userName eq \"x\""},
	{U, "urn:foo:bar:title eq \"x\""},
	{U, SCIM_TESSERA_GROUP ":scope pr"},
	{U, "id gt 3"},
	{U, "userName eq \"a\" and password eq \"b\""},
	{U, "not (emails[type eq \"work\"] or foo pr)"},
	{G, "members.type eq \"User\""},
	{G, "userName eq \"x\""},
	{C, "refreshGraceSeconds co \"1\""},
	{C, "refreshGraceSeconds eq \"30\""},
	{C, "public eq \"true\""},
	{C, "public gt 0"},
	{C, "grantTypes gt \"a\""},
	{C, "grantTypes le \"z\""},
	{C, "redirectUris lt \"https:\""},
	{C, "grantTypes eq 1"},
	{C, "grantTypes.value eq \"x\""},
	{C, "grantTypes[value eq \"x\"]"},
	{C, "clientSecret pr"},
	{C, "clientSecret eq \"x\""},
	{C, "generateSecret eq true"},
	{R, "externalId eq \"x\""},
	{R, "userId eq 1"},
};

START_TEST(test_refused)
{
	struct scim_error e = {0};
	struct scimf_node *n = NULL;
	struct scim_sql q;
	const char *why = NULL;

	ck_assert_msg(scimf_parse(refused[_i].f, &n, &why) == TS_OK, "%s: %s", refused[_i].f, why);
	memset(&q, 0x5a, sizeof q);
	ck_assert_msg(scim_sql_where(scim_rtype(refused[_i].t), n, &q, &e) == TS_INVALID_REQUEST,
		      "%s accepted", refused[_i].f);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_FILTER);
	ck_assert_ptr_nonnull(e.detail);
	ck_assert_str_eq(scim_etype_name(e.type), "invalidFilter");
	ck_assert_ptr_null(q.where);
	ck_assert_ptr_null(q.binds);
	ck_assert_uint_eq(q.nbinds, 0);
	scim_sql_free(&q);
	scim_error_clear(&e);
	scimf_free(n);
}
END_TEST

static Suite *scim_sql_suite(void)
{
	Suite *s = suite_create("scim_sql");
	TCase *tc = db_tcase();
	TCase *tp = tcase_create("plain");

	tcase_add_loop_test(tc, test_agree, 0, N(agree));
	tcase_add_loop_test(tc, test_case_exact, 0, N(exact));
	tcase_add_test(tc, test_urn_optional);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 120);
	tcase_add_loop_test(tp, test_refused, 0, N(refused));
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_sql_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
