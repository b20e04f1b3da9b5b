/* test_store_daemon.c -- the store calls added for the daemon (answer, release for retry,
 * lists, callbacks completion, statistics, API keys and agent tokens) and the failover of
 * a call that was not answered. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router_fixture.h"
#include "service/callflow.h"
#include "store/store.h"
#include "temp_db.h"

static temp_db sd_db;

static void sd_setup(void)
{
    temp_db_make(&sd_db, "sdaemon", false);
}

static void sd_teardown(void)
{
    temp_db_remove(&sd_db);
}

/* A store holding one campaign with a priority rule over a1, a2 (both registered). */
static store *sd_open(void)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(sd_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    config *cfg = fx_config("campaign c1 default=medicare\n"
                            "number +18005550101 c1\n"
                            "agent a1\n"
                            "agent a2\n"
                            "rule r1 c1 mode=priority members=a1:1,a2:2\n",
                            NULL);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    config_free(cfg);
    cr_assert_eq(store_agent_register(st, "a1", FX_NOW + 3600000), ERR_OK);
    cr_assert_eq(store_agent_register(st, "a2", FX_NOW + 3600000), ERR_OK);
    return st;
}

static void sd_route_at(store *st, callflow_outcome *out, int64_t now)
{
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 7);
    router_call call = {"+18005550101", "+15125550100", NULL, NULL, 0};
    callflow_outcome_init(out);
    cr_assert_eq(callflow_route(st, &call, "", now, &rng, false, out), ERR_OK);
}

static void sd_route(store *st, callflow_outcome *out)
{
    sd_route_at(st, out, FX_NOW);
}

static int sd_active(store *st, const char *agent)
{
    config *cfg = NULL;
    cr_assert_eq(store_config_load(st, &cfg, NULL, 0), ERR_OK);
    int i = config_find_agent(cfg, agent);
    cr_assert(i >= 0);
    int n = cfg->agents[i].active_calls;
    config_free(cfg);
    return n;
}

TestSuite(store_daemon, .init = sd_setup, .fini = sd_teardown);

Test(store_daemon, answer_moves_ringing_to_connected_once)
{
    store *st = sd_open();
    callflow_outcome o;
    sd_route(st, &o);
    cr_assert_eq(o.call.status, CALL_RINGING);
    cr_assert_eq(store_call_answer(st, o.call.id, FX_NOW + 1), 1);
    cr_assert_eq(store_call_answer(st, o.call.id, FX_NOW + 2), 0);
    cr_assert_eq(store_call_answer(st, "nope", FX_NOW), ERR_NOT_FOUND);
    cr_assert_eq(store_call_end(st, o.call.id, CALL_COMPLETED, FX_NOW + 3), 1);
    cr_assert_eq(store_call_answer(st, o.call.id, FX_NOW + 4), ERR_CONFLICT);
    callflow_outcome_free(&o);
    store_close(st);
}

Test(store_daemon, failover_moves_to_the_next_agent_then_to_a_callback)
{
    store *st = sd_open();
    callflow_outcome o, f;
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 1);
    sd_route(st, &o);
    cr_assert_str_eq(o.call.agent, "a1");
    callflow_outcome_init(&f);
    cr_assert_eq(callflow_no_answer(st, o.call.id, FX_NOW + 20000, &rng, &f), ERR_OK);
    cr_assert_str_eq(f.call.id, o.call.id);
    cr_assert_eq(f.result.action, ROUTE_CONNECT);
    cr_assert_str_eq(f.call.agent, "a2");
    cr_assert_eq(sd_active(st, "a1"), 0);
    cr_assert_eq(sd_active(st, "a2"), 1);
    cr_assert_eq(callflow_no_answer(st, o.call.id, FX_NOW + 40000, &rng, &f), ERR_OK);
    cr_assert_eq(f.result.action, ROUTE_NO_AGENT);
    cr_assert(f.callback_id > 0);
    cr_assert_eq(sd_active(st, "a2"), 0);
    store_call row;
    cr_assert_eq(store_call_get(st, o.call.id, &row), ERR_OK);
    cr_assert_eq(row.status, CALL_CALLBACK);
    cr_assert_str_eq(row.tried_json, "[\"a1\",\"a2\"]");
    cr_assert_not(row.holds_claim);
    store_call_clear(&row);
    /* Not ringing any more: a further no-answer conflicts and changes nothing. */
    cr_assert_eq(callflow_no_answer(st, o.call.id, FX_NOW + 50000, &rng, &f), ERR_CONFLICT);
    cr_assert_eq(callflow_no_answer(st, "missing", FX_NOW, &rng, &f), ERR_NOT_FOUND);
    /* Ending it now releases nothing. */
    cr_assert_eq(store_call_end(st, o.call.id, CALL_COMPLETED, FX_NOW + 60000), 0);
    callflow_outcome_free(&f);
    callflow_outcome_free(&o);
    store_close(st);
}

