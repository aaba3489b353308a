/* db_sqlite.c - the database seam (db.h) on SQLite: the only file that includes sqlite3.h.
 *
 * A connection is opened without SQLite's own mutex: it belongs to one thread at a time. Its
 * statements are prepared once and kept in one cache: the store's fixed statements by the
 * address of their entry in its statement tables, for the life of the connection; SQL text made
 * at run time (SCIM list queries) by its content, the least recently used of MADE_MAX going when
 * another comes. Parameters are bound SQLITE_STATIC: db_done clears them before the store's
 * function returns, so the strings it binds are never used after the call. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "db.h"
#include "db_engine.h"

/* the engine's functions, in db_sqlite_engine at the end */
static ts_err sq_open(const char *path, int busy_ms, int synchronous, db **out);
static void sq_close(db *d);
static ts_err sq_exec(db *d, const char *sql);
static void sq_busy_timeout(db *d, int ms);
static ts_err sq_setup(db *d);
static ts_err sq_schema_version(db *d, int *v);
static ts_err sq_set_schema_version(db *d, int v);
static ts_err sq_data_version(db *d, int64_t *v);
static int sq_synchronous(db *d);
static void sq_tune_writer(db *d, int checkpoint_pages);
static ts_err sq_prepare(db *d, const struct db_sql *q, db_stmt **out);
static ts_err sq_bind(db_stmt *st, const struct db_val *v, size_t n);
static ts_err sq_step(db_stmt *st, int *row);
static void sq_done(db_stmt *st);
static int sq_readonly(db_stmt *st);
static int64_t sq_changes(db *d);
static enum db_type sq_type(db_stmt *st, int i);
static int64_t sq_int(db_stmt *st, int i);
static const char *sq_errmsg(db *d);
static const char *sq_text(db_stmt *st, int i);
static const void *sq_blob(db_stmt *st, int i);
static int sq_bytes(db_stmt *st, int i);
static ts_err sq_begin(db *d);
static ts_err sq_commit(db *d);
static ts_err sq_rollback(db *d);
static int sq_in_transaction(db *d);
static ts_err sq_savepoint(db *d, int level);
static ts_err sq_release(db *d, int level);
static ts_err sq_rollback_to(db *d, int level);

struct db_stmt {
	const struct db_engine *eng; /* (struct db_head) */
	sqlite3_stmt *st;
	int own;                  /* a private copy (the cached one was busy): db_done frees it */
};

/* One entry of the cache: a fixed statement (q set) or a made one (text set); a tombstone where
 * a made one was evicted, so that the probes of the others still find them. */
struct slot {
	const struct db_sql *q;
	char *text;
	unsigned hash;
	int tomb;
	uint64_t used;            /* made: when last used */
	struct db_stmt st;
};

#define SLOTS 256             /* a power of two, well over the store's statements */
#define MADE_MAX 16

enum tx_id {
	TX_BEGIN, TX_COMMIT, TX_ROLLBACK,
	TX_SAVEPOINT0, TX_RELEASE0, TX_ROLLBACK_TO0,
	TX_SAVEPOINT1, TX_RELEASE1, TX_ROLLBACK_TO1,
	TX_COUNT
};

static const char *const tx_sql[TX_COUNT] = {
	"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
	"SAVEPOINT job", "RELEASE job", "ROLLBACK TO job",
	"SAVEPOINT store_fn", "RELEASE store_fn", "ROLLBACK TO store_fn",
};

struct db {
	const struct db_engine *eng; /* (struct db_head) */
	sqlite3 *h;
	int memory;               /* an in-memory or temporary database */
	sqlite3_stmt *tx[TX_COUNT];
	struct slot slot[SLOTS];
	int made;                 /* made statements in the cache */
	uint64_t clock;
	int busy_ms;
	int checkpoint_pages;     /* the writer's: WAL frames between checkpoints */
	int checkpoint_at;        /* and the WAL frames that call for the next one */
};

