/* test_device.c - lib/device: user codes, the scope a device may ask for, the answer to a poll,
 * and the in-memory record of polls (slow_down). The writer jobs that issue, decide and redeem
 * device authorizations against a store are in test_device_jobs.c. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

static const char letters[] = "BCDFGHJKLMNPQRSTVWXZ";

/* --- user codes --- */

static int in_alphabet(char c)
{
	return c && strchr(letters, c) != NULL;
}

START_TEST(user_code_shape)
{
	char code[DEVICE_USER_CODE_LEN + 1];
	int i, k;

	for (i = 0; i < 1000; i++) {
		memset(code, 'a', sizeof code); /* no NUL: the function must write it */
		ck_assert_int_eq(device_user_code_new(code), TS_OK);
		ck_assert_int_eq(code[DEVICE_USER_CODE_LEN], '\0');
		ck_assert_uint_eq(strlen(code), 8);
		for (k = 0; k < 8; k++)
			ck_assert_msg(in_alphabet(code[k]), "draw %d: '%c' not in the alphabet", i, code[k]);
	}
}
END_TEST

static int cmp_code(const void *a, const void *b)
{
	return memcmp(a, b, DEVICE_USER_CODE_LEN + 1);
}

START_TEST(user_code_distribution)
{
	enum { DRAWS = 20000 };
	char (*codes)[DEVICE_USER_CODE_LEN + 1] = malloc(DRAWS * sizeof *codes);
	long count[20] = {0}, pos[8][20] = {{0}};
	double expected = DRAWS * 8.0 / 20.0, chi2 = 0;
	int i, k, distinct;

	ck_assert_ptr_nonnull(codes);
	for (i = 0; i < DRAWS; i++) {
		ck_assert_int_eq(device_user_code_new(codes[i]), TS_OK);
		for (k = 0; k < 8; k++) {
			const char *at = strchr(letters, codes[i][k]);

			ck_assert_ptr_nonnull(at);
			count[at - letters]++;
			pos[k][at - letters]++;
		}
	}
	/* 160000 letters, 8000 expected each, standard deviation about 87: 7000..9000 is over 11 sd */
	for (k = 0; k < 20; k++) {
		ck_assert_msg(count[k] > 7000 && count[k] < 9000, "letter %c drawn %ld times",
		              letters[k], count[k]);
		chi2 += (count[k] - expected) * (count[k] - expected) / expected;
	}
	/* 19 degrees of freedom: mean 19, P(chi2 > 80) about 1e-9. A plain `byte % 20` without the
	 * rejection would favour the first 16 letters (13/256 against 12/256) and give about 175. */
	ck_assert_msg(chi2 < 80.0, "chi-square %.1f", chi2);
	/* every position draws every letter (1000 expected each) */
	for (k = 0; k < 8; k++)
		for (i = 0; i < 20; i++)
			ck_assert_msg(pos[k][i] > 700 && pos[k][i] < 1300, "position %d letter %c: %ld",
			              k, letters[i], pos[k][i]);
	/* 20^8 codes: among 20000, a repeat is expected less than once in a hundred runs */
	qsort(codes, DRAWS, sizeof *codes, cmp_code);
	for (i = 1, distinct = 1; i < DRAWS; i++)
		distinct += cmp_code(codes[i - 1], codes[i]) != 0;
	ck_assert_int_ge(distinct, DRAWS - 5);
	free(codes);
}
END_TEST

static void normalizes(const char *typed, const char *want)
{
	char out[DEVICE_USER_CODE_LEN + 1];

	memset(out, 'x', sizeof out);
	ck_assert_msg(device_user_code_normalize(typed, out) == 0, "\"%s\" refused", typed);
	ck_assert_str_eq(out, want);
}

static void refused(const char *typed, const char *what)
{
	char out[DEVICE_USER_CODE_LEN + 1];

	ck_assert_msg(device_user_code_normalize(typed, out) == -1, "%s accepted", what);
}

