/* pkce.c - Proof Key for Code Exchange (RFC 7636), S256 only.
 *
 * The "plain" method is not supported: it protects nothing against an attacker who can read the
 * authorization request. Every input is checked for syntax before any hashing, so a malformed
 * verifier or challenge is TS_INVALID_GRANT and never reaches the comparison. */
#include <string.h>
#include <openssl/sha.h>

#include "b64.h"
#include "pkce.h"
#include "secret.h"

#define VERIFIER_MIN 43
#define VERIFIER_MAX 128
#define CHALLENGE_LEN 43 /* BASE64URL of 32 bytes, no padding */

/* 1 when c is an "unreserved" character of RFC 3986 §2.3, the verifier alphabet. */
static int pkce_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int pkce_verifier_valid(const char *v)
{
	size_t n;

	if (!v)
		return 0;
	for (n = 0; v[n]; n++) {
		if (n >= VERIFIER_MAX || !pkce_unreserved((unsigned char)v[n]))
			return 0;
	}
	return n >= VERIFIER_MIN;
}

int pkce_challenge_valid(const char *c)
{
	unsigned char raw[SHA256_DIGEST_LENGTH + 1];
	long n;

	if (!c || strnlen(c, CHALLENGE_LEN + 1) != CHALLENGE_LEN)
		return 0;
	/* The strict decoder rejects '+', '/', '=' and a last character with stray low bits. */
	n = b64url_decode(c, CHALLENGE_LEN, raw);
	return n == SHA256_DIGEST_LENGTH;
}

ts_err pkce_check(const char *challenge, const char *verifier)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char computed[B64URL_LEN(SHA256_DIGEST_LENGTH)];
	ts_err err = TS_INVALID_GRANT;

	if (!pkce_challenge_valid(challenge) || !pkce_verifier_valid(verifier))
		return TS_INVALID_GRANT;
	secret_sha256(verifier, strlen(verifier), digest);
	b64url_encode(digest, sizeof digest, computed);
	if (secret_equal(computed, challenge, CHALLENGE_LEN))
		err = TS_OK;
	secret_wipe(digest, sizeof digest);
	secret_wipe(computed, sizeof computed);
	return err;
}
