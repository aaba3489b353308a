/* tokenreq.c - the worker threads that post token requests to Tessera (see tokenreq.h).
 *
 * Threads: tokenreq_submit and tokenreq_done are called from the broker thread; each worker has
 * its own libcurl handle. The queues (waiting, done) are under t->mu, which is never held during
 * an HTTP request. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fetch.h"
#include "secret.h"
#include "tokenreq.h"

struct tokenreq {
	struct curl_slist *headers;
	CURL *curl[TOKENREQ_WORKERS];
	pthread_t thread[TOKENREQ_WORKERS];
	int started;                       /* threads running */
	atomic_int stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tokenreq_job *wait_head, *wait_tail;
	struct tokenreq_job *done_head, *done_tail;
	size_t jobs;                       /* waiting, in progress, or done and not collected */
};

struct worker_arg {
	tokenreq *t;
	int i;
};

static void wipe_free(char *p, size_t n)
{
	if (p) {
		secret_wipe(p, n);
		free(p);
	}
}

void tokenreq_job_free(struct tokenreq_job *job)
{
	if (!job)
		return;
	wipe_free(job->body, job->blen);
	wipe_free(job->answer, job->alen);
	free(job->topic);
	free(job->corr);
	free(job);
}

char *tokenreq_error(const char *error, const char *description, size_t *len)
{
	static const char fmt[] = "{\"error\":\"%s\",\"error_description\":\"%s\"}";
	size_t n = sizeof fmt + strlen(error) + strlen(description);
	char *out = malloc(n);

	if (!out)
		return NULL;
	snprintf(out, n, fmt, error, description);
	if (len)
		*len = strlen(out);
	return out;
}

/* Whether Tessera's answer goes to the device as it is: a JSON object that is a token response
 * (200) or an OAuth error. */
static int forwardable(const struct fetch_reply *r)
{
	json_error_t jerr;
	json_t *doc;
	int ok;

	if (r->status != 200 && (r->status < 400 || r->status > 599))
		return 0;
	doc = json_loadb(r->body, r->len, 0, &jerr);
	ok = json_is_object(doc) &&
	     (r->status == 200 ? json_is_string(json_object_get(doc, "access_token")) :
	      json_is_string(json_object_get(doc, "error")));
	json_decref(doc);
	return ok;
}

/* One request: the job's answer (and status) from Tessera or of the plugin's own. */
static void tokenreq_run(tokenreq *t, CURL *c, struct tokenreq_job *job)
{
	struct fetch_reply r = {0};
	const char *why = "out of memory";
	char desc[96];

	if (fetch_do(c, job->body, job->blen, t->headers, &r, &why) == TS_OK) {
		job->status = r.status;
		if (forwardable(&r)) {
			job->answer = r.body;
			job->alen = r.len;
			r.body = NULL;
			r.len = 0;
		} else {
			snprintf(desc, sizeof desc, "the authorization server answered HTTP %ld", r.status);
			job->answer = tokenreq_error("temporarily_unavailable", desc, &job->alen);
		}
	} else {
		snprintf(desc, sizeof desc, "the authorization server could not be reached: %s", why);
		job->answer = tokenreq_error("temporarily_unavailable", desc, &job->alen);
	}
	fetch_reply_free(&r);
}

static void *tokenreq_worker(void *arg)
{
	struct worker_arg *a = arg;
	tokenreq *t = a->t;
	CURL *c = t->curl[a->i];
	struct tokenreq_job *job;

	free(a);
	pthread_mutex_lock(&t->mu);
	while (!atomic_load(&t->stop)) {
		job = t->wait_head;
		if (!job) {
			pthread_cond_wait(&t->cv, &t->mu);
			continue;
		}
		t->wait_head = job->next;
		if (!t->wait_head)
			t->wait_tail = NULL;
		job->next = NULL;
		pthread_mutex_unlock(&t->mu);

		tokenreq_run(t, c, job);
		/* the request is no longer needed: it holds a refresh token and a secret */
		wipe_free(job->body, job->blen);
		job->body = NULL;
		job->blen = 0;

		pthread_mutex_lock(&t->mu);
		if (t->done_tail)
			t->done_tail->next = job;
		else
			t->done_head = job;
		t->done_tail = job;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

ts_err tokenreq_submit(tokenreq *t, struct tokenreq_job *job)
{
	pthread_mutex_lock(&t->mu);
	if (t->jobs >= TOKENREQ_MAX_JOBS) {
		pthread_mutex_unlock(&t->mu);
		return TS_UNAVAILABLE;
	}
	t->jobs++;
	job->next = NULL;
	if (t->wait_tail)
		t->wait_tail->next = job;
	else
		t->wait_head = job;
	t->wait_tail = job;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return TS_OK;
}

size_t tokenreq_done(tokenreq *t, struct tokenreq_job **jobs, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	while (n < max && t->done_head) {
		jobs[n] = t->done_head;
		t->done_head = jobs[n]->next;
		jobs[n]->next = NULL;
		n++;
	}
	if (!t->done_head)
		t->done_tail = NULL;
	t->jobs -= n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

static void free_list(struct tokenreq_job *j)
{
	struct tokenreq_job *next;

	for (; j; j = next) {
		next = j->next;
		tokenreq_job_free(j);
	}
}

void tokenreq_close(tokenreq *t)
{
	int i;

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->stop, 1);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	for (i = 0; i < t->started; i++)
		pthread_join(t->thread[i], NULL);
	free_list(t->wait_head);
	free_list(t->done_head);
	for (i = 0; i < TOKENREQ_WORKERS; i++)
		if (t->curl[i])
			curl_easy_cleanup(t->curl[i]);
	curl_slist_free_all(t->headers);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

ts_err tokenreq_open(const char *url, const char *ca_file, tokenreq **out, const char **why)
{
	static const char *const fixed[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		"Expect:",
	};
	tokenreq *t;
	struct curl_slist *h;
	struct worker_arg *a;
	sigset_t all, old;
	size_t k;
	int i, err;
	ts_err rc;

	*out = NULL;
	*why = "out of memory";
	t = calloc(1, sizeof *t);
	if (!t)
		return TS_SERVER_ERROR;
	atomic_init(&t->stop, 0);
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return TS_SERVER_ERROR;
	}
	if (pthread_cond_init(&t->cv, NULL) != 0) {
		pthread_mutex_destroy(&t->mu);
		free(t);
		return TS_SERVER_ERROR;
	}
	for (k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
		h = curl_slist_append(t->headers, fixed[k]);
		if (!h) {
			tokenreq_close(t);
			return TS_SERVER_ERROR;
		}
		t->headers = h;
	}
	for (i = 0; i < TOKENREQ_WORKERS; i++) {
		rc = fetch_new(url, ca_file, &t->stop, &t->curl[i], why);
		if (rc != TS_OK) {
			if (rc == TS_INVALID_REQUEST)
				*why = "plugin_opt_token_url must be an http or https URL";
			tokenreq_close(t);
			return rc;
		}
	}
	/* the broker's signals are for the broker's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < TOKENREQ_WORKERS; i++) {
		a = malloc(sizeof *a);
		err = !a;
		if (a) {
			a->t = t;
			a->i = i;
			err = pthread_create(&t->thread[i], NULL, tokenreq_worker, a) != 0;
			if (err)
				free(a);
		}
		if (err)
			break;
		t->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (t->started < TOKENREQ_WORKERS) {
		*why = "cannot start the token request threads";
		tokenreq_close(t);
		return TS_SERVER_ERROR;
	}
	*out = t;
	return TS_OK;
}
