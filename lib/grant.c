/* grant.c - user authorizations: scope, grant records, codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
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

#define TOKEN_TIME 6 /* bytes of time at the start of a grant token */
_Static_assert(GRANT_TOKEN_LEN == (4 * (TOKEN_TIME + 32) + 2) / 3 + 1, "base64url of 38 bytes");

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The text of the grant token made at ms (Unix milliseconds) with body. */
static void token_text(int64_t ms, const unsigned char body[32], char out[GRANT_TOKEN_LEN])
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
		token_text(now_ms(), body, text);
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

ts_err grant_token_active(store *s, const json_t *claims, int *active, char **scope)
{
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	const char *cid = json_string_value(json_object_get(claims, "client_id"));
	const char *tscope = json_string_value(json_object_get(claims, "scope"));
	json_t *gid = json_object_get(claims, "gid");
	struct client *c = NULL;
	struct grant *g = NULL;
	struct user *u = NULL;
	char *now_scope = NULL;
	int revoked = 0;
	ts_err rc;

	*active = 0;
	if (scope)
		*scope = NULL;
	if (!s)
		return TS_UNAVAILABLE;
	if (!jti || !cid || !tscope || (gid && !json_is_integer(gid)))
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
		if (g->user_id) {
			rc = store_user_get_id(s, g->user_id, &u);
			if (rc != TS_OK || !u->active)
				goto out;
		}
		/* the grant's scope now, which an admin may have narrowed */
		rc = scope_grant(tscope, g->scope, NULL, NULL, &now_scope, NULL);
		if (rc == TS_INVALID_SCOPE) {
			rc = TS_OK;
			goto out;
		}
		if (rc != TS_OK)
			goto out;
	} else if (!(now_scope = strdup(tscope))) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	*active = 1;
	if (scope) {
		*scope = now_scope;
		now_scope = NULL;
	}
out:
	free(now_scope);
	store_client_free(c);
	store_grant_free(g);
	store_user_free(u);
	return rc == TS_NOT_FOUND ? TS_OK : rc;
}

ts_err grant_code_redeem(store *s, void *arg)
{
	struct redeem *rd = arg;
	struct grant *g = NULL;
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
	return grant_refresh_issue(s, c->grant_id, rd->now, rd->refresh_ttl, rd->refresh);
}

ts_err grant_refresh_issue(store *s, int64_t grant_id, int64_t now, int64_t ttl, char *text)
{
	struct refresh rt = {0};
	ts_err rc = grant_token_new(text);

	if (rc != TS_OK)
		return rc;
	grant_token_hash(text, rt.hash);
	rt.grant_id = grant_id;
	rt.created_at = now;
	rt.expires_at = now + ttl;
	rc = store_refresh_add(s, &rt);
	if (rc != TS_OK)
		secret_wipe(text, GRANT_TOKEN_LEN);
	return rc;
}

ts_err grant_refresh_active(store *s, const char *text, int64_t now, int64_t lifetime,
                            struct refresh *rt, struct grant **g, struct user **u, int *active)
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
	lifetime = c->grant_lifetime ? c->grant_lifetime : lifetime;
	if (lifetime > 0 && now >= (*g)->created_at + lifetime)
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

/* 1 when every token of requested has something in common with the granted scope: a plain token
 * present in it, an MQTT filter with a non-empty intersection with a filter of a compatible
 * action. What is granted is then that intersection. 0 when not; -1 when out of memory (which
 * must not pass for a refusal). */
static int scope_within(const char *requested, const char *granted)
{
	const char *p;
	char *tok, *out;
	ts_err rc;
	int ok = 1;

	for (p = requested; ok == 1 && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		out = NULL;
		rc = tok ? scope_grant(tok, granted, NULL, NULL, &out, NULL) : TS_SERVER_ERROR;
		ok = rc == TS_OK ? 1 : rc == TS_INVALID_SCOPE ? 0 : -1;
		free(out);
		free(tok);
		p += n;
	}
	return ok;
}

/* The successor of a rotating refresh token rotated at ms: a grant token made at ms whose body
 * is the HMAC-SHA256 of its text under a server secret. ms 0 (rotated before schema version 6):
 * the HMAC alone, 43 characters. The secret is read from s each time (one indexed row): a copy
 * kept by the process would outlive a first rotation whose transaction, which created the
 * secret, was rolled back, and would belong to whichever database the process opened first. */
static ts_err successor(store *s, const char *text, int64_t ms, char out[GRANT_TOKEN_LEN])
{
	unsigned char key[32], mac[32];
	unsigned len = sizeof mac;
	ts_err rc = store_secret(s, "refresh-successor", key);

	if (rc != TS_OK)
		return rc;
	HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)text, strlen(text), mac, &len);
	if (ms > 0)
		token_text(ms, mac, out);
	else
		b64url_encode(mac, sizeof mac, out);
	secret_wipe(key, sizeof key);
	secret_wipe(mac, sizeof mac);
	return TS_OK;
}

static ts_err refuse(struct refresh_req *q, ts_err error, const char *why)
{
	q->error = error;
	q->why = why;
	return TS_OK;
}

