/* router_fixture.h -- builds routing configurations for tests from a terse line format. */
#ifndef SC_ROUTER_FIXTURE_H
#define SC_ROUTER_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/router.h"
#include "core/states.h"

/* 2026-03-02T12:00:00Z: the time every fixture routes at. */
#define FX_NOW 1772452800000LL

/* Lines, one per object, fields separated by spaces:
 *   campaign ID [default=CAT] [queue=MAX_SIZE] [wait=MAX_WAIT_S]   (queue= enables it)
 *   number E164 CAMPAIGN [cat=CAT]
 *   agent ID [status=active|paused|deactivated] [max=N] [active=N] [states=TX,FL]
 *         [cats=medicare,aca] [reg=SECONDS|never] [last=MS]
 *   rule ID CAMPAIGN [pos=N] [mode=priority|round_robin|weighted] [off] [states=TX,FL]
 *        [cats=a,b] [rr=AGENT] members=AGENT[:PRIORITY[:WEIGHT]],...
 * Agents default to active, max 1, 0 active calls, registered for an hour after FX_NOW.
 * reg=S sets the expiry S seconds after FX_NOW (0 = exactly now, negative = expired). */

static inline uint64_t fx_states(const char *list)
{
    uint64_t mask = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t bit = states_bit(tok);
        cr_assert(bit != 0, "fixture: unknown state %s", tok);
        mask |= bit;
    }
    return mask;
}

static inline uint64_t fx_categories(config *cfg, const char *list)
{
    uint64_t mask = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t bit = config_category_bit(cfg, tok);
        cr_assert(bit != 0, "fixture: bad category %s", tok);
        mask |= bit;
    }
    return mask;
}

/* Returns the value of "key=value" in tok, or NULL when tok has another key. */
static inline const char *fx_opt(const char *tok, const char *key)
{
    size_t n = strlen(key);
    return strncmp(tok, key, n) == 0 && tok[n] == '=' ? tok + n + 1 : NULL;
}

