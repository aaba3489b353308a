/* fuzz_scope.c - libFuzzer target for scope strings and MQTT topic filters (lib/common/scope.h, the
 * broker's lib/common/acl.h) and the ${username} / ${clientid} substitution of scope_grant.
 * The input is up to four lines: A, B, a username, a client id.
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - matching agrees with a plain reference matcher written from MQTT 5 §4.7 (levels split at
 *   '/', '+' one level, '#' the rest including the parent, no first-level wildcard on '$'):
 *   scope_topic_matches(F, T) for every valid filter F among A, B and their intersection and
 *   every valid topic T among A, B and topics made from the filters (wildcards filled in);
 * - scope_filter_covers(O, I): every such topic that I matches, O matches;
 * - scope_filter_intersect(A, B): a valid filter that matches exactly the topics A and B both
 *   match (on every such topic), covered by both; "none" only when no topic matches both; the
 *   same set both ways round;
 * - scope_grant(A, B, clientid, username): every granted token is valid (an mqtt one holds no
 *   "${": plain tokens are granted verbatim and mean nothing to a broker), is
 *   within what was asked (scope_subset; no token asked means all allowed) and within B with its placeholders filled by a
 *   reference substitution (a value that is empty, holds '/', '+' or '#' or starts with '$'
 *   drops the token), so a username never widens a scope (docs/security.md row 38);
 * - an allowed scope that scope_allowed_valid accepts is valid tokens once filled in;
 * - acl_parse of the granted scope (and of A): publish and receive rights agree with the
 *   reference matcher over the tokens' filters. */
#include "acl.h"
#include "scope.h"
#include "fuzz.h"

#define MAX_TOPICS 40

struct lv {			/* the levels of a filter or topic */
	const char **p;
	size_t *n, count;
};

static void split_levels(const char *s, struct lv *l)
{
	size_t cap = 1, i = 0;
	const char *q;

	for (q = s; *q; q++)
		cap += *q == '/';
	l->p = malloc(cap * sizeof *l->p);
	l->n = malloc(cap * sizeof *l->n);
	if (!l->p || !l->n)
		abort();
	for (;;) {
		q = strchr(s, '/');
		l->p[i] = s;
		l->n[i++] = q ? (size_t)(q - s) : strlen(s);
		if (!q)
			break;
		s = q + 1;
	}
	l->count = i;
}

static int is_level(const struct lv *l, size_t i, const char *w)
{
	return l->n[i] == strlen(w) && memcmp(l->p[i], w, l->n[i]) == 0;
}

/* The reference: does the valid filter f match the valid topic name t? */
static int ref_match(const char *f, const char *t)
{
	struct lv fl, tl;
	size_t i;
	int m = -1;

	split_levels(f, &fl);
	split_levels(t, &tl);
	if (t[0] == '$' && (is_level(&fl, 0, "+") || is_level(&fl, 0, "#")))
		m = 0;
	for (i = 0; m < 0; i++) {
		if (i == fl.count)
			m = i == tl.count;
		else if (is_level(&fl, i, "#"))
			m = 1;
		else if (i == tl.count)
			m = 0;
		else if (!is_level(&fl, i, "+") &&
		         (fl.n[i] != tl.n[i] || memcmp(fl.p[i], tl.p[i], fl.n[i]) != 0))
			m = 0;
	}
	free(fl.p);
	free(fl.n);
	free(tl.p);
	free(tl.n);
	return m;
}

struct topics {
	char *t[MAX_TOPICS];
	size_t n;
};

static void add_topic(struct topics *ts, char *t)
{
	if (ts->n < MAX_TOPICS && scope_topic_valid(t))
		ts->t[ts->n++] = t;
	else
		free(t);
}

/* Topics that filter f matches (or nearly): each '+' filled with `plus`, a final '#' dropped or
 * filled with `hash`. Both may be "" (an empty level). */
static void add_filled(struct topics *ts, const char *f, const char *plus, const char *hash)
{
	struct lv l;
	size_t i, cap = strlen(f) + 1;
	char *t, *p;

	split_levels(f, &l);
	for (i = 0; i < l.count; i++)
		cap += strlen(plus) + strlen(hash) + 1;
	if (!(p = t = malloc(cap)))
		abort();
	for (i = 0; i < l.count; i++) {
		const char *v = l.p[i];
		size_t n = l.n[i];

		if (is_level(&l, i, "+")) {
			v = plus;
			n = strlen(plus);
		} else if (is_level(&l, i, "#")) {
			if (!*hash) {		/* dropped, with its '/' */
				if (p > t)
					p--;
				break;
			}
			v = hash;
			n = strlen(hash);
		}
		if (i)
			*p++ = '/';
		memcpy(p, v, n);
		p += n;
	}
	*p = '\0';
	free(l.p);
	free(l.n);
	add_topic(ts, t);
}

