/* router.c -- the pure routing core: rule matching, availability, distribution modes, trace. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "states.h"

/* Agents for which the duplicate check uses a bit set on the stack; larger configurations
 * fall back to scanning the candidates list. */
#define ROUTER_SEEN_BITS 4096

/* Per-call working state that lives on the stack. */
typedef struct {
    const config *cfg;
    int64_t now_ms;
    uint64_t state_bit;    /* caller's state bit, 0 when unknown */
    uint64_t category_bit; /* call's category bit, 0 when none or unknown to the config */
    const router_call *call;
    int tried[ROUTER_MAX_TRIED]; /* agent indexes of call->tried, -1 for unknown ids */
    int n_tried;
    bool tried_by_name; /* more tried ids than fit above: compare names instead */
    uint64_t seen[ROUTER_SEEN_BITS / 64];
    bool use_seen;
} router_ctx;

static const char *const router_action_names[] = {"connect", "no_agent", "reject"};
static const char *const router_category_source_names[] = {"call", "tracking_number",
                                                           "campaign_default", "none"};
static const char *const router_rule_verdict_names[] = {"decided",           "no_available_member",
                                                        "disabled",          "state_mismatch",
                                                        "category_mismatch", "overflow"};
static const char *const router_member_verdict_names[] = {"available",
                                                          "paused",
                                                          "deactivated",
                                                          "not_connected",
                                                          "at_capacity",
                                                          "state_not_allowed",
                                                          "category_not_allowed",
                                                          "already_tried"};

#define ROUTER_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *router_action_name(route_action a)
{
    return (int)a >= 0 && (int)a < ROUTER_COUNT(router_action_names) ? router_action_names[a]
                                                                     : "unknown";
}

const char *router_category_source_name(category_source s)
{
    return (int)s >= 0 && (int)s < ROUTER_COUNT(router_category_source_names)
               ? router_category_source_names[s]
               : "unknown";
}

const char *router_rule_verdict_name(rule_verdict v)
{
    return (int)v >= 0 && (int)v < ROUTER_COUNT(router_rule_verdict_names)
               ? router_rule_verdict_names[v]
               : "unknown";
}

const char *router_member_verdict_name(member_verdict v)
{
    return (int)v >= 0 && (int)v < ROUTER_COUNT(router_member_verdict_names)
               ? router_member_verdict_names[v]
               : "unknown";
}

void route_result_init(route_result *r)
{
    memset(r, 0, sizeof(*r));
    r->action = ROUTE_REJECT;
    r->trace.to.status = PHONE_EMPTY;
    r->trace.from.status = PHONE_EMPTY;
    r->trace.area.reason = AREACODE_INVALID;
    r->trace.area.time_zone = "";
    r->trace.area.location = "";
    r->trace.campaign = -1;
    r->trace.number = -1;
    r->trace.decided_rule = -1;
    r->trace.pick = -1;
    r->trace.category_from = CATEGORY_NONE;
}

void route_result_free(route_result *r)
{
    free(r->candidates);
    free(r->trace.rules);
    free(r->trace.members);
    free(r->trace.claims);
    route_result_init(r);
}

/* Makes room for one more element in *arr of *cap elements of `size` bytes holding n.
 * Returns 0, or -1 when out of memory (the array is unchanged). */
