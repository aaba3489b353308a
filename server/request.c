/* request.c - what a handler reads of its request and its connection: headers, the client's
 * address, the clock, this worker's store connection, and the writes through the writer. Below
 * the router and the handlers (http.c, above them, is the libmicrohttpd glue). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include "writer.h"
#include "server.h"

uint64_t http_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t http_now_ms(void)
{
	return (int64_t)(http_now_ns() / 1000000u);
}

int64_t http_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t http_now(void)
{
	return (int64_t)time(NULL);
}

const char *http_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

store *http_store(struct request *r)
{
	struct server *srv = r->srv;
	store *s = pthread_getspecific(srv->store_key);

	if (s)
		return s;
	if (store_open(srv->cfg.db_path, srv->cfg.busy_timeout_ms, srv->cfg.synchronous, &s) != TS_OK)
		return NULL;
	if (pthread_setspecific(srv->store_key, s) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

ts_err http_write(struct request *r, ts_err (*fn)(store *s, void *arg), void *arg)
{
	return writer_run(r->srv->writer, fn, arg);
}

/* On the writer's thread, once r's job has committed: back to a worker (on_request). */
static void write_done(void *arg, ts_err rc)
{
	struct request *r = arg;

	r->write_rc = rc;
	MHD_resume_connection(r->conn);
}

void http_write_then(struct request *r, ts_err (*fn)(store *s, void *job), void *job,
                     void (*then)(struct request *r, ts_err rc, void *job),
                     void (*free_job)(void *job))
{
	ts_err rc;

	r->job = job;
	r->then = then;
	r->free_job = free_job;
	/* suspended before the job is handed over, so that its resume cannot come first */
	MHD_suspend_connection(r->conn);
	rc = writer_submit(r->srv->writer, fn, job, write_done, r);
	if (rc != TS_OK) {
		r->write_rc = rc;
		MHD_resume_connection(r->conn);
	}
}

void http_client_addr(struct request *r, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, n, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)n);
}
