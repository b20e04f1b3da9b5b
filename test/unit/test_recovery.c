/* test_recovery.c -- the recovery sweep (issue 8): call counts set from the calls that hold
 * a claim, calls stuck ringing past their ring timeout failed over, connected calls silent
 * too long ended; nothing touched before its time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router_fixture.h"
#include "service/callflow.h"
#include "service/recovery.h"
#include "store/store.h"
#include "temp_db.h"

#define RC_NUMBER "+18005550101"
#define RC_TX "+15125550100"
#define RC_MAX_CONNECTED 60000

static temp_db rc_db;

static void rc_setup(void)
{
    temp_db_make(&rc_db, "recovery", false);
}

static void rc_teardown(void)
{
    temp_db_remove(&rc_db);
}

TestSuite(recovery, .init = rc_setup, .fini = rc_teardown);

/* Campaign c1 (ring timeout 20 s) with a priority rule over a1 then a2, both connected. */
static store *rc_open(void)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(rc_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    config *cfg = fx_config("campaign c1 default=medicare\n"
                            "number +18005550101 c1\n"
                            "agent a1\nagent a2\n"
                            "rule r1 c1 mode=priority members=a1:1,a2:2\n",
                            NULL);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    config_free(cfg);
    cr_assert_eq(store_agent_register(st, "a1", FX_NOW + 86400000), ERR_OK);
    cr_assert_eq(store_agent_register(st, "a2", FX_NOW + 86400000), ERR_OK);
    return st;
}

static void rc_route(store *st, callflow_outcome *out)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 3);
    router_call call = {RC_NUMBER, RC_TX, NULL, NULL, 0};
    callflow_outcome_init(out);
    cr_assert_eq(callflow_route(st, &call, "", FX_NOW, &rng, false, out), ERR_OK);
    cr_assert_eq(out->call.status, CALL_RINGING);
}

static int rc_sweep(store *st, int64_t now, recovery_result *r)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 9);
    cr_assert_eq(recovery_sweep(st, now, RC_MAX_CONNECTED, &rng, r), ERR_OK);
    return r->n_fixes;
}

static int rc_active(store *st, const char *agent)
{
    config *cfg = NULL;
    cr_assert_eq(store_config_load(st, &cfg, NULL, 0), ERR_OK);
    int n = cfg->agents[config_find_agent(cfg, agent)].active_calls;
    config_free(cfg);
    return n;
}

Test(recovery, a_call_left_ringing_fails_over_after_its_ring_timeout)
{
    store *st = rc_open();
    callflow_outcome c;
    recovery_result r;
    rc_route(st, &c);
    cr_assert_eq(rc_sweep(st, FX_NOW + 20000 + RECOVERY_RING_GRACE_MS - 1, &r), 0, "not yet");
    recovery_result_free(&r);
    cr_assert_eq(rc_sweep(st, FX_NOW + 20000 + RECOVERY_RING_GRACE_MS, &r), 1);
    cr_assert_eq(r.fixes[0].kind, RECOVERY_RING_TIMEOUT);
    cr_assert_str_eq(r.fixes[0].agent, "a1");
    cr_assert_str_eq(r.fixes[0].outcome.call.id, c.call.id);
    cr_assert_str_eq(r.fixes[0].outcome.call.agent, "a2");
    cr_assert_eq(r.fixes[0].outcome.call.status, CALL_RINGING);
    recovery_result_free(&r);
    cr_assert_eq(rc_active(st, "a1"), 0);
    cr_assert_eq(rc_active(st, "a2"), 1);
    callflow_outcome_free(&c);
    store_close(st);
}

Test(recovery, a_connected_call_silent_too_long_is_ended)
{
    store *st = rc_open();
    callflow_outcome c;
    recovery_result r;
    rc_route(st, &c);
    cr_assert_eq(store_call_answer(st, c.call.id, FX_NOW + 1000), 1);
    cr_assert_eq(rc_sweep(st, FX_NOW + 1000 + RC_MAX_CONNECTED - 1, &r), 0, "not yet");
    recovery_result_free(&r);
    cr_assert_eq(rc_sweep(st, FX_NOW + 1000 + RC_MAX_CONNECTED, &r), 1);
    cr_assert_eq(r.fixes[0].kind, RECOVERY_CONNECTED_TOO_LONG);
    cr_assert_str_eq(r.fixes[0].ended.id, c.call.id);
    cr_assert_eq(r.fixes[0].ended.status, CALL_COMPLETED);
    recovery_result_free(&r);
    cr_assert_eq(rc_active(st, "a1"), 0);
    cr_assert_eq(rc_sweep(st, FX_NOW + 10 * RC_MAX_CONNECTED, &r), 0, "ended once");
    recovery_result_free(&r);
    callflow_outcome_free(&c);
    store_close(st);
}

Test(recovery, call_counts_are_set_from_the_calls_that_hold_a_claim)
{
    store *st = rc_open();
    callflow_outcome c;
    recovery_result r;
    rc_route(st, &c);
    temp_db_sql_exec(&rc_db, "UPDATE agents SET active_calls = 5 WHERE id = 'a1';"
                             "UPDATE agents SET active_calls = 2 WHERE id = 'a2'");
    cr_assert_eq(rc_sweep(st, FX_NOW + 1, &r), 0);
    cr_assert_eq(r.counts_fixed, 2);
    recovery_result_free(&r);
    cr_assert_eq(rc_active(st, "a1"), 1);
    cr_assert_eq(rc_active(st, "a2"), 0);
    cr_assert_eq(rc_sweep(st, FX_NOW + 2, &r), 0);
    cr_assert_eq(r.counts_fixed, 0, "nothing left to fix");
    recovery_result_free(&r);
    callflow_outcome_free(&c);
    store_close(st);
}
