/* sse.h -- the daemon's Server-Sent Events streams over libmicrohttpd: one suspended
 * connection per open stream fed from the event bus, a ticker thread that sends keepalives
 * and renews the stream registration of the agents whose console is open, and a watch on
 * each stream's socket so that a client that goes away is noticed at once. */
#ifndef SC_SSE_H
#define SC_SSE_H

#include <stdint.h>

#include <microhttpd.h>

#include "../store/store.h"
#include "events.h"

#define SSE_STREAM_TTL_MS 15000 /* a stream registration's expiry, renewed while it is open */
#define SSE_RENEW_TICKS 5       /* renewed every this many ticks (1 s each) */

typedef struct sse sse;
typedef struct sse_stream sse_stream;

/* This thread's store connection (the server's per-thread store), or NULL. */
typedef store *(*sse_store_fn)(void *arg);

/* Starts the streams' machinery on `bus`: opens a store connection on `db` for the ticker
 * and starts the ticker thread. `thread_store` gives the calling thread's store when a
 * stream opens or closes. Returns NULL (message on stderr) on failure; free with sse_free(). */
sse *sse_new(events_bus *bus, const char *db, sse_store_fn thread_store, void *store_arg);

/* Opens a stream on connection `c`: the dashboards' stream when agent is NULL, else agent
 * `agent`'s console stream, which registers the agent (store_agent_stream) until it closes.
 * last_event_id is the client's Last-Event-ID header or NULL. Returns a response for the
 * caller to queue and destroy, and the stream in *out, to be passed to sse_completed() when
 * the request ends; NULL when it cannot (out of memory, store failure: answer 503). */
struct MHD_Response *sse_open(sse *x, struct MHD_Connection *c, const char *agent,
                              const char *last_event_id, int64_t now_ms, sse_stream **out);

/* The request of a stream ended (MHD_OPTION_NOTIFY_COMPLETED): stops watching its socket
 * and, when it was the agent's last open stream, clears the agent's stream registration at
 * once (a presence registration still valid keeps the agent connected). */
void sse_completed(sse *x, sse_stream *st);

/* Ends every stream (their connections are resumed and finish). Call before
 * MHD_stop_daemon(). */
void sse_shutdown(sse *x);

/* Stops the ticker and frees everything. Call after MHD_stop_daemon(). NULL is a no-op. */
void sse_free(sse *x);

#endif
