/* discord.c -- Discord webhook alerts: the payload builder, UTF-8-safe truncation, the
 * rate-limit and backoff arithmetic, and the alerter (a table of campaigns with their
 * pending alerts, one sender thread, libcurl's multi interface so a stop aborts at once). */
#include "discord.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define DISCORD_URLS_MAX 64       /* webhook URLs remembered (disabled, rate limited) */
#define DISCORD_RESPONSE_MAX 4096 /* bytes of a response body kept (the 429's JSON) */
#define DISCORD_CONNECT_TIMEOUT_MS 5000
#define DISCORD_POLL_MS 1000          /* a transfer also checks for a stop this often */
#define DISCORD_COLOR 0xE67E22        /* orange */
#define DISCORD_CAMPAIGNS_LIMIT 65536 /* the most max_campaigns can be */

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Decodes the code point at p (NUL-terminated). Returns the bytes it takes; an invalid
 * sequence takes 1 byte and gives U+FFFD. */
static size_t discord_utf8_next(const unsigned char *p, uint32_t *cp)
{
    uint32_t c = p[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = c;
    return n;
}

/* Appends code point cp to out at *n (room is checked by the caller). */
static void discord_utf8_put(char *out, size_t *n, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out + *n;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        *n += 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        *n += 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        *n += 3;
    } else {
        o[0] = (unsigned char)(0xF0 | (cp >> 18));
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        *n += 4;
    }
}

size_t discord_utf8_len(const char *s)
{
    size_t chars = 0;
    uint32_t cp;
    for (const unsigned char *p = (const unsigned char *)s; *p; chars++)
        p += discord_utf8_next(p, &cp);
    return chars;
}

char *discord_truncate(const char *s, size_t max_chars)
{
    static const uint32_t ellipsis = 0x2026;
    size_t len = s ? strlen(s) : 0;
    size_t chars = s ? discord_utf8_len(s) : 0;
    /* Every input byte gives at most 3 output bytes (U+FFFD), plus the ellipsis. */
    char *out = malloc(len * 3 + 5);
    size_t n = 0;
    uint32_t cp;
    if (!out)
        return NULL;
    size_t keep = chars <= max_chars ? chars : max_chars > 0 ? max_chars - 1 : 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (size_t i = 0; i < keep; i++) {
        p += discord_utf8_next(p, &cp);
        discord_utf8_put(out, &n, cp);
    }
    if (chars > max_chars && max_chars > 0)
        discord_utf8_put(out, &n, ellipsis);
    out[n] = '\0';
    return out;
}

/* Copies s into dst (cap bytes), cut at a character boundary. */
static void discord_copy(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
}

/* ---- tallies -------------------------------------------------------------------------- */

void discord_tally_add(discord_tally *t, const char *value, long long n)
{
    char v[DISCORD_VALUE_MAX];
    discord_copy(v, sizeof v, value && value[0] ? value : "unknown");
    for (int i = 0; i < t->n_items; i++) {
        if (strcmp(t->items[i].value, v) == 0) {
            t->items[i].n += n;
            return;
        }
    }
    if (t->n_items < DISCORD_TALLY_MAX) {
        memcpy(t->items[t->n_items].value, v, sizeof v);
        t->items[t->n_items].n = n;
        t->n_items++;
    } else {
        t->other += n;
    }
}

void discord_tally_merge(discord_tally *dst, const discord_tally *src)
{
    for (int i = 0; i < src->n_items; i++)
        discord_tally_add(dst, src->items[i].value, src->items[i].n);
    dst->other += src->other;
}

/* "TX" when every call had one value, else "TX (60), FL (40), other (3)". */
static void discord_tally_text(const discord_tally *t, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (t->n_items == 0) {
        snprintf(buf, cap, "unknown");
        return;
    }
    if (t->n_items == 1 && t->other == 0) {
        snprintf(buf, cap, "%s", t->items[0].value);
        return;
    }
    for (int i = 0; i < t->n_items && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s (%lld)", i ? ", " : "", t->items[i].value,
                         t->items[i].n);
        n = w < 0 ? cap : n + (size_t)w;
    }
    if (t->other && n < cap)
        snprintf(buf + n, cap - n, ", other (%lld)", t->other);
}

/* ---- the payload ---------------------------------------------------------------------- */

