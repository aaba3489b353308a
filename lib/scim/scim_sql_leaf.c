/* scim_sql_leaf.c - the leaves of a SCIM filter compiled to SQL: pr and each comparison
 * operator at a place, by the attribute's type, with its values bound (scim_sql_priv.h). */
#include "scim_sql_priv.h"

#include <strings.h>

int sq_is_text_type(enum scim_type t)
{
	return t == SCIM_STRING || t == SCIM_REFERENCE || t == SCIM_BINARY;
}

/* Whether value v may be compared with op to an attribute of definition d (NULL: fine),
 * else why not. */
const char *sq_value_refused(const struct scim_attr_def *d, enum scimf_op op,
                             const struct scimf_value *v, int64_t *secs)
{
	int order = op == SCIMF_GT || op == SCIMF_GE || op == SCIMF_LT || op == SCIMF_LE;
	int substr = op == SCIMF_CO || op == SCIMF_SW || op == SCIMF_EW;

	if (d->type == SCIM_BOOLEAN && order)
		return "%s is a boolean: only eq and ne";
	if (v->type == SCIMF_V_NULL)
		return NULL;
	if (d->type == SCIM_COMPLEX)
		return "cannot compare the complex attribute %s";
	switch (d->type) {
	case SCIM_BOOLEAN:
		return v->type == SCIMF_V_TRUE || v->type == SCIMF_V_FALSE ? NULL :
		       "%s takes true or false";
	case SCIM_INTEGER:
	case SCIM_DECIMAL:
		return v->type == SCIMF_V_NUMBER ? NULL : "%s takes a number";
	case SCIM_DATETIME:
		if (v->type != SCIMF_V_STRING || substr)
			return "%s takes a date-time with eq, ne, gt, ge, lt, le";
		return sq_parse_datetime(v->str, secs) ? NULL : "%s takes an RFC 3339 date-time";
	default:
		return v->type == SCIMF_V_STRING ? NULL : "%s takes a string";
	}
}

static const char *op_sql(enum scimf_op op)
{
	switch (op) {
	case SCIMF_GT: return ">";
	case SCIMF_GE: return ">=";
	case SCIMF_LT: return "<";
	case SCIMF_LE: return "<=";
	default: return "=";
	}
}

/* Presence (pr) of the value at p: not null, "", [] or {}. Never NULL. */
static void emit_present(struct cx *c, const struct place *p)
{
	switch (p->kind) {
	case P_COL:
	case P_ROW:
		if (sq_is_text_type(p->def->type) || p->def->type == SCIM_COMPLEX)
			putf(c, "(%s IS NOT NULL AND %s <> '')", p->v, p->v);
		else
			putf(c, "(%s IS NOT NULL)", p->v);
		break;
	case P_LIST:
		putf(c, "(%s <> '')", p->v);
		break;
	case P_JSON:
		if (c->pg) {
			putf(c, "(CASE %s WHEN 'null' THEN FALSE WHEN 'string' THEN %s <> '' WHEN 'array' "
			     "THEN jsonb_array_length(%s) > 0 WHEN 'object' THEN %s <> CAST('{}' AS jsonb) "
			     "ELSE %s IS NOT NULL END)", p->ty, p->v, p->j, p->j, p->ty);
			break;
		}
		putf(c, "(CASE %s WHEN 'null' THEN 0 WHEN 'text' THEN %s <> '' WHEN 'array' THEN "
		     "json_array_length(%s) > 0 WHEN 'object' THEN %s <> '{}' ELSE %s IS NOT NULL END)",
		     p->ty, p->v, p->v, p->v, p->ty);
		break;
	case P_ELEM: /* an element of an array: arrays in arrays do not count */
		if (c->pg) {
			putf(c, "(CASE %s WHEN 'null' THEN FALSE WHEN 'string' THEN %s <> '' WHEN 'array' "
			     "THEN FALSE WHEN 'object' THEN %s <> CAST('{}' AS jsonb) ELSE TRUE END)", p->ty,
			     p->v, p->j);
			break;
		}
		putf(c, "(CASE %s WHEN 'null' THEN 0 WHEN 'text' THEN %s <> '' WHEN 'array' THEN 0 "
		     "WHEN 'object' THEN %s <> '{}' ELSE 1 END)", p->ty, p->v, p->v);
		break;
	}
}

/* emit_str on PostgreSQL, bind expression t. Case-insensitive: lower() under the "C"
 * collation, which folds ASCII letters only, as SQLite's lower() and NOCASE do (the database's
 * own collation could fold others too); orderings compare bytes as SQLite's BINARY and NOCASE.
 * Ends-with takes right(): substr with a negative start counts from the end in SQLite only. */
