/* call_watch.c -- the registry of suspended long polls (see call_watch.h). Waiters live in a
 * fixed table of slots chained in buckets by their call id's hash; one lock guards it all.
 * Every wake-up removes the waiter under that lock before resuming its connection, so a
 * connection is resumed exactly once per suspension and never after its request ended. A
 * ring of the hashes of the last call events lets a waiter that registers late (after it read
 * the call) see that an event for its call came in between. The timer thread wakes waiters
 * whose deadline or re-check time came, and watches their sockets (epoll, EPOLLRDHUP): a
 * suspended connection is not watched by libmicrohttpd. */
#include "call_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../core/config.h"
#include "http_util.h"

#define CW_BUCKETS 1024 /* a power of two */
#define CW_MIN_SLEEP_MS 10
#define CW_EPOLL_BATCH 64

typedef struct {
    char call_id[CONFIG_ID_MAX];
    uint64_t hash;
    int64_t due_ms; /* the deadline or the next re-check, whichever is earlier */
    void *conn;
    int fd; /* in the epoll set; -1 none */
    int *reason;
    uint32_t gen;   /* bumped on every use of the slot: stale tickets do not match */
    int next, prev; /* bucket chain (next is also the free list); -1 ends */
    bool used;
} cw_waiter;

struct call_watch {
    call_watch_fn suspend, resume;
    pthread_mutex_t lock;
    cw_waiter *slots;
    int cap, count, free_head;
    int buckets[CW_BUCKETS];
    uint64_t recent[CALL_WATCH_RECENT]; /* hash of call event k at (k - 1) % RECENT */
    atomic_ullong seq;                  /* call events so far; written under lock */
    int64_t next_due_ms;                /* when the thread looks next; INT64_MAX idle */
    bool stopping, full_logged;
    int epfd, wakefd;
    pthread_t thread;
    atomic_bool stop;
};

/* FNV-1a: call ids are random, any spread will do. */
static uint64_t cw_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int64_t cw_now_ms(void)
{
    return http_mono_us() / 1000;
}

static unsigned long long cw_ticket(const call_watch *w, int i)
{
    return ((unsigned long long)w->slots[i].gen << 32) | (unsigned long long)(i + 1);
}

/* The slot of a ticket still registered, or -1. Lock held. */
static int cw_find_ticket(const call_watch *w, unsigned long long ticket)
{
    long long i = (long long)(ticket & 0xffffffffULL) - 1;
    if (i < 0 || i >= w->cap || !w->slots[i].used || cw_ticket(w, (int)i) != ticket)
        return -1;
    return (int)i;
}

