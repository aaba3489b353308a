/* store_clients.c - the SQL of clients (see store.h): records, their numbers, full updates. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum {
	Q_GET, Q_ADD, Q_SET_ACTIVE, Q_REMOVE, Q_EACH, Q_COUNTER_NEXT, Q_PUT, Q_VERSION, Q_COUNT
};

const struct db_sql store_client_sql[] = {
	[Q_GET] = {"SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?1", NULL, 0},
	[Q_ADD] = {"INSERT INTO clients (" CLIENT_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
		"?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)", NULL, 0},
	[Q_SET_ACTIVE] = {"UPDATE clients SET active = ?2, updated_at = ?3 WHERE client_id = ?1",
		NULL, 0},
	[Q_REMOVE] = {"DELETE FROM clients WHERE client_id = ?1", NULL, 0},
	[Q_EACH] = {"SELECT " CLIENT_COLS " FROM clients ORDER BY client_id", NULL, 0},
	/* the next number of a counter (1 the first time), in the caller's transaction */
	[Q_COUNTER_NEXT] = {"INSERT INTO counters (name, value) VALUES (?1, 1) "
		"ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
		"INSERT INTO counters (name, value) VALUES (?1, 1) "
		"ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value", 0},
	/* a method other than client_secret_basic keeps no secret (schema 012) */
	[Q_PUT] = {"UPDATE clients SET name = ?2, is_public = ?3, "
		"secret_hash = CASE WHEN ?3 THEN NULL WHEN ?4 THEN ?5 ELSE secret_hash END, "
		"redirect_uris = ?6, "
		"grant_types = ?7, scope = ?8, refresh_rotation = ?9, refresh_grace = ?10, active = ?11, "
		"updated_at = ?12, refresh_idle_ttl = ?13, grant_lifetime = ?14, external_id = ?15, "
		"post_logout_redirect_uris = ?16, token_format = ?17, auth_method = ?18, jwks = ?19, "
		"jwks_uri = ?20, tls_subject_dn = ?21, tls_san = ?22, cert_bound = ?23, dpop_bound = ?24 "
		"WHERE client_id = ?1",
		/* (PostgreSQL: an integer is no condition) */
		"UPDATE clients SET name = ?2, is_public = ?3, "
		"secret_hash = CASE WHEN ?3::bigint <> 0 THEN NULL WHEN ?4 <> 0 THEN ?5 ELSE secret_hash END, "
		"redirect_uris = ?6, "
		"grant_types = ?7, scope = ?8, refresh_rotation = ?9, refresh_grace = ?10, active = ?11, "
		"updated_at = ?12, refresh_idle_ttl = ?13, grant_lifetime = ?14, external_id = ?15, "
		"post_logout_redirect_uris = ?16, token_format = ?17, auth_method = ?18, jwks = ?19, "
		"jwks_uri = ?20, tls_subject_dn = ?21, tls_san = ?22, cert_bound = ?23, dpop_bound = ?24 "
		"WHERE client_id = ?1", 0},
	[Q_VERSION] = {"SELECT value FROM counters WHERE name = 'clients-version'", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_client_sql[id])

/* The strings a client owns, but its client_id. */
static const size_t client_owned[] = {
	offsetof(struct client, name), offsetof(struct client, redirect_uris),
	offsetof(struct client, post_logout_redirect_uris), offsetof(struct client, grant_types),
	offsetof(struct client, scope), offsetof(struct client, external_id),
	offsetof(struct client, auth_method), offsetof(struct client, jwks),
	offsetof(struct client, jwks_uri), offsetof(struct client, tls_subject_dn),
	offsetof(struct client, tls_san),
};
#define OWNED(c, i) ((char **)((char *)(c) + client_owned[i]))
#define N_OWNED (sizeof client_owned / sizeof client_owned[0])

