/* scim_filter_lex.c - the tokens of SCIM filters and PATCH paths (scim_filter.h's grammar):
 * attribute paths with their URN and sub-attribute, and compValues, JSON strings (decoded and
 * checked as UTF-8) and numbers. The grammar above them is scim_filter_parse.c. */
#include "scim_filter_lex.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

const char *const scimf_op_names[9] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};

static char *dup_n(const char *s, size_t n, int fold)
{
	char *d = malloc(n + 1);
	size_t i;

	if (!d)
		return NULL;
	for (i = 0; i < n; i++)
		d[i] = fold ? (char)lower((unsigned char)s[i]) : s[i];
	d[n] = '\0';
	return d;
}

/* 1 if s[0..n) is an ATTRNAME. */
int scimf_valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_namechar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* 1 if s[0..n) is a URN we take as a schema: "urn:" NID ":" NSS, segments of [A-Za-z0-9._-],
 * not ending in a version segment (digits and dots), which means the text was a bare schema URN
 * ("urn:...:2.0:User") rather than URN ":" attribute. */
static int valid_urn(const char *s, size_t n)
{
	size_t i, seg = 0, segs = 0;
	int version = 1;

	if (n < 4 || strncasecmp(s, "urn:", 4) != 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == ':') {
			if (seg == 0)
				return 0;
			segs++;
			if (i == n && version)
				return 0;
			seg = 0;
			version = 1;
			continue;
		}
		if (!is_namechar((unsigned char)s[i]) && s[i] != '.')
			return 0;
		if (!is_digit((unsigned char)s[i]) && s[i] != '.')
			version = 0;
		seg++;
	}
	return segs >= 3;
}

void scimf_attr_clear(struct scimf_attr *a)
{
	free(a->urn);
	free(a->urn_lc);
	free(a->name);
	free(a->name_lc);
	free(a->sub);
	free(a->sub_lc);
	memset(a, 0, sizeof(*a));
}

ts_err scimf_set_part(struct ps *p, char **orig, char **lc, const char *s, size_t n)
{
	*orig = dup_n(s, n, 0);
	*lc = dup_n(s, n, 1);
	if (!*orig || !*lc)
		return oom(p);
	return TS_OK;
}

/* attrPath = [URI ":"] ATTRNAME *1subAttr. in_br: inside "[...]", where only ATTRNAME is allowed. */
ts_err scimf_lex_attrpath(struct ps *p, int in_br, struct scimf_attr *a)
{
	const char *t = p->s + p->pos, *rest, *dot;
	size_t n = 0, rn;
	const char *colon = NULL;
	ts_err e;

	memset(a, 0, sizeof(*a));
	if (!is_alpha((unsigned char)t[0]))
		return fail(p, "expected an attribute name");
	while (is_namechar((unsigned char)t[n]) || t[n] == '.' || t[n] == ':') {
		if (t[n] == ':')
			colon = t + n;
		n++;
	}
	rest = t;
	if (colon) {
		if (in_br)
			return fail(p, "schema URN inside a value filter");
		if (!valid_urn(t, (size_t)(colon - t)))
			return fail(p, valid_urn(t, n) ? "schema URN without an attribute name" :
				       "bad schema URN");
		if ((e = scimf_set_part(p, &a->urn, &a->urn_lc, t, (size_t)(colon - t))) != TS_OK)
			goto bad;
		rest = colon + 1;
	}
	rn = (size_t)(t + n - rest);
	if (rn == 0) {
		e = fail(p, "schema URN without an attribute name");
		goto bad;
	}
	dot = memchr(rest, '.', rn);
	if (!scimf_valid_name(rest, dot ? (size_t)(dot - rest) : rn)) {
		e = fail(p, "bad attribute name");
		goto bad;
	}
	if ((e = scimf_set_part(p, &a->name, &a->name_lc, rest, dot ? (size_t)(dot - rest) : rn)) != TS_OK)
		goto bad;
	if (dot) {
		if (in_br) {
			e = fail(p, "sub-attribute path inside a value filter");
			goto bad;
		}
		if (!scimf_valid_name(dot + 1, (size_t)(t + n - dot - 1))) {
			e = fail(p, "bad sub-attribute name");
			goto bad;
		}
		if ((e = scimf_set_part(p, &a->sub, &a->sub_lc, dot + 1, (size_t)(t + n - dot - 1))) != TS_OK)
			goto bad;
	}
	p->pos += n;
	return TS_OK;
bad:
	scimf_attr_clear(a);
	return e;
}

