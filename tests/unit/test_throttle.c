/* test_throttle.c - back-off per key, forgetting, eviction, isolation between keys, threads;
 * attempts reserved before their outcome is known, and the daemon's own limits. */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "throttle.h"

START_TEST(test_free_failures)
{
	throttle *t = throttle_new(16, 3, 2, 60, 600);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1000), 0);
	throttle_fail(t, "user:alice", 1000);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1000), 0);
	throttle_fail(t, "user:alice", 1000);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1000), 0);
	throttle_fail(t, "user:alice", 1000);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1000), 0);
	/* The first failure past the free ones costs base_s, counted from that failure. */
	throttle_fail(t, "user:alice", 1000);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1000), 2);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1001), 1);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1002), 0);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 1500), 0);
	/* A clock that goes back never makes the wait longer than the delay. */
	ck_assert_int_eq(throttle_wait(t, "user:alice", 900), 2);
	throttle_free(t);
}
END_TEST

/* Another node's failures, merged from the store, count here: with 5 free, 3 of ours and 4 of
 * the other node's (its count, 7 in all) make the next attempt wait; a merged count lower than
 * ours changes nothing; reset says whether there was something to forget (so that a login
 * clears the store's row only then). docs/security.md row 121. */
START_TEST(test_merge)
{
	throttle *t = throttle_with(16, (struct throttle_policy){5, 10, 1000, 600, "login-user"});
	int i;

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(throttle_kind(t), "login-user");
	ck_assert_int_eq(throttle_forget(t), 600);
	ck_assert_ptr_null(throttle_kind(NULL));
	for (i = 0; i < 3; i++)
		throttle_fail(t, "user:eve", 100);
	ck_assert_int_eq(throttle_take(t, "user:eve", 101), 0);
	throttle_settle(t, "user:eve", 1, 101);
	throttle_merge(t, "user:eve", 7, 100, 101);
	ck_assert_int_eq(throttle_take(t, "user:eve", 101), 19); /* 2 past the free: 10, 20 */
	throttle_merge(t, "user:eve", 1, 100, 101);               /* fewer: ours stand */
	ck_assert_int_eq(throttle_wait(t, "user:eve", 101), 19);
	throttle_merge(t, "user:new", 0, 100, 101);               /* none: nothing made */
	ck_assert_int_eq(throttle_reset(t, "user:new"), 0);
	ck_assert_int_eq(throttle_reset(t, "user:eve"), 1);
	ck_assert_int_eq(throttle_take(t, "user:eve", 102), 0);
	throttle_settle(t, "user:eve", 1, 102);
	ck_assert_int_eq(throttle_reset(t, "user:eve"), 0);       /* taken, never failed */
	/* merged failures older than forget are forgotten like ours */
	throttle_merge(t, "user:old", 9, 100, 800);
	ck_assert_int_eq(throttle_take(t, "user:old", 800), 0);
	throttle_settle(t, "user:old", 1, 800);
	throttle_free(t);
}
END_TEST

