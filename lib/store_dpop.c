/* store_dpop.c - the SQL of DPoP (see store.h): the single-use records of proofs. The key a
 * refresh token is bound to is a column of refresh_tokens (store_refresh.c). */
#include <stdlib.h>

#include "store.h"
#include "store_priv.h"

enum { Q_USE, Q_PURGE, Q_COUNT };

const struct db_sql store_dpop_sql[] = {
	/* a record still alive refuses the proof; an expired one (not purged yet) is replaced */
	[Q_USE] = {"INSERT INTO dpop_proofs (replay, expires_at) VALUES (?1, ?2) "
		"ON CONFLICT (replay) DO UPDATE SET expires_at = excluded.expires_at "
		"WHERE dpop_proofs.expires_at <= ?3", NULL, 0},
	[Q_PURGE] = {"DELETE FROM dpop_proofs WHERE expires_at <= ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_dpop_sql[id])

ts_err store_dpop_jti_use(store *s, const unsigned char replay[32], int64_t expires_at,
                          int64_t now)
{
	ts_err rc;

	if (!replay)
		return TS_SERVER_ERROR;
	rc = store_change(s, Q(Q_USE), ARGS(DB_B(replay, 32), DB_I(expires_at), DB_I(now)));
	return rc == TS_NOT_FOUND ? TS_CONFLICT : rc;
}

ts_err store_dpop_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(now)));
}
