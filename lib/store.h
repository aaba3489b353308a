/* store.h - all of Tessera's SQL: clients, users, keys and revocations in SQLite.
 *
 * The core is store.c, the SQL of each entity store_<entity>.c; all of it runs through the
 * database seam db.h (db_sqlite.c, the only file that includes sqlite3.h). A store is one SQLite
 * connection (WAL mode) with its prepared statements; it belongs to one thread at a time (the
 * daemon opens one per worker thread). Opening creates the file (mode 0600: it holds private
 * keys) and applies the numbered migrations of schema/ that PRAGMA user_version says are missing,
 * inside one immediate transaction.
 * Every function returns TS_OK or an error: TS_NOT_FOUND, TS_CONFLICT (unique key taken),
 * TS_UNAVAILABLE (database locked past the busy timeout), TS_SERVER_ERROR (anything else).
 * Only hashes of secrets reach the database. Times are Unix seconds given by the caller. */
#ifndef TESSERA_STORE_H
#define TESSERA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef struct store store;

struct client {
	char *client_id;
	char *name;                /* "" when none */
	int is_public;             /* 1: no secret; authenticates with client_id only */
	unsigned char secret_hash[32]; /* SHA-256 of the secret; zero for public clients */
	char *redirect_uris;       /* space-separated, "" when none */
	char *post_logout_redirect_uris; /* where /logout may send the browser: the same form */
	char *grant_types;         /* space-separated: client_credentials authorization_code ... */
	char *scope;               /* space-separated allowed scope, may hold ${clientid} */
	int refresh_rotation;      /* 1 rotate (default), 0 non-rotating */
	int refresh_grace;         /* seconds */
	int refresh_idle_ttl;      /* seconds a refresh token lives unused; 0: the global setting */
	int grant_lifetime;        /* seconds a grant lives at most; 0: the global setting */
	int active;                /* 0 disabled */
	int64_t created_at, updated_at;
	char *external_id;         /* SCIM externalId, or NULL */
	/* read only (set by store_client_add, ignored by the other writes): */
	int64_t record;            /* which record of client_id this is: every client added takes
	                            * the next number (1, 2, ...), so one removed and added again
	                            * under the same id is another record; 0 for clients from before
	                            * schema version 7 */
	int token_reference;       /* 1: its access tokens are reference tokens, 0: JWTs */
	/* how it authenticates (schema 012): "client_secret_basic" (a secret, by Basic or in the
	 * body), "none" (public), "private_key_jwt", "tls_client_auth" or
	 * "self_signed_tls_client_auth". Read: never NULL. Written: NULL means "none" for a public
	 * client, else "client_secret_basic". Only client_secret_basic keeps a secret. */
	char *auth_method;
	char *jwks;                /* a JWK Set's JSON text (public keys), or NULL */
	char *jwks_uri;            /* https URL of the client's JWK Set, or NULL */
	char *tls_subject_dn;      /* tls_client_auth: the certificate's subject DN, or NULL */
	char *tls_san;             /* tls_client_auth: "dns:", "uri:", "ip:" or "email:" + value */
	int cert_bound;            /* 1: access tokens bound to its certificate (RFC 8705 §3) */
	int dpop_bound;            /* 1: access tokens must be DPoP-bound (RFC 9449 §5.2) */
};

struct user {
	int64_t id;
	char *username;            /* unique, case-insensitively */
	char *password_hash;       /* Argon2id encoded string, or NULL */
	char *email;               /* or NULL */
	char *name;                /* or NULL */
	char *scope;               /* allowed scope, may hold ${username}; "" when none */
	int active;
	int64_t created_at, updated_at;
	char *external_id;         /* SCIM externalId, or NULL */
	char *attrs;               /* the other SCIM attributes: a JSON object's text ("{}"); on add,
	                            * NULL makes email (if any) the one primary email */
	/* read only (ignored when writing): */
	char *group_scope;         /* the scope the user's groups add, space-separated ("" none) */
	char *groups;              /* the user's groups: JSON [{"value": id, "display": name}] */
};

