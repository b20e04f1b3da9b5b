#!/bin/sh
# Runs test suites one after another (Criterion binaries, or node --test, whose TAP output
# ends with "# pass N" and "# fail N" lines), shows their output, and ends with one closing
# line summing them all: "N passed, N failed". Exits non-zero if any suite failed.
# Usage: run_suites.sh NAME=COMMAND [NAME=COMMAND ...]
set -u
total_pass=0
total_fail=0
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for spec in "$@"; do
    name=${spec%%=*}
    cmd=${spec#*=}
    echo "== $name: $cmd"
    if sh -c "$cmd" >"$log" 2>&1; then rc=0; else rc=$?; fi
    cat "$log"
    line=$(grep 'Synthesis: Tested:' "$log" | tail -n 1)
    if [ -z "$line" ] && grep -q '^# pass [0-9]' "$log"; then
        pass=$(grep '^# pass [0-9]' "$log" | tail -n 1 | sed 's/^# pass //')
        fail=$(grep '^# fail [0-9]' "$log" | tail -n 1 | sed 's/^# fail //')
        fail=${fail:-0}
        cancelled=$(grep '^# cancelled [0-9]' "$log" | tail -n 1 | sed 's/^# cancelled //')
        fail=$((fail + ${cancelled:-0}))
        total_pass=$((total_pass + pass))
        total_fail=$((total_fail + fail))
        if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ]; then
            status=1
        fi
        continue
    fi
    if [ -z "$line" ]; then
        echo "== $name: no test summary (exit $rc)"
        total_fail=$((total_fail + 1))
        status=1
        continue
    fi
    pass=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    fail=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    crash=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail + crash))
    if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ] || [ "$crash" -ne 0 ]; then
        status=1
    fi
done
echo "$total_pass passed, $total_fail failed"
exit $status
