/* store_changes.c - the SQL of the change feed (see store.h; the rows are written by the
 * triggers of schema/010_changes.sql). */
#include "store.h"
#include "store_priv.h"

enum { Q_LAST, Q_FIRST, Q_AFTER, Q_PURGE, Q_COUNT };

const struct db_sql store_change_sql[] = {
	/* the highest id ever handed out, kept by AUTOINCREMENT even when its row is purged */
	[Q_LAST] = {"SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)",
		/* (PostgreSQL: the newest row, else the sequence, which another transaction may
		 * have moved past rows not yet committed) */
		"SELECT coalesce((SELECT max(id) FROM changes), (SELECT CASE WHEN is_called "
		"THEN last_value ELSE 0 END FROM changes_id_seq))", 0},
	[Q_FIRST] = {"SELECT min(id) FROM changes", NULL, 0},
	[Q_AFTER] = {"SELECT id, kind, grant_id, client_id, sub, jti, scope, revoked, removed FROM changes "
		"WHERE id > ?1 ORDER BY id LIMIT ?2",
		NULL, 0},
	[Q_PURGE] = {"DELETE FROM changes WHERE at < ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_change_sql[id])

ts_err store_changes_bounds(store *s, int64_t *first, int64_t *last)
{
	ts_err e;

	*first = *last = 0;
	if ((e = store_one(s, Q(Q_LAST), NOARGS, store_read_int, last)))
		return e;
	e = store_one(s, Q(Q_FIRST), NOARGS, store_read_int, first);
	if (e == TS_OK && *first == 0) /* min() of no rows: NULL, read as 0 */
		*first = *last + 1;
	return e;
}

struct after_ctx {
	ts_err (*fn)(void *arg, const struct change *c);
	void *arg;
};

static ts_err after_row(db_stmt *st, void *ctx)
{
	struct after_ctx *a = ctx;
	struct change c = {0};

	c.id = db_int(st, 0);
	c.kind = db_text(st, 1);
	c.grant_id = db_int(st, 2);
	c.client_id = db_text(st, 3);
	c.sub = db_text(st, 4);
	c.jti = db_text(st, 5);
	c.scope = db_text(st, 6);
	c.revoked = db_int(st, 7) != 0;
	c.removed = db_int(st, 8) != 0;
	if (!c.kind)
		return TS_SERVER_ERROR;
	return a->fn(a->arg, &c);
}

ts_err store_changes_after(store *s, int64_t after, int max,
                           ts_err (*fn)(void *arg, const struct change *c), void *arg)
{
	struct after_ctx a = {fn, arg};

	return store_rows(s, Q(Q_AFTER), ARGS(DB_I(after), DB_I(max)), after_row, &a);
}

ts_err store_changes_purge(store *s, int64_t before)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(before)));
}
