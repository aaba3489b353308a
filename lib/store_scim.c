/* store_scim.c - the SQL of SCIM administration (see store.h): full updates of users and
 * clients, groups and their members, and the list queries whose conditions scim_sql.c compiles.
 * The conditions are SQL text made only of fixed fragments with ?N placeholders; every value
 * reaches SQLite as a bound parameter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim_sql.h"
#include "store.h"
#include "store_priv.h"

/* --- users and clients --- */

static const char sql_user_put[] =
	"UPDATE users SET username = ?2, email = ?3, name = ?4, scope = ?5, active = ?6, "
	"updated_at = ?7, external_id = ?8, attrs = ?9, "
	"password_hash = CASE WHEN ?10 THEN ?11 ELSE password_hash END WHERE id = ?1";

ts_err store_user_put(store *s, const struct user *u, int set_password)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !u || !u->username)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_user_put, &st)))
		return e;
	rc = bind_int(st, 1, u->id, SQLITE_OK);
	rc = bind_text(st, 2, u->username, rc);
	rc = bind_text(st, 3, u->email, rc);
	rc = bind_text(st, 4, u->name, rc);
	rc = bind_text(st, 5, nz(u->scope), rc);
	rc = bind_int(st, 6, u->active != 0, rc);
	rc = bind_int(st, 7, u->updated_at, rc);
	rc = bind_text(st, 8, u->external_id, rc);
	rc = bind_text(st, 9, u->attrs ? u->attrs : "{}", rc);
	rc = bind_int(st, 10, set_password != 0, rc);
	rc = bind_text(st, 11, u->password_hash, rc);
	return store_run_changes(s, st, rc);
}

static const char sql_user_remove_id[] = "DELETE FROM users WHERE id = ?1";

ts_err store_user_remove_id(store *s, int64_t id)
{
	sqlite3_stmt *st;
	ts_err e;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_user_remove_id, &st)))
		return e;
	return store_run_changes(s, st, bind_int(st, 1, id, SQLITE_OK));
}

static const char sql_client_put[] =
	"UPDATE clients SET name = ?2, is_public = ?3, "
	"secret_hash = CASE WHEN ?4 THEN ?5 ELSE secret_hash END, redirect_uris = ?6, "
	"grant_types = ?7, scope = ?8, refresh_rotation = ?9, refresh_grace = ?10, active = ?11, "
	"updated_at = ?12, refresh_idle_ttl = ?13, grant_lifetime = ?14, external_id = ?15, "
	"post_logout_redirect_uris = ?16 "
	"WHERE client_id = ?1";

ts_err store_client_put(store *s, const struct client *c, int set_secret)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !c || !c->client_id)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_client_put, &st)))
		return e;
	rc = bind_text(st, 1, c->client_id, SQLITE_OK);
	rc = bind_text(st, 2, nz(c->name), rc);
	rc = bind_int(st, 3, c->is_public != 0, rc);
	rc = bind_int(st, 4, set_secret != 0, rc);
	if (rc == SQLITE_OK)
		rc = c->is_public ? sqlite3_bind_null(st, 5) :
		     sqlite3_bind_blob(st, 5, c->secret_hash, sizeof c->secret_hash, SQLITE_STATIC);
	rc = bind_text(st, 6, nz(c->redirect_uris), rc);
	rc = bind_text(st, 7, nz(c->grant_types), rc);
	rc = bind_text(st, 8, nz(c->scope), rc);
	rc = bind_int(st, 9, c->refresh_rotation != 0, rc);
	rc = bind_int(st, 10, c->refresh_grace, rc);
	rc = bind_int(st, 11, c->active != 0, rc);
	rc = bind_int(st, 12, c->updated_at, rc);
	rc = bind_int(st, 13, c->refresh_idle_ttl, rc);
	rc = bind_int(st, 14, c->grant_lifetime, rc);
	rc = bind_text(st, 15, c->external_id, rc);
	rc = bind_text(st, 16, nz(c->post_logout_redirect_uris), rc);
	return store_run_changes(s, st, rc);
}

