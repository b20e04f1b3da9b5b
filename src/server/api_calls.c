/* api_calls.c -- /v1/calls (route, answered, no-answer, ended, list, get) and
 * /v1/callbacks (list, complete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/json_text.h"
#include "../core/phone.h"
#include "../service/callflow.h"
#include "../service/queue.h"
#include "api.h"
#include "call_events.h"
#include "events.h"
#include "route_writer.h"
#include "server.h"

#define CALLS_PAGE_DEFAULT 50
#define CALLS_PAGE_MAX 500
#define CALLS_FROM_MAX 64
#define CALLS_NOT_IN_SERVICE "The number you have dialled is not in service."

static json_t *calls_str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* The metrics index of an API action name. */
static int calls_action_index(const char *action)
{
    static const char *const names[SERVER_N_ACTIONS] = {"connect", "queue", "callback", "reject"};
    for (int i = 0; i < SERVER_N_ACTIONS; i++)
        if (strcmp(names[i], action) == 0)
            return i;
    return SERVER_ACTION_CALLBACK;
}

/* Counts the claims that were lost to another call in a decision's trace. */
static int calls_lost_claims(const route_result *r)
{
    int lost = 0;
    for (int i = 0; i < r->trace.n_claims; i++)
        lost += !r->trace.claims[i].won;
    return lost;
}

/* The agent a no-answer released: the last one of the call's tried list ("" when none). */
static void calls_last_tried(const store_call *row, char *out, size_t cap)
{
    json_t *tried = json_loads(row->tried_json ? row->tried_json : "[]", 0, NULL);
    const char *last = json_string_value(json_array_get(tried, json_array_size(tried) - 1));
    snprintf(out, cap, "%s", last ? last : "");
    json_decref(tried);
}

void api_calls_record_decision(http_req *rq, const callflow_outcome *o, long long us)
{
    const store_call *row = &o->call;
    const char *action = callflow_action_name(o);
    char usbuf[24];
    call_events_decision(rq->events, row, action, o->callback_id, o->callback_reason, false,
                         rq->now_ms);
    server_metrics_route(rq->metrics, calls_action_index(action), calls_lost_claims(&o->result),
                         us);
    http_log("route", "call_id", row->id, "campaign", row->campaign[0] ? row->campaign : NULL,
             "state", row->caller_state[0] ? row->caller_state : NULL, "category",
             row->category[0] ? row->category : NULL, "outcome", action, "agent",
             row->agent[0] ? row->agent : NULL, "us", http_fmt_ll(usbuf, sizeof usbuf, us), NULL);
}

/* Writes `s` as a JSON string, or null when NULL or empty (as calls_str_or_null). */
static void calls_text_str_or_null(json_text *t, const char *s)
{
    if (s && s[0])
        json_text_string(t, s);
    else
        json_text_null(t);
}

/* Replies with the JSON text written in `t` (taken; 500 out_of_memory when it failed). */
static void calls_reply_text(http_req *rq, int status, json_text *t)
{
    char *text = json_text_take(t);
    if (!text) {
        http_reply(rq, status, NULL); /* 500 out_of_memory */
        return;
    }
    json_decref(rq->reply);
    rq->reply = NULL;
    free(rq->text);
    rq->text = text;
    rq->text_type = "application/json";
    rq->status = status;
}

/* The reply to a routing decision (POST /v1/calls and no-answer), and its log line. The
 * agent's name and softphone and the campaign's message come from `v`. The body is written
 * straight as compact JSON text (codec/json_text), with the stored trace text spliced in:
 * the same bytes as building the object with jansson and dumping it, without the tree and
 * its allocations on every route. */
