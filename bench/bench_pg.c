/* bench_pg.c -- routes per second and route latency through the real daemon on PostgreSQL
 * with one daemon and with two daemons sharing the database (issue 6), next to the same
 * figure on SQLite from the same run. Starts a throwaway cluster with
 * scripts/pg_test_cluster.sh (durable settings: fsync on, synchronous_commit off, which is
 * what SQLite's WAL with synchronous=NORMAL gives), prepares each database with the CLI,
 * starts build/sureconnect serve on free loopback ports, and drives route-and-end pairs
 * (POST /v1/calls, POST /v1/calls/{id}/ended) from client threads with one keep-alive
 * connection each, spread evenly over the daemons. Medians of several rounds. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_daemon.h"
#include "bench_report.h"

#define BPG_AGENTS 8
#define BPG_THREADS 4   /* each daemon's pool (serve --threads) */
#define BPG_CLIENTS 16  /* client threads, one keep-alive connection each */
#define BPG_ROUNDS 5    /* rounds per setup; medians are reported */
#define BPG_ROUND_S 2.0 /* seconds per round */
#define BPG_WARMUP_S 0.5
#define BPG_MAX_DAEMONS 2
#define BPG_SAMPLES_MAX (1 << 20) /* route latencies kept per round, over all clients */
#define BPG_IN_MAX 65536          /* a reply larger than this is an error */
#define BPG_START_TIMEOUT_S 20
#define BPG_STOP_TIMEOUT_S 20

static const char *const bpg_callers[] = {"+15125550100", "+13055550123", "+14155550199",
                                          "+12125550111", "+17135550142", "+16175550177"};
#define BPG_N_CALLERS ((int)(sizeof bpg_callers / sizeof bpg_callers[0]))

static double bpg_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], bench_cmp_dbl);
    return v[n / 2];
}

/* ---- the load: client threads with one keep-alive connection each ----------------------- */

typedef struct bpg_run bpg_run;

typedef struct {
    bpg_run *run;
    int index;
    int port;
    pthread_t thread;
} bpg_client;

struct bpg_run {
    const char *key;
    atomic_int phase; /* 0 warm-up, 1 measuring, 2 stop */
    atomic_long pairs, errors;
    atomic_long n_samples;
    int32_t *samples; /* route latencies in microseconds while measuring */
    bpg_client clients[BPG_CLIENTS];
};

static int bpg_connect(int port)
{
    int one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request and reads its whole response into in[BPG_IN_MAX]. Returns the HTTP
 * status (body at *body), or -1 on a connection or framing failure. */
static int bpg_roundtrip(int fd, const char *req, size_t len, char *in, const char **body)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, req + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, in + have, BPG_IN_MAX - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
        in[have] = '\0';
        const char *hend = strstr(in, "\r\n\r\n");
        if (!hend) {
            if (have >= BPG_IN_MAX - 1)
                return -1;
            continue;
        }
        long clen = -1;
        for (const char *p = strstr(in, "\r\n"); p && p < hend; p = strstr(p + 2, "\r\n"))
            if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                clen = strtol(p + 17, NULL, 10);
        int status = 0;
        if (clen < 0 || sscanf(in, "HTTP/1.%*d %d", &status) != 1)
            return -1;
        size_t total = (size_t)(hend + 4 - in) + (size_t)clen;
        if (total >= BPG_IN_MAX)
            return -1;
        if (have < total)
            continue;
        *body = hend + 4;
        return status;
    }
}

