/* scim_res.c - records as SCIM resources and back (see scim_res.h). */
#include "scim_res.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "form.h"
#include "jbuf.h"
#include "scope.h"
#include "secret.h"

#define MAX_SECONDS 315360000 /* ten years: the CLI's limit on durations */

/* ---- building ---- */

static json_t *iso_time(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

/* The fields a resource is built from, for its version: each as a JSON value, so that no two
 * different sequences give the same text. */
static void vstr(struct jbuf *b, const char *s)
{
	if (s)
		jbuf_str(b, s);
	else
		jbuf_raw(b, "null", 4);
	jbuf_raw(b, ",", 1);
}

static void vint(struct jbuf *b, int64_t v)
{
	jbuf_int(b, v);
	jbuf_raw(b, ",", 1);
}

/* Adds meta to res, with the version: the start of the SHA-256 of the fields in v (taken).
 * res on success, NULL (res released) when out of memory. */
static json_t *finish(json_t *res, const char *rtype, const char *base, const char *endpoint,
                      const char *id, int64_t created, int64_t modified, struct jbuf *v)
{
	char *text, *loc = NULL, version[40];
	unsigned char h[32];
	size_t len;
	json_t *meta;
	int i;

	text = jbuf_take(v, &len);
	if (!res || !text || asprintf(&loc, "%s%s/%s", base, endpoint, id) < 0) {
		free(text);
		json_decref(res);
		return NULL;
	}
	secret_sha256(text, len, h);
	free(text);
	memcpy(version, "W/\"", 3);
	for (i = 0; i < 8; i++)
		snprintf(version + 3 + 2 * i, 3, "%02x", h[i]);
	memcpy(version + 19, "\"", 2);
	meta = json_pack("{s:s, s:o, s:o, s:s, s:s}", "resourceType", rtype, "created",
	                 iso_time(created), "lastModified", iso_time(modified), "location", loc,
	                 "version", version);
	free(loc);
	if (!meta || json_object_set_new(res, "meta", meta)) {
		json_decref(res);
		return NULL;
	}
	return res;
}

const char *scim_version(const json_t *resource)
{
	const char *v = json_string_value(json_object_get(json_object_get(resource, "meta"),
	                                                  "version"));

	return v ? v : "";
}

/* Sets res[key] to a new string of v when v is set and non-empty; -1 on OOM. */
static int set_str(json_t *obj, const char *key, const char *v)
{
	if (!v || !*v)
		return 0;
	return json_object_set_new(obj, key, json_string(v));
}

/* The space-separated list as a JSON array of strings. */
static json_t *list_array(const char *list)
{
	json_t *a = json_array();
	const char *p;

	for (p = list ? list : ""; a && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		if (n && json_array_append_new(a, json_stringn(p, n))) {
			json_decref(a);
			return NULL;
		}
		p += n;
	}
	return a;
}

/* The array of {value, display} in text with "$ref" (base + endpoint + "/" + value) and "type"
 * added to each element. */
static json_t *refs(const char *text, const char *base, const char *endpoint, const char *type)
{
	json_t *a = json_loads(text ? text : "[]", 0, NULL), *el;
	size_t i;
	char *ref;

	if (!json_is_array(a)) {
		json_decref(a);
		return NULL;
	}
	json_array_foreach(a, i, el) {
		if (asprintf(&ref, "%s%s/%s", base, endpoint,
		             json_string_value(json_object_get(el, "value"))) < 0) {
			json_decref(a);
			return NULL;
		}
		json_object_set_new(el, "$ref", json_string(ref));
		json_object_set_new(el, "type", json_string(type));
		free(ref);
	}
	return a;
}

/* Adds the extension object {key: value} under urn (and urn to schemas) when value is set. */
static int set_ext(json_t *res, const char *urn, const char *key, const char *value)
{
	json_t *ext;

	if (!value || !*value)
		return 0;
	ext = json_object_get(res, urn);
	if (!ext) {
		ext = json_object();
		if (!ext || json_object_set_new(res, urn, ext))
			return -1;
	}
	if (json_object_set_new(ext, key, json_string(value)))
		return -1;
	return json_array_append_new(json_object_get(res, "schemas"), json_string(urn));
}

json_t *scim_user_json(const struct user *u, const char *base)
{
	json_t *attrs = json_loads(u->attrs ? u->attrs : "{}", 0, NULL), *groups, *res;
	struct jbuf v = {0};
	char id[24];
	int bad;

	snprintf(id, sizeof id, "%lld", (long long)u->id);
	/* schemas, id and userName first, for people reading the answers */
	res = json_pack("{s:[s], s:s, s:s}", "schemas", SCIM_CORE_USER, "id", id, "userName",
	                u->username);
	bad = !res || (json_is_object(attrs) && json_object_update(res, attrs)) ||
	      set_str(res, "externalId", u->external_id) ||
	      set_str(res, "displayName", u->name) ||
	      json_object_set_new(res, "active", json_boolean(u->active));
	json_decref(attrs);
	if (!bad && json_object_get(res, SCIM_ENTERPRISE_USER))
		bad = json_array_append_new(json_object_get(res, "schemas"),
		                            json_string(SCIM_ENTERPRISE_USER));
	if (!bad)
		bad = set_ext(res, SCIM_TESSERA_USER, "scope", u->scope);
	if (!bad) {
		groups = refs(u->groups, base, "/Groups", "direct");
		bad = !groups || (json_array_size(groups) ?
		                  json_object_set_new(res, "groups", groups) : (json_decref(groups), 0));
	}
	if (bad) {
		json_decref(res);
		return NULL;
	}
	vint(&v, u->id);
	vstr(&v, u->username);
	vstr(&v, u->name);
	vstr(&v, u->external_id);
	vstr(&v, u->scope);
	vint(&v, u->active);
	vstr(&v, u->attrs);
	vstr(&v, u->groups);
	vint(&v, u->created_at);
	vint(&v, u->updated_at);
	return finish(res, "User", base, "/Users", id, u->created_at, u->updated_at, &v);
}

json_t *scim_group_json(const struct group *g, const char *base)
{
	json_t *res = json_pack("{s:[s]}", "schemas", SCIM_CORE_GROUP), *members;
	struct jbuf v = {0};
	char id[24];
	int bad;

	snprintf(id, sizeof id, "%lld", (long long)g->id);
	bad = !res || json_object_set_new(res, "id", json_string(id)) ||
	      json_object_set_new(res, "displayName", json_string(g->display_name)) ||
	      set_str(res, "externalId", g->external_id) ||
	      set_ext(res, SCIM_TESSERA_GROUP, "scope", g->scope);
	if (!bad) {
		members = refs(g->members, base, "/Users", "User");
		bad = !members || (json_array_size(members) ?
		                   json_object_set_new(res, "members", members) :
		                   (json_decref(members), 0));
	}
	if (bad) {
		json_decref(res);
		return NULL;
	}
	vint(&v, g->id);
	vstr(&v, g->display_name);
	vstr(&v, g->external_id);
	vstr(&v, g->scope);
	vstr(&v, g->members);
	vint(&v, g->created_at);
	vint(&v, g->updated_at);
	return finish(res, "Group", base, "/Groups", id, g->created_at, g->updated_at, &v);
}

json_t *scim_client_json(const struct client *c, const char *base)
{
	json_t *res = json_pack("{s:[s], s:s, s:o, s:o, s:b, s:b, s:i, s:i, s:i, s:b}", "schemas",
	                        SCIM_TESSERA_CLIENT, "id", c->client_id,
	                        "redirectUris", list_array(c->redirect_uris),
	                        "grantTypes", list_array(c->grant_types), "public", c->is_public,
	                        "refreshTokenRotation", c->refresh_rotation,
	                        "refreshGraceSeconds", c->refresh_grace,
	                        "refreshIdleSeconds", c->refresh_idle_ttl,
	                        "grantLifetimeSeconds", c->grant_lifetime, "active", c->active);
	struct jbuf v = {0};

	if (res && (set_str(res, "clientName", c->name) || set_str(res, "scope", c->scope) ||
	            set_str(res, "externalId", c->external_id))) {
		json_decref(res);
		return NULL;
	}
	if (res && !json_array_size(json_object_get(res, "redirectUris")))
		json_object_del(res, "redirectUris");
	vstr(&v, c->client_id);
	vstr(&v, c->name);
	vstr(&v, c->external_id);
	vstr(&v, c->redirect_uris);
	vstr(&v, c->grant_types);
	vstr(&v, c->scope);
	vint(&v, c->is_public);
	vint(&v, c->refresh_rotation);
	vint(&v, c->refresh_grace);
	vint(&v, c->refresh_idle_ttl);
	vint(&v, c->grant_lifetime);
	vint(&v, c->active);
	vint(&v, c->created_at);
	vint(&v, c->updated_at);
	return finish(res, "Client", base, "/Clients", c->client_id, c->created_at, c->updated_at,
	              &v);
}

json_t *scim_grant_json(const struct grant *g, const char *base)
{
	json_t *res = json_pack("{s:[s], s:s, s:s}", "schemas", SCIM_TESSERA_GRANT,
	                        "clientId", g->client_id, "scope", g->scope ? g->scope : "");
	struct jbuf v = {0};
	char id[24], uid[24];

	snprintf(id, sizeof id, "%lld", (long long)g->id);
	snprintf(uid, sizeof uid, "%lld", (long long)g->user_id);
	if (res && (json_object_set_new(res, "id", json_string(id)) ||
	            set_str(res, "userName", g->username) ||
	            (g->user_id && set_str(res, "userId", uid)))) {
		json_decref(res);
		return NULL;
	}
	vint(&v, g->id);
	vstr(&v, g->client_id);
	vint(&v, g->user_id);
	vstr(&v, g->username);
	vstr(&v, g->scope);
	vint(&v, g->created_at);
	vint(&v, g->updated_at);
	return finish(res, "Grant", base, "/Grants", id, g->created_at, g->updated_at, &v);
}

/* ---- receiving ---- */

static const char *get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A copy of s, or NULL for NULL; *oom set when the copy fails. */
static char *dup_or_null(const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

/* An allowed scope (of a user, group or client): valid tokens; *out a copy. */
static ts_err take_scope(const char *scope, char **out, struct scim_error *e)
{
	char *bad = NULL;

	*out = NULL;
	if (!scope)
		scope = "";
	if (!scope_allowed_valid(scope, &bad)) {
		scim_error_set(e, SCIM_E_INVALID_VALUE, "scope: invalid scope token \"%.200s\"",
		               bad ? bad : scope);
		free(bad);
		return TS_INVALID_REQUEST;
	}
	*out = strdup(scope);
	return *out ? TS_OK : TS_SERVER_ERROR;
}

/* A name a person types (userName, displayName): 1..255 bytes, no control character. */
static int name_ok(const char *s)
{
	const unsigned char *p;

	if (!s || !*s || strlen(s) > 255)
		return 0;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* The primary email's value, else the first's, or NULL. */
static const char *primary_email(const json_t *emails)
{
	const json_t *el;
	size_t i;

	json_array_foreach(emails, i, el)
		if (json_is_true(json_object_get(el, "primary")) && get_str(el, "value"))
			return get_str(el, "value");
	json_array_foreach(emails, i, el)
		if (get_str(el, "value"))
			return get_str(el, "value");
	return NULL;
}

void scim_user_clear(struct user *u)
{
	free(u->username);
	free(u->name);
	free(u->email);
	free(u->scope);
	free(u->external_id);
	free(u->attrs);
	u->username = u->name = u->email = u->scope = u->external_id = u->attrs = NULL;
}

ts_err scim_user_from(const json_t *n, struct user *u, struct scim_error *e)
{
	static const char *const own[] = {"schemas", "id", "meta", "userName", "displayName",
		"active", "externalId", "password", "groups"};
	json_t *rest, *ext;
	const char *username = get_str(n, "userName");
	const json_t *active = json_object_get(n, "active");
	int oom = 0;
	size_t i;
	ts_err rc;

	if (!name_ok(username))
		return scim_error_set(e, SCIM_E_INVALID_VALUE,
		                      "userName must be 1 to 255 characters without control characters");
	if (get_str(n, "displayName") && strlen(get_str(n, "displayName")) > 1024)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "displayName is too long");
	rc = take_scope(get_str(json_object_get(n, SCIM_TESSERA_USER), "scope"), &u->scope, e);
	if (rc)
		return rc;
	u->username = dup_or_null(username, &oom);
	u->name = dup_or_null(get_str(n, "displayName"), &oom);
	u->email = dup_or_null(primary_email(json_object_get(n, "emails")), &oom);
	u->external_id = dup_or_null(get_str(n, "externalId"), &oom);
	u->active = active ? json_is_true(active) : 1;
	rest = json_deep_copy(n);
	if (!rest)
		oom = 1;
	for (i = 0; rest && i < sizeof own / sizeof own[0]; i++)
		json_object_del(rest, own[i]);
	ext = json_object_get(rest, SCIM_TESSERA_USER);
	if (ext) {
		json_object_del(ext, "scope");
		if (!json_object_size(ext))
			json_object_del(rest, SCIM_TESSERA_USER);
	}
	if (rest && !(u->attrs = json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS)))
		oom = 1;
	json_decref(rest);
	if (oom) {
		scim_user_clear(u);
		return TS_SERVER_ERROR;
	}
	return TS_OK;
}

void scim_group_clear(struct group *g)
{
	free(g->display_name);
	free(g->external_id);
	free(g->scope);
	g->display_name = g->external_id = g->scope = NULL;
}

/* The member ids of members (an array of {value, type}). */
static ts_err member_ids(const json_t *members, int64_t **ids, size_t *nids,
                         struct scim_error *e)
{
	const json_t *el;
	size_t i;

	*ids = NULL;
	*nids = 0;
	if (!json_array_size(members))
		return TS_OK;
	*ids = calloc(json_array_size(members), sizeof **ids);
	if (!*ids)
		return TS_SERVER_ERROR;
	json_array_foreach(members, i, el) {
		const char *v = get_str(el, "value"), *type = get_str(el, "type");
		char *end;
		long long id;

		if (type && strcmp(type, "User") != 0) {
			free(*ids);
			*ids = NULL;
			return scim_error_set(e, SCIM_E_INVALID_VALUE,
			                      "members: only users can be members (type \"User\")");
		}
		id = v && *v >= '1' && *v <= '9' ? strtoll(v, &end, 10) : 0;
		if (id <= 0 || *end || strlen(v) > 18) {
			free(*ids);
			*ids = NULL;
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "members: \"%.100s\" is not a user id",
			                      v ? v : "");
		}
		(*ids)[(*nids)++] = id;
	}
	return TS_OK;
}

