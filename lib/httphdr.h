/* httphdr.h - the request header values the pages and SCIM read beyond what libmicrohttpd
 * parses: a cookie in a Cookie header (RFC 6265 §4.2, §5.4) and an entity tag in an If-Match or
 * If-None-Match list (RFC 9110 §13.1). Pure text functions, so they can be tested and fuzzed
 * without a daemon. */
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

#endif
