/* bench_http.c -- route-and-end pairs through the real daemon (issue 3): starts
 * build/sureconnect serve on a temporary database with several registered agents, then
 * drives POST /v1/calls and POST /v1/calls/{id}/ended over keep-alive HTTP/1.1 connections
 * from one epoll thread (raw sockets, so the load generator stays cheap), closed loop for
 * maximum throughput and open loop at a fixed rate for latency, and stops the daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_report.h"

#define BENCH_AGENTS 8
#define BENCH_THREADS 4     /* daemon pool threads (serve --threads; $BENCH_THREADS) */
#define BENCH_CONNS 32      /* keep-alive connections of the closed loop */
#define BENCH_OPEN_CONNS 16 /* connections available to the open loop */
#define BENCH_ROUNDS 5      /* closed-loop rounds; the median is reported */
#define BENCH_ROUND_S 2.0   /* seconds per closed-loop round */
#define BENCH_WARMUP_S 0.5
#define BENCH_OPEN_RATE 1000 /* pairs started per second in the open loop */
#define BENCH_OPEN_S 5       /* seconds of open loop */
#define BENCH_TARGET_PAIRS 5000.0
#define BENCH_TARGET_P99_MS 5.0
#define BENCH_IN_MAX (256 * 1024) /* a reply larger than this is an error */
#define BENCH_OUT_MAX 1024
#define BENCH_SAMPLES_MAX (1 << 21)
#define BENCH_START_TIMEOUT_S 10
#define BENCH_STOP_TIMEOUT_S 20

static const char *const bench_callers[] = {"+15125550100", "+13055550123", "+14155550199",
                                            "+12125550111", "+17135550142", "+16175550177"};
#define BENCH_N_CALLERS ((int)(sizeof bench_callers / sizeof bench_callers[0]))

/* One keep-alive connection and the request it has in flight. */
typedef enum { CONN_IDLE = 0, CONN_ROUTE, CONN_END } conn_phase;

typedef struct {
    int fd;
    conn_phase phase;
    int64_t t_sent;  /* ns: when the current request was written */
    int64_t t_start; /* ns: when the pair was due (open loop) or began (closed loop) */
    size_t in_len;
    char call_id[64];
    char in[BENCH_IN_MAX];
} bench_conn;

/* Latency samples in microseconds. */
typedef struct {
    int32_t *us;
    size_t n;
} bench_samples;

typedef struct {
    int ep;
    struct sockaddr_in addr;
    char key[128];
    bench_conn *conns;
    int n_conns;
    bench_samples route, end;
    long pairs, errors, rejected; /* rejected: 503 back-pressure answers */
    long caller;
} bench_ctx;

/* The q-quantile of the samples in milliseconds (sorts them); 0 when empty. */
static double bench_quantile_ms(bench_samples *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->us, s->n, sizeof s->us[0], bench_cmp_i32);
    size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
    return s->us[i] / 1000.0;
}

static void bench_sample(bench_samples *s, int64_t ns)
{
    if (s->n < BENCH_SAMPLES_MAX)
        s->us[s->n++] = (int32_t)(ns / 1000 > INT32_MAX ? INT32_MAX : ns / 1000);
}

/* ---- the daemon ----------------------------------------------------------------------- */

/* The daemon's pool size: $BENCH_THREADS (1-64), else BENCH_THREADS. */
static int bench_threads(void)
{
    const char *v = getenv("BENCH_THREADS");
    int n = v ? atoi(v) : 0;
    return n >= 1 && n <= 64 ? n : BENCH_THREADS;
}

/* Reads /proc/PID/stat into buf[cap]; returns what follows the command name (which may
 * hold spaces, so up to the last ')'): field 3 onwards. NULL when it cannot be read. */
