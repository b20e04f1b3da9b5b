/* sse.c -- Server-Sent Events streams over libmicrohttpd (see sse.h). A stream is a
 * response of unknown size whose content reader copies what the event bus has for it and
 * suspends the connection when there is nothing; the bus resumes it. libmicrohttpd does not
 * watch a suspended connection's socket, so the ticker thread keeps a duplicate of each
 * stream's socket in its own epoll set (EPOLLRDHUP): a client that closes its end ends the
 * stream at once, and a vanished peer is found by the keepalive written every second. */
#include "sse.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "http_util.h"

#define SSE_BLOCK_SIZE (16 * 1024) /* bytes the content reader may be asked for at once */
#define SSE_TICK_MS 1000
#define SSE_EPOLL_BATCH 32

/* An agent with open console streams in this process, and how many. */
typedef struct {
    char agent[CONFIG_ID_MAX];
    int streams;
} sse_agent;

struct sse {
    events_bus *bus;
    sse_store_fn thread_store;
    void *store_arg;
    store *tick_store; /* the ticker thread's own connection */
    int epfd, wakefd;
    pthread_t ticker;
    atomic_bool stop;
    pthread_mutex_t reg_lock; /* guards agents and serialises stream registration writes */
    sse_agent *agents;
    int n_agents, cap_agents;
};

struct sse_stream {
    sse *x;
    events_sub *sub;
    struct MHD_Connection *conn;
    char agent[CONFIG_ID_MAX]; /* "" for the dashboards' stream */
    int watch_fd;              /* our duplicate of the socket, in the epoll set; -1 none */
    atomic_int refs;           /* the response's free callback and sse_completed */
    atomic_bool detached;
};

/* ---- agents' stream registrations ------------------------------------------------------- */

/* The entry of `agent`, added when `add`; NULL when absent or out of memory. reg_lock held. */
static sse_agent *sse_agent_find(sse *x, const char *agent, bool add)
{
    for (int i = 0; i < x->n_agents; i++)
        if (strcmp(x->agents[i].agent, agent) == 0)
            return &x->agents[i];
    if (!add)
        return NULL;
    if (x->n_agents == x->cap_agents) {
        int cap = x->cap_agents ? x->cap_agents * 2 : 16;
        sse_agent *na = realloc(x->agents, (size_t)cap * sizeof *na);
        if (!na)
            return NULL;
        x->agents = na;
        x->cap_agents = cap;
    }
    sse_agent *a = &x->agents[x->n_agents++];
    snprintf(a->agent, sizeof a->agent, "%s", agent);
    a->streams = 0;
    return a;
}

static void sse_agent_remove(sse *x, sse_agent *a)
{
    *a = x->agents[--x->n_agents];
}

/* Tells the dashboards that an agent's console stream opened or closed. */
static void sse_publish_presence(sse *x, store *st, const char *agent, bool open, int64_t now_ms)
{
    config *cfg = NULL;
    bool connected = open;
    int64_t until = 0;
    if (store_config_load(st, &cfg, NULL, 0) == ERR_OK) {
        int i = config_find_agent(cfg, agent);
        if (i >= 0) {
            until = cfg->agents[i].registered_until_ms;
            connected = until > now_ms;
        }
        config_free(cfg);
    }
    events_publish(x->bus, "agent.presence", NULL, true,
                   json_pack("{s:s, s:s, s:b, s:I}", "agent", agent, "stream",
                             open ? "opened" : "closed", "connected", connected,
                             "registered_until_ms", (json_int_t)until),
                   now_ms);
}

/* Renews the stream registration of every agent with an open stream (ticker thread). */
static void sse_renew(sse *x)
{
    int64_t until = http_now_ms() + SSE_STREAM_TTL_MS;
    pthread_mutex_lock(&x->reg_lock);
    if (x->n_agents > 0 && store_begin(x->tick_store) == ERR_OK) {
        for (int i = 0; i < x->n_agents; i++)
            store_agent_stream(x->tick_store, x->agents[i].agent, until);
        if (store_commit(x->tick_store) != ERR_OK) {
            store_rollback(x->tick_store);
            http_log("stream_renew_failed", NULL);
        }
    }
    pthread_mutex_unlock(&x->reg_lock);
}

