/* introspect_watch.c - live sessions: the broker thread registers each one's token and scope
 * (watch, unwatch) and collects what changed for them (introspector_changes: revoked, or a new
 * scope); the watcher thread asks Tessera about each token again whenever its cached answer is
 * cache_seconds old. Every answer reaches the cache and the sessions through intro_apply.
 * Locking: see introspect.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "introspect_priv.h"
#include "secret.h"

static size_t intro_watch_bucket(const void *id)
{
	uintptr_t v = (uintptr_t)id;

	v ^= v >> 17;
	v *= (uintptr_t)0x9E3779B97F4A7C15u;
	return (size_t)(v >> 7) % INTRO_WATCH_BUCKETS;
}

static void intro_watch_free(struct intro_watch *w)
{
	if (!w)
		return;
	secret_free(w->token);
	free(w->scope);
	free(w->client_id);
	free(w->sub);
	free(w->jti);
	free(w);
}

static size_t intro_hash_bucket(const unsigned char hash[32])
{
	return ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % INTRO_WATCH_BUCKETS;
}

/* Takes the session id out of both tables; the watcher still owns it when busy. */
static void intro_watch_detach(introspector *in, const void *id)
{
	struct intro_watch **pp = &in->watches[intro_watch_bucket(id)], *w;

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->chain;
	w = *pp;
	if (!w)
		return;
	*pp = w->chain;
	w->chain = NULL;
	for (pp = &in->by_hash[intro_hash_bucket(w->hash)]; *pp && *pp != w; pp = &(*pp)->hchain)
		;
	if (*pp)
		*pp = w->hchain;
	w->hchain = NULL;
	if (w->busy)
		w->gone = 1;
	else
		intro_watch_free(w);
}

/* Drops id's changes: a session that is gone must never be reported. */
static void intro_changes_forget(introspector *in, const void *id)
{
	size_t i, o = 0;

	for (i = 0; i < in->nchanges; i++)
		if (in->changes[i].id != id)
			in->changes[o++] = in->changes[i];
		else
			free(in->changes[i].scope);
	in->nchanges = o;
}

/* Queues a change for the broker thread (scope copied); -1 when out of memory. */
static int intro_change_add(introspector *in, const void *id, int active, const char *scope)
{
	struct intro_change *p;
	char *copy = NULL;
	size_t cap;

	if (scope && !(copy = strdup(scope)))
		return -1;
	if (in->nchanges == in->capchanges) {
		cap = in->capchanges ? in->capchanges * 2 : 16;
		p = realloc(in->changes, cap * sizeof *p);
		if (!p) {
			free(copy);
			return -1;
		}
		in->changes = p;
		in->capchanges = cap;
	}
	in->changes[in->nchanges].id = id;
	in->changes[in->nchanges].active = active;
	in->changes[in->nchanges].scope = copy;
	in->nchanges++;
	return 0;
}

/* One answer (answered at `at`) onto one watched session: inactive, the session is handed over
 * to be disconnected and no longer watched; active with a scope other than the session's, the
 * new scope is handed over. When that fails for lack of memory, the session is looked at again
 * next second (the answer stays in the cache). Under mu. */
static void intro_watch_apply(introspector *in, struct intro_watch *w, int active,
                              const char *scope, int64_t at, int64_t now)
{
	char *copy;

	if (!active) {
		if (intro_change_add(in, w->id, 0, NULL) == 0)
			intro_watch_detach(in, w->id);
		else
			w->due = now + 1;
		return;
	}
	if (!scope)
		scope = "";
	if (strcmp(w->scope, scope) != 0) {
		copy = strdup(scope);
		if (!copy || intro_change_add(in, w->id, 1, scope) != 0) {
			free(copy);
			w->due = now + 1;
			return;
		}
		free(w->scope);
		w->scope = copy;
	}
	w->due = at + in->cache_seconds;
}

void intro_apply(introspector *in, const unsigned char hash[32], int active, const char *scope,
                 int64_t at, int64_t now, int stale)
{
	struct intro_watch *w, *next;

	if (!stale)
		intro_cache_put(in, hash, active, scope, at);
	for (w = in->by_hash[intro_hash_bucket(hash)]; w; w = next) {
		next = w->hchain;      /* w may be detached */
		if (memcmp(w->hash, hash, 32) != 0)
			continue;
		intro_watch_apply(in, w, active, scope, at, now);
		if (stale)
			w->due = 0;        /* (a detached w was freed: not touched again) */
	}
}

