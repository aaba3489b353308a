#!/usr/bin/env bash
# bench-mqtt.sh [BINARY [PLUGIN]] - `make bench`, MQTT part: mosquitto without the Tessera plugin
# and with it (JWKS-file mode), same load: QoS 0 msgs/s through the broker (PUBLISHERS threads ->
# one subscriber) and CONNECT/CONNACK/DISCONNECT cycles per second with a valid access token.
# Builds nothing but the load tool (tests/bench/mqtt_bench.c -> build/mqtt_bench, when missing or
# older than its source). Bounded: (2 * ROUNDS + 4) runs of SECS each (5 s, 3 rounds: about a minute,
# with NTOKENS (20000) tokens minted first). Then tests/bench/mqtt_feed.py: the time from
# `tessera grant revoke` / `grant scope` to enforcement at the broker through the change feed,
# with FEED_SESSIONS (1000) other live sessions, FEED_ROUNDS (20) changes (FEED_SESSIONS=0: skip).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/build/tessera}")
plugin=$(realpath "${2:-$(dirname "$bin")/tessera_mosquitto.so}")
secs=${SECS:-5} rounds=${ROUNDS:-3} pubs=${PUBLISHERS:-2} threads=${THREADS:-4} ntokens=${NTOKENS:-20000}
tool=$(dirname "$bin")/mqtt_bench src=$root/tests/bench/mqtt_bench.c
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosq" ] || { echo "bench-mqtt: needs mosquitto (apt-get install mosquitto)" >&2; exit 2; }
[ -f "$plugin" ] || { echo "bench-mqtt: no plugin at $plugin (run make)" >&2; exit 2; }
if [ ! -x "$tool" ] || [ "$src" -nt "$tool" ]; then
	cc -O2 -o "$tool" "$src" -lmosquitto -lpthread ||
		{ echo "bench-mqtt: building $tool needs libmosquitto-dev" >&2; exit 2; }
fi
work=$(mktemp -d /tmp/tessera-bench-mqtt.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# free_port - a loopback port nobody listens on, from a range of its own
next_port=${PORT:-18760}
free_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do next_port=$((next_port + 1)); done
	port=$next_port
	next_port=$((next_port + 1))
}
wait_port() { # PORT PID NAME: until PORT answers; fails if PID died first
	local _
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench-mqtt: $3 did not start:" >&2
	cat "$work/$3.log" >&2
	exit 1
}

