/* store.c - all of Tessera's SQL (see store.h).
 *
 * One store is one SQLite connection opened without SQLite's own mutex: it belongs to one thread at
 * a time. Statements are prepared on first use and kept in st[] for the life of the connection;
 * every function resets them and clears their bindings before it returns, so the strings it binds
 * (SQLITE_STATIC) are never used after the call. The `each` functions iterate on statements of
 * their own, so fn may call back into the store. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"
#include "schema.h"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_USER_VERSION,
	ST_DATA_VERSION,
	ST_CLIENT_GET,
	ST_CLIENT_ADD,
	ST_CLIENT_SET_ACTIVE,
	ST_CLIENT_REMOVE,
	ST_CLIENT_EACH,
	ST_USER_GET,
	ST_USER_ADD,
	ST_USER_SET_PASSWORD,
	ST_USER_REMOVE,
	ST_USER_EACH,
	ST_KEY_RETIRE,
	ST_KEY_ADD,
	ST_KEY_CURRENT,
	ST_KEY_EACH,
	ST_KEY_PRUNE,
	ST_REVOKE,
	ST_IS_REVOKED,
	ST_REVOKE_PURGE,
	ST_COUNT
};

#define CLIENT_COLS "client_id, name, is_public, secret_hash, redirect_uris, grant_types, scope, " \
	"refresh_rotation, refresh_grace, active, created_at, updated_at"
#define USER_COLS "id, username, password_hash, email, name, scope, active, created_at, updated_at"
#define KEY_COLS "kid, alg, pem, created_at, retired_at"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_USER_VERSION] = "PRAGMA user_version",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?1",
	[ST_CLIENT_ADD] = "INSERT INTO clients (" CLIENT_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_CLIENT_SET_ACTIVE] = "UPDATE clients SET active = ?2, updated_at = ?3 WHERE client_id = ?1",
	[ST_CLIENT_REMOVE] = "DELETE FROM clients WHERE client_id = ?1",
	[ST_CLIENT_EACH] = "SELECT " CLIENT_COLS " FROM clients ORDER BY client_id",
	[ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE username = ?1",
	[ST_USER_ADD] = "INSERT INTO users (username, password_hash, email, name, scope, active, "
		"created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, updated_at = ?3 "
		"WHERE username = ?1",
	[ST_USER_REMOVE] = "DELETE FROM users WHERE username = ?1",
	[ST_USER_EACH] = "SELECT " USER_COLS " FROM users ORDER BY username, id",
	[ST_KEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
	[ST_KEY_ADD] = "INSERT INTO signing_keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, NULL)",
	[ST_KEY_CURRENT] = "SELECT " KEY_COLS " FROM signing_keys WHERE retired_at IS NULL",
	[ST_KEY_EACH] = "SELECT " KEY_COLS " FROM signing_keys ORDER BY created_at DESC, rowid DESC",
	[ST_KEY_PRUNE] = "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?1",
	[ST_REVOKE] = "INSERT INTO revocations (jti, exp) VALUES (?1, ?2) "
		"ON CONFLICT (jti) DO UPDATE SET exp = max(exp, excluded.exp)",
	[ST_IS_REVOKED] = "SELECT 1 FROM revocations WHERE jti = ?1",
	[ST_REVOKE_PURGE] = "DELETE FROM revocations WHERE exp < ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

/* The ts_err for a failed SQLite call's result code (extended codes are on); never TS_OK, since
 * a success code where a failure was expected is a bug. */
static ts_err rc_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TS_UNAVAILABLE;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return TS_CONFLICT;
		return TS_SERVER_ERROR;
	default:
		return TS_SERVER_ERROR;
	}
}

