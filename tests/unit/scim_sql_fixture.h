/* scim_sql_fixture.h - what the SCIM filter-to-SQL suites (test_scim_sql.c,
 * test_scim_sql_text.c) share: a real database (every migration applied by store_open) with ~30
 * varied users, groups, clients and grants, the JSON of each resource, and filters compiled and
 * run on it (tests/unit/scim_sql_fixture.c). */
#ifndef TESSERA_TEST_SCIM_SQL_FIXTURE_H
#define TESSERA_TEST_SCIM_SQL_FIXTURE_H

#include <check.h>
#include <sqlite3.h>
#include <stddef.h>
#include <jansson.h>
#include "scim_sql.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ENT SCIM_ENTERPRISE_USER ":"
#define TUS SCIM_TESSERA_USER ":"
#define TGR SCIM_TESSERA_GROUP ":"
#define U SCIM_R_USER
#define G SCIM_R_GROUP
#define C SCIM_R_CLIENT
#define R SCIM_R_GRANT

struct rset {
	enum scim_rtype_id t;
	const char *select;      /* SELECT <id> FROM ... WHERE %s ORDER BY <id> */
	json_t *docs[40];
	char ids[40][32];
	int n;
};

/* The resources of each type, and each test's read-only connection (conn_setup). */
extern struct rset sets[SCIM_R_COUNT];
extern sqlite3 *db;

void exec(sqlite3 *d, const char *sql);

void bind_all(sqlite3_stmt *st, const struct scim_sql *q);

/* Adds id to the comma-separated list out (n bytes, truncated there). step_ids empties out,
 * then adds the first column of each row of st, asserts that st ran to its end (label names it
 * in a failure) and finalizes it. */
void ids_add(char *out, size_t n, const char *id);
void step_ids(sqlite3_stmt *st, const char *label, char *out, size_t n);

/* The ids rows of set r that the compiled filter selects, comma-separated. */
void sql_ids(const struct rset *r, const char *f, const struct scim_sql *q, char *out,
             size_t n);

/* The ids of set r whose JSON scimf_match accepts. */
void match_ids(const struct rset *r, const struct scimf_node *n, int ce, char *out,
               size_t size);

/* Compiles filter f for t (TS_OK expected) into q. */
struct scimf_node *compile(enum scim_rtype_id t, const char *f, struct scim_sql *q);

/* The ids filter f selects in the database (out). */
void select_ids(enum scim_rtype_id t, const char *f, char *out, size_t n);

/* Once per test case (before forking): the database file, migrated by store_open, with the
 * data; the JSON documents. */
void data_setup(void);

void data_teardown(void);

/* The database file of data_setup. */
const char *data_path(void);

/* Per test (in its own process): a connection of its own. */
void conn_setup(void);

void conn_teardown(void);

/* The test case "db": the database made once (data_setup), a connection per test (conn_setup). */
TCase *db_tcase(void);

#endif
