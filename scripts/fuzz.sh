#!/bin/sh
# Runs each libFuzzer target for SECONDS from a temporary copy of its seed corpus
# (fuzz/corpus/NAME/, so the repo is never written to) and prints TAP: one "ok"/"not ok" line
# per target, then "# pass N" and "# fail N" (read by scripts/run_suites.sh). Every seed,
# the kept crash inputs among them, is run first, so the short run is a regression test too.
# A crash's input is copied to CRASH_DIR. Usage: fuzz.sh SECONDS CRASH_DIR TARGET...
set -u
seconds=$1
crash_dir=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
i=0
echo "TAP version 13"
echo "1..$#"
for bin in "$@"; do
    i=$((i + 1))
    name=$(basename "$bin")
    mkdir -p "$work/$name/corpus" "$work/$name/crash"
    if [ -d "$root/fuzz/corpus/$name" ]; then
        cp "$root/fuzz/corpus/$name"/* "$work/$name/corpus/" 2>/dev/null
    fi
    dict=""
    [ -f "$root/fuzz/$name.dict" ] && dict="-dict=$root/fuzz/$name.dict"
    # -max_len: the configuration documents of the seeds are a few kilobytes.
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$work/$name/crash/" $dict \
        "$work/$name/corpus" >"$work/$name/log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name/log")
        echo "ok $i - $name: ${runs:-?} inputs in ${seconds}s"
        pass=$((pass + 1))
    else
        echo "not ok $i - $name"
        grep -v '^#\|^INFO\|^stat::' "$work/$name/log" | tail -n 60 | sed 's/^/    /'
        mkdir -p "$crash_dir"
        for f in "$work/$name/crash"/*; do
            [ -f "$f" ] || continue
            cp "$f" "$crash_dir/$name-$(basename "$f")"
            echo "    input kept: $crash_dir/$name-$(basename "$f")"
        done
        fail=$((fail + 1))
    fi
done
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
