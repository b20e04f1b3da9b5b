/* recovery.c -- the reconciliation sweep: counts, stuck ringing calls, silent connections. */
#include "recovery.h"

#include <stdlib.h>
#include <string.h>

void recovery_result_free(recovery_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_fixes; i++) {
        callflow_outcome_free(&r->fixes[i].outcome);
        store_call_clear(&r->fixes[i].ended);
    }
    free(r->fixes);
    memset(r, 0, sizeof *r);
}

/* The ring timeout of a call's campaign, in ms (20 s when the campaign is gone). */
static int64_t recovery_ring_ms(const config *cfg, const store_call *c)
{
    int i = config_find_campaign(cfg, c->campaign);
    return (int64_t)(i >= 0 ? cfg->campaigns[i].ring_timeout_s : 20) * 1000;
}

/* Tries one stale call; fills *fix and returns 1 when it was corrected, 0 when it needs
 * nothing (or changed meanwhile), or a negative err_code. */
static int recovery_fix_one(store *st, const config *cfg, const store_call *c, int64_t now_ms,
                            int64_t max_connected_ms, const rng_source *rng, recovery_fix *fix)
{
    memset(fix, 0, sizeof *fix);
    callflow_outcome_init(&fix->outcome);
    memcpy(fix->agent, c->agent, sizeof fix->agent);
    if (c->status == CALL_RINGING &&
        c->updated_ms + recovery_ring_ms(cfg, c) + RECOVERY_RING_GRACE_MS <= now_ms) {
        fix->kind = RECOVERY_RING_TIMEOUT;
        int rc = callflow_no_answer(st, c->id, now_ms, rng, &fix->outcome);
        return rc == ERR_OK ? 1 : rc == ERR_CONFLICT || rc == ERR_NOT_FOUND ? 0 : rc;
    }
    if (c->status == CALL_CONNECTED && c->updated_ms + max_connected_ms <= now_ms) {
        fix->kind = RECOVERY_CONNECTED_TOO_LONG;
        int rc = store_call_end(st, c->id, CALL_COMPLETED, now_ms);
        if (rc == 1)
            rc = store_call_get(st, c->id, &fix->ended);
        return rc == ERR_OK ? 1 : rc < 0 && rc != ERR_NOT_FOUND ? rc : 0;
    }
    return 0;
}

int recovery_sweep(store *st, int64_t now_ms, int64_t max_connected_ms, const rng_source *rng,
                   recovery_result *out)
{
    store_call *rows = NULL;
    config *cfg = NULL;
    int n = 0;
    if (!st || !rng || !out || max_connected_ms <= 0)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    int rc = store_reconcile_counts(st);
    if (rc < 0)
        return rc;
    out->counts_fixed = rc;
    /* The shortest ring timeout is 5 s: nothing changed later than that (or than the
     * connected maximum, when shorter) can be stuck. */
    int64_t recent = 5000 + RECOVERY_RING_GRACE_MS;
    int64_t before = now_ms - (max_connected_ms < recent ? max_connected_ms : recent);
    if ((rc = store_calls_stale(st, before, RECOVERY_BATCH, &rows, &n)) < 0 ||
        (n > 0 && (rc = store_config_load(st, &cfg, NULL, 0)) < 0))
        goto out_free;
    out->fixes = n > 0 ? calloc((size_t)n, sizeof *out->fixes) : NULL;
    if (n > 0 && !out->fixes) {
        rc = ERR_NOMEM;
        goto out_free;
    }
    for (int i = 0; i < n; i++) {
        recovery_fix *fix = &out->fixes[out->n_fixes];
        rc = recovery_fix_one(st, cfg, &rows[i], now_ms, max_connected_ms, rng, fix);
        if (rc == 1) {
            out->n_fixes++;
        } else {
            callflow_outcome_free(&fix->outcome);
            store_call_clear(&fix->ended);
        }
        if (rc < 0)
            break;
    }
    rc = rc < 0 ? rc : ERR_OK;
out_free:
    for (int i = 0; i < n; i++)
        store_call_clear(&rows[i]);
    free(rows);
    config_free(cfg);
    if (rc < 0)
        recovery_result_free(out);
    return rc;
}
