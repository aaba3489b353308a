/* throttle.h - slowing down guessing: a bounded in-memory table of recent failures per key
 * (e.g. "user:alice", "ip:192.0.2.7"), with exponential back-off. Thread-safe. */
#ifndef TESSERA_THROTTLE_H
#define TESSERA_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct throttle throttle;

/* The arguments of throttle_new after slots. */
struct throttle_policy {
	int free_failures, base, max, forget;
	const char *kind;  /* the name its failures are shared under in the store (docs/nodes.md) */
};

/* The daemon's limits, in milliseconds (README, "Guessing"; tests/unit/test_throttle.c walks
 * each one through):
 * - logins, per username: 5 failures free, then 1 s doubling up to 60 s, forgotten after 15 min;
 * - logins, per client address: 20 free, then 1 s doubling up to 5 min, forgotten after 1 h;
 * - wrong client secrets, per client id and address: 10 free, then 1 s doubling up to 60 s,
 *   forgotten after 15 min;
 * - wrong user codes, per address: user_code_attempts (5) free, then 60 s doubling up to an
 *   hour; and from all addresses together: user_code_attempts_total (100) free, then 10 s
 *   doubling up to 5 minutes (the free ones shown are the defaults; the daemon takes them from
 *   its configuration). */
extern const struct throttle_policy throttle_login_user, throttle_login_addr,
	throttle_client_secret, throttle_user_code_addr, throttle_user_code_total;

/* Times are in whatever unit the caller counts in (the server uses milliseconds of a monotonic
 * clock, so a one-second wait is not cut short by a whole-second clock ticking over).
 *
 * A table of `slots` keys (least recently failed ones are forgotten when it is full). After
 * `free_failures` failures a key must wait `base`, doubling with each further failure up to
 * `max`. A key with no failure for `forget` starts again from zero. NULL on OOM. */
throttle *throttle_new(size_t slots, int free_failures, int base, int max, int forget);
throttle *throttle_with(size_t slots, struct throttle_policy p); /* the same, from a policy */
void throttle_free(throttle *t); /* NULL is fine */

/* Time key must still wait before it may try again at time now; 0 when it may try now. */
int throttle_wait(throttle *t, const char *key, int64_t now);

/* Records a failure of key at now. */
void throttle_fail(throttle *t, const char *key, int64_t now);

/* Checks and reserves in one step, for an attempt whose outcome is known only later (a password
 * hash): 0 when key may try now, and the attempt then counts as a failure until throttle_settle
 * ends it, so concurrent attempts cannot all pass the same check; else the time key must still
 * wait, and nothing is reserved. */
int throttle_take(throttle *t, const char *key, int64_t now);

/* Ends an attempt that throttle_take let through: a failure at now (ok 0), or not a failure
 * (ok 1: a success, or nothing was tried). Call it exactly once per take that returned 0. */
void throttle_settle(throttle *t, const char *key, int ok, int64_t now);

/* Forgets key (after a success): 1 when it had failures to forget, else 0. */
int throttle_reset(throttle *t, const char *key);

/* Several nodes (docs/nodes.md): the policy's kind (NULL for throttle_new) and forget; and
 * merge, which makes key count at least `failures`, the latest at `last` (in the table's unit),
 * as another node's record of key's failures says (nothing when failures <= 0). */
const char *throttle_kind(const throttle *t);
int throttle_forget(const throttle *t);
void throttle_merge(throttle *t, const char *key, int failures, int64_t last, int64_t now);

#endif
