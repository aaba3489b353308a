/* scim_sql.c - SCIM filters and sortBy compiled to parameterized SQL (see scim_sql.h).
 *
 * The SQL text is made of fixed fragments of this file and of the attribute definitions
 * (scim_defs.c: column expressions, attribute names, schema URNs); every value of a filter
 * becomes a bound parameter ?N. An attribute is found at a "place" (enum scim_at): a column, a
 * JSON path in r.attrs, the elements of a JSON array (json_each, alias eK), the words of a
 * space-separated column, or the rows of a SELECT (alias eK).
 *
 * Three-valued logic: a condition in a "positive" position (not under NOT, directly or through
 * ne / eq null) is written plainly, NULL counting as false in a WHERE; under a NOT each leaf is
 * wrapped in coalesce(..., 0) so that NOT negates exactly. Plain leaves let SQLite use the
 * indexes (userName, externalId, the group's displayName). */
#include "scim_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "jbuf.h"

/* A hand-built tree could nest deeper than the parser allows: refuse beyond this. */
#define MAX_DEPTH (2 * SCIMF_MAX_DEPTH + 8)
#define EXPR_MAX 512

/* Columns the store declares or indexes with NOCASE: a case-insensitive eq / sw on them is
 * written so that the index serves it. */
static const struct {
	enum scim_rtype_id t;
	const char *sql;
	int nocase_col;  /* the column's own collation is NOCASE */
	int notnull;     /* never NULL (and, like the others here, never '') */
} nocase_cols[] = {
	{SCIM_R_USER, "r.username", 1, 1},
	{SCIM_R_GROUP, "r.display_name", 0, 1},
	{SCIM_R_GRANT, "u.username", 1, 0},
};

enum pkind {
	P_COL,      /* an SQL expression over r (v) */
	P_JSON,     /* json_extract / json_type over r.attrs or a JSON element */
	P_ELEM,     /* a json_each element itself: eK.value, eK.type */
	P_ROW,      /* a column of an SCIM_AT_ROWS row: eK.col */
	P_LIST,     /* a space-separated column */
};

/* Where the compared value is found and what it is. */
struct place {
	enum pkind kind;
	const struct scim_attr_def *def; /* type and case_exact of the compared value */
	char v[EXPR_MAX];                /* the value expression */
	char ty[EXPR_MAX];               /* P_JSON, P_ELEM: the json_type expression */
	int nocase_col, nocase_idx, notnull; /* P_COL (see nocase_cols) */
};

/* The element a value path's inner filter looks at. */
enum vpkind { VP_NONE, VP_JSON_EACH, VP_JSON_OBJ, VP_ROWS, VP_COLUMNS };
struct vp {
	enum vpkind kind;
	const struct scimf_attr *outer;  /* the value path's attribute */
	int alias;                       /* VP_JSON_EACH, VP_ROWS */
	char path[EXPR_MAX];             /* VP_JSON_OBJ: the object's JSON path */
};

struct cx {
	const struct scim_rtype *t;
	struct jbuf b;
	struct scim_bind *binds;
	size_t nbinds, cap;
	int alias;                       /* the last eK used */
	struct scim_error *e;
	ts_err err;                      /* the first error */
};

/* ---- output ---- */

static void put(struct cx *c, const char *s)
{
	jbuf_raw(&c->b, s, strlen(s));
}

static void putf(struct cx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct cx *c, const char *fmt, ...)
{
	char buf[4 * EXPR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		if (c->err == TS_OK)
			c->err = TS_SERVER_ERROR;
		return;
	}
	jbuf_raw(&c->b, buf, (size_t)n);
}

/* Formats into dst (EXPR_MAX bytes); a too long expression is a server error (never expected:
 * the parts are the definitions' fixed names). */
static void fmt_expr(struct cx *c, char *dst, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_expr(struct cx *c, char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, EXPR_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= EXPR_MAX) {
		dst[0] = '\0';
		if (c->err == TS_OK)
			c->err = TS_SERVER_ERROR;
	}
}

static ts_err invalid(struct cx *c, const char *fmt, const char *what)
{
	if (c->err == TS_OK)
		c->err = scim_error_set(c->e, SCIM_E_INVALID_FILTER, fmt, what);
	return c->err;
}

