/* api_calls.c -- /v1/calls (route, answered, no-answer, ended, list, get) and
 * /v1/callbacks (list, complete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/phone.h"
#include "../service/callflow.h"
#include "api.h"
#include "server.h"

#define CALLS_PAGE_DEFAULT 50
#define CALLS_PAGE_MAX 500
#define CALLS_FROM_MAX 64
#define CALLS_NOT_IN_SERVICE "The number you have dialled is not in service."

static json_t *calls_str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* The API's action: the router's no_agent is a callback until the queue exists. */
static int calls_action(route_action a)
{
    return a == ROUTE_CONNECT  ? SERVER_ACTION_CONNECT
           : a == ROUTE_REJECT ? SERVER_ACTION_REJECT
                               : SERVER_ACTION_CALLBACK;
}

static const char *calls_action_name(int action)
{
    static const char *const names[SERVER_N_ACTIONS] = {"connect", "queue", "callback", "reject"};
    return names[action];
}

/* Counts the claims that were lost to another call in a decision's trace. */
static int calls_lost_claims(const route_result *r)
{
    int lost = 0;
    for (int i = 0; i < r->trace.n_claims; i++)
        lost += !r->trace.claims[i].won;
    return lost;
}

/* The reply to a routing decision (POST /v1/calls and no-answer), and its log line. */
static void calls_reply_decision(http_req *rq, int status, const callflow_outcome *o, long long us)
{
    const config *cfg = o->cfg;
    const store_call *row = &o->call;
    int action = calls_action(o->result.action);
    json_t *agent = json_null(), *trace = NULL;
    const char *message = NULL;
    char usbuf[24];
    if (o->agent >= 0 && cfg) {
        const config_agent *a = &cfg->agents[o->agent];
        json_decref(agent);
        agent =
            json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", a->id, "name", a->name, "softphone", "type",
                      config_softphone_name(a->softphone), "address", a->softphone_address);
    }
    if (action == SERVER_ACTION_CALLBACK && cfg) {
        int c = config_find_campaign(cfg, row->campaign);
        message = c >= 0 ? cfg->campaigns[c].friendly_message : NULL;
    } else if (action == SERVER_ACTION_REJECT) {
        message = CALLS_NOT_IN_SERVICE;
    }
    trace = json_loads(row->trace_json ? row->trace_json : "{}", 0, NULL);
    server_metrics_route(rq->metrics, action, calls_lost_claims(&o->result), us);
    http_log("route", "call_id", row->id, "campaign", row->campaign[0] ? row->campaign : NULL,
             "state", row->caller_state[0] ? row->caller_state : NULL, "category",
             row->category[0] ? row->category : NULL, "outcome", calls_action_name(action), "agent",
             row->agent[0] ? row->agent : NULL, "us", http_fmt_ll(usbuf, sizeof usbuf, us), NULL);
    http_reply(rq, status,
               json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "call_id",
                         row->id, "action", calls_action_name(action), "status",
                         store_call_status_name(row->status), "agent", agent, "rule",
                         calls_str_or_null(row->rule), "campaign", calls_str_or_null(row->campaign),
                         "caller_state", calls_str_or_null(row->caller_state), "category",
                         calls_str_or_null(row->category), "message", calls_str_or_null(message),
                         "callback_id",
                         o->callback_id > 0 ? json_integer(o->callback_id) : json_null(), "trace",
                         trace ? trace : json_object()));
}

