/* test_scope.c - MQTT topic filters (validity, coverage, intersection) and OAuth scope grants;
 * topic matching and the brute-force check are in test_scope_match.c.
 *
 * The topic-check table is ported from mosquitto's test/unit/util_topic_test.c;
 * where Tessera deliberately differs (no space in a scope filter) the row says so. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scope.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S(s) ((s) ? (s) : "(null)")

/* ---- validity: mosquitto's pub/sub topic checks plus ours ---- */

static const struct {
	const char *s;
	int filter, topic;	/* scope_filter_valid, scope_topic_valid */
} valid_rows[] = {
	/* mosquitto TEST_pub_topic_valid / TEST_sub_topic_valid */
	{"pub/topic", 1, 1},
	{"pub//topic", 1, 1},
	{"pub/ /topic", 0, 0},	/* mosquitto: valid; a scope filter holds no space */
	{"sub/+/topic", 1, 0},
	{"+/+/+", 1, 0},
	{"+", 1, 0},
	{"sub/topic/#", 1, 0},
	{"sub//topic/#", 1, 0},
	{"sub/ /topic/#", 0, 0},	/* mosquitto: valid; space */
	{"sub/+/topic/#", 1, 0},
	{"+/+/+/#", 1, 0},
	{"#", 1, 0},
	/* mosquitto TEST_pub_topic_invalid / TEST_sub_topic_invalid */
	{"+pub/topic", 0, 0},
	{"pub+/topic", 0, 0},
	{"pub/+topic", 0, 0},
	{"pub/topic+", 0, 0},
	{"pub/topic/+", 1, 0},
	{"#pub/topic", 0, 0},
	{"pub#/topic", 0, 0},
	{"pub/#topic", 0, 0},
	{"pub/topic#", 0, 0},
	{"pub/topic/#", 1, 0},
	{"+/pub/topic", 1, 0},
	{"#/sub/topic", 0, 0},
	/* ours */
	{"a/#/b", 0, 0},
	{"a+", 0, 0},
	{"#a", 0, 0},
	{"a/+b", 0, 0},
	{"a/b+/c", 0, 0},
	{"", 0, 0},
	{" ", 0, 0},
	{"a b", 0, 0},
	{"a\"b", 0, 0},
	{"a\\b", 0, 0},
	{"/", 1, 1},
	{"a//b", 1, 1},
	{"+/+", 1, 0},
	{"$SYS/#", 1, 0},
	{"${username}/x", 1, 1},
	{"caf\xc3\xa9/\xf0\x9f\x98\x80", 1, 1},	/* é, U+1F600 */
	{"\xc3", 0, 0},			/* truncated */
	{"a/\xc3/b", 0, 0},
	{"\xa9", 0, 0},			/* stray continuation byte */
	{"\xc0\xaf", 0, 0},		/* overlong '/' */
	{"\xe0\x80\xaf", 0, 0},		/* overlong '/' */
	{"\xed\xa0\x80", 0, 0},		/* U+D800 surrogate */
	{"\xf4\x90\x80\x80", 0, 0},	/* U+110000 */
	{"\xef\xbf\xbf", 0, 0},		/* U+FFFF noncharacter */
	{"\xef\xb7\x90", 0, 0},		/* U+FDD0 noncharacter */
	{"a\x01", 0, 0},		/* control characters */
	{"a\tb", 0, 0},
	{"a\x7f", 0, 0},
	{"\xc2\x80", 0, 0},		/* C1 control */
	{"\xc2\xa0", 1, 1},		/* U+00A0 */
};

