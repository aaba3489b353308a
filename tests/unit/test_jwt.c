/* test_jwt.c - JWS signing and verification, keys, JWKs and the attacks a verifier must refuse.
 *
 * Tokens with hostile headers are forged here with OpenSSL directly (and validly signed), so each
 * rejection is due to the header under test and not to a bad signature; a control token built the
 * same way with a clean header must verify. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "b64.h"
#include "jwt.h"
#include "p256.h"

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
static char *es_pem, *rs_pem;

struct fixture {
	jwt_key *es, *rs;        /* the keys under test */
	EVP_PKEY *es_pk, *rs_pk; /* the same keys, parsed independently for forging */
	json_t *claims;
};

static struct fixture fx;

static EVP_PKEY *pem_to_pkey(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	ck_assert_ptr_nonnull(pk);
	return pk;
}

static char *pkey_to_pem(EVP_PKEY *pk, int public_only)
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

static void setup(void)
{
	ck_assert_int_eq(jwt_key_load("ES256", es_pem, &fx.es), TS_OK);
	ck_assert_int_eq(jwt_key_load("RS256", rs_pem, &fx.rs), TS_OK);
	fx.es_pk = pem_to_pkey(es_pem);
	fx.rs_pk = pem_to_pkey(rs_pem);
	fx.claims = json_pack("{s:s, s:s, s:I, s:s}", "sub", "device-17", "scope",
			      "mqtt:pub:home/alice/#", "exp", (json_int_t)4102444800, "jti", "abc");
	ck_assert_ptr_nonnull(fx.claims);
}

static void teardown(void)
{
	jwt_key_free(fx.es);
	jwt_key_free(fx.rs);
	EVP_PKEY_free(fx.es_pk);
	EVP_PKEY_free(fx.rs_pk);
	json_decref(fx.claims);
	memset(&fx, 0, sizeof fx);
}

static char *b64url_str(const void *data, size_t n)
{
	char *s = malloc(B64URL_LEN(n));

	ck_assert_ptr_nonnull(s);
	b64url_encode(data, n, s);
	return s;
}

/* header.payload.sig from parts; sig may be NULL for an empty signature. */
static char *join(const char *header, const char *payload, const unsigned char *sig, size_t siglen)
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
static size_t forge_sig(EVP_PKEY *pk, const char *input, unsigned char *sig)
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
static char *forge(EVP_PKEY *pk, const char *header, const char *payload)
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
static ts_err verify(const char *token, const char *typ)
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

static char *header_json(const char *alg, const char *kid, const char *extra)
{
	char *h = malloc(strlen(kid) + (extra ? strlen(extra) : 0) + 128);

	ck_assert_ptr_nonnull(h);
	sprintf(h, "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"%s%s}", alg, kid,
		extra ? "," : "", extra ? extra : "");
	return h;
}

static const char payload_json[] = "{\"sub\":\"device-17\",\"scope\":\"mqtt:pub:#\"}";

/* Forges with pk a token of alg and kid plus extra header members, and verifies it. */
static ts_err forge_verify(EVP_PKEY *pk, const char *alg, const char *kid, const char *extra)
{
	char *h = header_json(alg, kid, extra);
	char *t = forge(pk, h, payload_json);
	ts_err rc = verify(t, "at+jwt");

	free(h);
	free(t);
	return rc;
}

static json_t *segment_json(const char *token, int which)
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

/* Changes the character at index i of s to another base64url character. */
static void flip(char *s, size_t i)
{
	s[i] = s[i] == 'A' ? 'B' : 'A';
}

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

/* The same ES256 token with s replaced by n - s (computed with OpenSSL's BIGNUMs, apart from
 * lib/common/p256.c): a valid signature of the same token, spelled differently. */
static char *malleate(const char *tok)
{
	const char *dot = strrchr(tok, '.');
	unsigned char sig[80];
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *s, *n;
	char *out;
	size_t head = (size_t)(dot + 1 - tok);

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(b64url_decode(dot + 1, strlen(dot + 1), sig), 64);
	s = BN_bin2bn(sig + 32, 32, NULL);
	n = BN_dup(EC_GROUP_get0_order(g));
	ck_assert_int_eq(BN_sub(s, n, s), 1);
	ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
	out = malloc(head + 90);
	memcpy(out, tok, head);
	out[head + b64url_encode(sig, 64, out + head)] = '\0';
	BN_free(s);
	BN_free(n);
	EC_GROUP_free(g);
	return out;
}

