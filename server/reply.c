/* reply.c - the only place responses are made. Every handler ends in exactly one reply_*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "jbuf.h"
#include "server.h"

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
	(void)kind;
	*(size_t *)cls += strlen(key) + strlen(value) + 4;
	return MHD_YES;
}

/* Whether the head of resp fits in what is left of r's connection memory. libmicrohttpd builds
 * it in the HTTP_CONN_MEMORY bytes that still hold the request's own head, and when it does not
 * fit closes the connection with nothing sent (a 6 KB state in a POST /authorize made a Location
 * too long for it). Estimated from above: the request's head, a copy of its Cookie header,
 * 64 bytes for each header, cookie and query parameter it holds; then the answer's status
 * line, its headers and the ones libmicrohttpd adds (Date, Content-Length, Connection). */
static int head_fits(struct request *r, struct MHD_Response *resp)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	const char *cookie = http_header(r, MHD_HTTP_HEADER_COOKIE);
	size_t used = 256, head = 128;
	int n = MHD_get_connection_values(r->conn, MHD_HEADER_KIND | MHD_COOKIE_KIND |
	                                  MHD_GET_ARGUMENT_KIND, NULL, NULL);

	used += (ci ? ci->header_size : 0) + (cookie ? strlen(cookie) + 16 : 0);
	used += 64 * (size_t)(n > 0 ? n : 0);
	MHD_get_response_headers(resp, add_len, &head);
	return used + head <= HTTP_CONN_MEMORY;
}

/* Whether the short error page of queue_too_large still fits: measured with libmicrohttpd
 * 0.9.75, it is sent after request heads of up to about 5,800 bytes in the 6 KiB. */
static int room_for_a_page(struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

	return !ci || ci->header_size + 360 <= HTTP_CONN_MEMORY;
}

static void queue(struct request *r, int status, struct MHD_Response *resp, const char *type,
                  const char *cache_control);

/* When even the short error of queue_too_large does not fit (a request head a little under
 * HTTP_CONN_MEMORY leaves libmicrohttpd only a few hundred bytes), the smallest answer there
 * is: 431 with no body and no header but the ones libmicrohttpd adds, and the connection
 * closed, rather than a connection closed with nothing sent (RFC 6585 §5). */
static void queue_bare_431(struct request *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

	if (!resp)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (MHD_queue_response(r->conn, 431, resp) == MHD_YES)
		r->status = 431;
	MHD_destroy_response(resp);
}

/* The answer when the one made would not fit (head_fits): a short page or JSON error. */
static void queue_too_large(struct request *r, const char *type)
{
	static const char why[] = "The answer to this request would be too large to send: its "
	                          "parameters (state, redirect_uri, scope) or headers are too long.";

	r->head_refused = 1;
	if (strncmp(type, "text/html", 9) == 0)
		reply_page_error(r, 400, "Request too large", why);
	else
		reply_error(r, TS_INVALID_REQUEST, why);
}

static void queue(struct request *r, int status, struct MHD_Response *resp, const char *type,
                  const char *cache_control)
{
	if (!resp) {
		r->status = 500;
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* served over https (directly, or behind a TLS-terminating proxy): browsers must not come
	 * back over plain http for a year (RFC 6797); they ignore it when it arrives over http */
	if (r->srv->https)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	if (strncmp(type, "text/html", 9) == 0) {
		/* the pages load nothing from elsewhere and may not be framed (docs/security.md row 13) */
		MHD_add_response_header(resp, "Content-Security-Policy",
		                        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
		                        "base-uri 'none'; frame-ancestors 'none'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (r->dpop_nonce[0]) /* RFC 9449 §8 */
		MHD_add_response_header(resp, "DPoP-Nonce", r->dpop_nonce);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie[0]);
	if (r->set_cookie[1])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie[1]);
	/* a 503 (a locked database, the connection cap) passes within a second or so, and a 429
	 * says when to come back (r->retry_after), whatever the answer's format: the JSON errors
	 * and the HTML pages of /authorize, /login and /device alike */
	if ((status == 503 || status == 429) &&
	    !MHD_get_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER)) {
		char secs[16];

		snprintf(secs, sizeof secs, "%d", r->retry_after > 0 ? r->retry_after : 1);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control);
	if (strcmp(cache_control, "no-store") == 0)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	if (r->head_refused ? !room_for_a_page(r) : !head_fits(r, resp)) {
		MHD_destroy_response(resp);
		if (!r->head_refused)
			queue_too_large(r, type);
		else
			queue_bare_431(r);
		return;
	}
	if (MHD_queue_response(r->conn, (unsigned)status, resp) == MHD_YES)
		r->status = status;
	MHD_destroy_response(resp);
}

