/* fault_inject.c - see fault_inject.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sqlite3.h>

#include "fault_inject.h"

/* -1 when disarmed; else the kind whose calls are counted */
static atomic_int armed = -1;
static atomic_long seen, target;
static atomic_int fired, persistent;

/* Counts a call of kind k; 1 when it is the one to fail. */
static int hit(enum fault_kind k)
{
	long c;

	if (atomic_load(&armed) != (int)k)
		return 0;
	c = atomic_fetch_add(&seen, 1) + 1;
	if (c < atomic_load(&target) || (c > atomic_load(&target) && !atomic_load(&persistent)))
		return 0;
	atomic_store(&fired, 1);
	return 1;
}

void fault_arm(enum fault_kind k, long n, int persist)
{
	atomic_store(&armed, -1);
	atomic_store(&seen, 0);
	atomic_store(&target, n);
	atomic_store(&persistent, persist);
	atomic_store(&fired, 0);
	atomic_store(&armed, (int)k);
}

int fault_disarm(void)
{
	atomic_store(&armed, -1);
	return atomic_load(&fired);
}

const char *fault_kind_name(enum fault_kind k)
{
	static const char *const names[FAULT_KIND_COUNT] = {
		"alloc", "sqlite-mem", "json-mem", "io-open", "io-read", "io-write", "io-full", "io-sync",
		"io-lock",
	};

	return (unsigned)k < FAULT_KIND_COUNT ? names[k] : "?";
}

/* --- our code's allocations: the linker sends lib/'s calls here (-Wl,--wrap=...) --- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int alloc_fails(void)
{
	if (!hit(FAULT_ALLOC))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	return alloc_fails() ? NULL : __real_calloc(k, n);
}

/* (a failed realloc leaves p as it was, as the real one does) */
void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return alloc_fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return alloc_fails() ? NULL : __real_strndup(s, n);
}

/* --- Jansson's allocations (straight to the real allocator: they are not lib/'s) --- */

static void *json_alloc(size_t n)
{
	return hit(FAULT_JSON_MEM) ? NULL : __real_malloc(n);
}

/* --- SQLite's allocations --- */

static sqlite3_mem_methods real_mem, fail_mem;

static void *mem_malloc(int n)
{
	return hit(FAULT_SQLITE_MEM) ? NULL : real_mem.xMalloc(n);
}

static void *mem_realloc(void *p, int n)
{
	return hit(FAULT_SQLITE_MEM) ? NULL : real_mem.xRealloc(p, n);
}

/* --- SQLite's files: a VFS wrapping the default one --- */

struct ffile {
	sqlite3_file base;
	sqlite3_file *real;   /* the wrapped VFS's file, right after this struct */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((struct ffile *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

static int f_close(sqlite3_file *f)
{
	return RM(f) ? RM(f)->xClose(REAL(f)) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (hit(FAULT_IO_READ))
		return SQLITE_IOERR_READ;
	return RM(f)->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (hit(FAULT_IO_WRITE))
		return SQLITE_IOERR_WRITE;
	if (hit(FAULT_IO_FULL))
		return SQLITE_FULL;
	return RM(f)->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (hit(FAULT_IO_WRITE))
		return SQLITE_IOERR_TRUNCATE;
	return RM(f)->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	if (hit(FAULT_IO_SYNC))
		return SQLITE_IOERR_FSYNC;
	return RM(f)->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return RM(f)->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
	if (hit(FAULT_IO_LOCK))
		return SQLITE_BUSY;
	return RM(f)->xLock(REAL(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
	return RM(f)->xUnlock(REAL(f), level);
}

static int f_reserved(sqlite3_file *f, int *out)
{
	return RM(f)->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	return RM(f)->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return RM(f)->xSectorSize(REAL(f));
}

static int f_chars(sqlite3_file *f)
{
	return RM(f)->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	return RM(f)->xShmMap(REAL(f), region, size, extend, out);
}

/* only taking a WAL lock can be busy; releasing one cannot fail */
static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	if ((flags & SQLITE_SHM_LOCK) && hit(FAULT_IO_LOCK))
		return SQLITE_BUSY;
	return RM(f)->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	RM(f)->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	return RM(f)->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return RM(f)->xFetch(REAL(f), off, n, out);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return RM(f)->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods io_methods = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_reserved,
	f_control, f_sector, f_chars, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch,
	f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	struct ffile *p = (struct ffile *)f;
	int rc;

	(void)vfs;
	p->real = (sqlite3_file *)(p + 1);
	p->real->pMethods = NULL;
	f->pMethods = NULL;
	if (hit(FAULT_IO_OPEN))
		return SQLITE_CANTOPEN;
	rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
	/* (SQLite closes a file whose pMethods is set even when the open failed) */
	if (p->real->pMethods)
		f->pMethods = &io_methods;
	return rc;
}

int fault_setup(void)
{
	json_set_alloc_funcs(json_alloc, free);
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return -1;
	fail_mem = real_mem;
	fail_mem.xMalloc = mem_malloc;
	fail_mem.xRealloc = mem_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &fail_mem) != SQLITE_OK)
		return -1;
	if (sqlite3_initialize() != SQLITE_OK)
		return -1;
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 1)
		return -1;
	/* the default VFS's other methods (paths, access, time, randomness) serve unchanged */
	shim_vfs = *real_vfs;
	shim_vfs.pNext = NULL;
	shim_vfs.zName = "fault";
	shim_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	shim_vfs.xOpen = v_open;
	return sqlite3_vfs_register(&shim_vfs, 1) == SQLITE_OK ? 0 : -1;
}