ts_err scim_group_from(const json_t *n, struct group *g, int64_t **ids, size_t *nids,
                       struct scim_error *e)
{
	const char *name = get_str(n, "displayName");
	int oom = 0;
	ts_err rc;

	*ids = NULL;
	*nids = 0;
	if (!name_ok(name))
		return scim_error_set(e, SCIM_E_INVALID_VALUE,
		                      "displayName must be 1 to 255 characters without control characters");
	rc = take_scope(get_str(json_object_get(n, SCIM_TESSERA_GROUP), "scope"), &g->scope, e);
	if (!rc)
		rc = member_ids(json_object_get(n, "members"), ids, nids, e);
	if (rc) {
		scim_group_clear(g);
		return rc;
	}
	g->display_name = dup_or_null(name, &oom);
	g->external_id = dup_or_null(get_str(n, "externalId"), &oom);
	if (oom) {
		scim_group_clear(g);
		free(*ids);
		*ids = NULL;
		return TS_SERVER_ERROR;
	}
	return TS_OK;
}

void scim_client_clear(struct client *c)
{
	free(c->name);
	free(c->redirect_uris);
	free(c->grant_types);
	free(c->scope);
	free(c->external_id);
	c->name = c->redirect_uris = c->grant_types = c->scope = c->external_id = NULL;
}

