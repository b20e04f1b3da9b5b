/* server_alerts.c -- from events to Discord alerts: the tap (call.routed with action queue
 * or callback, call.updated with reason queue_timeout) and the resolver that reads a
 * campaign's name and webhook from the store on the alerter's thread. */
#include "server_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "http_util.h"

struct server_alerts {
    discord_alerter *alerter;
    char *db;
    store *st; /* the resolver's connection: the alerter's thread only */
};

/* A string member of data, or NULL. */
static const char *alerts_str(const json_t *data, const char *key)
{
    return json_string_value(json_object_get(data, key));
}

void server_alerts_tap(void *arg, const char *type, const char *agent, const json_t *data)
{
    server_alerts *sa = arg;
    const char *action = NULL;
    const char *reason = alerts_str(data, "reason");
    char outcome[DISCORD_VALUE_MAX];
    (void)agent;
    if (strcmp(type, "call.routed") == 0) {
        action = alerts_str(data, "action");
        if (!action || (strcmp(action, "queue") != 0 && strcmp(action, "callback") != 0))
            return;
    } else if (strcmp(type, "call.updated") == 0) {
        if (!reason || strcmp(reason, "queue_timeout") != 0)
            return;
        action = "callback";
    } else {
        return;
    }
    const char *campaign = alerts_str(data, "campaign");
    if (!campaign || !campaign[0])
        return; /* an unknown tracking number is a reject, not an alert */
    if (!reason || !reason[0])
        reason = "no_agent";
    /* "queued", "callback", or "callback (queue timeout)" for a particular reason. */
    size_t n = (size_t)snprintf(outcome, sizeof outcome, "%s",
                                strcmp(action, "queue") == 0 ? "queued" : action);
    if (strcmp(reason, "no_agent") != 0 && n < sizeof outcome) {
        snprintf(outcome + n, sizeof outcome - n, " (%s)", reason);
        for (char *p = outcome + n; *p; p++)
            if (*p == '_')
                *p = ' ';
    }
    discord_alert al = {campaign,
                        alerts_str(data, "caller_state"),
                        alerts_str(data, "category"),
                        outcome,
                        reason,
                        (int64_t)json_integer_value(json_object_get(data, "time_ms"))};
    discord_alerter_notify(sa->alerter, &al);
}

/* discord_resolve_fn: the campaign's name and own webhook from the stored configuration. */
static int alerts_resolve(void *arg, const char *campaign, discord_campaign_info *out)
{
    server_alerts *sa = arg;
    char errbuf[STORE_ERR_MAX] = "";
    config *cfg = NULL;
    int rc = -1;
    if (!sa->st && store_open(sa->db, &sa->st, errbuf, sizeof errbuf) != ERR_OK) {
        http_log("alert_store_error", "message", errbuf, NULL);
        sa->st = NULL;
        return -1;
    }
    if (store_config_load(sa->st, &cfg, errbuf, sizeof errbuf) != ERR_OK) {
        http_log("alert_store_error", "message", errbuf, NULL);
        return -1;
    }
    int i = config_find_campaign(cfg, campaign);
    if (i >= 0) {
        snprintf(out->name, sizeof out->name, "%s", cfg->campaigns[i].name);
        snprintf(out->webhook, sizeof out->webhook, "%s", cfg->campaigns[i].discord_webhook_url);
        rc = 0;
    }
    config_free(cfg);
    return rc;
}

/* discord_log_fn: one structured line through http_log. */
static void alerts_log(void *arg, const char *event, const char *webhook, const char *campaign,
                       const char *detail)
{
    (void)arg;
    http_log(event, "webhook", webhook, "campaign", campaign, "detail", detail, NULL);
}

server_alerts *server_alerts_start(events_bus *bus, const char *db, const char *webhook,
                                   int interval_s)
{
    server_alerts *sa = calloc(1, sizeof *sa);
    if (!sa)
        return NULL;
    sa->db = strdup(db);
    if (!sa->db)
        goto out_free;
    discord_options o;
    memset(&o, 0, sizeof o);
    o.webhook_url = webhook;
    o.interval_ms = interval_s > 0 ? interval_s * 1000 : 0;
    o.resolve = alerts_resolve;
    o.resolve_arg = sa;
    o.log = alerts_log;
    sa->alerter = discord_alerter_start(&o);
    if (!sa->alerter)
        goto out_free;
    if (events_bus_add_tap(bus, server_alerts_tap, sa) != 0) {
        discord_alerter_stop(sa->alerter);
        goto out_free;
    }
    return sa;
out_free:
    free(sa->db);
    free(sa);
    return NULL;
}

void server_alerts_stats(server_alerts *sa, discord_stats *out)
{
    discord_alerter_stats(sa ? sa->alerter : NULL, out);
}

void server_alerts_stop(server_alerts *sa)
{
    if (!sa)
        return;
    discord_alerter_stop(sa->alerter); /* joins the thread that uses the store */
    store_close(sa->st);
    free(sa->db);
    free(sa);
}
