/* test_broker.c - the mosquitto plugin's keys (broker/jwks.c), introspection
 * (broker/introspect.c) and client-id rule (broker/clientid.c), without mosquitto.
 *
 * Tokens are made with lib/common/token.c and lib/common/jwt.c, or forged with OpenSSL for the attacks. The
 * HTTP side is a tiny server in a thread of the test (127.0.0.1, a port the kernel picks, one
 * request per connection) that answers canned JSON, counts requests and keeps the last one. */
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
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64.h"
#include "broker.h"
#include "jwt.h"
#include "secret.h"
#include "token.h"
#include "slowdown.h"

#define ISS "http://127.0.0.1:8080"

/* Made once in main() and inherited by every test. */
static char *pem_a, *pem_r, *pem_c;    /* ES256 A and RS256 R are published; ES256 C never is */

static struct {
	jwt_key *a, *r, *c;
	char dir[64];                  /* a temporary directory for JWKS files */
	char path[128];
} fx;

static void setup(void)
{
	ck_assert_int_eq(jwt_key_load("ES256", pem_a, &fx.a), TS_OK);
	ck_assert_int_eq(jwt_key_load("RS256", pem_r, &fx.r), TS_OK);
	ck_assert_int_eq(jwt_key_load("ES256", pem_c, &fx.c), TS_OK);
	strcpy(fx.dir, "/tmp/test_broker.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof fx.path, "%s/jwks.json", fx.dir);
}

static void teardown(void)
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
static char *jwks_text(const jwt_key *const *keys, const char *extra)
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

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Opens a jwks from a file holding keys A and R. */
static jwks *open_file_ar(const char *audience)
{
	const jwt_key *keys[] = { fx.a, fx.r, NULL };
	struct broker_cfg cfg = { .issuer = (char *)ISS, .audience = (char *)audience,
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
static char *access_token(const jwt_key *k, const char *iss, const char *aud, int64_t iat,
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
static char *token_with(const jwt_key *k, const char *typ, const char *claims_json)
{
	json_t *claims = json_loads(claims_json, 0, NULL);
	char *jwt = NULL;

	ck_assert_ptr_nonnull(claims);
	ck_assert_int_eq(jwt_sign(k, typ, claims, &jwt), TS_OK);
	json_decref(claims);
	return jwt;
}

/* jwks_verify's answer, dropping the claims. */
static ts_err verify(jwks *j, const char *token, int64_t now)
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

static char *b64url_of(const void *data, size_t n)
{
	char *s = malloc(B64URL_LEN(n));

	ck_assert_ptr_nonnull(s);
	b64url_encode(data, n, s);
	return s;
}

/* header.payload.sig, the signature being HMAC-SHA256 with secret (or empty when NULL). */
static char *forge(const char *header, const char *payload, const char *secret)
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

static char *public_pem(const char *private_pem)
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

static struct fake srv;

static void fake_answer(struct fake *f, int status, const char *body)
{
	pthread_mutex_lock(&f->mu);
	f->status = status;
	f->headers[0] = '\0';
	snprintf(f->body, sizeof f->body, "%s", body);
	pthread_mutex_unlock(&f->mu);
}

/* The same with extra header lines (each ending in \r\n). */
static void fake_answer_with(struct fake *f, int status, const char *headers, const char *body)
{
	fake_answer(f, status, body);
	pthread_mutex_lock(&f->mu);
	snprintf(f->headers, sizeof f->headers, "%s", headers);
	pthread_mutex_unlock(&f->mu);
}

static int fake_requests(struct fake *f)
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
static int listen_any(int *port)
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

static void fake_start(struct fake *f, int status, const char *body)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = listen_any(&f->port);
	ck_assert_int_eq(listen(f->lfd, 16), 0);
	fake_answer(f, status, body);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_loop, f), 0);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	pthread_mutex_destroy(&f->mu);
}

/* A port where nothing listens (connection refused). */
static int dead_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* --- jwks_open --- */

START_TEST(test_open_file)
{
	jwks *j = open_file_ar(NULL);
	char *tok = access_token(fx.a, ISS, "mqtt", time(NULL), time(NULL) + 300);

	ck_assert_int_eq(verify(j, tok, time(NULL)), TS_OK);
	jwks_close(j);
	jwks_close(NULL);
	free(tok);
}
END_TEST

/* Each broken configuration or document is an error with a reason, and no jwks. */
static void open_fails(struct broker_cfg *cfg, const char *text, const char *why_part)
{
	const char *why = NULL;
	jwks *j = (jwks *)1;

	if (text)
		write_file(fx.path, text);
	ck_assert_int_ne(jwks_open(cfg, &j, &why), TS_OK);
	ck_assert_ptr_null(j);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, why_part) != NULL, "why \"%s\" lacks \"%s\"", why, why_part);
}

