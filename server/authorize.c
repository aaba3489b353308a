/* authorize.c - the authorization endpoint and its pages: GET/POST /authorize, POST /login,
 * POST /consent (RFC 6749 §4.1, RFC 7636, RFC 9207, RFC 9700, OpenID Connect Core §3.1.2).
 *
 * Nothing is kept between the pages: the login and consent forms carry the authorization request
 * as hidden fields, and every POST validates it again from the start. The forms are bound to the
 * browser by CSRF tokens: an HMAC, under a key made at start-up, of the CSRF cookie (login) or of
 * the session cookie (consent). */
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "b64.h"
#include "client.h"
#include "form.h"
#include "grant.h"
#include "html.h"
#include "jbuf.h"
#include "password.h"
#include "pkce.h"
#include "scope.h"
#include "secret.h"
#include "throttle.h"
#include "token.h"
#include "server.h"

/* The parameters of an authorization request that the pages carry along. */
static const char *const request_params[] = {
	"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
	"code_challenge_method", "nonce", "prompt", "max_age", "login_hint", "id_token_hint",
};
#define N_PARAMS (sizeof request_params / sizeof request_params[0])

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
	form_free(a->f);
}

/* --- URLs --- */

static void url_escape(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			jbuf_raw(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			jbuf_raw(b, e, 3);
		}
	}
}

/* base + "?" (or "&" when base has a query) + the pairs names[i]=values[i] whose value is set. */
static char *url_with(const char *base, const char *const *names, const char *const *values,
                      size_t n)
{
	struct jbuf b = {0};
	char sep = strchr(base, '?') ? '&' : '?';
	size_t i;

	jbuf_raw(&b, base, strlen(base));
	for (i = 0; i < n; i++) {
		if (!values[i])
			continue;
		jbuf_raw(&b, &sep, 1);
		sep = '&';
		url_escape(&b, names[i]);
		jbuf_raw(&b, "=", 1);
		url_escape(&b, values[i]);
	}
	return jbuf_take(&b, NULL);
}

/* Sends the browser back to the client with an error (RFC 6749 §4.1.2.1, RFC 9207 iss). */
static void redirect_error(struct request *r, const struct authz *a, const char *error,
                           const char *description)
{
	const char *names[] = {"error", "error_description", "state", "iss"};
	const char *values[] = {error, description, param(a, "state"), r->srv->cfg.issuer};
	char *url = url_with(a->redirect, names, values, 4);

	if (!url) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_redirect(r, url);
	free(url);
}

/* 1 for http://127.0.0.1[:port]/... or http://[::1][:port]/...: *rest points after the port. */
static int loopback(const char *uri, const char **host_end, const char **rest)
{
	static const char *const hosts[] = {"http://127.0.0.1", "http://[::1]"};
	size_t i, n;
	const char *p;

	for (i = 0; i < 2; i++) {
		n = strlen(hosts[i]);
		if (strncmp(uri, hosts[i], n) != 0)
			continue;
		p = uri + n;
		*host_end = p;
		if (*p == ':')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (*p && *p != '/' && *p != '?')
			return 0;
		*rest = p;
		return 1;
	}
	return 0;
}

/* 1 when given is registered: the same string, or for loopback redirect URIs of native apps
 * the same URI on any port (RFC 8252 §7.3). */
static int redirect_matches(const char *registered, const char *given)
{
	const char *rh, *rr, *gh, *gr;

	if (strcmp(registered, given) == 0)
		return 1;
	return loopback(registered, &rh, &rr) && loopback(given, &gh, &gr) &&
	       rh - registered == gh - given && strncmp(registered, given, (size_t)(rh - registered)) == 0 &&
	       strcmp(rr, gr) == 0;
}

/* --- cookies and CSRF --- */

static const char *cookie_name(const struct request *r, const char *name)
{
	static const char *const names[][2] = {
		{"tessera_session", "__Host-tessera_session"}, {"tessera_csrf", "__Host-tessera_csrf"}};

	return names[strcmp(name, "session") == 0 ? 0 : 1][r->srv->https];
}

static const char *cookie(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, cookie_name(r, name));
}

static void set_cookie(struct request *r, const char *name, const char *value, int max_age)
{
	int i = r->set_cookie[0] ? 1 : 0;

	free(r->set_cookie[i]);
	if (asprintf(&r->set_cookie[i], "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
	             cookie_name(r, name), value, max_age, r->srv->https ? "; Secure" : "") < 0)
		r->set_cookie[i] = NULL;
}

/* The CSRF token of a form for purpose, bound to the cookie value: 43 characters + NUL. */
static void csrf_token(const struct server *srv, const char *purpose, const char *bound,
                       char out[SECRET_TOKEN_LEN])
{
	unsigned char mac[32], msg[512];
	unsigned len = sizeof mac;
	int n = snprintf((char *)msg, sizeof msg, "%s:%s", purpose, bound);

	HMAC(EVP_sha256(), srv->csrf_key, sizeof srv->csrf_key, msg,
	     (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1), mac, &len);
	b64url_encode(mac, 32, out);
}

