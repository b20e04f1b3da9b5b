/* claim_sampler.h -- a test thread that keeps checking, from its own read-only connection,
 * that every agent's count stays within [0, max] and equals the claims its calls hold. Each
 * SELECT sees one committed snapshot, so the three must agree at every instant. */
#ifndef SC_CLAIM_SAMPLER_H
#define SC_CLAIM_SAMPLER_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *path; /* the database file, or a PostgreSQL URL */
    long pause_us;    /* pause between samples, leaving the CPU to the writers */
    atomic_int stop;  /* set to 1 to end the thread */
    long samples;
    int violations;
    char violation[256]; /* the first violation */
} claim_sampler;

/* Prepares a sampler for `path`; start it with pthread_create(..., claim_sampler_run, s). */
static inline void claim_sampler_init(claim_sampler *s, const char *path, long pause_us)
{
    s->path = path;
    s->pause_us = pause_us;
    atomic_init(&s->stop, 0);
    s->samples = 0;
    s->violations = 0;
    s->violation[0] = '\0';
}

#define CLAIM_SAMPLER_SQL                                                                          \
    "SELECT a.id, a.active_calls, a.max_concurrent,"                                               \
    " (SELECT count(*) FROM calls c WHERE c.agent = a.id"                                          \
    "  AND c.holds_claim = 1) FROM agents a"

/* The PostgreSQL sampler: each statement also reads one committed snapshot. */
static inline void *claim_sampler_run_pg(claim_sampler *s)
{
    PGconn *c = PQconnectdb(s->path);
    if (PQstatus(c) != CONNECTION_OK) {
        s->violations++;
        snprintf(s->violation, sizeof s->violation, "sampler: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    while (!atomic_load(&s->stop)) {
        PGresult *r = PQexec(c, CLAIM_SAMPLER_SQL);
        if (PQresultStatus(r) != PGRES_TUPLES_OK && s->violations++ == 0)
            snprintf(s->violation, sizeof s->violation, "sampler: %s", PQresultErrorMessage(r));
        for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
            int active = atoi(PQgetvalue(r, i, 1)), max = atoi(PQgetvalue(r, i, 2));
            int held = atoi(PQgetvalue(r, i, 3));
            if ((active < 0 || active > max || active != held) && s->violations++ == 0)
                snprintf(s->violation, sizeof s->violation, "agent %s: active %d, max %d, held %d",
                         PQgetvalue(r, i, 0), active, max, held);
        }
        PQclear(r);
        s->samples++;
        struct timespec pause = {0, s->pause_us * 1000};
        nanosleep(&pause, NULL);
    }
    PQfinish(c);
    return NULL;
}

/* The thread body: samples until s->stop is set. */
static inline void *claim_sampler_run(void *arg)
{
    claim_sampler *s = arg;
    if (strncmp(s->path, "postgres", 8) == 0)
        return claim_sampler_run_pg(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, CLAIM_SAMPLER_SQL, -1, &q, NULL) != SQLITE_OK) {
        s->violations++;
        snprintf(s->violation, sizeof s->violation, "sampler: %s", sqlite3_errmsg(db));
        goto out_close;
    }
    sqlite3_busy_timeout(db, 5000);
    while (!atomic_load(&s->stop)) {
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            int active = sqlite3_column_int(q, 1), max = sqlite3_column_int(q, 2);
            int held = sqlite3_column_int(q, 3);
            if ((active < 0 || active > max || active != held) && s->violations++ == 0)
                snprintf(s->violation, sizeof s->violation, "agent %s: active %d, max %d, held %d",
                         (const char *)sqlite3_column_text(q, 0), active, max, held);
        }
        if (rc != SQLITE_DONE && s->violations++ == 0)
            snprintf(s->violation, sizeof s->violation, "sampler: %s", sqlite3_errmsg(db));
        sqlite3_reset(q);
        s->samples++;
        struct timespec pause = {0, s->pause_us * 1000};
        nanosleep(&pause, NULL);
    }
out_close:
    sqlite3_finalize(q);
    sqlite3_close(db);
    return NULL;
}

#endif
