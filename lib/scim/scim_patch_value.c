/* scim_patch_value.c - the values of SCIM PATCH: the objects of the resource's copy that hold
 * attributes, values in canonical form (names, Entra ID's "True"), multi-valued elements and
 * their primary flag, and value filters over elements (scim_patch_priv.h). */
#include "scim_patch_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The sub-attribute of complex d named name (any case), or NULL. */
const struct scim_attr_def *patch_sub_def(const struct scim_attr_def *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nsubs; i++)
		if (!strcasecmp(d->subs[i].name, name))
			return &d->subs[i];
	return NULL;
}

/* 1 when a and b are the same simple value; strings compare case-insensitively unless exact. */
int patch_same_value(const json_t *a, const json_t *b, int exact)
{
	if (!a || !b)
		return 0;
	if (json_is_string(a) && json_is_string(b) && !exact)
		return json_string_length(a) == json_string_length(b) &&
		       !strcasecmp(json_string_value(a), json_string_value(b));
	return json_equal(a, b);
}

/* The object that holds the attributes of extension urn (NULL: the resource), or NULL. */
json_t *patch_base_get(struct pctx *c, const char *urn)
{
	json_t *b;

	if (!urn)
		return c->res;
	b = json_object_get(c->res, urn);
	return json_is_object(b) ? b : NULL;
}

/* Like patch_base_get, creating the extension object (and listing urn in "schemas") if needed. */
ts_err patch_base_make(struct pctx *c, const char *urn, json_t **out)
{
	json_t *b, *schemas, *s;
	size_t i;

	if ((*out = patch_base_get(c, urn)))
		return TS_OK;
	if (!(b = json_object()) || json_object_set_new(c->res, urn, b))
		return oom();
	schemas = json_object_get(c->res, "schemas");
	if (!json_is_array(schemas)) {
		if (!(schemas = json_array()) || json_object_set_new(c->res, "schemas", schemas) ||
		    json_array_append_new(schemas, json_string(c->t->core->id)))
			return oom();
	}
	json_array_foreach(schemas, i, s)
		if (json_is_string(s) && !strcasecmp(json_string_value(s), urn))
			break;
	if (i == json_array_size(schemas) && json_array_append_new(schemas, json_string(urn)))
		return oom();
	*out = b;
	return TS_OK;
}


/* ---- values ---- */

/* A new copy of v as a value of the non-complex attribute d: Entra ID's "True" / "False"
 * strings become booleans for a boolean attribute; anything else is copied as it is. */
ts_err patch_canon_simple(const struct scim_attr_def *d, const json_t *v, json_t **out)
{
	*out = NULL;
	if (d->type == SCIM_BOOLEAN && json_is_string(v)) {
		if (!strcasecmp(json_string_value(v), "true"))
			*out = json_true();
		else if (!strcasecmp(json_string_value(v), "false"))
			*out = json_false();
	}
	if (!*out)
		*out = json_deep_copy(v);
	return *out ? TS_OK : oom();
}

/* A new copy of v as one value (one element, when multi-valued) of attribute d. A complex value
 * gets its sub-attribute names in canonical case, unknown ones dropped; a string for a complex
 * attribute with a "value" sub-attribute stands for {"value": string} (Entra ID's manager). */
ts_err patch_canon_one(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
                       json_t **out)
{
	const struct scim_attr_def *sd;
	const char *k;
	json_t *o, *x, *cv;

	*out = NULL;
	if (d->type != SCIM_COMPLEX)
		return patch_canon_simple(d, v, out);
	if (json_is_string(v) && (sd = patch_sub_def(d, "value"))) {
		if (!(o = json_object()) || json_object_set_new(o, sd->name, json_deep_copy(v))) {
			json_decref(o);
			return oom();
		}
		*out = o;
		return TS_OK;
	}
	if (!json_is_object(v))
		return scim_error_set(c->e, SCIM_E_INVALID_VALUE, "%s takes an object", d->name);
	if (!(o = json_object()))
		return oom();
	json_object_foreach((json_t *)v, k, x) {
		if (!(sd = patch_sub_def(d, k)))
			continue;
		if (patch_canon_simple(sd, x, &cv) != TS_OK || json_object_set_new(o, sd->name, cv)) {
			json_decref(o);
			return oom();
		}
	}
	*out = o;
	return TS_OK;
}

/* A new array of the elements v (one value or an array of them) for multi-valued d. */
ts_err patch_canon_multi(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
                         json_t **out)
{
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	json_t *a, *x, *cv;
	ts_err r;

	*out = NULL;
	if (!(a = json_array()))
		return oom();
	for (i = 0; i < n; i++) {
		x = json_is_array(v) ? json_array_get(v, i) : (json_t *)v;
		if (json_is_array(x)) {
			json_decref(a);
			return scim_error_set(c->e, SCIM_E_INVALID_VALUE, "%s: an array inside an array",
					      d->name);
		}
		if ((r = patch_canon_one(c, d, x, &cv)) != TS_OK) {
			json_decref(a);
			return r;
		}
		if (json_array_append_new(a, cv)) {
			json_decref(a);
			return oom();
		}
	}
	*out = a;
	return TS_OK;
}

/* Removes "primary" from every element of arr but keep (RFC 7644 §3.5.2: one primary). */
void patch_only_primary(json_t *arr, const json_t *keep)
{
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
		if (x != keep && json_is_object(x))
			json_object_del(x, "primary");
}

/* Whether element x of multi-valued d already stands for v: equal, or (complex) the same
 * "value" and, when both have one, the same "type". */
