/* client_assertion.c - private_key_jwt: the assertion's signature, its claims, its jti once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "client_assertion.h"
#include "jwt.h"

/* A JSON number that is a time (seconds): 0 with *t, or -1 when v is not one. */
static int claim_time(const json_t *v, int64_t *t)
{
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e15)
		return -1;
	*t = (int64_t)d;
	return 0;
}

static int aud_fits(const char *a, const char *issuer, const char *token_endpoint)
{
	return a && ((issuer && strcmp(a, issuer) == 0) ||
	             (token_endpoint && strcmp(a, token_endpoint) == 0));
}

const char *client_assertion_claims_problem(const json_t *claims, const char *client_id,
                                            const char *issuer, const char *token_endpoint,
                                            int64_t now, const char **jti, int64_t *exp)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const json_t *aud = json_object_get(claims, "aud"), *v;
	int64_t e, t;
	size_t i, n;
	int fits = 0;

	if (!iss || strcmp(iss, client_id) != 0)
		return "iss is not the client id";
	if (!sub || strcmp(sub, client_id) != 0)
		return "sub is not the client id";
	if (json_is_string(aud)) {
		fits = aud_fits(json_string_value(aud), issuer, token_endpoint);
	} else if (json_is_array(aud)) {
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v))
				return "aud holds a value that is not a string";
			fits |= aud_fits(json_string_value(v), issuer, token_endpoint);
		}
	}
	if (!fits)
		return "aud is neither the issuer nor the token endpoint";
	if (claim_time(json_object_get(claims, "exp"), &e) != 0)
		return "exp is missing or not a number";
	if (e + CLIENT_ASSERTION_LEEWAY <= now)
		return "the assertion has expired (exp)";
	if (e - now > CLIENT_ASSERTION_MAX_AHEAD + CLIENT_ASSERTION_LEEWAY)
		return "exp is too far ahead (at most 5 minutes)";
	if ((v = json_object_get(claims, "nbf")) &&
	    (claim_time(v, &t) != 0 || t > now + CLIENT_ASSERTION_LEEWAY))
		return "nbf is not a number or in the future";
	if ((v = json_object_get(claims, "iat")) &&
	    (claim_time(v, &t) != 0 || t > now + CLIENT_ASSERTION_LEEWAY))
		return "iat is not a number or in the future";
	*jti = json_string_value(json_object_get(claims, "jti"));
	n = *jti ? strlen(*jti) : 0;
	if (n == 0 || n > CLIENT_ASSERTION_MAX_JTI)
		return "jti is missing, not a string, empty or longer than 256 bytes";
	*exp = e + CLIENT_ASSERTION_LEEWAY;
	return NULL;
}

ts_err client_assertion_verify(const struct client_keys *keys, const char *token,
                               json_t **claims, int *unknown_kid, const char **why)
{
	json_t *header = NULL, *payload = NULL, *kidv;
	const char *alg, *kid;
	const jwt_key *k;
	size_t i;
	int named = 0;
	ts_err rc;

	*claims = NULL;
	*unknown_kid = 0;
	rc = jwt_peek(token, &header, &payload);
	json_decref(payload);
	if (rc != TS_OK) {
		*why = "the assertion is not a compact JWS";
		return rc == TS_SERVER_ERROR ? rc : TS_INVALID_CLIENT;
	}
	alg = jwt_alg_canonical(json_string_value(json_object_get(header, "alg")));
	kidv = json_object_get(header, "kid");
	kid = json_string_value(kidv);
	rc = TS_INVALID_CLIENT;
	/* the algorithms of registered public keys only: "none" and HS256 (whose secret would be
	 * the public key) are no key's */
	if (!alg || !jwt_alg_known(alg)) {
		*why = "the assertion's alg is not ES256, RS256, PS256 or EdDSA (Ed25519)";
		goto out;
	}
	if (kidv && !kid) {
		*why = "the assertion's kid is not a string";
		goto out;
	}
	*why = "no registered key of the assertion's alg";
	for (i = 0; keys && i < keys->n; i++) {
		if (kid && (!keys->keys[i].kid || strcmp(keys->keys[i].kid, kid) != 0))
			continue;
		named = 1;
		if (strcmp(jwt_key_alg(keys->keys[i].key), alg) != 0)
			continue;
		k = keys->keys[i].key;
		rc = jwt_verify_opts(&k, 1, token, NULL, JWT_KEY_GIVEN | JWT_ALLOW_HIGH_S, claims);
		if (rc == TS_OK)
			goto out;
		if (rc == TS_SERVER_ERROR)
			goto out;
		rc = TS_INVALID_CLIENT;
		*why = "the signature does not verify with the registered key";
	}
	if (kid && !named) {
		*unknown_kid = 1;
		*why = "the assertion's kid names no registered key";
	}
out:
	json_decref(header);
	return rc;
}

