/* store_sqlite.c -- the SQLite store (SPEC 3.5, 5): migrations, the configuration with its
 * cached snapshot, the one-statement claim, calls with an exactly-once release, callbacks. */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "migrations_sqlite.h"
#include "store_common.h"

#define STORE_BUSY_TIMEOUT_MS 5000 /* how long a writer waits for the lock before failing */

/* The columns store_call_row() reads, in its order, from STORE_CALL_FROM (the trace lives in
 * its own table since migration 7). */
#define STORE_CALL_COLS                                                                            \
    "c.id, c.external_id, c.campaign, c.tracking_number, c.caller, c.caller_state, c.category,"    \
    " c.status, c.agent, c.rule, c.holds_claim, c.tried_json, coalesce(t.trace_json, '{}'),"       \
    " c.created_ms, c.updated_ms, c.ended_ms, c.queued_ms, c.queue_deadline_ms"
#define STORE_CALL_FROM " FROM calls c LEFT JOIN call_traces t ON t.call_id = c.id"
/* The same columns without the trace ("{}" in its place), for replies that do not show it. */
#define STORE_CALL_COLS_BRIEF                                                                      \
    "id, external_id, campaign, tracking_number, caller, caller_state, category, status, agent,"   \
    " rule, holds_claim, tried_json, '{}', created_ms, updated_ms, ended_ms, queued_ms,"           \
    " queue_deadline_ms"

/* Statements of the hot path and of the small single-row operations, prepared on first use
 * and kept for the life of the handle. */
enum {
    Q_BEGIN,
    Q_BEGIN_READ,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_VERSION,
    Q_LIVE_AGENTS,
    Q_LIVE_RULES,
    Q_CLAIM,
    Q_CURSOR,
    Q_CALL_INSERT,
    Q_TRACE_PUT,
    Q_CALL_GET,
    Q_CALL_GET_BRIEF,
    Q_CALL_RELEASE,
    Q_CALL_AGENT,
    Q_AGENT_RELEASE,
    Q_CALL_FINISH,
    Q_CALL_EXISTS,
    Q_CALLBACK_UPSERT,
    Q_AGENT_SET,
    Q_AGENT_REGISTER,
    Q_AGENT_STREAM,
    Q_AUTH_LOOKUP,
    Q_COUNT
};

static const char *const store_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_VERSION] = "SELECT value FROM meta WHERE key = 'config_version'",
    [Q_LIVE_AGENTS] = "SELECT seq, status, max_concurrent, active_calls, registered_until_ms,"
                      " last_assigned_ms FROM agents",
    [Q_LIVE_RULES] = "SELECT seq, rr_last_agent FROM rules",
    /* The claim (SPEC 3.5): one conditional statement, so two connections can never both
     * take the last slot; the caller learns the outcome from the number of changed rows. */
    [Q_CLAIM] = "UPDATE agents SET active_calls = active_calls + 1, last_assigned_ms = ?1"
                " WHERE id = ?2 AND status = 'active' AND registered_until_ms > ?1"
                " AND active_calls < max_concurrent",
    [Q_CURSOR] = "UPDATE rules SET rr_last_agent = ?2 WHERE id = ?1",
    [Q_CALL_INSERT] = "INSERT INTO calls (id, external_id, campaign, tracking_number, caller,"
                      " caller_state, category, status, agent, rule, holds_claim, tried_json,"
                      " created_ms, updated_ms, ended_ms, queued_ms, queue_deadline_ms)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                      " ?15, ?16, ?17)",
    /* A call's trace: its latest decision's (migration 7). */
    [Q_TRACE_PUT] = "INSERT INTO call_traces (call_id, trace_json) VALUES (?1, ?2)"
                    " ON CONFLICT (call_id) DO UPDATE SET trace_json = excluded.trace_json",
    [Q_CALL_GET] = "SELECT " STORE_CALL_COLS STORE_CALL_FROM " WHERE c.id = ?1",
    [Q_CALL_GET_BRIEF] = "SELECT " STORE_CALL_COLS_BRIEF " FROM calls WHERE id = ?1",
    /* Clearing holds_claim and decrementing happen in one transaction, and only the
     * statement that actually cleared the flag goes on to decrement: exactly once. */
    [Q_CALL_RELEASE] = "UPDATE calls SET holds_claim = 0, status = ?2, ended_ms = ?3,"
                       " updated_ms = ?3 WHERE id = ?1 AND holds_claim = 1",
    /* The agent of a call whose claim was just released, in the same transaction. (Not a
     * RETURNING clause on the release: SQLite gathers RETURNING rows in a temporary table,
     * opened and closed on every call end.) */
    [Q_CALL_AGENT] = "SELECT agent FROM calls WHERE id = ?1",
    [Q_AGENT_RELEASE] = "UPDATE agents SET active_calls = active_calls - 1"
                        " WHERE id = ?1 AND active_calls > 0",
    /* A caller who hangs up while waiting in the queue abandoned the call (SPEC 3.7). */
    [Q_CALL_FINISH] = "UPDATE calls SET status = CASE status WHEN 'queued' THEN 'abandoned'"
                      " ELSE ?2 END, ended_ms = ?3, updated_ms = ?3, queue_deadline_ms = 0"
                      " WHERE id = ?1 AND status NOT IN ('completed', 'callback', 'abandoned',"
                      " 'failed') RETURNING status",
    [Q_CALL_EXISTS] = "SELECT 1 FROM calls WHERE id = ?1",
    [Q_CALLBACK_UPSERT] =
        "INSERT INTO callbacks (call_id, campaign, tracking_number, caller, caller_state,"
        " category, reason, open, completed_by, attempts, created_ms, updated_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, '', 1, ?8, ?8)"
        " ON CONFLICT (campaign, caller) WHERE open = 1 DO UPDATE SET"
        " attempts = attempts + 1, updated_ms = excluded.updated_ms,"
        " call_id = excluded.call_id, reason = excluded.reason"
        " RETURNING id, attempts, created_ms",
    [Q_AGENT_SET] = "UPDATE agents SET status = COALESCE(?2, status),"
                    " max_concurrent = CASE WHEN ?3 > 0 THEN ?3 ELSE max_concurrent END,"
                    " updated_ms = ?4 WHERE id = ?1",
    /* registered_until_ms is the later of the two registrations (migration 5). */
    [Q_AGENT_REGISTER] = "UPDATE agents SET presence_until_ms = ?2,"
                         " registered_until_ms = MAX(?2, stream_until_ms) WHERE id = ?1",
    [Q_AGENT_STREAM] = "UPDATE agents SET stream_until_ms = ?2,"
                       " registered_until_ms = MAX(presence_until_ms, ?2) WHERE id = ?1",
    /* Every API request runs it: prepared once per connection, not per request. */
    [Q_AUTH_LOOKUP] = "SELECT 1, id, name, '' FROM api_keys"
                      " WHERE secret_sha256 = ?1 AND revoked_ms = 0"
                      " UNION ALL SELECT 2, id, '', agent_id FROM agent_tokens"
                      " WHERE secret_sha256 = ?1 AND revoked_ms = 0 LIMIT 1",
};

struct store {
    store_kind kind; /* STORE_KIND_SQLITE: first, for store.c */
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    store_cache cache; /* the static configuration */
    char err[STORE_ERR_MAX];
};

/* ---- small helpers ------------------------------------------------------------------- */

static void store_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    store_common_copy(dst, cap, (const char *)sqlite3_column_text(s, col));
}

static void store_errout(const store *st, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        store_common_copy(errbuf, errlen, st->err);
}

/* Records SQLite's message for `what` and maps its result code to an err_code. */
static int store_fail(store *st, const char *what)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    snprintf(st->err, sizeof st->err, "%s: %s", what, sqlite3_errmsg(st->db));
    if (code == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    if (code == SQLITE_NOMEM)
        return ERR_NOMEM;
    return ERR_STORE;
}

static int store_nomem(store *st)
{
    snprintf(st->err, sizeof st->err, "out of memory");
    return ERR_NOMEM;
}

/* Returns the cached statement `which`, preparing it on first use; NULL on error. */
static sqlite3_stmt *store_stmt(store *st, int which)
{
    if (!st->q[which] && sqlite3_prepare_v3(st->db, store_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            &st->q[which], NULL) != SQLITE_OK) {
        store_fail(st, "prepare");
        st->q[which] = NULL;
    }
    return st->q[which];
}

/* Steps a statement that returns no rows we need, then resets it. */
static int store_run(store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    int err = rc == SQLITE_DONE ? ERR_OK : store_fail(st, what);
    sqlite3_reset(s);
    return err;
}

/* Runs cached statement `which` with no parameters. */
static int store_run_q(store *st, int which, const char *what)
{
    sqlite3_stmt *s = store_stmt(st, which);
    return s ? store_run(st, s, what) : ERR_STORE;
}

