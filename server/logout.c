/* logout.c - OpenID Connect RP-Initiated Logout 1.0: GET or POST /logout ends this browser's
 * login session.
 *
 * The request (id_token_hint, logout_hint, client_id, post_logout_redirect_uri, state,
 * ui_locales) is checked first: an id_token_hint must be an ID token this server signed (an
 * expired one is fine, §2), client_id must agree with its aud, and a post_logout_redirect_uri
 * must be one registered for that client, exactly; anything else is an error page and never a
 * redirect. Then the user is asked (a page whose form POSTs back here with a CSRF token bound to
 * the session), unless the id_token_hint names the signed-in user. Ending removes the session
 * row and clears the cookie; the browser then goes to the post_logout_redirect_uri with state, or
 * sees a "signed out" page. The user's grants and refresh tokens are left alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "html.h"
#include "jbuf.h"
#include "secret.h"
#include "server.h"

/* The parameters of a logout request, carried through the confirmation form, and the longest
 * value of each (bytes). ui_locales and logout_hint are accepted and not used: the pages are in
 * English, and the session says who is signed in. */
static const struct {
	const char *name;
	size_t max;
} logout_params[] = {
	{"id_token_hint", 8192}, {"logout_hint", 255}, {"client_id", 255},
	{"post_logout_redirect_uri", 1024}, {"state", 512}, {"ui_locales", 255},
};
#define N_PARAMS (sizeof logout_params / sizeof logout_params[0])

struct logout {
	const struct form *f;   /* the request's (r->form) */
	struct client *c;       /* the client of client_id or of the hint's aud, when known */
	const char *redirect;   /* the registered post_logout_redirect_uri asked for, or NULL */
	json_t *hint;           /* the claims of a valid id_token_hint, or NULL */
};

static void logout_free(struct logout *l)
{
	json_decref(l->hint);
	store_client_free(l->c);
}

static void bad_request(struct request *r, const char *message)
{
	reply_page_error(r, 400, "Invalid sign-out request", message);
}

/* Checks the request; 0, or -1 when it replied (an error page). */
static int logout_check(struct request *r, store *s, struct logout *l)
{
	const char *hint = form_get(l->f, "id_token_hint"), *cid = form_get(l->f, "client_id");
	const char *uri = form_get(l->f, "post_logout_redirect_uri"), *aud = NULL, *v;
	char msg[120];
	ts_err rc;
	size_t i;

	if (l->f->repeated) {
		snprintf(msg, sizeof msg, "The parameter %.40s was given more than once.",
		         l->f->repeated);
		bad_request(r, msg);
		return -1;
	}
	for (i = 0; i < N_PARAMS; i++) {
		v = form_get(l->f, logout_params[i].name);
		if (v && strlen(v) > logout_params[i].max) {
			snprintf(msg, sizeof msg, "The parameter %s is too long.", logout_params[i].name);
			bad_request(r, msg);
			return -1;
		}
	}
	if (hint) {
		l->hint = id_token_claims(r, hint);
		aud = json_string_value(json_object_get(l->hint, "aud"));
		if (!aud) {
			bad_request(r, "The id_token_hint is not an ID token of this server.");
			return -1;
		}
		if (cid && strcmp(cid, aud) != 0) {
			bad_request(r, "The client_id is not the one the id_token_hint was issued to.");
			return -1;
		}
	}
	if (!cid)
		cid = aud;
	rc = cid ? client_get(s, cid, &l->c) : TS_NOT_FOUND;
	if (rc != TS_OK && rc != TS_NOT_FOUND) {
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		return -1;
	}
	if (l->c && !l->c->active) {
		store_client_free(l->c);
		l->c = NULL;
	}
	if (!uri)
		return 0;
	if (!l->c || !client_list_has(l->c->post_logout_redirect_uris, uri)) {
		bad_request(r, cid ? "The post_logout_redirect_uri is not registered for this client." :
		                     "A post_logout_redirect_uri needs a client_id or an id_token_hint.");
		return -1;
	}
	l->redirect = uri;
	return 0;
}

