/* authorize.c - the authorization endpoint and its pages: GET/POST /authorize and POST /consent
 * (RFC 6749 §4.1, RFC 7636, RFC 9207, RFC 9700, OpenID Connect Core §3.1.2); the login page
 * and POST /login are shared with the device page (pages.c).
 *
 * Nothing is kept between the pages: the login and consent forms carry the authorization request
 * as hidden fields, and every POST validates it again from the start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "html.h"
#include "jbuf.h"
#include "pkce.h"
#include "scope.h"
#include "secret.h"
#include "token.h"
#include "server.h"

/* The parameters of an authorization request that the pages carry along. */
static const char *const request_params[] = {
	"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
	"code_challenge_method", "nonce", "prompt", "max_age", "login_hint", "id_token_hint",
};
#define N_PARAMS (sizeof request_params / sizeof request_params[0])

/* The longest value of each parameter, in bytes. The answer to a request carries its state and
 * redirect URI back in a Location header, and after a login the request itself comes back as
 * a GET /authorize query: all of it must fit in a connection's memory (HTTP_CONN_MEMORY, with
 * the rest of the request's head) or nothing would be sent. scope has its own limits
 * (lib/scope.h). */
static const struct {
	const char *name;
	size_t max;
} param_max[] = {
	{"redirect_uri", 1024}, {"state", 512}, {"nonce", 512}, {"login_hint", 255},
	{"response_type", 64}, {"code_challenge", 128}, {"code_challenge_method", 16},
	{"prompt", 64}, {"max_age", 16}, {"id_token_hint", 8192},
};

/* The first parameter of f longer than its limit, or NULL; its limit in *max. */
static const char *param_too_long(const struct form *f, size_t *max)
{
	const char *v;
	size_t i;

	for (i = 0; i < sizeof param_max / sizeof param_max[0]; i++) {
		v = form_get(f, param_max[i].name);
		if (v && strlen(v) > param_max[i].max) {
			*max = param_max[i].max;
			return param_max[i].name;
		}
	}
	return NULL;
}

struct authz {
	struct form *f;
	struct client *c;
	const char *redirect;   /* where answers go: the registered URI, or the loopback one given */
	int redirect_given;
	int prompt_none, prompt_login, prompt_consent;
	long max_age;           /* -1 when absent */
};

static const char *param(const struct authz *a, const char *name)
{
	return form_get(a->f, name);
}

static void authz_free(struct authz *a)
{
	store_client_free(a->c);
}

/* Sends the browser back to the client with an error (RFC 6749 §4.1.2.1, RFC 9207 iss). */
static void redirect_error(struct request *r, const struct authz *a, const char *error,
                           const char *description)
{
	const char *names[] = {"error", "error_description", "state", "iss"};
	const char *values[] = {error, description, param(a, "state"), r->srv->cfg.issuer};
	char *url = page_url_with(a->redirect, names, values, 4);

	if (!url) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_redirect(r, url);
	free(url);
}

/* --- the request --- */

static int parse_prompt(struct authz *a, const char *prompt)
{
	const char *p = prompt;
	int other = 0;

	while (p && *p) {
		size_t n = strcspn(p, " ");

		if (n == 4 && strncmp(p, "none", 4) == 0)
			a->prompt_none = 1;
		else if (n == 5 && strncmp(p, "login", 5) == 0)
			a->prompt_login = other = 1;
		else if (n == 7 && strncmp(p, "consent", 7) == 0)
			a->prompt_consent = other = 1;
		else if (n == 14 && strncmp(p, "select_account", 14) == 0)
			a->prompt_login = other = 1;
		else if (n)
			return -1;
		p += n;
		p += strspn(p, " ");
	}
	return a->prompt_none && other ? -1 : 0;
}

/* Validates the authorization request in f (the request's, r->form: kept, not freed). On failure it has replied (an error
 * page when the redirect URI cannot be trusted, else a redirect) and returns -1. */
