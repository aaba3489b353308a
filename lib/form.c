/* form.c - urlencoded forms and Basic credentials. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "b64.h"
#include "form.h"
#include "secret.h"

int form_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned cp, need, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of s into a new string; NULL (and *why) when malformed or out of memory. */
static char *urldecode(const char *s, size_t n, const char **why)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (!out) {
		*why = NULL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = n - i >= 3 ? hexval(s[i + 1]) : -1;
			int lo = n - i >= 3 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				*why = "malformed percent-encoding";
				goto fail;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			*why = "NUL byte in a parameter";
			goto fail;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	if (!form_utf8_valid((const unsigned char *)out, o)) {
		*why = "parameter is not valid UTF-8";
		goto fail;
	}
	return out;
fail:
	secret_wipe(out, o);
	free(out);
	return NULL;
}

static ts_err parse(const char *body, size_t len, struct form **out, const char **why,
                    int repeats_ok)
{
	struct form *f = calloc(1, sizeof *f);
	const char *p = body, *end = body + len, *dummy;
	ts_err rc = TS_INVALID_REQUEST;

	if (!why)
		why = &dummy;
	*why = NULL;
	*out = NULL;
	if (!f)
		return TS_SERVER_ERROR;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *seg_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(seg_end - p));
		char *key, *val;
		size_t i;

		if (seg_end == p) {
			p = seg_end + 1;
			continue;
		}
		if (f->n == FORM_MAX_PAIRS) {
			*why = "too many parameters";
			goto fail;
		}
		key = urldecode(p, (size_t)((eq ? eq : seg_end) - p), why);
		if (!key)
			goto fail_why;
		val = eq ? urldecode(eq + 1, (size_t)(seg_end - eq - 1), why) : strdup("");
		if (!val) {
			free(key);
			goto fail_why;
		}
		for (i = 0; i < f->n && strcmp(f->p[i].key, key) != 0; i++)
			;
		if (i < f->n) {
			free(key);
			secret_free(val);
			if (!repeats_ok) {
				*why = "a parameter is repeated";
				goto fail;
			}
			if (!f->repeated)
				f->repeated = f->p[i].key;
			p = seg_end + 1;
			continue;
		}
		f->p[f->n].key = key;
		f->p[f->n].val = val;
		f->n++;
		p = seg_end + 1;
	}
	*out = f;
	return TS_OK;
fail_why:
	if (!*why)
		rc = TS_SERVER_ERROR;
fail:
	form_free(f);
	return rc;
}

ts_err form_parse(const char *body, size_t len, struct form **out, const char **why)
{
	return parse(body, len, out, why, 0);
}

ts_err form_parse_repeats(const char *body, size_t len, struct form **out, const char **why)
{
	return parse(body, len, out, why, 1);
}

const char *form_get(const struct form *f, const char *key)
{
	size_t i;

	for (i = 0; f && i < f->n; i++)
		if (strcmp(f->p[i].key, key) == 0)
			return f->p[i].val;
	return NULL;
}

void form_free(struct form *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->p[i].key);
		secret_free(f->p[i].val);
	}
	free(f);
}

ts_err form_basic_auth(const char *header, char **id, char **secret)
{
	unsigned char buf[1024 * 3 / 4 + 4];
	const char *b64, *why;
	size_t n;
	long dn;
	unsigned char *colon;
	ts_err rc = TS_INVALID_CLIENT;

	*id = *secret = NULL;
	if (!header || strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\t'))
		return TS_NOT_FOUND;
	for (b64 = header + 5; *b64 == ' ' || *b64 == '\t'; b64++)
		;
	n = strlen(b64);
	while (n && (b64[n - 1] == ' ' || b64[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 1024)
		return TS_INVALID_CLIENT;
	dn = b64_decode(b64, n, buf);
	if (dn <= 0)
		goto out;
	colon = memchr(buf, ':', (size_t)dn);
	if (!colon || colon == buf)
		goto out;
	*id = urldecode((const char *)buf, (size_t)(colon - buf), &why);
	*secret = urldecode((const char *)colon + 1, (size_t)(buf + dn - colon - 1), &why);
	if (!*id || !*secret || !**id) {
		free(*id);
		secret_free(*secret);
		*id = *secret = NULL;
		goto out;
	}
	rc = TS_OK;
out:
	secret_wipe(buf, sizeof buf);
	return rc;
}
