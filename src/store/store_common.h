/* store_common.h -- what both store backends (store_sqlite.c, store_pg.c) do alike, apart
 * from any database library: the text forms of state and category masks as the tables keep
 * them, agent statuses, call ids, the configuration's index check, the cache of the
 * static configuration. For the backends only; errors go to the caller's buffer (a
 * backend passes its handle's message buffer). */
#ifndef SC_STORE_COMMON_H
#define SC_STORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../core/states.h"
#include "store.h"

/* Buffer sizes that always hold store_common_states_text() and
 * store_common_categories_text(). */
#define STORE_STATES_TEXT_MAX (STATES_COUNT * 3 + 1)
#define STORE_CATEGORIES_TEXT_MAX (CONFIG_MAX_CATEGORIES * CONFIG_CATEGORY_MAX + 1)

/* The wall clock in Unix milliseconds (for rows stamped by the store itself). */
int64_t store_common_wall_ms(void);

/* Copies `src` (NULL as "") into dst[cap], cut to fit and always terminated; cap > 0. */
void store_common_copy(char *dst, size_t cap, const char *src);

/* A malloc'd copy of `text` (NULL as ""), which the caller frees; NULL when out of memory. */
char *store_common_strdup(const char *text);

/* Writes `mask` as a comma list of USPS codes ("CA,NY"; "" for none) into buf[cap]. Cannot
 * fail: a buffer of STORE_STATES_TEXT_MAX holds every mask. */
void store_common_states_text(uint64_t mask, char *buf, size_t cap);

/* Writes `mask` as a comma list of cfg's category names into buf[cap] (names that would not
 * fit are left out: a buffer of STORE_CATEGORIES_TEXT_MAX holds every mask). */
void store_common_categories_text(const config *cfg, uint64_t mask, char *buf, size_t cap);

/* Parses a comma list as the tables keep it, of states (`states` true) or of categories
 * (interned into cfg), into *mask; NULL or "" is 0. Returns ERR_OK, or ERR_STORE for an
 * empty, too long or unknown item, with a message in err[errlen]. */
int store_common_parse_list(config *cfg, const char *text, bool states, uint64_t *mask, char *err,
                            size_t errlen);

/* The agent status of its stored name ("active", "paused", else deactivated). */
int store_common_parse_status(const char *s);

/* True for the statuses that end a call (completed, callback, abandoned, failed). */
bool store_common_status_is_final(call_status s);

/* Checks that every campaign, agent and member index of cfg is in range, so the config
 * writers can follow them. Returns ERR_OK, or ERR_INVALID with a message in err[errlen]. */
int store_common_check_indexes(const config *cfg, char *err, size_t errlen);

/* Writes a new call id into out[STORE_CALL_ID_MAX]: 32 lowercase hex digits, the creation
 * time in ms (48 bits) then 80 random bits from OpenSSL. Ids made later sort later, so new
 * rows land at the right end of the id index instead of on a random page. Returns ERR_OK,
 * or ERR_STORE with a message in err[errlen] when no random bytes could be had. */
int store_common_new_call_id(int64_t created_ms, char *out, char *err, size_t errlen);

/* Fills *cb (zeroed first) as the callback of the caller of `row` who left the queue:
 * reason "abandoned", created at now_ms. Cannot fail; a row without a campaign gives a
 * callback without one, which the caller does not record. */
void store_common_abandoned_callback(const store_call *row, int64_t now_ms, store_callback *cb);

/* A handle's cache of the static configuration (live columns are applied to a copy on
 * every load), with the map from the rules' stored order (seq) to their index in it. */
typedef struct {
    config *cfg; /* as of `version`; NULL until loaded */
    long long version;
    int *rule_index; /* rules.seq -> index into cfg->rules */
    int n_rule_index;
} store_cache;

/* True when the cache holds the configuration of `version`. */
bool store_common_cache_fresh(const store_cache *c, long long version);

/* Finishes `cfg`, freshly loaded in stored order with ids[i] the id of the rule of seq i
 * (config_finish() sorts the rules), and makes it the cache of `version`, freeing the
 * previous one. Returns ERR_OK (the cache owns cfg), or ERR_NOMEM (the cache is unchanged
 * and the caller still owns cfg). */
int store_common_cache_install(store_cache *c, config *cfg, char (*ids)[CONFIG_ID_MAX],
                               long long version);

/* Sets the round-robin cursor of the rule stored as `seq` in cfg (a copy of the cache) to
 * `agent` (NULL: none); a seq the cache does not know is passed over. */
void store_common_cache_set_cursor(const store_cache *c, config *cfg, int seq, const char *agent);

/* Frees what the cache holds and empties it. */
void store_common_cache_free(store_cache *c);

/* Appends `id` as entry n of the growing array *ids of rule ids (capacity *cap). Returns
 * ERR_OK, or ERR_NOMEM (the array is kept; the caller frees it either way). */
int store_common_ids_push(char (**ids)[CONFIG_ID_MAX], int *cap, int n, const char *id);

#endif
