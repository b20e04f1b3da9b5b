/* server.c -- the HTTP daemon: one accept thread (listener) spreading connections over
 * single-threaded libmicrohttpd daemons, routing of requests to the API handlers, bearer-token
 * auth, per-thread store connections, logs and graceful stop. */
#include "server.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#include "api.h"
#include "auth.h"
#include "auth_cache.h"
#include "call_watch.h"
#include "events.h"
#include "form_body.h"
#include "http_util.h"
#include "listener.h"
#include "queue_dispatcher.h"
#include "route_writer.h"
#include "server_alerts.h"
#include "sse.h"
#include "static_files.h"
#include "twilio_handoff.h"

#define SERVER_DRAIN_MS 10000    /* how long a stop waits for requests in flight */
#define SERVER_IDLE_TIMEOUT_S 60 /* idle keep-alive connections are closed after this */
#define SERVER_PATH_MAX 512      /* longer paths are answered 404 */
#define SERVER_MAX_SEGMENTS 8
#define SERVER_BODY_INITIAL 4096
#define SERVER_WRITER_QUEUE 1024 /* routes and ends waiting for a group commit (503 above) */
#define SERVER_THREADS_MAX 64    /* --threads at most */

const double server_latency_bounds[SERVER_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 0};

void server_metrics_route(server_metrics *m, int action, int lost_claims, long long us)
{
    if (!m || action < 0 || action >= SERVER_N_ACTIONS)
        return;
    atomic_fetch_add(&m->routed[action], 1);
    atomic_fetch_add(&m->claim_conflicts, lost_claims);
    int b = 0;
    while (b < SERVER_LATENCY_BUCKETS - 1 && (double)us / 1e6 > server_latency_bounds[b])
        b++;
    atomic_fetch_add(&m->latency_bucket[b], 1);
    atomic_fetch_add(&m->latency_count, 1);
    atomic_fetch_add(&m->latency_sum_us, us);
}

/* Who may call a route. */
typedef enum {
    SERVER_PUBLIC, /* no credentials */
    SERVER_ADMIN,  /* an admin API key */
    SERVER_SELF,   /* an admin key, or the token of the agent named by the first {id} */
    SERVER_CALL,   /* an admin key, or the token of the agent the call {id} is offered to */
    SERVER_OWN     /* an admin key, or an agent token for its own view (?agent=its id on
                    * /v1/calls; the handler of a callback's completion checks the agent) */
} server_auth;

typedef struct {
    const char *method;
    const char *pattern; /* "{}" stands for one path segment, passed as a parameter */
    server_auth auth;
    void (*handler)(http_req *rq);
} server_route;

static const server_route server_routes[] = {
    {"GET", "/healthz", SERVER_PUBLIC, api_ops_healthz},
    {"GET", "/readyz", SERVER_PUBLIC, api_ops_readyz},
    {"GET", "/metrics", SERVER_PUBLIC, api_ops_metrics},
    {"GET", "/v1/agents", SERVER_ADMIN, api_agents_list},
    {"POST", "/v1/agents", SERVER_ADMIN, api_agents_create},
    {"GET", "/v1/agents/{}", SERVER_SELF, api_agents_get},
    {"PATCH", "/v1/agents/{}", SERVER_SELF, api_agents_update},
    {"DELETE", "/v1/agents/{}", SERVER_ADMIN, api_agents_delete},
    {"POST", "/v1/agents/{}/presence", SERVER_SELF, api_agents_presence_set},
    {"DELETE", "/v1/agents/{}/presence", SERVER_SELF, api_agents_presence_clear},
    {"GET", "/v1/agents/{}/events", SERVER_SELF, api_events_agent},
    {"GET", "/v1/agents/{}/softphone-token", SERVER_SELF, api_softphone_token},
    {"GET", "/v1/events", SERVER_ADMIN, api_events_all},
    {"GET", "/v1/campaigns", SERVER_ADMIN, api_campaigns_list},
    {"POST", "/v1/campaigns", SERVER_ADMIN, api_campaigns_create},
    {"GET", "/v1/campaigns/{}", SERVER_ADMIN, api_campaigns_get},
    {"PATCH", "/v1/campaigns/{}", SERVER_ADMIN, api_campaigns_update},
    {"DELETE", "/v1/campaigns/{}", SERVER_ADMIN, api_campaigns_delete},
    {"GET", "/v1/config", SERVER_ADMIN, api_config_get},
    {"PUT", "/v1/config", SERVER_ADMIN, api_config_put},
    {"POST", "/v1/calls", SERVER_ADMIN, api_calls_create},
    {"GET", "/v1/calls", SERVER_OWN, api_calls_list},
    {"GET", "/v1/calls/{}", SERVER_ADMIN, api_calls_get},
    {"POST", "/v1/calls/{}/answered", SERVER_CALL, api_calls_answered},
    {"POST", "/v1/calls/{}/no-answer", SERVER_CALL, api_calls_no_answer},
    {"POST", "/v1/calls/{}/ended", SERVER_CALL, api_calls_ended},
    {"GET", "/v1/queues", SERVER_ADMIN, api_queues_list},
    {"GET", "/v1/queues/{}", SERVER_ADMIN, api_queues_get},
    {"GET", "/v1/callbacks", SERVER_OWN, api_calls_callbacks_list},
    {"POST", "/twilio/voice", SERVER_PUBLIC, api_twilio_voice},
    {"POST", "/twilio/status", SERVER_PUBLIC, api_twilio_status},
    {"POST", "/twilio/dial/{}/{}", SERVER_PUBLIC, api_twilio_dial},
    {"POST", "/twilio/answered/{}", SERVER_PUBLIC, api_twilio_answered},
    {"POST", "/twilio/wait/{}", SERVER_PUBLIC, api_twilio_wait},
    {"POST", "/twilio/queue/{}", SERVER_PUBLIC, api_twilio_queue},
    {"POST", "/twilio/connect/{}", SERVER_PUBLIC, api_twilio_connect},
    {"POST", "/v1/callbacks/{}/complete", SERVER_OWN, api_calls_callback_complete},
};

