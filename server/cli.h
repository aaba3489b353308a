/* cli.h - the administrative commands of the tessera binary. Each returns the exit status:
 * 0 success, 1 failure, 2 usage error. */
#ifndef TESSERA_CLI_H
#define TESSERA_CLI_H

#include "config.h"

/* Parses the options every command takes (--config FILE, --db FILE) out of argv (leaving the rest,
 * in order, in argv[0..*argc-1]) into cfg. Returns 0, or 2 after a message for a usage error. */
int cli_common(int *argc, char **argv, struct config *cfg);

int cli_init(int argc, char **argv, struct config *cfg);
int cli_client(int argc, char **argv, struct config *cfg);
int cli_user(int argc, char **argv, struct config *cfg);
int cli_key(int argc, char **argv, struct config *cfg);
int cli_grant(int argc, char **argv, struct config *cfg);

#endif
