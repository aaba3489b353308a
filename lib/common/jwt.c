/* jwt.c - compact JWS (RFC 7515) with ES256 and RS256 through OpenSSL 3, keys parsed once.
 *
 * A jwt_key holds a parsed EVP_PKEY and never changes after it is made, so many threads may sign
 * and verify with it at once: signing keeps one EVP_PKEY_CTX per thread, verifying makes a
 * short-lived one (the key is never re-parsed); both hash with secret_sha256. ES256 signatures
 * go on the wire as the raw 64-byte R||S of RFC 7518 §3.4 and are converted from and to the DER
 * that OpenSSL speaks here, without allocating. The keys themselves (generated, loaded, from and
 * to JWKs, thumbprints) are jwt_key.c's; what both files share is in jwt_priv.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "b64.h"
#include "jwt_priv.h"
#include "p256.h"
#include "secret.h"

#define JWT_MAX_TOKEN 16384     /* longest token jwt_verify looks at */
#define JWT_MAX_TYP 64          /* longest typ jwt_sign writes */
#define JWT_PAYLOAD_STACK 2048  /* claims up to this size are serialised without malloc */

/* Headers that would let a token choose its own key or change how it is checked. */
static const char *const jwt_banned_headers[] = { "jku", "x5u", "jwk", "x5c", "crit" };

/* Converts OpenSSL's DER ECDSA-Sig-Value for P-256 into the 64-byte R||S of RFC 7518 §3.4. */
static int jwt_es256_from_der(const unsigned char *der, size_t n, unsigned char raw[64])
{
	size_t pos = 2, len;
	int i;

	if (n < 2 || der[0] != 0x30 || der[1] >= 0x80 || (size_t)der[1] + 2 != n)
		return -1;
	for (i = 0; i < 2; i++) {
		if (pos + 2 > n || der[pos] != 0x02)
			return -1;
		len = der[pos + 1];
		pos += 2;
		if (len == 0 || len > 33 || pos + len > n)
			return -1;
		while (len > 0 && der[pos] == 0) {
			pos++;
			len--;
		}
		if (len > 32)
			return -1;
		memset(raw + 32 * i, 0, 32 - len);
		memcpy(raw + 32 * i + 32 - len, der + pos, len);
		pos += len;
	}
	return pos == n ? 0 : -1;
}

/* Writes one DER INTEGER holding the 32-byte big-endian unsigned v; returns its length. */
static size_t jwt_der_int(const unsigned char *v, unsigned char *out)
{
	size_t skip = 0, len, o = 0;

	while (skip < 31 && v[skip] == 0)
		skip++;
	len = 32 - skip;
	out[o++] = 0x02;
	out[o++] = (unsigned char)(len + (v[skip] & 0x80 ? 1 : 0));
	if (v[skip] & 0x80)
		out[o++] = 0;
	memcpy(out + o, v + skip, len);
	return o + len;
}

/* Converts a 64-byte R||S into DER (at most 72 bytes); returns the DER length. */
static size_t jwt_es256_to_der(const unsigned char raw[64], unsigned char der[72])
{
	size_t n = 2;

	n += jwt_der_int(raw, der + n);
	n += jwt_der_int(raw + 32, der + n);
	der[0] = 0x30;
	der[1] = (unsigned char)(n - 2);
	return n;
}

/* A fresh context for one sign or verify operation with k, with the JWS padding and digest. */
static EVP_PKEY_CTX *jwt_pkey_ctx(const struct jwt_key *k, int sign)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);

	if (!ctx)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1)
		goto fail;
	if (k->alg == JWT_RS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1))
		goto fail;
	/* PS256 (RFC 7518 §3.5): MGF1 with SHA-256 and a salt as long as the digest when signing;
	 * a verifier takes any salt length (the salt does not make a forgery easier) */
	if (k->alg == JWT_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, sign ? RSA_PSS_SALTLEN_DIGEST :
	                                                  RSA_PSS_SALTLEN_AUTO) != 1))
		goto fail;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* Each thread keeps the signing context of the last key it signed with (creating one costs about
 * a tenth of a signature); the context holds its own reference to the key. */
static pthread_key_t jwt_tls_key;
static pthread_once_t jwt_tls_once = PTHREAD_ONCE_INIT;
static __thread struct jwt_sign_ctx {
	uint64_t serial;
	EVP_PKEY_CTX *ctx;
} jwt_tls;

static void jwt_tls_free(void *p)
{
	struct jwt_sign_ctx *t = p;

	EVP_PKEY_CTX_free(t->ctx);
	t->ctx = NULL;
	t->serial = 0;
}

