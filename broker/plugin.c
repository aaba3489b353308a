/* plugin.c - the mosquitto 2.0 plugin (API v5): a broker that takes Tessera access tokens as MQTT
 * passwords and enforces their topic scopes.
 *
 * CONNECT (basic auth): the password is verified as an access token (jwks.c), the client id must
 * be one the token may use (clientid.c), and, with an introspection URL, Tessera is asked about
 * the token (introspect.c); the token's rights are parsed once into a session kept per
 * connection. ACL checks then only look filters up (lib/acl.c). A tick every second disconnects
 * sessions whose token expired, or that the introspector found revoked.
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
#include "secret.h"
#include "token.h"

#define EXPORT __attribute__((visibility("default")))
#define BUCKETS 4096
#define KICKS_PER_TICK 1024
#define TROUBLE_LOG_EVERY 60       /* seconds between log lines about unanswered introspection */

struct session {
	const struct mosquitto *client;   /* the connection: the key */
	char *client_id;                  /* to disconnect it with */
	struct acl *acl;
	int64_t exp;
	int gone;                         /* disconnected: freed at the next tick (see on_disconnect) */
	struct session *next;             /* in its bucket */
};

struct plugin {
	mosquitto_plugin_id_t *id;
	struct broker_cfg cfg;
	jwks *keys;
	introspector *in;                 /* NULL without plugin_opt_introspect_url */
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

static void session_free(struct plugin *p, struct session *s)
{
	if (p->in && !s->gone)
		introspector_unwatch(p->in, s->client);
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
			session_free(p, s);
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

/* CONNECT. Refusals: CONNACK "not authorized" (MOSQ_ERR_AUTH) when the token is bad, not the
 * client id's, or inactive at Tessera; when Tessera could not answer, the connection is closed
 * without a CONNACK (any other code: mosquitto 2.0 lets a plugin send no "server unavailable"),
 * so that the client retries as after a network failure instead of taking its token for bad. */
static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct plugin *p = userdata;
	const char *id = mosquitto_client_id(ed->client);
	json_t *claims = NULL;
	struct session *s = NULL;
	int64_t now = (int64_t)time(NULL);
	char why[200];
	int active = 0;

	(void)event;
	session_drop(p, ed->client);
	if (!id)
		id = "";
	if (!ed->password || !*ed->password) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: no token as password", id);
		return MOSQ_ERR_AUTH;
	}
	if (jwks_verify(p->keys, ed->password, now, &claims) != TS_OK) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: invalid or expired token",
		                     id);
		return MOSQ_ERR_AUTH;
	}
	if (!clientid_allowed(p->cfg.client_id_rule, id, claims)) {
		log_wrong_id(p, id, claims);
		json_decref(claims);
		return MOSQ_ERR_AUTH;
	}
	if (p->in && introspector_check(p->in, ed->password, now, &active, why, sizeof why) !=
	    TS_OK) {
		mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: refused %s: Tessera could not answer "
		                     "whether the token is active: %s; closing the connection without "
		                     "a CONNACK", id, why);
		json_decref(claims);
		return MOSQ_ERR_UNKNOWN;
	}
	if (p->in && !active) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: Tessera says the token is "
		                     "not active (revoked, or its grant, user or client is gone)", id);
		json_decref(claims);
		return MOSQ_ERR_AUTH;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->client_id = strdup(id)) ||
	    acl_parse(json_string_value(json_object_get(claims, "scope")), &s->acl) != TS_OK ||
	    (p->in && introspector_watch(p->in, ed->password, ed->client) != TS_OK)) {
		if (s) {
			acl_free(s->acl);
			free(s->client_id);
			free(s);
		}
		json_decref(claims);
		return MOSQ_ERR_NOMEM;
	}
	s->client = ed->client;
	s->exp = json_integer_value(json_object_get(claims, "exp"));
	s->next = *bucket(p, ed->client);
	*bucket(p, ed->client) = s;
	json_decref(claims);
	return MOSQ_ERR_SUCCESS;
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
	struct session *s = session_find(userdata, ed->client);
	int ok = 0;

	(void)event;
	if ((!s || s->gone) && ed->access == MOSQ_ACL_READ)
		return MOSQ_ERR_SUCCESS;
	if (!s || s->exp <= (int64_t)time(NULL))
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
	if (s && !s->gone) {
		if (p->in)
			introspector_unwatch(p->in, s->client);
		s->gone = 1;
	}
	return MOSQ_ERR_SUCCESS;
}

/* Once a second: free the sessions gone, and disconnect those whose token expired or was found
 * revoked. Their ids are collected first: a kick runs on_disconnect. */