struct key_row {
	char *kid;
	char *alg;                 /* "ES256" or "RS256" */
	char *pem;                 /* private key PEM; wipe before free */
	int64_t created_at;
	int64_t retired_at;        /* 0 while it is the newest key */
	int64_t signs_from;        /* Unix ms from which it signs (0: at once); a rotated key's is a
	                            * little ahead, so that every node publishes it first */
};

/* Opens (creating if needed) the database at path, sets WAL, busy timeout busy_ms and
 * synchronous (0 OFF, 1 NORMAL, 2 FULL), and migrates. *s is freed with store_close. */
ts_err store_open(const char *path, int busy_ms, int synchronous, store **s);
void store_close(store *s); /* NULL is fine */

/* The schema version the database is at (PRAGMA user_version) and the newest this build knows. */
int store_schema_version(store *s);
int store_schema_latest(void);
/* The database's path or URI as logs and output may show it (a URI's password as ***; buf holds
 * the text when it differs from path). */
const char *store_shown(const char *path, char *buf, size_t n);

/* PRAGMA data_version: *v changes between two calls on the same store exactly when another
 * connection (another thread's or process's) committed a change in between. The daemon polls it
 * to drop its caches after `tessera client ...` changed the database. */
ts_err store_data_version(store *s, int64_t *v);
/* A number that moves exactly when a client is added, changed or removed, by any process or node
 * (schema 018): the daemon empties its client cache when it moved. */
ts_err store_clients_version(store *s, int64_t *v);
/* The connection's synchronous setting as SQLite reports it (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA),
 * or -1. The daemon logs its own and its writer's at start. */
int store_synchronous(store *s);

/* For the one connection that does all the daemon's writing (writer.c): checkpoints the WAL
 * into the database after every checkpoint_pages frames (in RESTART mode, so that the WAL starts
 * again from its beginning even while reads never stop; see store.c). */
void store_tune_writer(store *s, int checkpoint_pages);

/* Frees a record and its strings (wiping secrets); NULL is fine. */
void store_client_free(struct client *c);
/* Frees what c owns but its client_id, leaving the pointers NULL (a struct on the stack). */
void store_client_clear(struct client *c);
/* A deep copy of c (caller store_client_free's), or NULL when out of memory. */
struct client *store_client_dup(const struct client *c);
void store_user_free(struct user *u);
void store_key_free(struct key_row *k);

/* Clients. get: *out malloc'd (caller store_client_free's), TS_NOT_FOUND if absent.
 * add: TS_CONFLICT if the id exists; created_at/updated_at are taken from c, the record number
 * is the next one (c->record is ignored).
 * set_active and remove: TS_NOT_FOUND if absent. each: calls fn for every client in client_id
 * order until fn returns non-zero (that value is returned as TS_SERVER_ERROR unless 0). The
 * record passed to fn is valid only during the call. */
ts_err store_client_get(store *s, const char *client_id, struct client **out);
ts_err store_client_add(store *s, const struct client *c);
ts_err store_client_set_active(store *s, const char *client_id, int active, int64_t now);
ts_err store_client_remove(store *s, const char *client_id);
ts_err store_client_each(store *s, int (*fn)(const struct client *c, void *arg), void *arg);

/* Users, likewise; username look-ups are case-insensitive. add sets u->id. */
ts_err store_user_get(store *s, const char *username, struct user **out);
ts_err store_user_add(store *s, struct user *u);
ts_err store_user_set_password(store *s, const char *username, const char *hash, int64_t now);
ts_err store_user_set_active(store *s, const char *username, int active, int64_t now);
ts_err store_user_remove(store *s, const char *username);
ts_err store_user_each(store *s, int (*fn)(const struct user *u, void *arg), void *arg);

