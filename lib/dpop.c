/* dpop.c - DPoP proofs (RFC 9449 §4.2, §4.3): parsing, the checks in the RFC's order of
 * concerns (form, key, signature, claims, nonce), thumbprints, ath and server nonces. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
#include "dpop.h"
#include "jwt.h"
#include "secret.h"

#define DPOP_MAX_PROOF 8192  /* a proof with an 8192-bit RSA key fits */
#define DPOP_MAX_URL 2048
#define KEY_CACHE 1024       /* parsed proof keys kept, direct-mapped by thumbprint */

/* Members of a JWK that only a private (or symmetric) key has. */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
/* DPOP_ALGS, one by one: never none, never an HMAC. */
static const char *const algs[] = { "ES256", "RS256" };
/* Headers that would fetch or choose a key elsewhere, or change how the proof is read. */
static const char *const banned_headers[] = { "jku", "x5u", "x5c", "crit" };

/* The JSON object of the base64url segment seg (n characters); NULL when it is not one. */
static json_t *segment(const char *seg, size_t n)
{
	unsigned char *buf = malloc(n / 4 * 3 + 4);
	json_t *obj = NULL;
	long len;

	if (!buf)
		return NULL;
	len = b64url_decode(seg, n, buf);
	if (len > 0)
		obj = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

static const char *str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* The RFC 7638 thumbprint of a public JWK already accepted by jwt_key_from_jwk (EC P-256 with
 * full-length x and y, or RSA): its required members in lexical order, no whitespace. */
static ts_err thumbprint(const json_t *jwk, char out[DPOP_JKT_LEN + 1])
{
	const char *kty = str(jwk, "kty");
	unsigned char digest[32];
	char *text = NULL;
	int n;

	if (!kty || (strcmp(kty, "EC") == 0 ? !str(jwk, "crv") || !str(jwk, "x") || !str(jwk, "y")
	                                     : !str(jwk, "e") || !str(jwk, "n")))
		return TS_INVALID_DPOP_PROOF;
	if (strcmp(kty, "EC") == 0)
		n = asprintf(&text, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		             str(jwk, "crv"), str(jwk, "x"), str(jwk, "y"));
	else
		n = asprintf(&text, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", str(jwk, "e"),
		             str(jwk, "n"));
	if (n < 0)
		return TS_SERVER_ERROR;
	secret_sha256(text, (size_t)n, digest);
	free(text);
	b64url_encode(digest, sizeof digest, out);
	return TS_OK;
}

/* Parsed proof keys, by thumbprint: OpenSSL 3 takes longer to build a key from a JWK than to
 * verify a signature with it, and a client signs its proofs with one key. A key is shared by
 * reference count, so that one evicted while another thread verifies with it lives on until
 * that thread is done. Only keys that jwt_key_from_jwk accepted are kept, under the thumbprint
 * of exactly the members it read: a JWK that hits the cache is the same public key. */
struct cached_key {
	atomic_int refs;
	jwt_key *key;
	char jkt[DPOP_JKT_LEN + 1];
};
static struct cached_key *key_cache[KEY_CACHE];
static pthread_mutex_t key_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void key_release(struct cached_key *k)
{
	if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
		jwt_key_free(k->key);
		free(k);
	}
}

static size_t key_slot(const char *jkt)
{
	unsigned char raw[4];

	/* the thumbprint is a hash already: its first bytes spread the slots */
	b64url_decode(jkt, 4, raw);
	return ((size_t)raw[0] << 16 | (size_t)raw[1] << 8 | raw[2]) % KEY_CACHE;
}

static struct cached_key *key_lookup(const char *jkt)
{
	struct cached_key *k;

	pthread_mutex_lock(&key_cache_lock);
	k = key_cache[key_slot(jkt)];
	if (k && strcmp(k->jkt, jkt) == 0)
		atomic_fetch_add(&k->refs, 1);
	else
		k = NULL;
	pthread_mutex_unlock(&key_cache_lock);
	return k;
}

/* Keeps key (taken) under jkt; returns the reference for the caller (NULL: out of memory, key
 * freed). */
static struct cached_key *key_keep(const char *jkt, jwt_key *key)
{
	struct cached_key *k = malloc(sizeof *k), *old;
	size_t slot = key_slot(jkt);

