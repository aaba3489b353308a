/* test_scim_sql_text.c - SCIM filters and sortBy compiled to SQL (lib/scim/scim_sql.c): exact
 * SQL text and binds, sortBy on the database of scim_sql_fixture.c, the indexes the SQL lets
 * SQLite use, and the depth limit. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "scim_sql_fixture.h"
#include "slowdown.h"

/* ---- exact SQL text and binds ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f, *sql, *binds; /* binds: each as T:text, I:int, R:real, separated by | */
} texts[] = {
	{U, "userName eq \"bjensen\"", "r.username = ?1", "T:bjensen"},
	{U, "userName sw \"Ab\"",
	 "(r.username >= ?2 AND r.username < ?3 AND lower(substr(r.username, 1, length(?1))) = "
	 "lower(?1))", "T:Ab|T:ab|T:ac"},
	{U, "userName sw \"a\u00e9\"", "lower(substr(r.username, 1, length(?1))) = lower(?1)",
	 "T:a\u00e9"},
	{U, "not (userName eq \"x\")", "NOT (r.username = ?1)", "T:x"},
	{U, "userName gt \"m\"", "r.username > ?1", "T:m"},
	{U, "displayName eq \"x\"", "(r.name <> '' AND r.name = ?1 COLLATE NOCASE)", "T:x"},
	{U, "displayName ne \"x\"",
	 "NOT (coalesce((r.name <> '' AND r.name = ?1 COLLATE NOCASE), 0))", "T:x"},
	{U, "externalId eq \"a' OR 1=1--\"", "(r.external_id <> '' AND r.external_id = ?1)",
	 "T:a' OR 1=1--"},
	{U, "active eq false", "(r.active = 0)", ""},
	{U, "meta.created ge \"2011-05-13T04:42:34.999+02:00\"", "(r.created_at >= ?1)",
	 "I:1305254554"},
	{U, "meta.lastModified lt \"1970-01-01T00:00:00z\"", "(r.updated_at < ?1)", "I:0"},
	{U, "meta.lastModified lt \"1969-12-31t23:59:59-00:30\"", "(r.updated_at < ?1)", "I:1799"},
	{U, "meta.created eq \"2016-02-29T23:59:60Z\"", "(r.created_at = ?1)", "I:1456790400"},
	{U, "title eq \"x\"",
	 "(json_type(r.attrs, '$.title') = 'text' AND json_extract(r.attrs, '$.title') = ?1 "
	 "COLLATE NOCASE)", "T:x"},
	{U, "title pr",
	 "(CASE json_type(r.attrs, '$.title') WHEN 'null' THEN 0 WHEN 'text' THEN "
	 "json_extract(r.attrs, '$.title') <> '' WHEN 'array' THEN json_array_length("
	 "json_extract(r.attrs, '$.title')) > 0 WHEN 'object' THEN json_extract(r.attrs, "
	 "'$.title') <> '{}' ELSE json_type(r.attrs, '$.title') IS NOT NULL END)", ""},
	{U, "not (title co \"%\")",
	 "NOT (coalesce((json_type(r.attrs, '$.title') = 'text' AND instr(lower(json_extract("
	 "r.attrs, '$.title')), lower(?1)) > 0), 0))", "T:%"},
	{U, "title ew \"_\"",
	 "(json_type(r.attrs, '$.title') = 'text' AND length(json_extract(r.attrs, '$.title')) >= "
	 "length(?1) AND lower(substr(json_extract(r.attrs, '$.title'), -length(?1))) = "
	 "lower(?1))", "T:_"},
	{U, "title co \"\"", "(json_type(r.attrs, '$.title') = 'text')", ""},
	{U, ENT "department sw \"x\"",
	 "(json_type(r.attrs, '$.\"" SCIM_ENTERPRISE_USER "\".department') = 'text' AND "
	 "lower(substr(json_extract(r.attrs, '$.\"" SCIM_ENTERPRISE_USER "\".department'), 1, "
	 "length(?1))) = lower(?1))", "T:x"},
	{U, "emails.type eq \"work\"",
	 "EXISTS (SELECT 1 FROM json_each(r.attrs, '$.emails') AS e1 WHERE CASE WHEN e1.type = "
	 "'object' THEN (json_type(e1.value, '$.type') = 'text' AND json_extract(e1.value, "
	 "'$.type') = ?1 COLLATE NOCASE) ELSE 0 END)", "T:work"},
	{U, "emails[primary eq true] and phoneNumbers.primary eq false",
	 "(EXISTS (SELECT 1 FROM json_each(r.attrs, '$.emails') AS e1 WHERE CASE WHEN e1.type = "
	 "'object' THEN (json_type(e1.value, '$.primary') = 'true') ELSE 0 END) AND EXISTS "
	 "(SELECT 1 FROM json_each(r.attrs, '$.phoneNumbers') AS e2 WHERE CASE WHEN e2.type = "
	 "'object' THEN (json_type(e2.value, '$.primary') = 'false') ELSE 0 END))", ""},
	{U, "groups.display eq \"x\"",
	 "EXISTS (SELECT 1 FROM (SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS "
	 "display FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id) "
	 "AS e1 WHERE (e1.display = ?1 COLLATE NOCASE))", "T:x"},
	{U, "groups pr",
	 "EXISTS (SELECT 1 FROM (SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS "
	 "display FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id) "
	 "AS e1)", ""},
	{U, "title eq null or title eq \"x\" and title eq \"y\"",
	 "(NOT ((CASE json_type(r.attrs, '$.title') WHEN 'null' THEN 0 WHEN 'text' THEN "
	 "json_extract(r.attrs, '$.title') <> '' WHEN 'array' THEN json_array_length("
	 "json_extract(r.attrs, '$.title')) > 0 WHEN 'object' THEN json_extract(r.attrs, "
	 "'$.title') <> '{}' ELSE json_type(r.attrs, '$.title') IS NOT NULL END)) OR "
	 "((json_type(r.attrs, '$.title') = 'text' AND json_extract(r.attrs, '$.title') = ?1 "
	 "COLLATE NOCASE) AND (json_type(r.attrs, '$.title') = 'text' AND json_extract(r.attrs, "
	 "'$.title') = ?2 COLLATE NOCASE)))", "T:x|T:y"},
	{G, "displayName eq \"Admins\"", "r.display_name = ?1 COLLATE NOCASE", "T:Admins"},
	{G, "displayName sw \"ad\"",
	 "(r.display_name >= ?2 COLLATE NOCASE AND r.display_name < ?3 COLLATE NOCASE AND "
	 "lower(substr(r.display_name, 1, length(?1))) = lower(?1))", "T:ad|T:ad|T:ae"},
	{C, "grantTypes eq \"refresh_token\"",
	 "instr(' ' || r.grant_types || ' ', ' ' || ?1 || ' ') > 0", "T:refresh_token"},
	{C, "grantTypes co \"code\"", "instr(r.grant_types, ?1) > 0", "T:code"},
	{C, "grantTypes sw \"urn\"", "instr(' ' || r.grant_types, ' ' || ?1) > 0", "T:urn"},
	{C, "grantTypes ew \"code\"", "instr(r.grant_types || ' ', ?1 || ' ') > 0", "T:code"},
	{C, "grantTypes co \"a b\"", "0", ""},
	{C, "grantTypes co \"\"", "(r.grant_types <> '')", ""},
	{C, "not (grantTypes pr)", "NOT ((r.grant_types <> ''))", ""},
	{C, "grantTypes eq null", "NOT ((r.grant_types <> ''))", ""},
	{C, "refreshGraceSeconds gt 10", "(r.refresh_grace > ?1)", "I:10"},
	{C, "refreshGraceSeconds le 2.5", "(r.refresh_grace <= ?1)", "R:2.5"},
	{C, "refreshGraceSeconds pr", "(r.refresh_grace IS NOT NULL)", ""},
	{C, "public ne true", "NOT (coalesce(((r.auth_method = 'none') = 1), 0))", ""},
	{C, "id eq \"app1\"", "(r.client_id <> '' AND r.client_id = ?1)", "T:app1"},
	{R, "userName eq \"bob\"", "u.username = ?1", "T:bob"},
	{R, "userName ne \"bob\"", "NOT (coalesce(u.username = ?1, 0))", "T:bob"},
};

