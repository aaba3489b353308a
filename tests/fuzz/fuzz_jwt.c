/* fuzz_jwt.c - libFuzzer target for JWTs that clients send (lib/common/jwt.h jwt_verify and
 * jwt_header_kid, lib/common/token.h token_access_verify: bearer tokens at /userinfo and /introspect,
 * id_token_hint at /authorize, the broker's tokens) and for the JWKs a broker loads
 * (jwt_key_from_jwk), with two fixed test keys (ES256 and RS256) made for this file only.
 * The input is a compact JWS, or a JSON object (then also a JWK and a claims set), or lines of
 * claim values.
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - verification gives TS_OK with an object, or TS_INVALID_TOKEN and no claims; a token
 *   accepted has a header (decoded here again) whose kid names one of the keys and whose alg is
 *   that key's, with no jku, x5u, jwk, x5c or crit; changing one character of its signature or
 *   payload makes it refused; jwt_header_kid finds the same kid;
 * - token_access_verify accepts only tokens whose claims hold the issuer, exp after now, iat
 *   not after now + TOKEN_LEEWAY and the string claims sub, client_id, jti and scope;
 * - a JSON object signed as claims with either key verifies to an equal object, and not with
 *   another typ;
 * - a JWK accepted gives a public JWK with no private part that loads again to the same kid
 *   and alg;
 * - an access token signed with values from the input (sub, client_id, scope, username as
 *   lines, when valid UTF-8) verifies to claims holding exactly those values. */
#include <jansson.h>
#include "b64.h"
#include "form.h"
#include "jwt.h"
#include "token.h"
#include "fuzz.h"

#define ISSUER "https://issuer.example"
#define NOW 1700000000

static const char ec_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD7BVGvNTec5or5PV\n"
	"PHtUfOPJQ5WyvicdYCxSdfBSnzWhRANCAASZObWTJKQ7GjlOQj2Up9L1v3G/+k11\n"
	"ZowsTb8P7bunPaptjQjeQwXUpW/Kr+zds8Tx6/mXyezqhS6uF2uLadxK\n"
	"-----END PRIVATE KEY-----\n";

static const char rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCG2yIwJ1A1I+fC\n"
	"6C6e6+Yv9lhQTxSoOL1NuMNEkAnTJNAj6nFqRmN0+V1lQXY92jyINOQ8SXpaHLxz\n"
	"yuXpqb3QZ7TYa7Id/pJ8ljJdnbvexhsW8DimkrYlI7na8Kdod5PzJMlQWOiIiLvj\n"
	"rHmZHmoMXhI4sZLLdoz5stHSum1oC8rnhhuYtbOn69oJBRMyhnTZTjkYoe/nCjtK\n"
	"bH+KYWzMbDQQmBXJt3zomwWDS/8/lVGGxWCPhrPUgtusyVMrOJS1CC+0WK1Usm2K\n"
	"p3hNb0fpIiCrs3phv22yMcohrpfmBl7TrcB43AdgHfT0UqBZTQvafY/Nx060M90s\n"
	"uZqV9cg5AgMBAAECggEAJZyfm+uTEMcrYC6Oti9YG59rATcVLVfp4G/8Mja0LsoR\n"
	"LTs5l6j7G0hjdpa76kNgZ6LM102tDM3/95Gq7zEy6hnKlCPxYTE73PitInQYTmlV\n"
	"a9/jBP5dQ92DfB9rqZTUVFe5uCmb7VypfrX/kier7zgbf+ly5kFxz0DDCbGKSx67\n"
	"OzcotciXJ43tHsTfaBlBxGxP0VC9646Wwzkvu1sqBFRsx2cpRSLh95r5qW9oETtB\n"
	"r+4zQ5s66bP8ZDDH+4OjuxYE5bidoaopnY7pQsqW0sH88e97d7wxOAtYueebCqK5\n"
	"kxJgJhoWmgt8w5YVOFZOd4Lm7tCxOmwQoWEZvlzbcwKBgQC6Jzn8lM5YGocBlpjS\n"
	"R5gzN2EmyJwoIB7LIrf9yw7AMMjoi6j62XaSsvtMGzU9ZOOciIZd7PJNXJSBCda1\n"
	"QjSvUTBpe75BXmw8KolZPsoyL/vRzAz5TkEuSIe/v37hTAtyrFa480uncRKdBb++\n"
	"nFQcDLhMhJD6GwRCgt7Hb1AYvwKBgQC5dJlZQg5ZkYnWsYu+F60RzRcJJOmpNnk7\n"
	"ifnAMoiq1hrRDq+qLs6fEB/7rMyOUaqkcWh8JIl7kZj9MjjKAm0xc2um4WBptARV\n"
	"wHC25TDLnXo0koQYD0Z23w7AITXJEkbisFQl7ZRmAqME3TdPMxEOlyozkZkYyUNH\n"
	"+49OJ66lBwKBgQCrKVQ89QoBomqOQE1F08STGxF+GqjSkC4gM00f02w9tN2WTIvU\n"
	"Es3etyku4jmCuNg73qBFjo+AKGb3evdrdHOC29D6vGfELTCx5Z6ia4R4vvv4/HjV\n"
	"ZmmyR8hhu47LUyOXjfSzXCkszWAC9v1GIvGHVP7EhIPVI7A4A6MZlzT7ewKBgDqH\n"
	"/k4ZdwX11RcZeg1I06qmm/qa19Q8CQ8tgNGUIWYppNUOWYrQsw2ovS9lXjoctEqq\n"
	"MFvd/DYvwaVH0HyRP303/GXzA8bYtfWKgwh2VWwuC3/ELkSZrZee1rz0vlDzn8Oz\n"
	"+xrtXMTFWEYUu3wXle6Q7xTPgw47lyyEzLnR9GDJAoGALqWUb5y5cNkpofYDVYr7\n"
	"dWHUSLll6nil6wdtFJmPzCfysPrDfMEVw58Cnxdfl8n93E1atyQ/f2HG2sZOPWt/\n"
	"PIAnXUFPNoq7PxH1yPpPmvJcEUVZcSg4UF5h8+mn+Cf1GP7e7HeefYYCpfylee86\n"
	"RS5PXfQsWqg3nE99C91/oo0=\n"
	"-----END PRIVATE KEY-----\n";

