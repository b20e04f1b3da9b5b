/* twilio_token.h -- access tokens for Twilio's Voice JavaScript SDK: a JWT signed HS256 with
 * an API key secret, carrying the agent's client identity and a voice grant (docs/TWILIO.md). */
#ifndef SC_TWILIO_TOKEN_H
#define SC_TWILIO_TOKEN_H

#include <stdint.h>

#include "../core/config.h"
#include "twilio_config.h"

/* Lifetime of a softphone token in seconds: one hour, Twilio's libraries' default. The
 * browser fetches a new one when the SDK's Device emits `tokenWillExpire`. */
#define TWILIO_TOKEN_TTL_S 3600

/* Longest client identity Twilio accepts (in bytes). */
#define TWILIO_IDENTITY_MAX 121

/* The client identity of agent `a`: the identity a browser registers with must equal the
 * name an inbound call's <Dial><Client> names, so it is the softphone address when the
 * agent's softphone type is `client`, and the agent id otherwise (such an agent is rung at
 * its SIP address or number; a browser token still lets it place calls). Never NULL; the
 * string belongs to `a`. */
const char *twilio_token_identity(const config_agent *a);

/* Makes an access token for `identity` from the settings in `c` (account SID, API key SID
 * and secret; the TwiML app SID, when set, adds the outgoing grant), issued at `now_s`
 * (Unix seconds) and expiring `ttl_s` seconds later. The claims are those of Twilio's own
 * libraries: jti "<API key SID>-<now_s>", iss, sub, iat, exp and grants {identity, voice}.
 * Returns 0 and a NUL-terminated token in *out, which the caller frees with free();
 * ERR_INVALID when a required setting or the identity is missing, too long or not UTF-8,
 * or ttl_s < 1; ERR_NOMEM when out of memory or OpenSSL failed. *out is NULL on error. */
int twilio_token_make(const twilio_config *c, const char *identity, int64_t now_s, int ttl_s,
                      char **out);

#endif
