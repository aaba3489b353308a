#!/bin/sh
# browser-deps.sh - installs what tests/interop/test_browser_flow.py needs on Debian 12:
# Debian's chromium (at /usr/bin/chromium), fonts-liberation and node/npm when missing, then the pinned
# playwright-core from tests/interop/package-lock.json into tests/interop/node_modules.
# playwright-core is the driver only: it never downloads a browser; the test points it at
# /usr/bin/chromium. Idempotent: prints nothing and exits 0 when everything is there.
# Run as root for the Debian part (CI does); as another user it prints the apt-get line.
set -eu
cd "$(dirname "$0")/.."

sh tools/deps.sh chromium fonts-liberation
# node and npm: any install will do (a nodejs from elsewhere ships its own npm, and Debian's npm
# package then conflicts with it), so ask Debian only when the commands are missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	sh tools/deps.sh nodejs npm
fi

dir=tests/interop
want=$(sed -n 's/.*"playwright-core": *"\([0-9][0-9.]*\)".*/\1/p' "$dir/package.json" | head -n 1)
have=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
	"$dir/node_modules/playwright-core/package.json" 2>/dev/null | head -n 1)
if [ -z "$want" ]; then
	echo "browser-deps.sh: no pinned playwright-core version in $dir/package.json" >&2
	exit 1
fi
if [ "$have" != "$want" ]; then
	echo "installing playwright-core $want in $dir" >&2
	# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the driver must not try to fetch a browser build.
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
		--loglevel=error >&2)
fi