	if (!k) {
		jwt_key_free(key);
		return NULL;
	}
	atomic_init(&k->refs, 2); /* the cache's and the caller's */
	k->key = key;
	memcpy(k->jkt, jkt, sizeof k->jkt);
	pthread_mutex_lock(&key_cache_lock);
	old = key_cache[slot];
	key_cache[slot] = k;
	pthread_mutex_unlock(&key_cache_lock);
	key_release(old);
	return k;
}

void dpop_cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&key_cache_lock);
	for (i = 0; i < KEY_CACHE; i++) {
		key_release(key_cache[i]);
		key_cache[i] = NULL;
	}
	pthread_mutex_unlock(&key_cache_lock);
}

/* The key of the proof's jwk header, checked to be public, and its thumbprint into jkt; NULL
 * with *why otherwise. */
static ts_err header_key(const json_t *header, struct cached_key **key, char jkt[DPOP_JKT_LEN + 1],
                         const char **why)
{
	const json_t *jwk = json_object_get(header, "jwk");
	const char *member;
	jwt_key *parsed = NULL;
	json_t *copy;
	size_t i;
	ts_err rc;

	*key = NULL;
	*why = "the DPoP proof's jwk is not a usable public key";
	if (!json_is_object(jwk)) {
		*why = "the DPoP proof has no jwk header";
		return TS_INVALID_DPOP_PROOF;
	}
	for (i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
		if (json_object_get(jwk, private_members[i])) {
			*why = "the DPoP proof's jwk holds a private key";
			return TS_INVALID_DPOP_PROOF;
		}
	/* what jwt_key_from_jwk checks besides the key itself, checked on a cache hit too */
	if (((member = str(jwk, "alg")) || json_object_get(jwk, "alg")) &&
	    (!member || strcmp(member, str(header, "alg")) != 0))
		return TS_INVALID_DPOP_PROOF;
	if (((member = str(jwk, "use")) || json_object_get(jwk, "use")) &&
	    (!member || strcmp(member, "sig") != 0))
		return TS_INVALID_DPOP_PROOF;
	rc = thumbprint(jwk, jkt);
	if (rc != TS_OK)
		return rc;
	*key = key_lookup(jkt);
	if (*key)
		return TS_OK;
	/* jwt_key_from_jwk wants a kid, which a proof's key need not have: it is named by its
	 * thumbprint here */
	copy = json_deep_copy(jwk);
	if (!copy || json_object_set_new(copy, "kid", json_string("dpop"))) {
		json_decref(copy);
		return TS_SERVER_ERROR;
	}
	rc = jwt_key_from_jwk(copy, &parsed);
	json_decref(copy);
	if (rc == TS_INVALID_REQUEST)
		return TS_INVALID_DPOP_PROOF;
	if (rc != TS_OK)
		return rc;
	*key = key_keep(jkt, parsed);
	return *key ? TS_OK : TS_SERVER_ERROR;
}

/* The header's checks (before any signature): typ, alg, banned members. */
static int header_ok(const json_t *header, const char **why)
{
	const char *typ = str(header, "typ"), *alg = str(header, "alg");
	size_t i;

	if (!typ || strcasecmp(typ, "dpop+jwt") != 0) {
		*why = "the DPoP proof's typ must be dpop+jwt";
		return 0;
	}
	for (i = 0; alg && i < sizeof algs / sizeof algs[0]; i++)
		if (strcmp(alg, algs[i]) == 0)
			break;
	if (!alg || i == sizeof algs / sizeof algs[0]) {
		*why = "the DPoP proof's alg is not one of " DPOP_ALGS;
		return 0;
	}
	for (i = 0; i < sizeof banned_headers / sizeof banned_headers[0]; i++)
		if (json_object_get(header, banned_headers[i])) {
			*why = "the DPoP proof has a header that is not allowed (jku, x5u, x5c, crit)";
			return 0;
		}
	return 1;
}

/* The claims' checks after the signature. */
static ts_err claims_ok(const json_t *claims, const struct dpop_expect *e, const char **why)
{
	const char *jti = str(claims, "jti"), *htm = str(claims, "htm"), *htu = str(claims, "htu");
	const char *ath = str(claims, "ath"), *nonce = str(claims, "nonce");
	const json_t *iat = json_object_get(claims, "iat");
	char want[DPOP_JKT_LEN + 1];
	json_int_t t;

	if (!jti || !*jti || strlen(jti) > DPOP_MAX_JTI) {
		*why = "the DPoP proof needs a jti";
		return TS_INVALID_DPOP_PROOF;
	}
	if (!htm || strcmp(htm, e->htm) != 0) {
		*why = "the DPoP proof is for another HTTP method (htm)";
		return TS_INVALID_DPOP_PROOF;
	}
	if (!htu || !dpop_htu_equal(htu, e->htu)) {
		*why = "the DPoP proof is for another URL (htu)";
		return TS_INVALID_DPOP_PROOF;
	}
	if (!json_is_integer(iat)) {
		*why = "the DPoP proof needs an integer iat";
		return TS_INVALID_DPOP_PROOF;
	}
	t = json_integer_value(iat);
	if (t < e->now - e->max_age || t > e->now + DPOP_LEEWAY) {
		*why = "the DPoP proof's iat is too old or in the future";
		return TS_INVALID_DPOP_PROOF;
	}
	if (e->access_token) {
		dpop_ath(e->access_token, want);
		if (!ath || strlen(ath) != DPOP_JKT_LEN || !secret_equal(ath, want, DPOP_JKT_LEN)) {
			*why = ath ? "the DPoP proof's ath is not the hash of this access token"
			           : "the DPoP proof needs ath (the access token's hash)";
			return TS_INVALID_DPOP_PROOF;
		}
	}
	if (e->nonce_key && (!nonce || !dpop_nonce_ok(e->nonce_key, nonce, e->now, e->nonce_period))) {
		*why = "use the DPoP-Nonce this answer carries";
		return TS_USE_DPOP_NONCE;
	}
	return TS_OK;
}

ts_err dpop_check(const char *proof, const struct dpop_expect *e, struct dpop_proof *out,
                  const char **why)
{
	const char *dot1, *dot2, *jti;
	json_t *header = NULL, *claims = NULL;
	struct cached_key *key = NULL;
	unsigned char *buf = NULL;
	size_t len, jn;
	ts_err rc = TS_INVALID_DPOP_PROOF;

	memset(out, 0, sizeof *out);
	*why = "the DPoP proof is not a compact JWS";
	len = proof ? strnlen(proof, DPOP_MAX_PROOF + 1) : 0;
	if (!len || len > DPOP_MAX_PROOF)
		return TS_INVALID_DPOP_PROOF;
	dot1 = memchr(proof, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - proof)) : NULL;
	if (!dot2)
		return TS_INVALID_DPOP_PROOF;
	header = segment(proof, (size_t)(dot1 - proof));
	claims = segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!header || !claims || !header_ok(header, why))
		goto out;
	rc = header_key(header, &key, out->jkt, why);
	if (rc != TS_OK)
		goto out;
	rc = TS_INVALID_DPOP_PROOF;
	/* the key's type decides the algorithm; the header may only agree with it. Other signers
	 * than Tessera may make high-s ES256 signatures (RFC 7518 does not forbid them): the replay
	 * record is keyed by the jti, not by the proof's text, so a second spelling gains nothing */
	if (strcmp(str(header, "alg"), jwt_key_alg(key->key)) != 0 ||
	    jwt_verify_signature(key->key, proof, JWT_ALLOW_HIGH_S) != TS_OK) {
		*why = "the DPoP proof's signature does not verify with its jwk";
		goto out;
	}
	rc = claims_ok(claims, e, why);
	if (rc != TS_OK)
		goto out;
	jti = str(claims, "jti");
	jn = strlen(jti);
	buf = malloc(DPOP_JKT_LEN + 1 + jn);
	if (!buf) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	memcpy(buf, out->jkt, DPOP_JKT_LEN);
	buf[DPOP_JKT_LEN] = '\n';
	memcpy(buf + DPOP_JKT_LEN + 1, jti, jn);
	secret_sha256(buf, DPOP_JKT_LEN + 1 + jn, out->replay);
	out->expires = (int64_t)json_integer_value(json_object_get(claims, "iat")) + e->max_age +
	               DPOP_LEEWAY;
	*why = NULL;
