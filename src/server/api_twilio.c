/* api_twilio.c -- the Twilio-compatible voice webhooks (docs/TWILIO.md): form-encoded
 * requests signed with X-Twilio-Signature in, TwiML out. Every handler answers from the
 * call's stored state, so a retried or duplicated webhook gets the same answer and changes
 * nothing twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../service/callflow.h"
#include "../service/queue.h"
#include "../telephony/twilio_config.h"
#include "../telephony/twilio_signature.h"
#include "../telephony/twiml.h"
#include "api.h"
#include "call_events.h"
#include "route_writer.h"

#define TWILIO_NOT_IN_SERVICE                                                                      \
    "We are sorry, the number you have dialled is not in service. Goodbye."
#define TWILIO_HOLD_PAUSE_S "20" /* silence between announcements without hold music */

/* ---- requests ------------------------------------------------------------------------- */

/* The public base URL without its trailing slashes. */
static int twilio_base_len(const http_req *rq)
{
    size_t n = strlen(rq->twilio->public_url);
    while (n > 0 && rq->twilio->public_url[n - 1] == '/')
        n--;
    return (int)n;
}

/* Checks that the adapter is on, the body is a form and the signature is right; sets the
 * error reply and returns false otherwise (nothing is changed). */
static bool twilio_accept(http_req *rq)
{
    char url[2048];
    if (!twilio_webhooks_enabled(rq->twilio)) {
        http_error(rq, 503, "not_configured", NULL,
                   "the Twilio adapter needs --public-url, --twilio-account-sid and "
                   "--twilio-auth-token");
        return false;
    }
    if (!rq->form || rq->form_bad) {
        http_error(rq, 400, "invalid_body", NULL,
                   "expected an application/x-www-form-urlencoded body");
        return false;
    }
    int n =
        snprintf(url, sizeof url, "%.*s%s", twilio_base_len(rq), rq->twilio->public_url, rq->path);
    twilio_param *params = malloc((rq->n_form ? rq->n_form : 1) * sizeof *params);
    if (!params || n < 0 || (size_t)n >= sizeof url) {
        free(params);
        http_error(rq, 403, "bad_signature", "X-Twilio-Signature", "the request is not signed");
        return false;
    }
    for (size_t i = 0; i < rq->n_form; i++)
        params[i] = (twilio_param){rq->form[i].name, rq->form[i].value};
    bool ok = twilio_signature_valid(rq->twilio->auth_token, url, params, rq->n_form,
                                     rq->header(rq->conn, "X-Twilio-Signature"));
    free(params);
    if (!ok)
        http_error(rq, 403, "bad_signature", "X-Twilio-Signature",
                   "missing or wrong X-Twilio-Signature");
    return ok;
}

/* A required form field; sets a 400 reply and returns NULL when it is missing or empty. */
static const char *twilio_field(http_req *rq, const char *name)
{
    const char *v = http_form_get(rq, name);
    if (!v || !v[0] || !http_printable(v, 256)) {
        http_error(rq, 400, "missing_field", name, "%s is required", name);
        return NULL;
    }
    return v;
}

bool api_twilio_check(http_req *rq, const char *const *required)
{
    if (!twilio_accept(rq))
        return false;
    for (const char *const *f = required; *f; f++)
        if (!twilio_field(rq, *f))
            return false;
    return true;
}

/* The fields every webhook about a call of the path needs. */
static const char *const twilio_call_fields[] = {"CallSid", NULL};

/* Loads call {id} of the path and checks that the request's CallSid (already checked by
 * api_twilio_check) is its external id; sets a 404 reply and returns false otherwise. */
static bool twilio_call_of_path(http_req *rq, store_call *row)
{
    const char *sid = http_form_get(rq, "CallSid");
    int rc = store_call_get(rq->st, rq->params[0], row);
    if (rc == ERR_OK && strcmp(row->external_id, sid) == 0)
        return true;
    if (rc == ERR_OK)
        store_call_clear(row);
    if (rc == ERR_OK || rc == ERR_NOT_FOUND)
        http_error(rq, 404, "not_found", "id", "no call %s for this CallSid", rq->params[0]);
    else
        http_store_error(rq, rc, "the call", "id");
    return false;
}

/* ---- TwiML ---------------------------------------------------------------------------- */

/* An absolute callback URL: the public base, "/twilio/", `what`, "/", the call id, and
 * "/" `agent` when not NULL. */
static void twilio_url(const http_req *rq, const char *what, const char *call_id, const char *agent,
                       char *out, size_t cap)
{
    snprintf(out, cap, "%.*s/twilio/%s/%s%s%s", twilio_base_len(rq), rq->twilio->public_url, what,
             call_id, agent ? "/" : "", agent ? agent : "");
}

