/* twilio_rest.h -- the one request SureConnect makes to the provider's REST API: redirect a
 * live call to new TwiML (the hand-off of a waiting caller to the agent that freed). */
#ifndef SC_TWILIO_REST_H
#define SC_TWILIO_REST_H

#include <stddef.h>

#include "twilio_config.h"

#define TWILIO_REST_TIMEOUT_MS 5000

/* POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls/{call_sid}.json with the form
 * Url=`twiml_url`&Method=POST, authenticated with the account SID and auth token (HTTP
 * basic), within TWILIO_REST_TIMEOUT_MS. Returns the HTTP status (200 when the provider
 * took it), or -1 on a network error, with a one-line detail in err. */
long twilio_rest_redirect(const twilio_config *cfg, const char *call_sid, const char *twiml_url,
                          char *err, size_t errlen);

#endif
