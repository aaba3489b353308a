/* test_scope_match.c - MQTT topic matching (lib/common/scope.c scope_topic_matches), and matching,
 * coverage and intersection checked by brute force against a reference matcher. Topic validity,
 * coverage and intersection by table, and the scope grants, are in test_scope.c.
 *
 * The matching table is ported from mosquitto's test/unit/util_topic_test.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scope.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- matching: mosquitto's table, plus MQTT 5 §4.7.2 rows ---- */

static const struct {
	const char *filter, *topic;
	int match;
} match_rows[] = {
	/* mosquitto TEST_valid_matching */
	{"foo/#", "foo/", 1},
	{"foo/#", "foo", 1},
	{"foo//bar", "foo//bar", 1},
	{"foo//+", "foo//bar", 1},
	{"foo/+/+/baz", "foo///baz", 1},
	{"foo/bar/+", "foo/bar/", 1},
	{"foo/bar", "foo/bar", 1},
	{"foo/+", "foo/bar", 1},
	{"foo/+/baz", "foo/bar/baz", 1},
	{"A/B/+/#", "A/B/B/C", 1},
	{"foo/+/#", "foo/bar/baz", 1},
	{"foo/+/#", "foo/bar", 1},
	{"#", "foo/bar/baz", 1},
	{"#", "/foo/bar", 1},
	{"/#", "/foo/bar", 1},
	/* mosquitto TEST_invalid_but_matching: never a match */
	{"+foo", "+foo", 0},
	{"fo+o", "fo+o", 0},
	{"foo+", "foo+", 0},
	{"+foo/bar", "+foo/bar", 0},
	{"foo+/bar", "foo+/bar", 0},
	{"foo/+bar", "foo/+bar", 0},
	{"foo/bar+", "foo/bar+", 0},
	{"+foo", "afoo", 0},
	{"fo+o", "foao", 0},
	{"foo+", "fooa", 0},
	{"+foo/bar", "afoo/bar", 0},
	{"foo+/bar", "fooa/bar", 0},
	{"foo/+bar", "foo/abar", 0},
	{"foo/bar+", "foo/bara", 0},
	{"#foo", "#foo", 0},
	{"fo#o", "fo#o", 0},
	{"foo#", "foo#", 0},
	{"#foo/bar", "#foo/bar", 0},
	{"foo#/bar", "foo#/bar", 0},
	{"foo/#bar", "foo/#bar", 0},
	{"foo/bar#", "foo/bar#", 0},
	{"foo/+", "foo/+", 0},
	{"foo/#", "foo/+", 0},
	{"foo/+", "foo/bar/+", 0},
	{"foo/#", "foo/bar/+", 0},
	{"foo/+", "foo/#", 0},
	{"foo/#", "foo/#", 0},
	{"foo/+", "foo/bar/#", 0},
	{"foo/#", "foo/bar/#", 0},
	/* mosquitto TEST_valid_no_matching */
	{"test/6/#", "test/3", 0},
	{"foo/bar", "foo", 0},
	{"foo/+", "foo/bar/baz", 0},
	{"foo/+/baz", "foo/bar/bar", 0},
	{"foo/+/#", "fo2/bar/baz", 0},
	{"/#", "foo/bar", 0},
	{"#", "$SYS/bar", 0},
	{"$BOB/bar", "$SYS/bar", 0},
	/* mosquitto TEST_invalid */
	{"foo#", "foo", 0},
	{"fo#o/", "foo", 0},
	{"foo#", "fooa", 0},
	{"foo+", "foo", 0},
	{"foo/#a", "foo", 0},
	{"#a", "foo", 0},
	{"foo/#abc", "foo", 0},
	{"#abc", "foo", 0},
	{"/#a", "foo/bar", 0},
	/* mosquitto TEST_empty_input */
	{"sub", "", 0},
	{"", "topic", 0},
	{"", "", 0},
	/* MQTT 5 §4.7.2 and more */
	{"+/bar", "$SYS/bar", 0},
	{"+", "$SYS", 0},
	{"+/#", "$SYS/x", 0},
	{"$SYS/#", "$SYS/bar", 1},
	{"$SYS/+", "$SYS/bar", 1},
	{"$SYS/#", "$SYS", 1},
	{"$SYS", "$SYS", 1},
	{"a/$SYS", "a/$SYS", 1},
	{"a/+", "a/$x", 1},
	{"#", "a/$x", 1},
	{"+/#", "a", 1},
	{"+/+", "a", 0},
	{"a/#/b", "a/x/b", 0},	/* '#' not last is no wildcard */
	{"a/b", "a/b/", 0},
	{"a/b/", "a/b", 0},
	{"+", "/", 0},
	{"+/+", "/", 1},
	{"#", "a b", 1},	/* broker topics may hold spaces */
};

