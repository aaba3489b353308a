/* scim_sql_fixture.c - the database and helpers of the SCIM filter-to-SQL suites (see
 * scim_sql_fixture.h). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store.h"
#include "store.h"
#include "scim_sql_fixture.h"

/* ---- the data: attrs JSON is written with ` for " ---- */

static const struct tuser {
	const char *username, *name, *external_id, *scope;
	int active;
	int64_t created, updated;
	const char *attrs;
} users[] = {
	/* 1 */ {"bjensen", "Barbara Jensen", "bj-001", "openid profile", 1, 1305261754, 1305261754,
	 "{`name`: {`formatted`: `Ms. Barbara J Jensen III`, `familyName`: `Jensen`, `givenName`: `Barbara`},"
	 " `emails`: [{`value`: `bjensen@example.com`, `type`: `work`, `primary`: true},"
	 " {`value`: `babs@jensen.org`, `type`: `home`}],"
	 " `phoneNumbers`: [{`value`: `555-555-8377`, `type`: `work`}], `title`: `Tour Guide`,"
	 " `userType`: `Employee`, `" SCIM_ENTERPRISE_USER "`: {`department`: `Tour Operations`,"
	 " `employeeNumber`: `701984`, `manager`: {`value`: `26118915-6090-4610-87e4-49d8ca9f808d`,"
	 " `displayName`: `John Smith`}}}"},
	/* 2 */ {"jsmith", "John Smith", "JS-002", "", 1, 1400000000, 1500000000,
	 "{`emails`: [{`value`: `John.Smith@Example.COM`, `type`: `WORK`}], `title`: `VP`, `userType`: `Intern`,"
	 " `" SCIM_ENTERPRISE_USER "`: {`department`: `sales`, `employeeNumber`: `42`}}"},
	/* 3 */ {"Alice", NULL, NULL, "mqtt:sub:a/#", 0, 1400000000, 1400000000, "{}"},
	/* 4 */ {"émile", "Émile Zola", "émile-ext", "", 1, 1600000000, 1600000001,
	 "{`name`: {`familyName`: `Zola`, `givenName`: `Émile`}, `emails`: [{`value`: `émile@exämple.fr`,"
	 " `type`: `home`, `primary`: true}], `title`: `Écrivain`}"},
	/* 5 */ {"bob", "Bob", "bob", "openid", 1, 1500000000, 1500000000,
	 "{`title`: 42, `emails`: [{`value`: 7, `type`: `work`}], `name`: {`familyName`: 5}}"},
	/* 6 */ {"carol", "", NULL, "", 1, 1500000000, 1500000000,
	 "{`title`: ``, `emails`: [], `userType`: null, `name`: {}}"},
	/* 7 */ {"dave", "Dave", NULL, "", 1, 1500000001, 1500000001,
	 "{`emails`: [{`type`: `work`}], `phoneNumbers`: [{`value`: `+1 555 0100`, `type`: `mobile`,"
	 " `primary`: true}, {`value`: `+1 555 0101`, `type`: `work`}]}"},
	/* 8 */ {"eve", "Eve", NULL, "openid", 1, 1500000002, 1500000002,
	 "{`title`: `true`, `nickName`: `TRUE`, `" SCIM_ENTERPRISE_USER "`: {`department`: `Security`}}"},
	/* 9 */ {"a' OR 1=1--", "Robert'); DROP TABLE users;--", NULL, "", 1, 1500000003, 1500000003,
	 "{`title`: `a' OR 1=1--`}"},
	/* 10 */ {"percent%user", NULL, NULL, "", 1, 1500000004, 1500000004, "{`title`: `100%`}"},
	/* 11 */ {"under_score", NULL, NULL, "", 1, 1500000005, 1500000005, "{`title`: `a_b`}"},
	/* 12 */ {"ab", NULL, NULL, "", 1, 1500000006, 1500000006, "{}"},
	/* 13 */ {"abc", NULL, NULL, "", 1, 1500000007, 1500000007, "{`title`: `ABC`}"},
	/* 14 */ {"ABD", NULL, NULL, "", 1, 1500000008, 1500000008, "{}"},
	/* 15 */ {"abz", NULL, NULL, "", 0, 1500000009, 1500000009, "{}"},
	/* 16 */ {"ac", NULL, NULL, "", 1, 1500000010, 1500000010, "{}"},
	/* 17 */ {"a", NULL, NULL, "", 1, 1500000011, 1500000011, "{}"},
	/* 18 */ {"zz{top", NULL, NULL, "", 1, 1500000012, 1500000012, "{}"},
	/* 19 */ {"zz€uro", NULL, NULL, "", 1, 1500000013, 1500000013, "{}"},
	/* 20 */ {"x@y", NULL, NULL, "", 1, 1500000014, 1500000014, "{}"},
	/* 21 */ {"x[z", NULL, NULL, "", 1, 1500000015, 1500000015, "{}"},
	/* 22 */ {"xaz", NULL, NULL, "", 1, 1500000016, 1500000016, "{}"},
	/* 23 */ {"mgr", "Manager-less", NULL, "", 1, 1500000017, 1500000017,
	 "{`" SCIM_ENTERPRISE_USER "`: {`manager`: {`displayName`: `Boss`}}}"},
	/* 24 */ {"Frank", "Frank", "F-1", "openid email", 1, 1700000000, 1700000000,
	 "{`emails`: [{`value`: `frank@b.com`, `type`: `work`}, {`value`: `frank@a.com`, `type`: `work`,"
	 " `primary`: true}], `ims`: [{`value`: `frank@jabber.org`, `type`: `xmpp`}],"
	 " `addresses`: [{`locality`: `Paris`, `type`: `work`}], `title`: `tour guide`}"},
	/* 25 */ {"grace", "Grace", NULL, "", 1, 1700000001, 1700000001,
	 "{`" SCIM_ENTERPRISE_USER "`: {}, `roles`: [{`value`: `admin`, `primary`: true}, {`value`: `dev`}],"
	 " `entitlements`: [{`value`: `ent1`}]}"},
	/* 26 */ {"ivan", "Ivan", NULL, "", 1, 1700000002, 1700000002,
	 "{`emails`: [{`value`: `ivan@example.com`, `type`: `work`, `primary`: false}]}"},
	/* 27 */ {"mallory", "MALLORY", NULL, "", 1, 1700000003, 1700000003,
	 "{`emails`: [{`value`: `MALLORY@EXAMPLE.COM`, `type`: `Work`, `display`: `M`}], `userType`: `employee`}"},
	/* 28 */ {"niaj", "Niaj", NULL, "", 1, 1700000004, 1700000004,
	 "{`x509Certificates`: [{`value`: `MIIBexample`}], `roles`: [{`value`: `ADMIN`}]}"},
	/* 29 */ {"olivia", "Olivia", NULL, "", 0, 1293840000, 1293840000, "{`nickName`: `Liv`}"},
	/* 30 */ {"peggy", "Peggy", NULL, "", 1, 1700000005, 1700000005,
	 "{`emails`: [{`value`: ``, `type`: `work`}], `title`: `  spaced  `}"},
	/* 31 */ {"trent", "Trent", "T", "", 1, 1700000006, 1700000006,
	 "{`emails`: [{`value`: `t@x.org`, `display`: `Trent`, `type`: `other`, `primary`: true}],"
	 " `phoneNumbers`: [{`value`: `123`}], `name`: {`familyName`: `O'Malley`}}"},
	/* 32 */ {"uma", "Uma", NULL, "", 1, 1700000007, 1700000007,
	 "{`emails`: [`uma@plain.org`, {`value`: `uma@x.org`, `primary`: `true`}]}"},
};