Test(store_daemon, call_list_filters_and_pages_newest_first)
{
    store *st = sd_open();
    char ids[3][STORE_CALL_ID_MAX];
    for (int i = 0; i < 3; i++) {
        callflow_outcome o;
        sd_route_at(st, &o, FX_NOW + i * 1000); /* ids start with the creation time */
        snprintf(ids[i], sizeof ids[i], "%s", o.call.id);
        store_call_end(st, o.call.id, CALL_COMPLETED, FX_NOW + i * 1000 + 1);
        callflow_outcome_free(&o);
    }
    store_call_filter f;
    memset(&f, 0, sizeof f);
    f.status = CALL_COMPLETED;
    f.limit = 2;
    store_call *rows = NULL;
    int n = 0;
    cr_assert_eq(store_call_list(st, &f, &rows, &n), ERR_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, ids[2]);
    cr_assert_str_eq(rows[1].id, ids[1]);
    snprintf(f.before, sizeof f.before, "%s", rows[1].id);
    for (int i = 0; i < n; i++)
        store_call_clear(&rows[i]);
    free(rows);
    cr_assert_eq(store_call_list(st, &f, &rows, &n), ERR_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].id, ids[0]);
    store_call_clear(&rows[0]);
    free(rows);
    f.status = CALL_RINGING;
    f.before[0] = '\0';
    cr_assert_eq(store_call_list(st, &f, &rows, &n), ERR_OK);
    cr_assert_eq(n, 0);
    free(rows);
    store_close(st);
}

