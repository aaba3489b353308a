/* fuzz_html.c - libFuzzer target for the HTML escaper and the template renderer (lib/html.h).
 * The input is a text (up to its first NUL).
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - html_escape's output holds no raw < > " ' and each & in it starts one of the five entities
 *   it writes; decoding those entities gives back the input exactly;
 * - html_render of a fixed template with the input as a value gives the template's text with the
 *   escaped input in place of each {{v}} / {{ v }} (in text and in an attribute) and the raw
 *   value in place of {{{raw}}};
 * - html_render with the input as the template agrees with a plain reference renderer written
 *   from html.h ({{{name}}} raw, {{name}} escaped, names [A-Za-z0-9_]+ with optional spaces,
 *   unknown names empty, anything else copied), with values that hold markup and tag syntax. */
#include "html.h"
#include "fuzz.h"

static const char *const entity[][2] = {
	{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
};

static void check_escape(const char *in)
{
	char *out = html_escape(in), *dec, *d;
	const char *p;
	size_t i;

	if (!out)
		return; /* out of memory */
	if (strpbrk(out, "<>\"'"))
		fuzz_fail("html_escape left a raw < > \" or '", in, out);
	if (!(d = dec = malloc(strlen(out) + 1)))
		abort();
	for (p = out; *p;) {
		if (*p != '&') {
			*d++ = *p++;
			continue;
		}
		for (i = 0; i < 5 && strncmp(p, entity[i][0], strlen(entity[i][0])); i++)
			;
		if (i == 5)
			fuzz_fail("html_escape left a raw &", in, p);
		*d++ = entity[i][1][0];
		p += strlen(entity[i][0]);
	}
	*d = '\0';
	if (strcmp(dec, in))
		fuzz_fail("the escaped text does not decode to the input", in, out);
	free(dec);
	free(out);
}

/* A growing string for the reference renderer. */
struct sb {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		if (!(b->p = realloc(b->p, b->cap)))
			abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_add_escaped(struct sb *b, const char *s)
{
	size_t i;

	for (; *s; s++) {
		for (i = 0; i < 5 && *s != entity[i][1][0]; i++)
			;
		if (i < 5)
			sb_add(b, entity[i][0], strlen(entity[i][0]));
		else
			sb_add(b, s, 1);
	}
}

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of a tag of `braces` braces at p (0 if none), with its name in name[64] ("" when the
 * name is too long to be one of the vars). */
static size_t ref_tag(const char *p, size_t braces, char *name)
{
	const char *q = p, *s;
	size_t i;

	for (i = 0; i < braces; i++)
		if (*q++ != '{')
			return 0;
	while (*q == ' ')
		q++;
	for (s = q; name_char(*q); q++)
		;
	if (q == s)
		return 0;
	snprintf(name, 64, "%.*s", q - s < 64 ? (int)(q - s) : 0, s);
	while (*q == ' ')
		q++;
	for (i = 0; i < braces; i++)
		if (*q++ != '}')
			return 0;
	return (size_t)(q - p);
}

static const struct html_var vars[] = {
	{"v", "<b class=\"x\">Tom & 'Jerry'</b>"},
	{"raw", "<i>{{v}}</i>"},
	{"empty", NULL},
	{"v_2", "{{{raw}}}"},
};
#define NVARS (sizeof vars / sizeof vars[0])

static const char *ref_value(const char *name)
{
	size_t i;

	for (i = 0; i < NVARS; i++)
		if (strcmp(vars[i].name, name) == 0)
			return vars[i].value ? vars[i].value : "";
	return "";
}

static void check_render_template(const char *in)
{
	struct sb want = {0};
	const char *p = in;
	char name[64], *got;
	size_t n;

	sb_add(&want, "", 0);
	while (*p) {
		if ((n = ref_tag(p, 3, name))) {
			sb_add(&want, ref_value(name), strlen(ref_value(name)));
		} else if ((n = ref_tag(p, 2, name))) {
			sb_add_escaped(&want, ref_value(name));
		} else {
			sb_add(&want, p, 1);
			n = 1;
		}
		p += n;
	}
	got = html_render(in, vars, NVARS);
	if (got && strcmp(got, want.p))
		fuzz_fail("html_render disagrees with the reference renderer", in, got);
	free(got);
	free(want.p);
}

static void check_render_value(const char *in)
{
	static const char tmpl[] = "<p>{{v}}</p><a title=\"{{ v }}\">{{{raw}}}</a>";
	struct html_var v[] = {{"v", in}, {"raw", in}};
	struct sb want = {0};
	char *got;

	sb_add(&want, "<p>", 3);
	sb_add_escaped(&want, in);
	sb_add(&want, "</p><a title=\"", 14);
	sb_add_escaped(&want, in);
	sb_add(&want, "\">", 2);
	sb_add(&want, in, strlen(in));
	sb_add(&want, "</a>", 4);
	got = html_render(tmpl, v, 2);
	if (got && strcmp(got, want.p))
		fuzz_fail("a value is not rendered as its escaped text", in, got);
	free(got);
	free(want.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size);

	check_escape(in);
	check_render_value(in);
	check_render_template(in);
	free(in);
	return 0;
}