static int csrf_ok(struct request *r, const struct form *f, const char *purpose,
                   const char *bound)
{
	char want[SECRET_TOKEN_LEN];
	const char *got = form_get(f, "csrf");

	if (!bound || !got || strlen(got) != SECRET_TOKEN_LEN - 1)
		return 0;
	csrf_token(r->srv, purpose, bound, want);
	return secret_equal(want, got, SECRET_TOKEN_LEN - 1);
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

/* Validates the authorization request in f (taking it over). On failure it has replied (an error
 * page when the redirect URI cannot be trusted, else a redirect) and returns -1. */
static int authz_parse(struct request *r, struct form *f, struct authz *a)
{
	const char *id = form_get(f, "client_id"), *uri = form_get(f, "redirect_uri");
	const char *method = form_get(f, "code_challenge_method"), *ma = form_get(f, "max_age");
	const char *p, *rt = form_get(f, "response_type");
	char *end, *reg = NULL;
	size_t n, count = 0;
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
	/* the redirect URI: registered exactly (or loopback on any port), or the only one */
	for (p = a->c->redirect_uris; *p; p += strspn(p, " ")) {
		n = strcspn(p, " ");
		free(reg);
		reg = strndup(p, n);
		if (!reg)
			break;
		count++;
		if (uri && redirect_matches(reg, uri)) {
			a->redirect = uri;
			a->redirect_given = 1;
			break;
		}
		p += n;
	}
	if (!uri && count == 1)
		a->redirect = a->c->redirect_uris + strspn(a->c->redirect_uris, " "); /* the only one */
	free(reg);
	if (!a->redirect) {
		reply_page_error(r, 400, "Invalid redirect URI",
		                 uri ? "The redirect URI is not registered for this application." :
		                       "The request names no redirect URI (redirect_uri).");
		return -1;
	}
	if (f->repeated) {
		/* RFC 6749 §4.1.2.1: with the client and its redirect URI unambiguous, say so there */
		redirect_error(r, a, "invalid_request", "a parameter is repeated");
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

static void show_login(struct request *r, const struct authz *a, int status, const char *error,
                       const char *username)
{
	char csrf_cookie[SECRET_TOKEN_LEN], csrf[SECRET_TOKEN_LEN], *hidden, *err = NULL, *esc;
	const char *have = cookie(r, "csrf");
	const char *tmpl = html_template("login.html");

	if (have && strlen(have) == SECRET_TOKEN_LEN - 1) {
		memcpy(csrf_cookie, have, SECRET_TOKEN_LEN);
	} else if (secret_random(csrf_cookie, 32) == TS_OK) {
		set_cookie(r, "csrf", csrf_cookie, r->srv->cfg.session_ttl);
	} else {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	csrf_token(r->srv, "login", csrf_cookie, csrf);
	if (error && (esc = html_escape(error))) {
		if (asprintf(&err, "<p class=\"error\" role=\"alert\">%s</p>", esc) < 0)
			err = NULL;
		free(esc);
	}
	hidden = hidden_fields(a);
	{
		const struct html_var vars[] = {
			{"title", "Sign in"}, {"client_name", client_name(a)},
			{"username", username ? username : param(a, "login_hint")}, {"csrf", csrf},
			{"hidden", hidden}, {"error", err},
		};

		reply_html(r, status, tmpl && hidden ? html_render(tmpl, vars, 6) : NULL);
	}
	free(hidden);
	free(err);
}

/* One <li> per scope token, in words. */
static char *scope_words(const char *scope)
{
	static const struct { const char *tok, *words; } plain[] = {
		{"openid", "Sign you in with your account"},
		{"profile", "Your name and username"},
		{"email", "Your email address"},
		{"introspect", "Check whether any token is still valid"},
	};
	static const char *const action[] = {NULL, "Publish to", "Receive messages on",
	                                     "Publish to and receive messages on"};
	struct jbuf b = {0};
	const char *p, *filter;
	size_t i;

	for (p = scope; *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		char *tok = strndup(p, n), *esc = NULL;
		enum scope_action act;

		p += n;
		if (!tok)
			break;
		act = scope_token_parse(tok, &filter);
		jbuf_raw(&b, "<li>", 4);
		for (i = 0; i < sizeof plain / sizeof plain[0] && strcmp(plain[i].tok, tok); i++)
			;
		if (act != SCOPE_NONE && (esc = html_escape(filter))) {
			jbuf_raw(&b, action[act], strlen(action[act]));
			jbuf_raw(&b, " <code>", 7);
			jbuf_raw(&b, esc, strlen(esc));
			jbuf_raw(&b, "</code>", 7);
		} else if (i < sizeof plain / sizeof plain[0]) {
			jbuf_raw(&b, plain[i].words, strlen(plain[i].words));
		} else if ((esc = html_escape(tok))) {
			jbuf_raw(&b, "<code>", 6);
			jbuf_raw(&b, esc, strlen(esc));
			jbuf_raw(&b, "</code>", 7);
		}
		jbuf_raw(&b, "</li>\n", 6);
		free(esc);
		free(tok);
	}
	return jbuf_take(&b, NULL);
}

static void show_consent(struct request *r, const struct authz *a, const struct user *u,
                         const char *session_cookie, const char *granted)
{
	char csrf[SECRET_TOKEN_LEN], *hidden = hidden_fields(a), *words = scope_words(granted);
	const char *tmpl = html_template("consent.html");
	const struct html_var vars[] = {
		{"title", "Allow access?"}, {"client_name", client_name(a)},
		{"username", u->username}, {"scopes", words}, {"csrf", csrf}, {"hidden", hidden},
	};

	csrf_token(r->srv, "consent", session_cookie, csrf);
	reply_html(r, 200, tmpl && hidden && words ? html_render(tmpl, vars, 6) : NULL);
	free(hidden);
	free(words);
}

/* --- sessions --- */

/* The logged-in user of this browser: 1 with *se and *u set (caller frees *u), 0 when none. */
static int session_user(struct request *r, store *s, struct session *se, struct user **u)
{
	const char *value = cookie(r, "session");
	unsigned char hash[32];

	*u = NULL;
	if (!value || strlen(value) != SECRET_TOKEN_LEN - 1)
		return 0;
	grant_token_hash(value, hash);
	if (store_session_get(s, hash, http_now(), se) != TS_OK)
		return 0;
	if (store_user_get_id(s, se->user_id, u) != TS_OK)
		return 0;
	if (!(*u)->active) {
		store_user_free(*u);
		*u = NULL;
		return 0;
	}
	return 1;
}

/* 1 when id_token_hint is one of our ID tokens for another user than u. A hint that is not ours
 * at all is 2 (invalid_request). */
static int hint_other_user(struct request *r, const struct authz *a, const struct user *u)
{
	const char *hint = param(a, "id_token_hint");
	struct keyring *ring;
	json_t *claims = NULL;
	const char *iss, *sub;
	char id[24];
	int other = 0;
	ts_err rc;

	if (!hint)
		return 0;
	ring = server_keys_acquire(r->srv);
	rc = jwt_verify((const jwt_key *const *)ring->keys, ring->n, hint, "JWT", &claims);
	server_keys_release(r->srv);
	iss = json_string_value(json_object_get(claims, "iss"));
	sub = json_string_value(json_object_get(claims, "sub"));
	if (rc != TS_OK || !iss || strcmp(iss, r->srv->cfg.issuer) != 0 || !sub) {
		json_decref(claims);
		return 2;
	}
	snprintf(id, sizeof id, "%lld", (long long)(u ? u->id : 0));
	other = !u || strcmp(sub, id) != 0;
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

static ts_err session_job(store *s, void *arg)
{
	return store_session_add(s, arg);
}

static void issue_code(struct request *r, const struct authz *a, const struct user *u,
                       const struct session *se, const char *granted)
{
	struct code_job job;
	const char *names[] = {"code", "state", "iss"};
	const char *values[3];
	char text[SECRET_TOKEN_LEN], *url;
	int64_t now = http_now();
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
	url = url_with(a->redirect, names, values, 3);
	secret_wipe(text, sizeof text);
	if (!url) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_redirect(r, url);
	free(url);
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
	logged = session_user(r, s, &se, &u);
	hint = hint_other_user(r, a, u);
	if (hint == 2) {
		redirect_error(r, a, "invalid_request", "id_token_hint is not a valid ID token of ours");
		goto out;
	}
	if (!logged || a->prompt_login || hint ||
	    (a->max_age >= 0 && http_now() - se.auth_time > a->max_age)) {
		if (a->prompt_none)
			redirect_error(r, a, "login_required", "the user must log in");
		else
			show_login(r, a, 200, NULL, NULL);
		goto out;
	}
	rc = grant_user_scope(param(a, "scope"), a->c, u, &granted, &bad);
	if (rc != TS_OK) {
		snprintf(msg, sizeof msg, "%s%.150s", bad ? "malformed scope: " : "no scope allowed",
		         bad ? bad : "");
		redirect_error(r, a, err_name(rc), msg);
		goto out;
	}
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
		show_consent(r, a, u, cookie(r, "session"), granted);
out:
	free(granted);
	free(bad);
	free(approved);
	store_user_free(u);
}

/* The form of a request: the query string for GET, the body for POST. */
static int request_form(struct request *r, struct form **f)
{
	const char *why = NULL;
	ts_err rc = strcmp(r->method, "POST") == 0 ? endpoint_form(r, f, &why, 1) :
	            form_parse_repeats(r->query, strlen(r->query), f, &why);

	if (rc == TS_OK)
		return 0;
	reply_page_error(r, err_status(rc), "Invalid request",
	                 why ? why : "The request could not be read.");
	return -1;
}

void authorize_handle(struct request *r)
{
	struct form *f = NULL;
	struct authz a;

	if (request_form(r, &f))
		return;
	if (authz_parse(r, f, &a) == 0)
		proceed(r, &a);
	authz_free(&a);
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
	url = url_with(base, request_params, values, N_PARAMS);
	free(base);
	return url;
}

static void login_succeeded(struct request *r, const struct authz *a, const struct user *u)
{
	char value[SECRET_TOKEN_LEN], *url;
	struct session se = {0};
	ts_err rc = secret_random(value, 32);

	se.user_id = u->id;
	se.auth_time = se.created_at = http_now();
	se.expires_at = se.created_at + r->srv->cfg.session_ttl;
	grant_token_hash(value, se.hash);
	if (rc == TS_OK)
		rc = http_write(r, session_job, &se);
	url = rc == TS_OK ? authorize_url(r, a) : NULL;
	if (!url) {
		reply_page_error(r, 503, "Try again", "The server could not record your login.");
		return;
	}
	set_cookie(r, "session", value, r->srv->cfg.session_ttl);
	secret_wipe(value, sizeof value);
	reply_redirect(r, url);
	free(url);
}

void login_handle(struct request *r)
{
	struct form *f = NULL;
	struct authz a;
	struct user *u = NULL;
	const char *name, *pw;
	char addr[64], ukey[300], akey[80], msg[120];
	store *s = http_store(r);
	int wait, addr_wait;
	ts_err rc;

	if (request_form(r, &f))
		return;
	if (!csrf_ok(r, f, "login", cookie(r, "csrf"))) {
		form_free(f);
		reply_page_error(r, 403, "Form expired",
		                 "This form has expired or was not sent from this site. Go back to the "
		                 "application and try again.");
		return;
	}
	if (authz_parse(r, f, &a) != 0)
		goto out;
	name = form_get(f, "username");
	pw = form_get(f, "password");
	if (!name || !*name || !pw || !*pw || strlen(name) > 255) {
		show_login(r, &a, 400, "Enter your username and password.", name);
		goto out;
	}
	http_client_addr(r, addr, sizeof addr);
	snprintf(akey, sizeof akey, "ip:%s", addr);
	snprintf(ukey, sizeof ukey, "user:%s", name);
	for (char *k = ukey; *k; k++)
		*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
	wait = throttle_wait(r->srv->user_throttle, ukey, http_now());
	addr_wait = throttle_wait(r->srv->addr_throttle, akey, http_now());
	if (addr_wait > wait)
		wait = addr_wait;
	if (wait > 0) {
		snprintf(msg, sizeof msg, "Too many failed attempts. Try again in %d seconds.", wait);
		reply_page_error(r, 429, "Too many attempts", msg);
		goto out;
	}
	rc = s ? store_user_get(s, name, &u) : TS_UNAVAILABLE;
	if (rc != TS_OK && rc != TS_NOT_FOUND) {
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		goto out;
	}
	/* hash even for an unknown user, so the time taken says nothing about who exists */
	rc = password_verify(u && u->password_hash ? u->password_hash : r->srv->dummy_hash, pw);
	if (rc != TS_OK || !u || !u->password_hash || !u->active) {
		throttle_fail(r->srv->user_throttle, ukey, http_now());
		throttle_fail(r->srv->addr_throttle, akey, http_now());
		show_login(r, &a, 401, "Wrong username or password.", name);
		goto out;
	}
	throttle_reset(r->srv->user_throttle, ukey);
	free(r->client_id);
	r->client_id = strdup(a.c->client_id);
	login_succeeded(r, &a, u);
out:
	store_user_free(u);
	authz_free(&a);
}

void consent_handle(struct request *r)
{
	struct form *f = NULL;
	struct authz a;
	struct session se = {0};
	struct user *u = NULL;
	const char *decision;
	char *granted = NULL;
	store *s = http_store(r);
	ts_err rc;

	if (request_form(r, &f))
		return;
	if (!s || !session_user(r, s, &se, &u) || !csrf_ok(r, f, "consent", cookie(r, "session"))) {
		form_free(f);
		reply_page_error(r, 403, "Form expired",
		                 "This form has expired or was not sent from this site. Go back to the "
		                 "application and try again.");
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
	{
		struct consent_job job = {u->id, http_now(), a.c->client_id, granted};

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
