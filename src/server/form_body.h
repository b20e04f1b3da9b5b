/* form_body.h -- the fields of a form-encoded body (application/x-www-form-urlencoded) as
 * libmicrohttpd's form parser hands them over: decoded, a field at a time, a long value in
 * several pieces. Kept apart from the server so that fuzz/ can feed it directly. */
#ifndef SC_FORM_BODY_H
#define SC_FORM_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_util.h"

#define FORM_BODY_FIELDS_MAX 256 /* more fields make the body bad */

/* The fields so far. Zero-initialised (or form_body_init) means empty and not parsed. */
typedef struct {
    http_form_field *fields; /* names and values owned; NULL until a field or form_body_done */
    size_t n, cap;
    bool bad; /* the body could not be taken (too many fields, no memory, a stray piece) */
} form_body;

void form_body_init(form_body *f);

/* One piece from the parser: a new field `key` whose value starts with data[0..size) when
 * off is 0, else more of the value of the last field (key ignored). data may hold NUL bytes:
 * a value ends at its first NUL. Returns false, with f->bad set, when the piece is refused. */
bool form_body_piece(form_body *f, const char *key, const char *data, uint64_t off, size_t size);

/* Marks the end of the body: an empty form gets an empty (non-NULL) field array. Sets
 * f->bad when even that cannot be allocated. */
void form_body_done(form_body *f);

/* Frees the fields and makes f empty again. */
void form_body_free(form_body *f);

#endif
