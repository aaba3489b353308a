/* router.c - one table for every endpoint: its path, its methods, what it needs before its
 * handler runs (a form, an authenticated client: clientauth.c and pages.c), and its handler.
 * The router reads the request's time, runs those, then the handler. */
#include <string.h>
#include "server.h"

static const struct route {
	enum route_id id;
	const char *path;
	const char *methods; /* as sent in Allow */
	enum route_form form;
	enum route_client client;
	void (*handler)(struct request *r);
} routes[] = {
	{R_TOKEN, "/token", "POST", FORM_BODY, CLIENT_AUTH, token_handle},
	{R_INTROSPECT, "/introspect", "POST", FORM_BODY, CLIENT_AUTH, introspect_handle},
	{R_REVOKE, "/revoke", "POST", FORM_BODY, CLIENT_AUTH, revoke_handle},
	{R_JWKS, "/jwks", "GET", FORM_NONE, CLIENT_NONE, jwks_handle},
	{R_OIDC_CONFIG, "/.well-known/openid-configuration", "GET", FORM_NONE, CLIENT_NONE,
	 discovery_handle},
	{R_OAUTH_CONFIG, "/.well-known/oauth-authorization-server", "GET", FORM_NONE, CLIENT_NONE,
	 discovery_handle},
	{R_HEALTHZ, "/healthz", "GET", FORM_NONE, CLIENT_NONE, healthz_handle},
	{R_METRICS, "/metrics", "GET", FORM_NONE, CLIENT_NONE, metrics_handle},
	{R_AUTHORIZE, "/authorize", "GET, POST", FORM_PAGE, CLIENT_NONE, authorize_handle},
	{R_LOGIN, "/login", "POST", FORM_PAGE, CLIENT_NONE, login_handle},
	{R_CONSENT, "/consent", "POST", FORM_PAGE, CLIENT_NONE, consent_handle},
	/* a bearer token, from the header or (POST) the body: userinfo.c reads it */
	{R_USERINFO, "/userinfo", "GET, POST", FORM_NONE, CLIENT_NONE, userinfo_handle},
	{R_STATIC, "/static/style.css", "GET", FORM_NONE, CLIENT_NONE, static_handle},
	{R_DEVICE_AUTHORIZATION, "/device_authorization", "POST", FORM_BODY, CLIENT_AUTH,
	 device_authorization_handle},
	{R_DEVICE, "/device", "GET, POST", FORM_PAGE, CLIENT_NONE, device_page_handle},
	{R_DEVICE_QR, "/device/qr", "GET", FORM_PAGE, CLIENT_NONE, device_qr_handle},
	{R_LOGOUT, "/logout", "GET, POST", FORM_PAGE, CLIENT_NONE, logout_handle},
	/* a GET has no form: HTTP Basic is its one client authentication */
	{R_CHANGES, "/changes", "GET", FORM_NONE, CLIENT_AUTH, changes_handle},
};

const char *router_path(enum route_id id)
{
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (routes[i].id == id)
			return routes[i].path;
	return id == R_SCIM ? "/scim/v2" : id == R_REGISTER ? "/register" : "other";
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

/* What the route needs before its handler: 0, or -1 after replying. */
static int prerequisites(struct request *r, const struct route *rt)
{
	if (rt->form == FORM_BODY && endpoint_body_form(r))
		return -1;
	if (rt->form == FORM_PAGE && page_request_form(r, &r->form))
		return -1;
	if (rt->client == CLIENT_AUTH && endpoint_client(r))
		return -1;
	return 0;
}

void router_dispatch(struct request *r)
{
	size_t i;

	r->now = http_now();
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(routes[i].path, r->url) != 0)
			continue;
		r->route = routes[i].id;
		r->allow = routes[i].methods;
		if (!method_allowed(routes[i].methods, r->method)) {
			reply_error(r, TS_METHOD_NOT_ALLOWED, "method not allowed");
			return;
		}
		if (prerequisites(r, &routes[i]) == 0)
			routes[i].handler(r);
		if (!r->status && !r->then) /* a handler that answered nothing, nor will */
			reply_error(r, TS_SERVER_ERROR, NULL);
		return;
	}
	/* dynamic registration: /register and /register/CLIENT_ID (register.c) */
	if (strncmp(r->url, "/register", 9) == 0 && (!r->url[9] || r->url[9] == '/')) {
		r->route = R_REGISTER;
		register_handle(r);
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
