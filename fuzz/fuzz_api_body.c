/* fuzz_api_body.c -- every JSON request body the API reads, through the same functions the
 * handlers call before they touch the store (src/server/api_*.c, http_util.c): agents
 * (create, an admin's or an agent token's update, presence), campaigns (create, update), the
 * whole configuration (PUT /v1/config), calls (route; answered, no-answer and ended) and the
 * completion of a callback. The first byte picks the endpoint, the second the content type,
 * the path's id and the caller; the rest is the body. Each request must end either accepted
 * with no reply, or refused with one error reply of status 400-599; an accepted agent or
 * campaign change must give a configuration that exports and imports back unchanged. */
#include <stdint.h>
#include <string.h>

#include "codec/config_json.h"
#include "fuzz_input.h"
#include "server/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The configuration the agent and campaign changes are applied to: two agents, and twelve
 * campaigns so that "medicare" is campaigns[1] in the export (sorted by id) while
 * campaigns[10] and [11] exist too (an error there must not be mistaken for one inside
 * campaigns[1]). */
static const char base_head[] =
    "{\"agents\": ["
    "{\"id\": \"maria\", \"name\": \"Maria\", \"max_concurrent\": 2, \"states\": [\"TX\"],"
    " \"categories\": [\"medicare\"], \"softphone\": {\"type\": \"client\", \"address\": "
    "\"maria\"}},"
    "{\"id\": \"tom\", \"name\": \"Tom\", \"status\": \"paused\","
    " \"softphone\": {\"type\": \"sip\", \"address\": \"sip:tom@pbx.example.com\"}}],"
    "\"campaigns\": [{\"id\": \"medicare\", \"name\": \"Medicare\", \"default_category\": "
    "\"medicare\","
    " \"queue\": {\"enabled\": true, \"max_size\": 5, \"max_wait_s\": 60},"
    " \"tracking_numbers\": [{\"number\": \"+18005550100\"}],"
    " \"rules\": [{\"id\": \"all\", \"name\": \"All\", \"mode\": \"weighted\","
    " \"members\": [{\"agent\": \"maria\", \"weight\": 3}, {\"agent\": \"tom\"}]}]},"
    "{\"id\": \"aca\", \"name\": \"ACA\", \"tracking_numbers\": [{\"number\": \"+18885550142\"}],"
    " \"rules\": [{\"id\": \"aca-all\", \"name\": \"ACA\", \"mode\": \"priority\","
    " \"members\": [{\"agent\": \"tom\"}]}]}";

static config *base(void)
{
    static config *cfg;
    config_json_error err;
    char text[8192];
    if (cfg)
        return cfg;
    /* Ten more small campaigns, "z10" to "z19", each with its tracking number and a rule. */
    size_t n = (size_t)snprintf(text, sizeof text, "%s", base_head);
    for (int i = 10; i < 20 && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              ", {\"id\": \"z%d\", \"name\": \"Z%d\", \"tracking_numbers\": "
                              "[{\"number\": \"+1800555%04d\"}], \"rules\": [{\"id\": \"r%d\", "
                              "\"name\": \"R\", \"mode\": \"priority\", \"members\": "
                              "[{\"agent\": \"maria\"}]}]}",
                              i, i, 200 + i, i);
    if (n + 3 >= sizeof text) {
        fprintf(stderr, "fuzz_api_body: base configuration too long\n");
        abort();
    }
    snprintf(text + n, sizeof text - n, "]}");
    if (config_json_parse(text, strlen(text), &cfg, &err) != ERR_OK) {
        fprintf(stderr, "fuzz_api_body: base configuration: %s: %s\n", err.path, err.message);
        abort();
    }
    return cfg;
}

static const char *const content_types[] = {"application/json", "Application/JSON; charset=utf-8",
                                            NULL, "text/plain"};
static const char *const ids[] = {"maria", "medicare", "nobody", "12"};

/* A refusal is exactly one error reply {"error": {"code": ...}} with a 4xx or 5xx status.
 * With `path_field` (a change of agents or campaigns refused by the import parser) its
 * field, when there is one, is a path in the element or in the document (it starts with one
 * of their lower-case names), never a piece of a path. */
static void check_refused(const http_req *rq, bool path_field)
{
    FUZZ_CHECK(rq->reply && rq->status >= 400 && rq->status <= 599);
    json_t *error = json_object_get(rq->reply, "error");
    json_t *code = json_object_get(error, "code"), *field = json_object_get(error, "field");
    FUZZ_CHECK(json_is_string(code) && strcmp(json_string_value(code), rq->error_code) == 0);
    FUZZ_CHECK(!field || json_is_null(field) || json_is_string(field));
    if (path_field && json_is_string(field)) {
        const char *f = json_string_value(field);
        if (f[0] < 'a' || f[0] > 'z')
            fprintf(stderr, "field %s\n", f);
        FUZZ_CHECK(f[0] >= 'a' && f[0] <= 'z');
    }
}

