/* db_pg.c - the database seam (db.h) on PostgreSQL through libpq: the only file that includes
 * libpq-fe.h.
 *
 * Statements: the store's ?N parameters become $N, and a statement's `pg` text replaces its
 * portable one where the dialects differ. Each is prepared once per connection (PQprepare) and
 * kept in a cache like db_sqlite.c's (fixed statements by their entry's address, made ones by
 * their text, MADE_MAX of them); a step runs it at once (PQexecPrepared) and the rows are read
 * from the whole result, so a callback of an iteration may run other statements meanwhile.
 * Values are sent as text (integers printed), blobs as binary bytea; PostgreSQL infers each
 * parameter's type from the statement.
 *
 * Write transactions (db_begin) keep SQLite's semantics, one writer at a time over all the nodes
 * that share the database: BEGIN, then a transaction-level advisory lock (WRITE_LOCK) that every
 * write transaction takes, waiting at most the busy timeout (lock_timeout: TS_UNAVAILABLE then).
 * Reads run beside it (READ COMMITTED), and a read-then-write inside a transaction sees no other
 * writer's changes between its read and its write, as with SQLite's BEGIN IMMEDIATE. The same
 * round trip reads txid_current(): when the connection is lost during COMMIT, the connection is
 * made again and txid_status() says whether it committed (db_commit), never a guess.
 *
 * A lost connection: the call answers TS_UNAVAILABLE; the next call outside a transaction
 * connects again (a transaction in progress is lost: its calls answer TS_UNAVAILABLE until the
 * caller rolls back). Statements are prepared again on the new connection.
 *
 * db_data_version counts NOTIFYs on the channel tessera_data, which statement-level triggers of
 * the schema send when clients, keys, users, groups or grants change (schema/pg/010), plus one at
 * every new connection, since what was sent while disconnected is lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "db.h"
#include "db_engine.h"

/* Advisory lock keys (pg_advisory_xact_lock): every write transaction, and so every migration. */
#define WRITE_LOCK "7165636549"
#define SLOTS 256
#define MADE_MAX 16
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
};

#define D(x) ((struct pg_db *)(void *)(x))
#define S(x) ((struct pg_stmt *)(void *)(x))

/* --- errors --- */

/* SQLSTATEs (or their class, two characters) and what they mean to the store. */
static const struct {
	const char *state;
	ts_err err;
} states[] = {
	{"23505", TS_CONFLICT},          /* unique violation */
	{"23503", TS_NOT_FOUND},         /* foreign key: the row named was removed */
	{"P0001", TS_INVALID_REQUEST},   /* RAISE of a trigger of the schema */
	{"55P03", TS_UNAVAILABLE},       /* lock timeout */
	{"40001", TS_UNAVAILABLE},       /* serialization failure */
	{"40P01", TS_UNAVAILABLE},       /* deadlock */
	{"57014", TS_UNAVAILABLE},       /* statement cancelled (statement_timeout) */
	{"57P01", TS_UNAVAILABLE},       /* the server shutting down */
	{"57P02", TS_UNAVAILABLE},
	{"57P03", TS_UNAVAILABLE},       /* the server starting */
	{"08", TS_UNAVAILABLE},          /* connection exceptions */
	{"53", TS_UNAVAILABLE},          /* insufficient resources (too many connections) */
};

static ts_err state_err(const char *state)
{
	size_t i;

	if (!state)
		return TS_UNAVAILABLE; /* no SQLSTATE: libpq's own failure (the connection) */
	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strncmp(state, states[i].state, strlen(states[i].state)) == 0)
			return states[i].err;
	return TS_SERVER_ERROR;
}

static void keep_msg(struct pg_db *d, const char *m)
{
	size_t n;

	snprintf(d->err, sizeof d->err, "%s", m && *m ? m : "unknown PostgreSQL error");
	n = strlen(d->err);
	while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
}

/* The ts_err for a result (NULL: the connection failed); TS_OK when it succeeded. Marks a
 * transaction in progress as lost when the connection is. */