/* Signing keys. add inserts k as the signing key and retires (retired_at = k->created_at) the one
 * that signed before, in one transaction. each: newest first. current: the signing key,
 * TS_NOT_FOUND when there is none. prune removes keys retired before `before`. */
ts_err store_key_add(store *s, const struct key_row *k);
ts_err store_key_current(store *s, struct key_row **out);
/* Inserts k as the first key when there is no current key: *added 1, or 0 when another process
 * made one first (TS_CONFLICT is that too, on an engine where both inserts raced). */
ts_err store_key_add_first(store *s, const struct key_row *k, int *added);
ts_err store_key_each(store *s, int (*fn)(const struct key_row *k, void *arg), void *arg);
ts_err store_key_prune(store *s, int64_t before);

/* Revoked access tokens by jti, kept until they expire anyway (exp). revoke is idempotent.
 * is_revoked sets *revoked to 1 or 0. purge drops rows whose exp < now. */
ts_err store_revoke_jti(store *s, const char *jti, int64_t exp);
ts_err store_is_revoked(store *s, const char *jti, int *revoked);
ts_err store_revocations_purge(store *s, int64_t now);

/* --- authorization: grants, codes, sessions, consents, refresh tokens (schema 002) --- */

/* Explicit transactions, for writes that must land together (BEGIN IMMEDIATE ... COMMIT).
 * rollback is safe to call when no transaction is open. */
ts_err store_begin(store *s);
ts_err store_commit(store *s);
void store_rollback(store *s);

/* The user with this id; TS_NOT_FOUND if none. */
ts_err store_user_get_id(store *s, int64_t id, struct user **out);
/* The same, with only what decides the user's rights, for the token paths: id, username, scope,
 * active and group_scope (the other strings NULL). */
ts_err store_user_rights(store *s, int64_t id, struct user **out);

/* A grant: one user (or none, for client-only grants) + one client + the scope approved.
 * Codes, refresh tokens and access tokens hang from it; revoking it makes them all inactive. */
struct grant {
	int64_t id;
	char *client_id;
	int64_t user_id;           /* 0 when none */
	char *scope;
	int64_t created_at, updated_at;
	int64_t revoked_at;        /* 0 while active */
	int64_t client_record;     /* the client record it was made with (read only: add takes the
	                            * client's record at the time) */
	char *username;            /* the user's name, filled by store_scim_grants only, else NULL */
};
void store_grant_free(struct grant *g);
/* The active (not revoked) grant of user_id and client_id; TS_NOT_FOUND if none. */
ts_err store_grant_find(store *s, int64_t user_id, const char *client_id, struct grant **out);
ts_err store_grant_get(store *s, int64_t id, struct grant **out);
/* Inserts g (its created_at and updated_at from g->created_at, its client_record the client's
 * record now), setting g->id. */
ts_err store_grant_add(store *s, struct grant *g);
ts_err store_grant_set_scope(store *s, int64_t id, const char *scope, int64_t now);
/* Sets revoked_at = now if not yet revoked (idempotent); TS_NOT_FOUND if no such grant. */
ts_err store_grant_revoke(store *s, int64_t id, int64_t now);

/* An authorization code, stored under the SHA-256 of its text. */
struct code {
	unsigned char hash[32];
	char *client_id;
	int64_t user_id, grant_id;
	char *redirect_uri;        /* the one the code was sent to */
	int redirect_given;        /* 1 when the request named it (then /token must repeat it) */
	char *challenge;           /* PKCE S256 code_challenge */
	char *scope;
	char *nonce;               /* or NULL */
	int64_t auth_time, created_at, expires_at;
	int64_t used_at;           /* 0 until redeemed */
};
void store_code_free(struct code *c);
ts_err store_code_add(store *s, const struct code *c);
/* The code with this hash, used or not (*out: caller frees); TS_NOT_FOUND when unknown. */
ts_err store_code_get(store *s, const unsigned char hash[32], struct code **out);
/* Redeems the code with this hash at now: marks it used if it was not, atomically (of two racing
 * calls exactly one gets TS_OK). *out is the row (caller frees) on TS_OK and on TS_CONFLICT (the
 * code was already used: the caller revokes its grant); TS_NOT_FOUND for an unknown code.
 * Expiry is the caller's check (expires_at). */
