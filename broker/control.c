/* control.c - token requests over MQTT (docs/broker.md, "Tokens over MQTT").
 *
 * A client publishes a POST /token form body to CONTROL_TOKEN_TOPIC; mosquitto hands it to
 * on_control (MOSQ_EVT_CONTROL, as the dynamic-security plugin gets $CONTROL/dynamic-security/v1)
 * after the ACL check (control_acl: only a token session or a refresh-only session may publish
 * there). The body goes to a worker thread (tokenreq.c) and Tessera's answer comes back to the
 * broker thread, which publishes it at the next tick with mosquitto_broker_publish_copy to that
 * connection's client id only: on CONTROL_RESPONSE_TOPIC, or on the MQTT 5 Response Topic with
 * the Correlation Data of the request. mosquitto delivers such a message to the one client
 * (loop.c single_publish: no subscription, no retained copy, no ACL check); nobody else can
 * subscribe to $CONTROL/ topics (control_acl), and `#` never matches them.
 *
 * Each request is tied to its connection (the client pointer and a serial number given at its
 * first request or at CONNECT): an answer whose connection ended, or whose client id was taken
 * over by another connection meanwhile, is dropped, never sent to the newcomer.
 *
 * Refresh-only sessions (username CONTROL_REFRESH_USER, any password, a client id beginning with
 * CONTROL_REFRESH_PREFIX) may publish to CONTROL_TOKEN_TOPIC and subscribe to
 * CONTROL_RESPONSE_TOPIC, nothing else; CONTROL_REFRESH_MAX requests per connection (a further
 * one is answered invalid_request and the connection closed a second later), closed after
 * CONTROL_REFRESH_IDLE seconds without a request or answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>

#include "broker.h"
#include "control.h"
#include "tokenreq.h"

#define CTL_BUCKETS 1024
#define CTL_DRAIN 256               /* answers published per tick at most */
#define CTL_KICKS 256               /* refresh-only sessions closed per second at most */

struct ctl_conn {
	const struct mosquitto *client;
	char *client_id;
	uint64_t serial;
	int refresh_only;
	int requests;                   /* made on this connection */
	int pending;                    /* waiting for Tessera */
	time_t last;                    /* the connection, its last request or answer */
	time_t close_at;                /* non-zero: close it then (a spent refresh-only session) */
	struct ctl_conn *next;
};

struct control {
	mosquitto_plugin_id_t *id;
	tokenreq *tr;
	char *url;
	struct ctl_conn *buckets[CTL_BUCKETS];
	uint64_t serial;
	time_t last_sweep;
};

static struct ctl_conn **ctl_bucket(control *c, const struct mosquitto *client)
{
	uintptr_t h = (uintptr_t)client;

	return &c->buckets[(h >> 4 ^ h >> 14) % CTL_BUCKETS];
}

static struct ctl_conn *ctl_find(control *c, const struct mosquitto *client)
{
	struct ctl_conn *k;

	for (k = *ctl_bucket(c, client); k && k->client != client; k = k->next)
		;
	return k;
}

static void ctl_forget(control *c, const struct mosquitto *client)
{
	struct ctl_conn **link = ctl_bucket(c, client), *k;

	for (; (k = *link); link = &k->next)
		if (k->client == client) {
			*link = k->next;
			free(k->client_id);
			free(k);
			return;
		}
}

static struct ctl_conn *ctl_add(control *c, const struct mosquitto *client, int refresh_only)
{
	const char *id = mosquitto_client_id(client);
	struct ctl_conn *k = calloc(1, sizeof *k);

	if (!k || !(k->client_id = strdup(id ? id : ""))) {
		free(k);
		return NULL;
	}
	k->client = client;
	k->serial = ++c->serial;
	k->refresh_only = refresh_only;
	k->last = time(NULL);
	k->next = *ctl_bucket(c, client);
	*ctl_bucket(c, client) = k;
	return k;
}

/* --- answers --- */