static int store_exec(store *st, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return ERR_OK;
    int code = sqlite3_errcode(st->db) & 0xff;
    snprintf(st->err, sizeof st->err, "%s: %s", what, msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    if (code == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    return code == SQLITE_NOMEM ? ERR_NOMEM : ERR_STORE;
}

/* Functions that "run their own transaction" start one (BEGIN IMMEDIATE) when none is
 * open; inside the caller's transaction they take a savepoint instead, so a failure undoes
 * only their own work. */
static int store_tx_enter(store *st, bool *nested)
{
    *nested = !sqlite3_get_autocommit(st->db);
    if (*nested)
        return store_exec(st, "SAVEPOINT store_op", "savepoint");
    return store_run_q(st, Q_BEGIN, "begin");
}

static int store_tx_leave(store *st, bool nested, int rc)
{
    if (rc >= 0) {
        int c = nested ? store_exec(st, "RELEASE store_op", "release")
                       : store_run_q(st, Q_COMMIT, "commit");
        if (c == ERR_OK)
            return rc;
        rc = c;
    }
    char keep[STORE_ERR_MAX];
    store_common_copy(keep, sizeof keep, st->err);
    if (nested) {
        store_exec(st, "ROLLBACK TO store_op", "rollback");
        store_exec(st, "RELEASE store_op", "release");
    } else if (!sqlite3_get_autocommit(st->db)) {
        store_run_q(st, Q_ROLLBACK, "rollback");
    }
    store_common_copy(st->err, sizeof st->err, keep);
    return rc;
}

/* ---- open, migrations, close ---------------------------------------------------------- */

/* Waits for another connection's write lock in short steps. SQLite's default handler
 * sleeps 1, 2, 5, 10 ... ms, which leaves the lock idle long after a short writer is done
 * and caps throughput when several connections route at once. Gives up after about
 * STORE_BUSY_TIMEOUT_MS. */
static int store_busy_wait(void *arg, int count)
{
    (void)arg;
    long step_us = count < 20 ? 50 : count < 100 ? 250 : 1000;
    long waited_us = count < 20    ? count * 50L
                     : count < 100 ? 1000 + (count - 20) * 250L
                                   : 21000 + (count - 100) * 1000L;
    if (waited_us >= STORE_BUSY_TIMEOUT_MS * 1000L)
        return 0;
    struct timespec ts = {0, step_us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

static int store_max_version(store *st, int *version)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1,
                           &s, NULL) != SQLITE_OK)
        return store_fail(st, "schema version");
    int rc = sqlite3_step(s);
    int err = ERR_OK;
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    else
        err = store_fail(st, "schema version");
    sqlite3_finalize(s);
    return err;
}

/* Applies one migration in its own transaction, unless another connection got there first
 * (the check runs under the write lock). */
static int store_apply_migration(store *st, const store_sqlite_migration *m)
{
    char what[96];
    int current = 0;
    sqlite3_stmt *s = NULL;
    int rc = store_run_q(st, Q_BEGIN, "begin migration");
    if (rc < 0)
        return rc;
    rc = store_max_version(st, &current);
    if (rc < 0 || current >= m->version)
        goto out_end_tx;
    snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
    rc = store_exec(st, m->sql, what);
    if (rc < 0)
        goto out_end_tx;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO schema_migrations (version, name, applied_ms)"
                           " VALUES (?1, ?2, ?3)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = store_fail(st, what);
        goto out_end_tx;
    }
    sqlite3_bind_int(s, 1, m->version);
    sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, store_common_wall_ms());
    rc = store_run(st, s, what);
    sqlite3_finalize(s);
out_end_tx:
    return store_tx_leave(st, false, rc);
}

static int store_migrate(store *st)
{
    int version = 0;
    int rc = store_exec(st, STORE_SQLITE_MIGRATIONS_TABLE, "create schema_migrations");
    if (rc < 0)
        return rc;
    rc = store_max_version(st, &version);
    if (rc < 0)
        return rc;
    if (version > STORE_SQLITE_MIGRATIONS_COUNT) {
        snprintf(st->err, sizeof st->err,
                 "the database has schema version %d, newer than this build's %d", version,
                 STORE_SQLITE_MIGRATIONS_COUNT);
        return ERR_UNSUPPORTED;
    }
    for (int i = version; i < STORE_SQLITE_MIGRATIONS_COUNT; i++) {
        rc = store_apply_migration(st, &store_sqlite_migrations[i]);
        if (rc < 0)
            return rc;
    }
    return ERR_OK;
}

int store_sqlite_open(const char *path, store **out, char *errbuf, size_t errlen)
{
    int rc;
    if (!path || !out)
        return ERR_INVALID;
    *out = NULL;
    store *st = calloc(1, sizeof *st);
    if (!st) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return ERR_NOMEM;
    }
    st->kind = STORE_KIND_SQLITE;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(st->err, sizeof st->err, "cannot open %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        rc = ERR_STORE;
        goto out_close;
    }
    sqlite3_busy_handler(st->db, store_busy_wait, NULL);
    /* WAL lets readers run beside the one writer. synchronous=NORMAL in WAL mode syncs at
     * checkpoints, not at every commit: a committed transaction survives a killed process
     * (kill -9), and only a power loss or OS crash can drop the last few commits. Every
     * route dirties the same few hot pages (agents, index tails), so checkpointing every
     * 4000 pages instead of 1000 writes each of them back far less often; the page cache
     * (16 MB) keeps the random call-id index pages in memory as the table grows. */
    rc = store_exec(st,
                    "PRAGMA journal_mode = WAL;"
                    "PRAGMA synchronous = NORMAL;"
                    "PRAGMA foreign_keys = ON;"
                    "PRAGMA wal_autocheckpoint = 4000;"
                    "PRAGMA cache_size = -16384;",
                    "configure database");
    if (rc < 0)
        goto out_close;
    rc = store_migrate(st);
    if (rc < 0)
        goto out_close;
    *out = st;
    return ERR_OK;

out_close:
    store_errout(st, errbuf, errlen);
    store_sqlite_close(st);
    return rc;
}

void store_sqlite_close(store *st)
{
    if (!st)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    store_common_cache_free(&st->cache);
    free(st);
}

int store_sqlite_schema_version(store *st)
{
    int version = 0;
    if (!st)
        return ERR_INVALID;
    int rc = store_max_version(st, &version);
    return rc < 0 ? rc : version;
}

/* ---- transactions --------------------------------------------------------------------- */

int store_sqlite_begin(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (!sqlite3_get_autocommit(st->db)) {
        snprintf(st->err, sizeof st->err, "a transaction is already open");
        return ERR_CONFLICT;
    }
    return store_run_q(st, Q_BEGIN, "begin");
}

int store_sqlite_commit(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (sqlite3_get_autocommit(st->db)) {
        snprintf(st->err, sizeof st->err, "no transaction is open");
        return ERR_CONFLICT;
    }
    int rc = store_run_q(st, Q_COMMIT, "commit");
    if (rc < 0 && !sqlite3_get_autocommit(st->db))
        store_run_q(st, Q_ROLLBACK, "rollback");
    return rc;
}

int store_sqlite_rollback(store *st)
{
    if (!st)
        return ERR_INVALID;
    if (sqlite3_get_autocommit(st->db))
        return ERR_OK;
    return store_run_q(st, Q_ROLLBACK, "rollback");
}

/* ---- configuration: replace ----------------------------------------------------------- */

enum {
    R_DROP_MEMBERS,
    R_DROP_NUMBERS,
    R_MARK_AGENTS,
    R_UPSERT_AGENT,
    R_COUNT_AGENTS,
    R_DELETE_AGENTS,
    R_MARK_CAMPAIGNS,
    R_UPSERT_CAMPAIGN,
    R_COUNT_CAMPAIGNS,
    R_DELETE_CAMPAIGNS,
    R_MARK_RULES,
    R_UPSERT_RULE,
    R_COUNT_RULES,
    R_DELETE_RULES,
    R_INSERT_NUMBER,
    R_INSERT_MEMBER,
    R_BUMP_VERSION,
    R_COUNT
};

/* Existing rows are first marked with seq = -1; the upserts give every row of the new
 * configuration its seq; rows still marked are the removed ones. Live columns
 * (active_calls, registered_until_ms, last_assigned_ms, rr_last_agent) are never in an
 * upsert's SET list, so remaining agents and rules keep them. */
