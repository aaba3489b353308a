/* store_grants.c - the SQL of grants and what hangs from them (see store.h): grants, their
 * authorization codes and consents, and revoked access tokens (refresh tokens: store_refresh.c). */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"
#include "username.h"

enum {
	Q_FIND, Q_GET, Q_ADD, Q_SET_SCOPE, Q_REVOKE,
	Q_EACH_ALL, Q_EACH_USER, Q_EACH_CLIENT, Q_EACH_BOTH,
	Q_CODE_ADD, Q_CODE_TAKE, Q_CODE_GET, Q_CODES_PURGE,
	Q_CONSENT_GET, Q_CONSENT_ADD,
	Q_JTI_REVOKE, Q_JTI_IS_REVOKED, Q_JTI_PURGE,
	Q_COUNT
};

#define CODE_COLS "code_hash, client_id, user_id, grant_id, redirect_uri, redirect_given, " \
	"challenge, scope, nonce, auth_time, created_at, expires_at, used_at"

const struct db_sql store_grant_sql[] = {
	/* ?1 NULL finds a client-only grant (several may be active: the newest) */
	[Q_FIND] = {"SELECT " GRANT_COLS " FROM grants WHERE user_id IS ?1 AND client_id = ?2 "
		"AND revoked_at IS NULL ORDER BY id DESC LIMIT 1",
		"SELECT " GRANT_COLS " FROM grants WHERE user_id IS NOT DISTINCT FROM ?1 "
		"AND client_id = ?2 AND revoked_at IS NULL ORDER BY id DESC LIMIT 1", 0},
	[Q_GET] = {"SELECT " GRANT_COLS " FROM grants WHERE id = ?1", NULL, 0},
	[Q_ADD] = {"INSERT INTO grants (client_id, user_id, scope, created_at, updated_at, "
		"revoked_at, client_record) VALUES (?1, ?2, ?3, ?4, ?4, ?5, "
		"coalesce((SELECT record FROM clients WHERE client_id = ?1), 0)) RETURNING id", NULL, 0},
	[Q_SET_SCOPE] = {"UPDATE grants SET scope = ?2, updated_at = ?3 WHERE id = ?1", NULL, 0},
	/* matches the row whether or not it was revoked, so changes() tells only whether it exists */
	[Q_REVOKE] = {"UPDATE grants SET revoked_at = coalesce(revoked_at, ?2), "
		"updated_at = CASE WHEN revoked_at IS NULL THEN ?2 ELSE updated_at END WHERE id = ?1",
		NULL, 0},
	/* four statements rather than "?1 IS NULL OR ...", so that each can use its index */
	[Q_EACH_ALL] = {"SELECT " GRANT_COLS " FROM grants ORDER BY id", NULL, 0},
	[Q_EACH_USER] = {"SELECT " GRANT_COLS " FROM grants WHERE user_id IN "
		"(SELECT id FROM users WHERE name_key = ?1) ORDER BY id", NULL, 0},
	[Q_EACH_CLIENT] = {"SELECT " GRANT_COLS " FROM grants WHERE client_id = ?2 "
		"ORDER BY id",
		/* (PostgreSQL must be told the type of the ?1 it is given and does not use) */
		"SELECT " GRANT_COLS " FROM grants WHERE client_id = ?2 AND ?1::text IS NULL "
		"ORDER BY id", 0},
	[Q_EACH_BOTH] = {"SELECT " GRANT_COLS " FROM grants WHERE user_id IN "
		"(SELECT id FROM users WHERE name_key = ?1) AND client_id = ?2 "
		"ORDER BY id", NULL, 0},
	[Q_CODE_ADD] = {"INSERT INTO codes (" CODE_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", NULL, 0},
	/* one statement: of two racing connections only one finds used_at still NULL */
	[Q_CODE_TAKE] = {"UPDATE codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL "
		"RETURNING " CODE_COLS, NULL, 0},
	[Q_CODE_GET] = {"SELECT " CODE_COLS " FROM codes WHERE code_hash = ?1", NULL, 0},
	[Q_CODES_PURGE] = {"DELETE FROM codes WHERE expires_at < ?1", NULL, 0},
	[Q_CONSENT_GET] = {"SELECT scope_token FROM consents WHERE user_id = ?1 AND client_id = ?2 "
		"ORDER BY scope_token", NULL, 0},
	[Q_CONSENT_ADD] = {"INSERT INTO consents (user_id, client_id, scope_token, created_at) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING", NULL, 0},
	[Q_JTI_REVOKE] = {"INSERT INTO revocations (jti, exp) VALUES (?1, ?2) "
		"ON CONFLICT (jti) DO UPDATE SET exp = max(exp, excluded.exp)",
		"INSERT INTO revocations (jti, exp) VALUES (?1, ?2) "
		"ON CONFLICT (jti) DO UPDATE SET exp = GREATEST(revocations.exp, excluded.exp)", 0},
	[Q_JTI_IS_REVOKED] = {"SELECT 1 FROM revocations WHERE jti = ?1", NULL, 0},
	[Q_JTI_PURGE] = {"DELETE FROM revocations WHERE exp < ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_grant_sql[id])

/* --- grants --- */

void store_grant_free(struct grant *g)
{
	if (!g)
		return;
	free(g->client_id);
	free(g->scope);
	free(g->username);
	free(g);
}

/* A row of GRANT_COLS into *(struct grant **)out. */
static ts_err grant_read(db_stmt *st, void *out)
{
	struct grant *g = calloc(1, sizeof(*g));

	*(struct grant **)out = NULL;
	if (!g)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 1, 0, &g->client_id) || store_col_text(st, 3, 0, &g->scope)) {
		store_grant_free(g);
		return TS_SERVER_ERROR;
	}
	g->id = db_int(st, 0);
	g->user_id = db_int(st, 2); /* NULL reads as 0 */
	g->created_at = db_int(st, 4);
	g->updated_at = db_int(st, 5);
	g->revoked_at = db_int(st, 6);
	g->client_record = db_int(st, 7);
	*(struct grant **)out = g;
	return TS_OK;
}

STORE_KIND(, store_grant_kind, struct grant, grant_read, store_grant_free);

ts_err store_grant_find(store *s, int64_t user_id, const char *client_id, struct grant **out)
{
	if (out)
		*out = NULL;
	if (!client_id || !out)
		return TS_SERVER_ERROR;
	return store_get(s, Q(Q_FIND), ARGS(DB_I0(user_id), DB_T(client_id)), &store_grant_kind,
	                 out);
}

ts_err store_grant_get(store *s, int64_t id, struct grant **out)
{
	if (!out)
		return TS_SERVER_ERROR;
	*out = NULL;
	return store_get(s, Q(Q_GET), ARGS(DB_I(id)), &store_grant_kind, out);
}

ts_err store_grant_add(store *s, struct grant *g)
{
	ts_err e;

	if (!g || !g->client_id)
		return TS_SERVER_ERROR;
	e = store_one(s, Q(Q_ADD), ARGS(DB_T(g->client_id), DB_I0(g->user_id), DB_T(nz(g->scope)),
		DB_I(g->created_at), DB_I0(g->revoked_at)), store_read_int, &g->id);
	if (e)
		return e; /* TS_NOT_FOUND: no such client or user (an INSERT returns its row) */
	g->updated_at = g->created_at;
	return TS_OK;
}

ts_err store_grant_set_scope(store *s, int64_t id, const char *scope, int64_t now)
{
	if (!scope)
		return TS_SERVER_ERROR;
	return store_change(s, Q(Q_SET_SCOPE), ARGS(DB_I(id), DB_T(scope), DB_I(now)));
}

ts_err store_grant_revoke(store *s, int64_t id, int64_t now)
{
	return store_change(s, Q(Q_REVOKE), ARGS(DB_I(id), DB_I(now)));
}

ts_err store_grant_each(store *s, const char *username, const char *client_id,
                        int (*fn)(const struct grant *g, void *arg), void *arg)
{
	static const int ids[2][2] = {
		{Q_EACH_ALL, Q_EACH_CLIENT},
		{Q_EACH_USER, Q_EACH_BOTH},
	};
	/* the statements name ?1 (the user's name key: any spelling of the name) and/or ?2 */
	size_t n = client_id ? 2 : username ? 1 : 0;
	char *key = NULL;
	ts_err e = username ? username_key(username, &key) : TS_OK;

	if (e == TS_INVALID_REQUEST)
		return TS_OK; /* a name with no key is nobody's: no grants */
	if (!e)
		e = store_each(s, Q(ids[username != NULL][client_id != NULL]),
		               (const struct db_val[]){DB_T(key), DB_T(client_id)}, n,
		               &store_grant_kind, (void (*)(void))fn, arg);
	free(key);
	return e;
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

static ts_err code_read(db_stmt *st, void *out)
{
	struct code *c = calloc(1, sizeof(*c));

	*(struct code **)out = NULL;
	if (!c)
		return TS_SERVER_ERROR;
	if (store_col_hash(st, 0, c->hash) || store_col_text(st, 1, 0, &c->client_id) ||
			store_col_text(st, 4, 0, &c->redirect_uri) ||
			store_col_text(st, 6, 0, &c->challenge) || store_col_text(st, 7, 0, &c->scope) ||
			store_col_text(st, 8, 1, &c->nonce)) {
		store_code_free(c);
		return TS_SERVER_ERROR;
	}
	c->user_id = db_int(st, 2);
	c->grant_id = db_int(st, 3);
	c->redirect_given = (int)db_int(st, 5);
	c->auth_time = db_int(st, 9);
	c->created_at = db_int(st, 10);
	c->expires_at = db_int(st, 11);
	c->used_at = db_int(st, 12); /* NULL reads as 0 */
	*(struct code **)out = c;
	return TS_OK;
}

ts_err store_code_add(store *s, const struct code *c)
{
	if (!c || !c->client_id)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_CODE_ADD), ARGS(DB_B(c->hash, sizeof(c->hash)), DB_T(c->client_id),
		DB_I(c->user_id), DB_I(c->grant_id), DB_T(nz(c->redirect_uri)),
		DB_I(c->redirect_given != 0), DB_T(nz(c->challenge)), DB_T(nz(c->scope)),
		DB_T(c->nonce), DB_I(c->auth_time), DB_I(c->created_at), DB_I(c->expires_at),
		DB_I0(c->used_at)));
}

