/* Unit tests for lib/config: defaults, the INI file, and bad values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

static char path[] = "/tmp/tessera-config-XXXXXX";

static ts_err load(const char *text, struct config *c, char **why)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	ts_err rc;

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	rc = config_load(c, path, why);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return rc;
}

START_TEST(test_defaults)
{
	struct config c;

	ck_assert_int_eq(config_defaults(&c), TS_OK);
	ck_assert_str_eq(c.listen, "127.0.0.1:8080");
	ck_assert_str_eq(c.db_path, "./tessera.db");
	ck_assert_str_eq(c.audience, "mqtt");
	ck_assert_str_eq(c.signing_alg, "ES256");
	ck_assert_ptr_null(c.issuer);
	ck_assert_int_eq(c.max_body, 65536);
	ck_assert_int_eq(c.access_token_ttl, 3600);
	ck_assert_int_eq(c.synchronous, 2);
	ck_assert_int_eq(c.mqtt_claim, MQTT_CLAIM_NONE);
	/* issue 19 items 10 and 14: the edges of a connection, and who reads /metrics */
	ck_assert_int_eq(c.connection_timeout, 30);
	ck_assert_int_eq(c.request_header_timeout, 10);
	ck_assert_int_eq(c.request_body_timeout, 10);
	ck_assert_int_eq(c.max_connections_per_address, 256);
	ck_assert_str_eq(c.proxy_addresses, "127.0.0.1 ::1");
	ck_assert_int_eq(c.metrics, METRICS_LOOPBACK);
	ck_assert_ptr_null(c.metrics_token_file);
	config_free(&c);
}
END_TEST

START_TEST(test_connection_and_metrics_keys)
{
	struct config c;
	char *why = NULL;

	config_defaults(&c);
	ck_assert_int_eq(load("[server]\nrequest_header_timeout = 3\nrequest_body_timeout = 60\n"
	                      "max_connections_per_address = 0\n"
	                      "proxy_addresses = 10.0.0.0/8, 2001:db8::1 192.0.2.7\n"
	                      "metrics = TOKEN\nmetrics_token_file = /etc/tessera/metrics.token\n",
	                      &c, &why), TS_OK);
	ck_assert_int_eq(c.request_header_timeout, 3);
	ck_assert_int_eq(c.request_body_timeout, 60);
	ck_assert_int_eq(c.max_connections_per_address, 0);
	ck_assert_str_eq(c.proxy_addresses, "10.0.0.0/8, 2001:db8::1 192.0.2.7");
	ck_assert_int_eq(c.metrics, METRICS_TOKEN);
	ck_assert_str_eq(c.metrics_token_file, "/etc/tessera/metrics.token");
	/* no proxy at all is a choice too */
	ck_assert_int_eq(config_set(&c, "server", "proxy_addresses", "", &why), TS_OK);
	ck_assert_str_eq(c.proxy_addresses, "");
	ck_assert_int_eq(config_set(&c, "server", "metrics", "off", &why), TS_OK);
	ck_assert_int_eq(c.metrics, METRICS_OFF);
	/* a bad address names itself */
	ck_assert_int_eq(config_set(&c, "server", "proxy_addresses", "127.0.0.1 localhost", &why),
	                 TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "localhost"));
	free(why);
	why = NULL;
	ck_assert_str_eq(c.proxy_addresses, "");
	config_free(&c);
	ck_assert_ptr_null(c.proxy_addresses);
}
END_TEST

