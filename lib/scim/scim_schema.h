/* scim_schema.h - the SCIM 2.0 schemas Tessera serves (RFC 7643), as data, and what is done with
 * them: finding an attribute by its path, checking and normalising a resource sent by a client,
 * choosing the attributes of an answer, and the discovery documents (/Schemas, /ResourceTypes,
 * /ServiceProviderConfig).
 *
 * Resource types: User (core User, the enterprise extension and the Tessera extension), Group
 * (core Group and the Tessera extension), Client and Grant (Tessera schemas). Every resource is
 * held as a JSON object in the SCIM representation: attribute names in their canonical case,
 * extension attributes inside an object named by the extension's URN, "schemas", "id", "meta".
 *
 * Each attribute definition also says how the store finds it (for filters and sortBy, see
 * scim_sql.h); that is the only SQL-related part here and it holds no user input. */
#ifndef TESSERA_SCIM_SCHEMA_H
#define TESSERA_SCIM_SCHEMA_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"
#include "scim_filter.h"

#define SCIM_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_CORE_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_ENTERPRISE_USER "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_TESSERA_USER "urn:tessera:params:scim:schemas:2.0:User"
#define SCIM_TESSERA_GROUP "urn:tessera:params:scim:schemas:2.0:Group"
#define SCIM_TESSERA_CLIENT "urn:tessera:params:scim:schemas:2.0:Client"
#define SCIM_TESSERA_GRANT "urn:tessera:params:scim:schemas:2.0:Grant"
#define SCIM_LIST_RESPONSE "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_PATCH_OP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"

enum scim_type { SCIM_STRING, SCIM_BOOLEAN, SCIM_DECIMAL, SCIM_INTEGER, SCIM_DATETIME,
	SCIM_BINARY, SCIM_REFERENCE, SCIM_COMPLEX };
enum scim_mutability { SCIM_READ_WRITE, SCIM_READ_ONLY, SCIM_IMMUTABLE, SCIM_WRITE_ONLY };
enum scim_returned { SCIM_RET_DEFAULT, SCIM_RET_ALWAYS, SCIM_RET_NEVER, SCIM_RET_REQUEST };
enum scim_uniqueness { SCIM_UNIQ_NONE, SCIM_UNIQ_SERVER, SCIM_UNIQ_GLOBAL };

/* Where the store keeps an attribute, for filters and sortBy (scim_sql.c turns it into SQL over
 * the resource's row, whose table alias is always "r"):
 * - SCIM_AT_JSON (the default, 0): in the row's JSON column r.attrs, at the attribute's place in
 *   the representation ($.name.familyName; extension attributes under $."<urn>").
 *   Multi-valued attributes are JSON arrays there.
 * - SCIM_AT_COLUMN: the SQL expression `sql` over r (e.g. "r.username"). Booleans are 0/1,
 *   dateTimes Unix seconds (integer), strings text. A complex attribute at a column has each
 *   sub-attribute at its own column (meta.created: "r.created_at").
 * - SCIM_AT_LIST: a multi-valued string attribute kept as space-separated text in column `sql`
 *   (e.g. "r.grant_types"); its values hold no space.
 * - SCIM_AT_ROWS: a multi-valued complex attribute whose elements are the rows of the SELECT
 *   `sql`, which may name r (e.g. "SELECT CAST(m.group_id AS TEXT) AS value, g.display_name AS
 *   display FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = r.id");
 *   each sub-attribute's `sql` is the column of that SELECT it is found in ("value").
 * - SCIM_AT_NONE: cannot be filtered or sorted on (passwords, secrets): invalidFilter. */
enum scim_at { SCIM_AT_JSON, SCIM_AT_COLUMN, SCIM_AT_LIST, SCIM_AT_ROWS, SCIM_AT_NONE };

