/* test_client_assertion.c - private_key_jwt (lib/client_assertion.c, lib/client_jwks.c): the
 * JWK Sets a client may register, the signature checks of an assertion (docs/security.md rows
 * 90-95), its claims, and the cache of jwks_uri sets. Assertions are signed here with OpenSSL
 * directly, independently of jwt.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "client_assertion.h"
#include "client_jwks.h"
#include "jwt.h"

#define NOW 1700000000
#define ISS "https://as.example"
#define TOKEN_EP "https://as.example/token"

/* A test key: the private EVP_PKEY and its public JWK. */
struct tkey {
	EVP_PKEY *pk;
	json_t *jwk;
};

static struct tkey make_key(const char *alg)
{
	struct tkey t;
	char *pem = NULL;
	jwt_key *k = NULL;
	BIO *bio;

	ck_assert_int_eq(jwt_key_generate(alg, &pem), TS_OK);
	ck_assert_int_eq(jwt_key_load(alg, pem, &k), TS_OK);
	t.jwk = jwt_key_public_jwk(k);
	ck_assert_ptr_nonnull(t.jwk);
	bio = BIO_new_mem_buf(pem, -1);
	t.pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(t.pk);
	BIO_free(bio);
	jwt_key_free(k);
	free(pem);
	return t;
}

static void free_key(struct tkey *t)
{
	EVP_PKEY_free(t->pk);
	json_decref(t->jwk);
}

static char *b64(const void *p, size_t n)
{
	char *s = malloc(B64URL_LEN(n));

	ck_assert_ptr_nonnull(s);
	b64url_encode(p, n, s);
	return s;
}

/* header.payload signed with pk for alg (ES256 as raw R||S, high_s: s replaced by n - s). */
static char *forge(EVP_PKEY *pk, const char *alg, const char *header, const char *payload,
                   int high_s)
{
	char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload)), *input, *sig64,
	     *tok;
	unsigned char der[1024], sig[1024];
	const unsigned char *dp = der;
	size_t len = sizeof der, slen;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int eddsa = strcmp(alg, "EdDSA") == 0;

	input = malloc(strlen(h) + strlen(p) + 2);
	sprintf(input, "%s.%s", h, p);
	ck_assert_int_eq(EVP_DigestSignInit(md, &pctx, eddsa ? NULL : EVP_sha256(), NULL, pk), 1);
	if (strcmp(alg, "PS256") == 0) {
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ck_assert_int_eq(EVP_DigestSign(md, der, &len, (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(md);
	if (strcmp(alg, "ES256") == 0) {
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)len);
		BIGNUM *order = BN_new(), *s = BN_dup(ECDSA_SIG_get0_s(es)), *half = BN_new();
		EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);

		EC_GROUP_get_order(g, order, NULL);
		BN_rshift1(half, order);
		/* the form asked for: low (s <= n/2) or high */
		if ((BN_cmp(s, half) > 0) != !!high_s)
			BN_sub(s, order, s);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		slen = 64;
		BN_free(order);
		BN_free(s);
		BN_free(half);
		EC_GROUP_free(g);
		ECDSA_SIG_free(es);
	} else {
		memcpy(sig, der, len);
		slen = len;
	}
	sig64 = b64(sig, slen);
	tok = malloc(strlen(input) + strlen(sig64) + 2);
	sprintf(tok, "%s.%s", input, sig64);
	free(h);
	free(p);
	free(input);
	free(sig64);
	return tok;
}

static char *claims_json(const char *sub, const char *aud, long exp, const char *jti)
{
	char *s = malloc(1024);

	snprintf(s, 1024, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%ld%s%s%s}", sub,
	         sub, aud, exp, jti ? ",\"jti\":\"" : "", jti ? jti : "", jti ? "\"" : "");
	return s;
}

/* A set text of the given JWKs (references borrowed). */
static char *set_of(json_t *a, json_t *b)
{
	json_t *set = json_pack("{s:[O]}", "keys", a);
	char *s;

	if (b)
		json_array_append(json_object_get(set, "keys"), b);
	s = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	return s;
}

static struct client_keys *keys_of(const char *text)
{
	struct client_keys *ks = NULL;
	const char *why = NULL;

	ck_assert_msg(client_keys_parse(text, strlen(text), 1, &ks, &why) == TS_OK, "%s", why);
	return ks;
}

