/* route_json.c -- renders a routing decision and its trace as the JSON of docs/TRACE.md. */
#include "route_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

#define ROUTE_JSON_SUMMARY_MAX 512

static const char *route_json_agent_id(const config *cfg, int agent)
{
    return agent >= 0 && agent < cfg->n_agents ? cfg->agents[agent].id : NULL;
}

/* A string, or null when NULL or empty. */
static void route_json_str_or_null(json_text *t, const char *s)
{
    json_text_string(t, s && s[0] ? s : NULL);
}

static void route_json_number(json_text *t, const char *key, const phone_number *p)
{
    bool has = p->status == PHONE_OK || p->status == PHONE_NOT_NANP;
    json_text_key(t, key);
    json_text_open_object(t);
    json_text_key(t, "e164");
    json_text_string(t, has ? p->e164 : NULL);
    json_text_key(t, "status");
    json_text_string(t, phone_status_name(p->status));
    json_text_close_object(t);
}

/* How the caller's state was found: the area code lookup, or why there was none. */
static void route_json_state_source(json_text *j, const route_trace *t)
{
    bool area = t->from.status == PHONE_OK;
    char reason[48];
    if (area)
        snprintf(reason, sizeof(reason), "%s", areacode_reason_name(t->area.reason));
    else
        snprintf(reason, sizeof(reason), "caller_id_%s", phone_status_name(t->from.status));
    json_text_key(j, "state_source");
    json_text_open_object(j);
    json_text_key(j, "method");
    json_text_string(j, area ? "area_code" : "caller_id");
    json_text_key(j, "npa");
    json_text_string(j, area ? t->from.npa : NULL);
    json_text_key(j, "reason");
    json_text_string(j, reason);
    json_text_key(j, "time_zone");
    route_json_str_or_null(j, area ? t->area.time_zone : NULL);
    json_text_key(j, "location");
    route_json_str_or_null(j, area ? t->area.location : NULL);
    json_text_close_object(j);
}

/* The detail of a verdict that has one ("2/2", the caller's state, the call's category),
 * written as the member's "detail"; nothing for the others. */
static void route_json_member_detail(json_text *j, const route_trace *t, const trace_member *m)
{
    char buf[32];
    switch (m->verdict) {
    case MEMBER_AT_CAPACITY:
        snprintf(buf, sizeof(buf), "%d/%d", m->active_calls, m->max_concurrent);
        break;
    case MEMBER_STATE_NOT_ALLOWED:
        snprintf(buf, sizeof(buf), "%s", t->caller_state ? t->caller_state : "unknown");
        break;
    case MEMBER_CATEGORY_NOT_ALLOWED:
        json_text_key(j, "detail");
        json_text_string(j, t->category[0] ? t->category : "none");
        return;
    default:
        return;
    }
    json_text_key(j, "detail");
    json_text_string(j, buf);
}

static void route_json_rule(json_text *j, const config *cfg, const route_trace *t,
                            const trace_rule *tr)
{
    const config_rule *rule = &cfg->rules[tr->rule];
    json_text_open_object(j);
    json_text_key(j, "rule");
    json_text_string(j, rule->id);
    json_text_key(j, "position");
    json_text_int(j, rule->position);
    json_text_key(j, "mode");
    json_text_string(j, config_mode_name(rule->mode));
    json_text_key(j, "verdict");
    json_text_string(j, router_rule_verdict_name(tr->verdict));
    if (tr->verdict == RULE_STATE_MISMATCH) {
        json_text_key(j, "detail");
        json_text_string(j, t->caller_state ? t->caller_state : "unknown");
    } else if (tr->verdict == RULE_CATEGORY_MISMATCH) {
        json_text_key(j, "detail");
        json_text_string(j, t->category[0] ? t->category : "none");
    }
    json_text_key(j, "members");
    json_text_open_array(j);
    for (int k = 0; k < tr->n_members; k++) {
        const trace_member *m = &t->members[tr->first_member + k];
        json_text_open_object(j);
        json_text_key(j, "agent");
        json_text_string(j, route_json_agent_id(cfg, m->agent));
        json_text_key(j, "verdict");
        json_text_string(j, router_member_verdict_name(m->verdict));
        route_json_member_detail(j, t, m);
        json_text_close_object(j);
    }
    json_text_close_array(j);
    json_text_close_object(j);
}

