/* auth_cache.c -- verified credentials kept for a short TTL (see auth_cache.h): a fixed
 * table of AUTH_CACHE_SLOTS entries indexed by the hash's first hex digits, one mutex. */
#include "auth_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bool used;
    char hash[AUTH_HASH_HEX];
    store_principal who;
    int64_t verified_ms;
} auth_cache_entry;

struct auth_cache {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    uint64_t generation; /* bumped by every clear */
    auth_cache_entry slots[AUTH_CACHE_SLOTS];
};

/* The slot of a hash: its first 8 hex digits are uniformly random (SHA-256). */
static unsigned auth_cache_slot(const char *hash)
{
    unsigned v = 0;
    for (int i = 0; i < 8 && hash[i]; i++) {
        char ch = hash[i];
        unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                                              : 0u;
        v = v * 16 + d;
    }
    return v % AUTH_CACHE_SLOTS;
}

static bool auth_cache_hash_ok(const char *hash)
{
    return hash && strlen(hash) == AUTH_HASH_HEX - 1;
}

auth_cache *auth_cache_new(int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return NULL;
    auth_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->ttl_ms = ttl_ms;
    return c;
}

void auth_cache_free(auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

uint64_t auth_cache_generation(auth_cache *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

bool auth_cache_get(auth_cache *c, const char *hash, int64_t now_ms, store_principal *out)
{
    bool hit = false;
    if (!c || !auth_cache_hash_ok(hash) || !out)
        return false;
    pthread_mutex_lock(&c->lock);
    auth_cache_entry *e = &c->slots[auth_cache_slot(hash)];
    if (e->used && strcmp(e->hash, hash) == 0) {
        /* A clock that went backwards counts as expired too. */
        if (now_ms >= e->verified_ms && now_ms - e->verified_ms < c->ttl_ms) {
            *out = e->who;
            hit = true;
        } else {
            e->used = false;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void auth_cache_put(auth_cache *c, const char *hash, const store_principal *who,
                    uint64_t generation, int64_t now_ms)
{
    if (!c || !auth_cache_hash_ok(hash) || !who)
        return;
    pthread_mutex_lock(&c->lock);
    if (generation == c->generation) {
        auth_cache_entry *e = &c->slots[auth_cache_slot(hash)];
        e->used = true;
        memcpy(e->hash, hash, AUTH_HASH_HEX);
        e->who = *who;
        e->verified_ms = now_ms;
    }
    pthread_mutex_unlock(&c->lock);
}

void auth_cache_clear(auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->generation++;
    memset(c->slots, 0, sizeof c->slots);
    pthread_mutex_unlock(&c->lock);
}
