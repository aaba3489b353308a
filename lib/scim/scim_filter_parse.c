/* scim_filter_parse.c - SCIM 2.0 filter and PATCH path parser, printer and in-memory evaluator.
 * A recursive-descent parser over the grammar in scim_filter.h; its recursion is bounded by
 * SCIMF_MAX_DEPTH, and and/or chains are kept n-ary so that the tree is no deeper than the
 * nesting of parentheses and brackets. */
#include "scim_filter.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "jbuf.h"

struct ps {
	const char *s;
	size_t pos;
	int depth;
	const char *why;
};

static const char *const op_names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};

/* ---- small helpers ---- */

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_namechar(int c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '_'; }
static int is_ws(int c) { return c == ' ' || c == '\t'; }
static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static char cur(const struct ps *p) { return p->s[p->pos]; }

static void skip_ws(struct ps *p)
{
	while (is_ws(cur(p)))
		p->pos++;
}

static ts_err fail(struct ps *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return TS_INVALID_REQUEST;
}

static ts_err oom(struct ps *p)
{
	p->why = "out of memory";
	return TS_SERVER_ERROR;
}

/* 1 if the text at p is the keyword kw (lower case), any case, not followed by a name char. */
static int at_kw(const struct ps *p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(p->s + p->pos, kw, n) != 0)
		return 0;
	return !is_namechar((unsigned char)p->s[p->pos + n]) && p->s[p->pos + n] != '.' &&
	       p->s[p->pos + n] != ':';
}

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
static int valid_name(const char *s, size_t n)
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

static void attr_clear(struct scimf_attr *a)
{
	free(a->urn);
	free(a->urn_lc);
	free(a->name);
	free(a->name_lc);
	free(a->sub);
	free(a->sub_lc);
	memset(a, 0, sizeof(*a));
}

static ts_err set_part(struct ps *p, char **orig, char **lc, const char *s, size_t n)
{
	*orig = dup_n(s, n, 0);
	*lc = dup_n(s, n, 1);
	if (!*orig || !*lc)
		return oom(p);
	return TS_OK;
}

/* attrPath = [URI ":"] ATTRNAME *1subAttr. in_br: inside "[...]", where only ATTRNAME is allowed. */
static ts_err parse_attrpath(struct ps *p, int in_br, struct scimf_attr *a)
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
		if ((e = set_part(p, &a->urn, &a->urn_lc, t, (size_t)(colon - t))) != TS_OK)
			goto bad;
		rest = colon + 1;
	}
	rn = (size_t)(t + n - rest);
	if (rn == 0) {
		e = fail(p, "schema URN without an attribute name");
		goto bad;
	}
	dot = memchr(rest, '.', rn);
	if (!valid_name(rest, dot ? (size_t)(dot - rest) : rn)) {
		e = fail(p, "bad attribute name");
		goto bad;
	}
	if ((e = set_part(p, &a->name, &a->name_lc, rest, dot ? (size_t)(dot - rest) : rn)) != TS_OK)
		goto bad;
	if (dot) {
		if (in_br) {
			e = fail(p, "sub-attribute path inside a value filter");
			goto bad;
		}
		if (!valid_name(dot + 1, (size_t)(t + n - dot - 1))) {
			e = fail(p, "bad sub-attribute name");
			goto bad;
		}
		if ((e = set_part(p, &a->sub, &a->sub_lc, dot + 1, (size_t)(t + n - dot - 1))) != TS_OK)
			goto bad;
	}
	p->pos += n;
	return TS_OK;
bad:
	attr_clear(a);
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

static ts_err parse_value(struct ps *p, struct scimf_value *v)
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

static struct scimf_node *node_new(enum scimf_kind kind)
{
	struct scimf_node *n = calloc(1, sizeof(*n));

	if (n)
		n->kind = kind;
	return n;
}

static int node_add(struct scimf_node *n, struct scimf_node *kid)
{
	struct scimf_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));

	if (!k)
		return 0;
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 1;
}

static ts_err parse_or(struct ps *p, int in_br, struct scimf_node **out);

/* "(" FILTER ")" at p, on the "(". */
static ts_err parse_group(struct ps *p, int in_br, struct scimf_node **out)
{
	ts_err e;

	if (++p->depth > SCIMF_MAX_DEPTH)
		return fail(p, "filter nested too deeply");
	p->pos++;
	if ((e = parse_or(p, in_br, out)) != TS_OK)
		return e;
	skip_ws(p);
	if (cur(p) != ')') {
		scimf_free(*out);
		*out = NULL;
		return fail(p, "missing )");
	}
	p->pos++;
	p->depth--;
	return TS_OK;
}

