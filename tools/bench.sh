#!/usr/bin/env bash
# bench.sh BINARY - `make bench`: wrk against the daemon on loopback for each hot flow; prints
# req/s and p50/p99 latency per flow, what each write cost the writer (its busy time per job, and
# jobs per transaction, from /metrics), and the daemon's peak RSS. Bounded: SECS per flow (10).
# NODES=2 with a postgresql:// BENCH_DB: two daemons over that database, one issuer, each flow's
# connections and wrk threads split between them, their figures summed (make bench-pg).
set -euo pipefail
ulimit -n "$(ulimit -Hn)"   # wrk holds 10,000 connections below
bin=$(realpath "$1")
secs=${SECS:-10} conns=${CONNS:-64} port=${PORT:-18700}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d /tmp/tessera-bench.XXXXXX)
pid= pids=() nodes=${NODES:-1}
cleanup() { [ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
# BENCH_DB: an existing database to run on (make bench-scale seeds one with a million devices;
# make bench-pg gives a postgresql:// URI)
db=${BENCH_DB:-$work/t.db} url=http://127.0.0.1:$port
case $nodes in 1) ;; 2) [[ $db == postgres* ]] || { echo "bench: NODES=2 needs a postgresql:// BENCH_DB" >&2; exit 2; } ;;
*) echo "bench: NODES is 1 or 2" >&2; exit 2 ;; esac
secret() { sed -n 's/.*"client_secret": "\(.*\)".*/\1/p'; }
"$bin" init --db "$db" >/dev/null
dev=$("$bin" client add bench-device --scope 'mqtt:pub:bench/${clientid}/# mqtt:sub:bench/cmd/#' --db "$db" | secret)
brk=$("$bin" client add bench-broker --scope introspect --db "$db" | secret)
# a 1 s polling interval, so that devices cycling through the codes below are pending, not slow_down;
# codes that last 10 minutes, as minting the 60,000 below takes longer than the default minute on
# PostgreSQL (a commit each, one at a time): the redemptions would meet expired codes
printf '[tokens]\ndevice_interval = 1\ncode_ttl = 600\n' >"$work/bench.conf"
[ -z "${THREADS:-}" ] || printf '[server]\nthreads = %s\n' "$THREADS" >>"$work/bench.conf"
t0=$(date +%s%N)
urls=()
for ((i = 0; i < nodes; i++)); do
	"$bin" serve --config "$work/bench.conf" --db "$db" --listen "127.0.0.1:$((port + i))" \
		--issuer "$url" 2>"$work/daemon$i.log" & pids+=($!)
	urls+=("http://127.0.0.1:$((port + i))")
done
pid=${pids[0]}
for ((i = 0; i < nodes; i++)); do
	for _ in $(seq 1000); do curl -sf "${urls[$i]}/healthz" >/dev/null && break; sleep 0.01; done
	kill -0 "${pids[$i]}" 2>/dev/null || { echo "bench: node $i did not start:" >&2; cat "$work/daemon$i.log" >&2; exit 1; }
