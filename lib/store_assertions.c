/* store_assertions.c - the SQL of the jtis of client assertions (see store.h). */
#include "store.h"
#include "store_priv.h"

enum { Q_ADD, Q_SEEN, Q_PURGE, Q_COUNT };

const struct db_sql store_assertion_sql[] = {
	[Q_ADD] = {"INSERT INTO client_assertions (client_id, jti, exp) VALUES (?1, ?2, ?3)", NULL, 0},
	[Q_SEEN] = {"SELECT 1 FROM client_assertions WHERE client_id = ?1 AND jti = ?2 AND exp > ?3",
		NULL, 0},
	[Q_PURGE] = {"DELETE FROM client_assertions WHERE exp <= ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_assertion_sql[id])

ts_err store_assertion_use(store *s, const char *client_id, const char *jti, int64_t exp)
{
	if (!client_id || !jti)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_ADD), ARGS(DB_T(client_id), DB_T(jti), DB_I(exp)));
}

ts_err store_assertion_seen(store *s, const char *client_id, const char *jti, int64_t now)
{
	int64_t one = 0;

	if (!client_id || !jti)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_SEEN), ARGS(DB_T(client_id), DB_T(jti), DB_I(now)), store_read_int,
	                 &one);
}

ts_err store_assertions_purge(store *s, int64_t before)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(before)));
}
