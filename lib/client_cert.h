/* client_cert.h - client authentication by TLS client certificate (RFC 8705 §2): the chain a
 * client presented, checked against the CA of the configuration and what the client registered
 * (tls_client_auth), or against the certificates and keys it registered
 * (self_signed_tls_client_auth). No TLS library and no HTTP here: the certificates come as DER,
 * as the TLS layer received them, and are read with OpenSSL. */
#ifndef TESSERA_CLIENT_CERT_H
#define TESSERA_CLIENT_CERT_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* The most certificates of a presented chain looked at (the client's, then intermediates). */
#define CLIENT_CERT_CHAIN_MAX 8

/* A chain as the client sent it: der[0] its own certificate, then the intermediates. */
struct cert_chain {
	const unsigned char *der[CLIENT_CERT_CHAIN_MAX];
	size_t len[CLIENT_CERT_CHAIN_MAX];
	size_t n;
};

/* The CA certificates tls_client_auth chains must verify to (`tls_client_ca`): immutable and
 * thread-safe once loaded. */
typedef struct client_ca client_ca;

/* Reads the PEM file of one or more CA certificates. TS_INVALID_REQUEST with *why (malloc'd)
 * naming the file when it cannot be read or holds no certificate; TS_SERVER_ERROR when out of
 * memory. */
ts_err client_ca_load(const char *path, client_ca **out, char **why);
void client_ca_free(client_ca *ca); /* NULL is fine */

/* tls_client_auth (RFC 8705 §2.1): TS_OK when the chain verifies to ca at time now (Unix
 * seconds; the client's certificate valid for TLS client use) and, when subject_dn is not NULL,
 * the subject DN of the client's certificate, as an RFC 4514 string, is subject_dn exactly; or,
 * when san is not NULL, the certificate holds that subjectAltName: "dns:NAME" (compared without
 * regard to case), "uri:URI", "ip:ADDRESS" (IPv4 or IPv6, compared as addresses) or
 * "email:ADDRESS". Exactly one of subject_dn and san is expected; with neither nothing matches.
 * TS_INVALID_CLIENT otherwise (no ca, no certificate, a broken one, a chain that does not
 * verify, another name). */
ts_err client_cert_tls_auth(const client_ca *ca, const struct cert_chain *chain, int64_t now,
                            const char *subject_dn, const char *san);

/* self_signed_tls_client_auth (RFC 8705 §2.2): TS_OK when the client's certificate (chain->der[0])
 * is one registered in the JWK Set jwks (JSON text): the first certificate of a key's x5c, byte
 * for byte, or a key whose public key is the certificate's (EC P-256, P-384, P-521; RSA;
 * Ed25519). Nothing else of the certificate is checked (it is self-signed: its key is what the
 * client registered). TS_INVALID_CLIENT otherwise (no jwks, a malformed one, no such key). */
ts_err client_cert_self_signed(const struct cert_chain *chain, const char *jwks);

/* The JWK Set registering the first certificate of pem (PEM text) for
 * self_signed_tls_client_auth: {"keys":[{"kty":..., "x5c":["<base64 DER>"]}]} (RFC 7517 §4.7),
 * malloc'd text; NULL with *why when pem holds no certificate or one whose key is not EC, RSA or
 * Ed25519 (or out of memory). */
char *client_cert_jwks(const char *pem, const char **why);

/* The subject DN of a DER certificate as RFC 4514 text, the form tls_client_auth compares
 * (`openssl x509 -noout -subject -nameopt RFC2253,-esc_msb` prints the same); malloc'd, NULL
 * for a broken certificate or when out of memory. */
char *client_cert_subject(const unsigned char *der, size_t len);

#endif
