/* twilio_signature.h -- the check of a provider request's X-Twilio-Signature: Base64 of
 * HMAC-SHA1, keyed with the account's auth token, over the full URL followed by the POST
 * parameters sorted by name (each name then its value, no separators). */
#ifndef SC_TWILIO_SIGNATURE_H
#define SC_TWILIO_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

/* One form parameter (decoded). */
typedef struct {
    const char *name;
    const char *value;
} twilio_param;

/* Computes the signature of `url` and `params` (any order: they are sorted here, by name
 * then value, byte order) into out (Base64, NUL-terminated; 29 bytes are enough). Returns
 * false when out of memory or out is too small. */
bool twilio_signature(const char *auth_token, const char *url, const twilio_param *params, size_t n,
                      char *out, size_t cap);

/* True when `signature` is the signature of the request, for `url` as given or with its
 * default port added or removed (https 443, http 80), as Twilio's own libraries accept.
 * Compared in constant time. A NULL or empty signature is never valid. */
bool twilio_signature_valid(const char *auth_token, const char *url, const twilio_param *params,
                            size_t n, const char *signature);

#endif
