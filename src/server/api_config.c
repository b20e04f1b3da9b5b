/* api_config.c -- GET and PUT /v1/config: the whole configuration in the import format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/config_json.h"
#include "api.h"
#include "auth_cache.h"
#include "events.h"

void api_config_error(http_req *rq, const char *path, const char *message, const char *strip)
{
    const char *field = path && path[0] ? path : NULL;
    size_t n = strip ? strlen(strip) : 0;
    if (field && n && strncmp(field, strip, n) == 0)
        field = field[n] == '.' ? field + n + 1 : field[n] ? field + n : NULL;
    if (strcmp(message, "required field is missing") == 0)
        http_error(rq, 400, "missing_field", field, "%s", message);
    else if (strcmp(message, "unknown field") == 0)
        http_error(rq, 400, "unknown_field", field, "%s", message);
    else if (strncmp(message, "must be ", 8) == 0 && strstr(message, ", not "))
        http_error(rq, 400, "invalid_type", field, "%s", message);
    else if (strstr(message, "must be a JSON object, not"))
        http_error(rq, 400, "invalid_type", field, "%s", message);
    else if (strcmp(message, "out of memory") == 0)
        http_error(rq, 500, "out_of_memory", NULL, "%s", message);
    else
        http_error(rq, 422, "invalid_input", field, "%s", message);
}

void api_config_changed(http_req *rq)
{
    /* An agent (and its tokens) may be gone: no cached credential outlives the change. */
    auth_cache_clear(rq->auth_cache);
    events_publish(rq->events, "config.updated", NULL, true,
                   json_pack("{s:s, s:s}", "method", rq->method, "path", rq->path), rq->now_ms);
}

void api_config_get(http_req *rq)
{
    config *cfg = NULL;
    int rc = store_config_load(rq->st, &cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return;
    }
    http_reply(rq, 200, config_json_dump(cfg));
    config_free(cfg);
}

bool api_config_parse(http_req *rq, config **out)
{
    config_json_error jerr;
    *out = NULL;
    json_t *root = http_body_object(rq, false, NULL);
    if (!root)
        return false;
    int rc = config_json_from_value(root, out, &jerr);
    if (rc != ERR_OK)
        api_config_error(rq, jerr.path, jerr.message[0] ? jerr.message : errors_str(rc), NULL);
    json_decref(root);
    return rc == ERR_OK;
}

void api_config_put(http_req *rq)
{
    config *cfg = NULL;
    if (!api_config_parse(rq, &cfg))
        return;
    int rc = store_config_replace(rq->st, cfg, NULL, 0);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        goto out_free_config;
    }
    api_config_changed(rq);
    http_reply(rq, 200, config_json_dump(cfg));
out_free_config:
    config_free(cfg);
}

bool api_config_apply(http_req *rq, const config *cur, api_config_edit_fn edit, void *arg,
                      const char *strip, bool conflict, config **next)
{
    config_json_error jerr;
    *next = NULL;
    json_t *doc = config_json_dump(cur);
    if (!doc) {
        http_reply(rq, 500, NULL);
        return false;
    }
    if (!edit(rq, cur, doc, arg))
        goto out_free;
    int rc = config_json_from_value(doc, next, &jerr);
    if (rc != ERR_OK) {
        if (conflict)
            http_error(rq, 409, "conflict", jerr.path[0] ? jerr.path : NULL,
                       "the rest of the configuration does not allow this: %s", jerr.message);
        else
            api_config_error(rq, jerr.path, jerr.message[0] ? jerr.message : errors_str(rc), strip);
    }
out_free:
    json_decref(doc);
    return *next != NULL;
}

bool api_config_edit(http_req *rq, api_config_edit_fn edit, void *arg, const char *strip,
                     bool conflict)
{
    config *cur = NULL, *next = NULL;
    bool ok = false;
    int rc = store_begin(rq->st);
    if (rc < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        return false;
    }
    if ((rc = store_config_load(rq->st, &cur, NULL, 0)) < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        goto out_rollback;
    }
    if (!api_config_apply(rq, cur, edit, arg, strip, conflict, &next))
        goto out_rollback;
    if ((rc = store_config_replace(rq->st, next, NULL, 0)) < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        goto out_rollback;
    }
    if ((rc = store_commit(rq->st)) < 0) {
        http_store_error(rq, rc, "the configuration", NULL);
        goto out_rollback;
    }
    api_config_changed(rq);
    ok = true;
    goto out_free;
out_rollback:
    store_rollback(rq->st);
out_free:
    config_free(next);
    config_free(cur);
    return ok;
}

int api_config_find(const json_t *arr, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *x = json_string_value(json_object_get(v, "id"));
        if (x && id && strcmp(x, id) == 0)
            return (int)i;
    }
    return -1;
}

bool api_config_element_edit(http_req *rq, const config *cur, json_t *doc, void *arg)
{
    api_element *e = arg;
    (void)cur;
    json_t *arr = json_object_get(doc, e->collection);
    int j;
    if (!e->id) {
        const char *id = json_string_value(json_object_get(e->body, "id"));
        if (id && api_config_find(arr, id) >= 0) {
            http_error(rq, 409, "already_exists", "id", "%s \"%.64s\" already exists", e->kind, id);
            return false;
        }
        j = (int)json_array_size(arr);
        if (json_array_append(arr, e->body) != 0) {
            http_reply(rq, 500, NULL);
            return false;
        }
    } else {
        j = api_config_find(arr, e->id);
        if (j < 0) {
            http_error(rq, 404, "not_found", "id", "%s \"%.64s\" does not exist", e->kind, e->id);
            return false;
        }
        if (json_object_update(json_array_get(arr, (size_t)j), e->body) != 0) {
            http_reply(rq, 500, NULL);
            return false;
        }
    }
    snprintf(e->strip, sizeof e->strip, "%s[%d]", e->collection, j);
    return true;
}
