/* route_writer.c -- group commit: one writer thread turns the routes and ends that request
 * threads queue into few transactions, and wakes each waiter with its own outcome; a
 * checkpoint thread copies the write-ahead log back into the database beside it, so the
 * writer never stops for the file syncs of a checkpoint. */
#include "route_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "../core/rng.h"
#include "../store/store.h"

/* How often the checkpoint thread copies the log back while the writer commits. Small and
 * frequent checkpoints keep each file sync short, which keeps it from stalling the writer's
 * own log writes on the file system (on the benchmark's disk, syncing 100 ms of log at a
 * time put 10-15 ms into the p99 of a route; 10 ms of log, 1.5-5 ms; 3 ms, 0.9-1.8 ms at
 * 1,000 calls/s, with no loss of throughput). */
#define RW_CHECKPOINT_MS 3
/* The writer's own checkpoints are a backstop for when the checkpoint thread cannot keep up
 * (about 64 MB of log with 4 KiB pages). */
#define RW_WRITER_AUTOCHECKPOINT 16000

enum { RW_ROUTE, RW_END };

struct route_writer {
    store *st; /* the writer thread's own connection */
    rng_splitmix gen;
    rng_source rng;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more;      /* the queue is not empty, or stop */
    route_writer_job **queue; /* ring of queue_max */
    int queue_max, head, count;
    bool stop;
    unsigned long batches;  /* batches committed (the checkpoint thread idles when unchanged) */
    unsigned long requests; /* requests in those batches */
    store *ck;              /* the checkpoint thread's connection */
    pthread_t ck_thread;
    pthread_cond_t ck_wake; /* stop */
};

static void rw_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void route_writer_view_fill(const config *cfg, const callflow_outcome *out, route_writer_view *view)
{
    memset(view, 0, sizeof *view);
    if (!cfg || !out)
        return;
    if (out->agent >= 0 && out->call.agent[0]) {
        int a = config_find_agent(cfg, out->call.agent);
        if (a >= 0) {
            const config_agent *ag = &cfg->agents[a];
            view->has_agent = true;
            rw_copy(view->agent_id, sizeof view->agent_id, ag->id);
            rw_copy(view->agent_name, sizeof view->agent_name, ag->name);
            rw_copy(view->softphone_type, sizeof view->softphone_type,
                    config_softphone_name(ag->softphone));
            rw_copy(view->softphone_address, sizeof view->softphone_address, ag->softphone_address);
        }
    }
    int c = out->call.campaign[0] ? config_find_campaign(cfg, out->call.campaign) : -1;
    if (c >= 0) {
        view->has_campaign = true;
        rw_copy(view->friendly_message, sizeof view->friendly_message,
                cfg->campaigns[c].friendly_message);
    }
}

/* Hands each end its result after the batch's transaction (committed when rc is ERR_OK);
 * when it failed, each end is tried on its own so one bad end cannot fail the others. */
static void rw_finish_ends(route_writer *w, route_writer_job **reqs, int n, int rc,
                           const int *results, store_call *rows)
{
    for (int i = 0; i < n; i++) {
        route_writer_job *r = reqs[i];
        if (rc == ERR_OK) {
            r->rc = results[i];
            if (r->want_row && r->rc >= 0) {
                r->row = rows[i]; /* handed over: the job's owner clears it */
                memset(&rows[i], 0, sizeof rows[i]);
            }
        } else {
            r->rc = store_call_end(w->st, r->call_id, CALL_COMPLETED, r->now_ms);
            if (r->rc >= 0 && r->want_row && store_call_get(w->st, r->call_id, &r->row) < 0)
                store_call_clear(&r->row); /* the owner reads it again */
        }
        store_call_clear(&rows[i]);
    }
}

/* Hands each route its outcome after the batch's transaction (committed when rc is ERR_OK);
 * when it failed, each call is routed on its own. Then copies what the replies need (names,
 * softphones, messages) from `cfg`, the batch's snapshot (NULL: one is loaded). Frees cfg. */
