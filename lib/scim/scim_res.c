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

/* ---- building ----
 * Resources are written as JSON text directly (a page of 100 users built as Jansson trees spent
 * most of its time allocating); the json_t forms parse that text. */

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

static void put(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

/* ,"key":"value" when value is set and non-empty */
static void opt_str(struct jbuf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	jbuf_key(b, key, 0);
	jbuf_str(b, value);
}

static void put_bool(struct jbuf *b, const char *key, int v)
{
	jbuf_key(b, key, 0);
	put(b, v ? "true" : "false");
}

static void put_int(struct jbuf *b, const char *key, int64_t v)
{
	jbuf_key(b, key, 0);
	jbuf_int(b, v);
}

static void put_time(struct jbuf *b, const char *key, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	jbuf_key(b, key, 0);
	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		put(b, "null");
	else
		jbuf_str(b, buf);
}

/* Ends the resource in b with its meta: the version is the start of the SHA-256 of the fields
 * in v (emptied); its text is also written to version (20 bytes) when not NULL. */
static void put_meta(struct jbuf *b, const char *rtype, const char *base, const char *endpoint,
                     const char *id, int64_t created, int64_t modified, struct jbuf *v)
{
	size_t len;
	char *text = jbuf_take(v, &len), ver[24];
	unsigned char h[32];
	int i;

	if (!text) {
		b->oom = 1;
		return;
	}
	secret_sha256(text, len, h);
	free(text);
	memcpy(ver, "W/\"", 3);
	for (i = 0; i < 8; i++)
		snprintf(ver + 3 + 2 * i, 3, "%02x", h[i]);
	memcpy(ver + 19, "\"", 2);
	put(b, ",\"meta\":{\"resourceType\":");
	jbuf_str(b, rtype);
	put_time(b, "created", created);
	put_time(b, "lastModified", modified);
	jbuf_key(b, "location", 0);
	if (asprintf(&text, "%s%s/%s", base, endpoint, id) < 0) {
		b->oom = 1;
		return;
	}
	jbuf_str(b, text);
	free(text);
	jbuf_key(b, "version", 0);
	jbuf_str(b, ver);
	put(b, "}}");
}

const char *scim_version(const json_t *resource)
{
	const char *v = json_string_value(json_object_get(json_object_get(resource, "meta"),
	                                                  "version"));

	return v ? v : "";
}

/* Skips one JSON value at p (valid JSON text), returning the first character after it. */
static const char *skip_value(const char *p)
{
	int depth = 0;

	do {
		p += strspn(p, " \t\r\n:,");
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else if (*p == '{' || *p == '[') {
			depth++, p++;
		} else if (*p == '}' || *p == ']') {
			depth--, p++;
		} else {
			p += strcspn(p, ",}] \t\r\n");
		}
	} while (*p && depth > 0);
	return p;
}

/* 1 when the JSON object text obj has the top-level key (which has no escapes), else 0. */
static int has_key(const char *obj, const char *key)
{
	size_t n = strlen(key);
	const char *p = obj + strspn(obj, " \t\r\n");

	if (*p++ != '{')
		return 0;
	for (;;) {
		p += strspn(p, " \t\r\n,");
		if (*p != '"')
			return 0;
		if (strncmp(p + 1, key, n) == 0 && p[n + 1] == '"')
			return 1;
		p = skip_value(p);          /* the key */
		p += strspn(p, " \t\r\n");
		if (*p != ':')
			return 0;
		p = skip_value(p + 1);      /* its value */
	}
}

/* The members of the JSON object text obj, without its braces, after a comma ("" when none). */
static void put_members(struct jbuf *b, const char *obj)
{
	const char *p = obj ? obj + strspn(obj, " \t\r\n") : "";
	size_t n = strlen(p);

	while (n && strchr(" \t\r\n", p[n - 1]))
		n--;
	if (n <= 2 || p[0] != '{' || p[n - 1] != '}')
		return;
	jbuf_raw(b, ",", 1);
	jbuf_raw(b, p + 1, n - 2);
}

/* ,"key":[...]: the array of {value, display} in text with "$ref" (base + endpoint + "/" +
 * value) and "type" added to each element; nothing for an empty array. */
static void put_refs(struct jbuf *b, const char *key, const char *text, const char *base,
                     const char *endpoint, const char *type)
{
	json_t *a = json_loads(text ? text : "[]", 0, NULL), *el;
	size_t i;
	char *ref, *dump;

	if (!json_is_array(a) || !json_array_size(a)) {
		json_decref(a);
		return;
	}
	json_array_foreach(a, i, el) {
		if (asprintf(&ref, "%s%s/%s", base, endpoint,
		             json_string_value(json_object_get(el, "value"))) < 0) {
			b->oom = 1;
			break;
		}
		json_object_set_new(el, "$ref", json_string(ref));
		json_object_set_new(el, "type", json_string(type));
		free(ref);
	}
	dump = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!dump) {
		b->oom = 1;
		return;
	}
	jbuf_key(b, key, 0);
	put(b, dump);
	free(dump);
}