/* client_assertion_verify's result for token against the set text. */
static ts_err verify(const char *set, const char *token, int *unknown)
{
	struct client_keys *ks = keys_of(set);
	json_t *claims = NULL;
	const char *why = NULL;
	int u = 0;
	ts_err rc = client_assertion_verify(ks, token, &claims, &u, &why);

	if (rc == TS_OK)
		ck_assert(json_is_object(claims));
	else
		ck_assert_ptr_nonnull(why);
	if (unknown)
		*unknown = u;
	json_decref(claims);
	client_keys_release(ks);
	return rc;
}

static char *header(const char *alg, const char *kid)
{
	char *h = malloc(512);

	if (kid)
		snprintf(h, 512, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
	else
		snprintf(h, 512, "{\"alg\":\"%s\"}", alg);
	return h;
}

/* docs/security.md row 91: each registered algorithm verifies, by kid and without one */
START_TEST(test_each_alg_verifies)
{
	static const char *const algs[] = {"ES256", "RS256", "PS256", "EdDSA"};
	size_t i;

	for (i = 0; i < 4; i++) {
		struct tkey t = make_key(algs[i]);
		char *set = set_of(t.jwk, NULL), *p = claims_json("dev", ISS, NOW + 60, "j1");
		char *h = header(algs[i], json_string_value(json_object_get(t.jwk, "kid")));
		char *h2 = header(algs[i], NULL);
		char *tok = forge(t.pk, algs[i], h, p, 0), *tok2 = forge(t.pk, algs[i], h2, p, 0);

		ck_assert_msg(verify(set, tok, NULL) == TS_OK, "%s with kid", algs[i]);
		ck_assert_msg(verify(set, tok2, NULL) == TS_OK, "%s without kid", algs[i]);
		free(tok);
		free(tok2);
		free(h);
		free(h2);
		free(p);
		free(set);
		free_key(&t);
	}
}
END_TEST

/* an RSA JWK without alg serves RS256 and PS256; with alg, only that one */
START_TEST(test_rsa_without_alg)
{
	struct tkey t = make_key("RS256");
	char *p = claims_json("dev", ISS, NOW + 60, "j1"), *set, *ps, *rs;
	char *hps = header("PS256", NULL), *hrs = header("RS256", NULL);

	ps = forge(t.pk, "PS256", hps, p, 0);
	rs = forge(t.pk, "RS256", hrs, p, 0);
	set = set_of(t.jwk, NULL); /* alg RS256 */
	ck_assert_int_eq(verify(set, rs, NULL), TS_OK);
	ck_assert_int_eq(verify(set, ps, NULL), TS_INVALID_CLIENT);
	free(set);
	json_object_del(t.jwk, "alg");
	set = set_of(t.jwk, NULL);
	ck_assert_int_eq(verify(set, rs, NULL), TS_OK);
	ck_assert_int_eq(verify(set, ps, NULL), TS_OK);
	free(set);
	free(p);
	free(ps);
	free(rs);
	free(hps);
	free(hrs);
	free_key(&t);
}
END_TEST

/* docs/security.md row 91: ES256 from other signers may have a high s (RFC 7518 asks no low s) */
START_TEST(test_es256_high_s_accepted)
{
	struct tkey t = make_key("ES256");
	char *set = set_of(t.jwk, NULL), *p = claims_json("dev", ISS, NOW + 60, "j1");
	char *h = header("ES256", NULL), *tok = forge(t.pk, "ES256", h, p, 1);

	ck_assert_int_eq(verify(set, tok, NULL), TS_OK);
	free(tok);
	free(h);
	free(p);
	free(set);
	free_key(&t);
}
END_TEST

/* docs/security.md row 91: alg none, an HMAC keyed with the public key (the classic confusion),
 * an alg that does not fit the key, a wrong key, an unknown kid */
START_TEST(test_refusals)
{
	struct tkey es = make_key("ES256"), other = make_key("ES256"), rs = make_key("RS256");
	char *set = set_of(es.jwk, rs.jwk), *p = claims_json("dev", ISS, NOW + 60, "j1");
	char *h = b64("{\"alg\":\"none\"}", 14), *pb = b64(p, strlen(p)), tok[4096], *t, *hh;
	const char *x = json_string_value(json_object_get(es.jwk, "x"));
	char *setdump, *hmac_in, *mac64;
	unsigned char mac[32];
	unsigned maclen = 0;
	int unknown = 0;

	snprintf(tok, sizeof tok, "%s.%s.", h, pb);
	ck_assert_int_eq(verify(set, tok, NULL), TS_INVALID_CLIENT);
	free(h);
	/* HS256 with the registered public key (its JWK text, its x, the set) as the secret */
	h = b64("{\"alg\":\"HS256\"}", 15);
	hmac_in = malloc(strlen(h) + strlen(pb) + 2);
	sprintf(hmac_in, "%s.%s", h, pb);
	setdump = json_dumps(es.jwk, JSON_COMPACT);
	HMAC(EVP_sha256(), setdump, (int)strlen(setdump), (unsigned char *)hmac_in, strlen(hmac_in),
	     mac, &maclen);
	mac64 = b64(mac, maclen);
	snprintf(tok, sizeof tok, "%s.%s", hmac_in, mac64);
	ck_assert_int_eq(verify(set, tok, NULL), TS_INVALID_CLIENT);
	free(mac64);
	HMAC(EVP_sha256(), x, (int)strlen(x), (unsigned char *)hmac_in, strlen(hmac_in), mac,
	     &maclen);
	mac64 = b64(mac, maclen);
	snprintf(tok, sizeof tok, "%s.%s", hmac_in, mac64);
	ck_assert_int_eq(verify(set, tok, NULL), TS_INVALID_CLIENT);
	free(mac64);
	free(setdump);
	free(hmac_in);
	free(h);
	/* RS256 in the header, the EC key's kid */
	hh = header("RS256", json_string_value(json_object_get(es.jwk, "kid")));
	t = forge(rs.pk, "RS256", hh, p, 0);
	ck_assert_int_eq(verify(set, t, NULL), TS_INVALID_CLIENT);
	free(t);
	free(hh);
	/* a key not registered, with and without a kid */
	hh = header("ES256", NULL);
	t = forge(other.pk, "ES256", hh, p, 0);
	ck_assert_int_eq(verify(set, t, &unknown), TS_INVALID_CLIENT);
	ck_assert_int_eq(unknown, 0);
	free(t);
	free(hh);
	hh = header("ES256", json_string_value(json_object_get(other.jwk, "kid")));
	t = forge(other.pk, "ES256", hh, p, 0);
	ck_assert_int_eq(verify(set, t, &unknown), TS_INVALID_CLIENT);
	ck_assert_int_eq(unknown, 1);
	free(t);
	free(hh);
	/* the right key's kid, signed by another key */
	hh = header("ES256", json_string_value(json_object_get(es.jwk, "kid")));
	t = forge(other.pk, "ES256", hh, p, 0);
	ck_assert_int_eq(verify(set, t, &unknown), TS_INVALID_CLIENT);
	ck_assert_int_eq(unknown, 0);
	free(t);
	free(hh);
	/* a header that brings its own key is refused, even signed by the registered one */
	setdump = json_dumps(other.jwk, JSON_COMPACT);
	hh = malloc(1024);
	snprintf(hh, 1024, "{\"alg\":\"ES256\",\"jwk\":%s}", setdump);
	t = forge(es.pk, "ES256", hh, p, 0);
	ck_assert_int_eq(verify(set, t, NULL), TS_INVALID_CLIENT);
	free(t);
	free(hh);
	free(setdump);
	ck_assert_int_eq(verify(set, "not a token", NULL), TS_INVALID_CLIENT);
	free(pb);
	free(p);
	free(set);
	free_key(&es);
	free_key(&other);
	free_key(&rs);
}
END_TEST

/* docs/security.md row 93: what may be registered */
START_TEST(test_jwks_registration)
{
	struct tkey es = make_key("ES256"), ed = make_key("EdDSA");
	char *ok = set_of(es.jwk, ed.jwk), *s;
	json_t *priv;

	ck_assert_ptr_null(client_jwks_problem(ok));
	free(ok);
	ck_assert_ptr_nonnull(client_jwks_problem("[]"));
	ck_assert_ptr_nonnull(client_jwks_problem("{\"keys\":[]}"));
	ck_assert_ptr_nonnull(client_jwks_problem("{\"keys\":{}}"));
	ck_assert_ptr_nonnull(client_jwks_problem("not json"));
	ck_assert_ptr_nonnull(client_jwks_problem(
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"alg\":\"HS256\"}]}"));
	ck_assert_ptr_nonnull(client_jwks_problem("{\"keys\":[{\"kty\":\"XYZ\",\"x\":\"AA\"}]}"));
	ck_assert_ptr_nonnull(client_jwks_problem("{\"keys\":[{\"x\":\"AA\"}]}"));
	/* a certificate alone (self_signed_tls_client_auth) passes, but gives no key */
	ck_assert_ptr_null(client_jwks_problem("{\"keys\":[{\"kty\":\"EC\",\"x5c\":[\"AAAA\"]}]}"));
	ck_assert_ptr_nonnull(client_jwks_problem("{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\","
	                                          "\"x5c\":[\"AAAA\"]}]}"));
	/* a private member, whatever its value */
	priv = json_deep_copy(es.jwk);
	json_object_set_new(priv, "d", json_string("AAAA"));
	s = set_of(priv, NULL);
	ck_assert_ptr_nonnull(client_jwks_problem(s));
	ck_assert_ptr_nonnull(strstr(client_jwks_problem(s), "private"));
	free(s);
	json_decref(priv);
	/* an alg that does not fit the key */
	priv = json_deep_copy(es.jwk);
	json_object_set_new(priv, "alg", json_string("RS256"));
	s = set_of(priv, NULL);
	ck_assert_ptr_nonnull(client_jwks_problem(s));
	free(s);
	json_decref(priv);
	/* the same kid twice */
	s = set_of(es.jwk, es.jwk);
	ck_assert_ptr_nonnull(client_jwks_problem(s));
	free(s);
	free_key(&es);
	free_key(&ed);
	ck_assert_ptr_null(client_jwks_uri_problem("https://device.example/jwks.json"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem("http://device.example/jwks.json"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem("https://"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem("https://a@b/"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem("https://h/#f"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem("https://h/ x"));
	ck_assert_ptr_nonnull(client_jwks_uri_problem(""));
	ck_assert_ptr_nonnull(client_jwks_uri_problem(NULL));
}
END_TEST

static const char *claims_problem(const char *json)
{
	json_t *c = json_loads(json, 0, NULL);
	const char *jti = NULL, *why;
	int64_t exp = 0;

	ck_assert_ptr_nonnull(c);
	why = client_assertion_claims_problem(c, "dev", ISS, TOKEN_EP, NOW, &jti, &exp);
	if (!why) {
		ck_assert_ptr_nonnull(jti);
		ck_assert_int_gt(exp, NOW);
	}
	json_decref(c);
	return why;
}

#define C(extra) "{\"iss\":\"dev\",\"sub\":\"dev\",\"jti\":\"j\"" extra "}"

/* docs/security.md row 92: iss, sub, aud, exp, nbf, iat, jti */
START_TEST(test_claims)
{
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000060")));
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" TOKEN_EP "\",\"exp\":1700000060")));
	ck_assert_ptr_null(claims_problem(C(",\"aud\":[\"x\",\"" ISS "\"],\"exp\":1700000060")));
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000300,"
	                                    "\"iat\":1700000000,\"nbf\":1700000000")));
	/* 30 seconds of clock skew either way */
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1699999980")));
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000060,"
	                                    "\"iat\":1700000020")));
	/* wrong aud */
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"https://other\",\"exp\":1700000060")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "/\",\"exp\":1700000060")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":[],\"exp\":1700000060")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":[1,\"" ISS "\"],\"exp\":1700000060")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"exp\":1700000060")));
	/* exp missing, passed, too far ahead */
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\"")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":\"1700000060\"")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1699999970")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000331")));
	ck_assert_ptr_null(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000330")));
	/* nbf, iat in the future */
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000060,"
	                                       "\"nbf\":1700000031")));
	ck_assert_ptr_nonnull(claims_problem(C(",\"aud\":\"" ISS "\",\"exp\":1700000060,"
	                                       "\"iat\":1700000031")));
	/* iss, sub */
	ck_assert_ptr_nonnull(claims_problem("{\"iss\":\"other\",\"sub\":\"dev\",\"jti\":\"j\","
	                                     "\"aud\":\"" ISS "\",\"exp\":1700000060}"));
	ck_assert_ptr_nonnull(claims_problem("{\"iss\":\"dev\",\"sub\":\"other\",\"jti\":\"j\","
	                                     "\"aud\":\"" ISS "\",\"exp\":1700000060}"));
	/* jti missing, empty, not a string */
	ck_assert_ptr_nonnull(claims_problem("{\"iss\":\"dev\",\"sub\":\"dev\","
	                                     "\"aud\":\"" ISS "\",\"exp\":1700000060}"));
	ck_assert_ptr_nonnull(claims_problem("{\"iss\":\"dev\",\"sub\":\"dev\",\"jti\":\"\","
	                                     "\"aud\":\"" ISS "\",\"exp\":1700000060}"));
	ck_assert_ptr_nonnull(claims_problem("{\"iss\":\"dev\",\"sub\":\"dev\",\"jti\":7,"
	                                     "\"aud\":\"" ISS "\",\"exp\":1700000060}"));
}
END_TEST