ts_err store_code_take(store *s, const unsigned char hash[32], int64_t now, struct code **out);
/* Deletes codes that expired before now. */
ts_err store_codes_purge(store *s, int64_t now);

/* A browser session, stored under the SHA-256 of its cookie value. */
struct session {
	unsigned char hash[32];
	int64_t user_id, auth_time, created_at, expires_at;
};
ts_err store_session_add(store *s, const struct session *se);
/* TS_NOT_FOUND when absent, expired (expires_at <= now) or its user is disabled. A password
 * change, a disable or a removal of the user deletes the user's sessions (schema 009). */
ts_err store_session_get(store *s, const unsigned char hash[32], int64_t now, struct session *out);
ts_err store_session_remove(store *s, const unsigned char hash[32]);
ts_err store_sessions_purge(store *s, int64_t now);

/* Reference access tokens (schema 011): the SHA-256 of a token's text, the claims a JWT of it
 * would carry (a JSON object), and its exp. get copies the claims of one not expired at now into
 * *claims (malloc'd): TS_NOT_FOUND when there is none. purge drops those expired at now. */
ts_err store_reftoken_add(store *s, const unsigned char hash[32], const char *claims, int64_t exp);
ts_err store_reftoken_get(store *s, const unsigned char hash[32], int64_t now, char **claims);
ts_err store_reftokens_purge(store *s, int64_t now);

/* Certificate-bound refresh tokens (store_certbind.c, RFC 8705 §3): bind binds the refresh
 * token with this key to the client certificate with thumbprint x5t (x5t#S256, 43 characters);
 * inherit gives the successor hash the binding of prev, if it has one (in the rotation's
 * transaction); binding reads it into x5t (44 bytes): "" when the token is not bound. */
ts_err store_refresh_bind(store *s, const unsigned char hash[32], const char *x5t);
ts_err store_refresh_bind_inherit(store *s, const unsigned char hash[32],
                                  const unsigned char prev[32]);
ts_err store_refresh_binding(store *s, const unsigned char hash[32], char x5t[44]);
/* Records the jti of a client assertion of client_id that expires at exp: TS_CONFLICT when the
 * client used this jti before (a replay), while its row is kept (until store_assertions_purge
 * with a time past exp). */
ts_err store_assertion_use(store *s, const char *client_id, const char *jti, int64_t exp);
/* TS_OK when client_id's jti is recorded and not expired at now, TS_NOT_FOUND when not. */
ts_err store_assertion_seen(store *s, const char *client_id, const char *jti, int64_t now);
ts_err store_assertions_purge(store *s, int64_t before);

/* DPoP proofs (schema 014): the single use of a proof's jti with its key (replay: lib/dpop.h's
 * dpop_proof.replay). use records it until expires_at: TS_OK the first time, TS_CONFLICT while
 * a record of it is alive at now. purge drops those expired at now. */
ts_err store_dpop_jti_use(store *s, const unsigned char replay[32], int64_t expires_at,
                          int64_t now);
ts_err store_dpop_purge(store *s, int64_t now);

/* The change feed (schema 010): rows written by triggers whenever a grant, client, user or
 * access token loses or changes rights. bounds: the first id still kept (last + 1 when none is)
 * and the highest id ever written (0: none). after calls fn for each row with an id above
 * `after`, in order, at most max rows, until fn returns an error (returned); the strings of a
 * change are NULL when the kind has none, and valid during the call only. purge drops rows
 * written before `before`. */