START_TEST(test_valid)
{
	const char *s = valid_rows[_i].s;

	ck_assert_msg(scope_filter_valid(s) == valid_rows[_i].filter, "filter '%s'", s);
	ck_assert_msg(scope_topic_valid(s) == valid_rows[_i].topic, "topic '%s'", s);
}
END_TEST

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_valid_length)
{
	char *s = repeat('a', 65536), *slashes = repeat('/', 65535), *out;

	ck_assert_int_eq(scope_filter_valid(NULL), 0);
	ck_assert_int_eq(scope_topic_valid(NULL), 0);
	ck_assert_int_eq(scope_filter_valid(s), 0);
	ck_assert_int_eq(scope_topic_valid(s), 0);
	s[65535] = '\0';
	ck_assert_int_eq(scope_filter_valid(s), 1);
	ck_assert_int_eq(scope_topic_valid(s), 1);
	s[65533] = '\xc3';	/* a 2-byte character ending at byte 65535 */
	s[65534] = '\xa9';
	ck_assert_int_eq(scope_filter_valid(s), 1);
	s[65534] = 'a';
	ck_assert_int_eq(scope_filter_valid(s), 0);

	/* 65536 empty levels: every walk is a loop, not a recursion */
	ck_assert_int_eq(scope_filter_valid(slashes), 1);
	ck_assert_int_eq(scope_topic_matches(slashes, slashes), 1);
	ck_assert_int_eq(scope_filter_covers(slashes, slashes), 1);
	ck_assert_int_eq(scope_filter_intersect(slashes, slashes, &out), 1);
	ck_assert_int_eq(strcmp(out, slashes), 0);
	free(out);
	slashes[65534] = '#';
	ck_assert_int_eq(scope_filter_covers(slashes, slashes + 1), 0);
	ck_assert_int_eq(scope_filter_covers(slashes + 1, slashes), 1);
	memset(s, '/', 65535);	/* the topic of 65536 empty levels */
	ck_assert_int_eq(scope_topic_valid(s), 1);
	ck_assert_int_eq(scope_topic_matches(slashes, s), 1);
	ck_assert_int_eq(scope_topic_matches(slashes, s + 2), 1);
	ck_assert_int_eq(scope_topic_matches(slashes, s + 3), 0);
	ck_assert_int_eq(scope_filter_intersect(slashes, slashes + 1, &out), 1);
	ck_assert_int_eq(strcmp(out, slashes), 0);
	free(out);
	free(s);
	free(slashes);
}
END_TEST

/* ---- coverage ---- */

static const struct {
	const char *outer, *inner;
	int covers;
} cover_rows[] = {
	{"#", "+/#", 1},
	{"+/#", "#", 1},	/* every topic has a first level: the same set */
	{"+/+/#", "#", 0},
	{"#", "#", 1},
	{"a/#", "a", 1},
	{"a", "a/#", 0},
	{"a/+", "a/#", 0},
	{"a/#", "a/+", 1},
	{"a/#", "a/+/c", 1},
	{"a/#", "a/#", 1},
	{"a/+/#", "a/#", 0},	/* a/# matches a */
	{"a/#", "a/+/#", 1},
	{"a/+/#", "a/b", 1},
	{"a/+/#", "a", 0},
	{"a/b/#", "a/#", 0},
	{"a/b", "a/b", 1},
	{"a/b", "a/c", 0},
	{"a/+", "a/b", 1},
	{"a/b", "a/+", 0},
	{"+/+", "a/b", 1},
	{"+", "a/b", 0},
	{"a/+/b", "a//b", 1},
	{"a//b", "a/+/b", 0},
	{"#", "/", 1},
	{"#", "$SYS/#", 0},
	{"#", "$SYS", 0},
	{"+/#", "$SYS/x", 0},
	{"+", "$SYS", 0},
	{"$SYS/#", "$SYS/+", 1},
	{"$SYS/+", "$SYS/#", 0},
	{"$SYS/#", "$SYS", 1},
	{"$SYS/#", "+/#", 0},
	{"#", "a/$SYS/#", 1},
	{"", "a", 0},
	{"a", "", 0},
};

START_TEST(test_covers)
{
	ck_assert_msg(scope_filter_covers(cover_rows[_i].outer, cover_rows[_i].inner) ==
		      cover_rows[_i].covers, "'%s' covers '%s': expected %d", cover_rows[_i].outer,
		      cover_rows[_i].inner, cover_rows[_i].covers);
}
END_TEST

/* ---- intersection ---- */

static const struct {
	const char *a, *b, *want;	/* want NULL: nothing matches both */
} isect_rows[] = {
	{"#", "home/+/temp", "home/+/temp"},
	{"a/+/c", "+/b/#", "a/b/c"},
	{"a/#", "a/+", "a/+"},
	{"a/#", "a", "a"},
	{"#", "$SYS/#", NULL},
	{"#", "+/#", "+/#"},
	{"a//b", "a/+/b", "a//b"},
	{"+", "$SYS", NULL},
	{"$SYS/#", "$SYS/+", "$SYS/+"},
	{"+/#", "$SYS/x", NULL},
	{"$SYS/#", "+/#", NULL},
	{"#", "#", "#"},
	{"a/b", "a/b", "a/b"},
	{"a/b", "a/c", NULL},
	{"a", "a/+", NULL},
	{"a/+/#", "a", NULL},
	{"a/+/#", "a/#", "a/+/#"},
	{"a/+", "+/b", "a/b"},
	{"+/+", "+/+", "+/+"},
	{"+", "a/b", NULL},
	{"+/#", "a", "a"},
	{"a/#", "a/b/#", "a/b/#"},
	{"x/+/+/#", "+/y/#", "x/y/+/#"},
	{"home/${username}/#", "home/alice/#", NULL},
};

