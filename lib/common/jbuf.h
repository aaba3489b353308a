/* jbuf.h - a growing text buffer for writing small JSON documents on hot paths, where building a
 * Jansson tree only to serialise it costs more than the rest of the request. Parsing stays with
 * Jansson. A failed allocation is remembered and reported by jbuf_take. */
#ifndef TESSERA_JBUF_H
#define TESSERA_JBUF_H

#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *p;
	size_t len, cap;
	int oom;
};

/* Appends n bytes as they are. */
void jbuf_raw(struct jbuf *b, const char *s, size_t n);

/* Appends s as a JSON string: quoted, with '"', '\\' and control characters escaped. s must be
 * valid UTF-8 (bytes >= 0x80 are copied). */
void jbuf_str(struct jbuf *b, const char *s);

/* Appends ,"key": (no comma before the first member: pass first = 1). */
void jbuf_key(struct jbuf *b, const char *key, int first);

void jbuf_int(struct jbuf *b, int64_t v);

/* One member, key and value: ,"key":"value" (value a JSON string, as jbuf_str), ,"key":123 and
 * ,"key":true / false; first = 1 leaves out the comma, as in jbuf_key. */
void jbuf_kv_str(struct jbuf *b, const char *key, const char *value, int first);
void jbuf_kv_int(struct jbuf *b, const char *key, int64_t v, int first);
void jbuf_kv_bool(struct jbuf *b, const char *key, int v, int first);

/* The NUL-terminated text (malloc'd, caller frees) and its length in *len (if not NULL); NULL
 * if any append failed for lack of memory. The buffer is empty afterwards. */
char *jbuf_take(struct jbuf *b, size_t *len);

#endif
