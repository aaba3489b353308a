/* Unit tests for lib/tls: reading and checking the TLS certificate and key files, with keys and
 * certificates made here with OpenSSL. (That a key matches its certificate is GnuTLS's check at
 * start: tests/e2e/test_tls.py.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "tls.h"

static char dir[] = "/tmp/tessera-tls-XXXXXX";
static char cert_pem[8192], key_pem[8192], old_pem[8192], future_pem[8192];
static int64_t now;

static char *path(const char *name)
{
	static char buf[4][256];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *text, size_t n)
{
	FILE *f = fopen(path(name), "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void put(const char *name, const char *text)
{
	write_file(name, text, strlen(text));
}

/* The PEM text of a self-signed certificate for key, valid from now + from to now + to. */
static void make_cert(EVP_PKEY *key, long from, long to, char *out, size_t n)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, from, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, to, NULL);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509(b, x), 1);
	len = BIO_get_mem_data(b, &data);
	ck_assert_uint_lt((size_t)len, n);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(b);
	X509_free(x);
}

static void key_text(EVP_PKEY *key, const EVP_CIPHER *enc, char *out, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, key, enc, (unsigned char *)(enc ? "pass" : NULL),
	                                          enc ? 4 : 0, NULL, NULL), 1);
	len = BIO_get_mem_data(b, &data);
	ck_assert_uint_lt((size_t)len, n);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(b);
}

static void setup(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char enc[8192], chain[16384], params[sizeof key_pem + 128];

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	now = (int64_t)time(NULL);
	make_cert(key, -60, 86400, cert_pem, sizeof cert_pem);
	make_cert(key, -2 * 86400, -86400, old_pem, sizeof old_pem);
	make_cert(key, 86400, 2 * 86400, future_pem, sizeof future_pem);
	key_text(key, NULL, key_pem, sizeof key_pem);
	key_text(key, EVP_aes_256_cbc(), enc, sizeof enc);
	EVP_PKEY_free(key);
	put("cert.pem", cert_pem);
	put("key.pem", key_pem);
	put("old.pem", old_pem);
	put("future.pem", future_pem);
	put("enc.key", enc);
	put("empty", "");
	snprintf(chain, sizeof chain, "%s%s", cert_pem, old_pem);
	put("chain.pem", chain);
	/* a chain whose second certificate is cut short */
	snprintf(chain, sizeof chain, "%s%.*s\n-----END CERTIFICATE-----\n", cert_pem, 120,
	         old_pem);
	put("broken.pem", chain);
	/* as `openssl ecparam -genkey` writes it: the curve's parameters, then the key */
	snprintf(params, sizeof params, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
	         "-----END EC PARAMETERS-----\n%s", key_pem);
	put("params.key", params);
	write_file("nul.key", "-----BEGIN PRIVATE KEY-----\n\0\n-----END PRIVATE KEY-----\n", 56);
}

static void teardown(void)
{
	const char *names[] = {"cert.pem", "key.pem", "old.pem", "future.pem", "enc.key", "empty",
	                       "chain.pem", "broken.pem", "params.key", "nul.key"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(path(names[i]));
	rmdir(dir);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

/* Loads and expects rc; *why contains words (NULL: no why at all). Returns nothing. */
static void expect(const char *cert, const char *key, ts_err rc, const char *words)
{
	struct tls_pem p;
	char *why = (char *)"unset";

	ck_assert_int_eq(tls_pem_load(path(cert), path(key), now, &p, &why), rc);
	if (words) {
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, words), "\"%s\" not in \"%s\"", words, why);
	} else {
		ck_assert_ptr_null(why);
	}
	if (rc != TS_OK) {
		ck_assert_ptr_null(p.cert);
		ck_assert_ptr_null(p.key);
	}
	free(why);
	tls_pem_wipe(&p);
	ck_assert_ptr_null(p.key);
	ck_assert_uint_eq(p.key_len, 0);
}

START_TEST(test_good_pair)
{
	struct tls_pem p;
	char *why = NULL;

	ck_assert_int_eq(tls_pem_load(path("cert.pem"), path("key.pem"), now, &p, &why), TS_OK);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(p.cert, cert_pem);
	ck_assert_str_eq(p.key, key_pem);
	ck_assert_uint_eq(p.key_len, strlen(key_pem));
	tls_pem_wipe(&p);
	ck_assert_ptr_null(p.cert);
	ck_assert_ptr_null(p.key);
	tls_pem_wipe(&p); /* twice, and on an empty one: harmless */
}
END_TEST

START_TEST(test_chain_and_key_forms)
{
	expect("chain.pem", "key.pem", TS_OK, NULL);
	expect("cert.pem", "params.key", TS_OK, NULL);
}
END_TEST

START_TEST(test_bad_files)
{
	expect("none.pem", "key.pem", TS_INVALID_REQUEST, "cannot read the TLS certificate");
	expect("none.pem", "key.pem", TS_INVALID_REQUEST, "No such file or directory");
	expect("cert.pem", "none.key", TS_INVALID_REQUEST, "cannot read the TLS key");
	expect("empty", "key.pem", TS_INVALID_REQUEST, "certificate");
	expect("empty", "key.pem", TS_INVALID_REQUEST, "is empty");
	expect("cert.pem", "empty", TS_INVALID_REQUEST, "the TLS key");
	expect("cert.pem", ".", TS_INVALID_REQUEST, "is not a regular file");
	expect("cert.pem", "nul.key", TS_INVALID_REQUEST, "is not a PEM file");
	expect("key.pem", "key.pem", TS_INVALID_REQUEST, "holds no valid PEM certificate");
	expect("broken.pem", "key.pem", TS_INVALID_REQUEST, "holds no valid PEM certificate");
	expect("cert.pem", "cert.pem", TS_INVALID_REQUEST, "holds no PEM private key");
	expect("cert.pem", "enc.key", TS_INVALID_REQUEST, "is encrypted");
}
END_TEST

START_TEST(test_file_named_in_the_reason)
{
	struct tls_pem p;
	char *why = NULL;
	char want[300];

	ck_assert_int_eq(tls_pem_load(path("cert.pem"), path("enc.key"), now, &p, &why),
	                 TS_INVALID_REQUEST);
	snprintf(want, sizeof want, "the TLS key %s is encrypted", path("enc.key"));
	ck_assert_ptr_nonnull(strstr(why, want));
	free(why);
}
END_TEST

START_TEST(test_validity_warnings)
{
	expect("old.pem", "key.pem", TS_OK, "warning: the TLS certificate");
	expect("old.pem", "key.pem", TS_OK, "has expired");
	expect("future.pem", "key.pem", TS_OK, "is not valid yet");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tls");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_good_pair);
	tcase_add_test(t, test_chain_and_key_forms);
	tcase_add_test(t, test_bad_files);
	tcase_add_test(t, test_file_named_in_the_reason);
	tcase_add_test(t, test_validity_warnings);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
