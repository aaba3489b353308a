/* scim_filter_parse.c - the SCIM 2.0 filter and PATCH path parser: a recursive-descent parser
 * over the grammar in scim_filter.h, on the tokens of scim_filter_lex.c; its recursion is
 * bounded by SCIMF_MAX_DEPTH, and and/or chains are kept n-ary so that the tree is no deeper than
 * the nesting of parentheses and brackets. Printing is scim_filter_print.c, in-memory matching
 * scim_filter_match.c. */
#include "scim_filter_lex.h"

#include <stdint.h>
#include <stdlib.h>

static struct scimf_node *node_new(enum scimf_kind kind)
{
	struct scimf_node *n = calloc(1, sizeof(*n));

	if (n)
		n->kind = kind;
	return n;
}

static int node_add(struct scimf_node *n, struct scimf_node *kid)
{
	struct scimf_node **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));

	if (!k)
		return 0;
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return 1;
}

static ts_err parse_or(struct ps *p, int in_br, struct scimf_node **out);

/* "(" FILTER ")" at p, on the "(". */
static ts_err parse_group(struct ps *p, int in_br, struct scimf_node **out)
{
	ts_err e;

	if (++p->depth > SCIMF_MAX_DEPTH)
		return fail(p, "filter nested too deeply");
	p->pos++;
	if ((e = parse_or(p, in_br, out)) != TS_OK)
		return e;
	skip_ws(p);
	if (cur(p) != ')') {
		scimf_free(*out);
		*out = NULL;
		return fail(p, "missing )");
	}
	p->pos++;
	p->depth--;
	return TS_OK;
}

/* attrExp / valuePath */
static ts_err parse_cmp(struct ps *p, struct scimf_attr *ap, struct scimf_node **out);
static ts_err parse_sub_cmp(struct ps *p, struct scimf_node **kid);

static ts_err parse_attrexp(struct ps *p, int in_br, struct scimf_node **out)
{
	struct scimf_node *n = NULL, *kid = NULL;
	struct scimf_attr a;
	ts_err e;

	if ((e = scimf_lex_attrpath(p, in_br, &a)) != TS_OK)
		return e;
	if (cur(p) == '[') {
		if (in_br) {
			e = fail(p, "nested value path");
			goto bad;
		}
		if (a.sub) {
			e = fail(p, "value path on a sub-attribute");
			goto bad;
		}
		if (++p->depth > SCIMF_MAX_DEPTH) {
			e = fail(p, "filter nested too deeply");
			goto bad;
		}
		p->pos++;
		if ((e = parse_or(p, 1, &kid)) != TS_OK)
			goto bad;
		skip_ws(p);
		if (cur(p) != ']') {
			e = fail(p, "missing ]");
			goto bad;
		}
		p->pos++;
		p->depth--;
		/* attr[filter].sub op value (as Entra ID looks users up by
		 * emails[type eq "work"].value eq "..."): attr[filter and sub op value] */
		if (cur(p) == '.' && (e = parse_sub_cmp(p, &kid)) != TS_OK)
			goto bad;
		if (!(n = node_new(SCIMF_VALUEPATH)) || !node_add(n, kid)) {
			e = oom(p);
			goto bad;
		}
		n->attr = a;
		*out = n;
		return TS_OK;
	}
	return parse_cmp(p, &a, out);
bad:
	scimf_attr_clear(&a);
	scimf_free(kid);
	if (n) { /* kid already freed above */
		free(n->kids);
		free(n);
	}
	return e;
}

/* The comparison after an attribute path a (taken: cleared on failure): " pr" or " op value". */
static ts_err parse_cmp(struct ps *p, struct scimf_attr *ap, struct scimf_node **out)
{
	struct scimf_node *n = NULL;
	struct scimf_attr a = *ap;
	const char *w;
	size_t wl, i;
	ts_err e;

	memset(ap, 0, sizeof *ap);
	if (!is_ws(cur(p))) {
		e = fail(p, cur(p) == '\0' ? "missing operator" : "bad attribute path");
		goto bad;
	}
	skip_ws(p);
	w = p->s + p->pos;
	for (wl = 0; is_alpha((unsigned char)w[wl]); wl++)
		;
	if (wl == 0) {
		e = fail(p, cur(p) == '\0' || cur(p) == ')' ? "missing operator" : "unknown operator");
		goto bad;
	}
	if (is_namechar((unsigned char)w[wl]) || w[wl] == '.' || w[wl] == ':') {
		e = fail(p, "unknown operator");
		goto bad;
	}
	if (wl == 2 && !strncasecmp(w, "pr", 2)) {
		size_t after;

		p->pos += 2;
		after = p->pos;
		skip_ws(p);
		if (cur(p) == '"' || cur(p) == '-' || is_digit((unsigned char)cur(p)) ||
		    at_kw(p, "true") || at_kw(p, "false") || at_kw(p, "null")) {
			e = fail(p, "pr takes no value");
			goto bad;
		}
		p->pos = after;
		if (!(n = node_new(SCIMF_PR))) {
			e = oom(p);
			goto bad;
		}
		n->attr = a;
		*out = n;
		return TS_OK;
	}
	for (i = 0; i < sizeof(scimf_op_names) / sizeof(scimf_op_names[0]); i++)
		if (wl == 2 && !strncasecmp(w, scimf_op_names[i], 2))
			break;
	if (i == sizeof(scimf_op_names) / sizeof(scimf_op_names[0])) {
		e = fail(p, "unknown operator");
		goto bad;
	}
	p->pos += 2;
	if (!is_ws(cur(p))) {
		e = fail(p, "missing value");
		goto bad;
	}
	skip_ws(p);
	if (!(n = node_new(SCIMF_CMP))) {
		e = oom(p);
		goto bad;
	}
	n->attr = a;
	memset(&a, 0, sizeof(a));
	n->op = (enum scimf_op)i;
	if ((e = scimf_lex_value(p, &n->value)) != TS_OK)
		goto bad;
	if (n->value.type != SCIMF_V_STRING && (n->op == SCIMF_CO || n->op == SCIMF_SW ||
						n->op == SCIMF_EW)) {
		e = fail(p, "co, sw and ew take a string");
		goto bad;
	}
	if (n->value.type >= SCIMF_V_TRUE && n->op != SCIMF_EQ && n->op != SCIMF_NE) {
		e = fail(p, "booleans and null take only eq and ne");
		goto bad;
	}
	*out = n;
	return TS_OK;
bad:
	scimf_attr_clear(&a);
	scimf_free(n);
	return e;
}

