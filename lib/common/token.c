/* token.c - RFC 9068 access tokens and their validation, with a verification cache. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "scope.h"
#include "b64.h"
#include "jbuf.h"
#include "secret.h"
#include "token.h"

/* The random part of a jti: 12 bytes in base64url (96 bits: no two tokens share one). */
#define TOKEN_JTI_RANDOM 16

/* The claims of t (its jti as it is) with EMQX's acl claim per mc: malloc'd, its length in
 * *len; NULL when out of memory. */
static char *access_payload(const struct access_token *t, enum mqtt_claim mc, size_t *len)
{
	struct jbuf b = {0};
	json_t *acl = NULL;
	char *acl_text = NULL;

	if (mc != MQTT_CLAIM_NONE) {
		acl = token_emqx_acl(t->scope, mc);
		acl_text = acl ? json_dumps(acl, JSON_COMPACT) : NULL;
		json_decref(acl);
		if (!acl_text)
			return NULL;
	}
	jbuf_raw(&b, "{", 1);
	jbuf_kv_str(&b, "iss", t->iss, 1);
	jbuf_kv_str(&b, "sub", t->sub, 0);
	jbuf_kv_str(&b, "aud", t->aud, 0);
	jbuf_kv_str(&b, "client_id", t->client_id, 0);
	if (t->username)
		jbuf_kv_str(&b, "username", t->username, 0);
	if (t->gid)
		jbuf_kv_int(&b, "gid", t->gid, 0);
	jbuf_kv_str(&b, "scope", t->scope, 0);
	jbuf_kv_int(&b, "iat", t->iat, 0);
	jbuf_kv_int(&b, "exp", t->exp, 0);
	jbuf_kv_str(&b, "jti", t->jti, 0);
	if (t->x5t || t->cnf_jkt) {
		jbuf_key(&b, "cnf", 0);
		jbuf_raw(&b, "{", 1);
		if (t->x5t)
			jbuf_kv_str(&b, "x5t#S256", t->x5t, 1);
		if (t->cnf_jkt)
			jbuf_kv_str(&b, "jkt", t->cnf_jkt, !t->x5t);
		jbuf_raw(&b, "}", 1);
	}
	if (acl_text) {
		jbuf_key(&b, "acl", 0);
		jbuf_raw(&b, acl_text, strlen(acl_text));
		free(acl_text);
	}
	jbuf_raw(&b, "}", 1);
	return jbuf_take(&b, len);
}

ts_err token_access_fits(const jwt_key *key, const struct access_token *t, enum mqtt_claim mc)
{
	struct access_token copy = *t;
	char *payload;
	size_t len;

	/* a jti as long as token_access_sign's, and the longest grant id */
	snprintf(copy.jti, sizeof copy.jti, "AAAAAAAAAAAAAAAA.%lld", (long long)copy.crec);
	if (!copy.crec)
		copy.jti[TOKEN_JTI_RANDOM] = '\0';
	if (!copy.gid)
		copy.gid = INT64_MAX;
	payload = access_payload(&copy, mc, &len);
	if (!payload)
		return TS_SERVER_ERROR;
	free(payload);
	return jwt_signed_len(key, "at+jwt", len) <= TOKEN_ACCESS_MAX ? TS_OK : TS_INVALID_SCOPE;
}

/* Fills t->jti: its random part, then "." and crec when t has one. */
static ts_err jti_fill(struct access_token *t)
{
	ts_err rc = secret_random(t->jti, TOKEN_JTI_RANDOM * 3 / 4);

	if (rc == TS_OK && t->crec)
		snprintf(t->jti + TOKEN_JTI_RANDOM, sizeof t->jti - TOKEN_JTI_RANDOM, ".%lld",
		         (long long)t->crec);
	return rc;
}

ts_err token_access_payload(struct access_token *t, char **json)
{
	size_t len;
	ts_err rc = jti_fill(t);

	*json = NULL;
	if (rc != TS_OK)
		return rc;
	*json = access_payload(t, MQTT_CLAIM_NONE, &len);
	return *json ? TS_OK : TS_SERVER_ERROR;
}

