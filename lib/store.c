/* store.c - all of Tessera's SQL (see store.h).
 *
 * One store is one SQLite connection opened without SQLite's own mutex: it belongs to one thread at
 * a time. Statements are prepared on first use and kept in st[] for the life of the connection;
 * every function resets them and clears their bindings before it returns, so the strings it binds
 * (SQLITE_STATIC) are never used after the call. The `each` functions iterate on statements of
 * their own, so fn may call back into the store. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store.h"
#include "store_priv.h"
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
	ST_USER_SET_ACTIVE,
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
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_USER_GET_ID,
	ST_GRANT_FIND,
	ST_GRANT_GET,
	ST_GRANT_ADD,
	ST_GRANT_SET_SCOPE,
	ST_GRANT_REVOKE,
	ST_CODE_ADD,
	ST_CODE_TAKE,
	ST_CODE_GET,
	ST_CODES_PURGE,
	ST_SESSION_ADD,
	ST_SESSION_GET,
	ST_SESSION_REMOVE,
	ST_SESSIONS_PURGE,
	ST_CONSENT_GET,
	ST_CONSENT_ADD,
	ST_REFRESH_ADD,
	ST_REFRESH_GET,
	ST_JOB_SAVEPOINT,
	ST_JOB_RELEASE,
	ST_JOB_ROLLBACK_TO,
	ST_REFRESH_USE,
	ST_REFRESH_GRACE,
	ST_REFRESH_TOUCH,
	ST_GRANT_EACH_ALL,
	ST_GRANT_EACH_USER,
	ST_GRANT_EACH_CLIENT,
	ST_GRANT_EACH_BOTH,
	ST_SECRET_GET,
	ST_SECRET_ADD,
	ST_DEVICE_ADD,
	ST_DEVICE_GET,
	ST_DEVICE_BY_USER_CODE,
	ST_DEVICE_DECIDE,
	ST_DEVICE_REDEEM,
	ST_DEVICES_PURGE,
	ST_COUNTER_NEXT,
	ST_USER_RIGHTS,
	ST_REFRESH_ADD_SUCCESSOR,
	ST_REFRESH_SCOPES,
	ST_REFRESH_SET_SCOPE,
	ST_COUNT
};

#define CLIENT_COLS "client_id, name, is_public, secret_hash, redirect_uris, grant_types, scope, " \
	"refresh_rotation, refresh_grace, active, created_at, updated_at, refresh_idle_ttl, " \
	"grant_lifetime, external_id, record, post_logout_redirect_uris"
/* Users are read as "users r": with the scope their groups add, and their groups as SCIM
 * shows them (a JSON array of {value, display}). */
#define USER_COLS "r.id, r.username, r.password_hash, r.email, r.name, r.scope, r.active, " \
	"r.created_at, r.updated_at, r.external_id, r.attrs, " \
	"(SELECT group_concat(g.scope, ' ') FROM group_members m JOIN groups g " \
	"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> ''), " \
	"(SELECT json_group_array(json_object('value', CAST(g.id AS TEXT), 'display', " \
	"g.display_name)) FROM group_members m JOIN groups g ON g.id = m.group_id " \
	"WHERE m.user_id = r.id)"
#define KEY_COLS "kid, alg, pem, created_at, retired_at"
#define GRANT_COLS "id, client_id, user_id, scope, created_at, updated_at, revoked_at, " \
	"client_record"
#define CODE_COLS "code_hash, client_id, user_id, grant_id, redirect_uri, redirect_given, " \
	"challenge, scope, nonce, auth_time, created_at, expires_at, used_at"
