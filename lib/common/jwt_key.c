/* jwt_key.c - the keys of jwt.h: generated, loaded from a PEM (with a pairwise check) or from a
 * public JWK, named by their RFC 7638 thumbprint, and written back as a public JWK. A key is
 * immutable once made; signing and verifying with it are jwt.c's. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "b64.h"
#include "jwt_priv.h"
#include "secret.h"

#define JWT_RSA_MIN_BITS 2048
#define JWT_RSA_MAX_E 8         /* bytes of a public exponent from a JWK */
#define JWT_MAX_KID 256         /* longest kid accepted from a JWK */

const struct jwt_alg_names jwt_algs[] = {
	[JWT_ES256] = { "ES256", "EC" },
	[JWT_RS256] = { "RS256", "RSA" },
	[JWT_PS256] = { "PS256", "RSA" },
	[JWT_EDDSA] = { "EdDSA", "OKP" },
};

/* numbers the keys made, so that a thread's signing context (jwt.c) knows which key it holds */
static atomic_uint_fast64_t jwt_serials;

const char *jwt_alg_canonical(const char *alg)
{
	return alg && strcmp(alg, "Ed25519") == 0 ? "EdDSA" : alg;
}

static int jwt_alg_lookup(const char *name, enum jwt_alg *alg)
{
	size_t i;

	name = jwt_alg_canonical(name);
	if (!name)
		return -1;
	for (i = 0; i < sizeof jwt_algs / sizeof jwt_algs[0]; i++) {
		if (strcmp(name, jwt_algs[i].name) == 0) {
			*alg = (enum jwt_alg)i;
			return 0;
		}
	}
	return -1;
}

/* A PEM passphrase callback that refuses, so an encrypted key fails instead of prompting. */
static int jwt_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* 1 when pkey is a key alg can use: a P-256 key with a named curve for ES256, a PKCS#1 RSA key
 * of 2048 to 8192 bits for RS256. */
static int jwt_key_fits(EVP_PKEY *pkey, enum jwt_alg alg)
{
	char group[64];
	int bits, nid;

	if (alg == JWT_ES256) {
		if (!EVP_PKEY_is_a(pkey, "EC"))
			return 0;
		if (!EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL))
			return 0;
		nid = OBJ_txt2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		return nid == NID_X9_62_prime256v1 && EVP_PKEY_get_bits(pkey) == 256;
	}
	if (alg == JWT_EDDSA)
		return EVP_PKEY_is_a(pkey, "ED25519");
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return 0;
	bits = EVP_PKEY_get_bits(pkey);
	return bits >= JWT_RSA_MIN_BITS && bits <= JWT_RSA_MAX_BITS;
}

/* The base64url text of bn, left-padded with zeros to pad bytes (0: minimal length). */
static char *jwt_bn_b64url(const BIGNUM *bn, int pad)
{
	unsigned char buf[JWT_MAX_SIG];
	int n = pad ? pad : BN_num_bytes(bn);
	char *s;

	if (n <= 0 || n > (int)sizeof buf)
		return NULL;
	if (BN_bn2binpad(bn, buf, n) != n)
		return NULL;
	s = malloc(B64URL_LEN((size_t)n));
	if (s)
		b64url_encode(buf, (size_t)n, s);
	return s;
}

/* Fills k->pub1 and k->pub2 with the public parts of k->pkey as a JWK writes them. */
static ts_err jwt_key_pub_parts(struct jwt_key *k)
{
	BIGNUM *a = NULL, *b = NULL;
	ts_err rc = TS_SERVER_ERROR;

	if (k->alg == JWT_EDDSA) {
		unsigned char raw[32];
		size_t len = sizeof raw;

		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 || len != sizeof raw)
			goto out;
		k->pub1 = malloc(B64URL_LEN(sizeof raw));
		if (!k->pub1)
			goto out;
		b64url_encode(raw, sizeof raw, k->pub1);
		rc = TS_OK;
		goto out;
	}
	if (k->alg == JWT_ES256) {
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto out;
		k->pub1 = jwt_bn_b64url(a, 32);
		k->pub2 = jwt_bn_b64url(b, 32);
	} else {
		if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		k->pub1 = jwt_bn_b64url(a, 0);
		k->pub2 = jwt_bn_b64url(b, 0);
	}
	if (k->pub1 && k->pub2)
		rc = TS_OK;