/* ---- binds ---- */

static struct scim_bind *bind_new(struct cx *c)
{
	if (c->nbinds == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct scim_bind *nb = realloc(c->binds, cap * sizeof *nb);

		if (!nb) {
			c->err = TS_SERVER_ERROR;
			return NULL;
		}
		c->binds = nb;
		c->cap = cap;
	}
	memset(&c->binds[c->nbinds], 0, sizeof c->binds[0]);
	return &c->binds[c->nbinds++];
}

/* Binds text s[0..n) and returns its number (0 after an error). */
static size_t bind_text(struct cx *c, const char *s, size_t n)
{
	struct scim_bind *b;
	char *copy = malloc(n + 1);

	if (!copy) {
		c->err = TS_SERVER_ERROR;
		return 0;
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (!(b = bind_new(c))) {
		free(copy);
		return 0;
	}
	b->type = SCIM_BIND_TEXT;
	b->text = copy;
	return c->nbinds;
}

static size_t bind_int(struct cx *c, int64_t i)
{
	struct scim_bind *b = bind_new(c);

	if (!b)
		return 0;
	b->type = SCIM_BIND_INT;
	b->i = i;
	return c->nbinds;
}

static size_t bind_number(struct cx *c, const struct scimf_value *v)
{
	struct scim_bind *b;

	if (v->is_int)
		return bind_int(c, v->i);
	if (!(b = bind_new(c)))
		return 0;
	b->type = SCIM_BIND_REAL;
	b->d = v->d;
	return c->nbinds;
}

void scim_sql_free(struct scim_sql *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nbinds; i++)
		free(q->binds[i].text);
	free(q->binds);
	free(q->where);
	q->where = NULL;
	q->binds = NULL;
	q->nbinds = 0;
}

/* ---- RFC 3339 date-times ---- */

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parses an RFC 3339 date-time ("2011-05-13T04:42:34Z", "...34.5+02:00") into Unix seconds,
 * fractions truncated. 1 if s is one, else 0. */
static int parse_datetime(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, leap, sign = 0;
	size_t i;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 60)
		return 0;
	i = 19;
	if (s[i] == '.') {
		if (s[++i] < '0' || s[i] > '9')
			return 0;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		/* UTC */
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) ||
		    s[i + 6] != '\0' || oh > 23 || om > 59)
			return 0;
	} else
		return 0;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	return 1;
}

/* ---- places ---- */

/* 1 if s is safe inside a quoted JSON path in an SQL literal (the definitions' names and URNs). */
static int path_safe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == ':' || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* The JSON path of f's attribute in r.attrs, with sub-attribute sub (or NULL) appended:
 * $.name.familyName, $."urn:...:User".department. */
static void json_path(struct cx *c, char *dst, const struct scim_found *f, const char *sub)
{
	const struct scim_schema_def *s = f->schema;
	int ext = s && s != c->t->core;

	if ((ext && !path_safe(s->id)) || !path_safe(f->attr->name) || (sub && !path_safe(sub))) {
		dst[0] = '\0';
		c->err = TS_SERVER_ERROR;
		return;
	}
	fmt_expr(c, dst, "$%s%s%s.%s%s%s", ext ? ".\"" : "", ext ? s->id : "", ext ? "\"" : "",
		 f->attr->name, sub ? "." : "", sub ? sub : "");
}

static void place_col(struct cx *c, struct place *p, const char *sql,
                      const struct scim_attr_def *def)
{
	size_t i;

	memset(p, 0, sizeof *p);
	p->kind = P_COL;
	p->def = def;
	fmt_expr(c, p->v, "%s", sql);
	for (i = 0; i < sizeof nocase_cols / sizeof nocase_cols[0]; i++)
		if (nocase_cols[i].t == c->t->id && strcmp(nocase_cols[i].sql, sql) == 0) {
			p->nocase_col = nocase_cols[i].nocase_col;
			p->nocase_idx = 1;
			p->notnull = nocase_cols[i].notnull;
		}
}

