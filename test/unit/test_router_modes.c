/* test_router_modes.c -- distribution modes (SPEC 3.5), result reuse and the JSON trace. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec/route_json.h"
#include "core/router.h"
#include "router_fixture.h"

static const char MODES_BASE[] = "campaign medicare default=medicare\n"
                                 "number +18005550100 medicare\n";
#define TO "+18005550100"
#define TX "+15125550100"

/* What the store does on a won claim that ends at once: the rule's cursor moves to the agent
 * and the agent's last assignment is stamped. */
static void simulate_claim(config *cfg, const route_result *r, int64_t when)
{
    cr_assert_eq(r->action, ROUTE_CONNECT);
    const route_candidate *c = &r->candidates[0];
    cfg->rules[c->rule].rr_last_agent = c->agent;
    cfg->agents[c->agent].last_assigned_ms = when;
}

/* Routes one call and returns the picked agent's id ("-" when none). */
static const char *route_pick(const config *cfg, route_result *r)
{
    fx_route(cfg, TO, TX, NULL, r);
    return fx_pick(cfg, r);
}

Test(router_round_robin, exact_sequence_with_pause_and_resume)
{
    config *cfg = fx_config(MODES_BASE, "agent a\nagent b\nagent c\nagent d\n"
                                        "rule rr medicare mode=round_robin members=a,b,c,d\n");
    route_result r;
    route_result_init(&r);
    int b = fx_agent(cfg, "b"), c = fx_agent(cfg, "c");
    static const char *const first[] = {"a", "b", "c", "d", "a"};
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(route_pick(cfg, &r), first[i], "call %d", i);
        simulate_claim(cfg, &r, FX_NOW + i);
    }
    /* The cursor is after a. b pauses: the next calls go to c and d, then wrap to a. */
    cfg->agents[b].status = AGENT_PAUSED;
    static const char *const paused[] = {"c", "d", "a"};
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(route_pick(cfg, &r), paused[i], "paused call %d", i);
        simulate_claim(cfg, &r, FX_NOW + 10 + i);
    }
    /* b resumes and c is busy on a call: after a come b, then d (c skipped), then a. */
    cfg->agents[b].status = AGENT_ACTIVE;
    cfg->agents[c].active_calls = 1;
    static const char *const busy[] = {"b", "d", "a"};
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(route_pick(cfg, &r), busy[i], "busy call %d", i);
        simulate_claim(cfg, &r, FX_NOW + 20 + i);
    }
    cfg->agents[c].active_calls = 0;
    cr_assert_str_eq(route_pick(cfg, &r), "b");
    route_result_free(&r);
    config_free(cfg);
}

Test(router_round_robin, cursor_moves_only_on_claim)
{
    config *cfg = fx_config(MODES_BASE, "agent a\nagent b\nagent c\n"
                                        "rule rr medicare mode=round_robin members=a,b,c\n");
    route_result r;
    route_result_init(&r);
    /* Routing without a claim (a dry run, a lost claim) leaves the cursor where it was. */
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(route_pick(cfg, &r), "a");
    char cands[128];
    fx_candidates(cfg, &r, cands, sizeof(cands));
    cr_assert_str_eq(cands, "a,b,c");
    cr_assert_eq(cfg->rules[fx_rule(cfg, "rr")].rr_last_agent, -1);
    route_result_free(&r);
    config_free(cfg);
}

Test(router_round_robin, candidates_wrap_after_cursor)
{
    config *cfg = fx_config(MODES_BASE, "agent a\nagent b\nagent c\nagent d\n"
                                        "rule rr medicare mode=round_robin rr=b members=a,b,c,d\n");
    route_result r;
    route_result_init(&r);
    fx_route(cfg, TO, TX, NULL, &r);
    char cands[128];
    fx_candidates(cfg, &r, cands, sizeof(cands));
    cr_assert_str_eq(cands, "c,d,a,b");
    /* The cursor agent itself unavailable: still start right after its position. */
    cfg->agents[fx_agent(cfg, "b")].status = AGENT_PAUSED;
    cfg->agents[fx_agent(cfg, "c")].registered_until_ms = 0;
    fx_route(cfg, TO, TX, NULL, &r);
    fx_candidates(cfg, &r, cands, sizeof(cands));
    cr_assert_str_eq(cands, "d,a");
    route_result_free(&r);
    config_free(cfg);
}