static int authz_parse(struct request *r, struct form *f, struct authz *a)
{
	const char *id = form_get(f, "client_id"), *uri = form_get(f, "redirect_uri");
	const char *method = form_get(f, "code_challenge_method"), *ma = form_get(f, "max_age");
	const char *p, *rt = form_get(f, "response_type"), *long_param;
	char *end, *reg = NULL, msg[120];
	size_t n, count = 0, max;
	int unsafe = 0;
	ts_err rc;

	memset(a, 0, sizeof *a);
	a->f = f;
	a->max_age = -1;
	if (f->repeated && (strcmp(f->repeated, "client_id") == 0 ||
	                    strcmp(f->repeated, "redirect_uri") == 0)) {
		reply_page_error(r, 400, "Invalid request",
		                 "A parameter is repeated (client_id or redirect_uri).");
		return -1;
	}
	if (!id || !*id) {
		reply_page_error(r, 400, "Invalid request", "The request names no client (client_id).");
		return -1;
	}
	rc = http_store(r) ? client_get(http_store(r), id, &a->c) : TS_UNAVAILABLE;
	if (rc == TS_UNAVAILABLE || rc == TS_SERVER_ERROR) {
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		return -1;
	}
	if (rc != TS_OK || !a->c->active) {
		reply_page_error(r, 400, "Unknown client",
		                 "The application that sent you here is not registered.");
		return -1;
	}
	/* the redirect URI: registered exactly (or loopback on any port), or the only one; never
	 * one stored before the registration rules that breaks them (client_redirect_uri_valid) */
	for (p = a->c->redirect_uris; *p; p += strspn(p, " ")) {
		n = strcspn(p, " ");
		free(reg);
		reg = strndup(p, n);
		if (!reg)
			break;
		count++;
		if (!uri || client_redirect_matches(reg, uri)) {
			if (!client_redirect_uri_valid(reg)) {
				unsafe = 1;
				if (uri)
					break;
			} else if (uri) {
				a->redirect = uri;
				a->redirect_given = 1;
				break;
			}
		}
		p += n;
	}
	if (!uri && count == 1 && !unsafe)
		a->redirect = a->c->redirect_uris + strspn(a->c->redirect_uris, " "); /* the only one */
	free(reg);
	if (unsafe && !a->redirect && (uri || count == 1)) {
		reply_page_error(r, 400, "Invalid redirect URI",
		                 "The redirect URI registered for this application is not allowed; "
		                 "its administrator must register it again.");
		return -1;
	}
	if (!a->redirect) {
		reply_page_error(r, 400, "Invalid redirect URI",
		                 uri ? "The redirect URI is not registered for this application." :
		                       "The request names no redirect URI (redirect_uri).");
		return -1;
	}
	long_param = param_too_long(f, &max);
	if (long_param && (strcmp(long_param, "state") == 0 ||
	                   strcmp(long_param, "redirect_uri") == 0)) {
		/* an answer sent to the client would carry it back: a page says why instead */
		snprintf(msg, sizeof msg, "The request's %s is too long (at most %zu bytes).",
		         long_param, max);
		reply_page_error(r, 400, "Invalid request", msg);
		return -1;
	}
	if (f->repeated) {
		/* RFC 6749 §4.1.2.1: with the client and its redirect URI unambiguous, say so there */
		redirect_error(r, a, "invalid_request", "a parameter is repeated");
		return -1;
	}
	if (long_param) {
		snprintf(msg, sizeof msg, "%s is too long (at most %zu bytes)", long_param, max);
		redirect_error(r, a, "invalid_request", msg);
		return -1;
	}
	if (!scope_within_limits(form_get(f, "scope"))) {
		redirect_error(r, a, "invalid_scope", "scope is too large: " SCOPE_LIMITS_TEXT);
		return -1;
	}
	if (!client_list_has(a->c->grant_types, "authorization_code")) {
		redirect_error(r, a, "unauthorized_client", "client may not use the code flow");
		return -1;
	}
	if (!rt || strcmp(rt, "code") != 0) {
		redirect_error(r, a, rt ? "unsupported_response_type" : "invalid_request",
		               "response_type must be code");
		return -1;
	}
	if (!method || strcmp(method, "S256") != 0) {
		redirect_error(r, a, "invalid_request", "code_challenge_method must be S256");
		return -1;
	}
	if (!pkce_challenge_valid(form_get(f, "code_challenge"))) {
		redirect_error(r, a, "invalid_request", "code_challenge is missing or malformed");
		return -1;
	}
	if (parse_prompt(a, form_get(f, "prompt")) < 0) {
		redirect_error(r, a, "invalid_request", "unsupported prompt value");
		return -1;
	}
	if (ma) {
		a->max_age = strtol(ma, &end, 10);
		if (strspn(ma, "0123456789") != strlen(ma) || !*ma || *end || a->max_age > 100000000) {
			redirect_error(r, a, "invalid_request", "max_age must be a number of seconds");
			return -1;
		}
	}
	return 0;
}

