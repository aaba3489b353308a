/* tokenreq.h - token requests forwarded to Tessera's /token by worker threads, for the control
 * topic (control.c). Nothing here includes mosquitto headers: the broker thread submits jobs and
 * collects the answered ones (tokenreq_done), and publishes them itself.
 *
 * A job's body (a POST /token form body, as the device sent it) is posted unchanged; the answer
 * is Tessera's body unchanged when it is a JSON object that is a token response (HTTP 200) or
 * an OAuth error (has a string "error"), else a {"error":"temporarily_unavailable",...} of the
 * plugin's own (no connection, a timeout, a 5xx page that is not an OAuth error, ...). Bodies
 * and answers are wiped when freed and never logged. */
#ifndef TESSERA_BROKER_TOKENREQ_H
#define TESSERA_BROKER_TOKENREQ_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define TOKENREQ_WORKERS 4        /* requests to Tessera at once */
#define TOKENREQ_MAX_JOBS 256     /* jobs queued or in progress; more are refused at once */
#define TOKENREQ_MAX_BODY 8192    /* longest request body forwarded */

struct tokenreq_job {
	/* who asked and where to answer: the caller's, carried through untouched (freed by
	 * tokenreq_job_free: topic and corr with free()) */
	const void *conn;
	uint64_t serial;
	char *topic;
	void *corr;
	size_t corrlen;
	/* the request: wiped and freed once sent */
	char *body;
	size_t blen;
	/* the answer, NUL-terminated (set when the job comes back from tokenreq_done) */
	char *answer;
	size_t alen;
	long status;                  /* Tessera's HTTP status; 0: no answer from it */
	struct tokenreq_job *next;
};

typedef struct tokenreq tokenreq;

/* Starts TOKENREQ_WORKERS threads posting to url (http or https; ca_file as in fetch.h). */
ts_err tokenreq_open(const char *url, const char *ca_file, tokenreq **out, const char **why);

/* Stops the threads (a request in progress is aborted) and frees every job. NULL is fine. */
void tokenreq_close(tokenreq *t);

/* Queues job (taking it over) on TS_OK; TS_UNAVAILABLE when TOKENREQ_MAX_JOBS are queued or in
 * progress (the caller keeps the job). */
ts_err tokenreq_submit(tokenreq *t, struct tokenreq_job *job);

/* Up to max answered jobs into jobs (oldest first), taken out of t: the caller frees them. */
size_t tokenreq_done(tokenreq *t, struct tokenreq_job **jobs, size_t max);

/* {"error":"temporarily_unavailable","error_description":"..."} style answers, malloc'd, for
 * error (an RFC 6749 §5.2 code) and description (plain text without quotes or backslashes). */
char *tokenreq_error(const char *error, const char *description, size_t *len);

/* Frees a job: the body and the answer wiped. NULL is fine. */
void tokenreq_job_free(struct tokenreq_job *job);

#endif
