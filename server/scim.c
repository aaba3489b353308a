/* scim.c - the SCIM 2.0 API (RFC 7644) under /scim/v2: authentication, routing, discovery,
 * reading one resource. Lists and .search are in scim_list.c, the writes (POST, PUT, PATCH,
 * DELETE) in scim_write.c.
 *
 * Every request needs a bearer access token whose scope holds "scim". Resources are built from
 * the store's records by lib/scim/scim_res.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "httphdr.h"
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

/* ---- authentication ---- */

/* The bearer token of the Authorization header; replies 401 when there is none. */
static const char *bearer(struct request *r)
{
	const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		reply_scim_error(r, TS_INVALID_TOKEN, NULL, "a Bearer access token is required");
		return NULL;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (!*h) {
		reply_scim_error(r, TS_INVALID_TOKEN, NULL, "a Bearer access token is required");
		return NULL;
	}
	return h;
}

/* 0 when the request carries a good access token granted "scim"; else it replied, -1. */
static int authorize(struct request *r, store *s)
{
	const char *token = bearer(r), *cid;
	json_t *claims;
	char *scope = NULL;
	int active = 0, ok;
	ts_err rc;

	if (!token)
		return -1;
	claims = access_claims(r, token);
	rc = claims ? grant_token_active(s, claims, &active, &scope, NULL) : TS_OK;
	if (rc != TS_OK) {
		json_decref(claims);
		reply_scim_error(r, rc, NULL, NULL);
		return -1;
	}
	cid = json_string_value(json_object_get(claims, "client_id"));
	if (cid && !r->client_id)
		r->client_id = strdup(cid);
	ok = active && client_list_has(scope, "scim");
	json_decref(claims);
	free(scope);
	if (!active) {
		reply_scim_error(r, TS_INVALID_TOKEN, NULL, "the access token is not valid");
		return -1;
	}
	if (!ok) {
		reply_scim_error(r, TS_INSUFFICIENT_SCOPE, NULL,
		                 "the access token was not granted the scim scope");
		return -1;
	}
	return 0;
}

/* ---- discovery ---- */

static void discovery(struct request *r, const char *what, const char *name)
{
	char *base = scim_base(r);
	json_t *doc = NULL;

	if (!base) {
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
		return;
	}
	if (strcmp(what, "ServiceProviderConfig") == 0 && !name)
		doc = scim_spc_json(base, SCIM_MAX_RESULTS);
	else if (strcmp(what, "ResourceTypes") == 0)
		doc = name ? scim_rtype_json(base, name) : scim_rtypes_json(base);
	else if (strcmp(what, "Schemas") == 0)
		doc = name ? scim_schema_json(base, name) : scim_schemas_json(base);
	free(base);
	if (!doc) {
		reply_scim_error(r, name ? TS_NOT_FOUND : TS_SERVER_ERROR, NULL,
		                 name ? "no such resource" : NULL);
		return;
	}
	reply_scim(r, 200, doc, NULL, NULL);
}

/* ---- reading ---- */

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

static void get_one(struct request *r, store *s, const struct scim_rtype *t, const char *id)
{
	struct form *f = NULL;
	json_t *res = NULL;
	char *base = scim_base(r);
	ts_err rc;

	if (scim_query_form(r, &f)) {
		free(base);
		return;
	}
	rc = base ? scim_load(s, t, id, base, &res) : TS_SERVER_ERROR;
	free(base);
	if (rc) {
		reply_scim_error(r, rc, NULL, rc == TS_NOT_FOUND ? "no such resource" : NULL);
	} else if (httphdr_etag_listed(http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH),
	                            scim_version(res))) {
		reply_scim(r, 304, NULL, scim_version(res), NULL);
		json_decref(res);
	} else {
		scim_reply_resource(r, t, 200, res, form_get(f, "attributes"),
		                    form_get(f, "excludedAttributes"), 0, NULL);
	}
	form_free(f);
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

/* ---- routing ---- */

static void method_not_allowed(struct request *r, const char *allow)
{
	r->allow = allow;
	reply_scim_error(r, TS_METHOD_NOT_ALLOWED, NULL, "method not allowed here");
}

void scim_handle(struct request *r)
{
	const char *path = r->url + 8, *m = r->method;
	char what[64], id[256];
	const struct scim_rtype *t;
	int n = 0, get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	store *s = http_store(r);
	size_t wl, il = 0;

	if (!s) {
		reply_scim_error(r, TS_UNAVAILABLE, NULL, NULL);
		return;
	}
	if (authorize(r, s))
		return;
	/* /scim/v2/what[/id] */
	if (*path == '/')
		path++;
	wl = strcspn(path, "/");
	if (wl && wl < sizeof what) {
		memcpy(what, path, wl);
		what[wl] = '\0';
		n = 1;
		if (path[wl] == '/') {
			il = strlen(path + wl + 1);
			if (!il || il >= sizeof id || strchr(path + wl + 1, '/')) {
				n = 0;
			} else {
				memcpy(id, path + wl + 1, il + 1);
				n = 2;
			}
		}
	}
	if (n && (strcmp(what, "ServiceProviderConfig") == 0 || strcmp(what, "ResourceTypes") == 0 ||
	          strcmp(what, "Schemas") == 0)) {
		if (!get)
			method_not_allowed(r, "GET");
		else
			discovery(r, what, n == 2 ? id : NULL);
		return;
	}
	t = n ? scim_rtype_by_endpoint(what) : NULL;
	if (!t) {
		reply_scim_error(r, TS_NOT_FOUND, NULL, "no such endpoint");
		return;
	}
	if (n == 2 && strcmp(id, ".search") == 0) {
		if (strcmp(m, "POST") != 0)
			method_not_allowed(r, "POST");
		else
			scim_list_search(r, s, t);
	} else if (n == 1) {
		if (get)
			scim_list_get(r, s, t);
		else if (strcmp(m, "POST") == 0 && t->id != SCIM_R_GRANT)
			scim_create(r, t);
		else
			method_not_allowed(r, t->id == SCIM_R_GRANT ? "GET" : "GET, POST");
	} else if (get) {
		get_one(r, s, t, id);
	} else if (strcmp(m, "DELETE") == 0) {
		scim_delete(r, t, id);
	} else if (strcmp(m, "PATCH") == 0) {
		scim_modify(r, t, id, 1);
	} else if (strcmp(m, "PUT") == 0 && t->id != SCIM_R_GRANT) {
		scim_modify(r, t, id, 0);
	} else {
		method_not_allowed(r, t->id == SCIM_R_GRANT ? "GET, PATCH, DELETE" :
		                   "GET, PUT, PATCH, DELETE");
	}
}
