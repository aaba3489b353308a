/* scim_write.c - SCIM writes: POST (create), PUT (replace), PATCH, DELETE.
 *
 * The body is checked and normalised (and a PATCH applied to the current resource, and a
 * password hashed) on the worker thread; what reaches the database is one job of the
 * group-committing writer, which checks If-Match against the resource as it is inside that
 * transaction and answers only once it committed. A PATCH is applied to the version it read;
 * when another write came in between, the job refuses and the PATCH is applied again to the new
 * version (a few times at most), so that no change is lost. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "client.h"
#include "form.h"
#include "grant.h"
#include "httphdr.h"
#include "password.h"
#include "scim_patch.h"
#include "scim_res.h"
#include "scope.h"
#include "secret.h"
#include "scim.h"

#define PATCH_TRIES 5

enum job_kind { J_CREATE, J_REPLACE, J_DELETE };

struct job {
	/* in */
	enum job_kind kind;
	const struct scim_rtype *t;
	const char *id;            /* J_REPLACE, J_DELETE */
	const char *base;
	const json_t *n;           /* the normalised new resource (J_CREATE, J_REPLACE) */
	const char *if_match;      /* the header, or NULL */
	const char *expect;        /* PATCH: the version the patch was applied to, or NULL */
	char *pw_hash;             /* users: a new password's hash, or NULL */
	int gen_secret;            /* clients: make a new secret */
	int64_t now;
	/* out */
	int stale;                 /* expect was not the version any more: nothing done */
	json_t *res;               /* the resource written */
	char secret[SECRET_TOKEN_LEN]; /* clients: a new secret's text, or "" */
	char new_id[SECRET_TOKEN_LEN];
	struct scim_error e;
};

/* ---- per resource type ---- */

static ts_err save_user(store *s, struct job *j, const char **id)
{
	struct user u = {0};
	ts_err rc = scim_user_from(j->n, &u, &j->e);

	if (rc)
		return rc;
	u.password_hash = j->pw_hash;
	u.created_at = u.updated_at = j->now;
	if (j->kind == J_CREATE) {
		rc = store_user_add(s, &u);
		if (!rc)
			snprintf(j->new_id, sizeof j->new_id, "%lld", (long long)u.id);
		*id = j->new_id;
	} else {
		u.id = scim_int_id(j->id);
		rc = store_user_put(s, &u, j->pw_hash != NULL);
	}
	if (rc == TS_CONFLICT)
		rc = scim_error_set(&j->e, SCIM_E_UNIQUENESS, "userName \"%.200s\" is already taken "
		                    "(names are compared regardless of case, width and invisible "
		                    "characters)", u.username);
	u.password_hash = NULL;
	scim_user_clear(&u);
	return rc;
}

static ts_err save_group(store *s, struct job *j, const char **id)
{
	struct group g = {0};
	int64_t *ids = NULL;
	size_t nids = 0;
	ts_err rc = scim_group_from(j->n, &g, &ids, &nids, &j->e);

	if (rc)
		return rc;
	g.created_at = g.updated_at = j->now;
	if (j->kind == J_CREATE) {
		rc = store_group_add(s, &g);
		snprintf(j->new_id, sizeof j->new_id, "%lld", (long long)g.id);
		*id = j->new_id;
	} else {
		g.id = scim_int_id(j->id);
		rc = store_group_put(s, &g);
	}
	if (!rc)
		rc = store_group_set_members(s, g.id, ids, nids, j->now);
	if (rc == TS_NOT_FOUND && j->kind == J_CREATE)
		rc = scim_error_set(&j->e, SCIM_E_INVALID_VALUE, "members: no such user");
	else if (rc == TS_NOT_FOUND && nids)
		rc = scim_error_set(&j->e, SCIM_E_INVALID_VALUE, "members: no such user");
	scim_group_clear(&g);
	free(ids);
	return rc;
}

