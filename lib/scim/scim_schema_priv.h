/* scim_schema_priv.h - the look-ups that scim_schema.c (scim_normalize) and scim_project.c
 * share (private to lib/scim). */
#ifndef TESSERA_SCIM_SCHEMA_PRIV_H
#define TESSERA_SCIM_SCHEMA_PRIV_H

#include "scim_schema.h"

/* scim_find for the plain name `name` in the schema urn (NULL: core, common, then extensions).
 * scim_find only reads the path it is given, hence the casts. */
ts_err scim_find_name(const struct scim_rtype *t, const char *urn, const char *name,
                      struct scim_found *f);

/* The extension of t whose URN is `urn` (any case), or NULL. */
const struct scim_schema_def *scim_ext_named(const struct scim_rtype *t, const char *urn);

/* The sub-attribute of d named `name` (any case), or NULL. */
const struct scim_attr_def *scim_sub_named(const struct scim_attr_def *d, const char *name);

#endif
