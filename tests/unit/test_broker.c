/* test_broker.c - the plugin's introspection (broker/introspect*.c: requests, answers, the
 * cache, holding off, the watcher thread, against the tiny HTTP server of
 * tests/unit/broker_fixture.c) and its client-id rule (broker/clientid.c), without mosquitto.
 * (The keys are tests/unit/test_broker_jwks.c's.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "b64.h"
#include "broker.h"
#include "broker_fixture.h"
#include "slowdown.h"
#include "jwt.h"
#include "secret.h"
#include "token.h"

/* --- introspection --- */

#define CLIENT_ID "broker id"
#define CLIENT_SECRET "s3 cr:et/+\xc3\xa9%~"
/* base64(quote_plus(id) ":" quote_plus(secret)), by Python's urllib and base64 */
#define BASIC "Basic YnJva2VyK2lkOnMzK2NyJTNBZXQlMkYlMkIlQzMlQTklMjV+"

/* introspector_check with the scope dropped (there exactly when active, "" when the answer
 * names none). */
static ts_err check_active(introspector *in, const char *token, int64_t now, int *active,
                           char *why, size_t whylen)
{
	char *scope = (char *)1;
	ts_err rc = introspector_check(in, token, now, active, &scope, why, whylen);

	if (rc == TS_OK && *active)
		ck_assert_ptr_nonnull(scope);
	else
		ck_assert_ptr_null(scope);
	free(scope);
	return rc;
}

/* introspector_changes for answers without a scope: only revocations (into ids), never a new
 * scope. */
static size_t take_revoked(introspector *in, const void **ids, size_t max)
{
	struct intro_change c[16];
	size_t i, n = introspector_changes(in, c, max < 16 ? max : 16);

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(c[i].active, 0);
		ck_assert_ptr_null(c[i].scope);
		ids[i] = c[i].id;
	}
	return n;
}

static introspector *intro_open(int port, int cache_seconds)
{
	static char url[128];
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .introspect_url = url,
	                          .client_id = (char *)CLIENT_ID,
	                          .client_secret = (char *)CLIENT_SECRET,
	                          .cache_seconds = cache_seconds };
	introspector *in = NULL;
	const char *why = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/introspect", port);
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_OK);
	ck_assert_ptr_nonnull(in);
	return in;
}

