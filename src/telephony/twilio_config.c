/* twilio_config.c -- checks of the Twilio adapter's settings. */
#include "twilio_config.h"

#include <ctype.h>
#include <string.h>

static bool twilio_set(const char *s)
{
    return s && s[0];
}

bool twilio_webhooks_enabled(const twilio_config *c)
{
    return c && twilio_set(c->public_url) && twilio_set(c->auth_token) &&
           twilio_set(c->account_sid);
}

bool twilio_tokens_enabled(const twilio_config *c)
{
    return c && twilio_set(c->account_sid) && twilio_set(c->api_key_sid) &&
           twilio_set(c->api_key_secret);
}

bool twilio_sid_ok(const char *sid, const char *prefix)
{
    if (!sid || !prefix || strlen(sid) != 34 || strncmp(sid, prefix, 2) != 0)
        return false;
    for (int i = 2; i < 34; i++)
        if (!isxdigit((unsigned char)sid[i]))
            return false;
    return true;
}
