/* test_config_json.c -- the configuration's JSON format: defaults, round trip, exact error paths.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/config_json.h"
#include "core/errors.h"
#include "core/states.h"

static const char cj_full_doc[] =
    "{\"agents\": [{\"id\": \"maria\", \"name\": \"Maria Lopez\", \"status\": \"active\","
    "  \"max_concurrent\": 2, \"states\": [\"TX\", \"FL\"], \"categories\": [\"medicare\"],"
    "  \"softphone\": {\"type\": \"client\", \"address\": \"maria\"}},"
    " {\"id\": \"james\"},"
    " {\"id\": \"zoe\", \"name\": \"Zoe\", \"status\": \"paused\", \"categories\": [\"aca\", "
    "\"final_expense\"],"
    "  \"softphone\": {\"type\": \"sip\", \"address\": \"sip:zoe@pbx.example.com\"}}],"
    " \"campaigns\": [{\"id\": \"medicare\", \"name\": \"Medicare inbound\","
    "  \"default_category\": \"medicare\", \"ring_timeout_s\": 25,"
    "  \"queue\": {\"enabled\": true, \"max_size\": 10, \"max_wait_s\": 120,"
    "             \"hold_music_url\": \"https://cdn.example.com/hold.mp3\"},"
    "  \"friendly_message\": \"Thanks for calling. An agent will call you back shortly.\","
    "  \"discord_webhook_url\": \"https://discord.com/api/webhooks/1/abc\","
    "  \"tracking_numbers\": [{\"number\": \"(888) 555-0199\"},"
    "                        {\"number\": \"+18005550100\", \"category\": \"medicare\"}],"
    "  \"rules\": [{\"id\": \"tx-medicare\", \"name\": \"Texas Medicare\", \"position\": 1,"
    "             \"enabled\": true, \"states\": [\"TX\"], \"categories\": [\"medicare\"],"
    "             \"mode\": \"priority\","
    "             \"members\": [{\"agent\": \"maria\", \"priority\": 1, \"weight\": 1},"
    "                          {\"agent\": \"james\", \"priority\": 2}]},"
    "            {\"id\": \"overflow\", \"mode\": \"weighted\","
    "             \"members\": [{\"agent\": \"james\", \"weight\": 3}, {\"agent\": \"zoe\"}]}]},"
    "  {\"id\": \"aca\", \"tracking_numbers\": [{\"number\": \"1-866-555-0142\", \"category\": "
    "\"aca\"}],"
    "   \"rules\": [{\"id\": \"aca-rr\", \"position\": 5, \"enabled\": false, \"mode\": "
    "\"round_robin\","
    "              \"members\": [{\"agent\": \"zoe\"}, {\"agent\": \"james\"}]}]}]}";

static config *cj_parse_ok(const char *doc)
{
    config *cfg = NULL;
    config_json_error err;
    int rc = config_json_parse(doc, strlen(doc), &cfg, &err);
    cr_assert_eq(rc, ERR_OK, "parse failed at '%s': %s", err.path, err.message);
    cr_assert_not_null(cfg);
    return cfg;
}

static char *cj_dump_text(const config *cfg)
{
    json_t *j = config_json_dump(cfg);
    cr_assert_not_null(j);
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    cr_assert_not_null(text);
    return text;
}

static const config_rule *cj_rule(const config *cfg, const char *id)
{
    int i = config_find_rule(cfg, id);
    cr_assert_geq(i, 0, "rule %s missing", id);
    return &cfg->rules[i];
}

Test(config_json, parses_values_and_applies_defaults)
{
    config *cfg = cj_parse_ok(cj_full_doc);
    cr_assert_eq(cfg->n_agents, 3);
    cr_assert_eq(cfg->n_campaigns, 2);
    cr_assert_eq(cfg->n_rules, 3);
    cr_assert_eq(cfg->n_numbers, 3);

    const config_agent *maria = &cfg->agents[config_find_agent(cfg, "maria")];
    cr_assert_str_eq(maria->name, "Maria Lopez");
    cr_assert_eq(maria->max_concurrent, 2);
    cr_assert_eq(maria->states, states_bit("TX") | states_bit("FL"));
    cr_assert_eq(maria->categories, config_category_lookup(cfg, "medicare"));
    cr_assert_eq(maria->active_calls, 0);
    cr_assert_eq(maria->registered_until_ms, 0);

    /* An agent with only an id takes every default. */
    const config_agent *james = &cfg->agents[config_find_agent(cfg, "james")];
    cr_assert_str_eq(james->name, "james");
    cr_assert_eq(james->status, AGENT_ACTIVE);
    cr_assert_eq(james->max_concurrent, 1);
    cr_assert_eq(james->states, 0);
    cr_assert_eq(james->categories, 0);
    cr_assert_eq(james->softphone, SOFTPHONE_CLIENT);
    cr_assert_str_eq(james->softphone_address, "james");

    const config_agent *zoe = &cfg->agents[config_find_agent(cfg, "zoe")];
    cr_assert_eq(zoe->status, AGENT_PAUSED);
    cr_assert_eq(zoe->softphone, SOFTPHONE_SIP);
    cr_assert_eq(zoe->categories,
                 config_category_lookup(cfg, "aca") | config_category_lookup(cfg, "final_expense"));

    const config_campaign *med = &cfg->campaigns[config_find_campaign(cfg, "medicare")];
    cr_assert_eq(med->ring_timeout_s, 25);
    cr_assert(med->queue_enabled);
    cr_assert_eq(med->queue_max_size, 10);
    cr_assert_eq(med->queue_max_wait_s, 120);
    cr_assert_str_eq(med->hold_music_url, "https://cdn.example.com/hold.mp3");
    cr_assert_str_eq(med->discord_webhook_url, "https://discord.com/api/webhooks/1/abc");

    const config_campaign *aca = &cfg->campaigns[config_find_campaign(cfg, "aca")];
    cr_assert_str_eq(aca->name, "aca");
    cr_assert_str_eq(aca->default_category, "");
    cr_assert_eq(aca->ring_timeout_s, 20);
    cr_assert_not(aca->queue_enabled);
    cr_assert_eq(aca->queue_max_size, 50);
    cr_assert_eq(aca->queue_max_wait_s, 300);
    cr_assert_str_eq(aca->hold_music_url, "");
    cr_assert_str_eq(aca->friendly_message, "Thanks for calling. All of our agents are busy right "
                                            "now; we will call you back shortly.");
    cr_assert_str_eq(aca->discord_webhook_url, "");

    /* Tracking numbers are stored as E.164, with their own category when given. */
    int n = config_find_number(cfg, "+18885550199");
    cr_assert_geq(n, 0);
    cr_assert_str_eq(cfg->numbers[n].category, "");
    cr_assert_eq(cfg->numbers[n].campaign, config_find_campaign(cfg, "medicare"));
    n = config_find_number(cfg, "+18665550142");
    cr_assert_geq(n, 0);
    cr_assert_str_eq(cfg->numbers[n].category, "aca");
    cr_assert_eq(cfg->numbers[n].campaign, config_find_campaign(cfg, "aca"));

    const config_rule *tx = cj_rule(cfg, "tx-medicare");
    cr_assert_eq(tx->mode, MODE_PRIORITY);
    cr_assert_eq(tx->states, states_bit("TX"));
    cr_assert_eq(tx->n_members, 2);
    cr_assert_eq(tx->members[1].agent, config_find_agent(cfg, "james"));
    cr_assert_eq(tx->members[1].priority, 2);
    cr_assert_eq(tx->members[1].weight, 1);
    cr_assert_eq(tx->rr_last_agent, -1);

    const config_rule *ov = cj_rule(cfg, "overflow");
    cr_assert_str_eq(ov->name, "overflow");
    cr_assert_eq(ov->position, 2, "default position is the index + 1");
    cr_assert(ov->enabled);
    cr_assert_eq(ov->states, 0);
    cr_assert_eq(ov->mode, MODE_WEIGHTED);
    cr_assert_eq(ov->members[0].weight, 3);
    cr_assert_eq(ov->members[0].priority, 1);

    const config_rule *rr = cj_rule(cfg, "aca-rr");
    cr_assert_eq(rr->position, 5);
    cr_assert_not(rr->enabled);
    cr_assert_eq(rr->mode, MODE_ROUND_ROBIN);
    cr_assert_eq(rr->members[0].agent, config_find_agent(cfg, "zoe"));
    config_free(cfg);
}

