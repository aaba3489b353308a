/* test_scim_schema.c - the SCIM schemas (RFC 7643): attribute look-up (scim_find), checking and
 * normalising a sent resource (scim_normalize), and what runs out of memory. The attributes of an
 * answer (scim_project) are tested in test_scim_project.c, the discovery documents in
 * test_scim_discovery.c. JSON in the tables is written with ' for " (see js()). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_schema_check.h"

/* ---- scim_find ---- */

static const struct {
	enum scim_rtype_id t;
	const char *path;
	ts_err r;
	const char *schema, *attr, *sub; /* schema NULL: a common attribute */
	enum scim_at at;
	const char *sql;
	enum scim_at sub_at;
	const char *sub_sql;
} find_rows[] = {
	{SCIM_R_USER, "userName", TS_OK, CU, "userName", NULL, SCIM_AT_COLUMN, "r.username", 0, NULL},
	{SCIM_R_USER, "USERNAME", TS_OK, CU, "userName", NULL, SCIM_AT_COLUMN, "r.username", 0, NULL},
	{SCIM_R_USER, CU ":userName", TS_OK, CU, "userName", NULL, SCIM_AT_COLUMN, "r.username", 0, NULL},
	{SCIM_R_USER, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:username", TS_OK, CU, "userName",
	 NULL, SCIM_AT_COLUMN, "r.username", 0, NULL},
	{SCIM_R_USER, EU ":department", TS_OK, EU, "department", NULL, SCIM_AT_JSON, NULL, 0, NULL},
	{SCIM_R_USER, "department", TS_OK, EU, "department", NULL, SCIM_AT_JSON, NULL, 0, NULL},
	{SCIM_R_USER, EU ":manager.value", TS_OK, EU, "manager", "value", SCIM_AT_JSON, NULL,
	 SCIM_AT_JSON, NULL},
	{SCIM_R_USER, "scope", TS_OK, TU, "scope", NULL, SCIM_AT_COLUMN, "r.scope", 0, NULL},
	{SCIM_R_USER, CU ":department", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, CG ":userName", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, TG ":scope", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, EU ":userName", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, EU ":id", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "id", TS_OK, NULL, "id", NULL, SCIM_AT_COLUMN, "CAST(r.id AS TEXT)", 0, NULL},
	{SCIM_R_USER, CU ":id", TS_OK, NULL, "id", NULL, SCIM_AT_COLUMN, "CAST(r.id AS TEXT)", 0, NULL},
	{SCIM_R_CLIENT, "id", TS_OK, NULL, "id", NULL, SCIM_AT_COLUMN, "r.client_id", 0, NULL},
	{SCIM_R_USER, "externalId", TS_OK, NULL, "externalId", NULL, SCIM_AT_COLUMN,
	 "r.external_id", 0, NULL},
	{SCIM_R_GRANT, "externalId", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "meta.created", TS_OK, NULL, "meta", "created", SCIM_AT_COLUMN, NULL,
	 SCIM_AT_COLUMN, "r.created_at"},
	{SCIM_R_GROUP, "META.LASTMODIFIED", TS_OK, NULL, "meta", "lastModified", SCIM_AT_COLUMN,
	 NULL, SCIM_AT_COLUMN, "r.updated_at"},
	{SCIM_R_USER, "meta.location", TS_OK, NULL, "meta", "location", SCIM_AT_COLUMN, NULL,
	 SCIM_AT_NONE, NULL},
	{SCIM_R_USER, "meta.bogus", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "name.givenName", TS_OK, CU, "name", "givenName", SCIM_AT_JSON, NULL,
	 SCIM_AT_JSON, NULL},
	{SCIM_R_USER, "emails.value", TS_OK, CU, "emails", "value", SCIM_AT_JSON, NULL,
	 SCIM_AT_JSON, NULL},
	{SCIM_R_USER, "groups.value", TS_OK, CU, "groups", "value", SCIM_AT_ROWS,
	 "SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS display FROM group_members m "
	 "JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id", SCIM_AT_ROWS, "value"},
	{SCIM_R_USER, "emails.bogus", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "userName.x", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "password", TS_OK, CU, "password", NULL, SCIM_AT_NONE, NULL, 0, NULL},
	{SCIM_R_USER, "bogus", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_USER, "members", TS_NOT_FOUND, NULL, NULL, NULL, 0, NULL, 0, NULL},
	{SCIM_R_GROUP, "members.value", TS_OK, CG, "members", "value", SCIM_AT_ROWS,
	 "SELECT CAST(m.user_id AS TEXT) AS value, u.username AS display FROM group_members m "
	 "JOIN users u ON u.id = m.user_id WHERE m.group_id = r.id", SCIM_AT_ROWS, "value"},
	{SCIM_R_GROUP, "scope", TS_OK, TG, "scope", NULL, SCIM_AT_COLUMN, "r.scope", 0, NULL},
	{SCIM_R_CLIENT, "grantTypes", TS_OK, TC, "grantTypes", NULL, SCIM_AT_LIST,
	 "r.grant_types", 0, NULL},
	{SCIM_R_GRANT, TGR ":clientId", TS_OK, TGR, "clientId", NULL, SCIM_AT_COLUMN,
	 "r.client_id", 0, NULL},
	{SCIM_R_GRANT, "userName", TS_OK, TGR, "userName", NULL, SCIM_AT_COLUMN, "u.username", 0,
	 NULL},
};

