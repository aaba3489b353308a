/* scim_patch.h - SCIM 2.0 PATCH (RFC 7644 §3.5.2) applied to a resource held as JSON.
 *
 * The resource is the SCIM representation of scim_schema.h (canonical attribute names,
 * extension attributes inside their URN-named object). The operations are checked and applied
 * in order to a copy; the first that fails fails the whole request, and the resource is left as
 * it was (a PATCH is atomic). The result is then checked like a PUT body by the caller
 * (scim_normalize), which also enforces required attributes. */
#ifndef TESSERA_SCIM_PATCH_H
#define TESSERA_SCIM_PATCH_H

#include <jansson.h>
#include "err.h"
#include "scim_schema.h"

/* Applies the PatchOp request body `request` to `resource` of type t: *out is the patched copy
 * (new reference). Rules:
 * - request: an object whose "schemas" holds SCIM_PATCH_OP and whose "Operations" is a non-empty
 *   array of at most 1000 objects (invalidSyntax otherwise); each has "op" (add, remove,
 *   replace: any case, as Entra ID sends "Replace"), an optional "path" (a string, parsed with
 *   scimf_parse_path: invalidPath when it does not parse or names no attribute of t) and
 *   "value" (required for add and replace: invalidSyntax when missing; remove needs a path:
 *   noTarget otherwise);
 * - without a path, value is an object of attributes (names as in scim_normalize, "<urn>:name"
 *   keys and URN-named objects included), each applied as if it were its own operation with
 *   that path (so Entra's {"op":"Replace","value":{"active":false}} and Okta's
 *   {"op":"replace","value":{"active":false}} work);
 * - add: to a multi-valued attribute adds the values (one or an array) not already there
 *   (equal JSON); to a complex one merges the sub-attributes; otherwise sets it;
 * - replace: sets the attribute (or, with a value filter, the matching elements, or their
 *   sub-attribute "emails[type eq \"work\"].value"); a filter that matches no element is
 *   noTarget for replace... except that a replace of a sub-attribute under a filter matching
 *   nothing on a multi-valued complex attribute ADDS an element made of the filter's eq
 *   conditions and the value (this is what Entra ID relies on for
 *   `emails[type eq "work"].value` on a user with no work email; only for a filter made of
 *   `and`-ed `eq` comparisons, otherwise noTarget);
 * - remove: removes the attribute, the matching elements, or their sub-attribute; a value
 *   filter matching nothing is noTarget; a remove with a "value" on a multi-valued attribute
 *   removes the elements equal to the given ones, or (the shape Entra ID and Okta send for
 *   group members: {"op":"remove","path":"members","value":[{"value":"42"}]}) those whose
 *   "value" equals a given element's "value";
 * - mutability: an operation on a readOnly attribute (id, meta, groups, ...) is mutability; on
 *   an immutable one, only add to an attribute that has no value yet is allowed; remove of a
 *   required attribute is mutability? no: invalidValue is decided by scim_normalize afterwards;
 * - value type errors (an object for a string...) are invalidValue;
 * - element matching of value filters uses scimf_match on each element with case_exact of the
 *   sub-attribute's definition.
 * TS_OK; TS_INVALID_REQUEST with e set; TS_SERVER_ERROR on OOM. */
ts_err scim_patch(const struct scim_rtype *t, const json_t *resource, const json_t *request,
                  json_t **out, struct scim_error *e);

#endif
