/* test_scim_sql.c - SCIM filters compiled to SQL (lib/scim/scim_sql.c): every refusal, and the
 * main check: on a real database (every migration applied by store_open) with ~30 varied users,
 * groups, clients and grants, the rows each filter selects are exactly the resources scimf_match
 * accepts on their JSON representation. The exact SQL text, sortBy and index use are in
 * test_scim_sql_text.c; the database in scim_sql_fixture.c. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "scim_sql_fixture.h"

/* ---- the main check: SQL agrees with scimf_match ---- */

static const struct {
	enum scim_rtype_id t;
	int ce;          /* scimf_match's case_exact */
	const char *f;
	const char *ids; /* if not NULL: what both must select */
} agree[] = {
	/* columns: userName (NOCASE), displayName, active, id, meta */
	{U, 0, "userName eq \"bjensen\"", "1"},
	{U, 0, "userName eq \"BJensen\"", "1"},
	{U, 0, "USERNAME EQ \"alice\"", "3"},
	{U, 0, "userName ne \"bjensen\"", NULL},
	{U, 0, "userName co \"AB\"", "12,13,14,15"},
	{U, 0, "userName co \"%\"", "10"},
	{U, 0, "userName co \"_\"", "11"},
	{U, 0, "userName co \"'\"", "9"},
	{U, 0, "userName eq \"a' OR 1=1--\"", "9"},
	{U, 0, "userName eq \"x' OR '1'='1\"", ""},
	{U, 0, "userName sw \"ab\"", "12,13,14,15"},
	{U, 0, "userName sw \"AB\"", "12,13,14,15"},
	{U, 0, "userName sw \"a\"", "3,9,12,13,14,15,16,17"},
	{U, 0, "userName sw \"abc\"", "13"},
	{U, 0, "userName sw \"x@\"", "20"},
	{U, 0, "userName sw \"X\"", "20,21,22"},
	{U, 0, "userName sw \"zz{\"", "18"},
	{U, 0, "userName sw \"zz€\"", "19"},
	{U, 0, "userName sw \"\"", NULL},
	{U, 0, "userName sw \"émi\"", "4"},
	{U, 0, "userName sw \"ÉMI\"", ""},
	{U, 0, "userName sw \"a%\"", ""},
	{U, 0, "userName sw \"a_\"", ""},
	{U, 0, "userName ew \"E\"", NULL},
	{U, 0, "userName ew \"BC\"", "13"},
	{U, 0, "userName ew \"abc\"", "13"},
	{U, 0, "userName ew \"xabc\"", ""},
	{U, 0, "userName ew \"\"", NULL},
	{U, 0, "userName co \"\"", NULL},
	{U, 0, "userName gt \"m\"", NULL},
	{U, 0, "userName ge \"BOB\"", NULL},
	{U, 0, "userName lt \"b\"", NULL},
	{U, 0, "userName le \"Ab\"", NULL},
	{U, 0, "userName pr", NULL},
	{U, 0, "userName eq null", ""},
	{U, 0, "userName ne null", NULL},
	{U, 0, "not (userName sw \"a\")", NULL},
	{U, 0, "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"A\"", NULL},
	{U, 0, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:username sw \"A\"", NULL},
	{U, 0, "displayName eq \"barbara jensen\"", "1"},
	{U, 0, "displayName co \"SMITH\"", "2"},
	{U, 0, "displayName pr", NULL},
	{U, 0, "displayName eq null", NULL},
	{U, 0, "displayName ne \"Barbara Jensen\"", NULL},
	{U, 0, "displayName sw \"\"", NULL},
	{U, 0, "displayName gt \"M\"", NULL},
	{U, 0, "displayName le \"bob\"", NULL},
	{U, 0, "displayName co \"'); DROP TABLE users;--\"", "9"},
	{U, 0, "displayName eq \"\"", ""},
	{U, 0, "displayName ne \"\"", NULL},
	{U, 0, "not (displayName lt \"m\")", NULL},
	{U, 0, "displayName ew \"zola\"", "4"},
	{U, 0, "active eq true", NULL},
	{U, 0, "active eq false", "3,15,29"},
	{U, 0, "active ne true", "3,15,29"},
	{U, 0, "active ne false", NULL},
	{U, 0, "active pr", NULL},
	{U, 0, "active eq null", ""},
	{U, 0, "not (active eq false)", NULL},
	{U, 1, "id eq \"3\"", "3"},
	{U, 1, "id ne \"3\"", NULL},
	{U, 1, "id gt \"29\"", NULL},
	{U, 1, "id sw \"1\"", NULL},
	{U, 1, "id pr", NULL},
	{U, 1, "externalId eq \"bj-001\"", "1"},
	{U, 1, "externalId sw \"JS\"", "2"},
	{U, 1, "externalId co \"-\"", NULL},
	{U, 1, "externalId pr", NULL},
	{U, 1, "externalId eq null", NULL},
	{U, 1, "externalId ne \"T\"", NULL},
	{U, 1, "externalId gt \"a\"", NULL},
	{U, 0, "meta.created gt \"2015-01-01T00:00:00Z\"", NULL},
	{U, 0, "meta.created ge \"2017-07-14T02:40:00Z\"", NULL},
	{U, 0, "meta.created lt \"2011-05-13T04:42:34Z\"", "29"},
	{U, 0, "meta.created le \"2011-05-13T04:42:34Z\"", "1,29"},
	{U, 0, "meta.created eq \"2011-05-13T04:42:34Z\"", "1"},
	{U, 0, "meta.created ne \"2011-05-13T04:42:34Z\"", NULL},
	{U, 0, "meta.lastModified gt \"2017-07-14T02:40:00Z\"", NULL},
	{U, 0, "meta.lastModified eq \"2020-09-13T12:26:41Z\"", "4"},
	{U, 0, "meta.created pr", NULL},
	{U, 0, "meta[created lt \"2014-05-13T16:53:20Z\" or lastModified eq \"2014-05-13T16:53:20Z\"]", "1,3,29"},
	{U, 0, "not (meta.created gt \"2015-01-01T00:00:00Z\")", NULL},
	/* single-valued JSON attributes */
	{U, 0, "title eq \"tour guide\"", "1,24"},
	{U, 0, "title co \"OUR\"", "1,24"},
	{U, 0, "title sw \"t\"", "1,8,24"},
	{U, 0, "title ew \"E\"", "1,8,24"},
	{U, 0, "title pr", NULL},
	{U, 0, "title eq null", NULL},
	{U, 0, "title ne \"VP\"", NULL},
	{U, 0, "title gt \"a\"", NULL},
	{U, 0, "title lt \"Z\"", NULL},
	{U, 0, "title ge \"VP\"", NULL},
	{U, 0, "title le \"100%\"", NULL},
	{U, 0, "title eq \"42\"", ""},
	{U, 0, "title sw \"4\"", ""},
	{U, 0, "title eq \"true\"", "8"},
	{U, 0, "title co \"%\"", "10"},
	{U, 0, "title co \"_\"", "11"},
	{U, 0, "title eq \"a' OR 1=1--\"", "9"},
	{U, 0, "title sw \"\"", NULL},
	{U, 0, "title ew \"\"", NULL},
	{U, 0, "title co \"\"", NULL},
	{U, 0, "title eq \"\"", "6"},
	{U, 0, "title co \" \"", "1,9,24,30"},
	{U, 0, "title ew \"  \"", "30"},
	{U, 0, "title co \"écri\"", ""},
	{U, 0, "title co \"Écri\"", "4"},
	{U, 0, "title ew \"ABC\"", "13"},
	{U, 0, "not (title sw \"t\")", NULL},
	{U, 0, "nickName eq \"true\"", "8"},
	{U, 0, "nickName pr", NULL},
	{U, 0, "userType eq \"Employee\" and title pr", "1"},
	{U, 0, "userType ne \"Employee\"", NULL},
	{U, 0, "userType pr", NULL},
	{U, 0, "userType eq null", NULL},
	{U, 0, "name.familyName eq \"jensen\"", "1"},
	{U, 0, "name.familyName pr", NULL},
	{U, 0, "name.familyName eq \"5\"", ""},
	{U, 0, "name.familyName co \"O'Malley\"", "31"},
	{U, 0, "name.givenName sw \"B\"", "1"},
	{U, 0, "name pr", NULL},
	{U, 0, "name eq null", NULL},
	{U, 0, "name[givenName sw \"b\" and familyName pr]", "1"},
	{U, 0, "not (name[givenName pr])", NULL},
	{U, 0, "name[not (givenName pr)]", NULL},
	/* multi-valued JSON attributes */
	{U, 0, "emails eq \"bjensen@example.com\"", "1"},
	{U, 0, "emails co \"example.com\"", NULL},
	{U, 0, "emails.value co \"EXAMPLE\"", NULL},
	{U, 0, "emails ew \".org\"", NULL},
	{U, 0, "emails eq \"7\"", ""},
	{U, 0, "emails eq \"uma@plain.org\"", "32"},
	{U, 0, "emails.value eq \"uma@plain.org\"", ""},
	{U, 0, "emails sw \"\"", NULL},
	{U, 0, "emails.value eq \"\"", "30"},
	{U, 0, "emails ne \"bjensen@example.com\"", NULL},
	{U, 0, "emails.type eq \"work\"", NULL},
	{U, 0, "emails.type eq \"WORK\"", NULL},
	{U, 0, "emails.type ne \"work\"", NULL},
	{U, 0, "emails.primary eq true", NULL},
	{U, 0, "emails.primary eq false", "26"},
	{U, 0, "emails.primary ne true", NULL},
	{U, 0, "emails.display pr", NULL},
	{U, 0, "emails.value pr", NULL},
	{U, 0, "emails pr", NULL},
	{U, 0, "emails eq null", NULL},
	{U, 0, "not (emails pr)", NULL},
	{U, 0, "emails[type eq \"work\" and value co \"@example.com\"]", NULL},
	{U, 0, "emails[type eq \"work\" and primary eq true]", "1,24"},
	{U, 0, "emails[not (type eq \"work\")]", NULL},
	{U, 0, "emails[type ne \"work\"]", NULL},
	{U, 0, "emails[primary eq false]", "26"},
	{U, 0, "emails[primary eq true]", NULL},
	{U, 0, "emails[value pr]", NULL},
	{U, 0, "emails[value eq null]", NULL},
	{U, 0, "emails[value eq null or display eq \"m\"]", NULL},
	{U, 0, "not (emails[type eq \"work\"])", NULL},
	{U, 0, "phoneNumbers co \"555\"", "1,7"},
	{U, 0, "phoneNumbers[type eq \"mobile\" and primary eq true]", "7"},
	{U, 0, "phoneNumbers.value sw \"+1\"", "7"},
	{U, 0, "phoneNumbers eq \"123\"", "31"},
	{U, 0, "ims pr", "24"},
	{U, 0, "ims[type eq \"XMPP\"]", "24"},
	{U, 0, "addresses[locality eq \"paris\"]", "24"},
	{U, 0, "addresses.type eq \"work\"", "24"},
	{U, 0, "roles eq \"admin\"", "25,28"},
	{U, 0, "roles[primary eq true and value eq \"ADMIN\"]", "25"},
	{U, 0, "entitlements pr", "25"},
	{U, 0, "x509Certificates pr", "28"},
	{U, 0, "x509Certificates.value sw \"MII\"", "28"},
	/* the enterprise extension */
	{U, 0, ENT "department eq \"tour operations\"", "1"},
	{U, 0, ENT "department pr", "1,2,8"},
	{U, 0, ENT "department eq null", NULL},
	{U, 0, ENT "department ne \"sales\"", NULL},
	{U, 0, ENT "manager.value pr", "1"},
	{U, 0, ENT "manager.displayName co \"smith\"", "1"},
	{U, 0, ENT "manager pr", "1,23"},
	{U, 0, ENT "manager eq \"26118915-6090-4610-87E4-49D8CA9F808D\"", "1"},
	{U, 0, ENT "manager[displayName eq \"Boss\"]", "23"},
	{U, 0, ENT "manager[not (value pr)]", "23"},
	{U, 0, ENT "employeeNumber gt \"5\"", "1"},
	{U, 0, ENT "employeeNumber eq \"701984\"", "1"},
	{U, 0, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT sw \"S\"", "2,8"},
	/* groups (rows) */
	{U, 0, "groups eq \"1\"", "1,3,27"},
	{U, 0, "groups.value eq \"2\"", "1,24"},
	{U, 0, "groups.display eq \"admins\"", "1,3,27"},
	{U, 0, "groups.display co \"GUIDE\"", "1,24"},
	{U, 0, "groups[display sw \"tour\" and value eq \"2\"]", "1,24"},
	{U, 0, "groups[not (display eq \"Admins\")]", "1,2,4,24,27"},
	{U, 0, "not (groups.display eq \"Admins\")", NULL},
	{U, 0, "groups pr", "1,2,3,4,24,27"},
	{U, 0, "groups eq null", NULL},
	{U, 0, "groups.value ne \"1\"", NULL},
	{U, 0, "groups.display ew \"Group\"", "4"},
	{U, 0, "groups.display co \"über\"", ""},
	{U, 0, "groups[display pr]", "1,2,3,4,24,27"},
	/* the Tessera extension (case-exact scope) */
	{U, 1, TUS "scope co \"openid\"", "1,5,8,24"},
	{U, 1, TUS "scope sw \"mqtt:\"", "3"},
	{U, 1, TUS "scope pr", "1,3,5,8,24"},
	{U, 1, TUS "scope eq \"openid\"", "5,8"},
	{U, 1, TUS "scope eq null", NULL},
	/* logic */
	{U, 0, "userName sw \"a\" or title pr", NULL},
	{U, 0, "(userName sw \"a\" or title pr) and active eq false", "3,15"},
	{U, 0, "not (active eq true and title pr)", NULL},
	{U, 0, "not (not (emails pr))", NULL},
	{U, 0, "title pr and not (title eq \"VP\") or userName eq \"eve\"", NULL},
	{U, 0, "not (title eq \"VP\" or displayName eq \"Dave\")", NULL},
	{U, 0, "not (emails.type eq \"work\") and not (groups pr)", NULL},
	{U, 0, "emails[type eq \"work\"] and groups[display eq \"ops\"]", "2,27"},
	{U, 0, "not (name.familyName eq \"Jensen\") and not (displayName co \"a\")", NULL},
	/* groups */
	{G, 0, "displayName eq \"admins\"", "1"},
	{G, 0, "displayName sw \"TOUR\"", "2"},
	{G, 0, "displayName co \"über\"", ""},
	{G, 0, "displayName co \"Über\"", "4"},
	{G, 0, "displayName gt \"B\"", NULL},
	{G, 0, "displayName ne \"Ops\"", NULL},
	{G, 0, "not (displayName sw \"e\")", NULL},
	{G, 0, "members eq \"1\"", "1,2"},
	{G, 0, "members.display eq \"BJENSEN\"", "1,2"},
	{G, 0, "members[value eq \"3\"]", "1"},
	{G, 0, "members pr", "1,2,3,4"},
	{G, 0, "not (members pr)", "5"},
	{G, 0, "members.display sw \"a\"", "1"},
	{G, 1, "externalId eq \"G-1\"", "1"},
	{G, 1, "externalId eq \"g-1\"", "2"},
	{G, 1, TGR "scope co \"admin\"", "1"},
	{G, 1, TGR "scope pr", "1,3"},
	{G, 0, "meta.created lt \"2017-01-01T00:00:00Z\"", "1"},
	/* clients */
	{C, 1, "grantTypes eq \"refresh_token\"", "app1,dev-1"},
	{C, 1, "grantTypes co \"code\"", "app1,dev-1,x"},
	{C, 1, "grantTypes sw \"urn:\"", "dev-1"},
	{C, 1, "grantTypes ew \"token\"", "app1,dev-1"},
	{C, 1, "grantTypes ew \"_code\"", "app1,dev-1,x"},
	{C, 1, "grantTypes pr", "app1,dev-1,svc,x"},
	{C, 1, "grantTypes eq null", "App1-Admin"},
	{C, 1, "grantTypes ne \"refresh_token\"", "App1-Admin,svc,x"},
	{C, 1, "grantTypes co \"\"", "app1,dev-1,svc,x"},
	{C, 1, "grantTypes eq \"\"", ""},
	{C, 1, "grantTypes co \"code refresh\"", ""},
	{C, 1, "grantTypes eq \"authorization_code refresh_token\"", ""},
	{C, 1, "grantTypes sw \"\"", "app1,dev-1,svc,x"},
	{C, 1, "not (grantTypes co \"token\")", "App1-Admin,svc,x"},
	{C, 1, "redirectUris eq \"https://app1.example/cb\"", "app1"},
	{C, 1, "redirectUris sw \"https://app1\"", "app1"},
	{C, 1, "redirectUris ew \"/cb\"", "app1"},
	{C, 1, "redirectUris ew \"cb2\"", "app1"},
	{C, 1, "redirectUris co \"%20\"", "x"},
	{C, 1, "redirectUris pr", "app1,x"},
	{C, 0, "public eq true", "app1,dev-1"},
	{C, 0, "refreshTokenRotation eq false", "dev-1"},
	{C, 0, "refreshGraceSeconds gt 10", "svc"},
	{C, 0, "refreshGraceSeconds eq 30", "svc"},
	{C, 0, "refreshGraceSeconds ge 10.0", "svc,x"},
	{C, 0, "refreshGraceSeconds lt 1e1", "App1-Admin,app1,dev-1"},
	{C, 0, "refreshIdleSeconds ge 3600", "dev-1,x"},
	{C, 0, "grantLifetimeSeconds eq 0", "App1-Admin,app1,svc,x"},
	{C, 0, "grantLifetimeSeconds lt 1.5", "App1-Admin,app1,svc,x"},
	{C, 0, "grantLifetimeSeconds ne 86400", "App1-Admin,app1,svc,x"},
	{C, 0, "refreshGraceSeconds pr", NULL},
	{C, 0, "active eq false", "dev-1"},
	{C, 1, "externalId eq \"SN-001\"", "svc"},
	{C, 1, "externalId eq \"sn-001\"", "dev-1"},
	{C, 1, "id eq \"svc\"", "svc"},
	{C, 1, "id sw \"app1\"", "app1"},
	{C, 1, "scope co \"mqtt\"", "dev-1,svc"},
	{C, 1, "scope eq \"\"", ""},
	{C, 1, "scope pr", "app1,dev-1,svc,x"},
	{C, 0, "clientName pr", "App1-Admin,app1,dev-1,x"},
	{C, 0, "clientName eq null", "svc"},
	{C, 0, "clientName sw \"app one\"", "App1-Admin,app1"},
	{C, 0, "clientName eq \"\"", ""},
	{C, 0, "clientName ne \"x\"", "App1-Admin,app1,dev-1,svc"},
	/* grants (users joined as u) */
	{R, 1, "clientId eq \"app1\"", "1,3"},
	{R, 0, "userName eq \"BJENSEN\"", "1"},
	{R, 0, "userName sw \"A\"", "4"},
	{R, 0, "userName pr", "1,3,4,6"},
	{R, 0, "userName eq null", "2,5"},
	{R, 0, "userName ne \"bjensen\"", "2,3,4,5,6"},
	{R, 0, "not (userName sw \"j\")", "1,2,4,5,6"},
	{R, 1, "userId eq \"1\"", "1"},
	{R, 1, "userId pr", "1,3,4,6"},
	{R, 1, "scope co \"openid\"", "1,3,4,6"},
	{R, 1, "scope pr", "1,2,3,4,6"},
	{R, 1, "meta.created gt \"2020-01-01T00:00:00Z\"", "3,4,5,6"},
	{R, 1, "id eq \"2\" or clientId eq \"x\"", "2,6"},
};