static int router_reserve(void **arr, int n, int *cap, size_t size)
{
    if (n < *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int route_trace_add_claim(route_result *r, int agent, bool won)
{
    route_trace *t = &r->trace;
    if (router_reserve((void **)&t->claims, t->n_claims, &t->cap_claims, sizeof(trace_claim)))
        return -1;
    t->claims[t->n_claims].agent = agent;
    t->claims[t->n_claims].won = won;
    t->n_claims++;
    return 0;
}

/* Empties a result for a new decision, keeping its memory. */
static void router_reset(route_result *r)
{
    route_trace *t = &r->trace;
    r->action = ROUTE_REJECT;
    r->n_candidates = 0;
    memset(&t->to, 0, sizeof(t->to));
    memset(&t->from, 0, sizeof(t->from));
    memset(&t->area, 0, sizeof(t->area));
    t->area.reason = AREACODE_INVALID;
    t->area.time_zone = "";
    t->area.location = "";
    t->caller_state = NULL;
    t->category[0] = '\0';
    t->category_from = CATEGORY_NONE;
    t->campaign = -1;
    t->number = -1;
    t->n_rules = 0;
    t->n_members = 0;
    t->decided_rule = -1;
    t->mode = MODE_PRIORITY;
    t->pick = -1;
    t->n_claims = 0;
}

/* Copies a category slug into the trace, truncating what cannot be a valid slug anyway. */
static void router_set_category(route_trace *t, const char *slug, category_source from)
{
    size_t n = strnlen(slug, CONFIG_CATEGORY_MAX - 1);
    memcpy(t->category, slug, n);
    t->category[n] = '\0';
    t->category_from = from;
}

/* Resolves the call's tried agent ids to indexes once, so members compare integers. */
static void router_resolve_tried(router_ctx *cx)
{
    const router_call *call = cx->call;
    cx->n_tried = 0;
    cx->tried_by_name = false;
    if (!call->tried || call->n_tried <= 0)
        return;
    if (call->n_tried > ROUTER_MAX_TRIED) {
        cx->tried_by_name = true;
        return;
    }
    for (int i = 0; i < call->n_tried; i++)
        cx->tried[cx->n_tried++] = call->tried[i] ? config_find_agent(cx->cfg, call->tried[i]) : -1;
}

static bool router_was_tried(const router_ctx *cx, int agent)
{
    if (cx->tried_by_name) {
        const char *id = cx->cfg->agents[agent].id;
        for (int i = 0; i < cx->call->n_tried; i++)
            if (cx->call->tried[i] && strcmp(cx->call->tried[i], id) == 0)
                return true;
        return false;
    }
    for (int i = 0; i < cx->n_tried; i++)
        if (cx->tried[i] == agent)
            return true;
    return false;
}

/* SPEC 3.4: the first reason an agent cannot take this call, or MEMBER_AVAILABLE. */
static member_verdict router_check_agent(const router_ctx *cx, int agent)
{
    const config_agent *a = &cx->cfg->agents[agent];
    if (a->status == AGENT_DEACTIVATED)
        return MEMBER_DEACTIVATED;
    if (a->status != AGENT_ACTIVE)
        return MEMBER_PAUSED;
    if (a->registered_until_ms <= cx->now_ms)
        return MEMBER_NOT_CONNECTED;
    if (a->active_calls >= a->max_concurrent)
        return MEMBER_AT_CAPACITY;
    if (a->states != 0 && (a->states & cx->state_bit) == 0)
        return MEMBER_STATE_NOT_ALLOWED;
    if (a->categories != 0 && (a->categories & cx->category_bit) == 0)
        return MEMBER_CATEGORY_NOT_ALLOWED;
    if (router_was_tried(cx, agent))
        return MEMBER_ALREADY_TRIED;
    return MEMBER_AVAILABLE;
}

/* SPEC 3.3: whether a rule matches the call, as a verdict (RULE_DECIDED meaning "matches"). */
static rule_verdict router_check_rule(const router_ctx *cx, const config_rule *rule)
{
    if (!rule->enabled)
        return RULE_DISABLED;
    if (rule->states != 0 && (rule->states & cx->state_bit) == 0)
        return RULE_STATE_MISMATCH;
    if (rule->categories != 0 && (rule->categories & cx->category_bit) == 0)
        return RULE_CATEGORY_MISMATCH;
    return RULE_DECIDED;
}

/* Whether an agent is already a candidate. */
static bool router_seen(const router_ctx *cx, const route_result *r, int agent)
{
    if (cx->use_seen)
        return (cx->seen[agent / 64] >> (agent % 64)) & 1u;
    for (int i = 0; i < r->n_candidates; i++)
        if (r->candidates[i].agent == agent)
            return true;
    return false;
}

static int router_add_candidate(router_ctx *cx, route_result *r, int rule, int member)
{
    int agent = cx->cfg->rules[rule].members[member].agent;
    if (router_seen(cx, r, agent))
        return 0;
    if (router_reserve((void **)&r->candidates, r->n_candidates, &r->cap_candidates,
                       sizeof(route_candidate)))
        return -1;
    route_candidate *c = &r->candidates[r->n_candidates++];
    c->agent = agent;
    c->rule = rule;
    c->member = member;
    if (cx->use_seen)
        cx->seen[agent / 64] |= (uint64_t)1 << (agent % 64);
    return 0;
}

/* Priority order (SPEC 3.5): lower priority number, then the longest idle (oldest last
 * assignment, never assigned first), then the lowest agent id. Negative when a goes first. */
static int router_cmp_priority(const config *cfg, const route_candidate *a,
                               const route_candidate *b)
{
    int pa = cfg->rules[a->rule].members[a->member].priority;
    int pb = cfg->rules[b->rule].members[b->member].priority;
    if (pa != pb)
        return pa < pb ? -1 : 1;
    int64_t la = cfg->agents[a->agent].last_assigned_ms;
    int64_t lb = cfg->agents[b->agent].last_assigned_ms;
    if (la != lb)
        return la < lb ? -1 : 1;
    int c = strcmp(cfg->agents[a->agent].id, cfg->agents[b->agent].id);
    if (c != 0)
        return c;
    return a->member - b->member;
}

/* Shell sort: no recursion, no allocation, and qsort has no context argument. The order is
 * total (agent ids are unique), so stability does not matter. */
static void router_sort_priority(const config *cfg, route_candidate *v, int n)
{
    static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (int g = 0; g < ROUTER_COUNT(gaps); g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            route_candidate tmp = v[i];
            int j = i;
            while (j >= gap && router_cmp_priority(cfg, &v[j - gap], &tmp) > 0) {
                v[j] = v[j - gap];
                j -= gap;
            }
            v[j] = tmp;
        }
    }
}

/* Weighted order (SPEC 3.5): successive draws without replacement, each member taken with
 * probability weight / (sum of the weights still in the draw). */
static void router_sort_weighted(const config *cfg, const rng_source *rng, route_candidate *v,
                                 int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        int w = cfg->rules[v[i].rule].members[v[i].member].weight;
        total += (uint64_t)(w < 1 ? 1 : w);
    }
    for (int i = 0; i + 1 < n; i++) {
        uint64_t x = rng_below(rng, total);
        int j = i;
        for (;; j++) {
            int w = cfg->rules[v[j].rule].members[v[j].member].weight;
            uint64_t wj = (uint64_t)(w < 1 ? 1 : w);
            if (x < wj || j == n - 1) {
                total -= wj;
                break;
            }
            x -= wj;
        }
        route_candidate tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
}

/* Appends the available members of trace rule `tr` (not yet candidates) in the rule's mode
 * order. Returns 0, or -1 when out of memory. */
static int router_take_members(router_ctx *cx, const rng_source *rng, route_result *r,
                               const trace_rule *tr)
{
    const config_rule *rule = &cx->cfg->rules[tr->rule];
    const trace_member *tm = &r->trace.members[tr->first_member];
    int start = r->n_candidates;

    if (rule->mode == MODE_ROUND_ROBIN) {
        /* The first available member after the one that took the previous call, wrapping. */
        int first = 0;
        for (int m = 0; m < rule->n_members; m++) {
            if (rule->members[m].agent == rule->rr_last_agent) {
                first = m + 1;
                break;
            }
        }
        for (int k = 0; k < tr->n_members; k++) {
            int m = (first + k) % tr->n_members;
            if (tm[m].verdict == MEMBER_AVAILABLE && router_add_candidate(cx, r, tr->rule, m))
                return -1;
        }
        return 0;
    }
    for (int m = 0; m < tr->n_members; m++)
        if (tm[m].verdict == MEMBER_AVAILABLE && router_add_candidate(cx, r, tr->rule, m))
            return -1;
    if (rule->mode == MODE_WEIGHTED)
        router_sort_weighted(cx->cfg, rng, r->candidates + start, r->n_candidates - start);
    else
        router_sort_priority(cx->cfg, r->candidates + start, r->n_candidates - start);
    return 0;
}

/* Records the members of a matching rule with their verdicts. Returns 0 or -1 (no memory). */
static int router_eval_members(const router_ctx *cx, route_trace *t, trace_rule *tr)
{
    const config_rule *rule = &cx->cfg->rules[tr->rule];
    tr->first_member = t->n_members;
    for (int m = 0; m < rule->n_members; m++) {
        if (router_reserve((void **)&t->members, t->n_members, &t->cap_members,
                           sizeof(trace_member)))
            return -1;
        int agent = rule->members[m].agent;
        trace_member *tm = &t->members[t->n_members++];
        tm->agent = agent;
        tm->member = m;
        tm->verdict = router_check_agent(cx, agent);
        tm->active_calls = cx->cfg->agents[agent].active_calls;
        tm->max_concurrent = cx->cfg->agents[agent].max_concurrent;
        if (tm->verdict == MEMBER_AVAILABLE)
            tr->n_available++;
    }
    tr->n_members = rule->n_members;
    return 0;
}

/* Index of the first rule of `campaign` in the sorted rules, or n_rules when it has none. */
static int router_first_rule(const config *cfg, int campaign)
{
    int lo = 0, hi = cfg->n_rules;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cfg->rules[mid].campaign < campaign)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* SPEC 3.2: the caller's state from the caller ID's area code. */
static void router_caller_state(router_ctx *cx, const router_call *call, route_trace *t)
{
    phone_normalize(call->from, &t->from);
    if (t->from.status != PHONE_OK)
        return; /* area stays INVALID; the phone status says why */
    areacode_lookup(t->from.npa, areacode_date_from_ms(cx->now_ms), &t->area);
    if (t->area.reason == AREACODE_STATE && t->area.state) {
        cx->state_bit = states_bit(t->area.state);
        if (cx->state_bit)
            t->caller_state = t->area.state;
    }
}

int router_route(const config *cfg, const router_call *call, int64_t now_ms, const rng_source *rng,
                 route_result *out)
{
    router_ctx cx;
    route_trace *t = &out->trace;

    router_reset(out);
    cx.cfg = cfg;
    cx.now_ms = now_ms;
    cx.call = call;
    cx.state_bit = 0;
    cx.category_bit = 0;
    cx.use_seen = false;

    phone_normalize(call->to, &t->to);
    router_caller_state(&cx, call, t);
    if (call->category && call->category[0])
        router_set_category(t, call->category, CATEGORY_FROM_CALL);

    if (t->to.status == PHONE_OK || t->to.status == PHONE_NOT_NANP)
        t->number = config_find_number(cfg, t->to.e164);
    if (t->number < 0) {
        out->action = ROUTE_REJECT;
        return 0;
    }
    const config_number *num = &cfg->numbers[t->number];
    t->campaign = num->campaign;

    /* SPEC 3.1: the call's own category, then the tracking number's, then the campaign's. */
    if (t->category_from != CATEGORY_FROM_CALL) {
        if (num->category[0])
            router_set_category(t, num->category, CATEGORY_FROM_NUMBER);
        else if (cfg->campaigns[num->campaign].default_category[0])
            router_set_category(t, cfg->campaigns[num->campaign].default_category,
                                CATEGORY_FROM_CAMPAIGN);
    }
    if (t->category_from == CATEGORY_FROM_CALL)
        cx.category_bit = config_category_lookup(cfg, call->category);
    else if (t->category_from != CATEGORY_NONE)
        cx.category_bit = config_category_lookup(cfg, t->category);

    router_resolve_tried(&cx);
    if (cfg->n_agents <= ROUTER_SEEN_BITS) {
        cx.use_seen = true;
        memset(cx.seen, 0, ((size_t)cfg->n_agents + 63) / 64 * sizeof(uint64_t));
    }

    for (int i = router_first_rule(cfg, t->campaign);
         i < cfg->n_rules && cfg->rules[i].campaign == t->campaign; i++) {
        if (router_reserve((void **)&t->rules, t->n_rules, &t->cap_rules, sizeof(trace_rule)))
            return -1;
        trace_rule *tr = &t->rules[t->n_rules++];
        tr->rule = i;
        tr->first_member = t->n_members;
        tr->n_members = 0;
        tr->n_available = 0;
        tr->verdict = router_check_rule(&cx, &cfg->rules[i]);
        if (tr->verdict != RULE_DECIDED)
            continue;
        if (router_eval_members(&cx, t, tr))
            return -1;
        if (tr->n_available == 0) {
            tr->verdict = RULE_NO_AVAILABLE;
            continue;
        }
        if (t->decided_rule < 0) {
            t->decided_rule = i;
            t->mode = cfg->rules[i].mode;
        } else {
            tr->verdict = RULE_OVERFLOW;
        }
        if (router_take_members(&cx, rng, out, tr))
            return -1;
    }

    if (out->n_candidates > 0) {
        out->action = ROUTE_CONNECT;
        t->pick = out->candidates[0].agent;
    } else {
        out->action = ROUTE_NO_AGENT;
    }
    return 0;
}
