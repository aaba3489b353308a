/* b64.c - base64url and base64 (RFC 4648 §4 and §5), strict.
 *
 * Decoders accept only the canonical encoding: no whitespace, no characters from the other
 * alphabet, no impossible lengths, and the unused low bits of the last character must be zero
 * (RFC 4648 §3.5), so every byte string has exactly one accepted encoding. */
#include <limits.h>
#include <stdint.h>

#include "b64.h"

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in the base64 alphabet whose two last characters are c62 and c63,
 * or -1. */
static int b64_value(unsigned char c, char c62, char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (unsigned char)c62)
		return 62;
	if (c == (unsigned char)c63)
		return 63;
	return -1;
}

size_t b64url_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/* Decodes n characters without padding of the alphabet (c62, c63) into out and NUL-terminates
 * it. n % 4 == 1 is impossible; a partial last group must have its unused bits clear. */
static long b64_decode_raw(const char *in, size_t n, unsigned char *out, char c62, char c63)
{
	size_t i, o = 0, rest;
	uint32_t v;
	int d[4];
	int k;

	if (n % 4 == 1 || n / 4 > (size_t)LONG_MAX / 3)
		return -1;
	for (i = 0; i + 4 <= n; i += 4) {
		for (k = 0; k < 4; k++) {
			d[k] = b64_value((unsigned char)in[i + k], c62, c63);
			if (d[k] < 0)
				return -1;
		}
		v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 | (uint32_t)d[3];
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	rest = n - i;
	if (rest) {
		d[2] = 0;
		for (k = 0; k < (int)rest; k++) {
			d[k] = b64_value((unsigned char)in[i + k], c62, c63);
			if (d[k] < 0)
				return -1;
		}
		v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6;
		if (rest == 2 && (v & 0xffff) != 0)
			return -1;
		if (rest == 3 && (v & 0xff) != 0)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	out[o] = '\0';
	return (long)o;
}

long b64url_decode(const char *in, size_t n, unsigned char *out)
{
	return b64_decode_raw(in, n, out, '-', '_');
}

long b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t pad = 0;

	if (n % 4 != 0)
		return -1;
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	/* "====" and "x===" are impossible; b64_decode_raw rejects any other '='. */
	return b64_decode_raw(in, n - pad, out, '+', '/');
}
