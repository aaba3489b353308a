/* cli.c - tessera init | user | grant | key (client: cli_client.c): administration on the database, JSON on stdout,
 * one line on stderr for an error; exit 0 ok, 1 failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "client.h"
#include "grant.h"
#include "keys.h"
#include "password.h"
#include "scope.h"
#include "secret.h"
#include "store.h"
#include "username.h"

int cli_init(int argc, char **argv, struct config *cfg)
{
	store *s = NULL;
	char *kid = NULL, shown[512];
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("init takes no arguments", argv[0]);
	if (cli_open_store(cfg, &s) != TS_OK)
		return 1;
	if (keys_ensure(s, cfg->signing_alg, (int64_t)time(NULL), &kid) != TS_OK) {
		store_close(s);
		return cli_fail("creating the signing key", TS_SERVER_ERROR);
	}
	rc = cli_print(json_pack("{s:s, s:i, s:s}", "db",
	                         store_shown(cfg->db_path, shown, sizeof shown), "schema_version",
	                         store_schema_version(s), "kid", kid));
	free(kid);
	store_close(s);
	return rc;
}

static json_t *user_json(const struct user *u)
{
	return json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:b, s:b, s:I, s:I}",
		"id", (json_int_t)u->id, "username", u->username, "email", u->email,
		"name", u->name, "scope", u->scope, "active", u->active,
		"has_password", u->password_hash != NULL,
		"created_at", (json_int_t)u->created_at, "updated_at", (json_int_t)u->updated_at);
}

static int collect_user(const struct user *u, void *arg)
{
	return json_array_append_new(arg, user_json(u)) ? 1 : 0;
}

/* Reads one line (the password) from stdin into a malloc'd string without its newline. */
static char *read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n <= 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int user_add(int argc, char **argv, store *s)
{
	struct user u = {0};
	char *pw = NULL, *bad = NULL, *name = NULL;
	const char *why;
	int i, rc = 2, want_pw = 0;
	ts_err err;

	if (argc < 1 || argv[0][0] == '-')
		return cli_usage("user add needs a USERNAME", NULL);
	u.scope = "";
	u.active = 1;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--password-stdin") == 0) {
			want_pw = 1;
			continue;
		}
		if (!val || (strcmp(opt, "--scope") && strcmp(opt, "--email") && strcmp(opt, "--name")))
			return cli_usage("unknown option or missing value", opt);
		i++;
		if (strcmp(opt, "--scope") == 0)
			u.scope = (char *)val;
		else if (strcmp(opt, "--email") == 0)
			u.email = (char *)val;
		else
			u.name = (char *)val;
	}
	rc = 1;
	/* stored trimmed; unique whatever its spelling (lib/username.h) */
	if ((why = username_problem(argv[0]))) {
		fprintf(stderr, "tessera: invalid username: it %s\n", why);
		return 1;
	}
	if (!scope_allowed_valid(u.scope, &bad)) {
		fprintf(stderr, "tessera: invalid scope token: %s\n", bad ? bad : u.scope);
		free(bad);
		return 1;
	}
	if (!(u.username = name = username_trim(argv[0])))
		return cli_fail("user add", TS_SERVER_ERROR);
	if (want_pw) {
		pw = read_password();
		if (!pw || password_hash(pw, &u.password_hash) != TS_OK) {
			fprintf(stderr, "tessera: no usable password on stdin (1-1024 bytes)\n");
			goto out;
		}
	}
	u.created_at = u.updated_at = (int64_t)time(NULL);
	err = store_user_add(s, &u);
	if (err == TS_CONFLICT)
		fprintf(stderr, "tessera: username \"%s\" is taken: an existing user has that name, "
		        "compared regardless of case, width and invisible characters\n", u.username);
	if (err != TS_OK) {
		rc = err == TS_CONFLICT ? 1 : cli_fail(u.username, err);
		goto out;
	}
	rc = cli_print(user_json(&u));
out:
	secret_free(pw);
	free(u.password_hash);
	free(name);
	return rc;
}

