/* server.h - the daemon's private header: the server, a request, replies, routes, metrics. */
#ifndef TESSERA_SERVER_H
#define TESSERA_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>
#include "config.h"
#include "dpop.h"
#include "err.h"
#include "keys.h"
#include "secret.h"
#include "store.h"

struct server {
	struct config cfg;
	int https;                   /* the issuer is https: Secure, __Host- cookies, HSTS */
	unsigned char csrf_key[32];  /* the store's secret "csrf": keys the CSRF tokens of the forms
	                              * (shared by every node over the database) */
	struct throttle *user_throttle, *addr_throttle;
	struct throttle *secret_throttle; /* failed client authentications */
	struct throttle *code_addr_throttle, *code_total_throttle; /* wrong user codes (RFC 8628) */
	char *dummy_hash;            /* a password hash to check when the user does not exist */
	unsigned char metrics_token_hash[32]; /* SHA-256 of the /metrics bearer token */
	struct MHD_Daemon *mhd;
	atomic_int connections;      /* open HTTP connections; above cfg.max_connections: 503 */
	struct conn_watch *watch;    /* open connections: per-address counts, request deadlines */
	atomic_int stopping;         /* set by http_stop: new connections are closed at once */
	struct keys_live keys;       /* the keyring in use (lib/keys.h: keys_acquire) */
	char *discovery;             /* the RFC 8414 document, built once */
	pthread_key_t store_key;     /* each worker thread's store connection */
	struct writer *writer;       /* every write goes through it (group commit) */
	struct feed_hub *feeds;      /* the open GET /changes (feed.c) */
	struct client_ca *client_ca; /* tls_client_ca: what tls_client_auth chains verify to */
	unsigned char dpop_nonce_key[32]; /* the database's "dpop-nonce" secret (dpop.c) */
	struct throttle *enroll_throttle; /* registrations per enrollment token (register.c) */
};

enum route_id {
	R_OTHER, R_TOKEN, R_INTROSPECT, R_REVOKE, R_JWKS, R_OIDC_CONFIG, R_OAUTH_CONFIG,
	R_HEALTHZ, R_METRICS, R_AUTHORIZE, R_LOGIN, R_CONSENT, R_USERINFO, R_STATIC,
	R_DEVICE_AUTHORIZATION, R_DEVICE, R_DEVICE_QR, R_LOGOUT, R_SCIM, R_CHANGES, R_REGISTER, R_COUNT
};

struct request {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method, *url;
	char *uri;           /* the raw request target, query included */
	const char *query;   /* in uri, after '?'; "" when none */
	size_t target_len;   /* of uri as libmicrohttpd gave it (up to a raw NUL) */
	int nul_in_target;   /* its path holds %00 */
	enum route_id route;
	const char *allow;    /* methods of the route, for 405 */
	char *body;
	size_t body_len, body_cap;
	int too_large;
	int close;           /* send Connection: close (over the connection cap) */
	int head_refused;    /* an answer did not fit (reply.c): the next one is sent as it is */
	int retry_after;     /* seconds, for the Retry-After of a 429 or 503; 0: 1 */
	int status;          /* of the reply queued */
	char *client_id;     /* for the log line, once known */
	char *set_cookie[2]; /* Set-Cookie values for the reply */
	char *cookie[2];     /* page_cookie's copies of the session and CSRF cookies */
	uint64_t start_ns;   /* monotonic, when its head began */
	int64_t now;         /* the request's time (Unix seconds), read once by the router */
	struct form *form;   /* its form and client, when its route needs them (router.c) */
	struct client *client;
	char x5t[44];        /* its connection's client certificate's x5t#S256 ("": none) */
	int x5t_known;       /* x5t was looked up (clientcert.c) */
	/* a write handed to the writer while the connection is suspended (http_write_then) */
	void *job;
	void (*then)(struct request *r, ts_err rc, void *job);
	void (*free_job)(void *job);
	ts_err write_rc;
	/* DPoP (dpop.c) */
	char dpop_jkt[DPOP_JKT_LEN + 1]; /* /token: the key of its good proof ("" none): the
	                                  * tokens it issues are bound to it */
	int dpop;                /* it uses DPoP (or presents a bound token): error challenges say
	                          * DPoP, not Bearer */
	const char *dpop_error;  /* the challenge's error when not the reply's own */
	char dpop_nonce[DPOP_NONCE_LEN + 1]; /* a DPoP-Nonce header to send ("" none) */
};

