/* test_queue.c -- the call queue (SPEC 3.7) below the HTTP layer: the wait estimate, who
 * joins the queue and at which position, a full queue, first come first served, the
 * dispatch pass (hand-off to the oldest caller an agent suits, timeouts), a caller who
 * hangs up, and a hand-off that lost its caller to another daemon. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router_fixture.h"
#include "service/callflow.h"
#include "service/queue.h"
#include "store/store.h"
#include "temp_db.h"

#define QT_NUMBER "+18005550101"
#define QT_TX "+15125550100"
#define QT_CA "+14155550100"

static temp_db qt_db;

static void qt_setup(void)
{
    temp_db_make(&qt_db, "queue", false);
}

static void qt_teardown(void)
{
    temp_db_remove(&qt_db);
}

TestSuite(queue, .init = qt_setup, .fini = qt_teardown);

/* A store with campaign q (queue of 2, 60 s max wait) and a priority rule over a1 (licensed
 * everywhere) then a2 (CA only). Only the agents in `registered` ("a1", "a1,a2" or "") are
 * connected. */
static store *qt_open(const char *registered)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(qt_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    config *cfg = fx_config("campaign q default=medicare queue=2 wait=60\n"
                            "number +18005550101 q\n"
                            "agent a1\n"
                            "agent a2 states=CA\n"
                            "rule r1 q mode=priority members=a1:1,a2:2\n",
                            NULL);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    config_free(cfg);
    cr_assert_eq(store_agent_register(st, "a1", strstr(registered, "a1") ? FX_NOW + 3600000 : 0),
                 ERR_OK);
    cr_assert_eq(store_agent_register(st, "a2", strstr(registered, "a2") ? FX_NOW + 3600000 : 0),
                 ERR_OK);
    return st;
}

static void qt_route(store *st, const char *from, int64_t now, callflow_outcome *out)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 11);
    router_call call = {QT_NUMBER, from, NULL, NULL, 0};
    callflow_outcome_init(out);
    cr_assert_eq(callflow_route(st, &call, "", now, &rng, false, out), ERR_OK);
}

static int qt_dispatch(store *st, int64_t now, queue_change **changes)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 5);
    int n = -1;
    cr_assert_eq(queue_dispatch(st, now, &rng, changes, &n), ERR_OK);
    return n;
}

static call_status qt_status(store *st, const char *id)
{
    store_call c;
    cr_assert_eq(store_call_get(st, id, &c), ERR_OK);
    call_status s = c.status;
    store_call_clear(&c);
    return s;
}

Test(queue, estimate_is_position_times_handle_time_over_slots)
{
    cr_assert_eq(queue_estimate_wait_s(1, 180000, 1), 180);
    cr_assert_eq(queue_estimate_wait_s(3, 180000, 2), 270);
    cr_assert_eq(queue_estimate_wait_s(2, 1, 1), 1, "rounded up");
    cr_assert_eq(queue_estimate_wait_s(2, 90000, 0), 180, "nobody staffed counts as one slot");
    cr_assert_eq(queue_estimate_wait_s(0, 90000, 1), 0);
}

Test(queue, staffed_slots_count_connected_active_agents_once)
{
    config *cfg = fx_config("campaign q\n"
                            "campaign other\n"
                            "agent a1 max=2\n"
                            "agent a2 status=paused\n"
                            "agent a3 reg=never\n"
                            "agent a4 max=5\n"
                            "agent a5 max=3 active=3\n"
                            "rule r1 q members=a1,a2,a3\n"
                            "rule r2 q pos=2 members=a1,a5\n"
                            "rule r3 q pos=3 off members=a4\n"
                            "rule r4 other members=a4\n",
                            NULL);
    /* a1 counts once (2), a5 is busy but staffed (3); a2 paused, a3 not connected, a4 only
     * in a disabled rule here. */
    cr_assert_eq(queue_staffed_slots(cfg, config_find_campaign(cfg, "q"), FX_NOW), 5);
    cr_assert_eq(queue_staffed_slots(cfg, config_find_campaign(cfg, "other"), FX_NOW), 5);
    cr_assert_eq(queue_staffed_slots(cfg, -1, FX_NOW), 0);
    config_free(cfg);
}

