/* scim_res.c - records as SCIM resources (see scim_res.h); resources received become records in
 * scim_res_from.c. */
#include "scim_res.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "jbuf.h"
#include "secret.h"

/* Resources are written as JSON text directly (a page of 100 users built as Jansson trees spent
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
	if (value && *value)
		jbuf_kv_str(b, key, value, 0);
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
	jbuf_kv_str(b, "version", ver, 0);
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
	jbuf_kv_str(b, "scope", scope, 1);
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
	jbuf_kv_str(&b, "id", id, 0);
	jbuf_kv_str(&b, "userName", u->username, 0);
	put_members(&b, u->attrs);
	opt_str(&b, "externalId", u->external_id);
	opt_str(&b, "displayName", u->name);
	jbuf_kv_bool(&b, "active", u->active, 0);
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
	jbuf_kv_str(&b, "id", id, 0);
	jbuf_kv_str(&b, "displayName", g->display_name, 0);
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
	jbuf_kv_str(&b, "id", c->client_id, 0);
	opt_str(&b, "clientName", c->name);
	opt_str(&b, "externalId", c->external_id);
	put_list(&b, "redirectUris", c->redirect_uris, 0);
	put_list(&b, "postLogoutRedirectUris", c->post_logout_redirect_uris, 0);
	put_list(&b, "grantTypes", c->grant_types, 1);
	opt_str(&b, "scope", c->scope);
	jbuf_kv_bool(&b, "public", c->is_public, 0);
	jbuf_kv_bool(&b, "refreshTokenRotation", c->refresh_rotation, 0);
	jbuf_kv_int(&b, "refreshGraceSeconds", c->refresh_grace, 0);
	jbuf_kv_int(&b, "refreshIdleSeconds", c->refresh_idle_ttl, 0);
	jbuf_kv_int(&b, "grantLifetimeSeconds", c->grant_lifetime, 0);
	jbuf_kv_str(&b, "accessTokenFormat", c->token_reference ? "reference" : "jwt", 0);
	jbuf_kv_bool(&b, "active", c->active, 0);
	jbuf_kv_str(&b, "tokenEndpointAuthMethod", c->auth_method ? c->auth_method :
	            c->is_public ? "none" : "client_secret_basic", 0);
	opt_str(&b, "jwks", c->jwks);
	opt_str(&b, "jwksUri", c->jwks_uri);
	opt_str(&b, "tlsClientAuthSubjectDn", c->tls_subject_dn);
	opt_str(&b, "tlsClientAuthSan", c->tls_san);
	jbuf_kv_bool(&b, "tlsClientCertificateBoundAccessTokens", c->cert_bound, 0);
	jbuf_kv_bool(&b, "dpopBoundAccessTokens", c->dpop_bound, 0);
	jbuf_kv_str(&b, "tokenBinding", c->cert_bound ? c->dpop_bound ? "mtls dpop" : "mtls" :
	            c->dpop_bound ? "dpop" : "none", 0);
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
	vint(&v, c->token_reference);
	vint(&v, c->active);
	vstr(&v, c->auth_method);
	vstr(&v, c->jwks);
	vstr(&v, c->jwks_uri);
	vstr(&v, c->tls_subject_dn);
	vstr(&v, c->tls_san);
	vint(&v, c->cert_bound);
	vint(&v, c->dpop_bound);
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
	jbuf_kv_str(&b, "id", id, 0);
	jbuf_kv_str(&b, "clientId", g->client_id, 0);
	opt_str(&b, "userName", g->username);
	if (g->user_id) {
		char uid[24];

		snprintf(uid, sizeof uid, "%lld", (long long)g->user_id);
		opt_str(&b, "userId", uid);
	}
	jbuf_kv_str(&b, "scope", g->scope ? g->scope : "", 0);
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
