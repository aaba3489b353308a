/* broker.h - the mosquitto plugin's private header: its options, the keys that verify access
 * tokens (a JWKS file or URL), and introspection (RFC 7662) with a cache.
 *
 * Everything here is called from mosquitto's one broker thread, except what introspect.c runs in
 * its own watcher thread (documented there). Nothing here includes mosquitto headers: plugin.c is
 * the only file that speaks to mosquitto. */
#ifndef TESSERA_BROKER_H
#define TESSERA_BROKER_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"

/* plugin_opt_client_id_rule: which MQTT client ids a token may use (see clientid.c). */
enum clientid_rule { CLIENTID_STRICT, CLIENTID_PREFIX, CLIENTID_ANY };

/* The most authorization servers one broker trusts (plugin_opt_issuer, _issuer_2 ..). */
#define BROKER_MAX_ISSUERS 16
/* The longest issuer a log line names, in bytes (longer ones are cut, ending in "..."). */
#define BROKER_LOG_ISSUER 128

/* One trusted authorization server: the options without a suffix (issuer 1), or those ending
 * in _N (issuer N, 2..BROKER_MAX_ISSUERS). Strings are malloc'd or NULL. */
struct issuer_cfg {
	int used;                   /* some option of this number was given */
	char *issuer;               /* required: the iss its tokens carry (distinct per issuer) */
	char *audience;             /* the aud its tokens must carry; NULL: not checked */
	char *jwks_file;            /* one of jwks_file and jwks_url is required */
	char *jwks_url;
	char *introspect_url;       /* optional: also ask it whether each token is active */
	char *client_id, *client_secret; /* of a client allowed `introspect`; required with the URL */
	int cache_seconds;          /* introspection answers are kept this long (default 30) */
	int feed;                   /* keep GET /changes open (feed.c): 1 (default) or 0 */
	char *ca_file;              /* optional: CA bundle for its https URLs (curl's default) */
};

/* The plugin_opt_* options (mosquitto.conf). */
struct broker_cfg {
	struct issuer_cfg iss[BROKER_MAX_ISSUERS]; /* [0]: no suffix; [N-1]: suffix _N */
	enum clientid_rule client_id_rule; /* default CLIENTID_STRICT */
};

/* --- options.c: plugin_opt_* into a broker_cfg --- */

/* Zeroes cfg and sets the defaults (cache_seconds 30 for every issuer, client ids strict). */
void broker_cfg_init(struct broker_cfg *cfg);

/* Takes one option (key without "plugin_opt_"): 0, or -1 for an unknown key (or number) or a bad
 * value. A key given again replaces its value (mosquitto passes every line, in order). */
int broker_cfg_set(struct broker_cfg *cfg, const char *key, const char *value);

/* NULL when the options make a broker that can start, else why not (in buf, len bytes): an
 * issuer number with options but no issuer, without exactly one JWKS source, with an
 * introspection URL but no credentials, or two issuers with the same iss; no issuer at all. */
const char *broker_cfg_check(const struct broker_cfg *cfg, char *buf, size_t len);

/* The suffix of issuer index i in option names: "" for 0, else "_<i+1>" (static storage). */
const char *broker_cfg_suffix(size_t i);

void broker_cfg_free(struct broker_cfg *cfg); /* wipes the secrets */

/* --- issuers.c: which issuer's keys a token is verified with --- */

/* The iss claim of token's payload, not verified (only to choose the keys that verify it), as
 * *iss (malloc'd, the caller frees): TS_OK; TS_INVALID_TOKEN when the token is no JWT or has no
 * non-empty string iss; TS_SERVER_ERROR when out of memory. */
ts_err token_issuer(const char *token, char **iss);
/* The payload of token (a JWT) as a JSON object, not verified (new reference): TS_OK, or
 * TS_INVALID_TOKEN (no JWT, no object), TS_SERVER_ERROR (out of memory). */
ts_err token_payload(const char *token, json_t **claims);

/* The index in cfg->iss of the issuer named iss, or -1 for an issuer not trusted. */
int broker_cfg_issuer(const struct broker_cfg *cfg, const char *iss);

/* s for a log line (out, len bytes): bytes outside printable ASCII as '?', and cut at len - 4
 * bytes with "..." after. */
void log_clean(const char *s, char *out, size_t len);

/* --- clientid.c: the MQTT client ids a token may use --- */

/* "strict", "prefix" or "any" into *out: 0, or -1 for anything else. */
int clientid_rule_parse(const char *s, enum clientid_rule *out);
const char *clientid_rule_name(enum clientid_rule rule);

/* 1 if a client may connect with MQTT client id `id` and a token with these (verified) claims
 * under rule, else 0. strict: a client's own token (no username claim) takes exactly its
 * client_id; a user's token <client_id>:<sub> or <client_id>:<sub>:<anything>. prefix: also
 * <client_id>:<anything> for a client's own token, unless <anything> starts with a number
 * followed by ':' or the end (its users' ids). any: every id. An empty id is never allowed
 * (except under any). */