START_TEST(test_matches)
{
	ck_assert_msg(scope_topic_matches(match_rows[_i].filter, match_rows[_i].topic) ==
		      match_rows[_i].match, "'%s' vs '%s': expected %d", match_rows[_i].filter,
		      match_rows[_i].topic, match_rows[_i].match);
}
END_TEST

START_TEST(test_matches_null)
{
	ck_assert_int_eq(scope_topic_matches("sub", NULL), 0);
	ck_assert_int_eq(scope_topic_matches(NULL, "topic"), 0);
	ck_assert_int_eq(scope_topic_matches(NULL, NULL), 0);
}
END_TEST

/* ---- brute force: matching, covers and intersect against a reference matcher over a small
 * universe of filters (up to 3 levels) and topics (up to 4 levels) ---- */

static const char *const f_levels[] = {"a", "$s", "", "+", "#"};
static const char *const t_levels[] = {"a", "$s", "", "c"};

/* All strings of 1..maxdepth levels from lv, into out; returns the count. */
static int gen(char out[][16], const char *const *lv, int nlv, int maxdepth, int wild)
{
	int n = 0, depth, idx, k, x;

	for (depth = 1; depth <= maxdepth; depth++) {
		int total = 1;

		for (k = 0; k < depth; k++)
			total *= nlv;
		for (idx = 0; idx < total; idx++) {
			out[n][0] = '\0';
			for (k = 0, x = idx; k < depth; k++, x /= nlv) {
				if (k)
					strcat(out[n], "/");
				strcat(out[n], lv[x % nlv]);
			}
			if (wild ? scope_filter_valid(out[n]) : scope_topic_valid(out[n]))
				n++;
		}
	}
	return n;
}

/* The reference: split into levels, then '+' takes one level, a last '#' any number (even none),
 * and neither takes a first level starting with '$'. Only for the short strings made here. */
static int ref_match(const char *filter, const char *topic)
{
	char f[16], t[16], *fl[8], *tl[8], *save;
	int nf = 0, nt = 0, i;

	strcpy(f, filter);
	strcpy(t, topic);
	for (fl[0] = f, nf = 1, save = f; (save = strchr(save, '/')); nf++)
		*save++ = '\0', fl[nf] = save;
	for (tl[0] = t, nt = 1, save = t; (save = strchr(save, '/')); nt++)
		*save++ = '\0', tl[nt] = save;
	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return 0;
	for (i = 0; i < nf; i++) {
		if (strcmp(fl[i], "#") == 0)
			return 1;
		if (i >= nt || (strcmp(fl[i], "+") != 0 && strcmp(fl[i], tl[i]) != 0))
			return 0;
	}
	return nf == nt;
}

static char filters[160][16], topics[400][16];
static unsigned char mat[160][400];

START_TEST(test_brute_force)
{
	int nf = gen(filters, f_levels, 5, 3, 1), nt = gen(topics, t_levels, 4, 4, 0);
	int i, j, t;
	char *out;

	ck_assert_int_gt(nf, 100);
	ck_assert_int_gt(nt, 300);
	for (i = 0; i < nf; i++) {
		for (t = 0; t < nt; t++) {
			mat[i][t] = (unsigned char)ref_match(filters[i], topics[t]);
			ck_assert_msg(scope_topic_matches(filters[i], topics[t]) == mat[i][t],
				      "'%s' vs '%s'", filters[i], topics[t]);
		}
	}
	for (i = 0; i < nf; i++) {
		for (j = 0; j < nf; j++) {
			int sub = 1, any = 0, rc;

			for (t = 0; t < nt; t++) {
				sub &= !mat[j][t] || mat[i][t];
				any |= mat[i][t] && mat[j][t];
			}
			ck_assert_msg(scope_filter_covers(filters[i], filters[j]) == sub,
				      "'%s' covers '%s' should be %d", filters[i], filters[j], sub);
			rc = scope_filter_intersect(filters[i], filters[j], &out);
			ck_assert_msg(rc == any, "'%s' ^ '%s' should be %s", filters[i], filters[j],
				      any ? "non-empty" : "empty");
			if (!out)
				continue;
			ck_assert_msg(scope_filter_valid(out), "'%s' invalid", out);
			for (t = 0; t < nt; t++)
				ck_assert_msg(scope_topic_matches(out, topics[t]) ==
					      (mat[i][t] && mat[j][t]), "'%s' ^ '%s' = '%s' on '%s'",
					      filters[i], filters[j], out, topics[t]);
			free(out);
		}
	}
}
END_TEST

static Suite *scope_match_suite(void)
{
	Suite *s = suite_create("scope_match");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_matches, 0, N(match_rows));
	tcase_add_test(tc, test_matches_null);
	tcase_add_test(tc, test_brute_force);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scope_match_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
