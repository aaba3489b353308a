/* scim_patch_apply.c - one SCIM PATCH operation (add, remove, replace) applied to a resolved
 * target: a whole attribute, a sub-attribute, or the elements a value filter selects
 * (scim_patch_priv.h). */
#include "scim_patch_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

	if ((r = patch_canon_multi(c, g->attr, value, &given)) != TS_OK)
		return r;
	i = json_array_size(cur);
	while (i-- > 0) {
		json_array_foreach(given, j, x)
			if (patch_same_element(g->attr, json_array_get(cur, i), x)) {
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
	json_t *base = patch_base_get(c, g->urn), *cur = base ? json_object_get(base, a->name) : NULL;
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
	r = a->multi ? patch_canon_multi(c, a, value, &v) : patch_canon_one(c, a, value, &v);
	if (r != TS_OK)
		return r;
	if (a->multi && k == OP_ADD) {
		if (!json_is_array(cur) && (r = patch_base_make(c, g->urn, &base)) == TS_OK &&
		    json_object_set_new(base, a->name, cur = json_array()))
			r = oom();
		json_array_foreach(v, i, x)
			if (r != TS_OK || (r = patch_add_element(a, cur, x)) != TS_OK)
				break;
		if (r == TS_OK)
			drop_if_empty(base, a);
	} else if (!a->multi && a->type == SCIM_COMPLEX && json_is_object(cur)) {
		/* RFC 7644 §3.5.2.1 and §3.5.2.3: the sub-attributes given replace or add */
		if (json_object_update(cur, v))
			r = oom();
	} else if ((r = patch_base_make(c, g->urn, &base)) == TS_OK) {
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
	json_t *base = patch_base_get(c, g->urn), *cur = base ? json_object_get(base, a->name) : NULL;
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
	if ((r = patch_canon_simple(s, value, &v)) != TS_OK)
		return r;
	if (a->multi && json_array_size(cur) > 0) {
		json_array_foreach(cur, i, x)
			if (json_is_object(x) && (r = leaf_set(c, s, x, v)) != TS_OK)
				break;
	} else if (a->multi && k == OP_REPLACE) {
		r = scim_error_set(c->e, SCIM_E_NO_TARGET, "%s has no element", a->name);
	} else if (!a->multi && json_is_object(cur)) {
		r = leaf_set(c, s, cur, v);
	} else if ((r = patch_base_make(c, g->urn, &base)) == TS_OK) {
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
		if (!patch_elem_match(c, g->attr, g->filter, x))
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

	if (!(o = patch_eq_element(c, g->attr, g->filter, &r)))
		return r != TS_OK ? r : scim_error_set(c->e, SCIM_E_NO_TARGET,
						       "no %s element matches", g->attr->name);
	if (json_object_set(o, g->sub->name, v) || (r = patch_base_make(c, g->urn, &base)) != TS_OK) {
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
		patch_only_primary(cur, o);
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

	r = g->sub ? patch_canon_simple(g->sub, value, &v) : patch_canon_one(c, g->attr, value, &v);
	if (r != TS_OK)
		return r;
	json_array_foreach(cur, i, x) {
		if (!patch_elem_match(c, g->attr, g->filter, x))
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
		patch_only_primary(cur, last);
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
		base = patch_base_get(c, g->urn);
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
ts_err patch_apply(struct pctx *c, enum op_kind k, const struct tgt *g, const json_t *value)
{
	json_t *base, *cur, *old = NULL;
	int skip, immutable = g->attr->mutability == SCIM_IMMUTABLE && !g->sub;
	ts_err r;

	if ((r = check_read_only(c, g, value, &skip)) != TS_OK || skip)
		return r;
	base = patch_base_get(c, g->urn);
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
		base = patch_base_get(c, g->urn);
		if (!json_equal(old, base ? json_object_get(base, g->attr->name) : NULL))
			r = scim_error_set(c->e, SCIM_E_MUTABILITY, "%s is immutable", g->attr->name);
	}
	json_decref(old);
	return r;
}
