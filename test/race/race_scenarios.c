/* race_scenarios.c -- the concurrency scenarios shared by the unit tests and the
 * ThreadSanitizer driver (race_scenarios.h). */
#include "race_scenarios.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/config_json.h"
#include "server/route_writer.h"
#include "service/callflow.h"
#include "store/store.h"
#include "unit/claim_sampler.h"

/* Records the first failure in r; always returns false (for `return race_fail(...)`). */
__attribute__((format(printf, 2, 3))) static bool race_fail(race_result *r, const char *fmt, ...)
{
    if (r->error[0])
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return false;
}

/* A check of a scenario: records the failure and jumps to the scenario's `out` label. */
#define RACE_CHECK(r, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            race_fail(r, __VA_ARGS__);                                                             \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Starts a claim sampler on `path` in a thread of its own (*thread), pausing pause_us between
 * samples. Returns true when it runs; stop it with race_sampler_stop(). */
static bool race_sampler_start(claim_sampler *s, const char *path, long pause_us, pthread_t *thread)
{
    claim_sampler_init(s, path, pause_us);
    return pthread_create(thread, NULL, claim_sampler_run, s) == 0;
}

/* Stops and joins the sampler thread when *running, then clears *running (so the main path
 * and the cleanup path can both call it). */
static void race_sampler_stop(claim_sampler *s, pthread_t *thread, bool *running)
{
    if (!*running)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(*thread, NULL);
    *running = false;
}

bool race_temp_make(const char *name, char *dir, size_t dir_cap, char *path, size_t path_cap)
{
    const char *base = "/tmp";
    const char *env = getenv("TMPDIR");
    if (env && env[0] && strlen(env) < 40)
        base = env;
    else if (access("/dev/shm", W_OK | X_OK) == 0)
        base = "/dev/shm";
    snprintf(dir, dir_cap, "%s/sc_%s_XXXXXX", base, name);
    if (!mkdtemp(dir))
        return false;
    snprintf(path, path_cap, "%s/test.db", dir);
    return true;
}

void race_temp_remove(const char *dir, const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char file[300];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
}

/* Opens the database at `path`, stores the configuration `json` and registers every agent
 * for an hour after RACE_NOW. Returns the store, or NULL with r->error set. */
static store *race_prepare(const char *path, const char *json, race_result *r)
{
    store *st = NULL;
    config *cfg = NULL;
    config_json_error jerr;
    char err[STORE_ERR_MAX] = "";
    int rc = store_open(path, &st, err, sizeof err);
    if (rc < 0) {
        race_fail(r, "store_open: %s", err);
        return NULL;
    }
    if (config_json_parse(json, strlen(json), &cfg, &jerr) != ERR_OK) {
        race_fail(r, "configuration: %s: %s", jerr.path, jerr.message);
        goto out_close;
    }
    if ((rc = store_config_replace(st, cfg, err, sizeof err)) < 0) {
        race_fail(r, "store_config_replace: %s", err);
        goto out_free;
    }
    for (int i = 0; i < cfg->n_agents; i++)
        if ((rc = store_agent_register(st, cfg->agents[i].id, RACE_NOW + 3600 * 1000LL)) < 0) {
            race_fail(r, "store_agent_register: %d", rc);
            goto out_free;
        }
    config_free(cfg);
    return st;
out_free:
    config_free(cfg);
out_close:
    store_close(st);
    return NULL;
}

