/* queue_dispatcher.c -- the thread that hands waiting callers to agents as they free. */
#include "queue_dispatcher.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "../service/queue.h"
#include "../service/recovery.h"
#include "call_events.h"
#include "http_util.h"

struct queue_dispatcher {
    store *st;
    events_bus *bus;
    rng_splitmix gen;
    rng_source rng;
    pthread_t thread;
    store *listen_st; /* NULL without notifications (SQLite) */
    pthread_t listener;
    atomic_bool listen_stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool kicked, stopping;
    int64_t max_connected_ms;
    int64_t next_sweep_ms;
    queue_dispatcher_stats stats;
};

/* The events after which a waiting caller may find an agent. */
static bool qd_frees_capacity(const char *type, const json_t *data)
{
    if (strncmp(type, "agent.", 6) == 0 || strncmp(type, "config.", 7) == 0 ||
        strncmp(type, "campaign.", 9) == 0 || strcmp(type, "call.updated") == 0)
        return true;
    /* A caller who joined a queue while agents were free (behind other waiting callers). */
    const char *action = json_string_value(json_object_get(data, "action"));
    return strcmp(type, "call.routed") == 0 && action && strcmp(action, "queue") == 0;
}

static void qd_tap(void *arg, const char *type, const char *agent, const json_t *data)
{
    (void)agent;
    if (qd_frees_capacity(type, data))
        queue_dispatcher_kick(arg);
}

void queue_dispatcher_kick(queue_dispatcher *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->kicked = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
}

queue_dispatcher_stats *queue_dispatcher_stats_of(queue_dispatcher *d)
{
    return d ? &d->stats : NULL;
}

/* Publishes and logs what one pass changed. */
static void qd_publish(queue_dispatcher *d, const queue_change *ch, int64_t now_ms)
{
    char wbuf[24];
    const store_call *row = &ch->call;
    if (ch->kind == QUEUE_HANDED_OFF) {
        atomic_fetch_add(&d->stats.handoffs, 1);
        call_events_decision(d->bus, row, "connect", 0, NULL, true, now_ms);
        http_log("queue_handoff", "call_id", row->id, "campaign", row->campaign, "agent",
                 row->agent, "waited_ms", http_fmt_ll(wbuf, sizeof wbuf, ch->waited_ms), NULL);
    } else {
        atomic_fetch_add(&d->stats.timeouts, 1);
        call_events_update(d->bus, row, NULL, "callback", "queue_timeout", now_ms);
        call_events_callback(d->bus, row, ch->callback_id, "queue_timeout", now_ms);
        http_log("queue_timeout", "call_id", row->id, "campaign", row->campaign, "waited_ms",
                 http_fmt_ll(wbuf, sizeof wbuf, ch->waited_ms), NULL);
    }
}

/* One pass: hand-offs and timeouts, committed, then published. */
static void qd_pass(queue_dispatcher *d)
{
    queue_change *changes = NULL;
    int n = 0;
    int64_t now_ms = http_now_ms();
    int rc = queue_dispatch(d->st, now_ms, &d->rng, &changes, &n);
    if (rc < 0) {
        atomic_fetch_add(&d->stats.failures, 1);
        http_log("queue_dispatch_failed", "error", errors_code(rc), NULL);
        return;
    }
    atomic_fetch_add(&d->stats.passes, 1);
    for (int i = 0; i < n; i++)
        qd_publish(d, &changes[i], now_ms);
    queue_changes_free(changes, n);
}

/* Publishes, logs and counts what a recovery sweep corrected. */
static void qd_publish_recovery(queue_dispatcher *d, const recovery_result *r, int64_t now_ms)
{
    char nbuf[24];
    if (r->counts_fixed > 0) {
        atomic_fetch_add(&d->stats.recovered_counts, r->counts_fixed);
        http_log("recovery", "kind", "call_counts", "agents",
                 http_fmt_ll(nbuf, sizeof nbuf, r->counts_fixed), NULL);
    }
    for (int i = 0; i < r->n_fixes; i++) {
        const recovery_fix *f = &r->fixes[i];
        if (f->kind == RECOVERY_RING_TIMEOUT) {
            const callflow_outcome *o = &f->outcome;
            atomic_fetch_add(&d->stats.recovered_ringing, 1);
            call_events_update(d->bus, &o->call, f->agent, "failed_over", "ring_timeout", now_ms);
            call_events_decision(d->bus, &o->call, callflow_action_name(o), o->callback_id,
                                 o->callback_reason, false, now_ms);
            http_log("recovery", "kind", "ring_timeout", "call_id", o->call.id, "agent", f->agent,
                     "outcome", callflow_action_name(o), NULL);
        } else {
            atomic_fetch_add(&d->stats.recovered_connected, 1);
            call_events_update(d->bus, &f->ended, f->agent, NULL, "max_connected", now_ms);
            http_log("recovery", "kind", "max_connected", "call_id", f->ended.id, "agent", f->agent,
                     NULL);
        }
    }
}

