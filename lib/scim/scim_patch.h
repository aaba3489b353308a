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
 *   replace, any case, as Entra ID sends "Replace"), an optional "path" (parsed with
 *   scimf_parse_path: invalidPath when it does not parse, names no attribute of t, or filters an
 *   attribute that is not multi-valued and complex) and "value" (required for add and replace:
 *   invalidSyntax when missing; remove needs a path: noTarget otherwise);
 * - without a path, value is an object of attributes (keys as paths: "name.givenName",
 *   "<urn>:name", or a URN-named object), each applied as its own operation; unknown keys are
 *   ignored, and a read-only attribute is refused only when its value differs from the current
 *   one (Okta sends back the id it was given);
 * - add: to a multi-valued attribute adds the values not already there (an element with the same
 *   "value" is merged); to a complex one merges the sub-attributes; otherwise sets it;
 * - replace: sets the attribute (a complex one is merged, RFC 7644 §3.5.2.3), or the elements a
 *   value filter matches, or their sub-attribute ("emails[type eq "work"].value"); when such a
 *   filter of and-ed eq comparisons matches nothing, add and replace of a sub-attribute create
 *   the element from the filter's comparisons and the value (Entra ID relies on this); otherwise
 *   a filter matching nothing is noTarget;
 * - remove: removes the attribute, the matching elements, or their sub-attribute; a value filter
 *   matching nothing is noTarget; with a "value" on a multi-valued attribute, removes the
 *   elements whose "value" equals a given element's (Entra ID and Okta remove members so);
 *   removing what is not there is no error;
 * - an operation on a readOnly attribute (id, meta, groups, ...) is mutability; on an immutable
 *   one only an add to an attribute without a value, or writing the same value, is allowed;
 * - the strings "true"/"false" (any case) become booleans for boolean attributes (Entra ID), and
 *   a string for a complex attribute becomes {"value": string} (Entra's manager);
 * - a new "primary": true element clears "primary" on the others;
 * - value filters compare each sub-attribute with its own caseExact.
 * Required attributes and value types are checked afterwards by scim_normalize.
 * TS_OK; TS_INVALID_REQUEST with e set; TS_SERVER_ERROR on OOM. */
ts_err scim_patch(const struct scim_rtype *t, const json_t *resource, const json_t *request,
                  json_t **out, struct scim_error *e);

#endif