struct scim_attr_def {
	const char *name;                    /* canonical case, e.g. "userName" */
	enum scim_type type;
	int multi;                           /* multiValued */
	int required;
	int case_exact;
	enum scim_mutability mutability;
	enum scim_returned returned;
	enum scim_uniqueness uniqueness;
	const char *description;
	const char *const *canonical;        /* canonicalValues, NULL-terminated; NULL when none */
	const char *const *ref_types;        /* referenceTypes (SCIM_REFERENCE), NULL-terminated */
	const struct scim_attr_def *subs;    /* SCIM_COMPLEX: sub-attributes */
	size_t nsubs;
	enum scim_at at;
	const char *sql;                     /* see enum scim_at */
};

struct scim_schema_def {
	const char *id;                      /* URN */
	const char *name, *description;
	const struct scim_attr_def *attrs;
	size_t nattrs;
};

enum scim_rtype_id { SCIM_R_USER, SCIM_R_GROUP, SCIM_R_CLIENT, SCIM_R_GRANT, SCIM_R_COUNT };

struct scim_rtype {
	enum scim_rtype_id id;
	const char *name;                    /* "User" */
	const char *endpoint;                /* "/Users" */
	const char *description;
	const struct scim_schema_def *core;
	const struct scim_schema_def *const *ext; /* extensions, NULL-terminated */
	/* The common attributes (RFC 7643 §3.1) id, externalId and meta are part of every type:
	 * scim_find resolves them (see scim_common_attrs), with their SQL places given here. */
	const char *id_sql;                  /* "CAST(r.id AS TEXT)" */
	const char *external_id_sql;         /* "r.external_id", or NULL: no externalId */
	const char *created_sql, *modified_sql; /* meta.created / meta.lastModified (Unix seconds) */
};

/* The resource type by id, or by its endpoint's name ("Users", exactly as routed); NULL if none. */
const struct scim_rtype *scim_rtype(enum scim_rtype_id id);
const struct scim_rtype *scim_rtype_by_endpoint(const char *name);

/* id, externalId and meta (with its sub-attributes resourceType, created, lastModified,
 * location, version), as definitions; the SQL places of id/externalId/created/lastModified are
 * the resource type's (use scim_find, which copies them in). */
const struct scim_attr_def *scim_common_attrs(size_t *n);

/* A resolved attribute path: the definition of the attribute named, the schema it belongs to,
 * and, for "a.b", the definition of b. */
struct scim_found {
	const struct scim_schema_def *schema; /* NULL for the common attributes */
	const struct scim_attr_def *attr;     /* the top-level attribute */
	const struct scim_attr_def *sub;      /* the sub-attribute, or NULL */
	/* For the common attributes the SQL place comes from the resource type; these are what to
	 * use in every case (attr->at / attr->sql and sub->at / sub->sql otherwise): */
	enum scim_at at, sub_at;
	const char *sql, *sub_sql;
};

/* Finds the attribute path a (from scimf_parse or scimf_parse_path) in resource type t: names
 * compare case-insensitively; a URN prefix must name the core schema or one of t's extensions
 * (any case); without one, core and common attributes are searched first, then extensions.
 * When `within` is not NULL, a is a sub-attribute path inside that complex attribute's value
 * filter ("emails[type eq \"work\"]": within = emails, a = type): a->name names a sub-attribute
 * of within and the result has attr = within, sub = that sub-attribute.
 * TS_OK with *f filled; TS_NOT_FOUND when there is no such attribute (or sub-attribute, or the
 * sub-attribute is given for a non-complex attribute). */
ts_err scim_find(const struct scim_rtype *t, const struct scimf_attr *a,
                 const struct scim_attr_def *within, struct scim_found *f);

/* Reasons to refuse a resource or a PATCH, each answered as 400 with this scimType
 * (RFC 7644 §3.12), except SCIM_E_UNIQUENESS 409. */
enum scim_etype { SCIM_E_NONE, SCIM_E_INVALID_SYNTAX, SCIM_E_INVALID_VALUE, SCIM_E_MUTABILITY,
	SCIM_E_INVALID_PATH, SCIM_E_NO_TARGET, SCIM_E_INVALID_FILTER, SCIM_E_UNIQUENESS,
	SCIM_E_TOO_MANY, SCIM_E_INVALID_VERS };

