/* throttle.c - a bounded table of recent failures per key, with exponential back-off.
 *
 * A fixed pool of `slots` entries is indexed by a chained hash table. Keys come from the network
 * (user names, addresses), so the hash is SipHash-2-4 under a random per-table key: nobody can
 * choose keys that all land in one chain. Entries sit on a list ordered by their last failure;
 * when the pool is full the entry at its old end is dropped. One mutex guards everything: the
 * table is only touched on the login, user-code and failed client-authentication paths.
 *
 * An attempt reserved by throttle_take counts (as `pending`) until throttle_settle ends it, so
 * that attempts racing each other cannot all pass one check: with N free failures, N
 * concurrent attempts get through and the next one waits, however many arrive at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "throttle.h"

#define FAILURES_CAP 1000000 /* far past any cap on the delay; keeps the counter from wrapping */

struct th_entry {
	char *key;                        /* malloc'd copy; NULL while on the free list */
	uint64_t hash;
	int64_t last;                     /* time of the latest failure */
	int64_t taken;                    /* time of the latest throttle_take */
	int failures;
	int pending;                      /* attempts taken and not yet settled */
	struct th_entry *chain;           /* next in the bucket, or in the free list */
	struct th_entry *older, *newer;   /* the list by latest failure */
};

struct throttle {
	pthread_mutex_t lock;
	struct th_entry *pool, *free_list, *oldest, *newest;
	struct th_entry **buckets;
	size_t slots, mask;
	uint64_t k[2];                    /* the SipHash key, random */
	atomic_size_t used;               /* keys held: 0 lets the hot path skip the lock */
	int free_failures, base, max, forget; /* in the caller's unit */
	const char *kind;                 /* the policy's, or NULL */
};

const struct throttle_policy throttle_login_user = {4, 1000, 60000, 900000, "login-user"};
const struct throttle_policy throttle_login_addr = {19, 1000, 300000, 3600000, "login-addr"};
const struct throttle_policy throttle_client_secret = {9, 1000, 60000, 900000, "client-secret"};
const struct throttle_policy throttle_user_code_addr = {4, 60000, 3600000, 3600000, "code-addr"};
const struct throttle_policy throttle_user_code_total = {99, 10000, 300000, 600000,
	"code-total"};

#define th_rotl(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = th_rotl(v1, 13); v1 ^= v0; v0 = th_rotl(v0, 32); \
	v2 += v3; v3 = th_rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = th_rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = th_rotl(v1, 17); v1 ^= v2; v2 = th_rotl(v2, 32); \
} while (0)

/* SipHash-2-4 of the n bytes at p under the table's key. */
static uint64_t th_hash(const throttle *t, const char *p, size_t n)
{
	uint64_t v0 = t->k[0] ^ 0x736f6d6570736575ULL, v1 = t->k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = t->k[0] ^ 0x6c7967656e657261ULL, v3 = t->k[1] ^ 0x7465646279746573ULL;
	uint64_t m;
	size_t i, j;

	for (i = 0; i <= n; i += 8) {
		m = 0;
		for (j = 0; j < 8 && i + j < n; j++)
			m |= (uint64_t)(unsigned char)p[i + j] << (8 * j);
		if (i + 8 > n)  /* the last word carries the length in its top byte */
			m |= (uint64_t)n << 56;
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
		if (i + 8 > n)
			break;
	}
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

throttle *throttle_new(size_t slots, int free_failures, int base, int max, int forget)
{
	throttle *t;
	size_t i, nb = 1;

	if (slots == 0)
		slots = 1;
	if (slots > SIZE_MAX / 2 / sizeof(struct th_entry))
		return NULL;
	while (nb < slots)
		nb <<= 1;
	t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->pool = calloc(slots, sizeof *t->pool);
	t->buckets = calloc(nb, sizeof *t->buckets);
	if (!t->pool || !t->buckets || RAND_bytes((unsigned char *)t->k, sizeof t->k) != 1 ||
	    pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->pool);
		free(t->buckets);
		free(t);
		return NULL;
	}
	for (i = slots; i-- > 0;) {
		t->pool[i].chain = t->free_list;
		t->free_list = &t->pool[i];
	}
	t->slots = slots;
	t->mask = nb - 1;
	t->free_failures = free_failures < 0 ? 0 : free_failures;
	t->base = base < 0 ? 0 : base;
	t->max = max < 0 ? 0 : max;
	t->forget = forget < 0 ? 0 : forget;
	return t;
}

throttle *throttle_with(size_t slots, struct throttle_policy p)
{
	throttle *t = throttle_new(slots, p.free_failures, p.base, p.max, p.forget);

	if (t)
		t->kind = p.kind;
	return t;
}

const char *throttle_kind(const throttle *t)
{
	return t ? t->kind : NULL;
}

int throttle_forget(const throttle *t)
{
	return t ? t->forget : 0;
}

void throttle_free(throttle *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->slots; i++)
		free(t->pool[i].key);
	pthread_mutex_destroy(&t->lock);
	free(t->pool);
	free(t->buckets);
	free(t);
}

static struct th_entry *th_find(const throttle *t, const char *key, uint64_t h)
{
	struct th_entry *e;

