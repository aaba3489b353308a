/* test_scim_sql_pg.c - the SCIM filter-to-SQL compiler's PostgreSQL dialect, and the store's
 * PostgreSQL texts of users and groups, give the same answers as SQLite's.
 *
 * The fixture's data (scim_sql_fixture.c) is copied from its SQLite database into a throwaway
 * PostgreSQL cluster (tools/pg-cluster.sh; or the server of the libpq conninfo or URI in
 * TESSERA_TEST_PG or TESSERA_PG, which may create databases), in a database of its own whose
 * default collation is ICU's en-US (it folds letters beyond ASCII), and
 * each filter of the corpus (scim_sql_corpus.h) is run on both engines: the same resources must
 * come back. Likewise every sortBy in both directions (the same order, NULLs where SQLite puts
 * them), and the JSON texts of a user's and a group's record, which ETags hash. Without a
 * PostgreSQL server the texts are still checked for SQLite's dialect (the live checks say they
 * were skipped). */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* the store's statement tables; its type "db" renamed, as the fixture's SQLite handle is db */
#define db db_conn
#include "store_priv.h"
#undef db
#include "scim_sql_fixture.h"
#include "scim_sql_corpus.h"
#include "scim_sql_priv.h"

static char pgdir[64], conninfo[256], dbname[64];
static PGconn *pgc;

/* ---- PostgreSQL ---- */

/* ?N placeholders to $N, outside quotes (malloc'd). */
static char *dollars(const char *sql)
{
	char *out = malloc(strlen(sql) + 1), *o = out, q = 0;

	ck_assert_ptr_nonnull(out);
	for (; *sql; sql++) {
		if (q && *sql == q)
			q = 0;
		else if (!q && (*sql == '\'' || *sql == '"'))
			q = *sql;
		*o++ = !q && *sql == '?' && sql[1] >= '1' && sql[1] <= '9' ? '$' : *sql;
	}
	*o = '\0';
	return out;
}

static PGresult *pg_run(const char *sql, int n, const char *const *v)
{
	char *text = dollars(sql);
	PGresult *res = PQexecParams(pgc, text, n, NULL, v, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", text,
		      PQerrorMessage(pgc));
	free(text);
	return res;
}

static void pg_exec(const char *sql)
{
	PQclear(pg_run(sql, 0, NULL));
}

/* The binds of q as text parameters (libpq's text format: the server infers their types). */
static const char **pg_values(const struct scim_sql *q, char (*buf)[32])
{
	const char **v = calloc(q->nbinds + 3, sizeof *v); /* and LIMIT, OFFSET */
	size_t i;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < q->nbinds; i++) {
		const struct scim_bind *b = &q->binds[i];

		if (b->type == SCIM_BIND_TEXT)
			v[i] = b->text;
		else if (b->type == SCIM_BIND_INT)
			snprintf(buf[i], 32, "%lld", (long long)b->i), v[i] = buf[i];
		else if (b->type == SCIM_BIND_REAL)
			snprintf(buf[i], 32, "%.17g", b->d), v[i] = buf[i];
	}
	return v;
}

/* ---- the data copied from SQLite ---- */

/* The tables the SCIM lists read, made on PostgreSQL from SQLite's own columns (INTEGER is
 * bigint, BLOB bytea, left NULL: no blob is filtered on) and filled with SQLite's rows. */
static const char *const tables[] = {"users", "groups", "group_members", "clients", "grants"};

static void copy_table(const char *table)
{
	char create[2048], cols[1024], ins[1024], sql[1200];
	const char *v[64];
	sqlite3_stmt *st;
	int i, n = 0;

	snprintf(sql, sizeof sql, "SELECT name, type FROM pragma_table_info('%s')", table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	snprintf(create, sizeof create, "CREATE TABLE %s (", table);
	cols[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		int blob = strcmp(type, "BLOB") == 0;

		snprintf(create + strlen(create), sizeof create - strlen(create), "%s%s %s", n ? ", " :
			 "", name, strcmp(type, "INTEGER") == 0 ? "bigint" : blob ? "bytea" :
			 strcmp(type, "REAL") == 0 ? "double precision" : "text");
		snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%s", n ? ", " : "",
			 blob ? "NULL" : name);
		n++;
	}
	sqlite3_finalize(st);
	ck_assert(n > 0 && n < 64 && strlen(create) < sizeof create - 2);
	strcat(create, ")");
	pg_exec(create);
	snprintf(sql, sizeof sql, "SELECT %s FROM %s", cols, table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	snprintf(ins, sizeof ins, "INSERT INTO %s VALUES (", table);
	for (i = 0; i < n; i++)
		snprintf(ins + strlen(ins), sizeof ins - strlen(ins), "%s?%d", i ? ", " : "", i + 1);
	strcat(ins, ")");
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			v[i] = (const char *)sqlite3_column_text(st, i);
		PQclear(pg_run(ins, n, v));
	}
	sqlite3_finalize(st);
}

