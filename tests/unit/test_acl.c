/* test_acl.c - a token's MQTT rights as a broker enforces them: publish by matching, subscribe by
 * coverage, delivery by matching the subscribe filters, `$`-topics, malformed scope tokens. */
#include <check.h>
#include <stdlib.h>

#include "acl.h"

static struct acl *parse(const char *scope)
{
	struct acl *a = NULL;

	ck_assert_int_eq(acl_parse(scope, &a), TS_OK);
	ck_assert_ptr_nonnull(a);
	return a;
}

START_TEST(test_publish)
{
	struct acl *a = parse("openid mqtt:pub:sensors/dev1/# mqtt:sub:cmd/dev1");

	ck_assert(acl_may_publish(a, "sensors/dev1/temp"));
	ck_assert(acl_may_publish(a, "sensors/dev1"));
	ck_assert(acl_may_publish(a, "sensors/dev1/a/b/c"));
	ck_assert(!acl_may_publish(a, "sensors/dev2/temp"));
	ck_assert(!acl_may_publish(a, "sensors"));
	ck_assert(!acl_may_publish(a, "cmd/dev1"));       /* a sub right is not a pub right */
	ck_assert(!acl_may_publish(a, "sensors/dev1/+"));  /* never a wildcard as a topic */
	ck_assert(!acl_may_publish(a, ""));
	ck_assert(acl_may_publish(a, "sensors/dev1/with space")); /* MQTT allows spaces */
	acl_free(a);
}
END_TEST

START_TEST(test_subscribe_coverage)
{
	struct acl *a = parse("mqtt:sub:sensors/+/temp");

	ck_assert(acl_may_subscribe(a, "sensors/dev1/temp"));
	ck_assert(acl_may_subscribe(a, "sensors/+/temp"));
	ck_assert(!acl_may_subscribe(a, "sensors/#"));
	ck_assert(!acl_may_subscribe(a, "#"));
	ck_assert(!acl_may_subscribe(a, "sensors/+/+"));
	ck_assert(!acl_may_subscribe(a, ""));
	ck_assert(!acl_may_publish(a, "sensors/dev1/temp"));
	ck_assert(acl_may_receive(a, "sensors/dev1/temp"));
	ck_assert(!acl_may_receive(a, "sensors/dev1/hum"));
	acl_free(a);
}
END_TEST

START_TEST(test_pubsub_gives_both)
{
	struct acl *a = parse("mqtt:pubsub:home/alice/#");

	ck_assert(acl_may_publish(a, "home/alice/light"));
	ck_assert(acl_may_subscribe(a, "home/alice/#"));
	ck_assert(acl_may_subscribe(a, "home/alice/+/state"));
	ck_assert(acl_may_receive(a, "home/alice/light"));
	ck_assert(!acl_may_subscribe(a, "home/#"));
	ck_assert(!acl_may_receive(a, "home/bob/light"));
	acl_free(a);
}
END_TEST

START_TEST(test_dollar_topics)
{
	struct acl *a = parse("mqtt:pubsub:# mqtt:sub:+/x");

	ck_assert(acl_may_publish(a, "anything/at/all"));
	ck_assert(!acl_may_publish(a, "$SYS/broker/uptime"));
	ck_assert(!acl_may_subscribe(a, "$SYS/#"));
	ck_assert(!acl_may_receive(a, "$SYS/broker/uptime"));
	ck_assert(!acl_may_receive(a, "$x"));
	acl_free(a);
	a = parse("mqtt:sub:$SYS/broker/#");
	ck_assert(acl_may_subscribe(a, "$SYS/broker/load/#"));
	ck_assert(acl_may_receive(a, "$SYS/broker/uptime"));
	acl_free(a);
}
END_TEST

START_TEST(test_nothing_from_bad_or_other_tokens)
{
	struct acl *a = parse("mqtt:pub:a/#/b mqtt:sub: mqtt:all:# introspect mqtt:pub:ok");

	ck_assert(!acl_may_publish(a, "a/x/b"));
	ck_assert(!acl_may_subscribe(a, "#"));
	ck_assert(acl_may_publish(a, "ok"));
	ck_assert(!acl_may_publish(a, "ok/more"));
	acl_free(a);
	a = parse("");
	ck_assert(!acl_may_publish(a, "x"));
	ck_assert(!acl_may_subscribe(a, "x"));
	ck_assert(!acl_may_receive(a, "x"));
	acl_free(a);
	/* a filter with a placeholder a broker would fill in gives nothing */
	a = parse("mqtt:sub:home/%u/# mqtt:pub:dev/%c mqtt:pubsub:${username}/# mqtt:sub:ok");
	ck_assert(!acl_may_subscribe(a, "home/%u/#"));
	ck_assert(!acl_may_receive(a, "home/%u/x"));
	ck_assert(!acl_may_publish(a, "dev/%c"));
	ck_assert(!acl_may_publish(a, "${username}/x"));
	ck_assert(acl_may_subscribe(a, "ok"));
	acl_free(a);
	a = parse("   mqtt:pub:x    mqtt:sub:y  ");
	ck_assert(acl_may_publish(a, "x"));
	ck_assert(acl_may_subscribe(a, "y"));
	acl_free(a);
	acl_free(NULL);
}
END_TEST

static Suite *acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_publish);
	tcase_add_test(tc, test_subscribe_coverage);
	tcase_add_test(tc, test_pubsub_gives_both);
	tcase_add_test(tc, test_dollar_topics);
	tcase_add_test(tc, test_nothing_from_bad_or_other_tokens);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
