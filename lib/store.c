/* store.c - the store's core (see store.h): opening and migrating, transactions, and the helpers
 * through which every entity file (store_clients.c, store_users.c, store_keys.c,
 * store_grants.c, store_refresh.c, store_sessions.c, store_devices.c, store_scim.c) runs its
 * statements on the database seam (db.h).
 *
 * Every helper hands its statement back (db_done) before it returns, so the strings it binds are
 * never used after the call. The iterations (store_rows) step statements of their own, so their
 * callbacks may call back into the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_priv.h"
#include "schema.h"
#include "schema_pg.h"

/* --- the skeleton --- */

/* The statement q with v bound, or an error (nothing to hand back then). */
static ts_err prepare(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                      db_stmt **st)
{
	ts_err e;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = db_prepare(s->db, q, st)))
		return e;
	if ((e = db_bind(*st, v, n))) {
		db_done(*st);
		*st = NULL;
	}
	return e;
}

ts_err store_run(store *s, const struct db_sql *q, const struct db_val *v, size_t n)
{
	db_stmt *st;
	ts_err e;
	int row;

	if ((e = prepare(s, q, v, n, &st)))
		return e;
	do
		e = db_step(st, &row);
	while (!e && row);
	db_done(st);
	return e;
}

ts_err store_change(store *s, const struct db_sql *q, const struct db_val *v, size_t n)
{
	ts_err e = store_run(s, q, v, n);

	if (e)
		return e;
	return db_changes(s->db) > 0 ? TS_OK : TS_NOT_FOUND;
}

ts_err store_one(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                 ts_err (*read)(db_stmt *st, void *out), void *out)
{
	db_stmt *st;
	ts_err e;
	int row;

	if ((e = prepare(s, q, v, n, &st)))
		return e;
	if (!(e = db_step(st, &row)) && !row)
		e = TS_NOT_FOUND;
	if (!e)
		e = read(st, out);
	/* a write returning its row completes only at its end */
	while (!e && row && !db_readonly(st))
		e = db_step(st, &row);
	db_done(st);
	return e;
}

ts_err store_rows(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                  ts_err (*row_fn)(db_stmt *st, void *ctx), void *ctx)
{
	db_stmt *st;
	ts_err e;
	int row;

	if ((e = prepare(s, q, v, n, &st)))
		return e;
	while (!(e = db_step(st, &row)) && row && !(e = row_fn(st, ctx)))
		;
	db_done(st);
	return e;
}

/* --- records --- */

ts_err store_get(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                 const struct store_kind *k, void *out)
{
	ts_err e = store_one(s, q, v, n, k->read, out);

	if (e && *(void **)out) { /* read, then the statement failed to complete */
		k->release(*(void **)out);
		*(void **)out = NULL;
	}
	return e;
}

struct each {
	const struct store_kind *k;
	void (*fn)(void);
	void *arg;
	int64_t rows;
};

