/* call_watch.h -- the long polls of GET /v1/calls/{id}?wait=SECONDS: a registry of
 * suspended requests, each waiting for one call to change. A waiter is woken (its
 * connection resumed, so that the handler looks at the call again and either answers or
 * waits again) when an event on the bus names its call, when its deadline passes, about
 * once a second for a re-check (another daemon on the same database changes calls without a
 * local event), when its client closes the connection, and at shutdown. Independent of the
 * HTTP library: suspending and resuming are callbacks. */
#ifndef SC_CALL_WATCH_H
#define SC_CALL_WATCH_H

#include <stdint.h>

#include "events.h"

#define CALL_WATCH_MAX_DEFAULT 10000 /* simultaneous waiters; more are answered at once */
#define CALL_WATCH_RECHECK_MS 1000   /* a waiter is woken at least this often */
#define CALL_WATCH_RECENT 256        /* call events remembered for late registrations */

typedef struct call_watch call_watch;

/* Why a waiter was woken; written to its `reason` before its connection is resumed. */
typedef enum {
    CALL_WATCH_NONE = 0, /* still waiting */
    CALL_WATCH_EVENT,    /* an event named its call (perhaps while it was registering) */
    CALL_WATCH_TIMER,    /* its deadline or its re-check time came */
    CALL_WATCH_GONE,     /* its client closed the connection */
    CALL_WATCH_STOP      /* the daemon is stopping */
} call_watch_reason;

/* Suspends or resumes the connection `conn`. Called with the registry's lock held: it must
 * not call back into the call watch. */
typedef void (*call_watch_fn)(void *conn);

/* Creates the registry for at most `max_waiters` waiters (CALL_WATCH_MAX_DEFAULT when <= 0),
 * adds its tap to `bus` (so call before the bus is shared with other threads) and starts
 * its timer thread. Returns NULL when out of memory or resources, or when the bus has no
 * room for another tap. Free it with call_watch_free() once nothing publishes on the bus
 * any more (the tap cannot be removed). */
call_watch *call_watch_new(events_bus *bus, int max_waiters, call_watch_fn suspend,
                           call_watch_fn resume);

/* Stops the timer thread and frees the registry. Waiters still registered are dropped
 * without being resumed (call call_watch_shutdown() first). NULL is a no-op. */
void call_watch_free(call_watch *w);

/* The number of call events seen so far. Read it before reading a call, and pass it to
 * call_watch_add(): an event for the call that came in between is not lost. Thread-safe. */
unsigned long long call_watch_seq(call_watch *w);

/* Registers a waiter for call `call_id` until `deadline_ms` (monotonic milliseconds, as
 * http_mono_us() / 1000) and suspends `conn` (the suspend callback), under the lock that the
 * wake-ups take, so none is lost. `fd` is the connection's socket, watched for its peer
 * closing (-1: not watched). When an event for the call came after `since` (a value of
 * call_watch_seq()), the waiter is woken at once. `*reason` is set to CALL_WATCH_NONE now
 * and to the cause of the wake-up before `conn` is resumed; `*ticket` identifies the waiter
 * for call_watch_cancel(). Both must stay valid until the wake-up or the cancel. Returns 0
 * when the connection was suspended; -1 when it was not (registry full, stopping, bad
 * argument): then answer at once. Thread-safe. */
int call_watch_add(call_watch *w, const char *call_id, int64_t deadline_ms,
                   unsigned long long since, void *conn, int fd, int *reason,
                   unsigned long long *ticket);

/* Removes the waiter `ticket` without resuming it, if it is still registered (its request
 * ended some other way). 0 and stale tickets are ignored. Thread-safe. */
void call_watch_cancel(call_watch *w, unsigned long long ticket);

/* The number of waiters registered now. Thread-safe. */
int call_watch_count(call_watch *w);

/* Wakes every waiter (CALL_WATCH_STOP) and refuses new ones from now on. Call before
 * stopping the HTTP daemon. Thread-safe; NULL is a no-op. */
void call_watch_shutdown(call_watch *w);

#endif
