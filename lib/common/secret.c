/* secret.c - random tokens, SHA-256, constant-time comparison, wiping. */
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

/* SHA-256 as fetched by secret_init: the one-shot SHA256() looks the algorithm up again at every
 * call, which cost as much as hashing a token. Only the daemon fetches it (before its threads
 * start): a plugin, which its host may unload, keeps nothing for the life of the process. */
static EVP_MD *sha256_md;

void secret_init(void)
{
	if (!sha256_md)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void secret_sha256(const void *data, size_t n, unsigned char out[32])
{
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
