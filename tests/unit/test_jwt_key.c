/* test_jwt_key.c - the keys of jwt.h (lib/common/jwt_key.c): generated and loaded (and the keys
 * refused), public JWKs with no private part, RFC 7638 thumbprints, and JWKs read back. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "b64.h"
#include "jwt.h"
#include "jwt_fixture.h"

/* RFC 7517 Appendix A.2's RSA key (whose public part is the RFC 7638 §3.1 example), as PKCS#8. */
static const char rfc7517_rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDS/HtqCh5sZxBK\n"
	"64+Isldmm032ed2tCZtcSmzZqIAVtaEzvwuFbHhxtt8AC1VPzrPC7VErto8UXG6E\n"
	"NHUvq1Khz8EkQI95tYpFeMFkKIVXifeiSeOEyy2fri1n/Zb7kmwZjgdzmf3IFcCv\n"
	"CX3eWq3v9E3nDoJ/SHhDJDm/7rlgaNBHT8UNbZC/OpjfrxBAyJwC1pKrOzwolmCd\n"
	"hv1zt3TOB0BkfO7qoxC9EvmFqOufWf3UJs6lshIPTyo0vKt2S35sVNaEAji8xAWH\n"
	"pZ5m7R8ziUV3Y1xHCvdc+Swg0dpD4b/EGeIipvDQuzWMXjj5ywUK6v6QSBTxrBqk\n"
	"nMqeoMqDAgMBAAECggEAX4cTteJY/gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoV\n"
	"H+HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT\n"
	"0/YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy/nHNKroADIkJ46pRUohsXywbReAdYaM\n"
	"wFs9tv8d/cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2j\n"
	"x4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL+Us2lG\n"
	"VkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8QKBgQDzeL7si8wZegxcKyS/\n"
	"vdMqvzrfsWI7tnbvO/yiPqltZRDIs9AFDG09WfAPbRH7rR5MOYPa6Ocy3k+ioyub\n"
	"xF+Y2FVYO2OMyYIyM6lJeJwUePtc65UhhDKpVaVYSHp03foZVliT3c3wFz29jjXH\n"
	"LwH1HPM4ZVDNe80S+fs7SdVt+wKBgQDd185H1y5ir7RL6aQUvOAi2AwR8XMHareF\n"
	"Z6Ey4bSgK6qdve+hsvK6aqNVlA7V0it3CBOcJ2ljMFw59bmvfvQAVeOJZ+380YSK\n"
	"i+ieLOEqmj1VVLvxPMWDGQh2t5xF7Oxn7WRh3+zWoNvG2QMSB8AhMAb0tScAO6fi\n"
	"8hxvrJ6XGQKBgBuLD15HOmGvcvKCVvfyC4+MbqabtJc4vx+1U5EvMY+UnV93KBNK\n"
	"IpmMMSItnpkwLntFDmuXaYBRsgSeHPLUNlReNNl0boCg0z/GpGIRaObQAO+0HvzZ\n"
	"rbmGXNwt5tyNuBthr0ebEg8VMgDds6vC35/RFJrOq2Nzm/GHoipE4gY9AoGBALPZ\n"
	"QB/X4IAbKBUfDmnNkfxNoMNvNq09pBjgIbyJZRExNXn6wOoblFLzHwXDKZ/Janlu\n"
	"r8852GOUkkBe6THQv2oCN5xvCG6dQVG9CVIq2kTalHy4XEG/3fRheA4e3u+Fm0bK\n"
	"G0aJ7o02DdcQmj+kzutY71q1/i9fLcV8OPeEP3IJAoGAGyM/p6JrXySiz1toFgKb\n"
	"WV+JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa+Bk0KWNG\n"
	"DjJHZDdDmFhW3AN7lI+puxk/mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKF\n"
	"YItdldUKGzO6Ia6zTKhAVRU=\n"
	"-----END PRIVATE KEY-----\n";

static const char rfc7517_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
	"bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
	"368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
	"M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/* Made once in main() and inherited by every forked test. */
