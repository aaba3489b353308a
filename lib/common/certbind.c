/* certbind.c - x5t#S256 thumbprints and the cnf check of certificate-bound tokens. */
#include <string.h>
#include "b64.h"
#include "certbind.h"
#include "secret.h"

void certbind_x5t(const unsigned char *der, size_t len, char out[CERTBIND_X5T_LEN + 1])
{
	unsigned char h[32];

	secret_sha256(der, len, h);
	b64url_encode(h, sizeof h, out);
}

const char *certbind_claim(const json_t *claims)
{
	return json_string_value(json_object_get(json_object_get(claims, "cnf"), "x5t#S256"));
}

int certbind_ok(const json_t *claims, const char *x5t)
{
	const json_t *cnf = json_object_get(claims, "cnf");
	const json_t *v = json_object_get(cnf, "x5t#S256");
	const char *bound = json_string_value(v);

	if (!v)
		return 1;     /* not bound to a certificate (a DPoP key's jkt is not ours to judge) */
	if (!bound || !x5t || strlen(bound) != CERTBIND_X5T_LEN || strlen(x5t) != CERTBIND_X5T_LEN)
		return 0;
	return secret_equal(bound, x5t, CERTBIND_X5T_LEN);
}
