/* grant_refresh.c - refresh tokens (RFC 6749 §6, RFC 9700 §4.14): issue, introspection, the
 * checks of a refresh and its rotation. What one yields is the scope of its own authorization
 * (kept on each token of its chain) narrowed to what its grant yields now (grant_scope_now). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64.h"
#include "client.h"
#include "grant.h"
#include "scope.h"
#include "secret.h"

ts_err grant_refresh_issue(store *s, int64_t grant_id, int64_t now, int64_t ttl,
                           const char *scope, char *text)
{
	return grant_refresh_issue_bound(s, grant_id, now, ttl, scope, NULL, text);
}

ts_err grant_refresh_issue_bound(store *s, int64_t grant_id, int64_t now, int64_t ttl,
                                 const char *scope, const char *dpop_jkt, char *text)
{
	struct refresh rt = {0};
	ts_err rc = grant_token_new(text);

	if (rc != TS_OK)
		return rc;
	grant_token_hash(text, rt.hash);
	rt.grant_id = grant_id;
	rt.created_at = now;
	rt.expires_at = now + ttl;
	rt.scope = (char *)scope;
	rt.dpop_jkt = (char *)dpop_jkt;
	rc = store_refresh_add(s, &rt);
	if (rc != TS_OK)
		secret_wipe(text, GRANT_TOKEN_LEN);
	return rc;
}

ts_err grant_refresh_bind(store *s, const char *text, const char *x5t)
{
	unsigned char hash[32];

	if (!x5t)
		return TS_OK;
	grant_token_hash(text, hash);
	return store_refresh_bind(s, hash, x5t);
}

/* 1 when the refresh token with this key may be used over a connection whose client certificate
 * has the thumbprint x5t (NULL: none): it is not bound, or bound to that certificate; 0 when
 * not; -1 on a store error (*rc). */
static int binding_holds(store *s, const unsigned char hash[32], const char *x5t, ts_err *rc)
{
	char bound[44];

	*rc = store_refresh_binding(s, hash, bound);
	if (*rc != TS_OK)
		return -1;
	return !*bound || (x5t && strlen(x5t) == 43 && secret_equal(bound, x5t, 43));
}

/* What a refresh token whose own scope is chain (NULL: its grant's whole scope) of grant g yields
 * now, with client c and user u (NULL for none) as they are: *out malloc'd, TS_INVALID_SCOPE
 * when nothing. */
static ts_err yields(const char *chain, const struct grant *g, const struct client *c,
                     const struct user *u, char **out)
{
	char *allowed = NULL;
	ts_err rc = grant_scope_now(g, c, u, &allowed);

	*out = NULL;
	if (rc == TS_OK && !chain) {
		*out = allowed;
		return TS_OK;
	}
	if (rc == TS_OK)
		rc = grant_scope_narrow(chain, allowed, out);
	free(allowed);
	return rc;
}

ts_err grant_refresh_active(store *s, const char *text, int64_t now, int64_t lifetime,
                            struct refresh *rt, struct grant **g, struct user **u, int *active,
                            char **scope)
{
	struct refresh row = {0};
	struct client *c = NULL;
	unsigned char hash[32];
	ts_err rc;

	*g = NULL;
	*u = NULL;
	*active = 0;
	if (scope)
		*scope = NULL;
	if (!s)
		return TS_UNAVAILABLE;
	grant_token_hash(text, hash);
	rc = store_refresh_get(s, hash, &row);
	if (rt && rc == TS_OK) {
		*rt = row;
		rt->scope = NULL;
		rt->dpop_jkt = NULL;
	}
	if (rc != TS_OK || row.used_at || row.expires_at <= now)
		goto out;
	rc = store_grant_get(s, row.grant_id, g);
	if (rc != TS_OK || (*g)->revoked_at)
		goto out;
	rc = client_get(s, (*g)->client_id, &c);
	if (rc != TS_OK || !c->active || !grant_of_client(*g, c))
		goto out;
	lifetime = c->grant_lifetime ? c->grant_lifetime : lifetime;
	if (lifetime > 0 && now >= (*g)->created_at + lifetime)
		goto out;
	if ((*g)->user_id) {
		rc = store_user_rights(s, (*g)->user_id, u);
		if (rc != TS_OK || !(*u)->active)
			goto out;
	}
	if (scope) {
		rc = yields(row.scope, *g, c, *u, scope);
		if (rc == TS_INVALID_SCOPE) {
			rc = TS_OK; /* it yields nothing now */
			goto out;
		}
		if (rc != TS_OK)
			goto out;
	}
	*active = 1;
out:
	store_refresh_clear(&row);
	store_client_free(c);
	return rc == TS_NOT_FOUND ? TS_OK : rc;
}

/* 1 when every token of requested has something in common with the available scope: a plain
 * token present in it, an MQTT filter with a non-empty intersection with a filter of a compatible
 * action. What is granted is then that intersection. 0 when not; -1 when out of memory (which
 * must not pass for a refusal). */
