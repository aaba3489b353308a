/* cli_enroll.c - tessera enrollment add|list|show|revoke|rm: the enrollment tokens with which a
 * fleet of devices registers itself (RFC 7591, docs/enrollment.md). JSON on stdout, one line on
 * stderr for an error; exit 0 ok, 1 failure, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "cli.h"
#include "client.h"
#include "enroll.h"
#include "secret.h"
#include "store.h"
#include "store_enroll.h"

static json_t *word_array(const char *list)
{
	json_t *a = json_array();
	size_t n;

	for (; a && list && *list; list += n, list += strspn(list, " ")) {
		n = strcspn(list, " ");
		json_array_append_new(a, json_stringn(list, n));
	}
	return a;
}

/* An enrollment token as the CLI and SCIM show it (never its secret or hash). */
static json_t *cli_enrollment_json(const struct enrollment *e, int64_t now)
{
	const char *why = enroll_unusable(e, now);
	json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s}",
		"id", e->id, "name", e->name, "grant_types", word_array(e->t.grant_types),
		"scope", e->t.scope, "auth_method", e->t.auth_method,
		"token_format", e->t.token_reference ? "reference" : "jwt",
		"max_uses", (json_int_t)e->max_uses, "uses", (json_int_t)e->uses,
		"expires_at", (json_int_t)e->expires_at, "created_at", (json_int_t)e->created_at,
		"state", !why ? "active" : e->revoked_at ? "revoked" :
		         e->expires_at <= now ? "expired" : "used up");

	if (j && e->revoked_at)
		json_object_set_new(j, "revoked_at", json_integer(e->revoked_at));
	return j;
}

static int set_string(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

/* The template of a JSON file: {"grant_types": [...], "scope": "...",
 * "token_endpoint_auth_method": "...", "token_format": "jwt"|"reference"} (each optional). */
static int template_file(const char *path, struct enroll_template *t)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *v, *g;
	const char *key;
	size_t i;
	int rc = -1;

	if (!json_is_object(j)) {
		fprintf(stderr, "tessera: %s: not a JSON object (%s)\n", path, err.text);
		goto out;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "grant_types") == 0 && json_is_array(v)) {
			json_array_foreach(v, i, g)
				if (!json_is_string(g) ||
				    enroll_template_add_grant(t, json_string_value(g)))
					goto bad;
		} else if (strcmp(key, "scope") == 0 && json_is_string(v)) {
			if (set_string(&t->scope, json_string_value(v)))
				goto out;
		} else if (strcmp(key, "token_endpoint_auth_method") == 0 && json_is_string(v)) {
			if (set_string(&t->auth_method, json_string_value(v)))
				goto out;
		} else if (strcmp(key, "token_format") == 0 && json_is_string(v) &&
		           (!strcmp(json_string_value(v), "jwt") ||
		            !strcmp(json_string_value(v), "reference"))) {
			t->token_reference = strcmp(json_string_value(v), "reference") == 0;
		} else {
			goto bad;
		}
	}
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "tessera: %s: \"%s\" is not a template field of the right type "
	        "(grant_types, scope, token_endpoint_auth_method, token_format)\n", path, key);
out:
	json_decref(j);
	return rc;
}

