/* test_router.c -- table-driven routing scenarios covering SPEC 3.1 to 3.6. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec/route_json.h"
#include "core/router.h"
#include "router_fixture.h"

/* Every scenario starts from these campaigns and tracking numbers. */
static const char FX_BASE[] = "campaign medicare default=medicare\n"
                              "campaign other\n"
                              "number +18005550100 medicare\n"
                              "number +18005550111 medicare cat=aca\n"
                              "number +18005550200 other\n";

#define TO_MED "+18005550100"   /* campaign medicare, category from the campaign default */
#define TO_ACA "+18005550111"   /* campaign medicare, category aca from the number */
#define TO_OTHER "+18005550200" /* campaign other, no category anywhere */
#define TX "+15125550100"
#define FL "+13055550100"
#define NY "+12125550100"
#define PR "+17875550100"
#define ONTARIO "+14165550100"
#define TOLL_FREE "+18005550123"
#define JAMAICA "+18765550100"
#define LONDON "+442071234567"

/* Three agents and two rules most unknown-state scenarios share: maria is licensed for TX
 * only, bob anywhere. */
#define UNKNOWN_STATE_CFG                                                                          \
    "agent maria states=TX\nagent bob\n"                                                           \
    "rule r1 medicare pos=1 states=TX members=maria,bob\n"                                         \
    "rule r2 medicare pos=2 members=maria,bob\n"
#define UNKNOWN_STATE_EXPECT                                                                       \
    "r1=state_mismatch:unknown r2=decided r2/maria=state_not_allowed:unknown "                     \
    "r2/bob=available @state=- @decided=r2"

/* One scenario: a configuration on top of FX_BASE, a call, and what must come out.
 * `expect` holds space-separated checks:
 *   RULE=VERDICT[:DETAIL]         the rule's verdict (and its JSON detail, none when absent)
 *   RULE/AGENT=VERDICT[:DETAIL]   a member's verdict and detail in that rule
 *   @state=TX|-  @source=REASON (JSON state_source.reason)  @category=C|-  @catsrc=NAME
 *   @campaign=ID|-  @decided=RULE|-  @rules=N (rules in the trace)  @to=STATUS */
typedef struct {
    const char *name;
    const char *config;
    const char *to, *from, *category;
    const char *tried; /* comma-separated agent ids, or NULL */
    route_action action;
    const char *pick;       /* "-" when none */
    const char *candidates; /* comma-joined ids */
    const char *expect;
} scenario;

