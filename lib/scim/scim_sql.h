/* scim_sql.h - SCIM filters (scim_filter.h) and sortBy compiled to parameterized SQL for the store.
 *
 * The SQL text is built only from the attribute definitions of scim_schema.h (fixed strings) and
 * placeholders: every value of the filter is a bound parameter, never text in the SQL. The
 * expressions refer to the resource's row as "r" (see enum scim_at). */
#ifndef TESSERA_SCIM_SQL_H
#define TESSERA_SCIM_SQL_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "scim_schema.h"
#include "scim_filter.h"

enum scim_bind_type { SCIM_BIND_TEXT, SCIM_BIND_INT, SCIM_BIND_REAL, SCIM_BIND_NULL };

struct scim_bind {
	enum scim_bind_type type;
	char *text;     /* TEXT: malloc'd, NUL-terminated */
	int64_t i;      /* INT */
	double d;       /* REAL */
};

/* A compiled WHERE condition: SQL text with ?1 ... ?n placeholders and the n values to bind,
 * in SQLite's dialect (where) and PostgreSQL's (where_pg), which bind the same values. */
struct scim_sql {
	char *where;    /* malloc'd; "1" for no filter */
	char *where_pg; /* malloc'd; "TRUE" for no filter */
	struct scim_bind *binds;
	size_t nbinds;
};
void scim_sql_free(struct scim_sql *q);  /* frees the members; q itself is the caller's */

/* Compiles filter n (NULL: everything) for resource type t into *q. Semantics, the same as
 * scimf_match's on the resource's JSON (the unit tests check the two agree):
 * - attribute names resolve with scim_find (unknown attribute, or one at SCIM_AT_NONE:
 *   invalidFilter);
 * - strings compare case-insensitively (ASCII folding, as COLLATE NOCASE and lower()) unless the
 *   attribute is case_exact; eq, ne, gt, ge, lt, le compare; co, sw, ew test substrings; an empty
 *   string co/sw/ew matches every present value;
 * - co, sw, ew need a string value; gt/ge/lt/le are refused on booleans (invalidFilter);
 *   booleans and null take eq and ne only;
 * - dateTime attributes compare their Unix seconds with the value, an RFC 3339 string
 *   ("2011-05-13T04:42:34Z", fractions and offsets allowed): invalidFilter when it is not one;
 * - integers and decimals compare numerically with a number value (a string value against
 *   a number attribute, or the other way round, is invalidFilter);
 * - multi-valued attributes match when any element does: "emails co \"x\"" looks at each
 *   element's "value", "emails.type eq \"work\"" at each element's type, and
 *   "emails[type eq \"work\" and value co \"@example.com\"]" needs one element to match the
 *   whole inner filter;
 * - pr: present and not null, "", [] or {}; "x eq null" is "not (x pr)";
 * - ne is exactly not eq (a resource without the attribute matches "x ne \"a\"");
 * - not, and, or as in boolean logic.
 * TS_OK; TS_INVALID_REQUEST with e set (SCIM_E_INVALID_FILTER); TS_SERVER_ERROR on OOM. */
ts_err scim_sql_where(const struct scim_rtype *t, const struct scimf_node *n, struct scim_sql *q,
                      struct scim_error *e);

/* The ORDER BY expression for sortBy (an attribute path text, parsed with scimf_parse_path; no
 * value filter allowed) on resource type t: *order is malloc'd SQL like
 * "r.username COLLATE NOCASE" or "json_extract(r.attrs, '$.name.familyName') COLLATE NOCASE";
 * a multi-valued attribute sorts by its primary element's value, else the first
 * (RFC 7644 §3.4.2.3). NULL sortBy: *order = NULL (the store orders by r.id).
 * An unknown attribute or one at SCIM_AT_NONE: TS_INVALID_REQUEST with e = invalidValue
 * (RFC 7644 has no scimType of its own for a bad sortBy). */
ts_err scim_sql_order(const struct scim_rtype *t, const char *sort_by, char **order,
                      struct scim_error *e);
/* The same in SQLite's dialect (pg 0) or PostgreSQL's (pg 1), where case-insensitive text is
 * lower(x COLLATE "C") (ASCII folded as NOCASE does) and case-exact text x COLLATE "C". The
 * caller adds NULLS FIRST (ascending) or NULLS LAST (descending) on PostgreSQL, where NULLs
 * would otherwise sort the other way round from SQLite's. */
ts_err scim_sql_order_in(const struct scim_rtype *t, const char *sort_by, int pg, char **order,
                         struct scim_error *e);

#endif
