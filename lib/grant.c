/* grant.c - user authorizations: scope, grant records, codes. */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "pkce.h"
#include "grant.h"
#include "scope.h"
#include "secret.h"

static int is_oidc(const char *tok, size_t n)
{
	return (n == 6 && memcmp(tok, "openid", 6) == 0) ||
	       (n == 7 && memcmp(tok, "profile", 7) == 0) ||
	       (n == 5 && memcmp(tok, "email", 5) == 0);
}

/* Appends n bytes of tok to the space-separated *list (malloc'd). */
static int append(char **list, size_t *len, const char *tok, size_t n)
{
	char *grown = realloc(*list, *len + n + 2);

	if (!grown)
		return -1;
	if (*len)
		grown[(*len)++] = ' ';
	memcpy(grown + *len, tok, n);
	*len += n;
	grown[*len] = '\0';
	*list = grown;
	return 0;
}

ts_err grant_user_scope(const char *requested, const struct client *c, const struct user *u,
                        char **granted, char **bad)
{
	char *by_client = NULL, *oidc = NULL, *rest = NULL, *by_user = NULL;
	size_t oidc_len = 0, rest_len = 0, n;
	const char *p;
	ts_err rc;

	*granted = NULL;
	if (bad)
		*bad = NULL;
	rc = scope_grant(requested, c->scope, c->client_id, u->username, &by_client, bad);
	if (rc != TS_OK)
		return rc;
	rc = TS_SERVER_ERROR;
	for (p = by_client; *p; p += strspn(p, " ")) {
		n = strcspn(p, " ");
		if (is_oidc(p, n) ? append(&oidc, &oidc_len, p, n) : append(&rest, &rest_len, p, n))
			goto out;
		p += n;
	}
	if (rest) {
		rc = scope_grant(rest, u->scope, c->client_id, u->username, &by_user, NULL);
		if (rc == TS_INVALID_SCOPE && !oidc)
			goto out;
		if (rc != TS_OK && rc != TS_INVALID_SCOPE)
			goto out;
	}
	rc = TS_INVALID_SCOPE;
	if (!oidc && !by_user)
		goto out;
	rc = TS_SERVER_ERROR;
	*granted = grant_scope_union(oidc ? oidc : "", by_user ? by_user : "");
	if (*granted)
		rc = TS_OK;
out:
	free(by_client);
	free(oidc);
	free(rest);
	free(by_user);
	return rc;
}

int grant_scope_covered(const char *want, const char *have)
{
	const char *p;
	char *tok;
	int ok = 1;

	for (p = want; ok && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		ok = tok && client_list_has(have, tok);
		free(tok);
		p += n;
	}
	return ok;
}

char *grant_scope_union(const char *a, const char *b)
{
	char *out = strdup(a), *tok;
	size_t len = strlen(a);
	const char *p;

	for (p = b; out && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		if (!tok || (!client_list_has(out, tok) && append(&out, &len, p, n))) {
			free(out);
			out = NULL;
		}
		free(tok);
		p += n;
	}
	return out;
}

ts_err grant_record(store *s, const char *client_id, int64_t user_id, const char *scope,
                    int64_t now, int64_t *grant_id)
{
	struct grant *g = NULL, fresh = {0};
	char *wider;
	ts_err rc = store_grant_find(s, user_id, client_id, &g);

	if (rc == TS_NOT_FOUND) {
		fresh.client_id = (char *)client_id;
		fresh.user_id = user_id;
		fresh.scope = (char *)scope;
		fresh.created_at = now;
		rc = store_grant_add(s, &fresh);
		*grant_id = fresh.id;
		return rc;
	}
	if (rc != TS_OK)
		return rc;
	*grant_id = g->id;
	if (!grant_scope_covered(scope, g->scope)) {
		wider = grant_scope_union(g->scope, scope);
		rc = wider ? store_grant_set_scope(s, g->id, wider, now) : TS_SERVER_ERROR;
		free(wider);
	}
	store_grant_free(g);
	return rc;
}

void grant_token_hash(const char *text, unsigned char hash[32])
{
	secret_sha256(text, strlen(text), hash);
}

ts_err grant_code_issue(store *s, struct code *c, char *text)
{
	ts_err rc = secret_random(text, 32);

	if (rc != TS_OK)
		return rc;
	grant_token_hash(text, c->hash);
	return store_code_add(s, c);
}