struct change {
	int64_t id;
	const char *kind;           /* "grant", "client", "token" or "user" */
	int64_t grant_id;           /* 0: none */
	const char *client_id, *sub, *jti, *scope;
	int revoked;                /* it grants nothing any more (revoked, disabled, removed) */
	int removed;
};
ts_err store_changes_bounds(store *s, int64_t *first, int64_t *last);
ts_err store_changes_after(store *s, int64_t after, int max,
                           ts_err (*fn)(void *arg, const struct change *c), void *arg);
ts_err store_changes_purge(store *s, int64_t before);

/* Consent: the scope tokens a user approved for a client, space-separated in *scope (malloc'd,
 * "" when none). add records each token of the space-separated scope (idempotent). */
ts_err store_consent_get(store *s, int64_t user_id, const char *client_id, char **scope);
ts_err store_consent_add(store *s, int64_t user_id, const char *client_id, const char *scope,
                         int64_t now);

/* Refresh tokens, stored under the SHA-256 of their text (the grant type itself comes with the
 * next issue; they are issued with the code flow already). */
struct refresh {
	unsigned char hash[32];
	int64_t grant_id;
	int64_t created_at, expires_at;
	int64_t used_at;           /* 0 while current; when it was rotated otherwise */
	int grace_used;            /* 1 once used again within the client's grace period */
	int64_t successor_ms;      /* once rotated: the time in its successor's text (0: rotated
	                            * before schema version 6, a successor without one) */
	char *scope;               /* the scope of its authorization, which its successors keep;
	                            * NULL: the grant's whole scope (tokens from before schema
	                            * version 7). Malloc'd by store_refresh_get: store_refresh_clear */
	char *dpop_jkt;            /* the thumbprint of the DPoP key it is bound to (schema 014),
	                            * which its successors keep; NULL: not bound. Malloc'd by
	                            * store_refresh_get: store_refresh_clear */
};
/* Frees r->scope and r->dpop_jkt (r itself is the caller's); NULL is fine. */
void store_refresh_clear(struct refresh *r);
ts_err store_refresh_add(store *s, const struct refresh *r);
/* Inserts the successor r (hash, created_at, expires_at; grant and scope are taken from prev's
 * row, in the same statement, so that a scope an admin changed meanwhile is the one kept). */
ts_err store_refresh_add_successor(store *s, const struct refresh *r, const unsigned char prev[32]);
/* The refresh token with this key (grant_token_hash); TS_NOT_FOUND if none. On TS_OK out->scope
 * is malloc'd (or NULL): store_refresh_clear. */
ts_err store_refresh_get(store *s, const unsigned char hash[32], struct refresh *out);
/* Rotation: marks the token used at now, its successor made at successor_ms, if it was current
 * (used_at NULL), atomically: TS_OK for exactly one of racing callers, TS_CONFLICT for the
 * others (and for a used token), TS_NOT_FOUND for an unknown one. */
ts_err store_refresh_use(store *s, const unsigned char hash[32], int64_t now, int64_t successor_ms);
/* The grace use: sets grace_used = 1 if it was 0, atomically: TS_OK once, then TS_CONFLICT. */
ts_err store_refresh_grace(store *s, const unsigned char hash[32]);
/* Sets a current token's expires_at (the idle timeout slides with use). */
ts_err store_refresh_touch(store *s, const unsigned char hash[32], int64_t expires_at);
/* The current (unused) refresh tokens of grant_id that keep a scope of their own: fn(hash, scope,
 * arg) for each, until it returns non-zero (then TS_SERVER_ERROR); the strings are valid during
 * the call only, and fn must not write. set_scope replaces one token's scope. */
ts_err store_refresh_scopes(store *s, int64_t grant_id,
                            int (*fn)(const unsigned char hash[32], const char *scope, void *arg),
                            void *arg);
ts_err store_refresh_set_scope(store *s, const unsigned char hash[32], const char *scope);

/* Grants, optionally only those of one user (username, case-insensitive) and/or one client
 * (NULL: any), oldest first; fn's grant is valid during the call. */