static const jwt_key *keys[2];

static void load_keys(void)
{
	jwt_key *k;

	if (keys[0])
		return;
	if (jwt_key_load("ES256", ec_pem, &k) != TS_OK)
		fuzz_fail("the ES256 test key does not load", "", NULL);
	keys[0] = k;
	if (jwt_key_load("RS256", rsa_pem, &k) != TS_OK)
		fuzz_fail("the RS256 test key does not load", "", NULL);
	keys[1] = k;
}

/* The decoded header of a compact JWS, or NULL. */
static json_t *header_of(const char *token)
{
	size_t n = strcspn(token, ".");
	unsigned char *buf = malloc(n + 4);
	long dn;
	json_t *h = NULL;

	if (!buf)
		abort();
	dn = b64url_decode(token, n, buf);
	if (dn >= 0)
		h = json_loadb((const char *)buf, (size_t)dn, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	return h;
}

/* token with the character at i replaced by another base64url character; malloc'd. */
static char *changed(const char *token, size_t i)
{
	char *t = strdup(token);

	if (!t)
		abort();
	t[i] = t[i] == 'A' ? 'B' : 'A';
	return t;
}

static void check_accepted(const char *token, const char *typ, const char *in)
{
	static const char *const banned[] = {"jku", "x5u", "jwk", "x5c", "crit"};
	json_t *h = header_of(token), *c = NULL;
	const char *kid, *alg, *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');
	char hkid[300], *t;
	size_t i;
	const jwt_key *key = NULL;

	if (!h || !json_is_object(h))
		fuzz_fail("an accepted token without a JSON header", in, NULL);
	kid = json_string_value(json_object_get(h, "kid"));
	alg = json_string_value(json_object_get(h, "alg"));
	for (i = 0; kid && i < 2; i++)
		if (strcmp(jwt_key_kid(keys[i]), kid) == 0)
			key = keys[i];
	if (!key || !alg || strcmp(alg, jwt_key_alg(key)))
		fuzz_fail("an accepted token whose kid or alg is not a key's", in, alg);
	for (i = 0; i < sizeof banned / sizeof banned[0]; i++)
		if (json_object_get(h, banned[i]))
			fuzz_fail("an accepted token with a banned header", in, banned[i]);
	if (jwt_header_kid(token, hkid, sizeof hkid) != TS_OK || strcmp(hkid, kid))
		fuzz_fail("jwt_header_kid does not find the kid of an accepted token", in, kid);
	/* one character changed in the signature, then in the payload */
	if (dot2[1]) {
		t = changed(token, (size_t)(dot2 + 1 - token));
		if (jwt_verify(keys, 2, t, typ, &c) == TS_OK)
			fuzz_fail("a token with a changed signature is accepted", in, t);
		free(t);
	}
	if (dot2 > dot1 + 1) {
		t = changed(token, (size_t)(dot1 + 1 - token));
		if (jwt_verify(keys, 2, t, typ, &c) == TS_OK)
			fuzz_fail("a token with a changed payload is accepted", in, t);
		free(t);
	}
	json_decref(c);
	json_decref(h);
}

static void check_claims(const json_t *c, const char *in)
{
	const json_t *iat = json_object_get(c, "iat"), *exp = json_object_get(c, "exp");
	const char *iss = json_string_value(json_object_get(c, "iss"));

	if (!iss || strcmp(iss, ISSUER) || !json_is_integer(exp) || !json_is_integer(iat) ||
	    json_integer_value(exp) <= NOW || json_integer_value(iat) > NOW + TOKEN_LEEWAY ||
	    !json_is_string(json_object_get(c, "sub")) ||
	    !json_is_string(json_object_get(c, "client_id")) ||
	    !json_is_string(json_object_get(c, "jti")) ||
	    !json_is_string(json_object_get(c, "scope")))
		fuzz_fail("token_access_verify accepts claims it should not", in, iss);
}

static void check_token(const char *token, const char *in)
{
	static const char *const typs[] = {NULL, "JWT", "at+jwt"};
	json_t *c;
	char kid[300];
	size_t i;
	ts_err e;

	for (i = 0; i < 3; i++) {
		e = jwt_verify(keys, 2, token, typs[i], &c);
		if (e == TS_OK) {
			if (!json_is_object(c))
				fuzz_fail("jwt_verify accepts without an object", in, NULL);
			check_accepted(token, typs[i], in);
		} else if ((e != TS_INVALID_TOKEN && e != TS_SERVER_ERROR) || c) {
			fuzz_fail("jwt_verify fails with another error, or with claims", in,
			          err_name(e));
		}
		json_decref(c);
	}
	e = jwt_header_kid(token, kid, sizeof kid);
	if (e == TS_OK && (!kid[0] || strlen(kid) >= sizeof kid))
		fuzz_fail("jwt_header_kid gives an empty kid", in, NULL);
	e = token_access_verify(keys, 2, ISSUER, token, NOW, &c);
	if (e == TS_OK)
		check_claims(c, in);
	else if (c)
		fuzz_fail("token_access_verify fails with claims", in, err_name(e));
	json_decref(c);
	token_cache_clear();
}

static void check_jwk(const json_t *jwk, const char *in)
{
	static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
	jwt_key *k = NULL, *k2 = NULL;
	json_t *pub;
	size_t i;

	if (jwt_key_from_jwk(jwk, &k) != TS_OK)
		return;
	if (!(pub = jwt_key_public_jwk(k)))
		goto out;
	for (i = 0; i < sizeof priv / sizeof priv[0]; i++)
		if (json_object_get(pub, priv[i]))
			fuzz_fail("a public JWK with a private part", in, priv[i]);
	if (jwt_key_from_jwk(pub, &k2) != TS_OK || strcmp(jwt_key_kid(k), jwt_key_kid(k2)) ||
	    strcmp(jwt_key_alg(k), jwt_key_alg(k2)))
		fuzz_fail("a key's public JWK does not load to the same key", in, jwt_key_kid(k));
	json_decref(pub);
out:
	jwt_key_free(k);
	jwt_key_free(k2);
}

static void check_sign_claims(const json_t *claims, const char *in)
{
	json_t *c;
	char *t;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (jwt_sign(keys[i], "JWT", claims, &t) != TS_OK)
			continue; /* out of memory, or too large */
		if (jwt_verify(keys, 2, t, "JWT", &c) != TS_OK || !json_equal(c, (json_t *)claims))
			fuzz_fail("signed claims do not verify to themselves", in, t);
		json_decref(c);
		if (jwt_verify(keys, 2, t, "at+jwt", &c) == TS_OK)
			fuzz_fail("a token verifies with another typ", in, t);
		json_decref(c);
		free(t);
	}
}