START_TEST(test_generate_and_load)
{
	char *pem;
	jwt_key *k;

	ck_assert_int_eq(jwt_key_generate("ES256", &pem), TS_OK);
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	ck_assert_int_eq(jwt_key_load("ES256", pem, &k), TS_OK);
	ck_assert_str_eq(jwt_key_alg(k), "ES256");
	ck_assert_uint_eq(strlen(jwt_key_kid(k)), 43);
	ck_assert_str_ne(jwt_key_kid(k), jwt_key_kid(fx.es)); /* a new key each time */
	jwt_key_free(k);
	free(pem);

	ck_assert_str_eq(jwt_key_alg(fx.rs), "RS256");
	ck_assert_uint_eq(strlen(jwt_key_kid(fx.rs)), 43);
	ck_assert_int_eq(EVP_PKEY_get_bits(fx.rs_pk), 2048);
	ck_assert_ptr_nonnull(strstr(rs_pem, "-----BEGIN PRIVATE KEY-----"));

	pem = (char *)1;
	ck_assert_int_eq(jwt_key_generate("HS256", &pem), TS_INVALID_REQUEST);
	ck_assert_ptr_null(pem);
	ck_assert_int_eq(jwt_key_generate("none", &pem), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_generate("es256", &pem), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_generate(NULL, &pem), TS_INVALID_REQUEST);
	jwt_key_free(NULL);
}
END_TEST

START_TEST(test_load_rejects_wrong_keys)
{
	EVP_PKEY *p384, *rsa1024;
	char *pem, *pub;
	jwt_key *k = (jwt_key *)1;
	BIO *bio;
	char *data;
	long len;

	ck_assert_int_eq(jwt_key_load("RS256", es_pem, &k), TS_INVALID_REQUEST);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(jwt_key_load("ES256", rs_pem, &k), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_load("HS256", es_pem, &k), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_load("ES256", "not a pem", &k), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_load("ES256", "", &k), TS_INVALID_REQUEST);
	ck_assert_int_eq(jwt_key_load("ES256", NULL, &k), TS_INVALID_REQUEST);

	/* a public key is not a signing key */
	pub = pkey_to_pem(fx.es_pk, 1);
	ck_assert_int_eq(jwt_key_load("ES256", pub, &k), TS_INVALID_REQUEST);
	free(pub);

	/* another curve, a short RSA key */
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	pem = pkey_to_pem(p384, 0);
	ck_assert_int_eq(jwt_key_load("ES256", pem, &k), TS_INVALID_REQUEST);
	free(pem);
	EVP_PKEY_free(p384);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	pem = pkey_to_pem(rsa1024, 0);
	ck_assert_int_eq(jwt_key_load("RS256", pem, &k), TS_INVALID_REQUEST);
	free(pem);
	EVP_PKEY_free(rsa1024);

	/* an encrypted key fails instead of prompting for a passphrase */
	bio = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, fx.es_pk, EVP_aes_256_cbc(), "pw", 2,
						       NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)len);
	BIO_free(bio);
	ck_assert_ptr_nonnull(strstr(pem, "ENCRYPTED"));
	ck_assert_int_eq(jwt_key_load("ES256", pem, &k), TS_INVALID_REQUEST);
	free(pem);
	ck_assert_ptr_null(k);
}
END_TEST

/* The RFC 7638 thumbprint, computed here from the exported JWK with Jansson's sorted compact
 * output, which is exactly the RFC's canonical form for these members. */
static void check_thumbprint(const jwt_key *key, json_t *jwk)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char b64[B64URL_LEN(SHA256_DIGEST_LENGTH)];
	json_t *req;
	char *text;

	if (strcmp(jwt_key_alg(key), "ES256") == 0)
		req = json_pack("{s:O, s:O, s:O, s:O}", "crv", json_object_get(jwk, "crv"), "kty",
				json_object_get(jwk, "kty"), "x", json_object_get(jwk, "x"), "y",
				json_object_get(jwk, "y"));
	else
		req = json_pack("{s:O, s:O, s:O}", "e", json_object_get(jwk, "e"), "kty",
				json_object_get(jwk, "kty"), "n", json_object_get(jwk, "n"));
	ck_assert_ptr_nonnull(req);
	text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	SHA256((unsigned char *)text, strlen(text), digest);
	b64url_encode(digest, sizeof digest, b64);
	ck_assert_str_eq(jwt_key_kid(key), b64);
	free(text);
	json_decref(req);
}

