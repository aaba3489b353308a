/* tls.h - the certificate and private key files of `serve --tls-cert/--tls-key`: read once,
 * checked (readable, PEM, an unencrypted key) so that a wrong file stops the daemon at start
 * with a clear reason, and handed to the HTTP layer as PEM text. No HTTP here. */
#ifndef TESSERA_TLS_H
#define TESSERA_TLS_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* The PEM texts, NUL-terminated, as the TLS library takes them. */
struct tls_pem {
	char *cert;      /* the certificate, then any intermediates (the chain) */
	char *key;       /* the private key: wipe it with tls_pem_wipe once it has been parsed */
	size_t key_len;
};

/* Reads cert_path and key_path into *out. The certificate file must hold one or more PEM
 * certificates (the server's first, then its chain), the key file an unencrypted PEM private key
 * (PKCS#8, EC or RSA). Whether the key matches the certificate is GnuTLS's check when the daemon
 * starts (the key is parsed only there). now (Unix seconds) is for the validity check.
 * On failure returns TS_INVALID_REQUEST (bad file) or TS_SERVER_ERROR (out of memory) with *why
 * (malloc'd, caller frees) naming the file and what is wrong, and *out empty. On success *why
 * is NULL, or a warning (malloc'd) when the certificate is expired or not yet valid. */
ts_err tls_pem_load(const char *cert_path, const char *key_path, int64_t now,
                    struct tls_pem *out, char **why);

/* Overwrites the key's bytes and frees both texts; *p is left empty. Safe on an empty one. */
void tls_pem_wipe(struct tls_pem *p);

#endif