/* After "attr[filter]", at ".sub op value": *kid (the filter) becomes "filter and sub op value";
 * on failure *kid is left for the caller to free. */
static ts_err parse_sub_cmp(struct ps *p, struct scimf_node **kid)
{
	struct scimf_node *cmp = NULL, *and = NULL;
	struct scimf_attr a = {0};
	const char *s = p->s + ++p->pos;
	size_t n;
	ts_err e;

	for (n = 0; is_namechar((unsigned char)s[n]); n++)
		;
	if (!scimf_valid_name(s, n))
		return fail(p, "bad sub-attribute name");
	if ((e = scimf_set_part(p, &a.name, &a.name_lc, s, n)) != TS_OK) {
		scimf_attr_clear(&a);
		return e;
	}
	p->pos += n;
	if ((e = parse_cmp(p, &a, &cmp)) != TS_OK)
		return e;
	if (!(and = node_new(SCIMF_AND)) || !node_add(and, *kid) || !node_add(and, cmp)) {
		if (and && and->nkids == 1) /* *kid is in it: take it back */
			and->nkids = 0;
		scimf_free(and);
		scimf_free(cmp);
		return oom(p);
	}
	*kid = and;
	return TS_OK;
}

/* not "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath */
static ts_err parse_unary(struct ps *p, int in_br, struct scimf_node **out)
{
	struct scimf_node *n, *kid = NULL;
	ts_err e;

	*out = NULL;
	skip_ws(p);
	if (cur(p) == '(')
		return parse_group(p, in_br, out);
	if (at_kw(p, "not")) {
		size_t save = p->pos;

		p->pos += 3;
		skip_ws(p);
		if (cur(p) == '(') {
			if ((e = parse_group(p, in_br, &kid)) != TS_OK)
				return e;
			if (!(n = node_new(SCIMF_NOT)) || !node_add(n, kid)) {
				free(n);
				scimf_free(kid);
				return oom(p);
			}
			*out = n;
			return TS_OK;
		}
		p->pos = save; /* an attribute called "not" */
	}
	if (cur(p) == '\0' || cur(p) == ')' || cur(p) == ']')
		return fail(p, cur(p) == '\0' ? "missing expression" : "empty parentheses or expression");
	return parse_attrexp(p, in_br, out);
}

/* A chain of `sub` joined by keyword kw, as one n-ary node of kind. */
static ts_err parse_chain(struct ps *p, int in_br, struct scimf_node **out, const char *kw,
			  enum scimf_kind kind, ts_err (*sub)(struct ps *, int, struct scimf_node **))
{
	struct scimf_node *first = NULL, *n = NULL, *kid = NULL;
	ts_err e;

	*out = NULL;
	if ((e = sub(p, in_br, &first)) != TS_OK)
		return e;
	for (;;) {
		size_t save = p->pos;

		skip_ws(p);
		if (!at_kw(p, kw) || (p->pos == save && p->s[save - 1] != ')' && p->s[save - 1] != ']')) {
			p->pos = save;
			break;
		}
		p->pos += strlen(kw);
		if (!is_ws(cur(p)) && cur(p) != '(') {
			e = fail(p, "missing expression after and/or");
			goto bad;
		}
		if ((e = sub(p, in_br, &kid)) != TS_OK)
			goto bad;
		if (!n) {
			if (!(n = node_new(kind)) || !node_add(n, first)) {
				e = oom(p);
				goto bad;
			}
			first = NULL;
		}
		if (!node_add(n, kid)) {
			e = oom(p);
			goto bad;
		}
		kid = NULL;
	}
	*out = n ? n : first;
	return TS_OK;
bad:
	scimf_free(first);
	scimf_free(kid);
	scimf_free(n);
	return e;
}

