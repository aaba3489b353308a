/* client_jwks.c - private_key_jwt clients' public keys: registration checks, parsing, and a
 * cache of parsed sets (registered ones, and those fetched from a jwks_uri). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "client_jwks.h"

/* Members only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4, RFC 8037 §2). */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* The algorithms a JWK's kty may be used with (an RSA key: both RSA signature algorithms). */
static const struct {
	const char *kty;
	const char *algs[2];
} kty_algs[] = {
	{"EC", {"ES256", NULL}},
	{"RSA", {"RS256", "PS256"}},
	{"OKP", {"EdDSA", NULL}},
};

static void keys_free(struct client_keys *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++)
		jwt_key_free(ks->keys[i].key);
	free(ks->keys);
	free(ks);
}

void client_keys_release(struct client_keys *ks)
{
	if (ks && __atomic_sub_fetch(&ks->refs, 1, __ATOMIC_ACQ_REL) == 0)
		keys_free(ks);
}

static struct client_keys *keys_ref(struct client_keys *ks)
{
	if (ks)
		__atomic_add_fetch(&ks->refs, 1, __ATOMIC_ACQ_REL);
	return ks;
}

/* Adds the keys one JWK gives to ks (room for two more is there): 0; 1 for a JWK of a
 * certificate alone (x5c, no key members), which gives none; -1 with *why when it gives none or
 * is refused outright. */
static int jwk_add(struct client_keys *ks, const json_t *jwk, const char **why)
{
	const char *kty, *kid, *alg;
	size_t i, j, before = ks->n;
	jwt_key *k;

	if (!json_is_object(jwk)) {
		*why = "a JWK is not a JSON object";
		return -1;
	}
	for (i = 0; i < sizeof private_members / sizeof private_members[0]; i++)
		if (json_object_get(jwk, private_members[i])) {
			*why = "a JWK holds a private or symmetric key part (d, p, q, dp, dq, qi, oth or "
			       "k): register public keys only";
			return -1;
		}
	kty = json_string_value(json_object_get(jwk, "kty"));
	if (kty && strcmp(kty, "oct") == 0) {
		*why = "a JWK is a symmetric (\"oct\") key: register public keys only";
		return -1;
	}
	kid = json_string_value(json_object_get(jwk, "kid"));
	alg = jwt_alg_canonical(json_string_value(json_object_get(jwk, "alg")));
	for (i = 0; kty && i < sizeof kty_algs / sizeof kty_algs[0]; i++) {
		if (strcmp(kty, kty_algs[i].kty) != 0)
			continue;
		for (j = 0; j < 2 && kty_algs[i].algs[j]; j++) {
			if (alg && strcmp(alg, kty_algs[i].algs[j]) != 0)
				continue;
			if (jwt_key_from_jwk_alg(jwk, kty_algs[i].algs[j], &k) != TS_OK)
				continue;
			ks->keys[ks->n].key = k;
			ks->keys[ks->n].kid = kid ? jwt_key_kid(k) : NULL;
			ks->n++;
		}
	}
	if (ks->n > before)
		return 0;
	/* a certificate alone (x5c), as self_signed_tls_client_auth may register (RFC 8705 §2.2):
	 * no key to verify an assertion with, but nothing wrong with it either */
	if (kty && json_is_array(json_object_get(jwk, "x5c")) &&
	    !json_object_get(jwk, "x") && !json_object_get(jwk, "n"))
		return 1;
	for (i = 0; kty && i < sizeof kty_algs / sizeof kty_algs[0]; i++)
		if (strcmp(kty, kty_algs[i].kty) == 0) {
			*why = "a JWK is not a usable signature key (EC P-256 for ES256, RSA of 2048 to "
			       "8192 bits for RS256 or PS256, OKP Ed25519 for EdDSA; alg and use, if "
			       "given, must fit)";
			return -1;
		}
	*why = "a JWK has a missing or unknown kty (EC, RSA or OKP)";
	return -1;
}

