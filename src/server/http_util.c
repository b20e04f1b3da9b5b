/* http_util.c -- JSON replies, the error shape, strict body parsing and structured logs. */
#include "http_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HTTP_LOG_LINE_MAX 2048

void http_reply(http_req *rq, int status, json_t *body)
{
    json_decref(rq->reply);
    rq->reply = NULL;
    if (!body) {
        http_error(rq, 500, "out_of_memory", NULL, "out of memory");
        return;
    }
    rq->status = status;
    rq->reply = body;
}

void http_error(http_req *rq, int status, const char *code, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_decref(rq->reply);
    rq->reply =
        json_pack("{s:{s:s, s:s, s:s?}}", "error", "code", code, "message", msg, "field", field);
    rq->status = rq->reply ? status : 500;
    snprintf(rq->error_code, sizeof rq->error_code, "%s", code);
}

void http_store_error(http_req *rq, int err, const char *what, const char *field)
{
    switch (err) {
    case ERR_NOT_FOUND:
        http_error(rq, 404, "not_found", field, "%s does not exist", what);
        break;
    case ERR_CONFLICT:
        http_error(rq, 409, "conflict", field, "%s conflicts with the current state", what);
        break;
    case ERR_INVALID:
        http_error(rq, 422, "invalid_input", field, "%s is not valid", what);
        break;
    case ERR_NOMEM:
        http_error(rq, 500, "out_of_memory", NULL, "out of memory");
        break;
    case ERR_STORE:
        http_error(rq, 503, "storage_error", NULL, "the database failed; try again");
        break;
    default:
        http_error(rq, 500, "internal_error", NULL, "%s", errors_str(err));
        break;
    }
}

bool http_is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

json_t *http_body_object(http_req *rq, bool optional, const char *const *allowed)
{
    json_error_t jerr;
    if (rq->body_len == 0) {
        if (optional)
            return json_object();
        http_error(rq, 400, "missing_body", NULL, "this request needs a JSON object body");
        return NULL;
    }
    if (!http_is_json_type(rq->content_type)) {
        http_error(rq, 415, "unsupported_media_type", NULL,
                   "the body must be sent as Content-Type: application/json");
        return NULL;
    }
    json_t *root =
        json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        http_error(rq, 400, "malformed_json", NULL, "invalid JSON at line %d, column %d: %s",
                   jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        http_error(rq, 400, "invalid_type", NULL, "the body must be a JSON object");
        return NULL;
    }
    if (allowed) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            bool ok = false;
            for (const char *const *a = allowed; *a && !ok; a++)
                ok = strcmp(*a, key) == 0;
            if (!ok) {
                http_error(rq, 400, "unknown_field", key, "unknown field");
                json_decref(root);
                return NULL;
            }
        }
    }
    return root;
}

bool http_printable(const char *s, size_t max)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return false;
    }
    return n >= 1 && n <= max;
}

bool http_field_str(http_req *rq, const json_t *obj, const char *key, bool required, bool nullable,
                    const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || (nullable && json_is_null(v))) {
        if (!v && required) {
            http_error(rq, 400, "missing_field", key, "required field is missing");
            return false;
        }
        return true;
    }
    if (!json_is_string(v)) {
        http_error(rq, 400, "invalid_type", key, "must be a string%s", nullable ? " or null" : "");
        return false;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        http_error(rq, 422, "invalid_input", key, "must not contain NUL characters");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool http_field_int(http_req *rq, const json_t *obj, const char *key, bool required, long long min,
                    long long max, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) {
            http_error(rq, 400, "missing_field", key, "required field is missing");
            return false;
        }
        return true;
    }
    if (!json_is_integer(v)) {
        http_error(rq, 400, "invalid_type", key, "must be an integer");
        return false;
    }
    long long x = (long long)json_integer_value(v);
    if (x < min || x > max) {
        http_error(rq, 422, "invalid_input", key, "must be between %lld and %lld (got %lld)", min,
                   max, x);
        return false;
    }
    *out = x;
    return true;
}

bool http_query_int(http_req *rq, const char *key, long long def, long long min, long long max,
                    long long *out)
{
    const char *s = rq->query ? rq->query(rq->conn, key) : NULL;
    char *end;
    if (!s) {
        *out = def;
        return true;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        http_error(rq, 400, "invalid_input", key, "must be an integer between %lld and %lld", min,
                   max);
        return false;
    }
    *out = v;
    return true;
}

int64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t http_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *http_fmt_ll(char *buf, size_t cap, long long v)
{
    snprintf(buf, cap, "%lld", v);
    return buf;
}

/* Appends `s` to line at *n (bounded), quoting it when it has spaces, quotes, '=' or
 * control characters; control characters become '?'. */
static void http_log_value(char *line, size_t cap, size_t *n, const char *s)
{
    bool quote = !s[0];
    for (const char *p = s; *p && !quote; p++)
        quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20 || *p == 0x7f;
    if (quote && *n + 1 < cap)
        line[(*n)++] = '"';
    for (const char *p = s; *p && *n + 2 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            line[(*n)++] = '\\';
            line[(*n)++] = (char)ch;
        } else {
            line[(*n)++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
    }
    if (quote && *n + 1 < cap)
        line[(*n)++] = '"';
    line[*n] = '\0';
}

void http_log(const char *event, ...)
{
    char line[HTTP_LOG_LINE_MAX];
    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    time_t secs = now.tv_sec;
    if (!gmtime_r(&secs, &tm) || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        ts[0] = '\0';
    int w = snprintf(line, sizeof line, "ts=%s.%03ldZ event=%s", ts, now.tv_nsec / 1000000, event);
    size_t n = w < 0 ? 0 : (size_t)w >= sizeof line ? sizeof line - 1 : (size_t)w;
    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *val = va_arg(ap, const char *);
        if (n + strlen(key) + 3 >= sizeof line)
            break;
        line[n++] = ' ';
        memcpy(line + n, key, strlen(key));
        n += strlen(key);
        line[n++] = '=';
        line[n] = '\0';
        http_log_value(line, sizeof line - 1, &n, val ? val : "-");
    }
    va_end(ap);
    line[n++] = '\n';
    /* One write per line so that lines from different threads never interleave. */
    ssize_t off = 0;
    while ((size_t)off < n) {
        ssize_t k = write(STDERR_FILENO, line + off, n - (size_t)off);
        if (k <= 0)
            break;
        off += k;
    }
}

const char *http_form_get(const http_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_form; i++)
        if (strcmp(rq->form[i].name, name) == 0)
            return rq->form[i].value;
    return NULL;
}
