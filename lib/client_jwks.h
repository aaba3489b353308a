/* client_jwks.h - the public keys of private_key_jwt clients (RFC 7523 §2.2, RFC 7591 §2:
 * jwks or jwks_uri): what may be registered (shared by the CLI and SCIM), the parsed key sets,
 * and their cache, with jwks_uri documents fetched over https (client_jwks_fetch.c). */
#ifndef TESSERA_CLIENT_JWKS_H
#define TESSERA_CLIENT_JWKS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "jwt.h"

#define CLIENT_JWKS_MAX_TEXT 65536 /* bytes of a registered or fetched JWK Set */
#define CLIENT_JWKS_MAX_KEYS 16    /* JWKs in a set */
#define CLIENT_JWKS_URI_MAX 2048   /* a jwks_uri is shorter than this */
#define CLIENT_JWKS_FETCH_TIMEOUT 3 /* seconds for a whole jwks_uri request, connection included */
#define CLIENT_JWKS_TTL 3600       /* seconds a fetched set is used before it is fetched again */
#define CLIENT_JWKS_REFETCH 30     /* seconds: at most one fetch per client for an unknown kid
                                    * in this time, and none after a failed fetch */

/* Why text may not be registered as a client's jwks (static English), or NULL when it may: a
 * JSON object (at most 64 KiB) with a "keys" array of 1 to 16 public JWKs, each usable for one of
 * ES256 (EC P-256), RS256/PS256 (RSA 2048-8192), EdDSA (OKP Ed25519); never a private member
 * (d, p, q, dp, dq, qi, oth), a symmetric "oct" key or an unknown kty; kids, when given, distinct.
 * A JWK of a certificate alone (x5c without key members, for self_signed_tls_client_auth) passes
 * but gives no key to verify assertions with. */
const char *client_jwks_problem(const char *text);

/* Why uri may not be registered as a jwks_uri (static English), or NULL: an https URL with a
 * host, 1 to 2047 printable ASCII characters, no fragment, no user info. */
const char *client_jwks_uri_problem(const char *uri);

/* A parsed key set: one verify-only key per (JWK, algorithm it may be used with); an RSA JWK
 * without "alg" gives an RS256 and a PS256 key. Shared and counted: client_keys_release. */
struct client_key {
	jwt_key *key;
	const char *kid;  /* the JWK's kid, or NULL when it had none */
};
struct client_keys {
	size_t n;
	struct client_key *keys;
	int refs;         /* atomic */
};

/* Parses a JWK Set's text. strict (a registered set): any JWK that is not usable makes the set
 * unusable (*why); else (a fetched set) unusable JWKs -- encryption keys, other curves -- are
 * skipped, and a set with no usable key is refused (a registered set of certificates alone
 * parses to no keys). */
ts_err client_keys_parse(const char *text, size_t len, int strict, struct client_keys **out,
                         const char **why);
void client_keys_release(struct client_keys *ks); /* NULL is fine */

/* The keys of client_id: parsed from jwks (the registered text), or fetched from jwks_uri, from
 * the cache when it holds them (a fetched set for CLIENT_JWKS_TTL). refetch asks for a new fetch
 * of jwks_uri (a kid unknown to the cached set), done at most once in CLIENT_JWKS_REFETCH
 * seconds; after a failed fetch none is tried for CLIENT_JWKS_REFETCH seconds either. A fetch runs in the calling
 * thread for at most CLIENT_JWKS_FETCH_TIMEOUT seconds; other requests for the same client wait
 * for it (the cache's per-client lock), other clients' do not. TS_INVALID_CLIENT with *why when
 * there are no usable keys (none registered, a failed fetch); TS_SERVER_ERROR out of memory. */
ts_err client_keys_get(const char *client_id, const char *jwks, const char *jwks_uri, int refetch,
                       int64_t now, struct client_keys **out, const char **why);

/* Empties the cache (after a write to clients, with client_cache_invalidate). */
void client_keys_invalidate(void);

/* The CA bundle that jwks_uri fetches trust (NULL: libcurl's default). Set once at start. */
void client_jwks_set_ca_file(const char *path);

/* GETs uri (https only, no redirects, no proxy, CLIENT_JWKS_FETCH_TIMEOUT, at most
 * CLIENT_JWKS_MAX_TEXT bytes, status 200): *body malloc'd, NUL-terminated. TS_UNAVAILABLE with
 * *why when there is no such answer. (client_jwks_fetch.c; tests may replace it, see below.) */
ts_err client_jwks_fetch(const char *uri, char **body, size_t *len, const char **why);

/* For unit tests: the function that client_keys_get fetches with (NULL: client_jwks_fetch). */
extern ts_err (*client_jwks_fetcher)(const char *uri, char **body, size_t *len, const char **why);

#endif