/* 1 when w's token may be one the change m is about. */
static int intro_matches(const struct intro_watch *w, const struct intro_match *m)
{
	if (!w->client_id && !w->jti)
		return 1;          /* no claims to tell by (no JWT): asked about again */
	if (m->jti)
		return w->jti && strcmp(w->jti, m->jti) == 0;
	if (m->gid && w->gid)
		return w->gid == m->gid;
	if (m->client_id && (!w->client_id || strcmp(w->client_id, m->client_id) != 0))
		return 0;
	if (m->sub && (!w->sub || strcmp(w->sub, m->sub) != 0))
		return 0;
	return m->client_id || m->sub;
}

void intro_changed(introspector *in, const struct intro_match *m)
{
	struct intro_entry *e;
	struct intro_watch *w;
	size_t b;

	in->epoch++;
	/* the cache cannot tell which answers the change touches: none is fresh any more */
	for (e = in->oldest; e; e = e->newer)
		e->at = INT64_MIN / 2;
	for (b = 0; b < INTRO_WATCH_BUCKETS; b++)
		for (w = in->watches[b]; w; w = w->chain)
			if (!m || intro_matches(w, m))
				w->due = 0;
	pthread_cond_signal(&in->cv);
}

void introspector_apply(introspector *in, const char *token, int active, const char *scope,
                        int64_t now)
{
	unsigned char hash[32];

	if (!in || !token)
		return;
	secret_sha256(token, strlen(token), hash);
	pthread_mutex_lock(&in->mu);
	intro_apply(in, hash, active, scope, now, now, 0);
	pthread_mutex_unlock(&in->mu);
}

/* The claims the change feed's events name, from the token's (unverified: the plugin verified
 * it already) payload; none for a token that is no JWT. -1 when out of memory. */
static int watch_claims(struct intro_watch *w, const char *token)
{
	static const struct {
		const char *claim;
		size_t off;
	} strs[] = {
		{"client_id", offsetof(struct intro_watch, client_id)},
		{"sub", offsetof(struct intro_watch, sub)},
		{"jti", offsetof(struct intro_watch, jti)},
	};
	json_t *c = NULL;
	const char *v;
	size_t i;
	int rc = 0;

	if (token_payload(token, &c) != TS_OK)
		return 0;
	w->gid = json_integer_value(json_object_get(c, "gid"));
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		v = json_string_value(json_object_get(c, strs[i].claim));
		if (v && !(*(char **)((char *)w + strs[i].off) = strdup(v)))
			rc = -1;
	}
	json_decref(c);
	return rc;
}

ts_err introspector_watch(introspector *in, const char *token, const char *scope,
                          const void *id)
{
	struct intro_watch *w;
	struct intro_entry *e;
	size_t b;

	if (!in || !token || !id)
		return TS_INVALID_REQUEST;
	w = calloc(1, sizeof *w);
	if (!w)
		return TS_SERVER_ERROR;
	w->token = strdup(token);
	w->scope = strdup(scope ? scope : "");
	if (!w->token || !w->scope) {
		intro_watch_free(w);
		return TS_SERVER_ERROR;
	}
	w->id = id;
	secret_sha256(token, strlen(token), w->hash);
	if (watch_claims(w, token) != 0) {
		intro_watch_free(w);
		return TS_SERVER_ERROR;
	}
	pthread_mutex_lock(&in->mu);
	intro_watch_detach(in, id);
	intro_changes_forget(in, id);
	e = intro_cache_find(in, w->hash);
	/* no answer kept (one that went stale while the CONNECT asked): asked about at once */
	w->due = e ? e->at + in->cache_seconds : 0;
	b = intro_watch_bucket(id);
	w->chain = in->watches[b];
	in->watches[b] = w;
	b = intro_hash_bucket(w->hash);
	w->hchain = in->by_hash[b];
	in->by_hash[b] = w;
	pthread_mutex_unlock(&in->mu);
	return TS_OK;
}

void introspector_unwatch(introspector *in, const void *id)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->mu);
	intro_watch_detach(in, id);
	intro_changes_forget(in, id);
	pthread_mutex_unlock(&in->mu);
}

size_t introspector_changes(introspector *in, struct intro_change *out, size_t max)
{
	size_t n;

	if (!in)
		return 0;
	pthread_mutex_lock(&in->mu);
	n = in->nchanges < max ? in->nchanges : max;
	if (n) {
		memcpy(out, in->changes, n * sizeof *out);
		memmove(in->changes, in->changes + n, (in->nchanges - n) * sizeof *out);
		in->nchanges -= n;
	}
	pthread_mutex_unlock(&in->mu);
	return n;
}

