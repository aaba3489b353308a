/* fuzz_scim_json.c - libFuzzer target for SCIM JSON bodies (RFC 7643/7644): a User, Group or
 * Client sent to POST / PUT (lib/scim/scim_schema.h scim_normalize, then lib/scim/scim_res.h
 * scim_*_from, which fill the record that is stored) and a PATCH body applied to a fixed
 * resource of each type (lib/scim/scim_patch.h scim_patch). The input is a JSON text, loaded as the
 * daemon loads bodies (JSON_REJECT_DUPLICATES).
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - a refusal is TS_INVALID_REQUEST with a scimType and a detail, and gives no result;
 * - normalising is idempotent: a normalised body normalises to itself;
 * - store and answer are a fixed point: the resource answered for a record filled from an
 *   accepted body (scim_*_json), taken as a body again, fills a record answered identically;
 * - a PATCH never changes the resource it is given (it works on a copy; a failed PATCH leaves
 *   it as it was), and a patched resource that normalises is stored and answered as above. */
#include <jansson.h>
#include "scim_patch.h"
#include "scim_res.h"
#include "scim_schema.h"
#include "fuzz.h"

#define BASE "https://issuer.example/scim/v2"

static void check_refusal(ts_err e, const struct scim_error *err, const json_t *out,
                          const char *in, const char *what)
{
	if (e == TS_SERVER_ERROR)
		return;
	if (e != TS_INVALID_REQUEST || err->type == SCIM_E_NONE || !err->detail || out)
		fuzz_fail("a refusal without a scimType or detail, or with a result", in, what);
}

/* The resource answered for the record filled from the normalised n, or NULL (and *e set) when
 * the _from function refuses it. */
static json_t *store_and_answer(const struct scim_rtype *t, const json_t *n, ts_err *e,
                                struct scim_error *err)
{
	json_t *res = NULL;

	switch (t->id) {
	case SCIM_R_USER: {
		struct user u = {.id = 7, .created_at = 1700000000, .updated_at = 1700000001,
		                 .group_scope = "", .groups = "[]"};

		if ((*e = scim_user_from(n, &u, err)) == TS_OK)
			res = scim_user_json(&u, BASE);
		scim_user_clear(&u);
		break;
	}
	case SCIM_R_GROUP: {
		struct group g = {.id = 8, .created_at = 1700000000, .updated_at = 1700000001,
		                  .members = "[]"};
		int64_t *ids = NULL;
		size_t nids = 0;

		if ((*e = scim_group_from(n, &g, &ids, &nids, err)) == TS_OK)
			res = scim_group_json(&g, BASE);
		free(ids);
		scim_group_clear(&g);
		break;
	}
	default: {
		struct client c = {.client_id = "dev1", .active = 1, .refresh_rotation = 1,
		                   .created_at = 1700000000, .updated_at = 1700000001};

		if ((*e = scim_client_from(n, &c, err)) == TS_OK)
			res = scim_client_json(&c, BASE);
		store_client_clear(&c);
		break;
	}
	}
	if (*e == TS_OK && !res)
		*e = TS_SERVER_ERROR;
	return res;
}