START_TEST(user_code_normalize)
{
	char *big;

	normalizes("WDJBMJHT", "WDJBMJHT");
	normalizes("wdjb-mjht", "WDJBMJHT");
	normalizes(" wdjb mjht ", "WDJBMJHT");
	normalizes("W-D-J-B-M-J-H-T", "WDJBMJHT");
	normalizes("WdJb-MjHt", "WDJBMJHT");
	normalizes("\tWDJB-MJHT\t", "WDJBMJHT");
	normalizes("--WDJB--MJHT--", "WDJBMJHT");
	normalizes("bcdf-ghjk", "BCDFGHJK");
	normalizes("lmnp-qrst", "LMNPQRST");
	normalizes("vwxz-vwxz", "VWXZVWXZ");

	refused("", "the empty string");
	refused("   ", "only spaces");
	refused("- -", "only separators");
	refused("WDJBMJH", "7 letters");
	refused("WDJB-MJH", "7 letters with a dash");
	refused("WDJBMJHTB", "9 letters");
	refused("WDJB-MJHT-B", "9 letters with dashes");
	refused("ABCDEFGH", "vowels");
	refused("WDJBMJHA", "a vowel at the end");
	refused("wdjbmjhe", "a lower-case vowel");
	refused("WDJBMJHY", "Y");
	refused("12345678", "digits");
	refused("WDJB0JHT", "a digit");
	refused("<script>", "<script>");
	refused("WDJB_MJHT", "an underscore");
	refused("WDJB.MJHT", "a dot");
	refused("WDJB\nMJHT", "a newline");
	refused("WDJBMJH\xc3\x9f", "UTF-8 (sharp s)");
	refused("\xc3\x89WDJBMJH", "UTF-8 (E acute)");
	refused("\xef\xbc\xb7\xef\xbc\xa4\xef\xbc\xaa\xef\xbc\xa2\xef\xbc\xad\xef\xbc\xaa\xef\xbc\xa8"
	        "\xef\xbc\xb4", "full-width letters");
	refused("WDJBMJH\xff", "a stray 0xff byte");

	big = malloc(10241);
	ck_assert_ptr_nonnull(big);
	memset(big, 'B', 10240);
	big[10240] = '\0';
	refused(big, "10 KB of B");
	memcpy(big, "WDJB-MJHT", 9); /* a good code followed by more letters */
	refused(big, "a code then 10 KB");
	free(big);
}
END_TEST

START_TEST(user_code_format)
{
	char out[DEVICE_USER_CODE_LEN + 2];

	memset(out, 'x', sizeof out);
	device_user_code_format("WDJBMJHT", out);
	ck_assert_str_eq(out, "WDJB-MJHT");
	ck_assert_int_eq(out[9], '\0');
	device_user_code_format("BCDFGHJK", out);
	ck_assert_str_eq(out, "BCDF-GHJK");
}
END_TEST

/* A drawn code survives format then normalize unchanged. */
START_TEST(user_code_round_trip)
{
	char code[DEVICE_USER_CODE_LEN + 1], shown[DEVICE_USER_CODE_LEN + 2], back[9];
	int i;

	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(device_user_code_new(code), TS_OK);
		device_user_code_format(code, shown);
		ck_assert_uint_eq(strlen(shown), 9);
		ck_assert_int_eq(shown[4], '-');
		ck_assert_int_eq(device_user_code_normalize(shown, back), 0);
		ck_assert_str_eq(back, code);
	}
}
END_TEST

/* --- the scope a device may ask for --- */

static void possible(const char *requested, const char *allowed, ts_err want, const char *want_bad)
{
	struct client c = {0};
	char *bad = (char *)1;

	c.client_id = "tv";
	c.scope = (char *)allowed;
	ck_assert_msg(device_scope_possible(requested, &c, &bad) == want, "\"%s\" against \"%s\"",
	              requested ? requested : "(null)", allowed);
	if (want_bad) {
		ck_assert_ptr_nonnull(bad);
		ck_assert_str_eq(bad, want_bad);
	} else {
		ck_assert_ptr_null(bad);
	}
	free(bad);
}

START_TEST(scope_possible)
{
	const char *allowed = "openid mqtt:pub:home/${username}/#";

	possible("mqtt:pub:home/bob/temp", allowed, TS_OK, NULL);
	possible("mqtt:pub:home/alice/#", allowed, TS_OK, NULL);
	possible("mqtt:pub:home/+/temp", allowed, TS_OK, NULL);
	possible("mqtt:pub:#", allowed, TS_OK, NULL);     /* narrowed at approval, but possible */
	possible("openid", allowed, TS_OK, NULL);
	possible("openid mqtt:pub:home/bob/temp", allowed, TS_OK, NULL);
	possible("openid scim", allowed, TS_OK, NULL);    /* some of it is possible */
	possible(NULL, allowed, TS_OK, NULL);
	possible("", allowed, TS_OK, NULL);
	possible("mqtt:pub:other/#", allowed, TS_INVALID_SCOPE, NULL);
	possible("mqtt:pub:home", allowed, TS_INVALID_SCOPE, NULL); /* "home/+/#" has no "home" */
	possible("mqtt:sub:home/bob/temp", allowed, TS_INVALID_SCOPE, NULL); /* pub only */
	possible("scim", allowed, TS_INVALID_SCOPE, NULL);
	possible("mqtt:pub:a/#/b", allowed, TS_INVALID_SCOPE, "mqtt:pub:a/#/b");
	possible("openid mqtt:pub:a/#/b", allowed, TS_INVALID_SCOPE, "mqtt:pub:a/#/b");
	possible("openid bad\"token", allowed, TS_INVALID_SCOPE, "bad\"token");
	/* ${clientid} is the client's own id, ${username} any one level */
	possible("mqtt:sub:dev/tv/x", "mqtt:sub:dev/${clientid}/#", TS_OK, NULL);
	possible("mqtt:sub:dev/other/x", "mqtt:sub:dev/${clientid}/#", TS_INVALID_SCOPE, NULL);
	possible("mqtt:pub:u/bob/x", "mqtt:pub:u/${username}/x", TS_OK, NULL);
	possible("mqtt:pub:u/bob/y", "mqtt:pub:u/${username}/x", TS_INVALID_SCOPE, NULL);
	possible("mqtt:pub:u/bob/c/x", "mqtt:pub:u/${username}/x", TS_INVALID_SCOPE, NULL);
	/* a client with no allowed scope can be granted nothing */
	possible(NULL, "", TS_INVALID_SCOPE, NULL);
	possible("openid", "", TS_INVALID_SCOPE, NULL);
}
END_TEST