static void calls_reply_decision(http_req *rq, int status, const callflow_outcome *o,
                                 const route_writer_view *v, long long us)
{
    const store_call *row = &o->call;
    const char *action = callflow_action_name(o);
    const char *message = NULL;
    json_text t;
    if (strcmp(action, "callback") == 0) {
        message = v->has_campaign ? v->friendly_message : NULL;
    } else if (strcmp(action, "reject") == 0) {
        message = CALLS_NOT_IN_SERVICE;
    }
    api_calls_record_decision(rq, o, us);
    json_text_init(&t);
    json_text_open_object(&t);
    json_text_key(&t, "call_id");
    json_text_string(&t, row->id);
    json_text_key(&t, "action");
    json_text_string(&t, action);
    json_text_key(&t, "status");
    json_text_string(&t, store_call_status_name(row->status));
    json_text_key(&t, "agent");
    if (v->has_agent) {
        json_text_open_object(&t);
        json_text_key(&t, "id");
        json_text_string(&t, v->agent_id);
        json_text_key(&t, "name");
        json_text_string(&t, v->agent_name);
        json_text_key(&t, "softphone");
        json_text_open_object(&t);
        json_text_key(&t, "type");
        json_text_string(&t, v->softphone_type);
        json_text_key(&t, "address");
        json_text_string(&t, v->softphone_address);
        json_text_close_object(&t);
        json_text_close_object(&t);
    } else {
        json_text_null(&t);
    }
    json_text_key(&t, "rule");
    calls_text_str_or_null(&t, row->rule);
    json_text_key(&t, "campaign");
    calls_text_str_or_null(&t, row->campaign);
    json_text_key(&t, "caller_state");
    calls_text_str_or_null(&t, row->caller_state);
    json_text_key(&t, "category");
    calls_text_str_or_null(&t, row->category);
    json_text_key(&t, "message");
    calls_text_str_or_null(&t, message);
    json_text_key(&t, "queue");
    if (row->status == CALL_QUEUED) {
        json_text_open_object(&t);
        json_text_key(&t, "position");
        json_text_int(&t, o->queue_position);
        json_text_key(&t, "estimated_wait_s");
        json_text_int(&t, o->estimated_wait_s);
        json_text_key(&t, "queued_ms");
        json_text_int(&t, row->queued_ms);
        json_text_key(&t, "deadline_ms");
        json_text_int(&t, row->queue_deadline_ms);
        json_text_close_object(&t);
    } else {
        json_text_null(&t);
    }
    json_text_key(&t, "callback_id");
    if (o->callback_id > 0)
        json_text_int(&t, o->callback_id);
    else
        json_text_null(&t);
    json_text_key(&t, "callback_reason");
    if (o->callback_id > 0)
        calls_text_str_or_null(&t, o->callback_reason);
    else
        json_text_null(&t);
    json_text_key(&t, "trace");
    json_text_verbatim(&t, row->trace_json && row->trace_json[0] ? row->trace_json : "{}");
    json_text_close_object(&t);
    calls_reply_text(rq, status, &t);
}

/* The writer's queue is full: 503, nothing was done. */
static void calls_busy(http_req *rq)
{
    http_error(rq, 503, "overloaded", NULL, "too many calls are waiting to be recorded; retry");
}

bool api_calls_create_parse(http_req *rq, api_call_request *out)
{
    static const char *const fields[] = {"to", "from", "category", "external_id", NULL};
    phone_number ph;
    memset(out, 0, sizeof *out);
    out->body = http_body_object(rq, false, fields);
    if (!out->body)
        return false;
    if (!http_field_str(rq, out->body, "to", true, false, &out->to) ||
        !http_field_str(rq, out->body, "from", true, true, &out->from) ||
        !http_field_str(rq, out->body, "category", false, true, &out->category) ||
        !http_field_str(rq, out->body, "external_id", false, true, &out->external_id))
        goto out_free_body;
    phone_status ps = phone_normalize(out->to, &ph);
    if (ps != PHONE_OK && ps != PHONE_NOT_NANP) {
        http_error(rq, 422, "invalid_phone_number", "to", "not a phone number (%s)",
                   phone_status_name(ps));
        goto out_free_body;
    }
    if (out->from && out->from[0] && !http_printable(out->from, CALLS_FROM_MAX)) {
        http_error(rq, 422, "invalid_input", "from",
                   "must be a caller ID of at most %d printable characters", CALLS_FROM_MAX);
        goto out_free_body;
    }
    if (out->category && !config_valid_category(out->category)) {
        http_error(rq, 422, "invalid_input", "category",
                   "must be a category slug (1-31 of a-z, 0-9 and _)");
        goto out_free_body;
    }
    if (out->external_id && out->external_id[0] &&
        !http_printable(out->external_id, CONFIG_ID_MAX * 2 - 1)) {
        http_error(rq, 422, "invalid_input", "external_id",
                   "must be at most %d printable characters", CONFIG_ID_MAX * 2 - 1);
        goto out_free_body;
    }
    return true;
out_free_body:
    json_decref(out->body);
    memset(out, 0, sizeof *out);
    return false;
}

