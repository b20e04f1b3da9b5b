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
static int callflow_claim(store *st, callflow_outcome *o, int64_t now_ms, int *err)
{
    const config *cfg = o->cfg;
    route_result *r = &o->result;
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

int callflow_route(store *st, const router_call *call, const char *external_id, int64_t now_ms,
                   const rng_source *rng, bool dry_run, callflow_outcome *out)
{
    int rc;
    if (!st || !call || !rng || !out)
        return ERR_INVALID;
    /* An outcome may be reused: drop the previous snapshot and row, keep the result arrays. */
    config_free(out->cfg);
    out->cfg = NULL;
    store_call_clear(&out->call);
    out->agent = out->rule = -1;
    out->callback_id = 0;

    rc = store_config_load(st, &out->cfg, NULL, 0);
    if (rc < 0)
        return rc;
    if (router_route(out->cfg, call, now_ms, rng, &out->result) != 0)
        return ERR_NOMEM;
    const config *cfg = out->cfg;
    route_result *r = &out->result;
    store_call *row = &out->call;
    callflow_fill_call(cfg, r, call, external_id, now_ms, row);
    if (dry_run)
        return ERR_OK;

    rc = store_begin(st);
    if (rc < 0)
        return rc;
    if (r->action == ROUTE_CONNECT) {
        int won = callflow_claim(st, out, now_ms, &rc);
        if (rc < 0)
            goto out_rollback;
        if (won < 0) {
            r->action = ROUTE_NO_AGENT; /* every claim lost: the trace's claims say so */
        } else {
            const route_candidate *c = &r->candidates[won];
            out->agent = c->agent;
            out->rule = c->rule;
            row->status = CALL_RINGING;
            row->holds_claim = true;
            callflow_copy(row->agent, sizeof row->agent, cfg->agents[c->agent].id);
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
    if (!row->tried_json || !row->trace_json) {
        rc = ERR_NOMEM;
        goto out_rollback;
    }
    rc = store_call_insert(st, row);
    if (rc < 0)
        goto out_rollback;
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
            goto out_rollback;
        out->callback_id = cb.id;
    }
    rc = store_commit(st);
    if (rc < 0)
        goto out_rollback;
    return ERR_OK;

out_rollback:
    store_rollback(st);
    /* Nothing was recorded: the outcome must not look like it was. */
    row->id[0] = '\0';
    out->agent = out->rule = -1;
    out->callback_id = 0;
    return rc;
}

int callflow_end(store *st, const char *call_id, int64_t now_ms)
{
    return store_call_end(st, call_id, CALL_COMPLETED, now_ms);
}
