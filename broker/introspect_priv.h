/* introspect_priv.h - what the introspector's files share (introspect.c: open, close, the
 * CONNECT check and the hold-off; introspect_cache.c: the answers kept; introspect_http.c: one
 * request to Tessera; introspect_watch.c: watched sessions and the watcher thread). Threads and
 * locking: see introspect.c. Not for the rest of the plugin: broker.h is its interface. */
#ifndef TESSERA_BROKER_INTROSPECT_PRIV_H
#define TESSERA_BROKER_INTROSPECT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "broker.h"
#include "fetch.h"

#define INTRO_CACHE_MAX 65536      /* answers kept; the oldest goes first */
#define INTRO_CACHE_BUCKETS 16384
#define INTRO_WATCH_BUCKETS 4096
#define INTRO_MAX_TOKEN 16384      /* longer "tokens" are inactive without asking */
#define INTRO_RETRY 5              /* seconds before asking again after no answer */
#define INTRO_HOLD_MAX 60          /* the longest Retry-After honoured */
#define INTRO_MAX_CACHE_SECONDS 86400
#define INTRO_MAX_SCOPE 16384      /* a longer scope in an answer is no answer */

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
	char *scope;                   /* active: the scope Tessera allows now ("" for none) */
	struct intro_entry *chain;     /* next in the bucket */
	struct intro_entry *older, *newer;
};

struct intro_watch {               /* a watched session */
	const void *id;
	char *token;                   /* copy, wiped when freed */
	unsigned char hash[32];
	char *scope;                   /* the scope the session has now (as last handed over) */
	int64_t due;                   /* when to look at it again */
	int64_t gid;                   /* the token's claims, to match the change feed's events */
	char *client_id, *sub, *jti;   /* (NULL when the token says none, or is no JWT) */
	int busy;                      /* the watcher is asking about it (outside the lock) */
	int gone;                      /* unwatched or replaced while busy: the watcher frees it */
	struct intro_watch *chain;     /* next in its bucket by id */
	struct intro_watch *hchain;    /* next in its bucket by token hash */
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
	struct intro_watch *watches[INTRO_WATCH_BUCKETS];       /* by id */
	struct intro_watch *by_hash[INTRO_WATCH_BUCKETS];       /* the same, by token hash */
	struct intro_change *changes;  /* for the broker thread (introspector_changes), in order */
	size_t nchanges, capchanges;
	int64_t hold_until;            /* ask nothing before then (see "Holding off") */
	struct intro_fail hold_fail;   /* the failure that set it */
	struct intro_fail last_fail;   /* the watcher's, for introspector_trouble */
	size_t fails;                  /* the watcher's requests without an answer since then */
	uint64_t epoch;                /* changes the feed reported: an answer asked for before the
	                                * latest one may be stale (intro_apply's stale) */
	struct intro_feed *feed;       /* GET /changes (feed.c), or NULL */
};

/* --- introspect_cache.c (all under mu) --- */

struct intro_entry *intro_cache_find(introspector *in, const unsigned char hash[32]);
/* 1 when e is there and younger than cache_seconds at now. */
int intro_fresh(const introspector *in, const struct intro_entry *e, int64_t now);
/* Remembers an answer; when full, drops expired answers and then the oldest. A failed
 * allocation only means the answer is not cached. */
void intro_cache_put(introspector *in, const unsigned char hash[32], int active,
                     const char *scope, int64_t at);
void intro_cache_free(introspector *in);

/* --- introspect_http.c --- */

/* What an introspection response (a 200's body, len bytes) says: INTRO_ACTIVE with *scope the
 * scope it allows now (malloc'd; "" when the answer names none, or names it as no string:
 * then no topic rights), INTRO_INACTIVE, or INTRO_UNAVAILABLE (not an introspection response,
 * a scope over INTRO_MAX_SCOPE bytes, out of memory) with *why. */
enum intro_answer intro_answer_parse(const char *body, size_t len, char **scope,
                                     const char **why);

/* Asks Tessera about token with handle c: the answer, with *scope as intro_answer_parse's (the
 * caller frees it); on INTRO_UNAVAILABLE *f says why. */
enum intro_answer intro_ask(introspector *in, CURL *c, const char *token, struct intro_fail *f,
                            char **scope);
/* intro_ask that also gives an active answer's whole body (new reference) in *doc. */
enum intro_answer intro_ask_doc(introspector *in, CURL *c, const char *token,
                                struct intro_fail *f, char **scope, json_t **doc);
/* in->headers: Authorization (Basic, RFC 6749 §2.3.1), Content-Type, Accept. */
ts_err intro_headers_make(introspector *in, const char *client_id, const char *secret);
void intro_headers_free(struct curl_slist *h);

/* --- introspect.c --- */

/* How long to hold off after failure f at now (see introspect.c, "Holding off"). Under mu. */
void intro_hold(introspector *in, const struct intro_fail *f, int64_t now);

/* --- introspect_watch.c --- */

/* A new answer about the token with this hash, at time at: into the cache, and onto every live
 * session of the token (intro_watch_apply). Under mu. The one way answers reach sessions:
 * CONNECTs, the watcher and (later) a change feed all come through here. */
void intro_apply(introspector *in, const unsigned char hash[32], int active, const char *scope,
                 int64_t at, int64_t now, int stale);

/* stale: the answer was asked for before the feed's latest change (in->epoch moved meanwhile):
 * it still reaches the sessions, but is not kept as fresh, and the token's sessions are asked
 * about again at once. */

void *intro_watcher(void *arg);
void intro_watches_free(introspector *in);

/* --- feed.c: the change feed --- */

/* Starts the feed thread for cfg (when cfg->feed): 0, or -1 with *why. */
int intro_feed_start(introspector *in, const struct issuer_cfg *cfg, const char **why);
void intro_feed_stop(introspector *in);   /* joins the thread; NULL feed is fine */

/* A change from the feed, under mu: every cached answer goes stale and the sessions whose token
 * matches (all of them when match is NULL) are asked about again at once. */
struct intro_match {
	int64_t gid;                   /* 0: any */
	const char *client_id, *sub, *jti;
};
void intro_changed(introspector *in, const struct intro_match *match);

#endif
