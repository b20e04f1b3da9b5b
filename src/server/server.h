/* server.h -- the HTTP daemon (`sureconnect serve`): one accept thread handing connections
 * in turn to single-threaded libmicrohttpd daemons on epoll, one store connection per
 * request thread, bearer-token auth, the /v1 routes,
 * metrics, and a graceful stop on SIGTERM or SIGINT. */
#ifndef SC_SERVER_H
#define SC_SERVER_H

#include <stdatomic.h>

#include "../telephony/twilio_config.h"

#define SERVER_LATENCY_BUCKETS 12

/* Counters shared by every thread (Prometheus /metrics). Actions are indexed by
 * server_action: connect, queue, callback, reject. */
enum {
    SERVER_ACTION_CONNECT = 0,
    SERVER_ACTION_QUEUE,
    SERVER_ACTION_CALLBACK,
    SERVER_ACTION_REJECT,
    SERVER_N_ACTIONS
};

typedef struct server_metrics {
    atomic_llong routed[SERVER_N_ACTIONS];
    atomic_llong claim_conflicts;                        /* claims lost to another call */
    atomic_llong latency_bucket[SERVER_LATENCY_BUCKETS]; /* routing decisions per bucket */
    atomic_llong latency_count;
    atomic_llong latency_sum_us;
    atomic_llong requests;
    struct server_alerts *alerts;   /* the Discord alerter's counters (server_alerts.h) */
    struct queue_dispatcher *queue; /* the queue dispatcher's counters (queue_dispatcher.h) */
    struct twilio_handoff *handoff; /* Twilio hand-offs (twilio_handoff.h); NULL when off */
} server_metrics;

/* Upper bounds of the routing latency buckets, in seconds (the last is +Inf). */
extern const double server_latency_bounds[SERVER_LATENCY_BUCKETS];

/* Records one routing decision: its action, lost claims and time spent. Thread-safe. */
void server_metrics_route(server_metrics *m, int action, int lost_claims, long long us);

/* Options of `serve`. */
typedef struct {
    const char *db;              /* store URL or SQLite file path */
    const char *listen;          /* "HOST:PORT" (IPv4, [IPv6] or a name); port 0 picks a free one */
    int threads;                 /* request threads, 1..64 */
    const char *discord_webhook; /* the global Discord webhook URL; NULL or "" none */
    int alert_interval_s;        /* least seconds between two alerts of a campaign; 0: 60 */
    twilio_config twilio;        /* the telephony adapter (docs/TWILIO.md); empty: off */
    int max_connected_s;         /* a connected call silent this long is ended; 0: 4 hours */
    const char *web_root;        /* folder of the web pages (docs/WEB.md); NULL or "": none */
} server_options;

/* Runs the daemon until SIGTERM or SIGINT: opens the store (applying migrations and
 * reconciling agent call counts), listens, logs "event=listening addr=HOST:PORT" on stderr,
 * then serves. On a signal it stops accepting, lets requests in flight finish (up to 10 s),
 * closes every store connection and returns 0. Returns 1 when it cannot start (message
 * on stderr). */
int server_run(const server_options *opts);

#endif
