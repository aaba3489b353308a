/* memory.c - the daemon's allocator: jemalloc when the build links it (the Makefile does unless a
 * sanitizer brings its own), glibc's malloc otherwise. Its settings, its periodic give-back, and
 * its figures for /metrics. */
#include <stdint.h>
#include <stdlib.h>
#ifdef TESSERA_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif
#include "server.h"

#ifdef TESSERA_JEMALLOC

/* jemalloc's defaults: arenas per core, a cache per thread. With glibc's malloc the daemon spent
 * a tenth of both cores in malloc and free under client credentials (README, Benchmarks). */
void memory_setup(void)
{
}

/* Freed pages go back 10 s after their last use, on a schedule that advances only when an arena
 * is used: an idle daemon would keep what a burst freed. */
void memory_release(void)
{
	_Static_assert(MALLCTL_ARENAS_ALL == 4096, "the arena number below means all arenas");
	mallctl("arena.4096.decay", NULL, NULL, NULL, 0);
}

void memory_stats(size_t *in_use, size_t *kept)
{
	uint64_t epoch = 1;
	size_t n = sizeof epoch, allocated = 0, resident = 0, sz = sizeof(size_t);

	*in_use = *kept = 0;
	if (mallctl("epoch", &epoch, &n, &epoch, n) != 0 ||
	    mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0 ||
	    mallctl("stats.resident", &resident, &sz, NULL, 0) != 0)
		return;
	*in_use = allocated;
	*kept = resident > allocated ? resident - allocated : 0;
}

#else

void memory_setup(void)
{
	/* glibc gives every thread that allocates its own arena. One for all: the soak measured
	 * freed memory kept by four arenas growing for its whole ten minutes (1.7 to 5.2 MB,
	 * malloc_trim or not) and flat at 0.2 MB with one; each thread's tcache keeps the lock off
	 * most allocations */
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 1);
	/* a fixed mmap threshold turns glibc's sliding one off: that one rises past the 19 MiB of
	 * an Argon2 hash (password.c) once the first is freed, so the next ones came from the
	 * arenas, which kept 19 MiB each for good (the soak saw 72 MB appear at the first logins);
	 * mapped on their own, they go back to the system when freed */
	if (!getenv("MALLOC_MMAP_THRESHOLD_"))
		mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* that fixed threshold also pins the trim threshold at 128 KiB: the heap's top went back
	 * to the system and came again many times a second (brk, each shrink a TLB flush on every
	 * core), 17% of the writer thread's time under code redemptions. Up to 4 MiB stays free
	 * at the top, and each growth takes 1 MiB more than asked: code redemptions 7,200/s ->
	 * 9,000/s (means of 18 runs each) */
	if (!getenv("MALLOC_TRIM_THRESHOLD_"))
		mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	if (!getenv("MALLOC_TOP_PAD_"))
		mallopt(M_TOP_PAD, 1024 * 1024);
}

/* Gives back what a burst (10,000 connections) freed: the arenas keep their free memory
 * otherwise, and their leftovers add up. */
void memory_release(void)
{
	malloc_trim(0);
}

void memory_stats(size_t *in_use, size_t *kept)
{
	struct mallinfo2 mi = mallinfo2();

	*in_use = mi.uordblks + mi.hblkhd;
	*kept = mi.fordblks;
}

#endif
