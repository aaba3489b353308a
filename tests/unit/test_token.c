/* Unit tests for lib/common/token: RFC 9068 claims, validation policy, the EMQX acl claim. */
#include <check.h>
#include <stdio.h>
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

	ck_assert_uint_eq(strlen(t.jti), 16); /* 96 bits */
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

/* A client's own token carries its client record after its jti's "." (no crec claim: a token
 * for constrained links, docs/security.md row 84); tokens from before keep their crec claim. */
START_TEST(test_crec_in_jti)
{
	struct access_token t = {0};
	const jwt_key *keys[] = {key};
	json_t *c = NULL, *old;
	char *jwt;

	t.crec = 42;
	jwt = issue(1000, 4600, MQTT_CLAIM_NONE, &t);
	ck_assert_uint_eq(strlen(t.jti), 19);
	ck_assert_str_eq(t.jti + 16, ".42");
	ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 2000, &c), TS_OK);
	ck_assert_ptr_null(json_object_get(c, "crec"));
	ck_assert_int_eq(token_crec(c), 42);
	json_decref(c);
	free(jwt);
	old = json_pack("{s:s, s:I}", "jti", "abcdefghijklmnopqrstuv", "crec", (json_int_t)7);
	ck_assert_int_eq(token_crec(old), 7);
	json_object_del(old, "crec");
	ck_assert_int_eq(token_crec(old), 0);
	json_object_set_new(old, "jti", json_string("abcdefghijklmnop.0"));
	ck_assert_int_eq(token_crec(old), -1);
	json_object_set_new(old, "jti", json_string("abcdefghijklmnop.4x"));
	ck_assert_int_eq(token_crec(old), -1);
	json_object_set_new(old, "jti", json_string("abcdefghijklmnop.12"));
	ck_assert_int_eq(token_crec(old), 12);
	json_decref(old);
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
	json_t *acl = token_emqx_acl("openid mqtt:pub:t/d1 mqtt:sub:t/1/# mqtt:pubsub:x/+",
	                             MQTT_CLAIM_EMQX);
	json_t *want = json_loads("[{\"permission\":\"allow\",\"action\":\"publish\","
	                          "\"topic\":\"t/d1\"},"
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

/* EMQX's documented JWT "acl" claim, checked against the docs' own examples:
 *   https://docs.emqx.com/en/emqx/latest/access-control/authn/acl.html ("ACL Format")
 *   (source: github.com/emqx/emqx-docs en_US/access-control/authn/acl.md), linked from the JWT
 *   authentication page https://docs.emqx.com/en/emqx/latest/access-control/authn/jwt.html.
 * New format (EMQX >= 5.5.0): an array of rules, each with the required fields "permission"
 * ("allow" | "deny"), "action" ("publish" | "subscribe" | "all") and "topic" (one filter, "+" and
 * "#" written as is); "qos", "retain" (and e5.9 match fields) are optional and default to all.
 * Rules are tried in order and an operation that matches none "continues to other authorization
 * checks", so the list must end in a deny-all rule. A topic "eq F" matches only the filter F
 * itself ("eq t/1/#" matches t/1/#, not t/1/x): not what a scope filter means, so never used.
 * Old format: {"pub":[...],"sub":[...],"all":[...]}, each an optional whitelist of topics
 * (placeholders interpolated unless written "eq ..."); nothing matched means denied. */

/* One new-format rule as documented: exactly the three required fields, documented values, a
 * plain filter for topic. */
static void assert_emqx_rule(json_t *r)
{
	const char *perm = json_string_value(json_object_get(r, "permission"));
	const char *act = json_string_value(json_object_get(r, "action"));
	const char *topic = json_string_value(json_object_get(r, "topic"));

	ck_assert(json_is_object(r));
	ck_assert_uint_eq(json_object_size(r), 3);
	ck_assert_ptr_nonnull(perm);
	ck_assert_ptr_nonnull(act);
	ck_assert_ptr_nonnull(topic);
	ck_assert(strcmp(perm, "allow") == 0 || strcmp(perm, "deny") == 0);
	ck_assert(strcmp(act, "publish") == 0 || strcmp(act, "subscribe") == 0 ||
	          strcmp(act, "all") == 0);
	ck_assert(*topic && strncmp(topic, "eq ", 3) != 0 && !strchr(topic, ' '));
}

static void assert_acl_eq(const char *scope, enum mqtt_claim mc, const char *want_text)
{
	json_t *acl = token_emqx_acl(scope, mc), *want = json_loads(want_text, 0, NULL);
	char *got;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(acl);
	if (!json_equal(acl, want)) {
		got = json_dumps(acl, JSON_COMPACT);
		ck_abort_msg("acl for \"%s\": got %s, want %s", scope, got, want_text);
	}
	json_decref(acl);
	json_decref(want);
}

START_TEST(test_emqx_acl_doc_format)
{
	/* a device, a dashboard user and a service; non-MQTT scopes give no rule */
	static const struct {
		const char *scope, *want;
	} cases[] = {
		{"mqtt:pub:sensors/dev1/# mqtt:sub:sensors/+/temp",
		 "[{\"permission\":\"allow\",\"action\":\"publish\",\"topic\":\"sensors/dev1/#\"},"
		 "{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"sensors/+/temp\"},"
		 "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]"},
		{"openid profile email mqtt:sub:home/alice/# mqtt:pub:home/alice/cmd",
		 "[{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"home/alice/#\"},"
		 "{\"permission\":\"allow\",\"action\":\"publish\",\"topic\":\"home/alice/cmd\"},"
		 "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]"},
		{"introspect mqtt:pubsub:+/status mqtt:sub:#",
		 "[{\"permission\":\"allow\",\"action\":\"all\",\"topic\":\"+/status\"},"
		 "{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"#\"},"
		 "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]"},
		/* no MQTT right at all: the token may do nothing on the broker */
		{"openid introspect", "[{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]"},
		/* topic levels are copied byte for byte: empty levels, a '$' level (scope tokens are
		 * RFC 6749 NQCHARs, so no UTF-8 reaches here) */
		{"mqtt:pub:a//x mqtt:sub:$SYS/broker/+",
		 "[{\"permission\":\"allow\",\"action\":\"publish\",\"topic\":\"a//x\"},"
		 "{\"permission\":\"allow\",\"action\":\"subscribe\",\"topic\":\"$SYS/broker/+\"},"
		 "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]"},
	};
	size_t i, j, n;
	json_t *acl;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_acl_eq(cases[i].scope, MQTT_CLAIM_EMQX, cases[i].want);
		acl = token_emqx_acl(cases[i].scope, MQTT_CLAIM_EMQX);
		ck_assert(json_is_array(acl));
		n = json_array_size(acl);
		ck_assert_uint_ge(n, 1);
		for (j = 0; j < n; j++) {
			json_t *r = json_array_get(acl, j);

			assert_emqx_rule(r);
			/* allows first, in scope order; the one deny closes the list */
			ck_assert_str_eq(json_string_value(json_object_get(r, "permission")),
			                 j + 1 < n ? "allow" : "deny");
		}
		json_decref(acl);
	}
	/* the doc example's own allow rule, fed as a scope, comes back in the documented shape */
	assert_acl_eq("mqtt:pub:t/1", MQTT_CLAIM_EMQX,
	              "[{\"permission\":\"allow\",\"action\":\"publish\",\"topic\":\"t/1\"},"
	              "{\"permission\":\"deny\",\"action\":\"all\",\"topic\":\"#\"}]");
}
END_TEST