ts_err client_keys_parse(const char *text, size_t len, int strict, struct client_keys **out,
                         const char **why)
{
	json_error_t jerr;
	json_t *doc, *arr;
	struct client_keys *ks = NULL;
	size_t i, j, m, certs = 0;
	const char *skip;
	ts_err rc = TS_INVALID_REQUEST;

	*out = NULL;
	if (!text || len > CLIENT_JWKS_MAX_TEXT) {
		*why = "a JWK Set is at most 64 KiB";
		return TS_INVALID_REQUEST;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	arr = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(arr)) {
		*why = "a JWK Set is a JSON object with a \"keys\" array (RFC 7517 §5)";
		goto out;
	}
	m = json_array_size(arr);
	if (m == 0 || m > CLIENT_JWKS_MAX_KEYS) {
		*why = "a JWK Set holds 1 to 16 keys";
		goto out;
	}
	rc = TS_SERVER_ERROR;
	ks = calloc(1, sizeof *ks);
	if (!ks || !(ks->keys = calloc(2 * m, sizeof *ks->keys)))
		goto out;
	ks->refs = 1;
	rc = TS_INVALID_REQUEST;
	for (i = 0; i < m; i++) {
		int r = jwk_add(ks, json_array_get(arr, i), strict ? why : &skip);

		if (r < 0 && strict)
			goto out;
		certs += r == 1;
	}
	if (ks->n == 0 && !(strict && certs)) {
		*why = "a JWK Set holds no usable public signature key";
		goto out;
	}
	for (i = 0; strict && i < ks->n; i++)
		for (j = i + 1; j < ks->n; j++)
			if (ks->keys[i].kid && ks->keys[j].kid &&
			    strcmp(ks->keys[i].kid, ks->keys[j].kid) == 0 &&
			    strcmp(jwt_key_alg(ks->keys[i].key), jwt_key_alg(ks->keys[j].key)) == 0) {
				*why = "two JWKs of a set have the same kid";
				goto out;
			}
	*out = ks;
	ks = NULL;
	rc = TS_OK;
out:
	keys_free(ks);
	json_decref(doc);
	return rc;
}

const char *client_jwks_problem(const char *text)
{
	struct client_keys *ks;
	const char *why = NULL;

	if (!text)
		return "no JWK Set";
	if (client_keys_parse(text, strlen(text), 1, &ks, &why) == TS_SERVER_ERROR)
		return "out of memory";
	client_keys_release(ks);
	return why;
}

const char *client_jwks_uri_problem(const char *uri)
{
	size_t n = uri ? strlen(uri) : 0, i;
	const char *host;

	if (n == 0 || n >= CLIENT_JWKS_URI_MAX)
		return "a jwks_uri is 1 to 2047 characters";
	for (i = 0; i < n; i++)
		if (uri[i] <= 0x20 || uri[i] >= 0x7f || strchr("\"<>\\^`{|}", uri[i]))
			return "a jwks_uri holds only printable ASCII URI characters";
	if (strncasecmp(uri, "https://", 8) != 0)
		return "a jwks_uri must be an https URL";
	host = uri + 8;
	if (!*host || strchr("/?#:", *host))
		return "a jwks_uri needs a host (https://host/...)";
	if (strchr(uri, '#'))
		return "a jwks_uri may not have a fragment";
	if (memchr(host, '@', strcspn(host, "/?")))
		return "a jwks_uri may not hold user information (user@host)";
	return NULL;
}

/* --- the cache: direct-mapped slots by a hash of the client id --- */

#define SLOTS 1024

static struct slot {
	pthread_mutex_t mu;       /* the entry */
	pthread_mutex_t fetch_mu; /* one fetch at a time for the clients of this slot */
	char *client_id;
	char *source;             /* the jwks text, or the jwks_uri, the keys came from */
	int is_uri;
	struct client_keys *keys; /* NULL: none yet, or the last fetch failed */
	int64_t fetched_at;       /* when keys came (a uri) */
	int64_t tried_at;         /* when the last fetch began (a uri) */
	int64_t refetched_at;     /* when the last fetch for an unknown kid began */
} slots[SLOTS];
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

ts_err (*client_jwks_fetcher)(const char *uri, char **body, size_t *len, const char **why);

static void slots_init(void)
{
	size_t i;

	for (i = 0; i < SLOTS; i++) {
		pthread_mutex_init(&slots[i].mu, NULL);
		pthread_mutex_init(&slots[i].fetch_mu, NULL);
	}
}

static void slot_clear(struct slot *sl)
{
	free(sl->client_id);
	free(sl->source);
	client_keys_release(sl->keys);
	sl->client_id = sl->source = NULL;
	sl->keys = NULL;
	sl->fetched_at = sl->tried_at = sl->refetched_at = 0;
}

void client_keys_invalidate(void)
{
	size_t i;

	pthread_once(&slots_once, slots_init);
	for (i = 0; i < SLOTS; i++) {
		pthread_mutex_lock(&slots[i].mu);
		slot_clear(&slots[i]);
		pthread_mutex_unlock(&slots[i].mu);
	}
}

static struct slot *slot_of(const char *client_id)
{
	uint64_t h = 1469598103934665603u;
	const char *p;

