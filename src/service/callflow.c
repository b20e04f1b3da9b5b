/* callflow.c -- one inbound call from decision to record: snapshot, route, claim, record. */
#include "callflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../codec/route_json.h"
#include "queue.h"

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
    o->callback_reason[0] = '\0';
    o->queue_position = o->estimated_wait_s = 0;
}

const char *callflow_action_name(const callflow_outcome *o)
{
    switch (o->call.status) {
    case CALL_RINGING:
    case CALL_CONNECTED:
        return "connect";
    case CALL_QUEUED:
        return "queue";
    case CALL_FAILED:
        return "reject";
    case CALL_CALLBACK:
    case CALL_ABANDONED:
        return "callback";
    default: /* a dry run: the router's decision */
        return o->result.action == ROUTE_CONNECT  ? "connect"
               : o->result.action == ROUTE_REJECT ? "reject"
                                                  : "callback";
    }
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
    o->callback_reason[0] = '\0';
    o->queue_position = o->estimated_wait_s = 0;
}

/* The campaign's queue, when the decision's campaign is known and has its queue enabled. */
static const config_campaign *callflow_queue_of(const config *cfg, const route_result *r)
{
    int c = r->trace.campaign;
    if (c < 0 || c >= cfg->n_campaigns || !cfg->campaigns[c].queue_enabled)
        return NULL;
    return &cfg->campaigns[c];
}

/* Nobody can take the call (SPEC 3.7): it joins the campaign's queue when that is enabled
 * and not full, else it ends with a callback (reason no_agents or queue_full). Fills the
 * routing fields of out->call and *info (how the queue decided, for the trace; NULL when
 * out of memory). `waiting_ahead` > 0 means agents were free but callers were already
 * waiting. Returns ERR_OK or a negative err_code. */
static int callflow_queue_or_callback(store *st, const config *cfg, int64_t now_ms,
                                      long long waiting_ahead, callflow_outcome *out, json_t **info)
{
    store_call *row = &out->call;
    const config_campaign *q = callflow_queue_of(cfg, &out->result);
    long long waiting = 0, position = 0, wait_s = 0;
    int rc;
    *info = NULL;
    if (q && (rc = store_queue_count(st, q->id, &waiting)) < 0)
        return rc;
    if (!q || waiting >= q->queue_max_size) {
        row->status = CALL_CALLBACK;
        row->ended_ms = now_ms;
        callflow_copy(out->callback_reason, sizeof out->callback_reason,
                      q ? "queue_full" : "no_agents");
        *info = q ? json_pack("{s:s, s:I, s:i}", "result", "full", "waiting", (json_int_t)waiting,
                              "max_size", q->queue_max_size)
                  : json_pack("{s:s}", "result", "disabled");
        return ERR_OK;
    }
    /* A new call is the newest in the queue; a call routed again keeps its arrival time. */
    if (!row->id[0])
        position = waiting + 1;
    else if ((rc = store_queue_position(st, row, &position)) < 0)
        return rc;
    if ((rc = queue_estimate(st, cfg, out->result.trace.campaign, position, now_ms, &wait_s)) < 0)
        return rc;
    row->status = CALL_QUEUED;
    row->queued_ms = now_ms;
    row->queue_deadline_ms = now_ms + (int64_t)q->queue_max_wait_s * 1000;
    out->queue_position = position;
    out->estimated_wait_s = wait_s;
    *info = json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:I, s:I}", "result", "queued", "reason",
                      waiting_ahead > 0 ? "callers_waiting" : "no_agent_available", "position",
                      (json_int_t)position, "waiting", (json_int_t)waiting, "max_size",
                      q->queue_max_size, "max_wait_s", q->queue_max_wait_s, "deadline_ms",
                      (json_int_t)row->queue_deadline_ms, "estimated_wait_s", (json_int_t)wait_s);
    return ERR_OK;
}

/* Claims the candidates of a connect decision and, when one is won, writes the claim into
 * out->call (status ringing, agent, rule, holds_claim) and applies it to `cfg` (count, last
 * assignment, cursor) so later calls routed against the same snapshot see it. Returns 1
 * when an agent was claimed, 0 when every claim was lost, or a negative err_code. */