/* The cached statement id, prepared on first use. */
static ts_err stmt_get(store *s, enum stmt_id id, sqlite3_stmt **out)
{
	int rc;

	if (!s->st[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				&s->st[id], NULL);
		if (rc != SQLITE_OK) {
			s->st[id] = NULL;
			return rc_err(rc);
		}
	}
	*out = s->st[id];
	return TS_OK;
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps st, which must return no rows, to its end and resets it. */
static ts_err stmt_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	ts_err e = rc == SQLITE_DONE ? TS_OK : rc_err(rc);

	stmt_done(st);
	return e;
}

/* Steps st to its first row: TS_OK on a row, TS_NOT_FOUND when there is none. */
static ts_err stmt_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return TS_OK;
	if (rc == SQLITE_DONE)
		return TS_NOT_FOUND;
	return rc_err(rc);
}

/* Runs one of the statements without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
static ts_err stmt_exec(store *s, enum stmt_id id)
{
	sqlite3_stmt *st;
	ts_err e = stmt_get(s, id, &st);

	return e ? e : stmt_run(st);
}

static void rollback(store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		stmt_exec(s, ST_ROLLBACK);
}

/* Bind helpers: each does nothing once rc holds an error, so a run of binds is checked once. */
static int bind_text(sqlite3_stmt *st, int i, const char *v, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_int(sqlite3_stmt *st, int i, int64_t v, int rc)
{
	return rc != SQLITE_OK ? rc : sqlite3_bind_int64(st, i, v);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *v, int n, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return v ? sqlite3_bind_blob(st, i, v, n, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static const char *nz(const char *v)
{
	return v ? v : "";
}

/* Copies text column i of the current row into *out (malloc'd). A NULL column gives NULL when
 * nullable, else "". Returns 0, or -1 when out of memory. */
static int col_text(sqlite3_stmt *st, int i, int nullable, char **out)
{
	const unsigned char *t = (const unsigned char *)"";
	int n = 0;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		if (nullable)
			return 0;
	} else {
		t = sqlite3_column_text(st, i);
		n = sqlite3_column_bytes(st, i);
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

/* Iteration: the cached statement id, or, when a caller further up the stack is still stepping
 * it (fn called the same each again), a private one (*own = 1) that iter_end finalizes. */
static ts_err iter_begin(store *s, enum stmt_id id, sqlite3_stmt **st, int *own)
{
	int rc;

	*own = 0;
	if (!s->st[id] || !sqlite3_stmt_busy(s->st[id]))
		return stmt_get(s, id, st);
	rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, 0, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return rc_err(rc);
	}
	*own = 1;
	return TS_OK;
}

static void iter_end(sqlite3_stmt *st, int own)
{
	if (own)
		sqlite3_finalize(st);
	else
		stmt_done(st);
}

/* Steps statement id and calls row(st, ctx) on each row until it returns non-zero. */
static ts_err each_row(store *s, enum stmt_id id, ts_err (*row)(sqlite3_stmt *st, void *ctx),
		void *ctx)
{
	sqlite3_stmt *st;
	ts_err e;
	int own, rc;

	if ((e = iter_begin(s, id, &st, &own)))
		return e;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((e = row(st, ctx)))
			goto out;
	}
	e = rc == SQLITE_DONE ? TS_OK : rc_err(rc);
out:
	iter_end(st, own);
	return e;
}

/* --- opening and migrations --- */

static ts_err user_version(store *s, int *v)
{
	sqlite3_stmt *st;
	ts_err e;

	if ((e = stmt_get(s, ST_USER_VERSION, &st)))
		return e;
	if (!(e = stmt_row(st)))
		*v = sqlite3_column_int(st, 0);
	else if (e == TS_NOT_FOUND)
		e = TS_SERVER_ERROR;
	stmt_done(st);
	return e;
}

/* Applies each migration i the database lacks, one BEGIN IMMEDIATE transaction each, reading
 * user_version again inside it so that a process migrating at the same time is not repeated. */
static ts_err migrate(store *s)
{
	char sql[64];
	ts_err e;
	int v, i, rc;

	if ((e = user_version(s, &v)))
		return e;
	if (v > schema_sql_count)
		return TS_SERVER_ERROR; /* written by a newer Tessera */
	for (i = v + 1; i <= schema_sql_count; i++) {
		if ((e = stmt_exec(s, ST_BEGIN)))
			return e;
		if ((e = user_version(s, &v)))
			goto fail;
		if (v < i) {
			rc = sqlite3_exec(s->db, schema_sql[i - 1], NULL, NULL, NULL);
			if (rc == SQLITE_OK) {
				snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i);
				rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
			}
			if (rc != SQLITE_OK) {
				e = rc_err(rc);
				goto fail;
			}
		}
		if ((e = stmt_exec(s, ST_COMMIT)))
			goto fail;
	}
	return TS_OK;
fail:
	rollback(s);
	return e;
}

static int is_memory(const char *path)
{
	return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* Switches to WAL; an in-memory or temporary database keeps its own mode. */
static ts_err set_wal(store *s, const char *path)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	ts_err e;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc_err(rc);
	if (!(e = stmt_row(st))) {
		mode = sqlite3_column_text(st, 0);
		if (!is_memory(path) && (!mode || strcmp((const char *)mode, "wal") != 0))
			e = TS_SERVER_ERROR;
	} else if (e == TS_NOT_FOUND) {
		e = TS_SERVER_ERROR;
	}
	sqlite3_finalize(st);
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
static ts_err setup_schema(store *s, const char *path, int busy_ms)
{
	int64_t deadline = now_ms() + busy_ms, left;
	struct timespec nap;
	ts_err e;
	int i;

	for (i = 1;; i++) {
		e = set_wal(s, path);
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
		sqlite3_busy_timeout(s->db, (int)left);
	}
	sqlite3_busy_timeout(s->db, busy_ms);
	return e;
}

ts_err store_open(const char *path, int busy_ms, int synchronous, store **out)
{
	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL",
	};
	store *s = NULL;
	ts_err e = TS_SERVER_ERROR;
	int fd, rc;

	if (out)
		*out = NULL;
	if (!path || !out || synchronous < 0 || synchronous > 2)
		return TS_SERVER_ERROR;
	if (busy_ms < 0)
		busy_ms = 0;
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
	s = calloc(1, sizeof(*s));
	if (!s)
		return TS_SERVER_ERROR;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_ms);
	/* secure_delete: a removed key or secret hash is overwritten, not left in a free page. */
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF; "
			"PRAGMA secure_delete = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
		goto fail;
	}
	rc = sqlite3_exec(s->db, sync_sql[synchronous], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
		goto fail;
	}
	if ((e = setup_schema(s, path, busy_ms)))
		goto fail;
	*out = s;
	return TS_OK;