static bool race_is_pg(const char *path)
{
    return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

/* Runs a query on a connection of its own to the database (a SQLite file or a PostgreSQL URL,
 * as the store takes) and copies the first column of up to `max` rows into rows ("" for
 * NULL). Returns the number of rows copied, or -1 on an error. */
static int race_sql_rows(const char *path, const char *sql, char (*rows)[STORE_CALL_ID_MAX],
                         int max)
{
    int n = 0;
    if (race_is_pg(path)) {
        PGconn *c = PQconnectdb(path);
        PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
        if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
            n = -1;
        for (int i = 0; n >= 0 && i < PQntuples(res) && n < max; i++)
            snprintf(rows[n++], STORE_CALL_ID_MAX, "%s", PQgetvalue(res, i, 0));
        PQclear(res);
        PQfinish(c);
        return n;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        n = -1;
    while (n >= 0 && n < max && sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(q, 0);
        snprintf(rows[n++], STORE_CALL_ID_MAX, "%s", v ? (const char *)v : "");
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* One integer from a query (NULL counts as 0); -999 when there is no row or an error. */
static long long race_sql_int(const char *path, const char *sql)
{
    char row[1][STORE_CALL_ID_MAX];
    return race_sql_rows(path, sql, row, 1) == 1 ? strtoll(row[0], NULL, 10) : -999;
}

/* ---- many connections claiming directly ------------------------------------------------ */

#define CC_THREADS 8
#define CC_MAX_SECONDS 240 /* a safety stop for a hung run, never reached when correct */
#define CC_MAX_OPEN 2      /* open calls one thread holds before it must end one */
#define CC_AGENTS 4

typedef struct {
    const char *path;
    int index;
    int claims_total;
    atomic_int *total_claims; /* won by all threads: each works until the total is reached, so
                               * a thread the scheduler starves cannot make the run fall short */
    int claims;               /* won claims */
    int lost;                 /* claims refused: agent at capacity (or a lost race) */
    int ends;                 /* calls this thread ended (each released exactly one claim) */
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
    int won = store_claim(st, agent, RACE_NOW);
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
    call.created_ms = RACE_NOW;
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
    int rc = callflow_route(st, &call, NULL, RACE_NOW, rng, false, o);
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
    int rc = store_open(w->path, &st, err, sizeof err);
    if (rc < 0) {
        cc_fail(w, err, rc);
        goto out_free_outcome;
    }
    time_t deadline = time(NULL) + CC_MAX_SECONDS;
    for (int attempt = 0; atomic_load(w->total_claims) < w->claims_total; attempt++) {
        if ((attempt & 255) == 0 && time(NULL) > deadline) {
            cc_fail(w, "safety stop: the run took too long", ERR_CONFLICT);
            break;
        }
        /* End one of this thread's own calls at random (always when it holds the most). */
        if (n_open == CC_MAX_OPEN || (n_open > 0 && rng_below(&rng, 2) == 0)) {
            int k = (int)rng_below(&rng, (uint64_t)n_open);
            rc = store_call_end(st, open[k], CALL_COMPLETED, RACE_NOW + attempt);
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
            atomic_fetch_add(w->total_claims, 1);
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

bool race_store_claims(const char *db_path, int claims_total, race_result *r)
{
    static const char cfg_json[] =
        "{\"agents\": ["
        "{\"id\": \"a1\", \"name\": \"a1\", \"max_concurrent\": 3},"
        "{\"id\": \"a2\", \"name\": \"a2\", \"max_concurrent\": 3},"
        "{\"id\": \"a3\", \"name\": \"a3\", \"max_concurrent\": 3},"
        "{\"id\": \"a4\", \"name\": \"a4\", \"max_concurrent\": 3}],"
        "\"campaigns\": [{\"id\": \"sales\", \"name\": \"sales\","
        " \"tracking_numbers\": [{\"number\": \"+18005550100\"}],"
        " \"rules\": [{\"id\": \"all\", \"name\": \"all\", \"mode\": \"round_robin\","
        " \"members\": [{\"agent\": \"a1\"}, {\"agent\": \"a2\"}, {\"agent\": \"a3\"},"
        " {\"agent\": \"a4\"}]}]}]}";
    cc_worker workers[CC_THREADS];
    pthread_t threads[CC_THREADS], sampler_thread;
    claim_sampler sampler;
    atomic_int total_claims;
    int started = 0, claims = 0, ends = 0, lost = 0;
    bool sampling = false;
    memset(r, 0, sizeof *r);
    store *st = race_prepare(db_path, cfg_json, r);
    if (!st)
        return false;
    atomic_init(&total_claims, 0);
    sampling = race_sampler_start(&sampler, db_path, 200, &sampler_thread);
    RACE_CHECK(r, sampling, "pthread_create");
    for (; started < CC_THREADS; started++) {
        memset(&workers[started], 0, sizeof workers[started]);
        workers[started].path = db_path;
        workers[started].index = started;
        workers[started].claims_total = claims_total;
        workers[started].total_claims = &total_claims;
        RACE_CHECK(r, pthread_create(&threads[started], NULL, cc_work, &workers[started]) == 0,
                   "pthread_create");
    }
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        claims += workers[i].claims;
        ends += workers[i].ends;
        lost += workers[i].lost;
    }
    started = 0;
    race_sampler_stop(&sampler, &sampler_thread, &sampling);
    snprintf(r->info, sizeof r->info, "%d claims won, %d refused, %d ended, %ld samples", claims,
             lost, ends, sampler.samples);

    for (int i = 0; i < CC_THREADS; i++)
        RACE_CHECK(r, workers[i].errors == 0, "%s", workers[i].error);
    RACE_CHECK(r, claims >= claims_total, "claims: %d of %d", claims, claims_total);
    RACE_CHECK(r, lost > 0, "capacity was never reached: the test did not contend");
    RACE_CHECK(r, sampler.violations == 0, "%s", sampler.violation);
    /* About one sample per 20 claims (500 for the unit test's 10,400). */
    RACE_CHECK(r, sampler.samples >= claims_total / 21, "only %ld samples", sampler.samples);

    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM calls WHERE agent <> ''") == claims,
               "calls with an agent differ from the claims won");
    RACE_CHECK(
        r, race_sql_int(db_path, "SELECT count(*) FROM calls WHERE status = 'completed'") == ends,
        "completed calls differ from the ends");
    RACE_CHECK(r,
               race_sql_int(db_path, "SELECT count(*) FROM agents a WHERE a.active_calls <>"
                                     " (SELECT count(*) FROM calls c WHERE c.agent = a.id"
                                     "  AND c.holds_claim = 1)") == 0,
               "an agent's count differs from the claims its calls hold");
    RACE_CHECK(r, race_sql_int(db_path, "SELECT sum(active_calls) FROM agents") == claims - ends,
               "the counts do not add up to the calls still open");
    RACE_CHECK(r, store_reconcile_counts(st) == 0, "a count drifted");

    /* End everything still open: every count returns to zero. */
    char ids[CC_THREADS * CC_MAX_OPEN][STORE_CALL_ID_MAX];
    int open = 0;
    open = race_sql_rows(db_path, "SELECT id FROM calls WHERE holds_claim = 1", ids,
                         CC_THREADS * CC_MAX_OPEN);
    RACE_CHECK(r, open >= 0, "select open calls");
    RACE_CHECK(r, open == claims - ends, "%d calls hold a claim, expected %d", open, claims - ends);
    for (int i = 0; i < open; i++)
        RACE_CHECK(r, store_call_end(st, ids[i], CALL_COMPLETED, RACE_NOW) == 1,
                   "ending call %s did not release once", ids[i]);
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM agents WHERE active_calls <> 0") == 0,
               "a count is not back at zero");
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM calls WHERE holds_claim = 1") == 0,
               "a call still holds a claim");
out:
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    race_sampler_stop(&sampler, &sampler_thread, &sampling);
    store_close(st);
    return r->error[0] == '\0';
}

/* ---- many threads through the group-commit writer --------------------------------------- */

#define RW_THREADS 16
#define RW_MAX_OPEN 2
#define RW_QUEUE 8 /* smaller than the threads: the busy answer is exercised too */

typedef struct {
    route_writer *writer;
    int index;
    int routes;   /* routes to answer */
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

/* How an odd-numbered worker waits for a submitted job (route_writer_submit): as the server
 * does, it is told by the writer's callback instead of blocking inside the writer. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls; /* callbacks received (exactly one per accepted job) */
} rw_waiter;

static void rw_done(void *arg)
{
    rw_waiter *wt = arg;
    pthread_mutex_lock(&wt->lock);
    wt->calls++;
    pthread_cond_signal(&wt->cond);
    pthread_mutex_unlock(&wt->lock);
}

/* Hands `job` over with route_writer_submit and waits for its callback. Returns job->rc;
 * a refused job (busy) must never be called back. */
static int rw_submit_wait(rw_worker *w, route_writer_job *job)
{
    rw_waiter wt = {.calls = 0};
    pthread_mutex_init(&wt.lock, NULL);
    pthread_cond_init(&wt.cond, NULL);
    int rc = route_writer_submit(w->writer, job, rw_done, &wt);
    pthread_mutex_lock(&wt.lock);
    while (rc == ERR_OK && wt.calls == 0)
        pthread_cond_wait(&wt.cond, &wt.lock);
    pthread_mutex_unlock(&wt.lock);
    if (rc != ERR_OK && (rc != ROUTE_WRITER_BUSY || job->rc != ROUTE_WRITER_BUSY))
        rw_fail(w, "submit refused a job without saying busy", rc);
    /* The writer is done with the job once called back; a second call would come soon. */
    struct timespec ts = {0, 20 * 1000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&wt.lock);
    if (wt.calls != (rc == ERR_OK ? 1 : 0))
        rw_fail(w, "a submitted job was not called back exactly once", wt.calls);
    pthread_mutex_unlock(&wt.lock);
    pthread_cond_destroy(&wt.cond);
    pthread_mutex_destroy(&wt.lock);
    return job->rc;
}

/* route_writer_route, or the same through a submitted job on odd-numbered workers. */
static int rw_route(rw_worker *w, const router_call *call, int64_t now_ms, callflow_outcome *o,
                    route_writer_view *view)
{
    if (w->index % 2 == 0)
        return route_writer_route(w->writer, call, NULL, now_ms, o, view);
    route_writer_job *job = route_writer_job_route(call, NULL, now_ms);
    if (!job)
        return ERR_NOMEM;
    int rc = rw_submit_wait(w, job);
    callflow_outcome_free(o);
    *o = job->out; /* handed over */
    callflow_outcome_init(&job->out);
    *view = job->view;
    route_writer_job_free(job);
    return rc;
}

/* route_writer_end, or the same through a submitted job on odd-numbered workers. */
static int rw_end(rw_worker *w, const char *call_id, int64_t now_ms, store_call *row)
{
    if (w->index % 2 == 0)
        return route_writer_end(w->writer, call_id, now_ms, row);
    route_writer_job *job = route_writer_job_end(call_id, now_ms, row != NULL);
    if (!job)
        return ERR_NOMEM;
    int rc = rw_submit_wait(w, job);
    if (row) {
        *row = job->row; /* handed over */
        memset(&job->row, 0, sizeof job->row);
    }
    route_writer_job_free(job);
    return rc;
}

static void *rw_work(void *arg)
{
    rw_worker *w = arg;
    char open[RW_MAX_OPEN][STORE_CALL_ID_MAX];
    int n_open = 0;
    callflow_outcome o;
    route_writer_view view;
    callflow_outcome_init(&o);
    for (int i = 0; w->routed < w->routes && i < w->routes * 100; i++) {
        if (n_open == RW_MAX_OPEN || (n_open > 0 && (i + w->index) % 3 == 0)) {
            store_call row;
            memset(&row, 0, sizeof row);
            int rc = rw_end(w, open[n_open - 1], RACE_NOW + i, &row);
            bool row_ok = strcmp(row.id, open[n_open - 1]) == 0 && row.status == CALL_COMPLETED &&
                          !row.holds_claim && row.ended_ms == RACE_NOW + i;
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
            if ((rc = rw_end(w, open[n_open - 1], RACE_NOW + i, NULL)) != 0 &&
                rc != ROUTE_WRITER_BUSY)
                rw_fail(w, "a repeated end released again", rc);
            n_open--;
            continue;
        }
        char from[32];
        snprintf(from, sizeof from, "+1512555%04d", (w->index * 1000 + i) % 10000);
        router_call call = {"+18005550100", from, NULL, NULL, 0};
        int rc = rw_route(w, &call, RACE_NOW + i, &o, &view);
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
        int rc = rw_end(w, open[n_open - 1], RACE_NOW, NULL);
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

static int rw_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

bool race_route_writer(const char *db_path, int routes_per_thread, race_result *r)
{
    static const char cfg_json[] =
        "{\"agents\": ["
        "{\"id\": \"a1\", \"name\": \"a1\", \"max_concurrent\": 2},"
        "{\"id\": \"a2\", \"name\": \"a2\", \"max_concurrent\": 1},"
        "{\"id\": \"a3\", \"name\": \"a3\", \"max_concurrent\": 2}],"
        "\"campaigns\": [{\"id\": \"sales\", \"name\": \"sales\","
        " \"tracking_numbers\": [{\"number\": \"+18005550100\"}],"
        " \"rules\": [{\"id\": \"all\", \"name\": \"all\", \"mode\": \"round_robin\","
        " \"members\": [{\"agent\": \"a1\"}, {\"agent\": \"a2\"}, {\"agent\": \"a3\"}]}]}]}";
    rw_worker workers[RW_THREADS];
    pthread_t threads[RW_THREADS], sampler_thread;
    claim_sampler sampler;
    route_writer *writer = NULL;
    char(*ids)[STORE_CALL_ID_MAX] = NULL;
    char err[STORE_ERR_MAX] = "";
    int started = 0, routed = 0, connects = 0, ends = 0, busy = 0;
    bool sampling = false;
    memset(r, 0, sizeof *r);
    store *st = race_prepare(db_path, cfg_json, r);
    if (!st)
        return false;
    RACE_CHECK(r, route_writer_open(db_path, RW_QUEUE, &writer, err, sizeof err) == ERR_OK,
               "route_writer_open: %s", err);
    ids = calloc((size_t)(RW_THREADS * routes_per_thread), STORE_CALL_ID_MAX);
    RACE_CHECK(r, ids, "out of memory");
    sampling = race_sampler_start(&sampler, db_path, 500, &sampler_thread);
    RACE_CHECK(r, sampling, "pthread_create");
    for (; started < RW_THREADS; started++) {
        memset(&workers[started], 0, sizeof workers[started]);
        workers[started].writer = writer;
        workers[started].index = started;
        workers[started].routes = routes_per_thread;
        workers[started].ids = ids + started * routes_per_thread;
        RACE_CHECK(r, pthread_create(&threads[started], NULL, rw_work, &workers[started]) == 0,
                   "pthread_create");
    }
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        routed += workers[i].routed;
        connects += workers[i].connects;
        ends += workers[i].ends;
        busy += workers[i].busy;
    }
    started = 0;
    race_sampler_stop(&sampler, &sampler_thread, &sampling);
    route_writer_close(writer);
    writer = NULL;
    snprintf(r->info, sizeof r->info, "%d routed, %d connected, %d ended, %d busy, %ld samples",
             routed, connects, ends, busy, sampler.samples);

    for (int i = 0; i < RW_THREADS; i++)
        RACE_CHECK(r, workers[i].errors == 0, "%s", workers[i].error);
    RACE_CHECK(r, routed == RW_THREADS * routes_per_thread, "routed %d", routed);
    RACE_CHECK(r, connects > 0, "no call connected");
    RACE_CHECK(r, connects < routed, "capacity was never reached: the test did not contend");
    RACE_CHECK(r, ends == connects, "%d ends for %d connected calls", ends, connects);
    RACE_CHECK(r, sampler.violations == 0, "%s", sampler.violation);

    /* Every answered call is one row, and no answer was given twice. */
    qsort(ids, (size_t)routed, STORE_CALL_ID_MAX, rw_cmp_id);
    for (int i = 1; i < routed; i++)
        RACE_CHECK(r, strcmp(ids[i - 1], ids[i]) != 0, "call id %s answered twice", ids[i]);
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM calls") == routed,
               "call rows differ from the routes answered");
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM calls WHERE agent <> ''") == connects,
               "calls with an agent differ from the connects");
    RACE_CHECK(r,
               race_sql_int(db_path, "SELECT count(*) FROM calls WHERE status = 'completed'") ==
                   connects,
               "completed calls differ from the connects");
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM agents WHERE active_calls <> 0") == 0,
               "a count is not back at zero");
    RACE_CHECK(r, race_sql_int(db_path, "SELECT count(*) FROM calls WHERE holds_claim = 1") == 0,
               "a call still holds a claim");
    for (int i = 0; i < routed; i++) {
        store_call c;
        RACE_CHECK(r, store_call_get(st, ids[i], &c) == ERR_OK, "call %s not recorded", ids[i]);
        store_call_clear(&c);
    }
    RACE_CHECK(r, store_reconcile_counts(st) == 0, "a count drifted");
out:
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    race_sampler_stop(&sampler, &sampler_thread, &sampling);
    route_writer_close(writer);
    free(ids);
    store_close(st);
    return r->error[0] == '\0';
}