int cli_user(int argc, char **argv, struct config *cfg)
{
	const char *sub = argc ? argv[0] : "";
	struct user *u = NULL;
	store *s = NULL;
	char *pw = NULL, *hash = NULL;
	json_t *list;
	ts_err err;
	int rc;

	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "rm") &&
	    strcmp(sub, "passwd") && strcmp(sub, "disable") && strcmp(sub, "enable"))
		return cli_usage("user takes add, list, show, rm, passwd, disable or enable", sub);
	if (strcmp(sub, "list") == 0 ? argc != 1 : strcmp(sub, "add") != 0 && argc != 2)
		return cli_usage("wrong number of arguments for user", sub);
	if (cli_open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		rc = user_add(argc - 1, argv + 1, s);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_user_each(s, collect_user, list);
		rc = err == TS_OK ? cli_print(list) : (json_decref(list), cli_fail("user list", err));
	} else if (strcmp(sub, "show") == 0) {
		err = store_user_get(s, argv[1], &u);
		rc = err == TS_OK ? cli_print(user_json(u)) : cli_fail(argv[1], err);
		store_user_free(u);
	} else if (strcmp(sub, "rm") == 0) {
		err = store_user_remove(s, argv[1]);
		rc = err == TS_OK ? cli_print(json_pack("{s:s}", "removed", argv[1])) : cli_fail(argv[1], err);
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		err = store_user_set_active(s, argv[1], sub[0] == 'e', (int64_t)time(NULL));
		if (err == TS_OK)
			err = store_user_get(s, argv[1], &u);
		rc = err == TS_OK ? cli_print(user_json(u)) : cli_fail(argv[1], err);
		store_user_free(u);
	} else {
		pw = read_password();
		if (!pw || password_hash(pw, &hash) != TS_OK) {
			fprintf(stderr, "tessera: no usable password on stdin (1-1024 bytes)\n");
			rc = 1;
		} else {
			err = store_user_set_password(s, argv[1], hash, (int64_t)time(NULL));
			rc = err == TS_OK ? cli_print(json_pack("{s:s}", "updated", argv[1])) :
			                    cli_fail(argv[1], err);
		}
		secret_free(pw);
		free(hash);
	}
	store_close(s);
	return rc;
}

static json_t *grant_json(store *s, const struct grant *g)
{
	struct user *u = NULL;
	json_t *j;

	if (g->user_id)
		store_user_get_id(s, g->user_id, &u);
	j = json_pack("{s:I, s:s, s:o, s:o, s:s, s:I, s:I, s:o, s:b}",
		"id", (json_int_t)g->id, "client_id", g->client_id,
		"user_id", g->user_id ? json_integer(g->user_id) : json_null(),
		"username", u ? json_string(u->username) : json_null(), "scope", g->scope,
		"created_at", (json_int_t)g->created_at, "updated_at", (json_int_t)g->updated_at,
		"revoked_at", g->revoked_at ? json_integer(g->revoked_at) : json_null(),
		"active", g->revoked_at == 0);
	store_user_free(u);
	return j;
}

struct grant_list {
	store *s;
	json_t *list;
};

static int collect_grant(const struct grant *g, void *arg)
{
	struct grant_list *gl = arg;

	return json_array_append_new(gl->list, grant_json(gl->s, g)) ? 1 : 0;
}

/* A grant's new scope: plain scope tokens, placeholders already filled (nothing to fill in). */
static int grant_scope_valid(const char *scope)
{
	const char *p;
	char *tok;
	int ok = *scope != '\0';

	for (p = scope; ok && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");

		tok = strndup(p, n);
		ok = tok && scope_token_valid(tok) && !strstr(tok, "${");
		free(tok);
		p += n;
	}
	return ok;
}

/* A grant's scope and its refresh tokens' (grant_set_scope), in one transaction. */
static ts_err set_grant_scope(store *s, int64_t id, const char *scope)
{
	ts_err err = store_begin(s);

	if (err == TS_OK)
		err = grant_set_scope(s, id, scope, (int64_t)time(NULL));
	if (err == TS_OK)
		err = store_commit(s);
	if (err != TS_OK)
		store_rollback(s);
	return err;
}