/* docs/security.md row 81: every ES256 signature jwt_sign makes has s <= n/2, and the copy with
 * (r, n - s) -- as valid for ECDSA, but another string -- is refused by jwt_verify; a verifier
 * of foreign JWTs may take it with JWT_ALLOW_HIGH_S. Many signatures, as OpenSSL picks either
 * form about half the time. */
START_TEST(test_es256_low_s_only)
{
	const jwt_key *keys[1] = { fx.es };
	unsigned char sig[80];
	json_t *c = NULL;
	char *tok, *bad;
	int i, high = 0;

	for (i = 0; i < 64; i++) {
		ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", fx.claims, &tok), TS_OK);
		ck_assert_int_eq(b64url_decode(strrchr(tok, '.') + 1, 86, sig), 64);
		ck_assert_msg(!p256_s_is_high(sig + 32), "jwt_sign made a high s: %s", tok);
		ck_assert_int_eq(verify(tok, "at+jwt"), TS_OK);
		bad = malleate(tok);
		ck_assert_str_ne(bad, tok);
		ck_assert_int_eq(b64url_decode(strrchr(bad, '.') + 1, 86, sig), 64);
		high += p256_s_is_high(sig + 32);
		ck_assert_int_eq(verify(bad, "at+jwt"), TS_INVALID_TOKEN);
		ck_assert_int_eq(jwt_verify_opts(keys, 1, bad, "at+jwt", JWT_ALLOW_HIGH_S, &c), TS_OK);
		ck_assert(json_equal(c, fx.claims));
		json_decref(c);
		c = NULL;
		free(bad);
		free(tok);
	}
	ck_assert_int_eq(high, 64); /* n - s of a low s is always high */
}
END_TEST

/* p256_low_s: n/2 itself is low, n/2 + 1 is high and becomes n - (n/2 + 1) = n/2. */
START_TEST(test_p256_low_s_bounds)
{
	static const unsigned char half[32] = {
		0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61,
		0x7e, 0x31, 0x92, 0xa8,
	};
	unsigned char s[32];

	memcpy(s, half, 32);
	ck_assert_int_eq(p256_s_is_high(s), 0);
	p256_low_s(s);
	ck_assert_mem_eq(s, half, 32);
	s[31]++;
	ck_assert_int_eq(p256_s_is_high(s), 1);
	p256_low_s(s);
	ck_assert_mem_eq(s, half, 32);
	memset(s, 0, 32);
	s[31] = 1;
	ck_assert_int_eq(p256_s_is_high(s), 0);
}
END_TEST

START_TEST(test_alg_none_rejected)
{
	const char *kid = jwt_key_kid(fx.es);
	char *h, *t;

	h = header_json("none", kid, NULL);
	t = join(h, payload_json, NULL, 0);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	/* "none" with a real signature over it, and spelled otherwise */
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	free(h);
	ck_assert_int_eq(forge_verify(fx.es_pk, "None", kid, NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "es256", kid, NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, NULL), TS_OK);
	/* no alg at all, or not a string */
	t = forge(fx.es_pk, "{\"kid\":\"x\"}", payload_json);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	h = malloc(strlen(kid) + 64);
	sprintf(h, "{\"alg\":[\"ES256\"],\"kid\":\"%s\"}", kid);
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	sprintf(h, "{\"kid\":\"%s\"}", kid);
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	free(h);
}
END_TEST

/* The classic confusion: HS256 keyed with the server's public key PEM, which an attacker has. */
static void hs256_with_public_pem(jwt_key *key, EVP_PKEY *pk)
{
	char *pub = pkey_to_pem(pk, 1), *h = header_json("HS256", jwt_key_kid(key), NULL);
	char *input = join(h, payload_json, NULL, 0), *t;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	input[strlen(input) - 1] = '\0';
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pub, (int)strlen(pub), (unsigned char *)input,
				   strlen(input), mac, &maclen));
	ck_assert_uint_eq(maclen, 32);
	t = join(h, payload_json, mac, maclen);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	free(input);
	free(h);
	free(pub);
}

START_TEST(test_hs256_public_key_confusion)
{
	hs256_with_public_pem(fx.rs, fx.rs_pk);
	hs256_with_public_pem(fx.es, fx.es_pk);
}
END_TEST