done
case $db in
postgres://* | postgresql://*) size="PostgreSQL" ;;
*) size="$(du -m "$db" | cut -f1) MB" ;;
esac
echo "database $size; $nodes node(s); start-up to the first /healthz answer: $((($(date +%s%N) - t0) / 1000000)) ms"
echo "allocator: $(ldd "$bin" | grep -q libjemalloc && echo jemalloc || echo "glibc malloc")"
b64() { printf '%s' "$1" | base64 -w0; }
token() { curl -s -u "bench-device:$dev" -d grant_type=client_credentials "$url/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'; }

# writes - the writer's jobs, transactions and busy seconds, summed over the nodes
writes() {
	for u in "${urls[@]}"; do curl -s "$u/metrics"; done |
		awk '$1 == "tessera_writer_jobs_total" { j += $2 } $1 == "tessera_writer_transactions_total" { t += $2 }
			$1 == "tessera_writer_busy_seconds_total" { b += $2 } END { printf "%d %d %.6f\n", j, t, b }'
}
# mark - the start of a measured flow, for the write costs its row reports (in a file: wrk_nodes
# runs in a subshell)
mark() { writes >"$work/mark"; }
# row NAME RPS P50 P99 ERRORS - one line of the table: what each write of the flow (since mark) cost
# the writer, in microseconds, and how many jobs shared a transaction; the first node's RSS
row() {
	local j t b cost w_jobs w_tx w_busy
	read -r j t b <<<"$(writes)"
	read -r w_jobs w_tx w_busy <"$work/mark"
	cost=$(awk -v j="$((j - w_jobs))" -v t="$((t - w_tx))" -v b="$b" -v b0="$w_busy" \
		'BEGIN { if (j < 100) print "- -"; else printf "%.0f %.1f\n", (b - b0) * 1e6 / j, j / t }')
	printf '%-40s %10s %10s %10s %8s %8s %8s %8s\n' "$@" $cost \
		"$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")"
}
# wrk_nodes ARGS... PATH - wrk with ARGS (-s SCRIPT, -d, --latency; -c and -t are given here: CONNS
# connections, 2 threads, split between the nodes) against PATH on every node at once, after a
# mark; prints one line "RESULT req/s p50 p99 errors [more]" with the nodes' rates and errors
# summed and the worst of their latencies. The scripts find their share of once-only items through
# WRK_PART (this node's number) and WRK_THREADS (wrk threads on each node).
wrk_nodes() {
	local i c=$((conns / nodes)) t=$((2 / nodes)) outs=() wp=()
	mark
	for ((i = 0; i < nodes; i++)); do
		WRK_PART=$i WRK_THREADS=$t wrk -t"$t" -c"$c" "${@:1:$#-1}" "${urls[$i]}${*: -1}" \
			>"$work/wrk$i.out" 2>"$work/wrk$i.err" &
		outs+=("$work/wrk$i.out") wp+=($!)
	done
	wait "${wp[@]}" || true
	cat "$work"/wrk*.err >&2
	grep -h RESULT "${outs[@]}" | awk '{ r += $2; if ($3 > p50) p50 = $3; if ($4 > p99) p99 = $4; e += $5; x = $6 }
		END { printf "RESULT %.0f %.2f %.2f %d %s\n", r, p50, p99, e, x }'
	rm -f "$work"/wrk*.out "$work"/wrk*.err
}

# prof NAME CMD... - runs CMD; with PERF_DIR set, under `perf record` of the daemon into
# PERF_DIR/NAME.data (profile before optimizing: `perf report -i ...`)
# depcheck: optional perf (Debian's linux-perf, only for PERF_DIR)
prof() {
	local name=$1 pp; shift
	if [ -z "${PERF_DIR:-}" ]; then "$@"; return; fi
	perf record -F 999 -g -p "$pid" -o "$PERF_DIR/$name.data" >/dev/null 2>&1 & pp=$!
	sleep 0.2
	"$@"
	kill -INT "$pp"; wait "$pp" || true
}