/* --- the cache of jwks_uri sets, with a fetcher that counts --- */

static int fetches;
static char *served;

static ts_err fake_fetch(const char *uri, char **body, size_t *len, const char **why)
{
	(void)uri;
	fetches++;
	if (!served) {
		*why = "down";
		return TS_UNAVAILABLE;
	}
	*body = strdup(served);
	*len = strlen(served);
	return TS_OK;
}

/* docs/security.md row 94: fetched once, cached, refetched on an unknown kid at most every
 * CLIENT_JWKS_REFETCH seconds; a failed fetch is invalid_client */
START_TEST(test_uri_cache)
{
	struct tkey a = make_key("ES256"), b = make_key("ES256");
	struct client_keys *ks = NULL;
	const char *why = NULL;

	client_jwks_fetcher = fake_fetch;
	served = set_of(a.jwk, NULL);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 0, NOW, &ks, &why), TS_OK);
	client_keys_release(ks);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 0, NOW + 1, &ks, &why), TS_OK);
	client_keys_release(ks);
	ck_assert_int_eq(fetches, 1);
	/* the client rotates: an unknown kid fetches again, but not twice within the interval */
	free(served);
	served = set_of(b.jwk, NULL);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 1, NOW + 2, &ks, &why), TS_OK);
	ck_assert_int_eq(fetches, 2);
	ck_assert_str_eq(ks->keys[0].kid, json_string_value(json_object_get(b.jwk, "kid")));
	client_keys_release(ks);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 1, NOW + 31, &ks, &why), TS_OK);
	ck_assert_int_eq(fetches, 2);
	client_keys_release(ks);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 1, NOW + 32, &ks, &why), TS_OK);
	ck_assert_int_eq(fetches, 3);
	client_keys_release(ks);
	/* an hour after the last fetch, the set is fetched again anyway */
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 0, NOW + 3631, &ks, &why), TS_OK);
	ck_assert_int_eq(fetches, 3);
	client_keys_release(ks);
	ck_assert_int_eq(client_keys_get("dev", NULL, "https://d/j", 0, NOW + 3632, &ks, &why), TS_OK);
	ck_assert_int_eq(fetches, 4);
	client_keys_release(ks);
	/* another client's uri that is down: invalid_client, and not fetched again at once */
	free(served);
	served = NULL;
	ck_assert_int_eq(client_keys_get("d2", NULL, "https://e/j", 0, NOW, &ks, &why),
	                 TS_INVALID_CLIENT);
	ck_assert_ptr_null(ks);
	ck_assert_int_eq(client_keys_get("d2", NULL, "https://e/j", 0, NOW + 5, &ks, &why),
	                 TS_INVALID_CLIENT);
	ck_assert_int_eq(fetches, 5);
	/* a fetched set with a private key in it is not used */
	served = strdup("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}");
	ck_assert_int_eq(client_keys_get("d3", NULL, "https://f/j", 0, NOW, &ks, &why),
	                 TS_INVALID_CLIENT);
	free(served);
	served = NULL;
	client_keys_invalidate();
	client_jwks_fetcher = NULL;
	free_key(&a);
	free_key(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("client_assertion");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_each_alg_verifies);
	tcase_add_test(tc, test_rsa_without_alg);
	tcase_add_test(tc, test_es256_high_s_accepted);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_jwks_registration);
	tcase_add_test(tc, test_claims);
	tcase_add_test(tc, test_uri_cache);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
