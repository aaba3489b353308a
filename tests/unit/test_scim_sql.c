/* test_scim_sql.c - SCIM filters and sortBy compiled to SQL (lib/scim_sql.c): exact SQL text and
 * binds, every refusal, and the main check: on a real database (every migration applied by
 * store_open) with ~30 varied users, groups, clients and grants, the rows each filter selects are
 * exactly the resources scimf_match accepts on their JSON representation. */
#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "scim_sql.h"
#include "store.h"
#include "slowdown.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ENT SCIM_ENTERPRISE_USER ":"
#define TUS SCIM_TESSERA_USER ":"
#define TGR SCIM_TESSERA_GROUP ":"

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

struct rset {
	enum scim_rtype_id t;
	const char *select;      /* SELECT <id> FROM ... WHERE %s ORDER BY <id> */
	json_t *docs[40];
	char ids[40][32];
	int n;
};

static char dir[64], dbpath[128];
static struct rset sets[SCIM_R_COUNT];
static sqlite3 *db;

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

static void exec(sqlite3 *d, const char *sql)
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
		    "grant_lifetime, active, created_at, updated_at, external_id) VALUES "
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ssibsssiiiiiiis", c->id, c->name,
		    (int64_t)c->is_public, c->is_public ? NULL : hash, c->redirect_uris, c->grant_types,
		    c->scope, (int64_t)c->rotation, (int64_t)c->grace, (int64_t)c->idle,
		    (int64_t)c->lifetime, (int64_t)c->active, c->created, c->created, c->external_id);
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
static void data_setup(void)
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

static void data_teardown(void)
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

/* Per test (in its own process): a connection of its own. */
static void db_setup(void)
{
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void db_teardown(void)
{
	sqlite3_close(db);
	db = NULL;
}

/* ---- compiling and running ---- */

static void bind_all(sqlite3_stmt *st, const struct scim_sql *q)
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

/* The ids rows of set r that the compiled filter selects, comma-separated. */
static void sql_ids(const struct rset *r, const char *f, const struct scim_sql *q, char *out,
                    size_t n)
{
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf(r->select, q->where);
	int rc;

	ck_assert_ptr_nonnull(sql);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s: %s", f, sql,
		      sqlite3_errmsg(db));
	bind_all(st, q);
	out[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out[0])
			strncat(out, ",", n - strlen(out) - 1);
		strncat(out, (const char *)sqlite3_column_text(st, 0), n - strlen(out) - 1);
	}
	ck_assert_msg(rc == SQLITE_DONE, "%s: %s: %s", f, sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_free(sql);
}

/* The ids of set r whose JSON scimf_match accepts. */
static void match_ids(const struct rset *r, const struct scimf_node *n, int ce, char *out,
                      size_t size)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < r->n; i++)
		if (scimf_match(n, r->docs[i], ce)) {
			if (out[0])
				strncat(out, ",", size - strlen(out) - 1);
			strncat(out, r->ids[i], size - strlen(out) - 1);
		}
}

/* Compiles filter f for t (TS_OK expected) into q. */
static struct scimf_node *compile(enum scim_rtype_id t, const char *f, struct scim_sql *q)
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
static void select_ids(enum scim_rtype_id t, const char *f, char *out, size_t n)
{
	struct scim_sql q;
	struct scimf_node *node = compile(t, f, &q);

	sql_ids(&sets[t], f, &q, out, n);
	scim_sql_free(&q);
	scimf_free(node);
}

/* ---- the main check: SQL agrees with scimf_match ---- */

#define U SCIM_R_USER
#define G SCIM_R_GROUP
#define C SCIM_R_CLIENT
#define R SCIM_R_GRANT