static void jwt_tls_init(void)
{
	pthread_key_create(&jwt_tls_key, jwt_tls_free);
}

static EVP_PKEY_CTX *jwt_sign_ctx(const struct jwt_key *k)
{
	if (jwt_tls.ctx && jwt_tls.serial == k->serial)
		return jwt_tls.ctx;
	pthread_once(&jwt_tls_once, jwt_tls_init);
	EVP_PKEY_CTX_free(jwt_tls.ctx);
	jwt_tls.ctx = jwt_pkey_ctx(k, 1);
	jwt_tls.serial = jwt_tls.ctx ? k->serial : 0;
	if (jwt_tls.ctx)
		pthread_setspecific(jwt_tls_key, &jwt_tls); /* so the thread's exit frees it */
	return jwt_tls.ctx;
}

/* Ed25519 (RFC 8037 §3.1) signs the message itself, not a digest of it: one-shot
 * EVP_DigestSign/EVP_DigestVerify without a digest (OpenSSL 3.0 has no EVP_PKEY_sign for it).
 * Signing when sig is not NULL, else verifying vsig (n bytes). */
static ts_err jwt_eddsa(const struct jwt_key *k, const void *msg, size_t n, unsigned char *sig,
                        const unsigned char *vsig, size_t vlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = JWT_EDDSA_SIG;
	ts_err rc = sig ? TS_SERVER_ERROR : TS_INVALID_TOKEN;

	if (!md)
		return TS_SERVER_ERROR;
	if (sig) {
		if (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(md, sig, &len, msg, n) == 1 && len == JWT_EDDSA_SIG)
			rc = TS_OK;
	} else if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k->pkey) == 1 &&
	           EVP_DigestVerify(md, vsig, vlen, msg, n) == 1) {
		rc = TS_OK;
	}
	EVP_MD_CTX_free(md);
	if (rc != TS_OK)
		ERR_clear_error();
	return rc;
}

ts_err jwt_raw_sign(const struct jwt_key *k, const void *msg, size_t n, unsigned char *sig)
{
	unsigned char digest[SHA256_DIGEST_LENGTH], der[JWT_MAX_SIG];
	size_t len = sizeof der;
	EVP_PKEY_CTX *ctx;
	ts_err rc = TS_SERVER_ERROR;

	if (!k->priv)
		return TS_SERVER_ERROR;
	if (k->alg == JWT_EDDSA)
		return jwt_eddsa(k, msg, n, sig, NULL, 0);
	secret_sha256(msg, n, digest);
	ctx = jwt_sign_ctx(k);
	if (!ctx || EVP_PKEY_sign(ctx, der, &len, digest, sizeof digest) != 1)
		goto out;
	if (k->alg == JWT_ES256) {
		if (jwt_es256_from_der(der, len, sig) != 0)
			goto out;
		p256_low_s(sig + 32); /* OpenSSL gives either form: ours is the low one */
	} else {
		if (len != k->sig_len)
			goto out;
		memcpy(sig, der, len);
	}
	rc = TS_OK;
out:
	if (rc != TS_OK)
		ERR_clear_error();
	return rc;
}

ts_err jwt_raw_verify(const struct jwt_key *k, const void *msg, size_t msg_len,
		      const unsigned char *sig, size_t n, unsigned flags)
{
	unsigned char digest[SHA256_DIGEST_LENGTH], der[72];
	const unsigned char *s = sig;
	EVP_PKEY_CTX *ctx;
	ts_err rc = TS_INVALID_TOKEN;
	int ok;

	if (n != k->sig_len)
		return TS_INVALID_TOKEN;
	if (k->alg == JWT_EDDSA)
		return jwt_eddsa(k, msg, msg_len, NULL, sig, n);
	if (k->alg == JWT_ES256) {
		if (!(flags & JWT_ALLOW_HIGH_S) && p256_s_is_high(sig + 32))
			return TS_INVALID_TOKEN;
		n = jwt_es256_to_der(sig, der);
		s = der;
	}
	secret_sha256(msg, msg_len, digest);
	ctx = jwt_pkey_ctx(k, 0);
	if (!ctx) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	ok = EVP_PKEY_verify(ctx, s, n, digest, sizeof digest);
	if (ok == 1)
		rc = TS_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	if (rc != TS_OK)
		ERR_clear_error();
	return rc;
}

/* 1 when typ can go into the header as it is: 1 to 64 printable ASCII characters other than
 * '"' and '\\' (media type names never need escaping). */
