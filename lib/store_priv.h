/* store_priv.h - what the store's files share (store.c the core, store_<entity>.c the SQL of
 * each entity); nothing outside lib/store*.c includes it.
 *
 * Each entity file keeps its statements in a table of struct db_sql (ended by {NULL}) that the
 * core prepares when a store opens (store_tables), and runs them through the helpers below: each
 * prepares its statement, binds the values, steps it and hands it back, mapping errors as db.h
 * says. The records read are malloc'd; who frees them is said in store.h. */
#ifndef TESSERA_STORE_PRIV_H
#define TESSERA_STORE_PRIV_H

#include "db.h"
#include "store.h"

struct store {
	db *db;
};

/* The values of a statement's ?1, ?2, ...: ARGS(DB_T(id), DB_I(now)) or NOARGS. */
#define ARGS(...) (const struct db_val[]){__VA_ARGS__}, \
	sizeof((const struct db_val[]){__VA_ARGS__}) / sizeof(struct db_val)
#define NOARGS NULL, 0

/* "" for NULL, for NOT NULL text columns */
static inline const char *nz(const char *v)
{
	return v ? v : "";
}

/* The statement tables of the entity files, for store_open. */
extern const struct db_sql store_client_sql[], store_user_sql[], store_key_sql[],
	store_grant_sql[], store_refresh_sql[], store_session_sql[], store_device_sql[],
	store_scim_sql[], store_reftoken_sql[], store_change_sql[], store_dpop_sql[],
	store_node_sql[], store_assertion_sql[];
extern const struct db_sql store_certbind_sql[]; /* store_certbind.c */
/* The text of a SCIM list's page query on resource type t (an enum scim_rtype_id), in SQLite's
 * dialect or PostgreSQL's (pg); malloc'd (store_scim.c, for the tests). */
char *store_scim_list_sql(int t, const struct store_list *q, int pg);
extern const struct db_sql store_enroll_sql[]; /* store_enroll.c */

/* What a migration needs done in C after its SQL, in its transaction (lib/store.c's table):
 * 009 fills users.name_key (store_users.c). */
ts_err store_user_fill_keys(store *s, int64_t now);

/* --- the guard -> prepare -> bind -> step skeleton, once --- */

/* Runs q with the values v (it returns no rows, or they are not wanted). */
ts_err store_run(store *s, const struct db_sql *q, const struct db_val *v, size_t n);
/* The same, for an UPDATE or DELETE of one row by key: TS_NOT_FOUND when it changed nothing. */
ts_err store_change(store *s, const struct db_sql *q, const struct db_val *v, size_t n);
/* Runs q and calls read(st, out) on its first row: TS_NOT_FOUND when there is none. A statement
 * that writes (... RETURNING) is then stepped to its end, so that it completes; when that fails,
 * what read made is still the caller's to free. */
ts_err store_one(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                 ts_err (*read)(db_stmt *st, void *out), void *out);
/* Runs q and calls row(st, ctx) on each row until it returns an error (which is returned). The
 * statement is one of its own while it runs, so that row may call back into the store. */
ts_err store_rows(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                  ts_err (*row)(db_stmt *st, void *ctx), void *ctx);

/* --- records --- */

/* A kind of record: read makes one of the current row (malloc'd into *(T **)out; TS_SERVER_ERROR
 * when out of memory or corrupt), release frees one, call calls the caller's callback fn, of type
 * int (*)(const T *, void *), with it. */
struct store_kind {
	ts_err (*read)(db_stmt *st, void *out);
	void (*release)(void *rec);
	int (*call)(void (*fn)(void), const void *rec, void *arg);
};
extern const struct store_kind store_client_kind, store_user_kind, store_grant_kind;

/* Defines the kind `name` of records of type T, read by read and freed by release_fn
 * (void release_fn(T *)). */
