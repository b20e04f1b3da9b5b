/* auth_cache.h -- a small in-process cache of verified credentials, so that a request
 * with a known admin key or agent token does not need a database read to be authorized.
 *
 * Only successful lookups are cached, keyed by the secret's SHA-256 (the store's key; the
 * secret itself is never kept). An entry is used for at most its TTL after the database
 * said the credential was live: a key revoked (or an agent deleted) by another process,
 * such as the CLI, stops working within the TTL. Changes made through this daemon's API
 * that can remove a credential (any configuration change: agent delete, PUT /v1/config)
 * clear the cache at once. docs/ARCHITECTURE.md ("Auth") describes the bound. */
#ifndef SC_AUTH_CACHE_H
#define SC_AUTH_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/store.h"
#include "auth.h"

/* How long a verified credential is trusted without asking the database again. */
#define AUTH_CACHE_TTL_MS 1000
#define AUTH_CACHE_SLOTS 64 /* entries kept; more credentials in use just miss more */

typedef struct auth_cache auth_cache;

/* A new, empty cache whose entries live `ttl_ms` (> 0), or NULL when out of memory. */
auth_cache *auth_cache_new(int64_t ttl_ms);

/* Frees the cache (NULL is allowed). */
void auth_cache_free(auth_cache *c);

/* The cache's generation, to be read BEFORE looking a credential up in the store and
 * passed to auth_cache_put: a clear in between makes that put a no-op, so a lookup that
 * raced with a revocation can never re-insert the revoked credential. */
uint64_t auth_cache_generation(auth_cache *c);

/* True, with *out filled, when `hash` (64 hex digits) was verified less than the TTL before
 * `now_ms` (a monotonic clock in milliseconds) and no clear happened since. NULL cache:
 * always false. */
bool auth_cache_get(auth_cache *c, const char *hash, int64_t now_ms, store_principal *out);

/* Remembers that the store verified `hash` as `who` at `now_ms`, unless the cache was
 * cleared after `generation` was read. */
void auth_cache_put(auth_cache *c, const char *hash, const store_principal *who,
                    uint64_t generation, int64_t now_ms);

/* Forgets every entry (a credential may have been removed). Safe from any thread. */
void auth_cache_clear(auth_cache *c);

#endif
