/* scim_patch.c - SCIM 2.0 PATCH (RFC 7644 §3.5.2) applied to a copy of a resource held as JSON.
 *
 * Each operation is resolved to a target (the attribute's definition, its optional sub-attribute
 * and value filter, and the object that holds it: the resource or its extension's URN-named
 * object) and applied in place to a deep copy; the first failure drops the copy. Values are
 * written with canonical attribute names; their types are checked afterwards by the caller
 * (scim_normalize), except where an operation needs a shape (an object for a complex attribute).
 *
 * The only recursion is over value filters, whose depth the parser bounds (SCIMF_MAX_DEPTH). */
#include "scim_patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_OPS 1000

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE };

/* The state of one request: the copy being patched and where errors go. */
struct pctx {
	const struct scim_rtype *t;
	json_t *res;
	struct scim_error *e;
};

/* What an operation works on. */
struct tgt {
	const struct scim_attr_def *attr;  /* the top-level attribute */
	const struct scim_attr_def *sub;   /* its sub-attribute, or NULL */
	const char *urn;                   /* the extension object holding attr; NULL: top level */
	const struct scimf_node *filter;   /* value filter over attr's elements, or NULL */
	int pathless;                      /* from a key of a path-less "value" */
};

/* ---- small helpers ---- */

/* The sub-attribute of complex d named name (any case), or NULL. */
static const struct scim_attr_def *sub_def(const struct scim_attr_def *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nsubs; i++)
		if (!strcasecmp(d->subs[i].name, name))
			return &d->subs[i];
	return NULL;
}

/* 1 when a and b are the same simple value; strings compare case-insensitively unless exact. */
static int same_value(const json_t *a, const json_t *b, int exact)
{
	if (!a || !b)
		return 0;
	if (json_is_string(a) && json_is_string(b) && !exact)
		return json_string_length(a) == json_string_length(b) &&
		       !strcasecmp(json_string_value(a), json_string_value(b));
	return json_equal(a, b);
}

static ts_err oom(void)
{
	return TS_SERVER_ERROR;
}

/* The object that holds the attributes of extension urn (NULL: the resource), or NULL. */
static json_t *base_get(struct pctx *c, const char *urn)
{
	json_t *b;

	if (!urn)
		return c->res;
	b = json_object_get(c->res, urn);
	return json_is_object(b) ? b : NULL;
}

