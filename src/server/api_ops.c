/* api_ops.c -- operational endpoints: liveness, readiness and Prometheus metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "queue_dispatcher.h"
#include "server.h"
#include "server_alerts.h"
#include "twilio_handoff.h"

#define OPS_METRICS_MAX 16384

void api_ops_healthz(http_req *rq)
{
    http_reply(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void api_ops_readyz(http_req *rq)
{
    if (store_ping(rq->st) == ERR_OK)
        http_reply(rq, 200, json_pack("{s:s}", "status", "ready"));
    else
        http_error(rq, 503, "storage_error", NULL, "the database does not answer");
}

/* Appends formatted text to buf at *n, bounded by OPS_METRICS_MAX. */
__attribute__((format(printf, 3, 4))) static void ops_put(char *buf, size_t *n, const char *fmt,
                                                          ...)
{
    va_list ap;
    if (*n >= OPS_METRICS_MAX - 1)
        return;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, OPS_METRICS_MAX - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n = *n + (size_t)w >= OPS_METRICS_MAX ? OPS_METRICS_MAX - 1 : *n + (size_t)w;
}

void api_ops_metrics(http_req *rq)
{
    static const char *const actions[SERVER_N_ACTIONS] = {"connect", "queue", "callback", "reject"};
    server_metrics *m = rq->metrics;
    store_stats stats;
    size_t n = 0;
    int rc = store_stats_get(rq->st, rq->now_ms, &stats);
    if (rc < 0) {
        http_store_error(rq, rc, "the statistics", NULL);
        return;
    }
    char *buf = malloc(OPS_METRICS_MAX);
    if (!buf) {
        http_reply(rq, 500, NULL);
        return;
    }
    buf[0] = '\0';
    ops_put(buf, &n,
            "# HELP sureconnect_calls_routed_total Routing decisions by action.\n"
            "# TYPE sureconnect_calls_routed_total counter\n");
    for (int i = 0; i < SERVER_N_ACTIONS; i++)
        ops_put(buf, &n, "sureconnect_calls_routed_total{action=\"%s\"} %lld\n", actions[i],
                (long long)atomic_load(&m->routed[i]));
    ops_put(buf, &n,
            "# HELP sureconnect_claim_conflicts_total Claims lost to a concurrent call.\n"
            "# TYPE sureconnect_claim_conflicts_total counter\n"
            "sureconnect_claim_conflicts_total %lld\n",
            (long long)atomic_load(&m->claim_conflicts));
    ops_put(buf, &n,
            "# HELP sureconnect_routing_seconds Time to route one call (decision,"
            " claim and record).\n"
            "# TYPE sureconnect_routing_seconds histogram\n");
    long long cumulative = 0;
    for (int i = 0; i < SERVER_LATENCY_BUCKETS; i++) {
        cumulative += (long long)atomic_load(&m->latency_bucket[i]);
        if (i == SERVER_LATENCY_BUCKETS - 1)
            ops_put(buf, &n, "sureconnect_routing_seconds_bucket{le=\"+Inf\"} %lld\n", cumulative);
        else
            ops_put(buf, &n, "sureconnect_routing_seconds_bucket{le=\"%g\"} %lld\n",
                    server_latency_bounds[i], cumulative);
    }
    ops_put(
        buf, &n, "sureconnect_routing_seconds_sum %.6f\nsureconnect_routing_seconds_count %lld\n",
        (double)atomic_load(&m->latency_sum_us) / 1e6, (long long)atomic_load(&m->latency_count));
    ops_put(
        buf, &n,
        "# HELP sureconnect_active_calls Calls holding an agent now.\n"
        "# TYPE sureconnect_active_calls gauge\nsureconnect_active_calls %lld\n"
        "# HELP sureconnect_agents_available Agents active, connected and below their limit.\n"
        "# TYPE sureconnect_agents_available gauge\nsureconnect_agents_available %lld\n"
        "# HELP sureconnect_callbacks_open Callbacks not yet done.\n"
        "# TYPE sureconnect_callbacks_open gauge\nsureconnect_callbacks_open %lld\n"
        "# HELP sureconnect_http_requests_total HTTP requests served.\n"
        "# TYPE sureconnect_http_requests_total counter\nsureconnect_http_requests_total %lld\n",
        stats.active_calls, stats.agents_available, stats.open_callbacks,
        (long long)atomic_load(&m->requests));
    queue_dispatcher_stats *qs = queue_dispatcher_stats_of(m->queue);
    ops_put(buf, &n,
            "# HELP sureconnect_queue_waiting Callers waiting in a queue now.\n"
            "# TYPE sureconnect_queue_waiting gauge\nsureconnect_queue_waiting %lld\n"
            "# HELP sureconnect_queue_handoffs_total Waiting callers handed to an agent.\n"
            "# TYPE sureconnect_queue_handoffs_total counter\n"
            "sureconnect_queue_handoffs_total %lld\n"
            "# HELP sureconnect_queue_timeouts_total Waits that passed the campaign's max wait"
            " (callback queue_timeout).\n"
            "# TYPE sureconnect_queue_timeouts_total counter\n"
            "sureconnect_queue_timeouts_total %lld\n"
            "# HELP sureconnect_queue_dispatch_failures_total Queue passes rolled back (retried).\n"
            "# TYPE sureconnect_queue_dispatch_failures_total counter\n"
            "sureconnect_queue_dispatch_failures_total %lld\n"
            "# HELP sureconnect_recovery_corrections_total Corrections of the recovery sweep:"
            " agents' call counts set from the calls, calls stuck ringing failed over, silent"
            " connected calls ended.\n"
            "# TYPE sureconnect_recovery_corrections_total counter\n"
            "sureconnect_recovery_corrections_total{kind=\"call_counts\"} %lld\n"
            "sureconnect_recovery_corrections_total{kind=\"ring_timeout\"} %lld\n"
            "sureconnect_recovery_corrections_total{kind=\"max_connected\"} %lld\n"
            "# HELP sureconnect_queue_notify_wakeups_total Queue passes woken by a database"
            " notification (PostgreSQL: capacity freed by another daemon or process).\n"
            "# TYPE sureconnect_queue_notify_wakeups_total counter\n"
            "sureconnect_queue_notify_wakeups_total %lld\n",
            stats.queued_calls, qs ? (long long)atomic_load(&qs->handoffs) : 0LL,
            qs ? (long long)atomic_load(&qs->timeouts) : 0LL,
            qs ? (long long)atomic_load(&qs->failures) : 0LL,
            qs ? (long long)atomic_load(&qs->recovered_counts) : 0LL,
            qs ? (long long)atomic_load(&qs->recovered_ringing) : 0LL,
            qs ? (long long)atomic_load(&qs->recovered_connected) : 0LL,
            qs ? (long long)atomic_load(&qs->notified) : 0LL);
    twilio_handoff_stats *hs = twilio_handoff_stats_of(m->handoff);
    ops_put(buf, &n,
            "# HELP sureconnect_twilio_handoffs_total Waiting Twilio callers moved to their"
            " agent through the REST API (redirected), or queued again because the provider"
            " refused (failed).\n"
            "# TYPE sureconnect_twilio_handoffs_total counter\n"
            "sureconnect_twilio_handoffs_total{result=\"redirected\"} %lld\n"
            "sureconnect_twilio_handoffs_total{result=\"failed\"} %lld\n",
            hs ? (long long)atomic_load(&hs->redirected) : 0LL,
            hs ? (long long)atomic_load(&hs->failed) : 0LL);
    discord_stats al;
    server_alerts_stats(m->alerts, &al);
    ops_put(buf, &n,
            "# HELP sureconnect_alert_messages_total Discord alert messages: sent, resent"
            " (retried) and given up (failed).\n"
            "# TYPE sureconnect_alert_messages_total counter\n"
            "sureconnect_alert_messages_total{result=\"sent\"} %lld\n"
            "sureconnect_alert_messages_total{result=\"retried\"} %lld\n"
            "sureconnect_alert_messages_total{result=\"failed\"} %lld\n"
            "# HELP sureconnect_alerts_total Calls reported to Discord (sent), in messages given"
            " up (failed) or never sent (dropped).\n"
            "# TYPE sureconnect_alerts_total counter\n"
            "sureconnect_alerts_total{result=\"sent\"} %lld\n"
            "sureconnect_alerts_total{result=\"failed\"} %lld\n"
            "sureconnect_alerts_total{result=\"dropped\"} %lld\n"
            "# HELP sureconnect_alert_webhooks_disabled Discord webhooks disabled after a 401"
            " or 404.\n"
            "# TYPE sureconnect_alert_webhooks_disabled gauge\n"
            "sureconnect_alert_webhooks_disabled %lld\n",
            al.sent, al.retried, al.failed, al.alerts_sent, al.alerts_failed, al.dropped,
            al.disabled_webhooks);
    rq->status = 200;
    rq->text = buf;
    rq->text_type = "text/plain; version=0.0.4; charset=utf-8";
}