/* Sets the TwiML reply (text/xml), or a 500 when the document could not be built. */
static void twilio_reply(http_req *rq, twiml *t)
{
    char *doc = twiml_finish(t);
    if (!doc) {
        http_reply(rq, 500, NULL);
        return;
    }
    free(rq->text);
    rq->text = doc;
    rq->text_type = "text/xml";
    rq->status = 200;
}

/* <Say>text</Say><Hangup/>. */
static void twilio_say_hangup(twiml *t, const char *text)
{
    if (text && text[0])
        twiml_elem(t, "Say", NULL, text);
    twiml_elem(t, "Hangup", NULL, NULL);
}

/* The <Dial> of a ringing call to its agent: the campaign's ring timeout, answerOnBridge,
 * the Dial action back to /twilio/dial/{id}/{agent} (the agent in the URL makes a repeated
 * action harmless: only the attempt on that agent can fail over), and the agent's endpoint,
 * whose answer is reported to /twilio/answered/{id}. False when the agent is gone. */
static bool twilio_dial(const http_req *rq, twiml *t, const config *cfg, const store_call *row)
{
    char action[1200], answered[1200], timeout[16];
    int a = config_find_agent(cfg, row->agent);
    int c = config_find_campaign(cfg, row->campaign);
    if (a < 0)
        return false;
    const config_agent *ag = &cfg->agents[a];
    snprintf(timeout, sizeof timeout, "%d", c >= 0 ? cfg->campaigns[c].ring_timeout_s : 20);
    twilio_url(rq, "dial", row->id, ag->id, action, sizeof action);
    twilio_url(rq, "answered", row->id, NULL, answered, sizeof answered);
    const char *dial_attrs[] = {"action", action,           "method", "POST", "timeout",
                                timeout,  "answerOnBridge", "true",   NULL};
    const char *noun_attrs[] = {"statusCallbackEvent",
                                "answered",
                                "statusCallback",
                                answered,
                                "statusCallbackMethod",
                                "POST",
                                NULL};
    twiml_open(t, "Dial", dial_attrs);
    twiml_elem(t,
               ag->softphone == SOFTPHONE_SIP      ? "Sip"
               : ag->softphone == SOFTPHONE_NUMBER ? "Number"
                                                   : "Client",
               noun_attrs, ag->softphone_address[0] ? ag->softphone_address : ag->id);
    twiml_close(t);
    return true;
}

/* The TwiML for a call in its stored state: ringing or connected, the <Dial> to its agent;
 * queued, the <Enqueue> in its campaign's queue; a callback, the friendly message; an
 * unknown number, the not-in-service message; anything else (ended), a hang-up. */
static void twilio_reply_state(http_req *rq, const store_call *row)
{
    config *cfg = NULL;
    twiml t;
    char wait[1200], action[1200];
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    int c = config_find_campaign(cfg, row->campaign);
    twiml_begin(&t);
    switch (row->status) {
    case CALL_RINGING:
    case CALL_CONNECTED:
        if (!twilio_dial(rq, &t, cfg, row))
            twilio_say_hangup(&t, c >= 0 ? cfg->campaigns[c].friendly_message : NULL);
        break;
    case CALL_QUEUED:
        twilio_url(rq, "wait", row->id, NULL, wait, sizeof wait);
        twilio_url(rq, "queue", row->id, NULL, action, sizeof action);
        twiml_elem(&t, "Enqueue",
                   (const char *const[]){"action", action, "method", "POST", "waitUrl", wait,
                                         "waitUrlMethod", "POST", NULL},
                   row->campaign);
        break;
    case CALL_CALLBACK:
        twilio_say_hangup(&t, c >= 0 ? cfg->campaigns[c].friendly_message : NULL);
        break;
    case CALL_FAILED:
        twilio_say_hangup(&t, TWILIO_NOT_IN_SERVICE);
        break;
    default:
        twiml_elem(&t, "Hangup", NULL, NULL);
    }
    config_free(cfg);
    twilio_reply(rq, &t);
}

/* An empty <Response/> (for status callbacks, whose answer the provider ignores). */
static void twilio_reply_empty(http_req *rq)
{
    twiml t;
    twiml_begin(&t);
    twilio_reply(rq, &t);
}

/* Replies with the state of call `call_id` as stored now. */
static void twilio_reply_call(http_req *rq, const char *call_id)
{
    store_call row;
    int rc = store_call_get(rq->st, call_id, &row);
    if (rc < 0) {
        http_store_error(rq, rc, "the call", "id");
        return;
    }
    twilio_reply_state(rq, &row);
    store_call_clear(&row);
}

