/* password.c - Argon2id password hashes through libargon2 (see password.h).
 *
 * New hashes use OWASP's minimum for Argon2id: t=2 passes over m=19 MiB, one lane, a 16-byte
 * random salt and a 32-byte tag. Verification takes the parameters from the encoded string, so
 * hashes made with other (e.g. stronger, later) parameters keep working, within PW_MAX_* so that
 * a forged string cannot ask for gigabytes or minutes of work. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "password.h"

#define PW_T 2
#define PW_M 19456               /* KiB */
#define PW_P 1
#define PW_SALT 16
#define PW_TAG 32
#define PW_MAX_LEN 1024          /* bytes of password */

#define PW_MAX_T 16
#define PW_MAX_M (256 * 1024)    /* KiB */
#define PW_MAX_P 16
#define PW_MAX_ENCODED 512

static const char prefix[] = "$argon2id$v=19$m=";

/* Reads a decimal number of at most 10 digits, no sign, at *p, followed by the character end. */
static int read_num(const char **p, char end, uint64_t *v)
{
	const char *q = *p;
	int n = 0;

	*v = 0;
	while (*q >= '0' && *q <= '9' && n < 10) {
		*v = *v * 10 + (uint64_t)(*q - '0');
		q++;
		n++;
	}
	if (n == 0 || *q != end)
		return -1;
	*p = q + 1;
	return 0;
}

/* 1 when encoded looks like one of our Argon2id strings with costs inside the limits; libargon2
 * checks the rest (salt, tag, minimums) when it decodes it. */
static int params_ok(const char *encoded)
{
	const char *p = encoded;
	uint64_t m, t, par;

	if (strnlen(encoded, PW_MAX_ENCODED + 1) > PW_MAX_ENCODED)
		return 0;
	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	p += sizeof(prefix) - 1;
	if (read_num(&p, ',', &m) || strncmp(p, "t=", 2) != 0)
		return 0;
	p += 2;
	if (read_num(&p, ',', &t) || strncmp(p, "p=", 2) != 0)
		return 0;
	p += 2;
	if (read_num(&p, '$', &par))
		return 0;
	return m <= PW_MAX_M && t <= PW_MAX_T && par <= PW_MAX_P;
}

ts_err password_hash(const char *pw, char **encoded)
{
	unsigned char salt[PW_SALT];
	char *enc = NULL;
	ts_err e = TS_SERVER_ERROR;
	size_t len, n;

	if (!encoded)
		return TS_SERVER_ERROR;
	*encoded = NULL;
	if (!pw)
		return TS_INVALID_REQUEST;
	len = strnlen(pw, PW_MAX_LEN + 1);
	if (len == 0 || len > PW_MAX_LEN)
		return TS_INVALID_REQUEST;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto out;
	n = argon2_encodedlen(PW_T, PW_M, PW_P, PW_SALT, PW_TAG, Argon2_id);
	enc = malloc(n);
	if (!enc)
		goto out;
	if (argon2id_hash_encoded(PW_T, PW_M, PW_P, pw, len, salt, sizeof(salt), PW_TAG, enc, n)
			!= ARGON2_OK)
		goto out;
	*encoded = enc;
	enc = NULL;
	e = TS_OK;
out:
	OPENSSL_cleanse(salt, sizeof(salt));
	free(enc);
	return e;
}

ts_err password_verify(const char *encoded, const char *pw)
{
	size_t len;
	int rc;

	if (!encoded || !pw)
		return TS_ACCESS_DENIED;
	len = strnlen(pw, PW_MAX_LEN + 1);
	if (len == 0 || len > PW_MAX_LEN || !params_ok(encoded))
		return TS_ACCESS_DENIED;
	rc = argon2id_verify(encoded, pw, len); /* compares the tags in constant time */
	if (rc == ARGON2_OK)
		return TS_OK;
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		return TS_SERVER_ERROR;
	return TS_ACCESS_DENIED;
}