/* A JSON place: path in the JSON text expression `doc` (r.attrs, or eK.value). */
static void place_json(struct cx *c, struct place *p, const char *doc, const char *path,
                       const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_JSON;
	p->def = def;
	fmt_expr(c, p->v, "json_extract(%s, '%s')", doc, path);
	fmt_expr(c, p->ty, "json_type(%s, '%s')", doc, path);
}

static void place_elem(struct cx *c, struct place *p, int alias, const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_ELEM;
	p->def = def;
	fmt_expr(c, p->v, "e%d.value", alias);
	fmt_expr(c, p->ty, "e%d.type", alias);
}

/* An element's sub-attribute: its JSON path in eK.value (an object: the caller checks). */
static void place_elem_sub(struct cx *c, struct place *p, int alias, const char *sub,
                           const struct scim_attr_def *def)
{
	char doc[32], path[EXPR_MAX];

	snprintf(doc, sizeof doc, "e%d.value", alias);
	if (!path_safe(sub)) {
		c->err = TS_SERVER_ERROR;
		sub = "";
	}
	fmt_expr(c, path, "$.%s", sub);
	place_json(c, p, doc, path, def);
}

static void place_row(struct cx *c, struct place *p, int alias, const char *col,
                      const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_ROW;
	p->def = def;
	if (!col || !path_safe(col)) {
		c->err = TS_SERVER_ERROR;
		col = "";
	}
	fmt_expr(c, p->v, "e%d.%s", alias, col);
}

/* ---- leaves ---- */

static int is_text_type(enum scim_type t)
{
	return t == SCIM_STRING || t == SCIM_REFERENCE || t == SCIM_BINARY;
}

/* Whether value v may be compared with op to an attribute of definition d (NULL: fine),
 * else why not. */
static const char *value_refused(const struct scim_attr_def *d, enum scimf_op op,
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
		return parse_datetime(v->str, secs) ? NULL : "%s takes an RFC 3339 date-time";
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
		if (is_text_type(p->def->type) || p->def->type == SCIM_COMPLEX)
			putf(c, "(%s IS NOT NULL AND %s <> '')", p->v, p->v);
		else
			putf(c, "(%s IS NOT NULL)", p->v);
		break;
	case P_LIST:
		putf(c, "(%s <> '')", p->v);
		break;
	case P_JSON:
		putf(c, "(CASE %s WHEN 'null' THEN 0 WHEN 'text' THEN %s <> '' WHEN 'array' THEN "
		     "json_array_length(%s) > 0 WHEN 'object' THEN %s <> '{}' ELSE %s IS NOT NULL END)",
		     p->ty, p->v, p->v, p->v, p->ty);
		break;
	case P_ELEM: /* an element of an array: arrays in arrays do not count */
		putf(c, "(CASE %s WHEN 'null' THEN 0 WHEN 'text' THEN %s <> '' WHEN 'array' THEN 0 "
		     "WHEN 'object' THEN %s <> '{}' ELSE 1 END)", p->ty, p->v, p->v);
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
	size_t lo, hi, i;
	char *low = malloc(v->len + 1);

	if (!low) {
		c->err = TS_SERVER_ERROR;
		return;
	}
	for (i = 0; i < v->len; i++)
		low[i] = (v->str[i] >= 'A' && v->str[i] <= 'Z') ? (char)(v->str[i] + 32) : v->str[i];
	lo = bind_text(c, low, v->len);
	low[v->len - 1]++;
	hi = bind_text(c, low, v->len);
	free(low);
	putf(c, "(%s >= ?%zu%s AND %s < ?%zu%s AND ", p->v, lo, coll, p->v, hi, coll);
	emit_str(c, p->v, SCIMF_SW, k, 0, p->nocase_col);
	put(c, ")");
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
		if (json)
			putf(c, "%s = '%s'", p->ty, v->type == SCIMF_V_TRUE ? "true" : "false");
		else
			putf(c, "%s = %d", p->v, v->type == SCIMF_V_TRUE);
		return;
	}
	if (d->type == SCIM_INTEGER || d->type == SCIM_DECIMAL) {
		k = bind_number(c, v);
		if (json)
			putf(c, "%s IN ('integer', 'real') AND ", p->ty);
		putf(c, "%s %s ?%zu", p->v, op_sql(op), k);
		return;
	}
	if (d->type == SCIM_DATETIME) {
		k = bind_int(c, secs);
		if (json)
			putf(c, "%s = 'text' AND CAST(strftime('%%s', %s) AS INTEGER) %s ?%zu", p->ty,
			     p->v, op_sql(op), k);
		else
			putf(c, "%s %s ?%zu", p->v, op_sql(op), k);
		return;
	}
	/* strings; a text column holding '' is unassigned (the representation leaves it out) */
	if ((op == SCIMF_CO || op == SCIMF_SW || op == SCIMF_EW) && v->len == 0) {
		if (json)
			putf(c, "%s = 'text'", p->ty);
		else
			putf(c, "%s <> ''", p->v);
		return;
	}
	k = bind_text(c, v->str, v->len);
	if (json)
		putf(c, "%s = 'text' AND ", p->ty);
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
	const char *lo = ce ? "" : "lower(", *lc = ce ? "" : ")";
	size_t k;

	if ((op == SCIMF_CO || op == SCIMF_SW || op == SCIMF_EW) && v->len == 0) {
		emit_present(c, p);
		return;
	}
	if (v->len == 0 || memchr(v->str, ' ', v->len)) { /* no word is empty or holds a space */
		put(c, "0");
		return;
	}
	k = bind_text(c, v->str, v->len);
	switch (op) {
	case SCIMF_EQ:
		putf(c, "instr(' ' || %s%s%s || ' ', ' ' || %s?%zu%s || ' ') > 0", lo, p->v, lc, lo, k, lc);
		break;
	case SCIMF_CO:
		putf(c, "instr(%s%s%s, %s?%zu%s) > 0", lo, p->v, lc, lo, k, lc);
		break;
	case SCIMF_SW:
		putf(c, "instr(' ' || %s%s%s, ' ' || %s?%zu%s) > 0", lo, p->v, lc, lo, k, lc);
		break;
	default: /* EW */
		putf(c, "instr(%s%s%s || ' ', %s?%zu%s || ' ') > 0", lo, p->v, lc, lo, k, lc);
		break;
	}
}

