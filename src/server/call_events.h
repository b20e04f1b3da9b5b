/* call_events.h -- the events the daemon publishes about calls (for the SSE streams, the
 * long polls and the taps): one place for their shapes, used by the request handlers and
 * the queue dispatcher. */
#ifndef SC_CALL_EVENTS_H
#define SC_CALL_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "events.h"

/* A committed routing decision (a new call, a failover, a hand-off from the queue):
 * call.routed for the dashboards (with the action, "connect", "queue", "callback" or
 * "reject", and the callback's id and reason when one was made), call.offered for the
 * claimed agent's console when the call rings an agent, callback.created when a callback
 * was made. `handoff` marks a waiting caller handed to an agent by the queue dispatcher (a
 * telephony adapter must then move the live call itself). */
void call_events_decision(events_bus *bus, const store_call *row, const char *action,
                          long long callback_id, const char *callback_reason, bool handoff,
                          int64_t now_ms);

/* A call changed (answered, ended, failed over, left the queue): call.updated for the
 * dashboards and for `agent`'s console ("" or NULL: none). `status` overrides the row's
 * status when not NULL; `reason` (NULL none) says why, e.g. "queue_timeout". */
void call_events_update(events_bus *bus, const store_call *row, const char *agent,
                        const char *status, const char *reason, int64_t now_ms);

/* A callback was created or bumped for `row`'s caller. */
void call_events_callback(events_bus *bus, const store_call *row, long long callback_id,
                          const char *reason, int64_t now_ms);

#endif
