/* plugin.c - the mosquitto 2.0 plugin (API v5): a broker that takes Tessera access tokens as MQTT
 * passwords and enforces their topic scopes.
 *
 * CONNECT (basic auth): the token's iss chooses one of the trusted issuers (issuers.c), whose
 * keys verify it (jwks.c); the client id must be one the token may use (clientid.c); and, when
 * that issuer has an introspection URL, Tessera is asked about the token (introspect*.c). The
 * session's rights are parsed once, from the scope Tessera answered when it was asked (what the
 * token allows now), else from the token's own scope claim, into a session kept per connection.
 * ACL checks then only look filters up (lib/common/acl.c). A tick every second disconnects
 * sessions whose token expired or was found inactive, and gives sessions whose scope Tessera
 * narrowed (or widened, within the token's) their new rights (session_apply).
 * Everything here runs on mosquitto's one thread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include "acl.h"
#include "broker.h"
#include "control.h"
#include "secret.h"
#include "token.h"

#define EXPORT __attribute__((visibility("default")))
#define BUCKETS 4096
#define KICKS_PER_TICK 1024       /* also the changes taken from an introspector per tick */
#define TROUBLE_LOG_EVERY 60       /* seconds between log lines about unanswered introspection */

struct session {
	const struct mosquitto *client;   /* the connection: the key */
	char *client_id;                  /* to disconnect it with */
	struct acl *acl;
	introspector *in;                 /* its issuer's, when that one introspects */
	int64_t exp;
	int gone;                         /* disconnected: freed at the next tick (see on_disconnect) */
	struct session *next;             /* in its bucket */
};

struct trust {                       /* one trusted issuer, as cfg.iss[i] describes it */
	jwks *keys;                       /* NULL: issuer number i is not used */
	introspector *in;                 /* NULL without its plugin_opt_introspect_url */
};

struct plugin {
	mosquitto_plugin_id_t *id;
	struct broker_cfg cfg;
	struct trust trust[BROKER_MAX_ISSUERS];
	control *ctl;                     /* token requests over MQTT (control.c); NULL when off */
	struct session *buckets[BUCKETS];
	time_t last_sweep, trouble_logged;
};

static struct session **bucket(struct plugin *p, const struct mosquitto *client)
{
	uintptr_t h = (uintptr_t)client;

	return &p->buckets[(h >> 4 ^ h >> 16) % BUCKETS];
}

static struct session *session_find(struct plugin *p, const struct mosquitto *client)
{
	struct session *s;

	for (s = *bucket(p, client); s && s->client != client; s = s->next)
		;
	return s;
}

static void session_free(struct session *s)
{
	if (s->in && !s->gone)
		introspector_unwatch(s->in, s->client);
	acl_free(s->acl);
	free(s->client_id);
	free(s);
}

/* Unlinks and frees the session of client, if any. */
static void session_drop(struct plugin *p, const struct mosquitto *client)
{
	struct session **link = bucket(p, client), *s;

	for (; (s = *link); link = &s->next)
		if (s->client == client) {
			*link = s->next;
			session_free(s);
			return;
		}
}