START_TEST(test_file)
{
	struct config c;
	char *why = NULL;

	config_defaults(&c);
	ck_assert_int_eq(load("# comment\n[server]\nlisten = 0.0.0.0:9000\nissuer = https://as.example\n"
	                      "connection_timeout = 5\n[database]\npath = /var/lib/t.db\n"
	                      "synchronous = NORMAL\nbusy_timeout_ms = 300\n[tokens]\n"
	                      "access_token_ttl = 600\nmqtt_claim = emqx-legacy\nsigning_alg = rs256\n"
	                      "audience = broker-1\n", &c, &why), TS_OK);
	ck_assert_str_eq(c.listen, "0.0.0.0:9000");
	ck_assert_str_eq(c.issuer, "https://as.example");
	ck_assert_int_eq(c.connection_timeout, 5);
	ck_assert_str_eq(c.db_path, "/var/lib/t.db");
	ck_assert_int_eq(c.synchronous, 1);
	ck_assert_int_eq(c.busy_timeout_ms, 300);
	ck_assert_int_eq(c.access_token_ttl, 600);
	ck_assert_int_eq(c.mqtt_claim, MQTT_CLAIM_EMQX_LEGACY);
	ck_assert_str_eq(c.signing_alg, "RS256");
	ck_assert_str_eq(c.audience, "broker-1");
	config_free(&c);
}
END_TEST

START_TEST(test_bad)
{
	static const char *const bad[] = {
		"[server]\nlisten\n",                      /* syntax */
		"[server]\nnope = 1\n",                    /* unknown key */
		"[nope]\nlisten = x:1\n",                  /* unknown section */
		"listen = x:1\n",                          /* outside a section */
		"[server]\nmax_body = 12abc\n",            /* not a number */
		"[server]\nmax_body = 10\n",               /* below the minimum */
		"[tokens]\naccess_token_ttl = 0\n",
		"[tokens]\nmqtt_claim = hivemq\n",
		"[tokens]\nsigning_alg = HS256\n",
		"[tokens]\nsigning_alg = none\n",
		"[database]\nsynchronous = sometimes\n",
		"[server]\nissuer =\n",
		"[server]\nrequest_header_timeout = 0\n",
		"[server]\nrequest_body_timeout = 3601\n",
		"[server]\nmax_connections_per_address = -1\n",
		"[server]\nproxy_addresses = 10.0.0.0/33\n",
		"[server]\nproxy_addresses = 10.0.0.1/\n",
		"[server]\nproxy_addresses = ::1/129\n",
		"[server]\nmetrics = open\n",
		"[server]\nmetrics_token_file =\n",
	};
	struct config c;
	char *why;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_defaults(&c);
		why = NULL;
		ck_assert_msg(load(bad[i], &c, &why) == TS_INVALID_REQUEST, "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		free(why);
		config_free(&c);
	}
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, "/nonexistent/tessera.conf", &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "/nonexistent/tessera.conf"));
	free(why);
	config_free(&c);
}
END_TEST

START_TEST(test_set)
{
	struct config c;
	char *why = NULL;

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "server", "listen", "[::1]:8443", &why), TS_OK);
	ck_assert_str_eq(c.listen, "[::1]:8443");
	ck_assert_int_eq(config_set(&c, NULL, "max_body", "2048", &why), TS_OK);
	ck_assert_int_eq(c.max_body, 2048);
	ck_assert_int_eq(config_set(&c, "server", "max_body", "-1", &why), TS_INVALID_REQUEST);
	free(why);
	why = NULL;
	/* the TLS files: none by default, set like any path, an empty value refused */
	ck_assert_ptr_null(c.tls_cert);
	ck_assert_ptr_null(c.tls_key);
	ck_assert_int_eq(config_set(&c, "server", "tls_cert", "/etc/t/full.pem", &why), TS_OK);
	ck_assert_int_eq(config_set(&c, "server", "tls_key", "/etc/t/key.pem", &why), TS_OK);
	ck_assert_str_eq(c.tls_cert, "/etc/t/full.pem");
	ck_assert_str_eq(c.tls_key, "/etc/t/key.pem");
	ck_assert_int_eq(config_set(&c, "server", "tls_key", "", &why), TS_INVALID_REQUEST);
	free(why);
	ck_assert_str_eq(c.tls_key, "/etc/t/key.pem");
	config_free(&c);
	ck_assert_ptr_null(c.tls_cert);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("config");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_defaults);
	tcase_add_test(t, test_file);
	tcase_add_test(t, test_bad);
	tcase_add_test(t, test_set);
	tcase_add_test(t, test_connection_and_metrics_keys);
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
