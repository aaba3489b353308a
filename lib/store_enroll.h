/* store_enroll.h - enrollment tokens and the registrations made with them (schema 016; the SQL is
 * lib/store_enroll.c). See lib/enroll.h for what they mean. Errors as store.h says. */
#ifndef TESSERA_STORE_ENROLL_H
#define TESSERA_STORE_ENROLL_H

#include <stdint.h>
#include "store.h"

/* What a client registered with an enrollment token may be (its template): grant types as a
 * client's (space-separated, "device_code" for the device grant), an allowed scope (may hold
 * ${clientid}), the one authentication method, the access-token format. */
struct enroll_template {
	char *grant_types;
	char *scope;
	char *auth_method;         /* "private_key_jwt" or "self_signed_tls_client_auth" */
	int token_reference;       /* 1: reference access tokens, 0: JWTs */
};

struct enrollment {
	char *id;                  /* public: names the token in lists and in its own text */
	unsigned char hash[32];    /* SHA-256 of the token's secret part */
	char *name;                /* a note, "" when none */
	struct enroll_template t;
	int64_t max_uses, uses;    /* clients it may register, and has registered */
	int64_t expires_at, created_at;
	int64_t revoked_at;        /* 0 while not revoked */
};

/* A client registered through an enrollment token: its registration access token's hash and the
 * template it was registered under (a copy: updates stay within it). */
struct registration {
	char *client_id;
	unsigned char hash[32];
	char *enrollment_id;
	struct enroll_template t;
	int64_t created_at;
};

void store_enrollment_free(struct enrollment *e);   /* NULL is fine */
/* The same for a struct enrollment not malloc'd itself: frees its fields, zeroes it. */
void store_enrollment_clear(struct enrollment *e);
void store_registration_free(struct registration *g);

/* add: TS_CONFLICT when the id is taken. get: TS_NOT_FOUND when absent. each: in creation order.
 * revoke: sets revoked_at (once; TS_NOT_FOUND when absent). remove: deletes the row (the clients
 * it registered stay, with their copies of the template). */
ts_err store_enrollment_add(store *s, const struct enrollment *e);
ts_err store_enrollment_get(store *s, const char *id, struct enrollment **out);
ts_err store_enrollment_each(store *s, int (*fn)(const struct enrollment *e, void *arg), void *arg);
ts_err store_enrollment_revoke(store *s, const char *id, int64_t now);
ts_err store_enrollment_remove(store *s, const char *id);

/* A registration, in one transaction (or the caller's): takes one use of enrollment
 * g->enrollment_id if it is still usable at now (not revoked, not expired, not used up) --
 * TS_NOT_FOUND when it is not (or is gone), and then nothing is written --, adds client c
 * (TS_CONFLICT when its id is taken) and its registration g. */
ts_err store_register(store *s, const struct client *c, const struct registration *g, int64_t now);
/* The registration of client_id; TS_NOT_FOUND when the client was not registered so. */
ts_err store_registration_get(store *s, const char *client_id, struct registration **out);

#endif
