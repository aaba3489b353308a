/* scim_schema.c - what is done with the SCIM schemas of scim_defs.c: checking and normalising a
 * resource a client sent (scim_normalize). Choosing the attributes of an answer (scim_project,
 * RFC 7644 §3.4.2.5) is scim_project.c, the discovery documents are scim_discovery.c.
 *
 * Everything goes through the public tables: scim_rtype, scim_find and the definitions. */
#include "scim_schema_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_MAX_STRING 65536

/* ---- look-up helpers ---- */

/* scim_find for the plain name `name` in the schema urn (NULL: core, common, then extensions).
 * scim_find only reads the path it is given, hence the casts. */
ts_err scim_find_name(const struct scim_rtype *t, const char *urn, const char *name,
                      struct scim_found *f)
{
	struct scimf_attr a;

	memset(&a, 0, sizeof a);
	a.urn = (char *)urn;
	a.name = (char *)name;
	return scim_find(t, &a, NULL, f);
}

/* The extension of t whose URN is `urn` (any case), or NULL. */
const struct scim_schema_def *scim_ext_named(const struct scim_rtype *t, const char *urn)
{
	size_t i;

	for (i = 0; t->ext[i]; i++)
		if (strcasecmp(urn, t->ext[i]->id) == 0)
			return t->ext[i];
	return NULL;
}

/* The schema of t (core or extension) whose URN, followed by ':', starts key ("<urn>:name"),
 * or NULL; *len is then the URN's length. */
static const struct scim_schema_def *urn_prefix(const struct scim_rtype *t, const char *key,
                                                size_t *len)
{
	const struct scim_schema_def *s = t->core;
	size_t i = 0;

	for (; s; s = t->ext[i++]) {
		*len = strlen(s->id);
		if (strncasecmp(key, s->id, *len) == 0 && key[*len] == ':')
			return s;
	}
	return NULL;
}

/* The sub-attribute of d named `name` (any case), or NULL. */
const struct scim_attr_def *scim_sub_named(const struct scim_attr_def *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nsubs; i++)
		if (strcasecmp(d->subs[i].name, name) == 0)
			return &d->subs[i];
	return NULL;
}

/* ---- scim_normalize ---- */

/* 1 if s is an RFC 3339 date-time as xsd:dateTime also reads it:
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), upper-case T and Z, year 0001-9999, a real
 * day of the month, seconds 00-59 (no leap second), offsets up to 23:59. */
static int datetime_ok(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec;
	size_t i;

	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
#define DD(k) ((s[k] - '0') * 10 + (s[(k) + 1] - '0'))
	y = DD(0) * 100 + DD(2);
	mo = DD(5);
	d = DD(8);
	h = DD(11);
	mi = DD(14);
	sec = DD(17);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return 0;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 0;
	s += i;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return 0;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if (s[0] == 'Z')
		return s[1] == '\0';
	if (s[0] != '+' && s[0] != '-')
		return 0;
	for (i = 1; i < 6; i++)
		if (i == 3 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
			return 0;
	return s[6] == '\0' && DD(1) <= 23 && DD(4) <= 59;
#undef DD
}

/* Checks the string value v of d (string, reference, binary, dateTime); *out = a copy, or NULL
 * for "" (unassigned). */
static ts_err check_string(const struct scim_attr_def *d, const char *what, const json_t *v,
                           json_t **out, struct scim_error *e)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), i;

	if (!s)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be a string", what);
	if (len == 0)
		return TS_OK;
	if (len > SCIM_MAX_STRING)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s is longer than %d bytes", what,
		                      SCIM_MAX_STRING);
	if (memchr(s, '\0', len))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must not contain NUL", what);
	if (d->type == SCIM_DATETIME && !datetime_ok(s))
		return scim_error_set(e, SCIM_E_INVALID_VALUE,
		                      "%s must be an RFC 3339 date and time", what);
	if (d->canonical && d->case_exact) {
		for (i = 0; d->canonical[i] && strcmp(d->canonical[i], s) != 0; i++)
			;
		if (!d->canonical[i])
			return scim_error_set(e, SCIM_E_INVALID_VALUE,
			                      "%s must be one of its canonical values", what);
	}
	*out = json_stringn(s, len);
	return *out ? TS_OK : TS_SERVER_ERROR;
}

static ts_err check_value(const struct scim_attr_def *d, const char *what, const json_t *v,
                          int depth, json_t **out, struct scim_error *e);

/* Checks the complex value v of d: sub-attributes in canonical case, unknown and readOnly ones
 * dropped, "primary": false dropped, required ones present; *out = NULL when nothing is left. */
