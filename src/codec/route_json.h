/* route_json.h -- renders a routing decision and its trace (SPEC 3.6) as JSON. */
#ifndef SC_ROUTE_JSON_H
#define SC_ROUTE_JSON_H

#include <jansson.h>

#include "../core/router.h"

/* The trace as a JSON object: numbers and their normalisation, caller state and how it was
 * found, category and its source, each rule with its verdict and members with theirs
 * (detail such as "2/2" or "TX"), mode, pick, claims and the action. Returns a new reference
 * (caller decrefs) or NULL when out of memory. `cfg` is the config the result refers to. */
json_t *route_json_trace(const config *cfg, const route_result *r);

/* The trace as compact JSON text. Returns a malloc'd string the caller frees, or NULL. */
char *route_json_trace_text(const config *cfg, const route_result *r);

/* As route_json_trace_text, with one more member `key` whose value is `extra` (stolen; NULL
 * adds nothing): how the call fared once no agent could take it (the queue, SPEC 3.7). */
char *route_json_trace_text_with(const config *cfg, const route_result *r, const char *key,
                                 json_t *extra);

#endif
