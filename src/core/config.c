/* config.c -- builders, lookups and enum names for the routing configuration snapshot. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

config *config_new(void)
{
    return calloc(1, sizeof(config));
}

void config_free(config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->n_rules; i++)
        free(cfg->rules[i].members);
    free(cfg->campaigns);
    free(cfg->numbers);
    free(cfg->rules);
    free(cfg->agents);
    free(cfg->agents_by_id);
    free(cfg);
}

/* Makes room for one more element of `size` bytes in *arr; returns 0 or -1. */
static int config_grow(void **arr, int n, int *cap, size_t size)
{
    if (n < *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, (size_t)ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Copies `n` elements of `size` bytes into a new exact-size array; NULL only when out of
 * memory with n > 0. */
static void *config_dup_array(const void *src, int n, size_t size)
{
    if (n <= 0)
        return NULL;
    void *p = malloc((size_t)n * size);
    if (p)
        memcpy(p, src, (size_t)n * size);
    return p;
}

config *config_clone(const config *cfg)
{
    config *c = config_new();
    if (!c)
        return NULL;
    memcpy(c->categories, cfg->categories, sizeof(c->categories));
    c->n_categories = cfg->n_categories;
    c->campaigns = config_dup_array(cfg->campaigns, cfg->n_campaigns, sizeof(config_campaign));
    c->numbers = config_dup_array(cfg->numbers, cfg->n_numbers, sizeof(config_number));
    c->agents = config_dup_array(cfg->agents, cfg->n_agents, sizeof(config_agent));
    c->rules = config_dup_array(cfg->rules, cfg->n_rules, sizeof(config_rule));
    c->agents_by_id = config_dup_array(cfg->agents_by_id, cfg->n_agents_by_id, sizeof(int));
    if ((cfg->n_campaigns && !c->campaigns) || (cfg->n_numbers && !c->numbers) ||
        (cfg->n_agents && !c->agents) || (cfg->n_rules && !c->rules) ||
        (cfg->n_agents_by_id && !c->agents_by_id))
        goto out_free;
    c->n_campaigns = c->caps_campaigns = cfg->n_campaigns;
    c->n_numbers = c->caps_numbers = cfg->n_numbers;
    c->n_agents = c->caps_agents = cfg->n_agents;
    c->n_agents_by_id = cfg->n_agents_by_id;
    c->caps_rules = cfg->n_rules;
    /* Rules own their members: copy each, counting only those copied so free stays exact. */
    for (int i = 0; i < cfg->n_rules; i++) {
        c->rules[i].members =
            config_dup_array(cfg->rules[i].members, cfg->rules[i].n_members, sizeof(config_member));
        c->n_rules = i + 1;
        if (cfg->rules[i].n_members && !c->rules[i].members)
            goto out_free;
    }
    return c;
out_free:
    config_free(c);
    return NULL;
}

int config_add_campaign(config *cfg, const config_campaign *value)
{
    if (config_grow((void **)&cfg->campaigns, cfg->n_campaigns, &cfg->caps_campaigns,
                    sizeof(*value)))
        return -1;
    cfg->campaigns[cfg->n_campaigns] = *value;
    return cfg->n_campaigns++;
}

int config_add_number(config *cfg, const config_number *value)
{
    if (config_grow((void **)&cfg->numbers, cfg->n_numbers, &cfg->caps_numbers, sizeof(*value)))
        return -1;
    cfg->numbers[cfg->n_numbers] = *value;
    return cfg->n_numbers++;
}

int config_add_rule(config *cfg, const config_rule *value)
{
    config_member *members = NULL;
    if (value->n_members > 0) {
        members = config_dup_array(value->members, value->n_members, sizeof(config_member));
        if (!members)
            return -1;
    }
    if (config_grow((void **)&cfg->rules, cfg->n_rules, &cfg->caps_rules, sizeof(*value))) {
        free(members);
        return -1;
    }
    cfg->rules[cfg->n_rules] = *value;
    cfg->rules[cfg->n_rules].members = members;
    cfg->rules[cfg->n_rules].n_members = members ? value->n_members : 0;
    return cfg->n_rules++;
}

int config_add_agent(config *cfg, const config_agent *value)
{
    if (config_grow((void **)&cfg->agents, cfg->n_agents, &cfg->caps_agents, sizeof(*value)))
        return -1;
    cfg->agents[cfg->n_agents] = *value;
    return cfg->n_agents++;
}

uint64_t config_category_lookup(const config *cfg, const char *slug)
{
    if (!slug)
        return 0;
    for (int i = 0; i < cfg->n_categories; i++)
        if (strcmp(cfg->categories[i], slug) == 0)
            return (uint64_t)1 << i;
    return 0;
}

uint64_t config_category_bit(config *cfg, const char *slug)
{
    if (!config_valid_category(slug))
        return 0;
    uint64_t bit = config_category_lookup(cfg, slug);
    if (bit || cfg->n_categories >= CONFIG_MAX_CATEGORIES)
        return bit;
    size_t len = strlen(slug);
    memcpy(cfg->categories[cfg->n_categories], slug, len + 1);
    return (uint64_t)1 << cfg->n_categories++;
}

static int config_cmp_number(const void *a, const void *b)
{
    return strcmp(((const config_number *)a)->number, ((const config_number *)b)->number);
}

static int config_cmp_rule(const void *a, const void *b)
{
    const config_rule *x = a, *y = b;
    if (x->campaign != y->campaign)
        return x->campaign < y->campaign ? -1 : 1;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* qsort has no context argument in C11, so agent ids are compared through this pairing. */
typedef struct {
    const char *id;
    int index;
} config_id_ref;

static int config_cmp_id_ref(const void *a, const void *b)
{
    return strcmp(((const config_id_ref *)a)->id, ((const config_id_ref *)b)->id);
}

void config_finish(config *cfg)
{
    if (cfg->n_numbers > 1)
        qsort(cfg->numbers, (size_t)cfg->n_numbers, sizeof(config_number), config_cmp_number);
    if (cfg->n_rules > 1)
        qsort(cfg->rules, (size_t)cfg->n_rules, sizeof(config_rule), config_cmp_rule);
    free(cfg->agents_by_id);
    cfg->agents_by_id = NULL;
    cfg->n_agents_by_id = 0;
    if (cfg->n_agents == 0)
        return;
    config_id_ref *refs = malloc((size_t)cfg->n_agents * sizeof(*refs));
    int *order = malloc((size_t)cfg->n_agents * sizeof(int));
    if (!refs || !order) {
        /* Lookups fall back to a linear scan: slower, still correct. */
        free(refs);
        free(order);
        return;
    }
    for (int i = 0; i < cfg->n_agents; i++) {
        refs[i].id = cfg->agents[i].id;
        refs[i].index = i;
    }
    qsort(refs, (size_t)cfg->n_agents, sizeof(*refs), config_cmp_id_ref);
    for (int i = 0; i < cfg->n_agents; i++)
        order[i] = refs[i].index;
    free(refs);
    cfg->agents_by_id = order;
    cfg->n_agents_by_id = cfg->n_agents;
}

int config_find_agent(const config *cfg, const char *id)
{
    if (!id)
        return -1;
    if (cfg->agents_by_id && cfg->n_agents_by_id == cfg->n_agents) {
        int lo = 0, hi = cfg->n_agents - 1;
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2;
            int idx = cfg->agents_by_id[mid];
            int c = strcmp(id, cfg->agents[idx].id);
            if (c == 0)
                return idx;
            if (c < 0)
                hi = mid - 1;
            else
                lo = mid + 1;
        }
        return -1;
    }
    for (int i = 0; i < cfg->n_agents; i++)
        if (strcmp(cfg->agents[i].id, id) == 0)
            return i;
    return -1;
}

int config_find_campaign(const config *cfg, const char *id)
{
    for (int i = 0; id && i < cfg->n_campaigns; i++)
        if (strcmp(cfg->campaigns[i].id, id) == 0)
            return i;
    return -1;
}

int config_find_rule(const config *cfg, const char *id)
{
    for (int i = 0; id && i < cfg->n_rules; i++)
        if (strcmp(cfg->rules[i].id, id) == 0)
            return i;
    return -1;
}

int config_find_number(const config *cfg, const char *e164)
{
    if (!e164)
        return -1;
    int lo = 0, hi = cfg->n_numbers - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(e164, cfg->numbers[mid].number);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

/* True when s has 1..max-1 characters, each accepted by `ok`. */
static bool config_valid_slug(const char *s, size_t max, bool (*ok)(char))
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (n + 1 >= max || !ok(s[n]))
            return false;
    return true;
}

static bool config_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static bool config_category_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool config_valid_id(const char *s)
{
    return config_valid_slug(s, CONFIG_ID_MAX, config_id_char);
}

bool config_valid_category(const char *s)
{
    return config_valid_slug(s, CONFIG_CATEGORY_MAX, config_category_char);
}

static const char *const config_status_names[] = {"active", "paused", "deactivated"};
static const char *const config_mode_names[] = {"priority", "round_robin", "weighted"};
static const char *const config_softphone_names[] = {"client", "sip", "number"};

/* Index of s in names[0..n), or -1. */
static int config_parse_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *config_status_name(agent_status s)
{
    return (unsigned)s < 3 ? config_status_names[s] : "unknown";
}

int config_status_parse(const char *s)
{
    return config_parse_name(config_status_names, 3, s);
}

const char *config_mode_name(dist_mode m)
{
    return (unsigned)m < 3 ? config_mode_names[m] : "unknown";
}

int config_mode_parse(const char *s)
{
    return config_parse_name(config_mode_names, 3, s);
}

const char *config_softphone_name(softphone_type t)
{
    return (unsigned)t < 3 ? config_softphone_names[t] : "unknown";
}

int config_softphone_parse(const char *s)
{
    return config_parse_name(config_softphone_names, 3, s);
}
