/* secret.h - random tokens, hashes of secrets, constant-time comparison and wiping. */
#ifndef TESSERA_SECRET_H
#define TESSERA_SECRET_H

#include <stddef.h>
#include "err.h"

/* Length of the text of a 32-byte (256-bit) random token: 43 base64url characters + NUL. */
#define SECRET_TOKEN_LEN 44

/* Fills out with the base64url text (no padding) of nbytes random bytes from the OpenSSL CSPRNG;
 * out must hold B64URL_LEN(nbytes) bytes. nbytes is at most 64. TS_SERVER_ERROR if the RNG fails. */
ts_err secret_random(char *out, size_t nbytes);

/* Fills out with n (at most 1024) random bytes from the OpenSSL CSPRNG; TS_SERVER_ERROR if it
 * fails. */
ts_err secret_bytes(void *out, size_t n);

/* SHA-256 of n bytes into out. */
void secret_sha256(const void *data, size_t n, unsigned char out[32]);

/* Makes secret_sha256 about twice as fast by fetching the algorithm once. For a process, not a
 * plugin (what it fetches is kept until exit); call it before other threads use secret_sha256. */
void secret_init(void);

/* 1 when the n bytes at a and b are equal, in time independent of their contents, else 0. */
int secret_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes at p with zeros in a way the compiler keeps. NULL is fine. */
void secret_wipe(void *p, size_t n);

/* Wipes and frees a NUL-terminated string. NULL is fine. */
void secret_free(char *s);

#endif
