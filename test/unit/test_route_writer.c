/* test_route_writer.c -- the daemon's group commit (server/route_writer): many threads route
 * and end calls through one writer against agents with small limits; counts never exceed
 * the limits, every answered call is recorded exactly once, every end releases once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim_sampler.h"
#include "router_fixture.h"
#include "server/route_writer.h"
#include "service/callflow.h"
#include "store/store.h"
#include "temp_db.h"

#define RW_THREADS 16
#define RW_ROUTES_PER_THREAD 250
#define RW_MAX_OPEN 2
#define RW_QUEUE 8 /* smaller than the threads: the busy answer is exercised too */

static temp_db rw_db;
static route_writer *rw_writer;

static const char *const rw_config = "campaign sales\n"
                                     "number +18005550100 sales\n"
                                     "agent a1 max=2\n"
                                     "agent a2 max=1\n"
                                     "agent a3 max=2\n"
                                     "rule all sales mode=round_robin members=a1,a2,a3\n";

typedef struct {
    int index;
    int routed;   /* routes answered ERR_OK (each must be one call row) */
    int connects; /* of which connected (a claim held until ended) */
    int ends;     /* ends that released a claim */
    int busy;     /* requests refused because the queue was full */
    int errors;
    char error[256];
    char (*ids)[STORE_CALL_ID_MAX]; /* every call id this thread was answered */
} rw_worker;

static void rw_fail(rw_worker *w, const char *what, int rc)
{
    if (w->errors++ == 0)
        snprintf(w->error, sizeof w->error, "thread %d: %s: %d", w->index, what, rc);
}

/* The queue was full: nothing was done; wait a little and do the same step again (a busy
 * answer does not count as a step). */
static void rw_busy(rw_worker *w, int *step)
{
    struct timespec ts = {0, 50 * 1000};
    w->busy++;
    (*step)--;
    nanosleep(&ts, NULL);
}

