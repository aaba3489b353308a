/* test_device.c - lib/device: user codes, the scope a device may ask for, the answer to a poll,
 * the in-memory record of polls (slow_down), and the writer jobs that issue, decide and redeem
 * device authorizations (RFC 8628) against a real store in a temporary directory.
 *
 * The writer jobs are run the way writer.c runs them: inside a transaction, each in a savepoint
 * of its own that is rolled back when the job returns an error. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "grant.h"
#include "writer.h"

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

/* --- writer jobs against a store --- */

static char dir[64];
static char db[128];
static store *s;
static int64_t alice, bob;

#define T0 1700000000

static void setup(void)
{
	struct client c = {0};
	struct user u = {0};

	strcpy(dir, "/tmp/tessera-device-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
	c.name = c.redirect_uris = "";
	c.grant_types = "urn:ietf:params:oauth:grant-type:device_code refresh_token";
	c.scope = "openid mqtt:pub:home/${username}/#";
	c.is_public = 1;
	c.refresh_rotation = 1;
	c.active = 1;
	c.created_at = c.updated_at = T0;
	c.client_id = "tv";
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	c.client_id = "other";
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	u.username = "alice";
	u.scope = "mqtt:pub:home/${username}/#";
	u.active = 1;
	u.created_at = u.updated_at = T0;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	alice = u.id;
	u.username = "bob";
	u.id = 0;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	bob = u.id;
	ck_assert_int_ne(alice, bob);
}

static void teardown(void)
{
	char p[PATH_MAX + 256];
	struct dirent *d;
	DIR *dh;

	store_close(s);
	s = NULL;
	if (!(dh = opendir(dir)))
		return;
	while ((d = readdir(dh))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, d->d_name);
			unlink(p);
		}
	}
	closedir(dh);
	rmdir(dir);
}

/* Runs fn as writer.c does: in a transaction, in a savepoint undone when fn fails. */
static ts_err job(ts_err (*fn)(store *, void *), void *arg)
{
	ts_err rc;

	ck_assert_int_eq(store_begin(s), TS_OK);
	ck_assert_int_eq(store_savepoint(s), TS_OK);
	rc = fn(s, arg);
	store_savepoint_end(s, rc != TS_OK);
	ck_assert_int_eq(store_commit(s), TS_OK);
	return rc;
}

static int b64url(const char *t)
{
	for (; *t; t++)
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
		      *t == '-' || *t == '_'))
			return 0;
	return 1;
}

/* Issues an authorization for client_id; its text, hash and user code into the arguments. */
static void issue(const char *client_id, const char *scope, int64_t now, int64_t ttl,
                  char text[SECRET_TOKEN_LEN], unsigned char hash[32], char user_code[9])
{
	struct device_issue j = {0};

	j.client_id = client_id;
	j.scope = scope;
	j.now = now;
	j.ttl = ttl;
	j.interval = 5;
	ck_assert_int_eq(job(device_issue, &j), TS_OK);
	memcpy(text, j.text, SECRET_TOKEN_LEN);
	memcpy(user_code, j.user_code, 9);
	grant_token_hash(j.text, hash);
}

static ts_err decide(const char *user_code, const char *client_id, int64_t user_id,
                     const char *granted, int allow, int64_t now)
{
	struct device_decision j = {0};

	j.user_code = user_code;
	j.client_id = client_id;
	j.granted = granted;
	j.user_id = user_id;
	j.auth_time = now - 30;
	j.now = now;
	j.allow = allow;
	return job(device_decide, &j);
}

static struct device *row(const unsigned char hash[32])
{
	struct device *d = NULL;

	ck_assert_int_eq(store_device_get(s, hash, &d), TS_OK);
	ck_assert_ptr_nonnull(d);
	return d;
}

