/* test_broker_options.c - the plugin's options (broker/options.c: plugin_opt_* keys, numbered
 * issuers, the checks before start) and the choice of issuer by a token's iss
 * (broker/issuers.c), without mosquitto. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "broker_fixture.h"
#include "secret.h"

static const char *check_of(const struct broker_cfg *cfg)
{
	static char buf[200];

	return broker_cfg_check(cfg, buf, sizeof buf);
}

/* The unsuffixed keys are issuer 1; _2 .. _16 the others; client_id_rule is the broker's. */
START_TEST(test_options_numbered_issuers)
{
	struct broker_cfg cfg;

	broker_cfg_init(&cfg);
	ck_assert_int_eq(cfg.iss[0].cache_seconds, 30);
	ck_assert_int_eq(cfg.iss[15].cache_seconds, 30);
	ck_assert_int_eq(broker_cfg_set(&cfg, "issuer", "https://a.example"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "jwks_url", "http://a/jwks"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "issuer_2", "https://b.example"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "jwks_file_2", "/b.json"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "audience_2", "mqtt-b"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "introspect_url_2", "http://b/introspect"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "introspect_client_id_2", "brk"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "introspect_client_secret_2", "s"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "cache_seconds_2", "5"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "ca_file_16", "/ca.pem"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "issuer_16", "https://p.example"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "jwks_url_16", "http://p/jwks"), 0);
	ck_assert_int_eq(broker_cfg_set(&cfg, "client_id_rule", "prefix"), 0);
	ck_assert_str_eq(cfg.iss[0].issuer, "https://a.example");
	ck_assert_str_eq(cfg.iss[1].issuer, "https://b.example");
	ck_assert_str_eq(cfg.iss[1].jwks_file, "/b.json");
	ck_assert_str_eq(cfg.iss[1].audience, "mqtt-b");
	ck_assert_str_eq(cfg.iss[1].client_secret, "s");
	ck_assert_int_eq(cfg.iss[1].cache_seconds, 5);
	ck_assert_int_eq(cfg.iss[0].cache_seconds, 30);
	ck_assert_ptr_null(cfg.iss[0].audience);
	ck_assert_str_eq(cfg.iss[15].ca_file, "/ca.pem");
	ck_assert(cfg.iss[0].used && cfg.iss[1].used && cfg.iss[15].used && !cfg.iss[2].used);
	ck_assert_int_eq(cfg.client_id_rule, CLIENTID_PREFIX);
	/* the change feed: on by default, plugin_opt_feed off|on per issuer */
	ck_assert(cfg.iss[0].feed && cfg.iss[1].feed);
	ck_assert_int_eq(broker_cfg_set(&cfg, "feed_2", "off"), 0);
	ck_assert(cfg.iss[0].feed && !cfg.iss[1].feed);
	ck_assert_ptr_null(check_of(&cfg));
	/* a key given again: the last one counts (mosquitto passes every line, in order) */
	ck_assert_int_eq(broker_cfg_set(&cfg, "issuer_2", "https://b2.example"), 0);
	ck_assert_str_eq(cfg.iss[1].issuer, "https://b2.example");
	ck_assert_str_eq(broker_cfg_suffix(0), "");
	ck_assert_str_eq(broker_cfg_suffix(1), "_2");
	ck_assert_str_eq(broker_cfg_suffix(15), "_16");
	broker_cfg_free(&cfg);
	ck_assert_ptr_null(cfg.iss[1].issuer);
}
END_TEST