/* An accepted change: its configuration exports and imports back to the same export. */
static void check_config(const config *next)
{
    config *again = NULL;
    config_json_error err;
    json_t *dump = config_json_dump(next);
    FUZZ_CHECK(dump);
    FUZZ_CHECK(config_json_from_value(dump, &again, &err) == ERR_OK);
    json_t *dump2 = config_json_dump(again);
    FUZZ_CHECK(dump2 && json_equal(dump, dump2));
    json_decref(dump2);
    json_decref(dump);
    config_free(again);
}

/* A change of agents or campaigns (body already read into e->body) applied to the base. */
static bool apply(http_req *rq, api_element *e)
{
    config *next = NULL;
    const config *cur = base();
    bool ok = api_config_apply(rq, cur, api_config_element_edit, e, e->strip, false, &next);
    FUZZ_CHECK(ok == (next != NULL));
    if (ok) {
        int before = strcmp(e->collection, "agents") == 0 ? cur->n_agents : cur->n_campaigns;
        int after = strcmp(e->collection, "agents") == 0 ? next->n_agents : next->n_campaigns;
        FUZZ_CHECK(after == before + (e->id ? 0 : 1));
        check_config(next);
    }
    config_free(next);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    unsigned endpoint = fuzz_byte(&in) % 10, flags = fuzz_byte(&in);
    size_t len;
    char *body = fuzz_rest(&in, &len);
    http_req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/fuzz";
    rq.params[0] = ids[(flags >> 2) & 3];
    rq.body = body;
    rq.body_len = len;
    rq.content_type = content_types[flags & 3];
    rq.who.kind = flags & 16 ? STORE_PRINCIPAL_AGENT : STORE_PRINCIPAL_ADMIN;
    snprintf(rq.who.agent, sizeof rq.who.agent, "%s", flags & 32 ? "maria" : "tom");
    bool ok = false, path_field = false;
    switch (endpoint) {
    case 0: /* POST /v1/agents */
    case 1: /* PATCH /v1/agents/{id}, an admin */
    case 2: /* PATCH /v1/agents/{id}, an agent token */ {
        api_element e = {"agents", "agent", endpoint == 0 ? NULL : rq.params[0], NULL, ""};
        rq.who.kind = endpoint == 2 ? STORE_PRINCIPAL_AGENT : STORE_PRINCIPAL_ADMIN;
        e.body = api_agents_parse(&rq, e.id);
        if (e.body && endpoint == 2) {
            int status = -1;
            ok = api_agents_self_parse(&rq, e.body, &status);
            FUZZ_CHECK(!ok || status == AGENT_ACTIVE || status == AGENT_PAUSED);
        } else if (e.body) {
            ok = apply(&rq, &e);
            path_field = true;
        }
        json_decref(e.body);
        break;
    }
    case 3: { /* POST /v1/agents/{id}/presence */
        long long expires = 0;
        ok = api_agents_presence_parse(&rq, &expires);
        FUZZ_CHECK(!ok || (expires >= 1 && expires <= 86400));
        break;
    }
    case 4: /* POST /v1/campaigns */
    case 5: /* PATCH /v1/campaigns/{id} */ {
        api_element e = {"campaigns", "campaign", endpoint == 4 ? NULL : rq.params[0], NULL, ""};
        e.body = api_campaigns_parse(&rq, e.id);
        if (e.body) {
            ok = apply(&rq, &e);
            path_field = true;
        }
        json_decref(e.body);
        break;
    }
    case 6: { /* PUT /v1/config */
        config *cfg = NULL;
        ok = api_config_parse(&rq, &cfg);
        FUZZ_CHECK(ok == (cfg != NULL));
        if (ok)
            check_config(cfg);
        config_free(cfg);
        break;
    }
    case 7: { /* POST /v1/calls */
        api_call_request call;
        ok = api_calls_create_parse(&rq, &call);
        FUZZ_CHECK(!ok || (call.body && call.to));
        json_decref(call.body);
        break;
    }
    case 8: /* POST /v1/calls/{id}/answered, /no-answer, /ended */
        ok = api_calls_action_parse(&rq);
        break;
    default: { /* POST /v1/callbacks/{id}/complete */
        api_callback_request cb;
        ok = api_calls_callback_parse(&rq, &cb);
        FUZZ_CHECK(!ok || (cb.id > 0 && cb.agent && (!cb.note || strlen(cb.note) <= 2000)));
        json_decref(cb.body);
        break;
    }
    }
    if (ok)
        FUZZ_CHECK(!rq.reply && !rq.text);
    else
        check_refused(&rq, path_field);
    json_decref(rq.reply);
    free(rq.text);
    free(body);
    return 0;
}
