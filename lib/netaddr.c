/* netaddr.c - client addresses as the per-address limits see them: lists of addresses and
 * prefixes from the configuration, and the key a connection is counted under. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netaddr.h"

#define NETADDR_MAX 64  /* entries in one list: a few proxies, not a firewall */

struct netaddr {
	int family;                  /* AF_INET or AF_INET6 */
	unsigned char addr[16];      /* 4 or 16 bytes, the bits past the prefix cleared */
	int bits;                    /* prefix length */
};

struct netaddr_list {
	size_t n;
	struct netaddr a[NETADDR_MAX];
};

/* The address bytes of sa into out (an IPv4-mapped IPv6 address as IPv4): its family, or 0 when
 * it is neither IPv4 nor IPv6. */
static int sa_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *b;

	if (sa && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa && sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(b, mapped, sizeof mapped) == 0) {
			memcpy(out, b + 12, 4);
			return AF_INET;
		}
		memcpy(out, b, 16);
		return AF_INET6;
	}
	return 0;
}

/* 1 when the first bits of a and b are the same. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return !rest || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Parses one "ADDRESS" or "ADDRESS/BITS" of n bytes at s into *out; -1 when it is not one. */
static int parse_one(const char *s, size_t n, struct netaddr *out)
{
	char buf[64], *slash, *end;
	long bits;
	int i, len;

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET, len = 32;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6, len = 128;
	else
		return -1;
	bits = len;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 0 || bits > len)
			return -1;
	}
	out->bits = (int)bits;
	for (i = (int)bits; i < len; i++)  /* 10.1.2.3/8 means 10.0.0.0/8 */
		out->addr[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	return 0;
}

ts_err netaddr_list_parse(const char *text, struct netaddr_list **out, char **why)
{
	struct netaddr_list *l = calloc(1, sizeof *l);
	const char *p = text ? text : "";
	size_t n;

	*out = NULL;
	if (why)
		*why = NULL;
	if (!l)
		return TS_SERVER_ERROR;
	for (p += strspn(p, " \t,"); *p; p += strspn(p, " \t,")) {
		n = strcspn(p, " \t,");
		if (l->n == NETADDR_MAX || parse_one(p, n, &l->a[l->n]) != 0) {
			if (why && l->n == NETADDR_MAX)
				*why = err_why("more than %d addresses", NETADDR_MAX);
			else if (why)
				*why = err_why("not an IP address or prefix: \"%.*s\"",
				               (int)(n > 64 ? 64 : n), p);
			free(l);
			return TS_INVALID_REQUEST;
		}
		l->n++;
		p += n;
	}
	*out = l;
	return TS_OK;
}

int netaddr_list_has(const struct netaddr_list *l, const struct sockaddr *sa)
{
	unsigned char b[16];
	int family = sa_bytes(sa, b);
	size_t i;

	for (i = 0; l && family && i < l->n; i++)
		if (l->a[i].family == family && prefix_equal(l->a[i].addr, b, l->a[i].bits))
			return 1;
	return 0;
}

void netaddr_list_free(struct netaddr_list *l)
{
	free(l);
}

int netaddr_key(const struct sockaddr *sa, char *buf, size_t n)
{
	unsigned char b[16];
	int family = sa_bytes(sa, b);

	if (n == 0)
		return -1;
	buf[0] = '\0';
	if (family == AF_INET)
		return inet_ntop(AF_INET, b, buf, (socklen_t)n) ? 0 : -1;
	if (family != AF_INET6)
		return -1;
	/* one IPv6 host usually holds a whole /64: it counts as one address */
	memset(b + 8, 0, 8);
	if (!inet_ntop(AF_INET6, b, buf, (socklen_t)n) || strlen(buf) + 4 > n)
		return -1;
	strcat(buf, "/64");
	return 0;
}

int netaddr_is_loopback(const struct sockaddr *sa)
{
	unsigned char b[16];
	int family = sa_bytes(sa, b);

	if (family == AF_INET)
		return b[0] == 127 && b[1] == 0 && b[2] == 0 && b[3] == 1;
	return family == AF_INET6 && memcmp(b, &in6addr_loopback, 16) == 0;
}