out:
	if (rc != TS_OK)
		memset(out, 0, sizeof *out);
	free(buf);
	key_release(key);
	json_decref(header);
	json_decref(claims);
	return rc;
}

void dpop_ath(const char *token, char out[DPOP_JKT_LEN + 1])
{
	unsigned char digest[32];

	secret_sha256(token, strlen(token), digest);
	b64url_encode(digest, sizeof digest, out);
}

/* The normal form of an absolute http(s) URL for comparison, into out (n bytes): scheme and host
 * lowercased, the default port dropped, the path ("/" when empty) as it is, no query or
 * fragment. -1 when it is not one. */
static int htu_normal(const char *u, char *out, size_t n)
{
	const char *p, *auth, *end, *port, *path;
	size_t sl, hl, pl, i, o = 0;
	int https;

	if (strncasecmp(u, "https://", 8) == 0)
		https = 1, sl = 5;
	else if (strncasecmp(u, "http://", 7) == 0)
		https = 0, sl = 4;
	else
		return -1;
	auth = u + sl + 3;
	end = auth + strcspn(auth, "/?#");
	path = end;
	if (end == auth || memchr(auth, '@', (size_t)(end - auth)))
		return -1;
	/* the port: after the last ':' that is not inside an IPv6 literal's brackets */
	port = NULL;
	for (p = end; p > auth; p--)
		if (p[-1] == ']')
			break;
		else if (p[-1] == ':') {
			port = p - 1;
			break;
		}
	hl = (size_t)((port ? port : end) - auth);
	if (port && (end - port == 1 || (https && end - port == 4 && memcmp(port, ":443", 4) == 0) ||
	             (!https && end - port == 3 && memcmp(port, ":80", 3) == 0)))
		port = NULL;
	pl = strcspn(path, "?#");
	if (sl + 3 + hl + (port ? (size_t)(end - port) : 0) + (pl ? pl : 1) + 1 > n || !hl)
		return -1;
	memcpy(out, https ? "https://" : "http://", sl + 3);
	o = sl + 3;
	for (i = 0; i < hl; i++)
		out[o++] = (char)((auth[i] >= 'A' && auth[i] <= 'Z') ? auth[i] + 32 : auth[i]);
	if (port) {
		memcpy(out + o, port, (size_t)(end - port));
		o += (size_t)(end - port);
	}
	if (pl) {
		memcpy(out + o, path, pl);
		o += pl;
	} else {
		out[o++] = '/';
	}
	out[o] = '\0';
	return 0;
}

