/* test_broker_rights.c - the rights a session gets from introspection (issue 21 §1): the scope
 * of an introspection answer (broker/introspect_http.c), the ACL made from it, and every new
 * answer about a token reaching its watched sessions (broker/introspect_watch.c: the watcher,
 * the CONNECT check and introspector_apply, the one path), against the tiny HTTP server of
 * tests/unit/broker_fixture.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "broker.h"
#include "broker_fixture.h"
#include "introspect_priv.h"

static introspector *open_at(int port, int cache_seconds)
{
	static char url[128];
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .introspect_url = url,
	                          .client_id = (char *)"broker", .client_secret = (char *)"s",
	                          .cache_seconds = cache_seconds };
	introspector *in = NULL;
	const char *why = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/introspect", port);
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_OK);
	return in;
}

static enum intro_answer parse(const char *body, char **scope)
{
	const char *why = NULL;
	enum intro_answer a = intro_answer_parse(body, strlen(body), scope, &why);

	if (a == INTRO_UNAVAILABLE)
		ck_assert_ptr_nonnull(why);
	return a;
}

/* An active answer's scope is what the session may do; none named (or not a string): nothing. */
START_TEST(test_answer_scope)
{
	char *scope = (char *)1, *big;
	struct acl *acl = NULL;
	size_t n;

	ck_assert_int_eq(parse("{\"active\":true,\"scope\":\"mqtt:pub:a/# mqtt:sub:b\"}", &scope),
	                 INTRO_ACTIVE);
	ck_assert_str_eq(scope, "mqtt:pub:a/# mqtt:sub:b");
	/* the ACL the plugin builds from it: these rights and no others */
	ck_assert_int_eq(acl_parse(scope, &acl), TS_OK);
	ck_assert(acl_may_publish(acl, "a/x") && !acl_may_publish(acl, "b"));
	ck_assert(acl_may_subscribe(acl, "b") && !acl_may_subscribe(acl, "a/x"));
	ck_assert(acl_may_receive(acl, "b") && !acl_may_receive(acl, "c"));
	acl_free(acl);
	free(scope);

	ck_assert_int_eq(parse("{\"active\":true}", &scope), INTRO_ACTIVE);
	ck_assert_str_eq(scope, "");
	ck_assert_int_eq(acl_parse(scope, &acl), TS_OK);
	ck_assert(!acl_may_publish(acl, "a") && !acl_may_subscribe(acl, "#"));
	acl_free(acl);
	free(scope);
	ck_assert_int_eq(parse("{\"active\":true,\"scope\":[\"mqtt:pub:#\"]}", &scope), INTRO_ACTIVE);
	ck_assert_str_eq(scope, "");
	free(scope);

	ck_assert_int_eq(parse("{\"active\":false,\"scope\":\"mqtt:pub:#\"}", &scope), INTRO_INACTIVE);
	ck_assert_ptr_null(scope);
	/* no introspection response: no answer at all (never "inactive", never rights) */
	ck_assert_int_eq(parse("{\"scope\":\"mqtt:pub:#\"}", &scope), INTRO_UNAVAILABLE);
	ck_assert_int_eq(parse("{\"active\":\"true\"}", &scope), INTRO_UNAVAILABLE);
	ck_assert_int_eq(parse("{\"active\":true,\"active\":false}", &scope), INTRO_UNAVAILABLE);
	ck_assert_int_eq(parse("<html>", &scope), INTRO_UNAVAILABLE);
	ck_assert_ptr_null(scope);
	/* a scope over 16 KiB is no answer either */
	n = INTRO_MAX_SCOPE + 1;
	big = malloc(n + 64);
	ck_assert_ptr_nonnull(big);
	strcpy(big, "{\"active\":true,\"scope\":\"");
	memset(big + strlen(big), 'a', n);
	strcpy(big + 24 + n, "\"}");
	ck_assert_int_eq(parse(big, &scope), INTRO_UNAVAILABLE);
	ck_assert_ptr_null(scope);
	free(big);
}
END_TEST

/* Waits up to secs seconds for at least one change; the number got (into c). */
static size_t wait_changes(introspector *in, struct intro_change *c, size_t max, double secs)
{
	double end = mono() + secs;
	size_t n;

	do {
		n = introspector_changes(in, c, max);
		if (n)
			return n;
		usleep(50000);
	} while (mono() < end);
	return 0;
}

static void changes_free(struct intro_change *c, size_t n)
{
	while (n--)
		free(c[n].scope);
}

/* The watcher's new answer narrows every live session of the token, once; the same answer again
 * changes nothing; revocation after narrowing is still handed over. */
