/* writer.c - group commit: one thread, one connection, one transaction per batch of jobs. */
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include "writer.h"

/* At most this many jobs share a transaction, so that one slow batch cannot grow unbounded. */
#define BATCH_MAX 512

struct job {
	writer_fn fn;
	void *arg;
	ts_err rc;
	int done;
	pthread_cond_t cond;      /* its worker waits on it alone: no herd wakes on each commit */
	struct job *next;
};

struct writer {
	store *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;      /* jobs arrived, or stop */
	struct job *head, **tail;
	int stop;
};

/* Runs one batch in one transaction; sets each job's rc. */
static void run_batch(writer *w, struct job *batch)
{
	struct job *j;
	ts_err rc = store_begin(w->s);

	for (j = batch; j; j = j->next) {
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
		pthread_mutex_lock(&w->mu);
		for (j = batch; j; j = next) {
			next = j->next; /* j lives on its worker's stack: gone once it wakes */
			j->done = 1;
			pthread_cond_signal(&j->cond);
		}
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
	if (rc == TS_OK && (rc = store_tune_writer(w->s)) != TS_OK)
		store_close(w->s);
	if (rc != TS_OK) {
		free(w);
		return rc;
	}
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_close(w->s);
		free(w);
		return TS_SERVER_ERROR;
	}
	*out = w;
	return TS_OK;
}

ts_err writer_run(writer *w, writer_fn fn, void *arg)
{
	struct job j = {fn, arg, TS_OK, 0, PTHREAD_COND_INITIALIZER, NULL};

	pthread_mutex_lock(&w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		return TS_UNAVAILABLE;
	}
	*w->tail = &j;
	w->tail = &j.next;
	pthread_cond_signal(&w->work);
	while (!j.done)
		pthread_cond_wait(&j.cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&j.cond);
	return j.rc;
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
	store_close(w->s);
	free(w);
}