int cli_grant(int argc, char **argv, struct config *cfg)
{
	const char *sub = argc ? argv[0] : "", *user = NULL, *client = NULL;
	struct grant_list gl = {NULL, NULL};
	struct grant *g = NULL;
	char *end;
	int64_t id = 0;
	ts_err err;
	int i, rc;

	if (strcmp(sub, "list") == 0) {
		for (i = 1; i < argc; i++) {
			if (i + 1 < argc && strcmp(argv[i], "--user") == 0)
				user = argv[++i];
			else if (i + 1 < argc && strcmp(argv[i], "--client") == 0)
				client = argv[++i];
			else
				return cli_usage("grant list takes --user NAME and --client ID", argv[i]);
		}
	} else if ((strcmp(sub, "scope") == 0 && argc == 3) ||
	           (strcmp(sub, "revoke") == 0 && argc == 2)) {
		id = strtoll(argv[1], &end, 10);
		if (*end || id <= 0)
			return cli_usage("not a grant id", argv[1]);
		if (argc == 3 && !grant_scope_valid(argv[2])) {
			fprintf(stderr, "tessera: invalid scope: %s\n", argv[2]);
			return 1;
		}
	} else {
		return cli_usage("grant takes list, scope ID \"SCOPES\" or revoke ID", sub);
	}
	if (cli_open_store(cfg, &gl.s) != TS_OK)
		return 1;
	if (strcmp(sub, "list") == 0) {
		gl.list = json_array();
		err = store_grant_each(gl.s, user, client, collect_grant, &gl);
		rc = err == TS_OK ? cli_print(gl.list) : (json_decref(gl.list), cli_fail("grant list", err));
	} else {
		err = strcmp(sub, "scope") == 0 ? set_grant_scope(gl.s, id, argv[2]) :
		      store_grant_revoke(gl.s, id, (int64_t)time(NULL));
		if (err == TS_OK)
			err = store_grant_get(gl.s, id, &g);
		rc = err == TS_OK ? cli_print(grant_json(gl.s, g)) : cli_fail(argv[1], err);
		store_grant_free(g);
	}
	store_close(gl.s);
	return rc;
}

static int collect_key(const struct key_row *k, void *arg)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:b, s:I}", "kid", k->kid, "alg", k->alg,
		"created_at", (json_int_t)k->created_at,
		"retired_at", k->retired_at ? json_integer(k->retired_at) : json_null(),
		"signing", k->retired_at == 0, "signs_from_ms", (json_int_t)k->signs_from);

	return json_array_append_new(arg, o) ? 1 : 0;
}

int cli_key(int argc, char **argv, struct config *cfg)
{
	const char *sub = argc ? argv[0] : "";
	struct keyring *ring = NULL;
	store *s = NULL;
	char *kid = NULL;
	json_t *list;
	ts_err err;
	int rc;

	if (argc != 1 || (strcmp(sub, "rotate") && strcmp(sub, "list") && strcmp(sub, "jwks")))
		return cli_usage("key takes rotate, list or jwks", sub);
	if (cli_open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "rotate") == 0) {
		struct timespec ts;

		/* published by every running node before any signs with it (lib/keys.h) */
		clock_gettime(CLOCK_REALTIME, &ts);
		err = keys_rotate_at(s, cfg->signing_alg, (int64_t)ts.tv_sec, (int64_t)ts.tv_sec * 1000 +
		                     ts.tv_nsec / 1000000 + KEYS_PUBLISH_MS, &kid);
		rc = err == TS_OK ? cli_print(json_pack("{s:s, s:s}", "kid", kid, "alg", cfg->signing_alg)) :
		                    cli_fail("key rotate", err);
		free(kid);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_key_each(s, collect_key, list);
		rc = err == TS_OK ? cli_print(list) : (json_decref(list), cli_fail("key list", err));
	} else {
		err = keyring_load(s, (int64_t)time(NULL), (int64_t)cfg->access_token_ttl + 300, &ring);
		rc = err == TS_OK ? cli_print(json_loads(ring->jwks, 0, NULL)) : cli_fail("key jwks", err);
		keyring_free(ring);
	}
	store_close(s);
	return rc;
}
