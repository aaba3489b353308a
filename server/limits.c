/* limits.c - the guessing limits in front of a check (lib/throttle.h), answered 429 with
 * Retry-After when they say wait: client secrets (clientauth.c), passwords (login.c) and user
 * codes (device.c). */
#include <stdio.h>
#include "throttle.h"
#include "server.h"

int limit_reply(struct request *r, struct throttle *a, const char *akey, struct throttle *b,
                const char *bkey, int page, const char *why)
{
	int64_t now = http_now_ms();
	char msg[200];
	int wait;

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
