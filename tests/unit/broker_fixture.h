/* broker_fixture.h - the shared part of the plugin's unit suites (see broker_fixture.c). */
#ifndef TESSERA_BROKER_FIXTURE_H
#define TESSERA_BROKER_FIXTURE_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "broker.h"
#include "jwt.h"

#define ISS "http://127.0.0.1:8080"

/* Made once by broker_fixture_run and inherited by every test: ES256 A and RS256 R are
 * published; ES256 C never is. */
extern char *pem_a, *pem_r, *pem_c;

/* The keys of one test (setup, teardown) and a temporary directory for JWKS files. */
struct broker_fx {
	jwt_key *a, *r, *c;
	char dir[64];
	char path[128];
};
extern struct broker_fx fx;

struct fake {
	int lfd, port;
	pthread_t th;
	atomic_int stop;
	pthread_mutex_t mu;
	int status;                    /* the answer */
	char headers[256];             /* extra header lines, each ending in \r\n */
	char body[16384];
	char inactive[128];            /* a request body holding this gets {"active":false} */
	int requests;                  /* what was asked */
	char method[8], path[256], auth[1024], req_body[65536];
};
extern struct fake srv;

void setup(void);
void teardown(void);
char *jwks_text(const jwt_key *const *keys, const char *extra);
void write_file(const char *path, const char *text);
jwks *open_file_ar(const char *audience);
char *access_token(const jwt_key *k, const char *iss, const char *aud, int64_t iat,
                   int64_t exp);
char *token_with(const jwt_key *k, const char *typ, const char *claims_json);
ts_err verify(jwks *j, const char *token, int64_t now);
char *b64url_of(const void *data, size_t n);
char *forge(const char *header, const char *payload, const char *secret);
char *public_pem(const char *private_pem);
void fake_answer(struct fake *f, int status, const char *body);
void fake_answer_with(struct fake *f, int status, const char *headers, const char *body);
int fake_requests(struct fake *f);
int listen_any(int *port);
void fake_start(struct fake *f, int status, const char *body);
void fake_stop(struct fake *f);
int dead_port(void);
double mono(void);

/* Makes the keys, runs the suite, frees the keys: main()'s exit status. */
int broker_fixture_run(Suite *s);

#endif