/* attrExp / valuePath */
static ts_err parse_cmp(struct ps *p, struct scimf_attr *ap, struct scimf_node **out);
static ts_err parse_sub_cmp(struct ps *p, struct scimf_node **kid);

static ts_err parse_attrexp(struct ps *p, int in_br, struct scimf_node **out)
{
	struct scimf_node *n = NULL, *kid = NULL;
	struct scimf_attr a;
	ts_err e;

	if ((e = parse_attrpath(p, in_br, &a)) != TS_OK)
		return e;
	if (cur(p) == '[') {
		if (in_br) {
			e = fail(p, "nested value path");
			goto bad;
		}
		if (a.sub) {
			e = fail(p, "value path on a sub-attribute");
			goto bad;
		}
		if (++p->depth > SCIMF_MAX_DEPTH) {
			e = fail(p, "filter nested too deeply");
			goto bad;
		}
		p->pos++;
		if ((e = parse_or(p, 1, &kid)) != TS_OK)
			goto bad;
		skip_ws(p);
		if (cur(p) != ']') {
			e = fail(p, "missing ]");
			goto bad;
		}
		p->pos++;
		p->depth--;
		/* attr[filter].sub op value (as Entra ID looks users up by
		 * emails[type eq "work"].value eq "..."): attr[filter and sub op value] */
		if (cur(p) == '.' && (e = parse_sub_cmp(p, &kid)) != TS_OK)
			goto bad;
		if (!(n = node_new(SCIMF_VALUEPATH)) || !node_add(n, kid)) {
			e = oom(p);
			goto bad;
		}
		n->attr = a;
		*out = n;
		return TS_OK;
	}
	return parse_cmp(p, &a, out);
bad:
	attr_clear(&a);
	scimf_free(kid);
	if (n) { /* kid already freed above */
		free(n->kids);
		free(n);
	}
	return e;
}

/* The comparison after an attribute path a (taken: cleared on failure): " pr" or " op value". */
static ts_err parse_cmp(struct ps *p, struct scimf_attr *ap, struct scimf_node **out)
{
	struct scimf_node *n = NULL;
	struct scimf_attr a = *ap;
	const char *w;
	size_t wl, i;
	ts_err e;

	memset(ap, 0, sizeof *ap);
	if (!is_ws(cur(p))) {
		e = fail(p, cur(p) == '\0' ? "missing operator" : "bad attribute path");
		goto bad;
	}
	skip_ws(p);
	w = p->s + p->pos;
	for (wl = 0; is_alpha((unsigned char)w[wl]); wl++)
		;
	if (wl == 0) {
		e = fail(p, cur(p) == '\0' || cur(p) == ')' ? "missing operator" : "unknown operator");
		goto bad;
	}
	if (is_namechar((unsigned char)w[wl]) || w[wl] == '.' || w[wl] == ':') {
		e = fail(p, "unknown operator");
		goto bad;
	}
	if (wl == 2 && !strncasecmp(w, "pr", 2)) {
		size_t after;

		p->pos += 2;
		after = p->pos;
		skip_ws(p);
		if (cur(p) == '"' || cur(p) == '-' || is_digit((unsigned char)cur(p)) ||
		    at_kw(p, "true") || at_kw(p, "false") || at_kw(p, "null")) {
			e = fail(p, "pr takes no value");
			goto bad;
		}
		p->pos = after;
		if (!(n = node_new(SCIMF_PR))) {
			e = oom(p);
			goto bad;
		}
		n->attr = a;
		*out = n;
		return TS_OK;
	}
	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (wl == 2 && !strncasecmp(w, op_names[i], 2))
			break;
	if (i == sizeof(op_names) / sizeof(op_names[0])) {
		e = fail(p, "unknown operator");
		goto bad;
	}
	p->pos += 2;
	if (!is_ws(cur(p))) {
		e = fail(p, "missing value");
		goto bad;
	}
	skip_ws(p);
	if (!(n = node_new(SCIMF_CMP))) {
		e = oom(p);
		goto bad;
	}
	n->attr = a;
	memset(&a, 0, sizeof(a));
	n->op = (enum scimf_op)i;
	if ((e = parse_value(p, &n->value)) != TS_OK)
		goto bad;
	if (n->value.type != SCIMF_V_STRING && (n->op == SCIMF_CO || n->op == SCIMF_SW ||
						n->op == SCIMF_EW)) {
		e = fail(p, "co, sw and ew take a string");
		goto bad;
	}
	if (n->value.type >= SCIMF_V_TRUE && n->op != SCIMF_EQ && n->op != SCIMF_NE) {
		e = fail(p, "booleans and null take only eq and ne");
		goto bad;
	}
	*out = n;
	return TS_OK;
bad:
	attr_clear(&a);
	scimf_free(n);
	return e;
}

