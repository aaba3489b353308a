/* db_engine.h - what lib/db.c dispatches to: one table of functions per engine (db_sqlite.c,
 * db_pg.c). A connection and a statement of either engine start with a pointer to their
 * engine's table (struct db_head), which is all db.c reads of them. Nothing but db.c and the
 * engines includes this. */
#ifndef TESSERA_DB_ENGINE_H
#define TESSERA_DB_ENGINE_H

#include "db.h"

struct db_engine {
	enum db_dialect dialect;
	ts_err (*open)(const char *path, int busy_ms, int synchronous, db **out);
	void (*close)(db *d);
	ts_err (*exec)(db *d, const char *sql);
	const char *(*errmsg)(db *d);
	void (*busy_timeout)(db *d, int ms);
	ts_err (*setup)(db *d);
	ts_err (*schema_version)(db *d, int *v);
	ts_err (*set_schema_version)(db *d, int v);
	ts_err (*data_version)(db *d, int64_t *v);
	int (*synchronous)(db *d);
	void (*tune_writer)(db *d, int checkpoint_pages);
	ts_err (*prepare)(db *d, const struct db_sql *q, db_stmt **out);
	ts_err (*bind)(db_stmt *st, const struct db_val *v, size_t n);
	ts_err (*step)(db_stmt *st, int *row);
	void (*done)(db_stmt *st);
	int (*readonly)(db_stmt *st);
	int64_t (*changes)(db *d);
	enum db_type (*type)(db_stmt *st, int i);
	int64_t (*int_)(db_stmt *st, int i);
	const char *(*text)(db_stmt *st, int i);
	const void *(*blob)(db_stmt *st, int i);
	int (*bytes)(db_stmt *st, int i);
	ts_err (*begin)(db *d);
	ts_err (*commit)(db *d);
	ts_err (*rollback)(db *d);
	int (*in_transaction)(db *d);
	ts_err (*savepoint)(db *d, int level);
	ts_err (*release)(db *d, int level);
	ts_err (*rollback_to)(db *d, int level);
};

/* The first member of every connection and statement. */
struct db_head {
	const struct db_engine *eng;
};

extern const struct db_engine db_sqlite_engine, db_pg_engine;

/* Where q's statement sits in an engine's statement cache: its address for the store's tables,
 * its text (FNV-1a) for run-time SQL (q->made). */
unsigned db_sql_hash(const struct db_sql *q);

#endif
