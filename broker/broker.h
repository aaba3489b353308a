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

/* The plugin_opt_* options (mosquitto.conf). Strings are malloc'd or NULL. */
struct broker_cfg {
	char *issuer;               /* required: the iss every token must carry */
	char *audience;             /* the aud every token must carry; NULL: not checked */
	char *jwks_file;            /* one of jwks_file and jwks_url is required */
	char *jwks_url;
	char *introspect_url;       /* optional: also ask Tessera whether each token is active */
	char *client_id, *client_secret; /* of a client allowed `introspect`; required with the URL */
	int cache_seconds;          /* introspection answers are kept this long (default 30) */
	char *ca_file;              /* optional: CA bundle for https URLs (curl's default otherwise) */
	enum clientid_rule client_id_rule; /* default CLIENTID_STRICT */
};

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
ts_err jwks_open(const struct broker_cfg *cfg, jwks **out, const char **why);
void jwks_close(jwks *j); /* NULL is fine */

/* Verifies an access token as a resource server (RFC 9068 §4): a signature by one of the keys,
 * with the key's algorithm only (never "none", never HMAC), typ "at+jwt", iss equal to
 * cfg->issuer, aud equal to (or, for an array, containing) cfg->audience when set, exp after
 * now, nbf and iat not after now + TOKEN_LEEWAY, and the claims scope, client_id, sub (strings)
 * and exp (integer) present. With jwks_url, a token whose kid is unknown makes it fetch the
 * JWKS again, at most once a minute, and retry. On TS_OK *claims is a new reference; else
 * TS_INVALID_TOKEN (or TS_SERVER_ERROR when out of memory). */
ts_err jwks_verify(jwks *j, const char *token, int64_t now, json_t **claims);

/* --- introspect.c: RFC 7662 with a cache, and a watcher for live sessions --- */

typedef struct introspector introspector;

/* Starts the introspector (and its watcher thread). Needs introspect_url, client_id and
 * client_secret. */
ts_err introspector_open(const struct broker_cfg *cfg, introspector **out, const char **why);
void introspector_close(introspector *in); /* stops the thread; NULL is fine */

/* Whether the token is active: from the cache when an answer younger than cache_seconds is
 * there, else by POST introspect_url (client_secret_basic, token=..., 5 s timeout), caching the
 * answer. TS_OK when Tessera said (a 200 with "active": true or false): *active is 1 for true.
 * TS_UNAVAILABLE when Tessera could not answer (no connection, a timeout, a 429, a 401, a 5xx,
 * a malformed body, or holding off after one of these: see introspect.c), with the reason in why
 * (whylen bytes, may be NULL); the caller refuses the connection (fail closed) but must not take
 * the token for inactive. */
ts_err introspector_check(introspector *in, const char *token, int64_t now, int *active,
                          char *why, size_t whylen);

/* How many of the watcher's requests got no answer since the last call, with the last one's
 * reason in why (whylen bytes, may be NULL): for the broker thread to log. */
size_t introspector_trouble(introspector *in, char *why, size_t whylen);

/* Live sessions: watch(token, id) asks the watcher thread to introspect the token again each
 * time its cached answer is cache_seconds old, for as long as the session with this id lives;
 * unwatch(id) stops that. revoked(ids, max) returns how many ids (at most max) of watched
 * sessions were found inactive since the last call, and forgets them (the broker thread kicks
 * those clients). ids are opaque to the introspector (the plugin passes its session pointers). */
ts_err introspector_watch(introspector *in, const char *token, const void *id);
void introspector_unwatch(introspector *in, const void *id);
size_t introspector_revoked(introspector *in, const void **ids, size_t max);

#endif