/* After "attr[filter]", at ".sub op value": *kid (the filter) becomes "filter and sub op value";
 * on failure *kid is left for the caller to free. */
static ts_err parse_sub_cmp(struct ps *p, struct scimf_node **kid)
{
	struct scimf_node *cmp = NULL, *and = NULL;
	struct scimf_attr a = {0};
	const char *s = p->s + ++p->pos;
	size_t n;
	ts_err e;

	for (n = 0; is_namechar((unsigned char)s[n]); n++)
		;
	if (!valid_name(s, n))
		return fail(p, "bad sub-attribute name");
	if ((e = set_part(p, &a.name, &a.name_lc, s, n)) != TS_OK) {
		attr_clear(&a);
		return e;
	}
	p->pos += n;
	if ((e = parse_cmp(p, &a, &cmp)) != TS_OK)
		return e;
	if (!(and = node_new(SCIMF_AND)) || !node_add(and, *kid) || !node_add(and, cmp)) {
		if (and && and->nkids == 1) /* *kid is in it: take it back */
			and->nkids = 0;
		scimf_free(and);
		scimf_free(cmp);
		return oom(p);
	}
	*kid = and;
	return TS_OK;
}

/* not "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath */
static ts_err parse_unary(struct ps *p, int in_br, struct scimf_node **out)
{
	struct scimf_node *n, *kid = NULL;
	ts_err e;

	*out = NULL;
	skip_ws(p);
	if (cur(p) == '(')
		return parse_group(p, in_br, out);
	if (at_kw(p, "not")) {
		size_t save = p->pos;

		p->pos += 3;
		skip_ws(p);
		if (cur(p) == '(') {
			if ((e = parse_group(p, in_br, &kid)) != TS_OK)
				return e;
			if (!(n = node_new(SCIMF_NOT)) || !node_add(n, kid)) {
				free(n);
				scimf_free(kid);
				return oom(p);
			}
			*out = n;
			return TS_OK;
		}
		p->pos = save; /* an attribute called "not" */
	}
	if (cur(p) == '\0' || cur(p) == ')' || cur(p) == ']')
		return fail(p, cur(p) == '\0' ? "missing expression" : "empty parentheses or expression");
	return parse_attrexp(p, in_br, out);
}

/* A chain of `sub` joined by keyword kw, as one n-ary node of kind. */
static ts_err parse_chain(struct ps *p, int in_br, struct scimf_node **out, const char *kw,
			  enum scimf_kind kind, ts_err (*sub)(struct ps *, int, struct scimf_node **))
{
	struct scimf_node *first = NULL, *n = NULL, *kid = NULL;
	ts_err e;

	*out = NULL;
	if ((e = sub(p, in_br, &first)) != TS_OK)
		return e;
	for (;;) {
		size_t save = p->pos;

		skip_ws(p);
		if (!at_kw(p, kw) || (p->pos == save && p->s[save - 1] != ')' && p->s[save - 1] != ']')) {
			p->pos = save;
			break;
		}
		p->pos += strlen(kw);
		if (!is_ws(cur(p)) && cur(p) != '(') {
			e = fail(p, "missing expression after and/or");
			goto bad;
		}
		if ((e = sub(p, in_br, &kid)) != TS_OK)
			goto bad;
		if (!n) {
			if (!(n = node_new(kind)) || !node_add(n, first)) {
				e = oom(p);
				goto bad;
			}
			first = NULL;
		}
		if (!node_add(n, kid)) {
			e = oom(p);
			goto bad;
		}
		kid = NULL;
	}
	*out = n ? n : first;
	return TS_OK;
bad:
	scimf_free(first);
	scimf_free(kid);
	scimf_free(n);
	return e;
}