static char *dup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void topics_from(struct topics *ts, const char *f)
{
	if (!scope_filter_valid(f))
		return;
	add_filled(ts, f, "x", "");
	add_filled(ts, f, "", "x/y");
	add_filled(ts, f, "$x", "z");
	add_filled(ts, f, "a", "a/b/c");
}

static void topics_free(struct topics *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->t[i]);
}

static void check_matches(const char *f, const struct topics *ts, const char *in)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (scope_topic_matches(f, ts->t[i]) != ref_match(f, ts->t[i]))
			fuzz_fail("scope_topic_matches disagrees with the reference", in, ts->t[i]);
}

static void check_filters(const char *a, const char *b, struct topics *ts, const char *in)
{
	char *ab = NULL, *ba = NULL;
	int rab = scope_filter_intersect(a, b, &ab), rba = scope_filter_intersect(b, a, &ba);
	size_t i;

	if (rab < 0 || rba < 0)
		goto out; /* out of memory */
	if (rab != rba)
		fuzz_fail("the intersection is empty one way round only", in, ab ? ab : ba);
	if (rab) {
		if (!scope_filter_valid(ab) || !scope_filter_valid(ba))
			fuzz_fail("an intersection that is not a valid filter", in, ab);
		if (!scope_filter_covers(a, ab) || !scope_filter_covers(b, ab) ||
		    !scope_filter_covers(ab, ba) || !scope_filter_covers(ba, ab))
			fuzz_fail("an intersection not covered by both filters, or not symmetric", in, ab);
		topics_from(ts, ab);
		check_matches(ab, ts, in);
	}
	for (i = 0; i < ts->n; i++) {
		const char *t = ts->t[i];
		int both = ref_match(a, t) && ref_match(b, t);

		if (both != (rab && ref_match(ab, t)))
			fuzz_fail("the intersection does not match exactly what both match", in, t);
		if (scope_filter_covers(a, b) && ref_match(b, t) && !ref_match(a, t))
			fuzz_fail("scope_filter_covers(A, B) but a topic of B is not one of A", in, t);
		if (scope_filter_covers(b, a) && ref_match(a, t) && !ref_match(b, t))
			fuzz_fail("scope_filter_covers(B, A) but a topic of A is not one of B", in, t);
	}
out:
	free(ab);
	free(ba);
}

/* The reference substitution of an allowed scope: each mqtt token's whole-level placeholders
 * filled, the token dropped when a value may not fill a level. Malloc'd. */
static char *ref_subst(const char *allowed, const char *clientid, const char *username)
{
	size_t cap = strlen(allowed) * (strlen(clientid) + strlen(username) + 2) + 2;
	char *out = malloc(cap), *copy = dup(allowed), *tok, *save, *p = out;

	if (!out)
		abort();
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *start = p, *lvl, *lsave, *filt;
		int drop = 0;

		if (p > out)
			*p++ = ' ';
		if (strncmp(tok, "mqtt:", 5) != 0 || !(filt = strchr(tok + 5, ':'))) {
			p = stpcpy(p, tok);
			continue;
		}
		filt++;
		memcpy(p, tok, (size_t)(filt - tok));
		p += filt - tok;
		/* levels, empty ones included */
		for (lvl = filt; lvl; lvl = lsave) {
			const char *v = lvl;

			lsave = strchr(lvl, '/');
			if (lsave)
				*lsave++ = '\0';
			if (strcmp(lvl, "${clientid}") == 0)
				v = clientid;
			else if (strcmp(lvl, "${username}") == 0)
				v = username;
			if (v != lvl && (!*v || *v == '$' || strpbrk(v, "/+#")))
				drop = 1;
			p = stpcpy(p, v);
			if (lsave)
				*p++ = '/';
		}
		if (drop)
			p = start;
	}
	*p = '\0';
	free(copy);
	return out;
}