START_TEST(test_exponential_capped)
{
	static const int want[] = { 0, 5, 10, 20, 40, 80, 100, 100, 100 };
	throttle *t = throttle_new(16, 1, 5, 100, 3600);
	int64_t now = 50000;
	size_t i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		throttle_fail(t, "ip:192.0.2.7", now);
		ck_assert_msg(throttle_wait(t, "ip:192.0.2.7", now) == want[i],
			      "after %zu failures: %d, want %d", i + 1,
			      throttle_wait(t, "ip:192.0.2.7", now), want[i]);
		/* Waiting out the delay does not reset the count. */
		now += want[i];
		ck_assert_int_eq(throttle_wait(t, "ip:192.0.2.7", now), 0);
	}
	for (i = 0; i < 5000; i++)
		throttle_fail(t, "ip:192.0.2.7", now);
	ck_assert_int_eq(throttle_wait(t, "ip:192.0.2.7", now), 100);
	throttle_free(t);

	/* Doubling never overflows, even up to INT_MAX. */
	t = throttle_new(4, 0, 1, INT_MAX, INT_MAX);
	ck_assert_ptr_nonnull(t);
	throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), 1);
	for (i = 0; i < 200; i++)
		throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), INT_MAX);
	ck_assert_int_eq(throttle_wait(t, "k", 1), INT_MAX - 1);
	throttle_free(t);

	/* A base above the cap is capped; a zero base never waits. */
	t = throttle_new(4, 0, 500, 30, 3600);
	ck_assert_ptr_nonnull(t);
	throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), 30);
	throttle_free(t);
	t = throttle_new(4, 0, 0, 30, 3600);
	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 100; i++)
		throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_forget)
{
	throttle *t = throttle_new(16, 1, 10, 100, 50);

	ck_assert_ptr_nonnull(t);
	throttle_fail(t, "k", 0);
	throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), 10);
	/* 49 s later the delay is over but the failures are remembered. */
	ck_assert_int_eq(throttle_wait(t, "k", 49), 0);
	throttle_fail(t, "k", 49);
	ck_assert_int_eq(throttle_wait(t, "k", 49), 20);
	/* forget_s after the latest failure, the key starts again from zero. */
	ck_assert_int_eq(throttle_wait(t, "k", 99), 0);
	throttle_fail(t, "k", 99);
	ck_assert_int_eq(throttle_wait(t, "k", 99), 0);
	throttle_fail(t, "k", 100);
	ck_assert_int_eq(throttle_wait(t, "k", 100), 10);
	/* Forgotten also when the next failure comes long after, without a wait in between. */
	throttle_fail(t, "k", 1000);
	ck_assert_int_eq(throttle_wait(t, "k", 1000), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_reset)
{
	throttle *t = throttle_new(16, 0, 3, 100, 600);
	int i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 5; i++)
		throttle_fail(t, "user:bob", 10);
	ck_assert_int_eq(throttle_wait(t, "user:bob", 10), 48);
	throttle_reset(t, "user:bob");
	ck_assert_int_eq(throttle_wait(t, "user:bob", 10), 0);
	/* Counting starts again from the first failure. */
	throttle_fail(t, "user:bob", 11);
	ck_assert_int_eq(throttle_wait(t, "user:bob", 11), 3);
	/* Resetting an unknown key, twice, or NULL does nothing. */
	throttle_reset(t, "user:nobody");
	throttle_reset(t, "user:nobody");
	throttle_reset(t, NULL);
	ck_assert_int_eq(throttle_wait(t, "user:bob", 11), 3);
	throttle_reset(t, "user:bob");
	throttle_reset(t, "user:bob");
	ck_assert_int_eq(throttle_wait(t, "user:bob", 11), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_many_keys_bounded)
{
	enum { SLOTS = 8, KEYS = 20000 };
	throttle *t = throttle_new(SLOTS, 0, 7, 100, 1000000);
	char key[32];
	int i, remembered = 0;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < KEYS; i++) {
		snprintf(key, sizeof key, "ip:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		throttle_fail(t, key, i);
		/* "ip:keep" fails every few keys, so it is never the least recently failed. */
		if (i % (SLOTS / 2) == 0)
			throttle_fail(t, "ip:keep", i);
	}
	ck_assert_int_gt(throttle_wait(t, "ip:keep", KEYS), 0);
	/* Only the most recent keys are still known: the table held no more than SLOTS. */
	for (i = 0; i < KEYS; i++) {
		snprintf(key, sizeof key, "ip:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		if (throttle_wait(t, key, i) > 0) {
			remembered++;
			ck_assert_int_ge(i, KEYS - SLOTS);
		}
	}
	ck_assert_int_eq(remembered, SLOTS - 1);
	throttle_free(t);
}
END_TEST