static const struct tgroup {
	const char *name, *external_id, *scope;
	int64_t created;
} groups[] = {
	/* 1 */ {"Admins", "G-1", "admin", 1400000000},
	/* 2 */ {"Tour Guides", "g-1", "", 1500000000},
	/* 3 */ {"Ops", NULL, "mqtt:pub:ops/#", 1600000000},
	/* 4 */ {"ÜberGroup", NULL, "", 1700000000},
	/* 5 */ {"empty", NULL, "", 1700000001},
};

static const int members[][2] = { /* group, user */
	{1, 1}, {2, 1}, {3, 2}, {1, 3}, {2, 24}, {4, 4}, {3, 27}, {1, 27},
};

static const struct tclient {
	const char *id, *name, *redirect_uris, *grant_types, *scope, *external_id;
	int is_public, rotation, grace, idle, lifetime, active;
	int64_t created;
} clients[] = { /* in client_id order */
	{"App1-Admin", "App One Admin", "", "", "", NULL, 0, 1, 0, 0, 0, 1, 1500000000},
	{"app1", "App One", "https://app1.example/cb https://app1.example/cb2",
	 "authorization_code refresh_token", "openid profile", NULL, 1, 1, 0, 0, 0, 1, 1400000000},
	{"dev-1", "Thermostat", "", "urn:ietf:params:oauth:grant-type:device_code refresh_token",
	 "openid mqtt:pub:t/#", "sn-001", 1, 0, 0, 3600, 86400, 0, 1600000000},
	{"svc", "", "", "client_credentials", "mqtt:pub:a/# mqtt:sub:b", "SN-001", 0, 1, 30, 0, 0,
	 1, 1700000000},
	{"x", "x", "https://x.example/a%20b", "authorization_code", "openid", NULL, 0, 1, 10, 7200,
	 0, 1, 1700000001},
};

