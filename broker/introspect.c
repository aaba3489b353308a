/* introspect.c - token introspection (RFC 7662) at Tessera, with a cache and a watcher thread.
 *
 * Threads: introspector_check, _watch, _unwatch and _revoked are called from the broker thread
 * (check from one thread at a time: it owns a libcurl handle); the watcher thread has its own
 * handle. Everything both threads touch (the cache, the watched sessions, the revoked list) is
 * under in->mu, which is never held during an HTTP request.
 *
 * Time: answers are stamped with the `now` the caller passes to introspector_check and with
 * time(NULL) in the watcher, so callers pass time(NULL) (seconds since the epoch).
 *
 * Answers: only 200 with "active": true or "active": false is an answer about the token ("Tessera
 * said"), and only those are cached and acted on by the watcher. Anything else is "Tessera could
 * not answer" (TS_UNAVAILABLE, with the reason): no connection, a timeout, a 429 (the broker's
 * requests are being limited), a 401 (its client is refused), a 5xx, a malformed body. The
 * watcher then tries again later without touching the session: Tessera not answering never
 * disconnects anyone.
 *
 * Holding off: after a 429 or 503 with Retry-After, nothing is asked for that long (at most
 * INTRO_HOLD_MAX seconds); after a request that got no answer at all (no connection, a timeout),
 * for INTRO_RETRY seconds. Meanwhile introspector_check says TS_UNAVAILABLE at once, unless a
 * fresh cached answer is there: a CONNECT never waits on a Tessera that just failed to answer. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker.h"
#include "fetch.h"
#include "secret.h"

#define INTRO_CACHE_MAX 65536      /* answers kept; the oldest goes first */
#define INTRO_CACHE_BUCKETS 16384
#define INTRO_WATCH_BUCKETS 4096
#define INTRO_MAX_TOKEN 16384      /* longer "tokens" are inactive without asking */
#define INTRO_RETRY 5              /* seconds before asking again after no answer */
#define INTRO_HOLD_MAX 60          /* the longest Retry-After honoured */
#define INTRO_MAX_CACHE_SECONDS 86400

enum intro_answer { INTRO_ACTIVE, INTRO_INACTIVE, INTRO_UNAVAILABLE };

/* Why Tessera could not answer: a static reason, the HTTP status (0: none came) and the
 * seconds it asked to wait (-1: it did not say). */
struct intro_fail {
	const char *why;
	long status;
	long retry_after;
};

struct intro_entry {               /* a cached answer */
	unsigned char hash[32];        /* SHA-256 of the token */
	int64_t at;                    /* when it was answered */
	int active;
	struct intro_entry *chain;     /* next in the bucket */
	struct intro_entry *older, *newer;
};

struct intro_watch {               /* a watched session */
	const void *id;
	char *token;                   /* copy, wiped when freed */
	unsigned char hash[32];
	int64_t due;                   /* when to look at it again */
	int busy;                      /* the watcher is asking about it (outside the lock) */
	int gone;                      /* unwatched or replaced while busy: the watcher frees it */
	struct intro_watch *chain;
};

struct introspector {
	int cache_seconds;
	struct curl_slist *headers;    /* Authorization (wiped at close), Content-Type, Accept */
	CURL *check_curl, *watch_curl;
	pthread_t thread;
	int started;
	atomic_int stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct intro_entry *cache[INTRO_CACHE_BUCKETS];
	struct intro_entry *oldest, *newest;
	size_t cached;
	struct intro_watch *watches[INTRO_WATCH_BUCKETS];
	const void **revoked;
	size_t nrevoked, caprevoked;
	int64_t hold_until;            /* ask nothing before then (see "Holding off") */
	struct intro_fail hold_fail;   /* the failure that set it */
	struct intro_fail last_fail;   /* the watcher's, for introspector_trouble */
	size_t fails;                  /* the watcher's requests without an answer since then */
};

/* --- the cache (under mu) --- */

static size_t intro_bucket(const unsigned char hash[32])
{
	return ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % INTRO_CACHE_BUCKETS;
}

static struct intro_entry *intro_cache_find(introspector *in, const unsigned char hash[32])
{
	struct intro_entry *e;

	for (e = in->cache[intro_bucket(hash)]; e; e = e->chain)
		if (memcmp(e->hash, hash, 32) == 0)
			return e;
	return NULL;
}