START_TEST(test_evicts_least_recently_failed)
{
	throttle *t = throttle_new(2, 0, 10, 100, 1000);

	ck_assert_ptr_nonnull(t);
	throttle_fail(t, "a", 1);
	throttle_fail(t, "b", 2);
	throttle_fail(t, "a", 3);   /* a failed more recently than b */
	throttle_fail(t, "c", 4);   /* the table is full: b goes */
	ck_assert_int_gt(throttle_wait(t, "a", 4), 0);
	ck_assert_int_eq(throttle_wait(t, "b", 4), 0);
	ck_assert_int_gt(throttle_wait(t, "c", 4), 0);
	/* A single slot still works. */
	throttle_free(t);
	t = throttle_new(1, 0, 10, 100, 1000);
	ck_assert_ptr_nonnull(t);
	throttle_fail(t, "a", 1);
	throttle_fail(t, "b", 1);
	ck_assert_int_eq(throttle_wait(t, "a", 1), 0);
	ck_assert_int_eq(throttle_wait(t, "b", 1), 10);
	throttle_free(t);
}
END_TEST

START_TEST(test_keys_independent)
{
	throttle *t = throttle_new(64, 2, 1, 300, 3600);
	int i;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 10000; i++)
		throttle_fail(t, "user:victim", 100);
	ck_assert_int_eq(throttle_wait(t, "user:victim", 100), 300);
	/* Neighbouring, prefixed and extended keys are untouched. */
	ck_assert_int_eq(throttle_wait(t, "user:victiM", 100), 0);
	ck_assert_int_eq(throttle_wait(t, "user:victim2", 100), 0);
	ck_assert_int_eq(throttle_wait(t, "user:victi", 100), 0);
	ck_assert_int_eq(throttle_wait(t, "", 100), 0);
	throttle_fail(t, "user:other", 100);
	throttle_fail(t, "user:other", 100);
	ck_assert_int_eq(throttle_wait(t, "user:other", 100), 0);
	throttle_fail(t, "user:other", 100);
	ck_assert_int_eq(throttle_wait(t, "user:other", 100), 1);
	ck_assert_int_eq(throttle_wait(t, "user:victim", 100), 300);
	throttle_reset(t, "user:other");
	ck_assert_int_eq(throttle_wait(t, "user:victim", 100), 300);
	throttle_free(t);
}
END_TEST

#define THREADS 4
#define ROUNDS 20000

struct worker {
	throttle *big, *small;  /* big never evicts; small evicts all the time */
	int id;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char own[32], churn[32];
	int i;

	snprintf(own, sizeof own, "own:%d", w->id);
	for (i = 0; i < ROUNDS; i++) {
		snprintf(churn, sizeof churn, "churn:%d:%d", w->id, i % 97);
		throttle_fail(w->small, churn, i);
		throttle_fail(w->small, "shared", i);
		(void)throttle_wait(w->small, churn, i);
		throttle_fail(w->big, churn, i);
		(void)throttle_wait(w->big, "shared", i);
		if (i % 5 == 0) {
			throttle_reset(w->small, churn);
			throttle_reset(w->big, churn);
		}
		if (i % 1000 == 0)
			throttle_fail(w->big, own, 0);
		if (i % 4 == 0)
			throttle_fail(w->big, "shared", 0);
	}
	return NULL;
}

START_TEST(test_threads)
{
	throttle *big = throttle_new(1024, 0, 1, 1 << 30, INT_MAX);
	throttle *small = throttle_new(8, 0, 1, 1 << 30, INT_MAX);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	char own[32];
	int i;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(small);
	for (i = 0; i < THREADS; i++) {
		w[i].big = big;
		w[i].small = small;
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	/* No failure was lost: each own key failed ROUNDS / 1000 = 20 times, so waits 2^19 s. */
	for (i = 0; i < THREADS; i++) {
		snprintf(own, sizeof own, "own:%d", i);
		ck_assert_int_eq(throttle_wait(big, own, 0), 1 << 19);
	}
	/* "shared" failed THREADS * ROUNDS / 4 = 20000 times from four threads: at the cap. */
	ck_assert_int_eq(throttle_wait(big, "shared", 0), 1 << 30);
	/* Both tables are consistent afterwards: a fresh key counts exactly. */
	for (i = 0; i < 5; i++) {
		throttle_fail(big, "after", 0);
		throttle_fail(small, "after", 0);
	}
	ck_assert_int_eq(throttle_wait(big, "after", 0), 16);
	ck_assert_int_eq(throttle_wait(small, "after", 0), 16);
	throttle_reset(small, "after");
	ck_assert_int_eq(throttle_wait(small, "after", 0), 0);
	throttle_free(big);
	throttle_free(small);
}
END_TEST

START_TEST(test_nulls)
{
	throttle *t = throttle_new(0, 0, 1, 10, 10);

	throttle_free(NULL);
	ck_assert_int_eq(throttle_wait(NULL, "k", 0), 0);
	throttle_fail(NULL, "k", 0);
	throttle_reset(NULL, "k");
	/* Zero slots is a table of one. */
	ck_assert_ptr_nonnull(t);
	throttle_fail(t, NULL, 0);
	ck_assert_int_eq(throttle_wait(t, NULL, 0), 0);
	throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_wait(t, "k", 0), 1);
	throttle_free(t);
}
END_TEST

