/* broker_fixture.c - what the plugin's unit suites (tests/unit/test_broker_*.c) share: keys,
 * tokens good and forged, JWKS files, and a tiny HTTP server in a thread of the test (127.0.0.1,
 * a port the kernel picks, one request per connection) that answers canned JSON, counts requests
 * and keeps the last one. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64.h"
#include "broker_fixture.h"
#include "broker.h"
#include "jwt.h"
#include "secret.h"
#include "token.h"


char *pem_a, *pem_r, *pem_c;

struct broker_fx fx;

void setup(void)
{
	ck_assert_int_eq(jwt_key_load("ES256", pem_a, &fx.a), TS_OK);
	ck_assert_int_eq(jwt_key_load("RS256", pem_r, &fx.r), TS_OK);
	ck_assert_int_eq(jwt_key_load("ES256", pem_c, &fx.c), TS_OK);
	strcpy(fx.dir, "/tmp/test_broker.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof fx.path, "%s/jwks.json", fx.dir);
}

void teardown(void)
{
	unlink(fx.path);
	rmdir(fx.dir);
	jwt_key_free(fx.a);
	jwt_key_free(fx.r);
	jwt_key_free(fx.c);
	token_cache_clear();
	memset(&fx, 0, sizeof fx);
}

/* The JWKS text of the given keys (NULL-terminated), plus extra JWK texts (may be NULL). */
char *jwks_text(const jwt_key *const *keys, const char *extra)
{
	json_t *doc = json_pack("{s:[]}", "keys"), *arr = json_object_get(doc, "keys"), *e;
	char *s;

	for (; *keys; keys++)
		ck_assert_int_eq(json_array_append_new(arr, jwt_key_public_jwk(*keys)), 0);
	if (extra) {
		e = json_loads(extra, 0, NULL);
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(json_array_extend(arr, e), 0);
		json_decref(e);
	}
	s = json_dumps(doc, JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	json_decref(doc);
	return s;
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Opens a jwks from a file holding keys A and R. */
jwks *open_file_ar(const char *audience)
{
	const jwt_key *keys[] = { fx.a, fx.r, NULL };
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .audience = (char *)audience,
	                          .jwks_file = fx.path, .cache_seconds = 30 };
	char *text = jwks_text(keys, NULL);
	const char *why = NULL;
	jwks *j = NULL;

	write_file(fx.path, text);
	free(text);
	ck_assert_int_eq(jwks_open(&cfg, &j, &why), TS_OK);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* A good access token from key k, per lib/common/token.c. */
char *access_token(const jwt_key *k, const char *iss, const char *aud, int64_t iat,
                          int64_t exp)
{
	struct access_token t = { .iss = iss, .aud = aud, .sub = "dev1", .client_id = "dev1",
	                          .scope = "mqtt:pub:sensors/dev1/#", .iat = iat, .exp = exp };
	char *jwt = NULL;

	ck_assert_int_eq(token_access_sign(k, &t, MQTT_CLAIM_NONE, &jwt), TS_OK);
	return jwt;
}

/* A token from key k with typ and the claims in JSON text (for what token_access_sign never
 * writes: an aud array, nbf, missing claims). */
char *token_with(const jwt_key *k, const char *typ, const char *claims_json)
{
	json_t *claims = json_loads(claims_json, 0, NULL);
	char *jwt = NULL;

	ck_assert_ptr_nonnull(claims);
	ck_assert_int_eq(jwt_sign(k, typ, claims, &jwt), TS_OK);
	json_decref(claims);
	return jwt;
}

/* jwks_verify's answer, dropping the claims. */
ts_err verify(jwks *j, const char *token, int64_t now)
{
	json_t *claims = (json_t *)1;
	ts_err rc = jwks_verify(j, token, now, &claims);

	if (rc == TS_OK)
		ck_assert(json_is_object(claims));
	else
		ck_assert_ptr_null(claims);
	json_decref(claims);
	return rc;
}

char *b64url_of(const void *data, size_t n)
{
	char *s = malloc(B64URL_LEN(n));

	ck_assert_ptr_nonnull(s);
	b64url_encode(data, n, s);
	return s;
}

/* header.payload.sig, the signature being HMAC-SHA256 with secret (or empty when NULL). */
char *forge(const char *header, const char *payload, const char *secret)
{
	char *h = b64url_of(header, strlen(header)), *p = b64url_of(payload, strlen(payload));
	char *input, *s, *t;
	unsigned char mac[32];
	unsigned int mlen = 0;
	size_t n = strlen(h) + strlen(p) + 2;

	input = malloc(n);
	ck_assert_ptr_nonnull(input);
	snprintf(input, n, "%s.%s", h, p);
	if (secret)
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
		                           (const unsigned char *)input, strlen(input), mac, &mlen));
	s = b64url_of(mac, mlen);
	t = malloc(n + strlen(s) + 1);
	ck_assert_ptr_nonnull(t);
	sprintf(t, "%s.%s", input, s);
	free(h);
	free(p);
	free(s);
	free(input);
	return t;
}