#define SERVER_N_ROUTES ((int)(sizeof server_routes / sizeof server_routes[0]))

/* What each request thread keeps: its own store connection and random source. */
typedef struct server_worker {
    store *st;
    rng_splitmix gen;
    rng_source rng;
    struct server_worker *next;
} server_worker;

typedef struct {
    const char *db;
    server_metrics metrics;
    pthread_key_t key;
    pthread_mutex_t lock; /* guards workers */
    server_worker *workers;
    atomic_int in_flight;
    atomic_bool stopping; /* set before the drain: writer jobs run without suspending */
    route_writer *writer; /* group commit of POST /v1/calls and /v1/calls/{id}/ended */
    events_bus *bus;      /* events for the SSE streams */
    auth_cache *auth;     /* verified credentials, AUTH_CACHE_TTL_MS */
    sse *streams;
    call_watch *watch; /* long polls waiting for a call to change */
    const twilio_config *twilio;
    twilio_handoff *handoff; /* Twilio hand-offs from the queue; NULL when Twilio is off */
    const char *web_root;    /* the web pages' folder; NULL: pages answer 404 */
} server_state;

/* One request's state between the calls of the access handler. */
typedef struct {
    char *body;
    size_t len, cap;
    bool too_large;
    int64_t t0_us;
    sse_stream *stream; /* when the request became an event stream */
    http_wait wait;     /* a long poll's deadline and reference status, between passes */
    int wake;           /* why the long poll was last resumed (call_watch_reason) */
    unsigned long long watch_ticket; /* its call_watch registration while suspended; 0 none */
    form_body form;                  /* a form body's fields */
    route_writer_job *job;           /* a job with the writer while suspended (http_req.job) */
    void (*finish)(http_req *rq);    /* what builds the reply once the job is done */
    store_principal who;             /* who asked, for the reply's pass and the log */
} server_conn;

/* ---- per-thread store ---------------------------------------------------------------- */

static server_worker *server_worker_get(server_state *s)
{
    char errbuf[STORE_ERR_MAX] = "";
    uint64_t seed = 0;
    server_worker *w = pthread_getspecific(s->key);
    if (w)
        return w;
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (store_open(s->db, &w->st, errbuf, sizeof errbuf) != ERR_OK) {
        http_log("store_error", "message", errbuf, NULL);
        free(w);
        return NULL;
    }
    if (RAND_bytes((unsigned char *)&seed, (int)sizeof seed) != 1)
        seed = (uint64_t)http_mono_us() ^ (uint64_t)(uintptr_t)w;
    w->rng = rng_splitmix_source(&w->gen, seed);
    pthread_mutex_lock(&s->lock);
    w->next = s->workers;
    s->workers = w;
    pthread_mutex_unlock(&s->lock);
    pthread_setspecific(s->key, w);
    return w;
}

static void server_workers_close(server_state *s)
{
    pthread_mutex_lock(&s->lock);
    server_worker *w = s->workers;
    s->workers = NULL;
    pthread_mutex_unlock(&s->lock);
    while (w) {
        server_worker *next = w->next;
        store_close(w->st);
        free(w);
        w = next;
    }
}

