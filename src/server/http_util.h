/* http_util.h -- what every API handler shares: the request as a handler sees it, JSON
 * replies, the one error shape {"error": {"code", "message", "field"}}, strict body and
 * field readers, and structured log lines. Independent of the HTTP library. */
#ifndef SC_HTTP_UTIL_H
#define SC_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/rng.h"
#include "../store/store.h"

#define HTTP_BODY_MAX (1024u * 1024u) /* bytes of a request body (413 above) */
#define HTTP_MAX_PARAMS 2

struct server_metrics;
struct route_writer;
struct events_bus;
struct twilio_config;

/* One field of a form-encoded body (application/x-www-form-urlencoded), decoded. */
typedef struct {
    const char *name;
    const char *value;
} http_form_field;

/* Looks up a query argument of the request; NULL when absent. Set by the server. */
typedef const char *(*http_query_fn)(void *conn, const char *key);

/* A long poll (GET /v1/calls/{id}?wait=): the server keeps it between the passes of the
 * handler over one request (a waiting request is suspended, then run again when woken). */
typedef struct {
    int64_t until_ms; /* deadline, monotonic (http_mono_us() / 1000); 0: not waiting */
    int status;       /* the reference status (a call_status; -1 until known) */
} http_wait;

/* One request as a handler sees it, and the reply it builds. The server owns it. */
typedef struct http_req {
    /* in */
    const char *method;
    const char *path;
    const char *params[HTTP_MAX_PARAMS]; /* the {id} parts of the path, in order */
    const char *body;                    /* NUL-terminated; "" when none */
    size_t body_len;
    const char *content_type; /* NULL when absent */
    store *st;                /* this thread's store connection */
    const rng_source *rng;    /* this thread's random source */
    struct server_metrics *metrics;
    struct route_writer *writer; /* group commit of routes and ends; NULL: route directly */
    store_principal who;         /* the authenticated caller (kind 0 on public routes) */
    int64_t now_ms;
    http_query_fn query;
    http_query_fn header; /* looks up a request header the same way */
    void *conn;
    /* out */
    int status;
    json_t *reply;                      /* JSON body (owned), or NULL */
    char *text;                         /* a non-JSON body (owned, malloc'd), or NULL */
    const char *text_type;              /* its content type */
    char error_code[40];                /* for the request log: the error code answered, "" none */
    struct events_bus *events;          /* where handlers publish events for the SSE streams */
    struct auth_cache *auth_cache;      /* verified credentials (cleared on config changes) */
    const struct twilio_config *twilio; /* the telephony adapter's settings (never NULL) */
    const http_form_field *form;        /* a form-encoded body's fields in body order, else NULL */
    size_t n_form;
    bool form_bad;            /* the body claimed to be a form but could not be parsed */
    bool stream;              /* set by a stream handler: answer with an event stream */
    const char *stream_agent; /* the agent of that stream, NULL for the dashboards' one */
    /* in and out: the long poll so far (until_ms 0 on the first pass). A handler that leaves
     * until_ms > 0 with its reply asks the server to hold the request until woken; the reply
     * is sent instead when the request cannot wait. */
    http_wait wait;
    /* in and out: work for the group-commit writer (route_writer.h). A handler that sets
     * `job` and `finish` without a reply asks the server to hand the job to the writer and
     * hold the request meanwhile, so the thread serves other connections; once the job is
     * done the server calls `finish` with `job` set (and the request's params, principal and
     * clock) to build the reply. The server frees the job afterwards. */
    struct route_writer_job *job;
    void (*finish)(struct http_req *rq);
} http_req;

/* The value of form field `name` (the first when repeated), or NULL. */
const char *http_form_get(const http_req *rq, const char *name);

/* Sets a JSON reply; steals `body` (NULL answers 500 out_of_memory). */
void http_reply(http_req *rq, int status, json_t *body);

/* Sets the error reply {"error": {"code", "message", "field"}} (field null when NULL). */
__attribute__((format(printf, 5, 6))) void http_error(http_req *rq, int status, const char *code,
                                                      const char *field, const char *fmt, ...);

/* Maps a store or service error to a reply: ERR_NOT_FOUND 404 not_found, ERR_CONFLICT 409
 * conflict, ERR_INVALID 422 invalid_input, ERR_NOMEM/ERR_STORE 500/503. `what` names the
 * thing for the message ("agent \"x\""). */
void http_store_error(http_req *rq, int err, const char *what, const char *field);

/* True when the request declared a JSON body (application/json, optionally with
 * parameters such as charset). */
bool http_is_json_type(const char *content_type);

/* Parses the body strictly as one JSON object (duplicate keys rejected). An empty body
 * gives an empty object when `optional`, else 400 missing_body. Keys outside the
 * NULL-terminated `allowed` list (NULL: any) answer 400 unknown_field. On failure the
 * error reply is set and NULL returned; otherwise a new reference the caller decrefs. */
json_t *http_body_object(http_req *rq, bool optional, const char *const *allowed);

/* Field readers for request bodies. A missing field leaves *out untouched and returns true
 * unless `required` (400 missing_field). A wrong type answers 400 invalid_type. A value
 * out of range answers 422 invalid_input. They return false when a reply was set. */
bool http_field_str(http_req *rq, const json_t *obj, const char *key, bool required, bool nullable,
                    const char **out);
bool http_field_int(http_req *rq, const json_t *obj, const char *key, bool required, long long min,
                    long long max, long long *out);

/* True when s is printable text (no C0/C1 controls or DEL) of 1..max bytes. */
bool http_printable(const char *s, size_t max);

/* Reads a query argument as an integer in [min, max]; `def` when absent. On a bad value
 * answers 400 invalid_input naming the parameter and returns false. */
bool http_query_int(http_req *rq, const char *key, long long def, long long min, long long max,
                    long long *out);

/* Unix time in milliseconds, and a monotonic clock in microseconds. */
int64_t http_now_ms(void);
int64_t http_mono_us(void);

/* Writes one structured log line to stderr: "ts=... event=EVENT" then the pairs of
 * `kv` (key, value, key, value, ..., NULL); values are quoted when they need it. Values
 * may be NULL (written as -). Thread-safe (one write per line). */
void http_log(const char *event, ...);

/* Formats a long long into a caller buffer (for http_log values). */
const char *http_fmt_ll(char *buf, size_t cap, long long v);

#endif
