/* b64.h - base64 and base64url (RFC 4648) without padding surprises. */
#ifndef TESSERA_B64_H
#define TESSERA_B64_H

#include <stddef.h>

/* Bytes needed to hold the base64url encoding of n bytes, without padding, plus a NUL. */
#define B64URL_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Encodes n bytes as base64url without padding into out (B64URL_LEN(n) bytes); returns the
 * length written, not counting the NUL. */
size_t b64url_encode(const void *in, size_t n, char *out);

/* Decodes base64url (no padding, no whitespace) of length n into out (at least n*3/4+1 bytes).
 * Returns the decoded length, or -1 on any invalid character or impossible length. */
long b64url_decode(const char *in, size_t n, unsigned char *out);

/* Decodes standard base64 (RFC 4648 §4, '=' padding required to a multiple of 4) of length n into
 * out (at least n*3/4+1 bytes); returns the length or -1 on any malformation. For HTTP Basic. */
long b64_decode(const char *in, size_t n, unsigned char *out);

#endif