/* Every key that is not an option, or whose number is not 2..16, is refused; so are bad values. */
START_TEST(test_options_refused)
{
	static const char *const bad[] = {
		"issuer_1", "issuer_17", "issuer_0", "issuer_02", "issuer_", "issuer_2x", "issuer_100",
		"_2", "2", "", "bogus", "bogus_2", "client_id_rule_2", "Issuer", "issuer 2",
		"jwks_url_99999999999999999999", "cache_seconds_1",
	};
	struct broker_cfg cfg;
	size_t i;

	broker_cfg_init(&cfg);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(broker_cfg_set(&cfg, bad[i], "x") == -1, "%s taken", bad[i]);
	ck_assert_int_eq(broker_cfg_set(&cfg, "cache_seconds", "-1"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "cache_seconds_3", "86401"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "cache_seconds", "3s"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "cache_seconds", ""), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "client_id_rule", "loose"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "feed", "no"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "feed", ""), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, NULL, "x"), -1);
	ck_assert_int_eq(broker_cfg_set(&cfg, "issuer", NULL), -1);
	for (i = 0; i < BROKER_MAX_ISSUERS; i++)
		ck_assert_ptr_null(cfg.iss[i].issuer);
	broker_cfg_free(&cfg);
}
END_TEST

static void cfg_of(struct broker_cfg *cfg, const char *const *kv)
{
	broker_cfg_init(cfg);
	for (; *kv; kv += 2)
		ck_assert_msg(broker_cfg_set(cfg, kv[0], kv[1]) == 0, "%s", kv[0]);
}

static void check_says(const char *const *kv, const char *part)
{
	struct broker_cfg cfg;
	const char *why;

	cfg_of(&cfg, kv);
	why = check_of(&cfg);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, part) != NULL, "\"%s\" does not say \"%s\"", why, part);
	broker_cfg_free(&cfg);
}

/* A broker that could not verify some issuer's tokens does not start; the line names the
 * option, with its number. */
START_TEST(test_options_check)
{
	static const char *const none[] = {"client_id_rule", "strict", NULL};
	static const char *const no_issuer_2[] = {"issuer", "A", "jwks_url", "u",
	                                          "jwks_url_2", "u2", NULL};
	static const char *const two_sources_3[] = {"issuer", "A", "jwks_url", "u", "issuer_3", "C",
	                                            "jwks_url_3", "u", "jwks_file_3", "f", NULL};
	static const char *const no_source_2[] = {"issuer", "A", "jwks_url", "u", "issuer_2", "B",
	                                          NULL};
	static const char *const no_creds_2[] = {"issuer", "A", "jwks_url", "u", "issuer_2", "B",
	                                         "jwks_url_2", "u", "introspect_url_2", "i",
	                                         "introspect_client_id_2", "c", NULL};
	static const char *const same[] = {"issuer", "A", "jwks_url", "u", "issuer_2", "A",
	                                   "jwks_url_2", "u", NULL};
	static const char *const cache_only[] = {"cache_seconds_2", "3", "issuer", "A", "jwks_url",
	                                         "u", NULL};
	static const char *const only_2[] = {"issuer_2", "B", "jwks_url_2", "u", NULL};
	struct broker_cfg cfg;

	check_says(none, "plugin_opt_issuer and one of plugin_opt_jwks_file");
	check_says(no_issuer_2, "plugin_opt_issuer_2 and one of plugin_opt_jwks_file_2, "
	           "plugin_opt_jwks_url_2 are needed");
	check_says(two_sources_3, "plugin_opt_issuer_3 and one of");
	check_says(no_source_2, "plugin_opt_issuer_2 and one of");
	check_says(no_creds_2, "plugin_opt_introspect_url_2 needs plugin_opt_introspect_client_id_2"
	           " and plugin_opt_introspect_client_secret_2");
	check_says(same, "plugin_opt_issuer and plugin_opt_issuer_2 are the same issuer");
	check_says(cache_only, "plugin_opt_issuer_2 and one of");
	/* numbers need not start at 1 or follow each other */
	cfg_of(&cfg, only_2);
	ck_assert_ptr_null(check_of(&cfg));
	ck_assert_int_eq(broker_cfg_issuer(&cfg, "B"), 1);
	broker_cfg_free(&cfg);
}
END_TEST