START_TEST(issue_records)
{
	struct device_issue j = {0};
	struct device *d = NULL, *d2 = NULL;
	unsigned char hash[32];
	char norm[9];

	j.client_id = "tv";
	j.scope = "openid mqtt:pub:home/bob/temp";
	j.now = T0 + 10;
	j.ttl = 600;
	j.interval = 7;
	ck_assert_int_eq(job(device_issue, &j), TS_OK);
	ck_assert_uint_eq(strlen(j.text), GRANT_TOKEN_LEN - 1);
	ck_assert(b64url(j.text));
	ck_assert_uint_eq(strlen(j.user_code), 8);
	ck_assert_int_eq(device_user_code_normalize(j.user_code, norm), 0);
	ck_assert_str_eq(norm, j.user_code);

	grant_token_hash(j.text, hash);
	ck_assert_int_eq(store_device_get(s, hash, &d), TS_OK);
	ck_assert_mem_eq(d->hash, hash, 32);
	ck_assert_str_eq(d->user_code, j.user_code);
	ck_assert_str_eq(d->client_id, "tv");
	ck_assert_ptr_nonnull(d->scope);
	ck_assert_str_eq(d->scope, "openid mqtt:pub:home/bob/temp");
	ck_assert_int_eq(d->created_at, T0 + 10);
	ck_assert_int_eq(d->expires_at, T0 + 610);
	ck_assert_int_eq(d->interval, 7);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	ck_assert_int_eq(d->auth_time, 0);

	ck_assert_int_eq(store_device_by_user_code(s, j.user_code, &d2), TS_OK);
	ck_assert_mem_eq(d2->hash, hash, 32);
	ck_assert_str_eq(d2->client_id, "tv");
	ck_assert_int_eq(d2->status, DEVICE_PENDING);
	store_device_free(d);
	store_device_free(d2);

	/* only the hash is stored: the text itself is no key */
	d = (struct device *)1;
	ck_assert_int_eq(store_device_get(s, (const unsigned char *)j.text, &d), TS_NOT_FOUND);
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(issue_no_scope_and_fresh_codes)
{
	enum { N = 50 };
	char text[N][SECRET_TOKEN_LEN], uc[N][9];
	unsigned char hash[N][32];
	struct device *d;
	int i, k;

	for (i = 0; i < N; i++)
		issue(i % 2 ? "tv" : "other", NULL, T0, 600, text[i], hash[i], uc[i]);
	for (i = 0; i < N; i++) {
		d = row(hash[i]);
		ck_assert_ptr_null(d->scope);   /* NULL stays NULL: everything allowed */
		ck_assert_str_eq(d->client_id, i % 2 ? "tv" : "other");
		ck_assert_str_eq(d->user_code, uc[i]);
		store_device_free(d);
		for (k = 0; k < i; k++) {
			ck_assert_str_ne(text[i], text[k]);
			ck_assert_str_ne(uc[i], uc[k]);
		}
	}
}
END_TEST

START_TEST(issue_unknown_client)
{
	struct device_issue j = {0};
	static const char zero[SECRET_TOKEN_LEN];

	j.client_id = "nobody";
	j.now = T0;
	j.ttl = 600;
	j.interval = 5;
	ck_assert_int_ne(job(device_issue, &j), TS_OK);
	ck_assert_mem_eq(j.text, zero, SECRET_TOKEN_LEN); /* the device code was wiped */
}
END_TEST

START_TEST(decide_allow)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid mqtt:pub:home/#", T0, 600, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid mqtt:pub:home/alice/#", 1, T0 + 60), TS_OK);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_int_eq(d->user_id, alice);
	ck_assert_int_gt(d->grant_id, 0);
	ck_assert_ptr_nonnull(d->granted);
	ck_assert_str_eq(d->granted, "openid mqtt:pub:home/alice/#");
	ck_assert_int_eq(d->auth_time, T0 + 30);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_OK);
	ck_assert_int_eq(g->id, d->grant_id);
	ck_assert_str_eq(g->scope, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(g->client_id, "tv");
	ck_assert_int_eq(g->user_id, alice);
	ck_assert_int_eq(g->revoked_at, 0);
	store_grant_free(g);
	g = NULL;

	/* a second decision, either way, is refused and changes nothing */
	ck_assert_int_eq(decide(uc, "tv", bob, "openid", 1, T0 + 70), TS_CONFLICT);
	ck_assert_int_eq(decide(uc, "tv", alice, NULL, 0, T0 + 80), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, bob, "tv", &g), TS_NOT_FOUND); /* rolled back */
	store_device_free(d);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	ck_assert_int_eq(d->user_id, alice);
	ck_assert_str_eq(d->granted, "openid mqtt:pub:home/alice/#");
	store_device_free(d);
}
END_TEST