static ts_err parse_and(struct ps *p, int in_br, struct scimf_node **out)
{
	return parse_chain(p, in_br, out, "and", SCIMF_AND, parse_unary);
}

static ts_err parse_or(struct ps *p, int in_br, struct scimf_node **out)
{
	return parse_chain(p, in_br, out, "or", SCIMF_OR, parse_and);
}

/* How deeply scimf_print nests parentheses and brackets for n: each and/or, value path, and not
 * of anything but an and/or (whose parentheses it shares) adds a level. It can exceed the nesting
 * of the text ("a pr or b pr and c pr" prints as "(a pr or (b pr and c pr))"); the parser
 * refuses such trees past SCIMF_MAX_DEPTH so that their canonical form parses again. The
 * recursion follows the tree, no deeper than a few nodes per level the parser allowed. */
static int print_depth(const struct scimf_node *n)
{
	int d = 0, k;
	size_t i;

	for (i = 0; i < n->nkids; i++)
		if ((k = print_depth(n->kids[i])) > d)
			d = k;
	if (n->kind == SCIMF_NOT)
		return n->kids[0]->kind == SCIMF_AND || n->kids[0]->kind == SCIMF_OR ? d : d + 1;
	return n->kind == SCIMF_AND || n->kind == SCIMF_OR || n->kind == SCIMF_VALUEPATH ? d + 1 : d;
}

static ts_err check_text(struct ps *p, const char *text)
{
	if (!text)
		return fail(p, "empty filter");
	if (strnlen(text, SCIMF_MAX_LEN + 1) > SCIMF_MAX_LEN)
		return fail(p, "filter too long");
	return TS_OK;
}

ts_err scimf_parse(const char *text, struct scimf_node **out, const char **why)
{
	struct ps p = {text, 0, 0, NULL};
	struct scimf_node *n = NULL;
	ts_err e;

	*out = NULL;
	if ((e = check_text(&p, text)) != TS_OK)
		goto done;
	skip_ws(&p);
	if (cur(&p) == '\0') {
		e = fail(&p, "empty filter");
		goto done;
	}
	if ((e = parse_or(&p, 0, &n)) != TS_OK)
		goto done;
	skip_ws(&p);
	if (cur(&p) != '\0') {
		e = fail(&p, cur(&p) == ')' ? "unbalanced )" : cur(&p) == ']' ? "unbalanced ]" :
			     "unexpected text after filter");
		scimf_free(n);
		goto done;
	}
	if (print_depth(n) > SCIMF_MAX_DEPTH) {
		e = fail(&p, "filter nested too deeply");
		scimf_free(n);
		goto done;
	}
	*out = n;
done:
	if (why)
		*why = e == TS_OK ? NULL : p.why;
	return e;
}

ts_err scimf_parse_path(const char *text, struct scimf_path **out, const char **why)
{
	struct ps p = {text, 0, 0, NULL};
	struct scimf_path *r = NULL;
	const char *s;
	size_t n;
	ts_err e;

	*out = NULL;
	if ((e = check_text(&p, text)) != TS_OK)
		goto done;
	if (text[0] == '\0') {
		e = fail(&p, "empty path");
		goto done;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		e = oom(&p);
		goto done;
	}
	if ((e = parse_attrpath(&p, 0, &r->attr)) != TS_OK)
		goto done;
	if (cur(&p) == '[') {
		if (r->attr.sub) {
			e = fail(&p, "value path on a sub-attribute");
			goto done;
		}
		p.depth = 1;
		p.pos++;
		if ((e = parse_or(&p, 1, &r->filter)) != TS_OK)
			goto done;
		if (1 + print_depth(r->filter) > SCIMF_MAX_DEPTH) {
			e = fail(&p, "filter nested too deeply");
			goto done;
		}
		skip_ws(&p);
		if (cur(&p) != ']') {
			e = fail(&p, "missing ]");
			goto done;
		}
		p.pos++;
		if (cur(&p) == '.') {
			s = p.s + ++p.pos;
			for (n = 0; is_namechar((unsigned char)s[n]); n++)
				;
			if (!valid_name(s, n)) {
				e = fail(&p, "bad sub-attribute name");
				goto done;
			}
			if ((e = set_part(&p, &r->attr.sub, &r->attr.sub_lc, s, n)) != TS_OK)
				goto done;
			p.pos += n;
		}
	}
	if (cur(&p) != '\0')
		e = fail(&p, cur(&p) == ']' ? "unbalanced ]" : "unexpected text in path");
done:
	if (e != TS_OK) {
		scimf_path_free(r);
		r = NULL;
	}
	*out = r;
	if (why)
		*why = e == TS_OK ? NULL : p.why;
	return e;
}

