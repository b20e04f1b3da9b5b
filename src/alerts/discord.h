/* discord.h -- Discord webhook alerts: an alerter with its own sender thread (libcurl) that
 * summarises the alerts of each campaign into at most one message per interval, honours
 * Discord's rate limits, retries failures with a bounded backoff and disables webhooks that
 * are gone. Handing it an alert never waits for the network. The payload builder, the UTF-8
 * truncation and the rate-limit and backoff arithmetic are pure functions, tested alone. */
#ifndef SC_DISCORD_H
#define SC_DISCORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Discord's documented limits, in characters (Unicode code points). */
#define DISCORD_CONTENT_MAX 2000
#define DISCORD_TITLE_MAX 256
#define DISCORD_DESCRIPTION_MAX 4096
#define DISCORD_FIELD_NAME_MAX 256
#define DISCORD_FIELD_VALUE_MAX 1024
#define DISCORD_FIELDS_MAX 25
#define DISCORD_FOOTER_MAX 2048
#define DISCORD_EMBED_TOTAL_MAX 6000

#define DISCORD_ID_MAX 64    /* campaign ids (longer ones are cut) */
#define DISCORD_NAME_MAX 256 /* campaign display names */
#define DISCORD_URL_MAX 512  /* webhook URLs */
#define DISCORD_VALUE_MAX 48 /* one caller state, category, outcome or reason */
#define DISCORD_TALLY_MAX 4  /* distinct values counted per field; the rest are "other" */

/* Defaults of discord_options (a field left 0 takes its default). */
#define DISCORD_INTERVAL_MS_DEFAULT 60000  /* one message per campaign per minute */
#define DISCORD_GATHER_MS_MAX 2000         /* the gather window: min(interval, 2 s) */
#define DISCORD_MAX_CAMPAIGNS_DEFAULT 1024 /* campaigns with pending alerts or a recent send */
#define DISCORD_MAX_RETRIES_DEFAULT 3      /* resends after a 5xx or network error */
#define DISCORD_BACKOFF_MS_DEFAULT 500     /* first backoff; doubles on each retry */
#define DISCORD_BACKOFF_CAP_MS 30000       /* longest backoff */
#define DISCORD_RATE_LIMIT_CAP_MS 300000   /* longest wait a 429 can impose (5 minutes) */
#define DISCORD_RATE_LIMIT_RESENDS 10      /* resends after 429s, per message */
#define DISCORD_TIMEOUT_MS_DEFAULT 10000   /* one request, connection included */

/* How many calls had each value of one field ("TX" 60, "FL" 40, 3 others). */
typedef struct {
    struct {
        char value[DISCORD_VALUE_MAX];
        long long n;
    } items[DISCORD_TALLY_MAX];
    int n_items;
    long long other; /* calls whose value did not fit in items */
} discord_tally;

/* Adds n calls with `value` ("" or NULL counts as "unknown") to the tally. */
void discord_tally_add(discord_tally *t, const char *value, long long n);

/* Adds every count of src to dst. */
void discord_tally_merge(discord_tally *dst, const discord_tally *src);

/* What one message reports: the calls of one campaign that found no agent. */
typedef struct {
    const char *campaign;      /* id */
    const char *campaign_name; /* display name; NULL or "" uses the id */
    long long calls;
    discord_tally states, categories, outcomes, reasons;
    int64_t first_ms, last_ms; /* Unix milliseconds of the first and last call */
} discord_summary;

/* Builds the webhook's JSON body: `content`, one embed (title, description, fields
 * Campaign, Caller state, Category, Outcome, Reason, Calls, Time; ISO 8601 timestamp) and
 * allowed_mentions with no parsing, so no text can ping anyone. Every text is valid UTF-8
 * and within Discord's limits, the embed's total included. Returns a new reference, or
 * NULL when out of memory. */
json_t *discord_payload(const discord_summary *s);

/* Copies at most max_chars characters (code points) of s into a new string, ending it with
 * "…" (counted in max_chars) when it had to cut. Invalid UTF-8 bytes become U+FFFD. The
 * result is always valid UTF-8. Returns NULL when out of memory; the caller frees it. */
char *discord_truncate(const char *s, size_t max_chars);

/* The number of characters (code points) of valid UTF-8 text s. */
size_t discord_utf8_len(const char *s);

