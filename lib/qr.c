/* qr.c - QR codes as SVG (see qr.h), encoded by libqrencode.
 *
 * The SVG is drawn in modules: the viewBox is the symbol plus a 4-module quiet zone on each side,
 * a white rectangle fills it, and one black <path> covers the dark modules, each horizontal run
 * of them in a row as one rectangle "M x y h n v1 h-n z". The document's width and height are
 * QR_PX pixels a module; a page may scale it, and crispEdges keeps the modules sharp. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qrencode.h>

#include "jbuf.h"
#include "qr.h"

enum {
	QR_QUIET = 4,              /* quiet zone, in modules (ISO/IEC 18004 asks for 4) */
	QR_PX = 5,                 /* pixels a module in the width and height attributes */
	/* Byte mode holds at most 2953 bytes (version 40, level L), 2331 at level M. Anything much
	 * longer is refused before libqrencode copies and splits it. */
	QR_MAX_TEXT = 4096,
};

/* The SVG of an encoded symbol into *svg (malloc'd). */
static ts_err draw(const QRcode *qr, char **svg)
{
	struct jbuf b = {0};
	char tmp[320];
	int w = qr->width, size = w + 2 * QR_QUIET, x, y, run, len;
	const unsigned char *row;

	len = snprintf(tmp, sizeof(tmp), "<svg xmlns=\"http://www.w3.org/2000/svg\" "
			"viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
			"shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" "
			"fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size, size * QR_PX,
			size * QR_PX);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return TS_SERVER_ERROR;
	jbuf_raw(&b, tmp, (size_t)len);
	for (y = 0; y < w; y++) {
		row = qr->data + (size_t)y * (size_t)w;
		for (x = 0; x < w; x += run) {
			for (run = 0; x + run < w && (row[x + run] & 1); run++)
				;
			if (run == 0) {
				run = 1; /* a light module */
				continue;
			}
			/* (at most 4 numbers of 3 digits: always fits) */
			len = snprintf(tmp, sizeof(tmp), "M%d %dh%dv1h-%dz", x + QR_QUIET,
					y + QR_QUIET, run, run);
			jbuf_raw(&b, tmp, (size_t)len);
		}
	}
	jbuf_raw(&b, "\"/></svg>\n", 10);
	*svg = jbuf_take(&b, NULL);
	return *svg ? TS_OK : TS_SERVER_ERROR;
}

ts_err qr_svg(const char *text, char **svg)
{
	QRcode *qr;
	ts_err e;

	if (svg)
		*svg = NULL;
	if (!text || !svg)
		return TS_SERVER_ERROR;
	if (text[0] == '\0' || strnlen(text, QR_MAX_TEXT + 1) > QR_MAX_TEXT)
		return TS_INVALID_REQUEST;
	errno = 0;
	/* version 0: the smallest that holds the text */
	qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (!qr) {
		/* ERANGE: too long for any version; EINVAL: input it refuses */
		return errno == ERANGE || errno == EINVAL ? TS_INVALID_REQUEST : TS_SERVER_ERROR;
	}
	e = qr->width > 0 && qr->data ? draw(qr, svg) : TS_SERVER_ERROR;
	QRcode_free(qr);
	return e;
}
