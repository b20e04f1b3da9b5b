/* api.h -- the request handlers of the /v1 API and the operational endpoints, one group
 * per file (api_agents.c, api_campaigns.c, api_config.c, api_calls.c, api_ops.c). Each takes the
 * request, already authenticated by the server, and sets its reply; none of them can fail to reply.
 */
#ifndef SC_API_H
#define SC_API_H

#include "../core/config.h"
#include "http_util.h"

/* api_agents.c: /v1/agents, /v1/agents/{id}, /v1/agents/{id}/presence. */
void api_agents_list(http_req *rq);
void api_agents_create(http_req *rq);
void api_agents_get(http_req *rq);
void api_agents_update(http_req *rq);
void api_agents_delete(http_req *rq);
void api_agents_presence_set(http_req *rq);
void api_agents_presence_clear(http_req *rq);

/* The reading of the agents' request bodies, apart from the store (the handlers call them,
 * and so do the fuzz targets of fuzz/). On failure each sets the error reply.
 * api_agents_parse: the body of POST /v1/agents (id NULL) or PATCH /v1/agents/{id} (an
 * admin's: the id cannot change); returns a new reference, or NULL.
 * api_agents_self_parse: an agent token's PATCH body (only "status", active or paused).
 * api_agents_presence_parse: POST /v1/agents/{id}/presence ({"expires_s"}, default 60). */
json_t *api_agents_parse(http_req *rq, const char *id);
bool api_agents_self_parse(http_req *rq, const json_t *body, int *status);
bool api_agents_presence_parse(http_req *rq, long long *expires_s);

/* api_campaigns.c: /v1/campaigns and /v1/campaigns/{id} (numbers and rules inside). */
void api_campaigns_list(http_req *rq);
void api_campaigns_create(http_req *rq);
void api_campaigns_get(http_req *rq);
void api_campaigns_update(http_req *rq);
void api_campaigns_delete(http_req *rq);

/* The body of POST /v1/campaigns (id NULL) or PATCH /v1/campaigns/{id} (the id cannot
 * change), apart from the store: a new reference, or NULL with the error reply set. */
json_t *api_campaigns_parse(http_req *rq, const char *id);

/* api_config.c: GET and PUT /v1/config. */
void api_config_get(http_req *rq);
void api_config_put(http_req *rq);

/* The body of PUT /v1/config, read and validated as an import is (no store): true with *out
 * a new configuration (caller frees with config_free()), or false with the reply set. */
bool api_config_parse(http_req *rq, config **out);

/* Turns a config_json validation failure into a reply: type, missing and unknown fields
 * are 400, everything else 422; `strip` is a path prefix removed from the field. */
void api_config_error(http_req *rq, const char *path, const char *message, const char *strip);

/* An edit of the dumped configuration document `doc` (cur is the configuration it was
 * dumped from). Returns true to go on; false when it set the reply. */
typedef bool (*api_config_edit_fn)(http_req *rq, const config *cur, json_t *doc, void *arg);

/* Loads the configuration, dumps it, lets `edit` change the JSON, validates it with the
 * import parser and stores it, in one transaction: all or nothing. Validation failures
 * are reported with paths below `strip` made relative; with `conflict` set they are 409
 * instead (an edit the rest of the configuration does not allow). Returns true when the
 * change was committed (no reply set), false when a reply was set. */
bool api_config_edit(http_req *rq, api_config_edit_fn edit, void *arg, const char *strip,
                     bool conflict);

/* The part of api_config_edit() that needs no store: dumps `cur`, lets `edit` change the
 * document and validates the result. True with *next the new configuration (caller frees
 * with config_free()), or false with the reply set and *next NULL. */
bool api_config_apply(http_req *rq, const config *cur, api_config_edit_fn edit, void *arg,
                      const char *strip, bool conflict, config **next);

/* Tells the event streams (and the queue dispatcher: rules or limits may have freed an agent
 * for a waiting caller) that the configuration changed: a config.updated event. */
void api_config_changed(http_req *rq);

/* Index of the element whose "id" is `id` in a dumped collection array, or -1. */
int api_config_find(const json_t *arr, const char *id);

/* Creating or updating one element of a top-level collection of the configuration
 * document ("agents" or "campaigns"), as the argument of api_config_element_edit(). */