START_TEST(test_text)
{
	struct scim_sql q;
	struct scimf_node *n = compile(texts[_i].t, texts[_i].f, &q);
	char b[256] = "";
	size_t i;

	ck_assert_str_eq(q.where, texts[_i].sql);
	for (i = 0; i < q.nbinds; i++) {
		char one[64];

		switch (q.binds[i].type) {
		case SCIM_BIND_TEXT: snprintf(one, sizeof one, "T:%s", q.binds[i].text); break;
		case SCIM_BIND_INT: snprintf(one, sizeof one, "I:%lld", (long long)q.binds[i].i); break;
		case SCIM_BIND_REAL: snprintf(one, sizeof one, "R:%g", q.binds[i].d); break;
		default: snprintf(one, sizeof one, "N"); break;
		}
		if (i)
			strcat(b, "|");
		strcat(b, one);
	}
	ck_assert_str_eq(b, texts[_i].binds);
	scim_sql_free(&q);
	scimf_free(n);
}
END_TEST

START_TEST(test_no_filter)
{
	struct scim_sql q;
	char got[512];

	ck_assert_int_eq(scim_sql_where(scim_rtype(SCIM_R_USER), NULL, &q, NULL), TS_OK);
	ck_assert_str_eq(q.where, "1");
	ck_assert_uint_eq(q.nbinds, 0);
	ck_assert_ptr_null(q.binds);
	sql_ids(&sets[SCIM_R_USER], "(none)", &q, got, sizeof got);
	ck_assert_str_eq(got, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
			 "26,27,28,29,30,31,32");
	scim_sql_free(&q);
	ck_assert_ptr_null(q.where);
	scim_sql_free(&q);  /* twice is fine */
	scim_sql_free(NULL);
	/* no resource type */
	ck_assert_int_eq(scim_sql_where(NULL, NULL, &q, NULL), TS_SERVER_ERROR);
	ck_assert_ptr_null(q.where);
}
END_TEST

