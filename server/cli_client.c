/* cli_client.c - tessera client add | list | show | rm | disable | enable: clients on the
 * database, with how each authenticates (a secret, none, private_key_jwt, tls_client_auth or
 * self_signed_tls_client_auth: schema 012). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "client.h"
#include "client_cert.h"
#include "scope.h"
#include "secret.h"
#include "store.h"

static const char *const known_grants[] = {
	"client_credentials", "authorization_code", "refresh_token", "device_code"};

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
	json_t *j = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:s, s:b, s:i, s:i, s:i, s:b, s:I, s:I, "
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
	json_t *jwks = c->jwks ? json_loads(c->jwks, 0, NULL) : NULL;

	if (j && json_object_update_new(j, json_pack("{s:s, s:o?, s:s?, s:s?, s:s?, s:b, s:b}",
	    "auth_method", c->auth_method ? c->auth_method : "", "jwks", jwks,
	    "jwks_uri", c->jwks_uri, "tls_subject_dn", c->tls_subject_dn, "tls_san", c->tls_san,
	    "cert_bound", c->cert_bound, "dpop_bound", c->dpop_bound)) != 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
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


/* The client's text field that an option sets (checked by client_rules after all are read). */
static const struct {
	const char *opt;
	size_t field;
} text_options[] = {
	{"--auth-method", offsetof(struct client, auth_method)},
	{"--jwks-uri", offsetof(struct client, jwks_uri)},
	{"--tls-subject-dn", offsetof(struct client, tls_subject_dn)},
	{"--tls-subject", offsetof(struct client, tls_subject_dn)},
	{"--tls-san", offsetof(struct client, tls_san)},
};

/* --tls-san-dns NAME and its kin: the same as --tls-san dns:NAME */
static const char *const san_options[] = {"--tls-san-dns", "--tls-san-uri", "--tls-san-ip",
                                          "--tls-san-email"};

static const char *san_option(const char *opt)
{
	size_t i;

	for (i = 0; i < sizeof san_options / sizeof san_options[0]; i++)
		if (strcmp(opt, san_options[i]) == 0)
			return opt + strlen("--tls-san-");
	return NULL;
}

/* --bind-tokens mtls|dpop|none: mtls and dpop are --cert-bound and --dpop-bound (both may be
 * given), none clears both. 0, or -1 for another value. */
static int bind_tokens(const char *val, struct client *c)
{
	if (strcmp(val, "mtls") == 0)
		c->cert_bound = 1;
	else if (strcmp(val, "dpop") == 0)
		c->dpop_bound = 1;
	else if (strcmp(val, "none") == 0)
		c->cert_bound = c->dpop_bound = 0;
	else
		return -1;
	return 0;
}

static char **text_option(const char *opt, struct client *c)
{
	size_t i;

	for (i = 0; i < sizeof text_options / sizeof text_options[0]; i++)
		if (strcmp(opt, text_options[i].opt) == 0)
			return (char **)((char *)c + text_options[i].field);
	return NULL;
}

/* The JWK Set of --jwks-file path, or the one registering the certificate of --cert-file path
 * (opt says which): malloc'd text, or NULL after a line on stderr. */
