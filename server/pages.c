/* pages.c - what the HTML pages share: URLs, cookies, CSRF tokens, the login session, scopes in
 * words, the form of a page request (the router's FORM_PAGE), and the login page, which both
 * the authorization code flow (authorize.c) and the device verification page (device.c) show;
 * its POST /login is login.c's.
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
#include "scope.h"
#include "secret.h"
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
	if (store_session_get(s, hash, r->now, se) != TS_OK)
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