static int jwt_typ_ok(const char *typ)
{
	size_t i;

	for (i = 0; typ[i]; i++)
		if (i >= JWT_MAX_TYP || typ[i] <= 0x20 || typ[i] >= 0x7f || typ[i] == '"' ||
		    typ[i] == '\\')
			return 0;
	return i > 0;
}

/* Characters of n bytes in base64url without padding. */
static size_t b64url_chars(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t jwt_signed_len(const jwt_key *key, const char *typ, size_t plen)
{
	int n = typ ? snprintf(NULL, 0, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}",
	                       jwt_algs[key->alg].name, typ, key->kid) :
	              snprintf(NULL, 0, "{\"alg\":\"%s\",\"kid\":\"%s\"}", jwt_algs[key->alg].name,
	                       key->kid);

	return b64url_chars(n > 0 ? (size_t)n : 0) + 1 + b64url_chars(plen) + 1 +
	       b64url_chars(key->sig_len);
}

ts_err jwt_sign_payload(const jwt_key *key, const char *typ, const char *payload, size_t plen,
                        char **out)
{
	char header[128 + JWT_MAX_TYP], *tok;
	unsigned char sig[JWT_MAX_SIG];
	size_t hlen, pos, cap;
	int n;
	ts_err rc;

	*out = NULL;
	if (!key || !key->priv || !payload || (typ && !jwt_typ_ok(typ)))
		return TS_SERVER_ERROR;
	if (typ)
		n = snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}",
			     jwt_algs[key->alg].name, typ, key->kid);
	else
		n = snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}",
			     jwt_algs[key->alg].name, key->kid);
	if (n < 0 || (size_t)n >= sizeof header)
		return TS_SERVER_ERROR;
	hlen = (size_t)n;
	/* each B64URL_LEN counts one byte more than needed: room for the two dots and the NUL */
	cap = B64URL_LEN(hlen) + B64URL_LEN(plen) + B64URL_LEN(key->sig_len);
	tok = malloc(cap);
	if (!tok)
		return TS_SERVER_ERROR;
	pos = b64url_encode(header, hlen, tok);
	tok[pos++] = '.';
	pos += b64url_encode(payload, plen, tok + pos);
	rc = jwt_raw_sign(key, tok, pos, sig);
	if (rc != TS_OK) {
		free(tok);
		return rc;
	}
	tok[pos++] = '.';
	b64url_encode(sig, key->sig_len, tok + pos);
	*out = tok;
	return TS_OK;
}

ts_err jwt_sign(const jwt_key *key, const char *typ, const json_t *claims, char **out)
{
	char pstack[JWT_PAYLOAD_STACK], *payload = pstack;
	size_t plen;
	ts_err rc = TS_SERVER_ERROR;

	*out = NULL;
	if (!json_is_object(claims))
		return TS_SERVER_ERROR;
	plen = json_dumpb(claims, pstack, sizeof pstack, JSON_COMPACT);
	if (plen == 0)
		return TS_SERVER_ERROR;
	if (plen > sizeof pstack) {
		payload = malloc(plen);
		if (!payload || json_dumpb(claims, payload, plen, JSON_COMPACT) != plen)
			goto out;
	}
	rc = jwt_sign_payload(key, typ, payload, plen, out);
out:
	if (payload != pstack)
		free(payload);
	return rc;
}

/* Strips a leading "application/" (any case) from a media type. */
static const char *jwt_media_subtype(const char *s)
{
	static const char prefix[] = "application/";

	if (strncasecmp(s, prefix, sizeof prefix - 1) == 0)
		return s + sizeof prefix - 1;
	return s;
}

