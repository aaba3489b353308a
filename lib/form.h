/* form.h - application/x-www-form-urlencoded bodies and query strings, and HTTP Basic
 * credentials (RFC 6749 §2.3.1: form-urlencoded inside Basic). */
#ifndef TESSERA_FORM_H
#define TESSERA_FORM_H

#include <stddef.h>
#include "err.h"

#define FORM_MAX_PAIRS 64

struct form_pair {
	char *key;
	char *val; /* NUL-terminated; holds no NUL byte */
};

struct form {
	size_t n;
	struct form_pair p[FORM_MAX_PAIRS];
	const char *repeated; /* form_parse_repeats: the first key given twice (its first value
	                       * is kept), or NULL */
};

/* Parses len bytes of "k=v&k2=v2" ('+' is space, %XX escapes) into *out (caller form_free's).
 * TS_INVALID_REQUEST for: a parameter given twice (RFC 6749 §3.1), a bad %-escape, a decoded NUL byte, invalid
 * UTF-8, or more than FORM_MAX_PAIRS parameters. Empty segments are skipped. *why (if not NULL)
 * points to a static text describing the failure. TS_SERVER_ERROR when out of memory. */
ts_err form_parse(const char *body, size_t len, struct form **out, const char **why);

/* As form_parse, but a repeated parameter is not an error: its first value is kept and
 * (*out)->repeated names it, for a caller that must still answer from the other parameters
 * (the authorization endpoint redirects its invalid_request to a valid redirect URI). */
ts_err form_parse_repeats(const char *body, size_t len, struct form **out, const char **why);

/* The value of key, or NULL when absent. Owned by the form. */
const char *form_get(const struct form *f, const char *key);

/* Wipes every value (they may be secrets) and frees. NULL is fine. */
void form_free(struct form *f);

/* Parses an Authorization header value "Basic base64(urlenc(id):urlenc(secret))" (scheme name
 * case-insensitive). *id and *secret are malloc'd (caller frees; secret with secret_free).
 * TS_NOT_FOUND when the scheme is not Basic; TS_INVALID_CLIENT when it is Basic but malformed
 * (bad base64, no ':', empty id, bad escapes, NUL, invalid UTF-8, over 1024 bytes). */
ts_err form_basic_auth(const char *header, char **id, char **secret);

/* 1 when the n bytes at s are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF), else 0. */
int form_utf8_valid(const unsigned char *s, size_t n);

#endif