START_TEST(test_alg_must_match_key)
{
	/* RS256 for the ES256 kid, validly signed by the RSA key, and the reverse */
	ck_assert_int_eq(forge_verify(fx.rs_pk, "RS256", jwt_key_kid(fx.es), NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", jwt_key_kid(fx.rs), NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "RS256", jwt_key_kid(fx.es), NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.rs_pk, "PS256", jwt_key_kid(fx.rs), NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.rs_pk, "RS256", jwt_key_kid(fx.rs), NULL), TS_OK);
}
END_TEST

START_TEST(test_kid_rejected)
{
	char *big = malloc(10241), *h, *t;

	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", "unknown", NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", "../../dev/null", NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", "' OR 1=1--", NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", "", NULL), TS_INVALID_TOKEN);
	memset(big, 'A', 10240);
	big[10240] = '\0';
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", big, NULL), TS_INVALID_TOKEN);
	/* the kid with something after it, a prefix of it, another case */
	sprintf(big, "%s ", jwt_key_kid(fx.es));
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", big, NULL), TS_INVALID_TOKEN);
	sprintf(big, "%.42s", jwt_key_kid(fx.es));
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", big, NULL), TS_INVALID_TOKEN);
	free(big);
	/* missing kid, and a kid that is not a string */
	t = forge(fx.es_pk, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", payload_json);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":1}", payload_json);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	/* a kid with an escaped NUL cannot be smuggled through */
	h = malloc(128);
	sprintf(h, "{\"alg\":\"ES256\",\"kid\":\"%s\\u0000x\"}", jwt_key_kid(fx.es));
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	free(h);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", jwt_key_kid(fx.es), NULL), TS_OK);
}
END_TEST

START_TEST(test_key_selecting_headers_rejected)
{
	const char *kid = jwt_key_kid(fx.es);

	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"jku\":\"https://evil.example/jwks\""),
			 TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"x5u\":\"https://evil.example/c.pem\""),
			 TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid,
				      "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\"}"),
			 TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"x5c\":[\"MIIB\"]"), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"crit\":[\"exp\"],\"exp\":1"),
			 TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"jku\":null"), TS_INVALID_TOKEN);
	/* harmless extra members are fine */
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"cty\":\"x\""), TS_OK);
}
END_TEST

START_TEST(test_duplicate_members_rejected)
{
	const char *kid = jwt_key_kid(fx.es);
	char *h = malloc(256), *t;

	/* a second alg or kid must not let a parser pick the other one */
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"alg\":\"none\""), TS_INVALID_TOKEN);
	ck_assert_int_eq(forge_verify(fx.es_pk, "ES256", kid, "\"kid\":\"other\""), TS_INVALID_TOKEN);
	sprintf(h, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	t = forge(fx.es_pk, h, "{\"sub\":\"a\",\"sub\":\"admin\"}");
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, h, "{\"sub\":\"a\"}");
	ck_assert_int_eq(verify(t, NULL), TS_OK);
	free(t);
	free(h);
}
END_TEST

START_TEST(test_typ)
{
	const char *kid = jwt_key_kid(fx.es);
	char *h = malloc(256), *t;
	size_t i;
	static const struct {
		const char *typ;    /* in the header; NULL: absent */
		const char *want;   /* asked of jwt_verify */
		ts_err rc;
	} cases[] = {
		{ "at+jwt", "at+jwt", TS_OK },
		{ "application/at+jwt", "at+jwt", TS_OK },
		{ "AT+JWT", "at+jwt", TS_OK },
		{ "Application/AT+jwt", "at+jwt", TS_OK },
		{ "at+jwt", "application/at+jwt", TS_OK },
		{ "JWT", "at+jwt", TS_INVALID_TOKEN },
		{ "jwt", "at+jwt", TS_INVALID_TOKEN },
		{ "application/jwt", "at+jwt", TS_INVALID_TOKEN },
		{ "text/at+jwt", "at+jwt", TS_INVALID_TOKEN },
		{ "at+jwt ", "at+jwt", TS_INVALID_TOKEN },
		{ "", "at+jwt", TS_INVALID_TOKEN },
		{ NULL, "at+jwt", TS_INVALID_TOKEN },
		{ "JWT", "JWT", TS_OK },
		{ "JWT", NULL, TS_OK },
		{ NULL, NULL, TS_OK },
		{ "at+jwt", "JWT", TS_INVALID_TOKEN },
	};

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].typ)
			sprintf(h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}", kid, cases[i].typ);
		else
			sprintf(h, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
		t = forge(fx.es_pk, h, payload_json);
		ck_assert_msg(verify(t, cases[i].want) == cases[i].rc, "typ %s against %s",
			      cases[i].typ ? cases[i].typ : "(none)",
			      cases[i].want ? cases[i].want : "(any)");
		free(t);
	}
	sprintf(h, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":7}", kid);
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	free(h);
}
END_TEST

static char *with_suffix(const char *tok, const char *suffix)
{
	char *s = malloc(strlen(tok) + strlen(suffix) + 1);

	sprintf(s, "%s%s", tok, suffix);
	return s;
}