static int callflow_claim_apply(store *st, config *cfg, int64_t now_ms, callflow_outcome *out)
{
    route_result *r = &out->result;
    store_call *row = &out->call;
    int rc;
    int won = callflow_claim(st, cfg, r, now_ms, &rc);
    if (rc < 0)
        return rc;
    if (won < 0)
        return 0;
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
    row->queue_deadline_ms = 0;
    callflow_copy(row->agent, sizeof row->agent, a->id);
    callflow_copy(row->rule, sizeof row->rule, cfg->rules[c->rule].id);
    return 1;
}

/* Carries out the router's decision in out->result inside the caller's open transaction:
 * claims the candidates, or queues the caller, or makes the call a callback or a failure,
 * and writes the routing fields of out->call (status, agent, rule, claim, queue times,
 * tried list, trace); the caller then inserts or updates the row (and makes the callback).
 * With `fcfs`, a connect decision for a campaign whose queue already has callers waiting
 * joins the queue behind them instead. Returns ERR_OK or a negative err_code (the caller
 * rolls back). */
static int callflow_apply_locked(store *st, config *cfg, const router_call *call, int64_t now_ms,
                                 bool fcfs, callflow_outcome *out)
{
    route_result *r = &out->result;
    store_call *row = &out->call;
    json_t *queue_info = NULL;
    long long waiting = 0;
    int rc;
    row->agent[0] = row->rule[0] = '\0';
    row->holds_claim = false;
    row->updated_ms = now_ms;
    row->queued_ms = row->queue_deadline_ms = 0;
    out->callback_reason[0] = '\0';
    out->queue_position = out->estimated_wait_s = 0;
    const config_campaign *q = callflow_queue_of(cfg, r);
    if (r->action == ROUTE_CONNECT && fcfs && q &&
        (rc = store_queue_count(st, q->id, &waiting)) < 0)
        return rc;
    if (r->action == ROUTE_CONNECT && waiting == 0) {
        rc = callflow_claim_apply(st, cfg, now_ms, out);
        if (rc < 0)
            return rc;
        if (rc == 0)
            r->action = ROUTE_NO_AGENT; /* every claim lost: the trace's claims say so */
    } else if (r->action == ROUTE_CONNECT) {
        r->action = ROUTE_NO_AGENT; /* first come first served: behind the waiting callers */
    }
    if (r->action == ROUTE_NO_AGENT) {
        rc = callflow_queue_or_callback(st, cfg, now_ms, waiting, out, &queue_info);
        if (rc < 0)
            return rc;
        if (!queue_info)
            return ERR_NOMEM;
    } else if (r->action == ROUTE_REJECT) {
        row->status = CALL_FAILED; /* an unknown number: the call is over */
        row->ended_ms = now_ms;
    }
    free(row->tried_json);
    free(row->trace_json);
    row->tried_json = callflow_tried_json(call);
    row->trace_json = route_json_trace_text_with(cfg, r, "queue", queue_info);
    return row->tried_json && row->trace_json ? ERR_OK : ERR_NOMEM;
}

/* When the call ended with a callback, creates the caller's callback (or bumps the open
 * one) inside the caller's transaction. Returns ERR_OK or a negative err_code. */
static int callflow_callback_locked(store *st, int64_t now_ms, callflow_outcome *out)
{
    if (out->call.status != CALL_CALLBACK || !out->callback_reason[0])
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
    callflow_copy(cb.reason, sizeof cb.reason, out->callback_reason);
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
    int rc = callflow_apply_locked(st, cfg, call, now_ms, true, out);
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
    o->queue_position = o->estimated_wait_s = 0;
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

int callflow_route_batch_locked(store *st, const callflow_request *reqs, int n,
                                const rng_source *rng, callflow_outcome *outs, config **snapshot)
{
    if (snapshot)
        *snapshot = NULL;
    if (!st || (n > 0 && (!reqs || !outs)) || !rng || n < 0)
        return ERR_INVALID;
    config *cfg = NULL;
    for (int i = 0; i < n; i++)
        callflow_outcome_reset(&outs[i]);
    int rc = store_config_load(st, &cfg, NULL, 0);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = callflow_route_locked(st, cfg, &reqs[i].call, reqs[i].external_id, reqs[i].now_ms, rng,
                                   &outs[i]);
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            callflow_outcome_forget(&outs[i]);
    }
    if (snapshot && rc == ERR_OK)
        *snapshot = cfg;
    else
        config_free(cfg);
    return rc;
}

