/* race_tsan.c -- runs the unit tests' concurrency scenarios (race_scenarios.c) without
 * Criterion, whose process machinery does not start under ThreadSanitizer. Built with
 * -fsanitize=thread and run with TSAN_OPTIONS=halt_on_error=1 (make test-tsan): a data race
 * stops the process with TSan's exit code, a failed check is a "not ok" line. Prints TAP,
 * ending with "# pass N" and "# fail N" for scripts/run_suites.sh. Smaller runs than the
 * unit tests' (TSan is 5-15 times slower); RACE_SCALE=N multiplies them. */
#include <stdio.h>
#include <stdlib.h>

#include "race_scenarios.h"

typedef struct {
    const char *name;
    bool (*run)(const char *db_path, int size, race_result *r);
    int size; /* claims in all, or routes per thread */
} race_case;

int main(void)
{
    static const race_case cases[] = {
        {"store_claims", race_store_claims, 2400},
        {"route_writer", race_route_writer, 80},
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    const char *env = getenv("RACE_SCALE");
    int scale = env && atoi(env) > 0 ? atoi(env) : 1;
    int pass = 0, fail = 0;
    printf("TAP version 13\n1..%d\n", n);
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        char dir[128], path[192];
        race_result r = {"", ""};
        bool ok = race_temp_make(cases[i].name, dir, sizeof dir, path, sizeof path);
        if (!ok) {
            snprintf(r.error, sizeof r.error, "cannot make a temporary folder");
        } else {
            ok = cases[i].run(path, cases[i].size * scale, &r);
            race_temp_remove(dir, path);
        }
        printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", i + 1, cases[i].name,
               ok ? r.info : r.error);
        if (!ok && r.info[0])
            printf("# %s\n", r.info);
        fflush(stdout);
        ok ? pass++ : fail++;
    }
    printf("# pass %d\n# fail %d\n", pass, fail);
    return fail ? 1 : 0;
}