/* The calling thread's store, for the event streams (sse_store_fn). */
static store *server_thread_store(void *arg)
{
    server_worker *w = server_worker_get(arg);
    return w ? w->st : NULL;
}

/* ---- routing --------------------------------------------------------------------------- */

/* Splits path (modified in place) into segments; returns their number, or -1 when too
 * many or an empty segment. */
static int server_split(char *path, char **seg)
{
    int n = 0;
    if (path[0] != '/')
        return -1;
    char *p = path + 1;
    if (!*p)
        return 0;
    for (;;) {
        if (n == SERVER_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (!*p)
            return -1;
    }
    for (int i = 0; i < n; i++)
        if (!seg[i][0])
            return -1;
    return n;
}

/* True when the segments match the route's pattern; parameters go to params. */
static bool server_match(const char *pattern, char **seg, int n, const char **params)
{
    char buf[128];
    char *pseg[SERVER_MAX_SEGMENTS];
    int np = 0;
    snprintf(buf, sizeof buf, "%s", pattern);
    np = server_split(buf, pseg);
    if (np != n)
        return false;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(pseg[i], "{}") == 0) {
            if (k < HTTP_MAX_PARAMS)
                params[k++] = seg[i];
        } else if (strcmp(pseg[i], seg[i]) != 0) {
            return false;
        }
    }
    return true;
}

/* An agent token on a call's route: allowed when the call is offered to (or held by) that
 * agent; 404 for an unknown call, as for an admin. Sets the reply when refused. */
static bool server_authorize_call(http_req *rq)
{
    store_call call;
    int rc = store_call_get(rq->st, rq->params[0], &call);
    if (rc == ERR_NOT_FOUND) {
        http_error(rq, 404, "not_found", "id", "call \"%.32s\" does not exist", rq->params[0]);
        return false;
    }
    if (rc < 0) {
        http_store_error(rq, rc, "the call", "id");
        return false;
    }
    bool mine = strcmp(call.agent, rq->who.agent) == 0;
    store_call_clear(&call);
    if (!mine)
        http_error(rq, 403, "forbidden", NULL,
                   "an agent token may act only on calls offered to its own agent");
    return mine;
}

/* Checks the bearer credentials for `auth`. Returns true when allowed; otherwise the reply
 * (401 or 403) is set. */
static bool server_authorize(http_req *rq, struct MHD_Connection *c, server_auth auth)
{
    static const char bearer[] = "Bearer ";
    char hash[AUTH_HASH_HEX];
    if (auth == SERVER_PUBLIC)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, bearer, sizeof bearer - 1) != 0) {
        http_error(rq, 401, "unauthorized", NULL,
                   "send an API key or agent token as Authorization: Bearer ...");
        return false;
    }
    const char *secret = h + sizeof bearer - 1;
    if (strlen(secret) >= AUTH_SECRET_MAX || !secret[0] || !auth_hash(secret, hash)) {
        http_error(rq, 401, "unauthorized", NULL, "unknown or revoked credentials");
        return false;
    }
    /* A credential the store verified less than AUTH_CACHE_TTL_MS ago needs no read; the
     * time and generation are taken before the lookup, so an entry is never younger than
     * the database state it came from. */
    int64_t t_ms = http_mono_us() / 1000;
    int rc = ERR_OK;
    if (!auth_cache_get(rq->auth_cache, hash, t_ms, &rq->who)) {
        uint64_t gen = auth_cache_generation(rq->auth_cache);
        rc = store_auth_lookup(rq->st, hash, &rq->who);
        if (rc == ERR_OK)
            auth_cache_put(rq->auth_cache, hash, &rq->who, gen, t_ms);
    }
    if (rc == ERR_NOT_FOUND) {
        http_error(rq, 401, "unauthorized", NULL, "unknown or revoked credentials");
        return false;
    }
    if (rc < 0) {
        http_store_error(rq, rc, "the credentials", NULL);
        return false;
    }
    if (rq->who.kind == STORE_PRINCIPAL_ADMIN)
        return true;
    if (auth == SERVER_SELF && rq->params[0] && strcmp(rq->params[0], rq->who.agent) == 0)
        return true;
    if (auth == SERVER_CALL && rq->params[0])
        return server_authorize_call(rq);
    if (auth == SERVER_OWN) {
        const char *agent = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "agent");
        if (strcmp(rq->path, "/v1/calls") != 0 || (agent && strcmp(agent, rq->who.agent) == 0))
            return true;
        http_error(rq, 403, "forbidden", "agent",
                   "an agent token may list only its own calls (agent=%s)", rq->who.agent);
        return false;
    }
    http_error(rq, 403, "forbidden", NULL,
               auth == SERVER_SELF ? "an agent token may act only on its own agent"
                                   : "this route needs an admin API key");
    return false;
}

