/* db_pg.c - the database seam (db.h) on PostgreSQL through libpq: the connection, errors,
 * transactions; its statements are in db_pg_stmt.c. These two (through db_pg_priv.h) are the only
 * files of lib/ that include libpq-fe.h.
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
 * SAVEPOINT and RELEASE (the writer's job around each job, the store's around a function inside a
 * transaction) are not sent on their own: they wait for the next statement and go with it in
 * one round trip (a simple query for text, a pipeline for a prepared statement), which takes a
 * code redemption from nine round trips to five. Their errors arrive with that statement's.
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

#include "db_pg_priv.h"

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

void dbpg_keep_msg(struct pg_db *d, const char *m)
{
	size_t n;

	snprintf(d->err, sizeof d->err, "%s", m && *m ? m : "unknown PostgreSQL error");
	n = strlen(d->err);
	while (n && (d->err[n - 1] == '\n' || d->err[n - 1] == ' '))
		d->err[--n] = '\0';
}

/* The ts_err for a result (NULL: the connection failed); TS_OK when it succeeded. Marks a
 * transaction in progress as lost when the connection is. */
ts_err dbpg_res_err(struct pg_db *d, PGresult *r)
{
	ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	ts_err e;

	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_EMPTY_QUERY)
		return TS_OK;
	dbpg_keep_msg(d, r ? PQresultErrorMessage(r) : PQerrorMessage(d->c));
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

PGresult *dbpg_exec(struct pg_db *d, const char *sql)
{
	size_t n = strlen(sql) + 1, at = 0, k;
	PGresult *r;
	char *all;
	int i;

	if (!d->npend)
		return PQexec(d->c, sql);
	for (i = 0; i < d->npend; i++)
		n += strlen(d->pend[i]) + 2;
	if (!(all = malloc(n)))
		return NULL;
	for (i = 0; i < d->npend; i++) {
		k = strlen(d->pend[i]);
		memcpy(all + at, d->pend[i], k);
		memcpy(all + at + k, "; ", 2);
		at += k + 2;
	}
	memcpy(all + at, sql, strlen(sql) + 1);
	d->npend = 0;
	r = PQexec(d->c, all);
	free(all);
	return r;
}

ts_err dbpg_run(struct pg_db *d, const char *sql)
{
	PGresult *r = dbpg_exec(d, sql);
	ts_err e = dbpg_res_err(d, r);

	PQclear(r);
	return e;
}

ts_err dbpg_flush(struct pg_db *d)
{
	return d->npend ? dbpg_run(d, "") : TS_OK;
}

void dbpg_broken(struct pg_db *d)
{
	d->npend = 0;
	PQreset(d->c);
	d->gen++;
	d->version++;
	d->unset = 1;
	if (d->tx)
		d->lost = 1;
}

/* What every new connection needs: the lock timeout, the commit mode, the NOTIFY channel. */
static ts_err session(struct pg_db *d)
{
	char sql[160];

	PQsetNoticeReceiver(d->c, NULL, NULL);
	PQsetNoticeProcessor(d->c, quiet, NULL);
	snprintf(sql, sizeof sql, "SET lock_timeout = %d; SET synchronous_commit = %s%s",
	         d->busy_ms > 0 ? d->busy_ms : 1, d->synchronous == 2 ? "on" : "off",
	         d->listening ? "; LISTEN tessera_data" : "");
	return dbpg_run(d, sql);
}

/* Outside a transaction, a connection that was lost is made again (statements are prepared again
 * on first use, and the data version moves: whatever was notified meanwhile is lost). Inside one,
 * nothing can be done until the caller rolls back. A connection that the server ended while it
 * was idle (a restart) looks fine until it is read: outside a transaction it is read first (a
 * non-blocking read of what is waiting), so that the first request after the server came back
 * is answered on a new connection rather than with a 503. */