ts_err store_code_get(store *s, const unsigned char hash[32], struct code **out)
{
	if (out)
		*out = NULL;
	if (!hash || !out)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_CODE_GET), ARGS(DB_B(hash, 32)), code_read, out);
}

/* The UPDATE ... RETURNING marks the code used and reads it in one statement, so nothing can come
 * between the two; when it matched nothing, the plain read tells a used code from an unknown one.
 * It runs in a transaction (a savepoint in the caller's) so that a read of the row that fails
 * (out of memory) does not leave the code used up behind an error. */
ts_err store_code_take(store *s, const unsigned char hash[32], int64_t now, struct code **out)
{
	ts_err e, end;
	int nested;

	if (out)
		*out = NULL;
	if (!s || !hash || !out)
		return TS_SERVER_ERROR;
	if ((e = store_tx_start(s, &nested)))
		return e;
	e = store_one(s, Q(Q_CODE_TAKE), ARGS(DB_B(hash, 32), DB_I(now)), code_read, out);
	if ((e == TS_OK || e == TS_NOT_FOUND) && (end = store_tx_end(s, nested)))
		e = end;
	if (e != TS_OK && e != TS_NOT_FOUND) {
		store_tx_abort(s, nested);
		store_code_free(*out);
		*out = NULL;
	}
	if (e != TS_NOT_FOUND)
		return e;
	e = store_one(s, Q(Q_CODE_GET), ARGS(DB_B(hash, 32)), code_read, out);
	return e ? e : TS_CONFLICT;
}