Test(queue, callers_queue_in_order_until_the_queue_is_full)
{
    store *st = qt_open("a1");
    callflow_outcome busy, w1, w2, full;
    qt_route(st, QT_TX, FX_NOW, &busy);
    cr_assert_str_eq(callflow_action_name(&busy), "connect");
    qt_route(st, QT_TX, FX_NOW + 1, &w1);
    qt_route(st, QT_CA, FX_NOW + 2, &w2);
    cr_assert_eq(w1.call.status, CALL_QUEUED);
    cr_assert_str_eq(callflow_action_name(&w1), "queue");
    cr_assert_eq(w1.queue_position, 1);
    cr_assert_eq(w2.queue_position, 2);
    /* No completed calls: 180 s each over a1's one slot (a2 is not connected). */
    cr_assert_eq(w1.estimated_wait_s, 180);
    cr_assert_eq(w2.estimated_wait_s, 360);
    cr_assert_eq(w1.call.queued_ms, FX_NOW + 1);
    cr_assert_eq(w1.call.queue_deadline_ms, FX_NOW + 1 + 60000);
    cr_assert_eq(w1.callback_id, 0);
    cr_assert(strstr(w1.call.trace_json, "\"queue\":{") != NULL, "%s", w1.call.trace_json);
    qt_route(st, QT_TX, FX_NOW + 3, &full);
    cr_assert_eq(full.call.status, CALL_CALLBACK);
    cr_assert_str_eq(full.callback_reason, "queue_full");
    cr_assert_gt(full.callback_id, 0);

    store_call *rows = NULL;
    int n = 0;
    long long count = 0, pos = 0;
    cr_assert_eq(store_queue_list(st, "q", 10, &rows, &n), ERR_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, w1.call.id);
    cr_assert_str_eq(rows[1].id, w2.call.id);
    cr_assert_eq(rows[1].queue_deadline_ms, FX_NOW + 2 + 60000, "stored with its deadline");
    cr_assert_eq(store_queue_position(st, &rows[1], &pos), ERR_OK);
    cr_assert_eq(pos, 2);
    for (int i = 0; i < n; i++)
        store_call_clear(&rows[i]);
    free(rows);
    cr_assert_eq(store_queue_count(st, NULL, &count), ERR_OK);
    cr_assert_eq(count, 2);
    callflow_outcome_free(&busy);
    callflow_outcome_free(&w1);
    callflow_outcome_free(&w2);
    callflow_outcome_free(&full);
    store_close(st);
}

Test(queue, dispatch_hands_a_free_agent_to_the_oldest_caller_it_suits)
{
    store *st = qt_open("a1");
    callflow_outcome busy, texan, californian;
    queue_change *ch = NULL;
    qt_route(st, QT_TX, FX_NOW, &busy);
    qt_route(st, QT_TX, FX_NOW + 1, &texan);
    cr_assert_eq(qt_dispatch(st, FX_NOW + 2, &ch), 0, "nobody free: nothing changes");
    cr_assert_null(ch);
    /* a2 connects (CA only); a Californian arriving now queues behind the Texan. */
    cr_assert_eq(store_agent_register(st, "a2", FX_NOW + 3600000), ERR_OK);
    qt_route(st, QT_CA, FX_NOW + 3, &californian);
    cr_assert_eq(californian.call.status, CALL_QUEUED, "first come first served");
    cr_assert(strstr(californian.call.trace_json, "\"reason\":\"callers_waiting\"") != NULL);
    cr_assert_eq(californian.queue_position, 2);
    /* The dispatch passes over the Texan (a2 is not licensed for TX) to the Californian. */
    cr_assert_eq(qt_dispatch(st, FX_NOW + 4, &ch), 1);
    cr_assert_eq(ch[0].kind, QUEUE_HANDED_OFF);
    cr_assert_str_eq(ch[0].call.id, californian.call.id);
    cr_assert_eq(ch[0].call.status, CALL_RINGING);
    cr_assert_str_eq(ch[0].call.agent, "a2");
    cr_assert(ch[0].call.holds_claim);
    cr_assert_eq(ch[0].waited_ms, 1);
    cr_assert(strstr(ch[0].call.trace_json, "\"result\":\"dequeued\"") != NULL);
    queue_changes_free(ch, 1);
    cr_assert_eq(qt_status(st, texan.call.id), CALL_QUEUED);
    /* a1 frees: the Texan gets it on the next pass. */
    cr_assert_eq(callflow_end(st, busy.call.id, FX_NOW + 5), 1);
    cr_assert_eq(qt_dispatch(st, FX_NOW + 6, &ch), 1);
    cr_assert_str_eq(ch[0].call.id, texan.call.id);
    cr_assert_str_eq(ch[0].call.agent, "a1");
    queue_changes_free(ch, 1);
    long long count = -1;
    cr_assert_eq(store_queue_count(st, "q", &count), ERR_OK);
    cr_assert_eq(count, 0);
    callflow_outcome_free(&busy);
    callflow_outcome_free(&texan);
    callflow_outcome_free(&californian);
    store_close(st);
}

