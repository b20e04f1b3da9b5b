/* migrations_sqlite.h -- the SQLite schema as numbered migrations, applied in order on open.
 * Only ever append: a migration that shipped is never edited. The PostgreSQL store keeps its
 * own dialect's list beside this one (migrations_pg.h) with the same numbers. */
#ifndef SC_MIGRATIONS_SQLITE_H
#define SC_MIGRATIONS_SQLITE_H

/* One migration: its number (1..N, in order), a short name and the SQL it runs. */
typedef struct {
    int version;
    const char *name;
    const char *sql;
} store_sqlite_migration;

/* Bookkeeping table, created before any migration runs (not itself a migration). */
#define STORE_SQLITE_MIGRATIONS_TABLE                                                              \
    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                               \
    " version INTEGER PRIMARY KEY,"                                                                \
    " name TEXT NOT NULL,"                                                                         \
    " applied_ms INTEGER NOT NULL)"

static const store_sqlite_migration store_sqlite_migrations[] = {
    {1, "configuration",
     /* meta.config_version is bumped by every change to the static configuration, so a
      * handle can keep a parsed copy and reload it only when the number moved. */
     "CREATE TABLE meta ("
     " key TEXT PRIMARY KEY,"
     " value INTEGER NOT NULL);"
     "INSERT INTO meta (key, value) VALUES ('config_version', 1);"

     /* seq: position in the configuration as imported (export keeps the user's order). */
     "CREATE TABLE campaigns ("
     " id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " name TEXT NOT NULL,"
     " default_category TEXT NOT NULL DEFAULT '',"
     " ring_timeout_s INTEGER NOT NULL DEFAULT 20 CHECK (ring_timeout_s > 0),"
     " queue_enabled INTEGER NOT NULL DEFAULT 0 CHECK (queue_enabled IN (0, 1)),"
     " queue_max_size INTEGER NOT NULL DEFAULT 50 CHECK (queue_max_size >= 0),"
     " queue_max_wait_s INTEGER NOT NULL DEFAULT 300 CHECK (queue_max_wait_s >= 0),"
     " hold_music_url TEXT NOT NULL DEFAULT '',"
     " friendly_message TEXT NOT NULL DEFAULT '',"
     " discord_webhook_url TEXT NOT NULL DEFAULT '');"

     "CREATE TABLE tracking_numbers ("
     " number TEXT PRIMARY KEY,"
     " campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,"
     " category TEXT NOT NULL DEFAULT '');"
     "CREATE INDEX tracking_numbers_campaign ON tracking_numbers (campaign_id);"

     /* states and categories are comma lists ("TX,FL"); '' means no restriction. The live
      * columns (active_calls, registered_until_ms, last_assigned_ms) are kept when the
      * configuration is replaced. */
     "CREATE TABLE agents ("
     " id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " name TEXT NOT NULL,"
     " status TEXT NOT NULL DEFAULT 'active'"
     "  CHECK (status IN ('active', 'paused', 'deactivated')),"
     " max_concurrent INTEGER NOT NULL DEFAULT 1 CHECK (max_concurrent >= 1),"
     " active_calls INTEGER NOT NULL DEFAULT 0 CHECK (active_calls >= 0),"
     " states TEXT NOT NULL DEFAULT '',"
     " categories TEXT NOT NULL DEFAULT '',"
     " softphone_type TEXT NOT NULL DEFAULT 'client'"
     "  CHECK (softphone_type IN ('client', 'sip', 'number')),"
     " softphone_address TEXT NOT NULL DEFAULT '',"
     " registered_until_ms INTEGER NOT NULL DEFAULT 0,"
     " last_assigned_ms INTEGER NOT NULL DEFAULT 0,"
     " updated_ms INTEGER NOT NULL DEFAULT 0);"

     /* rr_last_agent: the agent id that took the rule's previous call (the round-robin
      * cursor); plain text so that removing that agent does not lose the rule. */
     "CREATE TABLE rules ("
     " id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,"
     " name TEXT NOT NULL,"
     " position INTEGER NOT NULL,"
     " enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
     " states TEXT NOT NULL DEFAULT '',"
     " categories TEXT NOT NULL DEFAULT '',"
     " mode TEXT NOT NULL CHECK (mode IN ('priority', 'round_robin', 'weighted')),"
     " rr_last_agent TEXT);"
     "CREATE INDEX rules_campaign ON rules (campaign_id, position);"

     "CREATE TABLE rule_members ("
     " rule_id TEXT NOT NULL REFERENCES rules (id) ON DELETE CASCADE,"
     " seq INTEGER NOT NULL,"
     " agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,"
     " priority INTEGER NOT NULL DEFAULT 1 CHECK (priority >= 1),"
     " weight INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 1),"
     " PRIMARY KEY (rule_id, seq));"
     "CREATE INDEX rule_members_agent ON rule_members (agent_id);"},

    {2, "calls",
     /* agent and rule are plain text, no foreign key: a call's history outlives the agent.
      * holds_claim = 1 while the call counts on agents.active_calls; it is cleared in the
      * same transaction as the decrement, which makes the release happen exactly once. */
     "CREATE TABLE calls ("
     " id TEXT PRIMARY KEY,"
     " external_id TEXT NOT NULL DEFAULT '',"
     " campaign TEXT NOT NULL DEFAULT '',"
     " tracking_number TEXT NOT NULL DEFAULT '',"
     " caller TEXT NOT NULL DEFAULT '',"
     " caller_state TEXT NOT NULL DEFAULT '',"
     " category TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL CHECK (status IN ('routing', 'ringing', 'connected', 'queued',"
     "  'completed', 'callback', 'abandoned', 'failed')),"
     " agent TEXT NOT NULL DEFAULT '',"
     " rule TEXT NOT NULL DEFAULT '',"
     " holds_claim INTEGER NOT NULL DEFAULT 0 CHECK (holds_claim IN (0, 1)),"
     " tried_json TEXT NOT NULL DEFAULT '[]',"
     " trace_json TEXT NOT NULL DEFAULT '{}',"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL,"
     " ended_ms INTEGER NOT NULL DEFAULT 0);"
     /* Few indexes on purpose: each one is another page written by every routed call.
      * Call ids start with their creation time, so the primary key orders calls by time. */
     "CREATE INDEX calls_claims ON calls (agent) WHERE holds_claim = 1;"
     "CREATE INDEX calls_external ON calls (external_id) WHERE external_id <> '';"},

    {3, "callbacks",
     /* At most one open callback per caller and campaign: a repeated failure bumps it. */
     "CREATE TABLE callbacks ("
     " id INTEGER PRIMARY KEY,"
     " call_id TEXT NOT NULL DEFAULT '',"
     " campaign TEXT NOT NULL,"
     " tracking_number TEXT NOT NULL DEFAULT '',"
     " caller TEXT NOT NULL,"
     " caller_state TEXT NOT NULL DEFAULT '',"
     " category TEXT NOT NULL DEFAULT '',"
     " reason TEXT NOT NULL,"
     " open INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),"
     " completed_by TEXT NOT NULL DEFAULT '',"
     " attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL);"
     "CREATE UNIQUE INDEX callbacks_open ON callbacks (campaign, caller) WHERE open = 1;"
     "CREATE INDEX callbacks_created ON callbacks (created_ms);"},

    {4, "auth",
     /* Admin API keys and agent tokens (SPEC 6): only the SHA-256 of a secret is kept, as
      * lowercase hex. A revoked key keeps its row (revoked_ms > 0) for the record; a name
      * names at most one live key. An agent's tokens go with the agent. */
     "CREATE TABLE api_keys ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " secret_sha256 TEXT NOT NULL UNIQUE,"
     " created_ms INTEGER NOT NULL,"
     " revoked_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_ms = 0;"
     "CREATE TABLE agent_tokens ("
     " id INTEGER PRIMARY KEY,"
     " agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,"
     " secret_sha256 TEXT NOT NULL UNIQUE,"
     " created_ms INTEGER NOT NULL,"
     " revoked_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id);"
     /* The note an agent leaves when completing a callback (POST /v1/callbacks/{id}/complete). */
     "ALTER TABLE callbacks ADD COLUMN note TEXT NOT NULL DEFAULT '';"},

    {5, "agent registrations",
     /* An agent is connected through two separate registrations: presence_until_ms (POST
      * /v1/agents/{id}/presence, the CLI's agent register) and stream_until_ms (an open
      * event stream, renewed by the daemon every few seconds with a short expiry).
      * registered_until_ms, which the claim and the router read, is always the later of the
      * two, so the hot path is unchanged. Existing registrations become presence ones. */
     "ALTER TABLE agents ADD COLUMN presence_until_ms INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE agents ADD COLUMN stream_until_ms INTEGER NOT NULL DEFAULT 0;"
     "UPDATE agents SET presence_until_ms = registered_until_ms;"},

    {6, "call queue",
     /* A queued call (status 'queued', SPEC 3.7) waits in its campaign's queue: queued_ms is
      * when it entered it, queue_deadline_ms when it leaves with a callback. Callers are
      * served first come first served by arrival (created_ms, then id). The partial index
      * holds only the waiting calls, so it stays tiny and costs nothing to other calls. */
     "ALTER TABLE calls ADD COLUMN queued_ms INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE calls ADD COLUMN queue_deadline_ms INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX calls_queued ON calls (campaign, created_ms, id) WHERE status = 'queued';"},

    {7, "unique external ids",
     /* A carrier's call id (a Twilio CallSid) names one call: the provider retries and
      * duplicates its webhooks, and a second call row for the same id must be refused by
      * the database itself, also across daemons. Rows recorded twice before this
      * migration keep their oldest row's id; the others get "#" and their own id added. */
     "UPDATE calls SET external_id = external_id || '#' || id"
     " WHERE external_id <> '' AND EXISTS (SELECT 1 FROM calls AS older"
     "  WHERE older.external_id = calls.external_id AND older.id < calls.id);"
     "DROP INDEX calls_external;"
     "CREATE UNIQUE INDEX calls_external ON calls (external_id) WHERE external_id <> '';"},

    {8, "call traces",
     /* The trace (SPEC 3.6) is most of a call's bytes (about 2.4 KB for rules of a dozen
      * members) and is written once per decision, while the call row changes several times
      * (answered, ended): SQLite rewrites a whole row on every UPDATE, so a trace in the row
      * was written again by each of them. In its own table it is written once per decision,
      * and the call rows stay small (many to a page). Every call has exactly one trace row:
      * its latest decision's (a no-answer or a queue hand-off replaces it). */
     "CREATE TABLE call_traces ("
     " call_id TEXT PRIMARY KEY,"
     " trace_json TEXT NOT NULL);"
     "INSERT INTO call_traces (call_id, trace_json) SELECT id, trace_json FROM calls ORDER BY id;"
     "ALTER TABLE calls DROP COLUMN trace_json;"},

    {9, "calls by id",
     /* Two costs every routed and ended call paid, found by profiling the daemon:
      * - `status IN (...)` in a CHECK makes SQLite build a temporary index of the eight
      *   names each time a row is written (an ephemeral b-tree opened and closed per INSERT
      *   and per UPDATE); the same rule as comparisons costs nothing;
      * - a TEXT PRIMARY KEY on a rowid table is a second b-tree (the row, plus an index
      *   from id to rowid) written by every insert and searched by every update by id. A
      *   WITHOUT ROWID table keeps the rows in id order in one b-tree (call rows are small,
      *   many to a page).
      * SQLite cannot change a table's constraints in place: the table is made anew, the
      * rows copied, and the indexes made again (nothing references calls). */
     "CREATE TABLE calls_by_id ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " external_id TEXT NOT NULL DEFAULT '',"
     " campaign TEXT NOT NULL DEFAULT '',"
     " tracking_number TEXT NOT NULL DEFAULT '',"
     " caller TEXT NOT NULL DEFAULT '',"
     " caller_state TEXT NOT NULL DEFAULT '',"
     " category TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL CHECK (status = 'routing' OR status = 'ringing'"
     "  OR status = 'connected' OR status = 'queued' OR status = 'completed'"
     "  OR status = 'callback' OR status = 'abandoned' OR status = 'failed'),"
     " agent TEXT NOT NULL DEFAULT '',"
     " rule TEXT NOT NULL DEFAULT '',"
     " holds_claim INTEGER NOT NULL DEFAULT 0 CHECK (holds_claim = 0 OR holds_claim = 1),"
     " tried_json TEXT NOT NULL DEFAULT '[]',"
     " created_ms INTEGER NOT NULL,"
     " updated_ms INTEGER NOT NULL,"
     " ended_ms INTEGER NOT NULL DEFAULT 0,"
     " queued_ms INTEGER NOT NULL DEFAULT 0,"
     " queue_deadline_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
     "INSERT INTO calls_by_id (id, external_id, campaign, tracking_number, caller, caller_state,"
     " category, status, agent, rule, holds_claim, tried_json, created_ms, updated_ms, ended_ms,"
     " queued_ms, queue_deadline_ms)"
     " SELECT id, external_id, campaign, tracking_number, caller, caller_state, category,"
     " status, agent, rule, holds_claim, tried_json, created_ms, updated_ms, ended_ms,"
     " queued_ms, queue_deadline_ms FROM calls;"
     "DROP TABLE calls;"
     "ALTER TABLE calls_by_id RENAME TO calls;"
     "CREATE INDEX calls_claims ON calls (agent) WHERE holds_claim = 1;"
     "CREATE INDEX calls_queued ON calls (campaign, created_ms, id) WHERE status = 'queued';"
     "CREATE UNIQUE INDEX calls_external ON calls (external_id) WHERE external_id <> '';"},
};

#define STORE_SQLITE_MIGRATIONS_COUNT                                                              \
    ((int)(sizeof store_sqlite_migrations / sizeof store_sqlite_migrations[0]))

#endif
