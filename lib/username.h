/* username.h - what makes a userName acceptable, and the key two spellings of one name share.
 *
 * A userName is stored as given, trimmed of leading and trailing white space. Two names are the
 * same name when their keys are equal: the key is the name trimmed, without default-ignorable
 * code points, NFKC case-folded (Unicode's compatibility caseless match, D146, through GNU
 * libunistring), so `alice`, `ALICE`, `ａｌｉｃｅ` (fullwidth) and ` alice` share one. The store
 * keeps the key in users.name_key under a UNIQUE index; logins look users up by it. */
#ifndef TESSERA_USERNAME_H
#define TESSERA_USERNAME_H

#include <stddef.h>
#include "err.h"

/* The longest userName stored, in bytes (after trimming). */
#define USERNAME_MAX 255

/* Checks a userName as given: valid UTF-8, no control character (C0, DEL, C1), no
 * default-ignorable code point (zero-width space, joiner and non-joiner, U+2060, U+FEFF, soft
 * hyphen, bidi controls, variation selectors, ...), no line or paragraph separator, and 1 to
 * USERNAME_MAX bytes once trimmed. NULL when acceptable, else why not (a static English
 * sentence, for an error message). */
const char *username_problem(const char *given);

/* The name to store: given without its leading and trailing white space (Unicode White_Space),
 * malloc'd; NULL when out of memory. */
char *username_trim(const char *given);

/* The comparison key of a name into *key (malloc'd): trimmed, default-ignorable code points
 * dropped, NFKC case-folded. It is made for names that username_problem refuses too (so that an
 * old "alice" + U+200B meets "alice", and a login typed with one reaches the account), except
 * for invalid UTF-8 and names with nothing left: TS_INVALID_REQUEST then; TS_SERVER_ERROR when
 * out of memory. *key is NULL unless TS_OK. */
ts_err username_key(const char *name, char **key);

#endif
