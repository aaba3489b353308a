/* grant.h - the business rules of user authorizations: what scope a user may get through a
 * client, the grant record that codes and tokens hang from and what it yields now, grant tokens,
 * authorization codes (grant.c) and refresh tokens (grant_refresh.c).
 *
 * Rights follow the directory: what a grant yields, at a refresh, an introspection or /userinfo,
 * is its scope narrowed to what its client, its user and the user's groups allow at that moment
 * (grant_scope_now), with ${username} filled in with the user's name at that moment. A refresh
 * token yields no more than the scope of its own authorization, kept on every token of its chain
 * (an admin's grant_set_scope adds what it adds to every chain, and takes what it removes). Tokens
 * belong to the client record that issued them (struct client's record), not to its id. */
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

/* 1 when grant g was made with client c: the same id and the same record (a client removed and
 * added again under the same id is another record), else 0. */
int grant_of_client(const struct grant *g, const struct client *c);

/* What grant g yields now through client c for user u (NULL for a grant without a user): its
 * scope narrowed as grant_user_scope narrows a request (OpenID Connect scopes by the client,
 * everything else by the client and by the user with their groups; ${username} and ${clientid}
 * filled in with their values now, so a filter filled in for a user's old name is not given to
 * that name's new owner). *scope malloc'd; TS_INVALID_SCOPE when nothing is left. */
ts_err grant_scope_now(const struct grant *g, const struct client *c, const struct user *u,
                       char **scope);

/* The part of a granted scope that allowed (a granted scope too: no placeholders) still allows,
 * MQTT filters intersected: *out malloc'd; TS_INVALID_SCOPE when nothing, or when scope or
 * allowed is "" (nothing, never "everything" as for a request). */
ts_err grant_scope_narrow(const char *scope, const char *allowed, char **out);

/* An administrator sets grant id's scope (tessera grant scope, SCIM PATCH of Grants); call it
 * inside a transaction (a writer job, or store_begin .. store_commit). Every current refresh
 * token of the grant that keeps a scope of its own follows: what the new scope adds (its tokens
 * not covered by the old one) is added to it, and it is narrowed to the new scope, so a widening
 * reaches every device of the grant and a narrowing widens none. TS_NOT_FOUND: no such grant. */
ts_err grant_set_scope(store *s, int64_t id, const char *scope, int64_t now);

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

/* The text of the grant token made at ms (Unix milliseconds) with body; and the time now in Unix
 * milliseconds. */
void grant_token_text(int64_t ms, const unsigned char body[32], char text[GRANT_TOKEN_LEN]);
int64_t grant_now_ms(void);

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

/* Creates a refresh token of grant_id living ttl seconds from now, the first of a chain that
 * yields at most `scope` (its authorization's): fills text (GRANT_TOKEN_LEN bytes) with a new
 * grant token and stores only its key. */
ts_err grant_refresh_issue(store *s, int64_t grant_id, int64_t now, int64_t ttl,
                           const char *scope, char *text);
/* The same, bound to the DPoP key whose thumbprint is dpop_jkt (NULL: not bound, RFC 9449 §5):
 * every refresh with it, and with its successors, needs a proof by that key. */
ts_err grant_refresh_issue_bound(store *s, int64_t grant_id, int64_t now, int64_t ttl,
                                 const char *scope, const char *dpop_jkt, char *text);

/* Binds the refresh token whose text is text to the TLS client certificate whose x5t#S256 is
 * x5t (RFC 8705 §3): from then on it and its successors are accepted only from a connection
 * with that certificate (grant_refresh_check). x5t NULL: nothing to do (TS_OK). */
ts_err grant_refresh_bind(store *s, const char *text, const char *x5t);

/* Looks up the refresh token whose text is `text`: *active = 1 when it exists, has not expired
 * or been used (rotated), its grant is younger than the grant lifetime (the client's, else
 * `lifetime`; 0 none), its grant, its client (the same record) and its user are all still
 * active, and, when scope is not NULL, it yields something now (*scope, malloc'd: its chain's
 * scope narrowed to what the grant yields now). Then *g and *u are its grant and user (the
 * user's rights only, store_user_rights; caller frees). *rt (if not NULL) receives the row
 * (without its scope) when it exists. */
ts_err grant_refresh_active(store *s, const char *text, int64_t now, int64_t lifetime,
                            struct refresh *rt, struct grant **g, struct user **u, int *active,
                            char **scope);

