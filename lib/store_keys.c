/* store_keys.c - the SQL of the server's own secrets (see store.h): signing keys and the named
 * 32-byte secrets. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store.h"
#include "store_priv.h"

enum {
	Q_RETIRE, Q_ADD, Q_ADD_FIRST, Q_CURRENT, Q_EACH, Q_PRUNE, Q_SECRET_GET, Q_SECRET_ADD, Q_COUNT
};

#define KEY_COLS "kid, alg, pem, created_at, retired_at, signs_from"

const struct db_sql store_key_sql[] = {
	[Q_RETIRE] = {"UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL", NULL, 0},
	[Q_ADD] = {"INSERT INTO signing_keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
		NULL, 0},
	/* the first key, only while there is no signing key: of nodes starting together on an
	 * empty database one inserts, the others change nothing (SQLite: the writes are serial) or
	 * hit the unique index signing_keys_current (PostgreSQL: racing snapshots) */
	[Q_ADD_FIRST] = {"INSERT INTO signing_keys (" KEY_COLS ") SELECT ?1, ?2, ?3, ?4, NULL, ?5 "
		"WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)", NULL, 0},
	[Q_CURRENT] = {"SELECT " KEY_COLS " FROM signing_keys WHERE retired_at IS NULL", NULL, 0},
	/* (rowid, the order of insertion among keys of one second, is SQLite's: a dialect
	 * override for PostgreSQL) */
	[Q_EACH] = {"SELECT " KEY_COLS " FROM signing_keys ORDER BY created_at DESC, rowid DESC",
		"SELECT " KEY_COLS " FROM signing_keys ORDER BY created_at DESC, ord DESC", 0},
	[Q_PRUNE] = {"DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?1",
		NULL, 0},
	[Q_SECRET_GET] = {"SELECT value FROM secrets WHERE name = ?1", NULL, 0},
	/* a racing process may have inserted it first: then its value is the one read back */
	[Q_SECRET_ADD] = {"INSERT INTO secrets (name, value) VALUES (?1, ?2) "
		"ON CONFLICT (name) DO NOTHING", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_key_sql[id])

/* --- signing keys --- */

void store_key_free(struct key_row *k)
{
	if (!k)
		return;
	free(k->kid);
	free(k->alg);
	if (k->pem) {
		explicit_bzero(k->pem, strlen(k->pem));
		free(k->pem);
	}
	free(k);
}

static ts_err key_read(db_stmt *st, void *out)
{
	struct key_row *k = calloc(1, sizeof(*k));

	*(struct key_row **)out = NULL;
	if (!k)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 0, 0, &k->kid) || store_col_text(st, 1, 0, &k->alg) ||
			store_col_text(st, 2, 0, &k->pem)) {
		store_key_free(k);
		return TS_SERVER_ERROR;
	}
	k->created_at = db_int(st, 3);
	k->retired_at = db_int(st, 4); /* NULL reads as 0 */
	k->signs_from = db_int(st, 5);
	*(struct key_row **)out = k;
	return TS_OK;
}

STORE_KIND(static, key_kind, struct key_row, key_read, store_key_free);

ts_err store_key_add(store *s, const struct key_row *k)
{
	ts_err e;
	int nested;

	if (!s || !k || !k->kid || !k->alg || !k->pem)
		return TS_SERVER_ERROR;
	if ((e = store_tx_start(s, &nested)))
		return e;
	e = store_run(s, Q(Q_RETIRE), ARGS(DB_I(k->created_at)));
	if (!e)
		e = store_run(s, Q(Q_ADD), ARGS(DB_T(k->kid), DB_T(k->alg), DB_T(k->pem),
			DB_I(k->created_at), DB_I(k->signs_from)));
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

ts_err store_key_add_first(store *s, const struct key_row *k, int *added)
{
	ts_err e;

	*added = 0;
	if (!s || !k || !k->kid || !k->alg || !k->pem)
		return TS_SERVER_ERROR;
	e = store_run(s, Q(Q_ADD_FIRST), ARGS(DB_T(k->kid), DB_T(k->alg), DB_T(k->pem),
		DB_I(k->created_at), DB_I(k->signs_from)));
	if (!e)
		*added = db_changes(s->db) == 1;
	return e;
}

ts_err store_key_current(store *s, struct key_row **out)
{
	if (!out)
		return TS_SERVER_ERROR;
	*out = NULL;
	return store_get(s, Q(Q_CURRENT), NOARGS, &key_kind, out);
}

ts_err store_key_each(store *s, int (*fn)(const struct key_row *k, void *arg), void *arg)
{
	return store_each(s, Q(Q_EACH), NOARGS, &key_kind, (void (*)(void))fn, arg);
}

ts_err store_key_prune(store *s, int64_t before)
{
	return store_run(s, Q(Q_PRUNE), ARGS(DB_I(before)));
}

/* --- server secrets --- */

static ts_err hash_read(db_stmt *st, void *out)
{
	return store_col_hash(st, 0, out);
}

/* The read comes first, so that once the secret exists asking for it writes nothing. Otherwise
 * a random value is offered and the row read back: whoever inserted first, every caller then
 * returns the same value. */
ts_err store_secret(store *s, const char *name, unsigned char out[32])
{
	unsigned char fresh[32];
	ts_err e;

	if (!s || !name || !out)
		return TS_SERVER_ERROR;
	e = store_one(s, Q(Q_SECRET_GET), ARGS(DB_T(name)), hash_read, out);
	if (e != TS_NOT_FOUND)
		return e;
	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return TS_SERVER_ERROR;
	e = store_run(s, Q(Q_SECRET_ADD), ARGS(DB_T(name), DB_B(fresh, sizeof(fresh))));
	if (!e)
		e = store_one(s, Q(Q_SECRET_GET), ARGS(DB_T(name)), hash_read, out);
	if (e == TS_NOT_FOUND)
		e = TS_SERVER_ERROR; /* inserted, or found taken, yet not there */
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return e;
}