static void rw_finish_routes(route_writer *w, route_writer_job **reqs, int n, int rc,
                             callflow_outcome *outs, config *cfg)
{
    for (int i = 0; i < n; i++) {
        callflow_outcome *o = &reqs[i]->out;
        if (rc == ERR_OK) {
            /* Hand the outcome over: the job takes what outs[i] owns. */
            callflow_outcome_free(o);
            *o = outs[i];
            callflow_outcome_init(&outs[i]);
            reqs[i]->rc = ERR_OK;
        } else {
            reqs[i]->rc = callflow_route(w->st, &reqs[i]->call, reqs[i]->external_id,
                                         reqs[i]->now_ms, &w->rng, false, o);
            /* Keep the outcome's shape the same as a batch's: no snapshot. */
            if (reqs[i]->rc == ERR_OK && !cfg) {
                cfg = o->cfg;
                o->cfg = NULL;
            } else if (o->cfg) {
                config_free(o->cfg);
                o->cfg = NULL;
            }
        }
        callflow_outcome_free(&outs[i]);
    }
    if (n > 0 && !cfg && store_config_load(w->st, &cfg, NULL, 0) < 0)
        cfg = NULL;
    for (int i = 0; i < n; i++)
        if (reqs[i]->rc == ERR_OK)
            route_writer_view_fill(cfg, &reqs[i]->out, &reqs[i]->view);
    config_free(cfg);
}

/* Ends and routes the batch's requests in ONE transaction, ends first (the capacity they
 * free is there for the routes of the same batch), reading each ended call back and keeping
 * the routes' snapshot for the replies; then hands each waiter its own outcome. */
static void rw_run_batch(route_writer *w, route_writer_job **ends, int n_ends,
                         route_writer_job **routes, int n_routes)
{
    const char *ids[ROUTE_WRITER_BATCH_MAX];
    int64_t now[ROUTE_WRITER_BATCH_MAX];
    int results[ROUTE_WRITER_BATCH_MAX];
    store_call rows[ROUTE_WRITER_BATCH_MAX];
    callflow_request creq[ROUTE_WRITER_BATCH_MAX];
    callflow_outcome outs[ROUTE_WRITER_BATCH_MAX];
    config *cfg = NULL;
    memset(rows, 0, (size_t)n_ends * sizeof rows[0]); /* only the rows used: 64 are ~100 KB */
    for (int i = 0; i < n_ends; i++) {
        ids[i] = ends[i]->call_id;
        now[i] = ends[i]->now_ms;
    }
    for (int i = 0; i < n_routes; i++) {
        creq[i] = (callflow_request){routes[i]->call, routes[i]->external_id, routes[i]->now_ms};
        callflow_outcome_init(&outs[i]);
    }
    int rc = store_begin(w->st);
    if (rc == ERR_OK)
        rc = store_call_end_many(w->st, ids, now, n_ends, results, rows);
    if (rc == ERR_OK && n_routes > 0)
        rc = callflow_route_batch_locked(w->st, creq, n_routes, &w->rng, outs, &cfg);
    if (rc == ERR_OK)
        rc = store_commit(w->st);
    if (rc < 0) {
        store_rollback(w->st);
        config_free(cfg);
        cfg = NULL;
    }
    rw_finish_ends(w, ends, n_ends, rc, results, rows);
    rw_finish_routes(w, routes, n_routes, rc, outs, cfg);
}

/* Microseconds on the monotonic clock. */
static int64_t rw_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *rw_main(void *arg)
{
    route_writer *w = arg;
    route_writer_job *batch[ROUTE_WRITER_BATCH_MAX], *ends[ROUTE_WRITER_BATCH_MAX],
        *routes[ROUTE_WRITER_BATCH_MAX];
    route_writer_done_fn fns[ROUTE_WRITER_BATCH_MAX];
    void *args[ROUTE_WRITER_BATCH_MAX];
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->count == 0 && !w->stop)
            pthread_cond_wait(&w->more, &w->lock);
        if (w->count == 0)
            break; /* stopping, and nothing left */
        int n = 0;
        while (w->count > 0 && n < ROUTE_WRITER_BATCH_MAX) {
            batch[n++] = w->queue[w->head];
            w->head = (w->head + 1) % w->queue_max;
            w->count--;
        }
        pthread_mutex_unlock(&w->lock);
        int n_ends = 0, n_routes = 0;
        for (int i = 0; i < n; i++) {
            if (batch[i]->kind == RW_END)
                ends[n_ends++] = batch[i];
            else
                routes[n_routes++] = batch[i];
        }
        rw_run_batch(w, ends, n_ends, routes, n_routes);
        int64_t now_us = rw_mono_us(), n_fns = 0;
        pthread_mutex_lock(&w->lock);
        /* Wake only this batch's waiters, each on its own condition variable (a broadcast
         * to everyone waiting would also wake the requests of the next batch for nothing).
         * The callbacks of submitted jobs run after the lock is released; a blocking
         * waiter's job may be gone as soon as it is, so what they need is copied first. */
        for (int i = 0; i < n; i++) {
            batch[i]->us = (long long)(now_us - batch[i]->t_submit_us);
            batch[i]->done = true;
            if (batch[i]->done_fn) {
                fns[n_fns] = batch[i]->done_fn;
                args[n_fns++] = batch[i]->done_arg;
            } else {
                pthread_cond_signal(&batch[i]->wake);
            }
        }
        w->batches++;
        w->requests += (unsigned long)n;
        pthread_mutex_unlock(&w->lock);
        for (int64_t i = 0; i < n_fns; i++)
            fns[i](args[i]);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Checkpoints every RW_CHECKPOINT_MS until stopped. A passive checkpoint neither waits for
 * nor blocks the writer; the syncs it does happen here, not in a commit. */
