/* feed.c - GET /changes: the change feed for brokers, as server-sent events (text/event-stream).
 *
 * Every change of rights is a row of the changes table (schema/010_changes.sql, written by
 * triggers whichever process makes the change). The main loop calls feed_tick every 100 ms: it
 * reads the highest id, and when it grew (or a heartbeat is due, every FEED_HEARTBEAT_MS) it
 * wakes every open feed. A feed is a response whose content comes from feed_read: it sends the
 * rows after the last id it sent, read on the worker's own store connection, and when it has
 * nothing to send it suspends its connection (holding no thread) until the next wake.
 *
 * Locking: hub->mu guards the list of feeds, their `suspended` flags and the hub's counters. A
 * feed suspends itself and is resumed only under mu, and only when its flag says it is
 * suspended, so that a wake never resumes a connection that is not suspended, nor one that is
 * gone (feed_free takes it off the list under mu first).
 *
 * Stopping: feed_stop ends every stream (and every one opened later) before http_stop, since
 * libmicrohttpd may not be stopped while connections are suspended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "server.h"

#define FEED_HEARTBEAT_MS 15000
#define FEED_BATCH 64          /* rows read at a time */

struct feed {
	struct feed *prev, *next;
	struct feed_hub *hub;
	struct server *srv;
	struct MHD_Connection *mc;
	int64_t last;              /* the id of the last change sent */
	unsigned beat;             /* the hub's heartbeat count when it last wrote */
	int suspended;
	char *client_id;           /* the broker's client: its feed ends when it loses the right */
	int end_after;             /* the stream ends once out is sent */
	char *out;                 /* bytes to send, from off to len */
	size_t len, off;
};

struct feed_hub {
	pthread_mutex_t mu;
	struct feed *head;
	int64_t last;              /* the highest change id seen */
	unsigned beat;             /* heartbeats so far */
	int64_t beat_at;           /* when the last one was (ms) */
	int stopping;
	unsigned open;
};

int feed_hub_new(struct server *srv, store *s)
{
	struct feed_hub *h = calloc(1, sizeof *h);
	int64_t first;

	if (!h || pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return -1;
	}
	if (store_changes_bounds(s, &first, &h->last) != TS_OK)
		h->last = 0;
	h->beat_at = http_now_ms();
	srv->feeds = h;
	return 0;
}

void feed_hub_free(struct server *srv)
{
	struct feed_hub *h = srv->feeds;

	if (!h)
		return;
	/* every feed has ended with its connection (MHD_stop_daemon) */
	pthread_mutex_destroy(&h->mu);
	free(h);
	srv->feeds = NULL;
}

/* Resumes every suspended feed. Under mu. */
static void wake_all(struct feed_hub *h)
{
	struct feed *f;

	for (f = h->head; f; f = f->next)
		if (f->suspended) {
			f->suspended = 0;
			MHD_resume_connection(f->mc);
		}
}

void feed_tick(struct server *srv, store *s)
{
	struct feed_hub *h = srv->feeds;
	int64_t first, last, now = http_now_ms();

	if (!h)
		return;
	if (store_changes_bounds(s, &first, &last) != TS_OK)
		last = 0;
	pthread_mutex_lock(&h->mu);
	if (last > h->last || now - h->beat_at >= FEED_HEARTBEAT_MS) {
		if (last > h->last)
			h->last = last;
		if (now - h->beat_at >= FEED_HEARTBEAT_MS) {
			h->beat++;
			h->beat_at = now;
		}
		wake_all(h);
	}
	pthread_mutex_unlock(&h->mu);
}

void feed_stop(struct server *srv)
{
	struct feed_hub *h = srv->feeds;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = 1;
	wake_all(h);
	pthread_mutex_unlock(&h->mu);
}