static ts_err save_client(store *s, struct job *j, const char **id)
{
	struct client c = {0}, *cur = NULL;
	const json_t *pub = json_object_get(j->n, "public");
	int set_secret = 0, has_secret;
	ts_err rc;

	if (j->kind == J_CREATE) {
		/* (22 base64url characters are all digits once in 10^17: drawn again then) */
		do
			rc = secret_random(j->new_id, 16);
		while (!rc && client_id_problem(j->new_id));
		if (rc)
			return rc;
		c.client_id = j->new_id;
		c.created_at = j->now;
	} else {
		if ((rc = store_client_get(s, j->id, &cur)))
			return rc;
		if (pub && json_is_true(pub) != cur->is_public) {
			store_client_free(cur);
			return scim_error_set(&j->e, SCIM_E_MUTABILITY, "public cannot be changed");
		}
		c.client_id = cur->client_id;
		c.is_public = cur->is_public;
		c.created_at = cur->created_at;
		c.cert_bound = cur->cert_bound;   /* what scim_client_from compares tokenBinding to */
		c.dpop_bound = cur->dpop_bound;
		memcpy(c.secret_hash, cur->secret_hash, sizeof c.secret_hash);
	}
	rc = scim_client_from(j->n, &c, &j->e);
	if (!rc && cur && c.is_public != cur->is_public)
		rc = scim_error_set(&j->e, SCIM_E_MUTABILITY, "public cannot be changed (nor "
		                    "tokenEndpointAuthMethod to or from none)");
	has_secret = c.auth_method && strcmp(c.auth_method, "client_secret_basic") == 0;
	if (!rc && j->gen_secret && !has_secret)
		rc = scim_error_set(&j->e, SCIM_E_INVALID_VALUE, "generateSecret: the client's "
		                    "tokenEndpointAuthMethod has no secret");
	/* a new secret when one is made or asked for, or the client moves to a secret; none kept
	 * for the methods without one (nothing secret about such a device is stored) */
	if (!rc && has_secret && (j->kind == J_CREATE || j->gen_secret ||
	                          strcmp(cur->auth_method, "client_secret_basic") != 0)) {
		rc = client_new_secret(&c, j->secret);
		set_secret = 1;
	} else if (!rc && !has_secret && !c.is_public) {
		memset(c.secret_hash, 0, sizeof c.secret_hash);
		set_secret = 1;
	}
	c.updated_at = j->now;
	if (!rc)
		rc = j->kind == J_CREATE ? store_client_add(s, &c) : store_client_put(s, &c, set_secret);
	*id = c.client_id == j->new_id ? j->new_id : j->id;
	secret_wipe(c.secret_hash, sizeof c.secret_hash);
	store_client_clear(&c);
	store_client_free(cur);
	return rc;
}

/* A grant's scope set by an admin: scope tokens with nothing left to fill in. */
static ts_err save_grant(store *s, struct job *j)
{
	const char *scope = json_string_value(json_object_get(j->n, "scope")), *p;
	int ok = scope && *scope;

	for (p = scope; ok && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		char *tok = strndup(p, n);

		if (!tok)
			return TS_SERVER_ERROR;
		ok = scope_token_valid(tok) && !strstr(tok, "${");
		free(tok);
		p += n;
	}
	if (!ok)
		return scim_error_set(&j->e, SCIM_E_INVALID_VALUE,
		                      "scope must be scope tokens without placeholders");
	return grant_set_scope(s, scim_int_id(j->id), scope, j->now);
}

static ts_err remove_one(store *s, struct job *j)
{
	switch (j->t->id) {
	case SCIM_R_USER:
		return store_user_remove_id(s, scim_int_id(j->id));
	case SCIM_R_GROUP:
		return store_group_remove(s, scim_int_id(j->id));
	case SCIM_R_CLIENT:
		return store_client_remove(s, j->id);
	default:
		return store_grant_revoke(s, scim_int_id(j->id), j->now);
	}
}

