/* slowdown.h - the factor the unit suites' timing bounds stretch by: 3 when TESSERA_ASAN is set
 * (make asan sets it for the unit suites as for the e2e harness, whose t() reads the same
 * variable), else 1. Every timing bound of a suite goes through slow(). */
#ifndef TESSERA_TESTS_SLOWDOWN_H
#define TESSERA_TESTS_SLOWDOWN_H

#include <stdlib.h>

static inline double slow(double seconds)
{
	const char *v = getenv("TESSERA_ASAN");

	return v && *v ? seconds * 3.0 : seconds;
}

#endif
