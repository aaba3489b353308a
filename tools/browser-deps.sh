#!/bin/sh
# browser-deps.sh - installs what tests/interop/test_browser_flow.py and test_device_flow.py need
# on Debian 12: Debian's chromium (at /usr/bin/chromium), fonts-liberation and node/npm when
# missing, then the npm packages pinned in tests/interop/package-lock.json (playwright-core,
# openid-client, jsqr, pngjs and what they depend on) into tests/interop/node_modules.
# playwright-core is the driver only: it never downloads a browser; the tests point it at
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
if [ ! -f "$dir/package-lock.json" ]; then
	echo "browser-deps.sh: no $dir/package-lock.json" >&2
	exit 1
fi
# Every package the lock names must be installed at the locked version, else npm ci installs
# exactly the lock again.
stale=$(cd "$dir" && node -e '
const fs = require("fs");
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const stale = [];
for (const [path, pkg] of Object.entries(lock.packages || {})) {
	if (!path.startsWith("node_modules/"))
		continue;
	let have = null;
	try { have = JSON.parse(fs.readFileSync(path + "/package.json", "utf8")).version; } catch (e) {}
	if (have !== pkg.version)
		stale.push(path.slice("node_modules/".length) + "@" + pkg.version);
}
process.stdout.write(stale.join(" "));
')
if [ -n "$stale" ]; then
	echo "installing $stale in $dir" >&2
	# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the driver must not try to fetch a browser build.
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
		--loglevel=error >&2)
fi
