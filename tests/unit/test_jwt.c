/* test_jwt.c - the tokens a verifier must refuse (lib/common/jwt.c jwt_verify): alg none, HS256
 * with the public key, an alg other than the key's, hostile kids and key-selecting headers, typ,
 * malformed and overlong tokens, ES256 high-s copies; and jwt_header_kid. Signing is in
 * test_jwt_sign.c, keys and JWKs in test_jwt_key.c, what they share in jwt_fixture.c.
 *
 * Tokens with hostile headers are forged with OpenSSL directly (and validly signed), so each
 * rejection is due to the header under test and not to a bad signature; a control token built the
 * same way with a clean header must verify. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"
#include "jwt_fixture.h"
#include "p256.h"

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

	tcase_add_checked_fixture(tc, jwt_fixture_setup, jwt_fixture_teardown);
	tcase_set_timeout(tc, 60);
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
	tcase_add_test(tc, test_header_kid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return jwt_fixture_run(jwt_suite());
}