START_TEST(test_intersect)
{
	const char *want = isect_rows[_i].want;
	char *out = (char *)"sentinel";
	int rc;

	rc = scope_filter_intersect(isect_rows[_i].a, isect_rows[_i].b, &out);
	ck_assert_int_eq(rc, want != NULL);
	if (want)
		ck_assert_str_eq(out, want);
	else
		ck_assert_ptr_null(out);
	free(out);
	rc = scope_filter_intersect(isect_rows[_i].b, isect_rows[_i].a, &out);
	ck_assert_int_eq(rc, want != NULL);
	if (want)
		ck_assert_str_eq(out, want);
	else
		ck_assert_ptr_null(out);
	free(out);
}
END_TEST

START_TEST(test_intersect_too_long)
{
	char *a = repeat('x', 40002), *b = repeat('y', 40002), *out;

	/* "xxx.../+" ^ "+/yyy..." would need an 80001-byte filter: none, fail closed */
	memcpy(a + 40000, "/+", 2);
	memcpy(b, "+/", 2);
	ck_assert_int_eq(scope_filter_valid(a), 1);
	ck_assert_int_eq(scope_filter_valid(b), 1);
	ck_assert_int_eq(scope_filter_intersect(a, b, &out), 0);
	ck_assert_ptr_null(out);
	free(a);
	free(b);
}
END_TEST

/* ---- tokens ---- */

static const struct {
	const char *tok;
	int valid;
	enum scope_action act;
	const char *filter;
} tok_rows[] = {
	{"mqtt:pub:a/b", 1, SCOPE_PUB, "a/b"},
	{"mqtt:sub:#", 1, SCOPE_SUB, "#"},
	{"mqtt:pubsub:+/x", 1, SCOPE_PUBSUB, "+/x"},
	{"mqtt:sub:$SYS/#", 1, SCOPE_SUB, "$SYS/#"},
	{"mqtt:sub:a:b", 1, SCOPE_SUB, "a:b"},
	{"openid", 1, SCOPE_NONE, NULL},
	{"introspect", 1, SCOPE_NONE, NULL},
	{"MQTT:pub:a", 1, SCOPE_NONE, NULL},	/* a plain token, granted only verbatim */
	{"mqtt", 1, SCOPE_NONE, NULL},
	{"mqtt:pub:", 0, SCOPE_NONE, NULL},
	{"mqtt:pub", 0, SCOPE_NONE, NULL},
	{"mqtt:", 0, SCOPE_NONE, NULL},
	{"mqtt:foo:a", 0, SCOPE_NONE, NULL},
	{"mqtt:pub:a+", 0, SCOPE_NONE, NULL},
	{"mqtt:sub:a/#/b", 0, SCOPE_NONE, NULL},
	/* placeholders a broker fills from the CONNECT packet (EMQX 5 ${...}, EMQX 4 and
	 * mosquitto's acl_file %u %c): never in a granted filter (docs/security.md row 69) */
	{"mqtt:sub:home/${username}/#", 0, SCOPE_NONE, NULL},
	{"mqtt:sub:home/%u/#", 0, SCOPE_NONE, NULL},
	{"mqtt:pub:dev/%c", 0, SCOPE_NONE, NULL},
	{"mqtt:pubsub:a%20b", 0, SCOPE_NONE, NULL},
	{"mqtt:sub:%", 0, SCOPE_NONE, NULL},
	{"50%", 1, SCOPE_NONE, NULL},	/* a plain token: no broker fills it */
	{"mqtt:sub:caf\xc3\xa9", 0, SCOPE_NONE, NULL},	/* RFC 6749 scope tokens are ASCII */
	{"caf\xc3\xa9", 0, SCOPE_NONE, NULL},
	{"a b", 0, SCOPE_NONE, NULL},
	{"a\"b", 0, SCOPE_NONE, NULL},
	{"a\\b", 0, SCOPE_NONE, NULL},
	{"a\tb", 0, SCOPE_NONE, NULL},
	{"", 0, SCOPE_NONE, NULL},
};

