#!/usr/bin/env bash
# bench-pg.sh BINARY - `make bench-pg`: the hot flows of tools/bench.sh on one node over SQLite,
# one node over PostgreSQL (a throwaway cluster of tools/pg-cluster.sh, with fsync on so that a
# commit costs what it costs: PG_FSYNC=off to leave it off), and two nodes over PostgreSQL (one
# database, each flow's connections split between the nodes), side by side in two tables:
# requests/s and p99 latency of each flow, then what each write cost the writer (microseconds per
# job, jobs per transaction; on two nodes, both writers together). SECS per flow (default 5).
set -euo pipefail
bin=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
export SECS=${SECS:-5}
dir=$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)
chmod 755 "$dir"
trap 'sh "$here/pg-cluster.sh" stop "$dir"' EXIT INT TERM
uri=$(PG_FSYNC=${PG_FSYNC:-on} sh "$here/pg-cluster.sh" start "$dir")
psql -X -q -d "$uri" -c "CREATE DATABASE bench1" -c "CREATE DATABASE bench2"
echo "== one node over SQLite (a file in /tmp) =="
bash "$here/bench.sh" "$bin" | tee "$dir/sqlite.txt"
echo "== one node over PostgreSQL (a local cluster on a Unix socket) =="
BENCH_DB=${uri/\/postgres\?/\/bench1?} PORT=18800 bash "$here/bench.sh" "$bin" | tee "$dir/pg1.txt"
echo "== two nodes over PostgreSQL (the same cluster, another database) =="
BENCH_DB=${uri/\/postgres\?/\/bench2?} PORT=18900 NODES=2 bash "$here/bench.sh" "$bin" | tee "$dir/pg2.txt"

# side COLUMNS HEADER... - the flow lines of the three runs side by side: the name in the first 40
# columns, then req/s p50 p99 errors write_us jobs/tx rss; COLUMNS picks fields (e.g. "1 3")
side() {
	local cols=$1; shift
	printf '%-40s' flow; printf ' %14s' "$@"; echo
	awk -v cols="$cols" 'FNR == 1 { file++ }
		length($0) > 41 { k = substr($0, 1, 40); split(substr($0, 41), f, " ")
			if (f[1] !~ /^[0-9.]+$/) next
			if (!(k in seen)) { seen[k] = 1; order[++n] = k }
			split(cols, c, " "); for (i in c) v[k, file, i] = f[c[i]] }
		END { m = split(cols, c, " ")
			for (j = 1; j <= n; j++) { k = order[j]; printf "%-40s", k
				for (fl = 1; fl <= 3; fl++) for (i = 1; i <= m; i++) printf " %14s", ((k, fl, i) in v) ? v[k, fl, i] : "?"
				print "" } }' "$dir/sqlite.txt" "$dir/pg1.txt" "$dir/pg2.txt"
}
echo
echo "== side by side: requests/s and p99 (ms) =="
side "1 3" "SQLite r/s" p99 "PG r/s" p99 "PG 2 nodes r/s" p99
echo
echo "== what each write cost the writer: microseconds per job, jobs per transaction =="
side "5 6" "SQLite us" jobs/tx "PG us" jobs/tx "PG 2 nodes us" jobs/tx