static const char *server_query(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *server_header(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, key);
}

/* True for paths of the API's namespaces, which never name a web page. */
static bool server_api_path(const char *path)
{
    static const char *const prefixes[] = {"/v1", "/twilio", "/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return true;
    }
    return false;
}

/* Finds the route and runs it, or sets 404/405/401/403/413. Returns true, with no reply
 * set, when no route matches and the path is outside the API: a web page request. */
static bool server_dispatch(server_state *s, struct MHD_Connection *c, server_conn *sc,
                            http_req *rq, char *path_buf, char *allow, size_t allow_cap)
{
    char *seg[SERVER_MAX_SEGMENTS];
    int n = strlen(rq->path) < SERVER_PATH_MAX ? server_split(path_buf, seg) : -1;
    const server_route *route = NULL;
    bool path_known = false;
    for (int i = 0; n >= 0 && i < SERVER_N_ROUTES && !route; i++) {
        const char *params[HTTP_MAX_PARAMS] = {NULL, NULL};
        if (!server_match(server_routes[i].pattern, seg, n, params))
            continue;
        path_known = true;
        if (strcmp(server_routes[i].method, rq->method) == 0) {
            route = &server_routes[i];
            memcpy(rq->params, params, sizeof params);
        } else {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "",
                     server_routes[i].method);
        }
    }
    if (!route) {
        if (!path_known && !server_api_path(rq->path))
            return true;
        if (path_known)
            http_error(rq, 405, "method_not_allowed", NULL, "%s is not allowed here", rq->method);
        else
            http_error(rq, 404, "not_found", NULL, "no such endpoint");
        return false;
    }
    allow[0] = '\0';
    for (int i = 0; i < HTTP_MAX_PARAMS; i++) {
        if (rq->params[i] && (strlen(rq->params[i]) >= CONFIG_ID_MAX ||
                              !http_printable(rq->params[i], CONFIG_ID_MAX))) {
            http_error(rq, 404, "not_found", "id", "no such id");
            return false;
        }
    }
    server_worker *w = server_worker_get(s);
    if (!w) {
        http_error(rq, 503, "storage_error", NULL, "the database cannot be opened");
        return false;
    }
    rq->st = w->st;
    rq->rng = &w->rng;
    if (!server_authorize(rq, c, route->auth))
        return false;
    if (sc->too_large) {
        http_error(rq, 413, "payload_too_large", NULL, "the body is larger than %u bytes",
                   HTTP_BODY_MAX);
        return false;
    }
    route->handler(rq);
    return false;
}

