/* store_refresh.c - the SQL of refresh tokens (see store.h): their chains of successors, the
 * conditional updates that let exactly one of racing callers rotate (or use the grace of) one,
 * and the scopes a token keeps of its own. */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum {
	Q_ADD, Q_ADD_SUCCESSOR, Q_GET, Q_USE, Q_GRACE, Q_TOUCH, Q_SCOPES, Q_SET_SCOPE, Q_COUNT
};

const struct db_sql store_refresh_sql[] = {
	[Q_ADD] = {"INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at, "
		"used_at, scope, dpop_jkt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", NULL, 0},
	/* the successor keeps the chain's grant, scope and DPoP key as they are in the writer's
	 * transaction */
	[Q_ADD_SUCCESSOR] = {"INSERT INTO refresh_tokens (token_hash, grant_id, created_at, "
		"expires_at, scope, dpop_jkt) SELECT ?1, grant_id, ?2, ?3, scope, dpop_jkt "
		"FROM refresh_tokens WHERE token_hash = ?4", NULL, 0},
	[Q_GET] = {"SELECT grant_id, created_at, expires_at, used_at, grace_used, successor_ms, "
		"scope, dpop_jkt FROM refresh_tokens WHERE token_hash = ?1", NULL, 0},
	/* one statement each, with the condition in the WHERE: of two racing connections only one
	 * finds the row still current (or its grace unused) and changes it */
	[Q_USE] = {"UPDATE refresh_tokens SET used_at = ?2, successor_ms = ?3 "
		"WHERE token_hash = ?1 AND used_at IS NULL", NULL, 0},
	[Q_GRACE] = {"UPDATE refresh_tokens SET grace_used = 1 "
		"WHERE token_hash = ?1 AND grace_used = 0", NULL, 0},
	[Q_TOUCH] = {"UPDATE refresh_tokens SET expires_at = ?2 "
		"WHERE token_hash = ?1 AND used_at IS NULL", NULL, 0},
	[Q_SCOPES] = {"SELECT token_hash, scope FROM refresh_tokens WHERE grant_id = ?1 "
		"AND used_at IS NULL AND scope IS NOT NULL", NULL, 0},
	[Q_SET_SCOPE] = {"UPDATE refresh_tokens SET scope = ?2 WHERE token_hash = ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_refresh_sql[id])

ts_err store_refresh_add(store *s, const struct refresh *r)
{
	if (!r)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_ADD), ARGS(DB_B(r->hash, sizeof(r->hash)), DB_I(r->grant_id),
		DB_I(r->created_at), DB_I(r->expires_at), DB_I0(r->used_at), DB_T(r->scope),
		DB_T(r->dpop_jkt)));
}

void store_refresh_clear(struct refresh *r)
{
	if (r) {
		free(r->scope);
		r->scope = NULL;
		free(r->dpop_jkt);
		r->dpop_jkt = NULL;
	}
}

ts_err store_refresh_add_successor(store *s, const struct refresh *r, const unsigned char prev[32])
{
	if (!r || !prev)
		return TS_SERVER_ERROR;
	/* no row inserted: the predecessor is gone (its grant was removed meanwhile) */
	return store_change(s, Q(Q_ADD_SUCCESSOR), ARGS(DB_B(r->hash, sizeof(r->hash)),
		DB_I(r->created_at), DB_I(r->expires_at), DB_B(prev, 32)));
}

static ts_err refresh_read(db_stmt *st, void *out)
{
	struct refresh *r = out;

	r->grant_id = db_int(st, 0);
	r->created_at = db_int(st, 1);
	r->expires_at = db_int(st, 2);
	r->used_at = db_int(st, 3);
	r->grace_used = (int)db_int(st, 4);
	r->successor_ms = db_int(st, 5); /* NULL reads as 0 */
	return store_col_text(st, 6, 1, &r->scope) || store_col_text(st, 7, 1, &r->dpop_jkt) ?
	       TS_SERVER_ERROR : TS_OK;
}

ts_err store_refresh_get(store *s, const unsigned char hash[32], struct refresh *out)
{
	ts_err e;

	if (!out)
		return TS_SERVER_ERROR;
	e = store_one(s, Q(Q_GET), ARGS(DB_B(hash, 32)), refresh_read, out);
	if (!e)
		memcpy(out->hash, hash, 32);
	return e;
}

/* Runs q, an UPDATE of one refresh token by key (?1) under a condition, with the values v:
 * TS_OK when it changed the row; otherwise TS_CONFLICT when the token exists (the condition no
 * longer held) and TS_NOT_FOUND when it does not. */
static ts_err refresh_update(store *s, const struct db_sql *q, const unsigned char hash[32],
                             const struct db_val *v, size_t n)
{
	struct refresh row = {0};
	ts_err e;

	if (!hash)
		return TS_SERVER_ERROR;
	e = store_change(s, q, v, n);
	if (e != TS_NOT_FOUND)
		return e;
	e = store_refresh_get(s, hash, &row);
	store_refresh_clear(&row);
	return e == TS_OK ? TS_CONFLICT : e;
}

ts_err store_refresh_use(store *s, const unsigned char hash[32], int64_t now, int64_t successor_ms)
{
	return refresh_update(s, Q(Q_USE), hash,
	                      ARGS(DB_B(hash, 32), DB_I(now), DB_I(successor_ms)));
}

ts_err store_refresh_grace(store *s, const unsigned char hash[32])
{
	return refresh_update(s, Q(Q_GRACE), hash, ARGS(DB_B(hash, 32)));
}

/* Only a current token's expiry moves: TS_CONFLICT for a used (rotated) one, TS_NOT_FOUND for an
 * unknown one. */
ts_err store_refresh_touch(store *s, const unsigned char hash[32], int64_t expires_at)
{
	return refresh_update(s, Q(Q_TOUCH), hash, ARGS(DB_B(hash, 32), DB_I(expires_at)));
}

struct scopes_fn {
	int (*fn)(const unsigned char hash[32], const char *scope, void *arg);
	void *arg;
};

static ts_err scope_row(db_stmt *st, void *ctx)
{
	const struct scopes_fn *x = ctx;
	const void *h = db_blob(st, 0);
	const char *scope;

	if (!h || db_bytes(st, 0) != 32 || !(scope = db_text(st, 1)))
		return TS_SERVER_ERROR; /* a corrupt row, or out of memory */
	return x->fn(h, scope, x->arg) ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_refresh_scopes(store *s, int64_t grant_id,
                            int (*fn)(const unsigned char hash[32], const char *scope, void *arg),
                            void *arg)
{
	struct scopes_fn x = {fn, arg};

	if (!fn)
		return TS_SERVER_ERROR;
	return store_rows(s, Q(Q_SCOPES), ARGS(DB_I(grant_id)), scope_row, &x);
}

ts_err store_refresh_set_scope(store *s, const unsigned char hash[32], const char *scope)
{
	if (!hash || !scope)
		return TS_SERVER_ERROR;
	return store_change(s, Q(Q_SET_SCOPE), ARGS(DB_B(hash, 32), DB_T(scope)));
}