static const scenario scenarios[] = {
    /* SPEC 3.1: campaign from the tracking number, reject when unknown. */
    {"unknown tracking number is rejected with a trace",
     "agent maria\nrule r1 medicare members=maria\n", "+18005550999", TX, NULL, NULL, ROUTE_REJECT,
     "-", "", "@campaign=- @rules=0 @state=TX @source=state @to=ok @decided=-"},
    {"malformed dialled number is rejected", "agent maria\nrule r1 medicare members=maria\n", "555",
     TX, NULL, NULL, ROUTE_REJECT, "-", "", "@campaign=- @rules=0 @to=too_short"},
    {"garbage dialled number is rejected", "agent maria\nrule r1 medicare members=maria\n", "hello",
     NULL, NULL, NULL, ROUTE_REJECT, "-", "", "@campaign=- @rules=0 @to=invalid"},
    {"dialled number in national format finds the tracking number",
     "agent maria\nrule r1 medicare members=maria\n", "1 (800) 555-0100", TX, NULL, NULL,
     ROUTE_CONNECT, "maria", "maria", "@campaign=medicare r1=decided r1/maria=available"},
    {"dialled number as 10 digits finds the tracking number",
     "agent maria\nrule r1 medicare members=maria\n", "8005550100", TX, NULL, NULL, ROUTE_CONNECT,
     "maria", "maria", "@campaign=medicare"},

    /* SPEC 3.3: rule order and overflow. */
    {"first matching rule decides, a later matching rule is overflow",
     "agent maria\nagent bob\nrule r1 medicare pos=1 states=TX members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "maria", "maria,bob",
     "r1=decided r2=overflow r1/maria=available r2/bob=available @decided=r1 @rules=2"},
    {"rules are evaluated by position, not by insertion order",
     "agent maria\nagent bob\nrule r2 medicare pos=20 members=bob\n"
     "rule r1 medicare pos=5 members=maria\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "maria", "maria,bob", "r1=decided r2=overflow"},
    {"a matching rule without available member overflows to the next",
     "agent maria status=paused\nagent bob\nrule r1 medicare pos=1 states=TX members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "bob", "bob",
     "r1=no_available_member r1/maria=paused r2=decided r2/bob=available @decided=r2"},
    {"a later matching rule without available member stays no_available_member",
     "agent maria\nagent bob status=paused\nrule r1 medicare pos=1 members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "maria", "maria",
     "r1=decided r2=no_available_member r2/bob=paused"},
    {"disabled rule is skipped",
     "agent maria\nagent bob\nrule r1 medicare pos=1 off members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "bob", "bob", "r1=disabled r2=decided @rules=2"},
    {"rules of another campaign are ignored and not traced",
     "agent maria\nagent bob\nrule o1 other pos=0 members=maria\n"
     "rule r1 medicare pos=1 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "bob", "bob", "@rules=1 r1=decided @campaign=medicare"},
    {"the other campaign routes by its own rules",
     "agent maria\nagent bob\nrule o1 other pos=0 members=maria\n"
     "rule r1 medicare pos=1 members=bob\n",
     TO_OTHER, TX, NULL, NULL, ROUTE_CONNECT, "maria", "maria",
     "@rules=1 o1=decided @campaign=other"},
    {"nobody available anywhere is no_agent",
     "agent maria status=paused\nagent bob reg=never\nrule r1 medicare pos=1 members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, TX, NULL, NULL, ROUTE_NO_AGENT, "-", "",
     "r1=no_available_member r2=no_available_member r2/bob=not_connected @decided=-"},
    {"a campaign without rules is no_agent", "agent maria\nrule r1 medicare members=maria\n",
     TO_OTHER, TX, NULL, NULL, ROUTE_NO_AGENT, "-", "", "@rules=0 @campaign=other @decided=-"},
    {"candidates list overflow members once each, in each rule's order",
     "agent maria\nagent bob\nagent li\nagent ana\n"
     "rule r1 medicare pos=1 members=maria:2,bob:1\n"
     "rule r2 medicare pos=2 members=bob,li\n"
     "rule r3 medicare pos=3 states=FL members=ana\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "bob", "bob,maria,li",
     "r1=decided r2=overflow r2/bob=available r2/li=available r3=state_mismatch:TX"},

    /* SPEC 3.3: state lists. */
    {"empty state list matches any state", "agent maria\nrule r1 medicare members=maria\n", TO_MED,
     NY, NULL, NULL, ROUTE_CONNECT, "maria", "maria", "@state=NY r1=decided"},
    {"state list without the caller's state does not match",
     "agent maria\nagent bob\nrule r1 medicare pos=1 states=TX members=maria\n"
     "rule r2 medicare pos=2 members=bob\n",
     TO_MED, FL, NULL, NULL, ROUTE_CONNECT, "bob", "bob",
     "@state=FL r1=state_mismatch:FL r2=decided"},
    {"state list with several states matches each",
     "agent maria\nrule r1 medicare states=TX,FL members=maria\n", TO_MED, FL, NULL, NULL,
     ROUTE_CONNECT, "maria", "maria", "r1=decided"},
    {"territories are states: Puerto Rico",
     "agent maria states=PR\nrule r1 medicare states=PR members=maria\n", TO_MED, PR, NULL, NULL,
     ROUTE_CONNECT, "maria", "maria", "@state=PR r1/maria=available"},

    /* SPEC 3.2 + 3.3: an unknown state matches only rules and agents without state lists. */
    {"anonymous caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, "anonymous", NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caller_id_anonymous"},
    {"restricted caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, "restricted", NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caller_id_restricted"},
    {"missing caller ID has an unknown state", UNKNOWN_STATE_CFG, TO_MED, NULL, NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caller_id_empty"},
    {"malformed caller ID has an unknown state", UNKNOWN_STATE_CFG, TO_MED, "12345", NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caller_id_too_short"},
    {"Canadian caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, ONTARIO, NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=canada"},
    {"toll-free caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, TOLL_FREE, NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=toll_free"},
    {"Caribbean caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, JAMAICA, NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caribbean"},
    {"international caller has an unknown state", UNKNOWN_STATE_CFG, TO_MED, LONDON, NULL, NULL,
     ROUTE_CONNECT, "bob", "bob", UNKNOWN_STATE_EXPECT " @source=caller_id_not_nanp"},
    {"unknown state with only restricted rules and agents is no_agent",
     "agent maria states=TX\nrule r1 medicare states=TX members=maria\n"
     "rule r2 medicare pos=2 members=maria\n",
     TO_MED, ONTARIO, NULL, NULL, ROUTE_NO_AGENT, "-", "",
     "r1=state_mismatch:unknown r2=no_available_member r2/maria=state_not_allowed:unknown"},

    /* SPEC 3.1 + 3.3: categories. */
    {"category from the campaign default",
     "agent maria\nrule r1 medicare cats=medicare members=maria\n", TO_MED, TX, NULL, NULL,
     ROUTE_CONNECT, "maria", "maria", "@category=medicare @catsrc=campaign_default r1=decided"},
    {"tracking number's category beats the campaign default",
     "agent ana\nagent maria\nrule r1 medicare pos=1 cats=aca members=ana\n"
     "rule r2 medicare pos=2 cats=medicare members=maria\n",
     TO_ACA, TX, NULL, NULL, ROUTE_CONNECT, "ana", "ana",
     "@category=aca @catsrc=tracking_number r1=decided r2=category_mismatch:aca"},
    {"the call's category beats the tracking number's",
     "agent ana\nagent maria\nrule r1 medicare pos=1 cats=aca members=ana\n"
     "rule r2 medicare pos=2 cats=medicare members=maria\n",
     TO_ACA, TX, "medicare", NULL, ROUTE_CONNECT, "maria", "maria",
     "@category=medicare @catsrc=call r1=category_mismatch:medicare r2=decided"},
    {"the call's category beats the campaign default",
     "agent ana\nagent maria\nrule r1 medicare pos=1 cats=aca members=ana\n"
     "rule r2 medicare pos=2 cats=medicare members=maria\n",
     TO_MED, TX, "aca", NULL, ROUTE_CONNECT, "ana", "ana", "@category=aca @catsrc=call r1=decided"},
    {"an empty call category counts as none",
     "agent ana\nagent maria\nrule r1 medicare pos=1 cats=aca members=ana\n"
     "rule r2 medicare pos=2 cats=medicare members=maria\n",
     TO_MED, TX, "", NULL, ROUTE_CONNECT, "maria", "maria", "@catsrc=campaign_default"},
    {"empty category list matches a call without category",
     "agent maria\nrule o1 other members=maria\n", TO_OTHER, TX, NULL, NULL, ROUTE_CONNECT, "maria",
     "maria", "@category=- @catsrc=none o1=decided"},
    {"category list never matches a call without category",
     "agent maria\nagent bob cats=aca\nagent li\n"
     "rule o1 other pos=1 cats=medicare members=maria\n"
     "rule o2 other pos=2 members=bob,li\n",
     TO_OTHER, TX, NULL, NULL, ROUTE_CONNECT, "li", "li",
     "o1=category_mismatch:none o2=decided o2/bob=category_not_allowed:none o2/li=available"},
    {"a category unknown to the configuration matches only empty lists",
     "agent maria\nagent bob\nagent li cats=medicare\n"
     "rule r1 medicare pos=1 cats=medicare members=maria\n"
     "rule r2 medicare pos=2 members=li,bob\n",
     TO_MED, TX, "vision", NULL, ROUTE_CONNECT, "bob", "bob",
     "@category=vision r1=category_mismatch:vision r2/li=category_not_allowed:vision "
     "r2/bob=available"},

    /* SPEC 3.4: every member verdict with its detail. */
    {"each availability reason is reported",
     "agent a_paused status=paused\nagent a_deact status=deactivated\nagent a_never reg=never\n"
     "agent a_expired reg=-1\nagent a_now reg=0\nagent a_full max=2 active=2\n"
     "agent a_fl states=FL\nagent a_aca cats=aca\nagent a_tried\nagent a_soon reg=1\n"
     "agent a_part max=3 active=2\nagent a_ok states=TX,FL cats=medicare,aca\n"
     "rule r1 medicare members=a_paused,a_deact,a_never,a_expired,a_now,a_full,a_fl,a_aca,"
     "a_tried,a_soon,a_part,a_ok\n",
     TO_MED, TX, NULL, "a_tried", ROUTE_CONNECT, "a_ok", "a_ok,a_part,a_soon",
     "r1=decided r1/a_paused=paused r1/a_deact=deactivated r1/a_never=not_connected "
     "r1/a_expired=not_connected r1/a_now=not_connected r1/a_full=at_capacity:2/2 "
     "r1/a_fl=state_not_allowed:TX r1/a_aca=category_not_allowed:medicare "
     "r1/a_tried=already_tried r1/a_soon=available r1/a_part=available r1/a_ok=available"},
    {"reasons are checked in order: deactivated before capacity",
     "agent a max=1 active=1 status=deactivated reg=never states=FL\nrule r1 medicare members=a\n",
     TO_MED, TX, NULL, "a", ROUTE_NO_AGENT, "-", "", "r1/a=deactivated"},
    {"reasons are checked in order: paused before not connected",
     "agent a status=paused reg=never max=1 active=1\nrule r1 medicare members=a\n", TO_MED, TX,
     NULL, NULL, ROUTE_NO_AGENT, "-", "", "r1/a=paused"},
    {"reasons are checked in order: not connected before capacity",
     "agent a reg=-5 max=1 active=1 states=FL\nrule r1 medicare members=a\n", TO_MED, TX, NULL,
     NULL, ROUTE_NO_AGENT, "-", "", "r1/a=not_connected"},
    {"reasons are checked in order: capacity before restrictions",
     "agent a max=3 active=3 states=FL cats=aca\nrule r1 medicare members=a\n", TO_MED, TX, NULL,
     "a", ROUTE_NO_AGENT, "-", "", "r1/a=at_capacity:3/3"},
    {"reasons are checked in order: state before category before tried",
     "agent a states=FL cats=aca\nagent b cats=aca\nrule r1 medicare members=a,b\n", TO_MED, TX,
     NULL, "a,b", ROUTE_NO_AGENT, "-", "",
     "r1/a=state_not_allowed:TX r1/b=category_not_allowed:medicare"},
    {"every member already tried is no_agent",
     "agent maria\nagent bob\nrule r1 medicare members=maria,bob\n", TO_MED, TX, NULL,
     "bob,ghost,maria", ROUTE_NO_AGENT, "-", "",
     "r1=no_available_member r1/maria=already_tried r1/bob=already_tried"},
    {"a tried agent is skipped and the next one is picked",
     "agent maria\nagent bob\nrule r1 medicare members=maria:1,bob:2\n", TO_MED, TX, NULL, "maria",
     ROUTE_CONNECT, "bob", "bob", "r1/maria=already_tried r1/bob=available"},
    {"restricted agent matching state and category is available",
     "agent maria states=TX cats=medicare\nrule r1 medicare states=TX cats=medicare "
     "members=maria\n",
     TO_MED, TX, NULL, NULL, ROUTE_CONNECT, "maria", "maria", "r1/maria=available"},
};

/* Finds the trace rule of a rule id, or NULL. */
static const trace_rule *find_trace_rule(const config *cfg, const route_result *r, const char *id)
{
    for (int i = 0; i < r->trace.n_rules; i++)
        if (strcmp(cfg->rules[r->trace.rules[i].rule].id, id) == 0)
            return &r->trace.rules[i];
    return NULL;
}

static json_t *find_json_rule(json_t *trace, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(trace, "rules"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "rule")), id) == 0)
            return v;
    }
    return NULL;
}

static json_t *find_json_member(json_t *rule, const char *agent)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rule, "members"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "agent")), agent) == 0)
            return v;
    }
    return NULL;
}

