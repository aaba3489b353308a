/* scim_sql_priv.h - what the files of the SCIM filter-to-SQL compiler share (private to
 * lib/scim): the compile state, the places an attribute is found at, the output helpers, and the
 * functions of scim_sql_build.c (binds, date-times, places) and scim_sql_leaf.c (comparisons).
 * scim_sql.c walks the filter tree with them. */
#ifndef TESSERA_SCIM_SQL_PRIV_H
#define TESSERA_SCIM_SQL_PRIV_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "jbuf.h"
#include "scim_sql.h"

/* A hand-built tree could nest deeper than the parser allows: refuse beyond this. */
#define MAX_DEPTH (2 * SCIMF_MAX_DEPTH + 8)
#define EXPR_MAX 512

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
	char j[EXPR_MAX];                /* P_JSON, P_ELEM on PostgreSQL: the jsonb value */
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
	int pg;                          /* 1: PostgreSQL's dialect, 0: SQLite's */
	char par[4][48];                 /* what par() returns, used in turn */
	int npar;
};

/* ---- dialects ---- */

/* The fragment of c's dialect: lite on SQLite, pg on PostgreSQL. */
static inline const char *D(const struct cx *c, const char *lite, const char *pg)
{
	return c->pg ? pg : lite;
}

/* Parameter ?k as an expression of SQL type type ("text", "bigint", "numeric"): on PostgreSQL
 * cast, so that its type never depends on how the engine infers it; on SQLite ?k itself. Valid
 * until the fourth call after this one. */
static inline const char *par(struct cx *c, size_t k, const char *type)
{
	char *b = c->par[c->npar++ % 4];

	if (c->pg)
		snprintf(b, sizeof c->par[0], "CAST(?%zu AS %s)", k, type);
	else
		snprintf(b, sizeof c->par[0], "?%zu", k);
	return b;
}

/* The document of the resource's JSON attributes. */
static inline const char *doc_attrs(const struct cx *c)
{
	return D(c, "r.attrs", "CAST(r.attrs AS jsonb)");
}

/* ---- output ---- */

static inline void put(struct cx *c, const char *s)
{
	jbuf_raw(&c->b, s, strlen(s));
}

static inline __attribute__((format(printf, 2, 3))) void putf(struct cx *c, const char *fmt, ...)
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
static inline __attribute__((format(printf, 3, 4))) void fmt_expr(struct cx *c, char *dst,
								 const char *fmt, ...)
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

static inline ts_err invalid(struct cx *c, const char *fmt, const char *what)
{
	if (c->err == TS_OK)
		c->err = scim_error_set(c->e, SCIM_E_INVALID_FILTER, fmt, what);
	return c->err;
}

/* ---- scim_sql_build.c ---- */

/* Binds text s[0..n), an integer, a filter's number; each returns the parameter's number (0 after
 * an error, which is in c->err). */
size_t sq_bind_text(struct cx *c, const char *s, size_t n);
size_t sq_bind_int(struct cx *c, int64_t i);
size_t sq_bind_number(struct cx *c, const struct scimf_value *v);

/* 1 and *out = seconds since the epoch if s is an RFC 3339 date-time, else 0. */
int sq_parse_datetime(const char *s, int64_t *out);

/* 1 if s is safe inside a quoted JSON path in an SQL literal (the definitions' names and URNs). */
int sq_path_safe(const char *s);

/* The JSON path of f's attribute in r.attrs, with sub-attribute sub (or NULL) appended
 * (SQLite: '$.a.b' without its quotes; PostgreSQL: the keys 'a', 'b' with theirs). */
void sq_json_path(struct cx *c, char *dst, const struct scim_found *f, const char *sub);
/* Path path (of sq_json_path) with the member name (safe: sq_path_safe) appended. */
void sq_json_path_add(struct cx *c, char *dst, const char *path, const char *name);
/* "FROM"-item of the elements of the array at path in r.attrs as eK (value, type/key). */
void sq_json_each(struct cx *c, const char *path, int alias);
/* The JSON type test "eK is an object". */
void sq_elem_is_object(struct cx *c, int alias);

/* The places: a column expression, a JSON path in document doc, a json_each element eK (or its
 * member sub), a column of the SELECT row eK. */
void sq_place_col(struct cx *c, struct place *p, const char *sql, const struct scim_attr_def *def);
void sq_place_json(struct cx *c, struct place *p, const char *doc, const char *path,
                   const struct scim_attr_def *def);
void sq_place_elem(struct cx *c, struct place *p, int alias, const struct scim_attr_def *def);
void sq_place_elem_sub(struct cx *c, struct place *p, int alias, const char *sub,
                       const struct scim_attr_def *def);
void sq_place_row(struct cx *c, struct place *p, int alias, const char *col,
                  const struct scim_attr_def *def);

/* ---- scim_sql_leaf.c ---- */

int sq_is_text_type(enum scim_type t);

/* Whether value v may be compared with op to an attribute of definition d (NULL: fine), else
 * why not (a format with one %s, the attribute); a date-time's seconds in *secs. */
const char *sq_value_refused(const struct scim_attr_def *d, enum scimf_op op,
                             const struct scimf_value *v, int64_t *secs);

/* pr (pr != 0) or the comparison op (not NE; value not null) of n at p. pos: NULL counts as
 * false here; otherwise the leaf is made 0/1. */
void sq_emit_leaf(struct cx *c, const struct place *p, const struct scimf_node *n,
                  enum scimf_op op, int pr, int64_t secs, int pos);

#endif