int client_assertion_present(const struct form *f)
{
	return f && (form_get(f, "client_assertion_type") || form_get(f, "client_assertion"));
}

/* The keys of c and the verified claims of token: TS_OK with *claims, or an error with *why. */
static ts_err verify_for(const struct client *c, const char *token, int64_t now, json_t **claims,
                         const char **why)
{
	struct client_keys *keys = NULL;
	int unknown = 0;
	ts_err rc = client_keys_get(c->client_id, c->jwks, c->jwks_uri, 0, now, &keys, why);

	if (rc == TS_OK)
		rc = client_assertion_verify(keys, token, claims, &unknown, why);
	client_keys_release(keys);
	keys = NULL;
	/* a kid the cached set lacks: the client may have rotated its keys at its jwks_uri */
	if (rc == TS_INVALID_CLIENT && unknown && !c->jwks && c->jwks_uri &&
	    client_keys_get(c->client_id, NULL, c->jwks_uri, 1, now, &keys, why) == TS_OK)
		rc = client_assertion_verify(keys, token, claims, &unknown, why);
	client_keys_release(keys);
	return rc;
}

ts_err client_assertion_authenticate(store *s, const struct assertion_env *env,
                                     const struct form *f, struct client **out, char **id_out,
                                     const char **why)
{
	const char *type = form_get(f, "client_assertion_type");
	const char *token = form_get(f, "client_assertion");
	const char *body_id = form_get(f, "client_id"), *id, *jti;
	json_t *header = NULL, *payload = NULL, *claims = NULL;
	struct client *c = NULL;
	int64_t exp;
	ts_err rc;

	*out = NULL;
	if (id_out)
		*id_out = NULL;
	*why = "client_assertion and client_assertion_type go together";
	if (!type || !token)
		return TS_INVALID_REQUEST;
	rc = TS_INVALID_CLIENT;
	if (strcmp(type, CLIENT_ASSERTION_TYPE_JWT) != 0) {
		*why = "client_assertion_type is not the jwt-bearer URN";
		goto out;
	}
	/* who the assertion says it is, read before anything is verified, to find the keys */
	if (jwt_peek(token, &header, &payload) != TS_OK) {
		*why = "the assertion is not a compact JWS";
		goto out;
	}
	id = json_string_value(json_object_get(payload, "sub"));
	if (!id || !*id) {
		*why = "the assertion has no sub";
		goto out;
	}
	if (body_id && strcmp(body_id, id) != 0) {
		*why = "client_id is not the assertion's sub";
		goto out;
	}
	if (id_out && !(*id_out = strdup(id))) {
		rc = TS_SERVER_ERROR;
		goto out;
	}
	rc = client_get(s, id, &c);
	if (rc == TS_NOT_FOUND)
		rc = TS_INVALID_CLIENT;
	if (rc != TS_OK) {
		*why = "no such client";
		goto out;
	}
	rc = TS_INVALID_CLIENT;
	if (!c->active || strcmp(c->auth_method, "private_key_jwt") != 0) {
		*why = c->active ? "the client does not authenticate with private_key_jwt" :
		                   "the client is disabled";
		goto out;
	}
	rc = verify_for(c, token, env->now, &claims, why);
	if (rc != TS_OK)
		goto out;
	rc = TS_INVALID_CLIENT;
	*why = client_assertion_claims_problem(claims, c->client_id, env->issuer,
	                                       env->token_endpoint, env->now, &jti, &exp);
	if (*why)
		goto out;
	rc = client_assertion_jti_use(s, env->w, c->client_id, jti, exp, env->now);
	if (rc == TS_CONFLICT) {
		rc = TS_INVALID_CLIENT;
		*why = "the assertion's jti was used before (a replay)";
		goto out;
	}
	if (rc != TS_OK) {
		*why = "the jti could not be recorded";
		goto out;
	}
	*out = c;
	c = NULL;
	*why = NULL;
out:
	json_decref(header);
	json_decref(payload);
	json_decref(claims);
	store_client_free(c);
	return rc;
}