/* The watches that are due, marked busy, into *jobs (grown as needed); their number. A failed
 * allocation leaves the rest for the next round. Under mu. */
static size_t intro_due(introspector *in, int64_t now, struct intro_watch ***jobs, size_t *cap)
{
	struct intro_watch *w, **p;
	size_t b, n = 0;

	for (b = 0; b < INTRO_WATCH_BUCKETS; b++) {
		for (w = in->watches[b]; w; w = w->chain) {
			if (w->busy || w->due > now)
				continue;
			if (n == *cap) {
				p = realloc(*jobs, (*cap ? *cap * 2 : 64) * sizeof *p);
				if (!p)
					return n;
				*jobs = p;
				*cap = *cap ? *cap * 2 : 64;
			}
			w->busy = 1;
			(*jobs)[n++] = w;
		}
	}
	return n;
}

/* Settles one busy watch after its round: frees it when it went meanwhile; after no answer,
 * it is asked about again after INTRO_RETRY seconds (or the cache time when shorter), not
 * before the hold is over. (An answer was applied to it already: intro_apply.) Under mu. */
static void intro_settle(introspector *in, struct intro_watch *w, enum intro_answer ans,
                         int64_t now)
{
	int retry = in->cache_seconds < INTRO_RETRY ? in->cache_seconds : INTRO_RETRY;

	w->busy = 0;
	if (w->gone) {
		intro_watch_free(w);
		return;
	}
	if (ans == INTRO_UNAVAILABLE) {
		w->due = now + (retry > 0 ? retry : 1);
		if (w->due < in->hold_until)
			w->due = in->hold_until;
	}
}

void *intro_watcher(void *arg)
{
	introspector *in = arg;
	struct intro_watch **jobs = NULL, *w;
	struct intro_entry *e;
	struct intro_fail f;
	struct timespec ts;
	enum intro_answer ans;
	char *scope;
	size_t cap = 0, n, i;
	int64_t now;
	uint64_t epoch;

	pthread_mutex_lock(&in->mu);
	while (!atomic_load(&in->stop)) {
		n = intro_due(in, (int64_t)time(NULL), &jobs, &cap);
		for (i = 0; i < n; i++) {
			w = jobs[i];
			now = (int64_t)time(NULL);
			ans = INTRO_UNAVAILABLE;
			if (atomic_load(&in->stop) || w->gone) {
				intro_settle(in, w, ans, now);
				continue;
			}
			/* a CONNECT or another session with the same token may have asked already */
			e = intro_cache_find(in, w->hash);
			if (intro_fresh(in, e, now)) {
				ans = e->active ? INTRO_ACTIVE : INTRO_INACTIVE;
				intro_watch_apply(in, w, e->active, e->scope, e->at, now);
			} else if (in->hold_until <= now) {
				/* w is busy: nobody else changes or frees its token meanwhile */
				epoch = in->epoch;
				pthread_mutex_unlock(&in->mu);
				ans = intro_ask(in, in->watch_curl, w->token, &f, &scope);
				now = (int64_t)time(NULL);
				pthread_mutex_lock(&in->mu);
				if (ans == INTRO_UNAVAILABLE && !atomic_load(&in->stop)) {
					intro_hold(in, &f, now);
					in->last_fail = f;
					in->fails++;
				} else if (ans != INTRO_UNAVAILABLE) {
					intro_apply(in, w->hash, ans == INTRO_ACTIVE, scope, now, now,
					            epoch != in->epoch);
				}
				free(scope);
			}
			/* (else: holding off, settled for after the hold) */
			intro_settle(in, w, ans, now);
		}
		if (atomic_load(&in->stop))
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&in->cv, &in->mu, &ts);
	}
	pthread_mutex_unlock(&in->mu);
	free(jobs);
	return NULL;
}

void intro_watches_free(introspector *in)
{
	struct intro_watch *w, *wn;
	size_t b;

	for (b = 0; b < INTRO_WATCH_BUCKETS; b++)
		for (w = in->watches[b]; w; w = wn) {
			wn = w->chain;
			intro_watch_free(w);
		}
	while (in->nchanges)
		free(in->changes[--in->nchanges].scope);
	free(in->changes);
	in->changes = NULL;
}