START_TEST(test_malformed_tokens)
{
	const char *kid = jwt_key_kid(fx.es);
	char *tok, *t, *h;
	size_t n;
	static const char *const junk[] = {
		"", ".", "..", "...", "a.b", "a.b.c", "a.b.c.d", "eyJ9.eyJ9.", "\xff\xfe.x.y",
	};
	static const char *const suffixes[] = { "=", "==", " ", "\n", "\r\n", ".", ".abc", "A", "\t" };

	for (n = 0; n < sizeof junk / sizeof junk[0]; n++)
		ck_assert_int_eq(verify(junk[n], NULL), TS_INVALID_TOKEN);
	ck_assert_int_eq(jwt_verify(NULL, 0, junk[5], NULL, &(json_t *){ NULL }), TS_INVALID_TOKEN);

	ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_OK);
	for (n = 0; n < sizeof suffixes / sizeof suffixes[0]; n++) {
		t = with_suffix(tok, suffixes[n]);
		ck_assert_msg(verify(t, "at+jwt") == TS_INVALID_TOKEN, "suffix %zu accepted", n);
		free(t);
	}
	/* a leading space, '=' padding inside, a standard-base64 character */
	t = with_suffix(" ", tok);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = malloc(strlen(tok) + 2);
	h = strchr(tok, '.');
	sprintf(t, "%.*s=%s", (int)(h - tok), tok, h);
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = strdup(tok);
	t[strlen(t) - 2] = '+';
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	free(tok);

	/* the header and the payload must be JSON objects */
	h = header_json("ES256", kid, NULL);
	t = forge(fx.es_pk, h, "[\"sub\"]");
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, h, "\"sub\"");
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, h, "{\"sub\":\"a\"} trailing");
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, h, "{\"sub\":\"a\"");
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	t = forge(fx.es_pk, h, "");
	ck_assert_int_eq(verify(t, "at+jwt"), TS_INVALID_TOKEN);
	free(t);
	free(h);
	h = malloc(strlen(kid) + 64);
	sprintf(h, "[{\"alg\":\"ES256\",\"kid\":\"%s\"}]", kid);
	t = forge(fx.es_pk, h, payload_json);
	ck_assert_int_eq(verify(t, NULL), TS_INVALID_TOKEN);
	free(t);
	free(h);
}
END_TEST

/* 16 KiB is the limit, even for a correctly signed token. */
START_TEST(test_token_size_limit)
{
	json_t *claims = json_deep_copy(fx.claims);
	char *pad = malloc(13001), *tok;

	memset(pad, 'x', 13000);
	pad[11800] = '\0';
	json_object_set_new(claims, "pad", json_string(pad));
	ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", claims, &tok), TS_OK);
	ck_assert_uint_lt(strlen(tok), 16384);
	ck_assert_uint_gt(strlen(tok), 15000);
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_OK);
	free(tok);

	pad[11800] = 'x';
	pad[13000] = '\0';
	json_object_set_new(claims, "pad", json_string(pad));
	ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", claims, &tok), TS_OK);
	ck_assert_uint_gt(strlen(tok), 16384);
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_INVALID_TOKEN);
	free(tok);
	free(pad);
	json_decref(claims);
}
END_TEST