START_TEST(test_emqx_acl_legacy_doc_format)
{
	static const struct {
		const char *scope, *want;
	} cases[] = {
		{"mqtt:pub:sensors/dev1/# mqtt:sub:sensors/+/temp mqtt:sub:cmd/dev1 mqtt:pubsub:chat/+",
		 "{\"pub\":[\"sensors/dev1/#\"],\"sub\":[\"sensors/+/temp\",\"cmd/dev1\"],"
		 "\"all\":[\"chat/+\"]}"},
		{"openid mqtt:sub:#", "{\"pub\":[],\"sub\":[\"#\"],\"all\":[]}"},
		/* empty whitelists deny everything (the old format denies what nothing matches) */
		{"openid introspect", "{\"pub\":[],\"sub\":[],\"all\":[]}"},
	};
	const char *const keys[] = {"pub", "sub", "all"};
	size_t i, j, k;
	json_t *acl;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_acl_eq(cases[i].scope, MQTT_CLAIM_EMQX_LEGACY, cases[i].want);
		acl = token_emqx_acl(cases[i].scope, MQTT_CLAIM_EMQX_LEGACY);
		/* exactly the documented keys, each a list of plain filters */
		ck_assert(json_is_object(acl));
		ck_assert_uint_eq(json_object_size(acl), 3);
		for (k = 0; k < 3; k++) {
			json_t *l = json_object_get(acl, keys[k]);

			ck_assert(json_is_array(l));
			for (j = 0; j < json_array_size(l); j++) {
				const char *t = json_string_value(json_array_get(l, j));

				ck_assert_ptr_nonnull(t);
				ck_assert(*t && strncmp(t, "eq ", 3) != 0);
			}
		}
		json_decref(acl);
	}
}
END_TEST

/* The claim in a signed token is exactly token_emqx_acl's, for both formats. */
START_TEST(test_emqx_claim_matches_acl)
{
	const enum mqtt_claim mcs[] = {MQTT_CLAIM_EMQX, MQTT_CLAIM_EMQX_LEGACY};
	const jwt_key *keys[] = {key};
	struct access_token t = {0};
	json_t *c, *want;
	char *jwt;
	size_t i;

	for (i = 0; i < 2; i++) {
		c = NULL;
		jwt = issue(1000, 4600, mcs[i], &t);
		ck_assert_int_eq(token_access_verify(keys, 1, "https://as.example", jwt, 2000, &c),
		                 TS_OK);
		want = token_emqx_acl(t.scope, mcs[i]);
		ck_assert(json_equal(json_object_get(c, "acl"), want));
		/* EMQX ignores the acl of a token without exp (emqx issue 9217): it is there */
		ck_assert(json_is_integer(json_object_get(c, "exp")));
		json_decref(want);
		json_decref(c);
		free(jwt);
	}
}
END_TEST