static void *rw_checkpoint_main(void *arg)
{
    route_writer *w = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += RW_CHECKPOINT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->ck_wake, &w->lock, &until);
        if (w->stop)
            break;
        if (w->batches == seen)
            continue; /* nothing new from the writer */
        seen = w->batches;
        pthread_mutex_unlock(&w->lock);
        store_checkpoint(w->ck); /* a failure is retried next time; the writer's backstop
                                    checkpoints keep the log bounded meanwhile */
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Puts `job` on the queue (lock held). Returns false when the queue is full or stopping. */
static bool rw_enqueue(route_writer *w, route_writer_job *job)
{
    if (w->stop || w->count >= w->queue_max)
        return false;
    job->t_submit_us = rw_mono_us();
    w->queue[(w->head + w->count) % w->queue_max] = job;
    w->count++;
    pthread_cond_signal(&w->more);
    return true;
}

int route_writer_submit(route_writer *w, route_writer_job *job, route_writer_done_fn done,
                        void *arg)
{
    if (!w || !job || !done)
        return ERR_INVALID;
    job->done = false;
    job->done_fn = done;
    job->done_arg = arg;
    pthread_mutex_lock(&w->lock);
    bool queued = rw_enqueue(w, job);
    pthread_mutex_unlock(&w->lock);
    if (!queued) {
        job->rc = ROUTE_WRITER_BUSY;
        job->done = true;
        job->done_fn = NULL;
        return ROUTE_WRITER_BUSY;
    }
    return ERR_OK;
}

int route_writer_run(route_writer *w, route_writer_job *job)
{
    if (!w || !job)
        return ERR_INVALID;
    job->done = false;
    job->done_fn = NULL;
    pthread_mutex_lock(&w->lock);
    pthread_cond_init(&job->wake, NULL);
    if (!rw_enqueue(w, job)) {
        pthread_mutex_unlock(&w->lock);
        pthread_cond_destroy(&job->wake);
        job->done = true;
        return job->rc = ROUTE_WRITER_BUSY;
    }
    while (!job->done)
        pthread_cond_wait(&job->wake, &w->lock);
    pthread_mutex_unlock(&w->lock);
    /* The writer signalled under the lock and no longer touches the job. */
    pthread_cond_destroy(&job->wake);
    return job->rc;
}

/* Copies `src` ("" when NULL) into the job's text at *used; returns the copy. */
static const char *rw_text_put(route_writer_job *job, size_t *used, const char *src)
{
    char *dst = job->text + *used;
    size_t n = src ? strlen(src) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    *used += n + 1;
    return dst;
}

/* A zeroed job with room for `text` bytes of strings. */
static route_writer_job *rw_job_new(int kind, size_t text, int64_t now_ms)
{
    route_writer_job *job = calloc(1, sizeof *job + text);
    if (!job)
        return NULL;
    job->kind = kind;
    job->now_ms = now_ms;
    callflow_outcome_init(&job->out);
    return job;
}

route_writer_job *route_writer_job_route(const router_call *call, const char *external_id,
                                         int64_t now_ms)
{
    if (!call || call->tried || call->n_tried)
        return NULL;
    const char *parts[] = {call->to, call->from, call->category, external_id};
    size_t text = 0, used = 0;
    for (int i = 0; i < 4; i++)
        text += (parts[i] ? strlen(parts[i]) : 0) + 1;
    route_writer_job *job = rw_job_new(RW_ROUTE, text, now_ms);
    if (!job)
        return NULL;
    /* NULL stays NULL for the router (from and category may be absent). */
    job->call.to = call->to ? rw_text_put(job, &used, call->to) : NULL;
    job->call.from = call->from ? rw_text_put(job, &used, call->from) : NULL;
    job->call.category = call->category ? rw_text_put(job, &used, call->category) : NULL;
    job->external_id = rw_text_put(job, &used, external_id);
    return job;
}