#define SESSION_COLS "id_hash, user_id, auth_time, created_at, expires_at"
#define DEVICE_COLS "device_hash, user_code, client_id, scope, created_at, expires_at, interval, " \
	"status, user_id, grant_id, granted, auth_time"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_USER_VERSION] = "PRAGMA user_version",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_CLIENT_GET] = "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?1",
	[ST_CLIENT_ADD] = "INSERT INTO clients (" CLIENT_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[ST_CLIENT_SET_ACTIVE] = "UPDATE clients SET active = ?2, updated_at = ?3 WHERE client_id = ?1",
	[ST_USER_SET_ACTIVE] = "UPDATE users SET active = ?2, updated_at = ?3 WHERE username = ?1",
	[ST_CLIENT_REMOVE] = "DELETE FROM clients WHERE client_id = ?1",
	[ST_CLIENT_EACH] = "SELECT " CLIENT_COLS " FROM clients ORDER BY client_id",
	[ST_USER_GET] = "SELECT " USER_COLS " FROM users r WHERE r.username = ?1",
	/* without SCIM attributes, an email becomes the user's one, primary SCIM email */
	[ST_USER_ADD] = "INSERT INTO users (username, password_hash, email, name, scope, active, "
		"created_at, updated_at, external_id, attrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
		"coalesce(?10, CASE WHEN ?3 IS NULL THEN '{}' ELSE json_object('emails', "
		"json_array(json_object('value', ?3, 'primary', json('true')))) END))",
	[ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, updated_at = ?3 "
		"WHERE username = ?1",
	[ST_USER_REMOVE] = "DELETE FROM users WHERE username = ?1",
	[ST_USER_EACH] = "SELECT " USER_COLS " FROM users r ORDER BY r.username, r.id",
	[ST_KEY_RETIRE] = "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
	[ST_KEY_ADD] = "INSERT INTO signing_keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, NULL)",
	[ST_KEY_CURRENT] = "SELECT " KEY_COLS " FROM signing_keys WHERE retired_at IS NULL",
	[ST_KEY_EACH] = "SELECT " KEY_COLS " FROM signing_keys ORDER BY created_at DESC, rowid DESC",
	[ST_KEY_PRUNE] = "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?1",
	[ST_REVOKE] = "INSERT INTO revocations (jti, exp) VALUES (?1, ?2) "
		"ON CONFLICT (jti) DO UPDATE SET exp = max(exp, excluded.exp)",
	[ST_IS_REVOKED] = "SELECT 1 FROM revocations WHERE jti = ?1",
	[ST_REVOKE_PURGE] = "DELETE FROM revocations WHERE exp < ?1",
	[ST_SAVEPOINT] = "SAVEPOINT store_fn",
	[ST_RELEASE] = "RELEASE store_fn",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store_fn",
	[ST_USER_GET_ID] = "SELECT " USER_COLS " FROM users r WHERE r.id = ?1",
	/* ?1 NULL finds a client-only grant (several may be active: the newest) */
	[ST_GRANT_FIND] = "SELECT " GRANT_COLS " FROM grants WHERE user_id IS ?1 AND client_id = ?2 "
		"AND revoked_at IS NULL ORDER BY id DESC LIMIT 1",
	[ST_GRANT_GET] = "SELECT " GRANT_COLS " FROM grants WHERE id = ?1",
	[ST_GRANT_ADD] = "INSERT INTO grants (client_id, user_id, scope, created_at, updated_at, "
		"revoked_at, client_record) VALUES (?1, ?2, ?3, ?4, ?4, ?5, "
		"coalesce((SELECT record FROM clients WHERE client_id = ?1), 0))",
	[ST_GRANT_SET_SCOPE] = "UPDATE grants SET scope = ?2, updated_at = ?3 WHERE id = ?1",
	/* matches the row whether or not it was revoked, so changes() tells only whether it exists */
	[ST_GRANT_REVOKE] = "UPDATE grants SET revoked_at = coalesce(revoked_at, ?2), "
		"updated_at = CASE WHEN revoked_at IS NULL THEN ?2 ELSE updated_at END WHERE id = ?1",
	[ST_CODE_ADD] = "INSERT INTO codes (" CODE_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	/* one statement: of two racing connections only one finds used_at still NULL */
	[ST_CODE_TAKE] = "UPDATE codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL "
		"RETURNING " CODE_COLS,
	[ST_CODE_GET] = "SELECT " CODE_COLS " FROM codes WHERE code_hash = ?1",
	[ST_CODES_PURGE] = "DELETE FROM codes WHERE expires_at < ?1",
	[ST_SESSION_ADD] = "INSERT INTO sessions (" SESSION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)",
	/* a disabled user's session is no session (008 also deletes it when the user is disabled) */
	[ST_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions "
		"WHERE id_hash = ?1 AND expires_at > ?2 "
		"AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.active = 1)",
	[ST_SESSION_REMOVE] = "DELETE FROM sessions WHERE id_hash = ?1",
	[ST_SESSIONS_PURGE] = "DELETE FROM sessions WHERE expires_at <= ?1",
	[ST_CONSENT_GET] = "SELECT scope_token FROM consents WHERE user_id = ?1 AND client_id = ?2 "
		"ORDER BY scope_token",
	[ST_CONSENT_ADD] = "INSERT INTO consents (user_id, client_id, scope_token, created_at) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[ST_REFRESH_ADD] = "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, "
		"used_at, scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_REFRESH_GET] = "SELECT grant_id, created_at, expires_at, used_at, grace_used, successor_ms, "
		"scope FROM refresh_tokens WHERE token_hash = ?1",
	[ST_JOB_SAVEPOINT] = "SAVEPOINT job",
	[ST_JOB_RELEASE] = "RELEASE job",
	[ST_JOB_ROLLBACK_TO] = "ROLLBACK TO job",
	/* one statement each, with the condition in the WHERE: of two racing connections only one
	 * finds the row still current (or its grace unused) and changes it */
	[ST_REFRESH_USE] = "UPDATE refresh_tokens SET used_at = ?2, successor_ms = ?3 "
		"WHERE token_hash = ?1 AND used_at IS NULL",
	[ST_REFRESH_GRACE] = "UPDATE refresh_tokens SET grace_used = 1 "
		"WHERE token_hash = ?1 AND grace_used = 0",
	[ST_REFRESH_TOUCH] = "UPDATE refresh_tokens SET expires_at = ?2 "
		"WHERE token_hash = ?1 AND used_at IS NULL",
	/* four statements rather than "?1 IS NULL OR ...", so that each can use its index */
	[ST_GRANT_EACH_ALL] = "SELECT " GRANT_COLS " FROM grants ORDER BY id",
	[ST_GRANT_EACH_USER] = "SELECT " GRANT_COLS " FROM grants WHERE user_id IN "
		"(SELECT id FROM users WHERE username = ?1 COLLATE NOCASE) ORDER BY id",
	[ST_GRANT_EACH_CLIENT] = "SELECT " GRANT_COLS " FROM grants WHERE client_id = ?2 "
		"ORDER BY id",
	[ST_GRANT_EACH_BOTH] = "SELECT " GRANT_COLS " FROM grants WHERE user_id IN "
		"(SELECT id FROM users WHERE username = ?1 COLLATE NOCASE) AND client_id = ?2 "
		"ORDER BY id",
	[ST_SECRET_GET] = "SELECT value FROM secrets WHERE name = ?1",
	/* a racing process may have inserted it first: then its value is the one read back */
	[ST_SECRET_ADD] = "INSERT INTO secrets (name, value) VALUES (?1, ?2) "
		"ON CONFLICT (name) DO NOTHING",
	[ST_DEVICE_ADD] = "INSERT INTO device_codes (device_hash, user_code, client_id, scope, "
		"created_at, expires_at, interval, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
	[ST_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM device_codes WHERE device_hash = ?1",
	[ST_DEVICE_BY_USER_CODE] = "SELECT " DEVICE_COLS " FROM device_codes WHERE user_code = ?1",
	/* one statement each, with the condition in the WHERE: of two racing connections only one
	 * finds the row still pending (or approved) and moves it on */
	[ST_DEVICE_DECIDE] = "UPDATE device_codes SET status = ?2, user_id = ?3, grant_id = ?4, "
		"granted = ?5, auth_time = ?6 WHERE user_code = ?1 AND status = 0 AND expires_at > ?7",
	[ST_DEVICE_REDEEM] = "UPDATE device_codes SET status = 3 "
		"WHERE device_hash = ?1 AND status = 1",
	[ST_DEVICES_PURGE] = "DELETE FROM device_codes WHERE expires_at < ?1",
	[ST_COUNTER_NEXT] = "INSERT INTO counters (name, value) VALUES (?1, 1) "
		"ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
	/* what the token paths need of a user: not the SCIM attributes nor the groups' JSON */
	[ST_USER_RIGHTS] = "SELECT r.id, r.username, r.scope, r.active, "
		"(SELECT group_concat(g.scope, ' ') FROM group_members m JOIN groups g "
		"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> '') FROM users r WHERE r.id = ?1",
	/* the successor keeps the chain's grant and scope as they are in the writer's transaction */
	[ST_REFRESH_ADD_SUCCESSOR] = "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, "
		"expires_at, scope) SELECT ?1, grant_id, ?2, ?3, scope FROM refresh_tokens "
		"WHERE token_hash = ?4",
	[ST_REFRESH_SCOPES] = "SELECT token_hash, scope FROM refresh_tokens WHERE grant_id = ?1 "
		"AND used_at IS NULL AND scope IS NOT NULL",
	[ST_REFRESH_SET_SCOPE] = "UPDATE refresh_tokens SET scope = ?2 WHERE token_hash = ?1",
};

/* Statements of fixed text prepared by store_stmt (store_scim.c), keyed by the text's address. */
#define DYN_MAX 64

/* Statements of SQL text made at run time (SCIM list queries), kept by their text: the same
 * filter shape with other values is the same text, so a busy look-up is prepared once. */
#define TEXT_MAX 16

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	const char *dyn_sql[DYN_MAX];
	sqlite3_stmt *dyn[DYN_MAX];
	char *text_sql[TEXT_MAX];     /* most recently used first */
	sqlite3_stmt *text[TEXT_MAX];
	int busy_ms;
	int checkpoint_pages;         /* the writer's: WAL frames between checkpoints */
	int checkpoint_at;            /* and the WAL frames that call for the next one */
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

/* A function whose writes must land together wraps them in tx_start .. tx_end (tx_abort on
 * failure). With no transaction open that is BEGIN IMMEDIATE .. COMMIT; inside the caller's
 * store_begin it is a savepoint, so that the writes commit or roll back with the caller's, and a
 * failure undoes only this function's part and leaves the caller's transaction open. */
static ts_err tx_start(store *s, int *nested)
{
	*nested = !sqlite3_get_autocommit(s->db);
	return stmt_exec(s, *nested ? ST_SAVEPOINT : ST_BEGIN);
}

static ts_err tx_end(store *s, int nested)
{
	return stmt_exec(s, nested ? ST_RELEASE : ST_COMMIT);
}

static void tx_abort(store *s, int nested)
{
	if (!nested) {
		rollback(s);
	} else if (!sqlite3_get_autocommit(s->db)) {
		/* (when SQLite itself rolled the whole transaction back, there is nothing to undo) */
		if (stmt_exec(s, ST_ROLLBACK_TO) == TS_OK)
			stmt_exec(s, ST_RELEASE);
	}
}


static int bind_blob(sqlite3_stmt *st, int i, const void *v, int n, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return v ? sqlite3_bind_blob(st, i, v, n, SQLITE_STATIC) : sqlite3_bind_null(st, i);
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
				fprintf(stderr, "tessera: schema migration %d: %s\n", i, sqlite3_errmsg(s->db));
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

/* Before SQLite's first use: no memory statistics. Keeping them takes a process-wide mutex on
 * every allocation, which the daemon's worker threads, each on its own connection, then queue
 * on (measured: SCIM look-ups spent a third of their time in futex waits). */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

ts_err store_open(const char *path, int busy_ms, int synchronous, store **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	static const char *const sync_sql[] = {
		"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL",
	};
	static const enum stmt_id tx_end_ids[] = {
		ST_COMMIT, ST_ROLLBACK, ST_RELEASE, ST_ROLLBACK_TO, ST_JOB_RELEASE, ST_JOB_ROLLBACK_TO,
	};
	sqlite3_stmt *st;
	store *s = NULL;
	ts_err e = TS_SERVER_ERROR;
	int fd, rc, i;

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
	pthread_once(&once, sqlite_setup);
	s = calloc(1, sizeof(*s));
	if (!s)
		return TS_SERVER_ERROR;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_ms);
	s->busy_ms = busy_ms;
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
	rc = sqlite3_exec(s->db, "PRAGMA cache_size = -256; PRAGMA foreign_keys = ON; "
			"PRAGMA trusted_schema = OFF; "
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
	/* The statements that end a transaction are prepared now: a ROLLBACK that could not be
	 * prepared when memory runs short would leave the transaction open and the write lock
	 * taken, and every other writer locked out. */
	for (i = 0; i < (int)(sizeof(tx_end_ids) / sizeof(tx_end_ids[0])); i++) {
		if ((e = stmt_get(s, tx_end_ids[i], &st)))
			goto fail;
	}
	if ((e = setup_schema(s, path, busy_ms)))
		goto fail;
	/* Every other statement now too (a quarter of a megabyte a connection): prepared on first
	 * use instead, a daemon's sixteen worker connections each filled up over hours, as requests
	 * of every kind happened to reach them (the soak saw RSS creep 5 MB). One that cannot be
	 * prepared now (memory short) is tried again on its first use. */
	for (i = 0; i < ST_COUNT; i++)
		stmt_get(s, (enum stmt_id)i, &st);
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
	for (i = 0; i < DYN_MAX; i++)
		sqlite3_finalize(s->dyn[i]);
	for (i = 0; i < TEXT_MAX; i++) {
		sqlite3_finalize(s->text[i]);
		free(s->text_sql[i]);
	}
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

int store_synchronous(store *s)
{
	sqlite3_stmt *st;
	int v = -1;

	/* read back from SQLite, not from what store_open was asked for */
	if (!s || sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
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
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	store *s = arg;
	int rc;

	if (frames < s->checkpoint_at)
		return SQLITE_OK;
	sqlite3_busy_timeout(db, CHECKPOINT_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	sqlite3_busy_timeout(db, s->busy_ms);
	s->checkpoint_at = rc == SQLITE_OK ? s->checkpoint_pages : frames + s->checkpoint_pages;
	return SQLITE_OK;
}

void store_tune_writer(store *s, int checkpoint_pages)
{
	s->checkpoint_pages = s->checkpoint_at = checkpoint_pages > 0 ? checkpoint_pages : 1;
	sqlite3_wal_hook(s->db, wal_hook, s);
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
	free(c->post_logout_redirect_uris);
	free(c->grant_types);
	free(c->scope);
	free(c->external_id);
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
	free(u->external_id);
	free(u->attrs);
	free(u->group_scope);
	free(u->groups);
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
	c->refresh_idle_ttl = sqlite3_column_int(st, 12);
	c->grant_lifetime = sqlite3_column_int(st, 13);
	if (col_text(st, 14, 1, &c->external_id)) {
		store_client_free(c);
		return TS_SERVER_ERROR;
	}
	c->record = sqlite3_column_int64(st, 15);
	if (col_text(st, 16, 0, &c->post_logout_redirect_uris)) {
		store_client_free(c);
		return TS_SERVER_ERROR;
	}
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

/* The next number of counter name (1 the first time), taken in the caller's transaction. */
static ts_err counter_next(store *s, const char *name, int64_t *v)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if ((e = stmt_get(s, ST_COUNTER_NEXT, &st)))
		return e;
	rc = bind_text(st, 1, name, SQLITE_OK);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
	} else if (!(e = stmt_row(st))) {
		*v = sqlite3_column_int64(st, 0);
		/* step to the end so the statement completes before it is reset */
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			e = rc_err(rc);
	} else if (e == TS_NOT_FOUND) {
		e = TS_SERVER_ERROR;
	}
	stmt_done(st);
	return e;
}

/* The client and its record number land together: a failed insert gives the number back. */
ts_err store_client_add(store *s, const struct client *c)
{
	sqlite3_stmt *st;
	int64_t record = 0;
	ts_err e;
	int rc, nested;

	if (!s || !c || !c->client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CLIENT_ADD, &st)))
		return e;
	if ((e = tx_start(s, &nested)))
		return e;
	if ((e = counter_next(s, "client-record", &record)))
		goto fail;
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
	rc = bind_int(st, 13, c->refresh_idle_ttl, rc);
	rc = bind_int(st, 14, c->grant_lifetime, rc);
	rc = bind_text(st, 15, c->external_id, rc);
	rc = bind_int(st, 16, record, rc);
	rc = bind_text(st, 17, nz(c->post_logout_redirect_uris), rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		e = rc_err(rc);
		goto fail;
	}
	if ((e = stmt_run(st)) || (e = tx_end(s, nested)))
		goto fail;
	return TS_OK;
fail:
	tx_abort(s, nested);
	return e;
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

ts_err store_user_set_active(store *s, const char *username, int active, int64_t now)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !username)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_SET_ACTIVE, &st)))
		return e;
	rc = bind_text(st, 1, username, SQLITE_OK);
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
			col_text(st, 5, 0, &u->scope) || col_text(st, 9, 1, &u->external_id) ||
			col_text(st, 10, 0, &u->attrs) || col_text(st, 11, 0, &u->group_scope) ||
			col_text(st, 12, 0, &u->groups)) {
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
	rc = bind_text(st, 9, u->external_id, rc);
	rc = bind_text(st, 10, u->attrs, rc);
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
	int rc, nested;

	if (!s || !k || !k->kid || !k->alg || !k->pem)
		return TS_SERVER_ERROR;
	if ((e = tx_start(s, &nested)))
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
	if ((e = tx_end(s, nested)))
		goto fail;
	return TS_OK;
fail:
	tx_abort(s, nested);
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

/* --- explicit transactions --- */

ts_err store_begin(store *s)
{
	if (!s)
		return TS_SERVER_ERROR;
	return stmt_exec(s, ST_BEGIN);
}

/* A failed COMMIT rolls back, so no transaction is left open whatever happens. */
ts_err store_commit(store *s)
{
	ts_err e;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = stmt_exec(s, ST_COMMIT)))
		rollback(s);
	return e;
}