START_TEST(test_open_errors)
{
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
	char missing[160], *only_enc, *good;
	const jwt_key *none[] = { NULL }, *a[] = { fx.a, NULL };
	json_t *jwk;

	snprintf(missing, sizeof missing, "%s/nope.json", fx.dir);
	cfg.jwks_file = missing;
	open_fails(&cfg, NULL, "does not exist");
	cfg.jwks_file = fx.dir; /* a directory: opens, but cannot be read */
	open_fails(&cfg, NULL, "plugin_opt_jwks_file");
	cfg.jwks_file = fx.path;
	open_fails(&cfg, "", "not a JSON object");
	open_fails(&cfg, "garbage", "not a JSON object");
	open_fails(&cfg, "[]", "not a JSON object");
	open_fails(&cfg, "{}", "\"keys\"");
	open_fails(&cfg, "{\"keys\":{}}", "\"keys\"");
	open_fails(&cfg, "{\"keys\":[]}", "no usable key");
	open_fails(&cfg, "{\"keys\":[1, \"x\", {}]}", "no usable key");
	open_fails(&cfg, "{\"keys\":[],\"keys\":[]}", "not a JSON object");

	/* keys it cannot use: an encryption key, a symmetric key, an unknown curve */
	jwk = jwt_key_public_jwk(fx.a);
	json_object_set_new(jwk, "use", json_string("enc"));
	only_enc = json_dumps(jwk, JSON_COMPACT);
	json_decref(jwk);
	{
		char text[4096];

		snprintf(text, sizeof text, "{\"keys\":[%s,{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"AAAA\"},"
		         "{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"p\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		         only_enc);
		open_fails(&cfg, text, "no usable key");
	}
	free(only_enc);
	good = jwks_text(none, NULL);
	open_fails(&cfg, good, "no usable key");
	free(good);

	/* the configuration itself */
	good = jwks_text(a, NULL);
	write_file(fx.path, good);
	free(good);
	cfg.issuer = NULL;
	open_fails(&cfg, NULL, "plugin_opt_issuer");
	cfg.issuer = (char *)ISS;
	cfg.jwks_file = NULL;
	open_fails(&cfg, NULL, "plugin_opt_jwks_file or plugin_opt_jwks_url");
	cfg.jwks_file = fx.path;
	cfg.jwks_url = (char *)"http://127.0.0.1:1/jwks";
	open_fails(&cfg, NULL, "only one");
}
END_TEST

/* Usable keys are loaded next to ones that are skipped. */
START_TEST(test_open_skips_unusable_keys)
{
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
	const jwt_key *keys[] = { fx.r, NULL };
	char *text = jwks_text(keys, "[{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"AAAA\"},"
	                             "{\"kty\":\"EC\",\"kid\":\"e\",\"use\":\"enc\"}]");
	char *tok = access_token(fx.r, ISS, "mqtt", time(NULL), time(NULL) + 60);
	const char *why = NULL;
	jwks *j = NULL;

	write_file(fx.path, text);
	ck_assert_int_eq(jwks_open(&cfg, &j, &why), TS_OK);
	ck_assert_int_eq(verify(j, tok, time(NULL)), TS_OK);
	jwks_close(j);
	free(text);
	free(tok);
}
END_TEST

/* --- jwks_verify --- */

START_TEST(test_verify_good)
{
	jwks *j = open_file_ar("mqtt");
	int64_t now = time(NULL);
	char *ta = access_token(fx.a, ISS, "mqtt", now, now + 300);
	char *tr = access_token(fx.r, ISS, "mqtt", now, now + 300);
	json_t *claims = NULL;

	ck_assert_int_eq(jwks_verify(j, ta, now, &claims), TS_OK);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "dev1");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "scope")), "mqtt:pub:sensors/dev1/#");
	json_decref(claims);
	/* again (from lib/common/token.c's cache), and with the RSA key */
	ck_assert_int_eq(verify(j, ta, now), TS_OK);
	ck_assert_int_eq(verify(j, tr, now), TS_OK);
	/* iat a little in the future is clock skew */
	free(ta);
	ta = access_token(fx.a, ISS, "mqtt", now + TOKEN_LEEWAY, now + 300);
	ck_assert_int_eq(verify(j, ta, now), TS_OK);
	jwks_close(j);
	free(ta);
	free(tr);
}
END_TEST

START_TEST(test_verify_refuses)
{
	jwks *j = open_file_ar("mqtt");
	int64_t now = time(NULL);
	char *t;
	size_t i;
	static const char *const junk[] = { "", "abc", "a.b.c", "..", "eyJhbGciOiJFUzI1NiJ9.e30.AA" };

	/* a key it does not have (unknown kid) */
	t = access_token(fx.c, ISS, "mqtt", now, now + 300);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	/* another issuer */
	t = access_token(fx.a, "http://evil.example", "mqtt", now, now + 300);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	t = access_token(fx.a, ISS "/", "mqtt", now, now + 300);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	/* expired, and expiring right now */
	t = access_token(fx.a, ISS, "mqtt", now - 600, now - 1);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	t = access_token(fx.a, ISS, "mqtt", now - 600, now);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(j, t, now - 1), TS_OK);
	free(t);
	/* issued in the future beyond the leeway */
	t = access_token(fx.a, ISS, "mqtt", now + TOKEN_LEEWAY + 5, now + 300);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	/* a tampered signature */
	t = access_token(fx.a, ISS, "mqtt", now, now + 300);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	/* junk */
	for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
		ck_assert_msg(verify(j, junk[i], now) == TS_INVALID_TOKEN, "junk %zu accepted", i);
	ck_assert_int_eq(verify(j, NULL, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(NULL, "a.b.c", now), TS_INVALID_TOKEN);
	jwks_close(j);
}
END_TEST

/* docs/security.md row 81: the copy of a Tessera token with its ES256 signature in the (r, n - s)
 * form -- valid ECDSA, another string -- is refused, also after the original was verified (and
 * cached); n - s is computed with OpenSSL's BIGNUMs. */
START_TEST(test_verify_high_s)
{
	jwks *j = open_file_ar("mqtt");
	int64_t now = time(NULL);
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	unsigned char sig[80];
	char *t, *bad, *dot;
	BIGNUM *s;
	int i;

	ck_assert_ptr_nonnull(g);
	for (i = 0; i < 16; i++) {
		t = access_token(fx.a, ISS, "mqtt", now, now + 300 + i);
		ck_assert_int_eq(verify(j, t, now), TS_OK);
		bad = strdup(t);
		dot = strrchr(bad, '.') + 1;
		ck_assert_int_eq(b64url_decode(dot, strlen(dot), sig), 64);
		s = BN_bin2bn(sig + 32, 32, NULL);
		ck_assert_int_eq(BN_sub(s, EC_GROUP_get0_order(g), s), 1);
		ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
		BN_free(s);
		dot[b64url_encode(sig, 64, dot)] = '\0';
		ck_assert_str_ne(bad, t);
		ck_assert_int_eq(verify(j, bad, now), TS_INVALID_TOKEN);
		ck_assert_int_eq(verify(j, t, now), TS_OK);
		free(bad);
		free(t);
	}
	EC_GROUP_free(g);
	jwks_close(j);
}
END_TEST

