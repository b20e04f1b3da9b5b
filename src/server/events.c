/* events.c -- the in-process event bus behind the SSE streams: a ring of SSE frames with
 * sequence numbers under one mutex, and subscribers with a cursor each (see events.h). */
#include "events.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "http_util.h"

#define EVENTS_TYPE_MAX 40  /* an event type's name ("callback.completed") */
#define EVENTS_PEND_MAX 256 /* a subscriber's control bytes: ready, lag, keepalive */
#define EVENTS_RETRY_MS 2000

static const char events_keepalive[] = ": keepalive\n\n";

/* One event of the ring. Its SSE frame is written the first time a subscriber reads it,
 * so events nobody streams (most of them, on a busy daemon without dashboards) cost no
 * serialisation. */
typedef struct {
    unsigned long long seq; /* 0: empty */
    char agent[CONFIG_ID_MAX];
    bool admin;
    char type[EVENTS_TYPE_MAX];
    json_t *data; /* the event until its frame is written (owned) */
    char *frame;  /* "id: N\nevent: TYPE\ndata: JSON\n\n" (owned), NULL until read */
    size_t len;   /* 0 once written as "dropped" (too large or out of memory) */
} events_slot;

struct events_sub {
    events_bus *bus;
    unsigned long long id;
    char agent[CONFIG_ID_MAX]; /* "" for the dashboards' stream */
    unsigned long long next;   /* sequence of the next event to look at */
    size_t off;                /* bytes of event `next` already copied (a split frame) */
    char pend[EVENTS_PEND_MAX];
    size_t pend_len, pend_off;
    bool keepalive, parked, gone;
    events_fn park, wake;
    void *arg;
    events_sub *prev, *nextsub;
};

struct events_bus {
    pthread_mutex_t lock;
    events_slot *ring;
    size_t cap;
    unsigned long long base; /* sequences start after it (unique across restarts) */
    unsigned long long head; /* sequence of the last event published, base when none */
    unsigned long long next_sub_id;
    bool closing;
    events_sub *subs;
    events_tap_fn taps[EVENTS_TAPS_MAX];
    void *tap_args[EVENTS_TAPS_MAX];
    int n_taps;
};