void store_rollback(store *s)
{
	if (s)
		rollback(s);
}

/* --- users by id --- */

ts_err store_user_get_id(store *s, int64_t id, struct user **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_GET_ID, &st)))
		return e;
	rc = bind_int(st, 1, id, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = user_read(st, out);
	stmt_done(st);
	return e;
}

static ts_err user_rights_read(sqlite3_stmt *st, struct user **out)
{
	struct user *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u)
		return TS_SERVER_ERROR;
	u->id = sqlite3_column_int64(st, 0);
	u->active = sqlite3_column_int(st, 3);
	if (col_text(st, 1, 0, &u->username) || col_text(st, 2, 0, &u->scope) ||
			col_text(st, 4, 0, &u->group_scope)) {
		store_user_free(u);
		return TS_SERVER_ERROR;
	}
	*out = u;
	return TS_OK;
}

ts_err store_user_rights(store *s, int64_t id, struct user **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_USER_RIGHTS, &st)))
		return e;
	rc = bind_int(st, 1, id, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = user_rights_read(st, out);
	stmt_done(st);
	return e;
}

/* --- grants --- */

/* Binds v at i, or NULL when v is 0 (a grant without user, a code not yet used). */
static int bind_int_or_null(sqlite3_stmt *st, int i, int64_t v, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

void store_grant_free(struct grant *g)
{
	if (!g)
		return;
	free(g->client_id);
	free(g->scope);
	free(g->username);
	free(g);
}

static ts_err grant_read(sqlite3_stmt *st, struct grant **out)
{
	struct grant *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return TS_SERVER_ERROR;
	if (col_text(st, 1, 0, &g->client_id) || col_text(st, 3, 0, &g->scope)) {
		store_grant_free(g);
		return TS_SERVER_ERROR;
	}
	g->id = sqlite3_column_int64(st, 0);
	g->user_id = sqlite3_column_int64(st, 2); /* NULL reads as 0 */
	g->created_at = sqlite3_column_int64(st, 4);
	g->updated_at = sqlite3_column_int64(st, 5);
	g->revoked_at = sqlite3_column_int64(st, 6);
	g->client_record = sqlite3_column_int64(st, 7);
	*out = g;
	return TS_OK;
}

/* Runs cached statement st (binds' result rc) expecting at most one grant row into *out. */
static ts_err grant_one(sqlite3_stmt *st, int rc, struct grant **out)
{
	ts_err e;

	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = grant_read(st, out);
	stmt_done(st);
	return e;
}

ts_err store_grant_find(store *s, int64_t user_id, const char *client_id, struct grant **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !client_id || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_GRANT_FIND, &st)))
		return e;
	rc = bind_int_or_null(st, 1, user_id, SQLITE_OK);
	rc = bind_text(st, 2, client_id, rc);
	return grant_one(st, rc, out);
}

