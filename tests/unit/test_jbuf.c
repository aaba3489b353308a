/* Unit tests for lib/common/jbuf: the JSON text it writes parses back to the same values. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "jbuf.h"

START_TEST(test_roundtrip)
{
	static const char *const values[] = {
		"", "plain", "quote\" backslash\\ slash/", "ctl\x01\x1f\n\t\r end", "h\xc3\xa9 \xf0\x9f\x98\x80",
		"mqtt:pub:a/+/# ${clientid}",
	};
	size_t i, len;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		struct jbuf b = {0};
		json_t *j;
		char *text;

		jbuf_raw(&b, "{", 1);
		jbuf_key(&b, "s", 1);
		jbuf_str(&b, values[i]);
		jbuf_key(&b, "n", 0);
		jbuf_int(&b, -9007199254740991LL);
		jbuf_raw(&b, "}", 1);
		text = jbuf_take(&b, &len);
		ck_assert_ptr_nonnull(text);
		ck_assert_uint_eq(len, strlen(text));
		j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		ck_assert_msg(j != NULL, "not JSON: %s", text);
		ck_assert_str_eq(json_string_value(json_object_get(j, "s")), values[i]);
		ck_assert(json_integer_value(json_object_get(j, "n")) == -9007199254740991LL);
		json_decref(j);
		free(text);
		ck_assert_ptr_null(b.p);
	}
}
END_TEST

START_TEST(test_grows_and_empty)
{
	struct jbuf b = {0};
	char *big = malloc(100001), *text;
	size_t len;

	memset(big, 'x', 100000);
	big[100000] = '\0';
	jbuf_str(&b, big);
	text = jbuf_take(&b, &len);
	ck_assert_uint_eq(len, 100002);
	ck_assert_int_eq(text[0], '"');
	ck_assert_int_eq(text[100001], '"');
	free(text);
	free(big);
	text = jbuf_take(&b, &len);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(len, 0);
	free(text);
}
END_TEST

/* The key/value helpers write exactly what jbuf_key followed by the value writes. */
START_TEST(test_key_value_members)
{
	struct jbuf b = {0};
	char *text;
	json_t *j;

	jbuf_raw(&b, "{", 1);
	jbuf_kv_str(&b, "iss", "https://a\"b", 1);
	jbuf_kv_int(&b, "exp", -9007199254740991LL, 0);
	jbuf_kv_bool(&b, "active", 1, 0);
	jbuf_kv_bool(&b, "public", 0, 0);
	jbuf_kv_bool(&b, "two", 2, 0);
	jbuf_raw(&b, "}", 1);
	text = jbuf_take(&b, NULL);
	ck_assert_str_eq(text, "{\"iss\":\"https://a\\\"b\",\"exp\":-9007199254740991,"
	                       "\"active\":true,\"public\":false,\"two\":true}");
	j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "iss")), "https://a\"b");
	ck_assert(json_is_true(json_object_get(j, "active")));
	ck_assert(json_is_false(json_object_get(j, "public")));
	json_decref(j);
	free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jbuf");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_roundtrip);
	tcase_add_test(t, test_grows_and_empty);
	tcase_add_test(t, test_key_value_members);
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