static void emit_str_pg(struct cx *c, const char *x, enum scimf_op op, const char *t, int ce)
{
	const char *lo = ce ? "" : "lower(", *lc = ce ? "" : " COLLATE \"C\")";

	switch (op) {
	case SCIMF_CO:
		putf(c, "strpos(%s%s%s, %s%s%s) > 0", lo, x, lc, lo, t, lc);
		break;
	case SCIMF_SW:
		putf(c, "%ssubstr(%s, 1, length(%s))%s = %s%s%s", lo, x, t, lc, lo, t, lc);
		break;
	case SCIMF_EW:
		putf(c, "length(%s) >= length(%s) AND %sright(%s, length(%s))%s = %s%s%s", x, t, lo, x,
		     t, lc, lo, t, lc);
		break;
	default:
		putf(c, "%s%s%s %s %s%s%s%s", lo, x, lc, op_sql(op), lo, t, lc,
		     ce && op != SCIMF_EQ ? " COLLATE \"C\"" : "");
		break;
	}
}

/* The string comparison op of expression x with bind k (case-insensitive unless ce). x is
 * known to be text. */
static void emit_str(struct cx *c, const char *x, enum scimf_op op, size_t k, int ce,
                     int nocase_col)
{
	const char *coll = ce ? (nocase_col ? " COLLATE BINARY" : "") :
	                        (nocase_col ? "" : " COLLATE NOCASE");

	if (c->pg) {
		emit_str_pg(c, x, op, par(c, k, "text"), ce);
		return;
	}
	switch (op) {
	case SCIMF_CO:
		if (ce)
			putf(c, "instr(%s, ?%zu) > 0", x, k);
		else
			putf(c, "instr(lower(%s), lower(?%zu)) > 0", x, k);
		break;
	case SCIMF_SW:
		if (ce)
			putf(c, "substr(%s, 1, length(?%zu)) = ?%zu COLLATE BINARY", x, k, k);
		else
			putf(c, "lower(substr(%s, 1, length(?%zu))) = lower(?%zu)", x, k, k);
		break;
	case SCIMF_EW:
		if (ce)
			putf(c, "length(%s) >= length(?%zu) AND substr(%s, -length(?%zu)) = ?%zu "
			     "COLLATE BINARY", x, k, x, k, k);
		else
			putf(c, "length(%s) >= length(?%zu) AND lower(substr(%s, -length(?%zu))) = "
			     "lower(?%zu)", x, k, x, k, k);
		break;
	default:
		putf(c, "%s %s ?%zu%s", x, op_sql(op), k, coll);
		break;
	}
}

/* userName sw "ab" on a NOCASE-indexed column: the index range [ab, ac) before the exact test. */
static void emit_sw_range(struct cx *c, const struct place *p, const struct scimf_value *v,
                          size_t k)
{
	const char *coll = p->nocase_col ? "" : " COLLATE NOCASE";
	const char *x = p->v, *xl = "", *xr = "";
	size_t lo, hi, i;
	char *low = malloc(v->len + 1);

	if (!low) {
		c->err = TS_SERVER_ERROR;
		return;
	}
	for (i = 0; i < v->len; i++)
		low[i] = (v->str[i] >= 'A' && v->str[i] <= 'Z') ? (char)(v->str[i] + 32) : v->str[i];
	lo = sq_bind_text(c, low, v->len);
	low[v->len - 1]++;
	hi = sq_bind_text(c, low, v->len);
	free(low);
	if (c->pg) { /* the folded value against the folded bounds, bytes compared */
		coll = " COLLATE \"C\"";
		xl = "lower(";
		xr = " COLLATE \"C\")";
	}
	putf(c, "(%s%s%s >= %s%s AND ", xl, x, xr, par(c, lo, "text"), coll);
	putf(c, "%s%s%s < %s%s AND ", xl, x, xr, par(c, hi, "text"), coll);
	emit_str(c, p->v, SCIMF_SW, k, 0, p->nocase_col);
	put(c, ")");
}

/* A JSON date-time's Unix seconds compared with bind k, on PostgreSQL. A cast of text that is
 * not a timestamp raises there (SQLite's strftime gives NULL), so the text is checked against
 * RFC 3339 first and the seconds computed with integers only (sq_parse_datetime's rules: days
 * of the month, leap years, 60 seconds, offsets): NULL for anything else, never an error. The
 * check is a CASE, whose order PostgreSQL keeps (a WHERE's conditions it may reorder, and
 * subqueries it flattens). */