/* Appends one event (id, event name, one line of data) to f's output. */
static ts_err add_event(struct feed *f, int64_t id, const char *kind, const char *data)
{
	int n = snprintf(NULL, 0, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id, kind, data);
	char *grown;

	if (n < 0)
		return TS_SERVER_ERROR;
	grown = realloc(f->out, f->len + (size_t)n + 1);
	if (!grown)
		return TS_SERVER_ERROR;
	f->out = grown;
	snprintf(f->out + f->len, (size_t)n + 1, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)id,
	         kind, data);
	f->len += (size_t)n;
	if (id > f->last)
		f->last = id;
	return TS_OK;
}

/* A change as an event: its kind, and as data the fields it has (see docs/broker.md). */
static ts_err add_row(void *arg, const struct change *c)
{
	struct feed *f = arg;
	json_t *o = json_object();
	char *data;
	ts_err rc = TS_SERVER_ERROR;

	if (!o)
		return rc;
	if ((c->grant_id && json_object_set_new(o, "grant", json_integer(c->grant_id))) ||
	    (c->client_id && json_object_set_new(o, "client_id", json_string(c->client_id))) ||
	    (c->sub && json_object_set_new(o, "sub", json_string(c->sub))) ||
	    (c->jti && json_object_set_new(o, "jti", json_string(c->jti))) ||
	    (c->scope && json_object_set_new(o, "scope", json_string(c->scope))) ||
	    json_object_set_new(o, "revoked", json_boolean(c->revoked)) ||
	    (c->removed && json_object_set_new(o, "removed", json_true()))) {
		json_decref(o);
		return rc;
	}
	data = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	/* the reader itself disabled, removed or no longer allowed to introspect: this is the last
	 * event it gets */
	if (strcmp(c->kind, "client") == 0 && c->client_id && f->client_id &&
	    strcmp(c->client_id, f->client_id) == 0 &&
	    (c->revoked || !client_list_has(c->scope ? c->scope : "", "introspect")))
		f->end_after = 1;
	if (data)
		rc = add_event(f, c->id, c->kind, data);
	free(data);
	return rc;
}

/* The worker thread's store connection. */
static store *feed_store(struct server *srv)
{
	struct request r = {.srv = srv};

	return http_store(&r);
}

/* Fills f's empty output: the changes after f->last, or a heartbeat when one is due. 1 when
 * there is something to send, 0 when not, -1 when the stream must end. */
static int feed_fill(struct feed *f, int64_t last, unsigned beat)
{
	store *s;

	free(f->out);
	f->out = NULL;
	f->len = f->off = 0;
	if (last > f->last) {
		s = feed_store(f->srv);
		if (!s || store_changes_after(s, f->last, FEED_BATCH, add_row, f) != TS_OK) {
			/* a busy database: the broker reconnects and resumes from the last id */
			if (!f->len)
				return -1;
		}
	}
	if (!f->len && beat != f->beat) {
		f->out = strdup(": keep-alive\n\n");
		if (!f->out)
			return -1;
		f->len = strlen(f->out);
	}
	if (f->len)
		f->beat = beat;
	return f->len > 0;
}