static ts_err each_row(db_stmt *st, void *ctx)
{
	struct each *x = ctx;
	void *rec;
	ts_err e;
	int r;

	x->rows++;
	if ((e = x->k->read(st, &rec)))
		return e;
	r = x->k->call(x->fn, rec, x->arg);
	x->k->release(rec);
	return r ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_each_rows(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                       const struct store_kind *k, void (*fn)(void), void *arg, int64_t *rows)
{
	struct each x = {k, fn, arg, 0};
	ts_err e;

	if (!fn)
		return TS_SERVER_ERROR;
	e = store_rows(s, q, v, n, each_row, &x);
	if (rows)
		*rows = x.rows;
	return e;
}

ts_err store_each(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                  const struct store_kind *k, void (*fn)(void), void *arg)
{
	return store_each_rows(s, q, v, n, k, fn, arg, NULL);
}

int store_col_text(db_stmt *st, int i, int nullable, char **out)
{
	const char *t = "";
	int n = 0;

	*out = NULL;
	if (db_type(st, i) == DB_NULL) {
		if (nullable)
			return 0;
	} else {
		t = db_text(st, i);
		n = db_bytes(st, i);
		if (!t)
			return -1;
	}
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -1;
	memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

ts_err store_col_hash(db_stmt *st, int i, unsigned char h[32])
{
	const void *blob = db_blob(st, i);

	if (!blob || db_bytes(st, i) != 32)
		return TS_SERVER_ERROR;
	memcpy(h, blob, 32);
	return TS_OK;
}

ts_err store_read_int(db_stmt *st, void *out)
{
	*(int64_t *)out = db_int(st, 0);
	return TS_OK;
}

/* --- transactions --- */

static void rollback(store *s)
{
	db_rollback(s->db);
}

ts_err store_tx_start(store *s, int *nested)
{
	*nested = db_in_transaction(s->db);
	return *nested ? db_savepoint(s->db, 1) : db_begin(s->db);
}

ts_err store_tx_end(store *s, int nested)
{
	return nested ? db_release(s->db, 1) : db_commit(s->db);
}

void store_tx_abort(store *s, int nested)
{
	if (!nested) {
		rollback(s);
	} else if (db_in_transaction(s->db)) {
		/* (when SQLite itself rolled the whole transaction back, there is nothing to undo) */
		if (db_rollback_to(s->db, 1) == TS_OK)
			db_release(s->db, 1);
	}
}

ts_err store_begin(store *s)
{
	return s ? db_begin(s->db) : TS_SERVER_ERROR;
}

/* A failed COMMIT rolls back, so no transaction is left open whatever happens. */
ts_err store_commit(store *s)
{
	ts_err e;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = db_commit(s->db)))
		rollback(s);
	return e;
}

void store_rollback(store *s)
{
	if (s)
		rollback(s);
}

/* --- savepoints for the writer's jobs --- */

ts_err store_savepoint(store *s)
{
	return s ? db_savepoint(s->db, 0) : TS_SERVER_ERROR;
}

ts_err store_savepoint_end(store *s, int rollback_it)
{
	ts_err e = TS_OK;

	if (!s)
		return TS_SERVER_ERROR;
	if (rollback_it)
		e = db_rollback_to(s->db, 0);
	if (!e)
		e = db_release(s->db, 0);
	/* (when SQLite rolled the transaction back itself, RELEASE of the outermost savepoint would
	 * have been a COMMIT of whatever ran since; autocommit tells) */
	if (!e && !db_in_transaction(s->db))
		e = TS_SERVER_ERROR;
	return e;
}

/* --- opening and migrations --- */

/* What a migration needs done in C after its SQL, in the same transaction: a table by version. */
static const struct {
	int version;
	ts_err (*fn)(store *s, int64_t now);
} after_sql[] = {
	{9, store_user_fill_keys},   /* the name keys, which SQL cannot compute (lib/username.h) */
};

static ts_err migrate_after(store *s, int version)
{
	size_t i;

	for (i = 0; i < sizeof after_sql / sizeof after_sql[0]; i++)
		if (after_sql[i].version == version)
			return after_sql[i].fn(s, (int64_t)time(NULL));
	return TS_OK;
}

/* Applies each migration i the database lacks, one write transaction each, reading the schema
 * version again inside it so that a process migrating at the same time is not repeated. */
