/* api_queues.c -- GET /v1/queues and GET /v1/queues/{campaign}: the callers waiting in each
 * campaign's queue (SPEC 3.7), first come first served, with position, time waited and
 * estimated wait. */
#include <string.h>

#include "../service/queue.h"
#include "api.h"

/* One waiting caller as the API shows it. */
static json_t *queues_entry_json(const queue_entry *e)
{
    const store_call *c = &e->call;
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:I}", "call_id", c->id, "caller", c->caller,
        "caller_state", c->caller_state[0] ? json_string(c->caller_state) : json_null(), "category",
        c->category[0] ? json_string(c->category) : json_null(), "tracking_number",
        c->tracking_number, "position", (json_int_t)e->position, "waited_ms",
        (json_int_t)e->waited_ms, "estimated_wait_s", (json_int_t)e->estimated_wait_s, "queued_ms",
        (json_int_t)c->queued_ms, "deadline_ms", (json_int_t)c->queue_deadline_ms);
}

/* The queue object of campaign `cp` (its settings) with the callers of `entries` that
 * belong to it, in order. */
static json_t *queues_campaign_json(const config_campaign *cp, const char *id,
                                    const queue_entry *entries, int n)
{
    json_t *callers = json_array();
    for (int i = 0; callers && i < n; i++) {
        if (strcmp(entries[i].call.campaign, id) != 0)
            continue;
        if (json_array_append_new(callers, queues_entry_json(&entries[i])) != 0) {
            json_decref(callers);
            callers = NULL;
        }
    }
    if (!callers)
        return NULL;
    return json_pack("{s:s, s:b, s:i, s:i, s:I, s:o}", "campaign", id, "enabled",
                     cp ? cp->queue_enabled : false, "max_size", cp ? cp->queue_max_size : 0,
                     "max_wait_s", cp ? cp->queue_max_wait_s : 0, "count",
                     (json_int_t)json_array_size(callers), "waiting", callers);
}

/* Loads the configuration and the waiting callers (of `campaign`, or all when NULL); on
 * failure sets the reply and returns false. */
static bool queues_load(http_req *rq, const char *campaign, config **cfg, queue_entry **entries,
                        int *n)
{
    int rc = store_config_load(rq->st, cfg, NULL, 0);
    if (rc == ERR_OK)
        rc = queue_entries(rq->st, campaign, rq->now_ms, entries, n);
    if (rc < 0) {
        config_free(*cfg);
        *cfg = NULL;
        http_store_error(rq, rc, "the queues", NULL);
        return false;
    }
    return true;
}

void api_queues_list(http_req *rq)
{
    config *cfg = NULL;
    queue_entry *entries = NULL;
    int n = 0;
    if (!queues_load(rq, NULL, &cfg, &entries, &n))
        return;
    json_t *arr = json_array();
    /* Every campaign with its queue enabled or callers still waiting, in configuration order. */
    for (int c = 0; arr && c < cfg->n_campaigns; c++) {
        const config_campaign *cp = &cfg->campaigns[c];
        bool waiting = false;
        for (int i = 0; i < n && !waiting; i++)
            waiting = strcmp(entries[i].call.campaign, cp->id) == 0;
        if (!cp->queue_enabled && !waiting)
            continue;
        if (json_array_append_new(arr, queues_campaign_json(cp, cp->id, entries, n)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    http_reply(rq, 200, arr ? json_pack("{s:o, s:i}", "queues", arr, "waiting", n) : NULL);
    queue_entries_free(entries, n);
    config_free(cfg);
}

void api_queues_get(http_req *rq)
{
    config *cfg = NULL;
    queue_entry *entries = NULL;
    int n = 0;
    const char *id = rq->params[0];
    if (!queues_load(rq, id, &cfg, &entries, &n))
        return;
    int c = config_find_campaign(cfg, id);
    if (c < 0 && n == 0)
        http_error(rq, 404, "not_found", "campaign", "no campaign \"%s\"", id);
    else
        http_reply(rq, 200,
                   queues_campaign_json(c >= 0 ? &cfg->campaigns[c] : NULL, id, entries, n));
    queue_entries_free(entries, n);
    config_free(cfg);
}