	for (p = client_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	pthread_once(&slots_once, slots_init);
	return &slots[h % SLOTS];
}

/* 1 when sl holds client_id's entry for source (under sl->mu). */
static int slot_is(const struct slot *sl, const char *client_id, const char *source, int is_uri)
{
	return sl->client_id && strcmp(sl->client_id, client_id) == 0 && sl->is_uri == is_uri &&
	       strcmp(sl->source, source) == 0;
}

/* Makes sl client_id's entry for source (under sl->mu); -1 out of memory. */
static int slot_take(struct slot *sl, const char *client_id, const char *source, int is_uri)
{
	if (slot_is(sl, client_id, source, is_uri))
		return 0;
	slot_clear(sl);
	sl->client_id = strdup(client_id);
	sl->source = strdup(source);
	sl->is_uri = is_uri;
	if (sl->client_id && sl->source)
		return 0;
	slot_clear(sl);
	return -1;
}

/* What a uri entry may answer without a fetch (under sl->mu): 1 with *out (a reference) or
 * *why set, 0 when a fetch is due. */
static int uri_cached(struct slot *sl, int refetch, int64_t now, struct client_keys **out,
                      const char **why)
{
	int fetch;

	if (!sl->keys) /* none yet, or the last fetch failed: not again within the interval */
		fetch = sl->tried_at == 0 || now - sl->tried_at >= CLIENT_JWKS_REFETCH;
	else if (refetch) /* a kid the set lacks: at most one such fetch in the interval */
		fetch = sl->refetched_at == 0 || now - sl->refetched_at >= CLIENT_JWKS_REFETCH;
	else
		fetch = now - sl->fetched_at >= CLIENT_JWKS_TTL &&
		        now - sl->tried_at >= CLIENT_JWKS_REFETCH;
	if (!fetch) {
		*out = keys_ref(sl->keys);
		if (!*out)
			*why = "the client's jwks_uri could not be fetched lately";
		return 1;
	}
	return 0;
}

static ts_err get_uri(struct slot *sl, const char *client_id, const char *uri, int refetch,
                      int64_t now, struct client_keys **out, const char **why)
{
	ts_err (*fetch)(const char *, char **, size_t *, const char **) =
		client_jwks_fetcher ? client_jwks_fetcher : client_jwks_fetch;
	struct client_keys *ks = NULL;
	char *body = NULL;
	size_t len = 0;
	ts_err rc;

	pthread_mutex_lock(&sl->fetch_mu);
	pthread_mutex_lock(&sl->mu);
	if (slot_take(sl, client_id, uri, 1) != 0) {
		pthread_mutex_unlock(&sl->mu);
		pthread_mutex_unlock(&sl->fetch_mu);
		return TS_SERVER_ERROR;
	}
	/* another request may have fetched while this one waited for fetch_mu */
	if (uri_cached(sl, refetch, now, out, why)) {
		pthread_mutex_unlock(&sl->mu);
		pthread_mutex_unlock(&sl->fetch_mu);
		return *out ? TS_OK : TS_INVALID_CLIENT;
	}
	sl->tried_at = now;
	if (refetch && sl->keys)
		sl->refetched_at = now;
	pthread_mutex_unlock(&sl->mu);

	rc = fetch(uri, &body, &len, why);
	if (rc == TS_OK)
		rc = client_keys_parse(body, len, 0, &ks, why);
	free(body);
	if (rc != TS_OK && rc != TS_SERVER_ERROR)
		rc = TS_INVALID_CLIENT;

	pthread_mutex_lock(&sl->mu);
	if (rc == TS_OK && slot_is(sl, client_id, uri, 1)) {
		client_keys_release(sl->keys);
		sl->keys = keys_ref(ks);
		sl->fetched_at = now;
	}
	pthread_mutex_unlock(&sl->mu);
	pthread_mutex_unlock(&sl->fetch_mu);
	*out = ks;
	return rc;
}

ts_err client_keys_get(const char *client_id, const char *jwks, const char *jwks_uri, int refetch,
                       int64_t now, struct client_keys **out, const char **why)
{
	struct slot *sl;
	struct client_keys *ks = NULL;
	int cached;
	ts_err rc;

	*out = NULL;
	if (!client_id || (!jwks && !jwks_uri)) {
		*why = "the client has no registered keys";
		return TS_INVALID_CLIENT;
	}
	sl = slot_of(client_id);
	pthread_mutex_lock(&sl->mu);
	if (jwks) {
		if (slot_is(sl, client_id, jwks, 0))
			*out = keys_ref(sl->keys);
		pthread_mutex_unlock(&sl->mu);
		if (*out)
			return TS_OK;
	} else {
		cached = slot_is(sl, client_id, jwks_uri, 1) && uri_cached(sl, refetch, now, out, why);
		pthread_mutex_unlock(&sl->mu);
		if (cached)
			return *out ? TS_OK : TS_INVALID_CLIENT;
		return get_uri(sl, client_id, jwks_uri, refetch, now, out, why);
	}
	rc = client_keys_parse(jwks, strlen(jwks), 1, &ks, why);
	if (rc != TS_OK)
		return rc == TS_SERVER_ERROR ? rc : TS_INVALID_CLIENT;
	pthread_mutex_lock(&sl->mu);
	if (slot_take(sl, client_id, jwks, 0) == 0) {
		client_keys_release(sl->keys);
		sl->keys = keys_ref(ks);
	}
	pthread_mutex_unlock(&sl->mu);
	*out = ks;
	return TS_OK;
}