static void emit_datetime_pg(struct cx *c, const struct place *p, enum scimf_op op, size_t k)
{
	putf(c, "CASE WHEN %s = 'string' THEN (SELECT CASE WHEN u.mo BETWEEN 1 AND 12 AND u.d >= 1 "
	     "AND u.d <= CASE WHEN u.mo = 2 THEN CASE WHEN (u.y %% 4 = 0 AND u.y %% 100 <> 0) OR "
	     "u.y %% 400 = 0 THEN 29 ELSE 28 END WHEN u.mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END AND "
	     "u.h <= 23 AND u.mi <= 59 AND u.sec <= 60 AND u.oh <= 23 AND u.om <= 59 THEN ", p->ty);
	/* days_from_civil (scim_sql_build.c) with yp = y - (mo <= 2) >= -1 */
	put(c, "((CASE WHEN u.yp >= 0 THEN u.yp / 400 ELSE -1 END) * 146097 + (u.yp - (CASE WHEN "
	    "u.yp >= 0 THEN u.yp / 400 ELSE -1 END) * 400) * 365 + (u.yp - (CASE WHEN u.yp >= 0 "
	    "THEN u.yp / 400 ELSE -1 END) * 400) / 4 - (u.yp - (CASE WHEN u.yp >= 0 THEN u.yp / 400 "
	    "ELSE -1 END) * 400) / 100 + (153 * (u.mo + CASE WHEN u.mo > 2 THEN -3 ELSE 9 END) + 2) "
	    "/ 5 + u.d - 1 - 719468) * 86400 + u.h * 3600 + u.mi * 60 + u.sec - u.sg * (u.oh * 3600 "
	    "+ u.om * 60) END FROM (SELECT CAST(substr(t.s, 1, 4) AS bigint) AS y, "
	    "CAST(substr(t.s, 1, 4) AS bigint) - CASE WHEN CAST(substr(t.s, 6, 2) AS int) <= 2 THEN "
	    "1 ELSE 0 END AS yp, CAST(substr(t.s, 6, 2) AS int) AS mo, CAST(substr(t.s, 9, 2) AS "
	    "int) AS d, CAST(substr(t.s, 12, 2) AS int) AS h, CAST(substr(t.s, 15, 2) AS int) AS mi, "
	    "CAST(substr(t.s, 18, 2) AS int) AS sec, CASE WHEN right(t.s, 1) IN ('Z', 'z') THEN 0 "
	    "WHEN substr(t.s, length(t.s) - 5, 1) = '+' THEN 1 ELSE -1 END AS sg, CASE WHEN "
	    "right(t.s, 1) IN ('Z', 'z') THEN 0 ELSE CAST(substr(t.s, length(t.s) - 4, 2) AS int) "
	    "END AS oh, CASE WHEN right(t.s, 1) IN ('Z', 'z') THEN 0 ELSE CAST(right(t.s, 2) AS int) "
	    "END AS om FROM (SELECT ");
	putf(c, "CASE WHEN %s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
	     "(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$' THEN %s END AS s) AS t) AS u) %s %s "
	     "ELSE FALSE END", p->v, p->v, op_sql(op), par(c, k, "bigint"));
}

/* Comparison op (never NE) of the value at p with n's (non-null) value. */
static void emit_cmp_body(struct cx *c, const struct place *p, const struct scimf_node *n,
                          enum scimf_op op, int64_t secs)
{
	const struct scimf_value *v = &n->value;
	const struct scim_attr_def *d = p->def;
	int json = p->kind == P_JSON || p->kind == P_ELEM;
	size_t k;

