/* test_store.c -- the SQLite store and the call flow: migrations, configuration, claims,
 * exactly-once release, callbacks, calls and whole routes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router_fixture.h"
#include "service/callflow.h"
#include "store/migrations_pg.h"
#include "store/migrations_sqlite.h"
#include "store/store.h"
#include "temp_db.h"

static temp_db st_db;

static void st_setup(void)
{
    temp_db_make(&st_db, "store", false);
}

static void st_teardown(void)
{
    temp_db_remove(&st_db);
}

static store *st_open(void)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    int rc = store_open(st_db.path, &st, err, sizeof err);
    cr_assert_eq(rc, ERR_OK, "store_open: %s", err);
    cr_assert(st);
    return st;
}

/* Plain SQL on a separate connection to the same database (either backend). */
static long long st_sql_int(const char *sql)
{
    return temp_db_sql_int(&st_db, sql);
}

static void st_sql_exec(const char *sql)
{
    temp_db_sql_exec(&st_db, sql);
}

static void st_sql_text(const char *sql, char *out, size_t cap)
{
    temp_db_sql_text(&st_db, sql, out, cap);
}

static void st_replace(store *st, const config *cfg)
{
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "replace: %s", err);
}

static config *st_load(store *st)
{
    config *cfg = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_config_load(st, &cfg, err, sizeof err), ERR_OK, "load: %s", err);
    cr_assert(cfg);
    return cfg;
}

/* Category masks compared by slug, since each config interns in its own order. */
static void st_assert_same_categories(const config *a, uint64_t ma, const config *b, uint64_t mb,
                                      const char *what)
{
    int na = 0, nb = 0;
    for (int i = 0; i < a->n_categories; i++) {
        if (!(ma & ((uint64_t)1 << i)))
            continue;
        na++;
        cr_assert(config_category_lookup(b, a->categories[i]) & mb, "%s: %s missing", what,
                  a->categories[i]);
    }
    for (int i = 0; i < b->n_categories; i++)
        nb += (mb & ((uint64_t)1 << i)) != 0;
    cr_assert_eq(na, nb, "%s: category counts differ", what);
}

/* The static configuration and the live agent state of two configs are the same. */
static void st_assert_same_config(const config *a, const config *b)
{
    cr_assert_eq(a->n_campaigns, b->n_campaigns);
    cr_assert_eq(a->n_numbers, b->n_numbers);
    cr_assert_eq(a->n_agents, b->n_agents);
    cr_assert_eq(a->n_rules, b->n_rules);
    for (int i = 0; i < a->n_campaigns; i++) {
        const config_campaign *x = &a->campaigns[i];
        int j = config_find_campaign(b, x->id);
        cr_assert_geq(j, 0, "campaign %s", x->id);
        const config_campaign *y = &b->campaigns[j];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_str_eq(x->default_category, y->default_category);
        cr_assert_eq(x->ring_timeout_s, y->ring_timeout_s);
        cr_assert_eq(x->queue_enabled, y->queue_enabled);
        cr_assert_eq(x->queue_max_size, y->queue_max_size);
        cr_assert_eq(x->queue_max_wait_s, y->queue_max_wait_s);
        cr_assert_str_eq(x->friendly_message, y->friendly_message);
        cr_assert_str_eq(x->hold_music_url, y->hold_music_url);
        cr_assert_str_eq(x->discord_webhook_url, y->discord_webhook_url);
    }
    for (int i = 0; i < a->n_numbers; i++) {
        const config_number *x = &a->numbers[i];
        int j = config_find_number(b, x->number);
        cr_assert_geq(j, 0, "number %s", x->number);
        cr_assert_str_eq(a->campaigns[x->campaign].id, b->campaigns[b->numbers[j].campaign].id);
        cr_assert_str_eq(x->category, b->numbers[j].category);
    }
    for (int i = 0; i < a->n_agents; i++) {
        const config_agent *x = &a->agents[i];
        int j = config_find_agent(b, x->id);
        cr_assert_geq(j, 0, "agent %s", x->id);
        const config_agent *y = &b->agents[j];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->status, y->status, "agent %s status", x->id);
        cr_assert_eq(x->max_concurrent, y->max_concurrent);
        cr_assert_eq(x->active_calls, y->active_calls, "agent %s active", x->id);
        cr_assert_eq(x->states, y->states);
        st_assert_same_categories(a, x->categories, b, y->categories, x->id);
        cr_assert_eq(x->softphone, y->softphone);
        cr_assert_str_eq(x->softphone_address, y->softphone_address);
        cr_assert_eq(x->registered_until_ms, y->registered_until_ms);
        cr_assert_eq(x->last_assigned_ms, y->last_assigned_ms);
    }
    for (int i = 0; i < a->n_rules; i++) {
        const config_rule *x = &a->rules[i];
        int j = config_find_rule(b, x->id);
        cr_assert_geq(j, 0, "rule %s", x->id);
        const config_rule *y = &b->rules[j];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_str_eq(a->campaigns[x->campaign].id, b->campaigns[y->campaign].id);
        cr_assert_eq(x->position, y->position);
        cr_assert_eq(x->enabled, y->enabled);
        cr_assert_eq(x->states, y->states);
        st_assert_same_categories(a, x->categories, b, y->categories, x->id);
        cr_assert_eq(x->mode, y->mode);
        cr_assert_eq(x->n_members, y->n_members, "rule %s members", x->id);
        for (int m = 0; m < x->n_members; m++) {
            cr_assert_str_eq(a->agents[x->members[m].agent].id, b->agents[y->members[m].agent].id);
            cr_assert_eq(x->members[m].priority, y->members[m].priority);
            cr_assert_eq(x->members[m].weight, y->members[m].weight);
        }
        const char *ca = x->rr_last_agent >= 0 ? a->agents[x->rr_last_agent].id : "-";
        const char *cb = y->rr_last_agent >= 0 ? b->agents[y->rr_last_agent].id : "-";
        cr_assert_str_eq(ca, cb, "rule %s cursor", x->id);
    }
}

static const char *const st_rich_config =
    "campaign medicare default=medicare\n"
    "campaign aca default=aca\n"
    "number +18005550100 medicare cat=medicare\n"
    "number +18005550101 medicare\n"
    "number +18005550200 aca\n"
    "agent maria max=2 states=TX,FL cats=medicare\n"
    "agent john status=paused max=3 cats=medicare,aca\n"
    "agent lee status=deactivated reg=never\n"
    "agent ana last=1000 states=PR,GU,VI\n"
    "rule tx-med medicare pos=1 states=TX cats=medicare mode=priority members=maria:1:1,john:2:5\n"
    "rule any-med medicare pos=2 mode=round_robin rr=john members=john,ana,maria\n"
    "rule aca-all aca pos=1 mode=weighted off cats=aca members=john:1:7,ana:1:3\n";

