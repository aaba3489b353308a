/* scim_list.c - SCIM lists (RFC 7644 §3.4.2): GET on a resource type's endpoint and POST
 * .search, with filter, sortBy, sortOrder, startIndex, count, attributes and
 * excludedAttributes; filters and sortBy become SQL in lib/scim/scim_sql.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "form.h"
#include "jbuf.h"
#include "scim_res.h"
#include "scim_sql.h"
#include "scim.h"

#define DEFAULT_COUNT 100

struct list_params {
	const char *filter, *sort_by, *sort_order, *attributes, *excluded;
	int64_t start, count;
};

/* A page being listed: its resources as text in `texts` (comma-separated), parsed and projected
 * first when the request names attributes (the resources built never hold a returned:never
 * attribute, so without lists there is nothing to project). */
struct list_ctx {
	const struct scim_rtype *t;
	const struct list_params *p;
	const char *base;
	struct jbuf texts;
	size_t n;
	struct scim_error *e;
	ts_err rc;
};

/* Appends the resource text (taken) to the page. */
static int list_add(struct list_ctx *x, char *text)
{
	json_t *res;

	if (text && (x->p->attributes || x->p->excluded)) {
		res = json_loads(text, 0, NULL);
		free(text);
		text = NULL;
		x->rc = res ? scim_project(x->t, res, x->p->attributes, x->p->excluded, x->e) :
		        TS_SERVER_ERROR;
		if (!x->rc && !(text = json_dumps(res, JSON_COMPACT)))
			x->rc = TS_SERVER_ERROR;
		json_decref(res);
		if (x->rc)
			return 1;
	}
	if (!text) {
		x->rc = TS_SERVER_ERROR;
		return 1;
	}
	if (x->n++)
		jbuf_raw(&x->texts, ",", 1);
	jbuf_raw(&x->texts, text, strlen(text));
	free(text);
	return 0;
}

static int list_user(const struct user *u, void *arg)
{
	struct list_ctx *x = arg;

	return list_add(x, scim_user_text(u, x->base));
}

static int list_group(const struct group *g, void *arg)
{
	struct list_ctx *x = arg;

	return list_add(x, scim_group_text(g, x->base));
}

static int list_client(const struct client *c, void *arg)
{
	struct list_ctx *x = arg;

	return list_add(x, scim_client_text(c, x->base));
}

static int list_grant(const struct grant *g, void *arg)
{
	struct list_ctx *x = arg;

	return list_add(x, scim_grant_text(g, x->base));
}

/* An integer list parameter: absent -> dflt; not an integer -> -1 with e set. */
static int int_param(const char *v, int64_t dflt, int64_t *out, const char *name,
                     struct scim_error *e)
{
	char *end;
	long long n;

	*out = dflt;
	if (!v)
		return 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || strlen(v) > 18) {
		scim_error_set(e, SCIM_E_INVALID_VALUE, "%s must be an integer", name);
		return -1;
	}
	*out = n;
	return 0;
}

/* Runs the list query of p on type t and replies with the ListResponse. */
static void list_run(struct request *r, store *s, const struct scim_rtype *t,
                     const struct list_params *p)
{
	struct scim_error e = {0};
	struct scim_sql q = {0};
	struct scimf_node *filter = NULL;
	struct store_list sl = {0};
	struct list_ctx x = {t, p, NULL, {0}, 0, &e, TS_OK};
	char *order = NULL, *order_pg = NULL, *base = scim_base(r);
	const char *why = NULL;
	int64_t total = 0;
	ts_err rc = base ? TS_OK : TS_SERVER_ERROR;

	x.base = base;
	if (!rc && p->filter) {
		rc = scimf_parse(p->filter, &filter, &why);
		if (rc == TS_INVALID_REQUEST)
			scim_error_set(&e, SCIM_E_INVALID_FILTER, "%s", why ? why : "invalid filter");
	}
	if (!rc)
		rc = scim_sql_where(t, filter, &q, &e);
	if (!rc && p->sort_by)
		rc = scim_sql_order(t, p->sort_by, &order, &e);
	if (!rc && p->sort_by)
		rc = scim_sql_order_in(t, p->sort_by, 1, &order_pg, &e);
	if (!rc && p->sort_order && strcmp(p->sort_order, "ascending") != 0 &&
	    strcmp(p->sort_order, "descending") != 0)
		rc = scim_error_set(&e, SCIM_E_INVALID_VALUE,
		                    "sortOrder must be ascending or descending");
	if (!rc) {
		sl.where = q.where;
		sl.where_pg = q.where_pg;
		sl.binds = q.binds;
		sl.nbinds = q.nbinds;
		sl.order = order;
		sl.order_pg = order_pg;
		sl.descending = p->sort_order && strcmp(p->sort_order, "descending") == 0;
		sl.offset = p->start - 1;
		sl.limit = p->count;
		switch (t->id) {
		case SCIM_R_USER:
			rc = store_scim_users(s, &sl, &total, list_user, &x);
			break;
		case SCIM_R_GROUP:
			rc = store_scim_groups(s, &sl, &total, list_group, &x);
			break;
		case SCIM_R_CLIENT:
			rc = store_scim_clients(s, &sl, &total, list_client, &x);
			break;
		default:
			rc = store_scim_grants(s, &sl, &total, list_grant, &x);
		}
		if (x.rc)
			rc = x.rc;
	}
	if (rc) {
		scim_fail(r, rc, &e);
	} else {
		struct jbuf b = {0};
		char *text;
		size_t len;

		static const char head[] = "{\"schemas\":[\"" SCIM_LIST_RESPONSE "\"]";

		jbuf_raw(&b, head, sizeof head - 1);
		jbuf_kv_int(&b, "totalResults", total, 0);
		jbuf_kv_int(&b, "startIndex", p->start, 0);
		jbuf_kv_int(&b, "itemsPerPage", (int64_t)x.n, 0);
		jbuf_key(&b, "Resources", 0);
		jbuf_raw(&b, "[", 1);
		text = jbuf_take(&x.texts, &len);
		if (text)
			jbuf_raw(&b, text, len);
		else
			b.oom = 1;
		free(text);
		jbuf_raw(&b, "]}", 2);
		reply_scim_text(r, 200, &b);
	}
	free(jbuf_take(&x.texts, NULL));
	scimf_free(filter);
	scim_sql_free(&q);
	free(order);
	free(order_pg);
	free(base);
	scim_error_clear(&e);
}