/* The agent that ends up with the call: the claim that was won, or without claims the pick. */
static int route_json_final_agent(const route_result *r)
{
    const route_trace *t = &r->trace;
    for (int i = 0; i < t->n_claims; i++)
        if (t->claims[i].won)
            return t->claims[i].agent;
    if (t->n_claims == 0 && r->action == ROUTE_CONNECT)
        return t->pick;
    return -1;
}

/* The action after the claims: a connect whose every claim was lost is no agent. */
static route_action route_json_outcome(const route_result *r)
{
    if (r->action == ROUTE_CONNECT && r->trace.n_claims > 0 && route_json_final_agent(r) < 0)
        return ROUTE_NO_AGENT;
    return r->action;
}

/* Appends formatted text to a bounded buffer; truncates silently at the cap. */
static void route_json_append(char *buf, size_t cap, size_t *len, const char *a, const char *b)
{
    const char *parts[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!parts[i])
            continue;
        size_t n = strlen(parts[i]);
        if (n > cap - 1 - *len)
            n = cap - 1 - *len;
        memcpy(buf + *len, parts[i], n);
        *len += n;
        buf[*len] = '\0';
    }
}

/* One readable sentence: "TX caller, category medicare, rule tx-medicare (priority) picked
 * maria". */
static void route_json_summary(const config *cfg, const route_result *r, char *buf, size_t cap)
{
    const route_trace *t = &r->trace;
    size_t len = 0;
    buf[0] = '\0';
    if (r->action == ROUTE_REJECT) {
        if (t->to.status == PHONE_OK || t->to.status == PHONE_NOT_NANP) {
            route_json_append(buf, cap, &len, "dialled number ", t->to.e164);
            route_json_append(buf, cap, &len, " is not a tracking number: rejected", NULL);
        } else {
            route_json_append(buf, cap, &len, "dialled number invalid (",
                              phone_status_name(t->to.status));
            route_json_append(buf, cap, &len, "): rejected", NULL);
        }
        return;
    }
    if (t->caller_state) {
        route_json_append(buf, cap, &len, t->caller_state, " caller");
    } else {
        route_json_append(buf, cap, &len, "caller state unknown (",
                          t->from.status == PHONE_OK ? areacode_reason_name(t->area.reason)
                                                     : phone_status_name(t->from.status));
        route_json_append(buf, cap, &len, ")", NULL);
    }
    if (t->category[0])
        route_json_append(buf, cap, &len, ", category ", t->category);
    else
        route_json_append(buf, cap, &len, ", no category", NULL);
    if (r->action == ROUTE_NO_AGENT || t->decided_rule < 0) {
        int matched = 0;
        for (int i = 0; i < t->n_rules; i++)
            matched += t->rules[i].verdict == RULE_NO_AVAILABLE;
        char tail[96];
        snprintf(tail, sizeof(tail), ": no agent available (%d rules, %d matched)", t->n_rules,
                 matched);
        route_json_append(buf, cap, &len, tail, NULL);
        return;
    }
    route_json_append(buf, cap, &len, ", rule ", cfg->rules[t->decided_rule].id);
    route_json_append(buf, cap, &len, " (", config_mode_name(t->mode));
    route_json_append(buf, cap, &len, ") picked ", route_json_agent_id(cfg, t->pick));
    if (t->n_claims > 0) {
        int agent = route_json_final_agent(r);
        if (agent < 0)
            route_json_append(buf, cap, &len, ", every claim lost: no agent", NULL);
        else if (agent != t->pick)
            route_json_append(buf, cap, &len, ", claim lost, claimed ",
                              route_json_agent_id(cfg, agent));
        else
            route_json_append(buf, cap, &len, ", claimed", NULL);
    }
}

