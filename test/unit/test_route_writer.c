/* test_route_writer.c -- the daemon's group commit (server/route_writer): many threads route
 * and end calls through one writer against agents with small limits; counts never exceed
 * the limits, every answered call is recorded exactly once, every end releases once. The
 * scenario is test/race/race_scenarios.c, which the ThreadSanitizer driver runs too. */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "race/race_scenarios.h"
#include "router_fixture.h"
#include "server/route_writer.h"
#include "store/store.h"
#include "temp_db.h"

#define RW_ROUTES_PER_THREAD 250

static temp_db rw_db;

static void rw_setup(void)
{
    temp_db_make(&rw_db, "rw", true);
}

static void rw_teardown(void)
{
    temp_db_remove(&rw_db);
}

TestSuite(route_writer, .init = rw_setup, .fini = rw_teardown, .timeout = 120);

Test(route_writer, many_threads_group_commit_within_limits_each_call_once)
{
    race_result r;
    bool ok = race_route_writer(rw_db.path, RW_ROUTES_PER_THREAD, &r);
    cr_log_info("route_writer: %s", r.info);
    cr_assert(ok, "%s", r.error);
}

Test(route_writer, unknown_call_and_close_of_null)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(rw_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    route_writer *w = NULL;
    cr_assert_eq(route_writer_open(rw_db.path, 1, &w, err, sizeof err), ERR_OK, "%s", err);
    cr_assert_eq(route_writer_end(w, "nope", FX_NOW, NULL), ERR_NOT_FOUND);
    route_writer_close(w);
    route_writer_close(NULL);
    store_close(st);
}
