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
 * indexes (userName, externalId, the group's displayName).
 *
 * This file walks the tree (attribute expressions, value paths, and/or/not) and compiles sortBy;
 * scim_sql_leaf.c writes the comparisons, scim_sql_build.c the binds and places. */
#include "scim_sql_priv.h"

#include <stdlib.h>
#include <strings.h>

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
		sq_place_elem_sub(c, p, vp->alias, f->sub->name, d);
		break;
	case VP_JSON_OBJ:
		sq_json_path_add(c, path, vp->path, f->sub->name);
		sq_place_json(c, p, doc_attrs(c), path, d);
		break;
	case VP_ROWS:
		sq_place_row(c, p, vp->alias, f->sub_sql, d);
		break;
	default:
		sq_place_col(c, p, f->sub_sql ? f->sub_sql : "", d);
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
	if (n->kind == SCIMF_CMP && (why = sq_value_refused(d, op, &n->value, &secs))) {
		invalid(c, why, n->attr.name);
		return;
	}
	if (negate) {
		put(c, "NOT (");
		pos = 0;
	}
	if (vp && vp->kind != VP_NONE) {
		vp_place(c, vp, &f, d, &p);
		sq_emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_COLUMN) {
		const char *sql = f.sub ? f.sub_sql : f.sql;

		if (!sql || d->type == SCIM_COMPLEX) {
			invalid(c, "%s cannot be filtered on", n->attr.name);
			return;
		}
		sq_place_col(c, &p, sql, d);
		sq_emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_LIST) {
		if (op >= SCIMF_GT && !pr) {
			invalid(c, "%s is a list: no ordering", n->attr.name);
			return;
		}
		sq_place_col(c, &p, f.sql, d);
		p.kind = P_LIST;
		sq_emit_leaf(c, &p, n, op, pr, secs, pos);
	} else if (f.at == SCIM_AT_ROWS) {
		a = ++c->alias;
		putf(c, "EXISTS (SELECT 1 FROM (%s) AS e%d", f.sql, a);
		if (d != top) {
			put(c, " WHERE ");
			sq_place_row(c, &p, a, sub_sql, d);
			sq_emit_leaf(c, &p, n, op, pr, secs, 1);
		}
		put(c, ")");
	} else if (top->multi) {
		sq_json_path(c, path, &f, NULL);
		a = ++c->alias;
		put(c, "EXISTS (SELECT 1 FROM ");
		sq_json_each(c, path, a);
		put(c, " WHERE ");
		if (top->type == SCIM_COMPLEX && d != top) {
			/* an element that is not an object is compared itself when no
			 * sub-attribute was named (as scimf_match does) */
			put(c, "CASE WHEN ");
			sq_elem_is_object(c, a);
			put(c, " THEN ");
			sq_place_elem_sub(c, &p, a, d->name, d);
			sq_emit_leaf(c, &p, n, op, pr, secs, 1);
			put(c, " ELSE ");
			if (f.sub) {
				put(c, D(c, "0", "FALSE"));
			} else {
				sq_place_elem(c, &p, a, d);
				sq_emit_leaf(c, &p, n, op, pr, secs, 1);
			}
			put(c, " END");
		} else {
			sq_place_elem(c, &p, a, d);
			sq_emit_leaf(c, &p, n, op, pr, secs, 1);
		}
		put(c, ")");
	} else {
		sq_json_path(c, path, &f, d != top ? d->name : NULL);
		sq_place_json(c, &p, doc_attrs(c), path, d);
		sq_emit_leaf(c, &p, n, op, pr, secs, pos);
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
		sq_json_path(c, path, &f, NULL);
		put(c, "EXISTS (SELECT 1 FROM ");
		sq_json_each(c, path, vp.alias);
		put(c, " WHERE CASE WHEN ");
		sq_elem_is_object(c, vp.alias);
		put(c, " THEN ");
		emit_node(c, n->kids[0], &vp, 1, depth + 1);
		put(c, D(c, " ELSE 0 END)", " ELSE FALSE END)"));
	} else if (f.at == SCIM_AT_JSON) {
		vp.kind = VP_JSON_OBJ;
		sq_json_path(c, vp.path, &f, NULL);
		if (c->pg)
			putf(c, "(CASE WHEN jsonb_typeof(jsonb_extract_path(%s, %s)) = 'object' THEN ",
			     doc_attrs(c), vp.path);
		else
			putf(c, "(CASE WHEN json_type(r.attrs, '%s') = 'object' THEN ", vp.path);
		emit_node(c, n->kids[0], &vp, pos, depth + 1);
		put(c, D(c, " ELSE 0 END)", " ELSE FALSE END)"));
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

/* One dialect's text of n into *where, its binds into c (freed by the caller). */
static ts_err compile_where(struct cx *c, const struct scim_rtype *t, const struct scimf_node *n,
                            int pg, struct scim_error *e, char **where)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->e = e;
	c->pg = pg;
	if (!n)
		put(c, D(c, "1", "TRUE"));
	else
		emit_node(c, n, NULL, 1, 0);
	*where = jbuf_take(&c->b, NULL);
	if (c->err == TS_OK && !*where)
		c->err = TS_SERVER_ERROR;
	return c->err;
}

static void binds_free(struct scim_bind *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(b[i].text);
	free(b);
}

/* Both dialects from one walk each: the same binds in the same order (the walk does not depend
 * on the dialect, only the text does), which the second walk checks. */
ts_err scim_sql_where(const struct scim_rtype *t, const struct scimf_node *n, struct scim_sql *q,
                      struct scim_error *e)
{
	struct cx c, c2;
	ts_err err;

	memset(q, 0, sizeof *q);
	if (!t)
		return TS_SERVER_ERROR;
	err = compile_where(&c, t, n, 0, e, &q->where);
	if (!err) {
		err = compile_where(&c2, t, n, 1, e, &q->where_pg);
		if (!err && c2.nbinds != c.nbinds)
			err = TS_SERVER_ERROR;
		binds_free(c2.binds, c2.nbinds);
	}
	if (err != TS_OK) {
		free(q->where);
		free(q->where_pg);
		q->where = q->where_pg = NULL;
		binds_free(c.binds, c.nbinds);
		return err;
	}
	q->binds = c.binds;
	q->nbinds = c.nbinds;
	return TS_OK;
}

/* ---- sortBy ---- */

/* The start of a PostgreSQL sort key of the JSON value x.j (the caller writes the FROM item x):
 * SQLite's json_extract gives numbers (and booleans, as 1 and 0) that sort before any text, and
 * JSON null as NULL; a record (class, number, text) sorts the same way on PostgreSQL, NULL for
 * null or nothing. lo, lc: the text's lower( and its collation. */
static void json_key(struct cx *c, const char *lo, const char *lc)
{
	putf(c, "(SELECT CASE WHEN x.j IS NULL OR jsonb_typeof(x.j) = 'null' THEN NULL "
	     "WHEN jsonb_typeof(x.j) = 'number' THEN ROW(1, CAST(x.j #>> '{}' AS numeric), "
	     "CAST(NULL AS text)) WHEN jsonb_typeof(x.j) = 'boolean' THEN ROW(1, CAST(CASE WHEN "
	     "x.j = CAST('true' AS jsonb) THEN 1 ELSE 0 END AS numeric), CAST(NULL AS text)) "
	     "ELSE ROW(2, CAST(NULL AS numeric), %s(x.j #>> '{}')%s) END FROM ", lo, lc);
}

/* The ORDER BY expression of resolved attribute f (sub-attribute d of it, or f's attribute).
 * Case-insensitive text sorts as SQLite's NOCASE does: on PostgreSQL by lower() under the "C"
 * collation (ASCII letters folded, bytes compared); case-exact text by its bytes. */
static void order_expr(struct cx *c, const struct scim_found *f, const struct scim_attr_def *d,
                       const char *sub_sql)
{
	int text = sq_is_text_type(d->type), nocase = text && !d->case_exact;
	const char *nc = nocase ? " COLLATE NOCASE" : "";
	const char *lo = c->pg && nocase ? "lower(" : "";
	const char *lc = !c->pg || !text ? "" : nocase ? " COLLATE \"C\")" : " COLLATE \"C\"";
	char path[EXPR_MAX];

	if (!c->pg) {
		/* lo and lc are empty */
	} else if (f->at == SCIM_AT_LIST) {
		putf(c, "%ssplit_part(%s, ' ', 1)%s", lo, f->sql, lc);
		return;
	} else if (f->at == SCIM_AT_ROWS) {
		putf(c, "(SELECT %se.%s%s FROM (%s) AS e ORDER BY 1 NULLS FIRST LIMIT 1)", lo, sub_sql,
		     lc, f->sql);
		return;
	} else if (f->attr->multi && f->attr->type == SCIM_COMPLEX) {
		sq_json_path(c, path, f, NULL);
		if (!sq_path_safe(d->name))
			c->err = TS_SERVER_ERROR;
		json_key(c, lo, lc);
		putf(c, "(SELECT CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value -> '%s' END AS j "
		     "FROM jsonb_path_query(jsonb_extract_path(%s, %s), '$[*]') WITH ORDINALITY AS "
		     "e(value, key) ORDER BY (CASE WHEN jsonb_typeof(e.value) = 'object' THEN "
		     "e.value -> 'primary' END) IS DISTINCT FROM CAST('true' AS jsonb), e.key LIMIT 1) "
		     "AS x)", d->name, doc_attrs(c), path);
		return;
	} else if (f->attr->multi) {
		sq_json_path(c, path, f, NULL);
		json_key(c, lo, lc);
		putf(c, "(SELECT e.value AS j FROM jsonb_path_query(jsonb_extract_path(%s, %s), '$[*]') "
		     "WITH ORDINALITY AS e(value, key) ORDER BY e.key LIMIT 1) AS x)", doc_attrs(c),
		     path);
		return;
	} else if (f->at != SCIM_AT_COLUMN) {
		sq_json_path(c, path, f, d != f->attr ? d->name : NULL);
		json_key(c, lo, lc);
		putf(c, "(SELECT jsonb_extract_path(%s, %s) AS j) AS x)", doc_attrs(c), path);
		return;
	} else {
		putf(c, "%s%s%s", lo, f->sub ? f->sub_sql : f->sql, lc);
		return;
	}
	if (f->at == SCIM_AT_COLUMN) {
		putf(c, "%s%s", f->sub ? f->sub_sql : f->sql, nc);
	} else if (f->at == SCIM_AT_LIST) { /* the first word */
		putf(c, "substr(%s, 1, instr(%s || ' ', ' ') - 1)%s", f->sql, f->sql, nc);
	} else if (f->at == SCIM_AT_ROWS) { /* no order among the rows: the least */
		putf(c, "(SELECT e.%s FROM (%s) AS e ORDER BY e.%s%s LIMIT 1)%s", sub_sql, f->sql,
		     sub_sql, nc, nc);
	} else if (f->attr->multi && f->attr->type == SCIM_COMPLEX) {
		sq_json_path(c, path, f, NULL);
		if (!sq_path_safe(d->name))
			c->err = TS_SERVER_ERROR;
		putf(c, "(SELECT CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.%s') END "
		     "FROM json_each(r.attrs, '%s') AS e ORDER BY CASE WHEN e.type = 'object' THEN "
		     "json_type(e.value, '$.primary') END IS NOT 'true', e.key LIMIT 1)%s", d->name, path,
		     nc);
	} else if (f->attr->multi) {
		sq_json_path(c, path, f, NULL);
		putf(c, "(SELECT e.value FROM json_each(r.attrs, '%s') AS e ORDER BY e.key LIMIT 1)%s",
		     path, nc);
	} else {
		sq_json_path(c, path, f, d != f->attr ? d->name : NULL);
		putf(c, "json_extract(r.attrs, '%s')%s", path, nc);
	}
}

ts_err scim_sql_order(const struct scim_rtype *t, const char *sort_by, char **order,
                      struct scim_error *e)
{
	return scim_sql_order_in(t, sort_by, 0, order, e);
}

ts_err scim_sql_order_in(const struct scim_rtype *t, const char *sort_by, int pg, char **order,
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
	c.pg = pg;
	order_expr(&c, &f, d, sub_sql);
	*order = jbuf_take(&c.b, NULL);
	if (c.err != TS_OK || !*order) {
		free(*order);
		*order = NULL;
		return TS_SERVER_ERROR;
	}
	return TS_OK;
}
