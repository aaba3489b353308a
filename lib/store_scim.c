/* store_scim.c - the SQL of SCIM administration (see store.h): groups and their members, and the
 * list queries whose conditions scim_sql.c compiles (full updates of users and clients are in
 * store_users.c and store_clients.c). The conditions are SQL text made only of fixed fragments
 * with ?N placeholders; every value reaches the database as a bound parameter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim_sql.h"
#include "store.h"
#include "store_priv.h"

enum {
	Q_GROUP_GET, Q_GROUP_ADD, Q_GROUP_PUT, Q_GROUP_REMOVE, Q_MEMBERS_CLEAR, Q_MEMBER_ADD,
	Q_GROUP_TOUCH, Q_COUNT
};

#define GROUP_COLS "r.id, r.display_name, r.external_id, r.scope, r.created_at, r.updated_at, " \
	"(SELECT json_group_array(json_object('value', CAST(u.id AS TEXT), 'display', " \
	"u.username)) FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = r.id)"
/* The same text on PostgreSQL (see USER_COLS_PG): members by user, as SQLite's key gives them. */
#define GROUP_COLS_PG "r.id, r.display_name, r.external_id, r.scope, r.created_at, r.updated_at, " \
	"coalesce((SELECT '[' || string_agg('{\"value\":' || CAST(to_json(CAST(u.id AS TEXT)) AS " \
	"TEXT) || ',\"display\":' || CAST(to_json(u.username) AS TEXT) || '}', ',' ORDER BY " \
	"m.user_id) || ']' FROM group_members m JOIN users u ON u.id = m.user_id " \
	"WHERE m.group_id = r.id), '[]')"

const struct db_sql store_scim_sql[] = {
	[Q_GROUP_GET] = {"SELECT " GROUP_COLS " FROM groups r WHERE r.id = ?1",
		"SELECT " GROUP_COLS_PG " FROM groups r WHERE r.id = ?1", 0},
	[Q_GROUP_ADD] = {"INSERT INTO groups (display_name, external_id, scope, created_at, "
		"updated_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id", NULL, 0},
	[Q_GROUP_PUT] = {"UPDATE groups SET display_name = ?2, external_id = ?3, scope = ?4, "
		"updated_at = ?5 WHERE id = ?1", NULL, 0},
	[Q_GROUP_REMOVE] = {"DELETE FROM groups WHERE id = ?1", NULL, 0},
	[Q_MEMBERS_CLEAR] = {"DELETE FROM group_members WHERE group_id = ?1", NULL, 0},
	[Q_MEMBER_ADD] = {"INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) "
		"ON CONFLICT DO NOTHING", NULL, 0},
	[Q_GROUP_TOUCH] = {"UPDATE groups SET updated_at = ?2 WHERE id = ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_scim_sql[id])

/* --- groups --- */

void store_group_free(struct group *g)
{
	if (!g)
		return;
	free(g->display_name);
	free(g->external_id);
	free(g->scope);
	free(g->members);
	free(g);
}

static ts_err group_read(db_stmt *st, void *out)
{
	struct group *g = calloc(1, sizeof *g);

	*(struct group **)out = NULL;
	if (!g)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 1, 0, &g->display_name) ||
	    store_col_text(st, 2, 1, &g->external_id) || store_col_text(st, 3, 0, &g->scope) ||
	    store_col_text(st, 6, 0, &g->members)) {
		store_group_free(g);
		return TS_SERVER_ERROR;
	}
	g->id = db_int(st, 0);
	g->created_at = db_int(st, 4);
	g->updated_at = db_int(st, 5);
	*(struct group **)out = g;
	return TS_OK;
}

STORE_KIND(static, group_kind, struct group, group_read, store_group_free);

ts_err store_group_get(store *s, int64_t id, struct group **out)
{
	if (!out)
		return TS_SERVER_ERROR;
	*out = NULL;
	return store_get(s, Q(Q_GROUP_GET), ARGS(DB_I(id)), &group_kind, out);
}

ts_err store_group_add(store *s, struct group *g)
{
	if (!g || !g->display_name)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_GROUP_ADD), ARGS(DB_T(g->display_name), DB_T(g->external_id),
		DB_T(nz(g->scope)), DB_I(g->created_at), DB_I(g->updated_at)), store_read_int, &g->id);
}

