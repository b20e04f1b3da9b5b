/* failover.h -- SPEC 3.8 for a call already ringing an agent: on no answer the claim is
 * released, the agent is marked tried, and the same call is routed again (next agent, else
 * a callback), all in one transaction. */
#ifndef SC_FAILOVER_H
#define SC_FAILOVER_H

#include <stdint.h>

#include "callflow.h"

/* Handles a no-answer (also busy or failed) on the ringing call `call_id`. On success the
 * call row holds the new decision and *out is filled as by callflow_route() (out->cfg is
 * the snapshot, out->call the updated row, out->agent/rule/callback_id the outcome).
 * Returns ERR_OK, ERR_NOT_FOUND for an unknown call, ERR_CONFLICT when the call is not
 * ringing (answered, ended, or already failed over), or another negative err_code; on any
 * error nothing changed. `out` must have been initialised with callflow_outcome_init(). */
int failover_no_answer(store *st, const char *call_id, int64_t now_ms, const rng_source *rng,
                       callflow_outcome *out);

#endif