Test(router_round_robin, cursor_agent_no_longer_member_starts_at_first)
{
    config *cfg =
        fx_config(MODES_BASE, "agent a\nagent b\nagent c\nagent gone\n"
                              "rule rr medicare mode=round_robin rr=gone members=a,b,c\n");
    route_result r;
    route_result_init(&r);
    cr_assert_str_eq(route_pick(cfg, &r), "a");
    /* The cursor pointing at the last member wraps to the first. */
    cfg->rules[fx_rule(cfg, "rr")].rr_last_agent = fx_agent(cfg, "c");
    cr_assert_str_eq(route_pick(cfg, &r), "a");
    /* A stale index outside the agents is treated the same way. */
    cfg->rules[fx_rule(cfg, "rr")].rr_last_agent = 9999;
    cr_assert_str_eq(route_pick(cfg, &r), "a");
    route_result_free(&r);
    config_free(cfg);
}

Test(router_priority, ties_by_longest_idle_then_id)
{
    config *cfg =
        fx_config(MODES_BASE, "agent x last=500\nagent z last=100\nagent y last=100\n"
                              "agent w last=0\nagent v last=0\nagent top last=9999\n"
                              "agent low last=0\n"
                              "rule p medicare members=low:3,x:2,z:2,y:2,w:2,v:2,top:1\n");
    route_result r;
    route_result_init(&r);
    fx_route(cfg, TO, TX, NULL, &r);
    char cands[128];
    fx_candidates(cfg, &r, cands, sizeof(cands));
    /* top has priority 1 even though busiest; among priority 2, never assigned first (v before
     * w by id), then oldest assignment (y before z by id at 100), then x; low is last. */
    cr_assert_str_eq(cands, "top,v,w,y,z,x,low");
    cr_assert_eq(r.trace.mode, MODE_PRIORITY);

    /* After top is taken at capacity, the next call goes to v; after v's claim, w. */
    cfg->agents[fx_agent(cfg, "top")].active_calls = 1;
    cr_assert_str_eq(route_pick(cfg, &r), "v");
    simulate_claim(cfg, &r, FX_NOW);
    cr_assert_str_eq(route_pick(cfg, &r), "w");
    route_result_free(&r);
    config_free(cfg);
}

Test(router_priority, many_members_sorted)
{
    /* Enough members to exercise every gap of the sort. */
    char *text = malloc(64 * 1024);
    cr_assert(text);
    size_t len = 0;
    len += (size_t)snprintf(text + len, 64 * 1024 - len, "%s", MODES_BASE);
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(text + len, 64 * 1024 - len, "agent g%02d last=%d\n", i,
                                (i * 37) % 11);
    len += (size_t)snprintf(text + len, 64 * 1024 - len, "rule p medicare members=");
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(text + len, 64 * 1024 - len, "%sg%02d:%d", i ? "," : "", i,
                                1 + (i * 7) % 5);
    snprintf(text + len, 64 * 1024 - len, "\n");
    config *cfg = fx_config(text, NULL);
    free(text);
    route_result r;
    route_result_init(&r);
    fx_route(cfg, TO, TX, NULL, &r);
    cr_assert_eq(r.n_candidates, 60);
    const config_rule *rule = &cfg->rules[0];
    for (int i = 1; i < r.n_candidates; i++) {
        const route_candidate *p = &r.candidates[i - 1], *q = &r.candidates[i];
        int pp = rule->members[p->member].priority, qp = rule->members[q->member].priority;
        int64_t pl = cfg->agents[p->agent].last_assigned_ms;
        int64_t ql = cfg->agents[q->agent].last_assigned_ms;
        cr_assert(pp < qp ||
                      (pp == qp && (pl < ql || (pl == ql && strcmp(cfg->agents[p->agent].id,
                                                                   cfg->agents[q->agent].id) < 0))),
                  "order broken at %d", i);
    }
    route_result_free(&r);
    config_free(cfg);
}

