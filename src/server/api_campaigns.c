/* api_campaigns.c -- /v1/campaigns: campaigns with their tracking numbers and rules (members
 * inside the rules), in the import format; list, create, get, update, delete. Every change
 * goes through api_config_edit(), so it is validated exactly as an import is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/config_json.h"
#include "api.h"

static const char *const campaigns_fields[] = {"id",
                                               "name",
                                               "default_category",
                                               "ring_timeout_s",
                                               "queue",
                                               "friendly_message",
                                               "discord_webhook_url",
                                               "tracking_numbers",
                                               "rules",
                                               NULL};

/* Replies with the stored campaign `id` (status `status`), or with {"campaigns": [...]}
 * when id is NULL. */
static void campaigns_reply(http_req *rq, int status, const char *id)
{
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    json_t *doc = config_json_dump(cfg);
    json_t *arr = json_object_get(doc, "campaigns");
    if (!doc || !arr) {
        http_reply(rq, 500, NULL);
    } else if (!id) {
        http_reply(rq, status, json_pack("{s:O}", "campaigns", arr));
    } else {
        int j = api_config_find(arr, id);
        if (j < 0)
            http_error(rq, 404, "not_found", "id", "campaign \"%.64s\" does not exist", id);
        else
            http_reply(rq, status, json_incref(json_array_get(arr, (size_t)j)));
    }
    json_decref(doc);
    config_free(cfg);
}

void api_campaigns_list(http_req *rq)
{
    campaigns_reply(rq, 200, NULL);
}

void api_campaigns_get(http_req *rq)
{
    campaigns_reply(rq, 200, rq->params[0]);
}

json_t *api_campaigns_parse(http_req *rq, const char *id)
{
    json_t *body = http_body_object(rq, false, campaigns_fields);
    if (!body || !id)
        return body;
    json_t *v = json_object_get(body, "id");
    if (v && !(json_is_string(v) && strcmp(json_string_value(v), id) == 0)) {
        http_error(rq, 422, "invalid_input", "id", "a campaign's id cannot be changed");
        json_decref(body);
        return NULL;
    }
    return body;
}

void api_campaigns_create(http_req *rq)
{
    api_element e = {"campaigns", "campaign", NULL, NULL, ""};
    e.body = api_campaigns_parse(rq, NULL);
    if (!e.body)
        return;
    if (api_config_edit(rq, api_config_element_edit, &e, e.strip, false))
        campaigns_reply(rq, 201, json_string_value(json_object_get(e.body, "id")));
    json_decref(e.body);
}

void api_campaigns_update(http_req *rq)
{
    api_element a = {"campaigns", "campaign", rq->params[0], NULL, ""};
    a.body = api_campaigns_parse(rq, a.id);
    if (!a.body)
        return;
    if (api_config_edit(rq, api_config_element_edit, &a, a.strip, false))
        campaigns_reply(rq, 200, a.id);
    json_decref(a.body);
}

static bool campaigns_delete_edit(http_req *rq, const config *cur, json_t *doc, void *arg)
{
    const char *id = arg;
    (void)cur;
    json_t *arr = json_object_get(doc, "campaigns");
    int j = api_config_find(arr, id);
    if (j < 0) {
        http_error(rq, 404, "not_found", "id", "campaign \"%.64s\" does not exist", id);
        return false;
    }
    json_array_remove(arr, (size_t)j);
    return true;
}

void api_campaigns_delete(http_req *rq)
{
    if (api_config_edit(rq, campaigns_delete_edit, (void *)rq->params[0], NULL, true))
        http_reply(rq, 200, json_pack("{s:s, s:b}", "id", rq->params[0], "deleted", 1));
}