static const struct tgrant {
	const char *client_id;
	int user_id; /* 0: none */
	const char *scope;
	int64_t created;
} grants[] = {
	/* 1 */ {"app1", 1, "openid profile", 1500000000},
	/* 2 */ {"svc", 0, "mqtt:pub:a/#", 1500000001},
	/* 3 */ {"app1", 2, "openid", 1600000000},
	/* 4 */ {"dev-1", 3, "openid offline_access", 1600000001},
	/* 5 */ {"svc", 0, "", 1700000000},
	/* 6 */ {"x", 24, "openid", 1700000002},
};

/* ---- the database and the JSON of each resource ---- */

static char dir[64], dbpath[128];
struct rset sets[SCIM_R_COUNT];
sqlite3 *db;

static void rfc3339(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *meta(const char *type, int64_t created, int64_t updated)
{
	char c[32], u[32];

	rfc3339(created, c, sizeof c);
	rfc3339(updated, u, sizeof u);
	return json_pack("{s:s, s:s, s:s}", "resourceType", type, "created", c, "lastModified", u);
}

static json_t *parse_ticks(const char *s)
{
	char *copy = strdup(s), *p;
	json_t *j;

	ck_assert_ptr_nonnull(copy);
	for (p = copy; *p; p++)
		if (*p == '`')
			*p = '"';
	j = json_loads(copy, 0, NULL);
	ck_assert_msg(j != NULL, "bad test JSON %s", copy);
	free(copy);
	return j;
}

void exec(sqlite3 *d, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(d, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

/* Runs sql with the given text/int/null parameters (fmt: one char each: s, i, n). */
static void run(sqlite3 *d, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i;

	ck_assert_msg(sqlite3_prepare_v2(d, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(d));
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 's') {
			const char *s = va_arg(ap, const char *);

			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
		} else if (fmt[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else if (fmt[i] == 'b') {
			const char *s = va_arg(ap, const char *);

			if (s)
				sqlite3_bind_blob(st, i + 1, s, 32, SQLITE_TRANSIENT);
		}
	}
	va_end(ap);
	ck_assert_msg(sqlite3_step(st) == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(d));
	sqlite3_finalize(st);
}

static json_t *schemas_of(const char *core, json_t *doc)
{
	json_t *s = json_pack("[s]", core);
	const char *exts[] = {SCIM_ENTERPRISE_USER, SCIM_TESSERA_USER, SCIM_TESSERA_GROUP};
	int i;

	for (i = 0; i < N(exts); i++)
		if (json_object_get(doc, exts[i]))
			json_array_append_new(s, json_string(exts[i]));
	return s;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

static void load_users(sqlite3 *d)
{
	struct rset *r = &sets[SCIM_R_USER];
	int i, j;

	r->t = SCIM_R_USER;
	r->select = "SELECT r.id FROM users r WHERE %s ORDER BY r.id";
	for (i = 0; i < N(users); i++) {
		const struct tuser *u = &users[i];
		json_t *doc = parse_ticks(u->attrs), *gs = json_array();
		char *attrs = json_dumps(doc, JSON_COMPACT);

		run(d, "INSERT INTO users (username, name, external_id, scope, active, created_at, "
		    "updated_at, attrs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssssiiis", u->username,
		    u->name, u->external_id, u->scope, (int64_t)u->active, u->created, u->updated, attrs);
		free(attrs);
		snprintf(r->ids[i], sizeof r->ids[i], "%d", i + 1);
		json_object_set_new(doc, "id", json_string(r->ids[i]));
		set_str(doc, "userName", u->username);
		set_str(doc, "displayName", u->name);
		set_str(doc, "externalId", u->external_id);
		json_object_set_new(doc, "active", json_boolean(u->active));
		if (*u->scope)
			json_object_set_new(doc, SCIM_TESSERA_USER, json_pack("{s:s}", "scope", u->scope));
		for (j = 0; j < N(members); j++)
			if (members[j][1] == i + 1) {
				char v[16];

				snprintf(v, sizeof v, "%d", members[j][0]);
				json_array_append_new(gs, json_pack("{s:s, s:s}", "value", v, "display",
								    groups[members[j][0] - 1].name));
			}
		if (json_array_size(gs))
			json_object_set(doc, "groups", gs);
		json_decref(gs);
		json_object_set_new(doc, "schemas", schemas_of(SCIM_CORE_USER, doc));
		json_object_set_new(doc, "meta", meta("User", u->created, u->updated));
		r->docs[r->n++] = doc;
	}
}

static void load_groups(sqlite3 *d)
{
	struct rset *r = &sets[SCIM_R_GROUP];
	int i, j;

	r->t = SCIM_R_GROUP;
	r->select = "SELECT r.id FROM groups r WHERE %s ORDER BY r.id";
	for (i = 0; i < N(groups); i++) {
		const struct tgroup *g = &groups[i];
		json_t *doc = json_object(), *ms = json_array();

		run(d, "INSERT INTO groups (display_name, external_id, scope, created_at, updated_at) "
		    "VALUES (?, ?, ?, ?, ?)", "sssii", g->name, g->external_id, g->scope, g->created,
		    g->created);
		snprintf(r->ids[i], sizeof r->ids[i], "%d", i + 1);
		json_object_set_new(doc, "id", json_string(r->ids[i]));
		set_str(doc, "displayName", g->name);
		set_str(doc, "externalId", g->external_id);
		if (*g->scope)
			json_object_set_new(doc, SCIM_TESSERA_GROUP, json_pack("{s:s}", "scope", g->scope));
		for (j = 0; j < N(members); j++)
			if (members[j][0] == i + 1) {
				char v[16];

				snprintf(v, sizeof v, "%d", members[j][1]);
				json_array_append_new(ms, json_pack("{s:s, s:s}", "value", v, "display",
								    users[members[j][1] - 1].username));
			}
		if (json_array_size(ms))
			json_object_set(doc, "members", ms);
		json_decref(ms);
		json_object_set_new(doc, "schemas", schemas_of(SCIM_CORE_GROUP, doc));
		json_object_set_new(doc, "meta", meta("Group", g->created, g->created));
		r->docs[r->n++] = doc;
	}
	for (j = 0; j < N(members); j++)
		run(d, "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)", "ii",
		    (int64_t)members[j][0], (int64_t)members[j][1]);
}

/* A space-separated list as a JSON array (NULL when empty). */
static json_t *words(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *q;

	while (*p) {
		q = strchr(p, ' ');
		if (!q)
			q = p + strlen(p);
		json_array_append_new(a, json_stringn(p, (size_t)(q - p)));
		p = *q ? q + 1 : q;
	}
	if (!json_array_size(a)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static void load_clients(sqlite3 *d)
{
	static const char hash[32] = "0123456789abcdef0123456789abcdef";
	struct rset *r = &sets[SCIM_R_CLIENT];
	int i;

	r->t = SCIM_R_CLIENT;
	r->select = "SELECT r.client_id FROM clients r WHERE %s ORDER BY r.client_id";
	for (i = 0; i < N(clients); i++) {
		const struct tclient *c = &clients[i];
		json_t *doc = json_object(), *w;

		run(d, "INSERT INTO clients (client_id, name, is_public, secret_hash, redirect_uris, "
		    "grant_types, scope, refresh_rotation, refresh_grace, refresh_idle_ttl, "
		    "grant_lifetime, active, created_at, updated_at, external_id, auth_method) VALUES "
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ssibsssiiiiiiiss", c->id, c->name,
		    (int64_t)c->is_public, c->is_public ? NULL : hash, c->redirect_uris, c->grant_types,
		    c->scope, (int64_t)c->rotation, (int64_t)c->grace, (int64_t)c->idle,
		    (int64_t)c->lifetime, (int64_t)c->active, c->created, c->created, c->external_id,
		    c->is_public ? "none" : "client_secret_basic");
		snprintf(r->ids[i], sizeof r->ids[i], "%s", c->id);
		json_object_set_new(doc, "id", json_string(c->id));
		set_str(doc, "clientName", c->name);
		set_str(doc, "externalId", c->external_id);
		set_str(doc, "scope", c->scope);
		if ((w = words(c->redirect_uris)))
			json_object_set_new(doc, "redirectUris", w);
		if ((w = words(c->grant_types)))
			json_object_set_new(doc, "grantTypes", w);
		json_object_set_new(doc, "public", json_boolean(c->is_public));
		json_object_set_new(doc, "refreshTokenRotation", json_boolean(c->rotation));
		json_object_set_new(doc, "refreshGraceSeconds", json_integer(c->grace));
		json_object_set_new(doc, "refreshIdleSeconds", json_integer(c->idle));
		json_object_set_new(doc, "grantLifetimeSeconds", json_integer(c->lifetime));
		json_object_set_new(doc, "active", json_boolean(c->active));
		json_object_set_new(doc, "schemas", json_pack("[s]", SCIM_TESSERA_CLIENT));
		json_object_set_new(doc, "meta", meta("Client", c->created, c->created));
		r->docs[r->n++] = doc;
	}
}

static void load_grants(sqlite3 *d)
{
	struct rset *r = &sets[SCIM_R_GRANT];
	int i;

	r->t = SCIM_R_GRANT;
	r->select = "SELECT r.id FROM grants r LEFT JOIN users u ON u.id = r.user_id WHERE %s "
		    "ORDER BY r.id";
	for (i = 0; i < N(grants); i++) {
		const struct tgrant *g = &grants[i];
		json_t *doc = json_object();

		run(d, "INSERT INTO grants (client_id, user_id, scope, created_at, updated_at) VALUES "
		    "(?, ?, ?, ?, ?)", "snsii", g->client_id, g->scope, g->created, g->created);
		if (g->user_id)
			run(d, "UPDATE grants SET user_id = ? WHERE id = ?", "ii", (int64_t)g->user_id,
			    (int64_t)(i + 1));
		snprintf(r->ids[i], sizeof r->ids[i], "%d", i + 1);
		json_object_set_new(doc, "id", json_string(r->ids[i]));
		json_object_set_new(doc, "clientId", json_string(g->client_id));
		if (g->user_id) {
			char v[16];

			snprintf(v, sizeof v, "%d", g->user_id);
			json_object_set_new(doc, "userId", json_string(v));
			set_str(doc, "userName", users[g->user_id - 1].username);
		}
		set_str(doc, "scope", g->scope);
		json_object_set_new(doc, "schemas", json_pack("[s]", SCIM_TESSERA_GRANT));
		json_object_set_new(doc, "meta", meta("Grant", g->created, g->created));
		r->docs[r->n++] = doc;
	}
}

/* Once per test case (before forking): the database file, migrated by store_open, with the
 * data; the JSON documents. */
void data_setup(void)
{
	store *s = NULL;
	sqlite3 *d;

	snprintf(dir, sizeof dir, "/tmp/test_scim_sql.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
	ck_assert_int_eq(store_open(dbpath, 1000, 1, &s), TS_OK);
	store_close(s);
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &d, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	exec(d, "BEGIN");
	load_users(d);
	load_groups(d);
	load_clients(d);
	load_grants(d);
	exec(d, "COMMIT");
	exec(d, "PRAGMA wal_checkpoint(TRUNCATE)");
	exec(d, "ANALYZE");
	sqlite3_close(d);
}

void data_teardown(void)
{
	char p[160];
	int i, j;

	for (i = 0; i < SCIM_R_COUNT; i++)
		for (j = 0; j < sets[i].n; j++)
			json_decref(sets[i].docs[j]);
	memset(sets, 0, sizeof sets);
	snprintf(p, sizeof p, "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", dbpath);
	unlink(p);
	unlink(dbpath);
	rmdir(dir);
}

const char *data_path(void)
{
	return dbpath;
}

/* Per test (in its own process): a connection of its own. */
void conn_setup(void)
{
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

void conn_teardown(void)
{
	sqlite3_close(db);
	db = NULL;
}

/* ---- compiling and running ---- */

void bind_all(sqlite3_stmt *st, const struct scim_sql *q)
{
	size_t i;

	for (i = 0; i < q->nbinds; i++) {
		const struct scim_bind *b = &q->binds[i];
		int k = (int)i + 1;

		switch (b->type) {
		case SCIM_BIND_TEXT: sqlite3_bind_text(st, k, b->text, -1, SQLITE_STATIC); break;
		case SCIM_BIND_INT: sqlite3_bind_int64(st, k, b->i); break;
		case SCIM_BIND_REAL: sqlite3_bind_double(st, k, b->d); break;
		default: sqlite3_bind_null(st, k); break;
		}
	}
}

/* Every ?k in the text is 1..nbinds and each bind is used; no quote but the fixed JSON paths'. */
static void check_placeholders(const char *f, const struct scim_sql *q)
{
	char used[64] = {0};
	const char *p;
	size_t i;

	ck_assert_msg(q->nbinds < sizeof used, "%s: %zu binds", f, q->nbinds);
	for (p = q->where; (p = strchr(p, '?')); ) {
		unsigned long k = strtoul(p + 1, (char **)&p, 10);

		ck_assert_msg(k >= 1 && k <= q->nbinds, "%s: ?%lu of %zu", f, k, q->nbinds);
		used[k] = 1;
	}
	for (i = 1; i <= q->nbinds; i++)
		ck_assert_msg(used[i], "%s: ?%zu unused in %s", f, i, q->where);
}

void ids_add(char *out, size_t n, const char *id)
{
	if (out[0])
		strncat(out, ",", n - strlen(out) - 1);
	strncat(out, id, n - strlen(out) - 1);
}

void step_ids(sqlite3_stmt *st, const char *label, char *out, size_t n)
{
	int rc;

	out[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids_add(out, n, (const char *)sqlite3_column_text(st, 0));
	ck_assert_msg(rc == SQLITE_DONE, "%s: %s: %s", label, sqlite3_sql(st),
	              sqlite3_errmsg(sqlite3_db_handle(st)));
	sqlite3_finalize(st);
}

/* The ids rows of set r that the compiled filter selects, comma-separated. */
void sql_ids(const struct rset *r, const char *f, const struct scim_sql *q, char *out,
             size_t n)
{
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf(r->select, q->where);

	ck_assert_ptr_nonnull(sql);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s: %s", f, sql,
		      sqlite3_errmsg(db));
	bind_all(st, q);
	step_ids(st, f, out, n);
	sqlite3_free(sql);
}

/* The ids of set r whose JSON scimf_match accepts. */
void match_ids(const struct rset *r, const struct scimf_node *n, int ce, char *out,
               size_t size)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < r->n; i++)
		if (scimf_match(n, r->docs[i], ce))
			ids_add(out, size, r->ids[i]);
}

/* Compiles filter f for t (TS_OK expected) into q. */
struct scimf_node *compile(enum scim_rtype_id t, const char *f, struct scim_sql *q)
{
	struct scim_error e = {0};
	struct scimf_node *n = NULL;
	const char *why = NULL;
	ts_err err;

	ck_assert_msg(scimf_parse(f, &n, &why) == TS_OK, "%s: %s", f, why);
	err = scim_sql_where(scim_rtype(t), n, q, &e);
	ck_assert_msg(err == TS_OK, "%s: %d %s", f, err, e.detail ? e.detail : "");
	ck_assert_int_eq(e.type, SCIM_E_NONE);
	ck_assert_ptr_nonnull(q->where);
	check_placeholders(f, q);
	return n;
}

/* The ids filter f selects in the database (out). */
void select_ids(enum scim_rtype_id t, const char *f, char *out, size_t n)
{
	struct scim_sql q;
	struct scimf_node *node = compile(t, f, &q);

	sql_ids(&sets[t], f, &q, out, n);
	scim_sql_free(&q);
	scimf_free(node);
}

TCase *db_tcase(void)
{
	TCase *tc = tcase_create("db");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, data_setup, data_teardown);
	tcase_add_checked_fixture(tc, conn_setup, conn_teardown);
	return tc;
}
