/* limits.c - the guessing limits in front of a check (lib/throttle.h), answered 429 with
 * Retry-After when they say wait: client secrets (clientauth.c), passwords (login.c) and user
 * codes (device.c). */
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>
#include "throttle.h"
#include "server.h"

/* Several nodes over one database count one allowance (docs/nodes.md): each failure is also
 * written to the store (kind, SHA-256 of the key), and before each attempt the store's count is
 * merged into this process's table. A success writes nothing, but for clearing a user's
 * failures after a login that had some. */
static void shared_key(const char *key, unsigned char h[32])
{
	SHA256((const unsigned char *)key, strlen(key), h);
}

/* The store's failures of key, into t (a read; nothing when there are none). */
static void limit_load(struct request *r, struct throttle *t, const char *key)
{
	const char *kind = throttle_kind(t);
	unsigned char h[32];
	int64_t last = 0;
	int n = 0;
	store *s;

	if (!kind || !key || !(s = http_store(r)))
		return;
	shared_key(key, h);
	if (store_failure_get(s, kind, h, &n, &last) == TS_OK)
		throttle_merge(t, key, n, http_now_ms() - (http_wall_ms() - last), http_now_ms());
}

struct failure_job {
	const char *kind;
	unsigned char key[32];
	int64_t now_ms, forget_ms;
	int clear;
};

static ts_err failure_job(store *s, void *arg)
{
	struct failure_job *j = arg;

	return j->clear ? store_failure_clear(s, j->kind, j->key) :
	                  store_failure_add(s, j->kind, j->key, j->now_ms, j->forget_ms);
}

static void limit_write(struct request *r, struct throttle *t, const char *key, int clear)
{
	struct failure_job j = {throttle_kind(t), {0}, http_wall_ms(), throttle_forget(t), clear};

	if (!j.kind || !key)
		return;
	shared_key(key, j.key);
	/* (a failure that cannot be written is still counted here) */
	http_write(r, failure_job, &j);
}

void limit_settle(struct request *r, struct throttle *t, const char *key, int ok)
{
	throttle_settle(t, key, ok, http_now_ms());
	if (!ok)
		limit_write(r, t, key, 0);
}

void limit_reset(struct request *r, struct throttle *t, const char *key)
{
	if (throttle_reset(t, key))
		limit_write(r, t, key, 1);
}

int limit_reply(struct request *r, struct throttle *a, const char *akey, struct throttle *b,
                const char *bkey, int page, const char *why)
{
	int64_t now = http_now_ms();
	char msg[200];
	int wait;

	limit_load(r, a, akey);
	if (b)
		limit_load(r, b, bkey);
	/* each take reserves its attempt: racing attempts cannot all pass */
	wait = throttle_take(a, akey, now);
	if (wait == 0 && b) {
		wait = throttle_take(b, bkey, now);
		if (wait > 0)
			throttle_settle(a, akey, 1, now);
	}
	if (wait <= 0)
		return 0;
	r->retry_after = (wait + 999) / 1000;
	if (!page) {
		reply_error(r, TS_TOO_MANY_REQUESTS, why);
		return 1;
	}
	snprintf(msg, sizeof msg, "%s Try again in %d seconds.", why, r->retry_after);
	reply_page_error(r, 429, "Too many attempts", msg);
	return 1;
}
