/* scim_defs.c - the SCIM schemas of Tessera as data (RFC 7643 §4, §8.7.1 for the core User and
 * Group; Tessera's own for Clients and Grants), the resource types, and attribute look-up. */
#include "scim_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Field order of struct scim_attr_def: name, type, multi, required, case_exact, mutability,
 * returned, uniqueness, description, canonical, ref_types, subs, nsubs, at, sql. */
#define STR(n, d) {n, SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, d, NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL}
#define BOOL(n, d) {n, SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, d, NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL}
#define REF(n, d, rt) {n, SCIM_REFERENCE, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, d, NULL, rt, NULL, 0, SCIM_AT_JSON, NULL}
/* the sub-attributes of the usual multi-valued complex attributes: value, display, type, primary */
#define MV_SUBS(name, valtype, vdesc, types) \
	static const struct scim_attr_def name[] = { \
		{"value", valtype, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, vdesc, NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL}, \
		STR("display", "A human-readable name, primarily used for display purposes."), \
		{"type", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "A label indicating the attribute's function.", types, NULL, NULL, 0, SCIM_AT_JSON, NULL}, \
		BOOL("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."), \
	}
#define MV(n, subs, d) {n, SCIM_COMPLEX, 1, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, d, NULL, NULL, subs, N(subs), SCIM_AT_JSON, NULL}

static const char *const work_home_other[] = {"work", "home", "other", NULL};
static const char *const phone_types[] = {"work", "home", "mobile", "fax", "pager", "other", NULL};
static const char *const im_types[] = {"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo", NULL};
static const char *const photo_types[] = {"photo", "thumbnail", NULL};
static const char *const ref_external[] = {"external", NULL};
static const char *const ref_user[] = {"User", NULL};
static const char *const ref_group[] = {"Group", NULL};
static const char *const ref_user_group[] = {"User", "Group", NULL};
static const char *const ref_uri[] = {"uri", NULL};
static const char *const member_types[] = {"User", NULL};
static const char *const group_types[] = {"direct", NULL};
static const char *const token_formats[] = {"jwt", "reference", NULL};
/* (client_secret_post is taken as client_secret_basic, which a read says) */
static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post", "none",
	"private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth", NULL};
static const char *const token_bindings[] = {"none", "mtls", "dpop", "mtls dpop", NULL};
static const char *const grant_type_names[] = {"client_credentials", "authorization_code",
	"refresh_token", "urn:ietf:params:oauth:grant-type:device_code", NULL};

/* ---- common attributes (RFC 7643 §3.1) ---- */