/* The array of strings as a space-separated list (*out malloc'd); check says whether an element
 * is acceptable. */
static ts_err join(const json_t *a, int (*check)(const char *), const char *what, char **out,
                   struct scim_error *e)
{
	const json_t *el;
	size_t i, len = 0;

	*out = NULL;
	json_array_foreach(a, i, el) {
		const char *v = json_string_value(el);

		if (!v || !check(v))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s: \"%.200s\" is not allowed",
			                      what, v ? v : "");
		len += strlen(v) + 1;
	}
	*out = calloc(1, len + 1);
	if (!*out)
		return TS_SERVER_ERROR;
	json_array_foreach(a, i, el) {
		const char *v = json_string_value(el);

		if (client_list_has(*out, v))
			continue;
		if (**out)
			strcat(*out, " ");
		strcat(*out, v);
	}
	return TS_OK;
}

static int grant_type_ok(const char *v)
{
	return strcmp(v, "client_credentials") == 0 || strcmp(v, "authorization_code") == 0 ||
	       strcmp(v, "refresh_token") == 0 ||
	       strcmp(v, "urn:ietf:params:oauth:grant-type:device_code") == 0;
}

/* An integer number of seconds of n[key] into *out (absent: 0). */
static ts_err seconds(const json_t *n, const char *key, int *out, struct scim_error *e)
{
	const json_t *v = json_object_get(n, key);

	*out = 0;
	if (!v)
		return TS_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > MAX_SECONDS)
		return scim_error_set(e, SCIM_E_INVALID_VALUE,
		                      "%s must be a whole number of seconds from 0 to %d", key,
		                      MAX_SECONDS);
	*out = (int)json_integer_value(v);
	return TS_OK;
}