/* Counts the first picks of `draws` routes with one generator. */
static void weighted_counts(const config *cfg, uint64_t seed, int draws, int *counts)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, seed);
    router_call call = {TO, TX, NULL, NULL, 0};
    route_result r;
    route_result_init(&r);
    for (int i = 0; i < draws; i++) {
        cr_assert_eq(router_route(cfg, &call, FX_NOW, &rng, &r), 0);
        cr_assert_eq(r.action, ROUTE_CONNECT);
        counts[r.candidates[0].agent]++;
    }
    route_result_free(&r);
}

Test(router_weighted, chi_square_1_2_7)
{
    config *cfg =
        fx_config(MODES_BASE, "agent a max=5\nagent b max=5\nagent c max=5\n"
                              "rule w medicare mode=weighted members=a:1:1,b:1:2,c:1:7\n");
    int counts[3] = {0, 0, 0};
    const int draws = 100000;
    weighted_counts(cfg, 20260302, draws, counts);
    static const double weight[3] = {1, 2, 7};
    double chi2 = 0;
    for (int i = 0; i < 3; i++) {
        double expected = draws * weight[i] / 10.0;
        chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    /* 2 degrees of freedom, p = 0.001. */
    cr_assert_lt(chi2, 13.816, "chi2 %.3f counts %d %d %d", chi2, counts[0], counts[1], counts[2]);
    cr_assert_eq(counts[0] + counts[1] + counts[2], draws);
    config_free(cfg);
}

Test(router_weighted, unavailable_member_never_drawn)
{
    config *cfg = fx_config(MODES_BASE, "agent a max=5\nagent b max=5\nagent full max=2 active=2\n"
                                        "agent off status=paused\nagent gone reg=-1\n"
                                        "rule w medicare mode=weighted "
                                        "members=a:1:1,full:1:50,b:1:2,off:1:50,gone:1:50\n");
    int counts[5] = {0, 0, 0, 0, 0};
    weighted_counts(cfg, 99, 10000, counts);
    cr_assert_eq(counts[fx_agent(cfg, "full")], 0);
    cr_assert_eq(counts[fx_agent(cfg, "off")], 0);
    cr_assert_eq(counts[fx_agent(cfg, "gone")], 0);
    int a = counts[fx_agent(cfg, "a")], b = counts[fx_agent(cfg, "b")];
    cr_assert_eq(a + b, 10000);
    /* Weights of the available members only: b about twice a (1/3 vs 2/3). */
    cr_assert(a > 2800 && a < 3900, "a drawn %d times", a);
    config_free(cfg);
}

Test(router_weighted, candidates_are_a_permutation_of_available)
{
    config *cfg =
        fx_config(MODES_BASE, "agent a\nagent b\nagent c\nagent d status=paused\n"
                              "rule w medicare mode=weighted members=a:1:3,b:1:1,c:1:1,d:1:9\n");
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 5);
    router_call call = {TO, TX, NULL, NULL, 0};
    route_result r;
    route_result_init(&r);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(router_route(cfg, &call, FX_NOW, &rng, &r), 0);
        cr_assert_eq(r.n_candidates, 3);
        int seen = 0;
        for (int k = 0; k < 3; k++)
            seen |= 1 << r.candidates[k].agent;
        cr_assert_eq(seen, 0x7);
    }
    route_result_free(&r);
    config_free(cfg);
}

