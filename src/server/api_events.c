/* api_events.c -- the two Server-Sent Events endpoints: an agent console's stream (GET
 * /v1/agents/{id}/events, admin key or that agent's token) and the dashboards' stream (GET
 * /v1/events, admin key). The handlers only check the request; the server turns an accepted
 * one into a stream (sse.c) fed by the event bus (events.c). */
#include "api.h"

void api_events_agent(http_req *rq)
{
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    if (config_find_agent(cfg, rq->params[0]) < 0)
        http_error(rq, 404, "not_found", "id", "agent \"%.64s\" does not exist", rq->params[0]);
    else {
        rq->stream = true;
        rq->stream_agent = rq->params[0];
        rq->status = 200;
    }
    config_free(cfg);
}

void api_events_all(http_req *rq)
{
    rq->stream = true;
    rq->stream_agent = NULL;
    rq->status = 200;
}
