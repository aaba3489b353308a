/* test_scim_discovery.c - the SCIM discovery documents (RFC 7643 §5-§7): /Schemas,
 * /ResourceTypes and /ServiceProviderConfig against the tables of lib/scim/scim_defs.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_schema_check.h"

/* ---- discovery ---- */

static const char *const type_names[] = {"string", "boolean", "decimal", "integer", "dateTime",
	"binary", "reference", "complex"};
static const char *const mut_names[] = {"readWrite", "readOnly", "immutable", "writeOnly"};
static const char *const ret_names[] = {"default", "always", "never", "request"};
static const char *const uniq_names[] = {"none", "server", "global"};

/* Fails unless list is a NULL-terminated string list equal to the JSON array a. */
static void ck_str_list(const json_t *a, const char *const *list)
{
	size_t i;

	ck_assert(json_is_array(a));
	for (i = 0; list[i]; i++)
		ck_assert_str_eq(S(json_string_value(json_array_get(a, i))), list[i]);
	ck_assert_uint_eq(json_array_size(a), i);
}

/* Fails unless o is the RFC 7643 §7 description of d (sub-attributes described when sub). */
static void ck_attr(const json_t *o, const struct scim_attr_def *d, int sub)
{
	size_t i, keys = 9;

	ck_assert_str_eq(S(json_string_value(json_object_get(o, "name"))), d->name);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "type"))), type_names[d->type]);
	ck_assert(json_is_boolean(json_object_get(o, "multiValued")));
	ck_assert_int_eq(json_is_true(json_object_get(o, "multiValued")), d->multi);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "description"))), d->description);
	ck_assert(json_is_boolean(json_object_get(o, "required")));
	ck_assert_int_eq(json_is_true(json_object_get(o, "required")), d->required);
	ck_assert(json_is_boolean(json_object_get(o, "caseExact")));
	ck_assert_int_eq(json_is_true(json_object_get(o, "caseExact")), d->case_exact);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "mutability"))),
	                 mut_names[d->mutability]);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "returned"))),
	                 ret_names[d->returned]);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "uniqueness"))),
	                 uniq_names[d->uniqueness]);
	if (d->canonical) {
		ck_str_list(json_object_get(o, "canonicalValues"), d->canonical);
		keys++;
	}
	if (d->type == SCIM_REFERENCE) {
		ck_str_list(json_object_get(o, "referenceTypes"), d->ref_types);
		keys++;
	}
	if (d->type == SCIM_COMPLEX) {
		const json_t *subs = json_object_get(o, "subAttributes");

		ck_assert(!sub);
		ck_assert_uint_eq(json_array_size(subs), d->nsubs);
		for (i = 0; i < d->nsubs; i++)
			ck_attr(json_array_get(subs, i), &d->subs[i], 1);
		keys++;
	}
	ck_assert_uint_eq(json_object_size(o), keys);
}

/* Fails unless o is the Schema resource of s. */
static void ck_schema(const json_t *o, const struct scim_schema_def *s, const char *loc)
{
	const json_t *attrs = json_object_get(o, "attributes");
	json_t *want;
	size_t i;

	ck_assert_str_eq(S(json_string_value(json_object_get(o, "id"))), s->id);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "name"))), s->name);
	ck_assert_str_eq(S(json_string_value(json_object_get(o, "description"))), s->description);
	want = json_pack("{s:[s], s:{s:s, s:s}}", "schemas",
	                 "urn:ietf:params:scim:schemas:core:2.0:Schema", "meta", "resourceType",
	                 "Schema", "location", loc);
	ck_json_eq(json_object_get(o, "schemas"), json_object_get(want, "schemas"));
	ck_json_eq(json_object_get(o, "meta"), json_object_get(want, "meta"));
	json_decref(want);
	ck_assert_uint_eq(json_object_size(o), 6);
	ck_assert_uint_eq(json_array_size(attrs), s->nattrs);
	for (i = 0; i < s->nattrs; i++)
		ck_attr(json_array_get(attrs, i), &s->attrs[i], 0);
}

