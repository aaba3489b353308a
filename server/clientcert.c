/* clientcert.c - mutual TLS (RFC 8705) at the HTTP layer: asking clients for a certificate
 * (tls_client_certificates = request), reading the one a request's connection presented from its
 * GnuTLS session, client authentication with it (tls_client_auth, self_signed_tls_client_auth:
 * lib/client_cert.h), certificate-bound tokens (cnf.x5t#S256: which tokens are bound, and that a
 * bound token is used over a connection with its certificate), and what discovery says of it. */
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "certbind.h"
#include "client.h"
#include "client_cert.h"
#include "form.h"
#include "server.h"

void clientcert_request(struct server *srv, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;

	if (!srv->cfg.tls_client_certs || !srv->cfg.tls_cert)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	session = ci ? (gnutls_session_t)ci->tls_session : NULL;
	if (!session)
		return;
	/* asked for, not required: a client without one still reaches every endpoint (and the
	 * other client authentications). GnuTLS verifies nothing itself here: the chain is judged
	 * per client by client_cert.c. No list of acceptable CAs is sent, so that a device with a
	 * self-signed certificate sends it too. */
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
	gnutls_certificate_send_x509_rdn_sequence(session, 1);
}

/* The chain the connection of r presented (DER, pointing into GnuTLS's session): 0, or -1 when
 * none (plain http, not asked for, or the client sent none). */
static int peer_chain(struct request *r, struct cert_chain *chain)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *certs;
	unsigned n = 0, i;

	memset(chain, 0, sizeof *chain);
	if (!r->srv->cfg.tls_client_certs || !r->conn)
		return -1;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session ||
	    gnutls_certificate_type_get((gnutls_session_t)ci->tls_session) != GNUTLS_CRT_X509)
		return -1;
	certs = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (!certs || n == 0)
		return -1;
	for (i = 0; i < n && i < CLIENT_CERT_CHAIN_MAX; i++) {
		chain->der[i] = certs[i].data;
		chain->len[i] = certs[i].size;
	}
	chain->n = i;
	return 0;
}

const char *clientcert_x5t(struct request *r)
{
	struct cert_chain chain;

	if (!r->x5t_known) {
		r->x5t_known = 1;
		if (peer_chain(r, &chain) == 0)
			certbind_x5t(chain.der[0], chain.len[0], r->x5t);
	}
	return r->x5t[0] ? r->x5t : NULL;
}

/* 1 when the client authenticates with its certificate (RFC 8705 §2). */
static int cert_method(const struct client *c)
{
	return c->auth_method && (strcmp(c->auth_method, "tls_client_auth") == 0 ||
	                          strcmp(c->auth_method, "self_signed_tls_client_auth") == 0);
}

/* 1 when the access and refresh tokens of client c are bound to its certificate: it registered
 * cert_bound (RFC 8705 tls_client_certificate_bound_access_tokens), or it authenticates with
 * its certificate (§3: the certificate it proved it holds). */
static int tokens_bound(const struct client *c)
{
	return c->cert_bound || cert_method(c);
}

const char *clientcert_bind(struct request *r, const struct client *c)
{
	return c && tokens_bound(c) ? clientcert_x5t(r) : NULL;
}

int clientcert_token_request(struct request *r, const struct client *c)
{
	if (!tokens_bound(c) || clientcert_x5t(r))
		return 0;
	reply_error(r, TS_INVALID_REQUEST, "this client's tokens are bound to its TLS client "
	            "certificate (RFC 8705): connect with it");
	return -1;
}

int clientcert_token_ok(struct request *r, const json_t *claims)
{
	return certbind_ok(claims, certbind_claim(claims) ? clientcert_x5t(r) : NULL);
}

ts_err clientcert_client(struct request *r, store *s, struct client **out, char **id_out)
{
	const char *id = form_get(r->form, "client_id");
	struct cert_chain chain;
	struct client *c = NULL;
	ts_err rc;

	*out = NULL;
	/* a certificate authentication sends the client_id alone: no secret, no assertion, no
	 * Authorization header (RFC 8705 §2) */
	if (!id || !*id || form_get(r->form, "client_secret") ||
	    form_get(r->form, "client_assertion") ||
	    http_header(r, MHD_HTTP_HEADER_AUTHORIZATION))
		return TS_NOT_FOUND;
	rc = client_get(s, id, &c);
	if (rc == TS_NOT_FOUND || (rc == TS_OK && !cert_method(c))) {
		store_client_free(c);
		return TS_NOT_FOUND;   /* another method's: client_authenticate judges it */
	}
	if (rc != TS_OK)
		return rc;
	free(*id_out);
	*id_out = strdup(id);
	rc = TS_INVALID_CLIENT;
	if (c->active && peer_chain(r, &chain) == 0) {
		if (strcmp(c->auth_method, "tls_client_auth") == 0)
			rc = client_cert_tls_auth(r->srv->client_ca, &chain, r->now, c->tls_subject_dn,
			                          c->tls_san);
		else
			rc = client_cert_self_signed(&chain, c->jwks);
	}
	if (rc == TS_OK) {
		*out = c;
		return TS_OK;
	}
	store_client_free(c);
	return rc;
}

int clientcert_discovery(const struct config *cfg, json_t *d)
{
	static const char *const lists[] = {"token_endpoint_auth_methods_supported",
	                                    "introspection_endpoint_auth_methods_supported",
	                                    "revocation_endpoint_auth_methods_supported"};
	json_t *methods;
	size_t i;

	if (!cfg->tls_client_certs || !cfg->tls_cert)
		return 0;
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		methods = json_object_get(d, lists[i]);
		/* tls_client_auth needs the CA its chains verify to */
		if ((cfg->tls_client_ca &&
		     json_array_append_new(methods, json_string("tls_client_auth"))) ||
		    json_array_append_new(methods, json_string("self_signed_tls_client_auth")))
			return -1;
	}
	return json_object_set_new(d, "tls_client_certificate_bound_access_tokens", json_true());
}
