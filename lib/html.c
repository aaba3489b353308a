/* html.c - templates embedded from templates/ and a one-pass renderer.
 *
 * The renderer reads the template once from left to right: a substituted value is copied to the
 * output and never scanned again, so a value holding "{{x}}" shows as that text (escaped), and
 * nothing a user typed can pull in another variable. Only {{name}}, {{ name }} and {{{name}}}
 * with name in [A-Za-z0-9_]+ are tags; everything else is copied as it is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "templates.h"

/* A growing output string; oom is set once an allocation fails and makes every append a no-op. */
struct html_buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void html_buf_grow(struct html_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (more > SIZE_MAX - 1 - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap = cap > SIZE_MAX / 2 ? b->len + more + 1 : cap * 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void html_buf_add(struct html_buf *b, const char *s, size_t n)
{
	html_buf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The entity for c, or NULL when c stands for itself. */
static const char *html_entity(char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

static void html_buf_add_escaped(struct html_buf *b, const char *s)
{
	const char *run = s, *ent;

	for (; *s; s++) {
		ent = html_entity(*s);
		if (!ent)
			continue;
		html_buf_add(b, run, (size_t)(s - run));
		html_buf_add(b, ent, strlen(ent));
		run = s + 1;
	}
	html_buf_add(b, run, (size_t)(s - run));
}

/* Returns the finished string, or NULL (and frees the buffer) after an allocation failure. */
static char *html_buf_finish(struct html_buf *b)
{
	html_buf_grow(b, 0);
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	b->p[b->len] = '\0';
	return b->p;
}

static int html_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Parses a tag at p, which starts with `open` braces: spaces, a name, spaces, then `open`
 * closing braces. On success sets *name and *namelen and returns the length of the whole tag;
 * 0 when p holds no such tag. */
static size_t html_tag(const char *p, int open, const char **name, size_t *namelen)
{
	const char *q = p + open;
	int i;

	for (i = 0; i < open; i++) {
		if (p[i] != '{')
			return 0;
	}
	while (*q == ' ')
		q++;
	*name = q;
	while (html_name_char(*q))
		q++;
	*namelen = (size_t)(q - *name);
	if (*namelen == 0)
		return 0;
	while (*q == ' ')
		q++;
	for (i = 0; i < open; i++) {
		if (q[i] != '}')
			return 0;
	}
	return (size_t)(q + open - p);
}

/* The value of the var called name (namelen bytes); "" for a missing var or a NULL value. */
static const char *html_lookup(const struct html_var *vars, size_t n, const char *name,
			       size_t namelen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (vars[i].name && strncmp(vars[i].name, name, namelen) == 0 &&
		    vars[i].name[namelen] == '\0')
			return vars[i].value ? vars[i].value : "";
	}
	return "";
}

const char *html_template(const char *name)
{
	int i;

	if (!name)
		return NULL;
	for (i = 0; i < templates_count; i++) {
		if (strcmp(templates_names[i], name) == 0)
			return templates[i];
	}
	return NULL;
}

char *html_render(const char *tmpl, const struct html_var *vars, size_t n)
{
	struct html_buf b = { NULL, 0, 0, 0 };
	const char *p, *run, *name, *val;
	size_t taglen, namelen;

	if (!tmpl)
		tmpl = "";
	if (!vars)
		n = 0;
	for (p = run = tmpl; *p;) {
		if (p[0] != '{' || p[1] != '{') {
			p++;
			continue;
		}
		taglen = html_tag(p, 3, &name, &namelen);
		if (taglen) {
			val = html_lookup(vars, n, name, namelen);
			html_buf_add(&b, run, (size_t)(p - run));
			html_buf_add(&b, val, strlen(val));
		} else if ((taglen = html_tag(p, 2, &name, &namelen)) != 0) {
			val = html_lookup(vars, n, name, namelen);
			html_buf_add(&b, run, (size_t)(p - run));
			html_buf_add_escaped(&b, val);
		} else {
			/* Not a tag here: copy this brace and look again from the next one. */
			p++;
			continue;
		}
		p += taglen;
		run = p;
	}
	html_buf_add(&b, run, (size_t)(p - run));
	return html_buf_finish(&b);
}

char *html_escape(const char *s)
{
	struct html_buf b = { NULL, 0, 0, 0 };

	html_buf_add_escaped(&b, s ? s : "");
	return html_buf_finish(&b);
}
