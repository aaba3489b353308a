/* Unit tests for lib/token: RFC 9068 claims, validation policy, the EMQX acl claim. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "jwt.h"
#include "secret.h"
#include "token.h"

static jwt_key *key;

static void setup(void)
{
	char *pem = NULL;

	ck_assert_int_eq(jwt_key_generate("ES256", &pem), TS_OK);
	ck_assert_int_eq(jwt_key_load("ES256", pem, &key), TS_OK);
	secret_free(pem);
}

static void teardown(void)
{
	token_cache_clear();
	jwt_key_free(key);
}

static char *issue(int64_t iat, int64_t exp, enum mqtt_claim mc, struct access_token *t)
{
	char *jwt = NULL;

	t->iss = "https://as.example";
	t->aud = "mqtt";
	t->sub = t->client_id = "dev1";
	t->scope = "mqtt:pub:a/# mqtt:sub:b/+ mqtt:pubsub:c introspect";
	t->iat = iat;
	t->exp = exp;
	ck_assert_int_eq(token_access_sign(key, t, mc, &jwt), TS_OK);
	return jwt;
}

START_TEST(test_claims)
{
	struct access_token t = {0};
	const jwt_key *keys[] = {key};
	char *jwt = issue(1000, 4600, MQTT_CLAIM_NONE, &t);
	json_t *c = NULL;

	ck_assert_uint_eq(strlen(t.jti), 22); /* 128 bits */
	ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 2000, &c), TS_OK);
	ck_assert_str_eq(json_string_value(json_object_get(c, "iss")), "https://as.example");
	ck_assert_str_eq(json_string_value(json_object_get(c, "aud")), "mqtt");
	ck_assert_str_eq(json_string_value(json_object_get(c, "sub")), "dev1");
	ck_assert_str_eq(json_string_value(json_object_get(c, "client_id")), "dev1");
	ck_assert_str_eq(json_string_value(json_object_get(c, "jti")), t.jti);
	ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), 4600);
	ck_assert_ptr_null(json_object_get(c, "acl"));
	ck_assert_ptr_null(json_object_get(c, "username"));
	json_decref(c);
	/* the header says at+jwt (RFC 9068 §2.1): a verifier asking for another typ refuses it */
	ck_assert_int_eq(jwt_verify(keys, 1, jwt, "JWT", &c), TS_INVALID_TOKEN);
	free(jwt);
}
END_TEST

START_TEST(test_policy)
{
	struct access_token t = {0};
	const jwt_key *keys[] = {key};
	char *jwt = issue(1000, 4600, MQTT_CLAIM_NONE, &t);
	json_t *c = NULL;
	int i;

	/* twice: once verified, once from the cache; the policy holds both times */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 4600, &c),
		                 TS_INVALID_TOKEN); /* expired at exp */
		ck_assert_int_eq(token_access_verify(keys, 1, "https://other", jwt, 2000, &c),
		                 TS_INVALID_TOKEN); /* foreign issuer */
		ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt,
		                                     1000 - TOKEN_LEEWAY - 1, &c),
		                 TS_INVALID_TOKEN); /* issued in the future */
		ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 1000, &c),
		                 TS_OK);
		json_decref(c);
	}
	ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", "garbage", 2000, &c),
	                 TS_INVALID_TOKEN);
	ck_assert_int_eq(token_access_verify(keys, 0, "https://as.example", jwt, 2000, &c),
	                 TS_OK); /* cached signature check; key sets change only with a cache clear */
	json_decref(c);
	token_cache_clear();
	ck_assert_int_eq(token_access_verify(keys, 0, "https://as.example", jwt, 2000, &c),
	                 TS_INVALID_TOKEN);
	free(jwt);
}
END_TEST