/* Logs why client id `id` is not one the token with claims may use, and which it may. */
static void log_wrong_id(const struct plugin *p, const char *id, const json_t *claims)
{
	const char *client = json_string_value(json_object_get(claims, "client_id"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	int user = json_is_string(json_object_get(claims, "username"));

	mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: the client id is not the "
	                     "token's (plugin_opt_client_id_rule %s): %s token of client %s may use "
	                     "%s%s%s%s%s", *id ? id : "(empty)",
	                     clientid_rule_name(p->cfg.client_id_rule), user ? "a user's" : "the",
	                     client, client, user ? ":" : "", user ? sub : "",
	                     user || p->cfg.client_id_rule == CLIENTID_PREFIX ? " or " : "",
	                     user ? "that followed by ':' and anything" :
	                     p->cfg.client_id_rule == CLIENTID_PREFIX ?
	                     "that followed by ':' and anything but a number" : "");
}

/* A password that is no JWT (no "."): a reference token, which only introspection can judge.
 * The issuers that have an introspection URL are asked in their order (plugin_opt_* first,
 * then _2, _3, ...) until one says it is active and names itself as its iss; that one's
 * introspector then watches the session. MOSQ_ERR_SUCCESS with *t and *claims (the answer),
 * MOSQ_ERR_AUTH when none has introspection (logged) or none says active, MOSQ_ERR_UNKNOWN
 * when none said active and one could not answer (fail closed, as for JWTs). */
static int opaque_check(struct plugin *p, const char *id, const char *token, int64_t now,
                        struct trust **t, json_t **claims)
{
	char why[200] = "";
	const char *iss;
	int asked = 0, unanswered = 0;
	size_t k;
	ts_err rc;

	*claims = NULL;
	for (k = 0; k < BROKER_MAX_ISSUERS; k++) {
		if (!p->trust[k].in)
			continue;
		asked++;
		rc = introspector_claims(p->trust[k].in, token, now, claims, why, sizeof why);
		if (rc == TS_SERVER_ERROR)
			return MOSQ_ERR_NOMEM;
		if (rc != TS_OK) {
			unanswered++;
			continue;
		}
		iss = json_string_value(json_object_get(*claims, "iss"));
		if (*claims && iss && strcmp(iss, p->cfg.iss[k].issuer) == 0) {
			*t = &p->trust[k];
			return MOSQ_ERR_SUCCESS;
		}
		json_decref(*claims);
		*claims = NULL;
	}
	if (!asked) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: the password is no JWT "
		                     "and no issuer has introspection (plugin_opt_introspect_url) to "
		                     "judge a reference token", id);
		return MOSQ_ERR_AUTH;
	}
	if (unanswered) {
		mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: refused %s: no issuer said the "
		                     "reference token is active and %d could not answer: %s; closing "
		                     "the connection without a CONNACK", id, unanswered, why);
		return MOSQ_ERR_UNKNOWN;
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: no issuer with introspection "
	                     "says the reference token is active", id);
	return MOSQ_ERR_AUTH;
}

/* CONNECT. Refusals: CONNACK "not authorized" (MOSQ_ERR_AUTH) when the token is bad, not the
 * client id's, or inactive at Tessera; when Tessera could not answer, the connection is closed
 * without a CONNACK (any other code: mosquitto 2.0 lets a plugin send no "server unavailable"),
 * so that the client retries as after a network failure instead of taking its token for bad. */
int plugin_authenticate(struct plugin *p, struct mosquitto *client, const char *username,
                        const char *token, int reauth)
{
	const char *id = mosquitto_client_id(client);
	json_t *claims = NULL;
	struct session *s = NULL;
	struct trust *t;
	int64_t now = (int64_t)time(NULL);
	char why[200], *iss = NULL, *scope = NULL;
	int active = 0, k;
	ts_err rc;

	session_drop(p, client);
	if (!id)
		id = "";
	if (!reauth && (k = control_connect(p->ctl, client, username)) >= 0)
		return k;   /* a refresh-only session, or a client id reserved for them */
	if (!token || !*token) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: no token as password", id);
		return MOSQ_ERR_AUTH;
	}
	if (!strchr(token, '.')) {
		k = opaque_check(p, id, token, now, &t, &claims);
		if (k != MOSQ_ERR_SUCCESS)
			return k;
		active = 1;
		scope = strdup(json_is_string(json_object_get(claims, "scope")) ?
		               json_string_value(json_object_get(claims, "scope")) : "");
		if (!scope) {
			json_decref(claims);
			return MOSQ_ERR_NOMEM;
		}
		goto verified;
	}
	if ((rc = token_issuer(token, &iss)) != TS_OK) {
		if (rc == TS_SERVER_ERROR)
			return MOSQ_ERR_NOMEM;
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: invalid or expired token",
		                     id);
		return MOSQ_ERR_AUTH;
	}
	k = broker_cfg_issuer(&p->cfg, iss);
	if (k < 0) {
		char shown[BROKER_LOG_ISSUER + 1];

		log_clean(iss, shown, sizeof shown);
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: the token's issuer \"%s\" "
		                     "is not trusted (no plugin_opt_issuer names it)", id, shown);
		free(iss);
		return MOSQ_ERR_AUTH;
	}
	free(iss);
	t = &p->trust[k];
	if (jwks_verify(t->keys, token, now, &claims) != TS_OK) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: invalid or expired token",
		                     id);
		return MOSQ_ERR_AUTH;
	}