/* A filter value never reaches the SQL text. */
START_TEST(test_values_bound)
{
	static const char *const fs[] = {
		"userName eq \"x'); DROP TABLE users;--\"",
		"title co \"' OR '1'='1\"",
		"emails[value sw \"\\\"; SELECT\"]",
		"groups.display ew \"') UNION SELECT 1 --\"",
		"name.familyName gt \"zzz' OR 1=1 --\"",
	};
	struct scim_sql q;
	struct scimf_node *n;
	int i;

	for (i = 0; i < N(fs); i++) {
		n = compile(U, fs[i], &q);
		ck_assert_msg(!strstr(q.where, "DROP") && !strstr(q.where, "SELECT 1 --") &&
			      !strstr(q.where, "1=1") && !strstr(q.where, "'1'") &&
			      !strstr(q.where, "; SELECT"), "%s: %s", fs[i], q.where);
		ck_assert_uint_ge(q.nbinds, 1);
		scim_sql_free(&q);
		scimf_free(n);
	}
}
END_TEST

/* ---- sortBy ---- */

#define PRIMARY_OF(p, sub) "(SELECT CASE WHEN e.type = 'object' THEN json_extract(e.value, '$." sub \
	"') END FROM json_each(r.attrs, '" p "') AS e ORDER BY CASE WHEN e.type = 'object' THEN " \
	"json_type(e.value, '$.primary') END IS NOT 'true', e.key LIMIT 1)"
#define USER_GROUPS "SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS display FROM " \
	"group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id"