/* The simple routing configuration the call flow tests use. */
static const char *const st_flow_config = "campaign sales\n"
                                          "number +18005550100 sales\n"
                                          "agent a max=5\n"
                                          "agent b max=5\n"
                                          "agent c max=5\n"
                                          "rule rr sales pos=1 mode=round_robin members=a,b,c\n";

TestSuite(store, .init = st_setup, .fini = st_teardown);

Test(store, migrations_applied_once_and_reopen_is_noop)
{
    store *st = st_open();
    cr_assert_eq(store_schema_version(st), STORE_SQLITE_MIGRATIONS_COUNT);
    store_close(st);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM schema_migrations"),
                 STORE_SQLITE_MIGRATIONS_COUNT);
    long long applied = st_sql_int("SELECT sum(applied_ms) FROM schema_migrations");
    for (int i = 0; i < STORE_SQLITE_MIGRATIONS_COUNT; i++)
        cr_assert_eq(store_sqlite_migrations[i].version, i + 1, "migrations numbered 1..N");
    /* Both dialects have the same numbered migrations, side by side. */
    cr_assert_eq(STORE_PG_MIGRATIONS_COUNT, STORE_SQLITE_MIGRATIONS_COUNT);
    for (int i = 0; i < STORE_PG_MIGRATIONS_COUNT; i++) {
        cr_assert_eq(store_pg_migrations[i].version, i + 1);
        cr_assert_str_eq(store_pg_migrations[i].name, store_sqlite_migrations[i].name);
    }

    st = st_open();
    cr_assert_eq(store_schema_version(st), STORE_SQLITE_MIGRATIONS_COUNT);
    store_close(st);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM schema_migrations"),
                 STORE_SQLITE_MIGRATIONS_COUNT);
    cr_assert_eq(st_sql_int("SELECT sum(applied_ms) FROM schema_migrations"), applied);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM meta WHERE key = 'config_version'"), 1);
}

/* A database made before migrations 7 to 9: 7 makes carrier call ids unique (a repeated
 * one keeps the oldest row's, the others get "#" and their id), 8 moves each call's trace
 * into call_traces: every trace stays readable as before, and calls loses the column; 9
 * (SQLite) makes calls again without a rowid and with its checks as comparisons: every
 * column of every call is kept, and the checks and indexes still hold. The first six
 * migrations are applied by hand in the backend's own dialect. */
Test(store, migrations_7_to_9_keep_existing_calls)
{
    char sql[200];
    st_sql_exec(st_db.pg ? STORE_PG_MIGRATIONS_TABLE : STORE_SQLITE_MIGRATIONS_TABLE);
    for (int i = 0; i < 6; i++) {
        st_sql_exec(st_db.pg ? store_pg_migrations[i].sql : store_sqlite_migrations[i].sql);
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 'old', 0)", i + 1);
        st_sql_exec(sql);
    }
    st_sql_exec("INSERT INTO calls (id, external_id, status, trace_json, created_ms, updated_ms)"
                " VALUES ('00a1', 'CA1', 'completed', '{\"action\":\"connect\"}', 1, 2),"
                " ('00a2', 'CA1', 'failed', '{\"action\":\"reject\"}', 3, 4)");
    st_sql_exec("INSERT INTO calls (id, campaign, tracking_number, caller, caller_state, category,"
                " status, agent, rule, holds_claim, tried_json, created_ms, updated_ms, ended_ms,"
                " queued_ms, queue_deadline_ms) VALUES ('00a3', 'sales', '+18005550100',"
                " '+15125550100', 'TX', 'auto', 'ringing', 'a1', 'r1', 1, '[\"a2\"]', 5, 6, 0,"
                " 7, 8)");

    store *st = st_open();
    cr_assert_eq(store_schema_version(st), STORE_SQLITE_MIGRATIONS_COUNT);
    store_call got;
    cr_assert_eq(store_call_get(st, "00a1", &got), ERR_OK);
    cr_assert_str_eq(got.trace_json, "{\"action\":\"connect\"}");
    cr_assert_eq(got.status, CALL_COMPLETED);
    store_call_clear(&got);
    cr_assert_eq(store_call_get(st, "00a2", &got), ERR_OK);
    cr_assert_str_eq(got.trace_json, "{\"action\":\"reject\"}");
    cr_assert_str_eq(got.external_id, "CA1#00a2");
    store_call_clear(&got);
    cr_assert_eq(store_call_find_external(st, "CA1", &got), ERR_OK);
    cr_assert_str_eq(got.id, "00a1");
    store_call_clear(&got);
    cr_assert_eq(store_call_get(st, "00a3", &got), ERR_OK);
    cr_assert(
        strcmp(got.campaign, "sales") == 0 && strcmp(got.tracking_number, "+18005550100") == 0 &&
            strcmp(got.caller, "+15125550100") == 0 && strcmp(got.caller_state, "TX") == 0 &&
            strcmp(got.category, "auto") == 0 && got.status == CALL_RINGING &&
            strcmp(got.agent, "a1") == 0 && strcmp(got.rule, "r1") == 0 && got.holds_claim &&
            strcmp(got.tried_json, "[\"a2\"]") == 0 && got.created_ms == 5 && got.updated_ms == 6 &&
            got.ended_ms == 0 && got.queued_ms == 7 && got.queue_deadline_ms == 8,
        "a column of call 00a3 was not kept");
    store_call_clear(&got);
    /* The claim it holds is still found through the partial index, and released once. */
    cr_assert_eq(store_call_end(st, "00a3", CALL_COMPLETED, 9), 1);
    cr_assert_eq(store_call_end(st, "00a3", CALL_COMPLETED, 10), 0);
    store_close(st);
    if (!st_db.pg) {
        cr_assert_eq(st_sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'calls'"
                                " AND sql LIKE '%WITHOUT ROWID'"),
                     1);
        cr_assert_eq(st_sql_int("SELECT count(*) FROM pragma_index_list('calls') WHERE name IN"
                                " ('calls_claims', 'calls_queued', 'calls_external')"),
                     3);
        /* The checks still refuse what they refused (no row comes back from a failed
         * statement: -999). */
        cr_assert_eq(st_sql_int("UPDATE calls SET status = 'lost' WHERE id = '00a1' RETURNING 1"),
                     -999);
        cr_assert_eq(st_sql_int("UPDATE calls SET holds_claim = 2 WHERE id = '00a1' RETURNING 1"),
                     -999);
        cr_assert_eq(st_sql_int("UPDATE calls SET status = 'callback' WHERE id = '00a1'"
                                " RETURNING 1"),
                     1);
        cr_assert_eq(st_sql_int("SELECT count(*) FROM calls WHERE external_id = 'CA1#00a2'"), 1);
    }
    cr_assert_eq(st_sql_int("SELECT count(*) FROM call_traces"), 3);
    cr_assert_eq(st_sql_int(st_db.pg ? "SELECT count(*) FROM information_schema.columns"
                                       " WHERE table_name = 'calls' AND column_name = 'trace_json'"
                                     : "SELECT count(*) FROM pragma_table_info('calls')"
                                       " WHERE name = 'trace_json'"),
                 0);
}

