/* grant.c - user authorizations: scope, what a grant yields now, grant records, grant tokens,
 * codes, and whether an access token is still good. Refresh tokens are grant_refresh.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
#include "client.h"
#include "pkce.h"
#include "token.h"
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
	char *by_client = NULL, *oidc = NULL, *rest = NULL, *by_user = NULL, *own = NULL;
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
		const char *allowed = u->scope;

		/* what the user's groups allow adds to the user's own */
		if (u->group_scope && *u->group_scope) {
			own = grant_scope_union(u->scope ? u->scope : "", u->group_scope);
			if (!own)
				goto out;
			allowed = own;
		}
		rc = scope_grant(rest, allowed, c->client_id, u->username, &by_user, NULL);
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
	free(own);
	return rc;
}

int grant_of_client(const struct grant *g, const struct client *c)
{
	return strcmp(g->client_id, c->client_id) == 0 && g->client_record == c->record;
}

ts_err grant_scope_now(const struct grant *g, const struct client *c, const struct user *u,
                       char **scope)
{
	*scope = NULL;
	if (!*g->scope)
		return TS_INVALID_SCOPE;
	/* the grant's own filters are the request: narrowed by the client and user as they are, a
	 * ${username} filled in with the user's name now */
	if (u)
		return grant_user_scope(g->scope, c, u, scope, NULL);
	return scope_grant(g->scope, c->scope, c->client_id, NULL, scope, NULL);
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

/* Tokens of scope not covered by old (malloc'd, "" when none; NULL on OOM, which must not pass
 * for "not covered": that would widen every refresh token of the grant). */
static char *added_to(const char *old, const char *scope)
{
	char *out = strdup(""), *tok;
	size_t len = 0;
	const char *p;
	int covered;

	for (p = scope; out && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		covered = tok ? scope_subset(tok, old) : -1;
		if (covered < 0 || (!covered && append(&out, &len, p, n))) {
			free(out);
			out = NULL;
		}
		free(tok);
		p += n;
	}
	return out;
}

/* A current refresh token's scope, to be replaced. */
struct rescope {
	unsigned char (*hash)[32];
	char **scope;
	size_t n, cap;
	int oom;
};

static int collect(const unsigned char hash[32], const char *scope, void *arg)
{
	struct rescope *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		unsigned char (*h)[32] = realloc(r->hash, cap * sizeof *h);
		char **sc;

		if (h)
			r->hash = h;
		sc = h ? realloc(r->scope, cap * sizeof *sc) : NULL;
		if (!sc)
			return r->oom = 1;
		r->scope = sc;
		r->cap = cap;
	}
	if (!(r->scope[r->n] = strdup(scope)))
		return r->oom = 1;
	memcpy(r->hash[r->n++], hash, 32);
	return 0;
}

/* The new scope of a refresh token whose own was `chain` when its grant's goes to `scope`, with
 * `added` what that adds: (chain ^ scope) + added. */
static ts_err rescoped(const char *chain, const char *scope, const char *added, char **out)
{
	char *kept = NULL;
	ts_err rc = scope_grant(chain, scope, NULL, NULL, &kept, NULL);

	*out = NULL;
	if (rc == TS_INVALID_SCOPE)
		rc = TS_OK; /* nothing of it is left: only what is added */
	if (rc == TS_OK && !(*out = grant_scope_union(kept ? kept : "", added)))
		rc = TS_SERVER_ERROR;
	free(kept);
	return rc;
}

ts_err grant_set_scope(store *s, int64_t id, const char *scope, int64_t now)
{
	struct rescope r = {0};
	struct grant *g = NULL;
	char *added = NULL, *next;
	size_t i;
	ts_err rc = store_grant_get(s, id, &g);

	if (rc != TS_OK)
		return rc;
	rc = TS_SERVER_ERROR;
	if (!(added = added_to(g->scope, scope)))
		goto out;
	rc = store_refresh_scopes(s, id, collect, &r);
	if (r.oom)
		rc = TS_SERVER_ERROR;
	for (i = 0; rc == TS_OK && i < r.n; i++) {
		rc = rescoped(r.scope[i], scope, added, &next);
		if (rc == TS_OK)
			rc = store_refresh_set_scope(s, r.hash[i], next);
		free(next);
	}
	if (rc == TS_OK)
		rc = store_grant_set_scope(s, id, scope, now);
out:
	for (i = 0; i < r.n; i++)
		free(r.scope[i]);
	free(r.scope);
	free(r.hash);
	free(added);
	store_grant_free(g);
	return rc;
}

