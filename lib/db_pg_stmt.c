/* db_pg_stmt.c - the PostgreSQL seam's statements (lib/db_pg.c has the rest): ?N made $N, the
 * cache of prepared statements (fixed ones by their entry's address, made ones by their text,
 * MADE_MAX of them), binding (values as text, blobs as binary bytea), running a statement at its
 * first step and handing its rows back one by one, and reading their columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg_priv.h"


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
	if ((e = dbpg_alive(d)) || (e = dbpg_flush(d)))
		return e;
	r = PQprepare(d->c, p->name, p->text, 0, NULL);
	if ((e = dbpg_res_err(d, r)) == TS_SERVER_ERROR)
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

static void slot_free(struct pg_db *d, struct slot *sl)
{
	char sql[48];

	if (sl->prep.gen == d->gen && PQstatus(d->c) == CONNECTION_OK && !d->tx) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", sl->prep.name);
		dbpg_run(d, sql);
	}
	dbpg_stmt_clear(&sl->st);
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

ts_err dbpg_prepare(db *x, const struct db_sql *q, db_stmt **out)
{
	struct pg_db *d = D(x);
	unsigned h = db_sql_hash(q), i;
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

ts_err dbpg_bind(db_stmt *x, const struct db_val *v, size_t n)
{
	struct pg_stmt *st = S(x);
	size_t i, k;

	if (params(st, (int)n))
		return TS_SERVER_ERROR;
	for (i = 0; i < (size_t)st->cap; i++) { /* (bound again without db_done) */
		free(st->bufs[i]);
		st->bufs[i] = NULL;
	}
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
void dbpg_stmt_clear(struct pg_stmt *st)
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

/* Runs st's statement after the deferred commands, in one round trip: a pipeline of them and
 * the statement, then a sync. The result is the first deferred command's error, or the
 * statement's; NULL when the connection broke or the pipeline could not be completed (then the
 * connection is made again: dbpg_broken). */
static PGresult *exec_after_pending(struct pg_db *d, struct pg_stmt *st)
{
	PGresult *r, *err = NULL, *out = NULL;
	int i, n = d->npend, ok, k = 0, nulls = 0, synced = 0;

	d->npend = 0;
	ok = PQenterPipelineMode(d->c);
	for (i = 0; ok && i < n; i++)
		ok = PQsendQueryParams(d->c, d->pend[i], 0, NULL, NULL, NULL, NULL, 0);
	ok = ok && PQsendQueryPrepared(d->c, st->prep->name, st->nparams, st->vals, st->lens,
	                               st->fmts, 0) && PQpipelineSync(d->c);
	/* each command's result comes followed by a NULL, then the sync's; two NULLs in a row:
	 * nothing more will come */
	while (ok && nulls < 2) {
		if (!(r = PQgetResult(d->c))) {
			nulls++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			synced = 1;
			break;
		}
		if (k++ < n && !err && PQresultStatus(r) != PGRES_COMMAND_OK)
			err = r;
		else if (k == n + 1 && !out)
			out = r;
		else
			PQclear(r);
	}
	if (!synced || !PQexitPipelineMode(d->c)) {
		dbpg_keep_msg(d, PQerrorMessage(d->c));
		PQclear(err);
		PQclear(out);
		dbpg_broken(d);
		return NULL;
	}
	if (err) {
		PQclear(out);
		return err;
	}
	return out;
}

ts_err dbpg_step(db_stmt *x, int *row)
{
	struct pg_stmt *st = S(x);
	struct pg_db *d = st->d;
	ts_err e;

	*row = 0;
	if (!st->res) {
		if ((e = dbpg_alive(d)) || (e = prep_ready(d, st->prep)))
			return e;
		st->busy = 1;
		st->res = d->npend ? exec_after_pending(d, st) :
		          PQexecPrepared(d->c, st->prep->name, st->nparams, st->vals, st->lens,
		                         st->fmts, 0);
		if ((e = dbpg_res_err(d, st->res))) {
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

void dbpg_done(db_stmt *x)
{
	struct pg_stmt *st = S(x);
	struct pg_db *d = st->d;
	char sql[48];

	dbpg_stmt_clear(st);
	if (!st->own)
		return;
	if (PQstatus(d->c) == CONNECTION_OK && st->prep->gen == d->gen && !d->lost) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", st->prep->name);
		dbpg_run(d, sql); /* (inside a transaction too: it is not transactional) */
	}
	free(st->vals);
	free(st->lens);
	free(st->fmts);
	free(st->bufs);
	free(st->prep->text);
	free(st->prep);
	free(st);
}

int dbpg_readonly(db_stmt *x)
{
	(void)x;
	return 1; /* the statement ran to its end at its first step */
}

int64_t dbpg_changes(db *x)
{
	return D(x)->changes;
}

static int is_null(struct pg_stmt *st, int i)
{
	return !st->res || st->row < 0 || st->row >= PQntuples(st->res) || i < 0 ||
	       i >= st->ncols || PQgetisnull(st->res, st->row, i);
}

enum db_type dbpg_type(db_stmt *x, int i)
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

int64_t dbpg_int(db_stmt *x, int i)
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

const char *dbpg_text(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);

	return is_null(st, i) ? NULL : PQgetvalue(st->res, st->row, i);
}

const void *dbpg_blob(db_stmt *x, int i)
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

int dbpg_bytes(db_stmt *x, int i)
{
	struct pg_stmt *st = S(x);

	if (is_null(st, i))
		return 0;
	if (st->blob[i])
		return (int)st->blen[i];
	return PQgetlength(st->res, st->row, i);
}

void dbpg_stmts_free(struct pg_db *d)
{
	int i;

	for (i = 0; i < SLOTS; i++) {
		dbpg_stmt_clear(&d->slot[i].st);
		free(d->slot[i].st.vals);
		free(d->slot[i].st.lens);
		free(d->slot[i].st.fmts);
		free(d->slot[i].st.bufs);
		free(d->slot[i].prep.text);
		free(d->slot[i].key);
	}
}