Test(config_json, empty_configuration_is_valid)
{
    config *cfg = cj_parse_ok("{\"agents\": [], \"campaigns\": []}");
    cr_assert_eq(cfg->n_agents, 0);
    cr_assert_eq(cfg->n_campaigns, 0);
    char *text = cj_dump_text(cfg);
    json_t *j = json_loads(text, 0, NULL);
    cr_assert_eq(json_array_size(json_object_get(j, "agents")), 0);
    cr_assert_eq(json_array_size(json_object_get(j, "campaigns")), 0);
    json_decref(j);
    free(text);
    config_free(cfg);
}

Test(config_json, round_trip_is_stable)
{
    config *a = cj_parse_ok(cj_full_doc);
    char *t1 = cj_dump_text(a);
    config *b = cj_parse_ok(t1);
    char *t2 = cj_dump_text(b);
    cr_assert_str_eq(t1, t2);
    config_free(a);
    config_free(b);
    free(t1);
    free(t2);
}

Test(config_json, dump_has_every_field_in_a_stable_order)
{
    config *cfg = cj_parse_ok(cj_full_doc);
    json_t *j = config_json_dump(cfg);
    json_t *agents = json_object_get(j, "agents");
    /* Agents and campaigns come out sorted by id, whatever the input order. */
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(agents, 0), "id")), "james");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(agents, 2), "id")), "zoe");
    json_t *james = json_array_get(agents, 0);
    const char *agent_keys[] = {"id",     "name",       "status",   "max_concurrent",
                                "states", "categories", "softphone"};
    const char *key;
    json_t *v;
    size_t k = 0;
    json_object_foreach(james, key, v)
    {
        cr_assert_lt(k, 7);
        cr_assert_str_eq(key, agent_keys[k]);
        k++;
    }
    cr_assert_eq(k, 7);
    json_t *aca = json_array_get(json_object_get(j, "campaigns"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(aca, "id")), "aca");
    cr_assert(json_is_null(json_object_get(aca, "default_category")));
    cr_assert(json_is_null(json_object_get(aca, "discord_webhook_url")));
    json_t *q = json_object_get(aca, "queue");
    cr_assert(json_is_false(json_object_get(q, "enabled")));
    cr_assert_eq(json_integer_value(json_object_get(q, "max_size")), 50);
    cr_assert(json_is_null(json_object_get(q, "hold_music_url")));
    json_t *med = json_array_get(json_object_get(j, "campaigns"), 1);
    json_t *nums = json_object_get(med, "tracking_numbers");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(nums, 0), "number")),
                     "+18005550100");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(nums, 1), "number")),
                     "+18885550199");
    json_t *rules = json_object_get(med, "rules");
    cr_assert_eq(json_array_size(rules), 2);
    json_t *ov = json_array_get(rules, 1);
    cr_assert_eq(json_integer_value(json_object_get(ov, "position")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(ov, "mode")), "weighted");
    json_t *m0 = json_array_get(json_object_get(ov, "members"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(m0, "agent")), "james");
    cr_assert_eq(json_integer_value(json_object_get(m0, "weight")), 3);
    /* States come out in code order, categories alphabetically. */
    json_t *maria = json_array_get(agents, 1);
    json_t *st = json_object_get(maria, "states");
    cr_assert_str_eq(json_string_value(json_array_get(st, 0)), "FL");
    cr_assert_str_eq(json_string_value(json_array_get(st, 1)), "TX");
    json_t *cats = json_object_get(json_array_get(agents, 2), "categories");
    cr_assert_str_eq(json_string_value(json_array_get(cats, 0)), "aca");
    cr_assert_str_eq(json_string_value(json_array_get(cats, 1)), "final_expense");
    json_decref(j);
    config_free(cfg);
}

