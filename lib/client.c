/* client.c - client authentication. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "form.h"
#include "secret.h"

/* The cache: direct-mapped slots by a hash of the client id, each with its own lock, valid while
 * their generation is the current one. Bounded, so a million clients cost no more memory. */
#define CACHE_SLOTS 4096

static struct slot {
	pthread_mutex_t mu;
	struct client *c;
	uint64_t gen;
} cache[CACHE_SLOTS];
static atomic_uint_fast64_t generation = 1;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_init(void)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		pthread_mutex_init(&cache[i].mu, NULL);
}

void client_cache_invalidate(void)
{
	size_t i;

	atomic_fetch_add(&generation, 1);
	pthread_once(&cache_once, cache_init);
	for (i = 0; i < CACHE_SLOTS; i++) {
		pthread_mutex_lock(&cache[i].mu);
		store_client_free(cache[i].c);
		cache[i].c = NULL;
		pthread_mutex_unlock(&cache[i].mu);
	}
}

ts_err client_get(store *s, const char *client_id, struct client **out)
{
	uint64_t h = 1469598103934665603u, gen = atomic_load(&generation);
	const char *p;
	struct slot *sl;
	struct client *c = NULL;
	ts_err rc;

	for (p = client_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	pthread_once(&cache_once, cache_init);
	sl = &cache[h % CACHE_SLOTS];
	pthread_mutex_lock(&sl->mu);
	if (sl->c && sl->gen == gen && strcmp(sl->c->client_id, client_id) == 0)
		c = store_client_dup(sl->c);
	pthread_mutex_unlock(&sl->mu);
	if (c) {
		*out = c;
		return TS_OK;
	}
	rc = store_client_get(s, client_id, out);
	if (rc != TS_OK)
		return rc;
	c = store_client_dup(*out);
	pthread_mutex_lock(&sl->mu);
	if (c && atomic_load(&generation) == gen) {
		store_client_free(sl->c);
		sl->c = c;
		sl->gen = gen;
		c = NULL;
	}
	pthread_mutex_unlock(&sl->mu);
	store_client_free(c);
	return TS_OK;
}

int client_list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, " ");

		if (len == wl && memcmp(p, word, wl) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

ts_err client_new_secret(struct client *c, char *text)
{
	ts_err rc = secret_random(text, 32);

	if (rc == TS_OK)
		secret_sha256(text, strlen(text), c->secret_hash);
	return rc;
}

ts_err client_authenticate(store *s, const char *authorization, const struct form *f,
                           struct client **out, char **id_out)
{
	static const unsigned char zero[32];
	const char *body_id = form_get(f, "client_id");
	const char *body_secret = form_get(f, "client_secret");
	char *basic_id = NULL, *basic_secret = NULL;
	const char *id, *secret;
	struct client *c = NULL;
	unsigned char hash[32];
	int ok;
	ts_err rc;

	*out = NULL;
	if (id_out)
		*id_out = NULL;
	rc = form_basic_auth(authorization, &basic_id, &basic_secret);
	if (rc == TS_OK) {
		if (body_secret || (body_id && strcmp(body_id, basic_id) != 0)) {
			rc = TS_INVALID_REQUEST;
			goto out;
		}
		id = basic_id;
		secret = basic_secret;
	} else if (rc == TS_NOT_FOUND && !authorization) {
		id = body_id;
		secret = body_secret;
	} else {
		rc = TS_INVALID_CLIENT; /* malformed Basic, or another scheme */
		goto out;
	}
	rc = TS_INVALID_CLIENT;
	if (!id || !*id)
		goto out;
	if (id_out)
		*id_out = strdup(id);
	rc = client_get(s, id, &c);
	if (rc == TS_NOT_FOUND)
		rc = TS_INVALID_CLIENT;
	if (rc != TS_INVALID_CLIENT && rc != TS_OK)
		goto out;
	/* hash and compare even for an unknown client, so timing says nothing about existence */
	secret_sha256(secret ? secret : "", secret ? strlen(secret) : 0, hash);
	ok = secret_equal(hash, c && !c->is_public ? c->secret_hash : zero, sizeof hash);
	rc = TS_INVALID_CLIENT;
	if (!c || !c->active)
		goto out;
	/* a client of another method has no secret to present (its own modules prove it) */
	if (!c->is_public && strcmp(c->auth_method, "client_secret_basic") != 0)
		goto out;
	if (c->is_public ? secret != NULL : !(secret && ok))
		goto out;
	*out = c;
	c = NULL;
	rc = TS_OK;
out:
	secret_wipe(hash, sizeof hash);
	store_client_free(c);
	free(basic_id);
	secret_free(basic_secret);
	return rc;
}

/* Schemes a browser runs or reads locally instead of sending a request: never a redirect URI. */
static const char *const refused_schemes[] = {"javascript", "vbscript", "data", "file", "blob",
                                              "about"};

/* 1 for the characters RFC 3986 allows in a URI (unreserved, reserved and '%'), else 0: no
 * controls, DEL, space, non-ASCII byte, '"', '<', '>', '\\', '^', '`', '{', '|' or '}'. */
static int uri_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("\"<>\\^`{|}", ch);
}

