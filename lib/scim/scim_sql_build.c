/* scim_sql_build.c - the parts of the SCIM filter-to-SQL compiler that the comparisons are
 * made of: bound parameters, RFC 3339 date-times, and the places (column, JSON path, json_each
 * element, row) where an attribute's value is found (scim_sql_priv.h). */
#include "scim_sql_priv.h"

#include <stdlib.h>

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
size_t sq_bind_text(struct cx *c, const char *s, size_t n)
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

size_t sq_bind_int(struct cx *c, int64_t i)
{
	struct scim_bind *b = bind_new(c);

	if (!b)
		return 0;
	b->type = SCIM_BIND_INT;
	b->i = i;
	return c->nbinds;
}

size_t sq_bind_number(struct cx *c, const struct scimf_value *v)
{
	struct scim_bind *b;

	if (v->is_int)
		return sq_bind_int(c, v->i);
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
	free(q->where_pg);
	q->where = NULL;
	q->where_pg = NULL;
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
int sq_parse_datetime(const char *s, int64_t *out)
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
int sq_path_safe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == ':' || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

/* The JSON path of f's attribute in r.attrs, with sub-attribute sub (or NULL) appended:
 * SQLite's $.name.familyName, $."urn:...:User".department; PostgreSQL's keys 'name',
 * 'familyName' and 'urn:...:User', 'department' (jsonb_extract_path's arguments). */
void sq_json_path(struct cx *c, char *dst, const struct scim_found *f, const char *sub)
{
	const struct scim_schema_def *s = f->schema;
	int ext = s && s != c->t->core;

	if ((ext && !sq_path_safe(s->id)) || !sq_path_safe(f->attr->name) || (sub && !sq_path_safe(sub))) {
		dst[0] = '\0';
		c->err = TS_SERVER_ERROR;
		return;
	}
	if (c->pg)
		fmt_expr(c, dst, "%s%s%s'%s'%s%s%s", ext ? "'" : "", ext ? s->id : "", ext ? "', " : "",
			 f->attr->name, sub ? ", '" : "", sub ? sub : "", sub ? "'" : "");
	else
		fmt_expr(c, dst, "$%s%s%s.%s%s%s", ext ? ".\"" : "", ext ? s->id : "", ext ? "\"" : "",
			 f->attr->name, sub ? "." : "", sub ? sub : "");
}

void sq_json_path_add(struct cx *c, char *dst, const char *path, const char *name)
{
	if (!sq_path_safe(name)) {
		dst[0] = '\0';
		c->err = TS_SERVER_ERROR;
		return;
	}
	if (c->pg)
		fmt_expr(c, dst, "%s, '%s'", path, name);
	else
		fmt_expr(c, dst, "%s.%s", path, name);
}

/* SQLite's json_each yields an array's elements, or a scalar itself; PostgreSQL's lax
 * jsonb_path_query '$[*]' does the same (and no row for a missing path), where
 * jsonb_array_elements would raise on anything but an array. key: the element's order. */
void sq_json_each(struct cx *c, const char *path, int alias)
{
	if (c->pg)
		putf(c, "jsonb_path_query(jsonb_extract_path(%s, %s), '$[*]') WITH ORDINALITY AS "
		     "e%d(value, key)", doc_attrs(c), path, alias);
	else
		putf(c, "json_each(%s, '%s') AS e%d", doc_attrs(c), path, alias);
}

void sq_elem_is_object(struct cx *c, int alias)
{
	if (c->pg)
		putf(c, "jsonb_typeof(e%d.value) = 'object'", alias);
	else
		putf(c, "e%d.type = 'object'", alias);
}

void sq_place_col(struct cx *c, struct place *p, const char *sql,
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

/* A JSON place: path in the JSON document expression `doc` (r.attrs, or eK.value). On
 * PostgreSQL v is the value as text (a string without its quotes, as json_extract gives it), j
 * the jsonb value and ty jsonb_typeof's name of its type. */
void sq_place_json(struct cx *c, struct place *p, const char *doc, const char *path,
                   const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_JSON;
	p->def = def;
	if (c->pg) {
		fmt_expr(c, p->v, "jsonb_extract_path_text(%s, %s)", doc, path);
		fmt_expr(c, p->j, "jsonb_extract_path(%s, %s)", doc, path);
		fmt_expr(c, p->ty, "jsonb_typeof(%s)", p->j);
	} else {
		fmt_expr(c, p->v, "json_extract(%s, '%s')", doc, path);
		fmt_expr(c, p->ty, "json_type(%s, '%s')", doc, path);
	}
}

void sq_place_elem(struct cx *c, struct place *p, int alias, const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_ELEM;
	p->def = def;
	if (c->pg) {
		fmt_expr(c, p->v, "(e%d.value #>> '{}')", alias);
		fmt_expr(c, p->j, "e%d.value", alias);
		fmt_expr(c, p->ty, "jsonb_typeof(e%d.value)", alias);
	} else {
		fmt_expr(c, p->v, "e%d.value", alias);
		fmt_expr(c, p->ty, "e%d.type", alias);
	}
}

/* An element's sub-attribute: its JSON path in eK.value (an object: the caller checks). */
void sq_place_elem_sub(struct cx *c, struct place *p, int alias, const char *sub,
                       const struct scim_attr_def *def)
{
	char doc[32], path[EXPR_MAX];

	snprintf(doc, sizeof doc, "e%d.value", alias);
	if (!sq_path_safe(sub)) {
		c->err = TS_SERVER_ERROR;
		sub = "";
	}
	fmt_expr(c, path, c->pg ? "'%s'" : "$.%s", sub);
	sq_place_json(c, p, doc, path, def);
}

void sq_place_row(struct cx *c, struct place *p, int alias, const char *col,
                  const struct scim_attr_def *def)
{
	memset(p, 0, sizeof *p);
	p->kind = P_ROW;
	p->def = def;
	if (!col || !sq_path_safe(col)) {
		c->err = TS_SERVER_ERROR;
		col = "";
	}
	fmt_expr(c, p->v, "e%d.%s", alias, col);
}
