/* events.h -- the daemon's in-process event bus for the Server-Sent Events streams: a
 * bounded ring of events (each written as an SSE frame when a stream first reads it),
 * numbered by a sequence that is also their SSE id, and one subscriber per open stream
 * reading from its own cursor. A subscriber with nothing to read parks (its stream
 * suspends); a publish wakes the parked subscribers it concerns. Independent of the HTTP library:
 * parking and waking are callbacks. */
#ifndef SC_EVENTS_H
#define SC_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define EVENTS_RING_DEFAULT 1024    /* events kept for slow readers and Last-Event-ID */
#define EVENTS_FRAME_MAX (8 * 1024) /* a larger event is dropped (logged) */

typedef struct events_bus events_bus;
typedef struct events_sub events_sub;

/* Called with the bus lock held: park suspends the subscriber's stream, wake resumes it.
 * Neither may call back into the bus. */
typedef void (*events_fn)(void *arg);

/* Creates a bus keeping the last `capacity` events (EVENTS_RING_DEFAULT when 0). Sequences
 * start above now_ms * 1000, so ids a client kept from an earlier run of the daemon are
 * older than any event of this one (it gets a lag event, not wrong events). Returns NULL
 * when out of memory. Free it with events_bus_free() once every subscriber is gone. */
events_bus *events_bus_new(size_t capacity, int64_t now_ms);

/* Frees the bus and its events. NULL is a no-op. */
void events_bus_free(events_bus *b);

#define EVENTS_TAPS_MAX 4 /* listeners of every event published (events_bus_add_tap) */

/* A listener of every event published: called on the publishing thread, before the event
 * is queued, with the event's type, agent ("" none) and data (borrowed: already holding
 * "type" and "time_ms"). It must be quick and must not publish (it may lock its own state
 * and signal its own thread). */
typedef void (*events_tap_fn)(void *arg, const char *type, const char *agent, const json_t *data);

/* Adds a tap. Call before the bus is shared with other threads (taps are not locked).
 * Returns 0, or -1 when EVENTS_TAPS_MAX taps are already set. */
int events_bus_add_tap(events_bus *b, events_tap_fn fn, void *arg);

/* Publishes one event of `type` ("call.offered", ...). `data` is stolen (a JSON object; the
 * bus adds "type" and "time_ms") and must not be changed afterwards: the ring keeps it and
 * writes it as text only when a stream first reads it. It goes to the streams of agent
 * `agent` (NULL or "" none) and, when `admin`, to the dashboards' stream. Thread-safe; a
 * NULL bus or data, or a failure to allocate, drops the event (it never fails the caller). */
void events_publish(events_bus *b, const char *type, const char *agent, bool admin, json_t *data,
                    int64_t now_ms);

/* Adds a subscriber: the streams of agent `agent`, or the dashboards' stream when NULL.
 * It starts after event `last_id` when that is still in the ring (a client's
 * Last-Event-ID), with a `lag` event when it is not, or with the next event when last_id
 * < 0; its first bytes are a `ready` event. Returns NULL when out of memory; the caller
 * removes it with events_unsubscribe(). */
events_sub *events_subscribe(events_bus *b, const char *agent, long long last_id, events_fn park,
                             events_fn wake, void *arg);

/* Removes and frees a subscriber. NULL is a no-op. */
void events_unsubscribe(events_sub *s);

/* The subscriber's id, unique for the life of the bus (never 0). */
unsigned long long events_sub_id(const events_sub *s);

/* Copies what the subscriber has pending (keepalive comments, a lag notice, then frames,
 * whole when they fit; one larger than cap is split over reads) into buf, at most cap
 * bytes. Returns the bytes copied; 0 when nothing was pending, in which case the subscriber
 * was parked (park called) and will be woken by the next event for it, a tick or a kill;
 * -1 when the stream must end (the bus is shutting down or the subscriber was killed). */
ssize_t events_read(events_sub *s, char *buf, size_t cap);

/* Queues a keepalive comment for every subscriber and wakes the parked ones (a write is
 * the only way to notice a vanished client). Thread-safe. */
void events_tick(events_bus *b);

/* Ends the subscriber with id `id` (its client went away): its next read returns -1. An
 * unknown id is ignored. Thread-safe. */
void events_kill(events_bus *b, unsigned long long id);

/* Ends every stream: reads return -1 from now on and parked subscribers are woken. Call
 * before stopping the HTTP daemon. Thread-safe. */
void events_shutdown(events_bus *b);

#endif
