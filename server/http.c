/* http.c - libmicrohttpd glue, above the router: collects a request body under a size cap, hands
 * the request to the router (router.c), resumes it when its write has committed, logs one line
 * per request, and frees it. What handlers read of a request is request.c's. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "form.h"
#include "httphdr.h"
#include "tls.h"
#include "writer.h"
#include "server.h"

/* Bodies above this are refused before they are read; smaller ones over max_body are read and
 * discarded first, so the client reliably sees the 413 instead of a reset connection. */
#define DISCARD_LIMIT (1024 * 1024)

/* The GnuTLS priorities of `serve --tls-cert`: TLS 1.3 and 1.2 only; AEAD ciphers only (AES-GCM,
 * ChaCha20-Poly1305); in TLS 1.2 only ECDHE key exchange (forward secrecy); elliptic-curve
 * groups only (finite-field DHE is slow and no client needs it); no SHA-1 signatures; the
 * server's order wins. Check with: gnutls-cli --priority '...' -l */
static const char tls_priorities[] =
	"SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
	"-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:"
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:"
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE";

static void close_store(void *s)
{
	store_close(s);
}

/* The reply of a request whose write has committed (or failed). then may hand another write
 * over (http_write_then again: DPoP's jti before a grant's own write), which is r's job from
 * then on. */
static void write_continue(struct request *r)
{
	void (*then)(struct request *, ts_err, void *) = r->then;
	void (*free_job)(void *) = r->free_job;
	void *job = r->job;

	r->then = NULL;
	r->job = NULL;
	then(r, r->write_rc, job);
	free_job(job);
}

static int append_body(struct request *r, const char *data, size_t n, size_t max)
{
	if (r->too_large || r->body_len + n > max) {
		r->too_large = 1;
		return 0;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		char *grown;

		while (cap < r->body_len + n + 1)
			cap *= 2;
		grown = realloc(r->body, cap);
		if (!grown)
			return -1;
		r->body = grown;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

/* Called by libmicrohttpd with the raw request target before anything else: the request is made
 * here so that the query string reaches the handlers exactly as sent (repeated parameters,
 * escapes and all), to be parsed by lib/form like a body. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof *r);
	const char *q;
	size_t path_len;

	conn_phase(conn, CONN_HEAD);
	if (!r)
		return NULL;
	r->srv = cls;
	r->uri = strdup(uri ? uri : "");
	if (!r->uri) {
		free(r);
		return NULL;
	}
	q = strchr(r->uri, '?');
	r->query = q ? q + 1 : "";
	r->start_ns = http_now_ns();
	/* libmicrohttpd decodes the path in place and cuts it at a %00: "/metrics%00x" would be
	 * served as "/metrics" (refused in bad_request) */
	path_len = q ? (size_t)(q - r->uri) : strlen(r->uri);
	r->target_len = strlen(r->uri);
	for (q = r->uri; (q = memchr(q, '%', path_len - (size_t)(q - r->uri))); q++)
		if (q[1] == '0' && q[2] == '0')
			r->nul_in_target = 1;
	return r;
}

static enum MHD_Result framing_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	(void)kind;
	httphdr_framing_field(cls, key ? key : "", value ? value : "");
	return MHD_YES;
}

/* Why the request is refused before its body is read (it is then answered 400 and its
 * connection closed), or NULL: a NUL in its path, sent raw or as %00 (the path would be cut
 * short there); a body whose framing a proxy in front could read differently (RFC 9112 §6;
 * lib/httphdr.h). libmicrohttpd parses the request line in place, so the version follows the
 * target: when the target as on_uri saw it (up to its first NUL) ends before that, it held a
 * raw NUL. */
static const char *bad_request(struct request *r, const char *url, const char *version)
{
	struct httphdr_framing f = {0};
	size_t span = version > url ? (size_t)(version - url) : 0;

	if (r->nul_in_target || (span > r->target_len + 1 && span < 65536))
		return "NUL in the request target";
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, framing_field, &f);
	return httphdr_framing_check(&f, strcmp(version, MHD_HTTP_VERSION_1_0) == 0);
}