/* pr (n->kind == SCIMF_PR) or the comparison op (not NE; value not null) at p. pos: NULL counts
 * as false here; otherwise the leaf is made 0/1. */
static void emit_leaf(struct cx *c, const struct place *p, const struct scimf_node *n,
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
		put(c, ", 0)");
}

/* ---- attribute expressions ---- */

static const struct scim_attr_def *value_sub(const struct scim_attr_def *d)
{
	size_t i;

	for (i = 0; i < d->nsubs; i++)
		if (strcmp(d->subs[i].name, "value") == 0)
			return &d->subs[i];
	return NULL;
}

/* Resolves attribute a (inside value path vp, if any) into f. */
static ts_err resolve(struct cx *c, const struct scimf_attr *a, const struct vp *vp,
                      struct scim_found *f)
{
	struct scimf_attr full;
	const char *shown = a->name;

	if (vp && vp->kind != VP_NONE) {
		memset(&full, 0, sizeof full);
		full.urn = vp->outer->urn;
		full.name = vp->outer->name;
		full.sub = a->name;
		if (a->urn || a->sub)
			return invalid(c, "unknown attribute %s", shown);
		a = &full;
	}
	if (scim_find(c->t, a, NULL, f) != TS_OK)
		return invalid(c, "unknown attribute %s", shown);
	if (f->at == SCIM_AT_NONE || (f->sub && f->sub_at == SCIM_AT_NONE))
		return invalid(c, "%s cannot be filtered on", shown);
	return TS_OK;
}

/* The place of a (resolved in f) inside value path vp. */
static void vp_place(struct cx *c, const struct vp *vp, const struct scim_found *f,
                     const struct scim_attr_def *d, struct place *p)
{
	char path[EXPR_MAX];

	switch (vp->kind) {
	case VP_JSON_EACH:
		place_elem_sub(c, p, vp->alias, f->sub->name, d);
		break;
	case VP_JSON_OBJ:
		fmt_expr(c, path, "%s.%s", vp->path, f->sub->name);
		place_json(c, p, "r.attrs", path, d);
		break;
	case VP_ROWS:
		place_row(c, p, vp->alias, f->sub_sql, d);
		break;
	default:
		place_col(c, p, f->sub_sql ? f->sub_sql : "", d);
		break;
	}
}

