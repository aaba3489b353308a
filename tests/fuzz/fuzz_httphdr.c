/* fuzz_httphdr.c - libFuzzer target for the request header parsers of lib/httphdr.h: a cookie
 * in a Cookie header, an entity tag in an If-Match / If-None-Match list, and the framing of a
 * request's body.
 * The input is two lines: a header value and a name (or an entity tag).
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - httphdr_cookie agrees with a reference that splits the header into its pairs first (split
 *   at ';', cut at the first '=', trim spaces and tabs, strip one pair of double quotes), for
 *   the name given, every name in the header and the names the pages use; a value found lies
 *   inside the header and holds no ';';
 * - httphdr_etag_listed agrees with a reference that reads the list as a small state machine
 *   (elements between commas outside quotes; "*" alone; [W/]"..." compared without the W/),
 *   for the entity tag given, every tag in the list and each of them with W/ added, removed
 *   or changed. */
#include <strings.h>
#include "httphdr.h"
#include "fuzz.h"

static int ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The reference cookie lookup; returns the value malloc'd, or NULL. */
static char *ref_cookie(const char *header, const char *name)
{
	char *copy = strdup(header), *pair, *next, *eq, *k, *v, *e, *found = NULL;

	if (!copy)
		abort();
	for (pair = copy; pair && !found; pair = next) {
		next = strchr(pair, ';');
		if (next)
			*next++ = '\0';
		if (!(eq = strchr(pair, '=')))
			continue;
		*eq = '\0';
		for (k = pair; ows(*k); k++)
			;
		for (e = k + strlen(k); e > k && ows(e[-1]); e--)
			;
		*e = '\0';
		for (v = eq + 1; ows(*v); v++)
			;
		for (e = v + strlen(v); e > v && ows(e[-1]); e--)
			;
		*e = '\0';
		if (e - v >= 2 && v[0] == '"' && e[-1] == '"') {
			e[-1] = '\0';
			v++;
		}
		if (strcmp(k, name) == 0 && !(found = strdup(v)))
			abort();
	}
	free(copy);
	return found;
}

static void check_cookie(const char *header, const char *name, const char *in)
{
	char *want = ref_cookie(header, name);
	size_t n = 0;
	const char *got = httphdr_cookie(header, name, &n);

	if (!got != !want || (got && (n != strlen(want) || memcmp(got, want, n))))
		fuzz_fail("httphdr_cookie disagrees with the reference", in, name);
	if (got && (got < header || got + n > header + strlen(header) || memchr(got, ';', n)))
		fuzz_fail("a cookie value outside the header, or holding ';'", in, name);
	free(want);
}

/* Every cookie name in the header (text before '=' of each pair, trimmed). */
static void check_cookie_names(const char *header, const char *in)
{
	char *copy = strdup(header), *pair, *next, *eq, *k, *e;

	if (!copy)
		abort();
	for (pair = copy; pair; pair = next) {
		next = strchr(pair, ';');
		if (next)
			*next++ = '\0';
		if (!(eq = strchr(pair, '=')))
			continue;
		*eq = '\0';
		for (k = pair; ows(*k); k++)
			;
		for (e = k + strlen(k); e > k && ows(e[-1]); e--)
			;
		*e = '\0';
		check_cookie(header, k, in);
	}
	free(copy);
}

/* The reference entity-tag list: 1 when version ([W/]"x") is listed in header. */
static int ref_listed(const char *header, const char *version)
{
	enum { START, WEAK_W, WEAK_SLASH, QUOTED, AFTER, JUNK } st = START;
	const char *v = version, *tag = NULL, *p;
	size_t vn;
	int star = 0;

	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	vn = strlen(v);
	if (vn < 2 || v[0] != '"' || v[vn - 1] != '"' || memchr(v + 1, '"', vn - 2))
		return 0;
	for (p = header;; p++) {
		char c = *p;

		if (c == '\0' || (c == ',' && st != QUOTED)) {
			if ((st == AFTER && (size_t)(p - tag) >= vn && !strncmp(tag, v, vn) &&
			     (tag[vn] == '\0' || tag[vn] == ',' || ows(tag[vn]))) ||
			    (star && st == START))
				return 1;
			if (!c)
				return 0;
			st = START;
			star = 0;
			continue;
		}
		switch (st) {
		case START:
			if (ows(c))
				break;
			if (c == '*' && !star) {
				star = 1;
			} else if (star) {
				star = 0;
				st = JUNK;
			} else if (c == 'W') {
				st = WEAK_W;
			} else if (c == '"') {
				tag = p;
				st = QUOTED;
			} else {
				st = JUNK;
			}
			break;
		case WEAK_W:
			st = c == '/' ? WEAK_SLASH : JUNK;
			break;
		case WEAK_SLASH:
			if (c == '"') {
				tag = p;
				st = QUOTED;
			} else {
				st = JUNK;
			}
			break;
		case QUOTED:
			if (c == '"')
				st = AFTER;
			break;
		case AFTER:
			if (!ows(c))
				st = JUNK;
			break;
		case JUNK:
			break;
		}
	}
}

