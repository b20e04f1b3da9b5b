/* test_config.c -- the configuration builders, lookups, slugs, states and the random source. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/errors.h"
#include "core/rng.h"
#include "core/states.h"

static int add_agent(config *cfg, const char *id)
{
    config_agent a = {0};
    snprintf(a.id, sizeof a.id, "%s", id);
    snprintf(a.name, sizeof a.name, "Agent %s", id);
    a.max_concurrent = 1;
    return config_add_agent(cfg, &a);
}

Test(config, finish_sorts_and_finds)
{
    config *cfg = config_new();
    cr_assert_not_null(cfg);
    const char *ids[] = {"zoe", "maria", "al", "bob", "maria2"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(add_agent(cfg, ids[i]), i);
    /* Before finish, lookups scan linearly. */
    cr_assert_eq(config_find_agent(cfg, "bob"), 3);
    config_campaign c = {0};
    snprintf(c.id, sizeof c.id, "medicare");
    cr_assert_eq(config_add_campaign(cfg, &c), 0);
    const char *numbers[] = {"+18885550100", "+18005550100", "+18445550100"};
    for (int i = 0; i < 3; i++) {
        config_number n = {0};
        snprintf(n.number, sizeof n.number, "%s", numbers[i]);
        cr_assert_geq(config_add_number(cfg, &n), 0);
    }
    config_member m = {.agent = 1, .priority = 1, .weight = 1};
    for (int pos = 3; pos >= 1; pos--) {
        config_rule r = {0};
        snprintf(r.id, sizeof r.id, "rule%d", pos);
        r.position = pos;
        r.members = &m;
        r.n_members = 1;
        cr_assert_geq(config_add_rule(cfg, &r), 0);
    }
    config_finish(cfg);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(config_find_agent(cfg, ids[i]), i, "agent %s", ids[i]);
    cr_assert_eq(config_find_agent(cfg, "nobody"), -1);
    cr_assert_eq(config_find_agent(cfg, NULL), -1);
    cr_assert_str_eq(cfg->numbers[0].number, "+18005550100");
    cr_assert_eq(config_find_number(cfg, "+18885550100"), 2);
    cr_assert_eq(config_find_number(cfg, "+18775550100"), -1);
    cr_assert_str_eq(cfg->rules[0].id, "rule1");
    cr_assert_str_eq(cfg->rules[2].id, "rule3");
    cr_assert_eq(config_find_rule(cfg, "rule2"), 1);
    cr_assert_eq(config_find_campaign(cfg, "medicare"), 0);
    cr_assert_eq(config_find_campaign(cfg, "aca"), -1);
    cr_assert_eq(cfg->rules[1].members[0].agent, 1);
    cr_assert_neq(cfg->rules[1].members, &m, "members are copied, not borrowed");
    config_free(cfg);
}

Test(config, clone_is_deep)
{
    config *cfg = config_new();
    add_agent(cfg, "maria");
    add_agent(cfg, "bob");
    config_member ms[2] = {{0, 1, 1}, {1, 2, 3}};
    config_rule r = {0};
    snprintf(r.id, sizeof r.id, "r");
    r.members = ms;
    r.n_members = 2;
    config_add_rule(cfg, &r);
    cr_assert_neq(config_category_bit(cfg, "medicare"), 0);
    config_finish(cfg);
    config *copy = config_clone(cfg);
    cr_assert_not_null(copy);
    cr_assert_eq(copy->n_agents, 2);
    cr_assert_eq(copy->rules[0].n_members, 2);
    cr_assert_neq(copy->rules[0].members, cfg->rules[0].members);
    cfg->rules[0].members[1].weight = 99;
    cfg->agents[0].active_calls = 5;
    cr_assert_eq(copy->rules[0].members[1].weight, 3);
    cr_assert_eq(copy->agents[0].active_calls, 0);
    cr_assert_eq(config_find_agent(copy, "bob"), 1);
    cr_assert_eq(config_category_lookup(copy, "medicare"), 1);
    config_free(cfg);
    config_free(copy);
    config_free(NULL);
}

