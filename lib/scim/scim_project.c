/* scim_project.c - the attributes of a SCIM answer chosen by the request's attributes or
 * excludedAttributes (scim_project, RFC 7644 §3.4.2.5), with the schemas' "returned" rules. */
#include "scim_schema_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One item of an attributes / excludedAttributes list, resolved: an attribute (sub NULL), a
 * sub-attribute of one, or (attr NULL) a whole extension named by its bare URN. */
struct sel {
	const struct scim_attr_def *attr, *sub;
	const struct scim_schema_def *ext;
};

struct sel_list {
	struct sel *v;
	size_t n;
	int given;
};

/* Resolves one trimmed item (len bytes at p) into l; unknown attributes are skipped. */
static ts_err parse_item(const struct scim_rtype *t, const char *p, size_t len,
                         struct sel_list *l, struct scim_error *e)
{
	struct scimf_path *path = NULL;
	struct scim_found f;
	char *item;
	ts_err r;

	if (len == 0)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "an attribute list has an empty item");
	item = strndup(p, len);
	if (!item)
		return TS_SERVER_ERROR;
	if ((l->v[l->n].ext = scim_ext_named(t, item)) != NULL) {
		l->v[l->n++].attr = NULL;
		free(item);
		return TS_OK;
	}
	r = scimf_parse_path(item, &path, NULL);
	if (r == TS_OK && path->filter)
		r = TS_INVALID_REQUEST;
	if (r == TS_INVALID_REQUEST)
		scim_error_set(e, SCIM_E_INVALID_VALUE, "\"%.200s\" is not an attribute path", item);
	if (r == TS_OK && scim_find(t, &path->attr, NULL, &f) == TS_OK) {
		l->v[l->n].attr = f.attr;
		l->v[l->n++].sub = f.sub;
	}
	scimf_path_free(path);
	free(item);
	return r;
}

/* Parses a comma-separated list of attribute paths (spaces and tabs around items allowed).
 * NULL or blank: no list (l->given = 0). The caller frees l->v. */
static ts_err parse_list(const struct scim_rtype *t, const char *text, struct sel_list *l,
                         struct scim_error *e)
{
	const char *p, *end;
	size_t cap = 1;
	ts_err r;

	memset(l, 0, sizeof *l);
	if (!text || text[strspn(text, " \t")] == '\0')
		return TS_OK;
	for (p = text; *p; p++)
		cap += *p == ',';
	l->v = calloc(cap, sizeof *l->v);
	if (!l->v)
		return TS_SERVER_ERROR;
	l->given = 1;
	for (p = text;; p = end + 1) {
		end = p + strcspn(p, ",");
		p += strspn(p, " \t");
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		r = parse_item(t, p, (size_t)(end - p), l, e);
		if (r != TS_OK)
			return r;
		end += strspn(end, " \t");
		if (*end == '\0')
			return TS_OK;
	}
}

/* 1 if l names attribute d (of schema s) as a whole, or s as a whole. */
static int names_whole(const struct sel_list *l, const struct scim_attr_def *d,
                       const struct scim_schema_def *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].attr ? l->v[i].attr == d && !l->v[i].sub : s && l->v[i].ext == s)
			return 1;
	return 0;
}

/* 1 if l names sub-attribute sd of d (sd NULL: any sub-attribute of d). */
static int names_sub(const struct sel_list *l, const struct scim_attr_def *d,
                     const struct scim_attr_def *sd)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].attr == d && l->v[i].sub && (!sd || l->v[i].sub == sd))
			return 1;
	return 0;
}

/* Removes from the complex value o of d the sub-attributes the answer leaves out: "never"
 * ones, "request" ones not named in in, ones not named in in when only_named, ones named in ex
 * ("always" ones stay). Unknown members stay unless only_named. */
static void project_obj(json_t *o, const struct scim_attr_def *d, int only_named,
                        const struct sel_list *in, const struct sel_list *ex)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(o, tmp, key, v) {
		const struct scim_attr_def *sd = scim_sub_named(d, key);
		int drop;

		if (!sd)
			drop = only_named;
		else if (sd->returned == SCIM_RET_ALWAYS)
			drop = 0;
		else if (sd->returned == SCIM_RET_NEVER)
			drop = 1;
		else if ((only_named || sd->returned == SCIM_RET_REQUEST) && !names_sub(in, d, sd))
			drop = 1;
		else
			drop = names_sub(ex, d, sd);
		if (drop)
			json_object_del(o, key);
	}
}