START_TEST(test_schemas)
{
	static const char *const ids[] = {CU, EU, TU, CG, TG, TC, TGR};
	json_t *l = scim_schemas_json(BASE "//"), *res, *x;
	const struct scim_schema_def *defs[7];
	char loc[256], *text;
	int i, k = 0;

	for (i = 0; i < SCIM_R_COUNT; i++) {
		const struct scim_rtype *t = scim_rtype((enum scim_rtype_id)i);
		int j;

		defs[k++] = t->core;
		for (j = 0; t->ext[j]; j++)
			defs[k++] = t->ext[j];
	}
	ck_assert_int_eq(k, 7);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(S(json_string_value(json_array_get(json_object_get(l, "schemas"), 0))),
	                 SCIM_LIST_RESPONSE);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "totalResults")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "itemsPerPage")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "startIndex")), 1);
	ck_assert_uint_eq(json_object_size(l), 5);
	res = json_object_get(l, "Resources");
	ck_assert_uint_eq(json_array_size(res), 7);
	for (i = 0; i < 7; i++) {
		ck_assert_str_eq(defs[i]->id, ids[i]);
		snprintf(loc, sizeof loc, BASE "/Schemas/%s", ids[i]);
		ck_schema(json_array_get(res, i), defs[i], loc);
		/* one by URN, in any case */
		snprintf(loc, sizeof loc, "%s", ids[i]);
		for (k = 0; loc[k]; k++)
			loc[k] = (char)(k % 2 ? loc[k] : (loc[k] >= 'a' && loc[k] <= 'z' ?
			                                    loc[k] - 32 : loc[k]));
		x = scim_schema_json(BASE, loc);
		ck_assert_ptr_nonnull(x);
		ck_json_eq(x, json_array_get(res, i));
		json_decref(x);
	}
	/* no common attribute is listed */
	for (i = 0; i < 7; i++) {
		size_t j;
		const json_t *attrs = json_object_get(json_array_get(res, i), "attributes");

		for (j = 0; j < json_array_size(attrs); j++) {
			const char *n = json_string_value(json_object_get(json_array_get(attrs, j),
			                                                  "name"));

			ck_assert_str_ne(n, "id");
			ck_assert_str_ne(n, "externalId");
			ck_assert_str_ne(n, "meta");
		}
	}
	text = json_dumps(l, 0);
	ck_assert_ptr_nonnull(text);
	x = json_loads(text, 0, NULL);
	ck_json_eq(x, l);
	json_decref(x);
	free(text);
	json_decref(l);
	ck_assert_ptr_null(scim_schema_json(BASE, "urn:ietf:params:scim:schemas:core:2.0:Users"));
	ck_assert_ptr_null(scim_schema_json(BASE, SCIM_LIST_RESPONSE));
	ck_assert_ptr_null(scim_schema_json(BASE, ""));
	ck_assert_ptr_null(scim_schema_json(BASE, NULL));
}
END_TEST

/* a few attributes written out whole, as RFC 7643 §8.7.1 does */
START_TEST(test_schema_attrs)
{
	json_t *u = scim_schema_json("https://h/scim/v2", CU), *c = scim_schema_json("", TC);
	const json_t *a = json_object_get(u, "attributes"), *want;
	const struct scim_attr_def *d = scim_rtype(SCIM_R_USER)->core->attrs;
	size_t i;
	json_t *w;

	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(u, "meta"),
	                                                   "location")),
	                 "https://h/scim/v2/Schemas/" CU);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "meta"),
	                                                   "location")), "/Schemas/" TC);
	w = js("{'name':'userName','type':'string','multiValued':false,'description':'x',"
	       "'required':true,'caseExact':false,'mutability':'readWrite','returned':'default',"
	       "'uniqueness':'server'}");
	json_object_set_new(w, "description", json_string(d[0].description));
	ck_json_eq(json_array_get(a, 0), w);
	json_decref(w);
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *x = json_array_get(a, i);
		const char *n = json_string_value(json_object_get(x, "name"));

		if (strcmp(n, "password") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(x, "mutability")), "writeOnly");
			ck_assert_str_eq(json_string_value(json_object_get(x, "returned")), "never");
		} else if (strcmp(n, "groups") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(x, "mutability")), "readOnly");
			ck_assert(json_is_true(json_object_get(x, "multiValued")));
			want = json_array_get(json_object_get(x, "subAttributes"), 1);
			ck_assert_str_eq(json_string_value(json_object_get(want, "name")), "$ref");
			ck_assert_str_eq(json_string_value(json_object_get(want, "type")), "reference");
			w = js("['Group']");
			ck_json_eq(json_object_get(want, "referenceTypes"), w);
			json_decref(w);
		} else if (strcmp(n, "emails") == 0) {
			want = json_array_get(json_object_get(x, "subAttributes"), 2);
			w = js("['work','home','other']");
			ck_json_eq(json_object_get(want, "canonicalValues"), w);
			json_decref(w);
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
				json_object_get(x, "subAttributes"), 3), "type")), "boolean");
		} else if (strcmp(n, "profileUrl") == 0) {
			w = js("['external']");
			ck_json_eq(json_object_get(x, "referenceTypes"), w);
			json_decref(w);
		}
	}
	a = json_object_get(c, "attributes");
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *x = json_array_get(a, i);
		const char *n = json_string_value(json_object_get(x, "name"));

		if (strcmp(n, "grantTypes") == 0) {
			w = js("['client_credentials','authorization_code','refresh_token',"
			       "'urn:ietf:params:oauth:grant-type:device_code']");
			ck_json_eq(json_object_get(x, "canonicalValues"), w);
			json_decref(w);
			ck_assert(json_is_true(json_object_get(x, "caseExact")));
		} else if (strcmp(n, "public") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(x, "mutability")), "immutable");
		} else if (strcmp(n, "refreshGraceSeconds") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(x, "type")), "integer");
		}
	}
	json_decref(u);
	json_decref(c);
}
END_TEST