ts_err store_grant_get(store *s, int64_t id, struct grant **out)
{
	sqlite3_stmt *st;
	ts_err e;

	if (out)
		*out = NULL;
	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_GRANT_GET, &st)))
		return e;
	return grant_one(st, bind_int(st, 1, id, SQLITE_OK), out);
}

ts_err store_grant_add(store *s, struct grant *g)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !g || !g->client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_GRANT_ADD, &st)))
		return e;
	rc = bind_text(st, 1, g->client_id, SQLITE_OK);
	rc = bind_int_or_null(st, 2, g->user_id, rc);
	rc = bind_text(st, 3, nz(g->scope), rc);
	rc = bind_int(st, 4, g->created_at, rc);
	rc = bind_int_or_null(st, 5, g->revoked_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	if ((e = stmt_run(st)))
		return e;
	g->id = sqlite3_last_insert_rowid(s->db);
	g->updated_at = g->created_at;
	return TS_OK;
}

ts_err store_grant_set_scope(store *s, int64_t id, const char *scope, int64_t now)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !scope)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_GRANT_SET_SCOPE, &st)))
		return e;
	rc = bind_int(st, 1, id, SQLITE_OK);
	rc = bind_text(st, 2, scope, rc);
	rc = bind_int(st, 3, now, rc);
	return run_changes(s, st, rc);
}

ts_err store_grant_revoke(store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_GRANT_REVOKE, &st)))
		return e;
	rc = bind_int(st, 1, id, SQLITE_OK);
	rc = bind_int(st, 2, now, rc);
	return run_changes(s, st, rc);
}

/* --- authorization codes --- */

