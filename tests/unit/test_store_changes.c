/* test_store_changes.c - the change feed's rows (schema 010): every change of rights that the
 * store writes leaves one row, in order, with what a broker needs to find the tokens it touches;
 * bounds and purge (docs/security.md row 82). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[64];
static char db[128];
static store *s;

static void setup(void)
{
	strcpy(dir, "/tmp/tessera-changes-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 1000, 1, &s), TS_OK);
}

static void teardown(void)
{
	char p[PATH_MAX];
	static const char *const files[] = {"t.db", "t.db-wal", "t.db-shm"};
	size_t i;

	store_close(s);
	s = NULL;
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

#define MAX_SEEN 16
static struct seen {
	int64_t id, grant_id;
	char kind[16], client_id[32], jti[32], scope[64];
	int revoked, removed;
} seen[MAX_SEEN];
static size_t nseen;

static ts_err collect(void *arg, const struct change *c)
{
	struct seen *x = &seen[nseen++];

	(void)arg;
	ck_assert_uint_lt(nseen, MAX_SEEN + 1);
	memset(x, 0, sizeof *x);
	x->id = c->id;
	x->grant_id = c->grant_id;
	snprintf(x->kind, sizeof x->kind, "%s", c->kind);
	snprintf(x->client_id, sizeof x->client_id, "%s", c->client_id ? c->client_id : "");
	snprintf(x->jti, sizeof x->jti, "%s", c->jti ? c->jti : "");
	snprintf(x->scope, sizeof x->scope, "%s", c->scope ? c->scope : "");
	x->revoked = c->revoked;
	x->removed = c->removed;
	return TS_OK;
}

static void read_after(int64_t after)
{
	nseen = 0;
	ck_assert_int_eq(store_changes_after(s, after, MAX_SEEN, collect, NULL), TS_OK);
}

static void add_client(const char *id)
{
	struct client c = {.client_id = (char *)id, .name = "", .redirect_uris = "",
	                   .post_logout_redirect_uris = "", .grant_types = "client_credentials",
	                   .scope = "mqtt:pub:a/# mqtt:sub:b/#", .refresh_rotation = 1,
	                   .active = 1, .created_at = 100, .updated_at = 100};

	memset(c.secret_hash, 1, sizeof c.secret_hash);
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
}

START_TEST(each_change_of_rights_is_one_row_in_order)
{
	struct grant g = {.client_id = "dev", .scope = "mqtt:pub:a/#", .created_at = 100,
	                  .updated_at = 100};
	int64_t first, last;

	add_client("dev");
	ck_assert_int_eq(store_changes_bounds(s, &first, &last), TS_OK);
	ck_assert_int_eq(last, 0);          /* adding gives no rights away that were held */
	ck_assert_int_eq(first, 1);
	ck_assert_int_eq(store_grant_add(s, &g), TS_OK);
	ck_assert_int_eq(store_grant_set_scope(s, g.id, "mqtt:pub:a/x", 200), TS_OK);
	ck_assert_int_eq(store_grant_revoke(s, g.id, 300), TS_OK);
	ck_assert_int_eq(store_revoke_jti(s, "jti-1", 4000000000), TS_OK);
	ck_assert_int_eq(store_client_set_active(s, "dev", 0, 400), TS_OK);
	read_after(0);
	ck_assert_uint_eq(nseen, 4);
	ck_assert_str_eq(seen[0].kind, "grant");
	ck_assert_int_eq(seen[0].grant_id, g.id);
	ck_assert_str_eq(seen[0].client_id, "dev");
	ck_assert_str_eq(seen[0].scope, "mqtt:pub:a/x");
	ck_assert_int_eq(seen[0].revoked, 0);
	ck_assert_str_eq(seen[1].kind, "grant");
	ck_assert_int_eq(seen[1].revoked, 1);
	ck_assert_str_eq(seen[2].kind, "token");
	ck_assert_str_eq(seen[2].jti, "jti-1");
	ck_assert_str_eq(seen[3].kind, "client");
	ck_assert_int_eq(seen[3].revoked, 1);
	ck_assert_int_eq(seen[3].removed, 0);
	ck_assert(seen[0].id < seen[1].id && seen[1].id < seen[2].id && seen[2].id < seen[3].id);
	/* resuming after the second gives the rest */
	read_after(seen[1].id);
	ck_assert_uint_eq(nseen, 2);
	ck_assert_str_eq(seen[0].kind, "token");
}
END_TEST

START_TEST(an_unchanged_write_leaves_no_row)
{
	struct grant g = {.client_id = "dev", .scope = "mqtt:pub:a/#", .created_at = 100,
	                  .updated_at = 100};
	int64_t first, last;

	add_client("dev");
	ck_assert_int_eq(store_grant_add(s, &g), TS_OK);
	ck_assert_int_eq(store_grant_set_scope(s, g.id, "mqtt:pub:a/#", 200), TS_OK);
	ck_assert_int_eq(store_client_set_active(s, "dev", 1, 200), TS_OK);
	ck_assert_int_eq(store_changes_bounds(s, &first, &last), TS_OK);
	ck_assert_int_eq(last, 0);
}
END_TEST

START_TEST(purge_keeps_the_ids_growing)
{
	int64_t first, last;

	ck_assert_int_eq(store_revoke_jti(s, "a", 4000000000), TS_OK);
	ck_assert_int_eq(store_revoke_jti(s, "b", 4000000000), TS_OK);
	ck_assert_int_eq(store_changes_purge(s, INT64_MAX), TS_OK);
	ck_assert_int_eq(store_changes_bounds(s, &first, &last), TS_OK);
	ck_assert_int_eq(last, 2);
	ck_assert_int_eq(first, 3);       /* nothing kept: a broker after id 1 or 0 must reset */
	ck_assert_int_eq(store_revoke_jti(s, "c", 4000000000), TS_OK);
	read_after(0);
	ck_assert_uint_eq(nseen, 1);
	ck_assert_int_eq(seen[0].id, 3);  /* never handed out again */
}
END_TEST

static Suite *changes_suite(void)
{
	Suite *su = suite_create("store_changes");
	TCase *tc = tcase_create("changes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, each_change_of_rights_is_one_row_in_order);
	tcase_add_test(tc, an_unchanged_write_leaves_no_row);
	tcase_add_test(tc, purge_keeps_the_ids_growing);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(changes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
