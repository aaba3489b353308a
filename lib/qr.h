/* qr.h - QR codes as SVG (libqrencode), for devices that show verification_uri_complete. */
#ifndef TESSERA_QR_H
#define TESSERA_QR_H

#include "err.h"

/* The QR code of text (byte mode, error correction level M, smallest version that fits) as a
 * standalone SVG document: a white square with a 4-module quiet zone, dark modules drawn as one
 * <path>, viewBox in modules, shape-rendering crispEdges, no script and nothing external.
 * *svg is malloc'd (caller frees). TS_INVALID_REQUEST when text is empty or too long for a QR
 * code, TS_SERVER_ERROR when out of memory. */
ts_err qr_svg(const char *text, char **svg);

#endif
