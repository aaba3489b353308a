/* config.c - INI settings through libinih, with one table of keys. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "netaddr.h"

enum kind { K_STR, K_INT, K_SYNC, K_CLAIM, K_ALG, K_ADDRS, K_METRICS, K_CLIENT_CERTS };

static const struct setting {
	const char *section, *key;
	enum kind kind;
	size_t off;
	long min, max;
} settings[] = {
	{"server", "listen", K_STR, offsetof(struct config, listen), 0, 0},
	{"server", "issuer", K_STR, offsetof(struct config, issuer), 0, 0},
	{"server", "threads", K_INT, offsetof(struct config, threads), 0, 256},
	{"server", "max_connections", K_INT, offsetof(struct config, max_connections), 1, 1000000},
	{"server", "connection_timeout", K_INT, offsetof(struct config, connection_timeout), 1, 3600},
	{"server", "request_header_timeout", K_INT, offsetof(struct config, request_header_timeout),
	 1, 3600},
	{"server", "request_body_timeout", K_INT, offsetof(struct config, request_body_timeout), 1,
	 3600},
	{"server", "max_connections_per_address", K_INT,
	 offsetof(struct config, max_connections_per_address), 0, 1000000},
	{"server", "proxy_addresses", K_ADDRS, offsetof(struct config, proxy_addresses), 0, 0},
	{"server", "metrics", K_METRICS, offsetof(struct config, metrics), 0, 0},
	{"server", "metrics_token_file", K_STR, offsetof(struct config, metrics_token_file), 0, 0},
	{"server", "max_body", K_INT, offsetof(struct config, max_body), 1024, 16777216},
	{"server", "tls_cert", K_STR, offsetof(struct config, tls_cert), 0, 0},
	{"server", "tls_key", K_STR, offsetof(struct config, tls_key), 0, 0},
	{"server", "tls_client_certificates", K_CLIENT_CERTS,
	 offsetof(struct config, tls_client_certs), 0, 0},
	{"server", "tls_client_ca", K_STR, offsetof(struct config, tls_client_ca), 0, 0},
	{"server", "jwks_ca_file", K_STR, offsetof(struct config, jwks_ca_file), 0, 0},
	{"database", "path", K_STR, offsetof(struct config, db_path), 0, 0},
	{"database", "busy_timeout_ms", K_INT, offsetof(struct config, busy_timeout_ms), 0, 600000},
	{"database", "synchronous", K_SYNC, offsetof(struct config, synchronous), 0, 0},
	{"tokens", "access_token_ttl", K_INT, offsetof(struct config, access_token_ttl), 1, 31536000},
	{"tokens", "code_ttl", K_INT, offsetof(struct config, code_ttl), 1, 600},
	{"tokens", "session_ttl", K_INT, offsetof(struct config, session_ttl), 60, 31536000},
	{"tokens", "refresh_token_ttl", K_INT, offsetof(struct config, refresh_token_ttl), 1,
	 315360000},
	{"tokens", "grant_lifetime", K_INT, offsetof(struct config, grant_lifetime), 0, 315360000},
	{"tokens", "audience", K_STR, offsetof(struct config, audience), 0, 0},
	{"tokens", "mqtt_claim", K_CLAIM, offsetof(struct config, mqtt_claim), 0, 0},
	{"tokens", "signing_alg", K_ALG, offsetof(struct config, signing_alg), 0, 0},
	{"tokens", "device_code_ttl", K_INT, offsetof(struct config, device_code_ttl), 1, 86400},
	{"tokens", "device_interval", K_INT, offsetof(struct config, device_interval), 1, 3600},
	{"tokens", "user_code_attempts", K_INT, offsetof(struct config, user_code_attempts), 1,
	 1000000},
	{"tokens", "user_code_attempts_total", K_INT,
	 offsetof(struct config, user_code_attempts_total), 1, 100000000},
	{"tokens", "dpop_proof_max_age", K_INT, offsetof(struct config, dpop_proof_max_age), 5, 600},
	{"tokens", "dpop_nonce", K_INT, offsetof(struct config, dpop_nonce), 0, 1},
};

ts_err config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->listen = strdup("127.0.0.1:8080");
	c->db_path = strdup("./tessera.db");
	c->audience = strdup("mqtt");
	c->signing_alg = strdup("ES256");
	c->max_connections = 10000;
	c->connection_timeout = 30;
	c->request_header_timeout = 10;
	c->request_body_timeout = 10;
	c->max_connections_per_address = 256;
	c->proxy_addresses = strdup("127.0.0.1 ::1");
	c->metrics = METRICS_LOOPBACK;
	c->max_body = 65536;
	c->busy_timeout_ms = 2000;
	c->synchronous = 2;
	c->access_token_ttl = 3600;
	c->code_ttl = 60;
	c->session_ttl = 43200;
	c->refresh_token_ttl = 2592000;
	c->device_code_ttl = 600;
	c->device_interval = 5;
	c->dpop_proof_max_age = 60;
	c->user_code_attempts = 5;
	c->user_code_attempts_total = 100;
	c->mqtt_claim = MQTT_CLAIM_NONE;
	if (!c->listen || !c->db_path || !c->audience || !c->signing_alg || !c->proxy_addresses) {
		config_free(c);
		return TS_SERVER_ERROR;
	}
	return TS_OK;
}

static int pick(const char *v, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, names[i]) == 0)
			return i;
	return -1;
}

ts_err config_set(struct config *c, const char *section, const char *key, const char *value,
                  char **why)
{
	static const char *const syncs[] = {"off", "normal", "full"};
	static const char *const claims[] = {"none", "emqx", "emqx-legacy"};
	static const char *const algs[] = {"ES256", "RS256"};
	static const char *const metrics[] = {"off", "loopback", "token"};
	static const char *const client_certs[] = {"off", "request"};
	struct netaddr_list *addrs;
	char *bad;
	const struct setting *s = NULL;
	size_t i;
	char *end, *copy;
	long v;
	int k;

	for (i = 0; i < sizeof settings / sizeof settings[0]; i++)
		if ((!section || strcmp(section, settings[i].section) == 0) &&
		    strcmp(key, settings[i].key) == 0)
			s = &settings[i];
	if (!s) {
		*why = err_why("unknown setting [%s] %s", section ? section : "", key);
		return TS_INVALID_REQUEST;
	}
	switch (s->kind) {
	case K_STR:
	case K_ALG:
		if (s->kind == K_ALG && pick(value, algs, 2) < 0)
			goto bad;
		if (!*value)
			goto bad;
		copy = strdup(s->kind == K_ALG ? algs[pick(value, algs, 2)] : value);
		if (!copy)
			return TS_SERVER_ERROR;
		free(*(char **)((char *)c + s->off));
		*(char **)((char *)c + s->off) = copy;
		return TS_OK;
	case K_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < s->min || v > s->max)
			goto bad;
		*(int *)((char *)c + s->off) = (int)v;
		return TS_OK;
	case K_SYNC:
		if ((k = pick(value, syncs, 3)) < 0)
			goto bad;
		*(int *)((char *)c + s->off) = k;
		return TS_OK;
	case K_CLAIM:
		if ((k = pick(value, claims, 3)) < 0)
			goto bad;
		*(enum mqtt_claim *)((char *)c + s->off) = (enum mqtt_claim)k;
		return TS_OK;
	case K_METRICS:
		if ((k = pick(value, metrics, 3)) < 0)
			goto bad;
		*(enum metrics_access *)((char *)c + s->off) = (enum metrics_access)k;
		return TS_OK;
	case K_CLIENT_CERTS:
		if ((k = pick(value, client_certs, 2)) < 0)
			goto bad;
		*(int *)((char *)c + s->off) = k;
		return TS_OK;
	case K_ADDRS:  /* a list of addresses, checked here so that a typo names its line */
		if (netaddr_list_parse(value, &addrs, &bad) != TS_OK) {
			*why = err_why("bad value for %s: %s", key, bad ? bad : "out of memory");
			free(bad);
			return TS_INVALID_REQUEST;
		}
		netaddr_list_free(addrs);
		copy = strdup(value);
		if (!copy)
			return TS_SERVER_ERROR;
		free(*(char **)((char *)c + s->off));
		*(char **)((char *)c + s->off) = copy;
		return TS_OK;
	}