/* A token's iss (unverified) names the issuer whose keys then verify it. */
START_TEST(test_issuer_of_token)
{
	static const char *const kv[] = {"issuer", "https://a.example", "jwks_url", "u",
	                                 "issuer_2", ISS, "jwks_url_2", "u", NULL};
	struct broker_cfg cfg;
	char *tok = access_token(fx.a, ISS, "mqtt", 1000, 2000), *iss = (char *)1;

	ck_assert_int_eq(token_issuer(tok, &iss), TS_OK);
	ck_assert_str_eq(iss, ISS);
	cfg_of(&cfg, kv);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, iss), 1);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, "https://a.example"), 0);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, "https://a.example/"), -1);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, "https://A.example"), -1);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, ""), -1);
	ck_assert_int_eq(broker_cfg_issuer(&cfg, NULL), -1);
	broker_cfg_free(&cfg);
	free(iss);
	free(tok);
}
END_TEST

/* What is no JWT with a string iss has no issuer (and is refused before any key is tried). */
START_TEST(test_issuer_of_garbage)
{
	static const char *const payloads[] = {
		"{\"sub\":\"x\"}", "{\"iss\":7}", "{\"iss\":\"\"}", "{\"iss\":null}", "[\"iss\"]",
		"not json", "{\"iss\":\"a\",\"iss\":\"b\"}", "{\"iss\":\"a\\u0000b\"}",
	};
	char *iss = (char *)1, *t, *big;
	size_t i;

	for (i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		t = forge("{\"alg\":\"ES256\",\"kid\":\"k\"}", payloads[i], NULL);
		ck_assert_msg(token_issuer(t, &iss) == TS_INVALID_TOKEN, "%s", payloads[i]);
		ck_assert_ptr_null(iss);
		free(t);
	}
	ck_assert_int_eq(token_issuer(NULL, &iss), TS_INVALID_TOKEN);
	ck_assert_int_eq(token_issuer("", &iss), TS_INVALID_TOKEN);
	ck_assert_int_eq(token_issuer("abc", &iss), TS_INVALID_TOKEN);
	ck_assert_int_eq(token_issuer("a..c", &iss), TS_INVALID_TOKEN);
	ck_assert_int_eq(token_issuer("a.e30", &iss), TS_INVALID_TOKEN);     /* no second dot */
	ck_assert_int_eq(token_issuer("a.!!!.c", &iss), TS_INVALID_TOKEN);
	/* over 16 KiB: not read at all */
	t = forge("{\"alg\":\"ES256\"}", "{\"iss\":\"x\"}", NULL);
	big = malloc(17000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 16999);
	big[16999] = '\0';
	memcpy(big + 16999 - strlen(t), t, strlen(t));
	ck_assert_int_eq(token_issuer(t, &iss), TS_OK);
	ck_assert_str_eq(iss, "x");
	free(iss);
	ck_assert_int_eq(token_issuer(big, &iss), TS_INVALID_TOKEN);
	free(big);
	free(t);
}
END_TEST

/* An issuer named in a log line: no control bytes, no non-ASCII, bounded, marked when cut. */
START_TEST(test_log_clean)
{
	char out[BROKER_LOG_ISSUER + 4], small[8], *long_iss;

	log_clean("https://evil.example/\r\n12:00:00: tessera: fake\x1b[0m\xc3\xa9", out, sizeof out);
	ck_assert_str_eq(out, "https://evil.example/??12:00:00: tessera: fake?[0m??");
	log_clean(NULL, out, sizeof out);
	ck_assert_str_eq(out, "");
	log_clean("abcdefghij", small, sizeof small);
	ck_assert_str_eq(small, "abcd...");
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	log_clean("abcdefg", small, sizeof small);
	ck_assert_str_eq(small, "abcdefg");
	long_iss = malloc(5000);
	ck_assert_ptr_nonnull(long_iss);
	memset(long_iss, 'i', 4999);
	long_iss[4999] = '\0';
	log_clean(long_iss, out, sizeof out);
	ck_assert_uint_eq(strlen(out), sizeof out - 1);
	ck_assert_str_eq(out + sizeof out - 4, "...");
	free(long_iss);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("broker_options");
	TCase *tc = tcase_create("options");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_options_numbered_issuers);
	tcase_add_test(tc, test_options_refused);
	tcase_add_test(tc, test_options_check);
	tcase_add_test(tc, test_issuer_of_token);
	tcase_add_test(tc, test_issuer_of_garbage);
	tcase_add_test(tc, test_log_clean);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return broker_fixture_run(options_suite());
}
