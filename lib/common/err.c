/* err.c - the table from ts_err to OAuth error string and HTTP status. */
#include <stdarg.h>
#include <stdio.h>
#include "err.h"

static const struct {
	const char *name;
	int status;
} table[TS_ERR_COUNT] = {
	[TS_OK] = {"ok", 200},
	[TS_INVALID_REQUEST] = {"invalid_request", 400},
	[TS_INVALID_CLIENT] = {"invalid_client", 401},
	[TS_INVALID_GRANT] = {"invalid_grant", 400},
	[TS_UNAUTHORIZED_CLIENT] = {"unauthorized_client", 400},
	[TS_UNSUPPORTED_GRANT_TYPE] = {"unsupported_grant_type", 400},
	[TS_INVALID_SCOPE] = {"invalid_scope", 400},
	[TS_ACCESS_DENIED] = {"access_denied", 400},
	[TS_FORBIDDEN] = {"access_denied", 403},
	[TS_UNSUPPORTED_RESPONSE_TYPE] = {"unsupported_response_type", 400},
	[TS_UNSUPPORTED_TOKEN_TYPE] = {"unsupported_token_type", 400},
	[TS_INVALID_TOKEN] = {"invalid_token", 401},
	[TS_INSUFFICIENT_SCOPE] = {"insufficient_scope", 403},
	[TS_AUTHORIZATION_PENDING] = {"authorization_pending", 400},
	[TS_SLOW_DOWN] = {"slow_down", 400},
	[TS_EXPIRED_TOKEN] = {"expired_token", 400},
	[TS_NOT_FOUND] = {"not_found", 404},
	[TS_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
	[TS_CONFLICT] = {"conflict", 409},
	[TS_PRECONDITION_FAILED] = {"precondition_failed", 412},
	[TS_TOO_LARGE] = {"request_too_large", 413},
	[TS_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415},
	[TS_TOO_MANY_REQUESTS] = {"too_many_requests", 429},
	[TS_UNAVAILABLE] = {"temporarily_unavailable", 503},
	[TS_SERVER_ERROR] = {"server_error", 500},
	[TS_INVALID_DPOP_PROOF] = {"invalid_dpop_proof", 400},
	[TS_USE_DPOP_NONCE] = {"use_dpop_nonce", 400},
	[TS_INVALID_CLIENT_METADATA] = {"invalid_client_metadata", 400},
	[TS_INVALID_REDIRECT_URI] = {"invalid_redirect_uri", 400},
};

const char *err_name(ts_err e)
{
	if ((unsigned)e >= TS_ERR_COUNT)
		e = TS_SERVER_ERROR;
	return table[e].name;
}

int err_status(ts_err e)
{
	if ((unsigned)e >= TS_ERR_COUNT)
		e = TS_SERVER_ERROR;
	return table[e].status;
}

char *err_why(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
