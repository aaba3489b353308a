/* writer.h - group commit. Every write of the daemon runs on one connection in one thread, many
 * to a transaction, so that one fsync (synchronous=FULL) makes many answers durable at once:
 * a worker hands over a job and is answered only after the transaction holding it committed. */
#ifndef TESSERA_WRITER_H
#define TESSERA_WRITER_H

#include "err.h"
#include "store.h"

typedef struct writer writer;

/* A job: runs on the writer's store inside a transaction shared with other jobs (in a savepoint
 * of its own: when it returns an error, its changes are undone and the others' kept). It may
 * read and write through any store function. */
typedef ts_err (*writer_fn)(store *s, void *arg);

/* Opens the writer's own connection to path and starts its thread. */
ts_err writer_start(const char *path, int busy_ms, int synchronous, writer **out);
/* The writer connection's synchronous setting as SQLite reported it when it opened (see
 * store_synchronous), or -1. */
int writer_synchronous(const writer *w);

/* What the writer has done since it started: jobs run (committed or not), transactions (one per
 * batch of jobs), and the time its thread spent in them, statements and commit included: what a
 * write costs on this engine (the metrics, make bench-pg). All zero for NULL. */
struct writer_stats {
	unsigned long long jobs, batches, busy_ns;
};
void writer_stats(const writer *w, struct writer_stats *out);

/* Runs fn(s, arg) and returns once the transaction holding it has committed: fn's result, or the
 * error of the commit (then nothing of fn remains). Blocks the calling thread. */
ts_err writer_run(writer *w, writer_fn fn, void *arg);

/* The same without blocking: hands fn(s, arg) over and returns at once; done(done_arg, rc) runs
 * on the writer's thread once the transaction holding the job has committed (rc as writer_run's),
 * so it must be quick. TS_UNAVAILABLE once the writer is closed or stopping, TS_SERVER_ERROR out
 * of memory: then done never runs. */
typedef void (*writer_done)(void *done_arg, ts_err rc);
ts_err writer_submit(writer *w, writer_fn fn, void *arg, writer_done done, void *done_arg);

/* Refuses new jobs (TS_UNAVAILABLE) and returns once every job handed over before is done. */
void writer_close(writer *w);

/* Finishes the jobs already handed over, stops the thread, closes the connection. NULL is fine. */
void writer_stop(writer *w);

#endif