static const struct {
	enum scim_rtype_id t;
	int ce;          /* scimf_match's case_exact */
	const char *f;
	const char *ids; /* if not NULL: what both must select */
} agree[] = {
	/* columns: userName (NOCASE), displayName, active, id, meta */
	{U, 0, "userName eq \"bjensen\"", "1"},
	{U, 0, "userName eq \"BJensen\"", "1"},
	{U, 0, "USERNAME EQ \"alice\"", "3"},
	{U, 0, "userName ne \"bjensen\"", NULL},
	{U, 0, "userName co \"AB\"", "12,13,14,15"},
	{U, 0, "userName co \"%\"", "10"},
	{U, 0, "userName co \"_\"", "11"},
	{U, 0, "userName co \"'\"", "9"},
	{U, 0, "userName eq \"a' OR 1=1--\"", "9"},
	{U, 0, "userName eq \"x' OR '1'='1\"", ""},
	{U, 0, "userName sw \"ab\"", "12,13,14,15"},
	{U, 0, "userName sw \"AB\"", "12,13,14,15"},
	{U, 0, "userName sw \"a\"", "3,9,12,13,14,15,16,17"},
	{U, 0, "userName sw \"abc\"", "13"},
	{U, 0, "userName sw \"x@\"", "20"},
	{U, 0, "userName sw \"X\"", "20,21,22"},
	{U, 0, "userName sw \"zz{\"", "18"},
	{U, 0, "userName sw \"zz€\"", "19"},
	{U, 0, "userName sw \"\"", NULL},
	{U, 0, "userName sw \"émi\"", "4"},
	{U, 0, "userName sw \"ÉMI\"", ""},
	{U, 0, "userName sw \"a%\"", ""},
	{U, 0, "userName sw \"a_\"", ""},
	{U, 0, "userName ew \"E\"", NULL},
	{U, 0, "userName ew \"BC\"", "13"},
	{U, 0, "userName ew \"abc\"", "13"},
	{U, 0, "userName ew \"xabc\"", ""},
	{U, 0, "userName ew \"\"", NULL},
	{U, 0, "userName co \"\"", NULL},
	{U, 0, "userName gt \"m\"", NULL},
	{U, 0, "userName ge \"BOB\"", NULL},
	{U, 0, "userName lt \"b\"", NULL},
	{U, 0, "userName le \"Ab\"", NULL},
	{U, 0, "userName pr", NULL},
	{U, 0, "userName eq null", ""},
	{U, 0, "userName ne null", NULL},
	{U, 0, "not (userName sw \"a\")", NULL},
	{U, 0, "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"A\"", NULL},
	{U, 0, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:username sw \"A\"", NULL},
	{U, 0, "displayName eq \"barbara jensen\"", "1"},
	{U, 0, "displayName co \"SMITH\"", "2"},
	{U, 0, "displayName pr", NULL},
	{U, 0, "displayName eq null", NULL},
	{U, 0, "displayName ne \"Barbara Jensen\"", NULL},
	{U, 0, "displayName sw \"\"", NULL},
	{U, 0, "displayName gt \"M\"", NULL},
	{U, 0, "displayName le \"bob\"", NULL},
	{U, 0, "displayName co \"'); DROP TABLE users;--\"", "9"},
	{U, 0, "displayName eq \"\"", ""},
	{U, 0, "displayName ne \"\"", NULL},
	{U, 0, "not (displayName lt \"m\")", NULL},
	{U, 0, "displayName ew \"zola\"", "4"},
	{U, 0, "active eq true", NULL},
	{U, 0, "active eq false", "3,15,29"},
	{U, 0, "active ne true", "3,15,29"},
	{U, 0, "active ne false", NULL},
	{U, 0, "active pr", NULL},
	{U, 0, "active eq null", ""},
	{U, 0, "not (active eq false)", NULL},
	{U, 1, "id eq \"3\"", "3"},
	{U, 1, "id ne \"3\"", NULL},
	{U, 1, "id gt \"29\"", NULL},
	{U, 1, "id sw \"1\"", NULL},
	{U, 1, "id pr", NULL},
	{U, 1, "externalId eq \"bj-001\"", "1"},
	{U, 1, "externalId sw \"JS\"", "2"},
	{U, 1, "externalId co \"-\"", NULL},
	{U, 1, "externalId pr", NULL},
	{U, 1, "externalId eq null", NULL},
	{U, 1, "externalId ne \"T\"", NULL},
	{U, 1, "externalId gt \"a\"", NULL},
	{U, 0, "meta.created gt \"2015-01-01T00:00:00Z\"", NULL},
	{U, 0, "meta.created ge \"2017-07-14T02:40:00Z\"", NULL},
	{U, 0, "meta.created lt \"2011-05-13T04:42:34Z\"", "29"},
	{U, 0, "meta.created le \"2011-05-13T04:42:34Z\"", "1,29"},
	{U, 0, "meta.created eq \"2011-05-13T04:42:34Z\"", "1"},
	{U, 0, "meta.created ne \"2011-05-13T04:42:34Z\"", NULL},
	{U, 0, "meta.lastModified gt \"2017-07-14T02:40:00Z\"", NULL},
	{U, 0, "meta.lastModified eq \"2020-09-13T12:26:41Z\"", "4"},
	{U, 0, "meta.created pr", NULL},
	{U, 0, "meta[created lt \"2014-05-13T16:53:20Z\" or lastModified eq \"2014-05-13T16:53:20Z\"]", "1,3,29"},
	{U, 0, "not (meta.created gt \"2015-01-01T00:00:00Z\")", NULL},
	/* single-valued JSON attributes */
	{U, 0, "title eq \"tour guide\"", "1,24"},
	{U, 0, "title co \"OUR\"", "1,24"},
	{U, 0, "title sw \"t\"", "1,8,24"},
	{U, 0, "title ew \"E\"", "1,8,24"},
	{U, 0, "title pr", NULL},
	{U, 0, "title eq null", NULL},
	{U, 0, "title ne \"VP\"", NULL},
	{U, 0, "title gt \"a\"", NULL},
	{U, 0, "title lt \"Z\"", NULL},
	{U, 0, "title ge \"VP\"", NULL},
	{U, 0, "title le \"100%\"", NULL},
	{U, 0, "title eq \"42\"", ""},
	{U, 0, "title sw \"4\"", ""},
	{U, 0, "title eq \"true\"", "8"},
	{U, 0, "title co \"%\"", "10"},
	{U, 0, "title co \"_\"", "11"},
	{U, 0, "title eq \"a' OR 1=1--\"", "9"},
	{U, 0, "title sw \"\"", NULL},
	{U, 0, "title ew \"\"", NULL},
	{U, 0, "title co \"\"", NULL},
	{U, 0, "title eq \"\"", "6"},
	{U, 0, "title co \" \"", "1,9,24,30"},
	{U, 0, "title ew \"  \"", "30"},
	{U, 0, "title co \"écri\"", ""},
	{U, 0, "title co \"Écri\"", "4"},
	{U, 0, "title ew \"ABC\"", "13"},
	{U, 0, "not (title sw \"t\")", NULL},
	{U, 0, "nickName eq \"true\"", "8"},
	{U, 0, "nickName pr", NULL},
	{U, 0, "userType eq \"Employee\" and title pr", "1"},
	{U, 0, "userType ne \"Employee\"", NULL},
	{U, 0, "userType pr", NULL},
	{U, 0, "userType eq null", NULL},
	{U, 0, "name.familyName eq \"jensen\"", "1"},
	{U, 0, "name.familyName pr", NULL},
	{U, 0, "name.familyName eq \"5\"", ""},
	{U, 0, "name.familyName co \"O'Malley\"", "31"},
	{U, 0, "name.givenName sw \"B\"", "1"},
	{U, 0, "name pr", NULL},
	{U, 0, "name eq null", NULL},
	{U, 0, "name[givenName sw \"b\" and familyName pr]", "1"},
	{U, 0, "not (name[givenName pr])", NULL},
	{U, 0, "name[not (givenName pr)]", NULL},
	/* multi-valued JSON attributes */
	{U, 0, "emails eq \"bjensen@example.com\"", "1"},
	{U, 0, "emails co \"example.com\"", NULL},
	{U, 0, "emails.value co \"EXAMPLE\"", NULL},
	{U, 0, "emails ew \".org\"", NULL},
	{U, 0, "emails eq \"7\"", ""},
	{U, 0, "emails eq \"uma@plain.org\"", "32"},
	{U, 0, "emails.value eq \"uma@plain.org\"", ""},
	{U, 0, "emails sw \"\"", NULL},
	{U, 0, "emails.value eq \"\"", "30"},
	{U, 0, "emails ne \"bjensen@example.com\"", NULL},
	{U, 0, "emails.type eq \"work\"", NULL},
	{U, 0, "emails.type eq \"WORK\"", NULL},
	{U, 0, "emails.type ne \"work\"", NULL},
	{U, 0, "emails.primary eq true", NULL},
	{U, 0, "emails.primary eq false", "26"},
	{U, 0, "emails.primary ne true", NULL},
	{U, 0, "emails.display pr", NULL},
	{U, 0, "emails.value pr", NULL},
	{U, 0, "emails pr", NULL},
	{U, 0, "emails eq null", NULL},
	{U, 0, "not (emails pr)", NULL},
	{U, 0, "emails[type eq \"work\" and value co \"@example.com\"]", NULL},
	{U, 0, "emails[type eq \"work\" and primary eq true]", "1,24"},
	{U, 0, "emails[not (type eq \"work\")]", NULL},
	{U, 0, "emails[type ne \"work\"]", NULL},
	{U, 0, "emails[primary eq false]", "26"},
	{U, 0, "emails[primary eq true]", NULL},
	{U, 0, "emails[value pr]", NULL},
	{U, 0, "emails[value eq null]", NULL},
	{U, 0, "emails[value eq null or display eq \"m\"]", NULL},
	{U, 0, "not (emails[type eq \"work\"])", NULL},
	{U, 0, "phoneNumbers co \"555\"", "1,7"},
	{U, 0, "phoneNumbers[type eq \"mobile\" and primary eq true]", "7"},
	{U, 0, "phoneNumbers.value sw \"+1\"", "7"},
	{U, 0, "phoneNumbers eq \"123\"", "31"},
	{U, 0, "ims pr", "24"},
	{U, 0, "ims[type eq \"XMPP\"]", "24"},
	{U, 0, "addresses[locality eq \"paris\"]", "24"},
	{U, 0, "addresses.type eq \"work\"", "24"},
	{U, 0, "roles eq \"admin\"", "25,28"},
	{U, 0, "roles[primary eq true and value eq \"ADMIN\"]", "25"},
	{U, 0, "entitlements pr", "25"},
	{U, 0, "x509Certificates pr", "28"},
	{U, 0, "x509Certificates.value sw \"MII\"", "28"},
	/* the enterprise extension */
	{U, 0, ENT "department eq \"tour operations\"", "1"},
	{U, 0, ENT "department pr", "1,2,8"},
	{U, 0, ENT "department eq null", NULL},
	{U, 0, ENT "department ne \"sales\"", NULL},
	{U, 0, ENT "manager.value pr", "1"},
	{U, 0, ENT "manager.displayName co \"smith\"", "1"},
	{U, 0, ENT "manager pr", "1,23"},
	{U, 0, ENT "manager eq \"26118915-6090-4610-87E4-49D8CA9F808D\"", "1"},
	{U, 0, ENT "manager[displayName eq \"Boss\"]", "23"},
	{U, 0, ENT "manager[not (value pr)]", "23"},
	{U, 0, ENT "employeeNumber gt \"5\"", "1"},
	{U, 0, ENT "employeeNumber eq \"701984\"", "1"},
	{U, 0, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT sw \"S\"", "2,8"},
	/* groups (rows) */
	{U, 0, "groups eq \"1\"", "1,3,27"},
	{U, 0, "groups.value eq \"2\"", "1,24"},
	{U, 0, "groups.display eq \"admins\"", "1,3,27"},
	{U, 0, "groups.display co \"GUIDE\"", "1,24"},
	{U, 0, "groups[display sw \"tour\" and value eq \"2\"]", "1,24"},
	{U, 0, "groups[not (display eq \"Admins\")]", "1,2,4,24,27"},
	{U, 0, "not (groups.display eq \"Admins\")", NULL},
	{U, 0, "groups pr", "1,2,3,4,24,27"},
	{U, 0, "groups eq null", NULL},
	{U, 0, "groups.value ne \"1\"", NULL},
	{U, 0, "groups.display ew \"Group\"", "4"},
	{U, 0, "groups.display co \"über\"", ""},
	{U, 0, "groups[display pr]", "1,2,3,4,24,27"},
	/* the Tessera extension (case-exact scope) */
	{U, 1, TUS "scope co \"openid\"", "1,5,8,24"},
	{U, 1, TUS "scope sw \"mqtt:\"", "3"},
	{U, 1, TUS "scope pr", "1,3,5,8,24"},
	{U, 1, TUS "scope eq \"openid\"", "5,8"},
	{U, 1, TUS "scope eq null", NULL},
	/* logic */
	{U, 0, "userName sw \"a\" or title pr", NULL},
	{U, 0, "(userName sw \"a\" or title pr) and active eq false", "3,15"},
	{U, 0, "not (active eq true and title pr)", NULL},
	{U, 0, "not (not (emails pr))", NULL},
	{U, 0, "title pr and not (title eq \"VP\") or userName eq \"eve\"", NULL},
	{U, 0, "not (title eq \"VP\" or displayName eq \"Dave\")", NULL},
	{U, 0, "not (emails.type eq \"work\") and not (groups pr)", NULL},
	{U, 0, "emails[type eq \"work\"] and groups[display eq \"ops\"]", "2,27"},
	{U, 0, "not (name.familyName eq \"Jensen\") and not (displayName co \"a\")", NULL},
	/* groups */
	{G, 0, "displayName eq \"admins\"", "1"},
	{G, 0, "displayName sw \"TOUR\"", "2"},
	{G, 0, "displayName co \"über\"", ""},
	{G, 0, "displayName co \"Über\"", "4"},
	{G, 0, "displayName gt \"B\"", NULL},
	{G, 0, "displayName ne \"Ops\"", NULL},
	{G, 0, "not (displayName sw \"e\")", NULL},
	{G, 0, "members eq \"1\"", "1,2"},
	{G, 0, "members.display eq \"BJENSEN\"", "1,2"},
	{G, 0, "members[value eq \"3\"]", "1"},
	{G, 0, "members pr", "1,2,3,4"},
	{G, 0, "not (members pr)", "5"},
	{G, 0, "members.display sw \"a\"", "1"},
	{G, 1, "externalId eq \"G-1\"", "1"},
	{G, 1, "externalId eq \"g-1\"", "2"},
	{G, 1, TGR "scope co \"admin\"", "1"},
	{G, 1, TGR "scope pr", "1,3"},
	{G, 0, "meta.created lt \"2017-01-01T00:00:00Z\"", "1"},
	/* clients */
	{C, 1, "grantTypes eq \"refresh_token\"", "app1,dev-1"},
	{C, 1, "grantTypes co \"code\"", "app1,dev-1,x"},
	{C, 1, "grantTypes sw \"urn:\"", "dev-1"},
	{C, 1, "grantTypes ew \"token\"", "app1,dev-1"},
	{C, 1, "grantTypes ew \"_code\"", "app1,dev-1,x"},
	{C, 1, "grantTypes pr", "app1,dev-1,svc,x"},
	{C, 1, "grantTypes eq null", "App1-Admin"},
	{C, 1, "grantTypes ne \"refresh_token\"", "App1-Admin,svc,x"},
	{C, 1, "grantTypes co \"\"", "app1,dev-1,svc,x"},
	{C, 1, "grantTypes eq \"\"", ""},
	{C, 1, "grantTypes co \"code refresh\"", ""},
	{C, 1, "grantTypes eq \"authorization_code refresh_token\"", ""},
	{C, 1, "grantTypes sw \"\"", "app1,dev-1,svc,x"},
	{C, 1, "not (grantTypes co \"token\")", "App1-Admin,svc,x"},
	{C, 1, "redirectUris eq \"https://app1.example/cb\"", "app1"},
	{C, 1, "redirectUris sw \"https://app1\"", "app1"},
	{C, 1, "redirectUris ew \"/cb\"", "app1"},
	{C, 1, "redirectUris ew \"cb2\"", "app1"},
	{C, 1, "redirectUris co \"%20\"", "x"},
	{C, 1, "redirectUris pr", "app1,x"},
	{C, 0, "public eq true", "app1,dev-1"},
	{C, 0, "refreshTokenRotation eq false", "dev-1"},
	{C, 0, "refreshGraceSeconds gt 10", "svc"},
	{C, 0, "refreshGraceSeconds eq 30", "svc"},
	{C, 0, "refreshGraceSeconds ge 10.0", "svc,x"},
	{C, 0, "refreshGraceSeconds lt 1e1", "App1-Admin,app1,dev-1"},
	{C, 0, "refreshIdleSeconds ge 3600", "dev-1,x"},
	{C, 0, "grantLifetimeSeconds eq 0", "App1-Admin,app1,svc,x"},
	{C, 0, "grantLifetimeSeconds lt 1.5", "App1-Admin,app1,svc,x"},
	{C, 0, "grantLifetimeSeconds ne 86400", "App1-Admin,app1,svc,x"},
	{C, 0, "refreshGraceSeconds pr", NULL},
	{C, 0, "active eq false", "dev-1"},
	{C, 1, "externalId eq \"SN-001\"", "svc"},
	{C, 1, "externalId eq \"sn-001\"", "dev-1"},
	{C, 1, "id eq \"svc\"", "svc"},
	{C, 1, "id sw \"app1\"", "app1"},
	{C, 1, "scope co \"mqtt\"", "dev-1,svc"},
	{C, 1, "scope eq \"\"", ""},
	{C, 1, "scope pr", "app1,dev-1,svc,x"},
	{C, 0, "clientName pr", "App1-Admin,app1,dev-1,x"},
	{C, 0, "clientName eq null", "svc"},
	{C, 0, "clientName sw \"app one\"", "App1-Admin,app1"},
	{C, 0, "clientName eq \"\"", ""},
	{C, 0, "clientName ne \"x\"", "App1-Admin,app1,dev-1,svc"},
	/* grants (users joined as u) */
	{R, 1, "clientId eq \"app1\"", "1,3"},
	{R, 0, "userName eq \"BJENSEN\"", "1"},
	{R, 0, "userName sw \"A\"", "4"},
	{R, 0, "userName pr", "1,3,4,6"},
	{R, 0, "userName eq null", "2,5"},
	{R, 0, "userName ne \"bjensen\"", "2,3,4,5,6"},
	{R, 0, "not (userName sw \"j\")", "1,2,4,5,6"},
	{R, 1, "userId eq \"1\"", "1"},
	{R, 1, "userId pr", "1,3,4,6"},
	{R, 1, "scope co \"openid\"", "1,3,4,6"},
	{R, 1, "scope pr", "1,2,3,4,6"},
	{R, 1, "meta.created gt \"2020-01-01T00:00:00Z\"", "3,4,5,6"},
	{R, 1, "id eq \"2\" or clientId eq \"x\"", "2,6"},
};

