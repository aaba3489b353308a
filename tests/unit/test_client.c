/* Unit tests for lib/client (authentication against the store) and lib/keys (rotation). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "client.h"
#include "keys.h"
#include "secret.h"

static char dir[] = "/tmp/tessera-client-XXXXXX";
static char db[64];
static store *s;
static char secret[SECRET_TOKEN_LEN];

static void add(const char *id, int is_public, int active)
{
	struct client c = {0};

	c.client_id = (char *)id;
	c.name = "";
	c.redirect_uris = "";
	c.grant_types = "client_credentials";
	c.scope = "mqtt:pub:a/#";
	c.is_public = is_public;
	c.active = active;
	c.refresh_rotation = 1;
	if (!is_public)
		ck_assert_int_eq(client_new_secret(&c, secret), TS_OK);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 500, 1, &s), TS_OK);
}

static void teardown(void)
{
	char cmd[128];

	store_close(s);
	client_cache_invalidate();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

static ts_err auth(const char *header, const char *body, char **claimed)
{
	struct form *f = NULL;
	struct client *c = NULL;
	const char *why;
	ts_err rc;

	ck_assert_int_eq(form_parse(body, strlen(body), &f, &why), TS_OK);
	rc = client_authenticate(s, header, f, &c, claimed);
	ck_assert(rc == TS_OK ? c != NULL : c == NULL);
	store_client_free(c);
	form_free(f);
	return rc;
}

static char *basic_header(const char *id, const char *sec)
{
	char raw[256], *h = malloc(512);
	int n = snprintf(raw, sizeof raw, "%s:%s", id, sec);

	strcpy(h, "Basic ");
	EVP_EncodeBlock((unsigned char *)h + 6, (const unsigned char *)raw, n);
	return h;
}

START_TEST(test_basic_and_post)
{
	char body[256], *h, *claimed = NULL;

	add("dev1", 0, 1);
	h = basic_header("dev1", secret);
	ck_assert_int_eq(auth(h, "grant_type=client_credentials", &claimed), TS_OK);
	ck_assert_str_eq(claimed, "dev1");
	free(claimed);
	snprintf(body, sizeof body, "client_id=dev1&client_secret=%s", secret);
	ck_assert_int_eq(auth(NULL, body, NULL), TS_OK);
	/* both methods at once */
	ck_assert_int_eq(auth(h, body, NULL), TS_INVALID_REQUEST);
	ck_assert_int_eq(auth(h, "client_id=other", NULL), TS_INVALID_REQUEST);
	ck_assert_int_eq(auth(h, "client_id=dev1", NULL), TS_OK);
	free(h);
}
END_TEST

