/* options.c - the plugin_opt_* options of mosquitto.conf into a broker_cfg, and whether they make
 * a broker that can start.
 *
 * mosquitto 2.0 hands a plugin every plugin_opt_KEY VALUE line as one (KEY, VALUE) pair, in the
 * order of the file, repeated keys included. One authorization server is the options without a
 * suffix (plugin_opt_issuer, plugin_opt_jwks_url, ...); more are the same options ending in _N,
 * N from 2 to BROKER_MAX_ISSUERS (plugin_opt_issuer_2, plugin_opt_jwks_url_2, ...), each
 * number one issuer with its own keys, audience and introspection settings. client_id_rule is
 * the broker's, without a number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "secret.h"

/* The options of one issuer: strings (at their offset in struct issuer_cfg) and cache_seconds. */
static const struct {
	const char *key;
	size_t off;
} issuer_strings[] = {
	{"issuer", offsetof(struct issuer_cfg, issuer)},
	{"audience", offsetof(struct issuer_cfg, audience)},
	{"jwks_file", offsetof(struct issuer_cfg, jwks_file)},
	{"jwks_url", offsetof(struct issuer_cfg, jwks_url)},
	{"introspect_url", offsetof(struct issuer_cfg, introspect_url)},
	{"introspect_client_id", offsetof(struct issuer_cfg, client_id)},
	{"introspect_client_secret", offsetof(struct issuer_cfg, client_secret)},
	{"ca_file", offsetof(struct issuer_cfg, ca_file)},
};
#define N_STRINGS (sizeof issuer_strings / sizeof issuer_strings[0])

void broker_cfg_init(struct broker_cfg *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < BROKER_MAX_ISSUERS; i++)
		cfg->iss[i].cache_seconds = 30, cfg->iss[i].feed = 1;
	cfg->client_id_rule = CLIENTID_STRICT;
}

/* Splits key into its name (namelen bytes) and the issuer index its suffix names: "_N" at the
 * end, N a number from 2 to BROKER_MAX_ISSUERS without leading zeros, else index 0 (the whole
 * key is the name). */
static size_t split_key(const char *key, size_t *namelen)
{
	size_t len = strlen(key), d = len;
	unsigned long n;

	while (d > 0 && key[d - 1] >= '0' && key[d - 1] <= '9')
		d--;
	*namelen = len;
	if (d == len || d < 2 || key[d - 1] != '_' || key[d] == '0' || len - d > 2)
		return 0;
	n = strtoul(key + d, NULL, 10);
	if (n < 2 || n > BROKER_MAX_ISSUERS)
		return 0;
	*namelen = d - 1;
	return (size_t)(n - 1);
}

static int set_cache_seconds(struct issuer_cfg *ic, const char *value)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (!*value || *end || v < 0 || v > 86400)
		return -1;
	ic->cache_seconds = (int)v;
	return 0;
}

int broker_cfg_set(struct broker_cfg *cfg, const char *key, const char *value)
{
	struct issuer_cfg *ic;
	size_t namelen, i, idx;

	if (!key || !value)
		return -1;
	if (strcmp(key, "client_id_rule") == 0)
		return clientid_rule_parse(value, &cfg->client_id_rule);
	idx = split_key(key, &namelen);
	ic = &cfg->iss[idx];
	if (namelen == strlen("cache_seconds") && strncmp(key, "cache_seconds", namelen) == 0) {
		ic->used = 1;
		return set_cache_seconds(ic, value);
	}
	if (namelen == strlen("feed") && strncmp(key, "feed", namelen) == 0) {
		ic->used = 1;
		if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
			return -1;
		ic->feed = strcmp(value, "on") == 0;
		return 0;
	}
	for (i = 0; i < N_STRINGS; i++)
		if (strlen(issuer_strings[i].key) == namelen &&
		    strncmp(key, issuer_strings[i].key, namelen) == 0) {
			char **slot = (char **)((char *)ic + issuer_strings[i].off);

			if (*slot)
				secret_free(*slot);   /* (the secret among them is wiped) */
			*slot = strdup(value);
			ic->used = 1;
			return *slot ? 0 : -1;
		}
	return -1;
}

const char *broker_cfg_suffix(size_t i)
{
	static const char *const suffix[BROKER_MAX_ISSUERS] = {
		"", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9", "_10", "_11", "_12", "_13",
		"_14", "_15", "_16",
	};

	return i < BROKER_MAX_ISSUERS ? suffix[i] : "_?";
}

const char *broker_cfg_check(const struct broker_cfg *cfg, char *buf, size_t len)
{
	size_t i, j, n = 0;

	for (i = 0; i < BROKER_MAX_ISSUERS; i++) {
		const struct issuer_cfg *ic = &cfg->iss[i];
		const char *sx = broker_cfg_suffix(i);

		if (!ic->used)
			continue;
		n++;
		if (!ic->issuer || !*ic->issuer || !ic->jwks_file == !ic->jwks_url) {
			snprintf(buf, len, "plugin_opt_issuer%s and one of plugin_opt_jwks_file%s, "
			         "plugin_opt_jwks_url%s are needed", sx, sx, sx);
			return buf;
		}
		if (ic->introspect_url && (!ic->client_id || !ic->client_secret)) {
			snprintf(buf, len, "plugin_opt_introspect_url%s needs "
			         "plugin_opt_introspect_client_id%s and "
			         "plugin_opt_introspect_client_secret%s", sx, sx, sx);
			return buf;
		}
		for (j = 0; j < i; j++)
			if (cfg->iss[j].used && cfg->iss[j].issuer &&
			    strcmp(cfg->iss[j].issuer, ic->issuer) == 0) {
				snprintf(buf, len, "plugin_opt_issuer%s and plugin_opt_issuer%s are the "
				         "same issuer", broker_cfg_suffix(j), sx);
				return buf;
			}
	}
	if (n == 0) {
		snprintf(buf, len, "plugin_opt_issuer and one of plugin_opt_jwks_file, "
		         "plugin_opt_jwks_url are needed");
		return buf;
	}
	return NULL;
}

void broker_cfg_free(struct broker_cfg *cfg)
{
	size_t i, k;

	for (i = 0; i < BROKER_MAX_ISSUERS; i++)
		for (k = 0; k < N_STRINGS; k++) {
			char **slot = (char **)((char *)&cfg->iss[i] + issuer_strings[k].off);

			secret_free(*slot);
			*slot = NULL;
		}
}
