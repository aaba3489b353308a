/* fuzz_basic.c - libFuzzer target for HTTP Basic client credentials (lib/form.h:
 * form_basic_auth, which client_authenticate uses; RFC 6749 §2.3.1 and RFC 7617). The input is
 * the Authorization header value.
 * Properties checked on every input (fuzz_fail aborts when one breaks):
 * - the answer is TS_NOT_FOUND exactly when the value does not start with the scheme "Basic"
 *   (any case) and a space or tab; otherwise TS_OK or TS_INVALID_CLIENT;
 * - on TS_OK the id is non-empty, id and secret are valid UTF-8, and writing them back
 *   ("Basic " + base64(urlencode(id) ":" urlencode(secret))) parses to the same two strings;
 * - on failure both out-parameters are NULL. */
#include <strings.h>
#include "form.h"
#include "secret.h"
#include "fuzz.h"

/* Standard base64 with padding of n bytes into out (4 * ((n + 2) / 3) + 1 bytes). */
static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = tab[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		*out++ = tab[in[i + 2] & 63];
	}
	if (n - i == 1) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = tab[(in[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

/* s %-encoded (every byte but unreserved ones) appended at out; returns the new end. */
static char *urlenc(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; (c = (unsigned char)*s); s++) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

static void check_round_trip(const char *id, const char *secret, const char *in)
{
	size_t n = 3 * (strlen(id) + strlen(secret)) + 2;
	char *raw = malloc(n), *hdr = malloc(4 * (n / 3 + 1) + 8), *p, *id2, *secret2;
	ts_err e;

	if (!raw || !hdr)
		abort();
	p = urlenc(raw, id);
	*p++ = ':';
	p = urlenc(p, secret);
	memcpy(hdr, "Basic ", 6);
	b64((const unsigned char *)raw, (size_t)(p - raw), hdr + 6);
	e = form_basic_auth(hdr, &id2, &secret2);
	if (strlen(hdr + 6) > 1024) {
		if (e != TS_INVALID_CLIENT)
			fuzz_fail("credentials over 1024 bytes of base64 accepted", in, hdr);
	} else if (e != TS_OK) {
		fuzz_fail("the written-back credentials do not parse", in, hdr);
	} else if (strcmp(id, id2) || strcmp(secret, secret2)) {
		fuzz_fail("the written-back credentials parse to others", in, hdr);
	}
	free(id2);
	secret_free(secret2);
	free(raw);
	free(hdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_text(data, size), *id = (char *)1, *secret = (char *)1;
	int basic = strncasecmp(in, "Basic", 5) == 0 && (in[5] == ' ' || in[5] == '\t');
	ts_err e = form_basic_auth(in, &id, &secret);

	if (e == TS_NOT_FOUND ? basic : !basic)
		fuzz_fail("TS_NOT_FOUND is not exactly \"not the Basic scheme\"", in, err_name(e));
	if (e != TS_OK) {
		if (e != TS_NOT_FOUND && e != TS_INVALID_CLIENT)
			fuzz_fail("an error other than not_found / invalid_client", in, err_name(e));
		if (id || secret)
			fuzz_fail("a failure that leaves an id or secret", in, NULL);
	} else {
		if (!id || !secret || !*id)
			fuzz_fail("success without an id and a secret", in, NULL);
		if (!form_utf8_valid((const unsigned char *)id, strlen(id)) ||
		    !form_utf8_valid((const unsigned char *)secret, strlen(secret)))
			fuzz_fail("an id or secret that is not valid UTF-8", in, id);
		check_round_trip(id, secret, in);
	}
	free(id);
	secret_free(secret);
	free(in);
	return 0;
}