/* Publishes answer (len bytes) to connection k on topic, with correlation data corr (may be
 * NULL). QoS 0, never retained: nothing is kept for a client that is gone. */
static void ctl_publish(const struct ctl_conn *k, const char *topic, const void *corr,
                        size_t corrlen, const char *answer, size_t len)
{
	mosquitto_property *props = NULL;
	int bad = 0;

	if (mosquitto_client_protocol_version(k->client) == 5) {
		bad |= mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE,
		                                     "application/json") != MOSQ_ERR_SUCCESS;
		if (corr)
			bad |= mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
			                                     (uint16_t)corrlen) != MOSQ_ERR_SUCCESS;
	}
	if (bad || mosquitto_broker_publish_copy(k->client_id, topic, (int)len, answer, 0, false,
	                                         props) != MOSQ_ERR_SUCCESS) {
		mosquitto_property_free_all(&props);
		mosquitto_log_printf(MOSQ_LOG_WARNING, "tessera: cannot publish a token answer to %s "
		                     "(out of memory)", k->client_id);
	}
}

/* An answer of the plugin's own, at once (from the broker thread). */
static void ctl_refuse(const struct ctl_conn *k, const char *topic, const void *corr,
                       size_t corrlen, const char *error, const char *description)
{
	size_t len = 0;
	char *a = tokenreq_error(error, description, &len);

	if (a) {
		ctl_publish(k, topic, corr, corrlen, a, len);
		free(a);
	}
}

/* --- the control topic --- */

static int on_control(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_control *ed = event_data;
	control *c = userdata;
	struct ctl_conn *k = ctl_find(c, ed->client);
	struct tokenreq_job *job = NULL;
	char *rtopic = NULL;
	void *corr = NULL;
	uint16_t corrlen = 0;
	const char *topic = CONTROL_RESPONSE_TOPIC;

	(void)event;
	if (!k && !(k = ctl_add(c, ed->client, 0)))
		return MOSQ_ERR_NOMEM;
	if (mosquitto_client_protocol_version(ed->client) == 5) {
		mosquitto_property_read_string(ed->properties, MQTT_PROP_RESPONSE_TOPIC, &rtopic, false);
		mosquitto_property_read_binary(ed->properties, MQTT_PROP_CORRELATION_DATA, &corr,
		                               &corrlen, false);
	}
	if (rtopic && mosquitto_pub_topic_check(rtopic) == MOSQ_ERR_SUCCESS)
		topic = rtopic;
	k->requests++;
	if (k->refresh_only && (k->close_at || k->requests > CONTROL_REFRESH_MAX)) {
		if (!k->close_at) {
			mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: closing refresh-only session %s: "
			                     "more than %d token requests", k->client_id,
			                     CONTROL_REFRESH_MAX);
			k->close_at = time(NULL) + 1;  /* after this answer went out */
		}
		ctl_refuse(k, topic, corr, corrlen, "invalid_request",
		           "at most 3 token requests per refresh-only connection");
	} else if (rtopic && topic != rtopic) {
		ctl_refuse(k, CONTROL_RESPONSE_TOPIC, corr, corrlen, "invalid_request",
		           "the response topic is not a valid topic name");
	} else if (ed->payloadlen == 0 || ed->payloadlen > TOKENREQ_MAX_BODY) {
		ctl_refuse(k, topic, corr, corrlen, "invalid_request",
		           ed->payloadlen ? "the request is larger than 8192 bytes" :
		           "the request is empty: send a POST /token form body");
	} else if (k->pending >= CONTROL_PENDING_MAX) {
		ctl_refuse(k, topic, corr, corrlen, "temporarily_unavailable",
		           "too many requests of this connection are waiting for an answer");
	} else if (!(job = calloc(1, sizeof *job)) || !(job->body = malloc(ed->payloadlen)) ||
	           !(job->topic = strdup(topic))) {
		ctl_refuse(k, topic, corr, corrlen, "temporarily_unavailable", "out of memory");
		tokenreq_job_free(job);
	} else {
		memcpy(job->body, ed->payload, ed->payloadlen);
		job->blen = ed->payloadlen;
		job->conn = ed->client;
		job->serial = k->serial;
		job->corr = corr;
		job->corrlen = corrlen;
		corr = NULL;
		if (tokenreq_submit(c->tr, job) != TS_OK) {
			ctl_refuse(k, topic, job->corr, job->corrlen, "temporarily_unavailable",
			           "too many token requests are waiting at the broker");
			tokenreq_job_free(job);
		} else {
			k->pending++;
			k->last = time(NULL);
		}
	}
	free(rtopic);
	free(corr);
	return MOSQ_ERR_SUCCESS;
}

