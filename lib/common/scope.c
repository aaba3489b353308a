/* scope.c - OAuth scope strings and the MQTT topic filters they carry.
 *
 * Filters are walked level by level ('/'-separated) with plain loops, never recursion, so a
 * 65535-byte filter of empty levels costs one pass. scope_grant works in one arena per call: the
 * requested tokens, the allowed tokens with placeholders filled and the results all live in it as
 * NUL-terminated strings addressed by offset, so a call makes a handful of allocations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "scope.h"

#define FILTER_MAX 65535
/* Most tokens in a request, and most tokens granted: keeps the pairwise de-duplication cheap on
 * the token hot path whatever a client sends. More is TS_INVALID_SCOPE. */
#define TOKENS_MAX 256

struct buf {			/* the arena */
	char *p;
	size_t len, cap;
};

struct ent {			/* one token in the arena */
	size_t off;		/* its filter (mqtt) or the whole token (plain) */
	int act;		/* enum scope_action; SCOPE_NONE for a plain token */
};

struct list {
	struct ent *v;
	size_t n, cap;
};

/* The token prefix of each enum scope_action. */
static const char *const prefix[] = {"", "mqtt:pub:", "mqtt:sub:", "mqtt:pubsub:"};

static const char ph_clientid[] = "${clientid}", ph_username[] = "${username}";
#define PH_LEN 11

/* Length of the level that starts at s. */
static size_t level_len(const char *s)
{
	const char *p = s;

	while (*p && *p != '/')
		p++;
	return (size_t)(p - s);
}

/* 2 if the level at s is '#' and the last, 1 if it is '+', else 0 (a '#' that is not last is no
 * wildcard here, so an invalid filter matches less, never more). */
static int wild(const char *s)
{
	if (s[0] == '#' && !s[1])
		return 2;
	return s[0] == '+' && (!s[1] || s[1] == '/');
}

/* Byte length of the acceptable UTF-8 character at p, 0 if malformed or not allowed in a topic:
 * mosquitto's rules (no NUL, overlong form, surrogate, code point past U+10FFFF, noncharacter,
 * or C0/C1 control character). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned need = p[0] < 0x80 ? 0 : p[0] < 0xc2 ? 9 : p[0] < 0xe0 ? 1 : p[0] < 0xf0 ? 2 :
			p[0] < 0xf5 ? 3 : 9;
	unsigned cp = p[0] & (0x7fu >> need), k;	/* the lead byte's payload bits */

	if (need == 9)		/* continuation byte, C0, C1 or F5..FF */
		return 0;
	for (k = 1; k <= need; k++) {	/* stops at the NUL, which is no continuation byte */
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0xfdd0 && cp <= 0xfdef) ||
	    (cp & 0xfffe) == 0xfffe || cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))
		return 0;
	return need + 1;
}

static int filter_check(const char *s, int wild)
{
	const unsigned char *p = (const unsigned char *)s, *lvl = p;
	size_t n;

	if (!s || !*s)
		return 0;
	while (*p) {
		if (p - (const unsigned char *)s >= FILTER_MAX)
			return 0;
		if (*p == '/') {
			lvl = ++p;
		} else if (*p == '+' || *p == '#') {
			if (!wild || p != lvl || (p[1] && (*p == '#' || p[1] != '/')))
				return 0;
			p++;
		} else if (*p == ' ' || *p == '"' || *p == '\\') {
			return 0;
		} else {
			if (!(n = utf8_len(p)))
				return 0;
			p += n;
		}
	}
	return (p - (const unsigned char *)s) <= FILTER_MAX;
}

int scope_filter_valid(const char *s)
{
	return filter_check(s, 1);
}

int scope_topic_valid(const char *s)
{
	return filter_check(s, 0);
}