Test(queue, waits_that_ran_out_end_with_a_callback)
{
    store *st = qt_open("");
    callflow_outcome w;
    queue_change *ch = NULL;
    qt_route(st, QT_TX, FX_NOW, &w);
    cr_assert_eq(w.call.status, CALL_QUEUED);
    cr_assert_eq(qt_dispatch(st, FX_NOW + 59999, &ch), 0, "not yet");
    cr_assert_eq(qt_dispatch(st, FX_NOW + 60000, &ch), 1);
    cr_assert_eq(ch[0].kind, QUEUE_TIMED_OUT);
    cr_assert_eq(ch[0].call.status, CALL_CALLBACK);
    cr_assert_eq(ch[0].call.ended_ms, FX_NOW + 60000);
    store_callback cb;
    cr_assert_eq(store_callback_get(st, ch[0].callback_id, &cb), ERR_OK);
    cr_assert_str_eq(cb.reason, "queue_timeout");
    cr_assert_str_eq(cb.call_id, w.call.id);
    cr_assert_str_eq(cb.caller, QT_TX);
    queue_changes_free(ch, 1);
    cr_assert_eq(qt_status(st, w.call.id), CALL_CALLBACK);
    cr_assert_eq(qt_dispatch(st, FX_NOW + 70000, &ch), 0, "handled once");
    callflow_outcome_free(&w);
    store_close(st);
}

Test(queue, a_caller_who_hangs_up_is_abandoned_with_a_callback)
{
    store *st = qt_open("");
    callflow_outcome w;
    qt_route(st, QT_TX, FX_NOW, &w);
    cr_assert_eq(callflow_end(st, w.call.id, FX_NOW + 10), 0, "no claim to release");
    cr_assert_eq(qt_status(st, w.call.id), CALL_ABANDONED);
    cr_assert_eq(callflow_end(st, w.call.id, FX_NOW + 20), 0, "a repeat is harmless");
    store_callback_filter f = {.open = 1, .limit = 10};
    store_callback *cbs = NULL;
    int n = 0;
    cr_assert_eq(store_callback_list(st, &f, &cbs, &n), ERR_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(cbs[0].reason, "abandoned");
    cr_assert_eq(cbs[0].attempts, 1, "the repeat made no second callback");
    free(cbs);
    callflow_outcome_free(&w);
    store_close(st);
}

Test(queue, the_estimate_learns_the_campaigns_handle_time)
{
    store *st = qt_open("a1");
    callflow_outcome c1, w;
    qt_route(st, QT_TX, FX_NOW, &c1);
    cr_assert_eq(callflow_end(st, c1.call.id, FX_NOW + 40000), 1); /* 40 s */
    callflow_outcome_free(&c1);
    qt_route(st, QT_TX, FX_NOW + 50000, &c1);
    qt_route(st, QT_TX, FX_NOW + 50001, &w);
    cr_assert_eq(w.queue_position, 1);
    cr_assert_eq(w.estimated_wait_s, 40);
    callflow_outcome_free(&c1);
    callflow_outcome_free(&w);
    store_close(st);
}

Test(queue, a_handoff_whose_caller_is_gone_changes_nothing)
{
    store *st = qt_open("");
    callflow_outcome w, h;
    qt_route(st, QT_TX, FX_NOW, &w);
    cr_assert_eq(store_agent_register(st, "a1", FX_NOW + 3600000), ERR_OK);
    /* This daemon read the call as queued; meanwhile the caller hung up elsewhere. */
    callflow_outcome_init(&h);
    cr_assert_eq(store_call_get(st, w.call.id, &h.call), ERR_OK);
    cr_assert_eq(callflow_end(st, w.call.id, FX_NOW + 1), 0);
    config *cfg = NULL;
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 1);
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(store_config_load(st, &cfg, NULL, 0), ERR_OK);
    cr_assert_eq(callflow_handoff_locked(st, cfg, FX_NOW + 2, &rng, &h), ERR_CONFLICT);
    cr_assert_eq(store_rollback(st), ERR_OK);
    config_free(cfg);
    cr_assert_eq(qt_status(st, w.call.id), CALL_ABANDONED);
    callflow_outcome_free(&h);
    callflow_outcome_free(&w);
    store_close(st);
    /* The claim it had taken was rolled back with it. */
    cr_assert_eq(store_open(qt_db.path, &st, NULL, 0), ERR_OK);
    config *after = NULL;
    cr_assert_eq(store_config_load(st, &after, NULL, 0), ERR_OK);
    cr_assert_eq(after->agents[config_find_agent(after, "a1")].active_calls, 0);
    config_free(after);
    store_close(st);
}
