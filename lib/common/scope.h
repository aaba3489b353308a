/* scope.h - OAuth scope strings and the MQTT topic filters they carry.
 *
 * Scope tokens: "mqtt:pub:FILTER", "mqtt:sub:FILTER", "mqtt:pubsub:FILTER" (FILTER an MQTT topic
 * filter: '+' a whole level, '#' only as the whole last level; no space, '"' or '\\'), plus plain
 * tokens such as "openid", "introspect", "scim" that are granted only when allowed verbatim.
 * Topic matching agrees with mosquitto's lib/util_topic.c, including MQTT 5 §4.7.2: a wildcard
 * in the first level never matches a topic whose first level starts with '$'. */
#ifndef TESSERA_SCOPE_H
#define TESSERA_SCOPE_H

#include <stddef.h>
#include "err.h"

enum scope_action {
	SCOPE_NONE = 0,   /* not an mqtt: token */
	SCOPE_PUB = 1,
	SCOPE_SUB = 2,
	SCOPE_PUBSUB = 3, /* SCOPE_PUB | SCOPE_SUB */
};

/* The most scope tokens, and bytes, that a request may ask for and a grant may hold: with them
 * an access token stays well within TOKEN_ACCESS_MAX (lib/token.h), which every consumer of a
 * token accepts (EMQX's acl claim, which repeats each filter, can still go over it). */
#define SCOPE_LIMIT_TOKENS 32
#define SCOPE_LIMIT_BYTES 1024
#define SCOPE_LIMITS_TEXT "at most 32 scopes and 1024 bytes"

/* 1 when the space-separated scope s (NULL: none) is within SCOPE_LIMIT_TOKENS and
 * SCOPE_LIMIT_BYTES, else 0. */
int scope_within_limits(const char *s);

/* 1 if s is a valid MQTT topic filter for a scope: non-empty, at most 65535 bytes, valid UTF-8,
 * no NUL, space, '"' or '\\', '+' and '#' only as whole levels, '#' only last. Else 0. */
int scope_filter_valid(const char *s);

/* 1 if s is a valid MQTT topic name to publish to: as above but with no '+' or '#'. Else 0. */
int scope_topic_valid(const char *s);

/* 1 if the valid filter matches the valid topic name (mosquitto_topic_matches_sub semantics):
 * "a/#" matches "a" and "a/b/c"; "+" matches "" level; "#" and "+/..." do not match "$SYS/x". */
int scope_topic_matches(const char *filter, const char *topic);

/* 1 if every topic matched by filter inner is also matched by filter outer (so a subscription to
 * inner may be allowed by a right on outer): "a/#" covers "a/+/c" and "a"; "a/+" does not cover
 * "a/#"; "#" does not cover "$SYS/#". Else 0. Both must be valid filters. */
int scope_filter_covers(const char *outer, const char *inner);

/* The intersection of two valid filters: the filter that matches exactly the topics both match.
 * Returns 1 and sets *out (malloc'd, caller frees) when it is not empty, 0 and *out = NULL when
 * nothing matches both, -1 on allocation failure. Examples: "#" ^ "home/+/temp" = "home/+/temp";
 * "a/+/c" ^ "+/b/#" = "a/b/c"; "a/#" ^ "a/+" = "a/+"; "a/#" ^ "a" = "a"; "#" ^ "$SYS/#" = none. */
int scope_filter_intersect(const char *a, const char *b, char **out);

/* Splits an "mqtt:ACTION:FILTER" token: returns its action and points *filter into tok after the
 * second colon; SCOPE_NONE (and *filter = NULL) for any other token, including a malformed
 * mqtt: one (check with scope_token_valid). */
enum scope_action scope_token_parse(const char *tok, const char **filter);

/* 1 if tok is a valid scope token: RFC 6749 §3.3 characters (%x21 / %x23-5B / %x5D-7E), non-empty,
 * and, if it starts with "mqtt:", of the form mqtt:pub|sub|pubsub:FILTER with a valid filter that
 * holds no "${" and no '%' (placeholders a broker would fill in from what the client sends:
 * EMQX 5's ${username}, EMQX 4's and mosquitto's %u and %c). */
int scope_token_valid(const char *tok);

/* 1 if the allowed-scope string s (space separated, may hold ${clientid} and ${username} as whole
 * levels of MQTT filters) is well formed, else 0 and *bad (if not NULL) = malloc'd copy of the
 * first bad token; 0 with *bad left NULL means out of memory. Used when an admin configures a
 * client or user. */
int scope_allowed_valid(const char *s, char **bad);

/* Computes what is granted.
 *   requested: the space-separated scope asked for, or NULL/"" for "everything allowed".
 *   allowed:   the space-separated scope the client (or user) may have, with placeholders.
 *   clientid, username: the values for ${clientid} / ${username}; NULL means "no such value".
 * Placeholders are filled as whole levels; an allowed token whose placeholder value is NULL,
 * empty, holds '/', '+', '#', '%' or "${", or starts with '$' is dropped (never substituted).
 * Each requested mqtt token is narrowed to its intersections with the allowed filters of a
 * compatible action (pub: pub|pubsub; sub: sub|pubsub; pubsub: each of pubsub, pub, sub giving
 * that action); other tokens are granted iff allowed verbatim. Results are de-duplicated, and a
 * filter covered by another granted filter of the same action is left out.
 * On TS_OK *granted is the malloc'd space-separated result (never empty). Errors: TS_INVALID_SCOPE
 * when a requested token is malformed (*bad = malloc'd copy of it) or when nothing is granted
 * (*bad = NULL); TS_SERVER_ERROR on allocation failure. bad may be NULL if not wanted. */
ts_err scope_grant(const char *requested, const char *allowed, const char *clientid,
                   const char *username, char **granted, char **bad);

/* 1 if every token of the space-separated scope `sub` is also in `super` (verbatim, or for mqtt
 * tokens covered by a same-or-wider action filter of super), else 0 (a malformed token of sub
 * too); -1 when out of memory, which must pass for neither. */
int scope_subset(const char *sub, const char *super);

#endif
