/* test_listener.c -- the daemon's accept thread (server/listener): every accepted connection
 * is handed over, to each target in turn, also to real libmicrohttpd daemons, which then
 * serve it; a stopped listener refuses new connections; bad and busy addresses fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <microhttpd.h>

#include "core/errors.h"
#include "server/listener.h"

#define LT_TARGETS 3
#define LT_CLIENTS 30 /* a multiple of LT_TARGETS */
#define LT_WAIT_MS 5000

/* What the injected hand-over saw. */
typedef struct {
    atomic_uint per_target[LT_TARGETS];
    atomic_uint out_of_range;
    atomic_uint total;
} lt_tally;

static bool lt_count(void *arg, unsigned int target, int fd, const struct sockaddr *addr,
                     socklen_t addrlen)
{
    lt_tally *t = arg;
    (void)addr;
    (void)addrlen;
    if (target < LT_TARGETS)
        atomic_fetch_add(&t->per_target[target], 1);
    else
        atomic_fetch_add(&t->out_of_range, 1);
    atomic_fetch_add(&t->total, 1);
    close(fd);
    return true;
}

static void lt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A blocking connection to 127.0.0.1:port; -1 with errno set when refused. */
static int lt_connect(unsigned int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static listener *lt_open(void)
{
    char err[256] = "";
    listener *l = NULL;
    cr_assert_eq(listener_open("127.0.0.1:0", &l, err, sizeof err), ERR_OK, "%s", err);
    cr_assert_neq(listener_port(l), 0u);
    return l;
}

Test(listener, hands_every_connection_over_to_each_target_in_turn)
{
    lt_tally t;
    int fds[LT_CLIENTS];
    memset(&t, 0, sizeof t);
    listener *l = lt_open();
    cr_assert_eq(listener_start(l, LT_TARGETS, lt_count, &t), ERR_OK);
    /* Opened all at once, as a load balancer does. */
    for (int i = 0; i < LT_CLIENTS; i++) {
        fds[i] = lt_connect(listener_port(l));
        cr_assert_geq(fds[i], 0, "connect: %s", strerror(errno));
    }
    for (int waited = 0; atomic_load(&t.total) < LT_CLIENTS && waited < LT_WAIT_MS; waited += 5)
        lt_sleep_ms(5);
    cr_assert_eq(atomic_load(&t.total), LT_CLIENTS);
    cr_assert_eq(atomic_load(&t.out_of_range), 0u);
    for (int i = 0; i < LT_TARGETS; i++)
        cr_expect_eq(atomic_load(&t.per_target[i]), LT_CLIENTS / LT_TARGETS, "target %d got %u", i,
                     atomic_load(&t.per_target[i]));
    cr_assert_eq(listener_accepted(l), (unsigned long)LT_CLIENTS);
    for (int i = 0; i < LT_CLIENTS; i++)
        close(fds[i]);
    listener_free(l);
}

static enum MHD_Result lt_answer(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*con_cls) {
        *con_cls = c; /* the first call only announces the request */
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static unsigned int lt_mhd_connections(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

Test(listener, spreads_connections_over_libmicrohttpd_daemons_that_serve_them)
{
    struct MHD_Daemon *d[LT_TARGETS];
    int fds[LT_CLIENTS];
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
    for (int i = 0; i < LT_TARGETS; i++) {
        d[i] = MHD_start_daemon(flags, 0, NULL, NULL, lt_answer, NULL, MHD_OPTION_END);
        cr_assert_not_null(d[i]);
    }
    listener *l = lt_open();
    cr_assert_eq(listener_start(l, LT_TARGETS, listener_to_mhd, d), ERR_OK);
    for (int i = 0; i < LT_CLIENTS; i++) {
        fds[i] = lt_connect(listener_port(l));
        cr_assert_geq(fds[i], 0, "connect: %s", strerror(errno));
    }
    unsigned int sum = 0;
    for (int waited = 0; waited < LT_WAIT_MS; waited += 5) {
        sum = 0;
        for (int i = 0; i < LT_TARGETS; i++)
            sum += lt_mhd_connections(d[i]);
        if (sum == LT_CLIENTS)
            break;
        lt_sleep_ms(5);
    }
    cr_assert_eq(sum, LT_CLIENTS);
    for (int i = 0; i < LT_TARGETS; i++)
        cr_expect_eq(lt_mhd_connections(d[i]), LT_CLIENTS / LT_TARGETS, "daemon %d has %u", i,
                     lt_mhd_connections(d[i]));
    /* Each handed-over connection is served. */
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < LT_CLIENTS; i++) {
        char buf[512];
        cr_assert_eq(write(fds[i], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
        ssize_t n = read(fds[i], buf, sizeof buf - 1);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0, "reply: %s", buf);
    }
    listener_stop(l);
    for (int i = 0; i < LT_CLIENTS; i++)
        close(fds[i]);
    for (int i = 0; i < LT_TARGETS; i++)
        MHD_stop_daemon(d[i]);
    listener_free(l);
}

Test(listener, refuses_connections_once_stopped)
{
    lt_tally t;
    memset(&t, 0, sizeof t);
    listener *l = lt_open();
    unsigned int port = listener_port(l);
    cr_assert_eq(listener_start(l, LT_TARGETS, lt_count, &t), ERR_OK);
    int fd = lt_connect(port);
    cr_assert_geq(fd, 0);
    for (int waited = 0; atomic_load(&t.total) < 1 && waited < LT_WAIT_MS; waited += 5)
        lt_sleep_ms(5);
    cr_assert_eq(atomic_load(&t.total), 1u);
    listener_stop(l);
    int late = lt_connect(port);
    int err = errno;
    cr_assert_lt(late, 0, "a connection after the stop was accepted");
    cr_assert_eq(err, ECONNREFUSED, "%s", strerror(err));
    cr_assert_eq(atomic_load(&t.total), 1u);
    listener_stop(l); /* idempotent */
    close(fd);
    listener_free(l);
    listener_free(NULL);
}

Test(listener, bad_or_busy_addresses_fail_with_a_message)
{
    char err[256];
    listener *l = NULL;
    static const char *const bad[] = {"nowhere", "127.0.0.1:",      ":80",
                                      "[::1:80", "127.0.0.1:70000", "127.0.0.1:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_expect_eq(listener_open(bad[i], &l, err, sizeof err), ERR_INVALID, "%s", bad[i]);
        cr_expect_null(l);
        cr_expect(strstr(err, "cannot use listen address") != NULL, "%s", err);
    }
    listener *first = lt_open();
    char busy[64];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", listener_port(first));
    cr_assert_eq(listener_open(busy, &l, err, sizeof err), ERR_IO);
    cr_assert_null(l);
    cr_expect(strstr(err, "cannot listen on") && strstr(err, "in use"), "%s", err);
    listener_free(first);
}

Test(listener, binds_ipv6_with_brackets)
{
    char err[256] = "";
    listener *l = NULL;
    int rc = listener_open("[::1]:0", &l, err, sizeof err);
    if (rc == ERR_IO && strstr(err, "not available"))
        cr_skip_test("no IPv6 loopback here: %s", err);
    cr_assert_eq(rc, ERR_OK, "%s", err);
    cr_assert_neq(listener_port(l), 0u);
    listener_free(l);
}