void store_client_clear(struct client *c)
{
	size_t i;

	for (i = 0; i < N_OWNED; i++) {
		free(*OWNED(c, i));
		*OWNED(c, i) = NULL;
	}
}

struct client *store_client_dup(const struct client *c)
{
	struct client *d = malloc(sizeof *d);
	size_t i;
	int bad;

	if (!d)
		return NULL;
	*d = *c;
	bad = !(d->client_id = strdup(c->client_id));
	for (i = 0; i < N_OWNED; i++)
		if (*OWNED(c, i) && !(*OWNED(d, i) = strdup(*OWNED(c, i))))
			bad = 1;
	if (bad) {
		store_client_free(d);
		return NULL;
	}
	return d;
}

void store_client_free(struct client *c)
{
	if (!c)
		return;
	explicit_bzero(c->secret_hash, sizeof(c->secret_hash));
	free(c->client_id);
	store_client_clear(c);
	free(c);
}

/* The method written for c: its own, or what is_public implied before schema 012. */
static const char *auth_method_of(const struct client *c)
{
	return c->auth_method ? c->auth_method : c->is_public ? "none" : "client_secret_basic";
}

/* 1 when c keeps no secret (the column is_public since schema 012). */
static int keeps_no_secret(const struct client *c)
{
	return strcmp(auth_method_of(c), "client_secret_basic") != 0;
}

/* A row of CLIENT_COLS into *(struct client **)out. */
static ts_err client_read(db_stmt *st, void *out)
{
	struct client *c = calloc(1, sizeof(*c));
	const void *blob;

	*(struct client **)out = NULL;
	if (!c)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 0, 0, &c->client_id) || store_col_text(st, 1, 0, &c->name) ||
			store_col_text(st, 4, 0, &c->redirect_uris) ||
			store_col_text(st, 5, 0, &c->grant_types) || store_col_text(st, 6, 0, &c->scope) ||
			store_col_text(st, 14, 1, &c->external_id) ||
			store_col_text(st, 16, 0, &c->post_logout_redirect_uris) ||
			store_col_text(st, 18, 0, &c->auth_method) || store_col_text(st, 19, 1, &c->jwks) ||
			store_col_text(st, 20, 1, &c->jwks_uri) ||
			store_col_text(st, 21, 1, &c->tls_subject_dn) ||
			store_col_text(st, 22, 1, &c->tls_san)) {
		store_client_free(c);
		return TS_SERVER_ERROR;
	}
	c->is_public = strcmp(c->auth_method, "none") == 0;
	if (db_type(st, 3) == DB_BLOB) {
		blob = db_blob(st, 3);
		if (blob && db_bytes(st, 3) == (int)sizeof(c->secret_hash))
			memcpy(c->secret_hash, blob, sizeof(c->secret_hash));
	}
	c->refresh_rotation = (int)db_int(st, 7);
	c->refresh_grace = (int)db_int(st, 8);
	c->active = (int)db_int(st, 9);
	c->created_at = db_int(st, 10);
	c->updated_at = db_int(st, 11);
	c->refresh_idle_ttl = (int)db_int(st, 12);
	c->grant_lifetime = (int)db_int(st, 13);
	c->record = db_int(st, 15);
	c->token_reference = db_text(st, 17) && strcmp(db_text(st, 17), "reference") == 0;
	c->cert_bound = (int)db_int(st, 23);
	c->dpop_bound = (int)db_int(st, 24);
	*(struct client **)out = c;
	return TS_OK;
}

STORE_KIND(, store_client_kind, struct client, client_read, store_client_free);

ts_err store_client_get(store *s, const char *client_id, struct client **out)
{
	if (out)
		*out = NULL;
	if (!client_id || !out)
		return TS_SERVER_ERROR;
	return store_get(s, Q(Q_GET), ARGS(DB_T(client_id)), &store_client_kind, out);
}

