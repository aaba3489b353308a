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

/* --- the record of polls --- */

/* Key n, shaped like those of codes made in the same millisecond: the same time at the start
 * (6 bytes), the rest differing. */
static void hash_of(unsigned char h[32], unsigned n)
{
	unsigned i;

	memset(h, 0x01, 6);
	for (i = 6; i < 32; i++)
		h[i] = (unsigned char)(n * 131u + i * 17u + (n >> 8) * 7u);
	h[31] = (unsigned char)n;
	h[30] = (unsigned char)(n >> 8);
	h[29] = (unsigned char)(n >> 16);
}

/* Keys that all fall into the same bucket (the same last two bytes) but differ before. */
static void colliding(unsigned char h[32], unsigned n)
{
	memset(h, 0xab, 32);
	h[29] = (unsigned char)n;
	h[28] = (unsigned char)(n >> 8);
}

#define CHECK(p, h, ms, iv) device_polls_check((p), (h), (ms), (iv), 1000000)

START_TEST(polls_first_then_slow)
{
	device_polls *p = device_polls_new(100);
	unsigned char h[32];

	ck_assert_ptr_nonnull(p);
	hash_of(h, 1);
	ck_assert_int_eq(CHECK(p, h, 100000, 5), 0);          /* first poll: never slow */
	ck_assert_int_eq(CHECK(p, h, 101000, 5), 1);          /* 1 s later: slow, interval 10 */
	/* the last poll is now 101000 (a slow poll counts too) and the interval 10 s: a poll 6 s
	 * later (old interval + 1) is slow again, and the interval becomes 15 */
	ck_assert_int_eq(CHECK(p, h, 107000, 5), 1);
	/* 10.1 s after that: the interval is now 15, so still slow (-> 20) */
	ck_assert_int_eq(CHECK(p, h, 117100, 5), 1);
	/* 20.1 s later: fine, and the interval stays 20 */
	ck_assert_int_eq(CHECK(p, h, 137200, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 157300, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 172300, 5), 1);          /* 15 s: slow against 20 */
	device_polls_free(p);
}
END_TEST

START_TEST(polls_grow_by_five)
{
	device_polls *p = device_polls_new(100);
	unsigned char a[32], b[32];

	hash_of(a, 2);
	hash_of(b, 3);
	/* a: slow once -> interval 10; a poll 10.1 s after the slow one is fine */
	ck_assert_int_eq(CHECK(p, a, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, a, 2000, 5), 1);
	ck_assert_int_eq(CHECK(p, a, 12100, 5), 0);
	ck_assert_int_eq(CHECK(p, a, 22200, 5), 0);            /* and stays fine at 10 s */
	/* b: slow once -> interval 10; 9.4 s after (less than 10 - 0.5) is slow */
	ck_assert_int_eq(CHECK(p, b, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, b, 2000, 5), 1);
	ck_assert_int_eq(CHECK(p, b, 11400, 5), 1);
	device_polls_free(p);
}
END_TEST

START_TEST(polls_tolerance)
{
	device_polls *p = device_polls_new(100);
	unsigned char h[32];
	unsigned n = 10;

	/* interval 5 s, tolerance 500 ms: 4.6 s fine, 4.4 s slow, exactly 4.5 s fine, 4.499 slow */
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 4600, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 9200, 5), 0);
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 4400, 5), 1);
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 4500, 5), 0);
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 4499, 5), 1);
	/* the same at another interval: 30 s */
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 30), 0);
	ck_assert_int_eq(CHECK(p, h, 29600, 30), 0);
	ck_assert_int_eq(CHECK(p, h, 29600 + 29400, 30), 1);
	/* the same poll twice at once (a retry) is slow */
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 1);
	/* an interval of 0 never gives slow_down */
	hash_of(h, n++);
	ck_assert_int_eq(CHECK(p, h, 0, 0), 0);
	ck_assert_int_eq(CHECK(p, h, 0, 0), 0);
	ck_assert_int_eq(CHECK(p, h, 1, 0), 0);
	device_polls_free(p);
}
END_TEST

/* The interval in force is the one recorded at the first poll (then grown), not the argument of
 * later calls; and codes do not disturb one another. */
START_TEST(polls_interval_recorded)
{
	device_polls *p = device_polls_new(100);
	unsigned char a[32], b[32];

	hash_of(a, 20);
	hash_of(b, 21);
	ck_assert_int_eq(CHECK(p, a, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, b, 100, 60), 0);
	ck_assert_int_eq(CHECK(p, a, 6000, 100), 0);      /* 5 s recorded: fine */
	ck_assert_int_eq(CHECK(p, b, 6100, 1), 1);        /* 60 s recorded: slow */
	ck_assert_int_eq(CHECK(p, a, 12000, 100), 0);
	device_polls_free(p);
}
END_TEST

