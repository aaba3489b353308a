/* acl.h - a token's MQTT topic rights, parsed once per connection and checked per message:
 * what a broker enforces (the mosquitto plugin). Matching is scope.h's (mosquitto's semantics,
 * `$`-topics included). Topics and filters are taken as the broker validated them (MQTT allows
 * spaces in them, which scope filters never hold). */
#ifndef TESSERA_ACL_H
#define TESSERA_ACL_H

#include "err.h"

struct acl;

/* The rights of a granted scope string (space-separated): mqtt:pub:F and mqtt:pubsub:F give
 * publish rights on F, mqtt:sub:F and mqtt:pubsub:F subscribe (and receive) rights on F; other
 * and malformed tokens give nothing. *out is freed with acl_free. TS_SERVER_ERROR on OOM. */
ts_err acl_parse(const char *scope, struct acl **out);
void acl_free(struct acl *a); /* NULL is fine */

/* 1 when a may publish to the topic name (it matches one of its publish filters), else 0. */
int acl_may_publish(const struct acl *a, const char *topic);

/* 1 when a may subscribe to the filter (one of its subscribe filters covers it), else 0. */
int acl_may_subscribe(const struct acl *a, const char *filter);

/* 1 when a message on topic may be delivered to a (it matches one of its subscribe filters). */
int acl_may_receive(const struct acl *a, const char *topic);

#endif