static int scope_within(const char *requested, const char *available)
{
	const char *p;
	char *tok, *out;
	ts_err rc;
	int ok = 1;

	for (p = requested; ok == 1 && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		out = NULL;
		rc = tok ? scope_grant(tok, available, NULL, NULL, &out, NULL) : TS_SERVER_ERROR;
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
		grant_token_text(ms, mac, out);
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
	store_refresh_clear(&next);
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
	char *available = NULL;
	ts_err rc;
	int within = 1, held;

	grant_token_hash(q->text, q->row.hash);
	rc = store_refresh_get(s, q->row.hash, &q->row);
	if (rc == TS_NOT_FOUND)
		return refuse(q, TS_INVALID_GRANT, "unknown refresh token");
	if (rc == TS_OK)
		rc = store_grant_get(s, q->row.grant_id, &q->grant);
	if (rc != TS_OK)
		return rc == TS_NOT_FOUND ? refuse(q, TS_INVALID_GRANT, "unknown grant") : rc;
	/* the client record that presents it, not merely one of the same name */
	if (!grant_of_client(q->grant, q->client))
		return refuse(q, TS_INVALID_GRANT, "the refresh token was issued to another client");
	/* before anything that could use it up or revoke its grant: over another connection a
	 * bound token is nothing (RFC 8705 §3) */
	if ((held = binding_holds(s, q->row.hash, q->x5t, &rc)) <= 0)
		return held < 0 ? rc : refuse(q, TS_INVALID_GRANT, "the refresh token is bound to "
		                                "another TLS client certificate");
	/* a token bound to a DPoP key needs a proof by that key (RFC 9449 §5), checked before
	 * anything a presentation may cause (the revocation of a reused token's grant) */
	if (q->row.dpop_jkt && (!q->dpop_jkt || strcmp(q->row.dpop_jkt, q->dpop_jkt) != 0))
		return refuse(q, TS_INVALID_GRANT, q->dpop_jkt ?
		              "the refresh token is bound to another DPoP key" :
		              "the refresh token is bound to a DPoP key: send a DPoP proof");
	if (q->grant->revoked_at)
		return refuse(q, TS_INVALID_GRANT, "the grant was revoked");
	if (q->lifetime > 0 && q->now >= q->grant->created_at + q->lifetime)
		return refuse(q, TS_INVALID_GRANT, "the grant has reached its lifetime");
	if (q->grant->user_id) {
		rc = store_user_rights(s, q->grant->user_id, &q->user);
		if (rc == TS_NOT_FOUND || (rc == TS_OK && !q->user->active))
			return refuse(q, TS_INVALID_GRANT, "the user is no longer active");
		if (rc != TS_OK)
			return rc;
	}
	if (!q->row.used_at && q->row.expires_at <= q->now)
		return refuse(q, TS_INVALID_GRANT, "the refresh token has expired");
	/* what it may yield: its authorization's scope, narrowed to what the client, the user and
	 * the user's groups allow now */
	rc = yields(q->row.scope, q->grant, q->client, q->user, &available);
	if (rc == TS_INVALID_SCOPE)
		return refuse(q, TS_INVALID_GRANT, "nothing of what was authorized is allowed any more");
	if (rc != TS_OK)
		return rc;
	/* the scope may only narrow (RFC 6749 §6): each token asked for must meet what is left */
	if (q->scope && (within = scope_within(q->scope, available)) < 0)
		rc = TS_SERVER_ERROR;
	else if (q->scope && !within)
		rc = refuse(q, TS_INVALID_SCOPE, "the scope asked for exceeds the grant");
	else if ((rc = scope_grant(q->scope, available, NULL, NULL, &q->scope_out, NULL)) ==
	         TS_INVALID_SCOPE)
		rc = refuse(q, TS_INVALID_SCOPE, "nothing of the asked scope is left in the grant");
	free(available);
	if (rc != TS_OK || q->error || q->row.used_at || q->rotate)
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
	int64_t ms = grant_now_ms();
	int ok = 0;
	ts_err rc = store_refresh_use(s, q->row.hash, q->now, ms);

	if (rc == TS_CONFLICT) {
		/* used up already (or just now, by a racing request): the grace answer or reuse */
		store_refresh_clear(&q->row);
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
	fresh.created_at = q->now;
	fresh.expires_at = q->now + q->idle_ttl;
	/* the successor keeps the chain's scope as it stands in this transaction, and its
	 * certificate binding (or is bound now, when the client's tokens are) */
	rc = store_refresh_add_successor(s, &fresh, q->row.hash);
	if (rc == TS_OK)
		rc = q->bind && q->x5t ? store_refresh_bind(s, fresh.hash, q->x5t) :
		     store_refresh_bind_inherit(s, fresh.hash, q->row.hash);
	return rc;
}

void grant_refresh_done(struct refresh_req *q)
{
	free(q->scope_out);
	q->scope_out = NULL;
	store_refresh_clear(&q->row);
	store_grant_free(q->grant);
	q->grant = NULL;
	store_user_free(q->user);
	q->user = NULL;
	secret_wipe(q->next, sizeof q->next);
}
