/* callflow.c -- one inbound call from decision to record: snapshot, route, claim, record. */
#include "callflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../codec/route_json.h"

void callflow_outcome_init(callflow_outcome *o)
{
    memset(o, 0, sizeof *o);
    route_result_init(&o->result);
    o->agent = -1;
    o->rule = -1;
}

void callflow_outcome_free(callflow_outcome *o)
{
    if (!o)
        return;
    config_free(o->cfg);
    route_result_free(&o->result);
    store_call_clear(&o->call);
    o->cfg = NULL;
    o->agent = -1;
    o->rule = -1;
    o->callback_id = 0;
}

static void callflow_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The agents already tried, as a JSON array; "[]" (allocated too) when none. */
static char *callflow_tried_json(const router_call *call)
{
    if (!call->tried || call->n_tried <= 0)
        return strdup("[]");
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int i = 0; i < call->n_tried; i++) {
        if (call->tried[i] && json_array_append_new(arr, json_string(call->tried[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* Fills the parts of the call row that follow from the decision alone. */
static void callflow_fill_call(const config *cfg, const route_result *r, const router_call *call,
                               const char *external_id, int64_t now_ms, store_call *row)
{
    const route_trace *t = &r->trace;
    callflow_copy(row->external_id, sizeof row->external_id, external_id);
    if (t->campaign >= 0)
        callflow_copy(row->campaign, sizeof row->campaign, cfg->campaigns[t->campaign].id);
    callflow_copy(row->tracking_number, sizeof row->tracking_number,
                  t->to.e164[0] ? t->to.e164 : call->to);
    callflow_copy(row->caller, sizeof row->caller, t->from.e164[0] ? t->from.e164 : call->from);
    callflow_copy(row->caller_state, sizeof row->caller_state, t->caller_state);
    callflow_copy(row->category, sizeof row->category, t->category);
    row->status = CALL_ROUTING;
    row->created_ms = row->updated_ms = now_ms;
}

/* Claims the candidates in order until one is won; records every attempt in the trace and
 * moves a round-robin rule's cursor in the same transaction. Returns the index of the won
 * candidate, or -1 when every claim lost or on error (then *err is the negative err_code). */
static int callflow_claim(store *st, const config *cfg, route_result *r, int64_t now_ms,
                          int *err)
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
            continue; /* a lost race: the next candidate */
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

/* Resets an outcome for reuse: drops the previous snapshot and row, keeps result arrays. */
static void callflow_outcome_reset(callflow_outcome *o)
{
    config_free(o->cfg);
    o->cfg = NULL;
    store_call_clear(&o->call);
    o->agent = o->rule = -1;
    o->callback_id = 0;
}

/* Routes one call against `cfg` inside the caller's open transaction: decision, claims,
 * call row with its trace, callback when nobody is free. A won claim is applied to `cfg`
 * too (count, last assignment, cursor) so later calls routed against the same snapshot
 * see it. Returns ERR_OK or a negative err_code (the caller rolls back). */
static int callflow_route_locked(store *st, config *cfg, const router_call *call,
                                 const char *external_id, int64_t now_ms, const rng_source *rng,
                                 callflow_outcome *out)
{
    route_result *r = &out->result;
    store_call *row = &out->call;
    int rc;
    if (router_route(cfg, call, now_ms, rng, r) != 0)
        return ERR_NOMEM;
    callflow_fill_call(cfg, r, call, external_id, now_ms, row);
    if (r->action == ROUTE_CONNECT) {
        int won = callflow_claim(st, cfg, r, now_ms, &rc);
        if (rc < 0)
            return rc;
        if (won < 0) {
            r->action = ROUTE_NO_AGENT; /* every claim lost: the trace's claims say so */
        } else {
            const route_candidate *c = &r->candidates[won];
            config_agent *a = &cfg->agents[c->agent];
            a->active_calls++;
            a->last_assigned_ms = now_ms;
            if (cfg->rules[c->rule].mode == MODE_ROUND_ROBIN)
                cfg->rules[c->rule].rr_last_agent = c->agent;
            out->agent = c->agent;
            out->rule = c->rule;
            row->status = CALL_RINGING;
            row->holds_claim = true;
            callflow_copy(row->agent, sizeof row->agent, a->id);
            callflow_copy(row->rule, sizeof row->rule, cfg->rules[c->rule].id);
        }
    }
    if (r->action == ROUTE_NO_AGENT) {
        /* No queue yet (a later issue): the caller hears the friendly message and gets a
         * callback, so the call is over. */
        row->status = CALL_CALLBACK;
        row->ended_ms = now_ms;
    } else if (r->action == ROUTE_REJECT) {
        row->status = CALL_FAILED;
        row->ended_ms = now_ms;
    }
    row->tried_json = callflow_tried_json(call);
    row->trace_json = route_json_trace_text(cfg, r);
    if (!row->tried_json || !row->trace_json)
        return ERR_NOMEM;
    rc = store_call_insert(st, row);
    if (rc < 0)
        return rc;
    if (r->action == ROUTE_NO_AGENT) {
        store_callback cb;
        memset(&cb, 0, sizeof cb);
        callflow_copy(cb.call_id, sizeof cb.call_id, row->id);
        callflow_copy(cb.campaign, sizeof cb.campaign, row->campaign);
        callflow_copy(cb.tracking_number, sizeof cb.tracking_number, row->tracking_number);
        callflow_copy(cb.caller, sizeof cb.caller, row->caller);
        callflow_copy(cb.caller_state, sizeof cb.caller_state, row->caller_state);
        callflow_copy(cb.category, sizeof cb.category, row->category);
        callflow_copy(cb.reason, sizeof cb.reason, "no_agents");
        cb.created_ms = now_ms;
        rc = store_callback_upsert(st, &cb);
        if (rc < 0)
            return rc;
        out->callback_id = cb.id;
    }
    return ERR_OK;
}

/* After a rollback nothing was recorded: the outcome must not look like it was. */
static void callflow_outcome_forget(callflow_outcome *o)
{
    o->call.id[0] = '\0';
    o->agent = o->rule = -1;
    o->callback_id = 0;
}

int callflow_route(store *st, const router_call *call, const char *external_id, int64_t now_ms,
                   const rng_source *rng, bool dry_run, callflow_outcome *out)
{
    if (!st || !call || !rng || !out)
        return ERR_INVALID;
    callflow_outcome_reset(out);
    int rc = store_config_load(st, &out->cfg, NULL, 0);
    if (rc < 0)
        return rc;
    if (dry_run) {
        if (router_route(out->cfg, call, now_ms, rng, &out->result) != 0)
            return ERR_NOMEM;
        callflow_fill_call(out->cfg, &out->result, call, external_id, now_ms, &out->call);
        return ERR_OK;
    }
    rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = callflow_route_locked(st, out->cfg, call, external_id, now_ms, rng, out);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        callflow_outcome_forget(out);
    }
    return rc;
}

int callflow_route_batch(store *st, const callflow_request *reqs, int n, const rng_source *rng,
                         callflow_outcome *outs)
{
    if (!st || (n > 0 && (!reqs || !outs)) || !rng || n < 0)
        return ERR_INVALID;
    config *cfg = NULL;
    for (int i = 0; i < n; i++)
        callflow_outcome_reset(&outs[i]);
    int rc = store_config_load(st, &cfg, NULL, 0);
    if (rc < 0)
        return rc;
    rc = store_begin(st);
    if (rc < 0)
        goto out_free;
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = callflow_route_locked(st, cfg, &reqs[i].call, reqs[i].external_id, reqs[i].now_ms,
                                   rng, &outs[i]);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        for (int i = 0; i < n; i++)
            callflow_outcome_forget(&outs[i]);
    }
out_free:
    config_free(cfg);
    return rc;
}

int callflow_end(store *st, const char *call_id, int64_t now_ms)
{
    return store_call_end(st, call_id, CALL_COMPLETED, now_ms);
}