	for (e = t->buckets[h & t->mask]; e; e = e->chain) {
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void th_list_remove(throttle *t, struct th_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void th_list_push_newest(throttle *t, struct th_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

/* Drops e from its bucket and the list, frees its key and returns it to the free list. */
static void th_drop(throttle *t, struct th_entry *e)
{
	struct th_entry **pp = &t->buckets[e->hash & t->mask];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	th_list_remove(t, e);
	free(e->key);
	memset(e, 0, sizeof *e);
	atomic_fetch_sub(&t->used, 1);
	e->chain = t->free_list;
	t->free_list = e;
}

/* 1 when e's failures are older than `forget` at now. */
static int th_forgotten(const throttle *t, const struct th_entry *e, int64_t now)
{
	return now >= e->last && now - e->last >= t->forget;
}

/* The time e must still wait at now: its failures and pending attempts past the free ones cost
 * base, doubling up to max, counted from the latest failure (or, while attempts are pending,
 * the latest take). Under the lock. */
static int64_t th_left(const throttle *t, const struct th_entry *e, int64_t now)
{
	int64_t delay, left, from;
	int n = e->failures + e->pending, extra;

	if (n <= t->free_failures)
		return 0;
	delay = t->base;
	extra = n - t->free_failures - 1;
	while (extra-- > 0 && delay > 0 && delay < t->max)
		delay *= 2;
	if (delay > t->max)
		delay = t->max;
	from = e->pending && e->taken > e->last ? e->taken : e->last;
	left = now < from ? delay : from + delay - now;
	return left > 0 ? left : 0;
}

int throttle_wait(throttle *t, const char *key, int64_t now)
{
	struct th_entry *e;
	int64_t delay = 0;

	if (!t || !key || atomic_load(&t->used) == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	e = th_find(t, key, th_hash(t, key, strlen(key)));
	if (e && !e->pending && th_forgotten(t, e, now)) {
		th_drop(t, e);
		e = NULL;
	}
	if (e)
		delay = th_left(t, e, now);
	pthread_mutex_unlock(&t->lock);
	return (int)delay;
}

/* key's entry, made when missing (the least recently failed one makes room), with failures
 * older than `forget` forgotten, and taken off the list by latest failure (the caller puts it
 * back as the newest). NULL when out of memory. Under the lock. */
static struct th_entry *th_get(throttle *t, const char *key, int64_t now)
{
	uint64_t h = th_hash(t, key, strlen(key));
	struct th_entry *e = th_find(t, key, h);

	if (e) {
		if (th_forgotten(t, e, now))
			e->failures = 0;
		th_list_remove(t, e);
		return e;
	}
	if (!t->free_list)
		th_drop(t, t->oldest);
	e = t->free_list;
	e->key = strdup(key);
	if (!e->key)
		return NULL;
	t->free_list = e->chain;
	atomic_fetch_add(&t->used, 1);
	e->hash = h;
	e->chain = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = e;
	return e;
}

/* Records a failure of e at now. Under the lock. */
static void th_failed(struct th_entry *e, int64_t now)
{
	if (e->failures < FAILURES_CAP)
		e->failures++;
	if (e->failures == 1 || now > e->last)
		e->last = now;
}

void throttle_fail(throttle *t, const char *key, int64_t now)
{
	struct th_entry *e;

	if (!t || !key)
		return;
	pthread_mutex_lock(&t->lock);
	e = th_get(t, key, now);
	if (e) { /* out of memory: this failure goes unrecorded */
		th_failed(e, now);
		th_list_push_newest(t, e);
	}
	pthread_mutex_unlock(&t->lock);
}

int throttle_take(throttle *t, const char *key, int64_t now)
{
	struct th_entry *e;
	int64_t left = 0;

	if (!t || !key)
		return 0;
	pthread_mutex_lock(&t->lock);
	e = th_get(t, key, now);
	if (e) { /* out of memory: the attempt goes uncounted, like a failure would */
		left = th_left(t, e, now);
		if (left == 0 && e->pending < FAILURES_CAP) {
			e->pending++;
			e->taken = now;
		}
		th_list_push_newest(t, e);
	}
	pthread_mutex_unlock(&t->lock);
	return (int)left;
}

void throttle_settle(throttle *t, const char *key, int ok, int64_t now)
{
	struct th_entry *e;
	uint64_t h;

	if (!t || !key)
		return;
	h = th_hash(t, key, strlen(key));
	pthread_mutex_lock(&t->lock);
	e = th_find(t, key, h);
	if (e && e->pending > 0)
		e->pending--;
	if (ok) {
		if (e && e->failures == 0 && e->pending == 0)
			th_drop(t, e);
	} else {
		/* (an entry dropped meanwhile, by a reset or to make room, is made again) */
		e = th_get(t, key, now);
		if (e) {
			th_failed(e, now);
			th_list_push_newest(t, e);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int throttle_reset(throttle *t, const char *key)
{
	struct th_entry *e;
	uint64_t h;
	int had = 0;

	if (!t || !key || atomic_load(&t->used) == 0)
		return 0;
	h = th_hash(t, key, strlen(key));
	pthread_mutex_lock(&t->lock);
	e = th_find(t, key, h);
	if (e) {
		had = e->failures > 0;
		th_drop(t, e);
	}
	pthread_mutex_unlock(&t->lock);
	return had;
}

void throttle_merge(throttle *t, const char *key, int failures, int64_t last, int64_t now)
{
	struct th_entry *e;

	if (!t || !key || failures <= 0)
		return;
	pthread_mutex_lock(&t->lock);
	e = th_get(t, key, now);
	if (e) {
		if (failures > FAILURES_CAP)
			failures = FAILURES_CAP;
		if (failures > e->failures)
			e->failures = failures;
		if (last > e->last)
			e->last = last;
		th_list_push_newest(t, e);
	}
	pthread_mutex_unlock(&t->lock);
}