static int hex_digit(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

const char *client_redirect_uri_problem(const char *u)
{
	size_t n = strlen(u), slen, i;
	const char *p;

	if (n == 0)
		return "a redirect URI is empty";
	if (n >= CLIENT_REDIRECT_URI_MAX)
		return "a redirect URI is too long (at most 2047 bytes)";
	for (p = u; *p; p++) {
		if (!uri_char((unsigned char)*p))
			return "a redirect URI may hold only printable ASCII URI characters (no space, "
			       "control, DEL or non-ASCII character: percent-encode them)";
		if (*p == '%' && !(hex_digit(p[1]) && hex_digit(p[2])))
			return "a redirect URI has a '%' not followed by two hex digits";
	}
	if (strchr(u, '#'))
		return "a redirect URI may not have a fragment (RFC 6749 §3.1.2)";
	/* an absolute URI: scheme ":" hier-part, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	slen = strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	if (slen == 0 || u[slen] != ':' || !((u[0] | 0x20) >= 'a' && (u[0] | 0x20) <= 'z'))
		return "a redirect URI must be absolute (scheme:..., RFC 6749 §3.1.2)";
	if (u[slen + 1] == '\0')
		return "a redirect URI has nothing after its scheme";
	for (i = 0; i < sizeof refused_schemes / sizeof refused_schemes[0]; i++)
		if (strlen(refused_schemes[i]) == slen && strncasecmp(u, refused_schemes[i], slen) == 0)
			return "a redirect URI may not use a javascript:, vbscript:, data:, file:, blob: "
			       "or about: scheme";
	if ((slen == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (slen == 5 && strncasecmp(u, "https", 5) == 0)) {
		p = u + slen + 1;
		if (strncmp(p, "//", 2) != 0 || strchr("/?#@:", p[2]) != NULL)
			return "an http or https redirect URI needs a host (scheme://host/...)";
	}
	return NULL;
}

int client_redirect_uri_valid(const char *u)
{
	return u && client_redirect_uri_problem(u) == NULL;
}

/* 1 for http://127.0.0.1[:port]/... or http://[::1][:port]/...: *rest points after the port. */
static int loopback(const char *uri, const char **host_end, const char **rest)
{
	static const char *const hosts[] = {"http://127.0.0.1", "http://[::1]"};
	size_t i, n;
	const char *p;

	for (i = 0; i < 2; i++) {
		n = strlen(hosts[i]);
		if (strncmp(uri, hosts[i], n) != 0)
			continue;
		p = uri + n;
		*host_end = p;
		if (*p == ':')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (*p && *p != '/' && *p != '?')
			return 0;
		*rest = p;
		return 1;
	}
	return 0;
}

int client_redirect_matches(const char *registered, const char *given)
{
	const char *rh, *rr, *gh, *gr;

	if (strcmp(registered, given) == 0)
		return 1;
	return loopback(registered, &rh, &rr) && loopback(given, &gh, &gr) &&
	       rh - registered == gh - given && strncmp(registered, given, (size_t)(rh - registered)) == 0 &&
	       strcmp(rr, gr) == 0;
}

const char *client_rules(const struct client *c)
{
	if (c->is_public && client_list_has(c->grant_types, "client_credentials"))
		return "public clients cannot use client_credentials";
	/* a refresh token bound to the client's DPoP key is protected by the key (RFC 9700 §4.14.2,
	 * RFC 9449 §5) */
	if (c->is_public && !c->refresh_rotation && !c->dpop_bound)
		return "public clients must rotate refresh tokens (RFC 9700 2.2.2), unless their "
		       "refresh tokens are DPoP-bound (--dpop-bound)";
	return client_method_problem(c);
}

const char *client_id_problem(const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (n == 0 || n > 255)
		return "a client id is 1 to 255 printable ASCII characters";
	for (i = 0; i < n; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			return "a client id is 1 to 255 printable ASCII characters";
	if (strspn(id, "0123456789") == n)
		return "a client id must not be made only of digits: its tokens' sub would be a user's "
		       "(users' subs are their numbers)";
	return NULL;
}
