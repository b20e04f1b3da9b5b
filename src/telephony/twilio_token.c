/* twilio_token.c -- access tokens for Twilio's Voice JavaScript SDK: JSON header and claims
 * with jansson, base64url (no padding) from OpenSSL's EVP_EncodeBlock, HMAC-SHA256 from
 * OpenSSL. Pure apart from OpenSSL: the time is passed in. */
#include "twilio_token.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../core/errors.h"

static bool tok_set(const char *s)
{
    return s && s[0];
}

const char *twilio_token_identity(const config_agent *a)
{
    if (a->softphone == SOFTPHONE_CLIENT && a->softphone_address[0])
        return a->softphone_address;
    return a->id;
}

/* base64url of `len` bytes without padding, malloc'd and NUL-terminated; NULL when out of
 * memory. EVP_EncodeBlock writes standard base64 with padding and no line breaks; the
 * alphabet's two differing characters are swapped and the padding cut. */
static char *tok_b64url(const unsigned char *data, size_t len)
{
    if (len > (size_t)INT_MAX / 4 * 3 - 3)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

/* Compact JSON of `v`, base64url encoded (malloc'd), or NULL when out of memory. */
static char *tok_b64url_json(const json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (!text)
        return NULL;
    char *enc = tok_b64url((const unsigned char *)text, strlen(text));
    free(text);
    return enc;
}

/* The voice grant: incoming calls to the identity, outgoing through the TwiML app if any. */
static json_t *tok_voice_grant(const twilio_config *c)
{
    json_t *voice = json_pack("{s:{s:b}}", "incoming", "allow", 1);
    if (voice && tok_set(c->twiml_app_sid) &&
        json_object_set_new(voice, "outgoing",
                            json_pack("{s:s}", "application_sid", c->twiml_app_sid)) != 0) {
        json_decref(voice);
        return NULL;
    }
    return voice;
}

/* The claims of a token, in the order of Twilio's libraries (jti, grants, iat, exp, iss,
 * sub); steals `identity`. NULL when out of memory. */
static json_t *tok_claims(const twilio_config *c, json_t *identity, int64_t now_s, int ttl_s)
{
    json_t *grants = json_object();
    if (!grants) {
        json_decref(identity);
        return NULL;
    }
    if (json_object_set_new(grants, "identity", identity) ||
        json_object_set_new(grants, "voice", tok_voice_grant(c))) {
        json_decref(grants);
        return NULL;
    }
    json_t *claims = json_object();
    bool bad = !claims ||
               json_object_set_new(claims, "jti",
                                   json_sprintf("%s-%lld", c->api_key_sid, (long long)now_s)) ||
               json_object_set(claims, "grants", grants) ||
               json_object_set_new(claims, "iat", json_integer(now_s)) ||
               json_object_set_new(claims, "exp", json_integer(now_s + ttl_s)) ||
               json_object_set_new(claims, "iss", json_string(c->api_key_sid)) ||
               json_object_set_new(claims, "sub", json_string(c->account_sid));
    json_decref(grants);
    if (bad) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

int twilio_token_make(const twilio_config *c, const char *identity, int64_t now_s, int ttl_s,
                      char **out)
{
    int rc = ERR_NOMEM;
    char *head = NULL, *body = NULL, *input = NULL, *sig = NULL;
    *out = NULL;
    if (!twilio_tokens_enabled(c) || !tok_set(identity) || strlen(identity) > TWILIO_IDENTITY_MAX ||
        strlen(c->api_key_secret) > INT_MAX || ttl_s < 1 || now_s < 0 || now_s > INT64_MAX - ttl_s)
        return ERR_INVALID;
    /* jansson refuses a string that is not UTF-8, which is what Twilio expects. */
    json_t *id = json_string(identity);
    if (!id)
        return ERR_INVALID;
    json_t *header =
        json_pack("{s:s, s:s, s:s}", "cty", "twilio-fpa;v=1", "typ", "JWT", "alg", "HS256");
    json_t *claims = tok_claims(c, id, now_s, ttl_s);
    head = tok_b64url_json(header);
    body = tok_b64url_json(claims);
    if (!head || !body)
        goto out_free;

    /* The signature covers "header.payload" as sent. */
    size_t hlen = strlen(head), blen = strlen(body);
    input = malloc(hlen + 1 + blen + 1);
    if (!input)
        goto out_free;
    memcpy(input, head, hlen);
    input[hlen] = '.';
    memcpy(input + hlen + 1, body, blen + 1);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), c->api_key_secret, (int)strlen(c->api_key_secret),
              (const unsigned char *)input, hlen + 1 + blen, mac, &mac_len))
        goto out_free;
    sig = tok_b64url(mac, mac_len);
    if (!sig)
        goto out_free;

    size_t ilen = hlen + 1 + blen, slen = strlen(sig);
    char *token = malloc(ilen + 1 + slen + 1);
    if (!token)
        goto out_free;
    memcpy(token, input, ilen);
    token[ilen] = '.';
    memcpy(token + ilen + 1, sig, slen + 1);
    *out = token;
    rc = ERR_OK;
out_free:
    free(sig);
    free(input);
    free(body);
    free(head);
    json_decref(claims);
    json_decref(header);
    return rc;
}
