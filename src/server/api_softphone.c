/* api_softphone.c -- GET /v1/agents/{id}/softphone-token: an access token for Twilio's
 * Voice JavaScript SDK, so the agent's browser can register as the client identity that
 * inbound calls dial (docs/TWILIO.md). */
#include <stdlib.h>
#include <string.h>

#include "../core/errors.h"
#include "../telephony/twilio_config.h"
#include "../telephony/twilio_token.h"
#include "api.h"

void api_softphone_token(http_req *rq)
{
    if (!twilio_tokens_enabled(rq->twilio)) {
        http_error(rq, 503, "not_configured", NULL,
                   "softphone tokens need --twilio-account-sid, --twilio-api-key-sid and "
                   "--twilio-api-key-secret");
        return;
    }
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    int idx = config_find_agent(cfg, rq->params[0]);
    if (idx < 0) {
        http_error(rq, 404, "not_found", "id", "agent \"%.64s\" does not exist", rq->params[0]);
        goto out_free_cfg;
    }
    const char *identity = twilio_token_identity(&cfg->agents[idx]);
    if (strlen(identity) > TWILIO_IDENTITY_MAX) {
        http_error(rq, 409, "conflict", "softphone.address",
                   "the softphone address is longer than the %d bytes Twilio accepts as a "
                   "client identity",
                   TWILIO_IDENTITY_MAX);
        goto out_free_cfg;
    }
    int64_t now_s = rq->now_ms / 1000;
    char *token = NULL;
    rc = twilio_token_make(rq->twilio, identity, now_s, TWILIO_TOKEN_TTL_S, &token);
    if (rc != ERR_OK) {
        http_error(rq, 500, errors_code(rc), NULL, "could not make the token: %s", errors_str(rc));
        goto out_free_cfg;
    }
    /* expires_at is in Unix milliseconds like every time of the API; the token's exp claim
     * is the same instant in seconds. */
    http_reply(rq, 200,
               json_pack("{s:s, s:s, s:I}", "token", token, "identity", identity, "expires_at",
                         (json_int_t)(now_s + TWILIO_TOKEN_TTL_S) * 1000));
    free(token);
out_free_cfg:
    config_free(cfg);
}