Test(store, refuses_a_newer_schema)
{
    store_close(st_open());
    st_sql_exec("INSERT INTO schema_migrations VALUES (999, 'future', 0)");
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(st_db.path, &st, err, sizeof err), ERR_UNSUPPORTED);
    cr_assert_null(st);
    cr_assert(strstr(err, "999"), "message: %s", err);
}

Test(store, wal_mode_is_on)
{
    if (st_db.pg)
        cr_skip_test("SQLite-specific: the journal mode of the database file");
    store *st = st_open();
    char mode[32];
    st_sql_text("PRAGMA journal_mode", mode, sizeof mode);
    cr_assert_str_eq(mode, "wal");
    store_close(st);
}

Test(store, unreachable_postgres_is_a_store_error)
{
    store *st = (store *)&st;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(
        store_open("postgresql:///sureconnect?host=/nonexistent/sock&port=1", &st, err, sizeof err),
        ERR_STORE);
    cr_assert_null(st);
    cr_assert(strstr(err, "PostgreSQL"), "message: %s", err);
    cr_assert_eq(store_open("", &st, err, sizeof err), ERR_INVALID);
}

Test(store, reconnects_after_the_connection_dropped)
{
    if (!st_db.pg)
        cr_skip_test("PostgreSQL-specific: a dropped server connection");
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, NULL);
    st_replace(st, cfg);
    config_free(cfg);
    cr_assert_eq(store_agent_register(st, "a", FX_NOW + 60000), ERR_OK);
    /* The server ends every other session of this database, the store's included. */
    st_sql_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    /* Outside a transaction the next statement reconnects and runs (prepared again). */
    cr_assert_eq(store_claim(st, "a", FX_NOW), 1);
    cr_assert_eq(store_ping(st), ERR_OK);
    /* Inside a transaction the work is lost with the connection: an error, then usable. */
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(store_claim(st, "a", FX_NOW), 1);
    st_sql_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    cr_assert_lt(store_claim(st, "a", FX_NOW), 0);
    cr_assert_eq(store_rollback(st), ERR_OK);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);
    cr_assert_eq(store_claim(st, "a", FX_NOW), 1);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 2);
    store_close(st);
}

Test(store, config_replace_round_trip)
{
    store *st = st_open();
    config *cfg = fx_config(st_rich_config, NULL);
    st_replace(st, cfg);
    config *loaded = st_load(st);
    st_assert_same_config(cfg, loaded);
    cr_assert_eq(config_find_number(loaded, "+18005550101") >= 0, true);
    /* A second load comes from the cache and must be just as complete. */
    config *again = st_load(st);
    st_assert_same_config(cfg, again);
    config_free(again);
    config_free(loaded);

    /* A live change (no version bump) shows on the next load; so does a new handle. */
    cr_assert_eq(store_agent_set(st, "john", AGENT_ACTIVE, 4, FX_NOW), ERR_OK);
    cr_assert_eq(store_agent_register(st, "lee", FX_NOW + 5000), ERR_OK);
    cr_assert_eq(store_agent_set(st, "nobody", AGENT_ACTIVE, 0, FX_NOW), ERR_NOT_FOUND);
    cr_assert_eq(store_agent_register(st, "nobody", 1), ERR_NOT_FOUND);
    cfg->agents[config_find_agent(cfg, "john")].status = AGENT_ACTIVE;
    cfg->agents[config_find_agent(cfg, "john")].max_concurrent = 4;
    cfg->agents[config_find_agent(cfg, "lee")].registered_until_ms = FX_NOW + 5000;
    loaded = st_load(st);
    st_assert_same_config(cfg, loaded);
    config_free(loaded);
    store *other = st_open();
    loaded = st_load(other);
    st_assert_same_config(cfg, loaded);
    config_free(loaded);
    store_close(other);

    cr_assert_eq(store_agent_unregister(st, "lee"), ERR_OK);
    loaded = st_load(st);
    cr_assert_eq(loaded->agents[config_find_agent(loaded, "lee")].registered_until_ms, 0);
    config_free(loaded);
    config_free(cfg);
    store_close(st);
}