/* ---- the webhooks ---------------------------------------------------------------------- */

void api_twilio_voice(http_req *rq)
{
    const char *sid, *from, *to;
    store_call row;
    if (!api_twilio_check(rq, (const char *const[]){"CallSid", "To", NULL}))
        return;
    sid = http_form_get(rq, "CallSid");
    to = http_form_get(rq, "To");
    from = http_form_get(rq, "From");
    /* A retried webhook: the call is already recorded, answer from its state. */
    if (store_call_find_external(rq->st, sid, &row) == ERR_OK) {
        twilio_reply_state(rq, &row);
        store_call_clear(&row);
        return;
    }
    router_call call = {to, from ? from : "", NULL, NULL, 0};
    callflow_outcome out;
    route_writer_view view;
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = rq->writer ? route_writer_route(rq->writer, &call, sid, rq->now_ms, &out, &view)
                        : callflow_route(rq->st, &call, sid, rq->now_ms, rq->rng, false, &out);
    if (rc == ERR_OK) {
        api_calls_record_decision(rq, &out, (long long)(http_mono_us() - t0));
        twilio_reply_state(rq, &out.call);
    } else if (rc == ERR_CONFLICT && store_call_find_external(rq->st, sid, &row) == ERR_OK) {
        twilio_reply_state(rq, &row); /* a duplicate that raced the first one */
        store_call_clear(&row);
    } else if (rc == ROUTE_WRITER_BUSY) {
        http_error(rq, 503, "overloaded", NULL, "too many calls at once; retry");
    } else {
        http_store_error(rq, rc, "the call", NULL);
    }
    callflow_outcome_free(&out);
}

/* Ends call `id` (a claim released once; a queued caller is abandoned with a callback) and
 * tells the event streams. */
static int twilio_end(http_req *rq, const char *id)
{
    store_call row;
    memset(&row, 0, sizeof row);
    int rc = rq->writer ? route_writer_end(rq->writer, id, rq->now_ms, &row)
                        : callflow_end(rq->st, id, rq->now_ms);
    if (rc >= 0 && (row.id[0] || store_call_get(rq->st, id, &row) == ERR_OK))
        call_events_update(rq->events, &row, row.agent, NULL,
                           row.status == CALL_ABANDONED ? "abandoned" : NULL, rq->now_ms);
    store_call_clear(&row);
    return rc;
}

void api_twilio_dial(http_req *rq)
{
    store_call row;
    const char *status;
    if (!api_twilio_check(rq, twilio_call_fields) || !twilio_call_of_path(rq, &row))
        return;
    status = http_form_get(rq, "DialCallStatus");
    if (!status || !status[0]) {
        store_call_clear(&row);
        http_error(rq, 400, "missing_field", "DialCallStatus", "DialCallStatus is required");
        return;
    }
    if (strcmp(status, "completed") == 0 || strcmp(status, "answered") == 0) {
        int rc = twilio_end(rq, row.id); /* the conversation is over */
        if (rc < 0)
            http_store_error(rq, rc, "the call", "id");
        else
            twilio_reply_call(rq, row.id);
        store_call_clear(&row);
        return;
    }
    /* no-answer, busy, failed, canceled: fail over (SPEC 3.8) while it still rings the
     * agent this Dial was for. */
    callflow_outcome out;
    callflow_outcome_init(&out);
    int64_t t0 = http_mono_us();
    int rc = row.status == CALL_RINGING && strcmp(row.agent, rq->params[1]) == 0
                 ? callflow_no_answer(rq->st, row.id, rq->now_ms, rq->rng, &out)
                 : ERR_CONFLICT;
    if (rc == ERR_OK) {
        call_events_update(rq->events, &out.call, row.agent, "failed_over", status, rq->now_ms);
        api_calls_record_decision(rq, &out, (long long)(http_mono_us() - t0));
        twilio_reply_state(rq, &out.call);
    } else if (rc == ERR_CONFLICT) {
        twilio_reply_call(rq, row.id); /* already failed over or ended: the same answer */
    } else {
        http_store_error(rq, rc, "the call", "id");
    }
    callflow_outcome_free(&out);
    store_call_clear(&row);
}

void api_twilio_answered(http_req *rq)
{
    store_call row;
    if (!api_twilio_check(rq, twilio_call_fields) || !twilio_call_of_path(rq, &row))
        return;
    int rc = store_call_answer(rq->st, row.id, rq->now_ms);
    if (rc == 1) {
        store_call_clear(&row);
        if (store_call_get(rq->st, rq->params[0], &row) == ERR_OK)
            call_events_update(rq->events, &row, row.agent, NULL, NULL, rq->now_ms);
    }
    store_call_clear(&row);
    if (rc < 0 && rc != ERR_CONFLICT)
        http_store_error(rq, rc, "the call", "id");
    else
        twilio_reply_empty(rq);
}