START_TEST(test_policy_claims_required)
{
	const jwt_key *keys[] = {key};
	static const char *const bad[] = {
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\",\"scope\":\"x\",\"iat\":1}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\",\"scope\":\"x\",\"exp\":9999}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\",\"iat\":1,\"exp\":9999}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"jti\":\"j\",\"scope\":\"x\",\"iat\":1,\"exp\":9999}",
		"{\"iss\":\"i\",\"client_id\":\"c\",\"jti\":\"j\",\"scope\":\"x\",\"iat\":1,\"exp\":9999}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"scope\":\"x\",\"iat\":1,\"exp\":9999}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\",\"scope\":\"x\",\"iat\":1,"
		"\"exp\":\"9999\"}",
		"{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\",\"scope\":\"x\",\"iat\":1,"
		"\"exp\":9999,\"nbf\":5000}",
	};
	const char *good = "{\"iss\":\"i\",\"sub\":\"s\",\"client_id\":\"c\",\"jti\":\"j\","
	                   "\"scope\":\"x\",\"iat\":1,\"exp\":9999,\"nbf\":1}";
	json_t *claims, *c = NULL;
	char *jwt;
	size_t i;

	for (i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
		claims = json_loads(i < sizeof bad / sizeof bad[0] ? bad[i] : good, 0, NULL);
		ck_assert_ptr_nonnull(claims);
		ck_assert_int_eq(jwt_sign(key, "at+jwt", claims, &jwt), TS_OK);
		ck_assert_int_eq(token_access_verify(keys, 1, "i", jwt, 2000, &c),
		                 i < sizeof bad / sizeof bad[0] ? TS_INVALID_TOKEN : TS_OK);
		json_decref(c);
		c = NULL;
		json_decref(claims);
		free(jwt);
	}
}
END_TEST

START_TEST(test_emqx_acl)
{
	/* EMQX 5.5+ JWT ACL (docs: access-control/authn/acl): a list of
	 * {permission, action, topic}; anything not matched falls through, hence the final deny */
	json_t *acl = token_emqx_acl("openid mqtt:pub:t/${clientid} mqtt:sub:t/1/# mqtt:pubsub:x/+",
	                             MQTT_CLAIM_EMQX);
	json_t *want = json_loads("[{\"permission\":\"allow\",\"action\":\"publish\","
	                          "\"topic\":\"t/${clientid}\"},"
	                          "{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"t/1/#\"},"
	                          "{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"x/+\"},"
	                          "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]",
	                          0, NULL);

	ck_assert(json_equal(acl, want));
	json_decref(acl);
	json_decref(want);
	/* the legacy object: {"pub":[...],"sub":[...],"all":[...]} whitelists */
	acl = token_emqx_acl("mqtt:pub:a mqtt:pub:b/# mqtt:sub:c mqtt:pubsub:d", MQTT_CLAIM_EMQX_LEGACY);
	want = json_loads("{\"pub\":[\"a\",\"b/#\"],\"sub\":[\"c\"],\"all\":[\"d\"]}", 0, NULL);
	ck_assert(json_equal(acl, want));
	json_decref(acl);
	json_decref(want);
	ck_assert_ptr_null(token_emqx_acl("mqtt:pub:a", MQTT_CLAIM_NONE));
}
END_TEST

START_TEST(test_emqx_claim_in_token)
{
	struct access_token t = {0};
	const jwt_key *keys[] = {key};
	char *jwt = issue(1000, 4600, MQTT_CLAIM_EMQX, &t);
	json_t *c = NULL;

	ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 2000, &c), TS_OK);
	ck_assert(json_is_array(json_object_get(c, "acl")));
	ck_assert_uint_eq(json_array_size(json_object_get(c, "acl")), 4);
	json_decref(c);
	free(jwt);
}
END_TEST

START_TEST(test_jti_distinct)
{
	struct access_token t = {0};
	char seen[200][24];
	char *jwt;
	int i, j;

	for (i = 0; i < 200; i++) {
		jwt = issue(1000, 4600, MQTT_CLAIM_NONE, &t);
		memcpy(seen[i], t.jti, sizeof t.jti);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(seen[i], seen[j]);
		free(jwt);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("token");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_claims);
	tcase_add_test(t, test_policy);
	tcase_add_test(t, test_policy_claims_required);
	tcase_add_test(t, test_emqx_acl);
	tcase_add_test(t, test_emqx_claim_in_token);
	tcase_add_test(t, test_jti_distinct);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
