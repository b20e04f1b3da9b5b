/* test_store_concurrency.c -- many connections claiming and releasing agents of capacity 3
 * in one SQLite file at once: no count ever leaves [0, max], none drifts (SPEC 3.5). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim_sampler.h"
#include "router_fixture.h"
#include "service/callflow.h"
#include "store/store.h"
#include "temp_db.h"

#define CC_THREADS 8
#define CC_CLAIMS_TOTAL 10400 /* won claims in all, shared by the threads */
#define CC_MAX_SECONDS 240    /* a safety stop for a hung run, never reached when correct */
#define CC_MAX_OPEN 2         /* open calls one thread holds before it must end one */
#define CC_AGENTS 4

static temp_db cc_db;
/* Claims won by all threads: each works until the total is reached, so a thread that the
 * scheduler starves on a loaded machine cannot make the run fall short. */
static atomic_int cc_total_claims;

static const char *const cc_config = "campaign sales\n"
                                     "number +18005550100 sales\n"
                                     "agent a1 max=3\n"
                                     "agent a2 max=3\n"
                                     "agent a3 max=3\n"
                                     "agent a4 max=3\n"
                                     "rule all sales mode=round_robin members=a1,a2,a3,a4\n";

typedef struct {
    int index;
    int claims; /* won claims */
    int lost;   /* claims refused: agent at capacity (or a lost race) */
    int ends;   /* calls this thread ended (each released exactly one claim) */
    int errors;
    char error[256]; /* the first error */
} cc_worker;

static void cc_fail(cc_worker *w, const char *what, int rc)
{
    if (w->errors++ == 0)
        snprintf(w->error, sizeof w->error, "thread %d: %s: %d (%s)", w->index, what, rc,
                 errors_code(rc));
}

/* One claim by hand: the claim and the call row commit together. Returns 1, 0 or < 0. */
static int cc_claim_direct(store *st, const rng_source *rng, char *id_out)
{
    char agent[16];
    snprintf(agent, sizeof agent, "a%u", (unsigned)rng_below(rng, CC_AGENTS) + 1u);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    int won = store_claim(st, agent, FX_NOW);
    if (won != 1) {
        store_rollback(st);
        return won;
    }
    store_call call;
    memset(&call, 0, sizeof call);
    snprintf(call.campaign, sizeof call.campaign, "sales");
    snprintf(call.agent, sizeof call.agent, "%s", agent);
    call.status = CALL_RINGING;
    call.holds_claim = true;
    call.created_ms = FX_NOW;
    rc = store_call_insert(st, &call);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        return rc;
    }
    memcpy(id_out, call.id, STORE_CALL_ID_MAX);
    return 1;
}

/* One claim through the whole call flow (snapshot, router, claim loop, call row). */
static int cc_claim_flow(store *st, const rng_source *rng, callflow_outcome *o, char *id_out)
{
    char from[32];
    snprintf(from, sizeof from, "+1512555%04u", (unsigned)rng_below(rng, 10000));
    router_call call = {"+18005550100", from, NULL, NULL, 0};
    int rc = callflow_route(st, &call, NULL, FX_NOW, rng, false, o);
    if (rc < 0)
        return rc;
    if (o->result.action != ROUTE_CONNECT)
        return 0;
    memcpy(id_out, o->call.id, STORE_CALL_ID_MAX);
    return 1;
}

static void *cc_work(void *arg)
{
    cc_worker *w = arg;
    char open[CC_MAX_OPEN][STORE_CALL_ID_MAX];
    int n_open = 0;
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 1000 + (uint64_t)w->index);
    callflow_outcome o;
    callflow_outcome_init(&o);
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    int rc = store_open(cc_db.path, &st, err, sizeof err);
    if (rc < 0) {
        cc_fail(w, err, rc);
        goto out_free_outcome;
    }
    time_t deadline = time(NULL) + CC_MAX_SECONDS;
    for (int attempt = 0; atomic_load(&cc_total_claims) < CC_CLAIMS_TOTAL; attempt++) {
        if ((attempt & 255) == 0 && time(NULL) > deadline) {
            cc_fail(w, "safety stop: the run took too long", ERR_CONFLICT);
            break;
        }
        /* End one of this thread's own calls at random (always when it holds the most). */
        if (n_open == CC_MAX_OPEN || (n_open > 0 && rng_below(&rng, 2) == 0)) {
            int k = (int)rng_below(&rng, (uint64_t)n_open);
            rc = store_call_end(st, open[k], CALL_COMPLETED, FX_NOW + attempt);
            if (rc != 1)
                cc_fail(w, "end did not release exactly once", rc);
            else
                w->ends++;
            memcpy(open[k], open[--n_open], STORE_CALL_ID_MAX);
            continue;
        }
        /* Half the threads claim by hand, half through the whole call flow. */
        rc = w->index % 2 ? cc_claim_direct(st, &rng, open[n_open])
                          : cc_claim_flow(st, &rng, &o, open[n_open]);
        if (rc < 0) {
            cc_fail(w, "claim", rc);
            break;
        }
        if (rc == 1) {
            w->claims++;
            atomic_fetch_add(&cc_total_claims, 1);
            n_open++;
        } else {
            w->lost++;
        }
    }
    store_close(st); /* calls still open stay open: the main thread checks and ends them */
