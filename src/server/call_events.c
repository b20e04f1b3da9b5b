/* call_events.c -- the shapes of the call events on the event bus. */
#include "call_events.h"

#include <string.h>

static json_t *call_events_str(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

void call_events_callback(events_bus *bus, const store_call *row, long long callback_id,
                          const char *reason, int64_t now_ms)
{
    if (callback_id <= 0)
        return;
    events_publish(bus, "callback.created", NULL, true,
                   json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:o}", "callback_id",
                             (json_int_t)callback_id, "call_id", row->id, "campaign",
                             call_events_str(row->campaign), "caller", row->caller, "caller_state",
                             call_events_str(row->caller_state), "category",
                             call_events_str(row->category), "reason", call_events_str(reason)),
                   now_ms);
}

void call_events_decision(events_bus *bus, const store_call *row, const char *action,
                          long long callback_id, const char *callback_reason, bool handoff,
                          int64_t now_ms)
{
    events_publish(
        bus, "call.routed", NULL, true,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "call_id",
                  row->id, "action", action, "status", store_call_status_name(row->status), "agent",
                  call_events_str(row->agent), "rule", call_events_str(row->rule), "campaign",
                  call_events_str(row->campaign), "caller", row->caller, "caller_state",
                  call_events_str(row->caller_state), "category", call_events_str(row->category),
                  "callback_id", callback_id > 0 ? json_integer(callback_id) : json_null(),
                  "callback_reason",
                  callback_id > 0 ? call_events_str(callback_reason) : json_null(), "external_id",
                  call_events_str(row->external_id), "handoff", handoff),
        now_ms);
    if (row->status == CALL_RINGING && row->agent[0])
        events_publish(bus, "call.offered", row->agent, false,
                       json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I}", "call_id",
                                 row->id, "agent", row->agent, "caller", row->caller,
                                 "caller_state", call_events_str(row->caller_state), "campaign",
                                 call_events_str(row->campaign), "category",
                                 call_events_str(row->category), "rule", call_events_str(row->rule),
                                 "tracking_number", call_events_str(row->tracking_number),
                                 "created_ms", (json_int_t)row->created_ms),
                       now_ms);
    call_events_callback(bus, row, callback_id, callback_reason, now_ms);
}

void call_events_update(events_bus *bus, const store_call *row, const char *agent,
                        const char *status, const char *reason, int64_t now_ms)
{
    events_publish(bus, "call.updated", agent, true,
                   json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "call_id", row->id,
                             "status", status ? status : store_call_status_name(row->status),
                             "agent", call_events_str(agent), "campaign",
                             call_events_str(row->campaign), "caller", row->caller, "caller_state",
                             call_events_str(row->caller_state), "category",
                             call_events_str(row->category), "reason", call_events_str(reason)),
                   now_ms);
}