bad:
	*why = err_why("bad value for %s: \"%s\"", key, value);
	return TS_INVALID_REQUEST;
}

struct load_ctx {
	struct config *c;
	char *why;
	ts_err rc;
};

static int on_entry(void *arg, const char *section, const char *key, const char *value)
{
	struct load_ctx *ctx = arg;

	if (ctx->rc != TS_OK)
		return 0;
	if (!*section) {
		ctx->why = err_why("setting %s outside a section ([server], [database], [tokens])", key);
		ctx->rc = TS_INVALID_REQUEST;
		return 0;
	}
	ctx->rc = config_set(ctx->c, section, key, value, &ctx->why);
	return ctx->rc == TS_OK;
}

ts_err config_load(struct config *c, const char *path, char **why)
{
	struct load_ctx ctx = {c, NULL, TS_OK};
	int line = ini_parse(path, on_entry, &ctx);

	*why = NULL;
	if (line == -1) {
		*why = err_why("cannot read config file %s: %s", path, strerror(errno));
		return TS_INVALID_REQUEST;
	}
	if (line != 0) {
		*why = err_why("%s:%d: %s", path, line, ctx.why ? ctx.why : "syntax error");
		free(ctx.why);
		return ctx.rc == TS_OK ? TS_INVALID_REQUEST : ctx.rc;
	}
	return TS_OK;
}

void config_free(struct config *c)
{
	free(c->listen);
	free(c->issuer);
	free(c->db_path);
	free(c->audience);
	free(c->signing_alg);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_client_ca);
	c->tls_client_ca = NULL;
	free(c->proxy_addresses);
	free(c->metrics_token_file);
	free(c->jwks_ca_file);
	c->proxy_addresses = c->metrics_token_file = c->jwks_ca_file = NULL;
	c->listen = c->issuer = c->db_path = c->audience = c->signing_alg = NULL;
	c->tls_cert = c->tls_key = NULL;
}