/* --- groups --- */

#define GROUP_COLS "r.id, r.display_name, r.external_id, r.scope, r.created_at, r.updated_at, " \
	"(SELECT json_group_array(json_object('value', CAST(u.id AS TEXT), 'display', " \
	"u.username)) FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = r.id)"

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

static ts_err group_read(sqlite3_stmt *st, struct group **out)
{
	struct group *g = calloc(1, sizeof *g);

	*out = NULL;
	if (!g)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 1, 0, &g->display_name) ||
	    store_col_text(st, 2, 1, &g->external_id) || store_col_text(st, 3, 0, &g->scope) ||
	    store_col_text(st, 6, 0, &g->members)) {
		store_group_free(g);
		return TS_SERVER_ERROR;
	}
	g->id = sqlite3_column_int64(st, 0);
	g->created_at = sqlite3_column_int64(st, 4);
	g->updated_at = sqlite3_column_int64(st, 5);
	*out = g;
	return TS_OK;
}

static const char sql_group_get[] = "SELECT " GROUP_COLS " FROM groups r WHERE r.id = ?1";

ts_err store_group_get(store *s, int64_t id, struct group **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_group_get, &st)))
		return e;
	rc = bind_int(st, 1, id, SQLITE_OK);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = group_read(st, out);
	else
		e = rc == SQLITE_DONE ? TS_NOT_FOUND : store_rc_err(rc);
	store_stmt_done(st);
	return e;
}

static const char sql_group_add[] =
	"INSERT INTO groups (display_name, external_id, scope, created_at, updated_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5)";

ts_err store_group_add(store *s, struct group *g)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !g || !g->display_name)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_group_add, &st)))
		return e;
	rc = bind_text(st, 1, g->display_name, SQLITE_OK);
	rc = bind_text(st, 2, g->external_id, rc);
	rc = bind_text(st, 3, nz(g->scope), rc);
	rc = bind_int(st, 4, g->created_at, rc);
	rc = bind_int(st, 5, g->updated_at, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	e = rc == SQLITE_DONE ? TS_OK : store_rc_err(rc);
	store_stmt_done(st);
	if (!e)
		g->id = sqlite3_last_insert_rowid(store_sqlite(s));
	return e;
}

static const char sql_group_put[] =
	"UPDATE groups SET display_name = ?2, external_id = ?3, scope = ?4, updated_at = ?5 "
	"WHERE id = ?1";

ts_err store_group_put(store *s, const struct group *g)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !g || !g->display_name)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_group_put, &st)))
		return e;
	rc = bind_int(st, 1, g->id, SQLITE_OK);
	rc = bind_text(st, 2, g->display_name, rc);
	rc = bind_text(st, 3, g->external_id, rc);
	rc = bind_text(st, 4, nz(g->scope), rc);
	rc = bind_int(st, 5, g->updated_at, rc);
	return store_run_changes(s, st, rc);
}

static const char sql_group_remove[] = "DELETE FROM groups WHERE id = ?1";

ts_err store_group_remove(store *s, int64_t id)
{
	sqlite3_stmt *st;
	ts_err e;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = store_stmt(s, sql_group_remove, &st)))
		return e;
	return store_run_changes(s, st, bind_int(st, 1, id, SQLITE_OK));
}

static const char sql_members_clear[] = "DELETE FROM group_members WHERE group_id = ?1";
static const char sql_member_add[] =
	"INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char sql_group_touch[] = "UPDATE groups SET updated_at = ?2 WHERE id = ?1";

