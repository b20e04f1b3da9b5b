/* twiml.c -- the TwiML builder: XML text with & < > " ' escaped. */
#include "twiml.h"

#include <stdlib.h>
#include <string.h>

static void twiml_put(twiml *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 512;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) {
            t->failed = true;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void twiml_str(twiml *t, const char *s)
{
    twiml_put(t, s, strlen(s));
}

/* Text or an attribute value, escaped. */
static void twiml_escaped(twiml *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            twiml_str(t, "&amp;");
            break;
        case '<':
            twiml_str(t, "&lt;");
            break;
        case '>':
            twiml_str(t, "&gt;");
            break;
        case '"':
            twiml_str(t, "&quot;");
            break;
        case '\'':
            twiml_str(t, "&apos;");
            break;
        default:
            twiml_put(t, s, 1);
        }
    }
}

static void twiml_tag(twiml *t, const char *name, const char *const *attrs)
{
    twiml_str(t, "<");
    twiml_str(t, name);
    for (int i = 0; attrs && attrs[i]; i += 2) {
        if (!attrs[i + 1])
            continue;
        twiml_str(t, " ");
        twiml_str(t, attrs[i]);
        twiml_str(t, "=\"");
        twiml_escaped(t, attrs[i + 1]);
        twiml_str(t, "\"");
    }
}

void twiml_begin(twiml *t)
{
    memset(t, 0, sizeof *t);
    twiml_str(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    twiml_open(t, "Response", NULL);
}

void twiml_open(twiml *t, const char *name, const char *const *attrs)
{
    if (t->depth >= TWIML_DEPTH_MAX) {
        t->failed = true;
        return;
    }
    twiml_tag(t, name, attrs);
    twiml_str(t, ">");
    t->open[t->depth++] = name;
}

void twiml_close(twiml *t)
{
    if (t->depth <= 0) {
        t->failed = true;
        return;
    }
    const char *name = t->open[--t->depth];
    twiml_str(t, "</");
    twiml_str(t, name);
    twiml_str(t, ">");
}

void twiml_elem(twiml *t, const char *name, const char *const *attrs, const char *text)
{
    twiml_tag(t, name, attrs);
    if (!text) {
        twiml_str(t, "/>");
        return;
    }
    twiml_str(t, ">");
    twiml_escaped(t, text);
    twiml_str(t, "</");
    twiml_str(t, name);
    twiml_str(t, ">");
}

char *twiml_finish(twiml *t)
{
    while (t->depth > 0)
        twiml_close(t);
    char *doc = t->failed ? NULL : t->buf;
    if (!doc)
        free(t->buf);
    memset(t, 0, sizeof *t);
    return doc;
}

void twiml_free(twiml *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}
