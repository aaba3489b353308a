/* Unit tests for lib/client_cert (RFC 8705 §2: tls_client_auth and self_signed_tls_client_auth)
 * and lib/common/certbind (the cnf.x5t#S256 of certificate-bound tokens), with a CA, an
 * intermediate, client certificates and keys made here with OpenSSL. docs/security.md rows
 * 102-106. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "b64.h"
#include "certbind.h"
#include "client_cert.h"
#include "jwt.h"

/* a certificate and its key, with its DER */
struct cert {
	EVP_PKEY *key;
	X509 *x;
	unsigned char *der;
	size_t len;
};

static char dir[] = "/tmp/tessera-ccert-XXXXXX";
static char ca_path[300], other_ca_path[300];
static int64_t now;
static struct cert ca, inter, other_ca, leaf, via_inter, other_leaf, server_only, selfsigned,
	selfsigned_rsa, selfsigned_ed, stranger;

/* setup_all runs before the tests, where ck_assert cannot report: a failure there stops. */
#define need(x) do { if (!(x)) { fprintf(stderr, "setup: %s failed (line %d)\n", #x, \
                                          __LINE__); exit(1); } } while (0)

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	need(e);
	need(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key with subject (OpenSSL's "/C=DE/O=Acme/CN=x" form), issued by issuer
 * (NULL: self-signed), valid from now - 60 to now + days; san, eku (NULL: none); ca: a CA. */
static void make(struct cert *c, EVP_PKEY *key, const char *subject, const struct cert *issuer,
                 int days, const char *san, const char *eku, int ca_flag)
{
	X509_NAME *name = X509_NAME_new();
	char buf[256], *tok, *save = NULL, *eq;
	unsigned char *p;
	static long serial = 1;

	c->key = key;
	need(key);
	c->x = X509_new();
	X509_set_version(c->x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c->x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(c->x), 0, -60, NULL);
	X509_time_adj_ex(X509_getm_notAfter(c->x), days, 0, NULL);
	X509_set_pubkey(c->x, key);
	snprintf(buf, sizeof buf, "%s", subject);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		eq = strchr(tok, '=');
		need(eq);
		*eq = '\0';
		need(X509_NAME_add_entry_by_txt(name, tok, MBSTRING_UTF8,
		                                (const unsigned char *)eq + 1, -1, -1, 0) == 1);
	}
	X509_set_subject_name(c->x, name);
	X509_set_issuer_name(c->x, issuer ? X509_get_subject_name(issuer->x) : name);
	X509_NAME_free(name);
	add_ext(c->x, issuer ? issuer->x : c->x, NID_basic_constraints,
	        ca_flag ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca_flag)
		add_ext(c->x, c->x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (san)
		add_ext(c->x, issuer ? issuer->x : c->x, NID_subject_alt_name, san);
	if (eku)
		add_ext(c->x, issuer ? issuer->x : c->x, NID_ext_key_usage, eku);
	need(X509_sign(c->x, issuer ? issuer->key : key,
	               EVP_PKEY_is_a(issuer ? issuer->key : key, "ED25519") ? NULL :
	               EVP_sha256()) > 0);
	c->len = (size_t)i2d_X509(c->x, NULL);
	c->der = malloc(c->len);
	p = c->der;
	need(i2d_X509(c->x, &p) == (int)c->len);
}

static void write_pem(const char *path, const struct cert *a, const struct cert *b)
{
	FILE *f = fopen(path, "w");

	need(f);
	need(PEM_write_X509(f, a->x) == 1);
	if (b)
		need(PEM_write_X509(f, b->x) == 1);
	fclose(f);
}

static void setup_all(void)
{
	need(mkdtemp(dir));
	now = (int64_t)time(NULL);
	make(&ca, EVP_EC_gen("P-256"), "/CN=Tessera device CA", NULL, 30, NULL, NULL, 1);
	make(&inter, EVP_EC_gen("P-256"), "/CN=Tessera factory 7", &ca, 30, NULL, NULL, 1);
	make(&other_ca, EVP_EC_gen("P-256"), "/CN=Tessera device CA", NULL, 30, NULL, NULL, 1);
	make(&leaf, EVP_EC_gen("P-256"), "/C=DE/O=Acme, Inc./CN=sensor-17", &ca, 1,
	     "DNS:sensor-17.devices.example,URI:urn:dev:sensor-17,IP:10.1.2.3,IP:2001:db8::17,"
	     "email:ops@example.com", "clientAuth", 0);
	make(&via_inter, EVP_EC_gen("P-256"), "/C=DE/O=Acme/CN=sensor-18", &inter, 1,
	     "DNS:sensor-18.devices.example", "clientAuth", 0);
	make(&other_leaf, EVP_EC_gen("P-256"), "/C=DE/O=Acme, Inc./CN=sensor-17", &other_ca, 1,
	     "DNS:sensor-17.devices.example", "clientAuth", 0);
	make(&server_only, EVP_EC_gen("P-256"), "/C=DE/O=Acme, Inc./CN=sensor-17", &ca, 1, NULL,
	     "serverAuth", 0);
	make(&selfsigned, EVP_EC_gen("P-256"), "/CN=thermostat-9", NULL, 1, NULL, NULL, 0);
	make(&selfsigned_rsa, EVP_RSA_gen(2048), "/CN=gateway-2", NULL, 1, NULL, NULL, 0);
	make(&selfsigned_ed, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), "/CN=lamp-4", NULL, 1, NULL,
	     NULL, 0);
	make(&stranger, EVP_EC_gen("P-256"), "/CN=thermostat-9", NULL, 1, NULL, NULL, 0);
	snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
	snprintf(other_ca_path, sizeof other_ca_path, "%s/other.pem", dir);
	write_pem(ca_path, &ca, NULL);
	write_pem(other_ca_path, &other_ca, NULL);
}

static struct cert_chain chain_of(const struct cert *a, const struct cert *b)
{
	struct cert_chain ch = {.n = b ? 2 : 1};

	ch.der[0] = a->der;
	ch.len[0] = a->len;
	if (b) {
		ch.der[1] = b->der;
		ch.len[1] = b->len;
	}
	return ch;
}

static client_ca *load(const char *path)
{
	client_ca *c = NULL;
	char *why = NULL;

	ck_assert_int_eq(client_ca_load(path, &c, &why), TS_OK);
	ck_assert_ptr_null(why);
	return c;
}

static ts_err tls(const char *ca_file, const struct cert *a, const struct cert *b, const char *dn,
                  const char *san)
{
	client_ca *c = load(ca_file);
	struct cert_chain ch = chain_of(a, b);
	ts_err rc = client_cert_tls_auth(c, &ch, now, dn, san);

	client_ca_free(c);
	return rc;
}

#define DN "CN=sensor-17,O=Acme\\, Inc.,C=DE"

/* docs/security.md row 102: the subject DN, as RFC 4514 text, compared exactly */
START_TEST(test_row102_subject_dn)
{
	char *s = client_cert_subject(leaf.der, leaf.len);

	ck_assert_str_eq(s, DN);
	free(s);
	ck_assert_int_eq(tls(ca_path, &leaf, NULL, DN, NULL), TS_OK);
	ck_assert_int_eq(tls(ca_path, &leaf, NULL, "CN=sensor-18,O=Acme\\, Inc.,C=DE", NULL),
	                 TS_INVALID_CLIENT);
	ck_assert_int_eq(tls(ca_path, &leaf, NULL, "CN=sensor-17", NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(tls(ca_path, &leaf, NULL, "C=DE,O=Acme\\, Inc.,CN=sensor-17", NULL),
	                 TS_INVALID_CLIENT);
	/* neither a DN nor a SAN registered: nothing matches */
	ck_assert_int_eq(tls(ca_path, &leaf, NULL, NULL, NULL), TS_INVALID_CLIENT);
}
END_TEST

/* docs/security.md row 102: each kind of subjectAltName */
START_TEST(test_row102_subject_alt_names)
{
	static const struct {
		const char *san;
		ts_err rc;
	} cases[] = {
		{"dns:sensor-17.devices.example", TS_OK},
		{"dns:SENSOR-17.Devices.Example", TS_OK},
		{"dns:sensor-18.devices.example", TS_INVALID_CLIENT},
		{"dns:devices.example", TS_INVALID_CLIENT},
		{"uri:urn:dev:sensor-17", TS_OK},
		{"uri:urn:dev:sensor-1", TS_INVALID_CLIENT},
		{"uri:URN:DEV:SENSOR-17", TS_INVALID_CLIENT},
		{"ip:10.1.2.3", TS_OK},
		{"ip:10.1.2.4", TS_INVALID_CLIENT},
		{"ip:2001:db8:0:0::17", TS_OK},
		{"ip:2001:db8::18", TS_INVALID_CLIENT},
		{"ip:not-an-address", TS_INVALID_CLIENT},
		{"email:ops@example.com", TS_OK},
		{"email:ops@example.org", TS_INVALID_CLIENT},
		{"dns:urn:dev:sensor-17", TS_INVALID_CLIENT},  /* a URI is no DNS name */
		{"uri:sensor-17.devices.example", TS_INVALID_CLIENT},
		{"other:sensor-17", TS_INVALID_CLIENT},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(tls(ca_path, &leaf, NULL, NULL, cases[i].san) == cases[i].rc,
		              "%s", cases[i].san);
	/* a certificate without any SAN */
	ck_assert_int_eq(tls(ca_path, &selfsigned, NULL, NULL, "dns:thermostat-9"),
	                 TS_INVALID_CLIENT);
}
END_TEST

/* docs/security.md row 102: the chain verifies to the configured CA, for client use, now */
START_TEST(test_row102_chain_to_the_ca)
{
	client_ca *c = load(ca_path);
	struct cert_chain ch = chain_of(&leaf, NULL);

	/* another CA of the same name, and its certificate of the same subject */
	ck_assert_int_eq(tls(ca_path, &other_leaf, NULL, DN, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(tls(other_ca_path, &leaf, NULL, DN, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(tls(other_ca_path, &other_leaf, NULL, DN, NULL), TS_OK);
	/* self-signed, with the subject registered */
	ck_assert_int_eq(tls(ca_path, &selfsigned, NULL, "CN=thermostat-9", NULL),
	                 TS_INVALID_CLIENT);
	/* a certificate for servers only (extendedKeyUsage serverAuth) */
	ck_assert_int_eq(tls(ca_path, &server_only, NULL, DN, NULL), TS_INVALID_CLIENT);
	/* through an intermediate the client sends; not without it */
	ck_assert_int_eq(tls(ca_path, &via_inter, &inter, NULL, "dns:sensor-18.devices.example"),
	                 TS_OK);
	ck_assert_int_eq(tls(ca_path, &via_inter, NULL, NULL, "dns:sensor-18.devices.example"),
	                 TS_INVALID_CLIENT);
	/* expired, or not valid yet */
	ck_assert_int_eq(client_cert_tls_auth(c, &ch, now + 3 * 86400, DN, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(client_cert_tls_auth(c, &ch, now - 86400, DN, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(client_cert_tls_auth(c, &ch, now, DN, NULL), TS_OK);
	/* no CA configured, no certificate, a broken one */
	ck_assert_int_eq(client_cert_tls_auth(NULL, &ch, now, DN, NULL), TS_INVALID_CLIENT);
	ch.n = 0;
	ck_assert_int_eq(client_cert_tls_auth(c, &ch, now, DN, NULL), TS_INVALID_CLIENT);
	ch = chain_of(&leaf, NULL);
	ch.len[0] -= 1;
	ck_assert_int_eq(client_cert_tls_auth(c, &ch, now, DN, NULL), TS_INVALID_CLIENT);
	client_ca_free(c);
}
END_TEST

START_TEST(test_ca_file_errors)
{
	client_ca *c = (client_ca *)1;
	char *why = NULL, path[320];
	FILE *f;

	ck_assert_int_eq(client_ca_load("/nonexistent/ca.pem", &c, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/ca.pem"));
	free(why);
	snprintf(path, sizeof path, "%s/empty.pem", dir);
	f = fopen(path, "w");
	fputs("not a certificate\n", f);
	fclose(f);
	ck_assert_int_eq(client_ca_load(path, &c, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "no PEM certificate"));
	free(why);
	unlink(path);
}
END_TEST

/* The public JWK of a key: through lib/common/jwt for P-256 and RSA (the code that makes
 * Tessera's own /jwks), by hand for Ed25519. With x5c of cert when cert is not NULL. */
static char *jwks_of(const struct cert *c, int with_key, const struct cert *x5c)
{
	json_t *jwk = NULL, *set;
	char *text;

	if (with_key && EVP_PKEY_is_a(c->key, "ED25519")) {
		unsigned char raw[32];
		size_t n = sizeof raw;
		char x[B64URL_LEN(32)];

		ck_assert_int_eq(EVP_PKEY_get_raw_public_key(c->key, raw, &n), 1);
		b64url_encode(raw, n, x);
		jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);
	} else if (with_key) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem, *data;
		long len;
		jwt_key *k = NULL;

		ck_assert_int_eq(PEM_write_bio_PrivateKey(b, c->key, NULL, NULL, 0, NULL, NULL), 1);
		len = BIO_get_mem_data(b, &data);
		pem = strndup(data, (size_t)len);
		ck_assert_int_eq(jwt_key_load(EVP_PKEY_is_a(c->key, "RSA") ? "RS256" : "ES256", pem,
		                              &k), TS_OK);
		jwk = jwt_key_public_jwk(k);
		jwt_key_free(k);
		free(pem);
		BIO_free(b);
	} else {
		jwk = json_pack("{s:s, s:s}", "kty", "EC", "kid", "cert-only");
	}
	if (x5c) {
		char *b64 = malloc(x5c->len * 2 + 4);

		EVP_EncodeBlock((unsigned char *)b64, x5c->der, (int)x5c->len);
		json_object_set_new(jwk, "x5c", json_pack("[s]", b64));
		free(b64);
	}
	set = json_pack("{s:[o]}", "keys", jwk);
	text = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	return text;
}

static ts_err self_signed(const struct cert *presented, const char *jwks)
{
	struct cert_chain ch = chain_of(presented, NULL);

	return client_cert_self_signed(&ch, jwks);
}

/* docs/security.md row 103: the certificate, or its key, is one the client registered */
START_TEST(test_row103_self_signed_registered_keys)
{
	const struct cert *keys[] = {&selfsigned, &selfsigned_rsa, &selfsigned_ed};
	char *j, two[8192];
	size_t i;

	for (i = 0; i < 3; i++) {
		/* the key itself */
		j = jwks_of(keys[i], 1, NULL);
		ck_assert_msg(self_signed(keys[i], j) == TS_OK, "key %zu: %s", i, j);
		ck_assert_int_eq(self_signed(&stranger, j), TS_INVALID_CLIENT);
		free(j);
		/* the certificate in x5c, next to a key that is not its own */
		j = jwks_of(&stranger, 0, keys[i]);
		ck_assert_msg(self_signed(keys[i], j) == TS_OK, "x5c %zu: %s", i, j);
		free(j);
	}
	/* a certificate in x5c that is not the one presented; another key of the same curve */
	j = jwks_of(&stranger, 1, &stranger);
	ck_assert_int_eq(self_signed(&selfsigned, j), TS_INVALID_CLIENT);
	/* and with the right key second in the set */
	snprintf(two, sizeof two, "{\"keys\":[%.*s,", (int)(strlen(j) - 11), j + 9);
	free(j);
	j = jwks_of(&selfsigned, 1, NULL);
	snprintf(two + strlen(two), sizeof two - strlen(two), "%s", j + 9);
	ck_assert_msg(self_signed(&selfsigned, two) == TS_OK, "%s", two);
	free(j);
}
END_TEST

/* The PEM text of c's certificate (malloc'd). */
static char *pem_of(const struct cert *c)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(PEM_write_bio_X509(b, c->x), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

/* docs/security.md row 103: --cert-file registers the certificate itself (x5c, with its kty):
 * that certificate authenticates, another of the same subject does not; text without a
 * certificate is refused with a reason. */
START_TEST(test_row103_certificate_registered_from_pem)
{
	static const struct { const struct cert *c; const char *kty; } cases[] = {
		{&selfsigned, "EC"}, {&selfsigned_rsa, "RSA"}, {&selfsigned_ed, "OKP"}};
	const char *why = "unset";
	char *pem, *j, *x5c;
	json_t *set, *jwk;
	unsigned char der[8192];
	size_t i;
	long n;

	for (i = 0; i < 3; i++) {
		pem = pem_of(cases[i].c);
		j = client_cert_jwks(pem, &why);
		ck_assert_msg(j && !why, "%zu: %s", i, why ? why : "");
		set = json_loads(j, 0, NULL);
		jwk = json_array_get(json_object_get(set, "keys"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), cases[i].kty);
		x5c = (char *)json_string_value(json_array_get(json_object_get(jwk, "x5c"), 0));
		ck_assert_ptr_nonnull(x5c);
		n = b64_decode(x5c, strlen(x5c), der);
		ck_assert(n > 0 && (size_t)n == cases[i].c->len);
		ck_assert(memcmp(der, cases[i].c->der, cases[i].c->len) == 0);
		ck_assert_int_eq(self_signed(cases[i].c, j), TS_OK);
		ck_assert_int_eq(self_signed(&stranger, j), TS_INVALID_CLIENT);
		json_decref(set);
		free(j);
		free(pem);
	}
	why = NULL;
	ck_assert_ptr_null(client_cert_jwks("not a certificate", &why));
	ck_assert_ptr_nonnull(why);
	why = NULL;
	ck_assert_ptr_null(client_cert_jwks("", &why));
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* docs/security.md row 103: nothing registered, or nothing usable, matches nothing */
START_TEST(test_row103_self_signed_refusals)
{
	struct cert_chain none = {.n = 0};
	char *j = jwks_of(&selfsigned, 1, NULL);

	ck_assert_int_eq(self_signed(&selfsigned, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(self_signed(&selfsigned, "{}"), TS_INVALID_CLIENT);
	ck_assert_int_eq(self_signed(&selfsigned, "{\"keys\":[]}"), TS_INVALID_CLIENT);
	ck_assert_int_eq(self_signed(&selfsigned, "not json"), TS_INVALID_CLIENT);
	ck_assert_int_eq(self_signed(&selfsigned, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
	                                           "\"x\":\"!!\",\"y\":\"\"}]}"), TS_INVALID_CLIENT);
	ck_assert_int_eq(self_signed(&selfsigned, "{\"keys\":[{\"x5c\":[\"@@@\"]}]}"),
	                 TS_INVALID_CLIENT);
	ck_assert_int_eq(client_cert_self_signed(&none, j), TS_INVALID_CLIENT);
	/* the RSA key's JWK does not match the EC certificate, nor the reverse */
	free(j);
	j = jwks_of(&selfsigned_rsa, 1, NULL);
	ck_assert_int_eq(self_signed(&selfsigned, j), TS_INVALID_CLIENT);
	free(j);
	j = jwks_of(&selfsigned, 1, NULL);
	ck_assert_int_eq(self_signed(&selfsigned_rsa, j), TS_INVALID_CLIENT);
	free(j);
}
END_TEST

/* docs/security.md row 104: cnf.x5t#S256 is the base64url SHA-256 of the DER, and a bound
 * token goes only with its certificate */
START_TEST(test_row104_binding)
{
	char x5t[CERTBIND_X5T_LEN + 1], other[CERTBIND_X5T_LEN + 1];
	unsigned char h[32];
	unsigned len = 0;
	char want[B64URL_LEN(32)];
	json_t *bound, *unbound, *odd, *jkt;

	EVP_Digest(leaf.der, leaf.len, h, &len, EVP_sha256(), NULL);
	b64url_encode(h, 32, want);
	certbind_x5t(leaf.der, leaf.len, x5t);
	ck_assert_str_eq(x5t, want);
	ck_assert_uint_eq(strlen(x5t), CERTBIND_X5T_LEN);
	certbind_x5t(other_leaf.der, other_leaf.len, other);
	bound = json_pack("{s:s, s:{s:s}}", "sub", "x", "cnf", "x5t#S256", x5t);
	unbound = json_pack("{s:s}", "sub", "x");
	odd = json_pack("{s:{s:i}}", "cnf", "x5t#S256", 7);
	jkt = json_pack("{s:{s:s}}", "cnf", "jkt", "abc");
	ck_assert_str_eq(certbind_claim(bound), x5t);
	ck_assert_ptr_null(certbind_claim(unbound));
	ck_assert_int_eq(certbind_ok(bound, x5t), 1);
	ck_assert_int_eq(certbind_ok(bound, other), 0);
	ck_assert_int_eq(certbind_ok(bound, NULL), 0);
	ck_assert_int_eq(certbind_ok(bound, ""), 0);
	ck_assert_int_eq(certbind_ok(unbound, NULL), 1);
	ck_assert_int_eq(certbind_ok(unbound, x5t), 1);
	ck_assert_int_eq(certbind_ok(odd, x5t), 0);
	ck_assert_int_eq(certbind_ok(jkt, NULL), 1);   /* DPoP's binding is not judged here */
	json_decref(bound);
	json_decref(unbound);
	json_decref(odd);
	json_decref(jkt);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("client_cert");
	TCase *t = tcase_create("core");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_row102_subject_dn);
	tcase_add_test(t, test_row102_subject_alt_names);
	tcase_add_test(t, test_row102_chain_to_the_ca);
	tcase_add_test(t, test_ca_file_errors);
	tcase_add_test(t, test_row103_self_signed_registered_keys);
	tcase_add_test(t, test_row103_self_signed_refusals);
	tcase_add_test(t, test_row103_certificate_registered_from_pem);
	tcase_add_test(t, test_row104_binding);
	suite_add_tcase(s, t);
	return s;
}

static void free_cert(struct cert *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->x);
	free(c->der);
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	struct cert *all[] = {&ca, &inter, &other_ca, &leaf, &via_inter, &other_leaf, &server_only,
	                      &selfsigned, &selfsigned_rsa, &selfsigned_ed, &stranger};
	size_t i;
	int failed;

	setup_all();   /* once: the forked tests share it */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unlink(ca_path);
	unlink(other_ca_path);
	rmdir(dir);
	for (i = 0; i < sizeof all / sizeof all[0]; i++)
		free_cert(all[i]);
	return failed ? 1 : 0;
}
