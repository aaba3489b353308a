/* Unit tests for lib/writer: group commit of jobs from many threads, each job in a savepoint. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "writer.h"

static char dir[] = "/tmp/tessera-writer-XXXXXX";
static char db[64];

static void setup(void)
{
	store *s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 2000, 2, &s), TS_OK);
	store_close(s);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

/* A job: revoke the jti named by arg (an access-token revocation is one row). */
static ts_err job_revoke(store *s, void *arg)
{
	return store_revoke_jti(s, arg, 4000000000LL);
}

/* A job that writes, then fails: its write must not survive. */
static ts_err job_revoke_then_fail(store *s, void *arg)
{
	ts_err rc = store_revoke_jti(s, arg, 4000000000LL);

	return rc == TS_OK ? TS_INVALID_GRANT : rc;
}

static int revoked(const char *jti)
{
	store *s;
	int r = -1;

	ck_assert_int_eq(store_open(db, 2000, 2, &s), TS_OK);
	ck_assert_int_eq(store_is_revoked(s, jti, &r), TS_OK);
	store_close(s);
	return r;
}

START_TEST(test_job_commits_before_return)
{
	writer *w;

	ck_assert_int_eq(writer_start(db, 2000, 2, &w), TS_OK);
	ck_assert_int_eq(writer_run(w, job_revoke, "a"), TS_OK);
	/* visible to another connection as soon as writer_run returned */
	ck_assert_int_eq(revoked("a"), 1);
	writer_stop(w);
	writer_stop(NULL);
}
END_TEST

START_TEST(test_failed_job_rolls_back_alone)
{
	writer *w;

	ck_assert_int_eq(writer_start(db, 2000, 2, &w), TS_OK);
	ck_assert_int_eq(writer_run(w, job_revoke_then_fail, "bad"), TS_INVALID_GRANT);
	ck_assert_int_eq(writer_run(w, job_revoke, "good"), TS_OK);
	ck_assert_int_eq(revoked("bad"), 0);
	ck_assert_int_eq(revoked("good"), 1);
	writer_stop(w);
}
END_TEST

struct worker_arg {
	writer *w;
	int id, failures;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	char jti[32];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(jti, sizeof jti, "t%d-%d", a->id, i);
		if (writer_run(a->w, i % 10 == 9 ? job_revoke_then_fail : job_revoke, jti) !=
		    (i % 10 == 9 ? TS_INVALID_GRANT : TS_OK))
			a->failures++;
	}
	return NULL;
}

START_TEST(test_many_threads)
{
	struct worker_arg args[8];
	pthread_t t[8];
	writer *w;
	char jti[32];
	int i, n;

	ck_assert_int_eq(writer_start(db, 2000, 1, &w), TS_OK);
	for (i = 0; i < 8; i++) {
		args[i].w = w;
		args[i].id = i;
		args[i].failures = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	writer_stop(w);
	/* every good job is there, every failed one is not */
	for (i = 0; i < 8; i++)
		for (n = 0; n < 200; n++) {
			snprintf(jti, sizeof jti, "t%d-%d", i, n);
			ck_assert_int_eq(revoked(jti), n % 10 != 9);
		}
}
END_TEST

/* writer_submit: done runs after the commit, in submission order, with each job's result. */
struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int n, order[64], committed[64];
	ts_err rc[64];
};

struct sub {
	struct seen *seen;
	int i;
	char jti[16];
};

static void on_done(void *arg, ts_err rc)
{
	struct sub *a = arg;
	struct seen *z = a->seen;

	pthread_mutex_lock(&z->mu);
	z->order[z->n] = a->i;
	z->rc[a->i] = rc;
	z->committed[a->i] = revoked(a->jti); /* visible to another connection already */
	z->n++;
	pthread_cond_signal(&z->cond);
	pthread_mutex_unlock(&z->mu);
}

