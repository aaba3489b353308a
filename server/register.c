/* register.c - dynamic client registration (RFC 7591) with enrollment tokens, and the management
 * of a registration (RFC 7592):
 *   POST /register               Authorization: Bearer <enrollment token>, client metadata
 *   GET|PUT|DELETE /register/ID  Authorization: Bearer <registration access token>
 * What a registration may be is its enrollment token's template (lib/enroll.h); registrations
 * are limited per enrollment token (enroll_throttle, answered 429 with Retry-After).
 * docs/enrollment.md; docs/security.md rows 107-111. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "client.h"
#include "enroll.h"
#include "secret.h"
#include "store_enroll.h"
#include "throttle.h"
#include "server.h"

/* Per enrollment token: 30 registrations at once, then one every 100 ms doubling up to one a
 * second; after 10 s without one the burst is free again. Several nodes share the count
 * (limits.c, docs/nodes.md). */
const struct throttle_policy register_throttle_policy = {30, 100, 1000, 10000, "enrollment"};

/* The bearer token of the Authorization header; replies 401 invalid_token when there is none. */
static const char *bearer(struct request *r)
{
	const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		reply_error(r, TS_INVALID_TOKEN, "a Bearer token is required");
		return NULL;
	}
	for (h += 7; *h == ' '; h++)
		;
	return h;
}

/* The body as a JSON object; replies 400 (415 for another media type) and NULL when it is not. */
static json_t *json_body(struct request *r)
{
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t err;
	json_t *body;

	if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' &&
	                                                            ct[16] != ' ')) {
		reply_error(r, TS_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
		return NULL;
	}
	body = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(body)) {
		json_decref(body);
		reply_error(r, TS_INVALID_REQUEST, "the body must be a JSON object (UTF-8)");
		return NULL;
	}
	return body;
}

static char *client_uri(struct request *r, const char *client_id)
{
	const char *iss = r->srv->cfg.issuer;
	size_t n = strlen(iss);
	char *s;

	if (n && iss[n - 1] == '/')
		n--;
	return asprintf(&s, "%.*s/register/%s", (int)n, iss, client_id) < 0 ? NULL : s;
}

/* The answer about client c: its metadata, the URI that manages it and (rat not NULL) its new
 * registration access token. */
