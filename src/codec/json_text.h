/* json_text.h -- writes compact JSON text straight into a growing buffer, byte for byte as
 * jansson's json_dumps(..., JSON_COMPACT) writes the same document (members in the order
 * written, strings escaped the same way), without building a json_t tree first. Used on the
 * routing hot path (the trace of every call, docs/PERFORMANCE.md). */
#ifndef SC_JSON_TEXT_H
#define SC_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define JSON_TEXT_DEPTH_MAX 16

/* A document being written. Zero it with json_text_init(); any failed allocation (or a
 * nesting deeper than JSON_TEXT_DEPTH_MAX) marks it failed, and json_text_take() then
 * returns NULL. Commas and colons are placed by the writer. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
    int depth;
    bool has_item[JSON_TEXT_DEPTH_MAX]; /* the container at that depth has a member already */
    bool after_key;                     /* a key was written: its value comes next */
} json_text;

void json_text_init(json_text *t);

/* Frees the text (after a failure, or when it is not taken). */
void json_text_free(json_text *t);

/* Returns the finished text (malloc'd, the caller frees it) and empties `t`, or NULL when
 * anything failed (then `t` is freed). */
char *json_text_take(json_text *t);

/* Containers. */
void json_text_open_object(json_text *t);
void json_text_close_object(json_text *t);
void json_text_open_array(json_text *t);
void json_text_close_array(json_text *t);

/* An object member's key (ASCII, written as it is); its value is the next thing written. */
void json_text_key(json_text *t, const char *key);

/* Values. json_text_string writes NULL as null; text that is not valid UTF-8 is written with
 * every byte above 0x7f as '?' (and at most its first 256 bytes), as the trace always did. */
void json_text_string(json_text *t, const char *s);
void json_text_null(json_text *t);
void json_text_bool(json_text *t, bool v);
void json_text_int(json_text *t, long long v);

/* A value that is already compact JSON text (e.g. a stored trace), written as it is; the
 * caller vouches that it is one well-formed value. */
void json_text_verbatim(json_text *t, const char *json);
/* A value given as a jansson value, dumped compactly; NULL writes null. */
void json_text_value(json_text *t, const json_t *v);

#endif