/* Approving again for the same user and client widens the one grant they have. */
START_TEST(decide_widens_grant)
{
	char text[SECRET_TOKEN_LEN], uc[9], uc2[9];
	unsigned char hash[32], hash2[32];
	struct device *d, *d2;
	struct grant *g = NULL;

	issue("tv", NULL, T0, 600, text, hash, uc);
	issue("tv", NULL, T0, 600, text, hash2, uc2);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 10), TS_OK);
	ck_assert_int_eq(decide(uc2, "tv", alice, "mqtt:pub:home/alice/x", 1, T0 + 20), TS_OK);
	d = row(hash);
	d2 = row(hash2);
	ck_assert_int_eq(d->grant_id, d2->grant_id);
	ck_assert_str_eq(d2->granted, "mqtt:pub:home/alice/x");
	ck_assert_int_eq(store_grant_get(s, d->grant_id, &g), TS_OK);
	ck_assert_str_eq(g->scope, "openid mqtt:pub:home/alice/x");
	store_grant_free(g);
	store_device_free(d);
	store_device_free(d2);
}
END_TEST

START_TEST(decide_deny)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid", T0, 600, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 60), TS_OK);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	ck_assert_int_eq(d->user_id, 0);
	ck_assert_int_eq(d->grant_id, 0);
	ck_assert_ptr_null(d->granted);
	store_device_free(d);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND); /* no grant */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 61), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	store_device_free(d);
}
END_TEST

START_TEST(decide_expired_or_unknown)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;
	struct grant *g = NULL;

	issue("tv", "openid", T0, 600, text, hash, uc);
	/* at expires_at it is over: refused, and the grant it would have made is undone */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 600), TS_CONFLICT);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 601), TS_CONFLICT);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	/* a user code nobody was given */
	ck_assert_int_eq(decide(strcmp(uc, "BBBBBBBB") ? "BBBBBBBB" : "CCCCCCCC", "tv", alice,
	                        "openid", 1, T0 + 10), TS_NOT_FOUND);
	ck_assert_int_eq(store_grant_find(s, alice, "tv", &g), TS_NOT_FOUND);
	/* just before expiry it still works */
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 1, T0 + 599), TS_OK);
}
END_TEST

/* The client client_id as the token endpoint has it once authenticated, or one of that name
 * that the store does not know; store_client_free. */
static struct client *client_named(const char *client_id)
{
	struct client *c = NULL;

	if (store_client_get(s, client_id, &c) == TS_NOT_FOUND) {
		c = calloc(1, sizeof *c);
		ck_assert_ptr_nonnull(c);
		c->client_id = strdup(client_id);
		c->scope = strdup("openid");
	}
	ck_assert_ptr_nonnull(c);
	return c;
}

/* A redemption job on hash by client_id at now; the caller frees with redeem_free. */
static void redeem(struct device_redeem *j, const unsigned char hash[32], const char *client_id,
                   int64_t now, int want_refresh)
{
	memset(j, 0, sizeof *j);
	memcpy(j->hash, hash, 32);
	j->client = client_named(client_id);
	j->now = now;
	j->refresh_ttl = 86400;
	j->want_refresh = want_refresh;
	j->why = "untouched";
	ck_assert_int_eq(job(device_redeem, j), TS_OK);
}

static void redeem_free(struct device_redeem *j)
{
	store_device_free(j->d);
	store_user_free(j->user);
	store_client_free((struct client *)j->client);
	free(j->scope);
	j->d = NULL;
	j->user = NULL;
	j->client = NULL;
	j->scope = NULL;
}

/* A refusal: error want, a reason, no refresh token. */
static void refused_redeem(const unsigned char hash[32], const char *client_id, int64_t now,
                           ts_err want)
{
	struct device_redeem j;

	redeem(&j, hash, client_id, now, 1);
	ck_assert_int_eq(j.error, want);
	ck_assert_ptr_nonnull(j.why);
	ck_assert_str_ne(j.why, "untouched");
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
}

/* An approved authorization of alice's for "tv"; its hash and grant id. */
static int64_t approved(unsigned char hash[32], int64_t expires_in)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	struct device *d;
	int64_t gid;

	issue("tv", "openid mqtt:pub:home/#", T0, expires_in, text, hash, uc);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid mqtt:pub:home/alice/#", 1, T0 + 5), TS_OK);
	d = row(hash);
	gid = d->grant_id;
	store_device_free(d);
	return gid;
}

