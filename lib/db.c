/* db.c - the database seam's dispatch (db.h): a path is an SQLite file, a postgresql:// or
 * postgres:// URI a PostgreSQL database; every other call goes to the engine of the connection
 * or statement it is given (lib/db_engine.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "db_engine.h"

#define ENG(x) (((const struct db_head *)(const void *)(x))->eng)

int db_is_uri(const char *path)
{
	return path && (strncmp(path, "postgresql://", 13) == 0 ||
	                strncmp(path, "postgres://", 11) == 0);
}

const char *db_shown(const char *path, char *buf, size_t n)
{
	const char *scheme, *at, *colon;

	if (!db_is_uri(path))
		return path;
	scheme = strstr(path, "://") + 3;
	at = strchr(scheme, '@');
	colon = at ? memchr(scheme, ':', (size_t)(at - scheme)) : NULL;
	if (!colon)
		return path;
	snprintf(buf, n, "%.*s:***%s", (int)(colon - path), path, at);
	return buf;
}

ts_err db_open(const char *path, int busy_ms, int synchronous, db **out)
{
	const struct db_engine *e = db_is_uri(path) ? &db_pg_engine : &db_sqlite_engine;

	return e->open(path, busy_ms, synchronous, out);
}

void db_close(db *d)
{
	if (d)
		ENG(d)->close(d);
}

enum db_dialect db_dialect_of(db *d) { return ENG(d)->dialect; }
ts_err db_exec(db *d, const char *sql) { return ENG(d)->exec(d, sql); }
const char *db_errmsg(db *d) { return ENG(d)->errmsg(d); }
void db_busy_timeout(db *d, int ms) { ENG(d)->busy_timeout(d, ms); }
ts_err db_setup(db *d) { return ENG(d)->setup(d); }
ts_err db_schema_version(db *d, int *v) { return ENG(d)->schema_version(d, v); }
ts_err db_set_schema_version(db *d, int v) { return ENG(d)->set_schema_version(d, v); }
ts_err db_data_version(db *d, int64_t *v) { return ENG(d)->data_version(d, v); }
int db_synchronous(db *d) { return ENG(d)->synchronous(d); }
void db_tune_writer(db *d, int pages) { ENG(d)->tune_writer(d, pages); }
ts_err db_prepare(db *d, const struct db_sql *q, db_stmt **out)
{
	return ENG(d)->prepare(d, q, out);
}
ts_err db_bind(db_stmt *st, const struct db_val *v, size_t n) { return ENG(st)->bind(st, v, n); }
ts_err db_step(db_stmt *st, int *row) { return ENG(st)->step(st, row); }
void db_done(db_stmt *st)
{
	if (st)
		ENG(st)->done(st);
}
int db_readonly(db_stmt *st) { return ENG(st)->readonly(st); }
int64_t db_changes(db *d) { return ENG(d)->changes(d); }
enum db_type db_type(db_stmt *st, int i) { return ENG(st)->type(st, i); }
int64_t db_int(db_stmt *st, int i) { return ENG(st)->int_(st, i); }
const char *db_text(db_stmt *st, int i) { return ENG(st)->text(st, i); }
const void *db_blob(db_stmt *st, int i) { return ENG(st)->blob(st, i); }
int db_bytes(db_stmt *st, int i) { return ENG(st)->bytes(st, i); }
ts_err db_begin(db *d) { return ENG(d)->begin(d); }
ts_err db_commit(db *d) { return ENG(d)->commit(d); }
ts_err db_rollback(db *d) { return ENG(d)->rollback(d); }
int db_in_transaction(db *d) { return ENG(d)->in_transaction(d); }
ts_err db_savepoint(db *d, int level) { return ENG(d)->savepoint(d, level); }
ts_err db_release(db *d, int level) { return ENG(d)->release(d, level); }
ts_err db_rollback_to(db *d, int level) { return ENG(d)->rollback_to(d, level); }

unsigned db_sql_hash(const struct db_sql *q)
{
	const unsigned char *p;
	unsigned h = 2166136261u;

	if (!q->made)
		return (unsigned)(((uintptr_t)q >> 3) * 2654435761u);
	for (p = (const unsigned char *)q->sql; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}