#define TOKEN_TIME 6 /* bytes of time at the start of a grant token */
_Static_assert(GRANT_TOKEN_LEN == (4 * (TOKEN_TIME + 32) + 2) / 3 + 1, "base64url of 38 bytes");

int64_t grant_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void grant_token_text(int64_t ms, const unsigned char body[32], char out[GRANT_TOKEN_LEN])
{
	unsigned char b[TOKEN_TIME + 32];
	int i;

	for (i = TOKEN_TIME - 1; i >= 0; i--, ms >>= 8)
		b[i] = (unsigned char)ms;
	memcpy(b + TOKEN_TIME, body, 32);
	b64url_encode(b, sizeof b, out);
	secret_wipe(b, sizeof b);
}

ts_err grant_token_new(char *text)
{
	unsigned char body[32];
	ts_err rc = secret_bytes(body, sizeof body);

	if (rc == TS_OK)
		grant_token_text(grant_now_ms(), body, text);
	secret_wipe(body, sizeof body);
	return rc;
}

void grant_token_hash(const char *text, unsigned char hash[32])
{
	unsigned char sha[32], time[TOKEN_TIME + 1];
	size_t n = strlen(text);

	secret_sha256(text, n, sha);
	if (n == GRANT_TOKEN_LEN - 1 && b64url_decode(text, 8, time) == TOKEN_TIME) {
		memcpy(hash, time, TOKEN_TIME);
		memcpy(hash + TOKEN_TIME, sha, 32 - TOKEN_TIME);
	} else {
		memcpy(hash, sha, 32);
	}
}

int grant_token_sized(const char *text)
{
	size_t n = strlen(text);

	return n == GRANT_TOKEN_LEN - 1 || n == SECRET_TOKEN_LEN - 1;
}

ts_err grant_code_issue(store *s, struct code *c, char *text)
{
	ts_err rc = grant_token_new(text);

	if (rc != TS_OK)
		return rc;
	grant_token_hash(text, c->hash);
	return store_code_add(s, c);
}

ts_err grant_scope_narrow(const char *scope, const char *allowed, char **out)
{
	*out = NULL;
	if (!*scope || !*allowed)
		return TS_INVALID_SCOPE; /* "" is nothing here, never "everything" */
	return scope_grant(scope, allowed, NULL, NULL, out, NULL);
}

ts_err grant_token_active(store *s, const json_t *claims, int *active, char **scope,
                          char **username)
{
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	const char *cid = json_string_value(json_object_get(claims, "client_id"));
	const char *tscope = json_string_value(json_object_get(claims, "scope"));
	json_t *gid = json_object_get(claims, "gid");
	int64_t crec = token_crec(claims);
	struct client *c = NULL;
	struct grant *g = NULL;
	struct user *u = NULL;
	char *allowed = NULL, *now_scope = NULL, *name = NULL;
	int revoked = 0;
	ts_err rc;

	*active = 0;
	if (scope)
		*scope = NULL;
	if (username)
		*username = NULL;
	if (!s)
		return TS_UNAVAILABLE;
	if (!jti || !cid || !tscope || !*tscope || (gid && !json_is_integer(gid)) ||
	    crec < 0)
		return TS_OK;
	rc = store_is_revoked(s, jti, &revoked);
	if (rc != TS_OK || revoked)
		return rc;
	rc = client_get(s, cid, &c);
	if (rc != TS_OK || !c->active)
		goto out;
	if (gid) {
		/* a user's token: its grant, of this very client record, and the user, as they are */
		rc = store_grant_get(s, json_integer_value(gid), &g);
		if (rc != TS_OK || g->revoked_at || !grant_of_client(g, c))
			goto out;
		if (g->user_id) {
			rc = store_user_rights(s, g->user_id, &u);
			if (rc != TS_OK || !u->active)
				goto out;
		}
		rc = grant_scope_now(g, c, u, &allowed);
		if (rc == TS_OK)
			rc = grant_scope_narrow(tscope, allowed, &now_scope);
	} else {
		/* a client's own token: of this record (none named: a client from before records),
		 * narrowed to what the client may have now */
		if (crec != c->record)
			goto out;
		rc = scope_grant(tscope, c->scope, c->client_id, NULL, &now_scope, NULL);
	}
	if (rc == TS_INVALID_SCOPE) {
		rc = TS_OK; /* nothing of it is allowed now */
		goto out;
	}
	if (rc != TS_OK)
		goto out;
	if (username && u && !(name = strdup(u->username))) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	*active = 1;
	if (scope) {
		*scope = now_scope;
		now_scope = NULL;
	}
	if (username) {
		*username = name;
		name = NULL;
	}
out:
	free(allowed);
	free(now_scope);
	free(name);
	store_client_free(c);
	store_grant_free(g);
	store_user_free(u);
	return rc == TS_NOT_FOUND ? TS_OK : rc;
}