Test(router_weighted, same_seed_same_sequence)
{
    config *cfg =
        fx_config(MODES_BASE, "agent a\nagent b\nagent c\n"
                              "rule w medicare mode=weighted members=a:1:1,b:1:2,c:1:7\n");
    router_call call = {TO, TX, NULL, NULL, 0};
    route_result r1, r2;
    route_result_init(&r1);
    route_result_init(&r2);
    rng_splitmix g1, g2, g3;
    rng_source s1 = rng_splitmix_source(&g1, 1234), s2 = rng_splitmix_source(&g2, 1234);
    rng_source s3 = rng_splitmix_source(&g3, 4321);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(router_route(cfg, &call, FX_NOW, &s1, &r1), 0);
        cr_assert_eq(router_route(cfg, &call, FX_NOW, &s2, &r2), 0);
        for (int k = 0; k < 3; k++)
            cr_assert_eq(r1.candidates[k].agent, r2.candidates[k].agent, "draw %d", i);
        cr_assert_eq(router_route(cfg, &call, FX_NOW, &s3, &r2), 0);
        differs += r1.candidates[0].agent != r2.candidates[0].agent;
    }
    cr_assert_gt(differs, 0, "another seed gave the very same 1000 picks");
    route_result_free(&r1);
    route_result_free(&r2);
    config_free(cfg);
}

Test(router_weighted, overflow_rule_uses_its_own_mode)
{
    config *cfg =
        fx_config(MODES_BASE, "agent a\nagent b\nagent c\n"
                              "rule p medicare pos=1 members=a\n"
                              "rule w medicare pos=2 mode=weighted members=a:1:5,b:1:1,c:1:1\n");
    route_result r;
    route_result_init(&r);
    fx_route(cfg, TO, TX, NULL, &r);
    cr_assert_eq(r.n_candidates, 3);
    cr_assert_str_eq(fx_pick(cfg, &r), "a");
    cr_assert_eq(r.candidates[1].rule, fx_rule(cfg, "w"));
    cr_assert_eq(r.candidates[0].rule, fx_rule(cfg, "p"));
    cr_assert_eq(r.trace.mode, MODE_PRIORITY);
    route_result_free(&r);
    config_free(cfg);
}

Test(router_result, reuse_shrinks_counts_and_config_untouched)
{
    config *big = fx_config(
        MODES_BASE, "agent a\nagent b\nagent c\nagent d\nagent e\n"
                    "rule r1 medicare pos=1 members=a,b\nrule r2 medicare pos=2 members=c,d,e\n"
                    "rule r3 medicare pos=3 mode=round_robin members=e,d,c,b,a\n");
    config *small = fx_config(MODES_BASE, "agent z\nrule r1 medicare members=z\n");
    config *before = config_clone(big);
    cr_assert(before);
    route_result r;
    route_result_init(&r);
    for (int i = 0; i < 50; i++) {
        fx_route(big, TO, TX, NULL, &r);
        cr_assert_eq(r.n_candidates, 5);
        cr_assert_eq(r.trace.n_rules, 3);
        cr_assert_eq(r.trace.n_members, 10);
        cr_assert_eq(route_trace_add_claim(&r, r.candidates[0].agent, false), 0);
        cr_assert_eq(route_trace_add_claim(&r, r.candidates[1].agent, true), 0);
        cr_assert_eq(r.trace.n_claims, 2);
        fx_route(small, TO, "anonymous", "aca", &r);
        cr_assert_eq(r.n_candidates, 1);
        cr_assert_eq(r.trace.n_rules, 1);
        cr_assert_eq(r.trace.n_members, 1);
        cr_assert_eq(r.trace.n_claims, 0);
        cr_assert_null(r.trace.caller_state);
        cr_assert_str_eq(r.trace.category, "aca");
        fx_route(small, "+18005559999", TX, NULL, &r);
        cr_assert_eq(r.action, ROUTE_REJECT);
        cr_assert_eq(r.n_candidates, 0);
        cr_assert_eq(r.trace.n_rules, 0);
        cr_assert_eq(r.trace.decided_rule, -1);
        cr_assert_eq(r.trace.pick, -1);
    }
    /* The router never writes to the configuration. */
    cr_assert_eq(memcmp(before->agents, big->agents, sizeof(config_agent) * (size_t)big->n_agents),
                 0);
    for (int i = 0; i < big->n_rules; i++) {
        cr_assert_eq(before->rules[i].rr_last_agent, big->rules[i].rr_last_agent);
        cr_assert_eq(memcmp(before->rules[i].members, big->rules[i].members,
                            sizeof(config_member) * (size_t)big->rules[i].n_members),
                     0);
    }
    route_result_free(&r);
    route_result_free(&r); /* a second free is harmless */
    config_free(before);
    config_free(big);
    config_free(small);
}

