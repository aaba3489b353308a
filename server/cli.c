/* cli.c - tessera init | client | user | key: administration on the database, JSON on stdout,
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

static const char *const known_grants[] = {
	"client_credentials", "authorization_code", "refresh_token", "device_code"};

static int fail(const char *what, ts_err rc)
{
	fprintf(stderr, "tessera: %s: %s\n", what,
	        rc == TS_NOT_FOUND ? "not found" :
	        rc == TS_CONFLICT ? "already exists" :
	        rc == TS_UNAVAILABLE ? "database is locked, try again" :
	        rc == TS_INVALID_REQUEST ? "invalid value" : "failed");
	return 1;
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "tessera: %s%s%s (see tessera --help)\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return 2;
}

static int print(json_t *j)
{
	if (!j)
		return fail("output", TS_SERVER_ERROR);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cli_common(int *argc, char **argv, struct config *cfg)
{
	const char *config = NULL, *db = NULL;
	char *why = NULL;
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--db") == 0) {
			if (i + 1 >= *argc)
				return usage_error("missing value after", argv[i]);
			*(argv[i][2] == 'c' ? &config : &db) = argv[i + 1];
			i++;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	if (config && config_load(cfg, config, &why) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", why ? why : "cannot read the config file");
		free(why);
		return 2;
	}
	if (db && config_set(cfg, "database", "path", db, &why) != TS_OK) {
		free(why);
		return usage_error("bad --db", db);
	}
	return 0;
}

static ts_err open_store(const struct config *cfg, store **s)
{
	ts_err rc = store_open(cfg->db_path, cfg->busy_timeout_ms, cfg->synchronous, s);

	if (rc != TS_OK)
		fprintf(stderr, "tessera: cannot open database %s%s\n", cfg->db_path,
		        rc == TS_UNAVAILABLE ? ": it is locked" : "");
	return rc;
}

int cli_init(int argc, char **argv, struct config *cfg)
{
	store *s = NULL;
	char *kid = NULL;
	int rc;

	(void)argv;
	if (argc)
		return usage_error("init takes no arguments", argv[0]);
	if (open_store(cfg, &s) != TS_OK)
		return 1;
	if (keys_ensure(s, cfg->signing_alg, (int64_t)time(NULL), &kid) != TS_OK) {
		store_close(s);
		return fail("creating the signing key", TS_SERVER_ERROR);
	}
	rc = print(json_pack("{s:s, s:i, s:s}", "db", cfg->db_path, "schema_version",
	                     store_schema_version(s), "kid", kid));
	free(kid);
	store_close(s);
	return rc;
}

/* A space-separated list as a JSON array. */
static json_t *words(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (a && p && *p) {
		size_t n = strcspn(p, " ");

		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n;
		p += strspn(p, " ");
	}
	return a;
}

static json_t *client_json(const struct client *c)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:s, s:b, s:i, s:i, s:i, s:b, s:I, s:I, "
		"s:s}",
		"client_id", c->client_id, "name", c->name, "public", c->is_public,
		"redirect_uris", words(c->redirect_uris),
		"post_logout_redirect_uris", words(c->post_logout_redirect_uris),
		"grant_types", words(c->grant_types),
		"scope", c->scope, "refresh_rotation", c->refresh_rotation,
		"refresh_grace", c->refresh_grace, "refresh_idle_ttl", c->refresh_idle_ttl,
		"grant_lifetime", c->grant_lifetime, "active", c->active,
		"created_at", (json_int_t)c->created_at, "updated_at", (json_int_t)c->updated_at,
		"token_format", c->token_reference ? "reference" : "jwt");
}

static int collect_client(const struct client *c, void *arg)
{
	return json_array_append_new(arg, client_json(c)) ? 1 : 0;
}

/* Appends word to the space-separated *list (malloc'd). */
static int append_word(char **list, const char *word)
{
	char *n;

	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list && **list ? " " : "", word) < 0)
		return -1;
	free(*list);
	*list = n;
	return 0;
}


/* The client field that a --refresh-grace, --refresh-idle or --grant-lifetime option sets. */
static int *seconds_option(const char *opt, struct client *c)
{
	if (strcmp(opt, "--refresh-grace") == 0)
		return &c->refresh_grace;
	if (strcmp(opt, "--refresh-idle") == 0)
		return &c->refresh_idle_ttl;
	if (strcmp(opt, "--grant-lifetime") == 0)
		return &c->grant_lifetime;
	return NULL;
}

