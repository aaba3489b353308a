/* store_faults_fixture.h - what the fault suites (test_store_faults.c, test_store_faults_jobs.c)
 * share (tests/unit/store_faults_fixture.c): the template database and its rows, the SQL checks
 * on another connection, and the driver that runs an operation with failures injected. */
#ifndef TESSERA_TEST_STORE_FAULTS_FIXTURE_H
#define TESSERA_TEST_STORE_FAULTS_FIXTURE_H

#include <check.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "device.h"
#include "fault_inject.h"
#include "grant.h"
#include "store.h"
#include "writer.h"

#define NOW 1700000000LL
#define CODE_TEXT "code-text-0001"
#define VERIFIER "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
#define RT_TEXT "refresh-text-0001"      /* current, of grant 1 (alice) */
#define RT_USED_TEXT "refresh-text-0002" /* rotated already, of grant 2 (bob) */
#define DEV_PENDING "dev-pending"
#define DEV_APPROVED "dev-approved"

/* the suite's directory, the template database in it, and the copy each run works on */
extern char dir[PATH_MAX];
extern char tmpl[PATH_MAX + 16], work[PATH_MAX + 16];

/* What one run of an operation works with; each operation uses its own part. */
struct ctx {
	store *s;                 /* a connection of the copy, opened before the failure is armed */
	writer *w;                /* the writer, for the operations that run as its jobs */
	store *opened;            /* store_open's result, for the open operations */
	struct client *c;
	struct user *u;
	int64_t gid;
	struct redeem rd;
	struct refresh_req q;
	struct device_issue di;
	struct device_decision dd;
	struct device_redeem dr;
	struct code *code;
	json_t *claims;
	json_t *body;              /* a SCIM request's body */
	json_t *cur;               /* the resource a PATCH applies to */
	int active;
	char *scope;
	int64_t total;
	int listed;
	char first[32];
	ts_err job_rc[3];
	atomic_int started, queued, held;
	enum fault_kind kind;      /* the failure armed, for messages */
	long n;
	int persist;
	int64_t base;              /* refresh tokens before the operation */
};

enum {
	OP_WRITER = 1,            /* run is a writer job: run through x->w */
	OP_NO_STORE = 2,          /* run opens the store itself (no x->s before) */
	OP_EMPTY = 4,             /* start from no database at all, rather than the template */
	OP_WARM = 8,              /* run once before, unarmed: the statements are prepared already,
	                           * as on the daemon's busy connections */
};

struct op {
	const char *name;
	int flags;
	size_t arg;                                        /* offset in ctx of run's argument */
	void (*before)(struct ctx *x);                     /* not armed; may be NULL */
	ts_err (*run)(store *s, void *arg);                /* armed; arg: the ctx + arg */
	void (*check)(struct ctx *x, sqlite3 *db, ts_err rc); /* db: another connection */
	void (*after)(struct ctx *x);                      /* frees; may be NULL */
};

/* For messages: " and on" after "call N" when every call from the nth failed. */
#define ON(x) ((x)->persist ? " and on" : "")

/* For the tests: one run of op per kind of failure and call (see torture in the fixture). */
#define TORTURE(name, op) START_TEST(name) { torture(&op); } END_TEST

/* The integer the query gives, with hash (32 bytes) bound to ?1 when not NULL. */
int64_t sql_int(sqlite3 *db, const char *sql, const unsigned char *hash);
/* The same with ?1 the hash of the token text. */
int64_t sql_hash(sqlite3 *db, const char *sql, const char *text);
void sql_text(sqlite3 *db, const char *sql, char *out, size_t n);
int64_t refresh_count(void);

/* the template's rows, and more of them for the operations that add some */
struct client app_client(const char *id);
const struct client *app(void);
struct user user_named(const char *name, const char *email);
void add_refresh_scoped(store *s, const char *text, int64_t grant_id, int64_t used_at,
                        const char *scope);
void add_refresh(store *s, const char *text, int64_t grant_id, int64_t used_at);
void add_code(store *s, const char *text);

/* Every kind of failure at every call until a run meets none, then lasting failures. */
void torture(const struct op *op);

/* checks and frees more than one operation uses */
void check_widened(sqlite3 *db, int widened);
void free_user(struct ctx *x);
void after_refresh(struct ctx *x);

/* A case of s with the suite's directory and template around it. */
TCase *torture_case(Suite *s, const char *name);

/* The main of each suite: the failing allocator and VFS set up, then s run. */
int store_faults_run(const char *prog, Suite *s);

#endif