/* The checks a code must pass before it is used up, which tie it to its request: the client it
 * was issued to, the redirect URI, the PKCE verifier. NULL when they pass, else why not. */
static const char *code_bound(const struct code *c, const struct redeem *rd)
{
	if (strcmp(c->client_id, rd->client->client_id) != 0)
		return "the code was issued to another client";
	if ((c->redirect_given || rd->redirect_uri) &&
	    (!rd->redirect_uri || strcmp(rd->redirect_uri, c->redirect_uri) != 0))
		return "redirect_uri differs from the authorization request";
	if (pkce_check(c->challenge, rd->verifier) != TS_OK)
		return "code_verifier does not match the code_challenge";
	return NULL;
}

ts_err grant_code_redeem(store *s, void *arg)
{
	struct redeem *rd = arg;
	struct grant *g = NULL;
	struct code *c = NULL;
	char *allowed = NULL;
	ts_err rc = store_code_get(s, rd->hash, &c);

	rd->code = NULL;
	if (rc == TS_NOT_FOUND) {
		rd->why = "unknown code";
		return TS_OK;
	}
	if (rc != TS_OK)
		return rc;
	/* a request that fails these leaves the code as it was: another client (or someone without
	 * the verifier) neither burns it nor, if it was used, revokes what it gave */
	rd->why = code_bound(c, rd);
	store_code_free(c);
	if (rd->why)
		return TS_OK;
	rc = store_code_take(s, rd->hash, rd->now, &rd->code);
	c = rd->code;
	if (rc == TS_CONFLICT) {
		/* used before, by its own client (RFC 6749 §4.1.2): whatever it gave is revoked */
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
	if (c->expires_at <= rd->now)
		rd->why = "the code has expired";
	else if ((rc = store_grant_get(s, c->grant_id, &g)) != TS_OK || g->revoked_at ||
	         !grant_of_client(g, rd->client))
		rd->why = "the authorization was revoked";
	else if ((rc = store_user_get_id(s, c->user_id, &rd->user)) != TS_OK || !rd->user->active)
		rd->why = "the user is no longer active";
	else if ((rc = grant_scope_now(g, rd->client, rd->user, &allowed)) == TS_OK)
		rc = grant_scope_narrow(c->scope, allowed, &rd->scope);
	if (rc == TS_INVALID_SCOPE) {
		rd->why = "nothing of what was authorized is allowed any more";
		rc = TS_OK;
	}
	store_grant_free(g);
	free(allowed);
	if (rc != TS_OK && rc != TS_NOT_FOUND)
		return rc;
	if (rd->why || !rd->want_refresh)
		return TS_OK;
	/* its refresh tokens never yield more than this authorization gave */
	rc = grant_refresh_issue_bound(s, c->grant_id, rd->now, rd->refresh_ttl, c->scope,
	                               rd->dpop_jkt, rd->refresh);
	return rc == TS_OK ? grant_refresh_bind(s, rd->refresh, rd->x5t) : rc;
}
