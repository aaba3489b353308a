/* jwks.c - the keys that verify access tokens: a JWKS file read once, or a JWKS URL fetched at
 * start and again (at most once a minute) when a token names a kid that is not among the keys.
 *
 * Signatures and the standard claims are checked by lib/token.c's token_access_verify, whose
 * process-wide cache remembers verified tokens by their hash. That cache does not know which
 * keys verified a token, so jwks_verify only hands it tokens whose kid is one of the current
 * keys, and empties it whenever the keys change (open, refetch with new keys, close). The plugin
 * holds one jwks per trusted issuer, and hands each token only to the jwks of the issuer its iss
 * names (issuers.c), whose iss check the cache's claims pass again on every use: a token
 * verified (and cached) under one issuer's keys never passes for another's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "fetch.h"
#include "jwt.h"
#include "token.h"

#define JWKS_REFETCH_SECONDS 60
#define JWKS_MAX_KID 256           /* jwt_key_from_jwk refuses longer kids */

struct jwks {
	char *issuer, *audience;       /* copies of the options */
	char *url;                     /* NULL in file mode */
	CURL *curl;                    /* URL mode: the handle for refetches (broker thread only) */
	jwt_key **keys;
	size_t n;
	int refetched;                 /* 1 once a refetch was tried; then last_refetch is its time */
	struct timespec last_refetch;  /* CLOCK_MONOTONIC */
};

static void jwks_keys_free(jwt_key **keys, size_t n)
{
	size_t i;

	if (!keys)
		return;
	for (i = 0; i < n; i++)
		jwt_key_free(keys[i]);
	free(keys);
}

/* Parses a JWKS document (len bytes) into its usable keys: those jwt_key_from_jwk accepts (EC
 * P-256 / RSA signing keys with a kid); the others are skipped. At least one must be usable. */
static ts_err jwks_parse(const char *doc, size_t len, jwt_key ***out, size_t *nout,
                         const char **why)
{
	json_error_t jerr;
	json_t *root, *arr, *jwk;
	jwt_key **keys = NULL, *k;
	size_t i, n = 0;
	ts_err rc = TS_INVALID_REQUEST;

	*out = NULL;
	*nout = 0;
	root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		*why = "the JWKS is not a JSON object";
		goto out;
	}
	arr = json_object_get(root, "keys");
	if (!json_is_array(arr)) {
		*why = "the JWKS has no \"keys\" array";
		goto out;
	}
	keys = calloc(json_array_size(arr) + 1, sizeof *keys);
	if (!keys) {
		*why = "out of memory";
		rc = TS_SERVER_ERROR;
		goto out;
	}
	json_array_foreach(arr, i, jwk) {
		rc = jwt_key_from_jwk(jwk, &k);
		if (rc == TS_SERVER_ERROR) {
			*why = "out of memory";
			goto out;
		}
		if (rc == TS_OK)
			keys[n++] = k;
	}
	if (n == 0) {
		*why = "the JWKS has no usable key (an EC P-256 or RSA signing key with a kid)";
		rc = TS_INVALID_REQUEST;
		goto out;
	}
	*out = keys;
	*nout = n;
	keys = NULL;
	rc = TS_OK;
out:
	jwks_keys_free(keys, n);
	json_decref(root);
	return rc;
}

/* Reads the whole file at path (at most FETCH_MAX_BODY bytes) into *doc (malloc'd). */
static ts_err jwks_read_file(const char *path, char **doc, size_t *len, const char **why)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	ts_err rc = TS_INVALID_REQUEST;

	*doc = NULL;
	if (!f) {
		*why = errno == ENOENT ? "plugin_opt_jwks_file does not exist" :
		                         "plugin_opt_jwks_file cannot be opened";
		return TS_INVALID_REQUEST;
	}
	buf = malloc(FETCH_MAX_BODY + 1);
	if (!buf) {
		*why = "out of memory";
		rc = TS_SERVER_ERROR;
		goto out;
	}
	n = fread(buf, 1, FETCH_MAX_BODY + 1, f);
	if (ferror(f)) {
		*why = "plugin_opt_jwks_file cannot be read";
		goto out;
	}
	if (n > FETCH_MAX_BODY) {
		*why = "plugin_opt_jwks_file is larger than 1 MiB";
		goto out;
	}
	buf[n] = '\0';
	*doc = buf;
	*len = n;
	buf = NULL;
	rc = TS_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* GETs the JWKS at j->url and parses it. */
static ts_err jwks_fetch(jwks *j, jwt_key ***keys, size_t *n, const char **why)
{
	static struct curl_slist accept = { (char *)"Accept: application/jwk-set+json, application/json",
	                                    NULL };
	struct fetch_reply r;
	ts_err rc;

	rc = fetch_do(j->curl, NULL, 0, &accept, &r, why);
	if (rc != TS_OK)
		return rc;
	if (r.status != 200) {
		*why = "the JWKS URL did not answer 200";
		rc = TS_UNAVAILABLE;
	} else {
		rc = jwks_parse(r.body, r.len, keys, n, why);
	}
	fetch_reply_free(&r);
	return rc;
}

