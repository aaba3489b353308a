/* feed.c - the change feed: one thread per issuer with introspection keeps Tessera's GET /changes
 * (server-sent events) open and turns each event into intro_changed: the cached answers go
 * stale and the live sessions whose token the change names are introspected again at once by
 * the watcher thread, whose new answer reaches them through intro_apply like any other. A
 * revocation or a narrowing thus takes effect within a second, not after cache_seconds.
 *
 * The URL is introspect_url with its last path segment replaced by "changes". The request
 * carries the introspection client's credentials, and Last-Event-ID when an event was seen: on
 * a reconnect Tessera sends what was missed, or a "reset" (too much was missed), after which
 * every live session is introspected again. A feed that cannot be opened, or ends, or stays
 * silent for FEED_SILENCE seconds (Tessera sends a heartbeat every 15 s) is opened again after
 * 1, 2, 4 .. FEED_BACKOFF_MAX seconds; meanwhile sessions are introspected every cache_seconds
 * as without a feed, and the broker's log says so once (introspector_feed_news). Locking: the
 * thread's own state is its own; what it changes in the introspector is under in->mu. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "introspect_priv.h"
#include "secret.h"

#define FEED_SILENCE 45            /* seconds without a byte: the feed is taken for dead */
#define FEED_BACKOFF_MAX 30
#define FEED_MAX_LINE 65536        /* a longer line ends the feed (and it is opened again) */

struct intro_feed {
	introspector *in;
	CURL *curl;
	char *url;
	char *auth;                    /* the Authorization header line (wiped at the end) */
	int cache_seconds;
	pthread_t thread;
	int started;
	/* the stream being read */
	char *line;
	size_t len, cap;
	char event[32];
	char *data;
	int64_t id;
	int has_id;
	int ready;                     /* this connection said "ready" (or "reset") */
	/* across connections */
	int64_t last_id;
	int have_last;
	int down;                      /* the log said it is down */
	/* for the broker thread's log (under in->mu) */
	char news[300];
	int has_news;
};

static void feed_say(struct intro_feed *f, const char *fmt, const char *why)
{
	pthread_mutex_lock(&f->in->mu);
	snprintf(f->news, sizeof f->news, fmt, f->url, why ? why : "", f->cache_seconds);
	f->has_news = 1;
	pthread_mutex_unlock(&f->in->mu);
}

int introspector_feed_news(introspector *in, char *msg, size_t len)
{
	int got = 0;

	if (!in || !in->feed)
		return 0;
	pthread_mutex_lock(&in->mu);
	if (in->feed->has_news) {
		snprintf(msg, len, "%s", in->feed->news);
		in->feed->has_news = 0;
		got = 1;
	}
	pthread_mutex_unlock(&in->mu);
	return got;
}

/* One whole event (RFC: a blank line ends it). */
static void feed_dispatch(struct intro_feed *f)
{
	struct intro_match m = {0};
	json_error_t jerr;
	json_t *d = NULL;
	int all = 0;

	if (f->has_id) {
		f->last_id = f->id;
		f->have_last = 1;
	}
	if (strcmp(f->event, "ready") == 0 || strcmp(f->event, "reset") == 0) {
		if (!f->ready && f->down)
			feed_say(f, "tessera: change feed %s%s is back: rights changes reach connected "
			         "clients at once again%.0d", NULL);
		else if (!f->ready)
			feed_say(f, "tessera: change feed %s%s open: rights changes reach connected "
			         "clients at once%.0d", NULL);
		f->ready = 1;
		f->down = 0;
		all = strcmp(f->event, "reset") == 0;
	} else if (f->data) {
		d = json_loads(f->data, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(d)) {
			all = 1;   /* an event not understood: everything is asked about again */
		} else {
			m.gid = json_integer_value(json_object_get(d, "grant"));
			m.client_id = json_string_value(json_object_get(d, "client_id"));
			m.sub = json_string_value(json_object_get(d, "sub"));
			m.jti = json_string_value(json_object_get(d, "jti"));
			if (strcmp(f->event, "grant") == 0)
				m.client_id = m.gid ? NULL : m.client_id;  /* its tokens carry the gid */
			else if (strcmp(f->event, "client") == 0)
				m.gid = 0, m.sub = NULL;
		}
	}
	if (all || d) {
		pthread_mutex_lock(&f->in->mu);
		intro_changed(f->in, all ? NULL : &m);
		pthread_mutex_unlock(&f->in->mu);
	}
	json_decref(d);
	free(f->data);
	f->data = NULL;
	f->event[0] = '\0';
	f->has_id = 0;
}

/* One line of the stream (without its end of line). */
static void feed_line(struct intro_feed *f, char *line)
{
	char *v, *grown;
	size_t n;

	if (!*line) {
		feed_dispatch(f);
		return;
	}
	if (*line == ':')
		return;            /* a comment: the heartbeat */
	v = strchr(line, ':');
	if (v) {
		*v++ = '\0';
		if (*v == ' ')
			v++;
	} else {
		v = line + strlen(line);
	}
	if (strcmp(line, "event") == 0) {
		snprintf(f->event, sizeof f->event, "%s", v);
	} else if (strcmp(line, "id") == 0) {
		f->id = strtoll(v, NULL, 10);
		f->has_id = 1;
	} else if (strcmp(line, "data") == 0) {
		n = f->data ? strlen(f->data) : 0;
		grown = realloc(f->data, n + strlen(v) + 2);
		if (!grown)
			return;
		if (n)
			grown[n++] = '\n';
		strcpy(grown + n, v);
		f->data = grown;
	}
}

