/* bench_core.c -- routing-core decisions per second: 1,000 agents, 100 rules, one core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_report.h"

#include "core/areacode.h"
#include "core/config.h"
#include "core/router.h"
#include "core/states.h"

#define BENCH_AGENTS 1000
#define BENCH_RULES 100
#define BENCH_MEMBERS 10 /* per rule: 100 x 10 = every agent in one rule */
#define BENCH_CALLS 4096 /* distinct calls cycled through */
#define BENCH_ROUNDS 5
#define BENCH_ROUND_SECONDS 1.5
#define BENCH_TARGET 500000.0
#define BENCH_NOW 1772452800000LL /* 2026-03-02 */

static const char *const bench_categories[] = {"medicare", "aca", "final_expense", "dental"};

typedef struct {
    char to[24], from[24];
    const char *category;
} bench_call;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t bench_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Builds the configuration: `campaigns` campaigns sharing 100 rules equally. In each
 * campaign every rule but the last covers two states (so most callers match deep in the
 * list) and a third of them a category; the last rule catches everything. Agents are mostly
 * available, with paused, unregistered, busy and state-restricted ones mixed in. */
static config *bench_config(int campaigns, uint64_t *seed)
{
    config *cfg = config_new();
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < sizeof(bench_categories) / sizeof(bench_categories[0]); i++)
        config_category_bit(cfg, bench_categories[i]);
    for (int c = 0; c < campaigns; c++) {
        config_campaign camp;
        memset(&camp, 0, sizeof(camp));
        snprintf(camp.id, sizeof(camp.id), "camp%d", c);
        snprintf(camp.name, sizeof(camp.name), "Campaign %d", c);
        snprintf(camp.default_category, sizeof(camp.default_category), "%s",
                 bench_categories[c % 4]);
        camp.ring_timeout_s = 20;
        config_add_campaign(cfg, &camp);
        for (int n = 0; n < 2; n++) {
            config_number num;
            memset(&num, 0, sizeof(num));
            snprintf(num.number, sizeof(num.number), "+1800555%02d%02d", c, n);
            num.campaign = c;
            if (n == 1)
                snprintf(num.category, sizeof(num.category), "%s", bench_categories[(c + 1) % 4]);
            config_add_number(cfg, &num);
        }
    }
    for (int i = 0; i < BENCH_AGENTS; i++) {
        config_agent a;
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "agent%04d", i);
        snprintf(a.name, sizeof(a.name), "Agent %d", i);
        a.status = AGENT_ACTIVE;
        a.max_concurrent = 1 + (int)(bench_rand(seed) % 3);
        a.active_calls = (int)(bench_rand(seed) % (uint64_t)(a.max_concurrent + 1));
        a.registered_until_ms = BENCH_NOW + 3600000;
        a.last_assigned_ms = BENCH_NOW - (int64_t)(bench_rand(seed) % 3600000);
        uint64_t r = bench_rand(seed) % 100;
        if (r < 8)
            a.status = AGENT_PAUSED;
        else if (r < 10)
            a.status = AGENT_DEACTIVATED;
        else if (r < 15)
            a.registered_until_ms = BENCH_NOW - 1000;
        if (bench_rand(seed) % 4 == 0) /* a quarter licensed in a handful of states */
            for (int k = 0; k < 8; k++)
                a.states |= (uint64_t)1 << (bench_rand(seed) % STATES_COUNT);
        if (bench_rand(seed) % 5 == 0)
            a.categories = config_category_lookup(cfg, bench_categories[bench_rand(seed) % 4]);
        config_add_agent(cfg, &a);
    }
    int per = BENCH_RULES / campaigns;
    for (int i = 0; i < BENCH_RULES; i++) {
        config_rule rule;
        config_member members[BENCH_MEMBERS];
        memset(&rule, 0, sizeof(rule));
        int c = i / per, pos = i % per;
        snprintf(rule.id, sizeof(rule.id), "rule%03d", i);
        snprintf(rule.name, sizeof(rule.name), "Rule %d", i);
        rule.campaign = c;
        rule.position = pos + 1;
        rule.enabled = i % 17 != 5;
        rule.mode = (dist_mode)(i % 3);
        rule.rr_last_agent = -1;
        if (pos != per - 1) {
            rule.states = ((uint64_t)1 << ((i * 2) % STATES_COUNT)) |
                          ((uint64_t)1 << ((i * 2 + 1) % STATES_COUNT));
            if (i % 3 == 0)
                rule.categories = config_category_lookup(cfg, bench_categories[i % 4]);
        }
        for (int m = 0; m < BENCH_MEMBERS; m++) {
            members[m].agent = i * BENCH_MEMBERS + m;
            members[m].priority = 1 + m % 3;
            members[m].weight = 1 + m;
        }
        rule.members = members;
        rule.n_members = BENCH_MEMBERS;
        if (rule.mode == MODE_ROUND_ROBIN)
            rule.rr_last_agent = members[3].agent;
        config_add_rule(cfg, &rule);
    }
    config_finish(cfg);
    return cfg;
}

/* A mix of callers: mostly US numbers across all states, some Canadian, toll-free,
 * anonymous and international; a few unknown tracking numbers; some IVR categories. */
