/* test_store_keys.c - the server's own secrets in the store: signing keys and named
 * secrets.
 *
 * Each test gets a fresh directory (store_fixture.h). A few tests open the database file
 * with SQLite directly, as a second party would: to hold a lock, and to see what is really
 * stored. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_fixture.h"

struct keys_seen {
	int n;
	char kid[8][32];
	int64_t retired[8];
};

static int key_cb(const struct key_row *k, void *arg)
{
	struct keys_seen *x = arg;

	if (x->n < 8) {
		snprintf(x->kid[x->n], sizeof(x->kid[0]), "%s", k->kid);
		x->retired[x->n] = k->retired_at;
	}
	x->n++;
	return 0;
}

START_TEST(key_rotation)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_current(s, &k), TS_NOT_FOUND);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(store_key_add(s, &k1), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k1");
	ck_assert_str_eq(k->alg, "ES256");
	ck_assert_str_eq(k->pem, k1.pem);
	ck_assert_int_eq(k->created_at, 100);
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);

	k2.alg = "RS256";
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k2");
	ck_assert_str_eq(k->alg, "RS256");
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);

	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_str_eq(x.kid[0], "k2"); /* newest first */
	ck_assert_int_eq(x.retired[0], 0);
	ck_assert_str_eq(x.kid[1], "k1");
	ck_assert_int_eq(x.retired[1], 200); /* retired when k2 was created */
	store_close(s);
}
END_TEST

START_TEST(key_conflict_rolls_back)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), again = key_of("k1", 300);
	struct key_row *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_add(s, &k1), TS_OK);
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK);
	ck_assert_int_eq(store_key_add(s, &again), TS_CONFLICT);
	/* k2 was not retired by the failed add */
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k2");
	ck_assert_int_eq(k->retired_at, 0);
	store_key_free(k);
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	/* and the connection is usable: no transaction left open */
	again.kid = "k3";
	ck_assert_int_eq(store_key_add(s, &again), TS_OK);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k3");
	store_key_free(k);
	store_close(s);
}
END_TEST

START_TEST(key_prune)
{
	struct key_row k1 = key_of("k1", 100), k2 = key_of("k2", 200), k3 = key_of("k3", 300);
	struct key_row *k = NULL;
	struct keys_seen x = {0};
	store *s = open_db();

	ck_assert_int_eq(store_key_add(s, &k1), TS_OK); /* retired at 200 */
	ck_assert_int_eq(store_key_add(s, &k2), TS_OK); /* retired at 300 */
	ck_assert_int_eq(store_key_add(s, &k3), TS_OK); /* current */
	ck_assert_int_eq(store_key_prune(s, 200), TS_OK); /* "before": 200 is kept */
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 3);
	ck_assert_int_eq(store_key_prune(s, 201), TS_OK);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 2);
	ck_assert_str_eq(x.kid[0], "k3");
	ck_assert_str_eq(x.kid[1], "k2");
	/* the signing key is never pruned */
	ck_assert_int_eq(store_key_prune(s, INT64_MAX), TS_OK);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_key_each(s, key_cb, &x), TS_OK);
	ck_assert_int_eq(x.n, 1);
	ck_assert_int_eq(store_key_current(s, &k), TS_OK);
	ck_assert_str_eq(k->kid, "k3");
	store_key_free(k);
	store_close(s);
}
END_TEST

START_TEST(secret_stable)
{
	unsigned char a[32], a2[32], b[32], zero[32] = {0};
	store *s = open_db(), *s2;

	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 0);
	ck_assert_int_eq(store_secret(s, "refresh-successor", a), TS_OK);
	ck_assert_mem_ne(a, zero, 32);
	ck_assert_int_eq(store_secret(s, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	/* another name, another value */
	ck_assert_int_eq(store_secret(s, "csrf", b), TS_OK);
	ck_assert_mem_ne(a, b, 32);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets WHERE typeof(value) = 'blob' AND "
			"length(value) = 32"), 2);
	/* another connection, and after closing: the same */
	s2 = open_db();
	memset(a2, 0, sizeof(a2));
	ck_assert_int_eq(store_secret(s2, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	store_close(s2);
	store_close(s);
	s = open_db();
	memset(a2, 0, sizeof(a2));
	ck_assert_int_eq(store_secret(s, "refresh-successor", a2), TS_OK);
	ck_assert_mem_eq(a, a2, 32);
	ck_assert_int_eq(store_secret(s, "csrf", a2), TS_OK);
	ck_assert_mem_eq(b, a2, 32);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), 2);
	/* names are exact */
	ck_assert_int_eq(store_secret(s, "CSRF", a2), TS_OK);
	ck_assert_mem_ne(b, a2, 32);
	ck_assert_int_eq(store_secret(s, NULL, a2), TS_SERVER_ERROR);
	ck_assert_int_eq(store_secret(s, "", a2), TS_SERVER_ERROR); /* the schema's CHECK */
	ck_assert_int_eq(store_secret(NULL, "x", a2), TS_SERVER_ERROR);
	store_close(s);
}
END_TEST

/* Processes asking for a new secret at the same moment all get the one value stored. */
START_TEST(secret_race_processes)
{
	enum { ROUNDS = 20, N = 4 };
	unsigned char v[N][32], mine[32];
	char name[32];
	int fds[N][2], r, i, status;
	pid_t pid[N];
	store *s = open_db();

	store_close(s);
	for (r = 0; r < ROUNDS; r++) {
		snprintf(name, sizeof(name), "race-%d", r);
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(pipe(fds[i]), 0);
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0) {
				store *cs = NULL;
				unsigned char out[32];
				ts_err e = store_open(db, 10000, 1, &cs);

				close(fds[i][0]);
				if (e == TS_OK)
					e = store_secret(cs, name, out);
				store_close(cs);
				if (e == TS_OK && write(fds[i][1], out, 32) != 32)
					e = TS_ERR_COUNT;
				_exit((int)e);
			}
			close(fds[i][1]);
		}
		for (i = 0; i < N; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
					"round %d child %d: status %d", r, i, status);
			ck_assert_int_eq(read(fds[i][0], v[i], 32), 32);
			close(fds[i][0]);
		}
		s = open_db();
		ck_assert_int_eq(store_secret(s, name, mine), TS_OK);
		store_close(s);
		for (i = 0; i < N; i++)
			ck_assert_msg(memcmp(v[i], mine, 32) == 0, "round %d child %d", r, i);
	}
	ck_assert_int_eq(sql_int("SELECT count(*) FROM secrets"), ROUNDS);
}
END_TEST

static Suite *store_keys_suite(void)
{
	Suite *s = suite_create("store_keys");
	TCase *rec = tcase_create("records");
	TCase *lock = tcase_create("locking");

	tcase_add_checked_fixture(rec, setup, teardown);
	tcase_add_test(rec, key_rotation);
	tcase_add_test(rec, key_conflict_rolls_back);
	tcase_add_test(rec, key_prune);
	tcase_add_test(rec, secret_stable);
	suite_add_tcase(s, rec);

	tcase_add_checked_fixture(lock, setup, teardown);
	tcase_set_timeout(lock, 30);
	tcase_add_test(lock, secret_race_processes);
	suite_add_tcase(s, lock);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_keys_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
