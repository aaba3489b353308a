/* store_reftokens.c - the SQL of reference access tokens (see store.h). */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum { Q_ADD, Q_GET, Q_PURGE, Q_COUNT };

const struct db_sql store_reftoken_sql[] = {
	[Q_ADD] = {"INSERT INTO reference_tokens (hash, claims, exp) VALUES (?1, ?2, ?3)", NULL, 0},
	[Q_GET] = {"SELECT claims FROM reference_tokens WHERE hash = ?1 AND exp > ?2", NULL, 0},
	[Q_PURGE] = {"DELETE FROM reference_tokens WHERE exp <= ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_reftoken_sql[id])

ts_err store_reftoken_add(store *s, const unsigned char hash[32], const char *claims, int64_t exp)
{
	if (!hash || !claims)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_ADD), ARGS(DB_B(hash, 32), DB_T(claims), DB_I(exp)));
}

static ts_err claims_read(db_stmt *st, void *out)
{
	return store_col_text(st, 0, 0, out) ? TS_SERVER_ERROR : TS_OK;
}

ts_err store_reftoken_get(store *s, const unsigned char hash[32], int64_t now, char **claims)
{
	if (claims)
		*claims = NULL;
	if (!hash || !claims)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_GET), ARGS(DB_B(hash, 32), DB_I(now)), claims_read, claims);
}

ts_err store_reftokens_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(now)));
}