Test(config_json, from_value_matches_text_parse)
{
    json_t *root = json_loads(cj_full_doc, 0, NULL);
    cr_assert_not_null(root);
    config *cfg = NULL;
    config_json_error err;
    cr_assert_eq(config_json_from_value(root, &cfg, &err), ERR_OK);
    cr_assert_eq(cfg->n_rules, 3);
    config_free(cfg);
    json_decref(root);
}

Test(config_json, demo_example_is_valid)
{
    FILE *f = fopen("examples/demo.json", "rb");
    if (!f)
        cr_skip_test("examples/demo.json not found from this directory");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    config *cfg = NULL;
    config_json_error err;
    int rc = config_json_parse(buf, n, &cfg, &err);
    cr_assert_eq(rc, ERR_OK, "demo.json: %s: %s", err.path, err.message);
    cr_assert_geq(cfg->n_agents, 5);
    cr_assert_eq(cfg->n_campaigns, 2);
    config_free(cfg);
}

/* ---- bad documents, each with the exact path of the first error ------------------------- */

#define AG(x) "{\"agents\": [" x "], \"campaigns\": []}"
#define CP(x) "{\"agents\": [{\"id\": \"maria\"}, {\"id\": \"james\"}], \"campaigns\": [" x "]}"
#define RULE(id, extra) "{\"id\": \"" id "\", \"members\": [{\"agent\": \"maria\"}]" extra "}"
#define CAT10(p)                                                                                   \
    "\"" p "0\",\"" p "1\",\"" p "2\",\"" p "3\",\"" p "4\",\"" p "5\",\"" p "6\",\"" p "7\",\"" p \
    "8\",\"" p "9\""

