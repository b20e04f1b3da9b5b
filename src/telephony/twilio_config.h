/* twilio_config.h -- the settings of the Twilio-compatible telephony adapter (issue 5): the
 * public base URL the provider calls, the account and its auth token (webhook signatures,
 * REST calls), the REST API base, and the API key and TwiML app for softphone tokens. */
#ifndef SC_TWILIO_CONFIG_H
#define SC_TWILIO_CONFIG_H

#include <stdbool.h>

#define TWILIO_API_BASE_DEFAULT "https://api.twilio.com"

/* Every field is NULL or "" when not set (strings are borrowed from argv or the
 * environment for the life of the process). */
typedef struct twilio_config {
    const char *public_url;     /* e.g. "https://calls.example.com" (no trailing slash needed) */
    const char *account_sid;    /* AC + 32 hex */
    const char *auth_token;     /* the account's auth token (signs webhooks, REST auth) */
    const char *api_base;       /* REST API base; TWILIO_API_BASE_DEFAULT when unset */
    const char *api_key_sid;    /* SK + 32 hex (softphone tokens) */
    const char *api_key_secret; /* its secret */
    const char *twiml_app_sid;  /* AP + 32 hex (outgoing calls from the softphone) */
} twilio_config;

/* True when the voice webhooks can run: a public URL and an auth token to check the
 * signatures with (the account SID is needed too, for hand-offs through the REST API). */
bool twilio_webhooks_enabled(const twilio_config *c);

/* True when softphone tokens can be made: account SID, API key SID and secret. */
bool twilio_tokens_enabled(const twilio_config *c);

/* True when `sid` is `prefix` (two letters) followed by 32 lowercase or uppercase hex
 * digits, the shape of every Twilio SID. */
bool twilio_sid_ok(const char *sid, const char *prefix);

#endif
