/* token.c - POST /token: the grant type's handler, for the client the router authenticated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "device.h"
#include "form.h"
#include "grant.h"
#include "secret.h"
#include "jbuf.h"
#include "scope.h"
#include "token.h"
#include "server.h"

/* The error of a failed signature: an access token over TOKEN_ACCESS_MAX is invalid_scope. */
static void reply_sign_error(struct request *r, ts_err rc)
{
	reply_error(r, rc, rc == TS_INVALID_SCOPE ? "the access token would be too large: ask for "
	                   "fewer or shorter scopes" : NULL);
}

/* invalid_scope when a scope asked for or granted is over the limits (lib/scope.h): 1 after
 * replying. */
static int scope_too_large(struct request *r, const char *scope, const char *what)
{
	char msg[160];

	if (scope_within_limits(scope))
		return 0;
	snprintf(msg, sizeof msg, "%s scope is too large: " SCOPE_LIMITS_TEXT, what);
	reply_error(r, TS_INVALID_SCOPE, msg);
	return 1;
}

/* The DPoP key a new refresh token is bound to: a public client's, when it sent a proof (RFC
 * 9449 §5: a confidential client's refresh tokens are bound to its authentication already). */
static const char *dpop_refresh_jkt(const struct request *r, const struct client *c)
{
	return c->is_public && r->dpop_jkt[0] ? r->dpop_jkt : NULL;
}

/* The successful token response (RFC 6749 §5.1): id_token and refresh may be NULL. */
static void reply_tokens(struct request *r, enum grant_kind kind, const char *jwt,
                         const char *scope, const char *id_token, const char *refresh)
{
	struct jbuf b = {0};

	jbuf_raw(&b, "{", 1);
	jbuf_key(&b, "access_token", 1);
	jbuf_str(&b, jwt);
	/* RFC 9449 §5: a token bound to the request's DPoP key is of type DPoP */
	if (r->dpop_jkt[0])
		jbuf_raw(&b, ",\"token_type\":\"DPoP\"", 20);
	else
		jbuf_raw(&b, ",\"token_type\":\"Bearer\"", 22);
	jbuf_key(&b, "expires_in", 0);
	jbuf_int(&b, r->srv->cfg.access_token_ttl);
	jbuf_key(&b, "scope", 0);
	jbuf_str(&b, scope);
	if (id_token) {
		jbuf_key(&b, "id_token", 0);
		jbuf_str(&b, id_token);
	}
	if (refresh && *refresh) {
		jbuf_key(&b, "refresh_token", 0);
		jbuf_str(&b, refresh);
	}
	jbuf_raw(&b, "}", 1);
	metrics_token(kind);
	reply_jbuf(r, 200, &b);
}

/* What an access token is issued for: its client, and for a grant its user (or none: the
 * client's own grant) and grant id; an ID token too when id is set (openid granted). */
struct token_for {
	const struct client *c;
	const struct user *u;
	int64_t gid, iat;
	const char *scope;
	int id;
	const char *nonce;
	int64_t auth_time;
};

/* The claims of the access token of f; sub (24 bytes) holds the user's id. */
static void access_fill(const struct server *srv, const struct token_for *f, char sub[24],
                        struct access_token *t)
{
	snprintf(sub, 24, "%lld", (long long)(f->u ? f->u->id : 0));
	memset(t, 0, sizeof *t);
	t->iss = srv->cfg.issuer;
	t->aud = srv->cfg.audience;
	t->sub = f->u ? sub : f->c->client_id;
	t->client_id = f->c->client_id;
	t->username = f->u ? f->u->username : NULL;
	t->gid = f->gid;
	/* a client's own token names its client record; a grant's, its grant */
	t->crec = f->gid ? 0 : f->c->record;
	t->scope = f->scope;
	t->iat = f->iat;
	t->exp = t->iat + srv->cfg.access_token_ttl;
}

/* A reference token to record: its hash, the claims it stands for, its exp. */
struct reftoken_job {
	unsigned char hash[32];
	const char *claims;
	int64_t exp;
};