START_TEST(test_rtypes)
{
	json_t *l = scim_rtypes_json(BASE "/"), *res, *x, *want;
	static const char *const names[] = {"User", "Group", "Client", "Grant"};
	int i;

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "totalResults")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "itemsPerPage")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(l, "startIndex")), 1);
	ck_assert_str_eq(S(json_string_value(json_array_get(json_object_get(l, "schemas"), 0))),
	                 SCIM_LIST_RESPONSE);
	res = json_object_get(l, "Resources");
	ck_assert_uint_eq(json_array_size(res), 4);
	for (i = 0; i < 4; i++) {
		x = scim_rtype_json(BASE, names[i]);
		ck_assert_ptr_nonnull(x);
		ck_json_eq(json_array_get(res, i), x);
		json_decref(x);
	}
	want = js("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],'id':'User',"
	          "'name':'User','endpoint':'/Users','description':'User Account','schema':'" CU "',"
	          "'schemaExtensions':[{'schema':'" EU "','required':false},{'schema':'" TU "',"
	          "'required':false}],'meta':{'resourceType':'ResourceType',"
	          "'location':'" BASE "/ResourceTypes/User'}}");
	ck_json_eq(json_array_get(res, 0), want);
	json_decref(want);
	want = js("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],'id':'Group',"
	          "'name':'Group','endpoint':'/Groups','description':'Group','schema':'" CG "',"
	          "'schemaExtensions':[{'schema':'" TG "','required':false}],"
	          "'meta':{'resourceType':'ResourceType','location':'" BASE "/ResourceTypes/Group'}}");
	ck_json_eq(json_array_get(res, 1), want);
	json_decref(want);
	want = js("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],'id':'Client',"
	          "'name':'Client','endpoint':'/Clients','description':'OAuth 2.0 client',"
	          "'schema':'" TC "','meta':{'resourceType':'ResourceType',"
	          "'location':'" BASE "/ResourceTypes/Client'}}");
	ck_json_eq(json_array_get(res, 2), want);
	json_decref(want);
	want = js("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],'id':'Grant',"
	          "'name':'Grant','endpoint':'/Grants','description':'Grant of a user or client',"
	          "'schema':'" TGR "','meta':{'resourceType':'ResourceType',"
	          "'location':'" BASE "/ResourceTypes/Grant'}}");
	ck_json_eq(json_array_get(res, 3), want);
	json_decref(want);
	json_decref(l);
	ck_assert_ptr_null(scim_rtype_json(BASE, "Users"));
	ck_assert_ptr_null(scim_rtype_json(BASE, "user"));
	ck_assert_ptr_null(scim_rtype_json(BASE, ""));
	ck_assert_ptr_null(scim_rtype_json(BASE, NULL));
	x = scim_rtype_json(NULL, "Grant");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(x, "meta"),
	                                                   "location")), "/ResourceTypes/Grant");
	json_decref(x);
}
END_TEST

START_TEST(test_spc)
{
	json_t *x = scim_spc_json(BASE, 1000), *want;

	want = js("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],"
	          "'patch':{'supported':true},"
	          "'bulk':{'supported':false,'maxOperations':0,'maxPayloadSize':0},"
	          "'filter':{'supported':true,'maxResults':1000},"
	          "'changePassword':{'supported':false},'sort':{'supported':true},"
	          "'etag':{'supported':true},"
	          "'authenticationSchemes':[{'type':'oauthbearertoken','name':'OAuth Bearer Token',"
	          "'description':'Authentication with an OAuth 2.0 access token with the scim scope "
	          "(client credentials of an admin client)',"
	          "'specUri':'https://www.rfc-editor.org/rfc/rfc6750','primary':true}],"
	          "'meta':{'resourceType':'ServiceProviderConfig',"
	          "'location':'" BASE "/ServiceProviderConfig'}}");
	ck_json_eq(x, want);
	json_decref(x);
	json_decref(want);
	x = scim_spc_json(BASE "/", 5);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(x, "filter"),
	                                                    "maxResults")), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(x, "meta"),
	                                                   "location")),
	                 BASE "/ServiceProviderConfig");
	json_decref(x);
}
END_TEST

static Suite *scim_discovery_suite(void)
{
	Suite *s = suite_create("scim_discovery");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_schemas);
	tcase_add_test(tc, test_schema_attrs);
	tcase_add_test(tc, test_rtypes);
	tcase_add_test(tc, test_spc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_discovery_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
