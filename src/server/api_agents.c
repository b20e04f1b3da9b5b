/* api_agents.c -- /v1/agents: list, create, get, update, delete, and softphone presence.
 * Changes to an agent's settings go through the configuration format: the current
 * configuration is dumped, edited, validated by the import parser and stored, in one
 * transaction, so the API accepts exactly what an import accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/config_json.h"
#include "api.h"
#include "events.h"

#define AGENTS_PRESENCE_DEFAULT_S 60
#define AGENTS_PRESENCE_MAX_S 86400

static const char *const agents_fields[] = {"id",     "name",       "status",    "max_concurrent",
                                            "states", "categories", "softphone", NULL};

/* The API form of agent `a`: its settings as in the import format, plus live state. */
static json_t *agents_json(const config_agent *a, const json_t *dumped, int64_t now_ms)
{
    json_t *o = json_deep_copy(dumped);
    if (!o)
        return NULL;
    if (json_object_set_new(o, "active_calls", json_integer(a->active_calls)) ||
        json_object_set_new(o, "connected", json_boolean(a->registered_until_ms > now_ms)) ||
        json_object_set_new(o, "registered_until_ms", json_integer(a->registered_until_ms)) ||
        json_object_set_new(o, "last_assigned_ms", json_integer(a->last_assigned_ms))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Replies with agent `id` as stored now (status `status`). With `event` the change is
 * also published to the dashboards' stream: the agent as replied, with "agent" its id. */
static void agents_reply_one(http_req *rq, int status, const char *id, const char *event)
{
    config *cfg = NULL;
    json_t *dumped = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    int idx = config_find_agent(cfg, id);
    if (idx < 0) {
        http_error(rq, 404, "not_found", "id", "agent \"%.64s\" does not exist", id);
        goto out_free;
    }
    /* Only this agent is dumped: a configuration may hold thousands of agents and rules. */
    dumped = config_json_dump_agent(cfg, &cfg->agents[idx]);
    json_t *o = dumped ? agents_json(&cfg->agents[idx], dumped, rq->now_ms) : NULL;
    if (o && event) {
        json_t *data = json_deep_copy(o);
        if (data && json_object_set_new(data, "agent", json_string(id)) == 0)
            events_publish(rq->events, event, NULL, true, data, rq->now_ms);
        else
            json_decref(data);
    }
    http_reply(rq, status, o);
out_free:
    json_decref(dumped);
    config_free(cfg);
}

void api_agents_list(http_req *rq)
{
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    json_t *arr = config_json_dump_agents(cfg), *out = json_array();
    if (!arr || !out)
        goto out_nomem;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int idx = config_find_agent(cfg, json_string_value(json_object_get(v, "id")));
        if (idx < 0 || json_array_append_new(out, agents_json(&cfg->agents[idx], v, rq->now_ms)))
            goto out_nomem;
    }
    http_reply(rq, 200, json_pack("{s:o}", "agents", out));
    out = NULL;
    goto out_free;
out_nomem:
    http_reply(rq, 500, NULL);
out_free:
    json_decref(out);
    json_decref(arr);
    config_free(cfg);
}

void api_agents_get(http_req *rq)
{
    agents_reply_one(rq, 200, rq->params[0], NULL);
}

/* ---- create and update ----------------------------------------------------------------- */

json_t *api_agents_parse(http_req *rq, const char *id)
{
    json_t *body = http_body_object(rq, false, agents_fields);
    if (!body || !id || rq->who.kind == STORE_PRINCIPAL_AGENT)
        return body;
    json_t *v = json_object_get(body, "id");
    if (v && !(json_is_string(v) && strcmp(json_string_value(v), id) == 0)) {
        http_error(rq, 422, "invalid_input", "id", "an agent's id cannot be changed");
        json_decref(body);
        return NULL;
    }
    return body;
}

bool api_agents_self_parse(http_req *rq, const json_t *body, int *status)
{
    const char *value = NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "status") != 0) {
            http_error(rq, 403, "forbidden", key, "an agent token may change only the status");
            return false;
        }
    }
    if (!http_field_str(rq, body, "status", true, false, &value))
        return false;
    int s = config_status_parse(value);
    if (s != AGENT_ACTIVE && s != AGENT_PAUSED) {
        if (s == AGENT_DEACTIVATED)
            http_error(rq, 403, "forbidden", "status",
                       "an agent token may set only active or paused");
        else
            http_error(rq, 422, "invalid_input", "status", "must be active or paused");
        return false;
    }
    *status = s;
    return true;
}

