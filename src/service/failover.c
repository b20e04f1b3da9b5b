/* failover.c -- a no-answer releases the claim, marks the agent tried and routes again. */
#include "failover.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../codec/route_json.h"

static void failover_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads the tried list of the row plus `agent` into a new JSON array (caller decrefs). */
static json_t *failover_tried(const char *tried_json, const char *agent)
{
    json_t *arr = tried_json ? json_loads(tried_json, 0, NULL) : NULL;
    if (!json_is_array(arr)) {
        json_decref(arr);
        arr = json_array();
    }
    if (!arr)
        return NULL;
    bool seen = false;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), agent) == 0)
            seen = true;
    }
    if (!seen && agent[0] && json_array_size(arr) < ROUTER_MAX_TRIED &&
        json_array_append_new(arr, json_string(agent)) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* The category the first decision was given by the caller (an IVR choice), or NULL when it
 * came from the number or the campaign, so that routing again derives it the same way. */
static const char *failover_explicit_category(const json_t *trace, const store_call *row)
{
    const json_t *src = json_object_get(trace, "category_source");
    if (json_is_string(src) && strcmp(json_string_value(src), "call") == 0 && row->category[0])
        return row->category;
    return NULL;
}

/* Claims candidates in order until one is won, as the first routing does: each attempt
 * goes into the trace, a round-robin cursor moves with the claim. Returns the index of the
 * won candidate, -1 when every claim lost, or a negative err_code below -1 via *err. */
static int failover_claim(store *st, const config *cfg, route_result *r, int64_t now_ms, int *err)
{
    *err = ERR_OK;
    for (int i = 0; i < r->n_candidates; i++) {
        const route_candidate *c = &r->candidates[i];
        int won = store_claim(st, cfg->agents[c->agent].id, now_ms);
        if (won < 0) {
            *err = won;
            return -1;
        }
        if (route_trace_add_claim(r, c->agent, won == 1) < 0) {
            *err = ERR_NOMEM;
            return -1;
        }
        if (won != 1)
            continue;
        if (cfg->rules[c->rule].mode == MODE_ROUND_ROBIN) {
            int rc = store_rule_cursor_set(st, cfg->rules[c->rule].id, cfg->agents[c->agent].id);
            if (rc < 0) {
                *err = rc;
                return -1;
            }
        }
        return i;
    }
    return -1;
}

/* The work inside the transaction. */
static int failover_locked(store *st, const char *call_id, int64_t now_ms, const rng_source *rng,
                           callflow_outcome *out)
{
    char agent[CONFIG_ID_MAX];
    const char *tried[ROUTER_MAX_TRIED];
    store_call *row = &out->call;
    route_result *r = &out->result;
    json_t *tried_arr = NULL, *old_trace = NULL;
    int rc = store_call_get(st, call_id, row);
    if (rc < 0)
        return rc;
    rc = store_call_release_for_retry(st, call_id, now_ms, agent, sizeof agent);
    if (rc < 0)
        return rc;
    tried_arr = failover_tried(row->tried_json, agent);
    old_trace = json_loads(row->trace_json ? row->trace_json : "{}", 0, NULL);
    if (!tried_arr) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    int n_tried = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tried_arr, i, v)
    {
        if (json_is_string(v) && n_tried < ROUTER_MAX_TRIED)
            tried[n_tried++] = json_string_value(v);
    }
    if ((rc = store_config_load(st, &out->cfg, NULL, 0)) < 0)
        goto out_free;
    router_call call = {row->tracking_number, row->caller,
                        failover_explicit_category(old_trace, row), tried, n_tried};
    if (router_route(out->cfg, &call, now_ms, rng, r) != 0) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    row->agent[0] = row->rule[0] = '\0';
    row->holds_claim = false;
    row->updated_ms = now_ms;
    if (r->action == ROUTE_CONNECT) {
        int won = failover_claim(st, out->cfg, r, now_ms, &rc);
        if (rc < 0)
            goto out_free;
        if (won < 0) {
            r->action = ROUTE_NO_AGENT;
        } else {
            const route_candidate *c = &r->candidates[won];
            out->agent = c->agent;
            out->rule = c->rule;
            row->status = CALL_RINGING;
            row->holds_claim = true;
            failover_copy(row->agent, sizeof row->agent, out->cfg->agents[c->agent].id);
            failover_copy(row->rule, sizeof row->rule, out->cfg->rules[c->rule].id);
        }
    }
    if (r->action != ROUTE_CONNECT) {
        /* No queue yet: as for a first routing, nobody free means a callback. */
        row->status = r->action == ROUTE_REJECT ? CALL_FAILED : CALL_CALLBACK;
        row->ended_ms = now_ms;
    }
    free(row->tried_json);
    free(row->trace_json);
    row->tried_json = json_dumps(tried_arr, JSON_COMPACT);
    row->trace_json = route_json_trace_text(out->cfg, r);
    if (!row->tried_json || !row->trace_json) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    if ((rc = store_call_update_route(st, row)) < 0)
        goto out_free;
    if (r->action == ROUTE_NO_AGENT) {
        store_callback cb;
        memset(&cb, 0, sizeof cb);
        failover_copy(cb.call_id, sizeof cb.call_id, row->id);
        failover_copy(cb.campaign, sizeof cb.campaign, row->campaign);
        failover_copy(cb.tracking_number, sizeof cb.tracking_number, row->tracking_number);
        failover_copy(cb.caller, sizeof cb.caller, row->caller);
        failover_copy(cb.caller_state, sizeof cb.caller_state, row->caller_state);
        failover_copy(cb.category, sizeof cb.category, row->category);
        failover_copy(cb.reason, sizeof cb.reason, "no_agents");
        cb.created_ms = now_ms;
        if ((rc = store_callback_upsert(st, &cb)) < 0)
            goto out_free;
        out->callback_id = cb.id;
    }
    rc = ERR_OK;
out_free:
    json_decref(old_trace);
    json_decref(tried_arr);
    return rc;
}

int failover_no_answer(store *st, const char *call_id, int64_t now_ms, const rng_source *rng,
                       callflow_outcome *out)
{
    if (!st || !call_id || !rng || !out)
        return ERR_INVALID;
    callflow_outcome_free(out);
    callflow_outcome_init(out);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = failover_locked(st, call_id, now_ms, rng, out);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        out->call.id[0] = '\0';
        out->agent = out->rule = -1;
        out->callback_id = 0;
    }
    return rc;
}