ts_err store_codes_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_CODES_PURGE), ARGS(DB_I(now)));
}

/* --- consents --- */

/* The tokens read so far, space-separated. */
struct tokens {
	char *buf;
	size_t len, cap;
};

static ts_err token_row(db_stmt *st, void *ctx)
{
	struct tokens *t = ctx;
	const char *v = db_text(st, 0);
	size_t n = (size_t)db_bytes(st, 0);
	char *p;

	if (!v)
		return TS_SERVER_ERROR;
	if (t->len + n + 2 > t->cap) {
		t->cap = (t->len + n + 2) * 2;
		if (!(p = realloc(t->buf, t->cap)))
			return TS_SERVER_ERROR;
		t->buf = p;
	}
	if (t->len)
		t->buf[t->len++] = ' ';
	memcpy(t->buf + t->len, v, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return TS_OK;
}

ts_err store_consent_get(store *s, int64_t user_id, const char *client_id, char **scope)
{
	struct tokens t = {NULL, 0, 64};
	ts_err e;

	if (scope)
		*scope = NULL;
	if (!s || !client_id || !scope)
		return TS_SERVER_ERROR;
	if (!(t.buf = malloc(t.cap)))
		return TS_SERVER_ERROR;
	t.buf[0] = '\0';
	e = store_rows(s, Q(Q_CONSENT_GET), ARGS(DB_I(user_id), DB_T(client_id)), token_row, &t);
	if (e)
		free(t.buf);
	else
		*scope = t.buf;
	return e;
}

/* One row per token, all in one transaction (or savepoint inside the caller's). */
ts_err store_consent_add(store *s, int64_t user_id, const char *client_id, const char *scope,
                         int64_t now)
{
	const char *p, *end;
	ts_err e = TS_OK;
	int nested;

	if (!s || !client_id || !scope)
		return TS_SERVER_ERROR;
	if (scope[strspn(scope, " ")] == '\0')
		return TS_OK; /* nothing to record */
	if ((e = store_tx_start(s, &nested)))
		return e;
	for (p = scope; !e && *p; p = end) {
		while (*p == ' ')
			p++;
		for (end = p; *end && *end != ' '; end++)
			;
		if (end - p > INT32_MAX)
			e = TS_SERVER_ERROR;
		else if (end > p)
			e = store_run(s, Q(Q_CONSENT_ADD), ARGS(DB_I(user_id), DB_T(client_id),
				DB_TN(p, (int)(end - p)), DB_I(now)));
	}
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

/* --- revoked access tokens --- */

ts_err store_revoke_jti(store *s, const char *jti, int64_t exp)
{
	return jti ? store_run(s, Q(Q_JTI_REVOKE), ARGS(DB_T(jti), DB_I(exp))) : TS_SERVER_ERROR;
}

static ts_err found(db_stmt *st, void *out)
{
	(void)st;
	*(int *)out = 1;
	return TS_OK;
}

ts_err store_is_revoked(store *s, const char *jti, int *revoked)
{
	ts_err e;

	if (revoked)
		*revoked = 0;
	if (!jti || !revoked)
		return TS_SERVER_ERROR;
	e = store_one(s, Q(Q_JTI_IS_REVOKED), ARGS(DB_T(jti)), found, revoked);
	return e == TS_NOT_FOUND ? TS_OK : e;
}

ts_err store_revocations_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_JTI_PURGE), ARGS(DB_I(now)));
}