static ts_err reftoken_job(store *s, void *arg)
{
	struct reftoken_job *j = arg;

	return store_reftoken_add(s, j->hash, j->claims, j->exp);
}

/* A reference access token for t (its claims recorded, hashed, before it is handed out). */
static ts_err reference_make(struct request *r, struct access_token *t, char **access)
{
	struct reftoken_job j = {{0}, NULL, t->exp};
	char text[TOKEN_REF_LEN + 1], *claims = NULL;
	size_t n = sizeof TOKEN_REF_PREFIX - 1;
	ts_err rc;

	memcpy(text, TOKEN_REF_PREFIX, n);
	rc = secret_random(text + n, 32);
	if (rc == TS_OK)
		rc = token_access_payload(t, &claims);
	if (rc == TS_OK) {
		secret_sha256(text, strlen(text), j.hash);
		j.claims = claims;
		rc = http_write(r, reftoken_job, &j);
	}
	if (rc == TS_OK && !(*access = strdup(text)))
		rc = TS_SERVER_ERROR;
	secret_wipe(text, sizeof text);
	free(claims);
	return rc;
}

/* The one place an access token is made, for every grant type: the access token of f (a JWT, or
 * a reference token for a client that takes them) and its ID token when f->id, under one hold
 * of the signing key. *access and *idt malloc'd (caller frees); TS_INVALID_SCOPE when a JWT
 * would be too long. */
static ts_err token_issue(struct request *r, const struct token_for *f, char **access,
                          char **idt)
{
	struct server *srv = r->srv;
	struct access_token t;
	struct id_token it = {0};
	struct keyring *ring;
	char sub[24];
	ts_err rc = TS_OK;

	*access = *idt = NULL;
	access_fill(srv, f, sub, &t);
	t.x5t = clientcert_bind(r, f->c);   /* cnf.x5t#S256 (RFC 8705 §3) */
	/* DPoP (server/dpop.c): bound to the key of the request's proof */
	t.cnf_jkt = r->dpop_jkt[0] ? r->dpop_jkt : NULL;
	if (f->c->token_reference)
		rc = reference_make(r, &t, access);
	ring = keys_acquire(&srv->keys);
	if (rc == TS_OK && !f->c->token_reference)
		rc = token_access_sign(keyring_signer(ring), &t, srv->cfg.mqtt_claim, access);
	if (rc == TS_OK && f->id) {
		it.iss = srv->cfg.issuer;
		it.sub = sub;
		it.client_id = f->c->client_id;
		it.nonce = f->nonce;
		it.access_token = *access;
		it.iat = t.iat;
		it.exp = t.exp;
		it.auth_time = f->auth_time;
		rc = token_id_sign(keyring_signer(ring), &it, idt);
	}
	keys_release(&srv->keys);
	if (rc != TS_OK) {
		free(*access);
		*access = NULL;
	}
	return rc;
}

/* Issues the tokens of f and replies with them (or with the error). */
static void reply_issued(struct request *r, enum grant_kind kind, const struct token_for *f,
                         const char *refresh)
{
	char *access = NULL, *idt = NULL;
	ts_err rc = token_issue(r, f, &access, &idt);

	if (rc != TS_OK)
		reply_sign_error(r, rc);
	else
		reply_tokens(r, kind, access, f->scope, idt, refresh);
	free(access);
	free(idt);
}

static void grant_client_credentials(struct request *r, const struct form *f, struct client *c)
{
	char *granted = NULL, *bad = NULL;
	ts_err rc;

	if (c->is_public) {
		reply_error(r, TS_UNAUTHORIZED_CLIENT, "public clients cannot use client_credentials");
		return;
	}
	if (scope_too_large(r, form_get(f, "scope"), "the requested"))
		return;
	rc = scope_grant(form_get(f, "scope"), c->scope, c->client_id, NULL, &granted, &bad);
	if (rc != TS_OK) {
		reply_scope_error(r, rc, bad);
		free(bad);
		return;
	}
	if (!scope_too_large(r, granted, "the granted"))
		reply_issued(r, G_CLIENT_CREDENTIALS, &(struct token_for){.c = c, .scope = granted,
		             .iat = r->now}, NULL);
	free(granted);
}

