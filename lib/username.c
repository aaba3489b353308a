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

/* s[0..n) trimmed, into a new NUL-terminated string; NULL when empty or out of memory. */
static char *trimmed_copy(const uint8_t *s, size_t n)
{
	size_t b, e;

	trim_range(s, n, &b, &e);
	return e > b ? strndup((const char *)s + b, e - b) : NULL;
}

char *username_key(const char *name)
{
	const uint8_t *s = (const uint8_t *)name;
	uint8_t *kept, *f1 = NULL, *f2 = NULL;
	size_t n, i, m = 0, n1 = 0, n2 = 0;
	char *key = NULL;
	ucs4_t c;
	int k;

	if (!name)
		return NULL;
	n = strlen(name);
	if (u8_check(s, n) || !(kept = malloc(n + 1)))
		return NULL;
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
	trim_range(kept, m, &i, &n);
	if (n == i)
		goto out;
	f1 = u8_casefold(kept + i, n - i, NULL, UNINORM_NFKC, NULL, &n1);
	if (f1)
		f2 = u8_casefold(f1, n1, NULL, UNINORM_NFKC, NULL, &n2);
	if (f2)
		key = trimmed_copy(f2, n2);
out:
	free(kept);
	free(f1);
	free(f2);
	return key;
}
