/* test_username.c - lib/username.c: which userNames are refused, what is stored, and the key
 * that every spelling of one name shares (docs/security.md row 77). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "username.h"

static void key_is(const char *name, const char *want)
{
	char *k = NULL;

	ck_assert_msg(username_key(name, &k) == TS_OK, "no key for \"%s\"", name);
	ck_assert_str_eq(k, want);
	free(k);
}

/* Every spelling the review found beside "alice", and the usual ones, share alice's key. */
START_TEST(spellings_share_one_key)
{
	key_is("alice", "alice");
	key_is("Alice", "alice");
	key_is("ALICE", "alice");
	key_is("\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85", "alice"); /* ａｌｉｃｅ */
	key_is("\xef\xbc\xa1lice", "alice");           /* fullwidth capital A */
	key_is("alice\xe2\x80\x8b", "alice");          /* + U+200B zero-width space */
	key_is("al\xc2\xadice", "alice");              /* soft hyphen inside */
	key_is("alice ", "alice");
	key_is(" \t alice\xe3\x80\x80", "alice");      /* ideographic space U+3000 */
	key_is("\xc2\xa0" "alice", "alice");           /* no-break space */
	key_is("alice \xe2\x80\x8b", "alice");         /* the space before the invisible one too */
	key_is("STRASSE", "strasse");
	key_is("stra\xc3\x9f" "e", "strasse");         /* ß folds to ss */
	key_is("\xe2\x84\xaa" "elvin", "kelvin");      /* U+212A KELVIN SIGN */
	key_is("\xe2\x91\xa0", "1");                   /* ① circled one */
	key_is("caf\xc3\xa9", "caf\xc3\xa9");          /* é precomposed */
	key_is("cafe\xcc\x81", "caf\xc3\xa9");         /* e + combining acute */
	key_is("CAF\xc3\x89", "caf\xc3\xa9");
	key_is("alice bob", "alice bob");              /* inner spaces stay */
}
END_TEST

START_TEST(distinct_names_stay_distinct)
{
	char *a, *b, *c, *d;

	ck_assert_int_eq(username_key("alice", &a), TS_OK);
	ck_assert_int_eq(username_key("alice2", &b), TS_OK);
	ck_assert_int_eq(username_key("al ice", &c), TS_OK);
	/* Cyrillic а: another letter (a confusable, which folding does not join) */
	ck_assert_int_eq(username_key("\xd0\xb0lice", &d), TS_OK);

	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(a, d);
	free(a);
	free(b);
	free(c);
	free(d);
}
END_TEST

static void no_key(const char *name)
{
	char *k = (char *)1;

	ck_assert_int_eq(username_key(name, &k), TS_INVALID_REQUEST);
	ck_assert_ptr_null(k);
}

START_TEST(no_key_for_invalid_or_empty)
{
	no_key(NULL);
	no_key("");
	no_key("   ");
	no_key("\xe2\x80\x8b");
	no_key("alice\xff");
	no_key("\xc0\xa0" "alice"); /* overlong */
	no_key("\xed\xa0\x80"); /* a surrogate */
}
END_TEST

START_TEST(refused_characters)
{
	static const char *const bad[] = {
		"alice\xe2\x80\x8b",     /* U+200B zero-width space */
		"ali\xe2\x80\x8c" "ce",  /* U+200C zero-width non-joiner */
		"ali\xe2\x80\x8d" "ce",  /* U+200D zero-width joiner */
		"alice\xe2\x81\xa0",     /* U+2060 word joiner */
		"\xef\xbb\xbf" "alice",  /* U+FEFF byte order mark */
		"al\xc2\xadice",         /* U+00AD soft hyphen */
		"\xe2\x80\xae" "ecila",  /* U+202E right-to-left override */
		"a\xe2\x80\xaa" "lice",  /* U+202A */
		"a\xe2\x81\xa6" "lice",  /* U+2066 left-to-right isolate */
		"a\xe2\x81\xa9" "lice",  /* U+2069 pop directional isolate */
		"alice\xef\xb8\x8f",     /* U+FE0F variation selector-16 */
		"alice\xf3\xa0\x84\x80", /* U+E0100 variation selector-17 */
		"alice\xe2\x80\x8f",     /* U+200F right-to-left mark */
		"alice\t",               /* controls, at the ends too */
		"ali\nce",
		"alice\x7f",
		"alice\xc2\x85",         /* U+0085 next line (C1) */
		"ali\xe2\x80\xa8" "ce",  /* U+2028 line separator */
		"alice\xff",             /* invalid UTF-8 */
		"\xc0\xa0" "alice",
		"",
		"   ",
		"\xe3\x80\x80",          /* only an ideographic space */
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(username_problem(bad[i]) != NULL, "accepted bad[%zu]", i);
	ck_assert_ptr_nonnull(username_problem(NULL));
}
END_TEST

START_TEST(accepted_names)
{
	static const char *const good[] = {
		"alice", "Alice Smith", " alice ", "\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85",
		"caf\xc3\xa9", "\xe5\xb1\xb1\xe7\x94\xb0", "dave.old", "%u", "user@example.com",
	};
	char longest[USERNAME_MAX + 3];
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(username_problem(good[i]) == NULL, "refused good[%zu]: %s", i,
		              username_problem(good[i]));
	memset(longest, 'a', sizeof longest - 1);
	longest[sizeof longest - 1] = '\0';
	longest[0] = longest[USERNAME_MAX + 1] = ' '; /* 255 bytes once trimmed */
	ck_assert_ptr_null(username_problem(longest));
	longest[0] = 'a';
	ck_assert_ptr_nonnull(username_problem(longest));
}
END_TEST

START_TEST(stored_name_is_trimmed)
{
	char *t = username_trim(" \xe3\x80\x80 Alice Smith\xc2\xa0 ");

	ck_assert_str_eq(t, "Alice Smith");
	free(t);
	t = username_trim("alice");
	ck_assert_str_eq(t, "alice");
	free(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("username");
	TCase *t = tcase_create("core");

	tcase_add_test(t, spellings_share_one_key);
	tcase_add_test(t, distinct_names_stay_distinct);
	tcase_add_test(t, no_key_for_invalid_or_empty);
	tcase_add_test(t, refused_characters);
	tcase_add_test(t, accepted_names);
	tcase_add_test(t, stored_name_is_trimmed);
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
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
