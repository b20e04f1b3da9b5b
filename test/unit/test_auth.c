/* test_auth.c -- API secrets: their format, randomness and SHA-256 hashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "server/auth.h"

Test(auth, new_secret_has_prefix_and_64_hex_digits)
{
    char a[AUTH_SECRET_MAX], b[AUTH_SECRET_MAX];
    cr_assert(auth_new_secret(AUTH_PREFIX_ADMIN, a, sizeof a));
    cr_assert(auth_new_secret(AUTH_PREFIX_ADMIN, b, sizeof b));
    cr_assert_eq(strlen(a), 4 + 64);
    cr_assert_eq(strncmp(a, "sck_", 4), 0);
    cr_assert_eq(strspn(a + 4, "0123456789abcdef"), 64);
    cr_assert_str_neq(a, b);
}

Test(auth, new_secret_refuses_a_small_buffer)
{
    char small[20];
    cr_assert_not(auth_new_secret(AUTH_PREFIX_AGENT, small, sizeof small));
}

Test(auth, hash_is_sha256_hex)
{
    char hex[AUTH_HASH_HEX];
    cr_assert(auth_hash("abc", hex));
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert(auth_hash("", hex));
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
