/* db.h - the database seam: every SQL call of the store goes through it.
 *
 * The store (lib/store*.c) speaks SQL through this small interface; lib/db_sqlite.c implements it
 * on SQLite and is the only file that includes sqlite3.h; lib/db_pg.c and db_pg_stmt.c implement
 * it on PostgreSQL (libpq) and are the only ones that include libpq-fe.h. lib/db.c picks one by
 * what db_open is given (a file path, or a postgresql:// URI) and dispatches to it. The store's
 * statement tables give PostgreSQL's own text where the dialects differ (struct db_sql's `pg`).
 *
 * A connection (db) belongs to one thread at a time. Statements are prepared once and kept in the
 * connection's one statement cache (db_prepare); db_done hands a statement back (its bindings
 * cleared) and must be called before the function that prepared it returns. Every call that can
 * fail returns a ts_err (lib/err.h): the engine's "busy" or "locked" is TS_UNAVAILABLE, a unique
 * key taken TS_CONFLICT, a row naming one that does not exist (foreign key) TS_NOT_FOUND, a row a
 * trigger of the schema refuses (RAISE) TS_INVALID_REQUEST, anything else (out of memory, I/O
 * error, full disk, a bug) TS_SERVER_ERROR. */
#ifndef TESSERA_DB_H
#define TESSERA_DB_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef struct db db;            /* a connection */
typedef struct db_stmt db_stmt;  /* a prepared statement, owned by its connection's cache */

/* One statement of the store's statement tables. sql is written in the portable subset where it
 * can be, with ?N parameters (PostgreSQL's $N come from them); pg is PostgreSQL's own text where
 * the dialects differ (JSON1, NOCASE, max(a, b), ...), NULL where sql serves. made: the text was
 * made at run time (SCIM list queries) and is cached by its content, not by this entry's address. */
struct db_sql {
	const char *sql;
	const char *pg;
	int made;
};

/* A value to bind (DB_I, DB_T, ...). A NULL text or blob binds SQL NULL. */
enum db_type { DB_NULL, DB_INT, DB_REAL, DB_TEXT, DB_BLOB, DB_INT_OR_NULL };
struct db_val {
	enum db_type type;
	int64_t i;
	double d;
	const void *p;   /* text or blob, used during the statement's run only (not copied) */
	int n;           /* its length in bytes; -1: text up to its NUL */
};
#define DB_I(v)     ((struct db_val){DB_INT, (v), 0, NULL, 0})
#define DB_I0(v)    ((struct db_val){DB_INT_OR_NULL, (v), 0, NULL, 0}) /* 0 binds NULL */
#define DB_R(v)     ((struct db_val){DB_REAL, 0, (v), NULL, 0})
#define DB_T(s)     ((struct db_val){DB_TEXT, 0, 0, (s), -1})
#define DB_TN(s, k) ((struct db_val){DB_TEXT, 0, 0, (s), (k)})
#define DB_B(b, k)  ((struct db_val){DB_BLOB, 0, 0, (b), (k)})
#define DB_NUL      ((struct db_val){DB_NULL, 0, 0, NULL, 0})

/* --- connections --- */

enum db_dialect { DB_SQLITE, DB_PG };
/* 1 when path is a PostgreSQL connection URI (postgresql:// or postgres://). */
int db_is_uri(const char *path);
/* path as logs may show it: a URI's password replaced by ***; buf holds it when it is not path. */
const char *db_shown(const char *path, char *buf, size_t n);
/* Which engine d runs on (the schema's migrations differ). */
enum db_dialect db_dialect_of(db *d);

/* Opens (creating if needed, mode 0600) the database at path with the busy timeout busy_ms and
 * synchronous (0 OFF, 1 NORMAL, 2 FULL); *out is freed with db_close (NULL is fine). A
 * PostgreSQL URI connects (busy_ms: its lock_timeout; synchronous 2: synchronous_commit on, 0
 * and 1 off). */
ts_err db_open(const char *path, int busy_ms, int synchronous, db **out);
void db_close(db *d);
/* Runs a script of statements without parameters (the schema's migrations). */
ts_err db_exec(db *d, const char *sql);
/* The engine's message for the last error, for logs; never NULL. */
const char *db_errmsg(db *d);
/* How long a statement waits for a lock held by another connection (ms). */
void db_busy_timeout(db *d, int ms);

/* What the engine needs once per database, which another process opening it at the same moment
 * may be doing too (SQLite: WAL mode; TS_UNAVAILABLE then, and the caller tries again). */
ts_err db_setup(db *d);
/* The schema version the database records (SQLite: PRAGMA user_version), and its setting, which
 * belongs in the migration's transaction. */
ts_err db_schema_version(db *d, int *v);
ts_err db_set_schema_version(db *d, int v);
/* A number that changes exactly when another connection committed since the last call. */
ts_err db_data_version(db *d, int64_t *v);
/* The synchronous setting in force (0 OFF .. 3 EXTRA), read back from the engine; -1 on error. */
int db_synchronous(db *d);
/* For the one connection that does all the daemon's writing: see db_sqlite.c (WAL checkpoints). */
void db_tune_writer(db *d, int checkpoint_pages);

/* --- statements --- */

/* The statement q from the connection's one cache, prepared on a miss. When that statement is
 * still being stepped further up the stack (a callback of an iteration called the same iteration
 * again), a private copy, which db_done frees. */
ts_err db_prepare(db *d, const struct db_sql *q, db_stmt **out);
/* Binds v[0..n-1] as parameters ?1..?n. */
ts_err db_bind(db_stmt *st, const struct db_val *v, size_t n);
/* Steps st: TS_OK with *row 1 when a row is ready, 0 when the statement has run to its end. */
ts_err db_step(db_stmt *st, int *row);
/* Resets st and clears its bindings (or frees a private copy). NULL is fine. */
void db_done(db_stmt *st);
/* 1 when st writes nothing (a SELECT): reading its first row is all it needs. */
int db_readonly(db_stmt *st);
/* Rows changed by the connection's last INSERT, UPDATE or DELETE. */
int64_t db_changes(db *d);

/* Columns of the current row, from 0. text and blob are valid until the next step or db_done;
 * text is NULL for a NULL column or when memory ran out (db_type tells which). */
enum db_type db_type(db_stmt *st, int i);
int64_t db_int(db_stmt *st, int i);          /* NULL reads as 0 */
const char *db_text(db_stmt *st, int i);
const void *db_blob(db_stmt *st, int i);
int db_bytes(db_stmt *st, int i);            /* of text or blob; call after db_text/db_blob */

/* --- transactions --- */

/* begin takes the write lock at once (SQLite: BEGIN IMMEDIATE), so that a transaction never
 * fails halfway on another's lock. rollback does nothing when no transaction is open. A
 * savepoint level (0: the writer's job, 1: a store function inside its caller's transaction)
 * names one of two nested savepoints. */
ts_err db_begin(db *d);
ts_err db_commit(db *d);
ts_err db_rollback(db *d);
int db_in_transaction(db *d);
ts_err db_savepoint(db *d, int level);
ts_err db_release(db *d, int level);
ts_err db_rollback_to(db *d, int level);

#endif
