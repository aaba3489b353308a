/* test_enroll.c - enrollment tokens and the template checks of a registration (lib/enroll.c,
 * lib/enroll_meta.c): what a template may be, the token's form and its constant-time check, and
 * that registration metadata never gets more than its template (docs/security.md rows 107-109). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "enroll.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SCOPE "mqtt:pub:devices/${clientid}/# mqtt:sub:devices/${clientid}/cmd/#"
/* the P-256 key of RFC 7515 appendix A.3: a point on the curve */
#define JWKS "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", " \
	"\"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", " \
	"\"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}"

static struct enroll_template tmpl(const char *grants, const char *scope, const char *method)
{
	struct enroll_template t = {(char *)grants, (char *)scope, (char *)method, 0};

	return t;
}

/* ---- templates (row 107) ---- */

static const struct {
	const char *grants, *scope, *method;
	int ok;
} templates[] = {
	{"client_credentials", SCOPE, "private_key_jwt", 1},
	{"client_credentials device_code refresh_token", SCOPE, "self_signed_tls_client_auth", 1},
	{"authorization_code", "openid mqtt:sub:home/${username}/#", "private_key_jwt", 1},
	/* never a shared secret, nor anything else */
	{"client_credentials", SCOPE, "client_secret_basic", 0},
	{"client_credentials", SCOPE, "client_secret_post", 0},
	{"client_credentials", SCOPE, "none", 0},
	{"client_credentials", SCOPE, "tls_client_auth", 0},
	{"client_credentials", SCOPE, "", 0},
	{"client_credentials", SCOPE, NULL, 0},
	{"", SCOPE, "private_key_jwt", 0},
	{"password", SCOPE, "private_key_jwt", 0},
	{"client_credentials implicit", SCOPE, "private_key_jwt", 0},
	{"client_credentialsx", SCOPE, "private_key_jwt", 0},
	{"client_credentials", "", "private_key_jwt", 0},
	{"client_credentials", "mqtt:pub:a/#/b", "private_key_jwt", 0},
	{"client_credentials", "mqtt:pub:a/${other}/b", "private_key_jwt", 0},
};

START_TEST(test_template)
{
	struct enroll_template t = tmpl(templates[_i].grants, templates[_i].scope,
	                                templates[_i].method);
	char *bad = NULL;
	const char *why = enroll_template_problem(&t, &bad);

	ck_assert_msg((why == NULL) == templates[_i].ok, "row %d: %s", _i, why ? why : "ok");
	free(bad);
}
END_TEST

/* The CLI's and SCIM's grant list: the device flow's URN kept as device_code, each type once. */
START_TEST(test_template_add_grant)
{
	struct enroll_template t = {0};

	ck_assert_int_eq(enroll_template_add_grant(&t, "client_credentials"), 0);
	ck_assert_int_eq(enroll_template_add_grant(&t, "urn:ietf:params:oauth:grant-type:device_code"),
	                 0);
	ck_assert_int_eq(enroll_template_add_grant(&t, "device_code"), 0);
	ck_assert_int_eq(enroll_template_add_grant(&t, "client_credentials"), 0);
	ck_assert_str_eq(t.grant_types, "client_credentials device_code");
	free(t.grant_types);
}
END_TEST

/* ---- tokens (row 107) ---- */

