/* client_cert.c - tls_client_auth and self_signed_tls_client_auth (RFC 8705 §2) with OpenSSL:
 * chain verification to the configured CA, the subject DN as RFC 4514 text, subjectAltNames,
 * and certificates and keys registered in a JWK Set. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "b64.h"
#include "client_cert.h"

struct client_ca {
	X509_STORE *store;
};

/* The longest base64url value of a JWK member compared here (an RSA modulus of 8192 bits). */
#define JWK_PART_MAX 1400

ts_err client_ca_load(const char *path, client_ca **out, char **why)
{
	BIO *bio = BIO_new_file(path, "r");
	client_ca *ca = NULL;
	X509 *x;
	int n = 0;

	*out = NULL;
	*why = NULL;
	if (!bio) {
		ERR_clear_error();
		*why = err_why("cannot read the TLS client CA file %s", path);
		return TS_INVALID_REQUEST;
	}
	ca = calloc(1, sizeof *ca);
	if (!ca || !(ca->store = X509_STORE_new())) {
		BIO_free(bio);
		client_ca_free(ca);
		*why = err_why("out of memory");
		return TS_SERVER_ERROR;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(ca->store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0) {
		client_ca_free(ca);
		*why = err_why("the TLS client CA file %s holds no PEM certificate", path);
		return TS_INVALID_REQUEST;
	}
	*out = ca;
	return TS_OK;
}

void client_ca_free(client_ca *ca)
{
	if (!ca)
		return;
	X509_STORE_free(ca->store);
	free(ca);
}

static X509 *parse_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (!der || len == 0 || len > 65536)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	/* one certificate and nothing after it */
	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

char *client_cert_subject(const unsigned char *der, size_t len)
{
	X509 *x = parse_der(der, len);
	BIO *bio = x ? BIO_new(BIO_s_mem()) : NULL;
	char *text = NULL, *mem;
	long n;

	/* RFC 4514: most specific RDN first, UTF-8 kept as it is (RFC 4514 §2.4 escapes only what it
	 * must) */
	if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	                              XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(bio, &mem)) >= 0 && (text = malloc((size_t)n + 1))) {
		memcpy(text, mem, (size_t)n);
		text[n] = '\0';
	}
	BIO_free(bio);
	X509_free(x);
	return text;
}

/* 1 when the ASN1 string holds exactly the n bytes of v (case-insensitively when nocase). */
static int asn1_is(const ASN1_STRING *s, const char *v, size_t n, int nocase)
{
	const unsigned char *d = ASN1_STRING_get0_data(s);

	if (!d || (size_t)ASN1_STRING_length(s) != n || memchr(d, '\0', n))
		return 0;
	return nocase ? strncasecmp((const char *)d, v, n) == 0 : memcmp(d, v, n) == 0;
}

/* 1 when x holds the subjectAltName san ("dns:", "uri:", "ip:" or "email:" and a value). */
static int san_matches(X509 *x, const char *san)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const char *v = strchr(san, ':');
	unsigned char ip[16];
	size_t iplen = 0, vl;
	int type, i, ok = 0;

	if (!names || !v || !v[1])
		goto out;
	v++;
	vl = strlen(v);
	if (strncasecmp(san, "dns:", 4) == 0)
		type = GEN_DNS;
	else if (strncasecmp(san, "uri:", 4) == 0)
		type = GEN_URI;
	else if (strncasecmp(san, "email:", 6) == 0)
		type = GEN_EMAIL;
	else if (strncasecmp(san, "ip:", 3) == 0) {
		type = GEN_IPADD;
		if (inet_pton(AF_INET, v, ip) == 1)
			iplen = 4;
		else if (inet_pton(AF_INET6, v, ip) == 1)
			iplen = 16;
		else
			goto out;
	} else
		goto out;
	for (i = 0; !ok && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type != type)
			continue;
		if (type == GEN_DNS)
			ok = asn1_is(g->d.dNSName, v, vl, 1);
		else if (type == GEN_URI)
			ok = asn1_is(g->d.uniformResourceIdentifier, v, vl, 0);
		else if (type == GEN_EMAIL)
			ok = asn1_is(g->d.rfc822Name, v, vl, 0);
		else
			ok = (size_t)ASN1_STRING_length(g->d.iPAddress) == iplen &&
			     memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip, iplen) == 0;
	}