typedef struct {
    const char *name;
    const char *doc;
    const char *path;
    const char *message; /* a substring of the message */
} cj_bad_case;

static const cj_bad_case cj_bad[] = {
    {"malformed", "{\"agents\": [}", "", "invalid JSON"},
    {"truncated", "{\"agents\": [{\"id\": \"maria\"", "", "invalid JSON"},
    {"empty input", "", "", "invalid JSON"},
    {"top level array", "[]", "", "must be a JSON object"},
    {"top level string", "\"hello\"", "", "must be a JSON object"},
    {"duplicate key", "{\"agents\": [], \"agents\": [], \"campaigns\": []}", "", "duplicate"},
    {"unknown top field", "{\"agents\": [], \"campaigns\": [], \"version\": 2}", "version",
     "unknown field"},
    {"missing campaigns", "{\"agents\": []}", "campaigns", "required"},
    {"agents not array", "{\"agents\": {}, \"campaigns\": []}", "agents", "must be an array"},
    {"agent not object", AG("{\"id\": \"maria\"}, 5"), "agents[1]", "must be an object"},
    {"unknown agent field", AG("{\"id\": \"maria\", \"colour\": \"red\"}"), "agents[0].colour",
     "unknown field"},
    {"live field registered", AG("{\"id\": \"maria\", \"registered_until\": 5}"),
     "agents[0].registered_until", "unknown field"},
    {"agent without id", AG("{\"name\": \"Maria\"}"), "agents[0].id", "required"},
    {"agent id number", AG("{\"id\": 7}"), "agents[0].id", "must be a string"},
    {"agent id with space", AG("{\"id\": \"maria lopez\"}"), "agents[0].id", "invalid id"},
    {"duplicate agent id", AG("{\"id\": \"maria\"}, {\"id\": \"james\"}, {\"id\": \"maria\"}"),
     "agents[2].id", "duplicate agent id \"maria\""},
    {"bad status", AG("{\"id\": \"maria\", \"status\": \"sleepy\"}"), "agents[0].status",
     "unknown status \"sleepy\""},
    {"status not string", AG("{\"id\": \"maria\", \"status\": true}"), "agents[0].status",
     "must be a string"},
    {"max_concurrent 0", AG("{\"id\": \"maria\", \"max_concurrent\": 0}"),
     "agents[0].max_concurrent", "between 1 and 1000"},
    {"max_concurrent -1", AG("{\"id\": \"maria\"}, {\"id\": \"b\", \"max_concurrent\": -1}"),
     "agents[1].max_concurrent", "between 1 and 1000"},
    {"max_concurrent string", AG("{\"id\": \"maria\", \"max_concurrent\": \"2\"}"),
     "agents[0].max_concurrent", "must be an integer"},
    {"max_concurrent real", AG("{\"id\": \"maria\", \"max_concurrent\": 2.0}"),
     "agents[0].max_concurrent", "must be an integer"},
    {"max_concurrent 1001", AG("{\"id\": \"maria\", \"max_concurrent\": 1001}"),
     "agents[0].max_concurrent", "between 1 and 1000"},
    {"max_concurrent huge", AG("{\"id\": \"maria\", \"max_concurrent\": 99999999999}"),
     "agents[0].max_concurrent", "between 1 and 1000"},
    {"state XX", AG("{\"id\": \"maria\", \"states\": [\"TX\", \"XX\"]}"), "agents[0].states[1]",
     "unknown state \"XX\""},
    {"state lowercase", AG("{\"id\": \"maria\", \"states\": [\"tx\"]}"), "agents[0].states[0]",
     "unknown state \"tx\""},
    {"state duplicate", AG("{\"id\": \"maria\", \"states\": [\"TX\", \"FL\", \"TX\"]}"),
     "agents[0].states[2]", "duplicate state"},
    {"states not array", AG("{\"id\": \"maria\", \"states\": \"TX\"}"), "agents[0].states",
     "must be an array"},
    {"category slug", AG("{\"id\": \"maria\", \"categories\": [\"Medi care\"]}"),
     "agents[0].categories[0]", "invalid category"},
    {"category not string", AG("{\"id\": \"maria\", \"categories\": [1]}"),
     "agents[0].categories[0]", "must be a string"},
    {"too many categories",
     AG("{\"id\": \"maria\", \"categories\": [" CAT10("a") "," CAT10("b") "," CAT10("c") "," CAT10(
         "d") "," CAT10("e") "," CAT10("f") "," CAT10("g") "]}"),
     "agents[0].categories[64]", "too many distinct categories"},
    {"empty name", AG("{\"id\": \"maria\", \"name\": \"\"}"), "agents[0].name",
     "must not be empty"},
    {"control char in name", AG("{\"id\": \"maria\", \"name\": \"Maria\\u0007\"}"),
     "agents[0].name", "control characters"},
    {"C1 control in name", AG("{\"id\": \"maria\", \"name\": \"Maria\\u0085x\"}"), "agents[0].name",
     "control characters"},
    {"softphone type", AG("{\"id\": \"maria\", \"softphone\": {\"type\": \"webrtc\"}}"),
     "agents[0].softphone.type", "unknown softphone type"},
    {"softphone unknown field", AG("{\"id\": \"maria\", \"softphone\": {\"port\": 5060}}"),
     "agents[0].softphone.port", "unknown field"},
    {"unknown campaign field", CP("{\"id\": \"c\", \"budget\": 5}"), "campaigns[0].budget",
     "unknown field"},
    {"duplicate campaign id", CP("{\"id\": \"c\"}, {\"id\": \"c\"}"), "campaigns[1].id",
     "duplicate campaign id"},
    {"bad mode",
     CP("{\"id\": \"c\", \"rules\": [" RULE("r1", "") "," RULE("r2",
                                                               ", \"mode\": \"fastest\"") "]}"),
     "campaigns[0].rules[1].mode", "unknown mode \"fastest\""},
    {"unknown rule field", CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"order\": 1") "]}"),
     "campaigns[0].rules[0].order", "unknown field"},
    {"member unknown agent",
     CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": [{\"agent\": \"maria\"}, "
        "{\"agent\": \"bob\"}]}]}"),
     "campaigns[0].rules[0].members[1].agent", "unknown agent \"bob\""},
    {"member duplicate agent",
     CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": [{\"agent\": \"maria\"}, "
        "{\"agent\": \"maria\", \"priority\": 2}]}]}"),
     "campaigns[0].rules[0].members[1].agent", "already a member"},
    {"member weight 0",
     CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": [{\"agent\": \"maria\", "
        "\"weight\": 0}]}]}"),
     "campaigns[0].rules[0].members[0].weight", "between 1 and 1000"},
    {"member priority 0",
     CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": [{\"agent\": \"james\", "
        "\"priority\": 0}]}]}"),
     "campaigns[0].rules[0].members[0].priority", "between 1 and 1000"},
    {"member unknown field",
     CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": [{\"agent\": \"james\", "
        "\"skill\": 3}]}]}"),
     "campaigns[0].rules[0].members[0].skill", "unknown field"},
    {"empty members", CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\", \"members\": []}]}"),
     "campaigns[0].rules[0].members", "at least one member"},
    {"missing members", CP("{\"id\": \"c\", \"rules\": [{\"id\": \"r1\"}]}"),
     "campaigns[0].rules[0].members", "required"},
    {"duplicate rule id across campaigns",
     CP("{\"id\": \"a\", \"rules\": [" RULE("r1", "") "]}, {\"id\": \"b\", \"rules\": [" RULE(
         "r1", "") "]}"),
     "campaigns[1].rules[0].id", "duplicate rule id \"r1\""},
    {"duplicate rule position",
     CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"position\": 2") "," RULE(
         "r2", ", \"position\": 2") "]}"),
     "campaigns[0].rules[1].position", "position 2"},
    {"default position collides",
     CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"position\": 2") "," RULE("r2", "") "]}"),
     "campaigns[0].rules[1].position", "position 2"},
    {"position 0", CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"position\": 0") "]}"),
     "campaigns[0].rules[0].position", "between 1 and"},
    {"rule enabled not bool",
     CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"enabled\": 1") "]}"),
     "campaigns[0].rules[0].enabled", "true or false"},
    {"rule lowercase state",
     CP("{\"id\": \"c\", \"rules\": [" RULE("r1", ", \"states\": [\"TX\", \"fl\"]") "]}"),
     "campaigns[0].rules[0].states[1]", "unknown state"},
    {"duplicate tracking number in two formats",
     CP("{\"id\": \"a\", \"tracking_numbers\": [{\"number\": \"+18005550100\"}]}, {\"id\": \"b\", "
        "\"tracking_numbers\": [{\"number\": \"(800) 555-0100\"}]}"),
     "campaigns[1].tracking_numbers[0].number", "duplicate tracking number +18005550100"},
    {"invalid tracking number",
     CP("{\"id\": \"c\", \"tracking_numbers\": [{\"number\": \"12345\"}]}"),
     "campaigns[0].tracking_numbers[0].number", "invalid tracking number"},
    {"anonymous tracking number",
     CP("{\"id\": \"c\", \"tracking_numbers\": [{\"number\": \"anonymous\"}]}"),
     "campaigns[0].tracking_numbers[0].number", "invalid tracking number"},
    {"tracking number missing",
     CP("{\"id\": \"c\", \"tracking_numbers\": [{\"category\": \"aca\"}]}"),
     "campaigns[0].tracking_numbers[0].number", "required"},
    {"tracking number category",
     CP("{\"id\": \"c\", \"tracking_numbers\": [{\"number\": \"8005550100\", \"category\": "
        "\"ACA\"}]}"),
     "campaigns[0].tracking_numbers[0].category", "invalid category"},
    {"ring timeout 4", CP("{\"id\": \"c\", \"ring_timeout_s\": 4}"), "campaigns[0].ring_timeout_s",
     "between 5 and 120"},
    {"ring timeout 121", CP("{\"id\": \"c\", \"ring_timeout_s\": 121}"),
     "campaigns[0].ring_timeout_s", "between 5 and 120"},
    {"queue max_size 0", CP("{\"id\": \"c\", \"queue\": {\"enabled\": true, \"max_size\": 0}}"),
     "campaigns[0].queue.max_size", "between 1 and 10000"},
    {"queue max_wait 9", CP("{\"id\": \"c\", \"queue\": {\"max_wait_s\": 9}}"),
     "campaigns[0].queue.max_wait_s", "between 10 and 86400"},
    {"queue enabled string", CP("{\"id\": \"c\", \"queue\": {\"enabled\": \"yes\"}}"),
     "campaigns[0].queue.enabled", "true or false"},
    {"queue not object", CP("{\"id\": \"c\", \"queue\": true}"), "campaigns[0].queue",
     "must be an object"},
    {"hold music not url", CP("{\"id\": \"c\", \"queue\": {\"hold_music_url\": \"hold.mp3\"}}"),
     "campaigns[0].queue.hold_music_url", "URL"},
    {"discord ftp", CP("{\"id\": \"c\", \"discord_webhook_url\": \"ftp://example.com/x\"}"),
     "campaigns[0].discord_webhook_url", "http"},
    {"discord number", CP("{\"id\": \"c\", \"discord_webhook_url\": 5}"),
     "campaigns[0].discord_webhook_url", "string or null"},
    {"default category slug", CP("{\"id\": \"c\", \"default_category\": \"Medicare\"}"),
     "campaigns[0].default_category", "invalid category"},
    {"empty friendly message", CP("{\"id\": \"c\", \"friendly_message\": \"\"}"),
     "campaigns[0].friendly_message", "must not be empty"},
    {"first error wins",
     CP("{\"id\": \"c\", \"ring_timeout_s\": 0, \"rules\": [" RULE("r1", ", \"mode\": \"x\"") "]}"),
     "campaigns[0].ring_timeout_s", "between"},
};

