/* store_common.c -- the pieces of the store that do not depend on the database library,
 * shared by the SQLite and the PostgreSQL backends (store_common.h). */
#include "store_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

int64_t store_common_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_common_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

char *store_common_strdup(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    char *copy = malloc(n + 1);
    if (copy) {
        if (n)
            memcpy(copy, text, n);
        copy[n] = '\0';
    }
    return copy;
}

/* ---- configuration: text forms of the masks ------------------------------------------- */

void store_common_states_text(uint64_t mask, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < STATES_COUNT && n + 4 <= cap; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        if (n)
            buf[n++] = ',';
        memcpy(buf + n, states_code(i), 2);
        n += 2;
        buf[n] = '\0';
    }
}

void store_common_categories_text(const config *cfg, uint64_t mask, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < cfg->n_categories && i < CONFIG_MAX_CATEGORIES; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        size_t len = strlen(cfg->categories[i]);
        if (n + len + 2 > cap)
            break;
        if (n)
            buf[n++] = ',';
        memcpy(buf + n, cfg->categories[i], len);
        n += len;
        buf[n] = '\0';
    }
}

int store_common_parse_list(config *cfg, const char *text, bool states, uint64_t *mask, char *err,
                            size_t errlen)
{
    *mask = 0;
    while (text && *text) {
        char item[CONFIG_CATEGORY_MAX];
        const char *end = strchr(text, ',');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        if (len == 0 || len >= sizeof item)
            goto out_bad;
        memcpy(item, text, len);
        item[len] = '\0';
        uint64_t bit = states ? states_bit(item) : config_category_bit(cfg, item);
        if (!bit)
            goto out_bad;
        *mask |= bit;
        text = end ? end + 1 : NULL;
    }
    return ERR_OK;

out_bad:
    snprintf(err, errlen, "bad %s list in the database: \"%s\"", states ? "state" : "category",
             text);
    return ERR_STORE;
}

int store_common_parse_status(const char *s)
{
    switch (s ? s[0] : 0) {
    case 'a':
        return AGENT_ACTIVE;
    case 'p':
        return AGENT_PAUSED;
    default:
        return AGENT_DEACTIVATED;
    }
}

bool store_common_status_is_final(call_status s)
{
    return s == CALL_COMPLETED || s == CALL_CALLBACK || s == CALL_ABANDONED || s == CALL_FAILED;
}

/* ---- configuration: replace and load --------------------------------------------------- */

int store_common_check_indexes(const config *cfg, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->n_numbers; i++)
        if (cfg->numbers[i].campaign < 0 || cfg->numbers[i].campaign >= cfg->n_campaigns)
            goto out_bad;
    for (int i = 0; i < cfg->n_rules; i++) {
        const config_rule *r = &cfg->rules[i];
        if (r->campaign < 0 || r->campaign >= cfg->n_campaigns)
            goto out_bad;
        if (r->rr_last_agent >= cfg->n_agents)
            goto out_bad;
        for (int m = 0; m < r->n_members; m++)
            if (r->members[m].agent < 0 || r->members[m].agent >= cfg->n_agents)
                goto out_bad;
    }
    return ERR_OK;

out_bad:
    snprintf(err, errlen, "the configuration refers to an index out of range");
    return ERR_INVALID;
}

int store_common_ids_push(char (**ids)[CONFIG_ID_MAX], int *cap, int n, const char *id)
{
    if (n == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        char(*grown)[CONFIG_ID_MAX] = realloc(*ids, (size_t)ncap * sizeof *grown);
        if (!grown)
            return ERR_NOMEM;
        *ids = grown;
        *cap = ncap;
    }
    store_common_copy((*ids)[n], CONFIG_ID_MAX, id);
    return ERR_OK;
}

bool store_common_cache_fresh(const store_cache *c, long long version)
{
    return c->cfg && c->version == version;
}

int store_common_cache_install(store_cache *c, config *cfg, char (*ids)[CONFIG_ID_MAX],
                               long long version)
{
    config_finish(cfg);
    int *index = malloc((size_t)(cfg->n_rules ? cfg->n_rules : 1) * sizeof *index);
    if (!index)
        return ERR_NOMEM;
    for (int i = 0; i < cfg->n_rules; i++)
        index[i] = config_find_rule(cfg, ids[i]);
    store_common_cache_free(c);
    c->cfg = cfg;
    c->version = version;
    c->rule_index = index;
    c->n_rule_index = cfg->n_rules;
    return ERR_OK;
}

void store_common_cache_set_cursor(const store_cache *c, config *cfg, int seq, const char *agent)
{
    if (seq < 0 || seq >= c->n_rule_index || c->rule_index[seq] < 0)
        return;
    cfg->rules[c->rule_index[seq]].rr_last_agent = agent ? config_find_agent(cfg, agent) : -1;
}

void store_common_cache_free(store_cache *c)
{
    config_free(c->cfg);
    free(c->rule_index);
    memset(c, 0, sizeof *c);
}

/* ---- calls and callbacks ----------------------------------------------------------------- */

int store_common_new_call_id(int64_t created_ms, char *out, char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    uint64_t t = created_ms > 0 ? (uint64_t)created_ms : 0;
    for (int i = 0; i < 6; i++)
        raw[i] = (unsigned char)(t >> (8 * (5 - i)));
    if (RAND_bytes(raw + 6, (int)sizeof raw - 6) != 1) {
        snprintf(err, errlen, "no random bytes for a call id");
        return ERR_STORE;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof raw] = '\0';
    return ERR_OK;
}

void store_common_abandoned_callback(const store_call *row, int64_t now_ms, store_callback *cb)
{
    memset(cb, 0, sizeof *cb);
    store_common_copy(cb->call_id, sizeof cb->call_id, row->id);
    store_common_copy(cb->campaign, sizeof cb->campaign, row->campaign);
    store_common_copy(cb->tracking_number, sizeof cb->tracking_number, row->tracking_number);
    store_common_copy(cb->caller, sizeof cb->caller, row->caller);
    store_common_copy(cb->caller_state, sizeof cb->caller_state, row->caller_state);
    store_common_copy(cb->category, sizeof cb->category, row->category);
    store_common_copy(cb->reason, sizeof cb->reason, "abandoned");
    cb->created_ms = now_ms;
}
