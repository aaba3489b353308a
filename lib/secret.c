/* secret.c - random tokens, SHA-256, constant-time comparison, wiping. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "b64.h"
#include "secret.h"

ts_err secret_bytes(void *out, size_t n)
{
	return n <= 1024 && RAND_bytes(out, (int)n) == 1 ? TS_OK : TS_SERVER_ERROR;
}

ts_err secret_random(char *out, size_t nbytes)
{
	unsigned char buf[64];

	if (nbytes == 0 || nbytes > sizeof buf)
		return TS_SERVER_ERROR;
	if (secret_bytes(buf, nbytes) != TS_OK)
		return TS_SERVER_ERROR;
	b64url_encode(buf, nbytes, out);
	OPENSSL_cleanse(buf, sizeof buf);
	return TS_OK;
}

/* SHA-256 fetched from the provider once: the one-shot SHA256() looks the algorithm up again at
 * every call, which cost as much as hashing a token. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void secret_sha256(const void *data, size_t n, unsigned char out[32])
{
	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md || EVP_Digest(data, n, out, NULL, sha256_md, NULL) != 1)
		SHA256(data, n, out);
}

int secret_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void secret_wipe(void *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
}

void secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