static const char *bench_proc_stat(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

/* CPU seconds (user + system) the process `pid` has used, from /proc/PID/stat; -1. */
static double bench_proc_cpu(pid_t pid)
{
    char buf[1024];
    const char *p = bench_proc_stat(pid, buf, sizeof buf);
    unsigned long long utime = 0, stime = 0;
    /* After ")": state (field 3), ..., utime (14), stime (15). */
    if (!p ||
        sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The daemon's minor page faults so far (field 10 of /proc/PID/stat), or -1: refaulting
 * memory that the allocator gave back to the kernel shows here. */
static double bench_proc_minflt(pid_t pid)
{
    char buf[1024];
    const char *p = bench_proc_stat(pid, buf, sizeof buf);
    unsigned long long minflt = 0;
    if (!p || sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %llu", &minflt) != 1)
        return -1;
    return (double)minflt;
}

static double bench_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- the load generator --------------------------------------------------------------- */

static int bench_connect(bench_ctx *cx, bench_conn *c)
{
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&cx->addr, sizeof cx->addr) != 0)
        return -1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = c}};
    return epoll_ctl(cx->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Writes one request whole (small requests fit the socket buffer). Returns 0 or -1. */
static int bench_send(bench_conn *c, const char *req, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(c->fd, req + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    c->t_sent = bench_now_ns();
    c->in_len = 0;
    return 0;
}

static int bench_send_route(bench_ctx *cx, bench_conn *c)
{
    char body[128], req[BENCH_OUT_MAX];
    int bl = snprintf(body, sizeof body, "{\"to\":\"+18005550100\",\"from\":\"%s\"}",
                      bench_callers[cx->caller++ % BENCH_N_CALLERS]);
    int rl = snprintf(req, sizeof req,
                      "POST /v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                      cx->key, bl, body);
    c->phase = CONN_ROUTE;
    return bench_send(c, req, (size_t)rl);
}

static int bench_send_end(bench_ctx *cx, bench_conn *c)
{
    char req[BENCH_OUT_MAX];
    int rl = snprintf(req, sizeof req,
                      "POST /v1/calls/%s/ended HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
                      c->call_id, cx->key);
    c->phase = CONN_END;
    return bench_send(c, req, (size_t)rl);
}

/* Parses a complete response in c->in: returns its length (status in *status, body at
 * *body), 0 when incomplete, -1 when malformed. */
static long bench_parse(bench_conn *c, int *status, const char **body)
{
    c->in[c->in_len] = '\0';
    const char *hend = strstr(c->in, "\r\n\r\n");
    if (!hend)
        return c->in_len >= BENCH_IN_MAX - 1 ? -1 : 0;
    if (sscanf(c->in, "HTTP/1.%*d %d", status) != 1)
        return -1;
    long clen = -1;
    for (const char *p = strstr(c->in, "\r\n"); p && p < hend; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
            clen = strtol(p + 17, NULL, 10);
    if (clen < 0)
        return -1;
    size_t total = (size_t)(hend + 4 - c->in) + (size_t)clen;
    if (total >= BENCH_IN_MAX)
        return -1;
    if (c->in_len < total)
        return 0;
    *body = hend + 4;
    return (long)total;
}

/* Copies the "call_id" of a route reply into c->call_id. Returns 0 or -1. */
static int bench_take_call_id(bench_conn *c, const char *body)
{
    static const char key[] = "\"call_id\":\"";
    const char *p = strstr(body, key);
    if (!p)
        return -1;
    p += sizeof key - 1;
    size_t n = strcspn(p, "\"");
    if (n == 0 || n >= sizeof c->call_id)
        return -1;
    memcpy(c->call_id, p, n);
    c->call_id[n] = '\0';
    return 0;
}

/* Reads what the connection has; on a complete response records it and moves the pair
 * on (route -> end -> idle). Returns 1 when the pair finished (idle again), 0 when still
 * busy, -1 on a connection failure. */
static int bench_on_readable(bench_ctx *cx, bench_conn *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->in + c->in_len, BENCH_IN_MAX - 1 - c->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0)
            return -1;
        c->in_len += (size_t)r;
    }
    int status = 0;
    const char *body = NULL;
    long len = bench_parse(c, &status, &body);
    if (len <= 0)
        return (int)len;
    if ((size_t)len != c->in_len)
        return -1; /* one request in flight at a time: nothing may follow */
    int64_t now = bench_now_ns();
    if (c->phase == CONN_ROUTE) {
        bench_sample(&cx->route, now - c->t_start);
        if (status != 201 || bench_take_call_id(c, body) != 0) {
            if (status == 503)
                cx->rejected++;
            else
                cx->errors++;
            c->phase = CONN_IDLE;
            return 1;
        }
        return bench_send_end(cx, c) == 0 ? 0 : -1;
    }
    if (c->phase == CONN_END) {
        bench_sample(&cx->end, now - c->t_sent);
        if (status == 200)
            cx->pairs++;
        else if (status == 503)
            cx->rejected++;
        else
            cx->errors++;
        c->phase = CONN_IDLE;
        return 1;
    }
    return -1;
}

static void bench_reset_counts(bench_ctx *cx)
{
    cx->route.n = cx->end.n = 0;
    cx->pairs = cx->errors = cx->rejected = 0;
}

/* Closed loop over the first `n` connections for `seconds`: each starts its next pair as
 * soon as the previous one finishes. Pairs still in flight at the end are drained (not
 * counted). Returns pairs per second, or -1 on a connection failure. */
static double bench_closed(bench_ctx *cx, int n, double seconds)
{
    struct epoll_event evs[64];
    bench_reset_counts(cx);
    int64_t t0 = bench_now_ns(), deadline = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < n; i++) {
        cx->conns[i].t_start = t0;
        if (bench_send_route(cx, &cx->conns[i]) != 0)
            return -1;
    }
    long pairs_at_deadline = -1;
    int busy = n;
    int64_t t_end = deadline;
    while (busy > 0) {
        int k = epoll_wait(cx->ep, evs, 64, 100);
        if (k < 0 && errno != EINTR)
            return -1;
        int64_t now = bench_now_ns();
        if (pairs_at_deadline < 0 && now >= deadline) {
            pairs_at_deadline = cx->pairs;
            t_end = now;
        }
        for (int i = 0; i < k; i++) {
            bench_conn *c = evs[i].data.ptr;
            int r = bench_on_readable(cx, c);
            if (r < 0)
                return -1;
            if (r == 1) {
                if (pairs_at_deadline < 0) {
                    c->t_start = bench_now_ns();
                    if (bench_send_route(cx, c) != 0)
                        return -1;
                } else {
                    busy--;
                }
            }
        }
    }
    if (pairs_at_deadline < 0)
        pairs_at_deadline = cx->pairs;
    return (double)pairs_at_deadline / ((double)(t_end - t0) / 1e9);
}

/* Open loop: pair k is due at t0 + k / rate; it starts on an idle connection when one is
 * free, else as soon as one frees up, and its route latency counts from when it was due
 * (so a slow server cannot hide queueing). Returns the pairs started late, or -1. */
static long bench_open(bench_ctx *cx, int n, int rate, int seconds)
{
    struct epoll_event evs[64];
    long total = (long)rate * seconds, started = 0, late = 0;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (tfd < 0)
        return -1;
    struct epoll_event tev = {.events = EPOLLIN, .data = {.ptr = NULL}};
    if (epoll_ctl(cx->ep, EPOLL_CTL_ADD, tfd, &tev) != 0) {
        close(tfd);
        return -1;
    }
    bench_reset_counts(cx);
    int64_t t0 = bench_now_ns() + 1000000;
    int busy = 0;
    long result = -1;
    while (started < total || busy > 0) {
        int64_t now = bench_now_ns();
        /* Start every pair that is due, while connections are free. */
        for (int i = 0; i < n && started < total; i++) {
            int64_t due = t0 + (int64_t)((double)started * 1e9 / rate);
            if (due > now)
                break;
            bench_conn *c = &cx->conns[i];
            if (c->phase != CONN_IDLE)
                continue;
            c->t_start = due;
            late += now - due > 1000000;
            if (bench_send_route(cx, c) != 0)
                goto out_close;
            started++;
            busy++;
        }
        if (started < total) {
            int64_t due = t0 + (int64_t)((double)started * 1e9 / rate);
            struct itimerspec its = {{0, 0}, {0, 0}};
            int64_t wait = due - bench_now_ns();
            if (wait < 1000)
                wait = 1000;
            its.it_value.tv_sec = wait / 1000000000LL;
            its.it_value.tv_nsec = wait % 1000000000LL;
            timerfd_settime(tfd, 0, &its, NULL);
        }
        int k = epoll_wait(cx->ep, evs, 64, 100);
        if (k < 0 && errno != EINTR)
            goto out_close;
        for (int i = 0; i < k; i++) {
            bench_conn *c = evs[i].data.ptr;
            if (!c) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                    goto out_close;
                continue;
            }
            int r = bench_on_readable(cx, c);
            if (r < 0)
                goto out_close;
            busy -= r;
        }
    }
    result = late;
out_close:
    epoll_ctl(cx->ep, EPOLL_CTL_DEL, tfd, NULL);
    close(tfd);
    return result;
}

/* ---- main ------------------------------------------------------------------------------ */

static int bench_run(bench_ctx *cx, pid_t daemon)
{
    double rates[BENCH_ROUNDS], r50[BENCH_ROUNDS], r99[BENCH_ROUNDS], e50[BENCH_ROUNDS],
        e99[BENCH_ROUNDS];
    long errors = 0, rejected = 0, pairs_total = 0;
    if (bench_closed(cx, BENCH_CONNS, BENCH_WARMUP_S) < 0) {
        fprintf(stderr, "bench_http: warm-up failed\n");
        return -1;
    }
    double cpu_self0 = bench_self_cpu(), cpu_daemon0 = bench_proc_cpu(daemon);
    double flt0 = bench_proc_minflt(daemon);
    int64_t wall0 = bench_now_ns();
    printf("closed loop: %d keep-alive connections, %d rounds of %.1f s, daemon --threads %d\n",
           BENCH_CONNS, BENCH_ROUNDS, BENCH_ROUND_S, bench_threads());
    for (int i = 0; i < BENCH_ROUNDS; i++) {
        rates[i] = bench_closed(cx, BENCH_CONNS, BENCH_ROUND_S);
        if (rates[i] < 0) {
            fprintf(stderr, "bench_http: a connection failed\n");
            return -1;
        }
        r50[i] = bench_quantile_ms(&cx->route, 0.50);
        r99[i] = bench_quantile_ms(&cx->route, 0.99);
        e50[i] = bench_quantile_ms(&cx->end, 0.50);
        e99[i] = bench_quantile_ms(&cx->end, 0.99);
        errors += cx->errors;
        rejected += cx->rejected;
        pairs_total += cx->pairs;
        printf("  round %d: %7.0f pairs/s  route p50 %.2f ms p99 %.2f ms  end p50 %.2f ms p99 "
               "%.2f ms  (errors %ld, 503 %ld)\n",
               i + 1, rates[i], r50[i], r99[i], e50[i], e99[i], cx->errors, cx->rejected);
    }
    double wall = (double)(bench_now_ns() - wall0) / 1e9;
    double cpu_self = bench_self_cpu() - cpu_self0;
    double cpu_daemon = bench_proc_cpu(daemon) - cpu_daemon0;
    double flt = bench_proc_minflt(daemon) - flt0;
    qsort(rates, BENCH_ROUNDS, sizeof rates[0], bench_cmp_dbl);
    qsort(r50, BENCH_ROUNDS, sizeof r50[0], bench_cmp_dbl);
    qsort(r99, BENCH_ROUNDS, sizeof r99[0], bench_cmp_dbl);
    qsort(e50, BENCH_ROUNDS, sizeof e50[0], bench_cmp_dbl);
    qsort(e99, BENCH_ROUNDS, sizeof e99[0], bench_cmp_dbl);
    int m = BENCH_ROUNDS / 2;
    printf("  median: %.0f pairs/s; route p50 %.2f ms p99 %.2f ms; end p50 %.2f ms p99 %.2f ms\n",
           rates[m], r50[m], r99[m], e50[m], e99[m]);
    printf("  CPU over %.1f s of closed loop: load generator %.2f s (%.0f%% of one core),"
           " daemon %.2f s (%.0f%%)\n",
           wall, cpu_self, 100 * cpu_self / wall, cpu_daemon, 100 * cpu_daemon / wall);
    /* CPU time per pair does not depend on how much CPU other work on the machine left
     * the daemon, so it compares builds better than pairs/s on a shared machine. */
    if (pairs_total > 0)
        printf("  CPU per 1,000 pairs (all %ld pairs of the rounds): daemon %.0f ms,"
               " load generator %.0f ms; daemon minor page faults per pair %.1f\n",
               pairs_total, 1e6 * cpu_daemon / (double)pairs_total,
               1e6 * cpu_self / (double)pairs_total, flt / (double)pairs_total);
    printf("  target >= %.0f pairs/s: %s\n", BENCH_TARGET_PAIRS,
           rates[m] >= BENCH_TARGET_PAIRS ? "PASS" : "BELOW");
    bench_report("http", "route-and-end pairs/s, closed loop", rates[m], 0, "pairs/s", ">= 5,000",
                 rates[m] >= BENCH_TARGET_PAIRS ? "PASS" : "BELOW");
    bench_report("http", "route p50, closed loop", r50[m], 2, "ms", "-", "-");
    bench_report("http", "route p99, closed loop", r99[m], 2, "ms", "-", "-");

    printf("open loop: %d pairs/s for %d s on up to %d connections (route latency from when"
           " the pair was due)\n",
           BENCH_OPEN_RATE, BENCH_OPEN_S, BENCH_OPEN_CONNS);
    long late = bench_open(cx, BENCH_OPEN_CONNS, BENCH_OPEN_RATE, BENCH_OPEN_S);
    if (late < 0) {
        fprintf(stderr, "bench_http: the open loop failed\n");
        return -1;
    }
    errors += cx->errors;
    rejected += cx->rejected;
    double o_r50 = bench_quantile_ms(&cx->route, 0.50), o_r99 = bench_quantile_ms(&cx->route, 0.99);
    double o_e50 = bench_quantile_ms(&cx->end, 0.50), o_e99 = bench_quantile_ms(&cx->end, 0.99);
    printf("  %ld pairs: route p50 %.2f ms p99 %.2f ms; end p50 %.2f ms p99 %.2f ms;"
           " started > 1 ms late: %ld (errors %ld, 503 %ld)\n",
           cx->pairs, o_r50, o_r99, o_e50, o_e99, late, cx->errors, cx->rejected);
    double worst = o_r99 > o_e99 ? o_r99 : o_e99;
    printf("  target p99 < %.0f ms at %d calls/s: %s\n", BENCH_TARGET_P99_MS, BENCH_OPEN_RATE,
           worst < BENCH_TARGET_P99_MS ? "PASS" : "BELOW");
    bench_report("http", "route p50 at 1,000 calls/s", o_r50, 2, "ms", "-", "-");
    bench_report("http", "route/end p99 at 1,000 calls/s", worst, 2, "ms", "< 5",
                 worst < BENCH_TARGET_P99_MS ? "PASS" : "BELOW");
    if (errors)
        fprintf(stderr, "bench_http: %ld requests failed\n", errors);
    printf("  rejected with 503 (back-pressure) in all runs: %ld\n", rejected);
    return errors ? -1 : 0;
}

int main(void)
{
    char dir[256], db[300], cfg[300], log[300];
    bench_ctx cx;
    int status = 1, port = 0;
    pid_t daemon = -1;
    memset(&cx, 0, sizeof cx);
    cx.ep = -1;
    const char *bin = getenv("SURECONNECT_BIN");
    if (!bin || !bin[0])
        bin = "build/sureconnect";
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sc_bench_http_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_http: mkdtemp");
        return 1;
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(log, sizeof log, "%s/daemon.log", dir);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows as it comes, even into a file */
    if (bench_write_config(cfg, BENCH_AGENTS) != 0 ||
        bench_prepare(bin, db, cfg, BENCH_AGENTS, cx.key, sizeof cx.key) != 0) {
        fprintf(stderr, "bench_http: cannot prepare the database with %s\n", bin);
        goto out_remove;
    }
    daemon = bench_serve(bin, db, log, bench_threads(), BENCH_START_TIMEOUT_S, &port);
    if (daemon < 0) {
        fprintf(stderr, "bench_http: the daemon did not start (log: %s)\n", log);
        goto out_remove;
    }
    printf("HTTP route-and-end pairs (POST /v1/calls, POST /v1/calls/{id}/ended), daemon pid %d"
           " on 127.0.0.1:%d, %d agents, database %s\n",
           (int)daemon, port, BENCH_AGENTS, db);
    int n = BENCH_CONNS > BENCH_OPEN_CONNS ? BENCH_CONNS : BENCH_OPEN_CONNS;
    cx.conns = calloc((size_t)n, sizeof *cx.conns);
    cx.route.us = malloc(BENCH_SAMPLES_MAX * sizeof(int32_t));
    cx.end.us = malloc(BENCH_SAMPLES_MAX * sizeof(int32_t));
    cx.ep = epoll_create1(0);
    if (!cx.conns || !cx.route.us || !cx.end.us || cx.ep < 0)
        goto out_stop;
    cx.n_conns = n;
    cx.addr.sin_family = AF_INET;
    cx.addr.sin_port = htons((uint16_t)port);
    cx.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++)
        cx.conns[i].fd = -1;
    for (int i = 0; i < n; i++) {
        if (bench_connect(&cx, &cx.conns[i]) != 0) {
            perror("bench_http: connect");
            goto out_stop;
        }
    }
    status = bench_run(&cx, daemon) == 0 ? 0 : 1;
out_stop:
    for (int i = 0; cx.conns && i < cx.n_conns; i++)
        if (cx.conns[i].fd >= 0)
            close(cx.conns[i].fd);
    if (cx.ep >= 0)
        close(cx.ep);
    free(cx.conns);
    free(cx.route.us);
    free(cx.end.us);
    if (bench_stop(daemon, BENCH_STOP_TIMEOUT_S) != 0) {
        fprintf(stderr, "bench_http: the daemon did not stop cleanly (log: %s)\n", log);
        status = 1;
    } else {
        printf("daemon stopped (exit 0)\n");
    }
out_remove:
    if (status == 0 && !getenv("BENCH_KEEP")) {
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char file[320];
            snprintf(file, sizeof file, "%s%s", db, suffixes[i]);
            unlink(file);
        }
        unlink(cfg);
        unlink(log);
        rmdir(dir);
    }
    return status;
}