/* http.c: the libmicrohttpd glue, above the router */
/* Per connection, for the request line and headers (and the reads), and then the head of the
 * answer: room for a bearer token with many topic filters, yet 10,000 keep-alive connections
 * within about 60 MB. */
#define HTTP_CONN_MEMORY (6 * 1024)
struct tls_pem;
/* Starts serving cfg.listen: https with tls's certificate and key (TLS 1.2 and 1.3, modern
 * ciphers), or plain http when tls is NULL. tls may be wiped once it returns. -1 on failure
 * (said on stderr). */
int http_start(struct server *srv, const struct tls_pem *tls);
/* Connections accepted beyond cfg.max_connections, to be answered 503 (not refused unanswered). */
unsigned http_overflow(const struct config *cfg);
void http_stop(struct server *srv);

/* request.c: what handlers read of their request, below the router and the handlers */
store *http_store(struct request *r); /* this thread's connection; NULL on failure */
/* Runs a write job through the group-committing writer; returns after it committed. */
ts_err http_write(struct request *r, ts_err (*fn)(store *s, void *arg), void *arg);
/* The same without holding the worker thread, for the busiest writes: the connection is suspended
 * until the transaction holding fn(s, job) has committed, then then(r, rc, job) runs on a worker
 * and replies, and free_job(job) follows. If the request ends first (the daemon stops), only
 * free_job runs. The handler returns right after this call; job (heap memory, possibly pointing
 * into r->form and r->client) belongs to r from now on. */
void http_write_then(struct request *r, ts_err (*fn)(store *s, void *job), void *job,
                     void (*then)(struct request *r, ts_err rc, void *job),
                     void (*free_job)(void *job));
const char *http_header(struct request *r, const char *name);
uint64_t http_now_ns(void);
int64_t http_now_ms(void); /* monotonic, for waits */
int64_t http_now(void);
int64_t http_wall_ms(void); /* Unix time in ms: what several nodes compare (shared records) */
/* The client's address as text (for throttling), into buf. */
void http_client_addr(struct request *r, char *buf, size_t n);

/* conn.c: the connections one address may hold and the time a request may take to arrive */
enum conn_phase {
	CONN_IDLE,   /* waiting for a request: the answer to the previous one has been sent */
	CONN_HEAD,   /* the request line is in (its head began with its first byte) */
	CONN_BODY,   /* the head is complete, the body is coming */
	CONN_BUSY,   /* the request is complete: being handled or answered */
};
int conn_watch_new(struct server *srv);   /* before http_start's MHD_start_daemon; -1: failed */
int conn_watch_start(struct server *srv); /* its thread; -1 when it cannot start */
void conn_watch_stop(struct server *srv);
void conn_watch_free(struct server *srv); /* after MHD_stop_daemon; stops it first */
/* From on_connection: a connection opened (sets *socket_context) or closed. */
void conn_opened(struct server *srv, struct MHD_Connection *c, void **socket_context);
void conn_closed(struct server *srv, void *socket_context);
int conn_over_cap(struct MHD_Connection *c); /* opened beyond max_connections: answer 503 */
void conn_phase(struct MHD_Connection *c, enum conn_phase phase);

/* router.c: the routes table. Its columns say what a route needs before its handler runs, which
 * the router does in this order (on failure it has replied and the handler does not run): */