/* Pokes the thread so that it looks at the waiters again. */
static void cw_poke(call_watch *w)
{
    uint64_t one = 1;
    if (write(w->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        http_log("long_poll_wake_failed", NULL);
}

/* True when an event for the call of `hash` came after `since`, or when that cannot be
 * told any more (more events than the ring keeps). Lock held. */
static bool cw_seen_since(const call_watch *w, uint64_t hash, unsigned long long since)
{
    unsigned long long head = atomic_load(&w->seq);
    if (since >= head)
        return false;
    if (head - since > CALL_WATCH_RECENT)
        return true;
    for (unsigned long long k = since + 1; k <= head; k++)
        if (w->recent[(k - 1) % CALL_WATCH_RECENT] == hash)
            return true;
    return false;
}

/* Takes the waiter out of the table (no resume). Lock held. */
static void cw_remove(call_watch *w, int i)
{
    cw_waiter *x = &w->slots[i];
    if (x->fd >= 0)
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, x->fd, NULL);
    if (x->prev >= 0)
        w->slots[x->prev].next = x->next;
    else
        w->buckets[x->hash & (CW_BUCKETS - 1)] = x->next;
    if (x->next >= 0)
        w->slots[x->next].prev = x->prev;
    x->used = false;
    x->gen++;
    x->conn = NULL;
    x->reason = NULL;
    x->fd = -1;
    x->next = w->free_head;
    x->prev = -1;
    w->free_head = i;
    w->count--;
    if (w->count < w->cap)
        w->full_logged = false;
}

/* Removes the waiter and resumes its connection, saying why. Lock held. */
static void cw_wake(call_watch *w, int i, call_watch_reason why)
{
    void *conn = w->slots[i].conn;
    *w->slots[i].reason = (int)why;
    cw_remove(w, i);
    w->resume(conn);
}

/* The bus tap: every event whose data names a call wakes that call's waiters. */
static void cw_tap(void *arg, const char *type, const char *agent, const json_t *data)
{
    call_watch *w = arg;
    const char *id = json_string_value(json_object_get(data, "call_id"));
    (void)type;
    (void)agent;
    if (!id || !id[0])
        return;
    uint64_t h = cw_hash(id);
    pthread_mutex_lock(&w->lock);
    unsigned long long k = atomic_load(&w->seq) + 1;
    w->recent[(k - 1) % CALL_WATCH_RECENT] = h;
    atomic_store(&w->seq, k);
    for (int i = w->buckets[h & (CW_BUCKETS - 1)]; i >= 0;) {
        int next = w->slots[i].next;
        if (w->slots[i].hash == h && strcmp(w->slots[i].call_id, id) == 0)
            cw_wake(w, i, CALL_WATCH_EVENT);
        i = next;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Wakes the waiters that are due and returns when the next one will be (INT64_MAX none).
 * Lock held. */
static int64_t cw_wake_due(call_watch *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (int b = 0; b < CW_BUCKETS && w->count > 0; b++) {
        for (int i = w->buckets[b]; i >= 0;) {
            int after = w->slots[i].next;
            if (w->slots[i].due_ms <= now)
                cw_wake(w, i, CALL_WATCH_TIMER);
            else if (w->slots[i].due_ms < next)
                next = w->slots[i].due_ms;
            i = after;
        }
    }
    return next;
}

static void *cw_thread(void *arg)
{
    call_watch *w = arg;
    struct epoll_event evs[CW_EPOLL_BATCH];
    while (!atomic_load(&w->stop)) {
        int64_t now = cw_now_ms();
        pthread_mutex_lock(&w->lock);
        int64_t next = cw_wake_due(w, now);
        w->next_due_ms = next;
        pthread_mutex_unlock(&w->lock);
        int timeout = -1;
        if (next != INT64_MAX)
            timeout = next - now < CW_MIN_SLEEP_MS ? CW_MIN_SLEEP_MS : (int)(next - now);
        int n = epoll_wait(w->epfd, evs, CW_EPOLL_BATCH, timeout);
        for (int e = 0; e < n; e++) {
            if (evs[e].data.u64 == 0) {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
                    http_log("long_poll_wake_failed", NULL);
                continue;
            }
            pthread_mutex_lock(&w->lock);
            int i = cw_find_ticket(w, evs[e].data.u64);
            if (i >= 0)
                cw_wake(w, i, CALL_WATCH_GONE);
            pthread_mutex_unlock(&w->lock);
        }
    }
    return NULL;
}

call_watch *call_watch_new(events_bus *bus, int max_waiters, call_watch_fn suspend,
                           call_watch_fn resume)
{
    if (!bus || !suspend || !resume)
        return NULL;
    call_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cap = max_waiters > 0 ? max_waiters : CALL_WATCH_MAX_DEFAULT;
    w->suspend = suspend;
    w->resume = resume;
    w->next_due_ms = INT64_MAX;
    w->wakefd = -1;
    w->slots = calloc((size_t)w->cap, sizeof *w->slots);
    if (!w->slots)
        goto out_free;
    for (int i = 0; i < w->cap; i++) {
        w->slots[i].next = i + 1 < w->cap ? i + 1 : -1;
        w->slots[i].prev = -1;
        w->slots[i].fd = -1;
    }
    for (int b = 0; b < CW_BUCKETS; b++)
        w->buckets[b] = -1;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        goto out_free_slots;
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (w->wakefd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0)
        goto out_close;
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, cw_thread, w) != 0)
        goto out_destroy_lock;
    if (events_bus_add_tap(bus, cw_tap, w) != 0)
        goto out_join;
    return w;
out_join:
    atomic_store(&w->stop, true);
    cw_poke(w);
    pthread_join(w->thread, NULL);
out_destroy_lock:
    pthread_mutex_destroy(&w->lock);
out_close:
    if (w->wakefd >= 0)
        close(w->wakefd);
    close(w->epfd);
out_free_slots:
    free(w->slots);
out_free:
    free(w);
    return NULL;
}

void call_watch_free(call_watch *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    cw_poke(w);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    close(w->wakefd);
    close(w->epfd);
    free(w->slots);
    free(w);
}

unsigned long long call_watch_seq(call_watch *w)
{
    return w ? atomic_load(&w->seq) : 0;
}

int call_watch_add(call_watch *w, const char *call_id, int64_t deadline_ms,
                   unsigned long long since, void *conn, int fd, int *reason,
                   unsigned long long *ticket)
{
    if (!w || !call_id || !call_id[0] || strlen(call_id) >= CONFIG_ID_MAX || !conn || !reason ||
        !ticket)
        return -1;
    pthread_mutex_lock(&w->lock);
    if (w->stopping || w->free_head < 0) {
        if (!w->stopping && !w->full_logged) {
            w->full_logged = true;
            http_log("long_poll_limit", "message", "too many waiting requests; answering at once",
                     NULL);
        }
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    int i = w->free_head;
    cw_waiter *x = &w->slots[i];
    w->free_head = x->next;
    snprintf(x->call_id, sizeof x->call_id, "%s", call_id);
    x->hash = cw_hash(call_id);
    int64_t recheck = cw_now_ms() + CALL_WATCH_RECHECK_MS;
    x->due_ms = deadline_ms < recheck ? deadline_ms : recheck;
    x->conn = conn;
    x->reason = reason;
    x->used = true;
    x->fd = -1;
    x->prev = -1;
    x->next = w->buckets[x->hash & (CW_BUCKETS - 1)];
    if (x->next >= 0)
        w->slots[x->next].prev = i;
    w->buckets[x->hash & (CW_BUCKETS - 1)] = i;
    w->count++;
    *reason = CALL_WATCH_NONE;
    *ticket = cw_ticket(w, i);
    if (fd >= 0) {
        /* Only the peer closing: the request was read whole, and a pipelined request must
         * wait for this one. One shot: the waiter goes as soon as it fires. */
        struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = *ticket};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
            x->fd = fd;
    }
    w->suspend(conn);
    if (cw_seen_since(w, x->hash, since))
        cw_wake(w, i, CALL_WATCH_EVENT);
    else if (x->due_ms < w->next_due_ms)
        cw_poke(w);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void call_watch_cancel(call_watch *w, unsigned long long ticket)
{
    if (!w || !ticket)
        return;
    pthread_mutex_lock(&w->lock);
    int i = cw_find_ticket(w, ticket);
    if (i >= 0)
        cw_remove(w, i);
    pthread_mutex_unlock(&w->lock);
}

int call_watch_count(call_watch *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    int n = w->count;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void call_watch_shutdown(call_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    for (int b = 0; b < CW_BUCKETS; b++)
        while (w->buckets[b] >= 0)
            cw_wake(w, w->buckets[b], CALL_WATCH_STOP);
    pthread_mutex_unlock(&w->lock);
}