void store_code_free(struct code *c)
{
	if (!c)
		return;
	free(c->client_id);
	free(c->redirect_uri);
	free(c->challenge);
	free(c->scope);
	free(c->nonce);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* Copies a 32-byte hash column into h; TS_SERVER_ERROR when it is not one (the schema's CHECK
 * makes that a corrupt database). */
static ts_err col_hash(sqlite3_stmt *st, int i, unsigned char h[32])
{
	const void *blob = sqlite3_column_blob(st, i);

	if (!blob || sqlite3_column_bytes(st, i) != 32)
		return TS_SERVER_ERROR;
	memcpy(h, blob, 32);
	return TS_OK;
}

static ts_err code_read(sqlite3_stmt *st, struct code **out)
{
	struct code *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return TS_SERVER_ERROR;
	if (col_hash(st, 0, c->hash) || col_text(st, 1, 0, &c->client_id) ||
			col_text(st, 4, 0, &c->redirect_uri) || col_text(st, 6, 0, &c->challenge) ||
			col_text(st, 7, 0, &c->scope) || col_text(st, 8, 1, &c->nonce)) {
		store_code_free(c);
		return TS_SERVER_ERROR;
	}
	c->user_id = sqlite3_column_int64(st, 2);
	c->grant_id = sqlite3_column_int64(st, 3);
	c->redirect_given = sqlite3_column_int(st, 5);
	c->auth_time = sqlite3_column_int64(st, 9);
	c->created_at = sqlite3_column_int64(st, 10);
	c->expires_at = sqlite3_column_int64(st, 11);
	c->used_at = sqlite3_column_int64(st, 12); /* NULL reads as 0 */
	*out = c;
	return TS_OK;
}

ts_err store_code_add(store *s, const struct code *c)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !c || !c->client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CODE_ADD, &st)))
		return e;
	rc = bind_blob(st, 1, c->hash, sizeof(c->hash), SQLITE_OK);
	rc = bind_text(st, 2, c->client_id, rc);
	rc = bind_int(st, 3, c->user_id, rc);
	rc = bind_int(st, 4, c->grant_id, rc);
	rc = bind_text(st, 5, nz(c->redirect_uri), rc);
	rc = bind_int(st, 6, c->redirect_given != 0, rc);
	rc = bind_text(st, 7, nz(c->challenge), rc);
	rc = bind_text(st, 8, nz(c->scope), rc);
	rc = bind_text(st, 9, c->nonce, rc);
	rc = bind_int(st, 10, c->auth_time, rc);
	rc = bind_int(st, 11, c->created_at, rc);
	rc = bind_int(st, 12, c->expires_at, rc);
	rc = bind_int_or_null(st, 13, c->used_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

ts_err store_code_get(store *s, const unsigned char hash[32], struct code **out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		*out = NULL;
	if (!s || !hash || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CODE_GET, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = code_read(st, out);
	stmt_done(st);
	return e;
}

/* The UPDATE ... RETURNING marks the code used and reads it in one statement, so nothing can come
 * between the two; when it matched nothing, the plain read tells a used code from an unknown one.
 * It runs in a transaction (a savepoint in the caller's) so that a read of the row that fails
 * (out of memory) does not leave the code used up behind an error. */
ts_err store_code_take(store *s, const unsigned char hash[32], int64_t now, struct code **out)
{
	sqlite3_stmt *st;
	ts_err e, end;
	int rc, nested;

	if (out)
		*out = NULL;
	if (!s || !hash || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CODE_TAKE, &st)))
		return e;
	if ((e = tx_start(s, &nested)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	rc = bind_int(st, 2, now, rc);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
	} else if (!(e = stmt_row(st))) {
		e = code_read(st, out);
		/* step to the end so the statement completes before it is reset */
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE && !e) {
			store_code_free(*out);
			*out = NULL;
			e = rc_err(rc);
		}
	}
	stmt_done(st);
	if ((e == TS_OK || e == TS_NOT_FOUND) && (end = tx_end(s, nested)))
		e = end;
	if (e != TS_OK && e != TS_NOT_FOUND) {
		tx_abort(s, nested);
		store_code_free(*out);
		*out = NULL;
	}
	if (e != TS_NOT_FOUND)
		return e;

	if ((e = stmt_get(s, ST_CODE_GET, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)) && !(e = code_read(st, out)))
		e = TS_CONFLICT;
	stmt_done(st);
	return e;
}

ts_err store_codes_purge(store *s, int64_t now)
{
	if (!s)
		return TS_SERVER_ERROR;
	return run_int(s, ST_CODES_PURGE, now);
}

/* --- browser sessions --- */

ts_err store_session_add(store *s, const struct session *se)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !se)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_SESSION_ADD, &st)))
		return e;
	rc = bind_blob(st, 1, se->hash, sizeof(se->hash), SQLITE_OK);
	rc = bind_int(st, 2, se->user_id, rc);
	rc = bind_int(st, 3, se->auth_time, rc);
	rc = bind_int(st, 4, se->created_at, rc);
	rc = bind_int(st, 5, se->expires_at, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

ts_err store_session_get(store *s, const unsigned char hash[32], int64_t now, struct session *out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!s || !hash || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_SESSION_GET, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	rc = bind_int(st, 2, now, rc);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
	} else if (!(e = stmt_row(st)) && !(e = col_hash(st, 0, out->hash))) {
		out->user_id = sqlite3_column_int64(st, 1);
		out->auth_time = sqlite3_column_int64(st, 2);
		out->created_at = sqlite3_column_int64(st, 3);
		out->expires_at = sqlite3_column_int64(st, 4);
	}
	stmt_done(st);
	return e;
}

ts_err store_session_remove(store *s, const unsigned char hash[32])
{
	sqlite3_stmt *st;
	ts_err e;

	if (!s || !hash)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_SESSION_REMOVE, &st)))
		return e;
	return run_changes(s, st, bind_blob(st, 1, hash, 32, SQLITE_OK));
}

ts_err store_sessions_purge(store *s, int64_t now)
{
	if (!s)
		return TS_SERVER_ERROR;
	return run_int(s, ST_SESSIONS_PURGE, now);
}

/* --- consents --- */

