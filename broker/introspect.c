/* introspect.c - token introspection (RFC 7662) at Tessera, with a cache and a watcher thread.
 *
 * Threads: introspector_check, _watch, _unwatch, _changes and _apply are called from the broker
 * thread (check from one thread at a time: it owns a libcurl handle); the watcher thread has its
 * own handle. Everything both threads touch (the cache, the watched sessions, the changes for
 * the broker thread) is under in->mu, which is never held during an HTTP request.
 *
 * Time: answers are stamped with the `now` the caller passes to introspector_check and with
 * time(NULL) in the watcher, so callers pass time(NULL) (seconds since the epoch).
 *
 * Answers: only 200 with "active": true or "active": false is an answer about the token ("Tessera
 * said"), and only those are cached and acted on by the watcher. An active answer carries the
 * scope the token allows now (Tessera narrows it as grants and clients change): that scope, not
 * the token's own claim, is what a session may do, and every new answer about a token reaches
 * its live sessions (intro_apply, introspect_watch.c). Anything else is "Tessera could
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

#include "introspect_priv.h"
#include "secret.h"

void intro_hold(introspector *in, const struct intro_fail *f, int64_t now)
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

ts_err introspector_claims(introspector *in, const char *token, int64_t now, json_t **claims,
                           char *why, size_t whylen)
{
	struct intro_fail f;
	enum intro_answer ans;
	char *scope = NULL;
	int64_t hold;

	*claims = NULL;
	if (why && whylen)
		*why = '\0';
	if (!in)
		return TS_UNAVAILABLE;
	if (!token || !*token || strnlen(token, INTRO_MAX_TOKEN + 1) > INTRO_MAX_TOKEN)
		return TS_OK;
	pthread_mutex_lock(&in->mu);
	hold = in->hold_until - now;
	f = in->hold_fail;
	pthread_mutex_unlock(&in->mu);
	if (hold > 0) {
		intro_fail_text("holding off after the last failure: ", &f, hold, why, whylen);
		return TS_UNAVAILABLE;
	}
	ans = intro_ask_doc(in, in->check_curl, token, &f, &scope, claims);
	free(scope);
	if (ans == INTRO_UNAVAILABLE) {
		pthread_mutex_lock(&in->mu);
		intro_hold(in, &f, now);
		hold = in->hold_until - now;
		pthread_mutex_unlock(&in->mu);
		intro_fail_text("", &f, hold, why, whylen);
		return TS_UNAVAILABLE;
	}
	return TS_OK;
}

ts_err introspector_check(introspector *in, const char *token, int64_t now, int *active,
                          char **scope, char *why, size_t whylen)
{
	unsigned char hash[32];
	struct intro_entry *e;
	struct intro_fail f, held;
	enum intro_answer ans;
	char *got = NULL;
	int64_t hold;
	uint64_t epoch;
	size_t len;

	*active = 0;
	*scope = NULL;
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
		got = e->active ? strdup(e->scope) : NULL;
		pthread_mutex_unlock(&in->mu);
		if (*active && !got) {
			*active = 0;
			return TS_SERVER_ERROR;
		}
		*scope = got;
		return TS_OK;
	}
	hold = in->hold_until - now;
	held = in->hold_fail;
	epoch = in->epoch;
	pthread_mutex_unlock(&in->mu);
	if (hold > 0) {
		intro_fail_text("holding off after the last failure: ", &held, hold, why, whylen);
		return TS_UNAVAILABLE;
	}

	ans = intro_ask(in, in->check_curl, token, &f, &got);
	pthread_mutex_lock(&in->mu);
	if (ans == INTRO_UNAVAILABLE) {
		intro_hold(in, &f, now);
		hold = in->hold_until - now;
	} else {
		/* the same token's live sessions follow this answer too */
		intro_apply(in, hash, ans == INTRO_ACTIVE, got, now, now, epoch != in->epoch);
	}
	pthread_mutex_unlock(&in->mu);
	if (ans == INTRO_UNAVAILABLE) {
		intro_fail_text("", &f, hold, why, whylen);
		return TS_UNAVAILABLE;
	}
	*active = ans == INTRO_ACTIVE;
	*scope = got;
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

/* --- open and close --- */

ts_err introspector_open(const struct issuer_cfg *cfg, introspector **out, const char **why)
{
	introspector *in = NULL;
	pthread_condattr_t ca;
	sigset_t all, old;
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

	if (intro_headers_make(in, cfg->client_id, cfg->client_secret) != TS_OK)
		goto out;
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
	if (intro_feed_start(in, cfg, why) != 0) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	*out = in;
	in = NULL;
	rc = TS_OK;
out:
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
	if (!in)
		return;
	intro_feed_stop(in);
	if (in->started) {
		pthread_mutex_lock(&in->mu);
		atomic_store(&in->stop, 1);
		pthread_cond_signal(&in->cv);
		pthread_mutex_unlock(&in->mu);
		pthread_join(in->thread, NULL);
	}
	intro_cache_free(in);
	intro_watches_free(in);
	if (in->check_curl)
		curl_easy_cleanup(in->check_curl);
	if (in->watch_curl)
		curl_easy_cleanup(in->watch_curl);
	intro_headers_free(in->headers);
	pthread_cond_destroy(&in->cv);
	pthread_mutex_destroy(&in->mu);
	free(in);
}