/* 1 after redirecting with invalid_scope when what u would grant is over the scope limits or
 * would make an access token too long to issue: refused before any code exists. */
static int granted_too_large(struct request *r, const struct authz *a, const struct user *u,
                             const char *granted)
{
	ts_err rc = scope_within_limits(granted) ?
	            token_user_fits(r->srv, a->c->client_id, u, granted, 0, TOKEN_BINDING_ROOM,
	                            TOKEN_BINDING_ROOM) : TS_INVALID_SCOPE;

	if (rc == TS_OK)
		return 0;
	if (rc == TS_INVALID_SCOPE)
		redirect_error(r, a, "invalid_scope", "the scope granted would make the access token "
		               "too large: ask for fewer scopes");
	else
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
	return 1;
}

/* --- pages --- */

/* The request's parameters as hidden inputs, escaped. */
static char *hidden_fields(const struct authz *a)
{
	struct jbuf b = {0};
	size_t i;

	for (i = 0; i < N_PARAMS; i++) {
		const char *v = param(a, request_params[i]);
		char *ev;

		if (!v)
			continue;
		ev = html_escape(v);
		if (!ev) {
			free(jbuf_take(&b, NULL));
			return NULL;
		}
		jbuf_raw(&b, "<input type=\"hidden\" name=\"", 27);
		jbuf_raw(&b, request_params[i], strlen(request_params[i]));
		jbuf_raw(&b, "\" value=\"", 9);
		jbuf_raw(&b, ev, strlen(ev));
		jbuf_raw(&b, "\">\n", 3);
		free(ev);
	}
	return jbuf_take(&b, NULL);
}

static const char *client_name(const struct authz *a)
{
	return *a->c->name ? a->c->name : a->c->client_id;
}

static void show_consent(struct request *r, const struct authz *a, const struct user *u,
                         const char *session_cookie, const char *granted)
{
	char csrf[SECRET_TOKEN_LEN], *hidden = hidden_fields(a), *words = page_scope_words(granted);
	const char *tmpl = html_template("consent.html");
	const struct html_var vars[] = {
		{"title", "Allow access?"}, {"client_name", client_name(a)},
		{"username", u->username}, {"scopes", words}, {"csrf", csrf}, {"hidden", hidden},
	};

	page_csrf(r->srv, "consent", session_cookie, csrf);
	reply_html(r, 200, tmpl && hidden && words ? html_render(tmpl, vars, 6) : NULL);
	free(hidden);
	free(words);
}

/* 1 when id_token_hint is one of our ID tokens for another user than u. A hint that is not ours
 * at all is 2 (invalid_request). */
static int hint_other_user(struct request *r, const struct authz *a, const struct user *u)
{
	const char *hint = param(a, "id_token_hint");
	json_t *claims;
	int other;

	if (!hint)
		return 0;
	if (!(claims = id_token_claims(r, hint)))
		return 2;
	other = !id_token_is_user(claims, u);
	json_decref(claims);
	return other;
}