/* Length of the valid UTF-8 sequence (2-4 bytes, no overlong, surrogate or > U+10FFFF) at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

static int hex4(const char *s, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		int c = (unsigned char)s[i], d;

		if (is_digit(c))
			d = c - '0';
		else if (lower(c) >= 'a' && lower(c) <= 'f')
			d = lower(c) - 'a' + 10;
		else
			return 0;
		*v = *v * 16 + (unsigned)d;
	}
	return 1;
}

/* A JSON string at p (on the opening quote), decoded into v. */
static ts_err parse_string(struct ps *p, struct scimf_value *v)
{
	const char *s = p->s + p->pos + 1;
	size_t i = 0, o = 0;
	char *d = malloc(strlen(s) + 1); /* decoding never grows the text */

	if (!d)
		return oom(p);
	for (;;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			break;
		if (c == '\0') {
			free(d);
			return fail(p, "unterminated string");
		}
		if (c < 0x20) {
			free(d);
			return fail(p, "control character in string");
		}
		if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)s + i);

			if (!n) {
				free(d);
				return fail(p, "invalid UTF-8 in string");
			}
			memcpy(d + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		if (c != '\\') {
			d[o++] = (char)c;
			i++;
			continue;
		}
		c = (unsigned char)s[i + 1];
		i += 2;
		switch (c) {
		case '"': d[o++] = '"'; break;
		case '\\': d[o++] = '\\'; break;
		case '/': d[o++] = '/'; break;
		case 'b': d[o++] = '\b'; break;
		case 'f': d[o++] = '\f'; break;
		case 'n': d[o++] = '\n'; break;
		case 'r': d[o++] = '\r'; break;
		case 't': d[o++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;

			if (!hex4(s + i, &cp))
				goto bad_escape;
			i += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				goto bad_escape;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					goto bad_escape;
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				free(d);
				return fail(p, "NUL in string");
			}
			/* \uXXXX is 6 bytes for up to 3 of output, a pair 12 for 4: no overflow */
			if (cp < 0x80)
				d[o++] = (char)cp;
			else if (cp < 0x800) {
				d[o++] = (char)(0xC0 | (cp >> 6));
				d[o++] = (char)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				d[o++] = (char)(0xE0 | (cp >> 12));
				d[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				d[o++] = (char)(0x80 | (cp & 0x3F));
			} else {
				d[o++] = (char)(0xF0 | (cp >> 18));
				d[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
				d[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				d[o++] = (char)(0x80 | (cp & 0x3F));
			}
			break;
		}
		default:
			goto bad_escape;
		}
	}
	d[o] = '\0';
	v->type = SCIMF_V_STRING;
	v->str = d;
	v->len = o;
	p->pos += i + 2;
	return TS_OK;
bad_escape:
	free(d);
	return fail(p, "invalid escape in string");
}

/* A JSON number at p. */
static ts_err parse_number(struct ps *p, struct scimf_value *v)
{
	const char *s = p->s + p->pos;
	size_t i = 0;
	int integral = 1;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (is_digit((unsigned char)s[i]))
			i++;
	else
		return fail(p, "bad number");
	if (s[i] == '.') {
		integral = 0;
		i++;
		if (!is_digit((unsigned char)s[i]))
			return fail(p, "bad number");
		while (is_digit((unsigned char)s[i]))
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		integral = 0;
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!is_digit((unsigned char)s[i]))
			return fail(p, "bad number");
		while (is_digit((unsigned char)s[i]))
			i++;
	}
	v->type = SCIMF_V_NUMBER;
	if (!(v->str = dup_n(s, i, 0)))
		return oom(p);
	v->len = i;
	v->d = strtod(v->str, NULL);
	if (integral) {
		errno = 0;
		v->i = strtoll(v->str, NULL, 10);
		v->is_int = errno != ERANGE;
	}
	p->pos += i;
	return TS_OK;
}

ts_err scimf_lex_value(struct ps *p, struct scimf_value *v)
{
	char c = cur(p);
	ts_err e;

	memset(v, 0, sizeof(*v));
	if (c == '"')
		e = parse_string(p, v);
	else if (c == '-' || is_digit((unsigned char)c))
		e = parse_number(p, v);
	else if (at_kw(p, "true") || at_kw(p, "false") || at_kw(p, "null")) {
		v->type = lower(c) == 't' ? SCIMF_V_TRUE : lower(c) == 'f' ? SCIMF_V_FALSE : SCIMF_V_NULL;
		p->pos += v->type == SCIMF_V_FALSE ? 5 : 4;
		e = TS_OK;
	} else if (c == '\0' || c == ')' || c == ']')
		return fail(p, "missing value");
	else
		return fail(p, "bad value");
	if (e != TS_OK)
		return e;
	c = cur(p);
	if (!(c == '\0' || is_ws(c) || c == ')' || c == ']')) {
		free(v->str);
		memset(v, 0, sizeof(*v));
		return fail(p, "unexpected text after value");
	}
	return TS_OK;
}
