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
static int callflow_claim(store *st, const config *cfg, route_result *r, int64_t now_ms, int *err)
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

/* Carries out the router's decision in out->result inside the caller's open transaction:
 * claims the candidates and writes the routing fields of out->call (status, agent, rule,
 * claim, tried list, trace); the caller then inserts or updates the row. A won claim is
 * applied to `cfg` too (count, last assignment, cursor) so later calls routed against the
 * same snapshot see it. Returns ERR_OK or a negative err_code (the caller rolls back). */
static int callflow_apply_locked(store *st, config *cfg, const router_call *call, int64_t now_ms,
                                 callflow_outcome *out)
{
    route_result *r = &out->result;
    store_call *row = &out->call;
    int rc;
    row->agent[0] = row->rule[0] = '\0';
    row->holds_claim = false;
    row->updated_ms = now_ms;
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
    if (r->action != ROUTE_CONNECT) {
        /* No queue yet (a later issue): nobody free means the caller hears the friendly
         * message and gets a callback; an unknown number fails. Either way the call is over. */
        row->status = r->action == ROUTE_REJECT ? CALL_FAILED : CALL_CALLBACK;
        row->ended_ms = now_ms;
    }
    free(row->tried_json);
    free(row->trace_json);
    row->tried_json = callflow_tried_json(call);
    row->trace_json = route_json_trace_text(cfg, r);
    return row->tried_json && row->trace_json ? ERR_OK : ERR_NOMEM;
}

/* When the decision was "no agent", creates the caller's callback (or bumps the open one)
 * inside the caller's transaction. Returns ERR_OK or a negative err_code. */
static int callflow_callback_locked(store *st, int64_t now_ms, callflow_outcome *out)
{
    if (out->result.action != ROUTE_NO_AGENT)
        return ERR_OK;
    const store_call *row = &out->call;
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
    int rc = store_callback_upsert(st, &cb);
    if (rc < 0)
        return rc;
    out->callback_id = cb.id;
    return ERR_OK;
}

/* Routes a new call inside the caller's open transaction: decision, claims, call row with
 * its trace, callback when nobody is free. Returns ERR_OK or a negative err_code. */
static int callflow_route_locked(store *st, config *cfg, const router_call *call,
                                 const char *external_id, int64_t now_ms, const rng_source *rng,
                                 callflow_outcome *out)
{
    if (router_route(cfg, call, now_ms, rng, &out->result) != 0)
        return ERR_NOMEM;
    callflow_fill_call(cfg, &out->result, call, external_id, now_ms, &out->call);
    int rc = callflow_apply_locked(st, cfg, call, now_ms, out);
    if (rc == ERR_OK)
        rc = store_call_insert(st, &out->call);
    if (rc == ERR_OK)
        rc = callflow_callback_locked(st, now_ms, out);
    return rc;
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
        rc = callflow_route_locked(st, cfg, &reqs[i].call, reqs[i].external_id, reqs[i].now_ms, rng,
                                   &outs[i]);
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

/* Reads a row's tried list and adds `agent` (once) into a new JSON array (caller decrefs);
 * NULL when out of memory. */
static json_t *callflow_tried_plus(const char *tried_json, const char *agent)
{
    json_t *arr = tried_json ? json_loads(tried_json, 0, NULL) : NULL;
    if (!json_is_array(arr)) {
        json_decref(arr);
        arr = json_array();
    }
    if (!arr)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), agent) == 0)
            return arr;
    }
    if (agent[0] && json_array_size(arr) < ROUTER_MAX_TRIED &&
        json_array_append_new(arr, json_string(agent)) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* The category the caller gave on the first decision (an IVR choice), or NULL when it came
 * from the number or the campaign, so that routing again derives it the same way. */
static const char *callflow_explicit_category(const store_call *row)
{
    json_t *trace = row->trace_json ? json_loads(row->trace_json, 0, NULL) : NULL;
    const json_t *src = json_object_get(trace, "category_source");
    bool from_call = json_is_string(src) && strcmp(json_string_value(src), "call") == 0;
    json_decref(trace);
    return from_call && row->category[0] ? row->category : NULL;
}

/* The no-answer work inside the transaction: release, mark tried, route again, update. */
static int callflow_no_answer_locked(store *st, const char *call_id, int64_t now_ms,
                                     const rng_source *rng, callflow_outcome *out)
{
    char agent[CONFIG_ID_MAX];
    const char *tried[ROUTER_MAX_TRIED];
    store_call *row = &out->call;
    int rc = store_call_get(st, call_id, row);
    if (rc < 0)
        return rc;
    rc = store_call_release_for_retry(st, call_id, now_ms, agent, sizeof agent);
    if (rc < 0)
        return rc;
    json_t *tried_arr = callflow_tried_plus(row->tried_json, agent);
    if (!tried_arr)
        return ERR_NOMEM;
    int n_tried = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tried_arr, i, v)
    {
        if (json_is_string(v) && n_tried < ROUTER_MAX_TRIED)
            tried[n_tried++] = json_string_value(v);
    }
    router_call call = {row->tracking_number, row->caller, callflow_explicit_category(row), tried,
                        n_tried};
    if ((rc = store_config_load(st, &out->cfg, NULL, 0)) < 0)
        goto out_free;
    if (router_route(out->cfg, &call, now_ms, rng, &out->result) != 0) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    if ((rc = callflow_apply_locked(st, out->cfg, &call, now_ms, out)) < 0 ||
        (rc = store_call_update_route(st, row)) < 0)
        goto out_free;
    rc = callflow_callback_locked(st, now_ms, out);
out_free:
    json_decref(tried_arr);
    return rc;
}

int callflow_no_answer(store *st, const char *call_id, int64_t now_ms, const rng_source *rng,
                       callflow_outcome *out)
{
    if (!st || !call_id || !rng || !out)
        return ERR_INVALID;
    callflow_outcome_reset(out);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = callflow_no_answer_locked(st, call_id, now_ms, rng, out);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        callflow_outcome_forget(out);
    }
    return rc;
}

int callflow_end(store *st, const char *call_id, int64_t now_ms)
{
    return store_call_end(st, call_id, CALL_COMPLETED, now_ms);
}
