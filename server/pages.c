/* pages.c - what the HTML pages share: URLs, cookies, CSRF tokens, the login session, scopes in
 * words, and the login page with POST /login, which serves both the authorization code flow
 * (authorize.c) and the device verification page (device.c).
 *
 * Forms are bound to the browser by CSRF tokens: an HMAC, under a key made at start-up, of a
 * purpose and the CSRF cookie (before login) or the session cookie (after). */
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "b64.h"
#include "form.h"
#include "grant.h"
#include "html.h"
#include "httphdr.h"
#include "jbuf.h"
#include "password.h"
#include "scope.h"
#include "secret.h"
#include "throttle.h"
#include "username.h"
#include "server.h"

static void page_url_escape(struct jbuf *b, const char *s)
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
char *page_url_with(const char *base, const char *const *names, const char *const *values,
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
		page_url_escape(&b, names[i]);
		jbuf_raw(&b, "=", 1);
		page_url_escape(&b, values[i]);
	}
	return jbuf_take(&b, NULL);
}

static const char *page_cookie_name(const struct request *r, const char *name)
{
	static const char *const names[][2] = {
		{"tessera_session", "__Host-tessera_session"}, {"tessera_csrf", "__Host-tessera_csrf"}};

	return names[strcmp(name, "session") == 0 ? 0 : 1][r->srv->https];
}

/* The cookie called name ("session" or "csrf") of the request, or NULL: a copy kept in r until
 * the request ends, parsed by lib/httphdr.c from the Cookie header. */
const char *page_cookie(struct request *r, const char *name)
{
	int i = strcmp(name, "session") == 0 ? 0 : 1;
	const char *v;
	size_t n;

	if (!r->cookie[i]) {
		v = httphdr_cookie(http_header(r, MHD_HTTP_HEADER_COOKIE), page_cookie_name(r, name), &n);
		r->cookie[i] = v ? strndup(v, n) : NULL;
	}
	return r->cookie[i];
}

void page_set_cookie(struct request *r, const char *name, const char *value, int max_age)
{
	int i = r->set_cookie[0] ? 1 : 0;

	free(r->set_cookie[i]);
	if (asprintf(&r->set_cookie[i], "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
	             page_cookie_name(r, name), value, max_age, r->srv->https ? "; Secure" : "") < 0)
		r->set_cookie[i] = NULL;
}

/* The CSRF token of a form for purpose, bound to the cookie value: 43 characters + NUL. */
void page_csrf(const struct server *srv, const char *purpose, const char *bound,
                       char out[SECRET_TOKEN_LEN])
{
	unsigned char mac[32], msg[512];
	unsigned len = sizeof mac;
	int n = snprintf((char *)msg, sizeof msg, "%s:%s", purpose, bound);

	HMAC(EVP_sha256(), srv->csrf_key, sizeof srv->csrf_key, msg,
	     (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1), mac, &len);
	b64url_encode(mac, 32, out);
}

int page_csrf_ok(struct request *r, const struct form *f, const char *purpose,
                   const char *bound)
{
	char want[SECRET_TOKEN_LEN];
	const char *got = form_get(f, "csrf");

	if (!bound || !got || strlen(got) != SECRET_TOKEN_LEN - 1)
		return 0;
	page_csrf(r->srv, purpose, bound, want);
	return secret_equal(want, got, SECRET_TOKEN_LEN - 1);
}