static void *bpg_client_main(void *arg)
{
    bpg_client *c = arg;
    bpg_run *run = c->run;
    char *in = malloc(BPG_IN_MAX);
    int fd = in ? bpg_connect(c->port) : -1;
    long caller = c->index;
    while (fd >= 0 && atomic_load(&run->phase) < 2) {
        char body[128], req[1024], id[64];
        const char *reply = NULL;
        int bl = snprintf(body, sizeof body, "{\"to\":\"+18005550100\",\"from\":\"%s\"}",
                          bpg_callers[caller++ % BPG_N_CALLERS]);
        int rl = snprintf(req, sizeof req,
                          "POST /v1/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                          "%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                          run->key, bl, body);
        int64_t t0 = bench_now_ns();
        int status = bpg_roundtrip(fd, req, (size_t)rl, in, &reply);
        int64_t us = (bench_now_ns() - t0) / 1000;
        const char *p = status == 201 ? strstr(reply, "\"call_id\":\"") : NULL;
        size_t n = p ? strcspn(p + 11, "\"") : 0;
        if (!p || n == 0 || n >= sizeof id) {
            atomic_fetch_add(&run->errors, 1);
            if (status < 0)
                break;
            continue;
        }
        memcpy(id, p + 11, n);
        id[n] = '\0';
        rl = snprintf(req, sizeof req,
                      "POST /v1/calls/%s/ended HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
                      id, run->key);
        status = bpg_roundtrip(fd, req, (size_t)rl, in, &reply);
        if (status != 200) {
            atomic_fetch_add(&run->errors, 1);
            if (status < 0)
                break;
            continue;
        }
        if (atomic_load(&run->phase) == 1) {
            atomic_fetch_add(&run->pairs, 1);
            long k = atomic_fetch_add(&run->n_samples, 1);
            if (k < BPG_SAMPLES_MAX)
                run->samples[k] = (int32_t)(us > INT32_MAX ? INT32_MAX : us);
        }
    }
    if (fd < 0 && atomic_load(&run->phase) < 2)
        atomic_fetch_add(&run->errors, 1);
    if (fd >= 0)
        close(fd);
    free(in);
    return NULL;
}

static void bpg_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One setup's figures: medians over the rounds. */
typedef struct {
    double routes_s, p50_ms, p99_ms;
    long errors;
} bpg_figures;

/* Drives BPG_CLIENTS clients spread over the daemons on `ports` for BPG_ROUNDS rounds.
 * Returns 0 with the medians in *out, or -1. */
static int bpg_measure(const char *key, const int *ports, int n_ports, bpg_figures *out)
{
    double rates[BPG_ROUNDS], p50[BPG_ROUNDS], p99[BPG_ROUNDS];
    bpg_run *run = calloc(1, sizeof *run);
    if (!run || !(run->samples = malloc(BPG_SAMPLES_MAX * sizeof(int32_t)))) {
        free(run);
        return -1;
    }
    run->key = key;
    int started = 0;
    for (; started < BPG_CLIENTS; started++) {
        bpg_client *c = &run->clients[started];
        c->run = run;
        c->index = started;
        c->port = ports[started % n_ports];
        if (pthread_create(&c->thread, NULL, bpg_client_main, c) != 0)
            break;
    }
    bpg_sleep(BPG_WARMUP_S);
    for (int r = 0; r < BPG_ROUNDS && started == BPG_CLIENTS; r++) {
        atomic_store(&run->pairs, 0);
        atomic_store(&run->n_samples, 0);
        int64_t t0 = bench_now_ns();
        atomic_store(&run->phase, 1);
        bpg_sleep(BPG_ROUND_S);
        atomic_store(&run->phase, 0);
        double secs = (double)(bench_now_ns() - t0) / 1e9;
        long n = atomic_load(&run->n_samples);
        if (n > BPG_SAMPLES_MAX)
            n = BPG_SAMPLES_MAX;
        qsort(run->samples, (size_t)n, sizeof run->samples[0], bench_cmp_i32);
        rates[r] = (double)atomic_load(&run->pairs) / secs;
        p50[r] = n ? run->samples[(size_t)(0.50 * (double)(n - 1) + 0.5)] / 1000.0 : 0;
        p99[r] = n ? run->samples[(size_t)(0.99 * (double)(n - 1) + 0.5)] / 1000.0 : 0;
        printf("    round %d: %7.0f routes/s  route p50 %.2f ms  p99 %.2f ms\n", r + 1, rates[r],
               p50[r], p99[r]);
    }
    atomic_store(&run->phase, 2);
    for (int i = 0; i < started; i++)
        pthread_join(run->clients[i].thread, NULL);
    int rc = started == BPG_CLIENTS ? 0 : -1;
    if (rc == 0) {
        out->routes_s = bpg_median(rates, BPG_ROUNDS);
        out->p50_ms = bpg_median(p50, BPG_ROUNDS);
        out->p99_ms = bpg_median(p99, BPG_ROUNDS);
        out->errors = atomic_load(&run->errors);
    }
    free(run->samples);
    free(run);
    return rc;
}