void reply_raw(struct request *r, int status, const char *type, const char *body, size_t len,
               const char *cache_control)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

	queue(r, status, resp, type, cache_control ? cache_control : "no-store");
}

void reply_json(struct request *r, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;

	json_decref(body);
	if (!text) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(text);
	queue(r, status, resp, "application/json", "no-store");
}

void reply_jbuf(struct request *r, int status, struct jbuf *b)
{
	size_t len;
	char *text = jbuf_take(b, &len);
	struct MHD_Response *resp;

	if (!text) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(text);
	queue(r, status, resp, "application/json", "no-store");
}

void reply_html(struct request *r, int status, char *html)
{
	struct MHD_Response *resp;

	if (!html) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	resp = MHD_create_response_from_buffer(strlen(html), html, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(html);
	queue(r, status, resp, "text/html; charset=utf-8", "no-store");
}

void reply_redirect(struct request *r, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"",
	                                                            MHD_RESPMEM_PERSISTENT);

	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	queue(r, 303, resp, "text/html; charset=utf-8", "no-store");
}

void reply_page(struct request *r, int status, const char *title, const char *message,
                const char *note)
{
	const struct html_var vars[] = {{"title", title}, {"message", message}, {"note", note}};
	const char *tmpl = html_template("error.html");

	reply_html(r, status, tmpl ? html_render(tmpl, vars, 3) : NULL);
}

void reply_page_error(struct request *r, int status, const char *title, const char *message)
{
	reply_page(r, status, title, message,
	           "Close this page and start again from the app or device you were using.");
}

void reply_empty(struct request *r, int status)
{
	reply_raw(r, status, "application/json", "", 0, "no-store");
}

/* RFC 6749 §5.2: error_description holds only %x20-21 / %x23-5B / %x5D-7E. */
static char *clean_description(const char *d)
{
	size_t i, n = strlen(d) > 300 ? 300 : strlen(d);
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		s[i] = (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') ? (char)c : '?';
	}
	s[n] = '\0';
	return s;
}

/* 1 when r is a request to the SCIM API, whose errors have their own format. */
static int is_scim(const struct request *r)
{
	return r->url && strncmp(r->url, "/scim/v2", 8) == 0 && (!r->url[8] || r->url[8] == '/');
}

/* The DPoP challenge of a resource's 401 or 403 (RFC 9449 §7.1): the algorithms proofs may use
 * and the error (r->dpop_error when set: invalid_dpop_proof, use_dpop_nonce). */
static void dpop_challenge(struct request *r, struct MHD_Response *resp, ts_err e)
{
	char v[160];

	snprintf(v, sizeof v, "DPoP algs=\"%s\", error=\"%s\"%s", DPOP_ALGS,
	         r->dpop_error ? r->dpop_error : err_name(e), e != TS_INSUFFICIENT_SCOPE ? "" :
	         is_scim(r) ? ", scope=\"scim\"" : ", scope=\"openid\"");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, v);
}

