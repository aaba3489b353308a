/* scim_filter.h - SCIM 2.0 filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2), with
 * the prefix scimf_: tokens in scim_filter_lex.c, the grammar in scim_filter_parse.c, the
 * canonical text in scim_filter_print.c, in-memory matching in scim_filter_match.c.
 *
 * Grammar accepted (the RFC's ABNF, figure 1, with the leniencies noted):
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *             / valuePath "." ATTRNAME SP ("pr" / compareOp SP compValue)
 *               ; not in the RFC: Entra ID's emails[type eq "work"].value eq "x", read as
 *               ; emails[type eq "work" and value eq "x"]
 *   valuePath = attrPath "[" valFilter "]"        ; no value path inside valFilter
 *   attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
 *   logExp    = FILTER SP ("and" / "or") SP FILTER ; "and" binds tighter than "or"
 *   compareOp = eq / ne / co / sw / ew / gt / lt / ge / le
 *   compValue = false / null / true / number / string   ; JSON (RFC 8259)
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr ; ATTRNAME = ALPHA *("-" / "_" / DIGIT / ALPHA)
 *   PATH      = attrPath / valuePath [subAttr]       ; PATCH "path"
 * - Operators, "and", "or", "not", "pr", true, false and null are case-insensitive; any run of
 *   spaces or tabs stands for SP, and spaces may surround parentheses and brackets.
 * - A URI prefix must be a URN ("urn:" NID ":" ...); the attribute is what follows its last
 *   colon. A text whose URN would end in a version segment ("...:2.0:User") is a bare schema URN
 *   and is rejected (there is no attribute).
 * - Inside "[...]" attribute paths are plain sub-attribute names (no URN, no ".sub": RFC 7643
 *   §2.3.8 forbids complex sub-attributes of complex attributes).
 * - Booleans and null take only eq / ne; co / sw / ew take only strings (RFC 7644 §3.4.2.2).
 * - Limits: at most SCIMF_MAX_LEN bytes of text and SCIMF_MAX_DEPTH nested "(" / "[" levels,
 *   in the text and in its canonical form (scimf_print), which adds parentheses: a canonical
 *   form always parses again, unless the added text takes it past SCIMF_MAX_LEN.
 * Strings must be valid UTF-8 after decoding JSON escapes, without control characters or NUL. */
#ifndef TESSERA_SCIMF_H
#define TESSERA_SCIMF_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

#define SCIMF_MAX_LEN 4096
#define SCIMF_MAX_DEPTH 32

enum scimf_kind {
	SCIMF_CMP,       /* attr op value */
	SCIMF_PR,        /* attr pr */
	SCIMF_AND,       /* kids[0] and kids[1] and ... (nkids >= 2) */
	SCIMF_OR,        /* kids[0] or kids[1] or ... (nkids >= 2) */
	SCIMF_NOT,       /* not (kids[0]) */
	SCIMF_VALUEPATH, /* attr[kids[0]]: a filter over the elements of a complex attribute */
};

enum scimf_op { SCIMF_EQ, SCIMF_NE, SCIMF_CO, SCIMF_SW, SCIMF_EW, SCIMF_GT, SCIMF_GE, SCIMF_LT,
	SCIMF_LE };

enum scimf_vtype { SCIMF_V_STRING, SCIMF_V_NUMBER, SCIMF_V_TRUE, SCIMF_V_FALSE, SCIMF_V_NULL };

/* An attribute path, split. Each part is kept as written and lower-cased (_lc, ASCII folding)
 * for matching; urn and sub (and their _lc) are NULL when absent, name never is. */
struct scimf_attr {
	char *urn, *urn_lc;   /* "urn:ietf:params:scim:schemas:core:2.0:User" */
	char *name, *name_lc; /* "emails" */
	char *sub, *sub_lc;   /* "value" */
};

struct scimf_value {
	enum scimf_vtype type;
	char *str;      /* STRING: decoded UTF-8 (len bytes, NUL-terminated, no NUL inside);
	                 * NUMBER: the JSON number text as written */
	size_t len;
	int is_int;     /* NUMBER: no fraction or exponent, and fits in i */
	long long i;    /* NUMBER when is_int */
	double d;       /* NUMBER: its value as a double */
};

struct scimf_node {
	enum scimf_kind kind;
	struct scimf_attr attr;    /* CMP, PR, VALUEPATH (VALUEPATH: sub is NULL) */
	enum scimf_op op;          /* CMP */
	struct scimf_value value;  /* CMP */
	size_t nkids;              /* AND, OR: >= 2; NOT, VALUEPATH: 1 */
	struct scimf_node **kids;
};

/* A PATCH path: attr (name, optional urn), an optional filter over attr's elements
 * ("emails[type eq \"work\"]"), and attr.sub, the optional trailing sub-attribute, whether
 * written "name.familyName" or "addresses[type eq \"work\"].streetAddress". */
struct scimf_path {
	struct scimf_attr attr;
	struct scimf_node *filter; /* NULL when there is no "[...]" */
};

/* Parses a filter. On TS_OK *out is a tree the caller frees with scimf_free. On a syntax error
 * or a limit: TS_INVALID_REQUEST (answer 400 scimType invalidFilter), *out = NULL, *why (if why
 * is not NULL) = a short static English reason. TS_SERVER_ERROR when out of memory. */
ts_err scimf_parse(const char *text, struct scimf_node **out, const char **why);

/* Parses a PATCH path. On TS_OK *out is the caller's, freed with scimf_path_free. Otherwise as
 * scimf_parse (answer 400 scimType invalidPath). */
ts_err scimf_parse_path(const char *text, struct scimf_path **out, const char **why);

/* Frees a tree (and its subtrees); NULL is fine. */
void scimf_free(struct scimf_node *n);

/* Frees a path and its filter; NULL is fine. */
void scimf_path_free(struct scimf_path *p);

/* The canonical text of a tree: lower-cased names and operators, values as JSON, every and/or
 * in parentheses, e.g. (a eq 1 or (b eq 2 and c eq 3)), not (x pr), emails[type eq "work"].
 * malloc'd, the caller frees; NULL if n is NULL or memory runs out. */
char *scimf_print(const struct scimf_node *n);

/* 1 if the JSON resource matches the filter, else 0 (also for NULL arguments). In-memory
 * semantics, for tests and small lists:
 * - attribute names match case-insensitively; a URN prefix selects resource[urn] (an extension
 *   object) when present, else the top level when the urn is listed in resource "schemas";
 * - a multi-valued attribute matches when any element matches; "emails.value" looks at every
 *   element's "value"; a complex value compared without a sub-attribute uses its "value";
 * - pr: present and not null, "", [] or {};
 * - strings compare case-insensitively (ASCII folding) unless case_exact; gt/ge/lt/le compare
 *   strings bytewise after folding, numbers numerically; booleans only eq/ne;
 * - eq null matches when no non-null value is present; ne is the negation of eq. */
int scimf_match(const struct scimf_node *n, const json_t *resource, int case_exact);

/* JSON helpers the SCIM modules share: the member of obj named key in any case (the exact one
 * first; NULL when obj is not an object or has none), and whether v holds a value (not absent,
 * null, "", [] or {}: RFC 7643 §2.5 "unassigned"). */
json_t *scimf_get_ci(const json_t *obj, const char *key);
int scimf_present(const json_t *v);

#endif