static int intro_fresh(const introspector *in, const struct intro_entry *e, int64_t now)
{
	return e && now - e->at < in->cache_seconds;
}

static void intro_age_unlink(introspector *in, struct intro_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		in->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		in->newest = e->older;
	e->older = e->newer = NULL;
}

static void intro_age_append(introspector *in, struct intro_entry *e)
{
	e->older = in->newest;
	e->newer = NULL;
	if (in->newest)
		in->newest->newer = e;
	else
		in->oldest = e;
	in->newest = e;
}

static void intro_cache_drop(introspector *in, struct intro_entry *e)
{
	struct intro_entry **pp = &in->cache[intro_bucket(e->hash)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	intro_age_unlink(in, e);
	in->cached--;
	free(e);
}

/* Remembers an answer; when full, drops expired answers and then the oldest. A failed
 * allocation only means the answer is not cached. */
static void intro_cache_put(introspector *in, const unsigned char hash[32], int active, int64_t at)
{
	struct intro_entry *e = intro_cache_find(in, hash);
	size_t b;

	if (e) {
		intro_age_unlink(in, e);
	} else {
		while (in->oldest && !intro_fresh(in, in->oldest, at))
			intro_cache_drop(in, in->oldest);
		if (in->cached >= INTRO_CACHE_MAX)
			intro_cache_drop(in, in->oldest);
		e = calloc(1, sizeof *e);
		if (!e)
			return;
		memcpy(e->hash, hash, 32);
		b = intro_bucket(hash);
		e->chain = in->cache[b];
		in->cache[b] = e;
		in->cached++;
	}
	e->at = at;
	e->active = active;
	intro_age_append(in, e);
}

/* --- one request --- */

/* Asks Tessera about token with handle c; on INTRO_UNAVAILABLE *f says why. */
static enum intro_answer intro_ask(introspector *in, CURL *c, const char *token,
                                   struct intro_fail *f)
{
	static const char hint[] = "&token_type_hint=access_token";
	struct fetch_reply r = {0};
	json_error_t jerr;
	json_t *doc = NULL, *active;
	char *enc, *body = NULL;
	size_t elen, blen = 0;
	const char *why;
	enum intro_answer ans = INTRO_UNAVAILABLE;

	f->why = "out of memory";
	f->status = 0;
	f->retry_after = -1;
	enc = fetch_form_encode(token);
	if (!enc)
		return INTRO_UNAVAILABLE;
	elen = strlen(enc);
	body = malloc(6 + elen + sizeof hint);
	if (!body)
		goto out;
	memcpy(body, "token=", 6);
	memcpy(body + 6, enc, elen);
	memcpy(body + 6 + elen, hint, sizeof hint);
	blen = 6 + elen + sizeof hint - 1;
	if (fetch_do(c, body, blen, in->headers, &r, &why) != TS_OK) {
		f->why = why;
		goto out;
	}
	f->status = r.status;
	f->retry_after = r.retry_after;
	if (r.status != 200) {
		f->why = r.status == 429 ? "too many requests: Tessera is limiting the broker's client" :
		         r.status == 401 || r.status == 403 ? "the broker's client was refused: check "
		         "plugin_opt_introspect_client_id and _secret" :
		         r.status >= 500 ? "Tessera failed" : "an unexpected HTTP status";
		goto out;
	}
	doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, &jerr);
	active = json_object_get(doc, "active");
	if (json_is_true(active))
		ans = INTRO_ACTIVE;
	else if (json_is_false(active))
		ans = INTRO_INACTIVE;
	else
		f->why = "the answer is no introspection response";
out:
	json_decref(doc);
	fetch_reply_free(&r);
	secret_free(enc);
	if (body) {
		secret_wipe(body, blen);
		free(body);
	}
	return ans;
}

/* How long to hold off after failure f at now (see "Holding off"). Under mu. */
static void intro_hold(introspector *in, const struct intro_fail *f, int64_t now)
{
	int64_t until = now;

	if ((f->status == 429 || f->status == 503) && f->retry_after >= 0)
		until = now + (f->retry_after < INTRO_HOLD_MAX ? f->retry_after : INTRO_HOLD_MAX);
	else if (f->status == 0)
		until = now + INTRO_RETRY;
	if (until > in->hold_until) {
		in->hold_until = until;
		in->hold_fail = *f;
	}
}

