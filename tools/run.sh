#!/bin/sh
# run.sh BINARY - `make run`: the server on ./tessera.db at http://127.0.0.1:8080 with a demo
# device client, whose id, secret and a ready curl line are printed first.
set -eu
bin=$1
db=${TESSERA_DB:-./tessera.db}
listen=${TESSERA_LISTEN:-127.0.0.1:8080}
url="http://$listen"
"$bin" init --db "$db" >/dev/null
# a fresh demo client each time: its secret is printed here and stored nowhere in clear
"$bin" client rm demo-device --db "$db" >/dev/null 2>&1 || true
out=$("$bin" client add demo-device --name "Demo device" --grant client_credentials \
	--scope 'mqtt:pub:devices/${clientid}/# mqtt:sub:devices/${clientid}/cmd/#' --db "$db")
secret=$(printf '%s\n' "$out" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
cat <<EOT

Tessera is starting on $url (database $db).
Demo device client:
  client_id:     demo-device
  client_secret: $secret
Get a token:
  curl -s -u 'demo-device:$secret' -d grant_type=client_credentials $url/token
Discovery: $url/.well-known/openid-configuration   Stop: Ctrl-C

EOT
exec "$bin" serve --db "$db" --listen "$listen"