static const char *const store_replace_sql[R_COUNT] = {
    [R_DROP_MEMBERS] = "DELETE FROM rule_members",
    [R_DROP_NUMBERS] = "DELETE FROM tracking_numbers",
    [R_MARK_AGENTS] = "UPDATE agents SET seq = -1",
    [R_UPSERT_AGENT] =
        "INSERT INTO agents (id, seq, name, status, max_concurrent, states, categories,"
        " softphone_type, softphone_address, registered_until_ms, last_assigned_ms, updated_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, name = excluded.name,"
        " status = excluded.status, max_concurrent = excluded.max_concurrent,"
        " states = excluded.states, categories = excluded.categories,"
        " softphone_type = excluded.softphone_type,"
        " softphone_address = excluded.softphone_address, updated_ms = excluded.updated_ms",
    [R_COUNT_AGENTS] = "SELECT count(*) FROM agents WHERE seq >= 0",
    [R_DELETE_AGENTS] = "DELETE FROM agents WHERE seq < 0",
    [R_MARK_CAMPAIGNS] = "UPDATE campaigns SET seq = -1",
    [R_UPSERT_CAMPAIGN] =
        "INSERT INTO campaigns (id, seq, name, default_category, ring_timeout_s, queue_enabled,"
        " queue_max_size, queue_max_wait_s, hold_music_url, friendly_message,"
        " discord_webhook_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, name = excluded.name,"
        " default_category = excluded.default_category,"
        " ring_timeout_s = excluded.ring_timeout_s, queue_enabled = excluded.queue_enabled,"
        " queue_max_size = excluded.queue_max_size,"
        " queue_max_wait_s = excluded.queue_max_wait_s,"
        " hold_music_url = excluded.hold_music_url,"
        " friendly_message = excluded.friendly_message,"
        " discord_webhook_url = excluded.discord_webhook_url",
    [R_COUNT_CAMPAIGNS] = "SELECT count(*) FROM campaigns WHERE seq >= 0",
    [R_DELETE_CAMPAIGNS] = "DELETE FROM campaigns WHERE seq < 0",
    [R_MARK_RULES] = "UPDATE rules SET seq = -1",
    [R_UPSERT_RULE] =
        "INSERT INTO rules (id, seq, campaign_id, name, position, enabled, states, categories,"
        " mode, rr_last_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,"
        " campaign_id = excluded.campaign_id, name = excluded.name,"
        " position = excluded.position, enabled = excluded.enabled,"
        " states = excluded.states, categories = excluded.categories, mode = excluded.mode",
    [R_COUNT_RULES] = "SELECT count(*) FROM rules WHERE seq >= 0",
    [R_DELETE_RULES] = "DELETE FROM rules WHERE seq < 0",
    [R_INSERT_NUMBER] =
        "INSERT INTO tracking_numbers (number, campaign_id, category) VALUES (?1, ?2, ?3)",
    [R_INSERT_MEMBER] = ("INSERT INTO rule_members (rule_id, seq, agent_id, priority, weight)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)"),
    [R_BUMP_VERSION] = "UPDATE meta SET value = value + 1 WHERE key = 'config_version'",
};

static int store_expect_count(store *st, sqlite3_stmt *s, int want, const char *kind)
{
    int rc = sqlite3_step(s);
    int have = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    int err = rc == SQLITE_ROW ? ERR_OK : store_fail(st, kind);
    sqlite3_reset(s);
    if (err == ERR_OK && have != want) {
        snprintf(st->err, sizeof st->err, "duplicate %s id in the configuration", kind);
        err = ERR_INVALID;
    }
    return err;
}

static int store_write_agents(store *st, const config *cfg, sqlite3_stmt **q, int64_t now)
{
    char states[STORE_STATES_TEXT_MAX], cats[STORE_CATEGORIES_TEXT_MAX], what[96];
    sqlite3_stmt *s = q[R_UPSERT_AGENT];
    for (int i = 0; i < cfg->n_agents; i++) {
        const config_agent *a = &cfg->agents[i];
        store_common_states_text(a->states, states, sizeof states);
        store_common_categories_text(cfg, a->categories, cats, sizeof cats);
        sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, a->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, config_status_name(a->status), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, a->max_concurrent);
        sqlite3_bind_text(s, 6, states, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, cats, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, config_softphone_name(a->softphone), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 9, a->softphone_address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 10, a->registered_until_ms);
        sqlite3_bind_int64(s, 11, a->last_assigned_ms);
        sqlite3_bind_int64(s, 12, now);
        snprintf(what, sizeof what, "agent %s", a->id);
        int rc = store_run(st, s, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, q[R_COUNT_AGENTS], cfg->n_agents, "agent");
}

static int store_write_campaigns(store *st, const config *cfg, sqlite3_stmt **q)
{
    char what[96];
    sqlite3_stmt *s = q[R_UPSERT_CAMPAIGN];
    for (int i = 0; i < cfg->n_campaigns; i++) {
        const config_campaign *c = &cfg->campaigns[i];
        sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, c->default_category, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, c->ring_timeout_s);
        sqlite3_bind_int(s, 6, c->queue_enabled ? 1 : 0);
        sqlite3_bind_int(s, 7, c->queue_max_size);
        sqlite3_bind_int(s, 8, c->queue_max_wait_s);
        sqlite3_bind_text(s, 9, c->hold_music_url, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, c->friendly_message, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 11, c->discord_webhook_url, -1, SQLITE_STATIC);
        snprintf(what, sizeof what, "campaign %s", c->id);
        int rc = store_run(st, s, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, q[R_COUNT_CAMPAIGNS], cfg->n_campaigns, "campaign");
}

static int store_write_rules(store *st, const config *cfg, sqlite3_stmt **q)
{
    char states[STORE_STATES_TEXT_MAX], cats[STORE_CATEGORIES_TEXT_MAX], what[96];
    sqlite3_stmt *s = q[R_UPSERT_RULE];
    for (int i = 0; i < cfg->n_rules; i++) {
        const config_rule *r = &cfg->rules[i];
        store_common_states_text(r->states, states, sizeof states);
        store_common_categories_text(cfg, r->categories, cats, sizeof cats);
        sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, cfg->campaigns[r->campaign].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, r->position);
        sqlite3_bind_int(s, 6, r->enabled ? 1 : 0);
        sqlite3_bind_text(s, 7, states, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, cats, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 9, config_mode_name(r->mode), -1, SQLITE_STATIC);
        if (r->rr_last_agent >= 0)
            sqlite3_bind_text(s, 10, cfg->agents[r->rr_last_agent].id, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 10);
        snprintf(what, sizeof what, "rule %s", r->id);
        int rc = store_run(st, s, what);
        if (rc < 0)
            return rc;
    }
    return store_expect_count(st, q[R_COUNT_RULES], cfg->n_rules, "rule");
}

static int store_write_numbers_members(store *st, const config *cfg, sqlite3_stmt **q)
{
    char what[96];
    sqlite3_stmt *s = q[R_INSERT_NUMBER];
    for (int i = 0; i < cfg->n_numbers; i++) {
        const config_number *n = &cfg->numbers[i];
        sqlite3_bind_text(s, 1, n->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, cfg->campaigns[n->campaign].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, n->category, -1, SQLITE_STATIC);
        snprintf(what, sizeof what, "tracking number %s", n->number);
        int rc = store_run(st, s, what);
        if (rc < 0)
            return rc;
    }
    s = q[R_INSERT_MEMBER];
    for (int i = 0; i < cfg->n_rules; i++) {
        const config_rule *r = &cfg->rules[i];
        for (int m = 0; m < r->n_members; m++) {
            sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 2, m);
            sqlite3_bind_text(s, 3, cfg->agents[r->members[m].agent].id, -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 4, r->members[m].priority);
            sqlite3_bind_int(s, 5, r->members[m].weight);
            snprintf(what, sizeof what, "rule %s member %d", r->id, m);
            int rc = store_run(st, s, what);
            if (rc < 0)
                return rc;
        }
    }
    return ERR_OK;
}

int store_sqlite_config_replace(store *st, const config *cfg, char *errbuf, size_t errlen)
{
    sqlite3_stmt *q[R_COUNT] = {0};
    bool nested = false;
    int rc;
    if (!st || !cfg)
        return ERR_INVALID;
    rc = store_common_check_indexes(cfg, st->err, sizeof st->err);
    if (rc < 0)
        goto out_report;
    for (int i = 0; i < R_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, store_replace_sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            rc = store_fail(st, "prepare");
            goto out_finalize;
        }
    }
    rc = store_tx_enter(st, &nested);
    if (rc < 0)
        goto out_finalize;
    static const int steps_before[] = {R_DROP_MEMBERS, R_DROP_NUMBERS, R_MARK_AGENTS};
    for (size_t i = 0; rc >= 0 && i < sizeof steps_before / sizeof steps_before[0]; i++)
        rc = store_run(st, q[steps_before[i]], "clear configuration");
    if (rc >= 0)
        rc = store_write_agents(st, cfg, q, store_common_wall_ms());
    if (rc >= 0)
        rc = store_run(st, q[R_DELETE_AGENTS], "delete removed agents");
    if (rc >= 0)
        rc = store_run(st, q[R_MARK_CAMPAIGNS], "mark campaigns");
    if (rc >= 0)
        rc = store_write_campaigns(st, cfg, q);
    if (rc >= 0)
        rc = store_run(st, q[R_MARK_RULES], "mark rules");
    if (rc >= 0)
        rc = store_write_rules(st, cfg, q);
    if (rc >= 0)
        rc = store_run(st, q[R_DELETE_RULES], "delete removed rules");
    /* Only now: a removed campaign's delete cascades to its rules, and a rule that moved
     * to another campaign must have moved first to keep its cursor. */
    if (rc >= 0)
        rc = store_run(st, q[R_DELETE_CAMPAIGNS], "delete removed campaigns");
    if (rc >= 0)
        rc = store_write_numbers_members(st, cfg, q);
    if (rc >= 0)
        rc = store_run(st, q[R_BUMP_VERSION], "bump configuration version");
    /* A constraint failure means the configuration itself is bad, not the database. */
    if (rc == ERR_CONFLICT)
        rc = ERR_INVALID;
    rc = store_tx_leave(st, nested, rc);
out_finalize:
    for (int i = 0; i < R_COUNT; i++)
        sqlite3_finalize(q[i]);
out_report:
    if (rc < 0)
        store_errout(st, errbuf, errlen);
    return rc < 0 ? rc : ERR_OK;
}

