/* scim_enroll.c - enrollment tokens over SCIM (docs/enrollment.md): /scim/v2/EnrollmentTokens,
 * a resource type of Tessera's own, outside the generic resource machinery (no filters):
 *   GET          the list (ListResponse), or one token by id
 *   POST         a new token, from a template; its secret is in that one answer
 *                ("enrollmentToken") and never again
 *   PATCH        {"op": "replace", "path": "active", "value": false}: revokes it (for good)
 *   DELETE       removes it (the clients it registered stay)
 * The same as `tessera enrollment add|list|show|revoke|rm`; scim.c routes here after checking
 * the caller's access token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "enroll.h"
#include "secret.h"
#include "store_enroll.h"
#include "scim.h"

#define SCIM_TESSERA_ENROLLMENT "urn:tessera:params:scim:schemas:2.0:EnrollmentToken"
#define SCIM_PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"

static json_t *when(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

static json_t *words(const char *list)
{
	json_t *a = json_array();
	size_t n;

	for (; a && list && *list; list += n, list += strspn(list, " ")) {
		n = strcspn(list, " ");
		if (n == 11 && strncmp(list, "device_code", 11) == 0)
			json_array_append_new(a, json_string("urn:ietf:params:oauth:grant-type:device_code"));
		else
			json_array_append_new(a, json_stringn(list, n));
	}
	return a;
}

static json_t *resource(const struct enrollment *e, const char *base, int64_t now)
{
	char *loc = NULL;
	json_t *j;

	if (asprintf(&loc, "%s/EnrollmentTokens/%s", base, e->id) < 0)
		return NULL;
	j = json_pack("{s:[s], s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:o, s:b,"
	              " s:{s:s, s:o, s:o, s:s}}",
		"schemas", SCIM_TESSERA_ENROLLMENT, "id", e->id, "displayName", e->name,
		"grantTypes", words(e->t.grant_types), "scope", e->t.scope,
		"tokenEndpointAuthMethod", e->t.auth_method,
		"accessTokenFormat", e->t.token_reference ? "reference" : "jwt",
		"maxUses", (json_int_t)e->max_uses, "uses", (json_int_t)e->uses,
		"expiresAt", when(e->expires_at), "active", !enroll_unusable(e, now),
		"meta", "resourceType", "EnrollmentToken", "created", when(e->created_at),
		"lastModified", when(e->revoked_at ? e->revoked_at : e->created_at), "location", loc);
	free(loc);
	if (j && e->revoked_at)
		json_object_set_new(j, "revokedAt", when(e->revoked_at));
	return j;
}

/* ---- reading ---- */

struct list {
	json_t *items;
	const char *base;
	int64_t now;
};

static int collect(const struct enrollment *e, void *arg)
{
	struct list *l = arg;

	return json_array_append_new(l->items, resource(e, l->base, l->now));
}

static void list(struct request *r, store *s, const char *base)
{
	struct list l = {json_array(), base, r->now};
	ts_err rc;

	if (r->query && strstr(r->query, "filter=")) {
		json_decref(l.items);
		reply_scim_error(r, TS_INVALID_REQUEST, "invalidFilter",
		                 "EnrollmentTokens are listed whole: filter is not supported here");
		return;
	}
	rc = l.items ? store_enrollment_each(s, collect, &l) : TS_SERVER_ERROR;
	if (rc) {
		json_decref(l.items);
		reply_scim_error(r, rc, NULL, NULL);
		return;
	}
	reply_scim(r, 200, json_pack("{s:[s], s:I, s:i, s:I, s:o}", "schemas", SCIM_LIST_RESPONSE,
	                             "totalResults", (json_int_t)json_array_size(l.items),
	                             "startIndex", 1,
	                             "itemsPerPage", (json_int_t)json_array_size(l.items),
	                             "Resources", l.items), NULL, NULL);
}

static void get_one(struct request *r, store *s, const char *base, const char *id)
{
	struct enrollment *e = NULL;
	ts_err rc = store_enrollment_get(s, id, &e);

	if (rc)
		reply_scim_error(r, rc, NULL, rc == TS_NOT_FOUND ? "no such resource" : NULL);
	else
		reply_scim(r, 200, resource(e, base, r->now), NULL, NULL);
	store_enrollment_free(e);
}

/* ---- writing ---- */

static ts_err add_job(store *s, void *arg)
{
	return store_enrollment_add(s, arg);
}

static ts_err revoke_job(store *s, void *arg)
{
	const struct enrollment *e = arg;

	return store_enrollment_revoke(s, e->id, e->revoked_at);
}

static ts_err remove_job(store *s, void *arg)
{
	return store_enrollment_remove(s, arg);
}

/* The new token that body describes into e; NULL, or why not (static English). */
static const char *from_body(const json_t *body, struct enrollment *e, int64_t now, char **bad)
{
	const json_t *v;
	const char *why;
	size_t i;

	v = json_object_get(body, "displayName");
	if (v && !json_is_string(v))
		return "displayName must be a string";
	e->name = strdup(v ? json_string_value(v) : "");
	v = json_object_get(body, "scope");
	if (!json_is_string(v))
		return "scope (a string) is required";
	e->t.scope = strdup(json_string_value(v));
	v = json_object_get(body, "tokenEndpointAuthMethod");
	if (v && !json_is_string(v))
		return "tokenEndpointAuthMethod must be a string";
	e->t.auth_method = strdup(v ? json_string_value(v) : "private_key_jwt");
	v = json_object_get(body, "accessTokenFormat");
	if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "jwt") &&
	                                 strcmp(json_string_value(v), "reference"))))
		return "accessTokenFormat is jwt or reference";
	e->t.token_reference = v && strcmp(json_string_value(v), "reference") == 0;
	v = json_object_get(body, "grantTypes");
	if (v && !json_is_array(v))
		return "grantTypes must be an array of strings";
	if (!v && enroll_template_add_grant(&e->t, "client_credentials"))
		return "out of memory";
	for (i = 0; v && i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)) ||
		    enroll_template_add_grant(&e->t, json_string_value(json_array_get(v, i))))
			return "grantTypes must be an array of strings";
	v = json_object_get(body, "maxUses");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 100000000)
		return "maxUses (1 to 100000000) is required";
	e->max_uses = json_integer_value(v);
	v = json_object_get(body, "expiresIn");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 3650LL * 86400)
		return "expiresIn (seconds, up to ten years) is required";
	e->expires_at = now + json_integer_value(v);
	e->created_at = now;
	if (!e->name || !e->t.scope || !e->t.auth_method)
		return "out of memory";
	if ((why = enroll_template_problem(&e->t, bad)))
		return why;
	return NULL;
}