Test(store, replace_keeps_live_state_and_drops_removed_agents)
{
    store *st = st_open();
    config *one = fx_config("campaign c1\n"
                            "number +18005550100 c1\n"
                            "agent a max=3\n"
                            "agent b\n"
                            "agent gone\n"
                            "rule r1 c1 mode=round_robin members=a,b,gone\n",
                            NULL);
    st_replace(st, one);
    cr_assert_eq(store_claim(st, "a", FX_NOW), 1);
    cr_assert_eq(store_claim(st, "a", FX_NOW + 7), 1);
    cr_assert_eq(store_agent_register(st, "a", FX_NOW + 99000), ERR_OK);
    cr_assert_eq(store_rule_cursor_set(st, "r1", "a"), ERR_OK);
    cr_assert_eq(store_rule_cursor_set(st, "nope", "a"), ERR_NOT_FOUND);

    /* The new config renames a, lowers its limit, drops "gone", adds "new", moves r1. */
    config *two = fx_config("campaign c2\n"
                            "number +18005550199 c2\n"
                            "agent new\n"
                            "agent a max=2\n"
                            "agent b status=paused\n"
                            "rule r1 c2 pos=3 mode=round_robin members=b,a,new\n",
                            NULL);
    snprintf(two->agents[config_find_agent(two, "a")].name, CONFIG_NAME_MAX, "Agent A");
    store *watcher = st_open(); /* another connection with the old snapshot cached */
    config *old = st_load(watcher);
    cr_assert_geq(config_find_agent(old, "gone"), 0);
    config_free(old);
    st_replace(st, two);
    old = st_load(watcher);
    cr_assert_eq(config_find_agent(old, "gone"), -1, "the version bump reaches other handles");
    cr_assert_geq(config_find_agent(old, "new"), 0);
    config_free(old);
    store_close(watcher);
    config *loaded = st_load(st);
    cr_assert_eq(loaded->n_agents, 3);
    cr_assert_eq(config_find_agent(loaded, "gone"), -1);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM agents WHERE id = 'gone'"), 0);
    cr_assert_eq(config_find_campaign(loaded, "c1"), -1);
    cr_assert_eq(config_find_number(loaded, "+18005550100"), -1);
    const config_agent *a = &loaded->agents[config_find_agent(loaded, "a")];
    cr_assert_str_eq(a->name, "Agent A");
    cr_assert_eq(a->max_concurrent, 2);
    cr_assert_eq(a->active_calls, 2, "live count kept");
    cr_assert_eq(a->registered_until_ms, FX_NOW + 99000, "registration kept");
    cr_assert_eq(a->last_assigned_ms, FX_NOW + 7, "last assignment kept");
    const config_agent *n = &loaded->agents[config_find_agent(loaded, "new")];
    cr_assert_eq(n->active_calls, 0);
    cr_assert_eq(loaded->agents[config_find_agent(loaded, "b")].status, AGENT_PAUSED);
    const config_rule *r = &loaded->rules[config_find_rule(loaded, "r1")];
    cr_assert_str_eq(loaded->campaigns[r->campaign].id, "c2");
    cr_assert_eq(r->position, 3);
    cr_assert_eq(r->rr_last_agent, config_find_agent(loaded, "a"), "cursor kept");
    cr_assert_eq(r->n_members, 3);
    cr_assert_str_eq(loaded->agents[r->members[0].agent].id, "b");
    config_free(loaded);
    config_free(one);
    config_free(two);
    store_close(st);
}

Test(store, failing_replace_leaves_previous_config)
{
    store *st = st_open();
    config *good = fx_config(st_rich_config, NULL);
    st_replace(st, good);
    long long version = st_sql_int("SELECT value FROM meta WHERE key = 'config_version'");
    config *warm = st_load(st); /* fill the handle's cache before the failed replace */
    config_free(warm);

    /* A member with weight 0 violates a CHECK constraint after most rows were written. */
    config *bad = fx_config("campaign other\nagent x\nagent y\n"
                            "rule r other members=x,y\n",
                            NULL);
    bad->rules[0].members[1].weight = 0;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_config_replace(st, bad, err, sizeof err), ERR_INVALID);
    cr_assert(strstr(err, "member"), "message names the member: %s", err);
    config_free(bad);

    /* So does a tracking number given twice (primary key). */
    bad = fx_config("campaign other\nagent x\nnumber +18005550111 other\n", NULL);
    bad->numbers = realloc(bad->numbers, 2 * sizeof *bad->numbers);
    cr_assert(bad->numbers);
    bad->numbers[1] = bad->numbers[0];
    bad->n_numbers = bad->caps_numbers = 2;
    cr_assert_eq(store_config_replace(st, bad, err, sizeof err), ERR_INVALID);
    cr_assert(strstr(err, "+18005550111"), "message names the number: %s", err);
    config_free(bad);

    cr_assert_eq(st_sql_int("SELECT value FROM meta WHERE key = 'config_version'"), version);
    config *loaded = st_load(st);
    st_assert_same_config(good, loaded);
    config_free(loaded);
    store *other = st_open();
    loaded = st_load(other);
    st_assert_same_config(good, loaded);
    config_free(loaded);
    store_close(other);
    config_free(good);
    store_close(st);
}

Test(store, claim_only_when_active_registered_and_below_capacity)
{
    store *st = st_open();
    config *cfg = fx_config("campaign c\n"
                            "agent two max=2\n"
                            "agent paused status=paused max=5\n"
                            "agent off status=deactivated max=5\n"
                            "agent expired max=5 reg=-1\n"
                            "agent edge max=5 reg=0\n"
                            "agent never max=5 reg=never\n",
                            NULL);
    st_replace(st, cfg);
    cr_assert_eq(store_claim(st, "two", FX_NOW), 1);
    cr_assert_eq(store_claim(st, "two", FX_NOW + 1), 1);
    cr_assert_eq(store_claim(st, "two", FX_NOW + 2), 0, "at capacity 2/2");
    cr_assert_eq(store_claim(st, "paused", FX_NOW), 0);
    cr_assert_eq(store_claim(st, "off", FX_NOW), 0);
    cr_assert_eq(store_claim(st, "expired", FX_NOW), 0);
    cr_assert_eq(store_claim(st, "edge", FX_NOW), 0, "registration ending now is expired");
    cr_assert_eq(store_claim(st, "never", FX_NOW), 0);
    cr_assert_eq(store_claim(st, "nobody", FX_NOW), 0);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'two'"), 2);
    cr_assert_eq(st_sql_int("SELECT last_assigned_ms FROM agents WHERE id = 'two'"), FX_NOW + 1);
    cr_assert_eq(st_sql_int("SELECT sum(active_calls) FROM agents WHERE id <> 'two'"), 0);

    /* Each condition, once fixed, lets the claim through. */
    cr_assert_eq(store_agent_set(st, "paused", AGENT_ACTIVE, 0, FX_NOW), ERR_OK);
    cr_assert_eq(store_claim(st, "paused", FX_NOW), 1);
    cr_assert_eq(store_agent_register(st, "expired", FX_NOW + 1000), ERR_OK);
    cr_assert_eq(store_claim(st, "expired", FX_NOW), 1);
    cr_assert_eq(store_agent_set(st, "two", -1, 3, FX_NOW), ERR_OK);
    cr_assert_eq(store_claim(st, "two", FX_NOW), 1);
    cr_assert_eq(store_agent_set(st, "paused", AGENT_PAUSED, 0, FX_NOW), ERR_OK);
    cr_assert_eq(store_claim(st, "paused", FX_NOW), 0, "paused again");
    config_free(cfg);
    store_close(st);
}

/* Claims `agent` and records a ringing call holding the claim; returns the new id. */
static void st_claimed_call(store *st, const char *agent, char *id_out)
{
    store_call call;
    memset(&call, 0, sizeof call);
    snprintf(call.campaign, sizeof call.campaign, "c");
    snprintf(call.caller, sizeof call.caller, "+15125550100");
    snprintf(call.agent, sizeof call.agent, "%s", agent);
    call.status = CALL_RINGING;
    call.holds_claim = true;
    call.created_ms = FX_NOW;
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(store_claim(st, agent, FX_NOW), 1);
    cr_assert_eq(store_call_insert(st, &call), ERR_OK);
    cr_assert_eq(store_commit(st), ERR_OK);
    snprintf(id_out, STORE_CALL_ID_MAX, "%s", call.id);
}