START_TEST(test_agree)
{
	char want[512], got[512];
	struct scim_sql q;
	struct scimf_node *n = compile(agree[_i].t, agree[_i].f, &q);

	sql_ids(&sets[agree[_i].t], agree[_i].f, &q, got, sizeof got);
	match_ids(&sets[agree[_i].t], n, agree[_i].ce, want, sizeof want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: SQL [%s] scimf_match [%s]\n%s", agree[_i].f,
		      got, want, q.where);
	if (agree[_i].ids)
		ck_assert_msg(strcmp(got, agree[_i].ids) == 0, "%s: [%s] expected [%s]",
			      agree[_i].f, got, agree[_i].ids);
	scim_sql_free(&q);
	scimf_free(n);
}
END_TEST

/* ---- caseExact attributes, whatever scimf_match's one flag says ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f, *ids;
} exact[] = {
	{U, "externalId eq \"BJ-001\"", ""},
	{U, "externalId eq \"bj-001\"", "1"},
	{U, "externalId sw \"js\"", ""},
	{U, "externalId co \"É\"", ""},
	{U, "externalId co \"é\"", "4"},
	{U, "externalId ew \"-EXT\"", ""},
	{U, "externalId gt \"a\"", "1,4,5"},
	{U, "externalId ne \"bj-001\"",
	 "2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32"},
	{U, TUS "scope co \"OPENID\"", ""},
	{U, TUS "scope eq \"OpenID\"", ""},
	{U, "scope co \"openid\"", "1,5,8,24"},
	{U, "scope sw \"Mqtt\"", ""},
	{U, "displayName eq \"MALLORY\" and userName eq \"MALLORY\"", "27"},
	{U, "x509Certificates.value sw \"mii\"", ""},
	{U, "groups.display eq \"ADMINS\"", "1,3,27"},
	{G, "externalId eq \"G-1\"", "1"},
	{G, "externalId co \"g\"", "2"},
	{G, "members.value eq \"27\" and displayName eq \"OPS\"", "3"},
	{G, TGR "scope eq \"ADMIN\"", ""},
	{C, "clientName eq \"APP ONE\"", "app1"},
	{C, "id eq \"APP1\"", ""},
	{C, "id eq \"App1-Admin\"", "App1-Admin"},
	{C, "grantTypes eq \"REFRESH_TOKEN\"", ""},
	{C, "grantTypes co \"Code\"", ""},
	{C, "redirectUris sw \"HTTPS\"", ""},
	{C, "redirectUris eq \"https://app1.example/CB\"", ""},
	{C, "externalId ne \"SN-001\"", "App1-Admin,app1,dev-1,x"},
	{C, "scope co \"MQTT\"", ""},
	{R, "clientId eq \"APP1\"", ""},
	{R, "clientId sw \"App1\"", ""},
	{R, "clientId eq \"svc\" and not (scope pr)", "5"},
	{R, "scope eq \"OPENID\"", ""},
	{R, "userName eq \"alice\" and scope co \"offline\"", "4"},
};

START_TEST(test_case_exact)
{
	char got[512];

	select_ids(exact[_i].t, exact[_i].f, got, sizeof got);
	ck_assert_msg(strcmp(got, exact[_i].ids) == 0, "%s: [%s] expected [%s]", exact[_i].f, got,
		      exact[_i].ids);
}
END_TEST

/* Extension attributes without their URN are the same as with it; the core URN is optional. */
START_TEST(test_urn_optional)
{
	static const char *const pairs[][2] = {
		{"department eq \"tour operations\"", ENT "department eq \"tour operations\""},
		{"department pr", ENT "department pr"},
		{"manager.displayName co \"smith\"", ENT "manager.displayName co \"smith\""},
		{"manager[displayName eq \"boss\"]", ENT "manager[displayName eq \"boss\"]"},
		{"employeeNumber lt \"5\"", ENT "employeeNumber lt \"5\""},
		{"scope co \"openid\"", TUS "scope co \"openid\""},
		{"not (scope pr)", "not (" TUS "scope pr)"},
		{"title pr", SCIM_CORE_USER ":title pr"},
		{"emails.type eq \"work\"", SCIM_CORE_USER ":emails.type eq \"work\""},
	};
	char a[512], b[512];
	int i;

	for (i = 0; i < N(pairs); i++) {
		select_ids(U, pairs[i][0], a, sizeof a);
		select_ids(U, pairs[i][1], b, sizeof b);
		ck_assert_msg(strcmp(a, b) == 0, "%s [%s] vs [%s]", pairs[i][0], a, b);
		ck_assert_msg(a[0] != '\0' || i == 4, "%s selects nothing", pairs[i][0]);
	}
	select_ids(U, "department eq \"tour operations\"", a, sizeof a);
	ck_assert_str_eq(a, "1");
	select_ids(G, "scope pr", a, sizeof a);
	ck_assert_str_eq(a, "1,3");
}
END_TEST