int scope_filter_covers(const char *outer, const char *inner)
{
	const char *o = outer, *i = inner;
	size_t ol, il;
	int first = 1;

	if (!o || !i || !*o || !*i)
		return 0;
	if (strcmp(o, "#") == 0 || strcmp(o, "+/#") == 0)	/* the same: all but $-topics */
		return i[0] != '$';
	if (strcmp(i, "/#") == 0)	/* it cannot match its parent: "" is no topic */
		i = "/+/#";
	for (;;) {
		ol = level_len(o);
		il = level_len(i);
		if (first && wild(o) && i[0] == '$')
			return 0;	/* MQTT 5 §4.7.2 */
		if (wild(o) == 2 || wild(i) == 2)
			return wild(o) == 2;
		if (wild(o) != 1 && (wild(i) || ol != il || memcmp(o, i, ol) != 0))
			return 0;
		o += ol;
		i += il;
		if (!*i)
			return !*o || strcmp(o + 1, "#") == 0;
		if (!*o)
			return 0;
		o++;
		i++;
		first = 0;
	}
}

/* A topic name is the filter that matches just itself. */
int scope_topic_matches(const char *filter, const char *topic)
{
	return topic && *topic && !strpbrk(topic, "+#") && scope_filter_covers(filter, topic);
}

/* The intersection of filters a and b written to dst (room for strlen(a) + strlen(b) + 1 bytes)
 * with its length in *n. 1 if not empty, else 0. */
static int isect(char *dst, const char *a, const char *b, size_t *n)
{
	const char *t;
	size_t al, bl, k = 0;
	int first = 1;

	for (;;) {
		if (wild(b) > wild(a)) {	/* a has the wider level */
			t = a;
			a = b;
			b = t;
		}
		al = level_len(a);
		bl = level_len(b);
		if (first && wild(a) && b[0] == '$')
			return 0;
		if (wild(a) == 2) {	/* the rest of b */
			bl = strlen(b);
		} else if (!wild(a) && (al != bl || memcmp(a, b, al) != 0)) {
			return 0;
		}
		memcpy(dst + k, b, bl);
		k += bl;
		a += al;
		b += bl;
		if (!*a || !*b) {	/* the other may only go on with "/#", matching no more levels */
			if ((*a && strcmp(a + 1, "#") != 0) || (*b && strcmp(b + 1, "#") != 0))
				return 0;
			break;
		}
		dst[k++] = '/';
		a++;
		b++;
		first = 0;
	}
	dst[k] = '\0';
	*n = k;
	return k > 0 && k <= FILTER_MAX;	/* longer: no valid filter can name it; fail closed */
}

int scope_filter_intersect(const char *a, const char *b, char **out)
{
	size_t n;

	*out = NULL;
	if (!a || !b || !*a || !*b)
		return 0;
	if (!(*out = malloc(strlen(a) + strlen(b) + 1)))
		return -1;
	if (isect(*out, a, b, &n))
		return 1;
	free(*out);
	*out = NULL;
	return 0;
}

/* The action of an "mqtt:ACTION:" prefix of the n bytes at tok, with the prefix length in *pl;
 * SCOPE_NONE if there is none. The filter is not checked. */
static enum scope_action mqtt_prefix(const char *tok, size_t n, size_t *pl)
{
	int act;

	for (act = SCOPE_PUB; act <= SCOPE_PUBSUB; act++) {
		*pl = strlen(prefix[act]);
		if (n >= *pl && memcmp(tok, prefix[act], *pl) == 0)
			return (enum scope_action)act;
	}
	*pl = 0;
	return SCOPE_NONE;
}

int scope_token_valid(const char *tok)
{
	const unsigned char *p = (const unsigned char *)tok;
	size_t pl;

	if (!tok || !*tok)
		return 0;
	for (; *p; p++) {
		if (*p < 0x21 || *p == 0x22 || *p == 0x5c || *p > 0x7e)
			return 0;
	}
	if (strncmp(tok, "mqtt:", 5) != 0)
		return 1;
	/* no "${" and no '%' in a filter: brokers fill placeholders in from the CONNECT packet
	 * (EMQX 5 ${username}, ${clientid}; EMQX 4 and mosquitto's acl_file %u, %c), so a client
	 * that got one through would choose its own topic levels */
	return mqtt_prefix(tok, (size_t)(p - (const unsigned char *)tok), &pl) != SCOPE_NONE &&
	       scope_filter_valid(tok + pl) && !strstr(tok + pl, "${") && !strchr(tok + pl, '%');
}

