/* scim_discovery.c - the SCIM discovery documents (RFC 7643 §5-§7, RFC 7644 §4): /Schemas,
 * /ResourceTypes and /ServiceProviderConfig, generated from the tables of scim_defs.c. */
#include "scim_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_SCHEMA_URN "urn:ietf:params:scim:schemas:core:2.0:Schema"
#define SCIM_RTYPE_URN "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_SPC_URN "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

/* ---- discovery ---- */

static const char *const type_names[] = {"string", "boolean", "decimal", "integer", "dateTime",
	"binary", "reference", "complex"};
static const char *const mutability_names[] = {"readWrite", "readOnly", "immutable",
	"writeOnly"};
static const char *const returned_names[] = {"default", "always", "never", "request"};
static const char *const uniqueness_names[] = {"none", "server", "global"};

/* A JSON array of the NULL-terminated strings list, or NULL on OOM. */
static json_t *str_array(const char *const *list)
{
	json_t *a = json_array();

	for (; a && *list; list++)
		if (json_array_append_new(a, json_string(*list)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The "meta" of a discovery resource: its resourceType, and location base + mid + id (base
 * without its trailing slashes). NULL on OOM. */
static json_t *meta_json(const char *rtype, const char *base, const char *mid, const char *id)
{
	size_t blen = base ? strlen(base) : 0, len;
	char *loc;
	json_t *m;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	len = blen + strlen(mid) + strlen(id) + 1;
	loc = malloc(len);
	if (!loc)
		return NULL;
	memcpy(loc, base ? base : "", blen);
	snprintf(loc + blen, len - blen, "%s%s", mid, id);
	m = json_pack("{s:s, s:s}", "resourceType", rtype, "location", loc);
	free(loc);
	return m;
}

/* The RFC 7643 §7 description of attribute d; with_subs: with its subAttributes (the
 * sub-attributes themselves are described without). NULL on OOM. */
static json_t *attr_json(const struct scim_attr_def *d, int with_subs)
{
	json_t *o, *subs;
	size_t i;

	o = json_pack("{s:s, s:s, s:b, s:s, s:b, s:b, s:s, s:s, s:s}", "name", d->name,
	              "type", type_names[d->type], "multiValued", d->multi,
	              "description", d->description ? d->description : "",
	              "required", d->required, "caseExact", d->case_exact,
	              "mutability", mutability_names[d->mutability],
	              "returned", returned_names[d->returned],
	              "uniqueness", uniqueness_names[d->uniqueness]);
	if (!o)
		return NULL;
	if (d->canonical && json_object_set_new(o, "canonicalValues", str_array(d->canonical)))
		goto oom;
	if (d->type == SCIM_REFERENCE && d->ref_types &&
	    json_object_set_new(o, "referenceTypes", str_array(d->ref_types)) != 0)
		goto oom;
	if (d->type == SCIM_COMPLEX && with_subs) {
		subs = json_array();
		if (json_object_set_new(o, "subAttributes", subs) != 0)
			goto oom;
		for (i = 0; i < d->nsubs; i++)
			if (json_array_append_new(subs, attr_json(&d->subs[i], 0)) != 0)
				goto oom;
	}
	return o;
oom:
	json_decref(o);
	return NULL;
}

/* The Schema resource of s (RFC 7643 §7). NULL on OOM. */
static json_t *schema_json(const char *base, const struct scim_schema_def *s)
{
	json_t *o, *attrs = json_array();
	size_t i;

	for (i = 0; attrs && i < s->nattrs; i++)
		if (json_array_append_new(attrs, attr_json(&s->attrs[i], 1)) != 0) {
			json_decref(attrs);
			attrs = NULL;
		}
	o = json_pack("{s:[s], s:s, s:s, s:s, s:o, s:o}", "schemas", SCIM_SCHEMA_URN,
	              "id", s->id, "name", s->name, "description", s->description,
	              "attributes", attrs, "meta", meta_json("Schema", base, "/Schemas/", s->id));
	return o;
}

/* A ListResponse holding all of the array resources (a reference stolen). NULL on OOM. */
static json_t *list_json(json_t *resources)
{
	json_int_t n = (json_int_t)json_array_size(resources);

	return json_pack("{s:[s], s:I, s:I, s:i, s:o}", "schemas", SCIM_LIST_RESPONSE,
	                 "totalResults", n, "itemsPerPage", n, "startIndex", 1,
	                 "Resources", resources);
}

/* Calls fn for every schema of every resource type, each once (in the order of the types,
 * core before extensions), until fn returns nonzero; returns that value, or 0. */
static int each_schema(int (*fn)(const struct scim_schema_def *, void *), void *arg)
{
	const struct scim_rtype *t;
	const struct scim_schema_def *s;
	int i, j, k, l, seen, r;

	for (i = 0; i < SCIM_R_COUNT; i++) {
		t = scim_rtype((enum scim_rtype_id)i);
		for (j = -1, s = t->core; s; s = t->ext[++j]) {
			seen = 0;
			for (k = 0; k < i && !seen; k++) {
				const struct scim_rtype *u = scim_rtype((enum scim_rtype_id)k);

				seen = u->core == s;
				for (l = 0; u->ext[l] && !seen; l++)
					seen = u->ext[l] == s;
			}
			for (l = 0; l < j && !seen; l++)
				seen = t->ext[l] == s;
			if (!seen && (r = fn(s, arg)) != 0)
				return r;
		}
	}
	return 0;
}

struct schema_acc {
	const char *base, *urn;
	json_t *out;
};

/* each_schema callback: appends the schema's resource to acc->out (1 on OOM, to stop). */
static int add_schema(const struct scim_schema_def *s, void *arg)
{
	struct schema_acc *acc = arg;

	return json_array_append_new(acc->out, schema_json(acc->base, s)) != 0;
}

/* each_schema callback: sets acc->out to the schema named acc->urn (1 when found). */
static int pick_schema(const struct scim_schema_def *s, void *arg)
{
	struct schema_acc *acc = arg;

	if (strcasecmp(s->id, acc->urn) != 0)
		return 0;
	acc->out = schema_json(acc->base, s);
	return 1;
}

json_t *scim_schemas_json(const char *base)
{
	struct schema_acc acc = {base, NULL, json_array()};

	if (!acc.out || each_schema(add_schema, &acc) != 0) {
		json_decref(acc.out);
		return NULL;
	}
	return list_json(acc.out);
}

/* The URN compares case-insensitively (RFC 8141 §3.1 for the "urn" and the NID; SCIM treats
 * schema URIs case-insensitively). */
json_t *scim_schema_json(const char *base, const char *urn)
{
	struct schema_acc acc = {base, urn, NULL};

	if (!urn)
		return NULL;
	each_schema(pick_schema, &acc);
	return acc.out;
}

/* The ResourceType resource of t (RFC 7643 §6); schemaExtensions is left out when t has none
 * (as in RFC 7643 §8.6's Group). NULL on OOM. */
static json_t *rtype_json(const char *base, const struct scim_rtype *t)
{
	json_t *o, *exts;
	size_t i;

	o = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s}", "schemas", SCIM_RTYPE_URN,
	              "id", t->name, "name", t->name, "endpoint", t->endpoint,
	              "description", t->description, "schema", t->core->id);
	if (!o)
		return NULL;
	if (t->ext[0]) {
		exts = json_array();
		if (json_object_set_new(o, "schemaExtensions", exts) != 0)
			goto oom;
		for (i = 0; t->ext[i]; i++)
			if (json_array_append_new(exts, json_pack("{s:s, s:b}", "schema",
			                                          t->ext[i]->id, "required", 0)) != 0)
				goto oom;
	}
	if (json_object_set_new(o, "meta", meta_json("ResourceType", base, "/ResourceTypes/",
	                                             t->name)) != 0)
		goto oom;
	return o;
oom:
	json_decref(o);
	return NULL;
}

json_t *scim_rtypes_json(const char *base)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a && i < SCIM_R_COUNT; i++)
		if (json_array_append_new(a, rtype_json(base, scim_rtype((enum scim_rtype_id)i)))) {
			json_decref(a);
			return NULL;
		}
	return a ? list_json(a) : NULL;
}

