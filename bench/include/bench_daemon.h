/* bench_daemon.h -- what the benchmarks that drive the real daemon share (bench_http,
 * bench_pg): the monotonic clock and sort comparators, running the CLI, the benchmark
 * configuration, preparing a database, starting `sureconnect serve` on a free loopback port
 * and stopping it. Header-only so that each bench program stays one file (each C file in
 * bench/ is its own program). */
#ifndef SURECONNECT_BENCH_DAEMON_H
#define SURECONNECT_BENCH_DAEMON_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The monotonic clock in nanoseconds. */
static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* qsort comparators for int32_t and double, ascending. */
static inline int bench_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static inline int bench_cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs argv (argv[0] a path, or a program found on PATH) to completion, its stdout into
 * out[cap] (NUL-terminated, cut to fit; out may be NULL) and stderr to /dev/null ("key
 * created" notes; failures show as the status). Returns the exit status, or -1. */
static inline int bench_exec(char *const argv[], char *out, size_t cap)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(pfd[1], STDOUT_FILENO);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t len = 0;
    for (;;) {
        char tmp[512];
        ssize_t r = read(pfd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; out && i < r && len + 1 < cap; i++)
            out[len++] = tmp[i];
    }
    if (out && cap)
        out[len] = '\0';
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes the benchmark configuration to `path`: agents a0..a{n_agents-1} with large limits
 * in one priority rule of one campaign on +18005550100. Returns 0 or -1. */
static inline int bench_write_config(const char *path, int n_agents)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"agents\": [");
    for (int i = 0; i < n_agents; i++)
        fprintf(f,
                "%s{\"id\": \"a%d\", \"name\": \"Agent %d\", \"status\": \"active\","
                " \"max_concurrent\": 1000, \"states\": [], \"categories\": [],"
                " \"softphone\": {\"type\": \"client\", \"address\": \"a%d\"}}",
                i ? ", " : "", i, i, i);
    fprintf(f, "], \"campaigns\": [{\"id\": \"bench\", \"name\": \"Bench\","
               " \"default_category\": \"medicare\", \"ring_timeout_s\": 20,"
               " \"queue\": {\"enabled\": false, \"max_size\": 50, \"max_wait_s\": 300,"
               " \"hold_music_url\": null}, \"friendly_message\": \"Sorry.\","
               " \"discord_webhook_url\": null,"
               " \"tracking_numbers\": [{\"number\": \"+18005550100\", \"category\": null}],"
               " \"rules\": [{\"id\": \"all\", \"name\": \"All\", \"position\": 1,"
               " \"enabled\": true, \"states\": [], \"categories\": [], \"mode\": \"priority\","
               " \"members\": [");
    for (int i = 0; i < n_agents; i++)
        fprintf(f, "%s{\"agent\": \"a%d\", \"priority\": %d, \"weight\": 1}", i ? ", " : "", i,
                1 + i % 3);
    fprintf(f, "]}]}]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Prepares the database `db` with the CLI `bin`: migrate, import `cfg`, register agents
 * a0..a{n_agents-1} for a day, create an admin key (into key[cap]). Returns 0 or -1. */
static inline int bench_prepare(const char *bin, const char *db, const char *cfg, int n_agents,
                                char *key, size_t cap)
{
    char sink[256];
    char *migrate[] = {(char *)bin, "--db", (char *)db, "migrate", NULL};
    char *import[] = {(char *)bin, "--db", (char *)db, "import", (char *)cfg, NULL};
    char *keycmd[] = {(char *)bin, "--db", (char *)db, "key", "create", "--name", "bench", NULL};
    if (bench_exec(migrate, sink, sizeof sink) != 0 || bench_exec(import, sink, sizeof sink) != 0)
        return -1;
    for (int i = 0; i < n_agents; i++) {
        char id[16];
        snprintf(id, sizeof id, "a%d", i);
        char *reg[] = {(char *)bin, "--db",      (char *)db, "agent", "register",
                       id,          "--expires", "86400",    NULL};
        if (bench_exec(reg, sink, sizeof sink) != 0)
            return -1;
    }
    if (bench_exec(keycmd, key, cap) != 0)
        return -1;
    key[strcspn(key, "\r\n")] = '\0';
    return strncmp(key, "sck_", 4) == 0 ? 0 : -1;
}

/* Starts `bin --db db serve` with `threads` pool threads on a free loopback port, stderr
 * into `log` (removed first: an earlier daemon's log names an earlier port), and waits up to
 * timeout_s for its "event=listening" line. Returns the pid (port in *port), or -1 (a
 * daemon that did not start in time is killed). Stop it with bench_stop(). */
static inline pid_t bench_serve(const char *bin, const char *db, const char *log, int threads,
                                int timeout_s, int *port)
{
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    unlink(log);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_RDWR);
        if (fd < 0 || null < 0)
            _exit(127);
        dup2(fd, STDERR_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDIN_FILENO);
        execl(bin, bin, "--db", db, "serve", "--listen", "127.0.0.1:0", "--threads", nthreads,
              (char *)NULL);
        _exit(127);
    }
    static const char mark[] = "event=listening addr=127.0.0.1:";
    for (int waited = 0; waited < timeout_s * 100; waited++) {
        char buf[4096];
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *m = strstr(buf, mark);
        if (m && (*port = atoi(m + strlen(mark))) > 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Stops a daemon started by bench_serve() with SIGTERM (SIGKILL after timeout_s; a pid <= 0
 * is no daemon: 0). Returns its exit status, or -1 when it had to be killed. */
static inline int bench_stop(pid_t pid, int timeout_s)
{
    int st = 0;
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < timeout_s * 100; waited++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

#endif
