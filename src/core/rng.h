/* rng.h -- the random source handed to the router: a function and its state, so tests and
 * replays can pass a seeded generator. */
#ifndef SC_RNG_H
#define SC_RNG_H

#include <stdint.h>

/* A random source: next() returns 64 uniformly random bits. */
typedef struct {
    uint64_t (*next)(void *state);
    void *state;
} rng_source;

/* A small deterministic generator (splitmix64) for tests, benchmarks and replays. */
typedef struct {
    uint64_t s;
} rng_splitmix;

/* Seeds a splitmix generator and returns a source reading from it. */
rng_source rng_splitmix_source(rng_splitmix *g, uint64_t seed);

/* Returns a uniform integer in [0, bound) without modulo bias; bound must be >= 1. */
uint64_t rng_below(const rng_source *r, uint64_t bound);

#endif