/* Unix milliseconds as ISO 8601 UTC with milliseconds. */
static void discord_iso(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    if (ms < 0 || !gmtime_r(&secs, &tm) ||
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(base, sizeof base, "1970-01-01T00:00:00");
    snprintf(buf, cap, "%s.%03dZ", base, (int)(ms < 0 ? 0 : ms % 1000));
}

enum {
    DISCORD_F_CAMPAIGN,
    DISCORD_F_STATE,
    DISCORD_F_CATEGORY,
    DISCORD_F_OUTCOME,
    DISCORD_F_REASON,
    DISCORD_F_CALLS,
    DISCORD_F_TIME,
    DISCORD_N_FIELDS
};

/* The embed's texts while they are fitted to the limits. */
typedef struct {
    char *title, *description, *footer;
    char *names[DISCORD_N_FIELDS], *values[DISCORD_N_FIELDS];
} discord_embed;

static size_t discord_embed_total(const discord_embed *e)
{
    size_t total =
        discord_utf8_len(e->title) + discord_utf8_len(e->description) + discord_utf8_len(e->footer);
    for (int i = 0; i < DISCORD_N_FIELDS; i++)
        total += discord_utf8_len(e->names[i]) + discord_utf8_len(e->values[i]);
    return total;
}

/* Cuts *text to `chars` characters. Returns false when out of memory. */
static bool discord_recut(char **text, size_t chars)
{
    char *cut = discord_truncate(*text, chars);
    if (!cut)
        return false;
    free(*text);
    *text = cut;
    return true;
}

/* Shortens the description, then the field values from the last, then the title, until
 * the whole embed is within DISCORD_EMBED_TOTAL_MAX. A field value keeps 1 character. */
static bool discord_embed_fit(discord_embed *e)
{
    size_t total = discord_embed_total(e);
    char **order[DISCORD_N_FIELDS + 2];
    int n = 0;
    order[n++] = &e->description;
    for (int i = DISCORD_N_FIELDS - 1; i >= 0; i--)
        order[n++] = &e->values[i];
    order[n++] = &e->title;
    for (int i = 0; i < n && total > DISCORD_EMBED_TOTAL_MAX; i++) {
        size_t len = discord_utf8_len(*order[i]);
        size_t floor = order[i] == &e->description ? 0 : 1;
        size_t excess = total - DISCORD_EMBED_TOTAL_MAX;
        size_t want = len > excess + floor ? len - excess : floor;
        if (want >= len)
            continue;
        if (!discord_recut(order[i], want))
            return false;
        total = discord_embed_total(e);
    }
    return true;
}

/* Formats into a new string and cuts it to max_chars (discord_truncate). NULL when out of
 * memory; the caller frees it. */
__attribute__((format(printf, 2, 3))) static char *discord_cut_fmt(size_t max_chars,
                                                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *full = malloc((size_t)n + 1);
    if (!full)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(full, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *cut = discord_truncate(full, max_chars);
    free(full);
    return cut;
}

json_t *discord_payload(const discord_summary *s)
{
    static const char *const names[DISCORD_N_FIELDS] = {
        "Campaign", "Caller state", "Category", "Outcome", "Reason", "Calls", "Time"};
    char first[40], last[40], buf[1024];
    discord_embed e;
    json_t *out = NULL, *fields = NULL;
    char *content = NULL, *campaign = NULL;
    const char *id = s->campaign ? s->campaign : "";
    const char *name = s->campaign_name && s->campaign_name[0] ? s->campaign_name : id;
    const char *plural = s->calls == 1 ? "" : "s";
    bool one_time = s->calls == 1 || s->first_ms == s->last_ms;
    memset(&e, 0, sizeof e);
    discord_iso(s->first_ms, first, sizeof first);
    discord_iso(s->last_ms, last, sizeof last);
    if (strcmp(name, id) == 0)
        campaign = discord_cut_fmt(DISCORD_FIELD_VALUE_MAX, "%s", id);
    else
        campaign = discord_cut_fmt(DISCORD_FIELD_VALUE_MAX, "%s (%s)", name, id);
    content = discord_cut_fmt(DISCORD_CONTENT_MAX, "%lld call%s to %s found no available agent",
                              s->calls, plural, name);
    e.title = discord_cut_fmt(DISCORD_TITLE_MAX, "No agent available: %s", name);
    if (!campaign)
        goto out_free;
    if (one_time)
        e.description = discord_cut_fmt(
            DISCORD_DESCRIPTION_MAX, "%lld call%s to campaign %s found no available agent at %s.",
            s->calls, plural, campaign, last);
    else
        e.description =
            discord_cut_fmt(DISCORD_DESCRIPTION_MAX,
                            "%lld calls to campaign %s found no available agent between %s and %s.",
                            s->calls, campaign, first, last);
    e.footer = discord_truncate("SureConnect", DISCORD_FOOTER_MAX);
    for (int i = 0; i < DISCORD_N_FIELDS; i++) {
        switch (i) {
        case DISCORD_F_CAMPAIGN:
            snprintf(buf, sizeof buf, "-"); /* set below: it can be longer than buf */
            break;
        case DISCORD_F_STATE:
            discord_tally_text(&s->states, buf, sizeof buf);
            break;
        case DISCORD_F_CATEGORY:
            discord_tally_text(&s->categories, buf, sizeof buf);
            break;
        case DISCORD_F_OUTCOME:
            discord_tally_text(&s->outcomes, buf, sizeof buf);
            break;
        case DISCORD_F_REASON:
            discord_tally_text(&s->reasons, buf, sizeof buf);
            break;
        case DISCORD_F_CALLS:
            snprintf(buf, sizeof buf, "%lld", s->calls);
            break;
        default:
            if (one_time)
                snprintf(buf, sizeof buf, "%s", last);
            else
                snprintf(buf, sizeof buf, "%s to %s", first, last);
        }
        e.names[i] = discord_truncate(names[i], DISCORD_FIELD_NAME_MAX);
        e.values[i] = i == DISCORD_F_CAMPAIGN
                          ? discord_truncate(campaign, DISCORD_FIELD_VALUE_MAX)
                          : discord_truncate(buf[0] ? buf : "-", DISCORD_FIELD_VALUE_MAX);
        if (!e.names[i] || !e.values[i])
            goto out_free;
    }
    if (!content || !e.title || !e.description || !e.footer || !discord_embed_fit(&e))
        goto out_free;
    fields = json_array();
    for (int i = 0; fields && i < DISCORD_N_FIELDS && i < DISCORD_FIELDS_MAX; i++) {
        json_t *f = json_pack("{s:s, s:s, s:b}", "name", e.names[i], "value", e.values[i], "inline",
                              i != DISCORD_F_CAMPAIGN && i != DISCORD_F_TIME);
        if (!f || json_array_append_new(fields, f) != 0)
            goto out_free;
    }
    if (!fields)
        goto out_free;
    json_t *embed =
        json_pack("{s:s, s:i, s:s, s:{s:s}, s:O}", "title", e.title, "color", DISCORD_COLOR,
                  "timestamp", last, "footer", "text", e.footer, "fields", fields);
    if (embed && e.description[0] &&
        json_object_set_new(embed, "description", json_string(e.description)) != 0) {
        json_decref(embed);
        embed = NULL;
    }
    if (embed)
        out = json_pack("{s:s, s:[o], s:{s:[]}}", "content", content, "embeds", embed,
                        "allowed_mentions", "parse");
out_free:
    json_decref(fields);
    free(content);
    free(campaign);
    free(e.title);
    free(e.description);
    free(e.footer);
    for (int i = 0; i < DISCORD_N_FIELDS; i++) {
        free(e.names[i]);
        free(e.values[i]);
    }
    return out;
}

/* ---- rate limits and backoff ---------------------------------------------------------- */

int64_t discord_seconds_ms(const char *s)
{
    char *end;
    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (*end)
        return -1;
    if (v > 1e9)
        v = 1e9; /* about 31 years: as good as forever, and no overflow */
    return (int64_t)ceil(v * 1000.0);
}

int64_t discord_rate_limit_ms(const char *body, const char *retry_after, const char *reset_after,
                              int64_t cap_ms)
{
    int64_t best = -1, v;
    if (body && body[0]) {
        json_t *doc = json_loads(body, 0, NULL);
        json_t *ra = json_object_get(doc, "retry_after");
        if (json_is_number(ra)) {
            double secs = json_number_value(ra);
            if (isfinite(secs) && secs >= 0)
                best = (int64_t)ceil((secs > 1e9 ? 1e9 : secs) * 1000.0);
        }
        json_decref(doc);
    }
    if ((v = discord_seconds_ms(retry_after)) > best)
        best = v;
    if ((v = discord_seconds_ms(reset_after)) > best)
        best = v;
    return best > cap_ms ? cap_ms : best;
}

int64_t discord_backoff_ms(int64_t base_ms, int retry, int64_t cap_ms)
{
    int64_t wait = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < retry && wait < cap_ms; i++)
        wait *= 2;
    return wait > cap_ms ? cap_ms : wait;
}

const char *discord_redact_url(const char *url, char *out, size_t cap)
{
    size_t end = strcspn(url, "?#");
    const char *scheme = strstr(url, "://");
    size_t host = scheme && (size_t)(scheme - url) < end ? (size_t)(scheme - url) + 3 : 0;
    size_t slash = end;
    while (slash > host && url[slash - 1] != '/')
        slash--;
    if (slash > host && slash < end)
        snprintf(out, cap, "%.*s***", (int)slash, url);
    else
        snprintf(out, cap, "%.*s%s", (int)end, url, url[end] ? "?***" : "");
    return out;
}

/* ---- the alerter ---------------------------------------------------------------------- */

/* A campaign: the alerts waiting for its next message, and when that may go out. */
typedef struct {
    char campaign[DISCORD_ID_MAX];
    bool used;
    int next; /* next entry in its hash bucket, or in the free list; -1 none */
    long long count;
    discord_tally states, categories, outcomes, reasons;
    int64_t first_ms, last_ms; /* Unix ms of the waiting alerts */
    int64_t due_ms;            /* monotonic: when the waiting alerts may go out */
    int64_t last_sent_ms;      /* monotonic: its previous message, 0 none */
    int retries;               /* of the message being retried after a 5xx or error */
    int rate_limits;           /* of the message being resent after 429s */
} discord_entry;

/* A webhook URL the sender met: disabled for good, or held by a 429. */
typedef struct {
    char url[DISCORD_URL_MAX];
    bool disabled;
    int64_t hold_until_ms; /* monotonic */
} discord_url;

struct discord_alerter {
    discord_options o;
    char global[DISCORD_URL_MAX];
    pthread_mutex_t lock; /* guards everything below but urls and multi */
    pthread_cond_t cond;
    pthread_t thread;
    bool stopping;
    atomic_bool abort; /* read by a transfer in progress */
    discord_entry *entries;
    int *buckets;
    int n_buckets; /* a power of two */
    int free_head;
    discord_stats stats;
    discord_url urls[DISCORD_URLS_MAX]; /* sender thread only */
    int n_urls;
    CURLM *multi;
};

static int64_t discord_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned discord_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Finds the campaign's entry, or takes a free one; -1 when the table is full. Lock held. */
static int discord_entry_get(discord_alerter *a, const char *campaign)
{
    char id[DISCORD_ID_MAX];
    discord_copy(id, sizeof id, campaign);
    int *head = &a->buckets[discord_hash(id) & (unsigned)(a->n_buckets - 1)];
    for (int i = *head; i >= 0; i = a->entries[i].next)
        if (strcmp(a->entries[i].campaign, id) == 0)
            return i;
    int i = a->free_head;
    if (i < 0)
        return -1;
    discord_entry *e = &a->entries[i];
    a->free_head = e->next;
    memset(e, 0, sizeof *e);
    memcpy(e->campaign, id, sizeof id);
    e->used = true;
    e->next = *head;
    *head = i;
    return i;
}

/* Returns an idle entry to the free list. Lock held. */
static void discord_entry_free(discord_alerter *a, int i)
{
    int *link = &a->buckets[discord_hash(a->entries[i].campaign) & (unsigned)(a->n_buckets - 1)];
    while (*link >= 0 && *link != i)
        link = &a->entries[*link].next;
    if (*link == i)
        *link = a->entries[i].next;
    a->entries[i].used = false;
    a->entries[i].next = a->free_head;
    a->free_head = i;
}

void discord_alerter_notify(discord_alerter *a, const discord_alert *al)
{
    if (!a || !al || !al->campaign || !al->campaign[0])
        return;
    int64_t now = discord_mono_ms();
    pthread_mutex_lock(&a->lock);
    int i = a->stopping ? -1 : discord_entry_get(a, al->campaign);
    if (i < 0) {
        a->stats.dropped++;
        pthread_mutex_unlock(&a->lock);
        return;
    }
    discord_entry *e = &a->entries[i];
    if (e->count == 0) {
        e->first_ms = e->last_ms = al->time_ms;
        e->due_ms = now + (a->o.gather_ms > 0 ? a->o.gather_ms : 0);
        if (e->last_sent_ms && e->last_sent_ms + a->o.interval_ms > e->due_ms)
            e->due_ms = e->last_sent_ms + a->o.interval_ms;
        pthread_cond_signal(&a->cond);
    }
    e->count++;
    if (al->time_ms < e->first_ms)
        e->first_ms = al->time_ms;
    if (al->time_ms > e->last_ms)
        e->last_ms = al->time_ms;
    discord_tally_add(&e->states, al->caller_state, 1);
    discord_tally_add(&e->categories, al->category, 1);
    discord_tally_add(&e->outcomes, al->outcome, 1);
    discord_tally_add(&e->reasons, al->reason, 1);
    pthread_mutex_unlock(&a->lock);
}

void discord_alerter_stats(discord_alerter *a, discord_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    *out = a->stats;
    pthread_mutex_unlock(&a->lock);
}

/* What one attempt at a message came to. */
typedef enum {
    DISCORD_SENT,       /* 2xx */
    DISCORD_RATE_LIMIT, /* 429: resend after `wait_ms` */
    DISCORD_RETRY,      /* 5xx or a network error: resend after a backoff */
    DISCORD_GONE,       /* 401 or 404: the webhook is disabled */
    DISCORD_REJECTED,   /* another status: resending would not help */
    DISCORD_DISABLED,   /* not sent: its webhook was disabled earlier */
    DISCORD_HELD,       /* not sent: its webhook is rate limited until `wait_ms` from now */
    DISCORD_NO_WEBHOOK, /* not sent: no webhook configured for the campaign */
    DISCORD_ABORTED,    /* the alerter is stopping */
    DISCORD_NOMEM
} discord_result;

/* The response of one transfer: the status and what a 429 says. */
typedef struct {
    char body[DISCORD_RESPONSE_MAX];
    size_t body_len;
    char retry_after[32], reset_after[32];
} discord_response;

static size_t discord_on_body(char *data, size_t size, size_t n, void *arg)
{
    discord_response *r = arg;
    size_t len = size * n;
    size_t room = sizeof r->body - 1 - r->body_len;
    size_t take = len < room ? len : room;
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return len; /* the rest is read and discarded */
}

/* Keeps the value of header `name` when the line is that header. */
static void discord_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    if (vl < cap) {
        memcpy(out, v, vl);
        out[vl] = '\0';
    }
}