/* Checks the optional "detail" of a JSON verdict object. */
static void check_detail(const scenario *s, json_t *obj, const char *detail, const char *what)
{
    json_t *d = json_object_get(obj, "detail");
    if (detail) {
        cr_assert(json_is_string(d), "[%s] %s: no detail, expected %s", s->name, what, detail);
        cr_assert_str_eq(json_string_value(d), detail, "[%s] %s detail", s->name, what);
    } else {
        cr_assert_null(d, "[%s] %s: unexpected detail", s->name, what);
    }
}

/* A JSON string field or "-" for null. */
static const char *json_str_or_dash(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "-";
}

static void check_one(const scenario *s, const config *cfg, const route_result *r, json_t *js,
                      char *tok)
{
    char *eq = strchr(tok, '=');
    cr_assert(eq, "[%s] bad check %s", s->name, tok);
    *eq = '\0';
    const char *key = tok, *want = eq + 1;
    const route_trace *t = &r->trace;

    if (key[0] == '@') {
        key++;
        if (strcmp(key, "state") == 0) {
            cr_assert_str_eq(t->caller_state ? t->caller_state : "-", want, "[%s] state", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(js, "caller_state")), want);
        } else if (strcmp(key, "source") == 0) {
            json_t *src = json_object_get(js, "state_source");
            cr_assert_str_eq(json_str_or_dash(json_object_get(src, "reason")), want,
                             "[%s] state source", s->name);
        } else if (strcmp(key, "category") == 0) {
            cr_assert_str_eq(t->category[0] ? t->category : "-", want, "[%s] category", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(js, "category")), want);
        } else if (strcmp(key, "catsrc") == 0) {
            cr_assert_str_eq(router_category_source_name(t->category_from), want,
                             "[%s] category source", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(js, "category_source")), want);
        } else if (strcmp(key, "campaign") == 0) {
            cr_assert_str_eq(t->campaign >= 0 ? cfg->campaigns[t->campaign].id : "-", want,
                             "[%s] campaign", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(js, "campaign")), want);
        } else if (strcmp(key, "decided") == 0) {
            cr_assert_str_eq(t->decided_rule >= 0 ? cfg->rules[t->decided_rule].id : "-", want,
                             "[%s] decided rule", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(js, "decided_rule")), want);
        } else if (strcmp(key, "rules") == 0) {
            cr_assert_eq(t->n_rules, atoi(want), "[%s] rules traced: %d", s->name, t->n_rules);
            cr_assert_eq(json_array_size(json_object_get(js, "rules")), (size_t)atoi(want));
        } else if (strcmp(key, "to") == 0) {
            cr_assert_str_eq(phone_status_name(t->to.status), want, "[%s] to status", s->name);
            cr_assert_str_eq(json_str_or_dash(json_object_get(json_object_get(js, "to"), "status")),
                             want);
        } else {
            cr_assert_fail("[%s] unknown check @%s", s->name, key);
        }
        return;
    }

    char *detail = strchr(want, ':');
    if (detail)
        *detail++ = '\0';
    char *slash = strchr(key, '/');
    if (slash)
        *slash = '\0';
    const trace_rule *tr = find_trace_rule(cfg, r, key);
    cr_assert(tr, "[%s] rule %s not in the trace", s->name, key);
    json_t *jr = find_json_rule(js, key);
    cr_assert(jr, "[%s] rule %s not in the JSON", s->name, key);
    if (!slash) {
        cr_assert_str_eq(router_rule_verdict_name(tr->verdict), want, "[%s] rule %s verdict",
                         s->name, key);
        cr_assert_str_eq(json_string_value(json_object_get(jr, "verdict")), want);
        check_detail(s, jr, detail, key);
        if (tr->verdict != RULE_DECIDED && tr->verdict != RULE_OVERFLOW &&
            tr->verdict != RULE_NO_AVAILABLE)
            cr_assert_eq(tr->n_members, 0, "[%s] unmatched rule %s lists members", s->name, key);
        return;
    }
    const char *agent = slash + 1;
    const trace_member *tm = NULL;
    for (int k = 0; k < tr->n_members; k++)
        if (strcmp(cfg->agents[t->members[tr->first_member + k].agent].id, agent) == 0)
            tm = &t->members[tr->first_member + k];
    cr_assert(tm, "[%s] member %s/%s not in the trace", s->name, key, agent);
    cr_assert_str_eq(router_member_verdict_name(tm->verdict), want, "[%s] member %s/%s verdict",
                     s->name, key, agent);
    json_t *jm = find_json_member(jr, agent);
    cr_assert(jm, "[%s] member %s/%s not in the JSON", s->name, key, agent);
    cr_assert_str_eq(json_string_value(json_object_get(jm, "verdict")), want);
    check_detail(s, jm, detail, agent);
}

