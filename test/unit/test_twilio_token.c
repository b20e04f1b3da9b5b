/* test_twilio_token.c -- softphone access tokens: the JWT's header and claims as decoded,
 * its HS256 signature, its base64url form, the outgoing grant, refusals and the identity. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "telephony/twilio_token.h"

#define ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define KEY "SK0123456789abcdef0123456789abcdef"
#define SECRET "s3cr3t-of-the-api-key"
#define APP "AP0123456789abcdef0123456789abcdef"
#define NOW 1700000000LL

static twilio_config tok_cfg(const char *app)
{
    twilio_config c = {0};
    c.account_sid = ACCOUNT;
    c.api_key_sid = KEY;
    c.api_key_secret = SECRET;
    c.twiml_app_sid = app;
    return c;
}

/* The three dot-separated parts of a token (malloc'd copies). */
typedef struct {
    char *part[3];
} tok_parts;

static tok_parts tok_split(const char *token)
{
    tok_parts p = {{NULL, NULL, NULL}};
    const char *d1 = strchr(token, '.');
    cr_assert_not_null(d1);
    const char *d2 = strchr(d1 + 1, '.');
    cr_assert_not_null(d2);
    cr_assert_null(strchr(d2 + 1, '.'));
    p.part[0] = strndup(token, (size_t)(d1 - token));
    p.part[1] = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
    p.part[2] = strdup(d2 + 1);
    return p;
}

static void tok_parts_free(tok_parts *p)
{
    for (int i = 0; i < 3; i++)
        free(p->part[i]);
}

/* Decodes base64url without padding into a malloc'd NUL-terminated buffer; *len its size. */
static unsigned char *tok_unb64url(const char *s, size_t *len)
{
    size_t n = strlen(s);
    cr_assert_neq(n % 4, 1, "not a base64url length: %zu", n);
    size_t padded = (n + 3) / 4 * 4;
    char *b = calloc(padded + 1, 1);
    for (size_t i = 0; i < n; i++)
        b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    for (size_t i = n; i < padded; i++)
        b[i] = '=';
    unsigned char *out = calloc(padded / 4 * 3 + 1, 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)b, (int)padded);
    cr_assert_geq(got, 0);
    *len = (size_t)got - (padded - n); /* EVP_DecodeBlock counts the padding's zero bytes */
    out[*len] = '\0';
    free(b);
    return out;
}

static json_t *tok_json(const char *part)
{
    size_t len;
    unsigned char *raw = tok_unb64url(part, &len);
    json_error_t e;
    json_t *v = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(v, "bad JSON %s: %s", raw, e.text);
    free(raw);
    return v;
}

static char *tok_make(const char *app, const char *identity)
{
    twilio_config c = tok_cfg(app);
    char *token = NULL;
    cr_assert_eq(twilio_token_make(&c, identity, NOW, TWILIO_TOKEN_TTL_S, &token), ERR_OK);
    cr_assert_not_null(token);
    return token;
}

Test(twilio_token, header_is_twilio_fpa_hs256)
{
    char *token = tok_make(APP, "maria");
    tok_parts p = tok_split(token);
    json_t *h = tok_json(p.part[0]);
    json_t *want =
        json_pack("{s:s, s:s, s:s}", "cty", "twilio-fpa;v=1", "typ", "JWT", "alg", "HS256");
    cr_assert(json_equal(h, want), "header %s", json_dumps(h, JSON_COMPACT));
    json_decref(want);
    json_decref(h);
    tok_parts_free(&p);
    free(token);
}

Test(twilio_token, claims_with_the_outgoing_grant)
{
    char *token = tok_make(APP, "maria");
    tok_parts p = tok_split(token);
    json_t *claims = tok_json(p.part[1]);
    json_t *want = json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:s, s:{s:{s:b}, s:{s:s}}}}", "jti",
                             KEY "-1700000000", "iss", KEY, "sub", ACCOUNT, "iat", NOW, "exp",
                             NOW + 3600, "grants", "identity", "maria", "voice", "incoming",
                             "allow", 1, "outgoing", "application_sid", APP);
    cr_assert(json_equal(claims, want), "claims %s", json_dumps(claims, JSON_COMPACT));
    json_decref(want);
    json_decref(claims);
    tok_parts_free(&p);
    free(token);
}

Test(twilio_token, no_outgoing_grant_without_an_app)
{
    const char *apps[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        char *token = tok_make(apps[i], "maria");
        tok_parts p = tok_split(token);
        json_t *claims = tok_json(p.part[1]);
        json_t *voice = json_object_get(json_object_get(claims, "grants"), "voice");
        json_t *want = json_pack("{s:{s:b}}", "incoming", "allow", 1);
        cr_assert(json_equal(voice, want), "voice %s", json_dumps(voice, JSON_COMPACT));
        json_decref(want);
        json_decref(claims);
        tok_parts_free(&p);
        free(token);
    }
}