int clientid_allowed(enum clientid_rule rule, const char *id, const json_t *claims);

/* --- jwks.c: the verification keys --- */

typedef struct jwks jwks;

/* Loads the keys: reads jwks_file, or fetches jwks_url (libcurl, 5 s timeout). A missing file,
 * an unreachable URL, or a document with no usable key is an error (with *why, static text), so
 * that a misconfigured broker does not start. */
ts_err jwks_open(const struct issuer_cfg *cfg, jwks **out, const char **why);
void jwks_close(jwks *j); /* NULL is fine */

/* Verifies an access token as a resource server (RFC 9068 §4): a signature by one of the keys,
 * with the key's algorithm only (never "none", never HMAC), typ "at+jwt", iss equal to
 * cfg->issuer, aud equal to (or, for an array, containing) cfg->audience when set, exp after
 * now, nbf and iat not after now + TOKEN_LEEWAY, and the claims scope, client_id, sub (strings)
 * and exp (integer) present. With jwks_url, a token whose kid is unknown makes it fetch the
 * JWKS again, at most once a minute, and retry. On TS_OK *claims is a new reference; else
 * TS_INVALID_TOKEN (or TS_SERVER_ERROR when out of memory). */
ts_err jwks_verify(jwks *j, const char *token, int64_t now, json_t **claims);

/* --- introspect*.c: RFC 7662 with a cache, and a watcher for live sessions --- */

typedef struct introspector introspector;

/* Starts the introspector (and its watcher thread). Needs introspect_url, client_id and
 * client_secret. */
ts_err introspector_open(const struct issuer_cfg *cfg, introspector **out, const char **why);
void introspector_close(introspector *in); /* stops the thread; NULL is fine */

/* Whether the token is active, and the scope it allows now: from the cache when an answer
 * younger than cache_seconds is there, else by POST introspect_url (client_secret_basic,
 * token=..., 5 s timeout), caching the answer and applying it to the token's live sessions
 * (introspector_apply). TS_OK when Tessera said (a 200 with "active": true or false): *active is
 * 1 for true, and then *scope (malloc'd, the caller frees) is the answer's scope ("" when it
 * names none: no topic rights). TS_UNAVAILABLE when Tessera could not answer (no connection, a
 * timeout, a 429, a 401, a 5xx, a malformed body, or holding off after one of these: see
 * introspect.c), with the reason in why (whylen bytes, may be NULL); the caller refuses the
 * connection (fail closed) but must not take the token for inactive. TS_SERVER_ERROR when out
 * of memory. */
ts_err introspector_check(introspector *in, const char *token, int64_t now, int *active,
                          char **scope, char *why, size_t whylen);

/* For a token that is no JWT (a reference token): Tessera's whole answer, asked at once (not
 * from the cache, on the broker thread like introspector_check). TS_OK with *claims the answer
 * (new reference: active, scope, client_id, sub, username, exp, iss, ...) when the token is
 * active, NULL when not; TS_UNAVAILABLE (why) and TS_SERVER_ERROR as introspector_check. */
ts_err introspector_claims(introspector *in, const char *token, int64_t now, json_t **claims,
                           char *why, size_t whylen);

/* What the change feed (feed.c) has to say in the broker's log since the last call: 1 with the
 * line in msg (len bytes) when its state changed (connected, lost, back), else 0. */
int introspector_feed_news(introspector *in, char *msg, size_t len);

/* How many of the watcher's requests got no answer since the last call, with the last one's
 * reason in why (whylen bytes, may be NULL): for the broker thread to log. */
size_t introspector_trouble(introspector *in, char *why, size_t whylen);

/* Live sessions: watch(token, scope, id) registers the session with this id, whose token was
 * found active with this scope, and asks the watcher thread to introspect the token again each
 * time its cached answer is cache_seconds old, for as long as the session lives; unwatch(id)
 * stops that. ids are opaque to the introspector (the plugin passes its connections). */
ts_err introspector_watch(introspector *in, const char *token, const char *scope,
                          const void *id);
void introspector_unwatch(introspector *in, const void *id);

/* What changed for a watched session: found inactive (active 0: the broker thread disconnects
 * it; it is watched no more), or active with another scope (the broker thread gives the
 * session that scope's rights; scope malloc'd, the receiver frees it). */
struct intro_change {
	const void *id;
	int active;
	char *scope;
};

/* Hands over up to max changes, oldest first, and forgets them. A session unwatched (or watched
 * again) has its pending changes dropped. */
size_t introspector_changes(introspector *in, struct intro_change *out, size_t max);

/* Applies a new answer about token (active, and the scope it allows now), learnt at now: to the
 * cache, and to every live session of the token (a change for each whose state it changes).
 * The one path by which an answer reaches sessions: the CONNECT check and the watcher use it,
 * and a push feed of changes from Tessera would call it too. */
void introspector_apply(introspector *in, const char *token, int active, const char *scope,
                        int64_t now);

#endif