static size_t discord_on_header(char *line, size_t size, size_t n, void *arg)
{
    discord_response *r = arg;
    size_t len = size * n;
    discord_header(line, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    discord_header(line, len, "X-RateLimit-Reset-After", r->reset_after, sizeof r->reset_after);
    return len;
}

/* POSTs body to url and waits for the answer, or for a stop. Returns the HTTP status, 0
 * for a network error or timeout (detail in err), -1 when aborted, -2 when out of memory. */
static long discord_post(discord_alerter *a, const char *url, const char *body, discord_response *r,
                         char *err, size_t errcap)
{
    long status = -2;
    struct curl_slist *hdrs = NULL, *h;
    CURL *c = curl_easy_init();
    if (!c)
        return -2;
    h = curl_slist_append(hdrs, "Content-Type: application/json");
    if (h)
        hdrs = curl_slist_append(h, "User-Agent: SureConnect-alerts");
    if (!h || !hdrs)
        goto out_cleanup;
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* never anywhere but the webhook */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)a->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(a->o.timeout_ms < DISCORD_CONNECT_TIMEOUT_MS
                                ? a->o.timeout_ms
                                : DISCORD_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discord_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, discord_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (curl_multi_add_handle(a->multi, c) != CURLM_OK)
        goto out_cleanup;
    int running = 1;
    CURLcode res = CURLE_OK;
    bool aborted = false;
    for (;;) {
        if (atomic_load(&a->abort)) {
            aborted = true;
            break;
        }
        if (curl_multi_perform(a->multi, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        curl_multi_poll(a->multi, NULL, 0, DISCORD_POLL_MS, NULL);
    }
    if (!aborted) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(a->multi, &left)))
            if (m->msg == CURLMSG_DONE && m->easy_handle == c)
                res = m->data.result;
    }
    curl_multi_remove_handle(a->multi, c);
    if (aborted) {
        status = -1;
    } else if (res != CURLE_OK) {
        snprintf(err, errcap, "%s", curl_easy_strerror(res));
        status = 0;
    } else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        snprintf(err, errcap, "no status");
        status = 0;
    }