/* The redemption of an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6), as one writer job
 * (writer_fn). What ties the code to its request is checked first: the client it was issued
 * to, the redirect URI, the PKCE verifier; a request that fails them changes nothing, so that
 * another client (or anyone without the verifier) can neither burn the code nor revoke what it
 * gave. Then the code is taken (marked used), so that whatever follows it is burnt; a second use
 * by its own client revokes its grant, and with it every token of the first use (RFC 6749
 * §4.1.2). What the access token gets is the code's scope narrowed to what the grant yields now.
 * When the code is good and want_refresh is set, a refresh token is created in the same
 * transaction. Returns TS_OK when what it did must commit, including a refusal, which is then
 * described by `why` (an invalid_grant); store errors otherwise. */
struct redeem {
	/* in */
	unsigned char hash[32];          /* the code's key (grant_token_hash) */
	const struct client *client;     /* the client that presents it (authenticated) */
	const char *redirect_uri, *verifier;
	int64_t now, refresh_ttl;
	int want_refresh;
	const char *x5t;                 /* bind the refresh token to this certificate (its
	                                  * x5t#S256, RFC 8705 §3), or NULL */
	const char *dpop_jkt;            /* binds the refresh token to this DPoP key, or NULL */
	/* out (caller frees code and user with their free functions, and scope) */
	struct code *code;
	struct user *user;
	char *scope;                     /* what the access token gets: the code's scope now */
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
 * grant_refresh_check reads (on any connection): the token, its grant (of the presenting
 * client's record) and user, the lifetimes, the scope (what its chain yields now, which the
 * request may only narrow; nothing left is invalid_grant); a refusal sets error and why. For a non-rotating client that
 * is all (its idle expiry slides, written when it moved by a tenth of the idle time, at most an
 * hour). Otherwise, unless refused, grant_refresh_commit must follow as a writer job (writer_fn):
 * the rotation, or for a used-up token the grace answer or the grant's revocation. Both return
 * TS_OK when what they did stands, a refusal included; store errors otherwise. */
struct refresh_req {
	/* in */
	const char *text;                /* the refresh token presented */
	const struct client *client;     /* the client that presents it (authenticated) */
	const char *scope;               /* requested, or NULL for the grant's whole scope */
	int rotate, grace;               /* the client's settings */
	int64_t idle_ttl, lifetime;      /* in effect for the client (lifetime 0: none) */
	int64_t now;
	const char *x5t;                 /* the x5t#S256 of the connection's client certificate,
	                                  * or NULL: a token bound to a certificate is refused
	                                  * without the same one */
	int bind;                        /* bind the successor to x5t (the client's tokens are
	                                  * certificate-bound) */
	const char *dpop_jkt;            /* the key of the request's DPoP proof, or NULL */
	/* out (grant_refresh_done frees them) */
	ts_err error;                    /* TS_INVALID_GRANT or TS_INVALID_SCOPE with why */
	const char *why;
	struct refresh row;              /* the presented token's row */
	struct grant *grant;
	struct user *user;               /* its rights only; NULL for a grant without a user */
	char *scope_out;                 /* what the new access token gets */
	char next[GRANT_TOKEN_LEN];      /* the refresh token to answer with */
};
ts_err grant_refresh_check(store *s, struct refresh_req *q);
ts_err grant_refresh_commit(store *s, void *arg);
/* Frees what a refresh_req received (not q itself) and wipes its refresh token's text. */
void grant_refresh_done(struct refresh_req *q);

/* Whether a verified access token (its claims) is still good: its jti not revoked, its client
 * present and enabled, and for user tokens (claim gid) its grant not revoked, made with this
 * record of the client, and its user present and enabled; for a client's own tokens, issued by
 * this record of the client (token_crec: the number after its jti's ".", or an older token's
 * crec claim; none: record 0). And what it allows now: its scope narrowed to what its grant yields now (grant_scope_now), or for a client's own token to what
 * the client may have now; nothing left makes it inactive. *active is 1 or 0; errors are the
 * store's. When active, *scope (if not NULL) receives that scope and *username (if not NULL)
 * the user's name now (NULL for a client's token), both malloc'd. */
ts_err grant_token_active(store *s, const json_t *claims, int *active, char **scope,
                          char **username);

#endif
