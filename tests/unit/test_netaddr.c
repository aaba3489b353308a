/* test_netaddr.c - address lists (proxy_addresses), the key a connection is counted under, and
 * what counts as loopback for /metrics. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "netaddr.h"

/* A sockaddr of the textual address a (IPv4 or IPv6). */
static const struct sockaddr *sa(const char *a)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, a, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)&ss;
}

START_TEST(test_list)
{
	struct netaddr_list *l = NULL;
	char *why = NULL;

	ck_assert_int_eq(netaddr_list_parse("127.0.0.1 ::1, 10.1.2.3/8\t2001:db8:1::/48", &l, &why),
	                 TS_OK);
	ck_assert_ptr_null(why);
	ck_assert(netaddr_list_has(l, sa("127.0.0.1")));
	ck_assert(!netaddr_list_has(l, sa("127.0.0.2")));
	ck_assert(netaddr_list_has(l, sa("::1")));
	ck_assert(netaddr_list_has(l, sa("::ffff:127.0.0.1")));   /* mapped: the IPv4 address */
	ck_assert(netaddr_list_has(l, sa("10.200.0.9")));          /* 10.1.2.3/8 is 10.0.0.0/8 */
	ck_assert(!netaddr_list_has(l, sa("11.0.0.1")));
	ck_assert(netaddr_list_has(l, sa("2001:db8:1:ffff::7")));
	ck_assert(!netaddr_list_has(l, sa("2001:db8:2::7")));
	ck_assert(!netaddr_list_has(l, NULL));
	netaddr_list_free(l);
	/* prefixes that end inside a byte */
	ck_assert_int_eq(netaddr_list_parse("192.0.2.128/25", &l, NULL), TS_OK);
	ck_assert(netaddr_list_has(l, sa("192.0.2.200")));
	ck_assert(!netaddr_list_has(l, sa("192.0.2.127")));
	netaddr_list_free(l);
	ck_assert_int_eq(netaddr_list_parse("0.0.0.0/0", &l, NULL), TS_OK);
	ck_assert(netaddr_list_has(l, sa("203.0.113.9")));
	ck_assert(!netaddr_list_has(l, sa("2001:db8::1")));       /* IPv4 prefixes stay IPv4 */
	netaddr_list_free(l);
	/* empty */
	ck_assert_int_eq(netaddr_list_parse("", &l, NULL), TS_OK);
	ck_assert(!netaddr_list_has(l, sa("127.0.0.1")));
	netaddr_list_free(l);
	netaddr_list_free(NULL);
}
END_TEST

START_TEST(test_list_bad)
{
	static const char *const bad[] = {"localhost", "127.0.0.1/33", "::1/129", "10.0.0.1/",
	                                  "10.0.0.1/-1", "10.0.0.1/8x", "1.2.3", "10.0.0.0/08/1",
	                                  "127.0.0.1 ::1 fe80::1%eth0"};
	struct netaddr_list *l;
	char *why, many[65 * 8 + 1] = "";
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		l = (struct netaddr_list *)1;
		why = NULL;
		ck_assert_msg(netaddr_list_parse(bad[i], &l, &why) == TS_INVALID_REQUEST, "%s", bad[i]);
		ck_assert_ptr_null(l);
		ck_assert_ptr_nonnull(why);
		free(why);
	}
	for (i = 0; i < 65; i++)
		strcat(many, "1.2.3.4 ");
	ck_assert_int_eq(netaddr_list_parse(many, &l, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "64"));
	free(why);
}
END_TEST

START_TEST(test_key)
{
	char k[48];

	ck_assert_int_eq(netaddr_key(sa("192.0.2.7"), k, sizeof k), 0);
	ck_assert_str_eq(k, "192.0.2.7");
	ck_assert_int_eq(netaddr_key(sa("::ffff:192.0.2.7"), k, sizeof k), 0);
	ck_assert_str_eq(k, "192.0.2.7");
	/* one host's /64 is one key: its addresses cannot each hold a share */
	ck_assert_int_eq(netaddr_key(sa("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), k, sizeof k), 0);
	ck_assert_str_eq(k, "2001:db8:1:2::/64");
	ck_assert_int_eq(netaddr_key(sa("2001:db8:1:2::1"), k, sizeof k), 0);
	ck_assert_str_eq(k, "2001:db8:1:2::/64");
	ck_assert_int_eq(netaddr_key(sa("2001:db8:1:3::1"), k, sizeof k), 0);
	ck_assert_str_eq(k, "2001:db8:1:3::/64");
	ck_assert_int_eq(netaddr_key(sa("ffff:ffff:ffff:ffff::1"), k, sizeof k), 0);
	ck_assert_str_eq(k, "ffff:ffff:ffff:ffff::/64");
	ck_assert_int_eq(netaddr_key(sa("2001:db8::1"), k, 8), -1);
	ck_assert_int_eq(netaddr_key(NULL, k, sizeof k), -1);
}
END_TEST

START_TEST(test_loopback)
{
	ck_assert(netaddr_is_loopback(sa("127.0.0.1")));
	ck_assert(netaddr_is_loopback(sa("::1")));
	ck_assert(netaddr_is_loopback(sa("::ffff:127.0.0.1")));
	ck_assert(!netaddr_is_loopback(sa("127.0.0.2")));
	ck_assert(!netaddr_is_loopback(sa("192.0.2.1")));
	ck_assert(!netaddr_is_loopback(sa("::2")));
	ck_assert(!netaddr_is_loopback(sa("::")));
	ck_assert(!netaddr_is_loopback(NULL));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_list);
	tcase_add_test(t, test_list_bad);
	tcase_add_test(t, test_key);
	tcase_add_test(t, test_loopback);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