static int utf8(const char *s)
{
	return form_utf8_valid((const unsigned char *)s, strlen(s));
}

static int claim_is(const json_t *c, const char *name, const char *want)
{
	const char *v = json_string_value(json_object_get(c, name));

	return want ? v && strcmp(v, want) == 0 : v == NULL;
}

static void check_sign_access(char *text, const char *in)
{
	struct access_token t = {0};
	char *part[4], *jwt;
	json_t *c;

	fuzz_split(text, part, 4);
	if (!utf8(part[0]) || !utf8(part[1]) || !utf8(part[2]) || !utf8(part[3]))
		return;
	t.iss = ISSUER;
	t.aud = "broker";
	t.sub = part[0];
	t.client_id = part[1];
	t.scope = part[2];
	t.username = *part[3] ? part[3] : NULL;
	t.iat = NOW;
	t.exp = NOW + 60;
	if (token_access_sign(keys[0], &t, MQTT_CLAIM_NONE, &jwt) != TS_OK)
		return;
	if (token_access_verify(keys, 2, ISSUER, jwt, NOW, &c) != TS_OK)
		fuzz_fail("a signed access token does not verify", in, jwt);
	if (!claim_is(c, "sub", t.sub) || !claim_is(c, "client_id", t.client_id) ||
	    !claim_is(c, "scope", t.scope) || !claim_is(c, "username", t.username) ||
	    !claim_is(c, "jti", t.jti))
		fuzz_fail("a signed access token holds other values", in, jwt);
	json_decref(c);
	free(jwt);
	token_cache_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *copy;
	json_t *j;

	load_keys();
	check_token(in, in);
	j = json_loads(in, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(j)) {
		check_jwk(j, in);
		check_sign_claims(j, in);
	} else if (!strchr(in, '.')) {
		copy = fuzz_text(data, size);
		check_sign_access(copy, in);
		free(copy);
	}
	json_decref(j);
	free(in);
	return 0;
}