ts_err grant_token_active(store *s, const json_t *claims, int *active)
{
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	const char *cid = json_string_value(json_object_get(claims, "client_id"));
	json_t *gid = json_object_get(claims, "gid");
	struct client *c = NULL;
	struct grant *g = NULL;
	struct user *u = NULL;
	int revoked = 0;
	ts_err rc;

	*active = 0;
	if (!s)
		return TS_UNAVAILABLE;
	if (!jti || !cid || (gid && !json_is_integer(gid)))
		return TS_OK;
	rc = store_is_revoked(s, jti, &revoked);
	if (rc != TS_OK || revoked)
		return rc;
	rc = client_get(s, cid, &c);
	if (rc != TS_OK || !c->active)
		goto out;
	if (gid) {
		rc = store_grant_get(s, json_integer_value(gid), &g);
		if (rc != TS_OK || g->revoked_at || strcmp(g->client_id, cid) != 0)
			goto out;
		rc = store_user_get_id(s, g->user_id, &u);
		if (rc != TS_OK || !u->active)
			goto out;
	}
	*active = 1;
out:
	store_client_free(c);
	store_grant_free(g);
	store_user_free(u);
	return rc == TS_NOT_FOUND ? TS_OK : rc;
}

ts_err grant_code_redeem(store *s, void *arg)
{
	struct redeem *rd = arg;
	struct grant *g = NULL;
	struct refresh rt = {0};
	struct code *c;
	ts_err rc = store_code_take(s, rd->hash, rd->now, &rd->code);

	c = rd->code;
	if (rc == TS_CONFLICT) {
		rd->why = "the code was already used; the tokens it gave are revoked";
		rc = store_grant_revoke(s, c->grant_id, rd->now);
		return rc == TS_NOT_FOUND ? TS_OK : rc;
	}
	if (rc == TS_NOT_FOUND) {
		rd->why = "unknown code";
		return TS_OK;
	}
	if (rc != TS_OK)
		return rc;
	if (strcmp(c->client_id, rd->client_id) != 0)
		rd->why = "the code was issued to another client";
	else if (c->expires_at <= rd->now)
		rd->why = "the code has expired";
	else if ((c->redirect_given || rd->redirect_uri) &&
	         (!rd->redirect_uri || strcmp(rd->redirect_uri, c->redirect_uri) != 0))
		rd->why = "redirect_uri differs from the authorization request";
	else if (pkce_check(c->challenge, rd->verifier) != TS_OK)
		rd->why = "code_verifier does not match the code_challenge";
	else if ((rc = store_grant_get(s, c->grant_id, &g)) != TS_OK || g->revoked_at)
		rd->why = "the authorization was revoked";
	else if ((rc = store_user_get_id(s, c->user_id, &rd->user)) != TS_OK || !rd->user->active)
		rd->why = "the user is no longer active";
	store_grant_free(g);
	if (rc != TS_OK && rc != TS_NOT_FOUND)
		return rc;
	if (rd->why || !rd->want_refresh)
		return TS_OK;
	rc = secret_random(rd->refresh, 32);
	if (rc != TS_OK)
		return rc;
	grant_token_hash(rd->refresh, rt.hash);
	rt.grant_id = c->grant_id;
	rt.created_at = rd->now;
	rt.expires_at = rd->now + rd->refresh_ttl;
	rc = store_refresh_add(s, &rt);
	if (rc != TS_OK)
		secret_wipe(rd->refresh, sizeof rd->refresh);
	return rc;
}

ts_err grant_refresh_active(store *s, const char *text, int64_t now, struct refresh *rt,
                            struct grant **g, struct user **u, int *active)
{
	struct refresh row = {0};
	struct client *c = NULL;
	unsigned char hash[32];
	ts_err rc;

	*g = NULL;
	*u = NULL;
	*active = 0;
	if (!s)
		return TS_UNAVAILABLE;
	grant_token_hash(text, hash);
	rc = store_refresh_get(s, hash, &row);
	if (rt && rc == TS_OK)
		*rt = row;
	if (rc != TS_OK || row.used_at || row.expires_at <= now)
		return rc == TS_NOT_FOUND ? TS_OK : rc;
	rc = store_grant_get(s, row.grant_id, g);
	if (rc != TS_OK || (*g)->revoked_at)
		goto out;
	rc = client_get(s, (*g)->client_id, &c);
	if (rc != TS_OK || !c->active)
		goto out;
	if ((*g)->user_id) {
		rc = store_user_get_id(s, (*g)->user_id, u);
		if (rc != TS_OK || !(*u)->active)
			goto out;
	}
	*active = 1;
out:
	store_client_free(c);
	return rc == TS_NOT_FOUND ? TS_OK : rc;
}