out_cleanup:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return status;
}

/* The remembered state of a webhook URL, added when `add`; NULL when unknown (or no room:
 * an entry neither disabled nor held is reused first). Sender thread only. */
static discord_url *discord_url_find(discord_alerter *a, const char *url, bool add, int64_t now)
{
    for (int i = 0; i < a->n_urls; i++)
        if (strcmp(a->urls[i].url, url) == 0)
            return &a->urls[i];
    if (!add)
        return NULL;
    int i = a->n_urls;
    if (i == DISCORD_URLS_MAX) {
        for (i = 0; i < DISCORD_URLS_MAX; i++)
            if (!a->urls[i].disabled && a->urls[i].hold_until_ms <= now)
                break;
        if (i == DISCORD_URLS_MAX)
            return NULL;
    } else {
        a->n_urls++;
    }
    memset(&a->urls[i], 0, sizeof a->urls[i]);
    discord_copy(a->urls[i].url, sizeof a->urls[i].url, url);
    return &a->urls[i];
}

static void discord_log(discord_alerter *a, const char *event, const char *url,
                        const char *campaign, const char *detail)
{
    char red[DISCORD_URL_MAX + 8];
    if (a->o.log)
        a->o.log(a->o.log_arg, event, url ? discord_redact_url(url, red, sizeof red) : NULL,
                 campaign, detail);
}