static void reply_client(struct request *r, int status, const struct client *c, const char *rat)
{
	json_t *j = enroll_client_json(c);
	char *uri = client_uri(r, c->client_id);

	if (!j || !uri) {
		json_decref(j);
		free(uri);
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	json_object_set_new(j, "registration_client_uri", json_string(uri));
	if (rat)
		json_object_set_new(j, "registration_access_token", json_string(rat));
	free(uri);
	reply_json(r, status, j);
}

/* --- POST /register --- */

struct reg_job {
	struct client *c;
	struct registration g;
	int64_t now;
};

static ts_err register_job(store *s, void *arg)
{
	struct reg_job *j = arg;

	return store_register(s, j->c, &j->g, j->now);
}

/* The enrollment token of the request, checked: NULL after replying 401 (or an error). */
static struct enrollment *enrollment_of(struct request *r, store *s)
{
	const char *token = bearer(r), *secret, *why;
	struct enrollment *e = NULL;
	char id[ENROLL_ID_LEN];
	ts_err rc;

	if (!token)
		return NULL;
	if (enroll_token_parse(token, id, &secret)) {
		reply_error(r, TS_INVALID_TOKEN, "not an enrollment token");
		return NULL;
	}
	rc = store_enrollment_get(s, id, &e);
	if (rc == TS_NOT_FOUND || (!rc && !enroll_secret_matches(e->hash, secret))) {
		store_enrollment_free(e);
		reply_error(r, TS_INVALID_TOKEN, "unknown enrollment token");
		return NULL;
	}
	if (rc) {
		reply_error(r, rc, NULL);
		return NULL;
	}
	if ((why = enroll_unusable(e, r->now))) {
		store_enrollment_free(e);
		reply_error(r, TS_INVALID_TOKEN, why);
		return NULL;
	}
	return e;
}

static void register_create(struct request *r)
{
	store *s = http_store(r);
	struct enrollment *e;
	struct reg_job j = {0};
	char cid[ENROLL_CLIENT_ID_LEN], rat[SECRET_TOKEN_LEN] = "", why[240] = "";
	json_t *md = NULL;
	ts_err rc;

	if (!s) {
		reply_error(r, TS_UNAVAILABLE, NULL);
		return;
	}
	if (!(e = enrollment_of(r, s)))
		return;
	if (limit_reply(r, r->srv->enroll_throttle, e->id, NULL, NULL, 0,
	                "too many registrations with this enrollment token")) {
		store_enrollment_free(e);
		return;
	}
	/* every registration counts, made or refused */
	if (!(md = json_body(r)))
		goto out;
	j.c = calloc(1, sizeof *j.c);
	if (!j.c || enroll_client_id_new(cid) || !(j.c->client_id = strdup(cid)) ||
	    enroll_rat_new(rat, j.g.hash)) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	rc = enroll_metadata(md, &e->t, j.c, why, sizeof why);
	if (rc) {
		reply_error(r, rc, rc == TS_SERVER_ERROR ? NULL : why);
		goto out;
	}
	j.c->created_at = j.c->updated_at = j.g.created_at = j.now = r->now;
	j.g.client_id = j.c->client_id;
	j.g.enrollment_id = e->id;
	j.g.t = e->t;
	rc = http_write(r, register_job, &j);
	if (rc == TS_NOT_FOUND) /* used up, expired or revoked since it was read */
		reply_error(r, TS_INVALID_TOKEN, "the enrollment token is no longer usable");
	else if (rc)
		reply_error(r, rc, NULL);
	else {
		client_cache_invalidate();
		if (!r->client_id) /* for the log line */
			r->client_id = strdup(j.c->client_id);
		reply_client(r, 201, j.c, rat);
	}
out:
	limit_settle(r, r->srv->enroll_throttle, e->id, 0);
	secret_wipe(rat, sizeof rat);
	secret_wipe(j.g.hash, sizeof j.g.hash);
	store_client_free(j.c);
	json_decref(md);
	store_enrollment_free(e);
}

/* --- GET, PUT, DELETE /register/ID --- */

/* The registration of client id, its registration access token checked, and the client: 0, or
 * -1 after replying (401 for an unknown client or a wrong token, RFC 7592 §2). */
static int registration_of(struct request *r, store *s, const char *id, struct registration **g,
                           struct client **c)
{
	const char *token = bearer(r);
	ts_err rc;

	*g = NULL;
	*c = NULL;
	if (!token)
		return -1;
	rc = store_registration_get(s, id, g);
	if (!rc && !enroll_secret_matches((*g)->hash, token))
		rc = TS_NOT_FOUND;
	if (!rc)
		rc = store_client_get(s, id, c);
	if (rc == TS_NOT_FOUND) {
		reply_error(r, TS_INVALID_TOKEN, "unknown client or registration access token");
	} else if (rc) {
		reply_error(r, rc, NULL);
	}
	if (rc) {
		store_registration_free(*g);
		store_client_free(*c);
		*g = NULL;
		*c = NULL;
		return -1;
	}
	return 0;
}

static ts_err put_job(store *s, void *arg)
{
	return store_client_put(s, arg, 0);
}

static ts_err delete_job(store *s, void *arg)
{
	return store_client_remove(s, arg);
}

/* RFC 7592 §2.2: the whole metadata again, replacing what was registered, within the template
 * the client was registered under. */
static void register_update(struct request *r, const struct registration *g,
                            const struct client *old)
{
	static const char *const forbidden[] = {"registration_access_token",
		"registration_client_uri", "client_secret_expires_at", "client_id_issued_at",
		"client_secret"};
	json_t *md = json_body(r);
	struct client *c = NULL;
	const char *id;
	char why[240] = "";
	size_t i;
	ts_err rc;

	if (!md)
		return;
	id = json_string_value(json_object_get(md, "client_id"));
	if (!id || strcmp(id, old->client_id)) {
		reply_error(r, TS_INVALID_REQUEST, "client_id must be given and be this client's");
		goto out;
	}
	for (i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
		if (json_object_get(md, forbidden[i])) {
			snprintf(why, sizeof why, "%s may not be sent in an update (RFC 7592 section 2.2)",
			         forbidden[i]);
			reply_error(r, TS_INVALID_REQUEST, why);
			goto out;
		}
	if (!(c = calloc(1, sizeof *c)) || !(c->client_id = strdup(old->client_id))) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	rc = enroll_metadata(md, &g->t, c, why, sizeof why);
	if (rc) {
		reply_error(r, rc, rc == TS_SERVER_ERROR ? NULL : why);
		goto out;
	}
	c->refresh_grace = old->refresh_grace;
	c->refresh_idle_ttl = old->refresh_idle_ttl;
	c->grant_lifetime = old->grant_lifetime;
	c->refresh_rotation = old->refresh_rotation;
	c->active = old->active;
	c->created_at = old->created_at;
	c->updated_at = r->now;
	if (old->external_id && !(c->external_id = strdup(old->external_id))) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		goto out;
	}
	rc = http_write(r, put_job, c);
	if (rc) {
		reply_error(r, rc == TS_NOT_FOUND ? TS_INVALID_TOKEN : rc, NULL);
		goto out;
	}
	client_cache_invalidate();
	reply_client(r, 200, c, NULL);
out:
	store_client_free(c);
	json_decref(md);
}

static void register_manage(struct request *r, const char *id)
{
	store *s = http_store(r);
	struct registration *g = NULL;
	struct client *c = NULL;
	ts_err rc;

	if (!s) {
		reply_error(r, TS_UNAVAILABLE, NULL);
		return;
	}
	if (registration_of(r, s, id, &g, &c))
		return;
	if (!r->client_id) /* for the log line */
		r->client_id = strdup(c->client_id);
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		reply_client(r, 200, c, NULL);
	} else if (strcmp(r->method, "PUT") == 0) {
		register_update(r, g, c);
	} else {
		rc = http_write(r, delete_job, c->client_id);
		if (rc)
			reply_error(r, rc == TS_NOT_FOUND ? TS_INVALID_TOKEN : rc, NULL);
		else {
			client_cache_invalidate();
			reply_empty(r, 204);
		}
	}
	store_registration_free(g);
	store_client_free(c);
}

void register_handle(struct request *r)
{
	const char *id = r->url + 9; /* after "/register" */

	if (!*id) {
		r->allow = "POST";
		if (strcmp(r->method, "POST") != 0)
			reply_error(r, TS_METHOD_NOT_ALLOWED, "method not allowed");
		else
			register_create(r);
		return;
	}
	r->allow = "GET, PUT, DELETE";
	id++;
	if (!*id || strchr(id, '/')) {
		reply_error(r, TS_NOT_FOUND, NULL);
		return;
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && strcmp(r->method, "PUT") &&
	    strcmp(r->method, "DELETE"))
		reply_error(r, TS_METHOD_NOT_ALLOWED, "method not allowed");
	else
		register_manage(r, id);
}