/* The reply to a route: `rc` and the outcome as route_writer_route gives them. */
static void calls_reply_route(http_req *rq, int rc, bool has_external_id,
                              const callflow_outcome *out, const route_writer_view *view,
                              long long us)
{
    if (rc == ROUTE_WRITER_BUSY)
        calls_busy(rq);
    else if (rc == ERR_CONFLICT && has_external_id)
        http_error(rq, 409, "duplicate_external_id", "external_id",
                   "a call with this external_id is already recorded");
    else if (rc < 0)
        http_store_error(rq, rc, "the call", NULL);
    else
        calls_reply_decision(rq, 201, out, view, us);
}

/* POST /v1/calls after the writer committed the route (http_req.finish). */
static void calls_create_finish(http_req *rq)
{
    route_writer_job *job = rq->job;
    calls_reply_route(rq, job->rc, job->external_id[0] != '\0', &job->out, &job->view, job->us);
}

void api_calls_create(http_req *rq)
{
    api_call_request req;
    if (!api_calls_create_parse(rq, &req))
        return;
    const char *external_id = req.external_id ? req.external_id : "";
    router_call call = {req.to, req.from, req.category, NULL, 0};
    if (rq->writer) {
        /* Group commit: the server holds the request until the call is committed with
         * others, then calls calls_create_finish. */
        rq->job = route_writer_job_route(&call, external_id, rq->now_ms);
        if (rq->job)
            rq->finish = calls_create_finish;
        else
            http_reply(rq, 500, NULL); /* out_of_memory */
        json_decref(req.body);
        return;
    }
    callflow_outcome out;
    route_writer_view view;
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = callflow_route(rq->st, &call, external_id, rq->now_ms, rq->rng, false, &out);
    route_writer_view_fill(out.cfg, &out, &view);
    calls_reply_route(rq, rc, external_id[0] != '\0', &out, &view,
                      (long long)(http_mono_us() - t0));
    callflow_outcome_free(&out);
    json_decref(req.body);
}

bool api_calls_action_parse(http_req *rq)
{
    json_t *body = http_body_object(rq, true, (const char *const[]){NULL});
    json_decref(body);
    return body != NULL;
}

void api_calls_no_answer(http_req *rq)
{
    callflow_outcome out;
    if (!api_calls_action_parse(rq))
        return;
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = callflow_no_answer(rq->st, rq->params[0], rq->now_ms, rq->rng, &out);
    long long us = (long long)(http_mono_us() - t0);
    if (rc == ERR_CONFLICT)
        http_error(rq, 409, "call_not_ringing", "id",
                   "the call is not ringing an agent (answered, ended or already failed over)");
    else if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else {
        route_writer_view view;
        char prev[CONFIG_ID_MAX];
        calls_last_tried(&out.call, prev, sizeof prev);
        if (prev[0])
            call_events_update(rq->events, &out.call, prev, "failed_over", "no_answer", rq->now_ms);
        route_writer_view_fill(out.cfg, &out, &view);
        calls_reply_decision(rq, 200, &out, &view, us);
    }
    callflow_outcome_free(&out);
}

/* Writes the API form of a call row (its fields, without the trace) into the object open
 * in `t`: one writer for every reply that shows calls (get, list, answered, ended). */
static void calls_text_fields(json_text *t, const store_call *c)
{
    json_t *tried = json_loads(c->tried_json ? c->tried_json : "[]", 0, NULL);
    json_text_key(t, "id");
    json_text_string(t, c->id);
    json_text_key(t, "external_id");
    calls_text_str_or_null(t, c->external_id);
    json_text_key(t, "campaign");
    calls_text_str_or_null(t, c->campaign);
    json_text_key(t, "tracking_number");
    json_text_string(t, c->tracking_number);
    json_text_key(t, "caller");
    json_text_string(t, c->caller);
    json_text_key(t, "caller_state");
    calls_text_str_or_null(t, c->caller_state);
    json_text_key(t, "category");
    calls_text_str_or_null(t, c->category);
    json_text_key(t, "status");
    json_text_string(t, store_call_status_name(c->status));
    json_text_key(t, "agent");
    calls_text_str_or_null(t, c->agent);
    json_text_key(t, "rule");
    calls_text_str_or_null(t, c->rule);
    json_text_key(t, "holds_claim");
    json_text_bool(t, c->holds_claim);
    json_text_key(t, "tried");
    if (tried)
        json_text_value(t, tried);
    else
        json_text_verbatim(t, "[]");
    json_text_key(t, "created_ms");
    json_text_int(t, c->created_ms);
    json_text_key(t, "updated_ms");
    json_text_int(t, c->updated_ms);
    json_text_key(t, "ended_ms");
    if (c->ended_ms)
        json_text_int(t, c->ended_ms);
    else
        json_text_null(t);
    json_decref(tried);
}

