/* store_certbind.c - the SQL of certificate-bound refresh tokens (schema/015_mtls.sql; see
 * store.h). */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum { Q_BIND, Q_INHERIT, Q_GET, Q_COUNT };

const struct db_sql store_certbind_sql[] = {
	[Q_BIND] = {"INSERT OR REPLACE INTO refresh_cert_bindings (token_hash, x5t) "
		"VALUES (?1, ?2)",
		/* (PostgreSQL has no INSERT OR REPLACE: an upsert) */
		"INSERT INTO refresh_cert_bindings (token_hash, x5t) VALUES (?1, ?2) "
		"ON CONFLICT (token_hash) DO UPDATE SET x5t = excluded.x5t", 0},
	[Q_INHERIT] = {"INSERT OR REPLACE INTO refresh_cert_bindings (token_hash, x5t) "
		"SELECT ?1, x5t FROM refresh_cert_bindings WHERE token_hash = ?2",
		"INSERT INTO refresh_cert_bindings (token_hash, x5t) "
		"SELECT ?1, x5t FROM refresh_cert_bindings WHERE token_hash = ?2 "
		"ON CONFLICT (token_hash) DO UPDATE SET x5t = excluded.x5t", 0},
	[Q_GET] = {"SELECT x5t FROM refresh_cert_bindings WHERE token_hash = ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_certbind_sql[id])

ts_err store_refresh_bind(store *s, const unsigned char hash[32], const char *x5t)
{
	if (!hash || !x5t || strlen(x5t) != 43)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_BIND), ARGS(DB_B(hash, 32), DB_T(x5t)));
}

ts_err store_refresh_bind_inherit(store *s, const unsigned char hash[32],
                                  const unsigned char prev[32])
{
	if (!hash || !prev)
		return TS_SERVER_ERROR;
	return store_run(s, Q(Q_INHERIT), ARGS(DB_B(hash, 32), DB_B(prev, 32)));
}

static ts_err x5t_read(db_stmt *st, void *out)
{
	const char *v = db_text(st, 0);
	char *x5t = out;

	if (!v || strlen(v) != 43)
		return TS_SERVER_ERROR;
	memcpy(x5t, v, 44);
	return TS_OK;
}

ts_err store_refresh_binding(store *s, const unsigned char hash[32], char x5t[44])
{
	ts_err e;

	if (!hash || !x5t)
		return TS_SERVER_ERROR;
	x5t[0] = '\0';
	e = store_one(s, Q(Q_GET), ARGS(DB_B(hash, 32)), x5t_read, x5t);
	if (e == TS_NOT_FOUND) {
		x5t[0] = '\0';
		return TS_OK;
	}
	return e;
}
