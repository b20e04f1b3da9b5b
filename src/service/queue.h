/* queue.h -- the call queue (SPEC 3.7): the wait estimate, and the dispatcher's work of
 * handing waiting callers to agents that became free and ending the waits that passed
 * their campaign's max wait with a callback. Waiting callers are calls with status queued
 * (store_queue_*); everything here runs in store transactions, so several daemons on one
 * database never hand the same caller to two agents. */
#ifndef SC_QUEUE_H
#define SC_QUEUE_H

#include <stdint.h>

#include "../core/config.h"
#include "../core/rng.h"
#include "../store/store.h"

#define QUEUE_HANDLE_WINDOW_MS (60LL * 60 * 1000) /* handle times averaged over the last hour */
#define QUEUE_DEFAULT_HANDLE_MS (180LL * 1000)    /* assumed when the hour had no calls */
#define QUEUE_DISPATCH_MAX 500                    /* waiting calls looked at per dispatch */

/* The estimated wait, in seconds, of the caller at `position` (1-based): the callers up to
 * and including it are served by `slots` parallel call slots (at least 1) that each free
 * after `avg_handle_ms` on average: ceil(position * avg_handle / slots). Pure. */
long long queue_estimate_wait_s(long long position, long long avg_handle_ms, int slots);

/* The call slots serving campaign `campaign` (index into cfg) now: the sum of the limits
 * of the distinct agents in its enabled rules that are active and connected at now_ms,
 * busy or not. Pure. */
int queue_staffed_slots(const config *cfg, int campaign, int64_t now_ms);

/* The wait estimate for `position` in campaign `campaign` (index into cfg): the mean
 * handle time of its calls completed in the last hour (QUEUE_DEFAULT_HANDLE_MS when none)
 * over its staffed slots. Returns ERR_OK or a negative err_code. */
int queue_estimate(store *st, const config *cfg, int campaign, long long position, int64_t now_ms,
                   long long *wait_s);

/* What one dispatch did to one waiting call. */
typedef enum { QUEUE_HANDED_OFF = 1, QUEUE_TIMED_OUT } queue_change_kind;

typedef struct {
    queue_change_kind kind;
    store_call call;       /* the call as the change left it (owned: store_call_clear) */
    long long callback_id; /* the callback of a timeout */
    long long waited_ms;   /* time spent in the queue */
} queue_change;

/* One pass over the waiting calls, oldest first, in one transaction: a call whose
 * deadline passed leaves the queue with status callback and a callback (reason
 * queue_timeout); every other call is routed again by the same rules (its tried agents
 * still excluded) and, when an agent is available, that agent is claimed and the call
 * becomes ringing. Calls nobody can take stay queued, untouched. When nothing is queued it
 * returns at once without a transaction. On success *out is a new array of *n changes (NULL
 * when none) the caller frees with queue_changes_free(). Returns ERR_OK or a negative
 * err_code (then nothing changed). */
int queue_dispatch(store *st, int64_t now_ms, const rng_source *rng, queue_change **out, int *n);

/* Frees what queue_dispatch returned. */
void queue_changes_free(queue_change *changes, int n);

/* One waiting caller as the queue views show it. */
typedef struct {
    store_call call;     /* without trace (owned: store_call_clear) */
    long long position;  /* 1-based within its campaign */
    long long waited_ms; /* now - queued_ms */
    long long estimated_wait_s;
} queue_entry;

/* The waiting callers of `campaign` (every campaign when NULL or ""), in queue order per
 * campaign, with positions and estimates. On success *out
 * is a new array of *n entries the caller frees with queue_entries_free(). Returns ERR_OK
 * or a negative err_code. */
int queue_entries(store *st, const char *campaign, int64_t now_ms, queue_entry **out, int *n);

/* Frees what queue_entries returned. */
void queue_entries_free(queue_entry *entries, int n);

/* Position and estimate of one queued call (GET /v1/calls/{id}). Returns ERR_OK or a
 * negative err_code; *position is 0 when the call is not queued. */
int queue_call_place(store *st, const store_call *call, int64_t now_ms, long long *position,
                     long long *wait_s);

/* A waiting caller leaves the queue now (the provider's queue let it go, e.g. its wait
 * ran out there first): the call ends with status callback and a callback with reason
 * queue_timeout, in one transaction. *row receives the call as it is afterwards (cleared by
 * the caller) and *callback_id the callback (0 when the call was not queued: then nothing
 * changed). Returns ERR_OK, ERR_NOT_FOUND or another negative err_code. */
int queue_leave(store *st, const char *call_id, int64_t now_ms, store_call *row,
                long long *callback_id);

/* A hand-off that could not reach the caller (the provider refused to redirect the call):
 * the claim is released and the call is queued again with its arrival time and deadline,
 * in one transaction. Returns ERR_OK, ERR_NOT_FOUND, or ERR_CONFLICT when the call is not
 * ringing with a claim any more (nothing changed). */
int queue_requeue(store *st, const char *call_id, int64_t now_ms);

#endif