/* Sends one message (the alerts taken from an entry): resolves the campaign, picks its
 * webhook, builds the payload and POSTs it once. Sender thread, lock not held. */
static discord_result discord_deliver(discord_alerter *a, const discord_entry *m, int64_t *wait_ms)
{
    discord_campaign_info info;
    discord_response *r = NULL;
    char err[CURL_ERROR_SIZE + 32] = "", detail[64];
    discord_result res = DISCORD_NOMEM;
    memset(&info, 0, sizeof info);
    if (!a->o.resolve || a->o.resolve(a->o.resolve_arg, m->campaign, &info) != 0)
        memset(&info, 0, sizeof info);
    const char *url = info.webhook[0] ? info.webhook : a->global;
    if (!url[0])
        return DISCORD_NO_WEBHOOK;
    int64_t now = discord_mono_ms();
    discord_url *u = discord_url_find(a, url, false, now);
    if (u && u->disabled)
        return DISCORD_DISABLED;
    if (u && u->hold_until_ms > now) {
        *wait_ms = u->hold_until_ms - now;
        return DISCORD_HELD;
    }
    discord_summary s = {m->campaign, info.name,  m->count,    m->states, m->categories,
                         m->outcomes, m->reasons, m->first_ms, m->last_ms};
    json_t *payload = discord_payload(&s);
    char *body = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    r = calloc(1, sizeof *r);
    if (!body || !r)
        goto out_free;
    long status = discord_post(a, url, body, r, err, sizeof err);
    if (status == -2)
        goto out_free;
    if (status == -1) {
        res = DISCORD_ABORTED;
    } else if (status >= 200 && status < 300) {
        res = DISCORD_SENT;
    } else if (status == 429) {
        *wait_ms = discord_rate_limit_ms(r->body, r->retry_after[0] ? r->retry_after : NULL,
                                         r->reset_after[0] ? r->reset_after : NULL,
                                         DISCORD_RATE_LIMIT_CAP_MS);
        if (*wait_ms < 0)
            *wait_ms =
                discord_backoff_ms(a->o.backoff_ms, m->rate_limits + 1, DISCORD_BACKOFF_CAP_MS);
        if ((u = discord_url_find(a, url, true, now)))
            u->hold_until_ms = discord_mono_ms() + *wait_ms;
        res = DISCORD_RATE_LIMIT;
    } else if (status == 0 || status >= 500) {
        if (status)
            snprintf(err, sizeof err, "HTTP %ld", status);
        *wait_ms = discord_backoff_ms(a->o.backoff_ms, m->retries + 1, DISCORD_BACKOFF_CAP_MS);
        res = DISCORD_RETRY;
    } else if (status == 401 || status == 404) {
        snprintf(detail, sizeof detail, "HTTP %ld", status);
        if ((u = discord_url_find(a, url, true, now)))
            u->disabled = true;
        discord_log(a, "alert_webhook_disabled", url, m->campaign, detail);
        res = DISCORD_GONE;
    } else {
        snprintf(err, sizeof err, "HTTP %ld", status);
        res = DISCORD_REJECTED;
    }
    if ((res == DISCORD_RETRY && m->retries >= a->o.max_retries) || res == DISCORD_REJECTED)
        discord_log(a, "alert_failed", url, m->campaign, err);
out_free:
    free(r);
    free(body);
    return res;
}

