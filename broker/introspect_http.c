/* introspect_http.c - one introspection request (RFC 7662 §2.1) to Tessera: the form body,
 * the broker's client authentication (client_secret_basic) and what counts as an answer. The
 * token and the credentials are wiped from every buffer that held them. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "introspect_priv.h"
#include "secret.h"

enum intro_answer intro_answer_parse(const char *body, size_t len, char **scope,
                                     const char **why)
{
	json_error_t jerr;
	json_t *doc, *active, *sc;
	const char *text = "";
	enum intro_answer ans = INTRO_UNAVAILABLE;

	*scope = NULL;
	*why = "the answer is no introspection response";
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	active = json_object_get(doc, "active");
	sc = json_object_get(doc, "scope");
	if (json_is_false(active)) {
		ans = INTRO_INACTIVE;
	} else if (json_is_true(active)) {
		if (json_is_string(sc))
			text = json_string_value(sc);
		if (strlen(text) > INTRO_MAX_SCOPE) {
			*why = "the answer's scope is longer than 16384 bytes";
		} else if (!(*scope = strdup(text))) {
			*why = "out of memory";
		} else {
			ans = INTRO_ACTIVE;
		}
	}
	json_decref(doc);
	return ans;
}

enum intro_answer intro_ask(introspector *in, CURL *c, const char *token, struct intro_fail *f,
                            char **scope)
{
	return intro_ask_doc(in, c, token, f, scope, NULL);
}

enum intro_answer intro_ask_doc(introspector *in, CURL *c, const char *token,
                                struct intro_fail *f, char **scope, json_t **doc)
{
	static const char hint[] = "&token_type_hint=access_token";
	struct fetch_reply r = {0};
	char *enc, *body = NULL;
	size_t elen, blen = 0;
	const char *why;
	enum intro_answer ans = INTRO_UNAVAILABLE;

	*scope = NULL;
	if (doc)
		*doc = NULL;
	f->why = "out of memory";
	f->status = 0;
	f->retry_after = -1;
	enc = fetch_form_encode(token);
	if (!enc)
		return INTRO_UNAVAILABLE;
	elen = strlen(enc);
	body = malloc(6 + elen + sizeof hint);
	if (!body)
		goto out;
	memcpy(body, "token=", 6);
	memcpy(body + 6, enc, elen);
	memcpy(body + 6 + elen, hint, sizeof hint);
	blen = 6 + elen + sizeof hint - 1;
	if (fetch_do(c, body, blen, in->headers, &r, &why) != TS_OK) {
		f->why = why;
		goto out;
	}
	f->status = r.status;
	f->retry_after = r.retry_after;
	if (r.status != 200) {
		f->why = r.status == 429 ? "too many requests: Tessera is limiting the broker's client" :
		         r.status == 401 || r.status == 403 ? "the broker's client was refused: check "
		         "plugin_opt_introspect_client_id and _secret" :
		         r.status >= 500 ? "Tessera failed" : "an unexpected HTTP status";
		goto out;
	}
	ans = intro_answer_parse(r.body, r.len, scope, &f->why);
	if (ans == INTRO_ACTIVE && doc &&
	    !(*doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL))) {
		free(*scope);
		*scope = NULL;
		f->why = "out of memory";
		ans = INTRO_UNAVAILABLE;
	}
out:
	fetch_reply_free(&r);
	secret_free(enc);
	if (body) {
		secret_wipe(body, blen);
		free(body);
	}
	return ans;
}

/* "Authorization: Basic base64(urlenc(id):urlenc(secret))" (RFC 6749 §2.3.1); malloc'd, the
 * caller wipes and frees it. */
static char *intro_basic(const char *id, const char *secret)
{
	static const char prefix[] = "Authorization: Basic ";
	char *eid = fetch_form_encode(id), *esec = fetch_form_encode(secret);
	char *raw = NULL, *hdr = NULL;
	size_t rlen = 0;

	if (!eid || !esec)
		goto out;
	rlen = strlen(eid) + 1 + strlen(esec);
	raw = malloc(rlen + 1);
	if (!raw)
		goto out;
	strcpy(raw, eid);
	strcat(raw, ":");
	strcat(raw, esec);
	hdr = malloc(sizeof prefix - 1 + (rlen + 2) / 3 * 4 + 1);
	if (!hdr)
		goto out;
	memcpy(hdr, prefix, sizeof prefix - 1);
	EVP_EncodeBlock((unsigned char *)hdr + sizeof prefix - 1, (const unsigned char *)raw,
	                (int)rlen);
out:
	secret_free(eid);
	secret_free(esec);
	secret_free(raw);
	return hdr;
}

void intro_headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p; p = p->next)
		secret_wipe(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

ts_err intro_headers_make(introspector *in, const char *client_id, const char *secret)
{
	static const char *const fixed[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		"Expect:", /* no 100-continue round trip for long tokens */
	};
	struct curl_slist *h;
	char *auth = intro_basic(client_id, secret);
	size_t i;

	if (!auth)
		return TS_SERVER_ERROR;
	h = curl_slist_append(NULL, auth);
	secret_free(auth);
	if (!h)
		return TS_SERVER_ERROR;
	in->headers = h;
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		h = curl_slist_append(in->headers, fixed[i]);
		if (!h)
			return TS_SERVER_ERROR;
		in->headers = h;
	}
	return TS_OK;
}