out:
	BN_free(a);
	BN_free(b);
	return rc;
}

/* The RFC 7638 thumbprint of k: SHA-256 of the required members in lexical order, no spaces. */
static ts_err jwt_key_thumbprint(const struct jwt_key *k, char **kid)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t len = strlen(k->pub1) + (k->pub2 ? strlen(k->pub2) : 0) + 64;
	char *json = malloc(len);
	int n;

	if (!json)
		return TS_SERVER_ERROR;
	if (k->alg == JWT_EDDSA)
		n = snprintf(json, len, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", k->pub1);
	else if (k->alg == JWT_ES256)
		n = snprintf(json, len, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			     k->pub1, k->pub2);
	else
		n = snprintf(json, len, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", k->pub2, k->pub1);
	if (n < 0 || (size_t)n >= len) {
		free(json);
		return TS_SERVER_ERROR;
	}
	secret_sha256(json, (size_t)n, digest);
	free(json);
	*kid = malloc(B64URL_LEN(sizeof digest));
	if (!*kid)
		return TS_SERVER_ERROR;
	b64url_encode(digest, sizeof digest, *kid);
	return TS_OK;
}

/* Wraps pkey (taking ownership, also on failure) into a key for alg; kid NULL means the
 * thumbprint. */
static ts_err jwt_key_wrap(EVP_PKEY *pkey, enum jwt_alg alg, int priv, const char *kid,
			   jwt_key **out)
{
	struct jwt_key *k = calloc(1, sizeof *k);
	ts_err rc = TS_SERVER_ERROR;

	if (!k) {
		EVP_PKEY_free(pkey);
		return TS_SERVER_ERROR;
	}
	k->pkey = pkey;
	k->serial = atomic_fetch_add(&jwt_serials, 1) + 1;
	k->alg = alg;
	k->priv = priv;
	k->sig_len = alg == JWT_ES256 ? JWT_ES256_SIG : alg == JWT_EDDSA ? JWT_EDDSA_SIG :
	             (size_t)EVP_PKEY_get_size(pkey);
	rc = jwt_key_pub_parts(k);
	if (rc != TS_OK)
		goto out;
	if (kid) {
		k->kid = strdup(kid);
		if (!k->kid)
			rc = TS_SERVER_ERROR;
	} else {
		rc = jwt_key_thumbprint(k, &k->kid);
	}
out:
	if (rc != TS_OK) {
		jwt_key_free(k);
		k = NULL;
	}
	*out = k;
	return rc;
}

ts_err jwt_key_generate(const char *alg, char **pem)
{
	enum jwt_alg a;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	ts_err rc = TS_SERVER_ERROR;

	*pem = NULL;
	if (jwt_alg_lookup(alg, &a) != 0)
		return TS_INVALID_REQUEST;
	if (a == JWT_ES256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (a == JWT_EDDSA)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)JWT_RSA_MIN_BITS);
	if (!pkey)
		goto out;
	/* secmem: the buffer is wiped when the BIO is freed */
	bio = BIO_new(BIO_s_secmem());
	if (!bio || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto out;
	*pem = malloc((size_t)len + 1);
	if (!*pem)
		goto out;
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	rc = TS_OK;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (rc != TS_OK)
		ERR_clear_error();
	return rc;
}

ts_err jwt_key_load(const char *alg, const char *pem, jwt_key **key)
{
	return jwt_key_load_kid(alg, pem, NULL, key);
}

ts_err jwt_key_load_kid(const char *alg, const char *pem, const char *kid, jwt_key **key)
{
	static const char probe[] = "tessera key self-test";
	unsigned char sig[JWT_MAX_SIG];
	enum jwt_alg a;
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	ts_err rc;

	*key = NULL;
	if (jwt_alg_lookup(alg, &a) != 0 || !pem)
		return TS_INVALID_REQUEST;
	bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return TS_SERVER_ERROR;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, jwt_no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey || !jwt_key_fits(pkey, a)) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return TS_INVALID_REQUEST;
	}
	rc = jwt_key_wrap(pkey, a, 1, kid, key);
	if (rc != TS_OK)
		return rc;
	/* A pairwise check: the private half must match the public half that the kid names. */
	rc = jwt_raw_sign(*key, probe, sizeof probe - 1, sig);
	if (rc == TS_OK && jwt_raw_verify(*key, probe, sizeof probe - 1, sig, (*key)->sig_len, 0) != TS_OK)
		rc = TS_INVALID_REQUEST;
	if (rc != TS_OK) {
		jwt_key_free(*key);
		*key = NULL;
	}
	return rc;
}