typedef struct {
    const char *collection; /* "agents" or "campaigns" */
    const char *kind;       /* "agent" or "campaign", for messages */
    const char *id;         /* the element to update; NULL to create the body as new */
    json_t *body;           /* the request's fields (borrowed) */
    char strip[32];         /* set by the edit: the element's path, e.g. "agents[3]" */
} api_element;

/* An api_config_edit_fn for an api_element: create appends the body (409 already_exists
 * when its id is taken); update merges the body into the element (404 when absent). */
bool api_config_element_edit(http_req *rq, const config *cur, json_t *doc, void *arg);

/* api_calls.c: /v1/calls and /v1/callbacks. */

struct callflow_outcome;
/* What every committed routing decision does besides its reply (shared with the telephony
 * webhooks): the events (call.routed, call.offered, callback.created), the metrics and the
 * "route" log line; `us` is the time it took. */
void api_calls_record_decision(http_req *rq, const struct callflow_outcome *o, long long us);

/* The body of POST /v1/calls, read and checked; the strings point into `body`. */
typedef struct {
    json_t *body; /* owned: the caller decrefs it */
    const char *to, *from, *category, *external_id;
} api_call_request;

/* The body of POST /v1/callbacks/{id}/complete with the id of the path, read and checked. */
typedef struct {
    json_t *body; /* owned: the caller decrefs it */
    long long id;
    const char *agent, *note;
} api_callback_request;

/* The reading of these requests, apart from the store so that the fuzz targets (fuzz/) run
 * exactly what the handlers run. Each returns true with *out filled, or false with the error
 * reply set and nothing to free. */
bool api_calls_create_parse(http_req *rq, api_call_request *out);
bool api_calls_callback_parse(http_req *rq, api_callback_request *out);

/* The body of POST /v1/calls/{id}/answered, /no-answer and /ended: none, or an empty JSON
 * object. False with the error reply set otherwise. */
bool api_calls_action_parse(http_req *rq);

void api_calls_create(http_req *rq);
void api_calls_answered(http_req *rq);
void api_calls_no_answer(http_req *rq);
void api_calls_ended(http_req *rq);
void api_calls_list(http_req *rq);
void api_calls_get(http_req *rq);
void api_calls_callbacks_list(http_req *rq);
void api_calls_callback_complete(http_req *rq);

/* api_softphone.c: GET /v1/agents/{id}/softphone-token (Twilio Voice SDK access token). */
void api_softphone_token(http_req *rq);

/* api_twilio.c: the Twilio-compatible voice webhooks (docs/TWILIO.md), public routes
 * authenticated by X-Twilio-Signature: POST /twilio/voice (inbound call), /twilio/status
 * (call status callback), /twilio/dial/{id}/{agent} (the Dial action), /twilio/answered/{id} (the
 * agent answered), /twilio/wait/{id} (the queue's wait URL), /twilio/queue/{id} (the
 * Enqueue action) and /twilio/connect/{id} (where a hand-off redirects the call). */
void api_twilio_voice(http_req *rq);
void api_twilio_status(http_req *rq);
void api_twilio_dial(http_req *rq);
void api_twilio_answered(http_req *rq);
void api_twilio_wait(http_req *rq);
void api_twilio_queue(http_req *rq);
void api_twilio_connect(http_req *rq);

/* What every webhook checks before it reads the store (shared with fuzz/): the adapter is
 * configured, the body is a form, X-Twilio-Signature signs the public URL of the path and the
 * form, and each field of the NULL-terminated `required` list is present, non-empty and
 * printable (at most 256 bytes). False with the error reply set otherwise. */
bool api_twilio_check(http_req *rq, const char *const *required);

/* api_queues.c: GET /v1/queues and GET /v1/queues/{campaign}. */
void api_queues_list(http_req *rq);
void api_queues_get(http_req *rq);

/* api_events.c: GET /v1/agents/{id}/events and GET /v1/events. They check the request and
 * set rq->stream; the server then answers with the event stream (sse.c). */
void api_events_agent(http_req *rq);
void api_events_all(http_req *rq);

/* api_ops.c: /healthz, /readyz, /metrics. */
void api_ops_healthz(http_req *rq);
void api_ops_readyz(http_req *rq);
void api_ops_metrics(http_req *rq);

#endif