/* startIndex below 1 counts as 1; count is clamped to 0 .. SCIM_MAX_RESULTS (RFC 7644 §3.4.2.4). */
static void clamp(struct list_params *p)
{
	if (p->start < 1)
		p->start = 1;
	if (p->count < 0)
		p->count = 0;
	if (p->count > SCIM_MAX_RESULTS)
		p->count = SCIM_MAX_RESULTS;
}

void scim_list_get(struct request *r, store *s, const struct scim_rtype *t)
{
	struct list_params p = {0};
	struct scim_error e = {0};
	struct form *f = NULL;

	if (scim_query_form(r, &f))
		return;
	p.filter = form_get(f, "filter");
	p.sort_by = form_get(f, "sortBy");
	p.sort_order = form_get(f, "sortOrder");
	p.attributes = form_get(f, "attributes");
	p.excluded = form_get(f, "excludedAttributes");
	if (int_param(form_get(f, "startIndex"), 1, &p.start, "startIndex", &e) ||
	    int_param(form_get(f, "count"), DEFAULT_COUNT, &p.count, "count", &e)) {
		scim_fail(r, TS_INVALID_REQUEST, &e);
	} else {
		clamp(&p);
		list_run(r, s, t, &p);
	}
	form_free(f);
}

/* A comma-separated list from a JSON array of strings (or a string), for attributes. */
static char *join_names(const json_t *v, int *bad)
{
	size_t i, len = 1;
	const json_t *el;
	char *out;

	if (!v)
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_array(v)) {
		*bad = 1;
		return NULL;
	}
	json_array_foreach(v, i, el) {
		if (!json_is_string(el)) {
			*bad = 1;
			return NULL;
		}
		len += json_string_length(el) + 1;
	}
	out = calloc(1, len);
	json_array_foreach(v, i, el) {
		if (out && i)
			strcat(out, ",");
		if (out)
			strcat(out, json_string_value(el));
	}
	return out;
}

/* POST /{Type}/.search (RFC 7644 §3.4.3). */
void scim_list_search(struct request *r, store *s, const struct scim_rtype *t)
{
	struct list_params p = {0};
	struct scim_error e = {0};
	json_t *body = scim_body(r), *v;
	char *attributes = NULL, *excluded = NULL;
	int bad = 0;

	if (!body)
		return;
	p.start = 1;
	p.count = DEFAULT_COUNT;
	p.filter = json_string_value(json_object_get(body, "filter"));
	p.sort_by = json_string_value(json_object_get(body, "sortBy"));
	p.sort_order = json_string_value(json_object_get(body, "sortOrder"));
	attributes = join_names(json_object_get(body, "attributes"), &bad);
	excluded = join_names(json_object_get(body, "excludedAttributes"), &bad);
	p.attributes = attributes;
	p.excluded = excluded;
	if ((v = json_object_get(body, "startIndex"))) {
		bad |= !json_is_integer(v);
		p.start = json_integer_value(v);
	}
	if ((v = json_object_get(body, "count"))) {
		bad |= !json_is_integer(v);
		p.count = json_integer_value(v);
	}
	if (!scim_has_schema(body, "urn:ietf:params:scim:api:messages:2.0:SearchRequest")) {
		scim_error_set(&e, SCIM_E_INVALID_SYNTAX, "schemas must hold the SearchRequest URN");
		scim_fail(r, TS_INVALID_REQUEST, &e);
	} else if (bad || (json_object_get(body, "filter") && !p.filter)) {
		scim_error_set(&e, SCIM_E_INVALID_VALUE, "a search parameter has the wrong type");
		scim_fail(r, TS_INVALID_REQUEST, &e);
	} else {
		clamp(&p);
		list_run(r, s, t, &p);
	}
	free(attributes);
	free(excluded);
	json_decref(body);
}