static void check_public_jwk(const jwt_key *key)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k", "oth" };
	json_t *jwk = jwt_key_public_jwk(key);
	size_t i;

	ck_assert_ptr_nonnull(jwk);
	for (i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
		ck_assert_ptr_null(json_object_get(jwk, private_members[i]));
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "kid")), jwt_key_kid(key));
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), jwt_key_alg(key));
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "use")), "sig");
	if (strcmp(jwt_key_alg(key), "ES256") == 0) {
		ck_assert_uint_eq(json_object_size(jwk), 7);
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256");
		ck_assert_uint_eq(json_string_length(json_object_get(jwk, "x")), 43);
		ck_assert_uint_eq(json_string_length(json_object_get(jwk, "y")), 43);
	} else {
		ck_assert_uint_eq(json_object_size(jwk), 6);
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "RSA");
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
		ck_assert_uint_eq(json_string_length(json_object_get(jwk, "n")), 342);
	}
	check_thumbprint(key, jwk);
	json_decref(jwk);
}

START_TEST(test_public_jwk)
{
	check_public_jwk(fx.es);
	check_public_jwk(fx.rs);
}
END_TEST

START_TEST(test_rfc7638_thumbprint)
{
	jwt_key *k;
	json_t *jwk;

	ck_assert_int_eq(jwt_key_load("RS256", rfc7517_rsa_pem, &k), TS_OK);
	ck_assert_str_eq(jwt_key_kid(k), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	jwk = jwt_key_public_jwk(k);
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "n")), rfc7517_n);
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
	json_decref(jwk);
	jwt_key_free(k);
}
END_TEST

/* Exports a key's JWK, reads it back as a verify-only key, and verifies a fresh token with it. */
static void jwk_round_trip(const jwt_key *key)
{
	json_t *jwk = jwt_key_public_jwk(key), *claims, *again;
	const jwt_key *keys[1];
	jwt_key *pub;
	char *tok;

	ck_assert_int_eq(jwt_key_from_jwk(jwk, &pub), TS_OK);
	ck_assert_str_eq(jwt_key_kid(pub), jwt_key_kid(key));
	ck_assert_str_eq(jwt_key_alg(pub), jwt_key_alg(key));
	again = jwt_key_public_jwk(pub);
	ck_assert(json_equal(again, jwk));
	json_decref(again);
	keys[0] = pub;
	ck_assert_int_eq(jwt_sign(key, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(jwt_verify(keys, 1, tok, "at+jwt", &claims), TS_OK);
	ck_assert(json_equal(claims, fx.claims));
	json_decref(claims);
	free(tok);
	jwt_key_free(pub);

	/* without alg and use it still works, and the given kid is the one used */
	json_object_del(jwk, "alg");
	json_object_del(jwk, "use");
	json_object_set_new(jwk, "kid", json_string("2024-rotation"));
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &pub), TS_OK);
	ck_assert_str_eq(jwt_key_kid(pub), "2024-rotation");
	jwt_key_free(pub);
	json_decref(jwk);
}

START_TEST(test_jwk_round_trip)
{
	jwk_round_trip(fx.es);
	jwk_round_trip(fx.rs);
}
END_TEST

/* Applies change (a JSON object merged over the exported JWK; null deletes) and expects refusal. */
static void jwk_refused(const jwt_key *key, const char *change)
{
	json_t *jwk = jwt_key_public_jwk(key), *c = json_loads(change, 0, NULL);
	const char *name;
	json_t *v;
	jwt_key *k = (jwt_key *)1;

	ck_assert_ptr_nonnull(c);
	json_object_foreach(c, name, v) {
		if (json_is_null(v))
			json_object_del(jwk, name);
		else
			json_object_set(jwk, name, v);
	}
	ck_assert_msg(jwt_key_from_jwk(jwk, &k) == TS_INVALID_REQUEST, "accepted %s", change);
	ck_assert_ptr_null(k);
	json_decref(c);
	json_decref(jwk);
}

