/* scim_res_from.c - SCIM resources received (already normalised by scim_normalize) checked for
 * what only Tessera knows and turned into records (scim_*_from, see scim_res.h). */
#include "scim_res.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "scope.h"
#include "username.h"

#define MAX_SECONDS 315360000 /* ten years: the CLI's limit on durations */

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
	const char *why = username_problem(username);
	int oom = 0;
	size_t i;
	ts_err rc;

	if (why)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "userName %s", why);
	if (get_str(n, "displayName") && strlen(get_str(n, "displayName")) > 1024)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "displayName is too long");
	rc = take_scope(get_str(json_object_get(n, SCIM_TESSERA_USER), "scope"), &u->scope, e);
	if (rc)
		return rc;
	/* stored trimmed; unique whatever its spelling (lib/username.h, the store's name key) */
	if (!(u->username = username_trim(username)))
		oom = 1;
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

/* How the client's tokens are bound: the two booleans, or tokenBinding ("none", "mtls", "dpop",
 * "mtls dpop"), which says the same. c holds the stored client's binding (none for a new one):
 * when the request's two disagree (a GET's answer sent back with one of them changed), the one
 * that differs from what is stored wins; both changed, and differently, is an error. */
static ts_err binding_from(const json_t *n, struct client *c, struct scim_error *e)
{
	static const struct { const char *name; int cert, dpop; } names[] = {
		{"none", 0, 0}, {"mtls", 1, 0}, {"dpop", 0, 1}, {"mtls dpop", 1, 1}};
	const json_t *tb = json_object_get(n, "tokenBinding");
	int was_cert = c->cert_bound, was_dpop = c->dpop_bound;
	size_t i;

	c->cert_bound = json_is_true(json_object_get(n, "tlsClientCertificateBoundAccessTokens"));
	c->dpop_bound = json_is_true(json_object_get(n, "dpopBoundAccessTokens"));
	if (!tb || json_is_null(tb))
		return TS_OK;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (json_is_string(tb) && strcmp(json_string_value(tb), names[i].name) == 0)
			break;
	if (i == sizeof names / sizeof names[0])
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "tokenBinding must be none, mtls, dpop "
		                      "or mtls dpop");
	if (names[i].cert == c->cert_bound && names[i].dpop == c->dpop_bound)
		return TS_OK;
	if (names[i].cert == was_cert && names[i].dpop == was_dpop)
		return TS_OK;    /* tokenBinding as stored: the booleans changed */
	if (c->cert_bound != was_cert || c->dpop_bound != was_dpop)
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "tokenBinding says \"%s\" and "
		                      "tlsClientCertificateBoundAccessTokens and dpopBoundAccessTokens "
		                      "say otherwise: change one or the other", names[i].name);
	c->cert_bound = names[i].cert;
	c->dpop_bound = names[i].dpop;
	return TS_OK;
}

/* How the client authenticates: tokenEndpointAuthMethod (default: none for a public client,
 * else client_secret_basic; "public", when sent, must agree), the keys or certificate names it
 * registers, and how its tokens are bound. client_rules checks that they fit together. */
static ts_err auth_from(const json_t *n, struct client *c, struct scim_error *e)
{
	const json_t *pub = json_object_get(n, "public");
	const char *m = client_method_canonical(get_str(n, "tokenEndpointAuthMethod"));
	int oom = 0;

	if (json_object_get(n, "tokenEndpointAuthMethod") && !client_method_known(m))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "tokenEndpointAuthMethod must be "
		                      "client_secret_basic, none, private_key_jwt, tls_client_auth or "
		                      "self_signed_tls_client_auth");
	if (m && pub && json_is_true(pub) != (strcmp(m, "none") == 0))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "public is true exactly when "
		                      "tokenEndpointAuthMethod is none");
	if (m)
		c->is_public = strcmp(m, "none") == 0;
	c->auth_method = strdup(m ? m : c->is_public ? "none" : "client_secret_basic");
	c->jwks = dup_or_null(get_str(n, "jwks"), &oom);
	c->jwks_uri = dup_or_null(get_str(n, "jwksUri"), &oom);
	c->tls_subject_dn = dup_or_null(get_str(n, "tlsClientAuthSubjectDn"), &oom);
	c->tls_san = dup_or_null(get_str(n, "tlsClientAuthSan"), &oom);
	if (oom || !c->auth_method)
		return TS_SERVER_ERROR;
	return binding_from(n, c, e);
}

ts_err scim_client_from(const json_t *n, struct client *c, struct scim_error *e)
{
	const json_t *pub = json_object_get(n, "public"), *rot = json_object_get(n, "refreshTokenRotation");
	const json_t *active = json_object_get(n, "active");
	const char *name = get_str(n, "clientName"), *why, *fmt = get_str(n, "accessTokenFormat");
	int oom = 0;
	ts_err rc;

	c->name = c->redirect_uris = c->grant_types = c->scope = c->external_id = NULL;
	c->post_logout_redirect_uris = NULL;
	c->auth_method = c->jwks = c->jwks_uri = c->tls_subject_dn = c->tls_san = NULL;
	if (pub)
		c->is_public = json_is_true(pub);
	c->refresh_rotation = rot ? json_is_true(rot) : 1;
	c->active = active ? json_is_true(active) : 1;
	if (name && (strlen(name) > 255 || !form_utf8_valid((const unsigned char *)name, strlen(name))))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "clientName is too long");
	if ((fmt || json_object_get(n, "accessTokenFormat")) &&
	    (!fmt || (strcmp(fmt, "jwt") && strcmp(fmt, "reference"))))
		return scim_error_set(e, SCIM_E_INVALID_VALUE, "accessTokenFormat must be jwt or "
		                      "reference");
	c->token_reference = fmt && strcmp(fmt, "reference") == 0;
	rc = auth_from(n, c, e);
	if (!rc)
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
		store_client_clear(c);
	return rc;
}
