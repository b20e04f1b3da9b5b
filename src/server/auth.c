/* auth.c -- new API secrets from OpenSSL's random source, and their SHA-256 hashes. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define AUTH_RANDOM_BYTES 32

static void auth_hex(const unsigned char *raw, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * n] = '\0';
}

bool auth_new_secret(const char *prefix, char *out, size_t cap)
{
    unsigned char raw[AUTH_RANDOM_BYTES];
    char hex[2 * AUTH_RANDOM_BYTES + 1];
    if (!prefix || !out || cap < strlen(prefix) + 2 + sizeof hex - 1)
        return false;
    if (RAND_bytes(raw, (int)sizeof raw) != 1)
        return false;
    auth_hex(raw, sizeof raw, hex);
    int n = snprintf(out, cap, "%s_%s", prefix, hex);
    return n > 0 && (size_t)n < cap;
}

bool auth_hash(const char *secret, char hex[AUTH_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!secret || EVP_Digest(secret, strlen(secret), md, &len, EVP_sha256(), NULL) != 1 ||
        len != 32)
        return false;
    auth_hex(md, len, hex);
    return true;
}