fail:
	store_close(s);
	return e;
}

void store_close(store *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

int store_schema_version(store *s)
{
	int v;

	if (!s || user_version(s, &v))
		return -1;
	return v;
}

int store_schema_latest(void)
{
	return schema_sql_count;
}

ts_err store_data_version(store *s, int64_t *v)
{
	sqlite3_stmt *st;
	ts_err e;

	if ((e = stmt_get(s, ST_DATA_VERSION, &st)))
		return e;
	if (!(e = stmt_row(st)))
		*v = sqlite3_column_int64(st, 0);
	else if (e == TS_NOT_FOUND)
		e = TS_SERVER_ERROR;
	stmt_done(st);
	return e;
}

/* --- records --- */

static void free_secret(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void store_client_free(struct client *c)
{
	if (!c)
		return;
	explicit_bzero(c->secret_hash, sizeof(c->secret_hash));
	free(c->client_id);
	free(c->name);
	free(c->redirect_uris);
	free(c->grant_types);
	free(c->scope);
	free(c);
}

void store_user_free(struct user *u)
{
	if (!u)
		return;
	free(u->username);
	free_secret(u->password_hash);
	free(u->email);
	free(u->name);
	free(u->scope);
	free(u);
}

void store_key_free(struct key_row *k)
{
	if (!k)
		return;
	free(k->kid);
	free(k->alg);
	free_secret(k->pem);
	free(k);
}

/* --- clients --- */

static ts_err client_read(sqlite3_stmt *st, struct client **out)
{
	struct client *c = calloc(1, sizeof(*c));
	const void *blob;

	*out = NULL;
	if (!c)
		return TS_SERVER_ERROR;
	if (col_text(st, 0, 0, &c->client_id) || col_text(st, 1, 0, &c->name) ||
			col_text(st, 4, 0, &c->redirect_uris) ||
			col_text(st, 5, 0, &c->grant_types) || col_text(st, 6, 0, &c->scope)) {
		store_client_free(c);
		return TS_SERVER_ERROR;
	}
	c->is_public = sqlite3_column_int(st, 2);
	if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
		blob = sqlite3_column_blob(st, 3);
		if (blob && sqlite3_column_bytes(st, 3) == (int)sizeof(c->secret_hash))
			memcpy(c->secret_hash, blob, sizeof(c->secret_hash));
	}
	c->refresh_rotation = sqlite3_column_int(st, 7);
	c->refresh_grace = sqlite3_column_int(st, 8);
	c->active = sqlite3_column_int(st, 9);
	c->created_at = sqlite3_column_int64(st, 10);
	c->updated_at = sqlite3_column_int64(st, 11);
	*out = c;
	return TS_OK;
}

ts_err store_client_get(store *s, const char *client_id, struct client **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !client_id || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CLIENT_GET, &st)))
		return e;
	rc = bind_text(st, 1, client_id, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = client_read(st, out);
	stmt_done(st);
	return e;
}

