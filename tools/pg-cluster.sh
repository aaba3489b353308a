#!/bin/sh
# pg-cluster.sh start DIR | stop DIR - a throwaway PostgreSQL cluster for the tests (make test-pg,
# make bench-pg): initdb as the postgres user (runuser when run as root) in DIR, started with no
# TCP listener, its Unix socket in DIR, fsync off (PG_FSYNC=on: on, for make bench-pg); `stop`
# stops it and removes DIR; restart-stop and restart-start stop and start it again (the tests of
# a server that went away). `start`
# prints the URI of its database "postgres" (owner: the user running this script's role, the
# cluster's superuser "postgres" when run as root).
set -eu
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-cluster.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
as_pg()
{
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=${PG_FSYNC:-off} \
		-c full_page_writes=${PG_FSYNC:-off} -c max_connections=300" start
	echo "postgresql://postgres@/postgres?host=$dir"
	;;
stop)
	if [ -d "$dir/data" ]; then
		as_pg "$bin/pg_ctl" -D "$dir/data" -w -s -m immediate stop || true
	fi
	rm -rf "$dir"
	;;
restart-stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -w -s -m fast stop
	;;
restart-start)
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=${PG_FSYNC:-off} \
		-c full_page_writes=${PG_FSYNC:-off} -c max_connections=300" start
	;;
*)
	echo "usage: pg-cluster.sh start|stop|restart-stop|restart-start DIR" >&2
	exit 2
	;;
esac