void api_twilio_connect(http_req *rq)
{
    store_call row;
    if (!api_twilio_check(rq, twilio_call_fields) || !twilio_call_of_path(rq, &row))
        return;
    twilio_reply_state(rq, &row);
    store_call_clear(&row);
}

void api_twilio_wait(http_req *rq)
{
    store_call row;
    long long position = 0, wait_s = 0;
    char say[256];
    if (!api_twilio_check(rq, twilio_call_fields) || !twilio_call_of_path(rq, &row))
        return;
    twiml t;
    twiml_begin(&t);
    if (row.status == CALL_QUEUED && row.queue_deadline_ms > rq->now_ms &&
        queue_call_place(rq->st, &row, rq->now_ms, &position, &wait_s) == ERR_OK) {
        config *cfg = NULL;
        long long minutes = (wait_s + 59) / 60;
        snprintf(say, sizeof say,
                 "You are caller number %lld. Your estimated wait is about %lld minute%s.",
                 position, minutes < 1 ? 1 : minutes, minutes > 1 ? "s" : "");
        twiml_elem(&t, "Say", NULL, say);
        int c = store_config_load(rq->st, &cfg, NULL, 0) == ERR_OK
                    ? config_find_campaign(cfg, row.campaign)
                    : -1;
        if (c >= 0 && cfg->campaigns[c].hold_music_url[0])
            twiml_elem(&t, "Play", NULL, cfg->campaigns[c].hold_music_url);
        else
            twiml_elem(&t, "Pause", (const char *const[]){"length", TWILIO_HOLD_PAUSE_S, NULL},
                       NULL);
        config_free(cfg);
    } else if (row.status == CALL_RINGING || row.status == CALL_CONNECTED) {
        /* Handed to an agent: the provider is moving the call; hold on briefly. */
        twiml_elem(&t, "Pause", (const char *const[]){"length", "1", NULL}, NULL);
    } else {
        twiml_elem(&t, "Leave", NULL, NULL); /* the wait ran out, or the call is over */
    }
    store_call_clear(&row);
    twilio_reply(rq, &t);
}

void api_twilio_queue(http_req *rq)
{
    store_call row, left;
    long long callback_id = 0;
    if (!api_twilio_check(rq, twilio_call_fields) || !twilio_call_of_path(rq, &row))
        return;
    const char *result = http_form_get(rq, "QueueResult");
    int rc = ERR_OK;
    if (result && strcmp(result, "hangup") == 0) {
        rc = twilio_end(rq, row.id); /* the caller hung up while waiting: abandoned */
    } else if (!result || (strcmp(result, "redirected") != 0 && strcmp(result, "bridged") != 0)) {
        /* Left the provider's queue (its wait ran out, or the provider gave up on it). */
        rc = queue_leave(rq->st, row.id, rq->now_ms, &left, &callback_id);
        if (rc == ERR_OK && callback_id > 0) {
            call_events_update(rq->events, &left, NULL, "callback", "queue_timeout", rq->now_ms);
            call_events_callback(rq->events, &left, callback_id, "queue_timeout", rq->now_ms);
        }
        if (rc == ERR_OK)
            store_call_clear(&left);
    }
    if (rc < 0)
        http_store_error(rq, rc, "the call", "id");
    else
        twilio_reply_call(rq, row.id);
    store_call_clear(&row);
}

void api_twilio_status(http_req *rq)
{
    static const char *const over[] = {"completed", "busy",     "failed",
                                       "no-answer", "canceled", NULL};
    const char *sid, *status;
    store_call row;
    if (!api_twilio_check(rq, (const char *const[]){"CallSid", "CallStatus", NULL}))
        return;
    sid = http_form_get(rq, "CallSid");
    status = http_form_get(rq, "CallStatus");
    bool ended = false;
    for (int i = 0; over[i]; i++)
        ended |= strcmp(status, over[i]) == 0;
    int rc = store_call_find_external(rq->st, sid, &row);
    if (rc == ERR_OK && ended)
        rc = twilio_end(rq, row.id);
    store_call_clear(&row);
    /* An unknown CallSid (a call this daemon never routed) or a status that ends nothing:
     * acknowledged, nothing to do. */
    if (rc < 0 && rc != ERR_NOT_FOUND)
        http_store_error(rq, rc, "the call", NULL);
    else
        twilio_reply_empty(rq);
}