	if (d->type == SCIM_BOOLEAN) {
		if (json && c->pg)
			putf(c, "%s = CAST('%s' AS jsonb)", p->j, v->type == SCIMF_V_TRUE ? "true" : "false");
		else if (json)
			putf(c, "%s = '%s'", p->ty, v->type == SCIMF_V_TRUE ? "true" : "false");
		else if (c->pg) /* an integer column, or a condition (a boolean there) */
			putf(c, "CAST(%s AS integer) = %d", p->v, v->type == SCIMF_V_TRUE);
		else
			putf(c, "%s = %d", p->v, v->type == SCIMF_V_TRUE);
		return;
	}
	if (d->type == SCIM_INTEGER || d->type == SCIM_DECIMAL) {
		k = sq_bind_number(c, v);
		if (json && c->pg) /* CASE: a cast in an AND could be tried first */
			putf(c, "CASE WHEN %s = 'number' THEN CAST(%s AS numeric) %s %s ELSE FALSE END",
			     p->ty, p->v, op_sql(op), par(c, k, "numeric"));
		else if (json)
			putf(c, "%s IN ('integer', 'real') AND %s %s ?%zu", p->ty, p->v, op_sql(op), k);
		else
			putf(c, "%s %s %s", p->v, op_sql(op), par(c, k, "numeric"));
		return;
	}
	if (d->type == SCIM_DATETIME) {
		k = sq_bind_int(c, secs);
		if (json && c->pg)
			emit_datetime_pg(c, p, op, k);
		else if (json)
			putf(c, "%s = 'text' AND CAST(strftime('%%s', %s) AS INTEGER) %s ?%zu", p->ty,
			     p->v, op_sql(op), k);
		else
			putf(c, "%s %s %s", p->v, op_sql(op), par(c, k, "bigint"));
		return;
	}
	/* strings; a text column holding '' is unassigned (the representation leaves it out) */
	if ((op == SCIMF_CO || op == SCIMF_SW || op == SCIMF_EW) && v->len == 0) {
		if (json)
			putf(c, "%s = '%s'", p->ty, D(c, "text", "string"));
		else
			putf(c, "%s <> ''", p->v);
		return;
	}
	k = sq_bind_text(c, v->str, v->len);
	if (json)
		putf(c, "%s = '%s' AND ", p->ty, D(c, "text", "string"));
	else if (p->kind == P_COL && !p->nocase_idx)
		putf(c, "%s <> '' AND ", p->v);
	if (op == SCIMF_SW && p->kind == P_COL && p->nocase_idx && !d->case_exact &&
	    (unsigned char)v->str[v->len - 1] < 0x7f)
		emit_sw_range(c, p, v, k);
	else
		emit_str(c, p->v, op, k, d->case_exact, p->kind == P_COL && p->nocase_col);
}

/* A comparison (never NE) on a space-separated list column: any word matches. */
static void emit_list(struct cx *c, const struct place *p, const struct scimf_value *v,
                      enum scimf_op op)
{
	int ce = p->def->case_exact;
	const char *lo = ce ? "" : "lower(", *lc = ce ? "" : D(c, ")", " COLLATE \"C\")");
	const char *in = D(c, "instr(", "strpos(");
	const char *t;
	size_t k;

	if ((op == SCIMF_CO || op == SCIMF_SW || op == SCIMF_EW) && v->len == 0) {
		emit_present(c, p);
		return;
	}
	if (v->len == 0 || memchr(v->str, ' ', v->len)) { /* no word is empty or holds a space */
		put(c, D(c, "0", "FALSE"));
		return;
	}
	k = sq_bind_text(c, v->str, v->len);
	t = par(c, k, "text");
	switch (op) {
	case SCIMF_EQ:
		putf(c, "%s' ' || %s%s%s || ' ', ' ' || %s%s%s || ' ') > 0", in, lo, p->v, lc, lo, t, lc);
		break;
	case SCIMF_CO:
		putf(c, "%s%s%s%s, %s%s%s) > 0", in, lo, p->v, lc, lo, t, lc);
		break;
	case SCIMF_SW:
		putf(c, "%s' ' || %s%s%s, ' ' || %s%s%s) > 0", in, lo, p->v, lc, lo, t, lc);
		break;
	default: /* EW */
		putf(c, "%s%s%s%s || ' ', %s%s%s || ' ') > 0", in, lo, p->v, lc, lo, t, lc);
		break;
	}
}

/* pr (n->kind == SCIMF_PR) or the comparison op (not NE; value not null) at p. pos: NULL counts
 * as false here; otherwise the leaf is made 0/1. */
void sq_emit_leaf(struct cx *c, const struct place *p, const struct scimf_node *n,
                  enum scimf_op op, int pr, int64_t secs, int pos)
{
	int wrap = !pr && !pos && !(p->kind == P_COL && p->notnull);

	if (wrap)
		put(c, "coalesce(");
	if (pr)
		emit_present(c, p);
	else if (p->kind == P_LIST)
		emit_list(c, p, &n->value, op);
	else if (p->kind == P_COL && p->nocase_idx && op != SCIMF_EW) {
		emit_cmp_body(c, p, n, op, secs); /* one term: plain, as the index wants it */
	} else {
		put(c, "(");
		emit_cmp_body(c, p, n, op, secs);
		put(c, ")");
	}
	if (wrap)
		put(c, D(c, ", 0)", ", FALSE)"));
}