/* The client and its record number land together: a failed insert gives the number back. */
ts_err store_client_add(store *s, const struct client *c)
{
	int64_t record = 0;
	ts_err e;
	int nested;

	if (!s || !c || !c->client_id)
		return TS_SERVER_ERROR;
	if ((e = store_tx_start(s, &nested)))
		return e;
	e = store_one(s, Q(Q_COUNTER_NEXT), ARGS(DB_T("client-record")), store_read_int, &record);
	if (e == TS_NOT_FOUND)
		e = TS_SERVER_ERROR;
	if (!e)
		e = store_run(s, Q(Q_ADD), ARGS(DB_T(c->client_id), DB_T(nz(c->name)),
			DB_I(keeps_no_secret(c)),
			DB_B(keeps_no_secret(c) ? NULL : c->secret_hash, sizeof(c->secret_hash)),
			DB_T(nz(c->redirect_uris)), DB_T(nz(c->grant_types)), DB_T(nz(c->scope)),
			DB_I(c->refresh_rotation != 0), DB_I(c->refresh_grace), DB_I(c->active != 0),
			DB_I(c->created_at), DB_I(c->updated_at), DB_I(c->refresh_idle_ttl),
			DB_I(c->grant_lifetime), DB_T(c->external_id), DB_I(record),
			DB_T(nz(c->post_logout_redirect_uris)),
			DB_T(c->token_reference ? "reference" : "jwt"), DB_T(auth_method_of(c)),
			DB_T(c->jwks), DB_T(c->jwks_uri), DB_T(c->tls_subject_dn), DB_T(c->tls_san),
			DB_I(c->cert_bound != 0), DB_I(c->dpop_bound != 0)));
	if (!e)
		e = store_tx_end(s, nested);
	if (e)
		store_tx_abort(s, nested);
	return e;
}

ts_err store_client_set_active(store *s, const char *client_id, int active, int64_t now)
{
	if (!client_id)
		return TS_SERVER_ERROR;
	return store_change(s, Q(Q_SET_ACTIVE), ARGS(DB_T(client_id), DB_I(active != 0), DB_I(now)));
}

ts_err store_client_remove(store *s, const char *client_id)
{
	return client_id ? store_change(s, Q(Q_REMOVE), ARGS(DB_T(client_id))) : TS_SERVER_ERROR;
}

ts_err store_client_each(store *s, int (*fn)(const struct client *c, void *arg), void *arg)
{
	return store_each(s, Q(Q_EACH), NOARGS, &store_client_kind, (void (*)(void))fn, arg);
}

ts_err store_client_put(store *s, const struct client *c, int set_secret)
{
	if (!c || !c->client_id)
		return TS_SERVER_ERROR;
	return store_change(s, Q(Q_PUT), ARGS(DB_T(c->client_id), DB_T(nz(c->name)),
		DB_I(keeps_no_secret(c)), DB_I(set_secret != 0),
		DB_B(keeps_no_secret(c) ? NULL : c->secret_hash, sizeof c->secret_hash),
		DB_T(nz(c->redirect_uris)), DB_T(nz(c->grant_types)), DB_T(nz(c->scope)),
		DB_I(c->refresh_rotation != 0), DB_I(c->refresh_grace), DB_I(c->active != 0),
		DB_I(c->updated_at), DB_I(c->refresh_idle_ttl), DB_I(c->grant_lifetime),
		DB_T(c->external_id), DB_T(nz(c->post_logout_redirect_uris)),
		DB_T(c->token_reference ? "reference" : "jwt"), DB_T(auth_method_of(c)), DB_T(c->jwks),
		DB_T(c->jwks_uri), DB_T(c->tls_subject_dn), DB_T(c->tls_san), DB_I(c->cert_bound != 0),
		DB_I(c->dpop_bound != 0)));
}

ts_err store_clients_version(store *s, int64_t *v)
{
	*v = 0;
	return store_one(s, Q(Q_VERSION), NOARGS, store_read_int, v);
}