static int client_add(int argc, char **argv, store *s)
{
	struct client c = {0};
	char secret[SECRET_TOKEN_LEN] = "", *bad = NULL, *end;
	const char *why;
	int i, rc = 2, g;
	ts_err err;

	if (argc < 1 || argv[0][0] == '-')
		return usage_error("client add needs a CLIENT_ID", NULL);
	c.client_id = argv[0];
	c.name = strdup("");
	c.redirect_uris = strdup("");
	c.post_logout_redirect_uris = strdup("");
	c.refresh_rotation = 1;
	c.active = 1;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--public") == 0) {
			c.is_public = 1;
			continue;
		}
		if (!val) {
			usage_error("unknown option or missing value", opt);
			goto out;
		}
		i++;
		if (strcmp(opt, "--name") == 0) {
			free(c.name);
			c.name = strdup(val);
		} else if (strcmp(opt, "--redirect-uri") == 0) {
			if ((why = client_redirect_uri_problem(val)) != NULL) {
				fprintf(stderr, "tessera: invalid redirect URI: %s\n", why);
				rc = 1;
				goto out;
			}
			append_word(&c.redirect_uris, val);
		} else if (strcmp(opt, "--post-logout-redirect-uri") == 0) {
			if (!client_redirect_uri_valid(val)) {
				usage_error("invalid post-logout redirect URI", val);
				goto out;
			}
			append_word(&c.post_logout_redirect_uris, val);
		} else if (strcmp(opt, "--grant") == 0) {
			for (g = 0; g < 4 && strcmp(val, known_grants[g]) != 0; g++)
				;
			if (g == 4) {
				usage_error("unknown grant type", val);
				goto out;
			}
			if (!client_list_has(c.grant_types, val))
				append_word(&c.grant_types, val);
		} else if (strcmp(opt, "--scope") == 0) {
			free(c.scope);
			c.scope = strdup(val);
		} else if (strcmp(opt, "--token-format") == 0) {
			if (strcmp(val, "jwt") && strcmp(val, "reference")) {
				usage_error("--token-format takes jwt or reference", val);
				goto out;
			}
			c.token_reference = strcmp(val, "reference") == 0;
		} else if (strcmp(opt, "--refresh-rotation") == 0) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				usage_error("--refresh-rotation takes on or off", val);
				goto out;
			}
			c.refresh_rotation = strcmp(val, "on") == 0;
		} else if (seconds_option(opt, &c) != NULL) {
			int *dst = seconds_option(opt, &c);
			long v = strtol(val, &end, 10);

			if (*end || end == val || v < 0 || v > 315360000 ||
			    strspn(val, "0123456789") != strlen(val)) {
				usage_error("a number of seconds is needed for", opt);
				goto out;
			}
			*dst = (int)v;
		} else {
			usage_error("unknown option", opt);
			goto out;
		}
	}
	rc = 1;
	if ((why = client_id_problem(c.client_id))) {
		fprintf(stderr, "tessera: invalid client id \"%s\": %s\n", c.client_id, why);
		goto out;
	}
	if (!c.scope)
		c.scope = strdup("");
	if (!c.grant_types)
		append_word(&c.grant_types, c.is_public ? "authorization_code" : "client_credentials");
	if (!c.name || !c.scope || !c.grant_types || !c.redirect_uris || !c.post_logout_redirect_uris)
		goto out;
	if (!scope_allowed_valid(c.scope, &bad)) {
		fprintf(stderr, "tessera: invalid scope token: %s\n", bad ? bad : c.scope);
		goto out;
	}
	if ((why = client_rules(&c))) {
		fprintf(stderr, "tessera: %s\n", why);
		goto out;
	}
	if (!c.is_public && client_new_secret(&c, secret) != TS_OK)
		goto out;
	c.created_at = c.updated_at = (int64_t)time(NULL);
	err = store_client_add(s, &c);
	if (err != TS_OK) {
		rc = fail(c.client_id, err);
		goto out;
	}
	rc = print(c.is_public ? json_pack("{s:s}", "client_id", c.client_id) :
	                         json_pack("{s:s, s:s}", "client_id", c.client_id,
	                                   "client_secret", secret));
out:
	secret_wipe(secret, sizeof secret);
	secret_wipe(c.secret_hash, sizeof c.secret_hash);
	free(bad);
	free(c.name);
	free(c.redirect_uris);
	free(c.post_logout_redirect_uris);
	free(c.grant_types);
	free(c.scope);
	return rc;
}

static int client_show(store *s, const char *id)
{
	struct client *c = NULL;
	ts_err rc = store_client_get(s, id, &c);
	int ret;

	if (rc != TS_OK)
		return fail(id, rc);
	ret = print(client_json(c));
	store_client_free(c);
	return ret;
}

