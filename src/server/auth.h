/* auth.h -- API secrets (SPEC 6): making new admin keys and agent tokens, and the one-way
 * hash under which the store keeps them. */
#ifndef SC_AUTH_H
#define SC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_SECRET_MAX 80 /* a prefix, '_' and 64 hex digits, NUL */
#define AUTH_HASH_HEX 65   /* 64 hex digits of SHA-256, NUL */
#define AUTH_PREFIX_ADMIN "sck"
#define AUTH_PREFIX_AGENT "sca"

/* Writes a new secret "PREFIX_<64 hex digits>" (32 bytes from OpenSSL's RAND_bytes) into
 * out. Returns false when no random bytes could be had or out is too small. */
bool auth_new_secret(const char *prefix, char *out, size_t cap);

/* Writes the SHA-256 of `secret` as 64 lowercase hex digits into hex. Returns false on an
 * OpenSSL failure. */
bool auth_hash(const char *secret, char hex[AUTH_HASH_HEX]);

#endif
