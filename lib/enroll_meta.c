/* enroll_meta.c - the client metadata of a dynamic registration (RFC 7591 §2), checked against
 * the template of its enrollment token (see enroll.h), and the metadata a registered client
 * answers with (§3.2.1). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "enroll.h"
#include "scope.h"

#define DEVICE_GRANT_URN "urn:ietf:params:oauth:grant-type:device_code"
#define MAX_URIS 10
#define MAX_KEYS 10
#define MAX_JWKS_TEXT 8192

/* Sets why and returns e. */
static ts_err bad(ts_err e, char *why, size_t n, const char *f, ...)
	__attribute__((format(printf, 4, 5)));
static ts_err bad(ts_err e, char *why, size_t n, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(why, n, f, ap);
	va_end(ap);
	return e;
}

/* The member name of md, NULL when absent or null. */
static const json_t *member(const json_t *md, const char *name)
{
	const json_t *v = json_object_get(md, name);

	return json_is_null(v) ? NULL : v;
}

/* 1 when s is 1 to max printable characters (any UTF-8 beyond ASCII, no control). */
static int printable(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Appends word to the space-separated *list (malloc'd). -1 when out of memory. */
static int append(char **list, const char *word)
{
	size_t n = *list ? strlen(*list) : 0;
	char *s = realloc(*list, n + strlen(word) + 2);

	if (!s)
		return -1;
	if (n)
		s[n++] = ' ';
	strcpy(s + n, word);
	*list = s;
	return 0;
}

/* The client's name of a grant type of the metadata, NULL for one Tessera does not know. */
static const char *grant_name(const char *g)
{
	static const char *const names[] = {"client_credentials", "authorization_code",
	                                    "refresh_token"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(g, names[i]) == 0)
			return names[i];
	return strcmp(g, DEVICE_GRANT_URN) == 0 ? "device_code" : NULL;
}

static ts_err grants(const json_t *md, const struct enroll_template *t, struct client *c,
                     char *why, size_t n)
{
	const json_t *v = member(md, "grant_types"), *g;
	const char *name;
	size_t i;

	if (!v)
		return (c->grant_types = strdup(t->grant_types)) ? TS_OK : TS_SERVER_ERROR;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 8)
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "grant_types must be an array of one to eight grant types");
	json_array_foreach(v, i, g) {
		if (!json_is_string(g) || !(name = grant_name(json_string_value(g))))
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "grant_types: unknown grant type");
		if (!client_list_has(t->grant_types, name))
			return bad(TS_INVALID_CLIENT_METADATA, why, n,
			           "grant_types: %s is not allowed by the enrollment token", name);
		if (!client_list_has(c->grant_types, name) && append(&c->grant_types, name))
			return TS_SERVER_ERROR;
	}
	return TS_OK;
}

static ts_err response_types(const json_t *md, const struct client *c, char *why, size_t n)
{
	const json_t *v = member(md, "response_types"), *rt;
	int code = client_list_has(c->grant_types, "authorization_code");
	size_t i;

	if (!v)
		return TS_OK;
	if (!json_is_array(v))
		return bad(TS_INVALID_CLIENT_METADATA, why, n, "response_types must be an array");
	json_array_foreach(v, i, rt)
		if (!json_is_string(rt) || strcmp(json_string_value(rt), "code") || !code)
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "response_types must be [\"code\"] "
			           "with the authorization_code grant, and empty without it");
	if (code && json_array_size(v) == 0)
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "response_types must hold \"code\" with the authorization_code grant");
	return TS_OK;
}

static ts_err redirect_uris(const json_t *md, struct client *c, char *why, size_t n)
{
	const json_t *v = member(md, "redirect_uris"), *u;
	const char *problem;
	size_t i;

	if (!(c->redirect_uris = strdup("")))
		return TS_SERVER_ERROR;
	if (v && (!json_is_array(v) || json_array_size(v) > MAX_URIS))
		return bad(TS_INVALID_REDIRECT_URI, why, n,
		           "redirect_uris must be an array of at most %d URIs", MAX_URIS);
	json_array_foreach(v, i, u) {
		if (!json_is_string(u))
			return bad(TS_INVALID_REDIRECT_URI, why, n, "redirect_uris: not a string");
		if ((problem = client_redirect_uri_problem(json_string_value(u))))
			return bad(TS_INVALID_REDIRECT_URI, why, n, "redirect_uris: %s", problem);
		if (!client_list_has(c->redirect_uris, json_string_value(u)) &&
		    append(&c->redirect_uris, json_string_value(u)))
			return TS_SERVER_ERROR;
	}
	if (client_list_has(c->grant_types, "authorization_code") && !*c->redirect_uris)
		return bad(TS_INVALID_REDIRECT_URI, why, n,
		           "the authorization_code grant needs redirect_uris");
	return TS_OK;
}