/* Runs one setup: prepares `db`, starts n_daemons daemons on it, measures, stops them.
 * Returns 0 or -1 (with a message on stderr). */
static int bpg_setup(const char *bin, const char *dir, const char *label, const char *db,
                     int n_daemons, bpg_figures *out)
{
    char cfg[600], key[128], log[BPG_MAX_DAEMONS][600];
    pid_t pids[BPG_MAX_DAEMONS] = {-1, -1};
    int ports[BPG_MAX_DAEMONS] = {0, 0}, rc = -1;
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (bench_write_config(cfg, BPG_AGENTS) != 0 ||
        bench_prepare(bin, db, cfg, BPG_AGENTS, key, sizeof key) != 0) {
        fprintf(stderr, "bench_pg: %s: cannot prepare the database with %s\n", label, bin);
        return -1;
    }
    for (int i = 0; i < n_daemons; i++) {
        snprintf(log[i], sizeof log[i], "%s/daemon%d.log", dir, i);
        pids[i] = bench_serve(bin, db, log[i], BPG_THREADS, BPG_START_TIMEOUT_S, &ports[i]);
        if (pids[i] < 0) {
            fprintf(stderr, "bench_pg: %s: daemon %d did not start (log: %s)\n", label, i + 1,
                    log[i]);
            goto out_stop;
        }
    }
    printf("  %s, %d daemon%s (--threads %d each), %d clients:\n", label, n_daemons,
           n_daemons > 1 ? "s" : "", BPG_THREADS, BPG_CLIENTS);
    rc = bpg_measure(key, ports, n_daemons, out);
    if (rc < 0)
        fprintf(stderr, "bench_pg: %s: the load failed\n", label);
    else if (out->errors)
        fprintf(stderr, "bench_pg: %s: %ld requests failed\n", label, out->errors);
out_stop:
    for (int i = 0; i < n_daemons; i++)
        if (pids[i] > 0 && bench_stop(pids[i], BPG_STOP_TIMEOUT_S) != 0) {
            fprintf(stderr, "bench_pg: %s: daemon %d did not stop cleanly (log: %s)\n", label,
                    i + 1, log[i]);
            rc = -1;
        }
    return rc;
}

/* Starts the throwaway cluster in dir/pg with scripts/pg_test_cluster.sh; its database's
 * URL goes to url. Returns 0 or -1. */
static int bpg_cluster_start(const char *dir, char *url, size_t cap)
{
    char pgdir[600];
    snprintf(pgdir, sizeof pgdir, "%s/pg", dir);
    char *argv[] = {"sh", "scripts/pg_test_cluster.sh", "start", pgdir, NULL};
    if (setenv("PG_TEST_DURABLE", "1", 1) != 0 || bench_exec(argv, url, cap) != 0)
        return -1;
    url[strcspn(url, "\r\n")] = '\0';
    return strncmp(url, "postgresql://", 13) == 0 ? 0 : -1;
}

static void bpg_cluster_stop(const char *dir)
{
    char pgdir[600];
    snprintf(pgdir, sizeof pgdir, "%s/pg", dir);
    char *argv[] = {"sh", "scripts/pg_test_cluster.sh", "stop", pgdir, NULL};
    bench_exec(argv, NULL, 0);
}