enum route_form {
	FORM_NONE,
	FORM_BODY,  /* the body as a form in r->form (no repeated parameter); 400 otherwise */
	FORM_PAGE,  /* a page's form in r->form: the query of a GET, the body of a POST (repeats
	             * allowed); an error page otherwise */
};
enum route_client {
	CLIENT_NONE,
	CLIENT_AUTH, /* the client authenticated from the form in r->client, under the guessing
	              * limit for client secrets: 401, or 429 with Retry-After */
};
void router_dispatch(struct request *r);
const char *router_path(enum route_id id);

/* reply.c: every handler ends by calling exactly one of these. */
void reply_json(struct request *r, int status, json_t *body);      /* steals body */
struct jbuf;
void reply_jbuf(struct request *r, int status, struct jbuf *b);    /* takes b's text */
void reply_raw(struct request *r, int status, const char *type, const char *body, size_t len,
               const char *cache_control);
void reply_error(struct request *r, ts_err e, const char *description);
void reply_empty(struct request *r, int status);
/* SCIM (RFC 7644), application/scim+json: a resource or list (body NULL: none, for 204 and 304)
 * with its ETag and Location when given; and an error (§3.12) of e's status with its scimType
 * (NULL: none) and detail. reply_error on a /scim/v2 request answers in that format too. */
void reply_scim(struct request *r, int status, json_t *body, const char *etag,
                const char *location);
void reply_scim_error(struct request *r, ts_err e, const char *scim_type, const char *detail);
void reply_scim_text(struct request *r, int status, struct jbuf *b); /* takes b's text */
/* invalid_scope (or rc) for a scope that scope_grant refused; bad: the malformed token or NULL. */
void reply_scope_error(struct request *r, ts_err rc, const char *bad);
/* An HTML page (Content-Security-Policy, X-Frame-Options and the rest on it). Takes html. */
void reply_html(struct request *r, int status, char *html);
/* 303 See Other to location (copied). */
void reply_redirect(struct request *r, const char *location);
/* A page of a title, a message and a note under it (the template error.html). */
void reply_page(struct request *r, int status, const char *title, const char *message,
                const char *note);
/* The error page: a page whose note says to start again from the app or device. */
void reply_page_error(struct request *r, int status, const char *title, const char *message);

/* token.c: whether a user's access token (u NULL: a client's) for scope would be short enough
 * to be issued (lib/token.h TOKEN_ACCESS_MAX), checked before a grant or rotation is written;
 * gid 0 for a grant not made yet; x5t and jkt the token's binding (cnf), NULL for none. Where
 * the binding is not known yet (a consent: the redemption may bring a certificate or a DPoP
 * proof), TOKEN_BINDING_ROOM for both keeps room for any. TS_OK, TS_INVALID_SCOPE or
 * TS_SERVER_ERROR. */
#define TOKEN_BINDING_ROOM "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* a thumbprint */
struct user;
ts_err token_user_fits(struct server *srv, const char *client_id, const struct user *u,
                       const char *scope, int64_t gid, const char *x5t, const char *jkt);

/* handlers */
void token_handle(struct request *r);
void introspect_handle(struct request *r);
void revoke_handle(struct request *r);
void discovery_handle(struct request *r);
void jwks_handle(struct request *r);
void healthz_handle(struct request *r);
void metrics_handle(struct request *r);
void static_handle(struct request *r);
void authorize_handle(struct request *r);
void login_handle(struct request *r);
void consent_handle(struct request *r);
void userinfo_handle(struct request *r);
void device_authorization_handle(struct request *r);
void device_page_handle(struct request *r);
void device_qr_handle(struct request *r);
void logout_handle(struct request *r);
void changes_handle(struct request *r);
/* register.c: /register and /register/ID (RFC 7591, 7592), and the limit of registrations per
 * enrollment token */
void register_handle(struct request *r);
extern const struct throttle_policy register_throttle_policy;

/* feed.c: the change feed. new reads the last change id (0, or -1 when out of memory); tick
 * (main loop, every 100 ms) wakes the feeds when there are new changes or a heartbeat is due;
 * stop ends every feed (before http_stop); free after http_stop. */