START_TEST(test_failures)
{
	char body[256], *h;

	add("dev1", 0, 1);
	h = basic_header("dev1", "wrong");
	ck_assert_int_eq(auth(h, "", NULL), TS_INVALID_CLIENT);
	free(h);
	h = basic_header("nobody", secret);
	ck_assert_int_eq(auth(h, "", NULL), TS_INVALID_CLIENT);
	free(h);
	ck_assert_int_eq(auth(NULL, "", NULL), TS_INVALID_CLIENT);              /* nothing */
	ck_assert_int_eq(auth(NULL, "client_id=dev1", NULL), TS_INVALID_CLIENT); /* no secret */
	ck_assert_int_eq(auth(NULL, "client_id=dev1&client_secret=", NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(auth("Basic %%%", "", NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(auth("Bearer abc", "", NULL), TS_INVALID_CLIENT);
	/* a prefix or extension of the secret is not the secret */
	snprintf(body, sizeof body, "client_id=dev1&client_secret=%.20s", secret);
	ck_assert_int_eq(auth(NULL, body, NULL), TS_INVALID_CLIENT);
	snprintf(body, sizeof body, "client_id=dev1&client_secret=%sx", secret);
	ck_assert_int_eq(auth(NULL, body, NULL), TS_INVALID_CLIENT);
}
END_TEST

START_TEST(test_disabled_and_public)
{
	char body[256];

	add("off", 0, 0);
	snprintf(body, sizeof body, "client_id=off&client_secret=%s", secret);
	ck_assert_int_eq(auth(NULL, body, NULL), TS_INVALID_CLIENT);
	ck_assert_int_eq(store_client_set_active(s, "off", 1, 1), TS_OK);
	client_cache_invalidate(); /* what the daemon does on a change */
	ck_assert_int_eq(auth(NULL, body, NULL), TS_OK);
	add("app", 1, 1);
	ck_assert_int_eq(auth(NULL, "client_id=app", NULL), TS_OK);
	ck_assert_int_eq(auth(NULL, "client_id=app&client_secret=x", NULL), TS_INVALID_CLIENT);
}
END_TEST

START_TEST(test_secret_stored_hashed)
{
	struct client *c = NULL;
	unsigned char h[32];

	add("dev1", 0, 1);
	ck_assert_uint_eq(strlen(secret), 43); /* 256 bits */
	ck_assert_int_eq(store_client_get(s, "dev1", &c), TS_OK);
	secret_sha256(secret, strlen(secret), h);
	ck_assert(secret_equal(h, c->secret_hash, 32));
	store_client_free(c);
}
END_TEST

START_TEST(test_cache)
{
	struct client *c = NULL;
	int64_t v1, v2;
	store *other;

	add("dev1", 0, 1);
	ck_assert_int_eq(client_get(s, "dev1", &c), TS_OK);
	ck_assert(c->active);
	store_client_free(c);
	ck_assert_int_eq(client_get(s, "nobody", &c), TS_NOT_FOUND);
	/* a change by another connection: visible in data_version, served stale until invalidated */
	ck_assert_int_eq(store_data_version(s, &v1), TS_OK);
	ck_assert_int_eq(store_open(db, 500, 1, &other), TS_OK);
	ck_assert_int_eq(store_client_set_active(other, "dev1", 0, 5), TS_OK);
	store_close(other);
	ck_assert_int_eq(store_data_version(s, &v2), TS_OK);
	ck_assert_int_ne(v1, v2);
	ck_assert_int_eq(client_get(s, "dev1", &c), TS_OK);
	ck_assert(c->active);
	store_client_free(c);
	client_cache_invalidate();
	ck_assert_int_eq(client_get(s, "dev1", &c), TS_OK);
	ck_assert(!c->active);
	store_client_free(c);
	client_cache_invalidate();
}
END_TEST

/* A cached client is copied whole: the copies handed out (and the cached one) are freed apart,
 * external id included (a shared string was freed twice). */
START_TEST(test_cache_copies_external_id)
{
	struct client c = {0}, *a = NULL, *b = NULL;

	c.client_id = "ext";
	c.name = "";
	c.redirect_uris = "";
	c.grant_types = "client_credentials";
	c.scope = "";
	c.external_id = "serial-42";
	c.active = 1;
	c.refresh_rotation = 1;
	ck_assert_int_eq(client_new_secret(&c, secret), TS_OK);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	ck_assert_int_eq(client_get(s, "ext", &a), TS_OK);
	ck_assert_int_eq(client_get(s, "ext", &b), TS_OK);
	ck_assert_str_eq(a->external_id, "serial-42");
	ck_assert_str_eq(b->external_id, "serial-42");
	ck_assert_ptr_ne(a->external_id, b->external_id);
	store_client_free(a);
	client_cache_invalidate();
	ck_assert_str_eq(b->external_id, "serial-42");
	store_client_free(b);
}
END_TEST

START_TEST(test_list_has)
{
	ck_assert(client_list_has("a b  c", "b"));
	ck_assert(client_list_has("a b  c", "c"));
	ck_assert(!client_list_has("ab c", "a"));
	ck_assert(!client_list_has("", "a"));
	ck_assert(!client_list_has(NULL, "a"));
}
END_TEST

START_TEST(test_keys_rotate)
{
	struct keyring *ring = NULL;
	char *k1 = NULL, *k2 = NULL, *again = NULL;

	ck_assert_int_eq(keyring_load(s, 100, 60, &ring), TS_NOT_FOUND);
	ck_assert_int_eq(keys_ensure(s, "ES256", 100, &k1), TS_OK);
	ck_assert_int_eq(keys_ensure(s, "ES256", 100, &again), TS_OK);
	ck_assert_str_eq(k1, again);                       /* idempotent */
	ck_assert_int_eq(keys_rotate(s, "ES256", 200, &k2), TS_OK);
	ck_assert_str_ne(k1, k2);
	ck_assert_int_eq(keyring_load(s, 230, 60, &ring), TS_OK);
	ck_assert_uint_eq(ring->n, 2);                     /* the old one is still published */
	ck_assert_str_eq(jwt_key_kid(keyring_signer(ring)), k2);
	ck_assert_ptr_nonnull(strstr(ring->jwks, k1));
	ck_assert_ptr_null(strstr(ring->jwks, "\"d\""));   /* public parts only */
	keyring_free(ring);
	ck_assert_int_eq(keyring_load(s, 300, 60, &ring), TS_OK);
	ck_assert_uint_eq(ring->n, 1);                     /* retired long enough ago: gone */
	ck_assert_ptr_null(strstr(ring->jwks, k1));
	keyring_free(ring);
	free(k1);
	free(k2);
	free(again);
}
END_TEST

/* The daemon's keyring in use: keys_acquire gives the one in place, keys_swap replaces it and
 * frees the old one (ASan: nothing leaks, nothing is freed twice). */
START_TEST(test_keys_live)
{
	struct keyring *r1 = NULL, *r2 = NULL;
	struct keys_live live;
	char *k1 = NULL, *k2 = NULL;

	ck_assert_int_eq(keys_ensure(s, "ES256", 100, &k1), TS_OK);
	ck_assert_int_eq(keyring_load(s, 100, 60, &r1), TS_OK);
	ck_assert_int_eq(keys_live_init(&live, r1), 0);
	ck_assert_ptr_eq(keys_acquire(&live), r1);
	ck_assert_str_eq(jwt_key_kid(keyring_signer(keys_acquire(&live))), k1); /* readers share */
	keys_release(&live);
	keys_release(&live);
	ck_assert_int_eq(keys_rotate(s, "ES256", 200, &k2), TS_OK);
	ck_assert_int_eq(keyring_load(s, 200, 60, &r2), TS_OK);
	keys_swap(&live, r2);
	ck_assert_str_eq(jwt_key_kid(keyring_signer(keys_acquire(&live))), k2);
	keys_release(&live);
	keys_live_free(&live);
	free(k1);
	free(k2);
}
END_TEST

/* New keys get a kid of KEYS_KID_LEN characters, the start of their thumbprint; a key stored
 * under a whole thumbprint (made before) is loaded under it; a kid already stored is refused
 * (TS_CONFLICT), which makes keys.c make another key. docs/security.md row 84. */
START_TEST(test_keys_short_kid)
{
	struct key_row *cur = NULL, old = {0};
	struct keyring *ring = NULL;
	jwt_key *k = NULL;
	char *kid = NULL, *pem = NULL;

	ck_assert_int_eq(keys_ensure(s, "ES256", 100, &kid), TS_OK);
	ck_assert_uint_eq(strlen(kid), KEYS_KID_LEN);
	ck_assert_int_eq(store_key_current(s, &cur), TS_OK);
	ck_assert_int_eq(jwt_key_load(cur->alg, cur->pem, &k), TS_OK);
	ck_assert_int_eq(strncmp(jwt_key_kid(k), kid, KEYS_KID_LEN), 0);  /* the thumbprint's start */
	ck_assert_uint_eq(strlen(jwt_key_kid(k)), 43);
	jwt_key_free(k);
	/* the same kid again: refused */
	old.kid = kid;
	old.alg = "ES256";
	old.pem = cur->pem;
	old.created_at = 150;
	ck_assert_int_eq(store_key_add(s, &old), TS_CONFLICT);
	/* a key of before, stored under its whole thumbprint, signs under it */
	ck_assert_int_eq(jwt_key_generate("ES256", &pem), TS_OK);
	ck_assert_int_eq(jwt_key_load("ES256", pem, &k), TS_OK);
	old.kid = (char *)jwt_key_kid(k);
	old.pem = pem;
	old.created_at = 200;
	ck_assert_int_eq(store_key_add(s, &old), TS_OK);
	ck_assert_int_eq(keyring_load(s, 210, 60, &ring), TS_OK);
	ck_assert_uint_eq(ring->n, 2);
	ck_assert_str_eq(jwt_key_kid(keyring_signer(ring)), jwt_key_kid(k));
	ck_assert_str_eq(jwt_key_kid(ring->keys[1]), kid);
	keyring_free(ring);
	jwt_key_free(k);
	secret_free(pem);
	store_key_free(cur);
	free(kid);
}
END_TEST

START_TEST(test_redirect_uri_valid)
{
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/cb"), 1);
	ck_assert_int_eq(client_redirect_uri_valid("com.example.app://cb"), 1);
	ck_assert_int_eq(client_redirect_uri_valid("http://127.0.0.1/cb"), 1);
	ck_assert_int_eq(client_redirect_uri_valid("/cb"), 0);
	ck_assert_int_eq(client_redirect_uri_valid("://cb"), 0);
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/cb#f"), 0);
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/c b"), 0);
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/%C3%A9"), 1);
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/\xff"), 0);
	ck_assert_int_eq(client_redirect_uri_valid("https://app.example/\xc3"), 0);
}
END_TEST

/* docs/security.md row 10: only the registered string, or a loopback URI on another port */
/* docs/security.md row 74: what registration refuses, each with a reason, and what it keeps. */
static const struct {
	const char *uri;
	int ok;
} redirect_rows[] = {
	{"https://app.example/cb", 1},
	{"https://app.example/cb?x=1&y=%2F", 1},
	{"HTTPS://app.example/cb", 1},
	{"http://127.0.0.1:8080/cb", 1},
	{"http://[::1]/cb", 1},
	{"com.example.app:/oauth2redirect/example-provider", 1}, /* RFC 8252 §7.1 */
	{"com.example.app://cb", 1},
	{"myapp:cb", 1},
	{"https://app.example/cb\r\nSet-Cookie:x=1", 0},
	{"https://app.example/cb\n", 0},
	{"https://app.example/cb\r", 0},
	{"https://app.example/\tcb", 0},
	{"https://app.example/\x01", 0},
	{"https://app.example/cb\x7f", 0},
	{"https://app.example/cb\xe2\x80\xa8x", 0},  /* U+2028 */
	{"https://app.example/cb\xe2\x80\xa9", 0},   /* U+2029 */
	{"https://app.example/\xc3\xa9", 0},          /* non-ASCII: percent-encode it */
	{"https://\xef\xbd\x81pp.example/cb", 0},
	{"javascript:alert(document.domain)//", 0},
	{"JavaScript:alert(1)", 0},
	{"javascript://app.example/%0aalert(1)", 0},
	{"data:text/html,<script>alert(1)</script>", 0},
	{"data:text/html;base64,PHNjcmlwdD4=", 0},
	{"vbscript:msgbox(1)", 0},
	{"file:///etc/passwd", 0},
	{"blob:https://app.example/x", 0},
	{"about:blank", 0},
	{"https://app.example/cb#", 0},
	{"https://app.example/cb#frag", 0},
	{"com.example.app:/cb#x", 0},
	{"/cb", 0},
	{"cb", 0},
	{"//app.example/cb", 0},
	{"://cb", 0},
	{"1app:/cb", 0},
	{"myapp:", 0},
	{"https:app.example/cb", 0},
	{"https://", 0},
	{"https:///cb", 0},
	{"http://?x", 0},
	{"https://app.example/\"><b>", 0},
	{"https://app.example/{x}", 0},
	{"https://app.example/%zz", 0},
	{"https://app.example/%4", 0},
	{"", 0},
};

START_TEST(test_row74_redirect_uri_rules)
{
	const char *why = client_redirect_uri_problem(redirect_rows[_i].uri);

	ck_assert_msg(client_redirect_uri_valid(redirect_rows[_i].uri) == redirect_rows[_i].ok,
	              "%s: %s", redirect_rows[_i].uri, why ? why : "accepted");
	ck_assert_int_eq(why == NULL, redirect_rows[_i].ok);
}
END_TEST

/* docs/security.md row 74: 2047 bytes are fine, 2048 are not. */
START_TEST(test_row74_redirect_uri_length)
{
	char u[2100];

	memset(u, 'a', sizeof u);
	memcpy(u, "https://a.example/", 18);
	u[2047] = '\0';
	ck_assert_int_eq(client_redirect_uri_valid(u), 1);
	u[2047] = 'a';
	u[2048] = '\0';
	ck_assert_int_eq(client_redirect_uri_valid(u), 0);
}
END_TEST

START_TEST(test_redirect_matches)
{
	const char *reg = "https://app.example/cb";

	ck_assert_int_eq(client_redirect_matches(reg, reg), 1);
	ck_assert_int_eq(client_redirect_matches(reg, "https://app.example/cb/x"), 0);
	ck_assert_int_eq(client_redirect_matches(reg, "https://app.example/cb?a=1"), 0);
	ck_assert_int_eq(client_redirect_matches(reg, "https://APP.example/cb"), 0);
	ck_assert_int_eq(client_redirect_matches(reg, "https://app.example/cb/"), 0);
	ck_assert_int_eq(client_redirect_matches(reg, "https://app.example:444/cb"), 0);
	ck_assert_int_eq(client_redirect_matches(reg, "https://app.example/cb#f"), 0);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1:5123/cb"), 1);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1:80/cb", "http://127.0.0.1/cb"), 1);
	ck_assert_int_eq(client_redirect_matches("http://[::1]:1/cb?x", "http://[::1]:2/cb?x"), 1);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1:5/cb/"), 0);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1/cb", "http://[::1]/cb"), 0);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1/", "http://127.0.0.1.evil/"), 0);
	ck_assert_int_eq(client_redirect_matches("http://127.0.0.1/", "http://127.0.0.1:1@evil/"), 0);
	ck_assert_int_eq(client_redirect_matches("https://127.0.0.1/", "https://127.0.0.1:1/"), 0);
	ck_assert_int_eq(client_redirect_matches("http://localhost/", "http://localhost:1/"), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *su = suite_create("client");
	TCase *t = tcase_create("core");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_basic_and_post);
	tcase_add_test(t, test_failures);
	tcase_add_test(t, test_disabled_and_public);
	tcase_add_test(t, test_secret_stored_hashed);
	tcase_add_test(t, test_cache);
	tcase_add_test(t, test_cache_copies_external_id);
	tcase_add_test(t, test_list_has);
	tcase_add_test(t, test_redirect_uri_valid);
	tcase_add_loop_test(t, test_row74_redirect_uri_rules, 0,
	                    (int)(sizeof redirect_rows / sizeof redirect_rows[0]));
	tcase_add_test(t, test_row74_redirect_uri_length);
	tcase_add_test(t, test_redirect_matches);
	tcase_add_test(t, test_keys_rotate);
	tcase_add_test(t, test_keys_live);
	tcase_add_test(t, test_keys_short_kid);
	suite_add_tcase(su, t);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