/* The writer job (writer_fn). */
static ts_err job_run(store *s, void *arg)
{
	struct job *j = arg;
	const char *id = j->id;
	json_t *cur = NULL;
	ts_err rc = TS_OK;

	if (j->kind != J_CREATE) {
		if ((rc = scim_load(s, j->t, j->id, j->base, &cur)))
			return rc;
		if (j->if_match && !httphdr_etag_listed(j->if_match, scim_version(cur)))
			rc = TS_PRECONDITION_FAILED;
		else if (j->expect && strcmp(j->expect, scim_version(cur)) != 0)
			rc = TS_CONFLICT;
		j->stale = rc == TS_CONFLICT;
		json_decref(cur);
		if (rc)
			return rc;
	}
	if (j->kind == J_DELETE)
		return remove_one(s, j);
	switch (j->t->id) {
	case SCIM_R_USER:
		rc = save_user(s, j, &id);
		break;
	case SCIM_R_GROUP:
		rc = save_group(s, j, &id);
		break;
	case SCIM_R_CLIENT:
		rc = save_client(s, j, &id);
		break;
	default:
		rc = save_grant(s, j);
	}
	if (!rc)
		rc = scim_load(s, j->t, id, j->base, &j->res);
	return rc;
}

/* ---- the requests ---- */

/* Takes what is not stored as it is out of the normalised resource n: the password (hashed into
 * j->pw_hash) and generateSecret. Replies and returns -1 on failure. */
static int take_write_only(struct request *r, struct job *j, json_t *n)
{
	const char *pw = json_string_value(json_object_get(n, "password"));
	struct scim_error e = {0};
	ts_err rc;

	j->gen_secret = json_is_true(json_object_get(n, "generateSecret"));
	json_object_del(n, "generateSecret");
	if (!pw)
		return 0;
	rc = password_hash(pw, &j->pw_hash);
	json_object_del(n, "password");
	if (rc == TS_INVALID_REQUEST)
		scim_error_set(&e, SCIM_E_INVALID_VALUE, "password must be 1 to 1024 bytes");
	if (rc) {
		scim_fail(r, rc, &e);
		return -1;
	}
	return 0;
}

/* Answers for the job j that the writer ran with result rc (status on success). */
static void reply_job(struct request *r, struct job *j, ts_err rc, int status,
                      const struct form *f)
{
	const char *attributes = form_get(f, "attributes"), *excluded = form_get(f,
	                                                                        "excludedAttributes");

	if (!rc && j->t->id == SCIM_R_CLIENT)
		client_cache_invalidate();
	if (rc) {
		json_decref(j->res);
		j->res = NULL;
		if (rc == TS_NOT_FOUND && j->e.type == SCIM_E_NONE)
			reply_scim_error(r, rc, NULL, "no such resource");
		else if (rc == TS_PRECONDITION_FAILED)
			reply_scim_error(r, rc, NULL, "the resource has changed (If-Match)");
		else
			scim_fail(r, rc, &j->e);
	} else if (j->kind == J_DELETE) {
		reply_scim(r, 204, NULL, NULL, NULL);
	} else {
		scim_reply_resource(r, j->t, status, j->res, attributes, excluded,
		                    status == 201, *j->secret ? j->secret : NULL);
		j->res = NULL;
	}
	scim_error_clear(&j->e);
	secret_wipe(j->secret, sizeof j->secret);
	secret_free(j->pw_hash);
	j->pw_hash = NULL;
}

/* Runs j through the writer and answers. */
static void run_and_reply(struct request *r, struct job *j, int status, const struct form *f)
{
	reply_job(r, j, http_write(r, job_run, j), status, f);
}

static void start_job(struct request *r, struct job *j, const struct scim_rtype *t,
                      enum job_kind kind, const char *id, const char *base)
{
	memset(j, 0, sizeof *j);
	j->kind = kind;
	j->t = t;
	j->id = id;
	j->base = base;
	j->if_match = http_header(r, MHD_HTTP_HEADER_IF_MATCH);
	j->now = r->now;
}