/* Reuse of a used-up token (RFC 9700 §4.14.2): the grant is revoked, every token with it. */
static ts_err reuse(store *s, struct refresh_req *q)
{
	ts_err rc = store_grant_revoke(s, q->grant->id, q->now);

	if (rc != TS_OK && rc != TS_NOT_FOUND)
		return rc;
	return refuse(q, TS_INVALID_GRANT, "the refresh token was already used; the grant is revoked");
}

/* The grace answer: the used-up token once more, within the grace period, while its successor
 * is unused; *ok = 0 when it does not apply. */
static ts_err grace(store *s, struct refresh_req *q, const struct refresh *row, int *ok)
{
	struct refresh next = {0};
	unsigned char hash[32];
	ts_err rc;

	*ok = 0;
	if (!q->rotate || q->grace <= 0 || row->grace_used || q->now - row->used_at > q->grace)
		return TS_OK;
	rc = successor(s, q->text, row->successor_ms, q->next);
	if (rc != TS_OK)
		return rc;
	grant_token_hash(q->next, hash);
	rc = store_refresh_get(s, hash, &next);
	if (rc == TS_NOT_FOUND || (rc == TS_OK && next.used_at))
		return TS_OK;
	if (rc != TS_OK)
		return rc;
	rc = store_refresh_grace(s, row->hash);
	if (rc == TS_CONFLICT)
		return TS_OK;
	*ok = rc == TS_OK;
	return rc;
}

ts_err grant_refresh_check(store *s, struct refresh_req *q)
{
	ts_err rc;
	int within = 1;

	grant_token_hash(q->text, q->row.hash);
	rc = store_refresh_get(s, q->row.hash, &q->row);
	if (rc == TS_NOT_FOUND)
		return refuse(q, TS_INVALID_GRANT, "unknown refresh token");
	if (rc == TS_OK)
		rc = store_grant_get(s, q->row.grant_id, &q->grant);
	if (rc != TS_OK)
		return rc == TS_NOT_FOUND ? refuse(q, TS_INVALID_GRANT, "unknown grant") : rc;
	if (strcmp(q->grant->client_id, q->client_id) != 0)
		return refuse(q, TS_INVALID_GRANT, "the refresh token was issued to another client");
	if (q->grant->revoked_at)
		return refuse(q, TS_INVALID_GRANT, "the grant was revoked");
	if (q->lifetime > 0 && q->now >= q->grant->created_at + q->lifetime)
		return refuse(q, TS_INVALID_GRANT, "the grant has reached its lifetime");
	if (q->grant->user_id) {
		rc = store_user_get_id(s, q->grant->user_id, &q->user);
		if (rc == TS_NOT_FOUND || (rc == TS_OK && !q->user->active))
			return refuse(q, TS_INVALID_GRANT, "the user is no longer active");
		if (rc != TS_OK)
			return rc;
	}
	if (!q->row.used_at && q->row.expires_at <= q->now)
		return refuse(q, TS_INVALID_GRANT, "the refresh token has expired");
	/* the scope may only narrow (RFC 6749 §6): each token asked for must meet the grant */
	if (q->scope && (within = scope_within(q->scope, q->grant->scope)) < 0)
		return TS_SERVER_ERROR;
	if (q->scope && !within)
		return refuse(q, TS_INVALID_SCOPE, "the scope asked for exceeds the grant");
	rc = scope_grant(q->scope, q->grant->scope, NULL, NULL, &q->scope_out, NULL);
	if (rc == TS_INVALID_SCOPE)
		return refuse(q, TS_INVALID_SCOPE, "nothing of the asked scope is left in the grant");
	if (rc != TS_OK || q->row.used_at || q->rotate)
		return rc; /* a used-up token and a rotation are for grant_refresh_commit */
	snprintf(q->next, sizeof q->next, "%s", q->text);
	/* non-rotating: the idle expiry slides; written only when it moved by a tenth of the idle
	 * time (at most an hour), so steady refreshing is reads only */
	if (q->row.expires_at - q->now <= q->idle_ttl - (q->idle_ttl / 10 < 3600 ?
	                                                q->idle_ttl / 10 : 3600))
		return store_refresh_touch(s, q->row.hash, q->now + q->idle_ttl);
	return TS_OK;
}

ts_err grant_refresh_commit(store *s, void *arg)
{
	struct refresh_req *q = arg;
	struct refresh fresh = {0};
	int64_t ms = now_ms();
	int ok = 0;
	ts_err rc = store_refresh_use(s, q->row.hash, q->now, ms);

	if (rc == TS_CONFLICT) {
		/* used up already (or just now, by a racing request): the grace answer or reuse */
		rc = store_refresh_get(s, q->row.hash, &q->row);
		if (rc == TS_OK)
			rc = grace(s, q, &q->row, &ok);
		if (rc != TS_OK)
			return rc;
		return ok ? TS_OK : reuse(s, q);
	}
	if (rc == TS_OK)
		rc = successor(s, q->text, ms, q->next);
	if (rc != TS_OK)
		return rc;
	grant_token_hash(q->next, fresh.hash);
	fresh.grant_id = q->grant->id;
	fresh.created_at = q->now;
	fresh.expires_at = q->now + q->idle_ttl;
	return store_refresh_add(s, &fresh);
}