static ts_err parse_and(struct ps *p, int in_br, struct scimf_node **out)
{
	return parse_chain(p, in_br, out, "and", SCIMF_AND, parse_unary);
}

static ts_err parse_or(struct ps *p, int in_br, struct scimf_node **out)
{
	return parse_chain(p, in_br, out, "or", SCIMF_OR, parse_and);
}

/* How deeply scimf_print nests parentheses and brackets for n: each and/or, value path, and not
 * of anything but an and/or (whose parentheses it shares) adds a level. It can exceed the nesting
 * of the text ("a pr or b pr and c pr" prints as "(a pr or (b pr and c pr))"); the parser
 * refuses such trees past SCIMF_MAX_DEPTH so that their canonical form parses again. The
 * recursion follows the tree, no deeper than a few nodes per level the parser allowed. */
static int print_depth(const struct scimf_node *n)
{
	int d = 0, k;
	size_t i;

	for (i = 0; i < n->nkids; i++)
		if ((k = print_depth(n->kids[i])) > d)
			d = k;
	if (n->kind == SCIMF_NOT)
		return n->kids[0]->kind == SCIMF_AND || n->kids[0]->kind == SCIMF_OR ? d : d + 1;
	return n->kind == SCIMF_AND || n->kind == SCIMF_OR || n->kind == SCIMF_VALUEPATH ? d + 1 : d;
}

static ts_err check_text(struct ps *p, const char *text)
{
	if (!text)
		return fail(p, "empty filter");
	if (strnlen(text, SCIMF_MAX_LEN + 1) > SCIMF_MAX_LEN)
		return fail(p, "filter too long");
	return TS_OK;
}

ts_err scimf_parse(const char *text, struct scimf_node **out, const char **why)
{
	struct ps p = {text, 0, 0, NULL};
	struct scimf_node *n = NULL;
	ts_err e;

	*out = NULL;
	if ((e = check_text(&p, text)) != TS_OK)
		goto done;
	skip_ws(&p);
	if (cur(&p) == '\0') {
		e = fail(&p, "empty filter");
		goto done;
	}
	if ((e = parse_or(&p, 0, &n)) != TS_OK)
		goto done;
	skip_ws(&p);
	if (cur(&p) != '\0') {
		e = fail(&p, cur(&p) == ')' ? "unbalanced )" : cur(&p) == ']' ? "unbalanced ]" :
			     "unexpected text after filter");
		scimf_free(n);
		goto done;
	}
	if (print_depth(n) > SCIMF_MAX_DEPTH) {
		e = fail(&p, "filter nested too deeply");
		scimf_free(n);
		goto done;
	}
	*out = n;
done:
	if (why)
		*why = e == TS_OK ? NULL : p.why;
	return e;
}

ts_err scimf_parse_path(const char *text, struct scimf_path **out, const char **why)
{
	struct ps p = {text, 0, 0, NULL};
	struct scimf_path *r = NULL;
	const char *s;
	size_t n;
	ts_err e;

	*out = NULL;
	if ((e = check_text(&p, text)) != TS_OK)
		goto done;
	if (text[0] == '\0') {
		e = fail(&p, "empty path");
		goto done;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		e = oom(&p);
		goto done;
	}
	if ((e = scimf_lex_attrpath(&p, 0, &r->attr)) != TS_OK)
		goto done;
	if (cur(&p) == '[') {
		if (r->attr.sub) {
			e = fail(&p, "value path on a sub-attribute");
			goto done;
		}
		p.depth = 1;
		p.pos++;
		if ((e = parse_or(&p, 1, &r->filter)) != TS_OK)
			goto done;
		if (1 + print_depth(r->filter) > SCIMF_MAX_DEPTH) {
			e = fail(&p, "filter nested too deeply");
			goto done;
		}
		skip_ws(&p);
		if (cur(&p) != ']') {
			e = fail(&p, "missing ]");
			goto done;
		}
		p.pos++;
		if (cur(&p) == '.') {
			s = p.s + ++p.pos;
			for (n = 0; is_namechar((unsigned char)s[n]); n++)
				;
			if (!scimf_valid_name(s, n)) {
				e = fail(&p, "bad sub-attribute name");
				goto done;
			}
			if ((e = scimf_set_part(&p, &r->attr.sub, &r->attr.sub_lc, s, n)) != TS_OK)
				goto done;
			p.pos += n;
		}
	}
	if (cur(&p) != '\0')
		e = fail(&p, cur(&p) == ']' ? "unbalanced ]" : "unexpected text in path");
done:
	if (e != TS_OK) {
		scimf_path_free(r);
		r = NULL;
	}
	*out = r;
	if (why)
		*why = e == TS_OK ? NULL : p.why;
	return e;
}

void scimf_free(struct scimf_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		scimf_free(n->kids[i]);
	free(n->kids);
	scimf_attr_clear(&n->attr);
	free(n->value.str);
	free(n);
}

void scimf_path_free(struct scimf_path *p)
{
	if (!p)
		return;
	scimf_attr_clear(&p->attr);
	scimf_free(p->filter);
	free(p);
}