START_TEST(test_submit_answers_after_commit_in_order)
{
	struct seen z = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}, {0}, {0}};
	struct sub a[64];
	writer *w;
	int i;

	ck_assert_int_eq(writer_start(db, 2000, 2, &w), TS_OK);
	for (i = 0; i < 64; i++) {
		a[i].seen = &z;
		a[i].i = i;
		snprintf(a[i].jti, sizeof a[i].jti, "s%d", i);
		ck_assert_int_eq(writer_submit(w, i % 5 == 4 ? job_revoke_then_fail : job_revoke,
		                               a[i].jti, on_done, &a[i]), TS_OK);
	}
	/* writer_close waits for every job handed over, then refuses new ones */
	writer_close(w);
	ck_assert_int_eq(z.n, 64);
	for (i = 0; i < 64; i++) {
		ck_assert_int_eq(z.order[i], i);
		ck_assert_int_eq(z.rc[i], i % 5 == 4 ? TS_INVALID_GRANT : TS_OK);
		ck_assert_int_eq(z.committed[i], i % 5 != 4);
	}
	ck_assert_int_eq(writer_submit(w, job_revoke, "late", on_done, &a[0]), TS_UNAVAILABLE);
	ck_assert_int_eq(writer_run(w, job_revoke, "late"), TS_UNAVAILABLE);
	ck_assert_int_eq(z.n, 64);
	writer_stop(w);
	ck_assert_int_eq(revoked("late"), 0);
	writer_close(NULL);
}
END_TEST

START_TEST(test_bad_path)
{
	writer *w = (writer *)1;

	ck_assert_int_ne(writer_start("/nonexistent/dir/t.db", 100, 2, &w), TS_OK);
	ck_assert_ptr_null(w);
}
END_TEST

/* The synchronous setting asked for is the one SQLite reports on the connection, for store_open's
 * connections (the daemon's and its workers') and the writer's, which commits every write: a
 * SIGKILL cannot tell FULL from OFF (issue 19 item 17). */
START_TEST(test_synchronous_in_force)
{
	static const char *const names[] = {"OFF", "NORMAL", "FULL"};
	writer *w;
	store *s;
	int want;

	for (want = 0; want <= 2; want++) {
		ck_assert_int_eq(store_open(db, 2000, want, &s), TS_OK);
		ck_assert_msg(store_synchronous(s) == want, "store_open asked %s, SQLite has %d",
		              names[want], store_synchronous(s));
		store_close(s);
		ck_assert_int_eq(writer_start(db, 2000, want, &w), TS_OK);
		ck_assert_msg(writer_synchronous(w) == want, "writer_start asked %s, SQLite has %d",
		              names[want], writer_synchronous(w));
		writer_stop(w);
	}
	ck_assert_int_eq(store_synchronous(NULL), -1);
	ck_assert_int_eq(writer_synchronous(NULL), -1);
}
END_TEST

/* The statistics count each job once, each batch once, and the time the batches took; a failed
 * job counts as a job too (its savepoint was run and undone). */
START_TEST(test_stats_count_jobs_batches_and_time)
{
	struct writer_stats st;
	writer *w;

	writer_stats(NULL, &st);
	ck_assert(st.jobs == 0 && st.batches == 0 && st.busy_ns == 0);
	ck_assert_int_eq(writer_start(db, 2000, 2, &w), TS_OK);
	writer_stats(w, &st);
	ck_assert(st.jobs == 0 && st.batches == 0 && st.busy_ns == 0);
	ck_assert_int_eq(writer_run(w, job_revoke, "stats-1"), TS_OK);
	ck_assert_int_eq(writer_run(w, job_revoke_then_fail, "stats-2"), TS_INVALID_GRANT);
	writer_stats(w, &st);
	ck_assert(st.jobs == 2);
	ck_assert(st.batches == 2);        /* writer_run waits: each job had a batch of its own */
	ck_assert(st.busy_ns > 0);
	writer_stop(w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("writer");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_job_commits_before_return);
	tcase_add_test(t, test_failed_job_rolls_back_alone);
	tcase_add_test(t, test_many_threads);
	tcase_add_test(t, test_submit_answers_after_commit_in_order);
	tcase_add_test(t, test_bad_path);
	tcase_add_test(t, test_synchronous_in_force);
	tcase_add_test(t, test_stats_count_jobs_batches_and_time);
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