Test(store, release_happens_exactly_once)
{
    store *st = st_open();
    config *cfg = fx_config("campaign c\nagent a max=3\n", NULL);
    st_replace(st, cfg);
    char one[STORE_CALL_ID_MAX], two[STORE_CALL_ID_MAX];
    st_claimed_call(st, "a", one);
    st_claimed_call(st, "a", two);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 2);

    cr_assert_eq(store_call_end(st, one, CALL_COMPLETED, FX_NOW + 10), 1);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);
    cr_assert_eq(store_call_end(st, one, CALL_COMPLETED, FX_NOW + 20), 0, "second end");
    cr_assert_eq(store_call_end(st, one, CALL_ABANDONED, FX_NOW + 30), 0, "third end");
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);
    store_call got;
    cr_assert_eq(store_call_get(st, one, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_COMPLETED, "the first final status stays");
    cr_assert_eq(got.ended_ms, FX_NOW + 10);
    cr_assert_not(got.holds_claim);
    store_call_clear(&got);

    /* Never negative: with the count already (wrongly) at 0, a release leaves it at 0. */
    st_sql_exec("UPDATE agents SET active_calls = 0 WHERE id = 'a'");
    cr_assert_eq(store_call_end(st, two, CALL_COMPLETED, FX_NOW + 40), 1);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 0);

    /* A call that never held a claim is finished without touching any count. */
    store_call open;
    memset(&open, 0, sizeof open);
    open.status = CALL_QUEUED;
    open.created_ms = FX_NOW;
    snprintf(open.agent, sizeof open.agent, "a");
    cr_assert_eq(store_call_insert(st, &open), ERR_OK);
    st_sql_exec("UPDATE agents SET active_calls = 1 WHERE id = 'a'");
    cr_assert_eq(store_call_end(st, open.id, CALL_ABANDONED, FX_NOW + 50), 0);
    cr_assert_eq(store_call_get(st, open.id, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_ABANDONED);
    cr_assert_eq(got.ended_ms, FX_NOW + 50);
    store_call_clear(&got);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);

    cr_assert_eq(store_call_end(st, "feedfeedfeedfeedfeedfeedfeedfeed", CALL_COMPLETED, FX_NOW),
                 ERR_NOT_FOUND);
    cr_assert_eq(store_call_end(st, one, CALL_RINGING, FX_NOW), ERR_INVALID, "not final");
    config_free(cfg);
    store_close(st);
}

Test(store, reconcile_fixes_corrupted_counts)
{
    store *st = st_open();
    config *cfg = fx_config("campaign c\nagent a max=3\nagent b max=3\nagent idle max=3\n", NULL);
    st_replace(st, cfg);
    char id[STORE_CALL_ID_MAX];
    st_claimed_call(st, "a", id);
    st_claimed_call(st, "a", id);
    st_claimed_call(st, "b", id);
    cr_assert_eq(store_call_end(st, id, CALL_COMPLETED, FX_NOW), 1);
    cr_assert_eq(store_reconcile_counts(st), 0, "nothing to fix");
    st_sql_exec("UPDATE agents SET active_calls = 3 WHERE id = 'a';"
                "UPDATE agents SET active_calls = 2 WHERE id = 'b'");
    cr_assert_eq(store_reconcile_counts(st), 2);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 2);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'b'"), 0);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'idle'"), 0);
    cr_assert_eq(store_reconcile_counts(st), 0);
    config_free(cfg);
    store_close(st);
}

static store_callback st_callback(const char *campaign, const char *caller, int64_t when)
{
    store_callback cb;
    memset(&cb, 0, sizeof cb);
    snprintf(cb.campaign, sizeof cb.campaign, "%s", campaign);
    snprintf(cb.caller, sizeof cb.caller, "%s", caller);
    snprintf(cb.caller_state, sizeof cb.caller_state, "TX");
    snprintf(cb.reason, sizeof cb.reason, "no_agents");
    cb.created_ms = when;
    return cb;
}

Test(store, callback_upsert_deduplicates_open_callbacks)
{
    store *st = st_open();
    store_callback first = st_callback("sales", "+15125550100", FX_NOW);
    cr_assert_eq(store_callback_upsert(st, &first), ERR_OK);
    cr_assert_gt(first.id, 0);
    cr_assert_eq(first.attempts, 1);

    store_callback again = st_callback("sales", "+15125550100", FX_NOW + 60000);
    snprintf(again.reason, sizeof again.reason, "queue_full");
    cr_assert_eq(store_callback_upsert(st, &again), ERR_OK);
    cr_assert_eq(again.id, first.id, "same caller and campaign while open: one callback");
    cr_assert_eq(again.attempts, 2);
    cr_assert_eq(again.created_ms, FX_NOW, "created time is the first one");

    store_callback other_campaign = st_callback("service", "+15125550100", FX_NOW);
    cr_assert_eq(store_callback_upsert(st, &other_campaign), ERR_OK);
    cr_assert_neq(other_campaign.id, first.id);
    store_callback other_caller = st_callback("sales", "+15125550199", FX_NOW);
    cr_assert_eq(store_callback_upsert(st, &other_caller), ERR_OK);
    cr_assert_neq(other_caller.id, first.id);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM callbacks"), 3);
    cr_assert_eq(st_sql_int("SELECT updated_ms FROM callbacks WHERE campaign = 'sales'"
                            " AND caller = '+15125550100'"),
                 FX_NOW + 60000);

    /* Once done, the next failure opens a new callback. */
    st_sql_exec("UPDATE callbacks SET open = 0, completed_by = 'maria' WHERE campaign = 'sales'"
                " AND caller = '+15125550100'");
    store_callback later = st_callback("sales", "+15125550100", FX_NOW + 120000);
    cr_assert_eq(store_callback_upsert(st, &later), ERR_OK);
    cr_assert_neq(later.id, first.id);
    cr_assert_eq(later.attempts, 1);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM callbacks"), 4);
    store_close(st);
}