static const struct scim_attr_def meta_subs[] = {
	{"resourceType", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The name of the resource type of the resource.", NULL, NULL, NULL, 0, SCIM_AT_NONE, NULL},
	{"created", SCIM_DATETIME, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The date and time the resource was added to the service provider.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, NULL},
	{"lastModified", SCIM_DATETIME, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The most recent date and time the resource was modified.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, NULL},
	{"location", SCIM_REFERENCE, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The URI of the resource being returned.", NULL, ref_uri, NULL, 0, SCIM_AT_NONE, NULL},
	{"version", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The version (weak entity tag) of the resource.", NULL, NULL, NULL, 0, SCIM_AT_NONE, NULL},
};

static const struct scim_attr_def common_attrs[] = {
	{"id", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_ALWAYS, SCIM_UNIQ_SERVER,
	 "Unique identifier for the resource, assigned by the service provider.", NULL, NULL, NULL,
	 0, SCIM_AT_COLUMN, NULL},
	{"externalId", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "An identifier for the resource as defined by the provisioning client.", NULL, NULL, NULL,
	 0, SCIM_AT_COLUMN, NULL},
	{"meta", SCIM_COMPLEX, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "Resource metadata.", NULL, NULL, meta_subs, N(meta_subs), SCIM_AT_COLUMN, NULL},
};

const struct scim_attr_def *scim_common_attrs(size_t *n)
{
	*n = N(common_attrs);
	return common_attrs;
}

/* ---- User (RFC 7643 §4.1) ---- */

static const struct scim_attr_def name_subs[] = {
	STR("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
	STR("familyName", "The family name of the User, or last name."),
	STR("givenName", "The given name of the User, or first name."),
	STR("middleName", "The middle name(s) of the User."),
	STR("honorificPrefix", "The honorific prefix(es) of the User, or title."),
	STR("honorificSuffix", "The honorific suffix(es) of the User."),
};
MV_SUBS(email_subs, SCIM_STRING, "Email address for the User.", work_home_other);
MV_SUBS(phone_subs, SCIM_STRING, "Phone number of the User.", phone_types);
MV_SUBS(im_subs, SCIM_STRING, "Instant messaging address for the User.", im_types);
static const struct scim_attr_def photo_subs[] = {
	{"value", SCIM_REFERENCE, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "URL of a photo of the User.", NULL, ref_external, NULL, 0, SCIM_AT_JSON, NULL},
	STR("display", "A human-readable name, primarily used for display purposes."),
	{"type", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A label indicating the attribute's function.", photo_types, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	BOOL("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
};
static const struct scim_attr_def address_subs[] = {
	STR("formatted", "The full mailing address, formatted for display or use with a mailing label."),
	STR("streetAddress", "The full street address component."),
	STR("locality", "The city or locality component."),
	STR("region", "The state or region component."),
	STR("postalCode", "The zip code or postal code component."),
	STR("country", "The country name component."),
	{"type", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A label indicating the attribute's function.", work_home_other, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	BOOL("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
};
static const struct scim_attr_def user_group_subs[] = {
	{"value", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The identifier of the User's group.", NULL, NULL, NULL, 0, SCIM_AT_ROWS, "value"},
	{"$ref", SCIM_REFERENCE, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The URI of the corresponding 'Group' resource to which the user belongs.", NULL,
	 ref_group, NULL, 0, SCIM_AT_NONE, NULL},
	{"display", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A human-readable name, primarily used for display purposes.", NULL, NULL, NULL, 0,
	 SCIM_AT_ROWS, "display"},
	{"type", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A label indicating the attribute's function: 'direct' (no nested groups here).",
	 group_types, NULL, NULL, 0, SCIM_AT_NONE, NULL},
};
MV_SUBS(entitlement_subs, SCIM_STRING, "The value of an entitlement.", NULL);
MV_SUBS(role_subs, SCIM_STRING, "The value of a role.", NULL);
static const struct scim_attr_def cert_subs[] = {
	{"value", SCIM_BINARY, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The value of an X.509 certificate (base64 DER).", NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
	STR("display", "A human-readable name, primarily used for display purposes."),
	STR("type", "A label indicating the attribute's function."),
	BOOL("primary", "A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
};

static const struct scim_attr_def user_attrs[] = {
	{"userName", SCIM_STRING, 0, 1, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_SERVER,
	 "Unique identifier for the User, typically used by the user to directly authenticate to the "
	 "service provider. Unique regardless of case.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "r.username"},
	{"name", SCIM_COMPLEX, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The components of the user's real name.", NULL, NULL, name_subs, N(name_subs),
	 SCIM_AT_JSON, NULL},
	{"displayName", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The name of the User, suitable for display to end-users (the OpenID Connect 'name' claim).",
	 NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.name"},
	STR("nickName", "The casual way to address the user in real life."),
	REF("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.", ref_external),
	STR("title", "The user's title, such as \"Vice President\"."),
	STR("userType", "Used to identify the relationship between the organization and the user."),
	STR("preferredLanguage", "Indicates the User's preferred written or spoken language."),
	STR("locale", "Used to indicate the User's default location for purposes of localizing items."),
	STR("timezone", "The User's time zone in the 'Olson' time zone database format."),
	{"active", SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The User's administrative status: false makes the user's grants and tokens inactive.",
	 NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.active"},
	{"password", SCIM_STRING, 0, 0, 0, SCIM_WRITE_ONLY, SCIM_RET_NEVER, SCIM_UNIQ_NONE,
	 "The User's cleartext password, stored only as an Argon2id hash and never returned.", NULL,
	 NULL, NULL, 0, SCIM_AT_NONE, NULL},
	MV("emails", email_subs, "Email addresses for the user."),
	MV("phoneNumbers", phone_subs, "Phone numbers for the User."),
	MV("ims", im_subs, "Instant messaging addresses for the User."),
	MV("photos", photo_subs, "URLs of photos of the User."),
	MV("addresses", address_subs, "A physical mailing address for this User."),
	{"groups", SCIM_COMPLEX, 1, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A list of groups to which the user belongs (managed through the Group resource).", NULL,
	 NULL, user_group_subs, N(user_group_subs), SCIM_AT_ROWS,
	 "SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS display FROM group_members m "
	 "JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id"},
	MV("entitlements", entitlement_subs, "A list of entitlements for the User."),
	MV("roles", role_subs, "A list of roles for the User."),
	MV("x509Certificates", cert_subs, "A list of certificates issued to the User."),
};

static const struct scim_attr_def manager_subs[] = {
	STR("value", "The id of the SCIM resource representing the User's manager."),
	REF("$ref", "The URI of the SCIM resource representing the User's manager.", ref_user),
	{"displayName", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The displayName of the User's manager.", NULL, NULL, NULL, 0, SCIM_AT_JSON, NULL},
};
static const struct scim_attr_def enterprise_attrs[] = {
	STR("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
	STR("costCenter", "Identifies the name of a cost center."),
	STR("organization", "Identifies the name of an organization."),
	STR("division", "Identifies the name of a division."),
	STR("department", "Identifies the name of a department."),
	{"manager", SCIM_COMPLEX, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The User's manager.", NULL, NULL, manager_subs, N(manager_subs), SCIM_AT_JSON, NULL},
};

static const struct scim_attr_def tessera_user_attrs[] = {
	{"scope", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "Space-separated scope the user may be granted: OAuth scopes and MQTT topic filters "
	 "(mqtt:pub:, mqtt:sub:, mqtt:pubsub:) that may hold ${username} and ${clientid}. The "
	 "user's groups add theirs.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.scope"},
};

/* ---- Group (RFC 7643 §4.2) ---- */

static const struct scim_attr_def member_subs[] = {
	{"value", SCIM_STRING, 0, 0, 1, SCIM_IMMUTABLE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The id of a User that is a member of the group.", NULL, NULL, NULL, 0, SCIM_AT_ROWS,
	 "value"},
	{"$ref", SCIM_REFERENCE, 0, 0, 0, SCIM_IMMUTABLE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The URI of the member resource.", NULL, ref_user_group, NULL, 0, SCIM_AT_NONE, NULL},
	{"display", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The member's userName.", NULL, NULL, NULL, 0, SCIM_AT_ROWS, "display"},
	{"type", SCIM_STRING, 0, 0, 0, SCIM_IMMUTABLE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The type of the member: only 'User' (groups do not nest).", member_types, NULL, NULL, 0,
	 SCIM_AT_NONE, NULL},
};
static const struct scim_attr_def group_attrs[] = {
	{"displayName", SCIM_STRING, 0, 1, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A human-readable name for the Group.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "r.display_name"},
	{"members", SCIM_COMPLEX, 1, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A list of members of the Group (Users).", NULL, NULL, member_subs, N(member_subs),
	 SCIM_AT_ROWS,
	 "SELECT CAST(m.user_id AS TEXT) AS value, u.username AS display FROM group_members m "
	 "JOIN users u ON u.id = m.user_id WHERE m.group_id = r.id"},
};
static const struct scim_attr_def tessera_group_attrs[] = {
	{"scope", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "Space-separated scope every member may be granted, added to the member's own (MQTT "
	 "filters may hold ${username} and ${clientid}).", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "r.scope"},
};

/* ---- Client (Tessera) ---- */

static const struct scim_attr_def client_attrs[] = {
	{"clientName", SCIM_STRING, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The name shown to users on the consent and device pages.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "r.name"},
	{"redirectUris", SCIM_REFERENCE, 1, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "Registered redirection URIs, compared exactly (RFC 9700 §2.1).", NULL, ref_external, NULL,
	 0, SCIM_AT_LIST, "r.redirect_uris"},
	{"postLogoutRedirectUris", SCIM_REFERENCE, 1, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "Where /logout may send the browser afterwards, compared exactly (OpenID "
	 "Connect RP-Initiated Logout 1.0).", NULL, ref_external, NULL, 0, SCIM_AT_LIST,
	 "r.post_logout_redirect_uris"},
	{"grantTypes", SCIM_STRING, 1, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The grant types the client may use.", grant_type_names, NULL, NULL, 0, SCIM_AT_LIST,
	 "r.grant_types"},
	{"scope", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "Space-separated scope the client may be granted (MQTT filters may hold ${clientid}).",
	 NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.scope"},
	{"public", SCIM_BOOLEAN, 0, 0, 0, SCIM_IMMUTABLE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "A public client has no secret (RFC 6749 §2.1) and must use PKCE.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "(r.auth_method = 'none')"},
	{"refreshTokenRotation", SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "Whether a refresh token is replaced at each use (default true); false "
	 "keeps it, for devices on flaky links.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "r.refresh_rotation"},
	{"refreshGraceSeconds", SCIM_INTEGER, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "For how long a rotated refresh token may be presented once more.", NULL,
	 NULL, NULL, 0, SCIM_AT_COLUMN, "r.refresh_grace"},
	{"refreshIdleSeconds", SCIM_INTEGER, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "How long a refresh token lives unused (0: the server's setting).", NULL,
	 NULL, NULL, 0, SCIM_AT_COLUMN, "r.refresh_idle_ttl"},
	{"grantLifetimeSeconds", SCIM_INTEGER, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "How long a grant lives at most (0: the server's setting).", NULL, NULL,
	 NULL, 0, SCIM_AT_COLUMN, "r.grant_lifetime"},
	{"accessTokenFormat", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "The client's access tokens: jwt (RFC 9068, the default) or reference (an "
	 "opaque token of 46 characters, validated by introspection).", token_formats, NULL, NULL,
	 0, SCIM_AT_COLUMN, "r.token_format"},
	{"active", SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "false refuses the client and makes its grants and tokens inactive.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "r.active"},
	/* how it authenticates (RFC 7591 §2 names, in camel case): lib/client_methods.c */
	{"tokenEndpointAuthMethod", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "How the client authenticates (RFC 7591 token_endpoint_auth_method): "
	 "client_secret_basic (a secret; the default), none (public), private_key_jwt (jwks or "
	 "jwksUri), tls_client_auth (tlsClientAuthSubjectDn or tlsClientAuthSan), "
	 "self_signed_tls_client_auth (jwks or jwksUri).", auth_methods, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "r.auth_method"},
	{"jwks", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The client's public keys: a JWK Set (RFC 7517 §5) as JSON text, public keys only.", NULL,
	 NULL, NULL, 0, SCIM_AT_NONE, NULL},
	{"jwksUri", SCIM_REFERENCE, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "An https URL serving the client's JWK Set (fetched and cached).", NULL, ref_external, NULL,
	 0, SCIM_AT_COLUMN, "r.jwks_uri"},
	{"tlsClientAuthSubjectDn", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "tls_client_auth: the subject DN of the client's certificate (RFC 8705 "
	 "§2.1.2).", NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.tls_subject_dn"},
	{"tlsClientAuthSan", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "tls_client_auth: a subject alternative name of the client's certificate, "
	 "as dns:NAME, uri:URI, ip:ADDRESS or email:ADDRESS.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "r.tls_san"},
	{"tlsClientCertificateBoundAccessTokens", SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE,
	 SCIM_RET_DEFAULT, SCIM_UNIQ_NONE, "The client's access tokens are bound to its TLS client "
	 "certificate (RFC 8705 §3).", NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.cert_bound"},
	{"dpopBoundAccessTokens", SCIM_BOOLEAN, 0, 0, 0, SCIM_READ_WRITE, SCIM_RET_DEFAULT,
	 SCIM_UNIQ_NONE, "The client's access tokens are always DPoP-bound (RFC 9449 §5.2).", NULL,
	 NULL, NULL, 0, SCIM_AT_COLUMN, "r.dpop_bound"},
	{"tokenBinding", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "How the client's access tokens are bound: none, mtls "
	 "(tlsClientCertificateBoundAccessTokens), dpop (dpopBoundAccessTokens) or mtls dpop (both). "
	 "The same as the two booleans: a request that changes it sets them.", token_bindings, NULL,
	 NULL, 0, SCIM_AT_NONE, NULL},
	{"clientSecret", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_NEVER, SCIM_UNIQ_NONE,
	 "The secret of a confidential client, generated by the server and returned only in the "
	 "answer to the request that created it (POST, or generateSecret).", NULL, NULL, NULL, 0,
	 SCIM_AT_NONE, NULL},
	{"generateSecret", SCIM_BOOLEAN, 0, 0, 0, SCIM_WRITE_ONLY, SCIM_RET_NEVER, SCIM_UNIQ_NONE,
	 "Set to true (PUT or PATCH) to replace the secret of a confidential client; the answer "
	 "carries the new clientSecret.", NULL, NULL, NULL, 0, SCIM_AT_NONE, NULL},
};

/* ---- Grant (Tessera) ---- */

static const struct scim_attr_def grant_attrs[] = {
	{"clientId", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The client the grant was given to.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN, "r.client_id"},
	{"userName", SCIM_STRING, 0, 0, 0, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The user who gave it (absent for a client's own grant).", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "u.username"},
	{"userId", SCIM_STRING, 0, 0, 1, SCIM_READ_ONLY, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The id of that User resource.", NULL, NULL, NULL, 0, SCIM_AT_COLUMN,
	 "CAST(r.user_id AS TEXT)"},
	{"scope", SCIM_STRING, 0, 0, 1, SCIM_READ_WRITE, SCIM_RET_DEFAULT, SCIM_UNIQ_NONE,
	 "The scope granted. Narrowing it narrows the grant's tokens at once (introspection); it "
	 "cannot be widened beyond what the client and user allow.", NULL, NULL, NULL, 0,
	 SCIM_AT_COLUMN, "r.scope"},
};

static const struct scim_schema_def schema_user = {SCIM_CORE_USER, "User", "User Account",
	user_attrs, N(user_attrs)};
static const struct scim_schema_def schema_enterprise = {SCIM_ENTERPRISE_USER, "EnterpriseUser",
	"Enterprise User", enterprise_attrs, N(enterprise_attrs)};
static const struct scim_schema_def schema_tessera_user = {SCIM_TESSERA_USER, "TesseraUser",
	"What a Tessera user may be granted", tessera_user_attrs, N(tessera_user_attrs)};
static const struct scim_schema_def schema_group = {SCIM_CORE_GROUP, "Group", "Group",
	group_attrs, N(group_attrs)};
static const struct scim_schema_def schema_tessera_group = {SCIM_TESSERA_GROUP, "TesseraGroup",
	"What the members of a Tessera group may be granted", tessera_group_attrs,
	N(tessera_group_attrs)};
static const struct scim_schema_def schema_client = {SCIM_TESSERA_CLIENT, "Client",
	"OAuth 2.0 client (an app, a service or a device)", client_attrs, N(client_attrs)};
static const struct scim_schema_def schema_grant = {SCIM_TESSERA_GRANT, "Grant",
	"What a user (or a client on its own) has been granted; DELETE revokes it", grant_attrs,
	N(grant_attrs)};

static const struct scim_schema_def *const user_ext[] = {&schema_enterprise,
	&schema_tessera_user, NULL};
static const struct scim_schema_def *const group_ext[] = {&schema_tessera_group, NULL};
static const struct scim_schema_def *const no_ext[] = {NULL};

static const struct scim_rtype rtypes[SCIM_R_COUNT] = {
	{SCIM_R_USER, "User", "/Users", "User Account", &schema_user, user_ext,
	 "CAST(r.id AS TEXT)", "r.external_id", "r.created_at", "r.updated_at"},
	{SCIM_R_GROUP, "Group", "/Groups", "Group", &schema_group, group_ext,
	 "CAST(r.id AS TEXT)", "r.external_id", "r.created_at", "r.updated_at"},
	{SCIM_R_CLIENT, "Client", "/Clients", "OAuth 2.0 client", &schema_client, no_ext,
	 "r.client_id", "r.external_id", "r.created_at", "r.updated_at"},
	{SCIM_R_GRANT, "Grant", "/Grants", "Grant of a user or client", &schema_grant, no_ext,
	 "CAST(r.id AS TEXT)", NULL, "r.created_at", "r.updated_at"},
};

const struct scim_rtype *scim_rtype(enum scim_rtype_id id)
{
	return (unsigned)id < SCIM_R_COUNT ? &rtypes[id] : NULL;
}

const struct scim_rtype *scim_rtype_by_endpoint(const char *name)
{
	size_t i;

	for (i = 0; i < SCIM_R_COUNT; i++)
		if (strcmp(rtypes[i].endpoint + 1, name) == 0)
			return &rtypes[i];
	return NULL;
}

/* ---- look-up ---- */

static const struct scim_attr_def *find_in(const struct scim_attr_def *a, size_t n,
                                           const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(a[i].name, name) == 0)
			return &a[i];
	return NULL;
}

static ts_err find_sub(const struct scim_attr_def *attr, const char *name, struct scim_found *f)
{
	if (attr->type != SCIM_COMPLEX)
		return TS_NOT_FOUND;
	f->sub = find_in(attr->subs, attr->nsubs, name);
	if (!f->sub)
		return TS_NOT_FOUND;
	f->sub_at = f->sub->at;
	f->sub_sql = f->sub->sql;
	return TS_OK;
}

/* The common attribute a names (id, externalId, meta), with the resource type's SQL places. */
static int find_common(const struct scim_rtype *t, const struct scimf_attr *a,
                       struct scim_found *f)
{
	const struct scim_attr_def *d = find_in(common_attrs, N(common_attrs), a->name);

	if (!d || (d == &common_attrs[1] && !t->external_id_sql))
		return 0;
	f->schema = NULL;
	f->attr = d;
	f->at = d->at;
	if (d == &common_attrs[0])
		f->sql = t->id_sql;
	else if (d == &common_attrs[1])
		f->sql = t->external_id_sql;
	return 1;
}

ts_err scim_find(const struct scim_rtype *t, const struct scimf_attr *a,
                 const struct scim_attr_def *within, struct scim_found *f)
{
	const struct scim_schema_def *schema = NULL;
	size_t i;

	memset(f, 0, sizeof *f);
	if (!t || !a || !a->name)
		return TS_NOT_FOUND;
	if (within) {
		if (a->urn || a->sub)
			return TS_NOT_FOUND;
		f->attr = within;
		return find_sub(within, a->name, f);
	}
	if (a->urn) {
		if (strcasecmp(a->urn, t->core->id) == 0)
			schema = t->core;
		for (i = 0; !schema && t->ext[i]; i++)
			if (strcasecmp(a->urn, t->ext[i]->id) == 0)
				schema = t->ext[i];
		if (!schema)
			return TS_NOT_FOUND;
	}
	if ((!schema || schema == t->core) && find_common(t, a, f)) {
		/* found among id, externalId, meta */
	} else {
		const struct scim_schema_def *const *e = t->ext;

		if (!schema) {
			f->attr = find_in(t->core->attrs, t->core->nattrs, a->name);
			f->schema = t->core;
			for (; !f->attr && *e; e++) {
				f->attr = find_in((*e)->attrs, (*e)->nattrs, a->name);
				f->schema = *e;
			}
		} else {
			f->attr = find_in(schema->attrs, schema->nattrs, a->name);
			f->schema = schema;
		}
		if (!f->attr) {
			memset(f, 0, sizeof *f);
			return TS_NOT_FOUND;
		}
		f->at = f->attr->at;
		f->sql = f->attr->sql;
	}
	if (a->sub && find_sub(f->attr, a->sub, f) != TS_OK) {
		memset(f, 0, sizeof *f);
		return TS_NOT_FOUND;
	}
	if (f->attr == &common_attrs[2] && f->sub) {
		if (f->sub == &meta_subs[1])
			f->sub_sql = t->created_sql;
		else if (f->sub == &meta_subs[2])
			f->sub_sql = t->modified_sql;
	}
	return TS_OK;
}

/* ---- errors ---- */

const char *scim_etype_name(enum scim_etype e)
{
	static const char *const names[] = {"", "invalidSyntax", "invalidValue", "mutability",
		"invalidPath", "noTarget", "invalidFilter", "uniqueness", "tooMany", "invalidVers"};

	return (unsigned)e < N(names) ? names[e] : "";
}

void scim_error_clear(struct scim_error *e)
{
	if (!e)
		return;
	free(e->detail);
	e->detail = NULL;
	e->type = SCIM_E_NONE;
}

ts_err scim_error_set(struct scim_error *e, enum scim_etype type, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (!e)
		return TS_INVALID_REQUEST;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(e->detail);
	e->type = type;
	e->detail = strdup(buf);
	return TS_INVALID_REQUEST;
}