/* The token response of a user grant: access token, ID token when openid was granted, and the
 * refresh token the redemption created, if any. */
struct user_grant {
	enum grant_kind kind;
	int64_t grant_id, auth_time;
	const char *scope, *nonce, *refresh;
	const struct user *user;
};

ts_err token_user_fits(struct server *srv, const char *client_id, const struct user *u,
                       const char *scope, int64_t gid, const char *x5t, const char *jkt)
{
	struct client c = {.client_id = (char *)client_id};
	struct access_token t;
	char sub[24];
	ts_err rc;

	/* gid 0 (a grant not made yet) counts as the longest grant id in token_access_fits */
	access_fill(srv, &(struct token_for){.c = &c, .u = u, .gid = gid, .scope = scope,
	            .iat = http_now()}, sub, &t);
	t.x5t = x5t;
	t.cnf_jkt = jkt;
	rc = token_access_fits(keyring_signer(keys_acquire(&srv->keys)), &t, srv->cfg.mqtt_claim);
	keys_release(&srv->keys);
	return rc;
}

static void reply_user_tokens(struct request *r, struct client *c, const struct user_grant *ug)
{
	reply_issued(r, ug->kind, &(struct token_for){.c = c, .u = ug->user, .gid = ug->grant_id,
	             .iat = r->now, .scope = ug->scope,
	             .id = client_list_has(ug->scope, "openid"), .nonce = ug->nonce,
	             .auth_time = ug->auth_time}, ug->refresh);
}

/* After the redemption's commit. */
static void code_redeemed(struct request *r, ts_err rc, void *job)
{
	struct redeem *rd = job;

	if (rc != TS_OK)
		reply_error(r, rc, NULL);
	else if (rd->why)
		reply_error(r, TS_INVALID_GRANT, rd->why);
	else
		reply_user_tokens(r, r->client, &(struct user_grant){G_AUTHORIZATION_CODE,
		                  rd->code->grant_id, rd->code->auth_time, rd->scope,
		                  rd->code->nonce, rd->refresh, rd->user});
}

static void redeem_free(void *job)
{
	struct redeem *rd = job;

	secret_wipe(rd->refresh, sizeof rd->refresh);
	store_code_free(rd->code);
	store_user_free(rd->user);
	free(rd->scope);
	free(rd);
}

/* grant_type=authorization_code: the redemption is one job of the group-committing writer, so
 * the answer leaves only after the code's use (and the refresh token) is durably recorded. */
static void grant_authorization_code(struct request *r, const struct form *f, struct client *c)
{
	const char *text = form_get(f, "code");
	struct redeem *rd;

	if (!text || !*text) {
		reply_error(r, TS_INVALID_REQUEST, "code is required");
		return;
	}
	rd = calloc(1, sizeof *rd);
	if (!rd) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	grant_token_hash(text, rd->hash);
	rd->client = c;
	rd->redirect_uri = form_get(f, "redirect_uri");
	rd->verifier = form_get(f, "code_verifier");
	rd->now = r->now;
	rd->want_refresh = client_list_has(c->grant_types, "refresh_token");
	rd->x5t = clientcert_bind(r, c);
	rd->dpop_jkt = dpop_refresh_jkt(r, c);
	rd->refresh_ttl = c->refresh_idle_ttl ? c->refresh_idle_ttl : r->srv->cfg.refresh_token_ttl;
	http_write_then(r, grant_code_redeem, rd, code_redeemed, redeem_free);
}

/* The answer to a refresh whose checks passed (and whose rotation, if any, committed). */
static void refreshed(struct request *r, ts_err rc, void *job)
{
	struct refresh_req *q = job;

	if (rc != TS_OK || q->error) {
		reply_error(r, rc != TS_OK ? rc : q->error, rc != TS_OK ? NULL : q->why);
		return;
	}
	reply_issued(r, G_REFRESH_TOKEN, &(struct token_for){.c = r->client, .u = q->user,
	             .gid = q->grant->id, .iat = q->now, .scope = q->scope_out}, q->next);
}

