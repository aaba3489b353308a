/* jwt.h - JSON Web Tokens and keys through OpenSSL, each key parsed once.
 *
 * libjwt 1.10 re-reads its PEM on every call (~340 us under OpenSSL 3, 20 times the cost of a
 * signature with the key parsed once) and trusts the token's alg header, so tokens are signed
 * and verified here: ES256 (P-256) and RS256 (RSA 2048) only; the algorithm is pinned by the
 * key that the token's kid names, never taken from the token. ES256 signatures are made in the
 * low-s form (p256.h). */
#ifndef TESSERA_JWT_H
#define TESSERA_JWT_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

typedef struct jwt_key jwt_key; /* a parsed key; immutable and thread-safe once loaded */

/* Generates a new private key for alg ("ES256", "RS256", "PS256" or "EdDSA") as a PKCS#8 PEM.
 * *pem is malloc'd; the caller wipes and frees it. TS_INVALID_REQUEST for another alg. */
ts_err jwt_key_generate(const char *alg, char **pem);

/* Parses a private-key PEM for alg. The kid is the RFC 7638 JWK thumbprint (SHA-256, base64url)
 * of the public key. *key is freed with jwt_key_free. TS_INVALID_REQUEST for a bad PEM, a key
 * that does not fit alg, or an unknown alg. */
ts_err jwt_key_load(const char *alg, const char *pem, jwt_key **key);

/* jwt_key_load with the kid given (kid NULL: the thumbprint), for a key stored under its kid. */
ts_err jwt_key_load_kid(const char *alg, const char *pem, const char *kid, jwt_key **key);

/* Parses a public JWK (as found in a JWKS: kty EC crv P-256 x y, or kty RSA n e; kid required;
 * alg optional but must fit the key if present) into a verify-only key. */
ts_err jwt_key_from_jwk(const json_t *jwk, jwt_key **key);

void jwt_key_free(jwt_key *key); /* NULL is fine */

const char *jwt_key_kid(const jwt_key *key); /* owned by the key */
const char *jwt_key_alg(const jwt_key *key); /* "ES256", "RS256", "PS256" or "EdDSA" */

/* The public JWK of key: {kty, crv, x, y} or {kty, n, e}, plus kid, alg and "use":"sig". Never a
 * private part. New reference; NULL on allocation failure. */
json_t *jwt_key_public_jwk(const jwt_key *key);

/* Signs claims as a compact JWS with header {"alg","typ","kid"} (typ omitted when NULL).
 * *out is malloc'd (caller frees). Thread-safe for a shared key. */
ts_err jwt_sign(const jwt_key *key, const char *typ, const json_t *claims, char **out);

/* The length of the compact JWS jwt_sign_payload makes from plen bytes of payload. */
size_t jwt_signed_len(const jwt_key *key, const char *typ, size_t plen);

/* The same for a payload already serialised: plen bytes of a JSON object, which the caller
 * guarantees is well formed (the hot path writes it with jbuf). */
ts_err jwt_sign_payload(const jwt_key *key, const char *typ, const char *payload, size_t plen,
                        char **out);

/* Verifies a compact JWS against the key among keys[0..n-1] whose kid equals the header's kid,
 * with that key's algorithm only: a header alg other than the key's, "none", a missing or unknown
 * kid, jku/x5u/jwk/crit headers, a bad signature, an overlong token (> 16 KiB) or malformed
 * base64url/JSON all give TS_INVALID_TOKEN. When typ is not NULL the header typ must equal it
 * (case-insensitive, "application/" prefix allowed). On success *claims is the payload object
 * (caller json_decref's). Does not look at exp/nbf/iss: that is the caller's policy.
 * ES256 signatures must be in the low-s form (s <= n/2), the only form jwt_sign makes: a token
 * has one spelling, so lists and caches keyed by its string cannot be bypassed by (r, n - s).
 * This is the check for the tokens Tessera issued. */
ts_err jwt_verify(const jwt_key *const *keys, size_t n, const char *token, const char *typ,
                  json_t **claims);

/* flags for jwt_verify_opts */
#define JWT_ALLOW_HIGH_S 1u /* accept ES256 signatures with s > n/2: for JWTs other signers made
                             * (RFC 7518 does not ask for low s), never for Tessera's own */

#define JWT_KEY_GIVEN 2u    /* keys holds the one key to use (n == 1), chosen by the caller: the
                             * header's kid is not looked at and may be absent; its alg must
                             * still be the key's */

/* jwt_verify with flags (0: exactly jwt_verify). */
ts_err jwt_verify_opts(const jwt_key *const *keys, size_t n, const char *token, const char *typ,
                       unsigned flags, json_t **claims);

/* Copies the kid of a compact JWS's header into kid (n bytes, NUL included) without verifying
 * anything, so that a verifier can tell an unknown key from a bad token (and fetch its keys
 * again). TS_INVALID_TOKEN when the token or its header is malformed, or the kid is missing, not
 * a non-empty string, or does not fit in n bytes; TS_SERVER_ERROR when out of memory. The caller
 * owns kid; nothing is left to free. */
ts_err jwt_header_kid(const char *token, char *kid, size_t n);

/* Checks only the signature of a compact JWS against key, with key's algorithm (the header's alg
 * must name it): for a JWS whose key travels with it (a DPoP proof's "jwk" header, RFC 9449),
 * whose header and claims the caller judges itself. TS_INVALID_TOKEN when it does not verify or
 * is malformed. */
ts_err jwt_verify_signature(const jwt_key *key, const char *token, unsigned flags);

/* The header and payload of a compact JWS decoded WITHOUT verifying anything, for a verifier
 * that must read who claims to have signed it before it can choose the keys (client assertions:
 * iss/sub name the client). Both are JSON objects (caller json_decref's). TS_INVALID_TOKEN when
 * the token is not three dot-separated parts whose first two decode to objects, or is longer
 * than 16 KiB; TS_SERVER_ERROR when out of memory. */
ts_err jwt_peek(const char *token, json_t **header, json_t **payload);

/* Parses a public JWK for one algorithm into a verify-only key: ES256 (kty EC, crv P-256),
 * RS256 and PS256 (kty RSA, 2048 to 8192 bits), EdDSA (kty OKP, crv Ed25519). The JWK's alg, if
 * present, must be alg (Ed25519 and EdDSA are one); its use, if present, "sig"; a private member (d, p, q, dp, dq, qi, oth,
 * k) refuses it. The kid is the JWK's, or its RFC 7638 thumbprint when it has none.
 * TS_INVALID_REQUEST when the JWK does not give a key for alg. */
ts_err jwt_key_from_jwk_alg(const json_t *jwk, const char *alg, jwt_key **key);

/* 1 when alg is one that jwt_key_from_jwk_alg takes (ES256, RS256, PS256, EdDSA, and Ed25519),
 * else 0. */
int jwt_alg_known(const char *alg);

/* "EdDSA" for "Ed25519" (RFC 9864's fully-specified name of EdDSA with Ed25519, which
 * oauth4webapi and openid-client write), else alg itself: an Ed25519 key takes either name, in a
 * header and in a JWK's alg. */
const char *jwt_alg_canonical(const char *alg);

#endif
