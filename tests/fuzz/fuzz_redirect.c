/* fuzz_redirect.c - libFuzzer target for redirect URIs (lib/client.h): the registration check
 * client_redirect_uri_valid and the matcher client_redirect_matches that /authorize uses.
 * The input is two lines: a registered URI and the one a request gives.
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - a URI accepted for registration (docs/security.md row 74) is 1 to 2047 bytes, each a
 *   printable ASCII character RFC 3986 allows (so no control, CR, LF, DEL, space or non-ASCII
 *   byte such as U+2028's), '%' only before two hex digits, no '#', begins with a scheme
 *   (a letter, then letters, digits, '+', '-', '.') and ':' with something after it, the scheme
 *   (any case) is none of javascript, vbscript, data, file, blob, about, and http(s) has "//"
 *   and a host; and client_redirect_uri_problem gives a reason exactly when it is refused;
 * - the matcher is reflexive and symmetric;
 * - URIs that match without being equal are both http loopback URIs (127.0.0.1 or [::1]) that,
 *   split the way a URL parser splits them (scheme, authority up to the first '/', '?' or '#',
 *   userinfo before '@', port after the last ':' of the host), have no userinfo, the same host,
 *   numeric ports and the same path and query: only the port may differ (RFC 8252 §7.3), so a
 *   request can never send the code to another host (docs/security.md row 10). */
#include <ctype.h>

#include "client.h"
#include "form.h"
#include "fuzz.h"

struct url {
	char scheme[16], host[64];
	const char *userinfo_end; /* NULL when there is no userinfo */
	const char *port, *port_end, *rest;
};

/* Splits u like a generic URL parser; 0 when it is not scheme://authority... */
static int split_url(const char *u, struct url *out)
{
	const char *sep = strstr(u, "://"), *auth, *end, *at, *h, *colon;
	size_t n;

	memset(out, 0, sizeof *out);
	if (!sep || (size_t)(sep - u) >= sizeof out->scheme)
		return 0;
	memcpy(out->scheme, u, (size_t)(sep - u));
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	for (at = NULL, h = auth; h < end; h++)
		if (*h == '@')
			at = h;
	h = at ? at + 1 : auth;
	out->userinfo_end = at;
	colon = NULL;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close && close + 1 < end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
	}
	n = (size_t)((colon ? colon : end) - h);
	if (n >= sizeof out->host)
		return 0;
	memcpy(out->host, h, n);
	out->port = colon ? colon + 1 : end;
	out->port_end = end;
	out->rest = end;
	return 1;
}

static int digits(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* The registration rules, written apart from lib/client.c: 1 when u may be registered. */
static int reference_valid(const char *u)
{
	static const char *const bad[] = {"javascript", "vbscript", "data", "file", "blob", "about"};
	size_t n = strlen(u), i, k;
	char scheme[16];

	if (n == 0 || n >= 2048)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)u[i];

		if (ch <= ' ' || ch >= 0x7f || ch == '#' || memchr("\"<>\\^`{|}", ch, 9))
			return 0;
		if (ch == '%' && !(isxdigit((unsigned char)u[i + 1]) && isxdigit((unsigned char)u[i + 2])))
			return 0;
	}
	if (!isalpha((unsigned char)u[0]))
		return 0;
	for (i = 1; isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'; i++)
		;
	if (u[i] != ':' || u[i + 1] == '\0')
		return 0;
	if (i < sizeof scheme) {
		for (k = 0; k < i; k++)
			scheme[k] = (char)tolower((unsigned char)u[k]);
		scheme[i] = '\0';
		for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
			if (strcmp(scheme, bad[k]) == 0)
				return 0;
		if ((strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		    (strncmp(u + i + 1, "//", 2) != 0 || !u[i + 3] || strchr("/?#@:", u[i + 3])))
			return 0;
	}
	return 1;
}

static void check_valid(const char *u, const char *in)
{
	int v = client_redirect_uri_valid(u);

	if (v != reference_valid(u))
		fuzz_fail(v ? "a redirect URI accepted for registration that breaks the rules" :
		              "a redirect URI refused that keeps the rules", in, u);
	if (v != (client_redirect_uri_problem(u) == NULL))
		fuzz_fail("client_redirect_uri_problem disagrees with client_redirect_uri_valid", in, u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *copy = fuzz_text(data, size), *part[2];
	struct url ru, gu;
	int m;

	fuzz_split(copy, part, 2);
	check_valid(part[0], in);
	check_valid(part[1], in);
	if (!client_redirect_matches(part[0], part[0]) || !client_redirect_matches(part[1], part[1]))
		fuzz_fail("a redirect URI does not match itself", in, NULL);
	m = client_redirect_matches(part[0], part[1]);
	if (m != client_redirect_matches(part[1], part[0]))
		fuzz_fail("the matcher is not symmetric", in, NULL);
	if (m && strcmp(part[0], part[1]) != 0) {
		if (!split_url(part[0], &ru) || !split_url(part[1], &gu))
			fuzz_fail("matching URIs that a URL parser cannot split", in, NULL);
		if (strcmp(ru.scheme, "http") || strcmp(gu.scheme, "http") ||
		    strcmp(ru.host, gu.host) ||
		    (strcmp(ru.host, "127.0.0.1") && strcmp(ru.host, "[::1]")))
			fuzz_fail("matching URIs that are not the same loopback host over http", in,
			          gu.host);
		if (ru.userinfo_end || gu.userinfo_end)
			fuzz_fail("matching URIs with userinfo", in, NULL);
		if (!digits(ru.port, ru.port_end) || !digits(gu.port, gu.port_end))
			fuzz_fail("matching URIs with a port that is not a number", in, NULL);
		if (strcmp(ru.rest, gu.rest))
			fuzz_fail("matching URIs with another path or query", in, gu.rest);
	}
	free(copy);
	free(in);
	return 0;
}
