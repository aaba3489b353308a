/* err.h - the one error enum of Tessera.
 *
 * Every function that can fail returns a ts_err (TS_OK is 0). Each value maps to exactly one
 * OAuth/HTTP error string and status in err.c's table; server/reply.c turns it into a response. */
#ifndef TESSERA_ERR_H
#define TESSERA_ERR_H

typedef enum ts_err {
	TS_OK = 0,
	TS_INVALID_REQUEST,          /* 400 invalid_request (RFC 6749 §5.2) */
	TS_INVALID_CLIENT,           /* 401 invalid_client, with WWW-Authenticate */
	TS_INVALID_GRANT,            /* 400 invalid_grant */
	TS_UNAUTHORIZED_CLIENT,      /* 400 unauthorized_client */
	TS_UNSUPPORTED_GRANT_TYPE,   /* 400 unsupported_grant_type */
	TS_INVALID_SCOPE,            /* 400 invalid_scope */
	TS_ACCESS_DENIED,            /* 400 access_denied: the resource owner said no (RFC 8628 §3.5) */
	TS_FORBIDDEN,                /* 403 access_denied: the caller lacks the right (e.g. introspect) */
	TS_UNSUPPORTED_RESPONSE_TYPE,/* 400 unsupported_response_type */
	TS_UNSUPPORTED_TOKEN_TYPE,   /* 400 unsupported_token_type (RFC 7009) */
	TS_INVALID_TOKEN,            /* 401 invalid_token (RFC 6750) */
	TS_INSUFFICIENT_SCOPE,       /* 403 insufficient_scope (RFC 6750) */
	TS_AUTHORIZATION_PENDING,    /* 400 authorization_pending (RFC 8628) */
	TS_SLOW_DOWN,                /* 400 slow_down */
	TS_EXPIRED_TOKEN,            /* 400 expired_token */
	TS_NOT_FOUND,                /* 404 not_found */
	TS_METHOD_NOT_ALLOWED,       /* 405 method_not_allowed */
	TS_CONFLICT,                 /* 409 conflict (already exists) */
	TS_PRECONDITION_FAILED,      /* 412 precondition_failed (a stale If-Match, RFC 9110 §13.1.1) */
	TS_TOO_LARGE,                /* 413 request_too_large */
	TS_UNSUPPORTED_MEDIA_TYPE,   /* 415 unsupported_media_type */
	TS_TOO_MANY_REQUESTS,        /* 429 too_many_requests */
	TS_UNAVAILABLE,              /* 503 temporarily_unavailable (database busy or locked) */
	TS_SERVER_ERROR,             /* 500 server_error (out of memory, I/O, bug) */
	TS_INVALID_DPOP_PROOF,       /* 400 invalid_dpop_proof (RFC 9449 §5) */
	TS_USE_DPOP_NONCE,           /* 400 use_dpop_nonce (RFC 9449 §8): retry with the DPoP-Nonce */
	TS_INVALID_CLIENT_METADATA,  /* 400 invalid_client_metadata (RFC 7591 §3.2.2) */
	TS_INVALID_REDIRECT_URI,     /* 400 invalid_redirect_uri (RFC 7591 §3.2.2) */
	TS_ERR_COUNT
} ts_err;

/* The OAuth "error" string of e, e.g. "invalid_client". Never NULL. */
const char *err_name(ts_err e);

/* The HTTP status that carries e, e.g. 401 for TS_INVALID_CLIENT. */
int err_status(ts_err e);

/* A malloc'd message formatted as printf does, for the `why` of an error; NULL when memory ran
 * out (callers then say "out of memory"). */
char *err_why(const char *f, ...) __attribute__((format(printf, 1, 2)));

#endif