Test(router_result, names_are_stable)
{
    cr_assert_str_eq(router_action_name(ROUTE_CONNECT), "connect");
    cr_assert_str_eq(router_action_name(ROUTE_NO_AGENT), "no_agent");
    cr_assert_str_eq(router_action_name(ROUTE_REJECT), "reject");
    cr_assert_str_eq(router_category_source_name(CATEGORY_FROM_CALL), "call");
    cr_assert_str_eq(router_category_source_name(CATEGORY_FROM_NUMBER), "tracking_number");
    cr_assert_str_eq(router_category_source_name(CATEGORY_FROM_CAMPAIGN), "campaign_default");
    cr_assert_str_eq(router_category_source_name(CATEGORY_NONE), "none");
    cr_assert_str_eq(router_rule_verdict_name(RULE_NO_AVAILABLE), "no_available_member");
    cr_assert_str_eq(router_rule_verdict_name(RULE_OVERFLOW), "overflow");
    cr_assert_str_eq(router_member_verdict_name(MEMBER_ALREADY_TRIED), "already_tried");
    cr_assert_str_eq(router_member_verdict_name((member_verdict)99), "unknown");
}

Test(router_json, trace_fields)
{
    config *cfg =
        fx_config(MODES_BASE, "agent maria states=TX\nagent bob max=2 active=2\n"
                              "agent li states=FL\nagent ana\n"
                              "rule fl medicare pos=1 states=FL members=li\n"
                              "rule tx-medicare medicare pos=2 states=TX cats=medicare "
                              "members=maria:1,bob:1,li:1\n"
                              "rule any medicare pos=3 mode=round_robin members=ana,maria\n");
    route_result r;
    route_result_init(&r);
    fx_route(cfg, "(800) 555-0100", TX, NULL, &r);
    cr_assert_eq(route_trace_add_claim(&r, fx_agent(cfg, "maria"), false), 0);
    cr_assert_eq(route_trace_add_claim(&r, fx_agent(cfg, "ana"), true), 0);
    json_t *js = route_json_trace(cfg, &r);
    cr_assert(js);
    char *text = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    json_error_t err;
    js = json_loads(text, 0, &err);
    cr_assert(js, "%s", err.text);
    free(text);

    const char *s;
    int b1, b2;
    cr_assert_eq(json_unpack_ex(js, &err, 0, "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s}",
                                "action", &s, "outcome", &s, "to", "e164", &s, "status", &s, "from",
                                "e164", &s, "status", &s, "caller_state", &s),
                 0, "%s", err.text);
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")), "connect");
    cr_assert_str_eq(json_string_value(json_object_get(js, "outcome")), "connect");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(js, "to"), "e164")),
                     "+18005550100");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(js, "from"), "status")),
                     "ok");
    cr_assert_str_eq(json_string_value(json_object_get(js, "caller_state")), "TX");
    json_t *src = json_object_get(js, "state_source");
    cr_assert_str_eq(json_string_value(json_object_get(src, "method")), "area_code");
    cr_assert_str_eq(json_string_value(json_object_get(src, "npa")), "512");
    cr_assert_str_eq(json_string_value(json_object_get(src, "reason")), "state");
    cr_assert_str_eq(json_string_value(json_object_get(src, "time_zone")), "C");
    cr_assert_str_eq(json_string_value(json_object_get(js, "category")), "medicare");
    cr_assert_str_eq(json_string_value(json_object_get(js, "category_source")), "campaign_default");
    cr_assert_str_eq(json_string_value(json_object_get(js, "campaign")), "medicare");
    cr_assert_str_eq(json_string_value(json_object_get(js, "tracking_number")), "+18005550100");
    cr_assert_str_eq(json_string_value(json_object_get(js, "decided_rule")), "tx-medicare");
    cr_assert_str_eq(json_string_value(json_object_get(js, "mode")), "priority");
    cr_assert_str_eq(json_string_value(json_object_get(js, "pick")), "maria");
    cr_assert_str_eq(json_string_value(json_object_get(js, "agent")), "ana");

    json_t *rules = json_object_get(js, "rules");
    cr_assert_eq(json_array_size(rules), 3);
    json_t *fl = json_array_get(rules, 0);
    cr_assert_str_eq(json_string_value(json_object_get(fl, "rule")), "fl");
    cr_assert_eq(json_integer_value(json_object_get(fl, "position")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(fl, "verdict")), "state_mismatch");
    cr_assert_str_eq(json_string_value(json_object_get(fl, "detail")), "TX");
    cr_assert_eq(json_array_size(json_object_get(fl, "members")), 0);
    json_t *tx = json_array_get(rules, 1);
    cr_assert_str_eq(json_string_value(json_object_get(tx, "verdict")), "decided");
    cr_assert_str_eq(json_string_value(json_object_get(tx, "mode")), "priority");
    json_t *m = json_object_get(tx, "members");
    cr_assert_eq(json_array_size(m), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "agent")), "maria");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "verdict")),
                     "available");
    cr_assert_null(json_object_get(json_array_get(m, 0), "detail"));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "verdict")),
                     "at_capacity");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "detail")), "2/2");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "verdict")),
                     "state_not_allowed");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "detail")), "TX");
    json_t *any = json_array_get(rules, 2);
    cr_assert_str_eq(json_string_value(json_object_get(any, "verdict")), "overflow");
    cr_assert_str_eq(json_string_value(json_object_get(any, "mode")), "round_robin");

    json_t *cands = json_object_get(js, "candidates");
    cr_assert_eq(json_array_size(cands), 2);
    cr_assert_str_eq(json_string_value(json_array_get(cands, 0)), "maria");
    cr_assert_str_eq(json_string_value(json_array_get(cands, 1)), "ana");
    json_t *claims = json_object_get(js, "claims");
    cr_assert_eq(json_unpack(json_array_get(claims, 0), "{s:s, s:b}", "agent", &s, "won", &b1), 0);
    cr_assert_str_eq(s, "maria");
    cr_assert_eq(json_unpack(json_array_get(claims, 1), "{s:s, s:b}", "agent", &s, "won", &b2), 0);
    cr_assert_str_eq(s, "ana");
    cr_assert(!b1 && b2);
    const char *summary = json_string_value(json_object_get(js, "summary"));
    cr_assert(summary);
    cr_assert(strstr(summary, "TX caller"), "%s", summary);
    cr_assert(strstr(summary, "category medicare"), "%s", summary);
    cr_assert(strstr(summary, "rule tx-medicare (priority) picked maria"), "%s", summary);
    cr_assert(strstr(summary, "claimed ana"), "%s", summary);
    json_decref(js);
    route_result_free(&r);
    config_free(cfg);
}

