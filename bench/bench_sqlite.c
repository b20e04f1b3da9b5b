/* bench_sqlite.c -- full routes per second on SQLite (snapshot, decision, claim, call row)
 * against the bare conditional claim UPDATE on the same file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/states.h"
#include "service/callflow.h"
#include "store/store.h"

#define BENCH_ROUNDS 5
#define BENCH_ROUTES 20000 /* per round */
#define BENCH_CLAIMS 50000 /* bare claims */
#define BENCH_CAMPAIGNS 3
#define BENCH_AGENTS 36
#define BENCH_TARGET 10000.0 /* routes per second (issue 2) */
#define BENCH_NOW 1772452800000LL

static double bench_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Three campaigns; each has a state rule (priority) and an any-state overflow rule
 * (round robin) over a dozen agents whose limits never run out. */
static config *bench_config(void)
{
    static const char *const states[BENCH_CAMPAIGNS] = {"TX", "FL", "CA"};
    config *cfg = config_new();
    if (!cfg)
        return NULL;
    for (int i = 0; i < BENCH_AGENTS; i++) {
        config_agent a;
        memset(&a, 0, sizeof a);
        snprintf(a.id, sizeof a.id, "agent%02d", i);
        snprintf(a.name, sizeof a.name, "Agent %d", i);
        snprintf(a.softphone_address, sizeof a.softphone_address, "agent%02d", i);
        a.status = AGENT_ACTIVE;
        a.max_concurrent = 1000000000;
        a.registered_until_ms = BENCH_NOW + 86400000LL * 365;
        if (i % 3 == 0)
            a.states = states_bit("TX") | states_bit("FL") | states_bit("CA");
        if (config_add_agent(cfg, &a) < 0)
            goto out_free;
    }
    for (int c = 0; c < BENCH_CAMPAIGNS; c++) {
        config_campaign camp;
        memset(&camp, 0, sizeof camp);
        snprintf(camp.id, sizeof camp.id, "campaign%d", c);
        snprintf(camp.name, sizeof camp.name, "Campaign %d", c);
        snprintf(camp.default_category, sizeof camp.default_category, "medicare");
        camp.ring_timeout_s = 20;
        camp.queue_max_size = 50;
        camp.queue_max_wait_s = 300;
        if (config_add_campaign(cfg, &camp) < 0 || !config_category_bit(cfg, "medicare"))
            goto out_free;
        config_number n;
        memset(&n, 0, sizeof n);
        snprintf(n.number, sizeof n.number, "+1800555010%d", c);
        n.campaign = c;
        if (config_add_number(cfg, &n) < 0)
            goto out_free;
        config_member members[12];
        for (int r = 0; r < 2; r++) {
            config_rule rule;
            memset(&rule, 0, sizeof rule);
            snprintf(rule.id, sizeof rule.id, "c%d-%s", c, r ? "overflow" : "state");
            snprintf(rule.name, sizeof rule.name, "%s", rule.id);
            rule.campaign = c;
            rule.position = r + 1;
            rule.enabled = true;
            rule.states = r ? 0 : states_bit(states[c]);
            rule.mode = r ? MODE_ROUND_ROBIN : MODE_PRIORITY;
            rule.rr_last_agent = -1;
            rule.members = members;
            rule.n_members = 12;
            for (int m = 0; m < 12; m++) {
                members[m].agent = (c * 12 + m + r * 6) % BENCH_AGENTS;
                members[m].priority = 1 + m % 4;
                members[m].weight = 1;
            }
            if (config_add_rule(cfg, &rule) < 0)
                goto out_free;
        }
    }
    config_finish(cfg);
    return cfg;
out_free:
    config_free(cfg);
    return NULL;
}

int main(void)
{
    static const char *const callers[] = {"+15125550100", "+13055550123", "+14155550199",
                                          "+12125550111", "anonymous",    "+17135550142"};
    static const char *const numbers[] = {"+18005550100", "+18005550101", "+18005550102"};
    char dir[256], path[300], err[STORE_ERR_MAX] = "";
    double rates[BENCH_ROUNDS], sorted[BENCH_ROUNDS];
    int status = 1;
    store *st = NULL;
    config *cfg = NULL;
    callflow_outcome o;
    callflow_outcome_init(&o);

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sc_bench_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (store_open(path, &st, err, sizeof err) < 0 || !(cfg = bench_config()) ||
        store_config_replace(st, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bench_sqlite: setup failed: %s\n", err);
        goto out_remove;
    }
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 42);
    printf("SQLite full routes (snapshot + decision + claim + call row with trace), %d agents,"
           " %d campaigns, %d routes per round, file %s\n",
           BENCH_AGENTS, BENCH_CAMPAIGNS, BENCH_ROUTES, path);
    int64_t now = BENCH_NOW;
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        int connects = 0;
        double t0 = bench_seconds();
        for (int i = 0; i < BENCH_ROUTES; i++) {
            router_call call = {numbers[i % 3], callers[i % 6], NULL, NULL, 0};
            if (callflow_route(st, &call, NULL, now++, &rng, false, &o) < 0) {
                fprintf(stderr, "bench_sqlite: route failed\n");
                goto out_remove;
            }
            connects += o.result.action == ROUTE_CONNECT;
        }
        double dt = bench_seconds() - t0;
        rates[round] = BENCH_ROUTES / dt;
        printf("  round %d: %8.0f routes/s (%d of %d connected)\n", round + 1, rates[round],
               connects, BENCH_ROUTES);
    }
    memcpy(sorted, rates, sizeof sorted);
    qsort(sorted, BENCH_ROUNDS, sizeof sorted[0], bench_cmp);
    double median = sorted[BENCH_ROUNDS / 2];
    printf("  median: %.0f routes/s, target >= %.0f: %s\n", median, BENCH_TARGET,
           median >= BENCH_TARGET ? "PASS" : "BELOW");

    /* The bare claim: one conditional UPDATE, its own (implicit) transaction. */
    double t0 = bench_seconds();
    for (int i = 0; i < BENCH_CLAIMS; i++) {
        char id[16];
        snprintf(id, sizeof id, "agent%02d", i % BENCH_AGENTS);
        if (store_claim(st, id, now++) != 1) {
            fprintf(stderr, "bench_sqlite: bare claim failed\n");
            goto out_remove;
        }
    }
    double claims = BENCH_CLAIMS / (bench_seconds() - t0);
    printf("  bare claim UPDATE (autocommit): %.0f claims/s; a full route costs %.1f claims"
           " (routes/claims = %.2f)\n",
           claims, claims / median, median / claims);
    status = 0;

out_remove:
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char file[320];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
    return status;
}