/* attr pr / attr op value (n), anywhere: the EXISTS over a multi-valued attribute's elements
 * when needed, the leaf inside. */
static void emit_attrexp(struct cx *c, const struct scimf_node *n, const struct vp *vp, int pos)
{
	int pr = n->kind == SCIMF_PR || n->value.type == SCIMF_V_NULL;
	int negate = n->kind == SCIMF_CMP && (n->value.type == SCIMF_V_NULL ? n->op == SCIMF_EQ :
	                                                                      n->op == SCIMF_NE);
	enum scimf_op op = n->op == SCIMF_NE ? SCIMF_EQ : n->op;
	const struct scim_attr_def *d, *top;
	const char *sub_sql;
	const char *why;
	struct scim_found f;
	struct place p;
	int64_t secs = 0;
	char path[EXPR_MAX];
	int a;

	if (resolve(c, &n->attr, vp, &f) != TS_OK)
		return;
	top = f.attr;
	d = f.sub ? f.sub : f.attr;
	sub_sql = f.sub ? f.sub_sql : NULL;
	if (!pr && d->type == SCIM_COMPLEX) { /* compared by its "value" */
		const struct scim_attr_def *vs = value_sub(d);

		if (!vs) {
			invalid(c, "cannot compare the complex attribute %s", n->attr.name);
			return;
		}
		d = vs;
		sub_sql = vs->sql;
		if (vs->at == SCIM_AT_NONE) {
			invalid(c, "%s cannot be filtered on", n->attr.name);
			return;
		}
	}
	if (n->kind == SCIMF_CMP && (why = value_refused(d, op, &n->value, &secs))) {
		invalid(c, why, n->attr.name);
		return;
	}
	if (negate) {
		put(c, "NOT (");
		pos = 0;
	}
	if (vp && vp->kind != VP_NONE) {
		vp_place(c, vp, &f, d, &p);
		emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_COLUMN) {
		const char *sql = f.sub ? f.sub_sql : f.sql;

		if (!sql || d->type == SCIM_COMPLEX) {
			invalid(c, "%s cannot be filtered on", n->attr.name);
			return;
		}
		place_col(c, &p, sql, d);
		emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_LIST) {
		if (op >= SCIMF_GT && !pr) {
			invalid(c, "%s is a list: no ordering", n->attr.name);
			return;
		}
		place_col(c, &p, f.sql, d);
		p.kind = P_LIST;
		emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_ROWS) {
		a = ++c->alias;
		putf(c, "EXISTS (SELECT 1 FROM (%s) AS e%d", f.sql, a);
		if (d != top) {
			put(c, " WHERE ");
			place_row(c, &p, a, sub_sql, d);
			emit_leaf(c, &p, n, op, pr, secs, 1);
		}
		put(c, ")");
	} else if (top->multi) {
		json_path(c, path, &f, NULL);
		a = ++c->alias;
		putf(c, "EXISTS (SELECT 1 FROM json_each(r.attrs, '%s') AS e%d WHERE ", path, a);
		if (top->type == SCIM_COMPLEX && d != top) {
			/* an element that is not an object is compared itself when no
			 * sub-attribute was named (as scimf_match does) */
			putf(c, "CASE WHEN e%d.type = 'object' THEN ", a);
			place_elem_sub(c, &p, a, d->name, d);
			emit_leaf(c, &p, n, op, pr, secs, 1);
			put(c, " ELSE ");
			if (f.sub) {
				put(c, "0");
			} else {
				place_elem(c, &p, a, d);
				emit_leaf(c, &p, n, op, pr, secs, 1);
			}
			put(c, " END");
		} else {
			place_elem(c, &p, a, d);
			emit_leaf(c, &p, n, op, pr, secs, 1);
		}
		put(c, ")");
	} else {
		json_path(c, path, &f, d != top ? d->name : NULL);
		place_json(c, &p, "r.attrs", path, d);
		emit_leaf(c, &p, n, op, pr, secs, pos);
	}
	if (negate)
		put(c, ")");
}