START_TEST(test_jti_distinct)
{
	struct access_token t = {0};
	char seen[200][sizeof t.jti];
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

/* A scope of n tokens, each "mqtt:pubsub:t<i>/" padded with x to len characters. */
static char *scope_of(int n, int len)
{
	char *s = calloc((size_t)n, (size_t)len + 1), *p = s;
	int i, k;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++) {
		k = snprintf(p, (size_t)len + 1, "mqtt:pubsub:t%03d/", i);
		memset(p + k, 'x', (size_t)(len - k));
		p += len;
		*p++ = i + 1 < n ? ' ' : '\0';
	}
	return s;
}

/* Issue 19 item 12: no access token longer than TOKEN_ACCESS_MAX is made, and
 * token_access_fits says beforehand, exactly as signing would. */
START_TEST(test_size_limit)
{
	struct access_token t = {0};
	char *jwt = NULL, *scope;
	int n, fits, signs;
	enum mqtt_claim mc;

	t.iss = "https://as.example";
	t.aud = "mqtt";
	t.sub = "42";
	t.client_id = "dev1";
	t.username = "alice";
	t.gid = 9;
	t.iat = 1700000000;
	t.exp = 1700003600;
	/* within the scope limits (32 scopes, 1024 bytes) every token fits without the acl claim */
	scope = scope_of(32, 31);
	ck_assert_uint_eq(strlen(scope), 1023);
	t.scope = scope;
	ck_assert_int_eq(token_access_fits(key, &t, MQTT_CLAIM_NONE), TS_OK);
	ck_assert_int_eq(token_access_sign(key, &t, MQTT_CLAIM_NONE, &jwt), TS_OK);
	ck_assert_uint_le(strlen(jwt), TOKEN_ACCESS_MAX);
	ck_assert_uint_gt(strlen(jwt), 1000);
	free(jwt);
	/* jwt_signed_len is the length jwt_sign_payload makes, for every length modulo 3 */
	for (n = 0; n < 7; n++) {
		char payload[32] = "{\"a\":\"";

		memset(payload + 6, 'b', (size_t)n);
		strcpy(payload + 6 + n, "\"}");
		ck_assert_int_eq(jwt_sign_payload(key, n % 2 ? "at+jwt" : NULL, payload,
		                                  strlen(payload), &jwt), TS_OK);
		ck_assert_uint_eq(strlen(jwt), jwt_signed_len(key, n % 2 ? "at+jwt" : NULL,
		                                              strlen(payload)));
		free(jwt);
	}
	/* EMQX's acl claim repeats every filter: there the same scope is too long, refused, and said
	 * so before signing */
	ck_assert_int_eq(token_access_fits(key, &t, MQTT_CLAIM_EMQX), TS_INVALID_SCOPE);
	jwt = (char *)1;
	ck_assert_int_eq(token_access_sign(key, &t, MQTT_CLAIM_EMQX, &jwt), TS_INVALID_SCOPE);
	ck_assert_ptr_null(jwt);
	free(scope);
	/* at the edge, fits and sign agree for every size: the longest made is at most the limit */
	for (mc = MQTT_CLAIM_NONE; mc <= MQTT_CLAIM_EMQX_LEGACY; mc++) {
		int longest = 0;

		for (n = 1; n <= 40; n++) {
			scope = scope_of(n, 90);
			t.scope = scope;
			fits = token_access_fits(key, &t, mc) == TS_OK;
			signs = token_access_sign(key, &t, mc, &jwt) == TS_OK;
			ck_assert_int_eq(fits, signs);
			if (signs) {
				ck_assert_uint_le(strlen(jwt), TOKEN_ACCESS_MAX);
				if ((int)strlen(jwt) > longest)
					longest = (int)strlen(jwt);
				free(jwt);
			}
			free(scope);
		}
		/* and the limit is reached, not merely stayed under */
		ck_assert_int_gt(longest, TOKEN_ACCESS_MAX - 400);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("token");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_claims);
	tcase_add_test(t, test_crec_in_jti);
	tcase_add_test(t, test_policy);
	tcase_add_test(t, test_policy_claims_required);
	tcase_add_test(t, test_emqx_acl);
	tcase_add_test(t, test_emqx_claim_in_token);
	tcase_add_test(t, test_emqx_acl_doc_format);
	tcase_add_test(t, test_emqx_acl_legacy_doc_format);
	tcase_add_test(t, test_emqx_claim_matches_acl);
	tcase_add_test(t, test_jti_distinct);
	tcase_add_test(t, test_size_limit);
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