START_TEST(test_find)
{
	struct scimf_path *p = NULL;
	struct scim_found f;
	ts_err r;

	ck_assert_int_eq(scimf_parse_path(find_rows[_i].path, &p, NULL), TS_OK);
	r = scim_find(scim_rtype(find_rows[_i].t), &p->attr, NULL, &f);
	ck_assert_msg(r == find_rows[_i].r, "%s: %d", find_rows[_i].path, r);
	if (r != TS_OK) {
		ck_assert_ptr_null(f.attr);
		ck_assert_ptr_null(f.schema);
		scimf_path_free(p);
		return;
	}
	if (find_rows[_i].schema)
		ck_assert_str_eq(f.schema->id, find_rows[_i].schema);
	else
		ck_assert_ptr_null(f.schema);
	ck_assert_str_eq(f.attr->name, find_rows[_i].attr);
	if (find_rows[_i].sub)
		ck_assert_str_eq(f.sub->name, find_rows[_i].sub);
	else
		ck_assert_ptr_null(f.sub);
	ck_assert_int_eq(f.at, find_rows[_i].at);
	ck_assert_str_eq(S(f.sql), S(find_rows[_i].sql));
	if (find_rows[_i].sub) {
		ck_assert_int_eq(f.sub_at, find_rows[_i].sub_at);
		ck_assert_str_eq(S(f.sub_sql), S(find_rows[_i].sub_sql));
	}
	scimf_path_free(p);
}
END_TEST

