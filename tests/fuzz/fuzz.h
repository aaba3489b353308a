/* fuzz.h - helpers shared by the libFuzzer targets tests/fuzz/fuzz_*.c (see README.md there).
 * A target defines LLVMFuzzerTestOneInput; it is linked either with libFuzzer (make fuzz) or
 * with replay.c (make fuzz-replay), which feeds it every file of the committed corpus. A broken
 * property is reported with fuzz_fail, which aborts: both drivers then stop with a failure. */
#ifndef TESSERA_FUZZ_H
#define TESSERA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a malloc'd NUL-terminated text (it ends at its first NUL byte, if any); aborts
 * when out of memory, which is not a finding of the target. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Reports a broken property of input text (and the text that broke it) and aborts. */
static inline void fuzz_fail(const char *what, const char *input, const char *detail)
{
	fprintf(stderr, "fuzz: %s\n  input:  %s\n  detail: %s\n", what, input,
		detail ? detail : "(none)");
	fflush(stderr);
	abort();
}

/* Splits text in place at its first n - 1 newlines into parts[0..n-1] (the last part keeps any
 * further newlines); parts past the end of text are "". Targets that take several strings
 * (a filter and a topic, a header and a name) read them as lines of one input. */
static inline void fuzz_split(char *text, char **parts, size_t n)
{
	size_t i;
	char *nl;

	for (i = 0; i < n; i++) {
		parts[i] = text;
		if (i + 1 < n && (nl = strchr(text, '\n'))) {
			*nl = '\0';
			text = nl + 1;
		} else {
			text += strlen(text);
		}
	}
}

#endif
