/* test_discord.c -- the Discord alerts' pure parts: the payload's fields and every length
 * limit with UTF-8-safe truncation, rate-limit parsing (body and both headers), the backoff
 * schedule, tallies and URL redaction; and the alerter's start, notify and stop without a
 * webhook (nothing is sent anywhere). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/discord.h"

/* True when s is valid UTF-8 (jansson refuses anything else). */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    bool ok = j != NULL;
    json_decref(j);
    return ok;
}

/* A string of n copies of the UTF-8 text unit. */
static char *repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * n + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

static const char *field_value(json_t *payload, const char *name)
{
    json_t *fields =
        json_object_get(json_array_get(json_object_get(payload, "embeds"), 0), "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return json_string_value(json_object_get(f, "value"));
    }
    return NULL;
}

static size_t text_len(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? discord_utf8_len(s) : 0;
}

/* Checks every Discord limit on a payload; returns the embed's total characters. */
static size_t check_limits(json_t *p)
{
    json_t *embed = json_array_get(json_object_get(p, "embeds"), 0);
    cr_assert_not_null(embed);
    cr_assert_leq(text_len(p, "content"), DISCORD_CONTENT_MAX);
    cr_assert_leq(text_len(embed, "title"), DISCORD_TITLE_MAX);
    cr_assert_leq(text_len(embed, "description"), DISCORD_DESCRIPTION_MAX);
    json_t *fields = json_object_get(embed, "fields");
    cr_assert_leq(json_array_size(fields), DISCORD_FIELDS_MAX);
    size_t total = text_len(embed, "title") + text_len(embed, "description") +
                   text_len(json_object_get(embed, "footer"), "text");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        cr_assert_leq(text_len(f, "name"), DISCORD_FIELD_NAME_MAX);
        cr_assert_leq(text_len(f, "value"), DISCORD_FIELD_VALUE_MAX);
        cr_assert_geq(text_len(f, "value"), 1);
        total += text_len(f, "name") + text_len(f, "value");
    }
    cr_assert_leq(total, DISCORD_EMBED_TOTAL_MAX);
    /* Everything dumps as JSON (valid UTF-8 throughout). */
    char *text = json_dumps(p, JSON_COMPACT);
    cr_assert_not_null(text);
    free(text);
    return total;
}

static discord_summary summary_one(void)
{
    discord_summary s;
    memset(&s, 0, sizeof s);
    s.campaign = "medicare-tx";
    s.campaign_name = "Medicare Texas";
    s.calls = 1;
    discord_tally_add(&s.states, "TX", 1);
    discord_tally_add(&s.categories, "medicare", 1);
    discord_tally_add(&s.outcomes, "callback", 1);
    discord_tally_add(&s.reasons, "no_agent", 1);
    s.first_ms = s.last_ms = 1714564800123LL; /* 2024-05-01T12:00:00.123Z */
    return s;
}

Test(discord, payload_fields)
{
    discord_summary s = summary_one();
    json_t *p = discord_payload(&s);
    cr_assert_not_null(p);
    cr_assert_str_eq(json_string_value(json_object_get(p, "content")),
                     "1 call to Medicare Texas found no available agent");
    json_t *embed = json_array_get(json_object_get(p, "embeds"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(embed, "title")),
                     "No agent available: Medicare Texas");
    cr_assert_str_eq(json_string_value(json_object_get(embed, "timestamp")),
                     "2024-05-01T12:00:00.123Z");
    cr_assert_str_eq(field_value(p, "Campaign"), "Medicare Texas (medicare-tx)");
    cr_assert_str_eq(field_value(p, "Caller state"), "TX");
    cr_assert_str_eq(field_value(p, "Category"), "medicare");
    cr_assert_str_eq(field_value(p, "Outcome"), "callback");
    cr_assert_str_eq(field_value(p, "Reason"), "no_agent");
    cr_assert_str_eq(field_value(p, "Calls"), "1");
    cr_assert_str_eq(field_value(p, "Time"), "2024-05-01T12:00:00.123Z");
    /* No mention is ever parsed. */
    json_t *am = json_object_get(p, "allowed_mentions");
    cr_assert(json_is_array(json_object_get(am, "parse")));
    cr_assert_eq(json_array_size(json_object_get(am, "parse")), 0);
    check_limits(p);
    json_decref(p);
}