static ts_err migrate(store *s)
{
	ts_err e;
	int v, i;

	if ((e = db_schema_version(s->db, &v)))
		return e;
	if (v > schema_sql_count)
		return TS_SERVER_ERROR; /* written by a newer Tessera */
	/* PostgreSQL runs schema/pg/'s twin of each migration: one missing is a build's bug */
	if (db_dialect_of(s->db) == DB_PG && schema_pg_sql_count != schema_sql_count) {
		fprintf(stderr, "tessera: schema/pg/ has %d migrations for schema/'s %d\n",
		        schema_pg_sql_count, schema_sql_count);
		return TS_SERVER_ERROR;
	}
	for (i = v + 1; i <= schema_sql_count; i++) {
		if ((e = db_begin(s->db)))
			return e;
		if ((e = db_schema_version(s->db, &v)))
			goto fail;
		if (v < i) {
			e = db_exec(s->db, db_dialect_of(s->db) == DB_PG ? schema_pg_sql[i - 1] :
			            schema_sql[i - 1]);
			if (!e)
				e = migrate_after(s, i);
			if (!e)
				e = db_set_schema_version(s->db, i);
			if (e) {
				fprintf(stderr, "tessera: schema migration %d: %s\n", i, db_errmsg(s->db));
				goto fail;
			}
		}
		if ((e = db_commit(s->db)))
			goto fail;
	}
	return TS_OK;
fail:
	rollback(s);
	return e;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* WAL and migrations. When several processes open a new database at once, switching it to WAL
 * can deadlock them (each holds a read lock and wants the exclusive one); SQLite then answers
 * SQLITE_BUSY at once instead of waiting. So both steps (idempotent) are retried after a short
 * nap, with the busy timeout cut to what is left, until busy_ms have passed in all. */
static ts_err setup_schema(store *s, int busy_ms)
{
	int64_t deadline = now_ms() + busy_ms, left;
	struct timespec nap;
	ts_err e;
	int i;

	for (i = 1;; i++) {
		e = db_setup(s->db);
		if (!e)
			e = migrate(s);
		left = deadline - now_ms();
		if (e != TS_UNAVAILABLE || left <= 0)
			break;
		nap.tv_sec = 0;
		nap.tv_nsec = (long)(i < 10 ? i : 10) * 1000000 + (long)(getpid() % 7) * 100000;
		if (nap.tv_nsec / 1000000 >= left)
			nap.tv_nsec = (long)left * 1000000;
		nanosleep(&nap, NULL);
		left = deadline - now_ms();
		if (left <= 0)
			break;
		db_busy_timeout(s->db, (int)left);
	}
	db_busy_timeout(s->db, busy_ms);
	return e;
}

ts_err store_open(const char *path, int busy_ms, int synchronous, store **out)
{
	static const struct db_sql *const tables[] = {
		store_client_sql, store_user_sql, store_key_sql, store_grant_sql, store_refresh_sql,
		store_session_sql, store_device_sql, store_scim_sql, store_reftoken_sql,
		store_change_sql, store_certbind_sql, store_dpop_sql, store_node_sql,
		store_assertion_sql,
		store_enroll_sql,
	};
	const struct db_sql *q;
	db_stmt *st;
	db *d;
	store *s = NULL;
	ts_err e = TS_SERVER_ERROR;
	size_t i;

	if (out)
		*out = NULL;
	if (!path || !out || synchronous < 0 || synchronous > 2)
		return TS_SERVER_ERROR;
	if (busy_ms < 0)
		busy_ms = 0;
	if ((e = db_open(path, busy_ms, synchronous, &d)))
		return e;
	if (!(s = calloc(1, sizeof(*s)))) {
		db_close(d);
		return TS_SERVER_ERROR;
	}
	s->db = d;
	if ((e = setup_schema(s, busy_ms)))
		goto fail;
	/* Every statement now (a quarter of a megabyte a connection): prepared on first use
	 * instead, a daemon's sixteen worker connections each filled up over hours, as requests
	 * of every kind happened to reach them (the soak saw RSS creep 5 MB). One that cannot be
	 * prepared now (memory short) is tried again on its first use. */
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (q = tables[i]; q->sql; q++)
			if (!db_prepare(s->db, q, &st))
				db_done(st);
	*out = s;
	return TS_OK;
fail:
	store_close(s);
	return e;
}

void store_close(store *s)
{
	if (!s)
		return;
	db_close(s->db);
	free(s);
}

int store_schema_version(store *s)
{
	int v;

	if (!s || db_schema_version(s->db, &v))
		return -1;
	return v;
}

const char *store_shown(const char *path, char *buf, size_t n)
{
	return db_shown(path, buf, n);
}

int store_schema_latest(void)
{
	return schema_sql_count;
}

ts_err store_data_version(store *s, int64_t *v)
{
	return s && v ? db_data_version(s->db, v) : TS_SERVER_ERROR;
}

int store_synchronous(store *s)
{
	return s ? db_synchronous(s->db) : -1;
}

void store_tune_writer(store *s, int checkpoint_pages)
{
	db_tune_writer(s->db, checkpoint_pages);
}