/* A queued call's place in its queue (position, time waited, estimate, deadline), or null
 * when it is not waiting (or the place cannot be read: the rest of the reply still goes). */
static json_t *calls_queue_place(http_req *rq, const store_call *c)
{
    long long position = 0, wait_s = 0;
    if (c->status != CALL_QUEUED || queue_call_place(rq->st, c, rq->now_ms, &position, &wait_s) < 0)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "position", (json_int_t)position, "waited_ms",
                     (json_int_t)(rq->now_ms > c->queued_ms ? rq->now_ms - c->queued_ms : 0),
                     "estimated_wait_s", (json_int_t)wait_s, "queued_ms", (json_int_t)c->queued_ms,
                     "deadline_ms", (json_int_t)c->queue_deadline_ms);
}

/* Replies 200 with the call row `c` (as calls_reply_row, without reading it): with its
 * trace (the stored text spliced in, as in a decision's reply) and its place in the queue
 * when `with_trace`, then `extra_key`: `extra` (stolen) when given. */
static void calls_reply_call(http_req *rq, const store_call *c, bool with_trace,
                             const char *extra_key, json_t *extra, bool publish)
{
    json_text t;
    if (publish)
        call_events_update(rq->events, c, c->agent, NULL,
                           c->status == CALL_ABANDONED ? "abandoned" : NULL, rq->now_ms);
    json_text_init(&t);
    json_text_open_object(&t);
    calls_text_fields(&t, c);
    if (with_trace) {
        json_t *place = calls_queue_place(rq, c);
        json_text_key(&t, "trace");
        json_text_verbatim(&t, c->trace_json && c->trace_json[0] ? c->trace_json : "{}");
        json_text_key(&t, "queue");
        json_text_value(&t, place);
        json_decref(place);
    }
    if (extra_key && extra) {
        json_text_key(&t, extra_key);
        json_text_value(&t, extra);
    }
    json_text_close_object(&t);
    json_decref(extra);
    calls_reply_text(rq, 200, &t);
}

/* Replies with call `id` as stored now; with `publish`, also tells the event streams. */
static void calls_reply_row(http_req *rq, const char *id, bool with_trace, const char *extra_key,
                            json_t *extra, bool publish)
{
    store_call c;
    int rc = store_call_get(rq->st, id, &c);
    if (rc < 0) {
        json_decref(extra);
        http_store_error(rq, rc, "the call", "id");
        return;
    }
    calls_reply_call(rq, &c, with_trace, extra_key, extra, publish);
    store_call_clear(&c);
}

void api_calls_answered(http_req *rq)
{
    if (!api_calls_action_parse(rq))
        return;
    int rc = store_call_answer(rq->st, rq->params[0], rq->now_ms);
    if (rc == ERR_CONFLICT)
        http_error(rq, 409, "call_not_ringing", "id", "only a ringing call can be answered");
    else if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else
        calls_reply_row(rq, rq->params[0], false, "changed", json_boolean(rc == 1), rc == 1);
}

/* The reply to an end: `rc` as route_writer_end gives it, and the call as the end left it
 * (row->id "" when it was not read: it is read now). */
static void calls_reply_end(http_req *rq, int rc, const char *call_id, const store_call *row)
{
    if (rc == ROUTE_WRITER_BUSY)
        calls_busy(rq);
    else if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else if (row->id[0])
        calls_reply_call(rq, row, false, "released", json_boolean(rc == 1), rc == 1);
    else
        calls_reply_row(rq, call_id, false, "released", json_boolean(rc == 1), rc == 1);
}

/* POST /v1/calls/{id}/ended after the writer committed the end (http_req.finish). */
static void calls_ended_finish(http_req *rq)
{
    route_writer_job *job = rq->job;
    calls_reply_end(rq, job->rc, job->call_id, &job->row);
}