/* The ts_err for a failed SQLite call's result code (extended codes are on); never TS_OK, since
 * a success code where a failure was expected is a bug. A row that names a client, user or grant
 * that does not exist (a foreign key) is TS_NOT_FOUND: it was removed meanwhile. */
static ts_err rc_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TS_UNAVAILABLE;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return TS_CONFLICT;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return TS_NOT_FOUND;
		/* a trigger of the schema refusing a row (e.g. a client id made only of digits) */
		if (rc == SQLITE_CONSTRAINT_TRIGGER)
			return TS_INVALID_REQUEST;
		return TS_SERVER_ERROR;
	default:
		return TS_SERVER_ERROR;
	}
}

static int is_memory(const char *path)
{
	return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* Before SQLite's first use: no memory statistics. Keeping them takes a process-wide mutex on
 * every allocation, which the daemon's worker threads, each on its own connection, then queue
 * on (measured: SCIM look-ups spent a third of their time in futex waits). */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static ts_err sq_open(const char *path, int busy_ms, int synchronous, db **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL",
	};
	db *d;
	ts_err e = TS_SERVER_ERROR;
	int fd, rc, i;

	if (out)
		*out = NULL;
	if (!path || !out || synchronous < 0 || synchronous > 2)
		return TS_SERVER_ERROR;
	/* Create the file ourselves so that it is 0600 from its first byte (it holds private keys);
	 * SQLite gives the -wal and -shm files the same mode. An existing file keeps its mode, and
	 * is never opened here: closing any descriptor of a file drops every POSIX lock this process
	 * holds on it, including those of SQLite connections of other threads. */
	if (!is_memory(path)) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return TS_SERVER_ERROR;
		if (fd >= 0)
			close(fd);
	}
	pthread_once(&once, sqlite_setup);
	d = calloc(1, sizeof(*d));
	if (!d)
		return TS_SERVER_ERROR;
	d->eng = &db_sqlite_engine;
	d->memory = is_memory(path);
	rc = sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(d->h, 1);
	sqlite3_busy_timeout(d->h, busy_ms);
	d->busy_ms = busy_ms;
	/* secure_delete: a removed key or secret hash is overwritten, not left in a free page. */
	/* cache_size: 256 KiB a connection; the daemon has one per worker thread, and the OS page
	 * cache holds the rest of the file for all of them (with a million devices, 1 MiB each
	 * filled to 16 MiB of RSS, for no measurable speed). In WAL mode a connection empties its
	 * cache whenever another one has committed, so under steady writes what a worker holds at
	 * any moment is what its last requests read, up to this much: the soak saw the heap in use
	 * creep up by 4 MB with 512 KiB, as its SCIM list matched more and more users. (One block
	 * of cache kept per connection, SQLITE_CONFIG_PAGECACHE, kept it flat, but every temporary
	 * B-tree got such a block too, and the writer ran at a fraction of its speed: device
	 * authorizations 2,900/s against 9,100-14,000/s, not traced further.) */
	if ((e = sq_exec(d, "PRAGMA cache_size = -256; PRAGMA foreign_keys = ON; "
			"PRAGMA trusted_schema = OFF; PRAGMA secure_delete = ON")) ||
	    (e = sq_exec(d, sync_sql[synchronous])))
		goto fail;
	/* The statements that end a transaction are prepared now: a ROLLBACK that could not be
	 * prepared when memory runs short would leave the transaction open and the write lock
	 * taken, and every other writer locked out. */
	for (i = 0; i < TX_COUNT; i++) {
		rc = sqlite3_prepare_v3(d->h, tx_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->tx[i], NULL);
		if (rc != SQLITE_OK) {
			e = rc_err(rc);
			goto fail;
		}
	}
	*out = d;
	return TS_OK;
fail:
	sq_close(d);
	return e;
}

