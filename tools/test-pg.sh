#!/bin/sh
# test-pg.sh UNIT PYTEST... - `make test-pg`: starts a throwaway PostgreSQL cluster
# (tools/pg-cluster.sh, in a new temporary directory), runs the seam's unit suite UNIT (which
# stops and restarts the cluster to prove the reconnection) and then PYTEST... (the end-to-end
# suite) with TESSERA_PG naming the cluster, then stops and removes the cluster, whatever happened.
set -eu
unit=$1; shift
dir=$(mktemp -d /tmp/tessera-pg.XXXXXX)
chmod 755 "$dir"
here=$(dirname "$0")
trap 'sh "$here/pg-cluster.sh" stop "$dir"' EXIT INT TERM
uri=$(sh "$here/pg-cluster.sh" start "$dir")
echo "test-pg: cluster in $dir ($uri)"
rc=0
TESSERA_PG=$uri TESSERA_PG_DIR=$dir sh "$here/unit.sh" "$unit" || rc=1
TESSERA_PG=$uri TESSERA_PG_DIR=$dir env "$@" || rc=1  # env: "$@" begins with assignments (PYTEST)
exit $rc
