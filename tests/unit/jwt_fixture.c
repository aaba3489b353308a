/* jwt_fixture.c - what the JWT suites (test_jwt.c, test_jwt_sign.c, test_jwt_key.c) share: two
 * keys loaded through jwt.h and parsed again with OpenSSL, and tokens forged with OpenSSL
 * directly (and validly signed), so that each rejection is due to the part under test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "b64.h"
#include "jwt_fixture.h"
#include "p256.h"

char *es_pem, *rs_pem;

struct fixture fx;

EVP_PKEY *pem_to_pkey(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	ck_assert_ptr_nonnull(pk);
	return pk;
}

char *pkey_to_pem(EVP_PKEY *pk, int public_only)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	ck_assert_ptr_nonnull(bio);
	if (public_only)
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
	else
		ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	s = strndup(data, (size_t)len);
	BIO_free(bio);
	return s;
}

void jwt_fixture_setup(void)
{
	ck_assert_int_eq(jwt_key_load("ES256", es_pem, &fx.es), TS_OK);
	ck_assert_int_eq(jwt_key_load("RS256", rs_pem, &fx.rs), TS_OK);
	fx.es_pk = pem_to_pkey(es_pem);
	fx.rs_pk = pem_to_pkey(rs_pem);
	fx.claims = json_pack("{s:s, s:s, s:I, s:s}", "sub", "device-17", "scope",
			      "mqtt:pub:home/alice/#", "exp", (json_int_t)4102444800, "jti", "abc");
	ck_assert_ptr_nonnull(fx.claims);
}

void jwt_fixture_teardown(void)
{
	jwt_key_free(fx.es);
	jwt_key_free(fx.rs);
	EVP_PKEY_free(fx.es_pk);
	EVP_PKEY_free(fx.rs_pk);
	json_decref(fx.claims);
	memset(&fx, 0, sizeof fx);
}

char *b64url_str(const void *data, size_t n)
{
	char *s = malloc(B64URL_LEN(n));

	ck_assert_ptr_nonnull(s);
	b64url_encode(data, n, s);
	return s;
}

/* header.payload.sig from parts; sig may be NULL for an empty signature. */
char *join(const char *header, const char *payload, const unsigned char *sig, size_t siglen)
{
	char *h = b64url_str(header, strlen(header));
	char *p = b64url_str(payload, strlen(payload));
	char *s = b64url_str(sig ? sig : (const unsigned char *)"", sig ? siglen : 0);
	size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
	char *t = malloc(n);

	ck_assert_ptr_nonnull(t);
	snprintf(t, n, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return t;
}

/* A signature over input made with OpenSSL's EVP_DigestSign, independently of jwt.c: raw R||S
 * for an EC key, PKCS#1 v1.5 for RSA. */
size_t forge_sig(EVP_PKEY *pk, const char *input, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[1024];
	const unsigned char *p = der;
	size_t len = sizeof der;
	ECDSA_SIG *es;

	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, der, &len, (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (!EVP_PKEY_is_a(pk, "EC")) {
		memcpy(sig, der, len);
		return len;
	}
	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	ck_assert_ptr_nonnull(es);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
	ECDSA_SIG_free(es);
	p256_low_s(sig + 32); /* the form jwt_verify takes */
	return 64;
}

/* A token with the given header and payload JSON texts, validly signed by pk. */
char *forge(EVP_PKEY *pk, const char *header, const char *payload)
{
	char *unsigned_tok = join(header, payload, NULL, 0), *t;
	unsigned char sig[1024];
	size_t siglen;

	unsigned_tok[strlen(unsigned_tok) - 1] = '\0'; /* drop the last '.' */
	siglen = forge_sig(pk, unsigned_tok, sig);
	free(unsigned_tok);
	t = join(header, payload, sig, siglen);
	return t;
}

/* Verifies token against both keys; returns the result and drops the claims. */
ts_err verify(const char *token, const char *typ)
{
	const jwt_key *keys[2] = { fx.rs, fx.es };
	json_t *claims = (json_t *)1;
	ts_err rc = jwt_verify(keys, 2, token, typ, &claims);

	if (rc == TS_OK)
		ck_assert(json_is_object(claims));
	else
		ck_assert_ptr_null(claims);
	json_decref(claims);
	return rc;
}

char *header_json(const char *alg, const char *kid, const char *extra)
{
	char *h = malloc(strlen(kid) + (extra ? strlen(extra) : 0) + 128);

	ck_assert_ptr_nonnull(h);
	sprintf(h, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"%s%s}", alg, kid,
		extra ? "," : "", extra ? extra : "");
	return h;
}

const char payload_json[] = "{\"sub\":\"device-17\",\"scope\":\"mqtt:pub:#\"}";

/* Forges with pk a token of alg and kid plus extra header members, and verifies it. */
ts_err forge_verify(EVP_PKEY *pk, const char *alg, const char *kid, const char *extra)
{
	char *h = header_json(alg, kid, extra);
	char *t = forge(pk, h, payload_json);
	ts_err rc = verify(t, "at+jwt");

	free(h);
	free(t);
	return rc;
}

json_t *segment_json(const char *token, int which)
{
	const char *start = token, *end;
	unsigned char buf[4096];
	long n;
	int i;

	for (i = 0; i < which; i++)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	n = b64url_decode(start, (size_t)(end - start), buf);
	ck_assert_int_gt(n, 0);
	return json_loadb((const char *)buf, (size_t)n, 0, NULL);
}


/* Changes the character at index i of s to another base64url character. */
void flip(char *s, size_t i)
{
	s[i] = s[i] == 'A' ? 'B' : 'A';
}


int jwt_fixture_run(Suite *s)
{
	SRunner *sr;
	int failed;

	if (jwt_key_generate("ES256", &es_pem) != TS_OK || jwt_key_generate("RS256", &rs_pem) != TS_OK) {
		fprintf(stderr, "key generation failed\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(es_pem);
	free(rs_pem);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