/* Runs the fixed statement sql with the integer parameter a, and b when nb is 2. */
static ts_err run2(store *s, const char *sql, int64_t a, int64_t b, int nb)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if ((e = store_stmt(s, sql, &st)))
		return e;
	rc = bind_int(st, 1, a, SQLITE_OK);
	if (nb > 1)
		rc = bind_int(st, 2, b, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	e = rc == SQLITE_DONE ? TS_OK : store_rc_err(rc);
	store_stmt_done(st);
	return e;
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
	e = run2(s, sql_group_touch, group_id, now, 2);
	if (!e && sqlite3_changes(store_sqlite(s)) == 0)
		e = TS_NOT_FOUND;
	if (!e)
		e = run2(s, sql_members_clear, group_id, 0, 1);
	for (i = 0; !e && i < n; i++)
		e = run2(s, sql_member_add, group_id, ids[i], 2);
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

/* --- lists --- */

/* The caller's callback, typed: the one member that matches the list's kind is set. */
struct list_fn {
	int (*user)(const struct user *u, void *arg);
	int (*group)(const struct group *g, void *arg);
	int (*client)(const struct client *c, void *arg);
	int (*grant)(const struct grant *g, void *arg);
	void *arg;
};

struct list_kind {
	const char *cols, *from, *fixed; /* fixed: a condition every row must meet, or NULL */
	ts_err (*row)(sqlite3_stmt *st, const struct list_fn *fn);
};

static ts_err user_row(sqlite3_stmt *st, const struct list_fn *fn)
{
	struct user *u;
	ts_err e = store_user_read(st, &u);
	int r;

	if (e)
		return e;
	r = fn->user(u, fn->arg);
	store_user_free(u);
	return r ? TS_SERVER_ERROR : TS_OK;
}

static ts_err group_row(sqlite3_stmt *st, const struct list_fn *fn)
{
	struct group *g;
	ts_err e = group_read(st, &g);
	int r;

	if (e)
		return e;
	r = fn->group(g, fn->arg);
	store_group_free(g);
	return r ? TS_SERVER_ERROR : TS_OK;
}

static ts_err client_row(sqlite3_stmt *st, const struct list_fn *fn)
{
	struct client *c;
	ts_err e = store_client_read(st, &c);
	int r;

	if (e)
		return e;
	r = fn->client(c, fn->arg);
	store_client_free(c);
	return r ? TS_SERVER_ERROR : TS_OK;
}

static ts_err grant_row(sqlite3_stmt *st, const struct list_fn *fn)
{
	struct grant *g;
	ts_err e = store_grant_read(st, &g);
	int r;

	if (e)
		return e;
	if (store_col_text(st, 8, 1, &g->username)) {
		store_grant_free(g);
		return TS_SERVER_ERROR;
	}
	r = fn->grant(g, fn->arg);
	store_grant_free(g);
	return r ? TS_SERVER_ERROR : TS_OK;
}

static int bind_all(sqlite3_stmt *st, const struct scim_bind *b, size_t n)
{
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		switch (b[i].type) {
		case SCIM_BIND_TEXT:
			rc = sqlite3_bind_text(st, (int)i + 1, b[i].text, -1, SQLITE_STATIC);
			break;
		case SCIM_BIND_INT:
			rc = sqlite3_bind_int64(st, (int)i + 1, b[i].i);
			break;
		case SCIM_BIND_REAL:
			rc = sqlite3_bind_double(st, (int)i + 1, b[i].d);
			break;
		default:
			rc = sqlite3_bind_null(st, (int)i + 1);
		}
	}
	return rc;
}

/* Prepares the SQL "SELECT what FROM k->from WHERE ..." (what NULL: k->cols, then ORDER BY and
 * LIMIT / OFFSET; else a count) with q's parameters bound. */