/* ---- configuration: load -------------------------------------------------------------- */

static int store_load_campaigns(store *st, config *cfg, sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        config_campaign c;
        memset(&c, 0, sizeof c);
        if (sqlite3_column_int(s, 0) != cfg->n_campaigns) {
            snprintf(st->err, sizeof st->err, "campaign order is corrupt");
            return ERR_STORE;
        }
        store_col_copy(s, 1, c.id, sizeof c.id);
        store_col_copy(s, 2, c.name, sizeof c.name);
        store_col_copy(s, 3, c.default_category, sizeof c.default_category);
        c.ring_timeout_s = sqlite3_column_int(s, 4);
        c.queue_enabled = sqlite3_column_int(s, 5) != 0;
        c.queue_max_size = sqlite3_column_int(s, 6);
        c.queue_max_wait_s = sqlite3_column_int(s, 7);
        store_col_copy(s, 8, c.hold_music_url, sizeof c.hold_music_url);
        store_col_copy(s, 9, c.friendly_message, sizeof c.friendly_message);
        store_col_copy(s, 10, c.discord_webhook_url, sizeof c.discord_webhook_url);
        if (c.default_category[0] && !config_category_bit(cfg, c.default_category)) {
            snprintf(st->err, sizeof st->err, "bad category of campaign %s", c.id);
            return ERR_STORE;
        }
        if (config_add_campaign(cfg, &c) < 0)
            return store_nomem(st);
    }
    return rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load campaigns");
}

static int store_load_agents(store *st, config *cfg, sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        config_agent a;
        memset(&a, 0, sizeof a);
        if (sqlite3_column_int(s, 0) != cfg->n_agents) {
            snprintf(st->err, sizeof st->err, "agent order is corrupt");
            return ERR_STORE;
        }
        store_col_copy(s, 1, a.id, sizeof a.id);
        store_col_copy(s, 2, a.name, sizeof a.name);
        a.status = (agent_status)store_common_parse_status((const char *)sqlite3_column_text(s, 3));
        a.max_concurrent = sqlite3_column_int(s, 4);
        a.active_calls = sqlite3_column_int(s, 5);
        rc = store_common_parse_list(cfg, (const char *)sqlite3_column_text(s, 6), true, &a.states,
                                     st->err, sizeof st->err);
        if (rc == ERR_OK)
            rc = store_common_parse_list(cfg, (const char *)sqlite3_column_text(s, 7), false,
                                         &a.categories, st->err, sizeof st->err);
        if (rc < 0)
            return rc;
        int soft = config_softphone_parse((const char *)sqlite3_column_text(s, 8));
        a.softphone = soft < 0 ? SOFTPHONE_CLIENT : (softphone_type)soft;
        store_col_copy(s, 9, a.softphone_address, sizeof a.softphone_address);
        a.registered_until_ms = sqlite3_column_int64(s, 10);
        a.last_assigned_ms = sqlite3_column_int64(s, 11);
        if (config_add_agent(cfg, &a) < 0)
            return store_nomem(st);
    }
    return rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load agents");
}

static int store_load_numbers(store *st, config *cfg, sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        config_number n;
        memset(&n, 0, sizeof n);
        store_col_copy(s, 0, n.number, sizeof n.number);
        n.campaign = sqlite3_column_int(s, 1);
        store_col_copy(s, 2, n.category, sizeof n.category);
        if (n.category[0] && !config_category_bit(cfg, n.category)) {
            snprintf(st->err, sizeof st->err, "bad category of number %s", n.number);
            return ERR_STORE;
        }
        if (config_add_number(cfg, &n) < 0)
            return store_nomem(st);
    }
    return rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load tracking numbers");
}

/* Loads one rule's members (statement `m`, bound to the rule id) into a growing array. */
static int store_load_members(store *st, sqlite3_stmt *m, const char *rule_id,
                              config_member **members, int *cap, int *n)
{
    int rc;
    *n = 0;
    sqlite3_bind_text(m, 1, rule_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(m)) == SQLITE_ROW) {
        if (*n == *cap) {
            int ncap = *cap ? *cap * 2 : 16;
            config_member *grown = realloc(*members, (size_t)ncap * sizeof *grown);
            if (!grown) {
                sqlite3_reset(m);
                return store_nomem(st);
            }
            *members = grown;
            *cap = ncap;
        }
        config_member *cm = &(*members)[(*n)++];
        cm->agent = sqlite3_column_int(m, 0);
        cm->priority = sqlite3_column_int(m, 1);
        cm->weight = sqlite3_column_int(m, 2);
    }
    int err = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load rule members");
    sqlite3_reset(m);
    return err;
}

/* Loads the rules; *ids receives each rule's id by seq (caller frees) to map seq -> index
 * once config_finish() has sorted the rules. */
static int store_load_rules(store *st, config *cfg, sqlite3_stmt *s, sqlite3_stmt *m,
                            char (**ids)[CONFIG_ID_MAX])
{
    config_member *members = NULL;
    int cap_members = 0, cap_ids = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        config_rule r;
        memset(&r, 0, sizeof r);
        if (sqlite3_column_int(s, 0) != cfg->n_rules) {
            snprintf(st->err, sizeof st->err, "rule order is corrupt");
            rc = ERR_STORE;
            goto out_free_members;
        }
        store_col_copy(s, 1, r.id, sizeof r.id);
        r.campaign = sqlite3_column_int(s, 2);
        store_col_copy(s, 3, r.name, sizeof r.name);
        r.position = sqlite3_column_int(s, 4);
        r.enabled = sqlite3_column_int(s, 5) != 0;
        rc = store_common_parse_list(cfg, (const char *)sqlite3_column_text(s, 6), true, &r.states,
                                     st->err, sizeof st->err);
        if (rc == ERR_OK)
            rc = store_common_parse_list(cfg, (const char *)sqlite3_column_text(s, 7), false,
                                         &r.categories, st->err, sizeof st->err);
        if (rc < 0)
            goto out_free_members;
        int mode = config_mode_parse((const char *)sqlite3_column_text(s, 8));
        r.mode = mode < 0 ? MODE_PRIORITY : (dist_mode)mode;
        r.rr_last_agent = -1; /* live: applied on every load */
        rc = store_load_members(st, m, r.id, &members, &cap_members, &r.n_members);
        if (rc < 0)
            goto out_free_members;
        r.members = members;
        if (store_common_ids_push(ids, &cap_ids, cfg->n_rules, r.id) < 0 ||
            config_add_rule(cfg, &r) < 0) {
            rc = store_nomem(st);
            goto out_free_members;
        }
    }
    rc = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load rules");
out_free_members:
    free(members);
    return rc;
}

static const char *const store_load_sql[] = {
    "SELECT seq, id, name, default_category, ring_timeout_s, queue_enabled, queue_max_size,"
    " queue_max_wait_s, hold_music_url, friendly_message, discord_webhook_url"
    " FROM campaigns ORDER BY seq",
    "SELECT seq, id, name, status, max_concurrent, active_calls, states, categories,"
    " softphone_type, softphone_address, registered_until_ms, last_assigned_ms"
    " FROM agents ORDER BY seq",
    "SELECT n.number, c.seq, n.category FROM tracking_numbers n"
    " JOIN campaigns c ON c.id = n.campaign_id ORDER BY n.number",
    "SELECT r.seq, r.id, c.seq, r.name, r.position, r.enabled, r.states, r.categories, r.mode"
    " FROM rules r JOIN campaigns c ON c.id = r.campaign_id ORDER BY r.seq",
    "SELECT a.seq, m.priority, m.weight FROM rule_members m"
    " JOIN agents a ON a.id = m.agent_id WHERE m.rule_id = ?1 ORDER BY m.seq",
};

enum { L_CAMPAIGNS, L_AGENTS, L_NUMBERS, L_RULES, L_MEMBERS, L_COUNT };

/* Reads the whole static configuration into a new cache (inside the caller's read
 * transaction) and replaces the handle's cache with it. */
