/* jwt_fixture.h - what the JWT suites (test_jwt.c, test_jwt_sign.c, test_jwt_key.c) share
 * (tests/unit/jwt_fixture.c). */
#ifndef TESSERA_TEST_JWT_FIXTURE_H
#define TESSERA_TEST_JWT_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "jwt.h"

/* Made once in jwt_fixture_run and inherited by every forked test. */
extern char *es_pem, *rs_pem;

struct fixture {
	jwt_key *es, *rs;        /* the keys under test */
	EVP_PKEY *es_pk, *rs_pk; /* the same keys, parsed independently for forging */
	json_t *claims;
};

extern struct fixture fx;

/* the checked fixture of each suite: fx loaded from es_pem and rs_pem, and freed */
void jwt_fixture_setup(void);
void jwt_fixture_teardown(void);

/* Generates es_pem and rs_pem, runs s and frees them: the main of each suite. */
int jwt_fixture_run(Suite *s);

EVP_PKEY *pem_to_pkey(const char *pem);
char *pkey_to_pem(EVP_PKEY *pk, int public_only);
char *b64url_str(const void *data, size_t n);

/* header.payload.sig from parts; sig may be NULL for an empty signature. */
char *join(const char *header, const char *payload, const unsigned char *sig, size_t siglen);

/* A signature over input made with OpenSSL's EVP_DigestSign, independently of jwt.c: raw R||S
 * for an EC key, PKCS#1 v1.5 for RSA. */
size_t forge_sig(EVP_PKEY *pk, const char *input, unsigned char *sig);

/* A token with the given header and payload JSON texts, validly signed by pk. */
char *forge(EVP_PKEY *pk, const char *header, const char *payload);

/* Verifies token against both keys; returns the result and drops the claims. */
ts_err verify(const char *token, const char *typ);

char *header_json(const char *alg, const char *kid, const char *extra);
extern const char payload_json[];

/* Forges with pk a token of alg and kid plus extra header members, and verifies it. */
ts_err forge_verify(EVP_PKEY *pk, const char *alg, const char *kid, const char *extra);

/* The JSON of segment which (0 header, 1 payload) of token. */
json_t *segment_json(const char *token, int which);

/* Changes the character at index i of s to another base64url character. */
void flip(char *s, size_t i);

#endif