static ts_err check_complex(const struct scim_attr_def *d, const char *what, const json_t *v,
                            int depth, json_t **out, struct scim_error *e)
{
	const char *key;
	json_t *val, *o, *x;
	char sub_what[256];
	size_t i;
	ts_err r;

	if (!json_is_object(v))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be an object", what);
	o = json_object();
	if (!o)
		return TS_SERVER_ERROR;
	json_object_foreach((json_t *)v, key, val) {
		const struct scim_attr_def *s = scim_sub_named(d, key);

		if (!s || s->mutability == SCIM_READ_ONLY)
			continue;
		snprintf(sub_what, sizeof sub_what, "%s.%s", what, s->name);
		r = check_value(s, sub_what, val, depth + 1, &x, e);
		if (r != TS_OK) {
			json_decref(o);
			return r;
		}
		if (x && s->type == SCIM_BOOLEAN && strcmp(s->name, "primary") == 0 &&
		    json_is_false(x)) {
			json_decref(x);
			x = NULL;
		}
		if (!x)
			continue;
		if (json_object_get(o, s->name)) {
			json_decref(x);
			json_decref(o);
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s is given twice", sub_what);
		}
		if (json_object_set_new(o, s->name, x) != 0) {
			json_decref(o);
			return TS_SERVER_ERROR;
		}
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return TS_OK;
	}
	for (i = 0; i < d->nsubs; i++)
		if (d->subs[i].required && !json_object_get(o, d->subs[i].name)) {
			json_decref(o);
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s.%s is required", what,
			                      d->subs[i].name);
		}
	*out = o;
	return TS_OK;
}

/* Checks one value (not an array) of d; *out = the normalised value, or NULL when it is
 * unassigned. */
static ts_err check_one(const struct scim_attr_def *d, const char *what, const json_t *v,
                        int depth, json_t **out, struct scim_error *e)
{
	if (json_is_null(v))
		return TS_OK;
	switch (d->type) {
	case SCIM_STRING:
	case SCIM_REFERENCE:
	case SCIM_BINARY:
	case SCIM_DATETIME:
		return check_string(d, what, v, out, e);
	case SCIM_COMPLEX:
		return check_complex(d, what, v, depth, out, e);
	case SCIM_BOOLEAN:
		if (!json_is_boolean(v))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be a boolean", what);
		break;
	case SCIM_INTEGER:
		if (!json_is_integer(v))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be an integer", what);
		break;
	case SCIM_DECIMAL:
		if (!json_is_number(v))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be a number", what);
		break;
	}
	*out = json_deep_copy(v);
	return *out ? TS_OK : TS_SERVER_ERROR;
}

/* Checks the value v of d, single- or multi-valued (a single value standing for an array of
 * one); *out = the normalised value or NULL when unassigned. depth is 0 for an attribute, 1 for
 * a sub-attribute (which cannot be complex, RFC 7643 §2.3.8: dropped). */
static ts_err check_value(const struct scim_attr_def *d, const char *what, const json_t *v,
                          int depth, json_t **out, struct scim_error *e)
{
	json_t *arr, *x;
	size_t i, n, primaries = 0;
	ts_err r;

	*out = NULL;
	if (d->type == SCIM_COMPLEX && depth > 0)
		return TS_OK;
	if (!d->multi)
		return check_one(d, what, v, depth, out, e);
	arr = json_array();
	if (!arr)
		return TS_SERVER_ERROR;
	n = json_is_array(v) ? json_array_size(v) : 1;
	for (i = 0; i < n; i++) {
		x = NULL;
		r = check_one(d, what, json_is_array(v) ? json_array_get(v, i) : v, depth, &x, e);
		if (r == TS_OK && x && json_array_append_new(arr, x) != 0)
			r = TS_SERVER_ERROR;
		if (r != TS_OK) {
			json_decref(arr);
			return r;
		}
		if (x && json_is_true(json_object_get(x, "primary")))
			primaries++;
	}
	if (primaries > 1) {
		json_decref(arr);
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s has more than one primary value",
		                      what);
	}
	if (json_array_size(arr) == 0)
		json_decref(arr);
	else
		*out = arr;
	return TS_OK;
}

/* The attributes gathered by scim_normalize: core (and common) ones, and one object per
 * extension URN in exts. */
struct norm {
	const struct scim_rtype *t;
	json_t *core, *exts;
	struct scim_error *e;
};

/* Checks value v of attribute d of schema s and puts it in its place in n. */
static ts_err take_attr(struct norm *n, const struct scim_schema_def *s,
                        const struct scim_attr_def *d, const json_t *v)
{
	json_t *x, *obj = n->core;
	ts_err r;

	if (d->mutability == SCIM_READ_ONLY)
		return TS_OK;
	r = check_value(d, d->name, v, 0, &x, n->e);
	if (r != TS_OK || !x)
		return r;
	if (s && s != n->t->core) {
		obj = json_object_get(n->exts, s->id);
		if (!obj && json_object_set_new(n->exts, s->id, json_object()) != 0) {
			json_decref(x);
			return TS_SERVER_ERROR;
		}
		obj = json_object_get(n->exts, s->id);
	}
	if (json_object_get(obj, d->name)) {
		json_decref(x);
		return scim_error_set(n->e, SCIM_E_INVALID_VALUE, "%s is given twice", d->name);
	}
	return json_object_set_new(obj, d->name, x) == 0 ? TS_OK : TS_SERVER_ERROR;
}