START_TEST(test_key_selection)
{
	const jwt_key *keys[4] = { NULL, fx.rs, NULL, fx.es };
	jwt_key *other;
	json_t *claims;
	char *tok, *pem;

	ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(jwt_verify(keys, 4, tok, "at+jwt", &claims), TS_OK);
	json_decref(claims);
	ck_assert_int_eq(jwt_verify(keys, 3, tok, "at+jwt", &claims), TS_INVALID_TOKEN);
	ck_assert_int_eq(jwt_verify(keys, 0, tok, "at+jwt", &claims), TS_INVALID_TOKEN);
	free(tok);

	/* a token from another ES256 key named with our kid fails on the signature */
	ck_assert_int_eq(jwt_key_generate("ES256", &pem), TS_OK);
	ck_assert_int_eq(jwt_key_load("ES256", pem, &other), TS_OK);
	free(pem);
	ck_assert_int_eq(jwt_sign(other, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(verify(tok, "at+jwt"), TS_INVALID_TOKEN);
	free(tok);
	jwt_key_free(other);
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

/* jwt_header_kid reads the kid without verifying anything, and refuses what is not one. */
START_TEST(test_header_kid)
{
	const char *kid = jwt_key_kid(fx.es);
	char buf[300], small[8], *tok, *h, *t, *longkid;
	size_t i;
	static const char *const junk[] = { "", ".", "..", "abc", "a.b.c", "\xff\xfe.x.y", "eyJ9.x.y" };
	static const char *const headers[] = {
		"{\"alg\":\"ES256\"}",                     /* no kid */
		"{\"alg\":\"ES256\",\"kid\":\"\"}",          /* empty */
		"{\"alg\":\"ES256\",\"kid\":17}",          /* not a string */
		"{\"alg\":\"ES256\",\"kid\":null}",
		"[\"kid\"]",                                /* not an object */
		"{\"kid\":\"a\",\"kid\":\"b\"}",             /* duplicate members */
	};

	/* a real token: the kid of the key that signed it */
	ck_assert_int_eq(jwt_sign(fx.es, "at+jwt", fx.claims, &tok), TS_OK);
	ck_assert_int_eq(jwt_header_kid(tok, buf, sizeof buf), TS_OK);
	ck_assert_str_eq(buf, kid);
	/* exactly fitting, and one byte short */
	ck_assert_int_eq(jwt_header_kid(tok, buf, strlen(kid) + 1), TS_OK);
	ck_assert_str_eq(buf, kid);
	ck_assert_int_eq(jwt_header_kid(tok, buf, strlen(kid)), TS_INVALID_TOKEN);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(jwt_header_kid(tok, small, sizeof small), TS_INVALID_TOKEN);
	ck_assert_int_eq(jwt_header_kid(tok, buf, 0), TS_INVALID_TOKEN);
	free(tok);

	/* no signature check: a forged header still names its kid */
	h = header_json("none", "some-other-key", NULL);
	t = join(h, payload_json, NULL, 0);
	ck_assert_int_eq(jwt_header_kid(t, buf, sizeof buf), TS_OK);
	ck_assert_str_eq(buf, "some-other-key");
	free(h);
	free(t);

	ck_assert_int_eq(jwt_header_kid(NULL, buf, sizeof buf), TS_INVALID_TOKEN);
	for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
		ck_assert_msg(jwt_header_kid(junk[i], buf, sizeof buf) == TS_INVALID_TOKEN,
			      "junk %zu accepted", i);
	for (i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		t = join(headers[i], payload_json, NULL, 0);
		ck_assert_msg(jwt_header_kid(t, buf, sizeof buf) == TS_INVALID_TOKEN,
			      "header %zu accepted", i);
		free(t);
	}

	/* a kid too long for the buffer */
	longkid = malloc(400);
	ck_assert_ptr_nonnull(longkid);
	memset(longkid, 'k', 399);
	longkid[399] = '\0';
	h = header_json("ES256", longkid, NULL);
	t = join(h, payload_json, NULL, 0);
	ck_assert_int_eq(jwt_header_kid(t, buf, sizeof buf), TS_INVALID_TOKEN);
	free(h);
	free(t);
	free(longkid);
}
END_TEST

static Suite *jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_generate_and_load);
	tcase_add_test(tc, test_load_rejects_wrong_keys);
	tcase_add_test(tc, test_round_trip_es256);
	tcase_add_test(tc, test_round_trip_rs256);
	tcase_add_test(tc, test_interop_openssl);
	tcase_add_test(tc, test_sign_without_typ);
	tcase_add_test(tc, test_sign_rejects_misuse);
	tcase_add_test(tc, test_tampered_es256);
	tcase_add_test(tc, test_tampered_rs256);
	tcase_add_test(tc, test_es256_signature_length);
	tcase_add_test(tc, test_es256_low_s_only);
	tcase_add_test(tc, test_p256_low_s_bounds);
	tcase_add_test(tc, test_alg_none_rejected);
	tcase_add_test(tc, test_hs256_public_key_confusion);
	tcase_add_test(tc, test_alg_must_match_key);
	tcase_add_test(tc, test_kid_rejected);
	tcase_add_test(tc, test_key_selecting_headers_rejected);
	tcase_add_test(tc, test_duplicate_members_rejected);
	tcase_add_test(tc, test_typ);
	tcase_add_test(tc, test_malformed_tokens);
	tcase_add_test(tc, test_token_size_limit);
	tcase_add_test(tc, test_key_selection);
	tcase_add_test(tc, test_public_jwk);
	tcase_add_test(tc, test_rfc7638_thumbprint);
	tcase_add_test(tc, test_jwk_round_trip);
	tcase_add_test(tc, test_jwk_invalid);
	tcase_add_test(tc, test_rsa_4096_accepted);
	tcase_add_test(tc, test_threads_share_key);
	tcase_add_test(tc, test_header_kid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (jwt_key_generate("ES256", &es_pem) != TS_OK || jwt_key_generate("RS256", &rs_pem) != TS_OK) {
		fprintf(stderr, "key generation failed\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(jwt_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(es_pem);
	free(rs_pem);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