static ts_err res_err(struct pg_db *d, PGresult *r)
{
	ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	ts_err e;

	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_EMPTY_QUERY)
		return TS_OK;
	keep_msg(d, r ? PQresultErrorMessage(r) : PQerrorMessage(d->c));
	e = r ? state_err(PQresultErrorField(r, PG_DIAG_SQLSTATE)) : TS_UNAVAILABLE;
	if (PQstatus(d->c) != CONNECTION_OK) {
		e = TS_UNAVAILABLE;
		if (d->tx)
			d->lost = 1;
	}
	return e;
}

/* --- the connection --- */

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs ("relation already exists, skipping") are not the operator's concern */
}

static ts_err run(struct pg_db *d, const char *sql)
{
	PGresult *r = PQexec(d->c, sql);
	ts_err e = res_err(d, r);

	PQclear(r);
	return e;
}

/* What every new connection needs: the lock timeout, the commit mode, the NOTIFY channel. */
static ts_err session(struct pg_db *d)
{
	char sql[160];

	PQsetNoticeReceiver(d->c, NULL, NULL);
	PQsetNoticeProcessor(d->c, quiet, NULL);
	snprintf(sql, sizeof sql, "SET lock_timeout = %d; SET synchronous_commit = %s%s",
	         d->busy_ms > 0 ? d->busy_ms : 1, d->synchronous ? "on" : "off",
	         d->listening ? "; LISTEN tessera_data" : "");
	return run(d, sql);
}

/* Outside a transaction, a connection that was lost is made again (statements are prepared again
 * on first use, and the data version moves: whatever was notified meanwhile is lost). Inside one,
 * nothing can be done until the caller rolls back. */
static ts_err alive(struct pg_db *d)
{
	if (d->lost)
		return TS_UNAVAILABLE;
	if (PQstatus(d->c) != CONNECTION_OK) {
		if (d->tx) {
			d->lost = 1;
			return TS_UNAVAILABLE;
		}
		PQreset(d->c);
		if (PQstatus(d->c) != CONNECTION_OK) {
			keep_msg(d, PQerrorMessage(d->c));
			return TS_UNAVAILABLE;
		}
		d->gen++;
		d->version++;
		d->unset = 1;
	}
	if (d->unset) {
		if (session(d))
			return TS_UNAVAILABLE;
		d->unset = 0;
	}
	return TS_OK;
}

static ts_err pg_open(const char *uri, int busy_ms, int synchronous, db **out)
{
	/* before the URI, so that what it says wins */
	static const char *const keys[] = {"connect_timeout", "fallback_application_name",
	                                   "dbname", NULL};
	const char *vals[] = {"5", "tessera", uri, NULL};
	struct pg_db *d;
	ts_err e;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return TS_SERVER_ERROR;
	d->eng = &db_pg_engine;
	d->busy_ms = busy_ms;
	d->synchronous = synchronous;
	d->gen = 1;
	d->c = PQconnectdbParams(keys, vals, 1);
	if (!d->c) {
		free(d);
		return TS_SERVER_ERROR;
	}
	if (PQstatus(d->c) != CONNECTION_OK) {
		keep_msg(d, PQerrorMessage(d->c));
		fprintf(stderr, "tessera: PostgreSQL: %s\n", d->err);
		PQfinish(d->c);
		free(d);
		return TS_UNAVAILABLE;
	}
	if ((e = session(d))) {
		PQfinish(d->c);
		free(d);
		return e;
	}
	*out = (db *)(void *)d;
	return TS_OK;
}

static void stmt_clear(struct pg_stmt *st);

static void pg_close(db *x)
{
	struct pg_db *d = D(x);
	int i;

	for (i = 0; i < SLOTS; i++) {
		stmt_clear(&d->slot[i].st);
		free(d->slot[i].st.vals);
		free(d->slot[i].st.lens);
		free(d->slot[i].st.fmts);
		free(d->slot[i].st.bufs);
		free(d->slot[i].prep.text);
		free(d->slot[i].key);
	}
	PQfinish(d->c);
	free(d);
}

