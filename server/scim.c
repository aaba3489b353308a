/* scim.c - the SCIM 2.0 API (RFC 7644) under /scim/v2: authentication, routing, discovery,
 * reading one resource. Lists and .search are in scim_list.c, the writes (POST, PUT, PATCH,
 * DELETE) in scim_write.c, and what the three share (answers, loading a resource, the query
 * and the body) in scim_common.c, below them.
 *
 * Every request needs a bearer access token whose scope holds "scim". Resources are built from
 * the store's records by lib/scim/scim_res.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "httphdr.h"
#include "scim_res.h"
#include "scim.h"

/* ---- authentication ---- */

/* The access token of the Authorization header (Bearer, or DPoP with a proof: server/dpop.c);
 * replies 401 when there is none. */
static const char *bearer(struct request *r)
{
	const char *token = dpop_auth_token(r, http_header(r, MHD_HTTP_HEADER_AUTHORIZATION));

	if (!token)
		reply_scim_error(r, TS_INVALID_TOKEN, NULL, "a Bearer access token is required");
	return token;
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
	if (dpop_resource_check(r, token, claims)) {
		json_decref(claims);
		return -1;
	}
	rc = claims ? grant_token_active(s, claims, &active, &scope, NULL) : TS_OK;
	if (rc != TS_OK) {
		json_decref(claims);
		reply_scim_error(r, rc, NULL, NULL);
		return -1;
	}
	cid = json_string_value(json_object_get(claims, "client_id"));
	if (cid && !r->client_id)
		r->client_id = strdup(cid);
	/* a certificate-bound token only with its certificate (RFC 8705 §3) */
	if (active && !clientcert_token_ok(r, claims))
		active = 0;
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
	if (n && strcmp(what, "EnrollmentTokens") == 0) { /* scim_enroll.c */
		scim_enroll_handle(r, s, n == 2 ? id : NULL);
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