int cli_client(int argc, char **argv, struct config *cfg)
{
	const char *sub = argc ? argv[0] : "";
	store *s = NULL;
	json_t *list;
	ts_err err;
	int rc;

	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "rm") &&
	    strcmp(sub, "disable") && strcmp(sub, "enable"))
		return usage_error("client takes add, list, show, rm, disable or enable", sub);
	if (strcmp(sub, "list") == 0 ? argc != 1 : strcmp(sub, "add") != 0 && argc != 2)
		return usage_error("wrong number of arguments for client", sub);
	if (open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		rc = client_add(argc - 1, argv + 1, s);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_client_each(s, collect_client, list);
		rc = err == TS_OK ? print(list) : (json_decref(list), fail("client list", err));
	} else if (strcmp(sub, "show") == 0) {
		rc = client_show(s, argv[1]);
	} else if (strcmp(sub, "rm") == 0) {
		err = store_client_remove(s, argv[1]);
		rc = err == TS_OK ? print(json_pack("{s:s}", "removed", argv[1])) : fail(argv[1], err);
	} else {
		err = store_client_set_active(s, argv[1], strcmp(sub, "enable") == 0,
		                              (int64_t)time(NULL));
		rc = err == TS_OK ? client_show(s, argv[1]) : fail(argv[1], err);
	}
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
		return usage_error("user add needs a USERNAME", NULL);
	u.scope = "";
	u.active = 1;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--password-stdin") == 0) {
			want_pw = 1;
			continue;
		}
		if (!val || (strcmp(opt, "--scope") && strcmp(opt, "--email") && strcmp(opt, "--name")))
			return usage_error("unknown option or missing value", opt);
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
		return fail("user add", TS_SERVER_ERROR);
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
		rc = err == TS_CONFLICT ? 1 : fail(u.username, err);
		goto out;
	}
	rc = print(user_json(&u));
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
		return usage_error("user takes add, list, show, rm, passwd, disable or enable", sub);
	if (strcmp(sub, "list") == 0 ? argc != 1 : strcmp(sub, "add") != 0 && argc != 2)
		return usage_error("wrong number of arguments for user", sub);
	if (open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		rc = user_add(argc - 1, argv + 1, s);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_user_each(s, collect_user, list);
		rc = err == TS_OK ? print(list) : (json_decref(list), fail("user list", err));
	} else if (strcmp(sub, "show") == 0) {
		err = store_user_get(s, argv[1], &u);
		rc = err == TS_OK ? print(user_json(u)) : fail(argv[1], err);
		store_user_free(u);
	} else if (strcmp(sub, "rm") == 0) {
		err = store_user_remove(s, argv[1]);
		rc = err == TS_OK ? print(json_pack("{s:s}", "removed", argv[1])) : fail(argv[1], err);
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		err = store_user_set_active(s, argv[1], sub[0] == 'e', (int64_t)time(NULL));
		if (err == TS_OK)
			err = store_user_get(s, argv[1], &u);
		rc = err == TS_OK ? print(user_json(u)) : fail(argv[1], err);
		store_user_free(u);
	} else {
		pw = read_password();
		if (!pw || password_hash(pw, &hash) != TS_OK) {
			fprintf(stderr, "tessera: no usable password on stdin (1-1024 bytes)\n");
			rc = 1;
		} else {
			err = store_user_set_password(s, argv[1], hash, (int64_t)time(NULL));
			rc = err == TS_OK ? print(json_pack("{s:s}", "updated", argv[1])) :
			                    fail(argv[1], err);
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
				return usage_error("grant list takes --user NAME and --client ID", argv[i]);
		}
	} else if ((strcmp(sub, "scope") == 0 && argc == 3) ||
	           (strcmp(sub, "revoke") == 0 && argc == 2)) {
		id = strtoll(argv[1], &end, 10);
		if (*end || id <= 0)
			return usage_error("not a grant id", argv[1]);
		if (argc == 3 && !grant_scope_valid(argv[2])) {
			fprintf(stderr, "tessera: invalid scope: %s\n", argv[2]);
			return 1;
		}
	} else {
		return usage_error("grant takes list, scope ID \"SCOPES\" or revoke ID", sub);
	}
	if (open_store(cfg, &gl.s) != TS_OK)
		return 1;
	if (strcmp(sub, "list") == 0) {
		gl.list = json_array();
		err = store_grant_each(gl.s, user, client, collect_grant, &gl);
		rc = err == TS_OK ? print(gl.list) : (json_decref(gl.list), fail("grant list", err));
	} else {
		err = strcmp(sub, "scope") == 0 ? set_grant_scope(gl.s, id, argv[2]) :
		      store_grant_revoke(gl.s, id, (int64_t)time(NULL));
		if (err == TS_OK)
			err = store_grant_get(gl.s, id, &g);
		rc = err == TS_OK ? print(grant_json(gl.s, g)) : fail(argv[1], err);
		store_grant_free(g);
	}
	store_close(gl.s);
	return rc;
}

static int collect_key(const struct key_row *k, void *arg)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:b}", "kid", k->kid, "alg", k->alg,
		"created_at", (json_int_t)k->created_at,
		"retired_at", k->retired_at ? json_integer(k->retired_at) : json_null(),
		"signing", k->retired_at == 0);

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
		return usage_error("key takes rotate, list or jwks", sub);
	if (open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "rotate") == 0) {
		err = keys_rotate(s, cfg->signing_alg, (int64_t)time(NULL), &kid);
		rc = err == TS_OK ? print(json_pack("{s:s, s:s}", "kid", kid, "alg", cfg->signing_alg)) :
		                    fail("key rotate", err);
		free(kid);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_key_each(s, collect_key, list);
		rc = err == TS_OK ? print(list) : (json_decref(list), fail("key list", err));
	} else {
		err = keyring_load(s, (int64_t)time(NULL), (int64_t)cfg->access_token_ttl + 300, &ring);
		rc = err == TS_OK ? print(json_loads(ring->jwks, 0, NULL)) : fail("key jwks", err);
		keyring_free(ring);
	}
	store_close(s);
	return rc;
}