# once_each FILE - the start of a wrk script (POST, form body) whose next_item() returns the
# lines of FILE, each once in the whole run: wrk thread N of 2 (of all nodes') takes every other line
once_each() {
	cat <<EOT
local items, i, step, n = {}, 0, 2, 0
local base = tonumber(os.getenv("WRK_PART") or "0") * tonumber(os.getenv("WRK_THREADS") or "2")
for line in io.lines("$1") do items[#items + 1] = line end
setup = function(thread) n = n + 1; thread:set("first", base + n) end
init = function(args) i = first - step end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
next_item = function() i = i + step; return items[i] end
EOT
}

# result_done - the end of a wrk script: one line "RESULT req/s p50 p99 non-2xx" for the caller
result_done() {
	cat <<'EOT'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
EOT
}

# run NAME PATH AUTH BODY|@FILE - one wrk run; @FILE cycles through the bodies in FILE
run() {
	local lua=$work/req.lua auth=
	[ -z "$3" ] || auth="wrk.headers[\"Authorization\"] = \"Basic $3\""
	if [[ $4 == @* ]]; then
		cat >"$lua" <<EOT
local bodies, i = {}, 0
for line in io.lines("${4#@}") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
$auth
request = function() i = i % #bodies + 1; return wrk.format(nil, nil, nil, bodies[i]) end
EOT
	else
		cat >"$lua" <<EOT
wrk.method = "POST"
wrk.body = "$4"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
$auth
EOT
	fi
	[ -z "${delay_ms:-}" ] || echo "delay = function() return $delay_ms end" >>"$lua"
	cat >>"$lua" <<'EOT'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOT
	read -r _ rps p50 p99 errs <<<"$(wrk_nodes -d"${secs}s" --latency -s "$lua" "$2" 2>&1 | grep RESULT)"
	row "$1" "$rps" "$p50" "$p99" "$errs"
}

# half NAME PATH AUTH BODY PEAK - the same flow paced to about half its peak rate (each of the
# connections waits between its requests), for the latency a server has with room to spare
half() {
	delay_ms=$((conns * 2000 / $5)) run "$1, half load" "$2" "$3" "$4"
}

printf '%-40s %10s %10s %10s %8s %8s %8s %8s\n' flow req/s p50_ms p99_ms errors write_us jobs/tx rss_MB
run "client_credentials (ES256 JWT)" /token "$(b64 "bench-device:$dev")" \
	"grant_type=client_credentials&scope=mqtt%3Apub%3Abench%2Fbench-device%2Fa"
half "client_credentials" /token "$(b64 "bench-device:$dev")" \
	"grant_type=client_credentials&scope=mqtt%3Apub%3Abench%2Fbench-device%2Fa" "$rps"
# private_key_jwt (RFC 7523): the same flow, the client proving itself with an ES256 assertion
# (one verification more, and its jti recorded: synchronous=FULL) instead of a secret; each
# assertion is sent once (tests/bench/private_key_jwt.py makes them)
pk_n=$((${PKJWT_SECS:-3} * 20000))
/usr/bin/python3 "$(dirname "$0")/../tests/bench/private_key_jwt.py" "$work/pk.jwks" \
	"$work/assertions" bench-pk "$url" "$pk_n"
"$bin" client add bench-pk --auth-method private_key_jwt --jwks-file "$work/pk.jwks" \
	--scope 'mqtt:pub:bench/${clientid}/#' --db "$db" >/dev/null
{ once_each "$work/assertions"; cat <<EOT
request = function() return wrk.format(nil, nil, nil, next_item() or "grant_type=client_credentials") end
$(result_done)
EOT
} >"$work/pk.lua"
read -r _ rps p50 p99 errs <<<"$(prof pkjwt wrk_nodes -d"${PKJWT_SECS:-3}s" --latency -s "$work/pk.lua" /token 2>&1 | grep RESULT)"
row "client_credentials, private_key_jwt" "$rps" "$p50" "$p99" "$errs"
[ "$errs" = 0 ] || echo "  (errors: the $pk_n assertions ran out, or some were refused)"
# devices seeded by tessera_seed (device0000001 ..., secret "bench-secret"): each request from
# another device, so that the client cache does not hold it
if [ -n "${BENCH_DEVICES:-}" ]; then
	awk -v n="$BENCH_DEVICES" 'BEGIN { srand(7); for (i = 0; i < 100000; i++)
		printf "grant_type=client_credentials&client_id=device%07d&client_secret=bench-secret\n", int(rand() * n) + 1 }' >"$work/devices"
	run "client_credentials, $BENCH_DEVICES devices" /token "" "@$work/devices"
fi
tok=$(token)
run "introspection (same token)" /introspect "$(b64 "bench-broker:$brk")" "token=$tok"
half "introspection" /introspect "$(b64 "bench-broker:$brk")" "token=$tok" "$rps"
# more distinct tokens than the verification cache holds (8192), fetched over one connection
for _ in $(seq 20000); do echo "url = \"$url/token\""; done >"$work/urls"
curl -s -u "bench-device:$dev" -d grant_type=client_credentials -w '\n' -K "$work/urls" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/token=\1/p' >"$work/tokens"
run "introspection (20,000 distinct tokens)" /introspect "$(b64 "bench-broker:$brk")" "@$work/tokens"
[ "$(wc -l <"$work/tokens")" = 20000 ] || echo "  (only $(wc -l <"$work/tokens") tokens were issued)"
# the authorization code flow: the login page, then code redemption (synchronous=FULL: each
# answer leaves after its code's use is committed; the writer groups the commits)
verifier=bench-verifier-bench-verifier-bench-verifier-0001
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
"$bin" client add bench-app --public --grant authorization_code --redirect-uri http://127.0.0.1:9/cb \
	--grant refresh_token --scope "openid mqtt:sub:bench/#" --db "$db" >/dev/null