static ts_err pg_exec(db *x, const char *sql)
{
	struct pg_db *d = D(x);
	ts_err e = alive(d);

	return e ? e : run(d, sql);
}

static const char *pg_errmsg(db *x)
{
	return D(x)->err;
}

static void pg_busy_timeout(db *x, int ms)
{
	struct pg_db *d = D(x);
	char sql[48];

	d->busy_ms = ms;
	snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms > 0 ? ms : 1);
	if (!alive(d))
		run(d, sql);
}

/* The first row's first column of a statement without parameters, as text into buf. */
static ts_err value(struct pg_db *d, const char *sql, char *buf, size_t n)
{
	PGresult *r;
	ts_err e;

	if ((e = alive(d)))
		return e;
	r = PQexec(d->c, sql);
	if (!(e = res_err(d, r))) {
		if (PQntuples(r) < 1 || PQnfields(r) < 1)
			e = TS_SERVER_ERROR;
		else
			snprintf(buf, n, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return e;
}

/* The table that records the schema's version, made once under the writers' lock. */
static ts_err pg_setup(db *x)
{
	struct pg_db *d = D(x);
	ts_err e;

	if ((e = alive(d)))
		return e;
	e = run(d, "BEGIN; SELECT pg_advisory_xact_lock(" WRITE_LOCK "); "
	        "CREATE TABLE IF NOT EXISTS tessera_schema (version integer NOT NULL); "
	        "INSERT INTO tessera_schema SELECT 0 WHERE NOT EXISTS "
	        "(SELECT 1 FROM tessera_schema); COMMIT");
	if (e && PQstatus(d->c) == CONNECTION_OK)
		run(d, "ROLLBACK");
	return e;
}

static ts_err pg_schema_version(db *x, int *v)
{
	char buf[24];
	ts_err e = value(D(x), "SELECT version FROM tessera_schema", buf, sizeof buf);

	*v = e ? 0 : atoi(buf);
	return e;
}

static ts_err pg_set_schema_version(db *x, int v)
{
	char sql[64];

	snprintf(sql, sizeof sql, "UPDATE tessera_schema SET version = %d", v);
	return pg_exec(x, sql);
}

static ts_err pg_data_version(db *x, int64_t *v)
{
	struct pg_db *d = D(x);
	PGnotify *n;
	ts_err e;

	if ((e = alive(d)))
		return e;
	if (!d->listening) {
		if ((e = run(d, "LISTEN tessera_data")))
			return e;
		d->listening = 1;
	}
	if (!PQconsumeInput(d->c)) {
		keep_msg(d, PQerrorMessage(d->c));
		if ((e = alive(d)))
			return e;
	}
	while ((n = PQnotifies(d->c))) {
		d->version++;
		PQfreemem(n);
	}
	*v = d->version;
	return TS_OK;
}

/* synchronous_commit: off 0, local 1, on (and the replicas' modes) 2. */
static int pg_synchronous(db *x)
{
	char buf[32];

	if (value(D(x), "SHOW synchronous_commit", buf, sizeof buf))
		return -1;
	if (strcmp(buf, "off") == 0)
		return 0;
	return strcmp(buf, "local") == 0 ? 1 : 2;
}

static void pg_tune_writer(db *x, int checkpoint_pages)
{
	(void)x;
	(void)checkpoint_pages; /* PostgreSQL checkpoints by itself */
}

/* --- statements --- */

/* sql with ?N made $N (outside quoted text and identifiers); malloc'd. */
static char *dollars(const char *sql)
{
	char *out = malloc(strlen(sql) + 1), *o = out;
	char quote = 0;

	if (!out)
		return NULL;
	for (; *sql; sql++) {
		if (quote) {
			if (*sql == quote)
				quote = 0;
		} else if (*sql == '\'' || *sql == '"') {
			quote = *sql;
		} else if (*sql == '?' && sql[1] >= '0' && sql[1] <= '9') {
			*o++ = '$';
			continue;
		}
		*o++ = *sql;
	}
	*o = '\0';
	return out;
}

static ts_err prep_make(struct pg_db *d, struct prep *p, const struct db_sql *q)
{
	if (!(p->text = dollars(q->pg ? q->pg : q->sql)))
		return TS_SERVER_ERROR;
	snprintf(p->name, sizeof p->name, "t%u", ++d->named);
	p->gen = 0;
	return TS_OK;
}

/* Prepares p on the current connection when it is not yet. */
static ts_err prep_ready(struct pg_db *d, struct prep *p)
{
	PGresult *r;
	ts_err e;

	if (p->gen == d->gen)
		return TS_OK;
	if ((e = alive(d)))
		return e;
	r = PQprepare(d->c, p->name, p->text, 0, NULL);
	if ((e = res_err(d, r)) == TS_SERVER_ERROR)
		fprintf(stderr, "tessera: PostgreSQL cannot prepare \"%s\": %s\n", p->text, d->err);
	PQclear(r);
	if (!e)
		p->gen = d->gen;
	return e;
}

static void stmt_init(struct pg_db *d, struct pg_stmt *st, struct prep *p, int own)
{
	st->eng = &db_pg_engine;
	st->d = d;
	st->prep = p;
	st->own = own;
	st->row = -1;
}

static ts_err private_copy(struct pg_db *d, const struct db_sql *q, db_stmt **out)
{
	struct pg_stmt *st = calloc(1, sizeof(*st));
	struct prep *p = calloc(1, sizeof(*p));
	ts_err e;

	if (!st || !p || (e = prep_make(d, p, q)) || (e = prep_ready(d, p))) {
		if (p)
			free(p->text);
		free(p);
		free(st);
		return TS_SERVER_ERROR;
	}
	stmt_init(d, st, p, 1);
	*out = (db_stmt *)(void *)st;
	return TS_OK;
}

static unsigned hash_of(const struct db_sql *q)
{
	const unsigned char *p;
	unsigned h = 2166136261u;

	if (!q->made)
		return (unsigned)(((uintptr_t)q >> 3) * 2654435761u);
	for (p = (const unsigned char *)q->sql; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static void slot_free(struct pg_db *d, struct slot *sl)
{
	char sql[48];

	if (sl->prep.gen == d->gen && PQstatus(d->c) == CONNECTION_OK && !d->tx) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", sl->prep.name);
		run(d, sql);
	}
	stmt_clear(&sl->st);
	free(sl->st.vals);
	free(sl->st.lens);
	free(sl->st.fmts);
	free(sl->st.bufs);
	free(sl->prep.text);
	free(sl->key);
	memset(sl, 0, sizeof(*sl));
	sl->tomb = 1;
	d->made--;
}

static struct slot *made_victim(struct pg_db *d)
{
	struct slot *v = NULL;
	int i;

	for (i = 0; i < SLOTS; i++) {
		struct slot *sl = &d->slot[i];

		if (sl->key && !sl->st.busy && (!v || sl->used < v->used))
			v = sl;
	}
	return v;
}

static ts_err pg_prepare(db *x, const struct db_sql *q, db_stmt **out)
{
	struct pg_db *d = D(x);
	unsigned h = hash_of(q), i;
	struct slot *sl, *free_sl = NULL, *v;
	ts_err e;

	*out = NULL;
	for (i = 0; i < SLOTS; i++) {
		sl = &d->slot[(h + i) & (SLOTS - 1)];
		if (!sl->q && !sl->key) {
			if (!free_sl)
				free_sl = sl;
			if (!sl->tomb)
				break;
		} else if (q->made ? sl->key && strcmp(sl->key, q->sql) == 0 : sl->q == q) {
			if (sl->st.busy)
				return private_copy(d, q, out);
			if ((e = prep_ready(d, &sl->prep)))
				return e;
			sl->used = ++d->clock;
			*out = (db_stmt *)(void *)&sl->st;
			return TS_OK;
		}
	}
	if (!free_sl)
		return private_copy(d, q, out);
	if (q->made && d->made >= MADE_MAX) {
		if (!(v = made_victim(d)))
			return private_copy(d, q, out);
		slot_free(d, v);
	}
	if (q->made && !(free_sl->key = strdup(q->sql)))
		return TS_SERVER_ERROR;
	if ((e = prep_make(d, &free_sl->prep, q)) || (e = prep_ready(d, &free_sl->prep))) {
		free(free_sl->key);
		free(free_sl->prep.text);
		memset(free_sl, 0, sizeof(*free_sl));
		return e;
	}
	free_sl->q = q->made ? NULL : q;
	free_sl->tomb = 0;
	free_sl->used = ++d->clock;
	stmt_init(d, &free_sl->st, &free_sl->prep, 0);
	d->made += q->made != 0;
	*out = (db_stmt *)(void *)&free_sl->st;
	return TS_OK;
}

/* Room for n parameters. */
static int params(struct pg_stmt *st, int n)
{
	int i;

	if (n <= st->cap)
		return 0;
	if (!(st->vals = realloc(st->vals, (size_t)n * sizeof *st->vals)) ||
	    !(st->lens = realloc(st->lens, (size_t)n * sizeof *st->lens)) ||
	    !(st->fmts = realloc(st->fmts, (size_t)n * sizeof *st->fmts)) ||
	    !(st->bufs = realloc(st->bufs, (size_t)n * sizeof *st->bufs)))
		return -1; /* (what was reallocated is kept; cap unchanged) */
	for (i = st->cap; i < n; i++)
		st->bufs[i] = NULL;
	st->cap = n;
	return 0;
}

static ts_err pg_bind(db_stmt *x, const struct db_val *v, size_t n)
{
	struct pg_stmt *st = S(x);
	size_t i, k;

	if (params(st, (int)n))
		return TS_SERVER_ERROR;
	st->nparams = (int)n;
	for (i = 0; i < n; i++) {
		st->vals[i] = NULL;
		st->lens[i] = 0;
		st->fmts[i] = 0;
		switch (v[i].type) {
		case DB_INT_OR_NULL:
			if (!v[i].i)
				break;
			/* fall through */
		case DB_INT:
		case DB_REAL:
			if (!(st->bufs[i] = malloc(32)))
				return TS_SERVER_ERROR;
			if (v[i].type == DB_REAL)
				snprintf(st->bufs[i], 32, "%.17g", v[i].d);
			else
				snprintf(st->bufs[i], 32, "%lld", (long long)v[i].i);
			st->vals[i] = st->bufs[i];
			break;
		case DB_TEXT:
			if (!v[i].p || v[i].n < 0) {
				st->vals[i] = v[i].p;
				break;
			}
			k = (size_t)v[i].n; /* a length: a copy with its NUL */
			if (!(st->bufs[i] = malloc(k + 1)))
				return TS_SERVER_ERROR;
			memcpy(st->bufs[i], v[i].p, k);
			st->bufs[i][k] = '\0';
			st->vals[i] = st->bufs[i];
			break;
		case DB_BLOB:
			st->vals[i] = v[i].p;
			st->lens[i] = v[i].n;
			st->fmts[i] = 1;
			break;
		default:
			break;
		}
	}
	return TS_OK;
}

static void blobs_clear(struct pg_stmt *st)
{
	int i;

	for (i = 0; st->blob && i < st->ncols; i++) {
		if (st->blob[i])
			PQfreemem(st->blob[i]);
		st->blob[i] = NULL;
	}
}

/* Forgets the result and the bindings. */
static void stmt_clear(struct pg_stmt *st)
{
	int i;

	blobs_clear(st);
	free(st->blob);
	free(st->blen);
	st->blob = NULL;
	st->blen = NULL;
	st->ncols = 0;
	PQclear(st->res);
	st->res = NULL;
	for (i = 0; i < st->cap; i++) {
		free(st->bufs[i]);
		st->bufs[i] = NULL;
	}
	st->nparams = 0;
	st->row = -1;
	st->busy = 0;
}

static ts_err pg_step(db_stmt *x, int *row)
{
	struct pg_stmt *st = S(x);
	struct pg_db *d = st->d;
	ts_err e;

	*row = 0;
	if (!st->res) {
		if ((e = alive(d)) || (e = prep_ready(d, st->prep)))
			return e;
		st->busy = 1;
		st->res = PQexecPrepared(d->c, st->prep->name, st->nparams, st->vals, st->lens,
		                         st->fmts, 0);
		if ((e = res_err(d, st->res))) {
			PQclear(st->res);
			st->res = NULL;
			return e;
		}
		d->changes = atoll(PQcmdTuples(st->res));
		st->ncols = PQnfields(st->res);
		if (st->ncols && (!(st->blob = calloc((size_t)st->ncols, sizeof *st->blob)) ||
		                  !(st->blen = calloc((size_t)st->ncols, sizeof *st->blen))))
			return TS_SERVER_ERROR;
		st->row = -1;
	}
	blobs_clear(st);
	if (st->row < PQntuples(st->res))
		st->row++;
	*row = st->row < PQntuples(st->res);
	return TS_OK;
}

static void pg_done(db_stmt *x)
{
	struct pg_stmt *st = S(x);
	struct pg_db *d = st->d;
	char sql[48];

	stmt_clear(st);
	if (!st->own)
		return;
	if (PQstatus(d->c) == CONNECTION_OK && st->prep->gen == d->gen && !d->lost) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", st->prep->name);
		run(d, sql); /* (inside a transaction too: it is not transactional) */
	}
	free(st->vals);
	free(st->lens);
	free(st->fmts);
	free(st->bufs);
	free(st->prep->text);
	free(st->prep);
	free(st);
}

static int pg_readonly(db_stmt *x)
{
	(void)x;
	return 1; /* the statement ran to its end at its first step */
}

static int64_t pg_changes(db *x)
{
	return D(x)->changes;
}

static int is_null(struct pg_stmt *st, int i)
{
	return !st->res || st->row < 0 || st->row >= PQntuples(st->res) || i < 0 ||
	       i >= st->ncols || PQgetisnull(st->res, st->row, i);
}

static enum db_type pg_type(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);

	if (is_null(st, i))
		return DB_NULL;
	switch (PQftype(st->res, i)) {
	case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8:
		return DB_INT;
	case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
		return DB_REAL;
	case OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

static int64_t pg_int(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);
	const char *t;

	if (is_null(st, i))
		return 0;
	t = PQgetvalue(st->res, st->row, i);
	if (PQftype(st->res, i) == OID_BOOL)
		return t[0] == 't';
	return strtoll(t, NULL, 10);
}

static const char *pg_text(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);

	return is_null(st, i) ? NULL : PQgetvalue(st->res, st->row, i);
}

static const void *pg_blob(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);
	size_t n;

	if (is_null(st, i))
		return NULL;
	if (PQftype(st->res, i) != OID_BYTEA)
		return PQgetvalue(st->res, st->row, i);
	if (!st->blob[i]) {
		st->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->row, i),
		                              &n);
		st->blen[i] = st->blob[i] ? n : 0;
	}
	return st->blob[i];
}

