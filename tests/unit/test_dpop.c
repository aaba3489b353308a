/* test_dpop.c - DPoP proofs (lib/dpop.c, RFC 9449 §4.3): every check, with proofs forged and
 * signed by OpenSSL directly (tests/unit/jwt_fixture.c), so each refusal is due to the part under
 * test. docs/security.md rows 96-101. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "dpop.h"
#include "jwt_fixture.h"

#define NOW 1800000000
#define URL "https://as.example/token"

static const unsigned char nonce_key[32] = "0123456789abcdef0123456789abcdef";

/* The public JWK of k as a proof carries it (no kid, alg or use), with extra members added (JSON text
 * without braces, or NULL); malloc'd text. */
static char *jwk_text(const jwt_key *k, const char *extra)
{
	json_t *j = jwt_key_public_jwk(k);
	char *t, *out;

	json_object_del(j, "kid");
	json_object_del(j, "alg");
	json_object_del(j, "use");
	t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!extra)
		return t;
	t[strlen(t) - 1] = '\0';
	ck_assert_int_ge(asprintf(&out, "%s,%s}", t, extra), 0);
	free(t);
	return out;
}

/* A proof signed by pk whose header is {typ, alg, jwk: k's} plus hextra, claims given. */
static char *proof_with(EVP_PKEY *pk, const char *typ, const char *alg, const char *jwk,
                        const char *hextra, const char *claims)
{
	char *h, *t;

	ck_assert_int_ge(asprintf(&h, "{\"typ\":\"%s\",\"alg\":\"%s\",\"jwk\":%s%s%s}", typ, alg,
	                          jwk, hextra ? "," : "", hextra ? hextra : ""), 0);
	t = forge(pk, h, claims);
	free(h);
	return t;
}

/* Claims for htm, htu, iat, with extra members (or NULL); malloc'd. */
static char *claims(const char *htm, const char *htu, long long iat, const char *extra)
{
	char *c;

	ck_assert_int_ge(asprintf(&c, "{\"jti\":\"j-1\",\"htm\":\"%s\",\"htu\":\"%s\",\"iat\":%lld%s%s}",
	                          htm, htu, iat, extra ? "," : "", extra ? extra : ""), 0);
	return c;
}

/* Checks an ES256 proof made from these parts against the standard expectation. */
static ts_err check_es(const char *typ, const char *alg, const char *jwk_extra, const char *hextra,
                       const char *c, const struct dpop_expect *e, struct dpop_proof *p)
{
	static const struct dpop_expect std = {"POST", URL, NULL, NOW, 60, NULL, 0};
	char *jwk = jwk_text(fx.es, jwk_extra), *t = proof_with(fx.es_pk, typ, alg, jwk, hextra, c);
	const char *why = NULL;
	struct dpop_proof local;
	ts_err rc = dpop_check(t, e ? e : &std, p ? p : &local, &why);

	if (rc == TS_OK)
		ck_assert_ptr_null(why);
	else
		ck_assert_ptr_nonnull(why);
	free(jwk);
	free(t);
	return rc;
}

static ts_err check_claims(const char *c)
{
	return check_es("dpop+jwt", "ES256", NULL, NULL, c, NULL, NULL);
}

START_TEST(test_good_proofs_and_thumbprints)
{
	char *c = claims("POST", URL, NOW, NULL), *jwk, *t;
	struct dpop_expect e = {"POST", URL, NULL, NOW, 60, NULL, 0};
	struct dpop_proof p;
	const char *why;

	/* the thumbprint is the one jwt_key_load names the key by (RFC 7638) */
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, NULL, &p), TS_OK);
	ck_assert_str_eq(p.jkt, jwt_key_kid(fx.es));
	ck_assert_int_eq(p.expires, NOW + 60 + DPOP_LEEWAY);
	jwk = jwk_text(fx.rs, NULL);
	t = proof_with(fx.rs_pk, "dpop+jwt", "RS256", jwk, NULL, c);
	ck_assert_int_eq(dpop_check(t, &e, &p, &why), TS_OK);
	ck_assert_str_eq(p.jkt, jwt_key_kid(fx.rs));
	free(t);
	free(jwk);
	free(c);
}
END_TEST

