/* twilio_handoff.h -- moves live Twilio calls when the queue dispatcher hands a waiting
 * caller to an agent (docs/TWILIO.md): one thread that taps the event bus for hand-offs of
 * calls whose external id is a Twilio CallSid, asks the provider's REST API to redirect the
 * call to /twilio/connect/{call_id} (which answers the <Dial> to the claimed agent), and
 * when that fails releases the claim and queues the caller again. */
#ifndef SC_TWILIO_HANDOFF_H
#define SC_TWILIO_HANDOFF_H

#include <stdatomic.h>
#include <stddef.h>

#include "../telephony/twilio_config.h"
#include "events.h"

#define TWILIO_HANDOFF_PENDING_MAX 1024 /* hand-offs waiting for their request */
#define TWILIO_HANDOFF_RETRY_MS 500     /* pause after a failed redirect before requeueing */

typedef struct twilio_handoff twilio_handoff;

/* Counters for /metrics and tests. */
typedef struct {
    atomic_llong redirected; /* calls the provider moved to their agent */
    atomic_llong failed;     /* redirects refused or unreachable: caller queued again */
} twilio_handoff_stats;

/* Starts the worker when the webhooks are enabled (else returns NULL with errbuf ""): its
 * own store connection on `db`, a tap on `bus` (before the bus is shared), its thread.
 * Returns NULL with a message in errbuf on failure. */
twilio_handoff *twilio_handoff_start(const twilio_config *cfg, const char *db, events_bus *bus,
                                     char *errbuf, size_t errlen);

/* The counters (NULL when h is NULL). */
twilio_handoff_stats *twilio_handoff_stats_of(twilio_handoff *h);

/* Finishes the request in progress, drops the pending ones (their callers stay ringing
 * their agent; the daemon's next start does not redo them) and stops. NULL is a no-op. */
void twilio_handoff_stop(twilio_handoff *h);

#endif
