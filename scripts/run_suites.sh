#!/bin/sh
# Runs test suites (Criterion binaries, or node --test, whose TAP output ends with "# pass N"
# and "# fail N" lines), shows each one's output and wall time, and ends with one closing
# line summing them all: "N passed, N failed". Exits non-zero if any suite failed.
# Usage: run_suites.sh NAME=COMMAND [NAME=COMMAND ...]
# Suites run one after another, except that a NAME ending in "&" (e.g. "e2e-pg&=COMMAND")
# starts in the background and runs beside the suites that follow it, up to the argument
# "wait" (or the end): for a suite that spends most of its time waiting (end-to-end tests
# against a daemon and a database server) beside suites that do not mind sharing the CPU.
# Each suite's output is shown whole once it has ended, background ones at the "wait".
set -u
total_pass=0
total_fail=0
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start_all=$(date +%s)

# Adds up one finished suite: its name, the file of its output, its exit status.
tally() {
    name=$1
    log=$2
    rc=$3
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
        return
    fi
    if [ -z "$line" ]; then
        echo "== $name: no test summary (exit $rc)"
        total_fail=$((total_fail + 1))
        status=1
        return
    fi
    pass=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    fail=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    crash=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail + crash))
    if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ] || [ "$crash" -ne 0 ]; then
        status=1
    fi
}

# Waits for the background suites and shows their outputs.
collect() {
    wait
    for entry in $background; do
        j=${entry%%:*}
        bname=${entry#*:}
        echo "== $bname (ran in the background)"
        cat "$tmp/$j.log"
        read -r secs brc <"$tmp/$j.done" || { secs='?'; brc=1; }
        echo "== $bname: $secs s"
        tally "$bname" "$tmp/$j.log" "$brc"
    done
    background=""
}

i=0
background=""
for spec in "$@"; do
    i=$((i + 1))
    if [ "$spec" = wait ]; then
        collect
        continue
    fi
    name=${spec%%=*}
    cmd=${spec#*=}
    case "$name" in
    *"&")
        name=${name%&}
        echo "== $name (in the background): $cmd"
        # The background suite writes its output, then its wall time and exit status.
        (
            t0=$(date +%s)
            if sh -c "$cmd" >"$tmp/$i.log" 2>&1; then rc=0; else rc=$?; fi
            echo "$(($(date +%s) - t0)) $rc" >"$tmp/$i.done"
        ) &
        background="$background $i:$name"
        continue
        ;;
    esac
    echo "== $name: $cmd"
    t0=$(date +%s)
    if sh -c "$cmd" >"$tmp/$i.log" 2>&1; then rc=0; else rc=$?; fi
    cat "$tmp/$i.log"
    echo "== $name: $(($(date +%s) - t0)) s"
    tally "$name" "$tmp/$i.log" "$rc"
done
collect
echo "== all suites: $(($(date +%s) - start_all)) s"
echo "$total_pass passed, $total_fail failed"
exit $status
