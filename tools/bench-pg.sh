#!/usr/bin/env bash
# bench-pg.sh BINARY - `make bench-pg`: the hot flows of tools/bench.sh on one node over SQLite,
# then one node over PostgreSQL (a throwaway cluster of tools/pg-cluster.sh, with fsync on so that
# a commit costs what it costs: PG_FSYNC=off to leave it off), side by side in one table:
# requests/s and p99 latency of each flow. SECS per flow (default 5).
set -euo pipefail
bin=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
export SECS=${SECS:-5}
dir=$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)
chmod 755 "$dir"
trap 'sh "$here/pg-cluster.sh" stop "$dir"' EXIT INT TERM
uri=$(PG_FSYNC=${PG_FSYNC:-on} sh "$here/pg-cluster.sh" start "$dir")
psql -X -q -d "$uri" -c "CREATE DATABASE bench"
bench_uri=${uri/\/postgres\?/\/bench?}
echo "== SQLite (a file in /tmp) =="
bash "$here/bench.sh" "$bin" | tee "$dir/sqlite.txt"
echo "== PostgreSQL (a local cluster on a Unix socket) =="
BENCH_DB=$bench_uri PORT=18800 bash "$here/bench.sh" "$bin" | tee "$dir/pg.txt"
echo
echo "== side by side: requests/s and p99 =="
printf '%-40s %12s %10s %12s %10s\n' flow "SQLite r/s" p99 "PG r/s" p99
# the flow lines: the name in the first 40 columns, then req/s, p50, p99, errors, RSS
awk 'FNR == NR { if (length($0) > 41) { k = substr($0, 1, 40); split(substr($0, 41), f, " ");
		if (f[1] ~ /^[0-9.]+$/) { r[k] = f[1]; p[k] = f[3] } } next }
	length($0) > 41 { k = substr($0, 1, 40); split(substr($0, 41), f, " ");
		if (f[1] ~ /^[0-9.]+$/ && k in r) printf "%-40s %12s %10s %12s %10s\n", k, r[k], p[k], f[1], f[3] }' \
	"$dir/sqlite.txt" "$dir/pg.txt"
