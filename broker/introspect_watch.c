/* introspect_watch.c - live sessions: the broker thread registers each one's token (watch,
 * unwatch) and collects those found revoked; the watcher thread asks Tessera about each token
 * again whenever its cached answer is cache_seconds old. Locking: see introspect.c. */
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
	free(w);
}

/* Takes the session id out of the table; the watcher still owns it when busy. */
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
	if (w->busy)
		w->gone = 1;
	else
		intro_watch_free(w);
}

/* Drops id from the revoked list: a session that is gone must never be reported. */
static void intro_revoked_forget(introspector *in, const void *id)
{
	size_t i, o = 0;

	for (i = 0; i < in->nrevoked; i++)
		if (in->revoked[i] != id)
			in->revoked[o++] = in->revoked[i];
	in->nrevoked = o;
}

static int intro_revoked_add(introspector *in, const void *id)
{
	const void **p;
	size_t cap;

	if (in->nrevoked == in->caprevoked) {
		cap = in->caprevoked ? in->caprevoked * 2 : 16;
		p = realloc(in->revoked, cap * sizeof *p);
		if (!p)
			return -1;
		in->revoked = p;
		in->caprevoked = cap;
	}
	in->revoked[in->nrevoked++] = id;
	return 0;
}

ts_err introspector_watch(introspector *in, const char *token, const void *id)
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
	if (!w->token) {
		free(w);
		return TS_SERVER_ERROR;
	}
	w->id = id;
	secret_sha256(token, strlen(token), w->hash);
	pthread_mutex_lock(&in->mu);
	intro_watch_detach(in, id);
	intro_revoked_forget(in, id);
	e = intro_cache_find(in, w->hash);
	w->due = (e ? e->at : (int64_t)time(NULL)) + in->cache_seconds;
	b = intro_watch_bucket(id);
	w->chain = in->watches[b];
	in->watches[b] = w;
	pthread_mutex_unlock(&in->mu);
	return TS_OK;
}

void introspector_unwatch(introspector *in, const void *id)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->mu);
	intro_watch_detach(in, id);
	intro_revoked_forget(in, id);
	pthread_mutex_unlock(&in->mu);
}

size_t introspector_revoked(introspector *in, const void **ids, size_t max)
{
	size_t n;

	if (!in)
		return 0;
	pthread_mutex_lock(&in->mu);
	n = in->nrevoked < max ? in->nrevoked : max;
	if (n) {
		memcpy(ids, in->revoked, n * sizeof *ids);
		memmove(in->revoked, in->revoked + n, (in->nrevoked - n) * sizeof *ids);
		in->nrevoked -= n;
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

/* Settles one busy watch with an answer (or none: then asked again after INTRO_RETRY seconds,
 * or the cache time when shorter, and not before the hold is over). Under mu. */
static void intro_settle(introspector *in, struct intro_watch *w, enum intro_answer ans,
                         int64_t at, int64_t now)
{
	int retry = in->cache_seconds < INTRO_RETRY ? in->cache_seconds : INTRO_RETRY;

	w->busy = 0;
	if (w->gone) {
		intro_watch_free(w);
		return;
	}
	if (ans == INTRO_INACTIVE) {
		/* report it (if that fails for lack of memory, ask again next second) */
		if (intro_revoked_add(in, w->id) == 0) {
			intro_watch_detach(in, w->id);
			return;
		}
		w->due = now + 1;
	} else if (ans == INTRO_ACTIVE) {
		w->due = at + in->cache_seconds;
	} else {
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
	size_t cap = 0, n, i;
	int64_t now, at;

	pthread_mutex_lock(&in->mu);
	while (!atomic_load(&in->stop)) {
		n = intro_due(in, (int64_t)time(NULL), &jobs, &cap);
		for (i = 0; i < n; i++) {
			w = jobs[i];
			now = (int64_t)time(NULL);
			if (atomic_load(&in->stop) || w->gone) {
				intro_settle(in, w, INTRO_UNAVAILABLE, now, now);
				continue;
			}
			/* a CONNECT or another session with the same token may have asked already */
			e = intro_cache_find(in, w->hash);
			if (intro_fresh(in, e, now)) {
				ans = e->active ? INTRO_ACTIVE : INTRO_INACTIVE;
				at = e->at;
			} else if (in->hold_until > now) {
				ans = INTRO_UNAVAILABLE;    /* settled for after the hold */
				at = now;
			} else {
				/* w is busy: nobody else changes or frees its token meanwhile */
				pthread_mutex_unlock(&in->mu);
				ans = intro_ask(in, in->watch_curl, w->token, &f);
				now = at = (int64_t)time(NULL);
				pthread_mutex_lock(&in->mu);
				if (ans == INTRO_UNAVAILABLE && !atomic_load(&in->stop)) {
					intro_hold(in, &f, now);
					in->last_fail = f;
					in->fails++;
				} else if (ans != INTRO_UNAVAILABLE) {
					intro_cache_put(in, w->hash, ans == INTRO_ACTIVE, at);
				}
			}
			intro_settle(in, w, ans, at, now);
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
	free(in->revoked);
	in->revoked = NULL;
}