static ssize_t feed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct feed *f = cls;
	struct feed_hub *h = f->hub;
	int64_t last;
	unsigned beat;
	size_t n;
	int got;

	(void)pos;
	for (;;) {
		if (f->off < f->len) {
			n = f->len - f->off < max ? f->len - f->off : max;
			memcpy(buf, f->out + f->off, n);
			f->off += n;
			return (ssize_t)n;
		}
		if (f->end_after)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&h->mu);
		if (h->stopping) {
			pthread_mutex_unlock(&h->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		last = h->last;
		beat = h->beat;
		if (last <= f->last && beat == f->beat) {
			/* nothing to send: asleep until feed_tick or feed_stop wakes it */
			f->suspended = 1;
			MHD_suspend_connection(f->mc);
			pthread_mutex_unlock(&h->mu);
			return 0;
		}
		pthread_mutex_unlock(&h->mu);
		got = feed_fill(f, last, beat);
		if (got < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (got == 0) {
			/* the rows were not there after all (purged): nothing to wait for */
			if (f->last < last)
				f->last = last;
			f->beat = beat;
		}
	}
}

static void feed_free(void *cls)
{
	struct feed *f = cls;
	struct feed_hub *h = f->hub;

	pthread_mutex_lock(&h->mu);
	if (f->prev)
		f->prev->next = f->next;
	else if (h->head == f)
		h->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	h->open--;
	pthread_mutex_unlock(&h->mu);
	free(f->out);
	free(f->client_id);
	free(f);
}

/* Last-Event-ID: 0 and *id when it is a change id (digits), 1 when absent, -1 when malformed. */
static int last_event_id(struct request *r, int64_t *id)
{
	const char *v = http_header(r, "Last-Event-ID");
	char *end;
	long long n;

	if (!v || !*v)
		return 1;
	if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 18)
		return -1;
	n = strtoll(v, &end, 10);
	*id = n;
	return 0;
}

/* The first event: "ready" with the id the feed goes on from, or "reset" when the changes after
 * the broker's Last-Event-ID are no longer all kept (it must forget everything it knows). */
static ts_err feed_start(struct request *r, struct feed *f)
{
	int64_t first, last, from = 0;
	int have = last_event_id(r, &from);
	store *s = http_store(r);
	char data[96];
	ts_err rc;

	if (!s)
		return TS_UNAVAILABLE;
	if ((rc = store_changes_bounds(s, &first, &last)) != TS_OK)
		return rc;
	if (have == 0 && from + 1 >= first && from <= last) {
		f->last = from;
		snprintf(data, sizeof data, "{\"from\":%lld,\"last\":%lld}", (long long)from,
		         (long long)last);
		return add_event(f, from, "ready", data);
	}
	f->last = last;
	if (have == 1) {
		snprintf(data, sizeof data, "{\"from\":%lld,\"last\":%lld}", (long long)last,
		         (long long)last);
		return add_event(f, last, "ready", data);
	}
	snprintf(data, sizeof data, "{\"reason\":\"%s\",\"last\":%lld}",
	         have < 0 ? "Last-Event-ID is not a change id" :
	         from > last ? "Last-Event-ID is ahead of this server" :
	         "changes after Last-Event-ID are no longer kept", (long long)last);
	return add_event(f, last, "reset", data);
}

void changes_handle(struct request *r)
{
	struct feed_hub *h = r->srv->feeds;
	struct client *c = r->client;   /* authenticated by the router: HTTP Basic (no form) */
	struct MHD_Response *resp;
	struct feed *f;
	ts_err rc;

	if (!client_list_has(c->scope, "introspect")) {
		reply_error(r, TS_FORBIDDEN, "this client may not read the change feed");
		return;
	}
	f = calloc(1, sizeof *f);
	if (!f || !(f->client_id = strdup(c->client_id))) {
		free(f);
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	f->hub = h;
	f->srv = r->srv;
	f->mc = r->conn;
	if ((rc = feed_start(r, f)) != TS_OK) {
		free(f->out);
		free(f->client_id);
		free(f);
		reply_error(r, rc, NULL);
		return;
	}
	pthread_mutex_lock(&h->mu);
	f->beat = h->beat;
	f->next = h->head;
	if (h->head)
		h->head->prev = f;
	h->head = f;
	h->open++;
	pthread_mutex_unlock(&h->mu);
	/* from here on feed_free (when the response goes) takes f off the list */
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, feed_read, f, feed_free);
	if (!resp) {
		feed_free(f);
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a proxy must not hold events */
	if (r->srv->https)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	/* long-lived by design: libmicrohttpd's idle timeout does not apply (the heartbeat shows a
	 * dead peer), and conn.c's request deadlines end once the request is in */
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	if (MHD_queue_response(r->conn, 200, resp) == MHD_YES)
		r->status = 200;
	MHD_destroy_response(resp);
}
