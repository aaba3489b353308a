/* db_pg_priv.h - what lib/db_pg.c (the connection, errors, transactions) and lib/db_pg_stmt.c
 * (the statement cache, binding, stepping, columns) share; nothing else includes it. */
#ifndef TESSERA_DB_PG_PRIV_H
#define TESSERA_DB_PG_PRIV_H

#include <stdint.h>
#include <libpq-fe.h>

#include "db.h"
#include "db_engine.h"

/* Advisory lock key (pg_advisory_xact_lock): every write transaction, and so every migration. */
#define WRITE_LOCK "7165636549"
#define SLOTS 256
#define MADE_MAX 16
#define PEND_MAX 8
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

struct pg_db;

/* A server-side prepared statement: its name, its text in PostgreSQL's dialect, and the
 * connection generation it was prepared on (gen 0: not yet). */
struct prep {
	char name[24];
	char *text;
	unsigned gen;
};

struct pg_stmt {
	const struct db_engine *eng;  /* (struct db_head) */
	struct pg_db *d;
	struct prep *prep;
	int own;                  /* a private copy: done frees it and its prep */
	int busy;                 /* run, rows not all handed back */
	int nparams;
	const char **vals;
	int *lens, *fmts;
	char **bufs;              /* printed integers, text copies */
	int cap;
	PGresult *res;
	int row;
	unsigned char **blob;     /* bytea columns decoded, per column of the current row */
	size_t *blen;
	int ncols;
};

struct slot {
	const struct db_sql *q;   /* fixed statement */
	char *key;                /* made statement: its portable text */
	int tomb;
	uint64_t used;
	struct prep prep;
	struct pg_stmt st;
};

struct pg_db {
	const struct db_engine *eng;  /* (struct db_head) */
	PGconn *c;
	unsigned gen;             /* connections made: 1, 2, ... */
	int busy_ms;
	int synchronous;
	int tx;                   /* a transaction was begun and not yet ended */
	int lost;                 /* ... and the connection was lost meanwhile */
	long long txid;           /* the transaction's id (txid_current) */
	int listening;
	int unset;                /* a new connection whose session() has not run */
	int64_t version;
	int64_t changes;
	unsigned named;           /* statements named so far */
	int made;
	uint64_t clock;
	char err[256];
	struct slot slot[SLOTS];
	/* SAVEPOINT and RELEASE commands not sent yet: no caller needs their answer at once, so
	 * they go with the next statement, in the same round trip (dbpg_exec, dbpg_step) */
	const char *pend[PEND_MAX];
	int npend;
};

#define D(x) ((struct pg_db *)(void *)(x))
#define S(x) ((struct pg_stmt *)(void *)(x))

/* (db_pg.c) the engine's message kept for db_errmsg; the ts_err of a result (NULL: the
 * connection failed), TS_OK when it succeeded; a statement without parameters; the connection
 * made again when it was lost outside a transaction (TS_UNAVAILABLE when it cannot be). */
void dbpg_keep_msg(struct pg_db *d, const char *m);
ts_err dbpg_res_err(struct pg_db *d, PGresult *r);
ts_err dbpg_run(struct pg_db *d, const char *sql);
/* PQexec of sql (one or more statements without parameters) after the deferred commands, in one
 * simple query: the server stops at the first error, which is the result then; NULL out of
 * memory or connection. dbpg_flush sends the deferred commands alone. */
PGresult *dbpg_exec(struct pg_db *d, const char *sql);
ts_err dbpg_flush(struct pg_db *d);
/* The connection is in a state nothing can rely on (a pipeline left halfway): made again, and a
 * transaction in progress lost. */
void dbpg_broken(struct pg_db *d);
ts_err dbpg_alive(struct pg_db *d);

/* (db_pg_stmt.c) the engine's statement functions (db.h), and the cache's end */
ts_err dbpg_prepare(db *d, const struct db_sql *q, db_stmt **out);
ts_err dbpg_bind(db_stmt *st, const struct db_val *v, size_t n);
ts_err dbpg_step(db_stmt *st, int *row);
void dbpg_done(db_stmt *st);
int dbpg_readonly(db_stmt *st);
int64_t dbpg_changes(db *d);
enum db_type dbpg_type(db_stmt *st, int i);
int64_t dbpg_int(db_stmt *st, int i);
const char *dbpg_text(db_stmt *st, int i);
const void *dbpg_blob(db_stmt *st, int i);
int dbpg_bytes(db_stmt *st, int i);
void dbpg_stmt_clear(struct pg_stmt *st);
void dbpg_stmts_free(struct pg_db *d);

#endif
