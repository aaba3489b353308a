/* tls.c - reads the TLS certificate and key files and checks what can be checked before the HTTP
 * layer (libmicrohttpd's GnuTLS) gets them, so that most mistakes are named with the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "secret.h"
#include "tls.h"

/* A certificate chain or a key is a few KiB; anything this big is the wrong file. */
#define PEM_MAX (1024 * 1024)

/* Reads the whole regular file at path into a NUL-terminated malloc'd buffer. read(2) straight
 * into it, not stdio: no copy of a key is left behind in a stdio buffer that is freed unwiped.
 * On failure the partial buffer is wiped too, and *why says what went wrong. */
static ts_err read_file(const char *path, const char *what, char **out, size_t *len, char **why)
{
	struct stat st;
	size_t n = 0;
	ssize_t got;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0) {
		*why = err_why("cannot read the TLS %s %s: %s", what, path, strerror(errno));
		return TS_INVALID_REQUEST;
	}
	if (fstat(fd, &st) != 0) {
		*why = err_why("cannot read the TLS %s %s: %s", what, path, strerror(errno));
		close(fd);
		return TS_INVALID_REQUEST;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX) {
		*why = err_why("the TLS %s %s is %s", what, path,
		               !S_ISREG(st.st_mode) ? "not a regular file" :
		               st.st_size <= 0 ? "empty" : "too large for a PEM file");
		close(fd);
		return TS_INVALID_REQUEST;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		*why = err_why("out of memory");
		return TS_SERVER_ERROR;
	}
	while (n < (size_t)st.st_size &&
	       ((got = read(fd, buf + n, (size_t)st.st_size - n)) > 0 || (got < 0 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	close(fd);
	buf[n] = '\0';
	/* the TLS library takes the text up to the first NUL */
	if (n == 0 || memchr(buf, '\0', n)) {
		*why = err_why("the TLS %s %s is %s", what, path, n ? "not a PEM file" : "empty");
		secret_wipe(buf, n);
		free(buf);
		return TS_INVALID_REQUEST;
	}
	*out = buf;
	*len = n;
	return TS_OK;
}

/* OpenSSL would ask on the terminal for the passphrase of an encrypted key: refuse instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The first certificate of the PEM text (the server's), after checking that every certificate
 * in it parses; NULL when none or one is bad. */
static X509 *first_certificate(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *first = NULL, *x;
	unsigned long e;

	if (!bio)
		return NULL;
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
		if (!first)
			first = x;
		else
			X509_free(x);
	}
	/* the loop ends at the end of the text ("no start line") or at a broken certificate */
	e = ERR_peek_last_error();
	if (first && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		X509_free(first);
		first = NULL;
	}
	ERR_clear_error();
	BIO_free(bio);
	return first;
}

/* 1 when the text holds a PEM private key block ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE
 * KEY"; an "EC PARAMETERS" block may come first). Only the armour is looked at: the key itself
 * is parsed once, by GnuTLS, which also checks that it matches the certificate. Parsing it here
 * too would leave more copies of it in freed memory (measured: OpenSSL's decoder leaves two). */
static int has_key_block(const char *pem)
{
	const char *b, *end;
	size_t n;

	for (b = strstr(pem, "-----BEGIN "); b; b = strstr(b + 11, "-----BEGIN ")) {
		end = strchr(b + 11, '\n');
		n = end ? (size_t)(end - b) : strlen(b);
		while (n && (b[n - 1] == '\r' || b[n - 1] == ' '))
			n--;
		if (n >= 27 && memcmp(b + n - 16, "PRIVATE KEY-----", 16) == 0)
			return 1;
	}
	return 0;
}

ts_err tls_pem_load(const char *cert_path, const char *key_path, int64_t now,
                    struct tls_pem *out, char **why)
{
	size_t cert_len = 0;
	X509 *cert = NULL;
	time_t t = (time_t)now;
	ts_err rc;

	memset(out, 0, sizeof *out);
	*why = NULL;
	rc = read_file(cert_path, "certificate", &out->cert, &cert_len, why);
	if (rc == TS_OK)
		rc = read_file(key_path, "key", &out->key, &out->key_len, why);
	if (rc != TS_OK)
		goto fail;
	rc = TS_INVALID_REQUEST;
	cert = first_certificate(out->cert, cert_len);
	if (!cert) {
		*why = err_why("the TLS certificate %s holds no valid PEM certificate", cert_path);
		goto fail;
	}
	if (strstr(out->key, "ENCRYPTED")) {
		*why = err_why("the TLS key %s is encrypted: give it unencrypted, readable only by the "
		               "daemon's user", key_path);
		goto fail;
	}
	if (!has_key_block(out->key)) {
		*why = err_why("the TLS key %s holds no PEM private key", key_path);
		goto fail;
	}
	if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0)
		*why = err_why("warning: the TLS certificate %s has expired", cert_path);
	else if (X509_cmp_time(X509_get0_notBefore(cert), &t) > 0)
		*why = err_why("warning: the TLS certificate %s is not valid yet", cert_path);
	X509_free(cert);
	return TS_OK;
fail:
	X509_free(cert);
	tls_pem_wipe(out);
	if (!*why)
		rc = TS_SERVER_ERROR;
	return rc;
}

void tls_pem_wipe(struct tls_pem *p)
{
	if (p->key) {
		secret_wipe(p->key, p->key_len);
		free(p->key);
	}
	free(p->cert);
	memset(p, 0, sizeof *p);
}