static void refresh_free(void *job)
{
	struct refresh_req *q = job;

	grant_refresh_done(q);
	free(q);
}

/* grant_type=refresh_token (RFC 6749 §6): one writer job checks, rotates and records, so the
 * answer leaves after the new refresh token is durable. */
static void grant_refresh_token(struct request *r, const struct form *f, struct client *c)
{
	struct server *srv = r->srv;
	struct refresh_req *q;
	ts_err rc;

	if (!form_get(f, "refresh_token") || !*form_get(f, "refresh_token")) {
		reply_error(r, TS_INVALID_REQUEST, "refresh_token is required");
		return;
	}
	if (scope_too_large(r, form_get(f, "scope"), "the requested"))
		return;
	q = calloc(1, sizeof *q);
	if (!q) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	q->text = form_get(f, "refresh_token");
	q->client = c;
	q->scope = form_get(f, "scope");
	/* a public client's refresh tokens rotate, unless they are bound to its DPoP key, which then
	 * protects them (lib/client.c client_rules) */
	q->rotate = c->refresh_rotation || (c->is_public && !c->dpop_bound);
	q->dpop_jkt = r->dpop_jkt[0] ? r->dpop_jkt : NULL;
	q->grace = c->refresh_grace;
	q->idle_ttl = c->refresh_idle_ttl ? c->refresh_idle_ttl : srv->cfg.refresh_token_ttl;
	q->lifetime = c->grant_lifetime ? c->grant_lifetime : srv->cfg.grant_lifetime;
	q->now = r->now;
	q->x5t = clientcert_x5t(r);              /* a bound token needs its certificate */
	q->bind = clientcert_bind(r, c) != NULL;
	/* the checks read on this worker's connection; only a rotation (or a used-up token) needs
	 * the writer, whose answer comes after the commit */
	rc = http_store(r) ? grant_refresh_check(http_store(r), q) : TS_UNAVAILABLE;
	/* a token that could not be signed must not cost the client its refresh token */
	if (rc == TS_OK && !q->error && token_user_fits(srv, c->client_id, q->user, q->scope_out,
	                                                q->grant->id, clientcert_bind(r, c),
	                                                q->dpop_jkt) == TS_INVALID_SCOPE) {
		q->error = TS_INVALID_SCOPE;
		q->why = "the access token would be too large: ask for fewer or shorter scopes";
	}
	if (rc == TS_OK && !q->error && (q->rotate || q->row.used_at)) {
		http_write_then(r, grant_refresh_commit, q, refreshed, refresh_free);
		return;
	}
	refreshed(r, rc, q);
	refresh_free(q);
}

/* After the device code's redemption committed. */
static void device_redeemed(struct request *r, ts_err rc, void *job)
{
	struct device_redeem *j = job;

	if (rc != TS_OK || j->error != TS_OK) {
		reply_error(r, rc != TS_OK ? rc : j->error, rc != TS_OK ? NULL : j->why);
		return;
	}
	reply_user_tokens(r, r->client, &(struct user_grant){G_DEVICE_CODE, j->d->grant_id,
	                  j->d->auth_time, j->scope, NULL, j->refresh, j->user});
}

static void device_redeem_free(void *job)
{
	struct device_redeem *j = job;

	secret_wipe(j->refresh, sizeof j->refresh);
	store_device_free(j->d);
	store_user_free(j->user);
	free(j->scope);
	free(j);
}

struct device_poll {
	const unsigned char *hash;
	int64_t now_ms;
	int interval;
};

static ts_err device_poll_job(store *s, void *arg)
{
	struct device_poll *p = arg;

	return store_device_polled(s, p->hash, p->now_ms, &p->interval);
}

/* grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4, §3.5). A pending
 * poll writes its time to the device code's row, so that slow_down holds whichever node each
 * poll reaches (docs/nodes.md). An approved one is redeemed by a writer job, so the tokens leave
 * after the redemption is durable. */
