/* introspect.c - POST /introspect (RFC 7662) and POST /revoke (RFC 7009). */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "secret.h"
#include "token.h"
#include "server.h"

/* The `token` of the form; replies itself and returns non-zero when there is none. */
static int begin(struct request *r, const char **token)
{
	*token = form_get(r->form, "token");
	if (!*token || !**token) {
		reply_error(r, TS_INVALID_REQUEST, "token is required");
		return -1;
	}
	return 0;
}

/* The claims a reference token stands for, while it has not expired; NULL for none. */
static json_t *reference_claims(struct request *r, const char *token)
{
	unsigned char hash[32];
	char *text = NULL;
	json_t *claims;
	int64_t now = r->now;

	secret_sha256(token, strlen(token), hash);
	if (!http_store(r) || store_reftoken_get(http_store(r), hash, now, &text) != TS_OK)
		return NULL;
	claims = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(claims) ||
	    json_integer_value(json_object_get(claims, "exp")) <= now) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

json_t *access_claims(struct request *r, const char *token)
{
	struct keyring *ring;
	json_t *claims = NULL;

	if (token_is_reference(token))
		return reference_claims(r, token);
	ring = keys_acquire(&r->srv->keys);

	token_access_verify((const jwt_key *const *)ring->keys, ring->n, r->srv->cfg.issuer, token,
	                    r->now, &claims);
	keys_release(&r->srv->keys);
	return claims;
}

json_t *id_token_claims(struct request *r, const char *token)
{
	struct keyring *ring = keys_acquire(&r->srv->keys);
	json_t *claims = NULL;
	const char *iss;
	ts_err rc;

	rc = jwt_verify((const jwt_key *const *)ring->keys, ring->n, token, "JWT", &claims);
	keys_release(&r->srv->keys);
	iss = json_string_value(json_object_get(claims, "iss"));
	if (rc != TS_OK || !iss || strcmp(iss, r->srv->cfg.issuer) != 0 ||
	    !json_is_string(json_object_get(claims, "sub"))) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

int id_token_is_user(const json_t *claims, const struct user *u)
{
	char id[24];

	if (!u)
		return 0;
	snprintf(id, sizeof id, "%lld", (long long)u->id);
	return strcmp(json_string_value(json_object_get(claims, "sub")), id) == 0;
}

static const char *claim(const json_t *c, const char *name)
{
	return json_string_value(json_object_get(c, name));
}

/* The introspection answer for a refresh token (RFC 7662 covers them too): NULL when it is not
 * an active one of ours. Its scope is what it would yield now. */
static ts_err refresh_answer(struct request *r, const char *token, json_t **body)
{
	struct refresh rt = {0};
	struct grant *g = NULL;
	struct user *u = NULL;
	char sub[24], *scope = NULL;
	int active = 0;
	ts_err rc = grant_refresh_active(http_store(r), token, r->now,
	                                 r->srv->cfg.grant_lifetime, &rt, &g, &u, &active, &scope);

	*body = NULL;
	if (rc == TS_OK && active) {
		snprintf(sub, sizeof sub, "%lld", (long long)g->user_id);
		*body = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s?}", "active", 1,
		                  "token_type", "refresh_token", "scope", scope,
		                  "client_id", g->client_id, "iss", r->srv->cfg.issuer,
		                  "exp", (json_int_t)rt.expires_at, "iat", (json_int_t)rt.created_at,
		                  "username", u ? u->username : NULL);
		if (*body && g->user_id)
			json_object_set_new(*body, "sub", json_string(sub));
	}
	free(scope);
	store_grant_free(g);
	store_user_free(u);
	return rc;
}