static void check_etag(const char *header, const char *version, const char *in)
{
	if (httphdr_etag_listed(header, version) != ref_listed(header, version))
		fuzz_fail("httphdr_etag_listed disagrees with the reference", in, version);
}

/* Every quoted string of the header, as "x", W/"x" and w/"x". */
static void check_etag_tags(const char *header, const char *in)
{
	const char *p = header, *q;
	char *t;
	size_t n;

	while ((p = strchr(p, '"')) && (q = strchr(p + 1, '"'))) {
		n = (size_t)(q + 1 - p);
		if (!(t = malloc(n + 3)))
			abort();
		memcpy(t + 2, p, n);
		t[n + 2] = '\0';
		t[0] = 'W';
		t[1] = '/';
		check_etag(header, t, in);
		check_etag(header, t + 2, in);
		t[0] = 'w';
		check_etag(header, t, in);
		free(t);
		p = q + 1;
	}
}

/* The framing verdicts, against references written differently (strspn over the allowed
 * characters; a strcasecmp; a number compared by its digits without leading zeros). */
static void check_framing(const char *value, const char *name, const char *in)
{
	static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
	                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct httphdr_framing f;
	const char *v;
	int ctl = 0, digits = *value && strspn(value, "0123456789") == strlen(value);

	for (v = value; *v; v++)
		ctl |= ((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f;
	memset(&f, 0, sizeof f);
	httphdr_framing_field(&f, name, "1");  /* a value good for every field, framing ones too */
	if ((httphdr_framing_check(&f, 0) == NULL) !=
	    (*name && strspn(name, tchars) == strlen(name) && strcasecmp(name, "Transfer-Encoding")))
		fuzz_fail("field name verdict", in, value);
	memset(&f, 0, sizeof f);
	httphdr_framing_field(&f, "Transfer-Encoding", value);
	if ((httphdr_framing_check(&f, 0) == NULL) != (strcasecmp(value, "chunked") == 0))
		fuzz_fail("Transfer-Encoding verdict", in, value);
	if (httphdr_framing_check(&f, 1) == NULL)
		fuzz_fail("Transfer-Encoding in HTTP/1.0 accepted", in, value);
	memset(&f, 0, sizeof f);
	httphdr_framing_field(&f, "content-length", value);
	if ((httphdr_framing_check(&f, 0) == NULL) != (digits && !ctl))
		fuzz_fail("Content-Length verdict", in, value);
	httphdr_framing_field(&f, "Content-Length", "0012");
	if (httphdr_framing_check(&f, 0) == NULL &&
	    !(digits && strcmp(value + strspn(value, "0"), "12") == 0))
		fuzz_fail("repeated Content-Length with another number accepted", in, value);
	httphdr_framing_field(&f, "Transfer-Encoding", "chunked");
	if (httphdr_framing_check(&f, 0) == NULL)
		fuzz_fail("Content-Length with Transfer-Encoding accepted", in, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *copy = fuzz_text(data, size), *part[2];

	fuzz_split(copy, part, 2);
	check_cookie(part[0], part[1], in);
	check_cookie(part[0], "tessera_session", in);
	check_cookie(part[0], "__Host-tessera_csrf", in);
	check_cookie_names(part[0], in);
	check_etag(part[0], part[1], in);
	check_etag(part[0], "W/\"3694e05e\"", in);
	check_etag_tags(part[0], in);
	check_framing(part[0], part[1], in);
	free(copy);
	free(in);
	return 0;
}