/* The wait after each failure under policy p, failures one after the other, each right after
 * the previous wait ran out (times in ms): want[i] after the (i+1)th failure. */
static void walk_policy(struct throttle_policy p, const int *want, size_t n, const char *name)
{
	throttle *t = throttle_with(16, p);
	int64_t now = 1000000;
	size_t i;
	int w;

	ck_assert_ptr_nonnull(t);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(throttle_take(t, "k", now), 0);
		throttle_settle(t, "k", 0, now);
		w = throttle_wait(t, "k", now);
		ck_assert_msg(w == want[i], "%s: after %zu failures waits %d ms, want %d", name, i + 1,
		              w, want[i]);
		/* one tick before the end it is still refused, with what is left */
		if (w > 0)
			ck_assert_int_eq(throttle_take(t, "k", now + w - 1), 1);
		now += w;
	}
	throttle_free(t);
}

/* The daemon's limits (README "Guessing codes", "Errors"; docs/security.md rows 21 and 25): what
 * each one waits after each failure, to the cap. */
START_TEST(test_daemon_policies)
{
	static const int login_user[] = {0, 0, 0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 60000,
	                                 60000};
	static const int secret[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 2000, 4000, 8000, 16000,
	                             32000, 60000, 60000};
	/* the hour's wait is as long as its memory: after it, the address starts again */
	static const int code_addr[] = {0, 0, 0, 0, 60000, 120000, 240000, 480000, 960000, 1920000,
	                                3600000, 0};
	int login_addr[30], code_total[110];
	struct throttle_policy p;
	size_t i;

	walk_policy(throttle_login_user, login_user, 12, "login per user");
	walk_policy(throttle_client_secret, secret, 17, "client secret");
	/* the user-code policies with the default user_code_attempts (5) and _total (100) */
	p = throttle_user_code_addr;
	ck_assert_int_eq(p.free_failures, 5 - 1);
	walk_policy(p, code_addr, 12, "user codes per address");
	for (i = 0; i < 110; i++)
		code_total[i] = i < 99 ? 0 : i == 99 ? 10000 : i == 100 ? 20000 : i == 101 ? 40000 :
		                i == 102 ? 80000 : i == 103 ? 160000 : 300000;
	p = throttle_user_code_total;
	ck_assert_int_eq(p.free_failures, 100 - 1);
	walk_policy(p, code_total, 110, "user codes in all");
	for (i = 0; i < 30; i++)
		login_addr[i] = i < 19 ? 0 : i == 19 ? 1000 : i == 20 ? 2000 : i == 21 ? 4000 :
		                i == 22 ? 8000 : i == 23 ? 16000 : i == 24 ? 32000 : i == 25 ? 64000 :
		                i == 26 ? 128000 : i == 27 ? 256000 : 300000;
	walk_policy(throttle_login_addr, login_addr, 30, "login per address");
	/* and how long each remembers: the forget times of the README */
	ck_assert_int_eq(throttle_login_user.forget, 15 * 60 * 1000);
	ck_assert_int_eq(throttle_login_addr.forget, 60 * 60 * 1000);
	ck_assert_int_eq(throttle_client_secret.forget, 15 * 60 * 1000);
}
END_TEST

