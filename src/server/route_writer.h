/* route_writer.h -- group commit for the daemon (docs/ARCHITECTURE.md, "Group commit"): one
 * writer thread owns a store connection; request threads hand it their routes and ends and
 * wait; it drains what is queued into ONE transaction, the ends first (store_call_end_many)
 * then the routes (callflow_route_batch_locked), commits, then wakes every waiter with its
 * own outcome. A caller gets its answer only after its change is committed. Request
 * threads either block (route_writer_run) or hand a job over and are called back
 * (route_writer_submit), which lets one batch hold the requests of many connections. */
#ifndef SC_ROUTE_WRITER_H
#define SC_ROUTE_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../service/callflow.h"

/* Returned instead of an err_code when the queue is full: nothing was done, try later. */
#define ROUTE_WRITER_BUSY (-100)

#define ROUTE_WRITER_BATCH_MAX 64 /* requests drained into one transaction at most */

typedef struct route_writer route_writer;

/* What a reply needs from the snapshot about a routed call, copied out by the writer so the
 * waiter needs no snapshot of its own. Strings are "" when not applicable. */
typedef struct {
    bool has_agent; /* an agent was claimed and is still in the configuration */
    char agent_id[CONFIG_ID_MAX];
    char agent_name[CONFIG_NAME_MAX];
    char softphone_type[16];
    char softphone_address[CONFIG_TEXT_MAX];
    bool has_campaign; /* the call's campaign is in the configuration */
    char friendly_message[CONFIG_TEXT_MAX];
} route_writer_view;

/* Opens the writer: its own store connection on `db` (a store URL or SQLite path) and its
 * thread. `queue_max` (>= 1) bounds the requests waiting; more are refused with
 * ROUTE_WRITER_BUSY. On success *out is a new writer the caller stops with
 * route_writer_close(). Returns ERR_OK, or a negative err_code with a detail in errbuf. */
int route_writer_open(const char *db, int queue_max, route_writer **out, char *errbuf,
                      size_t errlen);

/* Stops the writer after the requests already queued are done, joins its thread and closes
 * its store. Requests must no longer be submitted. NULL is a no-op. */
void route_writer_close(route_writer *w);

/* The batches committed (or retried one by one) so far and the requests they held; the
 * ratio is the group commit's average batch size. Either pointer may be NULL. */
void route_writer_stats(route_writer *w, unsigned long *batches, unsigned long *requests);

/* One route or end for the writer. Jobs made by route_writer_job_route/_end are handed over
 * with route_writer_submit() and do not block the thread that made them: it goes on with
 * other requests and learns through `done` when its job is committed. The fields under
 * "answer" are the writer's until then. */
typedef struct route_writer_job route_writer_job;

/* Called once, on the writer thread, when a submitted job is done (its answer is set). */
typedef void (*route_writer_done_fn)(void *arg);

struct route_writer_job {
    int kind; /* internal: route or end */
    /* route */
    router_call call;        /* tried must be NULL */
    const char *external_id; /* "" when none */
    /* end */
    const char *call_id;
    bool want_row; /* read the ended call back into `row` */
    int64_t now_ms;
    /* answer */
    int rc;                 /* as route_writer_route / route_writer_end return */
    callflow_outcome out;   /* a route's result (out.cfg NULL; the snapshot's facts in view) */
    route_writer_view view; /* what a route's reply needs from the snapshot */
    store_call row;         /* an end's call as it left it (id "" when not read) */
    long long us;           /* microseconds from submit to done */
    /* internal */
    int64_t t_submit_us;
    bool done;
    route_writer_done_fn done_fn;
    void *done_arg;
    pthread_cond_t wake;
    char text[]; /* the copied strings */
};

/* A new job routing `call` (its strings and external_id are copied; call->tried must be
 * NULL), or an end of `call_id` (copied; with `want_row` the ended call is read back).
 * NULL when out of memory or when tried is set. Free with route_writer_job_free(). */
route_writer_job *route_writer_job_route(const router_call *call, const char *external_id,
                                         int64_t now_ms);
route_writer_job *route_writer_job_end(const char *call_id, int64_t now_ms, bool want_row);

/* Frees a job that is done or was never submitted (its outcome and row too). NULL is a
 * no-op. */
void route_writer_job_free(route_writer_job *job);

/* Queues `job` without waiting. Returns ERR_OK: `done(arg)` will be called exactly once,
 * on the writer thread, after the job's answer is set; the job must stay valid until then.
 * Or ROUTE_WRITER_BUSY (queue full, or the writer stopping): the job's rc says so, it is
 * done, and `done` is never called. */
int route_writer_submit(route_writer *w, route_writer_job *job, route_writer_done_fn done,
                        void *arg);

/* Queues `job` and blocks until the writer is done with it. Returns job->rc. */
int route_writer_run(route_writer *w, route_writer_job *job);

/* Routes one call as callflow_route() would (not a dry run), in a group commit with other
 * requests, and blocks until it is committed. `call` and `external_id` must stay valid
 * until it returns. On ERR_OK *out holds the result and the call row (out->cfg is NULL: the
 * snapshot facts a reply needs are in *view). Returns ERR_OK, ROUTE_WRITER_BUSY, or a
 * negative err_code (nothing recorded). `out` must have been initialised with
 * callflow_outcome_init(); the caller frees it. */
int route_writer_route(route_writer *w, const router_call *call, const char *external_id,
                       int64_t now_ms, callflow_outcome *out, route_writer_view *view);

/* Ends a call as callflow_end() would, in a group commit, and blocks until committed.
 * When `row` is not NULL (zeroed by the caller) and the end succeeded, *row receives the
 * call as this end left it, read in the same transaction (row->id stays "" if it could
 * not be read); the caller clears it with store_call_clear() in every case. Returns 1
 * (claim released), 0 (already released), ERR_NOT_FOUND, ROUTE_WRITER_BUSY or another
 * negative err_code. */
int route_writer_end(route_writer *w, const char *call_id, int64_t now_ms, store_call *row);

/* Fills *view for an outcome from the snapshot `cfg` (looking the agent and campaign up by
 * the ids of out->call). Used by the writer, and by handlers that routed directly. */
void route_writer_view_fill(const config *cfg, const callflow_outcome *out,
                            route_writer_view *view);

#endif
