/* scim.h - what scim.c (reading, routing), scim_list.c (lists) and scim_write.c (writing)
 * share: scim_common.c's, below the three, and the entry points of scim_list.c and
 * scim_write.c, which scim.c routes to. */
#ifndef TESSERA_SERVER_SCIM_H
#define TESSERA_SERVER_SCIM_H

#include <stdint.h>
#include <jansson.h>
#include "scim_schema.h"
#include "server.h"

/* Replies with the SCIM error of rc (and e's scimType and detail when rc is TS_INVALID_REQUEST);
 * clears e. */
void scim_fail(struct request *r, ts_err rc, struct scim_error *e);
/* The SCIM base URL, issuer + "/scim/v2" (malloc'd; NULL on OOM). */
char *scim_base(struct request *r);
/* The decimal id of a user, group or grant; 0 when id is not one. */
int64_t scim_int_id(const char *id);
/* The resource of type t with this id as answered (new reference): TS_NOT_FOUND when there is
 * none (a revoked grant included). */
ts_err scim_load(store *s, const struct scim_rtype *t, const char *id, const char *base,
                 json_t **out);
/* Replies with one resource (stolen), its ETag, and its Location when location is set, after
 * keeping the attributes asked for; secret (or NULL): a new client secret to show once. */
void scim_reply_resource(struct request *r, const struct scim_rtype *t, int status, json_t *res,
                         const char *attributes, const char *excluded, int location,
                         const char *secret);
int scim_has_schema(const json_t *body, const char *urn);
struct form;
/* The query string of r as a form; on failure it replied (invalidValue) and returns -1. */
int scim_query_form(struct request *r, struct form **f);
/* The request body as a JSON object; on failure it replied and returns NULL. */
json_t *scim_body(struct request *r);

/* The largest page a list answers (count is clamped to it), as ServiceProviderConfig says. */
#define SCIM_MAX_RESULTS 1000

/* scim_list.c: GET on a resource type's endpoint, and POST .search. */
void scim_list_get(struct request *r, store *s, const struct scim_rtype *t);
void scim_list_search(struct request *r, store *s, const struct scim_rtype *t);

/* scim_write.c: POST, PUT (patch 0) or PATCH (patch 1), DELETE. */
void scim_create(struct request *r, const struct scim_rtype *t);
void scim_modify(struct request *r, const struct scim_rtype *t, const char *id, int patch);
void scim_delete(struct request *r, const struct scim_rtype *t, const char *id);

/* scim_enroll.c: /EnrollmentTokens (id NULL) and /EnrollmentTokens/id. */
void scim_enroll_handle(struct request *r, store *s, const char *id);

#endif
