/* client_assertion_jti.c - each assertion's jti used once (RFC 7523 §3 item 7), without an
 * fsync in the answer's path.
 *
 * The record is the client_assertions table (schema 013), written through the writer as a job
 * that the answer does not wait for: the jti is first put in a small table of recent ones in
 * memory, under the lock of its set, so that a replay racing the commit (or sent before it) is
 * caught there; the table is then asked (the worker's own connection, no write), which catches a
 * replay of a jti committed before a restart, or by another process on the same database; then
 * the insert is handed to the writer. A clean stop drains the writer (writer_close), so the
 * record survives a restart; only a crash within the commit's few milliseconds can lose one. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client_assertion.h"
#include "secret.h"

#define SETS 4096
#define WAYS 4  /* per set: an entry is only replaced by an expired or the oldest one */

static struct jti_set {
	pthread_mutex_t mu;
	struct {
		unsigned char h[32]; /* SHA-256 of client_id NUL jti */
		int64_t exp;         /* until when a replay of it would be accepted (0: free) */
		int64_t at;          /* when it was used */
	} e[WAYS];
} sets[SETS];
static pthread_once_t sets_once = PTHREAD_ONCE_INIT;

static void sets_init(void)
{
	size_t i;

	for (i = 0; i < SETS; i++)
		pthread_mutex_init(&sets[i].mu, NULL);
}

static void jti_hash(const char *client_id, const char *jti, unsigned char h[32])
{
	size_t a = strlen(client_id), b = strlen(jti);
	char *buf = malloc(a + b + 1);

	if (!buf) { /* out of memory: a hash that still depends on both */
		unsigned char h2[32];

		secret_sha256(client_id, a, h);
		secret_sha256(jti, b, h2);
		for (a = 0; a < 32; a++)
			h[a] ^= h2[a];
		return;
	}
	memcpy(buf, client_id, a + 1);
	memcpy(buf + a + 1, jti, b);
	secret_sha256(buf, a + b + 1, h);
	free(buf);
}

/* Puts h in its set: 0, or -1 when it is there already (a replay). */
static int remember(const unsigned char h[32], int64_t exp, int64_t now, int forget)
{
	struct jti_set *set;
	size_t i, pick = 0;

	pthread_once(&sets_once, sets_init);
	set = &sets[(((size_t)h[0] << 8 | h[1]) << 8 | h[2]) % SETS];
	pthread_mutex_lock(&set->mu);
	for (i = 0; i < WAYS; i++) {
		if (set->e[i].exp > now && memcmp(set->e[i].h, h, 32) == 0) {
			if (forget)
				set->e[i].exp = 0;
			pthread_mutex_unlock(&set->mu);
			return forget ? 0 : -1;
		}
	}
	/* a free or expired way, else the oldest (committed long since: commits take ms) */
	for (i = 0; i < WAYS; i++) {
		if (set->e[i].exp <= now) {
			pick = i;
			break;
		}
		if (set->e[i].at < set->e[pick].at)
			pick = i;
	}
	if (!forget) {
		memcpy(set->e[pick].h, h, 32);
		set->e[pick].exp = exp;
		set->e[pick].at = now;
	}
	pthread_mutex_unlock(&set->mu);
	return 0;
}

struct jti_job {
	char *client_id, *jti;
	int64_t exp;
};

static ts_err jti_insert(store *s, void *arg)
{
	struct jti_job *j = arg;
	ts_err rc = store_assertion_use(s, j->client_id, j->jti, j->exp);

	/* recorded already (a replay sent before this commit was caught in memory) */
	return rc == TS_CONFLICT ? TS_OK : rc;
}

static void jti_done(void *arg, ts_err rc)
{
	struct jti_job *j = arg;

	(void)rc;
	free(j->client_id);
	free(j->jti);
	free(j);
}

ts_err client_assertion_jti_use(store *s, writer *w, const char *client_id, const char *jti,
                                int64_t exp, int64_t now)
{
	unsigned char h[32];
	struct jti_job *j;
	ts_err rc;

	jti_hash(client_id, jti, h);
	if (remember(h, exp, now, 0) != 0)
		return TS_CONFLICT;
	rc = store_assertion_seen(s, client_id, jti, now);
	if (rc == TS_OK)
		return TS_CONFLICT;
	if (rc != TS_NOT_FOUND)
		goto fail;
	rc = TS_SERVER_ERROR;
	j = calloc(1, sizeof *j);
	if (!j || !(j->client_id = strdup(client_id)) || !(j->jti = strdup(jti))) {
		if (j)
			jti_done(j, rc);
		goto fail;
	}
	j->exp = exp;
	rc = writer_submit(w, jti_insert, j, jti_done, j);
	if (rc == TS_OK)
		return TS_OK;
	jti_done(j, rc);
fail:
	remember(h, exp, now, 1); /* not used after all: the client may send it again */
	return rc;
}