static void bench_calls(bench_call *calls, int campaigns, uint64_t *seed)
{
    int us_npas[800], n_us = 0;
    for (int npa = 201; npa <= 999 && n_us < 800; npa++) {
        char code[4];
        areacode_info info;
        snprintf(code, sizeof(code), "%d", npa);
        if (areacode_lookup(code, 20260302, &info) == AREACODE_STATE)
            us_npas[n_us++] = npa;
    }
    for (int i = 0; i < BENCH_CALLS; i++) {
        bench_call *c = &calls[i];
        uint64_t r = bench_rand(seed) % 100;
        int camp = (int)(bench_rand(seed) % (uint64_t)campaigns);
        snprintf(c->to, sizeof(c->to), "+1800555%02d%02d", camp, (int)(bench_rand(seed) % 2));
        int line = (int)(bench_rand(seed) % 10000);
        if (r < 80 && n_us > 0)
            snprintf(c->from, sizeof(c->from), "+1%d555%04d",
                     us_npas[bench_rand(seed) % (uint64_t)n_us], line);
        else if (r < 85)
            snprintf(c->from, sizeof(c->from), "(416) 555-%04d", line);
        else if (r < 89)
            snprintf(c->from, sizeof(c->from), "1-800-555-%04d", line);
        else if (r < 94)
            snprintf(c->from, sizeof(c->from), "anonymous");
        else if (r < 97)
            snprintf(c->from, sizeof(c->from), "+4420712%05d", line);
        else
            snprintf(c->from, sizeof(c->from), "+1512555%04d", line);
        if (r >= 97)
            snprintf(c->to, sizeof(c->to), "+18005559%03d",
                     line % 1000); /* not a tracking number */
        c->category = bench_rand(seed) % 10 < 3 ? bench_categories[bench_rand(seed) % 4] : NULL;
    }
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs `n` decisions; returns the number of connects (so the work cannot be optimised out),
 * or -1 on failure. */
static long bench_run(const config *cfg, const bench_call *calls, long n, const rng_source *rng,
                      route_result *res)
{
    long connects = 0;
    for (long i = 0; i < n; i++) {
        const bench_call *c = &calls[i % BENCH_CALLS];
        router_call call = {c->to, c->from, c->category, NULL, 0};
        if (router_route(cfg, &call, BENCH_NOW, rng, res) != 0)
            return -1;
        connects += res->action == ROUTE_CONNECT;
    }
    return connects;
}

static int bench_layout(int campaigns)
{
    uint64_t seed = 42;
    config *cfg = bench_config(campaigns, &seed);
    bench_call *calls = malloc(sizeof(bench_call) * BENCH_CALLS);
    if (!cfg || !calls) {
        fprintf(stderr, "bench_core: out of memory\n");
        config_free(cfg);
        free(calls);
        return 1;
    }
    bench_calls(calls, campaigns, &seed);
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 7);
    route_result res;
    route_result_init(&res);

    /* Warm up and size a round to about BENCH_ROUND_SECONDS. */
    double t0 = bench_now();
    long warm = 200000;
    long connects = bench_run(cfg, calls, warm, &rng, &res);
    double rate = (double)warm / (bench_now() - t0);
    long per_round = (long)(rate * BENCH_ROUND_SECONDS);
    if (per_round < 100000)
        per_round = 100000;

    printf("layout: %d agents, %d rules (%d campaign%s x %d rules), %d distinct calls; "
           "connect %.0f%% of calls\n",
           cfg->n_agents, cfg->n_rules, campaigns, campaigns > 1 ? "s" : "",
           BENCH_RULES / campaigns, BENCH_CALLS, 100.0 * (double)connects / (double)warm);
    double rates[BENCH_ROUNDS];
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        t0 = bench_now();
        if (bench_run(cfg, calls, per_round, &rng, &res) < 0) {
            fprintf(stderr, "bench_core: routing failed\n");
            break;
        }
        double dt = bench_now() - t0;
        rates[round] = (double)per_round / dt;
        printf("  round %d: %ld decisions in %.3f s = %.0f decisions/s\n", round + 1, per_round, dt,
               rates[round]);
    }
    qsort(rates, BENCH_ROUNDS, sizeof(double), bench_cmp_double);
    double median = rates[BENCH_ROUNDS / 2];
    printf("  median: %.0f decisions/s (%.2f us/decision); target >= %.0f/s: %s\n", median,
           1e6 / median, BENCH_TARGET, median >= BENCH_TARGET ? "PASS" : "BELOW");
    char figure[64];
    snprintf(figure, sizeof figure, "decisions/s, %d campaign%s", campaigns, campaigns > 1 ? "s" : "");
    bench_report("core", figure, median, 0, "decisions/s", ">= 500,000",
                 median >= BENCH_TARGET ? "PASS" : "BELOW");
    route_result_free(&res);
    free(calls);
    config_free(cfg);
    return 0;
}

int main(void)
{
    printf("bench_core: routing-core decisions per second (one core)\n");
    if (bench_layout(1) != 0)
        return 1;
    if (bench_layout(10) != 0)
        return 1;
    return 0;
}