verified:
	if (!clientid_allowed(p->cfg.client_id_rule, id, claims)) {
		log_wrong_id(p, id, claims);
		free(scope);
		json_decref(claims);
		return MOSQ_ERR_AUTH;
	}
	if (!certbind_connection_ok(client, id, claims)) {   /* clientcert.c */
		free(scope);
		json_decref(claims);
		return MOSQ_ERR_AUTH;
	}
	if (!scope && t->in && (rc = introspector_check(t->in, token, now, &active, &scope, why,
	                                      sizeof why)) != TS_OK) {
		json_decref(claims);
		if (rc == TS_SERVER_ERROR)
			return MOSQ_ERR_NOMEM;
		mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: refused %s: Tessera could not answer "
		                     "whether the token is active: %s; closing the connection without "
		                     "a CONNACK", id, why);
		return MOSQ_ERR_UNKNOWN;
	}
	if (t->in && !active) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: Tessera says the token is "
		                     "not active (revoked, or its grant, user or client is gone)", id);
		json_decref(claims);
		return MOSQ_ERR_AUTH;
	}
	/* introspected: the scope Tessera allows now, not the one the token was signed with */
	s = calloc(1, sizeof *s);
	if (!s || !(s->client_id = strdup(id)) ||
	    acl_parse(t->in ? scope : json_string_value(json_object_get(claims, "scope")),
	              &s->acl) != TS_OK ||
	    (t->in && introspector_watch(t->in, token, scope, client) != TS_OK)) {
		if (s) {
			acl_free(s->acl);
			free(s->client_id);
			free(s);
		}
		free(scope);
		json_decref(claims);
		return MOSQ_ERR_NOMEM;
	}
	free(scope);
	s->client = client;
	s->in = t->in;
	s->exp = json_integer_value(json_object_get(claims, "exp"));
	s->next = *bucket(p, client);
	*bucket(p, client) = s;
	json_decref(claims);
	return MOSQ_ERR_SUCCESS;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;

	(void)event;
	return plugin_authenticate(userdata, ed->client, ed->username, ed->password, 0);
}

int plugin_has_session(struct plugin *p, const struct mosquitto *client)
{
	const struct session *s = session_find(p, client);

	return s && !s->gone;
}

/* A client that is not connected (its session gone, or never seen by this plugin: a persistent
 * session kept while it is away, or restored from mosquitto's persistence file) has no rights of
 * its own, but may have messages queued (MOSQ_ACL_READ): mosquitto checks each queued message
 * again, with the session of the token the client reconnects with, before it sends any
 * (connect__on_authorised -> connection_check_acl, after the basic-auth event), and drops those
 * that token may not receive. Everything else needs a live session and an unexpired token. */
static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct plugin *p = userdata;
	struct session *s = session_find(p, ed->client);
	int64_t now = (int64_t)time(NULL);
	int ok = 0;

	(void)event;
	/* $CONTROL/ topics and refresh-only sessions are control.c's */
	ok = control_acl(p->ctl, ed->client, ed->access, ed->topic, s && !s->gone && s->exp > now);
	if (ok >= 0)
		return ok ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
	ok = 0;
	if ((!s || s->gone) && ed->access == MOSQ_ACL_READ)
		return MOSQ_ERR_SUCCESS;
	if (!s || s->exp <= now)
		return MOSQ_ERR_ACL_DENIED;
	switch (ed->access) {
	case MOSQ_ACL_WRITE:
		ok = acl_may_publish(s->acl, ed->topic);
		break;
	case MOSQ_ACL_READ:
		ok = acl_may_receive(s->acl, ed->topic);
		break;
	case MOSQ_ACL_SUBSCRIBE:
		ok = acl_may_subscribe(s->acl, ed->topic);
		break;
	case MOSQ_ACL_UNSUBSCRIBE:
		ok = 1;
		break;
	}
	return ok ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

/* mosquitto 2.0 tells plugins of a disconnection before it publishes the client's will, whose
 * topic it then checks: the session stays (gone) until the next tick. A new connection that gets
 * the same pointer meanwhile replaces it at its CONNECT. */
static int on_disconnect(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_disconnect *ed = event_data;
	struct plugin *p = userdata;
	struct session *s = session_find(p, ed->client);

	(void)event;
	control_disconnect(p->ctl, ed->client);
	if (s && !s->gone) {
		if (s->in)
			introspector_unwatch(s->in, s->client);
		s->gone = 1;
	}
	return MOSQ_ERR_SUCCESS;
}