/* the sub-attributes of a value filter ("emails[type eq ...]"), and bad arguments */
START_TEST(test_find_within)
{
	const struct scim_rtype *u = scim_rtype(SCIM_R_USER);
	struct scimf_path *p = NULL, *q = NULL;
	struct scim_found emails, f;

	ck_assert_int_eq(scimf_parse_path("emails", &p, NULL), TS_OK);
	ck_assert_int_eq(scim_find(u, &p->attr, NULL, &emails), TS_OK);
	ck_assert_int_eq(scimf_parse_path("TYPE", &q, NULL), TS_OK);
	ck_assert_int_eq(scim_find(u, &q->attr, emails.attr, &f), TS_OK);
	ck_assert_ptr_eq(f.attr, emails.attr);
	ck_assert_str_eq(f.sub->name, "type");
	ck_assert_int_eq(f.sub_at, SCIM_AT_JSON);
	scimf_path_free(q);
	ck_assert_int_eq(scimf_parse_path("bogus", &q, NULL), TS_OK);
	ck_assert_int_eq(scim_find(u, &q->attr, emails.attr, &f), TS_NOT_FOUND);
	scimf_path_free(q);
	ck_assert_int_eq(scimf_parse_path("type.value", &q, NULL), TS_OK);
	ck_assert_int_eq(scim_find(u, &q->attr, emails.attr, &f), TS_NOT_FOUND);
	scimf_path_free(q);
	ck_assert_int_eq(scimf_parse_path(CU ":type", &q, NULL), TS_OK);
	ck_assert_int_eq(scim_find(u, &q->attr, emails.attr, &f), TS_NOT_FOUND);
	scimf_path_free(q);
	ck_assert_int_eq(scim_find(NULL, &p->attr, NULL, &f), TS_NOT_FOUND);
	ck_assert_int_eq(scim_find(u, NULL, NULL, &f), TS_NOT_FOUND);
	scimf_path_free(p);
	/* a resource type of the caller's own */
	ck_assert_int_eq(scimf_parse_path("note", &p, NULL), TS_OK);
	ck_assert_int_eq(scim_find(&thing, &p->attr, NULL, &f), TS_OK);
	ck_assert_str_eq(f.schema->id, THINGX);
	scimf_path_free(p);
	ck_assert_int_eq(scimf_parse_path("externalId", &p, NULL), TS_OK);
	ck_assert_int_eq(scim_find(&thing, &p->attr, NULL, &f), TS_NOT_FOUND);
	scimf_path_free(p);
}
END_TEST

/* ---- scim_normalize: accepted ---- */

