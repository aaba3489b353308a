/* scim_filter_lex.h - what the SCIM filter parser's files share (private to lib/scim): the scan
 * state, character classes, and the tokens: attribute paths and JSON values
 * (scim_filter_lex.c). */
#ifndef TESSERA_SCIM_FILTER_LEX_H
#define TESSERA_SCIM_FILTER_LEX_H

#include <string.h>
#include <strings.h>
#include "scim_filter.h"

struct ps {
	const char *s;
	size_t pos;
	int depth;
	const char *why;
};

/* The comparison operators' names, indexed by enum scimf_op. */
extern const char *const scimf_op_names[9];

static inline int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int is_namechar(int c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '_'; }
static inline int is_ws(int c) { return c == ' ' || c == '\t'; }
static inline int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static inline char cur(const struct ps *p) { return p->s[p->pos]; }

static inline void skip_ws(struct ps *p)
{
	while (is_ws(cur(p)))
		p->pos++;
}

static inline ts_err fail(struct ps *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return TS_INVALID_REQUEST;
}

static inline ts_err oom(struct ps *p)
{
	p->why = "out of memory";
	return TS_SERVER_ERROR;
}

/* 1 if the text at p is the keyword kw (lower case), any case, not followed by a name char. */
static inline int at_kw(const struct ps *p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(p->s + p->pos, kw, n) != 0)
		return 0;
	return !is_namechar((unsigned char)p->s[p->pos + n]) && p->s[p->pos + n] != '.' &&
	       p->s[p->pos + n] != ':';
}

/* 1 if s[0..n) is an ATTRNAME. */
int scimf_valid_name(const char *s, size_t n);

/* Frees the parts of a and zeroes it. */
void scimf_attr_clear(struct scimf_attr *a);

/* *orig = s[0..n) as written, *lc = lower-cased (both malloc'd, the caller's even on failure). */
ts_err scimf_set_part(struct ps *p, char **orig, char **lc, const char *s, size_t n);

/* attrPath = [URI ":"] ATTRNAME *1subAttr at p, into a (cleared on failure). in_br: inside
 * "[...]", where only ATTRNAME is allowed. */
ts_err scimf_lex_attrpath(struct ps *p, int in_br, struct scimf_attr *a);

/* A compValue at p (JSON string, number, true, false or null), into v (v->str is the caller's). */
ts_err scimf_lex_value(struct ps *p, struct scimf_value *v);

#endif
