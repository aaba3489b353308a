/* fuzz_scim_filter.c - libFuzzer target for the SCIM filter parser (lib/scim/scim_filter.h, scimf_parse).
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - a failure is TS_INVALID_REQUEST or TS_SERVER_ERROR with a reason and no tree;
 * - a parsed filter prints (scimf_print), the printed text parses again and prints to the same
 *   text: the canonical form is a fixed point. The one exception is length: the canonical form
 *   may be longer than the text (it adds parentheses and \u escapes), so a canonical form over
 *   SCIMF_MAX_LEN bytes must be refused exactly as "filter too long";
 * - both trees give the same scimf_match answer (0 or 1) on a fixed resource, case-insensitive
 *   and case-exact. Memory errors, leaks and undefined behaviour are the sanitizers' part. */
#include <jansson.h>
#include "scim_filter.h"
#include "fuzz.h"

/* A SCIM User with every kind of value the matcher handles. */
static const char resource_json[] =
	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
	"\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
	"\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"externalId\":\"bjensen\","
	"\"userName\":\"Bjensen@example.com\",\"name\":{\"familyName\":\"Jensen\","
	"\"givenName\":\"Barbara\",\"formatted\":\"Ms. Barbara J Jensen, III\"},"
	"\"displayName\":\"Babs Jensen\",\"title\":\"Tour Guide\",\"userType\":\"Employee\","
	"\"nickName\":\"\",\"manager\":null,\"active\":true,\"locked\":false,\"age\":42,"
	"\"score\":2.5,\"big\":9223372036854775807,\"tags\":[],\"x\":{},\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac\","
	"\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true},"
	"{\"value\":\"babs@jensen.org\",\"type\":\"home\"},\"plain@example.org\"],"
	"\"phoneNumbers\":[{\"value\":\"555-555-8377\",\"type\":\"work\"}],"
	"\"ims\":[{\"value\":\"someaimhandle\",\"type\":\"aim\"}],"
	"\"groups\":[{\"value\":\"e9e30dba\",\"display\":\"Tour Guides\"}],"
	"\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"701984\","
	"\"manager\":{\"value\":\"26118915\",\"displayName\":\"John Smith\"}},"
	"\"meta\":{\"resourceType\":\"User\",\"created\":\"2010-01-23T04:56:22Z\","
	"\"lastModified\":\"2011-05-13T04:42:34Z\",\"version\":\"W/\\\"3694e05e\\\"\"}}";

static json_t *resource(void)
{
	static json_t *res;

	if (!res && !(res = json_loads(resource_json, 0, NULL)))
		fuzz_fail("the fixed resource does not load", "", NULL);
	return res;
}

/* Matches a and b against the resource both ways and checks that they agree. */
static void check_match(const struct scimf_node *a, const struct scimf_node *b, const char *in)
{
	int exact;

	for (exact = 0; exact <= 1; exact++) {
		int ra = scimf_match(a, resource(), exact), rb = scimf_match(b, resource(), exact);

		if ((ra != 0 && ra != 1) || ra != rb)
			fuzz_fail("scimf_match differs on the canonical form", in,
				  exact ? "case_exact 1" : "case_exact 0");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *s1, *s2;
	struct scimf_node *n = NULL, *n2 = NULL;
	const char *why = NULL;
	ts_err e = scimf_parse(in, &n, &why);

	if (e != TS_OK) {
		if ((e != TS_INVALID_REQUEST && e != TS_SERVER_ERROR) || n || !why)
			fuzz_fail("a failed parse without a reason, or with a tree", in, why);
		free(in);
		return 0;
	}
	if (!n || why)
		fuzz_fail("a parse without a tree, or with a reason", in, why);
	if (!(s1 = scimf_print(n)))
		fuzz_fail("scimf_print failed", in, NULL);
	e = scimf_parse(s1, &n2, &why);
	if (strlen(s1) > SCIMF_MAX_LEN) {
		if (e != TS_INVALID_REQUEST || !why || strcmp(why, "filter too long"))
			fuzz_fail("a too long canonical form not refused as too long", in, s1);
		check_match(n, n, in);
	} else {
		if (e != TS_OK)
			fuzz_fail("the canonical form does not parse", s1, why);
		if (!(s2 = scimf_print(n2)))
			fuzz_fail("scimf_print failed", s1, NULL);
		if (strcmp(s1, s2))
			fuzz_fail("the canonical form is not a fixed point", s1, s2);
		free(s2);
		check_match(n, n2, in);
	}
	scimf_free(n2);
	scimf_free(n);
	free(s1);
	free(in);
	return 0;
}
