/* test_html.c - escaping, one-pass rendering and the embedded templates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "templates.h"   /* the names of the embedded templates, to check each page */

#define NVARS(v) (sizeof (v) / sizeof (v)[0])

/* Renders tmpl with vars, checks the result equals want and frees it. */
static void assert_render(const char *tmpl, const struct html_var *vars, size_t n,
			  const char *want)
{
	char *out = html_render(tmpl, vars, n);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strcmp(out, want) == 0, "render(\"%s\") = \"%s\", want \"%s\"", tmpl, out,
		      want);
	free(out);
}

static void assert_escape(const char *in, const char *want)
{
	char *out = html_escape(in);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(test_escape_each_character)
{
	assert_escape("&", "&amp;");
	assert_escape("<", "&lt;");
	assert_escape(">", "&gt;");
	assert_escape("\"", "&quot;");
	assert_escape("'", "&#39;");
	assert_escape("", "");
	assert_escape(NULL, "");
	assert_escape("plain text / = ` \xc3\xa9", "plain text / = ` \xc3\xa9");
	assert_escape("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	assert_escape("&&<<>>", "&amp;&amp;&lt;&lt;&gt;&gt;");
	/* An entity is escaped again: escaping is not idempotent, and must not pretend to be. */
	assert_escape("&amp;", "&amp;amp;");
	assert_escape("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_escape("\" onmouseover='x'", "&quot; onmouseover=&#39;x&#39;");
}
END_TEST

START_TEST(test_render_escapes_values)
{
	const struct html_var v[] = {
		{ "x", "<script>alert(1)</script>" },
		{ "attr", "\" autofocus onfocus='alert(1)" },
		{ "amp", "a&b" },
	};

	assert_render("<p>{{x}}</p>", v, NVARS(v), "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
	assert_render("<input value=\"{{attr}}\">", v, NVARS(v),
		      "<input value=\"&quot; autofocus onfocus=&#39;alert(1)\">");
	assert_render("{{amp}}{{amp}}", v, NVARS(v), "a&amp;ba&amp;b");
	/* The template's own text is not escaped. */
	assert_render("<b>&amp; \"'</b>", v, NVARS(v), "<b>&amp; \"'</b>");
}
END_TEST

START_TEST(test_render_no_reexpansion)
{
	const struct html_var v[] = {
		{ "a", "{{b}}" },
		{ "b", "SECRET" },
		{ "c", "{{{b}}}" },
		{ "self", "{{self}}" },
	};

	assert_render("{{a}}", v, NVARS(v), "{{b}}");
	assert_render("{{{a}}}", v, NVARS(v), "{{b}}");
	assert_render("{{c}}", v, NVARS(v), "{{{b}}}");
	assert_render("{{{c}}}", v, NVARS(v), "{{{b}}}");
	assert_render("{{self}}{{self}}", v, NVARS(v), "{{self}}{{self}}");
	/* A value that completes a tag begun in the template does not form one. */
	assert_render("{{{{a}}}}", v, NVARS(v), "{{{b}}}");
}
END_TEST

START_TEST(test_render_raw_vs_escaped)
{
	const struct html_var v[] = {
		{ "frag", "<li>a &amp; b</li>" },
	};

	assert_render("<ul>{{{frag}}}</ul>", v, NVARS(v), "<ul><li>a &amp; b</li></ul>");
	assert_render("<ul>{{frag}}</ul>", v, NVARS(v),
		      "<ul>&lt;li&gt;a &amp;amp; b&lt;/li&gt;</ul>");
	assert_render("{{{ frag }}}", v, NVARS(v), "<li>a &amp; b</li>");
	/* Three braces open, two close: a brace and an escaped tag. */
	assert_render("{{{frag}}", v, NVARS(v), "{&lt;li&gt;a &amp;amp; b&lt;/li&gt;");
	/* Two open, three close: an escaped tag and a brace. */
	assert_render("{{frag}}}", v, NVARS(v), "&lt;li&gt;a &amp;amp; b&lt;/li&gt;}");
}
END_TEST

START_TEST(test_render_names_and_spaces)
{
	const struct html_var v[] = {
		{ "user_name", "alice" },
		{ "n2", "two" },
		{ "user", "WRONG" },
	};

	assert_render("{{user_name}}", v, NVARS(v), "alice");
	assert_render("{{ user_name }}", v, NVARS(v), "alice");
	assert_render("{{   user_name}}", v, NVARS(v), "alice");
	assert_render("[{{n2}}|{{ n2 }}]", v, NVARS(v), "[two|two]");
	/* A prefix of a name is not the name, nor the other way round. */
	assert_render("{{user_nam}}", v, NVARS(v), "");
	assert_render("{{user_name2}}", v, NVARS(v), "");
	/* Not names: copied as they are. */
	assert_render("{{}}", v, NVARS(v), "{{}}");
	assert_render("{{ }}", v, NVARS(v), "{{ }}");
	assert_render("{{user-name}}", v, NVARS(v), "{{user-name}}");
	assert_render("{{user name}}", v, NVARS(v), "{{user name}}");
	assert_render("{{user.name}}", v, NVARS(v), "{{user.name}}");
	assert_render("{{\tuser}}", v, NVARS(v), "{{\tuser}}");
	assert_render("{ {user} }", v, NVARS(v), "{ {user} }");
	assert_render("{user}", v, NVARS(v), "{user}");
}
END_TEST

START_TEST(test_render_missing_and_null)
{
	const struct html_var v[] = {
		{ "nul", NULL },
		{ NULL, "nameless" },
		{ "x", "X" },
	};

	assert_render("a{{missing}}b", v, NVARS(v), "ab");
	assert_render("a{{{missing}}}b", v, NVARS(v), "ab");
	assert_render("a{{nul}}b{{{nul}}}c", v, NVARS(v), "abc");
	assert_render("{{x}}", v, NVARS(v), "X");
	/* n bounds the lookup. */
	assert_render("{{x}}", v, 2, "");
	assert_render("{{x}}", NULL, 0, "");
	assert_render("plain", NULL, 0, "plain");
	assert_render("", v, NVARS(v), "");
	assert_render(NULL, v, NVARS(v), "");
}
END_TEST

START_TEST(test_render_unterminated)
{
	const struct html_var v[] = {
		{ "x", "X" },
	};

	assert_render("{{", v, NVARS(v), "{{");
	assert_render("{{{", v, NVARS(v), "{{{");
	assert_render("a{{x", v, NVARS(v), "a{{x");
	assert_render("a{{x}", v, NVARS(v), "a{{x}");
	assert_render("a{{ x ", v, NVARS(v), "a{{ x ");
	assert_render("{{{x}", v, NVARS(v), "{{{x}");
	assert_render("{{x}}{{", v, NVARS(v), "X{{");
	assert_render("{{{{x}}", v, NVARS(v), "{{X");
	assert_render("}}x}}", v, NVARS(v), "}}x}}");
	assert_render("{", v, NVARS(v), "{");
}
END_TEST

START_TEST(test_render_huge)
{
	const size_t big = 1024 * 1024;
	struct html_var v[2] = { { "big", NULL }, { "raw", NULL } };
	char *val, *out, *want;
	size_t i;

	val = malloc(big + 1);
	ck_assert_ptr_nonnull(val);
	for (i = 0; i < big; i++)
		val[i] = (i % 7 == 0) ? '<' : 'a';
	val[big] = '\0';
	v[0].value = val;
	v[1].value = val;

	out = html_render("[{{big}}]", v, 2);
	ck_assert_ptr_nonnull(out);
	/* Each '<' (every 7th of big bytes) grows by 3. */
	ck_assert_uint_eq(strlen(out), 2 + big + 3 * ((big + 6) / 7));
	ck_assert_int_eq(out[0], '[');
	ck_assert_int_eq(strncmp(out + 1, "&lt;aaaaaa&lt;", 14), 0);
	ck_assert_int_eq(out[strlen(out) - 1], ']');
	ck_assert_ptr_null(strchr(out, '<'));
	free(out);

	out = html_render("{{{raw}}}{{{raw}}}", v, 2);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strlen(out), 2 * big);
	ck_assert_int_eq(memcmp(out, val, big), 0);
	ck_assert_int_eq(memcmp(out + big, val, big), 0);
	free(out);

	/* A huge value made of tags stays literal; the same text as a template expands. */
	for (i = 0; i < big; i++)
		val[i] = "{{x}}"[i % 5];
	v[1].name = "x";
	v[1].value = "Y";
	out = html_render("{{big}}", v, 2);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, val);
	free(out);
	want = html_render(val, v, 2);
	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(strlen(want), big / 5 + big % 5);
	ck_assert_uint_eq(strspn(want, "Y"), big / 5);
	ck_assert_str_eq(want + big / 5, "{");
	free(want);
	free(val);
}
END_TEST

START_TEST(test_template_lookup)
{
	const char *t = html_template("error.html");

	const struct html_var v[] = { { "title", "<t>" }, { "message", "<m>" } };
	char *out;

	/* The page is whatever templates/error.html holds; embedding keeps its line ends. */
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "<html"));
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	ck_assert_ptr_eq(html_template("error.html"), t);
	out = html_render(t, v, 2);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(strstr(out, "<t>"));
	ck_assert_ptr_null(strstr(out, "<m>"));
	free(out);
	ck_assert_ptr_null(html_template("no-such.html"));
	ck_assert_ptr_null(html_template("error"));
	ck_assert_ptr_null(html_template("error.html.bak"));
	ck_assert_ptr_null(html_template("templates/error.html"));
	ck_assert_ptr_null(html_template("../templates/error.html"));
	ck_assert_ptr_null(html_template(""));
	ck_assert_ptr_null(html_template(NULL));
}
END_TEST