/* ---- refusals ---- */

static const struct {
	enum scim_rtype_id t;
	const char *f;
} refused[] = {
	{U, "foo eq \"x\""},
	{U, "password eq \"secret\""},
	{U, "password pr"},
	{U, "active gt 1"},
	{U, "active le \"x\""},
	{U, "active eq 1"},
	{U, "active eq \"true\""},
	{U, "title eq 42"},
	{U, "title eq true"},
	{U, "title gt 1.5"},
	{U, "emails.primary eq \"true\""},
	{U, "emails.primary lt 1"},
	{U, "emails[primary ge 0]"},
	{U, "meta.created gt \"yesterday\""},
	{U, "meta.created gt \"2011-02-30T00:00:00Z\""},
	{U, "meta.created gt \"2011-05-13 04:42:34Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34\""},
	{U, "meta.created gt \"2011-05-13T24:00:00Z\""},
	{U, "meta.created gt \"2011-05-13T04:42:34+2:00\""},
	{U, "meta.created gt \"2011-05-13T04:42:34.Z\""},
	{U, "meta.created eq 1305261754"},
	{U, "meta.created co \"2011\""},
	{U, "meta.lastModified sw \"2011-05-13T04:42:34Z\""},
	{U, "meta.resourceType eq \"User\""},
	{U, "meta.location pr"},
	{U, "meta.version eq \"W/1\""},
	{U, "meta eq \"x\""},
	{U, "meta pr"},
	{U, "name eq \"Barbara\""},
	{U, "name gt \"a\""},
	{U, "groups.type eq \"direct\""},
	{U, "groups[type eq \"direct\"]"},
	{U, "title[value eq \"x\"]"},
	{U, "userName[value eq \"x\"]"},
	{U, "emails[foo eq \"x\"]"},
	{U, "emails.foo eq \"x\""},
	{U, "title.value eq \"x\""},
	{U, SCIM_ENTERPRISE_USER ":userName eq \"x\""},
	{U, "urn:foo:bar:title eq \"x\""},
	{U, SCIM_TESSERA_GROUP ":scope pr"},
	{U, "id gt 3"},
	{U, "userName eq \"a\" and password eq \"b\""},
	{U, "not (emails[type eq \"work\"] or foo pr)"},
	{G, "members.type eq \"User\""},
	{G, "userName eq \"x\""},
	{C, "refreshGraceSeconds co \"1\""},
	{C, "refreshGraceSeconds eq \"30\""},
	{C, "public eq \"true\""},
	{C, "public gt 0"},
	{C, "grantTypes gt \"a\""},
	{C, "grantTypes le \"z\""},
	{C, "redirectUris lt \"https:\""},
	{C, "grantTypes eq 1"},
	{C, "grantTypes.value eq \"x\""},
	{C, "grantTypes[value eq \"x\"]"},
	{C, "clientSecret pr"},
	{C, "clientSecret eq \"x\""},
	{C, "generateSecret eq true"},
	{R, "externalId eq \"x\""},
	{R, "userId eq 1"},
};

