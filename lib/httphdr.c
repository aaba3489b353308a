/* httphdr.c - cookies and entity-tag lists in request headers (see httphdr.h). */
#include <string.h>
#include "httphdr.h"

static int ows(char c)
{
	return c == ' ' || c == '\t';
}

const char *httphdr_cookie(const char *header, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = header, *end, *eq, *k, *ke, *v, *ve;

	if (!header)
		return NULL;
	while (*p) {
		end = p + strcspn(p, ";");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			for (k = p; k < eq && ows(*k); k++)
				;
			for (ke = eq; ke > k && ows(ke[-1]); ke--)
				;
			for (v = eq + 1; v < end && ows(*v); v++)
				;
			for (ve = end; ve > v && ows(ve[-1]); ve--)
				;
			if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
				v++;
				ve--;
			}
			if ((size_t)(ke - k) == nl && memcmp(k, name, nl) == 0) {
				*len = (size_t)(ve - v);
				return v;
			}
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

/* The opaque tag (quotes included) of an entity tag at s: its start, length in *n; NULL when
 * s does not start with [W/]"...". *end is set after the tag. */
static const char *opaque_tag(const char *s, size_t *n, const char **end)
{
	const char *q;

	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	if (*s != '"' || !(q = strchr(s + 1, '"')))
		return NULL;
	*n = (size_t)(q + 1 - s);
	*end = q + 1;
	return s;
}

int httphdr_etag_listed(const char *header, const char *version)
{
	const char *p = header, *want, *tag, *end;
	size_t wn, n;

	if (!header || !version || !(want = opaque_tag(version, &wn, &end)) || *end)
		return 0;
	while (*p) {
		while (ows(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		tag = opaque_tag(p, &n, &end);
		if (!tag) {
			/* an opening quote never closed: the rest of the header is inside it */
			if (p[strncmp(p, "W/", 2) == 0 ? 2 : 0] == '"')
				return 0;
			/* "*" alone, or a malformed element that lists nothing */
			if (*p == '*') {
				for (end = p + 1; ows(*end); end++)
					;
				if (!*end || *end == ',')
					return 1;
			}
			p += strcspn(p, ",");
			continue;
		}
		for (p = end; ows(*p); p++)
			;
		if (*p && *p != ',') {	/* junk after the tag: the element is malformed */
			p += strcspn(p, ",");
			continue;
		}
		if (n == wn && memcmp(tag, want, n) == 0)
			return 1;
	}
	return 0;
}