int dpop_htu_equal(const char *a, const char *b)
{
	char na[DPOP_MAX_URL], nb[DPOP_MAX_URL];

	if (!a || !b || htu_normal(a, na, sizeof na) || htu_normal(b, nb, sizeof nb))
		return 0;
	return strcmp(na, nb) == 0;
}

/* The nonce of slot into out. */
static void nonce_of(const unsigned char key[32], uint64_t slot, char out[DPOP_NONCE_LEN + 1])
{
	unsigned char msg[8 + 11], raw[8 + 32];
	unsigned len = 32;
	int i;

	for (i = 0; i < 8; i++)
		msg[i] = raw[i] = (unsigned char)(slot >> (56 - 8 * i));
	memcpy(msg + 8, "dpop-nonce", 11);
	HMAC(EVP_sha256(), key, 32, msg, sizeof msg, raw + 8, &len);
	b64url_encode(raw, 8 + 16, out);
}

void dpop_nonce(const unsigned char key[32], int64_t now, int period,
                char out[DPOP_NONCE_LEN + 1])
{
	nonce_of(key, (uint64_t)(now / (period > 0 ? period : 1)), out);
}

int dpop_nonce_ok(const unsigned char key[32], const char *nonce, int64_t now, int period)
{
	char want[DPOP_NONCE_LEN + 1];
	uint64_t slot = (uint64_t)(now / (period > 0 ? period : 1));
	int ok = 0, k;

	if (!nonce || strlen(nonce) != DPOP_NONCE_LEN)
		return 0;
	for (k = 0; k < 2; k++) {
		nonce_of(key, slot - (uint64_t)k, want);
		ok |= secret_equal(want, nonce, DPOP_NONCE_LEN);
	}
	return ok;
}
