/* dpop.c - DPoP (RFC 9449) over HTTP: the request's DPoP header, the URL a proof must name,
 * the single use of its jti (a writer job, so that a replay is refused after a restart and on
 * every process sharing the database), server nonces, and the checks at /token and at the
 * resources (/userinfo, /scim/v2). The proof itself is lib/dpop.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server.h"

/* Seconds a server nonce lasts: the current one and the one before are accepted. */
#define DPOP_NONCE_PERIOD 300

struct dpop_headers {
	const char *value;
	int n;
};

static enum MHD_Result dpop_count(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	struct dpop_headers *h = cls;

	(void)kind;
	if (strcasecmp(key, "DPoP") == 0) {
		h->n++;
		h->value = value;
	}
	return MHD_YES;
}

/* The request's one DPoP header (RFC 9449 §4.3: not more than one): NULL when none; *n the
 * number of them. */
static const char *dpop_header(struct request *r, int *n)
{
	struct dpop_headers h = {NULL, 0};

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, dpop_count, &h);
	*n = h.n;
	return h.value;
}

/* The URL of this request as clients name it: the issuer (as configured, without a doubled
 * '/') and the path; malloc'd, NULL when out of memory. */
static char *request_htu(const struct request *r)
{
	const char *iss = r->srv->cfg.issuer;
	size_t n = strlen(iss);
	char *s;

	if (n && iss[n - 1] == '/')
		n--;
	return asprintf(&s, "%.*s%s", (int)n, iss, r->url) < 0 ? NULL : s;
}

/* The single use of a proof: its record, a writer job; TS_CONFLICT when it was used already. */
struct jti_job {
	struct dpop_proof p;
	int64_t now;
	void (*then)(struct request *r); /* at /token: what follows once it is recorded */
};

static ts_err jti_job(store *s, void *arg)
{
	struct jti_job *j = arg;

	return store_dpop_jti_use(s, j->p.replay, j->p.expires, j->now);
}

/* Checks proof against this request (access_token: the token it must hash in ath, or NULL):
 * TS_OK with *p; TS_INVALID_DPOP_PROOF or TS_USE_DPOP_NONCE with *why. With nonces configured,
 * r->dpop_nonce is set to the current one. Its single use is the caller's to record. */
static ts_err dpop_request_proof(struct request *r, const char *proof, const char *access_token,
                                 struct dpop_proof *p, const char **why)
{
	struct server *srv = r->srv;
	char *htu = request_htu(r);
	struct dpop_expect e = {r->method, htu, access_token, r->now, srv->cfg.dpop_proof_max_age,
	                        srv->cfg.dpop_nonce ? srv->dpop_nonce_key : NULL,
	                        DPOP_NONCE_PERIOD};
	ts_err rc;

	*why = NULL;
	if (!htu)
		return TS_SERVER_ERROR;
	if (srv->cfg.dpop_nonce)
		dpop_nonce(srv->dpop_nonce_key, r->now, DPOP_NONCE_PERIOD, r->dpop_nonce);
	rc = dpop_check(proof, &e, p, why);
	free(htu);
	return rc;
}

static const char used_already[] = "the DPoP proof was used already (its jti)";

/* At /token, once the proof's record committed (or failed). */
static void jti_recorded(struct request *r, ts_err rc, void *job)
{
	struct jti_job *j = job;

	if (rc == TS_CONFLICT) {
		reply_error(r, TS_INVALID_DPOP_PROOF, used_already);
		return;
	}
	if (rc != TS_OK) {
		reply_error(r, rc, NULL);
		return;
	}
	memcpy(r->dpop_jkt, j->p.jkt, sizeof r->dpop_jkt);
	j->then(r);
}

void dpop_token_request(struct request *r, const struct client *c,
                        void (*then)(struct request *r))
{
	struct jti_job *j;
	const char *proof, *why = NULL;
	int n;
	ts_err rc;

	r->dpop_jkt[0] = '\0';
	proof = dpop_header(r, &n);
	if (n > 1) {
		reply_error(r, TS_INVALID_DPOP_PROOF, "send one DPoP header");
		return;
	}
	if (!proof) {
		if (!c->dpop_bound)
			then(r);
		else
			reply_error(r, TS_INVALID_DPOP_PROOF, "this client's tokens are DPoP-bound: "
			            "send a DPoP proof");
		return;
	}
	j = calloc(1, sizeof *j);
	if (!j) {
		reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	rc = dpop_request_proof(r, proof, NULL, &j->p, &why);
	if (rc != TS_OK) {
		reply_error(r, rc, why);
		free(j);
		return;
	}
	j->now = r->now;
	j->then = then;
	/* the connection waits for the commit without holding a worker, so that many proofs
	 * share one (the group-committing writer) */
	http_write_then(r, jti_job, j, jti_recorded, free);
}

const char *dpop_auth_token(struct request *r, const char *h)
{
	size_t n;

	if (!h)
		return NULL;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		n = 7;
	} else if (strncasecmp(h, "DPoP ", 5) == 0) {
		n = 5;
		r->dpop = 1;
	} else {
		return NULL;
	}
	for (h += n; *h == ' '; h++)
		;
	return *h ? h : NULL;
}

/* A 401 whose DPoP challenge says error (invalid_dpop_proof, use_dpop_nonce, invalid_token). */
static int refuse(struct request *r, const char *error, const char *why)
{
	r->dpop = 1;
	r->dpop_error = error;
	reply_error(r, TS_INVALID_TOKEN, why);
	return -1;
}

int dpop_resource_check(struct request *r, const char *token, const json_t *claims)
{
	const char *jkt = json_string_value(json_object_get(json_object_get(claims, "cnf"), "jkt"));
	const char *proof, *why = NULL;
	struct dpop_proof p;
	int n;
	ts_err rc;

	if (!claims)
		return 0;
	if (!jkt) {
		/* RFC 9449 §7.2: the DPoP scheme is for bound tokens only */
		if (r->dpop)
			return refuse(r, "invalid_token", "the access token is not DPoP-bound: send it "
			              "as a Bearer token");
		return 0;
	}
	/* a bound token is never a bearer token (RFC 9449 §7.2) */
	if (!r->dpop)
		return refuse(r, "invalid_token", "the access token is DPoP-bound: send it with "
		              "Authorization: DPoP and a DPoP proof");
	proof = dpop_header(r, &n);
	if (n != 1)
		return refuse(r, "invalid_dpop_proof", n ? "send one DPoP header" :
		              "a DPoP proof is required with a DPoP-bound token");
	rc = dpop_request_proof(r, proof, token, &p, &why);
	if (rc == TS_OK && strcmp(p.jkt, jkt) != 0) {
		rc = TS_INVALID_DPOP_PROOF;
		why = "the DPoP proof is signed by another key than the token is bound to";
	}
	if (rc == TS_OK) {
		rc = http_write(r, jti_job, &(struct jti_job){.p = p, .now = r->now});
		if (rc == TS_CONFLICT) {
			rc = TS_INVALID_DPOP_PROOF;
			why = used_already;
		}
	}
	if (rc == TS_USE_DPOP_NONCE)
		return refuse(r, "use_dpop_nonce", why);
	if (rc == TS_INVALID_DPOP_PROOF)
		return refuse(r, "invalid_dpop_proof", why);
	if (rc != TS_OK) {
		reply_error(r, rc, NULL);
		return -1;
	}
	return 0;
}
