/* login.c - POST /login, the form of the login page (pages.c: page_login): the username and
 * password checked under the guessing limits, then a session cookie and a redirect on to what
 * the login was for. That is told by its hidden fields: a device verification (user_code,
 * device.c) or an authorization request (authorize.c); this file sits above both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "form.h"
#include "grant.h"
#include "password.h"
#include "secret.h"
#include "throttle.h"
#include "username.h"
#include "server.h"

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
	se.auth_time = se.created_at = r->now;
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
	struct form *f = r->form;
	struct login_target t = {0};
	struct user *u = NULL;
	const char *name, *pw;
	char addr[64], ukey[300], akey[80], *key = NULL;
	store *s = http_store(r);
	int ok;
	ts_err rc;

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
	if (limit_reply(r, r->srv->user_throttle, ukey, r->srv->addr_throttle, akey, 1,
	                "Too many failed attempts."))
		goto out;
	rc = s ? store_user_get(s, name, &u) : TS_UNAVAILABLE;
	if (rc != TS_OK && rc != TS_NOT_FOUND) {
		limit_settle(r, r->srv->user_throttle, ukey, 1);
		limit_settle(r, r->srv->addr_throttle, akey, 1);
		reply_page_error(r, err_status(rc), "Try again", "The server is busy.");
		goto out;
	}
	/* hash even for an unknown user, so the time taken says nothing about who exists */
	rc = password_verify(u && u->password_hash ? u->password_hash : r->srv->dummy_hash, pw);
	ok = rc == TS_OK && u && u->password_hash && u->active;
	limit_settle(r, r->srv->addr_throttle, akey, ok);
	if (!ok) {
		limit_settle(r, r->srv->user_throttle, ukey, 0);
		page_login(r, &t, 401, "Wrong username or password.", name);
		goto out;
	}
	limit_reset(r, r->srv->user_throttle, ukey);
	free(r->client_id);
	r->client_id = t.client_id;
	t.client_id = NULL;
	login_succeeded(r, &t, u);
out:
	free(key);
	store_user_free(u);
	login_target_free(&t);
}
