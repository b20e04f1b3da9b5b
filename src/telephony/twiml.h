/* twiml.h -- a small builder of TwiML documents (the XML a Twilio-compatible provider
 * executes): elements with escaped attributes and text, nested, inside <Response>. */
#ifndef SC_TWIML_H
#define SC_TWIML_H

#include <stdbool.h>
#include <stddef.h>

#define TWIML_DEPTH_MAX 8

typedef struct {
    char *buf; /* the document so far (owned) */
    size_t len, cap;
    bool failed; /* out of memory: the document is unusable */
    const char *open[TWIML_DEPTH_MAX];
    int depth;
} twiml;

/* Starts a document: the XML declaration and <Response>. */
void twiml_begin(twiml *t);

/* Opens element `name` with attributes `attrs` (name, value, ..., NULL; a NULL value skips
 * that attribute), to be closed by twiml_close(). */
void twiml_open(twiml *t, const char *name, const char *const *attrs);

/* Closes the element opened last. */
void twiml_close(twiml *t);

/* A whole element: attributes as for twiml_open, then `text` as its content (NULL: an
 * empty element written as <Name/>). */
void twiml_elem(twiml *t, const char *name, const char *const *attrs, const char *text);

/* Closes <Response> and returns the document (malloc'd, the caller frees), or NULL when
 * out of memory. The builder is empty afterwards. */
char *twiml_finish(twiml *t);

/* Frees a builder that was not finished. */
void twiml_free(twiml *t);

#endif