START_TEST(test_verify_audience)
{
	jwks *j = open_file_ar("mqtt"), *any;
	int64_t now = time(NULL);
	char claims[512], *t;
	static const char *const good[] = { "\"mqtt\"", "[\"mqtt\"]", "[\"x\",\"mqtt\"]" };
	static const char *const bad[] = { "\"other\"", "\"MQTT\"", "\"mqtt \"", "[]", "[\"x\"]",
	                                   "[1,\"mqttx\"]", "17", "null", "{\"mqtt\":1}" };
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
		         "\"jti\":\"j%zu\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld,\"aud\":%s}",
		         ISS, i, (long long)now, (long long)now + 60, good[i]);
		t = token_with(fx.a, "at+jwt", claims);
		ck_assert_msg(verify(j, t, now) == TS_OK, "aud %s refused", good[i]);
		free(t);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
		         "\"jti\":\"k%zu\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld,\"aud\":%s}",
		         ISS, i, (long long)now, (long long)now + 60, bad[i]);
		t = token_with(fx.a, "at+jwt", claims);
		ck_assert_msg(verify(j, t, now) == TS_INVALID_TOKEN, "aud %s accepted", bad[i]);
		free(t);
	}
	/* no aud at all */
	snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
	         "\"jti\":\"n\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld}",
	         ISS, (long long)now, (long long)now + 60);
	t = token_with(fx.a, "at+jwt", claims);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	jwks_close(j);
	/* without plugin_opt_audience, aud is not looked at */
	any = open_file_ar(NULL);
	ck_assert_int_eq(verify(any, t, now), TS_OK);
	free(t);
	t = access_token(fx.a, ISS, "other", now, now + 60);
	ck_assert_int_eq(verify(any, t, now), TS_OK);
	free(t);
	jwks_close(any);
}
END_TEST

START_TEST(test_verify_nbf_and_claims)
{
	jwks *j = open_file_ar(NULL);
	int64_t now = time(NULL);
	char claims[512], *t;
	static const char *const missing[] = { "sub", "client_id", "scope", "exp" };
	size_t i;

	snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
	         "\"jti\":\"j\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}",
	         ISS, (long long)now, (long long)now + 600, (long long)now + 120);
	t = token_with(fx.a, "at+jwt", claims);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(j, t, now + 120), TS_OK);
	free(t);
	snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
	         "\"jti\":\"j\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}",
	         ISS, (long long)now, (long long)now + 600, (long long)now + TOKEN_LEEWAY);
	t = token_with(fx.a, "at+jwt", claims);
	ck_assert_int_eq(verify(j, t, now), TS_OK);
	free(t);

	/* each required claim missing, or of the wrong type */
	for (i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "iss", ISS, "sub", "d",
		                      "client_id", "d", "jti", "j", "scope", "mqtt:pub:a",
		                      "iat", (json_int_t)now, "exp", (json_int_t)now + 60);
		char *text;

		json_object_del(c, missing[i]);
		text = json_dumps(c, JSON_COMPACT);
		t = token_with(fx.a, "at+jwt", text);
		ck_assert_msg(verify(j, t, now) == TS_INVALID_TOKEN, "no %s accepted", missing[i]);
		free(t);
		json_object_set_new(c, missing[i], json_true());
		free(text);
		text = json_dumps(c, JSON_COMPACT);
		t = token_with(fx.a, "at+jwt", text);
		ck_assert_msg(verify(j, t, now) == TS_INVALID_TOKEN, "%s: true accepted", missing[i]);
		free(t);
		free(text);
		json_decref(c);
	}
	jwks_close(j);
}
END_TEST

/* An ID token (typ JWT), or an access token with another typ, is not an access token. */
START_TEST(test_verify_typ)
{
	jwks *j = open_file_ar(NULL);
	int64_t now = time(NULL);
	struct id_token idt = { .iss = ISS, .sub = "dev1", .client_id = "dev1", .iat = now,
	                        .exp = now + 300, .auth_time = now };
	char claims[512], *t;

	ck_assert_int_eq(token_id_sign(fx.a, &idt, &t), TS_OK);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
	         "\"jti\":\"j\",\"scope\":\"mqtt:pub:a\",\"iat\":%lld,\"exp\":%lld}",
	         ISS, (long long)now, (long long)now + 600);
	t = token_with(fx.a, "JWT", claims);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	t = token_with(fx.a, NULL, claims);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	free(t);
	t = token_with(fx.a, "application/at+jwt", claims);
	ck_assert_int_eq(verify(j, t, now), TS_OK);
	free(t);
	jwks_close(j);
}
END_TEST

