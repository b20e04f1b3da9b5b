/* route_json.c -- renders a routing decision and its trace as the JSON of docs/TRACE.md. */
#include "route_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_JSON_SUMMARY_MAX 512

/* Accumulates the outcome of building: any failed allocation marks the whole object bad. */
typedef struct {
    bool failed;
} route_json_ctx;

/* A JSON string, or null for NULL. Bytes that are not valid UTF-8 (a caller-supplied
 * category, say) are shown as '?' instead of failing. */
static json_t *route_json_str(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (v)
        return v;
    size_t n = strnlen(s, 256);
    char buf[257];
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    buf[n] = '\0';
    return json_string(buf);
}

/* Enum names, literals and numbers formatted here are ASCII by construction, so they are
 * made with json_string_nocheck (no UTF-8 validation); text from outside goes through
 * route_json_str. */

/* A string, or null when NULL or empty. */
static json_t *route_json_str_or_null(const char *s)
{
    return s && s[0] ? route_json_str(s) : json_null();
}

static void route_json_set(route_json_ctx *cx, json_t *obj, const char *key, json_t *value)
{
    if (!obj) {
        json_decref(value);
        cx->failed = true;
    } else if (json_object_set_new_nocheck(obj, key, value) != 0) {
        /* Keys are this file's own ASCII literals: jansson need not validate them. */
        cx->failed = true; /* jansson released value */
    }
}

static void route_json_push(route_json_ctx *cx, json_t *arr, json_t *value)
{
    if (!arr) {
        json_decref(value);
        cx->failed = true;
    } else if (json_array_append_new(arr, value) != 0) {
        cx->failed = true; /* jansson released value */
    }
}

static const char *route_json_agent_id(const config *cfg, int agent)
{
    return agent >= 0 && agent < cfg->n_agents ? cfg->agents[agent].id : NULL;
}

static json_t *route_json_number(route_json_ctx *cx, const phone_number *p)
{
    json_t *o = json_object();
    bool has = p->status == PHONE_OK || p->status == PHONE_NOT_NANP;
    route_json_set(cx, o, "e164", has ? route_json_str(p->e164) : json_null());
    route_json_set(cx, o, "status", json_string_nocheck(phone_status_name(p->status)));
    return o;
}

/* How the caller's state was found: the area code lookup, or why there was none. */
static json_t *route_json_state_source(route_json_ctx *cx, const route_trace *t)
{
    json_t *o = json_object();
    if (t->from.status == PHONE_OK) {
        route_json_set(cx, o, "method", json_string_nocheck("area_code"));
        route_json_set(cx, o, "npa", route_json_str(t->from.npa));
        route_json_set(cx, o, "reason", json_string_nocheck(areacode_reason_name(t->area.reason)));
        route_json_set(cx, o, "time_zone", route_json_str_or_null(t->area.time_zone));
        route_json_set(cx, o, "location", route_json_str_or_null(t->area.location));
    } else {
        char reason[48];
        snprintf(reason, sizeof(reason), "caller_id_%s", phone_status_name(t->from.status));
        route_json_set(cx, o, "method", json_string_nocheck("caller_id"));
        route_json_set(cx, o, "npa", json_null());
        route_json_set(cx, o, "reason", json_string_nocheck(reason));
        route_json_set(cx, o, "time_zone", json_null());
        route_json_set(cx, o, "location", json_null());
    }
    return o;
}

/* The detail of a verdict that has one: "2/2", the caller's state, the call's category. */
static json_t *route_json_member_detail(const route_trace *t, const trace_member *m)
{
    char buf[32];
    switch (m->verdict) {
    case MEMBER_AT_CAPACITY:
        snprintf(buf, sizeof(buf), "%d/%d", m->active_calls, m->max_concurrent);
        return json_string_nocheck(buf);
    case MEMBER_STATE_NOT_ALLOWED:
        return json_string_nocheck(t->caller_state ? t->caller_state : "unknown");
    case MEMBER_CATEGORY_NOT_ALLOWED:
        return route_json_str(t->category[0] ? t->category : "none");
    default:
        return NULL;
    }
}