static void *rw_work(void *arg)
{
    rw_worker *w = arg;
    char open[RW_MAX_OPEN][STORE_CALL_ID_MAX];
    int n_open = 0;
    callflow_outcome o;
    route_writer_view view;
    callflow_outcome_init(&o);
    for (int i = 0; w->routed < RW_ROUTES_PER_THREAD && i < RW_ROUTES_PER_THREAD * 100; i++) {
        if (n_open == RW_MAX_OPEN || (n_open > 0 && (i + w->index) % 3 == 0)) {
            store_call row;
            memset(&row, 0, sizeof row);
            int rc = route_writer_end(rw_writer, open[n_open - 1], FX_NOW + i, &row);
            bool row_ok = strcmp(row.id, open[n_open - 1]) == 0 && row.status == CALL_COMPLETED &&
                          !row.holds_claim && row.ended_ms == FX_NOW + i;
            store_call_clear(&row);
            if (rc == ROUTE_WRITER_BUSY) {
                rw_busy(w, &i);
                continue;
            }
            if (rc != 1)
                rw_fail(w, "end did not release exactly once", rc);
            else
                w->ends++;
            if (!row_ok)
                rw_fail(w, "the ended call read back is not as the end left it", rc);
            /* A repeat is harmless and releases nothing. */
            if ((rc = route_writer_end(rw_writer, open[n_open - 1], FX_NOW + i, NULL)) != 0 &&
                rc != ROUTE_WRITER_BUSY)
                rw_fail(w, "a repeated end released again", rc);
            n_open--;
            continue;
        }
        char from[32];
        snprintf(from, sizeof from, "+1512555%04d", (w->index * 1000 + i) % 10000);
        router_call call = {"+18005550100", from, NULL, NULL, 0};
        int rc = route_writer_route(rw_writer, &call, NULL, FX_NOW + i, &o, &view);
        if (rc == ROUTE_WRITER_BUSY) {
            rw_busy(w, &i);
            continue;
        }
        if (rc != ERR_OK) {
            rw_fail(w, "route", rc);
            break;
        }
        memcpy(w->ids[w->routed++], o.call.id, STORE_CALL_ID_MAX);
        if (o.result.action == ROUTE_CONNECT) {
            if (!view.has_agent || strcmp(view.agent_id, o.call.agent) != 0 || !o.call.holds_claim)
                rw_fail(w, "a connect without its agent", 0);
            memcpy(open[n_open++], o.call.id, STORE_CALL_ID_MAX);
            w->connects++;
        } else if (o.result.action != ROUTE_NO_AGENT || !view.has_campaign) {
            rw_fail(w, "unexpected action", (int)o.result.action);
        }
    }
    /* End what is still open, so every count must come back to zero. */
    while (n_open > 0) {
        int rc = route_writer_end(rw_writer, open[n_open - 1], FX_NOW, NULL);
        if (rc == ROUTE_WRITER_BUSY) {
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (rc != 1)
            rw_fail(w, "final end", rc);
        else
            w->ends++;
        n_open--;
    }
    callflow_outcome_free(&o);
    return NULL;
}

/* One integer from a query on a separate connection to the same database (either backend). */
static long long rw_sql_int(const char *sql)
{
    return temp_db_sql_int(&rw_db, sql);
}

static int rw_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

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
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(rw_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    config *cfg = fx_config(rw_config, NULL);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    config_free(cfg);
    cr_assert_eq(route_writer_open(rw_db.path, RW_QUEUE, &rw_writer, err, sizeof err), ERR_OK, "%s",
                 err);

    rw_worker workers[RW_THREADS];
    pthread_t threads[RW_THREADS], sampler_thread;
    claim_sampler sampler;
    claim_sampler_init(&sampler, rw_db.path, 500);
    char(*ids)[STORE_CALL_ID_MAX] = calloc(RW_THREADS * RW_ROUTES_PER_THREAD, STORE_CALL_ID_MAX);
    cr_assert(ids);
    cr_assert_eq(pthread_create(&sampler_thread, NULL, claim_sampler_run, &sampler), 0);
    for (int i = 0; i < RW_THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        workers[i].ids = ids + i * RW_ROUTES_PER_THREAD;
        cr_assert_eq(pthread_create(&threads[i], NULL, rw_work, &workers[i]), 0);
    }
    int routed = 0, connects = 0, ends = 0, busy = 0;
    for (int i = 0; i < RW_THREADS; i++) {
        pthread_join(threads[i], NULL);
        routed += workers[i].routed;
        connects += workers[i].connects;
        ends += workers[i].ends;
        busy += workers[i].busy;
    }
    atomic_store(&sampler.stop, 1);
    pthread_join(sampler_thread, NULL);
    route_writer_close(rw_writer);
    rw_writer = NULL;

    cr_log_info("route_writer: %d routed, %d connected, %d ended, %d busy, %ld samples", routed,
                connects, ends, busy, sampler.samples);
    for (int i = 0; i < RW_THREADS; i++)
        cr_assert_eq(workers[i].errors, 0, "%s", workers[i].error);
    cr_assert_eq(routed, RW_THREADS * RW_ROUTES_PER_THREAD);
    cr_assert_gt(connects, 0);
    cr_assert_lt(connects, routed, "capacity was never reached: the test did not contend");
    cr_assert_eq(ends, connects, "every connected call released exactly once");
    cr_assert_eq(sampler.violations, 0, "%s", sampler.violation);

    /* Every answered call is one row, and no answer was given twice. */
    qsort(ids, (size_t)routed, STORE_CALL_ID_MAX, rw_cmp_id);
    for (int i = 1; i < routed; i++)
        cr_assert_neq(strcmp(ids[i - 1], ids[i]), 0, "call id %s answered twice", ids[i]);
    cr_assert_eq(rw_sql_int("SELECT count(*) FROM calls"), routed);
    cr_assert_eq(rw_sql_int("SELECT count(*) FROM calls WHERE agent <> ''"), connects);
    cr_assert_eq(rw_sql_int("SELECT count(*) FROM calls WHERE status = 'completed'"), connects);
    cr_assert_eq(rw_sql_int("SELECT count(*) FROM agents WHERE active_calls <> 0"), 0);
    cr_assert_eq(rw_sql_int("SELECT count(*) FROM calls WHERE holds_claim = 1"), 0);
    for (int i = 0; i < routed; i++) {
        store_call c;
        cr_assert_eq(store_call_get(st, ids[i], &c), ERR_OK, "call %s not recorded", ids[i]);
        store_call_clear(&c);
    }
    cr_assert_eq(store_reconcile_counts(st), 0, "nothing drifted");
    free(ids);
    store_close(st);
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