/* --- the answer --- */

/* Writer jobs (group commit): the grant and its new code; a consent; a session. */
struct code_job {
	struct code *c;
	char *text;
};

static ts_err code_job(store *s, void *arg)
{
	struct code_job *j = arg;
	ts_err rc = grant_record(s, j->c->client_id, j->c->user_id, j->c->scope, j->c->created_at,
	                         &j->c->grant_id);

	return rc == TS_OK ? grant_code_issue(s, j->c, j->text) : rc;
}

struct consent_job {
	int64_t user_id, now;
	const char *client_id, *scope;
};

static ts_err consent_job(store *s, void *arg)
{
	struct consent_job *j = arg;

	return store_consent_add(s, j->user_id, j->client_id, j->scope, j->now);
}

static void issue_code(struct request *r, const struct authz *a, const struct user *u,
                       const struct session *se, const char *granted)
{
	struct code_job job;
	const char *names[] = {"code", "state", "iss"};
	const char *values[3];
	char text[GRANT_TOKEN_LEN], *url;
	int64_t now = r->now;
	struct code c = {0};
	ts_err rc;

	c.client_id = a->c->client_id;
	c.user_id = u->id;
	c.redirect_uri = (char *)a->redirect;
	c.redirect_given = a->redirect_given;
	c.challenge = (char *)param(a, "code_challenge");
	c.scope = (char *)granted;
	c.nonce = (char *)param(a, "nonce");
	c.auth_time = se->auth_time;
	c.created_at = now;
	c.expires_at = now + r->srv->cfg.code_ttl;
	job.c = &c;
	job.text = text;
	rc = http_write(r, code_job, &job);
	if (rc != TS_OK) {
		reply_page_error(r, err_status(rc), "Try again", "The server could not record this.");
		return;
	}
	values[0] = text;
	values[1] = param(a, "state");
	values[2] = r->srv->cfg.issuer;
	url = page_url_with(a->redirect, names, values, 3);
	secret_wipe(text, sizeof text);
	if (!url) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_redirect(r, url);
	free(url);
}

/* The /authorize URL of a request after a login, without what that login satisfied. */
static char *authorize_url(struct request *r, const struct authz *a)
{
	const char *values[N_PARAMS];
	char *base, *url;
	size_t i;

	for (i = 0; i < N_PARAMS; i++) {
		values[i] = param(a, request_params[i]);
		if (strcmp(request_params[i], "max_age") == 0 ||
		    strcmp(request_params[i], "id_token_hint") == 0)
			values[i] = NULL;
		if (strcmp(request_params[i], "prompt") == 0 && values[i] && (a->prompt_login))
			values[i] = a->prompt_consent ? "consent" : NULL;
	}
	if (asprintf(&base, "%s/authorize", r->srv->cfg.issuer) < 0)
		return NULL;
	url = page_url_with(base, request_params, values, N_PARAMS);
	free(base);
	return url;
}

/* What a login for this request shows and where it goes after (pages.c). */
static int login_target_of(struct request *r, const struct authz *a, struct login_target *t)
{
	const char *hint = param(a, "login_hint");

	t->client_name = strdup(client_name(a));
	t->client_id = strdup(a->c->client_id);
	t->hidden = hidden_fields(a);
	t->next = authorize_url(r, a);
	t->username = hint ? strdup(hint) : NULL;
	if (t->client_name && t->client_id && t->hidden && t->next && (!hint || t->username))
		return 0;
	login_target_free(t);
	reply_page_error(r, 503, "Try again", "The server is busy.");
	return -1;
}

static void show_login(struct request *r, const struct authz *a)
{
	struct login_target t = {0};

	if (login_target_of(r, a, &t) == 0)
		page_login(r, &t, 200, NULL, NULL);
	login_target_free(&t);
}