START_TEST(test_jwk_invalid)
{
	json_t *arr = json_array(), *jwk;
	EVP_PKEY *small;
	jwt_key *k, *sk;
	char *pem, *x;
	size_t n;

	ck_assert_int_eq(jwt_key_from_jwk(arr, &k), TS_INVALID_REQUEST);
	json_decref(arr);
	ck_assert_int_eq(jwt_key_from_jwk(NULL, &k), TS_INVALID_REQUEST);

	jwk_refused(fx.es, "{\"kid\":null}");
	jwk_refused(fx.es, "{\"kid\":\"\"}");
	jwk_refused(fx.es, "{\"kid\":5}");
	jwk_refused(fx.es, "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}");
	jwk_refused(fx.es, "{\"kty\":null}");
	jwk_refused(fx.es, "{\"crv\":\"P-384\"}");
	jwk_refused(fx.es, "{\"crv\":null}");
	jwk_refused(fx.es, "{\"alg\":\"RS256\"}");
	jwk_refused(fx.es, "{\"alg\":\"none\"}");
	jwk_refused(fx.es, "{\"alg\":\"HS256\"}");
	jwk_refused(fx.es, "{\"use\":\"enc\"}");
	jwk_refused(fx.es, "{\"x\":null}");
	jwk_refused(fx.es, "{\"x\":\"AAAA\"}");
	jwk_refused(fx.rs, "{\"alg\":\"ES256\"}");
	jwk_refused(fx.rs, "{\"kty\":\"EC\"}");
	jwk_refused(fx.rs, "{\"n\":null}");
	jwk_refused(fx.rs, "{\"e\":\"\"}");
	jwk_refused(fx.rs, "{\"e\":\"AQAB=\"}");

	/* x with padding, x one byte short of 32, and a point that is not on the curve */
	jwk = jwt_key_public_jwk(fx.es);
	x = malloc(64);
	sprintf(x, "%s=", json_string_value(json_object_get(jwk, "x")));
	json_object_set_new(jwk, "x", json_string(x));
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &k), TS_INVALID_REQUEST);
	json_object_set_new(jwk, "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &k), TS_INVALID_REQUEST);
	json_decref(jwk);
	jwk = jwt_key_public_jwk(fx.es);
	strcpy(x, json_string_value(json_object_get(jwk, "y")));
	flip(x, 20);
	json_object_set_new(jwk, "y", json_string(x));
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &k), TS_INVALID_REQUEST);
	json_decref(jwk);
	free(x);

	/* a 1024-bit RSA key */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	pem = pkey_to_pem(small, 0);
	EVP_PKEY_free(small);
	ck_assert_int_eq(jwt_key_load("RS256", pem, &sk), TS_INVALID_REQUEST);
	free(pem);
	jwk = jwt_key_public_jwk(fx.rs);
	x = strdup(json_string_value(json_object_get(jwk, "n")));
	n = strlen(x);
	x[n / 2 + 1] = '\0'; /* about half of a 2048-bit modulus */
	json_object_set_new(jwk, "n", json_string(x));
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &k), TS_INVALID_REQUEST);
	free(x);
	json_decref(jwk);
}
END_TEST

/* A JWK key with a 4096-bit modulus is accepted for RS256 (>= 2048). */
START_TEST(test_rsa_4096_accepted)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	char *pem = pkey_to_pem(pk, 0), *tok;
	const jwt_key *keys[1];
	jwt_key *k, *pub;
	json_t *jwk, *claims;

	ck_assert_int_eq(jwt_key_load("RS256", pem, &k), TS_OK);
	jwk = jwt_key_public_jwk(k);
	ck_assert_uint_eq(json_string_length(json_object_get(jwk, "n")), 683);
	ck_assert_int_eq(jwt_key_from_jwk(jwk, &pub), TS_OK);
	keys[0] = pub;
	ck_assert_int_eq(jwt_sign(k, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(jwt_verify(keys, 1, tok, "at+jwt", &claims), TS_OK);
	json_decref(claims);
	free(tok);
	json_decref(jwk);
	jwt_key_free(pub);
	jwt_key_free(k);
	free(pem);
	EVP_PKEY_free(pk);
}
END_TEST


static Suite *jwt_key_suite(void)
{
	Suite *s = suite_create("jwt_key");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, jwt_fixture_setup, jwt_fixture_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_generate_and_load);
	tcase_add_test(tc, test_load_rejects_wrong_keys);
	tcase_add_test(tc, test_public_jwk);
	tcase_add_test(tc, test_rfc7638_thumbprint);
	tcase_add_test(tc, test_jwk_round_trip);
	tcase_add_test(tc, test_jwk_invalid);
	tcase_add_test(tc, test_rsa_4096_accepted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return jwt_fixture_run(jwt_key_suite());
}
