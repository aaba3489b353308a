/* httphdr.h - the request header values the pages and SCIM read beyond what libmicrohttpd
 * parses: a cookie in a Cookie header (RFC 6265 §4.2, §5.4), an entity tag in an If-Match or
 * If-None-Match list (RFC 9110 §13.1), and the framing of a request's body (RFC 9112 §6). Pure
 * text functions, so they can be tested and fuzzed without a daemon. */
#ifndef TESSERA_HTTPHDR_H
#define TESSERA_HTTPHDR_H

#include <stddef.h>

/* The value of the first cookie called name (compared exactly, case-sensitive) in the Cookie
 * header value `header` ("a=1; b=2"): a pointer into header with its length in *len, or NULL
 * when there is none (or header is NULL). Pairs are separated by ';', optional spaces and tabs
 * around names and values are ignored, a pair without '=' is skipped, and a value in double
 * quotes is given without them. Nothing is allocated. */
const char *httphdr_cookie(const char *header, const char *name, size_t *len);

/* 1 when the If-Match / If-None-Match header value lists version (an entity tag such as
 * W/"3694e05e"), else 0; NULL header is 0. The list is "*" or comma-separated entity tags
 * [W/]"opaque"; tags compare weakly (RFC 9110 §8.8.3.2: W/"x" and "x" are the same), and "*"
 * lists everything. A malformed element is skipped: it lists nothing; a quote that is never
 * closed ends the list. */
int httphdr_etag_listed(const char *header, const char *version);

/* The framing of a request's body, checked field by field: libmicrohttpd 0.9.75 reads the first
 * Content-Length or Transfer-Encoding field and ignores the rest, so a request that a proxy in
 * front could frame differently must be refused before its body is read (request smuggling).
 * Start from all zeros, pass every header field to httphdr_framing_field, then ask
 * httphdr_framing_check. */
struct httphdr_framing {
	const char *why;        /* the first problem seen (a static string), or NULL */
	int cl, te;             /* Content-Length and Transfer-Encoding fields seen */
	const char *cl_first;   /* the first Content-Length value (not copied) */
};

/* Looks at one header field as libmicrohttpd gives it (the name as sent before the colon; the
 * value without its leading whitespace). Refused: a name that is not an RFC 9110 token (this
 * catches "Transfer-Encoding :", whose name keeps the space), a value holding a control
 * character other than HTAB (a bare CR), a Content-Length that is not digits or differs from an
 * earlier one (RFC 9110 §8.6), a Transfer-Encoding other than exactly one "chunked" field
 * (RFC 9112 §6.1: chunked must be the final coding, and no other coding is supported here). */
void httphdr_framing_field(struct httphdr_framing *f, const char *name, const char *value);

/* NULL when the request's framing is unambiguous, else why not (a static string). http10: the
 * request is HTTP/1.0, where Transfer-Encoding does not exist (RFC 9112 §6.1). A request with
 * both Content-Length and Transfer-Encoding is refused (RFC 9112 §6.3 lets a server do so). */
const char *httphdr_framing_check(const struct httphdr_framing *f, int http10);

#endif