/* The template's scope with ${clientid} filled in (Tessera's client ids hold nothing that could
 * widen a filter: lib/enroll.c); a ${username} stays, for the users' tokens of the device flow. */
static char *template_scope(const char *scope, const char *client_id)
{
	static const char ph[] = "${clientid}";
	size_t n = 0, k = strlen(client_id);
	const char *p, *q;
	char *out, *o;

	for (p = scope; (q = strstr(p, ph)); p = q + sizeof ph - 1)
		n++;
	if (!(out = malloc(strlen(scope) + n * k + 1)))
		return NULL;
	for (o = out, p = scope; (q = strstr(p, ph)); p = q + sizeof ph - 1) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, client_id, k);
		o += k;
	}
	strcpy(o, p);
	return out;
}

static ts_err scope(const json_t *md, const struct enroll_template *t, struct client *c,
                    char *why, size_t n)
{
	const json_t *v = member(md, "scope");
	char *badtok = NULL;
	ts_err e;

	if (!v)
		return (c->scope = template_scope(t->scope, c->client_id)) ? TS_OK : TS_SERVER_ERROR;
	if (!json_is_string(v) || !*json_string_value(v) || !scope_within_limits(json_string_value(v)))
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "scope must be a string of " SCOPE_LIMITS_TEXT);
	/* RFC 7591 §2: the server may register less than asked, and says so in its answer */
	e = scope_grant(json_string_value(v), t->scope, c->client_id, NULL, &c->scope, &badtok);
	if (e == TS_INVALID_SCOPE) {
		e = bad(TS_INVALID_CLIENT_METADATA, why, n, badtok ? "scope: malformed token %.100s" :
		        "scope: none of it is allowed by the enrollment token%.0s", badtok ? badtok : "");
	}
	free(badtok);
	return e;
}

/* A public JWK of a kind a client key can be: no private or symmetric key material. */
static int public_jwk(const json_t *k)
{
	static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	const char *kty = json_string_value(json_object_get(k, "kty"));
	size_t i;

	if (!json_is_object(k) || !kty ||
	    (strcmp(kty, "EC") && strcmp(kty, "RSA") && strcmp(kty, "OKP")))
		return 0;
	for (i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
		if (json_object_get(k, private_members[i]))
			return 0;
	return 1;
}

static ts_err keys(const json_t *md, struct client *c, char *why, size_t n)
{
	const json_t *jwks = member(md, "jwks"), *uri = member(md, "jwks_uri"), *k;
	const char *u;
	size_t i;

	if (jwks && uri)
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "jwks and jwks_uri must not both be given (RFC 7591 section 2)");
	if (!jwks && !uri)
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "%s needs the client's public keys: jwks or jwks_uri", c->auth_method);
	if (uri) {
		u = json_string_value(uri);
		if (!u || client_jwks_uri_problem(u) || client_redirect_uri_problem(u))
			return bad(TS_INVALID_CLIENT_METADATA, why, n,
			           "jwks_uri must be an absolute https URL without a fragment");
		return (c->jwks_uri = strdup(u)) ? TS_OK : TS_SERVER_ERROR;
	}
	k = json_object_get(jwks, "keys");
	if (!json_is_object(jwks) || !json_is_array(k) || json_array_size(k) == 0 ||
	    json_array_size(k) > MAX_KEYS)
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "jwks must be a JWK Set: an object whose \"keys\" holds 1 to %d keys",
		           MAX_KEYS);
	json_array_foreach(k, i, uri)
		if (!public_jwk(uri))
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "jwks: key %zu is not a public "
			           "EC, RSA or OKP key (no private or symmetric key material)", i);
	c->jwks = json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS);
	if (!c->jwks)
		return TS_SERVER_ERROR;
	if (strlen(c->jwks) > MAX_JWKS_TEXT)
		return bad(TS_INVALID_CLIENT_METADATA, why, n, "jwks is over %d bytes", MAX_JWKS_TEXT);
	return TS_OK;
}

/* The fields Tessera understands but does not keep: only their form is checked. */
static ts_err other_fields(const json_t *md, char *why, size_t n)
{
	static const char *const strings[] = {"client_uri", "logo_uri", "tos_uri", "policy_uri",
		"software_id", "software_version", "software_statement"};
	static const char *const algs[] = {"ES256", "EdDSA", "RS256", "PS256"};
	const json_t *v, *x;
	size_t i;

	for (i = 0; i < sizeof strings / sizeof strings[0]; i++)
		if ((v = member(md, strings[i])) && (!json_is_string(v) ||
		                                     !printable(json_string_value(v), 2047)))
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "%s must be a string", strings[i]);
	if ((v = member(md, "contacts"))) {
		if (!json_is_array(v))
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "contacts must be an array");
		json_array_foreach(v, i, x)
			if (!json_is_string(x))
				return bad(TS_INVALID_CLIENT_METADATA, why, n, "contacts must be strings");
	}
	if ((v = member(md, "token_endpoint_auth_signing_alg"))) {
		for (i = 0; i < 4 && !(json_is_string(v) && !strcmp(json_string_value(v), algs[i])); i++)
			;
		if (i == 4)
			return bad(TS_INVALID_CLIENT_METADATA, why, n, "token_endpoint_auth_signing_alg "
			           "must be ES256, EdDSA, RS256 or PS256");
	}
	return TS_OK;
}

