/* test_qr.c - QR codes as SVG: the drawing is read back into a module grid and compared with
 * libqrencode's own encoding of the same text, module by module. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qrencode.h>

#include "qr.h"

static const char device_url[] = "http://127.0.0.1:8080/device?user_code=WDJB-MJHT";

/* The number after `key="0 0 ` in the viewBox, or after `key="` for width and height. */
static int attr_int(const char *svg, const char *key)
{
	const char *p = strstr(svg, key);
	char *end;
	long v;

	ck_assert_msg(p != NULL, "no %s in %s", key, svg);
	p += strlen(key);
	v = strtol(p, &end, 10);
	ck_assert_msg(end != p && *end == '"', "bad %s", key);
	return (int)v;
}

/* A non-negative number at *p, advancing past it. */
static int num(const char **p)
{
	char *end;
	long v;

	ck_assert_msg(**p >= '0' && **p <= '9', "number expected at \"%.20s\"", *p);
	v = strtol(*p, &end, 10);
	ck_assert_int_le(v, 1000);
	*p = end;
	return (int)v;
}

static void expect(const char **p, const char *lit)
{
	ck_assert_msg(strncmp(*p, lit, strlen(lit)) == 0, "\"%s\" expected at \"%.20s\"", lit, *p);
	*p += strlen(lit);
}

/* Checks that svg draws exactly the symbol qr: the viewBox is the symbol plus 4 modules of quiet
 * zone on each side, and the path's segments "Mx yhnv1h-nz" cover the dark modules, each once,
 * as maximal horizontal runs, and nothing else. */
static void check_drawing(const char *svg, const QRcode *qr)
{
	int w = qr->width, n = w + 8, x, y, len, k, segments = 0, runs = 0;
	unsigned char *grid = calloc((size_t)w * (size_t)w, 1);
	const char *p;
	char vb[64];

	ck_assert_ptr_nonnull(grid);
	snprintf(vb, sizeof(vb), "viewBox=\"0 0 %d %d\"", n, n);
	ck_assert_msg(strstr(svg, vb) != NULL, "no %s in %.200s", vb, svg);
	ck_assert_int_eq(attr_int(svg, "width=\""), attr_int(svg, "height=\""));
	ck_assert_int_ge(attr_int(svg, "width=\""), n);

	p = strstr(svg, "<path fill=\"#000\" d=\"");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(strstr(p + 1, "<path")); /* one path */
	p += strlen("<path fill=\"#000\" d=\"");
	while (*p != '"') {
		expect(&p, "M");
		x = num(&p) - 4;
		expect(&p, " ");
		y = num(&p) - 4;
		expect(&p, "h");
		len = num(&p);
		expect(&p, "v1h-");
		ck_assert_int_eq(num(&p), len);
		expect(&p, "z");
		ck_assert_msg(x >= 0 && y >= 0 && y < w && len >= 1 && x + len <= w,
				"segment outside the symbol: %d %d %d", x, y, len);
		for (k = 0; k < len; k++) {
			ck_assert_msg(!grid[y * w + x + k], "module %d,%d drawn twice", x + k, y);
			grid[y * w + x + k] = 1;
		}
		segments++;
	}
	ck_assert_str_eq(p, "\"/></svg>\n");

	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x++) {
			int dark = qr->data[y * w + x] & 1;

			ck_assert_msg(grid[y * w + x] == dark, "module %d,%d: drawn %d, dark %d", x, y,
					grid[y * w + x], dark);
			runs += dark && (x == 0 || !(qr->data[y * w + x - 1] & 1));
		}
	}
	ck_assert_int_eq(segments, runs); /* each run is one segment */
	free(grid);
}

/* qr_svg(text) must succeed and draw what libqrencode encodes for text at level M; returns the
 * symbol's width. */