static void sq_close(db *d)
{
	int i;

	if (!d)
		return;
	for (i = 0; i < TX_COUNT; i++)
		sqlite3_finalize(d->tx[i]);
	for (i = 0; i < SLOTS; i++) {
		sqlite3_finalize(d->slot[i].st.st);
		free(d->slot[i].text);
	}
	sqlite3_close(d->h);
	free(d);
}

static ts_err sq_exec(db *d, const char *sql)
{
	int rc = sqlite3_exec(d->h, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TS_OK : rc_err(rc);
}

static const char *sq_errmsg(db *d)
{
	return sqlite3_errmsg(d->h);
}

static void sq_busy_timeout(db *d, int ms)
{
	sqlite3_busy_timeout(d->h, ms);
}

/* A one-shot statement's first row: its first column as an integer, or as text into buf. */
static ts_err pragma(db *d, const char *sql, int64_t *v, char *buf, size_t n)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc = sqlite3_prepare_v2(d->h, sql, -1, &st, NULL);
	ts_err e = TS_SERVER_ERROR;

	if (rc != SQLITE_OK)
		return rc_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		e = TS_OK;
		if (v)
			*v = sqlite3_column_int64(st, 0);
		if (buf) {
			t = sqlite3_column_text(st, 0);
			snprintf(buf, n, "%s", t ? (const char *)t : "");
		}
	} else if (rc != SQLITE_DONE) {
		e = rc_err(rc);
	}
	sqlite3_finalize(st);
	return e;
}

/* Switches to WAL; an in-memory or temporary database keeps its own mode. */
static ts_err sq_setup(db *d)
{
	char mode[16];
	ts_err e = pragma(d, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode));

	if (!e && !d->memory && strcmp(mode, "wal") != 0)
		e = TS_SERVER_ERROR;
	return e;
}

/* (through the cache: read on every open and migration, and polled by the daemon) */
static ts_err cached_int(db *d, const struct db_sql *q, int64_t *v)
{
	db_stmt *st;
	ts_err e;
	int row;

	if ((e = sq_prepare(d, q, &st)))
		return e;
	if (!(e = sq_step(st, &row))) {
		if (row)
			*v = sq_int(st, 0);
		else
			e = TS_SERVER_ERROR;
	}
	sq_done(st);
	return e;
}

static ts_err sq_schema_version(db *d, int *v)
{
	static const struct db_sql q = {"PRAGMA user_version", NULL, 0};
	int64_t x = 0;
	ts_err e = cached_int(d, &q, &x);

	*v = (int)x;
	return e;
}

static ts_err sq_set_schema_version(db *d, int v)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return sq_exec(d, sql);
}

static ts_err sq_data_version(db *d, int64_t *v)
{
	static const struct db_sql q = {"PRAGMA data_version", NULL, 0};

	return cached_int(d, &q, v);
}

static int sq_synchronous(db *d)
{
	int64_t v;

	/* read back from SQLite, not from what db_open was asked for */
	return pragma(d, "PRAGMA synchronous", &v, NULL, 0) ? -1 : (int)v;
}

/* How long a checkpoint waits for the reads still using the WAL's old frames. */
#define CHECKPOINT_WAIT_MS 50

/* After each commit of the writer's connection, with the WAL's length in frames. SQLite's own
 * automatic checkpoint (PASSIVE) copies the WAL into the database but can start writing the WAL
 * from its beginning again only at a moment when no read is using it, and sixteen busy workers
 * almost never leave one: the soak saw the WAL grow by 40 MiB at every checkpoint, to hundreds
 * of megabytes, and its index (mapped by every connection, searched on every page read) with it.
 * A RESTART checkpoint waits (briefly) for the reads still on the old frames; reads that start
 * meanwhile use the database file alone. When it cannot (a long read: a backup, an sqlite3
 * shell), what could be copied was, and the next try waits for another checkpoint_pages so that
 * commits are not held up one after another. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames)
{
	db *d = arg;
	int rc;

	if (frames < d->checkpoint_at)
		return SQLITE_OK;
	sqlite3_busy_timeout(h, CHECKPOINT_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	sqlite3_busy_timeout(h, d->busy_ms);
	d->checkpoint_at = rc == SQLITE_OK ? d->checkpoint_pages : frames + d->checkpoint_pages;
	return SQLITE_OK;
}

static void sq_tune_writer(db *d, int checkpoint_pages)
{
	d->checkpoint_pages = d->checkpoint_at = checkpoint_pages > 0 ? checkpoint_pages : 1;
	sqlite3_wal_hook(d->h, wal_hook, d);
}

/* --- the statement cache --- */

