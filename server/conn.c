/* conn.c - the bounds libmicrohttpd does not keep by itself: how many connections one client
 * address may hold, and how long a request's head and body may take to arrive.
 *
 * libmicrohttpd's connection_timeout closes a connection only after it has been silent that
 * long: one that trickles a byte every few seconds stays open for ever. So every open connection
 * is on a list with the phase its request is in, and a watcher thread looks at the list twice a
 * second:
 *   IDLE  waiting for a request (since its accept, or since the previous answer was sent);
 *         the kernel's count of bytes received (TCP_INFO) tells when more arrive, and with
 *         the first of them its HEAD phase starts;
 *   HEAD  a request's first bytes are in and its head is not complete (on_uri starts it too);
 *   BODY  the head is complete and the body is still coming;
 *   BUSY  the request is being handled or answered: nothing to bound here.
 * A connection that stays in HEAD longer than request_header_timeout, or in BODY longer than
 * request_body_timeout, is answered 408 (plain http) and shut down; libmicrohttpd then sees
 * the end of the stream and closes it. The watcher only touches a connection's socket while
 * holding the list's lock, and a connection leaves the list (on_connection's CLOSED) before
 * libmicrohttpd closes its socket, so the descriptor is always still the connection's own.
 *
 * Connections are counted per client address (IPv6: per /64) as they open; one over
 * max_connections_per_address is shut down at once, unanswered. Addresses in proxy_addresses
 * (by default loopback, where a reverse proxy on the same host connects from) are not counted:
 * a proxy carries many clients' connections, and must limit them per client itself. */
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/rand.h>
#include "netaddr.h"
#include "server.h"

#define TICK_MS 500
#define BUCKETS 4096   /* of the per-address counts: a power of two */

enum { P_IDLE, P_HEAD, P_BODY, P_BUSY };

/* One open connection. `state` is its phase and the time the phase began (ms), in one atomic
 * word (time << 2 | phase) that the worker threads set and the watcher reads and may move from
 * IDLE to HEAD; `mark` is the count of bytes received when the IDLE phase began (stored
 * before the state, read after it). */
struct conn {
	struct conn *prev, *next;
	atomic_uint_least64_t state, mark;
	int fd;
	int over;            /* opened beyond max_connections: answered 503 */
	int shut;            /* the watcher shut it down */
	int refused;         /* over max_connections_per_address: not counted in srv->connections */
	struct addr_count *counted; /* its address's count, or NULL when not counted */
	char addr[48];       /* for the log */
};

struct addr_count {
	struct addr_count *next;
	unsigned n;
	char key[48];
};

struct conn_watch {
	pthread_mutex_t lock;           /* the list and the counts */
	pthread_cond_t wake;
	pthread_t thread;
	int started, stop;
	struct conn *head;
	struct addr_count *buckets[BUCKETS];
	uint64_t seed;
	struct netaddr_list *proxies;
	int cap, head_ms, body_ms, tls;
	int64_t last_tick;
	char timeout_reply[256];        /* the 408, for plain http */
	/* what to log at the next tick, so that a flood makes a line a tick, not one a connection */
	unsigned refused, slow_head, slow_body;
	char refused_addr[48], slow_addr[48];
};

static uint64_t pack(int64_t ms, int phase)
{
	return (uint64_t)ms << 2 | (uint64_t)phase;
}

static size_t bucket(const struct conn_watch *w, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ w->seed;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h ^ h >> 29) & (BUCKETS - 1);
}