/* The name compares exactly ("User", as RFC 7644 §4 writes /ResourceTypes/User). */
json_t *scim_rtype_json(const char *base, const char *name)
{
	int i;

	for (i = 0; name && i < SCIM_R_COUNT; i++)
		if (strcmp(scim_rtype((enum scim_rtype_id)i)->name, name) == 0)
			return rtype_json(base, scim_rtype((enum scim_rtype_id)i));
	return NULL;
}

json_t *scim_spc_json(const char *base, int max_results)
{
	return json_pack("{s:[s], s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b},"
	                 " s:{s:b}, s:[{s:s, s:s, s:s, s:s, s:b}], s:o}",
	                 "schemas", SCIM_SPC_URN,
	                 "patch", "supported", 1,
	                 "bulk", "supported", 0, "maxOperations", 0, "maxPayloadSize", 0,
	                 "filter", "supported", 1, "maxResults", max_results,
	                 "changePassword", "supported", 0,
	                 "sort", "supported", 1,
	                 "etag", "supported", 1,
	                 "authenticationSchemes",
	                 "type", "oauthbearertoken", "name", "OAuth Bearer Token",
	                 "description", "Authentication with an OAuth 2.0 access token with the "
	                 "scim scope (client credentials of an admin client)",
	                 "specUri", "https://www.rfc-editor.org/rfc/rfc6750", "primary", 1,
	                 "meta", meta_json("ServiceProviderConfig", base, "/ServiceProviderConfig",
	                                   ""));
}