START_TEST(test_take_settle)
{
	throttle *t = throttle_new(16, 2, 10, 100, 1000);

	ck_assert_ptr_nonnull(t);
	/* a taken attempt counts until it is settled: with two free, the third waits */
	ck_assert_int_eq(throttle_take(t, "k", 0), 0);
	ck_assert_int_eq(throttle_take(t, "k", 0), 0);
	ck_assert_int_eq(throttle_take(t, "k", 0), 0);
	ck_assert_int_eq(throttle_take(t, "k", 0), 10);
	ck_assert_int_eq(throttle_take(t, "k", 3), 7);  /* refused: nothing reserved */
	/* two succeed, one fails: one failure stays, dated when it was settled */
	throttle_settle(t, "k", 1, 4);
	throttle_settle(t, "k", 1, 4);
	throttle_settle(t, "k", 0, 5);
	ck_assert_int_eq(throttle_wait(t, "k", 5), 0);
	throttle_fail(t, "k", 6);
	throttle_fail(t, "k", 6);
	ck_assert_int_eq(throttle_wait(t, "k", 6), 10);
	/* a success does not make the wait longer: the wait counts from the last failure */
	ck_assert_int_eq(throttle_take(t, "k", 16), 0);
	throttle_settle(t, "k", 1, 50);
	ck_assert_int_eq(throttle_wait(t, "k", 50), 0);
	ck_assert_int_eq(throttle_take(t, "k", 50), 0);
	throttle_settle(t, "k", 0, 50);
	ck_assert_int_eq(throttle_wait(t, "k", 50), 20);
	/* a key whose only attempt succeeded leaves nothing behind */
	ck_assert_int_eq(throttle_take(t, "fresh", 0), 0);
	throttle_settle(t, "fresh", 1, 0);
	ck_assert_int_eq(throttle_wait(t, "fresh", 0), 0);
	/* a settle after a reset (the entry gone) still records a failure; a success does nothing */
	ck_assert_int_eq(throttle_take(t, "r", 0), 0);
	throttle_reset(t, "r");
	throttle_settle(t, "r", 0, 1);
	throttle_settle(t, "gone", 1, 1);
	throttle_fail(t, "r", 1);
	throttle_fail(t, "r", 1);
	ck_assert_int_eq(throttle_wait(t, "r", 1), 10);
	ck_assert_int_eq(throttle_take(NULL, "k", 0), 0);
	throttle_settle(NULL, "k", 0, 0);
	throttle_free(t);
}
END_TEST

#define RACERS 8
#define RACE_TRIES 50

struct racer {
	throttle *t;
	pthread_barrier_t *start;
	int passed;
};

static void *racer_run(void *arg)
{
	struct racer *r = arg;
	int i;

	pthread_barrier_wait(r->start);
	for (i = 0; i < RACE_TRIES; i++) {
		if (throttle_take(r->t, "user:alice", 100) == 0) {
			r->passed++;
			/* the check is slow (a password hash); the outcome comes later */
			throttle_settle(r->t, "user:alice", 0, 100);
		}
	}
	return NULL;
}

/* Issue 19 item 9: many attempts at once for one key get through exactly the free ones, not one
 * per thread (threads that checked before anyone had recorded a failure). */
START_TEST(test_take_races)
{
	throttle *t = throttle_with(64, throttle_login_user);
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t start;
	int i, passed = 0;

	ck_assert_ptr_nonnull(t);
	pthread_barrier_init(&start, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		r[i].t = t;
		r[i].start = &start;
		r[i].passed = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, racer_run, &r[i]), 0);
	}
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		passed += r[i].passed;
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(passed, throttle_login_user.free_failures + 1);
	ck_assert_int_eq(throttle_wait(t, "user:alice", 100), 1000);
	throttle_free(t);
}
END_TEST

static Suite *throttle_suite(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_free_failures);
	tcase_add_test(tc, test_exponential_capped);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_many_keys_bounded);
	tcase_add_test(tc, test_evicts_least_recently_failed);
	tcase_add_test(tc, test_keys_independent);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_nulls);
	tcase_add_test(tc, test_daemon_policies);
	tcase_add_test(tc, test_take_settle);
	tcase_add_test(tc, test_take_races);
	tcase_add_test(tc, test_merge);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(throttle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
