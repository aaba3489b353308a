/* scim_common.c - what the SCIM files share (scim.h): errors and resources as answered, the
 * base URL, loading one resource, the query string and the JSON body of a request. Below
 * scim.c (routing), scim_list.c and scim_write.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "form.h"
#include "scim_res.h"
#include "scim.h"

/* ---- answers ---- */

void scim_fail(struct request *r, ts_err rc, struct scim_error *e)
{
	if (rc == TS_INVALID_REQUEST && e && e->type != SCIM_E_NONE)
		reply_scim_error(r, e->type == SCIM_E_UNIQUENESS ? TS_CONFLICT : TS_INVALID_REQUEST,
		                 scim_etype_name(e->type), e->detail);
	else if (rc == TS_CONFLICT)
		reply_scim_error(r, rc, "uniqueness", e && e->detail ? e->detail :
		                 "the value is already taken");
	else
		reply_scim_error(r, rc, NULL, e && e->detail ? e->detail : NULL);
	scim_error_clear(e);
}

char *scim_base(struct request *r)
{
	char *base = NULL;

	if (asprintf(&base, "%s/scim/v2", r->srv->cfg.issuer) < 0)
		return NULL;
	return base;
}

/* The decimal id of a user, group or grant; 0 when id is not one. */
int64_t scim_int_id(const char *id)
{
	char *end;
	long long v;

	if (!id || *id < '1' || *id > '9' || strlen(id) > 18)
		return 0;
	v = strtoll(id, &end, 10);
	return *end ? 0 : (int64_t)v;
}

ts_err scim_load(store *s, const struct scim_rtype *t, const char *id, const char *base,
                 json_t **out)
{
	struct user *u = NULL;
	struct group *g = NULL;
	struct client *c = NULL;
	struct grant *gr = NULL;
	int64_t n = scim_int_id(id);
	ts_err rc = TS_NOT_FOUND;

	*out = NULL;
	switch (t->id) {
	case SCIM_R_USER:
		if (n && !(rc = store_user_get_id(s, n, &u)))
			*out = scim_user_json(u, base);
		break;
	case SCIM_R_GROUP:
		if (n && !(rc = store_group_get(s, n, &g)))
			*out = scim_group_json(g, base);
		break;
	case SCIM_R_CLIENT:
		if (!(rc = store_client_get(s, id, &c)))
			*out = scim_client_json(c, base);
		break;
	case SCIM_R_GRANT:
		if (n && !(rc = store_grant_get(s, n, &gr)) && gr->revoked_at)
			rc = TS_NOT_FOUND;
		if (!rc && gr->user_id && !(rc = store_user_get_id(s, gr->user_id, &u))) {
			gr->username = strdup(u->username);
			rc = gr->username ? TS_OK : TS_SERVER_ERROR;
		}
		if (!rc)
			*out = scim_grant_json(gr, base);
		break;
	default:
		break;
	}
	if (!rc && !*out)
		rc = TS_SERVER_ERROR;
	store_user_free(u);
	store_group_free(g);
	store_client_free(c);
	store_grant_free(gr);
	return rc;
}

int scim_query_form(struct request *r, struct form **f)
{
	const char *why = NULL;

	if (form_parse(r->query, strlen(r->query), f, &why) != TS_OK) {
		reply_scim_error(r, TS_INVALID_REQUEST, "invalidValue",
		                 why ? why : "the query string is malformed");
		return -1;
	}
	return 0;
}

void scim_reply_resource(struct request *r, const struct scim_rtype *t, int status, json_t *res,
                         const char *attributes, const char *excluded, int location,
                         const char *secret)
{
	struct scim_error e = {0};
	char *etag = strdup(scim_version(res));
	char *loc = NULL;
	ts_err rc;

	if (location) {
		const char *l = json_string_value(json_object_get(json_object_get(res, "meta"),
		                                                  "location"));
		loc = l ? strdup(l) : NULL;
	}
	rc = !etag ? TS_SERVER_ERROR : attributes || excluded ?
	     scim_project(t, res, attributes, excluded, &e) : TS_OK;
	if (!rc && secret && json_object_set_new(res, "clientSecret", json_string(secret)))
		rc = TS_SERVER_ERROR;
	if (rc) {
		json_decref(res);
		scim_fail(r, rc, &e);
	} else {
		reply_scim(r, status, res, etag, loc);
	}
	free(etag);
	free(loc);
}

/* 1 when body's "schemas" array holds urn (any case). */
int scim_has_schema(const json_t *body, const char *urn)
{
	const json_t *el;
	size_t i;

	json_array_foreach(json_object_get(body, "schemas"), i, el)
		if (json_is_string(el) && strcasecmp(json_string_value(el), urn) == 0)
			return 1;
	return 0;
}

/* The JSON object of the request body; replies (415, 400 invalidSyntax) and NULL on failure. */
json_t *scim_body(struct request *r)
{
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t err;
	json_t *body;
	size_t n;

	n = ct ? strcspn(ct, "; ") : 0;
	if (!ct || !((n == 21 && strncasecmp(ct, "application/scim+json", n) == 0) ||
	             (n == 16 && strncasecmp(ct, "application/json", n) == 0))) {
		reply_scim_error(r, TS_UNSUPPORTED_MEDIA_TYPE, NULL,
		                 "Content-Type must be application/scim+json or application/json");
		return NULL;
	}
	body = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(body)) {
		json_decref(body);
		reply_scim_error(r, TS_INVALID_REQUEST, "invalidSyntax",
		                 "the body must be a JSON object (UTF-8)");
		return NULL;
	}
	return body;
}