route_writer_job *route_writer_job_end(const char *call_id, int64_t now_ms, bool want_row)
{
    if (!call_id)
        return NULL;
    size_t used = 0;
    route_writer_job *job = rw_job_new(RW_END, strlen(call_id) + 1, now_ms);
    if (!job)
        return NULL;
    job->call_id = rw_text_put(job, &used, call_id);
    job->want_row = want_row;
    return job;
}

void route_writer_job_free(route_writer_job *job)
{
    if (!job)
        return;
    callflow_outcome_free(&job->out);
    store_call_clear(&job->row);
    free(job);
}

int route_writer_route(route_writer *w, const router_call *call, const char *external_id,
                       int64_t now_ms, callflow_outcome *out, route_writer_view *view)
{
    if (!w || !call || !out || !view)
        return ERR_INVALID;
    route_writer_job job;
    memset(&job, 0, sizeof job);
    memset(view, 0, sizeof *view);
    job.kind = RW_ROUTE;
    job.call = *call;
    job.external_id = external_id ? external_id : "";
    job.now_ms = now_ms;
    callflow_outcome_init(&job.out);
    int rc = route_writer_run(w, &job);
    /* Hand the outcome over: the caller's struct takes what the job's owns. */
    callflow_outcome_free(out);
    *out = job.out;
    *view = job.view;
    return rc;
}

int route_writer_end(route_writer *w, const char *call_id, int64_t now_ms, store_call *row)
{
    if (!w || !call_id)
        return ERR_INVALID;
    route_writer_job job;
    memset(&job, 0, sizeof job);
    job.kind = RW_END;
    job.call_id = call_id;
    job.want_row = row != NULL;
    job.now_ms = now_ms;
    int rc = route_writer_run(w, &job);
    if (row)
        *row = job.row; /* handed over: the caller clears it */
    return rc;
}

void route_writer_stats(route_writer *w, unsigned long *batches, unsigned long *requests)
{
    unsigned long b = 0, r = 0;
    if (w) {
        pthread_mutex_lock(&w->lock);
        b = w->batches;
        r = w->requests;
        pthread_mutex_unlock(&w->lock);
    }
    if (batches)
        *batches = b;
    if (requests)
        *requests = r;
}

int route_writer_open(const char *db, int queue_max, route_writer **out, char *errbuf,
                      size_t errlen)
{
    uint64_t seed = 0;
    if (!db || !out || queue_max < 1)
        return ERR_INVALID;
    *out = NULL;
    route_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ERR_NOMEM;
    int rc = ERR_NOMEM;
    w->queue_max = queue_max;
    w->queue = calloc((size_t)queue_max, sizeof *w->queue);
    if (!w->queue)
        goto out_free;
    rc = store_open(db, &w->st, errbuf, errlen);
    if (rc < 0)
        goto out_free;
    rc = store_open(db, &w->ck, errbuf, errlen);
    if (rc == ERR_OK)
        rc = store_autocheckpoint(w->st, RW_WRITER_AUTOCHECKPOINT);
    if (rc < 0)
        goto out_close;
    if (RAND_bytes((unsigned char *)&seed, (int)sizeof seed) != 1)
        seed = (uint64_t)(uintptr_t)w ^ 0x9e3779b97f4a7c15ULL;
    w->rng = rng_splitmix_source(&w->gen, seed);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->more, NULL);
    pthread_cond_init(&w->ck_wake, NULL);
    if (pthread_create(&w->thread, NULL, rw_main, w) != 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "cannot start the writer thread");
        rc = ERR_NOMEM;
        goto out_destroy;
    }
    if (pthread_create(&w->ck_thread, NULL, rw_checkpoint_main, w) != 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "cannot start the checkpoint thread");
        rc = ERR_NOMEM;
        goto out_stop_writer;
    }
    *out = w;
    return ERR_OK;
out_stop_writer:
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
out_destroy:
    pthread_cond_destroy(&w->ck_wake);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->lock);
out_close:
    store_close(w->ck);
    store_close(w->st);
out_free:
    free(w->queue);
    free(w);
    return rc;
}

void route_writer_close(route_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->more);
    pthread_cond_signal(&w->ck_wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_join(w->ck_thread, NULL);
    pthread_cond_destroy(&w->ck_wake);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->lock);
    store_close(w->ck);
    store_close(w->st);
    free(w->queue);
    free(w);
}