ts_err store_consent_get(store *s, int64_t user_id, const char *client_id, char **scope)
{
	sqlite3_stmt *st;
	char *buf = NULL, *p;
	size_t len = 0, cap = 0, n;
	ts_err e;
	int rc;

	if (scope)
		*scope = NULL;
	if (!s || !client_id || !scope)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_CONSENT_GET, &st)))
		return e;
	rc = bind_int(st, 1, user_id, SQLITE_OK);
	rc = bind_text(st, 2, client_id, rc);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
		goto out;
	}
	buf = malloc(cap = 64);
	if (!buf) {
		e = TS_SERVER_ERROR;
		goto out;
	}
	buf[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		n = (size_t)sqlite3_column_bytes(st, 0);
		if (!t) {
			e = TS_SERVER_ERROR;
			goto out;
		}
		if (len + n + 2 > cap) {
			cap = (len + n + 2) * 2;
			if (!(p = realloc(buf, cap))) {
				e = TS_SERVER_ERROR;
				goto out;
			}
			buf = p;
		}
		if (len)
			buf[len++] = ' ';
		memcpy(buf + len, t, n);
		len += n;
		buf[len] = '\0';
	}
	if (rc != SQLITE_DONE) {
		e = rc_err(rc);
		goto out;
	}
	*scope = buf;
	buf = NULL;
	e = TS_OK;
out:
	free(buf);
	stmt_done(st);
	return e;
}

/* One row per token, all in one transaction (or savepoint inside the caller's). */
ts_err store_consent_add(store *s, int64_t user_id, const char *client_id, const char *scope,
                         int64_t now)
{
	sqlite3_stmt *st;
	const char *p, *end;
	ts_err e;
	int rc, nested;

	if (!s || !client_id || !scope)
		return TS_SERVER_ERROR;
	if (scope[strspn(scope, " ")] == '\0')
		return TS_OK; /* nothing to record */
	if ((e = stmt_get(s, ST_CONSENT_ADD, &st)))
		return e;
	if ((e = tx_start(s, &nested)))
		return e;
	for (p = scope; *p; p = end) {
		while (*p == ' ')
			p++;
		for (end = p; *end && *end != ' '; end++)
			;
		if (end == p)
			continue;
		if (end - p > INT32_MAX) {
			e = TS_SERVER_ERROR;
			goto fail;
		}
		rc = bind_int(st, 1, user_id, SQLITE_OK);
		rc = bind_text(st, 2, client_id, rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 3, p, (int)(end - p), SQLITE_STATIC);
		rc = bind_int(st, 4, now, rc);
		if (rc != SQLITE_OK) {
			stmt_done(st);
			e = rc_err(rc);
			goto fail;
		}
		if ((e = stmt_run(st)))
			goto fail;
	}
	if ((e = tx_end(s, nested)))
		goto fail;
	return TS_OK;
fail:
	tx_abort(s, nested);
	return e;
}

/* --- refresh tokens --- */

ts_err store_refresh_add(store *s, const struct refresh *r)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !r)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_REFRESH_ADD, &st)))
		return e;
	rc = bind_blob(st, 1, r->hash, sizeof(r->hash), SQLITE_OK);
	rc = bind_int(st, 2, r->grant_id, rc);
	rc = bind_int(st, 3, r->created_at, rc);
	rc = bind_int(st, 4, r->expires_at, rc);
	rc = bind_int_or_null(st, 5, r->used_at, rc);
	rc = bind_text(st, 6, r->scope, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

void store_refresh_clear(struct refresh *r)
{
	if (r) {
		free(r->scope);
		r->scope = NULL;
	}
}

ts_err store_refresh_add_successor(store *s, const struct refresh *r, const unsigned char prev[32])
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !r || !prev)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_REFRESH_ADD_SUCCESSOR, &st)))
		return e;
	rc = bind_blob(st, 1, r->hash, sizeof(r->hash), SQLITE_OK);
	rc = bind_int(st, 2, r->created_at, rc);
	rc = bind_int(st, 3, r->expires_at, rc);
	rc = bind_blob(st, 4, prev, 32, rc);
	/* no row inserted: the predecessor is gone (its grant was removed meanwhile) */
	return run_changes(s, st, rc);
}

ts_err store_refresh_get(store *s, const unsigned char hash[32], struct refresh *out)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_REFRESH_GET, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	if (!(e = stmt_row(st))) {
		memcpy(out->hash, hash, 32);
		out->grant_id = sqlite3_column_int64(st, 0);
		out->created_at = sqlite3_column_int64(st, 1);
		out->expires_at = sqlite3_column_int64(st, 2);
		out->used_at = sqlite3_column_int64(st, 3);
		out->grace_used = sqlite3_column_int(st, 4);
		out->successor_ms = sqlite3_column_int64(st, 5); /* NULL reads as 0 */
		if (col_text(st, 6, 1, &out->scope))
			e = TS_SERVER_ERROR;
	}
	stmt_done(st);
	return e;
}

/* Runs statement id, an UPDATE of one refresh token by key (?1) under a condition, with v and w
 * as ?2 and ?3 when the statement has them: TS_OK when it changed the row; otherwise TS_CONFLICT
 * when the token exists (the condition no longer held) and TS_NOT_FOUND when it does not. */
static ts_err refresh_update(store *s, enum stmt_id id, const unsigned char hash[32], int64_t v,
                             int64_t w)
{
	sqlite3_stmt *st;
	struct refresh row;
	ts_err e;
	int rc;

	if (!s || !hash)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, id, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) >= 2)
		rc = bind_int(st, 2, v, rc);
	if (sqlite3_bind_parameter_count(st) >= 3)
		rc = bind_int(st, 3, w, rc);
	e = run_changes(s, st, rc);
	if (e != TS_NOT_FOUND)
		return e;
	row.scope = NULL;
	e = store_refresh_get(s, hash, &row);
	store_refresh_clear(&row);
	return e == TS_OK ? TS_CONFLICT : e;
}

ts_err store_refresh_use(store *s, const unsigned char hash[32], int64_t now, int64_t successor_ms)
{
	return refresh_update(s, ST_REFRESH_USE, hash, now, successor_ms);
}

ts_err store_refresh_grace(store *s, const unsigned char hash[32])
{
	return refresh_update(s, ST_REFRESH_GRACE, hash, 0, 0);
}

/* Only a current token's expiry moves: TS_CONFLICT for a used (rotated) one, TS_NOT_FOUND for an
 * unknown one. */
ts_err store_refresh_touch(store *s, const unsigned char hash[32], int64_t expires_at)
{
	return refresh_update(s, ST_REFRESH_TOUCH, hash, expires_at, 0);
}

ts_err store_refresh_scopes(store *s, int64_t grant_id,
                            int (*fn)(const unsigned char hash[32], const char *scope, void *arg),
                            void *arg)
{
	sqlite3_stmt *st;
	const void *h;
	ts_err e;
	int own, rc;

	if (!s || !fn)
		return TS_SERVER_ERROR;
	if ((e = iter_begin(s, ST_REFRESH_SCOPES, &st, &own)))
		return e;
	rc = bind_int(st, 1, grant_id, SQLITE_OK);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h = sqlite3_column_blob(st, 0);
		if (!h || sqlite3_column_bytes(st, 0) != 32 || !sqlite3_column_text(st, 1)) {
			e = TS_SERVER_ERROR; /* a corrupt row, or out of memory */
			goto out;
		}
		if (fn(h, (const char *)sqlite3_column_text(st, 1), arg)) {
			e = TS_SERVER_ERROR;
			goto out;
		}
	}
	e = rc == SQLITE_DONE ? TS_OK : rc_err(rc);