ts_err enroll_metadata(const json_t *md, const struct enroll_template *t, struct client *c,
                       char *why, size_t n)
{
	const char *problem;
	const json_t *v;
	ts_err e;

	if (!json_is_object(md))
		return bad(TS_INVALID_CLIENT_METADATA, why, n, "the metadata must be a JSON object");
	c->is_public = 0;
	c->refresh_rotation = 1;
	c->active = 1;
	c->token_reference = t->token_reference;
	memset(c->secret_hash, 0, sizeof c->secret_hash);
	v = member(md, "token_endpoint_auth_method");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), t->auth_method)))
		return bad(TS_INVALID_CLIENT_METADATA, why, n, "token_endpoint_auth_method: the "
		           "enrollment token allows %s only", t->auth_method);
	if (!(c->auth_method = strdup(t->auth_method)))
		return TS_SERVER_ERROR;
	v = member(md, "client_name");
	if (v && (!json_is_string(v) || !printable(json_string_value(v), 200)))
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "client_name must be 1 to 200 characters without controls");
	if (!(c->name = strdup(v ? json_string_value(v) : "")))
		return TS_SERVER_ERROR;
	if ((v = member(md, "tls_client_certificate_bound_access_tokens")) && !json_is_boolean(v))
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "tls_client_certificate_bound_access_tokens must be true or false");
	c->cert_bound = json_is_true(v);
	if ((v = member(md, "dpop_bound_access_tokens")) && !json_is_boolean(v))
		return bad(TS_INVALID_CLIENT_METADATA, why, n,
		           "dpop_bound_access_tokens must be true or false");
	c->dpop_bound = json_is_true(v);
	if ((e = grants(md, t, c, why, n)) || (e = response_types(md, c, why, n)) ||
	    (e = redirect_uris(md, c, why, n)) || (e = scope(md, t, c, why, n)) ||
	    (e = keys(md, c, why, n)) || (e = other_fields(md, why, n)))
		return e;
	if (!(c->post_logout_redirect_uris = strdup("")))
		return TS_SERVER_ERROR;
	/* and every rule a client keeps, however it was made (lib/client.h) */
	if ((problem = client_rules(c)))
		return bad(TS_INVALID_CLIENT_METADATA, why, n, "%s", problem);
	return TS_OK;
}

json_t *enroll_client_json(const struct client *c)
{
	json_t *j = json_object(), *g = json_array();
	const char *p;
	size_t n;
	char *w;

	if (!j || !g)
		goto fail;
	for (p = c->grant_types; p && *p; p += n, p += strspn(p, " ")) {
		n = strcspn(p, " ");
		if (!(w = strndup(p, n)))
			goto fail;
		json_array_append_new(g, json_string(strcmp(w, "device_code") ? w : DEVICE_GRANT_URN));
		free(w);
	}
	json_object_set_new(j, "client_id", json_string(c->client_id));
	json_object_set_new(j, "client_id_issued_at", json_integer(c->created_at));
	if (c->name && *c->name)
		json_object_set_new(j, "client_name", json_string(c->name));
	json_object_set_new(j, "token_endpoint_auth_method", json_string(c->auth_method));
	json_object_set_new(j, "grant_types", g);
	g = NULL;
	json_object_set_new(j, "response_types", client_list_has(c->grant_types, "authorization_code")
	                    ? json_pack("[s]", "code") : json_array());
	if (c->redirect_uris && *c->redirect_uris) {
		json_t *u = json_array();

		for (p = c->redirect_uris; u && *p; p += n, p += strspn(p, " ")) {
			n = strcspn(p, " ");
			json_array_append_new(u, json_stringn(p, n));
		}
		json_object_set_new(j, "redirect_uris", u);
	}
	json_object_set_new(j, "scope", json_string(c->scope ? c->scope : ""));
	if (c->jwks)
		json_object_set_new(j, "jwks", json_loads(c->jwks, 0, NULL));
	if (c->jwks_uri)
		json_object_set_new(j, "jwks_uri", json_string(c->jwks_uri));
	if (c->cert_bound)
		json_object_set_new(j, "tls_client_certificate_bound_access_tokens", json_true());
	if (c->dpop_bound)
		json_object_set_new(j, "dpop_bound_access_tokens", json_true());
	return j;
fail:
	json_decref(j);
	json_decref(g);
	return NULL;
}
