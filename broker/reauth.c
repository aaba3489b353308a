/* reauth.c - MQTT 5 enhanced authentication with the method OAUTH2-JWT (the name Azure Event
 * Grid gives it, which MQTT.js speaks): the Authentication Data is an access token.
 *
 * What mosquitto 2.0.11 does (src/handle_connect.c, src/handle_auth.c, src/security.c):
 * - a CONNECT with an Authentication Method skips basic auth (username and password are not
 *   looked at) and raises MOSQ_EVT_EXT_AUTH_START with the method and data;
 * - an AUTH packet with reason 0x19 (re-authenticate) from an active MQTT 5 client whose CONNECT
 *   named a method raises MOSQ_EVT_EXT_AUTH_START again, with the same event data (no flag says
 *   it is a re-authentication: the plugin knows it by the live session of that connection). An
 *   AUTH naming another method than the CONNECT's, or from a client that connected without one,
 *   is a protocol error: DISCONNECT 0x82 without asking the plugin;
 * - success: AUTH reason 0x00 (re-authentication) or CONNACK 0x00; failure (MOSQ_ERR_AUTH):
 *   CONNACK 0x87 "not authorized" and the connection closed. On a re-authentication that CONNACK
 *   is mosquitto 2.0.11's own protocol slip (fixed in 2.0.13 by a DISCONNECT 0x87); any other
 *   failure closes the connection with nothing sent;
 * - a method no plugin takes (MOSQ_ERR_PLUGIN_DEFER from all) gets CONNACK 0x8C "bad
 *   authentication method".
 * The token is checked exactly as a CONNECT password (plugin_authenticate): signature, claims,
 * the client id rule, introspection. A re-authentication that succeeds replaces the session's
 * rights and expiry with the new token's; mosquitto keeps the connection, its subscriptions and
 * its queued messages. */
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "control.h"

#define REAUTH_MAX_TOKEN 16384

int reauth_on_start(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_extended_auth *ed = event_data;
	struct plugin *p = userdata;
	const char *id = mosquitto_client_id(ed->client);
	int reauth, rc;
	size_t len;
	char *token;

	(void)event;
	if (!ed->auth_method || strcmp(ed->auth_method, REAUTH_METHOD) != 0)
		return MOSQ_ERR_PLUGIN_DEFER;
	reauth = plugin_has_session(p, ed->client);
	/* no data, or data that cannot be a token: refused as an empty password is */
	if (!ed->data_in || ed->data_in_len > REAUTH_MAX_TOKEN ||
	    memchr(ed->data_in, '\0', ed->data_in_len))
		len = 0;
	else
		len = ed->data_in_len;
	token = malloc(len + 1);
	if (!token)
		return MOSQ_ERR_NOMEM;
	if (len)
		memcpy(token, ed->data_in, len);
	token[len] = '\0';
	rc = plugin_authenticate(p, ed->client, NULL, token, reauth);
	if (reauth && rc == MOSQ_ERR_SUCCESS)
		mosquitto_log_printf(MOSQ_LOG_INFO, "tessera: %s re-authenticated: the session goes "
		                     "on with the new token's rights and expiry", id ? id : "(no id)");
	else if (reauth)
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: %s: re-authentication refused, "
		                     "disconnecting", id ? id : "(no id)");
	memset(token, 0, len);
	free(token);
	return rc;
}

/* OAUTH2-JWT takes one step and this plugin never asks to continue, so a continuation is never
 * its own (mosquitto does not even pass the method here): left to other plugins, if any. */
int reauth_on_continue(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	(void)userdata;
	return MOSQ_ERR_PLUGIN_DEFER;
}