ts_err store_client_add(store *s, const struct client *c)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !c || !c->client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CLIENT_ADD, &st)))
		return e;
	rc = bind_text(st, 1, c->client_id, SQLITE_OK);
	rc = bind_text(st, 2, nz(c->name), rc);
	rc = bind_int(st, 3, c->is_public != 0, rc);
	rc = bind_blob(st, 4, c->is_public ? NULL : c->secret_hash, sizeof(c->secret_hash), rc);
	rc = bind_text(st, 5, nz(c->redirect_uris), rc);
	rc = bind_text(st, 6, nz(c->grant_types), rc);
	rc = bind_text(st, 7, nz(c->scope), rc);
	rc = bind_int(st, 8, c->refresh_rotation != 0, rc);
	rc = bind_int(st, 9, c->refresh_grace, rc);
	rc = bind_int(st, 10, c->active != 0, rc);
	rc = bind_int(st, 11, c->created_at, rc);
	rc = bind_int(st, 12, c->updated_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

/* Runs st, an UPDATE or DELETE of one row by key that the caller bound (rc: the binds' result):
 * TS_NOT_FOUND when it changed nothing. */
static ts_err run_changes(store *s, sqlite3_stmt *st, int rc)
{
	ts_err e;

	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	if ((e = stmt_run(st)))
		return e;
	return sqlite3_changes(s->db) > 0 ? TS_OK : TS_NOT_FOUND;
}

ts_err store_client_set_active(store *s, const char *client_id, int active, int64_t now)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CLIENT_SET_ACTIVE, &st)))
		return e;
	rc = bind_text(st, 1, client_id, SQLITE_OK);
	rc = bind_int(st, 2, active != 0, rc);
	rc = bind_int(st, 3, now, rc);
	return run_changes(s, st, rc);
}

ts_err store_client_remove(store *s, const char *client_id)
{
	sqlite3_stmt *st;
	ts_err e;

	if (!s || !client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CLIENT_REMOVE, &st)))
		return e;
	return run_changes(s, st, bind_text(st, 1, client_id, SQLITE_OK));
}

struct client_each_ctx {
	int (*fn)(const struct client *c, void *arg);
	void *arg;
};

