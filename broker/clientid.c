/* clientid.c - which MQTT client ids a token may use (plugin_opt_client_id_rule).
 *
 * mosquitto gives a client id's session (its subscriptions, its queued and in-flight messages)
 * to whoever connects with that id next, and throws the connected one off. So an id belongs to
 * one holder of credentials: the OAuth client of the token (client_id claim) and, for a user's
 * token (one with a username claim), the user (sub claim: the user's number, which a rename does
 * not change). ':' separates the parts:
 *
 *   a client's own token (client credentials)   <client_id>                 (strict)
 *                                                <client_id>:<suffix>        (prefix, also)
 *   a user's token                               <client_id>:<sub>
 *                                                <client_id>:<sub>:<suffix>
 *
 * In prefix mode a suffix of a client's own token must not start with a number followed by ':'
 * or the end: those ids are its users'. The rule any binds nothing (mosquitto's default). */
#include <string.h>
#include "broker.h"

static const char *const rule_names[] = {"strict", "prefix", "any"};

int clientid_rule_parse(const char *s, enum clientid_rule *out)
{
	size_t i;

	for (i = 0; i < sizeof rule_names / sizeof rule_names[0]; i++)
		if (s && strcmp(s, rule_names[i]) == 0) {
			*out = (enum clientid_rule)i;
			return 0;
		}
	return -1;
}

const char *clientid_rule_name(enum clientid_rule rule)
{
	return (size_t)rule < sizeof rule_names / sizeof rule_names[0] ? rule_names[rule] : "?";
}

/* If id starts with p, the rest of id; else NULL. */
static const char *after(const char *id, const char *p)
{
	size_t n = strlen(p);

	return strncmp(id, p, n) == 0 ? id + n : NULL;
}

/* 1 if s starts with a number that ends at a ':' or at the end: a user's part. */
static int user_part(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && (s[n] == ':' || s[n] == '\0');
}

int clientid_allowed(enum clientid_rule rule, const char *id, const json_t *claims)
{
	const char *client = json_string_value(json_object_get(claims, "client_id"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *rest;

	if (rule == CLIENTID_ANY)
		return 1;
	if (!id || !*id || !client || !*client)
		return 0;
	rest = after(id, client);
	if (!rest)
		return 0;
	if (json_is_string(json_object_get(claims, "username"))) {
		/* a user's token: <client_id>:<sub>[:<suffix>]; a sub with ':' cannot be told apart */
		if (!sub || !*sub || strchr(sub, ':') || *rest != ':' || !(rest = after(rest + 1, sub)))
			return 0;
		return *rest == '\0' || *rest == ':';
	}
	if (*rest == '\0')
		return 1;
	return rule == CLIENTID_PREFIX && *rest == ':' && !user_part(rest + 1);
}