START_TEST(test_tokens)
{
	const char *f = "sentinel";

	ck_assert_msg(scope_token_valid(tok_rows[_i].tok) == tok_rows[_i].valid, "'%s'",
		      tok_rows[_i].tok);
	ck_assert_int_eq(scope_token_parse(tok_rows[_i].tok, &f), tok_rows[_i].act);
	if (tok_rows[_i].filter)
		ck_assert_str_eq(f, tok_rows[_i].filter);
	else
		ck_assert_ptr_null(f);
}
END_TEST

START_TEST(test_tokens_null)
{
	const char *f = "sentinel";

	ck_assert_int_eq(scope_token_valid(NULL), 0);
	ck_assert_int_eq(scope_token_parse(NULL, &f), SCOPE_NONE);
	ck_assert_ptr_null(f);
}
END_TEST

static const struct {
	const char *s, *bad;	/* bad NULL: well formed */
} allowed_rows[] = {
	{"openid mqtt:sub:home/${username}/# mqtt:pub:dev/${clientid}/up", NULL},
	{"mqtt:pubsub:${clientid}", NULL},
	{"", NULL},
	{"  openid  scim ", NULL},
	{"openid mqtt:sub:a/${username}x/#", "mqtt:sub:a/${username}x/#"},
	{"mqtt:sub:${clientid}${username}", "mqtt:sub:${clientid}${username}"},
	{"mqtt:sub:a+ openid", "mqtt:sub:a+"},
	{"openid mqtt:bad:x", "mqtt:bad:x"},
	{"openid a\\b", "a\\b"},
	{"openid mqtt:sub:home/%u/#", "mqtt:sub:home/%u/#"},
	{"mqtt:pub:dev/${clientid}/%c", "mqtt:pub:dev/${clientid}/%c"},
};

START_TEST(test_allowed_valid)
{
	char *bad = (char *)"sentinel";
	const char *want = allowed_rows[_i].bad;

	ck_assert_int_eq(scope_allowed_valid(allowed_rows[_i].s, &bad), want == NULL);
	if (want)
		ck_assert_str_eq(bad, want);
	else
		ck_assert_ptr_null(bad);
	free(bad);
	ck_assert_int_eq(scope_allowed_valid(allowed_rows[_i].s, NULL), want == NULL);
}
END_TEST

/* ---- grant ---- */