Test(store_daemon, callbacks_list_and_complete)
{
    store *st = sd_open();
    store_callback cb;
    memset(&cb, 0, sizeof cb);
    snprintf(cb.campaign, sizeof cb.campaign, "c1");
    snprintf(cb.caller, sizeof cb.caller, "+15125550100");
    snprintf(cb.reason, sizeof cb.reason, "no_agents");
    cb.created_ms = FX_NOW;
    cr_assert_eq(store_callback_upsert(st, &cb), ERR_OK);
    store_callback_filter f = {.open = 1, .campaign = "", .before_id = 0, .limit = 10};
    store_callback *rows = NULL;
    int n = 0;
    cr_assert_eq(store_callback_list(st, &f, &rows, &n), ERR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(rows[0].id, cb.id);
    free(rows);
    cr_assert_eq(store_callback_complete(st, cb.id, "ghost", "", FX_NOW), ERR_INVALID);
    cr_assert_eq(store_callback_complete(st, cb.id + 100, "a1", "", FX_NOW), ERR_NOT_FOUND);
    cr_assert_eq(store_callback_complete(st, cb.id, "a1", "done", FX_NOW + 1), ERR_OK);
    cr_assert_eq(store_callback_complete(st, cb.id, "a1", "again", FX_NOW + 2), ERR_CONFLICT);
    store_callback got;
    cr_assert_eq(store_callback_get(st, cb.id, &got), ERR_OK);
    cr_assert_not(got.open);
    cr_assert_str_eq(got.completed_by, "a1");
    cr_assert_eq(store_callback_list(st, &f, &rows, &n), ERR_OK);
    cr_assert_eq(n, 0);
    free(rows);
    store_close(st);
}

Test(store_daemon, stats_count_live_state)
{
    store *st = sd_open();
    store_stats s;
    callflow_outcome o;
    cr_assert_eq(store_stats_get(st, FX_NOW, &s), ERR_OK);
    cr_assert_eq(s.active_calls, 0);
    cr_assert_eq(s.agents_available, 2);
    sd_route(st, &o);
    cr_assert_eq(store_stats_get(st, FX_NOW, &s), ERR_OK);
    cr_assert_eq(s.active_calls, 1);
    cr_assert_eq(s.agents_available, 1);
    cr_assert_eq(store_stats_get(st, FX_NOW + 7200000, &s), ERR_OK); /* registrations expired */
    cr_assert_eq(s.agents_available, 0);
    cr_assert_eq(store_ping(st), ERR_OK);
    callflow_outcome_free(&o);
    store_close(st);
}

Test(store_daemon, keys_and_tokens)
{
    store *st = sd_open();
    store_principal p;
    long long id = 0, tid = 0;
    cr_assert_eq(store_apikey_create(st, "ops", "h1", FX_NOW, &id), ERR_OK);
    cr_assert_eq(store_apikey_create(st, "ops", "h2", FX_NOW, &id), ERR_CONFLICT);
    cr_assert_eq(store_auth_lookup(st, "h1", &p), ERR_OK);
    cr_assert_eq(p.kind, STORE_PRINCIPAL_ADMIN);
    cr_assert_str_eq(p.name, "ops");
    cr_assert_eq(store_agent_token_create(st, "ghost", "t0", FX_NOW, &tid), ERR_NOT_FOUND);
    cr_assert_eq(store_agent_token_create(st, "a2", "t1", FX_NOW, &tid), ERR_OK);
    cr_assert_eq(store_auth_lookup(st, "t1", &p), ERR_OK);
    cr_assert_eq(p.kind, STORE_PRINCIPAL_AGENT);
    cr_assert_str_eq(p.agent, "a2");
    cr_assert_eq(store_auth_lookup(st, "nope", &p), ERR_NOT_FOUND);
    cr_assert_eq(store_apikey_revoke(st, "ops", FX_NOW), ERR_OK);
    cr_assert_eq(store_apikey_revoke(st, "ops", FX_NOW), ERR_NOT_FOUND);
    cr_assert_eq(store_auth_lookup(st, "h1", &p), ERR_NOT_FOUND);
    /* The name is free again once revoked; revoking by id works too. */
    cr_assert_eq(store_apikey_create(st, "ops", "h3", FX_NOW, &id), ERR_OK);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", id);
    cr_assert_eq(store_apikey_revoke(st, idtext, FX_NOW), ERR_OK);
    /* Removing the agent from the configuration removes its tokens. */
    config *cfg = fx_config("campaign c1\nagent a1\n", NULL);
    cr_assert_eq(store_config_replace(st, cfg, NULL, 0), ERR_OK);
    config_free(cfg);
    cr_assert_eq(store_auth_lookup(st, "t1", &p), ERR_NOT_FOUND);
    store_close(st);
}

/* registered_until_ms of agent `id` as stored now. */
static int64_t sd_registered_until(store *st, const char *id)
{
    config *cfg = NULL;
    cr_assert_eq(store_config_load(st, &cfg, NULL, 0), ERR_OK);
    int i = config_find_agent(cfg, id);
    cr_assert(i >= 0);
    int64_t until = cfg->agents[i].registered_until_ms;
    config_free(cfg);
    return until;
}

Test(store_daemon, presence_and_stream_registrations_are_separate)
{
    store *st = sd_open(); /* a1 has a presence registration until FX_NOW + 1 h */
    cr_assert_eq(store_agent_stream(st, "a1", FX_NOW + 15000), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), FX_NOW + 3600000);
    /* The stream closing leaves the presence registration. */
    cr_assert_eq(store_agent_stream(st, "a1", 0), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), FX_NOW + 3600000);
    /* Without presence, the stream alone registers, and its end unregisters. */
    cr_assert_eq(store_agent_unregister(st, "a1"), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), 0);
    cr_assert_eq(store_agent_stream(st, "a1", FX_NOW + 15000), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), FX_NOW + 15000);
    /* Clearing presence while the stream is open keeps the stream's registration. */
    cr_assert_eq(store_agent_register(st, "a1", FX_NOW + 5000), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), FX_NOW + 15000);
    cr_assert_eq(store_agent_unregister(st, "a1"), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), FX_NOW + 15000);
    cr_assert_eq(store_agent_stream(st, "a1", 0), ERR_OK);
    cr_assert_eq(sd_registered_until(st, "a1"), 0);
    cr_assert_eq(store_agent_stream(st, "nobody", FX_NOW), ERR_NOT_FOUND);
    store_close(st);
}