Test(store, call_insert_get_round_trip)
{
    store *st = st_open();
    store_call call;
    memset(&call, 0, sizeof call);
    snprintf(call.external_id, sizeof call.external_id, "CA0123456789");
    snprintf(call.campaign, sizeof call.campaign, "medicare");
    snprintf(call.tracking_number, sizeof call.tracking_number, "+18005550100");
    snprintf(call.caller, sizeof call.caller, "+15125550100");
    snprintf(call.caller_state, sizeof call.caller_state, "TX");
    snprintf(call.category, sizeof call.category, "medicare");
    snprintf(call.agent, sizeof call.agent, "maria");
    snprintf(call.rule, sizeof call.rule, "tx-medicare");
    call.status = CALL_CONNECTED;
    call.holds_claim = true;
    call.created_ms = FX_NOW;
    call.updated_ms = FX_NOW + 5;
    call.tried_json = strdup("[\"john\"]");
    call.trace_json = strdup("{\"action\":\"connect\",\"note\":\"caf\xc3\xa9\"}");
    cr_assert_eq(store_call_insert(st, &call), ERR_OK);
    cr_assert_eq(strlen(call.id), 32);
    cr_assert_eq(strspn(call.id, "0123456789abcdef"), 32, "lowercase hex: %s", call.id);

    store_call got;
    cr_assert_eq(store_call_get(st, call.id, &got), ERR_OK);
    cr_assert_str_eq(got.id, call.id);
    cr_assert_str_eq(got.external_id, call.external_id);
    cr_assert_str_eq(got.campaign, call.campaign);
    cr_assert_str_eq(got.tracking_number, call.tracking_number);
    cr_assert_str_eq(got.caller, call.caller);
    cr_assert_str_eq(got.caller_state, "TX");
    cr_assert_str_eq(got.category, "medicare");
    cr_assert_eq(got.status, CALL_CONNECTED);
    cr_assert_str_eq(got.agent, "maria");
    cr_assert_str_eq(got.rule, "tx-medicare");
    cr_assert(got.holds_claim);
    cr_assert_eq(got.created_ms, FX_NOW);
    cr_assert_eq(got.updated_ms, FX_NOW + 5);
    cr_assert_eq(got.ended_ms, 0);
    cr_assert_str_eq(got.tried_json, call.tried_json);
    cr_assert_str_eq(got.trace_json, call.trace_json);
    store_call_clear(&got);

    cr_assert_eq(store_call_insert(st, &call), ERR_CONFLICT, "same id twice");
    store_call second;
    memset(&second, 0, sizeof second);
    second.created_ms = FX_NOW;
    cr_assert_eq(store_call_insert(st, &second), ERR_OK);
    cr_assert_str_neq(second.id, call.id);
    cr_assert_eq(store_call_get(st, second.id, &got), ERR_OK);
    cr_assert_str_eq(got.trace_json, "{}");
    cr_assert_str_eq(got.tried_json, "[]");
    store_call_clear(&got);
    cr_assert_eq(store_call_get(st, "0000", &got), ERR_NOT_FOUND);
    store_call_clear(&call);
    store_close(st);
}

Test(store, status_names_round_trip)
{
    for (int s = CALL_ROUTING; s <= CALL_FAILED; s++)
        cr_assert_eq(store_call_status_parse(store_call_status_name((call_status)s)), s);
    cr_assert_eq(store_call_status_parse("nope"), -1);
    cr_assert_str_eq(store_call_status_name(CALL_CALLBACK), "callback");
}

Test(store, transactions_commit_and_roll_back)
{
    store *st = st_open();
    config *cfg = fx_config("campaign c\nagent a max=3\n", NULL);
    st_replace(st, cfg);
    cr_assert_eq(store_rollback(st), ERR_OK, "harmless without a transaction");
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(store_begin(st), ERR_CONFLICT, "not nested");
    cr_assert_eq(store_claim(st, "a", FX_NOW), 1);
    cr_assert_eq(store_rollback(st), ERR_OK);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 0);
    cr_assert_eq(store_commit(st), ERR_CONFLICT);
    config_free(cfg);
    store_close(st);
}

/* ---- the call flow ------------------------------------------------------------------- */

/* Routes a call with the carrier id "ext-N" (N counts the calls of the test from 1). */
static int st_route(store *st, const char *to, const char *from, bool dry_run, callflow_outcome *o)
{
    static int n;
    char ext[16];
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 7);
    router_call call = {to, from, NULL, NULL, 0};
    snprintf(ext, sizeof ext, "ext-%d", ++n);
    return callflow_route(st, &call, ext, FX_NOW, &rng, dry_run, o);
}

static const char *st_outcome_agent(const callflow_outcome *o)
{
    return o->agent >= 0 ? o->cfg->agents[o->agent].id : "-";
}

TestSuite(store_callflow, .init = st_setup, .fini = st_teardown);

Test(store_callflow, connect_claims_and_records)
{
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, NULL);
    st_replace(st, cfg);
    callflow_outcome o;
    callflow_outcome_init(&o);
    cr_assert_eq(st_route(st, "(800) 555-0100", "512-555-0100", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_CONNECT);
    cr_assert_str_eq(st_outcome_agent(&o), "a");
    cr_assert_str_eq(o.cfg->rules[o.rule].id, "rr");
    cr_assert_eq(o.result.trace.n_claims, 1);
    cr_assert(o.result.trace.claims[0].won);
    cr_assert_eq(o.callback_id, 0);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);

    store_call got;
    cr_assert_eq(store_call_get(st, o.call.id, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_RINGING);
    cr_assert(got.holds_claim);
    cr_assert_str_eq(got.agent, "a");
    cr_assert_str_eq(got.rule, "rr");
    cr_assert_str_eq(got.campaign, "sales");
    cr_assert_str_eq(got.tracking_number, "+18005550100");
    cr_assert_str_eq(got.caller, "+15125550100");
    cr_assert_str_eq(got.caller_state, "TX");
    cr_assert_str_eq(got.external_id, o.call.external_id);
    cr_assert(strncmp(got.external_id, "ext-", 4) == 0);
    cr_assert_str_eq(got.tried_json, "[]");
    cr_assert(strstr(got.trace_json, "\"claims\""), "trace: %s", got.trace_json);
    store_call_clear(&got);

    cr_assert_eq(callflow_end(st, o.call.id, FX_NOW + 1000), 1);
    cr_assert_eq(callflow_end(st, o.call.id, FX_NOW + 2000), 0);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 0);
    cr_assert_eq(store_call_get(st, o.call.id, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_COMPLETED);
    store_call_clear(&got);
    cr_assert_eq(callflow_end(st, "nope", FX_NOW), ERR_NOT_FOUND);
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}