START_TEST(test_agree)
{
	char want[512], got[512];
	struct scim_sql q;
	struct scimf_node *n = compile(agree[_i].t, agree[_i].f, &q);

	sql_ids(&sets[agree[_i].t], agree[_i].f, &q, got, sizeof got);
	match_ids(&sets[agree[_i].t], n, agree[_i].ce, want, sizeof want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: SQL [%s] scimf_match [%s]\n%s", agree[_i].f,
		      got, want, q.where);
	if (agree[_i].ids)
		ck_assert_msg(strcmp(got, agree[_i].ids) == 0, "%s: [%s] expected [%s]",
			      agree[_i].f, got, agree[_i].ids);
	scim_sql_free(&q);
	scimf_free(n);
}
END_TEST

/* ---- caseExact attributes, whatever scimf_match's one flag says ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f, *ids;
} exact[] = {
	{U, "externalId eq \"BJ-001\"", ""},
	{U, "externalId eq \"bj-001\"", "1"},
	{U, "externalId sw \"js\"", ""},
	{U, "externalId co \"É\"", ""},
	{U, "externalId co \"é\"", "4"},
	{U, "externalId ew \"-EXT\"", ""},
	{U, "externalId gt \"a\"", "1,4,5"},
	{U, "externalId ne \"bj-001\"",
	 "2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32"},
	{U, TUS "scope co \"OPENID\"", ""},
	{U, TUS "scope eq \"OpenID\"", ""},
	{U, "scope co \"openid\"", "1,5,8,24"},
	{U, "scope sw \"Mqtt\"", ""},
	{U, "displayName eq \"MALLORY\" and userName eq \"MALLORY\"", "27"},
	{U, "x509Certificates.value sw \"mii\"", ""},
	{U, "groups.display eq \"ADMINS\"", "1,3,27"},
	{G, "externalId eq \"G-1\"", "1"},
	{G, "externalId co \"g\"", "2"},
	{G, "members.value eq \"27\" and displayName eq \"OPS\"", "3"},
	{G, TGR "scope eq \"ADMIN\"", ""},
	{C, "clientName eq \"APP ONE\"", "app1"},
	{C, "id eq \"APP1\"", ""},
	{C, "id eq \"App1-Admin\"", "App1-Admin"},
	{C, "grantTypes eq \"REFRESH_TOKEN\"", ""},
	{C, "grantTypes co \"Code\"", ""},
	{C, "redirectUris sw \"HTTPS\"", ""},
	{C, "redirectUris eq \"https://app1.example/CB\"", ""},
	{C, "externalId ne \"SN-001\"", "App1-Admin,app1,dev-1,x"},
	{C, "scope co \"MQTT\"", ""},
	{R, "clientId eq \"APP1\"", ""},
	{R, "clientId sw \"App1\"", ""},
	{R, "clientId eq \"svc\" and not (scope pr)", "5"},
	{R, "scope eq \"OPENID\"", ""},
	{R, "userName eq \"alice\" and scope co \"offline\"", "4"},
};

START_TEST(test_case_exact)
{
	char got[512];

	select_ids(exact[_i].t, exact[_i].f, got, sizeof got);
	ck_assert_msg(strcmp(got, exact[_i].ids) == 0, "%s: [%s] expected [%s]", exact[_i].f, got,
		      exact[_i].ids);
}
END_TEST

/* Extension attributes without their URN are the same as with it; the core URN is optional. */
START_TEST(test_urn_optional)
{
	static const char *const pairs[][2] = {
		{"department eq \"tour operations\"", ENT "department eq \"tour operations\""},
		{"department pr", ENT "department pr"},
		{"manager.displayName co \"smith\"", ENT "manager.displayName co \"smith\""},
		{"manager[displayName eq \"boss\"]", ENT "manager[displayName eq \"boss\"]"},
		{"employeeNumber lt \"5\"", ENT "employeeNumber lt \"5\""},
		{"scope co \"openid\"", TUS "scope co \"openid\""},
		{"not (scope pr)", "not (" TUS "scope pr)"},
		{"title pr", SCIM_CORE_USER ":title pr"},
		{"emails.type eq \"work\"", SCIM_CORE_USER ":emails.type eq \"work\""},
	};
	char a[512], b[512];
	int i;

	for (i = 0; i < N(pairs); i++) {
		select_ids(U, pairs[i][0], a, sizeof a);
		select_ids(U, pairs[i][1], b, sizeof b);
		ck_assert_msg(strcmp(a, b) == 0, "%s [%s] vs [%s]", pairs[i][0], a, b);
		ck_assert_msg(a[0] != '\0' || i == 4, "%s selects nothing", pairs[i][0]);
	}
	select_ids(U, "department eq \"tour operations\"", a, sizeof a);
	ck_assert_str_eq(a, "1");
	select_ids(G, "scope pr", a, sizeof a);
	ck_assert_str_eq(a, "1,3");
}
END_TEST

