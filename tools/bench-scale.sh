#!/usr/bin/env bash
# bench-scale.sh BINARY SEED - `make bench-scale`: seeds a database through the store (not over
# HTTP) with USERS users, CLIENTS device clients and GRANTS grants (1,000,000 / 1,000,000 /
# 5,000,000), reports how long that took and the database's size, then runs the same flows as
# `make bench` on it, client credentials from the seeded devices included, and the SCIM ones.
set -euo pipefail
bin=$(realpath "$1") seed=$(realpath "$2") root=$(cd "$(dirname "$0")/.." && pwd)
users=${USERS:-1000000} clients=${CLIENTS:-1000000} grants=${GRANTS:-5000000}
work=$(mktemp -d /tmp/tessera-bench-scale.XXXXXX)
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
db=$work/scale.db
"$bin" init --db "$db" >/dev/null
echo "seeding $db through the store:"
"$seed" "$db" "$users" "$clients" "$grants" | sed 's/^/  /'
# written out before the flows start, so that no writeback of the new gigabyte competes with them
t0=$(date +%s%N); sync "$db"
echo "  database: $(du -m "$db" | cut -f1) MB, written out in $((($(date +%s%N) - t0) / 1000000)) ms"
BENCH_DB=$db BENCH_DEVICES=$clients bash "$root/tools/bench.sh" "$bin"
BENCH_DB=$db USERS=$users bash "$root/tools/bench-scim.sh" "$bin" "$seed"
