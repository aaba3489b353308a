/* issuers.c - which trusted authorization server a token is verified by: the iss of its payload,
 * read without verifying anything, names the issuer whose keys (and audience, and introspection)
 * then verify it in full; jwks_verify checks that iss again against that issuer. A token whose
 * iss names no trusted issuer is refused without a signature check. Reading the unverified iss
 * only chooses among keys the broker trusts anyway: a token claiming issuer A is checked with
 * A's keys alone, so B's keys never vouch for A's tokens. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "broker.h"

#define ISSUER_MAX_TOKEN 16384     /* as introspect.c: longer tokens are refused */

ts_err token_payload(const char *token, json_t **claims)
{
	const char *p, *q;
	unsigned char *raw;
	json_error_t jerr;
	size_t tlen, plen;
	long n;

	*claims = NULL;
	if (!token)
		return TS_INVALID_TOKEN;
	tlen = strnlen(token, ISSUER_MAX_TOKEN + 1);
	if (tlen > ISSUER_MAX_TOKEN || !(p = memchr(token, '.', tlen)))
		return TS_INVALID_TOKEN;
	p++;
	q = memchr(p, '.', tlen - (size_t)(p - token));
	if (!q || q == p)
		return TS_INVALID_TOKEN;
	plen = (size_t)(q - p);
	raw = malloc(plen / 4 * 3 + 4);
	if (!raw)
		return TS_SERVER_ERROR;
	n = b64url_decode(p, plen, raw);
	if (n > 0)
		*claims = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (*claims && !json_is_object(*claims)) {
		json_decref(*claims);
		*claims = NULL;
	}
	return *claims ? TS_OK : TS_INVALID_TOKEN;
}

ts_err token_issuer(const char *token, char **iss)
{
	json_t *doc;
	const char *v;
	ts_err rc;

	*iss = NULL;
	if ((rc = token_payload(token, &doc)) != TS_OK)
		return rc;
	v = json_string_value(json_object_get(doc, "iss"));
	/* (jansson refuses \u0000 in strings: v is the whole claim) */
	rc = TS_INVALID_TOKEN;
	if (v && *v)
		rc = (*iss = strdup(v)) ? TS_OK : TS_SERVER_ERROR;
	json_decref(doc);
	return rc;
}

int broker_cfg_issuer(const struct broker_cfg *cfg, const char *iss)
{
	size_t i;

	if (!iss)
		return -1;
	for (i = 0; i < BROKER_MAX_ISSUERS; i++)
		if (cfg->iss[i].used && cfg->iss[i].issuer && strcmp(cfg->iss[i].issuer, iss) == 0)
			return (int)i;
	return -1;
}

void log_clean(const char *s, char *out, size_t len)
{
	size_t i, n;

	if (!len)
		return;
	if (!s)
		s = "";
	n = strlen(s);
	for (i = 0; i < n && i < len - 1; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	if (n > len - 1 && len > 4)
		memcpy(out + len - 4, "...", 4);
}
