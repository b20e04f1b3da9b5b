/* queue.c -- the call queue (SPEC 3.7): wait estimates, and the dispatch pass that hands
 * waiting callers to free agents and ends the waits that ran out. */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

#include "callflow.h"

long long queue_estimate_wait_s(long long position, long long avg_handle_ms, int slots)
{
    if (position < 1)
        return 0;
    if (avg_handle_ms < 0)
        avg_handle_ms = 0;
    long long per = slots > 1 ? slots : 1;
    long long total_ms = position * avg_handle_ms;
    return (total_ms / per + 999) / 1000;
}

int queue_staffed_slots(const config *cfg, int campaign, int64_t now_ms)
{
    int slots = 0;
    if (!cfg || campaign < 0 || campaign >= cfg->n_campaigns || cfg->n_agents == 0)
        return 0;
    unsigned char *seen = calloc((size_t)cfg->n_agents, 1);
    if (!seen)
        return 0;
    for (int r = 0; r < cfg->n_rules; r++) {
        const config_rule *rule = &cfg->rules[r];
        if (rule->campaign != campaign || !rule->enabled)
            continue;
        for (int m = 0; m < rule->n_members; m++) {
            int a = rule->members[m].agent;
            if (a < 0 || a >= cfg->n_agents || seen[a])
                continue;
            seen[a] = 1;
            const config_agent *ag = &cfg->agents[a];
            if (ag->status == AGENT_ACTIVE && ag->registered_until_ms > now_ms)
                slots += ag->max_concurrent;
        }
    }
    free(seen);
    return slots;
}

/* The mean handle time (ms) of campaign `campaign`'s calls completed in the last hour, or
 * QUEUE_DEFAULT_HANDLE_MS when it had none. */
static int queue_handle_ms(store *st, const config *cfg, int campaign, int64_t now_ms,
                           long long *avg_ms)
{
    long long avg = 0, n = 0;
    int rc = store_queue_handle_time(st, cfg->campaigns[campaign].id,
                                     now_ms - QUEUE_HANDLE_WINDOW_MS, &avg, &n);
    *avg_ms = n > 0 ? avg : QUEUE_DEFAULT_HANDLE_MS;
    return rc;
}

int queue_estimate(store *st, const config *cfg, int campaign, long long position, int64_t now_ms,
                   long long *wait_s)
{
    long long avg;
    if (!st || !cfg || campaign < 0 || campaign >= cfg->n_campaigns || !wait_s)
        return ERR_INVALID;
    int rc = queue_handle_ms(st, cfg, campaign, now_ms, &avg);
    if (rc < 0)
        return rc;
    *wait_s = queue_estimate_wait_s(position, avg, queue_staffed_slots(cfg, campaign, now_ms));
    return ERR_OK;
}

void queue_changes_free(queue_change *changes, int n)
{
    for (int i = 0; changes && i < n; i++)
        store_call_clear(&changes[i].call);
    free(changes);
}

/* A wait that ran out: the call ends with a callback (reason queue_timeout). Inside the
 * dispatch transaction; *row becomes the ended row. */
static int queue_time_out(store *st, store_call *row, int64_t now_ms, long long *callback_id)
{
    store_callback cb;
    row->status = CALL_CALLBACK;
    row->ended_ms = row->updated_ms = now_ms;
    row->queue_deadline_ms = 0;
    int rc = store_call_update_route(st, row, CALL_QUEUED);
    if (rc < 0)
        return rc;
    memset(&cb, 0, sizeof cb);
    memcpy(cb.call_id, row->id, sizeof cb.call_id);
    memcpy(cb.campaign, row->campaign, sizeof cb.campaign);
    memcpy(cb.tracking_number, row->tracking_number, sizeof cb.tracking_number);
    memcpy(cb.caller, row->caller, sizeof cb.caller);
    memcpy(cb.caller_state, row->caller_state, sizeof cb.caller_state);
    memcpy(cb.category, row->category, sizeof cb.category);
    strcpy(cb.reason, "queue_timeout");
    cb.created_ms = now_ms;
    rc = store_callback_upsert(st, &cb);
    *callback_id = cb.id;
    return rc;
}

/* The body of queue_dispatch, inside its transaction: fills changes[] from rows[] (whose
 * rows it takes over when they change). */
