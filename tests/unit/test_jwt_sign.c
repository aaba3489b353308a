/* test_jwt_sign.c - signing (lib/common/jwt.c jwt_sign, jwt_sign_payload): round trips, tokens
 * OpenSSL verifies on its own, misuse, tampering with any character, ES256 signatures of exactly
 * 64 bytes, and one key shared by threads. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "b64.h"
#include "jwt.h"
#include "jwt_fixture.h"

static void round_trip(const jwt_key *key, size_t sig_chars)
{
	const jwt_key *keys[1] = { key };
	json_t *claims = NULL, *hdr;
	char *tok = NULL;

	ck_assert_int_eq(jwt_sign(key, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_uint_eq(strlen(strrchr(tok, '.') + 1), sig_chars);
	hdr = segment_json(tok, 0);
	ck_assert_ptr_nonnull(hdr);
	ck_assert_uint_eq(json_object_size(hdr), 3);
	ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), jwt_key_alg(key));
	ck_assert_str_eq(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
	ck_assert_str_eq(json_string_value(json_object_get(hdr, "kid")), jwt_key_kid(key));
	json_decref(hdr);
	ck_assert_int_eq(jwt_verify(keys, 1, tok, "at+jwt", &claims), TS_OK);
	ck_assert(json_equal(claims, fx.claims));
	json_decref(claims);
	free(tok);
}

START_TEST(test_round_trip_es256)
{
	round_trip(fx.es, 86);
}
END_TEST

START_TEST(test_round_trip_rs256)
{
	round_trip(fx.rs, 342);
}
END_TEST

/* jwt_sign's output checks with OpenSSL's own EVP_DigestVerify, and a token signed with
 * EVP_DigestSign checks with jwt_verify: the R||S and PKCS#1 encodings agree with OpenSSL's. */
static void interop(jwt_key *key, EVP_PKEY *pk)
{
	unsigned char sig[1024], der[80], *d = der;
	EVP_MD_CTX *ctx;
	ECDSA_SIG *es;
	char *tok, *dot;
	long siglen;
	int derlen, i;

	for (i = 0; i < 8; i++) { /* several, so leading-zero R and S cases get a chance */
		ck_assert_int_eq(jwt_sign(key, "at+jwt", fx.claims, &tok), TS_OK);
		dot = strrchr(tok, '.');
		siglen = b64url_decode(dot + 1, strlen(dot + 1), sig);
		ck_assert_int_gt(siglen, 0);
		if (EVP_PKEY_is_a(pk, "EC")) {
			ck_assert_int_eq(siglen, 64);
			es = ECDSA_SIG_new();
			ck_assert_int_eq(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
							BN_bin2bn(sig + 32, 32, NULL)), 1);
			d = der;
			derlen = i2d_ECDSA_SIG(es, &d);
			ECDSA_SIG_free(es);
			ck_assert_int_gt(derlen, 0);
			memcpy(sig, der, (size_t)derlen);
			siglen = derlen;
		}
		ctx = EVP_MD_CTX_new();
		ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		ck_assert_int_eq(EVP_DigestVerify(ctx, sig, (size_t)siglen, (unsigned char *)tok,
						  (size_t)(dot - tok)), 1);
		EVP_MD_CTX_free(ctx);
		free(tok);
	}
	ck_assert_int_eq(forge_verify(pk, jwt_key_alg(key), jwt_key_kid(key), NULL), TS_OK);
}

START_TEST(test_interop_openssl)
{
	interop(fx.es, fx.es_pk);
	interop(fx.rs, fx.rs_pk);
}
END_TEST

START_TEST(test_sign_without_typ)
{
	const jwt_key *keys[1] = { fx.es };
	json_t *claims, *hdr;
	char *tok;

	ck_assert_int_eq(jwt_sign(fx.es, NULL, fx.claims, &tok), TS_OK);
	hdr = segment_json(tok, 0);
	ck_assert_ptr_null(json_object_get(hdr, "typ"));
	ck_assert_uint_eq(json_object_size(hdr), 2);
	json_decref(hdr);
	ck_assert_int_eq(jwt_verify(keys, 1, tok, NULL, &claims), TS_OK);
	json_decref(claims);
	ck_assert_int_eq(jwt_verify(keys, 1, tok, "at+jwt", &claims), TS_INVALID_TOKEN);
	free(tok);
}
END_TEST