ts_err scim_client_from(const json_t *n, struct client *c, struct scim_error *e)
{
	const json_t *pub = json_object_get(n, "public"), *rot = json_object_get(n, "refreshTokenRotation");
	const json_t *active = json_object_get(n, "active");
	const char *name = get_str(n, "clientName"), *why;
	int oom = 0;
	ts_err rc;

	c->name = c->redirect_uris = c->grant_types = c->scope = c->external_id = NULL;
	if (pub)
		c->is_public = json_is_true(pub);
	c->refresh_rotation = rot ? json_is_true(rot) : 1;
	c->active = active ? json_is_true(active) : 1;
	if (name && (strlen(name) > 255 || !form_utf8_valid((const unsigned char *)name, strlen(name))))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "clientName is too long");
	rc = seconds(n, "refreshGraceSeconds", &c->refresh_grace, e);
	if (!rc)
		rc = seconds(n, "refreshIdleSeconds", &c->refresh_idle_ttl, e);
	if (!rc)
		rc = seconds(n, "grantLifetimeSeconds", &c->grant_lifetime, e);
	if (!rc)
		rc = take_scope(get_str(n, "scope"), &c->scope, e);
	if (!rc)
		rc = join(json_object_get(n, "redirectUris"), client_redirect_uri_valid, "redirectUris",
		          &c->redirect_uris, e);
	if (!rc)
		rc = join(json_object_get(n, "grantTypes"), grant_type_ok, "grantTypes",
		          &c->grant_types, e);
	if (!rc && !*c->grant_types) {
		free(c->grant_types);
		c->grant_types = strdup(c->is_public ? "authorization_code" : "client_credentials");
		oom = !c->grant_types;
	}
	if (!rc && !oom) {
		c->name = strdup(name ? name : "");
		c->external_id = dup_or_null(get_str(n, "externalId"), &oom);
		oom = oom || !c->name;
	}
	if (!rc && oom)
		rc = TS_SERVER_ERROR;
	if (!rc && (why = client_rules(c)))
		rc = scim_error_set(e, SCIM_E_INVALID_VALUE, "%s", why);
	if (rc)
		scim_client_clear(c);
	return rc;
}
