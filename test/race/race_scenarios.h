/* race_scenarios.h -- the unit tests' concurrency scenarios: real threads claiming and
 * releasing agents on a real database (a SQLite file, or PostgreSQL by URL) while a sampler
 * thread checks, from its own connection, that no count ever leaves [0, max] or drifts from
 * the claims its calls hold.
 * Plain C (no Criterion), so that the same scenarios run in the Criterion unit tests
 * (test/unit/test_store_concurrency.c, test_route_writer.c) and, built with ThreadSanitizer,
 * in the driver race_tsan.c, which Criterion cannot run under. */
#ifndef SC_RACE_SCENARIOS_H
#define SC_RACE_SCENARIOS_H

#include <stdbool.h>
#include <stddef.h>

/* 2026-03-02T12:00:00Z: the time the scenarios route at (the fixtures' FX_NOW). */
#define RACE_NOW 1772452800000LL

/* How a scenario went: `error` is "" when every check held, else the first failure; `info`
 * is a one-line summary of what was done. */
typedef struct {
    char error[512];
    char info[256];
} race_result;

/* Eight connections claim and end calls on agents of capacity 3 until `claims_total` claims
 * were won in all (half of them by hand, store_claim and the call row in one transaction;
 * half through the whole call flow), then every count is checked against the calls, the
 * open calls are ended and every count must be back at zero. `db_path` names a file that
 * does not exist yet. Returns true when every check held. */
bool race_store_claims(const char *db_path, int claims_total, race_result *r);

/* Sixteen threads route and end `routes_per_thread` calls each through one route_writer
 * (group commit, a queue smaller than the threads so that "busy" happens too; half the
 * threads block in route_writer_route/_end, half hand jobs over with route_writer_submit
 * and are called back, as the daemon's request threads are) on agents of
 * capacity 1 and 2: counts stay within the limits, every answered call is one row, every end
 * releases once, and all counts are zero at the end. Returns true when every check held. */
bool race_route_writer(const char *db_path, int routes_per_thread, race_result *r);

/* A fresh temporary folder for a scenario's database: sets dir and path ("<dir>/test.db"),
 * in $TMPDIR or else /dev/shm when writable, else /tmp. Returns false when it cannot. */
bool race_temp_make(const char *name, char *dir, size_t dir_cap, char *path, size_t path_cap);

/* Removes the database, its WAL, shared-memory and journal files, and the folder. */
void race_temp_remove(const char *dir, const char *path);

#endif
