/* introspect.c - POST /introspect (RFC 7662) and POST /revoke (RFC 7009). */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "token.h"
#include "server.h"

/* Authenticates the caller and reads `token`; replies itself and returns non-zero on failure. */
static int begin(struct request *r, struct form **f, struct client **c, const char **token)
{
	const char *why = NULL;
	ts_err rc = endpoint_form(r, f, &why);

	if (rc != TS_OK) {
		reply_error(r, rc, why);
		return -1;
	}
	rc = endpoint_client(r, *f, c);
	if (rc != TS_OK) {
		reply_error(r, rc, rc == TS_INVALID_CLIENT ? "client authentication failed" : NULL);
		return -1;
	}
	*token = form_get(*f, "token");
	if (!*token || !**token) {
		reply_error(r, TS_INVALID_REQUEST, "token is required");
		return -1;
	}
	return 0;
}

/* The claims of a token that is ours, correctly signed and not expired, or NULL. */
static json_t *verified(struct request *r, const char *token)
{
	struct keyring *ring = server_keys_acquire(r->srv);
	json_t *claims = NULL;

	token_access_verify((const jwt_key *const *)ring->keys, ring->n, r->srv->cfg.issuer, token,
	                    http_now(), &claims);
	server_keys_release(r->srv);
	return claims;
}

static const char *claim(const json_t *c, const char *name)
{
	return json_string_value(json_object_get(c, name));
}

void introspect_handle(struct request *r)
{
	static const char *const copied[] = {"scope", "client_id", "sub", "username", "exp", "iat",
	                                     "nbf", "iss", "aud", "jti"};
	struct form *f = NULL;
	struct client *c = NULL;
	const char *token;
	json_t *claims = NULL, *body;
	int active = 0;
	size_t i;
	ts_err rc;

	if (begin(r, &f, &c, &token))
		goto out;
	if (!client_list_has(c->scope, "introspect")) {
		reply_error(r, TS_ACCESS_DENIED, "this client may not introspect tokens");
		goto out;
	}
	claims = verified(r, token);
	if (claims) {
		rc = grant_token_active(http_store(r), claims, &active);
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
	}
	if (!active) {
		reply_json(r, 200, json_pack("{s:b}", "active", 0));
		goto out;
	}
	body = json_pack("{s:b, s:s}", "active", 1, "token_type", "Bearer");
	for (i = 0; body && i < sizeof copied / sizeof copied[0]; i++) {
		json_t *v = json_object_get(claims, copied[i]);

		if (v && json_object_set(body, copied[i], v)) {
			json_decref(body);
			body = NULL;
		}
	}
	reply_json(r, 200, body);
out:
	json_decref(claims);
	store_client_free(c);
	form_free(f);
}

void revoke_handle(struct request *r)
{
	struct form *f = NULL;
	struct client *c = NULL;
	const char *token;
	json_t *claims = NULL;
	json_int_t exp;
	ts_err rc;

	if (begin(r, &f, &c, &token))
		goto out;
	claims = verified(r, token);
	/* RFC 7009 §2.2: an invalid or unknown token is not an error */
	if (claims && (strcmp(claim(claims, "client_id"), c->client_id) == 0 ||
	               client_list_has(c->scope, "introspect"))) {
		store *s = http_store(r);

		exp = json_integer_value(json_object_get(claims, "exp"));
		rc = s ? store_revoke_jti(s, claim(claims, "jti"), (int64_t)exp) : TS_UNAVAILABLE;
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
	}
	reply_empty(r, 200);
out:
	json_decref(claims);
	store_client_free(c);
	form_free(f);
}
