/* config.h - settings from etc/tessera.conf (INI, read with libinih) and their defaults. */
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H

#include "err.h"

enum mqtt_claim { MQTT_CLAIM_NONE, MQTT_CLAIM_EMQX, MQTT_CLAIM_EMQX_LEGACY };
/* Who may read /metrics: nobody (404), loopback clients only, or a bearer token. */
enum metrics_access { METRICS_OFF, METRICS_LOOPBACK, METRICS_TOKEN };

struct config {
	/* [server] */
	char *listen;            /* HOST:PORT, default 127.0.0.1:8080 */
	char *issuer;            /* default http://<listen> */
	int threads;             /* worker threads, 0 = 8 per core */
	int max_connections;     /* beyond it: 503 */
	int connection_timeout;  /* seconds a connection may stay idle or slow */
	int request_header_timeout; /* seconds from a request's first byte to the end of its head */
	int request_body_timeout;   /* seconds from the end of a request's head to its last byte */
	int max_connections_per_address; /* per client address (IPv6: per /64); 0 = no limit */
	char *proxy_addresses;   /* not limited per address (reverse proxies), "" for none */
	enum metrics_access metrics;
	char *metrics_token_file; /* the bearer token for metrics = token */
	int max_body;            /* bytes; larger bodies get 413 */
	char *tls_cert, *tls_key; /* PEM files: serve https (both or neither); NULL: plain http */
	int tls_client_certs;    /* tls_client_certificates = request: ask clients for a
	                          * certificate (RFC 8705 mutual TLS); 0 = off */
	char *tls_client_ca;     /* CA certificates (PEM) tls_client_auth chains verify to */
	char *jwks_ca_file;      /* CA bundle for clients' jwks_uri fetches; NULL: the system's */
	/* [database] */
	char *db_path;           /* default ./tessera.db */
	int busy_timeout_ms;     /* bounded wait for a locked database, then 503 */
	int synchronous;         /* 0 off, 1 normal, 2 full */
	/* [tokens] */
	int access_token_ttl;    /* seconds */
	int code_ttl;            /* seconds an authorization code may be redeemed */
	int session_ttl;         /* seconds a browser login lasts */
	int refresh_token_ttl;   /* seconds a refresh token lives unused (idle timeout) */
	int grant_lifetime;      /* seconds a grant may be refreshed at most; 0: no limit */
	char *audience;          /* aud of access tokens */
	enum mqtt_claim mqtt_claim;
	char *signing_alg;       /* ES256 or RS256 */
	int device_code_ttl;     /* seconds a device authorization (RFC 8628) lasts */
	int device_interval;     /* seconds a device waits between polls */
	int user_code_attempts;  /* wrong user codes one address may enter before a lock-out */
	int user_code_attempts_total; /* ... all addresses together */
	int dpop_proof_max_age;  /* seconds a DPoP proof's iat may lie in the past (RFC 9449) */
	int dpop_nonce;          /* 1: DPoP proofs must carry a server nonce (RFC 9449 §8) */
};

/* Fills c with the defaults (strings malloc'd). TS_SERVER_ERROR when out of memory. */
ts_err config_defaults(struct config *c);

/* Reads the INI file at path over c. On a missing file, an unknown section or key, or a bad value,
 * returns TS_INVALID_REQUEST with *why (malloc'd, caller frees) naming the line. */
ts_err config_load(struct config *c, const char *path, char **why);

/* Sets one "section.key" (or plain key) to value, as the file would; same errors. */
ts_err config_set(struct config *c, const char *section, const char *key, const char *value,
                  char **why);

/* Frees the strings of c (not c itself). */
void config_free(struct config *c);

#endif
