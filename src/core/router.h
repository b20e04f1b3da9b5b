/* router.h -- the pure routing core (SPEC 3.1 to 3.6): from a call, a configuration
 * snapshot, the time and a random source to a decision with its full trace. No I/O, no
 * globals: the same inputs always give the same result. */
#ifndef SC_ROUTER_H
#define SC_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "areacode.h"
#include "config.h"
#include "phone.h"
#include "rng.h"

#define ROUTER_MAX_TRIED 64 /* agents remembered as tried for one call */

/* An inbound call as the router sees it. */
typedef struct {
    const char *to;           /* dialled number, any accepted format */
    const char *from;         /* caller ID, any format, may be NULL or "anonymous" */
    const char *category;     /* explicit category (IVR choice) or NULL */
    const char *const *tried; /* agent ids already tried for this call (SPEC 3.8) */
    int n_tried;
} router_call;

/* The decision. */
typedef enum {
    ROUTE_CONNECT = 0, /* candidates[0] is the pick; the rest are fallbacks for lost claims */
    ROUTE_NO_AGENT,    /* a known campaign, nobody available: queue or callback (SPEC 3.7) */
    ROUTE_REJECT       /* unknown or invalid tracking number: "not in service" */
} route_action;

/* Where the call's category came from (SPEC 3.1). */
typedef enum {
    CATEGORY_FROM_CALL = 0,
    CATEGORY_FROM_NUMBER,
    CATEGORY_FROM_CAMPAIGN,
    CATEGORY_NONE
} category_source;

/* Why a rule was or was not used. */
typedef enum {
    RULE_DECIDED = 0,  /* matched and had an available member: it decides the call */
    RULE_NO_AVAILABLE, /* matched, but no member was available: overflow to later rules */
    RULE_DISABLED,
    RULE_STATE_MISMATCH, /* also used when the caller's state is unknown */
    RULE_CATEGORY_MISMATCH,
    RULE_OVERFLOW /* matched after the deciding rule with an available member: its
                   * members not already listed are appended as fallbacks */
} rule_verdict;

/* Why a member was or was not available (SPEC 3.4), in the order they are checked. */
typedef enum {
    MEMBER_AVAILABLE = 0,
    MEMBER_PAUSED,
    MEMBER_DEACTIVATED,
    MEMBER_NOT_CONNECTED,
    MEMBER_AT_CAPACITY,
    MEMBER_STATE_NOT_ALLOWED,
    MEMBER_CATEGORY_NOT_ALLOWED,
    MEMBER_ALREADY_TRIED
} member_verdict;

/* One member as evaluated. active_calls/max_concurrent are copied for "at capacity 2/2". */
typedef struct {
    int agent;  /* index into config.agents */
    int member; /* index into the rule's members */
    member_verdict verdict;
    int active_calls, max_concurrent;
} trace_member;

/* One rule as evaluated; its members are trace.members[first_member .. +n_members). */
typedef struct {
    int rule; /* index into config.rules */
    rule_verdict verdict;
    int first_member, n_members;
    int n_available;
} trace_rule;

/* A candidate to claim, in order. */
typedef struct {
    int agent;  /* index into config.agents */
    int rule;   /* index into config.rules: the rule it came from (for the round-robin cursor) */
    int member; /* index into that rule's members */
} route_candidate;

/* One claim attempt, recorded by whoever performs the claims (the store layer). */
typedef struct {
    int agent;
    bool won;
} trace_claim;

/* The full trace of one decision (SPEC 3.6). Indexes refer to the config passed in, which
 * must outlive the result while the trace is rendered. */
typedef struct {
    phone_number to, from;
    areacode_info area;                 /* lookup of from.npa; reason INVALID when no NPA */
    const char *caller_state;           /* USPS code or NULL when unknown */
    char category[CONFIG_CATEGORY_MAX]; /* "" when none */
    category_source category_from;
    int campaign; /* -1 when rejected */
    int number;   /* index into config.numbers, -1 when unknown */
    trace_rule *rules;
    int n_rules, cap_rules;
    trace_member *members;
    int n_members, cap_members;
    int decided_rule;    /* index into config.rules, -1 when none */
    dist_mode mode;      /* of the deciding rule */
    int pick;            /* agent index of candidates[0], -1 when none */
    trace_claim *claims; /* appended by the claim loop */
    int n_claims, cap_claims;
} route_trace;

/* The result of router_route(). Initialise once with route_result_init() and reuse: the
 * arrays keep their memory between calls. Free with route_result_free(). */
typedef struct {
    route_action action;
    route_candidate *candidates;
    int n_candidates, cap_candidates;
    route_trace trace;
} route_result;

/* Prepares an empty result. Cannot fail. */
void route_result_init(route_result *r);

/* Frees the arrays of a result (not the struct). Safe on an initialised or freed result. */
void route_result_free(route_result *r);

/* Appends a claim attempt to the trace. Returns 0, or -1 when out of memory. */
int route_trace_add_claim(route_result *r, int agent, bool won);

/* Routes `call` against `cfg` at time `now_ms` (Unix ms) drawing randomness from `rng`
 * (used only by weighted rules). Candidates: the deciding rule's available members in the
 * mode's pick order, then those of later matching rules (overflow), each agent once.
 * Every rule of the call's campaign is evaluated and recorded in position order: rules that
 * do not match (disabled, state or category mismatch) record no members; matching rules
 * record every member with its verdict. The first matching rule with an available member
 * is RULE_DECIDED; a matching rule without one is RULE_NO_AVAILABLE (before or after the
 * decision); a later matching rule with an available member is RULE_OVERFLOW and its
 * members, ordered by its own mode, are appended unless already candidates. Weighted
 * rules (deciding and overflow) draw from `rng`; a weight below 1 counts as 1.
 * A rejected call (unknown or invalid dialled number) still gets its numbers, caller
 * state and the call's own category in the trace.
 * Returns 0, or -1 when out of memory (the result is then unusable). cfg must have been
 * finished with config_finish(). */
int router_route(const config *cfg, const router_call *call, int64_t now_ms, const rng_source *rng,
                 route_result *out);

/* Stable names used in traces and JSON: "connect", "no_agent", "reject"; "call",
 * "tracking_number", "campaign_default", "none"; "decided", "no_available_member",
 * "disabled", "state_mismatch", "category_mismatch", "overflow"; "available",
 * "paused", "deactivated", "not_connected", "at_capacity", "state_not_allowed",
 * "category_not_allowed", "already_tried". */
const char *router_action_name(route_action a);
const char *router_category_source_name(category_source s);
const char *router_rule_verdict_name(rule_verdict v);
const char *router_member_verdict_name(member_verdict v);

#endif