static inline void fx_line(config *cfg, char *line)
{
    char *save = NULL;
    const char *kind = strtok_r(line, " ", &save);
    if (!kind)
        return;
    const char *id = strtok_r(NULL, " ", &save);
    cr_assert(id, "fixture: %s without id", kind);
    if (strcmp(kind, "campaign") == 0) {
        config_campaign c;
        memset(&c, 0, sizeof(c));
        snprintf(c.id, sizeof(c.id), "%s", id);
        snprintf(c.name, sizeof(c.name), "%s", id);
        c.ring_timeout_s = 20;
        c.queue_max_size = 50;
        c.queue_max_wait_s = 300;
        for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            const char *v;
            if ((v = fx_opt(t, "default"))) {
                snprintf(c.default_category, sizeof(c.default_category), "%s", v);
                config_category_bit(cfg, v);
            } else if ((v = fx_opt(t, "queue"))) {
                c.queue_enabled = true;
                c.queue_max_size = atoi(v);
            } else if ((v = fx_opt(t, "wait"))) {
                c.queue_max_wait_s = atoi(v);
            } else {
                cr_assert_fail("fixture: campaign option %s", t);
            }
        }
        cr_assert_geq(config_add_campaign(cfg, &c), 0);
    } else if (strcmp(kind, "number") == 0) {
        config_number n;
        memset(&n, 0, sizeof(n));
        snprintf(n.number, sizeof(n.number), "%s", id);
        const char *camp = strtok_r(NULL, " ", &save);
        cr_assert(camp);
        n.campaign = config_find_campaign(cfg, camp);
        cr_assert_geq(n.campaign, 0, "fixture: unknown campaign %s", camp);
        for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            const char *v;
            if ((v = fx_opt(t, "cat"))) {
                snprintf(n.category, sizeof(n.category), "%s", v);
                config_category_bit(cfg, v);
            } else {
                cr_assert_fail("fixture: number option %s", t);
            }
        }
        cr_assert_geq(config_add_number(cfg, &n), 0);
    } else if (strcmp(kind, "agent") == 0) {
        config_agent a;
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "%s", id);
        snprintf(a.name, sizeof(a.name), "%s", id);
        snprintf(a.softphone_address, sizeof(a.softphone_address), "%s", id);
        a.status = AGENT_ACTIVE;
        a.max_concurrent = 1;
        a.registered_until_ms = FX_NOW + 3600 * 1000LL;
        for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            const char *v;
            if ((v = fx_opt(t, "status")))
                a.status = (agent_status)config_status_parse(v);
            else if ((v = fx_opt(t, "max")))
                a.max_concurrent = atoi(v);
            else if ((v = fx_opt(t, "active")))
                a.active_calls = atoi(v);
            else if ((v = fx_opt(t, "states")))
                a.states = fx_states(v);
            else if ((v = fx_opt(t, "cats")))
                a.categories = fx_categories(cfg, v);
            else if ((v = fx_opt(t, "reg")))
                a.registered_until_ms = strcmp(v, "never") == 0 ? 0 : FX_NOW + atoll(v) * 1000LL;
            else if ((v = fx_opt(t, "last")))
                a.last_assigned_ms = atoll(v);
            else
                cr_assert_fail("fixture: agent option %s", t);
        }
        cr_assert_geq((int)a.status, 0);
        cr_assert_geq(config_add_agent(cfg, &a), 0);
    } else if (strcmp(kind, "rule") == 0) {
        config_rule r;
        config_member members[64];
        memset(&r, 0, sizeof(r));
        snprintf(r.id, sizeof(r.id), "%s", id);
        snprintf(r.name, sizeof(r.name), "%s", id);
        const char *camp = strtok_r(NULL, " ", &save);
        cr_assert(camp);
        r.campaign = config_find_campaign(cfg, camp);
        cr_assert_geq(r.campaign, 0, "fixture: unknown campaign %s", camp);
        r.enabled = true;
        r.rr_last_agent = -1;
        r.members = members;
        for (char *t = strtok_r(NULL, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            const char *v;
            if ((v = fx_opt(t, "pos"))) {
                r.position = atoi(v);
            } else if ((v = fx_opt(t, "mode"))) {
                r.mode = (dist_mode)config_mode_parse(v);
                cr_assert_geq((int)r.mode, 0);
            } else if (strcmp(t, "off") == 0) {
                r.enabled = false;
            } else if ((v = fx_opt(t, "states"))) {
                r.states = fx_states(v);
            } else if ((v = fx_opt(t, "cats"))) {
                r.categories = fx_categories(cfg, v);
            } else if ((v = fx_opt(t, "rr"))) {
                r.rr_last_agent = config_find_agent(cfg, v);
            } else if ((v = fx_opt(t, "members"))) {
                char buf[1024];
                snprintf(buf, sizeof(buf), "%s", v);
                char *msave = NULL;
                for (char *m = strtok_r(buf, ",", &msave); m; m = strtok_r(NULL, ",", &msave)) {
                    cr_assert_lt(r.n_members, 64);
                    config_member *cm = &members[r.n_members++];
                    char *prio = strchr(m, ':');
                    char *weight = NULL;
                    if (prio) {
                        *prio++ = '\0';
                        weight = strchr(prio, ':');
                        if (weight)
                            *weight++ = '\0';
                    }
                    cm->agent = config_find_agent(cfg, m);
                    cr_assert_geq(cm->agent, 0, "fixture: unknown agent %s", m);
                    cm->priority = prio ? atoi(prio) : 1;
                    cm->weight = weight ? atoi(weight) : 1;
                }
            } else {
                cr_assert_fail("fixture: rule option %s", t);
            }
        }
        cr_assert_geq(config_add_rule(cfg, &r), 0);
    } else {
        cr_assert_fail("fixture: unknown line kind %s", kind);
    }
}

/* Builds and finishes a configuration from newline-separated lines (NULL texts skipped). */
static inline config *fx_config(const char *text, const char *more)
{
    config *cfg = config_new();
    cr_assert(cfg);
    const char *texts[2] = {text, more};
    for (int i = 0; i < 2; i++) {
        if (!texts[i])
            continue;
        size_t n = strlen(texts[i]);
        char *copy = malloc(n + 1);
        cr_assert(copy);
        memcpy(copy, texts[i], n + 1);
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            fx_line(cfg, line);
        free(copy);
    }
    config_finish(cfg);
    return cfg;
}

/* Agent index by id; fails the test when absent. */
static inline int fx_agent(const config *cfg, const char *id)
{
    int i = config_find_agent(cfg, id);
    cr_assert_geq(i, 0, "no agent %s", id);
    return i;
}

/* Rule index by id (after config_finish sorted them); fails the test when absent. */
static inline int fx_rule(const config *cfg, const char *id)
{
    int i = config_find_rule(cfg, id);
    cr_assert_geq(i, 0, "no rule %s", id);
    return i;
}

/* The id of the first candidate, or "-" when there is none. */
static inline const char *fx_pick(const config *cfg, const route_result *r)
{
    return r->n_candidates > 0 ? cfg->agents[r->candidates[0].agent].id : "-";
}

/* Writes the candidates' ids joined by commas ("" when none). */
static inline void fx_candidates(const config *cfg, const route_result *r, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->n_candidates && len + 1 < cap; i++) {
        int n = snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                         cfg->agents[r->candidates[i].agent].id);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/* Routes one call at FX_NOW with a fixed seed. */
static inline void fx_route(const config *cfg, const char *to, const char *from,
                            const char *category, route_result *out)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 1);
    router_call call = {to, from, category, NULL, 0};
    cr_assert_eq(router_route(cfg, &call, FX_NOW, &rng, out), 0);
}

#endif