/* The scimType string ("invalidValue", ...); "" for SCIM_E_NONE. */
const char *scim_etype_name(enum scim_etype e);

/* A refusal: its type and a short English detail (malloc'd, may be NULL on OOM). */
struct scim_error {
	enum scim_etype type;
	char *detail;
};
void scim_error_clear(struct scim_error *e);
/* Sets e (type and a printf-formatted detail); returns TS_INVALID_REQUEST, for `return`. */
ts_err scim_error_set(struct scim_error *e, enum scim_etype type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What a client sent as the body of POST or PUT (or what a PATCH produced), checked and
 * normalised for resource type t into a new object (*out, the caller's):
 * - "schemas" must be an array of strings naming the core schema (extensions optional; other
 *   URNs are ignored, as Entra ID sends one of its own); the output's "schemas" lists the core
 *   schema and each extension present;
 * - every attribute name is matched case-insensitively and written in its canonical case;
 *   extension attributes may come inside their URN-named object or as "<urn>:<name>" keys;
 * - unknown attributes (of no schema of t) are dropped, as are readOnly ones (id, meta, groups,
 *   ... : the caller puts those back from the stored resource);
 * - values must have their type (string, boolean, integer, decimal as a number; dateTime an
 *   RFC 3339 string; reference and binary strings; complex an object; multi-valued an array of
 *   those, a single value being accepted as an array of one): invalidValue otherwise; strings
 *   must be valid UTF-8 without NUL (Jansson guarantees it) and at most 65536 bytes;
 * - canonicalValues, when the definition has them and is case_exact, must be matched
 *   exactly, otherwise (e.g. emails.type) any string is kept as given;
 * - null, "", [] and {} values are dropped (RFC 7643 §2.5: unassigned);
 * - at most one element of a multi-valued complex attribute has "primary": true
 *   (invalidValue otherwise); "primary": false is dropped;
 * - required attributes (userName, displayName, ...) must be present after all this:
 *   invalidValue.
 * TS_OK, or TS_INVALID_REQUEST with e set, or TS_SERVER_ERROR on OOM. */
ts_err scim_normalize(const struct scim_rtype *t, const json_t *in, json_t **out,
                      struct scim_error *e);

/* The attributes of an answer (RFC 7643 §7, RFC 7644 §3.4.2.5): removes from resource (in
 * place) the attributes the answer leaves out:
 * - "returned": never is always removed; always (id, schemas...) never is;
 * - attributes (a comma-separated list of attribute paths, or NULL) keeps only those named (and
 *   the "always" ones); a sub-attribute path keeps only that sub-attribute of a complex one;
 * - excludedAttributes (or NULL) removes those named, unless "always";
 * - "returned": request attributes are kept only when `attributes` names them.
 * Unknown names in either list are ignored. TS_INVALID_REQUEST (e: invalidValue) when a list is
 * not a comma-separated list of attribute paths. */
ts_err scim_project(const struct scim_rtype *t, json_t *resource, const char *attributes,
                    const char *excluded, struct scim_error *e);

/* The discovery documents, new references (NULL on OOM); base is the SCIM base URL
 * ("https://issuer/scim/v2") for meta.location:
 * - the ListResponse of /Schemas and one schema by its URN (NULL when unknown);
 * - the ListResponse of /ResourceTypes and one resource type by name (NULL when unknown);
 * - the ServiceProviderConfig: patch, filter (maxResults = max_results), sort, etag supported;
 *   bulk and changePassword not; authentication scheme OAuth bearer token. */
json_t *scim_schemas_json(const char *base);
json_t *scim_schema_json(const char *base, const char *urn);
json_t *scim_rtypes_json(const char *base);
json_t *scim_rtype_json(const char *base, const char *name);
json_t *scim_spc_json(const char *base, int max_results);

#endif