void scim_create(struct request *r, const struct scim_rtype *t)
{
	struct scim_error e = {0};
	struct form *f = NULL;
	json_t *body, *n = NULL;
	char *base = scim_base(r);
	struct job j;
	ts_err rc;

	if (!base || scim_query_form(r, &f)) {
		if (!base)
			reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
		free(base);
		return;
	}
	body = scim_body(r);
	if (body) {
		start_job(r, &j, t, J_CREATE, NULL, base);
		rc = scim_normalize(t, body, &n, &e);
		if (rc)
			scim_fail(r, rc, &e);
		else if (!take_write_only(r, &j, n)) {
			j.n = n;
			run_and_reply(r, &j, 201, f);
		}
	}
	json_decref(body);
	json_decref(n);
	form_free(f);
	free(base);
}

/* The new resource of a PUT (the body) or a PATCH (the body applied to cur), normalised. */
static ts_err new_resource(const struct scim_rtype *t, const json_t *body, const json_t *cur,
                           int patch, json_t **n, struct scim_error *e)
{
	json_t *patched = NULL;
	ts_err rc;

	*n = NULL;
	if (!patch)
		return scim_normalize(t, body, n, e);
	rc = scim_patch(t, cur, body, &patched, e);
	if (!rc)
		rc = scim_normalize(t, patched, n, e);
	json_decref(patched);
	return rc;
}

void scim_modify(struct request *r, const struct scim_rtype *t, const char *id, int patch)
{
	struct scim_error e = {0};
	struct form *f = NULL;
	json_t *body, *cur = NULL, *n = NULL;
	char *base = scim_base(r), *expect = NULL;
	store *s = http_store(r);
	struct job j;
	int tries;
	ts_err rc;

	if (!base || !s || scim_query_form(r, &f)) {
		if (!base || !s)
			reply_scim_error(r, base ? TS_UNAVAILABLE : TS_SERVER_ERROR, NULL, NULL);
		free(base);
		return;
	}
	body = scim_body(r);
	for (tries = 0; body && tries < PATCH_TRIES; tries++) {
		start_job(r, &j, t, J_REPLACE, id, base);
		rc = scim_load(s, t, id, base, &cur);
		if (!rc && j.if_match && !httphdr_etag_listed(j.if_match, scim_version(cur)))
			rc = TS_PRECONDITION_FAILED;
		if (!rc)
			rc = new_resource(t, body, cur, patch, &n, &e);
		if (rc == TS_NOT_FOUND)
			reply_scim_error(r, rc, NULL, "no such resource");
		else if (rc == TS_PRECONDITION_FAILED)
			reply_scim_error(r, rc, NULL, "the resource has changed (If-Match)");
		else if (rc)
			scim_fail(r, rc, &e);
		if (rc || take_write_only(r, &j, n))
			break;
		free(expect);
		expect = patch ? strdup(scim_version(cur)) : NULL;
		if (patch && !expect) {
			reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
			break;
		}
		j.expect = expect;
		j.n = n;
		rc = http_write(r, job_run, &j);
		if (rc == TS_CONFLICT && j.stale) {
			/* written meanwhile: apply the PATCH again to what is there now */
			secret_free(j.pw_hash);
			scim_error_clear(&j.e);
			json_decref(cur);
			json_decref(n);
			cur = n = NULL;
			continue;
		}
		reply_job(r, &j, rc, 200, f);
		break;
	}
	if (body && tries == PATCH_TRIES)
		reply_scim_error(r, TS_UNAVAILABLE, NULL, "the resource keeps changing; try again");
	json_decref(body);
	json_decref(cur);
	json_decref(n);
	free(expect);
	form_free(f);
	free(base);
}

void scim_delete(struct request *r, const struct scim_rtype *t, const char *id)
{
	char *base = scim_base(r);
	struct job j;

	if (!base) {
		reply_scim_error(r, TS_SERVER_ERROR, NULL, NULL);
		return;
	}
	start_job(r, &j, t, J_DELETE, id, base);
	run_and_reply(r, &j, 204, NULL);
	free(base);
}