static int store_reload_cache(store *st, long long version)
{
    sqlite3_stmt *q[L_COUNT] = {0};
    char(*ids)[CONFIG_ID_MAX] = NULL;
    int rc = ERR_OK;
    config *cfg = config_new();
    if (!cfg)
        return store_nomem(st);
    for (int i = 0; i < L_COUNT; i++) {
        if (sqlite3_prepare_v2(st->db, store_load_sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            rc = store_fail(st, "prepare");
            goto out_finalize;
        }
    }
    rc = store_load_campaigns(st, cfg, q[L_CAMPAIGNS]);
    if (rc == ERR_OK)
        rc = store_load_agents(st, cfg, q[L_AGENTS]);
    if (rc == ERR_OK)
        rc = store_load_numbers(st, cfg, q[L_NUMBERS]);
    if (rc == ERR_OK)
        rc = store_load_rules(st, cfg, q[L_RULES], q[L_MEMBERS], &ids);
    if (rc < 0)
        goto out_finalize;
    if (store_common_cache_install(&st->cache, cfg, ids, version) < 0) {
        rc = store_nomem(st);
        goto out_finalize;
    }
    cfg = NULL;
out_finalize:
    for (int i = 0; i < L_COUNT; i++)
        sqlite3_finalize(q[i]);
    free(ids);
    config_free(cfg);
    return rc;
}

/* Applies the live columns of agents and rules to a copy of the cache. */
static int store_apply_live(store *st, config *cfg)
{
    sqlite3_stmt *s = store_stmt(st, Q_LIVE_AGENTS);
    int rc;
    if (!s)
        return ERR_STORE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int i = sqlite3_column_int(s, 0);
        if (i < 0 || i >= cfg->n_agents)
            continue; /* cannot happen under the version check; never index out of range */
        config_agent *a = &cfg->agents[i];
        a->status =
            (agent_status)store_common_parse_status((const char *)sqlite3_column_text(s, 1));
        a->max_concurrent = sqlite3_column_int(s, 2);
        a->active_calls = sqlite3_column_int(s, 3);
        a->registered_until_ms = sqlite3_column_int64(s, 4);
        a->last_assigned_ms = sqlite3_column_int64(s, 5);
    }
    int err = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load agent state");
    sqlite3_reset(s);
    if (err < 0)
        return err;
    if (!(s = store_stmt(st, Q_LIVE_RULES)))
        return ERR_STORE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int seq = sqlite3_column_int(s, 0);
        store_common_cache_set_cursor(&st->cache, cfg, seq,
                                      (const char *)sqlite3_column_text(s, 1));
    }
    err = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "load rule cursors");
    sqlite3_reset(s);
    return err;
}

int store_sqlite_config_load(store *st, config **out, char *errbuf, size_t errlen)
{
    config *cfg = NULL;
    int rc;
    if (!st || !out)
        return ERR_INVALID;
    *out = NULL;
    /* One read transaction, so the version, the agents and the cursors are one snapshot. */
    bool own = sqlite3_get_autocommit(st->db);
    if (own && (rc = store_run_q(st, Q_BEGIN_READ, "begin read")) < 0)
        goto out_report;
    sqlite3_stmt *s = store_stmt(st, Q_VERSION);
    if (!s) {
        rc = ERR_STORE;
        goto out_end_read;
    }
    rc = sqlite3_step(s);
    long long version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    rc = rc == SQLITE_ROW ? ERR_OK : store_fail(st, "configuration version");
    sqlite3_reset(s);
    if (rc < 0)
        goto out_end_read;
    if (!store_common_cache_fresh(&st->cache, version)) {
        rc = store_reload_cache(st, version);
        if (rc < 0)
            goto out_end_read;
    }
    cfg = config_clone(st->cache.cfg);
    if (!cfg) {
        rc = store_nomem(st);
        goto out_end_read;
    }
    rc = store_apply_live(st, cfg);
out_end_read:
    if (own) {
        int c = store_run_q(st, rc < 0 ? Q_ROLLBACK : Q_COMMIT, "end read");
        if (rc == ERR_OK)
            rc = c;
    }
out_report:
    if (rc < 0) {
        config_free(cfg);
        store_errout(st, errbuf, errlen);
        return rc;
    }
    *out = cfg;
    return ERR_OK;
}

/* ---- agents ----------------------------------------------------------------------------- */

static int store_changed_or_missing(store *st, sqlite3_stmt *s, const char *what)
{
    int rc = store_run(st, s, what);
    if (rc < 0)
        return rc;
    return sqlite3_changes(st->db) > 0 ? ERR_OK : ERR_NOT_FOUND;
}

int store_sqlite_agent_set(store *st, const char *agent_id, int status, int max_concurrent,
                           int64_t now_ms)
{
    if (!st || !agent_id || status > AGENT_DEACTIVATED)
        return ERR_INVALID;
    sqlite3_stmt *s = store_stmt(st, Q_AGENT_SET);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
    if (status >= 0)
        sqlite3_bind_text(s, 2, config_status_name((agent_status)status), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int(s, 3, max_concurrent > 0 ? max_concurrent : 0);
    sqlite3_bind_int64(s, 4, now_ms);
    return store_changed_or_missing(st, s, "set agent");
}

int store_sqlite_agent_register(store *st, const char *agent_id, int64_t until_ms)
{
    if (!st || !agent_id)
        return ERR_INVALID;
    sqlite3_stmt *s = store_stmt(st, Q_AGENT_REGISTER);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, until_ms);
    return store_changed_or_missing(st, s, "register agent");
}

int store_sqlite_agent_unregister(store *st, const char *agent_id)
{
    return store_sqlite_agent_register(st, agent_id, 0);
}

int store_sqlite_agent_stream(store *st, const char *agent_id, int64_t until_ms)
{
    if (!st || !agent_id)
        return ERR_INVALID;
    sqlite3_stmt *s = store_stmt(st, Q_AGENT_STREAM);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, until_ms);
    return store_changed_or_missing(st, s, "stream registration");
}

/* ---- the claim and the cursor ----------------------------------------------------------- */

int store_sqlite_claim(store *st, const char *agent_id, int64_t now_ms)
{
    if (!st || !agent_id)
        return ERR_INVALID;
    sqlite3_stmt *s = store_stmt(st, Q_CLAIM);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_text(s, 2, agent_id, -1, SQLITE_STATIC);
    int rc = store_run(st, s, "claim");
    if (rc < 0)
        return rc;
    return sqlite3_changes(st->db) == 1 ? 1 : 0;
}

int store_sqlite_rule_cursor_set(store *st, const char *rule_id, const char *agent_id)
{
    if (!st || !rule_id || !agent_id)
        return ERR_INVALID;
    sqlite3_stmt *s = store_stmt(st, Q_CURSOR);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, rule_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, agent_id, -1, SQLITE_STATIC);
    return store_changed_or_missing(st, s, "move round-robin cursor");
}

/* ---- calls ------------------------------------------------------------------------------ */

/* Writes call->trace_json as the call's trace (a new one, or replacing the previous
 * decision's), inside the caller's transaction. */
static int store_trace_put(store *st, const store_call *call)
{
    sqlite3_stmt *s = store_stmt(st, Q_TRACE_PUT);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, call->trace_json ? call->trace_json : "{}", -1, SQLITE_STATIC);
    return store_run(st, s, "write trace");
}

int store_sqlite_call_insert(store *st, store_call *call)
{
    if (!st || !call || (int)call->status < CALL_ROUTING || call->status > CALL_FAILED)
        return ERR_INVALID;
    if (!call->id[0]) {
        int rc = store_common_new_call_id(call->created_ms, call->id, st->err, sizeof st->err);
        if (rc < 0)
            return rc;
    }
    sqlite3_stmt *s = store_stmt(st, Q_CALL_INSERT);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, call->external_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, call->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, call->tracking_number, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, call->caller, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, call->caller_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, call->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, store_call_status_name(call->status), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, call->agent, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, call->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 11, call->holds_claim ? 1 : 0);
    sqlite3_bind_text(s, 12, call->tried_json ? call->tried_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 13, call->created_ms);
    sqlite3_bind_int64(s, 14, call->updated_ms ? call->updated_ms : call->created_ms);
    sqlite3_bind_int64(s, 15, call->ended_ms);
    sqlite3_bind_int64(s, 16, call->queued_ms);
    sqlite3_bind_int64(s, 17, call->queue_deadline_ms);
    /* The row and its trace go together: in the caller's transaction, or in one of their
     * own when none is open. */
    bool own = sqlite3_get_autocommit(st->db);
    int rc = own ? store_run_q(st, Q_BEGIN, "begin") : ERR_OK;
    if (rc < 0)
        return rc;
    rc = store_run(st, s, "insert call");
    if (rc == ERR_OK)
        rc = store_trace_put(st, call);
    return own ? store_tx_leave(st, false, rc) : rc;
}

static char *store_col_strdup(sqlite3_stmt *s, int col)
{
    return store_common_strdup((const char *)sqlite3_column_text(s, col));
}

/* Reads the STORE_CALL_COLS of the current row of `s` into *out (zeroed first). Returns
 * ERR_OK, or ERR_NOMEM (then *out is cleared). */
static int store_call_row(store *st, sqlite3_stmt *s, store_call *out)
{
    memset(out, 0, sizeof *out);
    store_col_copy(s, 0, out->id, sizeof out->id);
    store_col_copy(s, 1, out->external_id, sizeof out->external_id);
    store_col_copy(s, 2, out->campaign, sizeof out->campaign);
    store_col_copy(s, 3, out->tracking_number, sizeof out->tracking_number);
    store_col_copy(s, 4, out->caller, sizeof out->caller);
    store_col_copy(s, 5, out->caller_state, sizeof out->caller_state);
    store_col_copy(s, 6, out->category, sizeof out->category);
    int status = store_call_status_parse((const char *)sqlite3_column_text(s, 7));
    out->status = status < 0 ? CALL_FAILED : (call_status)status;
    store_col_copy(s, 8, out->agent, sizeof out->agent);
    store_col_copy(s, 9, out->rule, sizeof out->rule);
    out->holds_claim = sqlite3_column_int(s, 10) != 0;
    out->tried_json = store_col_strdup(s, 11);
    out->trace_json = store_col_strdup(s, 12);
    out->created_ms = sqlite3_column_int64(s, 13);
    out->updated_ms = sqlite3_column_int64(s, 14);
    out->ended_ms = sqlite3_column_int64(s, 15);
    out->queued_ms = sqlite3_column_int64(s, 16);
    out->queue_deadline_ms = sqlite3_column_int64(s, 17);
    if (!out->tried_json || !out->trace_json) {
        store_call_clear(out);
        return store_nomem(st);
    }
    return ERR_OK;
}

