/* test_scim_patch.c - SCIM PATCH (RFC 7644 §3.5.2): every op on every path shape, the Entra ID
 * and Okta request shapes, mutability, primary and de-duplication, extension objects, errors and
 * atomicity. JSON in this file is written with ' for " (see js()). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scim_patch.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- resources ---- */

#define ENT "'" SCIM_ENTERPRISE_USER "'"
#define ENTP(a) "'" SCIM_ENTERPRISE_USER ":" a "'"
#define TSU "'" SCIM_TESSERA_USER "'"
#define SCH_U "'schemas':['" SCIM_CORE_USER "']"
#define SCH_UE "'schemas':['" SCIM_CORE_USER "'," ENT "]"
#define UID "'id':'u1','userName':'bjensen'"
#define NAME "'name':{'givenName':'Barbara','familyName':'Jensen'}"
#define WORK "{'value':'bj@work.example','type':'work','primary':true}"
#define WORK_NP "{'value':'bj@work.example','type':'work'}"
#define HOME "{'value':'bj@home.example','type':'home'}"
#define EMAILS "'emails':[" WORK "," HOME "]"
#define EXT ENT ":{'department':'Sales','manager':{'value':'9','displayName':'Boss'}}"
#define U0 "{" SCH_U "," UID ",'active':true}"
#define U1 "{" SCH_UE "," UID "," NAME "," EMAILS "," EXT "}"
#define U1_NO(x) "{" SCH_UE "," UID "," x "}"   /* U1 with its name and emails as given */
#define UM "{" SCH_U "," UID ",'meta':{'resourceType':'User','created':'2026-01-01T00:00:00Z'}}"

#define SCH_G "'schemas':['" SCIM_CORE_GROUP "']"
#define G0 "{" SCH_G ",'id':'g1','displayName':'Admins','members':[{'value':'1','display':'alice'},{'value':'2','display':'bob'}]}"
#define G0_WITH(m) "{" SCH_G ",'id':'g1','displayName':'Admins','members':[" m "]}"
#define M1 "{'value':'1','display':'alice'}"
#define M2 "{'value':'2','display':'bob'}"

#define SCH_C "'schemas':['" SCIM_TESSERA_CLIENT "']"
#define C0 "{" SCH_C ",'id':'c1','clientName':'app','public':false,'grantTypes':['client_credentials']}"
#define C0_WITH(x) "{" SCH_C ",'id':'c1','clientName':'app','public':false,'grantTypes':['client_credentials']," x "}"
#define C1 "{" SCH_C ",'id':'c1','clientName':'app'}"

#define SCH_T "'schemas':['" SCIM_TESSERA_GRANT "']"
#define T0 "{" SCH_T ",'id':'5','clientId':'app','userName':'alice','scope':'openid mqtt:sub:a/#'}"

/* Parses JSON written with ' for " (and \\' for \"), failing the test if it does not parse. */
static json_t *js(const char *text)
{
	char *s = strdup(text), *p;
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(s);
	for (p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	ck_assert_msg(j != NULL, "bad test JSON: %s in %s", err.text, s);
	free(s);
	return j;
}

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : strdup("(null)");
}

/* ---- the table: one resource, one Operations array, the result or the error ---- */