void introspect_handle(struct request *r)
{
	static const char *const copied[] = {"scope", "client_id", "sub", "username", "exp", "iat",
	                                     "nbf", "iss", "aud", "jti", "cnf"};
	const struct client *c = r->client;
	const char *token;
	json_t *claims = NULL, *body;
	char *scope = NULL, *username = NULL;
	int active = 0;
	size_t i;
	ts_err rc;

	if (begin(r, &token))
		goto out;
	if (!client_list_has(c->scope, "introspect")) {
		reply_error(r, TS_FORBIDDEN, "this client may not introspect tokens");
		goto out;
	}
	claims = access_claims(r, token);
	if (claims) {
		rc = grant_token_active(http_store(r), claims, &active, &scope, &username);
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
	}
	if (!claims && grant_token_sized(token)) {
		rc = refresh_answer(r, token, &body);
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
		if (body) {
			reply_json(r, 200, body);
			goto out;
		}
	}
	if (!active) {
		reply_json(r, 200, json_pack("{s:b}", "active", 0));
		goto out;
	}
	/* RFC 9449 §6.2: a DPoP-bound token says so, and its cnf.jkt is copied below */
	body = json_pack("{s:b, s:s}", "active", 1, "token_type",
	                 json_object_get(json_object_get(claims, "cnf"), "jkt") ? "DPoP" : "Bearer");
	/* the scope as it stands now, and the user's name now (a rename is not the token's to
	 * hide): the directory may have changed since the token was issued */
	if (body && (json_object_set_new(body, "scope", json_string(scope)) ||
	             (username && json_object_set_new(body, "username", json_string(username))))) {
		json_decref(body);
		body = NULL;
	}
	for (i = 0; body && i < sizeof copied / sizeof copied[0]; i++) {
		if (strcmp(copied[i], "scope") == 0 || strcmp(copied[i], "username") == 0)
			continue;
		json_t *v = json_object_get(claims, copied[i]);

		if (v && json_object_set(body, copied[i], v)) {
			json_decref(body);
			body = NULL;
		}
	}
	reply_json(r, 200, body);
out:
	free(scope);
	free(username);
	json_decref(claims);
}

/* A writer job: an access token's jti, or a refresh token's grant (and so everything from it,
 * RFC 7009 §2.1). */
struct revoke_job {
	const char *jti;
	int64_t exp;
	int64_t grant_id, now;
};

static ts_err revoke_job(store *s, void *arg)
{
	struct revoke_job *j = arg;

	if (j->grant_id)
		return store_grant_revoke(s, j->grant_id, j->now);
	return store_revoke_jti(s, j->jti, j->exp);
}

void revoke_handle(struct request *r)
{
	const struct client *c = r->client;
	const char *token;
	json_t *claims = NULL;
	json_int_t exp;
	ts_err rc;

	struct revoke_job job = {NULL, 0, 0, 0};
	struct grant *g = NULL;
	struct user *u = NULL;
	int active = 0, allowed;

	if (begin(r, &token))
		goto out;
	allowed = client_list_has(c->scope, "introspect");
	claims = access_claims(r, token);
	if (claims && (allowed || strcmp(claim(claims, "client_id"), c->client_id) == 0)) {
		exp = json_integer_value(json_object_get(claims, "exp"));
		job.jti = claim(claims, "jti");
		job.exp = (int64_t)exp;
	} else if (!claims && grant_token_sized(token)) {
		/* (revoked even when it yields nothing now: rights given back must not revive it) */
		rc = grant_refresh_active(http_store(r), token, r->now, r->srv->cfg.grant_lifetime,
		                          NULL, &g, &u, &active, NULL);
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
		if (active && (allowed || strcmp(g->client_id, c->client_id) == 0)) {
			job.grant_id = g->id;
			job.now = r->now;
		}
	}
	/* RFC 7009 §2.2: an invalid or unknown token is not an error */
	if (job.jti || job.grant_id) {
		rc = http_write(r, revoke_job, &job);
		if (rc != TS_OK) {
			reply_error(r, rc, NULL);
			goto out;
		}
	}
	reply_empty(r, 200);
out:
	store_grant_free(g);
	store_user_free(u);
	json_decref(claims);
}
