/* scim_filter_print.c - the canonical text of a parsed SCIM filter (scimf_print). */
#include "scim_filter_lex.h"

#include <stdlib.h>
#include "jbuf.h"

static void put(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

static void print_attr(struct jbuf *b, const struct scimf_attr *a)
{
	if (a->urn_lc) {
		put(b, a->urn_lc);
		put(b, ":");
	}
	put(b, a->name_lc ? a->name_lc : "");
	if (a->sub_lc) {
		put(b, ".");
		put(b, a->sub_lc);
	}
}

static void print_node(struct jbuf *b, const struct scimf_node *n)
{
	size_t i;

	switch (n->kind) {
	case SCIMF_CMP:
		print_attr(b, &n->attr);
		put(b, " ");
		put(b, scimf_op_names[n->op]);
		put(b, " ");
		switch (n->value.type) {
		case SCIMF_V_STRING: jbuf_str(b, n->value.str); break;
		case SCIMF_V_NUMBER: put(b, n->value.str); break;
		case SCIMF_V_TRUE: put(b, "true"); break;
		case SCIMF_V_FALSE: put(b, "false"); break;
		case SCIMF_V_NULL: put(b, "null"); break;
		}
		break;
	case SCIMF_PR:
		print_attr(b, &n->attr);
		put(b, " pr");
		break;
	case SCIMF_AND:
	case SCIMF_OR:
		put(b, "(");
		for (i = 0; i < n->nkids; i++) {
			if (i)
				put(b, n->kind == SCIMF_AND ? " and " : " or ");
			print_node(b, n->kids[i]);
		}
		put(b, ")");
		break;
	case SCIMF_NOT: {
		int paren = n->kids[0]->kind != SCIMF_AND && n->kids[0]->kind != SCIMF_OR;

		put(b, paren ? "not (" : "not ");
		print_node(b, n->kids[0]);
		if (paren)
			put(b, ")");
		break;
	}
	case SCIMF_VALUEPATH:
		print_attr(b, &n->attr);
		put(b, "[");
		print_node(b, n->kids[0]);
		put(b, "]");
		break;
	}
}

char *scimf_print(const struct scimf_node *n)
{
	struct jbuf b = {0};

	if (!n)
		return NULL;
	print_node(&b, n);
	return jbuf_take(&b, NULL);
}