static int enrollment_add(int argc, char **argv, store *s)
{
	struct enrollment e = {0};
	char text[ENROLL_TOKEN_LEN] = "", *bad = NULL, *end;
	const char *why;
	int64_t now = (int64_t)time(NULL), ttl = 0;
	int i, rc = 2, file_grants = 0;
	ts_err err;

	for (i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			cli_usage("unknown option or missing value", opt);
			goto out;
		}
		i++;
		if (strcmp(opt, "--template") == 0) {
			if (template_file(val, &e.t)) {
				rc = 1;
				goto out;
			}
			file_grants = e.t.grant_types != NULL;
		} else if (strcmp(opt, "--grant") == 0) {
			if (file_grants) { /* flags after a file replace its grant types */
				free(e.t.grant_types);
				e.t.grant_types = NULL;
				file_grants = 0;
			}
			if (enroll_template_add_grant(&e.t, val))
				goto out;
		} else if (strcmp(opt, "--scope") == 0) {
			if (set_string(&e.t.scope, val))
				goto out;
		} else if (strcmp(opt, "--auth-method") == 0) {
			if (set_string(&e.t.auth_method, val))
				goto out;
		} else if (strcmp(opt, "--token-format") == 0) {
			if (strcmp(val, "jwt") && strcmp(val, "reference")) {
				cli_usage("--token-format takes jwt or reference", val);
				goto out;
			}
			e.t.token_reference = strcmp(val, "reference") == 0;
		} else if (strcmp(opt, "--name") == 0) {
			if (set_string(&e.name, val))
				goto out;
		} else if (strcmp(opt, "--max-uses") == 0) {
			e.max_uses = strtoll(val, &end, 10);
			if (*end || end == val || val[0] == '-' || e.max_uses < 1 ||
			    e.max_uses > 100000000) {
				cli_usage("--max-uses takes a number from 1 to 100000000", val);
				goto out;
			}
		} else if (strcmp(opt, "--expires") == 0) {
			if (enroll_duration(val, &ttl)) {
				cli_usage("--expires takes a duration such as 30d, 12h, 90m or 3600", val);
				goto out;
			}
		} else {
			cli_usage("unknown option", opt);
			goto out;
		}
	}
	if (!e.max_uses || !ttl) {
		cli_usage("enrollment add needs --max-uses N and --expires DURATION", NULL);
		goto out;
	}
	rc = 1;
	if (!e.t.auth_method && set_string(&e.t.auth_method, "private_key_jwt"))
		goto out;
	if (!e.t.grant_types && enroll_template_add_grant(&e.t, "client_credentials"))
		goto out;
	if ((why = enroll_template_problem(&e.t, &bad))) {
		fprintf(stderr, "tessera: %s%s%s\n", why, bad ? ": " : "", bad ? bad : "");
		goto out;
	}
	if (!e.name && set_string(&e.name, ""))
		goto out;
	e.created_at = now;
	e.expires_at = now + ttl;
	if (enroll_token_new(&e, text))
		goto out;
	err = store_enrollment_add(s, &e);
	if (err) {
		rc = cli_fail(e.id, err);
		goto out;
	}
	/* the token is shown this once: only the hash of its secret is kept */
	rc = cli_print(json_pack("{s:s, s:s, s:I, s:I}", "id", e.id, "enrollment_token", text,
	                            "max_uses", (json_int_t)e.max_uses,
	                            "expires_at", (json_int_t)e.expires_at));
out:
	secret_wipe(text, sizeof text);
	free(bad);
	store_enrollment_clear(&e);
	return rc;
}

static int collect(const struct enrollment *e, void *arg)
{
	return json_array_append_new(arg, cli_enrollment_json(e, (int64_t)time(NULL)));
}

static int enrollment_show(store *s, const char *id)
{
	struct enrollment *e = NULL;
	ts_err rc = store_enrollment_get(s, id, &e);
	int ret;

	if (rc)
		return cli_fail(id, rc);
	ret = cli_print(cli_enrollment_json(e, (int64_t)time(NULL)));
	store_enrollment_free(e);
	return ret;
}

int cli_enrollment(int argc, char **argv, struct config *cfg)
{
	const char *sub = argc ? argv[0] : "";
	store *s = NULL;
	json_t *list;
	ts_err err;
	int rc;

	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show") &&
	    strcmp(sub, "revoke") && strcmp(sub, "rm"))
		return cli_usage("enrollment takes add, list, show, revoke or rm", sub);
	if (strcmp(sub, "list") == 0 ? argc != 1 : strcmp(sub, "add") != 0 && argc != 2)
		return cli_usage("wrong number of arguments for enrollment", sub);
	if (cli_open_store(cfg, &s) != TS_OK)
		return 1;
	if (strcmp(sub, "add") == 0) {
		rc = enrollment_add(argc - 1, argv + 1, s);
	} else if (strcmp(sub, "list") == 0) {
		list = json_array();
		err = list ? store_enrollment_each(s, collect, list) : TS_SERVER_ERROR;
		rc = err == TS_OK ? cli_print(list) : (json_decref(list), cli_fail("list", err));
	} else if (strcmp(sub, "show") == 0) {
		rc = enrollment_show(s, argv[1]);
	} else if (strcmp(sub, "revoke") == 0) {
		err = store_enrollment_revoke(s, argv[1], (int64_t)time(NULL));
		rc = err == TS_OK ? enrollment_show(s, argv[1]) : cli_fail(argv[1], err);
	} else {
		err = store_enrollment_remove(s, argv[1]);
		rc = err == TS_OK ? cli_print(json_pack("{s:s}", "removed", argv[1]))
		                  : cli_fail(argv[1], err);
	}
	store_close(s);
	return rc;
}