events_bus *events_bus_new(size_t capacity, int64_t now_ms)
{
    events_bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = capacity ? capacity : EVENTS_RING_DEFAULT;
    b->ring = calloc(b->cap, sizeof *b->ring);
    if (!b->ring) {
        free(b);
        return NULL;
    }
    b->base = b->head = (unsigned long long)(now_ms > 0 ? now_ms : 0) * 1000u;
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void events_bus_free(events_bus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->cap; i++) {
        free(b->ring[i].frame);
        json_decref(b->ring[i].data);
    }
    free(b->ring);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int events_bus_add_tap(events_bus *b, events_tap_fn fn, void *arg)
{
    if (!b || !fn || b->n_taps >= EVENTS_TAPS_MAX)
        return -1;
    b->taps[b->n_taps] = fn;
    b->tap_args[b->n_taps] = arg;
    b->n_taps++;
    return 0;
}

/* The oldest sequence still in the ring. Lock held. */
static unsigned long long events_oldest(const events_bus *b)
{
    return b->head - b->base >= b->cap ? b->head - b->cap + 1 : b->base + 1;
}

static bool events_matches(const events_slot *slot, const events_sub *s)
{
    return s->agent[0] ? strcmp(slot->agent, s->agent) == 0 : slot->admin;
}

/* Appends control text to the subscriber's pending bytes if it fits. Lock held. */
__attribute__((format(printf, 2, 3))) static void events_pend(events_sub *s, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof s->pend - s->pend_len;
    va_start(ap, fmt);
    int n = vsnprintf(s->pend + s->pend_len, room, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < room)
        s->pend_len += (size_t)n;
    else
        s->pend[s->pend_len] = '\0'; /* did not fit: dropped */
}

void events_publish(events_bus *b, const char *type, const char *agent, bool admin, json_t *data,
                    int64_t now_ms)
{
    if (!b || !data || !type)
        goto out_free;
    if (json_object_set_new(data, "type", json_string(type)) != 0 ||
        json_object_set_new(data, "time_ms", json_integer(now_ms)) != 0)
        goto out_free;
    for (int i = 0; i < b->n_taps; i++)
        b->taps[i](b->tap_args[i], type, agent ? agent : "", data);
    pthread_mutex_lock(&b->lock);
    unsigned long long seq = ++b->head;
    events_slot *slot = &b->ring[seq % b->cap];
    json_t *old = slot->data;
    char *old_frame = slot->frame;
    slot->seq = seq;
    snprintf(slot->type, sizeof slot->type, "%s", type);
    slot->data = data;
    slot->frame = NULL;
    slot->len = 0;
    slot->admin = admin;
    snprintf(slot->agent, sizeof slot->agent, "%s", agent ? agent : "");
    data = NULL;
    for (events_sub *s = b->subs; s; s = s->nextsub) {
        if (s->parked && events_matches(slot, s)) {
            s->parked = false;
            s->wake(s->arg);
        }
    }
    pthread_mutex_unlock(&b->lock);
    /* The event it replaced is freed outside the lock. */
    json_decref(old);
    free(old_frame);
out_free:
    json_decref(data);
}

/* Writes a slot's SSE frame on its first read; an event too large for a frame (or out of
 * memory) is dropped and logged, and its slot then has neither data nor frame (streams
 * skip it). Lock held. */
static void events_write_frame(events_slot *slot)
{
    if (slot->frame || !slot->data)
        return;
    char *json = json_dumps(slot->data, JSON_COMPACT);
    size_t cap = json ? strlen(json) + strlen(slot->type) + 64 : 0;
    json_decref(slot->data);
    slot->data = NULL;
    slot->len = 0;
    if (cap > EVENTS_FRAME_MAX)
        http_log("event_dropped", "type", slot->type, "reason", "too_large", NULL);
    else if (json && (slot->frame = malloc(cap)) != NULL) {
        int n = snprintf(slot->frame, cap, "id: %llu\nevent: %s\ndata: %s\n\n", slot->seq,
                         slot->type, json);
        slot->len = (size_t)n; /* < cap: the frame's parts fit by construction */
    }
    free(json);
}

events_sub *events_subscribe(events_bus *b, const char *agent, long long last_id, events_fn park,
                             events_fn wake, void *arg)
{
    events_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->bus = b;
    s->park = park;
    s->wake = wake;
    s->arg = arg;
    snprintf(s->agent, sizeof s->agent, "%s", agent ? agent : "");
    pthread_mutex_lock(&b->lock);
    s->id = ++b->next_sub_id;
    events_pend(
        s, "retry: %d\nevent: ready\ndata: {\"type\":\"ready\",\"stream\":\"%s\",\"seq\":%llu}\n\n",
        EVENTS_RETRY_MS, agent ? "agent" : "admin", b->head);
    if (last_id < 0 || (unsigned long long)last_id >= b->head)
        s->next = b->head + 1;
    else
        s->next = (unsigned long long)last_id + 1; /* a lag notice if it is gone (read) */
    s->nextsub = b->subs;
    if (b->subs)
        b->subs->prev = s;
    b->subs = s;
    pthread_mutex_unlock(&b->lock);
    return s;
}

void events_unsubscribe(events_sub *s)
{
    if (!s)
        return;
    events_bus *b = s->bus;
    pthread_mutex_lock(&b->lock);
    if (s->prev)
        s->prev->nextsub = s->nextsub;
    else
        b->subs = s->nextsub;
    if (s->nextsub)
        s->nextsub->prev = s->prev;
    pthread_mutex_unlock(&b->lock);
    free(s);
}

unsigned long long events_sub_id(const events_sub *s)
{
    return s ? s->id : 0;
}

ssize_t events_read(events_sub *s, char *buf, size_t cap)
{
    events_bus *b = s->bus;
    size_t n = 0;
    pthread_mutex_lock(&b->lock);
    if (b->closing || s->gone) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    unsigned long long oldest = events_oldest(b);
    if (s->off > 0 && b->ring[s->next % b->cap].seq != s->next) {
        /* The rest of a split frame was overwritten: end the event, skip it. */
        events_pend(s, "\n\n");
        s->off = 0;
        s->next++;
    }
    if (s->next < oldest) {
        /* Fell behind the ring (a slow reader, or an old Last-Event-ID). */
        events_pend(
            s, "event: lag\ndata: {\"type\":\"lag\",\"missed_from\":%llu,\"resume_at\":%llu}\n\n",
            s->next, oldest);
        s->next = oldest;
    }
    if (s->keepalive) {
        events_pend(s, "%s", events_keepalive);
        s->keepalive = false;
    }
    if (s->pend_off < s->pend_len) {
        size_t k = s->pend_len - s->pend_off;
        if (k > cap)
            k = cap;
        memcpy(buf, s->pend + s->pend_off, k);
        n += k;
        s->pend_off += k;
        if (s->pend_off == s->pend_len)
            s->pend_off = s->pend_len = 0;
    }
    while (s->pend_len == 0 && s->next <= b->head) {
        events_slot *slot = &b->ring[s->next % b->cap];
        if (slot->seq == s->next && events_matches(slot, s))
            events_write_frame(slot);
        if (slot->seq != s->next || !events_matches(slot, s) || !slot->frame) {
            s->next++;
            continue;
        }
        size_t want = slot->len - s->off;
        if (want > cap - n) {
            if (n > 0)
                break;  /* whole frames when they fit: the rest on the next read */
            want = cap; /* larger than the whole buffer: split it */
        }
        memcpy(buf + n, slot->frame + s->off, want);
        n += want;
        s->off += want;
        if (s->off < slot->len)
            break;
        s->off = 0;
        s->next++;
    }
    if (n == 0) {
        s->parked = true;
        s->park(s->arg);
    }
    pthread_mutex_unlock(&b->lock);
    return (ssize_t)n;
}

void events_tick(events_bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    for (events_sub *s = b->subs; s; s = s->nextsub) {
        s->keepalive = true;
        if (s->parked) {
            s->parked = false;
            s->wake(s->arg);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

void events_kill(events_bus *b, unsigned long long id)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    for (events_sub *s = b->subs; s; s = s->nextsub) {
        if (s->id != id)
            continue;
        s->gone = true;
        if (s->parked) {
            s->parked = false;
            s->wake(s->arg);
        }
        break;
    }
    pthread_mutex_unlock(&b->lock);
}

void events_shutdown(events_bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->closing = true;
    for (events_sub *s = b->subs; s; s = s->nextsub) {
        if (s->parked) {
            s->parked = false;
            s->wake(s->arg);
        }
    }
    pthread_mutex_unlock(&b->lock);
}