static int pg_bytes(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);

	if (is_null(st, i))
		return 0;
	if (st->blob[i])
		return (int)st->blen[i];
	return PQgetlength(st->res, st->row, i);
}

/* --- transactions --- */

static ts_err pg_begin(db *x)
{
	struct pg_db *d = D(x);
	PGresult *r;
	ts_err e;

	if ((e = alive(d)))
		return e;
	r = PQexec(d->c, "BEGIN; SELECT txid_current() FROM "
	           "(SELECT pg_advisory_xact_lock(" WRITE_LOCK ")) l");
	if (!(e = res_err(d, r)) && PQntuples(r) == 1) {
		d->txid = atoll(PQgetvalue(r, 0, 0));
		d->tx = 1;
	} else {
		if (!e)
			e = TS_SERVER_ERROR;
		if (PQstatus(d->c) == CONNECTION_OK)
			run(d, "ROLLBACK");
	}
	PQclear(r);
	return e;
}

static void nap_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

/* The connection was lost during COMMIT: connect again and ask the server what became of the
 * transaction, for up to the busy timeout (at least 5 s). Committed: TS_OK. Aborted, or no
 * answer: TS_UNAVAILABLE (the caller reports a failure, which is then the truth or at worst
 * unknown, never a success that was not). */
static ts_err commit_status(struct pg_db *d)
{
	int waited = 0, limit = d->busy_ms > 5000 ? d->busy_ms : 5000;
	char sql[64], buf[24];
	ts_err e = TS_UNAVAILABLE;

	d->tx = 0;
	d->lost = 0;
	snprintf(sql, sizeof sql, "SELECT coalesce(txid_status(%lld), 'gone')", d->txid);
	for (;;) {
		if (!alive(d) && !value(d, sql, buf, sizeof buf)) {
			if (strcmp(buf, "committed") == 0)
				return TS_OK;
			if (strcmp(buf, "in progress") != 0)
				return TS_UNAVAILABLE; /* aborted, or too old to say */
		}
		if (waited >= limit)
			return e;
		nap_ms(50);
		waited += 50;
	}
}