Test(config_json, bad_documents_report_the_exact_path)
{
    size_t n = sizeof cj_bad / sizeof cj_bad[0];
    cr_assert_geq(n, 25);
    for (size_t i = 0; i < n; i++) {
        const cj_bad_case *t = &cj_bad[i];
        config *cfg = (config *)&n; /* must be reset to NULL */
        config_json_error err;
        memset(&err, 'x', sizeof err);
        int rc = config_json_parse(t->doc, strlen(t->doc), &cfg, &err);
        cr_expect_eq(rc, ERR_INVALID, "%s: accepted", t->name);
        cr_expect_null(cfg, "%s: returned a config", t->name);
        cr_expect_str_eq(err.path, t->path, "%s: path '%s', message '%s'", t->name, err.path,
                         err.message);
        cr_expect(strstr(err.message, t->message) != NULL, "%s: message '%s' lacks '%s'", t->name,
                  err.message, t->message);
        if (rc == ERR_OK)
            config_free(cfg);
    }
}

Test(config_json, mode_error_message_is_operator_readable)
{
    const char *doc = CP("{\"id\": \"c\", \"rules\": [" RULE("r1", "") "," RULE(
        "r2", ", \"mode\": \"fastest\"") "]}");
    config *cfg = NULL;
    config_json_error err;
    cr_assert_eq(config_json_parse(doc, strlen(doc), &cfg, &err), ERR_INVALID);
    cr_assert_str_eq(err.path, "campaigns[0].rules[1].mode");
    cr_assert_str_eq(err.message,
                     "unknown mode \"fastest\" (use priority, round_robin or weighted)");
}