void api_calls_create(http_req *rq)
{
    static const char *const fields[] = {"to", "from", "category", "external_id", NULL};
    const char *to = NULL, *from = NULL, *category = NULL, *external_id = NULL;
    phone_number ph;
    callflow_outcome out;
    json_t *body = http_body_object(rq, false, fields);
    if (!body)
        return;
    if (!http_field_str(rq, body, "to", true, false, &to) ||
        !http_field_str(rq, body, "from", true, true, &from) ||
        !http_field_str(rq, body, "category", false, true, &category) ||
        !http_field_str(rq, body, "external_id", false, true, &external_id))
        goto out_free_body;
    phone_status ps = phone_normalize(to, &ph);
    if (ps != PHONE_OK && ps != PHONE_NOT_NANP) {
        http_error(rq, 422, "invalid_phone_number", "to", "not a phone number (%s)",
                   phone_status_name(ps));
        goto out_free_body;
    }
    if (from && from[0] && !http_printable(from, CALLS_FROM_MAX)) {
        http_error(rq, 422, "invalid_input", "from",
                   "must be a caller ID of at most %d printable characters", CALLS_FROM_MAX);
        goto out_free_body;
    }
    if (category && !config_valid_category(category)) {
        http_error(rq, 422, "invalid_input", "category",
                   "must be a category slug (1-31 of a-z, 0-9 and _)");
        goto out_free_body;
    }
    if (external_id && external_id[0] && !http_printable(external_id, CONFIG_ID_MAX * 2 - 1)) {
        http_error(rq, 422, "invalid_input", "external_id",
                   "must be at most %d printable characters", CONFIG_ID_MAX * 2 - 1);
        goto out_free_body;
    }
    router_call call = {to, from, category, NULL, 0};
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = callflow_route(rq->st, &call, external_id ? external_id : "", rq->now_ms, rq->rng,
                            false, &out);
    long long us = (long long)(http_mono_us() - t0);
    if (rc < 0)
        http_store_error(rq, rc, "the call", NULL);
    else
        calls_reply_decision(rq, 201, &out, us);
    callflow_outcome_free(&out);
out_free_body:
    json_decref(body);
}

void api_calls_no_answer(http_req *rq)
{
    callflow_outcome out;
    json_t *body = http_body_object(rq, true, (const char *const[]){NULL});
    if (!body)
        return;
    json_decref(body);
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = callflow_no_answer(rq->st, rq->params[0], rq->now_ms, rq->rng, &out);
    long long us = (long long)(http_mono_us() - t0);
    if (rc == ERR_CONFLICT)
        http_error(rq, 409, "call_not_ringing", "id",
                   "the call is not ringing an agent (answered, ended or already failed over)");
    else if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else
        calls_reply_decision(rq, 200, &out, us);
    callflow_outcome_free(&out);
}

