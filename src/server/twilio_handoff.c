/* twilio_handoff.c -- the worker that redirects handed-off Twilio calls. */
#include "twilio_handoff.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../service/queue.h"
#include "../store/store.h"
#include "../telephony/twilio_rest.h"
#include "call_events.h"
#include "http_util.h"

typedef struct {
    char call_id[STORE_CALL_ID_MAX];
    char call_sid[CONFIG_ID_MAX];
} twilio_handoff_job;

struct twilio_handoff {
    const twilio_config *cfg;
    store *st;
    events_bus *bus;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    twilio_handoff_job jobs[TWILIO_HANDOFF_PENDING_MAX];
    int head, count;
    bool stopping;
    twilio_handoff_stats stats;
};

/* A hand-off of a Twilio call (its external id is a CallSid): queue its redirect. */
static void th_tap(void *arg, const char *type, const char *agent, const json_t *data)
{
    twilio_handoff *h = arg;
    (void)agent;
    if (strcmp(type, "call.routed") != 0 || !json_is_true(json_object_get(data, "handoff")))
        return;
    const char *id = json_string_value(json_object_get(data, "call_id"));
    const char *sid = json_string_value(json_object_get(data, "external_id"));
    if (!id || !sid || !twilio_sid_ok(sid, "CA") || strlen(id) >= STORE_CALL_ID_MAX)
        return;
    pthread_mutex_lock(&h->lock);
    if (h->count < TWILIO_HANDOFF_PENDING_MAX && !h->stopping) {
        twilio_handoff_job *j = &h->jobs[(h->head + h->count) % TWILIO_HANDOFF_PENDING_MAX];
        snprintf(j->call_id, sizeof j->call_id, "%s", id);
        snprintf(j->call_sid, sizeof j->call_sid, "%s", sid);
        h->count++;
        pthread_cond_signal(&h->wake);
    } else {
        http_log("twilio_handoff_dropped", "call_id", id, NULL);
    }
    pthread_mutex_unlock(&h->lock);
}

/* Redirects one call; on failure releases its claim and queues it again. */
static void th_run(twilio_handoff *h, const twilio_handoff_job *j)
{
    char url[1024], err[256], status[16];
    const char *base = h->cfg->public_url;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s/twilio/connect/%s", (int)bl, base, j->call_id);
    long code = twilio_rest_redirect(h->cfg, j->call_sid, url, err, sizeof err);
    snprintf(status, sizeof status, "%ld", code);
    if (code >= 200 && code < 300) {
        atomic_fetch_add(&h->stats.redirected, 1);
        http_log("twilio_handoff", "call_id", j->call_id, "call_sid", j->call_sid, "status", status,
                 NULL);
        return;
    }
    atomic_fetch_add(&h->stats.failed, 1);
    http_log("twilio_handoff_failed", "call_id", j->call_id, "call_sid", j->call_sid, "status",
             status, "error", err[0] ? err : NULL, NULL);
    /* Not at once: a provider that keeps refusing must not be asked in a tight loop. */
    struct timespec pause = {0, TWILIO_HANDOFF_RETRY_MS * 1000000L};
    nanosleep(&pause, NULL);
    int64_t now = http_now_ms();
    int rc = queue_requeue(h->st, j->call_id, now);
    store_call row;
    if (rc == ERR_OK && store_call_get(h->st, j->call_id, &row) == ERR_OK) {
        call_events_update(h->bus, &row, NULL, "queued", "handoff_failed", now);
        store_call_clear(&row);
    } else if (rc < 0) {
        http_log("twilio_requeue_failed", "call_id", j->call_id, "error", errors_code(rc), NULL);
    }
}

static void *th_main(void *arg)
{
    twilio_handoff *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        if (h->count == 0) {
            pthread_cond_wait(&h->wake, &h->lock);
            continue;
        }
        twilio_handoff_job j = h->jobs[h->head];
        h->head = (h->head + 1) % TWILIO_HANDOFF_PENDING_MAX;
        h->count--;
        pthread_mutex_unlock(&h->lock);
        th_run(h, &j);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

twilio_handoff *twilio_handoff_start(const twilio_config *cfg, const char *db, events_bus *bus,
                                     char *errbuf, size_t errlen)
{
    snprintf(errbuf, errlen, "%s", "");
    if (!twilio_webhooks_enabled(cfg))
        return NULL;
    twilio_handoff *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->bus = bus;
    if (store_open(db, &h->st, errbuf, errlen) < 0) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    if (events_bus_add_tap(bus, th_tap, h) != 0 ||
        pthread_create(&h->thread, NULL, th_main, h) != 0) {
        snprintf(errbuf, errlen, "cannot start the Twilio hand-off worker");
        pthread_cond_destroy(&h->wake);
        pthread_mutex_destroy(&h->lock);
        store_close(h->st);
        free(h);
        return NULL;
    }
    return h;
}

twilio_handoff_stats *twilio_handoff_stats_of(twilio_handoff *h)
{
    return h ? &h->stats : NULL;
}

void twilio_handoff_stop(twilio_handoff *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    store_close(h->st);
    free(h);
}
