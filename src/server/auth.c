/* auth.c -- new API secrets from OpenSSL's random source, and their SHA-256 hashes. */
#include "auth.h"

#include <pthread.h>
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

/* SHA-256 fetched from the provider once: EVP_sha256() makes every digest look the
 * algorithm up again (a locked property query), which was most of a hash's cost in the
 * daemon, where every request hashes its bearer secret. Kept for the process's life. */
static EVP_MD *auth_sha256_md;
static pthread_once_t auth_sha256_once = PTHREAD_ONCE_INIT;

static void auth_sha256_fetch(void)
{
    auth_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *auth_sha256(void)
{
    pthread_once(&auth_sha256_once, auth_sha256_fetch);
    return auth_sha256_md ? auth_sha256_md : EVP_sha256();
}

bool auth_hash(const char *secret, char hex[AUTH_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!secret || EVP_Digest(secret, strlen(secret), md, &len, auth_sha256(), NULL) != 1 ||
        len != 32)
        return false;
    auth_hex(md, len, hex);
    return true;
}
