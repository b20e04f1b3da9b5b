/* server_alerts.h -- the daemon's Discord alerts: an event bus tap that turns the calls
 * that found no agent (queued, or a callback) into alerts for the Discord alerter, and the
 * alerter's campaign resolver (the campaign's name and webhook, from its own store). */
#ifndef SC_SERVER_ALERTS_H
#define SC_SERVER_ALERTS_H

#include <jansson.h>

#include "../alerts/discord.h"
#include "events.h"

typedef struct server_alerts server_alerts;

/* Starts the alerter (global webhook `webhook`, NULL or "" none; one message per campaign
 * per interval_s seconds, 0 for the default) and adds its tap to `bus`: call before the bus
 * is shared with other threads. The resolver opens its own connection to `db` on first
 * use. Returns NULL when out of memory or the alerter cannot start; stop it with
 * server_alerts_stop() before freeing the bus. */
server_alerts *server_alerts_start(events_bus *bus, const char *db, const char *webhook,
                                   int interval_s);

/* Copies the alerter's counters (zeros for NULL). Thread-safe. */
void server_alerts_stats(server_alerts *sa, discord_stats *out);

/* The tap itself (events_tap_fn): exposed for tests. `arg` is the server_alerts. */
void server_alerts_tap(void *arg, const char *type, const char *agent, const json_t *data);

/* Stops the alerter in bounded time and closes its store. NULL is a no-op. */
void server_alerts_stop(server_alerts *sa);

#endif
