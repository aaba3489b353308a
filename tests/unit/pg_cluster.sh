#!/bin/sh
# pg_cluster.sh start DIR | stop DIR - a throwaway PostgreSQL cluster for a unit suite
# (test_scim_sql_pg.c): initdb in DIR (as the postgres user when run as root), a Unix socket in
# DIR, no TCP, fsync off; stop stops it and removes DIR. start prints nothing and fails when no
# PostgreSQL server is installed (Debian's postgresql package).
set -e
dir=$2
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || exit 1
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $1 in
start)
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		--no-sync >/dev/null 2>&1
	as "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" -o "-c listen_addresses='' \
		-c unix_socket_directories=$dir -c fsync=off" start >/dev/null
	;;
stop)
	as "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
esac