static char *jwks_strdup(const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

ts_err jwks_open(const struct issuer_cfg *cfg, jwks **out, const char **why)
{
	jwks *j = NULL;
	char *doc = NULL;
	size_t len = 0;
	int oom = 0;
	const char *w = NULL;
	ts_err rc = TS_INVALID_REQUEST;

	*out = NULL;
	if (!cfg->issuer || !*cfg->issuer) {
		*why = "plugin_opt_issuer is required";
		return TS_INVALID_REQUEST;
	}
	if (!cfg->jwks_file == !cfg->jwks_url) {
		*why = cfg->jwks_file ? "set only one of plugin_opt_jwks_file and plugin_opt_jwks_url" :
		                        "plugin_opt_jwks_file or plugin_opt_jwks_url is required";
		return TS_INVALID_REQUEST;
	}
	j = calloc(1, sizeof *j);
	if (!j) {
		*why = "out of memory";
		return TS_SERVER_ERROR;
	}
	j->issuer = jwks_strdup(cfg->issuer, &oom);
	j->audience = jwks_strdup(cfg->audience, &oom);
	j->url = jwks_strdup(cfg->jwks_url, &oom);
	if (oom) {
		*why = "out of memory";
		rc = TS_SERVER_ERROR;
		goto out;
	}
	if (cfg->jwks_file) {
		rc = jwks_read_file(cfg->jwks_file, &doc, &len, why);
		if (rc != TS_OK)
			goto out;
		rc = jwks_parse(doc, len, &j->keys, &j->n, why);
		if (rc != TS_OK)
			goto out;
	} else {
		rc = fetch_new(j->url, cfg->ca_file, NULL, &j->curl, &w);
		if (rc != TS_OK) {
			*why = rc == TS_SERVER_ERROR ? w : "plugin_opt_jwks_url must be an http or https URL";
			goto out;
		}
		rc = jwks_fetch(j, &j->keys, &j->n, why);
		if (rc != TS_OK) {
			if (rc == TS_UNAVAILABLE)
				rc = TS_INVALID_REQUEST; /* a broker that cannot verify must not start */
			goto out;
		}
	}
	token_cache_clear(); /* tokens verified by other keys must be verified again */
	*out = j;
	j = NULL;
	rc = TS_OK;
out:
	free(doc);
	jwks_close(j);
	return rc;
}

void jwks_close(jwks *j)
{
	if (!j)
		return;
	if (j->curl)
		curl_easy_cleanup(j->curl);
	jwks_keys_free(j->keys, j->n);
	free(j->issuer);
	free(j->audience);
	free(j->url);
	free(j);
	token_cache_clear();
}

static int jwks_has_kid(const jwks *j, const char *kid)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (strcmp(jwt_key_kid(j->keys[i]), kid) == 0)
			return 1;
	return 0;
}

/* 1 when the last refetch was at least JWKS_REFETCH_SECONDS ago (or never), and counts this
 * one. */
static int jwks_may_refetch(jwks *j)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (j->refetched && t.tv_sec - j->last_refetch.tv_sec < JWKS_REFETCH_SECONDS)
		return 0;
	j->refetched = 1;
	j->last_refetch = t;
	return 1;
}

/* Fetches the JWKS again; on success the new keys replace the old, else the old stay. */
static void jwks_refetch(jwks *j)
{
	jwt_key **keys;
	size_t n;
	const char *why;

	if (jwks_fetch(j, &keys, &n, &why) != TS_OK)
		return;
	jwks_keys_free(j->keys, j->n);
	j->keys = keys;
	j->n = n;
	token_cache_clear();
}

/* 1 when the aud claim is want, or an array holding want. */
static int jwks_aud_ok(const json_t *claims, const char *want)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud))
		json_array_foreach(aud, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
				return 1;
	return 0;
}

ts_err jwks_verify(jwks *j, const char *token, int64_t now, json_t **claims)
{
	char kid[JWKS_MAX_KID + 1];
	json_t *c = NULL;
	ts_err rc;

	*claims = NULL;
	if (!j || !token)
		return TS_INVALID_TOKEN;
	rc = jwt_header_kid(token, kid, sizeof kid);
	if (rc != TS_OK)
		return rc == TS_SERVER_ERROR ? rc : TS_INVALID_TOKEN;
	if (!jwks_has_kid(j, kid)) {
		if (!j->url || !jwks_may_refetch(j))
			return TS_INVALID_TOKEN;
		jwks_refetch(j);
		if (!jwks_has_kid(j, kid))
			return TS_INVALID_TOKEN;
	}
	rc = token_access_verify((const jwt_key *const *)j->keys, j->n, j->issuer, token, now, &c);
	if (rc != TS_OK)
		return TS_INVALID_TOKEN;
	if (j->audience && !jwks_aud_ok(c, j->audience)) {
		json_decref(c);
		return TS_INVALID_TOKEN;
	}
	*claims = c;
	return TS_OK;
}