/* ---- the ticker ------------------------------------------------------------------------- */

static void *sse_ticker(void *arg)
{
    sse *x = arg;
    struct epoll_event evs[SSE_EPOLL_BATCH];
    int64_t next_tick = http_mono_us() / 1000 + SSE_TICK_MS;
    unsigned ticks = 0;
    while (!atomic_load(&x->stop)) {
        int64_t now = http_mono_us() / 1000;
        int timeout = next_tick > now ? (int)(next_tick - now) : 0;
        int n = epoll_wait(x->epfd, evs, SSE_EPOLL_BATCH, timeout);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 0) {
                uint64_t v;
                if (read(x->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
                    http_log("stream_wake_failed", NULL);
                continue;
            }
            events_kill(x->bus, evs[i].data.u64); /* the client closed its end */
        }
        if (http_mono_us() / 1000 >= next_tick) {
            next_tick += SSE_TICK_MS;
            events_tick(x->bus);
            if (++ticks % SSE_RENEW_TICKS == 0)
                sse_renew(x);
        }
    }
    return NULL;
}

sse *sse_new(events_bus *bus, const char *db, sse_store_fn thread_store, void *store_arg)
{
    char errbuf[STORE_ERR_MAX] = "";
    sse *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->bus = bus;
    x->thread_store = thread_store;
    x->store_arg = store_arg;
    x->wakefd = -1;
    x->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (x->epfd < 0)
        goto out_free;
    x->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    if (x->wakefd < 0 || epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->wakefd, &ev) != 0)
        goto out_close;
    if (store_open(db, &x->tick_store, errbuf, sizeof errbuf) != ERR_OK) {
        fprintf(stderr, "sureconnect: serve: event streams: %s\n", errbuf);
        goto out_close;
    }
    pthread_mutex_init(&x->reg_lock, NULL);
    if (pthread_create(&x->ticker, NULL, sse_ticker, x) != 0) {
        fprintf(stderr, "sureconnect: serve: cannot start the event stream ticker\n");
        goto out_store;
    }
    return x;
out_store:
    pthread_mutex_destroy(&x->reg_lock);
    store_close(x->tick_store);
out_close:
    if (x->wakefd >= 0)
        close(x->wakefd);
    close(x->epfd);
out_free:
    free(x);
    return NULL;
}

void sse_shutdown(sse *x)
{
    if (x)
        events_shutdown(x->bus);
}

void sse_free(sse *x)
{
    if (!x)
        return;
    uint64_t one = 1;
    atomic_store(&x->stop, true);
    if (write(x->wakefd, &one, sizeof one) < 0)
        http_log("stream_wake_failed", NULL);
    pthread_join(x->ticker, NULL);
    store_close(x->tick_store);
    pthread_mutex_destroy(&x->reg_lock);
    close(x->wakefd);
    close(x->epfd);
    free(x->agents);
    free(x);
}

/* ---- one stream ------------------------------------------------------------------------- */

static void sse_park(void *arg)
{
    sse_stream *st = arg;
    MHD_suspend_connection(st->conn);
}

