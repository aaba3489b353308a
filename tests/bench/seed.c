/* seed.c - fills a Tessera database fast, for benchmarks: `tessera_seed DB USERS [CLIENTS
 * [GRANTS]]` adds USERS users (user0000001 ..., with a name, a work email and an MQTT scope, no
 * password), CLIENTS confidential clients (device0000001 ..., client credentials, secret
 * "bench-secret") and GRANTS grants spread over them, through the store module in transactions of
 * 10,000 rows (not over HTTP). Prints what it added and how long it took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "client.h"
#include "secret.h"
#include "store.h"

#define BATCH 10000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs add(s, i, arg) for i in 1..n, BATCH to a transaction. */
static int batched(store *s, long n, ts_err (*add)(store *s, long i, void *arg), void *arg,
                   const char *what)
{
	double t0 = now_s();
	long i;

	for (i = 1; i <= n; i++) {
		if ((i - 1) % BATCH == 0 && store_begin(s) != TS_OK)
			return -1;
		if (add(s, i, arg) != TS_OK) {
			fprintf(stderr, "seed: adding %s %ld failed\n", what, i);
			store_rollback(s);
			return -1;
		}
		if ((i % BATCH == 0 || i == n) && store_commit(s) != TS_OK)
			return -1;
	}
	printf("%ld %s in %.1f s\n", n, what, now_s() - t0);
	return 0;
}

static ts_err add_user(store *s, long i, void *arg)
{
	char name[32], attrs[256], display[48];
	struct user u = {0};

	(void)arg;
	snprintf(name, sizeof name, "user%07ld", i);
	snprintf(display, sizeof display, "User %ld", i);
	snprintf(attrs, sizeof attrs, "{\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":"
	         "\"%s@example.com\"}],\"name\":{\"familyName\":\"Number %ld\",\"givenName\":"
	         "\"User\"}}", name, i);
	u.username = name;
	u.name = display;
	u.email = NULL;
	u.scope = "mqtt:sub:users/${username}/#";
	u.active = 1;
	u.attrs = attrs;
	u.created_at = u.updated_at = (int64_t)time(NULL);
	return store_user_add(s, &u);
}

static ts_err add_client(store *s, long i, void *arg)
{
	struct client c = {0};
	char id[32];

	snprintf(id, sizeof id, "device%07ld", i);
	c.client_id = id;
	c.name = "";
	c.redirect_uris = "";
	c.grant_types = "client_credentials";
	c.scope = "mqtt:pub:devices/${clientid}/# mqtt:sub:devices/${clientid}/cmd/#";
	c.refresh_rotation = 1;
	c.active = 1;
	memcpy(c.secret_hash, arg, sizeof c.secret_hash);
	c.created_at = c.updated_at = (int64_t)time(NULL);
	return store_client_add(s, &c);
}

struct grant_arg {
	long users, clients;
};

static ts_err add_grant(store *s, long i, void *arg)
{
	const struct grant_arg *a = arg;
	struct grant g = {0};
	char id[32];

	/* round r = k / users gives user u the client u + r: (user, client) pairs never repeat,
	 * as a user has at most one active grant per client */
	long k = i - 1, u = a->users ? k % a->users : 0, r = a->users ? k / a->users : k;

	snprintf(id, sizeof id, "device%07ld", (u + r) % a->clients + 1);
	g.client_id = id;
	g.user_id = a->users ? u + 1 : 0;
	g.scope = "mqtt:sub:bench/#";
	g.created_at = (int64_t)time(NULL);
	return store_grant_add(s, &g);
}

int main(int argc, char **argv)
{
	unsigned char hash[32];
	struct grant_arg ga;
	store *s = NULL;
	long users, clients, grants;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: tessera_seed DB USERS [CLIENTS [GRANTS]]\n");
		return 2;
	}
	users = atol(argv[2]);
	clients = argc > 3 ? atol(argv[3]) : 0;
	grants = argc > 4 ? atol(argv[4]) : 0;
	if (users < 0 || clients < 0 || grants < 0 || (grants && !clients) ||
	    (users && clients && grants > users * clients)) {
		fprintf(stderr, "seed: bad counts\n");
		return 2;
	}
	if (store_open(argv[1], 5000, 1, &s) != TS_OK) {
		fprintf(stderr, "seed: cannot open %s\n", argv[1]);
		return 1;
	}
	secret_sha256("bench-secret", 12, hash);
	ga.users = users;
	ga.clients = clients;
	if (batched(s, users, add_user, NULL, "users") || batched(s, clients, add_client, hash, "clients") ||
	    batched(s, grants, add_grant, &ga, "grants")) {
		store_close(s);
		return 1;
	}
	store_close(s);
	return 0;
}