static ts_err pg_commit(db *x)
{
	struct pg_db *d = D(x);
	PGresult *r;
	ts_err e;

	if (!d->tx)
		return TS_SERVER_ERROR;
	if (d->lost)
		return TS_UNAVAILABLE; /* lost before COMMIT was sent: nothing committed */
	r = PQexec(d->c, "COMMIT");
	e = res_err(d, r);
	if (!e && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		keep_msg(d, "the transaction had failed: COMMIT rolled it back");
		e = TS_SERVER_ERROR;
	}
	PQclear(r);
	if (!e || PQstatus(d->c) == CONNECTION_OK) {
		if (PQtransactionStatus(d->c) == PQTRANS_IDLE)
			d->tx = 0;
		return e;
	}
	return commit_status(d);
}

static ts_err pg_rollback(db *x)
{
	struct pg_db *d = D(x);
	ts_err e = TS_OK;

	if (!d->tx && PQtransactionStatus(d->c) == PQTRANS_IDLE)
		return TS_OK;
	if (!d->lost && PQstatus(d->c) == CONNECTION_OK)
		e = run(d, "ROLLBACK");
	d->tx = 0;
	d->lost = 0;
	return e;
}

static int pg_in_transaction(db *x)
{
	return D(x)->tx;
}

static ts_err tx_run(db *x, const char *sql)
{
	struct pg_db *d = D(x);

	if (!d->tx)
		return TS_SERVER_ERROR;
	if (d->lost || PQstatus(d->c) != CONNECTION_OK) {
		d->lost = 1;
		return TS_UNAVAILABLE;
	}
	return run(d, sql);
}

static ts_err pg_savepoint(db *x, int level)
{
	return tx_run(x, level ? "SAVEPOINT store_fn" : "SAVEPOINT job");
}

static ts_err pg_release(db *x, int level)
{
	return tx_run(x, level ? "RELEASE store_fn" : "RELEASE job");
}

static ts_err pg_rollback_to(db *x, int level)
{
	return tx_run(x, level ? "ROLLBACK TO store_fn" : "ROLLBACK TO job");
}

const struct db_engine db_pg_engine = {
	DB_PG, pg_open, pg_close, pg_exec, pg_errmsg, pg_busy_timeout, pg_setup,
	pg_schema_version, pg_set_schema_version, pg_data_version, pg_synchronous, pg_tune_writer,
	pg_prepare, pg_bind, pg_step, pg_done, pg_readonly, pg_changes, pg_type, pg_int, pg_text,
	pg_blob, pg_bytes, pg_begin, pg_commit, pg_rollback, pg_in_transaction, pg_savepoint,
	pg_release, pg_rollback_to,
};