static json_t *route_json_rule(route_json_ctx *cx, const config *cfg, const route_trace *t,
                               const trace_rule *tr)
{
    const config_rule *rule = &cfg->rules[tr->rule];
    json_t *o = json_object();
    route_json_set(cx, o, "rule", route_json_str(rule->id));
    route_json_set(cx, o, "position", json_integer(rule->position));
    route_json_set(cx, o, "mode", json_string_nocheck(config_mode_name(rule->mode)));
    route_json_set(cx, o, "verdict", json_string_nocheck(router_rule_verdict_name(tr->verdict)));
    if (tr->verdict == RULE_STATE_MISMATCH)
        route_json_set(cx, o, "detail",
                       json_string_nocheck(t->caller_state ? t->caller_state : "unknown"));
    else if (tr->verdict == RULE_CATEGORY_MISMATCH)
        route_json_set(cx, o, "detail", route_json_str(t->category[0] ? t->category : "none"));
    json_t *members = json_array();
    for (int k = 0; k < tr->n_members; k++) {
        const trace_member *m = &t->members[tr->first_member + k];
        json_t *mo = json_object();
        route_json_set(cx, mo, "agent", route_json_str(route_json_agent_id(cfg, m->agent)));
        route_json_set(cx, mo, "verdict",
                       json_string_nocheck(router_member_verdict_name(m->verdict)));
        json_t *detail = route_json_member_detail(t, m);
        if (detail)
            route_json_set(cx, mo, "detail", detail);
        route_json_push(cx, members, mo);
    }
    route_json_set(cx, o, "members", members);
    return o;
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

json_t *route_json_trace(const config *cfg, const route_result *r)
{
    const route_trace *t = &r->trace;
    route_json_ctx cx = {false};
    json_t *o = json_object();
    if (!o)
        return NULL;

    char summary[ROUTE_JSON_SUMMARY_MAX];
    route_json_summary(cfg, r, summary, sizeof(summary));
    route_json_set(&cx, o, "action", json_string_nocheck(router_action_name(r->action)));
    route_json_set(&cx, o, "outcome",
                   json_string_nocheck(router_action_name(route_json_outcome(r))));
    route_json_set(&cx, o, "summary", route_json_str(summary));
    route_json_set(&cx, o, "to", route_json_number(&cx, &t->to));
    route_json_set(&cx, o, "from", route_json_number(&cx, &t->from));
    route_json_set(&cx, o, "caller_state", route_json_str(t->caller_state));
    route_json_set(&cx, o, "state_source", route_json_state_source(&cx, t));
    route_json_set(&cx, o, "category", route_json_str_or_null(t->category));
    route_json_set(&cx, o, "category_source",
                   json_string_nocheck(router_category_source_name(t->category_from)));
    bool known = t->campaign >= 0 && t->campaign < cfg->n_campaigns;
    route_json_set(&cx, o, "campaign",
                   known ? route_json_str(cfg->campaigns[t->campaign].id) : json_null());
    route_json_set(&cx, o, "tracking_number",
                   t->number >= 0 && t->number < cfg->n_numbers
                       ? route_json_str(cfg->numbers[t->number].number)
                       : json_null());

    json_t *rules = json_array();
    for (int i = 0; i < t->n_rules; i++)
        route_json_push(&cx, rules, route_json_rule(&cx, cfg, t, &t->rules[i]));
    route_json_set(&cx, o, "rules", rules);

    bool decided = t->decided_rule >= 0 && t->decided_rule < cfg->n_rules;
    route_json_set(&cx, o, "decided_rule",
                   decided ? route_json_str(cfg->rules[t->decided_rule].id) : json_null());
    route_json_set(&cx, o, "mode",
                   decided ? json_string_nocheck(config_mode_name(t->mode)) : json_null());
    route_json_set(&cx, o, "pick", route_json_str(route_json_agent_id(cfg, t->pick)));

    json_t *cands = json_array();
    for (int i = 0; i < r->n_candidates; i++)
        route_json_push(&cx, cands,
                        route_json_str(route_json_agent_id(cfg, r->candidates[i].agent)));
    route_json_set(&cx, o, "candidates", cands);

    json_t *claims = json_array();
    for (int i = 0; i < t->n_claims; i++) {
        json_t *c = json_object();
        route_json_set(&cx, c, "agent",
                       route_json_str(route_json_agent_id(cfg, t->claims[i].agent)));
        route_json_set(&cx, c, "won", json_boolean(t->claims[i].won));
        route_json_push(&cx, claims, c);
    }
    route_json_set(&cx, o, "claims", claims);
    route_json_set(&cx, o, "agent",
                   route_json_str(route_json_agent_id(cfg, route_json_final_agent(r))));

    if (cx.failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *route_json_trace_text(const config *cfg, const route_result *r)
{
    return route_json_trace_text_with(cfg, r, NULL, NULL);
}

char *route_json_trace_text_with(const config *cfg, const route_result *r, const char *key,
                                 json_t *extra)
{
    json_t *o = route_json_trace(cfg, r);
    if (!o) {
        json_decref(extra);
        return NULL;
    }
    if (extra && json_object_set_new(o, key, extra) != 0) { /* it freed extra */
        json_decref(o);
        return NULL;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
