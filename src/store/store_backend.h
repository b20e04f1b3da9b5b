/* store_backend.h -- what the two store backends share with the dispatcher in store.c (not
 * for other modules): the list of the interface's per-handle functions, from which each
 * backend's prototypes (store_sqlite_NAME, store_pg_NAME) and store.c's dispatching
 * store_NAME are generated, and the tag that opens every handle. */
#ifndef SC_STORE_BACKEND_H
#define SC_STORE_BACKEND_H

#include "store.h"

/* The first member of each backend's struct store, so store.c can tell them apart without
 * knowing their layout (a pointer to a struct also points to its first member). */
typedef enum { STORE_KIND_SQLITE = 0x5173, STORE_KIND_PG = 0x5067 } store_kind;

/* Every function of store.h that takes a handle first, except store_close:
 * X(NAME, (PARAMETERS), (ARGUMENTS)); all return int. */
#define STORE_FUNCTIONS(X)                                                                         \
    X(schema_version, (store * st), (st))                                                          \
    X(begin, (store * st), (st))                                                                   \
    X(commit, (store * st), (st))                                                                  \
    X(rollback, (store * st), (st))                                                                \
    X(config_replace, (store * st, const config *cfg, char *errbuf, size_t errlen),                \
      (st, cfg, errbuf, errlen))                                                                   \
    X(config_load, (store * st, config * *out, char *errbuf, size_t errlen),                       \
      (st, out, errbuf, errlen))                                                                   \
    X(agent_set, (store * st, const char *agent_id, int status, int max_concurrent, int64_t now),  \
      (st, agent_id, status, max_concurrent, now))                                                 \
    X(agent_register, (store * st, const char *agent_id, int64_t until_ms),                        \
      (st, agent_id, until_ms))                                                                    \
    X(agent_unregister, (store * st, const char *agent_id), (st, agent_id))                        \
    X(agent_stream, (store * st, const char *agent_id, int64_t until_ms),                          \
      (st, agent_id, until_ms))                                                                    \
    X(claim, (store * st, const char *agent_id, int64_t now_ms), (st, agent_id, now_ms))           \
    X(rule_cursor_set, (store * st, const char *rule_id, const char *agent_id),                    \
      (st, rule_id, agent_id))                                                                     \
    X(call_insert, (store * st, store_call * call), (st, call))                                    \
    X(call_get, (store * st, const char *call_id, store_call *out), (st, call_id, out))            \
    X(call_end, (store * st, const char *call_id, call_status final_status, int64_t now_ms),       \
      (st, call_id, final_status, now_ms))                                                         \
    X(callback_upsert, (store * st, store_callback * cb), (st, cb))                                \
    X(reconcile_counts, (store * st), (st))                                                        \
    X(call_answer, (store * st, const char *call_id, int64_t now_ms), (st, call_id, now_ms))       \
    X(call_release_for_retry,                                                                      \
      (store * st, const char *call_id, int64_t now_ms, char *agent_out, size_t agent_cap),        \
      (st, call_id, now_ms, agent_out, agent_cap))                                                 \
    X(call_update_route, (store * st, const store_call *call, int expected), (st, call, expected)) \
    X(call_list, (store * st, const store_call_filter *f, store_call **out, int *n),               \
      (st, f, out, n))                                                                             \
    X(callback_list, (store * st, const store_callback_filter *f, store_callback **out, int *n),   \
      (st, f, out, n))                                                                             \
    X(callback_get, (store * st, long long id, store_callback *out), (st, id, out))                \
    X(callback_complete,                                                                           \
      (store * st, long long id, const char *agent_id, const char *note, int64_t now_ms),          \
      (st, id, agent_id, note, now_ms))                                                            \
    X(stats_get, (store * st, int64_t now_ms, store_stats * out), (st, now_ms, out))               \
    X(ping, (store * st), (st))                                                                    \
    X(apikey_create,                                                                               \
      (store * st, const char *name, const char *secret_sha256, int64_t now_ms, long long *id),    \
      (st, name, secret_sha256, now_ms, id))                                                       \
    X(apikey_revoke, (store * st, const char *name_or_id, int64_t now_ms),                         \
      (st, name_or_id, now_ms))                                                                    \
    X(agent_token_create,                                                                          \
      (store * st, const char *agent_id, const char *secret_sha256, int64_t now_ms,                \
       long long *id),                                                                             \
      (st, agent_id, secret_sha256, now_ms, id))                                                   \
    X(auth_lookup, (store * st, const char *secret_sha256, store_principal *out),                  \
      (st, secret_sha256, out))                                                                    \
    X(calls_stale, (store * st, int64_t updated_before_ms, int limit, store_call **out, int *n),   \
      (st, updated_before_ms, limit, out, n))                                                      \
    X(call_find_external, (store * st, const char *external_id, store_call *out),                  \
      (st, external_id, out))                                                                      \
    X(queue_count, (store * st, const char *campaign, long long *out), (st, campaign, out))        \
    X(queue_list, (store * st, const char *campaign, int limit, store_call **out, int *n),         \
      (st, campaign, limit, out, n))                                                               \
    X(queue_position, (store * st, const store_call *call, long long *out), (st, call, out))       \
    X(queue_handle_time,                                                                           \
      (store * st, const char *campaign, int64_t since_ms, long long *avg_ms, long long *n),       \
      (st, campaign, since_ms, avg_ms, n))                                                         \
    X(autocheckpoint, (store * st, int pages), (st, pages))                                        \
    X(checkpoint, (store * st), (st))                                                              \
    X(call_end_many,                                                                               \
      (store * st, const char *const *call_ids, const int64_t *now_ms, int n, int *results,        \
       store_call *rows),                                                                          \
      (st, call_ids, now_ms, n, results, rows))                                                    \
    X(listen, (store * st), (st))                                                                  \
    X(wait_notify, (store * st, int timeout_ms), (st, timeout_ms))

#endif