Test(store_callflow, agent_at_capacity_gives_no_agent_and_callback)
{
    store *st = st_open();
    config *cfg = fx_config("campaign sales\nnumber +18005550100 sales\nagent solo max=1\n"
                            "rule r sales members=solo\n",
                            NULL);
    st_replace(st, cfg);
    callflow_outcome o;
    callflow_outcome_init(&o);
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_CONNECT);
    char first[STORE_CALL_ID_MAX];
    snprintf(first, sizeof first, "%s", o.call.id);

    cr_assert_eq(st_route(st, "+18005550100", "+13055550123", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_NO_AGENT);
    cr_assert_eq(o.agent, -1);
    cr_assert_gt(o.callback_id, 0);
    store_call got;
    cr_assert_eq(store_call_get(st, o.call.id, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_CALLBACK);
    cr_assert_not(got.holds_claim);
    cr_assert_str_eq(got.agent, "");
    cr_assert_str_eq(got.caller_state, "FL");
    cr_assert(strstr(got.trace_json, "at_capacity"), "trace: %s", got.trace_json);
    store_call_clear(&got);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM callbacks WHERE open = 1 AND campaign = 'sales'"
                            " AND caller = '+13055550123' AND reason = 'no_agents'"
                            " AND caller_state = 'FL'"),
                 1);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'solo'"), 1);

    /* The same caller again: the open callback is bumped, not duplicated. */
    long long cb = o.callback_id;
    cr_assert_eq(st_route(st, "+18005550100", "+13055550123", false, &o), ERR_OK);
    cr_assert_eq(o.callback_id, cb);
    cr_assert_eq(st_sql_int("SELECT attempts FROM callbacks"), 2);

    /* Ending the first call frees the agent for the next route. */
    cr_assert_eq(callflow_end(st, first, FX_NOW), 1);
    cr_assert_eq(st_route(st, "+18005550100", "+13055550123", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_CONNECT);
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}

Test(store_callflow, round_robin_cursor_moves_only_on_claim)
{
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, NULL);
    st_replace(st, cfg);
    callflow_outcome o;
    callflow_outcome_init(&o);
    char cursor[32];

    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_str_eq(st_outcome_agent(&o), "a");
    st_sql_text("SELECT rr_last_agent FROM rules WHERE id = 'rr'", cursor, sizeof cursor);
    cr_assert_str_eq(cursor, "a");

    /* A dry run shows b as the pick but moves nothing. */
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", true, &o), ERR_OK);
    cr_assert_str_eq(fx_pick(o.cfg, &o.result), "b");
    st_sql_text("SELECT rr_last_agent FROM rules WHERE id = 'rr'", cursor, sizeof cursor);
    cr_assert_str_eq(cursor, "a");

    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_str_eq(st_outcome_agent(&o), "b");

    /* Nobody available: no claim, so the cursor stays on b. */
    for (const char *const *id = (const char *const[]){"a", "b", "c", NULL}; *id; id++)
        cr_assert_eq(store_agent_set(st, *id, AGENT_PAUSED, 0, FX_NOW), ERR_OK);
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_NO_AGENT);
    st_sql_text("SELECT rr_last_agent FROM rules WHERE id = 'rr'", cursor, sizeof cursor);
    cr_assert_str_eq(cursor, "b");

    /* Everyone back: the rotation goes on after b, wrapping around to a. */
    for (const char *const *id = (const char *const[]){"a", "b", "c", NULL}; *id; id++)
        cr_assert_eq(store_agent_set(st, *id, AGENT_ACTIVE, 0, FX_NOW), ERR_OK);
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_str_eq(st_outcome_agent(&o), "c");
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    cr_assert_str_eq(st_outcome_agent(&o), "a");
    st_sql_text("SELECT rr_last_agent FROM rules WHERE id = 'rr'", cursor, sizeof cursor);
    cr_assert_str_eq(cursor, "a");
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}

Test(store_callflow, dry_run_writes_nothing)
{
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, "agent full max=1 active=1\n"
                                            "campaign lonely\n"
                                            "number +18005550300 lonely\n"
                                            "rule lr lonely members=full\n");
    st_replace(st, cfg);
    callflow_outcome o;
    callflow_outcome_init(&o);
    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", false, &o), ERR_OK);
    static const char *const probes[] = {
        "SELECT count(*) FROM calls",
        "SELECT count(*) FROM callbacks",
        "SELECT sum(active_calls) FROM agents",
        "SELECT sum(last_assigned_ms) FROM agents",
        "SELECT count(*) FROM rules WHERE rr_last_agent IS NOT NULL",
        "SELECT value FROM meta WHERE key = 'config_version'",
    };
    long long before[6];
    st_sql_exec("UPDATE agents SET active_calls = 1 WHERE id = 'full'");
    for (int i = 0; i < 6; i++)
        before[i] = st_sql_int(probes[i]);

    cr_assert_eq(st_route(st, "+18005550100", "+15125550100", true, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_CONNECT);
    cr_assert_str_eq(o.call.id, "", "a dry run records no call");
    cr_assert_eq(o.result.trace.n_claims, 0);
    cr_assert_eq(st_route(st, "+18005550300", "+15125550100", true, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_NO_AGENT);
    cr_assert_eq(o.callback_id, 0);
    cr_assert_eq(st_route(st, "+18005559999", "+15125550100", true, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_REJECT);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(st_sql_int(probes[i]), before[i], "%s changed", probes[i]);
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}

Test(store_callflow, unknown_number_is_recorded_as_failed)
{
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, NULL);
    st_replace(st, cfg);
    callflow_outcome o;
    callflow_outcome_init(&o);
    cr_assert_eq(st_route(st, "+18005559999", "anonymous", false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_REJECT);
    cr_assert_neq(o.call.id[0], '\0');
    store_call got;
    cr_assert_eq(store_call_get(st, o.call.id, &got), ERR_OK);
    cr_assert_eq(got.status, CALL_FAILED);
    cr_assert_str_eq(got.campaign, "");
    cr_assert_str_eq(got.tracking_number, "+18005559999");
    cr_assert_str_eq(got.caller, "anonymous");
    cr_assert_str_eq(got.caller_state, "");
    cr_assert_eq(got.ended_ms, FX_NOW);
    cr_assert_not(got.holds_claim);
    cr_assert(strstr(got.trace_json, "reject"), "trace: %s", got.trace_json);
    store_call_clear(&got);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM callbacks"), 0);
    cr_assert_eq(st_sql_int("SELECT sum(active_calls) FROM agents"), 0);
    /* Garbage for a dialled number is recorded too, with the raw input. */
    cr_assert_eq(st_route(st, "not a number", NULL, false, &o), ERR_OK);
    cr_assert_eq(o.result.action, ROUTE_REJECT);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM calls WHERE status = 'failed'"), 2);
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}

/* Group commit: every call of a batch sees the claims of the calls before it. */
Test(store_callflow, batch_routes_against_one_snapshot_in_one_transaction)
{
    store *st = st_open();
    config *cfg = fx_config("campaign sales\n"
                            "number +18005550100 sales\n"
                            "agent a max=1\n"
                            "agent b max=1\n"
                            "agent c max=3\n"
                            "rule first sales pos=1 mode=priority members=a:1,b:2\n"
                            "rule rr sales pos=2 mode=round_robin states=CA members=c\n",
                            NULL);
    st_replace(st, cfg);
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 3);
    callflow_request reqs[3];
    for (int i = 0; i < 3; i++)
        reqs[i] =
            (callflow_request){{"+18005550100", "+15125550100", NULL, NULL, 0}, NULL, FX_NOW + i};
    callflow_outcome outs[3];
    for (int i = 0; i < 3; i++)
        callflow_outcome_init(&outs[i]);
    long long version = st_sql_int("SELECT COUNT(*) FROM calls");
    cr_assert_eq(callflow_route_batch(st, reqs, 3, &rng, outs), ERR_OK);
    cr_assert_eq(outs[0].result.action, ROUTE_CONNECT);
    cr_assert_eq(outs[1].result.action, ROUTE_CONNECT);
    cr_assert_eq(outs[2].result.action, ROUTE_NO_AGENT, "a and b are full, c is for CA only");
    cr_assert_null(outs[0].cfg);
    cr_assert_str_eq(outs[0].call.agent, "a");
    cr_assert_str_eq(outs[1].call.agent, "b");
    /* The second call saw a's claim in the snapshot: it did not lose a race on a. */
    cr_assert_eq(outs[1].result.trace.n_claims, 1);
    cr_assert(strstr(outs[1].call.trace_json, "\"claims\":[{\"agent\":\"b\",\"won\":true}]"),
              "trace: %s", outs[1].call.trace_json);
    cr_assert_neq(outs[2].callback_id, 0);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM calls"), version + 3);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'a'"), 1);
    cr_assert_eq(st_sql_int("SELECT active_calls FROM agents WHERE id = 'b'"), 1);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM calls WHERE holds_claim = 1"), 2);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM callbacks WHERE open = 1"), 1);
    /* Ids are time ordered: a later call sorts after an earlier one. */
    cr_assert_lt(strcmp(outs[0].call.id, outs[2].call.id), 0);
    cr_assert_eq(store_reconcile_counts(st), 0, "counts already match the calls");

    /* Bad arguments change nothing. */
    cr_assert_eq(callflow_route_batch(st, reqs, -1, &rng, outs), ERR_INVALID);
    cr_assert_eq(callflow_route_batch(st, NULL, 2, &rng, outs), ERR_INVALID);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM calls"), version + 3);
    for (int i = 0; i < 3; i++)
        callflow_outcome_free(&outs[i]);
    config_free(cfg);
    store_close(st);
}

