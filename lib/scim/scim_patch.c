/* scim_patch.c - SCIM 2.0 PATCH (RFC 7644 §3.5.2) applied to a copy of a resource held as JSON.
 *
 * Each operation is resolved to a target (the attribute's definition, its optional sub-attribute
 * and value filter, and the object that holds it: the resource or its extension's URN-named
 * object) and applied in place to a deep copy; the first failure drops the copy. Values are
 * written with canonical attribute names; their types are checked afterwards by the caller
 * (scim_normalize), except where an operation needs a shape (an object for a complex attribute).
 *
 * The only recursion is over value filters, whose depth the parser bounds (SCIMF_MAX_DEPTH).
 *
 * This file checks the request, resolves each operation's path and runs it; the operations are
 * scim_patch_apply.c, values and filters scim_patch_value.c. */
#include "scim_patch_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_OPS 1000

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
	return g->filter ? patch_filter_check(c, f.attr, g->filter, 0) : TS_OK;
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
			r = k == OP_ADD ? TS_OK : patch_apply(c, OP_REMOVE, &g, NULL);
		else
			r = patch_apply(c, k, &g, v);
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
		r = patch_apply(c, k, &g, value);
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