static void run_scenario(const scenario *s, route_result *r)
{
    config *cfg = fx_config(FX_BASE, s->config);
    const char *tried[16];
    int n_tried = 0;
    char tried_buf[256] = "";
    if (s->tried) {
        snprintf(tried_buf, sizeof(tried_buf), "%s", s->tried);
        char *save = NULL;
        for (char *tok = strtok_r(tried_buf, ",", &save); tok && n_tried < 16;
             tok = strtok_r(NULL, ",", &save))
            tried[n_tried++] = tok;
    }
    rng_splitmix g;
    rng_source rng = rng_splitmix_source(&g, 7);
    router_call call = {s->to, s->from, s->category, n_tried ? tried : NULL, n_tried};
    cr_assert_eq(router_route(cfg, &call, FX_NOW, &rng, r), 0, "[%s] route failed", s->name);

    cr_assert_str_eq(router_action_name(r->action), router_action_name(s->action), "[%s] action",
                     s->name);
    cr_assert_str_eq(fx_pick(cfg, r), s->pick, "[%s] pick", s->name);
    char cands[512];
    fx_candidates(cfg, r, cands, sizeof(cands));
    cr_assert_str_eq(cands, s->candidates, "[%s] candidates", s->name);
    cr_assert_eq(r->trace.pick, r->n_candidates ? r->candidates[0].agent : -1);

    char *text = route_json_trace_text(cfg, r);
    cr_assert(text, "[%s] no JSON", s->name);
    json_error_t err;
    json_t *js = json_loads(text, 0, &err);
    cr_assert(js, "[%s] JSON does not parse: %s", s->name, err.text);
    /* The trace is written directly as text: byte for byte jansson's compact form. */
    char *again = json_dumps(js, JSON_COMPACT);
    cr_assert_str_eq(again, text, "[%s] trace text is not jansson's compact form", s->name);
    free(again);
    cr_assert_str_eq(json_string_value(json_object_get(js, "action")),
                     router_action_name(s->action));
    cr_assert_str_eq(json_str_or_dash(json_object_get(js, "pick")), s->pick);
    cr_assert_eq(json_array_size(json_object_get(js, "candidates")), (size_t)r->n_candidates);

    char checks[1024];
    snprintf(checks, sizeof(checks), "%s", s->expect ? s->expect : "");
    char *save = NULL;
    for (char *tok = strtok_r(checks, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        check_one(s, cfg, r, js, tok);

    json_decref(js);
    free(text);
    config_free(cfg);
}

Test(router_scenarios, table)
{
    route_result r;
    route_result_init(&r);
    /* One result reused across every scenario also checks that nothing leaks between calls. */
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run_scenario(&scenarios[i], &r);
    route_result_free(&r);
}

Test(router_scenarios, fresh_result_per_scenario)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        route_result r;
        route_result_init(&r);
        run_scenario(&scenarios[i], &r);
        route_result_free(&r);
    }
}