START_TEST(redeem_with_refresh)
{
	struct device_redeem j;
	struct refresh rt = {0};
	unsigned char hash[32], rh[32];
	struct device *d;
	int64_t gid = approved(hash, 600);

	redeem(&j, hash, "tv", T0 + 20, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_ptr_null(j.why);
	ck_assert_ptr_nonnull(j.d);
	ck_assert_ptr_nonnull(j.user);
	ck_assert_int_eq(j.user->id, alice);
	ck_assert_str_eq(j.user->username, "alice");
	ck_assert_int_eq(j.d->grant_id, gid);
	ck_assert_str_eq(j.d->granted, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(j.d->client_id, "tv");
	ck_assert_uint_eq(strlen(j.refresh), GRANT_TOKEN_LEN - 1);
	ck_assert(b64url(j.refresh));
	grant_token_hash(j.refresh, rh);
	ck_assert_int_eq(store_refresh_get(s, rh, &rt), TS_OK);
	ck_assert_int_eq(rt.grant_id, gid);
	ck_assert_int_eq(rt.created_at, T0 + 20);
	ck_assert_int_eq(rt.expires_at, T0 + 20 + 86400);
	ck_assert_int_eq(rt.used_at, 0);
	/* its chain yields at most what was approved; the access token what is allowed of it now */
	ck_assert_str_eq(rt.scope, "openid mqtt:pub:home/alice/#");
	ck_assert_str_eq(j.scope, "openid mqtt:pub:home/alice/#");
	store_refresh_clear(&rt);
	redeem_free(&j);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_REDEEMED);
	store_device_free(d);

	/* once only */
	refused_redeem(hash, "tv", T0 + 25, TS_INVALID_GRANT);
	/* and still invalid_grant, not expired_token, once it has expired */
	refused_redeem(hash, "tv", T0 + 700, TS_INVALID_GRANT);
}
END_TEST

/* The user's rights narrowed between approval and redemption: the access token gets what is
 * allowed now, the refresh token's chain still keeps what was approved (narrowed at each use). */
START_TEST(redeem_narrowed_to_rights_now)
{
	struct device_redeem j;
	struct user *u = NULL;
	unsigned char hash[32];

	approved(hash, 600);
	ck_assert_int_eq(store_user_get(s, "alice", &u), TS_OK);
	free(u->scope);
	u->scope = strdup("");
	ck_assert_int_eq(store_user_put(s, u, 0), TS_OK);
	store_user_free(u);
	redeem(&j, hash, "tv", T0 + 20, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_str_eq(j.scope, "openid");
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_without_refresh)
{
	struct device_redeem j;
	unsigned char hash[32];
	struct device *d;

	approved(hash, 600);
	redeem(&j, hash, "tv", T0 + 20, 0);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_ptr_null(j.why);
	ck_assert_ptr_nonnull(j.user);
	ck_assert_int_eq(j.user->id, alice);
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_REDEEMED);
	store_device_free(d);
	refused_redeem(hash, "tv", T0 + 21, TS_INVALID_GRANT);
}
END_TEST

START_TEST(redeem_pending_and_denied)
{
	char text[SECRET_TOKEN_LEN], uc[9];
	unsigned char hash[32];
	struct device *d;

	issue("tv", NULL, T0, 600, text, hash, uc);
	refused_redeem(hash, "tv", T0 + 5, TS_AUTHORIZATION_PENDING);
	refused_redeem(hash, "other", T0 + 5, TS_INVALID_GRANT);
	refused_redeem(hash, "tv", T0 + 600, TS_EXPIRED_TOKEN);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_PENDING);
	store_device_free(d);
	ck_assert_int_eq(decide(uc, "tv", alice, "openid", 0, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 15, TS_ACCESS_DENIED);
	refused_redeem(hash, "tv", T0 + 16, TS_ACCESS_DENIED);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_DENIED);
	store_device_free(d);
}
END_TEST

/* Refusals of an approved code (another client, expiry) do not use it up. */
START_TEST(redeem_other_client_then_own)
{
	struct device_redeem j;
	unsigned char hash[32];

	approved(hash, 600);
	refused_redeem(hash, "other", T0 + 20, TS_INVALID_GRANT);
	refused_redeem(hash, "nobody", T0 + 20, TS_INVALID_GRANT);
	redeem(&j, hash, "tv", T0 + 21, 1);
	ck_assert_int_eq(j.error, TS_OK);
	ck_assert_uint_eq(strlen(j.refresh), GRANT_TOKEN_LEN - 1);
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_expired)
{
	unsigned char hash[32];
	struct device *d;

	approved(hash, 60);
	refused_redeem(hash, "tv", T0 + 60, TS_EXPIRED_TOKEN);
	refused_redeem(hash, "tv", T0 + 6000, TS_EXPIRED_TOKEN);
	d = row(hash);
	ck_assert_int_eq(d->status, DEVICE_APPROVED);
	store_device_free(d);
}
END_TEST

