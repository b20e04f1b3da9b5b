/* recovery.h -- the daemon's reconciliation (issue 8): at start and on a periodic sweep,
 * agents' call counts are set from the calls that really hold a claim, calls left ringing
 * past their campaign's ring timeout fail over (SPEC 3.8: next agent, queue or callback),
 * and calls connected with no event for longer than a maximum are ended. (Queue deadlines
 * are the queue dispatcher's, service/queue.h.) */
#ifndef SC_RECOVERY_H
#define SC_RECOVERY_H

#include <stdint.h>

#include "../core/rng.h"
#include "../store/store.h"
#include "callflow.h"

#define RECOVERY_MAX_CONNECTED_DEFAULT_S (4 * 3600) /* a connected call's longest silence */
#define RECOVERY_RING_GRACE_MS 2000 /* on top of the ring timeout: the adapter reports first */
#define RECOVERY_BATCH 200          /* stale calls looked at per sweep */

/* One correction of a sweep. */
typedef enum { RECOVERY_RING_TIMEOUT = 1, RECOVERY_CONNECTED_TOO_LONG } recovery_kind;

typedef struct {
    recovery_kind kind;
    char agent[CONFIG_ID_MAX]; /* the agent the call held */
    callflow_outcome outcome;  /* a ring timeout's new decision (outcome.call: the call) */
    store_call ended;          /* the ended call of RECOVERY_CONNECTED_TOO_LONG */
} recovery_fix;

/* What a sweep did. */
typedef struct {
    int counts_fixed; /* agents whose active call count was wrong */
    recovery_fix *fixes;
    int n_fixes;
} recovery_result;

/* One sweep at now_ms. A connected call whose last change is older than max_connected_ms
 * is ended (completed, claim released); a ringing one older than its campaign's ring
 * timeout plus RECOVERY_RING_GRACE_MS fails over as a no-answer would. Each correction is
 * its own transaction (a call changed meanwhile by someone else is left alone). On success
 * *out holds the corrections (free with recovery_result_free()). Returns ERR_OK or a
 * negative err_code. */
int recovery_sweep(store *st, int64_t now_ms, int64_t max_connected_ms, const rng_source *rng,
                   recovery_result *out);

/* Frees what recovery_sweep returned. */
void recovery_result_free(recovery_result *r);

#endif
