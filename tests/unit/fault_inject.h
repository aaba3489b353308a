/* fault_inject.h - failure injection for the fault suite (test_store_faults.c), as curl's torture
 * tests and SQLite's own malloc and I/O-error tests do: the Nth call of one kind fails, once.
 *
 * Kinds: our code's allocations (malloc, calloc, realloc, strdup, strndup of lib/, through the
 * linker's --wrap; see the Makefile's rule for test_store_faults), SQLite's allocations (its
 * allocator, through SQLITE_CONFIG_MALLOC), Jansson's (json_set_alloc_funcs), and SQLite's file
 * operations through a VFS that wraps
 * the default one: open, read, write (an I/O error, or a full disk), sync and lock (busy).
 * Calls are counted only while armed; counting and failing are thread-safe (the writer's jobs run
 * on its own thread). */
#ifndef TESSERA_FAULT_INJECT_H
#define TESSERA_FAULT_INJECT_H

enum fault_kind {
	FAULT_ALLOC,       /* malloc/calloc/realloc/strdup/strndup called from lib/ -> NULL */
	FAULT_SQLITE_MEM,  /* SQLite's xMalloc/xRealloc -> NULL (SQLITE_NOMEM) */
	FAULT_JSON_MEM,    /* Jansson's allocations (json_set_alloc_funcs) -> NULL */
	FAULT_IO_OPEN,     /* xOpen -> SQLITE_CANTOPEN */
	FAULT_IO_READ,     /* xRead -> SQLITE_IOERR_READ */
	FAULT_IO_WRITE,    /* xWrite (and xTruncate) -> SQLITE_IOERR_WRITE */
	FAULT_IO_FULL,     /* xWrite -> SQLITE_FULL */
	FAULT_IO_SYNC,     /* xSync -> SQLITE_IOERR_FSYNC */
	FAULT_IO_LOCK,     /* xLock, and xShmLock taking a lock -> SQLITE_BUSY */
	FAULT_KIND_COUNT
};

/* Installs the failing allocators and VFS (as the default one); call once, before any use of
 * SQLite and Jansson. Returns 0, or -1 when SQLite refused them. */
int fault_setup(void);

/* From now on, the nth (1-based) call of kind k fails, and when persist is set every one after
 * it too (the error paths then meet failures of their own); the others go through. */
void fault_arm(enum fault_kind k, long n, int persist);

/* Stops injecting; returns 1 when the armed failure happened, 0 when fewer than n calls came. */
int fault_disarm(void);

const char *fault_kind_name(enum fault_kind k);

#endif