/* bad may be NULL when not wanted */
START_TEST(scope_possible_bad_optional)
{
	struct client c = {.client_id = "tv", .scope = "openid"};

	ck_assert_int_eq(device_scope_possible("mqtt:pub:a/#/b", &c, NULL), TS_INVALID_SCOPE);
	ck_assert_int_eq(device_scope_possible("openid", &c, NULL), TS_OK);
}
END_TEST

/* --- the answer to a poll --- */

static void poll_state(int status, const char *client_id, int64_t expires_at, int64_t now,
                       ts_err want, int why_set)
{
	struct device d = {0};
	const char *why = "untouched";

	d.client_id = "tv";
	d.status = status;
	d.created_at = 1000;
	d.expires_at = expires_at;
	d.interval = 5;
	ck_assert_msg(device_poll_state(&d, client_id, now, &why) == want,
	              "status %d client %s expires %lld now %lld", status, client_id,
	              (long long)expires_at, (long long)now);
	if (why_set) {
		ck_assert_ptr_nonnull(why);
		ck_assert_str_ne(why, "untouched");
		ck_assert_uint_gt(strlen(why), 0);
	} else {
		ck_assert_ptr_null(why);
	}
}

START_TEST(poll_states)
{
	poll_state(DEVICE_PENDING, "tv", 2000, 1500, TS_AUTHORIZATION_PENDING, 1);
	poll_state(DEVICE_APPROVED, "tv", 2000, 1500, TS_OK, 0);
	poll_state(DEVICE_DENIED, "tv", 2000, 1500, TS_ACCESS_DENIED, 1);
	poll_state(DEVICE_REDEEMED, "tv", 2000, 1500, TS_INVALID_GRANT, 1);
	/* expiry: expires_at is the first second it no longer works */
	poll_state(DEVICE_PENDING, "tv", 2000, 2000, TS_EXPIRED_TOKEN, 1);
	poll_state(DEVICE_PENDING, "tv", 2000, 1999, TS_AUTHORIZATION_PENDING, 1);
	poll_state(DEVICE_APPROVED, "tv", 2000, 2000, TS_EXPIRED_TOKEN, 1);
	poll_state(DEVICE_APPROVED, "tv", 2000, 1999, TS_OK, 0);
	poll_state(DEVICE_DENIED, "tv", 2000, 3000, TS_EXPIRED_TOKEN, 1);
	/* another client's code is unknown to this one, whatever its state */
	poll_state(DEVICE_PENDING, "other", 2000, 1500, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_APPROVED, "other", 2000, 1500, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_DENIED, "other", 2000, 1500, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_APPROVED, "other", 2000, 3000, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_APPROVED, "tvx", 2000, 1500, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_APPROVED, "t", 2000, 1500, TS_INVALID_GRANT, 1);
	/* redeemed wins over expired: a used code stays invalid_grant */
	poll_state(DEVICE_REDEEMED, "tv", 2000, 3000, TS_INVALID_GRANT, 1);
	poll_state(DEVICE_REDEEMED, "tv", 2000, 2000, TS_INVALID_GRANT, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("device");
	TCase *codes = tcase_create("user_codes");

	tcase_add_test(codes, user_code_shape);
	tcase_add_test(codes, user_code_distribution);
	tcase_add_test(codes, user_code_normalize);
	tcase_add_test(codes, user_code_format);
	tcase_add_test(codes, user_code_round_trip);
	tcase_add_test(codes, scope_possible);
	tcase_add_test(codes, scope_possible_bad_optional);
	tcase_add_test(codes, poll_states);
	tcase_set_timeout(codes, 30);
	suite_add_tcase(su, codes);

	return su;
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

