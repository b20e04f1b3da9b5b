/* migrations_pg.h -- the PostgreSQL schema as numbered migrations, the same numbers and names
 * as migrations_sqlite.h (read them side by side), applied in order on open. Only ever
 * append: a migration that shipped is never edited.
 *
 * Dialect choices: times are Unix milliseconds in BIGINT columns; flags stay SMALLINT 0/1
 * (the SQL of both stores then reads the same); JSON is kept as TEXT, as the store only
 * hands it through; SQLite's INTEGER PRIMARY KEY row ids are identity columns. */
#ifndef SC_MIGRATIONS_PG_H
#define SC_MIGRATIONS_PG_H

/* One migration: its number (1..N, in order), a short name and the SQL it runs (several
 * statements, run in one transaction together with its schema_migrations row). */
typedef struct {
    int version;
    const char *name;
    const char *sql;
} store_pg_migration;

/* Bookkeeping table, created before any migration runs (not itself a migration). */
#define STORE_PG_MIGRATIONS_TABLE                                                                  \
    "CREATE TABLE IF NOT EXISTS schema_migrations ("                                               \
    " version INTEGER PRIMARY KEY,"                                                                \
    " name TEXT NOT NULL,"                                                                         \
    " applied_ms BIGINT NOT NULL)"

static const store_pg_migration store_pg_migrations[] = {
    {1, "configuration",
     "CREATE TABLE meta ("
     " key TEXT PRIMARY KEY,"
     " value BIGINT NOT NULL);"
     "INSERT INTO meta (key, value) VALUES ('config_version', 1);"

     "CREATE TABLE campaigns ("
     " id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " name TEXT NOT NULL,"
     " default_category TEXT NOT NULL DEFAULT '',"
     " ring_timeout_s INTEGER NOT NULL DEFAULT 20 CHECK (ring_timeout_s > 0),"
     " queue_enabled SMALLINT NOT NULL DEFAULT 0 CHECK (queue_enabled IN (0, 1)),"
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
     " registered_until_ms BIGINT NOT NULL DEFAULT 0,"
     " last_assigned_ms BIGINT NOT NULL DEFAULT 0,"
     " updated_ms BIGINT NOT NULL DEFAULT 0);"

     "CREATE TABLE rules ("
     " id TEXT PRIMARY KEY,"
     " seq INTEGER NOT NULL,"
     " campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,"
     " name TEXT NOT NULL,"
     " position INTEGER NOT NULL,"
     " enabled SMALLINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
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
     /* id in the "C" collation: ids are hex, and ORDER BY id / id < $1 must compare bytes
      * as SQLite does, whatever the database's locale. */
     "CREATE TABLE calls ("
     " id TEXT COLLATE \"C\" PRIMARY KEY,"
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
     " holds_claim SMALLINT NOT NULL DEFAULT 0 CHECK (holds_claim IN (0, 1)),"
     " tried_json TEXT NOT NULL DEFAULT '[]',"
     " trace_json TEXT NOT NULL DEFAULT '{}',"
     " created_ms BIGINT NOT NULL,"
     " updated_ms BIGINT NOT NULL,"
     " ended_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX calls_claims ON calls (agent) WHERE holds_claim = 1;"
     "CREATE INDEX calls_external ON calls (external_id) WHERE external_id <> '';"},

    {3, "callbacks",
     "CREATE TABLE callbacks ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " call_id TEXT NOT NULL DEFAULT '',"
     " campaign TEXT NOT NULL,"
     " tracking_number TEXT NOT NULL DEFAULT '',"
     " caller TEXT NOT NULL,"
     " caller_state TEXT NOT NULL DEFAULT '',"
     " category TEXT NOT NULL DEFAULT '',"
     " reason TEXT NOT NULL,"
     " open SMALLINT NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),"
     " completed_by TEXT NOT NULL DEFAULT '',"
     " attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),"
     " created_ms BIGINT NOT NULL,"
     " updated_ms BIGINT NOT NULL);"
     "CREATE UNIQUE INDEX callbacks_open ON callbacks (campaign, caller) WHERE open = 1;"
     "CREATE INDEX callbacks_created ON callbacks (created_ms);"},

    {4, "auth",
     "CREATE TABLE api_keys ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " secret_sha256 TEXT NOT NULL UNIQUE,"
     " created_ms BIGINT NOT NULL,"
     " revoked_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_ms = 0;"
     "CREATE TABLE agent_tokens ("
     " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,"
     " secret_sha256 TEXT NOT NULL UNIQUE,"
     " created_ms BIGINT NOT NULL,"
     " revoked_ms BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id);"
     "ALTER TABLE callbacks ADD COLUMN note TEXT NOT NULL DEFAULT '';"},

    {5, "agent registrations",
     "ALTER TABLE agents ADD COLUMN presence_until_ms BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE agents ADD COLUMN stream_until_ms BIGINT NOT NULL DEFAULT 0;"
     "UPDATE agents SET presence_until_ms = registered_until_ms;"},

    {6, "call queue",
     "ALTER TABLE calls ADD COLUMN queued_ms BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE calls ADD COLUMN queue_deadline_ms BIGINT NOT NULL DEFAULT 0;"
     "CREATE INDEX calls_queued ON calls (campaign, created_ms, id) WHERE status = 'queued';"},

    {7, "unique external ids",
     "UPDATE calls SET external_id = external_id || '#' || id"
     " WHERE external_id <> '' AND EXISTS (SELECT 1 FROM calls AS older"
     "  WHERE older.external_id = calls.external_id AND older.id < calls.id);"
     "DROP INDEX calls_external;"
     "CREATE UNIQUE INDEX calls_external ON calls (external_id) WHERE external_id <> '';"},

    {8, "call traces",
     /* As in SQLite: a call's trace (its latest decision's) in a table of its own, written
      * once per decision, so the updates of a call (answered, ended) do not copy it again
      * (PostgreSQL writes a new row version on every UPDATE). */
     "CREATE TABLE call_traces ("
     " call_id TEXT PRIMARY KEY,"
     " trace_json TEXT NOT NULL);"
     "INSERT INTO call_traces (call_id, trace_json) SELECT id, trace_json FROM calls ORDER BY id;"
     "ALTER TABLE calls DROP COLUMN trace_json;"},

    {9, "calls by id",
     /* SQLite's migration 9 rebuilds its calls table (constraints without IN lists, no rowid)
      * for speed; PostgreSQL's table needs neither, and keeps the number in step. */
     "SELECT 1;"},
};

#define STORE_PG_MIGRATIONS_COUNT                                                                  \
    ((int)(sizeof store_pg_migrations / sizeof store_pg_migrations[0]))

#endif