out_free_outcome:
    callflow_outcome_free(&o);
    return NULL;
}

static long long cc_sql_int(const char *sql)
{
    return temp_db_sql_int(&cc_db, sql);
}

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
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(cc_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    config *cfg = fx_config(cc_config, NULL);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    config_free(cfg);

    cc_worker workers[CC_THREADS];
    pthread_t threads[CC_THREADS], sampler_thread;
    claim_sampler sampler;
    claim_sampler_init(&sampler, cc_db.path, 200);
    atomic_store(&cc_total_claims, 0);
    cr_assert_eq(pthread_create(&sampler_thread, NULL, claim_sampler_run, &sampler), 0);
    for (int i = 0; i < CC_THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        cr_assert_eq(pthread_create(&threads[i], NULL, cc_work, &workers[i]), 0);
    }
    int claims = 0, ends = 0, lost = 0;
    for (int i = 0; i < CC_THREADS; i++) {
        pthread_join(threads[i], NULL);
        claims += workers[i].claims;
        ends += workers[i].ends;
        lost += workers[i].lost;
    }
    atomic_store(&sampler.stop, 1);
    pthread_join(sampler_thread, NULL);

    cr_log_info("concurrency: %d claims won, %d refused, %d ended, %ld samples", claims, lost, ends,
                sampler.samples);
    for (int i = 0; i < CC_THREADS; i++)
        cr_assert_eq(workers[i].errors, 0, "%s", workers[i].error);
    cr_assert_geq(claims, CC_CLAIMS_TOTAL, "claims: %d", claims);
    cr_assert_gt(lost, 0, "capacity was never reached: the test did not contend");
    cr_assert_eq(sampler.violations, 0, "%s", sampler.violation);
    cr_assert_geq(sampler.samples, 500, "only %ld samples", sampler.samples);

    cr_assert_eq(cc_sql_int("SELECT count(*) FROM calls WHERE agent <> ''"), claims);
    cr_assert_eq(cc_sql_int("SELECT count(*) FROM calls WHERE status = 'completed'"), ends);
    cr_assert_eq(cc_sql_int("SELECT count(*) FROM agents a WHERE a.active_calls <>"
                                " (SELECT count(*) FROM calls c WHERE c.agent = a.id"
                                "  AND c.holds_claim = 1)"),
                 0, "every count equals the claims its calls hold");
    cr_assert_eq(cc_sql_int("SELECT sum(active_calls) FROM agents"), claims - ends);
    cr_assert_eq(store_reconcile_counts(st), 0, "nothing drifted");

    /* End everything still open: every count returns to zero. */
    int open = 0;
    char ids[CC_THREADS * CC_MAX_OPEN][STORE_CALL_ID_MAX];
    while (open < CC_THREADS * CC_MAX_OPEN) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT id FROM calls WHERE holds_claim = 1 AND id > '%s' ORDER BY id LIMIT 1",
                 open ? ids[open - 1] : "");
        temp_db_sql_text(&cc_db, sql, ids[open], STORE_CALL_ID_MAX);
        if (strcmp(ids[open], "(null)") == 0)
            break;
        open++;
    }
    cr_assert_eq(open, claims - ends);
    for (int i = 0; i < open; i++)
        cr_assert_eq(store_call_end(st, ids[i], CALL_COMPLETED, FX_NOW), 1);
    cr_assert_eq(cc_sql_int("SELECT count(*) FROM agents WHERE active_calls <> 0"), 0);
    cr_assert_eq(cc_sql_int("SELECT count(*) FROM calls WHERE holds_claim = 1"), 0);
    store_close(st);
}