static void sse_wake(void *arg)
{
    sse_stream *st = arg;
    MHD_resume_connection(st->conn);
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    sse_stream *st = cls;
    (void)pos;
    ssize_t n = events_read(st->sub, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void sse_release(sse_stream *st)
{
    if (atomic_fetch_sub(&st->refs, 1) == 1)
        free(st);
}

/* The response is gone: no more reads. */
static void sse_response_free(void *cls)
{
    sse_stream *st = cls;
    events_unsubscribe(st->sub);
    st->sub = NULL;
    sse_release(st);
}

/* Stops watching the socket and drops the agent's stream registration when this was its
 * last stream. Runs once. */
static void sse_detach(sse_stream *st)
{
    sse *x = st->x;
    if (atomic_exchange(&st->detached, true))
        return;
    if (st->watch_fd >= 0) {
        epoll_ctl(x->epfd, EPOLL_CTL_DEL, st->watch_fd, NULL);
        close(st->watch_fd);
        st->watch_fd = -1;
    }
    if (!st->agent[0]) {
        http_log("stream_closed", "stream", "admin", NULL);
        return;
    }
    store *db = x->thread_store(x->store_arg);
    int64_t now = http_now_ms();
    bool last = false;
    pthread_mutex_lock(&x->reg_lock);
    sse_agent *a = sse_agent_find(x, st->agent, false);
    if (a && --a->streams <= 0) {
        sse_agent_remove(x, a);
        last = true;
        if (!db || store_agent_stream(db, st->agent, 0) < 0)
            http_log("stream_unregister_failed", "agent", st->agent, NULL);
    }
    pthread_mutex_unlock(&x->reg_lock);
    http_log("stream_closed", "stream", "agent", "agent", st->agent, "last_stream",
             last ? "yes" : "no", NULL);
    if (last && db)
        sse_publish_presence(x, db, st->agent, false, now);
}

void sse_completed(sse *x, sse_stream *st)
{
    (void)x;
    if (!st)
        return;
    sse_detach(st);
    sse_release(st);
}

/* Registers the agent's stream (reg_lock serialises it with the ticker's renewals). */
static int sse_register(sse *x, const char *agent, int64_t now_ms)
{
    store *db = x->thread_store(x->store_arg);
    if (!db)
        return ERR_STORE;
    pthread_mutex_lock(&x->reg_lock);
    sse_agent *a = sse_agent_find(x, agent, true);
    int rc = a ? store_agent_stream(db, agent, now_ms + SSE_STREAM_TTL_MS) : ERR_NOMEM;
    if (rc == ERR_OK)
        a->streams++;
    else if (a && a->streams == 0)
        sse_agent_remove(x, a);
    pthread_mutex_unlock(&x->reg_lock);
    if (rc == ERR_OK)
        sse_publish_presence(x, db, agent, true, now_ms);
    return rc;
}

/* Watches a duplicate of the stream's socket for the peer closing its end. A failure only
 * means the keepalive will notice instead. */
static void sse_watch(sse *x, sse_stream *st)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    int fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT,
                             .data.u64 = events_sub_id(st->sub)};
    if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return;
    }
    st->watch_fd = fd;
}

struct MHD_Response *sse_open(sse *x, struct MHD_Connection *c, const char *agent,
                              const char *last_event_id, int64_t now_ms, sse_stream **out)
{
    long long last = -1;
    *out = NULL;
    if (last_event_id) {
        char *end;
        errno = 0;
        last = strtoll(last_event_id, &end, 10);
        if (errno || end == last_event_id || *end || last < 0)
            last = 0; /* unreadable: treated as too old (a lag event) */
    }
    sse_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->x = x;
    st->conn = c;
    st->watch_fd = -1;
    snprintf(st->agent, sizeof st->agent, "%s", agent ? agent : "");
    atomic_init(&st->refs, 2);
    st->sub = events_subscribe(x->bus, agent, last, sse_park, sse_wake, st);
    if (!st->sub)
        goto out_free;
    if (agent && sse_register(x, agent, now_ms) != ERR_OK)
        goto out_unsub;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE, sse_reader, st, sse_response_free);
    if (!resp)
        goto out_detach;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    sse_watch(x, st);
    http_log("stream_open", "stream", agent ? "agent" : "admin", "agent", agent, NULL);
    *out = st;
    return resp;
out_detach:
    sse_detach(st);
out_unsub:
    events_unsubscribe(st->sub);
out_free:
    free(st);
    return NULL;
}