START_TEST(redeem_revoked_grant)
{
	unsigned char hash[32];
	struct device *d;
	int64_t gid = approved(hash, 600);

	ck_assert_int_eq(store_grant_revoke(s, gid, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 20, TS_INVALID_GRANT);
	d = row(hash);
	ck_assert_int_ne(d->status, DEVICE_REDEEMED);
	store_device_free(d);
}
END_TEST

START_TEST(redeem_disabled_user)
{
	struct device_redeem j;
	unsigned char hash[32];

	approved(hash, 600);
	ck_assert_int_eq(store_user_set_active(s, "alice", 0, T0 + 10), TS_OK);
	refused_redeem(hash, "tv", T0 + 20, TS_INVALID_GRANT);
	/* enabled again, the code still works */
	ck_assert_int_eq(store_user_set_active(s, "alice", 1, T0 + 30), TS_OK);
	redeem(&j, hash, "tv", T0 + 40, 0);
	ck_assert_int_eq(j.error, TS_OK);
	redeem_free(&j);
}
END_TEST

START_TEST(redeem_unknown)
{
	struct device_redeem j;
	unsigned char hash[32];

	memset(hash, 0x5a, sizeof hash);
	redeem(&j, hash, "tv", T0, 1);
	ck_assert_int_eq(j.error, TS_INVALID_GRANT);
	ck_assert_ptr_nonnull(j.why);
	ck_assert_ptr_null(j.d);
	ck_assert_ptr_null(j.user);
	ck_assert_str_eq(j.refresh, "");
	redeem_free(&j);
}
END_TEST

/* Writer jobs through a real writer on a second connection (the daemon's way). */
START_TEST(through_writer)
{
	writer *w = NULL;
	struct device_issue is = {0};
	struct device_decision de = {0};
	struct device_redeem rd = {0};

	ck_assert_int_eq(writer_start(db, 1000, 1, &w), TS_OK);
	is.client_id = "tv";
	is.now = T0;
	is.ttl = 600;
	is.interval = 5;
	ck_assert_int_eq(writer_run(w, device_issue, &is), TS_OK);
	de.user_code = is.user_code;
	de.client_id = "tv";
	de.granted = "openid";
	de.user_id = bob;
	de.auth_time = de.now = T0 + 1;
	de.allow = 1;
	ck_assert_int_eq(writer_run(w, device_decide, &de), TS_OK);
	ck_assert_int_eq(writer_run(w, device_decide, &de), TS_CONFLICT);
	grant_token_hash(is.text, rd.hash);
	rd.client = client_named("tv");
	rd.now = T0 + 2;
	rd.refresh_ttl = 100;
	rd.want_refresh = 1;
	ck_assert_int_eq(writer_run(w, device_redeem, &rd), TS_OK);
	ck_assert_int_eq(rd.error, TS_OK);
	ck_assert_int_eq(rd.user->id, bob);
	ck_assert_uint_eq(strlen(rd.refresh), GRANT_TOKEN_LEN - 1);
	ck_assert_str_eq(rd.scope, "openid");
	redeem_free(&rd);
	writer_stop(w);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("device");
	TCase *codes = tcase_create("user_codes");
	TCase *polls = tcase_create("polls");
	TCase *jobs = tcase_create("jobs");

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

	tcase_add_checked_fixture(jobs, setup, teardown);
	tcase_add_test(jobs, issue_records);
	tcase_add_test(jobs, issue_no_scope_and_fresh_codes);
	tcase_add_test(jobs, issue_unknown_client);
	tcase_add_test(jobs, decide_allow);
	tcase_add_test(jobs, decide_widens_grant);
	tcase_add_test(jobs, decide_deny);
	tcase_add_test(jobs, decide_expired_or_unknown);
	tcase_add_test(jobs, redeem_with_refresh);
	tcase_add_test(jobs, redeem_narrowed_to_rights_now);
	tcase_add_test(jobs, redeem_without_refresh);
	tcase_add_test(jobs, redeem_pending_and_denied);
	tcase_add_test(jobs, redeem_other_client_then_own);
	tcase_add_test(jobs, redeem_expired);
	tcase_add_test(jobs, redeem_revoked_grant);
	tcase_add_test(jobs, redeem_disabled_user);
	tcase_add_test(jobs, redeem_unknown);
	tcase_add_test(jobs, through_writer);
	tcase_set_timeout(jobs, 30);
	suite_add_tcase(su, jobs);
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
