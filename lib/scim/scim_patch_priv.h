/* scim_patch_priv.h - what the files of SCIM PATCH share (private to lib/scim): the request's
 * state, an operation's target, and the functions of scim_patch_value.c (the copy's objects,
 * values in canonical form, value filters over elements) and scim_patch_apply.c (an operation
 * applied to a resolved target). scim_patch.c resolves paths and runs the operations. */
#ifndef TESSERA_SCIM_PATCH_PRIV_H
#define TESSERA_SCIM_PATCH_PRIV_H

#include "scim_patch.h"

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

static inline ts_err oom(void)
{
	return TS_SERVER_ERROR;
}

/* ---- scim_patch_value.c ---- */

/* The sub-attribute of complex d named name (any case), or NULL. */
const struct scim_attr_def *patch_sub_def(const struct scim_attr_def *d, const char *name);

/* 1 when a and b are the same simple value; strings compare case-insensitively unless exact. */
int patch_same_value(const json_t *a, const json_t *b, int exact);

/* The object that holds the attributes of extension urn (NULL: the resource), or NULL. */
json_t *patch_base_get(struct pctx *c, const char *urn);

/* Like patch_base_get, creating the extension object (and listing urn in "schemas") if needed. */
ts_err patch_base_make(struct pctx *c, const char *urn, json_t **out);

/* A new copy of v as a value of the non-complex attribute d: Entra ID's "True" / "False"
 * strings become booleans for a boolean attribute; anything else is copied as it is. */
ts_err patch_canon_simple(const struct scim_attr_def *d, const json_t *v, json_t **out);

/* A new copy of v as one value (one element, when multi-valued) of attribute d. A complex value
 * gets its sub-attribute names in canonical case, unknown ones dropped; a string for a complex
 * attribute with a "value" sub-attribute stands for {"value": string} (Entra ID's manager). */
ts_err patch_canon_one(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
                       json_t **out);

/* A new array of the elements v (one value or an array of them) for multi-valued d. */
ts_err patch_canon_multi(struct pctx *c, const struct scim_attr_def *d, const json_t *v,
                         json_t **out);

/* Removes "primary" from every element of arr but keep (RFC 7644 §3.5.2: one primary). */
void patch_only_primary(json_t *arr, const json_t *keep);

/* Whether element x of multi-valued d already stands for v: equal, or (complex) the same
 * "value" and, when both have one, the same "type". */
int patch_same_element(const struct scim_attr_def *d, const json_t *x, const json_t *v);

/* Adds element v (canonical) to arr unless it is there: an element with the same value is
 * updated with v's sub-attributes instead. A primary element makes the others non-primary. */
ts_err patch_add_element(const struct scim_attr_def *d, json_t *arr, json_t *v);

/* Checks that every attribute of value filter n names a sub-attribute of a: invalidPath. */
ts_err patch_filter_check(struct pctx *c, const struct scim_attr_def *a,
                          const struct scimf_node *n, int depth);

/* 1 if element x of a matches filter n, each comparison with its sub-attribute's caseExact. */
int patch_elem_match(struct pctx *c, const struct scim_attr_def *a, const struct scimf_node *n,
                     const json_t *x);

/* The element a filter of and-ed "eq" comparisons describes (new reference), e.g.
 * {"type":"work"} for type eq "work"; NULL with *r TS_OK when the filter is not of that form. */
json_t *patch_eq_element(struct pctx *c, const struct scim_attr_def *a,
                         const struct scimf_node *n, ts_err *r);

/* ---- scim_patch_apply.c ---- */

/* Applies operation k with value (NULL for a remove without one) to target g. */
ts_err patch_apply(struct pctx *c, enum op_kind k, const struct tgt *g, const json_t *value);

#endif