static ts_err list_prepare(store *s, const struct list_kind *k, const struct store_list *q,
                           int count, sqlite3_stmt **st)
{
	size_t n = strlen(k->cols) + strlen(k->from) + (k->fixed ? strlen(k->fixed) : 0) +
	           strlen(q->where ? q->where : "1") + (q->order ? strlen(q->order) : 0) + 160;
	char *sql = malloc(n);
	int rc, len;
	ts_err e;

	*st = NULL;
	if (!sql)
		return TS_SERVER_ERROR;
	len = snprintf(sql, n, "SELECT %s FROM %s WHERE (%s) AND (%s)", count ? "count(*)" : k->cols,
	               k->from, k->fixed ? k->fixed : "1", q->where ? q->where : "1");
	if (!count)
		snprintf(sql + len, n - (size_t)len, " ORDER BY %s%s, r.rowid LIMIT ?%zu OFFSET ?%zu",
		         q->order ? q->order : "r.rowid", q->descending ? " DESC" : "",
		         q->nbinds + 1, q->nbinds + 2);
	e = store_stmt_text(s, sql, st);
	free(sql);
	if (e) {
		*st = NULL;
		return e;
	}
	rc = bind_all(*st, q->binds, q->nbinds);
	if (!count && rc == SQLITE_OK)
		rc = sqlite3_bind_int64(*st, (int)q->nbinds + 1, q->limit);
	if (!count && rc == SQLITE_OK)
		rc = sqlite3_bind_int64(*st, (int)q->nbinds + 2, q->offset);
	if (rc != SQLITE_OK) {
		store_stmt_done(*st);
		*st = NULL;
		return store_rc_err(rc);
	}
	return TS_OK;
}

static ts_err list_run(store *s, const struct list_kind *k, const struct store_list *q,
                       int64_t *total, const struct list_fn *fn)
{
	sqlite3_stmt *st = NULL;
	int64_t got = 0;
	ts_err e = TS_OK;
	int rc;

	if (!s || !q || !total || q->offset < 0 || q->limit < 0)
		return TS_SERVER_ERROR;
	*total = 0;
	if (q->limit > 0) {
		if ((e = list_prepare(s, k, q, 0, &st)))
			return e;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			got++;
			if ((e = k->row(st, fn)))
				break;
		}
		if (!e && rc != SQLITE_DONE)
			e = store_rc_err(rc);
		store_stmt_done(st);
		if (e)
			return e;
		/* a first page that is not full holds every match: no need to count them */
		if (q->offset == 0 && got < q->limit) {
			*total = got;
			return TS_OK;
		}
	}
	if ((e = list_prepare(s, k, q, 1, &st)))
		return e;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	else
		e = store_rc_err(rc);
	store_stmt_done(st);
	return e;
}

ts_err store_scim_users(store *s, const struct store_list *q, int64_t *total,
                        int (*fn)(const struct user *u, void *arg), void *arg)
{
	const struct list_kind k = {store_user_cols, "users r", NULL, user_row};
	const struct list_fn f = {.user = fn, .arg = arg};

	return fn ? list_run(s, &k, q, total, &f) : TS_SERVER_ERROR;
}

ts_err store_scim_groups(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct group *g, void *arg), void *arg)
{
	const struct list_kind k = {GROUP_COLS, "groups r", NULL, group_row};
	const struct list_fn f = {.group = fn, .arg = arg};

	return fn ? list_run(s, &k, q, total, &f) : TS_SERVER_ERROR;
}

ts_err store_scim_clients(store *s, const struct store_list *q, int64_t *total,
                          int (*fn)(const struct client *c, void *arg), void *arg)
{
	const struct list_kind k = {store_client_cols, "clients r", NULL, client_row};
	const struct list_fn f = {.client = fn, .arg = arg};

	return fn ? list_run(s, &k, q, total, &f) : TS_SERVER_ERROR;
}

ts_err store_scim_grants(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct grant *g, void *arg), void *arg)
{
	const struct list_kind k = {"r.id, r.client_id, r.user_id, r.scope, r.created_at, "
		"r.updated_at, r.revoked_at, r.client_record, u.username",
		"grants r LEFT JOIN users u ON u.id = r.user_id", "r.revoked_at IS NULL", grant_row};
	const struct list_fn f = {.grant = fn, .arg = arg};

	return fn ? list_run(s, &k, q, total, &f) : TS_SERVER_ERROR;
}