static char *read_jwks(const char *opt, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f ? malloc(CLIENT_JWKS_MAX + 1) : NULL, *pem;
	size_t n = buf ? fread(buf, 1, CLIENT_JWKS_MAX + 1, f) : 0;
	const char *why = NULL;

	if (buf) {
		buf[n <= CLIENT_JWKS_MAX ? n : CLIENT_JWKS_MAX] = '\0';
		if (n > CLIENT_JWKS_MAX || ferror(f))
			why = "too large or unreadable";
		if (!why && strcmp(opt, "--cert-file") == 0) {
			pem = buf;
			buf = client_cert_jwks(pem, &why);
			free(pem);
		}
		if (buf && !why)
			why = client_jwks_problem(buf);
	}
	if (f)
		fclose(f);
	if (!buf || why) {
		fprintf(stderr, "tessera: %s %s: %s\n", opt, path, why ? why : "cannot read it");
		free(buf);
		return NULL;
	}
	return buf;
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
	int i, rc = 2, g, has_secret;
	ts_err err;

	if (argc < 1 || argv[0][0] == '-')
		return cli_usage("client add needs a CLIENT_ID", NULL);
	c.client_id = argv[0];
	c.name = strdup("");
	c.redirect_uris = strdup("");
	c.post_logout_redirect_uris = strdup("");
	c.refresh_rotation = 1;
	c.active = 1;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--public") == 0 || strcmp(opt, "--cert-bound") == 0 ||
		    strcmp(opt, "--dpop-bound") == 0) {
			*(opt[2] == 'p' ? &c.is_public : opt[2] == 'c' ? &c.cert_bound : &c.dpop_bound) = 1;
			continue;
		}
		if (!val) {
			cli_usage("unknown option or missing value", opt);
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
				cli_usage("invalid post-logout redirect URI", val);
				goto out;
			}
			append_word(&c.post_logout_redirect_uris, val);
		} else if (strcmp(opt, "--grant") == 0) {
			for (g = 0; g < 4 && strcmp(val, known_grants[g]) != 0; g++)
				;
			if (g == 4) {
				cli_usage("unknown grant type", val);
				goto out;
			}
			if (!client_list_has(c.grant_types, val))
				append_word(&c.grant_types, val);
		} else if (strcmp(opt, "--scope") == 0) {
			free(c.scope);
			c.scope = strdup(val);
		} else if (strcmp(opt, "--token-format") == 0) {
			if (strcmp(val, "jwt") && strcmp(val, "reference")) {
				cli_usage("--token-format takes jwt or reference", val);
				goto out;
			}
			c.token_reference = strcmp(val, "reference") == 0;
		} else if (strcmp(opt, "--refresh-rotation") == 0) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				cli_usage("--refresh-rotation takes on or off", val);
				goto out;
			}
			c.refresh_rotation = strcmp(val, "on") == 0;
		} else if (text_option(opt, &c) != NULL) {
			char **dst = text_option(opt, &c);

			free(*dst);
			*dst = strdup(dst == &c.auth_method ? client_method_canonical(val) : val);
		} else if (san_option(opt) != NULL) {
			free(c.tls_san);
			if (asprintf(&c.tls_san, "%s:%s", san_option(opt), val) < 0) {
				c.tls_san = NULL;
				rc = 1;
				goto out;
			}
		} else if (strcmp(opt, "--bind-tokens") == 0) {
			if (bind_tokens(val, &c) != 0) {
				cli_usage("--bind-tokens takes mtls, dpop or none", val);
				goto out;
			}
		} else if (strcmp(opt, "--jwks-file") == 0 || strcmp(opt, "--cert-file") == 0) {
			free(c.jwks);
			if (!(c.jwks = read_jwks(opt, val))) {
				rc = 1;
				goto out;
			}
		} else if (seconds_option(opt, &c) != NULL) {
			int *dst = seconds_option(opt, &c);
			long v = strtol(val, &end, 10);

			if (*end || end == val || v < 0 || v > 315360000 ||
			    strspn(val, "0123456789") != strlen(val)) {
				cli_usage("a number of seconds is needed for", opt);
				goto out;
			}
			*dst = (int)v;
		} else {
			cli_usage("unknown option", opt);
			goto out;
		}
	}
	rc = 1;
	if (c.auth_method && !client_method_known(c.auth_method)) {
		rc = cli_usage("unknown --auth-method", c.auth_method);
		goto out;
	}
	if (c.auth_method && strcmp(c.auth_method, "none") == 0)
		c.is_public = 1;
	else if (c.auth_method && c.is_public) {
		rc = cli_usage("--public is --auth-method none", c.auth_method);
		goto out;
	}
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
	has_secret = !c.auth_method || strcmp(c.auth_method, "client_secret_basic") == 0;
	if (has_secret && !c.is_public && client_new_secret(&c, secret) != TS_OK)
		goto out;
	c.created_at = c.updated_at = (int64_t)time(NULL);
	err = store_client_add(s, &c);
	if (err != TS_OK) {
		rc = cli_fail(c.client_id, err);
		goto out;
	}
	rc = cli_print(c.is_public || !has_secret ? json_pack("{s:s}", "client_id", c.client_id) :
	                         json_pack("{s:s, s:s}", "client_id", c.client_id,
	                                   "client_secret", secret));
out:
	secret_wipe(secret, sizeof secret);
	secret_wipe(c.secret_hash, sizeof c.secret_hash);
	free(bad);
	store_client_clear(&c);
	return rc;
}

static int client_show(store *s, const char *id)
{
	struct client *c = NULL;
	ts_err rc = store_client_get(s, id, &c);
	int ret;

	if (rc != TS_OK)
		return cli_fail(id, rc);
	ret = cli_print(client_json(c));
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
		return cli_usage("client takes add, list, show, rm, disable or enable", sub);
	if (strcmp(sub, "list") == 0 ? argc != 1 : strcmp(sub, "add") != 0 && argc != 2)
		return cli_usage("wrong number of arguments for client", sub);
	if (cli_open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		rc = client_add(argc - 1, argv + 1, s);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = store_client_each(s, collect_client, list);
		rc = err == TS_OK ? cli_print(list) : (json_decref(list), cli_fail("client list", err));
	} else if (strcmp(sub, "show") == 0) {
		rc = client_show(s, argv[1]);
	} else if (strcmp(sub, "rm") == 0) {
		err = store_client_remove(s, argv[1]);
		rc = err == TS_OK ? cli_print(json_pack("{s:s}", "removed", argv[1])) : cli_fail(argv[1], err);
	} else {
		err = store_client_set_active(s, argv[1], strcmp(sub, "enable") == 0,
		                              (int64_t)time(NULL));
		rc = err == TS_OK ? client_show(s, argv[1]) : cli_fail(argv[1], err);
	}
	store_close(s);
	return rc;
}