/* Writes the trace object; with `key`, one more member whose value is `extra`. */
static void route_json_write(json_text *j, const config *cfg, const route_result *r,
                             const char *key, const json_t *extra)
{
    const route_trace *t = &r->trace;
    char summary[ROUTE_JSON_SUMMARY_MAX];
    route_json_summary(cfg, r, summary, sizeof(summary));
    json_text_open_object(j);
    json_text_key(j, "action");
    json_text_string(j, router_action_name(r->action));
    json_text_key(j, "outcome");
    json_text_string(j, router_action_name(route_json_outcome(r)));
    json_text_key(j, "summary");
    json_text_string(j, summary);
    route_json_number(j, "to", &t->to);
    route_json_number(j, "from", &t->from);
    json_text_key(j, "caller_state");
    json_text_string(j, t->caller_state);
    route_json_state_source(j, t);
    json_text_key(j, "category");
    route_json_str_or_null(j, t->category);
    json_text_key(j, "category_source");
    json_text_string(j, router_category_source_name(t->category_from));
    bool known = t->campaign >= 0 && t->campaign < cfg->n_campaigns;
    json_text_key(j, "campaign");
    json_text_string(j, known ? cfg->campaigns[t->campaign].id : NULL);
    json_text_key(j, "tracking_number");
    json_text_string(
        j, t->number >= 0 && t->number < cfg->n_numbers ? cfg->numbers[t->number].number : NULL);

    json_text_key(j, "rules");
    json_text_open_array(j);
    for (int i = 0; i < t->n_rules; i++)
        route_json_rule(j, cfg, t, &t->rules[i]);
    json_text_close_array(j);

    bool decided = t->decided_rule >= 0 && t->decided_rule < cfg->n_rules;
    json_text_key(j, "decided_rule");
    json_text_string(j, decided ? cfg->rules[t->decided_rule].id : NULL);
    json_text_key(j, "mode");
    json_text_string(j, decided ? config_mode_name(t->mode) : NULL);
    json_text_key(j, "pick");
    json_text_string(j, route_json_agent_id(cfg, t->pick));

    json_text_key(j, "candidates");
    json_text_open_array(j);
    for (int i = 0; i < r->n_candidates; i++)
        json_text_string(j, route_json_agent_id(cfg, r->candidates[i].agent));
    json_text_close_array(j);

    json_text_key(j, "claims");
    json_text_open_array(j);
    for (int i = 0; i < t->n_claims; i++) {
        json_text_open_object(j);
        json_text_key(j, "agent");
        json_text_string(j, route_json_agent_id(cfg, t->claims[i].agent));
        json_text_key(j, "won");
        json_text_bool(j, t->claims[i].won);
        json_text_close_object(j);
    }
    json_text_close_array(j);
    json_text_key(j, "agent");
    json_text_string(j, route_json_agent_id(cfg, route_json_final_agent(r)));
    if (key && extra) {
        json_text_key(j, key);
        json_text_value(j, extra);
    }
    json_text_close_object(j);
}

json_t *route_json_trace(const config *cfg, const route_result *r)
{
    char *text = route_json_trace_text(cfg, r);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o;
}

char *route_json_trace_text(const config *cfg, const route_result *r)
{
    return route_json_trace_text_with(cfg, r, NULL, NULL);
}

char *route_json_trace_text_with(const config *cfg, const route_result *r, const char *key,
                                 json_t *extra)
{
    json_text j;
    json_text_init(&j);
    route_json_write(&j, cfg, r, key, extra);
    json_decref(extra);
    return json_text_take(&j);
}