int conn_watch_new(struct server *srv)
{
	static const char timeout_body[] = "{\"error\":\"invalid_request\",\"error_description\":"
	                                   "\"the request took too long to arrive\"}";
	struct conn_watch *w = calloc(1, sizeof *w);
	pthread_condattr_t attr;
	char *why = NULL;

	if (!w)
		return -1;
	if (netaddr_list_parse(srv->cfg.proxy_addresses, &w->proxies, &why) != TS_OK) {
		fprintf(stderr, "tessera: proxy_addresses: %s\n", why ? why : "out of memory");
		free(why);
		free(w);
		return -1;
	}
	if (RAND_bytes((unsigned char *)&w->seed, sizeof w->seed) != 1 ||
	    pthread_mutex_init(&w->lock, NULL) != 0) {
		netaddr_list_free(w->proxies);
		free(w);
		return -1;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	snprintf(w->timeout_reply, sizeof w->timeout_reply, "HTTP/1.1 408 Request Timeout\r\n"
	         "Connection: close\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	         "\r\n%s", sizeof timeout_body - 1, timeout_body);
	w->cap = srv->cfg.max_connections_per_address;
	w->head_ms = srv->cfg.request_header_timeout * 1000;
	w->body_ms = srv->cfg.request_body_timeout * 1000;
	w->tls = srv->cfg.tls_cert != NULL;
	srv->watch = w;
	return 0;
}

/* Takes c's place in its address's count (under the lock): 0, or -1 when the address already
 * holds the most it may. */
static int count_address(struct conn_watch *w, struct conn *c, const struct sockaddr *sa)
{
	char key[48];
	struct addr_count **pp, *a;

	if (w->cap == 0 || netaddr_list_has(w->proxies, sa) || netaddr_key(sa, key, sizeof key))
		return 0;
	for (pp = &w->buckets[bucket(w, key)]; *pp && strcmp((*pp)->key, key) != 0;
	     pp = &(*pp)->next)
		;
	a = *pp;
	if (a && a->n >= (unsigned)w->cap)
		return -1;
	if (!a) {
		a = calloc(1, sizeof *a);
		if (!a)
			return 0; /* out of memory: not counted */
		memcpy(a->key, key, sizeof key);
		*pp = a;
	}
	a->n++;
	c->counted = a;
	return 0;
}

static void uncount_address(struct conn_watch *w, struct conn *c)
{
	struct addr_count **pp, *a = c->counted;

	if (!a || --a->n > 0)
		return;
	for (pp = &w->buckets[bucket(w, a->key)]; *pp != a; pp = &(*pp)->next)
		;
	*pp = a->next;
	free(a);
}

void conn_opened(struct server *srv, struct MHD_Connection *mc, void **socket_context)
{
	struct conn_watch *w = srv->watch;
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(mc,
		MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	struct conn *c = calloc(1, sizeof *c);

	if (!c || !fd) {
		/* cannot be watched: not kept either (libmicrohttpd closes it when it sees the end) */
		if (fd)
			shutdown(fd->connect_fd, SHUT_RDWR);
		free(c);
		*socket_context = NULL;
		return;
	}
	*socket_context = c;
	c->fd = fd->connect_fd;
	atomic_init(&c->mark, 0);  /* every byte from now on is a request's */
	atomic_init(&c->state, pack(http_now_ms(), P_IDLE));
	if (netaddr_key(sa, c->addr, sizeof c->addr))
		snprintf(c->addr, sizeof c->addr, "?");
	pthread_mutex_lock(&w->lock);
	if (count_address(w, c, sa) != 0) {
		/* over max_connections_per_address: closed before it costs anything more, and not
		 * counted toward max_connections, so that another client is not answered 503 while
		 * libmicrohttpd has yet to see it closed */
		c->refused = 1;
		c->shut = 1;
		shutdown(c->fd, SHUT_RDWR);
		w->refused++;
		memcpy(w->refused_addr, c->addr, sizeof c->addr);
	}
	c->next = w->head;
	if (w->head)
		w->head->prev = c;
	w->head = c;
	pthread_mutex_unlock(&w->lock);
	if (!c->refused)
		c->over = atomic_fetch_add(&srv->connections, 1) >= srv->cfg.max_connections;
}

void conn_closed(struct server *srv, void *socket_context)
{
	struct conn_watch *w = srv->watch;
	struct conn *c = socket_context;

	if (!c)
		return;
	if (!c->refused)
		atomic_fetch_sub(&srv->connections, 1);
	pthread_mutex_lock(&w->lock);
	uncount_address(w, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&w->lock);
	free(c);
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

int conn_over_cap(struct MHD_Connection *mc)
{
	struct conn *c = conn_of(mc);

	return c && c->over;
}

/* The count of bytes c's socket has received, or 0 if unknown. */
static uint64_t received(const struct conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
		return 0;
	return ti.tcpi_bytes_received;
}

void conn_phase(struct MHD_Connection *mc, enum conn_phase phase)
{
	struct conn *c = conn_of(mc);
	uint64_t s;

	if (!c)
		return;
	switch (phase) {
	case CONN_HEAD:
		/* the head began when its first bytes came, if the watcher saw them already */
		s = atomic_load(&c->state);
		if ((s & 3) == P_IDLE)
			atomic_compare_exchange_strong(&c->state, &s, pack(http_now_ms(), P_HEAD));
		break;
	case CONN_IDLE:
		/* bytes that arrived with the previous request (pipelined) are not counted: the head
		 * of the next one is timed from the first byte that comes after this */
		atomic_store(&c->mark, received(c));
		atomic_store(&c->state, pack(http_now_ms(), P_IDLE));
		break;
	case CONN_BODY:
		atomic_store(&c->state, pack(http_now_ms(), P_BODY));
		break;
	case CONN_BUSY:
		atomic_store(&c->state, pack(http_now_ms(), P_BUSY));
		break;
	}
}

/* One look at every connection (under the lock). */
static void watch_tick(struct conn_watch *w, int64_t now)
{
	struct conn *c;
	uint64_t s;
	int64_t since;
	int phase;
	ssize_t sent;

	for (c = w->head; c; c = c->next) {
		if (c->shut)
			continue;
		s = atomic_load(&c->state);
		phase = (int)(s & 3);
		since = (int64_t)(s >> 2);
		if (phase == P_IDLE && received(c) > atomic_load(&c->mark)) {
			/* a request has started, at the earliest since the last look */
			if (w->last_tick > since)
				since = w->last_tick;
			if (atomic_compare_exchange_strong(&c->state, &s, pack(since, P_HEAD)))
				phase = P_HEAD;
		}
		if (!(phase == P_HEAD && now - since > w->head_ms) &&
		    !(phase == P_BODY && now - since > w->body_ms))
			continue;
		/* the answer is a courtesy (plain http only): the shutdown is what matters */
		sent = w->tls ? 0 : send(c->fd, w->timeout_reply, strlen(w->timeout_reply),
		                         MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)sent;
		shutdown(c->fd, SHUT_RDWR);
		c->shut = 1;
		if (phase == P_HEAD)
			w->slow_head++;
		else
			w->slow_body++;
		memcpy(w->slow_addr, c->addr, sizeof c->addr);
	}
	w->last_tick = now;
}

/* The lines the tick has to say (one per kind), with the lock released. */
static void watch_log(struct conn_watch *w)
{
	unsigned refused = w->refused, head = w->slow_head, body = w->slow_body;
	char raddr[48], saddr[48];

	if (!refused && !head && !body)
		return;
	memcpy(raddr, w->refused_addr, sizeof raddr);
	memcpy(saddr, w->slow_addr, sizeof saddr);
	w->refused = w->slow_head = w->slow_body = 0;
	pthread_mutex_unlock(&w->lock);
	if (refused)
		fprintf(stderr, "tessera: closed %u connection%s over max_connections_per_address "
		        "(%d), the last from %s\n", refused, refused == 1 ? "" : "s", w->cap, raddr);
	if (head)
		fprintf(stderr, "tessera: closed %u connection%s whose request head took longer than "
		        "request_header_timeout (%d s), the last from %s\n", head, head == 1 ? "" : "s",
		        w->head_ms / 1000, saddr);
	if (body)
		fprintf(stderr, "tessera: closed %u connection%s whose request body took longer than "
		        "request_body_timeout (%d s), the last from %s\n", body, body == 1 ? "" : "s",
		        w->body_ms / 1000, saddr);
	pthread_mutex_lock(&w->lock);
}

static void *watch_main(void *arg)
{
	struct conn_watch *w = arg;
	struct timespec until;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		watch_tick(w, http_now_ms());
		watch_log(w);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (!w->stop)
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int conn_watch_start(struct server *srv)
{
	struct conn_watch *w = srv->watch;

	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

void conn_watch_stop(struct server *srv)
{
	struct conn_watch *w = srv->watch;

	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = 0;
}

void conn_watch_free(struct server *srv)
{
	struct conn_watch *w = srv->watch;

	if (!w)
		return;
	conn_watch_stop(srv);
	/* every connection has closed by now (MHD_stop_daemon) and emptied the list and counts */
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	netaddr_list_free(w->proxies);
	free(w);
	srv->watch = NULL;
}
