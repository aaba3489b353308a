/* throttle.h - slowing down guessing: a bounded in-memory table of recent failures per key
 * (e.g. "user:alice", "ip:192.0.2.7"), with exponential back-off. Thread-safe. */
#ifndef TESSERA_THROTTLE_H
#define TESSERA_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct throttle throttle;

/* A table of `slots` keys (least recently failed ones are forgotten when it is full). After
 * `free_failures` failures a key must wait base_s seconds, doubling with each further failure up
 * to max_s. A key with no failure for `forget_s` seconds starts again from zero. NULL on OOM. */
throttle *throttle_new(size_t slots, int free_failures, int base_s, int max_s, int forget_s);
void throttle_free(throttle *t); /* NULL is fine */

/* Seconds key must still wait before it may try again at time now; 0 when it may try now. */
int throttle_wait(throttle *t, const char *key, int64_t now);

/* Records a failure of key at now. */
void throttle_fail(throttle *t, const char *key, int64_t now);

/* Forgets key (after a success). */
void throttle_reset(throttle *t, const char *key);

#endif