enum scope_action scope_token_parse(const char *tok, const char **filter)
{
	enum scope_action act = SCOPE_NONE;
	size_t pl = 0;

	if (scope_token_valid(tok))
		act = mqtt_prefix(tok, strlen(tok), &pl);
	if (filter)
		*filter = act == SCOPE_NONE ? NULL : tok + pl;
	return act;
}

/* The next space-separated token of *s (its length in *n), advancing *s; NULL at the end. */
static const char *next_tok(const char **s, size_t *n)
{
	const char *p = *s, *start;

	if (!p)
		return NULL;
	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	start = p;
	while (*p && *p != ' ')
		p++;
	*n = (size_t)(p - start);
	*s = p;
	return start;
}

/* 1 if the placeholder value v may fill a whole level: not a wildcard, no level separator, no
 * '$' first (a $-topic), and no '%' (EMQX 4 would expand a %u or %c in it). A "${" in it is
 * caught by the check of the filled token. */
static int value_ok(const char *v)
{
	return v && *v && v[0] != '$' && !strpbrk(v, "/+#%");
}

/* 1 if the n-byte level at s holds a placeholder other than as the whole level. */
static int partial_placeholder(const char *s, size_t n)
{
	if (n == PH_LEN && (memcmp(s, ph_clientid, PH_LEN) == 0 || memcmp(s, ph_username, PH_LEN) == 0))
		return 0;
	return memmem(s, n, ph_clientid, PH_LEN) || memmem(s, n, ph_username, PH_LEN);
}

