/* fuzz_input.h -- helpers the fuzz targets share: a fuzzer's bytes read as a few leading
 * control bytes and NUL-separated strings, and a check that stops the run loudly. */
#ifndef SC_FUZZ_INPUT_H
#define SC_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is left of the input. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_input;

/* The next byte, 0 once the input is used up. */
static inline uint8_t fuzz_byte(fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* A new NUL-terminated copy of the bytes up to the next NUL (or the end); the caller frees
 * it. Returns NULL only when out of memory, which aborts the run. */
static inline char *fuzz_string(fuzz_input *in)
{
    const uint8_t *nul = memchr(in->p, '\0', in->n);
    size_t len = nul ? (size_t)(nul - in->p) : in->n;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, in->p, len);
    s[len] = '\0';
    in->p += len + (nul ? 1 : 0);
    in->n -= len + (nul ? 1 : 0);
    return s;
}

/* A new NUL-terminated copy of everything left (NUL bytes kept inside); the caller frees it. */
static inline char *fuzz_rest(fuzz_input *in, size_t *len)
{
    char *s = malloc(in->n + 1);
    if (!s)
        abort();
    if (in->n)
        memcpy(s, in->p, in->n);
    s[in->n] = '\0';
    *len = in->n;
    in->p += in->n;
    in->n = 0;
    return s;
}

/* An invariant of the code under test: when it fails the fuzzer reports a crash with the
 * input that caused it. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