Test(config_json, len_bounds_the_input)
{
    /* Only the first len bytes count: a valid prefix followed by garbage parses. */
    const char *doc = "{\"agents\": [], \"campaigns\": []}garbage";
    config *cfg = NULL;
    config_json_error err;
    cr_assert_eq(config_json_parse(doc, strlen(doc) - 7, &cfg, &err), ERR_OK);
    config_free(cfg);
    cr_assert_eq(config_json_parse(doc, strlen(doc), &cfg, &err), ERR_INVALID);
    cr_assert_null(cfg);
}

Test(config_json, many_agents_parse_quickly)
{
    /* 5,000 agents all in one rule: duplicate checks must not be quadratic. */
    size_t cap = 5000 * 64 + 256, len = 0;
    char *doc = malloc(cap);
    cr_assert_not_null(doc);
    len += (size_t)snprintf(doc + len, cap - len, "{\"agents\": [");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(doc + len, cap - len, "%s{\"id\": \"a%d\"}", i ? "," : "", i);
    len += (size_t)snprintf(doc + len, cap - len,
                            "], \"campaigns\": [{\"id\": \"c\", \"rules\": [{\"id\": \"r\", "
                            "\"members\": [");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(doc + len, cap - len, "%s{\"agent\": \"a%d\"}", i ? "," : "", i);
    len += (size_t)snprintf(doc + len, cap - len, "]}]}]}");
    cr_assert_lt(len, cap);
    config *cfg = NULL;
    config_json_error err;
    cr_assert_eq(config_json_parse(doc, len, &cfg, &err), ERR_OK, "%s: %s", err.path, err.message);
    cr_assert_eq(cfg->rules[0].n_members, 5000);
    cr_assert_eq(cfg->rules[0].members[4999].agent, config_find_agent(cfg, "a4999"));
    config_free(cfg);
    free(doc);
}

Test(config_json, agents_alone_dump_as_in_the_whole_dump)
{
    config *cfg = cj_parse_ok(cj_full_doc);
    json_t *whole = config_json_dump(cfg);
    json_t *agents = config_json_dump_agents(cfg);
    cr_assert(json_equal(agents, json_object_get(whole, "agents")));
    /* One agent (what GET and presence replies use) equals its element of the dump. */
    int maria = config_find_agent(cfg, "maria");
    cr_assert_geq(maria, 0);
    json_t *one = config_json_dump_agent(cfg, &cfg->agents[maria]);
    cr_assert(json_equal(one, json_array_get(agents, 1)));
    cr_assert_str_eq(json_string_value(json_object_get(one, "name")), "Maria Lopez");
    json_decref(one);
    json_decref(agents);
    json_decref(whole);
    config_free(cfg);
}