static int slot_is(const struct slot *sl, const struct db_sql *q, unsigned h)
{
	if (!q->made)
		return sl->q == q;
	return sl->text && sl->hash == h && strcmp(sl->text, q->sql) == 0;
}

/* The least recently used made statement that no one is stepping, to make room; NULL if none. */
static struct slot *made_victim(db *d)
{
	struct slot *v = NULL;
	int i;

	for (i = 0; i < SLOTS; i++) {
		struct slot *sl = &d->slot[i];

		if (sl->text && !sqlite3_stmt_busy(sl->st.st) && (!v || sl->used < v->used))
			v = sl;
	}
	return v;
}

static ts_err prepare_private(db *d, const char *sql, db_stmt **out)
{
	db_stmt *p = malloc(sizeof(*p));
	int rc;

	if (!p)
		return TS_SERVER_ERROR;
	rc = sqlite3_prepare_v3(d->h, sql, -1, 0, &p->st, NULL);
	if (rc != SQLITE_OK) {
		free(p);
		return rc_err(rc);
	}
	p->eng = &db_sqlite_engine;
	p->own = 1;
	*out = p;
	return TS_OK;
}

static ts_err sq_prepare(db *d, const struct db_sql *q, db_stmt **out)
{
	unsigned h = db_sql_hash(q), i;
	struct slot *sl, *free_sl = NULL, *v;
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	int rc;

	*out = NULL;
	for (i = 0; i < SLOTS; i++) {
		sl = &d->slot[(h + i) & (SLOTS - 1)];
		if (!sl->q && !sl->text) {
			if (!free_sl)
				free_sl = sl;
			if (!sl->tomb)
				break;
		} else if (slot_is(sl, q, h)) {
			if (sqlite3_stmt_busy(sl->st.st))
				return prepare_private(d, q->sql, out);
			sl->used = ++d->clock;
			*out = &sl->st;
			return TS_OK;
		}
	}
	if (!free_sl)
		return prepare_private(d, q->sql, out); /* a full cache: a bug, but not a failure */
	if (q->made) {
		if (d->made >= MADE_MAX) {
			if (!(v = made_victim(d)))
				return prepare_private(d, q->sql, out);
			sqlite3_finalize(v->st.st);
			free(v->text);
			memset(v, 0, sizeof(*v));
			v->tomb = 1;
			d->made--;
		}
		if (!(text = strdup(q->sql)))
			return TS_SERVER_ERROR;
	}
	rc = sqlite3_prepare_v3(d->h, q->sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		free(text);
		return rc_err(rc);
	}
	free_sl->q = q->made ? NULL : q;
	free_sl->text = text;
	free_sl->hash = h;
	free_sl->tomb = 0;
	free_sl->used = ++d->clock;
	free_sl->st.st = st;
	free_sl->st.eng = &db_sqlite_engine;
	free_sl->st.own = 0;
	d->made += q->made != 0;
	*out = &free_sl->st;
	return TS_OK;
}