/* A connection to conninfo (key=value or a postgresql:// URI), to database db_name if not NULL. */
static PGconn *connect_to(const char *db_name)
{
	const char *const keys[] = {"dbname", db_name ? "dbname" : NULL, NULL};
	const char *const values[] = {conninfo, db_name, NULL};

	return PQconnectdbParams(keys, values, 1);
}

/* Once, before the tests fork: SQLite's data, a cluster unless TESSERA_TEST_PG names one, the
 * data copied. No server installed: conninfo stays empty and the live checks are skipped. */
static void pg_setup(void)
{
	const char *env = getenv("TESSERA_TEST_PG") ? getenv("TESSERA_TEST_PG") : getenv("TESSERA_PG");
	char cmd[256];
	size_t t;

	data_setup();
	if (env) {
		snprintf(conninfo, sizeof conninfo, "%s", env);
	} else {
		snprintf(pgdir, sizeof pgdir, "/tmp/test_scim_sql_pg.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(pgdir));
		snprintf(cmd, sizeof cmd, "sh tools/pg-cluster.sh start %s >/dev/null 2>&1", pgdir);
		if (system(cmd) != 0) {
			fprintf(stderr, "test_scim_sql_pg: no PostgreSQL server: live checks skipped\n");
			rmdir(pgdir);
			pgdir[0] = '\0';
			return;
		}
		snprintf(conninfo, sizeof conninfo, "host=%s user=postgres dbname=postgres", pgdir);
	}
	pgc = connect_to(NULL);
	ck_assert_msg(PQstatus(pgc) == CONNECTION_OK, "%s", PQerrorMessage(pgc));
	pg_exec("SET client_min_messages = warning");
	/* a database whose default collation folds letters beyond ASCII (ICU's en-US), as a real
	 * deployment's may: the SQL must not depend on it */
	snprintf(dbname, sizeof dbname, "scim_sql_test_%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
		 "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", dbname);
	pg_exec(cmd);
	PQfinish(pgc);
	pgc = connect_to(dbname);
	ck_assert_msg(PQstatus(pgc) == CONNECTION_OK, "%s", PQerrorMessage(pgc));
	pg_exec("SET client_min_messages = warning");
	pg_exec("DROP SCHEMA IF EXISTS scim_test CASCADE");
	pg_exec("CREATE SCHEMA scim_test");
	pg_exec("SET search_path = scim_test");
	conn_setup();
	for (t = 0; t < sizeof tables / sizeof tables[0]; t++)
		copy_table(tables[t]);
	conn_teardown();
	pg_exec("SET client_min_messages = error");
}

static void pg_teardown(void)
{
	char cmd[256];

	PQfinish(pgc);
	pgc = NULL;
	if (conninfo[0] && !pgdir[0]) { /* someone else's server: the database goes */
		snprintf(cmd, sizeof cmd, "DROP DATABASE %s", dbname);
		pgc = connect_to(NULL);
		pg_exec(cmd);
		PQfinish(pgc);
		pgc = NULL;
	}
	if (pgdir[0]) {
		snprintf(cmd, sizeof cmd, "sh tools/pg-cluster.sh stop %s >/dev/null", pgdir);
		ck_assert_int_eq(system(cmd), 0);
	}
	data_teardown();
}

/* Each test (in its own process, one after the other) uses the one connection made before they
 * fork: connecting costs more than most tests. A test that stopped inside a transaction leaves
 * it to the next one's ROLLBACK. */
static void each_setup(void)
{
	conn_setup();
	if (conninfo[0])
		pg_exec("ROLLBACK");
}

static void each_teardown(void)
{
	conn_teardown();
}

/* ---- the texts: nothing of SQLite's dialect ---- */

static void no_sqlite(const char *f, const char *sql)
{
	static const char *const words[] = {"json_extract", "json_each", "json_type", "json_object",
		"json_group_array", "group_concat", "instr(", "strftime", "NOCASE", "BINARY",
		"-length(", "rowid", "IS NOT '", "coalesce(", "ELSE 0 END)", "THEN 0 WHEN",
		"ELSE 1 END"};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		ck_assert_msg(!strstr(sql, words[i]) || (strcmp(words[i], "coalesce(") == 0 &&
			      !strstr(sql, ", 0)")), "%s: %s in %s", f, words[i], sql);
}

/* ---- the store's list queries (store_scim_list_sql) on both engines ---- */

/* The ids (first column) of list query q on t, in its order: SQLite's text, or PostgreSQL's. */
static void list_ids(enum scim_rtype_id t, const struct store_list *q, const struct scim_sql *w,
                     int pg, char *out, size_t n)
{
	char *sql = store_scim_list_sql((int)t, q, pg), buf[64][32];
	sqlite3_stmt *st;

	ck_assert(!w || w->nbinds < 60);

	ck_assert_ptr_nonnull(sql);
	if (pg) {
		const char **v = w ? pg_values(w, buf) : calloc(3, sizeof *v);
		size_t k = w ? w->nbinds : 0;
		PGresult *res;
		int i;

		no_sqlite("list", sql);
		v[k] = "1000";
		v[k + 1] = "0";
		res = pg_run(sql, (int)k + 2, v);
		out[0] = '\0';
		for (i = 0; i < PQntuples(res); i++)
			ids_add(out, n, PQgetvalue(res, i, 0));
		PQclear(res);
		free(v);
		free(sql);
		return;
	}
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	if (w)
		bind_all(st, w);
	sqlite3_bind_int(st, (int)q->nbinds + 1, 1000);
	sqlite3_bind_int(st, (int)q->nbinds + 2, 0);
	step_ids(st, "list", out, n);
	free(sql);
}

/* ---- filters ---- */

/* Filter f on t: PostgreSQL's list selects what SQLite's does, in the same order (and ids, when
 * given, is what the filter selects on SQLite). */
static void same(enum scim_rtype_id t, const char *f, const char *ids)
{
	char lite[512], got[512];
	struct scim_sql q;
	struct scimf_node *n = compile(t, f, &q);
	struct store_list l = {0};

	ck_assert_ptr_nonnull(q.where_pg);
	no_sqlite(f, q.where_pg);
	if (ids) {
		sql_ids(&sets[t], f, &q, lite, sizeof lite);
		ck_assert_msg(strcmp(lite, ids) == 0, "%s: SQLite [%s] expected [%s]", f, lite, ids);
	}
	l.where = q.where;
	l.where_pg = q.where_pg;
	l.binds = q.binds;
	l.nbinds = q.nbinds;
	list_ids(t, &l, &q, 0, lite, sizeof lite);
	if (conninfo[0]) {
		list_ids(t, &l, &q, 1, got, sizeof got);
		ck_assert_msg(strcmp(got, lite) == 0, "%s: PostgreSQL [%s] SQLite [%s]\n%s", f, got,
			      lite, q.where_pg);
	}
	scim_sql_free(&q);
	scimf_free(n);
}

START_TEST(test_agree_pg)
{
	same(agree[_i].t, agree[_i].f, agree[_i].ids);
}
END_TEST

START_TEST(test_case_exact_pg)
{
	same(exact[_i].t, exact[_i].f, exact[_i].ids);
}
END_TEST

/* Ends-with: PostgreSQL's substr(x, -n) is x itself, so a filter written with it would select
 * every resource; and a value longer than the attribute selects nothing. */
START_TEST(test_ends_with_pg)
{
	static const struct {
		enum scim_rtype_id t;
		const char *f, *ids;
	} ew[] = {
		{U, "userName ew \"ice\"", "3"},
		{U, "userName ew \"zz\"", ""},
		{U, "title ew \"GUIDE\"", "1,24"},
		{U, "emails.value ew \"@EXAMPLE.COM\"", "1,2,26,27"},
		{U, "externalId ew \"-ext\"", "4"},
		{U, "externalId ew \"-EXT\"", ""},
		{C, "redirectUris ew \"cb2\"", "app1"},
		{G, "displayName ew \"S\"", "1,2,3"},
		{U, "not (userName ew \"e\")", NULL},
	};

	same(ew[_i].t, ew[_i].f, ew[_i].ids);
}
END_TEST

/* A date-time in the JSON that is not one gives no match, never an error (a cast would raise),
 * and one that is compares by its instant (offsets, fractions, leap years). */
START_TEST(test_datetime_text_pg)
{
	static const struct {
		const char *s;
		const char *secs; /* NULL: not a date-time */
	} dt[] = {
		{"2011-05-13T04:42:34Z", "1305261754"},
		{"2011-05-13T06:42:34.5+02:00", "1305261754"},
		{"2011-05-12t23:42:34-05:00", "1305261754"},
		{"2000-02-29T00:00:00Z", "951782400"},
		{"0000-03-01T00:00:00Z", "-62162035200"},
		{"1999-02-29T00:00:00Z", NULL}, {"2021-04-31T00:00:00Z", NULL},
		{"2021-13-01T00:00:00Z", NULL}, {"2021-01-01T24:00:00Z", NULL},
		{"2021-01-01T00:00:00", NULL}, {"garbage", NULL}, {"", NULL},
		{"2021-01-01T00:00:00+24:00", NULL}, {"2021-01-01 00:00:00Z", NULL},
	};
	struct cx c;
	struct place p;
	struct scim_attr_def d = {0};
	char sql[8192], got[64], *text;
	const char *v[2];
	PGresult *res;
	size_t i;

	if (!conninfo[0])
		return;
	d.type = SCIM_DATETIME;
	for (i = 0; i < sizeof dt / sizeof dt[0]; i++) {
		int64_t secs;

		ck_assert_int_eq(sq_parse_datetime(dt[i].s, &secs), dt[i].secs != NULL);
		if (dt[i].secs)
			ck_assert_int_eq(secs, strtoll(dt[i].secs, NULL, 10));
	}
	for (i = 0; i < sizeof dt / sizeof dt[0]; i++) {
		memset(&c, 0, sizeof c);
		c.pg = 1;
		memset(&p, 0, sizeof p);
		p.kind = P_JSON;
		p.def = &d;
		snprintf(p.v, sizeof p.v, "CAST(?1 AS jsonb) #>> '{}'");
		snprintf(p.ty, sizeof p.ty, "jsonb_typeof(CAST(?1 AS jsonb))");
		/* = the bound seconds: true exactly for a date-time of those seconds */
		{
			struct scimf_node n = {0};

			n.kind = SCIMF_CMP;
			n.op = SCIMF_EQ;
			sq_bind_text(&c, "x", 1);
			sq_emit_leaf(&c, &p, &n, SCIMF_EQ, 0, dt[i].secs ? strtoll(dt[i].secs, NULL, 10) :
				     0, 0);
		}
		text = jbuf_take(&c.b, NULL);
		ck_assert_int_eq(c.err, TS_OK);
		snprintf(sql, sizeof sql, "SELECT CASE WHEN %s THEN 'yes' ELSE 'no' END", text);
		json_t *js = json_string(dt[i].s);
		char *arg = json_dumps(js, JSON_ENCODE_ANY);
		char num[32];

		snprintf(num, sizeof num, "%lld", (long long)c.binds[1].i);
		v[0] = arg;
		v[1] = num;
		res = pg_run(sql, 2, v);
		snprintf(got, sizeof got, "%s", PQgetvalue(res, 0, 0));
		ck_assert_msg(strcmp(got, dt[i].secs ? "yes" : "no") == 0, "%s: %s", dt[i].s, got);
		PQclear(res);
		free(arg);
		json_decref(js);
		free(text);
		free(c.binds[0].text);
		free(c.binds);
	}
}
END_TEST

/* ---- sortBy: the same order on both engines, as list_sql writes it ---- */

static const struct {
	enum scim_rtype_id t;
	const char *by;
} sorts[] = {
	{U, "userName"}, {U, "displayName"}, {U, "name.familyName"}, {U, "title"},
	{U, "nickName"}, {U, "emails"}, {U, "emails.value"}, {U, "emails.type"},
	{U, "phoneNumbers"}, {U, "roles"}, {U, "addresses.locality"}, {U, "meta.created"},
	{U, "meta.lastModified"}, {U, "groups.display"}, {U, "groups.value"}, {U, "externalId"},
	{U, "id"}, {U, "active"}, {U, ENT "department"}, {U, ENT "employeeNumber"},
	{U, ENT "manager.displayName"}, {U, TUS "scope"}, {U, "userType"},
	{G, "displayName"}, {G, "members.display"}, {G, "members.value"}, {G, "externalId"},
	{G, "id"}, {C, "clientName"}, {C, "grantTypes"}, {C, "redirectUris"},
	{C, "refreshGraceSeconds"}, {C, "id"}, {C, "externalId"}, {C, "active"}, {C, "public"},
	{R, "userName"}, {R, "clientId"}, {R, "scope"}, {R, "meta.created"}, {R, "userId"},
};

static void sorted(enum scim_rtype_id t, const char *order, int desc, int pg, char *out,
                   size_t n)
{
	struct store_list l = {0};

	l.order = order;
	l.order_pg = order;
	l.descending = desc;
	list_ids(t, &l, NULL, pg, out, n);
}

START_TEST(test_sort_pg)
{
	struct scim_error e = {0};
	char *lite = NULL, *order = NULL, a[512], b[512];
	int desc;

	ck_assert_msg(scim_sql_order(scim_rtype(sorts[_i].t), sorts[_i].by, &lite, &e) == TS_OK,
		      "%s", sorts[_i].by);
	ck_assert_int_eq(scim_sql_order_in(scim_rtype(sorts[_i].t), sorts[_i].by, 1, &order, &e),
			 TS_OK);
	no_sqlite(sorts[_i].by, order);
	for (desc = 0; conninfo[0] && desc < 2; desc++) {
		sorted(sorts[_i].t, lite, desc, 0, a, sizeof a);
		sorted(sorts[_i].t, order, desc, 1, b, sizeof b);
		ck_assert_msg(strcmp(a, b) == 0, "sortBy %s%s: PostgreSQL [%s] SQLite [%s]\n%s",
			      sorts[_i].by, desc ? " descending" : "", b, a, order);
	}
	free(lite);
	free(order);
}
END_TEST

/* Users without the attribute come first ascending and last descending on both engines (SQLite
 * puts NULLs first; PostgreSQL, left alone, last). */
START_TEST(test_sort_missing_values_pg)
{
	struct scim_error e = {0};
	char *order = NULL, got[512];

	if (!conninfo[0])
		return;
	ck_assert_int_eq(scim_sql_order_in(scim_rtype(U), "title", 1, &order, &e), TS_OK);
	sorted(U, order, 0, 1, got, sizeof got);
	ck_assert_msg(strncmp(got, "2,3,", 4) != 0 && strncmp(got, "3,", 2) == 0, "%s", got);
	sorted(U, order, 1, 1, got, sizeof got);
	ck_assert_msg(strlen(got) > 3 && strcmp(got + strlen(got) - 3, ",32") == 0, "%s", got);
	free(order);
}
END_TEST

/* ---- the records' texts, which ETags hash: the same bytes ---- */

static const char *const weird = "q\"uo\\te/\x01\x1f\x7f\t\n\r\b\f €ü<>&'";

static void lite_exec(sqlite3 *d, const char *sql, const char *const *v, int n)
{
	sqlite3_stmt *st;
	int i;

	ck_assert_msg(sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(d));
	for (i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
}

/* Every column of sql's row on both engines, as text. */
static void same_row(sqlite3 *d, const struct db_sql *q, const char *id)
{
	sqlite3_stmt *st;
	PGresult *res;
	int i;

	ck_assert_ptr_nonnull(q->pg);
	no_sqlite("record", q->pg);
	ck_assert_int_eq(sqlite3_prepare_v2(d, q->sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	res = pg_run(q->pg, 1, &id);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_int_eq(PQnfields(res), sqlite3_column_count(st));
	for (i = 0; i < PQnfields(res); i++) {
		const char *a = (const char *)sqlite3_column_text(st, i);

		ck_assert_msg(PQgetisnull(res, 0, i) == (a == NULL), "column %d", i);
		if (a)
			ck_assert_msg(strcmp(a, PQgetvalue(res, 0, i)) == 0,
				      "column %d: SQLite [%s] PostgreSQL [%s]", i, a,
				      PQgetvalue(res, 0, i));
	}
	PQclear(res);
	sqlite3_finalize(st);
}

START_TEST(test_record_text_pg)
{
	static const char *const rows[] = {
		"INSERT INTO groups (id, display_name, scope, created_at, updated_at) VALUES "
		"(90, ?1, 'z', 1, 1)",
		"INSERT INTO groups (id, display_name, scope, created_at, updated_at) VALUES "
		"(91, 'a', 'y', 1, 1)",
		"INSERT INTO users (id, username, scope, active, created_at, updated_at, attrs, "
		"name_key) VALUES (90, ?1, '', 1, 1, 1, '{}', 'weird')",
		"INSERT INTO group_members (group_id, user_id) VALUES (91, 90)",
		"INSERT INTO group_members (group_id, user_id) VALUES (90, 90)",
		"INSERT INTO group_members (group_id, user_id) VALUES (90, 1)",
		"INSERT INTO group_members (group_id, user_id) VALUES (1, 90)",
	};
	const char *v[1] = {weird};
	sqlite3 *d;
	char id[16];
	size_t i;
	int u;

	if (!conninfo[0])
		return;
	ck_assert_int_eq(sqlite3_open(data_path(), &d), SQLITE_OK);
	lite_exec(d, "BEGIN", NULL, 0);
	pg_exec("BEGIN");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		lite_exec(d, rows[i], v, 1);
		PQclear(pg_run(rows[i], strstr(rows[i], "?1") ? 1 : 0, v));
	}
	/* users by id (the groups' JSON, their scopes), the groups (the members' JSON) */
	for (u = 1; u <= 32; u++) {
		snprintf(id, sizeof id, "%d", u);
		same_row(d, &store_user_sql[1], id);
	}
	same_row(d, &store_user_sql[1], "90");
	for (u = 1; u <= 5; u++) {
		snprintf(id, sizeof id, "%d", u);
		same_row(d, &store_scim_sql[0], id);
	}
	same_row(d, &store_scim_sql[0], "90");
	same_row(d, &store_scim_sql[0], "91");
	/* a user added with an email: the SCIM attributes written from it */
	{
		const char *add[11] = {"new", NULL, weird, NULL, "", "1", "5", "5", NULL, NULL, "new"};
		sqlite3_stmt *st;
		PGresult *res;

		ck_assert_int_eq(sqlite3_prepare_v2(d, store_user_sql[3].sql, -1, &st, NULL),
				 SQLITE_OK);
		for (i = 0; i < 11; i++)
			sqlite3_bind_text(st, (int)i + 1, add[i], -1, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		sqlite3_finalize(st);
		pg_exec("INSERT INTO users (id, username, scope, active, created_at, updated_at, "
			"attrs) SELECT 100, 'x', '', 1, 1, 1, '{}'");
		pg_exec("CREATE TEMP SEQUENCE s START 101");
		pg_exec("ALTER TABLE users ALTER COLUMN id SET DEFAULT nextval('s')");
		pg_exec("CREATE UNIQUE INDEX ON users (name_key)");
		res = pg_run(store_user_sql[3].pg, 11, add);
		PQclear(res);
		lite_exec(d, "UPDATE users SET id = 101 WHERE username = 'new'", NULL, 0);
		same_row(d, &store_user_sql[1], "101");
	}
	pg_exec("ROLLBACK");
	lite_exec(d, "ROLLBACK", NULL, 0);
	sqlite3_close(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("scim_sql_pg");
	TCase *tc = tcase_create("pg");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, pg_setup, pg_teardown);
	tcase_add_checked_fixture(tc, each_setup, each_teardown);
	tcase_add_loop_test(tc, test_agree_pg, 0, N(agree));
	tcase_add_loop_test(tc, test_case_exact_pg, 0, N(exact));
	tcase_add_loop_test(tc, test_ends_with_pg, 0, 9);
	tcase_add_test(tc, test_datetime_text_pg);
	tcase_add_loop_test(tc, test_sort_pg, 0, N(sorts));
	tcase_add_test(tc, test_sort_missing_values_pg);
	tcase_add_test(tc, test_record_text_pg);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