/* ---- refusals ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f;
} refused[] = {
	{U, "foo eq \"x\""},
	{U, "password eq \"secret\""},
	{U, "password pr"},
	{U, "active gt 1"},
	{U, "active le \"x\""},
	{U, "active eq 1"},
	{U, "active eq \"true\""},
	{U, "title eq 42"},
	{U, "title eq true"},
	{U, "title gt 1.5"},
	{U, "emails.primary eq \"true\""},
	{U, "emails.primary lt 1"},
	{U, "emails[primary ge 0]"},
	{U, "meta.created gt \"yesterday\""},
	{U, "meta.created gt \"2011-02-30T00:00:00Z\""},
	{U, "meta.created gt \"2011-05-13 04:42:34Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34\""},
	{U, "meta.created gt \"2011-05-13T24:00:00Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34+2:00\""},
	{U, "meta.created gt \"2011-05-13T04:42:34.Z\""},
	{U, "meta.created eq 1305261754"},
	{U, "meta.created co \"2011\""},
	{U, "meta.lastModified sw \"2011-05-13T04:42:34Z\""},
	{U, "meta.resourceType eq \"User\""},
	{U, "meta.location pr"},
	{U, "meta.version eq \"W/1\""},
	{U, "meta eq \"x\""},
	{U, "meta pr"},
	{U, "name eq \"Barbara\""},
	{U, "name gt \"a\""},
	{U, "groups.type eq \"direct\""},
	{U, "groups[type eq \"direct\"]"},
	{U, "title[value eq \"x\"]"},
	{U, "userName[value eq \"x\"]"},
	{U, "emails[foo eq \"x\"]"},
	{U, "emails.foo eq \"x\""},
	{U, "title.value eq \"x\""},
	{U, SCIM_ENTERPRISE_USER ":userName eq \"x\""},
	{U, "urn:foo:bar:title eq \"x\""},
	{U, SCIM_TESSERA_GROUP ":scope pr"},
	{U, "id gt 3"},
	{U, "userName eq \"a\" and password eq \"b\""},
	{U, "not (emails[type eq \"work\"] or foo pr)"},
	{G, "members.type eq \"User\""},
	{G, "userName eq \"x\""},
	{C, "refreshGraceSeconds co \"1\""},
	{C, "refreshGraceSeconds eq \"30\""},
	{C, "public eq \"true\""},
	{C, "public gt 0"},
	{C, "grantTypes gt \"a\""},
	{C, "grantTypes le \"z\""},
	{C, "redirectUris lt \"https:\""},
	{C, "grantTypes eq 1"},
	{C, "grantTypes.value eq \"x\""},
	{C, "grantTypes[value eq \"x\"]"},
	{C, "clientSecret pr"},
	{C, "clientSecret eq \"x\""},
	{C, "generateSecret eq true"},
	{R, "externalId eq \"x\""},
	{R, "userId eq 1"},
};

START_TEST(test_refused)
{
	struct scim_error e = {0};
	struct scimf_node *n = NULL;
	struct scim_sql q;
	const char *why = NULL;

	ck_assert_msg(scimf_parse(refused[_i].f, &n, &why) == TS_OK, "%s: %s", refused[_i].f, why);
	memset(&q, 0x5a, sizeof q);
	ck_assert_msg(scim_sql_where(scim_rtype(refused[_i].t), n, &q, &e) == TS_INVALID_REQUEST,
		      "%s accepted", refused[_i].f);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_FILTER);
	ck_assert_ptr_nonnull(e.detail);
	ck_assert_str_eq(scim_etype_name(e.type), "invalidFilter");
	ck_assert_ptr_null(q.where);
	ck_assert_ptr_null(q.binds);
	ck_assert_uint_eq(q.nbinds, 0);
	scim_sql_free(&q);
	scim_error_clear(&e);
	scimf_free(n);
}
END_TEST

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
	{C, "public ne true", "NOT (coalesce((r.is_public = 1), 0))", ""},
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
	int rc;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	out[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out[0])
			strncat(out, ",", n - strlen(out) - 1);
		strncat(out, (const char *)sqlite3_column_text(st, 0), n - strlen(out) - 1);
	}
	ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
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
	Suite *s = suite_create("scim_sql");
	TCase *tc = tcase_create("db");
	TCase *tp = tcase_create("plain");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, data_setup, data_teardown);
	tcase_add_checked_fixture(tc, db_setup, db_teardown);
	tcase_add_loop_test(tc, test_agree, 0, N(agree));
	tcase_add_loop_test(tc, test_case_exact, 0, N(exact));
	tcase_add_test(tc, test_urn_optional);
	tcase_add_test(tc, test_no_filter);
	tcase_add_loop_test(tc, test_sort, 0, N(sorts));
	tcase_add_test(tc, test_sort_orders);
	tcase_add_test(tc, test_index);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 120);
	tcase_add_loop_test(tp, test_refused, 0, N(refused));
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