int feed_hub_new(struct server *srv, store *s);
void feed_tick(struct server *srv, store *s);
void feed_stop(struct server *srv);
void feed_hub_free(struct server *srv);
void scim_handle(struct request *r);
char *discovery_build(const struct config *cfg);

/* introspect.c: the claims of an access token that is ours, not expired: a JWT correctly
 * signed, or a reference token recorded (new reference), or NULL. Revocation and client or user state are grant_token_active's. */
json_t *access_claims(struct request *r, const char *token);
/* introspect.c: the claims of an ID token this server signed (our iss, a string sub), whatever
 * its exp: an id_token_hint at /authorize and /logout (new reference), or NULL. */
json_t *id_token_claims(struct request *r, const char *token);
/* 1 when the ID token claims name user u as their sub (u NULL: never). */
int id_token_is_user(const json_t *claims, const struct user *u);

/* pages.c: what the HTML pages share. Cookie names are "session" and "csrf". */
struct form;
struct session;
struct user;
char *page_url_with(const char *base, const char *const *names, const char *const *values,
                    size_t n);  /* base?names[i]=values[i]&... for the values set; malloc'd */
const char *page_cookie(struct request *r, const char *name);
void page_set_cookie(struct request *r, const char *name, const char *value, int max_age);
/* This browser's CSRF cookie value into out, setting a new cookie when it has none; -1 on OOM. */
int page_csrf_cookie(struct request *r, char out[SECRET_TOKEN_LEN]);
/* The CSRF token of a form for purpose, bound to a cookie value; and whether f's "csrf" is it. */
void page_csrf(const struct server *srv, const char *purpose, const char *bound,
               char out[SECRET_TOKEN_LEN]);
int page_csrf_ok(struct request *r, const struct form *f, const char *purpose, const char *bound);
/* The logged-in user of this browser: 1 with *se and *u set (caller frees *u), 0 when none. */
int page_session_user(struct request *r, store *s, struct session *se, struct user **u);
/* One <li> per scope token, in words, escaped (malloc'd). */
char *page_scope_words(const char *scope);
/* The form of a page request: the query for GET, the body for POST; -1 when it replied. */
int page_request_form(struct request *r, struct form **f);
void page_form_expired(struct request *r);  /* 403 page: a missing or wrong CSRF token */
/* <p class="error" role="alert">error, escaped</p> (malloc'd), or NULL for no error or on OOM. */
char *page_alert(const char *error);
/* What a login is for: the login page shows client_name, username (pre-filled) and hidden
 * (inputs carried through POST /login); a successful login is redirected to next. */
struct login_target {
	char *client_name, *client_id, *hidden, *next, *username;
};
void login_target_free(struct login_target *t);
void page_login(struct request *r, const struct login_target *t, int status, const char *error,
                const char *username);
/* The login target of the hidden fields of a POST /login; -1 when they are bad (it replied). */
int authorize_login_target(struct request *r, struct form *f, struct login_target *t);
int device_login_target(struct request *r, struct form *f, struct login_target *t);

/* clientauth.c: the form and client columns of the routes table */
struct client;
/* Parses the request body as a form (Content-Type must say so); repeats_ok: see form_parse_repeats. */
ts_err endpoint_form(struct request *r, struct form **f, const char **why, int repeats_ok);
/* FORM_BODY: the body into r->form. CLIENT_AUTH: the client of r->form into r->client. On
 * failure they have replied and return -1. r->form and r->client are freed with r. */
int endpoint_body_form(struct request *r);
int endpoint_client(struct request *r);

/* clientcert.c: mutual TLS (RFC 8705) */
/* At a connection's start (on_connection): asks it for a client certificate when
 * tls_client_certificates = request. */
void clientcert_request(struct server *srv, struct MHD_Connection *c);
/* The x5t#S256 of the client certificate of r's connection, or NULL when it presented none. */
const char *clientcert_x5t(struct request *r);
/* The x5t#S256 client c's tokens issued on r are bound to, or NULL when they are not bound. */
const char *clientcert_bind(struct request *r, const struct client *c);
/* Before tokens are issued to c: -1 after replying invalid_request when c's tokens are bound to
 * its certificate and r's connection presented none; else 0. */
