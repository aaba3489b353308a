/* httphdr.c - cookies, entity-tag lists and body framing in request headers (see httphdr.h). */
#include <string.h>
#include <strings.h>
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

/* 1 when c is an RFC 9110 tchar. */
static int tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* 1 when the n bytes at s are a non-empty token. */
static int token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* The digits of a Content-Length without leading zeros ("" for 0); NULL when it is not
 * 1*DIGIT. */
static const char *cl_digits(const char *v)
{
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return NULL;
	return v + strspn(v, "0");
}

/* Why the Transfer-Encoding value v is refused. */
static const char *te_problem(const char *v)
{
	const char *p = v, *last = NULL;
	size_t n, last_n = 0, codings = 0, chunked = 0;

	while (*p) {
		p += strspn(p, " \t,");
		if (!*p)
			break;
		n = strcspn(p, ",");
		while (n && ows(p[n - 1]))
			n--;
		if (!token(p, n))
			return "malformed Transfer-Encoding";
		codings++;
		if (n == 7 && strncasecmp(p, "chunked", 7) == 0)
			chunked++;
		last = p, last_n = n;
		p += n;
		p += strspn(p, " \t");
		if (*p && *p != ',')
			return "malformed Transfer-Encoding";
	}
	if (!last || last_n != 7 || strncasecmp(last, "chunked", 7) != 0)
		return "Transfer-Encoding must end with chunked";
	if (chunked > 1)
		return "chunked applied more than once";
	if (codings > 1)
		return "unsupported transfer coding: only chunked is accepted";
	return "Transfer-Encoding must be exactly chunked";
}

void httphdr_framing_field(struct httphdr_framing *f, const char *name, const char *value)
{
	const char *v;

	if (f->why)
		return;
	if (!token(name, strlen(name))) {
		f->why = "malformed header field name";
		return;
	}
	for (v = value; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f) {
			f->why = "control character in a header field";
			return;
		}
	if (strcasecmp(name, "Content-Length") == 0) {
		if (!cl_digits(value))
			f->why = "malformed Content-Length";
		else if (f->cl && strcmp(cl_digits(f->cl_first), cl_digits(value)) != 0)
			f->why = "Content-Length repeated with different values";
		if (!f->cl++)
			f->cl_first = value;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		/* libmicrohttpd reads a body as chunked only for exactly this one value */
		if (f->te++)
			f->why = "Transfer-Encoding repeated";
		else if (strcasecmp(value, "chunked") != 0)
			f->why = te_problem(value);
	}
}

const char *httphdr_framing_check(const struct httphdr_framing *f, int http10)
{
	if (f->why)
		return f->why;
	if (f->te && f->cl)
		return "both Content-Length and Transfer-Encoding";
	if (f->te && http10)
		return "Transfer-Encoding in an HTTP/1.0 request";
	return NULL;
}
