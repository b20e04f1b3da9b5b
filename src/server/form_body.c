/* form_body.c -- collects a form body's fields, piece by piece, under a cap on their count. */
#include "form_body.h"

#include <stdlib.h>
#include <string.h>

void form_body_init(form_body *f)
{
    memset(f, 0, sizeof *f);
}

/* Adds a field; false when it cannot. */
static bool form_body_add(form_body *f, const char *key, const char *data, size_t size)
{
    if (f->n >= FORM_BODY_FIELDS_MAX)
        return false;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        http_form_field *nf = realloc(f->fields, cap * sizeof *nf);
        if (!nf)
            return false;
        f->fields = nf;
        f->cap = cap;
    }
    char *name = strdup(key ? key : ""), *value = strndup(data ? data : "", size);
    if (!name || !value) {
        free(name);
        free(value);
        return false;
    }
    f->fields[f->n++] = (http_form_field){name, value};
    return true;
}

/* Appends data[0..size) to the last field's value; false when it cannot. */
static bool form_body_append(form_body *f, const char *data, size_t size)
{
    if (f->n == 0)
        return false;
    const char *old = f->fields[f->n - 1].value;
    size_t old_len = strlen(old);
    char *value = malloc(old_len + size + 1);
    if (!value)
        return false;
    memcpy(value, old, old_len);
    if (size)
        memcpy(value + old_len, data, size);
    value[old_len + size] = '\0';
    free((char *)old);
    f->fields[f->n - 1].value = value;
    return true;
}

bool form_body_piece(form_body *f, const char *key, const char *data, uint64_t off, size_t size)
{
    bool ok = off == 0 ? form_body_add(f, key, data, size) : form_body_append(f, data, size);
    if (!ok)
        f->bad = true;
    return ok;
}

void form_body_done(form_body *f)
{
    if (!f->fields && !f->bad)
        f->fields = calloc(1, sizeof *f->fields); /* an empty form: parsed, no fields */
    if (!f->fields)
        f->bad = true;
}

void form_body_free(form_body *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->fields[i].name);
        free((char *)f->fields[i].value);
    }
    free(f->fields);
    form_body_init(f);
}
