/* scim_res.h - Tessera's records (users, groups, clients, grants) as SCIM resources, and back.
 *
 * A resource answered is built from its record with its "meta" (resourceType, created,
 * lastModified, location, version). The version, also the ETag, is W/"<16 hex digits>": the start
 * of the SHA-256 of the resource's JSON without meta, so it changes exactly when what a client
 * can read of the resource changes (including a user's groups).
 * A resource received is first checked and normalised by scim_normalize (scim_schema.h); the
 * _from functions then check what only Tessera knows (scope syntax, redirect URIs, client
 * rules, member ids) and fill a record. */
#ifndef TESSERA_SCIM_RES_H
#define TESSERA_SCIM_RES_H

#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "scim_schema.h"
#include "store.h"

/* The resource as JSON text (malloc'd), and as a new reference; NULL when out of memory.
 * base: the SCIM base URL ("https://host/scim/v2"). */
char *scim_user_text(const struct user *u, const char *base);
char *scim_group_text(const struct group *g, const char *base);
char *scim_client_text(const struct client *c, const char *base);
char *scim_grant_text(const struct grant *g, const char *base);
json_t *scim_user_json(const struct user *u, const char *base);
json_t *scim_group_json(const struct group *g, const char *base);
json_t *scim_client_json(const struct client *c, const char *base);
json_t *scim_grant_json(const struct grant *g, const char *base);

/* The version (ETag) of a resource built above: its meta.version, or "" when it has none. */
const char *scim_version(const json_t *resource);

/* Fills u (strings malloc'd: the caller frees them, e.g. with store_user_free on a heap copy)
 * from the normalised resource n: username, name (displayName), email (the primary email, else
 * the first), scope, active (default true), external_id and attrs (the rest). The password is
 * not taken (the caller hashes n's "password" if any). TS_INVALID_REQUEST with e set. */
ts_err scim_user_from(const json_t *n, struct user *u, struct scim_error *e);

/* Fills g from n, and *ids / *nids with the member user ids (malloc'd). */
ts_err scim_group_from(const json_t *n, struct group *g, int64_t **ids, size_t *nids,
                       struct scim_error *e);

/* Fills c from n, keeping c->client_id, c->is_public when n has no "public" nor
 * "tokenEndpointAuthMethod", and the secret hash: name, redirect_uris, grant_types (default:
 * authorization_code for a public client, else client_credentials), scope, refresh settings,
 * active, external_id, the authentication method (default none for a public client, else
 * client_secret_basic) with its jwks, jwks_uri, tls names, cert_bound and dpop_bound; then
 * checks client_rules (with the method's rules, lib/client_methods.c). */
ts_err scim_client_from(const json_t *n, struct client *c, struct scim_error *e);

/* Frees the strings of records filled by the _from functions (not the records themselves). */
void scim_user_clear(struct user *u);
void scim_group_clear(struct group *g);
/* (a client: store_client_clear) */

#endif