/* Puts a message's alerts back in front of the entry's newer ones. Lock held. */
static void discord_entry_merge(discord_entry *e, const discord_entry *m)
{
    if (e->count == 0 || m->first_ms < e->first_ms)
        e->first_ms = m->first_ms;
    if (e->count == 0 || m->last_ms > e->last_ms)
        e->last_ms = m->last_ms;
    e->count += m->count;
    discord_tally_merge(&e->states, &m->states);
    discord_tally_merge(&e->categories, &m->categories);
    discord_tally_merge(&e->outcomes, &m->outcomes);
    discord_tally_merge(&e->reasons, &m->reasons);
}

/* Applies a delivery's result to the entry and the counters. Lock held. */
static void discord_settle(discord_alerter *a, discord_entry *e, const discord_entry *m,
                           discord_result res, int64_t wait_ms, int64_t taken_ms)
{
    bool done = true, message_ended = false;
    int64_t now = discord_mono_ms();
    switch (res) {
    case DISCORD_SENT:
        a->stats.sent++;
        a->stats.alerts_sent += m->count;
        message_ended = true;
        break;
    case DISCORD_RATE_LIMIT:
        if (m->rate_limits + 1 > DISCORD_RATE_LIMIT_RESENDS) {
            a->stats.failed++;
            a->stats.alerts_failed += m->count;
            message_ended = true;
            break;
        }
        a->stats.retried++;
        e->rate_limits = m->rate_limits + 1;
        e->retries = m->retries;
        done = false;
        break;
    case DISCORD_RETRY:
        if (m->retries + 1 > a->o.max_retries) {
            a->stats.failed++;
            a->stats.alerts_failed += m->count;
            message_ended = true;
            break;
        }
        a->stats.retried++;
        e->retries = m->retries + 1;
        e->rate_limits = m->rate_limits;
        done = false;
        break;
    case DISCORD_HELD:
        e->retries = m->retries;
        e->rate_limits = m->rate_limits;
        done = false;
        break;
    case DISCORD_GONE:
        a->stats.failed++;
        a->stats.alerts_failed += m->count;
        a->stats.disabled_webhooks++;
        break;
    case DISCORD_REJECTED:
        a->stats.failed++;
        a->stats.alerts_failed += m->count;
        message_ended = true;
        break;
    case DISCORD_DISABLED:
    case DISCORD_ABORTED:
    case DISCORD_NOMEM:
        a->stats.dropped += m->count;
        break;
    case DISCORD_NO_WEBHOOK:
        break;
    }
    if (!done) {
        discord_entry_merge(e, m);
        e->due_ms = now + wait_ms;
        return;
    }
    e->retries = e->rate_limits = 0;
    if (message_ended) {
        /* The interval runs from the message that went out (or was given up on). */
        e->last_sent_ms = taken_ms;
        if (e->count > 0 && e->due_ms < taken_ms + a->o.interval_ms)
            e->due_ms = taken_ms + a->o.interval_ms;
    }
}

