/* twilio_signature.c -- X-Twilio-Signature with OpenSSL's HMAC-SHA1 and Base64. */
#include "twilio_signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define TWILIO_URL_MAX 2048

static int twilio_param_cmp(const void *a, const void *b)
{
    const twilio_param *x = *(const twilio_param *const *)a, *y = *(const twilio_param *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Copies s to p (the buffer was sized for it) and returns the end. */
static char *twilio_append(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

bool twilio_signature(const char *auth_token, const char *url, const twilio_param *params, size_t n,
                      char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bool ok = false;
    if (!auth_token || !url || (n && !params) || cap < 29) /* Base64 of 20 bytes, NUL */
        return false;
    size_t len = strlen(url);
    const twilio_param **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return false;
    for (size_t i = 0; i < n; i++) {
        sorted[i] = &params[i];
        len += strlen(params[i].name) + strlen(params[i].value);
    }
    qsort(sorted, n, sizeof *sorted, twilio_param_cmp);
    char *data = malloc(len + 1), *p = data;
    if (!data)
        goto out_free;
    p = twilio_append(p, url);
    for (size_t i = 0; i < n; i++)
        p = twilio_append(twilio_append(p, sorted[i]->name), sorted[i]->value);
    if (HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)data,
             (size_t)(p - data), mac, &mac_len)) {
        EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
        ok = true;
    }
out_free:
    free(data);
    free(sorted);
    return ok;
}

/* The other spelling of url's default port: with ":443"/":80" removed when present, added
 * when absent. Returns false when the URL has a port that is not the default, or no
 * http(s) scheme. */
static bool twilio_other_port(const char *url, char *out, size_t cap)
{
    const char *def = strncmp(url, "https://", 8) == 0  ? ":443"
                      : strncmp(url, "http://", 7) == 0 ? ":80"
                                                        : NULL;
    if (!def)
        return false;
    const char *host = strstr(url, "://") + 3;
    size_t host_len = strcspn(host, "/?#");
    const char *colon = memchr(host, ':', host_len);
    size_t pre = (size_t)(host - url);
    int n;
    if (colon) {
        if ((size_t)(host + host_len - colon) != strlen(def) ||
            strncmp(colon, def, strlen(def)) != 0)
            return false;
        n = snprintf(out, cap, "%.*s%s", (int)(colon - url), url, host + host_len);
    } else {
        n = snprintf(out, cap, "%.*s%s%s", (int)(pre + host_len), url, def, host + host_len);
    }
    return n > 0 && (size_t)n < cap;
}

/* Constant-time comparison of the expected signature with the one presented. */
static bool twilio_same(const char *expected, const char *given)
{
    size_t n = strlen(expected);
    return strlen(given) == n && CRYPTO_memcmp(expected, given, n) == 0;
}

bool twilio_signature_valid(const char *auth_token, const char *url, const twilio_param *params,
                            size_t n, const char *signature)
{
    char want[96], other[TWILIO_URL_MAX];
    if (!signature || !signature[0] || !auth_token || !auth_token[0] || !url)
        return false;
    bool ok = twilio_signature(auth_token, url, params, n, want, sizeof want) &&
              twilio_same(want, signature);
    if (!ok && twilio_other_port(url, other, sizeof other))
        ok = twilio_signature(auth_token, other, params, n, want, sizeof want) &&
             twilio_same(want, signature);
    return ok;
}