/* Creates the database `name` on the cluster of `url` (psql) and writes its URL to out.
 * Returns 0 or -1. */
static int bpg_createdb(const char *url, const char *name, char *out, size_t cap)
{
    char sql[128], sink[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    char *argv[] = {"psql", (char *)url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql, NULL};
    if (bench_exec(argv, sink, sizeof sink) != 0)
        return -1;
    const char *q = strchr(url, '?');
    snprintf(out, cap, "postgresql:///%s%s", name, q ? q : "");
    return 0;
}

int main(void)
{
    char dir[256], url[600], sqlite_db[600], pg1[700], pg2[700];
    bpg_figures fig[3];
    static const char *const labels[3] = {"SQLite", "PostgreSQL", "PostgreSQL"};
    static const int daemons[3] = {1, 1, 2};
    int status = 1;
    memset(fig, 0, sizeof fig);
    const char *bin = getenv("SURECONNECT_BIN");
    if (!bin || !bin[0])
        bin = "build/sureconnect";
    if (access("scripts/pg_test_cluster.sh", R_OK) != 0) {
        fprintf(stderr, "bench_pg: run from the source tree (scripts/pg_test_cluster.sh)\n");
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/sc_bench_pg_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_pg: mkdtemp");
        return 1;
    }
    /* As root the cluster runs as postgres, which must reach its folder inside ours. */
    chmod(dir, 0755);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Routes per second and route latency through the daemon (route-and-end pairs over"
           " HTTP on loopback), %d rounds of %.0f s each, medians\n",
           BPG_ROUNDS, BPG_ROUND_S);
    if (bpg_cluster_start(dir, url, sizeof url) != 0) {
        fprintf(stderr, "bench_pg: cannot start a PostgreSQL cluster (make deps installs"
                        " postgresql-15)\n");
        goto out_remove;
    }
    snprintf(sqlite_db, sizeof sqlite_db, "%s/bench.db", dir);
    if (bpg_createdb(url, "bench_one", pg1, sizeof pg1) != 0 ||
        bpg_createdb(url, "bench_two", pg2, sizeof pg2) != 0) {
        fprintf(stderr, "bench_pg: cannot create the databases\n");
        goto out_stop_cluster;
    }
    const char *dbs[3] = {sqlite_db, pg1, pg2};
    status = 0;
    for (int i = 0; i < 3 && status == 0; i++)
        if (bpg_setup(bin, dir, labels[i], dbs[i], daemons[i], &fig[i]) != 0 || fig[i].errors)
            status = 1;
    if (status == 0) {
        printf("\n  %-11s %7s %10s %13s %13s\n", "store", "daemons", "routes/s", "route p50 ms",
               "route p99 ms");
        for (int i = 0; i < 3; i++)
            printf("  %-11s %7d %10.0f %13.2f %13.2f\n", labels[i], daemons[i], fig[i].routes_s,
                   fig[i].p50_ms, fig[i].p99_ms);
        for (int i = 0; i < 3; i++) {
            char figure[96];
            snprintf(figure, sizeof figure, "%s, %d daemon%s: routes/s", labels[i], daemons[i],
                     daemons[i] > 1 ? "s" : "");
            bench_report("pg", figure, fig[i].routes_s, 0, "routes/s", "-", "-");
            snprintf(figure, sizeof figure, "%s, %d daemon%s: route p99", labels[i], daemons[i],
                     daemons[i] > 1 ? "s" : "");
            bench_report("pg", figure, fig[i].p99_ms, 2, "ms", "-", "-");
        }
    }
out_stop_cluster:
    bpg_cluster_stop(dir);
out_remove:
    if (!getenv("BENCH_KEEP")) {
        char path[700];
        static const char *const files[] = {"bench.db",    "bench.db-wal", "bench.db-shm",
                                            "config.json", "daemon0.log",  "daemon1.log"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return status;
}