int callflow_route_batch(store *st, const callflow_request *reqs, int n, const rng_source *rng,
                         callflow_outcome *outs)
{
    if (!st || (n > 0 && (!reqs || !outs)) || !rng || n < 0)
        return ERR_INVALID;
    int rc = store_begin(st);
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            callflow_outcome_reset(&outs[i]);
        return rc;
    }
    rc = callflow_route_batch_locked(st, reqs, n, rng, outs, NULL);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        for (int i = 0; i < n; i++)
            callflow_outcome_forget(&outs[i]);
    }
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

/* The routing request of a stored call, to route it again: its numbers, the category the
 * caller gave, and the agents already tried (the row's list plus `also_tried` unless "").
 * `tried` (ROUTER_MAX_TRIED entries) points into *tried_arr, which the caller decrefs.
 * Returns ERR_OK or ERR_NOMEM. */
static int callflow_call_of_row(const store_call *row, const char *also_tried, json_t **tried_arr,
                                const char **tried, router_call *call)
{
    int n_tried = 0;
    size_t i;
    json_t *v;
    *tried_arr = callflow_tried_plus(row->tried_json, also_tried);
    if (!*tried_arr)
        return ERR_NOMEM;
    json_array_foreach(*tried_arr, i, v)
    {
        if (json_is_string(v) && n_tried < ROUTER_MAX_TRIED)
            tried[n_tried++] = json_string_value(v);
    }
    *call = (router_call){row->tracking_number, row->caller, callflow_explicit_category(row), tried,
                          n_tried};
    return ERR_OK;
}

/* The no-answer work inside the transaction: release, mark tried, route again, update. */
static int callflow_no_answer_locked(store *st, const char *call_id, int64_t now_ms,
                                     const rng_source *rng, callflow_outcome *out)
{
    char agent[CONFIG_ID_MAX];
    const char *tried[ROUTER_MAX_TRIED];
    json_t *tried_arr = NULL;
    router_call call;
    store_call *row = &out->call;
    int rc = store_call_get(st, call_id, row);
    if (rc < 0)
        return rc;
    rc = store_call_release_for_retry(st, call_id, now_ms, agent, sizeof agent);
    if (rc < 0)
        return rc;
    if ((rc = callflow_call_of_row(row, agent, &tried_arr, tried, &call)) < 0)
        return rc;
    if ((rc = store_config_load(st, &out->cfg, NULL, 0)) < 0)
        goto out_free;
    if (router_route(out->cfg, &call, now_ms, rng, &out->result) != 0) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    if ((rc = callflow_apply_locked(st, out->cfg, &call, now_ms, true, out)) < 0 ||
        (rc = store_call_update_route(st, row, CALL_ROUTING)) < 0)
        goto out_free;
    rc = callflow_callback_locked(st, now_ms, out);
out_free:
    json_decref(tried_arr);
    return rc;
}

int callflow_handoff_locked(store *st, config *cfg, int64_t now_ms, const rng_source *rng,
                            callflow_outcome *out)
{
    const char *tried[ROUTER_MAX_TRIED];
    json_t *tried_arr = NULL;
    router_call call;
    store_call *row = &out->call;
    if (!st || !cfg || !rng || row->status != CALL_QUEUED)
        return ERR_INVALID;
    int rc = callflow_call_of_row(row, "", &tried_arr, tried, &call);
    if (rc < 0)
        return rc;
    if (router_route(cfg, &call, now_ms, rng, &out->result) != 0) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    if (out->result.action != ROUTE_CONNECT) {
        rc = 0; /* still nobody: the call waits on, untouched */
        goto out_free;
    }
    /* The claim is written into a copy of the row; the row itself changes only when the
     * claim is won and the update went through. */
    store_call saved = *row, next = *row;
    next.agent[0] = next.rule[0] = '\0';
    next.tried_json = next.trace_json = NULL;
    out->call = next;
    rc = callflow_claim_apply(st, cfg, now_ms, out);
    next = out->call;
    out->call = saved;
    if (rc <= 0)
        goto out_free;
    json_t *info = json_pack("{s:s, s:I}", "result", "dequeued", "waited_ms",
                             (json_int_t)(now_ms - saved.queued_ms));
    next.trace_json = route_json_trace_text_with(cfg, &out->result, "queue", info);
    next.tried_json = saved.tried_json; /* unchanged, and owned once */
    next.updated_ms = now_ms;
    if (!next.trace_json) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    rc = store_call_update_route(st, &next, CALL_QUEUED);
    free(saved.trace_json);
    out->call = next;
    if (rc == ERR_OK)
        rc = 1;
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
