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

#endif