/* Applies project_obj to the value v of the complex attribute d (an object, or an array of
 * them); returns 1 when nothing is left of v. */
static int project_complex(json_t *v, const struct scim_attr_def *d, int only_named,
                           const struct sel_list *in, const struct sel_list *ex)
{
	size_t i;

	if (json_is_object(v)) {
		project_obj(v, d, only_named, in, ex);
		return json_object_size(v) == 0;
	}
	for (i = json_array_size(v); i-- > 0;) {
		json_t *x = json_array_get(v, i);

		if (!json_is_object(x))
			continue;
		project_obj(x, d, only_named, in, ex);
		if (json_object_size(x) == 0)
			json_array_remove(v, i);
	}
	return json_is_array(v) && json_array_size(v) == 0;
}

/* Whether attribute d (of schema s, NULL for the common ones) with value v stays in the
 * answer, after trimming its sub-attributes: 1 keep, 0 remove. */
static int project_attr(json_t *v, const struct scim_attr_def *d,
                        const struct scim_schema_def *s, const struct sel_list *in,
                        const struct sel_list *ex)
{
	int only_named = 0;

	if (d->returned == SCIM_RET_ALWAYS)
		return 1;
	if (d->returned == SCIM_RET_NEVER)
		return 0;
	if (in->given && !names_whole(in, d, s)) {
		if (!names_sub(in, d, NULL))
			return 0;
		only_named = 1;
	} else if (!in->given && d->returned == SCIM_RET_REQUEST) {
		return 0;
	}
	if (names_whole(ex, d, s))
		return 0;
	if (d->type == SCIM_COMPLEX)
		return !project_complex(v, d, only_named, in, ex);
	return 1;
}

/* Projects the attributes inside the extension object obj of schema urn; members of no
 * attribute stay unless an `attributes` list is given. */
static void project_members(const struct scim_rtype *t, json_t *obj, const char *urn,
                            const struct sel_list *in, const struct sel_list *ex)
{
	struct scim_found f;
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		if (scim_find_name(t, urn, key, &f) != TS_OK) {
			if (in->given)
				json_object_del(obj, key);
		} else if (!project_attr(v, f.attr, f.schema, in, ex)) {
			json_object_del(obj, key);
		}
	}
}

/* scim_project: the lists are parsed first, so that a bad one leaves resource as it was.
 * "schemas" is left as it is, even when an extension object goes away (RFC 7644's examples
 * keep it); an extension object left empty is removed. */
ts_err scim_project(const struct scim_rtype *t, json_t *resource, const char *attributes,
                    const char *excluded, struct scim_error *e)
{
	const struct scim_schema_def *s;
	struct scim_found f;
	struct sel_list in, ex;
	const char *key;
	json_t *v;
	void *tmp;
	ts_err r;

	memset(&ex, 0, sizeof ex);
	if (!t || !json_is_object(resource))
		return TS_SERVER_ERROR;
	r = parse_list(t, attributes, &in, e);
	if (r == TS_OK)
		r = parse_list(t, excluded, &ex, e);
	if (r != TS_OK)
		goto done;
	json_object_foreach_safe(resource, tmp, key, v) {
		if (strcmp(key, "schemas") == 0)
			continue;
		if ((s = scim_ext_named(t, key)) != NULL) {
			if (json_is_object(v))
				project_members(t, v, s->id, &in, &ex);
			if (!json_is_object(v) || json_object_size(v) == 0)
				json_object_del(resource, key);
		} else if (scim_find_name(t, t->core->id, key, &f) != TS_OK) {
			if (in.given)
				json_object_del(resource, key);
		} else if (!project_attr(v, f.attr, f.schema, &in, &ex)) {
			json_object_del(resource, key);
		}
	}
done:
	free(in.v);
	free(ex.v);
	return r;
}
