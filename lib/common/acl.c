/* acl.c - a token's MQTT topic rights: two lists of filters, copied into one block. */
#include <stdlib.h>
#include <string.h>
#include "acl.h"
#include "scope.h"

struct acl {
	char **pub, **sub;   /* NULL-terminated; the strings live in text */
	char *text;
};

void acl_free(struct acl *a)
{
	if (!a)
		return;
	free(a->pub);
	free(a->sub);
	free(a->text);
	free(a);
}

ts_err acl_parse(const char *scope, struct acl **out)
{
	struct acl *a = calloc(1, sizeof *a);
	size_t n = 0, np = 0, ns = 0;
	char *p, *tok;

	*out = NULL;
	if (!a || !(a->text = strdup(scope)))
		goto oom;
	for (p = a->text; *p; p++)
		n += *p == ' ';
	a->pub = calloc(n + 2, sizeof *a->pub);
	a->sub = calloc(n + 2, sizeof *a->sub);
	if (!a->pub || !a->sub)
		goto oom;
	for (tok = strtok_r(a->text, " ", &p); tok; tok = strtok_r(NULL, " ", &p)) {
		const char *filter;
		enum scope_action act;

		if (!scope_token_valid(tok))
			continue;
		act = scope_token_parse(tok, &filter);
		if (act & SCOPE_PUB)
			a->pub[np++] = (char *)filter;
		if (act & SCOPE_SUB)
			a->sub[ns++] = (char *)filter;
	}
	*out = a;
	return TS_OK;
oom:
	acl_free(a);
	return TS_SERVER_ERROR;
}

int acl_may_publish(const struct acl *a, const char *topic)
{
	char *const *f;

	for (f = a->pub; *f; f++)
		if (scope_topic_matches(*f, topic))
			return 1;
	return 0;
}

int acl_may_subscribe(const struct acl *a, const char *filter)
{
	char *const *f;

	if (!filter || !*filter)
		return 0;
	for (f = a->sub; *f; f++)
		if (scope_filter_covers(*f, filter))
			return 1;
	return 0;
}

int acl_may_receive(const struct acl *a, const char *topic)
{
	char *const *f;

	for (f = a->sub; *f; f++)
		if (scope_topic_matches(*f, topic))
			return 1;
	return 0;
}