START_TEST(test_watcher_narrows)
{
	introspector *in;
	struct intro_change c[8];
	int s1, s2, s3, active;
	char *scope = NULL;
	size_t n, i;

	fake_start(&srv, 200, "{\"active\":true,\"scope\":\"mqtt:pub:a mqtt:pub:b\"}");
	in = open_at(srv.port, 1);
	ck_assert_int_eq(introspector_check(in, "tok", time(NULL), &active, &scope, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_str_eq(scope, "mqtt:pub:a mqtt:pub:b");
	ck_assert_int_eq(introspector_watch(in, "tok", scope, &s1), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok", scope, &s2), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "other", scope, &s3), TS_OK);
	free(scope);
	/* unchanged answers: nothing to hand over */
	ck_assert_uint_eq(wait_changes(in, c, 8, 2.2), 0);

	fake_answer(&srv, 200, "{\"active\":true,\"scope\":\"mqtt:pub:a\"}");
	n = wait_changes(in, c, 8, 3.0);
	if (n < 3) {
		usleep(300000);
		n += introspector_changes(in, c + n, 8 - n);
	}
	/* s1 and s2 (token "tok") and s3 ("other", answered the same by this fake) */
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(c[i].active, 1);
		ck_assert_str_eq(c[i].scope, "mqtt:pub:a");
		ck_assert(c[i].id == &s1 || c[i].id == &s2 || c[i].id == &s3);
	}
	changes_free(c, n);
	ck_assert_uint_eq(wait_changes(in, c, 8, 2.2), 0);

	fake_answer(&srv, 200, "{\"active\":false}");
	introspector_unwatch(in, &s3);
	n = wait_changes(in, c, 8, 3.0);
	if (n < 2) {
		usleep(300000);
		n += introspector_changes(in, c + n, 8 - n);
	}
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(c[i].active, 0);
		ck_assert_ptr_null(c[i].scope);
		ck_assert(c[i].id == &s1 || c[i].id == &s2);
	}
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* introspector_apply (what a change feed calls): the cache and the token's sessions follow at
 * once, without a request; a session unwatched before collecting loses its pending changes. */
START_TEST(test_apply_reaches_sessions_and_cache)
{
	introspector *in;
	struct intro_change c[8];
	int s1, s2, active;
	char *scope = NULL;
	size_t n;

	fake_start(&srv, 200, "{\"active\":true,\"scope\":\"mqtt:sub:x/#\"}");
	in = open_at(srv.port, 30);
	ck_assert_int_eq(introspector_watch(in, "tok", "mqtt:sub:x/#", &s1), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok2", "mqtt:sub:x/#", &s2), TS_OK);
	introspector_apply(in, "tok", 1, "mqtt:sub:x/y", time(NULL));
	n = introspector_changes(in, c, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_eq(c[0].id, &s1);
	ck_assert_int_eq(c[0].active, 1);
	ck_assert_str_eq(c[0].scope, "mqtt:sub:x/y");
	changes_free(c, n);
	/* the cache has it: a CONNECT with the token gets the new scope without asking */
	ck_assert_int_eq(introspector_check(in, "tok", time(NULL), &active, &scope, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_str_eq(scope, "mqtt:sub:x/y");
	free(scope);
	ck_assert_int_eq(fake_requests(&srv), 0);
	/* the same again: no change */
	introspector_apply(in, "tok", 1, "mqtt:sub:x/y", time(NULL));
	ck_assert_uint_eq(introspector_changes(in, c, 8), 0);
	/* revoked: handed over once, then no longer watched */
	introspector_apply(in, "tok", 0, NULL, time(NULL));
	introspector_apply(in, "tok", 0, NULL, time(NULL));
	n = introspector_changes(in, c, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(c[0].active, 0);
	ck_assert_int_eq(introspector_check(in, "tok", time(NULL), &active, &scope, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_ptr_null(scope);
	/* a session gone before its change is collected: never reported */
	introspector_apply(in, "tok2", 1, "", time(NULL));
	introspector_unwatch(in, &s2);
	ck_assert_uint_eq(introspector_changes(in, c, 8), 0);
	/* tokens nobody watches, and no introspector: nothing */
	introspector_apply(in, "nobody", 0, NULL, time(NULL));
	ck_assert_uint_eq(introspector_changes(in, c, 8), 0);
	introspector_apply(NULL, "tok", 0, NULL, time(NULL));
	ck_assert_uint_eq(introspector_changes(NULL, c, 8), 0);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

static Suite *rights_suite(void)
{
	Suite *s = suite_create("broker_rights");
	TCase *tc = tcase_create("rights");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_answer_scope);
	tcase_add_test(tc, test_watcher_narrows);
	tcase_add_test(tc, test_apply_reaches_sessions_and_cache);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return broker_fixture_run(rights_suite());
}
