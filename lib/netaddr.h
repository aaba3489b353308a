/* netaddr.h - client addresses for the per-address limits: lists of addresses and prefixes
 * ("127.0.0.1 ::1 10.0.0.0/8"), and the key a client address is counted under. */
#ifndef TESSERA_NETADDR_H
#define TESSERA_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>
#include "err.h"

struct netaddr_list;

/* Parses a list of IPv4 and IPv6 addresses, each optionally with a /prefix length, separated
 * by spaces or commas (at most 64; an empty text is an empty list). On success *out is the list
 * (free with netaddr_list_free); else TS_INVALID_REQUEST with *why (malloc'd, may be NULL; the
 * caller frees) naming the bad entry, or TS_SERVER_ERROR when out of memory. */
ts_err netaddr_list_parse(const char *text, struct netaddr_list **out, char **why);

/* 1 when the address of sa (IPv4, IPv6, or IPv4-mapped IPv6 taken as IPv4) is in the list l. */
int netaddr_list_has(const struct netaddr_list *l, const struct sockaddr *sa);
void netaddr_list_free(struct netaddr_list *l); /* NULL is fine */

/* The text a client address is counted under, into buf (48 bytes are enough): an IPv4 address
 * as itself (IPv4-mapped ones too), an IPv6 address as its /64 ("2001:db8:1:2::/64"), since
 * one host usually holds a whole /64. 0, or -1 for another family or a short buf. */
int netaddr_key(const struct sockaddr *sa, char *buf, size_t n);

/* 1 when sa is 127.0.0.1 or ::1 (or ::ffff:127.0.0.1): where a connection to the loopback
 * address comes from. (The rest of 127.0.0.0/8 is local too, but nothing uses it unasked.) */
int netaddr_is_loopback(const struct sockaddr *sa);

#endif
