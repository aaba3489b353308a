/* client_assertion.h - private_key_jwt client authentication (RFC 7523 §2.2 and §3, RFC 7521
 * §4.2, OpenID Connect Core §9): a JWT the client signed with a key it registered. */
#ifndef TESSERA_CLIENT_ASSERTION_H
#define TESSERA_CLIENT_ASSERTION_H

#include <stdint.h>
#include <jansson.h>
#include "client_jwks.h"
#include "err.h"
#include "form.h"
#include "store.h"
#include "writer.h"

#define CLIENT_ASSERTION_TYPE_JWT "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CLIENT_ASSERTION_MAX_AHEAD 300 /* seconds: exp is at most this far ahead of now */
#define CLIENT_ASSERTION_LEEWAY 30     /* seconds of clock skew allowed on exp, nbf and iat */
#define CLIENT_ASSERTION_MAX_JTI 256   /* bytes of a jti */

/* Why claims are not those of an assertion of client_id for this server at now (static English,
 * for the log, never for the client), or NULL when they are: iss and sub both client_id; aud
 * (a string or an array of strings) holds issuer or token_endpoint; exp a number, not passed
 * (more than the leeway ago) and at most CLIENT_ASSERTION_MAX_AHEAD (+ leeway) ahead; nbf and
 * iat, when present, numbers not in the future (beyond the leeway); jti a string of 1 to 256
 * bytes. On NULL *jti points into claims and *exp is when the jti may be forgotten. */
const char *client_assertion_claims_problem(const json_t *claims, const char *client_id,
                                            const char *issuer, const char *token_endpoint,
                                            int64_t now, const char **jti, int64_t *exp);

/* Verifies the signature of the compact JWS token with keys: the header's alg one of ES256,
 * RS256, PS256, EdDSA (never none, nor an HMAC), the key the header's kid names (when it has
 * one), else each key of that alg in turn; the alg must be the key's. ES256 signatures in the
 * high-s form are accepted (other signers make them). On TS_OK *claims is the payload (caller
 * json_decref's). TS_INVALID_CLIENT with *why otherwise; *unknown_kid is set to 1 when the
 * header names a kid no key has (a reason to fetch a jwks_uri again). */
ts_err client_assertion_verify(const struct client_keys *keys, const char *token,
                               json_t **claims, int *unknown_kid, const char **why);

/* Records that client_id used jti, an assertion's that may be accepted until exp: TS_CONFLICT
 * when it was used before (in this process, or recorded in the database and not expired at now);
 * else the record is handed to the writer w (client_assertion_jti.c says why the answer does not
 * wait for its commit). TS_UNAVAILABLE / TS_SERVER_ERROR when it cannot be recorded. */
ts_err client_assertion_jti_use(store *s, writer *w, const char *client_id, const char *jti,
                                int64_t exp, int64_t now);

/* Where and when an assertion is checked: the accepted audiences and the time. */
struct assertion_env {
	writer *w;                  /* records the jtis (group commit) */
	const char *issuer;         /* the issuer identifier (an accepted aud) */
	const char *token_endpoint; /* the token endpoint URL (the other accepted aud) */
	int64_t now;
};

/* 1 when the form uses client_assertion_type or client_assertion, else 0. */
int client_assertion_present(const struct form *f);

/* Authenticates a client by the client_assertion of the form f (client_assertion_type the
 * jwt-bearer URN; client_id, when sent, the assertion's sub): a known, active client whose
 * auth_method is private_key_jwt, a signature by one of its registered keys, the claims above,
 * and a jti the client has not used before (client_assertion_jti_use). On TS_OK *out is the client (store_client_free). TS_INVALID_REQUEST when only one of
 * the two parameters is sent; TS_INVALID_CLIENT for any other failure, with *why (static
 * English) for the log only; TS_UNAVAILABLE / TS_SERVER_ERROR from the store. *id_out (if not
 * NULL) receives the claimed client id (malloc'd, may be set on failure, for logs). */
ts_err client_assertion_authenticate(store *s, const struct assertion_env *env,
                                     const struct form *f, struct client **out, char **id_out,
                                     const char **why);

#endif