/* docs/security.md row 96: alg none, HMAC, a typ other than dpop+jwt, a private key in jwk. */
START_TEST(test_alg_typ_and_key_refused)
{
	char *c = claims("POST", URL, NOW, NULL), *jwk, *h, *t, *sig;
	struct dpop_expect e = {"POST", URL, NULL, NOW, 60, NULL, 0};
	unsigned char mac[32];
	unsigned len = 32;
	struct dpop_proof p;
	const char *why;

	ck_assert_int_eq(check_es("JWT", "ES256", NULL, NULL, c, NULL, NULL), TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("at+jwt", "ES256", NULL, NULL, c, NULL, NULL), TS_INVALID_DPOP_PROOF);
	/* a private key: the EC d (any value: the member alone refuses it) */
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"d\":\"AAAA\"", NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "RS256", NULL, NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, "\"jku\":\"https://evil/\"", c, NULL,
	                          NULL), TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, "\"crit\":[\"x\"]", c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);

	/* alg none: an empty signature */
	jwk = jwk_text(fx.es, NULL);
	ck_assert_int_ge(asprintf(&h, "{\"typ\":\"dpop+jwt\",\"alg\":\"none\",\"jwk\":%s}", jwk), 0);
	t = join(h, c, NULL, 0);
	ck_assert_int_eq(dpop_check(t, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	free(t);
	free(h);
	/* HS256 keyed with the public key's JWK text */
	ck_assert_int_ge(asprintf(&h, "{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":%s}", jwk), 0);
	t = join(h, c, NULL, 0);
	t[strlen(t) - 1] = '\0';
	HMAC(EVP_sha256(), jwk, (int)strlen(jwk), (unsigned char *)t, strlen(t), mac, &len);
	sig = b64url_str(mac, len);
	free(h);
	ck_assert_int_ge(asprintf(&h, "%s.%s", t, sig), 0);
	ck_assert_int_eq(dpop_check(h, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	free(sig);
	free(h);
	free(t);
	/* no jwk at all */
	t = forge(fx.es_pk, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}", c);
	ck_assert_int_eq(dpop_check(t, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	free(t);
	free(jwk);
	free(c);
}
END_TEST

/* docs/security.md row 98: a proof signed by another key than its jwk names. */
START_TEST(test_wrong_key_refused)
{
	char *c = claims("POST", URL, NOW, NULL), *jwk = jwk_text(fx.es, NULL), *t;
	struct dpop_expect e = {"POST", URL, NULL, NOW, 60, NULL, 0};
	EVP_PKEY *other = EVP_EC_gen("P-256");
	struct dpop_proof p;
	const char *why;

	t = proof_with(other, "dpop+jwt", "ES256", jwk, NULL, c);
	ck_assert_int_eq(dpop_check(t, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	flip(t, strlen(t) - 5);
	ck_assert_int_eq(dpop_check(t, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	free(t);
	EVP_PKEY_free(other);
	free(jwk);
	free(c);
}
END_TEST

/* docs/security.md row 97: htm and htu compared as RFC 9449 §4.3 says. */
START_TEST(test_htm_htu)
{
	const char *same[] = {
		URL, URL "?x=1", URL "#f", "HTTPS://AS.Example/token", "https://as.example:443/token",
	};
	const char *other[] = {
		"https://as.example/token/", "https://as.example/Token", "http://as.example/token",
		"https://as.example:8443/token", "https://other.example/token", "/token",
		"https://as.example/userinfo", "https://user@as.example/token", "",
	};
	size_t i;
	char *c;

	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		c = claims("POST", same[i], NOW, NULL);
		ck_assert_msg(check_claims(c) == TS_OK, "htu %s", same[i]);
		free(c);
	}
	for (i = 0; i < sizeof other / sizeof other[0]; i++) {
		c = claims("POST", other[i], NOW, NULL);
		ck_assert_msg(check_claims(c) == TS_INVALID_DPOP_PROOF, "htu %s", other[i]);
		free(c);
	}
	c = claims("GET", URL, NOW, NULL);
	ck_assert_int_eq(check_claims(c), TS_INVALID_DPOP_PROOF);
	free(c);
	c = claims("post", URL, NOW, NULL);
	ck_assert_int_eq(check_claims(c), TS_INVALID_DPOP_PROOF);
	free(c);
	ck_assert_int_eq(dpop_htu_equal("http://h:80/a", "http://H/a"), 1);
	ck_assert_int_eq(dpop_htu_equal("http://[::1]:8080/a", "http://[::1]:8080/a?q"), 1);
	ck_assert_int_eq(dpop_htu_equal("http://[::1]:8080/a", "http://[::1]/a"), 0);
	ck_assert_int_eq(dpop_htu_equal("http://h", "http://h/"), 1);
	ck_assert_int_eq(dpop_htu_equal("ftp://h/a", "ftp://h/a"), 0);
}
END_TEST

/* docs/security.md row 97: iat within [now - max_age, now + DPOP_LEEWAY]; jti required. */
START_TEST(test_iat_window_and_jti)
{
	long long ok[] = {NOW, NOW - 60, NOW + DPOP_LEEWAY}, bad[] = {NOW - 61, NOW + DPOP_LEEWAY + 1, 0};
	size_t i;
	char *c;

	for (i = 0; i < 3; i++) {
		c = claims("POST", URL, ok[i], NULL);
		ck_assert_int_eq(check_claims(c), TS_OK);
		free(c);
		c = claims("POST", URL, bad[i], NULL);
		ck_assert_int_eq(check_claims(c), TS_INVALID_DPOP_PROOF);
		free(c);
	}
	ck_assert_int_eq(check_claims("{\"htm\":\"POST\",\"htu\":\"" URL "\",\"iat\":1800000000}"),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_claims("{\"jti\":\"\",\"htm\":\"POST\",\"htu\":\"" URL
	                              "\",\"iat\":1800000000}"), TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_claims("{\"jti\":\"x\",\"htm\":\"POST\",\"htu\":\"" URL
	                              "\",\"iat\":\"1800000000\"}"), TS_INVALID_DPOP_PROOF);
}
END_TEST

/* docs/security.md row 98: the replay key is the key's and the jti's, whatever else differs. */
START_TEST(test_replay_key)
{
	char *a = claims("POST", URL, NOW, NULL), *b = claims("POST", URL, NOW - 5, NULL);
	char *d = claims("POST", URL, NOW, NULL);
	struct dpop_proof pa, pb, pd;

	d[9] = '2'; /* "j-1" -> "j-2" */
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, a, NULL, &pa), TS_OK);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, b, NULL, &pb), TS_OK);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, d, NULL, &pd), TS_OK);
	ck_assert_mem_eq(pa.replay, pb.replay, 32);
	ck_assert(memcmp(pa.replay, pd.replay, 32) != 0);
	free(a);
	free(b);
	free(d);
}
END_TEST

/* docs/security.md row 99: ath must be the presented access token's hash. */
START_TEST(test_ath)
{
	struct dpop_expect e = {"GET", "https://as.example/userinfo", "the-token", NOW, 60, NULL, 0};
	char ath[DPOP_JKT_LEN + 1], extra[80], *c;

	dpop_ath("the-token", ath);
	/* base64url(SHA-256("the-token")), computed elsewhere */
	snprintf(extra, sizeof extra, "\"ath\":\"%s\"", ath);
	c = claims("GET", "https://as.example/userinfo", NOW, extra);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_OK);
	e.access_token = "another-token";
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_INVALID_DPOP_PROOF);
	free(c);
	c = claims("GET", "https://as.example/userinfo", NOW, NULL);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_INVALID_DPOP_PROOF);
	free(c);
}
END_TEST

