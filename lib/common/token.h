/* token.h - access tokens (RFC 9068 JWTs): what goes in them, and the checks that make one
 * valid. Signing and signature checks are jwt.c's; revocation and client state are the
 * caller's (they need the store). */
#ifndef TESSERA_TOKEN_H
#define TESSERA_TOKEN_H

#include <stdint.h>
#include <jansson.h>
#include "config.h"
#include "err.h"
#include "jwt.h"

/* Seconds of clock skew tolerated for iat and nbf in the future. */
#define TOKEN_LEEWAY 10

struct access_token {
	const char *iss, *aud, *sub, *client_id, *scope;
	const char *username;      /* NULL for client credentials */
	int64_t gid;               /* the grant the token hangs from; 0 for none */
	int64_t crec;              /* a client's own token: its client's record, carried in the
	                            * jti (left out when 0: a client from before records) */
	int64_t iat, exp;
	const char *x5t;           /* cnf.x5t#S256: bound to this TLS client certificate (RFC 8705
	                            * §3), or NULL */
	const char *cnf_jkt;       /* DPoP (RFC 9449 §6): the thumbprint of the key the token is
	                            * bound to, written as cnf.jkt; NULL when not bound */
	char jti[40];              /* filled by token_access_sign: 96 random bits in base64url (16
	                            * characters), then "." and crec when crec is not 0 */
};

/* The client record an access token's claims name: its jti's number after the ".", or (tokens
 * from before) its crec claim; 0 when neither (a client from before records); -1 when
 * malformed. */
int64_t token_crec(const json_t *claims);

/* The longest access token issued: every consumer takes it (the broker plugin and /introspect
 * read up to 16384 bytes; /userinfo reads it from an Authorization header within the daemon's
 * 6 KiB request head, with room for the other headers). */
#define TOKEN_ACCESS_MAX 4096

/* Fills t->jti and signs t with key as an "at+jwt" JWT, adding EMQX's "acl" claim per mc.
 * *jwt is malloc'd (caller frees). TS_INVALID_SCOPE (and *jwt NULL) when the token would be
 * longer than TOKEN_ACCESS_MAX: its scope is too large (mqtt_claim's acl repeats it). */
ts_err token_access_sign(const jwt_key *key, struct access_token *t, enum mqtt_claim mc,
                         char **jwt);

/* Fills t->jti as token_access_sign does and gives the claims a JWT of t would carry (no EMQX
 * acl) as JSON text in *json (malloc'd): what a reference token stands for. */
ts_err token_access_payload(struct access_token *t, char **json);

/* A reference access token: a prefix and 32 random bytes in base64url, 46 characters (well
 * under the 64 a constrained link's password field may hold). */
#define TOKEN_REF_PREFIX "at_"
#define TOKEN_REF_LEN 46

/* Whether token has the form of a reference token (its prefix and length, base64url after). */
int token_is_reference(const char *token);

/* Whether token_access_sign would sign t (t->gid 0 counting as the longest grant id, for a
 * grant not made yet): TS_OK, TS_INVALID_SCOPE when the token would be too long, or
 * TS_SERVER_ERROR when out of memory. For a check before anything is written. */
ts_err token_access_fits(const jwt_key *key, const struct access_token *t, enum mqtt_claim mc);

/* An OpenID Connect ID token (Core §2): typ "JWT", aud = azp = the client. */
struct id_token {
	const char *iss, *sub, *client_id;
	const char *nonce;         /* or NULL */
	const char *access_token;  /* for at_hash, or NULL */
	int64_t iat, exp, auth_time;
};

/* Signs an ID token; *jwt malloc'd. */
ts_err token_id_sign(const jwt_key *key, const struct id_token *t, char **jwt);

/* The at_hash of an access token (OIDC Core §3.1.3.6 for ES256/RS256: base64url of the left
 * half of its SHA-256) into out (23 bytes). */
void token_at_hash(const char *access_token, char out[23]);

/* The EMQX "acl" claim for a granted scope string: for MQTT_CLAIM_EMQX an array of
 * {"permission":"allow","action":"publish"|"subscribe"|"all","topic":F} closed by a
 * {"permission":"deny","action":"all","topic":"#"} (EMQX 5 would otherwise fall through to its
 * other authorizers), for
 * MQTT_CLAIM_EMQX_LEGACY an object {"pub":[...],"sub":[...],"all":[...]}; NULL for none or on
 * allocation failure. New reference. */
json_t *token_emqx_acl(const char *scope, enum mqtt_claim mc);

/* Verifies an access token: signature by one of keys (typ at+jwt), iss equal to issuer, exp after
 * now, iat and nbf not after now + TOKEN_LEEWAY, and the claims sub, client_id, jti, scope
 * (strings) and exp, iat (integers) present. Verified signatures are remembered in a small
 * process-wide cache keyed by the token's hash, so a token seen again costs no signature check.
 * On TS_OK *claims is a new reference to the (shared, read-only) payload. TS_INVALID_TOKEN
 * otherwise. */
ts_err token_access_verify(const jwt_key *const *keys, size_t n, const char *issuer,
                           const char *jwt, int64_t now, json_t **claims);

/* Empties the verification cache (after a key change, and at exit so nothing leaks). */
void token_cache_clear(void);

#endif