Test(discord, payload_summary_of_many)
{
    discord_summary s = summary_one();
    s.calls = 100;
    s.campaign_name = NULL; /* falls back to the id */
    memset(&s.states, 0, sizeof s.states);
    discord_tally_add(&s.states, "TX", 60);
    discord_tally_add(&s.states, "FL", 37);
    discord_tally_add(&s.states, NULL, 1);
    discord_tally_add(&s.states, "CA", 1);
    discord_tally_add(&s.states, "NY", 1); /* the fifth value: "other" */
    s.last_ms = s.first_ms + 59000;
    json_t *p = discord_payload(&s);
    cr_assert_str_eq(json_string_value(json_object_get(p, "content")),
                     "100 calls to medicare-tx found no available agent");
    cr_assert_str_eq(field_value(p, "Campaign"), "medicare-tx");
    cr_assert_str_eq(field_value(p, "Calls"), "100");
    cr_assert_str_eq(field_value(p, "Caller state"),
                     "TX (60), FL (37), unknown (1), CA (1), other (1)");
    cr_assert_str_eq(field_value(p, "Time"),
                     "2024-05-01T12:00:00.123Z to 2024-05-01T12:00:59.123Z");
    json_decref(p);
}

Test(discord, payload_limits_with_huge_texts)
{
    /* A name of 10,000 two-byte characters, and values that fill their tallies. */
    char *name = repeat("é", 10000);
    discord_summary s = summary_one();
    s.campaign_name = name;
    s.calls = 123456789;
    for (int i = 0; i < 6; i++) {
        char v[64];
        snprintf(v, sizeof v, "%s-%d", "a-rather-long-outcome-description-é", i);
        discord_tally_add(&s.outcomes, v, i + 1);
    }
    json_t *p = discord_payload(&s);
    cr_assert_not_null(p);
    json_t *embed = json_array_get(json_object_get(p, "embeds"), 0);
    cr_assert_eq(text_len(embed, "title"), DISCORD_TITLE_MAX);
    const char *title = json_string_value(json_object_get(embed, "title"));
    cr_assert(strstr(title, "…") == title + strlen(title) - strlen("…"), "ends with an ellipsis");
    cr_assert_eq(text_len(p, "content"), DISCORD_CONTENT_MAX);
    check_limits(p);
    json_decref(p);
    free(name);
}

Test(discord, truncate_is_utf8_safe)
{
    /* Exactly at the limit: unchanged. One more: cut with an ellipsis, never mid-character. */
    char *s = discord_truncate("héllo", 5);
    cr_assert_str_eq(s, "héllo");
    free(s);
    s = discord_truncate("héllo wörld", 5);
    cr_assert_str_eq(s, "héll…");
    cr_assert_eq(discord_utf8_len(s), 5);
    free(s);
    /* Four-byte characters (emoji) count as one. */
    s = discord_truncate("😀😀😀😀", 3);
    cr_assert_str_eq(s, "😀😀…");
    free(s);
    /* Invalid bytes become U+FFFD; the output is always valid UTF-8. */
    s = discord_truncate("a\xff"
                         "b\xc3",
                         10);
    cr_assert_str_eq(s, "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd");
    cr_assert(valid_utf8(s));
    free(s);
    s = discord_truncate("\xed\xa0\x80 surrogate, \xc0\xaf overlong", 100);
    cr_assert(valid_utf8(s));
    free(s);
    s = discord_truncate("anything", 0);
    cr_assert_str_eq(s, "");
    free(s);
    s = discord_truncate(NULL, 4);
    cr_assert_str_eq(s, "");
    free(s);
    /* Every cut of a mixed string at every limit is valid and within the limit. */
    const char *mixed = "aé€😀bç€😀";
    for (size_t max = 0; max < 12; max++) {
        s = discord_truncate(mixed, max);
        cr_assert(valid_utf8(s));
        cr_assert_leq(discord_utf8_len(s), max);
        free(s);
    }
}

