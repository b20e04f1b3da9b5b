/* temp_db.h -- a fresh database for one test, removed after it: a SQLite file in a new
 * temporary folder (with its WAL, shared-memory and journal files), or, when the
 * environment variable SURECONNECT_TEST_DB_URL names a PostgreSQL database
 * ("postgresql:///NAME?host=...&port=...", as scripts/pg_test_cluster.sh prints), a new
 * database on that server. The same test binary thus runs the store tests against both
 * backends (`make test` runs it twice). Also plain SQL helpers that read or change the
 * database beside the store, on either backend. */
#ifndef SC_TEMP_DB_H
#define SC_TEMP_DB_H

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    bool pg;
    char dir[96];
    char name[64];  /* PostgreSQL: the database's name */
    char admin[512]; /* PostgreSQL: the URL of the database named in the environment */
    char path[600]; /* what store_open() takes: the SQLite file, or the PostgreSQL URL */
} temp_db;

/* True when the tests run against PostgreSQL. */
static inline bool temp_db_pg_mode(void)
{
    const char *url = getenv("SURECONNECT_TEST_DB_URL");
    return url && url[0];
}

/* Runs `sql` on a new connection to `url`; fails the test on an error. */
static inline void temp_db_pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    cr_assert(c && PQstatus(c) == CONNECTION_OK, "connect %s: %s", url, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ExecStatusType rs = PQresultStatus(r);
    cr_assert(rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* SQLite: makes a folder named after `name` and sets t->path to "<folder>/test.db". With
 * `fast`, the folder goes in $TMPDIR, else /dev/shm when writable, so that tests heavy on
 * commits run at memory speed where they can (locking and WAL behave the same); otherwise
 * /tmp. PostgreSQL: creates the database "sc_<name>_<pid>_<n>" and sets t->path to its URL. */
static inline void temp_db_make(temp_db *t, const char *name, bool fast)
{
    memset(t, 0, sizeof *t);
    if (temp_db_pg_mode()) {
        static int serial;
        const char *url = getenv("SURECONNECT_TEST_DB_URL");
        const char *query = strchr(url, '?');
        t->pg = true;
        snprintf(t->admin, sizeof t->admin, "%s", url);
        snprintf(t->name, sizeof t->name, "sc_%s_%d_%d", name, (int)getpid(), ++serial);
        snprintf(t->path, sizeof t->path, "postgresql:///%s%s", t->name, query ? query : "");
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->name);
        temp_db_pg_exec(t->admin, sql);
        return;
    }
    const char *base = "/tmp";
    const char *env = getenv("TMPDIR");
    if (fast && env && env[0] && strlen(env) < 40)
        base = env;
    else if (fast && access("/dev/shm", W_OK | X_OK) == 0)
        base = "/dev/shm";
    snprintf(t->dir, sizeof t->dir, "%s/sc_%s_XXXXXX", base, name);
    cr_assert(mkdtemp(t->dir), "mkdtemp %s", t->dir);
    snprintf(t->path, sizeof t->path, "%s/test.db", t->dir);
}

/* Removes the database (and the SQLite file's companions and folder). */
static inline void temp_db_remove(const temp_db *t)
{
    if (t->pg) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
        temp_db_pg_exec(t->admin, sql);
        return;
    }
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char file[700];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(file, sizeof file, "%s%s", t->path, suffixes[i]);
        unlink(file);
    }
    rmdir(t->dir);
}

/* Runs statements on a separate plain connection; fails the test on an error. */
static inline void temp_db_sql_exec(const temp_db *t, const char *sql)
{
    if (t->pg) {
        temp_db_pg_exec(t->path, sql);
        return;
    }
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(t->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The first column of the first row of a query into out as text; returns 0 when there was
 * no row, 1 for NULL (out "(null)" either way), 2 for a value. */
static inline int temp_db_sql_value(const temp_db *t, const char *sql, char *out, size_t cap)
{
    int kind;
    if (t->pg) {
        PGconn *c = PQconnectdb(t->path);
        cr_assert(c && PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
        PGresult *r = PQexec(c, sql);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
        kind = PQntuples(r) == 0 ? 0 : PQgetisnull(r, 0, 0) ? 1 : 2;
        snprintf(out, cap, "%s", kind == 2 ? PQgetvalue(r, 0, 0) : "(null)");
        PQclear(r);
        PQfinish(c);
        return kind;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_open(t->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    const unsigned char *v = NULL;
    kind = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_text(s, 0);
        kind = v ? 2 : 1;
    }
    snprintf(out, cap, "%s", v ? (const char *)v : "(null)");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return kind;
}

/* The first column of the first row of a query as text ("(null)" for NULL or no row). */
static inline void temp_db_sql_text(const temp_db *t, const char *sql, char *out, size_t cap)
{
    temp_db_sql_value(t, sql, out, cap);
}

/* One integer from a query: -999 when there is no row, 0 for NULL. */
static inline long long temp_db_sql_int(const temp_db *t, const char *sql)
{
    char text[64];
    int kind = temp_db_sql_value(t, sql, text, sizeof text);
    return kind == 0 ? -999 : kind == 1 ? 0 : strtoll(text, NULL, 10);
}

#endif