out:
	GENERAL_NAMES_free(names);
	return ok;
}

/* 1 when the chain verifies to ca at now for TLS client use; *leaf is the client's certificate
 * (caller frees) whether or not. */
static int chain_verifies(const client_ca *ca, const struct cert_chain *chain, int64_t now,
                          X509 **leaf)
{
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *x;
	size_t i;
	int ok = 0;

	*leaf = chain->n ? parse_der(chain->der[0], chain->len[0]) : NULL;
	if (!*leaf || !untrusted || !ctx)
		goto out;
	for (i = 1; i < chain->n && i < CLIENT_CERT_CHAIN_MAX; i++) {
		x = parse_der(chain->der[i], chain->len[i]);
		if (!x || !sk_X509_push(untrusted, x)) {
			X509_free(x);
			goto out;
		}
	}
	if (X509_STORE_CTX_init(ctx, ca->store, *leaf, untrusted) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	ok = X509_verify_cert(ctx) == 1;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	return ok;
}

ts_err client_cert_tls_auth(const client_ca *ca, const struct cert_chain *chain, int64_t now,
                            const char *subject_dn, const char *san)
{
	X509 *leaf = NULL;
	char *dn = NULL;
	int ok = 0;

	if (!ca || !chain || !chain->n || (!subject_dn && !san))
		return TS_INVALID_CLIENT;
	if (chain_verifies(ca, chain, now, &leaf)) {
		if (subject_dn) {
			dn = client_cert_subject(chain->der[0], chain->len[0]);
			ok = dn && strcmp(dn, subject_dn) == 0;
		} else {
			ok = san_matches(leaf, san);
		}
	}
	free(dn);
	X509_free(leaf);
	return ok ? TS_OK : TS_INVALID_CLIENT;
}

/* The bytes of a base64url JWK member into buf (JWK_PART_MAX); its length, or -1. */
static long jwk_part(const json_t *jwk, const char *name, unsigned char *buf)
{
	const char *v = json_string_value(json_object_get(jwk, name));
	size_t n = v ? strlen(v) : 0;

	if (!n || n > JWK_PART_MAX * 4 / 3)
		return -1;
	return b64url_decode(v, n, buf);
}

/* 1 when BIGNUM parameter name of pk, as big-endian bytes of width bytes (0: its own length,
 * leading zeros of the JWK's value ignored), equals the JWK's member. */
static int bn_is(const EVP_PKEY *pk, const char *param, const json_t *jwk, const char *name,
                 size_t width)
{
	unsigned char want[JWK_PART_MAX], have[JWK_PART_MAX];
	BIGNUM *bn = NULL;
	long n = jwk_part(jwk, name, want);
	const unsigned char *w = want;
	int len, ok = 0;

	if (n <= 0 || !EVP_PKEY_get_bn_param(pk, param, &bn))
		goto out;
	if (!width)
		while (n > 1 && *w == 0)
			w++, n--;
	len = width ? (int)width : BN_num_bytes(bn);
	if (len > 0 && len <= JWK_PART_MAX && (long)len == n &&
	    BN_bn2binpad(bn, have, len) == len)
		ok = memcmp(have, w, (size_t)n) == 0;
out:
	BN_free(bn);
	ERR_clear_error();
	return ok;
}

/* 1 when the public key of the JWK is pk. */
static int jwk_is_key(const json_t *jwk, const EVP_PKEY *pk)
{
	static const struct {
		const char *crv, *group;
		size_t width;
	} curves[] = {{"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48},
	              {"P-521", "secp521r1", 66}};
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	unsigned char raw[64], want[JWK_PART_MAX];
	char group[32];
	size_t i, rl = sizeof raw;
	long n;

	if (!kty)
		return 0;
	if (strcmp(kty, "RSA") == 0)
		return EVP_PKEY_is_a(pk, "RSA") && bn_is(pk, OSSL_PKEY_PARAM_RSA_N, jwk, "n", 0) &&
		       bn_is(pk, OSSL_PKEY_PARAM_RSA_E, jwk, "e", 0);
	if (strcmp(kty, "OKP") == 0 && crv && strcmp(crv, "Ed25519") == 0) {
		n = jwk_part(jwk, "x", want);
		return EVP_PKEY_is_a(pk, "ED25519") && n == 32 &&
		       EVP_PKEY_get_raw_public_key(pk, raw, &rl) == 1 && rl == 32 &&
		       memcmp(raw, want, 32) == 0;
	}
	if (strcmp(kty, "EC") != 0 || !crv || !EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
	                                    NULL))
		return 0;
	for (i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (strcmp(crv, curves[i].crv) == 0 && strcmp(group, curves[i].group) == 0)
			return bn_is(pk, OSSL_PKEY_PARAM_EC_PUB_X, jwk, "x", curves[i].width) &&
			       bn_is(pk, OSSL_PKEY_PARAM_EC_PUB_Y, jwk, "y", curves[i].width);
	return 0;
}

/* 1 when the first certificate of the JWK's x5c (standard base64 of the DER) is der. */
static int jwk_has_cert(const json_t *jwk, const unsigned char *der, size_t len)
{
	const char *b = json_string_value(json_array_get(json_object_get(jwk, "x5c"), 0));
	size_t bl = b ? strlen(b) : 0;
	unsigned char *buf;
	long n;
	int ok;

	if (!bl || bl > 65536)
		return 0;
	buf = malloc(bl * 3 / 4 + 1);
	if (!buf)
		return 0;
	n = b64_decode(b, bl, buf);
	ok = n > 0 && (size_t)n == len && memcmp(buf, der, len) == 0;
	free(buf);
	return ok;
}

ts_err client_cert_self_signed(const struct cert_chain *chain, const char *jwks)
{
	json_t *set = jwks ? json_loads(jwks, 0, NULL) : NULL;
	json_t *keys = json_object_get(set, "keys"), *jwk;
	X509 *leaf = chain && chain->n ? parse_der(chain->der[0], chain->len[0]) : NULL;
	EVP_PKEY *pk = leaf ? X509_get0_pubkey(leaf) : NULL;
	size_t i;
	int ok = 0;

	json_array_foreach(keys, i, jwk) {
		if (!pk || ok)
			break;
		ok = jwk_has_cert(jwk, chain->der[0], chain->len[0]) || jwk_is_key(jwk, pk);
	}
	ERR_clear_error();
	X509_free(leaf);
	json_decref(set);
	return ok ? TS_OK : TS_INVALID_CLIENT;
}

char *client_cert_jwks(const char *pem, const char **why)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
	unsigned char *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1, id = pk ? EVP_PKEY_get_base_id(pk) : 0;
	const char *kty = id == EVP_PKEY_EC ? "EC" : id == EVP_PKEY_RSA ? "RSA" :
	                  id == EVP_PKEY_ED25519 ? "OKP" : NULL;
	BIO *b64 = NULL, *mem = NULL;
	char *text = NULL, *out = NULL;
	long len = 0;

	*why = !x ? "no PEM certificate in it" : !kty ? "its key is not EC, RSA or Ed25519" : NULL;
	/* standard base64 of the DER, on one line (x5c, RFC 7517 §4.7) */
	if (!*why && n > 0 && (b64 = BIO_new(BIO_f_base64())) && (mem = BIO_new(BIO_s_mem()))) {
		BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
		b64 = BIO_push(b64, mem);
		mem = NULL;
		if (BIO_write(b64, der, n) == n && BIO_flush(b64) == 1)
			len = BIO_get_mem_data(b64, &text);
	}
	if (!*why && len > 0) {
		json_t *set = json_pack("{s:[{s:s, s:[s%]}]}", "keys", "kty", kty, "x5c", text,
		                        (size_t)len);

		out = set ? json_dumps(set, JSON_COMPACT) : NULL;
		json_decref(set);
	}
	if (!out && !*why)
		*why = "out of memory";
	BIO_free_all(b64);
	BIO_free(mem);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return out;
}
