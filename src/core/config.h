/* config.h -- the routing configuration snapshot: campaigns, tracking numbers, rules,
 * agents and their live state (SPEC 2). Pure data with builders; no I/O. */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_ID_MAX 64         /* user slug ids: [A-Za-z0-9_.-], 1..63 chars */
#define CONFIG_NAME_MAX 128      /* display names, 1..127 bytes of UTF-8 */
#define CONFIG_CATEGORY_MAX 32   /* category slugs: [a-z0-9_], 1..31 chars */
#define CONFIG_MAX_CATEGORIES 64 /* distinct categories per configuration (bit masks) */
#define CONFIG_E164_MAX 17       /* "+" and up to 15 digits, NUL */
#define CONFIG_TEXT_MAX 512      /* friendly message, URLs, softphone address */

/* Agent status (SPEC 2). */
typedef enum { AGENT_ACTIVE = 0, AGENT_PAUSED, AGENT_DEACTIVATED } agent_status;

/* Distribution mode of a rule (SPEC 3.5). */
typedef enum { MODE_PRIORITY = 0, MODE_ROUND_ROBIN, MODE_WEIGHTED } dist_mode;

/* Kind of softphone endpoint an agent is reached on. */
typedef enum { SOFTPHONE_CLIENT = 0, SOFTPHONE_SIP, SOFTPHONE_NUMBER } softphone_type;

/* An agent with its static settings and its live state. All times are Unix milliseconds. */
typedef struct {
    char id[CONFIG_ID_MAX];
    char name[CONFIG_NAME_MAX];
    agent_status status;
    int max_concurrent;  /* >= 1 */
    int active_calls;    /* live: calls currently holding a claim on this agent */
    uint64_t states;     /* licensed states as a states_mask(); 0 = all states */
    uint64_t categories; /* bit i = config.categories[i]; 0 = all categories */
    softphone_type softphone;
    char softphone_address[CONFIG_TEXT_MAX];
    int64_t registered_until_ms; /* live: softphone registration expiry; 0 = never registered */
    int64_t last_assigned_ms;    /* live: time of the last claim; 0 = never */
} config_agent;

/* A member of a rule: an agent (index into config.agents) with priority and weight. */
typedef struct {
    int agent;
    int priority; /* 1 = first */
    int weight;   /* >= 1 */
} config_member;

/* A routing rule of one campaign (SPEC 2, 3.3). */
typedef struct {
    char id[CONFIG_ID_MAX]; /* unique within the configuration */
    char name[CONFIG_NAME_MAX];
    int campaign; /* index into config.campaigns */
    int position; /* evaluation order within the campaign, ascending */
    bool enabled;
    uint64_t states;     /* states_mask(); 0 = any state */
    uint64_t categories; /* category bits; 0 = any category */
    dist_mode mode;
    config_member *members; /* owned; in the rule's order */
    int n_members;
    int rr_last_agent; /* live: agent index that took this rule's previous call, -1 none */
} config_rule;

/* A campaign (SPEC 2). */
typedef struct {
    char id[CONFIG_ID_MAX];
    char name[CONFIG_NAME_MAX];
    char default_category[CONFIG_CATEGORY_MAX]; /* "" = none */
    int ring_timeout_s;                         /* default 20 */
    bool queue_enabled;
    int queue_max_size;                   /* default 50 */
    int queue_max_wait_s;                 /* default 300 */
    char hold_music_url[CONFIG_TEXT_MAX]; /* "" = provider default */
    char friendly_message[CONFIG_TEXT_MAX];
    char discord_webhook_url[CONFIG_TEXT_MAX]; /* "" = use the global webhook */
} config_campaign;

/* A tracking number: E.164, one campaign, optionally a category of its own. */
typedef struct {
    char number[CONFIG_E164_MAX];
    int campaign;                       /* index into config.campaigns */
    char category[CONFIG_CATEGORY_MAX]; /* "" = the campaign's default */
} config_number;

/* The whole snapshot. Arrays are owned by the config and grow through the builders. */
typedef struct config {
    config_campaign *campaigns;
    int n_campaigns;
    config_number *numbers; /* kept sorted by number once config_finish() ran */
    int n_numbers;
    config_rule *rules; /* kept sorted by (campaign, position) once config_finish() ran */
    int n_rules;
    config_agent *agents;
    int n_agents;
    char categories[CONFIG_MAX_CATEGORIES][CONFIG_CATEGORY_MAX]; /* interned slugs */
    int n_categories;
    int caps_campaigns, caps_numbers, caps_rules, caps_agents; /* allocated sizes */
    int *agents_by_id;  /* agent indexes sorted by id, built by config_finish() */
    int n_agents_by_id; /* n_agents when agents_by_id was built */
} config;

/* Allocates an empty configuration. Returns NULL when out of memory; free with config_free(). */
config *config_new(void);

/* Frees a configuration and everything it owns. NULL is a no-op. */
void config_free(config *cfg);

/* Deep copy. Returns NULL when out of memory; the caller frees with config_free(). */
config *config_clone(const config *cfg);

/* Each builder copies *value in and returns its new index, or -1 when out of memory.
 * config_add_rule copies the members array too. Validation (unique ids, ranges) is the
 * caller's job: see config_validate(). */
int config_add_campaign(config *cfg, const config_campaign *value);
int config_add_number(config *cfg, const config_number *value);
int config_add_rule(config *cfg, const config_rule *value);
int config_add_agent(config *cfg, const config_agent *value);

/* Returns the bit of a category slug, interning it when new; 0 when the slug is invalid
 * or the table of CONFIG_MAX_CATEGORIES is full. */
uint64_t config_category_bit(config *cfg, const char *slug);

/* Returns the bit of a known category slug without interning; 0 when unknown. */
uint64_t config_category_lookup(const config *cfg, const char *slug);

/* Sorts numbers and rules into lookup order (rules keep member agent indexes valid). Call
 * once after building; the lookups below need it. */
void config_finish(config *cfg);

/* Lookups. Return the index, or -1 when absent. */
int config_find_agent(const config *cfg, const char *id);
int config_find_campaign(const config *cfg, const char *id);
int config_find_rule(const config *cfg, const char *id);
int config_find_number(const config *cfg, const char *e164); /* binary search */

/* Slug checks used by every input path. */
bool config_valid_id(const char *s);       /* [A-Za-z0-9_.-]{1,63} */
bool config_valid_category(const char *s); /* [a-z0-9_]{1,31} */

/* Names of enum values as used in JSON and the CLI ("active", "round_robin", "client"...),
 * and their parsers, which return -1 for an unknown name. */
const char *config_status_name(agent_status s);
int config_status_parse(const char *s);
const char *config_mode_name(dist_mode m);
int config_mode_parse(const char *s);
const char *config_softphone_name(softphone_type t);
int config_softphone_parse(const char *s);

#endif