static const struct {
	const struct scim_rtype *t;
	const char *in, *out;
} norm_rows[] = {
	/* canonical case of names, schemas in any case */
	{NULL, "{'schemas':['URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER'],'USERNAME':'bob',"
	 "'DisplayName':'Bob','NAME':{'GIVENNAME':'B','familyname':'F'},'Active':true}",
	 SU "'userName':'bob','displayName':'Bob','name':{'givenName':'B','familyName':'F'},"
	 "'active':true}"},
	/* an extension object under its URN in any case, its names in any case */
	{NULL, "{'schemas':['" CU "','" EU "'],'userName':'a',"
	 "'URN:IETF:params:scim:schemas:extension:enterprise:2.0:user':{'Department':'X',"
	 "'MANAGER':{'value':'7','$REF':'../Users/7','displayName':'M'}}}",
	 "{'schemas':['" CU "','" EU "'],'userName':'a','" EU "':{'department':'X',"
	 "'manager':{'value':'7','$ref':'../Users/7'}}}"},
	/* flat "<urn>:name" keys, core URN included */
	{NULL, "{'schemas':['" CU "'],'userName':'a','" EU ":employeeNumber':'42',"
	 "'" TU ":SCOPE':'openid mqtt:sub:a/#','" CU ":displayName':'D',"
	 "'urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User:costCenter':'cc'}",
	 "{'schemas':['" CU "','" EU "','" TU "'],'userName':'a','displayName':'D','" EU
	 "':{'employeeNumber':'42','costCenter':'cc'},'" TU "':{'scope':'openid mqtt:sub:a/#'}}"},
	/* both forms of one extension merge */
	{NULL, "{'schemas':['" CU "','" EU "'],'userName':'a','" EU ":division':'d','" EU
	 "':{'department':'X'}}",
	 "{'schemas':['" CU "','" EU "'],'userName':'a','" EU "':{'division':'d','department':'X'}}"},
	/* unknown names, schemas and sub-attributes dropped */
	{NULL, SU "'userName':'a','foo':1,'urn:x:y:z':2,'" CG ":displayName':'g','" EU ":bogus':1,"
	 "'" CU "':{'nickName':'n'},'name':{'bogus':1,'givenName':'g'},'name.familyName':'x',"
	 "'" TG "':{'scope':'s'},'" EU "':{'" EU ":department':'d'}}",
	 SU "'userName':'a','name':{'givenName':'g'}}"},
	/* readOnly dropped (id, meta, groups, manager.displayName), externalId and the writeOnly
	 * password kept */
	{NULL, SU "'id':'5','meta':{'resourceType':'User'},'userName':'a','externalId':'e',"
	 "'password':'pw','groups':[{'value':'1'}]}",
	 SU "'userName':'a','externalId':'e','password':'pw'}"},
	/* a single value for a multi-valued attribute; empty values dropped; primary false dropped */
	{NULL, SU "'userName':'a','emails':{'value':'a@x','type':'Custom'},'displayName':'',"
	 "'nickName':null,'phoneNumbers':[],'name':{},'addresses':[{},null,{'formatted':''}],"
	 "'ims':[{'value':'i','primary':false},{'value':'j','primary':true}],"
	 "'roles':[null],'" EU "':{},'" TU "':{'scope':''},'title':'t'}",
	 SU "'userName':'a','emails':[{'value':'a@x','type':'Custom'}],"
	 "'ims':[{'value':'i'},{'value':'j','primary':true}],'title':'t'}"},
	/* schemas of no extension of the type are ignored: Entra ID lists its own on Groups */
	{NULL, "{'schemas':['" CU "','urn:foo:bar','" TG "'],'userName':'a'}", SU "'userName':'a'}"},
	{(void *)1, "{'schemas':['" CG "','http://schemas.microsoft.com/2006/11/ResourceManagement/"
	 "ADSCIM/2.0/Group'],'displayName':'G'}", "{'schemas':['" CG "'],'displayName':'G'}"},
	/* an extension listed in schemas with no attribute is not in the output's */
	{NULL, "{'schemas':['" EU "','" CU "','" TU "'],'userName':'a'}", SU "'userName':'a'}"},
	/* a Group: member display is readOnly */
	{(void *)1, "{'schemas':['" CG "','" TG "'],'displayName':'G','members':[{'value':'1',"
	 "'display':'x','type':'User','$ref':'../Users/1'}],'" TG ":scope':'s'}",
	 "{'schemas':['" CG "','" TG "'],'displayName':'G','members':[{'value':'1','type':'User',"
	 "'$ref':'../Users/1'}],'" TG "':{'scope':'s'}}"},
	/* a Client: canonical grant types, integers, clientSecret readOnly, generateSecret kept */
	{(void *)2, SC "'clientName':'c','grantTypes':['client_credentials','refresh_token'],"
	 "'redirectUris':'https://a.example/cb','refreshGraceSeconds':30,'refreshIdleSeconds':-1,"
	 "'public':false,'clientSecret':'s','generateSecret':true,'id':'x'}",
	 SC "'clientName':'c','grantTypes':['client_credentials','refresh_token'],"
	 "'redirectUris':['https://a.example/cb'],'refreshGraceSeconds':30,"
	 "'refreshIdleSeconds':-1,'public':false,'generateSecret':true}"},
	/* a Grant: only scope is writable; no externalId */
	{(void *)3, "{'schemas':['" TGR "'],'clientId':'c','userName':'u','userId':'1',"
	 "'scope':'openid','externalId':'e'}", "{'schemas':['" TGR "'],'scope':'openid'}"},
	/* the test type: dateTime, decimal, binary, non-case-exact canonical values kept as given */
	{&thing, ST "'when':'2011-05-13T04:42:34.5+02:00','ratio':1.5,'blob':'AAEC',"
	 "'tags':['a','Zed'],'pair':{'K':'k','v':-3,'hidden':'h'},'" THINGX ":code':'c'}",
	 "{'schemas':['" THING "','" THINGX "'],'when':'2011-05-13T04:42:34.5+02:00','ratio':1.5,"
	 "'blob':'AAEC','tags':['a','Zed'],'pair':{'k':'k','v':-3,'hidden':'h'},"
	 "'" THINGX "':{'code':'c'}}"},
	{&thing, ST "'ratio':2,'pair':null,'" THINGX "':null}", ST "'ratio':2}"},
};

