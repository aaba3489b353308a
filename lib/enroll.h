/* enroll.h - enrolling a fleet (issue 22 §4): enrollment tokens, their templates, and the client
 * metadata of a dynamic registration (RFC 7591) checked against a template.
 *
 * An enrollment token is "<id>.<secret>": id ("en-" and 12 hex digits) names it in lists and
 * finds its row; the secret, 256 random bits as 43 base64url characters, is kept only as its
 * SHA-256 and compared in constant time. A client registered with it gets a client id of
 * ENROLL_CLIENT_ID_LEN - 1 characters ("dev-" and 16 of a lower-case alphabet without look-alikes),
 * never the device's choice, and a registration access token (RFC 7592) of 256 random bits, kept
 * only as its SHA-256 too. */
#ifndef TESSERA_ENROLL_H
#define TESSERA_ENROLL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "store.h"
#include "store_enroll.h"

#define ENROLL_ID_LEN 16         /* "en-" + 12 hex digits + NUL */
#define ENROLL_TOKEN_LEN 60      /* id "." secret + NUL */
#define ENROLL_CLIENT_ID_LEN 21  /* "dev-" + 16 + NUL */

/* A new token: e->id (malloc'd) and e->hash set, its text into text. */
ts_err enroll_token_new(struct enrollment *e, char text[ENROLL_TOKEN_LEN]);
/* The id of a presented token into id; *secret points to its secret part in text. -1 when text is
 * not of the form of a token (then nothing is looked up). */
int enroll_token_parse(const char *text, char id[ENROLL_ID_LEN], const char **secret);
/* 1 when the SHA-256 of secret is hash, compared in constant time; else 0. */
int enroll_secret_matches(const unsigned char hash[32], const char *secret);
/* NULL when e may register a client at now, else why not (static English): revoked, expired or
 * used up. */
const char *enroll_unusable(const struct enrollment *e, int64_t now);

/* NULL when t may be a template, else why not (static English; *bad, when bad is not NULL, is
 * set to a malloc'd copy of a malformed scope token, or NULL -- free it):
 * one or more known grant types (client_credentials authorization_code refresh_token
 * device_code), a valid non-empty allowed scope (may hold ${clientid}), the auth method
 * private_key_jwt or self_signed_tls_client_auth (never a shared secret), within the limits. */
const char *enroll_template_problem(const struct enroll_template *t, char **bad);
/* Adds grant type g to t's list (its URN for the device flow is kept as device_code), once:
 * 0, or -1 out of memory. For the CLI and SCIM, before enroll_template_problem checks it. */
int enroll_template_add_grant(struct enroll_template *t, const char *g);

/* A new client id (ENROLL_CLIENT_ID_LEN bytes), and a registration access token's text and
 * hash. */
ts_err enroll_client_id_new(char out[ENROLL_CLIENT_ID_LEN]);
ts_err enroll_rat_new(char text[44], unsigned char hash[32]);

/* A duration such as "30d", "12h", "90m", "45s" or "3600" (seconds) into *secs: 0, or -1 when it
 * is malformed, zero or over ten years. */
int enroll_duration(const char *s, int64_t *secs);

/* The client that registration metadata md (a JSON object, RFC 7591 §2) describes, within
 * template t: fills c's settings (c->client_id is the caller's and kept; the strings set are
 * malloc'd, store_client_free's). What it does with each value, per RFC 7591 §2 (the server may
 * replace a requested value and says what it registered):
 * - scope is narrowed to the template's, ${clientid} filled in (absent: the template's scope);
 *   nothing of it allowed is invalid_client_metadata;
 * - grant_types (absent: the template's) and token_endpoint_auth_method (absent: the
 *   template's) must be allowed by the template, or it is invalid_client_metadata;
 * - jwks (a JWK Set of public keys) or jwks_uri (https), exactly one, are required;
 * - redirect_uris are required with authorization_code, each checked as a client's
 *   (invalid_redirect_uri); response_types must agree with grant_types;
 * - a value of a known field of the wrong type or form is invalid_client_metadata, unknown
 *   fields are ignored (RFC 7591 §2), a JSON null counts as absent.
 * On failure *why (why_n bytes) says what, in English. */
ts_err enroll_metadata(const json_t *md, const struct enroll_template *t, struct client *c,
                       char *why, size_t why_n);

/* The registered metadata of c, as RFC 7591 §3.2.1 answers it (without the registration access
 * token and URI, which the caller adds). NULL when out of memory. */
json_t *enroll_client_json(const struct client *c);

#endif