static ts_err client_each_row(sqlite3_stmt *st, void *ctx)
{
	struct client_each_ctx *x = ctx;
	struct client *c;
	ts_err e;
	int r;

	if ((e = client_read(st, &c)))
		return e;
	r = x->fn(c, x->arg);
	store_client_free(c);
	return r ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_client_each(store *s, int (*fn)(const struct client *c, void *arg), void *arg)
{
	struct client_each_ctx x = {fn, arg};

	if (!s || !fn)
		return TS_SERVER_ERROR;
	return each_row(s, ST_CLIENT_EACH, client_each_row, &x);
}

/* --- users --- */

static ts_err user_read(sqlite3_stmt *st, struct user **out)
{
	struct user *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u)
		return TS_SERVER_ERROR;
	if (col_text(st, 1, 0, &u->username) || col_text(st, 2, 1, &u->password_hash) ||
			col_text(st, 3, 1, &u->email) || col_text(st, 4, 1, &u->name) ||
			col_text(st, 5, 0, &u->scope)) {
		store_user_free(u);
		return TS_SERVER_ERROR;
	}
	u->id = sqlite3_column_int64(st, 0);
	u->active = sqlite3_column_int(st, 6);
	u->created_at = sqlite3_column_int64(st, 7);
	u->updated_at = sqlite3_column_int64(st, 8);
	*out = u;
	return TS_OK;
}

ts_err store_user_get(store *s, const char *username, struct user **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !username || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_GET, &st)))
		return e;
	rc = bind_text(st, 1, username, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = user_read(st, out);
	stmt_done(st);
	return e;
}

ts_err store_user_add(store *s, struct user *u)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !u || !u->username)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_ADD, &st)))
		return e;
	rc = bind_text(st, 1, u->username, SQLITE_OK);
	rc = bind_text(st, 2, u->password_hash, rc);
	rc = bind_text(st, 3, u->email, rc);
	rc = bind_text(st, 4, u->name, rc);
	rc = bind_text(st, 5, nz(u->scope), rc);
	rc = bind_int(st, 6, u->active != 0, rc);
	rc = bind_int(st, 7, u->created_at, rc);
	rc = bind_int(st, 8, u->updated_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	if ((e = stmt_run(st)))
		return e;
	u->id = sqlite3_last_insert_rowid(s->db);
	return TS_OK;
}

ts_err store_user_set_password(store *s, const char *username, const char *hash, int64_t now)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !username)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_SET_PASSWORD, &st)))
		return e;
	rc = bind_text(st, 1, username, SQLITE_OK);
	rc = bind_text(st, 2, hash, rc);
	rc = bind_int(st, 3, now, rc);
	return run_changes(s, st, rc);
}

ts_err store_user_remove(store *s, const char *username)
{
	sqlite3_stmt *st;
	ts_err e;

	if (!s || !username)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_REMOVE, &st)))
		return e;
	return run_changes(s, st, bind_text(st, 1, username, SQLITE_OK));
}

struct user_each_ctx {
	int (*fn)(const struct user *u, void *arg);
	void *arg;
};

