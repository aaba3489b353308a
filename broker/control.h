/* control.h - the plugin's parts that speak to mosquitto besides plugin.c: token requests on the
 * control topic and refresh-only sessions (control.c), MQTT 5 enhanced authentication and
 * re-authentication (reauth.c). All of it runs on mosquitto's one broker thread. */
#ifndef TESSERA_BROKER_CONTROL_H
#define TESSERA_BROKER_CONTROL_H

#include <time.h>
#include <jansson.h>

struct mosquitto;
struct mosquitto_opt;
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;
struct issuer_cfg;
struct plugin;

#define CONTROL_TOKEN_TOPIC "$CONTROL/tessera/v1/token"
#define CONTROL_RESPONSE_TOPIC "$CONTROL/tessera/v1/token/response"
#define CONTROL_REFRESH_USER "tessera-refresh"   /* the username of refresh-only sessions */
#define CONTROL_REFRESH_PREFIX "tessera-refresh" /* their client ids begin so; tokens' never do */
#define CONTROL_REFRESH_MAX 3                    /* token requests per refresh-only session */
#define CONTROL_REFRESH_IDLE 30                  /* seconds a refresh-only session may be idle */
#define CONTROL_PENDING_MAX 3                    /* requests one connection may have waiting */

/* --- control.c --- */

typedef struct control control;

/* 1 if key is one of control.c's options (token_url), so that plugin.c does not refuse it. */
int control_option_known(const char *key);

/* Reads the token_url option from options (default, from the first issuer's cfg:
 * plugin_opt_introspect_url with its last path segment "introspect" made "token", else
 * plugin_opt_issuer + "/token"; "none" turns token
 * requests off: *out is then NULL), starts the worker threads and registers the control topic.
 * On failure *why says why (static text). */
int control_open(const struct issuer_cfg *cfg, mosquitto_plugin_id_t *id,
                 struct mosquitto_opt *options, int option_count, control **out,
                 const char **why);
void control_close(control *c); /* NULL is fine */

/* At each CONNECT (not at a re-authentication), before anything else: forgets what control.c
 * knew of an earlier connection with this pointer. Returns -1 when the connection is the
 * plugin's to authenticate as usual, else the MOSQ_ERR_* to answer: a refresh-only session
 * (username CONTROL_REFRESH_USER) is accepted or refused here, and a token session with a
 * client id beginning with CONTROL_REFRESH_PREFIX is refused. username may be NULL. */
int control_connect(control *c, struct mosquitto *client, const char *username);

/* The ACL for $CONTROL/ topics and refresh-only sessions: 1 allowed, 0 refused, -1 not
 * control.c's to say (plugin.c decides). has_session: the client has a live token session. */
int control_acl(control *c, const struct mosquitto *client, int access, const char *topic,
                int has_session);

/* A connection ended: its answers still to come are dropped. */
void control_disconnect(control *c, const struct mosquitto *client);

/* On every tick: publishes the answers that came back, closes idle or spent refresh-only
 * sessions. */
void control_tick(control *c, time_t now);

/* --- reauth.c --- */

#define REAUTH_METHOD "OAUTH2-JWT"

/* MOSQ_EVT_EXT_AUTH_START and _CONTINUE; userdata is the struct plugin. */
int reauth_on_start(int event, void *event_data, void *userdata);
int reauth_on_continue(int event, void *event_data, void *userdata);

/* --- clientcert.c --- */

/* 1 when a token with these (verified) claims may be used on client's connection: it is not
 * bound to a certificate, or the connection presented the one its cnf.x5t#S256 names; else 0,
 * logged with the client id id. */
int certbind_connection_ok(const struct mosquitto *client, const char *id, const json_t *claims);

/* --- plugin.c, for reauth.c --- */

/* Authenticates client with token as at a CONNECT (username: the CONNECT's, or NULL), or, with
 * reauth, as a re-authentication of a live session: the session is replaced by one of the new
 * token on success, and gone on failure. Returns a MOSQ_ERR_* code. */
int plugin_authenticate(struct plugin *p, struct mosquitto *client, const char *username,
                        const char *token, int reauth);

/* 1 if client has a live token session. */
int plugin_has_session(struct plugin *p, const struct mosquitto *client);

#endif