static void emit_node(struct cx *c, const struct scimf_node *n, const struct vp *vp, int pos,
                      int depth);

/* attr[filter]: one element of the complex attribute matches the whole inner filter. */
static void emit_valuepath(struct cx *c, const struct scimf_node *n, int pos, int depth)
{
	struct scim_found f;
	struct vp vp;

	if (resolve(c, &n->attr, NULL, &f) != TS_OK)
		return;
	if (f.attr->type != SCIM_COMPLEX || f.sub) {
		invalid(c, "%s is not a complex attribute", n->attr.name);
		return;
	}
	memset(&vp, 0, sizeof vp);
	vp.outer = &n->attr;
	if (f.at == SCIM_AT_ROWS) {
		vp.kind = VP_ROWS;
		vp.alias = ++c->alias;
		putf(c, "EXISTS (SELECT 1 FROM (%s) AS e%d WHERE ", f.sql, vp.alias);
		emit_node(c, n->kids[0], &vp, 1, depth + 1);
		put(c, ")");
	} else if (f.at == SCIM_AT_COLUMN) {
		vp.kind = VP_COLUMNS;
		emit_node(c, n->kids[0], &vp, pos, depth + 1);
	} else if (f.at == SCIM_AT_JSON && f.attr->multi) {
		char path[EXPR_MAX];

		vp.kind = VP_JSON_EACH;
		vp.alias = ++c->alias;
		json_path(c, path, &f, NULL);
		putf(c, "EXISTS (SELECT 1 FROM json_each(r.attrs, '%s') AS e%d WHERE CASE WHEN "
		     "e%d.type = 'object' THEN ", path, vp.alias, vp.alias);
		emit_node(c, n->kids[0], &vp, 1, depth + 1);
		put(c, " ELSE 0 END)");
	} else if (f.at == SCIM_AT_JSON) {
		vp.kind = VP_JSON_OBJ;
		json_path(c, vp.path, &f, NULL);
		putf(c, "(CASE WHEN json_type(r.attrs, '%s') = 'object' THEN ", vp.path);
		emit_node(c, n->kids[0], &vp, pos, depth + 1);
		put(c, " ELSE 0 END)");
	} else
		invalid(c, "%s cannot be filtered on", n->attr.name);
}

/* Any node: and, or, not, value paths, attribute expressions. */
static void emit_node(struct cx *c, const struct scimf_node *n, const struct vp *vp, int pos,
                      int depth)
{
	size_t i;

	if (c->err != TS_OK)
		return;
	if (!n || depth > MAX_DEPTH) {
		invalid(c, "%s", "filter nested too deeply");
		return;
	}
	switch (n->kind) {
	case SCIMF_AND:
	case SCIMF_OR:
		put(c, "(");
		for (i = 0; i < n->nkids; i++) {
			if (i)
				put(c, n->kind == SCIMF_AND ? " AND " : " OR ");
			emit_node(c, n->kids[i], vp, pos, depth + 1);
		}
		put(c, ")");
		break;
	case SCIMF_NOT:
		put(c, "NOT (");
		emit_node(c, n->kids[0], vp, 0, depth + 1);
		put(c, ")");
		break;
	case SCIMF_VALUEPATH:
		if (vp && vp->kind != VP_NONE) {
			invalid(c, "%s", "nested value path");
			return;
		}
		emit_valuepath(c, n, pos, depth);
		break;
	default:
		emit_attrexp(c, n, vp, pos);
		break;
	}
}

ts_err scim_sql_where(const struct scim_rtype *t, const struct scimf_node *n, struct scim_sql *q,
                      struct scim_error *e)
{
	struct cx c;
	size_t i;

