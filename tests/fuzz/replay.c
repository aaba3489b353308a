/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer: the
 * committed corpora become regression tests under the normal build and the sanitizers.
 *   replay DIR|FILE...   every regular file of each directory (sorted, dot files skipped)
 * Exits 0 when every input ran, 1 when a file cannot be read or no input was found; a broken
 * property aborts (and a sanitizer report exits non-zero) with the input's name on stderr. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"

/* Called by the sanitizers before they end the process, when linked with them. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static char current[4096]; /* the input being run, for the failure message */

/* Writes which input failed (async-signal-safe: write(2) only). */
static void say_current(void)
{
	static const char head[] = "replay: failed on ";

	if (!current[0])
		return;
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, current, strlen(current)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

static void on_abort(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads the whole file at path into *buf (malloc'd) and *len; 0 on success. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL, *nb;
	size_t n = 0, cap = 0, got;

	if (!f)
		return -1;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if (!(nb = realloc(b, cap))) {
				free(b);
				fclose(f);
				return -1;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

/* Runs the target on one file; 0 on success, -1 if it cannot be read. */
static int run_file(const char *path)
{
	uint8_t *buf;
	size_t len;

	if (read_file(path, &buf, &len)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(buf, len);
	current[0] = '\0';
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs the target on every regular file of dir; adds to *count; 0 or -1. */
static int run_dir(const char *dir, size_t *count)
{
	struct dirent **ents;
	char path[4096];
	struct stat st;
	int n, i, rc = 0;

	if ((n = scandir(dir, &ents, NULL, by_name)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path))
				rc = -1;
			else
				(*count)++;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : "replay";
	size_t count = 0;
	struct stat st;
	int i, rc = 0;

	signal(SIGABRT, on_abort);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(say_current);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count))
				rc = 1;
		} else if (run_file(argv[i])) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("%-28s %zu inputs%s\n", name, count, rc ? ", some unreadable" : "");
	return rc || count == 0;
}
