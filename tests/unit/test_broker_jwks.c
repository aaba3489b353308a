/* test_broker_jwks.c - the plugin's keys and token checks (broker/jwks.c), without mosquitto.
 * Tokens are made with lib/common/token.c and lib/common/jwt.c, or forged with OpenSSL for the
 * attacks (tests/unit/broker_fixture.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "broker_fixture.h"
#include "jwt.h"
#include "secret.h"
#include "token.h"

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
static void open_fails(struct issuer_cfg *cfg, const char *text, const char *why_part)
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_file = fx.path };
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };
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
	struct issuer_cfg cfg = { .issuer = (char *)ISS, .jwks_url = url };

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

static Suite *jwks_suite(void)
{
	Suite *s = suite_create("broker_jwks");
	TCase *tc = tcase_create("jwks");

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
	tcase_add_test(tc, test_verify_keys_change);
	tcase_add_test(tc, test_url_refetch);
	tcase_add_test(tc, test_url_refetch_fails);
	tcase_add_test(tc, test_url_open_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return broker_fixture_run(jwks_suite());
}
