#!/bin/sh
# demo.sh -- what `make run` does: prepares a demo database and routes sample calls, showing
# each decision and its trace. Usage: scripts/demo.sh PROGRAM DATABASE
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 PROGRAM DATABASE" >&2
    exit 2
fi
bin=$1
db=$2
here=$(cd "$(dirname "$0")/.." && pwd)
demo="$here/examples/demo.json"

sc() {
    "$bin" --db "$db" "$@"
}

echo "== migrate $db"
sc migrate

# Import the demo configuration only into an empty database, so a configuration the
# operator imported is never overwritten.
if sc export | grep -q '"agents": \[\]'; then
    echo "== import $demo"
    sc import "$demo"
else
    echo "== the database already has agents: keeping its configuration"
fi

echo "== register the demo agents' softphones for an hour"
for agent in maria priya dwayne lena james tom; do
    sc agent register "$agent" --expires 3600 || true
done

calls=""
route() {
    title=$1
    shift
    echo
    echo "== $title"
    out=$(sc route "$@")
    printf '%s\n' "$out"
    id=$(printf '%s\n' "$out" | sed -n 's/^call id: *\([0-9A-Za-z_-]\{1,\}\)$/\1/p')
    if [ -n "$id" ]; then
        calls="$calls $id"
    fi
}

route "Texas caller on the Medicare line" --to "+1 (800) 555-0100" --from "512-555-0142"
route "Florida caller on the Medicare line (Maria is now busy)" --to "8005550100" --from "(305) 555-0123"
route "Anonymous caller on the ACA line (round robin; Tom is paused)" --to "1-888-555-0142" --from anonymous
route "Canadian caller on the Medicare line (no US state: overflow rule only)" --to "8005550100" --from "+1 416 555 0199"
route "A number that is not a tracking number" --to "8005550199" --from "5125550100"

# End the calls so the agents are free again and the next `make run` shows connects too.
echo
echo "== end the demo calls"
for id in $calls; do
    printf '%s: ' "$id"
    sc call end "$id"
done