void api_agents_create(http_req *rq)
{
    api_element e = {"agents", "agent", NULL, NULL, ""};
    e.body = api_agents_parse(rq, NULL);
    if (!e.body)
        return;
    /* e.strip is filled by the edit, before validation reads it. */
    if (api_config_edit(rq, api_config_element_edit, &e, e.strip, false))
        agents_reply_one(rq, 201, json_string_value(json_object_get(e.body, "id")),
                         "agent.created");
    json_decref(e.body);
}

/* An agent token may only switch its own agent between active and paused. */
static void agents_update_self(http_req *rq, json_t *body)
{
    int s;
    if (!api_agents_self_parse(rq, body, &s))
        return;
    int rc = store_agent_set(rq->st, rq->params[0], s, 0, rq->now_ms);
    if (rc < 0) {
        http_store_error(rq, rc, "the agent", "id");
        return;
    }
    agents_reply_one(rq, 200, rq->params[0], "agent.updated");
}

void api_agents_update(http_req *rq)
{
    api_element a = {"agents", "agent", rq->params[0], NULL, ""};
    a.body = api_agents_parse(rq, a.id);
    if (!a.body)
        return;
    if (rq->who.kind == STORE_PRINCIPAL_AGENT)
        agents_update_self(rq, a.body);
    else if (api_config_edit(rq, api_config_element_edit, &a, a.strip, false))
        agents_reply_one(rq, 200, a.id, "agent.updated");
    json_decref(a.body);
}

/* ---- delete ---------------------------------------------------------------------------- */

static bool agents_delete_edit(http_req *rq, const config *cur, json_t *doc, void *arg)
{
    const char *id = arg;
    int idx = config_find_agent(cur, id);
    json_t *agents = json_object_get(doc, "agents");
    int j = api_config_find(agents, id);
    if (idx < 0 || j < 0) {
        http_error(rq, 404, "not_found", "id", "agent \"%.64s\" does not exist", id);
        return false;
    }
    if (cur->agents[idx].active_calls > 0) {
        http_error(rq, 409, "agent_busy", "id", "agent \"%.64s\" has %d call(s) in progress", id,
                   cur->agents[idx].active_calls);
        return false;
    }
    json_array_remove(agents, (size_t)j);
    /* Drop the agent from every rule's members. */
    size_t ci, ri;
    json_t *camp, *rule;
    json_array_foreach(json_object_get(doc, "campaigns"), ci, camp)
    {
        json_array_foreach(json_object_get(camp, "rules"), ri, rule)
        {
            json_t *members = json_object_get(rule, "members");
            for (size_t k = json_array_size(members); k-- > 0;) {
                const char *m =
                    json_string_value(json_object_get(json_array_get(members, k), "agent"));
                if (m && strcmp(m, id) == 0)
                    json_array_remove(members, k);
            }
        }
    }
    return true;
}

void api_agents_delete(http_req *rq)
{
    if (api_config_edit(rq, agents_delete_edit, (void *)rq->params[0], NULL, true)) {
        events_publish(rq->events, "agent.deleted", NULL, true,
                       json_pack("{s:s}", "agent", rq->params[0]), rq->now_ms);
        http_reply(rq, 200, json_pack("{s:s, s:b}", "id", rq->params[0], "deleted", 1));
    }
}

/* ---- presence -------------------------------------------------------------------------- */

bool api_agents_presence_parse(http_req *rq, long long *expires_s)
{
    static const char *const fields[] = {"expires_s", NULL};
    *expires_s = AGENTS_PRESENCE_DEFAULT_S;
    json_t *body = http_body_object(rq, true, fields);
    if (!body)
        return false;
    bool ok = http_field_int(rq, body, "expires_s", false, 1, AGENTS_PRESENCE_MAX_S, expires_s);
    json_decref(body);
    return ok;
}

void api_agents_presence_set(http_req *rq)
{
    long long expires;
    if (!api_agents_presence_parse(rq, &expires))
        return;
    int rc = store_agent_register(rq->st, rq->params[0], rq->now_ms + expires * 1000);
    if (rc < 0)
        http_store_error(rq, rc, "the agent", "id");
    else
        agents_reply_one(rq, 200, rq->params[0], "agent.presence");
}

void api_agents_presence_clear(http_req *rq)
{
    int rc = store_agent_unregister(rq->st, rq->params[0]);
    if (rc < 0)
        http_store_error(rq, rc, "the agent", "id");
    else
        agents_reply_one(rq, 200, rq->params[0], "agent.presence");
}