static int queue_dispatch_locked(store *st, int64_t now_ms, const rng_source *rng, store_call *rows,
                                 int n_rows, queue_change *changes, int *n_changes)
{
    config *cfg = NULL;
    callflow_outcome out;
    int rc = store_config_load(st, &cfg, NULL, 0);
    if (rc < 0)
        return rc;
    callflow_outcome_init(&out);
    for (int i = 0; i < n_rows && rc >= 0; i++) {
        queue_change *ch = &changes[*n_changes];
        long long waited = now_ms - rows[i].queued_ms;
        if (rows[i].queue_deadline_ms > 0 && rows[i].queue_deadline_ms <= now_ms) {
            rc = queue_time_out(st, &rows[i], now_ms, &ch->callback_id);
            if (rc < 0)
                break;
            ch->kind = QUEUE_TIMED_OUT;
        } else {
            out.call = rows[i]; /* lent: handed back below either way */
            rc = callflow_handoff_locked(st, cfg, now_ms, rng, &out);
            rows[i] = out.call;
            memset(&out.call, 0, sizeof out.call);
            if (rc <= 0)
                continue;
            ch->kind = QUEUE_HANDED_OFF;
        }
        ch->call = rows[i];
        ch->waited_ms = waited;
        memset(&rows[i], 0, sizeof rows[i]);
        (*n_changes)++;
    }
    callflow_outcome_free(&out);
    config_free(cfg);
    return rc < 0 ? rc : ERR_OK;
}

int queue_dispatch(store *st, int64_t now_ms, const rng_source *rng, queue_change **out, int *n)
{
    store_call *rows = NULL;
    long long waiting = 0;
    int n_rows = 0, n_changes = 0;
    if (!st || !rng || !out || !n)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    int rc = store_queue_count(st, NULL, &waiting);
    if (rc < 0 || waiting == 0)
        return rc;
    if ((rc = store_begin(st)) < 0)
        return rc;
    rc = store_queue_list(st, NULL, QUEUE_DISPATCH_MAX, &rows, &n_rows);
    queue_change *changes =
        rc == ERR_OK && n_rows > 0 ? calloc((size_t)n_rows, sizeof *changes) : NULL;
    if (rc == ERR_OK && n_rows > 0 && !changes)
        rc = ERR_NOMEM;
    if (rc == ERR_OK && n_rows > 0)
        rc = queue_dispatch_locked(st, now_ms, rng, rows, n_rows, changes, &n_changes);
    if (rc == ERR_OK)
        rc = store_commit(st);
    if (rc < 0) {
        store_rollback(st);
        queue_changes_free(changes, n_changes);
        changes = NULL;
        n_changes = 0;
    }
    for (int i = 0; i < n_rows; i++)
        store_call_clear(&rows[i]);
    free(rows);
    if (n_changes == 0) {
        free(changes);
        changes = NULL;
    }
    *out = changes;
    *n = n_changes;
    return rc;
}

void queue_entries_free(queue_entry *entries, int n)
{
    for (int i = 0; entries && i < n; i++)
        store_call_clear(&entries[i].call);
    free(entries);
}

