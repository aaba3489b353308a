/* store_sessions.c - the SQL of browser sessions (see store.h). */
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum { Q_ADD, Q_GET, Q_REMOVE, Q_PURGE, Q_COUNT };

#define SESSION_COLS "id_hash, user_id, auth_time, created_at, expires_at"

const struct db_sql store_session_sql[] = {
	[Q_ADD] = {"INSERT INTO sessions (" SESSION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)", NULL, 0},
	/* a disabled user's session is no session (008 also deletes it when the user is disabled) */
	[Q_GET] = {"SELECT " SESSION_COLS " FROM sessions "
		"WHERE id_hash = ?1 AND expires_at > ?2 "
		"AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.active = 1)",
		NULL, 0},
	[Q_REMOVE] = {"DELETE FROM sessions WHERE id_hash = ?1", NULL, 0},
	[Q_PURGE] = {"DELETE FROM sessions WHERE expires_at <= ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_session_sql[id])

ts_err store_session_add(store *s, const struct session *se)
{
	if (!se)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_ADD), ARGS(DB_B(se->hash, sizeof(se->hash)), DB_I(se->user_id),
		DB_I(se->auth_time), DB_I(se->created_at), DB_I(se->expires_at)));
}

static ts_err session_read(db_stmt *st, void *out)
{
	struct session *se = out;
	ts_err e = store_col_hash(st, 0, se->hash);

	if (!e) {
		se->user_id = db_int(st, 1);
		se->auth_time = db_int(st, 2);
		se->created_at = db_int(st, 3);
		se->expires_at = db_int(st, 4);
	}
	return e;
}

ts_err store_session_get(store *s, const unsigned char hash[32], int64_t now, struct session *out)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!hash || !out)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_GET), ARGS(DB_B(hash, 32), DB_I(now)), session_read, out);
}

ts_err store_session_remove(store *s, const unsigned char hash[32])
{
	return hash ? store_change(s, Q(Q_REMOVE), ARGS(DB_B(hash, 32))) : TS_SERVER_ERROR;
}

ts_err store_sessions_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(now)));
}