void api_calls_ended(http_req *rq)
{
    if (!api_calls_action_parse(rq))
        return;
    if (rq->writer) {
        /* Group commit; the call comes back as the end left it, read in its transaction. */
        rq->job = route_writer_job_end(rq->params[0], rq->now_ms, true);
        if (rq->job)
            rq->finish = calls_ended_finish;
        else
            http_reply(rq, 500, NULL); /* out_of_memory */
        return;
    }
    store_call row;
    memset(&row, 0, sizeof row);
    calls_reply_end(rq, callflow_end(rq->st, rq->params[0], rq->now_ms), rq->params[0], &row);
}

#define CALLS_WAIT_MAX_S 60 /* the longest long poll (?wait=) */

/* The long poll of GET /v1/calls/{id}?wait=SECONDS&status=NAME, before the call is read:
 * checks the parameters and, on the request's first pass, sets its deadline and the
 * reference status (the one given, else the call's at the first read). Returns false when
 * it set an error reply. */
static bool calls_wait_begin(http_req *rq)
{
    long long wait;
    int ref = -1;
    const char *status = rq->query(rq->conn, "status");
    if (!http_query_int(rq, "wait", 0, 0, CALLS_WAIT_MAX_S, &wait))
        return false;
    if (status && (ref = store_call_status_parse(status)) < 0) {
        http_error(rq, 400, "invalid_input", "status", "unknown call status");
        return false;
    }
    if (wait > 0 && rq->wait.until_ms == 0) {
        rq->wait.until_ms = http_mono_us() / 1000 + wait * 1000;
        rq->wait.status = ref;
    }
    return true;
}

/* After the reply is built: the request goes on waiting (wait.until_ms left set) only when
 * the reply is the call (`status`, its status; -1 when it could not be read) with the
 * reference status and the deadline has not passed. */
static void calls_wait_end(http_req *rq, int status)
{
    if (rq->wait.until_ms == 0)
        return;
    int now = rq->status == 200 ? status : -1;
    if (rq->wait.status < 0)
        rq->wait.status = now; /* no ?status=: the status at the first read */
    if (now < 0 || now != rq->wait.status || http_mono_us() / 1000 >= rq->wait.until_ms)
        rq->wait.until_ms = 0;
}

void api_calls_get(http_req *rq)
{
    store_call c;
    if (!calls_wait_begin(rq))
        return;
    int rc = store_call_get(rq->st, rq->params[0], &c);
    if (rc < 0) {
        http_store_error(rq, rc, "the call", "id");
        calls_wait_end(rq, -1);
        return;
    }
    calls_reply_call(rq, &c, true, NULL, NULL, false);
    calls_wait_end(rq, (int)c.status);
    store_call_clear(&c);
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
    json_text t;
    int shown = n > limit ? (int)limit : n;
    json_text_init(&t);
    json_text_open_object(&t);
    json_text_key(&t, "calls");
    json_text_open_array(&t);
    for (int i = 0; i < shown; i++) {
        json_text_open_object(&t);
        calls_text_fields(&t, &rows[i]);
        json_text_close_object(&t);
    }
    json_text_close_array(&t);
    json_text_key(&t, "next_cursor");
    json_text_string(&t, n > limit ? rows[shown - 1].id : NULL); /* NULL: null */
    json_text_close_object(&t);
    calls_reply_text(rq, 200, &t);
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

/* For an agent token: marks in *serves (n_campaigns entries, malloc'd, caller frees) the
 * campaigns with a rule that has the agent as a member; *cfg_out keeps the snapshot for the
 * ids (config_free). Returns false when a reply was set. */
static bool calls_agent_campaigns(http_req *rq, config **cfg_out, bool **serves)
{
    char errbuf[STORE_ERR_MAX] = "";
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, errbuf, sizeof errbuf);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return false;
    }
    int me = config_find_agent(cfg, rq->who.agent);
    *serves = calloc((size_t)cfg->n_campaigns + 1, sizeof **serves);
    if (!*serves) {
        config_free(cfg);
        http_error(rq, 500, "out_of_memory", NULL, "out of memory");
        return false;
    }
    for (int i = 0; me >= 0 && i < cfg->n_rules; i++)
        for (int m = 0; m < cfg->rules[i].n_members; m++)
            if (cfg->rules[i].members[m].agent == me)
                (*serves)[cfg->rules[i].campaign] = true;
    *cfg_out = cfg;
    return true;
}

