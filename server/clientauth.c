/* clientauth.c - what a client's form endpoint needs before its handler runs, run by the router
 * (router.c, the form and client columns): the body parsed as a form, and the client
 * authenticated (Basic, client_secret_post, a private_key_jwt assertion, a client certificate,
 * or client_id alone for a public client) under the guessing limit for client secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "client_assertion.h"
#include "form.h"
#include "throttle.h"
#include "server.h"

ts_err endpoint_form(struct request *r, struct form **f, const char **why, int repeats_ok)
{
	static const char form_type[] = "application/x-www-form-urlencoded";
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = sizeof form_type - 1;

	*f = NULL;
	if (!ct || strncasecmp(ct, form_type, n) != 0 || (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
		*why = "Content-Type must be application/x-www-form-urlencoded";
		return TS_INVALID_REQUEST;
	}
	return (repeats_ok ? form_parse_repeats : form_parse)(r->body ? r->body : "", r->body_len, f,
	                                                    why);
}

int endpoint_body_form(struct request *r)
{
	const char *why = NULL;
	ts_err rc = endpoint_form(r, &r->form, &why, 0);

	if (rc == TS_OK)
		return 0;
	reply_error(r, rc, why);
	return -1;
}

/* Guessing limits for client secrets, per client id and address (lib/throttle.h). Secrets are
 * 256 random bits, so the limit is about noise, and it slows only the wrong attempts: a client
 * presenting its right secret is never held up by someone else's failures (from its own
 * address, or from every client behind the same reverse proxy). 1 when a failed authentication
 * (rc) was answered 429 instead of 401; the check and the recording of the failure are one
 * step, so racing wrong secrets cannot all pass it. */
static int secret_throttled(struct request *r, ts_err rc)
{
	struct server *srv = r->srv;
	char addr[64], key[400];

	if (rc != TS_INVALID_CLIENT || !r->client_id)
		return 0; /* a success, or no secret tried */
	http_client_addr(r, addr, sizeof addr);
	snprintf(key, sizeof key, "%s %.300s", addr, r->client_id);
	if (limit_reply(r, srv->secret_throttle, key, NULL, NULL, 0,
	                "too many failed client authentications, retry after the time in "
	                "Retry-After"))
		return 1;
	limit_settle(r, srv->secret_throttle, key, 0);
	return 0;
}

/* Copies s into out (n bytes) with anything but printable ASCII as '?', for a log line. */
static void log_safe(const char *s, char *out, size_t n)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < n; i++)
		out[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

/* private_key_jwt (RFC 7523 §2.2): the client answers invalid_client whatever failed; the log
 * says what. Never with another client authentication in the same request. */
static ts_err assertion_auth(struct request *r, store *s)
{
	const char *issuer = r->srv->cfg.issuer, *why = NULL;
	char token_endpoint[2100], id[120];
	struct assertion_env env;
	ts_err rc;

	if (http_header(r, MHD_HTTP_HEADER_AUTHORIZATION) || form_get(r->form, "client_secret"))
		return TS_INVALID_REQUEST;
	snprintf(token_endpoint, sizeof token_endpoint, "%s%s", issuer,
	         issuer[0] && issuer[strlen(issuer) - 1] == '/' ? "token" : "/token");
	env.w = r->srv->writer;
	env.issuer = issuer;
	env.token_endpoint = token_endpoint;
	env.now = r->now;
	rc = client_assertion_authenticate(s, &env, r->form, &r->client, &r->client_id, &why);
	if (rc != TS_OK && why) {
		log_safe(r->client_id, id, sizeof id);
		fprintf(stderr, "tessera: client assertion%s%s refused: %s\n", *id ? " of " : "", id,
		        why);
	}
	return rc;
}

int endpoint_client(struct request *r)
{
	store *s = http_store(r);
	ts_err rc;

	free(r->client_id);
	r->client_id = NULL;
	if (!s) {
		rc = TS_UNAVAILABLE;
	} else if (client_assertion_present(r->form)) {
		rc = assertion_auth(r, s);
	} else {
		/* a client with a certificate method (clientcert.c), else the others */
		rc = clientcert_client(r, s, &r->client, &r->client_id);
		if (rc == TS_NOT_FOUND)
			rc = client_authenticate(s, http_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
			                         r->form, &r->client, &r->client_id);
	}
	if (secret_throttled(r, rc)) {
		store_client_free(r->client);
		r->client = NULL;
		return -1;
	}
	if (rc == TS_OK)
		return 0;
	reply_error(r, rc, rc == TS_INVALID_CLIENT ? "client authentication failed" :
	                   rc == TS_INVALID_REQUEST ? "use one client authentication method" : NULL);
	return -1;
}