ts_err store_grant_each(store *s, const char *username, const char *client_id,
                        int (*fn)(const struct grant *g, void *arg), void *arg);

/* A server secret of 32 bytes by name (e.g. "refresh-successor"), created at random the first
 * time it is asked for (in the same transaction as the caller's, if one is open). */
ts_err store_secret(store *s, const char *name, unsigned char out[32]);

/* --- device authorizations (RFC 8628, schema 004) --- */

/* A device authorization, stored under the SHA-256 of its device code and found by its user
 * code too. It is pending until a user approves or denies it on the /device page, and redeemed
 * once by the device's poll after approval. Rows stay until purged after expiry, so that a used
 * or expired code is told apart from an unknown one. */
enum device_status { DEVICE_PENDING = 0, DEVICE_APPROVED = 1, DEVICE_DENIED = 2, DEVICE_REDEEMED = 3 };
struct device {
	unsigned char hash[32];    /* SHA-256 of the device code's text */
	char user_code[9];         /* 8 characters of BCDFGHJKLMNPQRSTVWXZ, no dash, NUL-terminated */
	char *client_id;
	char *scope;               /* the scope requested, or NULL for "everything allowed" */
	int64_t created_at, expires_at;
	int interval;              /* seconds between polls, as answered to the device */
	int status;                /* enum device_status */
	int64_t user_id, grant_id; /* 0 until approved */
	char *granted;             /* the scope approved, NULL until then */
	int64_t auth_time;         /* when the approving user logged in; 0 until approved */
};
void store_device_free(struct device *d); /* NULL is fine */
/* Inserts d (status, user_id, grant_id, granted, auth_time ignored: a new one is pending).
 * TS_CONFLICT when its user code (or hash) is already in the table, expired or not: the caller
 * draws another user code. */
ts_err store_device_add(store *s, const struct device *d);
/* By device code hash, or by user code (8 characters, exact); TS_NOT_FOUND if absent. Expiry is
 * the caller's check. *out is malloc'd (store_device_free). */
ts_err store_device_get(store *s, const unsigned char hash[32], struct device **out);
ts_err store_device_by_user_code(store *s, const char *user_code, struct device **out);
/* The user's decision on a pending, unexpired (expires_at > now) authorization: status
 * DEVICE_APPROVED (with user_id, grant_id, granted and auth_time) or DEVICE_DENIED (those
 * ignored). Atomic: TS_CONFLICT when it is no longer pending or has expired, TS_NOT_FOUND when
 * there is no such user code. */
ts_err store_device_decide(store *s, const char *user_code, int status, int64_t user_id,
                           int64_t grant_id, const char *granted, int64_t auth_time, int64_t now);
/* The redemption by the device: approved -> redeemed, atomically (of racing callers one gets
 * TS_OK); TS_CONFLICT when it was not approved (pending, denied, already redeemed),
 * TS_NOT_FOUND when absent. */
ts_err store_device_redeem(store *s, const unsigned char hash[32]);
/* Deletes the authorizations that expired before now. */
ts_err store_devices_purge(store *s, int64_t now);

/* A savepoint inside the open transaction, for one job of the writer (writer.c): end releases
 * it, first undoing what was done since when rollback_it is set. end fails when that could not
 * be done or the transaction is no longer open: SQLite rolls a whole transaction back by itself
 * on some errors (out of memory, I/O error, full disk), and then the jobs before are gone too. */
ts_err store_savepoint(store *s);
ts_err store_savepoint_end(store *s, int rollback_it);

/* --- SCIM administration (schema 005; lib/store_scim.c) --- */

/* Replaces every column of the user u->id with u's (its password hash only when set_password).
 * TS_NOT_FOUND when there is no such user, TS_CONFLICT when the username is taken. */
ts_err store_user_put(store *s, const struct user *u, int set_password);
ts_err store_user_remove_id(store *s, int64_t id);