/* Reads a number of seconds ("1.5", "2") as milliseconds, rounded up. Returns -1 when s
 * is NULL, empty, not a finite non-negative number or followed by anything but spaces. */
int64_t discord_seconds_ms(const char *s);

/* How long a 429 asks to wait: the largest of the body's `retry_after` (JSON, seconds),
 * the Retry-After header and the X-RateLimit-Reset-After header (seconds; NULL when
 * absent), capped at cap_ms. Returns -1 when none of them holds a usable value. */
int64_t discord_rate_limit_ms(const char *body, const char *retry_after, const char *reset_after,
                              int64_t cap_ms);

/* The wait before retry number `retry` (1, 2, ...): base_ms, then doubling, at most cap_ms. */
int64_t discord_backoff_ms(int64_t base_ms, int retry, int64_t cap_ms);

/* Writes url with its secret part (the last path segment, the query) replaced by "***",
 * for logs. Returns out. */
const char *discord_redact_url(const char *url, char *out, size_t cap);

/* ---- the alerter --------------------------------------------------------------------- */

typedef struct discord_alerter discord_alerter;

/* A campaign as the alerter needs it. */
typedef struct {
    char name[DISCORD_NAME_MAX];   /* display name; "" uses the id */
    char webhook[DISCORD_URL_MAX]; /* its own webhook URL; "" uses the global one */
} discord_campaign_info;

/* Looks a campaign up; called on the sender thread only, once per message. Returns 0 and
 * fills *out, or -1 when unknown (the id is the name and the global webhook is used). */
typedef int (*discord_resolve_fn)(void *arg, const char *campaign, discord_campaign_info *out);

/* Writes a log line (event, webhook redacted, campaign or NULL, detail or NULL). Called on
 * the sender thread. */
typedef void (*discord_log_fn)(void *arg, const char *event, const char *webhook,
                               const char *campaign, const char *detail);

typedef struct {
    const char *webhook_url;    /* the global webhook; NULL or "" none */
    int interval_ms;            /* least time between two messages of one campaign */
    int gather_ms;              /* wait before the first message of a quiet campaign; 0 gives
                                   min(interval, DISCORD_GATHER_MS_MAX), < 0 none */
    int max_campaigns;          /* campaigns tracked at once; alerts beyond are dropped */
    int max_retries;            /* resends after a 5xx or network error */
    int backoff_ms;             /* first backoff */
    int timeout_ms;             /* one request */
    discord_resolve_fn resolve; /* NULL: every campaign is named by its id, global webhook */
    void *resolve_arg;
    discord_log_fn log; /* NULL: no logs */
    void *log_arg;
} discord_options;

/* One call that found no agent. Strings are copied (NULL or "" for unknown). */
typedef struct {
    const char *campaign; /* required */
    const char *caller_state;
    const char *category;
    const char *outcome; /* "queued", "callback", "callback (queue timeout)" */
    const char *reason;  /* "no_agent", "queue_timeout", ... */
    int64_t time_ms;     /* Unix milliseconds */
} discord_alert;

/* Counters since start. Messages: sent, retried (each resend) and failed (given up);
 * alerts (calls): alerts_sent (reported in a sent message), alerts_failed (in a message
 * given up) and dropped (never sent: table full, disabled webhook, pending at stop). */
typedef struct {
    long long sent, retried, failed;
    long long alerts_sent, alerts_failed, dropped;
    long long disabled_webhooks; /* webhook URLs disabled after a 401 or 404 */
} discord_stats;

/* Starts the alerter and its sender thread (initialising libcurl). Returns NULL when out of
 * memory or the thread cannot start; stop it with discord_alerter_stop(). */
discord_alerter *discord_alerter_start(const discord_options *opts);

/* Hands one alert to the alerter: locks, counts, signals; never waits for the network.
 * Thread-safe. An alert without a campaign is ignored; one that cannot be tracked (too
 * many campaigns) is counted as dropped. */
void discord_alerter_notify(discord_alerter *a, const discord_alert *alert);

/* Copies the counters. Thread-safe; a NULL alerter gives zeros. */
void discord_alerter_stats(discord_alerter *a, discord_stats *out);

/* Stops the sender in bounded time (a transfer in progress is aborted at once), counts the
 * alerts still pending as dropped, and frees everything. NULL is a no-op. */
void discord_alerter_stop(discord_alerter *a);

#endif
