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
    CALL_ROUTING = 0,
    CALL_RINGING,
    CALL_CONNECTED,
    CALL_QUEUED,
    CALL_COMPLETED,
    CALL_CALLBACK,
    CALL_ABANDONED,
    CALL_FAILED
} call_status;

/* A call row. trace_json and tried_json are owned by the struct (free with
 * store_call_clear()). */
typedef struct {
    char id[STORE_CALL_ID_MAX];
    char external_id[CONFIG_ID_MAX * 2];
    char campaign[CONFIG_ID_MAX];              /* "" when the tracking number is unknown */
    char tracking_number[CONFIG_E164_MAX * 2]; /* E.164, or the raw input when invalid */
    char caller[CONFIG_E164_MAX * 2];          /* E.164, or the raw caller ID (e.g. "anonymous") */
    char caller_state[3];                      /* "" when unknown */
    char category[CONFIG_CATEGORY_MAX];
    call_status status;
    char agent[CONFIG_ID_MAX]; /* agent holding or last holding the call, "" none */
    char rule[CONFIG_ID_MAX];
    bool holds_claim; /* true while the call counts on agent's active_calls */
    int64_t created_ms, updated_ms, ended_ms; /* ended_ms 0 while open */
    int64_t queued_ms, queue_deadline_ms;     /* while queued (SPEC 3.7); else 0 */
    char *tried_json;                         /* JSON array of agent ids already tried */
    char *trace_json;                         /* the routing trace (SPEC 3.6) */
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
    char reason[32]; /* "no_agents", "queue_full", "queue_timeout", "abandoned" */
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
int store_agent_set(store *st, const char *agent_id, int status, int max_concurrent,
                    int64_t now_ms);

/* An agent has two registrations (migration 5): the presence one (store_agent_register,
 * expiring at until_ms; store_agent_unregister clears it) and the event stream one
 * (store_agent_stream; 0 clears it). The agent counts as registered until the later of the
 * two. Return ERR_OK or ERR_NOT_FOUND for an unknown id. */
int store_agent_register(store *st, const char *agent_id, int64_t until_ms);
int store_agent_unregister(store *st, const char *agent_id);
int store_agent_stream(store *st, const char *agent_id, int64_t until_ms);

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
 * A call still waiting in the queue is instead recorded as abandoned (the caller hung up)
 * and gets a callback with reason "abandoned" (SPEC 3.7). Returns 1 when a claim was
 * released, 0 when there was none (already ended: harmless), ERR_NOT_FOUND for an unknown
 * call. Runs its own transaction. */
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

/* ---- added for the daemon (issue 3) ------------------------------------------------------ */

/* Marks a ringing call answered (status connected). Returns 1 when it changed, 0 when it
 * was already connected (harmless repeat), ERR_NOT_FOUND for an unknown call, ERR_CONFLICT
 * when the call is in any other state (ended, routing). */
int store_call_answer(store *st, const char *call_id, int64_t now_ms);

/* For a no-answer (SPEC 3.8), inside the caller's transaction: releases the claim of a
 * ringing call exactly once and sets its status back to routing. The agent that held it is
 * copied to agent_out. Returns 1 when released, ERR_NOT_FOUND for an unknown call,
 * ERR_CONFLICT when the call is not ringing with a claim. */
int store_call_release_for_retry(store *st, const char *call_id, int64_t now_ms, char *agent_out,
                                 size_t agent_cap);

/* Rewrites the routing outcome of an existing call row: status, agent, rule, holds_claim,
 * tried_json, trace_json, updated_ms, ended_ms, queued_ms and queue_deadline_ms (by
 * call->id), only when the row's status is still `expected` (a call_status; -1: any).
 * Returns ERR_OK, ERR_NOT_FOUND, or ERR_CONFLICT when the status was not `expected` (for
 * example another daemon took the queued call first). */
int store_call_update_route(store *st, const store_call *call, int expected);

/* Filters of store_call_list; "" or 0 means no filter. Calls come newest first; `before`
 * is the cursor (a call id: only calls with a smaller id, i.e. older, are listed). */
typedef struct {
    int status; /* call_status, or -1 for any */
    char campaign[CONFIG_ID_MAX];
    char agent[CONFIG_ID_MAX];
    int64_t since_ms; /* created_ms >= since_ms */
    char before[STORE_CALL_ID_MAX];
    int limit; /* 1..1000 */
} store_call_filter;

/* Lists calls without their traces (trace_json is "{}" in the rows). On success *out is a
 * new array of *n rows: free each with store_call_clear() and the array with free(). */
int store_call_list(store *st, const store_call_filter *f, store_call **out, int *n);

/* Filters of store_callback_list: open is 1 (open only), 0 (done only) or -1 (any); rows
 * come newest first; `before_id` > 0 lists only ids below it; `since_ms` > 0 lists only
 * callbacks created or attempted again at or after that time. */
typedef struct {
    int open;
    char campaign[CONFIG_ID_MAX];
    long long before_id;
    int64_t since_ms;
    int limit; /* 1..1000 */
} store_callback_filter;

/* Lists callbacks. On success *out is a new array of *n rows the caller frees with free(). */
int store_callback_list(store *st, const store_callback_filter *f, store_callback **out, int *n);

/* Fetches one callback. Returns ERR_OK or ERR_NOT_FOUND. */
int store_callback_get(store *st, long long id, store_callback *out);

/* Completes an open callback: done, by `agent_id` (which must exist), with `note`.
 * Returns ERR_OK, ERR_NOT_FOUND (no such callback), ERR_INVALID (unknown agent) or
 * ERR_CONFLICT (already done). */
int store_callback_complete(store *st, long long id, const char *agent_id, const char *note,
                            int64_t now_ms);

/* Live figures for /metrics: calls holding a claim, agents available now (active,
 * registered, below their limit), open callbacks. */
typedef struct {
    long long active_calls;
    long long agents_available;
    long long open_callbacks;
    long long queued_calls; /* callers waiting in a queue */
} store_stats;

int store_stats_get(store *st, int64_t now_ms, store_stats *out);

/* A trivial query: ERR_OK when the database answers (readiness). */
int store_ping(store *st);

/* Who a presented secret belongs to. */
typedef enum { STORE_PRINCIPAL_ADMIN = 1, STORE_PRINCIPAL_AGENT } store_principal_kind;

typedef struct {
    store_principal_kind kind;
    long long id;               /* key or token row id */
    char name[CONFIG_NAME_MAX]; /* the admin key's name */
    char agent[CONFIG_ID_MAX];  /* the agent of an agent token */
} store_principal;

/* Stores a new admin key by the SHA-256 hex of its secret. Returns ERR_OK with *id set, or
 * ERR_CONFLICT when a live key already has that name. */
int store_apikey_create(store *st, const char *name, const char *secret_sha256, int64_t now_ms,
                        long long *id);

/* Revokes the live key named `name_or_id` (a name, or a decimal row id). Returns ERR_OK or
 * ERR_NOT_FOUND. */
int store_apikey_revoke(store *st, const char *name_or_id, int64_t now_ms);

/* Stores a new token for an existing agent. Returns ERR_OK with *id set, or ERR_NOT_FOUND
 * for an unknown agent. */
int store_agent_token_create(store *st, const char *agent_id, const char *secret_sha256,
                             int64_t now_ms, long long *id);

/* Finds the live key or agent token whose secret hashes to `secret_sha256`. Returns ERR_OK
 * with *out filled, or ERR_NOT_FOUND (unknown or revoked). */
int store_auth_lookup(store *st, const char *secret_sha256, store_principal *out);

/* Fetches the call recorded with external id `external_id` (a carrier's call id, unique
 * since migration 7). Returns ERR_OK, ERR_NOT_FOUND or another negative err_code. */
int store_call_find_external(store *st, const char *external_id, store_call *out);

/* Lists up to `limit` (1..1000) calls that hold a claim (ringing or connected) and have not
 * changed since before `updated_before_ms`, oldest change first, without their traces, for
 * the recovery sweep. Ownership as for store_call_list. */
int store_calls_stale(store *st, int64_t updated_before_ms, int limit, store_call **out, int *n);

/* ---- the call queue (issue 4, SPEC 3.7) ------------------------------------------------ */

/* Counts the calls waiting in `campaign`'s queue (every campaign's when NULL or ""). */
int store_queue_count(store *st, const char *campaign, long long *out);

/* Lists up to `limit` (1..1000) waiting calls, of `campaign` (every campaign when NULL or
 * ""), first come first served: by arrival (created_ms), then id. Rows come with their
 * traces. On success *out is a new array of *n rows: clear each with store_call_clear()
 * and free the array. */
int store_queue_list(store *st, const char *campaign, int limit, store_call **out, int *n);

/* The 1-based position of a waiting call in its campaign's queue: 1 + the waiting calls of
 * the same campaign that arrived before it. */
int store_queue_position(store *st, const store_call *call, long long *out);

/* The mean duration (ended - created, ms) and number of the campaign's calls completed at or
 * after since_ms, for the queue's wait estimate; *avg_ms is 0 when there were none. */
int store_queue_handle_time(store *st, const char *campaign, int64_t since_ms, long long *avg_ms,
                            long long *n);

/* ---- added for the daemon's group commit (server/route_writer) --------------------------- */

/* Sets after how many pages of write-ahead log a commit on this connection checkpoints by
 * itself (SQLite's wal_autocheckpoint; the store's default is 4000); 0 turns it off, for a
 * connection whose checkpoints another thread runs (store_checkpoint). Returns ERR_OK or
 * ERR_STORE. */
int store_autocheckpoint(store *st, int pages);

/* Copies the committed write-ahead log back into the database file without waiting for or
 * blocking other connections (a passive checkpoint; it syncs the files as the durability
 * setting asks). Returns the number of log frames not yet copied afterwards (0 when
 * everything was), or ERR_STORE. A checkpoint already running elsewhere is not an error. */
int store_checkpoint(store *st);

/* Ends `n` calls as store_call_end() would (final status completed), all in ONE
 * transaction (the caller's when one is open, else its own), and reads each ended call back
 * in it: results[i] is 1 (claim released), 0 (already released) or ERR_NOT_FOUND; when
 * `rows` is not NULL, rows[i] (zeroed by the caller) receives call i as its end left it,
 * without its trace (trace_json "{}"; id "" when not found; the caller clears each with
 * store_call_clear()). All or nothing: on any other error everything is rolled back (by
 * the caller when the transaction is the caller's), the rows are cleared and the error
 * returned. Returns ERR_OK or a negative err_code. */
int store_call_end_many(store *st, const char *const *call_ids, const int64_t *now_ms, int n,
                        int *results, store_call *rows);

/* ---- wake-ups between daemons (issue 6: PostgreSQL LISTEN/NOTIFY) ------------------------ */

/* On PostgreSQL every committed change that may free capacity for a waiting caller (a claim
 * released, an agent registered, changed or streaming, the configuration replaced) also
 * notifies the channel "sureconnect_capacity", whichever daemon or CLI made it.
 * store_listen subscribes this handle to it (again by itself after a reconnection). Returns
 * ERR_OK, or ERR_UNSUPPORTED on SQLite (a database file has no notifications: the periodic
 * sweep of the queue dispatcher covers changes made by other processes). */
int store_listen(store *st);

/* Waits up to timeout_ms for notifications on a listening handle. Returns how many came
 * (> 0), 0 when none came in time, or a negative err_code (the connection dropped; the next
 * call reconnects and listens again, and a caller should act as if notified). */
int store_wait_notify(store *st, int timeout_ms);

#endif