/* A recovery sweep when one is due. */
static void qd_sweep(queue_dispatcher *d)
{
    recovery_result r;
    int64_t now_ms = http_now_ms();
    if (now_ms < d->next_sweep_ms)
        return;
    d->next_sweep_ms = now_ms + RECOVERY_SWEEP_MS;
    int rc = recovery_sweep(d->st, now_ms, d->max_connected_ms, &d->rng, &r);
    if (rc < 0) {
        http_log("recovery_failed", "error", errors_code(rc), NULL);
        return;
    }
    qd_publish_recovery(d, &r, now_ms);
    recovery_result_free(&r);
}

/* Adds ms milliseconds to a CLOCK_REALTIME time for pthread_cond_timedwait. */
static struct timespec qd_after(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *qd_main(void *arg)
{
    queue_dispatcher *d = arg;
    pthread_mutex_lock(&d->lock);
    d->kicked = true; /* a first pass at start */
    while (!d->stopping) {
        if (!d->kicked) {
            struct timespec until = qd_after(QUEUE_TICK_MS);
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
            if (d->stopping)
                break;
        }
        d->kicked = false;
        pthread_mutex_unlock(&d->lock);
        qd_sweep(d);
        qd_pass(d);
        struct timespec gap = {0, QUEUE_MIN_GAP_MS * 1000000L};
        nanosleep(&gap, NULL);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* The listener thread: turns the database's capacity notifications into kicks. A dropped
 * connection kicks too (a notification may have been missed) and is retried. */
static void *qd_listen(void *arg)
{
    queue_dispatcher *d = arg;
    while (!atomic_load(&d->listen_stop)) {
        int n = store_wait_notify(d->listen_st, QUEUE_LISTEN_MS);
        if (n > 0)
            atomic_fetch_add(&d->stats.notified, 1);
        if (n != 0)
            queue_dispatcher_kick(d);
        if (n < 0) {
            struct timespec pause = {0, QUEUE_LISTEN_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* Opens the listening connection and starts its thread when the store has notifications;
 * without them (SQLite) there is nothing to do. Returns false on failure. */
static bool qd_start_listener(queue_dispatcher *d, const char *db, char *errbuf, size_t errlen)
{
    if (store_open(db, &d->listen_st, errbuf, errlen) < 0)
        return false;
    int rc = store_listen(d->listen_st);
    if (rc == ERR_UNSUPPORTED) {
        store_close(d->listen_st);
        d->listen_st = NULL;
        return true;
    }
    if (rc < 0 || pthread_create(&d->listener, NULL, qd_listen, d) != 0) {
        snprintf(errbuf, errlen, "cannot listen for database notifications");
        store_close(d->listen_st);
        d->listen_st = NULL;
        return false;
    }
    return true;
}

queue_dispatcher *queue_dispatcher_start(const char *db, events_bus *bus, int64_t max_connected_ms,
                                         char *errbuf, size_t errlen)
{
    uint64_t seed = 0;
    queue_dispatcher *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    d->bus = bus;
    d->max_connected_ms =
        max_connected_ms > 0 ? max_connected_ms : RECOVERY_MAX_CONNECTED_DEFAULT_S * 1000LL;
    if (store_open(db, &d->st, errbuf, errlen) < 0) {
        free(d);
        return NULL;
    }
    if (RAND_bytes((unsigned char *)&seed, (int)sizeof seed) != 1)
        seed = (uint64_t)(uintptr_t)d ^ 0x2545f4914f6cdd1dULL;
    d->rng = rng_splitmix_source(&d->gen, seed);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    atomic_init(&d->listen_stop, false);
    if (events_bus_add_tap(bus, qd_tap, d) != 0 ||
        pthread_create(&d->thread, NULL, qd_main, d) != 0) {
        snprintf(errbuf, errlen, "cannot start the queue dispatcher");
        goto out_free;
    }
    if (!qd_start_listener(d, db, errbuf, errlen)) {
        pthread_mutex_lock(&d->lock);
        d->stopping = true;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
        goto out_free;
    }
    return d;

out_free:
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    store_close(d->st);
    free(d);
    return NULL;
}

void queue_dispatcher_stop(queue_dispatcher *d)
{
    if (!d)
        return;
    if (d->listen_st) {
        atomic_store(&d->listen_stop, true);
        pthread_join(d->listener, NULL);
        store_close(d->listen_st);
    }
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    store_close(d->st);
    free(d);
}
