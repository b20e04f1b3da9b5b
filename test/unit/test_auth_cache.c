/* test_auth_cache.c -- the daemon's cache of verified credentials: hits within the TTL
 * only, clears, and a lookup that raced with a clear never re-inserting its result. */
#include <criterion/criterion.h>
#include <string.h>

#include "server/auth_cache.h"

static const char *const HASH_A = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const HASH_B = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static store_principal admin_named(const char *name)
{
    store_principal p;
    memset(&p, 0, sizeof p);
    p.kind = STORE_PRINCIPAL_ADMIN;
    p.id = 7;
    strcpy(p.name, name);
    return p;
}

Test(auth_cache, a_verified_credential_is_a_hit_until_its_ttl_ends)
{
    auth_cache *c = auth_cache_new(1000);
    cr_assert_not_null(c);
    store_principal who = admin_named("ops"), got;
    cr_assert_not(auth_cache_get(c, HASH_A, 5000, &got));
    auth_cache_put(c, HASH_A, &who, auth_cache_generation(c), 5000);
    cr_assert(auth_cache_get(c, HASH_A, 5000, &got));
    cr_assert_eq(got.kind, STORE_PRINCIPAL_ADMIN);
    cr_assert_str_eq(got.name, "ops");
    cr_assert_eq(got.id, 7);
    cr_assert(auth_cache_get(c, HASH_A, 5999, &got));
    cr_assert_not(auth_cache_get(c, HASH_A, 6000, &got), "expired at the TTL");
    cr_assert_not(auth_cache_get(c, HASH_A, 5500, &got), "an expired entry is gone");
    auth_cache_free(c);
}

Test(auth_cache, only_the_same_hash_hits)
{
    auth_cache *c = auth_cache_new(1000);
    store_principal who = admin_named("ops"), got;
    auth_cache_put(c, HASH_A, &who, auth_cache_generation(c), 10);
    cr_assert_not(auth_cache_get(c, HASH_B, 10, &got));
    char near[AUTH_HASH_HEX];
    strcpy(near, HASH_A);
    near[63] = near[63] == '0' ? '1' : '0'; /* same slot, different hash */
    cr_assert_not(auth_cache_get(c, near, 10, &got));
    cr_assert_not(auth_cache_get(c, "short", 10, &got));
    cr_assert_not(auth_cache_get(c, NULL, 10, &got));
    auth_cache_free(c);
}

Test(auth_cache, a_clock_going_backwards_is_a_miss)
{
    auth_cache *c = auth_cache_new(1000);
    store_principal who = admin_named("ops"), got;
    auth_cache_put(c, HASH_A, &who, auth_cache_generation(c), 5000);
    cr_assert_not(auth_cache_get(c, HASH_A, 4999, &got));
    auth_cache_free(c);
}

Test(auth_cache, a_clear_forgets_everything)
{
    auth_cache *c = auth_cache_new(1000);
    store_principal who = admin_named("ops"), got;
    auth_cache_put(c, HASH_A, &who, auth_cache_generation(c), 10);
    auth_cache_put(c, HASH_B, &who, auth_cache_generation(c), 10);
    auth_cache_clear(c);
    cr_assert_not(auth_cache_get(c, HASH_A, 11, &got));
    cr_assert_not(auth_cache_get(c, HASH_B, 11, &got));
    auth_cache_free(c);
}

Test(auth_cache, a_lookup_older_than_a_clear_is_not_cached)
{
    auth_cache *c = auth_cache_new(1000);
    store_principal who = admin_named("ops"), got;
    uint64_t gen = auth_cache_generation(c); /* read before the store lookup */
    auth_cache_clear(c);                     /* e.g. the agent was deleted meanwhile */
    auth_cache_put(c, HASH_A, &who, gen, 10);
    cr_assert_not(auth_cache_get(c, HASH_A, 10, &got));
    auth_cache_put(c, HASH_A, &who, auth_cache_generation(c), 10);
    cr_assert(auth_cache_get(c, HASH_A, 10, &got));
    auth_cache_free(c);
}

Test(auth_cache, null_cache_and_bad_ttl)
{
    store_principal who = admin_named("ops"), got;
    cr_assert_null(auth_cache_new(0));
    cr_assert_not(auth_cache_get(NULL, HASH_A, 1, &got));
    auth_cache_put(NULL, HASH_A, &who, 0, 1);
    auth_cache_clear(NULL);
    cr_assert_eq(auth_cache_generation(NULL), 0);
    auth_cache_free(NULL);
}
