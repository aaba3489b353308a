/* client_methods.c - how a client authenticates (schema 012): the methods, and the form of what
 * each one registers (keys, a key set's URL, a certificate's subject or SAN), checked alike by
 * the CLI and SCIM; the keys themselves by lib/client_jwks.c. Whether an assertion or a certificate then proves the client is the business
 * of the methods' own modules. */
#include <stdio.h>
#include <string.h>
#include "client.h"

static const char *const methods[] = {
	"client_secret_basic", "none", "private_key_jwt", "tls_client_auth",
	"self_signed_tls_client_auth",
};

int client_method_known(const char *m)
{
	size_t i;

	for (i = 0; m && i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(m, methods[i]) == 0)
			return 1;
	return 0;
}

const char *client_method_canonical(const char *m)
{
	return m && strcmp(m, "client_secret_post") == 0 ? "client_secret_basic" : m;
}

/* 1 when s is 1 to max-1 printable ASCII characters. */
static int printable(const char *s, size_t max)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* client_jwks_problem and client_jwks_uri_problem: lib/client_jwks.c (what a key set may hold
 * goes deeper than its form). */

const char *client_tls_san_problem(const char *v)
{
	static const char *const types[] = {"dns:", "uri:", "ip:", "email:"};
	size_t i;

	for (i = 0; printable(v, 1024) && i < sizeof types / sizeof types[0]; i++)
		if (strncmp(v, types[i], strlen(types[i])) == 0 && v[strlen(types[i])])
			return NULL;
	return "a certificate's SAN is dns:NAME, uri:URI, ip:ADDRESS or email:ADDRESS";
}

const char *client_method_problem(const struct client *c)
{
	const char *m = c->auth_method ? c->auth_method :
	                c->is_public ? "none" : "client_secret_basic";
	int keys = strcmp(m, "private_key_jwt") == 0 ||
	           strcmp(m, "self_signed_tls_client_auth") == 0;

	if (!client_method_known(m))
		return "unknown token endpoint authentication method";
	if ((strcmp(m, "none") == 0) != (c->is_public != 0))
		return "a client is public exactly when its authentication method is none";
	if (keys && !c->jwks == !c->jwks_uri)
		return "this authentication method needs the client's keys: jwks or jwks_uri, not both";
	if (!keys && (c->jwks || c->jwks_uri))
		return "jwks and jwks_uri go with private_key_jwt or self_signed_tls_client_auth";
	if (strcmp(m, "tls_client_auth") == 0 ? !c->tls_subject_dn == !c->tls_san :
	    c->tls_subject_dn || c->tls_san)
		return "tls_client_auth takes one of a subject DN or a SAN; other methods neither";
	if (c->jwks && client_jwks_problem(c->jwks))
		return client_jwks_problem(c->jwks);
	if (c->jwks_uri && client_jwks_uri_problem(c->jwks_uri))
		return client_jwks_uri_problem(c->jwks_uri);
	if (c->tls_san && client_tls_san_problem(c->tls_san))
		return client_tls_san_problem(c->tls_san);
	if (c->tls_subject_dn && !printable(c->tls_subject_dn, 1024))
		return "a subject DN is 1 to 1023 printable characters (RFC 4514)";
	return NULL;
}