/* f as text into why (len bytes): prefix, the reason, the status, how long nothing is asked. */
static void intro_fail_text(const char *prefix, const struct intro_fail *f, int64_t hold,
                            char *why, size_t len)
{
	char status[24] = "", wait[64] = "";

	if (!why || !len)
		return;
	if (f->status)
		snprintf(status, sizeof status, " (HTTP %ld)", f->status);
	if (hold > 0)
		snprintf(wait, sizeof wait, "; not asking again for %lld s", (long long)hold);
	snprintf(why, len, "%s%s%s%s", prefix, f->why ? f->why : "no answer", status, wait);
}

ts_err introspector_check(introspector *in, const char *token, int64_t now, int *active,
                          char *why, size_t whylen)
{
	unsigned char hash[32];
	struct intro_entry *e;
	struct intro_fail f, held;
	enum intro_answer ans;
	int64_t hold;
	size_t len;

	*active = 0;
	if (why && whylen)
		*why = '\0';
	if (!in)
		return TS_UNAVAILABLE;
	if (!token)
		return TS_OK;
	len = strnlen(token, INTRO_MAX_TOKEN + 1);
	if (len == 0 || len > INTRO_MAX_TOKEN)
		return TS_OK;
	secret_sha256(token, len, hash);
	pthread_mutex_lock(&in->mu);
	e = intro_cache_find(in, hash);
	if (intro_fresh(in, e, now)) {
		*active = e->active;
		pthread_mutex_unlock(&in->mu);
		return TS_OK;
	}
	hold = in->hold_until - now;
	held = in->hold_fail;
	pthread_mutex_unlock(&in->mu);
	if (hold > 0) {
		intro_fail_text("holding off after the last failure: ", &held, hold, why, whylen);
		return TS_UNAVAILABLE;
	}

	ans = intro_ask(in, in->check_curl, token, &f);
	pthread_mutex_lock(&in->mu);
	if (ans == INTRO_UNAVAILABLE) {
		intro_hold(in, &f, now);
		hold = in->hold_until - now;
	} else {
		intro_cache_put(in, hash, ans == INTRO_ACTIVE, now);
	}
	pthread_mutex_unlock(&in->mu);
	if (ans == INTRO_UNAVAILABLE) {
		intro_fail_text("", &f, hold, why, whylen);
		return TS_UNAVAILABLE;
	}
	*active = ans == INTRO_ACTIVE;
	return TS_OK;
}

size_t introspector_trouble(introspector *in, char *why, size_t whylen)
{
	size_t n;

	if (why && whylen)
		*why = '\0';
	if (!in)
		return 0;
	pthread_mutex_lock(&in->mu);
	n = in->fails;
	if (n)
		intro_fail_text("", &in->last_fail, 0, why, whylen);
	in->fails = 0;
	pthread_mutex_unlock(&in->mu);
	return n;
}

/* --- watched sessions (under mu) --- */

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

/* --- the watcher thread --- */

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

static void *intro_watcher(void *arg)
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

/* --- open and close --- */

/* "Authorization: Basic base64(urlenc(id):urlenc(secret))" (RFC 6749 §2.3.1); malloc'd, the
 * caller wipes and frees it. */
static char *intro_basic(const char *id, const char *secret)
{
	static const char prefix[] = "Authorization: Basic ";
	char *eid = fetch_form_encode(id), *esec = fetch_form_encode(secret);
	char *raw = NULL, *hdr = NULL;
	size_t rlen = 0;

	if (!eid || !esec)
		goto out;
	rlen = strlen(eid) + 1 + strlen(esec);
	raw = malloc(rlen + 1);
	if (!raw)
		goto out;
	strcpy(raw, eid);
	strcat(raw, ":");
	strcat(raw, esec);
	hdr = malloc(sizeof prefix - 1 + (rlen + 2) / 3 * 4 + 1);
	if (!hdr)
		goto out;
	memcpy(hdr, prefix, sizeof prefix - 1);
	EVP_EncodeBlock((unsigned char *)hdr + sizeof prefix - 1, (const unsigned char *)raw,
	                (int)rlen);
out:
	secret_free(eid);
	secret_free(esec);
	secret_free(raw);
	return hdr;
}