static int on_tick(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_tick *ed = event_data;
	struct plugin *p = userdata;
	time_t now = time(NULL);
	const void *revoked[KICKS_PER_TICK];
	char *kick[KICKS_PER_TICK];
	struct session *s;
	size_t i, n = 0, nr;

	/* mosquitto 2.0 fills in no time (its event_data is zeroed) and ignores next_s: it ticks on
	 * every turn of its main loop, which wakes at least once a second */
	(void)event;
	(void)ed;
	if (now == p->last_sweep)
		return MOSQ_ERR_SUCCESS;
	p->last_sweep = now;
	for (i = 0; i < BUCKETS; i++) {
		struct session **link = &p->buckets[i];

		while ((s = *link)) {
			if (s->gone) {
				*link = s->next;
				session_free(p, s);
				continue;
			}
			if (s->exp <= (int64_t)now && n < KICKS_PER_TICK && (kick[n] = strdup(s->client_id)))
				n++;
			link = &s->next;
		}
	}
	/* Tessera not answering about live sessions keeps them on their last answer: say so */
	if (p->in && now - p->trouble_logged >= TROUBLE_LOG_EVERY) {
		char why[200];
		size_t nf = introspector_trouble(p->in, why, sizeof why);

		if (nf) {
			mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: Tessera could not answer %zu "
			                     "introspection request(s) about connected clients (last: "
			                     "%s); they stay connected on their last answer", nf, why);
			p->trouble_logged = now;
		}
	}
	/* only as many as there is room for: the introspector forgets what it hands over */
	nr = p->in && n < KICKS_PER_TICK ? introspector_revoked(p->in, revoked, KICKS_PER_TICK - n) : 0;
	for (i = 0; i < nr; i++)  /* the ids are the connections */
		if ((s = session_find(p, revoked[i])) && !s->gone && (kick[n] = strdup(s->client_id)))
			n++;
	for (i = 0; i < n; i++) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: disconnecting %s: token expired or "
		                     "revoked", kick[i]);
		mosquitto_kick_client_by_clientid(kick[i], false);
		free(kick[i]);
	}
	return MOSQ_ERR_SUCCESS;
}

/* --- options, start and stop --- */

static int set_option(struct broker_cfg *cfg, const char *key, const char *value)
{
	static const struct { const char *key; size_t off; } strings[] = {
		{"issuer", offsetof(struct broker_cfg, issuer)},
		{"audience", offsetof(struct broker_cfg, audience)},
		{"jwks_file", offsetof(struct broker_cfg, jwks_file)},
		{"jwks_url", offsetof(struct broker_cfg, jwks_url)},
		{"introspect_url", offsetof(struct broker_cfg, introspect_url)},
		{"introspect_client_id", offsetof(struct broker_cfg, client_id)},
		{"introspect_client_secret", offsetof(struct broker_cfg, client_secret)},
		{"ca_file", offsetof(struct broker_cfg, ca_file)},
	};
	size_t i;
	char *end;

	if (strcmp(key, "client_id_rule") == 0)
		return clientid_rule_parse(value, &cfg->client_id_rule);
	if (strcmp(key, "cache_seconds") == 0) {
		long v = strtol(value, &end, 10);

		if (!*value || *end || v < 0 || v > 86400)
			return -1;
		cfg->cache_seconds = (int)v;
		return 0;
	}
	for (i = 0; i < sizeof strings / sizeof strings[0]; i++)
		if (strcmp(key, strings[i].key) == 0) {
			char **slot = (char **)((char *)cfg + strings[i].off);

			free(*slot);
			*slot = strdup(value);
			return *slot ? 0 : -1;
		}
	return -1;
}

static void cfg_free(struct broker_cfg *cfg)
{
	if (cfg->client_secret)
		secret_wipe(cfg->client_secret, strlen(cfg->client_secret));
	free(cfg->issuer);
	free(cfg->audience);
	free(cfg->jwks_file);
	free(cfg->jwks_url);
	free(cfg->introspect_url);
	free(cfg->client_id);
	free(cfg->client_secret);
	free(cfg->ca_file);
}

static void plugin_free(struct plugin *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (p->buckets[i])
			session_drop(p, p->buckets[i]->client);
	introspector_close(p->in);
	jwks_close(p->keys);
	cfg_free(&p->cfg);
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
};
#define N_CALLBACKS (sizeof callbacks / sizeof callbacks[0])

EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                 struct mosquitto_opt *options, int option_count)
{
	struct plugin *p = calloc(1, sizeof *p);
	const char *why = NULL;
	size_t i;
	int k;

	if (!p)
		return MOSQ_ERR_NOMEM;
	p->id = identifier;
	p->cfg.cache_seconds = 30;
	for (k = 0; k < option_count; k++)
		if (set_option(&p->cfg, options[k].key, options[k].value) != 0) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "tessera: unknown option or bad value: "
			                     "plugin_opt_%s", options[k].key);
			goto fail;
		}
	/* why is only read after a failure: the open functions may set it on their way */
	if (!p->cfg.issuer || !!p->cfg.jwks_file == !!p->cfg.jwks_url) {
		why = "plugin_opt_issuer and one of plugin_opt_jwks_file, plugin_opt_jwks_url are needed";
		goto refuse;
	}
	if (jwks_open(&p->cfg, &p->keys, &why) != TS_OK)
		goto refuse;
	if (p->cfg.introspect_url && (!p->cfg.client_id || !p->cfg.client_secret)) {
		why = "plugin_opt_introspect_url needs plugin_opt_introspect_client_id and "
		      "plugin_opt_introspect_client_secret";
		goto refuse;
	}
	if (p->cfg.introspect_url && introspector_open(&p->cfg, &p->in, &why) != TS_OK)
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
	mosquitto_log_printf(MOSQ_LOG_INFO, "tessera: tokens of %s, keys from %s%s%s, client ids "
	                     "bound to tokens: %s", p->cfg.issuer,
	                     p->cfg.jwks_file ? p->cfg.jwks_file : p->cfg.jwks_url,
	                     p->in ? ", introspection at " : "", p->in ? p->cfg.introspect_url : "",
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