START_TEST(test_normalize_ok)
{
	json_t *in = js(norm_rows[_i].in), *want = js(norm_rows[_i].out), *out = NULL;
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_normalize(row_type(norm_rows[_i].t), in, &out, &e);

	ck_assert_msg(r == TS_OK, "row %d: %d %s", _i, r, S(e.detail));
	ck_json_eq(out, want);
	/* "schemas" comes first */
	ck_assert_str_eq(json_object_iter_key(json_object_iter(out)), "schemas");
	ck_assert_int_eq(e.type, SCIM_E_NONE);
	json_decref(in);
	json_decref(want);
	json_decref(out);
}
END_TEST

/* ---- scim_normalize: refused ---- */

static const struct {
	const struct scim_rtype *t;
	const char *in;
	enum scim_etype type;
	const char *detail;
} norm_bad_rows[] = {
	{NULL, "['" CU "']", SCIM_E_INVALID_SYNTAX, "the resource must be a JSON object"},
	{NULL, "'x'", SCIM_E_INVALID_SYNTAX, "the resource must be a JSON object"},
	{NULL, "{'userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must be a non-empty array of schema URNs"},
	{NULL, "{'schemas':'" CU "','userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must be a non-empty array of schema URNs"},
	{NULL, "{'schemas':[],'userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must be a non-empty array of schema URNs"},
	{NULL, "{'schemas':['" CU "',1],'userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must be a non-empty array of schema URNs"},
	{NULL, "{'schemas':null,'userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must be a non-empty array of schema URNs"},
	{NULL, "{'schemas':['" EU "'],'userName':'a'}", SCIM_E_INVALID_SYNTAX,
	 "schemas must hold " CU},
	{(void *)1, SU "'displayName':'a'}", SCIM_E_INVALID_SYNTAX, "schemas must hold " CG},
	/* required */
	{NULL, SU "'displayName':'a'}", SCIM_E_INVALID_VALUE, "userName is required"},
	{NULL, SU "'userName':''}", SCIM_E_INVALID_VALUE, "userName is required"},
	{NULL, SU "'userName':null}", SCIM_E_INVALID_VALUE, "userName is required"},
	{(void *)1, "{'schemas':['" CG "'],'members':[]}", SCIM_E_INVALID_VALUE,
	 "displayName is required"},
	{&thing, ST "'" THINGX "':{'note':'n'}}", SCIM_E_INVALID_VALUE, "code is required"},
	{&thing, ST "'pair':{'v':1}}", SCIM_E_INVALID_VALUE, "pair.k is required"},
	/* types */
	{NULL, SU "'userName':5}", SCIM_E_INVALID_VALUE, "userName must be a string"},
	{NULL, SU "'userName':['a']}", SCIM_E_INVALID_VALUE, "userName must be a string"},
	{NULL, SU "'userName':'a','active':'True'}", SCIM_E_INVALID_VALUE,
	 "active must be a boolean"},
	{NULL, SU "'userName':'a','active':1}", SCIM_E_INVALID_VALUE, "active must be a boolean"},
	{NULL, SU "'userName':'a','name':'x'}", SCIM_E_INVALID_VALUE, "name must be an object"},
	{NULL, SU "'userName':'a','name':{'givenName':3}}", SCIM_E_INVALID_VALUE,
	 "name.givenName must be a string"},
	{NULL, SU "'userName':'a','emails':['a@x']}", SCIM_E_INVALID_VALUE,
	 "emails must be an object"},
	{NULL, SU "'userName':'a','emails':[{'value':'a','primary':'true'}]}",
	 SCIM_E_INVALID_VALUE, "emails.primary must be a boolean"},
	{NULL, SU "'userName':'a','profileUrl':{}}", SCIM_E_INVALID_VALUE,
	 "profileUrl must be a string"},
	{NULL, SU "'userName':'a','" EU "':'x'}", SCIM_E_INVALID_VALUE,
	 EU " must be an object"},
	{NULL, SU "'userName':'a','" EU ":manager':'7'}", SCIM_E_INVALID_VALUE,
	 "manager must be an object"},
	{(void *)2, SC "'refreshGraceSeconds':1.5}", SCIM_E_INVALID_VALUE,
	 "refreshGraceSeconds must be an integer"},
	{(void *)2, SC "'refreshGraceSeconds':'1'}", SCIM_E_INVALID_VALUE,
	 "refreshGraceSeconds must be an integer"},
	{(void *)2, SC "'refreshGraceSeconds':true}", SCIM_E_INVALID_VALUE,
	 "refreshGraceSeconds must be an integer"},
	{(void *)2, SC "'redirectUris':[1]}", SCIM_E_INVALID_VALUE, "redirectUris must be a string"},
	{(void *)2, SC "'generateSecret':'yes'}", SCIM_E_INVALID_VALUE,
	 "generateSecret must be a boolean"},
	{&thing, ST "'ratio':'1.5'}", SCIM_E_INVALID_VALUE, "ratio must be a number"},
	{&thing, ST "'ratio':true}", SCIM_E_INVALID_VALUE, "ratio must be a number"},
	{&thing, ST "'blob':5}", SCIM_E_INVALID_VALUE, "blob must be a string"},
	{&thing, ST "'when':20110513}", SCIM_E_INVALID_VALUE, "when must be a string"},
	{&thing, ST "'pair':{'k':'a','v':'1'}}", SCIM_E_INVALID_VALUE, "pair.v must be an integer"},
	/* primaries, canonical values, duplicates */
	{NULL, SU "'userName':'a','emails':[{'value':'a','primary':true},{'value':'b',"
	 "'PRIMARY':true}]}", SCIM_E_INVALID_VALUE, "emails has more than one primary value"},
	{(void *)2, SC "'grantTypes':['password']}", SCIM_E_INVALID_VALUE,
	 "grantTypes must be one of its canonical values"},
	{(void *)2, SC "'grantTypes':'Client_Credentials'}", SCIM_E_INVALID_VALUE,
	 "grantTypes must be one of its canonical values"},
	{NULL, SU "'userName':'a','USERNAME':'b'}", SCIM_E_INVALID_VALUE, "userName is given twice"},
	{NULL, SU "'userName':'a','" EU ":department':'d','" EU "':{'Department':'e'}}",
	 SCIM_E_INVALID_VALUE, "department is given twice"},
	{NULL, SU "'userName':'a','name':{'givenName':'a','GivenName':'b'}}", SCIM_E_INVALID_VALUE,
	 "name.givenName is given twice"},
};