conf=$("$bin" client add bench-conf --grant authorization_code --grant refresh_token \
	--refresh-rotation off --redirect-uri http://127.0.0.1:9/cb --scope "mqtt:sub:bench/#" --db "$db" | secret)
echo 'bench password' | "$bin" user add bench-user --password-stdin --scope "mqtt:sub:bench/#" --db "$db" >/dev/null
authz="$url/authorize?response_type=code&client_id=bench-app&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20mqtt%3Asub%3Abench%2F%23&code_challenge=$challenge&code_challenge_method=S256"
result_done >"$work/page.lua"
read -r _ rps p50 p99 errs <<<"$(wrk_nodes -d"${secs}s" --latency -s "$work/page.lua" "${authz#"$url"}" 2>&1 | grep RESULT)"
row "login page (GET /authorize)" "$rps" "$p50" "$p99" "$errs"
cookie=$(/usr/bin/python3 "$(dirname "$0")/../tests/bench/login.py" "$url" bench-app http://127.0.0.1:9/cb \
	bench-user 'bench password' "openid mqtt:sub:bench/#" "$challenge")
rsecs=3                                   # codes are single use: mint enough for 3 s at 20,000/s
ncodes=$((rsecs * 20000))
for _ in $(seq "$ncodes"); do echo "url = \"$authz\""; done >"$work/authz"
# 16 at a time (each code is a commit: one at a time took over a minute on PostgreSQL)
curl -s --parallel --parallel-max 16 -b "$cookie" -o /dev/null -w '%{redirect_url}\n' -K "$work/authz" 2>/dev/null |
	sed -n "s/.*[?&]code=\([^&]*\).*/grant_type=authorization_code\&client_id=bench-app\&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb\&code_verifier=$verifier\&code=\1/p" >"$work/codes"
# each code is sent once (a code sent twice would revoke its grant)
{ once_each "$work/codes"; cat <<EOT
request = function() return wrk.format(nil, nil, nil, next_item() or "grant_type=authorization_code") end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d\n", (summary.requests - summary.errors.status) / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, #items))
end
EOT
} >"$work/codes.lua"
read -r _ rps p50 p99 errs n <<<"$(prof code wrk_nodes -d"${rsecs}s" --latency -s "$work/codes.lua" /token 2>&1 | grep RESULT)"
row "code redemption (synchronous=FULL)" "$rps" "$p50" "$p99" "$errs"
[ "$errs" = 0 ] || echo "  (the $n codes ran out: the figure is a lower bound)"

# refresh tokens: a code flow each, then wrk refreshes
codes_for() { # CLIENT N -> N codes of CLIENT, one per line
	local a=${authz/client_id=bench-app/client_id=$1} c
	a=${a/scope=openid%20mqtt/scope=mqtt}
	c=$(/usr/bin/python3 "$(dirname "$0")/../tests/bench/login.py" "$url" "$1" http://127.0.0.1:9/cb \
		bench-user 'bench password' "mqtt:sub:bench/#" "$challenge")
	for _ in $(seq "$2"); do echo "url = \"$a\""; done >"$work/authz1"
	curl -s -b "$c" -o /dev/null -w '%{redirect_url}\n' -K "$work/authz1" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p'
}
redeem() { # CLIENT CODE [AUTH] -> refresh token
	curl -s -w '\n' ${3:+-u "$3"} -d grant_type=authorization_code -d "client_id=$1" -d code="$2" \
		-d redirect_uri=http://127.0.0.1:9/cb -d code_verifier="$verifier" "$url/token" |
		sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p'
}
rt=$(redeem bench-conf "$(codes_for bench-conf 1)" "bench-conf:$conf")
run "refresh, non-rotating (same token)" /token "$(b64 "bench-conf:$conf")" \
	"grant_type=refresh_token&refresh_token=$rt"
# rotating: two chains per connection, in a queue per wrk thread; each answer's new token goes
# to the back of it. wrk loses an answer now and then (no socket error, no refused token: inside
# its script); with one chain per connection that left a connection with no token, sending
# "exhausted" (400s, which the req/s leaves out) for the rest of the run, and the 400s took CPU
# from the rest. With a spare chain per connection a lost one only shortens the queue
for code in $(codes_for bench-app $((2 * conns))); do redeem bench-app "$code"; done | grep . >"$work/chains"
nchains=$(wc -l <"$work/chains")
[ "$nchains" = $((2 * conns)) ] || echo "  rotating refresh: $nchains chains for $conns connections" >&2
cat >"$work/rotate.lua" <<EOT
local tokens, threads = {}, {}
local next_id = tonumber(os.getenv("WRK_PART") or "0") * tonumber(os.getenv("WRK_THREADS") or "2")
setup = function(thread) thread:set("id", next_id); next_id = next_id + 1; threads[#threads + 1] = thread end
init = function(args)
  local n = 0
  for line in io.lines("$work/chains") do
    if n % 2 == id then tokens[#tokens + 1] = line end
    n = n + 1
  end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
placeholders = 0
request = function()
  local t = table.remove(tokens, 1)
  if not t then t = "exhausted"; placeholders = placeholders + 1 end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&client_id=bench-app&refresh_token=" .. t)
end
local errors = 0
response = function(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then tokens[#tokens + 1] = t
  elseif errors < 5 then errors = errors + 1; io.stderr:write("rotating refresh: ", status, " ", body, "\\n") end
end
done = function(summary, latency, requests)
  local p = 0
  for _, th in ipairs(threads) do p = p + th:get("placeholders") end
  io.stderr:write(string.format("rotating refresh: %d placeholder requests (every chain lost); socket errors: connect %d read %d write %d timeout %d\\n",
    p, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", (summary.requests - summary.errors.status) / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
EOT
out=$(prof rotate wrk_nodes -d"${secs}s" --latency -s "$work/rotate.lua" /token 2>&1)
read -r _ rps p50 p99 errs <<<"$(grep RESULT <<<"$out")"
grep '^rotating refresh:' <<<"$out" | sort | uniq -c | sed 's/^/  /' >&2 || true
row "refresh, rotating (synchronous=FULL)" "$rps" "$p50" "$p99" "$errs"

# the device flow (RFC 8628): device authorization requests (each device code committed before
# its answer), then pending polls cycling through the device codes they gave (read only)
tv=$("$bin" client add bench-tv --grant device_code --scope "mqtt:sub:bench/#" --db "$db" | secret)
cat >"$work/devauth.lua" <<EOT
local out
setup = function(thread) thread:set("id", (os.getenv("WRK_PART") or "0") .. tostring(thread)) end
local users
init = function(args)
  out = io.open("$work/devcodes-" .. id:gsub("%W", ""), "w")
  users = io.open("$work/usercodes-" .. id:gsub("%W", ""), "w")
end
wrk.method = "POST"
wrk.body = "scope=mqtt%3Asub%3Abench%2F%23"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(b64 "bench-tv:$tv")"
response = function(status, headers, body)
  local d = body:match('"device_code":"([^"]+)"')
  if d then out:write("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=", d, "\\n"); out:flush() end
  local u = body:match('"user_code":"([^"]+)"')
  if u then users:write(u, "\\n"); users:flush() end
end
$(result_done)
EOT
read -r _ rps p50 p99 errs <<<"$(prof devauth wrk_nodes -d"${secs}s" --latency -s "$work/devauth.lua" /device_authorization 2>&1 | grep RESULT)"
row "device authorization (synchronous=FULL)" "$rps" "$p50" "$p99" "$errs"
cat "$work"/devcodes-* >"$work/polls"
run "device polls of pending codes (400s)" /token "$(b64 "bench-tv:$tv")" "@$work/polls"
echo "  ($(wc -l <"$work/polls") device codes, each polled in turn)"

# device approval: the signed-in user allows the user codes above on the verification page
# (POST /device; each approval, and the grant it makes, committed before its page), each once
cat "$work"/usercodes-* >"$work/users"
first=$(head -1 "$work/users")
csrf=$(curl -s -b "$cookie" "$url/device?user_code=$first" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
[ -n "$csrf" ] || { echo "bench: no verification page for $first" >&2; exit 1; }
{ once_each "$work/users"; cat <<EOT
wrk.headers["Cookie"] = "$cookie"
request = function()
  return wrk.format(nil, nil, nil, "decision=allow&csrf=$csrf&user_code=" .. (next_item() or "ZZZZ-ZZZZ"))
end
$(result_done)
EOT
} >"$work/approve.lua"
# as long as the codes last at 20,000/s: a user code that is not there counts as a guess, and the
# guesses lock the user out (429), so a run that outlasts its codes would refuse the rest
asecs=$(( $(wc -l <"$work/users") / 20000 )); [ "$asecs" -ge 1 ] || asecs=1
read -r _ rps p50 p99 errs <<<"$(prof approve wrk_nodes -d"${asecs}s" --latency -s "$work/approve.lua" /device 2>&1 | grep RESULT)"
row "device approval (synchronous=FULL)" "$rps" "$p50" "$p99" "$errs"
[ "$errs" = 0 ] || echo "  ($errs answers were not 200: the $(wc -l <"$work/users") codes ran out, or a code was refused)"

# last, with every cache as full as the flows above left it: a fleet reconnecting after an
# outage, 10,000 keep-alive connections at once (max_connections, default 10,000)
conns=10000 run "introspection, 10,000 connections" /introspect "$(b64 "bench-broker:$brk")" "token=$tok"
echo "peak RSS of the daemon: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")"
echo "wrk -t2 -c$conns -d${secs}s on 127.0.0.1 (split between $nodes node(s)); $(nproc) cores shared by wrk and the daemon"