int queue_entries(store *st, const char *campaign, int64_t now_ms, queue_entry **out, int *n)
{
    store_call *rows = NULL;
    config *cfg = NULL;
    long long *avg = NULL, *count = NULL;
    int *slots = NULL;
    int n_rows = 0;
    if (!st || !out || !n)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    int rc = store_queue_list(st, campaign, 1000, &rows, &n_rows);
    if (rc < 0 || n_rows == 0) {
        free(rows);
        return rc;
    }
    queue_entry *entries = calloc((size_t)n_rows, sizeof *entries);
    rc = entries ? store_config_load(st, &cfg, NULL, 0) : ERR_NOMEM;
    if (rc == ERR_OK) {
        /* Per campaign: callers counted so far (positions), handle time (-1: not read yet). */
        size_t nc = (size_t)cfg->n_campaigns + 1;
        avg = malloc(nc * sizeof *avg);
        count = calloc(nc, sizeof *count);
        slots = malloc(nc * sizeof *slots);
        if (!avg || !count || !slots)
            rc = ERR_NOMEM;
        for (size_t c = 0; rc == ERR_OK && c < nc; c++)
            avg[c] = -1;
    }
    /* Rows come by arrival over every campaign: positions count per campaign. */
    for (int i = 0; rc == ERR_OK && i < n_rows; i++) {
        queue_entry *e = &entries[i];
        int c = config_find_campaign(cfg, rows[i].campaign);
        int k = c >= 0 ? c : cfg->n_campaigns; /* a deleted campaign: counted apart */
        e->position = ++count[k];
        e->waited_ms = now_ms > rows[i].queued_ms ? now_ms - rows[i].queued_ms : 0;
        if (c >= 0 && avg[k] < 0) {
            rc = queue_handle_ms(st, cfg, c, now_ms, &avg[k]);
            slots[k] = queue_staffed_slots(cfg, c, now_ms);
        }
        if (c >= 0)
            e->estimated_wait_s = queue_estimate_wait_s(e->position, avg[k], slots[k]);
        free(rows[i].trace_json);
        rows[i].trace_json = NULL;
        e->call = rows[i];
        memset(&rows[i], 0, sizeof rows[i]);
    }
    free(avg);
    free(count);
    free(slots);
    config_free(cfg);
    for (int i = 0; i < n_rows; i++)
        store_call_clear(&rows[i]);
    free(rows);
    if (rc < 0) {
        queue_entries_free(entries, n_rows);
        return rc;
    }
    *out = entries;
    *n = n_rows;
    return ERR_OK;
}

int queue_call_place(store *st, const store_call *call, int64_t now_ms, long long *position,
                     long long *wait_s)
{
    config *cfg = NULL;
    if (!st || !call || !position || !wait_s)
        return ERR_INVALID;
    *position = *wait_s = 0;
    if (call->status != CALL_QUEUED)
        return ERR_OK;
    int rc = store_queue_position(st, call, position);
    if (rc == ERR_OK)
        rc = store_config_load(st, &cfg, NULL, 0);
    int c = rc == ERR_OK ? config_find_campaign(cfg, call->campaign) : -1;
    if (c >= 0)
        rc = queue_estimate(st, cfg, c, *position, now_ms, wait_s);
    config_free(cfg);
    return rc;
}

int queue_leave(store *st, const char *call_id, int64_t now_ms, store_call *row,
                long long *callback_id)
{
    if (!st || !call_id || !row || !callback_id)
        return ERR_INVALID;
    *callback_id = 0;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = store_call_get(st, call_id, row);
    if (rc == ERR_OK && row->status == CALL_QUEUED)
        rc = queue_time_out(st, row, now_ms, callback_id);
    rc = rc == ERR_OK ? store_commit(st) : rc;
    if (rc < 0) {
        store_rollback(st);
        store_call_clear(row);
        *callback_id = 0;
    }
    return rc;
}

int queue_requeue(store *st, const char *call_id, int64_t now_ms)
{
    char agent[CONFIG_ID_MAX];
    store_call row;
    config *cfg = NULL;
    if (!st || !call_id)
        return ERR_INVALID;
    memset(&row, 0, sizeof row);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = store_call_release_for_retry(st, call_id, now_ms, agent, sizeof agent)) < 0 ||
        (rc = store_call_get(st, call_id, &row)) < 0 ||
        (rc = store_config_load(st, &cfg, NULL, 0)) < 0)
        goto out;
    int c = config_find_campaign(cfg, row.campaign);
    row.status = CALL_QUEUED;
    row.agent[0] = row.rule[0] = '\0';
    row.holds_claim = false;
    row.updated_ms = now_ms;
    if (!row.queued_ms)
        row.queued_ms = now_ms;
    /* The deadline the caller had (a campaign deleted meanwhile: leave at the next pass). */
    row.queue_deadline_ms =
        c >= 0 ? row.queued_ms + (int64_t)cfg->campaigns[c].queue_max_wait_s * 1000 : now_ms;
    rc = store_call_update_route(st, &row, CALL_ROUTING);
out:
    rc = rc >= 0 ? store_commit(st) : rc;
    if (rc < 0)
        store_rollback(st);
    config_free(cfg);
    store_call_clear(&row);
    return rc < 0 ? rc : ERR_OK;
}
