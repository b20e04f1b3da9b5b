/* config_json.c -- strict parser and stable dumper of the configuration's JSON format. */
#include "config_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/errors.h"
#include "../core/phone.h"
#include "../core/states.h"

#define CJ_LIMIT_MAX_CONCURRENT 1000
#define CJ_LIMIT_PRIORITY 1000
#define CJ_LIMIT_WEIGHT 1000
#define CJ_RING_MIN 5
#define CJ_RING_MAX 120
#define CJ_RING_DEFAULT 20
#define CJ_QUEUE_SIZE_MAX 10000
#define CJ_QUEUE_SIZE_DEFAULT 50
#define CJ_QUEUE_WAIT_MIN 10
#define CJ_QUEUE_WAIT_MAX 86400
#define CJ_QUEUE_WAIT_DEFAULT 300
#define CJ_POSITION_MAX 1000000
#define CJ_QUOTE_MAX 48 /* characters of a bad value repeated in a message */

static const char cj_default_friendly[] =
    "Thanks for calling. All of our agents are busy right now; we will call you back shortly.";

/* ---- an index from string keys to config array indexes ---------------------------------- */

/* The keys are not stored: an entry keeps the index, and key_of() reads the key back from
 * the config, so growing the config's arrays never leaves a dangling pointer here. */
typedef const char *(*cj_key_fn)(const config *cfg, int index);

typedef struct {
    uint32_t *hashes;
    int *vals; /* -1 = empty slot */
    size_t cap, n;
    cj_key_fn key_of;
} cj_map;

static uint32_t cj_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void cj_map_free(cj_map *m)
{
    free(m->hashes);
    free(m->vals);
    m->hashes = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

/* Returns the index stored for key, or -1. */
static int cj_map_get(const cj_map *m, const config *cfg, const char *key)
{
    if (m->cap == 0)
        return -1;
    uint32_t h = cj_hash(key);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] < 0)
            return -1;
        if (m->hashes[i] == h && strcmp(m->key_of(cfg, m->vals[i]), key) == 0)
            return m->vals[i];
    }
}

