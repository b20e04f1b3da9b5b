/* listener.c -- the listening socket, its accept thread (poll on the socket and a wake-up
 * pipe) and the round-robin hand-over of accepted connections (listener.h). */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../core/errors.h"

#define LISTENER_BACKLOG SOMAXCONN
#define LISTENER_ACCEPT_BURST 64  /* accepts per wake-up before polling the stop pipe again */
#define LISTENER_FULL_PAUSE_MS 50 /* out of descriptors: wait before accepting again */

struct listener {
    int fd;      /* the listening socket; -1 once closed */
    int wake[2]; /* a byte on wake[1] tells the accept thread to end */
    unsigned int port;
    bool started;
    pthread_t thread;
    unsigned int n_targets;
    unsigned int next; /* the target of the next connection (accept thread only) */
    listener_handoff_fn handoff;
    void *arg;
    atomic_ulong accepted;
};

/* Makes fd non-blocking and close-on-exec (accept4 and pipe2 would need _GNU_SOURCE).
 * Returns 0 or -1. */
static int listener_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    int fdf = fcntl(fd, F_GETFD);
    return fdf < 0 || fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) != 0 ? -1 : 0;
}

/* Resolves "HOST:PORT" ("[v6]:PORT" too) into *res (freeaddrinfo). Returns 0 or -1. */
static int listener_resolve(const char *address, struct addrinfo **res)
{
    char host[256];
    const char *colon = strrchr(address, ':');
    struct addrinfo hints;
    if (!colon || colon == address || !colon[1])
        return -1;
    size_t hl = (size_t)(colon - address);
    if (address[0] == '[') {
        if (hl < 3 || address[hl - 1] != ']')
            return -1;
        address++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, address, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    return getaddrinfo(host, colon + 1, &hints, res) == 0 ? 0 : -1;
}

/* Creates, binds and listens on a socket for ai; sets *port. Returns the socket or -1 with
 * errno set. */
static int listener_bind(const struct addrinfo *ai, unsigned int *port)
{
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* As libmicrohttpd did: a restart may bind while old connections are in TIME_WAIT; a
     * port another socket listens on still fails. IPv6 sockets take IPv6 only. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (ai->ai_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTENER_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        goto out_close;
    if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
out_close:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int listener_open(const char *address, listener **out, char *errbuf, size_t errlen)
{
    struct addrinfo *ai = NULL;
    int rc = ERR_OK;
    *out = NULL;
    if (!address || listener_resolve(address, &ai) != 0) {
        snprintf(errbuf, errlen, "cannot use listen address '%s' (want HOST:PORT)",
                 address ? address : "");
        return ERR_INVALID;
    }
    listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(errbuf, errlen, "out of memory");
        rc = ERR_NOMEM;
        goto out_free_ai;
    }
    l->wake[0] = l->wake[1] = -1;
    l->fd = listener_bind(ai, &l->port);
    if (l->fd < 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", address, strerror(errno));
        rc = ERR_IO;
        goto out_free_l;
    }
    if (pipe(l->wake) != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", address, strerror(errno));
        rc = ERR_IO;
        goto out_close_fd;
    }
    if (listener_fd_flags(l->wake[0]) != 0 || listener_fd_flags(l->wake[1]) != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", address, strerror(errno));
        rc = ERR_IO;
        goto out_close_pipe;
    }
    *out = l;
    goto out_free_ai;
out_close_pipe:
    close(l->wake[0]);
    close(l->wake[1]);
out_close_fd:
    close(l->fd);
out_free_l:
    free(l);
out_free_ai:
    freeaddrinfo(ai);
    return rc;
}

unsigned int listener_port(const listener *l)
{
    return l->port;
}

unsigned long listener_accepted(const listener *l)
{
    return atomic_load(&((listener *)l)->accepted);
}

/* Accepts what is waiting (up to a burst) and hands each connection to the next target.
 * Returns false when accept failed for want of descriptors (the caller pauses). */
static bool listener_accept_some(listener *l)
{
    for (int i = 0; i < LISTENER_ACCEPT_BURST; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept(l->fd, (struct sockaddr *)&ss, &len);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            return !(errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM);
        }
        if (listener_fd_flags(fd) != 0) {
            close(fd);
            continue;
        }
        unsigned int target = l->next;
        l->next = (l->next + 1) % l->n_targets;
        atomic_fetch_add(&l->accepted, 1);
        l->handoff(l->arg, target, fd, (struct sockaddr *)&ss, len);
    }
    return true;
}

static void *listener_main(void *arg)
{
    listener *l = arg;
    for (;;) {
        struct pollfd p[2] = {{l->fd, POLLIN, 0}, {l->wake[0], POLLIN, 0}};
        int n = poll(p, 2, -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[1].revents)
            break;
        if ((p[0].revents & POLLIN) && !listener_accept_some(l)) {
            /* Out of descriptors: the socket stays readable, so wait for a stop or a
             * while instead of spinning on poll. */
            struct pollfd w = {l->wake[0], POLLIN, 0};
            if (poll(&w, 1, LISTENER_FULL_PAUSE_MS) > 0)
                break;
        }
    }
    return NULL;
}

int listener_start(listener *l, unsigned int n_targets, listener_handoff_fn handoff, void *arg)
{
    if (!l || l->started || l->fd < 0 || n_targets == 0 || !handoff)
        return ERR_INVALID;
    l->n_targets = n_targets;
    l->handoff = handoff;
    l->arg = arg;
    if (pthread_create(&l->thread, NULL, listener_main, l) != 0)
        return ERR_NOMEM;
    l->started = true;
    return ERR_OK;
}

void listener_stop(listener *l)
{
    if (!l)
        return;
    if (l->started) {
        ssize_t w;
        do
            w = write(l->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(l->thread, NULL);
        l->started = false;
    }
    /* Closed only after the thread is gone: its descriptor number cannot be reused under
     * a poll or accept still running. */
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

void listener_free(listener *l)
{
    if (!l)
        return;
    listener_stop(l);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l);
}

bool listener_to_mhd(void *arg, unsigned int target, int fd, const struct sockaddr *addr,
                     socklen_t addrlen)
{
    struct MHD_Daemon **daemons = arg;
    return MHD_add_connection(daemons[target], fd, addr, addrlen) == MHD_YES;
}
