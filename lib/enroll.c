/* enroll.c - enrollment tokens and their templates (see enroll.h); the metadata of a
 * registration is enroll_meta.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "enroll.h"
#include "scope.h"
#include "secret.h"

#define ENROLL_SECRET_LEN 43 /* 256 bits as base64url */

ts_err enroll_token_new(struct enrollment *e, char text[ENROLL_TOKEN_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[6];
	char id[ENROLL_ID_LEN], secret[SECRET_TOKEN_LEN];
	size_t i;

	if (secret_bytes(raw, sizeof raw) || secret_random(secret, 32))
		return TS_SERVER_ERROR;
	memcpy(id, "en-", 3);
	for (i = 0; i < sizeof raw; i++) {
		id[3 + 2 * i] = hex[raw[i] >> 4];
		id[4 + 2 * i] = hex[raw[i] & 15];
	}
	id[ENROLL_ID_LEN - 1] = '\0';
	e->id = strdup(id);
	if (!e->id) {
		secret_wipe(secret, sizeof secret);
		return TS_SERVER_ERROR;
	}
	secret_sha256(secret, strlen(secret), e->hash);
	snprintf(text, ENROLL_TOKEN_LEN, "%s.%s", id, secret);
	secret_wipe(secret, sizeof secret);
	return TS_OK;
}

int enroll_token_parse(const char *text, char id[ENROLL_ID_LEN], const char **secret)
{
	size_t i;

	if (!text || strlen(text) != ENROLL_ID_LEN + ENROLL_SECRET_LEN ||
	    strncmp(text, "en-", 3) != 0 || text[ENROLL_ID_LEN - 1] != '.')
		return -1;
	for (i = 3; i < ENROLL_ID_LEN - 1; i++)
		if (!strchr("0123456789abcdef", text[i]) || !text[i])
			return -1;
	for (i = ENROLL_ID_LEN; text[i]; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", text[i]))
			return -1;
	memcpy(id, text, ENROLL_ID_LEN - 1);
	id[ENROLL_ID_LEN - 1] = '\0';
	*secret = text + ENROLL_ID_LEN;
	return 0;
}

int enroll_secret_matches(const unsigned char hash[32], const char *secret)
{
	unsigned char h[32];
	int ok;

	if (!hash || !secret)
		return 0;
	secret_sha256(secret, strlen(secret), h);
	ok = secret_equal(h, hash, 32);
	secret_wipe(h, sizeof h);
	return ok;
}

const char *enroll_unusable(const struct enrollment *e, int64_t now)
{
	if (e->revoked_at)
		return "the enrollment token was revoked";
	if (e->expires_at <= now)
		return "the enrollment token has expired";
	if (e->uses >= e->max_uses)
		return "the enrollment token is used up";
	return NULL;
}

static const char *const known_grants[] = {
	"client_credentials", "authorization_code", "refresh_token", "device_code"};

const char *enroll_template_problem(const struct enroll_template *t, char **bad)
{
	const char *p;
	size_t i, n;

	if (bad)
		*bad = NULL;
	if (!t->auth_method || (strcmp(t->auth_method, "private_key_jwt") &&
	                        strcmp(t->auth_method, "self_signed_tls_client_auth")))
		return "the auth method of a template is private_key_jwt or "
		       "self_signed_tls_client_auth (never a shared secret)";
	if (!t->grant_types || !*t->grant_types)
		return "a template needs one grant type or more";
	for (p = t->grant_types; *p; p += n, p += strspn(p, " ")) {
		n = strcspn(p, " ");
		for (i = 0; i < 4; i++)
			if (strlen(known_grants[i]) == n && strncmp(p, known_grants[i], n) == 0)
				break;
		if (i == 4)
			return "unknown grant type (client_credentials, authorization_code, "
			       "refresh_token or device_code)";
	}
	if (!t->scope || !*t->scope)
		return "a template needs an allowed scope";
	if (!scope_within_limits(t->scope))
		return "the scope of a template is " SCOPE_LIMITS_TEXT;
	if (!scope_allowed_valid(t->scope, bad))
		return "invalid scope token";
	return NULL;
}

ts_err enroll_client_id_new(char out[ENROLL_CLIENT_ID_LEN])
{
	/* 32 characters that read unambiguously (no 0 o 1 l), so 5 bits each: 80 bits */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char raw[16];
	size_t i;

	if (secret_bytes(raw, sizeof raw))
		return TS_SERVER_ERROR;
	memcpy(out, "dev-", 4);
	for (i = 0; i < sizeof raw; i++)
		out[4 + i] = alphabet[raw[i] & 31];
	out[ENROLL_CLIENT_ID_LEN - 1] = '\0';
	return TS_OK;
}

ts_err enroll_rat_new(char text[44], unsigned char hash[32])
{
	if (secret_random(text, 32))
		return TS_SERVER_ERROR;
	secret_sha256(text, strlen(text), hash);
	return TS_OK;
}

int enroll_duration(const char *s, int64_t *secs)
{
	char *end;
	long long v, unit = 1;

	if (!s || !*s || !strchr("0123456789", s[0]))
		return -1;
	v = strtoll(s, &end, 10);
	if (*end && end[1])
		return -1;
	switch (*end) {
	case '\0': case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (v <= 0 || v > 3650LL * 86400 / unit)
		return -1;
	*secs = (int64_t)(v * unit);
	return 0;
}

int enroll_template_add_grant(struct enroll_template *t, const char *g)
{
	size_t n = t->grant_types ? strlen(t->grant_types) : 0;
	char *s;

	if (strcmp(g, "urn:ietf:params:oauth:grant-type:device_code") == 0)
		g = "device_code";
	if (client_list_has(t->grant_types, g))
		return 0;
	if (!(s = realloc(t->grant_types, n + strlen(g) + 2)))
		return -1;
	if (n)
		s[n++] = ' ';
	strcpy(s + n, g);
	t->grant_types = s;
	return 0;
}