/* docs/security.md row 100: server nonces from a key and time, the last two slots accepted. */
START_TEST(test_nonce)
{
	struct dpop_expect e = {"POST", URL, NULL, NOW, 60, nonce_key, 300};
	char n[DPOP_NONCE_LEN + 1], old[DPOP_NONCE_LEN + 1], older[DPOP_NONCE_LEN + 1], extra[80];
	unsigned char other_key[32] = {1};
	char *c;

	dpop_nonce(nonce_key, NOW, 300, n);
	dpop_nonce(nonce_key, NOW - 300, 300, old);
	dpop_nonce(nonce_key, NOW - 600, 300, older);
	ck_assert_uint_eq(strlen(n), DPOP_NONCE_LEN);
	ck_assert_str_ne(n, old);
	ck_assert_int_eq(dpop_nonce_ok(nonce_key, n, NOW, 300), 1);
	ck_assert_int_eq(dpop_nonce_ok(nonce_key, old, NOW, 300), 1);
	ck_assert_int_eq(dpop_nonce_ok(nonce_key, older, NOW, 300), 0);
	ck_assert_int_eq(dpop_nonce_ok(other_key, n, NOW, 300), 0);
	ck_assert_int_eq(dpop_nonce_ok(nonce_key, "short", NOW, 300), 0);

	c = claims("POST", URL, NOW, NULL);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_USE_DPOP_NONCE);
	free(c);
	snprintf(extra, sizeof extra, "\"nonce\":\"%s\"", older);
	c = claims("POST", URL, NOW, extra);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_USE_DPOP_NONCE);
	free(c);
	snprintf(extra, sizeof extra, "\"nonce\":\"%s\"", n);
	c = claims("POST", URL, NOW, extra);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_OK);
	/* a bad proof is told so, not sent for a nonce */
	e.htm = "GET";
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, &e, NULL), TS_INVALID_DPOP_PROOF);
	free(c);
}
END_TEST

