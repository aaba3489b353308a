/* introspect_cache.c - the introspection answers kept, by the SHA-256 of their token: a hash
 * table with an age list (oldest first), at most INTRO_CACHE_MAX. Everything here is called
 * under in->mu. */
#include <stdlib.h>
#include <string.h>

#include "introspect_priv.h"

static size_t intro_bucket(const unsigned char hash[32])
{
	return ((size_t)hash[0] | (size_t)hash[1] << 8 | (size_t)hash[2] << 16) % INTRO_CACHE_BUCKETS;
}

struct intro_entry *intro_cache_find(introspector *in, const unsigned char hash[32])
{
	struct intro_entry *e;

	for (e = in->cache[intro_bucket(hash)]; e; e = e->chain)
		if (memcmp(e->hash, hash, 32) == 0)
			return e;
	return NULL;
}

int intro_fresh(const introspector *in, const struct intro_entry *e, int64_t now)
{
	return e && now - e->at < in->cache_seconds;
}

static void intro_age_unlink(introspector *in, struct intro_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		in->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		in->newest = e->older;
	e->older = e->newer = NULL;
}

static void intro_age_append(introspector *in, struct intro_entry *e)
{
	e->older = in->newest;
	e->newer = NULL;
	if (in->newest)
		in->newest->newer = e;
	else
		in->oldest = e;
	in->newest = e;
}

static void intro_cache_drop(introspector *in, struct intro_entry *e)
{
	struct intro_entry **pp = &in->cache[intro_bucket(e->hash)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	intro_age_unlink(in, e);
	in->cached--;
	free(e->scope);
	free(e);
}

void intro_cache_put(introspector *in, const unsigned char hash[32], int active,
                     const char *scope, int64_t at)
{
	struct intro_entry *e = intro_cache_find(in, hash);
	char *copy = NULL;
	size_t b;

	/* an answer that cannot be kept whole is not kept (nor is the older one) */
	if (active && !(copy = strdup(scope ? scope : ""))) {
		if (e)
			intro_cache_drop(in, e);
		return;
	}
	if (e) {
		intro_age_unlink(in, e);
	} else {
		while (in->oldest && !intro_fresh(in, in->oldest, at))
			intro_cache_drop(in, in->oldest);
		if (in->cached >= INTRO_CACHE_MAX)
			intro_cache_drop(in, in->oldest);
		e = calloc(1, sizeof *e);
		if (!e) {
			free(copy);
			return;
		}
		memcpy(e->hash, hash, 32);
		b = intro_bucket(hash);
		e->chain = in->cache[b];
		in->cache[b] = e;
		in->cached++;
	}
	e->at = at;
	e->active = active;
	free(e->scope);
	e->scope = copy;
	intro_age_append(in, e);
}

void intro_cache_free(introspector *in)
{
	struct intro_entry *e, *next;

	for (e = in->oldest; e; e = next) {
		next = e->newer;
		free(e->scope);
		free(e);
	}
	in->oldest = in->newest = NULL;
	in->cached = 0;
}