Test(router_json, reject_and_no_agent_and_lost_claims)
{
    config *cfg = fx_config(MODES_BASE, "agent maria status=paused\nagent bob\n"
                                        "rule r1 medicare members=maria\n");
    route_result r;
    route_result_init(&r);

    fx_route(cfg, "+18005550199", "anonymous", "aca\xff", &r);
    json_t *js = route_json_trace(cfg, &r);
    cr_assert(js, "invalid UTF-8 in a category must not break the trace");
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")), "reject");
    cr_assert(json_is_null(json_object_get(js, "campaign")));
    cr_assert(json_is_null(json_object_get(js, "tracking_number")));
    cr_assert(json_is_null(json_object_get(js, "caller_state")));
    cr_assert(json_is_null(json_object_get(js, "pick")));
    cr_assert(json_is_null(json_object_get(js, "agent")));
    cr_assert(json_is_null(json_object_get(js, "decided_rule")));
    cr_assert_eq(json_array_size(json_object_get(js, "rules")), 0);
    json_t *src = json_object_get(js, "state_source");
    cr_assert_str_eq(json_string_value(json_object_get(src, "method")), "caller_id");
    cr_assert_str_eq(json_string_value(json_object_get(src, "reason")), "caller_id_anonymous");
    cr_assert(json_is_null(json_object_get(src, "npa")));
    cr_assert(strstr(json_string_value(json_object_get(js, "summary")), "not a tracking number"));
    json_decref(js);

    fx_route(cfg, "+18005550100", "+14165550100", NULL, &r);
    js = route_json_trace(cfg, &r);
    cr_assert(js);
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")), "no_agent");
    cr_assert_str_eq(json_string_value(json_object_get(js, "outcome")), "no_agent");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(js, "state_source"), "reason")),
        "canada");
    cr_assert(strstr(json_string_value(json_object_get(js, "summary")), "no agent available"));
    json_decref(js);

    /* A connect whose every claim was lost ends as no_agent. */
    cfg->agents[fx_agent(cfg, "maria")].status = AGENT_ACTIVE;
    fx_route(cfg, "+18005550100", TX, NULL, &r);
    cr_assert_eq(route_trace_add_claim(&r, fx_agent(cfg, "maria"), false), 0);
    char *text = route_json_trace_text(cfg, &r);
    cr_assert(text);
    js = json_loads(text, 0, NULL);
    free(text);
    cr_assert(js);
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")), "connect");
    cr_assert_str_eq(json_string_value(json_object_get(js, "outcome")), "no_agent");
    cr_assert(json_is_null(json_object_get(js, "agent")));
    json_decref(js);
    route_result_free(&r);
    config_free(cfg);
}