/* docs/security.md row 96: a key met before (kept parsed, by thumbprint) is judged as a new one
 * would be: its jwk's alg and use members, a private member, the header's alg. */
START_TEST(test_key_cache)
{
	char *c = claims("POST", URL, NOW, NULL);
	struct dpop_proof p;

	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, NULL, &p), TS_OK);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, NULL, &p), TS_OK);
	ck_assert_str_eq(p.jkt, jwt_key_kid(fx.es));
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"alg\":\"ES256\",\"use\":\"sig\"", NULL, c,
	                          NULL, NULL), TS_OK);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"alg\":\"RS256\"", NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"alg\":7", NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"use\":\"enc\"", NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", "\"d\":\"AAAA\"", NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(check_es("dpop+jwt", "RS256", NULL, NULL, c, NULL, NULL),
	                 TS_INVALID_DPOP_PROOF);
	dpop_cache_clear();
	ck_assert_int_eq(check_es("dpop+jwt", "ES256", NULL, NULL, c, NULL, &p), TS_OK);
	dpop_cache_clear();
	free(c);
}
END_TEST

START_TEST(test_malformed)
{
	const char *bad[] = { "", "a", "a.b", "a.b.c", "..", "e30.e30.", "e30.e30.e30" };
	struct dpop_expect e = {"POST", URL, NULL, NOW, 60, NULL, 0};
	struct dpop_proof p;
	const char *why;
	char *big = malloc(20000);
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(dpop_check(bad[i], &e, &p, &why), TS_INVALID_DPOP_PROOF);
	ck_assert_int_eq(dpop_check(NULL, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	ck_assert_int_eq(dpop_check(big, &e, &p, &why), TS_INVALID_DPOP_PROOF);
	free(big);
}
END_TEST

static Suite *dpop_suite(void)
{
	Suite *s = suite_create("dpop");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, jwt_fixture_setup, jwt_fixture_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_proofs_and_thumbprints);
	tcase_add_test(tc, test_alg_typ_and_key_refused);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_htm_htu);
	tcase_add_test(tc, test_iat_window_and_jti);
	tcase_add_test(tc, test_replay_key);
	tcase_add_test(tc, test_ath);
	tcase_add_test(tc, test_nonce);
	tcase_add_test(tc, test_key_cache);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return jwt_fixture_run(dpop_suite());
}