Test(config, categories_interned_up_to_the_limit)
{
    config *cfg = config_new();
    char slug[16];
    for (int i = 0; i < CONFIG_MAX_CATEGORIES; i++) {
        snprintf(slug, sizeof slug, "cat%d", i);
        cr_assert_eq(config_category_bit(cfg, slug), (uint64_t)1 << i);
    }
    cr_assert_eq(config_category_bit(cfg, "cat5"), (uint64_t)1 << 5, "known slug keeps its bit");
    cr_assert_eq(config_category_bit(cfg, "one_too_many"), 0);
    cr_assert_eq(config_category_bit(cfg, "Bad-Slug"), 0);
    cr_assert_eq(config_category_lookup(cfg, "nope"), 0);
    cr_assert_eq(config_category_lookup(cfg, NULL), 0);
    config_free(cfg);
}

Test(config, slugs)
{
    cr_assert(config_valid_id("maria"));
    cr_assert(config_valid_id("tx-medicare_2.a"));
    cr_assert_not(config_valid_id(""));
    cr_assert_not(config_valid_id(NULL));
    cr_assert_not(config_valid_id("has space"));
    cr_assert_not(config_valid_id("semi;colon"));
    cr_assert_not(config_valid_id("quote'"));
    char longid[80];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    cr_assert_not(config_valid_id(longid));
    longid[CONFIG_ID_MAX - 1] = '\0';
    cr_assert(config_valid_id(longid), "63 characters are allowed");
    cr_assert(config_valid_category("final_expense"));
    cr_assert_not(config_valid_category("Medicare"));
    cr_assert_not(config_valid_category("aca-2"));
}

Test(config, enum_names_round_trip)
{
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(config_status_parse(config_status_name((agent_status)i)), i);
        cr_assert_eq(config_mode_parse(config_mode_name((dist_mode)i)), i);
        cr_assert_eq(config_softphone_parse(config_softphone_name((softphone_type)i)), i);
    }
    cr_assert_str_eq(config_mode_name(MODE_ROUND_ROBIN), "round_robin");
    cr_assert_eq(config_mode_parse("fastest"), -1);
    cr_assert_eq(config_status_parse(NULL), -1);
    cr_assert_eq(config_status_parse("Active"), -1);
}

Test(config, states)
{
    cr_assert_eq(states_index("TX") >= 0, 1);
    cr_assert_str_eq(states_code(states_index("TX")), "TX");
    const char *must[] = {"DC", "PR", "VI", "GU", "AS", "MP", "AK", "WY", "HI"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        cr_assert_geq(states_index(must[i]), 0, "%s", must[i]);
    int n = 0;
    for (int i = 0; i < STATES_COUNT; i++) {
        cr_assert_eq(states_index(states_code(i)), i);
        n++;
    }
    cr_assert_eq(n, 56);
    cr_assert_eq(states_index("tx"), -1);
    cr_assert_eq(states_index("XX"), -1);
    cr_assert_eq(states_index("TXX"), -1);
    cr_assert_eq(states_index("T"), -1);
    cr_assert_eq(states_index(NULL), -1);
    cr_assert_null(states_code(56));
    cr_assert_null(states_code(-1));
    cr_assert_eq(states_bit("AK"), 1);
    cr_assert_eq(states_bit("ZZ"), 0);
}

Test(config, errors_have_stable_codes)
{
    cr_assert_str_eq(errors_code(ERR_INVALID), "invalid_input");
    cr_assert_str_eq(errors_code(ERR_NOT_FOUND), "not_found");
    cr_assert_str_eq(errors_code(ERR_CONFLICT), "conflict");
    cr_assert_str_eq(errors_code(42), "unknown");
    cr_assert_str_eq(errors_str(ERR_NOT_FOUND), "no such id");
}

Test(config, rng_is_deterministic_and_bounded)
{
    rng_splitmix g1, g2;
    rng_source a = rng_splitmix_source(&g1, 42), b = rng_splitmix_source(&g2, 42);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t x = rng_below(&a, 7);
        cr_assert_eq(x, rng_below(&b, 7));
        cr_assert_lt(x, 7);
        counts[x]++;
    }
    for (int i = 0; i < 7; i++)
        cr_assert(counts[i] > 9000 && counts[i] < 11000, "bucket %d has %d", i, counts[i]);
    cr_assert_eq(rng_below(&a, 1), 0);
}