#define STORE_KIND(linkage, name, T, read, release_fn) \
	static void name##_release(void *rec) { release_fn(rec); } \
	static int name##_call(void (*fn)(void), const void *rec, void *arg) \
	{ return ((int (*)(const T *, void *))fn)(rec, arg); } \
	linkage const struct store_kind name = {read, name##_release, name##_call}

/* The record of q's first row into *(T **)out (NULL otherwise): TS_NOT_FOUND when none. */
ts_err store_get(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                 const struct store_kind *k, void *out);
/* Calls fn(record, arg) for each row of q, the record valid during the call, until fn returns
 * non-zero (then TS_SERVER_ERROR). */
ts_err store_each(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                  const struct store_kind *k, void (*fn)(void), void *arg);
/* The same, setting *rows to the number of rows read. */
ts_err store_each_rows(store *s, const struct db_sql *q, const struct db_val *v, size_t n,
                       const struct store_kind *k, void (*fn)(void), void *arg, int64_t *rows);

/* Text column i into *out (malloc'd; NULL column: NULL when nullable, else ""); -1 on OOM. */
int store_col_text(db_stmt *st, int i, int nullable, char **out);
/* A 32-byte hash column into h; TS_SERVER_ERROR when it is not one (the schema's CHECK makes
 * that a corrupt database). */
ts_err store_col_hash(db_stmt *st, int i, unsigned char h[32]);
/* For store_one: column 0 as an integer into *(int64_t *)out. */
ts_err store_read_int(db_stmt *st, void *out);

/* --- transactions --- */

/* A function whose writes must land together wraps them in tx_start .. tx_end (tx_abort on
 * failure). With no transaction open that is a transaction of its own; inside the caller's
 * store_begin it is a savepoint, so that the writes commit or roll back with the caller's, and a
 * failure undoes only this function's part and leaves the caller's transaction open. */
ts_err store_tx_start(store *s, int *nested);
ts_err store_tx_end(store *s, int nested);
void store_tx_abort(store *s, int nested);

/* The columns the SCIM lists read ("users r", "clients r"), as the row readers expect them. */
#define CLIENT_COLS "client_id, name, is_public, secret_hash, redirect_uris, grant_types, scope, " \
	"refresh_rotation, refresh_grace, active, created_at, updated_at, refresh_idle_ttl, " \
	"grant_lifetime, external_id, record, post_logout_redirect_uris, token_format, auth_method, " \
	"jwks, jwks_uri, tls_subject_dn, tls_san, cert_bound, dpop_bound"
/* Users are read as "users r": with the scope their groups add, and their groups as SCIM
 * shows them (a JSON array of {value, display}). */
#define USER_COLS "r.id, r.username, r.password_hash, r.email, r.name, r.scope, r.active, " \
	"r.created_at, r.updated_at, r.external_id, r.attrs, " \
	"(SELECT group_concat(g.scope, ' ') FROM group_members m JOIN groups g " \
	"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> ''), " \
	"(SELECT json_group_array(json_object('value', CAST(g.id AS TEXT), 'display', " \
	"g.display_name)) FROM group_members m JOIN groups g ON g.id = m.group_id " \
	"WHERE m.user_id = r.id)"
/* The same on PostgreSQL, with the same text: no JSON functions, whose output has spaces, but
 * the JSON written out as SQLite writes it (to_json quotes a string as json_quote does), and the
 * rows in the order SQLite's index gives them (by group), since the text is hashed (ETags). */
#define USER_COLS_PG "r.id, r.username, r.password_hash, r.email, r.name, r.scope, r.active, " \
	"r.created_at, r.updated_at, r.external_id, r.attrs, " \
	"(SELECT string_agg(g.scope, ' ' ORDER BY m.group_id) FROM group_members m JOIN groups g " \
	"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> ''), " \
	"coalesce((SELECT '[' || string_agg('{\"value\":' || CAST(to_json(CAST(g.id AS TEXT)) AS " \
	"TEXT) || ',\"display\":' || CAST(to_json(g.display_name) AS TEXT) || '}', ',' ORDER BY " \
	"m.group_id) || ']' FROM group_members m JOIN groups g ON g.id = m.group_id " \
	"WHERE m.user_id = r.id), '[]')"
#define GRANT_COLS "id, client_id, user_id, scope, created_at, updated_at, revoked_at, " \
	"client_record"

#endif
