/* jbuf.c - JSON text writer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jbuf.h"

static int grow(struct jbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 512;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
	if (grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void jbuf_str(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	jbuf_raw(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jbuf_raw(b, run, (size_t)(s - run));
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			jbuf_raw(b, esc, 2);
		} else {
			jbuf_raw(b, esc, 6);
		}
		run = s + 1;
	}
	jbuf_raw(b, run, (size_t)(s - run));
	jbuf_raw(b, "\"", 1);
}

void jbuf_key(struct jbuf *b, const char *key, int first)
{
	if (!first)
		jbuf_raw(b, ",", 1);
	jbuf_str(b, key);
	jbuf_raw(b, ":", 1);
}

void jbuf_int(struct jbuf *b, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%" PRId64, v);

	jbuf_raw(b, num, (size_t)n);
}

void jbuf_kv_str(struct jbuf *b, const char *key, const char *value, int first)
{
	jbuf_key(b, key, first);
	jbuf_str(b, value);
}

void jbuf_kv_int(struct jbuf *b, const char *key, int64_t v, int first)
{
	jbuf_key(b, key, first);
	jbuf_int(b, v);
}

void jbuf_kv_bool(struct jbuf *b, const char *key, int v, int first)
{
	jbuf_key(b, key, first);
	if (v)
		jbuf_raw(b, "true", 4);
	else
		jbuf_raw(b, "false", 5);
}

char *jbuf_take(struct jbuf *b, size_t *len)
{
	char *p = b->p;
	size_t n = b->len;

	if (b->oom) {
		free(p);
		p = NULL;
	} else if (!p) {
		p = strdup("");
	}
	if (len)
		*len = p ? n : 0;
	memset(b, 0, sizeof *b);
	return p;
}