/* Decodes the base64url member name of jwk into buf (size bytes, already known to fit) and
 * returns its length, or -1 when it is missing, too long or malformed. */
static long jwt_jwk_bytes(const json_t *jwk, const char *name, unsigned char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	if (n == 0 || n / 4 * 3 + 3 > size)
		return -1;
	return b64url_decode(s, n, buf);
}

static EVP_PKEY *jwt_pkey_fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	if (pkey) {
		/* the quick check: for P-256 (cofactor 1) a point on the curve, not at infinity, is a
		 * valid public key, and the full check's extra scalar multiplication by the order
		 * doubled the cost of a JWK from a DPoP proof; for RSA the two checks are the same */
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (!ctx || EVP_PKEY_public_check_quick(ctx) != 1) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		EVP_PKEY_CTX_free(ctx);
	}
	return pkey;
}

static EVP_PKEY *jwt_jwk_ec(const json_t *jwk)
{
	unsigned char point[1 + 32 + 32 + 3];
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (!crv || strcmp(crv, "P-256") != 0)
		return NULL;
	/* RFC 7518 §6.2.1.2: x and y are the full 32 bytes, never shortened */
	point[0] = 0x04;
	if (jwt_jwk_bytes(jwk, "x", point + 1, 35) != 32 ||
	    jwt_jwk_bytes(jwk, "y", point + 33, 35) != 32)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 65);
	params[2] = OSSL_PARAM_construct_end();
	return jwt_pkey_fromdata("EC", params);
}