Test(twilio_token, signature_is_hmac_sha256_of_header_and_payload)
{
    char *token = tok_make(APP, "maria");
    const char *dot = strrchr(token, '.');
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    cr_assert_not_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)token,
                            (size_t)(dot - token), mac, &mac_len));
    cr_assert_eq(mac_len, 32);
    size_t len;
    unsigned char *sig = tok_unb64url(dot + 1, &len);
    cr_assert_eq(len, 32);
    cr_assert_eq(memcmp(sig, mac, 32), 0);
    cr_assert_eq(strlen(dot + 1), 43); /* 32 bytes, unpadded */
    free(sig);

    /* Another secret gives another signature. */
    twilio_config c = tok_cfg(APP);
    c.api_key_secret = "another secret";
    char *other = NULL;
    cr_assert_eq(twilio_token_make(&c, "maria", NOW, TWILIO_TOKEN_TTL_S, &other), ERR_OK);
    cr_assert_str_neq(strrchr(other, '.'), dot);
    free(other);
    free(token);
}

Test(twilio_token, base64url_has_no_padding_or_standard_characters)
{
    /* Identities of every length modulo 3, and characters whose JSON encodes to bytes that
     * standard base64 writes as '+' or '/' ("???" and "~~~"): between them the tokens must
     * hold both URL-safe replacements. */
    bool minus = false, underscore = false;
    const char *ids[] = {
        "a", "ab", "abc", "?\?\?>>", "~~~~~", "agent.with-dash_1", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char *token = tok_make(i % 2 ? APP : NULL, ids[i]);
        cr_assert_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_."),
                     strlen(token), "token %s", token);
        minus = minus || strchr(token, '-');
        underscore = underscore || strchr(token, '_');
        tok_parts p = tok_split(token);
        json_t *claims = tok_json(p.part[1]);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_object_get(claims, "grants"), "identity")),
            ids[i]);
        json_decref(claims);
        tok_parts_free(&p);
        free(token);
    }
    cr_assert(minus && underscore);
}

Test(twilio_token, refuses_missing_settings_and_bad_input)
{
    char *token = (char *)"untouched";
    twilio_config c = tok_cfg(APP);
    cr_assert_eq(twilio_token_make(&c, "", NOW, 3600, &token), ERR_INVALID);
    cr_assert_null(token);
    cr_assert_eq(twilio_token_make(&c, NULL, NOW, 3600, &token), ERR_INVALID);
    cr_assert_eq(twilio_token_make(&c, "maria", NOW, 0, &token), ERR_INVALID);
    cr_assert_eq(twilio_token_make(&c, "bad \xff utf-8", NOW, 3600, &token), ERR_INVALID);
    cr_assert_null(token);

    char longest[TWILIO_IDENTITY_MAX + 2];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0'; /* one byte too many */
    cr_assert_eq(twilio_token_make(&c, longest, NOW, 3600, &token), ERR_INVALID);
    longest[TWILIO_IDENTITY_MAX] = '\0'; /* exactly the limit */
    cr_assert_eq(twilio_token_make(&c, longest, NOW, 3600, &token), ERR_OK);
    free(token);

    twilio_config no_secret = tok_cfg(APP);
    no_secret.api_key_secret = "";
    cr_assert_eq(twilio_token_make(&no_secret, "maria", NOW, 3600, &token), ERR_INVALID);
    twilio_config no_account = tok_cfg(APP);
    no_account.account_sid = NULL;
    cr_assert_eq(twilio_token_make(&no_account, "maria", NOW, 3600, &token), ERR_INVALID);
    cr_assert_eq(twilio_token_make(NULL, "maria", NOW, 3600, &token), ERR_INVALID);
    cr_assert_null(token);
}

Test(twilio_token, identity_is_what_the_dial_names)
{
    config_agent a = {0};
    snprintf(a.id, sizeof a.id, "%s", "maria");
    a.softphone = SOFTPHONE_CLIENT;
    snprintf(a.softphone_address, sizeof a.softphone_address, "%s", "maria_browser");
    cr_assert_str_eq(twilio_token_identity(&a), "maria_browser");
    a.softphone = SOFTPHONE_SIP;
    snprintf(a.softphone_address, sizeof a.softphone_address, "%s", "sip:maria@pbx.example.com");
    cr_assert_str_eq(twilio_token_identity(&a), "maria");
    a.softphone = SOFTPHONE_NUMBER;
    snprintf(a.softphone_address, sizeof a.softphone_address, "%s", "+15125550100");
    cr_assert_str_eq(twilio_token_identity(&a), "maria");
}
