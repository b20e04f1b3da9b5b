#!/bin/sh
# serve_demo.sh -- what `make run` does: prepares the demo database (as scripts/demo.sh does,
# without routing calls), creates a new admin API key, prints it with a curl command that
# routes a call, and starts the daemon on 127.0.0.1:8080 (override with LISTEN=HOST:PORT).
# Usage: scripts/serve_demo.sh PROGRAM DATABASE
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 PROGRAM DATABASE" >&2
    exit 2
fi
bin=$1
db=$2
listen=${LISTEN:-127.0.0.1:8080}
here=$(cd "$(dirname "$0")/.." && pwd)
demo="$here/examples/demo.json"

sc() {
    "$bin" --db "$db" "$@"
}

sc migrate
if sc export | grep -q '"agents": \[\]'; then
    sc import "$demo"
fi
for agent in maria priya dwayne lena james tom; do
    sc agent register "$agent" --expires 3600 >/dev/null || true
done
key=$(sc key create --name "demo-$(date +%Y%m%d%H%M%S)" 2>/dev/null)

cat <<MSG

Admin API key (shown once): $key

Route a call:
  curl -s -X POST http://$listen/v1/calls \\
    -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
    -d '{"to": "+1 800 555 0100", "from": "+1 512 555 0142"}'

Dashboard: http://$listen/ (sign in with the key above). Agent console:
http://$listen/agent (sign in as maria with: $bin --db $db agent token maria).

The API is described in docs/openapi.yaml. Stop the server with Ctrl-C.

MSG
exec "$bin" --db "$db" serve --listen "$listen"