/* Reads call `call_id` with the cached statement `which` (Q_CALL_GET, or Q_CALL_GET_BRIEF
 * without the trace). */
static int store_call_read(store *st, int which, const char *call_id, store_call *out)
{
    if (!st || !call_id || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = store_stmt(st, which);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = store_call_row(st, s, out);
    else
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : store_fail(st, "get call");
    sqlite3_reset(s);
    return rc;
}

int store_sqlite_call_get(store *st, const char *call_id, store_call *out)
{
    return store_call_read(st, Q_CALL_GET, call_id, out);
}

/* store_call_get without the trace (trace_json "{}"): the row alone, one b-tree lookup. */
static int store_call_get_brief(store *st, const char *call_id, store_call *out)
{
    return store_call_read(st, Q_CALL_GET_BRIEF, call_id, out);
}

/* Steps a bound "UPDATE calls ... WHERE id = call_id AND holds_claim = 1" that clears one
 * call's claim, and when it did, gives the claim back to that agent in the same
 * transaction (the agent may have been deleted meanwhile: then there is nothing to
 * decrement). Resets `s`. The agent's id goes to agent[cap]. Returns 1 when a claim was
 * released, 0 when the call held none, or a negative err_code. */
static int store_release_claim(store *st, sqlite3_stmt *s, const char *call_id, const char *what,
                               char *agent, size_t cap)
{
    int rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? ERR_OK : store_fail(st, what);
    bool released = rc == ERR_OK && sqlite3_changes(st->db) == 1;
    sqlite3_reset(s);
    if (rc < 0 || !released)
        return rc;
    sqlite3_stmt *q = store_stmt(st, Q_CALL_AGENT);
    if (!q)
        return ERR_STORE;
    sqlite3_bind_text(q, 1, call_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        store_col_copy(q, 0, agent, cap);
    rc = rc == SQLITE_ROW ? ERR_OK : store_fail(st, "read the released call");
    sqlite3_reset(q);
    if (rc < 0)
        return rc;
    sqlite3_stmt *dec = store_stmt(st, Q_AGENT_RELEASE);
    if (!dec)
        return ERR_STORE;
    sqlite3_bind_text(dec, 1, agent, -1, SQLITE_STATIC);
    rc = store_run(st, dec, "release agent");
    return rc < 0 ? rc : 1;
}

/* The callback of a caller who left the queue (reason "abandoned"), from the call row. */
static int store_abandon_callback(store *st, const char *call_id, int64_t now_ms)
{
    store_call row;
    store_callback cb;
    int rc = store_call_get_brief(st, call_id, &row);
    if (rc < 0)
        return rc;
    store_common_abandoned_callback(&row, now_ms, &cb);
    store_call_clear(&row);
    return cb.campaign[0] ? store_sqlite_callback_upsert(st, &cb) : ERR_OK;
}

/* The body of store_sqlite_call_end, inside its transaction. */
static int store_call_end_locked(store *st, const char *call_id, call_status final_status,
                                 int64_t now_ms)
{
    char agent[CONFIG_ID_MAX];
    sqlite3_stmt *s = store_stmt(st, Q_CALL_RELEASE);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, store_call_status_name(final_status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    int rc = store_release_claim(st, s, call_id, "release call", agent, sizeof agent);
    if (rc != 0)
        return rc;
    /* No claim held: finish a call that is still open, leaving counts alone. */
    if (!(s = store_stmt(st, Q_CALL_FINISH)))
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, store_call_status_name(final_status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    rc = sqlite3_step(s);
    bool finished = rc == SQLITE_ROW;
    bool abandoned = finished && strcmp((const char *)sqlite3_column_text(s, 0), "abandoned") == 0;
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "finish call");
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    if (abandoned)
        return store_abandon_callback(st, call_id, now_ms);
    if (finished)
        return ERR_OK;
    if (!(s = store_stmt(st, Q_CALL_EXISTS)))
        return ERR_STORE;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    int err = rc == SQLITE_ROW    ? ERR_OK
              : rc == SQLITE_DONE ? ERR_NOT_FOUND
                                  : store_fail(st, "find call");
    sqlite3_reset(s);
    return err;
}

int store_sqlite_call_end(store *st, const char *call_id, call_status final_status, int64_t now_ms)
{
    bool nested;
    if (!st || !call_id || !store_common_status_is_final(final_status))
        return ERR_INVALID;
    int rc = store_tx_enter(st, &nested);
    if (rc < 0)
        return rc;
    rc = store_call_end_locked(st, call_id, final_status, now_ms);
    /* ERR_NOT_FOUND changed nothing; committing it is as good as rolling back. */
    if (rc == ERR_NOT_FOUND)
        return store_tx_leave(st, nested, ERR_OK) < 0 ? ERR_STORE : ERR_NOT_FOUND;
    return store_tx_leave(st, nested, rc);
}

/* ---- callbacks and reconciliation -------------------------------------------------------- */

int store_sqlite_callback_upsert(store *st, store_callback *cb)
{
    if (!st || !cb || !cb->campaign[0] || !cb->reason[0])
        return ERR_INVALID;
    int64_t now = cb->created_ms ? cb->created_ms : store_common_wall_ms();
    sqlite3_stmt *s = store_stmt(st, Q_CALLBACK_UPSERT);
    if (!s)
        return ERR_STORE;
    sqlite3_bind_text(s, 1, cb->call_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, cb->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, cb->tracking_number, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, cb->caller, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, cb->caller_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, cb->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, cb->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        cb->id = sqlite3_column_int64(s, 0);
        cb->attempts = sqlite3_column_int(s, 1);
        cb->created_ms = sqlite3_column_int64(s, 2);
        cb->updated_ms = now;
        cb->open = true;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            ;
    }
    rc = rc == SQLITE_DONE ? ERR_OK : store_fail(st, "upsert callback");
    sqlite3_reset(s);
    return rc;
}

int store_sqlite_reconcile_counts(store *st)
{
    bool nested;
    if (!st)
        return ERR_INVALID;
    int rc = store_tx_enter(st, &nested);
    if (rc < 0)
        return rc;
    rc = store_exec(st,
                    "UPDATE agents SET active_calls = (SELECT count(*) FROM calls"
                    "  WHERE calls.agent = agents.id AND calls.holds_claim = 1)"
                    " WHERE active_calls <> (SELECT count(*) FROM calls"
                    "  WHERE calls.agent = agents.id AND calls.holds_claim = 1)",
                    "reconcile counts");
    if (rc == ERR_OK)
        rc = sqlite3_changes(st->db);
    return store_tx_leave(st, nested, rc);
}

/* ---- added for the daemon (issue 3): call transitions, lists, stats, auth --------------- */

/* These run rarely compared with the routing hot path, so each prepares its statement on
 * the spot instead of adding to the cached set above. */
static int store_prep(store *st, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK) {
        *s = NULL;
        return store_fail(st, "prepare");
    }
    return ERR_OK;
}

/* Runs a one-row lookup that yields a status text for a call: ERR_NOT_FOUND when absent. */
static int store_call_status_of(store *st, const char *call_id, call_status *status,
                                bool *holds_claim)
{
    sqlite3_stmt *s;
    int rc = store_prep(st, "SELECT status, holds_claim FROM calls WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int v = store_call_status_parse((const char *)sqlite3_column_text(s, 0));
        *status = v < 0 ? CALL_FAILED : (call_status)v;
        *holds_claim = sqlite3_column_int(s, 1) != 0;
        rc = ERR_OK;
    } else {
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : store_fail(st, "call status");
    }
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_call_answer(store *st, const char *call_id, int64_t now_ms)
{
    sqlite3_stmt *s;
    call_status status;
    bool holds;
    if (!st || !call_id)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "UPDATE calls SET status = 'connected', updated_ms = ?2"
                        " WHERE id = ?1 AND status = 'ringing' AND holds_claim = 1",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = store_run(st, s, "answer call");
    sqlite3_finalize(s);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(st->db) > 0)
        return 1;
    rc = store_call_status_of(st, call_id, &status, &holds);
    if (rc < 0)
        return rc;
    if (status == CALL_CONNECTED)
        return 0;
    snprintf(st->err, sizeof st->err, "the call is %s, not ringing",
             store_call_status_name(status));
    return ERR_CONFLICT;
}

int store_sqlite_call_release_for_retry(store *st, const char *call_id, int64_t now_ms,
                                        char *agent_out, size_t agent_cap)
{
    sqlite3_stmt *s;
    call_status status;
    bool holds;
    if (!st || !call_id || !agent_out || agent_cap == 0)
        return ERR_INVALID;
    agent_out[0] = '\0';
    int rc = store_prep(st,
                        "UPDATE calls SET holds_claim = 0, status = 'routing', updated_ms = ?2"
                        " WHERE id = ?1 AND status = 'ringing' AND holds_claim = 1",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, call_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    rc = store_release_claim(st, s, call_id, "release call for retry", agent_out, agent_cap);
    sqlite3_finalize(s);
    if (rc != 0)
        return rc;
    rc = store_call_status_of(st, call_id, &status, &holds);
    if (rc < 0)
        return rc;
    snprintf(st->err, sizeof st->err, "the call is %s, not ringing",
             store_call_status_name(status));
    return ERR_CONFLICT;
}

int store_sqlite_call_update_route(store *st, const store_call *call, int expected)
{
    sqlite3_stmt *s;
    call_status status;
    bool holds;
    if (!st || !call || !call->id[0] || expected > CALL_FAILED)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "UPDATE calls SET status = ?2, agent = ?3, rule = ?4, holds_claim = ?5,"
                        " tried_json = ?6, updated_ms = ?7, ended_ms = ?8,"
                        " queued_ms = ?9, queue_deadline_ms = ?10"
                        " WHERE id = ?1 AND (?11 = '' OR status = ?11)",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, call->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, store_call_status_name(call->status), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, call->agent, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, call->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, call->holds_claim ? 1 : 0);
    sqlite3_bind_text(s, 6, call->tried_json ? call->tried_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, call->updated_ms);
    sqlite3_bind_int64(s, 8, call->ended_ms);
    sqlite3_bind_int64(s, 9, call->queued_ms);
    sqlite3_bind_int64(s, 10, call->queue_deadline_ms);
    sqlite3_bind_text(s, 11, expected >= 0 ? store_call_status_name((call_status)expected) : "", -1,
                      SQLITE_STATIC);
    rc = store_changed_or_missing(st, s, "update call");
    sqlite3_finalize(s);
    if (rc == ERR_OK)
        return store_trace_put(st, call);
    if (rc != ERR_NOT_FOUND || expected < 0)
        return rc;
    rc = store_call_status_of(st, call->id, &status, &holds);
    if (rc < 0)
        return rc;
    snprintf(st->err, sizeof st->err, "the call is %s, not %s", store_call_status_name(status),
             store_call_status_name((call_status)expected));
    return ERR_CONFLICT;
}

/* Steps a bound query of STORE_CALL_COLS into a new array of at most `limit` rows (see
 * store_sqlite_call_list for ownership). Does not finalize `s`. */
static int store_call_rows(store *st, sqlite3_stmt *s, int limit, store_call **out, int *n,
                           const char *what)
{
    int count = 0, rc = SQLITE_DONE;
    store_call *rows = calloc((size_t)limit, sizeof *rows);
    if (!rows)
        return store_nomem(st);
    while (count < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        rc = store_call_row(st, s, &rows[count]);
        if (rc < 0)
            goto out_free_rows;
        count++;
    }
    if (count < limit && rc != SQLITE_DONE) {
        rc = store_fail(st, what);
        goto out_free_rows;
    }
    *out = rows;
    *n = count;
    return ERR_OK;
out_free_rows:
    for (int i = 0; i < count; i++)
        store_call_clear(&rows[i]);
    free(rows);
    return rc;
}

int store_sqlite_call_list(store *st, const store_call_filter *f, store_call **out, int *n)
{
    sqlite3_stmt *s;
    if (!st || !f || !out || !n || f->limit < 1 || f->limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    int rc = store_prep(st,
                        "SELECT id, external_id, campaign, tracking_number, caller, caller_state,"
                        " category, status, agent, rule, holds_claim, tried_json, '{}',"
                        " created_ms, updated_ms, ended_ms, queued_ms, queue_deadline_ms"
                        " FROM calls"
                        " WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR campaign = ?2)"
                        " AND (?3 = '' OR agent = ?3) AND created_ms >= ?4"
                        " AND (?5 = '' OR id < ?5) ORDER BY id DESC LIMIT ?6",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, f->status >= 0 ? store_call_status_name((call_status)f->status) : "",
                      -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, f->since_ms);
    sqlite3_bind_text(s, 5, f->before, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, f->limit);
    rc = store_call_rows(st, s, f->limit, out, n, "list calls");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_calls_stale(store *st, int64_t updated_before_ms, int limit, store_call **out,
                             int *n)
{
    sqlite3_stmt *s;
    if (!st || !out || !n || limit < 1 || limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    /* holds_claim = 1 lets SQLite walk the small partial index of claim-holding calls. */
    int rc = store_prep(st,
                        "SELECT " STORE_CALL_COLS_BRIEF " FROM calls WHERE holds_claim = 1"
                        " AND updated_ms < ?1 ORDER BY updated_ms LIMIT ?2",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, updated_before_ms);
    sqlite3_bind_int(s, 2, limit);
    rc = store_call_rows(st, s, limit, out, n, "stale calls");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_call_find_external(store *st, const char *external_id, store_call *out)
{
    sqlite3_stmt *s;
    if (!st || !external_id || !external_id[0] || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    int rc =
        store_prep(st, "SELECT " STORE_CALL_COLS STORE_CALL_FROM " WHERE c.external_id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, external_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = store_call_row(st, s, out);
    else
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : store_fail(st, "find call");
    sqlite3_finalize(s);
    return rc;
}

/* ---- the call queue (issue 4) ------------------------------------------------------------ */

int store_sqlite_queue_count(store *st, const char *campaign, long long *out)
{
    sqlite3_stmt *s;
    if (!st || !out)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "SELECT count(*) FROM calls WHERE status = 'queued'"
                        " AND (?1 = '' OR campaign = ?1)",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, campaign ? campaign : "", -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW ? ERR_OK : store_fail(st, "count queue");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_queue_list(store *st, const char *campaign, int limit, store_call **out, int *n)
{
    sqlite3_stmt *s;
    if (!st || !out || !n || limit < 1 || limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    int rc = store_prep(st,
                        "SELECT " STORE_CALL_COLS STORE_CALL_FROM " WHERE c.status = 'queued'"
                        " AND (?1 = '' OR c.campaign = ?1) ORDER BY c.created_ms, c.id LIMIT ?2",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, campaign ? campaign : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    rc = store_call_rows(st, s, limit, out, n, "list queue");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_queue_position(store *st, const store_call *call, long long *out)
{
    sqlite3_stmt *s;
    if (!st || !call || !out)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "SELECT count(*) FROM calls WHERE status = 'queued' AND campaign = ?1"
                        " AND (created_ms < ?2 OR (created_ms = ?2 AND id < ?3))",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, call->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, call->created_ms);
    sqlite3_bind_text(s, 3, call->id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) + 1 : 0;
    rc = rc == SQLITE_ROW ? ERR_OK : store_fail(st, "queue position");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_queue_handle_time(store *st, const char *campaign, int64_t since_ms,
                                   long long *avg_ms, long long *n)
{
    static const char hex[] = "0123456789abcdef";
    char lower[13];
    sqlite3_stmt *s;
    if (!st || !campaign || !avg_ms || !n)
        return ERR_INVALID;
    /* Call ids start with their creation time (48 bits of ms in hex), so the primary key
     * limits the scan to the calls created since then, without an index of its own. */
    uint64_t t = since_ms > 0 ? (uint64_t)since_ms : 0;
    for (int i = 0; i < 12; i++)
        lower[i] = hex[(t >> (4 * (11 - i))) & 15];
    lower[12] = '\0';
    int rc = store_prep(st,
                        "SELECT coalesce(avg(ended_ms - created_ms), 0), count(*) FROM calls"
                        " WHERE id >= ?1 AND campaign = ?2 AND status = 'completed'"
                        " AND ended_ms >= created_ms",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, lower, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    *avg_ms = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
    rc = rc == SQLITE_ROW ? ERR_OK : store_fail(st, "handle time");
    sqlite3_finalize(s);
    return rc;
}

#define STORE_CALLBACK_COLS                                                                        \
    "id, call_id, campaign, tracking_number, caller, caller_state, category, reason, open,"        \
    " completed_by, attempts, created_ms, updated_ms"

static void store_callback_row(sqlite3_stmt *s, store_callback *cb)
{
    memset(cb, 0, sizeof *cb);
    cb->id = sqlite3_column_int64(s, 0);
    store_col_copy(s, 1, cb->call_id, sizeof cb->call_id);
    store_col_copy(s, 2, cb->campaign, sizeof cb->campaign);
    store_col_copy(s, 3, cb->tracking_number, sizeof cb->tracking_number);
    store_col_copy(s, 4, cb->caller, sizeof cb->caller);
    store_col_copy(s, 5, cb->caller_state, sizeof cb->caller_state);
    store_col_copy(s, 6, cb->category, sizeof cb->category);
    store_col_copy(s, 7, cb->reason, sizeof cb->reason);
    cb->open = sqlite3_column_int(s, 8) != 0;
    store_col_copy(s, 9, cb->completed_by, sizeof cb->completed_by);
    cb->attempts = sqlite3_column_int(s, 10);
    cb->created_ms = sqlite3_column_int64(s, 11);
    cb->updated_ms = sqlite3_column_int64(s, 12);
}

int store_sqlite_callback_list(store *st, const store_callback_filter *f, store_callback **out,
                               int *n)
{
    sqlite3_stmt *s;
    store_callback *rows = NULL;
    int count = 0;
    if (!st || !f || !out || !n || f->limit < 1 || f->limit > 1000)
        return ERR_INVALID;
    *out = NULL;
    *n = 0;
    int rc = store_prep(st,
                        "SELECT " STORE_CALLBACK_COLS " FROM callbacks"
                        " WHERE (?1 < 0 OR open = ?1) AND (?2 = '' OR campaign = ?2)"
                        " AND (?3 <= 0 OR id < ?3) AND (?5 <= 0 OR updated_ms >= ?5)"
                        " ORDER BY id DESC LIMIT ?4",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(s, 1, f->open);
    sqlite3_bind_text(s, 2, f->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, f->before_id);
    sqlite3_bind_int(s, 4, f->limit);
    sqlite3_bind_int64(s, 5, f->since_ms);
    rows = calloc((size_t)f->limit, sizeof *rows);
    if (!rows) {
        rc = store_nomem(st);
        goto out_finalize;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && count < f->limit)
        store_callback_row(s, &rows[count++]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = store_fail(st, "list callbacks");
        free(rows);
        goto out_finalize;
    }
    *out = rows;
    *n = count;
    rc = ERR_OK;
out_finalize:
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_callback_get(store *st, long long id, store_callback *out)
{
    sqlite3_stmt *s;
    if (!st || !out)
        return ERR_INVALID;
    int rc = store_prep(st, "SELECT " STORE_CALLBACK_COLS " FROM callbacks WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        store_callback_row(s, out);
        rc = ERR_OK;
    } else {
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : store_fail(st, "get callback");
    }
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_callback_complete(store *st, long long id, const char *agent_id, const char *note,
                                   int64_t now_ms)
{
    sqlite3_stmt *s = NULL;
    store_callback cb;
    bool nested;
    if (!st || !agent_id)
        return ERR_INVALID;
    int rc = store_tx_enter(st, &nested);
    if (rc < 0)
        return rc;
    rc = store_sqlite_callback_get(st, id, &cb);
    if (rc < 0)
        goto out_leave;
    if (!cb.open) {
        snprintf(st->err, sizeof st->err, "callback %lld is already done", id);
        rc = ERR_CONFLICT;
        goto out_leave;
    }
    if ((rc = store_prep(st, "SELECT 1 FROM agents WHERE id = ?1", &s)) < 0)
        goto out_leave;
    sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_ROW ? ERR_OK : rc == SQLITE_DONE ? ERR_INVALID : store_fail(st, "agent");
    sqlite3_finalize(s);
    if (rc < 0)
        goto out_leave;
    if ((rc = store_prep(st,
                         "UPDATE callbacks SET open = 0, completed_by = ?2, note = ?3,"
                         " updated_ms = ?4 WHERE id = ?1 AND open = 1",
                         &s)) < 0)
        goto out_leave;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, note ? note : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    rc = store_run(st, s, "complete callback");
    sqlite3_finalize(s);
out_leave:
    /* Not found, conflict and a bad agent changed nothing: leave the transaction cleanly. */
    if (rc == ERR_NOT_FOUND || rc == ERR_CONFLICT || rc == ERR_INVALID) {
        int keep = rc;
        return store_tx_leave(st, nested, ERR_OK) < 0 ? ERR_STORE : keep;
    }
    return store_tx_leave(st, nested, rc);
}

/* Runs a one-column count query with `now_ms` bound as ?1 (when it uses it). */
static int store_count(store *st, const char *sql, int64_t now_ms, long long *out)
{
    sqlite3_stmt *s;
    int rc = store_prep(st, sql, &s);
    if (rc < 0)
        return rc;
    if (sqlite3_bind_parameter_count(s) > 0)
        sqlite3_bind_int64(s, 1, now_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = ERR_OK;
    } else {
        rc = store_fail(st, "count");
    }
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_stats_get(store *st, int64_t now_ms, store_stats *out)
{
    if (!st || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    int rc = store_count(st, "SELECT count(*) FROM calls WHERE holds_claim = 1", now_ms,
                         &out->active_calls);
    if (rc == ERR_OK)
        rc = store_count(st,
                         "SELECT count(*) FROM agents WHERE status = 'active'"
                         " AND registered_until_ms > ?1 AND active_calls < max_concurrent",
                         now_ms, &out->agents_available);
    if (rc == ERR_OK)
        rc = store_count(st, "SELECT count(*) FROM callbacks WHERE open = 1", now_ms,
                         &out->open_callbacks);
    if (rc == ERR_OK)
        rc = store_count(st, "SELECT count(*) FROM calls WHERE status = 'queued'", now_ms,
                         &out->queued_calls);
    return rc;
}

int store_sqlite_ping(store *st)
{
    long long one = 0;
    if (!st)
        return ERR_INVALID;
    return store_count(st, "SELECT count(*) FROM meta", 0, &one);
}

int store_sqlite_apikey_create(store *st, const char *name, const char *secret_sha256,
                               int64_t now_ms, long long *id)
{
    sqlite3_stmt *s;
    if (!st || !name || !name[0] || !secret_sha256 || !id)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "INSERT INTO api_keys (name, secret_sha256, created_ms)"
                        " VALUES (?1, ?2, ?3)",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, secret_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    rc = store_run(st, s, "create key");
    sqlite3_finalize(s);
    if (rc == ERR_OK)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_sqlite_apikey_revoke(store *st, const char *name_or_id, int64_t now_ms)
{
    sqlite3_stmt *s;
    if (!st || !name_or_id || !name_or_id[0])
        return ERR_INVALID;
    int rc = store_prep(st,
                        "UPDATE api_keys SET revoked_ms = ?2 WHERE revoked_ms = 0"
                        " AND (name = ?1 OR CAST(id AS TEXT) = ?1)",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, name_or_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms > 0 ? now_ms : 1);
    rc = store_changed_or_missing(st, s, "revoke key");
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_agent_token_create(store *st, const char *agent_id, const char *secret_sha256,
                                    int64_t now_ms, long long *id)
{
    sqlite3_stmt *s;
    if (!st || !agent_id || !secret_sha256 || !id)
        return ERR_INVALID;
    int rc = store_prep(st,
                        "INSERT INTO agent_tokens (agent_id, secret_sha256, created_ms)"
                        " SELECT id, ?2, ?3 FROM agents WHERE id = ?1",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, secret_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    rc = store_changed_or_missing(st, s, "create agent token");
    sqlite3_finalize(s);
    if (rc == ERR_OK)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_sqlite_auth_lookup(store *st, const char *secret_sha256, store_principal *out)
{
    sqlite3_stmt *s;
    if (!st || !secret_sha256 || !out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!(s = store_stmt(st, Q_AUTH_LOOKUP)))
        return ERR_STORE;
    sqlite3_bind_text(s, 1, secret_sha256, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->kind = sqlite3_column_int(s, 0) == 1 ? STORE_PRINCIPAL_ADMIN : STORE_PRINCIPAL_AGENT;
        out->id = sqlite3_column_int64(s, 1);
        store_col_copy(s, 2, out->name, sizeof out->name);
        store_col_copy(s, 3, out->agent, sizeof out->agent);
        rc = ERR_OK;
    } else {
        rc = rc == SQLITE_DONE ? ERR_NOT_FOUND : store_fail(st, "authenticate");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* ---- added for the daemon's group commit (server/route_writer) --------------------------- */

int store_sqlite_autocheckpoint(store *st, int pages)
{
    if (!st || pages < 0)
        return ERR_INVALID;
    if (sqlite3_wal_autocheckpoint(st->db, pages) != SQLITE_OK)
        return store_fail(st, "wal_autocheckpoint");
    return ERR_OK;
}

int store_sqlite_checkpoint(store *st)
{
    int log = 0, done = 0;
    if (!st)
        return ERR_INVALID;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_BUSY)
        return 0; /* another connection is checkpointing */
    if (rc != SQLITE_OK)
        return store_fail(st, "checkpoint");
    return log > done ? log - done : 0;
}

int store_sqlite_call_end_many(store *st, const char *const *call_ids, const int64_t *now_ms, int n,
                               int *results, store_call *rows)
{
    if (!st || n < 0 || (n > 0 && (!call_ids || !now_ms || !results)))
        return ERR_INVALID;
    if (n == 0)
        return ERR_OK;
    /* One transaction and no savepoints: a failure rolls back every end of the batch (inside
     * the caller's transaction, the caller rolls back). */
    bool own = sqlite3_get_autocommit(st->db);
    int rc = own ? store_sqlite_begin(st) : ERR_OK;
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        results[i] = store_call_end_locked(st, call_ids[i], CALL_COMPLETED, now_ms[i]);
        if (results[i] < 0 && results[i] != ERR_NOT_FOUND)
            rc = results[i];
        else if (results[i] >= 0 && rows)
            rc = store_call_get_brief(st, call_ids[i], &rows[i]);
    }
    if (rc == ERR_OK && own)
        rc = store_sqlite_commit(st);
    if (rc < 0) {
        if (own)
            store_sqlite_rollback(st);
        for (int i = 0; rows && i < n; i++)
            store_call_clear(&rows[i]);
    }
    return rc;
}

/* ---- wake-ups between daemons: none on a database file ----------------------------------- */

int store_sqlite_listen(store *st)
{
    return st ? ERR_UNSUPPORTED : ERR_INVALID;
}

int store_sqlite_wait_notify(store *st, int timeout_ms)
{
    (void)timeout_ms;
    return st ? ERR_UNSUPPORTED : ERR_INVALID;
}