int patch_same_element(const struct scim_attr_def *d, const json_t *x, const json_t *v)
{
	const struct scim_attr_def *vd;
	json_t *xt, *vt;

	if (json_equal(x, v))
		return 1;
	if (d->type != SCIM_COMPLEX)
		return patch_same_value(x, v, d->case_exact);
	if (!(vd = patch_sub_def(d, "value")) || !json_is_object(x) || !json_is_object(v) ||
	    !patch_same_value(json_object_get(x, vd->name), json_object_get(v, vd->name), vd->case_exact))
		return 0;
	xt = json_object_get(x, "type");
	vt = json_object_get(v, "type");
	return !xt || !vt || patch_same_value(xt, vt, 0);
}

/* Adds element v (canonical) to arr unless it is there: an element with the same value is
 * updated with v's sub-attributes instead. A primary element makes the others non-primary. */
ts_err patch_add_element(const struct scim_attr_def *d, json_t *arr, json_t *v)
{
	json_t *x, *at = NULL;
	size_t i;

	json_array_foreach(arr, i, x)
		if (patch_same_element(d, x, v)) {
			at = x;
			break;
		}
	if (at && json_is_object(at) && json_is_object(v)) {
		if (json_object_update(at, v))
			return oom();
	} else if (!at) {
		if (json_array_append(arr, v))
			return oom();
		at = v;
	}
	if (json_is_object(at) && json_is_true(json_object_get(at, "primary")))
		patch_only_primary(arr, at);
	return TS_OK;
}

/* ---- filters ---- */

/* Checks that every attribute of value filter n names a sub-attribute of a: invalidPath. */
ts_err patch_filter_check(struct pctx *c, const struct scim_attr_def *a,
                          const struct scimf_node *n, int depth)
{
	struct scim_found f;
	size_t i;
	ts_err r;

	if (depth > SCIMF_MAX_DEPTH + 1)
		return scim_error_set(c->e, SCIM_E_INVALID_PATH, "filter too deep");
	if (n->kind == SCIMF_CMP || n->kind == SCIMF_PR) {
		if (scim_find(c->t, &n->attr, a, &f) != TS_OK)
			return scim_error_set(c->e, SCIM_E_INVALID_PATH, "%s has no sub-attribute %s",
					      a->name, n->attr.name);
		return TS_OK;
	}
	if (n->kind == SCIMF_VALUEPATH)
		return scim_error_set(c->e, SCIM_E_INVALID_PATH, "value path inside a value filter");
	for (i = 0; i < n->nkids; i++)
		if ((r = patch_filter_check(c, a, n->kids[i], depth + 1)) != TS_OK)
			return r;
	return TS_OK;
}

/* 1 if element x of a matches filter n, each comparison with its sub-attribute's caseExact. */
int patch_elem_match(struct pctx *c, const struct scim_attr_def *a, const struct scimf_node *n,
                     const json_t *x)
{
	struct scim_found f;
	size_t i;

	switch (n->kind) {
	case SCIMF_CMP:
	case SCIMF_PR:
		if (scim_find(c->t, &n->attr, a, &f) != TS_OK)
			return 0;
		return scimf_match(n, x, f.sub->case_exact);
	case SCIMF_AND:
		for (i = 0; i < n->nkids; i++)
			if (!patch_elem_match(c, a, n->kids[i], x))
				return 0;
		return 1;
	case SCIMF_OR:
		for (i = 0; i < n->nkids; i++)
			if (patch_elem_match(c, a, n->kids[i], x))
				return 1;
		return 0;
	case SCIMF_NOT:
		return !patch_elem_match(c, a, n->kids[0], x);
	default:
		return 0;
	}
}

/* Sets in o the condition n, an "eq" comparison with a non-null value. 0 if n is not one. */
static int eq_put(struct pctx *c, const struct scim_attr_def *a, const struct scimf_node *n,
                  json_t *o, ts_err *r)
{
	const struct scimf_value *v = &n->value;
	struct scim_found f;
	json_t *j;

	if (n->kind != SCIMF_CMP || n->op != SCIMF_EQ || v->type == SCIMF_V_NULL ||
	    scim_find(c->t, &n->attr, a, &f) != TS_OK)
		return 0;
	if (v->type == SCIMF_V_STRING)
		j = json_stringn(v->str, v->len);
	else if (v->type == SCIMF_V_NUMBER)
		j = v->is_int ? json_integer(v->i) : json_real(v->d);
	else
		j = json_boolean(v->type == SCIMF_V_TRUE);
	if (json_object_set_new(o, f.sub->name, j))
		*r = oom();
	return 1;
}

/* The element a filter of and-ed "eq" comparisons describes (new reference), e.g.
 * {"type":"work"} for type eq "work"; NULL with *r TS_OK when the filter is not of that form. */
json_t *patch_eq_element(struct pctx *c, const struct scim_attr_def *a,
                         const struct scimf_node *n, ts_err *r)
{
	json_t *o = json_object();
	size_t i;

	*r = o ? TS_OK : oom();
	if (!o)
		return NULL;
	if (n->kind == SCIMF_AND) {
		for (i = 0; i < n->nkids && *r == TS_OK; i++)
			if (!eq_put(c, a, n->kids[i], o, r))
				break;
		if (i == n->nkids && *r == TS_OK)
			return o;
	} else if (eq_put(c, a, n, o, r) && *r == TS_OK) {
		return o;
	}
	json_decref(o);
	return NULL;
}