/* The API form of a call row; with its trace when `with_trace`. */
static json_t *calls_json(const store_call *c, bool with_trace)
{
    json_t *tried = json_loads(c->tried_json ? c->tried_json : "[]", 0, NULL);
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:b, s:o, s:I, s:I, s:o}",
                  "id", c->id, "external_id", calls_str_or_null(c->external_id), "campaign",
                  calls_str_or_null(c->campaign), "tracking_number", c->tracking_number, "caller",
                  c->caller, "caller_state", calls_str_or_null(c->caller_state), "category",
                  calls_str_or_null(c->category), "status", store_call_status_name(c->status),
                  "agent", calls_str_or_null(c->agent), "rule", calls_str_or_null(c->rule),
                  "holds_claim", c->holds_claim, "tried", tried ? tried : json_array(),
                  "created_ms", (json_int_t)c->created_ms, "updated_ms", (json_int_t)c->updated_ms,
                  "ended_ms", c->ended_ms ? json_integer(c->ended_ms) : json_null());
    if (o && with_trace) {
        json_t *trace = json_loads(c->trace_json ? c->trace_json : "{}", 0, NULL);
        if (json_object_set_new(o, "trace", trace ? trace : json_object()) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Replies with call `id` as stored now. */
static void calls_reply_row(http_req *rq, const char *id, bool with_trace, const char *extra_key,
                            json_t *extra)
{
    store_call c;
    int rc = store_call_get(rq->st, id, &c);
    if (rc < 0) {
        json_decref(extra);
        http_store_error(rq, rc, "the call", "id");
        return;
    }
    json_t *o = calls_json(&c, with_trace);
    if (o && extra_key && json_object_set_new(o, extra_key, extra) != 0) {
        json_decref(o);
        o = NULL;
    } else if (!o) {
        json_decref(extra);
    }
    http_reply(rq, 200, o);
    store_call_clear(&c);
}

void api_calls_answered(http_req *rq)
{
    json_t *body = http_body_object(rq, true, (const char *const[]){NULL});
    if (!body)
        return;
    json_decref(body);
    int rc = store_call_answer(rq->st, rq->params[0], rq->now_ms);
    if (rc == ERR_CONFLICT)
        http_error(rq, 409, "call_not_ringing", "id", "only a ringing call can be answered");
    else if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else
        calls_reply_row(rq, rq->params[0], false, "changed", json_boolean(rc == 1));
}

void api_calls_ended(http_req *rq)
{
    json_t *body = http_body_object(rq, true, (const char *const[]){NULL});
    if (!body)
        return;
    json_decref(body);
    int rc = callflow_end(rq->st, rq->params[0], rq->now_ms);
    if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else
        calls_reply_row(rq, rq->params[0], false, "released", json_boolean(rc == 1));
}

void api_calls_get(http_req *rq)
{
    calls_reply_row(rq, rq->params[0], true, NULL, NULL);
}

/* Copies a query argument into dst, checking it is a slug id; false when it set a reply. */
static bool calls_query_id(http_req *rq, const char *key, char *dst, size_t cap)
{
    const char *v = rq->query(rq->conn, key);
    if (!v)
        return true;
    if (!config_valid_id(v) || strlen(v) >= cap) {
        http_error(rq, 400, "invalid_input", key, "must be an id ([A-Za-z0-9_.-], 1-63)");
        return false;
    }
    snprintf(dst, cap, "%s", v);
    return true;
}

void api_calls_list(http_req *rq)
{
    store_call_filter f;
    store_call *rows = NULL;
    long long limit, since;
    int n = 0;
    memset(&f, 0, sizeof f);
    f.status = -1;
    const char *status = rq->query(rq->conn, "status");
    const char *cursor = rq->query(rq->conn, "cursor");
    if (status && (f.status = store_call_status_parse(status)) < 0) {
        http_error(rq, 400, "invalid_input", "status", "unknown call status");
        return;
    }
    if (!calls_query_id(rq, "campaign", f.campaign, sizeof f.campaign) ||
        !calls_query_id(rq, "agent", f.agent, sizeof f.agent) ||
        !http_query_int(rq, "since", 0, 0, 1LL << 53, &since) ||
        !http_query_int(rq, "limit", CALLS_PAGE_DEFAULT, 1, CALLS_PAGE_MAX, &limit))
        return;
    if (cursor) {
        size_t len = strlen(cursor);
        if (len == 0 || len >= sizeof f.before || strspn(cursor, "0123456789abcdef") != len) {
            http_error(rq, 400, "invalid_input", "cursor", "not a cursor from a previous page");
            return;
        }
        snprintf(f.before, sizeof f.before, "%s", cursor);
    }
    f.since_ms = since;
    f.limit = (int)limit + 1; /* one more tells whether there is a next page */
    int rc = store_call_list(rq->st, &f, &rows, &n);
    if (rc < 0) {
        http_store_error(rq, rc, "the calls", NULL);
        return;
    }
    json_t *arr = json_array();
    int shown = n > limit ? (int)limit : n;
    for (int i = 0; arr && i < shown; i++)
        if (json_array_append_new(arr, calls_json(&rows[i], false)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    http_reply(rq, 200,
               arr ? json_pack("{s:o, s:o}", "calls", arr, "next_cursor",
                               n > limit ? json_string(rows[shown - 1].id) : json_null())
                   : NULL);
    for (int i = 0; i < n; i++)
        store_call_clear(&rows[i]);
    free(rows);
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static json_t *calls_callback_json(const store_callback *cb)
{
    return json_pack("{s:I, s:o, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:i, s:I, s:I}", "id",
                     (json_int_t)cb->id, "call_id", calls_str_or_null(cb->call_id), "campaign",
                     cb->campaign, "tracking_number", calls_str_or_null(cb->tracking_number),
                     "caller", cb->caller, "caller_state", calls_str_or_null(cb->caller_state),
                     "category", calls_str_or_null(cb->category), "reason", cb->reason, "status",
                     cb->open ? "open" : "done", "completed_by",
                     calls_str_or_null(cb->completed_by), "attempts", cb->attempts, "created_ms",
                     (json_int_t)cb->created_ms, "updated_ms", (json_int_t)cb->updated_ms);
}

void api_calls_callbacks_list(http_req *rq)
{
    store_callback_filter f;
    store_callback *rows = NULL;
    long long limit, cursor;
    int n = 0;
    memset(&f, 0, sizeof f);
    const char *status = rq->query(rq->conn, "status");
    if (!status || strcmp(status, "open") == 0)
        f.open = 1;
    else if (strcmp(status, "done") == 0)
        f.open = 0;
    else if (strcmp(status, "all") == 0)
        f.open = -1;
    else {
        http_error(rq, 400, "invalid_input", "status", "must be open, done or all");
        return;
    }
    if (!calls_query_id(rq, "campaign", f.campaign, sizeof f.campaign) ||
        !http_query_int(rq, "limit", CALLS_PAGE_DEFAULT, 1, CALLS_PAGE_MAX, &limit) ||
        !http_query_int(rq, "cursor", 0, 1, 1LL << 53, &cursor))
        return;
    f.before_id = cursor;
    f.limit = (int)limit + 1;
    int rc = store_callback_list(rq->st, &f, &rows, &n);
    if (rc < 0) {
        http_store_error(rq, rc, "the callbacks", NULL);
        return;
    }
    json_t *arr = json_array();
    int shown = n > limit ? (int)limit : n;
    for (int i = 0; arr && i < shown; i++)
        if (json_array_append_new(arr, calls_callback_json(&rows[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    http_reply(rq, 200,
               arr ? json_pack("{s:o, s:o}", "callbacks", arr, "next_cursor",
                               n > limit ? json_sprintf("%lld", rows[shown - 1].id) : json_null())
                   : NULL);
    free(rows);
}

void api_calls_callback_complete(http_req *rq)
{
    static const char *const fields[] = {"agent", "note", NULL};
    const char *agent = NULL, *note = NULL;
    store_callback cb;
    char *end;
    long long id = strtoll(rq->params[0], &end, 10);
    if (*end || end == rq->params[0] || id <= 0) {
        http_error(rq, 404, "not_found", "id", "callback \"%.32s\" does not exist", rq->params[0]);
        return;
    }
    json_t *body = http_body_object(rq, false, fields);
    if (!body)
        return;
    if (!http_field_str(rq, body, "agent", true, false, &agent) ||
        !http_field_str(rq, body, "note", false, true, &note))
        goto out_free;
    if (note && strlen(note) > 2000) {
        http_error(rq, 422, "invalid_input", "note", "must be at most 2000 bytes");
        goto out_free;
    }
    int rc = store_callback_complete(rq->st, id, agent, note, rq->now_ms);
    if (rc == ERR_INVALID)
        http_error(rq, 422, "invalid_input", "agent", "agent \"%.64s\" does not exist", agent);
    else if (rc == ERR_CONFLICT)
        http_error(rq, 409, "conflict", "id", "the callback is already done");
    else if (rc < 0)
        http_store_error(rq, rc, "the callback", "id");
    else if ((rc = store_callback_get(rq->st, id, &cb)) < 0)
        http_store_error(rq, rc, "the callback", "id");
    else
        http_reply(rq, 200, calls_callback_json(&cb));
out_free:
    json_decref(body);
}
