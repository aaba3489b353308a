/* writer.c - group commit: one thread, one connection, one transaction per batch of jobs. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include "writer.h"

/* At most this many jobs share a transaction, so that one slow batch cannot grow unbounded. */
#define BATCH_MAX 512
/* 10,000 pages (40 MiB) of WAL between checkpoints instead of SQLite's 1,000: a page written by
 * many commits (random keys land all over a table) is copied into the database once per
 * checkpoint, so fewer checkpoints copy far less. Measured on device authorizations:
 * 6,900-7,600/s with 1,000, 8,400-10,500/s with 10,000. */
#define CHECKPOINT_PAGES 10000

struct job {
	writer_fn fn;
	void *arg;
	writer_done done;         /* called on the writer's thread once the job's batch committed */
	void *done_arg;
	ts_err rc;
	struct job *next;
};

struct writer {
	store *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;      /* jobs arrived, or stop */
	pthread_cond_t idle;      /* nothing queued or running any more (for writer_close) */
	struct job *head, **tail;
	size_t inflight;          /* jobs queued or running */
	int stop, closed;
	int synchronous;          /* as the connection reported it when it opened */
	/* what writer_stats reports: written by the writer's thread alone, read by any */
	atomic_ullong jobs, batches, busy_ns;
};

/* Runs one batch in one transaction; sets each job's rc. */
static void run_batch(writer *w, struct job *batch)
{
	struct job *j;
	struct timespec t0, t1;
	unsigned long long n = 0;
	ts_err rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_begin(w->s);

	for (j = batch; j; j = j->next) {
		n++;
		if (rc != TS_OK) {
			j->rc = rc;
			continue;
		}
		/* a failed SAVEPOINT or savepoint end may mean the transaction is lost (SQLite rolls
		 * it back itself on some errors): the jobs before this one are undone then, and the
		 * next ones must not start another; the whole batch fails */
		rc = j->rc = store_savepoint(w->s);
		if (j->rc == TS_OK) {
			j->rc = j->fn(w->s, j->arg);
			rc = store_savepoint_end(w->s, j->rc != TS_OK);
		}
	}
	if (rc == TS_OK)
		rc = store_commit(w->s);
	if (rc != TS_OK) {
		store_rollback(w->s);
		for (j = batch; j; j = j->next)
			if (j->rc == TS_OK)
				j->rc = rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_fetch_add_explicit(&w->jobs, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->busy_ns, (unsigned long long)((t1.tv_sec - t0.tv_sec) *
	                          1000000000LL + (t1.tv_nsec - t0.tv_nsec)), memory_order_relaxed);
}

static void *writer_main(void *arg)
{
	writer *w = arg;
	struct job *batch, *j, *next;
	int n;

	/* every worker waiting for a commit waits on this one thread: when the cores are busy it
	 * must not queue behind them (allowed to root or with CAP_SYS_NICE; harmless otherwise) */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -10);

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->head)
			break;
		/* take up to BATCH_MAX jobs off the queue */
		batch = w->head;
		for (j = batch, n = 1; j->next && n < BATCH_MAX; j = j->next, n++)
			;
		w->head = j->next;
		if (!w->head)
			w->tail = &w->head;
		j->next = NULL;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch);
		/* answers in the order the jobs came; each job is the submitter's until done runs */
		for (j = batch, n = 0; j; j = next, n++) {
			next = j->next;
			j->done(j->done_arg, j->rc);
			free(j);
		}
		pthread_mutex_lock(&w->mu);
		w->inflight -= (size_t)n;
		if (w->inflight == 0)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

ts_err writer_start(const char *path, int busy_ms, int synchronous, writer **out)
{
	writer *w = calloc(1, sizeof *w);
	ts_err rc;

	*out = NULL;
	if (!w)
		return TS_SERVER_ERROR;
	rc = store_open(path, busy_ms, synchronous, &w->s);
	if (rc != TS_OK) {
		free(w);
		return rc;
	}
	store_tune_writer(w->s, CHECKPOINT_PAGES);
	w->synchronous = store_synchronous(w->s);   /* before the thread owns the connection */
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_close(w->s);
		free(w);
		return TS_SERVER_ERROR;
	}
	*out = w;
	return TS_OK;
}

int writer_synchronous(const writer *w)
{
	return w ? w->synchronous : -1;
}

void writer_stats(const writer *w, struct writer_stats *out)
{
	*out = (struct writer_stats){0, 0, 0};
	if (!w)
		return;
	out->jobs = atomic_load_explicit(&w->jobs, memory_order_relaxed);
	out->batches = atomic_load_explicit(&w->batches, memory_order_relaxed);
	out->busy_ns = atomic_load_explicit(&w->busy_ns, memory_order_relaxed);
}

ts_err writer_submit(writer *w, writer_fn fn, void *arg, writer_done done, void *done_arg)
{
	struct job *j = malloc(sizeof *j);

	if (!j)
		return TS_SERVER_ERROR;
	*j = (struct job){fn, arg, done, done_arg, TS_OK, NULL};
	pthread_mutex_lock(&w->mu);
	if (w->stop || w->closed) {
		pthread_mutex_unlock(&w->mu);
		free(j);
		return TS_UNAVAILABLE;
	}
	*w->tail = j;
	w->tail = &j->next;
	w->inflight++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return TS_OK;
}

/* A blocked writer_run's side of its job. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cond;      /* its thread waits on it alone: no herd wakes on each commit */
	int done;
	ts_err rc;
};

static void wake(void *arg, ts_err rc)
{
	struct waiter *wt = arg;

	pthread_mutex_lock(&wt->mu);
	wt->rc = rc;
	wt->done = 1;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->mu);
}

ts_err writer_run(writer *w, writer_fn fn, void *arg)
{
	struct waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, TS_OK};
	ts_err rc = writer_submit(w, fn, arg, wake, &wt);

	if (rc == TS_OK) {
		pthread_mutex_lock(&wt.mu);
		while (!wt.done)
			pthread_cond_wait(&wt.cond, &wt.mu);
		pthread_mutex_unlock(&wt.mu);
		rc = wt.rc;
	}
	pthread_cond_destroy(&wt.cond);
	pthread_mutex_destroy(&wt.mu);
	return rc;
}

void writer_close(writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->closed = 1;
	while (w->inflight)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void writer_stop(writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->idle);
	store_close(w->s);
	free(w);
}
