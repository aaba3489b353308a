/* dpop.h - DPoP proofs (RFC 9449): the checks of a proof JWT, the key thumbprint it binds tokens
 * to, the access-token hash (ath) and the server nonces. No HTTP here (server/dpop.c is the
 * glue) and no storage: the single use of a proof's jti is the store's (store_dpop_jti_use). */
#ifndef TESSERA_DPOP_H
#define TESSERA_DPOP_H

#include <stdint.h>
#include "err.h"

/* The algorithms a proof may be signed with (those of lib/common/jwt.h), as discovery lists
 * them and WWW-Authenticate's algs says: never none, never an HMAC. */
#define DPOP_ALGS "ES256 RS256"
/* An RFC 7638 thumbprint (SHA-256, base64url): 43 characters. */
#define DPOP_JKT_LEN 43
/* A nonce: 8 bytes of time slot and 16 of HMAC, base64url. */
#define DPOP_NONCE_LEN 32
/* Seconds a proof's iat may be ahead of the server's clock. */
#define DPOP_LEEWAY 10
/* Longest jti accepted. */
#define DPOP_MAX_JTI 256

/* What a proof must match. */
struct dpop_expect {
	const char *htm;                /* the request's method */
	const char *htu;                /* the request's URL (a query or fragment is ignored) */
	const char *access_token;       /* presented with the proof (ath required), or NULL */
	int64_t now;
	int max_age;                    /* seconds iat may lie in the past */
	const unsigned char *nonce_key; /* 32 bytes: a server nonce is required; NULL: none */
	int nonce_period;               /* seconds a nonce slot lasts (two slots are accepted) */
};

/* What a good proof gives. */
struct dpop_proof {
	char jkt[DPOP_JKT_LEN + 1];     /* the thumbprint of its key: what tokens are bound to */
	unsigned char replay[32];       /* SHA-256 of jkt and jti: its single-use record's key */
	int64_t expires;                /* when that record may go: iat + max_age, plus leeway */
};

/* Checks the compact JWS proof against e: header typ "dpop+jwt", alg one of DPOP_ALGS and the
 * one the key is for, jwk a public key (a private member refuses it), no jku/x5u/x5c/crit; the
 * signature by that key; claims jti (a string), htm equal to e->htm, htu equal to e->htu as
 * RFC 9449 §4.3 compares them (scheme and host in any case, default port, no query or fragment),
 * iat an integer within [now - max_age, now + DPOP_LEEWAY], ath the hash of e->access_token when
 * one is given, and, with e->nonce_key, a nonce that dpop_nonce_ok accepts. TS_OK and *out;
 * TS_INVALID_DPOP_PROOF with *why (static text); TS_USE_DPOP_NONCE (a proof good but for its
 * nonce); TS_SERVER_ERROR when out of memory. */
ts_err dpop_check(const char *proof, const struct dpop_expect *e, struct dpop_proof *out,
                  const char **why);

/* Empties the cache of parsed proof keys (at exit, so that nothing leaks). */
void dpop_cache_clear(void);

/* The ath of an access token: base64url(SHA-256(token)), 43 characters and a NUL. */
void dpop_ath(const char *token, char out[DPOP_JKT_LEN + 1]);

/* 1 when two htu values name the same resource per RFC 9449 §4.3 (RFC 3986 §6.2.2 and §6.2.3:
 * scheme and host case-insensitive, the default port the same as none, an empty path "/"),
 * ignoring a query and fragment; 0 otherwise (a URL that is not absolute http(s) too). */
int dpop_htu_equal(const char *a, const char *b);

/* The server nonce of now: the time slot now / period and its HMAC under key, so that every
 * process with the key makes and accepts the same ones without sharing memory. */
void dpop_nonce(const unsigned char key[32], int64_t now, int period,
                char out[DPOP_NONCE_LEN + 1]);
/* 1 when nonce is the nonce of now's slot or of the one before, compared in constant time. */
int dpop_nonce_ok(const unsigned char key[32], const char *nonce, int64_t now, int period);

#endif