/* --- hooks for plugin.c --- */

int control_connect(control *c, struct mosquitto *client, const char *username)
{
	const char *id = mosquitto_client_id(client);
	size_t plen = strlen(CONTROL_REFRESH_PREFIX);

	if (!id)
		id = "";
	if (c)
		ctl_forget(c, client);
	if (username && strcmp(username, CONTROL_REFRESH_USER) == 0) {
		if (!c) {
			mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: refresh-only sessions "
			                     "are off (plugin_opt_token_url none)", id);
			return MOSQ_ERR_AUTH;
		}
		if (strncmp(id, CONTROL_REFRESH_PREFIX, plen) != 0) {
			mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: a refresh-only "
			                     "session's client id must begin with %s", *id ? id : "(empty)",
			                     CONTROL_REFRESH_PREFIX);
			return MOSQ_ERR_AUTH;
		}
		return ctl_add(c, client, 1) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOMEM;
	}
	if (strncmp(id, CONTROL_REFRESH_PREFIX, plen) == 0) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: client ids beginning with "
		                     "%s are for refresh-only sessions (username %s)", id,
		                     CONTROL_REFRESH_PREFIX, CONTROL_REFRESH_USER);
		return MOSQ_ERR_AUTH;
	}
	return -1;
}

int control_acl(control *c, const struct mosquitto *client, int access, const char *topic,
                int has_session)
{
	const struct ctl_conn *k = c ? ctl_find(c, client) : NULL;
	int refresh = k && k->refresh_only;

	if (strncmp(topic, "$CONTROL/", 9) == 0) {
		if (access == MOSQ_ACL_UNSUBSCRIBE)
			return 1;
		if (!c || !(has_session || refresh))
			return 0;
		if (access == MOSQ_ACL_WRITE)
			return strcmp(topic, CONTROL_TOKEN_TOPIC) == 0;
		if (access == MOSQ_ACL_SUBSCRIBE)
			return strcmp(topic, CONTROL_RESPONSE_TOPIC) == 0;
		return 0;   /* MOSQ_ACL_READ: answers go to one client, never through this check */
	}
	if (refresh)
		return access == MOSQ_ACL_UNSUBSCRIBE;
	return -1;
}

void control_disconnect(control *c, const struct mosquitto *client)
{
	if (c)
		ctl_forget(c, client);
}

void control_tick(control *c, time_t now)
{
	struct tokenreq_job *jobs[CTL_DRAIN];
	struct ctl_conn *k;
	char *kick[CTL_KICKS];
	size_t i, n, nk = 0;

	if (!c)
		return;
	n = tokenreq_done(c->tr, jobs, CTL_DRAIN);
	for (i = 0; i < n; i++) {
		k = ctl_find(c, jobs[i]->conn);
		if (k && k->serial == jobs[i]->serial) {
			ctl_publish(k, jobs[i]->topic, jobs[i]->corr, jobs[i]->corrlen, jobs[i]->answer,
			            jobs[i]->alen);
			k->pending--;
			k->last = now;
		}
		tokenreq_job_free(jobs[i]);
	}
	if (now == c->last_sweep)
		return;
	c->last_sweep = now;
	for (i = 0; i < CTL_BUCKETS; i++)
		for (k = c->buckets[i]; k; k = k->next) {
			if (!k->refresh_only || nk == CTL_KICKS)
				continue;
			if ((k->close_at && now >= k->close_at) ||
			    (!k->close_at && !k->pending && now - k->last >= CONTROL_REFRESH_IDLE)) {
				if (!k->close_at)
					mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: closing refresh-only "
					                     "session %s: idle for %d s", k->client_id,
					                     CONTROL_REFRESH_IDLE);
				if ((kick[nk] = strdup(k->client_id)))
					nk++;
			}
		}
	/* a kick runs control_disconnect: the ids were collected first */
	for (i = 0; i < nk; i++) {
		mosquitto_kick_client_by_clientid(kick[i], false);
		free(kick[i]);
	}
}

