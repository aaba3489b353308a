/* device.h - the device authorization grant (RFC 8628): user codes, the writer jobs that issue,
 * decide and redeem device authorizations, and what a poll is answered (slow_down is decided
 * in the store, from the shared record of the last poll: store_device_polled). */
#ifndef TESSERA_DEVICE_H
#define TESSERA_DEVICE_H

#include <stdint.h>
#include "err.h"
#include "grant.h"
#include "secret.h"
#include "store.h"

/* User codes: 8 characters of BCDFGHJKLMNPQRSTVWXZ (no vowels, so no words; no digits, so no
 * 0/O or 1/I confusion), about 34.6 bits, shown as XXXX-XXXX (RFC 8628 §6.1). */
#define DEVICE_USER_CODE_LEN 8

/* Draws a random user code into out (8 characters + NUL). */
ts_err device_user_code_new(char out[DEVICE_USER_CODE_LEN + 1]);

/* The user code typed by a person, with case, spaces and dashes ignored, into out; -1 when what
 * is left is not 8 characters of the alphabet. */
int device_user_code_normalize(const char *typed, char out[DEVICE_USER_CODE_LEN + 1]);

/* out = "XXXX-XXXX" for a normalized code. */
void device_user_code_format(const char *code, char out[DEVICE_USER_CODE_LEN + 2]);

/* Whether client c could ever be granted some of `requested` (NULL: everything) by some user:
 * TS_OK, or TS_INVALID_SCOPE (*bad = malloc'd copy of a malformed token, else NULL). Which part
 * a user gets is decided when one approves (grant_user_scope). */
ts_err device_scope_possible(const char *requested, const struct client *c, char **bad);

/* Writer job (writer_fn): records a new device authorization for client_id. Fills text with the
 * device code (a new grant token, grant_token_new) and user_code with a fresh user code, drawing
 * again when one is taken. */
struct device_issue {
	/* in */
	const char *client_id, *scope;   /* scope NULL: everything allowed */
	int64_t now, ttl;
	int interval;
	/* out */
	char text[GRANT_TOKEN_LEN];
	char user_code[DEVICE_USER_CODE_LEN + 1];
};
ts_err device_issue(store *s, void *arg);

/* Writer job: a user's decision on the pending authorization with this user code. Approving
 * records the grant (grant_record) with `granted`, then the decision; TS_CONFLICT (nothing
 * written) when it is no longer pending or has expired. */
struct device_decision {
	const char *user_code, *client_id, *granted;
	int64_t user_id, auth_time, now;
	int allow;
};
ts_err device_decide(store *s, void *arg);

/* Writer job: the redemption of an approved authorization by a poll of its client. Reads the
 * row again inside the write, checks its client, expiry, grant and user, marks it redeemed and,
 * when want_refresh, issues a refresh token in the same transaction (whose chain yields at most
 * the scope approved). What the access token gets is the scope approved narrowed to what the
 * grant yields now (grant_scope_now). A refusal is TS_OK with error (TS_INVALID_GRANT,
 * TS_EXPIRED_TOKEN, TS_ACCESS_DENIED, TS_AUTHORIZATION_PENDING) and why set; store errors
 * otherwise. */
struct device_redeem {
	/* in */
	unsigned char hash[32];
	const struct client *client;     /* the polling client (authenticated) */
	int64_t now, refresh_ttl;
	int want_refresh;
	const char *x5t;                 /* bind the refresh token to this certificate, or NULL */
	const char *dpop_jkt;            /* binds the refresh token to this DPoP key, or NULL */
	/* out (caller frees d and user with their free functions, and scope) */
	struct device *d;
	struct user *user;
	char *scope;                     /* what the access token gets */
	ts_err error;
	const char *why;
	char refresh[GRANT_TOKEN_LEN];  /* "" when none */
};
ts_err device_redeem(store *s, void *arg);

/* What a poll of an authorization that is not redeemable now is answered (RFC 8628 §3.5), from
 * its row: TS_INVALID_GRANT (another client's, or redeemed), TS_EXPIRED_TOKEN, TS_ACCESS_DENIED,
 * TS_AUTHORIZATION_PENDING; TS_OK when it is approved and may be redeemed. */
ts_err device_poll_state(const struct device *d, const char *client_id, int64_t now,
                         const char **why);


#endif
