/* fuzz_form.c - libFuzzer target for urlencoded bodies and query strings (lib/form.h:
 * form_parse, form_parse_repeats). The input is the raw body, NUL bytes included.
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - each call gives TS_OK with a form, or TS_INVALID_REQUEST with a reason and no form
 *   (TS_SERVER_ERROR only when out of memory);
 * - a parsed form has at most FORM_MAX_PAIRS pairs with distinct keys, every key and value valid
 *   UTF-8 without NUL, and form_get finds each key's own value;
 * - the two parsers agree: form_parse accepts exactly when form_parse_repeats accepts without a
 *   repeated key, with the same pairs; when form_parse refuses "a parameter is repeated",
 *   form_parse_repeats names a repeated key that is in the form (or refuses what follows);
 * - round trip: the pairs written back as a body (every byte outside unreserved %-escaped, or a
 *   space as '+') parse to the same pairs in the same order. */
#include "form.h"
#include "fuzz.h"

static void check_form(const struct form *f, const char *in)
{
	size_t i, j;

	if (f->n > FORM_MAX_PAIRS)
		fuzz_fail("more than FORM_MAX_PAIRS pairs", in, NULL);
	for (i = 0; i < f->n; i++) {
		const char *k = f->p[i].key, *v = f->p[i].val;

		if (!k || !v)
			fuzz_fail("a pair without key or value", in, NULL);
		if (!form_utf8_valid((const unsigned char *)k, strlen(k)) ||
		    !form_utf8_valid((const unsigned char *)v, strlen(v)))
			fuzz_fail("a key or value that is not valid UTF-8", in, k);
		if (form_get(f, k) != v)
			fuzz_fail("form_get does not find a key's value", in, k);
		for (j = 0; j < i; j++)
			if (strcmp(f->p[j].key, k) == 0)
				fuzz_fail("a key listed twice", in, k);
	}
}

static int same_pairs(const struct form *a, const struct form *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->p[i].key, b->p[i].key) || strcmp(a->p[i].val, b->p[i].val))
			return 0;
	return 1;
}

/* Appends s %-encoded to out (room: 3 bytes per byte of s); returns the new end. */
static char *encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; (c = (unsigned char)*s); s++) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*out++ = (char)c;
		} else if (c == ' ') {
			*out++ = '+';
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

static void check_round_trip(const struct form *f, const char *in)
{
	struct form *g = NULL;
	const char *why = NULL;
	size_t i, cap = 1;
	char *body, *p;

	for (i = 0; i < f->n; i++)
		cap += 3 * (strlen(f->p[i].key) + strlen(f->p[i].val)) + 2;
	if (!(p = body = malloc(cap)))
		abort();
	for (i = 0; i < f->n; i++) {
		if (i)
			*p++ = '&';
		p = encode(p, f->p[i].key);
		*p++ = '=';
		p = encode(p, f->p[i].val);
	}
	*p = '\0';
	if (form_parse(body, (size_t)(p - body), &g, &why) != TS_OK)
		fuzz_fail("the written-back form does not parse", body, why);
	if (!same_pairs(f, g))
		fuzz_fail("the written-back form parses to other pairs", in, body);
	form_free(g);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size); /* for messages only: the parsers get the raw bytes */
	struct form *f = NULL, *r = NULL;
	const char *why = NULL, *rwhy = NULL;
	ts_err e = form_parse((const char *)data, size, &f, &why);
	ts_err er = form_parse_repeats((const char *)data, size, &r, &rwhy);

	if (e == TS_SERVER_ERROR || er == TS_SERVER_ERROR)
		goto out; /* out of memory: not a finding */
	if ((e == TS_OK) != (f != NULL) || (er == TS_OK) != (r != NULL))
		fuzz_fail("a result and its form disagree", in, NULL);
	if ((e != TS_OK && (e != TS_INVALID_REQUEST || !why)) ||
	    (er != TS_OK && (er != TS_INVALID_REQUEST || !rwhy)))
		fuzz_fail("a refusal that is not invalid_request with a reason", in, why);
	if (r) {
		check_form(r, in);
		if (r->repeated && !form_get(r, r->repeated))
			fuzz_fail("the repeated key is not in the form", in, r->repeated);
	}
	if (f) {
		check_form(f, in);
		if (!r || r->repeated || !same_pairs(f, r))
			fuzz_fail("form_parse accepts what form_parse_repeats does not, or differently",
			          in, NULL);
		check_round_trip(f, in);
	} else if (strcmp(why, "a parameter is repeated") == 0) {
		/* form_parse_repeats reads on, and may refuse what comes after */
		if (r && !r->repeated)
			fuzz_fail("refused as repeated, but form_parse_repeats names none", in, NULL);
	} else if (r) {
		fuzz_fail("form_parse_repeats accepts what form_parse refuses", in, why);
	}
out:
	form_free(f);
	form_free(r);
	free(in);
	return 0;
}