int clientcert_token_request(struct request *r, const struct client *c);
/* 1 when a token with these claims may be used on r: not bound to a certificate, or bound to
 * the one r's connection presented; else 0 (/userinfo and /scim/v2 answer invalid_token). */
int clientcert_token_ok(struct request *r, const json_t *claims);
/* Client authentication by certificate (CLIENT_AUTH): TS_NOT_FOUND when the request is not one
 * (the client named uses another method, or a secret, assertion or Authorization header came);
 * else TS_OK with *out the client, or TS_INVALID_CLIENT (*id_out: the claimed id, for logs). */
ts_err clientcert_client(struct request *r, store *s, struct client **out, char **id_out);
/* Adds the tls methods and tls_client_certificate_bound_access_tokens to the discovery
 * document d when client certificates are asked for: 0, or -1 when out of memory. */
int clientcert_discovery(const struct config *cfg, json_t *d);
/* dpop.c: DPoP (RFC 9449) over HTTP. At /token: checks the request's DPoP proof, if it has one
 * (a client registered dpop_bound must send one), and records its single use (a write, the
 * connection suspended meanwhile); then(r) follows with r->dpop_jkt set ("" when no proof),
 * unless it replied (invalid_dpop_proof, use_dpop_nonce, a store's error). */
void dpop_token_request(struct request *r, const struct client *c,
                        void (*then)(struct request *r));
/* At a resource (/userinfo, /scim/v2): the access token of the Authorization header h,
 * "Bearer T" or "DPoP T" (sets r->dpop); NULL when it is neither. */
const char *dpop_auth_token(struct request *r, const char *h);
/* After the token's claims (NULL: not a good token, and nothing is checked): a token bound to
 * a key (cnf.jkt) must come as "DPoP" with a good proof by that key for this request, its ath
 * the token's hash; a "DPoP" token must be bound. 0, or -1 after replying 401. */
int dpop_resource_check(struct request *r, const char *token, const json_t *claims);

/* limits.c: takes an attempt from throttle a under akey, then from b under bkey (b NULL: a
 * only). When either says wait, a's attempt counts as a failure, r->retry_after is set, and the
 * request is answered 429: for page, an error page saying why and the seconds to wait ("Too
 * many failed attempts." + " Try again in 30 seconds."); else the JSON error with why as its
 * description. 1 when it answered; 0 when the attempt may go ahead (the caller then settles
 * the reservations, lib/throttle.h). */
struct throttle;
int limit_reply(struct request *r, struct throttle *a, const char *akey, struct throttle *b,
                const char *bkey, int page, const char *why);
/* throttle_settle, the failure (ok 0) also counted in the store for every node; and
 * throttle_reset, the failures (if any) also cleared there (docs/nodes.md). */
void limit_settle(struct request *r, struct throttle *t, const char *key, int ok);
void limit_reset(struct request *r, struct throttle *t, const char *key);

/* memory.c: the allocator's settings (once, before any thread), its give-back of freed memory
 * (the main loop, every second), and what it has handed out and what it keeps */
void memory_setup(void);
void memory_release(void);
void memory_stats(size_t *in_use, size_t *kept);

/* metrics.c */
enum grant_kind { G_CLIENT_CREDENTIALS, G_AUTHORIZATION_CODE, G_REFRESH_TOKEN, G_DEVICE_CODE, G_COUNT };
/* path: the route's (router_path), for the endpoint label */
void metrics_request(enum route_id route, const char *path, int status, uint64_t ns);
void metrics_token(enum grant_kind g);
char *metrics_render(const struct server *srv);
/* Reads the bearer token of metrics = token (metrics_token_file); 0, or -1 (said on stderr). */
int metrics_setup(struct server *srv);

#endif