void scimf_free(struct scimf_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		scimf_free(n->kids[i]);
	free(n->kids);
	attr_clear(&n->attr);
	free(n->value.str);
	free(n);
}

void scimf_path_free(struct scimf_path *p)
{
	if (!p)
		return;
	attr_clear(&p->attr);
	scimf_free(p->filter);
	free(p);
}

/* ---- printing ---- */

static void put(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

static void print_attr(struct jbuf *b, const struct scimf_attr *a)
{
	if (a->urn_lc) {
		put(b, a->urn_lc);
		put(b, ":");
	}
	put(b, a->name_lc ? a->name_lc : "");
	if (a->sub_lc) {
		put(b, ".");
		put(b, a->sub_lc);
	}
}

static void print_node(struct jbuf *b, const struct scimf_node *n)
{
	size_t i;

	switch (n->kind) {
	case SCIMF_CMP:
		print_attr(b, &n->attr);
		put(b, " ");
		put(b, op_names[n->op]);
		put(b, " ");
		switch (n->value.type) {
		case SCIMF_V_STRING: jbuf_str(b, n->value.str); break;
		case SCIMF_V_NUMBER: put(b, n->value.str); break;
		case SCIMF_V_TRUE: put(b, "true"); break;
		case SCIMF_V_FALSE: put(b, "false"); break;
		case SCIMF_V_NULL: put(b, "null"); break;
		}
		break;
	case SCIMF_PR:
		print_attr(b, &n->attr);
		put(b, " pr");
		break;
	case SCIMF_AND:
	case SCIMF_OR:
		put(b, "(");
		for (i = 0; i < n->nkids; i++) {
			if (i)
				put(b, n->kind == SCIMF_AND ? " and " : " or ");
			print_node(b, n->kids[i]);
		}
		put(b, ")");
		break;
	case SCIMF_NOT: {
		int paren = n->kids[0]->kind != SCIMF_AND && n->kids[0]->kind != SCIMF_OR;

		put(b, paren ? "not (" : "not ");
		print_node(b, n->kids[0]);
		if (paren)
			put(b, ")");
		break;
	}
	case SCIMF_VALUEPATH:
		print_attr(b, &n->attr);
		put(b, "[");
		print_node(b, n->kids[0]);
		put(b, "]");
		break;
	}
}

char *scimf_print(const struct scimf_node *n)
{
	struct jbuf b = {0};

	if (!n)
		return NULL;
	print_node(&b, n);
	return jbuf_take(&b, NULL);
}

/* ---- matching ---- */

json_t *scimf_get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, key)))
		return v;
	json_object_foreach((json_t *)obj, k, v)
		if (!strcasecmp(k, key))
			return v;
	return NULL;
}

/* The object holding the attributes of schema urn (NULL: the resource itself). */
static const json_t *base_of(const json_t *res, const char *urn)
{
	json_t *ext, *schemas, *s;
	size_t i;

	if (!urn)
		return res;
	if (json_is_object(ext = scimf_get_ci(res, urn)))
		return ext;
	schemas = scimf_get_ci(res, "schemas");
	json_array_foreach(schemas, i, s)
		if (json_is_string(s) && !strcasecmp(json_string_value(s), urn))
			return res;
	return NULL;
}

int scimf_present(const json_t *v)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return 1;
}