static ts_err sq_bind(db_stmt *st, const struct db_val *v, size_t n)
{
	sqlite3_stmt *s = st->st;
	size_t i;
	int rc = SQLITE_OK, k;

	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		k = (int)i + 1;
		switch (v[i].type) {
		case DB_INT:
			rc = sqlite3_bind_int64(s, k, v[i].i);
			break;
		case DB_INT_OR_NULL:
			rc = v[i].i ? sqlite3_bind_int64(s, k, v[i].i) : sqlite3_bind_null(s, k);
			break;
		case DB_REAL:
			rc = sqlite3_bind_double(s, k, v[i].d);
			break;
		case DB_TEXT:
			rc = v[i].p ? sqlite3_bind_text(s, k, v[i].p, v[i].n, SQLITE_STATIC) :
			     sqlite3_bind_null(s, k);
			break;
		case DB_BLOB:
			rc = v[i].p ? sqlite3_bind_blob(s, k, v[i].p, v[i].n, SQLITE_STATIC) :
			     sqlite3_bind_null(s, k);
			break;
		default:
			rc = sqlite3_bind_null(s, k);
		}
	}
	return rc == SQLITE_OK ? TS_OK : rc_err(rc);
}

static ts_err sq_step(db_stmt *st, int *row)
{
	int rc = sqlite3_step(st->st);

	*row = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? TS_OK : rc_err(rc);
}

static void sq_done(db_stmt *st)
{
	if (!st)
		return;
	if (st->own) {
		sqlite3_finalize(st->st);
		free(st);
		return;
	}
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

static int sq_readonly(db_stmt *st)
{
	return sqlite3_stmt_readonly(st->st);
}

static int64_t sq_changes(db *d)
{
	return sqlite3_changes64(d->h);
}

static enum db_type sq_type(db_stmt *st, int i)
{
	switch (sqlite3_column_type(st->st, i)) {
	case SQLITE_INTEGER:
		return DB_INT;
	case SQLITE_FLOAT:
		return DB_REAL;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

static int64_t sq_int(db_stmt *st, int i)
{
	return sqlite3_column_int64(st->st, i);
}

static const char *sq_text(db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st->st, i);
}

static const void *sq_blob(db_stmt *st, int i)
{
	return sqlite3_column_blob(st->st, i);
}

static int sq_bytes(db_stmt *st, int i)
{
	return sqlite3_column_bytes(st->st, i);
}

/* --- transactions --- */

static ts_err tx_run(db *d, enum tx_id id)
{
	sqlite3_stmt *st = d->tx[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? TS_OK : rc_err(rc);
}

static ts_err sq_begin(db *d)
{
	return tx_run(d, TX_BEGIN);
}

static ts_err sq_commit(db *d)
{
	return tx_run(d, TX_COMMIT);
}

static ts_err sq_rollback(db *d)
{
	return sqlite3_get_autocommit(d->h) ? TS_OK : tx_run(d, TX_ROLLBACK);
}

static int sq_in_transaction(db *d)
{
	return !sqlite3_get_autocommit(d->h);
}

static ts_err sq_savepoint(db *d, int level)
{
	return tx_run(d, level ? TX_SAVEPOINT1 : TX_SAVEPOINT0);
}

static ts_err sq_release(db *d, int level)
{
	return tx_run(d, level ? TX_RELEASE1 : TX_RELEASE0);
}

static ts_err sq_rollback_to(db *d, int level)
{
	return tx_run(d, level ? TX_ROLLBACK_TO1 : TX_ROLLBACK_TO0);
}

const struct db_engine db_sqlite_engine = {
	DB_SQLITE, sq_open, sq_close, sq_exec, sq_errmsg, sq_busy_timeout, sq_setup,
	sq_schema_version, sq_set_schema_version, sq_data_version, sq_synchronous, sq_tune_writer,
	sq_prepare, sq_bind, sq_step, sq_done, sq_readonly, sq_changes, sq_type, sq_int, sq_text,
	sq_blob, sq_bytes, sq_begin, sq_commit, sq_rollback, sq_in_transaction, sq_savepoint,
	sq_release, sq_rollback_to,
};