/* --- options, start and stop --- */

int control_option_known(const char *key)
{
	return strcmp(key, "token_url") == 0;
}

/* The default token URL: introspect_url ending in "/introspect" with "/token" instead, else
 * issuer + "/token". malloc'd. */
static char *default_url(const struct issuer_cfg *cfg)
{
	static const char intro[] = "/introspect";
	const char *u = cfg->introspect_url;
	size_t n, k = sizeof intro - 1;
	char *out;

	if (u && (n = strlen(u)) > k && strcmp(u + n - k, intro) == 0) {
		out = malloc(n - k + sizeof "/token");
		if (out) {
			memcpy(out, u, n - k);
			strcpy(out + n - k, "/token");
		}
		return out;
	}
	n = strlen(cfg->issuer);
	while (n > 0 && cfg->issuer[n - 1] == '/')
		n--;
	out = malloc(n + sizeof "/token");
	if (out) {
		memcpy(out, cfg->issuer, n);
		strcpy(out + n, "/token");
	}
	return out;
}

int control_open(const struct issuer_cfg *cfg, mosquitto_plugin_id_t *id,
                 struct mosquitto_opt *options, int option_count, control **out,
                 const char **why)
{
	const char *url = NULL;
	control *c;
	int i;

	*out = NULL;
	for (i = 0; i < option_count; i++)
		if (strcmp(options[i].key, "token_url") == 0)
			url = options[i].value;
	if (url && strcmp(url, "none") == 0)
		return MOSQ_ERR_SUCCESS;
	*why = "out of memory";
	c = calloc(1, sizeof *c);
	if (!c)
		return MOSQ_ERR_NOMEM;
	c->id = id;
	c->url = url ? strdup(url) : default_url(cfg);
	if (!c->url || tokenreq_open(c->url, cfg->ca_file, &c->tr, why) != TS_OK) {
		control_close(c);
		return MOSQ_ERR_INVAL;
	}
	if (mosquitto_callback_register(id, MOSQ_EVT_CONTROL, on_control, CONTROL_TOKEN_TOPIC, c) !=
	    MOSQ_ERR_SUCCESS) {
		*why = "cannot register " CONTROL_TOKEN_TOPIC " (is mosquitto built with WITH_CONTROL, "
		       "and no other plugin using it?)";
		control_close(c);
		return MOSQ_ERR_INVAL;
	}
	mosquitto_log_printf(MOSQ_LOG_INFO, "tessera: token requests on %s go to %s",
	                     CONTROL_TOKEN_TOPIC, c->url);
	*out = c;
	return MOSQ_ERR_SUCCESS;
}

void control_close(control *c)
{
	struct ctl_conn *k;
	size_t i;

	if (!c)
		return;
	if (c->tr) {
		/* registered once the threads run */
		mosquitto_callback_unregister(c->id, MOSQ_EVT_CONTROL, on_control, CONTROL_TOKEN_TOPIC);
	}
	tokenreq_close(c->tr);
	for (i = 0; i < CTL_BUCKETS; i++)
		while ((k = c->buckets[i])) {
			c->buckets[i] = k->next;
			free(k->client_id);
			free(k);
		}
	free(c->url);
	free(c);
}