static const struct {
	enum scim_rtype_id t;
	const char *by, *sql;
} sorts[] = {
	{U, "userName", "r.username COLLATE NOCASE"},
	{U, "USERNAME", "r.username COLLATE NOCASE"},
	{U, SCIM_CORE_USER ":userName", "r.username COLLATE NOCASE"},
	{U, "displayName", "r.name COLLATE NOCASE"},
	{U, "name.familyName", "json_extract(r.attrs, '$.name.familyName') COLLATE NOCASE"},
	{U, "title", "json_extract(r.attrs, '$.title') COLLATE NOCASE"},
	{U, "meta.created", "r.created_at"},
	{U, "meta.lastModified", "r.updated_at"},
	{U, "active", "r.active"},
	{U, "id", "CAST(r.id AS TEXT)"},
	{U, "externalId", "r.external_id"},
	{U, "emails", PRIMARY_OF("$.emails", "value") " COLLATE NOCASE"},
	{U, "emails.value", PRIMARY_OF("$.emails", "value") " COLLATE NOCASE"},
	{U, "emails.type", PRIMARY_OF("$.emails", "type") " COLLATE NOCASE"},
	{U, "x509Certificates", PRIMARY_OF("$.x509Certificates", "value")},
	{U, "department", "json_extract(r.attrs, '$.\"" SCIM_ENTERPRISE_USER "\".department') "
	 "COLLATE NOCASE"},
	{U, ENT "manager", "json_extract(r.attrs, '$.\"" SCIM_ENTERPRISE_USER "\".manager.value') "
	 "COLLATE NOCASE"},
	{U, ENT "manager.displayName", "json_extract(r.attrs, '$.\"" SCIM_ENTERPRISE_USER
	 "\".manager.displayName') COLLATE NOCASE"},
	{U, "scope", "r.scope"},
	{U, "groups", "(SELECT e.value FROM (" USER_GROUPS ") AS e ORDER BY e.value COLLATE NOCASE "
	 "LIMIT 1) COLLATE NOCASE"},
	{U, "groups.display", "(SELECT e.display FROM (" USER_GROUPS ") AS e ORDER BY e.display "
	 "COLLATE NOCASE LIMIT 1) COLLATE NOCASE"},
	{G, "displayName", "r.display_name COLLATE NOCASE"},
	{G, "members.display", "(SELECT e.display FROM (SELECT CAST(m.user_id AS TEXT) AS value, "
	 "u.username AS display FROM group_members m JOIN users u ON u.id = m.user_id WHERE "
	 "m.group_id = r.id) AS e ORDER BY e.display COLLATE NOCASE LIMIT 1) COLLATE NOCASE"},
	{C, "grantTypes", "substr(r.grant_types, 1, instr(r.grant_types || ' ', ' ') - 1)"},
	{C, "refreshGraceSeconds", "r.refresh_grace"},
	{C, "clientName", "r.name COLLATE NOCASE"},
	{C, "id", "r.client_id"},
	{R, "userName", "u.username COLLATE NOCASE"},
	{R, "clientId", "r.client_id"},
};

/* The ids of set t in the order of ORDER BY expr ASC, <id>. */
static void order_ids(enum scim_rtype_id t, const char *expr, const char *where, char *out,
                      size_t n)
{
	static const char *const from[] = {"users r", "groups r", "clients r",
		"grants r LEFT JOIN users u ON u.id = r.user_id"};
	static const char *const id[] = {"r.id", "r.id", "r.client_id", "r.id"};
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("SELECT %s FROM %s WHERE %s ORDER BY %s ASC, %s", id[t],
				    from[t], where, expr, id[t]);

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	step_ids(st, "order", out, n);
	sqlite3_free(sql);
}

START_TEST(test_sort)
{
	struct scim_error e = {0};
	char *order = (char *)"junk", got[512];

	ck_assert_int_eq(scim_sql_order(scim_rtype(sorts[_i].t), sorts[_i].by, &order, &e), TS_OK);
	ck_assert_ptr_nonnull(order);
	ck_assert_str_eq(order, sorts[_i].sql);
	ck_assert_int_eq(e.type, SCIM_E_NONE);
	order_ids(sorts[_i].t, order, "1", got, sizeof got); /* it runs */
	ck_assert(got[0] != '\0');
	free(order);
}
END_TEST

START_TEST(test_sort_orders)
{
	struct scim_error e = {0};
	char *order = NULL, got[512];

	/* no sortBy: no expression */
	order = (char *)"junk";
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), NULL, &order, &e), TS_OK);
	ck_assert_ptr_null(order);
	/* case-insensitive userName */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "userName", &order, &e), TS_OK);
	order_ids(U, order, "r.username LIKE 'a%'", got, sizeof got);
	ck_assert_str_eq(got, "17,9,12,13,14,15,16,3");
	free(order);
	/* emails: the primary's value, else the first's; none last in DESC, first in ASC */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "emails", &order, &e), TS_OK);
	order_ids(U, order, "r.id IN (1, 2, 24, 26, 31, 12)", got, sizeof got);
	ck_assert_str_eq(got, "12,1,24,26,2,31");
	free(order);
	/* emails.type: bjensen's primary is work, Frank's primary (second) is work too, trent other */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "emails.type", &order, &e), TS_OK);
	order_ids(U, order, "r.id IN (1, 4, 31)", got, sizeof got);
	ck_assert_str_eq(got, "4,31,1");
	free(order);
	/* meta.created, ties by id */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "meta.created", &order, &e), TS_OK);
	order_ids(U, order, "r.id IN (1, 2, 3, 29)", got, sizeof got);
	ck_assert_str_eq(got, "29,1,2,3");
	free(order);
	/* groups: the least group id */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "groups.display", &order, &e), TS_OK);
	order_ids(U, order, "r.id IN (1, 2, 4, 24)", got, sizeof got);
	ck_assert_str_eq(got, "1,2,24,4");
	free(order);
	/* clients by their first grant type, then refresh grace */
	ck_assert_int_eq(scim_sql_order(scim_rtype(C), "grantTypes", &order, &e), TS_OK);
	order_ids(C, order, "1", got, sizeof got);
	ck_assert_str_eq(got, "App1-Admin,app1,x,svc,dev-1");
	free(order);
	ck_assert_int_eq(scim_sql_order(scim_rtype(C), "refreshGraceSeconds", &order, &e), TS_OK);
	order_ids(C, order, "1", got, sizeof got);
	ck_assert_str_eq(got, "App1-Admin,app1,dev-1,x,svc");
	free(order);
	/* the primary element wins over the first */
	ck_assert_int_eq(scim_sql_order(scim_rtype(U), "emails", &order, &e), TS_OK);
	{
		sqlite3_stmt *st;
		char *sql = sqlite3_mprintf("SELECT %s FROM users r WHERE r.id = 24", order);

		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "frank@a.com");
		sqlite3_finalize(st);
		sqlite3_free(sql);
	}
	free(order);
}
END_TEST

