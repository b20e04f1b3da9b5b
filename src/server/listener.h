/* listener.h -- the daemon's listening socket and its one accept thread, which hands every
 * accepted connection to one of N targets in turn (round-robin): the daemon's targets are
 * its single-threaded libmicrohttpd daemons, so connections opened together are spread
 * evenly over the request threads (docs/ARCHITECTURE.md, "The daemon"). */
#ifndef SC_LISTENER_H
#define SC_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct listener listener;

/* Hands an accepted connection (non-blocking, close-on-exec) to target `target`
 * (0..n_targets-1), with the peer's address. The function owns `fd` from the call on and
 * closes it when it cannot take it. Returns false when the connection was refused. Runs on
 * the accept thread. */
typedef bool (*listener_handoff_fn)(void *arg, unsigned int target, int fd,
                                    const struct sockaddr *addr, socklen_t addrlen);

/* Resolves `address` ("HOST:PORT", "[IPv6]:PORT" or a name; port 0 picks a free one), binds
 * and listens. Accepts nothing until listener_start(). Returns ERR_OK with *out set (the
 * caller frees it with listener_free()); ERR_INVALID when the address cannot be read or
 * resolved; ERR_IO when it cannot be bound or listened on (errno's text in errbuf);
 * ERR_NOMEM. */
int listener_open(const char *address, listener **out, char *errbuf, size_t errlen);

/* The port actually bound (the one picked for port 0). */
unsigned int listener_port(const listener *l);

/* Starts the accept thread: each accepted connection goes to `handoff` with the next target
 * of 0..n_targets-1 in turn. Returns ERR_OK, ERR_INVALID (no targets, or already started)
 * or ERR_NOMEM (no thread). */
int listener_start(listener *l, unsigned int n_targets, listener_handoff_fn handoff, void *arg);

/* Stops accepting: ends the accept thread and closes the listening socket, so a connection
 * attempted afterwards is refused. Every connection accepted before has been handed over.
 * Idempotent. */
void listener_stop(listener *l);

/* Connections handed over so far (accepted; the target may still have refused them). */
unsigned long listener_accepted(const listener *l);

/* Stops the listener if needed and frees it. NULL is a no-op. */
void listener_free(listener *l);

/* A listener_handoff_fn for libmicrohttpd: `arg` is an array of `struct MHD_Daemon *`
 * (started with MHD_USE_NO_LISTEN_SOCKET and an internal polling thread); the connection
 * is added to the target's daemon with MHD_add_connection, which owns the socket. */
bool listener_to_mhd(void *arg, unsigned int target, int fd, const struct sockaddr *addr,
                     socklen_t addrlen);

#endif