/* A failing batch is rolled back whole: no call, claim or callback of it remains. */
Test(store_callflow, failing_batch_rolls_back_everything)
{
    store *st = st_open();
    config *cfg = fx_config(st_flow_config, NULL);
    st_replace(st, cfg);
    /* A trigger makes the second insert fail, after the first call was claimed. */
    if (st_db.pg)
        st_sql_exec("CREATE FUNCTION fail_second() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF (SELECT count(*) FROM calls) >= 1 THEN"
                    " RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;"
                    "CREATE TRIGGER fail_second BEFORE INSERT ON calls"
                    " FOR EACH ROW EXECUTE FUNCTION fail_second()");
    else
        st_sql_exec("CREATE TRIGGER fail_second BEFORE INSERT ON calls"
                    " WHEN (SELECT COUNT(*) FROM calls) >= 1"
                    " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 3);
    callflow_request reqs[2] = {
        {{"+18005550100", "+15125550100", NULL, NULL, 0}, "x1", FX_NOW},
        {{"+18005550100", "+15125550101", NULL, NULL, 0}, "x2", FX_NOW + 1}};
    callflow_outcome outs[2];
    callflow_outcome_init(&outs[0]);
    callflow_outcome_init(&outs[1]);
    cr_assert_lt(callflow_route_batch(st, reqs, 2, &rng, outs), 0);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM calls"), 0);
    cr_assert_eq(st_sql_int("SELECT SUM(active_calls) FROM agents"), 0);
    cr_assert_eq(st_sql_int("SELECT COUNT(*) FROM rules WHERE rr_last_agent <> ''"), 0);
    cr_assert_str_eq(outs[0].call.id, "", "a rolled-back call must not look recorded");
    cr_assert_eq(outs[0].agent, -1);
    callflow_outcome_free(&outs[0]);
    callflow_outcome_free(&outs[1]);
    config_free(cfg);
    store_close(st);
}

Test(store_callflow, a_carrier_call_id_names_one_call)
{
    store *st = st_open();
    config *cfg = fx_config("campaign sales\nnumber +18005550100 sales\nagent a\n"
                            "rule r sales members=a\n",
                            NULL);
    st_replace(st, cfg);
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 7);
    router_call call = {"+18005550100", "+15125550100", NULL, NULL, 0};
    callflow_outcome o;
    callflow_outcome_init(&o);
    cr_assert_eq(callflow_route(st, &call, "CA0001", FX_NOW, &rng, false, &o), ERR_OK);
    char first[STORE_CALL_ID_MAX];
    snprintf(first, sizeof first, "%s", o.call.id);
    /* The same carrier id again (a retried webhook) is refused and changes nothing. */
    cr_assert_eq(callflow_route(st, &call, "CA0001", FX_NOW + 1, &rng, false, &o), ERR_CONFLICT);
    cr_assert_eq(st_sql_int("SELECT count(*) FROM calls"), 1);
    cr_assert_eq(st_sql_int("SELECT sum(active_calls) FROM agents"), 1);
    store_call got;
    cr_assert_eq(store_call_find_external(st, "CA0001", &got), ERR_OK);
    cr_assert_str_eq(got.id, first);
    store_call_clear(&got);
    cr_assert_eq(store_call_find_external(st, "CA0002", &got), ERR_NOT_FOUND);
    /* Calls without a carrier id never collide. */
    cr_assert_eq(callflow_route(st, &call, "", FX_NOW + 2, &rng, false, &o), ERR_OK);
    cr_assert_eq(callflow_route(st, &call, "", FX_NOW + 3, &rng, false, &o), ERR_OK);
    callflow_outcome_free(&o);
    config_free(cfg);
    store_close(st);
}