/* alg none, and HS256 keyed with the public key (as JWK text or PEM), are forgeries. */
START_TEST(test_verify_forgeries)
{
	jwks *j = open_file_ar(NULL);
	int64_t now = time(NULL);
	char header[512], payload[512], *t, *secret;
	const jwt_key *keys[] = { fx.a, fx.r };
	const char *pems[] = { pem_a, pem_r };
	json_t *jwk;
	size_t i;

	snprintf(payload, sizeof payload, "{\"iss\":\"%s\",\"sub\":\"d\",\"client_id\":\"d\","
	         "\"jti\":\"j\",\"scope\":\"mqtt:pub:#\",\"iat\":%lld,\"exp\":%lld,\"aud\":\"mqtt\"}",
	         ISS, (long long)now, (long long)now + 600);
	for (i = 0; i < 2; i++) {
		const char *kid = jwt_key_kid(keys[i]);

		snprintf(header, sizeof header, "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
		t = forge(header, payload, NULL);
		ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
		free(t);
		snprintf(header, sizeof header, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
		jwk = jwt_key_public_jwk(keys[i]);
		secret = json_dumps(jwk, JSON_COMPACT);
		json_decref(jwk);
		t = forge(header, payload, secret);
		ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
		free(t);
		free(secret);
		secret = public_pem(pems[i]);
		t = forge(header, payload, secret);
		ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
		free(t);
		free(secret);
	}
	/* and no alg/kid mix-up: A's kid with RS256, signed by R */
	{
		json_t *c = json_loads(payload, 0, NULL);
		char *good;

		ck_assert_int_eq(jwt_sign(fx.r, "at+jwt", c, &good), TS_OK);
		ck_assert_int_eq(verify(j, good, now), TS_OK);
		free(good);
		json_decref(c);
	}
	jwks_close(j);
}
END_TEST

/* A token verified under one set of keys is not taken from the verification cache by another
 * set that lacks its key. */
START_TEST(test_verify_keys_change)
{
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
	const jwt_key *only_r[] = { fx.r, NULL };
	int64_t now = time(NULL);
	char *t = access_token(fx.a, ISS, "mqtt", now, now + 300), *text;
	const char *why;
	jwks *j = open_file_ar(NULL);

	ck_assert_int_eq(verify(j, t, now), TS_OK);
	jwks_close(j);
	text = jwks_text(only_r, NULL);
	write_file(fx.path, text);
	free(text);
	ck_assert_int_eq(jwks_open(&cfg, &j, &why), TS_OK);
	ck_assert_int_eq(verify(j, t, now), TS_INVALID_TOKEN);
	jwks_close(j);
	free(t);
}
END_TEST

/* --- JWKS URL mode --- */

START_TEST(test_url_refetch)
{
	const jwt_key *ka[] = { fx.a, NULL }, *kr[] = { fx.r, NULL };
	char url[128], *ja = jwks_text(ka, NULL), *jr = jwks_text(kr, NULL);
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };
	int64_t now = time(NULL);
	char *ta = access_token(fx.a, ISS, "mqtt", now, now + 300);
	char *tr = access_token(fx.r, ISS, "mqtt", now, now + 300);
	char *tc = access_token(fx.c, ISS, "mqtt", now, now + 300);
	const char *why = NULL;
	jwks *j = NULL;

	fake_start(&srv, 200, ja);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/jwks", srv.port);
	ck_assert_int_eq(jwks_open(&cfg, &j, &why), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 1);
	ck_assert_str_eq(srv.method, "GET");
	ck_assert_str_eq(srv.path, "/jwks");
	ck_assert_int_eq(verify(j, ta, now), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 1);

	/* the keys rotate at the server: R's kid is unknown, one refetch finds it */
	fake_answer(&srv, 200, jr);
	ck_assert_int_eq(verify(j, tr, now), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 2);
	ck_assert_int_eq(verify(j, tr, now), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 2);
	/* A is gone with the old document */
	ck_assert_int_eq(verify(j, ta, now), TS_INVALID_TOKEN);
	/* another unknown kid within the minute: no request */
	fake_answer(&srv, 200, ja);
	ck_assert_int_eq(verify(j, tc, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(verify(j, ta, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(fake_requests(&srv), 2);
	jwks_close(j);
	fake_stop(&srv);
	free(ja);
	free(jr);
	free(ta);
	free(tr);
	free(tc);
}
END_TEST

/* A refetch that fails keeps the keys. */
START_TEST(test_url_refetch_fails)
{
	const jwt_key *ka[] = { fx.a, NULL };
	char url[128], *ja = jwks_text(ka, NULL);
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };
	int64_t now = time(NULL);
	char *ta = access_token(fx.a, ISS, "mqtt", now, now + 300);
	char *tc = access_token(fx.c, ISS, "mqtt", now, now + 300);
	const char *why = NULL;
	jwks *j = NULL;

	fake_start(&srv, 200, ja);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/jwks", srv.port);
	ck_assert_int_eq(jwks_open(&cfg, &j, &why), TS_OK);
	fake_answer(&srv, 500, "{\"error\":\"server_error\"}");
	ck_assert_int_eq(verify(j, tc, now), TS_INVALID_TOKEN);
	ck_assert_int_eq(fake_requests(&srv), 2);
	ck_assert_int_eq(verify(j, ta, now), TS_OK);
	jwks_close(j);
	fake_stop(&srv);
	free(ja);
	free(ta);
	free(tc);
}
END_TEST

START_TEST(test_url_open_errors)
{
	char url[256];
	struct broker_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };

	snprintf(url, sizeof url, "http://127.0.0.1:%d/jwks", dead_port());
	open_fails(&cfg, NULL, "connect");
	snprintf(url, sizeof url, "ftp://127.0.0.1/jwks");
	open_fails(&cfg, NULL, "http");
	snprintf(url, sizeof url, "file://%s", fx.path);
	open_fails(&cfg, NULL, "http");

	fake_start(&srv, 404, "{}");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/jwks", srv.port);
	open_fails(&cfg, NULL, "200");
	fake_answer(&srv, 302, "");
	open_fails(&cfg, NULL, "200");
	fake_answer(&srv, 200, "<html>");
	open_fails(&cfg, NULL, "not a JSON object");
	fake_answer(&srv, 200, "{\"keys\":[]}");
	open_fails(&cfg, NULL, "no usable key");
	ck_assert_int_eq(fake_requests(&srv), 4);
	fake_stop(&srv);
}
END_TEST

/* --- introspection --- */

#define CLIENT_ID "broker id"
#define CLIENT_SECRET "s3 cr:et/+\xc3\xa9%~"
/* base64(quote_plus(id) ":" quote_plus(secret)), by Python's urllib and base64 */
#define BASIC "Basic YnJva2VyK2lkOnMzK2NyJTNBZXQlMkYlMkIlQzMlQTklMjV+"

static introspector *intro_open(int port, int cache_seconds)
{
	static char url[128];
	struct broker_cfg cfg = { .issuer = (char *)ISS, .introspect_url = url,
	                          .client_id = (char *)CLIENT_ID,
	                          .client_secret = (char *)CLIENT_SECRET,
	                          .cache_seconds = cache_seconds };
	introspector *in = NULL;
	const char *why = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/introspect", port);
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_OK);
	ck_assert_ptr_nonnull(in);
	return in;
}

START_TEST(test_introspect_request)
{
	introspector *in;
	int active = -1;
	unsigned char raw[256];
	long n;

	fake_start(&srv, 200, "{\"active\":true,\"scope\":\"mqtt:pub:a\"}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(introspector_check(in, "ab.c-_~ +/=%", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	ck_assert_str_eq(srv.method, "POST");
	ck_assert_str_eq(srv.path, "/introspect");
	ck_assert_str_eq(srv.req_body, "token=ab.c-_~+%2B%2F%3D%25&token_type_hint=access_token");
	ck_assert_str_eq(srv.auth, BASIC);
	/* what is inside: each part form-urlencoded (RFC 6749 §2.3.1), then base64 */
	n = b64_decode(srv.auth + 6, strlen(srv.auth + 6), raw);
	ck_assert_int_gt(n, 0);
	raw[n] = '\0';
	ck_assert_str_eq((char *)raw, "broker+id:s3+cr%3Aet%2F%2B%C3%A9%25~");
	introspector_close(in);
	introspector_close(NULL);
	fake_stop(&srv);
}
END_TEST

/* Answers other than 200 + "active": true. */
START_TEST(test_introspect_answers)
{
	static const struct {
		int status;
		const char *body;
		ts_err rc;
		int active;
		int cached;
	} cases[] = {
		{ 200, "{\"active\":true}", TS_OK, 1, 1 },
		{ 200, "{\"active\":false}", TS_OK, 0, 1 },
		{ 200, "{\"active\":\"true\"}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{\"active\":1}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{}", TS_UNAVAILABLE, 0, 0 },
		{ 200, "garbage", TS_UNAVAILABLE, 0, 0 },
		{ 200, "{\"active\":true,\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		/* Tessera refusing the broker, or limiting it, said nothing about the token */
		{ 401, "{\"error\":\"invalid_client\"}", TS_UNAVAILABLE, 0, 0 },
		{ 403, "{\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		{ 400, "{\"error\":\"invalid_request\"}", TS_UNAVAILABLE, 0, 0 },
		{ 429, "{\"error\":\"slow_down\"}", TS_UNAVAILABLE, 0, 0 },
		{ 429, "{\"active\":false}", TS_UNAVAILABLE, 0, 0 },
		{ 302, "", TS_UNAVAILABLE, 0, 0 },
		{ 500, "{\"active\":true}", TS_UNAVAILABLE, 0, 0 },
		{ 503, "{}", TS_UNAVAILABLE, 0, 0 },
	};
	char token[32];
	size_t i;
	int active, before;
	int64_t now = time(NULL);
	introspector *in;

	fake_start(&srv, 200, "{}");
	in = intro_open(srv.port, 30);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(token, sizeof token, "tok-%zu", i);
		fake_answer(&srv, cases[i].status, cases[i].body);
		active = -1;
		ck_assert_msg(introspector_check(in, token, now, &active, NULL, 0) == cases[i].rc,
		              "case %zu: wrong result", i);
		ck_assert_msg(active == cases[i].active, "case %zu: active %d", i, active);
		/* asked again at once: from the cache only for a real answer */
		before = fake_requests(&srv);
		ck_assert_int_eq(introspector_check(in, token, now, &active, NULL, 0), cases[i].rc);
		ck_assert_msg(fake_requests(&srv) == before + !cases[i].cached, "case %zu: cache", i);
	}
	/* no token, an empty one, an enormous one: inactive without asking */
	before = fake_requests(&srv);
	ck_assert_int_eq(introspector_check(in, NULL, now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(introspector_check(in, "", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	{
		char *big = malloc(20000);

		memset(big, 'a', 19999);
		big[19999] = '\0';
		ck_assert_int_eq(introspector_check(in, big, now, &active, NULL, 0), TS_OK);
		ck_assert_int_eq(active, 0);
		free(big);
	}
	ck_assert_int_eq(fake_requests(&srv), before);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

START_TEST(test_introspect_unreachable)
{
	introspector *in = intro_open(dead_port(), 30);
	int active = -1;

	ck_assert_int_eq(introspector_check(in, "tok", time(NULL), &active, NULL, 0), TS_UNAVAILABLE);
	ck_assert_int_eq(active, 0);
	introspector_close(in);
}
END_TEST

START_TEST(test_introspect_cache)
{
	introspector *in;
	int active = -1;
	int64_t now = time(NULL);

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(introspector_check(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	/* revoked at Tessera meanwhile: the cached answer stands for cache_seconds */
	fake_answer(&srv, 200, "{\"active\":false}");
	ck_assert_int_eq(introspector_check(in, "tok", now + 29, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 1);
	/* another token is another entry */
	ck_assert_int_eq(introspector_check(in, "tok2", now + 29, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 2);
	/* then it is asked again */
	ck_assert_int_eq(introspector_check(in, "tok", now + 30, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 3);
	ck_assert_int_eq(introspector_check(in, "tok", now + 31, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_int_eq(fake_requests(&srv), 3);
	introspector_close(in);

	/* cache_seconds 0: never cached */
	in = intro_open(srv.port, 0);
	ck_assert_int_eq(introspector_check(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(introspector_check(in, "tok", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(fake_requests(&srv), 5);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

START_TEST(test_introspect_open_errors)
{
	struct broker_cfg cfg = { .issuer = (char *)ISS, .introspect_url = (char *)"http://127.0.0.1:1/i",
	                          .client_id = (char *)"b", .client_secret = (char *)"s",
	                          .cache_seconds = 30 };
	introspector *in = (introspector *)1;
	const char *why = NULL;

	cfg.introspect_url = NULL;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_null(in);
	ck_assert_ptr_nonnull(strstr(why, "plugin_opt_introspect_url"));
	cfg.introspect_url = (char *)"http://127.0.0.1:1/i";
	cfg.client_secret = NULL;
	why = NULL;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "plugin_opt_introspect_client_secret"));
	cfg.client_secret = (char *)"s";
	cfg.client_id = (char *)"";
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	cfg.client_id = (char *)"b";
	cfg.cache_seconds = -1;
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "cache_seconds"));
	cfg.cache_seconds = 30;
	cfg.introspect_url = (char *)"gopher://127.0.0.1/i";
	ck_assert_int_eq(introspector_open(&cfg, &in, &why), TS_INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(why, "http"));
	ck_assert_ptr_null(in);
}
END_TEST

/* "Tessera said inactive" and "Tessera could not answer" are told apart, and the reason of the
 * second says which failure it was (docs/security.md row 68). */
START_TEST(test_introspect_reasons)
{
	static const struct {
		int status;
		const char *body, *why[2];
	} cases[] = {
		{ 429, "{\"error\":\"slow_down\"}", { "too many requests", "(HTTP 429)" } },
		{ 401, "{\"error\":\"invalid_client\"}", { "client was refused", "(HTTP 401)" } },
		{ 500, "oops", { "Tessera failed", "(HTTP 500)" } },
		{ 503, "{}", { "Tessera failed", "(HTTP 503)" } },
		{ 404, "{}", { "unexpected HTTP status", "(HTTP 404)" } },
		{ 200, "{\"active\":\"no\"}", { "no introspection response", "(HTTP 200)" } },
	};
	char why[200], token[32];
	int active;
	size_t i;
	int64_t now = time(NULL);
	introspector *in;

	fake_start(&srv, 200, "{\"active\":false}");
	in = intro_open(srv.port, 30);
	strcpy(why, "sentinel");
	ck_assert_int_eq(introspector_check(in, "inactive", now, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 0);
	ck_assert_str_eq(why, "");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(token, sizeof token, "tok-%zu", i);
		fake_answer(&srv, cases[i].status, cases[i].body);
		ck_assert_int_eq(introspector_check(in, token, now, &active, why, sizeof why),
		                 TS_UNAVAILABLE);
		ck_assert_msg(strstr(why, cases[i].why[0]) && strstr(why, cases[i].why[1]),
		              "case %zu: %s", i, why);
		/* no Retry-After: nothing held off */
		ck_assert_ptr_null(strstr(why, "not asking"));
	}
	introspector_close(in);
	fake_stop(&srv);

	/* no answer at all: said, and nothing asked for INTRO_RETRY (5) seconds */
	in = intro_open(dead_port(), 30);
	ck_assert_int_eq(introspector_check(in, "t", now, &active, why, sizeof why), TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "cannot connect") && strstr(why, "not asking again for 5 s"),
	              "%s", why);
	ck_assert_int_eq(introspector_check(in, "t", now + 4, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off after the last failure: cannot connect") &&
	              strstr(why, "for 1 s"), "%s", why);
	ck_assert_int_eq(introspector_check(in, "t", now + 5, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "cannot connect"), "%s", why);
	introspector_close(in);
}
END_TEST

/* Retry-After on a 429 or 503 is honoured, up to a minute: no request meanwhile, and a fresh
 * cached answer still counts. */
START_TEST(test_introspect_retry_after)
{
	char why[200], date[64];
	int active;
	int64_t now = time(NULL);
	time_t later;
	introspector *in;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 30);
	ck_assert_int_eq(introspector_check(in, "known", now, &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);

	fake_answer_with(&srv, 429, "Retry-After: 3\r\n", "{\"error\":\"slow_down\"}");
	ck_assert_int_eq(introspector_check(in, "new-1", now, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "HTTP 429") && strstr(why, "not asking again for 3 s"), "%s", why);
	ck_assert_int_eq(fake_requests(&srv), 2);
	fake_answer(&srv, 200, "{\"active\":true}");
	ck_assert_int_eq(introspector_check(in, "new-2", now + 2, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off after the last failure: too many requests") &&
	              strstr(why, "(HTTP 429); not asking again for 1 s"), "%s", why);
	ck_assert_int_eq(introspector_check(in, "known", now + 2, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 2);
	ck_assert_int_eq(introspector_check(in, "new-2", now + 3, &active, why, sizeof why), TS_OK);
	ck_assert_int_eq(active, 1);
	ck_assert_int_eq(fake_requests(&srv), 3);

	/* a longer wait is cut to 60 s; 503 too */
	fake_answer_with(&srv, 503, "Retry-After:   100000 \r\n", "{}");
	ck_assert_int_eq(introspector_check(in, "new-3", now + 10, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "not asking again for 60 s"), "%s", why);
	ck_assert_int_eq(introspector_check(in, "new-3", now + 69, &active, NULL, 0),
	                 TS_UNAVAILABLE);
	ck_assert_int_eq(fake_requests(&srv), 4);

	/* an HTTP-date; and a 500 or a Retry-After that is neither holds nothing */
	later = time(NULL) + 20;
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
	{
		char h[128];

		snprintf(h, sizeof h, "Retry-After: %s\r\n", date);
		fake_answer_with(&srv, 429, h, "{}");
	}
	ck_assert_int_eq(introspector_check(in, "new-4", now + 70, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	{
		const char *f = strstr(why, "not asking again for ");
		int secs = f ? atoi(f + 21) : -1;

		ck_assert_msg(secs >= 18 && secs <= 20, "%s", why);
	}
	ck_assert_int_eq(fake_requests(&srv), 5);
	fake_answer_with(&srv, 500, "Retry-After: 30\r\n", "{}");
	ck_assert_int_eq(introspector_check(in, "new-5", now + 100, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_ptr_null(strstr(why, "not asking"));
	fake_answer_with(&srv, 429, "Retry-After: soon\r\n", "{}");
	ck_assert_int_eq(introspector_check(in, "new-5", now + 100, &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_ptr_null(strstr(why, "not asking"));
	ck_assert_int_eq(fake_requests(&srv), 7);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* Polls introspector_revoked for up to secs seconds (not stretched: most callers wait through a
 * window that must end before a hold-off does); the number of ids got. */
static size_t wait_revoked(introspector *in, const void **ids, size_t max, double secs)
{
	double end = mono() + secs;
	size_t n;

	do {
		n = introspector_revoked(in, ids, max);
		if (n)
			return n;
		usleep(50000);
	} while (mono() < end);
	return 0;
}

START_TEST(test_watcher_revokes)
{
	introspector *in;
	int active, s1, s2, s3;
	const void *ids[4];
	char token[64];
	double t0;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(introspector_check(in, "tok-revoked-1", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(active, 1);
	/* watch copies the token */
	strcpy(token, "tok-revoked-1");
	ck_assert_int_eq(introspector_watch(in, token, &s1), TS_OK);
	memset(token, 'x', sizeof token - 1);
	ck_assert_int_eq(introspector_watch(in, "tok-fine", &s2), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok-revoked-3", &s3), TS_OK);
	introspector_unwatch(in, &s3); /* gone before it is revoked: never reported */
	ck_assert_int_eq(introspector_watch(NULL, "t", &s3), TS_INVALID_REQUEST);
	ck_assert_int_eq(introspector_watch(in, NULL, &s3), TS_INVALID_REQUEST);
	ck_assert_uint_eq(introspector_revoked(in, ids, 4), 0);

	pthread_mutex_lock(&srv.mu);
	strcpy(srv.inactive, "revoked");
	pthread_mutex_unlock(&srv.mu);
	t0 = mono();
	ck_assert_uint_eq(wait_revoked(in, ids, 4, slow(3.0)), 1);
	ck_assert_ptr_eq(ids[0], &s1);
	ck_assert_msg(mono() - t0 < slow(2.5), "revoked after %.1f s", mono() - t0);
	/* reported once; the other session is still fine */
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.2), 0);
	ck_assert_int_ge(fake_requests(&srv), 3);
	/* the watcher's answer is cached: a CONNECT with the token is refused without asking */
	{
		int before = fake_requests(&srv);

		ck_assert_int_eq(introspector_check(in, "tok-revoked-1", time(NULL), &active, NULL, 0), TS_OK);
		ck_assert_int_eq(active, 0);
		ck_assert_int_le(fake_requests(&srv), before + 1);
	}
	introspector_unwatch(in, &s2);
	introspector_unwatch(in, &s2);
	introspector_unwatch(NULL, &s2);
	ck_assert_uint_eq(introspector_revoked(NULL, ids, 4), 0);
	t0 = mono();
	introspector_close(in);
	ck_assert_msg(mono() - t0 < slow(1.0), "close took %.1f s", mono() - t0);
	fake_stop(&srv);
}
END_TEST

/* Sessions sharing a token are all reported; unwatch drops a report not yet collected. */
START_TEST(test_watcher_many)
{
	introspector *in;
	int s[5], i;
	const void *ids[8];
	size_t n, got = 0;

	fake_start(&srv, 200, "{\"active\":false}");
	in = intro_open(srv.port, 1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(introspector_watch(in, "shared", &s[i]), TS_OK);
	sleep(3);
	introspector_unwatch(in, &s[4]);
	n = introspector_revoked(in, ids, 2);
	ck_assert_uint_eq(n, 2);
	got += n;
	got += introspector_revoked(in, ids + 2, 8);
	ck_assert_uint_eq(got, 4);
	for (n = 0; n < got; n++)
		ck_assert_ptr_ne(ids[n], &s[4]);
	/* one request answered them all (the others came from the cache) */
	ck_assert_int_le(fake_requests(&srv), 2);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* No answer is not "inactive": Tessera down or failing disconnects nobody. */
START_TEST(test_watcher_no_answer)
{
	introspector *in;
	int s1, s2;
	const void *ids[4];

	fake_start(&srv, 500, "{\"active\":false}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(introspector_watch(in, "tok", &s1), TS_OK);
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.5), 0);
	ck_assert_int_ge(fake_requests(&srv), 1);
	fake_answer(&srv, 401, "{\"error\":\"invalid_client\"}");
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.0), 0);
	introspector_close(in);
	fake_stop(&srv);

	in = intro_open(dead_port(), 1);
	ck_assert_int_eq(introspector_watch(in, "tok", &s1), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok2", &s2), TS_OK);
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.5), 0);
	introspector_close(in);
}
END_TEST

/* A 429 to the watcher keeps the session (its last answer stands), is reported for the log, and
 * its Retry-After holds the watcher off too. */
START_TEST(test_watcher_limited)
{
	introspector *in;
	int s1, active, before;
	const void *ids[4];
	char why[200];
	double end;
	size_t n = 0;

	fake_start(&srv, 200, "{\"active\":true}");
	in = intro_open(srv.port, 1);
	ck_assert_int_eq(introspector_check(in, "tok", time(NULL), &active, NULL, 0), TS_OK);
	ck_assert_int_eq(introspector_watch(in, "tok", &s1), TS_OK);
	ck_assert_uint_eq(introspector_trouble(in, why, sizeof why), 0);
	fake_answer_with(&srv, 429, "Retry-After: 5\r\n", "{\"active\":false}");
	before = fake_requests(&srv);
	for (end = mono() + slow(4); !n && mono() < end; usleep(50000))
		n = introspector_trouble(in, why, sizeof why);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(why, "HTTP 429") && strstr(why, "too many requests"), "%s", why);
	/* held off for the 5 s asked (whole seconds: 4 at least from here): no request in the
	 * next 2 s, never taken for inactive, and a CONNECT meanwhile is refused without asking */
	ck_assert_uint_eq(wait_revoked(in, ids, 4, 2.0), 0);
	ck_assert_int_eq(fake_requests(&srv), before + 1);
	ck_assert_int_eq(introspector_check(in, "other", time(NULL), &active, why, sizeof why),
	                 TS_UNAVAILABLE);
	ck_assert_msg(strstr(why, "holding off") && strstr(why, "HTTP 429"), "%s", why);
	introspector_close(in);
	fake_stop(&srv);
}
END_TEST

/* --- client ids --- */

static const struct {
	const char *rule, *id, *claims;
	int ok;
} id_rows[] = {
	/* a client's own token */
	{ "strict", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "strict", "dev2", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev1:a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev10", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "dev", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "strict", "DEV1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:sn-42:x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:4a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "prefix", "dev1:42", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },  /* a user's */
	{ "prefix", "dev1:42:x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1x", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "prefix", "dev1/a", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 0 },
	{ "any", "anything", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	{ "any", "", "{\"client_id\":\"dev1\",\"sub\":\"dev1\"}", 1 },
	/* a user's token: <client_id>:<sub>[:<anything>], whatever the rule but any */
	{ "strict", "app:42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	{ "strict", "app:42:phone", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}",
	  1 },
	{ "prefix", "app:42:", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	{ "strict", "app", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "prefix", "app", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:4", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:421", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:43", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:al", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "other:42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app42", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 0 },
	{ "strict", "app:a:b", "{\"client_id\":\"app\",\"sub\":\"a:b\",\"username\":\"al\"}", 0 },
	{ "any", "x", "{\"client_id\":\"app\",\"sub\":\"42\",\"username\":\"al\"}", 1 },
	/* claims missing or of the wrong type */
	{ "strict", "dev1", "{\"sub\":\"dev1\"}", 0 },
	{ "strict", "", "{\"client_id\":\"\",\"sub\":\"x\"}", 0 },
	{ "strict", "app:", "{\"client_id\":\"app\",\"username\":\"al\"}", 0 },
	{ "strict", "app:", "{\"client_id\":\"app\",\"sub\":\"\",\"username\":\"al\"}", 0 },
	{ "strict", "dev1", "{\"client_id\":\"dev1\",\"sub\":\"dev1\",\"username\":null}", 1 },
};

START_TEST(test_clientid_rules)
{
	enum clientid_rule rule = CLIENTID_ANY;
	json_t *claims = json_loads(id_rows[_i].claims, 0, NULL);

	ck_assert_ptr_nonnull(claims);
	ck_assert_int_eq(clientid_rule_parse(id_rows[_i].rule, &rule), 0);
	ck_assert_str_eq(clientid_rule_name(rule), id_rows[_i].rule);
	ck_assert_msg(clientid_allowed(rule, id_rows[_i].id, claims) == id_rows[_i].ok,
	              "%s '%s' with %s: want %d", id_rows[_i].rule, id_rows[_i].id,
	              id_rows[_i].claims, id_rows[_i].ok);
	json_decref(claims);
}
END_TEST

START_TEST(test_clientid_rule_names)
{
	enum clientid_rule rule = CLIENTID_PREFIX;

	ck_assert_int_eq(clientid_rule_parse("STRICT", &rule), -1);
	ck_assert_int_eq(clientid_rule_parse("", &rule), -1);
	ck_assert_int_eq(clientid_rule_parse(NULL, &rule), -1);
	ck_assert_int_eq(rule, CLIENTID_PREFIX);
	ck_assert_str_eq(clientid_rule_name((enum clientid_rule)7), "?");
	/* the default is the first, strict */
	ck_assert_int_eq(CLIENTID_STRICT, 0);
	ck_assert_int_eq(clientid_allowed(CLIENTID_STRICT, NULL, NULL), 0);
}
END_TEST

static Suite *broker_suite(void)
{
	Suite *s = suite_create("broker");
	TCase *tc = tcase_create("jwks");
	TCase *ti = tcase_create("introspect");
	TCase *tk = tcase_create("clientid");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_file);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_skips_unusable_keys);
	tcase_add_test(tc, test_verify_good);
	tcase_add_test(tc, test_verify_refuses);
	tcase_add_test(tc, test_verify_audience);
	tcase_add_test(tc, test_verify_nbf_and_claims);
	tcase_add_test(tc, test_verify_typ);
	tcase_add_test(tc, test_verify_forgeries);
	tcase_add_test(tc, test_verify_high_s);
	tcase_add_test(tc, test_verify_keys_change);
	tcase_add_test(tc, test_url_refetch);
	tcase_add_test(tc, test_url_refetch_fails);
	tcase_add_test(tc, test_url_open_errors);
	suite_add_tcase(s, tc);

	tcase_set_timeout(ti, 60);
	tcase_add_test(ti, test_introspect_request);
	tcase_add_test(ti, test_introspect_answers);
	tcase_add_test(ti, test_introspect_unreachable);
	tcase_add_test(ti, test_introspect_cache);
	tcase_add_test(ti, test_introspect_open_errors);
	tcase_add_test(ti, test_watcher_revokes);
	tcase_add_test(ti, test_watcher_many);
	tcase_add_test(ti, test_watcher_no_answer);
	tcase_add_test(ti, test_introspect_reasons);
	tcase_add_test(ti, test_introspect_retry_after);
	tcase_add_test(ti, test_watcher_limited);
	suite_add_tcase(s, ti);

	tcase_add_loop_test(tk, test_clientid_rules, 0, sizeof id_rows / sizeof id_rows[0]);
	tcase_add_test(tk, test_clientid_rule_names);
	suite_add_tcase(s, tk);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (jwt_key_generate("ES256", &pem_a) != TS_OK || jwt_key_generate("RS256", &pem_r) != TS_OK ||
	    jwt_key_generate("ES256", &pem_c) != TS_OK) {
		fprintf(stderr, "key generation failed\n");
		return EXIT_FAILURE;
	}
	sr = srunner_create(broker_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	secret_free(pem_a);
	secret_free(pem_r);
	secret_free(pem_c);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
