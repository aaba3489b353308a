/* grant.h - the business rules of user authorizations: what scope a user may get through a
 * client, the grant record that codes and tokens hang from, and authorization codes. */
#ifndef TESSERA_GRANT_H
#define TESSERA_GRANT_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "secret.h"
#include "store.h"

/* The scope granted to user u through client c for the requested scope (NULL: all allowed).
 * OpenID Connect scopes (openid profile email) need only the client's allowed scope; every other
 * token must be allowed by the client and by the user, whose allowed scope is its own and its
 * groups' (MQTT filters: intersected with both, with ${clientid} and ${username} filled in). Same results and errors as scope_grant. */
ts_err grant_user_scope(const char *requested, const struct client *c, const struct user *u,
                        char **granted, char **bad);

/* 1 when every token of want is also a token of have, else 0. */
int grant_scope_covered(const char *want, const char *have);

/* The tokens of a, then those of b that a lacks, space-separated (malloc'd; NULL on OOM). */
char *grant_scope_union(const char *a, const char *b);

/* Makes sure user_id has an active grant for client_id that includes scope: widens the existing
 * one, or creates it. *grant_id receives its id. */
ts_err grant_record(store *s, const char *client_id, int64_t user_id, const char *scope,
                    int64_t now, int64_t *grant_id);

/* The text of a grant token (authorization code, refresh token, device code) and its NUL: 51
 * base64url characters of 38 bytes, the time it was made in Unix milliseconds (6 bytes,
 * big-endian) and 32 random bytes (a rotated refresh token's successor: 32 bytes of HMAC). */
#define GRANT_TOKEN_LEN 52

/* Fills text (GRANT_TOKEN_LEN bytes) with a new grant token made now: 256 random bits after the
 * time. TS_SERVER_ERROR if the random source fails. */
ts_err grant_token_new(char *text);

/* The key a grant token is stored under. For a grant token, its time followed by the first 26
 * bytes of the SHA-256 of its text: keys of tokens made together sit together in the tables'
 * B-trees, so that a commit of many rewrites a few pages, not one page each. For any other text
 * (session cookies; tokens made before schema version 6, 43 characters), its SHA-256. */
void grant_token_hash(const char *text, unsigned char hash[32]);

/* 1 when text is as long as a grant token, or as one made before schema version 6 (43
 * characters): what introspection and revocation look up as a refresh token. */
int grant_token_sized(const char *text);

/* Creates an authorization code: fills text (GRANT_TOKEN_LEN bytes) with a new grant token and
 * stores c (whose hash is set here; the other fields are the caller's). */
ts_err grant_code_issue(store *s, struct code *c, char *text);

/* Creates a refresh token of grant_id living ttl seconds from now: fills text (GRANT_TOKEN_LEN
 * bytes) with a new grant token and stores only its key. */
ts_err grant_refresh_issue(store *s, int64_t grant_id, int64_t now, int64_t ttl, char *text);

/* Looks up the refresh token whose text is `text`: *active = 1 when it exists, has not expired
 * or been used (rotated), its grant is younger than the grant lifetime (the client's, else
 * `lifetime`; 0 none), and its grant, client and user are all still active; then *g and *u
 * are its grant and user (caller frees). *rt (if not NULL) receives the row when it exists. */
ts_err grant_refresh_active(store *s, const char *text, int64_t now, int64_t lifetime,
                            struct refresh *rt, struct grant **g, struct user **u, int *active);

/* The redemption of an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6), as one writer job
 * (writer_fn): the code is taken (marked used) first, so that whatever follows it is burnt; a
 * second use revokes its grant, and with it every token of the first use (RFC 6749 §4.1.2).
 * When the code is good and want_refresh is set, a refresh token is created in the same
 * transaction. Returns TS_OK when what it did must commit, including a refusal, which is then
 * described by `why` (an invalid_grant); store errors otherwise. */
struct redeem {
	/* in */
	unsigned char hash[32];          /* the code's key (grant_token_hash) */
	const char *client_id, *redirect_uri, *verifier;
	int64_t now, refresh_ttl;
	int want_refresh;
	/* out (caller frees code and user with their free functions) */
	struct code *code;
	struct user *user;
	const char *why;                 /* static text; NULL when the code was good */
	char refresh[GRANT_TOKEN_LEN];   /* the new refresh token's text, or "" */
};
ts_err grant_code_redeem(store *s, void *arg);

/* A refresh (RFC 6749 §6, RFC 9700 §4.14), in two steps. Rotating clients get a new refresh
 * token and the presented one is used up; presenting a used-up one again revokes the whole
 * grant, except once within the client's grace period while its successor is still unused: then
 * the same successor is answered again. Successors are derived from their predecessor with a
 * server secret (HMAC) after the time of the rotation, which the used-up token's row keeps: that
 * is what lets the grace answer repeat one without its text ever being stored. Non-rotating
 * clients keep their token.
 * grant_refresh_check reads (on any connection): the token, its grant and user, the lifetimes,
 * the scope (which may only narrow); a refusal sets error and why. For a non-rotating client that
 * is all (its idle expiry slides, written when it moved by a tenth of the idle time, at most an
 * hour). Otherwise, unless refused, grant_refresh_commit must follow as a writer job (writer_fn):
 * the rotation, or for a used-up token the grace answer or the grant's revocation. Both return
 * TS_OK when what they did stands, a refusal included; store errors otherwise. */
struct refresh_req {
	/* in */
	const char *text;                /* the refresh token presented */
	const char *client_id;
	const char *scope;               /* requested, or NULL for the grant's whole scope */
	int rotate, grace;               /* the client's settings */
	int64_t idle_ttl, lifetime;      /* in effect for the client (lifetime 0: none) */
	int64_t now;
	/* out (caller frees grant, user and scope_out) */
	ts_err error;                    /* TS_INVALID_GRANT or TS_INVALID_SCOPE with why */
	const char *why;
	struct refresh row;              /* the presented token's row */
	struct grant *grant;
	struct user *user;               /* NULL for a grant without a user */
	char *scope_out;                 /* what the new access token gets */
	char next[GRANT_TOKEN_LEN];      /* the refresh token to answer with */
};
ts_err grant_refresh_check(store *s, struct refresh_req *q);
ts_err grant_refresh_commit(store *s, void *arg);

/* Whether a verified access token (its claims) is still good: its jti not revoked, its client
 * present and enabled, and for user tokens (claim gid) its grant not revoked and its user present
 * and enabled. *active is 1 or 0; errors are the store's. When scope is not NULL it receives
 * (malloc'd) the token's scope as it stands now: narrowed to its grant's current scope, which an
 * admin may have changed since (nothing left makes the token inactive). */
ts_err grant_token_active(store *s, const json_t *claims, int *active, char **scope);

#endif