char *public_pem(const char *private_pem)
{
	BIO *in = BIO_new_mem_buf(private_pem, -1), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	char *data, *s;
	long len;

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(out, pk), 1);
	len = BIO_get_mem_data(out, &data);
	s = strndup(data, (size_t)len);
	EVP_PKEY_free(pk);
	BIO_free(in);
	BIO_free(out);
	return s;
}

/* --- a tiny HTTP server --- */


struct fake srv;

void fake_answer(struct fake *f, int status, const char *body)
{
	pthread_mutex_lock(&f->mu);
	f->status = status;
	f->headers[0] = '\0';
	snprintf(f->body, sizeof f->body, "%s", body);
	pthread_mutex_unlock(&f->mu);
}

/* The same with extra header lines (each ending in \r\n). */
void fake_answer_with(struct fake *f, int status, const char *headers, const char *body)
{
	fake_answer(f, status, body);
	pthread_mutex_lock(&f->mu);
	snprintf(f->headers, sizeof f->headers, "%s", headers);
	pthread_mutex_unlock(&f->mu);
}

int fake_requests(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->mu);
	n = f->requests;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* Reads one request from fd and answers it. */
static void fake_serve(struct fake *f, int fd)
{
	static char buf[131072];
	char out[20000], *end, *cl, *h;
	size_t got = 0, need = 0;
	ssize_t n;
	struct timeval tv = { 2, 0 };
	int status;
	const char *body;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (;;) {
		if (got == sizeof buf - 1)
			return;
		n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
		if (n <= 0)
			return;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		if (got >= need)
			break;
	}
	pthread_mutex_lock(&f->mu);
	f->requests++;
	sscanf(buf, "%7s %255s", f->method, f->path);
	f->auth[0] = '\0';
	h = strcasestr(buf, "\r\nAuthorization: ");
	if (h && h < end)
		sscanf(h + 17, "%1023[^\r]", f->auth);
	snprintf(f->req_body, sizeof f->req_body, "%.*s", (int)(need - (size_t)(end + 4 - buf)),
	         end + 4);
	status = f->status;
	body = f->body;
	if (f->inactive[0] && strstr(f->req_body, f->inactive)) {
		status = 200;
		body = "{\"active\":false}";
	}
	n = snprintf(out, sizeof out, "HTTP/1.1 %d Whatever\r\nContent-Type: application/json\r\n"
	             "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status, f->headers,
	             strlen(body), body);
	pthread_mutex_unlock(&f->mu);
	if (send(fd, out, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void *fake_loop(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	int fd;

	while (!atomic_load(&f->stop)) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fake_serve(f, fd);
		close(fd);
	}
	return NULL;
}

/* Binds 127.0.0.1 on a free port; returns the socket and fills *port. */
int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void fake_start(struct fake *f, int status, const char *body)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = listen_any(&f->port);
	ck_assert_int_eq(listen(f->lfd, 16), 0);
	fake_answer(f, status, body);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_loop, f), 0);
}

void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	pthread_mutex_destroy(&f->mu);
}

/* A port where nothing listens (connection refused). */
int dead_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int broker_fixture_run(Suite *s)
{
	SRunner *sr;
	int failed;

	if (jwt_key_generate("ES256", &pem_a) != TS_OK || jwt_key_generate("RS256", &pem_r) != TS_OK ||
	    jwt_key_generate("ES256", &pem_c) != TS_OK) {
		fprintf(stderr, "key generation failed\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	secret_free(pem_a);
	secret_free(pem_r);
	secret_free(pem_c);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
