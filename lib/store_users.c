/* store_users.c - the SQL of users (see store.h): records by name or id, the rights the token
 * paths read, passwords, full updates. A user is found by name through its name key
 * (lib/username.h), which every write sets, so that each spelling of a name reaches one user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_priv.h"
#include "username.h"

enum {
	Q_GET, Q_GET_ID, Q_RIGHTS, Q_ADD, Q_SET_PASSWORD, Q_SET_ACTIVE, Q_REMOVE, Q_REMOVE_ID,
	Q_EACH, Q_PUT, Q_NAMES, Q_SET_KEY, Q_DISABLE_ID, Q_COUNT
};

const struct db_sql store_user_sql[] = {
	[Q_GET] = {"SELECT " USER_COLS " FROM users r WHERE r.name_key = ?1",
		"SELECT " USER_COLS_PG " FROM users r WHERE r.name_key = ?1", 0},
	[Q_GET_ID] = {"SELECT " USER_COLS " FROM users r WHERE r.id = ?1",
		"SELECT " USER_COLS_PG " FROM users r WHERE r.id = ?1", 0},
	/* what the token paths need of a user: not the SCIM attributes nor the groups' JSON */
	[Q_RIGHTS] = {"SELECT r.id, r.username, r.scope, r.active, "
		"(SELECT group_concat(g.scope, ' ') FROM group_members m JOIN groups g "
		"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> '') FROM users r "
		"WHERE r.id = ?1",
		"SELECT r.id, r.username, r.scope, r.active, "
		"(SELECT string_agg(g.scope, ' ' ORDER BY m.group_id) FROM group_members m JOIN groups g "
		"ON g.id = m.group_id WHERE m.user_id = r.id AND g.scope <> '') FROM users r "
		"WHERE r.id = ?1", 0},
	/* without SCIM attributes, an email becomes the user's one, primary SCIM email */
	[Q_ADD] = {"INSERT INTO users (username, password_hash, email, name, scope, active, "
		"created_at, updated_at, external_id, attrs, name_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		"?8, ?9, coalesce(?10, CASE WHEN ?3 IS NULL THEN '{}' ELSE json_object('emails', "
		"json_array(json_object('value', ?3, 'primary', json('true')))) END), ?11) RETURNING id",
		/* the JSON text as SQLite's json_object writes it */
		"INSERT INTO users (username, password_hash, email, name, scope, active, "
		"created_at, updated_at, external_id, attrs, name_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		"?8, ?9, coalesce(CAST(?10 AS TEXT), CASE WHEN CAST(?3 AS TEXT) IS NULL THEN '{}' ELSE "
		"'{\"emails\":[{\"value\":' || CAST(to_json(CAST(?3 AS TEXT)) AS TEXT) || "
		"',\"primary\":true}]}' END), ?11) RETURNING id", 0},
	[Q_SET_PASSWORD] = {"UPDATE users SET password_hash = ?2, updated_at = ?3 "
		"WHERE name_key = ?1", NULL, 0},
	[Q_SET_ACTIVE] = {"UPDATE users SET active = ?2, updated_at = ?3 WHERE name_key = ?1",
		NULL, 0},
	[Q_REMOVE] = {"DELETE FROM users WHERE name_key = ?1", NULL, 0},
	[Q_REMOVE_ID] = {"DELETE FROM users WHERE id = ?1", NULL, 0},
	/* r.username is COLLATE NOCASE in SQLite: lower() under "C" is the same order */
	[Q_EACH] = {"SELECT " USER_COLS " FROM users r ORDER BY r.username, r.id",
		"SELECT " USER_COLS_PG " FROM users r ORDER BY lower(r.username COLLATE \"C\"), r.id",
		0},
	[Q_PUT] = {"UPDATE users SET username = ?2, email = ?3, name = ?4, scope = ?5, active = ?6, "
		"updated_at = ?7, external_id = ?8, attrs = ?9, "
		"password_hash = CASE WHEN ?10 <> 0 THEN ?11 ELSE password_hash END, name_key = ?12 "
		"WHERE id = ?1", NULL, 0},
	/* migration 009: who keeps a key that several users share (store_user_fill_keys) */
	[Q_NAMES] = {"SELECT id, username FROM users ORDER BY active DESC, created_at, id", NULL, 0},
	[Q_SET_KEY] = {"UPDATE users SET name_key = ?2 WHERE id = ?1", NULL, 0},
	[Q_DISABLE_ID] = {"UPDATE users SET active = 0, updated_at = ?2 WHERE id = ?1 AND active <> 0",
		NULL, 0},
	[Q_COUNT] = {NULL, NULL, 0},
};

#define Q(id) (&store_user_sql[id])

static void free_secret(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

void store_user_free(struct user *u)
{
	if (!u)
		return;
	free(u->username);
	free_secret(u->password_hash);
	free(u->email);
	free(u->name);
	free(u->scope);
	free(u->external_id);
	free(u->attrs);
	free(u->group_scope);
	free(u->groups);
	free(u);
}

/* A row of USER_COLS into *(struct user **)out. */
static ts_err user_read(db_stmt *st, void *out)
{
	struct user *u = calloc(1, sizeof(*u));

	*(struct user **)out = NULL;
	if (!u)
		return TS_SERVER_ERROR;
	if (store_col_text(st, 1, 0, &u->username) || store_col_text(st, 2, 1, &u->password_hash) ||
			store_col_text(st, 3, 1, &u->email) || store_col_text(st, 4, 1, &u->name) ||
			store_col_text(st, 5, 0, &u->scope) || store_col_text(st, 9, 1, &u->external_id) ||
			store_col_text(st, 10, 0, &u->attrs) ||
			store_col_text(st, 11, 0, &u->group_scope) ||
			store_col_text(st, 12, 0, &u->groups)) {
		store_user_free(u);
		return TS_SERVER_ERROR;
	}
	u->id = db_int(st, 0);
	u->active = (int)db_int(st, 6);
	u->created_at = db_int(st, 7);
	u->updated_at = db_int(st, 8);
	*(struct user **)out = u;
	return TS_OK;
}

STORE_KIND(, store_user_kind, struct user, user_read, store_user_free);

/* Runs q, whose ?1 is the name key of username; a name with no key (not UTF-8, nothing but
 * white space) is nobody's. */
static ts_err by_name(store *s, const struct db_sql *q, const char *username,
                      const struct db_val *v, size_t n, struct user **out)
{
	struct db_val all[4];
	char *key = NULL;
	ts_err e;

	if (!username)
		return TS_SERVER_ERROR;
	if ((e = username_key(username, &key)))
		return e == TS_INVALID_REQUEST ? TS_NOT_FOUND : e;
	all[0] = DB_T(key);
	if (n)
		memcpy(all + 1, v, n * sizeof *v);
	e = out ? store_get(s, q, all, n + 1, &store_user_kind, out) :
	          store_change(s, q, all, n + 1);
	free(key);
	return e;
}

ts_err store_user_get(store *s, const char *username, struct user **out)
{
	if (out)
		*out = NULL;
	if (!username || !out)
		return TS_SERVER_ERROR;
	return by_name(s, Q(Q_GET), username, NULL, 0, out);
}

ts_err store_user_get_id(store *s, int64_t id, struct user **out)
{
	if (!out)
		return TS_SERVER_ERROR;
	*out = NULL;
	return store_get(s, Q(Q_GET_ID), ARGS(DB_I(id)), &store_user_kind, out);
}

/* A row of Q_RIGHTS: only what decides the user's rights. */
static ts_err rights_read(db_stmt *st, void *out)
{
	struct user *u = calloc(1, sizeof(*u));

	*(struct user **)out = NULL;
	if (!u)
		return TS_SERVER_ERROR;
	u->id = db_int(st, 0);
	u->active = (int)db_int(st, 3);
	if (store_col_text(st, 1, 0, &u->username) || store_col_text(st, 2, 0, &u->scope) ||
			store_col_text(st, 4, 0, &u->group_scope)) {
		store_user_free(u);
		return TS_SERVER_ERROR;
	}
	*(struct user **)out = u;
	return TS_OK;
}

ts_err store_user_rights(store *s, int64_t id, struct user **out)
{
	if (!out)
		return TS_SERVER_ERROR;
	*out = NULL;
	return store_one(s, Q(Q_RIGHTS), ARGS(DB_I(id)), rights_read, out);
}

/* The key of a name to write: TS_INVALID_REQUEST for a name username_problem refuses or one not
 * trimmed (the callers say why first; this is the last word). */
static ts_err write_key(const char *username, char **key)
{
	char *t;
	int trimmed;

	*key = NULL;
	if (!username)
		return TS_SERVER_ERROR;
	if (username_problem(username))
		return TS_INVALID_REQUEST;
	if (!(t = username_trim(username)))
		return TS_SERVER_ERROR;
	trimmed = strcmp(t, username) == 0;
	free(t);
	if (!trimmed)
		return TS_INVALID_REQUEST;
	return username_key(username, key);
}

/* The id comes back from the INSERT itself (RETURNING), as it would on PostgreSQL. A name whose
 * key another user has is TS_CONFLICT. */
ts_err store_user_add(store *s, struct user *u)
{
	char *key = NULL;
	ts_err e;

	if (!u)
		return TS_SERVER_ERROR;
	if ((e = write_key(u->username, &key)))
		return e;
	e = store_one(s, Q(Q_ADD), ARGS(DB_T(u->username), DB_T(u->password_hash), DB_T(u->email),
		DB_T(u->name), DB_T(nz(u->scope)), DB_I(u->active != 0), DB_I(u->created_at),
		DB_I(u->updated_at), DB_T(u->external_id), DB_T(u->attrs), DB_T(key)), store_read_int,
		&u->id);
	free(key);
	return e;
}

ts_err store_user_set_password(store *s, const char *username, const char *hash, int64_t now)
{
	return by_name(s, Q(Q_SET_PASSWORD), username, ARGS(DB_T(hash), DB_I(now)), NULL);
}

ts_err store_user_set_active(store *s, const char *username, int active, int64_t now)
{
	return by_name(s, Q(Q_SET_ACTIVE), username, ARGS(DB_I(active != 0), DB_I(now)), NULL);
}

ts_err store_user_remove(store *s, const char *username)
{
	return by_name(s, Q(Q_REMOVE), username, NOARGS, NULL);
}

ts_err store_user_remove_id(store *s, int64_t id)
{
	return store_change(s, Q(Q_REMOVE_ID), ARGS(DB_I(id)));
}

ts_err store_user_each(store *s, int (*fn)(const struct user *u, void *arg), void *arg)
{
	return store_each(s, Q(Q_EACH), NOARGS, &store_user_kind, (void (*)(void))fn, arg);
}

/* Replaces every column, the name key with the name; the password hash only when
 * set_password. */
ts_err store_user_put(store *s, const struct user *u, int set_password)
{
	char *key = NULL;
	ts_err e;

	if (!u)
		return TS_SERVER_ERROR;
	if ((e = write_key(u->username, &key)))
		return e;
	e = store_change(s, Q(Q_PUT), ARGS(DB_I(u->id), DB_T(u->username), DB_T(u->email),
		DB_T(u->name), DB_T(nz(u->scope)), DB_I(u->active != 0), DB_I(u->updated_at),
		DB_T(u->external_id), DB_T(u->attrs ? u->attrs : "{}"), DB_I(set_password != 0),
		DB_T(u->password_hash), DB_T(key)));
	free(key);
	return e;
}

/* --- migration 009 --- */

struct names {
	int64_t *id;
	char **name;
	size_t n, cap;
};

static ts_err name_row(db_stmt *st, void *ctx)
{
	struct names *l = ctx;
	size_t cap = l->cap ? l->cap * 2 : 64;

	if (l->n == l->cap) {
		int64_t *id = realloc(l->id, cap * sizeof *id);
		char **name = id ? realloc(l->name, cap * sizeof *name) : NULL;

		if (id)
			l->id = id;
		if (!name)
			return TS_SERVER_ERROR;
		l->name = name;
		l->cap = cap;
	}
	l->id[l->n] = db_int(st, 0);
	if (store_col_text(st, 1, 0, &l->name[l->n]))
		return TS_SERVER_ERROR;
	l->n++;
	return TS_OK;
}

/* Gives each user its name key, the active ones first and the oldest first among them: one
 * that finds its key taken (the UNIQUE index says so) is disabled and keeps none. Read whole
 * before writing, since the writes change the rows the reading orders by. */
ts_err store_user_fill_keys(store *s, int64_t now)
{
	struct names l = {0};
	char *key;
	size_t i;
	ts_err e = store_rows(s, Q(Q_NAMES), NOARGS, name_row, &l);

	for (i = 0; !e && i < l.n; i++) {
		e = username_key(l.name[i], &key);
		if (e == TS_INVALID_REQUEST)
			e = TS_CONFLICT;
		else if (!e)
			e = store_run(s, Q(Q_SET_KEY), ARGS(DB_I(l.id[i]), DB_T(key)));
		if (e == TS_CONFLICT) {
			e = store_run(s, Q(Q_DISABLE_ID), ARGS(DB_I(l.id[i]), DB_I(now)));
			if (!e)
				fprintf(stderr, "tessera: migration 009: user %lld %s: disabled\n",
				        (long long)l.id[i], key ? "has the name of a user kept" :
				        "has a name with no key (not UTF-8, or empty)");
		}
		free(key);
	}
	for (i = 0; i < l.n; i++)
		free(l.name[i]);
	free(l.name);
	free(l.id);
	return e;
}