/* A top-level key of the body: an attribute name, or "<urn>:name" (any case). Unknown: dropped. */
static ts_err take_key(struct norm *n, const char *key, const json_t *v)
{
	const struct scim_schema_def *s;
	struct scim_found f;
	size_t len;

	s = urn_prefix(n->t, key, &len);
	if (!s && strncasecmp(key, "urn:", 4) == 0)
		return TS_OK;
	if (scim_find_name(n->t, s ? s->id : NULL, s ? key + len + 1 : key, &f) != TS_OK)
		return TS_OK;
	return take_attr(n, f.schema, f.attr, v);
}

/* The object v sent under extension s's URN. */
static ts_err take_ext(struct norm *n, const struct scim_schema_def *s, const json_t *v)
{
	const char *key;
	json_t *val;
	struct scim_found f;
	ts_err r;

	if (json_is_null(v))
		return TS_OK;
	if (!json_is_object(v))
		return scim_error_set(n->e, SCIM_E_INVALID_VALUE, "%s must be an object", s->id);
	json_object_foreach((json_t *)v, key, val) {
		if (scim_find_name(n->t, s->id, key, &f) != TS_OK)
			continue;
		r = take_attr(n, f.schema, f.attr, val);
		if (r != TS_OK)
			return r;
	}
	return TS_OK;
}

/* The "schemas" of the body: an array of strings holding t's core URN (else invalidSyntax). */
static ts_err check_schemas(const struct scim_rtype *t, const json_t *in, struct scim_error *e)
{
	const json_t *sch = scimf_get_ci(in, "schemas");
	size_t i, n = json_array_size(sch);
	int core = 0;

	if (!json_is_array(sch) || n == 0)
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX,
		                      "schemas must be a non-empty array of schema URNs");
	for (i = 0; i < n; i++) {
		const char *u = json_string_value(json_array_get(sch, i));

		if (!u)
			return scim_error_set(e, SCIM_E_INVALID_SYNTAX,
			                      "schemas must be a non-empty array of schema URNs");
		if (strcasecmp(u, t->core->id) == 0)
			core = 1;
	}
	if (!core)
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "schemas must hold %s", t->core->id);
	/* other URNs are ignored with their attributes: Entra ID lists one of its own on Groups */
	return TS_OK;
}

/* The required attributes of schema s, present in obj (NULL: s absent, nothing required). */
static ts_err check_required(const struct scim_schema_def *s, const json_t *obj,
                             struct scim_error *e)
{
	size_t i;

	for (i = 0; obj && i < s->nattrs; i++)
		if (s->attrs[i].required && !json_object_get(obj, s->attrs[i].name))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s is required",
			                      s->attrs[i].name);
	return TS_OK;
}

/* The result: "schemas" (core, then each extension present), the core attributes, then the
 * extension objects in t's order. */
static ts_err assemble(const struct norm *n, json_t **out)
{
	const struct scim_schema_def *const *x;
	json_t *o = json_object(), *sch = json_array(), *obj;

	if (!o || !sch || json_array_append_new(sch, json_string(n->t->core->id)) != 0)
		goto oom;
	for (x = n->t->ext; *x; x++)
		if (json_object_get(n->exts, (*x)->id) &&
		    json_array_append_new(sch, json_string((*x)->id)) != 0)
			goto oom;
	if (json_object_set(o, "schemas", sch) != 0 || json_object_update(o, n->core) != 0)
		goto oom;
	for (x = n->t->ext; *x; x++) {
		obj = json_object_get(n->exts, (*x)->id);
		if (obj && json_object_set(o, (*x)->id, obj) != 0)
			goto oom;
	}
	json_decref(sch);
	*out = o;
	return TS_OK;
oom:
	json_decref(sch);
	json_decref(o);
	return TS_SERVER_ERROR;
}

ts_err scim_normalize(const struct scim_rtype *t, const json_t *in, json_t **out,
                      struct scim_error *e)
{
	struct norm n;
	const struct scim_schema_def *s;
	const struct scim_schema_def *const *x;
	const char *key;
	json_t *v;
	ts_err r;

	*out = NULL;
	if (!t || !json_is_object(in))
		return scim_error_set(e, SCIM_E_INVALID_SYNTAX, "the resource must be a JSON object");
	r = check_schemas(t, in, e);
	if (r != TS_OK)
		return r;
	n.t = t;
	n.e = e;
	n.core = json_object();
	n.exts = json_object();
	r = n.core && n.exts ? TS_OK : TS_SERVER_ERROR;
	json_object_foreach((json_t *)in, key, v) {
		if (r != TS_OK)
			break;
		if (strcasecmp(key, "schemas") == 0)
			continue;
		s = scim_ext_named(t, key);
		r = s ? take_ext(&n, s, v) : take_key(&n, key, v);
	}
	if (r == TS_OK)
		r = check_required(t->core, n.core, e);
	for (x = t->ext; r == TS_OK && *x; x++)
		r = check_required(*x, json_object_get(n.exts, (*x)->id), e);
	if (r == TS_OK)
		r = assemble(&n, out);
	json_decref(n.core);
	json_decref(n.exts);
	return r;
}
