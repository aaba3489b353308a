/* test_store_nodes.c - what several nodes over one database share (schema 017, docs/nodes.md;
 * docs/security.md rows 120-126): the failures the guessing limits count, the purge lease, the
 * device codes' last poll and the first signing key. Each "node" is a store connection of its
 * own over one file, as two processes would have. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "store.h"
#include "store_fixture.h"

/* Failures counted by one node are seen by the other; a count starts again from 1 once the
 * latest failure is `forget` old; clear forgets; purge drops old rows. docs/security.md row 121. */
START_TEST(failures_are_shared)
{
	store *a = open_db(), *b = open_db();
	unsigned char k[32], other[32];
	int64_t last;
	int n;

	fill_hash(k, 1);
	fill_hash(other, 2);
	ck_assert_int_eq(store_failure_get(b, "login-user", k, &n, &last), TS_NOT_FOUND);
	ck_assert_int_eq(store_failure_add(a, "login-user", k, 1000, 900), TS_OK);
	ck_assert_int_eq(store_failure_add(b, "login-user", k, 1100, 900), TS_OK);
	ck_assert_int_eq(store_failure_add(a, "login-user", k, 1200, 900), TS_OK);
	ck_assert_int_eq(store_failure_get(b, "login-user", k, &n, &last), TS_OK);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(last, 1200);
	/* another kind, another key: apart */
	ck_assert_int_eq(store_failure_get(a, "login-addr", k, &n, &last), TS_NOT_FOUND);
	ck_assert_int_eq(store_failure_get(a, "login-user", other, &n, &last), TS_NOT_FOUND);
	/* forgotten: counting starts again */
	ck_assert_int_eq(store_failure_add(b, "login-user", k, 2100, 900), TS_OK);
	ck_assert_int_eq(store_failure_get(a, "login-user", k, &n, &last), TS_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_failure_clear(a, "login-user", k), TS_OK);
	ck_assert_int_eq(store_failure_get(b, "login-user", k, &n, &last), TS_NOT_FOUND);
	ck_assert_int_eq(store_failure_add(a, "code-total", other, 5000, 900), TS_OK);
	ck_assert_int_eq(store_failures_purge(b, 5000), TS_OK);
	ck_assert_int_eq(store_failure_get(a, "code-total", other, &n, &last), TS_OK);
	ck_assert_int_eq(store_failures_purge(b, 5001), TS_OK);
	ck_assert_int_eq(store_failure_get(a, "code-total", other, &n, &last), TS_NOT_FOUND);
	store_close(a);
	store_close(b);
}
END_TEST

/* The purge lease: of two nodes, one gets it until it runs out; the holder may renew it.
 * docs/security.md row 123. */
START_TEST(one_node_holds_the_purge_lease)
{
	store *a = open_db(), *b = open_db();
	int got;

	ck_assert_int_eq(store_lease_take(a, "purge", "node-a", 100, 3640, &got), TS_OK);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(store_lease_take(b, "purge", "node-b", 200, 3740, &got), TS_OK);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(store_lease_take(b, "purge", "node-b", 3639, 7000, &got), TS_OK);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(store_lease_take(b, "purge", "node-b", 3640, 7240, &got), TS_OK);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(store_lease_take(a, "purge", "node-a", 3700, 7300, &got), TS_OK);
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(store_lease_take(b, "purge", "node-b", 3700, 7300, &got), TS_OK);
	ck_assert_int_eq(got, 1);
	/* a lease nobody made: nobody holds it */
	ck_assert_int_eq(store_lease_take(a, "nothing", "node-a", 100, 200, &got), TS_OK);
	ck_assert_int_eq(got, 0);
	store_close(a);
	store_close(b);
}
END_TEST

/* The last poll of a device code is the database's: a poll on one node sooner than the
 * interval after a poll on the other grows the interval by 5 s. docs/security.md row 122. */
