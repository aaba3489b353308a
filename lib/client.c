/* client.c - client authentication. */
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "secret.h"

int client_list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, " ");

		if (len == wl && memcmp(p, word, wl) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

ts_err client_new_secret(struct client *c, char *text)
{
	ts_err rc = secret_random(text, 32);

	if (rc == TS_OK)
		secret_sha256(text, strlen(text), c->secret_hash);
	return rc;
}

ts_err client_authenticate(store *s, const char *authorization, const struct form *f,
                           struct client **out, char **id_out)
{
	static const unsigned char zero[32];
	const char *body_id = form_get(f, "client_id");
	const char *body_secret = form_get(f, "client_secret");
	char *basic_id = NULL, *basic_secret = NULL;
	const char *id, *secret;
	struct client *c = NULL;
	unsigned char hash[32];
	int ok;
	ts_err rc;

	*out = NULL;
	if (id_out)
		*id_out = NULL;
	rc = form_basic_auth(authorization, &basic_id, &basic_secret);
	if (rc == TS_OK) {
		if (body_secret || (body_id && strcmp(body_id, basic_id) != 0)) {
			rc = TS_INVALID_REQUEST;
			goto out;
		}
		id = basic_id;
		secret = basic_secret;
	} else if (rc == TS_NOT_FOUND && !authorization) {
		id = body_id;
		secret = body_secret;
	} else {
		rc = TS_INVALID_CLIENT; /* malformed Basic, or another scheme */
		goto out;
	}
	rc = TS_INVALID_CLIENT;
	if (!id || !*id)
		goto out;
	if (id_out)
		*id_out = strdup(id);
	rc = store_client_get(s, id, &c);
	if (rc == TS_NOT_FOUND)
		rc = TS_INVALID_CLIENT;
	if (rc != TS_INVALID_CLIENT && rc != TS_OK)
		goto out;
	/* hash and compare even for an unknown client, so timing says nothing about existence */
	secret_sha256(secret ? secret : "", secret ? strlen(secret) : 0, hash);
	ok = secret_equal(hash, c && !c->is_public ? c->secret_hash : zero, sizeof hash);
	rc = TS_INVALID_CLIENT;
	if (!c || !c->active)
		goto out;
	if (c->is_public ? secret != NULL : !(secret && ok))
		goto out;
	*out = c;
	c = NULL;
	rc = TS_OK;
out:
	secret_wipe(hash, sizeof hash);
	store_client_free(c);
	free(basic_id);
	secret_free(basic_secret);
	return rc;
}