static EVP_PKEY *jwt_jwk_rsa(const json_t *jwk)
{
	unsigned char nbuf[JWT_MAX_SIG + 3], ebuf[JWT_RSA_MAX_E + 3];
	long nl, el;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	nl = jwt_jwk_bytes(jwk, "n", nbuf, sizeof nbuf);
	el = jwt_jwk_bytes(jwk, "e", ebuf, sizeof ebuf);
	if (nl <= 0 || el <= 0 || nl > JWT_MAX_SIG || el > JWT_RSA_MAX_E)
		return NULL;
	n = BN_bin2bn(nbuf, (int)nl, NULL);
	e = BN_bin2bn(ebuf, (int)el, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		pkey = jwt_pkey_fromdata("RSA", params);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

ts_err jwt_key_from_jwk(const json_t *jwk, jwt_key **key)
{
	const char *kty, *kid, *alg, *use;
	enum jwt_alg a;
	EVP_PKEY *pkey;

	*key = NULL;
	if (!json_is_object(jwk))
		return TS_INVALID_REQUEST;
	kty = json_string_value(json_object_get(jwk, "kty"));
	kid = json_string_value(json_object_get(jwk, "kid"));
	if (!kty || !kid || !*kid || strlen(kid) > JWT_MAX_KID)
		return TS_INVALID_REQUEST;
	if (strcmp(kty, "EC") == 0)
		a = JWT_ES256;
	else if (strcmp(kty, "RSA") == 0)
		a = JWT_RS256;
	else
		return TS_INVALID_REQUEST;
	if (json_object_get(jwk, "alg")) {
		alg = json_string_value(json_object_get(jwk, "alg"));
		if (!alg || strcmp(alg, jwt_algs[a].name) != 0)
			return TS_INVALID_REQUEST;
	}
	if (json_object_get(jwk, "use")) {
		use = json_string_value(json_object_get(jwk, "use"));
		if (!use || strcmp(use, "sig") != 0)
			return TS_INVALID_REQUEST;
	}
	pkey = a == JWT_ES256 ? jwt_jwk_ec(jwk) : jwt_jwk_rsa(jwk);
	if (!pkey || !jwt_key_fits(pkey, a)) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return TS_INVALID_REQUEST;
	}
	return jwt_key_wrap(pkey, a, 0, kid, key);
}

/* Members only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
static const char *const jwt_private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

static EVP_PKEY *jwt_jwk_okp(const json_t *jwk)
{
	unsigned char x[32 + 3];
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (!crv || strcmp(crv, "Ed25519") != 0 || jwt_jwk_bytes(jwk, "x", x, sizeof x) != 32)
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
}

int jwt_alg_known(const char *alg)
{
	enum jwt_alg a;

	return jwt_alg_lookup(alg, &a) == 0;
}

ts_err jwt_key_from_jwk_alg(const json_t *jwk, const char *alg, jwt_key **key)
{
	const char *kty, *kid, *jalg, *use;
	json_t *v;
	enum jwt_alg a;
	EVP_PKEY *pkey;
	size_t i;

	*key = NULL;
	if (!json_is_object(jwk) || jwt_alg_lookup(alg, &a) != 0)
		return TS_INVALID_REQUEST;
	for (i = 0; i < sizeof jwt_private_members / sizeof jwt_private_members[0]; i++)
		if (json_object_get(jwk, jwt_private_members[i]))
			return TS_INVALID_REQUEST;
	kty = json_string_value(json_object_get(jwk, "kty"));
	if (!kty || strcmp(kty, jwt_algs[a].kty) != 0)
		return TS_INVALID_REQUEST;
	v = json_object_get(jwk, "kid");
	kid = json_string_value(v);
	if (v && (!kid || !*kid || strlen(kid) > JWT_MAX_KID))
		return TS_INVALID_REQUEST;
	if ((v = json_object_get(jwk, "alg"))) {
		jalg = jwt_alg_canonical(json_string_value(v));
		if (!jalg || strcmp(jalg, jwt_algs[a].name) != 0)
			return TS_INVALID_REQUEST;
	}
	if ((v = json_object_get(jwk, "use"))) {
		use = json_string_value(v);
		if (!use || strcmp(use, "sig") != 0)
			return TS_INVALID_REQUEST;
	}
	pkey = a == JWT_ES256 ? jwt_jwk_ec(jwk) : a == JWT_EDDSA ? jwt_jwk_okp(jwk) : jwt_jwk_rsa(jwk);
	if (!pkey || !jwt_key_fits(pkey, a)) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return TS_INVALID_REQUEST;
	}
	return jwt_key_wrap(pkey, a, 0, kid, key);
}

void jwt_key_free(jwt_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->kid);
	free(key->pub1);
	free(key->pub2);
	free(key);
}

const char *jwt_key_kid(const jwt_key *key)
{
	return key->kid;
}

const char *jwt_key_alg(const jwt_key *key)
{
	return jwt_algs[key->alg].name;
}

json_t *jwt_key_public_jwk(const jwt_key *key)
{
	if (key->alg == JWT_EDDSA)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519",
				 "x", key->pub1, "kid", key->kid, "alg", "EdDSA", "use", "sig");
	if (key->alg == JWT_ES256)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
				 "x", key->pub1, "y", key->pub2, "kid", key->kid,
				 "alg", jwt_algs[key->alg].name, "use", "sig");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n", key->pub1,
			 "e", key->pub2, "kid", key->kid, "alg", jwt_algs[key->alg].name,
			 "use", "sig");
}