out:
	iter_end(st, own);
	return e;
}

ts_err store_refresh_set_scope(store *s, const unsigned char hash[32], const char *scope)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !hash || !scope)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_REFRESH_SET_SCOPE, &st)))
		return e;
	rc = bind_blob(st, 1, hash, 32, SQLITE_OK);
	rc = bind_text(st, 2, scope, rc);
	return run_changes(s, st, rc);
}

/* --- grants, listed --- */

ts_err store_grant_each(store *s, const char *username, const char *client_id,
                        int (*fn)(const struct grant *g, void *arg), void *arg)
{
	static const enum stmt_id ids[2][2] = {
		{ST_GRANT_EACH_ALL, ST_GRANT_EACH_CLIENT},
		{ST_GRANT_EACH_USER, ST_GRANT_EACH_BOTH},
	};
	sqlite3_stmt *st;
	struct grant *g;
	ts_err e;
	int own, rc = SQLITE_OK;

	if (!s || !fn)
		return TS_SERVER_ERROR;
	if ((e = iter_begin(s, ids[username != NULL][client_id != NULL], &st, &own)))
		return e;
	if (username)
		rc = bind_text(st, 1, username, rc);
	if (client_id)
		rc = bind_text(st, 2, client_id, rc);
	if (rc != SQLITE_OK) {
		e = rc_err(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((e = grant_read(st, &g)))
			goto out;
		rc = fn(g, arg);
		store_grant_free(g);
		if (rc) {
			e = TS_SERVER_ERROR;
			goto out;
		}
	}
	e = rc == SQLITE_DONE ? TS_OK : rc_err(rc);
out:
	iter_end(st, own);
	return e;
}

/* --- server secrets --- */

/* Reads secret name into out: TS_NOT_FOUND when there is none yet. */
static ts_err secret_get(store *s, const char *name, unsigned char out[32])
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if ((e = stmt_get(s, ST_SECRET_GET, &st)))
		return e;
	rc = bind_text(st, 1, name, SQLITE_OK);
	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = col_hash(st, 0, out);
	stmt_done(st);
	return e;
}

/* The read comes first, so that once the secret exists asking for it writes nothing. Otherwise
 * a random value is offered and the row read back: whoever inserted first, every caller then
 * returns the same value. */
ts_err store_secret(store *s, const char *name, unsigned char out[32])
{
	unsigned char fresh[32];
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !name || !out)
		return TS_SERVER_ERROR;
	e = secret_get(s, name, out);
	if (e != TS_NOT_FOUND)
		return e;
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_SECRET_ADD, &st)))
		goto out;
	rc = bind_text(st, 1, name, SQLITE_OK);
	rc = bind_blob(st, 2, fresh, sizeof(fresh), rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		e = rc_err(rc);
		goto out;
	}
	if ((e = stmt_run(st)))
		goto out;
	e = secret_get(s, name, out);
	if (e == TS_NOT_FOUND)
		e = TS_SERVER_ERROR; /* inserted, or found taken, yet not there */
out:
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return e;
}

/* --- device authorizations --- */

void store_device_free(struct device *d)
{
	if (!d)
		return;
	free(d->client_id);
	free(d->scope);
	free(d->granted);
	explicit_bzero(d, sizeof(*d));
	free(d);
}

static ts_err device_read(sqlite3_stmt *st, struct device **out)
{
	struct device *d = calloc(1, sizeof(*d));
	const unsigned char *uc;
	int n;

	*out = NULL;
	if (!d)
		return TS_SERVER_ERROR;
	uc = sqlite3_column_text(st, 1);
	n = sqlite3_column_bytes(st, 1);
	if (col_hash(st, 0, d->hash) || !uc || n < 0 || n >= (int)sizeof(d->user_code) ||
			col_text(st, 2, 0, &d->client_id) || col_text(st, 3, 1, &d->scope) ||
			col_text(st, 10, 1, &d->granted)) {
		store_device_free(d);
		return TS_SERVER_ERROR;
	}
	memcpy(d->user_code, uc, (size_t)n); /* calloc left the NUL after it */
	d->created_at = sqlite3_column_int64(st, 4);
	d->expires_at = sqlite3_column_int64(st, 5);
	d->interval = sqlite3_column_int(st, 6);
	d->status = sqlite3_column_int(st, 7);
	d->user_id = sqlite3_column_int64(st, 8); /* NULL reads as 0 */
	d->grant_id = sqlite3_column_int64(st, 9);
	d->auth_time = sqlite3_column_int64(st, 11);
	*out = d;
	return TS_OK;
}

/* Runs cached statement st (binds' result rc) expecting at most one device row into *out. */
static ts_err device_one(sqlite3_stmt *st, int rc, struct device **out)
{
	ts_err e;

	if (rc != SQLITE_OK)
		e = rc_err(rc);
	else if (!(e = stmt_row(st)))
		e = device_read(st, out);
	stmt_done(st);
	return e;
}

ts_err store_device_add(store *s, const struct device *d)
{
	sqlite3_stmt *st;
	ts_err e;
	int rc;

	if (!s || !d || !d->client_id)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_DEVICE_ADD, &st)))
		return e;
	rc = bind_blob(st, 1, d->hash, sizeof(d->hash), SQLITE_OK);
	/* (a user code without its NUL is bound as its 9 bytes, which the schema's CHECK refuses) */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, d->user_code,
				(int)strnlen(d->user_code, sizeof(d->user_code)), SQLITE_STATIC);
	rc = bind_text(st, 3, d->client_id, rc);
	rc = bind_text(st, 4, d->scope, rc); /* NULL stays NULL: everything allowed */
	rc = bind_int(st, 5, d->created_at, rc);
	rc = bind_int(st, 6, d->expires_at, rc);
	rc = bind_int(st, 7, d->interval, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	return stmt_run(st);
}

ts_err store_device_get(store *s, const unsigned char hash[32], struct device **out)
{
	sqlite3_stmt *st;
	ts_err e;

	if (out)
		*out = NULL;
	if (!s || !hash || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_DEVICE_GET, &st)))
		return e;
	return device_one(st, bind_blob(st, 1, hash, 32, SQLITE_OK), out);
}

