#!/usr/bin/env bash
# bench-dpop.sh BINARY - part of `make bench`: client credentials with a DPoP proof (RFC 9449)
# beside the same flow with the secret alone, wrk against the daemon on loopback; prints req/s and
# p50/p99 latency of both, and their ratio. A DPoP request costs one ES256 verification more and
# the write of its proof's jti (single use, through the group-committing writer). Each proof is
# sent once: PROOFS of them (60,000) are made before the run by tests/bench/dpop_proofs.py;
# when they run out first the figure is a lower bound (said so). Bounded: SECS per flow (10).
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${SECS:-10} conns=${CONNS:-64} port=${PORT:-18710} proofs=${PROOFS:-60000}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d /tmp/tessera-bench-dpop.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
db=$work/t.db url=http://127.0.0.1:$port
"$bin" init --db "$db" >/dev/null
dev=$("$bin" client add bench-device --scope 'mqtt:pub:bench/${clientid}/#' --db "$db" |
	sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
basic=$(printf '%s' "bench-device:$dev" | base64 -w0)
# the proofs are made before the run: give them the time the runs take
printf '[tokens]\ndpop_proof_max_age = 600\n' >"$work/bench.conf"
"$bin" serve --config "$work/bench.conf" --db "$db" --listen "127.0.0.1:$port" 2>"$work/daemon.log" & pid=$!
for _ in $(seq 1000); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.01; done

body="grant_type=client_credentials&scope=mqtt%3Apub%3Abench%2Fbench-device%2Fa"
# result - the end of a wrk script: "RESULT req/s p50 p99 refused" (refused answers are left out
# of req/s: a proof that ran out is sent as "exhausted")
result() {
	cat <<'EOT'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", (summary.requests - summary.errors.status) / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
EOT
}
cat >"$work/secret.lua" <<EOT
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
$(result)
EOT
/usr/bin/python3 "$here/tests/bench/dpop_proofs.py" "$url/token" "$proofs" "$work/proofs"
# the last proof, sent now, must give a DPoP-bound token (and is then refused in the run)
curl -s -u "bench-device:$dev" -H "DPoP: $(tail -n1 "$work/proofs")" -d "$body" "$url/token" |
	grep -q '"token_type":"DPoP"' || { echo "bench-dpop: no DPoP-bound token" >&2; exit 1; }
# each wrk thread (of 2) takes every other proof, each once
cat >"$work/dpop.lua" <<EOT
local items, i, n = {}, 0, 0
for line in io.lines("$work/proofs") do items[#items + 1] = line end
setup = function(thread) n = n + 1; thread:set("first", n) end
init = function(args) i = first - 2 end
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
request = function()
  i = i + 2
  wrk.headers["DPoP"] = items[i] or "exhausted"
  return wrk.format()
end
$(result)
EOT

printf '%-44s %10s %10s %10s %8s\n' flow req/s p50_ms p99_ms refused
read -r _ s_rps s50 s99 serr <<<"$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/secret.lua" "$url/token" 2>&1 | grep RESULT)"
printf '%-44s %10s %10s %10s %8s\n' "client_credentials, secret" "$s_rps" "$s50" "$s99" "$serr"
read -r _ d_rps d50 d99 derr <<<"$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/dpop.lua" "$url/token" 2>&1 | grep RESULT)"
printf '%-44s %10s %10s %10s %8s\n' "client_credentials, secret + DPoP proof" "$d_rps" "$d50" "$d99" "$derr"
[ "$derr" = 0 ] || echo "  (the $proofs proofs ran out: the DPoP figure is a lower bound; raise PROOFS)"
awk -v d="$d_rps" -v s="$s_rps" 'BEGIN { if (s > 0) printf "DPoP / secret: %.2f\n", d / s }'
