/* userinfo.c - GET/POST /userinfo (OpenID Connect Core §5.3, bearer tokens per RFC 6750). */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "jbuf.h"
#include "token.h"
#include "server.h"

/* The access token of the request: from the Authorization header (Bearer, or DPoP with a proof:
 * server/dpop.c), or for a POST from an access_token form field; never both (RFC 6750 §2).
 * Replies itself on failure. */
static int bearer(struct request *r, struct form **f, const char **token)
{
	const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION), *why = NULL;
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

	*token = NULL;
	if (strcmp(r->method, "POST") == 0 && ct) {
		ts_err rc = endpoint_form(r, f, &why, 0);

		if (rc != TS_OK) {
			reply_error(r, rc, why);
			return -1;
		}
		*token = form_get(*f, "access_token");
	}
	if (h) {
		if (*token) {
			reply_error(r, TS_INVALID_REQUEST, "send the token once: header or body");
			return -1;
		}
		*token = dpop_auth_token(r, h);
		if (!*token) {
			reply_error(r, TS_INVALID_TOKEN, "a Bearer or DPoP token is required");
			return -1;
		}
	}
	if (!*token || !**token) {
		reply_error(r, TS_INVALID_TOKEN, "a Bearer token is required");
		return -1;
	}
	return 0;
}

void userinfo_handle(struct request *r)
{
	struct form *f = NULL;
	struct user *u = NULL;
	json_t *claims = NULL;
	const char *token;
	char *scope = NULL;
	struct jbuf b = {0};
	store *s = http_store(r);
	int active = 0;
	ts_err rc;

	if (bearer(r, &f, &token))
		goto out;
	claims = access_claims(r, token);
	if (dpop_resource_check(r, token, claims))
		goto out;
	/* what the token allows now: the grant may have lost profile or email since */
	rc = claims ? grant_token_active(s, claims, &active, &scope, NULL) : TS_OK;
	if (rc == TS_UNAVAILABLE || rc == TS_SERVER_ERROR) {
		reply_error(r, rc, NULL);
		goto out;
	}
	/* only tokens of a user (a grant) carry a person to describe; a certificate-bound one
	 * only over a connection with its certificate (RFC 8705 §3) */
	if (!active || !json_is_integer(json_object_get(claims, "gid")) ||
	    !clientcert_token_ok(r, claims)) {
		reply_error(r, TS_INVALID_TOKEN, "the access token is not valid");
		goto out;
	}
	if (!client_list_has(scope, "openid")) {
		reply_error(r, TS_INSUFFICIENT_SCOPE, "the token was not granted openid");
		goto out;
	}
	rc = store_user_get_id(s, strtoll(json_string_value(json_object_get(claims, "sub")), NULL, 10),
	                       &u);
	if (rc != TS_OK) {
		reply_error(r, rc == TS_NOT_FOUND ? TS_INVALID_TOKEN : rc, NULL);
		goto out;
	}
	jbuf_raw(&b, "{", 1);
	jbuf_key(&b, "sub", 1);
	jbuf_str(&b, json_string_value(json_object_get(claims, "sub")));
	jbuf_key(&b, "preferred_username", 0);
	jbuf_str(&b, u->username);
	if (client_list_has(scope, "profile") && u->name) {
		jbuf_key(&b, "name", 0);
		jbuf_str(&b, u->name);
	}
	if (client_list_has(scope, "email") && u->email) {
		jbuf_key(&b, "email", 0);
		jbuf_str(&b, u->email);
		jbuf_raw(&b, ",\"email_verified\":false", 23);
	}
	jbuf_raw(&b, "}", 1);
	reply_jbuf(r, 200, &b);
out:
	free(scope);
	store_user_free(u);
	json_decref(claims);
	form_free(f);
}