/* Counts the open connections, for the caps (conn.c): a connection opened while max_connections
 * were already open is answered 503 on every request; the connections opened under the cap keep
 * being served. One over max_connections_per_address is closed at once. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_opened(srv, conn, socket_context);
		clientcert_request(srv, conn);   /* before its handshake */
	}
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(srv, *socket_context);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
	const char *cl, *why;

	if (!r)
		return MHD_NO; /* on_uri could not allocate */
	if (!r->conn) {
		r->conn = conn;
		r->method = method;
		r->url = url;
		cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if ((why = bad_request(r, url, version))) {
			/* answered before the body is read, so libmicrohttpd closes the connection */
			r->close = 1;
			reply_error(r, TS_INVALID_REQUEST, why);
		} else if (conn_over_cap(conn)) {
			/* over the cap (MHD itself accepts a margin more): a clear answer, then close */
			r->close = 1;
			reply_error(r, TS_UNAVAILABLE, "too many connections, try again");
		} else if (cl && strtoull(cl, NULL, 10) > DISCARD_LIMIT) {
			r->too_large = 1;
			reply_error(r, TS_TOO_LARGE, "request body too large");
		}
		conn_phase(conn, r->status ? CONN_BUSY : CONN_BODY);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->status && append_body(r, upload_data, *upload_data_size,
		                              (size_t)srv->cfg.max_body) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	conn_phase(conn, CONN_BUSY);
	if (r->status)
		return MHD_YES;
	if (r->then) {
		write_continue(r);
		return r->status || r->then ? MHD_YES : MHD_NO;
	}
	if (r->too_large)
		reply_error(r, TS_TOO_LARGE, "request body too large");
	else
		router_dispatch(r);
	return r->status || r->then ? MHD_YES : MHD_NO;
}

/* Appends s to buf at *o with anything but printable ASCII replaced, at most max bytes: request
 * data in logs can neither forge lines nor flood them. */
static void log_clean(char *buf, size_t *o, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i < max; i++)
		buf[(*o)++] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (!s || !*s)
		buf[(*o)++] = '-';
}

/* One line per request, written with one write(2) so lines from threads never mix. */
static void log_request(const struct request *r, uint64_t ns)
{
	char line[512];
	size_t o = 0;

	log_clean(line, &o, r->method, 16);
	line[o++] = ' ';
	log_clean(line, &o, r->url, 200);
	o += (size_t)snprintf(line + o, 64, " %d %.3fms ", r->status, (double)ns / 1e6);
	log_clean(line, &o, r->client_id, 128);
	line[o++] = '\n';
	if (write(STDERR_FILENO, line, o) < 0)
		return; /* nowhere to report a failing log */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	uint64_t ns;

	(void)cls;
	(void)toe;
	conn_phase(conn, CONN_IDLE);
	if (!r)
		return;
	ns = http_now_ns() - r->start_ns;
	metrics_request(r->route, router_path(r->route), r->status, ns);
	log_request(r, ns);
	if (r->job)
		r->free_job(r->job);
	form_free(r->form);
	store_client_free(r->client);
	free(r->body);
	free(r->client_id);
	free(r->uri);
	free(r->set_cookie[0]);
	free(r->set_cookie[1]);
	free(r->cookie[0]);
	free(r->cookie[1]);
	free(r);
	*con_cls = NULL;
}

/* Once the daemon is stopping, a new connection is closed as soon as it is accepted. (Not
 * MHD_quiesce_daemon: in libmicrohttpd 0.9.75 it races a worker thread that takes the listening
 * socket out of its epoll set too, and one of them aborts the process; make asan caught it.) */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct server *srv = cls;

	(void)addr;
	(void)len;
	return atomic_load_explicit(&srv->stopping, memory_order_relaxed) ? MHD_NO : MHD_YES;
}

/* How many connections beyond max_connections are accepted only to be answered 503. */
unsigned http_overflow(const struct config *cfg)
{
	unsigned m = (unsigned)cfg->max_connections / 4;

	return m < 256 ? 256 : m;
}