/* The reference of acl rights: some valid token of scope with action bit act matches topic. */
static int ref_acl(const char *scope, int act, const char *topic)
{
	char *copy = dup(scope), *tok, *save;
	const char *f;
	int ok = 0;

	for (tok = strtok_r(copy, " ", &save); tok && !ok; tok = strtok_r(NULL, " ", &save))
		ok = (scope_token_parse(tok, &f) & act) && ref_match(f, topic);
	free(copy);
	return ok;
}

static void check_acl(const char *scope, const struct topics *ts, const char *in)
{
	struct acl *a;
	size_t i;

	if (acl_parse(scope, &a) != TS_OK)
		return; /* out of memory */
	for (i = 0; i < ts->n; i++) {
		if (acl_may_publish(a, ts->t[i]) != ref_acl(scope, SCOPE_PUB, ts->t[i]) ||
		    acl_may_receive(a, ts->t[i]) != ref_acl(scope, SCOPE_SUB, ts->t[i]))
			fuzz_fail("acl rights disagree with the reference", in, ts->t[i]);
	}
	acl_free(a);
}

/* Topics from every mqtt token's filter of a scope string. */
static void topics_of_scope(struct topics *ts, const char *scope)
{
	char *copy = dup(scope), *tok, *save;
	const char *f;

	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (scope_token_parse(tok, &f) != SCOPE_NONE)
			topics_from(ts, f);
	free(copy);
}

static void check_grant(const char *req, const char *allowed, const char *clientid,
                        const char *username, const char *in)
{
	char *granted = NULL, *bad = NULL, *ref = NULL, *copy, *tok, *save;
	struct topics ts = {0};
	ts_err e = scope_grant(req, allowed, clientid, username, &granted, &bad);

	if (e == TS_SERVER_ERROR)
		goto out;
	if (e != TS_OK) {
		if (e != TS_INVALID_SCOPE || granted)
			fuzz_fail("scope_grant fails with another error, or a result", in, err_name(e));
		goto out;
	}
	if (!granted || !*granted || bad)
		fuzz_fail("scope_grant succeeds without a result, or with a bad token", in, bad);
	copy = dup(granted);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!scope_token_valid(tok) || (!strncmp(tok, "mqtt:", 5) && strstr(tok, "${")))
			fuzz_fail("a granted token is not valid, or an mqtt one holds \"${\"", in, tok);
	free(copy);
	if (req[strspn(req, " ")] && !scope_subset(granted, req)) /* only spaces: none asked */
		fuzz_fail("granted more than requested", in, granted);
	ref = ref_subst(allowed, clientid, username);
	if (!scope_subset(granted, ref))
		fuzz_fail("granted more than allowed with placeholders filled", in, granted);
	topics_of_scope(&ts, granted);
	topics_of_scope(&ts, ref);
	check_acl(granted, &ts, in);
	topics_free(&ts);
out:
	free(granted);
	free(bad);
	free(ref);
}

/* An allowed scope that scope_allowed_valid accepts is all valid tokens once filled in. */
static void check_allowed(const char *allowed, const char *in)
{
	char *filled, *tok, *save;

	if (!scope_allowed_valid(allowed, NULL))
		return;
	filled = ref_subst(allowed, "c1", "u1");
	for (tok = strtok_r(filled, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!scope_token_valid(tok))
			fuzz_fail("an allowed scope accepted that is not valid once filled in", in, tok);
	free(filled);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *copy = fuzz_text(data, size), *part[4];
	struct topics ts = {0};
	const char *a, *b;

	fuzz_split(copy, part, 4);
	a = part[0];
	b = part[1];
	ts.t[ts.n++] = dup("a/b");
	add_topic(&ts, dup(a));
	add_topic(&ts, dup(b));
	topics_from(&ts, a);
	topics_from(&ts, b);
	if (scope_filter_valid(a))
		check_matches(a, &ts, in);
	if (scope_filter_valid(b))
		check_matches(b, &ts, in);
	if (scope_filter_valid(a) && scope_filter_valid(b))
		check_filters(a, b, &ts, in);
	if (scope_filter_valid(a) && !scope_filter_covers(a, a))
		fuzz_fail("a filter does not cover itself", in, a);
	check_acl(a, &ts, in);
	check_grant(a, b, part[3], part[2], in);
	check_allowed(b, in);
	topics_free(&ts);
	free(copy);
	free(in);
	return 0;
}