/* Folded (unless exact) three-way comparison of a[0..an) and b[0..bn). */
static int str_cmp(const char *a, size_t an, const char *b, size_t bn, int exact)
{
	size_t i;

	for (i = 0; i < an && i < bn; i++) {
		int x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (!exact) {
			x = lower(x);
			y = lower(y);
		}
		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

static int str_contains(const char *h, size_t hn, const char *nd, size_t nn, int exact)
{
	size_t i;

	for (i = 0; i + nn <= hn; i++)
		if (!str_cmp(h + i, nn, nd, nn, exact))
			return 1;
	return 0;
}

struct cmp_ctx {
	const struct scimf_node *n;
	enum scimf_op op;
	int exact;
};

/* 1 if the simple JSON value v satisfies op against the node's value (op is never NE). */
static int cmp_one(const json_t *v, const struct cmp_ctx *c)
{
	const struct scimf_value *val = &c->n->value;
	int r;

	switch (val->type) {
	case SCIMF_V_STRING: {
		const char *s;
		size_t sn;

		if (!json_is_string(v))
			return 0;
		s = json_string_value(v);
		sn = json_string_length(v);
		switch (c->op) {
		case SCIMF_CO: return str_contains(s, sn, val->str, val->len, c->exact);
		case SCIMF_SW: return sn >= val->len && !str_cmp(s, val->len, val->str, val->len, c->exact);
		case SCIMF_EW:
			return sn >= val->len &&
			       !str_cmp(s + sn - val->len, val->len, val->str, val->len, c->exact);
		default: r = str_cmp(s, sn, val->str, val->len, c->exact); break;
		}
		break;
	}
	case SCIMF_V_NUMBER:
		if (json_is_integer(v) && val->is_int) {
			long long x = json_integer_value(v);

			r = x < val->i ? -1 : x > val->i;
		} else if (json_is_number(v)) {
			double x = json_number_value(v);

			r = x < val->d ? -1 : x > val->d;
		} else
			return 0;
		break;
	case SCIMF_V_TRUE:
		return json_is_true(v);
	case SCIMF_V_FALSE:
		return json_is_false(v);
	default:
		return 0;
	}
	switch (c->op) {
	case SCIMF_EQ: return r == 0;
	case SCIMF_GT: return r > 0;
	case SCIMF_GE: return r >= 0;
	case SCIMF_LT: return r < 0;
	case SCIMF_LE: return r <= 0;
	default: return 0;
	}
}

/* Applies pr (c == NULL) or the comparison to v, each element of v if it is an array. */
static int visit(const json_t *v, const struct cmp_ctx *c)
{
	size_t i;
	json_t *e;

	if (!v)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!json_is_array(e) && visit(e, c)) /* SCIM has no arrays of arrays */
				return 1;
		return 0;
	}
	if (!c)
		return scimf_present(v);
	if (json_is_object(v) && !(v = scimf_get_ci(v, "value")))
		return 0;
	return !json_is_array(v) && cmp_one(v, c);
}

/* 1 if any value at attribute path a of res satisfies pr / the comparison. */
static int any_value(const json_t *res, const struct scimf_attr *a, const struct cmp_ctx *c)
{
	const json_t *base = base_of(res, a->urn);
	json_t *v = scimf_get_ci(base, a->name), *e;
	size_t i;

	if (!v)
		return 0;
	if (!a->sub)
		return visit(v, c);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (visit(scimf_get_ci(e, a->sub), c))
				return 1;
		return 0;
	}
	return visit(scimf_get_ci(v, a->sub), c);
}

int scimf_match(const struct scimf_node *n, const json_t *resource, int case_exact)
{
	struct cmp_ctx c;
	json_t *v, *e;
	size_t i;

	if (!n || !json_is_object(resource))
		return 0;
	switch (n->kind) {
	case SCIMF_PR:
		return any_value(resource, &n->attr, NULL);
	case SCIMF_CMP:
		if (n->value.type == SCIMF_V_NULL) {
			int has = any_value(resource, &n->attr, NULL);

			return n->op == SCIMF_EQ ? !has : has;
		}
		c.n = n;
		c.exact = case_exact;
		c.op = n->op == SCIMF_NE ? SCIMF_EQ : n->op;
		return any_value(resource, &n->attr, &c) != (n->op == SCIMF_NE);
	case SCIMF_AND:
		for (i = 0; i < n->nkids; i++)
			if (!scimf_match(n->kids[i], resource, case_exact))
				return 0;
		return 1;
	case SCIMF_OR:
		for (i = 0; i < n->nkids; i++)
			if (scimf_match(n->kids[i], resource, case_exact))
				return 1;
		return 0;
	case SCIMF_NOT:
		return !scimf_match(n->kids[0], resource, case_exact);
	case SCIMF_VALUEPATH:
		v = scimf_get_ci(base_of(resource, n->attr.urn), n->attr.name);
		if (json_is_object(v))
			return scimf_match(n->kids[0], v, case_exact);
		json_array_foreach(v, i, e)
			if (scimf_match(n->kids[0], e, case_exact))
				return 1;
		return 0;
	}
	return 0;
}
