/* test_route_writer.c -- the daemon's group commit (server/route_writer): many threads route
 * and end calls through one writer against agents with small limits; counts never exceed
 * the limits, every answered call is recorded exactly once, every end releases once. The
 * scenario is test/race/race_scenarios.c, which the ThreadSanitizer driver runs too. */
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "codec/config_json.h"
#include "race/race_scenarios.h"
#include "router_fixture.h"
#include "server/route_writer.h"
#include "store/store.h"
#include "temp_db.h"

#define RW_ROUTES_PER_THREAD 250

static temp_db rw_db;

static void rw_setup(void)
{
    temp_db_make(&rw_db, "rw", true);
}

static void rw_teardown(void)
{
    temp_db_remove(&rw_db);
}

TestSuite(route_writer, .init = rw_setup, .fini = rw_teardown, .timeout = 120);

Test(route_writer, many_threads_group_commit_within_limits_each_call_once)
{
    race_result r;
    bool ok = race_route_writer(rw_db.path, RW_ROUTES_PER_THREAD, &r);
    cr_log_info("route_writer: %s", r.info);
    cr_assert(ok, "%s", r.error);
}

Test(route_writer, unknown_call_and_close_of_null)
{
    store *st = NULL;
    char err[STORE_ERR_MAX] = "";
    cr_assert_eq(store_open(rw_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    route_writer *w = NULL;
    cr_assert_eq(route_writer_open(rw_db.path, 1, &w, err, sizeof err), ERR_OK, "%s", err);
    cr_assert_eq(route_writer_end(w, "nope", FX_NOW, NULL), ERR_NOT_FOUND);
    route_writer_close(w);
    route_writer_close(NULL);
    store_close(st);
}

/* What the callback of a submitted job saw. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    bool done_set; /* the job's answer was set before the callback */
    route_writer_job *job;
} rw_seen;

static void rw_seen_done(void *arg)
{
    rw_seen *s = arg;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    s->done_set = s->job->done;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Submits `job` and waits for its callback; returns the number of callbacks. */
static int rw_submit_and_wait(route_writer *w, route_writer_job *job, rw_seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->job = job;
    cr_assert_eq(route_writer_submit(w, job, rw_seen_done, s), ERR_OK);
    pthread_mutex_lock(&s->lock);
    while (s->calls == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    route_writer_stats(w, NULL, NULL); /* the writer's lock: its batch is over */
    pthread_mutex_lock(&s->lock);
    int calls = s->calls;
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    return calls;
}

Test(route_writer, submitted_jobs_are_called_back_once_with_their_answer)
{
    static const char cfg_json[] =
        "{\"agents\": [{\"id\": \"a1\", \"name\": \"Ann\", \"max_concurrent\": 1}],"
        "\"campaigns\": [{\"id\": \"sales\", \"name\": \"sales\","
        " \"tracking_numbers\": [{\"number\": \"+18005550100\"}],"
        " \"rules\": [{\"id\": \"all\", \"name\": \"all\", \"mode\": \"priority\","
        " \"members\": [{\"agent\": \"a1\"}]}]}]}";
    char err[STORE_ERR_MAX] = "";
    route_writer *w = NULL;
    rw_seen seen;
    store *st = NULL;
    config *cfg = NULL;
    config_json_error jerr;
    cr_assert_eq(store_open(rw_db.path, &st, err, sizeof err), ERR_OK, "%s", err);
    cr_assert_eq(config_json_parse(cfg_json, strlen(cfg_json), &cfg, &jerr), ERR_OK, "%s",
                 jerr.message);
    cr_assert_eq(store_config_replace(st, cfg, err, sizeof err), ERR_OK, "%s", err);
    cr_assert_eq(store_agent_register(st, "a1", FX_NOW + 3600 * 1000LL), ERR_OK);
    config_free(cfg);
    store_close(st);
    cr_assert_eq(route_writer_open(rw_db.path, 4, &w, err, sizeof err), ERR_OK, "%s", err);
    /* The strings are copied: the caller's buffers may change once the job is made. */
    char to[] = "+18005550100", from[] = "+15125550199", ext[] = "CA-submit-1";
    router_call call = {to, from, NULL, NULL, 0};
    route_writer_job *job = route_writer_job_route(&call, ext, FX_NOW);
    cr_assert_not_null(job);
    memset(to, 'x', sizeof to - 1);
    memset(ext, 'y', sizeof ext - 1);
    cr_assert_eq(rw_submit_and_wait(w, job, &seen), 1);
    cr_assert(seen.done_set, "the callback came before the answer was set");
    cr_assert_eq(job->rc, ERR_OK);
    cr_assert_eq(job->out.result.action, ROUTE_CONNECT);
    cr_assert_str_eq(job->out.call.external_id, "CA-submit-1");
    cr_assert(job->view.has_agent && strcmp(job->view.agent_id, job->out.call.agent) == 0);
    cr_assert_null(job->out.cfg, "the snapshot stays with the writer");
    cr_assert_geq(job->us, 0);
    char id[STORE_CALL_ID_MAX];
    snprintf(id, sizeof id, "%s", job->out.call.id);
    route_writer_job_free(job);

    /* The same external id again: refused by the database, nothing recorded. */
    job = route_writer_job_route(&(router_call){"+18005550100", "+15125550199", NULL, NULL, 0},
                                 "CA-submit-1", FX_NOW);
    cr_assert_eq(rw_submit_and_wait(w, job, &seen), 1);
    cr_assert_eq(job->rc, ERR_CONFLICT);
    route_writer_job_free(job);

    /* Ending it gives the call back as the end left it; a second end releases nothing. */
    job = route_writer_job_end(id, FX_NOW + 5, true);
    cr_assert_eq(rw_submit_and_wait(w, job, &seen), 1);
    cr_assert_eq(job->rc, 1);
    cr_assert_str_eq(job->row.id, id);
    cr_assert_eq(job->row.status, CALL_COMPLETED);
    cr_assert_eq(job->row.ended_ms, FX_NOW + 5);
    route_writer_job_free(job);
    job = route_writer_job_end(id, FX_NOW + 6, false);
    cr_assert_eq(rw_submit_and_wait(w, job, &seen), 1);
    cr_assert_eq(job->rc, 0);
    cr_assert_str_eq(job->row.id, "", "no row was asked for");
    route_writer_job_free(job);
    job = route_writer_job_end("nope", FX_NOW, true);
    cr_assert_eq(rw_submit_and_wait(w, job, &seen), 1);
    cr_assert_eq(job->rc, ERR_NOT_FOUND);
    route_writer_job_free(job);

    /* A call with agents already tried cannot be handed over (only the API's first route). */
    const char *tried[] = {"a1"};
    cr_assert_null(route_writer_job_route(
        &(router_call){"+18005550100", "+15125550199", NULL, tried, 1}, NULL, FX_NOW));
    cr_assert_null(route_writer_job_end(NULL, FX_NOW, false));
    cr_assert_eq(route_writer_submit(w, NULL, rw_seen_done, &seen), ERR_INVALID);
    route_writer_job_free(NULL);
    route_writer_close(w);
}