static void intro_headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p; p = p->next)
		secret_wipe(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

ts_err introspector_open(const struct broker_cfg *cfg, introspector **out, const char **why)
{
	static const char *const fixed[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		"Expect:", /* no 100-continue round trip for long tokens */
	};
	introspector *in = NULL;
	struct curl_slist *h;
	pthread_condattr_t ca;
	sigset_t all, old;
	char *auth = NULL;
	size_t i;
	int mu_ok = 0, cv_ok = 0, err;
	ts_err rc = TS_SERVER_ERROR;

	*out = NULL;
	if (!cfg->introspect_url || !*cfg->introspect_url) {
		*why = "plugin_opt_introspect_url is required";
		return TS_INVALID_REQUEST;
	}
	if (!cfg->client_id || !*cfg->client_id || !cfg->client_secret || !*cfg->client_secret) {
		*why = "plugin_opt_introspect_client_id and plugin_opt_introspect_client_secret are"
		       " required with plugin_opt_introspect_url";
		return TS_INVALID_REQUEST;
	}
	if (cfg->cache_seconds < 0 || cfg->cache_seconds > INTRO_MAX_CACHE_SECONDS) {
		*why = "plugin_opt_cache_seconds must be between 0 and 86400";
		return TS_INVALID_REQUEST;
	}
	*why = "out of memory";
	in = calloc(1, sizeof *in);
	if (!in)
		return TS_SERVER_ERROR;
	in->cache_seconds = cfg->cache_seconds;
	atomic_init(&in->stop, 0);

	auth = intro_basic(cfg->client_id, cfg->client_secret);
	if (!auth)
		goto out;
	h = curl_slist_append(NULL, auth);
	if (!h)
		goto out;
	in->headers = h;
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		h = curl_slist_append(in->headers, fixed[i]);
		if (!h)
			goto out;
		in->headers = h;
	}
	rc = fetch_new(cfg->introspect_url, cfg->ca_file, NULL, &in->check_curl, why);
	if (rc == TS_OK)
		rc = fetch_new(cfg->introspect_url, cfg->ca_file, &in->stop, &in->watch_curl, why);
	if (rc != TS_OK) {
		if (rc == TS_INVALID_REQUEST)
			*why = "plugin_opt_introspect_url must be an http or https URL";
		goto out;
	}

	rc = TS_SERVER_ERROR;
	*why = "cannot start the introspection thread";
	if (pthread_mutex_init(&in->mu, NULL) != 0)
		goto out;
	mu_ok = 1;
	if (pthread_condattr_init(&ca) != 0)
		goto out;
	err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&in->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (err)
		goto out;
	cv_ok = 1;
	/* the broker's signals are for the broker's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&in->thread, NULL, intro_watcher, in);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out;
	in->started = 1;
	*out = in;
	in = NULL;
	rc = TS_OK;
out:
	secret_free(auth);
	if (in) {
		if (!cv_ok && mu_ok) {
			pthread_mutex_destroy(&in->mu);
			mu_ok = 0;
		}
		if (cv_ok) {
			introspector_close(in);
		} else {
			if (in->check_curl)
				curl_easy_cleanup(in->check_curl);
			if (in->watch_curl)
				curl_easy_cleanup(in->watch_curl);
			intro_headers_free(in->headers);
			free(in);
		}
	}
	return rc;
}

void introspector_close(introspector *in)
{
	struct intro_entry *e, *next;
	struct intro_watch *w, *wn;
	size_t b;

	if (!in)
		return;
	if (in->started) {
		pthread_mutex_lock(&in->mu);
		atomic_store(&in->stop, 1);
		pthread_cond_signal(&in->cv);
		pthread_mutex_unlock(&in->mu);
		pthread_join(in->thread, NULL);
	}
	for (e = in->oldest; e; e = next) {
		next = e->newer;
		free(e);
	}
	for (b = 0; b < INTRO_WATCH_BUCKETS; b++)
		for (w = in->watches[b]; w; w = wn) {
			wn = w->chain;
			intro_watch_free(w);
		}
	free(in->revoked);
	if (in->check_curl)
		curl_easy_cleanup(in->check_curl);
	if (in->watch_curl)
		curl_easy_cleanup(in->watch_curl);
	intro_headers_free(in->headers);
	pthread_cond_destroy(&in->cv);
	pthread_mutex_destroy(&in->mu);
	free(in);
}