/* True when the callback's campaign is one the agent serves (see calls_agent_campaigns). */
static bool calls_agent_serves(const config *cfg, const bool *serves, const char *campaign)
{
    for (int i = 0; i < cfg->n_campaigns; i++)
        if (serves[i] && strcmp(cfg->campaigns[i].id, campaign) == 0)
            return true;
    return false;
}

void api_calls_callbacks_list(http_req *rq)
{
    config *cfg = NULL;
    bool *serves = NULL;
    store_callback_filter f;
    store_callback *rows = NULL;
    long long limit, cursor, since;
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
        !http_query_int(rq, "cursor", 0, 1, 1LL << 53, &cursor) ||
        !http_query_int(rq, "since", 0, 0, 1LL << 53, &since))
        return;
    f.before_id = cursor;
    f.since_ms = since;
    f.limit = (int)limit + 1;
    /* An agent token sees the callbacks of the campaigns it takes calls for (a page may
     * then hold fewer than limit rows; next_cursor still pages on). */
    if (rq->who.kind == STORE_PRINCIPAL_AGENT && !calls_agent_campaigns(rq, &cfg, &serves))
        return;
    int rc = store_callback_list(rq->st, &f, &rows, &n);
    if (rc < 0) {
        http_store_error(rq, rc, "the callbacks", NULL);
        goto out_free;
    }
    json_t *arr = json_array();
    int shown = n > limit ? (int)limit : n;
    for (int i = 0; arr && i < shown; i++)
        if (serves && !calls_agent_serves(cfg, serves, rows[i].campaign))
            continue;
        else if (json_array_append_new(arr, calls_callback_json(&rows[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    http_reply(rq, 200,
               arr ? json_pack("{s:o, s:o}", "callbacks", arr, "next_cursor",
                               n > limit ? json_sprintf("%lld", rows[shown - 1].id) : json_null())
                   : NULL);
out_free:
    free(rows);
    free(serves);
    config_free(cfg);
}

bool api_calls_callback_parse(http_req *rq, api_callback_request *out)
{
    static const char *const fields[] = {"agent", "note", NULL};
    char *end;
    memset(out, 0, sizeof *out);
    out->id = strtoll(rq->params[0], &end, 10);
    if (*end || end == rq->params[0] || out->id <= 0) {
        http_error(rq, 404, "not_found", "id", "callback \"%.32s\" does not exist", rq->params[0]);
        return false;
    }
    out->body = http_body_object(rq, false, fields);
    if (!out->body)
        return false;
    if (!http_field_str(rq, out->body, "agent", true, false, &out->agent) ||
        !http_field_str(rq, out->body, "note", false, true, &out->note))
        goto out_free;
    if (rq->who.kind == STORE_PRINCIPAL_AGENT && strcmp(out->agent, rq->who.agent) != 0) {
        http_error(rq, 403, "forbidden", "agent",
                   "an agent token may complete callbacks only as its own agent");
        goto out_free;
    }
    if (out->note && strlen(out->note) > 2000) {
        http_error(rq, 422, "invalid_input", "note", "must be at most 2000 bytes");
        goto out_free;
    }
    return true;
out_free:
    json_decref(out->body);
    memset(out, 0, sizeof *out);
    return false;
}

void api_calls_callback_complete(http_req *rq)
{
    api_callback_request req;
    store_callback cb;
    if (!api_calls_callback_parse(rq, &req))
        return;
    long long id = req.id;
    const char *agent = req.agent, *note = req.note;
    int rc = store_callback_complete(rq->st, id, agent, note, rq->now_ms);
    if (rc == ERR_INVALID)
        http_error(rq, 422, "invalid_input", "agent", "agent \"%.64s\" does not exist", agent);
    else if (rc == ERR_CONFLICT)
        http_error(rq, 409, "conflict", "id", "the callback is already done");
    else if (rc < 0)
        http_store_error(rq, rc, "the callback", "id");
    else if ((rc = store_callback_get(rq->st, id, &cb)) < 0)
        http_store_error(rq, rc, "the callback", "id");
    else {
        events_publish(rq->events, "callback.completed", NULL, true,
                       json_pack("{s:I, s:s, s:s, s:s}", "callback_id", (json_int_t)cb.id,
                                 "campaign", cb.campaign, "caller", cb.caller, "completed_by",
                                 cb.completed_by),
                       rq->now_ms);
        http_reply(rq, 200, calls_callback_json(&cb));
    }
    json_decref(req.body);
}
