/* bench_report.h -- the one machine-readable line every benchmark prints per figure, which
 * `make bench` (scripts/bench_table.sh) gathers into the closing table:
 *   RESULT|benchmark|figure|median|unit|target|verdict
 * target and verdict are "-" when a figure has no target. Header-only so that each bench
 * program stays one file (each C file in bench/ is its own program). */
#ifndef SURECONNECT_BENCH_REPORT_H
#define SURECONNECT_BENCH_REPORT_H

#include <stdio.h>

/* Prints one RESULT line; `value` is the median of the runs, printed with `decimals`. */
static inline void bench_report(const char *bench, const char *figure, double value, int decimals,
                                const char *unit, const char *target, const char *verdict)
{
    printf("RESULT|%s|%s|%.*f|%s|%s|%s\n", bench, figure, decimals, value, unit,
           target ? target : "-", verdict ? verdict : "-");
    fflush(stdout);
}

#endif