ts_err dbpg_alive(struct pg_db *d)
{
	if (d->lost)
		return TS_UNAVAILABLE;
	/* twice: the server's goodbye (an error taken as a notice) may come in the first read, its
	 * end of file only in the next */
	if (!d->tx && PQstatus(d->c) == CONNECTION_OK &&
	    (!PQconsumeInput(d->c) || !PQconsumeInput(d->c)))
		dbpg_keep_msg(d, PQerrorMessage(d->c));
	if (PQstatus(d->c) != CONNECTION_OK) {
		if (d->tx) {
			d->lost = 1;
			return TS_UNAVAILABLE;
		}
		d->npend = 0;
		PQreset(d->c);
		if (PQstatus(d->c) != CONNECTION_OK) {
			dbpg_keep_msg(d, PQerrorMessage(d->c));
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
		dbpg_keep_msg(d, PQerrorMessage(d->c));
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

static void pg_close(db *x)
{
	struct pg_db *d = D(x);

	dbpg_stmts_free(d);
	PQfinish(d->c);
	free(d);
}

static ts_err pg_exec(db *x, const char *sql)
{
	struct pg_db *d = D(x);
	ts_err e = dbpg_alive(d);

	return e ? e : dbpg_run(d, sql);
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
	if (!dbpg_alive(d))
		dbpg_run(d, sql);
}

/* The first row's first column of a statement without parameters, as text into buf. */
static ts_err value(struct pg_db *d, const char *sql, char *buf, size_t n)
{
	PGresult *r;
	ts_err e;

	if ((e = dbpg_alive(d)))
		return e;
	r = dbpg_exec(d, sql);
	if (!(e = dbpg_res_err(d, r))) {
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

	if ((e = dbpg_alive(d)))
		return e;
	e = dbpg_run(d, "BEGIN; SELECT pg_advisory_xact_lock(" WRITE_LOCK "); "
	        "CREATE TABLE IF NOT EXISTS tessera_schema (version integer NOT NULL); "
	        "INSERT INTO tessera_schema SELECT 0 WHERE NOT EXISTS "
	        "(SELECT 1 FROM tessera_schema); COMMIT");
	if (e && PQstatus(d->c) == CONNECTION_OK)
		dbpg_run(d, "ROLLBACK");
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

	if ((e = dbpg_alive(d)))
		return e;
	if (!d->listening) {
		if ((e = dbpg_run(d, "LISTEN tessera_data")))
			return e;
		d->listening = 1;
	}
	if (!PQconsumeInput(d->c)) {
		dbpg_keep_msg(d, PQerrorMessage(d->c));
		if ((e = dbpg_alive(d)))
			return e;
	}
	while ((n = PQnotifies(d->c))) {
		d->version++;
		PQfreemem(n);
	}
	*v = d->version;
	return TS_OK;
}

/* What synchronous_commit, read back, gives: on (or local, or the replicas' modes) is FULL, a
 * commit flushed before it returns; off is what it was asked as (NORMAL or OFF), since PostgreSQL
 * has no weaker mode: a crash of the server may lose the last commits, never corrupt. */
static int pg_synchronous(db *x)
{
	struct pg_db *d = D(x);
	char buf[32];

	if (value(d, "SHOW synchronous_commit", buf, sizeof buf))
		return -1;
	if (strcmp(buf, "off") == 0)
		return d->synchronous < 2 ? d->synchronous : 0;
	return 2;
}

static void pg_tune_writer(db *x, int checkpoint_pages)
{
	(void)x;
	(void)checkpoint_pages; /* PostgreSQL checkpoints by itself */
}

/* --- transactions --- */

static ts_err pg_begin(db *x)
{
	struct pg_db *d = D(x);
	PGresult *r;
	ts_err e;

	if ((e = dbpg_alive(d)))
		return e;
	r = PQexec(d->c, "BEGIN; SELECT txid_current() FROM "
	           "(SELECT pg_advisory_xact_lock(" WRITE_LOCK ")) l");
	if (!(e = dbpg_res_err(d, r)) && PQntuples(r) == 1) {
		d->txid = atoll(PQgetvalue(r, 0, 0));
		d->tx = 1;
	} else {
		if (!e)
			e = TS_SERVER_ERROR;
		if (PQstatus(d->c) == CONNECTION_OK)
			dbpg_run(d, "ROLLBACK");
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
		if (!dbpg_alive(d) && !value(d, sql, buf, sizeof buf)) {
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
	r = dbpg_exec(d, "COMMIT");
	e = dbpg_res_err(d, r);
	if (!e && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		dbpg_keep_msg(d, "the transaction had failed: COMMIT rolled it back");
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

	d->npend = 0; /* deferred commands of a transaction rolled back: nothing to send */
	if (!d->tx && PQtransactionStatus(d->c) == PQTRANS_IDLE)
		return TS_OK;
	if (!d->lost && PQstatus(d->c) == CONNECTION_OK)
		e = dbpg_run(d, "ROLLBACK");
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
	return dbpg_run(d, sql);
}

/* A SAVEPOINT or RELEASE, deferred: it goes with the next statement. */
static ts_err tx_defer(db *x, const char *sql)
{
	struct pg_db *d = D(x);
	ts_err e;

	if (!d->tx)
		return TS_SERVER_ERROR;
	if (d->lost || PQstatus(d->c) != CONNECTION_OK) {
		d->lost = 1;
		return TS_UNAVAILABLE;
	}
	if (d->npend == PEND_MAX && (e = dbpg_flush(d)))
		return e;
	d->pend[d->npend++] = sql;
	return TS_OK;
}

static ts_err pg_savepoint(db *x, int level)
{
	return tx_defer(x, level ? "SAVEPOINT store_fn" : "SAVEPOINT job");
}

static ts_err pg_release(db *x, int level)
{
	return tx_defer(x, level ? "RELEASE store_fn" : "RELEASE job");
}

static ts_err pg_rollback_to(db *x, int level)
{
	return tx_run(x, level ? "ROLLBACK TO store_fn" : "ROLLBACK TO job");
}

const struct db_engine db_pg_engine = {
	DB_PG, pg_open, pg_close, pg_exec, pg_errmsg, pg_busy_timeout, pg_setup,
	pg_schema_version, pg_set_schema_version, pg_data_version, pg_synchronous, pg_tune_writer,
	dbpg_prepare, dbpg_bind, dbpg_step, dbpg_done, dbpg_readonly, dbpg_changes, dbpg_type,
	dbpg_int, dbpg_text, dbpg_blob, dbpg_bytes, pg_begin, pg_commit, pg_rollback,
	pg_in_transaction, pg_savepoint, pg_release, pg_rollback_to,
};
