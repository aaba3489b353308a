/* device.c - the device authorization grant (RFC 8628): user codes, writer jobs. */
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "client.h"
#include "device.h"
#include "grant.h"
#include "scope.h"

static const char alphabet[] = "BCDFGHJKLMNPQRSTVWXZ"; /* 20 letters */

ts_err device_user_code_new(char out[DEVICE_USER_CODE_LEN + 1])
{
	unsigned char r[32];
	size_t i, n = 0;

	/* rejection sampling: bytes of 240 and above would favour the first 16 letters */
	while (n < DEVICE_USER_CODE_LEN) {
		if (RAND_bytes(r, sizeof r) != 1)
			return TS_SERVER_ERROR;
		for (i = 0; i < sizeof r && n < DEVICE_USER_CODE_LEN; i++)
			if (r[i] < 240)
				out[n++] = alphabet[r[i] % 20];
	}
	out[n] = '\0';
	return TS_OK;
}

int device_user_code_normalize(const char *typed, char out[DEVICE_USER_CODE_LEN + 1])
{
	size_t n = 0;
	const char *p;

	for (p = typed; *p; p++) {
		char c = *p;

		if (c == ' ' || c == '-' || c == '\t')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (n == DEVICE_USER_CODE_LEN || !strchr(alphabet, c))
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == DEVICE_USER_CODE_LEN ? 0 : -1;
}

void device_user_code_format(const char *code, char out[DEVICE_USER_CODE_LEN + 2])
{
	memcpy(out, code, 4);
	out[4] = '-';
	memcpy(out + 5, code + 4, 4);
	out[9] = '\0';
}

ts_err device_scope_possible(const char *requested, const struct client *c, char **bad)
{
	static const char var[] = "${username}";
	char *allowed, *granted = NULL;
	size_t n = strlen(c->scope), k = 0;
	const char *q;
	ts_err rc;

	/* ${username} is a whole level (scope_allowed_valid): any user's name is one level, "+" */
	allowed = malloc(n + 1);
	if (!allowed)
		return TS_SERVER_ERROR;
	for (q = c->scope; *q;) {
		if (strncmp(q, var, sizeof var - 1) == 0) {
			allowed[k++] = '+';
			q += sizeof var - 1;
		} else {
			allowed[k++] = *q++;
		}
	}
	allowed[k] = '\0';
	rc = scope_grant(requested, allowed, c->client_id, NULL, &granted, bad);
	free(granted);
	free(allowed);
	return rc;
}

ts_err device_issue(store *s, void *arg)
{
	struct device_issue *j = arg;
	struct device d = {0};
	ts_err rc = grant_token_new(j->text);
	int tries;

	if (rc != TS_OK)
		return rc;
	grant_token_hash(j->text, d.hash);
	d.client_id = (char *)j->client_id;
	d.scope = (char *)j->scope;
	d.created_at = j->now;
	d.expires_at = j->now + j->ttl;
	d.interval = j->interval;
	/* 20^8 codes: a taken one is rare, several in a row would mean a broken random source */
	for (tries = 0; tries < 8; tries++) {
		rc = device_user_code_new(d.user_code);
		if (rc == TS_OK)
			rc = store_device_add(s, &d);
		if (rc != TS_CONFLICT)
			break;
	}
	if (rc == TS_OK)
		memcpy(j->user_code, d.user_code, sizeof d.user_code);
	else
		secret_wipe(j->text, sizeof j->text);
	return rc == TS_CONFLICT ? TS_SERVER_ERROR : rc;
}

ts_err device_decide(store *s, void *arg)
{
	struct device_decision *j = arg;
	int64_t gid = 0;
	ts_err rc = TS_OK;

	if (j->allow)
		rc = grant_record(s, j->client_id, j->user_id, j->granted, j->now, &gid);
	if (rc != TS_OK)
		return rc;
	return store_device_decide(s, j->user_code, j->allow ? DEVICE_APPROVED : DEVICE_DENIED,
	                           j->user_id, gid, j->granted, j->auth_time, j->now);
}

ts_err device_poll_state(const struct device *d, const char *client_id, int64_t now,
                         const char **why)
{
	if (strcmp(d->client_id, client_id) != 0) {
		*why = "unknown device_code";
		return TS_INVALID_GRANT;
	}
	if (d->status == DEVICE_REDEEMED) {
		*why = "the device_code was already used";
		return TS_INVALID_GRANT;
	}
	if (d->expires_at <= now) {
		*why = "the device_code has expired";
		return TS_EXPIRED_TOKEN;
	}
	if (d->status == DEVICE_DENIED) {
		*why = "the user denied the request";
		return TS_ACCESS_DENIED;
	}
	if (d->status == DEVICE_PENDING) {
		*why = "the user has not approved the request yet";
		return TS_AUTHORIZATION_PENDING;
	}
	if (d->status != DEVICE_APPROVED) {
		*why = "unknown device_code";
		return TS_INVALID_GRANT;
	}
	*why = NULL;
	return TS_OK;
}

ts_err device_redeem(store *s, void *arg)
{
	struct device_redeem *j = arg;
	struct grant *g = NULL;
	char *allowed = NULL;
	ts_err rc = store_device_get(s, j->hash, &j->d);

	j->error = TS_OK;
	j->why = NULL;
	j->refresh[0] = '\0';
	if (rc == TS_NOT_FOUND) {
		j->error = TS_INVALID_GRANT;
		j->why = "unknown device_code";
		return TS_OK;
	}
	if (rc != TS_OK)
		return rc;
	j->error = device_poll_state(j->d, j->client->client_id, j->now, &j->why);
	if (j->error != TS_OK)
		return TS_OK;
	rc = store_grant_get(s, j->d->grant_id, &g);
	if (rc == TS_OK && !g->revoked_at && grant_of_client(g, j->client))
		rc = store_user_get_id(s, j->d->user_id, &j->user);
	if (rc == TS_NOT_FOUND || (g && (g->revoked_at || !grant_of_client(g, j->client))) ||
	    (j->user && !j->user->active)) {
		j->error = TS_INVALID_GRANT;
		j->why = "the authorization was revoked";
		rc = TS_OK;
	}
	if (rc == TS_OK && j->error == TS_OK) {
		rc = grant_scope_now(g, j->client, j->user, &allowed);
		if (rc == TS_OK)
			rc = grant_scope_narrow(j->d->granted ? j->d->granted : "", allowed, &j->scope);
		if (rc == TS_INVALID_SCOPE) {
			j->error = TS_INVALID_GRANT;
			j->why = "nothing of what was approved is allowed any more";
			rc = TS_OK;
		}
	}
	free(allowed);
	store_grant_free(g);
	if (rc != TS_OK || j->error != TS_OK)
		return rc;
	rc = store_device_redeem(s, j->hash);
	if (rc == TS_CONFLICT) {  /* a racing poll redeemed it first */
		j->error = TS_INVALID_GRANT;
		j->why = "the device_code was already used";
		return TS_OK;
	}
	if (rc != TS_OK || !j->want_refresh)
		return rc;
	rc = grant_refresh_issue_bound(s, j->d->grant_id, j->now, j->refresh_ttl, j->d->granted,
	                               j->dpop_jkt, j->refresh);
	return rc == TS_OK ? grant_refresh_bind(s, j->refresh, j->x5t) : rc;
}