START_TEST(test_refused)
{
	struct scim_error e = {0};
	struct scimf_node *n = NULL;
	struct scim_sql q;
	const char *why = NULL;

	ck_assert_msg(scimf_parse(refused[_i].f, &n, &why) == TS_OK, "%s: %s", refused[_i].f, why);
	memset(&q, 0x5a, sizeof q);
	ck_assert_msg(scim_sql_where(scim_rtype(refused[_i].t), n, &q, &e) == TS_INVALID_REQUEST,
		      "%s accepted", refused[_i].f);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_FILTER);
	ck_assert_ptr_nonnull(e.detail);
	ck_assert_str_eq(scim_etype_name(e.type), "invalidFilter");
	ck_assert_ptr_null(q.where);
	ck_assert_ptr_null(q.binds);
	ck_assert_uint_eq(q.nbinds, 0);
	scim_sql_free(&q);
	scim_error_clear(&e);
	scimf_free(n);
}
END_TEST

static Suite *scim_sql_suite(void)
{
	Suite *s = suite_create("scim_sql");
	TCase *tc = db_tcase();
	TCase *tp = tcase_create("plain");

	tcase_add_loop_test(tc, test_agree, 0, N(agree));
	tcase_add_loop_test(tc, test_case_exact, 0, N(exact));
	tcase_add_test(tc, test_urn_optional);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 120);
	tcase_add_loop_test(tp, test_refused, 0, N(refused));
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_sql_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
