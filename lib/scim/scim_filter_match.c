/* scim_filter_match.c - a parsed SCIM filter evaluated against a JSON resource in memory
 * (scimf_match), and the JSON helpers the SCIM modules share (scimf_get_ci, scimf_present). */
#include "scim_filter_lex.h"

#include <stdlib.h>

json_t *scimf_get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, key)))
		return v;
	json_object_foreach((json_t *)obj, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

/* The object holding the attributes of schema urn (NULL: the resource itself). */
static const json_t *base_of(const json_t *res, const char *urn)
{
	json_t *ext, *schemas, *s;
	size_t i;

	if (!urn)
		return res;
	if (json_is_object(ext = scimf_get_ci(res, urn)))
		return ext;
	schemas = scimf_get_ci(res, "schemas");
	json_array_foreach(schemas, i, s)
		if (json_is_string(s) && !strcasecmp(json_string_value(s), urn))
			return res;
	return NULL;
}

int scimf_present(const json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return 1;
}

/* Folded (unless exact) three-way comparison of a[0..an) and b[0..bn). */
static int str_cmp(const char *a, size_t an, const char *b, size_t bn, int exact)
{
	size_t i;

	for (i = 0; i < an && i < bn; i++) {
		int x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (!exact) {
			x = lower(x);
			y = lower(y);
		}
		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static int str_contains(const char *h, size_t hn, const char *nd, size_t nn, int exact)
{
	size_t i;

	for (i = 0; i + nn <= hn; i++)
		if (!str_cmp(h + i, nn, nd, nn, exact))
			return 1;
	return 0;
}

struct cmp_ctx {
	const struct scimf_node *n;
	enum scimf_op op;
	int exact;
};

/* 1 if the simple JSON value v satisfies op against the node's value (op is never NE). */
static int cmp_one(const json_t *v, const struct cmp_ctx *c)
{
	const struct scimf_value *val = &c->n->value;
	int r;

	switch (val->type) {
	case SCIMF_V_STRING: {
		const char *s;
		size_t sn;

		if (!json_is_string(v))
			return 0;
		s = json_string_value(v);
		sn = json_string_length(v);
		switch (c->op) {
		case SCIMF_CO: return str_contains(s, sn, val->str, val->len, c->exact);
		case SCIMF_SW: return sn >= val->len && !str_cmp(s, val->len, val->str, val->len, c->exact);
		case SCIMF_EW:
			return sn >= val->len &&
			       !str_cmp(s + sn - val->len, val->len, val->str, val->len, c->exact);
		default: r = str_cmp(s, sn, val->str, val->len, c->exact); break;
		}
		break;
	}
	case SCIMF_V_NUMBER:
		if (json_is_integer(v) && val->is_int) {
			long long x = json_integer_value(v);

			r = x < val->i ? -1 : x > val->i;
		} else if (json_is_number(v)) {
			double x = json_number_value(v);

			r = x < val->d ? -1 : x > val->d;
		} else
			return 0;
		break;
	case SCIMF_V_TRUE:
		return json_is_true(v);
	case SCIMF_V_FALSE:
		return json_is_false(v);
	default:
		return 0;
	}
	switch (c->op) {
	case SCIMF_EQ: return r == 0;
	case SCIMF_GT: return r > 0;
	case SCIMF_GE: return r >= 0;
	case SCIMF_LT: return r < 0;
	case SCIMF_LE: return r <= 0;
	default: return 0;
	}
}

/* Applies pr (c == NULL) or the comparison to v, each element of v if it is an array. */
static int visit(const json_t *v, const struct cmp_ctx *c)
{
	size_t i;
	json_t *e;

	if (!v)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!json_is_array(e) && visit(e, c)) /* SCIM has no arrays of arrays */
				return 1;
		return 0;
	}
	if (!c)
		return scimf_present(v);
	if (json_is_object(v) && !(v = scimf_get_ci(v, "value")))
		return 0;
	return !json_is_array(v) && cmp_one(v, c);
}

/* 1 if any value at attribute path a of res satisfies pr / the comparison. */
static int any_value(const json_t *res, const struct scimf_attr *a, const struct cmp_ctx *c)
{
	const json_t *base = base_of(res, a->urn);
	json_t *v = scimf_get_ci(base, a->name), *e;
	size_t i;

	if (!v)
		return 0;
	if (!a->sub)
		return visit(v, c);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (visit(scimf_get_ci(e, a->sub), c))
				return 1;
		return 0;
	}
	return visit(scimf_get_ci(v, a->sub), c);
}

int scimf_match(const struct scimf_node *n, const json_t *resource, int case_exact)
{
	struct cmp_ctx c;
	json_t *v, *e;
	size_t i;

	if (!n || !json_is_object(resource))
		return 0;
	switch (n->kind) {
	case SCIMF_PR:
		return any_value(resource, &n->attr, NULL);
	case SCIMF_CMP:
		if (n->value.type == SCIMF_V_NULL) {
			int has = any_value(resource, &n->attr, NULL);

			return n->op == SCIMF_EQ ? !has : has;
		}
		c.n = n;
		c.exact = case_exact;
		c.op = n->op == SCIMF_NE ? SCIMF_EQ : n->op;
		return any_value(resource, &n->attr, &c) != (n->op == SCIMF_NE);
	case SCIMF_AND:
		for (i = 0; i < n->nkids; i++)
			if (!scimf_match(n->kids[i], resource, case_exact))
				return 0;
		return 1;
	case SCIMF_OR:
		for (i = 0; i < n->nkids; i++)
			if (scimf_match(n->kids[i], resource, case_exact))
				return 1;
		return 0;
	case SCIMF_NOT:
		return !scimf_match(n->kids[0], resource, case_exact);
	case SCIMF_VALUEPATH:
		v = scimf_get_ci(base_of(resource, n->attr.urn), n->attr.name);
		if (json_is_object(v))
			return scimf_match(n->kids[0], v, case_exact);
		json_array_foreach(v, i, e)
			if (scimf_match(n->kids[0], e, case_exact))
				return 1;
		return 0;
	}
	return 0;
}
