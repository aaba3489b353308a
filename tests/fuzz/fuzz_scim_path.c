/* fuzz_scim_path.c - libFuzzer target for the SCIM PATCH path parser (lib/scim/scim_filter.h,
 * scimf_parse_path). Properties checked on every input (fuzz_fail aborts when one breaks):
 * - a failure is TS_INVALID_REQUEST or TS_SERVER_ERROR with a reason and no path;
 * - a parsed path has a name, and its canonical text, [urn ":"] name ["[" filter "]"] ["." sub]
 *   with the lower-cased parts and scimf_print's filter, parses again to the same canonical
 *   text (unless it is over SCIMF_MAX_LEN bytes: then it must be refused as too long);
 * - the value filter's canonical form parses as a filter (scimf_parse) to the same text, and
 *   matches (scimf_match) each element of a fixed list as the reparsed filter does. */
#include <jansson.h>
#include "jbuf.h"
#include "scim_filter.h"
#include "fuzz.h"

/* Elements of a multi-valued attribute, as a value filter sees them. */
static const char elements_json[] =
	"[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true,\"n\":3},"
	"{\"value\":\"Babs@Jensen.org\",\"type\":\"home\",\"primary\":false,\"display\":null},"
	"{\"value\":\"\",\"type\":\"\\u00e9\",\"n\":-1.5e3,\"tags\":[\"a\",\"b\"]},{}]";

static json_t *elements(void)
{
	static json_t *els;

	if (!els && !(els = json_loads(elements_json, 0, NULL)))
		fuzz_fail("the fixed elements do not load", "", NULL);
	return els;
}

/* The canonical text of path p (malloc'd); aborts when out of memory. */
static char *path_text(const struct scimf_path *p)
{
	struct jbuf b = {0};
	char *f, *s;

	if (p->attr.urn_lc) {
		jbuf_raw(&b, p->attr.urn_lc, strlen(p->attr.urn_lc));
		jbuf_raw(&b, ":", 1);
	}
	jbuf_raw(&b, p->attr.name_lc, strlen(p->attr.name_lc));
	if (p->filter) {
		if (!(f = scimf_print(p->filter)))
			fuzz_fail("scimf_print failed", p->attr.name, NULL);
		jbuf_raw(&b, "[", 1);
		jbuf_raw(&b, f, strlen(f));
		jbuf_raw(&b, "]", 1);
		free(f);
	}
	if (p->attr.sub_lc) {
		jbuf_raw(&b, ".", 1);
		jbuf_raw(&b, p->attr.sub_lc, strlen(p->attr.sub_lc));
	}
	if (!(s = jbuf_take(&b, NULL)))
		abort();
	return s;
}

/* The value filter f: its canonical form is a filter that parses to itself and matches as f. */
static void check_filter(const struct scimf_node *f, const char *in)
{
	struct scimf_node *g = NULL;
	const char *why = NULL;
	char *s1 = scimf_print(f), *s2;
	size_t i;
	json_t *el;
	int exact;

	if (!s1)
		fuzz_fail("scimf_print failed", in, NULL);
	if (strlen(s1) > SCIMF_MAX_LEN) {
		free(s1);
		return;
	}
	if (scimf_parse(s1, &g, &why) != TS_OK)
		fuzz_fail("the value filter's canonical form does not parse", s1, why);
	if (!(s2 = scimf_print(g)))
		fuzz_fail("scimf_print failed", s1, NULL);
	if (strcmp(s1, s2))
		fuzz_fail("the value filter's canonical form is not a fixed point", s1, s2);
	json_array_foreach(elements(), i, el)
		for (exact = 0; exact <= 1; exact++)
			if (scimf_match(f, el, exact) != scimf_match(g, el, exact))
				fuzz_fail("scimf_match differs on the canonical form", in, s1);
	free(s2);
	free(s1);
	scimf_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *s1, *s2;
	struct scimf_path *p = NULL, *p2 = NULL;
	const char *why = NULL;
	ts_err e = scimf_parse_path(in, &p, &why);

	if (e != TS_OK) {
		if ((e != TS_INVALID_REQUEST && e != TS_SERVER_ERROR) || p || !why)
			fuzz_fail("a failed parse without a reason, or with a path", in, why);
		free(in);
		return 0;
	}
	if (!p || why || !p->attr.name || !p->attr.name_lc)
		fuzz_fail("a parse without a path or a name, or with a reason", in, why);
	s1 = path_text(p);
	e = scimf_parse_path(s1, &p2, &why);
	if (strlen(s1) > SCIMF_MAX_LEN) {
		if (e != TS_INVALID_REQUEST || !why || strcmp(why, "filter too long"))
			fuzz_fail("a too long canonical path not refused as too long", in, s1);
	} else {
		if (e != TS_OK)
			fuzz_fail("the canonical path does not parse", s1, why);
		s2 = path_text(p2);
		if (strcmp(s1, s2))
			fuzz_fail("the canonical path is not a fixed point", s1, s2);
		free(s2);
	}
	if (p->filter)
		check_filter(p->filter, in);
	scimf_path_free(p2);
	scimf_path_free(p);
	free(s1);
	free(in);
	return 0;
}