static ts_err user_each_row(sqlite3_stmt *st, void *ctx)
{
	struct user_each_ctx *x = ctx;
	struct user *u;
	ts_err e;
	int r;

	if ((e = user_read(st, &u)))
		return e;
	r = x->fn(u, x->arg);
	store_user_free(u);
	return r ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_user_each(store *s, int (*fn)(const struct user *u, void *arg), void *arg)
{
	struct user_each_ctx x = {fn, arg};

	if (!s || !fn)
		return TS_SERVER_ERROR;
	return each_row(s, ST_USER_EACH, user_each_row, &x);
}

/* --- signing keys --- */

static ts_err key_read(sqlite3_stmt *st, struct key_row **out)
{
	struct key_row *k = calloc(1, sizeof(*k));

	*out = NULL;
	if (!k)
		return TS_SERVER_ERROR;
	if (col_text(st, 0, 0, &k->kid) || col_text(st, 1, 0, &k->alg) ||
			col_text(st, 2, 0, &k->pem)) {
		store_key_free(k);
		return TS_SERVER_ERROR;
	}
	k->created_at = sqlite3_column_int64(st, 3);
	k->retired_at = sqlite3_column_int64(st, 4); /* NULL reads as 0 */
	*out = k;
	return TS_OK;
}

ts_err store_key_add(store *s, const struct key_row *k)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !k || !k->kid || !k->alg || !k->pem)
		return TS_SERVER_ERROR;
	if ((e = stmt_exec(s, ST_BEGIN)))
		return e;
	if ((e = stmt_get(s, ST_KEY_RETIRE, &st)))
		goto fail;
	rc = bind_int(st, 1, k->created_at, SQLITE_OK);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		e = rc_err(rc);
		goto fail;
	}
	if ((e = stmt_run(st)))
		goto fail;
	if ((e = stmt_get(s, ST_KEY_ADD, &st)))
		goto fail;
	rc = bind_text(st, 1, k->kid, SQLITE_OK);
	rc = bind_text(st, 2, k->alg, rc);
	rc = bind_text(st, 3, k->pem, rc);
	rc = bind_int(st, 4, k->created_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		e = rc_err(rc);
		goto fail;
	}
	if ((e = stmt_run(st)))
		goto fail;
	if ((e = stmt_exec(s, ST_COMMIT)))
		goto fail;
	return TS_OK;
fail:
	rollback(s);
	return e;
}

ts_err store_key_current(store *s, struct key_row **out)
{
	sqlite3_stmt *st;
	ts_err e;

	if (out)
		*out = NULL;
	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_KEY_CURRENT, &st)))
		return e;
	if (!(e = stmt_row(st)))
		e = key_read(st, out);
	stmt_done(st);
	return e;
}

struct key_each_ctx {
	int (*fn)(const struct key_row *k, void *arg);
	void *arg;
};

static ts_err key_each_row(sqlite3_stmt *st, void *ctx)
{
	struct key_each_ctx *x = ctx;
	struct key_row *k;
	ts_err e;
	int r;

	if ((e = key_read(st, &k)))
		return e;
	r = x->fn(k, x->arg);
	store_key_free(k);
	return r ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_key_each(store *s, int (*fn)(const struct key_row *k, void *arg), void *arg)
{
	struct key_each_ctx x = {fn, arg};

	if (!s || !fn)
		return TS_SERVER_ERROR;
	return each_row(s, ST_KEY_EACH, key_each_row, &x);
}

/* Runs cached statement id with one integer parameter and no rows. */
static ts_err run_int(store *s, enum stmt_id id, int64_t v)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if ((e = stmt_get(s, id, &st)))
		return e;
	rc = bind_int(st, 1, v, SQLITE_OK);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

ts_err store_key_prune(store *s, int64_t before)
{
	if (!s)
		return TS_SERVER_ERROR;
	return run_int(s, ST_KEY_PRUNE, before);
}

/* --- revocations --- */

ts_err store_revoke_jti(store *s, const char *jti, int64_t exp)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !jti)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_REVOKE, &st)))
		return e;
	rc = bind_text(st, 1, jti, SQLITE_OK);
	rc = bind_int(st, 2, exp, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

ts_err store_is_revoked(store *s, const char *jti, int *revoked)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (revoked)
		*revoked = 0;
	if (!s || !jti || !revoked)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_IS_REVOKED, &st)))
		return e;
	rc = bind_text(st, 1, jti, SQLITE_OK);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
	} else {
		e = stmt_row(st);
		if (e == TS_OK)
			*revoked = 1;
		else if (e == TS_NOT_FOUND)
			e = TS_OK;
	}
	stmt_done(st);
	return e;
}

ts_err store_revocations_purge(store *s, int64_t now)
{
	if (!s)
		return TS_SERVER_ERROR;
	return run_int(s, ST_REVOKE_PURGE, now);
}