START_TEST(test_token)
{
	struct enrollment e = {0}, f = {0};
	char text[ENROLL_TOKEN_LEN], other[ENROLL_TOKEN_LEN], id[ENROLL_ID_LEN], bad[ENROLL_TOKEN_LEN];
	const char *secret;

	ck_assert_int_eq(enroll_token_new(&e, text), TS_OK);
	ck_assert_int_eq(enroll_token_new(&f, other), TS_OK);
	ck_assert_str_ne(text, other);
	ck_assert_int_eq((int)strlen(text), ENROLL_TOKEN_LEN - 1);
	ck_assert_int_eq(enroll_token_parse(text, id, &secret), 0);
	ck_assert_str_eq(id, e.id);
	ck_assert_int_eq((int)strlen(secret), 43); /* 256 bits */
	ck_assert(enroll_secret_matches(e.hash, secret));
	ck_assert(!enroll_secret_matches(f.hash, secret));
	/* the secret is not stored: the hash is its SHA-256, not the text */
	ck_assert(memcmp(e.hash, secret, 32) != 0);
	strcpy(bad, text);
	bad[ENROLL_TOKEN_LEN - 2] = bad[ENROLL_TOKEN_LEN - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(enroll_token_parse(bad, id, &secret), 0);
	ck_assert(!enroll_secret_matches(e.hash, secret));
	ck_assert_int_eq(enroll_token_parse("", id, &secret), -1);
	ck_assert_int_eq(enroll_token_parse("en-0123456789ab", id, &secret), -1);
	bad[3] = 'G';
	ck_assert_int_eq(enroll_token_parse(bad, id, &secret), -1);
	strcpy(bad, text);
	bad[20] = '.';
	ck_assert_int_eq(enroll_token_parse(bad, id, &secret), -1);
	free(e.id);
	free(f.id);
}
END_TEST

START_TEST(test_unusable)
{
	struct enrollment e = {.max_uses = 2, .uses = 1, .expires_at = 100};

	ck_assert_ptr_null(enroll_unusable(&e, 99));
	ck_assert_ptr_nonnull(enroll_unusable(&e, 100)); /* expired at its second */
	e.uses = 2;
	ck_assert_ptr_nonnull(enroll_unusable(&e, 50));
	e.uses = 0;
	e.revoked_at = 10;
	ck_assert_ptr_nonnull(enroll_unusable(&e, 50));
}
END_TEST

START_TEST(test_duration)
{
	int64_t s = 0;

	ck_assert_int_eq(enroll_duration("30d", &s), 0);
	ck_assert_int_eq(s, 30 * 86400);
	ck_assert_int_eq(enroll_duration("12h", &s), 0);
	ck_assert_int_eq(s, 12 * 3600);
	ck_assert_int_eq(enroll_duration("90m", &s), 0);
	ck_assert_int_eq(s, 5400);
	ck_assert_int_eq(enroll_duration("3600", &s), 0);
	ck_assert_int_eq(s, 3600);
	ck_assert_int_eq(enroll_duration("45s", &s), 0);
	ck_assert_int_eq(s, 45);
	ck_assert_int_eq(enroll_duration("3650d", &s), 0);
	ck_assert_int_eq(enroll_duration("3651d", &s), -1);
	ck_assert_int_eq(enroll_duration("0", &s), -1);
	ck_assert_int_eq(enroll_duration("-1d", &s), -1);
	ck_assert_int_eq(enroll_duration("1w", &s), -1);
	ck_assert_int_eq(enroll_duration("1dd", &s), -1);
	ck_assert_int_eq(enroll_duration("", &s), -1);
	ck_assert_int_eq(enroll_duration(" 1d", &s), -1);
	ck_assert_int_eq(enroll_duration("99999999999999999999d", &s), -1);
}
END_TEST

START_TEST(test_client_ids)
{
	char a[ENROLL_CLIENT_ID_LEN], b[ENROLL_CLIENT_ID_LEN];

	ck_assert_int_eq(enroll_client_id_new(a), TS_OK);
	ck_assert_int_eq(enroll_client_id_new(b), TS_OK);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq((int)strlen(a), ENROLL_CLIENT_ID_LEN - 1);
	ck_assert_int_eq(strncmp(a, "dev-", 4), 0);
	/* nothing that could widen an MQTT filter through ${clientid}, never digits only */
	ck_assert_int_eq((int)strspn(a + 4, "abcdefghijkmnpqrstuvwxyz23456789"), 16);
}
END_TEST

/* ---- metadata within the template (rows 108, 109) ---- */

static ts_err meta(const char *json, const char *grants, struct client *c)
{
	struct enroll_template t = tmpl(grants, SCOPE, "private_key_jwt");
	json_t *md = json_loads(json, 0, NULL);
	char why[240];
	ts_err e;

	ck_assert_msg(md != NULL, "bad test JSON %s", json);
	memset(c, 0, sizeof *c);
	c->client_id = strdup("dev-abcdefghijkmnpqr");
	e = enroll_metadata(md, &t, c, why, sizeof why);
	json_decref(md);
	return e;
}

static void clear(struct client *c)
{
	free(c->client_id);
	free(c->name);
	free(c->redirect_uris);
	free(c->post_logout_redirect_uris);
	free(c->grant_types);
	free(c->scope);
	free(c->auth_method);
	free(c->jwks);
	free(c->jwks_uri);
}

START_TEST(test_meta_defaults)
{
	struct client c;

	ck_assert_int_eq(meta("{\"jwks\": " JWKS "}", "client_credentials refresh_token", &c), TS_OK);
	ck_assert_str_eq(c.grant_types, "client_credentials refresh_token");
	ck_assert_str_eq(c.scope, "mqtt:pub:devices/dev-abcdefghijkmnpqr/# "
	                          "mqtt:sub:devices/dev-abcdefghijkmnpqr/cmd/#");
	ck_assert_str_eq(c.auth_method, "private_key_jwt");
	ck_assert(!c.is_public && c.active);
	ck_assert_ptr_nonnull(strstr(c.jwks, "\"kty\":\"EC\""));
	ck_assert_ptr_null(c.jwks_uri);
	clear(&c);
}
END_TEST

START_TEST(test_meta_scope_narrowed)
{
	struct client c;

	ck_assert_int_eq(meta("{\"jwks\": " JWKS ", \"scope\": \"mqtt:pub:# scim mqtt:sub:x/#\"}",
	                      "client_credentials", &c), TS_OK);
	ck_assert_str_eq(c.scope, "mqtt:pub:devices/dev-abcdefghijkmnpqr/#");
	clear(&c);
	ck_assert_int_eq(meta("{\"jwks\": " JWKS ", \"scope\": \"scim introspect\"}",
	                      "client_credentials", &c), TS_INVALID_CLIENT_METADATA);
	clear(&c);
	ck_assert_int_eq(meta("{\"jwks\": " JWKS ", \"scope\": \"mqtt:pub:devices/${clientid}/#\"}",
	                      "client_credentials", &c), TS_INVALID_CLIENT_METADATA);
	clear(&c);
}
END_TEST

static const struct {
	const char *json;
	ts_err e;
} bad_meta[] = {
	{"{\"jwks\": " JWKS ", \"grant_types\": [\"refresh_token\"]}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"grant_types\": [\"password\"]}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"grant_types\": []}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"token_endpoint_auth_method\": \"client_secret_basic\"}",
	 TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"token_endpoint_auth_method\": \"none\"}",
	 TS_INVALID_CLIENT_METADATA},
	{"{}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"jwks_uri\": \"https://k.example/\"}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks_uri\": \"http://k.example/\"}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": {\"keys\": [{\"kty\": \"oct\", \"k\": \"AA\"}]}}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": {\"keys\": [{\"kty\": \"EC\", \"d\": \"AA\"}]}}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"client_name\": 1}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"scope\": 1}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"response_types\": [\"code\"]}", TS_INVALID_CLIENT_METADATA},
	{"{\"jwks\": " JWKS ", \"redirect_uris\": [\"javascript:x\"]}", TS_INVALID_REDIRECT_URI},
	{"{\"jwks\": " JWKS ", \"redirect_uris\": \"https://a.example/\"}", TS_INVALID_REDIRECT_URI},
	{"[]", TS_INVALID_CLIENT_METADATA},
};

START_TEST(test_meta_refused)
{
	struct client c;

	ck_assert_msg(meta(bad_meta[_i].json, "client_credentials", &c) == bad_meta[_i].e,
	              "row %d: %s", _i, bad_meta[_i].json);
	clear(&c);
}
END_TEST

START_TEST(test_meta_code_needs_redirect_uris)
{
	struct client c;

	ck_assert_int_eq(meta("{\"jwks\": " JWKS "}", "authorization_code", &c),
	                 TS_INVALID_REDIRECT_URI);
	clear(&c);
	ck_assert_int_eq(meta("{\"jwks\": " JWKS ", \"redirect_uris\": [\"https://a.example/cb\"], "
	                      "\"response_types\": [\"code\"]}", "authorization_code", &c), TS_OK);
	ck_assert_str_eq(c.redirect_uris, "https://a.example/cb");
	clear(&c);
}
END_TEST

START_TEST(test_meta_json_answer)
{
	struct client c;
	json_t *j;

	ck_assert_int_eq(meta("{\"jwks\": " JWKS ", \"client_name\": \"S\", \"grant_types\": "
	                      "[\"urn:ietf:params:oauth:grant-type:device_code\"]}",
	                      "client_credentials device_code", &c), TS_OK);
	c.created_at = 1234;
	j = enroll_client_json(&c);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "client_id")), c.client_id);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "client_id_issued_at")), 1234);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "grant_types"), 0)),
	                 "urn:ietf:params:oauth:grant-type:device_code");
	ck_assert_ptr_null(json_object_get(j, "client_secret"));
	json_decref(j);
	clear(&c);
}
END_TEST

static Suite *enroll_suite(void)
{
	Suite *s = suite_create("enroll");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_template, 0, N(templates));
	tcase_add_test(tc, test_template_add_grant);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_unusable);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_client_ids);
	tcase_add_test(tc, test_meta_defaults);
	tcase_add_test(tc, test_meta_scope_narrowed);
	tcase_add_loop_test(tc, test_meta_refused, 0, N(bad_meta));
	tcase_add_test(tc, test_meta_code_needs_redirect_uris);
	tcase_add_test(tc, test_meta_json_answer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(enroll_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