START_TEST(test_normalize_bad)
{
	json_t *in = js(norm_bad_rows[_i].in), *out = (json_t *)1;
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_normalize(row_type(norm_bad_rows[_i].t), in, &out, &e);

	ck_assert_msg(r == TS_INVALID_REQUEST, "row %d: %d", _i, r);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(e.type, norm_bad_rows[_i].type);
	ck_assert_str_eq(S(e.detail), norm_bad_rows[_i].detail);
	scim_error_clear(&e);
	json_decref(in);
}
END_TEST

/* strings of 65536 bytes pass, longer ones and ones holding NUL do not */
START_TEST(test_normalize_strings)
{
	const struct scim_rtype *u = scim_rtype(SCIM_R_USER);
	struct scim_error e = {SCIM_E_NONE, NULL};
	char *big = malloc(65538);
	json_t *in = js(SU "'userName':'a'}"), *out = NULL;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 65537);
	big[65537] = '\0';
	ck_assert_int_eq(json_object_set_new(in, "title", json_stringn(big, 65536)), 0);
	ck_assert_int_eq(scim_normalize(u, in, &out, &e), TS_OK);
	ck_assert_uint_eq(json_string_length(json_object_get(out, "title")), 65536);
	json_decref(out);
	ck_assert_int_eq(json_object_set_new(in, "title", json_string(big)), 0);
	ck_assert_int_eq(scim_normalize(u, in, &out, &e), TS_INVALID_REQUEST);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_VALUE);
	ck_assert_str_eq(S(e.detail), "title is longer than 65536 bytes");
	ck_assert_int_eq(json_object_set_new(in, "title", json_stringn("a\0b", 3)), 0);
	ck_assert_int_eq(scim_normalize(u, in, &out, &e), TS_INVALID_REQUEST);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_VALUE);
	ck_assert_str_eq(S(e.detail), "title must not contain NUL");
	ck_assert_int_eq(json_object_set_new(in, "title", json_string("ünïcødé ✓")), 0);
	ck_assert_int_eq(scim_normalize(u, in, &out, &e), TS_OK);
	ck_assert_str_eq(json_string_value(json_object_get(out, "title")), "ünïcødé ✓");
	json_decref(out);
	ck_assert_int_eq(scim_normalize(NULL, in, &out, &e), TS_INVALID_REQUEST);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(scim_normalize(u, NULL, &out, &e), TS_INVALID_REQUEST);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_SYNTAX);
	scim_error_clear(&e);
	ck_assert_ptr_null(e.detail);
	json_decref(in);
	free(big);
}
END_TEST