/* Normalises body for t and checks the properties; returns the answered resource or NULL. */
static json_t *check_body(const struct scim_rtype *t, const json_t *body, const char *in)
{
	struct scim_error err = {0};
	json_t *n = NULL, *n2 = NULL, *res = NULL, *rn = NULL, *res2 = NULL;
	ts_err e = scim_normalize(t, body, &n, &err);

	if (e != TS_OK) {
		check_refusal(e, &err, n, in, t->name);
		goto out;
	}
	if (scim_normalize(t, n, &n2, &err) != TS_OK || !json_equal(n, n2)) {
		char *s = json_dumps(n, JSON_COMPACT);

		fuzz_fail("normalising is not idempotent", in, s);
	}
	res = store_and_answer(t, n, &e, &err);
	if (!res)
		goto out; /* refused by Tessera's own rules (checked above) or out of memory */
	scim_error_clear(&err);
	if (scim_normalize(t, res, &rn, &err) != TS_OK) {
		char *s = json_dumps(res, JSON_COMPACT);

		fuzz_fail("an answered resource is refused as a body", in, s);
	}
	res2 = store_and_answer(t, rn, &e, &err);
	if (!res2 || !json_equal(res, res2)) {
		char *s = json_dumps(res, JSON_COMPACT);

		fuzz_fail("store and answer is not a fixed point", in, s);
	}
out:
	if (e != TS_OK && e != TS_SERVER_ERROR && res == NULL && n && (err.type == SCIM_E_NONE))
		fuzz_fail("a record refused without a scimType", in, t->name);
	scim_error_clear(&err);
	json_decref(n);
	json_decref(n2);
	json_decref(rn);
	json_decref(res2);
	return res;
}

/* The fixed resources a PATCH is applied to, one per type, built through the same path. */
static const char *const fixed_body[] = {
	[SCIM_R_USER] = "{\"schemas\":[\"" SCIM_CORE_USER "\",\"" SCIM_ENTERPRISE_USER "\"],"
		"\"userName\":\"bjensen\",\"displayName\":\"Babs Jensen\",\"title\":\"Tour Guide\","
		"\"name\":{\"givenName\":\"Barbara\",\"familyName\":\"Jensen\"},"
		"\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true},"
		"{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
		"\"phoneNumbers\":[{\"value\":\"555-555-8377\",\"type\":\"work\"}],"
		"\"" SCIM_ENTERPRISE_USER "\":{\"employeeNumber\":\"701984\","
		"\"manager\":{\"value\":\"26118915\"}}}",
	[SCIM_R_GROUP] = "{\"schemas\":[\"" SCIM_CORE_GROUP "\"],\"displayName\":\"Tour Guides\"}",
	[SCIM_R_CLIENT] = "{\"schemas\":[\"" SCIM_TESSERA_CLIENT "\"],\"name\":\"Sensor\","
		"\"grantTypes\":[\"client_credentials\"],\"scope\":\"mqtt:pub:devices/${clientid}/#\"}",
};

static json_t *fixed[SCIM_R_COUNT];

static void load_fixed(void)
{
	json_t *b;
	int i;

	for (i = SCIM_R_USER; i <= SCIM_R_CLIENT; i++) {
		if (fixed[i])
			continue;
		b = json_loads(fixed_body[i], 0, NULL);
		if (!b || !(fixed[i] = check_body(scim_rtype((enum scim_rtype_id)i), b, fixed_body[i])))
			fuzz_fail("a fixed resource does not load", fixed_body[i], NULL);
		json_decref(b);
	}
}

static void check_patch(const struct scim_rtype *t, const json_t *req, const char *in)
{
	struct scim_error err = {0};
	json_t *before = json_deep_copy(fixed[t->id]), *out = NULL, *res;
	ts_err e;

	if (!before)
		return;
	e = scim_patch(t, fixed[t->id], req, &out, &err);
	if (!json_equal(before, fixed[t->id]))
		fuzz_fail("scim_patch changed the resource it was given", in, t->name);
	if (e != TS_OK) {
		check_refusal(e, &err, out, in, t->name);
	} else {
		if (!json_is_object(out))
			fuzz_fail("scim_patch succeeds without an object", in, t->name);
		res = check_body(t, out, in);
		json_decref(res);
	}
	scim_error_clear(&err);
	json_decref(out);
	json_decref(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *res;
	char *in;
	int i;

	load_fixed();
	if (!body)
		return 0;
	in = fuzz_text(data, size);
	for (i = SCIM_R_USER; i <= SCIM_R_CLIENT; i++) {
		res = check_body(scim_rtype((enum scim_rtype_id)i), body, in);
		json_decref(res);
		check_patch(scim_rtype((enum scim_rtype_id)i), body, in);
	}
	json_decref(body);
	free(in);
	return 0;
}