START_TEST(test_sign_rejects_misuse)
{
	json_t *arr = json_array(), *jwk;
	jwt_key *pub;
	char *tok = (char *)1;

	ck_assert_int_ne(jwt_sign(fx.es, "at+jwt", arr, &tok), TS_OK);
	ck_assert_ptr_null(tok);
	ck_assert_int_ne(jwt_sign(fx.es, "at\"+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_ne(jwt_sign(fx.es, "", fx.claims, &tok), TS_OK);
	json_decref(arr);
	/* a key made from a JWK only verifies */
	jwk = jwt_key_public_jwk(fx.es);
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &pub), TS_OK);
	ck_assert_int_ne(jwt_sign(pub, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_ptr_null(tok);
	jwt_key_free(pub);
	json_decref(jwk);
}
END_TEST

/* A copy of tok with the character at i changed must not verify. */
static void assert_tampered_rejected(const char *tok, size_t i)
{
	char *t = strdup(tok);

	ck_assert_ptr_nonnull(t);
	flip(t, i);
	ck_assert_msg(verify(t, "at+jwt") == TS_INVALID_TOKEN, "changed character %zu accepted", i);
	free(t);
}

static void tamper(const jwt_key *key)
{
	json_t *other = json_pack("{s:s}", "sub", "root");
	char *tok, *tok2, *mix, *dot1, *dot2;
	size_t n;

	ck_assert_int_eq(jwt_sign(key, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_OK);
	dot1 = strchr(tok, '.');
	dot2 = strrchr(tok, '.');
	n = strlen(tok);

	assert_tampered_rejected(tok, (size_t)(dot1 - tok) + 5);   /* payload */
	assert_tampered_rejected(tok, (size_t)(dot2 - tok) + 10);  /* signature */
	assert_tampered_rejected(tok, n - 1);                      /* last signature character */
	assert_tampered_rejected(tok, 3);                          /* header */
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_OK);

	/* truncated signatures */
	tok[n - 4] = '\0';
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_INVALID_TOKEN);
	tok[n - 4] = 'A';
	tok[n - 3] = '\0';
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_INVALID_TOKEN);
	free(tok);

	/* another token's payload under this signature */
	ck_assert_int_eq(jwt_sign(key, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(jwt_sign(key, "at+jwt", other, &tok2), TS_OK);
	dot1 = strchr(tok, '.');
	mix = malloc(strlen(tok) + strlen(tok2));
	sprintf(mix, "%.*s%.*s%s", (int)(dot1 - tok), tok, (int)(strrchr(tok2, '.') - strchr(tok2, '.')),
		strchr(tok2, '.'), strrchr(tok, '.'));
	ck_assert_int_eq(verify(mix, "at+jwt"), TS_INVALID_TOKEN);
	free(mix);
	free(tok);
	free(tok2);
	json_decref(other);
}

START_TEST(test_tampered_es256)
{
	tamper(fx.es);
}
END_TEST

START_TEST(test_tampered_rs256)
{
	tamper(fx.rs);
}
END_TEST

/* ES256 signatures are exactly 64 bytes: not DER, not padded, not short. */
START_TEST(test_es256_signature_length)
{
	const char *kid = jwt_key_kid(fx.es);
	unsigned char sig[80], der[80];
	char *h = header_json("ES256", kid, NULL), *input, *t;
	EVP_MD_CTX *ctx;
	size_t len = sizeof der;

	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_OK);
	free(t);

	input = join(h, payload_json, NULL, 0);
	input[strlen(input) - 1] = '\0';
	ck_assert_uint_eq(forge_sig(fx.es_pk, input, sig), 64);
	sig[64] = 0;
	t = join(h, payload_json, sig, 65);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = join(h, payload_json, sig, 63);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	memset(sig, 0, 64);
	t = join(h, payload_json, sig, 64);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);

	/* a valid DER signature as OpenSSL makes it */
	ctx = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, fx.es_pk), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, der, &len, (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	t = join(h, payload_json, der, len);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	free(input);
	free(h);
}
END_TEST

#define THREADS 4
#define PER_THREAD 200

static void *sign_verify_loop(void *arg)
{
	const jwt_key *keys[1] = { fx.es };
	json_t *claims;
	char *tok;
	int i, bad = 0;

	(void)arg;
	for (i = 0; i < PER_THREAD; i++) {
		if (jwt_sign(fx.es, "at+jwt", fx.claims, &tok) != TS_OK) {
			bad++;
			continue;
		}
		if (jwt_verify(keys, 1, tok, "at+jwt", &claims) != TS_OK)
			bad++;
		else
			json_decref(claims);
		free(tok);
	}
	return (void *)(size_t)bad;
}

/* One shared key signs and verifies from several threads at once. */
START_TEST(test_threads_share_key)
{
	pthread_t th[THREADS];
	void *bad;
	int i;

	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, sign_verify_loop, NULL), 0);
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], &bad), 0);
		ck_assert_uint_eq((size_t)bad, 0);
	}
}
END_TEST


static Suite *jwt_sign_suite(void)
{
	Suite *s = suite_create("jwt_sign");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, jwt_fixture_setup, jwt_fixture_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip_es256);
	tcase_add_test(tc, test_round_trip_rs256);
	tcase_add_test(tc, test_interop_openssl);
	tcase_add_test(tc, test_sign_without_typ);
	tcase_add_test(tc, test_sign_rejects_misuse);
	tcase_add_test(tc, test_tampered_es256);
	tcase_add_test(tc, test_tampered_rs256);
	tcase_add_test(tc, test_es256_signature_length);
	tcase_add_test(tc, test_threads_share_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return jwt_fixture_run(jwt_sign_suite());
}
