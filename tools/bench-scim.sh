#!/usr/bin/env bash
# bench-scim.sh BINARY SEED - the SCIM part of `make bench`, with USERS (100,000) users seeded
# through the store: look-ups by userName (as identity providers do before each create), filtered
# pages of 100, and creating users without a password (synchronous=FULL). Prints req/s, p50/p99.
set -euo pipefail
bin=$(realpath "$1") seed=$(realpath "$2")
secs=${SECS:-10} conns=${CONNS:-64} port=${PORT:-18702} users=${USERS:-100000}
work=$(mktemp -d /tmp/tessera-bench-scim.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
# BENCH_DB: an existing database whose users were seeded by tessera_seed (USERS of them)
db=${BENCH_DB:-$work/t.db} url=http://127.0.0.1:$port
"$bin" init --db "$db" >/dev/null
if [ -n "${BENCH_DB:-}" ]; then
	echo "SCIM, on $db ($users users)"
else
	echo "SCIM, $("$seed" "$db" "$users" | head -1) (seeded through the store)"
fi
adm=$("$bin" client add bench-admin --scope scim --db "$db" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$work/daemon.log" & pid=$!
for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
tok=$(curl -s -u "bench-admin:$adm" -d grant_type=client_credentials -d scope=scim "$url/token" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# run NAME LUA - one wrk run of the script LUA (which sets request()), printing its RESULT line
run() {
	cat "$2" - >"$work/run.lua" <<EOT
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOT
	local out; out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/run.lua" "$url/" 2>&1)
	read -r _ rps p50 p99 errs <<<"$(grep RESULT <<<"$out")" || { echo "$out" >&2; return 1; }
	printf '%-40s %10s %10s %10s %8s\n' "$1" "$rps" "$p50" "$p99" "$errs"
}

printf '%-40s %10s %10s %10s %8s\n' flow req/s p50_ms p99_ms errors
cat >"$work/lookup.lua" <<EOT
math.randomseed(os.time())
wrk.headers["Authorization"] = "Bearer $tok"
request = function()
  return wrk.format("GET", string.format('/scim/v2/Users?filter=userName%%20eq%%20%%22user%07d%%22',
    math.random(1, $users)))
end
response = function(status, headers, body)
  if status ~= 200 or not body:find('"totalResults":1,', 1, true) then io.stderr:write("lookup: ", status, " ", body:sub(1, 200), "\n") end
end
EOT
run "SCIM userName eq (of $users users)" "$work/lookup.lua"
# "user00012" matches user0001200 .. user0001299: a full page of 100
cat >"$work/page.lua" <<EOT
math.randomseed(os.time())
wrk.headers["Authorization"] = "Bearer $tok"
request = function()
  return wrk.format("GET", string.format('/scim/v2/Users?filter=userName%%20sw%%20%%22user%05d%%22&count=100',
    math.random(1, $users / 100 - 1)))
end
response = function(status, headers, body)
  if status ~= 200 or not body:find('"itemsPerPage":100,', 1, true) then io.stderr:write("page: ", status, " ", body:sub(1, 200), "\n") end
end
EOT
run "SCIM filtered page of 100 (userName sw)" "$work/page.lua"
cat >"$work/create.lua" <<EOT
-- each wrk thread names its users with its own id (set by setup), so that none collide
local n, next_id = 0, 0
setup = function(thread) thread:set("id", next_id); next_id = next_id + 1 end
wrk.headers["Authorization"] = "Bearer $tok"
wrk.headers["Content-Type"] = "application/scim+json"
request = function()
  n = n + 1
  return wrk.format("POST", "/scim/v2/Users", nil, string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new-%d-%d",' ..
    '"name":{"givenName":"New","familyName":"User %d"},"emails":[{"value":"new-%d-%d@example.com","type":"work","primary":true}],' ..
    '"urn:tessera:params:scim:schemas:2.0:User":{"scope":"mqtt:sub:users/\${username}/#"}}', id, n, n, id, n))
end
response = function(status, headers, body)
  if status ~= 201 then io.stderr:write("create: ", status, " ", body:sub(1, 200), "\n") end
end
EOT
run "SCIM create user, no password (FULL)" "$work/create.lua"
echo "database after the run: $(du -m "$db" | cut -f1) MB; peak RSS of the daemon: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")"
