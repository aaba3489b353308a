/* username.c - acceptable userNames and their comparison keys (see username.h), on GNU
 * libunistring: its character properties (Unicode's White_Space, Default_Ignorable_Code_Point,
 * general categories) and its case folding with NFKC normalisation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "username.h"

/* The bytes [*b, *e) of s[0..n) without leading and trailing White_Space (s is valid UTF-8). */
static void trim_range(const uint8_t *s, size_t n, size_t *b, size_t *e)
{
	size_t i = 0;
	ucs4_t c;
	int k;

	*b = *e = n;
	while (i < n && (k = u8_mbtoucr(&c, s + i, n - i)) > 0) {
		if (!uc_is_property_white_space(c)) {
			if (*b == n)
				*b = i;
			*e = i + (size_t)k;
		}
		i += (size_t)k;
	}
	if (*b == n)
		*e = n;
}

/* A character that must not be in a name: one that shows nothing or moves the text around. */
static const char *bad_char(ucs4_t c)
{
	if (uc_is_general_category(c, UC_CATEGORY_Cc) || uc_is_general_category(c, UC_CATEGORY_Zl) ||
	    uc_is_general_category(c, UC_CATEGORY_Zp))
		return "must not contain control characters or line breaks";
	if (uc_is_property_default_ignorable_code_point(c))
		return "must not contain invisible characters (zero-width spaces and joiners, "
		       "bidirectional controls, variation selectors, soft hyphens, ...)";
	return NULL;
}

const char *username_problem(const char *given)
{
	const uint8_t *s = (const uint8_t *)given;
	size_t n, i, b, e;
	const char *why;
	ucs4_t c;
	int k;

	if (!given)
		return "is missing";
	n = strlen(given);
	if (u8_check(s, n))
		return "is not valid UTF-8";
	for (i = 0; i < n; i += (size_t)k) {
		k = u8_mbtoucr(&c, s + i, n - i);
		if (k <= 0)
			return "is not valid UTF-8";
		if ((why = bad_char(c)))
			return why;
	}
	trim_range(s, n, &b, &e);
	if (e == b)
		return "must not be empty";
	if (e - b > USERNAME_MAX)
		return "must be at most 255 bytes long";
	return NULL;
}

char *username_trim(const char *given)
{
	const uint8_t *s = (const uint8_t *)given;
	size_t n = strlen(given), b = 0, e = n;

	if (!u8_check(s, n))
		trim_range(s, n, &b, &e);
	return strndup(given + b, e - b);
}

ts_err username_key(const char *name, char **key)
{
	const uint8_t *s = (const uint8_t *)name;
	uint8_t *kept, *f1 = NULL, *f2 = NULL;
	size_t n, i, m = 0, n1 = 0, n2 = 0, b, e;
	ts_err rc = TS_INVALID_REQUEST;
	ucs4_t c;
	int k;

	*key = NULL;
	if (!name)
		return TS_INVALID_REQUEST;
	n = strlen(name);
	if (u8_check(s, n))
		return TS_INVALID_REQUEST;
	if (!(kept = malloc(n + 1)))
		return TS_SERVER_ERROR;
	for (i = 0; i < n; i += (size_t)k) {
		if ((k = u8_mbtoucr(&c, s + i, n - i)) <= 0)
			goto out;
		if (!uc_is_property_default_ignorable_code_point(c)) {
			memcpy(kept + m, s + i, (size_t)k);
			m += (size_t)k;
		}
	}
	/* trimmed first, so that the ends do not take part in the folding; folded twice, since one
	 * NFKC case folding is not always stable (D146's NFKD(toCasefold(NFKD(toCasefold(...))))) */
	trim_range(kept, m, &b, &e);
	if (e == b)
		goto out;
	rc = TS_SERVER_ERROR;
	f1 = u8_casefold(kept + b, e - b, NULL, UNINORM_NFKC, NULL, &n1);
	if (f1)
		f2 = u8_casefold(f1, n1, NULL, UNINORM_NFKC, NULL, &n2);
	if (!f2)
		goto out;
	/* the folding may bring white space to an end (U+00B4 is a space and a combining accent) */
	trim_range(f2, n2, &b, &e);
	if (e == b) {
		rc = TS_INVALID_REQUEST;
		goto out;
	}
	*key = strndup((const char *)f2 + b, e - b);
	rc = *key ? TS_OK : TS_SERVER_ERROR;
out:
	free(kept);
	free(f1);
	free(f2);
	return rc;
}
