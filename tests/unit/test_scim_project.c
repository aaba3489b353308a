/* test_scim_project.c - the attributes of a SCIM answer (scim_project, RFC 7644 §3.4.2.5):
 * attributes and excludedAttributes, with the schemas' "returned" rules. JSON in the tables is
 * written with ' for " (scim_schema_check.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_schema_check.h"

/* ---- scim_project ---- */

static const char user_json[] =
	"{'schemas':['" CU "','" EU "'],'id':'1','externalId':'e','userName':'bob',"
	"'name':{'givenName':'B','familyName':'F'},'displayName':'Bob','password':'pw',"
	"'emails':[{'value':'a@x','type':'work','primary':true},{'value':'b@x','type':'home'}],"
	"'groups':[{'value':'5','display':'g','$ref':'../Groups/5'}],"
	"'" EU "':{'department':'D','manager':{'value':'7','displayName':'M'}},"
	"'meta':{'resourceType':'User','created':'2011-05-13T04:42:34Z','location':'u/1'}}";

static const struct {
	const struct scim_rtype *t;
	const char *res, *attrs, *excl, *out;
} proj_rows[] = {
	{NULL, user_json, NULL, NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','externalId':'e','userName':'bob',"
	 "'name':{'givenName':'B','familyName':'F'},'displayName':'Bob',"
	 "'emails':[{'value':'a@x','type':'work','primary':true},{'value':'b@x','type':'home'}],"
	 "'groups':[{'value':'5','display':'g','$ref':'../Groups/5'}],"
	 "'" EU "':{'department':'D','manager':{'value':'7','displayName':'M'}},"
	 "'meta':{'resourceType':'User','created':'2011-05-13T04:42:34Z','location':'u/1'}}"},
	{NULL, user_json, "", " ",
	 "{'schemas':['" CU "','" EU "'],'id':'1','externalId':'e','userName':'bob',"
	 "'name':{'givenName':'B','familyName':'F'},'displayName':'Bob',"
	 "'emails':[{'value':'a@x','type':'work','primary':true},{'value':'b@x','type':'home'}],"
	 "'groups':[{'value':'5','display':'g','$ref':'../Groups/5'}],"
	 "'" EU "':{'department':'D','manager':{'value':'7','displayName':'M'}},"
	 "'meta':{'resourceType':'User','created':'2011-05-13T04:42:34Z','location':'u/1'}}"},
	{NULL, user_json, "userName", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob'}"},
	{NULL, user_json, "USERNAME", "", "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob'}"},
	{NULL, user_json, " userName ,\tname.givenName", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob','name':{'givenName':'B'}}"},
	{NULL, user_json, "emails.value", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','emails':[{'value':'a@x'},{'value':'b@x'}]}"},
	{NULL, user_json, "emails.value,emails.primary", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','emails':[{'value':'a@x','primary':true},"
	 "{'value':'b@x'}]}"},
	{NULL, user_json, "emails.display", NULL, "{'schemas':['" CU "','" EU "'],'id':'1'}"},
	{NULL, user_json, "name,name.givenName", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','name':{'givenName':'B','familyName':'F'}}"},
	{NULL, user_json, "department", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','" EU "':{'department':'D'}}"},
	{NULL, user_json, EU ":manager.value", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','" EU "':{'manager':{'value':'7'}}}"},
	{NULL, user_json, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:USER", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','" EU "':{'department':'D',"
	 "'manager':{'value':'7','displayName':'M'}}}"},
	{NULL, user_json, "meta.created,groups.display", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1','meta':{'created':'2011-05-13T04:42:34Z'},"
	 "'groups':[{'display':'g'}]}"},
	{NULL, user_json, "id,password,schemas,bogus,nick.name," TG ":scope", NULL,
	 "{'schemas':['" CU "','" EU "'],'id':'1'}"},
	{NULL, user_json, "userName,emails", "emails",
	 "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob'}"},
	{NULL, user_json, NULL, "meta,groups,id,schemas,externalId,bogus",
	 "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob',"
	 "'name':{'givenName':'B','familyName':'F'},'displayName':'Bob',"
	 "'emails':[{'value':'a@x','type':'work','primary':true},{'value':'b@x','type':'home'}],"
	 "'" EU "':{'department':'D','manager':{'value':'7','displayName':'M'}}}"},
	{NULL, user_json, NULL, "emails.type, name,emails.primary,userName,displayName,groups,meta,"
	 "externalId",
	 "{'schemas':['" CU "','" EU "'],'id':'1','emails':[{'value':'a@x'},{'value':'b@x'}],"
	 "'" EU "':{'department':'D','manager':{'value':'7','displayName':'M'}}}"},
	/* an extension left empty goes away; "schemas" stays as it was */
	{NULL, user_json, "userName", "department,manager",
	 "{'schemas':['" CU "','" EU "'],'id':'1','userName':'bob'}"},
	{NULL, user_json, NULL, EU ":department,manager.displayName,emails.value,emails.type,"
	 "emails.primary,name.familyName,name.givenName,userName,displayName,groups,meta,externalId",
	 "{'schemas':['" CU "','" EU "'],'id':'1','" EU "':{'manager':{'value':'7'}}}"},
	{NULL, user_json, NULL, "userName,displayName,name,emails,groups,meta,externalId," EU,
	 "{'schemas':['" CU "','" EU "'],'id':'1'}"},
	/* a Client: clientSecret and generateSecret are never returned */
	{(void *)2, "{'schemas':['" TC "'],'id':'c','clientName':'n','clientSecret':'s',"
	 "'generateSecret':true,'public':false}", NULL, NULL,
	 "{'schemas':['" TC "'],'id':'c','clientName':'n','public':false}"},
	{(void *)2, "{'schemas':['" TC "'],'id':'c','clientName':'n','clientSecret':'s'}",
	 "clientSecret,clientName", NULL, "{'schemas':['" TC "'],'id':'c','clientName':'n'}"},
	/* "request" attributes and sub-attributes only when asked for; unknown members stay
	 * unless a list of attributes is given */
	{&thing, "{'schemas':['" THING "'],'id':'1','secret':'s','ratio':1,'other':2,"
	 "'pair':{'k':'k','hidden':'h','x':1}}", NULL, NULL,
	 "{'schemas':['" THING "'],'id':'1','ratio':1,'other':2,'pair':{'k':'k','x':1}}"},
	{&thing, "{'schemas':['" THING "'],'id':'1','secret':'s','ratio':1,'other':2,"
	 "'pair':{'k':'k','hidden':'h','x':1}}", "secret,pair.hidden", NULL,
	 "{'schemas':['" THING "'],'id':'1','secret':'s','pair':{'hidden':'h'}}"},
	{&thing, "{'schemas':['" THING "'],'id':'1','secret':'s','ratio':1,'other':2,"
	 "'pair':{'k':'k','hidden':'h','x':1}}", "pair", "ratio",
	 "{'schemas':['" THING "'],'id':'1','pair':{'k':'k','x':1}}"},
	{&thing, "{'schemas':['" THING "'],'id':'1','secret':'s','" THINGX "':{'code':'c',"
	 "'junk':1}}", THINGX ":code", NULL,
	 "{'schemas':['" THING "'],'id':'1','" THINGX "':{'code':'c'}}"},
	{&thing, "{'schemas':['" THING "'],'id':'1','" THINGX "':{'code':'c','junk':1}}",
	 NULL, "code", "{'schemas':['" THING "'],'id':'1','" THINGX "':{'junk':1}}"},
};

START_TEST(test_project)
{
	json_t *res = js(proj_rows[_i].res), *want = js(proj_rows[_i].out);
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_project(row_type(proj_rows[_i].t), res, proj_rows[_i].attrs,
	                        proj_rows[_i].excl, &e);

	ck_assert_msg(r == TS_OK, "row %d: %d %s", _i, r, S(e.detail));
	ck_json_eq(res, want);
	ck_assert_int_eq(e.type, SCIM_E_NONE);
	json_decref(res);
	json_decref(want);
}
END_TEST

static const struct {
	const char *attrs, *excl, *detail;
} proj_bad_rows[] = {
	{"userName,,name", NULL, "an attribute list has an empty item"},
	{"userName,", NULL, "an attribute list has an empty item"},
	{",userName", NULL, "an attribute list has an empty item"},
	{"userName, ,name", NULL, "an attribute list has an empty item"},
	{NULL, "userName,,name", "an attribute list has an empty item"},
	{"emails[type eq \"work\"]", NULL, "\"emails[type eq \"work\"]\" is not an attribute path"},
	{"emails[type eq \"work\"].value", NULL,
	 "\"emails[type eq \"work\"].value\" is not an attribute path"},
	{"user name", NULL, "\"user name\" is not an attribute path"},
	{NULL, "name..givenName", "\"name..givenName\" is not an attribute path"},
	{NULL, "1abc", "\"1abc\" is not an attribute path"},
	{"userName", CU, "\"" CU "\" is not an attribute path"},
	{"urn:foo:bar", NULL, "\"urn:foo:bar\" is not an attribute path"},
};

START_TEST(test_project_bad)
{
	json_t *res = js(user_json), *orig = js(user_json);
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_project(scim_rtype(SCIM_R_USER), res, proj_bad_rows[_i].attrs,
	                        proj_bad_rows[_i].excl, &e);

	ck_assert_msg(r == TS_INVALID_REQUEST, "row %d: %d", _i, r);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_VALUE);
	ck_assert_str_eq(S(e.detail), proj_bad_rows[_i].detail);
	ck_json_eq(res, orig);  /* left as it was */
	scim_error_clear(&e);
	json_decref(res);
	json_decref(orig);
}
END_TEST

static Suite *scim_project_suite(void)
{
	Suite *s = suite_create("scim_project");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_project, 0, N(proj_rows));
	tcase_add_loop_test(tc, test_project_bad, 0, N(proj_bad_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_project_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