int token_is_reference(const char *token)
{
	size_t n = sizeof TOKEN_REF_PREFIX - 1;

	return token && strlen(token) == TOKEN_REF_LEN &&
	       strncmp(token, TOKEN_REF_PREFIX, n) == 0 &&
	       strspn(token + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	       TOKEN_REF_LEN - n;
}

ts_err token_access_sign(const jwt_key *key, struct access_token *t, enum mqtt_claim mc,
                         char **jwt)
{
	char *payload;
	size_t len;
	ts_err rc;

	*jwt = NULL;
	rc = jti_fill(t);
	if (rc != TS_OK)
		return rc;
	payload = access_payload(t, mc, &len);
	if (!payload)
		return TS_SERVER_ERROR;
	if (jwt_signed_len(key, "at+jwt", len) > TOKEN_ACCESS_MAX) {
		free(payload);
		return TS_INVALID_SCOPE;
	}
	rc = jwt_sign_payload(key, "at+jwt", payload, len, jwt);
	free(payload);
	return rc;
}

int64_t token_crec(const json_t *claims)
{
	const char *jti = json_string_value(json_object_get(claims, "jti")), *dot;
	json_t *crec = json_object_get(claims, "crec");
	char *end;
	long long v;

	if (crec)
		return json_is_integer(crec) && json_integer_value(crec) >= 0 ?
		       (int64_t)json_integer_value(crec) : -1;
	dot = jti ? strchr(jti, '.') : NULL;
	if (!dot)
		return 0;
	if (dot[1] < '1' || dot[1] > '9')
		return -1;
	errno = 0;
	v = strtoll(dot + 1, &end, 10);
	return *end || errno ? -1 : (int64_t)v;
}

void token_at_hash(const char *access_token, char out[23])
{
	unsigned char h[32];

	secret_sha256(access_token, strlen(access_token), h);
	b64url_encode(h, 16, out);
}

ts_err token_id_sign(const jwt_key *key, const struct id_token *t, char **jwt)
{
	struct jbuf b = {0};
	char at_hash[23], *payload;
	size_t len;
	ts_err rc;

	jbuf_raw(&b, "{", 1);
	jbuf_kv_str(&b, "iss", t->iss, 1);
	jbuf_kv_str(&b, "sub", t->sub, 0);
	jbuf_kv_str(&b, "aud", t->client_id, 0);
	jbuf_kv_str(&b, "azp", t->client_id, 0);
	jbuf_kv_int(&b, "iat", t->iat, 0);
	jbuf_kv_int(&b, "exp", t->exp, 0);
	jbuf_kv_int(&b, "auth_time", t->auth_time, 0);
	if (t->nonce)
		jbuf_kv_str(&b, "nonce", t->nonce, 0);
	if (t->access_token) {
		token_at_hash(t->access_token, at_hash);
		jbuf_kv_str(&b, "at_hash", at_hash, 0);
	}
	jbuf_raw(&b, "}", 1);
	payload = jbuf_take(&b, &len);
	if (!payload)
		return TS_SERVER_ERROR;
	rc = jwt_sign_payload(key, "JWT", payload, len, jwt);
	free(payload);
	return rc;
}

json_t *token_emqx_acl(const char *scope, enum mqtt_claim mc)
{
	static const char *const actions[] = {NULL, "publish", "subscribe", "all"};
	static const char *const legacy[] = {NULL, "pub", "sub", "all"};
	json_t *acl = mc == MQTT_CLAIM_EMQX ? json_array() :
	              json_pack("{s:[], s:[], s:[]}", "pub", "sub", "all");
	const char *p = scope, *filter;
	char *tok = NULL;

	if (!acl || mc == MQTT_CLAIM_NONE)
		goto fail;
	while (p && *p) {
		size_t len = strcspn(p, " ");
		enum scope_action a;

		if (len > 0) {
			free(tok);
			tok = strndup(p, len);
			if (!tok)
				goto fail;
			a = scope_token_parse(tok, &filter);
			if (a != SCOPE_NONE) {
				int bad = mc == MQTT_CLAIM_EMQX ?
				          json_array_append_new(acl, json_pack("{s:s, s:s, s:s}",
				                  "permission", "allow", "action", actions[a], "topic", filter)) :
				          json_array_append_new(json_object_get(acl, legacy[a]),
				                  json_string(filter));
				if (bad)
					goto fail;
			}
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	/* EMQX 5 goes on to its other authorizers when no rule matches: close that door */
	if (mc == MQTT_CLAIM_EMQX &&
	    json_array_append_new(acl, json_pack("{s:s, s:s, s:s}", "permission", "deny",
	                                         "action", "all", "topic", "#")))
		goto fail;
	free(tok);
	return acl;
fail:
	free(tok);
	json_decref(acl);
	return NULL;
}

/* The cache: direct-mapped slots by SHA-256 of the token, each with its own lock. A slot holds
 * the payload of a token whose signature was verified; claims are re-checked on every use. */
#define CACHE_SLOTS 8192

static struct slot {
	pthread_mutex_t mu;
	unsigned char hash[32];
	json_t *claims;
} cache[CACHE_SLOTS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_init(void)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		pthread_mutex_init(&cache[i].mu, NULL);
}

static struct slot *slot_of(const unsigned char hash[32])
{
	size_t i = ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % CACHE_SLOTS;

	pthread_once(&cache_once, cache_init);
	return &cache[i];
}

void token_cache_clear(void)
{
	size_t i;

	pthread_once(&cache_once, cache_init);
	for (i = 0; i < CACHE_SLOTS; i++) {
		pthread_mutex_lock(&cache[i].mu);
		json_decref(cache[i].claims);
		cache[i].claims = NULL;
		pthread_mutex_unlock(&cache[i].mu);
	}
}

static int int_claim(const json_t *c, const char *name, int64_t *v, int required)
{
	json_t *j = json_object_get(c, name);

	if (!j)
		return !required;
	if (!json_is_integer(j))
		return 0;
	*v = json_integer_value(j);
	return 1;
}

static int str_claim(const json_t *c, const char *name)
{
	return json_is_string(json_object_get(c, name));
}

static ts_err check_claims(const json_t *c, const char *issuer, int64_t now)
{
	int64_t exp = 0, iat = 0, nbf = 0;
	const char *iss = json_string_value(json_object_get(c, "iss"));

	if (!iss || strcmp(iss, issuer) != 0)
		return TS_INVALID_TOKEN;
	if (!int_claim(c, "exp", &exp, 1) || !int_claim(c, "iat", &iat, 1) ||
	    !int_claim(c, "nbf", &nbf, 0))
		return TS_INVALID_TOKEN;
	if (exp <= now || iat > now + TOKEN_LEEWAY || nbf > now + TOKEN_LEEWAY)
		return TS_INVALID_TOKEN;
	if (!str_claim(c, "sub") || !str_claim(c, "client_id") || !str_claim(c, "jti") ||
	    !str_claim(c, "scope"))
		return TS_INVALID_TOKEN;
	return TS_OK;
}

ts_err token_access_verify(const jwt_key *const *keys, size_t n, const char *issuer,
                           const char *jwt, int64_t now, json_t **claims)
{
	unsigned char hash[32];
	struct slot *s;
	json_t *c = NULL;
	ts_err rc;

	*claims = NULL;
	secret_sha256(jwt, strlen(jwt), hash);
	s = slot_of(hash);
	pthread_mutex_lock(&s->mu);
	if (s->claims && memcmp(s->hash, hash, sizeof hash) == 0)
		c = json_incref(s->claims);
	pthread_mutex_unlock(&s->mu);
	if (!c) {
		rc = jwt_verify(keys, n, jwt, "at+jwt", &c);
		if (rc != TS_OK)
			return TS_INVALID_TOKEN;
		pthread_mutex_lock(&s->mu);
		json_decref(s->claims);
		memcpy(s->hash, hash, sizeof hash);
		s->claims = json_incref(c);
		pthread_mutex_unlock(&s->mu);
	}
	rc = check_claims(c, issuer, now);
	if (rc != TS_OK) {
		json_decref(c);
		return rc;
	}
	*claims = c;
	return TS_OK;
}
