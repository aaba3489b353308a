/* store_nodes.c - the SQL of what several nodes over one database share (schema/017_nodes.sql,
 * docs/nodes.md): failed guesses counted for the brute-force limits, when each device code was
 * last polled, and leases. Portable SQL: the upserts are ON CONFLICT, which SQLite and
 * PostgreSQL both take. */
#include "store.h"
#include "store_priv.h"

enum {
	Q_FAIL_GET, Q_FAIL_ADD, Q_FAIL_CLEAR, Q_FAIL_PURGE, Q_LEASE, Q_POLL, Q_COUNT
};

const struct db_sql store_node_sql[] = {
	[Q_FAIL_GET] = {"SELECT failures, last_ms FROM failures WHERE kind = ?1 AND key = ?2",
		NULL, 0},
	/* one failure more, or the first again once the latest is older than forget (?4 ms) */
	[Q_FAIL_ADD] = {"INSERT INTO failures (kind, key, failures, last_ms) VALUES (?1, ?2, 1, ?3) "
		"ON CONFLICT (kind, key) DO UPDATE SET failures = CASE WHEN "
		"failures.last_ms <= ?3 - ?4 THEN 1 ELSE failures.failures + 1 END, "
		"last_ms = CASE WHEN failures.last_ms > ?3 THEN failures.last_ms ELSE ?3 END",
		NULL, 0},
	[Q_FAIL_CLEAR] = {"DELETE FROM failures WHERE kind = ?1 AND key = ?2", NULL, 0},
	[Q_FAIL_PURGE] = {"DELETE FROM failures WHERE last_ms < ?1", NULL, 0},
	/* the lease is free when it ran out (or is already ours): taking it is one conditional
	 * UPDATE, so of racing nodes one changes the row */
	[Q_LEASE] = {"UPDATE leases SET holder = ?2, until = ?4 WHERE name = ?1 AND "
		"(until <= ?3 OR holder = ?2)", NULL, 0},
	/* a poll sooner than the interval in force (less 500 ms) after the previous one grows the
	 * interval by 5 seconds (RFC 8628 §3.5); returns the interval in force now */
	[Q_POLL] = {"UPDATE device_codes SET interval = CASE WHEN polled_ms IS NOT NULL AND "
		"?2 - polled_ms < interval * 1000 - 500 THEN interval + 5 ELSE interval END, "
		"polled_ms = ?2 WHERE device_hash = ?1 RETURNING interval", NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_node_sql[id])

struct fail_row {
	int *failures;
	int64_t *last_ms;
};

static ts_err fail_read(db_stmt *st, void *out)
{
	struct fail_row *r = out;

	*r->failures = (int)db_int(st, 0);
	*r->last_ms = db_int(st, 1);
	return TS_OK;
}

ts_err store_failure_get(store *s, const char *kind, const unsigned char key[32], int *failures,
                         int64_t *last_ms)
{
	struct fail_row r = {failures, last_ms};

	*failures = 0;
	*last_ms = 0;
	return store_one(s, Q(Q_FAIL_GET), ARGS(DB_T(kind), DB_B(key, 32)), fail_read, &r);
}

ts_err store_failure_add(store *s, const char *kind, const unsigned char key[32], int64_t now_ms,
                         int64_t forget_ms)
{
	return store_run(s, Q(Q_FAIL_ADD), ARGS(DB_T(kind), DB_B(key, 32), DB_I(now_ms),
		DB_I(forget_ms)));
}

ts_err store_failure_clear(store *s, const char *kind, const unsigned char key[32])
{
	return store_run(s, Q(Q_FAIL_CLEAR), ARGS(DB_T(kind), DB_B(key, 32)));
}

ts_err store_failures_purge(store *s, int64_t before_ms)
{
	return store_run(s, Q(Q_FAIL_PURGE), ARGS(DB_I(before_ms)));
}

ts_err store_lease_take(store *s, const char *name, const char *holder, int64_t now,
                        int64_t until, int *got)
{
	ts_err e;

	*got = 0;
	e = store_run(s, Q(Q_LEASE), ARGS(DB_T(name), DB_T(holder), DB_I(now), DB_I(until)));
	if (!e)
		*got = db_changes(s->db) == 1;
	return e;
}

ts_err store_device_polled(store *s, const unsigned char hash[32], int64_t now_ms, int *interval)
{
	int64_t v = 0;
	ts_err e = store_one(s, Q(Q_POLL), ARGS(DB_B(hash, 32), DB_I(now_ms)), store_read_int, &v);

	*interval = (int)v;
	return e;
}