static const struct {
	enum scim_rtype_id t;
	const char *by;
} bad_sorts[] = {
	{U, "password"}, {U, "foo"}, {U, "emails[type eq \"work\"]"},
	{U, "emails[type eq \"work\"].value"}, {U, "meta"}, {U, "name"}, {U, "meta.version"},
	{U, "meta.resourceType"}, {U, "meta.location"}, {U, ""}, {U, "userName eq \"x\""},
	{U, "groups.type"}, {U, "emails.foo"}, {U, SCIM_TESSERA_GROUP ":scope"},
	{C, "clientSecret"}, {C, "generateSecret"}, {G, "members.type"}, {R, "externalId"},
	{U, "urn:ietf:params:scim:schemas:core:2.0:User"},
};

START_TEST(test_sort_refused)
{
	struct scim_error e = {0};
	char *order = (char *)"junk";

	ck_assert_int_eq(scim_sql_order(scim_rtype(bad_sorts[_i].t), bad_sorts[_i].by, &order, &e),
			 TS_INVALID_REQUEST);
	ck_assert_ptr_null(order);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_VALUE);
	ck_assert_str_eq(e.detail, "invalid sortBy");
	scim_error_clear(&e);
}
END_TEST

/* ---- index use ---- */

/* The EXPLAIN QUERY PLAN details of SELECT ... WHERE <filter's SQL>, joined by " | ". */
static void plan(enum scim_rtype_id t, const char *f, char *out, size_t n)
{
	static const char *const sel[] = {"SELECT r.id FROM users r", "SELECT r.id FROM groups r",
		"SELECT r.client_id FROM clients r",
		"SELECT r.id FROM grants r LEFT JOIN users u ON u.id = r.user_id"};
	struct scim_sql q;
	struct scimf_node *node = compile(t, f, &q);
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s WHERE %s", sel[t], q.where);

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	bind_all(st, &q);
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (out[0])
			strncat(out, " | ", n - strlen(out) - 1);
		strncat(out, (const char *)sqlite3_column_text(st, 3), n - strlen(out) - 1);
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	scim_sql_free(&q);
	scimf_free(node);
}

START_TEST(test_index)
{
	char p[1024];

	plan(U, "userName eq \"bjensen\"", p, sizeof p);
	ck_assert_msg(strstr(p, "USING INDEX sqlite_autoindex_users_1 (username=?)") ||
		      strstr(p, "USING COVERING INDEX sqlite_autoindex_users_1 (username=?)"), "%s", p);
	plan(U, "userName sw \"ab\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX sqlite_autoindex_users_1 (username>? AND username<?)"),
		      "%s", p);
	plan(U, "userName sw \"AB\" and active eq true", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX sqlite_autoindex_users_1 (username>? AND username<?)"),
		      "%s", p);
	plan(U, "USERNAME eq \"x\" or userName eq \"y\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX sqlite_autoindex_users_1 (username=?)"), "%s", p);
	plan(U, "externalId eq \"bj-001\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX users_external_id (external_id=?)"), "%s", p);
	plan(G, "displayName eq \"admins\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX groups_display_name (display_name=?)"), "%s", p);
	plan(G, "displayName sw \"ad\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX groups_display_name (display_name>? AND display_name<?)"), "%s", p);
	plan(C, "externalId eq \"SN-001\"", p, sizeof p);
	ck_assert_msg(strstr(p, "INDEX clients_external_id (external_id=?)"), "%s", p);
	/* a prefix ending in a byte >= 0x7f has no range: a scan, still right */
	plan(U, "userName sw \"zz\u20ac\"", p, sizeof p);
	ck_assert_msg(!strstr(p, "username>?"), "%s", p);
}
END_TEST