/* Every page (each .html template other than layout.html) is served inside the one layout:
 * the layout's head, title and brand before the page's own body, its closing tags after, and
 * nothing of the layout repeated in the body. */
START_TEST(test_pages_in_layout)
{
	const char *layout = html_template("layout.html"), *slot, *page, *body;
	const struct html_var v[] = { { "title", "<T>" } };
	size_t headlen, taillen, len;
	char *out;
	int i, pages = 0;

	ck_assert_ptr_nonnull(layout);
	slot = strstr(layout, "{{{body}}}\n");
	ck_assert_ptr_nonnull(slot);
	headlen = (size_t)(slot - layout);
	taillen = strlen(slot + strlen("{{{body}}}\n"));
	ck_assert_ptr_nonnull(strstr(layout, "<p class=\"brand\">Tessera</p>"));
	for (i = 0; i < templates_count; i++) {
		len = strlen(templates_names[i]);
		if (len < 5 || strcmp(templates_names[i] + len - 5, ".html") != 0 ||
		    strcmp(templates_names[i], "layout.html") == 0)
			continue;
		pages++;
		page = html_template(templates_names[i]);
		ck_assert_ptr_nonnull(page);
		ck_assert_msg(strlen(page) > headlen + taillen, "%s", templates_names[i]);
		ck_assert_msg(strncmp(page, layout, headlen) == 0, "%s: not in the layout's head",
			      templates_names[i]);
		ck_assert_msg(strcmp(page + strlen(page) - taillen, slot + strlen("{{{body}}}\n")) ==
			      0, "%s: not in the layout's tail", templates_names[i]);
		body = page + headlen;
		ck_assert_msg(strstr(body, "<html") == NULL && strstr(body, "<title") == NULL &&
			      strstr(body, "class=\"brand\"") == NULL && strstr(body, "<h1") == NULL &&
			      strstr(body, "{{{body}}}") == NULL,
			      "%s: the page repeats the layout", templates_names[i]);
		/* the title is filled in, escaped, where the layout puts it */
		out = html_render(page, v, 1);
		ck_assert_ptr_nonnull(out);
		ck_assert_ptr_nonnull(strstr(out, "<title>&lt;T&gt;</title>"));
		ck_assert_ptr_nonnull(strstr(out, "<h1>&lt;T&gt;</h1>"));
		free(out);
	}
	ck_assert_int_eq(pages, 6);   /* consent device device_confirm error login logout */
}
END_TEST

static Suite *html_suite(void)
{
	Suite *s = suite_create("html");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_escape_each_character);
	tcase_add_test(tc, test_render_escapes_values);
	tcase_add_test(tc, test_render_no_reexpansion);
	tcase_add_test(tc, test_render_raw_vs_escaped);
	tcase_add_test(tc, test_render_names_and_spaces);
	tcase_add_test(tc, test_render_missing_and_null);
	tcase_add_test(tc, test_render_unterminated);
	tcase_add_test(tc, test_render_huge);
	tcase_add_test(tc, test_template_lookup);
	tcase_add_test(tc, test_pages_in_layout);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(html_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