/* Decodes one base64url segment of a token into buf and parses it as a JSON object. */
static json_t *jwt_segment_object(const char *seg, size_t n, unsigned char *buf)
{
	json_error_t jerr;
	json_t *obj;
	long len = b64url_decode(seg, n, buf);

	if (len <= 0)
		return NULL;
	obj = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

ts_err jwt_verify(const jwt_key *const *keys, size_t n, const char *token, const char *typ,
                  json_t **claims)
{
	return jwt_verify_opts(keys, n, token, typ, 0, claims);
}

ts_err jwt_verify_opts(const jwt_key *const *keys, size_t n, const char *token, const char *typ,
                       unsigned flags, json_t **claims)
{
	const char *dot1, *dot2, *end, *alg, *kid, *htyp;
	const jwt_key *key = NULL;
	unsigned char *buf = NULL;
	json_t *header = NULL, *payload = NULL;
	size_t len, i;
	long slen;
	ts_err rc = TS_INVALID_TOKEN;

	*claims = NULL;
	if (!token)
		return TS_INVALID_TOKEN;
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return TS_INVALID_TOKEN;
	end = token + len;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		return TS_INVALID_TOKEN;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return TS_INVALID_TOKEN;
	buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return TS_SERVER_ERROR;

	header = jwt_segment_object(token, (size_t)(dot1 - token), buf);
	if (!header)
		goto out;
	for (i = 0; i < sizeof jwt_banned_headers / sizeof jwt_banned_headers[0]; i++)
		if (json_object_get(header, jwt_banned_headers[i]))
			goto out;
	alg = json_string_value(json_object_get(header, "alg"));
	kid = json_string_value(json_object_get(header, "kid"));
	if (!alg || (!kid && !(flags & JWT_KEY_GIVEN)))
		goto out;
	if (flags & JWT_KEY_GIVEN)
		key = n == 1 ? keys[0] : NULL;
	for (i = 0; i < n && !key && kid; i++)
		if (keys[i] && strcmp(keys[i]->kid, kid) == 0)
			key = keys[i];
	/* the key decides the algorithm; the header may only agree with it */
	if (!key || strcmp(jwt_alg_canonical(alg), jwt_algs[key->alg].name) != 0)
		goto out;
	if (typ) {
		htyp = json_string_value(json_object_get(header, "typ"));
		if (!htyp || strcasecmp(jwt_media_subtype(htyp), jwt_media_subtype(typ)) != 0)
			goto out;
	}

	slen = b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), buf);
	if (slen < 0)
		goto out;
	rc = jwt_raw_verify(key, token, (size_t)(dot2 - token), buf, (size_t)slen, flags);
	if (rc != TS_OK)
		goto out;

	rc = TS_INVALID_TOKEN;
	payload = jwt_segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
	if (!payload)
		goto out;
	*claims = payload;
	rc = TS_OK;
out:
	json_decref(header);
	free(buf);
	return rc;
}

ts_err jwt_header_kid(const char *token, char *kid, size_t n)
{
	const char *dot, *k;
	unsigned char *buf = NULL;
	json_t *header = NULL;
	size_t len, klen;
	ts_err rc = TS_INVALID_TOKEN;

	if (n > 0)
		kid[0] = '\0';
	if (!token || n == 0)
		return TS_INVALID_TOKEN;
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return TS_INVALID_TOKEN;
	dot = memchr(token, '.', len);
	if (!dot || dot == token)
		return TS_INVALID_TOKEN;
	buf = malloc((size_t)(dot - token) / 4 * 3 + 4);
	if (!buf)
		return TS_SERVER_ERROR;
	header = jwt_segment_object(token, (size_t)(dot - token), buf);
	if (!header)
		goto out;
	k = json_string_value(json_object_get(header, "kid"));
	if (!k)
		goto out;
	klen = strlen(k);
	if (klen == 0 || klen >= n)
		goto out;
	memcpy(kid, k, klen + 1);
	rc = TS_OK;
out:
	json_decref(header);
	free(buf);
	return rc;
}

ts_err jwt_verify_signature(const jwt_key *key, const char *token, unsigned flags)
{
	const char *dot1, *dot2, *end, *alg;
	unsigned char *buf;
	json_t *header = NULL;
	size_t len;
	long slen;
	ts_err rc = TS_INVALID_TOKEN;

	if (!key || !token)
		return TS_INVALID_TOKEN;
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return TS_INVALID_TOKEN;
	end = token + len;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		return TS_INVALID_TOKEN;
	buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return TS_SERVER_ERROR;
	header = jwt_segment_object(token, (size_t)(dot1 - token), buf);
	alg = json_string_value(json_object_get(header, "alg"));
	/* the key decides the algorithm here too */
	if (!alg || strcmp(alg, jwt_algs[key->alg].name) != 0)
		goto out;
	slen = b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), buf);
	if (slen >= 0)
		rc = jwt_raw_verify(key, token, (size_t)(dot2 - token), buf, (size_t)slen, flags);
out:
	json_decref(header);
	free(buf);
	return rc;
}

ts_err jwt_peek(const char *token, json_t **header, json_t **payload)
{
	const char *dot1, *dot2;
	unsigned char *buf;
	size_t len;

	*header = *payload = NULL;
	if (!token)
		return TS_INVALID_TOKEN;
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return TS_INVALID_TOKEN;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2)
		return TS_INVALID_TOKEN;
	buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return TS_SERVER_ERROR;
	*header = jwt_segment_object(token, (size_t)(dot1 - token), buf);
	*payload = jwt_segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
	free(buf);
	if (*header && *payload)
		return TS_OK;
	json_decref(*header);
	json_decref(*payload);
	*header = *payload = NULL;
	return TS_INVALID_TOKEN;
}