/* The request's parameters as hidden inputs, escaped (malloc'd; NULL on OOM). */
static char *hidden_fields(const struct logout *l)
{
	struct jbuf b = {0};
	size_t i;

	for (i = 0; i < N_PARAMS; i++) {
		const char *v = form_get(l->f, logout_params[i].name);
		char *ev;

		if (!v)
			continue;
		if (!(ev = html_escape(v))) {
			free(jbuf_take(&b, NULL));
			return NULL;
		}
		jbuf_raw(&b, "<input type=\"hidden\" name=\"", 27);
		jbuf_raw(&b, logout_params[i].name, strlen(logout_params[i].name));
		jbuf_raw(&b, "\" value=\"", 9);
		jbuf_raw(&b, ev, strlen(ev));
		jbuf_raw(&b, "\">\n", 3);
		free(ev);
	}
	return jbuf_take(&b, NULL);
}

static void show_confirm(struct request *r, const struct logout *l, const struct user *u)
{
	char csrf[SECRET_TOKEN_LEN], *hidden = hidden_fields(l), *lead = NULL;
	const char *tmpl = html_template("logout.html");
	const char *name = l->c ? (*l->c->name ? l->c->name : l->c->client_id) : NULL;

	if (name ? asprintf(&lead, "%s asks you to sign out of Tessera.", name) < 0 :
	           !(lead = strdup("Do you want to sign out of Tessera?")))
		lead = NULL;
	page_csrf(r->srv, "logout", page_cookie(r, "session"), csrf);
	{
		const struct html_var vars[] = {
			{"title", "Sign out?"}, {"lead", lead}, {"username", u->username},
			{"csrf", csrf}, {"hidden", hidden},
		};

		reply_html(r, 200, tmpl && hidden && lead ? html_render(tmpl, vars, 5) : NULL);
	}
	free(hidden);
	free(lead);
}

/* The answer once decided: to the registered post_logout_redirect_uri with state, or a page. */
static void finish(struct request *r, const struct logout *l, int signed_out)
{
	const char *names[] = {"state"}, *values[] = {form_get(l->f, "state")};
	char *url;

	if (!l->redirect) {
		if (signed_out)
			reply_page(r, 200, "Signed out", "You are signed out of Tessera.",
			           "You can close this page.");
		else
			reply_page(r, 200, "Still signed in", "You are still signed in to Tessera.",
			           "You can close this page.");
		return;
	}
	if (!(url = page_url_with(l->redirect, names, values, 1))) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	reply_redirect(r, url);
	free(url);
}

static ts_err session_end_job(store *s, void *arg)
{
	ts_err rc = store_session_remove(s, arg);

	return rc == TS_NOT_FOUND ? TS_OK : rc;
}

/* Removes the session and clears the cookie (the same attributes, Max-Age=0); -1 when it
 * replied (the store failed). */
static int end_session(struct request *r, struct session *se)
{
	ts_err rc = http_write(r, session_end_job, se->hash);

	if (rc != TS_OK) {
		reply_page_error(r, err_status(rc), "Try again", "The server could not sign you out.");
		return -1;
	}
	page_set_cookie(r, "session", "", 0);
	return 0;
}

void logout_handle(struct request *r)
{
	struct logout l = {0};
	struct session se = {0};
	struct user *u = NULL;
	store *s = http_store(r);
	const char *decision;
	int signed_in;

	l.f = r->form;
	if (!s) {
		reply_page_error(r, 503, "Try again", "The server is busy.");
		return;
	}
	if (logout_check(r, s, &l))
		goto out;
	signed_in = page_session_user(r, s, &se, &u);
	/* the confirmation form: only ever a POST carrying the CSRF token of this session */
	decision = strcmp(r->method, "POST") == 0 ? form_get(l.f, "decision") : NULL;
	if (decision && signed_in &&
	    (!page_csrf_ok(r, l.f, "logout", page_cookie(r, "session")) ||
	     (strcmp(decision, "logout") != 0 && strcmp(decision, "stay") != 0))) {
		page_form_expired(r);
		goto out;
	}
	if (!signed_in) {
		/* nothing to end; a stale cookie goes */
		if (page_cookie(r, "session"))
			page_set_cookie(r, "session", "", 0);
		finish(r, &l, 1);
	} else if (decision ? strcmp(decision, "logout") == 0 : (l.hint && id_token_is_user(l.hint, u))) {
		if (end_session(r, &se) == 0)
			finish(r, &l, 1);
	} else if (decision) {
		finish(r, &l, 0);
	} else {
		show_confirm(r, &l, u);
	}
out:
	store_user_free(u);
	logout_free(&l);
}
