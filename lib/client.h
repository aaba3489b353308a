/* client.h - OAuth clients: authentication (RFC 6749 §2.3) and what a client may do. */
#ifndef TESSERA_CLIENT_H
#define TESSERA_CLIENT_H

#include "err.h"
#include "form.h"
#include "store.h"

/* Authenticates the client of a request from its Authorization header (may be NULL) and form:
 * client_secret_basic, client_secret_post, or client_id alone for a public client.
 * On TS_OK *out is the client (caller store_client_free's). Errors: TS_INVALID_REQUEST when Basic
 * and body credentials are both sent or the ids differ; TS_INVALID_CLIENT for no credentials, an
 * unknown or disabled client, a wrong secret, a confidential client without a secret, or a
 * malformed Basic header; TS_UNAVAILABLE / TS_SERVER_ERROR from the store. The secret comparison
 * takes the same time whether or not the client exists. *id_out (if not NULL) receives the
 * claimed client id (malloc'd, may be set even on failure, for logs). */
ts_err client_authenticate(store *s, const char *authorization, const struct form *f,
                           struct client **out, char **id_out);

/* The client with this id, from a process-wide cache of recent look-ups or from the store.
 * *out is the caller's copy (store_client_free). TS_NOT_FOUND when there is none. The cache is
 * emptied by client_cache_invalidate: call it after any write to clients (the daemon also calls it
 * when another process or node changed a client, see store_clients_version). */
ts_err client_get(store *s, const char *client_id, struct client **out);
void client_cache_invalidate(void);

/* 1 when the space-separated list holds word exactly, else 0. */
int client_list_has(const char *list, const char *word);

/* Creates the secret of a new confidential client: fills text (SECRET_TOKEN_LEN bytes) with 256
 * random bits as base64url and c->secret_hash with its hash. */
ts_err client_new_secret(struct client *c, char *text);

#define CLIENT_REDIRECT_URI_MAX 2048 /* a redirect URI is shorter than this */

/* Why u may not be registered as a redirect URI (static English, for the CLI's and SCIM's error),
 * or NULL when it may: an absolute URI (RFC 3986 scheme ":" ...; http and https with a host)
 * of 1 to 2047 printable ASCII URI characters (no space, control, DEL, non-ASCII -- so no CR, LF,
 * U+2028 or U+2029 --, nor '"', '<', '>', '\\', '^', '`', '{', '|', '}'), '%' only before two hex
 * digits, no fragment (RFC 6749 §3.1.2), and not a javascript:, vbscript:, data:, file:, blob:
 * or about: URI. Native apps' private-use schemes (RFC 8252 §7.1, com.example.app:/cb) and
 * loopback URIs (http://127.0.0.1:port/cb, §7.3) are allowed. */
const char *client_redirect_uri_problem(const char *u);

/* 1 when u may be registered as a redirect URI (client_redirect_uri_problem is NULL); else 0.
 * /authorize never redirects to a registered URI for which this is 0 (one stored before these
 * rules). */
int client_redirect_uri_valid(const char *u);

/* 1 when the redirect URI given in a request is the registered one: the same string, or for
 * loopback redirect URIs of native apps (http://127.0.0.1 or http://[::1]) the same URI on any
 * port (RFC 8252 §7.3). Else 0. */
int client_redirect_matches(const char *registered, const char *given);

/* The rules every client must keep, whoever writes it: NULL when c keeps them, else why not
 * (static English): a public client may not use client_credentials, and must rotate refresh
 * tokens (RFC 9700 §2.2.2); its method fits what it registered (client_method_problem). */
const char *client_rules(const struct client *c);

/* How a client authenticates (struct client's auth_method, schema 012; lib/client_methods.c).
 * client_method_known: 1 for client_secret_basic, none, private_key_jwt, tls_client_auth and
 * self_signed_tls_client_auth. The _problem functions return NULL when the value may be
 * registered, else why not (static English): a JWK Set of public keys only (lib/client_jwks.c,
 * client_jwks.h says what it may hold), a jwks_uri (https, a host, no fragment nor user info), a
 * certificate SAN ("dns:", "uri:", "ip:" or "email:" + value). client_method_problem checks a
 * client's method against what it registered: public exactly when none; jwks or jwks_uri (one)
 * with private_key_jwt and self_signed_tls_client_auth only; a subject DN or a SAN (one) with
 * tls_client_auth only. client_rules calls it. */
#define CLIENT_JWKS_MAX 65536
int client_method_known(const char *m);
/* The method as stored: client_secret_post (RFC 7591: the secret in the body) is accepted as a
 * name for client_secret_basic, whose clients may send their secret either way; any other m is
 * returned as it is. */
const char *client_method_canonical(const char *m);
const char *client_jwks_problem(const char *text);
const char *client_jwks_uri_problem(const char *u);
const char *client_tls_san_problem(const char *v);
const char *client_method_problem(const struct client *c);

/* NULL when id may name a new client, else why not (a static sentence): 1 to 255 printable
 * ASCII characters (RFC 6749's VSCHAR), not made only of digits, since a client's own tokens
 * carry sub = its id and a user's tokens sub = the user's number (client 1 would be user 1). */
const char *client_id_problem(const char *id);

#endif
