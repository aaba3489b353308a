/* discovery.c - RFC 8414 / OIDC discovery, /jwks, /healthz. */
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "server.h"

static json_t *endpoint(const char *issuer, const char *path)
{
	size_t n = strlen(issuer);
	char *s;
	json_t *j;

	/* the issuer is used as configured, without a doubled '/' */
	if (n && issuer[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s", (int)n, issuer, path) < 0)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

/* The client authentications that work at /token, /introspect and /revoke (clientauth.c), and
 * the algorithms a private_key_jwt assertion may be signed with (lib/client_assertion.c). /token
 * also takes public clients ("none"). */
static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt"};
static const char *const assertion_algs[] = {"ES256", "RS256", "PS256", "EdDSA", "Ed25519"};

static json_t *strings(const char *const *v, size_t n, const char *more)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	if (a && more)
		json_array_append_new(a, json_string(more));
	return a;
}

#define STRINGS(v, more) strings(v, sizeof v / sizeof v[0], more)

char *discovery_build(const struct config *cfg)
{
	const char *iss = cfg->issuer;
	json_t *d = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
	                      " s:[s,s,s,s], s:o, s:o, s:o, s:o, s:o, s:o,"
	                      " s:[s,s,s,s], s:[s], s:[s], s:[s], s:[s], s:[s],"
	                      " s:[s,s,s,s,s,s,s,s,s,s,s,s,s], s:[s,s,s], s:b, s:b, s:[s,s]}",
		"issuer", iss,
		"authorization_endpoint", endpoint(iss, "/authorize"),
		"token_endpoint", endpoint(iss, "/token"),
		"userinfo_endpoint", endpoint(iss, "/userinfo"),
		"jwks_uri", endpoint(iss, "/jwks"),
		"introspection_endpoint", endpoint(iss, "/introspect"),
		"revocation_endpoint", endpoint(iss, "/revoke"),
		"device_authorization_endpoint", endpoint(iss, "/device_authorization"),
		"end_session_endpoint", endpoint(iss, "/logout"),
		"grant_types_supported", "client_credentials", "authorization_code", "refresh_token",
		"urn:ietf:params:oauth:grant-type:device_code",
		"token_endpoint_auth_methods_supported", STRINGS(auth_methods, "none"),
		"introspection_endpoint_auth_methods_supported", STRINGS(auth_methods, NULL),
		"revocation_endpoint_auth_methods_supported", STRINGS(auth_methods, NULL),
		"token_endpoint_auth_signing_alg_values_supported", STRINGS(assertion_algs, NULL),
		"introspection_endpoint_auth_signing_alg_values_supported",
		STRINGS(assertion_algs, NULL),
		"revocation_endpoint_auth_signing_alg_values_supported", STRINGS(assertion_algs, NULL),
		"scopes_supported", "openid", "profile", "email", "introspect",
		"response_types_supported", "code",
		"response_modes_supported", "query",
		"code_challenge_methods_supported", "S256",
		"subject_types_supported", "public",
		"id_token_signing_alg_values_supported", cfg->signing_alg,
		"claims_supported", "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp",
		"at_hash", "name", "preferred_username", "email", "email_verified",
		"prompt_values_supported", "none", "login", "consent",
		"authorization_response_iss_parameter_supported", 1,
		"claims_parameter_supported", 0,
		/* RFC 9449 §5.1: lib/dpop.h DPOP_ALGS */
		"dpop_signing_alg_values_supported", "ES256", "RS256");
	char *text = NULL;

	/* RFC 7591: devices register themselves there with an enrollment token (register.c) */
	if (d)
		json_object_set_new(d, "registration_endpoint", endpoint(iss, "/register"));
	if (d && clientcert_discovery(cfg, d) == 0)
		text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(d);
	return text;
}

void discovery_handle(struct request *r)
{
	reply_raw(r, 200, "application/json", r->srv->discovery, strlen(r->srv->discovery),
	          "public, max-age=3600");
}

void jwks_handle(struct request *r)
{
	struct keyring *ring = keys_acquire(&r->srv->keys);

	reply_raw(r, 200, "application/jwk-set+json", ring->jwks, strlen(ring->jwks), "no-cache");
	keys_release(&r->srv->keys);
}

void static_handle(struct request *r)
{
	const char *css = html_template("style.css");

	if (!css) {
		reply_error(r, TS_NOT_FOUND, NULL);
		return;
	}
	reply_raw(r, 200, "text/css; charset=utf-8", css, strlen(css), "public, max-age=3600");
}

void healthz_handle(struct request *r)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	reply_raw(r, 200, "application/json", ok, sizeof ok - 1, "no-store");
}