static void grant_device_code(struct request *r, const struct form *f, struct client *c)
{
	const char *text = form_get(f, "device_code"), *why = NULL;
	struct device_redeem *j = NULL;
	struct device *d = NULL;
	ts_err rc;

	if (!text || !*text) {
		reply_error(r, TS_INVALID_REQUEST, "device_code is required");
		return;
	}
	j = calloc(1, sizeof *j);
	if (!j) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	grant_token_hash(text, j->hash);
	j->client = c;
	j->now = r->now;
	rc = http_store(r) ? store_device_get(http_store(r), j->hash, &d) : TS_UNAVAILABLE;
	if (rc == TS_NOT_FOUND) {
		reply_error(r, TS_INVALID_GRANT, "unknown device_code");
		goto out;
	}
	if (rc == TS_OK)
		rc = device_poll_state(d, c->client_id, j->now, &why);
	if (rc == TS_AUTHORIZATION_PENDING) {
		struct device_poll p = {j->hash, http_wall_ms(), 0};
		ts_err polled = http_write(r, device_poll_job, &p);

		if (polled != TS_OK && polled != TS_NOT_FOUND) {
			rc = polled;
			why = NULL;
		} else if (polled == TS_OK && p.interval > d->interval) {
			rc = TS_SLOW_DOWN;
			why = "polling too often: wait 5 seconds more between polls from now on";
		}
	}
	store_device_free(d);
	if (rc != TS_OK) {
		reply_error(r, rc, why);
		goto out;
	}
	j->want_refresh = client_list_has(c->grant_types, "refresh_token");
	j->x5t = clientcert_bind(r, c);
	j->dpop_jkt = dpop_refresh_jkt(r, c);
	j->refresh_ttl = c->refresh_idle_ttl ? c->refresh_idle_ttl : r->srv->cfg.refresh_token_ttl;
	http_write_then(r, device_redeem, j, device_redeemed, device_redeem_free);
	j = NULL;
out:
	if (j)
		device_redeem_free(j);
}

static const struct grant_type {
	const char *name;         /* grant_type */
	const char *client_name;  /* as a client's grant types list it */
	void (*fn)(struct request *r, const struct form *f, struct client *c);
} grant_types[] = {
	{"client_credentials", "client_credentials", grant_client_credentials},
	{"authorization_code", "authorization_code", grant_authorization_code},
	{"refresh_token", "refresh_token", grant_refresh_token},
	{"urn:ietf:params:oauth:grant-type:device_code", "device_code", grant_device_code},
};

/* The entry of grant_types for the request's grant_type, or NULL. */
static const struct grant_type *grant_type_of(const struct request *r)
{
	const char *gt = form_get(r->form, "grant_type");
	size_t i;

	for (i = 0; gt && i < sizeof grant_types / sizeof grant_types[0]; i++)
		if (strcmp(gt, grant_types[i].name) == 0)
			return &grant_types[i];
	return NULL;
}

/* The grant, once the request's DPoP proof (if any) is recorded (server/dpop.c). */
static void token_grant(struct request *r)
{
	grant_type_of(r)->fn(r, r->form, r->client);
}

/* The form and the authenticated client are the router's (router.c), kept to the end of the
 * request: a write's answer may come after this returns. */
void token_handle(struct request *r)
{
	const char *gt = form_get(r->form, "grant_type");
	const struct grant_type *g = grant_type_of(r);

	if (!gt || !*gt) {
		reply_error(r, TS_INVALID_REQUEST, "grant_type is required");
		return;
	}
	if (!g) {
		reply_error(r, TS_UNSUPPORTED_GRANT_TYPE, "unsupported grant_type");
		return;
	}
	if (!client_list_has(r->client->grant_types, g->client_name)) {
		reply_error(r, TS_UNAUTHORIZED_CLIENT, "this client may not use this grant_type");
		return;
	}
	if (clientcert_token_request(r, r->client))
		return;
	dpop_token_request(r, r->client, token_grant);
}