/* {"schemas":["urn", ...]: the core schema and each extension present */
static void put_schemas(struct jbuf *b, const char *core, const char *ext1, const char *ext2)
{
	put(b, "{\"schemas\":[");
	jbuf_str(b, core);
	if (ext1) {
		jbuf_raw(b, ",", 1);
		jbuf_str(b, ext1);
	}
	if (ext2) {
		jbuf_raw(b, ",", 1);
		jbuf_str(b, ext2);
	}
	jbuf_raw(b, "]", 1);
}

/* ,"urn":{"scope":"..."} when scope is set */
static void put_scope_ext(struct jbuf *b, const char *urn, const char *scope)
{
	if (!scope || !*scope)
		return;
	jbuf_key(b, urn, 0);
	jbuf_raw(b, "{", 1);
	jbuf_key(b, "scope", 1);
	jbuf_str(b, scope);
	jbuf_raw(b, "}", 1);
}

static json_t *parsed(char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return j;
}

char *scim_user_text(const struct user *u, const char *base)
{
	struct jbuf b = {0}, v = {0};
	char id[24];
	int ent = u->attrs && has_key(u->attrs, SCIM_ENTERPRISE_USER);

	snprintf(id, sizeof id, "%lld", (long long)u->id);
	put_schemas(&b, SCIM_CORE_USER, ent ? SCIM_ENTERPRISE_USER : NULL,
	            u->scope && *u->scope ? SCIM_TESSERA_USER : NULL);
	put(&b, ",\"id\":");
	jbuf_str(&b, id);
	jbuf_key(&b, "userName", 0);
	jbuf_str(&b, u->username);
	put_members(&b, u->attrs);
	opt_str(&b, "externalId", u->external_id);
	opt_str(&b, "displayName", u->name);
	put_bool(&b, "active", u->active);
	put_scope_ext(&b, SCIM_TESSERA_USER, u->scope);
	put_refs(&b, "groups", u->groups, base, "/Groups", "direct");
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
	put_meta(&b, "User", base, "/Users", id, u->created_at, u->updated_at, &v);
	return jbuf_take(&b, NULL);
}

char *scim_group_text(const struct group *g, const char *base)
{
	struct jbuf b = {0}, v = {0};
	char id[24];

	snprintf(id, sizeof id, "%lld", (long long)g->id);
	put_schemas(&b, SCIM_CORE_GROUP, g->scope && *g->scope ? SCIM_TESSERA_GROUP : NULL, NULL);
	put(&b, ",\"id\":");
	jbuf_str(&b, id);
	jbuf_key(&b, "displayName", 0);
	jbuf_str(&b, g->display_name);
	opt_str(&b, "externalId", g->external_id);
	put_scope_ext(&b, SCIM_TESSERA_GROUP, g->scope);
	put_refs(&b, "members", g->members, base, "/Users", "User");
	vint(&v, g->id);
	vstr(&v, g->display_name);
	vstr(&v, g->external_id);
	vstr(&v, g->scope);
	vstr(&v, g->members);
	vint(&v, g->created_at);
	vint(&v, g->updated_at);
	put_meta(&b, "Group", base, "/Groups", id, g->created_at, g->updated_at, &v);
	return jbuf_take(&b, NULL);
}

/* ,"key":["a","b"] from the space-separated list; nothing when it is empty (always_put: []) */
static void put_list(struct jbuf *b, const char *key, const char *list, int always_put)
{
	const char *p = list ? list + strspn(list, " ") : "";
	int first = 1;

	if (!*p && !always_put)
		return;
	jbuf_key(b, key, 0);
	jbuf_raw(b, "[", 1);
	while (*p) {
		size_t n = strcspn(p, " ");
		char *w = strndup(p, n);

		if (!w) {
			b->oom = 1;
			return;
		}
		if (!first)
			jbuf_raw(b, ",", 1);
		jbuf_str(b, w);
		free(w);
		first = 0;
		p += n;
		p += strspn(p, " ");
	}
	jbuf_raw(b, "]", 1);
}

