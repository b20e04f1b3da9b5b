#!/bin/sh
# Prints the closing table of `make bench` from the RESULT lines the benchmarks wrote to
# the log file $1 (format: RESULT|benchmark|figure|median|unit|target|verdict, see
# bench/include/bench_report.h), as a Markdown table, followed by the machine it ran on.
# Usage: bench_table.sh LOG
set -eu
log=$1
echo
echo "== results (medians of several runs; the details are above)"
echo
echo "| benchmark | figure | median | unit | target | verdict |"
echo "| --- | --- | ---: | --- | --- | --- |"
grep '^RESULT|' "$log" | awk -F'|' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7 }'
echo
cpus=$(nproc)
model=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
echo "machine: $cpus cores ($model), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
if grep -q '^RESULT|.*|BELOW$' "$log"; then
    echo "some targets were not met (BELOW)"
fi
