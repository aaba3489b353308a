/* cli_util.c - what every command of the CLI (cli.c, cli_client.c) shares: the options all take,
 * opening the database, printing JSON, and the one-line errors with their exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cli_fail(const char *what, ts_err rc)
{
	fprintf(stderr, "tessera: %s: %s\n", what,
	        rc == TS_NOT_FOUND ? "not found" :
	        rc == TS_CONFLICT ? "already exists" :
	        rc == TS_UNAVAILABLE ? "database is locked, try again" :
	        rc == TS_INVALID_REQUEST ? "invalid value" : "failed");
	return 1;
}

int cli_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "tessera: %s%s%s (see tessera --help)\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return 2;
}

int cli_print(json_t *j)
{
	if (!j)
		return cli_fail("output", TS_SERVER_ERROR);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cli_common(int *argc, char **argv, struct config *cfg)
{
	const char *config = NULL, *db = NULL;
	char *why = NULL;
	int i, o = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--db") == 0) {
			if (i + 1 >= *argc)
				return cli_usage("missing value after", argv[i]);
			*(argv[i][2] == 'c' ? &config : &db) = argv[i + 1];
			i++;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	if (config && config_load(cfg, config, &why) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", why ? why : "cannot read the config file");
		free(why);
		return 2;
	}
	if (db && config_set(cfg, "database", "path", db, &why) != TS_OK) {
		free(why);
		return cli_usage("bad --db", db);
	}
	return 0;
}

ts_err cli_open_store(const struct config *cfg, store **s)
{
	ts_err rc = store_open(cfg->db_path, cfg->busy_timeout_ms, cfg->synchronous, s);
	char shown[512];

	if (rc != TS_OK)
		fprintf(stderr, "tessera: cannot open database %s%s\n",
		        store_shown(cfg->db_path, shown, sizeof shown),
		        rc == TS_UNAVAILABLE ? ": it is locked or unreachable" : "");
	return rc;
}