static size_t feed_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct intro_feed *f = arg;
	size_t n = size * nmemb, i, start = 0;
	char *grown;

	if (f->len + n + 1 > f->cap) {
		if (f->len + n + 1 > FEED_MAX_LINE)
			return 0;      /* ends the transfer */
		grown = realloc(f->line, FEED_MAX_LINE);
		if (!grown)
			return 0;
		f->line = grown;
		f->cap = FEED_MAX_LINE;
	}
	memcpy(f->line + f->len, ptr, n);
	f->len += n;
	for (i = 0; i < f->len; i++) {
		if (f->line[i] != '\n')
			continue;
		f->line[i] = '\0';
		if (i > start && f->line[i - 1] == '\r')
			f->line[i - 1] = '\0';
		feed_line(f, f->line + start);
		start = i + 1;
	}
	memmove(f->line, f->line + start, f->len - start);
	f->len -= start;
	return n;
}

/* One connection, until it ends: NULL when it ended after being open, else why it failed. */
static const char *feed_once(struct intro_feed *f)
{
	struct curl_slist *h = NULL, *t;
	char last[48];
	long status = 0;
	CURLcode cc;

	f->len = 0;
	f->ready = 0;
	free(f->data);
	f->data = NULL;
	f->event[0] = '\0';
	f->has_id = 0;
	h = curl_slist_append(NULL, f->auth);
	if (h && (t = curl_slist_append(h, "Accept: text/event-stream")))
		h = t;
	if (h && f->have_last) {
		snprintf(last, sizeof last, "Last-Event-ID: %lld", (long long)f->last_id);
		if ((t = curl_slist_append(h, last)))
			h = t;
	}
	if (!h)
		return "out of memory";
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(f->curl);
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
	for (t = h; t; t = t->next)
		secret_wipe(t->data, strlen(t->data));
	curl_slist_free_all(h);
	if (f->ready)
		return NULL;
	if (status == 401 || status == 403)
		return "refused (HTTP 401/403: the introspection client may not read it)";
	if (status == 404)
		return "not found (HTTP 404: a Tessera without a change feed)";
	if (status && status != 200)
		return "no event stream (HTTP error)";
	return cc == CURLE_OK ? "ended before it was ready" : curl_easy_strerror(cc);
}

static void *feed_main(void *arg)
{
	struct intro_feed *f = arg;
	introspector *in = f->in;
	const char *why;
	int backoff = 1, waited;

	while (!atomic_load(&in->stop)) {
		why = feed_once(f);
		if (atomic_load(&in->stop))
			break;
		if (why || f->ready)
			backoff = why ? backoff : 1;
		if (!f->down) {
			feed_say(f, "tessera: change feed %s unavailable (%s): rights changes reach "
			         "connected clients within plugin_opt_cache_seconds (%d s) until it is "
			         "back", why ? why : "the connection ended");
			f->down = 1;
		}
		for (waited = 0; waited < backoff * 10 && !atomic_load(&in->stop); waited++)
			nanosleep(&(struct timespec){0, 100000000L}, NULL);
		backoff = backoff * 2 > FEED_BACKOFF_MAX ? FEED_BACKOFF_MAX : backoff * 2;
	}
	return NULL;
}

/* introspect_url with its last path segment replaced by "changes" (malloc'd), or NULL. */
static char *feed_url(const char *introspect_url)
{
	const char *q = strpbrk(introspect_url, "?#"), *slash;
	size_t n = q ? (size_t)(q - introspect_url) : strlen(introspect_url);
	char *url;

	for (slash = introspect_url + n; slash > introspect_url && slash[-1] != '/'; slash--)
		;
	if (slash == introspect_url || slash - introspect_url < 8)
		return NULL;       /* no path: not an http(s)://host/... URL */
	n = (size_t)(slash - introspect_url);
	url = malloc(n + sizeof "changes");
	if (url) {
		memcpy(url, introspect_url, n);
		memcpy(url + n, "changes", sizeof "changes");
	}
	return url;
}

static void feed_free(struct intro_feed *f)
{
	if (!f)
		return;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	free(f->url);
	secret_free(f->auth);
	free(f->line);
	free(f->data);
	free(f);
}

int intro_feed_start(introspector *in, const struct issuer_cfg *cfg, const char **why)
{
	struct intro_feed *f;
	struct curl_slist *p;
	sigset_t all, old;
	int err;

	if (!cfg->feed)
		return 0;
	*why = "out of memory";
	f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->in = in;
	f->cache_seconds = cfg->cache_seconds;
	f->url = feed_url(cfg->introspect_url);
	for (p = in->headers; p && strncmp(p->data, "Authorization:", 14) != 0; p = p->next)
		;
	if (!f->url || !p || !(f->auth = strdup(p->data))) {
		if (!f->url)
			*why = "plugin_opt_introspect_url has no path to put /changes in";
		feed_free(f);
		return -1;
	}
	if (fetch_new(f->url, cfg->ca_file, &in->stop, &f->curl, why) != TS_OK) {
		feed_free(f);
		return -1;
	}
	/* a stream: no time limit on the whole, no size limit; silence is what ends it */
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(f->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(f->curl, CURLOPT_LOW_SPEED_TIME, (long)FEED_SILENCE);
	curl_easy_setopt(f->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, feed_write);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, f);
	in->feed = f;
	*why = "cannot start the change feed thread";
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&f->thread, NULL, feed_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		in->feed = NULL;
		feed_free(f);
		return -1;
	}
	f->started = 1;
	return 0;
}

void intro_feed_stop(introspector *in)
{
	struct intro_feed *f = in->feed;

	if (!f)
		return;
	atomic_store(&in->stop, 1);    /* (the transfer in progress is aborted: fetch_new's stop) */
	if (f->started)
		pthread_join(f->thread, NULL);
	in->feed = NULL;
	feed_free(f);
}