/* 100,000 users: userName sw takes the index range, quickly. */
START_TEST(test_index_speed)
{
	struct scim_sql q;
	struct scimf_node *n;
	sqlite3 *m;
	sqlite3_stmt *st;
	char *sql;
	clock_t t0;
	int rows = 0;

	ck_assert_int_eq(sqlite3_open_v2(":memory:", &m, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	exec(m, "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL "
	     "UNIQUE COLLATE NOCASE, name TEXT, attrs TEXT NOT NULL DEFAULT '{}')");
	exec(m, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000) "
	     "INSERT INTO users (username) SELECT printf('user%06d', i) FROM c");
	n = compile(U, "userName sw \"USER0999\"", &q);
	sql = sqlite3_mprintf("SELECT r.id FROM users r WHERE %s", q.where);
	ck_assert_int_eq(sqlite3_prepare_v2(m, sql, -1, &st, NULL), SQLITE_OK);
	bind_all(st, &q);
	t0 = clock();
	while (sqlite3_step(st) == SQLITE_ROW)
		rows++;
	ck_assert_int_eq(rows, 100);
	ck_assert_int_eq(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
	ck_assert_msg(clock() - t0 < slow(0.1) * CLOCKS_PER_SEC, "took %ld", (long)(clock() - t0));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	scim_sql_free(&q);
	scimf_free(n);
	sqlite3_close(m);
}
END_TEST

/* The deepest filter the parser takes compiles (and runs); a deeper hand-built tree is refused. */
START_TEST(test_depth)
{
	char f[SCIMF_MAX_LEN];
	struct scimf_node *n = NULL, *top, *cur;
	struct scim_error e = {0};
	struct scim_sql q;
	size_t len = 0;
	int i;

	for (i = 0; i < SCIMF_MAX_DEPTH - 1; i++) /* the [ is one level too */
		len += (size_t)snprintf(f + len, sizeof f - len, "not (title pr and ");
	len += (size_t)snprintf(f + len, sizeof f - len, "emails[type eq \"work\"]");
	for (i = 0; i < SCIMF_MAX_DEPTH - 1; i++)
		len += (size_t)snprintf(f + len, sizeof f - len, ")");
	ck_assert_uint_lt(len, sizeof f);
	n = compile(U, f, &q);
	scim_sql_free(&q);
	scimf_free(n);
	/* 200 nested NOT nodes, built by hand */
	n = NULL;
	ck_assert_int_eq(scimf_parse("title pr", &n, NULL), TS_OK);
	top = n;
	for (i = 0; i < 200; i++) {
		cur = calloc(1, sizeof *cur);
		ck_assert_ptr_nonnull(cur);
		cur->kind = SCIMF_NOT;
		cur->nkids = 1;
		cur->kids = malloc(sizeof *cur->kids);
		ck_assert_ptr_nonnull(cur->kids);
		cur->kids[0] = top;
		top = cur;
	}
	ck_assert_int_eq(scim_sql_where(scim_rtype(U), top, &q, &e), TS_INVALID_REQUEST);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_FILTER);
	ck_assert_ptr_null(q.where);
	scim_error_clear(&e);
	scimf_free(top);
}
END_TEST

static Suite *scim_sql_suite(void)
{
	Suite *s = suite_create("scim_sql_text");
	TCase *tc = db_tcase();
	TCase *tp = tcase_create("plain");

	tcase_add_test(tc, test_no_filter);
	tcase_add_loop_test(tc, test_sort, 0, N(sorts));
	tcase_add_test(tc, test_sort_orders);
	tcase_add_test(tc, test_index);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 120);
	tcase_add_loop_test(tp, test_text, 0, N(texts));
	tcase_add_test(tp, test_values_bound);
	tcase_add_loop_test(tp, test_sort_refused, 0, N(bad_sorts));
	tcase_add_test(tp, test_index_speed);
	tcase_add_test(tp, test_depth);
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_sql_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