/* ---- dateTime ---- */

static const struct {
	const char *s;
	int ok;
} dt_rows[] = {
	{"2011-05-13T04:42:34Z", 1},
	{"2024-02-29T23:59:59Z", 1},
	{"2000-02-29T00:00:00Z", 1},
	{"0001-01-01T00:00:00Z", 1},
	{"9999-12-31T23:59:59Z", 1},
	{"2011-05-13T04:42:34.123Z", 1},
	{"2011-05-13T04:42:34.123456789Z", 1},
	{"2011-05-13T04:42:34+02:00", 1},
	{"2011-05-13T04:42:34.5-23:59", 1},
	{"2011-05-13T04:42:34-00:00", 1},
	{"2011-01-31T00:00:00Z", 1},
	{"2011-04-30T00:00:00Z", 1},
	{"2023-02-29T00:00:00Z", 0},
	{"1900-02-29T00:00:00Z", 0},
	{"2011-02-30T00:00:00Z", 0},
	{"2011-04-31T00:00:00Z", 0},
	{"2011-13-01T00:00:00Z", 0},
	{"2011-00-01T00:00:00Z", 0},
	{"2011-01-00T00:00:00Z", 0},
	{"0000-01-01T00:00:00Z", 0},
	{"2011-05-13 04:42:34Z", 0},
	{"2011-05-13t04:42:34Z", 0},
	{"2011-05-13T04:42:34z", 0},
	{"2011-05-13T24:00:00Z", 0},
	{"2011-05-13T04:60:00Z", 0},
	{"2011-05-13T04:42:60Z", 0},
	{"2011-05-13T04:42:34", 0},
	{"2011-05-13T04:42:34.Z", 0},
	{"2011-05-13T04:42:34.5", 0},
	{"2011-05-13T04:42:34+0200", 0},
	{"2011-05-13T04:42:34+02", 0},
	{"2011-05-13T04:42:34+24:00", 0},
	{"2011-05-13T04:42:34+02:60", 0},
	{"2011-05-13T04:42:34Zx", 0},
	{"2011-05-13T04:42:34+02:00 ", 0},
	{" 2011-05-13T04:42:34Z", 0},
	{"2011-05-13", 0},
	{"2011-05-13T04:42Z", 0},
	{"2011-5-13T04:42:34Z", 0},
	{"+2011-05-13T04:42:34Z", 0},
	{"20110513T044234Z", 0},
	{"2011-05-13T04:42:3aZ", 0},
	{"yesterday", 0},
};

