/* password.h - user passwords, Argon2id through libargon2; never a fast hash. */
#ifndef TESSERA_PASSWORD_H
#define TESSERA_PASSWORD_H

#include "err.h"

/* Hashes pw with a fresh random salt into an encoded "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
 * string; *encoded is malloc'd (caller frees). TS_INVALID_REQUEST for an empty password or one
 * over 1024 bytes; TS_SERVER_ERROR otherwise. */
ts_err password_hash(const char *pw, char **encoded);

/* TS_OK when pw matches the encoded hash (constant time), TS_ACCESS_DENIED when it does not or the
 * encoding is not a valid Argon2id string. */
ts_err password_verify(const char *encoded, const char *pw);

#endif