static void discord_wait_until(discord_alerter *a, int64_t mono_ms)
{
    if (mono_ms == INT64_MAX) {
        pthread_cond_wait(&a->cond, &a->lock);
        return;
    }
    struct timespec ts = {(time_t)(mono_ms / 1000), (long)(mono_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

/* The sender thread: picks the campaign whose alerts are due first, sends them, settles. */
static void *discord_main(void *arg)
{
    discord_alerter *a = arg;
    discord_entry *msg = malloc(sizeof *msg);
    pthread_mutex_lock(&a->lock);
    while (!a->stopping) {
        int64_t now = discord_mono_ms(), next = INT64_MAX;
        int pick = -1;
        for (int i = 0; i < a->o.max_campaigns; i++) {
            discord_entry *e = &a->entries[i];
            if (!e->used)
                continue;
            if (e->count == 0) {
                if (e->last_sent_ms == 0 || now - e->last_sent_ms >= a->o.interval_ms)
                    discord_entry_free(a, i); /* idle: its interval is over */
                else if (e->last_sent_ms + a->o.interval_ms < next)
                    next = e->last_sent_ms + a->o.interval_ms; /* wake to free it */
                continue;
            }
            if (e->due_ms <= now && (pick < 0 || e->due_ms < a->entries[pick].due_ms))
                pick = i;
            else if (e->due_ms > now && e->due_ms < next)
                next = e->due_ms;
        }
        if (pick < 0 || !msg) {
            discord_wait_until(a, msg ? next : now + 1000);
            continue;
        }
        discord_entry *e = &a->entries[pick];
        *msg = *e;
        e->count = 0;
        memset(&e->states, 0, sizeof e->states);
        memset(&e->categories, 0, sizeof e->categories);
        memset(&e->outcomes, 0, sizeof e->outcomes);
        memset(&e->reasons, 0, sizeof e->reasons);
        e->retries = e->rate_limits = 0;
        pthread_mutex_unlock(&a->lock);
        int64_t wait_ms = 0;
        discord_result res = discord_deliver(a, msg, &wait_ms);
        pthread_mutex_lock(&a->lock);
        discord_settle(a, e, msg, res, wait_ms, now);
    }
    /* Whatever is still waiting will not be sent. */
    for (int i = 0; i < a->o.max_campaigns; i++)
        if (a->entries[i].used)
            a->stats.dropped += a->entries[i].count;
    pthread_mutex_unlock(&a->lock);
    free(msg);
    return NULL;
}

discord_alerter *discord_alerter_start(const discord_options *opts)
{
    pthread_condattr_t ca;
    discord_alerter *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->o = *opts;
    if (a->o.interval_ms <= 0)
        a->o.interval_ms = DISCORD_INTERVAL_MS_DEFAULT;
    if (a->o.gather_ms == 0)
        a->o.gather_ms =
            a->o.interval_ms < DISCORD_GATHER_MS_MAX ? a->o.interval_ms : DISCORD_GATHER_MS_MAX;
    if (a->o.max_campaigns <= 0)
        a->o.max_campaigns = DISCORD_MAX_CAMPAIGNS_DEFAULT;
    else if (a->o.max_campaigns > DISCORD_CAMPAIGNS_LIMIT)
        a->o.max_campaigns = DISCORD_CAMPAIGNS_LIMIT;
    if (a->o.max_retries < 0)
        a->o.max_retries = 0;
    else if (a->o.max_retries == 0)
        a->o.max_retries = DISCORD_MAX_RETRIES_DEFAULT;
    if (a->o.backoff_ms <= 0)
        a->o.backoff_ms = DISCORD_BACKOFF_MS_DEFAULT;
    if (a->o.timeout_ms <= 0)
        a->o.timeout_ms = DISCORD_TIMEOUT_MS_DEFAULT;
    discord_copy(a->global, sizeof a->global, opts->webhook_url);
    a->o.webhook_url = a->global;
    a->n_buckets = 1;
    while (a->n_buckets < a->o.max_campaigns * 2)
        a->n_buckets *= 2;
    a->entries = calloc((unsigned)a->o.max_campaigns, sizeof *a->entries);
    a->buckets = calloc((unsigned)a->n_buckets, sizeof *a->buckets);
    if (!a->entries || !a->buckets)
        goto out_free;
    for (int i = 0; i < a->n_buckets; i++)
        a->buckets[i] = -1;
    for (int i = 0; i < a->o.max_campaigns; i++)
        a->entries[i].next = i + 1 < a->o.max_campaigns ? i + 1 : -1;
    a->free_head = 0;
    atomic_init(&a->abort, false);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out_free;
    if (!(a->multi = curl_multi_init()))
        goto out_curl;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->thread, NULL, discord_main, a) != 0)
        goto out_sync;
    return a;
out_sync:
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    curl_multi_cleanup(a->multi);
out_curl:
    curl_global_cleanup();
out_free:
    free(a->buckets);
    free(a->entries);
    free(a);
    return NULL;
}

void discord_alerter_stop(discord_alerter *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    atomic_store(&a->abort, true);
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
    curl_multi_wakeup(a->multi); /* a transfer in progress notices the abort now */
    pthread_join(a->thread, NULL);
    curl_multi_cleanup(a->multi);
    curl_global_cleanup();
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a->buckets);
    free(a->entries);
    free(a);
}