/* Like base_get, creating the extension object (and listing urn in "schemas") if needed. */
static ts_err base_make(struct pctx *c, const char *urn, json_t **out)
{
	json_t *b, *schemas, *s;
	size_t i;

	if ((*out = base_get(c, urn)))
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

/* Drops the extension objects left empty, and their URNs from "schemas". */
static void drop_empty_exts(struct pctx *c)
{
	const struct scim_schema_def *const *x;
	json_t *schemas = json_object_get(c->res, "schemas"), *s;
	size_t i;

	for (x = c->t->ext; *x; x++) {
		json_t *b = json_object_get(c->res, (*x)->id);

		if (!json_is_object(b) || json_object_size(b) > 0)
			continue;
		json_object_del(c->res, (*x)->id);
		i = json_array_size(schemas);
		while (i-- > 0) {
			s = json_array_get(schemas, i);
			if (json_is_string(s) && !strcasecmp(json_string_value(s), (*x)->id))
				json_array_remove(schemas, i);
		}
	}
}

/* ---- values ---- */

/* A new copy of v as a value of the non-complex attribute d: Entra ID's "True" / "False"
 * strings become booleans for a boolean attribute; anything else is copied as it is. */
static ts_err canon_simple(const struct scim_attr_def *d, const json_t *v, json_t **out)
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
static ts_err canon_one(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
                        json_t **out)
{
	const struct scim_attr_def *sd;
	const char *k;
	json_t *o, *x, *cv;

	*out = NULL;
	if (d->type != SCIM_COMPLEX)
		return canon_simple(d, v, out);
	if (json_is_string(v) && (sd = sub_def(d, "value"))) {
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
		if (!(sd = sub_def(d, k)))
			continue;
		if (canon_simple(sd, x, &cv) != TS_OK || json_object_set_new(o, sd->name, cv)) {
			json_decref(o);
			return oom();
		}
	}
	*out = o;
	return TS_OK;
}

/* A new array of the elements v (one value or an array of them) for multi-valued d. */
static ts_err canon_multi(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
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
		if ((r = canon_one(c, d, x, &cv)) != TS_OK) {
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
static void only_primary(json_t *arr, const json_t *keep)
{
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
		if (x != keep && json_is_object(x))
			json_object_del(x, "primary");
}

/* Whether element x of multi-valued d already stands for v: equal, or (complex) the same
 * "value" and, when both have one, the same "type". */
static int same_element(const struct scim_attr_def *d, const json_t *x, const json_t *v)
{
	const struct scim_attr_def *vd;
	json_t *xt, *vt;

	if (json_equal(x, v))
		return 1;
	if (d->type != SCIM_COMPLEX)
		return same_value(x, v, d->case_exact);
	if (!(vd = sub_def(d, "value")) || !json_is_object(x) || !json_is_object(v) ||
	    !same_value(json_object_get(x, vd->name), json_object_get(v, vd->name), vd->case_exact))
		return 0;
	xt = json_object_get(x, "type");
	vt = json_object_get(v, "type");
	return !xt || !vt || same_value(xt, vt, 0);
}

/* Adds element v (canonical) to arr unless it is there: an element with the same value is
 * updated with v's sub-attributes instead. A primary element makes the others non-primary. */
static ts_err add_element(const struct scim_attr_def *d, json_t *arr, json_t *v)
{
	json_t *x, *at = NULL;
	size_t i;

	json_array_foreach(arr, i, x)
		if (same_element(d, x, v)) {
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
		only_primary(arr, at);
	return TS_OK;
}

/* ---- filters ---- */

/* Checks that every attribute of value filter n names a sub-attribute of a: invalidPath. */
static ts_err filter_check(struct pctx *c, const struct scim_attr_def *a,
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
		if ((r = filter_check(c, a, n->kids[i], depth + 1)) != TS_OK)
			return r;
	return TS_OK;
}

/* 1 if element x of a matches filter n, each comparison with its sub-attribute's caseExact. */
static int elem_match(struct pctx *c, const struct scim_attr_def *a, const struct scimf_node *n,
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
			if (!elem_match(c, a, n->kids[i], x))
				return 0;
		return 1;
	case SCIMF_OR:
		for (i = 0; i < n->nkids; i++)
			if (elem_match(c, a, n->kids[i], x))
				return 1;
		return 0;
	case SCIMF_NOT:
		return !elem_match(c, a, n->kids[0], x);
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
static json_t *eq_element(struct pctx *c, const struct scim_attr_def *a,
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

/* ---- operations on a target ---- */

/* Sets sub-attribute s of object x to a copy of v (elements share nothing), unless s is
 * immutable and already holds another value. */
static ts_err leaf_set(struct pctx *c, const struct scim_attr_def *s, json_t *x, json_t *v)
{
	json_t *old = json_object_get(x, s->name);

	if (s->mutability == SCIM_IMMUTABLE && scimf_present(old) && !json_equal(old, v))
		return scim_error_set(c->e, SCIM_E_MUTABILITY, "%s is immutable", s->name);
	return json_object_set_new(x, s->name, json_deep_copy(v)) ? oom() : TS_OK;
}

/* Removes sub-attribute s of object x, unless s is immutable and has a value. */
static ts_err leaf_del(struct pctx *c, const struct scim_attr_def *s, json_t *x)
{
	if (s->mutability == SCIM_IMMUTABLE && scimf_present(json_object_get(x, s->name)))
		return scim_error_set(c->e, SCIM_E_MUTABILITY, "%s is immutable", s->name);
	json_object_del(x, s->name);
	return TS_OK;
}

/* Removes from base the attribute a if its value (array or object) has become empty. */
static void drop_if_empty(json_t *base, const struct scim_attr_def *a)
{
	json_t *v = json_object_get(base, a->name);

	if ((json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)))
		json_object_del(base, a->name);
}

/* remove with a "value" on multi-valued a: drops the elements that stand for a given one. */
static ts_err remove_values(struct pctx *c, const struct tgt *g, json_t *base, json_t *cur,
                            const json_t *value)
{
	json_t *given, *x;
	size_t i, j;
	ts_err r;

	if ((r = canon_multi(c, g->attr, value, &given)) != TS_OK)
		return r;
	i = json_array_size(cur);
	while (i-- > 0) {
		json_array_foreach(given, j, x)
			if (same_element(g->attr, json_array_get(cur, i), x)) {
				json_array_remove(cur, i);
				break;
			}
	}
	json_decref(given);
	drop_if_empty(base, g->attr);
	return TS_OK;
}

/* An operation on a whole attribute (no filter, no sub-attribute). */
static ts_err op_attr(struct pctx *c, enum op_kind k, const struct tgt *g, const json_t *value)
{
	const struct scim_attr_def *a = g->attr;
	json_t *base = base_get(c, g->urn), *cur = base ? json_object_get(base, a->name) : NULL;
	json_t *v, *x;
	size_t i;
	ts_err r;

	if (k == OP_REMOVE) {
		if (!cur)
			return TS_OK;
		if (value && a->multi && json_is_array(cur))
			return remove_values(c, g, base, cur, value);
		json_object_del(base, a->name);
		return TS_OK;
	}
	r = a->multi ? canon_multi(c, a, value, &v) : canon_one(c, a, value, &v);
	if (r != TS_OK)
		return r;
	if (a->multi && k == OP_ADD) {
		if (!json_is_array(cur) && (r = base_make(c, g->urn, &base)) == TS_OK &&
		    json_object_set_new(base, a->name, cur = json_array()))
			r = oom();
		json_array_foreach(v, i, x)
			if (r != TS_OK || (r = add_element(a, cur, x)) != TS_OK)
				break;
		if (r == TS_OK)
			drop_if_empty(base, a);
	} else if (!a->multi && a->type == SCIM_COMPLEX && json_is_object(cur)) {
		/* RFC 7644 §3.5.2.1 and §3.5.2.3: the sub-attributes given replace or add */
		if (json_object_update(cur, v))
			r = oom();
	} else if ((r = base_make(c, g->urn, &base)) == TS_OK) {
		if (json_object_set(base, a->name, v))
			r = oom();
	}
	json_decref(v);
	return r;
}

/* An operation on a sub-attribute without a filter: "name.familyName", "emails.value" (then
 * every element's). */
static ts_err op_sub(struct pctx *c, enum op_kind k, const struct tgt *g, const json_t *value)
{
	const struct scim_attr_def *a = g->attr, *s = g->sub;
	json_t *base = base_get(c, g->urn), *cur = base ? json_object_get(base, a->name) : NULL;
	json_t *v = NULL, *x;
	size_t i;
	ts_err r = TS_OK;

	if (k == OP_REMOVE) {
		if (json_is_object(cur))
			r = leaf_del(c, s, cur);
		i = json_array_size(cur);
		while (r == TS_OK && i-- > 0) {
			x = json_array_get(cur, i);
			if (json_is_object(x) && (r = leaf_del(c, s, x)) == TS_OK && !json_object_size(x))
				json_array_remove(cur, i);
		}
		if (base)
			drop_if_empty(base, a);
		return r;
	}
	if ((r = canon_simple(s, value, &v)) != TS_OK)
		return r;
	if (a->multi && json_array_size(cur) > 0) {
		json_array_foreach(cur, i, x)
			if (json_is_object(x) && (r = leaf_set(c, s, x, v)) != TS_OK)
				break;
	} else if (a->multi && k == OP_REPLACE) {
		r = scim_error_set(c->e, SCIM_E_NO_TARGET, "%s has no element", a->name);
	} else if (!a->multi && json_is_object(cur)) {
		r = leaf_set(c, s, cur, v);
	} else if ((r = base_make(c, g->urn, &base)) == TS_OK) {
		/* a new {"sub": v}, alone or as the only element */
		json_t *o = json_object(), *top = a->multi ? json_array() : json_incref(o);

		if (!o || !top || json_object_set(o, s->name, v) ||
		    (a->multi && json_array_append(top, o)) || json_object_set(base, a->name, top))
			r = oom();
		json_decref(top);
		json_decref(o);
	}
	json_decref(v);
	return r;
}

/* remove with a value filter: the matching elements, or their sub-attribute. */
static ts_err op_filter_remove(struct pctx *c, const struct tgt *g, json_t *base, json_t *cur)
{
	size_t i = json_array_size(cur), hits = 0;
	json_t *x;
	ts_err r = TS_OK;

	while (r == TS_OK && i-- > 0) {
		x = json_array_get(cur, i);
		if (!elem_match(c, g->attr, g->filter, x))
			continue;
		hits++;
		if (!g->sub)
			json_array_remove(cur, i);
		else if (json_is_object(x) && (r = leaf_del(c, g->sub, x)) == TS_OK &&
			 !json_object_size(x))
			json_array_remove(cur, i);
	}
	if (r == TS_OK && !hits)
		return scim_error_set(c->e, SCIM_E_NO_TARGET, "no %s element matches", g->attr->name);
	if (base)
		drop_if_empty(base, g->attr);
	return r;
}

/* add / replace of a filter's sub-attribute when no element matches: a new element made of the
 * filter's eq conditions and the value (what Entra ID sends for emails[type eq "work"].value). */
static ts_err filter_new_element(struct pctx *c, const struct tgt *g, json_t *v)
{
	json_t *base, *cur, *o;
	ts_err r;

	if (!(o = eq_element(c, g->attr, g->filter, &r)))
		return r != TS_OK ? r : scim_error_set(c->e, SCIM_E_NO_TARGET,
						       "no %s element matches", g->attr->name);
	if (json_object_set(o, g->sub->name, v) || (r = base_make(c, g->urn, &base)) != TS_OK) {
		json_decref(o);
		return oom();
	}
	cur = json_object_get(base, g->attr->name);
	if (!json_is_array(cur) && json_object_set_new(base, g->attr->name, cur = json_array())) {
		json_decref(o);
		return oom();
	}
	if (json_array_append_new(cur, o))
		return oom();
	if (json_is_true(json_object_get(o, "primary")))
		only_primary(cur, o);
	return TS_OK;
}

/* add / replace with a value filter: the matching elements have their sub-attribute set, or
 * are replaced by the value (replace) or get its sub-attributes (add). */
static ts_err op_filter_set(struct pctx *c, enum op_kind k, const struct tgt *g, json_t *cur,
                            const json_t *value)
{
	json_t *v, *x, *last = NULL;
	size_t i, hits = 0;
	ts_err r;

	r = g->sub ? canon_simple(g->sub, value, &v) : canon_one(c, g->attr, value, &v);
	if (r != TS_OK)
		return r;
	json_array_foreach(cur, i, x) {
		if (!elem_match(c, g->attr, g->filter, x))
			continue;
		hits++;
		if (g->sub) {
			if (!json_is_object(x))
				continue;
			if ((r = leaf_set(c, g->sub, x, v)) != TS_OK)
				break;
			last = x;
		} else if (k == OP_ADD && json_is_object(x)) {
			if (json_object_update(x, v)) {
				r = oom();
				break;
			}
			last = x;
		} else if (!(last = json_deep_copy(v)) || json_array_set_new(cur, i, last)) {
			r = oom();
			break;
		}
	}
	if (r == TS_OK && !hits && g->sub)
		r = filter_new_element(c, g, v);
	else if (r == TS_OK && !hits)
		r = scim_error_set(c->e, SCIM_E_NO_TARGET, "no %s element matches", g->attr->name);
	else if (r == TS_OK && hits == 1 && json_is_true(json_object_get(last, "primary")))
		only_primary(cur, last);
	json_decref(v);
	return r;
}

/* readOnly targets: refused, except (path-less) a value equal to the current one, as Okta sends
 * back the "id" it was given. Sets *skip when the operation changes nothing. */
static ts_err check_read_only(struct pctx *c, const struct tgt *g, const json_t *value,
                              int *skip)
{
	json_t *base, *cur;

	*skip = 0;
	if (g->attr->mutability != SCIM_READ_ONLY &&
	    !(g->sub && g->sub->mutability == SCIM_READ_ONLY))
		return TS_OK;
	if (g->pathless && !g->filter && (!g->sub || !g->attr->multi)) {
		base = base_get(c, g->urn);
		cur = base ? json_object_get(base, g->attr->name) : NULL;
		if (g->sub)
			cur = json_object_get(cur, g->sub->name);
		if (json_equal(cur, value) || (!scimf_present(cur) && !scimf_present(value))) {
			*skip = 1;
			return TS_OK;
		}
	}
	return scim_error_set(c->e, SCIM_E_MUTABILITY, "%s%s%s is readOnly", g->attr->name,
			      g->sub ? "." : "", g->sub ? g->sub->name : "");
}

/* Applies operation k with value (NULL for a remove without one) to target g. */
static ts_err apply(struct pctx *c, enum op_kind k, const struct tgt *g, const json_t *value)
{
	json_t *base, *cur, *old = NULL;
	int skip, immutable = g->attr->mutability == SCIM_IMMUTABLE && !g->sub;
	ts_err r;

	if ((r = check_read_only(c, g, value, &skip)) != TS_OK || skip)
		return r;
	base = base_get(c, g->urn);
	cur = base ? json_object_get(base, g->attr->name) : NULL;
	if (immutable && scimf_present(cur) && !(old = json_deep_copy(cur)))
		return oom();
	if (g->filter && k == OP_REMOVE)
		r = op_filter_remove(c, g, base, cur);
	else if (g->filter && json_is_array(cur))
		r = op_filter_set(c, k, g, cur, value);
	else if (g->filter && g->sub)
		r = op_filter_set(c, k, g, NULL, value); /* no element: maybe a new one */
	else if (g->filter)
		r = scim_error_set(c->e, SCIM_E_NO_TARGET, "%s has no element", g->attr->name);
	else if (g->sub)
		r = op_sub(c, k, g, value);
	else
		r = op_attr(c, k, g, value);
	if (r == TS_OK && old) {
		base = base_get(c, g->urn);
		if (!json_equal(old, base ? json_object_get(base, g->attr->name) : NULL))
			r = scim_error_set(c->e, SCIM_E_MUTABILITY, "%s is immutable", g->attr->name);
	}
	json_decref(old);
	return r;
}

/* ---- paths ---- */

/* Resolves PATCH path text into *p (the caller frees it) and g: invalidPath when it does not
 * parse, names no attribute of the type, or has a filter on an attribute that is not
 * multi-valued and complex or naming no sub-attribute of it. */
static ts_err resolve(struct pctx *c, const char *text, struct scimf_path **p, struct tgt *g)
{
	struct scim_found f;
	const char *why = NULL;
	ts_err r;

	memset(g, 0, sizeof *g);
	if ((r = scimf_parse_path(text, p, &why)) != TS_OK)
		return r == TS_SERVER_ERROR ? r :
		       scim_error_set(c->e, SCIM_E_INVALID_PATH, "bad path: %s", why ? why : "?");
	if (scim_find(c->t, &(*p)->attr, NULL, &f) != TS_OK)
		return scim_error_set(c->e, SCIM_E_INVALID_PATH, "no attribute %s", text);
	g->attr = f.attr;
	g->sub = f.sub;
	g->urn = f.schema && f.schema != c->t->core ? f.schema->id : NULL;
	g->filter = (*p)->filter;
	if (g->filter && (!f.attr->multi || f.attr->type != SCIM_COMPLEX))
		return scim_error_set(c->e, SCIM_E_INVALID_PATH, "%s takes no value filter",
				      f.attr->name);
	return g->filter ? filter_check(c, f.attr, g->filter, 0) : TS_OK;
}

/* One key of a path-less value, applied as an operation with that path. Keys naming no
 * attribute (or not paths at all) are ignored, as RFC 7644 §3.5.2 lets a server do. */
static ts_err apply_key(struct pctx *c, enum op_kind k, const char *key, const json_t *v)
{
	struct scimf_path *p = NULL;
	struct scim_error ign = {SCIM_E_NONE, NULL};
	struct scim_error *saved = c->e;
	struct tgt g;
	ts_err r;

	c->e = &ign;
	r = resolve(c, key, &p, &g);
	c->e = saved;
	scim_error_clear(&ign);
	if (r == TS_OK) {
		g.pathless = 1;
		/* null: unassigned (RFC 7643 §2.5), so replace removes and add does nothing */
		if (json_is_null(v))
			r = k == OP_ADD ? TS_OK : apply(c, OP_REMOVE, &g, NULL);
		else
			r = apply(c, k, &g, v);
	} else if (r == TS_INVALID_REQUEST) {
		r = TS_OK;
	}
	scimf_path_free(p);
	return r;
}

/* The core schema or extension of the type whose URN is s (any case), or NULL. */
static const struct scim_schema_def *schema_named(const struct scim_rtype *t, const char *s)
{
	const struct scim_schema_def *const *x;

	if (!strcasecmp(s, t->core->id))
		return t->core;
	for (x = t->ext; *x; x++)
		if (!strcasecmp(s, (*x)->id))
			return *x;
	return NULL;
}

/* add / replace without a path: each key of the object value is its own operation; a key that
 * is a schema URN holds an object of that schema's attributes. */
static ts_err apply_pathless(struct pctx *c, enum op_kind k, const json_t *value)
{
	const struct scim_schema_def *s;
	const char *key, *ik;
	json_t *v, *iv;
	ts_err r = TS_OK;

	if (!json_is_object(value))
		return scim_error_set(c->e, SCIM_E_INVALID_VALUE, "value without path: not an object");
	json_object_foreach((json_t *)value, key, v) {
		if (!strcasecmp(key, "schemas"))
			continue;
		if (!(s = schema_named(c->t, key))) {
			if ((r = apply_key(c, k, key, v)) != TS_OK)
				return r;
			continue;
		}
		if (!json_is_object(v))
			return scim_error_set(c->e, SCIM_E_INVALID_VALUE, "%s: not an object", s->id);
		json_object_foreach(v, ik, iv) {
			size_t n = strlen(s->id) + strlen(ik) + 2;
			char *text = malloc(n);

			if (!text)
				return oom();
			snprintf(text, n, "%s:%s", s->id, ik);
			r = apply_key(c, k, text, iv);
			free(text);
			if (r != TS_OK)
				return r;
		}
	}
	return r;
}

/* One member of "Operations". */
static ts_err do_op(struct pctx *c, const json_t *o, size_t idx)
{
	struct scimf_path *p = NULL;
	const json_t *opv, *path, *value;
	const char *name;
	enum op_kind k;
	struct tgt g;
	ts_err r;

	if (!json_is_object(o))
		return scim_error_set(c->e, SCIM_E_INVALID_SYNTAX, "Operations[%zu]: not an object", idx);
	opv = scimf_get_ci(o, "op");
	name = json_string_value(opv);
	if (!name)
		return scim_error_set(c->e, SCIM_E_INVALID_SYNTAX, "Operations[%zu]: no op", idx);
	if (!strcasecmp(name, "add"))
		k = OP_ADD;
	else if (!strcasecmp(name, "remove"))
		k = OP_REMOVE;
	else if (!strcasecmp(name, "replace"))
		k = OP_REPLACE;
	else
		return scim_error_set(c->e, SCIM_E_INVALID_SYNTAX, "Operations[%zu]: unknown op", idx);
	path = scimf_get_ci(o, "path");
	value = scimf_get_ci(o, "value");
	if (json_is_null(path))
		path = NULL;
	if (json_is_null(value))
		value = NULL;
	if (path && !json_is_string(path))
		return scim_error_set(c->e, SCIM_E_INVALID_PATH, "Operations[%zu]: path not a string",
				      idx);
	if (k != OP_REMOVE && !value)
		return scim_error_set(c->e, SCIM_E_INVALID_SYNTAX, "Operations[%zu]: no value", idx);
	if (!path)
		return k == OP_REMOVE ?
		       scim_error_set(c->e, SCIM_E_NO_TARGET, "Operations[%zu]: remove without path",
				      idx) :
		       apply_pathless(c, k, value);
	if ((r = resolve(c, json_string_value(path), &p, &g)) == TS_OK)
		r = apply(c, k, &g, value);
	scimf_path_free(p);
	return r;
}

/* Checks the envelope of the request: "schemas" and "Operations". */
static ts_err check_request(const json_t *req, const json_t **ops, struct scim_error *e)
{
	const json_t *schemas, *s;
	size_t i;

	if (!json_is_object(req))
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "the body is not a PatchOp object");
	schemas = scimf_get_ci(req, "schemas");
	json_array_foreach(schemas, i, s)
		if (json_is_string(s) && !strcasecmp(json_string_value(s), SCIM_PATCH_OP))
			break;
	if (!json_is_array(schemas) || i == json_array_size(schemas))
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "schemas must hold %s", SCIM_PATCH_OP);
	*ops = scimf_get_ci(req, "Operations");
	if (!json_is_array(*ops) || !json_array_size(*ops))
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "Operations must be a non-empty array");
	if (json_array_size(*ops) > MAX_OPS)
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "more than %d Operations", MAX_OPS);
	return TS_OK;
}

ts_err scim_patch(const struct scim_rtype *t, const json_t *resource, const json_t *request,
                  json_t **out, struct scim_error *e)
{
	struct pctx c = {t, NULL, e};
	const json_t *ops = NULL, *o;
	size_t i;
	ts_err r;

	*out = NULL;
	if (!t || !json_is_object(resource))
		return TS_SERVER_ERROR;
	if ((r = check_request(request, &ops, e)) != TS_OK)
		return r;
	if (!(c.res = json_deep_copy(resource)))
		return oom();
	json_array_foreach(ops, i, o)
		if ((r = do_op(&c, o, i)) != TS_OK) {
			json_decref(c.res);
			return r;
		}
	drop_empty_exts(&c);
	*out = c.res;
	return TS_OK;
}