	memset(q, 0, sizeof *q);
	memset(&c, 0, sizeof c);
	c.t = t;
	c.e = e;
	if (!t)
		return TS_SERVER_ERROR;
	if (!n)
		put(&c, "1");
	else
		emit_node(&c, n, NULL, 1, 0);
	q->where = jbuf_take(&c.b, NULL);
	if (c.err == TS_OK && !q->where)
		c.err = TS_SERVER_ERROR;
	if (c.err != TS_OK) {
		free(q->where);
		q->where = NULL;
		for (i = 0; i < c.nbinds; i++)
			free(c.binds[i].text);
		free(c.binds);
		return c.err;
	}
	q->binds = c.binds;
	q->nbinds = c.nbinds;
	return TS_OK;
}

/* ---- sortBy ---- */

/* The ORDER BY expression of resolved attribute f (sub-attribute d of it, or f's attribute). */
static void order_expr(struct cx *c, const struct scim_found *f, const struct scim_attr_def *d,
                       const char *sub_sql)
{
	const char *nc = is_text_type(d->type) && !d->case_exact ? " COLLATE NOCASE" : "";
	char path[EXPR_MAX];

	if (f->at == SCIM_AT_COLUMN) {
		putf(c, "%s%s", f->sub ? f->sub_sql : f->sql, nc);
	} else if (f->at == SCIM_AT_LIST) { /* the first word */
		putf(c, "substr(%s, 1, instr(%s || ' ', ' ') - 1)%s", f->sql, f->sql, nc);
	} else if (f->at == SCIM_AT_ROWS) { /* no order among the rows: the least */
		putf(c, "(SELECT e.%s FROM (%s) AS e ORDER BY e.%s%s LIMIT 1)%s", sub_sql, f->sql,
		     sub_sql, nc, nc);
	} else if (f->attr->multi && f->attr->type == SCIM_COMPLEX) {
		json_path(c, path, f, NULL);
		if (!path_safe(d->name))
			c->err = TS_SERVER_ERROR;
		putf(c, "(SELECT CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.%s') END "
		     "FROM json_each(r.attrs, '%s') AS e ORDER BY CASE WHEN e.type = 'object' THEN "
		     "json_type(e.value, '$.primary') END IS NOT 'true', e.key LIMIT 1)%s", d->name, path,
		     nc);
	} else if (f->attr->multi) {
		json_path(c, path, f, NULL);
		putf(c, "(SELECT e.value FROM json_each(r.attrs, '%s') AS e ORDER BY e.key LIMIT 1)%s",
		     path, nc);
	} else {
		json_path(c, path, f, d != f->attr ? d->name : NULL);
		putf(c, "json_extract(r.attrs, '%s')%s", path, nc);
	}
}

ts_err scim_sql_order(const struct scim_rtype *t, const char *sort_by, char **order,
                      struct scim_error *e)
{
	struct scimf_path *sp = NULL;
	const struct scim_attr_def *d;
	const char *sub_sql;
	struct scim_found f;
	struct cx c;
	ts_err err;

	*order = NULL;
	if (!sort_by)
		return TS_OK;
	if (!t)
		return TS_SERVER_ERROR;
	err = scimf_parse_path(sort_by, &sp, NULL);
	if (err == TS_SERVER_ERROR)
		return err;
	if (err != TS_OK || sp->filter) {
		scimf_path_free(sp);
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "invalid sortBy");
	}
	if (scim_find(t, &sp->attr, NULL, &f) != TS_OK || f.at == SCIM_AT_NONE ||
	    (f.sub && f.sub_at == SCIM_AT_NONE)) {
		scimf_path_free(sp);
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "invalid sortBy");
	}
	scimf_path_free(sp);
	d = f.sub ? f.sub : f.attr;
	sub_sql = f.sub ? f.sub_sql : NULL;
	if (d->type == SCIM_COMPLEX) {
		d = value_sub(d);
		if (!d || d->at == SCIM_AT_NONE || f.at == SCIM_AT_COLUMN)
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "invalid sortBy");
		sub_sql = d->sql;
	}
	memset(&c, 0, sizeof c);
	c.t = t;
	c.e = e;
	order_expr(&c, &f, d, sub_sql);
	*order = jbuf_take(&c.b, NULL);
	if (c.err != TS_OK || !*order) {
		free(*order);
		*order = NULL;
		return TS_SERVER_ERROR;
	}
	return TS_OK;
}
