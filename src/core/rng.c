/* rng.c -- the deterministic splitmix64 generator and unbiased bounded draws. */
#include "rng.h"

static uint64_t rng_splitmix_next(void *state)
{
    rng_splitmix *g = state;
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

rng_source rng_splitmix_source(rng_splitmix *g, uint64_t seed)
{
    g->s = seed;
    rng_source src = {rng_splitmix_next, g};
    return src;
}

uint64_t rng_below(const rng_source *r, uint64_t bound)
{
    if (bound <= 1)
        return 0;
    /* Rejection sampling: drop the top partial block of 2^64 so every value is equally likely. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t x;
    do {
        x = r->next(r->state);
    } while (x >= limit);
    return x % bound;
}