static int cj_map_grow(cj_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint32_t *hashes = malloc(cap * sizeof *hashes);
    int *vals = malloc(cap * sizeof *vals);
    if (!hashes || !vals) {
        free(hashes);
        free(vals);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        vals[i] = -1;
    for (size_t j = 0; j < m->cap; j++) {
        if (m->vals[j] < 0)
            continue;
        size_t i = m->hashes[j] & (cap - 1);
        while (vals[i] >= 0)
            i = (i + 1) & (cap - 1);
        hashes[i] = m->hashes[j];
        vals[i] = m->vals[j];
    }
    free(m->hashes);
    free(m->vals);
    m->hashes = hashes;
    m->vals = vals;
    m->cap = cap;
    return ERR_OK;
}

/* Adds key -> val; the key must not be present. Returns ERR_OK or ERR_NOMEM. */
static int cj_map_put(cj_map *m, const char *key, int val)
{
    if ((m->n + 1) * 2 > m->cap && cj_map_grow(m) != ERR_OK)
        return ERR_NOMEM;
    uint32_t h = cj_hash(key);
    size_t i = h & (m->cap - 1);
    while (m->vals[i] >= 0)
        i = (i + 1) & (m->cap - 1);
    m->hashes[i] = h;
    m->vals[i] = val;
    m->n++;
    return ERR_OK;
}

static const char *cj_agent_key(const config *cfg, int i)
{
    return cfg->agents[i].id;
}

static const char *cj_campaign_key(const config *cfg, int i)
{
    return cfg->campaigns[i].id;
}

static const char *cj_rule_key(const config *cfg, int i)
{
    return cfg->rules[i].id;
}

static const char *cj_number_key(const config *cfg, int i)
{
    return cfg->numbers[i].number;
}

/* ---- the parse context: the config being built, the current path and the first error --- */

typedef struct {
    config *cfg;
    config_json_error *err;
    char path[CONFIG_JSON_PATH_MAX];
    size_t path_len;
    cj_map agents, campaigns, rules, numbers;
    int *member_mark;       /* per agent: serial of the last rule that listed it */
    unsigned char *pos_set; /* bitmap of positions used in the current campaign */
} cj_ctx;

/* Appends to the path, truncating silently at the buffer's end; returns the old length so
 * the caller can restore it with cj_pop(). Keys are sanitised so a path is always
 * printable. */
static size_t cj_push_key(cj_ctx *c, const char *key)
{
    size_t old = c->path_len;
    size_t n = c->path_len;
    if (n > 0 && n + 1 < sizeof c->path)
        c->path[n++] = '.';
    for (const unsigned char *p = (const unsigned char *)key; *p && n + 1 < sizeof c->path; p++)
        c->path[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
    c->path[n] = '\0';
    c->path_len = n;
    return old;
}

static size_t cj_push_index(cj_ctx *c, size_t i)
{
    size_t old = c->path_len;
    int w = snprintf(c->path + old, sizeof c->path - old, "[%zu]", i);
    if (w > 0)
        c->path_len = old + (size_t)w < sizeof c->path ? old + (size_t)w : sizeof c->path - 1;
    return old;
}

static void cj_pop(cj_ctx *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

__attribute__((format(printf, 2, 3))) static int cj_fail(cj_ctx *c, const char *fmt, ...)
{
    if (c->err) {
        snprintf(c->err->path, sizeof c->err->path, "%s", c->path);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
    return ERR_INVALID;
}

/* Same, at path.key. */
__attribute__((format(printf, 3, 4))) static int cj_fail_at(cj_ctx *c, const char *key,
                                                            const char *fmt, ...)
{
    size_t old = cj_push_key(c, key);
    if (c->err) {
        snprintf(c->err->path, sizeof c->err->path, "%s", c->path);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
    cj_pop(c, old);
    return ERR_INVALID;
}

/* Writes a value for a message: quoted, printable, shortened. */
static void cj_quote(char *dst, size_t n, const char *s)
{
    size_t o = 0, i = 0;
    if (n < 8)
        return;
    dst[o++] = '"';
    for (; s[i] && i < CJ_QUOTE_MAX && o + 5 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[o++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
    }
    if (s[i]) {
        dst[o++] = '.';
        dst[o++] = '.';
        dst[o++] = '.';
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

static const char *cj_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

/* Rejects any key of obj not in the NULL-terminated list allowed. */
static int cj_check_keys(cj_ctx *c, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok)
            return cj_fail_at(c, key, "unknown field");
    }
    return ERR_OK;
}

/* True when s holds no control characters (C0, DEL, or C1 as UTF-8). */
static bool cj_printable(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return false;
    }
    return true;
}

/* Reads an integer field. A missing field takes def unless required. */
static int cj_int(cj_ctx *c, const json_t *obj, const char *key, bool required, long long def,
                  long long min, long long max, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return cj_fail_at(c, key, "required field is missing");
        *out = (int)def;
        return ERR_OK;
    }
    if (!json_is_integer(v))
        return cj_fail_at(c, key, "must be an integer, not %s", cj_type_name(v));
    long long x = (long long)json_integer_value(v);
    if (x < min || x > max)
        return cj_fail_at(c, key, "must be between %lld and %lld (got %lld)", min, max, x);
    *out = (int)x;
    return ERR_OK;
}

static int cj_bool(cj_ctx *c, const json_t *obj, const char *key, bool def, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = def;
        return ERR_OK;
    }
    if (!json_is_boolean(v))
        return cj_fail_at(c, key, "must be true or false, not %s", cj_type_name(v));
    *out = json_is_true(v);
    return ERR_OK;
}

/* Reads a string field into *out (pointing into the document). Missing: *out = NULL when
 * optional. Null is accepted only when nullable (and gives *out = NULL). */
static int cj_str(cj_ctx *c, const json_t *obj, const char *key, bool required, bool nullable,
                  const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return cj_fail_at(c, key, "required field is missing");
        return ERR_OK;
    }
    if (json_is_null(v) && nullable)
        return ERR_OK;
    if (!json_is_string(v))
        return cj_fail_at(c, key, "must be a string%s, not %s", nullable ? " or null" : "",
                          cj_type_name(v));
    *out = json_string_value(v);
    return ERR_OK;
}

/* Copies a display text (name, message, address): non-empty, shorter than cap, printable. */
static int cj_text(cj_ctx *c, const char *key, const char *s, char *dst, size_t cap)
{
    size_t len = strlen(s);
    if (len == 0)
        return cj_fail_at(c, key, "must not be empty");
    if (len >= cap)
        return cj_fail_at(c, key, "is too long (%zu bytes, at most %zu)", len, cap - 1);
    if (!cj_printable(s))
        return cj_fail_at(c, key, "must not contain control characters");
    memcpy(dst, s, len + 1);
    return ERR_OK;
}

/* An optional display text with a default. */
static int cj_text_field(cj_ctx *c, const json_t *obj, const char *key, const char *def, char *dst,
                         size_t cap)
{
    const char *s;
    int rc = cj_str(c, obj, key, false, false, &s);
    if (rc != ERR_OK)
        return rc;
    return cj_text(c, key, s ? s : def, dst, cap);
}

/* An optional http(s) URL or null; "" in dst means none. */
static int cj_url_field(cj_ctx *c, const json_t *obj, const char *key, char *dst, size_t cap)
{
    const char *s;
    int rc = cj_str(c, obj, key, false, true, &s);
    dst[0] = '\0';
    if (rc != ERR_OK || !s)
        return rc;
    size_t len = strlen(s);
    size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0 || len == scheme)
        return cj_fail_at(c, key, "must be an http:// or https:// URL, or null");
    if (len >= cap)
        return cj_fail_at(c, key, "is too long (%zu bytes, at most %zu)", len, cap - 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return cj_fail_at(c, key, "must be a URL without spaces or control characters");
    memcpy(dst, s, len + 1);
    return ERR_OK;
}

/* Validates and interns one category slug at the current path; *bit gets its bit. */
static int cj_category(cj_ctx *c, const char *s, uint64_t *bit)
{
    char q[CJ_QUOTE_MAX + 8];
    if (!config_valid_category(s)) {
        cj_quote(q, sizeof q, s);
        return cj_fail(c, "invalid category %s (use 1-%d of a-z, 0-9 and _)", q,
                       CONFIG_CATEGORY_MAX - 1);
    }
    *bit = config_category_bit(c->cfg, s);
    if (*bit == 0)
        return cj_fail(c, "too many distinct categories (at most %d per configuration)",
                       CONFIG_MAX_CATEGORIES);
    return ERR_OK;
}

/* An optional category slug or null, copied into dst ("" = none) and interned. */
static int cj_category_field(cj_ctx *c, const json_t *obj, const char *key, char *dst)
{
    const char *s;
    int rc = cj_str(c, obj, key, false, true, &s);
    dst[0] = '\0';
    if (rc != ERR_OK || !s)
        return rc;
    uint64_t bit;
    size_t old = cj_push_key(c, key);
    rc = cj_category(c, s, &bit);
    cj_pop(c, old);
    if (rc != ERR_OK)
        return rc;
    memcpy(dst, s, strlen(s) + 1);
    return ERR_OK;
}

/* Optional array field; a missing one gives *out = NULL (empty). */
static int cj_array(cj_ctx *c, const json_t *obj, const char *key, bool required, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return cj_fail_at(c, key, "required field is missing");
        return ERR_OK;
    }
    if (!json_is_array(v))
        return cj_fail_at(c, key, "must be an array, not %s", cj_type_name(v));
    *out = v;
    return ERR_OK;
}

/* The element at path[i] must be an object. */
static int cj_expect_object(cj_ctx *c, const json_t *v)
{
    if (!json_is_object(v))
        return cj_fail(c, "must be an object, not %s", cj_type_name(v));
    return ERR_OK;
}

/* A list of USPS codes into a mask. */
static int cj_states(cj_ctx *c, const json_t *obj, uint64_t *mask)
{
    json_t *arr, *v;
    size_t i;
    int rc = cj_array(c, obj, "states", false, &arr);
    *mask = 0;
    if (rc != ERR_OK || !arr)
        return rc;
    size_t old = cj_push_key(c, "states");
    json_array_foreach(arr, i, v)
    {
        size_t at = cj_push_index(c, i);
        char q[CJ_QUOTE_MAX + 8];
        if (!json_is_string(v)) {
            rc = cj_fail(c, "must be a string, not %s", cj_type_name(v));
        } else {
            const char *s = json_string_value(v);
            int idx = states_index(s);
            cj_quote(q, sizeof q, s);
            if (idx < 0) {
                rc = cj_fail(c, "unknown state %s (use upper-case USPS codes such as \"TX\")", q);
            } else if (*mask & ((uint64_t)1 << idx)) {
                rc = cj_fail(c, "duplicate state %s", q);
            } else {
                *mask |= (uint64_t)1 << idx;
            }
        }
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    return rc;
}

/* A list of category slugs into a mask of interned bits. */
static int cj_categories(cj_ctx *c, const json_t *obj, uint64_t *mask)
{
    json_t *arr, *v;
    size_t i;
    int rc = cj_array(c, obj, "categories", false, &arr);
    *mask = 0;
    if (rc != ERR_OK || !arr)
        return rc;
    size_t old = cj_push_key(c, "categories");
    json_array_foreach(arr, i, v)
    {
        size_t at = cj_push_index(c, i);
        uint64_t bit = 0;
        if (!json_is_string(v)) {
            rc = cj_fail(c, "must be a string, not %s", cj_type_name(v));
        } else {
            rc = cj_category(c, json_string_value(v), &bit);
            if (rc == ERR_OK && (*mask & bit)) {
                char q[CJ_QUOTE_MAX + 8];
                cj_quote(q, sizeof q, json_string_value(v));
                rc = cj_fail(c, "duplicate category %s", q);
            }
            *mask |= bit;
        }
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    return rc;
}

/* A required slug id copied into dst. */
static int cj_id(cj_ctx *c, const json_t *obj, char *dst)
{
    const char *s;
    int rc = cj_str(c, obj, "id", true, false, &s);
    if (rc != ERR_OK)
        return rc;
    if (!config_valid_id(s)) {
        char q[CJ_QUOTE_MAX + 8];
        cj_quote(q, sizeof q, s);
        return cj_fail_at(c, "id", "invalid id %s (use 1-%d of A-Z, a-z, 0-9, _, . and -)", q,
                          CONFIG_ID_MAX - 1);
    }
    memcpy(dst, s, strlen(s) + 1);
    return ERR_OK;
}

/* An enum given by name; parse returns -1 for unknown names. */
static int cj_enum(cj_ctx *c, const json_t *obj, const char *key, int def,
                   int (*parse)(const char *), const char *what, const char *choices, int *out)
{
    const char *s;
    int rc = cj_str(c, obj, key, false, false, &s);
    if (rc != ERR_OK)
        return rc;
    if (!s) {
        *out = def;
        return ERR_OK;
    }
    int v = parse(s);
    if (v < 0) {
        char q[CJ_QUOTE_MAX + 8];
        cj_quote(q, sizeof q, s);
        return cj_fail_at(c, key, "unknown %s %s (use %s)", what, q, choices);
    }
    *out = v;
    return ERR_OK;
}

/* ---- the document's objects ------------------------------------------------------------- */

static const char *const cj_agent_keys[] = {"id",     "name",       "status",    "max_concurrent",
                                            "states", "categories", "softphone", NULL};
static const char *const cj_softphone_keys[] = {"type", "address", NULL};
static const char *const cj_campaign_keys[] = {"id",
                                               "name",
                                               "default_category",
                                               "ring_timeout_s",
                                               "queue",
                                               "friendly_message",
                                               "discord_webhook_url",
                                               "tracking_numbers",
                                               "rules",
                                               NULL};
static const char *const cj_queue_keys[] = {"enabled", "max_size", "max_wait_s", "hold_music_url",
                                            NULL};
static const char *const cj_number_keys[] = {"number", "category", NULL};
static const char *const cj_rule_keys[] = {"id",         "name", "position", "enabled", "states",
                                           "categories", "mode", "members",  NULL};
static const char *const cj_member_keys[] = {"agent", "priority", "weight", NULL};
static const char *const cj_root_keys[] = {"agents", "campaigns", NULL};

static int cj_softphone(cj_ctx *c, const json_t *obj, config_agent *a)
{
    json_t *sp = json_object_get(obj, "softphone");
    int rc, type;
    a->softphone = SOFTPHONE_CLIENT;
    if (!sp)
        return cj_text(c, "softphone", a->id, a->softphone_address, sizeof a->softphone_address);
    size_t old = cj_push_key(c, "softphone");
    rc = cj_expect_object(c, sp);
    if (rc == ERR_OK)
        rc = cj_check_keys(c, sp, cj_softphone_keys);
    if (rc == ERR_OK)
        rc = cj_enum(c, sp, "type", SOFTPHONE_CLIENT, config_softphone_parse, "softphone type",
                     "client, sip or number", &type);
    if (rc == ERR_OK) {
        a->softphone = (softphone_type)type;
        rc = cj_text_field(c, sp, "address", a->id, a->softphone_address,
                           sizeof a->softphone_address);
    }
    cj_pop(c, old);
    return rc;
}

static int cj_agent(cj_ctx *c, const json_t *obj)
{
    config_agent a;
    int rc, status;
    memset(&a, 0, sizeof a);
    if ((rc = cj_expect_object(c, obj)) != ERR_OK || (rc = cj_check_keys(c, obj, cj_agent_keys)))
        return rc;
    if ((rc = cj_id(c, obj, a.id)) != ERR_OK)
        return rc;
    int first = cj_map_get(&c->agents, c->cfg, a.id);
    if (first >= 0)
        return cj_fail_at(c, "id", "duplicate agent id \"%s\" (first at agents[%d])", a.id, first);
    if ((rc = cj_text_field(c, obj, "name", a.id, a.name, sizeof a.name)) ||
        (rc = cj_enum(c, obj, "status", AGENT_ACTIVE, config_status_parse, "status",
                      "active, paused or deactivated", &status)) ||
        (rc = cj_int(c, obj, "max_concurrent", false, 1, 1, CJ_LIMIT_MAX_CONCURRENT,
                     &a.max_concurrent)) ||
        (rc = cj_states(c, obj, &a.states)) || (rc = cj_categories(c, obj, &a.categories)) ||
        (rc = cj_softphone(c, obj, &a)))
        return rc;
    a.status = (agent_status)status;
    int idx = config_add_agent(c->cfg, &a);
    if (idx < 0)
        return ERR_NOMEM;
    return cj_map_put(&c->agents, c->cfg->agents[idx].id, idx);
}

static int cj_queue(cj_ctx *c, const json_t *obj, config_campaign *cp)
{
    json_t *q = json_object_get(obj, "queue");
    int rc;
    cp->queue_enabled = false;
    cp->queue_max_size = CJ_QUEUE_SIZE_DEFAULT;
    cp->queue_max_wait_s = CJ_QUEUE_WAIT_DEFAULT;
    cp->hold_music_url[0] = '\0';
    if (!q)
        return ERR_OK;
    size_t old = cj_push_key(c, "queue");
    if ((rc = cj_expect_object(c, q)) == ERR_OK && (rc = cj_check_keys(c, q, cj_queue_keys)) == 0 &&
        (rc = cj_bool(c, q, "enabled", false, &cp->queue_enabled)) == 0 &&
        (rc = cj_int(c, q, "max_size", false, CJ_QUEUE_SIZE_DEFAULT, 1, CJ_QUEUE_SIZE_MAX,
                     &cp->queue_max_size)) == 0 &&
        (rc = cj_int(c, q, "max_wait_s", false, CJ_QUEUE_WAIT_DEFAULT, CJ_QUEUE_WAIT_MIN,
                     CJ_QUEUE_WAIT_MAX, &cp->queue_max_wait_s)) == 0)
        rc = cj_url_field(c, q, "hold_music_url", cp->hold_music_url, sizeof cp->hold_music_url);
    cj_pop(c, old);
    return rc;
}

static int cj_number(cj_ctx *c, const json_t *obj, int campaign)
{
    config_number n;
    phone_number ph;
    const char *s;
    int rc;
    memset(&n, 0, sizeof n);
    n.campaign = campaign;
    if ((rc = cj_expect_object(c, obj)) || (rc = cj_check_keys(c, obj, cj_number_keys)) ||
        (rc = cj_str(c, obj, "number", true, false, &s)))
        return rc;
    phone_status st = phone_normalize(s, &ph);
    if (st != PHONE_OK && st != PHONE_NOT_NANP) {
        char q[CJ_QUOTE_MAX + 8];
        cj_quote(q, sizeof q, s);
        return cj_fail_at(c, "number", "invalid tracking number %s (%s)", q, phone_status_name(st));
    }
    snprintf(n.number, sizeof n.number, "%s", ph.e164);
    int first = cj_map_get(&c->numbers, c->cfg, n.number);
    if (first >= 0)
        return cj_fail_at(c, "number", "duplicate tracking number %s (already in campaign \"%s\")",
                          n.number, c->cfg->campaigns[c->cfg->numbers[first].campaign].id);
    if ((rc = cj_category_field(c, obj, "category", n.category)) != ERR_OK)
        return rc;
    int idx = config_add_number(c->cfg, &n);
    if (idx < 0)
        return ERR_NOMEM;
    return cj_map_put(&c->numbers, c->cfg->numbers[idx].number, idx);
}

static int cj_member(cj_ctx *c, const json_t *obj, int rule_serial, config_member *m)
{
    const char *s;
    int rc;
    if ((rc = cj_expect_object(c, obj)) || (rc = cj_check_keys(c, obj, cj_member_keys)) ||
        (rc = cj_str(c, obj, "agent", true, false, &s)))
        return rc;
    char q[CJ_QUOTE_MAX + 8];
    cj_quote(q, sizeof q, s);
    m->agent = cj_map_get(&c->agents, c->cfg, s);
    if (m->agent < 0)
        return cj_fail_at(c, "agent", "unknown agent %s", q);
    if (c->member_mark[m->agent] == rule_serial)
        return cj_fail_at(c, "agent", "agent %s is already a member of this rule", q);
    c->member_mark[m->agent] = rule_serial;
    if ((rc = cj_int(c, obj, "priority", false, 1, 1, CJ_LIMIT_PRIORITY, &m->priority)) ||
        (rc = cj_int(c, obj, "weight", false, 1, 1, CJ_LIMIT_WEIGHT, &m->weight)))
        return rc;
    return ERR_OK;
}

static bool cj_pos_test_set(cj_ctx *c, int pos)
{
    unsigned char bit = (unsigned char)(1u << (pos & 7));
    bool was = c->pos_set[pos >> 3] & bit;
    c->pos_set[pos >> 3] |= bit;
    return was;
}

static int cj_rule(cj_ctx *c, const json_t *obj, int campaign, size_t index, int rule_serial)
{
    config_rule r;
    json_t *members, *v;
    config_member *mem = NULL;
    size_t i;
    int rc, mode;
    memset(&r, 0, sizeof r);
    r.campaign = campaign;
    r.rr_last_agent = -1;
    if ((rc = cj_expect_object(c, obj)) || (rc = cj_check_keys(c, obj, cj_rule_keys)) ||
        (rc = cj_id(c, obj, r.id)))
        return rc;
    int first = cj_map_get(&c->rules, c->cfg, r.id);
    if (first >= 0)
        return cj_fail_at(c, "id", "duplicate rule id \"%s\" (already in campaign \"%s\")", r.id,
                          c->cfg->campaigns[c->cfg->rules[first].campaign].id);
    long long def_pos =
        (long long)index + 1 <= CJ_POSITION_MAX ? (long long)index + 1 : CJ_POSITION_MAX;
    if ((rc = cj_text_field(c, obj, "name", r.id, r.name, sizeof r.name)) ||
        (rc = cj_int(c, obj, "position", false, def_pos, 1, CJ_POSITION_MAX, &r.position)))
        return rc;
    if (cj_pos_test_set(c, r.position))
        return cj_fail_at(c, "position", "another rule of this campaign has position %d",
                          r.position);
    if ((rc = cj_bool(c, obj, "enabled", true, &r.enabled)) ||
        (rc = cj_states(c, obj, &r.states)) || (rc = cj_categories(c, obj, &r.categories)) ||
        (rc = cj_enum(c, obj, "mode", MODE_PRIORITY, config_mode_parse, "mode",
                      "priority, round_robin or weighted", &mode)) ||
        (rc = cj_array(c, obj, "members", true, &members)))
        return rc;
    r.mode = (dist_mode)mode;
    size_t n = json_array_size(members);
    if (n == 0)
        return cj_fail_at(c, "members", "a rule needs at least one member");
    mem = calloc(n, sizeof *mem);
    if (!mem)
        return ERR_NOMEM;
    size_t old = cj_push_key(c, "members");
    json_array_foreach(members, i, v)
    {
        size_t at = cj_push_index(c, i);
        rc = cj_member(c, v, rule_serial, &mem[i]);
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    if (rc != ERR_OK)
        goto out_free_members;
    r.members = mem;
    r.n_members = (int)n;
    int idx = config_add_rule(c->cfg, &r);
    if (idx < 0) {
        rc = ERR_NOMEM;
        goto out_free_members;
    }
    rc = cj_map_put(&c->rules, c->cfg->rules[idx].id, idx);
out_free_members:
    free(mem);
    return rc;
}

static int cj_campaign(cj_ctx *c, const json_t *obj, int *rule_serial)
{
    config_campaign cp;
    json_t *numbers, *rules, *v;
    size_t i;
    int rc;
    memset(&cp, 0, sizeof cp);
    if ((rc = cj_expect_object(c, obj)) || (rc = cj_check_keys(c, obj, cj_campaign_keys)) ||
        (rc = cj_id(c, obj, cp.id)))
        return rc;
    int first = cj_map_get(&c->campaigns, c->cfg, cp.id);
    if (first >= 0)
        return cj_fail_at(c, "id", "duplicate campaign id \"%s\" (first at campaigns[%d])", cp.id,
                          first);
    if ((rc = cj_text_field(c, obj, "name", cp.id, cp.name, sizeof cp.name)) ||
        (rc = cj_category_field(c, obj, "default_category", cp.default_category)) ||
        (rc = cj_int(c, obj, "ring_timeout_s", false, CJ_RING_DEFAULT, CJ_RING_MIN, CJ_RING_MAX,
                     &cp.ring_timeout_s)) ||
        (rc = cj_queue(c, obj, &cp)) ||
        (rc = cj_text_field(c, obj, "friendly_message", cj_default_friendly, cp.friendly_message,
                            sizeof cp.friendly_message)) ||
        (rc = cj_url_field(c, obj, "discord_webhook_url", cp.discord_webhook_url,
                           sizeof cp.discord_webhook_url)) ||
        (rc = cj_array(c, obj, "tracking_numbers", false, &numbers)) ||
        (rc = cj_array(c, obj, "rules", false, &rules)))
        return rc;
    int campaign = config_add_campaign(c->cfg, &cp);
    if (campaign < 0)
        return ERR_NOMEM;
    if ((rc = cj_map_put(&c->campaigns, c->cfg->campaigns[campaign].id, campaign)) != ERR_OK)
        return rc;

    size_t old = cj_push_key(c, "tracking_numbers");
    json_array_foreach(numbers, i, v)
    {
        size_t at = cj_push_index(c, i);
        rc = cj_number(c, v, campaign);
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    if (rc != ERR_OK)
        return rc;

    int first_rule = c->cfg->n_rules;
    old = cj_push_key(c, "rules");
    json_array_foreach(rules, i, v)
    {
        size_t at = cj_push_index(c, i);
        rc = cj_rule(c, v, campaign, i, ++*rule_serial);
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    /* Clear only the positions this campaign used, for the next campaign. */
    for (int k = first_rule; k < c->cfg->n_rules; k++)
        c->pos_set[c->cfg->rules[k].position >> 3] = 0;
    return rc;
}

static int cj_root(cj_ctx *c, const json_t *root)
{
    json_t *agents, *campaigns, *v;
    size_t i;
    int rc;
    if (!json_is_object(root))
        return cj_fail(c, "the configuration must be a JSON object, not %s", cj_type_name(root));
    if ((rc = cj_check_keys(c, root, cj_root_keys)) ||
        (rc = cj_array(c, root, "agents", true, &agents)) ||
        (rc = cj_array(c, root, "campaigns", true, &campaigns)))
        return rc;

    size_t old = cj_push_key(c, "agents");
    json_array_foreach(agents, i, v)
    {
        size_t at = cj_push_index(c, i);
        rc = cj_agent(c, v);
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    if (rc != ERR_OK)
        return rc;

    c->member_mark = calloc((size_t)c->cfg->n_agents + 1, sizeof *c->member_mark);
    c->pos_set = calloc(CJ_POSITION_MAX / 8 + 1, 1);
    if (!c->member_mark || !c->pos_set)
        return ERR_NOMEM;
    int rule_serial = 0;
    old = cj_push_key(c, "campaigns");
    json_array_foreach(campaigns, i, v)
    {
        size_t at = cj_push_index(c, i);
        rc = cj_campaign(c, v, &rule_serial);
        cj_pop(c, at);
        if (rc != ERR_OK)
            break;
    }
    cj_pop(c, old);
    return rc;
}

int config_json_from_value(const json_t *root, config **out, config_json_error *err)
{
    cj_ctx c;
    int rc;
    if (out)
        *out = NULL;
    if (err) {
        err->path[0] = '\0';
        err->message[0] = '\0';
    }
    if (!root || !out)
        return ERR_INVALID;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.agents.key_of = cj_agent_key;
    c.campaigns.key_of = cj_campaign_key;
    c.rules.key_of = cj_rule_key;
    c.numbers.key_of = cj_number_key;
    c.cfg = config_new();
    if (!c.cfg) {
        rc = ERR_NOMEM;
        goto out_report_nomem;
    }
    rc = cj_root(&c, root);
    if (rc != ERR_OK)
        goto out_free_config;
    config_finish(c.cfg);
    *out = c.cfg;
    c.cfg = NULL;
out_free_config:
    config_free(c.cfg);
    free(c.member_mark);
    free(c.pos_set);
    cj_map_free(&c.agents);
    cj_map_free(&c.campaigns);
    cj_map_free(&c.rules);
    cj_map_free(&c.numbers);
out_report_nomem:
    if (rc == ERR_NOMEM && err) {
        snprintf(err->path, sizeof err->path, "%s", "");
        snprintf(err->message, sizeof err->message, "%s", "out of memory");
    }
    return rc;
}

int config_json_parse(const char *text, size_t len, config **out, config_json_error *err)
{
    json_error_t jerr;
    if (out)
        *out = NULL;
    if (err) {
        err->path[0] = '\0';
        err->message[0] = '\0';
    }
    if (!text || !out)
        return ERR_INVALID;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (err)
            snprintf(err->message, sizeof err->message, "invalid JSON at line %d, column %d: %s",
                     jerr.line, jerr.column, jerr.text);
        return ERR_INVALID;
    }
    int rc = config_json_from_value(root, out, err);
    json_decref(root);
    return rc;
}

/* ---- dump --------------------------------------------------------------------------- */

typedef struct {
    const char *key;
    int index;
} cj_sorted;

static int cj_sorted_cmp(const void *a, const void *b)
{
    const cj_sorted *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Adds v to obj under key, stealing the reference; false (and v released) on failure. */
static bool cj_set(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0;
}

static json_t *cj_opt_string(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static json_t *cj_dump_states(uint64_t mask)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < STATES_COUNT; i++) {
        if ((mask & ((uint64_t)1 << i)) &&
            json_array_append_new(arr, json_string(states_code(i)))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Category slugs in alphabetical order, whatever order they were interned in. */
static json_t *cj_dump_categories(const config *cfg, uint64_t mask)
{
    const char *names[CONFIG_MAX_CATEGORIES];
    int n = 0;
    for (int i = 0; i < cfg->n_categories && i < CONFIG_MAX_CATEGORIES; i++)
        if (mask & ((uint64_t)1 << i))
            names[n++] = cfg->categories[i];
    for (int i = 1; i < n; i++) /* insertion sort: at most 64 short names */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_string(names[i]))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *config_json_dump_agent(const config *cfg, const config_agent *a)
{
    json_t *o = json_object(), *sp = json_object();
    json_t *ret = NULL;
    if (o && sp && cj_set(sp, "type", json_string(config_softphone_name(a->softphone))) &&
        cj_set(sp, "address", json_string(a->softphone_address)) &&
        cj_set(o, "id", json_string(a->id)) && cj_set(o, "name", json_string(a->name)) &&
        cj_set(o, "status", json_string(config_status_name(a->status))) &&
        cj_set(o, "max_concurrent", json_integer(a->max_concurrent)) &&
        cj_set(o, "states", cj_dump_states(a->states)) &&
        cj_set(o, "categories", cj_dump_categories(cfg, a->categories)) &&
        json_object_set(o, "softphone", sp) == 0)
        ret = json_incref(o);
    json_decref(sp);
    json_decref(o);
    return ret;
}

static json_t *cj_dump_rule(const config *cfg, const config_rule *r)
{
    json_t *o = json_object(), *members = json_array();
    json_t *ret = NULL;
    if (!o || !members)
        goto out_free;
    for (int i = 0; i < r->n_members; i++) {
        const config_member *m = &r->members[i];
        json_t *mo = json_object();
        if (!mo || json_array_append_new(members, mo) ||
            !cj_set(mo, "agent", json_string(cfg->agents[m->agent].id)) ||
            !cj_set(mo, "priority", json_integer(m->priority)) ||
            !cj_set(mo, "weight", json_integer(m->weight)))
            goto out_free;
    }
    if (cj_set(o, "id", json_string(r->id)) && cj_set(o, "name", json_string(r->name)) &&
        cj_set(o, "position", json_integer(r->position)) &&
        cj_set(o, "enabled", json_boolean(r->enabled)) &&
        cj_set(o, "states", cj_dump_states(r->states)) &&
        cj_set(o, "categories", cj_dump_categories(cfg, r->categories)) &&
        cj_set(o, "mode", json_string(config_mode_name(r->mode))) &&
        json_object_set(o, "members", members) == 0)
        ret = json_incref(o);
out_free:
    json_decref(members);
    json_decref(o);
    return ret;
}

/* Orders a campaign's rules by position (then index, so the order is total). */
static void cj_sort_rules(const config *cfg, cj_sorted *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            const config_rule *a = &cfg->rules[v[j - 1].index];
            const config_rule *b = &cfg->rules[v[j].index];
            if (a->position < b->position ||
                (a->position == b->position && v[j - 1].index < v[j].index))
                break;
            cj_sorted t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static json_t *cj_dump_campaign(const config *cfg, int ci, cj_sorted *scratch)
{
    const config_campaign *cp = &cfg->campaigns[ci];
    json_t *o = json_object(), *q = json_object(), *numbers = json_array(), *rules = json_array();
    json_t *ret = NULL;
    int n;
    if (!o || !q || !numbers || !rules)
        goto out_free;
    n = 0;
    for (int i = 0; i < cfg->n_numbers; i++)
        if (cfg->numbers[i].campaign == ci)
            scratch[n++] = (cj_sorted){cfg->numbers[i].number, i};
    qsort(scratch, (size_t)n, sizeof *scratch, cj_sorted_cmp);
    for (int i = 0; i < n; i++) {
        const config_number *num = &cfg->numbers[scratch[i].index];
        json_t *no = json_object();
        if (!no || json_array_append_new(numbers, no) ||
            !cj_set(no, "number", json_string(num->number)) ||
            !cj_set(no, "category", cj_opt_string(num->category)))
            goto out_free;
    }
    n = 0;
    for (int i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].campaign == ci)
            scratch[n++] = (cj_sorted){cfg->rules[i].id, i};
    cj_sort_rules(cfg, scratch, n);
    for (int i = 0; i < n; i++) {
        json_t *ro = cj_dump_rule(cfg, &cfg->rules[scratch[i].index]);
        if (!ro || json_array_append_new(rules, ro))
            goto out_free;
    }
    if (cj_set(q, "enabled", json_boolean(cp->queue_enabled)) &&
        cj_set(q, "max_size", json_integer(cp->queue_max_size)) &&
        cj_set(q, "max_wait_s", json_integer(cp->queue_max_wait_s)) &&
        cj_set(q, "hold_music_url", cj_opt_string(cp->hold_music_url)) &&
        cj_set(o, "id", json_string(cp->id)) && cj_set(o, "name", json_string(cp->name)) &&
        cj_set(o, "default_category", cj_opt_string(cp->default_category)) &&
        cj_set(o, "ring_timeout_s", json_integer(cp->ring_timeout_s)) &&
        json_object_set(o, "queue", q) == 0 &&
        cj_set(o, "friendly_message", json_string(cp->friendly_message)) &&
        cj_set(o, "discord_webhook_url", cj_opt_string(cp->discord_webhook_url)) &&
        json_object_set(o, "tracking_numbers", numbers) == 0 &&
        json_object_set(o, "rules", rules) == 0)
        ret = json_incref(o);
out_free:
    json_decref(q);
    json_decref(numbers);
    json_decref(rules);
    json_decref(o);
    return ret;
}

json_t *config_json_dump_agents(const config *cfg)
{
    if (!cfg)
        return NULL;
    cj_sorted *order = malloc(((size_t)cfg->n_agents + 1) * sizeof *order);
    json_t *agents = json_array();
    if (!order || !agents)
        goto out_free;
    /* By id, so the export does not depend on storage order. */
    for (int i = 0; i < cfg->n_agents; i++)
        order[i] = (cj_sorted){cfg->agents[i].id, i};
    qsort(order, (size_t)cfg->n_agents, sizeof *order, cj_sorted_cmp);
    for (int i = 0; i < cfg->n_agents; i++) {
        json_t *a = config_json_dump_agent(cfg, &cfg->agents[order[i].index]);
        if (!a || json_array_append_new(agents, a))
            goto out_free;
    }
    free(order);
    return agents;
out_free:
    json_decref(agents);
    free(order);
    return NULL;
}

json_t *config_json_dump(const config *cfg)
{
    if (!cfg)
        return NULL;
    size_t most = (size_t)cfg->n_campaigns;
    if ((size_t)cfg->n_numbers > most)
        most = (size_t)cfg->n_numbers;
    if ((size_t)cfg->n_rules > most)
        most = (size_t)cfg->n_rules;
    cj_sorted *order = malloc((most + 1) * sizeof *order);
    cj_sorted *scratch = malloc((most + 1) * sizeof *scratch);
    json_t *root = json_object(), *agents = config_json_dump_agents(cfg), *campaigns = json_array();
    if (!order || !scratch || !root || !agents || !campaigns)
        goto out_free;

    /* Campaigns by id, so the export does not depend on storage order. */
    for (int i = 0; i < cfg->n_campaigns; i++)
        order[i] = (cj_sorted){cfg->campaigns[i].id, i};
    qsort(order, (size_t)cfg->n_campaigns, sizeof *order, cj_sorted_cmp);
    for (int i = 0; i < cfg->n_campaigns; i++) {
        json_t *cp = cj_dump_campaign(cfg, order[i].index, scratch);
        if (!cp || json_array_append_new(campaigns, cp))
            goto out_free;
    }
    if (json_object_set(root, "agents", agents) || json_object_set(root, "campaigns", campaigns))
        goto out_free;
    json_decref(agents);
    json_decref(campaigns);
    free(order);
    free(scratch);
    return root;
out_free:
    json_decref(agents);
    json_decref(campaigns);
    json_decref(root);
    free(order);
    free(scratch);
    return NULL;
}