ts_err store_group_put(store *s, const struct group *g)
{
	if (!g || !g->display_name)
		return TS_SERVER_ERROR;
	return store_change(s, Q(Q_GROUP_PUT), ARGS(DB_I(g->id), DB_T(g->display_name),
		DB_T(g->external_id), DB_T(nz(g->scope)), DB_I(g->updated_at)));
}

ts_err store_group_remove(store *s, int64_t id)
{
	return store_change(s, Q(Q_GROUP_REMOVE), ARGS(DB_I(id)));
}

ts_err store_group_set_members(store *s, int64_t group_id, const int64_t *ids, size_t n,
                               int64_t now)
{
	ts_err e;
	size_t i;
	int nested;

	if (!s || (n && !ids))
		return TS_SERVER_ERROR;
	if ((e = store_tx_start(s, &nested)))
		return e;
	e = store_change(s, Q(Q_GROUP_TOUCH), ARGS(DB_I(group_id), DB_I(now)));
	if (!e)
		e = store_run(s, Q(Q_MEMBERS_CLEAR), ARGS(DB_I(group_id)));
	for (i = 0; !e && i < n; i++)
		e = store_run(s, Q(Q_MEMBER_ADD), ARGS(DB_I(group_id), DB_I(ids[i])));
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

/* --- lists --- */

/* cols_pg: PostgreSQL's text of cols (NULL: cols serves); key, key_pg: the order among equals
 * on SQLite (NULL: r.rowid, which is r.id where there is one) and on PostgreSQL. Clients have
 * no number: by creation, then id (bytes compared, as SQLite's BINARY). */
struct list_kind {
	const char *cols, *from, *fixed; /* fixed: a condition every row must meet, or NULL */
	const char *cols_pg, *key, *key_pg;
};

static const struct list_kind kinds[SCIM_R_COUNT] = {
	[SCIM_R_USER] = {USER_COLS, "users r", NULL, USER_COLS_PG, NULL, "r.id"},
	[SCIM_R_GROUP] = {GROUP_COLS, "groups r", NULL, GROUP_COLS_PG, NULL, "r.id"},
	[SCIM_R_CLIENT] = {CLIENT_COLS, "clients r", NULL, NULL, "r.created_at, r.client_id",
		"r.created_at, r.client_id COLLATE \"C\""},
	/* a grant with its username (the column after GRANT_COLS) */
	[SCIM_R_GRANT] = {"r.id, r.client_id, r.user_id, r.scope, r.created_at, r.updated_at, "
		"r.revoked_at, r.client_record, u.username",
		"grants r LEFT JOIN users u ON u.id = r.user_id", "r.revoked_at IS NULL", NULL, NULL,
		"r.id"},
};

/* A grant with its username (the column after GRANT_COLS). */
static ts_err scim_grant_read(db_stmt *st, void *out)
{
	ts_err e = store_grant_kind.read(st, out);
	struct grant *g = *(struct grant **)out;

	if (!e && store_col_text(st, 8, 1, &g->username)) {
		store_grant_free(g);
		*(struct grant **)out = NULL;
		e = TS_SERVER_ERROR;
	}
	return e;
}

/* The values to bind: q's, then (for a page) its LIMIT and OFFSET; malloc'd. */
static struct db_val *list_values(const struct store_list *q, int count, size_t *n)
{
	struct db_val *v = malloc((q->nbinds + 2) * sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < q->nbinds; i++) {
		const struct scim_bind *b = &q->binds[i];

		v[i] = b->type == SCIM_BIND_TEXT ? DB_T(b->text) : b->type == SCIM_BIND_INT ? DB_I(b->i) :
		       b->type == SCIM_BIND_REAL ? DB_R(b->d) : DB_NUL;
	}
	v[i++] = DB_I(q->limit);
	v[i++] = DB_I(q->offset);
	*n = count ? q->nbinds : i;
	return v;
}

/* The SQL "SELECT what FROM k->from WHERE ..." (what NULL: k->cols, then ORDER BY and
 * LIMIT / OFFSET; else a count), malloc'd; in PostgreSQL's dialect when pg: the texts of
 * scim_sql_where and scim_sql_order_in, TRUE for SQLite's 1 (PostgreSQL refuses an integer as a
 * condition), NULLs where SQLite puts them (first ascending, last descending). */
static char *list_sql(const struct list_kind *k, const struct store_list *q, int count, int pg)
{
	const char *cols = pg && k->cols_pg ? k->cols_pg : k->cols;
	const char *where = pg && q->where_pg ? q->where_pg : q->where;
	const char *order = pg && q->order_pg ? q->order_pg : q->order;
	const char *key = pg ? k->key_pg : k->key ? k->key : "r.rowid";
	const char *nulls = !pg || !order ? "" : q->descending ? " NULLS LAST" : " NULLS FIRST";
	const char *yes = pg ? "TRUE" : "1";
	size_t n = strlen(cols) + strlen(k->from) + (k->fixed ? strlen(k->fixed) : 0) +
	           strlen(where ? where : yes) + (order ? strlen(order) : 0) + strlen(key) * 2 + 160;
	char *sql = malloc(n);
	int len;

	if (!sql)
		return NULL;
	len = snprintf(sql, n, "SELECT %s FROM %s WHERE (%s) AND (%s)", count ? "count(*)" : cols,
	               k->from, k->fixed ? k->fixed : yes, where ? where : yes);
	if (!count)
		snprintf(sql + len, n - (size_t)len, " ORDER BY %s%s%s, %s LIMIT ?%zu OFFSET ?%zu",
		         order ? order : key, q->descending ? " DESC" : "", nulls, key, q->nbinds + 1,
		         q->nbinds + 2);
	return sql;
}

/* One query of a list: the page (count 0, fn called on each row, *got set to their number) or
 * the count of all matches into *got. */
static ts_err list_query(store *s, const struct list_kind *k, const struct store_kind *kind,
                         const struct store_list *q, int count, void (*fn)(void), void *arg,
                         int64_t *got)
{
	struct db_sql made = {list_sql(k, q, count, 0), list_sql(k, q, count, 1), 1};
	struct db_val *v;
	size_t n = 0;
	ts_err e = TS_SERVER_ERROR;

	v = made.sql && made.pg ? list_values(q, count, &n) : NULL;
	if (v && count)
		e = store_one(s, &made, v, n, store_read_int, got);
	else if (v)
		e = store_each_rows(s, &made, v, n, kind, fn, arg, got);
	free(v);
	free((char *)made.sql);
	free((char *)made.pg);
	return e;
}

char *store_scim_list_sql(int t, const struct store_list *q, int pg)
{
	return t >= 0 && t < SCIM_R_COUNT ? list_sql(&kinds[t], q, 0, pg) : NULL;
}

static ts_err list_run(store *s, enum scim_rtype_id t, const struct store_kind *kind,
                       const struct store_list *q, int64_t *total, void (*fn)(void), void *arg)
{
	const struct list_kind *k = &kinds[t];
	int64_t got = 0;
	ts_err e;

	if (!s || !q || !total || q->offset < 0 || q->limit < 0 || !fn)
		return TS_SERVER_ERROR;
	*total = 0;
	if (q->limit > 0) {
		if ((e = list_query(s, k, kind, q, 0, fn, arg, &got)))
			return e;
		/* a first page that is not full holds every match: no need to count them */
		if (q->offset == 0 && got < q->limit) {
			*total = got;
			return TS_OK;
		}
	}
	e = list_query(s, k, kind, q, 1, NULL, NULL, total);
	return e == TS_NOT_FOUND ? TS_SERVER_ERROR : e;
}

ts_err store_scim_users(store *s, const struct store_list *q, int64_t *total,
                        int (*fn)(const struct user *u, void *arg), void *arg)
{
	return list_run(s, SCIM_R_USER, &store_user_kind, q, total, (void (*)(void))fn, arg);
}

ts_err store_scim_groups(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct group *g, void *arg), void *arg)
{
	return list_run(s, SCIM_R_GROUP, &group_kind, q, total, (void (*)(void))fn, arg);
}

ts_err store_scim_clients(store *s, const struct store_list *q, int64_t *total,
                          int (*fn)(const struct client *c, void *arg), void *arg)
{
	return list_run(s, SCIM_R_CLIENT, &store_client_kind, q, total, (void (*)(void))fn, arg);
}

ts_err store_scim_grants(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct grant *g, void *arg), void *arg)
{
	const struct store_kind grant_kind = {scim_grant_read, store_grant_kind.release,
	                                      store_grant_kind.call};

	return list_run(s, SCIM_R_GRANT, &grant_kind, q, total, (void (*)(void))fn, arg);
}
