/* keys.h - the signing keys: creation, rotation, and the in-memory keyring that signs and
 * verifies (each key parsed once). */
#ifndef TESSERA_KEYS_H
#define TESSERA_KEYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "jwt.h"
#include "store.h"

struct keyring {
	jwt_key **keys;       /* the signer first, then retired keys still published */
	size_t n;
	char *jwks;           /* {"keys":[...]} as text, public parts only */
	char *newest;         /* the kid of the newest key stored (signing, or soon) */
	int64_t next_ms;      /* when a newer key published here starts signing (Unix ms); 0: none */
};

/* The length of a new key's kid (the start of its RFC 7638 thumbprint; unique among the keys
 * stored: see keys.c). Keys made before keep the whole thumbprint. */
#define KEYS_KID_LEN 6

/* Makes sure the store has a signing key, creating one of alg when it has none. *kid (if not
 * NULL) receives a malloc'd copy of the signing kid. */
ts_err keys_ensure(store *s, const char *alg, int64_t now, char **kid);

/* Creates a new key of alg that signs from now on; the previous one is retired (still published
 * until what it signed has expired). *kid (if not NULL) receives a malloc'd copy of its kid. */
ts_err keys_rotate(store *s, const char *alg, int64_t now, char **kid);
/* The same, the new key signing from signs_from (Unix ms) on: until then the previous key signs
 * and the new one is only published. `tessera key rotate` gives it KEYS_PUBLISH_MS ahead, more
 * than the time every running node takes to load it (each looks every 100 ms), so that no token
 * is signed with a key some node does not publish yet (docs/nodes.md). */
#define KEYS_PUBLISH_MS 500
ts_err keys_rotate_at(store *s, const char *alg, int64_t now, int64_t signs_from, char **kid);

/* Loads the signer and every key retired after now - keep seconds into *out (caller
 * keyring_free's). TS_NOT_FOUND when there is no signing key. */
ts_err keyring_load(store *s, int64_t now, int64_t keep, struct keyring **out);
/* The same at now_ms (Unix ms): the signer is the newest key whose signs_from has come; newer
 * keys are published and set next_ms. */
ts_err keyring_load_ms(store *s, int64_t now_ms, int64_t keep, struct keyring **out);
void keyring_free(struct keyring *k); /* NULL is fine */

/* The key that signs (keys[0]). */
const jwt_key *keyring_signer(const struct keyring *k);

/* The keyring in use by a running daemon, shared by its threads: each sign or verify holds it
 * between keys_acquire and keys_release (a read lock), and keys_swap puts a new one in place
 * (after `tessera key rotate`) once no thread holds the old one. */
struct keys_live {
	pthread_rwlock_t lock;
	struct keyring *ring;
};
/* Starts with ring (taken: keys_live_free frees it). 0, or -1 when the lock cannot be made. */
int keys_live_init(struct keys_live *l, struct keyring *ring);
/* The keyring in use, valid (and read-locked) until keys_release. Never NULL after init. */
struct keyring *keys_acquire(struct keys_live *l);
void keys_release(struct keys_live *l);
/* Puts ring (taken) in place of the one in use, which it frees. */
void keys_swap(struct keys_live *l, struct keyring *ring);
void keys_live_free(struct keys_live *l); /* its keyring and its lock; no thread may hold it */

#endif