/* The headers an error e carries, whatever the body's format. */
static void error_headers(struct request *r, struct MHD_Response *resp, ts_err e)
{
	if (r->dpop && (e == TS_INVALID_TOKEN || e == TS_INSUFFICIENT_SCOPE))
		dpop_challenge(r, resp, e);
	else if (e == TS_INVALID_CLIENT)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Basic realm=\"tessera\"");
	else if (e == TS_INVALID_TOKEN)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Bearer realm=\"tessera\", error=\"invalid_token\"");
	else if (e == TS_INSUFFICIENT_SCOPE) /* RFC 6750 §3: a 403 names the scope it lacks */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        is_scim(r) ? "Bearer realm=\"tessera\", error=\"insufficient_scope\", "
		                                     "scope=\"scim\""
		                                   : "Bearer realm=\"tessera\", error=\"insufficient_scope\", "
		                                     "scope=\"openid\"");
	else if (e == TS_METHOD_NOT_ALLOWED && r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	else if (e == TS_UNAVAILABLE || e == TS_TOO_MANY_REQUESTS) {
		char secs[16];

		snprintf(secs, sizeof secs, "%d", r->retry_after > 0 ? r->retry_after : 1);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	if (e == TS_TOO_LARGE || r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}


static void scim_queue(struct request *r, int status, char *text, const char *etag,
                       const char *location, ts_err e)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(text ? strlen(text) : 0,
		text ? text : (void *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);

	if (!resp) {
		free(text);
		r->status = 500;
		return;
	}
	if (etag)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	error_headers(r, resp, e);
	queue(r, status, resp, "application/scim+json", "no-store");
}

void reply_scim(struct request *r, int status, json_t *body, const char *etag,
                const char *location)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	if (body && !text) {
		json_decref(body);
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
		return;
	}
	json_decref(body);
	scim_queue(r, status, text, etag, location, TS_OK);
}

void reply_scim_text(struct request *r, int status, struct jbuf *b)
{
	char *text = jbuf_take(b, NULL);

	if (!text)
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
	else
		scim_queue(r, status, text, NULL, NULL, TS_OK);
}

void reply_scim_error(struct request *r, ts_err e, const char *scim_type, const char *detail)
{
	int status = err_status(e);
	char code[8];
	json_t *body;

	snprintf(code, sizeof code, "%d", status);
	body = json_pack("{s:[s], s:s}", "schemas", "urn:ietf:params:scim:api:messages:2.0:Error",
	                 "status", code);
	if (body && scim_type && *scim_type)
		json_object_set_new(body, "scimType", json_string(scim_type));
	if (body && detail)
		json_object_set_new(body, "detail", json_string(detail));
	scim_queue(r, status, body ? json_dumps(body, JSON_COMPACT) : NULL, NULL, NULL, e);
	json_decref(body);
}

void reply_error(struct request *r, ts_err e, const char *description)
{
	int status = err_status(e);
	json_t *body = json_object();
	char *text = NULL, *desc;
	struct MHD_Response *resp = NULL;

	if (is_scim(r)) {
		json_decref(body);
		reply_scim_error(r, e, NULL, description);
		return;
	}
	desc = description ? clean_description(description) : NULL;

	if (body && !json_object_set_new(body, "error", json_string(err_name(e))) &&
	    (!desc || !json_object_set_new(body, "error_description", json_string(desc))))
		text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	free(desc);
	if (text) {
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(text);
	}
	if (!resp) {
		static const char oom[] = "{\"error\":\"server_error\"}";

		status = 500;
		resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
		                                       MHD_RESPMEM_PERSISTENT);
		if (!resp) {
			r->status = 500;
			return;
		}
	}
	error_headers(r, resp, e);
	queue(r, status, resp, "application/json", "no-store");
}

void reply_scope_error(struct request *r, ts_err rc, const char *bad)
{
	char msg[200];

	if (bad)
		snprintf(msg, sizeof msg, "malformed scope: %.150s", bad);
	else
		snprintf(msg, sizeof msg, "none of the requested scope is allowed for this client");
	reply_error(r, rc, rc == TS_INVALID_SCOPE ? msg : NULL);
}