/* A change Tessera answered for a live session of introspector in (introspect_watch.c): its
 * token inactive, the client id goes into kick[*n] (room checked by the caller); a new scope,
 * the session gets that scope's rights at once (its publishes and the messages it receives are
 * checked against them from now on; mosquitto 2.0 has no call that drops a client's
 * subscriptions, so those it lost stay but deliver nothing), or is disconnected when they
 * cannot be parsed for lack of memory. The one place where rights change under a session. */
static void session_apply(struct plugin *p, introspector *in, const struct intro_change *c,
                          char **kick, size_t *n)
{
	struct session *s = session_find(p, c->id);   /* the ids are the connections */
	struct acl *acl = NULL;

	if (!s || s->gone || s->in != in)
		return;
	if (c->active && acl_parse(c->scope, &acl) == TS_OK) {
		acl_free(s->acl);
		s->acl = acl;
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: rights of %s changed at Tessera; now: "
		                     "%.300s", s->client_id, *c->scope ? c->scope : "(none)");
		return;
	}
	if ((kick[*n] = strdup(s->client_id)))
		(*n)++;
}

/* Once a second: free the sessions gone and disconnect those whose token expired; on every
 * tick: disconnect those found inactive and apply new scopes (so that the change feed's news
 * is not held back to the next second), and log what the change feed has to say. Kicks are
 * collected first: a kick runs on_disconnect. */
static int on_tick(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_tick *ed = event_data;
	struct plugin *p = userdata;
	time_t now = time(NULL);
	static struct intro_change changes[KICKS_PER_TICK];
	char *kick[KICKS_PER_TICK];
	struct session *s;
	size_t i, k, n = 0, nc;
	char news[320];
	int sweep;

	/* mosquitto 2.0 fills in no time (its event_data is zeroed) and ignores next_s: it ticks on
	 * every turn of its main loop, which wakes at least once a second */
	(void)event;
	(void)ed;
	control_tick(p->ctl, now);   /* answers from Tessera go out on every tick */
	/* the sweep once a second; new answers (the change feed's among them) on every tick */
	sweep = now != p->last_sweep;
	p->last_sweep = now;
	for (i = 0; sweep && i < BUCKETS; i++) {
		struct session **link = &p->buckets[i];

		while ((s = *link)) {
			if (s->gone) {
				*link = s->next;
				session_free(s);
				continue;
			}
			if (s->exp <= (int64_t)now && n < KICKS_PER_TICK && (kick[n] = strdup(s->client_id)))
				n++;
			link = &s->next;
		}
	}
	for (k = 0; k < BROKER_MAX_ISSUERS; k++) {
		introspector *in = p->trust[k].in;

		if (!in)
			continue;
		if (introspector_feed_news(in, news, sizeof news))
			mosquitto_log_printf(MOSQ_LOG_NOTICE, "%s", news);
		/* Tessera not answering about live sessions keeps them on their last answer: say so */
		if (sweep && now - p->trouble_logged >= TROUBLE_LOG_EVERY) {
			char why[200];
			size_t nf = introspector_trouble(in, why, sizeof why);

			if (nf) {
				mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: Tessera could not answer "
				                     "%zu introspection request(s) about connected clients "
				                     "(last: %s); they stay connected on their last answer",
				                     nf, why);
				p->trouble_logged = now;
			}
		}
		/* only as many as there is room for: the introspector forgets what it hands over */
		nc = n < KICKS_PER_TICK ? introspector_changes(in, changes, KICKS_PER_TICK - n) : 0;
		for (i = 0; i < nc; i++) {
			session_apply(p, in, &changes[i], kick, &n);
			free(changes[i].scope);
		}
	}
	for (i = 0; i < n; i++) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: disconnecting %s: token expired or "
		                     "revoked", kick[i]);
		mosquitto_kick_client_by_clientid(kick[i], false);
		free(kick[i]);
	}
	return MOSQ_ERR_SUCCESS;
}

/* --- options, start and stop --- */

static void plugin_free(struct plugin *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (p->buckets[i])
			session_drop(p, p->buckets[i]->client);
	control_close(p->ctl);
	for (i = 0; i < BROKER_MAX_ISSUERS; i++) {
		introspector_close(p->trust[i].in);
		jwks_close(p->trust[i].keys);
	}
	broker_cfg_free(&p->cfg);
	token_cache_clear();
	free(p);
}

EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	int i;

	for (i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

static const struct {
	int event;
	MOSQ_FUNC_generic_callback cb;
} callbacks[] = {
	{MOSQ_EVT_BASIC_AUTH, on_basic_auth},
	{MOSQ_EVT_ACL_CHECK, on_acl_check},
	{MOSQ_EVT_DISCONNECT, on_disconnect},
	{MOSQ_EVT_TICK, on_tick},
	{MOSQ_EVT_EXT_AUTH_START, reauth_on_start},
	{MOSQ_EVT_EXT_AUTH_CONTINUE, reauth_on_continue},
};
#define N_CALLBACKS (sizeof callbacks / sizeof callbacks[0])

/* Opens issuer i's keys and introspector, logging what it trusts; else why not. */
static const char *trust_open(struct plugin *p, size_t i)
{
	const struct issuer_cfg *ic = &p->cfg.iss[i];
	const char *why = "cannot start";
	char which[48] = "";

	if (jwks_open(ic, &p->trust[i].keys, &why) != TS_OK)
		return why;
	if (ic->introspect_url && introspector_open(ic, &p->trust[i].in, &why) != TS_OK)
		return why;
	if (i)
		snprintf(which, sizeof which, " (issuer %zu: plugin_opt_*%s)", i + 1,
		         broker_cfg_suffix(i));
	mosquitto_log_printf(MOSQ_LOG_INFO, "tessera: tokens of %s, keys from %s%s%s%s", ic->issuer,
	                     ic->jwks_file ? ic->jwks_file : ic->jwks_url,
	                     ic->introspect_url ? ", introspection at " : "",
	                     ic->introspect_url ? ic->introspect_url : "", which);
	return NULL;
}

EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                 struct mosquitto_opt *options, int option_count)
{
	struct plugin *p = calloc(1, sizeof *p);
	const char *why = NULL;
	char buf[200];
	size_t i;
	int k;

	if (!p)
		return MOSQ_ERR_NOMEM;
	p->id = identifier;
	broker_cfg_init(&p->cfg);
	for (k = 0; k < option_count; k++)
		if (!control_option_known(options[k].key) &&   /* control.c reads those */
		    broker_cfg_set(&p->cfg, options[k].key, options[k].value) != 0) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "tessera: unknown option or bad value: "
			                     "plugin_opt_%s", options[k].key);
			goto fail;
		}
	if ((why = broker_cfg_check(&p->cfg, buf, sizeof buf)))
		goto refuse;
	for (i = 0; i < BROKER_MAX_ISSUERS; i++)
		if (p->cfg.iss[i].used && (why = trust_open(p, i))) {
			if (i) {
				snprintf(buf, sizeof buf, "issuer %zu (plugin_opt_*%s): %s", i + 1,
				         broker_cfg_suffix(i), why);
				why = buf;
			}
			goto refuse;
		}
	if (control_open(&p->cfg.iss[0], identifier, options, option_count, &p->ctl, &why) !=
	    MOSQ_ERR_SUCCESS)
		goto refuse;
	for (i = 0; i < N_CALLBACKS; i++)
		if (mosquitto_callback_register(identifier, callbacks[i].event, callbacks[i].cb, NULL,
		                                p) != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "tessera: cannot register a callback");
			while (i--)
				mosquitto_callback_unregister(identifier, callbacks[i].event,
				                              callbacks[i].cb, NULL);
			goto fail;
		}
	mosquitto_log_printf(MOSQ_LOG_INFO, "tessera: client ids bound to tokens: %s",
	                     clientid_rule_name(p->cfg.client_id_rule));
	if (p->cfg.client_id_rule == CLIENTID_ANY)
		mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: plugin_opt_client_id_rule any: any "
		                     "token may connect with any client id and take its session over");
	*userdata = p;
	return MOSQ_ERR_SUCCESS;
refuse:
	mosquitto_log_printf(MOSQ_LOG_ERR, "tessera: %s", why ? why : "cannot start");
fail:
	plugin_free(p);
	return MOSQ_ERR_INVAL;
}

EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                    int option_count)
{
	struct plugin *p = userdata;
	size_t i;

	(void)options;
	(void)option_count;
	if (!p)
		return MOSQ_ERR_SUCCESS;
	for (i = 0; i < N_CALLBACKS; i++)
		mosquitto_callback_unregister(p->id, callbacks[i].event, callbacks[i].cb, NULL);
	plugin_free(p);
	return MOSQ_ERR_SUCCESS;
}