Test(discord, tally_merge_and_value_cut)
{
    discord_tally a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    discord_tally_add(&a, "TX", 2);
    discord_tally_add(&b, "TX", 3);
    discord_tally_add(&b, "FL", 1);
    discord_tally_merge(&a, &b);
    cr_assert_eq(a.n_items, 2);
    cr_assert_eq(a.items[0].n, 5);
    cr_assert_str_eq(a.items[1].value, "FL");
    /* A value longer than the slot is cut at a character boundary. */
    char *long_value = repeat("€", 40);
    discord_tally_add(&a, long_value, 1);
    cr_assert(valid_utf8(a.items[2].value));
    cr_assert_lt(strlen(a.items[2].value), DISCORD_VALUE_MAX);
    free(long_value);
}

Test(discord, seconds_parsing)
{
    cr_assert_eq(discord_seconds_ms("1.5"), 1500);
    cr_assert_eq(discord_seconds_ms("2"), 2000);
    cr_assert_eq(discord_seconds_ms(" 0.001 "), 1);
    cr_assert_eq(discord_seconds_ms("0.0004"), 1); /* rounded up */
    cr_assert_eq(discord_seconds_ms("0"), 0);
    cr_assert_eq(discord_seconds_ms(NULL), -1);
    cr_assert_eq(discord_seconds_ms(""), -1);
    cr_assert_eq(discord_seconds_ms("-1"), -1);
    cr_assert_eq(discord_seconds_ms("soon"), -1);
    cr_assert_eq(discord_seconds_ms("1s"), -1);
    cr_assert_eq(discord_seconds_ms("nan"), -1);
    cr_assert_eq(discord_seconds_ms("inf"), -1);
    cr_assert_eq(discord_seconds_ms("Wed, 21 Oct 2015 07:28:00 GMT"), -1); /* HTTP dates: no */
}

Test(discord, rate_limit_body_and_headers)
{
    const int64_t cap = DISCORD_RATE_LIMIT_CAP_MS;
    const char *body = "{\"message\": \"You are being rate limited.\", \"retry_after\": 1.25, "
                       "\"global\": false}";
    /* Each source alone. */
    cr_assert_eq(discord_rate_limit_ms(body, NULL, NULL, cap), 1250);
    cr_assert_eq(discord_rate_limit_ms(NULL, "3", NULL, cap), 3000);
    cr_assert_eq(discord_rate_limit_ms(NULL, NULL, "0.75", cap), 750);
    cr_assert_eq(discord_rate_limit_ms("{\"retry_after\": 2}", NULL, NULL, cap), 2000);
    /* The largest wins. */
    cr_assert_eq(discord_rate_limit_ms(body, "1", "1.8", cap), 1800);
    cr_assert_eq(discord_rate_limit_ms(body, "4", "1.8", cap), 4000);
    /* Capped. */
    cr_assert_eq(discord_rate_limit_ms("{\"retry_after\": 86400}", NULL, NULL, cap), cap);
    cr_assert_eq(discord_rate_limit_ms(NULL, "1e300", NULL, cap), cap);
    /* Nothing usable. */
    cr_assert_eq(discord_rate_limit_ms(NULL, NULL, NULL, cap), -1);
    cr_assert_eq(discord_rate_limit_ms("not json", "later", "", cap), -1);
    cr_assert_eq(discord_rate_limit_ms("{\"retry_after\": \"1\"}", NULL, NULL, cap), -1);
    cr_assert_eq(discord_rate_limit_ms("{\"retry_after\": -1}", NULL, NULL, cap), -1);
    /* A bad source does not hide a good one. */
    cr_assert_eq(discord_rate_limit_ms("garbage", "2", NULL, cap), 2000);
}