static void create(struct request *r, const char *base)
{
	json_t *body = scim_body(r), *res;
	struct enrollment e = {0};
	char text[ENROLL_TOKEN_LEN] = "", *bad = NULL, detail[300];
	const char *why;
	ts_err rc;

	if (!body)
		return;
	if ((why = from_body(body, &e, r->now, &bad))) {
		snprintf(detail, sizeof detail, "%s%s%.100s", why, bad ? ": " : "", bad ? bad : "");
		reply_scim_error(r, TS_INVALID_REQUEST, "invalidValue", detail);
	} else if (enroll_token_new(&e, text)) {
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
	} else if ((rc = http_write(r, add_job, &e))) {
		reply_scim_error(r, rc, NULL, NULL);
	} else if (!(res = resource(&e, base, r->now))) {
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
	} else {
		/* the one time its secret is shown: only its hash is kept */
		char *loc = strdup(json_string_value(json_object_get(json_object_get(res, "meta"),
		                                                     "location")));

		json_object_set_new(res, "enrollmentToken", json_string(text));
		reply_scim(r, 201, res, NULL, loc); /* (which frees res) */
		free(loc);
	}
	secret_wipe(text, sizeof text);
	free(bad);
	store_enrollment_clear(&e);
	json_decref(body);
}

/* 1 when op deactivates: {"op": "replace", "path": "active", "value": false} or
 * {"op": "replace", "value": {"active": false}}; -1 when it activates; 0 for anything else. */
static int deactivates(const json_t *op)
{
	const char *o = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	const json_t *v = json_object_get(op, "value");

	if (!o || strcasecmp(o, "replace"))
		return 0;
	if (path && strcasecmp(path, "active") == 0 && json_is_boolean(v))
		return json_is_false(v) ? 1 : -1;
	if (!path && json_is_object(v) && json_object_size(v) == 1 &&
	    json_is_boolean(json_object_get(v, "active")))
		return json_is_false(json_object_get(v, "active")) ? 1 : -1;
	return 0;
}

static void patch(struct request *r, store *s, const char *base, const char *id)
{
	json_t *body = scim_body(r), *ops;
	struct enrollment *e = NULL;
	size_t i;
	int d = 1;
	ts_err rc;

	if (!body)
		return;
	ops = json_object_get(body, "Operations");
	if (!scim_has_schema(body, SCIM_PATCH_OP) || !json_is_array(ops) || !json_array_size(ops)) {
		reply_scim_error(r, TS_INVALID_REQUEST, "invalidSyntax", "a PatchOp with Operations");
		goto out;
	}
	for (i = 0; d == 1 && i < json_array_size(ops); i++)
		d = deactivates(json_array_get(ops, i));
	if (d != 1) {
		reply_scim_error(r, TS_INVALID_REQUEST, d < 0 ? "mutability" : "invalidValue",
		                 d < 0 ? "a revoked enrollment token stays revoked; make a new one" :
		                 "an enrollment token can only be deactivated (active: false)");
		goto out;
	}
	rc = store_enrollment_get(s, id, &e);
	if (!rc) {
		e->revoked_at = r->now;
		rc = http_write(r, revoke_job, e);
	}
	store_enrollment_free(e);
	e = NULL;
	if (!rc)
		rc = store_enrollment_get(s, id, &e);
	if (rc)
		reply_scim_error(r, rc, NULL, rc == TS_NOT_FOUND ? "no such resource" : NULL);
	else
		reply_scim(r, 200, resource(e, base, r->now), NULL, NULL);
out:
	store_enrollment_free(e);
	json_decref(body);
}

void scim_enroll_handle(struct request *r, store *s, const char *id)
{
	const char *m = r->method;
	int get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	char *base = scim_base(r);
	ts_err rc;

	if (!base) {
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
		return;
	}
	if (!id) {
		if (get)
			list(r, s, base);
		else if (strcmp(m, "POST") == 0)
			create(r, base);
		else {
			r->allow = "GET, POST";
			reply_scim_error(r, TS_METHOD_NOT_ALLOWED, NULL, "method not allowed here");
		}
	} else if (get) {
		get_one(r, s, base, id);
	} else if (strcmp(m, "PATCH") == 0) {
		patch(r, s, base, id);
	} else if (strcmp(m, "DELETE") == 0) {
		rc = http_write(r, remove_job, (void *)id);
		if (rc)
			reply_scim_error(r, rc, NULL, rc == TS_NOT_FOUND ? "no such resource" : NULL);
		else
			reply_scim(r, 204, NULL, NULL, NULL);
	} else {
		r->allow = "GET, PATCH, DELETE";
		reply_scim_error(r, TS_METHOD_NOT_ALLOWED, NULL, "method not allowed here");
	}
	free(base);
}
