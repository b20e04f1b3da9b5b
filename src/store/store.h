/* store.h -- the storage interface (SPEC 5). One opaque handle per connection; the SQLite
 * implementation is the embedded default, PostgreSQL comes later behind the same calls.
 * Every function returns ERR_OK (0), a positive count where documented, or a negative
 * err_code; when errbuf is given, a one-line detail is written there on error. */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../core/errors.h"

#define STORE_CALL_ID_MAX 40
#define STORE_ERR_MAX 256

typedef struct store store;

/* Call status (SPEC 2). */
typedef enum {
    CALL_ROUTING = 0, CALL_RINGING, CALL_CONNECTED, CALL_QUEUED,
    CALL_COMPLETED, CALL_CALLBACK, CALL_ABANDONED, CALL_FAILED
} call_status;

/* A call row. trace_json and tried_json are owned by the struct (free with
 * store_call_clear()). */
typedef struct {
    char id[STORE_CALL_ID_MAX];
    char external_id[CONFIG_ID_MAX * 2];
    char campaign[CONFIG_ID_MAX];         /* "" when the tracking number is unknown */
    char tracking_number[CONFIG_E164_MAX * 2]; /* E.164, or the raw input when invalid */
    char caller[CONFIG_E164_MAX * 2];     /* E.164, or the raw caller ID (e.g. "anonymous") */
    char caller_state[3];                 /* "" when unknown */
    char category[CONFIG_CATEGORY_MAX];
    call_status status;
    char agent[CONFIG_ID_MAX];            /* agent holding or last holding the call, "" none */
    char rule[CONFIG_ID_MAX];
    bool holds_claim;                     /* true while the call counts on agent's active_calls */
    int64_t created_ms, updated_ms, ended_ms; /* ended_ms 0 while open */
    char *tried_json;                     /* JSON array of agent ids already tried */
    char *trace_json;                     /* the routing trace (SPEC 3.6) */
} store_call;

/* A callback (SPEC 2, 3.7). */
typedef struct {
    long long id;
    char call_id[STORE_CALL_ID_MAX];
    char campaign[CONFIG_ID_MAX];
    char tracking_number[CONFIG_E164_MAX * 2];
    char caller[CONFIG_E164_MAX * 2];
    char caller_state[3];
    char category[CONFIG_CATEGORY_MAX];
    char reason[32];                      /* "no_agents", "queue_full", "queue_timeout", "abandoned" */
    bool open;
    char completed_by[CONFIG_ID_MAX];
    int attempts;
    int64_t created_ms, updated_ms;
} store_callback;

/* Opens (creating when needed) the store at `url` (a SQLite file path for now) and applies
 * pending migrations. On success *out is a new handle the caller closes with store_close().
 * Returns ERR_OK or an error with detail in errbuf. */
int store_open(const char *url, store **out, char *errbuf, size_t errlen);

/* Closes a handle. NULL is a no-op. */
void store_close(store *st);

/* Returns the schema version (the number of the last applied migration), or < 0. */
int store_schema_version(store *st);

/* Transactions: store_begin takes the write lock at once (SQLite BEGIN IMMEDIATE) so the
 * claim, the cursor and the call row commit together. Not nested. */
int store_begin(store *st);
int store_commit(store *st);
int store_rollback(store *st); /* harmless when no transaction is open */

/* Replaces the whole configuration with `cfg` in one transaction: all or nothing. Agents
 * that stay keep their live state (active calls, registration, last assignment); rules that
 * stay keep their round-robin cursor. */
int store_config_replace(store *st, const config *cfg, char *errbuf, size_t errlen);

/* Loads the whole configuration with live state into a new config (finished, ready for the
 * router). The caller frees *out with config_free(). */
int store_config_load(store *st, config **out, char *errbuf, size_t errlen);

/* Agent changes. status < 0 keeps the status; max_concurrent <= 0 keeps the limit.
 * Return ERR_NOT_FOUND for an unknown id. */
int store_agent_set(store *st, const char *agent_id, int status, int max_concurrent, int64_t now_ms);
int store_agent_register(store *st, const char *agent_id, int64_t until_ms);
int store_agent_unregister(store *st, const char *agent_id);

/* The claim (SPEC 3.5): one conditional UPDATE that increments the agent's active calls
 * only if it is active, registered past now_ms and below its limit, and stamps the last
 * assignment. Returns 1 when claimed, 0 when not (a lost race), or a negative error. */
int store_claim(store *st, const char *agent_id, int64_t now_ms);

/* Moves a rule's round-robin cursor to the agent that took its call. Call inside the
 * claim's transaction. */
int store_rule_cursor_set(store *st, const char *rule_id, const char *agent_id);

/* Inserts a call row. If call->id is "", a new random id is generated into it. */
int store_call_insert(store *st, store_call *call);

/* Fetches a call by id into *out (the caller clears it with store_call_clear()). */
int store_call_get(store *st, const char *call_id, store_call *out);

/* Frees what a store_call owns and zeroes it. */
void store_call_clear(store_call *call);

/* Ends a call: sets status `final_status` and ended_ms, and releases its claim exactly
 * once (the call's holds_claim flag is cleared in the same transaction as the decrement).
 * Returns 1 when a claim was released, 0 when there was none (already ended: harmless),
 * ERR_NOT_FOUND for an unknown call. Runs its own transaction. */
int store_call_end(store *st, const char *call_id, call_status final_status, int64_t now_ms);

/* Creates a callback for a failed call, or when the same caller already has an open
 * callback for the same campaign, bumps its attempts and time instead. Sets cb->id. */
int store_callback_upsert(store *st, store_callback *cb);

/* Sets every agent's active call count from the calls that hold a claim. Returns the number
 * of agents whose count changed, or a negative error. */
int store_reconcile_counts(store *st);

/* Names of call statuses ("routing", "ringing", ...) and their parser (-1 when unknown). */
const char *store_call_status_name(call_status s);
int store_call_status_parse(const char *s);

#endif