/* After a valid request: log in, ask for consent, or answer with a code. */
static void proceed(struct request *r, struct authz *a)
{
	store *s = http_store(r);
	struct session se = {0};
	struct user *u = NULL;
	char *granted = NULL, *bad = NULL, *approved = NULL, msg[200];
	int logged, hint;
	ts_err rc;

	if (!s) {
		reply_page_error(r, 503, "Try again", "The server is busy.");
		return;
	}
	logged = page_session_user(r, s, &se, &u);
	hint = hint_other_user(r, a, u);
	if (hint == 2) {
		redirect_error(r, a, "invalid_request", "id_token_hint is not a valid ID token of ours");
		goto out;
	}
	if (!logged || a->prompt_login || hint ||
	    (a->max_age >= 0 && r->now - se.auth_time > a->max_age)) {
		if (a->prompt_none)
			redirect_error(r, a, "login_required", "the user must log in");
		else
			show_login(r, a);
		goto out;
	}
	rc = grant_user_scope(param(a, "scope"), a->c, u, &granted, &bad);
	if (rc != TS_OK) {
		snprintf(msg, sizeof msg, "%s%.150s", bad ? "malformed scope: " : "no scope allowed",
		         bad ? bad : "");
		redirect_error(r, a, err_name(rc), msg);
		goto out;
	}
	if (granted_too_large(r, a, u, granted))
		goto out;
	rc = store_consent_get(s, u->id, a->c->client_id, &approved);
	if (rc != TS_OK) {
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		goto out;
	}
	if (!a->prompt_consent && grant_scope_covered(granted, approved))
		issue_code(r, a, u, &se, granted);
	else if (a->prompt_none)
		redirect_error(r, a, "consent_required", "the user must approve this access");
	else
		show_consent(r, a, u, page_cookie(r, "session"), granted);
out:
	free(granted);
	free(bad);
	free(approved);
	store_user_free(u);
}

void authorize_handle(struct request *r)
{
	struct authz a;

	if (authz_parse(r, r->form, &a) == 0)
		proceed(r, &a);
	authz_free(&a);
}

int authorize_login_target(struct request *r, struct form *f, struct login_target *t)
{
	struct authz a;
	int rc = authz_parse(r, f, &a);

	if (rc == 0)
		rc = login_target_of(r, &a, t);
	authz_free(&a);
	return rc;
}

void consent_handle(struct request *r)
{
	struct form *f = r->form;
	struct authz a;
	struct session se = {0};
	struct user *u = NULL;
	const char *decision;
	char *granted = NULL;
	store *s = http_store(r);
	ts_err rc;

	if (!s || !page_session_user(r, s, &se, &u) || !page_csrf_ok(r, f, "consent", page_cookie(r, "session"))) {
		page_form_expired(r);
		store_user_free(u);
		return;
	}
	if (authz_parse(r, f, &a) != 0)
		goto out;
	decision = form_get(f, "decision");
	if (decision && strcmp(decision, "deny") == 0) {
		redirect_error(r, &a, "access_denied", "the user denied access");
		goto out;
	}
	if (!decision || strcmp(decision, "allow") != 0) {
		reply_page_error(r, 400, "Invalid request", "Choose Allow or Deny.");
		goto out;
	}
	rc = grant_user_scope(param(&a, "scope"), a.c, u, &granted, NULL);
	if (rc != TS_OK) {
		redirect_error(r, &a, err_name(rc), "no scope allowed");
		goto out;
	}
	if (granted_too_large(r, &a, u, granted))
		goto out;
	{
		struct consent_job job = {u->id, r->now, a.c->client_id, granted};

		rc = http_write(r, consent_job, &job);
	}
	if (rc != TS_OK) {
		reply_page_error(r, err_status(rc), "Try again", "The server could not record this.");
		goto out;
	}
	issue_code(r, &a, u, &se, granted);
out:
	free(granted);
	store_user_free(u);
	authz_free(&a);
}
