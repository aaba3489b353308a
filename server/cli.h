/* cli.h - the administrative commands of the tessera binary. Each returns the exit status:
 * 0 success, 1 failure, 2 usage error. */
#ifndef TESSERA_CLI_H
#define TESSERA_CLI_H

#include <jansson.h>
#include "config.h"
#include "store.h"

/* Parses the options every command takes (--config FILE, --db FILE) out of argv (leaving the rest,
 * in order, in argv[0..*argc-1]) into cfg. Returns 0, or 2 after a message for a usage error. */
int cli_common(int *argc, char **argv, struct config *cfg);

int cli_init(int argc, char **argv, struct config *cfg);
int cli_client(int argc, char **argv, struct config *cfg);
int cli_user(int argc, char **argv, struct config *cfg);
int cli_key(int argc, char **argv, struct config *cfg);
int cli_grant(int argc, char **argv, struct config *cfg);
/* cli_enroll.c: enrollment tokens; cli_provision.c: tessera device provision */
int cli_enrollment(int argc, char **argv, struct config *cfg);
int cli_device(int argc, char **argv, struct config *cfg);

/* Shared by the cli_*.c files: a failure's line on stderr (returns 1); a usage error's (returns
 * 2); j printed as indented JSON on stdout and freed (0, or 1 when it could not be); the database
 * of cfg opened, or a line on stderr. */
int cli_fail(const char *what, ts_err rc);
int cli_usage(const char *msg, const char *arg);
int cli_print(json_t *j);
ts_err cli_open_store(const struct config *cfg, store **s);

#endif