/* Answers an accepted stream request with the event stream; 503 JSON when it cannot. */
static enum MHD_Result server_respond_stream(server_state *s, struct MHD_Connection *c,
                                             server_conn *sc, http_req *rq)
{
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    struct MHD_Response *resp =
        sse_open(s->streams, c, rq->stream_agent, last, rq->now_ms, &sc->stream);
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Serialises the reply and queues it. */
static enum MHD_Result server_respond(struct MHD_Connection *c, http_req *rq, const char *allow)
{
    struct MHD_Response *resp;
    const char *type = "application/json";
    char *text;
    size_t len;
    if (rq->text) {
        text = rq->text;
        rq->text = NULL;
        type = rq->text_type;
    } else {
        text = rq->reply ? json_dumps(rq->reply, JSON_COMPACT) : NULL;
        if (!text) {
            rq->status = 500;
            text = strdup("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\","
                          "\"field\":null}}");
            if (!text)
                return MHD_NO;
        }
    }
    len = strlen(text);
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rq->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result r = MHD_queue_response(c, (unsigned int)rq->status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Answers a web page request (GET or HEAD) from the web root: the file with its content
 * type, Cache-Control: no-cache and an ETag (304 when the client's copy is current), a plain
 * 404 otherwise, 405 for other methods. Sets rq->status for the log. */
static enum MHD_Result server_respond_page(server_state *s, struct MHD_Connection *c, http_req *rq)
{
    static const char not_found[] = "not found\n";
    static_reply page;
    struct MHD_Response *resp;
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
        page.status = 405;
        page.body = NULL;
    } else if (static_files_get(
                   s->web_root, rq->path,
                   MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
                   &page) != 0) {
        rq->status = 500;
        return MHD_NO;
    }
    rq->status = page.status;
    if (page.status == 200) {
        resp = MHD_create_response_from_buffer(page.len, page.body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            static_reply_clear(&page);
            return MHD_NO;
        }
        page.body = NULL; /* the response owns it now */
    } else if (page.status == 304) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (page.status == 200 || page.status == 304) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, page.type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, page.etag);
        /* Revalidate every time: edits to the files show at the next load, and an unchanged
         * file costs a 304. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        /* The agent console's Twilio mode: the vendored Voice SDK talks to Twilio's
         * signalling and event servers and fetches its ring tones (docs/WEB.md). */
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; "
                                "connect-src 'self' https://*.twilio.com wss://*.twilio.com; "
                                "media-src 'self' https://*.twilio.com; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (page.status == 405)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    enum MHD_Result r = MHD_queue_response(c, (unsigned int)page.status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Appends an upload chunk to the body, or marks it too large (the rest is discarded). */
static void server_take_body(server_conn *sc, const char *data, size_t n)
{
    if (sc->too_large)
        return;
    if (sc->len + n > HTTP_BODY_MAX) {
        sc->too_large = true;
        free(sc->body);
        sc->body = NULL;
        sc->len = sc->cap = 0;
        return;
    }
    if (sc->len + n + 1 > sc->cap) {
        size_t cap = sc->cap ? sc->cap : SERVER_BODY_INITIAL;
        while (cap < sc->len + n + 1)
            cap *= 2;
        if (cap > HTTP_BODY_MAX + 1)
            cap = HTTP_BODY_MAX + 1;
        char *nb = realloc(sc->body, cap);
        if (!nb) {
            sc->too_large = true; /* cannot hold it: answer as if too large */
            return;
        }
        sc->body = nb;
        sc->cap = cap;
    }
    memcpy(sc->body + sc->len, data, n);
    sc->len += n;
    sc->body[sc->len] = '\0';
}

/* ---- form bodies ------------------------------------------------------------------- */

/* libmicrohttpd's form parser calls this per piece of a field: a new field when off is 0,
 * else more of the value of the field before. */
static enum MHD_Result server_form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *filename, const char *content_type,
                                         const char *transfer_encoding, const char *data,
                                         uint64_t off, size_t size)
{
    server_conn *sc = cls;
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    return form_body_piece(&sc->form, key, data, off, size) ? MHD_YES : MHD_NO;
}

/* Parses a form-encoded body (once per request) with libmicrohttpd's form parser. */
static void server_parse_form(struct MHD_Connection *c, server_conn *sc, const char *type)
{
    static const char form_type[] = "application/x-www-form-urlencoded";
    if (sc->form.fields || sc->form.bad || !type ||
        strncasecmp(type, form_type, sizeof form_type - 1))
        return;
    struct MHD_PostProcessor *pp = MHD_create_post_processor(c, 4096, server_form_field, sc);
    if (!pp || (sc->len && MHD_post_process(pp, sc->body, sc->len) != MHD_YES))
        sc->form.bad = true;
    if (pp)
        MHD_destroy_post_processor(pp);
    form_body_done(&sc->form);
}

/* Suspends and resumes a long poll's connection (call_watch callbacks). */
static void server_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void server_resume(void *conn)
{
    MHD_resume_connection(conn);
}

/* A long poll asks to wait: registers it with the call watch, which suspends the
 * connection; the access handler runs again when it is resumed. `seq` is the call watch's
 * count of events before the handler read the call. Returns false when it cannot wait (its
 * client went away, too many waiters, stopping): the reply built for now is sent. */
static bool server_wait(server_state *s, struct MHD_Connection *c, server_conn *sc,
                        const http_req *rq, unsigned long long seq)
{
    if (sc->wake == CALL_WATCH_GONE || !rq->params[0])
        return false;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    sc->wait = rq->wait;
    return call_watch_add(s->watch, rq->params[0], rq->wait.until_ms, seq, c,
                          ci ? ci->connect_fd : -1, &sc->wake, &sc->watch_ticket) == 0;
}

/* The writer is done with a suspended request's job: its handler runs again (finish). */
static void server_job_done(void *conn)
{
    MHD_resume_connection(conn);
}

/* A handler left a job for the writer (http_req.job): keeps it with the connection and
 * suspends the connection until the writer calls back, so this thread serves others
 * meanwhile. The suspension comes first: the writer may finish before submit returns. When
 * the writer refuses the job (full), the connection is resumed at once and the next pass
 * answers 503. While the daemon stops, the job runs here instead (no new suspensions
 * after the drain). Returns true when the request is held; false when rq has its reply. */
static bool server_hold_job(server_state *s, struct MHD_Connection *c, server_conn *sc,
                            http_req *rq)
{
    if (atomic_load(&s->stopping)) {
        route_writer_run(s->writer, rq->job);
        rq->finish(rq);
        route_writer_job_free(rq->job);
        rq->job = NULL;
        return false;
    }
    sc->job = rq->job;
    sc->finish = rq->finish;
    sc->who = rq->who;
    MHD_suspend_connection(c);
    if (route_writer_submit(s->writer, sc->job, server_job_done, c) != ERR_OK)
        MHD_resume_connection(c);
    return true;
}

static enum MHD_Result server_access(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    server_state *s = cls;
    server_conn *sc = *con_cls;
    char path_buf[SERVER_PATH_MAX];
    char usbuf[24], stbuf[8];
    char allow[64] = "";
    (void)version;
    if (!sc) {
        sc = calloc(1, sizeof *sc);
        if (!sc)
            return MHD_NO;
        sc->t0_us = http_mono_us();
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX)
            sc->too_large = true;
        atomic_fetch_add(&s->in_flight, 1);
        *con_cls = sc;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        server_take_body(sc, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    http_req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = url;
    rq.body = sc->body ? sc->body : "";
    rq.body_len = sc->len;
    rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    rq.metrics = &s->metrics;
    rq.writer = s->writer;
    rq.now_ms = http_now_ms();
    rq.query = server_query;
    rq.header = server_header;
    rq.conn = c;
    rq.events = s->bus;
    rq.auth_cache = s->auth;
    rq.twilio = s->twilio;
    server_parse_form(c, sc, rq.content_type);
    rq.form = sc->form.fields;
    rq.n_form = sc->form.n;
    rq.form_bad = sc->form.bad;
    rq.wait = sc->wait;
    enum MHD_Result r = MHD_NO;
    if (sc->job) {
        /* Resumed: the writer is done with the job; the handler's finish builds the reply. */
        server_worker *w = server_worker_get(s);
        rq.st = w ? w->st : NULL;
        rq.rng = w ? &w->rng : NULL;
        rq.who = sc->who;
        rq.job = sc->job;
        sc->finish(&rq);
        route_writer_job_free(sc->job);
        sc->job = rq.job = NULL;
        r = server_respond(c, &rq, NULL);
        goto out_log;
    }
    unsigned long long watch_seq = call_watch_seq(s->watch);
    snprintf(path_buf, sizeof path_buf, "%s", url);
    bool page = server_dispatch(s, c, sc, &rq, path_buf, allow, sizeof allow);
    if (page) {
        r = server_respond_page(s, c, &rq);
        goto out_log;
    }
    if (rq.job && !rq.reply && !rq.text && server_hold_job(s, c, sc, &rq))
        return MHD_YES; /* logged on the pass that answers */
    if (rq.wait.until_ms > 0 && (rq.reply || rq.text) && server_wait(s, c, sc, &rq, watch_seq)) {
        /* Suspended: this pass's reply is dropped, the next pass builds a new one. */
        json_decref(rq.reply);
        free(rq.text);
        return MHD_YES;
    }
    if (rq.stream && !rq.reply && !rq.text) {
        r = server_respond_stream(s, c, sc, &rq);
        if (r == MHD_NO && !sc->stream)
            http_error(&rq, 503, "unavailable", NULL, "the event stream cannot be opened");
    }
    if (!rq.stream || rq.reply) {
        if (!rq.reply && !rq.text)
            http_error(&rq, 500, "internal_error", NULL, "the handler gave no reply");
        r = server_respond(c, &rq, allow[0] ? allow : NULL);
    }
out_log:
    atomic_fetch_add(&s->metrics.requests, 1);
    http_log("request", "method", method, "path", url, "status",
             http_fmt_ll(stbuf, sizeof stbuf, rq.status), "error",
             rq.error_code[0] ? rq.error_code : NULL, "principal",
             rq.who.kind == STORE_PRINCIPAL_ADMIN   ? rq.who.name
             : rq.who.kind == STORE_PRINCIPAL_AGENT ? rq.who.agent
                                                    : NULL,
             "us", http_fmt_ll(usbuf, sizeof usbuf, http_mono_us() - sc->t0_us), NULL);
    route_writer_job_free(rq.job); /* a job left beside a reply (not held) */
    json_decref(rq.reply);
    free(rq.text);
    return r;
}

static void server_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    server_state *s = cls;
    server_conn *sc = *con_cls;
    (void)c;
    (void)toe;
    if (!sc)
        return;
    sse_completed(s->streams, sc->stream);
    call_watch_cancel(s->watch, sc->watch_ticket); /* normally gone already (resumed) */
    route_writer_job_free(sc->job);                /* normally gone already (answered) */
    form_body_free(&sc->form);
    free(sc->body);
    free(sc);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---- start and stop -------------------------------------------------------------------- */

/* Keeps glibc's allocator from handing freed heap memory back to the kernel after every
 * request: by default each thread's heap is trimmed (madvise) as soon as its free top passes
 * 128 KiB and allocations above a moving threshold are mmap'd and unmapped one by one, so
 * every batch of the writer and every reply refaulted the same pages (about 12 minor page
 * faults per route-and-end pair, ~10% of the daemon's CPU under load, docs/PERFORMANCE.md).
 * The thresholds below keep up to SERVER_MALLOC_KEEP of free memory per heap instead;
 * larger blocks than SERVER_MALLOC_MMAP still get their own mapping. */
#define SERVER_MALLOC_KEEP (64 * 1024 * 1024)
#define SERVER_MALLOC_MMAP (16 * 1024 * 1024)

static void server_tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, SERVER_MALLOC_KEEP);
    mallopt(M_MMAP_THRESHOLD, SERVER_MALLOC_MMAP);
#endif
}

/* Waits until no request is in flight or SERVER_DRAIN_MS passed. */
static void server_drain(server_state *s)
{
    for (int waited = 0; waited < SERVER_DRAIN_MS && atomic_load(&s->in_flight) > 0; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int server_run(const server_options *opts)
{
    server_state s;
    listener *lst = NULL;
    struct MHD_Daemon *d[SERVER_THREADS_MAX] = {NULL};
    char errbuf[STORE_ERR_MAX] = "";
    char addr[300], nbuf[24];
    sigset_t sigs;
    store *st = NULL;
    int rc = 1, sig = 0;
    memset(&s, 0, sizeof s);
    s.db = opts->db;
    s.twilio = &opts->twilio;
    s.web_root = opts->web_root && opts->web_root[0] ? opts->web_root : NULL;
    if (opts->threads < 1 || opts->threads > SERVER_THREADS_MAX) {
        fprintf(stderr, "sureconnect: serve: --threads must be between 1 and 64\n");
        return 1;
    }
    /* Bound before anything starts: a bad or busy address fails at once. */
    if (listener_open(opts->listen, &lst, errbuf, sizeof errbuf) != ERR_OK) {
        fprintf(stderr, "sureconnect: serve: %s\n", errbuf);
        return 1;
    }
    server_tune_malloc(); /* before any thread starts */
    /* Migrations and the count reconciliation (SPEC 5) run once, before serving. */
    if (store_open(opts->db, &st, errbuf, sizeof errbuf) != ERR_OK) {
        fprintf(stderr, "sureconnect: serve: cannot open database %s: %s\n", opts->db, errbuf);
        goto out_free_listener;
    }
    int fixed = store_reconcile_counts(st);
    store_close(st);
    if (fixed < 0) {
        fprintf(stderr, "sureconnect: serve: cannot reconcile agent call counts: %s\n",
                errors_str(fixed));
        goto out_free_listener;
    }
    if (pthread_key_create(&s.key, NULL) != 0)
        goto out_free_listener;
    pthread_mutex_init(&s.lock, NULL);
    /* Every thread started from here on (the stream ticker, the writer, the pool) inherits
     * this mask: only sigwait below sees SIGTERM and SIGINT. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.bus = events_bus_new(0, http_now_ms());
    s.auth = auth_cache_new(AUTH_CACHE_TTL_MS);
    if (!s.auth) {
        fprintf(stderr, "sureconnect: serve: out of memory\n");
        goto out_destroy;
    }
    /* Before anything else uses the bus: the long polls' tap is added unlocked. */
    s.watch =
        s.bus ? call_watch_new(s.bus, CALL_WATCH_MAX_DEFAULT, server_suspend, server_resume) : NULL;
    if (!s.watch) {
        fprintf(stderr, "sureconnect: serve: cannot start the long polls\n");
        goto out_destroy;
    }
    /* The alerts' tap too (Discord, away from the request threads). */
    s.metrics.alerts =
        s.bus ? server_alerts_start(s.bus, opts->db, opts->discord_webhook, opts->alert_interval_s)
              : NULL;
    if (!s.metrics.alerts) {
        fprintf(stderr, "sureconnect: serve: cannot start the alerts\n");
        goto out_destroy;
    }
    /* The queue dispatcher's tap too; its first pass handles the waits that ran out while
     * the daemon was down. */
    s.metrics.queue = queue_dispatcher_start(opts->db, s.bus, (int64_t)opts->max_connected_s * 1000,
                                             errbuf, sizeof errbuf);
    if (!s.metrics.queue) {
        fprintf(stderr, "sureconnect: serve: cannot start the queue dispatcher: %s\n", errbuf);
        goto out_destroy;
    }
    /* The Twilio hand-offs' tap (only when the webhooks are configured). */
    s.handoff = twilio_handoff_start(&opts->twilio, opts->db, s.bus, errbuf, sizeof errbuf);
    s.metrics.handoff = s.handoff;
    if (!s.handoff && errbuf[0]) {
        fprintf(stderr, "sureconnect: serve: cannot start the Twilio hand-offs: %s\n", errbuf);
        goto out_destroy;
    }
    s.streams = s.bus ? sse_new(s.bus, opts->db, server_thread_store, &s) : NULL;
    if (!s.streams) {
        fprintf(stderr, "sureconnect: serve: cannot start the event streams\n");
        goto out_destroy;
    }
    if (route_writer_open(opts->db, SERVER_WRITER_QUEUE, &s.writer, errbuf, sizeof errbuf) < 0) {
        fprintf(stderr, "sureconnect: serve: cannot start the call writer: %s\n", errbuf);
        goto out_destroy;
    }
    /* One single-threaded daemon per request thread, without a listening socket of its
     * own: the listener accepts and hands the connections to them in turn. (A pool of
     * libmicrohttpd's own lets every worker accept from the shared socket, and connections
     * opened together pile up on the worker that wakes first.) */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    for (int i = 0; i < opts->threads; i++) {
        d[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, server_access, &s, MHD_OPTION_NOTIFY_COMPLETED, server_completed,
            &s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_IDLE_TIMEOUT_S, MHD_OPTION_END);
        if (!d[i]) {
            fprintf(stderr, "sureconnect: serve: cannot start the HTTP threads: %s\n",
                    errno ? strerror(errno) : "libmicrohttpd refused to start");
            goto out_stop_daemons;
        }
    }
    if (listener_start(lst, (unsigned int)opts->threads, listener_to_mhd, d) != ERR_OK) {
        fprintf(stderr, "sureconnect: serve: cannot start the accept thread\n");
        goto out_stop_daemons;
    }
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(opts->listen, ':') - opts->listen),
             opts->listen);
    snprintf(addr, sizeof addr, "%s:%u", host, listener_port(lst));
    http_log("listening", "addr", addr, "db", opts->db, "threads",
             http_fmt_ll(nbuf, sizeof nbuf, opts->threads), "reconciled",
             http_fmt_ll(errbuf, sizeof errbuf, fixed), "web_root", s.web_root, NULL);
    while (sigwait(&sigs, &sig) != 0)
        ;
    http_log("stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    /* Stop accepting (the accept thread ends, the socket is closed: no connection is added
     * after this), let requests in flight finish, then stop the threads. */
    listener_stop(lst);
    /* From here on writer jobs run without suspending their connection: a request that
     * could still suspend one is already counted in flight, and the drain waits for it. */
    atomic_store(&s.stopping, true);
    /* Event streams end now (their suspended connections are resumed and finish). */
    sse_shutdown(s.streams);
    call_watch_shutdown(s.watch); /* long polls answer now, with the call as it is */
    server_drain(&s);
    for (int i = 0; i < opts->threads; i++) {
        MHD_stop_daemon(d[i]);
        d[i] = NULL;
    }
    unsigned long batches = 0, requests = 0;
    route_writer_stats(s.writer, &batches, &requests);
    char bbuf[24], rbuf[24];
    http_log("writer", "batches", http_fmt_ll(bbuf, sizeof bbuf, (long long)batches), "requests",
             http_fmt_ll(rbuf, sizeof rbuf, (long long)requests), NULL);
    rc = 0;
out_stop_daemons:
    /* After a failed start; a normal stop has done this already. The listener first:
     * nothing is added to a stopped daemon. */
    listener_stop(lst);
    for (int i = 0; i < opts->threads; i++)
        if (d[i])
            MHD_stop_daemon(d[i]);
out_destroy:
    route_writer_close(s.writer); /* after the pool: nobody submits any more */
    sse_free(s.streams);
    queue_dispatcher_stop(s.metrics.queue); /* before the alerts: its events reach their tap */
    twilio_handoff_stop(s.handoff);
    server_alerts_stop(s.metrics.alerts); /* bounded: a send in progress is aborted */
    events_bus_free(s.bus);
    auth_cache_free(s.auth);
    call_watch_free(s.watch); /* after the bus: nothing publishes to its tap any more */
    server_workers_close(&s);
    pthread_mutex_destroy(&s.lock);
    pthread_key_delete(s.key);
    if (rc == 0)
        http_log("stopped", NULL);
out_free_listener:
    listener_free(lst);
    return rc;
}