START_TEST(test_introspect_request)
{
	introspector *in;
	int active = -1;
	unsigned char raw[256];
	long n;

	fake_start(&srv, 200, "{\"active\":true,\"scope\":\"mqtt:pub:a\"}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(check_active(in, "ab.c-_~ +/=%", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	ck_assert_str_eq(srv.method, "POST");
	ck_assert_str_eq(srv.path, "/introspect");
	ck_assert_str_eq(srv.req_body, "token=ab.c-_~+%2B%2F%3D%25&token_type_hint=access_token");
	ck_assert_str_eq(srv.auth, BASIC);
	/* what is inside: each part form-urlencoded (RFC 6749 §2.3.1), then base64 */
	n = b64_decode(srv.auth + 6, strlen(srv.auth + 6), raw);
	ck_assert_int_gt(n, 0);
	raw[n] = '\0';
	ck_assert_str_eq((char *)raw, "broker+id:s3+cr%3Aet%2F%2B%C3%A9%25~");
	introspector_close(in);
	introspector_close(NULL);
	fake_stop(&srv);
}
END_TEST

/* Answers other than 200 + "active": true. */
START_TEST(test_introspect_answers)
{
	static const struct {
		int status;
		const char *body;
		ts_err rc;
		int active;
		int cached;
	} cases[] = {
		{ 200, "{\"active\":true}", TS_OK, 1, 1 },
		{ 200, "{\"active\":false}", TS_OK, 0, 1 },
		{ 200, "{\"active\":\"true\"}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{\"active\":1}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "garbage", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{\"active\":true,\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		/* Tessera refusing the broker, or limiting it, said nothing about the token */
		{ 401, "{\"error\":\"invalid_client\"}", TS_UNAVAILABLE, 0, 0 },
		{ 403, "{\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		{ 400, "{\"error\":\"invalid_request\"}", TS_UNAVAILABLE, 0, 0 },
		{ 429, "{\"error\":\"slow_down\"}", TS_UNAVAILABLE, 0, 0 },
		{ 429, "{\"active\":false}", TS_UNAVAILABLE, 0, 0 },
		{ 302, "", TS_UNAVAILABLE, 0, 0 },
		{ 500, "{\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		{ 503, "{}", TS_UNAVAILABLE, 0, 0 },
	};
	char token[32];
	size_t i;
	int active, before;
	int64_t now = time(NULL);
	introspector *in;

	fake_start(&srv, 200, "{}");
	in = intro_open(srv.port, 30);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(token, sizeof token, "tok-%zu", i);
		fake_answer(&srv, cases[i].status, cases[i].body);
		active = -1;
		ck_assert_msg(check_active(in, token, now, &active, NULL, 0) == cases[i].rc,
		              "case %zu: wrong result", i);
		ck_assert_msg(active == cases[i].active, "case %zu: active %d", i, active);
		/* asked again at once: from the cache only for a real answer */
		before = fake_requests(&srv);
		ck_assert_int_eq(check_active(in, token, now, &active, NULL, 0), cases[i].rc);
		ck_assert_msg(fake_requests(&srv) == before + !cases[i].cached, "case %zu: cache", i);
	}
	/* no token, an empty one, an enormous one: inactive without asking */
	before = fake_requests(&srv);
	ck_assert_int_eq(check_active(in, NULL, now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(check_active(in, "", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	{
		char *big = malloc(20000);

		memset(big, 'a', 19999);
		big[19999] = '\0';
		ck_assert_int_eq(check_active(in, big, now, &active, NULL, 0), TS_OK);
		ck_assert_int_eq(active, 0);
		free(big);
	}
	ck_assert_int_eq(fake_requests(&srv), before);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

START_TEST(test_introspect_unreachable)
{
	introspector *in = intro_open(dead_port(), 30);
	int active = -1;

	ck_assert_int_eq(check_active(in, "tok", time(NULL), &active, NULL, 0), TS_UNAVAILABLE);
	ck_assert_int_eq(active, 0);
	introspector_close(in);
}
END_TEST

START_TEST(test_introspect_cache)
{
	introspector *in;
	int active = -1;
	int64_t now = time(NULL);

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(check_active(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	/* revoked at Tessera meanwhile: the cached answer stands for cache_seconds */
	fake_answer(&srv, 200, "{\"active\":false}");
	ck_assert_int_eq(check_active(in, "tok", now + 29, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	/* another token is another entry */
	ck_assert_int_eq(check_active(in, "tok2", now + 29, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 2);
	/* then it is asked again */
	ck_assert_int_eq(check_active(in, "tok", now + 30, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 3);
	ck_assert_int_eq(check_active(in, "tok", now + 31, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 3);
	introspector_close(in);

	/* cache_seconds 0: never cached */
	in = intro_open(srv.port, 0);
	ck_assert_int_eq(check_active(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(check_active(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 5);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

START_TEST(test_introspect_open_errors)
{
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .introspect_url = (char *)"http://127.0.0.1:1/i",
	                          .client_id = (char *)"b", .client_secret = (char *)"s",
	                          .cache_seconds = 30 };
	introspector *in = (introspector *)1;
	const char *why = NULL;

	cfg.introspect_url = NULL;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_null(in);
	ck_assert_ptr_nonnull(strstr(why, "plugin_opt_introspect_url"));
	cfg.introspect_url = (char *)"http://127.0.0.1:1/i";
	cfg.client_secret = NULL;
	why = NULL;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "plugin_opt_introspect_client_secret"));
	cfg.client_secret = (char *)"s";
	cfg.client_id = (char *)"";
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	cfg.client_id = (char *)"b";
	cfg.cache_seconds = -1;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "cache_seconds"));
	cfg.cache_seconds = 30;
	cfg.introspect_url = (char *)"gopher://127.0.0.1/i";
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "http"));
	ck_assert_ptr_null(in);
}
END_TEST

/* "Tessera said inactive" and "Tessera could not answer" are told apart, and the reason of the
 * second says which failure it was (docs/security.md row 68). */
START_TEST(test_introspect_reasons)
{
	static const struct {
		int status;
		const char *body, *why[2];
	} cases[] = {
		{ 429, "{\"error\":\"slow_down\"}", { "too many requests", "(HTTP 429)" } },
		{ 401, "{\"error\":\"invalid_client\"}", { "client was refused", "(HTTP 401)" } },
		{ 500, "oops", { "Tessera failed", "(HTTP 500)" } },
		{ 503, "{}", { "Tessera failed", "(HTTP 503)" } },
		{ 404, "{}", { "unexpected HTTP status", "(HTTP 404)" } },
		{ 200, "{\"active\":\"no\"}", { "no introspection response", "(HTTP 200)" } },
	};
	char why[200], token[32];
	int active;
	size_t i;
	int64_t now = time(NULL);
	introspector *in;

	fake_start(&srv, 200, "{\"active\":false}");
	in = intro_open(srv.port, 30);
	strcpy(why, "sentinel");
	ck_assert_int_eq(check_active(in, "inactive", now, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_str_eq(why, "");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(token, sizeof token, "tok-%zu", i);
		fake_answer(&srv, cases[i].status, cases[i].body);
		ck_assert_int_eq(check_active(in, token, now, &active, why, sizeof why),
		                 TS_UNAVAILABLE);
		ck_assert_msg(strstr(why, cases[i].why[0]) && strstr(why, cases[i].why[1]),
		              "case %zu: %s", i, why);
		/* no Retry-After: nothing held off */
		ck_assert_ptr_null(strstr(why, "not asking"));
	}
	introspector_close(in);
	fake_stop(&srv);

	/* no answer at all: said, and nothing asked for INTRO_RETRY (5) seconds */
	in = intro_open(dead_port(), 30);
	ck_assert_int_eq(check_active(in, "t", now, &active, why, sizeof why), TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "cannot connect") && strstr(why, "not asking again for 5 s"),
	              "%s", why);
	ck_assert_int_eq(check_active(in, "t", now + 4, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off after the last failure: cannot connect") &&
	              strstr(why, "for 1 s"), "%s", why);
	ck_assert_int_eq(check_active(in, "t", now + 5, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "cannot connect"), "%s", why);
	introspector_close(in);
}
END_TEST

/* Retry-After on a 429 or 503 is honoured, up to a minute: no request meanwhile, and a fresh
 * cached answer still counts. */
START_TEST(test_introspect_retry_after)
{
	char why[200], date[64];
	int active;
	int64_t now = time(NULL);
	time_t later;
	introspector *in;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(check_active(in, "known", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);

	fake_answer_with(&srv, 429, "Retry-After: 3\r\n", "{\"error\":\"slow_down\"}");
	ck_assert_int_eq(check_active(in, "new-1", now, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "HTTP 429") && strstr(why, "not asking again for 3 s"), "%s", why);
	ck_assert_int_eq(fake_requests(&srv), 2);
	fake_answer(&srv, 200, "{\"active\":true}");
	ck_assert_int_eq(check_active(in, "new-2", now + 2, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off after the last failure: too many requests") &&
	              strstr(why, "(HTTP 429); not asking again for 1 s"), "%s", why);
	ck_assert_int_eq(check_active(in, "known", now + 2, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 2);
	ck_assert_int_eq(check_active(in, "new-2", now + 3, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 3);

	/* a longer wait is cut to 60 s; 503 too */
	fake_answer_with(&srv, 503, "Retry-After:   100000 \r\n", "{}");
	ck_assert_int_eq(check_active(in, "new-3", now + 10, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "not asking again for 60 s"), "%s", why);
	ck_assert_int_eq(check_active(in, "new-3", now + 69, &active, NULL, 0),
	                 TS_UNAVAILABLE);
	ck_assert_int_eq(fake_requests(&srv), 4);

	/* an HTTP-date; and a 500 or a Retry-After that is neither holds nothing */
	later = time(NULL) + 20;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
	{
		char h[128];

		snprintf(h, sizeof h, "Retry-After: %s\r\n", date);
		fake_answer_with(&srv, 429, h, "{}");
	}
	ck_assert_int_eq(check_active(in, "new-4", now + 70, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	{
		const char *f = strstr(why, "not asking again for ");
		int secs = f ? atoi(f + 21) : -1;

		ck_assert_msg(secs >= 18 && secs <= 20, "%s", why);
	}
	ck_assert_int_eq(fake_requests(&srv), 5);
	fake_answer_with(&srv, 500, "Retry-After: 30\r\n", "{}");
	ck_assert_int_eq(check_active(in, "new-5", now + 100, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_ptr_null(strstr(why, "not asking"));
	fake_answer_with(&srv, 429, "Retry-After: soon\r\n", "{}");
	ck_assert_int_eq(check_active(in, "new-5", now + 100, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_ptr_null(strstr(why, "not asking"));
	ck_assert_int_eq(fake_requests(&srv), 7);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* Polls take_revoked for up to secs seconds (not stretched: most callers wait through a window
 * that must end before a hold-off does); the number of ids got. */
static size_t wait_revoked(introspector *in, const void **ids, size_t max, double secs)
{
	double end = mono() + secs;
	size_t n;

	do {
		n = take_revoked(in, ids, max);
		if (n)
			return n;
		usleep(50000);
	} while (mono() < end);
	return 0;
}

START_TEST(test_watcher_revokes)
{
	introspector *in;
	int active, s1, s2, s3;
	const void *ids[4];
	char token[64];
	double t0;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(check_active(in, "tok-revoked-1", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	/* watch copies the token */
	strcpy(token, "tok-revoked-1");
	ck_assert_int_eq(introspector_watch(in, token, "", &s1), TS_OK);
	memset(token, 'x', sizeof token - 1);
	ck_assert_int_eq(introspector_watch(in, "tok-fine", "", &s2), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok-revoked-3", "", &s3), TS_OK);
	introspector_unwatch(in, &s3); /* gone before it is revoked: never reported */
	ck_assert_int_eq(introspector_watch(NULL, "t", "", &s3), TS_INVALID_REQUEST);
	ck_assert_int_eq(introspector_watch(in, NULL, "", &s3), TS_INVALID_REQUEST);
	ck_assert_uint_eq(take_revoked(in, ids, 4), 0);

	pthread_mutex_lock(&srv.mu);
	strcpy(srv.inactive, "revoked");
	pthread_mutex_unlock(&srv.mu);
	t0 = mono();
	ck_assert_uint_eq(wait_revoked(in, ids, 4, slow(3.0)), 1);
	ck_assert_ptr_eq(ids[0], &s1);
	ck_assert_msg(mono() - t0 < slow(2.5), "revoked after %.1f s", mono() - t0);
	/* reported once; the other session is still fine */
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.2), 0);
	ck_assert_int_ge(fake_requests(&srv), 3);
	/* the watcher's answer is cached: a CONNECT with the token is refused without asking */
	{
		int before = fake_requests(&srv);

		ck_assert_int_eq(check_active(in, "tok-revoked-1", time(NULL), &active, NULL, 0), TS_OK);
		ck_assert_int_eq(active, 0);
		ck_assert_int_le(fake_requests(&srv), before + 1);
	}
	introspector_unwatch(in, &s2);
	introspector_unwatch(in, &s2);
	introspector_unwatch(NULL, &s2);
	ck_assert_uint_eq(take_revoked(NULL, ids, 4), 0);
	t0 = mono();
	introspector_close(in);
	ck_assert_msg(mono() - t0 < slow(1.0), "close took %.1f s", mono() - t0);
	fake_stop(&srv);
}
END_TEST

/* Sessions sharing a token are all reported; unwatch drops a report not yet collected. */
START_TEST(test_watcher_many)
{
	introspector *in;
	int s[5], i;
	const void *ids[8];
	size_t n, got = 0;

	fake_start(&srv, 200, "{\"active\":false}");
	in = intro_open(srv.port, 1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(introspector_watch(in, "shared", "", &s[i]), TS_OK);
	sleep(3);
	introspector_unwatch(in, &s[4]);
	n = take_revoked(in, ids, 2);
	ck_assert_uint_eq(n, 2);
	got += n;
	got += take_revoked(in, ids + 2, 8);
	ck_assert_uint_eq(got, 4);
	for (n = 0; n < got; n++)
		ck_assert_ptr_ne(ids[n], &s[4]);
	/* one request answered them all (the others came from the cache) */
	ck_assert_int_le(fake_requests(&srv), 2);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* No answer is not "inactive": Tessera down or failing disconnects nobody. */
START_TEST(test_watcher_no_answer)
{
	introspector *in;
	int s1, s2;
	const void *ids[4];

	fake_start(&srv, 500, "{\"active\":false}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(introspector_watch(in, "tok", "", &s1), TS_OK);
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.5), 0);
	ck_assert_int_ge(fake_requests(&srv), 1);
	fake_answer(&srv, 401, "{\"error\":\"invalid_client\"}");
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.0), 0);
	introspector_close(in);
	fake_stop(&srv);

	in = intro_open(dead_port(), 1);
	ck_assert_int_eq(introspector_watch(in, "tok", "", &s1), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok2", "", &s2), TS_OK);
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.5), 0);
	introspector_close(in);
}
END_TEST

/* A 429 to the watcher keeps the session (its last answer stands), is reported for the log, and
 * its Retry-After holds the watcher off too. */
START_TEST(test_watcher_limited)
{
	introspector *in;
	int s1, active, before;
	const void *ids[4];
	char why[200];
	double end;
	size_t n = 0;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(check_active(in, "tok", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok", "", &s1), TS_OK);
	ck_assert_uint_eq(introspector_trouble(in, why, sizeof why), 0);
	fake_answer_with(&srv, 429, "Retry-After: 5\r\n", "{\"active\":false}");
	before = fake_requests(&srv);
	for (end = mono() + slow(4); !n && mono() < end; usleep(50000))
		n = introspector_trouble(in, why, sizeof why);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(why, "HTTP 429") && strstr(why, "too many requests"), "%s", why);
	/* held off for the 5 s asked (whole seconds: 4 at least from here): no request in the
	 * next 2 s, never taken for inactive, and a CONNECT meanwhile is refused without asking */
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.0), 0);
	ck_assert_int_eq(fake_requests(&srv), before + 1);
	ck_assert_int_eq(check_active(in, "other", time(NULL), &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off") && strstr(why, "HTTP 429"), "%s", why);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* --- client ids --- */

static const struct {
	const char *rule, *id, *claims;
	int ok;
} id_rows[] = {
	/* a client's own token */
	{ "strict", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "strict", "dev2", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev1:a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev10", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "DEV1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:sn-42:x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:4a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:42", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },  /* a user's */
	{ "prefix", "dev1:42:x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1/a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "any", "anything", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "any", "", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	/* a user's token: <client_id>:<sub>[:<anything>], whatever the rule but any */
	{ "strict", "app:42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	{ "strict", "app:42:phone", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}",
	  1 },
	{ "prefix", "app:42:", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	{ "strict", "app", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "prefix", "app", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:4", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:421", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:43", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:al", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "other:42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:a:b", "{\"client_id\":\"app\",\"sub\":\"a:b\",\"username\":\"al\"}", 0 },
	{ "any", "x", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	/* claims missing or of the wrong type */
	{ "strict", "dev1", "{\"sub\":\"dev1\"}", 0 },
	{ "strict", "", "{\"client_id\":\"\",\"sub\":\"x\"}", 0 },
	{ "strict", "app:", "{\"client_id\":\"app\",\"username\":\"al\"}", 0 },
	{ "strict", "app:", "{\"client_id\":\"app\",\"sub\":\"\",\"username\":\"al\"}", 0 },
	{ "strict", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\",\"username\":null}", 1 },
};

START_TEST(test_clientid_rules)
{
	enum clientid_rule rule = CLIENTID_ANY;
	json_t *claims = json_loads(id_rows[_i].claims, 0, NULL);

	ck_assert_ptr_nonnull(claims);
	ck_assert_int_eq(clientid_rule_parse(id_rows[_i].rule, &rule), 0);
	ck_assert_str_eq(clientid_rule_name(rule), id_rows[_i].rule);
	ck_assert_msg(clientid_allowed(rule, id_rows[_i].id, claims) == id_rows[_i].ok,
	              "%s '%s' with %s: want %d", id_rows[_i].rule, id_rows[_i].id,
	              id_rows[_i].claims, id_rows[_i].ok);
	json_decref(claims);
}
END_TEST

START_TEST(test_clientid_rule_names)
{
	enum clientid_rule rule = CLIENTID_PREFIX;

	ck_assert_int_eq(clientid_rule_parse("STRICT", &rule), -1);
	ck_assert_int_eq(clientid_rule_parse("", &rule), -1);
	ck_assert_int_eq(clientid_rule_parse(NULL, &rule), -1);
	ck_assert_int_eq(rule, CLIENTID_PREFIX);
	ck_assert_str_eq(clientid_rule_name((enum clientid_rule)7), "?");
	/* the default is the first, strict */
	ck_assert_int_eq(CLIENTID_STRICT, 0);
	ck_assert_int_eq(clientid_allowed(CLIENTID_STRICT, NULL, NULL), 0);
}
END_TEST

/* (A check of broker/jwks.c, kept in this file that docs/security.md row 81 cites.)
 * docs/security.md row 81: the copy of a Tessera token with its ES256 signature in the (r, n - s)
 * form -- valid ECDSA, another string -- is refused, also after the original was verified (and
 * cached); n - s is computed with OpenSSL's BIGNUMs. */
START_TEST(test_verify_high_s)
{
	jwks *j = open_file_ar("mqtt");
	int64_t now = time(NULL);
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	unsigned char sig[80];
	char *t, *bad, *dot;
	BIGNUM *s;
	int i;

	ck_assert_ptr_nonnull(g);
	for (i = 0; i < 16; i++) {
		t = access_token(fx.a, ISS, "mqtt", now, now + 300 + i);
		ck_assert_int_eq(verify(j, t, now), TS_OK);
		bad = strdup(t);
		dot = strrchr(bad, '.') + 1;
		ck_assert_int_eq(b64url_decode(dot, strlen(dot), sig), 64);
		s = BN_bin2bn(sig + 32, 32, NULL);
		ck_assert_int_eq(BN_sub(s, EC_GROUP_get0_order(g), s), 1);
		ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
		BN_free(s);
		dot[b64url_encode(sig, 64, dot)] = '\0';
		ck_assert_str_ne(bad, t);
		ck_assert_int_eq(verify(j, bad, now), TS_INVALID_TOKEN);
		ck_assert_int_eq(verify(j, t, now), TS_OK);
		free(bad);
		free(t);
	}
	EC_GROUP_free(g);
	jwks_close(j);
}
END_TEST

static Suite *introspect_suite(void)
{
	Suite *s = suite_create("broker");
	TCase *ti = tcase_create("introspect");
	TCase *tk = tcase_create("clientid");
	TCase *tj = tcase_create("jwks");

	tcase_set_timeout(ti, 60);
	tcase_add_test(ti, test_introspect_request);
	tcase_add_test(ti, test_introspect_answers);
	tcase_add_test(ti, test_introspect_unreachable);
	tcase_add_test(ti, test_introspect_cache);
	tcase_add_test(ti, test_introspect_open_errors);
	tcase_add_test(ti, test_watcher_revokes);
	tcase_add_test(ti, test_watcher_many);
	tcase_add_test(ti, test_watcher_no_answer);
	tcase_add_test(ti, test_introspect_reasons);
	tcase_add_test(ti, test_introspect_retry_after);
	tcase_add_test(ti, test_watcher_limited);
	suite_add_tcase(s, ti);
	tcase_add_loop_test(tk, test_clientid_rules, 0, sizeof id_rows / sizeof id_rows[0]);
	tcase_add_test(tk, test_clientid_rule_names);
	suite_add_tcase(s, tk);
	tcase_add_checked_fixture(tj, setup, teardown);
	tcase_set_timeout(tj, 60);
	tcase_add_test(tj, test_verify_high_s);
	suite_add_tcase(s, tj);
	return s;
}

int main(void)
{
	return broker_fixture_run(introspect_suite());
}
