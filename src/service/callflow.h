/* callflow.h -- one inbound call from decision to record: loads the snapshot, asks the
 * router, claims candidates in order in one transaction (a lost race moves on to the next
 * candidate), moves the round-robin cursor, writes the call row with its trace, and makes
 * a callback when nobody is free. Shared by the CLI and the server. */
#ifndef SC_CALLFLOW_H
#define SC_CALLFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/router.h"
#include "../store/store.h"

/* What happened to one routed call. Initialise with callflow_outcome_init(), release with
 * callflow_outcome_free(). */
typedef struct callflow_outcome {
    config *cfg;                /* the snapshot the decision used (owned) */
    route_result result;        /* decision and trace; trace.claims filled by the claim loop */
    store_call call;            /* the recorded call (id "" on a dry run) */
    int agent;                  /* index into cfg->agents of the claimed agent, -1 none */
    int rule;                   /* index into cfg->rules of the rule it came from, -1 none */
    long long callback_id;      /* callback created or bumped, 0 none */
    char callback_reason[32];   /* "no_agents", "queue_full", ... when callback_id > 0 */
    long long queue_position;   /* 1-based place in the campaign's queue when queued, else 0 */
    long long estimated_wait_s; /* the queue's wait estimate when queued, else 0 */
} callflow_outcome;

void callflow_outcome_init(callflow_outcome *o);
void callflow_outcome_free(callflow_outcome *o);

/* The API's action for a recorded (or dry-run) decision: "connect", "queue", "callback" or
 * "reject". */
const char *callflow_action_name(const callflow_outcome *o);

/* Routes one inbound call. When nobody is free (SPEC 3.7) the caller joins the campaign's
 * queue when it is enabled and not full (status queued, with position and estimated wait),
 * else gets a callback (reason no_agents or queue_full). While callers are already waiting
 * in an enabled queue, a new call joins the queue behind them even if an agent is free
 * (first come first served; the queue dispatcher hands the agent to the oldest caller it
 * suits). With dry_run nothing is claimed or written (the candidates are
 * what a real route would try). Returns ERR_OK (the action is in out->result.action; a
 * connect whose every claim lost becomes no_agent), or a negative err_code. */
int callflow_route(store *st, const router_call *call, const char *external_id, int64_t now_ms,
                   const rng_source *rng, bool dry_run, callflow_outcome *out);

/* One call of a batch. */
typedef struct {
    router_call call;
    const char *external_id; /* NULL or "" when none */
    int64_t now_ms;
} callflow_request;

/* Group commit: routes `n` calls against one snapshot in ONE transaction, each exactly as
 * callflow_route() would (a claim won by an earlier call of the batch is seen by the later
 * ones), so the commit's cost is shared. All or nothing: on error everything is rolled back
 * and every outcome forgotten. The outcomes carry their call rows (with the trace as JSON)
 * but no snapshot (cfg is NULL), and their results' indexes must not be rendered again.
 * Returns ERR_OK or a negative err_code. */
int callflow_route_batch(store *st, const callflow_request *reqs, int n, const rng_source *rng,
                         callflow_outcome *outs);

/* callflow_route_batch inside the caller's open transaction (the daemon's writer ends calls
 * and routes new ones in one commit), against a snapshot read in that transaction. When
 * `snapshot` is not NULL and the batch succeeded, *snapshot receives that snapshot with the
 * batch's claims applied (the caller frees it), else NULL. On error the outcomes are
 * forgotten and the caller must roll back. Returns ERR_OK or a negative err_code. */
int callflow_route_batch_locked(store *st, const callflow_request *reqs, int n,
                                const rng_source *rng, callflow_outcome *outs, config **snapshot);

/* SPEC 3.8 for a call ringing an agent: on no answer (also busy or failed) the claim is
 * released, the agent is marked tried, and the same call is routed again (next agent, else
 * a callback), all in one transaction. On success the call row holds the new decision and
 * *out is filled as by callflow_route() (out->cfg is the snapshot, out->call the updated
 * row). Returns ERR_OK, ERR_NOT_FOUND for an unknown call, ERR_CONFLICT when the call is not
 * ringing (answered, ended or already failed over), or another negative err_code; on any
 * error nothing changed. `out` must have been initialised with callflow_outcome_init(). */
int callflow_no_answer(store *st, const char *call_id, int64_t now_ms, const rng_source *rng,
                       callflow_outcome *out);

/* For the queue dispatcher, inside its open transaction: out->call holds a queued call
 * (status queued, as stored). It is routed again against `cfg` (its tried agents still
 * excluded); when an agent is available and its claim is won, the row becomes ringing with
 * that agent and a new trace, is written (only if it is still queued), and the claim is
 * applied to `cfg`. Returns 1 when handed off (out->call is the new row), 0 when nobody could
 * take it (nothing written, out->call unchanged), or a negative err_code (ERR_CONFLICT when
 * the call was no longer queued: roll back, the claim was taken). */
int callflow_handoff_locked(store *st, config *cfg, int64_t now_ms, const rng_source *rng,
                            callflow_outcome *out);

/* Ends a call and releases its claim exactly once. Returns 1 when released, 0 when it was
 * already released (harmless), ERR_NOT_FOUND for an unknown id. */
int callflow_end(store *st, const char *call_id, int64_t now_ms);

#endif