static const struct row {
	enum scim_rtype_id t;
	const char *res, *ops, *want;   /* want NULL: refused with err */
	enum scim_etype err;
} rows[] = {
	/* simple paths */
	{SCIM_R_USER, U0, "[{'op':'add','path':'displayName','value':'Babs'}]",
	 "{" SCH_U "," UID ",'active':true,'displayName':'Babs'}", 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'USERNAME','value':'bj2'}]",
	 "{" SCH_U ",'id':'u1','userName':'bj2','active':true}", 0},
	{SCIM_R_USER, U0, "[{'op':'remove','path':'active'}]", "{" SCH_U "," UID "}", 0},
	{SCIM_R_USER, U0, "[{'op':'remove','path':'title'}]", U0, 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'urn:ietf:params:scim:schemas:core:2.0:User:title','value':'Boss'}]",
	 "{" SCH_U "," UID ",'active':true,'title':'Boss'}", 0},
	/* multi-valued add, dedup, merge, canonical names */
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':{'value':'x@y','type':'other'}}]",
	 U1_NO(NAME ",'emails':[" WORK "," HOME ",{'value':'x@y','type':'other'}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':[" HOME "]}]", U1, 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':[{'value':'BJ@HOME.example','type':'home','primary':true}]}]",
	 U1_NO(NAME ",'emails':[" WORK_NP ",{'value':'BJ@HOME.example','type':'home','primary':true}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':[{'Value':'n@x','TYPE':'work','foo':1}]}]",
	 U1_NO(NAME ",'emails':[" WORK "," HOME ",{'value':'n@x','type':'work'}]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'emails','value':[{'value':'a@x'},{'value':'A@X'},{'value':'b@x','primary':true},{'value':'c@x','primary':true}]}]",
	 "{" SCH_U "," UID ",'active':true,'emails':[{'value':'A@X'},{'value':'b@x'},{'value':'c@x','primary':true}]}", 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails','value':[{'value':'only@x'}]}]",
	 U1_NO(NAME ",'emails':[{'value':'only@x'}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails'}]", U1_NO(NAME "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'name','value':{'middleName':'J','GivenName':'Babs'}}]",
	 U1_NO("'name':{'givenName':'Babs','familyName':'Jensen','middleName':'J'}," EMAILS "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'name','value':{'familyName':'J2'}}]",
	 U1_NO("'name':{'givenName':'Barbara','familyName':'J2'}," EMAILS "," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'name','value':{'familyName':'J2','bogus':'x'}}]",
	 "{" SCH_U "," UID ",'active':true,'name':{'familyName':'J2'}}", 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'name','value':5}]", NULL, SCIM_E_INVALID_VALUE},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'name'}]", U1_NO(EMAILS "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':[[1]]}]", NULL, SCIM_E_INVALID_VALUE},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails','value':[]}]", U1, 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'emails','value':[]}]", U0, 0},
	/* sub-attribute paths */
	{SCIM_R_USER, U1, "[{'op':'Replace','path':'name.familyName','value':'X'}]",
	 U1_NO("'name':{'givenName':'Barbara','familyName':'X'}," EMAILS "," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'name.givenName','value':'B'}]",
	 "{" SCH_U "," UID ",'active':true,'name':{'givenName':'B'}}", 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'name.familyName'}]",
	 U1_NO("'name':{'givenName':'Barbara'}," EMAILS "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'name.givenName'},{'op':'remove','path':'Name.FamilyName'}]",
	 U1_NO(EMAILS "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails.value','value':'same@x'}]",
	 U1_NO(NAME ",'emails':[{'value':'same@x','type':'work','primary':true},{'value':'same@x','type':'home'}]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'emails.value','value':'same@x'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U0, "[{'op':'add','path':'emails.value','value':'a@b'}]",
	 "{" SCH_U "," UID ",'active':true,'emails':[{'value':'a@b'}]}", 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails.type'}]",
	 U1_NO(NAME ",'emails':[{'value':'bj@work.example','primary':true},{'value':'bj@home.example'}]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'remove','path':'emails.value'}]", U0, 0},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails.display','value':'D'}]",
	 U1_NO(NAME ",'emails':[{'value':'bj@work.example','type':'work','primary':true,'display':'D'},{'value':'bj@home.example','type':'home','display':'D'}]," EXT), 0},
	/* extension attributes */
	{SCIM_R_USER, U0, "[{'op':'Add','path':" ENTP("manager") ",'value':'42'}]",
	 "{" SCH_UE "," UID ",'active':true," ENT ":{'manager':{'value':'42'}}}", 0},
	{SCIM_R_USER, U1, "[{'op':'Remove','path':" ENTP("manager") "}]",
	 U1_NO(NAME "," EMAILS "," ENT ":{'department':'Sales'}"), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':" ENTP("manager") "},{'op':'remove','path':'department'}]",
	 "{" SCH_U "," UID "," NAME "," EMAILS "}", 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':" ENTP("department") ",'value':'Eng'}]",
	 U1_NO(NAME "," EMAILS "," ENT ":{'department':'Eng','manager':{'value':'9','displayName':'Boss'}}"), 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':" ENTP("manager.value") ",'value':'10'}]",
	 U1_NO(NAME "," EMAILS "," ENT ":{'department':'Sales','manager':{'value':'10','displayName':'Boss'}}"), 0},
	{SCIM_R_USER, U0, "[{'op':'add','value':{" ENTP("employeeNumber") ":'701984'}}]",
	 "{" SCH_UE "," UID ",'active':true," ENT ":{'employeeNumber':'701984'}}", 0},
	{SCIM_R_USER, U1, "[{'op':'add','value':{" ENT ":{'CostCenter':'4','nope':1}}}]",
	 U1_NO(NAME "," EMAILS "," ENT ":{'department':'Sales','costCenter':'4','manager':{'value':'9','displayName':'Boss'}}"), 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'scope','value':'openid'}]",
	 "{'schemas':['" SCIM_CORE_USER "'," TSU "]," UID ",'active':true," TSU ":{'scope':'openid'}}", 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':" ENTP("department") ",'value':'x'},{'op':'remove','path':" ENTP("department") "}]",
	 U0, 0},
	{SCIM_R_USER, U0, "[{'op':'add','value':{" ENT ":'x'}}]", NULL, SCIM_E_INVALID_VALUE},
	/* value filters */
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'home\\']'}]",
	 U1_NO(NAME ",'emails':[" WORK "]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'other\\']'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'home\\']','value':{'value':'h2@x','type':'home','primary':true}}]",
	 U1_NO(NAME ",'emails':[" WORK_NP ",{'value':'h2@x','type':'home','primary':true}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'other\\']','value':{'value':'o@x'}}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U1, "[{'op':'add','path':'emails[type eq \\'home\\']','value':{'display':'H'}}]",
	 U1_NO(NAME ",'emails':[" WORK ",{'value':'bj@home.example','type':'home','display':'H'}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[value eq \\'BJ@WORK.EXAMPLE\\']'}]",
	 U1_NO(NAME ",'emails':[" HOME "]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'work\\' or type eq \\'home\\']'}]",
	 U1_NO(NAME "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[not (type eq \\'work\\')]'}]",
	 U1_NO(NAME ",'emails':[" WORK "]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'work\\' and primary eq true]'}]",
	 U1_NO(NAME ",'emails':[" HOME "]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'remove','path':'emails[type eq \\'work\\']'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'emails[type eq \\'work\\']','value':{'value':'w@x'}}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_GROUP, G0, "[{'op':'remove','path':'members[value eq \\'1\\']'}]", G0_WITH(M2), 0},
	{SCIM_R_GROUP, G0, "[{'op':'remove','path':'members[value eq \\'3\\']'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_GROUP, G0_WITH("{'value':'a1'}"), "[{'op':'remove','path':'members[value eq \\'A1\\']'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'home\\']','value':5}]", NULL, SCIM_E_INVALID_VALUE},
	/* each comparison with its own sub-attribute's caseExact: value exact, type not */
	{SCIM_R_USER, "{" SCH_U "," UID ",'x509Certificates':[{'value':'AbC','type':'work'}]}",
	 "[{'op':'remove','path':'x509Certificates[value eq \\'AbC\\' and type eq \\'WORK\\']'}]",
	 "{" SCH_U "," UID "}", 0},
	{SCIM_R_USER, "{" SCH_U "," UID ",'x509Certificates':[{'value':'AbC','type':'work'}]}",
	 "[{'op':'remove','path':'x509Certificates[value eq \\'abc\\' and type eq \\'work\\']'}]",
	 NULL, SCIM_E_NO_TARGET},
	/* value filter and sub-attribute */
	{SCIM_R_USER, U0, "[{'op':'Add','path':'emails[type eq \\'work\\'].value','value':'a@b.c'}]",
	 "{" SCH_U "," UID ",'active':true,'emails':[{'type':'work','value':'a@b.c'}]}", 0},
	{SCIM_R_USER, U1, "[{'op':'Add','path':'emails[type eq \\'work\\'].value','value':'a@b.c'}]",
	 U1_NO(NAME ",'emails':[{'value':'a@b.c','type':'work','primary':true}," HOME "]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'work\\' and primary eq true].value','value':'p@x'}]",
	 U1_NO(NAME ",'emails':[{'value':'p@x','type':'work','primary':true}," HOME "]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'emails[type eq \\'other\\' and primary eq true].value','value':'z'}]",
	 "{" SCH_U "," UID ",'active':true,'emails':[{'type':'other','primary':true,'value':'z'}]}", 0},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'other\\'].value','value':'z'}]",
	 U1_NO(NAME ",'emails':[" WORK "," HOME ",{'type':'other','value':'z'}]," EXT), 0},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'emails[type ne \\'work\\'].value','value':'z'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'emails[type eq \\'work\\' or type eq \\'home\\'].value','value':'z'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'emails[type eq \\'home\\'].primary','value':'True'}]",
	 U1_NO(NAME ",'emails':[" WORK_NP ",{'value':'bj@home.example','type':'home','primary':true}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'home\\'].type'}]",
	 U1_NO(NAME ",'emails':[" WORK ",{'value':'bj@home.example'}]," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'x\\'].type'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U0, "[{'op':'add','path':'addresses[type eq \\'work\\'].streetAddress','value':'1 Main'}]",
	 "{" SCH_U "," UID ",'active':true,'addresses':[{'type':'work','streetAddress':'1 Main'}]}", 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'phoneNumbers[type eq \\'work\\' and primary eq true].value','value':'+1'},"
	 "{'op':'add','path':'phoneNumbers[type eq \\'mobile\\' and primary eq true].value','value':'+2'}]",
	 "{" SCH_U "," UID ",'active':true,'phoneNumbers':[{'type':'work','value':'+1'},{'type':'mobile','primary':true,'value':'+2'}]}", 0},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'home\\'].value'},{'op':'remove','path':'emails[type eq \\'home\\'].type'}]",
	 U1_NO(NAME ",'emails':[" WORK "]," EXT), 0},
	/* Entra ID, group and user shapes (verbatim) */
	{SCIM_R_GROUP, G0, "[{'op':'Add','path':'members','value':[{'value':'7'}]}]",
	 G0_WITH(M1 "," M2 ",{'value':'7'}"), 0},
	{SCIM_R_GROUP, G0, "[{'op':'Add','path':'members','value':[{'value':'1'}]}]", G0, 0},
	{SCIM_R_GROUP, G0, "[{'op':'Remove','path':'members','value':[{'value':'1'}]}]", G0_WITH(M2), 0},
	{SCIM_R_GROUP, G0, "[{'op':'Remove','path':'members','value':[{'value':'2'},{'value':'1'}]}]",
	 "{" SCH_G ",'id':'g1','displayName':'Admins'}", 0},
	{SCIM_R_GROUP, G0, "[{'op':'Remove','path':'members','value':[{'value':'7'}]}]", G0, 0},
	{SCIM_R_GROUP, G0, "[{'op':'Replace','path':'displayName','value':'n'}]",
	 "{" SCH_G ",'id':'g1','displayName':'n','members':[" M1 "," M2 "]}", 0},
	{SCIM_R_USER, U0, "[{'op':'Replace','path':'active','value':'False'}]",
	 "{" SCH_U "," UID ",'active':false}", 0},
	{SCIM_R_USER, U0, "[{'op':'Replace','path':'active','value':'TRUE'}]", U0, 0},
	{SCIM_R_USER, U0, "[{'op':'Replace','path':'active','value':'yes'}]",
	 "{" SCH_U "," UID ",'active':'yes'}", 0},
	{SCIM_R_USER, U0, "[{'op':'Replace','path':'displayName','value':'True'}]",
	 "{" SCH_U "," UID ",'active':true,'displayName':'True'}", 0},
	{SCIM_R_USER, U0, "[{'op':'Replace','value':{'active':'False','emails[type eq \\'work\\'].value':'w@x','name.familyName':'F'}}]",
	 "{" SCH_U "," UID ",'active':false,'emails':[{'type':'work','value':'w@x'}],'name':{'familyName':'F'}}", 0},
	/* Okta shapes (verbatim) */
	{SCIM_R_USER, U0, "[{'op':'replace','value':{'active':false}}]", "{" SCH_U "," UID ",'active':false}", 0},
	{SCIM_R_GROUP, G0, "[{'op':'replace','value':{'id':'g1','displayName':'New'}}]",
	 "{" SCH_G ",'id':'g1','displayName':'New','members':[" M1 "," M2 "]}", 0},
	{SCIM_R_GROUP, G0, "[{'op':'replace','value':{'id':'g2','displayName':'New'}}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_GROUP, G0, "[{'op':'add','path':'members','value':[{'value':'1','display':'x'}]}]",
	 G0_WITH("{'value':'1','display':'x'}," M2), 0},
	{SCIM_R_GROUP, G0, "[{'op':'add','path':'members','value':[{'value':'3','display':'carol'}]}]",
	 G0_WITH(M1 "," M2 ",{'value':'3','display':'carol'}"), 0},
	{SCIM_R_GROUP, G0, "[{'op':'remove','path':'members[value eq \\'1\\']'}]", G0_WITH(M2), 0},
	/* path-less values */
	{SCIM_R_USER, U0, "[{'op':'add','value':{'foo':1,'DisplayName':'x','bad path[':2}}]",
	 "{" SCH_U "," UID ",'active':true,'displayName':'x'}", 0},
	{SCIM_R_USER, U0, "[{'op':'replace','value':{'schemas':['x'],'title':'T'}}]",
	 "{" SCH_U "," UID ",'active':true,'title':'T'}", 0},
	{SCIM_R_USER, U1, "[{'op':'replace','value':{'name':null,'title':null}}]", U1_NO(EMAILS "," EXT), 0},
	{SCIM_R_USER, U1, "[{'op':'add','value':{'name':null}}]", U1, 0},
	{SCIM_R_GROUP, G0, "[{'op':'replace','value':{" ENT ":{'department':'x'}}}]", G0, 0},
	{SCIM_R_USER, U0, "[{'op':'add','value':{'urn:ietf:params:scim:schemas:core:2.0:User':{'nickName':'bj'}}}]",
	 "{" SCH_U "," UID ",'active':true,'nickName':'bj'}", 0},
	{SCIM_R_USER, U0, "[{'op':'add','value':'x'}]", NULL, SCIM_E_INVALID_VALUE},
	{SCIM_R_USER, UM, "[{'op':'replace','value':{'id':'u1','meta':{'resourceType':'User','created':'2026-01-01T00:00:00Z'},'nickName':'n'}}]",
	 "{" SCH_U "," UID ",'meta':{'resourceType':'User','created':'2026-01-01T00:00:00Z'},'nickName':'n'}", 0},
	{SCIM_R_USER, UM, "[{'op':'replace','value':{'meta':{'resourceType':'Group'}}}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, UM, "[{'op':'replace','value':{'meta.created':'2026-01-01T00:00:00Z','groups':null}}]", UM, 0},
	/* mutability */
	{SCIM_R_USER, U0, "[{'op':'replace','path':'id','value':'u2'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'id','value':'u1'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, UM, "[{'op':'remove','path':'meta'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, UM, "[{'op':'replace','path':'meta.created','value':'2020-01-01T00:00:00Z'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U0, "[{'op':'add','path':'groups','value':[{'value':'1'}]}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U0, "[{'op':'replace','value':{'meta.created':'2020-01-01T00:00:00Z'}}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U0, "[{'op':'add','path':" ENTP("manager.displayName") ",'value':'B'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_CLIENT, C0, "[{'op':'replace','path':'public','value':true}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_CLIENT, C0, "[{'op':'replace','path':'public','value':'false'}]", C0, 0},
	{SCIM_R_CLIENT, C0, "[{'op':'remove','path':'public'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_CLIENT, C1, "[{'op':'add','path':'public','value':true}]",
	 "{" SCH_C ",'id':'c1','clientName':'app','public':true}", 0},
	{SCIM_R_CLIENT, C1, "[{'op':'remove','path':'public'}]", C1, 0},
	{SCIM_R_CLIENT, C0, "[{'op':'replace','value':{'public':false,'clientName':'b'}}]",
	 "{" SCH_C ",'id':'c1','clientName':'b','public':false,'grantTypes':['client_credentials']}", 0},
	{SCIM_R_CLIENT, C0, "[{'op':'replace','path':'generateSecret','value':'True'}]",
	 C0_WITH("'generateSecret':true"), 0},
	{SCIM_R_CLIENT, C0, "[{'op':'replace','path':'clientSecret','value':'s'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_CLIENT, C0, "[{'op':'add','path':'grantTypes','value':['refresh_token','client_credentials']}]",
	 "{" SCH_C ",'id':'c1','clientName':'app','public':false,'grantTypes':['client_credentials','refresh_token']}", 0},
	{SCIM_R_CLIENT, C0, "[{'op':'remove','path':'grantTypes','value':'client_credentials'}]",
	 "{" SCH_C ",'id':'c1','clientName':'app','public':false}", 0},
	{SCIM_R_GROUP, G0, "[{'op':'replace','path':'members[value eq \\'1\\'].value','value':'5'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_GROUP, G0, "[{'op':'replace','path':'members[value eq \\'1\\'].value','value':'1'}]", G0, 0},
	{SCIM_R_GROUP, G0, "[{'op':'remove','path':'members[value eq \\'1\\'].value'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_GROUP, G0, "[{'op':'replace','path':'members.value','value':'5'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_GROUP, G0, "[{'op':'replace','path':'members','value':[{'value':'5'}]}]", G0_WITH("{'value':'5'}"), 0},
	{SCIM_R_GROUP, G0, "[{'op':'replace','path':'members[value eq \\'1\\'].display','value':'x'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_GRANT, T0, "[{'op':'replace','path':'scope','value':'mqtt:sub:a/#'}]",
	 "{" SCH_T ",'id':'5','clientId':'app','userName':'alice','scope':'mqtt:sub:a/#'}", 0},
	{SCIM_R_GRANT, T0, "[{'op':'replace','value':{'scope':'openid'}}]",
	 "{" SCH_T ",'id':'5','clientId':'app','userName':'alice','scope':'openid'}", 0},
	{SCIM_R_GRANT, T0, "[{'op':'replace','path':'clientId','value':'other'}]", NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U0, "[{'op':'add','path':'password','value':'s3cret'}]",
	 "{" SCH_U "," UID ",'active':true,'password':'s3cret'}", 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'password','value':'s3cret'},{'op':'remove','path':'password'}]", U0, 0},
	/* invalidPath */
	{SCIM_R_USER, U0, "[{'op':'add','path':'nosuch','value':1}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U0, "[{'op':'remove','path':'emails['}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'name[givenName eq \\'B\\']','value':{}}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_CLIENT, C0, "[{'op':'remove','path':'grantTypes[value eq \\'x\\']'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[foo eq \\'x\\']'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'work\\' and foo pr]'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'name.nosuch','value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'displayName.x','value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'replace','path':5,'value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'replace','path':'','value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'remove','path':" ENT "}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_GROUP, G0, "[{'op':'add','path':" ENTP("department") ",'value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_GRANT, T0, "[{'op':'replace','path':'externalId','value':'x'}]", NULL, SCIM_E_INVALID_PATH},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails[type eq \\'work\\'].nosuch'}]", NULL, SCIM_E_INVALID_PATH},
	/* invalidSyntax and noTarget in one operation */
	{SCIM_R_USER, U0, "[{'op':'copy','path':'title','value':'x'}]", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "[{'path':'title','value':'x'}]", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "[{'op':5,'path':'title','value':'x'}]", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "[{'op':'add','path':'title'}]", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "[{'op':'replace','path':'title','value':null}]", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "['add']", NULL, SCIM_E_INVALID_SYNTAX},
	{SCIM_R_USER, U0, "[{'op':'remove'}]", NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U0, "[{'op':'remove','value':{'title':'x'}}]", NULL, SCIM_E_NO_TARGET},
	/* op names in any case, keys in any case, several operations in order */
	{SCIM_R_USER, U0, "[{'OP':'ADD','Path':'title','VALUE':'x'},{'op':'rEpLaCe','path':'title','value':'y'}]",
	 "{" SCH_U "," UID ",'active':true,'title':'y'}", 0},
	{SCIM_R_USER, U0, "[{'op':'add','path':'title','value':'x'},{'op':'remove','path':'title'},{'op':'add','path':'nickName','value':'n'}]",
	 "{" SCH_U "," UID ",'active':true,'nickName':'n'}", 0},
	/* atomicity: the third operation fails, nothing changes */
	{SCIM_R_USER, U1, "[{'op':'replace','path':'displayName','value':'d'},{'op':'add','path':'emails','value':[{'value':'z@x','primary':true}]},{'op':'replace','path':'id','value':'x'}]",
	 NULL, SCIM_E_MUTABILITY},
	{SCIM_R_USER, U1, "[{'op':'remove','path':'emails'},{'op':'remove','path':" ENTP("department") "},{'op':'remove','path':'emails[type eq \\'work\\']'}]",
	 NULL, SCIM_E_NO_TARGET},
	{SCIM_R_USER, U1, "[{'op':'remove','path':" ENTP("manager") "},{'op':'remove','path':" ENTP("department") "},{'op':'add','path':'bogus','value':1}]",
	 NULL, SCIM_E_INVALID_PATH},
};

/* Builds the PatchOp request around an Operations array. */
static json_t *request_of(const char *ops)
{
	json_t *r = js("{'schemas':['" SCIM_PATCH_OP "']}");

	ck_assert_int_eq(json_object_set_new(r, "Operations", js(ops)), 0);
	return r;
}

START_TEST(test_rows)
{
	const struct row *w = &rows[_i];
	const struct scim_rtype *t = scim_rtype(w->t);
	json_t *res = js(w->res), *before = json_deep_copy(res), *req = request_of(w->ops);
	json_t *out = (json_t *)1;
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_patch(t, res, req, &out, &e);
	char *got = dump(out), *exp;

	if (w->want) {
		json_t *want = js(w->want);

		exp = dump(want);
		ck_assert_msg(r == TS_OK, "row %d %s: error %d %s: %s", _i, w->ops, r,
			      scim_etype_name(e.type), e.detail ? e.detail : "");
		ck_assert_msg(json_equal(out, want), "row %d %s:\n got  %s\n want %s", _i, w->ops, got,
			      exp);
		ck_assert_int_eq(e.type, SCIM_E_NONE);
		json_decref(want);
		free(exp);
	} else {
		ck_assert_msg(r == TS_INVALID_REQUEST, "row %d %s: %d, got %s", _i, w->ops, r, got);
		ck_assert_ptr_null(out);
		ck_assert_msg(e.type == w->err, "row %d %s: %s, want %s (%s)", _i, w->ops,
			      scim_etype_name(e.type), scim_etype_name(w->err), e.detail ? e.detail : "");
		ck_assert_ptr_nonnull(e.detail);
	}
	/* the input is never changed (a PATCH is atomic and works on a copy) */
	ck_assert_msg(json_equal(res, before), "row %d changed its input", _i);
	free(got);
	json_decref(out);
	json_decref(res);
	json_decref(before);
	json_decref(req);
	scim_error_clear(&e);
}
END_TEST

/* ---- the request envelope ---- */

static const struct {
	const char *req;
	enum scim_etype err;   /* SCIM_E_NONE: accepted */
} env_rows[] = {
	{"['" SCIM_PATCH_OP "']", SCIM_E_INVALID_SYNTAX},
	{"'x'", SCIM_E_INVALID_SYNTAX},
	{"{'Operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':[],'Operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':'" SCIM_PATCH_OP "','Operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['" SCIM_CORE_USER "'],'Operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['" SCIM_PATCH_OP "']}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['" SCIM_PATCH_OP "'],'Operations':[]}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['" SCIM_PATCH_OP "'],'Operations':{'op':'add','path':'title','value':'x'}}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['" SCIM_PATCH_OP "'],'Operations':null}", SCIM_E_INVALID_SYNTAX},
	{"{'schemas':['x','" SCIM_PATCH_OP "'],'Operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_NONE},
	{"{'schemas':['URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP'],'operations':[{'op':'add','path':'title','value':'x'}]}", SCIM_E_NONE},
};

START_TEST(test_envelope)
{
	json_t *res = js(U0), *req = js(env_rows[_i].req), *out = (json_t *)1, *want;
	struct scim_error e = {SCIM_E_NONE, NULL};
	ts_err r = scim_patch(scim_rtype(SCIM_R_USER), res, req, &out, &e);

	if (env_rows[_i].err == SCIM_E_NONE) {
		ck_assert_msg(r == TS_OK, "env row %d: %s", _i, scim_etype_name(e.type));
		want = js("{" SCH_U "," UID ",'active':true,'title':'x'}");
		ck_assert(json_equal(out, want));
		json_decref(want);
	} else {
		ck_assert_msg(r == TS_INVALID_REQUEST, "env row %d: %d", _i, r);
		ck_assert_ptr_null(out);
		ck_assert_int_eq(e.type, env_rows[_i].err);
	}
	json_decref(out);
	json_decref(res);
	json_decref(req);
	scim_error_clear(&e);
}
END_TEST

/* 1000 operations are accepted, 1001 are not. */
START_TEST(test_op_limit)
{
	json_t *res = js(U0), *ops = json_array(), *req, *out = NULL;
	struct scim_error e = {SCIM_E_NONE, NULL};
	int i;

	for (i = 0; i < 1000; i++)
		json_array_append_new(ops, json_pack("{s:s,s:s,s:i}", "op", "replace", "path",
						     "nickName", "value", i));
	req = json_pack("{s:[s],s:O}", "schemas", SCIM_PATCH_OP, "Operations", ops);
	ck_assert_int_eq(scim_patch(scim_rtype(SCIM_R_USER), res, req, &out, &e), TS_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "nickName")), 999);
	json_decref(out);
	json_array_append_new(ops, json_pack("{s:s,s:s,s:i}", "op", "replace", "path", "nickName",
					     "value", 1000));
	ck_assert_int_eq(scim_patch(scim_rtype(SCIM_R_USER), res, req, &out, &e),
			 TS_INVALID_REQUEST);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(e.type, SCIM_E_INVALID_SYNTAX);
	scim_error_clear(&e);
	json_decref(req);
	json_decref(ops);
	json_decref(res);
}
END_TEST

/* A request reused on two resources, and the result independent of both inputs. */
START_TEST(test_result_is_a_copy)
{
	json_t *res = js(U1), *req = request_of("[{'op':'add','path':'emails','value':[{'value':'n@x'}]}]");
	json_t *out = NULL, *out2 = NULL;
	struct scim_error e = {SCIM_E_NONE, NULL};

	ck_assert_int_eq(scim_patch(scim_rtype(SCIM_R_USER), res, req, &out, &e), TS_OK);
	ck_assert_int_eq(scim_patch(scim_rtype(SCIM_R_USER), out, req, &out2, &e), TS_OK);
	ck_assert(json_equal(out, out2));  /* the second add changes nothing */
	json_object_set_new(json_array_get(json_object_get(out, "emails"), 2), "type",
			    json_string("t"));
	ck_assert(!json_equal(out, out2));
	ck_assert_int_eq(json_array_size(json_object_get(res, "emails")), 2);
	json_decref(out);
	json_decref(out2);
	json_decref(res);
	json_decref(req);
}
END_TEST

START_TEST(test_bad_args)
{
	json_t *req = request_of("[{'op':'remove','path':'title'}]"), *out = (json_t *)1;
	json_t *arr = json_array();

	ck_assert_int_eq(scim_patch(scim_rtype(SCIM_R_USER), arr, req, &out, NULL), TS_SERVER_ERROR);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(scim_patch(NULL, arr, req, &out, NULL), TS_SERVER_ERROR);
	json_decref(arr);
	json_decref(req);
}
END_TEST

static Suite *scim_patch_suite(void)
{
	Suite *s = suite_create("scim_patch");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_rows, 0, N(rows));
	tcase_add_loop_test(tc, test_envelope, 0, N(env_rows));
	tcase_add_test(tc, test_op_limit);
	tcase_add_test(tc, test_result_is_a_copy);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scim_patch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
