/* json_text.c -- compact JSON text written directly, in jansson's compact form. */
#include "json_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TEXT_INITIAL 1024
#define JSON_TEXT_INVALID_MAX 256 /* bytes kept of a string that is not valid UTF-8 */

void json_text_init(json_text *t)
{
    memset(t, 0, sizeof *t);
}

void json_text_free(json_text *t)
{
    free(t->buf);
    json_text_init(t);
}

char *json_text_take(json_text *t)
{
    if (t->failed || !t->buf || t->depth != 0) {
        json_text_free(t);
        return NULL;
    }
    char *s = t->buf;
    t->buf = NULL;
    json_text_free(t);
    return s;
}

/* Makes room for n more bytes and the terminating NUL; false (and failed) when it cannot. */
static bool json_text_reserve(json_text *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->len + n + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : JSON_TEXT_INITIAL;
    while (cap < t->len + n + 1)
        cap *= 2;
    char *b = realloc(t->buf, cap);
    if (!b) {
        t->failed = true;
        return false;
    }
    t->buf = b;
    t->cap = cap;
    return true;
}

static void json_text_raw(json_text *t, const char *s, size_t n)
{
    if (!json_text_reserve(t, n))
        return;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* Before a value or a key: the comma that separates it from the previous member. */
static void json_text_sep(json_text *t)
{
    if (t->after_key) {
        t->after_key = false;
        return;
    }
    if (t->depth > 0) {
        if (t->has_item[t->depth - 1])
            json_text_raw(t, ",", 1);
        t->has_item[t->depth - 1] = true;
    }
}

static void json_text_open(json_text *t, char c)
{
    json_text_sep(t);
    if (t->depth >= JSON_TEXT_DEPTH_MAX) {
        t->failed = true;
        return;
    }
    t->has_item[t->depth++] = false;
    json_text_raw(t, &c, 1);
}

static void json_text_close(json_text *t, char c)
{
    if (t->depth <= 0) {
        t->failed = true;
        return;
    }
    t->depth--;
    json_text_raw(t, &c, 1);
}

void json_text_open_object(json_text *t)
{
    json_text_open(t, '{');
}

void json_text_close_object(json_text *t)
{
    json_text_close(t, '}');
}

void json_text_open_array(json_text *t)
{
    json_text_open(t, '[');
}

void json_text_close_array(json_text *t)
{
    json_text_close(t, ']');
}

void json_text_key(json_text *t, const char *key)
{
    json_text_sep(t);
    json_text_raw(t, "\"", 1);
    json_text_raw(t, key, strlen(key));
    json_text_raw(t, "\":", 2);
    t->after_key = true;
}

/* The length of the valid UTF-8 sequence at s (as jansson accepts it: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t json_text_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        n = 2;
        v = c & 0x1F;
    } else if (c < 0xF0) {
        n = 3;
        v = c & 0x0F;
    } else if (c < 0xF5) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
        (n == 4 && v < 0x10000))
        return 0;
    return n;
}

static bool json_text_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = json_text_utf8_len(p);
        if (!n)
            return false;
        p += n;
    }
    return true;
}

/* Writes s (valid UTF-8) quoted, escaping what jansson escapes: the quote, the backslash
 * and control characters. */
static void json_text_quoted(json_text *t, const char *s)
{
    json_text_raw(t, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        json_text_raw(t, run, (size_t)(p - run));
        if (!c)
            break;
        char esc[8];
        switch (c) {
        case '"':
            json_text_raw(t, "\\\"", 2);
            break;
        case '\\':
            json_text_raw(t, "\\\\", 2);
            break;
        case '\b':
            json_text_raw(t, "\\b", 2);
            break;
        case '\f':
            json_text_raw(t, "\\f", 2);
            break;
        case '\n':
            json_text_raw(t, "\\n", 2);
            break;
        case '\r':
            json_text_raw(t, "\\r", 2);
            break;
        case '\t':
            json_text_raw(t, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            json_text_raw(t, esc, 6);
        }
        run = p + 1;
    }
    json_text_raw(t, "\"", 1);
}

void json_text_string(json_text *t, const char *s)
{
    if (!s) {
        json_text_null(t);
        return;
    }
    json_text_sep(t);
    if (json_text_valid_utf8(s)) {
        json_text_quoted(t, s);
        return;
    }
    char buf[JSON_TEXT_INVALID_MAX + 1];
    size_t n = strnlen(s, JSON_TEXT_INVALID_MAX);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    buf[n] = '\0';
    json_text_quoted(t, buf);
}

void json_text_verbatim(json_text *t, const char *json)
{
    json_text_sep(t);
    json_text_raw(t, json, strlen(json));
}

void json_text_null(json_text *t)
{
    json_text_sep(t);
    json_text_raw(t, "null", 4);
}

void json_text_bool(json_text *t, bool v)
{
    json_text_sep(t);
    json_text_raw(t, v ? "true" : "false", v ? 4 : 5);
}

void json_text_int(json_text *t, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    json_text_sep(t);
    json_text_raw(t, buf, (size_t)n);
}

void json_text_value(json_text *t, const json_t *v)
{
    if (!v) {
        json_text_null(t);
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        t->failed = true;
        return;
    }
    json_text_sep(t);
    json_text_raw(t, s, strlen(s));
    free(s);
}
