/* throttle.h - slowing down guessing: a bounded in-memory table of recent failures per key
 * (e.g. "user:alice", "ip:192.0.2.7"), with exponential back-off. Thread-safe. */
#ifndef TESSERA_THROTTLE_H
#define TESSERA_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct throttle throttle;

/* Times are in whatever unit the caller counts in (the server uses milliseconds of a monotonic
 * clock, so a one-second wait is not cut short by a whole-second clock ticking over).
 *
 * A table of `slots` keys (least recently failed ones are forgotten when it is full). After
 * `free_failures` failures a key must wait `base`, doubling with each further failure up to
 * `max`. A key with no failure for `forget` starts again from zero. NULL on OOM. */
throttle *throttle_new(size_t slots, int free_failures, int base, int max, int forget);
void throttle_free(throttle *t); /* NULL is fine */

/* Time key must still wait before it may try again at time now; 0 when it may try now. */
int throttle_wait(throttle *t, const char *key, int64_t now);

/* Records a failure of key at now. */
void throttle_fail(throttle *t, const char *key, int64_t now);

/* Forgets key (after a success). */
void throttle_reset(throttle *t, const char *key);

#endif
