/* pkce.h - Proof Key for Code Exchange (RFC 7636), S256 only. */
#ifndef TESSERA_PKCE_H
#define TESSERA_PKCE_H

#include "err.h"

/* 1 when v is a code_verifier of RFC 7636 §4.1: 43 to 128 characters from
 * [A-Z] [a-z] [0-9] "-" "." "_" "~", else 0 (NULL too). */
int pkce_verifier_valid(const char *v);

/* 1 when c can be an S256 code_challenge: BASE64URL(SHA256(verifier)) is exactly 43
 * characters of the base64url alphabet (and its last one carries no stray bits), else 0. */
int pkce_challenge_valid(const char *c);

/* TS_OK when verifier is valid and BASE64URL(SHA256(ASCII(verifier))) equals challenge,
 * compared in constant time; TS_INVALID_GRANT otherwise (a missing or malformed verifier too). */
ts_err pkce_check(const char *challenge, const char *verifier);

#endif
