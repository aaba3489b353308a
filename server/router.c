/* router.c - {path, methods, handler}: one table for every endpoint. */
#include <string.h>
#include "server.h"

static const struct route {
	enum route_id id;
	const char *path;
	const char *methods; /* as sent in Allow */
	void (*handler)(struct request *r);
} routes[] = {
	{R_TOKEN, "/token", "POST", token_handle},
	{R_INTROSPECT, "/introspect", "POST", introspect_handle},
	{R_REVOKE, "/revoke", "POST", revoke_handle},
	{R_JWKS, "/jwks", "GET", jwks_handle},
	{R_OIDC_CONFIG, "/.well-known/openid-configuration", "GET", discovery_handle},
	{R_OAUTH_CONFIG, "/.well-known/oauth-authorization-server", "GET", discovery_handle},
	{R_HEALTHZ, "/healthz", "GET", healthz_handle},
	{R_METRICS, "/metrics", "GET", metrics_handle},
	{R_AUTHORIZE, "/authorize", "GET, POST", authorize_handle},
	{R_LOGIN, "/login", "POST", login_handle},
	{R_CONSENT, "/consent", "POST", consent_handle},
	{R_USERINFO, "/userinfo", "GET, POST", userinfo_handle},
	{R_STATIC, "/static/style.css", "GET", static_handle},
	{R_DEVICE_AUTHORIZATION, "/device_authorization", "POST", device_authorization_handle},
	{R_DEVICE, "/device", "GET, POST", device_page_handle},
	{R_DEVICE_QR, "/device/qr", "GET", device_qr_handle},
	{R_LOGOUT, "/logout", "GET, POST", logout_handle},
};

const char *router_path(enum route_id id)
{
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (routes[i].id == id)
			return routes[i].path;
	return id == R_SCIM ? "/scim/v2" : "other";
}

/* 1 if method is one of the comma-separated methods (HEAD goes with GET). */
static int method_allowed(const char *methods, const char *method)
{
	size_t ml = strlen(method);
	const char *p = methods;

	if (strcmp(method, "HEAD") == 0)
		method = "GET", ml = 3;
	while (*p) {
		size_t len = strcspn(p, ", ");

		if (len == ml && memcmp(p, method, ml) == 0)
			return 1;
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

void router_dispatch(struct request *r)
{
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, r->url) != 0)
			continue;
		r->route = routes[i].id;
		r->allow = routes[i].methods;
		if (!method_allowed(routes[i].methods, r->method)) {
			reply_error(r, TS_METHOD_NOT_ALLOWED, "method not allowed");
			return;
		}
		routes[i].handler(r);
		if (!r->status && !r->then) /* a handler that answered nothing, nor will */
			reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	/* the SCIM API is a tree of its own: /scim/v2 and everything under it */
	if (strncmp(r->url, "/scim/v2", 8) == 0 && (!r->url[8] || r->url[8] == '/')) {
		r->route = R_SCIM;
		scim_handle(r);
		if (!r->status && !r->then) /* a handler that answered nothing, nor will */
			reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	r->route = R_OTHER;
	reply_error(r, TS_NOT_FOUND, NULL);
}