START_TEST(polls_forget)
{
	device_polls *p = device_polls_new(100);
	unsigned char h[32], o[32];

	hash_of(h, 30);
	hash_of(o, 31);
	ck_assert_int_eq(CHECK(p, h, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, o, 0, 5), 0);
	ck_assert_int_eq(CHECK(p, h, 1000, 5), 1);        /* interval 10 now */
	device_polls_forget(p, h);
	ck_assert_int_eq(CHECK(p, h, 1100, 5), 0);        /* a first poll again */
	ck_assert_int_eq(CHECK(p, h, 1100 + 5000, 5), 0); /* back to 5 s, not 10 */
	/* the other code was not forgotten */
	ck_assert_int_eq(CHECK(p, o, 2000, 5), 1);
	/* forgetting an unknown code, or twice, is harmless */
	device_polls_forget(p, h);
	device_polls_forget(p, h);
	hash_of(h, 99);
	device_polls_forget(p, h);
	ck_assert_int_eq(CHECK(p, o, 2100, 5), 1);
	device_polls_free(p);
}
END_TEST

START_TEST(polls_purge)
{
	device_polls *p = device_polls_new(100);
	unsigned char a[32], b[32], c[32];

	hash_of(a, 40);
	hash_of(b, 41);
	hash_of(c, 42);
	ck_assert_int_eq(device_polls_check(p, a, 0, 5, 100), 0);
	ck_assert_int_eq(device_polls_check(p, b, 0, 5, 200), 0);
	ck_assert_int_eq(device_polls_check(p, c, 0, 5, 150), 0);
	device_polls_purge(p, 150);
	/* a expired before 150: dropped, so its next poll is a first one again */
	ck_assert_int_eq(device_polls_check(p, a, 100, 5, 100), 0);
	/* b and c (expiring at 150, not before) are kept: a poll 100 ms later is slow */
	ck_assert_int_eq(device_polls_check(p, b, 100, 5, 200), 1);
	ck_assert_int_eq(device_polls_check(p, c, 100, 5, 150), 1);
	/* purge of nothing, and of an empty table */
	device_polls_purge(p, 0);
	ck_assert_int_eq(device_polls_check(p, b, 200, 5, 200), 1);
	device_polls_purge(p, INT64_MAX);
	ck_assert_int_eq(device_polls_check(p, b, 300, 5, 200), 0);
	device_polls_purge(p, INT64_MAX);
	device_polls_purge(p, INT64_MAX);
	device_polls_free(p);
}
END_TEST

/* Several codes in one bucket: forget and purge unlink the right ones, whatever their place. */
START_TEST(polls_same_bucket)
{
	enum { N = 6 };
	device_polls *p = device_polls_new(100);
	unsigned char h[N][32];
	int i;

	for (i = 0; i < N; i++) {
		colliding(h[i], (unsigned)i);
		ck_assert_int_eq(device_polls_check(p, h[i], 0, 5, 100 + i), 0);
	}
	device_polls_forget(p, h[0]);      /* the first inserted (last in the chain) */
	device_polls_forget(p, h[N - 1]);  /* the last inserted (head of the chain) */
	device_polls_forget(p, h[2]);      /* one in the middle */
	device_polls_purge(p, 104);        /* drops 1 and 3 (expiring at 101 and 103), keeps 4 */
	for (i = 0; i < N; i++)
		ck_assert_msg(device_polls_check(p, h[i], 100, 5, 100 + i) == (i == 4),
		              "code %d", i);
	device_polls_free(p);
}
END_TEST

/* Codes made in the same millisecond share the start of their key: the table must still spread
 * them over its buckets (20,000 codes in 65,536 buckets: chains of a few at most). */
START_TEST(polls_same_time_spread)
{
	enum { N = 20000 };
	device_polls *p = device_polls_new(N);
	unsigned char h[32];
	unsigned i;

	for (i = 0; i < N; i++) {
		hash_of(h, i);
		ck_assert_int_eq(device_polls_check(p, h, 0, 5, 100), 0);
	}
	ck_assert_uint_le(device_polls_longest_chain(p), 12);
	for (i = 0; i < N; i++) {
		hash_of(h, i);
		ck_assert_msg(device_polls_check(p, h, 1, 5, 100) == 1, "code %u not recorded", i);
	}
	device_polls_free(p);
}
END_TEST