/* Makes room for n more bytes and a NUL in b. 0, or -1 on allocation failure. */
static int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len > n)
		return 0;
	if (n > SIZE_MAX / 4 - b->len)
		return -1;
	cap = (b->len + n) * 2 + 256;
	if (!(p = realloc(b->p, cap)))
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int list_push(struct list *l, size_t off, int act)
{
	struct ent *v;

	if (l->n == l->cap) {
		if (!(v = realloc(l->v, (l->cap ? l->cap * 2 : 16) * sizeof(*v))))
			return -1;
		l->v = v;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->v[l->n].off = off;
	l->v[l->n++].act = act;
	return 0;
}

/* Copies the n-byte token tok into the arena and, if valid, lists it (the offset of its filter
 * for an mqtt token). 1 listed, 0 invalid (and not kept), -1 on allocation failure. */
static int add_tok(struct buf *ar, struct list *l, const char *tok, size_t n)
{
	size_t start = ar->len, pl;
	enum scope_action act = mqtt_prefix(tok, n, &pl);

	if (buf_put(ar, tok, n) || buf_put(ar, "", 1))
		return -1;
	if (!scope_token_valid(ar->p + start)) {
		ar->len = start;
		return 0;
	}
	return list_push(l, start + pl, act) ? -1 : 1;
}

/* Copies the n-byte allowed token tok into the arena with its placeholders filled and, when the
 * result is a valid token, lists it in l. 1 listed, 0 dropped, -1 on allocation failure. */
static int add_allowed(struct buf *ar, struct list *l, const char *tok, size_t n,
		       const char *clientid, const char *username)
{
	size_t start = ar->len, pl, ln;
	enum scope_action act = mqtt_prefix(tok, n, &pl);
	const char *f, *end = tok + n, *v;

	if (act == SCOPE_NONE)
		return add_tok(ar, l, tok, n);
	if (buf_put(ar, tok, pl))
		return -1;
	for (f = tok + pl; f < end; f += ln + 1) {
		for (ln = 0; f + ln < end && f[ln] != '/'; ln++)
			;
		v = f;
		if (ln == PH_LEN && memcmp(f, ph_clientid, PH_LEN) == 0)
			v = clientid;
		else if (ln == PH_LEN && memcmp(f, ph_username, PH_LEN) == 0)
			v = username;
		else if (partial_placeholder(f, ln))
			goto drop;
		if (v != f && !value_ok(v))
			goto drop;
		if (buf_put(ar, v, v == f ? ln : strlen(v)) || (f + ln < end && buf_put(ar, "/", 1)))
			return -1;
	}
	if (buf_put(ar, "", 1))
		return -1;
	if (!scope_token_valid(ar->p + start))
		goto drop;
	return list_push(l, start + pl, act) ? -1 : 1;
drop:
	ar->len = start;
	return 0;
}

int scope_allowed_valid(const char *s, char **bad)
{
	struct buf ar = {0};
	struct list l = {0};
	const char *tok;
	size_t n;
	int rc = 1;

	if (bad)
		*bad = NULL;
	/* well formed if valid with every placeholder filled by a harmless value */
	while (rc > 0 && (tok = next_tok(&s, &n))) {
		if (!(rc = add_allowed(&ar, &l, tok, n, "x", "x")) && bad)
			*bad = strndup(tok, n);
	}
	free(ar.p);
	free(l.v);
	return rc > 0;
}

/* 1 if token g makes token f redundant: the same plain token, or mqtt filters where g covers f
 * with the same or a wider action. */
static int ent_covers(const struct buf *ar, struct ent g, struct ent f)
{
	if (g.act == SCOPE_NONE || f.act == SCOPE_NONE)
		return g.act == f.act && strcmp(ar->p + g.off, ar->p + f.off) == 0;
	return (g.act & f.act) == f.act && scope_filter_covers(ar->p + g.off, ar->p + f.off);
}

/* Adds f to the results unless one makes it redundant, and drops those it makes redundant.
 * 1 added, 0 not, -1 out of memory, -2 too many results. */
static int add_result(struct list *out, const struct buf *ar, struct ent f)
{
	size_t i, j;

	for (i = 0; i < out->n; i++) {
		if (ent_covers(ar, out->v[i], f))
			return 0;
	}
	for (i = j = 0; i < out->n; i++) {
		if (!ent_covers(ar, f, out->v[i]))
			out->v[j++] = out->v[i];
	}
	out->n = j;
	if (out->n >= TOKENS_MAX)
		return -2;
	return list_push(out, f.off, f.act) ? -1 : 1;
}

/* Narrows the requested token r to each allowed one in turn, adding what is granted to out.
 * 0, or add_result's negative error. */
static int grant_one(struct list *out, struct buf *ar, const struct list *al, struct ent r)
{
	struct ent g;
	size_t i, n, mark;
	int rc;

	for (i = 0; i < al->n; i++) {
		g = al->v[i];
		mark = ar->len;
		if (r.act == SCOPE_NONE || g.act == SCOPE_NONE) {
			if (!ent_covers(ar, g, r))
				continue;
		} else {
			if (!(g.act &= r.act))
				continue;
			n = strlen(ar->p + r.off) + strlen(ar->p + g.off);
			if (buf_reserve(ar, n))
				return -1;
			if (!isect(ar->p + ar->len, ar->p + r.off, ar->p + g.off, &n))
				continue;
			g.off = ar->len;
			ar->len += n + 1;
		}
		if ((rc = add_result(out, ar, g)) < 0)
			return rc;
		if (rc == 0)
			ar->len = mark;	/* not kept: reuse its room */
	}
	return 0;
}

/* The space-separated text of the result list, malloc'd; NULL when out of memory. */
static char *join(const struct list *out, const struct buf *ar)
{
	size_t i, n = 0;
	char *s, *p;

	for (i = 0; i < out->n; i++)
		n += strlen(prefix[out->v[i].act]) + strlen(ar->p + out->v[i].off) + 1;
	if (!(p = s = malloc(n)))
		return NULL;
	for (i = 0; i < out->n; i++) {
		if (i)
			*p++ = ' ';
		p = stpcpy(stpcpy(p, prefix[out->v[i].act]), ar->p + out->v[i].off);
	}
	return s;
}

ts_err scope_grant(const char *requested, const char *allowed, const char *clientid,
		   const char *username, char **granted, char **bad)
{
	struct buf ar = {0};
	struct list raw = {0}, al = {0}, rq = {0}, out = {0};
	const char *tok, *s;
	size_t n, i;
	ts_err err = TS_SERVER_ERROR;
	int rc = 0;

	*granted = NULL;
	if (bad)
		*bad = NULL;
	for (s = requested; (tok = next_tok(&s, &n));) {
		if (rq.n == TOKENS_MAX) {
			err = TS_INVALID_SCOPE;
			goto out;
		}
		if ((rc = add_tok(&ar, &rq, tok, n)) < 0)
			goto out;
		if (rc == 0) {
			err = TS_INVALID_SCOPE;
			if (bad && !(*bad = strndup(tok, n)))
				err = TS_SERVER_ERROR;
			goto out;
		}
	}
	for (s = allowed; (tok = next_tok(&s, &n));) {
		if (add_allowed(&ar, &raw, tok, n, clientid, username) < 0)
			goto out;
	}
	/* what everything allowed grants; and fewer, distinct filters to narrow to */
	for (i = 0; rc >= 0 && i < raw.n; i++)
		rc = add_result(&al, &ar, raw.v[i]);
	for (i = 0; rc >= 0 && i < rq.n; i++)
		rc = grant_one(&out, &ar, &al, rq.v[i]);
	if (rc == -1)
		goto out;
	err = TS_INVALID_SCOPE;
	if (rc != -2 && (rq.n ? out.n : al.n) > 0)
		err = (*granted = join(rq.n ? &out : &al, &ar)) ? TS_OK : TS_SERVER_ERROR;
out:
	free(ar.p);
	free(raw.v);
	free(al.v);
	free(rq.v);
	free(out.v);
	return err;
}

int scope_subset(const char *sub, const char *super)
{
	struct buf ar = {0};
	struct list sp = {0}, sb = {0};
	struct ent f, g;
	const char *tok, *s;
	size_t n, i;
	int ok = 0, rc, need, found;

	for (s = super; (tok = next_tok(&s, &n));) {
		if (add_tok(&ar, &sp, tok, n) < 0)
			goto oom;
	}
	for (s = sub; (tok = next_tok(&s, &n));) {
		sb.n = 0;
		if ((rc = add_tok(&ar, &sb, tok, n)) < 0)
			goto oom;
		if (rc == 0)
			goto out;	/* invalid: fail closed */
		/* for mqtt, each action bit may come from another token: pub + sub make pubsub */
		f = sb.v[0];
		need = f.act;
		for (i = 0, found = 0; !found && i < sp.n; i++) {
			g = sp.v[i];
			if (f.act == SCOPE_NONE)
				found = ent_covers(&ar, g, f);
			else if ((g.act & need) && scope_filter_covers(ar.p + g.off, ar.p + f.off))
				found = !(need &= ~g.act);
		}
		if (!found)
			goto out;
	}
	ok = 1;
	goto out;
oom:
	ok = -1;
out:
	free(ar.p);
	free(sp.v);
	free(sb.v);
	return ok;
}

int scope_within_limits(const char *s)
{
	size_t n = 0;

	if (!s)
		return 1;
	if (strlen(s) > SCOPE_LIMIT_BYTES)
		return 0;
	for (s += strspn(s, " "); *s; s += strspn(s, " ")) {
		if (++n > SCOPE_LIMIT_TOKENS)
			return 0;
		s += strcspn(s, " ");
	}
	return 1;
}
