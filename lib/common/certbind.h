/* certbind.h - certificate-bound access tokens (RFC 8705 §3): the x5t#S256 thumbprint of a
 * client certificate, and whether a token's cnf claim lets it be used over a connection with a
 * given certificate. Shared by the daemon (/userinfo, /scim/v2, refresh tokens) and the
 * mosquitto plugin (the broker enforces the binding). */
#ifndef TESSERA_CERTBIND_H
#define TESSERA_CERTBIND_H

#include <stddef.h>
#include <jansson.h>

/* The length of an x5t#S256 value: base64url of 32 bytes, no padding (43 characters). */
#define CERTBIND_X5T_LEN 43

/* The x5t#S256 of the DER certificate der (len bytes): base64url (no padding) of its SHA-256,
 * into out (CERTBIND_X5T_LEN + 1 bytes, NUL-terminated). */
void certbind_x5t(const unsigned char *der, size_t len, char out[CERTBIND_X5T_LEN + 1]);

/* The cnf.x5t#S256 of a token's claims, or NULL when the token is not bound to a certificate
 * (no cnf, or a cnf without x5t#S256). Points into claims. */
const char *certbind_claim(const json_t *claims);

/* Whether a token with these claims may be used over a connection whose client certificate has
 * the thumbprint x5t (NULL: the connection has no client certificate): 1 when the token is not
 * bound to a certificate, or when it is bound to exactly this one (compared in constant time);
 * 0 otherwise, a bound token over a connection without a certificate included, and a cnf whose
 * x5t#S256 is not a string. */
int certbind_ok(const json_t *claims, const char *x5t);

#endif