static int check_text(const char *text)
{
	QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	char *svg = NULL;
	int w;

	ck_assert_ptr_nonnull(qr);
	ck_assert_int_eq(qr_svg(text, &svg), TS_OK);
	ck_assert_ptr_nonnull(svg);
	ck_assert_msg(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40) == 0,
			"%.60s", svg);
	ck_assert_ptr_nonnull(strstr(svg, "shape-rendering=\"crispEdges\""));
	ck_assert_ptr_nonnull(strstr(svg, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"));
	ck_assert_ptr_null(strstr(svg, "<script"));
	ck_assert_ptr_null(strstr(svg, "href"));
	check_drawing(svg, qr);
	w = qr->width;
	free(svg);
	QRcode_free(qr);
	return w;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_known_text)
{
	/* 26 bytes: version 2 at level M (25 x 25) */
	ck_assert_int_eq(check_text("https://example.org/device"), 25);
	/* one byte: version 1 (21 x 21), the smallest */
	ck_assert_int_eq(check_text("A"), 21);
}
END_TEST

START_TEST(test_device_url)
{
	char *svg = NULL, vb[64];
	int w = check_text(device_url);

	ck_assert_int_ge(w, 21);
	ck_assert_int_le(w, 37); /* a version of at most 5 for a URL of 48 bytes */
	ck_assert_int_eq(qr_svg(device_url, &svg), TS_OK);
	snprintf(vb, sizeof(vb), "viewBox=\"0 0 %d %d\"", w + 8, w + 8);
	ck_assert_ptr_nonnull(strstr(svg, vb));
	/* the text itself is nowhere in the document */
	ck_assert_ptr_null(strstr(svg, "WDJB"));
	free(svg);
}
END_TEST

/* Markup in the text cannot reach the SVG: it is only encoded into modules. */
START_TEST(test_markup_in_text)
{
	static const char text[] = "\"><script>alert(1)</script><a href=\"javascript:x\">&amp;";
	char *svg = NULL;

	check_text(text);
	ck_assert_int_eq(qr_svg(text, &svg), TS_OK);
	ck_assert_ptr_null(strstr(svg, "<script"));
	ck_assert_ptr_null(strstr(svg, "javascript"));
	ck_assert_ptr_null(strstr(svg, "&"));
	free(svg);
	/* bytes beyond ASCII (UTF-8) are byte-mode data like any other */
	check_text("caf\xc3\xa9 \xe2\x9c\x93");
}
END_TEST

START_TEST(test_empty_and_nulls)
{
	char *svg = (char *)1;

	ck_assert_int_eq(qr_svg("", &svg), TS_INVALID_REQUEST);
	ck_assert_ptr_null(svg);
	svg = (char *)1;
	ck_assert_int_eq(qr_svg(NULL, &svg), TS_SERVER_ERROR);
	ck_assert_ptr_null(svg);
	ck_assert_int_eq(qr_svg("x", NULL), TS_SERVER_ERROR);
}
END_TEST

START_TEST(test_too_long)
{
	char *svg = (char *)1, *t;

	/* far too long */
	t = repeat('a', 10000);
	ck_assert_int_eq(qr_svg(t, &svg), TS_INVALID_REQUEST);
	ck_assert_ptr_null(svg);
	free(t);
	/* just over what byte mode at level M holds (2331 bytes): libqrencode's ERANGE */
	t = repeat('a', 2332);
	svg = (char *)1;
	ck_assert_int_eq(qr_svg(t, &svg), TS_INVALID_REQUEST);
	ck_assert_ptr_null(svg);
	free(t);
	/* exactly that much: version 40, 177 x 177 */
	t = repeat('a', 2331);
	ck_assert_int_eq(check_text(t), 177);
	free(t);
}
END_TEST

static Suite *qr_suite(void)
{
	Suite *s = suite_create("qr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_known_text);
	tcase_add_test(tc, test_device_url);
	tcase_add_test(tc, test_markup_in_text);
	tcase_add_test(tc, test_empty_and_nulls);
	tcase_add_test(tc, test_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
