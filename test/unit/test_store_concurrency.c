/* test_store_concurrency.c -- many connections claiming and releasing agents of capacity 3
 * in one SQLite file at once: no count ever leaves [0, max], none drifts (SPEC 3.5). The
 * scenario is test/race/race_scenarios.c, which the ThreadSanitizer driver runs too. */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "race/race_scenarios.h"
#include "temp_db.h"

#define CC_CLAIMS_TOTAL 10400 /* won claims in all, shared by the threads */

static temp_db cc_db;

static void cc_setup(void)
{
    temp_db_make(&cc_db, "conc", true);
}

static void cc_teardown(void)
{
    temp_db_remove(&cc_db);
}

TestSuite(store_concurrency, .init = cc_setup, .fini = cc_teardown, .timeout = 120);

Test(store_concurrency, claims_never_exceed_capacity_or_drift)
{
    race_result r;
    bool ok = race_store_claims(cc_db.path, CC_CLAIMS_TOTAL, &r);
    cr_log_info("concurrency: %s", r.info);
    cr_assert(ok, "%s", r.error);
}
