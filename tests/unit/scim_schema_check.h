/* scim_schema_check.h - what the suites of the SCIM schemas (test_scim_schema.c,
 * test_scim_project.c, test_scim_discovery.c) share: JSON written with ' for " and compared, and
 * a test resource type ("Thing") with the attribute types the real ones lack. */
#ifndef TESSERA_TEST_SCIM_SCHEMA_CHECK_H
#define TESSERA_TEST_SCIM_SCHEMA_CHECK_H

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "scim_schema.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(s) ((s) ? (s) : "(null)")
#define CU SCIM_CORE_USER
#define CG SCIM_CORE_GROUP
#define EU SCIM_ENTERPRISE_USER
#define TU SCIM_TESSERA_USER
#define TG SCIM_TESSERA_GROUP
#define TC SCIM_TESSERA_CLIENT
#define TGR SCIM_TESSERA_GRANT
#define SU "{'schemas':['" CU "'],"
#define SC "{'schemas':['" TC "'],"
#define BASE "https://issuer.example/scim/v2"

/* The JSON text t with every ' turned into ", parsed (any value); fails the test if invalid. */
static inline json_t *js(const char *t)
{
	char *s = strdup(t), *p;
	json_error_t err;
	json_t *v;

	ck_assert_ptr_nonnull(s);
	for (p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(s, JSON_DECODE_ANY, &err);
	if (!v)
		ck_abort_msg("bad test JSON %s: %s", s, err.text);
	free(s);
	return v;
}

/* Fails unless a and b are equal JSON, showing both. */
static inline void ck_json_eq(const json_t *a, const json_t *b)
{
	char *x, *y;

	if (json_equal(a, b))
		return;
	x = json_dumps(a, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	y = json_dumps(b, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	ck_abort_msg("got %s\nwant %s", S(x), S(y));
}

/* A test resource type with the types the real ones do not have writable (dateTime, decimal,
 * binary), a required sub-attribute, a "request" attribute and an extension with a required
 * attribute; it has no externalId. */
static const char *const tag_values[] = {"a", "b", NULL};
static const struct scim_attr_def pair_subs[] = {
	{"k", SCIM_STRING, 0, 1, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "key", NULL,
	 NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"v", SCIM_INTEGER, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "value",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"hidden", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_REQUEST, SCIM_UNIQ_NONE, "h",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
};
static const struct scim_attr_def thing_attrs[] = {
	{"when", SCIM_DATETIME, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "w",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"ratio", SCIM_DECIMAL, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "r",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"blob", SCIM_BINARY, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "b",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"tags", SCIM_STRING, 1, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "t",
	 tag_values, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"secret", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_REQUEST, SCIM_UNIQ_NONE, "s",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"pair", SCIM_COMPLEX, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "p",
	 NULL, NULL, pair_subs, 3, SCIM_AT_JSON, NULL},
};
static const struct scim_attr_def thing_ext_attrs[] = {
	{"code", SCIM_STRING, 0, 1, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "c",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	{"note", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "n",
	 NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
};
#define THING "urn:example:params:scim:schemas:2.0:Thing"
#define THINGX "urn:example:params:scim:schemas:2.0:ThingExt"
static const struct scim_schema_def thing_core = {THING, "Thing", "A thing", thing_attrs,
	N(thing_attrs)};
static const struct scim_schema_def thing_ext = {THINGX, "ThingExt", "More", thing_ext_attrs,
	N(thing_ext_attrs)};
static const struct scim_schema_def *const thing_exts[] = {&thing_ext, NULL};
static const struct scim_rtype thing = {SCIM_R_USER, "Thing", "/Things", "Things",
	&thing_core, thing_exts, "CAST(r.id AS TEXT)", NULL, "r.created_at", "r.updated_at"};
#define ST "{'schemas':['" THING "'],"

/* The resource type of a table row: NULL and (void *)1..3 stand for the real User, Group,
 * Client and Grant. */
static inline const struct scim_rtype *row_type(const struct scim_rtype *t)
{
	if (!t)
		return scim_rtype(SCIM_R_USER);
	if (t == (void *)1)
		return scim_rtype(SCIM_R_GROUP);
	if (t == (void *)2)
		return scim_rtype(SCIM_R_CLIENT);
	if (t == (void *)3)
		return scim_rtype(SCIM_R_GRANT);
	return t;
}

#endif