START_TEST(device_polls_are_shared)
{
	store *a = open_db(), *b = open_db();
	struct client c = client_of("tv");
	struct device d = {.client_id = "tv", .created_at = 100, .expires_at = 10000,
	                   .interval = 5};
	unsigned char none[32];
	int interval;

	ck_assert_int_eq(store_client_add(a, &c), TS_OK);
	fill_hash(d.hash, 9);
	memcpy(d.user_code, "BCDFGHJK", 9);
	ck_assert_int_eq(store_device_add(a, &d), TS_OK);
	ck_assert_int_eq(store_device_polled(a, d.hash, 100000, &interval), TS_OK);
	ck_assert_int_eq(interval, 5);                 /* the first poll */
	ck_assert_int_eq(store_device_polled(b, d.hash, 105000, &interval), TS_OK);
	ck_assert_int_eq(interval, 5);                 /* after the interval */
	ck_assert_int_eq(store_device_polled(a, d.hash, 106000, &interval), TS_OK);
	ck_assert_int_eq(interval, 10);                /* a second later, on the other node */
	ck_assert_int_eq(store_device_polled(b, d.hash, 115600, &interval), TS_OK);
	ck_assert_int_eq(interval, 10);                /* 9.6 s: within the 500 ms tolerance */
	fill_hash(none, 10);
	ck_assert_int_eq(store_device_polled(b, none, 120000, &interval), TS_NOT_FOUND);
	store_close(a);
	store_close(b);
}
END_TEST

/* Two nodes starting on an empty database: the second finds the first's key and makes none.
 * docs/security.md row 124. */
START_TEST(the_first_key_is_made_once)
{
	store *a = open_db(), *b = open_db();
	struct key_row k1 = key_of("first", 100), k2 = key_of("second", 100);
	char *kid = NULL;
	int added;

	ck_assert_int_eq(store_key_add_first(a, &k1, &added), TS_OK);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(store_key_add_first(b, &k2, &added), TS_OK);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM signing_keys"), 1);
	ck_assert_int_eq(keys_ensure(b, "ES256", 100, &kid), TS_OK);
	ck_assert_str_eq(kid, "first");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM signing_keys"), 1);
	free(kid);
	store_close(a);
	store_close(b);
}
END_TEST

/* A rotated key signing from a time ahead: published at once, the previous key signing until
 * that time; then it signs. docs/security.md row 124. */
START_TEST(a_rotated_key_is_published_before_it_signs)
{
	store *s = open_db();
	struct keyring *ring = NULL;
	char *k1 = NULL, *k2 = NULL;

	ck_assert_int_eq(keys_ensure(s, "ES256", 100, &k1), TS_OK);
	ck_assert_int_eq(keys_rotate_at(s, "ES256", 200, 200500, &k2), TS_OK);
	ck_assert_int_eq(keyring_load_ms(s, 200000, 60, &ring), TS_OK);
	ck_assert_uint_eq(ring->n, 2);
	ck_assert_str_eq(jwt_key_kid(keyring_signer(ring)), k1);
	ck_assert_ptr_nonnull(strstr(ring->jwks, k2));
	ck_assert_str_eq(ring->newest, k2);
	ck_assert_int_eq(ring->next_ms, 200500);
	keyring_free(ring);
	ck_assert_int_eq(keyring_load_ms(s, 200500, 60, &ring), TS_OK);
	ck_assert_str_eq(jwt_key_kid(keyring_signer(ring)), k2);
	ck_assert_int_eq(ring->next_ms, 0);
	ck_assert_ptr_nonnull(strstr(ring->jwks, k1));
	keyring_free(ring);
	free(k1);
	free(k2);
	store_close(s);
}
END_TEST

static Suite *nodes_suite(void)
{
	Suite *su = suite_create("store_nodes");
	TCase *tc = tcase_create("nodes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, failures_are_shared);
	tcase_add_test(tc, one_node_holds_the_purge_lease);
	tcase_add_test(tc, device_polls_are_shared);
	tcase_add_test(tc, the_first_key_is_made_once);
	tcase_add_test(tc, a_rotated_key_is_published_before_it_signs);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(nodes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
