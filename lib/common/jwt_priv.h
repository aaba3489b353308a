/* jwt_priv.h - what jwt.c (signing and verifying) and jwt_key.c (keys, JWKs, thumbprints)
 * share; nothing outside these two files includes it. */
#ifndef TESSERA_JWT_PRIV_H
#define TESSERA_JWT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "jwt.h"

#define JWT_RSA_MAX_BITS 8192   /* bounds the cost of a verify with a foreign JWK */
#define JWT_ES256_SIG 64
#define JWT_EDDSA_SIG 64       /* Ed25519 (RFC 8037) */
#define JWT_MAX_SIG (JWT_RSA_MAX_BITS / 8)

enum jwt_alg { JWT_ES256, JWT_RS256, JWT_PS256, JWT_EDDSA };

/* indexed by enum jwt_alg */
extern const struct jwt_alg_names {
	const char *name;   /* JOSE alg */
	const char *kty;    /* JWK kty */
} jwt_algs[];

struct jwt_key {
	uint64_t serial;    /* unique per loaded key: names it in the per-thread signing context */
	EVP_PKEY *pkey;
	enum jwt_alg alg;
	int priv;           /* 1 when pkey holds the private key */
	size_t sig_len;     /* length of the raw JWS signature */
	char *kid;
	char *pub1, *pub2;  /* base64url public parts: EC x and y, RSA n and e, or OKP x (pub2 NULL) */
};

/* Signs msg with k into sig (k->sig_len bytes, the JWS form). */
ts_err jwt_raw_sign(const struct jwt_key *k, const void *msg, size_t n, unsigned char *sig);

/* Checks the JWS signature sig (n bytes) of msg; TS_INVALID_TOKEN when it does not match, or
 * when it is an ES256 signature with a high s and flags lack JWT_ALLOW_HIGH_S. */
ts_err jwt_raw_verify(const struct jwt_key *k, const void *msg, size_t msg_len,
		      const unsigned char *sig, size_t n, unsigned flags);

#endif