/* The logged-in user of this browser: 1 with *se and *u set (caller frees *u), 0 when none. */
int page_session_user(struct request *r, store *s, struct session *se, struct user **u)
{
	const char *value = page_cookie(r, "session");
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

/* One <li> per scope token, in words. */
char *page_scope_words(const char *scope)
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


int page_request_form(struct request *r, struct form **f)
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

void page_form_expired(struct request *r)
{
	reply_page_error(r, 403, "Form expired",
	                 "This form has expired or was not sent from this site. Go back to the "
	                 "application or device and try again.");
}

int page_csrf_cookie(struct request *r, char out[SECRET_TOKEN_LEN])
{
	const char *have = page_cookie(r, "csrf");

	if (have && strlen(have) == SECRET_TOKEN_LEN - 1) {
		memcpy(out, have, SECRET_TOKEN_LEN);
		return 0;
	}
	if (secret_random(out, 32) != TS_OK)
		return -1;
	page_set_cookie(r, "csrf", out, r->srv->cfg.session_ttl);
	return 0;
}

char *page_alert(const char *error)
{
	char *esc, *out = NULL;

	if (!error || !(esc = html_escape(error)))
		return NULL;
	if (asprintf(&out, "<p class=\"error\" role=\"alert\">%s</p>", esc) < 0)
		out = NULL;
	free(esc);
	return out;
}

/* --- the login page --- */

void login_target_free(struct login_target *t)
{
	free(t->client_name);
	free(t->client_id);
	free(t->hidden);
	free(t->next);
	free(t->username);
	memset(t, 0, sizeof *t);
}

void page_login(struct request *r, const struct login_target *t, int status, const char *error,
                const char *username)
{
	char csrf_cookie[SECRET_TOKEN_LEN], csrf[SECRET_TOKEN_LEN], *err = page_alert(error);
	const char *tmpl = html_template("login.html");

	if (page_csrf_cookie(r, csrf_cookie)) {
		free(err);
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	page_csrf(r->srv, "login", csrf_cookie, csrf);
	{
		const struct html_var vars[] = {
			{"title", "Sign in"}, {"client_name", t->client_name},
			{"username", username ? username : t->username}, {"csrf", csrf},
			{"hidden", t->hidden}, {"error", err},
		};

		reply_html(r, status, tmpl && t->hidden ? html_render(tmpl, vars, 6) : NULL);
	}
	free(err);
}

static ts_err session_job(store *s, void *arg)
{
	return store_session_add(s, arg);
}

static void login_succeeded(struct request *r, const struct login_target *t, const struct user *u)
{
	char value[SECRET_TOKEN_LEN];
	struct session se = {0};
	ts_err rc = secret_random(value, 32);

	se.user_id = u->id;
	se.auth_time = se.created_at = http_now();
	se.expires_at = se.created_at + r->srv->cfg.session_ttl;
	grant_token_hash(value, se.hash);
	if (rc == TS_OK)
		rc = http_write(r, session_job, &se);
	if (rc != TS_OK) {
		reply_page_error(r, 503, "Try again", "The server could not record your login.");
		return;
	}
	page_set_cookie(r, "session", value, r->srv->cfg.session_ttl);
	secret_wipe(value, sizeof value);
	reply_redirect(r, t->next);
}

/* POST /login: the form of page_login. Its hidden fields say what the login is for: a device
 * verification (user_code) or an authorization request. */
void login_handle(struct request *r)
{
	struct form *f = NULL;
	struct login_target t = {0};
	struct user *u = NULL;
	const char *name, *pw;
	char addr[64], ukey[300], akey[80], msg[120], *key = NULL;
	store *s = http_store(r);
	int wait, ok;
	ts_err rc;

	if (page_request_form(r, &f))
		return;
	if (!page_csrf_ok(r, f, "login", page_cookie(r, "csrf"))) {
		page_form_expired(r);
		goto out;
	}
	if ((form_get(f, "user_code") ? device_login_target(r, f, &t) :
	                                 authorize_login_target(r, f, &t)) != 0)
		goto out;
	name = form_get(f, "username");
	pw = form_get(f, "password");
	if (!name || !*name || !pw || !*pw || strlen(name) > 255) {
		page_login(r, &t, 400, "Enter your username and password.", name);
		goto out;
	}
	http_client_addr(r, addr, sizeof addr);
	snprintf(akey, sizeof akey, "ip:%s", addr);
	/* one counter per user whatever the spelling typed: the name key the store finds users by
	 * (lib/username.h); a name with none is nobody's, counted as typed */
	if (username_key(name, &key) == TS_SERVER_ERROR) {
		reply_page_error(r, 503, "Try again", "The server is busy.");
		goto out;
	}
	snprintf(ukey, sizeof ukey, "user:%s", key ? key : name);
	/* each check reserves its attempt (lib/throttle.h): racing attempts cannot all pass it */
	wait = throttle_take(r->srv->user_throttle, ukey, http_now_ms());
	if (wait == 0) {
		wait = throttle_take(r->srv->addr_throttle, akey, http_now_ms());
		if (wait > 0)
			throttle_settle(r->srv->user_throttle, ukey, 1, http_now_ms());
	}
	if (wait > 0) {
		r->retry_after = (wait + 999) / 1000;
		snprintf(msg, sizeof msg, "Too many failed attempts. Try again in %d seconds.",
		         r->retry_after);
		reply_page_error(r, 429, "Too many attempts", msg);
		goto out;
	}
	rc = s ? store_user_get(s, name, &u) : TS_UNAVAILABLE;
	if (rc != TS_OK && rc != TS_NOT_FOUND) {
		throttle_settle(r->srv->user_throttle, ukey, 1, http_now_ms());
		throttle_settle(r->srv->addr_throttle, akey, 1, http_now_ms());
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		goto out;
	}
	/* hash even for an unknown user, so the time taken says nothing about who exists */
	rc = password_verify(u && u->password_hash ? u->password_hash : r->srv->dummy_hash, pw);
	ok = rc == TS_OK && u && u->password_hash && u->active;
	throttle_settle(r->srv->addr_throttle, akey, ok, http_now_ms());
	if (!ok) {
		throttle_settle(r->srv->user_throttle, ukey, 0, http_now_ms());
		page_login(r, &t, 401, "Wrong username or password.", name);
		goto out;
	}
	throttle_reset(r->srv->user_throttle, ukey);
	free(r->client_id);
	r->client_id = t.client_id;
	t.client_id = NULL;
	login_succeeded(r, &t, u);
out:
	free(key);
	store_user_free(u);
	login_target_free(&t);
	form_free(f);
}