char *scim_client_text(const struct client *c, const char *base)
{
	struct jbuf b = {0}, v = {0};

	put_schemas(&b, SCIM_TESSERA_CLIENT, NULL, NULL);
	put(&b, ",\"id\":");
	jbuf_str(&b, c->client_id);
	opt_str(&b, "clientName", c->name);
	opt_str(&b, "externalId", c->external_id);
	put_list(&b, "redirectUris", c->redirect_uris, 0);
	put_list(&b, "postLogoutRedirectUris", c->post_logout_redirect_uris, 0);
	put_list(&b, "grantTypes", c->grant_types, 1);
	opt_str(&b, "scope", c->scope);
	put_bool(&b, "public", c->is_public);
	put_bool(&b, "refreshTokenRotation", c->refresh_rotation);
	put_int(&b, "refreshGraceSeconds", c->refresh_grace);
	put_int(&b, "refreshIdleSeconds", c->refresh_idle_ttl);
	put_int(&b, "grantLifetimeSeconds", c->grant_lifetime);
	put_bool(&b, "active", c->active);
	vstr(&v, c->client_id);
	vstr(&v, c->name);
	vstr(&v, c->external_id);
	vstr(&v, c->redirect_uris);
	vstr(&v, c->post_logout_redirect_uris);
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
	put_meta(&b, "Client", base, "/Clients", c->client_id, c->created_at, c->updated_at, &v);
	return jbuf_take(&b, NULL);
}

char *scim_grant_text(const struct grant *g, const char *base)
{
	struct jbuf b = {0}, v = {0};
	char id[24];

	snprintf(id, sizeof id, "%lld", (long long)g->id);
	put_schemas(&b, SCIM_TESSERA_GRANT, NULL, NULL);
	put(&b, ",\"id\":");
	jbuf_str(&b, id);
	jbuf_key(&b, "clientId", 0);
	jbuf_str(&b, g->client_id);
	opt_str(&b, "userName", g->username);
	if (g->user_id) {
		char uid[24];

		snprintf(uid, sizeof uid, "%lld", (long long)g->user_id);
		opt_str(&b, "userId", uid);
	}
	jbuf_key(&b, "scope", 0);
	jbuf_str(&b, g->scope ? g->scope : "");
	vint(&v, g->id);
	vstr(&v, g->client_id);
	vint(&v, g->user_id);
	vstr(&v, g->username);
	vstr(&v, g->scope);
	vint(&v, g->created_at);
	vint(&v, g->updated_at);
	put_meta(&b, "Grant", base, "/Grants", id, g->created_at, g->updated_at, &v);
	return jbuf_take(&b, NULL);
}

json_t *scim_user_json(const struct user *u, const char *base)
{
	return parsed(scim_user_text(u, base));
}

json_t *scim_group_json(const struct group *g, const char *base)
{
	return parsed(scim_group_text(g, base));
}

json_t *scim_client_json(const struct client *c, const char *base)
{
	return parsed(scim_client_text(c, base));
}

json_t *scim_grant_json(const struct grant *g, const char *base)
{
	return parsed(scim_grant_text(g, base));
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
		if (!bad)
			return TS_SERVER_ERROR; /* out of memory, not a bad token */
		scim_error_set(e, SCIM_E_INVALID_VALUE, "scope: invalid scope token \"%.200s\"", bad);
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
	free(c->post_logout_redirect_uris);
	free(c->grant_types);
	free(c->scope);
	free(c->external_id);
	c->name = c->redirect_uris = c->grant_types = c->scope = c->external_id = NULL;
	c->post_logout_redirect_uris = NULL;
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

/* Says why a redirect URI of the array a (the attribute what) may not be registered
 * (client_redirect_uri_problem). */
static ts_err redirect_uris_ok(const json_t *a, const char *what, struct scim_error *e)
{
	const json_t *el;
	const char *why;
	size_t i;

	json_array_foreach(a, i, el)
		if (json_is_string(el) && (why = client_redirect_uri_problem(json_string_value(el))))
			return scim_error_set(e, SCIM_E_INVALID_VALUE, "%s[%zu]: %s", what, i, why);
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
	c->post_logout_redirect_uris = NULL;
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
		rc = redirect_uris_ok(json_object_get(n, "redirectUris"), "redirectUris", e);
	if (!rc)
		rc = redirect_uris_ok(json_object_get(n, "postLogoutRedirectUris"),
		                      "postLogoutRedirectUris", e);
	if (!rc)
		rc = join(json_object_get(n, "redirectUris"), client_redirect_uri_valid, "redirectUris",
		          &c->redirect_uris, e);
	if (!rc)
		rc = join(json_object_get(n, "postLogoutRedirectUris"), client_redirect_uri_valid,
		          "postLogoutRedirectUris", &c->post_logout_redirect_uris, e);
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
