/* config_json.h -- the configuration's JSON format (import, export, PUT /v1/config):
 * strict parsing with the path of the bad field, and the inverse dump. */
#ifndef SC_CONFIG_JSON_H
#define SC_CONFIG_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "../core/config.h"

#define CONFIG_JSON_PATH_MAX 128
#define CONFIG_JSON_MSG_MAX 256

/* Where and why a configuration was rejected. path is like "campaigns[0].rules[1].mode"
 * ("" for the document itself). */
typedef struct {
    char path[CONFIG_JSON_PATH_MAX];
    char message[CONFIG_JSON_MSG_MAX];
} config_json_error;

/* Parses and validates a whole configuration document (text of `len` bytes). Validation is
 * complete before anything is returned: unknown fields, wrong types, bad slugs, unknown
 * states, duplicate ids, members naming unknown agents, limits out of range. Omitted
 * optional fields take the SPEC defaults. Returns ERR_OK with *out a new finished config
 * (caller frees with config_free()), or ERR_INVALID with *err filled, or ERR_NOMEM. */
int config_json_parse(const char *text, size_t len, config **out, config_json_error *err);

/* Same, from an already parsed JSON value. */
int config_json_from_value(const json_t *root, config **out, config_json_error *err);

/* Dumps a configuration in the same format (static settings only, no live state), with
 * every field present. Returns a new reference the caller decrefs, or NULL on no memory. */
json_t *config_json_dump(const config *cfg);

/* The "agents" array of that dump alone (sorted by id), or NULL on no memory. */
json_t *config_json_dump_agents(const config *cfg);

/* One agent as in that dump, or NULL on no memory. */
json_t *config_json_dump_agent(const config *cfg, const config_agent *a);

#endif