# Tessera: a device allowed bench/#, its token, and the JWKS for the plugin's file mode
free_port
tport=$port url=http://127.0.0.1:$port db=$work/t.db
"$bin" init --db "$db" >/dev/null
secret=$("$bin" client add bench-mqtt --scope 'mqtt:pub:bench/# mqtt:sub:bench/#' --db "$db" |
	sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
"$bin" serve --db "$db" --listen "127.0.0.1:$tport" --issuer "$url" 2>"$work/tessera.log" &
tpid=$!
pids+=("$tpid")
wait_port "$tport" "$tpid" tessera
token=$(curl -s -u "bench-mqtt:$secret" -d grant_type=client_credentials "$url/token" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench-mqtt: no token from $url/token" >&2; exit 1; }
# and NTOKENS more, one each, for CONNECTs that find no verified signature cached (the cache
# holds 8192), fetched over one connection
for _ in $(seq "$ntokens"); do echo "url = \"$url/token\""; done >"$work/urls"
curl -s -u "bench-mqtt:$secret" -d grant_type=client_credentials -w '\n' -K "$work/urls" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' >"$work/tokens"
"$bin" key jwks --db "$db" >"$work/jwks.json"
kill "$tpid"                            # JWKS-file mode needs no Tessera: leave the cores to the load

# mosquitto NAME [PLUGIN LINES...] - a broker on a free port; sets port
mosquitto_start() {
	local name=$1
	shift
	free_port
	{
		echo "per_listener_settings false"
		echo "listener $port 127.0.0.1"
		echo "persistence false"
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		echo "connection_messages false"
		# as root mosquitto would switch to the user "mosquitto", who cannot read $work
		[ "$(id -u)" != 0 ] || echo "user $(id -un)"
		if [ $# = 0 ]; then echo "allow_anonymous true"; else echo "allow_anonymous false"; fi
		printf '%s\n' "$@"
	} >"$work/$name.conf"
	"$mosq" -c "$work/$name.conf" >"$work/$name.log" 2>&1 &
	pids+=($!)
	wait_port "$port" $! "$name"
}
mosquitto_start plain
plain=$port
# prefix: the load tool's many connections with one client's token use ids bench-mqtt:...
mosquitto_start plugin "plugin $plugin" "plugin_opt_issuer $url" "plugin_opt_audience mqtt" \
	"plugin_opt_jwks_file $work/jwks.json" "plugin_opt_client_id_rule prefix"
withp=$port

pub() { # PORT -> "received published" msgs/s
	local out
	out=$("$tool" pub 127.0.0.1 "$1" "$secs" "$pubs" bench-mqtt "$token" bench/load) ||
		{ echo "bench-mqtt: pub run on port $1 failed" >&2; exit 1; }
	sed -n 's/^RESULT //p' <<<"$out"
}
conn() { # PORT PASS -> "connects/s refused"
	local out
	out=$("$tool" connect 127.0.0.1 "$1" "$secs" "$threads" bench-mqtt "$2") ||
		{ echo "bench-mqtt: connect run on port $1 failed" >&2; exit 1; }
	sed -n 's/^RESULT //p' <<<"$out"
}
median() { sort -n | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# alternate the two brokers so that a slow patch of the machine hits both
: >"$work/plain.pub"
: >"$work/plugin.pub"
for r in $(seq "$rounds"); do
	pub "$plain" >>"$work/plain.pub"
	pub "$withp" >>"$work/plugin.pub"
	printf 'round %d: msgs/s received (published)  without plugin %s (%s)  with plugin %s (%s)\n' "$r" \
		$(tail -n 1 "$work/plain.pub") $(tail -n 1 "$work/plugin.pub")
done
c=$(conn "$plain" "$token") && read -r cplain _ <<<"$c"
c=$(conn "$withp" "$token") && read -r cwith crefused <<<"$c"
c=$(conn "$plain" "@$work/tokens") && read -r cplain_n _ <<<"$c"
c=$(conn "$withp" "@$work/tokens") && read -r cwith_n crefused_n <<<"$c"
mplain=$(cut -d' ' -f1 "$work/plain.pub" | median)
mwith=$(cut -d' ' -f1 "$work/plugin.pub" | median)
ratio=$(awk -v a="$mwith" -v b="$mplain" 'BEGIN {printf "%.1f%%", b ? 100 * a / b : 0}')

echo
printf '%-42s %14s %14s %8s %10s\n' "" "without plugin" "with plugin" ratio target
printf '%-42s %14s %14s %8s %10s\n' "mosquitto QoS 0 msgs/s (median of $rounds)" "$mplain" "$mwith" "$ratio" ">= 90%"
printf '%-42s %14s %14s %8s %10s\n' "CONNECT with a valid token, connects/s" "$cplain" "$cwith" "" ">= 5000"
printf '%-42s %14s %14s %8s %10s\n' "  the same, $(wc -l <"$work/tokens") distinct tokens in turn" "$cplain_n" "$cwith_n" "" ""
[ "$crefused$crefused_n" = 00 ] ||
	echo "  with the plugin $((crefused + crefused_n)) CONNECTs were refused: see $work/plugin.log (KEEP=1 keeps it)"
echo "$($mosq -h 2>/dev/null | sed -n '1s/^mosquitto version \([^ ]*\).*/mosquitto \1/p'), plugin in JWKS-file mode;" \
	"$pubs publishers -> 1 subscriber, 32-byte QoS 0, $secs s a run; $threads connecting threads;" \
	"$(nproc) cores shared by the load and the broker"

if [ "${FEED_SESSIONS:-1000}" != 0 ]; then
	echo
	TESSERA_BIN="$bin" TESSERA_PLUGIN="$plugin" "${PY:-/usr/bin/python3}" "$root/tests/bench/mqtt_feed.py" \
		--sessions "${FEED_SESSIONS:-1000}" --rounds "${FEED_ROUNDS:-20}"
fi
