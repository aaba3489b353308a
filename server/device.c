/* device.c - the device authorization grant's endpoints (RFC 8628): POST /device_authorization,
 * the verification page /device, and /device/qr. Polling is a grant of /token (token.c).
 *
 * The page: GET /device asks for the user code; GET /device?user_code=X (verification_uri_complete)
 * looks it up and, once the person is logged in, shows what the device asks for; only a POST
 * with the decision and a CSRF token bound to the login session decides (RFC 8628 §5.4). Every
 * look-up of a user code is under two guessing limits (§5.1): per client address and in total;
 * during a lock-out even a correct code is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "device.h"
#include "form.h"
#include "grant.h"
#include "html.h"
#include "jbuf.h"
#include "qr.h"
#include "scope.h"
#include "throttle.h"
#include "server.h"

/* --- POST /device_authorization (RFC 8628 §3.1, §3.2) --- */

/* issuer + path + "?user_code=XXXX-XXXX" */
static char *code_url(const struct server *srv, const char *path, const char *code)
{
	char shown[DEVICE_USER_CODE_LEN + 2], *url;

	device_user_code_format(code, shown);
	return asprintf(&url, "%s%s?user_code=%s", srv->cfg.issuer, path, shown) < 0 ? NULL : url;
}

/* The answer, once the device code is committed. */
static void device_issued(struct request *r, ts_err rc, void *arg)
{
	struct server *srv = r->srv;
	struct device_issue *job = arg;
	struct jbuf b = {0};
	char shown[DEVICE_USER_CODE_LEN + 2], *base = NULL, *complete = NULL, *qr = NULL;

	if (rc != TS_OK) {
		reply_error(r, rc, NULL);
		return;
	}
	device_user_code_format(job->user_code, shown);
	complete = code_url(srv, "/device", job->user_code);
	qr = code_url(srv, "/device/qr", job->user_code);
	if (!complete || !qr || asprintf(&base, "%s/device", srv->cfg.issuer) < 0) {
		base = NULL;
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	jbuf_raw(&b, "{", 1);
	jbuf_key(&b, "device_code", 1);
	jbuf_str(&b, job->text);
	jbuf_key(&b, "user_code", 0);
	jbuf_str(&b, shown);
	jbuf_key(&b, "verification_uri", 0);
	jbuf_str(&b, base);
	jbuf_key(&b, "verification_uri_complete", 0);
	jbuf_str(&b, complete);
	jbuf_key(&b, "verification_uri_qr", 0);
	jbuf_str(&b, qr);
	jbuf_key(&b, "expires_in", 0);
	jbuf_int(&b, job->ttl);
	jbuf_key(&b, "interval", 0);
	jbuf_int(&b, job->interval);
	jbuf_raw(&b, "}", 1);
	reply_jbuf(r, 200, &b);
out:
	free(base);
	free(complete);
	free(qr);
}

static void device_issue_free(void *arg)
{
	struct device_issue *job = arg;

	secret_wipe(job->text, sizeof job->text);
	free(job);
}

void device_authorization_handle(struct request *r)
{
	struct server *srv = r->srv;
	struct device_issue *job;
	const struct form *f = r->form;   /* the router's, kept to the end of the request: the */
	const struct client *c = r->client; /* answer comes after this returns */
	const char *scope;
	char *bad = NULL;
	ts_err rc;

	if (!client_list_has(c->grant_types, "device_code")) {
		reply_error(r, TS_UNAUTHORIZED_CLIENT, "this client may not use the device flow");
		goto out;
	}
	scope = form_get(f, "scope");
	if (scope && !*scope)
		scope = NULL;
	if (!scope_within_limits(scope)) {
		reply_error(r, TS_INVALID_SCOPE, "scope is too large: " SCOPE_LIMITS_TEXT);
		goto out;
	}
	rc = device_scope_possible(scope, c, &bad);
	if (rc != TS_OK) {
		reply_scope_error(r, rc, bad);
		goto out;
	}
	job = calloc(1, sizeof *job);
	if (!job) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	job->scope = scope;
	job->client_id = c->client_id;
	job->now = r->now;
	job->ttl = srv->cfg.device_code_ttl;
	job->interval = srv->cfg.device_interval;
	http_write_then(r, device_issue, job, device_issued, device_issue_free);
out:
	free(bad);
}

/* --- GET /device/qr?user_code=X --- */

void device_qr_handle(struct request *r)
{
	char code[DEVICE_USER_CODE_LEN + 1], *url = NULL, *svg = NULL;
	const char *typed = form_get(r->form, "user_code");

	if (!typed || device_user_code_normalize(typed, code) != 0) {
		reply_page_error(r, 400, "Invalid request", "The link names no valid user code.");
		goto out;
	}
	/* the code's own page, whether or not the code exists: this answers nothing about it */
	url = code_url(r->srv, "/device", code);
	if (!url || qr_svg(url, &svg) != TS_OK) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	reply_raw(r, 200, "image/svg+xml", svg, strlen(svg), "no-store");
out:
	free(svg);
	free(url);
}

/* --- the verification page /device --- */

/* The entry page: a form for the user code, with an error (status 400) or without (200). */
static void show_entry(struct request *r, int status, const char *title, const char *error,
                       const char *typed)
{
	char cookie[SECRET_TOKEN_LEN], csrf[SECRET_TOKEN_LEN], *alert = page_alert(error);
	const char *tmpl = html_template("device.html");
	const struct html_var vars[] = {
		{"title", title}, {"error", alert}, {"user_code", typed}, {"csrf", csrf},
	};

	if (page_csrf_cookie(r, cookie) || (error && !alert)) {
		reply_error(r, TS_SERVER_ERROR, NULL);
	} else {
		page_csrf(r->srv, "device-code", cookie, csrf);
		reply_html(r, status, tmpl ? html_render(tmpl, vars, 4) : NULL);
	}
	free(alert);
}

/* The authorization of the user code typed, under the guessing limits: the row (caller frees),
 * or NULL when it replied with a page saying why not. */
static struct device *lookup(struct request *r, store *s, const char *typed)
{
	struct server *srv = r->srv;
	struct device *d = NULL;
	char code[DEVICE_USER_CODE_LEN + 1], addr[64], key[80];
	ts_err rc;

	http_client_addr(r, addr, sizeof addr);
	snprintf(key, sizeof key, "ip:%s", addr);
	if (limit_reply(r, srv->code_addr_throttle, key, srv->code_total_throttle, "all", 1,
	                "Too many wrong codes were entered."))
		return NULL;
	rc = !typed || device_user_code_normalize(typed, code) != 0 ? TS_NOT_FOUND :
	     s ? store_device_by_user_code(s, code, &d) : TS_UNAVAILABLE;
	/* only a code that is not there counts (expired or used ones do not) */
	limit_settle(r, srv->code_addr_throttle, key, rc != TS_NOT_FOUND);
	limit_settle(r, srv->code_total_throttle, "all", rc != TS_NOT_FOUND);
	if (rc == TS_NOT_FOUND) {
		show_entry(r, 400, "Unknown code",
		           "No device is waiting for this code. Check the code shown on your device "
		           "and enter it again.", typed);
		return NULL;
	}
	if (rc != TS_OK) {
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		return NULL;
	}
	if (d->expires_at <= r->now)
		reply_page_error(r, 400, "Code expired",
		                 "This code has expired. Start again on your device to get a new one.");
	else if (d->status == DEVICE_DENIED)
		reply_page_error(r, 400, "Request denied", "Access for this code was already denied.");
	else if (d->status != DEVICE_PENDING)
		reply_page_error(r, 400, "Code already used", "This code was already used.");
	else
		return d;
	store_device_free(d);
	return NULL;
}

/* The device's client, active, or NULL after replying. */
static struct client *device_client(struct request *r, store *s, const struct device *d)
{
	struct client *c = NULL;
	ts_err rc = client_get(s, d->client_id, &c);

	if (rc == TS_OK && c->active)
		return c;
	store_client_free(c);
	if (rc == TS_OK || rc == TS_NOT_FOUND)
		reply_page_error(r, 400, "Unknown device", "The application of this device is no "
		                 "longer registered.");
	else
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
	return NULL;
}

static const char *name_of(const struct client *c)
{
	return *c->name ? c->name : c->client_id;
}

/* What user u may give the device: the request narrowed to the client and u. NULL after
 * replying when nothing. */
static char *granted_scope(struct request *r, const struct device *d, const struct client *c,
                           const struct user *u)
{
	char *granted = NULL;
	ts_err rc = grant_user_scope(d->scope, c, u, &granted, NULL);

	if (rc == TS_INVALID_SCOPE)
		reply_page_error(r, 400, "Not allowed", "Your account may not give this device any of "
		                 "the access it asks for.");
	else if (rc != TS_OK)
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
	if (rc != TS_OK)
		return granted;
	/* refused before anything is written: a token it could never be issued (lib/token.h) */
	rc = scope_within_limits(granted) ? token_user_fits(r->srv, c->client_id, u, granted, 0,
	                                                    TOKEN_BINDING_ROOM, TOKEN_BINDING_ROOM) :
	     TS_INVALID_SCOPE;
	if (rc == TS_OK)
		return granted;
	free(granted);
	if (rc == TS_INVALID_SCOPE)
		reply_page_error(r, 400, "Too much access", "The access this device asks for is too "
		                 "large to be given in one token.");
	else
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
	return NULL;
}

static void show_confirm(struct request *r, const struct device *d, const struct client *c,
                         const struct user *u, const char *granted)
{
	char csrf[SECRET_TOKEN_LEN], shown[DEVICE_USER_CODE_LEN + 2];
	char *words = page_scope_words(granted);
	const char *tmpl = html_template("device_confirm.html");
	const struct html_var vars[] = {
		{"title", "Connect a device?"}, {"client_name", name_of(c)}, {"user_code", shown},
		{"code", d->user_code}, {"scopes", words}, {"username", u->username}, {"csrf", csrf},
	};

	device_user_code_format(d->user_code, shown);
	page_csrf(r->srv, "device", page_cookie(r, "session"), csrf);
	reply_html(r, 200, tmpl && words ? html_render(tmpl, vars, 7) : NULL);
	free(words);
}

static int target_of(struct request *r, const struct device *d, const struct client *c,
                     struct login_target *t)
{
	struct html_var var = {"code", d->user_code};

	t->client_name = strdup(name_of(c));
	t->client_id = strdup(c->client_id);
	t->hidden = html_render("<input type=\"hidden\" name=\"user_code\" value=\"{{code}}\">",
	                        &var, 1);
	t->next = code_url(r->srv, "/device", d->user_code);
	if (t->client_name && t->client_id && t->hidden && t->next)
		return 0;
	login_target_free(t);
	reply_page_error(r, 503, "Try again", "The server is busy.");
	return -1;
}

int device_login_target(struct request *r, struct form *f, struct login_target *t)
{
	struct device *d = lookup(r, http_store(r), form_get(f, "user_code"));
	struct client *c = d ? device_client(r, http_store(r), d) : NULL;
	int rc = c ? target_of(r, d, c, t) : -1;

	store_client_free(c);
	store_device_free(d);
	return rc;
}

/* GET /device?user_code=X: log in, then the confirmation page. */
static void show_code(struct request *r, const char *typed)
{
	store *s = http_store(r);
	struct device *d = lookup(r, s, typed);
	struct client *c = d ? device_client(r, s, d) : NULL;
	struct login_target t = {0};
	struct session se;
	struct user *u = NULL;
	char *granted;

	if (!c)
		goto out;
	if (!page_session_user(r, s, &se, &u)) {
		/* the login page, carrying the code through POST /login */
		if (target_of(r, d, c, &t) == 0)
			page_login(r, &t, 200, NULL, NULL);
		goto out;
	}
	granted = granted_scope(r, d, c, u);
	if (granted)
		show_confirm(r, d, c, u, granted);
	free(granted);
out:
	login_target_free(&t);
	store_user_free(u);
	store_client_free(c);
	store_device_free(d);
}

/* An approval or denial on its way to the writer: what it needs until its answer is sent. */
struct decide {
	struct device_decision job;
	struct device *d;
	struct client *c;
	struct user *u;
	char *granted;
};

static void decide_free(void *arg)
{
	struct decide *dc = arg;

	free(dc->granted);
	store_client_free(dc->c);
	store_device_free(dc->d);
	store_user_free(dc->u);
	free(dc);
}

/* The page, once the decision is committed. */
static void decided(struct request *r, ts_err rc, void *arg)
{
	struct decide *dc = arg;

	free(r->client_id);
	r->client_id = strdup(dc->c->client_id);
	if (rc == TS_CONFLICT)
		reply_page_error(r, 400, "Code already used", "This code was already used.");
	else if (rc != TS_OK)
		reply_page_error(r, err_status(rc), "Try again", "The server could not record this.");
	else if (dc->job.allow)
		reply_page(r, 200, "Device connected", "The device now has the access you allowed.",
		           "You can close this page: the device continues by itself in a few seconds.");
	else
		reply_page(r, 200, "Access denied", "The device was not given access.",
		           "You can close this page.");
}

/* POST /device with a decision: recorded by the writer without holding this worker thread. */
static void decide(struct request *r, const struct form *f, const char *decision)
{
	store *s = http_store(r);
	struct session se;
	struct decide *dc = calloc(1, sizeof *dc);

	if (!dc) {
		reply_page_error(r, 500, "Try again", "The server could not record this.");
		return;
	}
	if (!s || !page_session_user(r, s, &se, &dc->u) ||
	    !page_csrf_ok(r, f, "device", page_cookie(r, "session"))) {
		page_form_expired(r);
		goto fail;
	}
	dc->job.allow = strcmp(decision, "allow") == 0;
	if (!dc->job.allow && strcmp(decision, "deny") != 0) {
		reply_page_error(r, 400, "Invalid request", "Choose Allow or Deny.");
		goto fail;
	}
	if (!(dc->d = lookup(r, s, form_get(f, "user_code"))) ||
	    !(dc->c = device_client(r, s, dc->d)))
		goto fail;
	if (dc->job.allow && !(dc->granted = granted_scope(r, dc->d, dc->c, dc->u)))
		goto fail;
	dc->job.user_code = dc->d->user_code;
	dc->job.client_id = dc->c->client_id;
	dc->job.granted = dc->granted;
	dc->job.user_id = dc->u->id;
	dc->job.auth_time = se.auth_time;
	dc->job.now = r->now;
	http_write_then(r, device_decide, dc, decided, decide_free);
	return;
fail:
	decide_free(dc);
}

/* POST /device from the entry form: on to the code's own page, which looks it up. */
static void entered(struct request *r, const char *typed)
{
	static const char *const name = "user_code";
	char code[DEVICE_USER_CODE_LEN + 1], shown[DEVICE_USER_CODE_LEN + 2], *base, *url = NULL;
	const char *value = typed ? typed : "";

	if (device_user_code_normalize(value, code) == 0) {
		device_user_code_format(code, shown);
		value = shown;
	}
	if (asprintf(&base, "%s/device", r->srv->cfg.issuer) >= 0) {
		url = page_url_with(base, &name, &value, 1);
		free(base);
	}
	if (url)
		reply_redirect(r, url);
	else
		reply_error(r, TS_SERVER_ERROR, NULL);
	free(url);
}

void device_page_handle(struct request *r)
{
	const struct form *f = r->form;
	const char *typed = form_get(f, "user_code"), *decision = form_get(f, "decision");

	if (strcmp(r->method, "POST") != 0) {
		if (typed)
			show_code(r, typed);
		else
			show_entry(r, 200, "Connect a device", NULL, NULL);
	} else if (decision) {
		decide(r, f, decision);
	} else if (!page_csrf_ok(r, f, "device-code", page_cookie(r, "csrf"))) {
		page_form_expired(r);
	} else {
		entered(r, typed);
	}
}