Test(discord, backoff_schedule)
{
    cr_assert_eq(discord_backoff_ms(500, 1, 30000), 500);
    cr_assert_eq(discord_backoff_ms(500, 2, 30000), 1000);
    cr_assert_eq(discord_backoff_ms(500, 3, 30000), 2000);
    cr_assert_eq(discord_backoff_ms(500, 4, 30000), 4000);
    cr_assert_eq(discord_backoff_ms(500, 7, 30000), 30000);
    cr_assert_eq(discord_backoff_ms(500, 1000, 30000), 30000); /* no overflow */
    cr_assert_eq(discord_backoff_ms(0, 1, 30000), 1);
}

Test(discord, redact_url)
{
    char buf[600];
    cr_assert_str_eq(
        discord_redact_url("https://discord.com/api/webhooks/123/s3cr3t", buf, sizeof buf),
        "https://discord.com/api/webhooks/123/***");
    cr_assert_str_eq(discord_redact_url("http://127.0.0.1:9/hook?token=x", buf, sizeof buf),
                     "http://127.0.0.1:9/***");
    cr_assert_str_eq(discord_redact_url("http://host", buf, sizeof buf), "http://host");
    cr_assert_str_eq(discord_redact_url("http://host/", buf, sizeof buf), "http://host/");
}

/* Resolver that names campaigns and gives none a webhook. */
static int resolve_none(void *arg, const char *campaign, discord_campaign_info *out)
{
    (*(int *)arg)++;
    snprintf(out->name, sizeof out->name, "Campaign %s", campaign);
    out->webhook[0] = '\0';
    return 0;
}

Test(discord, alerter_without_webhook_and_bounds)
{
    int resolved = 0;
    discord_options o;
    memset(&o, 0, sizeof o);
    o.interval_ms = 50;
    o.gather_ms = -1;
    o.max_campaigns = 2;
    o.resolve = resolve_none;
    o.resolve_arg = &resolved;
    discord_alerter *a = discord_alerter_start(&o);
    cr_assert_not_null(a);
    discord_alert al = {"c1", "TX", "aca", "callback", "no_agent", 1714564800000LL};
    discord_alerter_notify(a, &al);
    al.campaign = NULL; /* ignored */
    discord_alerter_notify(a, &al);
    /* Wait for the sender to look c1 up; there is no webhook, so nothing is counted. */
    for (int i = 0; i < 200 && __atomic_load_n(&resolved, __ATOMIC_SEQ_CST) == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    discord_stats st;
    discord_alerter_stats(a, &st);
    cr_assert_eq(st.sent + st.failed + st.dropped + st.retried, 0);
    discord_alerter_stop(a);
    discord_alerter_stop(NULL);
    discord_alerter_stats(NULL, &st);
    cr_assert_eq(st.sent, 0);
}

Test(discord, alerter_table_full_drops)
{
    discord_options o;
    memset(&o, 0, sizeof o);
    o.interval_ms = 60000;
    o.gather_ms = 60000; /* nothing leaves during the test */
    o.max_campaigns = 2;
    discord_alerter *a = discord_alerter_start(&o);
    cr_assert_not_null(a);
    discord_alert al = {"c1", "TX", "aca", "callback", "no_agent", 1};
    discord_alerter_notify(a, &al);
    discord_alerter_notify(a, &al); /* same campaign: summed */
    al.campaign = "c2";
    discord_alerter_notify(a, &al);
    al.campaign = "c3"; /* a third campaign does not fit */
    discord_alerter_notify(a, &al);
    discord_stats st;
    discord_alerter_stats(a, &st);
    cr_assert_eq(st.dropped, 1);
    discord_alerter_stop(a); /* the 3 pending alerts are dropped */
}