START_TEST(test_datetime)
{
	char text[160];
	json_t *in, *out = NULL;
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r;

	snprintf(text, sizeof text, ST "'when':'%s'}", dt_rows[_i].s);
	in = js(text);
	r = scim_normalize(&thing, in, &out, &e);
	if (dt_rows[_i].ok) {
		ck_assert_msg(r == TS_OK, "%s: %s", dt_rows[_i].s, S(e.detail));
		ck_assert_str_eq(json_string_value(json_object_get(out, "when")), dt_rows[_i].s);
	} else {
		ck_assert_msg(r == TS_INVALID_REQUEST, "%s accepted", dt_rows[_i].s);
		ck_assert_int_eq(e.type, SCIM_E_INVALID_VALUE);
		ck_assert_str_eq(S(e.detail), "when must be an RFC 3339 date and time");
	}
	scim_error_clear(&e);
	json_decref(out);
	json_decref(in);
}
END_TEST

/* ---- out of memory: Jansson's allocations fail from the k-th on; every k until the call
 * succeeds must give TS_SERVER_ERROR (or NULL) and, under LeakSanitizer, leak nothing ---- */

static long alloc_left;

static void *failing_malloc(size_t n)
{
	if (alloc_left == 0)
		return NULL;
	alloc_left--;
	return malloc(n);
}

static void failing_free(void *p)
{
	free(p);
}

START_TEST(test_oom)
{
	json_t *in = js("{'schemas':['" CU "','" EU "'],'userName':'a','name':{'givenName':'g'},"
	                "'emails':[{'value':'a@x','primary':true},{'value':'b@x'}],'active':true,"
	                "'" EU ":department':'d','" TU "':{'scope':'s'},'roles':{'value':'r'}}");
	struct scim_error e = {SCIM_E_NONE, NULL};
	json_t *out, *want = NULL;
	long k;
	ts_err r;
	int d, fails = 0;

	for (k = 0;; k++) {
		out = NULL;
		alloc_left = k;
		json_set_alloc_funcs(failing_malloc, failing_free);
		r = scim_normalize(scim_rtype(SCIM_R_USER), in, &out, &e);
		json_set_alloc_funcs(malloc, free);
		if (r == TS_OK)
			break;
		ck_assert_msg(r == TS_SERVER_ERROR, "k %ld: %d %s", k, r, S(e.detail));
		ck_assert_ptr_null(out);
		fails++;
	}
	ck_assert_int_gt(fails, 10);
	want = js("{'schemas':['" CU "','" EU "','" TU "'],'userName':'a','name':{'givenName':'g'},"
	          "'emails':[{'value':'a@x','primary':true},{'value':'b@x'}],'active':true,"
	          "'roles':[{'value':'r'}],'" EU "':{'department':'d'},'" TU "':{'scope':'s'}}");
	ck_json_eq(out, want);
	json_decref(out);
	json_decref(want);
	json_decref(in);
	for (d = 0; d < 5; d++) {
		for (k = 0;; k++) {
			alloc_left = k;
			json_set_alloc_funcs(failing_malloc, failing_free);
			out = d == 0 ? scim_schemas_json(BASE) : d == 1 ? scim_schema_json(BASE, CU) :
			      d == 2 ? scim_rtypes_json(BASE) : d == 3 ? scim_rtype_json(BASE, "User") :
			      scim_spc_json(BASE, 10);
			json_set_alloc_funcs(malloc, free);
			if (out)
				break;
		}
		ck_assert_int_gt(k, 3);
		json_decref(out);
	}
	scim_error_clear(&e);
}
END_TEST

static Suite *scim_schema_suite(void)
{
	Suite *s = suite_create("scim_schema");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_find, 0, N(find_rows));
	tcase_add_test(tc, test_find_within);
	tcase_add_loop_test(tc, test_normalize_ok, 0, N(norm_rows));
	tcase_add_loop_test(tc, test_normalize_bad, 0, N(norm_bad_rows));
	tcase_add_test(tc, test_normalize_strings);
	tcase_add_loop_test(tc, test_datetime, 0, N(dt_rows));
	tcase_add_test(tc, test_oom);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_schema_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