START_TEST(polls_bounded)
{
	device_polls *p = device_polls_new(2);
	unsigned char a[32], b[32], c[32], d[32];
	int t;

	hash_of(a, 50);
	hash_of(b, 51);
	hash_of(c, 52);
	hash_of(d, 53);
	ck_assert_int_eq(device_polls_check(p, a, 0, 5, 100), 0);
	ck_assert_int_eq(device_polls_check(p, b, 0, 5, 200), 0);
	/* full: c is never recorded, so never slow */
	for (t = 0; t < 5; t++)
		ck_assert_int_eq(device_polls_check(p, c, t * 10, 5, 200), 0);
	/* the recorded ones still are */
	ck_assert_int_eq(device_polls_check(p, a, 100, 5, 100), 1);
	ck_assert_int_eq(device_polls_check(p, b, 100, 5, 200), 1);
	/* forgetting one makes room */
	device_polls_forget(p, b);
	ck_assert_int_eq(device_polls_check(p, c, 200, 5, 200), 0);
	ck_assert_int_eq(device_polls_check(p, c, 300, 5, 200), 1);
	ck_assert_int_eq(device_polls_check(p, d, 300, 5, 200), 0);
	ck_assert_int_eq(device_polls_check(p, d, 400, 5, 200), 0);
	/* and so does a purge */
	device_polls_purge(p, 150);          /* a (100) goes */
	ck_assert_int_eq(device_polls_check(p, d, 500, 5, 200), 0);
	ck_assert_int_eq(device_polls_check(p, d, 600, 5, 200), 1);
	ck_assert_int_eq(device_polls_check(p, a, 600, 5, 100), 0);
	ck_assert_int_eq(device_polls_check(p, a, 700, 5, 100), 0);   /* full again */
	device_polls_free(p);

	/* a table of 0 records nothing */
	p = device_polls_new(0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(device_polls_check(p, a, 0, 5, 100), 0);
	ck_assert_int_eq(device_polls_check(p, a, 0, 5, 100), 0);
	device_polls_forget(p, a);
	device_polls_purge(p, 1000);
	device_polls_free(p);
	device_polls_free(NULL);
}
END_TEST

enum { THREADS = 8, ROUNDS = 20000, SHARED = 64, TABLE = 1000 };

struct poller {
	device_polls *p;
	int id;
	int bad;          /* results other than 0 and 1 */
	long slow;
};

static void *poller_main(void *arg)
{
	struct poller *w = arg;
	unsigned char h[32];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		int r;

		/* half on codes shared by all threads, half on the thread's own (filling the table) */
		if (i % 2)
			hash_of(h, (unsigned)(i / 2 % SHARED));
		else
			hash_of(h, 1000u + (unsigned)w->id * 100000u + (unsigned)i);
		r = device_polls_check(w->p, h, i, 5, i % 3 ? 10 : 1000000);
		if (r != 0 && r != 1)
			w->bad++;
		w->slow += r;
		if (i % 97 == 0)
			device_polls_forget(w->p, h);
		if (w->id == 0 && i % 1000 == 0)
			device_polls_purge(w->p, 11);
	}
	return NULL;
}

START_TEST(polls_threads)
{
	pthread_t t[THREADS];
	struct poller w[THREADS];
	device_polls *p = device_polls_new(TABLE);
	unsigned char h[32];
	long slow = 0;
	int i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct poller){.p = p, .id = i};
		ck_assert_int_eq(pthread_create(&t[i], NULL, poller_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].bad, 0);
		slow += w[i].slow;
	}
	ck_assert_int_gt(slow, 0); /* the shared codes were polled far too often */
	/* the count stayed right: once everything is purged, the table holds TABLE codes again */
	device_polls_purge(p, INT64_MAX);
	for (i = 0; i < TABLE; i++) {
		hash_of(h, 5000000u + (unsigned)i);
		ck_assert_int_eq(device_polls_check(p, h, 0, 5, 100), 0);
	}
	for (i = 0; i < TABLE; i++) {
		hash_of(h, 5000000u + (unsigned)i);
		ck_assert_msg(device_polls_check(p, h, 1, 5, 100) == 1, "code %d not recorded", i);
	}
	hash_of(h, 6000000u);
	ck_assert_int_eq(device_polls_check(p, h, 0, 5, 100), 0);
	ck_assert_int_eq(device_polls_check(p, h, 1, 5, 100), 0); /* full */
	device_polls_free(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("device");
	TCase *codes = tcase_create("user_codes");
	TCase *polls = tcase_create("polls");

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

	tcase_add_test(polls, polls_first_then_slow);
	tcase_add_test(polls, polls_grow_by_five);
	tcase_add_test(polls, polls_tolerance);
	tcase_add_test(polls, polls_interval_recorded);
	tcase_add_test(polls, polls_forget);
	tcase_add_test(polls, polls_purge);
	tcase_add_test(polls, polls_same_bucket);
	tcase_add_test(polls, polls_same_time_spread);
	tcase_add_test(polls, polls_bounded);
	tcase_add_test(polls, polls_threads);
	tcase_set_timeout(polls, 60);
	suite_add_tcase(su, polls);
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

