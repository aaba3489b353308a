/* store_priv.h - what store.c lends store_scim.c; nothing else includes it. */
#ifndef TESSERA_STORE_PRIV_H
#define TESSERA_STORE_PRIV_H

#include <sqlite3.h>
#include "store.h"

/* Bind helpers: each does nothing once rc holds an error, so a run of binds is checked once. */
static inline int bind_text(sqlite3_stmt *st, int i, const char *v, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static inline int bind_int(sqlite3_stmt *st, int i, int64_t v, int rc)
{
	return rc != SQLITE_OK ? rc : sqlite3_bind_int64(st, i, v);
}

/* "" for NULL, for NOT NULL text columns */
static inline const char *nz(const char *v)
{
	return v ? v : "";
}

sqlite3 *store_sqlite(store *s);
/* The ts_err of a failed SQLite result code (never TS_OK). */
ts_err store_rc_err(int rc);
/* Text column i into *out (malloc'd; NULL column: NULL when nullable, else ""); -1 on OOM. */
int store_col_text(sqlite3_stmt *st, int i, int nullable, char **out);
/* A statement prepared once per connection and kept, for fixed SQL text (sql must be a string
 * literal: it is the key); the caller resets it (store_stmt_done) before returning. */
ts_err store_stmt(store *s, const char *sql, sqlite3_stmt **out);
void store_stmt_done(sqlite3_stmt *st);
/* A statement for SQL text made at run time, from a small per-connection cache keyed by the text
 * (prepared on a miss); reset it with store_stmt_done, never finalize it. */
ts_err store_stmt_text(store *s, const char *sql, sqlite3_stmt **out);
/* Runs st (bound by the caller, rc the binds' result) as an UPDATE/DELETE of one row by key:
 * TS_NOT_FOUND when it changed nothing. */
ts_err store_run_changes(store *s, sqlite3_stmt *st, int rc);
/* Writes that must land together: see tx_start in store.c. */
ts_err store_tx_start(store *s, int *nested);
ts_err store_tx_end(store *s, int nested);
void store_tx_abort(store *s, int nested);
/* The row readers of store.c, for rows of USER_COLS / CLIENT_COLS / GRANT_COLS. */
ts_err store_user_read(sqlite3_stmt *st, struct user **out);
ts_err store_client_read(sqlite3_stmt *st, struct client **out);
ts_err store_grant_read(sqlite3_stmt *st, struct grant **out);
extern const char store_user_cols[], store_client_cols[], store_grant_cols[];

#endif
