/* metrics.c - Prometheus text: requests by endpoint and status, tokens issued by grant type, and
 * a request latency histogram. Counters are atomics: no lock on the request path. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "netaddr.h"
#include "server.h"
#include "writer.h"

#define TOKEN_MIN 32     /* characters of a metrics bearer token, at least */

static const int codes[] = {200, 204, 302, 303, 304, 400, 401, 403, 404, 405, 409, 413, 415,
                            429, 500, 503};
#define N_CODES (sizeof codes / sizeof codes[0])
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5, 1, 2.5};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])
static const char *const grant_names[G_COUNT] = {
	"client_credentials", "authorization_code", "refresh_token",
	"urn:ietf:params:oauth:grant-type:device_code"};

static atomic_ullong requests[R_COUNT][N_CODES + 1]; /* last column: any other status */
/* each route's path (router_path), given with its first request: metrics.c is below the router */
static _Atomic(const char *) endpoints[R_COUNT];
static atomic_ullong latency[N_BUCKETS + 1];         /* last: above every bucket */
static atomic_ullong latency_sum_ns;
static atomic_ullong tokens[G_COUNT];

void metrics_request(enum route_id route, const char *path, int status, uint64_t ns)
{
	size_t i, b;

	for (i = 0; i < N_CODES && codes[i] != status; i++)
		;
	atomic_store_explicit(&endpoints[route], path, memory_order_relaxed);
	/* release: metrics_render, seeing the count, sees the path too */
	atomic_fetch_add_explicit(&requests[route][i], 1, memory_order_release);
	for (b = 0; b < N_BUCKETS && (double)ns / 1e9 > buckets[b]; b++)
		;
	atomic_fetch_add_explicit(&latency[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&latency_sum_ns, ns, memory_order_relaxed);
}

void metrics_token(enum grant_kind g)
{
	atomic_fetch_add_explicit(&tokens[g], 1, memory_order_relaxed);
}

/* Where the daemon's memory is: what malloc has handed out, and what it keeps after a free.
 * The two tell an operator (and the soak) whether a growing RSS is live data or the allocator
 * holding on to freed memory. */
static void memory(FILE *f)
{
	size_t in_use, kept;

	memory_stats(&in_use, &kept);
	fprintf(f, "# HELP tessera_malloc_in_use_bytes Memory malloc has handed out.\n"
	        "# TYPE tessera_malloc_in_use_bytes gauge\n"
	        "tessera_malloc_in_use_bytes %zu\n", in_use);
	fprintf(f, "# HELP tessera_malloc_free_bytes Freed memory malloc keeps for reuse.\n"
	        "# TYPE tessera_malloc_free_bytes gauge\n"
	        "tessera_malloc_free_bytes %zu\n", kept);
}

/* What the writer has done: with the requests counted above, what each write costs on this
 * engine (time per job, jobs per transaction; make bench-pg reads them per flow). */
static void writes(FILE *f, const struct server *srv)
{
	struct writer_stats st;

	writer_stats(srv->writer, &st);
	fprintf(f, "# HELP tessera_writer_jobs_total Write jobs run by the writer (a request's writes "
	        "each), committed or not.\n"
	        "# TYPE tessera_writer_jobs_total counter\n"
	        "tessera_writer_jobs_total %llu\n", st.jobs);
	fprintf(f, "# HELP tessera_writer_transactions_total Transactions of the writer: one per batch "
	        "of jobs committed together.\n"
	        "# TYPE tessera_writer_transactions_total counter\n"
	        "tessera_writer_transactions_total %llu\n", st.batches);
	fprintf(f, "# HELP tessera_writer_busy_seconds_total Time the writer spent running its "
	        "transactions, statements and commits included.\n"
	        "# TYPE tessera_writer_busy_seconds_total counter\n"
	        "tessera_writer_busy_seconds_total %.6f\n", (double)st.busy_ns / 1e9);
}

char *metrics_render(const struct server *srv)
{
	char *buf = NULL;
	size_t len = 0, i, j;
	unsigned long long n, cum = 0;
	const char *path;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("# HELP tessera_http_requests_total HTTP requests answered, by endpoint and status.\n"
	      "# TYPE tessera_http_requests_total counter\n", f);
	for (i = 0; i < R_COUNT; i++) {
		for (j = 0; j <= N_CODES; j++) {
			n = atomic_load_explicit(&requests[i][j], memory_order_acquire);
			if (!n)
				continue;
			path = atomic_load_explicit(&endpoints[i], memory_order_relaxed);
			if (j < N_CODES)
				fprintf(f, "tessera_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
				        path, codes[j], n);
			else
				fprintf(f, "tessera_http_requests_total{endpoint=\"%s\",code=\"other\"} %llu\n",
				        path, n);
		}
	}
	fputs("# HELP tessera_tokens_issued_total Access tokens issued, by grant type.\n"
	      "# TYPE tessera_tokens_issued_total counter\n", f);
	for (i = 0; i < G_COUNT; i++)
		fprintf(f, "tessera_tokens_issued_total{grant_type=\"%s\"} %llu\n", grant_names[i],
		        atomic_load_explicit(&tokens[i], memory_order_relaxed));
	fputs("# HELP tessera_http_request_duration_seconds Time from request to response.\n"
	      "# TYPE tessera_http_request_duration_seconds histogram\n", f);
	for (i = 0; i <= N_BUCKETS; i++) {
		cum += atomic_load_explicit(&latency[i], memory_order_relaxed);
		if (i < N_BUCKETS)
			fprintf(f, "tessera_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			        buckets[i], cum);
		else
			fprintf(f, "tessera_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			        cum);
	}
	fprintf(f, "tessera_http_request_duration_seconds_sum %.6f\n",
	        (double)atomic_load_explicit(&latency_sum_ns, memory_order_relaxed) / 1e9);
	fprintf(f, "tessera_http_request_duration_seconds_count %llu\n", cum);
	memory(f);
	writes(f, srv);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int metrics_setup(struct server *srv)
{
	char buf[4097];
	size_t n = 0, i;
	FILE *f;
	int ok;

	if (srv->cfg.metrics != METRICS_TOKEN)
		return 0;
	if (!srv->cfg.metrics_token_file) {
		fprintf(stderr, "tessera: metrics = token needs metrics_token_file\n");
		return -1;
	}
	f = fopen(srv->cfg.metrics_token_file, "r");
	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	                 buf[n - 1] == '\t'))
		n--;
	ok = f && n >= TOKEN_MIN && n < sizeof buf - 1;
	for (i = 0; ok && i < n; i++)
		ok = buf[i] > 0x20 && buf[i] < 0x7f;
	if (ok)
		secret_sha256(buf, n, srv->metrics_token_hash);
	secret_wipe(buf, sizeof buf);
	if (!ok)
		fprintf(stderr, "tessera: metrics_token_file %s: %s\n", srv->cfg.metrics_token_file,
		        !f ? "cannot be read" : "must hold one token of at least 32 printable "
		        "characters (e.g. openssl rand -hex 32)");
	return ok ? 0 : -1;
}

/* Whether r may read the metrics (metrics in [server]); when not, it has replied. */
static int metrics_allowed(struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *auth = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char hash[32];
	int ok;

	switch (r->srv->cfg.metrics) {
	case METRICS_OFF:
		reply_error(r, TS_NOT_FOUND, NULL);
		return 0;
	case METRICS_LOOPBACK:
		/* a reverse proxy on the same host connects from loopback too: what it passes on
		 * usually says so in a forwarding header */
		if (ci && netaddr_is_loopback(ci->client_addr) && !http_header(r, "Forwarded") &&
		    !http_header(r, "X-Forwarded-For") && !http_header(r, "X-Real-IP"))
			return 1;
		reply_error(r, TS_FORBIDDEN, "metrics are served to loopback clients only");
		return 0;
	case METRICS_TOKEN:
		ok = auth && strncasecmp(auth, "Bearer ", 7) == 0;
		if (ok) {
			secret_sha256(auth + 7, strlen(auth + 7), hash);
			ok = secret_equal(hash, r->srv->metrics_token_hash, sizeof hash);
		}
		if (!ok)
			reply_error(r, TS_INVALID_TOKEN, "the metrics need their bearer token");
		return ok;
	}
	return 0;
}

void metrics_handle(struct request *r)
{
	char *text;

	if (!metrics_allowed(r))
		return;
	text = metrics_render(r->srv);
	if (!text) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_raw(r, 200, "text/plain; version=0.0.4", text, strlen(text), "no-store");
	free(text);
}
