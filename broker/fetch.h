/* fetch.h - the plugin's HTTP client: one libcurl easy handle per thread that uses it, set up the
 * same way for the JWKS and the introspection endpoint.
 *
 * libcurl's global state is initialised once per process (pthread_once) by fetch_new and never
 * cleaned up: jwks.c and introspect.c may each be opened and closed while the other still runs,
 * and curl_global_cleanup is not thread-safe, so it is left to the process's exit. */
#ifndef TESSERA_BROKER_FETCH_H
#define TESSERA_BROKER_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <curl/curl.h>
#include "err.h"

#define FETCH_TIMEOUT 5            /* seconds for a whole request, connection included */
#define FETCH_MAX_BODY (1 << 20)   /* longest answer body read */

#define FETCH_MAX_RETRY_AFTER 86400 /* a longer Retry-After is taken as this */

/* An answer: the status, the body (NUL-terminated, malloc'd), and the seconds its Retry-After
 * header asks to wait (RFC 9110 §10.2.3: delta-seconds or an HTTP-date, at most
 * FETCH_MAX_RETRY_AFTER; -1 without one or when it cannot be read). */
struct fetch_reply {
	long status;
	char *body;
	size_t len;
	long retry_after;
};

/* A new easy handle for url: http and https only (also for redirects, which are never followed),
 * FETCH_TIMEOUT, no signals, no proxy from the environment, TLS peers verified against ca_file
 * when not NULL (curl's default bundle otherwise), bodies over FETCH_MAX_BODY refused. When stop
 * is not NULL, a transfer in progress is aborted soon after *stop becomes non-zero. The caller
 * frees the handle with curl_easy_cleanup; *why (static text) says what failed. */
ts_err fetch_new(const char *url, const char *ca_file, const atomic_int *stop, CURL **out,
                 const char **why);

/* One request on c: GET, or POST of body (blen bytes, form-urlencoded) when body is not NULL,
 * with the extra headers (may be NULL; kept by the caller). On TS_OK *r holds the status and the
 * body (the caller frees r->body, or calls fetch_reply_free). TS_UNAVAILABLE when no answer
 * came (connection, TLS, timeout, too large a body, abort), with *why. c keeps its connection
 * open for the next request. Not thread-safe for one c. */
ts_err fetch_do(CURL *c, const char *body, size_t blen, struct curl_slist *headers,
                struct fetch_reply *r, const char **why);

/* Frees r->body (wiped first) and zeroes r. NULL is fine. */
void fetch_reply_free(struct fetch_reply *r);

/* s form-urlencoded (RFC 6749 Appendix B: ALPHA DIGIT "-._~" kept, space as '+', the rest
 * %XX). malloc'd: the caller frees (with secret_free when s is a secret); NULL when out of
 * memory. */
char *fetch_form_encode(const char *s);

#endif