/* Replaces every column of client c->client_id with c's, its secret hash only when set_secret. */
ts_err store_client_put(store *s, const struct client *c, int set_secret);

/* A group: every member may be granted the group's scope, on top of its own. */
struct group {
	int64_t id;
	char *display_name;
	char *external_id;         /* or NULL */
	char *scope;               /* "" when none */
	int64_t created_at, updated_at;
	char *members;             /* read only: JSON [{"value": user id, "display": username}] */
};
void store_group_free(struct group *g);
ts_err store_group_get(store *s, int64_t id, struct group **out);
ts_err store_group_add(store *s, struct group *g);     /* sets g->id */
ts_err store_group_put(store *s, const struct group *g);
ts_err store_group_remove(store *s, int64_t id);
/* Makes the n users of ids the members of group_id, in one transaction (or the caller's):
 * TS_NOT_FOUND when a user (or the group) does not exist, and then nothing changed. Also sets the
 * group's updated_at to now. */
ts_err store_group_set_members(store *s, int64_t group_id, const int64_t *ids, size_t n,
                               int64_t now);

/* A SCIM list query: the condition compiled by scim_sql_where (over the row "r"), the ORDER BY
 * expression of scim_sql_order (NULL: by id), the rows offset .. offset + limit - 1. */
struct scim_bind;
struct store_list {
	const char *where;
	const char *where_pg;            /* PostgreSQL's text of where (NULL: where serves) */
	const struct scim_bind *binds;
	size_t nbinds;
	const char *order;
	const char *order_pg;            /* scim_sql_order_in's PostgreSQL text of order */
	int descending;
	int64_t offset, limit;
};
/* Calls fn on each resource of the page (its record is valid during the call) and sets *total
 * to the number of resources matching in all. fn returning non-zero stops with TS_SERVER_ERROR.
 * Grants are the active ones only, with their username. */
ts_err store_scim_users(store *s, const struct store_list *q, int64_t *total,
                        int (*fn)(const struct user *u, void *arg), void *arg);
ts_err store_scim_groups(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct group *g, void *arg), void *arg);
ts_err store_scim_clients(store *s, const struct store_list *q, int64_t *total,
                          int (*fn)(const struct client *c, void *arg), void *arg);
ts_err store_scim_grants(store *s, const struct store_list *q, int64_t *total,
                         int (*fn)(const struct grant *g, void *arg), void *arg);

/* --- several nodes over one database (schema 017, docs/nodes.md) --- */

/* Failed guesses of a brute-force limit (kind) for key (a SHA-256): get reads the count since
 * they were last forgotten and the latest one's time (Unix ms), TS_NOT_FOUND when none; add
 * counts one at now_ms, starting again from 1 when the latest is forget_ms old; clear forgets
 * them; purge drops those whose latest is before before_ms. */
ts_err store_failure_get(store *s, const char *kind, const unsigned char key[32], int *failures,
                         int64_t *last_ms);
ts_err store_failure_add(store *s, const char *kind, const unsigned char key[32], int64_t now_ms,
                         int64_t forget_ms);
ts_err store_failure_clear(store *s, const char *kind, const unsigned char key[32]);
ts_err store_failures_purge(store *s, int64_t before_ms);

/* Takes the lease name for holder until `until` (seconds) when it ran out by now or holder has
 * it: *got 1 then, 0 when another holder has it. */
ts_err store_lease_take(store *s, const char *name, const char *holder, int64_t now,
                        int64_t until, int *got);

/* Records a poll at now_ms (Unix ms) of the device authorization hash, whichever node answers:
 * *interval is the interval in force after it, 5 seconds more than before when the poll came
 * sooner than the interval (less 500 ms) after the previous one (RFC 8628 §3.5 slow_down).
 * TS_NOT_FOUND when there is no such authorization. */
ts_err store_device_polled(store *s, const unsigned char hash[32], int64_t now_ms, int *interval);

#endif