Test(router_json, fresh_result_renders)
{
    config *cfg = fx_config(MODES_BASE, NULL);
    route_result r;
    route_result_init(&r);
    json_t *js = route_json_trace(cfg, &r);
    cr_assert(js);
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")), "reject");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(js, "to"), "status")),
                     "empty");
    cr_assert(json_is_null(json_object_get(js, "pick")));
    json_decref(js);
    route_result_free(&r);
    config_free(cfg);
}

Test(router_result, many_tried_agents)
{
    config *cfg = fx_config(MODES_BASE, "agent a\nagent b\nagent c\n"
                                        "rule r medicare members=a,b,c\n");
    /* More tried ids than ROUTER_MAX_TRIED: still honoured, unknown ids ignored. */
    const char *tried[ROUTER_MAX_TRIED + 6];
    int n = 0;
    for (; n < ROUTER_MAX_TRIED + 4; n++)
        tried[n] = "nobody";
    tried[n++] = "a";
    tried[n++] = "c";
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 3);
    router_call call = {TO, TX, NULL, tried, n};
    route_result r;
    route_result_init(&r);
    cr_assert_eq(router_route(cfg, &call, FX_NOW, &rng, &r), 0);
    char cands[64];
    fx_candidates(cfg, &r, cands, sizeof(cands));
    cr_assert_str_eq(cands, "b");
    cr_assert_eq(r.trace.members[0].verdict, MEMBER_ALREADY_TRIED);
    cr_assert_eq(r.trace.members[2].verdict, MEMBER_ALREADY_TRIED);
    route_result_free(&r);
    config_free(cfg);
}
