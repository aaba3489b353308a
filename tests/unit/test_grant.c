/* Unit tests for lib/grant: the scope a user gets through a client, scope lists, grant records. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "grant.h"

static void user_scope(const char *requested, const char *client_allowed, const char *user_allowed,
                       const char *username, ts_err want, const char *granted)
{
	struct client c = {0};
	struct user u = {0};
	char *g = NULL, *bad = NULL;

	c.client_id = "app";
	c.scope = (char *)client_allowed;
	u.username = (char *)username;
	u.scope = (char *)user_allowed;
	ck_assert_int_eq(grant_user_scope(requested, &c, &u, &g, &bad), want);
	if (want == TS_OK)
		ck_assert_str_eq(g, granted);
	free(g);
	free(bad);
}

START_TEST(test_user_scope)
{
	const char *client = "openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd";
	const char *user = "mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd";

	/* OIDC scopes need only the client; MQTT needs both, ${username} filled */
	user_scope("openid mqtt:sub:#", client, user, "alice", TS_OK, "openid mqtt:sub:home/alice/#");
	user_scope(NULL, client, user, "bob", TS_OK,
	           "openid profile email mqtt:sub:home/bob/# mqtt:pub:home/bob/cmd");
	/* the user may not have it: only the OIDC part is left */
	user_scope("openid mqtt:sub:#", client, "", "alice", TS_OK, "openid");
	/* nothing left at all */
	user_scope("mqtt:sub:#", client, "", "alice", TS_INVALID_SCOPE, NULL);
	/* a non-OIDC plain scope needs both too */
	user_scope("introspect", "introspect", "", "alice", TS_INVALID_SCOPE, NULL);
	user_scope("introspect", "introspect", "introspect", "alice", TS_OK, "introspect");
	/* a username that would widen a filter is never substituted */
	user_scope("mqtt:sub:#", client, user, "a/+", TS_INVALID_SCOPE, NULL);
	user_scope("openid mqtt:sub:#", client, user, "#", TS_OK, "openid");
	/* malformed request */
	user_scope("mqtt:sub:a/#/b", client, user, "alice", TS_INVALID_SCOPE, NULL);
}
END_TEST

START_TEST(test_lists)
{
	char *u = grant_scope_union("a b", "b c a d");

	ck_assert_str_eq(u, "a b c d");
	free(u);
	u = grant_scope_union("", "x");
	ck_assert_str_eq(u, "x");
	free(u);
	ck_assert(grant_scope_covered("a c", "a b c"));
	ck_assert(grant_scope_covered("", "a"));
	ck_assert(!grant_scope_covered("a d", "a b c"));
	ck_assert(!grant_scope_covered("a", ""));
}
END_TEST

START_TEST(test_record_widens_one_grant)
{
	char dir[] = "/tmp/tessera-grant-XXXXXX", db[64], cmd[96];
	struct client c = {0};
	struct user u = {0};
	struct grant *g = NULL;
	int64_t id1, id2;
	store *s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/t.db", dir);
	ck_assert_int_eq(store_open(db, 500, 1, &s), TS_OK);
	c.client_id = "app";
	c.name = c.redirect_uris = "";
	c.grant_types = "authorization_code";
	c.scope = "openid";
	c.is_public = 1;
	c.active = 1;
	ck_assert_int_eq(store_client_add(s, &c), TS_OK);
	u.username = "alice";
	u.scope = "";
	u.active = 1;
	ck_assert_int_eq(store_user_add(s, &u), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", u.id, "openid", 10, &id1), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", u.id, "openid mqtt:sub:a", 20, &id2), TS_OK);
	ck_assert_int_eq(id1, id2);
	ck_assert_int_eq(store_grant_get(s, id1, &g), TS_OK);
	ck_assert_str_eq(g->scope, "openid mqtt:sub:a");
	store_grant_free(g);
	/* after a revocation a new grant starts */
	ck_assert_int_eq(store_grant_revoke(s, id1, 30), TS_OK);
	ck_assert_int_eq(grant_record(s, "app", u.id, "openid", 40, &id2), TS_OK);
	ck_assert_int_ne(id1, id2);
	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("grant");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_user_scope);
	tcase_add_test(t, test_lists);
	tcase_add_test(t, test_record_widens_one_grant);
	suite_add_tcase(s, t);
	return s;
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