static void on_mhd_log(void *cls, const char *fm, va_list ap)
{
	(void)cls;
	fputs("tessera: http: ", stderr);
	vfprintf(stderr, fm, ap);
}

int http_start(struct server *srv, const struct tls_pem *tls)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char host[256];
	const char *colon, *port, *h = srv->cfg.listen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* a worker waits while the writer commits (group commit): more workers than cores keep the
	 * cores busy and give each commit more answers to carry */
	unsigned threads = srv->cfg.threads > 0 ? (unsigned)srv->cfg.threads :
	                   8 * (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	size_t hl;
	/* libmicrohttpd copies neither: they must live until MHD_start_daemon returns, when GnuTLS
	 * has parsed them into its own credentials */
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, tls ? tls->cert : NULL},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, tls ? tls->key : NULL},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)tls_priorities},
		{MHD_OPTION_END, 0, NULL},
	};

	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		fprintf(stderr, "tessera: this libmicrohttpd is built without TLS (GnuTLS); serve "
		        "plain http behind a TLS-terminating proxy instead\n");
		return -1;
	}
	if (tls)
		flags |= MHD_USE_TLS;
	colon = strrchr(h, ':');
	if (!colon || colon == h || !colon[1]) {
		fprintf(stderr, "tessera: listen address must be HOST:PORT, not \"%s\"\n", h);
		return -1;
	}
	port = colon + 1;
	if (*h == '[' && colon[-1] == ']')
		h++, hl = (size_t)(colon - 1 - h);
	else
		hl = (size_t)(colon - h);
	if (hl >= sizeof host) {
		fprintf(stderr, "tessera: listen host too long\n");
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
		fprintf(stderr, "tessera: cannot resolve listen address %s\n", srv->cfg.listen);
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (threads < 1)
		threads = 1;
	if (conn_watch_new(srv) != 0) {
		freeaddrinfo(ai);
		return -1;
	}
	if (pthread_key_create(&srv->store_key, close_store) != 0) {
		freeaddrinfo(ai);
		conn_watch_free(srv);
		return -1;
	}
	srv->mhd = MHD_start_daemon(flags, 0, on_accept, srv, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)srv->cfg.max_connections + http_overflow(&srv->cfg),
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)srv->cfg.connection_timeout,
		/* each connection's buffer for its request head and reads (MHD's default is 32 KiB):
		 * 10,000 keep-alive connections took 344 MB of RSS with it, 84 MB with 8 KiB. Bodies
		 * are copied out to r->body as they come, so only the request line and headers must
		 * fit. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
		MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)1024,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
		MHD_OPTION_ARRAY, tls ? tls_opts : tls_opts + 3,
		MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!srv->mhd) {
		fprintf(stderr, "tessera: cannot %s on %s\n", tls ? "start https" : "listen",
		        srv->cfg.listen);
		pthread_key_delete(srv->store_key);
		conn_watch_free(srv);
		return -1;
	}
	if (conn_watch_start(srv) != 0) {
		fprintf(stderr, "tessera: cannot start the connection watcher\n");
		MHD_stop_daemon(srv->mhd);
		srv->mhd = NULL;
		pthread_key_delete(srv->store_key);
		conn_watch_free(srv);
		return -1;
	}
	return 0;
}

/* Waits until no connection is open, at most tries times 20 ms. */
static void wait_connections(struct server *srv, int tries)
{
	const union MHD_DaemonInfo *info;

	while (tries-- > 0) {
		info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || info->num_connections == 0)
			return;
		usleep(20000);
	}
}

void http_stop(struct server *srv)
{
	if (!srv->mhd)
		return;
	atomic_store(&srv->stopping, 1);
	/* let requests in flight finish (bounded), then close what is left, idle keep-alives too */
	wait_connections(srv, 50);
	/* no write may end after its connection is gone: refuse new ones, finish those handed over,
	 * and give their answers a moment to leave */
	writer_close(srv->writer);
	wait_connections(srv, 10);
	conn_watch_stop(srv);
	MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	conn_watch_free(srv);
	pthread_key_delete(srv->store_key);
}
