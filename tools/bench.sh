#!/usr/bin/env bash
# bench.sh BINARY - `make bench`: wrk against the daemon on loopback for each hot flow; prints
# req/s and p50/p99 latency per flow, and the daemon's peak RSS. Bounded: SECS per flow (10).
set -euo pipefail
bin=$(realpath "$1")
secs=${SECS:-10} conns=${CONNS:-64} port=${PORT:-18700}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d /tmp/tessera-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
db=$work/t.db url=http://127.0.0.1:$port
secret() { sed -n 's/.*"client_secret": "\(.*\)".*/\1/p'; }
"$bin" init --db "$db" >/dev/null
dev=$("$bin" client add bench-device --scope 'mqtt:pub:bench/${clientid}/# mqtt:sub:bench/cmd/#' --db "$db" | secret)
brk=$("$bin" client add bench-broker --scope introspect --db "$db" | secret)
"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>/dev/null & pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
b64() { printf '%s' "$1" | base64 -w0; }
token() { curl -s -u "bench-device:$dev" -d grant_type=client_credentials "$url/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'; }

# run NAME PATH AUTH BODY|@FILE - one wrk run; @FILE cycles through the bodies in FILE
run() {
	local lua=$work/req.lua
	if [[ $4 == @* ]]; then
		cat >"$lua" <<EOT
local bodies, i = {}, 0
for line in io.lines("${4#@}") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $3"
request = function() i = i % #bodies + 1; return wrk.format(nil, nil, nil, bodies[i]) end
EOT
	else
		cat >"$lua" <<EOT
wrk.method = "POST"
wrk.body = "$4"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $3"
EOT
	fi
	cat >>"$lua" <<'EOT'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOT
	local out; out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "$url$2" 2>&1)
	read -r _ rps p50 p99 errs <<<"$(grep RESULT <<<"$out")"
	printf '%-40s %10s %10s %10s %8s\n' "$1" "$rps" "$p50" "$p99" "$errs"
}

printf '%-40s %10s %10s %10s %8s\n' flow req/s p50_ms p99_ms errors
run "client_credentials (ES256 JWT)" /token "$(b64 "bench-device:$dev")" \
	"grant_type=client_credentials&scope=mqtt%3Apub%3Abench%2Fbench-device%2Fa"
tok=$(token)
run "introspection (same token)" /introspect "$(b64 "bench-broker:$brk")" "token=$tok"
# more distinct tokens than the verification cache holds (8192), fetched over one connection
for _ in $(seq 20000); do echo "url = \"$url/token\""; done >"$work/urls"
curl -s -u "bench-device:$dev" -d grant_type=client_credentials -w '\n' -K "$work/urls" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/token=\1/p' >"$work/tokens"
run "introspection ($(wc -l <"$work/tokens") distinct tokens)" /introspect "$(b64 "bench-broker:$brk")" "@$work/tokens"
echo "peak RSS of the daemon: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")"
echo "wrk -t2 -c$conns -d${secs}s on 127.0.0.1; $(nproc) cores shared by wrk and the daemon"