static const struct {
	const char *req, *allowed, *clientid, *username;
	ts_err err;
	const char *out;	/* the granted scope on TS_OK, else the expected *bad or NULL */
} grant_rows[] = {
	/* nothing requested: everything allowed, placeholders filled */
	{NULL, "openid mqtt:sub:home/${username}/# mqtt:pub:dev/${clientid}/up", "d1", "alice",
	 TS_OK, "openid mqtt:sub:home/alice/# mqtt:pub:dev/d1/up"},
	{"", "openid mqtt:pubsub:${clientid}/#", "d1", NULL, TS_OK, "openid mqtt:pubsub:d1/#"},
	{"   ", "scim", NULL, NULL, TS_OK, "scim"},
	{NULL, "", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{NULL, NULL, NULL, NULL, TS_INVALID_SCOPE, NULL},
	/* narrowing */
	{"mqtt:sub:#", "mqtt:sub:home/${username}/#", NULL, "alice", TS_OK, "mqtt:sub:home/alice/#"},
	{"mqtt:sub:a/+/c", "mqtt:sub:+/b/#", NULL, NULL, TS_OK, "mqtt:sub:a/b/c"},
	{"mqtt:pubsub:dev/#", "mqtt:pub:dev/+/up mqtt:sub:dev/+/down", NULL, NULL, TS_OK,
	 "mqtt:pub:dev/+/up mqtt:sub:dev/+/down"},
	{"mqtt:pubsub:a/#", "mqtt:pubsub:#", NULL, NULL, TS_OK, "mqtt:pubsub:a/#"},
	{"mqtt:pub:a/b", "mqtt:pubsub:a/#", NULL, NULL, TS_OK, "mqtt:pub:a/b"},
	{"mqtt:sub:a/b", "mqtt:pubsub:a/#", NULL, NULL, TS_OK, "mqtt:sub:a/b"},
	{"mqtt:pub:a", "mqtt:sub:#", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{"mqtt:sub:a/b", "mqtt:sub:a/c", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{"mqtt:sub:#", "mqtt:sub:$SYS/#", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{"mqtt:sub:$SYS/broker/+", "mqtt:sub:$SYS/#", NULL, NULL, TS_OK, "mqtt:sub:$SYS/broker/+"},
	{"mqtt:sub:a mqtt:pub:b", "mqtt:sub:# mqtt:sub:b", NULL, NULL, TS_OK, "mqtt:sub:a"},
	/* requested tokens are never substituted: one holding a placeholder is malformed */
	{"mqtt:sub:home/${username}/#", "mqtt:sub:home/${username}/#", NULL, "alice",
	 TS_INVALID_SCOPE, "mqtt:sub:home/${username}/#"},
	/* malformed requested tokens */
	{"openid mqtt:sub:a/#/b", "openid mqtt:sub:#", NULL, NULL, TS_INVALID_SCOPE, "mqtt:sub:a/#/b"},
	{"mqtt:pub:a+", "mqtt:pub:#", NULL, NULL, TS_INVALID_SCOPE, "mqtt:pub:a+"},
	{"mqtt:foo:x openid", "openid", NULL, NULL, TS_INVALID_SCOPE, "mqtt:foo:x"},
	{"mqtt:sub:", "mqtt:sub:#", NULL, NULL, TS_INVALID_SCOPE, "mqtt:sub:"},
	{"openid a\\b", "openid", NULL, NULL, TS_INVALID_SCOPE, "a\\b"},
	{"caf\xc3\xa9", "openid", NULL, NULL, TS_INVALID_SCOPE, "caf\xc3\xa9"},
	{"openid\tscim", "openid scim", NULL, NULL, TS_INVALID_SCOPE, "openid\tscim"},
	/* placeholder values that are never substituted: the token is dropped */
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "a/b", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "+", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "#", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "$x", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:${username}/#", NULL, "$SYS", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:${username}", NULL, "#", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:a/${username}", NULL, "+", TS_OK, "openid"},
	{NULL, "openid mqtt:pubsub:a/${clientid}", "#", NULL, TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, NULL, TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "a b", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "j\xc3\xbcrgen", TS_OK, "openid"},
	{NULL, "openid mqtt:pub:dev/${clientid}", "a+b", "bob", TS_OK, "openid"},
	{NULL, "mqtt:sub:home/${username}/#", NULL, "a/b", TS_INVALID_SCOPE, NULL},
	{"mqtt:sub:#", "mqtt:sub:home/${username}/#", NULL, "#", TS_INVALID_SCOPE, NULL},
	/* a partial placeholder is no placeholder: dropped; a value is not expanded again */
	{NULL, "openid mqtt:sub:a${username}/#", NULL, "bob", TS_OK, "openid"},
	{NULL, "mqtt:sub:home/${username}/#", NULL, "x${clientid}", TS_INVALID_SCOPE, NULL},
	{NULL, "mqtt:sub:${clientid}/${username}/${clientid}", "c", "u", TS_OK, "mqtt:sub:c/u/c"},
	{NULL, "mqtt:sub:a/${clientid}", "d$1", NULL, TS_OK, "mqtt:sub:a/d$1"},
	/* values EMQX 4 would expand again (%u, %c), or any '%': dropped (docs/security.md row 69) */
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "%u", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "%c", TS_OK, "openid"},
	{NULL, "openid mqtt:sub:home/${username}/#", NULL, "50%off", TS_OK, "openid"},
	{NULL, "openid mqtt:pub:dev/${clientid}", "d%u", NULL, TS_OK, "openid"},
	{"mqtt:sub:home/#", "mqtt:sub:home/${username}/#", NULL, "%u", TS_INVALID_SCOPE, NULL},
	{NULL, "mqtt:sub:home/${username}/#", NULL, "${clientid}", TS_INVALID_SCOPE, NULL},
	/* malformed allowed tokens are dropped */
	{NULL, "mqtt:sub:a+ openid mqtt:bad:x", NULL, NULL, TS_OK, "openid"},
	/* plain tokens only verbatim */
	{"openid profile scim", "openid scim", NULL, NULL, TS_OK, "openid scim"},
	{"scim", "mqtt:sub:#", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{"MQTT:sub:a", "mqtt:sub:#", NULL, NULL, TS_INVALID_SCOPE, NULL},
	{"mqtt:sub:a", "MQTT:sub:a", NULL, NULL, TS_INVALID_SCOPE, NULL},
	/* duplicates and covered results collapse */
	{"mqtt:sub:a/b mqtt:sub:a/b openid openid", "openid mqtt:sub:#", NULL, NULL, TS_OK,
	 "mqtt:sub:a/b openid"},
	{"mqtt:sub:a/b mqtt:sub:a/#", "mqtt:sub:#", NULL, NULL, TS_OK, "mqtt:sub:a/#"},
	{"mqtt:sub:a/# mqtt:sub:a/b", "mqtt:sub:#", NULL, NULL, TS_OK, "mqtt:sub:a/#"},
	{"mqtt:sub:#", "mqtt:sub:a/# mqtt:sub:a/b mqtt:sub:c", NULL, NULL, TS_OK,
	 "mqtt:sub:a/# mqtt:sub:c"},
	{"mqtt:sub:#", "mqtt:sub:# mqtt:sub:+/#", NULL, NULL, TS_OK, "mqtt:sub:#"},
	{"mqtt:pubsub:#", "mqtt:pub:a/b mqtt:pubsub:a/#", NULL, NULL, TS_OK, "mqtt:pubsub:a/#"},
	{"mqtt:pubsub:#", "mqtt:pubsub:a/# mqtt:pub:a/b", NULL, NULL, TS_OK, "mqtt:pubsub:a/#"},
	{"mqtt:pubsub:#", "mqtt:pub:# mqtt:pubsub:a/#", NULL, NULL, TS_OK,
	 "mqtt:pub:# mqtt:pubsub:a/#"},
	{NULL, "openid openid mqtt:sub:a mqtt:sub:a", NULL, NULL, TS_OK, "openid mqtt:sub:a"},
	{NULL, "mqtt:sub:${clientid}/x mqtt:sub:d1/+", "d1", NULL, TS_OK, "mqtt:sub:d1/+"},
	/* order: requested tokens, then allowed for each */
	{"mqtt:sub:x/# openid mqtt:pub:#", "mqtt:pub:p/2 openid mqtt:sub:# mqtt:pub:p/1", NULL, NULL,
	 TS_OK, "mqtt:sub:x/# openid mqtt:pub:p/2 mqtt:pub:p/1"},
	{"  openid   mqtt:sub:a ", "mqtt:sub:# openid", NULL, NULL, TS_OK, "openid mqtt:sub:a"},
};

START_TEST(test_grant)
{
	char *granted = (char *)"sentinel", *bad = (char *)"sentinel";
	ts_err err;

	err = scope_grant(grant_rows[_i].req, grant_rows[_i].allowed, grant_rows[_i].clientid,
			  grant_rows[_i].username, &granted, &bad);
	ck_assert_msg(err == grant_rows[_i].err, "'%s' vs '%s': err %d", S(grant_rows[_i].req),
		      S(grant_rows[_i].allowed), (int)err);
	if (err == TS_OK) {
		ck_assert_str_eq(granted, grant_rows[_i].out);
		ck_assert_ptr_null(bad);
	} else {
		ck_assert_ptr_null(granted);
		if (grant_rows[_i].out)
			ck_assert_str_eq(bad, grant_rows[_i].out);
		else
			ck_assert_ptr_null(bad);
	}
	free(granted);
	free(bad);
	/* bad may be NULL */
	err = scope_grant(grant_rows[_i].req, grant_rows[_i].allowed, grant_rows[_i].clientid,
			  grant_rows[_i].username, &granted, NULL);
	ck_assert_int_eq(err, grant_rows[_i].err);
	free(granted);
}
END_TEST

START_TEST(test_grant_limits)
{
	char *req = malloc(300 * 20), *granted, *bad;
	size_t n = 0;
	int k;

	ck_assert_ptr_nonnull(req);
	for (k = 0; k < 256; k++)
		n += (size_t)sprintf(req + n, "%smqtt:sub:%d", k ? " " : "", k);
	ck_assert_int_eq(scope_grant(req, "mqtt:sub:#", NULL, NULL, &granted, &bad), TS_OK);
	ck_assert_str_eq(granted, req);
	free(granted);
	/* everything allowed: 256 results is the most */
	ck_assert_int_eq(scope_grant(NULL, req, NULL, NULL, &granted, &bad), TS_OK);
	ck_assert_str_eq(granted, req);
	free(granted);
	sprintf(req + n, " mqtt:sub:x");
	ck_assert_int_eq(scope_grant(NULL, req, NULL, NULL, &granted, &bad), TS_INVALID_SCOPE);
	/* 257 requested tokens, even if they grant little */
	for (k = 0, n = 0; k < 257; k++)
		n += (size_t)sprintf(req + n, "%sopenid", k ? " " : "");
	ck_assert_int_eq(scope_grant(req, "openid", NULL, NULL, &granted, &bad), TS_INVALID_SCOPE);
	ck_assert_ptr_null(bad);
	req[n - 7] = '\0';
	ck_assert_int_eq(scope_grant(req, "openid", NULL, NULL, &granted, &bad), TS_OK);
	ck_assert_str_eq(granted, "openid");
	free(granted);
	for (k = 0, n = 0; k < 257; k++)
		n += (size_t)sprintf(req + n, "%smqtt:sub:%d", k ? " " : "", k);
	ck_assert_int_eq(scope_grant(req, "mqtt:sub:#", NULL, NULL, &granted, &bad),
			 TS_INVALID_SCOPE);
	ck_assert_ptr_null(granted);
	ck_assert_ptr_null(bad);
	/* 200 requested tokens giving 400 results */
	for (k = 0, n = 0; k < 200; k++)
		n += (size_t)sprintf(req + n, "%smqtt:pubsub:%d", k ? " " : "", k);
	ck_assert_int_eq(scope_grant(req, "mqtt:pub:# mqtt:sub:#", NULL, NULL, &granted, &bad),
			 TS_INVALID_SCOPE);
	ck_assert_ptr_null(bad);
	ck_assert_int_eq(scope_grant(req, "mqtt:pubsub:# mqtt:sub:#", NULL, NULL, &granted, &bad),
			 TS_OK);
	ck_assert_str_eq(granted, req);
	free(granted);
	free(req);
}
END_TEST

START_TEST(test_grant_long_filter)
{
	char *f = repeat('a', 65535 + 9), *granted, *bad;

	memcpy(f, "mqtt:sub:", 9);
	ck_assert_int_eq(scope_grant(f, "mqtt:sub:#", NULL, NULL, &granted, &bad), TS_OK);
	ck_assert_int_eq(strcmp(granted, f), 0);
	free(granted);
	ck_assert_int_eq(scope_grant(NULL, f, NULL, NULL, &granted, &bad), TS_OK);
	ck_assert_int_eq(strcmp(granted, f), 0);
	free(granted);
	/* a placeholder value that makes the filter too long drops the token */
	memcpy(f + 9, "${username}/", 12);
	ck_assert_int_eq(scope_grant(NULL, f, NULL, "uuuuuuuuuuuu", &granted, &bad),
			 TS_INVALID_SCOPE);
	ck_assert_int_eq(scope_grant(NULL, f, NULL, "uuuuuuuuuuu", &granted, &bad), TS_OK);
	ck_assert_int_eq(strlen(granted), 9 + 65535);
	ck_assert_int_eq(memcmp(granted + 9, "uuuuuuuuuuu/aaa", 15), 0);
	free(granted);
	free(f);
}
END_TEST

/* ---- subset ---- */

static const struct {
	const char *sub, *super;
	int want;
} subset_rows[] = {
	{"openid mqtt:sub:a/b", "mqtt:sub:a/# openid", 1},
	{"mqtt:sub:a/b", "mqtt:sub:a/b", 1},
	{"mqtt:pub:a", "mqtt:sub:#", 0},
	{"mqtt:pub:a", "mqtt:pubsub:#", 1},
	{"mqtt:pubsub:a", "mqtt:pub:a mqtt:sub:#", 1},
	{"mqtt:pubsub:a", "mqtt:pub:a", 0},
	{"mqtt:pubsub:a", "mqtt:pubsub:a", 1},
	{"", "openid", 1},
	{NULL, "openid", 1},
	{"  ", NULL, 1},
	{"openid", NULL, 0},
	{"openid", "", 0},
	{"scim", "openid", 0},
	{"scim openid", "openid scim", 1},
	{"mqtt:sub:#", "mqtt:sub:a/#", 0},
	{"mqtt:sub:#", "mqtt:sub:+/#", 1},
	{"mqtt:sub:$SYS/x", "mqtt:sub:#", 0},
	{"mqtt:sub:a+", "mqtt:sub:a+", 0},
	{"mqtt:sub:a", "mqtt:sub:a+ mqtt:sub:a/#/b", 0},
	{"mqtt:sub:a/b", "mqtt:sub:a/#/b", 0},
	{"mqtt:sub:a", "openid mqtt:sub:a/#", 1},
	{"mqtt:sub:a/b mqtt:sub:c", "mqtt:sub:a/#", 0},
};

START_TEST(test_subset)
{
	ck_assert_msg(scope_subset(subset_rows[_i].sub, subset_rows[_i].super) == subset_rows[_i].want,
		      "'%s' in '%s'", S(subset_rows[_i].sub), S(subset_rows[_i].super));
}
END_TEST

/* A placeholder never reaches a granted token: EMQX (and other brokers) fill ${username},
 * ${clientid}, ${peerhost} in from the CONNECT packet, so a filter holding one would let the client
 * choose its own topic levels (a username of "#" turning a/${username} into a/#). */
START_TEST(test_no_placeholder_granted)
{
	char *granted = NULL, *bad = NULL;

	/* requested literally, against a right that would otherwise cover it */
	ck_assert_int_eq(scope_grant("mqtt:pub:a/${username}", "mqtt:pub:a/+", NULL, NULL, &granted,
	                             &bad), TS_INVALID_SCOPE);
	ck_assert_ptr_null(granted);
	ck_assert_str_eq(bad, "mqtt:pub:a/${username}");
	free(bad);
	bad = NULL;
	ck_assert_int_eq(scope_grant("mqtt:sub:x${peerhost}y/#", "mqtt:sub:#", NULL, NULL, &granted,
	                             &bad), TS_INVALID_SCOPE);
	free(bad);
	bad = NULL;
	/* a value holding one is not substituted: that allowed token is dropped */
	ck_assert_int_eq(scope_grant(NULL, "mqtt:pub:home/${username}/# mqtt:sub:cmd", "c",
	                             "x${username}", &granted, &bad), TS_OK);
	ck_assert_str_eq(granted, "mqtt:sub:cmd");
	free(granted);
	granted = NULL;
	ck_assert_int_eq(scope_grant(NULL, "mqtt:pub:d/${clientid}", "${clientid}", NULL, &granted,
	                             &bad), TS_INVALID_SCOPE);
	ck_assert_ptr_null(bad);
	/* an admin's allowed scope may hold the two placeholders Tessera fills, no other */
	ck_assert(scope_allowed_valid("mqtt:pub:a/${username}/${clientid}/#", NULL));
	ck_assert(!scope_allowed_valid("mqtt:pub:a/${peerhost}", &bad));
	ck_assert_str_eq(bad, "mqtt:pub:a/${peerhost}");
	free(bad);
	ck_assert(!scope_token_valid("mqtt:sub:${username}"));
	ck_assert(scope_token_valid("mqtt:sub:$SYS/x"));
	ck_assert(scope_token_valid("mqtt:sub:a{b}"));
}
END_TEST

/* Issue 19 item 12: the most a request may ask for and a grant may hold. */
START_TEST(test_within_limits)
{
	char buf[2048];
	int i;

	ck_assert(scope_within_limits(NULL));
	ck_assert(scope_within_limits(""));
	ck_assert(scope_within_limits("openid mqtt:sub:a/#"));
	/* 32 tokens, not 33 (spaces around them do not count as tokens) */
	buf[0] = '\0';
	for (i = 0; i < 32; i++)
		strcat(buf, "  s");
	ck_assert(scope_within_limits(buf));
	strcat(buf, " s");
	ck_assert(!scope_within_limits(buf));
	/* 1024 bytes, not 1025 */
	memset(buf, 'a', 1024);
	buf[1024] = '\0';
	ck_assert(scope_within_limits(buf));
	buf[1024] = 'a';
	buf[1025] = '\0';
	ck_assert(!scope_within_limits(buf));
}
END_TEST

static Suite *scope_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_valid, 0, N(valid_rows));
	tcase_add_test(tc, test_valid_length);
	tcase_add_loop_test(tc, test_covers, 0, N(cover_rows));
	tcase_add_loop_test(tc, test_intersect, 0, N(isect_rows));
	tcase_add_test(tc, test_intersect_too_long);
	tcase_add_loop_test(tc, test_tokens, 0, N(tok_rows));
	tcase_add_test(tc, test_tokens_null);
	tcase_add_loop_test(tc, test_allowed_valid, 0, N(allowed_rows));
	tcase_add_loop_test(tc, test_grant, 0, N(grant_rows));
	tcase_add_test(tc, test_grant_limits);
	tcase_add_test(tc, test_grant_long_filter);
	tcase_add_test(tc, test_no_placeholder_granted);
	tcase_add_test(tc, test_within_limits);
	tcase_add_loop_test(tc, test_subset, 0, N(subset_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scope_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