ts_err store_device_by_user_code(store *s, const char *user_code, struct device **out)
{
	sqlite3_stmt *st;
	ts_err e;

	if (out)
		*out = NULL;
	if (!s || !user_code || !out)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_DEVICE_BY_USER_CODE, &st)))
		return e;
	return device_one(st, bind_text(st, 1, user_code, SQLITE_OK), out);
}

/* The UPDATE changes the row only while it is pending and unexpired, so of racing decisions one
 * lands; when it matched nothing, the read tells a decided or expired code from an unknown one.
 * A denial clears the approval's columns (NULL), whatever the caller passed. */
ts_err store_device_decide(store *s, const char *user_code, int status, int64_t user_id,
                           int64_t grant_id, const char *granted, int64_t auth_time, int64_t now)
{
	struct device *d = NULL;
	sqlite3_stmt *st;
	ts_err e;
	int rc, approve = status == DEVICE_APPROVED;

	if (!s || !user_code || (status != DEVICE_APPROVED && status != DEVICE_DENIED))
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_DEVICE_DECIDE, &st)))
		return e;
	rc = bind_text(st, 1, user_code, SQLITE_OK);
	rc = bind_int(st, 2, status, rc);
	rc = bind_int_or_null(st, 3, approve ? user_id : 0, rc);
	rc = bind_int_or_null(st, 4, approve ? grant_id : 0, rc);
	rc = bind_text(st, 5, approve ? nz(granted) : NULL, rc);
	rc = bind_int_or_null(st, 6, approve ? auth_time : 0, rc);
	rc = bind_int(st, 7, now, rc);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return rc_err(rc);
	}
	/* (not run_changes: a user or grant removed meanwhile fails the foreign key, TS_NOT_FOUND,
	 * which must not be taken for "matched nothing") */
	if ((e = stmt_run(st)))
		return e;
	if (sqlite3_changes(s->db) > 0)
		return TS_OK;
	e = store_device_by_user_code(s, user_code, &d);
	store_device_free(d);
	return e == TS_OK ? TS_CONFLICT : e;
}

/* Likewise: approved -> redeemed in one UPDATE, then the read for TS_CONFLICT or TS_NOT_FOUND. */
ts_err store_device_redeem(store *s, const unsigned char hash[32])
{
	struct device *d = NULL;
	sqlite3_stmt *st;
	ts_err e;

	if (!s || !hash)
		return TS_SERVER_ERROR;
	if ((e = stmt_get(s, ST_DEVICE_REDEEM, &st)))
		return e;
	e = run_changes(s, st, bind_blob(st, 1, hash, 32, SQLITE_OK));
	if (e != TS_NOT_FOUND)
		return e;
	e = store_device_get(s, hash, &d);
	store_device_free(d);
	return e == TS_OK ? TS_CONFLICT : e;
}

ts_err store_devices_purge(store *s, int64_t now)
{
	if (!s)
		return TS_SERVER_ERROR;
	return run_int(s, ST_DEVICES_PURGE, now);
}

/* --- savepoints for the writer's jobs --- */

ts_err store_savepoint(store *s)
{
	return s ? stmt_exec(s, ST_JOB_SAVEPOINT) : TS_SERVER_ERROR;
}

ts_err store_savepoint_end(store *s, int rollback_it)
{
	ts_err e = TS_OK;

	if (!s)
		return TS_SERVER_ERROR;
	if (rollback_it)
		e = stmt_exec(s, ST_JOB_ROLLBACK_TO);
	if (!e)
		e = stmt_exec(s, ST_JOB_RELEASE);
	/* (when SQLite rolled the transaction back itself, RELEASE of the outermost savepoint would
	 * have been a COMMIT of whatever ran since; autocommit tells) */
	if (!e && sqlite3_get_autocommit(s->db))
		e = TS_SERVER_ERROR;
	return e;
}

/* --- for store_scim.c (store_priv.h) --- */

const char store_user_cols[] = USER_COLS;
const char store_client_cols[] = CLIENT_COLS;
const char store_grant_cols[] = GRANT_COLS;

sqlite3 *store_sqlite(store *s)
{
	return s->db;
}

ts_err store_rc_err(int rc)
{
	return rc_err(rc);
}

int store_col_text(sqlite3_stmt *st, int i, int nullable, char **out)
{
	return col_text(st, i, nullable, out);
}

ts_err store_stmt(store *s, const char *sql, sqlite3_stmt **out)
{
	int i, rc;

	for (i = 0; i < DYN_MAX && s->dyn_sql[i]; i++)
		if (s->dyn_sql[i] == sql) {
			*out = s->dyn[i];
			return TS_OK;
		}
	if (i == DYN_MAX)
		return TS_SERVER_ERROR; /* more fixed statements than DYN_MAX: a bug */
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->dyn[i], NULL);
	if (rc != SQLITE_OK) {
		s->dyn[i] = NULL;
		return rc_err(rc);
	}
	s->dyn_sql[i] = sql;
	*out = s->dyn[i];
	return TS_OK;
}

void store_stmt_done(sqlite3_stmt *st)
{
	stmt_done(st);
}

ts_err store_run_changes(store *s, sqlite3_stmt *st, int rc)
{
	return run_changes(s, st, rc);
}

ts_err store_tx_start(store *s, int *nested)
{
	return tx_start(s, nested);
}

ts_err store_tx_end(store *s, int nested)
{
	return tx_end(s, nested);
}

void store_tx_abort(store *s, int nested)
{
	tx_abort(s, nested);
}

ts_err store_user_read(sqlite3_stmt *st, struct user **out)
{
	return user_read(st, out);
}

ts_err store_client_read(sqlite3_stmt *st, struct client **out)
{
	return client_read(st, out);
}

ts_err store_grant_read(sqlite3_stmt *st, struct grant **out)
{
	return grant_read(st, out);
}

ts_err store_stmt_text(store *s, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	char *key = NULL;
	int i, rc;

	for (i = 0; i < TEXT_MAX && s->text_sql[i]; i++)
		if (strcmp(s->text_sql[i], sql) == 0)
			break;
	if (i < TEXT_MAX && s->text_sql[i]) {
		st = s->text[i];
		key = s->text_sql[i];
	} else {
		key = strdup(sql);
		if (!key)
			return TS_SERVER_ERROR;
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK) {
			free(key);
			return rc_err(rc);
		}
		i = TEXT_MAX - 1;  /* the least recently used goes */
		sqlite3_finalize(s->text[i]);
		free(s->text_sql[i]);
	}
	/* move to the front */
	memmove(&s->text[1], &s->text[0], (size_t)i * sizeof s->text[0]);
	memmove(&s->text_sql[1], &s->text_sql[0], (size_t)i * sizeof s->text_sql[0]);
	s->text[0] = st;
	s->text_sql[0] = key;
	*out = st;
	return TS_OK;
}
