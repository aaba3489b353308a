/* store_devices.c - the SQL of device authorizations (RFC 8628; see store.h). */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"

enum { Q_ADD, Q_GET, Q_BY_USER_CODE, Q_DECIDE, Q_REDEEM, Q_PURGE, Q_COUNT };

#define DEVICE_COLS "device_hash, user_code, client_id, scope, created_at, expires_at, \"interval\", " \
	"status, user_id, grant_id, granted, auth_time"

const struct db_sql store_device_sql[] = {
	[Q_ADD] = {"INSERT INTO device_codes (device_hash, user_code, client_id, scope, "
		"created_at, expires_at, \"interval\", status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
		/* (PostgreSQL: a taken user code must not fail the statement, which would abort the
		 * writer's whole transaction; no row inserted is the conflict) */
		"INSERT INTO device_codes (device_hash, user_code, client_id, scope, "
		"created_at, expires_at, \"interval\", status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0) "
		"ON CONFLICT DO NOTHING", 0},
	[Q_GET] = {"SELECT " DEVICE_COLS " FROM device_codes WHERE device_hash = ?1", NULL, 0},
	[Q_BY_USER_CODE] = {"SELECT " DEVICE_COLS " FROM device_codes WHERE user_code = ?1",
		NULL, 0},
	/* one statement each, with the condition in the WHERE: of two racing connections only one
	 * finds the row still pending (or approved) and moves it on */
	[Q_DECIDE] = {"UPDATE device_codes SET status = ?2, user_id = ?3, grant_id = ?4, "
		"granted = ?5, auth_time = ?6 WHERE user_code = ?1 AND status = 0 AND expires_at > ?7",
		NULL, 0},
	[Q_REDEEM] = {"UPDATE device_codes SET status = 3 WHERE device_hash = ?1 AND status = 1",
		NULL, 0},
	[Q_PURGE] = {"DELETE FROM device_codes WHERE expires_at < ?1", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_device_sql[id])

void store_device_free(struct device *d)
{
	if (!d)
		return;
	free(d->client_id);
	free(d->scope);
	free(d->granted);
	explicit_bzero(d, sizeof(*d));
	free(d);
}

static ts_err device_read(db_stmt *st, void *out)
{
	struct device *d = calloc(1, sizeof(*d));
	const char *uc;
	int n;

	*(struct device **)out = NULL;
	if (!d)
		return TS_SERVER_ERROR;
	uc = db_text(st, 1);
	n = db_bytes(st, 1);
	if (store_col_hash(st, 0, d->hash) || !uc || n < 0 || n >= (int)sizeof(d->user_code) ||
			store_col_text(st, 2, 0, &d->client_id) || store_col_text(st, 3, 1, &d->scope) ||
			store_col_text(st, 10, 1, &d->granted)) {
		store_device_free(d);
		return TS_SERVER_ERROR;
	}
	memcpy(d->user_code, uc, (size_t)n); /* calloc left the NUL after it */
	d->created_at = db_int(st, 4);
	d->expires_at = db_int(st, 5);
	d->interval = (int)db_int(st, 6);
	d->status = (int)db_int(st, 7);
	d->user_id = db_int(st, 8); /* NULL reads as 0 */
	d->grant_id = db_int(st, 9);
	d->auth_time = db_int(st, 11);
	*(struct device **)out = d;
	return TS_OK;
}

ts_err store_device_add(store *s, const struct device *d)
{
	if (!d || !d->client_id)
		return TS_SERVER_ERROR;
	/* (a user code without its NUL is bound as its 9 bytes, which the schema's CHECK refuses;
	 * a NULL scope stays NULL: everything allowed) */
	ts_err e = store_run(s, Q(Q_ADD), ARGS(DB_B(d->hash, sizeof(d->hash)),
		DB_TN(d->user_code, (int)strnlen(d->user_code, sizeof(d->user_code))),
		DB_T(d->client_id), DB_T(d->scope), DB_I(d->created_at), DB_I(d->expires_at),
		DB_I(d->interval)));

	return !e && db_changes(s->db) == 0 ? TS_CONFLICT : e;
}

ts_err store_device_get(store *s, const unsigned char hash[32], struct device **out)
{
	if (out)
		*out = NULL;
	if (!hash || !out)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_GET), ARGS(DB_B(hash, 32)), device_read, out);
}

ts_err store_device_by_user_code(store *s, const char *user_code, struct device **out)
{
	if (out)
		*out = NULL;
	if (!user_code || !out)
		return TS_SERVER_ERROR;
	return store_one(s, Q(Q_BY_USER_CODE), ARGS(DB_T(user_code)), device_read, out);
}

/* The UPDATE changes the row only while it is pending and unexpired, so of racing decisions one
 * lands; when it matched nothing, the read tells a decided or expired code from an unknown one.
 * A denial clears the approval's columns (NULL), whatever the caller passed. */
ts_err store_device_decide(store *s, const char *user_code, int status, int64_t user_id,
                           int64_t grant_id, const char *granted, int64_t auth_time, int64_t now)
{
	struct device *d = NULL;
	ts_err e;
	int approve = status == DEVICE_APPROVED;

	if (!s || !user_code || (status != DEVICE_APPROVED && status != DEVICE_DENIED))
		return TS_SERVER_ERROR;
	/* (not store_change: a user or grant removed meanwhile fails the foreign key, TS_NOT_FOUND,
	 * which must not be taken for "matched nothing") */
	e = store_run(s, Q(Q_DECIDE), ARGS(DB_T(user_code), DB_I(status),
		DB_I0(approve ? user_id : 0), DB_I0(approve ? grant_id : 0),
		DB_T(approve ? nz(granted) : NULL), DB_I0(approve ? auth_time : 0), DB_I(now)));
	if (e)
		return e;
	if (db_changes(s->db) > 0)
		return TS_OK;
	e = store_device_by_user_code(s, user_code, &d);
	store_device_free(d);
	return e == TS_OK ? TS_CONFLICT : e;
}

/* Likewise: approved -> redeemed in one UPDATE, then the read for TS_CONFLICT or TS_NOT_FOUND. */
ts_err store_device_redeem(store *s, const unsigned char hash[32])
{
	struct device *d = NULL;
	ts_err e;

	if (!hash)
		return TS_SERVER_ERROR;
	e = store_change(s, Q(Q_REDEEM), ARGS(DB_B(hash, 32)));
	if (e != TS_NOT_FOUND)
		return e;
	e = store_device_get(s, hash, &d);
	store_device_free(d);
	return e == TS_OK ? TS_CONFLICT : e;
}

ts_err store_devices_purge(store *s, int64_t now)
{
	return store_run(s, Q(Q_PURGE), ARGS(DB_I(now)));
}
