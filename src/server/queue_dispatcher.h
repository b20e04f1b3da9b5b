/* queue_dispatcher.h -- the daemon's queue dispatcher (SPEC 3.7): one thread with its own
 * store connection that runs queue_dispatch() whenever capacity may have freed (it taps the
 * event bus: a call changed, an agent was created, updated or registered, the configuration
 * changed, a caller joined a queue) and on a timer (timeouts, and changes made by another
 * daemon on the same database), then publishes what changed: hand-offs as call.routed and
 * call.offered (the agent's console), timeouts as call.updated and callback.created. The
 * same thread runs the recovery sweep (service/recovery.h). */
#ifndef SC_QUEUE_DISPATCHER_H
#define SC_QUEUE_DISPATCHER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define QUEUE_TICK_MS 500      /* a pass at least this often */
#define RECOVERY_SWEEP_MS 1000 /* and a recovery sweep (service/recovery.h) this often */
#define QUEUE_MIN_GAP_MS 10    /* and at most one pass per this, however many kicks */
#define QUEUE_LISTEN_MS 200    /* the notification listener checks for a stop this often */

typedef struct queue_dispatcher queue_dispatcher;

/* Counters for /metrics. */
typedef struct {
    atomic_llong passes;              /* dispatch passes that found callers waiting */
    atomic_llong handoffs;            /* waiting callers handed to an agent */
    atomic_llong timeouts;            /* waits that ran out (callback queue_timeout) */
    atomic_llong failures;            /* passes that failed (rolled back; retried on the next) */
    atomic_llong recovered_counts;    /* agents whose call count the sweep corrected */
    atomic_llong recovered_ringing;   /* calls stuck ringing that the sweep failed over */
    atomic_llong recovered_connected; /* silent connected calls the sweep ended */
    atomic_llong notified;            /* wake-ups by a database notification (PostgreSQL) */
} queue_dispatcher_stats;

/* Opens its store connection on `db`, taps `bus` (before the bus is shared) and starts the
 * thread, which makes a first pass and a recovery sweep at once (timeouts that passed and
 * calls left ringing while the daemon was down are handled at start), then sweeps every
 * RECOVERY_SWEEP_MS, ending connected calls silent for max_connected_ms. Every correction
 * is logged (event=recovery) and counted. On PostgreSQL a second thread with its own
 * connection listens for the database's capacity notifications (store_listen), so that
 * capacity freed by another daemon on the same database wakes this dispatcher at once; the
 * periodic pass stays the fallback. Returns NULL with a message in errbuf on failure. */
queue_dispatcher *queue_dispatcher_start(const char *db, events_bus *bus, int64_t max_connected_ms,
                                         char *errbuf, size_t errlen);

/* Asks for a pass soon. Thread-safe and cheap. */
void queue_dispatcher_kick(queue_dispatcher *d);

/* The counters (NULL when d is NULL). */
queue_dispatcher_stats *queue_dispatcher_stats_of(queue_dispatcher *d);

/* Stops the thread after its current pass and closes its store. NULL is a no-op. */
void queue_dispatcher_stop(queue_dispatcher *d);

#endif
