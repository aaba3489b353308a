/* html.h - the HTML pages: templates compiled into the binary from templates/, filled with
 * values that are always HTML-escaped. */
#ifndef TESSERA_HTML_H
#define TESSERA_HTML_H

#include <stddef.h>

struct html_var {
	const char *name;
	const char *value;   /* NULL renders as "" */
};

/* The text of templates/NAME (e.g. "login.html", "style.css"), or NULL when there is none.
 * Static storage. */
const char *html_template(const char *name);

/* Renders tmpl: {{name}} becomes the HTML-escaped value of the var called name, {{{name}}} its
 * value unescaped (only for fragments the caller built with html_escape). A name that is not
 * among vars renders as "" (so a typo shows, rather than leaking template syntax). Anything
 * else, including a lone "{{" without a closing "}}", is copied. Returns a malloc'd string
 * (caller frees), or NULL when out of memory. */
char *html_render(const char *tmpl, const struct html_var *vars, size_t n);

/* s with & < > " ' escaped as entities (and NUL-free input assumed), malloc'd; NULL on OOM. */
char *html_escape(const char *s);

#endif
